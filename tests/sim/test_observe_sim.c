/* test_observe_sim.c: the observables fed by a simulated Raft cluster the way a runner would
 * feed them: the role timeline recorded from the raft_sim hooks (fl_observe_recorder), the
 * isolation of the leader as a fault interval, the message and fsync counters from the
 * simulator. The story: 5 nodes elect a leader; the leader is isolated for 3 s; the network
 * heals. Raft must show no same-term split-brain; a new leader must appear; the isolated
 * leader may linger as a stale leader for at most about an election timeout. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/observe.h"
#include "faultline/raft_sim.h"

#include <stdlib.h>

typedef struct run {
    fl_sim *sim;
    fl_raft_sim rs;
    fl_observe_recorder rec;
    int errors;
} run;

static void on_step(void *arg, fl_node_id id, const fl_cons_core *c, const fl_cons_update *up)
{
    run *x = arg;
    const fl_raft *r = fl_cons_raft(c);
    (void)up;
    x->errors +=
        fl_observe_record_role(&x->rec, fl_sim_time(x->sim), id,
                               fl_raft_role_of(r) == FL_RAFT_LEADER, fl_raft_term_of(r)) != 0;
}

static void on_start(void *arg, fl_node_id id, const fl_cons_core *c)
{
    on_step(arg, id, c, NULL);
}

static void on_stop(void *arg, fl_node_id id)
{
    run *x = arg;
    x->errors += fl_observe_record_down(&x->rec, fl_sim_time(x->sim), id) != 0;
}

static void begin_with(run *x, uint32_t n, uint64_t seed, bool check_quorum, uint32_t mutants)
{
    memset(x, 0, sizeof(*x));
    fl_observe_recorder_init(&x->rec);
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = true;
    rc.check_quorum = check_quorum;
    rc.mutants = mutants;
    fl_raft_sim_hooks hooks = {
        .arg = x, .on_step = on_step, .on_start = on_start, .on_stop = on_stop};
    char why[128];
    FL_ASSERT(fl_raft_sim_init(&x->rs, &rc, n, &hooks, why, sizeof(why)) == 0);
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = seed;
    sc.nodes = n;
    sc.proto = fl_raft_sim_proto();
    sc.proto_ctx = &x->rs;
    sc.disk_sync = fl_sim_dist_constant(2 * FL_NS_PER_MS);
    FL_ASSERT(fl_sim_create(&sc, &x->sim, NULL) == 0);
    fl_raft_sim_attach(&x->rs, x->sim);
    FL_ASSERT(fl_sim_start_all(x->sim) == 0);
}

static void begin(run *x, uint32_t n, uint64_t seed)
{
    begin_with(x, n, seed, true, 0);
}

static void run_until_ms(run *x, uint64_t ms)
{
    fl_sim_run_until(x->sim, ms * FL_NS_PER_MS);
}

TEST(observe_sim_isolated_leader)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run x;
        begin(&x, 5, seed);
        run_until_ms(&x, 1000);
        fl_node_id old = fl_raft_sim_leader(x.sim);
        CHECK(old != 0);
        fl_sim_conn c;
        fl_sim_conn_isolate(&c, 5, old);
        FL_ASSERT(fl_sim_set_conn(x.sim, &c) == 0);
        size_t fault;
        CHECK_EQ(fl_observe_fault_begin(&x.rec, fl_sim_time(x.sim), "isolate leader", &fault), 0);
        run_until_ms(&x, 4000);
        fl_sim_conn_full(&c, 5);
        FL_ASSERT(fl_sim_set_conn(x.sim, &c) == 0);
        CHECK_EQ(fl_observe_fault_end(&x.rec, fault, fl_sim_time(x.sim)), 0);
        run_until_ms(&x, 6000);
        CHECK(!fl_sim_get_violation(x.sim)->found);
        CHECK_EQ(x.errors, 0);

        const fl_sim_stats *st = fl_sim_get_stats(x.sim);
        x.rec.counters.messages_sent = st->msgs_sent;
        x.rec.counters.bytes_sent = st->bytes_sent;
        for (uint32_t i = 0; i < 5; i++)
            x.rec.counters.fsyncs += st->node[i].fsyncs;
        x.rec.counters.elections_started = x.rs.stats.elections;
        fl_history h;
        fl_history_init(&h);
        fl_observe_input in;
        fl_observe_input_init(&in);
        fl_observe_recorder_input(&x.rec, &in);
        in.history = &h;
        in.run_end_ns = 6 * FL_NS_PER_S;
        fl_observables o;
        CHECK_EQ(fl_observe_compute(&in, &o), 0);

        CHECK_EQ(o.split.same_term, 0);
        CHECK(o.cost.leaderships >= 2); /* a new leader replaced the isolated one */
        CHECK(o.avail.first_leader_ns < 1 * FL_NS_PER_S);
        CHECK(!o.avail.leaderless_at_end);
        CHECK(o.split.stale_max_ns < 2 * FL_NS_PER_S); /* check-quorum ends it */
        CHECK(o.avail.outage_max_ns < 3 * FL_NS_PER_S);
        CHECK(o.fault_total_ns > 2900 * FL_NS_PER_MS && o.fault_total_ns < 3100 * FL_NS_PER_MS);
        if (getenv("FL_OBSERVE_PRINT"))
            fl_observe_print_summary(&o, stderr);
        CHECK(o.cost.counters.messages_sent > 0);
        for (size_t i = 1; i < o.window_count; i++) /* a leader in every window after 1 s */
            CHECK(o.window[i].leader);
        fl_observe_free(&o);
        fl_history_free(&h);
        fl_sim_destroy(x.sim);
        fl_raft_sim_free(&x.rs);
        fl_observe_recorder_free(&x.rec);
    }
}

