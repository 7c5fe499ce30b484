#!/bin/sh
# acct.sh: where a write's CPU goes, per op and per node, for redis-benchmark against the
# leader of a local 3-node cluster (and against redis-server, appendfsync always, the
# yardstick): CPU microseconds of the loop thread and of the other threads (the sync worker),
# context switches, system calls by kind (perf tracepoints), and from the node's INFO raft
# counters fdatasyncs, peer frames, bytes and send() calls. Derived, for the leader:
# AppendEntries frames per op (its frames to the followers, over the ops), entries and bytes
# per frame; for a follower: acknowledgement frames per op.
#
#   bench/acct.sh [TEST] [PIPE] [REQUESTS] [ROUNDS]    defaults: set 1 50000 1
#
# 50 connections (AB_CONNS=N: N). Needs redis-server, redis-cli, redis-benchmark and perf on
# PATH (and the right to trace: root, or perf_event_paranoid <= -1); FL_SERVER_BIN picks the
# cluster's binary (lib.sh). The figures are per op of the whole run: REQUESTS large enough
# that the election's and heartbeats' frames do not count (50,000 unpipelined, 500,000 at 16).
set -eu
test=${1:-set}
pipe=${2:-1}
requests=${3:-50000}
rounds=${4:-1}
. "$(dirname "$0")/lib.sh"
bench_setup acct redis-server redis-cli redis-benchmark perf
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 ||
    { echo "perf cannot count tracepoints here; skipping" >&2; exit 0; }
bench_start
calls="read sendto write writev epoll_wait epoll_ctl fdatasync pwrite64"

# thread_ns PID: "loop-ns other-ns" (the main thread; every other thread summed)
thread_ns() {
    for t in /proc/"$1"/task/*; do
        echo "$(basename "$t") $(cut -d' ' -f1 "$t"/schedstat)"
    done | awk -v p="$1" '$1 == p { m += $2; next } { o += $2 } END { printf "%.0f %.0f\n", m, o }'
}

counters() { # PORT: INFO raft counters as "name value"
    redis-cli -p "$1" INFO raft | tr -d '\r' |
        awk -F: '/^(role|wal_syncs|peer_frames_sent|peer_bytes_sent|peer_sends|peer_reads)/ {
            print $1, $2 }'
}

# run PORT: the load against PORT; prints ops/s
run() {
    redis-benchmark -p "$1" -c "${AB_CONNS:-50}" -n "$requests" -P "$pipe" -t "$test" --csv \
        2>/dev/null | awk -F'"' 'NR > 1 && $2 != "" { printf "%.0f", $4; exit }'
}

# measure LABEL PORT PIDS...: the load against PORT, one line per pid
measure() {
    label=$1 port=$2
    shift 2
    ev=raw_syscalls:sys_enter,sched:sched_switch
    for c in $calls; do ev="$ev,syscalls:sys_enter_$c"; done
    i=0
    for p in "$@"; do
        i=$((i + 1))
        thread_ns "$p" >"$tmp/t0.$i"
        [ "$label" = faultline ] && counters $((base + i)) >"$tmp/c0.$i"
        perf stat -x, -e "$ev" -p "$p" -o "$tmp/perf.$i" >/dev/null 2>&1 &
        echo $! >"$tmp/perfpid.$i"
    done
    sleep 0.3 # perf attached
    ops_s=$(run "$port")
    i=0
    for p in "$@"; do
        i=$((i + 1))
        pp=$(cat "$tmp/perfpid.$i")
        kill -INT "$pp" 2>/dev/null && wait "$pp" 2>/dev/null || true
    done
    echo "== $label $test -P $pipe: $ops_s ops/s (load $(cut -d' ' -f1 /proc/loadavg))"
    i=0
    for p in "$@"; do
        i=$((i + 1))
        if [ ! -d /proc/"$p" ]; then # figures of a run that lost a node would mislead
            echo "  node $i (pid $p) exited during the run; its log:" >&2
            tail -5 "$tmp/cluster.log" >&2
            return 1
        fi
        thread_ns "$p" >"$tmp/t1.$i"
        cpu=$(paste "$tmp/t0.$i" "$tmp/t1.$i" | awk -v n="$requests" '{
            printf "cpu %5.2f = loop %5.2f + other %5.2f us/op", ($3 + $4 - $1 - $2) / 1e3 / n,
                ($3 - $1) / 1e3 / n, ($4 - $2) / 1e3 / n }')
        sc=$(awk -F, -v n="$requests" '/^[0-9]/ { sub("syscalls:sys_enter_", "", $3);
                sub("raw_syscalls:sys_enter", "syscalls", $3); sub("sched:sched_switch", "switches", $3);
                printf " %s %.3f", $3, $1 / n }' "$tmp/perf.$i")
        if [ "$label" = faultline ]; then
            counters $((base + i)) >"$tmp/c1.$i"
            extra=$(join "$tmp/c0.$i" "$tmp/c1.$i" | awk -v n="$requests" '
                $1 == "role" { role = $3; next }
                { v[$1] = $3 - $2 }
                END {
                    f = v["peer_frames_sent"]
                    printf "%s: fsyncs %.4f frames %.3f (%.0f B each) sends %.3f peer reads %.3f /op",
                        role, v["wal_syncs"] / n, f / n, f ? v["peer_bytes_sent"] / f : 0,
                        v["peer_sends"] / n, v["peer_reads"] / n
                    if (role == "leader" && f)
                        printf "; entries per frame to a follower %.2f", 2 * n / f
                }')
            echo "  node $i $extra"
        else
            echo "  redis"
        fi
        echo "    $cpu"
        echo "   $sc"
    done
}

bench_mode
for r in $(seq 1 "$rounds"); do
    measure redis "$rport" "$rpid"
    measure faultline "$leader" $nodes
done
