#!/bin/sh
# cost.sh: what one op costs each node of a local 3-node faultline cluster, and redis-server
# (appendonly yes, appendfsync always) under the same load: CPU microseconds (every thread,
# from /proc/PID/task/*/schedstat), system calls and context switches (perf stat tracepoints,
# when perf can count them here), group-commit fdatasyncs, WAL bytes, peer frames, bytes and
# send() calls (the node's INFO raft counters), all divided by the ops the load completed.
#
#   bench/cost.sh [DURATION] [CONNECTIONS] [PIPELINE] [READ_RATIO]    defaults: 5s 64 1 0.5
#
# The load is `faultline bench` (closed loop, 1,000 keys, 100-byte values), spread over the
# three nodes for faultline. Needs redis-server and redis-cli on PATH and a built
# build/faultline; without perf (or without the right to trace), the syscall and context
# switch columns say "-".
set -eu
dur=${1:-5s}
conns=${2:-64}
pipe=${3:-1}
ratio=${4:-0.5}
. "$(dirname "$0")/lib.sh"
bench_setup cost redis-server redis-cli
perf_ok=0
if command -v perf >/dev/null &&
    perf stat -e raw_syscalls:sys_enter,sched:sched_switch -- true >/dev/null 2>&1; then
    perf_ok=1
fi
bench_start

counters() { # PORT: the INFO raft cost counters as "name value" lines
    redis-cli -p "$1" INFO raft | tr -d '\r' |
        awk -F: '/^(role|wal_|peer_frames_sent|peer_bytes_sent|peer_sends|peer_reads)/ {
            print $1, $2 }'
}

# measure LABEL ADDRS PIDS...: runs the load, prints one line per pid.
measure() {
    label=$1
    addrs=$2
    shift 2
    i=0
    for p in "$@"; do
        i=$((i + 1))
        cpu_ns "$p" >"$tmp/cpu0.$i"
        [ "$label" = faultline ] && counters $((base + i)) >"$tmp/c0.$i"
        if [ "$perf_ok" = 1 ]; then
            perf stat -x, -e raw_syscalls:sys_enter,sched:sched_switch -p "$p" \
                -o "$tmp/perf.$i" >/dev/null 2>&1 &
            echo $! >"$tmp/perfpid.$i"
        fi
    done
    "$bin" bench --addr "$addrs" --connections "$conns" --pipeline "$pipe" --duration "$dur" \
        --keys 1000 --value-size 100 --read-ratio "$ratio" >"$tmp/bench.out"
    ops=$(awk '/ ok, / { print $1 }' "$tmp/bench.out")
    echo "== $label: $(sed -n 2p "$tmp/bench.out"), $(sed -n 3p "$tmp/bench.out")"
    i=0
    for p in "$@"; do
        i=$((i + 1))
        [ "$perf_ok" = 1 ] && kill -INT "$(cat "$tmp/perfpid.$i")" 2>/dev/null &&
            wait "$(cat "$tmp/perfpid.$i")" 2>/dev/null || true
        cpu1=$(cpu_ns "$p")
        sys="-" sw="-"
        if [ "$perf_ok" = 1 ]; then
            sys=$(awk -F, -v o="$ops" '/sys_enter/ { printf "%.2f", $1 / o }' "$tmp/perf.$i")
            sw=$(awk -F, -v o="$ops" '/sched_switch/ { printf "%.2f", $1 / o }' "$tmp/perf.$i")
        fi
        line=$(printf '  %-10s cpu %6.1f us/op  syscalls %5s/op  switches %5s/op' \
            "$([ "$label" = faultline ] && echo "node $i" || echo redis)" \
            "$(echo "$(cat "$tmp/cpu0.$i") $cpu1 $ops" | awk '{ print ($2 - $1) / 1e3 / $3 }')" \
            "$sys" "$sw")
        if [ "$label" = faultline ]; then
            counters $((base + i)) >"$tmp/c1.$i"
            extra=$(join "$tmp/c0.$i" "$tmp/c1.$i" | awk -v o="$ops" '
                $1 == "role" { role = $3; next }
                { v[$1] = ($3 - $2) / o }
                END { printf "  %-8s fsyncs %.3f  wal %5.0f B  frames %.2f  %5.0f B  sends %.2f  peer reads %.2f /op",
                      role, v["wal_syncs"], v["wal_bytes"], v["peer_frames_sent"],
                      v["peer_bytes_sent"], v["peer_sends"], v["peer_reads"] }')
            line="$line$extra"
        fi
        echo "$line"
    done
    echo "  (a total of $ops ops)"
}

bench_mode
echo "load: $conns connections, pipeline $pipe, read ratio $ratio, $dur; 1,000 keys, 100 B values"
measure redis "127.0.0.1:$rport" "$rpid"
measure faultline "127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))" $nodes
