/* test_kv_run.c: the replicated kv in the simulator, end to end: clients, nemesis schedules,
 * history, the linearizability verdict, liveness after the heal, determinism of a seed, and
 * a planted bug that the run must catch. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/lincheck.h"
#include "faultline/raft.h"
#include "faultline/run.h"

static fl_verdict check(const fl_run_config *c, const fl_run_result *r)
{
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = c->workload == FL_RUN_KV ? FL_MODEL_KV : FL_MODEL_CAS_REGISTER;
    o.timeout_ns = 60 * FL_NS_PER_S;
    fl_lincheck_result lr;
    fl_history_error err;
    int rc = fl_lincheck_run(&r->history, &o, &lr, &err);
    fl_verdict v = rc == 0 ? lr.verdict : FL_LIN_UNKNOWN;
    fl_lincheck_result_free(&lr);
    return v;
}

static void run_clean(fl_nemesis nemesis, fl_run_workload workload, uint64_t seed)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.nemesis = nemesis;
    c.workload = workload;
    c.duration_ns = 8 * FL_NS_PER_S;
    c.nemesis_interval_ns = FL_NS_PER_S;
    if (nemesis == FL_NEMESIS_FLP)
        c.gst_ns = c.duration_ns / 2; /* one interval: nothing decided before (test_flp.c) */
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), 0);
    if (r.violation)
        fprintf(stderr, "  %s: %s\n", fl_nemesis_name(nemesis), r.violation_reason);
    CHECK(!r.violation);
    CHECK(r.live);
    CHECK(r.ops_ok > 100);
    CHECK_EQ(r.ops_invoked, r.ops_ok + r.ops_fail + r.ops_info);
    CHECK(r.history.count == 2 * r.ops_invoked);
    if (nemesis != FL_NEMESIS_NONE)
        CHECK(r.n_faults >= (nemesis == FL_NEMESIS_FLP ? 1u : 3u));
    CHECK_EQ(check(&c, &r), FL_LIN_OK);
    fl_run_result_free(&r);
}

TEST(kv_run_every_nemesis_is_safe_live_and_linearizable)
{
    for (int n = FL_NEMESIS_NONE; n < FL_NEMESIS_COUNT; n++)
        run_clean((fl_nemesis)n, n % 2 ? FL_RUN_KV : FL_RUN_REGISTER, 100 + (uint64_t)n);
}

TEST(kv_run_open_loop_records_every_arrival)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.rate = 500;
    c.duration_ns = 4 * FL_NS_PER_S;
    c.nemesis = FL_NEMESIS_CRASH_LEADER; /* ops pile up by the hundred while no one leads */
    c.nemesis_interval_ns = FL_NS_PER_S;
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), 0);
    /* about 2000 arrivals in 4 s at 500/s (Poisson: well within +-20%) */
    CHECK(r.ops_invoked + r.arrivals_dropped > 1600 && r.ops_invoked + r.arrivals_dropped < 2400);
    CHECK(!r.violation);
    CHECK_EQ(check(&c, &r), FL_LIN_OK);
    fl_run_result_free(&r);
}

TEST(kv_run_same_seed_same_history)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = 77;
    c.nemesis = FL_NEMESIS_MIX;
    c.duration_ns = 5 * FL_NS_PER_S;
    c.nemesis_interval_ns = 500 * FL_NS_PER_MS;
    fl_run_result a, b;
    CHECK_EQ(fl_run(&c, &a), 0);
    CHECK_EQ(fl_run(&c, &b), 0);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK_EQ(a.history.count, b.history.count);
    fl_buf ha, hb;
    fl_buf_init(&ha);
    fl_buf_init(&hb);
    fl_history_write_jsonl(&a.history, &ha);
    fl_history_write_jsonl(&b.history, &hb);
    CHECK(ha.len == hb.len && memcmp(ha.data, hb.data, ha.len) == 0);
    fl_buf_free(&ha);
    fl_buf_free(&hb);
    fl_run_result_free(&a);
    fl_run_result_free(&b);
}

TEST(kv_run_catches_a_leader_that_does_not_step_down)
{
    int caught = 0;
    for (uint64_t seed = 1; seed <= 20 && !caught; seed++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.nemesis = FL_NEMESIS_PAUSE;
        c.nemesis_interval_ns = FL_NS_PER_S;
        c.duration_ns = 8 * FL_NS_PER_S;
        c.mutants = FL_RAFT_MUTANT_NO_STEP_DOWN;
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        caught = r.violation || check(&c, &r) == FL_LIN_VIOLATION;
        fl_run_result_free(&r);
    }
    CHECK(caught);
}

