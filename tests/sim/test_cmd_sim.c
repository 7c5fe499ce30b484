/* test_cmd_sim.c: `faultline sim`, `merge` and `demo` end to end: exit statuses (0 clean, 1
 * violation with the command that reproduces it, 64 usage, 73 an output that cannot be
 * written, found before the run), the files --out writes, a sharded campaign merged back
 * (and merge's refusals), and the demo's verdict. */
#include "test.h"

#include "cli.h"

#include <stdlib.h>

#define OUT FL_TEST_TMP "/fl_test_cmd_sim.out"
#define DIR FL_TEST_TMP "/fl_test_cmd_sim.dir"

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

TEST(sim_bad_usage_exits_64_with_the_reason)
{
    CHECK_EQ(fl_test_faultline_run("sim --nodes 0", OUT), 64);
    CHECK(fl_test_file_has(OUT, "bad value '0' for --nodes: out of range 1..16"));
    CHECK_EQ(fl_test_faultline_run("sim --duration 10parsecs", OUT), 64);
    CHECK(fl_test_file_has(OUT, "bad value '10parsecs' for --duration: expected a duration"));
    CHECK_EQ(fl_test_faultline_run("sim --nemesis gremlins", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --loss 1.5", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --seeds 9..3", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --shard 1/2", OUT), 64); /* needs --seeds */
    CHECK_EQ(fl_test_faultline_run("sim --frobnicate", OUT), 64);
    CHECK(fl_test_file_has(OUT, "unknown option '--frobnicate'"));
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
    CHECK_EQ(fl_test_faultline_run("merge " DIR "/results-that-do-not-exist.jsonl", OUT), 66);
    CHECK(fl_test_file_has(OUT, "results-that-do-not-exist.jsonl: cannot read: No such file"));
}

/* --budget: no seed starts once the wall time is spent, and the seeds run are the first ones,
 * each once: the printed range matches the records written. A million chaos seeds take
 * minutes; a one-second budget stops them far short. */
TEST(sim_campaign_budget_runs_the_first_seeds_and_says_so)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --chaos --seeds 1..1000000 --budget 1s --jobs 2 --out " DIR,
                                   OUT),
             0);
    FILE *f = fopen(OUT, "r");
    CHECK(f != NULL);
    char line[512];
    unsigned long long ran = 0, total = 0, first = 0, last = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "budget of 1 s spent: %llu of the %llu seeds ran (%llu..%llu)", &ran,
                   &total, &first, &last) == 4)
            break;
    if (f)
        fclose(f);
    CHECK(ran > 0 && ran < total);
    CHECK_EQ(total, 1000000);
    CHECK_EQ(first, 1);
    CHECK_EQ(last, ran);
    char want[64];
    snprintf(want, sizeof(want), "campaign: %llu runs,", ran);
    CHECK(fl_test_file_has(OUT, want));
    /* every record is one of seeds 1..last, and there are as many as runs */
    f = fopen(DIR "/campaign.jsonl", "r");
    CHECK(f != NULL);
    unsigned long long records = 0, beyond = 0, seed;
    static char rec[1 << 16];
    while (f && fgets(rec, sizeof(rec), f)) {
        records++;
        if (sscanf(rec, "{\"seed\":%llu", &seed) != 1 || seed < 1 || seed > last)
            beyond++;
    }
    if (f)
        fclose(f);
    CHECK_EQ(records, ran);
    CHECK_EQ(beyond, 0);
    /* a budget is a campaign's */
    CHECK_EQ(fl_test_faultline_run("sim --seed 3 --budget 1s", OUT), 64);
    CHECK(fl_test_file_has(OUT, "--budget goes with --seeds A..B"));
}

/* A directory that cannot be written is found before the run, not after it (exit 73 and the
 * path with the system's reason, no verdict printed); so is a campaign's. */
TEST(sim_and_demo_unwritable_out_refused_before_the_run)
{
    system("rm -rf " DIR " && mkdir -p " DIR " && touch " DIR "/file");
    CHECK_EQ(fl_test_faultline_run("sim --duration 60s --out " DIR "/file", OUT), 73);
    CHECK(fl_test_file_has(OUT, "--out " DIR "/file: cannot write there: Not a directory"));
    CHECK(!fl_test_file_has(OUT, "verdict"));
    CHECK_EQ(fl_test_faultline_run("demo --out " DIR "/file/sub", OUT), 73);
    CHECK(fl_test_file_has(OUT, DIR "/file/sub: cannot create the directory: Not a directory"));
    CHECK(!fl_test_file_has(OUT, "Verdict"));
    CHECK_EQ(fl_test_faultline_run("sim --seeds 1..100 --out " DIR "/file/c", OUT), 73);
    CHECK(!fl_test_file_has(OUT, "campaign:"));
    CHECK_EQ(fl_test_faultline_run("sim --protocol swim --duration 60s --out " DIR "/file", OUT),
             73);
    /* a missing parent is made, as mkdir -p does */
    CHECK_EQ(fl_test_faultline_run("sim --duration 1s --no-check --out " DIR "/a/b/c", OUT), 0);
    CHECK(fl_test_file_has(DIR "/a/b/c/results.json", "\"seed\""));
}

