/* test_shrink.c: scenario files end to end and `faultline shrink`. A run's DIR/scenario.yaml
 * runs again with the same history; three planted bugs (mutants) shrink to a smaller scenario
 * that still fails the same way when run on its own; the shrinker is deterministic for a
 * budget of runs; `faultline mutants --shrink` shows before and after. Skipped without
 * libyaml (scenario files cannot be read then). */
#include "test.h"

#include "cli.h"
#include "faultline/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIR FL_TEST_TMP "/fl_test_shrink"
#define OUT DIR "/out.txt"

static void fresh(void)
{
    CHECK_EQ(system("rm -rf " DIR " && mkdir -p " DIR), 0);
}

/* Whether two files hold the same bytes (after skipping the first skip lines of each). */
static bool same_file(const char *a, const char *b, int skip)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cmp -s <(tail -n +%d %s) <(tail -n +%d %s)", skip + 1, a, skip + 1,
             b);
    char sh[600];
    snprintf(sh, sizeof(sh), "bash -c '%s'", cmd);
    return system(sh) == 0;
}

/* Run, write, rerun: the history of the scenario a run wrote is the run's, byte for byte,
 * and so is the scenario the rerun writes (but for its comment on what made the faults). */
TEST(scenario_yaml_reruns_the_same_history)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    static const char *const runs[] = {
        "--seed 7 --duration 5s --workload kv --nemesis mix --nemesis-interval 1s",
        "--seed 3 --duration 4s --nodes 3 --faults crash-one:700ms,loss:1s,clock-offset:900ms",
        "--seed 9 --duration 3s --nemesis partition-random --nemesis-interval 500ms --rate 300",
        /* churn in a schedule starts the cluster with spares outside, as the generator does
         * (it did not: an unseeded stream, a rerun that did not end) */
        "--seed 4 --duration 3s --nemesis churn --nemesis-interval 500ms",
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char args[512];
        snprintf(args, sizeof(args), "sim %s --out " DIR "/a", runs[i]);
        CHECK_EQ(fl_test_faultline_run(args, OUT), 0);
        CHECK(fl_test_file_has(DIR "/a/scenario.yaml", "  schedule:\n    - {start: "));
        CHECK_EQ(
            fl_test_faultline_run("sim --scenario " DIR "/a/scenario.yaml --out " DIR "/b", OUT),
            0);
        CHECK(same_file(DIR "/a/history.jsonl", DIR "/b/history.jsonl", 0));
        CHECK(same_file(DIR "/a/scenario.yaml", DIR "/b/scenario.yaml", 3));
    }
    /* an option beside the file changes it: not the same history */
    CHECK_EQ(fl_test_faultline_run(
                 "sim --scenario " DIR "/a/scenario.yaml --seed 10 --out " DIR "/c", OUT),
             0);
    CHECK(!same_file(DIR "/a/history.jsonl", DIR "/c/history.jsonl", 0));
}

TEST(scenario_bad_file_is_refused_by_sim_with_its_place)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    FILE *f = fopen(DIR "/bad.yaml", "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("version: 1\nworkload:\n  clients: 4\n  colour: blue\n", f);
    fclose(f);
    CHECK_EQ(fl_test_faultline_run("sim --scenario " DIR "/bad.yaml", OUT),
             65); /* bad input data */
    CHECK(fl_test_file_has(OUT, DIR "/bad.yaml:4:3: workload: unknown key 'colour'"));
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/bad.yaml", OUT), 65);
    CHECK(fl_test_file_has(OUT, "bad.yaml:4:3:"));
}

/* What scenario files did not describe before (Paxos's quorums and back-off, pipelined
 * connections, the redis workload, the kv side's mutants, slow disks, the flp and
 * partition-sides adversaries): written, named in the output, and rerun to the same history
 * and exit status. */
