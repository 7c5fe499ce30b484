/* test_cmd_sim.c: `faultline sim`, `merge` and `demo` end to end: exit statuses (0 clean, 1
 * violation with the command that reproduces it, 2 usage), the files --out writes, a
 * sharded campaign merged back, and the demo's verdict. */
#include "test.h"

#include "cli.h"

#include <stdlib.h>

#define OUT "/tmp/fl_test_cmd_sim.out"
#define DIR "/tmp/fl_test_cmd_sim.dir"

TEST(sim_clean_run_writes_results_and_history)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --nodes 3 --seed 7 --duration 3s --nemesis mix "
                                   "--nemesis-interval 500ms --out " DIR,
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "verdict  no violation found"));
    CHECK(fl_test_file_has(DIR "/results.json", "\"linearizability\": \"linearizable\""));
    CHECK(fl_test_file_has(DIR "/results.json", "\"observables\""));
    CHECK(fl_test_file_has(DIR "/results.json", "\"seed\": 7"));
    CHECK(fl_test_file_has(DIR "/history.jsonl", "\"type\":\"invoke\""));
    /* the history it wrote is one `faultline check` accepts, with the same verdict */
    CHECK_EQ(fl_test_faultline_run("check " DIR "/history.jsonl --model cas-register", OUT), 0);
}

TEST(sim_violation_exits_1_and_prints_the_reproducing_command)
{
    CHECK_EQ(fl_test_faultline_run("sim --seed 2 --nemesis pause --nemesis-interval 1s "
                                   "--duration 8s --mutant no-step-down",
                                   OUT),
             1);
    CHECK(fl_test_file_has(OUT, "reproduce: faultline sim --seed 2"));
    CHECK(fl_test_file_has(OUT, "--mutant no-step-down"));
}

TEST(sim_bad_usage_exits_2_with_the_reason)
{
    CHECK_EQ(fl_test_faultline_run("sim --nodes 0", OUT), 2);
    CHECK(fl_test_file_has(OUT, "--nodes"));
    CHECK_EQ(fl_test_faultline_run("sim --duration 10parsecs", OUT), 2);
    CHECK(fl_test_file_has(OUT, "not a duration"));
    CHECK_EQ(fl_test_faultline_run("sim --nemesis gremlins", OUT), 2);
    CHECK_EQ(fl_test_faultline_run("sim --loss 1.5", OUT), 2);
    CHECK_EQ(fl_test_faultline_run("sim --seeds 9..3", OUT), 2);
    CHECK_EQ(fl_test_faultline_run("sim --shard 1/2", OUT), 2); /* needs --seeds */
    CHECK_EQ(fl_test_faultline_run("sim --frobnicate", OUT), 2);
    CHECK_EQ(fl_test_faultline_run("sim --help", OUT), 0);
    CHECK(fl_test_file_has(OUT, "isolate-leader"));
}

TEST(sim_campaign_shards_merge_to_the_whole)
{
    system("rm -rf " DIR);
    const char *common = "sim --seeds 1..12 --nodes 3 --duration 2s --nemesis mix "
                         "--nemesis-interval 500ms --jobs 2 --out " DIR;
    char args[512];
    for (int k = 1; k <= 2; k++) {
        snprintf(args, sizeof(args), "%s --shard %d/2", common, k);
        CHECK_EQ(fl_test_faultline_run(args, OUT), 0);
        CHECK(fl_test_file_has(OUT, "campaign: 6 runs, 0 with a violation"));
    }
    CHECK_EQ(fl_test_faultline_run(
                 "merge " DIR "/campaign-1-of-2.jsonl " DIR "/campaign-2-of-2.jsonl", OUT),
             0);
    CHECK(fl_test_file_has(OUT, "campaign: 12 runs, 0 with a violation"));
    CHECK_EQ(fl_test_faultline_run("merge " DIR "/results-that-do-not-exist.jsonl", OUT), 2);
}

TEST(demo_runs_and_finds_no_violation)
{
    CHECK_EQ(fl_test_faultline_run("demo", OUT), 0);
    CHECK(fl_test_file_has(OUT, "No violation found."));
    CHECK(fl_test_file_has(OUT, "linearizable"));
}
