#!/bin/sh
# run.sh OUT: real Redis client libraries against a local 3-node faultline cluster (clients
# talk to node 2, so commands are forwarded whenever node 1 or 3 leads): hiredis (Debian
# libhiredis-dev), redis-py (Debian python3-redis), ioredis and node-redis (npm, installed
# into OUT/npm, never into the source tree), and redis-benchmark's whole default suite
# (Debian redis-tools: `redis-benchmark -q -n 10000`, its 20 tests of strings, lists, sets,
# hashes and sorted sets, every one to the end). Each one missing is skipped with a message;
# CI installs them all (.ci/run). About 20 s on the 2-core development machine (redis-benchmark
# about 15 s of it), plus the npm install. Prints "N passed, N failed" last; exit 0 if none
# failed.
out=${1:-build}
bin="$out/faultline"
here=$(dirname "$0")
tmp=$(mktemp -d /tmp/fl-clients-XXXXXX)
passed=0
failed=0
cluster=""
trap 'kill $cluster 2>/dev/null; wait $cluster 2>/dev/null; rm -rf "$tmp"' EXIT

stop_cluster() {
    kill $cluster 2>/dev/null
    wait $cluster 2>/dev/null
    cluster=""
}

# One attempt at a cluster on base's ports: 0 once a SET through node 2 succeeds. A node that
# cannot bind (a port taken: another program's, or one the kernel lent to an outgoing
# connection) exits, and the caller tries elsewhere; stop 31's CI dry run met one.
try_cluster() {
    rm -rf "$tmp/data"
    "$bin" cluster --nodes 3 --base-port "$base" --data "$tmp/data" >"$tmp/cluster.log" 2>&1 &
    cluster=$!
    i=0
    until printf '*3\r\n$3\r\nSET\r\n$5\r\nready\r\n$1\r\n1\r\n' |
        timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; head -c 5 <&3" 2>/dev/null |
        grep -q '+OK'; do
        i=$((i + 1))
        if [ $i -gt 100 ] || grep -q "exited" "$tmp/cluster.log"; then
            stop_cluster
            return 1
        fi
        sleep 0.1
    done
    ! grep -q "exited" "$tmp/cluster.log" || { # two nodes may elect a leader without the third
        stop_cluster
        return 1
    }
}

# Ports below the kernel's ephemeral range (32768 up, ip_local_port_range), which outgoing
# connections borrow: base + 103 stays under it.
for attempt in 1 2 3 4 5; do
    base=$((21000 + ($$ * 7 + attempt * 1999) % 11000))
    port=$((base + 2))
    try_cluster && break
    echo "cluster on ports from $base did not come up (attempt $attempt):"
    grep -E " E \[n[0-9]+\]|exited" "$tmp/cluster.log" | head -4
done
[ -n "$cluster" ] || { echo "cluster did not come up"; exit 1; }

result() { # name status
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1"; fi
}

if [ -f /usr/include/hiredis/hiredis.h ]; then
    cc -O1 -o "$tmp/hiredis_client" "$here/hiredis_client.c" -lhiredis &&
        timeout 60 "$tmp/hiredis_client" "$port"
    result hiredis $?
else
    echo "skipped: hiredis (apt-get install libhiredis-dev)"
fi

if /usr/bin/python3 -c 'import redis' 2>/dev/null; then
    timeout 60 /usr/bin/python3 "$here/redis_py.py" "$port"
    result redis-py $?
else
    echo "skipped: redis-py (apt-get install python3-redis)"
fi

if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    mkdir -p "$out/npm"
    if [ -d "$out/npm/node_modules/ioredis" ] && [ -d "$out/npm/node_modules/redis" ] ||
        (cd "$out/npm" && timeout 300 npm install --no-audit --no-fund --silent ioredis redis); then
        NODE_PATH="$(cd "$out/npm" && pwd)/node_modules" timeout 60 node "$here/node_clients.js" "$port"
        result node-clients $?
    else
        echo "FAIL npm install ioredis redis"
        failed=$((failed + 1))
    fi
else
    echo "skipped: ioredis and node-redis (apt-get install nodejs npm)"
fi

if command -v redis-benchmark >/dev/null 2>&1; then
    # the default suite: all 20 tests must run to the end and report a rate, with no error
    timeout 600 redis-benchmark -p "$port" -q -n 10000 >"$tmp/bench.txt" 2>&1
    rc=$?
    tr '\r' '\n' <"$tmp/bench.txt" | grep -E 'requests per second|rror'
    n=$(tr '\r' '\n' <"$tmp/bench.txt" | grep -c 'requests per second')
    errors=$(tr '\r' '\n' <"$tmp/bench.txt" | grep -ci 'error')
    [ $rc -eq 0 ] && [ "$n" -eq 20 ] && [ "$errors" -eq 0 ]
    result "redis-benchmark default suite ($n of 20 tests, $errors errors)" $?
else
    echo "skipped: redis-benchmark (apt-get install redis-tools)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
