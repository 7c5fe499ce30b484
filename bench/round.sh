#!/bin/sh
# round.sh: is a pipelined write load CPU-bound, and how long is one replication round?
# redis-benchmark against the leader of a local 3-node cluster (FL_SERVER_BIN picks the
# build), and over the run:
#   - the machine: each CPU's busy, idle, iowait and steal share (/proc/stat), load average;
#   - each node: its loop thread's CPU and run-queue wait as shares of the wall time
#     (schedstat: run queue wait = runnable but not running, the sign of a CPU shortage),
#     the other threads' CPU (the sync worker), the loop's busy share from its own pass
#     accounting (faultline_loop_pass_duration_seconds: callbacks and timers, the wait left
#     out), passes per second, group commits per second and their mean time (handing the
#     batch over until fdatasync returned) and records per commit;
#   - the leader: AppendEntries frames per follower per second (heartbeats included; under
#     this load they are a few per second), entries per frame, and the mean replication round
#     (wall time / frames to one follower: one AppendEntries in flight per follower);
#   - the client (redis-benchmark): its CPU share of the wall time.
#
#   bench/round.sh [TEST] [PIPE] [REQUESTS] [ROUNDS]   defaults: set 16 2000000 1
#
# 50 connections (AB_CONNS=N: N). Needs redis-server, redis-cli, redis-benchmark, curl.
set -eu
test=${1:-set}
pipe=${2:-16}
requests=${3:-2000000}
rounds=${4:-1}
. "$(dirname "$0")/lib.sh"
bench_setup round redis-server redis-cli redis-benchmark curl
FL_METRICS=1
bench_start
mbase=$((base + 200))

cpus() { grep '^cpu[0-9]' /proc/stat; } # per CPU: user nice system idle iowait irq softirq steal

threads() { # PID: "loop-run loop-wait other-run" (ns)
    for t in /proc/"$1"/task/*; do
        echo "$(basename "$t") $(cut -d' ' -f1,2 "$t"/schedstat)"
    done | awk -v p="$1" '$1 == p { r = $2; w = $3; next } { o += $2 }
        END { printf "%.0f %.0f %.0f\n", r, w, o }'
}

metrics() { # I: "pass-sum pass-count fsync-sum fsync-count records-sum"
    curl -s "127.0.0.1:$((mbase + $1))/metrics" | awk '
        /^faultline_loop_pass_duration_seconds_sum/ { ps = $2 }
        /^faultline_loop_pass_duration_seconds_count/ { pc = $2 }
        /^faultline_wal_fsync_duration_seconds_sum/ { fs = $2 }
        /^faultline_wal_fsync_duration_seconds_count/ { fc = $2 }
        /^faultline_wal_fsync_batch_records_sum/ { rs = $2 }
        END { printf "%s %s %s %s %s\n", ps + 0, pc + 0, fs + 0, fc + 0, rs + 0 }'
}

raft() { # PORT: "frames-sent ops-done role"
    redis-cli -p "$1" INFO raft | tr -d '\r' | awk -F: '
        /^peer_frames_sent:/ { f = $2 } /^ops_done:/ { o = $2 } /^role:/ { r = $2 }
        END { print f + 0, o + 0, r }'
}

snap() { # SUFFIX: every figure above, to $tmp/*.SUFFIX
    cpus >"$tmp/cpu.$1"
    i=0
    for p in $nodes; do
        i=$((i + 1))
        echo "$(threads "$p") $(metrics "$i") $(raft $((base + i)))" >"$tmp/n$i.$1"
    done
}

now() { awk '{ print $1 }' /proc/uptime; }

bench_mode
for r in $(seq 1 "$rounds"); do
    snap 0
    t0=$(now)
    l0=$(cut -d' ' -f1 /proc/loadavg)
    redis-benchmark -p "$leader" -c "${AB_CONNS:-50}" -n "$requests" -P "$pipe" -t "$test" \
        --csv >"$tmp/rb.out" 2>/dev/null &
    bpid=$!
    cr=0
    while kill -0 "$bpid" 2>/dev/null; do # the client's CPU: its last schedstat before it ends
        c=$(cat /proc/"$bpid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
        [ "$c" -gt 0 ] 2>/dev/null && cr=$c
        sleep 0.1
    done
    wait "$bpid" || true
    t1=$(now)
    snap 1
    ops=$(awk -F'"' 'NR > 1 && $2 != "" { printf "%.0f", $4; exit }' "$tmp/rb.out")
    echo "== round $r: $test -P $pipe, $requests requests: $ops ops/s, wall $(echo "$t0 $t1" |
        awk '{ printf "%.2f", $2 - $1 }') s, load $l0 -> $(cut -d' ' -f1 /proc/loadavg)"
    paste -d' ' "$tmp/cpu.0" "$tmp/cpu.1" | awk '{
        n = NF / 2; t = 0 # user nice system idle iowait irq softirq steal guest guest_nice
        for (k = 2; k <= n; k++) d[k] = $(k + n) - $k
        for (k = 2; k <= 9; k++) t += d[k]
        printf "  %s: busy %4.1f%% (user %4.1f sys %4.1f softirq %4.1f) idle %4.1f%% iowait %4.1f%% steal %4.1f%%\n",
            $1, 100 * (t - d[5] - d[6]) / t, 100 * (d[2] + d[3]) / t, 100 * d[4] / t,
            100 * d[8] / t, 100 * d[5] / t, 100 * d[6] / t, 100 * d[9] / t }'
    echo "$t0 $t1 $cr" | awk '{ printf "  client: CPU %.0f%% of the wall\n", $3 / 1e7 / ($2 - $1) }'
    for i in 1 2 3; do
        paste -d' ' "$tmp/n$i.0" "$tmp/n$i.1" | awk -v w="$(echo "$t0 $t1" | awk '{ print $2 - $1 }')" \
            -v i="$i" -v n="$requests" '{
            # fields: 1-3 loop-run loop-wait other-run, 4-8 metrics, 9-11 raft; +11 after
            lr = ($12 - $1) / 1e9; lw = ($13 - $2) / 1e9; o = ($14 - $3) / 1e9
            ps = $15 - $4; pc = $16 - $5; fs = $17 - $6; fc = $18 - $7; rs = $19 - $8
            fr = $20 - $9
            printf "  node %d %-8s loop CPU %4.1f%% runq-wait %4.1f%% busy %4.1f%% passes %6.0f/s; other threads CPU %4.1f%%; commits %5.0f/s %.2f ms %.0f records\n",
                i, $22, 100 * lr / w, 100 * lw / w, 100 * ps / w, pc / w, 100 * o / w, fc / w,
                fc ? 1e3 * fs / fc : 0, fc ? rs / fc : 0
            if ($22 == "leader" && fr)
                printf "    AppendEntries to a follower %.0f/s, %.0f entries each, round %.2f ms; CPU us/op %.2f\n",
                    fr / 2 / w, 2 * n / fr, 1e3 * w / (fr / 2), 1e6 * (lr + o) / n
            else
                printf "    CPU us/op %.2f\n", 1e6 * (lr + o) / n
        }'
    done
done
