/* test_kv_replicas.c: the redis workload (expiry by the leader's time, transactions, lists,
 * sets, hashes, sorted sets on keys of their own, beside the checked kv ops) under faults, and
 * the checks that judge what the linearizability checker cannot: replicas' kv digests agree
 * at equal indexes, invariants after every apply, snapshots that restore to the same state.
 * Each planted bug of the kv (kv.h) is caught by the check it breaks; without it, the same
 * seeds are clean. */
#include "test.h"

#include "faultline/lincheck.h"
#include "faultline/run.h"

#include <string.h>

static fl_verdict check(const fl_history *h)
{
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    o.timeout_ns = 60 * FL_NS_PER_S;
    fl_lincheck_result lr;
    int rc = fl_lincheck_run(h, &o, &lr, NULL);
    fl_verdict v = rc == 0 ? lr.verdict : FL_LIN_UNKNOWN;
    fl_lincheck_result_free(&lr);
    return v;
}

static void config(fl_run_config *c, uint64_t seed, fl_nemesis n)
{
    fl_run_config_default(c);
    c->seed = seed;
    c->workload = FL_RUN_REDIS;
    c->nemesis = n;
    c->duration_ns = 5 * FL_NS_PER_S;
    c->nemesis_interval_ns = FL_NS_PER_S;
}

static void run_clean(fl_run_config *c)
{
    fl_run_result r;
    CHECK_EQ(fl_run(c, &r), 0);
    if (r.violation)
        fprintf(stderr, "  seed %llu %s: %s\n", (unsigned long long)c->seed,
                fl_nemesis_name(c->nemesis), r.violation_reason);
    CHECK(!r.violation);
    CHECK(r.live);
    CHECK(r.side_ops > 300);
    CHECK(r.kv_digests_compared > 20);
    CHECK(r.kv_invariant_checks > 2000);
    if (c->snapshot_every <= 200)
        CHECK(r.kv_snapshots_checked > 0);
    CHECK_EQ(check(&r.history), FL_LIN_OK);
    fl_run_result_free(&r);
}

TEST(redis_workload_replicas_agree_under_faults)
{
    static const fl_nemesis kinds[] = {FL_NEMESIS_MIX, FL_NEMESIS_CRASH_MINORITY,
                                       FL_NEMESIS_CLOCK_DRIFT, FL_NEMESIS_PARTITION_RANDOM,
                                       FL_NEMESIS_CHURN};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        fl_run_config c;
        config(&c, 50 + i, kinds[i]);
        c.snapshot_every = 200; /* restores by InstallSnapshot and at restarts */
        c.pipeline = i % 2 ? 6 : 1;
        run_clean(&c);
    }
}

/* The bug, the check that must name it, and a spec where it shows. */
static void caught(const char *mutant, const char *check_name, uint32_t snapshot_every)
{
    for (uint64_t seed = 1; seed <= 2; seed++) {
        fl_run_config c;
        config(&c, seed, FL_NEMESIS_NONE);
        c.snapshot_every = snapshot_every;
        CHECK(fl_run_mutant_set(&c, mutant));
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        if (!r.violation || !strstr(r.violation_reason, check_name))
            fprintf(stderr, "  %s seed %llu: %s\n", mutant, (unsigned long long)seed,
                    r.violation ? r.violation_reason : "not caught");
        CHECK(r.violation);
        CHECK(strstr(r.violation_reason, check_name) == r.violation_reason);
        fl_run_result_free(&r);
        c.kv_mutants = 0; /* the control */
        CHECK_EQ(fl_run(&c, &r), 0);
        CHECK(!r.violation);
        fl_run_result_free(&r);
    }
}

TEST(redis_workload_catches_a_pick_that_depends_on_layout)
{
    caught("kv-pick-by-layout", "kv replica agreement", 1000);
}

TEST(redis_workload_catches_a_snapshot_that_reorders)
{
    caught("kv-snapshot-layout", "kv snapshot", 100);
}

TEST(redis_workload_catches_an_empty_collection_left_behind)
{
    caught("kv-keep-empty", "kv invariants", 1000);
}
