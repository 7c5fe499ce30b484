#!/bin/sh
# one_conn_ab.sh: bench/one_conn.sh for two faultline builds in turn (issue 16's one-connection
# latency, before and after a change), ROUNDS times per read mode; every other round runs B
# first, so that a drift of the machine's load does not favour one order. Then, per cell, the
# median p50 over the rounds (GET and SET, us) with the rounds' range.
#
#   bench/one_conn_ab.sh A_BIN B_BIN [ROUNDS] [DURATION] [MODES]
#       defaults: 4 4s "index lease"
#
# Each one_conn.sh run starts its own redis-server and cluster (lib.sh); Redis's medians are
# those of the runs of each build.
set -eu
a_bin=$1
b_bin=$2
rounds=${3:-4}
dur=${4:-4s}
modes=${5:-index lease}
here=$(dirname "$0")
out=$(mktemp /tmp/fl-one-conn-ab-XXXXXX)
trap 'rm -f "$out"' EXIT INT TERM
for r in $(seq 1 "$rounds"); do
    order="A B"
    [ $((r % 2)) = 0 ] && order="B A"
    for mode in $modes; do
        for t in $order; do
            bin=$a_bin
            [ "$t" = B ] && bin=$b_bin
            FL_READ_MODE=$mode FL_SERVER_BIN=$bin "$here/one_conn.sh" "$dur" 1 2>&1 |
                awk -v t="$t" -v m="$mode" '/^load/ { l = $2 }
                    $1 == "1" { print m, t, $2, $4 + 0, $5 + 0, l }' | tee -a "$out"
        done
    done
done
echo "median p50 over $rounds rounds (range), us:"
sort -k1,1 -k3,3 -k2,2 "$out" | awk '
    { k = $1 " " $3 " " $2; n[k]++; g[k, n[k]] = $4; s[k, n[k]] = $5; keys[k] = 1 }
    function med(a, k, c,  i, j, t, v) {
        for (i = 1; i <= c; i++) v[i] = a[k, i]
        for (i = 2; i <= c; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return sprintf("%g (%g-%g)", c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2,
                       v[1], v[c])
    }
    END { for (k in keys) printf "%-22s GET %-18s SET %s\n", k, med(g, k, n[k]), med(s, k, n[k]) }' |
    sort
