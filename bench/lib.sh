# lib.sh: what the bench scripts that run redis-server beside a local faultline cluster share
# (sourced by compare.sh, cost.sh, redis_benchmark.sh; POSIX sh, `set -eu` in the caller):
#
#   bench_setup NAME TOOLS...   cd to the tree, check build/faultline and the tools (a missing
#                               tool skips the whole script: exit 0), make a temp dir under
#                               /tmp (tmp) and a cleanup trap that stops everything started
#   bench_start                 redis-server on rport (appendonly yes, appendfsync always:
#                               every write fsynced before its reply) and `faultline cluster
#                               --nodes 3` (its binary: srv, FL_SERVER_BIN or build/faultline)
#                               on clients base+1..3, peers base+101..103; waits for the
#                               leader. Sets rpid, cpid, nodes (the node pids), leader (its
#                               client port), all (the three client addresses). Ports are
#                               drawn at random in 20000-59999, again if a start fails.
#   cpu_ns PID...               CPU nanoseconds used so far by each pid, all its threads
#   bench_mode                  one line naming the cluster's read mode, for a header
#
# FL_READ_MODE=index|lease|log starts the cluster with that --read-mode (unset: the server's
# default, index, and no option passed, so older binaries still run); FL_MAX_DRIFT_PPM=PPM its
# --max-drift-ppm (the lease's clock-drift bound; unset: the server's default). FL_METRICS=1:
# node i serves /metrics on 127.0.0.1:base+200+i (--metrics-port).

bench_setup() {
    name=$1
    shift
    cd "$(dirname "$0")/.."
    bin=build/faultline
    [ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
    srv=${FL_SERVER_BIN:-$bin} # the cluster's binary (an A/B of two builds); the load is ours
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "$t not found; skipping" >&2; exit 0; }
    done
    tmp=$(mktemp -d "/tmp/fl-$name-XXXXXX")
    epids=""
    trap bench_cleanup EXIT INT TERM
}

# `|| true`: a cluster that exited with a failure (a node stopped) makes wait return it, and
# under `set -e` that ended the cleanup there, leaving redis-server running.
bench_cleanup() {
    [ -n "${cpid:-}" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
    [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
    for p in ${epids:-}; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}

# One attempt at base: 0 when redis answers and the cluster has 3 nodes and a leader.
bench_try_start() {
    rport=$((base + 50))
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --appendonly yes \
        --appendfsync always --save '' >"$tmp/redis.log" 2>&1 &
    rpid=$!
    rm -rf "$tmp/fl"
    "$srv" cluster --nodes 3 --base-port "$base" --data "$tmp/fl" --log-level warn \
        ${FL_READ_MODE:+--read-mode "$FL_READ_MODE"} \
        ${FL_MAX_DRIFT_PPM:+--max-drift-ppm "$FL_MAX_DRIFT_PPM"} \
        ${FL_METRICS:+--metrics-port $((base + 200))} \
        >"$tmp/cluster.out" 2>"$tmp/cluster.log" &
    cpid=$!
    leader=""
    for try in $(seq 1 50); do
        sleep 0.2
        for i in 1 2 3; do
            if redis-cli -p $((base + i)) FL.STATUS 2>/dev/null | grep -q role:leader; then
                leader=$((base + i))
            fi
        done
        [ -n "$leader" ] && break
    done
    nodes=$(pgrep -P "$cpid" | tr '\n' ' ')
    [ -n "$leader" ] && [ "$(echo $nodes | wc -w)" = 3 ] && redis-cli -p "$rport" ping >/dev/null 2>&1
}

bench_start() {
    for attempt in 1 2 3; do
        base=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        if bench_try_start; then
            all="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
            return 0
        fi
        kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
        kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
        cpid="" rpid=""
    done
    echo "could not start redis-server and a 3-node cluster with a leader (three tries):" >&2
    cat "$tmp/cluster.log" "$tmp/redis.log" >&2
    exit 1
}

# bench_start_pair A_BIN B_BIN: a cluster of each build side by side (B's in a directory of
# its own under $tmp), for A/B runs that alternate them; the redis-server A's bench_start
# started stays (rpid, rport), B's is stopped at once. Sets cpa la na aa ba for A's cluster
# (pid, leader's port, node pids, client addresses, base port) and cpb lb nb ab bb for B's;
# both clusters are stopped on exit.
bench_start_pair() {
    srv=$1
    bench_start
    cpa=$cpid la=$leader na=$nodes aa=$all ba=$base rpa=$rpid rpa_port=$rport
    trap 'kill -INT "$cpa" ${cpb:+"$cpb"} 2>/dev/null; wait "$cpa" ${cpb:+"$cpb"} 2>/dev/null;
          cpid=""; bench_cleanup' EXIT INT TERM
    srv=$2
    cpid="" rpid=""
    top=$tmp
    tmp=$top/b
    mkdir "$tmp"
    bench_start
    tmp=$top
    cpb=$cpid lb=$leader nb=$nodes ab=$all bb=$base
    kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
    cpid="" rpid=$rpa rport=$rpa_port
}

bench_mode() {
    echo "read mode: ${FL_READ_MODE:-index (default)}${FL_MAX_DRIFT_PPM:+, max drift $FL_MAX_DRIFT_PPM ppm}"
}

cpu_ns() {
    for p in "$@"; do
        cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
    done
}
