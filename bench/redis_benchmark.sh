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
cd "$(dirname "$0")/.."
bin=build/faultline
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
for t in redis-server redis-benchmark redis-cli; do
    command -v $t >/dev/null || { echo "$t not found; skipping" >&2; exit 0; }
done
tmp=$(mktemp -d /tmp/fl-rbench-XXXXXX)
base=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
rport=$((base + 50))
cleanup() {
    [ -n "${cpid:-}" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --appendonly yes \
    --appendfsync always --save '' >"$tmp/redis.log" 2>&1 &
rpid=$!
"$bin" cluster --nodes 3 --base-port "$base" --data "$tmp/fl" --log-level warn \
    >"$tmp/cluster.out" 2>"$tmp/cluster.log" &
cpid=$!
leader=""
for try in $(seq 1 100); do
    for i in 1 2 3; do
        if redis-cli -p $((base + i)) FL.STATUS 2>/dev/null | grep -q role:leader; then
            leader=$((base + i))
        fi
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || { echo "no leader" >&2; cat "$tmp/cluster.log" >&2; exit 1; }

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
