/* test_paxos_sim.c: Multi-Paxos in the simulator's kv runs, end to end through `faultline
 * sim --protocol paxos`: a clean run and its results, a campaign under the whole nemesis mix,
 * the duel without back-off, what Paxos does not have refused with the reason, and the
 * comparison with Raft. */
#include "test.h"

#include "cli.h"

#include <stdlib.h>

#define OUT FL_TEST_TMP "/fl_test_paxos_sim.out"
#define DIR FL_TEST_TMP "/fl_test_paxos_sim.dir"

TEST(paxos_sim_clean_run_writes_results)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --nodes 3 --seed 7 --duration 3s "
                                   "--nemesis mix --nemesis-interval 500ms --out " DIR,
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "run      seed 7, paxos, 3 nodes"));
    CHECK(fl_test_file_has(OUT, "verdict  no violation found"));
    CHECK(fl_test_file_has(DIR "/results.json", "\"protocol\": \"paxos\""));
    CHECK(fl_test_file_has(DIR "/results.json", "\"linearizability\": \"linearizable\""));
    CHECK_EQ(fl_test_faultline_run("check " DIR "/history.jsonl --model cas-register", OUT), 0);
}

/* The CI runs 1,000 seeds of this; a few dozen here (about 5 s). */
TEST(paxos_sim_campaign_under_mix_is_clean)
{
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --seeds 1..24 --duration 10s --nemesis "
                                   "mix --nemesis-interval 1s --jobs 2",
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "campaign: 24 runs, 0 with a violation"));
}

/* Without back-off two proposers that time out together preempt each other forever: no
 * leader, no write, thousands of ballots; the same seed with back-off elects one leader. */
TEST(paxos_sim_no_backoff_livelocks)
{
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --no-backoff --seed 1 --duration 3s", OUT),
             1);
    CHECK(fl_test_file_has(OUT, "0 times a node became leader"));
    CHECK(fl_test_file_has(OUT, "verdict  liveness: no write succeeded"));
    CHECK(fl_test_file_has(OUT, "--no-backoff"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --seed 1 --duration 3s", OUT), 0);
    CHECK(fl_test_file_has(OUT, "leaders  1 ballots, 1 times a node became leader"));
}

TEST(paxos_sim_refuses_what_paxos_does_not_have)
{
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --nemesis churn", OUT), 64);
    CHECK(fl_test_file_has(OUT, "membership changes are Raft's"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --nemesis transfer", OUT), 64);
    CHECK(fl_test_file_has(OUT, "leadership transfer is Raft's"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --read-at any", OUT), 64);
    CHECK(fl_test_file_has(OUT, "reads at followers are Raft's"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --no-pre-vote", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --chaos", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --protocol paxos --q1 2 --q2 2", OUT), 64);
    CHECK(fl_test_file_has(OUT, "--unsafe-quorums"));
    CHECK_EQ(fl_test_faultline_run("sim --q1 3", OUT), 64); /* Raft has no q1 */
    CHECK(fl_test_file_has(OUT, "Paxos options"));
    /* a Paxos mutant without --protocol runs Paxos (test_swarm.c); with Raft named, refused */
    CHECK_EQ(fl_test_faultline_run("sim --protocol raft --mutant skip-gap-fill", OUT), 64);
    CHECK(fl_test_file_has(OUT, "planted in --protocol paxos"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol zab", OUT), 64);
}

TEST(paxos_sim_compare_runs_both_on_the_same_seeds)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --compare raft,paxos --seeds 1..2 --nodes 3 --duration "
                                   "3s --nemesis crash-leader --nemesis-interval 1s --jobs 2 "
                                   "--out " DIR,
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "crash-leader      raft"));
    CHECK(fl_test_file_has(OUT, "crash-leader      paxos"));
    CHECK(fl_test_file_has(DIR "/compare.json", "\"protocol\": \"paxos\""));
    CHECK(fl_test_file_has(DIR "/compare.json", "\"crash_recovery_ms\""));
    CHECK_EQ(fl_test_faultline_run("sim --compare raft,raft", OUT), 64);
}
