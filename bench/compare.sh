#!/bin/sh
# compare.sh: faultline's 3-node cluster beside the single node it replaces, measured side by
# side in one run (issue 16's tables): redis-server with appendonly yes, appendfsync always
# (every write fsynced before its reply, like ours), a local 3-node faultline cluster (every
# write fsynced on a majority, reads by ReadIndex), and, when `etcd` is installed (Debian
# etcd-server 3.4), three etcd members driven over their v3 JSON gateway in the mixed rows.
# Each row runs redis first, then faultline (then etcd), under the same load:
#
#   mixed, 1 connection     faultline bench: closed loop, 50% GET / 50% SET, 100-byte values,
#   mixed, 64 connections   1,000 keys; faultline's connections spread over its three nodes
#   SET / GET / INCR        redis-benchmark -c 50 -n REQUESTS (no pipelining), then -P 16
#                           with 10 x REQUESTS, against redis and against faultline's leader
#
# For each it prints ops/s, p50 and p99, the ratio faultline/redis (ops/s; p50 and p99 as
# faultline's over redis's), and the CPU time per op of the servers (every thread's time on a
# CPU, from /proc/PID/task/*/schedstat; faultline: the sum over its three nodes, then per
# node). Then the resident
# memory of every server process.
#
#   bench/compare.sh [DURATION] [ROUNDS] [REQUESTS]      defaults: 5s 1 30000
#
# FL_SERVER_BIN=path runs that faultline binary's cluster instead of build/faultline's (the
# load generator stays build/faultline): before and after a change, in turn. FL_NO_ETCD=1
# leaves etcd out. FL_READ_MODE=lease (or log) starts the cluster in that read mode and
# FL_MAX_DRIFT_PPM=PPM sets its drift bound (lib.sh); the header names the mode.
#
# ROUNDS > 1 repeats every row (redis, then faultline, each round) so the spread shows: the
# machine is shared, absolute figures swing with its load; compare within a row. Needs
# redis-server, redis-cli and redis-benchmark on PATH and a built build/faultline. Ports are
# picked at random in 20000-59999; data lives in a temp dir under /tmp, removed at the end.
set -eu
dur=${1:-5s}
rounds=${2:-1}
requests=${3:-30000}
. "$(dirname "$0")/lib.sh"
bench_setup compare redis-server redis-cli redis-benchmark
bench_start

# CPU nanoseconds used so far by each pid, all its threads (the first field of schedstat).
ticks() { cpu_ns "$@"; }

# us_per_op OPS BEFORE... AFTER...: CPU microseconds per op (OPS done in all), total then per
# process.
us_per_op() {
    ops=$1
    shift
    n=$(($# / 2))
    echo "$@" | awk -v ops="$ops" -v n="$n" '{
        tot = 0; per = "";
        for (i = 1; i <= n; i++) { d = $(i + n) - $i; tot += d;
            per = per sprintf(" %.1f", ops ? d / 1e3 / ops : 0) }
        printf "%.1f%s", ops ? tot / 1e3 / ops : 0, (n > 1 ? " (" substr(per, 2) ")" : "")
    }'
}

# One faultline bench run (PROTO resp or etcd): prints "ops/s p50_ms p99_ms total_ops".
fbench() {
    "$bin" bench --addr "$1" --connections "$2" --duration "$dur" --keys 1000 \
        --value-size 100 --read-ratio 0.5 --proto "${3:-resp}" >"$tmp/b.out" 2>&1 || true
    awk '/ ok, / { ok = $1 } / ops\/s$/ { ops = $1 }
         /^latency/ { p50 = $3 $4; p99 = $9 $10 }
         END { printf "%s %s %s %s\n", ops + 0, ms(p50), ms(p99), ok + 0 }
         function ms(s,  v) { v = s + 0; if (s ~ /us$/) v /= 1000; else if (s ~ /ns$/) v /= 1e6;
                              else if (s ~ /[0-9]s$/) v *= 1000; return v }' "$tmp/b.out"
}

# One redis-benchmark test: prints "ops/s p50_ms p99_ms total_ops". Pipelined, ten times the requests
# (at 16 deep, REQUESTS alone would be over in a tenth of a second).
rbench() {
    n=$requests
    [ "$2" -gt 1 ] && n=$((requests * 10))
    redis-benchmark -p "$1" -c 50 -n "$n" -P "$2" -t "$3" --csv 2>/dev/null |
        awk -F'"' -v n="$n" 'NR > 1 && $2 != "" { print $4 + 0, $10 + 0, $14 + 0, n; exit }'
}

bench_mode
printf '%-24s %-30s %-30s %-22s %s\n' "row" "redis: ops/s p50 p99 (ms)" \
    "faultline: ops/s p50 p99 (ms)" "ratio ops p50 p99" "CPU us/op: redis | faultline (n1 n2 n3)"

# row NAME KIND ARGS: runs it on redis, then on faultline, and prints one line.
row() {
    name=$1
    kind=$2
    shift 2
    conns_or_pipe=$1
    rb=$(ticks "$rpid")
    case $kind in
    mixed) r=$(fbench "127.0.0.1:$rport" "$1") ;;
    rb) r=$(rbench "$rport" "$1" "$2") ;;
    esac
    ra=$(ticks "$rpid")
    fb=$(ticks $nodes)
    case $kind in
    mixed) f=$(fbench "$all" "$1") ;;
    rb) f=$(rbench "$leader" "$1" "$2") ;;
    esac
    fa=$(ticks $nodes)
    set -- $r
    rops=$1 rp50=$2 rp99=$3 rn=$4
    set -- $f
    fops=$1 fp50=$2 fp99=$3 fn=$4
    ratio=$(echo "$rops $rp50 $rp99 $fops $fp50 $fp99" | awk '{
        printf "%.2fx %.2f %.2f", $1 ? $4 / $1 : 0, $2 ? $5 / $2 : 0, $3 ? $6 / $3 : 0 }')
    printf '%-24s %-30s %-30s %-22s %s | %s\n' "$name" "$rops $rp50 $rp99" "$fops $fp50 $fp99" \
        "$ratio" "$(us_per_op "$rn" $rb $ra)" "$(us_per_op "$fn" $fb $fa)"
    if [ "$kind" = mixed ]; then
        eval "redis_mixed_$conns_or_pipe=\$rops"
    fi
}

