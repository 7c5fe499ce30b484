#!/bin/sh
# sync_ab.sh: what the WAL syncs cost per client op under the mixed load spread over all three
# nodes (compare.sh's "mixed, 64 connections" row: faultline bench, 50% GET / 50% SET,
# 100-byte values, 1,000 keys), for two builds side by side: a 3-node cluster of each, loaded
# in turn (A, B, A, B, ...) so the shared machine's load falls on both alike (issue 16).
#
#   bench/sync_ab.sh A_BIN B_BIN [ROUNDS] [DURATION] [CONNECTIONS]    defaults: 3 8s 64
#
# Per run: ops/s, p50 and p99 (ms); then per node (its role) the CPU microseconds per op of
# the loop thread and of the other threads (the sync worker; the reaper is idle), their
# context switches per op (voluntary + involuntary, /proc/PID/task/*/status), and WAL syncs
# per op (FL.STATUS wal_syncs), with the worker's CPU and switches per sync. The load
# generator is build/faultline. Needs redis-cli.
set -eu
a_bin=$1
b_bin=$2
rounds=${3:-3}
dur=${4:-8s}
conns=${5:-64}
. "$(dirname "$0")/lib.sh"
bench_setup syncab redis-cli redis-server

bench_start_pair "$a_bin" "$b_bin" # (lib.sh) no redis is needed here
kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
rpid=""

# snap PID PORT: "loop-ns other-ns loop-switches other-switches wal_syncs role"
snap() {
    for t in /proc/"$1"/task/*; do
        id=$(basename "$t")
        ns=$(cut -d' ' -f1 "$t"/schedstat)
        sw=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t"/status)
        echo "$id $ns $sw"
    done | awk -v p="$1" '$1 == p { mn += $2; ms += $3; next } { on += $2; os += $3 }
                          END { printf "%.0f %.0f %d %d", mn, on, ms, os }'
    redis-cli -p "$2" INFO raft | tr -d '\r' |
        awk -F: '$1 == "wal_syncs" { w = $2 } $1 == "role" { r = $2 } END { printf " %s %s\n", w, r }'
}

# run LABEL ADDRS BASE PIDS...
run() {
    label=$1 addrs=$2 b=$3
    shift 3
    i=0
    for p in "$@"; do
        i=$((i + 1))
        snap "$p" $((b + i)) >"$tmp/s0.$i"
    done
    "$bin" bench --addr "$addrs" --connections "$conns" --duration "$dur" --keys 1000 \
        --value-size 100 --read-ratio 0.5 >"$tmp/b.out" 2>&1 || true
    res=$(awk '/ ok, / { ok = $1 } / ops\/s$/ { ops = $1 }
         /^latency/ { p50 = $3 $4; p99 = $9 $10 }
         END { printf "%s %s %s %s\n", ops + 0, ms(p50), ms(p99), ok + 0 }
         function ms(s,  v) { v = s + 0; if (s ~ /us$/) v /= 1000; else if (s ~ /ns$/) v /= 1e6;
                              else if (s ~ /[0-9]s$/) v *= 1000; return v }' "$tmp/b.out")
    n=$(echo "$res" | cut -d' ' -f4)
    echo "$label: $(echo "$res" | awk '{ printf "%s ops/s p50 %s ms p99 %s ms (%s ops)", $1, $2, $3, $4 }'), load $(cut -d' ' -f1 /proc/loadavg)"
    i=0
    for p in "$@"; do
        i=$((i + 1))
        [ -d /proc/"$p" ] || { echo "  node $i (pid $p) exited" >&2; return 1; }
        snap "$p" $((b + i)) >"$tmp/s1.$i"
        paste -d' ' "$tmp/s0.$i" "$tmp/s1.$i" | awk -v n="$n" -v i="$i" '{
            if (n == 0) n = 1
            sy = $11 - $5
            printf "  node %d %-8s loop %5.2f + worker %5.2f us/op; switches loop %.3f worker %.3f /op; syncs %.4f /op",
                i, $12, ($7 - $1) / 1e3 / n, ($8 - $2) / 1e3 / n, ($9 - $3) / n, ($10 - $4) / n, sy / n
            if (sy > 0) printf "; worker %.1f us, %.2f switches /sync", ($8 - $2) / 1e3 / sy, ($10 - $4) / sy
            printf "\n" }'
    done
}

bench_mode
echo "A=$a_bin B=$b_bin, $conns connections, $dur each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
    echo "-- round $r"
    run A "$aa" "$ba" $na
    run B "$ab" "$bb" $nb
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
