#!/bin/sh
# gossip.sh: the gossip table of docs/swim.md from real processes: `faultline gossip` agents on
# loopback, N = 20 and 50, three runs each (bench/bench_gossip.c): join time (all agents see
# all), suspicions and deaths during the join, kill -9 of one (first suspect, first dead, all
# dead), RSS per agent, and with --quiet S the false suspicions and deaths in S quiet seconds.
#
#   bench/gossip.sh [--loss P] [bench_gossip options...]       e.g. --quiet 60, --runs 1, 50
#
# --loss P (0 < P < 1) runs the whole bench in a network namespace of its own whose loopback
# drops a fraction P of the packets (nftables, Debian nftables; needs root or user namespaces
# with CAP_NET_ADMIN); without it, plain loopback. About 30 s per run at N = 50.
set -eu
cd "$(dirname "$0")/.."
bench=build/bench/bench_gossip
[ -x "$bench" ] && [ -x build/faultline ] || { echo "build first: make bench" >&2; exit 1; }
loss=""
if [ "${1:-}" = "--loss" ]; then
    loss=${2:?--loss needs a fraction, e.g. 0.1}
    shift 2
fi
if [ -z "$loss" ]; then
    exec "$bench" "$@"
fi
command -v nft >/dev/null || { echo "--loss needs nft (apt-get install nftables)" >&2; exit 1; }
# one in `mod` packets is dropped at input: mod = round(1 / P)
mod=$(awk -v p="$loss" 'BEGIN { if (p <= 0 || p >= 1) exit 1; printf "%d", 1 / p + 0.5 }') ||
    { echo "--loss: a fraction in (0, 1)" >&2; exit 1; }
echo "loopback in a namespace of its own, dropping 1 in $mod packets (loss ~$loss)"
exec unshare -n sh -c '
    ip link set lo up &&
    nft add table inet loss &&
    nft add chain inet loss input "{ type filter hook input priority 0; }" &&
    nft add rule inet loss input numgen random mod '"$mod"' 0 drop &&
    exec "$0" "$@"' "$bench" "$@"
