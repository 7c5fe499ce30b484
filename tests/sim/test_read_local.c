/* test_read_local.c: local reads in the simulator (--read-mode local: a node answers from its
 * own applied state, no quorum round, no lease) and the consistency models the checker tells
 * apart on the histories they give:
 *
 *   clients pinned to a node of their own, as sessions (--read-at sticky): sequentially
 *     consistent (each client sees the log in order, its own writes included), not
 *     linearizable (a node behind answers stale values);
 *   clients hopping between nodes (--read-at any): not even sequentially consistent (a client
 *     reads a newer value at one node, then an older one at another);
 *   ReadIndex reads by sticky clients stay linearizable.
 *
 * Each run is checked for both models; the test fails if the checker cannot tell them apart. */
#include "test.h"

#include "faultline/lincheck.h"
#include "faultline/run.h"

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
    int rc = fl_lincheck_run(&r->history, &o, &lr, &err);
    fl_verdict v = rc == 0 ? lr.verdict : FL_LIN_UNKNOWN;
    fl_lincheck_result_free(&lr);
    return v;
}

static void run_reads(fl_run_read_mode mode, fl_run_read_at at, uint64_t seed, fl_verdict lin,
                      fl_verdict seq)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.read_mode = mode;
    c.read_at = at;
    c.nemesis = FL_NEMESIS_PARTITION_RANDOM;
    c.nemesis_interval_ns = FL_NS_PER_S;
    c.duration_ns = 5 * FL_NS_PER_S;
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), 0);
    CHECK(!r.violation); /* Raft itself is safe: only the reads are weaker */
    CHECK(r.ops_ok > 1000);
    CHECK(r.follower_reads > 100);
    fl_verdict got_lin = check(&r, FL_CONS_LINEARIZABLE), got_seq = check(&r, FL_CONS_SEQUENTIAL);
    if (got_lin != lin || got_seq != seq)
        fprintf(stderr, "  %s/%s seed %llu: linearizable %d, sequential %d\n",
                fl_run_read_mode_name(mode), fl_run_read_at_name(at), (unsigned long long)seed,
                got_lin, got_seq);
    CHECK_EQ(got_lin, lin);
    CHECK_EQ(got_seq, seq);
    fl_run_result_free(&r);
}

TEST(read_local_sticky_is_sequential_not_linearizable)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_reads(FL_RUN_READ_LOCAL, FL_RUN_READ_AT_STICKY, seed, FL_LIN_VIOLATION, FL_LIN_OK);
}

TEST(read_local_hopping_is_not_even_sequential)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_reads(FL_RUN_READ_LOCAL, FL_RUN_READ_AT_ANY, seed, FL_LIN_VIOLATION, FL_LIN_VIOLATION);
}

TEST(read_index_sticky_stays_linearizable)
{
    run_reads(FL_RUN_READ_INDEX, FL_RUN_READ_AT_STICKY, 1, FL_LIN_OK, FL_LIN_OK);
}

TEST(read_at_refuses_log_reads_elsewhere)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.read_mode = FL_RUN_READ_LOG;
    c.read_at = FL_RUN_READ_AT_STICKY;
    char why[200];
    CHECK(fl_run_config_validate(&c, why, sizeof(why)) != 0);
    CHECK(strstr(why, "--read-at sticky needs") != NULL);
    fl_run_read_mode m;
    fl_run_read_at w;
    CHECK(fl_run_read_mode_parse("local", &m) && m == FL_RUN_READ_LOCAL);
    CHECK(fl_run_read_at_parse("sticky", &w) && w == FL_RUN_READ_AT_STICKY);
    CHECK(!fl_run_read_mode_parse("fast", &m));
}