TEST(kv_run_refuses_bad_configuration)
{
    fl_run_config c;
    fl_run_config_default(&c);
    char why[200];
    c.nodes = 0;
    CHECK_EQ(fl_run_config_validate(&c, why, sizeof(why)), FL_ECONFIG);
    CHECK(strstr(why, "--nodes") != NULL);
    fl_run_config_default(&c);
    c.loss = 1.5;
    CHECK_EQ(fl_run_config_validate(&c, why, sizeof(why)), FL_ECONFIG);
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), FL_ECONFIG);
    fl_run_result_free(&r);
}

/* ReadIndex: a leader cut off from its peers (and, without check-quorum, still leading) must
 * not answer reads; the mutant that skips the quorum round answers stale values, and the
 * linearizability checker sees it. */
TEST(kv_run_read_index_holds_where_an_unconfirmed_read_is_caught)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = 1;
    c.nemesis = FL_NEMESIS_ISOLATE_LEADER;
    c.nemesis_interval_ns = FL_NS_PER_S;
    c.duration_ns = 8 * FL_NS_PER_S;
    c.no_check_quorum = true;
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), 0);
    CHECK(!r.violation);
    CHECK_EQ(check(&c, &r), FL_LIN_OK);
    fl_run_result_free(&r);
    c.mutants = FL_RAFT_MUTANT_READ_NO_CONFIRM;
    CHECK_EQ(fl_run(&c, &r), 0);
    CHECK_EQ(check(&c, &r), FL_LIN_VIOLATION);
    fl_run_result_free(&r);
}

TEST(kv_run_reads_through_the_log_are_linearizable_too)
{
    run_clean(FL_NEMESIS_MIX, FL_RUN_REGISTER, 5);
    fl_run_config c;
    fl_run_config_default(&c);
    c.read_mode = FL_RUN_READ_LOG;
    c.nemesis = FL_NEMESIS_PARTITION_RANDOM;
    c.nemesis_interval_ns = FL_NS_PER_S;
    c.duration_ns = 6 * FL_NS_PER_S;
    fl_run_result r;
    CHECK_EQ(fl_run(&c, &r), 0);
    CHECK(!r.violation && r.live);
    CHECK_EQ(check(&c, &r), FL_LIN_OK);
    fl_run_result_free(&r);
}

/* Lease reads, both sides: with real clock drift within the declared bound they stay
 * linearizable; beyond it (or with the bound ignored, the lease-no-drift mutant) the old
 * leader answers from its lease after a new leader has taken writes, and both the checker
 * and the stale-read count see it. */
static fl_verdict lease_run(uint32_t bound_ppm, uint32_t mutants, uint64_t *stale_served)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = 1;
    c.nemesis = FL_NEMESIS_ISOLATE_LEADER_SKEW;
    c.clock_drift_ppm = 300000;
    c.nemesis_interval_ns = FL_NS_PER_S;
    c.duration_ns = 8 * FL_NS_PER_S;
    c.read_mode = FL_RUN_READ_LEASE;
    c.lease_drift_ppm = bound_ppm;
    c.op_timeout_ns = 50 * FL_NS_PER_MS;
    c.clients = 30;
    c.mutants = mutants;
    fl_run_result r;
    FL_ASSERT(fl_run(&c, &r) == 0);
    fl_verdict v = check(&c, &r);
    *stale_served = 0;
    for (size_t i = 0; i < r.n_services; i++)
        for (size_t k = 0; k < r.n_roles;
             k++) /* a read served under an older term than some leader's */
            if (r.roles[k].is_leader && r.roles[k].time_ns <= r.services[i].time_ns &&
                r.roles[k].term > r.services[i].term &&
                r.services[i].kind == FL_OBSERVE_SERVED_READ) {
                (*stale_served)++;
                break;
            }
    fl_run_result_free(&r);
    return v;
}

TEST(kv_run_lease_reads_hold_within_the_drift_bound_and_break_beyond_it)
{
    uint64_t served;
    CHECK_EQ(lease_run(300000, 0, &served), FL_LIN_OK);
    CHECK_EQ(lease_run(0, 0, &served), FL_LIN_VIOLATION);
    CHECK(served > 0);
    CHECK_EQ(lease_run(300000, FL_RAFT_MUTANT_LEASE_NO_DRIFT, &served), FL_LIN_VIOLATION);
}