/* merge quotes a few escaped bytes of a line that is not a record, never raw binary, and says
 * when there is nothing to merge. */
TEST(merge_garbage_and_empty_inputs)
{
    system("rm -rf " DIR " && mkdir -p " DIR);
    FILE *f = fopen(DIR "/garbage.jsonl", "wb");
    CHECK(f != NULL);
    static const unsigned char junk[] = {
        0x1b, '[', '3', '1', 'm', 0x00, 0xff, 0xfe, 0x07, 'a', 'b', 'c', 'd', 'e', 'f', 'g',
        'h',  'i', 'j', 'k', 'l', 'm',  'n',  'o',  'p',  'q', 'r', 's', 't', 'u', 'v', 'w',
        'x',  'y', 'z', '0', '1', '2',  '3',  '4',  '5',  '6', '7', '8', '9', '\n'};
    fwrite(junk, 1, sizeof(junk), f);
    fclose(f);
    CHECK_EQ(fl_test_faultline_run("merge " DIR "/garbage.jsonl", OUT), 65);
    CHECK(fl_test_file_has(OUT, "garbage.jsonl:1: not a campaign record: '\\x1b[31m\\x00\\xff"));
    CHECK(fl_test_file_has(OUT, "z01234'...")); /* 40 bytes shown, then cut */
    f = fopen(OUT, "rb");
    CHECK(f != NULL);
    int c, raw = 0;
    while ((c = fgetc(f)) != EOF)
        raw += c != '\n' && (c < 0x20 || c >= 0x7f);
    fclose(f);
    CHECK_EQ(raw, 0); /* nothing a terminal would act on */
    system(": > " DIR "/empty.jsonl");
    CHECK_EQ(fl_test_faultline_run("merge " DIR "/empty.jsonl", OUT), 65);
    CHECK(fl_test_file_has(OUT, "empty.jsonl: empty, no campaign records"));
    CHECK(fl_test_file_has(OUT, "no campaign records in the 1 file given"));
    CHECK_EQ(fl_test_faultline_run("merge", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("merge --frobnicate", OUT), 64);
}

TEST(demo_runs_and_finds_no_violation)
{
    CHECK_EQ(fl_test_faultline_run("demo", OUT), 0);
    CHECK(fl_test_file_has(OUT, "No violation found."));
    CHECK(fl_test_file_has(OUT, "linearizable"));
}

/* A seed whose process dies (an assertion inside the run) is a finding like any other: a
 * violation with its seed and the command that reproduces it, and the campaign runs every
 * other seed; the summary counts them all. FAULTLINE_CRASH_SEED makes seed 3's process fail
 * an assertion (campaign_exec.c). */
TEST(sim_campaign_records_a_crashed_seed_and_goes_on)
{
    system("rm -rf " DIR);
    setenv("FAULTLINE_CRASH_SEED", "3", 1);
    int rc = fl_test_faultline_run("sim --seeds 1..6 --duration 1s --jobs 2 --out " DIR, OUT);
    unsetenv("FAULTLINE_CRASH_SEED");
    CHECK_EQ(rc, 1);
    CHECK(fl_test_file_has(OUT, "campaign: 6 runs, 1 with a violation (1 crashed)"));
    CHECK(fl_test_file_has(OUT, "seed 3: crash: "));
    CHECK(fl_test_file_has(OUT, "assertion failed"));
    CHECK(fl_test_file_has(OUT, "reproduce  faultline sim --swarm --seed 3 --duration 1s"));
    CHECK(fl_test_file_has(DIR "/campaign.jsonl", "\"seed\":6,"));
    CHECK(fl_test_file_has(DIR "/campaign.jsonl", "\"crashed\":true"));
    /* the same in a merge of the records */
    CHECK_EQ(fl_test_faultline_run("merge " DIR "/campaign.jsonl", OUT), 1);
    CHECK(fl_test_file_has(OUT, "campaign: 6 runs, 1 with a violation (1 crashed)"));
}

/* Safety violations stop a run before its heal: they are counted as what they are, not as
 * "not live" too. */
TEST(sim_campaign_counts_each_violation_once_by_its_kind)
{
    CHECK_EQ(fl_test_faultline_run("sim --seeds 5..7 --fixed --nemesis pause --nemesis-interval "
                                   "1s --duration 8s --mutant no-step-down",
                                   OUT),
             1);
    CHECK(fl_test_file_has(OUT, "3 with a violation (3 safety)"));
    CHECK(!fl_test_file_has(OUT, "not live"));
}

/* Percentiles come from the project's histogram: min <= p50 <= p90 <= max on every line,
 * with two seeds too (a campaign of two printed p50 8.1 and p90 7.0 before). */
TEST(sim_campaign_percentiles_are_monotone)
{
    CHECK_EQ(fl_test_faultline_run("sim --seeds 1..2 --fixed --nodes 3 --duration 2s --nemesis "
                                   "mix --nemesis-interval 500ms",
                                   OUT),
             0);
    FILE *f = fopen(OUT, "r");
    CHECK(f != NULL);
    char line[512];
    int lines = 0;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, " min ");
        double mn, p50, p90, mx;
        if (!p || sscanf(p, " min %lf p50 %lf p90 %lf max %lf", &mn, &p50, &p90, &mx) != 4)
            continue;
        lines++;
        CHECK(mn <= p50 && p50 <= p90 && p90 <= mx);
    }
    if (f)
        fclose(f);
    CHECK_EQ(lines, 4);
}

