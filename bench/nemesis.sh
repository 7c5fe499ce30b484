#!/bin/sh
# nemesis.sh: the measured goals of `faultline nemesis` (docs/nemesis.md): one run per fault
# kind, 3 nodes, 10 clients, 5 keys, 50% reads, 30% of the writes compare-and-set, 60 s, a
# 5 s fault every 10 s; faultline, then etcd beside it (when /usr/bin/etcd is installed:
# apt-get install etcd-server). Prints one markdown row per run.
#
#   bench/nemesis.sh [DURATION] [KINDS] [TARGETS]
#     defaults: 60s "kill pause isolate-one isolate-leader clock disk-fsync disk-torn"
#               "faultline etcd"
#
# Needs a built build/faultline (make); python3 reads results.json. Each run's directory
# stays under /tmp/fl-nemesis-bench-* for a look (history, logs, results.json): about 1 GB
# for the whole table (the nodes' WALs), to delete when done.
set -eu
dur=${1:-60s}
kinds=${2:-"kill pause isolate-one isolate-leader clock disk-fsync disk-torn"}
targets=${3:-"faultline etcd"}
cd "$(dirname "$0")/.."
bin=$(pwd)/build/faultline
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
root=$(mktemp -d /tmp/fl-nemesis-bench-XXXXXX)
echo "| target | fault | ok/s | linearizable | longest write gap | s without success | availability (ok) | answered (ok+fail) | p99 ok | recover |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in $targets; do
    if [ "$t" = etcd ] && [ ! -x /usr/bin/etcd ]; then
        echo "| etcd | (not installed: apt-get install etcd-server) | | | | | | | | |"
        continue
    fi
    for k in $kinds; do
        case "$t:$k" in etcd:disk-*)
            echo "| etcd | $k | skipped: the disk shim cannot run under etcd (bbolt reads by mmap) | | | | | | | |"
            continue ;;
        esac
        out="$root/$t-$k"
        "$bin" nemesis --target "$t" --out "$out" --nodes 3 --clients 10 --keys 5 \
            --read-share 0.5 --cas-share 0.3 --duration "$dur" --interval 10s \
            --fault-length 5s --faults "$k" --seed 1 >"$out.txt" 2>&1 || true
        python3 - "$out/results.json" "$t" "$k" <<'PY' || echo "| $t | $k | run failed: see $out.txt | | | | | | | |"
import json, sys
r = json.load(open(sys.argv[1]))
o = r["observables"]; a = o["availability"]; v = r["verdict"]
answered = (a["ok"] + a["fail"]) / a["ops"] if a["ops"] else 1
silent = a["windows"] - a["windows_answered"]
p99 = o["latency"]["ok"]["p99_ns"] / 1e6 if o["latency"].get("ok") else 0
rec = "%.0f ms" % (v["recover_ns"] / 1e6) if v.get("live") else "NOT LIVE"
print("| %s | %s | %.0f | %s | %.2f s | %d | %.3f | %.4f | %.1f ms | %s |" % (
    sys.argv[2], sys.argv[3], o["throughput"]["ok_per_s"], v["linearizability"],
    a["write_gap_max_ns"] / 1e9, silent, a["ok_fraction"], answered, p99, rec))
PY
    done
done
echo "runs kept in $root"
