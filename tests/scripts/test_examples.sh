#!/bin/sh
# test_examples.sh: runs every program built from examples/ (FL_OUT/examples/*, built by
# `make tests`), each in a fresh temporary directory: it must exit 0. Under a second.
set -u
out=${FL_OUT:-build}
passed=0
failed=0
found=0
for ex in "$out"/examples/*; do
    [ -x "$ex" ] || continue
    found=$((found + 1))
    dir=$(mktemp -d /tmp/fl-test-example-XXXXXX)
    if "$ex" "$dir" >"$dir/out.txt" 2>&1; then
        echo "ok   $(basename "$ex"): $(tail -1 "$dir/out.txt")"
        passed=$((passed + 1))
    else
        echo "FAIL $(basename "$ex")"
        cat "$dir/out.txt"
        failed=$((failed + 1))
    fi
    rm -rf "$dir"
done
[ "$found" -gt 0 ] || { echo "FAIL no example program in $out/examples"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
