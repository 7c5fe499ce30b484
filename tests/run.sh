#!/bin/sh
# run.sh OUT TEST_BIN...: runs every test program, sums their "N passed, N failed" lines and
# prints the total as the last line. A program that crashes or prints no summary counts as
# one failure. Exit status 0 only when nothing failed. Each program's wall time follows its
# summary, and the slowest ten are listed at the end (where CI's minutes go).
out=$1
shift
passed=0
failed=0
log="$out/test-log.txt"
: >"$log"
: >"$out/test-times.txt"
for t in "$@"; do
    name=${t#"$out"/tests/}
    printf '%s\n' "== $name" | tee -a "$log"
    t0=$(date +%s%N)
    if "$t" >"$out/last-test.txt" 2>&1; then rc=0; else rc=$?; fi
    ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%s %s\n' "$ms" "$name" >>"$out/test-times.txt"
    cat "$out/last-test.txt" >>"$log"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/last-test.txt" | tail -n 1)
    grep -E '^FAIL|check failed|ERROR|Sanitizer|runtime error' "$out/last-test.txt" | head -20
    if [ -z "$summary" ]; then
        echo "   $name: no summary (exit $rc); counted as one failure"
        tail -20 "$out/last-test.txt"
        failed=$((failed + 1))
        continue
    fi
    p=${summary%% passed*}
    f=${summary#*passed, }
    f=${f%% failed*}
    echo "   $summary ($((ms / 1000)).$((ms % 1000 / 100)) s)"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "   $name: exit $rc with no failed test; counted as one failure"
        failed=$((failed + 1))
    fi
done
echo "slowest (s):"
sort -rn "$out/test-times.txt" | head -10 | awk '{ printf "  %7.1f  %s\n", $1 / 1000, $2 }'
echo "full log: $log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
