#!/bin/sh
# ab.sh: two faultline builds side by side on redis-benchmark rows against the leader of a
# 3-node cluster each (and redis-server, appendfsync always, as the yardstick), alternating
# A, B, redis in every round so that the machine's load falls on all three alike. For a
# before/after of one change: build A, copy the binary away, build B.
#
#   bench/ab.sh A_BIN B_BIN [ROUNDS] [REQUESTS] [TESTS] [PIPES]
#       defaults: 3 30000 "get set" "1 16"; AB_CONNS=N: N connections instead of 50;
#       FL_READ_MODE=index|lease|log, FL_MAX_DRIFT_PPM=PPM: both clusters' read mode (lib.sh)
#
# Each line: test, pipeline depth, round, then ops/s and p50 (ms) of A, B and redis, and the
# CPU microseconds per op of each cluster (its three nodes, every thread, from schedstat: less
# swayed by the machine's load than ops/s). Pipelined runs do ten times REQUESTS. Needs redis-server, redis-cli, redis-benchmark on PATH.
set -eu
a_bin=$1
b_bin=$2
rounds=${3:-3}
requests=${4:-30000}
tests=${5:-get set}
pipes=${6:-1 16}
. "$(dirname "$0")/lib.sh"
bench_setup ab redis-server redis-cli redis-benchmark

# A's cluster and redis, then B's cluster (lib.sh)
bench_start_pair "$a_bin" "$b_bin"

# one PORT PIPE TEST [PIDS]: "ops/s p50" (and " CPU-us/op" of PIDS)
one() {
    n=$requests
    [ "$2" -gt 1 ] && n=$((requests * 10))
    port=$1 pipe=$2 test=$3
    shift 3
    before=$(cpu_ns "$@" | awk '{ s += $1 } END { print s + 0 }')
    redis-benchmark -p "$port" -c "${AB_CONNS:-50}" -n "$n" -P "$pipe" -t "$test" --csv \
        2>/dev/null | awk -F'"' 'NR > 1 && $2 != "" { printf "%.0f %s", $4, $10; exit }'
    [ $# -gt 0 ] || return 0
    after=$(cpu_ns "$@" | awk '{ s += $1 } END { print s + 0 }')
    echo "$before $after $n" | awk '{ printf " %.2f", ($2 - $1) / 1e3 / $3 }'
}
bench_mode
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-4s %-5s %-24s %-24s %-22s %s\n' test pipe round "A ops/s p50 us/op" \
    "B ops/s p50 us/op" "redis ops/s p50" "B/A"
for t in $tests; do
    for p in $pipes; do
        for r in $(seq 1 "$rounds"); do
            a=$(one "$la" "$p" "$t" $na)
            b=$(one "$lb" "$p" "$t" $nb)
            x=$(one "$rport" "$p" "$t")
            printf '%-5s %-4s %-5s %-24s %-24s %-22s %s\n' "$t" "$p" "$r" "$a" "$b" "$x" \
                "$(echo "$a $b" | awk '{ printf "%.2f", $1 ? $4 / $1 : 0 }')"
        done
    done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