# etcd, when installed: three members on this machine (clients on E+1..E+3, peers on
# E+11..E+13), started only now so that they take nothing from the rows above; the same
# mixed load, spread over the members, over their v3 JSON gateway.
etcd_rows() {
    command -v etcd >/dev/null && [ -z "${FL_NO_ETCD:-}" ] || return 0
    eb=$((base + 60))
    members=""
    for i in 1 2 3; do
        members="$members${members:+,}e$i=http://127.0.0.1:$((eb + 10 + i))"
    done
    eaddrs=""
    for i in 1 2 3; do
        etcd --name "e$i" --data-dir "$tmp/etcd$i" \
            --listen-client-urls "http://127.0.0.1:$((eb + i))" \
            --advertise-client-urls "http://127.0.0.1:$((eb + i))" \
            --listen-peer-urls "http://127.0.0.1:$((eb + 10 + i))" \
            --initial-advertise-peer-urls "http://127.0.0.1:$((eb + 10 + i))" \
            --initial-cluster "$members" --initial-cluster-state new \
            >"$tmp/etcd$i.log" 2>&1 &
        epids="$epids $!"
        eaddrs="$eaddrs${eaddrs:+,}127.0.0.1:$((eb + i))"
    done
    sleep 3
    for c in 1 64; do
        eb0=$(ticks $epids)
        e=$(fbench "$eaddrs" "$c" etcd)
        ea0=$(ticks $epids)
        set -- $e
        eval "r=\${redis_mixed_$c:-0}"
        printf '%-24s %-30s %-30s %-22s %s\n' "etcd 3.4, mixed, $c conn" "(redis above: $r ops/s)" \
            "$1 $2 $3" "$(echo "$r $1" | awk '{ printf "%.2fx", $1 ? $2 / $1 : 0 }')" \
            "CPU us/op etcd: $(us_per_op "$4" $eb0 $ea0)"
    done
}

round=1
while [ "$round" -le "$rounds" ]; do
    row "mixed, 1 connection" mixed 1
    row "mixed, 64 connections" mixed 64
    for t in set get incr; do
        row "$t, 50 conns" rb 1 "$t"
    done
    for t in set get incr; do
        row "$t, 50 conns, pipe 16" rb 16 "$t"
    done
    round=$((round + 1))
done
etcd_rows

if grep -q "exited" "$tmp/cluster.log"; then
    echo "a faultline node stopped during the runs:"
    cat "$tmp/cluster.log"
fi
echo
echo "resident memory after the runs:"
rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$1/status" 2>/dev/null || echo "?"; }
echo "  redis-server: $(rss "$rpid")"
for pid in $nodes; do
    echo "  faultline node (pid $pid): $(rss "$pid")"
done
for pid in $epids; do
    echo "  etcd member (pid $pid): $(rss "$pid")"
done
echo "  (faultline leader: port $leader; clients in the mixed rows on all three nodes)"