/* Membership churn under client load: every history linearizable, the cluster live after
 * the heal, and the changes really happen (the leader itself removed among them). */
TEST(kv_run_membership_churn_is_linearizable)
{
    uint64_t asked = 0, finals = 0, stepdowns = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.nemesis = seed % 2 ? FL_NEMESIS_CHURN : FL_NEMESIS_MIX_CHURN;
        c.workload = seed % 3 ? FL_RUN_REGISTER : FL_RUN_KV;
        c.duration_ns = 6 * FL_NS_PER_S;
        c.nemesis_interval_ns = c.nemesis == FL_NEMESIS_CHURN ? FL_NS_PER_S : 300 * FL_NS_PER_MS;
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        if (r.violation)
            fprintf(stderr, "  seed %llu: %s\n", (unsigned long long)seed, r.violation_reason);
        CHECK(!r.violation);
        CHECK(r.live);
        CHECK_EQ(check(&c, &r), FL_LIN_OK);
        asked += r.churn_asked;
        finals += r.config_committed;
        stepdowns += r.removed_stepdowns;
        fl_run_result_free(&r);
    }
    printf("  6 runs: %llu changes asked, %llu configurations committed, %llu removed leaders "
           "stepped down\n",
           (unsigned long long)asked, (unsigned long long)finals, (unsigned long long)stepdowns);
    CHECK(asked > 10 && finals > 10 && stepdowns > 0);
}

/* Reads at any node (--read-at any): followers and learners serve them by ReadIndex under
 * partitions, crashes and membership churn, and the histories stay linearizable; the
 * follower-read-unapplied mutant, which serves before applying the read index, is caught. */
TEST(kv_run_reads_at_followers_and_learners_are_linearizable)
{
    static const fl_nemesis nems[] = {FL_NEMESIS_PARTITION_RANDOM, FL_NEMESIS_CRASH_MINORITY,
                                      FL_NEMESIS_CHURN, FL_NEMESIS_MIX};
    uint64_t followers = 0, learners = 0;
    for (size_t i = 0; i < sizeof(nems) / sizeof(nems[0]); i++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = 10 + i;
        c.nemesis = nems[i];
        c.read_at = FL_RUN_READ_AT_ANY;
        c.read_mode = i == 3 ? FL_RUN_READ_LEASE : FL_RUN_READ_INDEX;
        c.duration_ns = 6 * FL_NS_PER_S;
        c.nemesis_interval_ns = FL_NS_PER_S;
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        if (r.violation)
            fprintf(stderr, "  %s: %s\n", fl_nemesis_name(c.nemesis), r.violation_reason);
        CHECK(!r.violation);
        CHECK(r.live);
        CHECK(r.follower_reads > 100);
        CHECK_EQ(check(&c, &r), FL_LIN_OK);
        followers += r.follower_reads;
        learners += r.learner_reads;
        fl_run_result_free(&r);
    }
    printf("  4 runs: %llu reads served by followers, %llu by learners\n",
           (unsigned long long)followers, (unsigned long long)learners);
    CHECK(learners > 0); /* churn adds learners, and clients reach them */

    fl_run_config c;
    fl_run_config_default(&c);
    c.nemesis = FL_NEMESIS_PARTITION_RANDOM;
    c.read_at = FL_RUN_READ_AT_ANY;
    c.duration_ns = 5 * FL_NS_PER_S;
    c.nemesis_interval_ns = FL_NS_PER_S;
    c.mutants = FL_RAFT_MUTANT_FOLLOWER_READ_UNAPPLIED;
    /* the stale read needs a follower to lag when it answers: about one seed in two does
     * (faultline sim --mutant follower-read-unapplied); the first of eight that does */
    int verdict = FL_LIN_OK;
    fl_run_result r;
    for (c.seed = 1; c.seed <= 8 && verdict != FL_LIN_VIOLATION; c.seed++) {
        CHECK_EQ(fl_run(&c, &r), 0);
        verdict = check(&c, &r);
        fl_run_result_free(&r);
    }
    CHECK_EQ(verdict, FL_LIN_VIOLATION);
    c.seed--;
    c.mutants = 0; /* the control: the same run without the bug */
    CHECK_EQ(fl_run(&c, &r), 0);
    CHECK(!r.violation);
    CHECK_EQ(check(&c, &r), FL_LIN_OK);
    fl_run_result_free(&r);
    c.read_mode = FL_RUN_READ_LOG; /* log reads go to the leader: refused with any */
    char why[200];
    CHECK_EQ(fl_run_config_validate(&c, why, sizeof(why)), FL_ECONFIG);
    CHECK(strstr(why, "--read-at") != NULL);
}