TEST(scenario_yaml_describes_quorums_pipelines_redis_and_adversaries)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const struct {
        const char *args, *says;
    } runs[] = {
        {"--protocol paxos --nodes 5 --q1 4 --q2 2 --no-backoff --duration 2s", "  q1: 4\n  q2: 2"},
        {"--protocol paxos --nodes 3 --q1 1 --q2 1 --unsafe-quorums --nemesis partition-halves "
         "--nemesis-interval 300ms --duration 2s",
         "  unsafe_quorums: true\n  backoff: true"},
        {"--pipeline 4 --duration 1s --workload kv --mutant read-ahead", "  pipeline: 4\n  rate: "},
        {"--workload redis --duration 1s --slow-disks", "  kind: redis\n"},
        {"--nemesis flp --gst 1s --duration 2s --nodes 3", "  generate: flp\n"},
        {"--nemesis partition-sides --duration 2s --nemesis-interval 500ms",
         "  generate: partition-sides\n"},
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        fresh();
        char args[512];
        snprintf(args, sizeof(args), "sim %s --out " DIR "/a", runs[i].args);
        int rc = fl_test_faultline_run(args, OUT);
        CHECK(rc == 0 || rc == 1);
        CHECK(fl_test_file_has(OUT, "timeline.jsonl, scenario.yaml; report"));
        CHECK(fl_test_file_has(DIR "/a/scenario.yaml", runs[i].says));
        CHECK_EQ(
            fl_test_faultline_run("sim --scenario " DIR "/a/scenario.yaml --out " DIR "/b", OUT),
            rc);
        bool same = same_file(DIR "/a/history.jsonl", DIR "/b/history.jsonl", 0);
        if (!same)
            fprintf(stderr, "  %s: another history from its scenario.yaml\n", runs[i].args);
        CHECK(same);
        CHECK(same_file(DIR "/a/scenario.yaml", DIR "/b/scenario.yaml", 3));
    }
    CHECK(fl_test_file_has(DIR "/a/scenario.yaml", "  slow: false\n"));
    CHECK(fl_test_file_has(DIR "/a/scenario.yaml", "  mutants: []\n"));
}

/* A run longer than the budget is stopped at the budget's end, not run to its own end (every
 * candidate run gets what is left of the budget; this one, the scenario as given, all of it):
 * 600 simulated seconds take about 15 s here, the budget is 1 s. */
TEST(shrink_stops_a_run_at_the_end_of_its_budget)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    FILE *f = fopen(DIR "/long.yaml", "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("seed: 3\nduration: 600s\nfaults: {generate: mix, interval: 1s}\n", f);
    fclose(f);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/long.yaml --budget 1s", OUT), 2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  shrink with a budget of 1 s took %.2f s\n", wall);
    CHECK(wall < 5); /* the run itself takes about 15 s */
    CHECK(fl_test_file_has(OUT, "stopped at the budget's end"));
    CHECK(fl_test_file_has(OUT, "did not finish within the budget"));
}

/* "minimal    faults A -> B, operations C -> D": the numbers. */
static bool sizes(const char *path, unsigned *f0, unsigned *f1, unsigned long long *o0,
                  unsigned long long *o1)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    bool ok = false;
    while (f && !ok && fgets(line, sizeof(line), f))
        ok = sscanf(line, "minimal faults %u -> %u, operations %llu -> %llu", f0, f1, o0, o1) == 4;
    if (f)
        fclose(f);
    return ok;
}

/* A failing mutant run shrinks to a scenario no larger, which fails the same way on its own
 * (the verdict's words up to the first detail). */
