#!/bin/sh
# redis_benchmark.sh: redis-benchmark's default suite (`redis-benchmark -q -n N`: 50
# connections, no pipelining, its 20 tests of strings, lists, sets, hashes and sorted sets)
# against the leader of a local 3-node faultline cluster and against redis-server with
# appendonly yes and appendfsync always, ROUNDS times each, alternating, then one line per
# test with the range (min..max) of the rates and of the p50 latencies on each side.
#
#   bench/redis_benchmark.sh [ROUNDS] [REQUESTS]          defaults: 3 10000
#
# Needs redis-server, redis-benchmark and redis-cli on PATH (Debian redis-server,
# redis-tools) and a built build/faultline. Ports are picked at random in 20000-59999; data
# lives in a temp dir under /tmp that is removed at the end.
set -eu
rounds=${1:-3}
requests=${2:-10000}
. "$(dirname "$0")/lib.sh"
bench_setup rbench redis-server redis-benchmark redis-cli
bench_start

# one run: "TEST|rate|p50" lines into $2
run() {
    redis-benchmark -p "$1" -q -n "$requests" 2>&1 | tr '\r' '\n' | grep 'requests per second' |
        sed -E 's/^(.*): ([0-9.]+) requests per second, p50=([0-9.]+) msec.*/\1|\2|\3/' >"$2"
}
for r in $(seq 1 "$rounds"); do
    run "$leader" "$tmp/fl.$r"
    run "$rport" "$tmp/redis.$r"
    echo "round $r of $rounds done: $(wc -l <"$tmp/fl.$r") faultline tests," \
        "$(wc -l <"$tmp/redis.$r") redis tests" >&2
done

# the range of field $2 (2 rate, 3 p50) of test $1 over the rounds of side $3
range() {
    cat "$tmp/$3".* | awk -F'|' -v t="$1" -v f="$2" '
        $1 == t { v = $f + 0; if (n == 0 || v < lo) lo = v; if (n == 0 || v > hi) hi = v; n++ }
        END { if (n == 0) print "-"; else if (f == 2) printf "%.0f..%.0f", lo, hi;
              else printf "%.2f..%.2f", lo, hi }'
}
echo "| test | faultline leader: req/s | p50 ms | redis-server, fsync always: req/s | p50 ms |"
echo "|---|---|---|---|---|"
cut -d'|' -f1 "$tmp/fl.1" | while read -r t; do
    echo "| $t | $(range "$t" 2 fl) | $(range "$t" 3 fl) | $(range "$t" 2 redis) | $(range "$t" 3 redis) |"
done