/* A failing run prints its whole trace tail: 64 events, numbered without repeats (what
 * happens between two events is N.1, N.2), then every node's state; and it says the run
 * stopped before the heal rather than "healed at 0.0 s". */
TEST(sim_failing_run_prints_the_whole_tail_and_what_happened_to_the_heal)
{
    CHECK_EQ(fl_test_faultline_run("sim --seed 5 --nemesis pause --nemesis-interval 1s "
                                   "--duration 8s --mutant no-step-down",
                                   OUT),
             1);
    CHECK(fl_test_file_has(OUT, "the run stopped at "));
    CHECK(fl_test_file_has(OUT, " s on the violation, before the heal"));
    CHECK(!fl_test_file_has(OUT, "healed at"));
    CHECK(fl_test_file_has(OUT, "last 64 of "));
    CHECK(fl_test_file_has(OUT, "nodes now:\n"));
    for (int id = 1; id <= 5; id++) {
        char want[32];
        snprintf(want, sizeof(want), "  node %d  up ", id);
        CHECK(fl_test_file_has(OUT, want));
    }
    FILE *f = fopen(OUT, "r");
    CHECK(f != NULL);
    char line[512], prev[64] = "", num[64];
    int events = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "  #%63s", num) != 1)
            continue;
        events++;
        CHECK(strcmp(num, prev) != 0);
        snprintf(prev, sizeof(prev), "%s", num);
    }
    if (f)
        fclose(f);
    CHECK_EQ(events, 64);
}

/* The first seed a campaign's output names with a disruption; 0 if none. */
static uint64_t first_disrupted_seed(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    unsigned long long seed = 0, s;
    while (f && !seed && fgets(line, sizeof(line), f))
        if (sscanf(line, "seed %llu: disruption", &s) == 1)
            seed = s;
    if (f)
        fclose(f);
    return seed;
}

/* Stability after the heal: a leader established after the heal is deposed only when a
 * majority of its voters stopped hearing it. A removed node that never heard of its removal
 * deposes leader after leader once leaders ignore their lease (the mutant): a disruption.
 * Seed 6815 of the swarm (one of 10,000) is the other side: a clock that jumped back a second
 * before the heal held back the leader's heartbeats, its followers stopped hearing it and
 * elected another 1 s after the heal, which is right.
 *
 * Which seeds show it moves with everything a run sends or writes (seed 1 while one ReadIndex
 * round at a time was in flight, 2 with every node snapshotting at the same index, 6 with the
 * server's phases, 1, 2, 8, 17 ... of 1..40 with rounds to a majority of followers: about 1 in
 * 5), so a campaign of 40 seeds finds one (a chance of about 1 in 10,000 to miss at that
 * rate) and that seed alone, mutant and all, is the story; unmutated it is clean. */
TEST(sim_disruption_after_the_heal_is_a_violation_and_a_late_heartbeat_is_not)
{
    const char *world = "--nodes 5 --duration 10s --faults churn:300ms,crash-one:1s "
                        "--no-check-quorum --no-pre-vote";
    char args[512];
    snprintf(args, sizeof(args), "sim --fixed --seeds 1..40 %s --mutant leader-ignores-lease",
             world);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 1);
    uint64_t seed = first_disrupted_seed(OUT);
    CHECK(seed > 0);
    snprintf(args, sizeof(args), "sim --seed %llu %s --mutant leader-ignores-lease",
             (unsigned long long)seed, world);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 1);
    CHECK(fl_test_file_has(OUT, "verdict  disruption: node "));
    CHECK(fl_test_file_has(OUT, "while a majority of its voters still heard it"));
    snprintf(args, sizeof(args), "sim --seed %llu %s", (unsigned long long)seed, world);
    CHECK_EQ(fl_test_faultline_run(args, OUT), 0);
    CHECK_EQ(fl_test_faultline_run("sim --swarm --seed 6815 --no-check", OUT), 0);
}
