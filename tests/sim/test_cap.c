/* test_cap.c: CAP shown on Raft (nemesis partition-sides, `faultline sim --cap`): the leader
 * and a minority cut off for the middle third of the run, clients on both sides. Raft keeps C
 * and gives up A on the minority side: no write answered there, no read either by ReadIndex or
 * through the log, while the majority side keeps answering and every history stays
 * linearizable; local reads answer every read of the minority side and lose linearizability
 * (sequential consistency is left, with sticky sessions). The control: with the
 * read-no-confirm mutant (a ReadIndex read served without its quorum round) the old leader
 * answers reads on the minority side, which the availability check catches. */
#include "test.h"

#include "cli.h"
#include "faultline/lincheck.h"
#include "faultline/run.h"

#include <stdlib.h>

#define DURATION_NS (9 * FL_NS_PER_S)

typedef struct cap {
    fl_run_result r;
    fl_observe_group side[2]; /* minority, majority */
    fl_time_ns start_ns, end_ns;
} cap;

typedef struct side_arg {
    const fl_run_config *c;
    uint32_t minority;
} side_arg;

static uint32_t side_of(void *arg, int64_t process)
{
    const side_arg *s = arg;
    return (s->minority >> fl_run_home_node(s->c, process)) & 1 ? 0 : 1;
}

static void run_cap_seed(uint64_t seed, fl_run_read_mode mode, fl_run_read_at at, uint32_t mutants,
                         cap *out)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.duration_ns = DURATION_NS;
    c.nemesis = FL_NEMESIS_PARTITION_SIDES;
    c.nemesis_interval_ns = DURATION_NS / 3;
    c.op_deadline_ns = c.nemesis_interval_ns / 4; /* as --cap does */
    c.read_mode = mode;
    c.read_at = at;
    c.mutants = mutants;
    CHECK_EQ(fl_run(&c, &out->r), 0);
    CHECK_EQ(out->r.n_faults, 1); /* one long partition */
    CHECK_STR(out->r.faults[0].kind, "partition-sides");
    out->start_ns = out->r.faults[0].start_ns;
    out->end_ns = out->r.faults[0].end_ns;
    CHECK_EQ(__builtin_popcount(out->r.minority_side), 2); /* 2 of 5 */
    side_arg s = {&c, out->r.minority_side};
    CHECK_EQ(
        fl_observe_groups(&out->r.history, out->start_ns, out->end_ns, side_of, &s, out->side, 2),
        0);
    CHECK(out->side[0].writes > 0 && out->side[0].reads > 0); /* clients on both sides */
    CHECK(out->side[1].writes > 30 && out->side[1].reads > 30);
}

static void run_cap(fl_run_read_mode mode, fl_run_read_at at, uint32_t mutants, cap *out)
{
    run_cap_seed(1, mode, at, mutants, out);
}

static fl_verdict check(const fl_run_result *r, fl_consistency c)
{
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_CAS_REGISTER;
    o.consistency = c;
    o.timeout_ns = 60 * FL_NS_PER_S;
    o.memory_max_bytes = 1ull << 30;
    fl_lincheck_result lr;
    fl_history_error err;
    fl_verdict v = fl_lincheck_run(&r->history, &o, &lr, &err) == 0 ? lr.verdict : FL_LIN_UNKNOWN;
    fl_lincheck_result_free(&lr);
    return v;
}

/* The majority side stays available: most of its ops are answered during the partition. */
static void check_majority_available(const cap *k)
{
    const fl_observe_group *g = &k->side[1];
    CHECK(g->writes_answered * 10 >= g->writes * 8);
    CHECK(g->reads_answered * 10 >= g->reads * 8);
}

TEST(cap_raft_keeps_c_and_gives_up_a_on_the_minority)
{
    static const struct {
        fl_run_read_mode mode;
        fl_run_read_at at;
    } modes[] = {{FL_RUN_READ_INDEX, FL_RUN_READ_AT_STICKY},
                 {FL_RUN_READ_LOG, FL_RUN_READ_AT_LEADER},
                 {FL_RUN_READ_LEASE, FL_RUN_READ_AT_STICKY}};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        cap k;
        run_cap(modes[i].mode, modes[i].at, 0, &k);
        CHECK(!k.r.violation);
        CHECK_EQ(k.side[0].writes_answered, 0); /* A given up: no write on the minority */
        if (modes[i].mode != FL_RUN_READ_LEASE) /* leases: the old leader's, until it ends */
            CHECK_EQ(k.side[0].reads_answered, 0);
        check_majority_available(&k);
        CHECK_EQ(check(&k.r, FL_CONS_LINEARIZABLE), FL_LIN_OK); /* C kept */
        fl_run_result_free(&k.r);
    }
}

TEST(cap_local_reads_buy_availability_with_consistency)
{
    cap k;
    run_cap(FL_RUN_READ_LOCAL, FL_RUN_READ_AT_STICKY, 0, &k);
    CHECK(!k.r.violation);                               /* Raft itself stays safe */
    CHECK_EQ(k.side[0].reads_answered, k.side[0].reads); /* every minority read answered */
    CHECK_EQ(k.side[0].writes_answered, 0);              /* writes still need a quorum */
    check_majority_available(&k);
    CHECK_EQ(check(&k.r, FL_CONS_LINEARIZABLE), FL_LIN_VIOLATION); /* stale reads */
    CHECK_EQ(check(&k.r, FL_CONS_SEQUENTIAL), FL_LIN_OK);          /* sessions keep order */
    fl_run_result_free(&k.r);
}

/* The old leader answers unconfirmed reads only until it steps down (an election timeout
 * after the cut), a window a run's few minority reads may all miss: seeds 1..4, one must. */
TEST(cap_mutant_read_without_quorum_answers_on_the_minority)
{
    uint64_t answered = 0;
    for (uint64_t seed = 1; seed <= 4 && !answered; seed++) {
        cap k;
        run_cap_seed(seed, FL_RUN_READ_INDEX, FL_RUN_READ_AT_STICKY, FL_RAFT_MUTANT_READ_NO_CONFIRM,
                     &k);
        answered += k.side[0].reads_answered; /* the check of the first test would fail */
        fl_run_result_free(&k.r);
    }
    CHECK(answered > 0);
}

#define OUT FL_TEST_TMP "/fl_test_cap.out"
#define DIR FL_TEST_TMP "/fl_test_cap.dir"

TEST(cap_sim_command_prints_the_tables)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --cap --duration 9s --out " DIR, OUT), 0);
    CHECK(fl_test_file_has(OUT, "minority side (the one the leader was on)"));
    CHECK(fl_test_file_has(OUT, "majority side"));
    CHECK(fl_test_file_has(OUT, "  C: index, lease and log reads kept every history "
                                "linearizable"));
    CHECK(fl_test_file_has(OUT, "  A: the minority side answered 0 of its"));
    CHECK(fl_test_file_has(OUT, "  local (sticky)       NO            yes"));
    CHECK(fl_test_file_has(DIR "/cap.json", "\"read_mode\": \"local\""));
    CHECK(fl_test_file_has(DIR "/local/results.json", "\"kind\": \"partition-sides\""));
    CHECK(fl_test_file_has(DIR "/index/report.html", "partition-sides"));
    CHECK_EQ(fl_test_faultline_run("sim --cap --nemesis mix", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --cap --nodes 2", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --cap --nodes 3 --duration 6s", OUT), 0);
    CHECK(fl_test_file_has(OUT, "the leader alone cut off from the rest"));
    system("rm -rf " DIR " " OUT);
}