/* Isolates the leader from 1 s to 4 s, runs to 6 s and computes the observables. */
static void isolate_story(run *x, fl_observables *o, fl_history *h)
{
    run_until_ms(x, 1000);
    fl_node_id old = fl_raft_sim_leader(x->sim);
    CHECK(old != 0);
    fl_sim_conn c;
    fl_sim_conn_isolate(&c, 5, old);
    FL_ASSERT(fl_sim_set_conn(x->sim, &c) == 0);
    run_until_ms(x, 4000);
    fl_sim_conn_full(&c, 5);
    FL_ASSERT(fl_sim_set_conn(x->sim, &c) == 0);
    run_until_ms(x, 6000);
    CHECK_EQ(x->errors, 0);
    fl_history_init(h);
    fl_observe_input in;
    fl_observe_input_init(&in);
    fl_observe_recorder_input(&x->rec, &in);
    in.history = h;
    in.run_end_ns = 6 * FL_NS_PER_S;
    CHECK_EQ(fl_observe_compute(&in, o), 0);
}

static void finish(run *x, fl_observables *o, fl_history *h)
{
    fl_observe_free(o);
    fl_history_free(h);
    fl_sim_destroy(x->sim);
    fl_raft_sim_free(&x->rs);
    fl_observe_recorder_free(&x->rec);
}

/* Without check-quorum the isolated leader believes it leads until the partition heals and
 * it hears the higher term: a stale leader for about the whole 3 s isolation. */
TEST(observe_sim_stale_leader_without_check_quorum)
{
    run x;
    begin_with(&x, 5, 11, false, 0);
    fl_observables o;
    fl_history h;
    isolate_story(&x, &o, &h);
    CHECK(!fl_sim_get_violation(x.sim)->found);
    CHECK_EQ(o.split.same_term, 0);
    CHECK_EQ(o.split.stale, 1);
    CHECK(o.split.stale_max_ns > 2500 * FL_NS_PER_MS && o.split.stale_max_ns < 3100 * FL_NS_PER_MS);
    CHECK(o.split.interval[0].end_ns != FL_TIME_NEVER);
    finish(&x, &o, &h);
}

/* The NO_STEP_DOWN mutant: after the heal the old leader adopts the higher term and keeps
 * leading in it: two leaders of one term. The split-brain observable reports the same-term
 * violation that the cluster checker stops the run on (election safety). */
TEST(observe_sim_no_step_down_mutant_is_a_same_term_violation)
{
    run x;
    begin_with(&x, 5, 12, false, FL_RAFT_MUTANT_NO_STEP_DOWN);
    fl_observables o;
    fl_history h;
    isolate_story(&x, &o, &h);
    const fl_sim_violation *v = fl_sim_get_violation(x.sim);
    CHECK(v->found);
    CHECK(strstr(v->reason, "election safety") != NULL);
    CHECK_EQ(o.split.same_term, 1);
    CHECK(o.split.interval[o.split.interval_count - 1].same_term);
    finish(&x, &o, &h);
}
