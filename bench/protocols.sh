#!/bin/sh
# protocols.sh: the same `faultline bench` load against a local 3-node faultline cluster
# running Raft, then one running Multi-Paxos (`faultline cluster --protocol paxos`): every
# write through the log and fsynced on a quorum, GETs linearizable (Raft: ReadIndex at any
# node; Paxos: at the leader, a GET at a follower going through the log). Clients spread
# over all nodes, then on the leader only.
#
#   bench/protocols.sh [DURATION] [CONNECTIONS] [PIPELINE]     defaults: 10s 50 1
#
# Needs a built build/faultline (and redis-cli to find the leader). Ports are picked at
# random in 20000-59999; data lives in a temp dir under /tmp that is removed at the end.
set -eu
dur=${1:-10s}
conns=${2:-50}
pipe=${3:-1}
cd "$(dirname "$0")/.."
bin=build/faultline
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
tmp=$(mktemp -d /tmp/fl-protocols-XXXXXX)
cleanup() {
    [ -n "${cpid:-}" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Starts a 3-node cluster of protocol $1 on free ports (a node that cannot bind exits: then
# the whole cluster is tried again elsewhere, so the load never reaches someone else's ports).
start() {
    for attempt in 1 2 3 4 5; do
        base=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
        "$bin" cluster --nodes 3 --base-port "$base" --data "$tmp/$1-$attempt" --log-level warn \
            --protocol "$1" >"$tmp/$1.out" 2>"$tmp/$1.log" &
        cpid=$!
        sleep 2
        if ! grep -q "exited" "$tmp/$1.log"; then return 0; fi
        kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
        cpid=""
    done
    echo "no free ports for a $1 cluster" >&2
    exit 1
}

for proto in raft paxos; do
    start "$proto"
    echo "== $proto, 3 nodes, clients spread over all nodes: $dur, $conns connections, pipeline $pipe"
    "$bin" bench --addr "127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))" \
        --connections "$conns" --pipeline "$pipe" --duration "$dur"
    echo
    echo "== $proto, 3 nodes, clients on the leader only"
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
    kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
    cpid=""
done
