#!/bin/sh
# test_campaign_parallel.sh: the batch-system recipe of docs/campaigns.md on this machine: a
# campaign cut into 4 shards run by GNU parallel (Debian `parallel`), the shard files combined
# by `faultline merge`, and the merged summary compared with the unsharded run's, line by line
# (less the wall time and progress lines). Merging only 3 of the shards must differ, so the
# comparison can fail. Skipped, saying so, without GNU parallel. About 10 s.
set -u
out=${FL_OUT:-build}
bin=$out/faultline
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
if ! parallel --version 2>/dev/null | grep -q "GNU parallel"; then
    echo "skipped: GNU parallel is not installed (apt-get install parallel)"
    echo "0 passed, 0 failed"
    exit 0
fi
tmp=$(mktemp -d /tmp/fl-test-campaign-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
campaign="--seeds 1..24 --nemesis mix --duration 2s --nemesis-interval 500ms"
# the summary without what depends on the machine (wall time, progress, the report's path)
# and the campaign's opening line on how seeds draw their worlds (merge has no options)
normalize() { grep -v -e '^progress:' -e '^report ' -e '^swarm: ' "$1" | sed 's/, [0-9.]* s wall$//'; }
# shellcheck disable=SC2086
"$bin" sim $campaign --jobs 2 --out "$tmp/full" >"$tmp/full.txt" 2>"$tmp/full.err"
full_rc=$?
# shellcheck disable=SC2086
parallel --will-cite -j 2 "$bin" sim $campaign --jobs 1 --shard {}/4 --out "$tmp/shard-{}" \
    ">$tmp/shard-{}.txt 2>&1" ::: 1 2 3 4
if [ $? -eq 0 ] && [ "$(cat "$tmp"/shard-*/campaign-*-of-4.jsonl | wc -l)" -eq 24 ]; then
    ok "4 shards through GNU parallel: 24 records"
else
    bad "4 shards through GNU parallel: 24 records"
fi
seeds=$(cat "$tmp"/shard-*/campaign-*-of-4.jsonl | sed 's/^{"seed":\([0-9]*\),.*/\1/' | sort -n | uniq | tr '\n' ' ')
if [ "$seeds" = "$(seq 1 24 | tr '\n' ' ')" ]; then ok "every seed once"; else bad "every seed once: $seeds"; fi
"$bin" merge "$tmp"/shard-*/campaign-*-of-4.jsonl >"$tmp/merged.txt" 2>&1
merge_rc=$?
normalize "$tmp/full.txt" >"$tmp/full.norm"
normalize "$tmp/merged.txt" >"$tmp/merged.norm"
if [ "$full_rc" -eq "$merge_rc" ] && [ -s "$tmp/full.norm" ] && cmp -s "$tmp/full.norm" "$tmp/merged.norm"; then
    ok "the merged summary equals the unsharded run's (exit $merge_rc)"
else
    bad "the merged summary equals the unsharded run's (exit $full_rc vs $merge_rc)"
    diff "$tmp/full.norm" "$tmp/merged.norm"
fi
"$bin" merge "$tmp"/shard-[123]/campaign-*-of-4.jsonl >"$tmp/three.txt" 2>&1
normalize "$tmp/three.txt" >"$tmp/three.norm"
if ! cmp -s "$tmp/full.norm" "$tmp/three.norm"; then
    ok "3 of the 4 shards merged differ from it"
else
    bad "3 of the 4 shards merged differ from it"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
