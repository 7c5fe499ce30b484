#!/bin/sh
# one_conn.sh: one connection's GET and SET latency against redis-server (appendonly yes,
# appendfsync always), a local 3-node faultline cluster's leader and one of its followers,
# in turn, ROUNDS times (issue 16's "1 connection, p50 <= 1.2x Redis's"): where a GET is
# answered and by what (ReadIndex round, lease, a follower asking the leader) shows here.
#
#   bench/one_conn.sh [DURATION] [ROUNDS]      defaults: 5s 2
#
# The load: `faultline bench --connections 1 --read-ratio 0.5` (closed loop, 1,000 keys,
# 100-byte values). FL_READ_MODE=index|lease|log and FL_SERVER_BIN as for compare.sh
# (lib.sh). Each line: target, ops/s, GET p50, SET p50, p50 of all, and the three p50s over
# redis's in the same round.
set -eu
dur=${1:-5s}
rounds=${2:-2}
. "$(dirname "$0")/lib.sh"
bench_setup one_conn redis-server redis-cli
bench_start
follower=$((base + 1))
[ "$follower" = "$leader" ] && follower=$((base + 2))

# one PORT: "ops/s get_p50_us set_p50_us all_p50_us"
one() {
    "$bin" bench --addr "127.0.0.1:$1" --connections 1 --duration "$dur" --keys 1000 \
        --value-size 100 --read-ratio 0.5 2>&1 |
        awk '/ ops\/s$/ { ops = $1 } /^latency/ { all = us($3 $4) }
             /^  GET/ { get = us($3 $4) } /^  SET/ { set = us($3 $4) }
             END { printf "%d %.0f %.0f %.0f\n", ops, get, set, all }
             function us(s,  v) { v = s + 0; if (s ~ /ms$/) v *= 1000; else if (s ~ /ns$/) v /= 1000;
                                  else if (s ~ /[0-9]s$/) v *= 1e6; return v }'
}
bench_mode
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); 1 connection, 50% GET, $dur each"
printf '%-6s %-10s %8s %10s %10s %10s  %s\n' round target ops/s "GET p50" "SET p50" "p50" \
    "over redis: GET SET p50"
for r in $(seq 1 "$rounds"); do
    rp=""
    for t in redis leader follower; do
        case $t in
        redis) set -- $(one "$rport") ;;
        leader) set -- $(one "$leader") ;;
        follower) set -- $(one "$follower") ;;
        esac
        [ -z "$rp" ] && rp="$2 $3 $4"
        printf '%-6s %-10s %8s %8sus %8sus %8sus  %s\n' "$r" "$t" "$1" "$2" "$3" "$4" \
            "$(echo "$2 $3 $4 $rp" | awk '{ for (i = 1; i <= 3; i++)
                printf "%.2fx ", $(i + 3) ? $i / $(i + 3) : 0 }')"
    done
done
