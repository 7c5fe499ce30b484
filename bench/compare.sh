#!/bin/sh
# compare.sh: the same `faultline bench` load against (1) redis-server with appendonly yes and
# appendfsync always (every write fsynced before the reply, like ours) and (2) a local
# 3-node faultline cluster (every write through the Raft log, fsynced on a majority; GETs at
# the leader by ReadIndex, GETs at a follower by a read index asked of the leader).
#
#   bench/compare.sh [DURATION] [CONNECTIONS] [PIPELINE]     defaults: 10s 50 1
#
# Needs redis-server on PATH and a built build/faultline. Ports are picked at random in
# 20000-59999; data lives in a temp dir under /tmp that is removed at the end.
set -eu
dur=${1:-10s}
conns=${2:-50}
pipe=${3:-1}
cd "$(dirname "$0")/.."
bin=build/faultline
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found; skipping" >&2; exit 0; }
tmp=$(mktemp -d /tmp/fl-compare-XXXXXX)
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
sleep 2
echo "== redis-server, appendfsync always (port $rport): $dur, $conns connections, pipeline $pipe"
"$bin" bench --addr "127.0.0.1:$rport" --connections "$conns" --pipeline "$pipe" --duration "$dur"
echo
echo "== faultline, 3 nodes, clients spread over all nodes: $dur, $conns connections, pipeline $pipe"
"$bin" bench --addr "127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))" \
    --connections "$conns" --pipeline "$pipe" --duration "$dur"
echo
echo "== faultline, 3 nodes, clients on the leader only"
leader=""
for i in 1 2 3; do
    if command -v redis-cli >/dev/null &&
        redis-cli -p $((base + i)) FL.STATUS | grep -q role:leader; then leader=$((base + i)); fi
done
if [ -n "$leader" ]; then
    "$bin" bench --addr "127.0.0.1:$leader" --connections "$conns" --pipeline "$pipe" \
        --duration "$dur"
else
    echo "(needs redis-cli to find the leader; skipped)"
fi

echo
echo "== resident memory after the runs"
rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$1/status" 2>/dev/null || echo "?"; }
echo "redis-server: $(rss "$rpid")"
for pid in $(pgrep -P "$cpid" 2>/dev/null); do
    echo "faultline node (pid $pid): $(rss "$pid")"
done
