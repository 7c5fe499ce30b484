/* test_pipeline_check.c: the checker decides the pipelined simulator histories it used to
 * leave undecided. The world below (swarm seed 1107 as drawn on 2026-12-02: 3 clients
 * pipelined 8 deep over 10 keys, 159 info ops) gave "linearizability unknown" after the
 * whole-history search with program order ran into its 30 s limit; the keys' own orders,
 * interleaved and refined (lin_merge.c), decide it at once. A violation across keys is still
 * found (test_lincheck_po.c: pipelined_*_across_keys_needs_the_whole_history). An undecided
 * check says why: the time limit (--check-timeout, passed through) or the memory bound. */
#include "test.h"

#include "cli.h"

#include <stdlib.h>

#define OUT FL_TEST_TMP "/fl_test_pipeline_check.out"
#define DIR FL_TEST_TMP "/fl_test_pipeline_check.dir"

#define WORLD_1107                                                                                 \
    "sim --seed 1107 --nodes 7 --duration 10s --workload register --read-mode lease "              \
    "--lease-drift 300000 --skew 300000 --snapshot-every 100 --no-pre-vote --faults "              \
    "partition-halves:100ms,bridge:100ms,crash-unsynced:3s,dup:100ms,isolate-leader-skew:1s "      \
    "--batch 1 --inflight 8 --keys 10 --cas 40 --torn 0 --clients 3 --loss 0.5 --dup 0.05 "        \
    "--drift 300000 --delay-spike 10ms --clock-offset 50ms --liveness 20s --pipeline 8"

TEST(pipelined_sim_history_across_keys_is_decided)
{
    system("rm -rf " DIR);
    /* the limit is far above what the check takes now (well under a second) and far below
     * what it took before (undecided after minutes) */
    CHECK_EQ(fl_test_faultline_run(WORLD_1107 " --check-timeout 20s --out " DIR, OUT), 0);
    CHECK(fl_test_file_has(DIR "/results.json", "\"linearizability\": \"linearizable\""));
    CHECK_EQ(fl_test_faultline_run("check " DIR "/history.jsonl --pipelined --timeout 20s", OUT),
             0);
    CHECK(fl_test_file_has(OUT, "interleave into one that keeps real time and program order"));
    system("rm -rf " DIR);
}

/* A world of CI's pipelining campaign (seed 50: 8 deep, the full mix; ~57,000 ops, decided in
 * about 0.5 s): with a 1 ms limit the check cannot end before the limit, whatever the history
 * looks like after later changes to the simulator (swarm seed 1102, first used here, became
 * decidable in 0.3 s once crash-unsynced also crashed in storage windows). */
#define WORLD_PIPELINED                                                                            \
    "sim --seed 50 --fixed --pipeline 8 --nemesis mix --duration 10s --nemesis-interval 1s"

TEST(sim_undecided_check_says_it_hit_the_time_limit)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run(WORLD_PIPELINED " --check-timeout 1ms --out " DIR, OUT), 0);
    CHECK(fl_test_file_has(OUT, "linearizability: unknown ("));
    CHECK(fl_test_file_has(OUT, "s, time limit)"));
    CHECK(fl_test_file_has(DIR "/results.json", "\"check_unknown\": \"time limit\""));
    system("rm -rf " DIR);
}
