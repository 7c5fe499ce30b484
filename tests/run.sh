#!/bin/sh
# run.sh OUT TEST_BIN...: runs every test program, sums their "N passed, N failed" lines and
# prints the total as the last line. A program that crashes or prints no summary counts as
# one failure. Exit status 0 only when nothing failed. Each program's wall time follows its
# summary, and the slowest ten are listed at the end (where CI's minutes go).
#
# The simulator's programs (OUT/tests/sim/) run first, FL_TEST_JOBS at a time (default: the
# number of CPUs): they run simulated time only, so their results do not depend on how fast
# they run or what runs beside them. Then the others, one at a time: they run real servers,
# sockets and timeouts on the wall clock, and get the machine to themselves. Results are
# printed in the order given either way.
#
# run.sh --one OUT TEST_BIN: runs one program, its output to OUT/runs/NAME.txt and its exit
# status and milliseconds to OUT/runs/NAME.rc (the parallel phase's worker).
if [ "$1" = --one ]; then
    out=$2 t=$3
    name=${t#"$out"/tests/}
    run="$out/runs/$(printf '%s' "$name" | tr / _)"
    t0=$(date +%s%N)
    if "$t" >"$run.txt" 2>&1; then rc=0; else rc=$?; fi
    echo "$rc $((($(date +%s%N) - t0) / 1000000))" >"$run.rc"
    exit 0
fi
out=$1
shift
passed=0
failed=0
log="$out/test-log.txt"
: >"$log"
: >"$out/test-times.txt"
rm -rf "$out/runs"
mkdir -p "$out/runs"

# the parallel phase: simulated-time programs
jobs=${FL_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
sims=""
for t in "$@"; do
    case ${t#"$out"/tests/} in sim/*) sims="$sims $t" ;; esac
done
if [ -n "$sims" ]; then
    t0=$(date +%s)
    echo "(simulator programs: $(echo $sims | wc -w), $jobs at a time)"
    printf '%s\n' $sims | xargs -P "$jobs" -I{} sh "$0" --one "$out" {}
    echo "(simulator programs: $(($(date +%s) - t0)) s of wall time)"
fi

# report: one program's output, summary and time, added to the totals
report() { # NAME OUTPUT_FILE RC MS
    name=$1 text=$2 rc=$3 ms=$4
    printf '%s %s\n' "$ms" "$name" >>"$out/test-times.txt"
    cat "$text" >>"$log"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$text" | tail -n 1)
    grep -E '^FAIL|check failed|ERROR|Sanitizer|runtime error' "$text" | head -20
    if [ -z "$summary" ]; then
        echo "   $name: no summary (exit $rc); counted as one failure"
        tail -20 "$text"
        failed=$((failed + 1))
        return
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
}

for t in "$@"; do
    name=${t#"$out"/tests/}
    printf '%s\n' "== $name" | tee -a "$log"
    run="$out/runs/$(printf '%s' "$name" | tr / _)"
    case $name in
    sim/*) ;; # ran in the parallel phase
    *) sh "$0" --one "$out" "$t" ;;
    esac
    if [ -f "$run.rc" ]; then
        read -r rc ms <"$run.rc"
    else
        rc=125 ms=0 # its worker never finished (killed): no summary, one failure
        : >>"$run.txt"
    fi
    report "$name" "$run.txt" "$rc" "$ms"
done
echo "slowest (s):"
sort -rn "$out/test-times.txt" | head -10 | awk '{ printf "  %7.1f  %s\n", $1 / 1000, $2 }'
echo "full log: $log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