static void shrink_one(const char *name, const char *sim_args, const char *budget, const char *kind)
{
    char args[1024], dir[256];
    snprintf(dir, sizeof(dir), DIR "/%s", name);
    snprintf(args, sizeof(args), "sim %s --out %s", sim_args, dir);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 1);
    CHECK(fl_test_file_has(OUT, kind));
    snprintf(args, sizeof(args), "shrink %s --budget %s", dir, budget);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 1);
    unsigned f0 = 0, f1 = 0;
    unsigned long long o0 = 0, o1 = 0;
    CHECK(sizes(OUT, &f0, &f1, &o0, &o1));
    fprintf(stderr, "  %s: faults %u -> %u, operations %llu -> %llu\n", name, f0, f1, o0, o1);
    CHECK(f1 <= f0 && f1 <= 3);
    CHECK(o1 < o0);
    snprintf(args, sizeof(args), "sim --scenario %s/minimal.yaml", dir);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 1);
    CHECK(fl_test_file_has(OUT, kind));
    char trace[300];
    snprintf(trace, sizeof(trace), "%s/minimal-trace.txt", dir);
    CHECK(fl_test_file_has(trace, "The last events before it"));
}

TEST(shrink_three_mutants_to_smaller_runs_that_fail_the_same_way)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    shrink_one("no-step-down",
               "--seed 5 --nemesis pause --nemesis-interval 1s --duration 8s --mutant no-step-down",
               "25runs", "verdict  safety: election safety:");
    shrink_one("truncate-matching",
               "--seed 1 --duration 10s --nemesis dup --nemesis-interval 1s --dup 0.3 --mutant "
               "truncate-matching",
               "25runs", "verdict  safety: state machine safety:");
    shrink_one("read-no-confirm",
               "--seed 1 --duration 8s --nemesis isolate-leader --no-check-quorum "
               "--nemesis-interval 1s --mutant read-no-confirm",
               "25runs", "verdict  not linearizable:");
}

/* The same scenario and budget of runs: the same steps, the same minimal scenario. */
TEST(shrink_is_deterministic)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    CHECK_EQ(fl_test_faultline_run("sim --seed 5 --nemesis pause --nemesis-interval 1s "
                                   "--duration 8s --mutant no-step-down --out " DIR "/r",
                                   OUT),
             1);
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/r --budget 12runs --quiet --out " DIR "/1",
                                   DIR "/1.txt"),
             1);
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/r --budget 12runs --quiet --out " DIR "/2",
                                   DIR "/2.txt"),
             1);
    /* all but the comments (which name the output directory) and the wall time */
    CHECK_EQ(system("bash -c 'cmp -s <(grep -v ^# " DIR "/1/minimal.yaml) <(grep -v ^# " DIR
                    "/2/minimal.yaml)'"),
             0);
    CHECK_EQ(system("bash -c 'cmp -s <(grep -v \"^Run it\\|^Found in\" " DIR
                    "/1/minimal-trace.txt) <(grep -v \"^Run it\\|^Found in\" " DIR
                    "/2/minimal-trace.txt)'"),
             0);
    CHECK(fl_test_file_has(DIR "/1.txt", "in 12 runs"));
    CHECK(fl_test_file_has(DIR "/2.txt", "in 12 runs"));
}

TEST(shrink_of_a_passing_run_says_there_is_nothing_to_shrink)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    CHECK_EQ(fl_test_faultline_run("sim --seed 2 --duration 2s --out " DIR "/ok", OUT), 0);
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/ok --budget 5runs", OUT), 0);
    CHECK(fl_test_file_has(OUT, "nothing to shrink"));
    CHECK_EQ(fl_test_faultline_run("shrink " DIR "/ok --budget 0runs", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("shrink", OUT), 64);
}

TEST(mutants_shrink_shows_before_and_after)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fresh();
    CHECK_EQ(fl_test_faultline_run("mutants --mutant truncate-matching --no-control --jobs 1 "
                                   "--shrink --shrink-budget 20s --shrink-out " DIR "/m",
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "shrunk (each mutant's first failing kv run"));
    CHECK(fl_test_file_has(OUT, "truncate-matching          tuned"));
    CHECK(fl_test_file_has(DIR "/m/truncate-matching/minimal.yaml", "version: 1"));
}