/* --sync-inline (cons_sim.h sync_inline): short syncs of an idle node hold it, as the server's
 * loop in an inline fdatasync: events wait for the held nodes (messages, timers, requests),
 * none of them steps while held (no nemesis here calls straight into a node), the run stays
 * safe, live and linearizable, and its trajectory is not the worker's. Closed-loop clients
 * and pipelined ones (their requests wait as node calls). */
static void run_inline(uint32_t pipeline, uint64_t seed)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.nemesis = FL_NEMESIS_MIX;
    c.pipeline = pipeline;
    c.duration_ns = 6 * FL_NS_PER_S;
    c.nemesis_interval_ns = FL_NS_PER_S;
    fl_run_result worker, held;
    CHECK_EQ(fl_run(&c, &worker), 0);
    c.sync_inline = true;
    CHECK_EQ(fl_run(&c, &held), 0);
    CHECK_EQ(worker.syncs_inline, 0);
    CHECK_EQ(worker.sim.events_held, 0);
    CHECK(held.syncs_inline > 100);
    CHECK(held.sim.events_held > 100);
    CHECK_EQ(held.steps_held, 0);
    CHECK(held.trace_hash != worker.trace_hash);
    if (held.violation)
        fprintf(stderr, "  pipeline %u: %s\n", pipeline, held.violation_reason);
    CHECK(!held.violation);
    CHECK(held.live);
    CHECK(held.ops_ok > 100);
    CHECK_EQ(held.ops_invoked, held.ops_ok + held.ops_fail + held.ops_info);
    CHECK_EQ(check(&c, &held), FL_LIN_OK);
    fl_run_result_free(&worker);
    fl_run_result_free(&held);
}

TEST(kv_run_sync_inline_holds_nodes_and_stays_linearizable)
{
    run_inline(1, 41);
    run_inline(4, 42);
}

/* One run of c's seed with the given leader bounds (0: the core's default). */
static void run_bounds(const fl_run_config *base, uint32_t uncommitted, uint32_t entry_bytes,
                       fl_run_result *r)
{
    fl_run_config c = *base;
    c.uncommitted_max = uncommitted;
    c.entry_bytes_max = entry_bytes;
    CHECK_EQ(fl_run(&c, r), 0);
    if (r->violation)
        fprintf(stderr, "  %u %u: %s\n", uncommitted, entry_bytes, r->violation_reason);
    CHECK(!r->violation);
}

/* The leader bounds a run is given (--uncommitted-max, --entry-max: what the server runs,
 * FL_RAFT_SERVER_*) reach the cores: an entry bound below a write's size refuses every write
 * (both protocols, as the server's), a backlog bound of one refuses most of a pipeline, and
 * bounds a run never comes near (the defaults given, or the server's, with 12 ops in flight
 * and no fault) leave it the same run. */
TEST(kv_run_takes_the_leader_bounds_it_is_given)
{
    for (int p = 0; p < 2; p++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.protocol = p ? FL_CONS_PAXOS : FL_CONS_RAFT;
        c.seed = 9;
        c.duration_ns = 2 * FL_NS_PER_S;
        c.pipeline = 4;
        c.clients = 3;
        fl_run_result base, r;
        run_bounds(&c, 0, 0, &base);
        CHECK(base.ops_ok > 100);
        run_bounds(&c, 0, 8, &r); /* no write fits: only reads succeed */
        CHECK(r.trace_hash != base.trace_hash);
        CHECK(r.ops_ok < base.ops_ok);
        fl_run_result_free(&r);
        run_bounds(&c, 0, FL_RAFT_SERVER_ENTRY_BYTES_MAX, &r);
        CHECK(r.trace_hash == base.trace_hash);
        fl_run_result_free(&r);
        if (!p) {
            run_bounds(&c, 1, 0, &r);
            CHECK(r.trace_hash != base.trace_hash);
            fl_run_result_free(&r);
            run_bounds(&c, 512, 0, &r); /* the core's default, given */
            CHECK(r.trace_hash == base.trace_hash);
            fl_run_result_free(&r);
            run_bounds(&c, FL_RAFT_SERVER_UNCOMMITTED_MAX, FL_RAFT_SERVER_ENTRY_BYTES_MAX, &r);
            CHECK(r.trace_hash == base.trace_hash);
            fl_run_result_free(&r);
        }
        fl_run_result_free(&base);
    }
}
