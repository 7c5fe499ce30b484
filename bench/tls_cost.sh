#!/bin/sh
# tls_cost.sh: the throughput cost of TLS (docs/server.md, "TLS throughput"): the same
# `faultline bench` load against a local 3-node cluster without TLS and with TLS on both the
# client and the peer ports (`faultline cluster --tls`, `bench --tls --tls-ca`), alternated
# ROUNDS times so that load from other jobs falls on both alike.
#
#   bench/tls_cost.sh [DURATION] [CONNECTIONS] [PIPELINE] [ROUNDS]   defaults: 10s 50 1 2
#
# Needs a build with OpenSSL. Ports are picked at random in 20000-59999; data and
# certificates live in a temp dir under /tmp that is removed at the end.
set -eu
dur=${1:-10s}
conns=${2:-50}
pipe=${3:-1}
rounds=${4:-2}
cd "$(dirname "$0")/.."
bin=build/faultline
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
tmp=$(mktemp -d /tmp/fl-tls-cost-XXXXXX)
cleanup() {
    [ -n "${cpid:-}" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"$bin" certs "$tmp/tls" --nodes 3 >/dev/null

run() { # run NAME [cluster options...] -- [bench options...]
    name=$1
    shift
    base=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    copts=""
    while [ "$1" != "--" ]; do copts="$copts $1"; shift; done
    shift
    # shellcheck disable=SC2086
    "$bin" cluster --nodes 3 --base-port "$base" --data "$tmp/data-$base" --log-level warn $copts \
        >"$tmp/cluster.out" 2>"$tmp/cluster.log" &
    cpid=$!
    sleep 2
    printf '%-9s ' "$name"
    "$bin" bench --addr "127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))" \
        --connections "$conns" --pipeline "$pipe" --duration "$dur" "$@" |
        awk '/ops\/s$/ { ops = $1 } /^latency/ { p50 = $3 " " $4; p99 = $9 " " $10 }
             END { printf "%8s ops/s  p50 %s  p99 %s\n", ops, p50, p99 }'
    kill -INT "$cpid" && wait "$cpid" 2>/dev/null || true
    cpid=""
}

echo "== 3 nodes, clients on all of them: $dur, $conns connections, pipeline $pipe"
i=0
while [ "$i" -lt "$rounds" ]; do
    run plain --
    run tls --tls "$tmp/tls" -- --tls --tls-ca "$tmp/tls/ca.crt"
    i=$((i + 1))
done
