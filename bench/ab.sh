#!/bin/sh
# ab.sh: two faultline builds side by side on redis-benchmark rows against the leader of a
# 3-node cluster each (and redis-server, appendfsync always, as the yardstick), alternating
# A, B, redis in every round so that the machine's load falls on all three alike. For a
# before/after of one change: build A, copy the binary away, build B.
#
#   bench/ab.sh A_BIN B_BIN [ROUNDS] [REQUESTS] [TESTS] [PIPES]
#       defaults: 3 30000 "get set" "1 16"
#
# Each line: test, pipeline depth, round, then ops/s and p50 (ms) of A, B and redis. Pipelined
# runs do ten times REQUESTS. Needs redis-server, redis-cli, redis-benchmark on PATH.
set -eu
a_bin=$1
b_bin=$2
rounds=${3:-3}
requests=${4:-30000}
tests=${5:-get set}
pipes=${6:-1 16}
. "$(dirname "$0")/lib.sh"
bench_setup ab redis-server redis-cli redis-benchmark

# A's cluster and redis first, then B's cluster in a directory of its own (bench_start
# starts a redis as well: B's is stopped again at once)
srv=$a_bin
bench_start
la=$leader cpa=$cpid rp=$rport rpa=$rpid
trap 'kill -INT "$cpa" ${cpb:+"$cpb"} 2>/dev/null; wait "$cpa" ${cpb:+"$cpb"} 2>/dev/null;
      cpid=""; bench_cleanup' EXIT INT TERM
srv=$b_bin
cpid="" rpid=""
top=$tmp
tmp=$top/b
mkdir "$tmp"
bench_start
tmp=$top
lb=$leader cpb=$cpid
kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
rpid=$rpa rport=$rp

one() {
    n=$requests
    [ "$2" -gt 1 ] && n=$((requests * 10))
    redis-benchmark -p "$1" -c 50 -n "$n" -P "$2" -t "$3" --csv 2>/dev/null |
        awk -F'"' 'NR > 1 && $2 != "" { printf "%.0f %s", $4, $10; exit }'
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-4s %-5s %-22s %-22s %-22s %s\n' test pipe round "A ops/s p50" "B ops/s p50" \
    "redis ops/s p50" "B/A"
for t in $tests; do
    for p in $pipes; do
        for r in $(seq 1 "$rounds"); do
            a=$(one "$la" "$p" "$t")
            b=$(one "$lb" "$p" "$t")
            x=$(one "$rport" "$p" "$t")
            printf '%-5s %-4s %-5s %-22s %-22s %-22s %s\n' "$t" "$p" "$r" "$a" "$b" "$x" \
                "$(echo "$a $b" | awk '{ printf "%.2f", $1 ? $3 / $1 : 0 }')"
        done
    done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
