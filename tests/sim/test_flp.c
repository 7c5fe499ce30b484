/* test_flp.c: the FLP adversary (flp.h) on Raft. With every node up and no message lost, it
 * keeps the cluster from deciding anything for 30 s of virtual time; after GST a decision
 * comes within 2 election timeouts. The controls show that the adversary does the work: the
 * same runs without it decide within a second, and an adversary that holds one vote too few
 * (the FORGET_OWN_VOTE mutant of its oracle) lets the cluster decide. Then the same through a
 * kv run with clients (nemesis flp), and the results.json keys of `faultline sim`. */
#include "test.h"

#include "cli.h"
#include "faultline/flp.h"
#include "faultline/raft_sim.h"
#include "faultline/run.h"

#include <stdlib.h>

#define GST_NS (30 * FL_NS_PER_S)

typedef struct outcome {
    fl_flp_stats st;
    fl_sim_stats sim;
    bool violation;
    fl_time_ns election_timeout_ns;
} outcome;

/* nodes Raft nodes (no clients: a leader's no-op is the first decision), the adversary on
 * from time 0 until GST at 30 s unless adversary is false, then 2 s more. */
static void run_raft(uint32_t nodes, uint64_t seed, bool adversary, uint32_t mutants, bool pre_vote,
                     outcome *out)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = pre_vote;
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = seed;
    sc.nodes = nodes;
    sc.quiet = true;
    sc.link.delay = fl_sim_dist_exp(FL_NS_PER_MS / 2, FL_NS_PER_MS / 2);
    fl_raft_sim rs;
    fl_sim *sim;
    char why[160];
    CHECK_EQ(fl_raft_sim_create(&rs, &rc, NULL, &sc, &sim, why, sizeof(why)), 0);
    fl_flp_raft oracle_state;
    fl_flp_oracle o;
    fl_flp_raft_oracle(&oracle_state, mutants, &o);
    fl_flp a;
    /* without the adversary, the same observer: GST at once, nothing held */
    CHECK_EQ(fl_flp_start(&a, sim, &o, GST_NS, FL_NS_PER_MS), 0);
    if (!adversary)
        fl_flp_gst(&a);
    CHECK_EQ(fl_sim_start_all(sim), 0);
    CHECK_EQ(fl_sim_run_until(sim, GST_NS + 2 * FL_NS_PER_S), 0);
    out->st = a.st;
    out->sim = *fl_sim_get_stats(sim);
    out->violation = fl_sim_get_violation(sim)->found;
    out->election_timeout_ns = rc.election_timeout_ns;
    fl_sim_destroy(sim);
    fl_raft_sim_free(&rs);
}

static uint64_t crashes(const outcome *o, uint32_t nodes)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < nodes; i++)
        n += o->sim.node[i].crashes;
    return n;
}

/* What the issue asks of the adversary, for one run. */
static void check_blocked_then_decides(uint32_t nodes, uint64_t seed, bool pre_vote)
{
    outcome o;
    run_raft(nodes, seed, true, 0, pre_vote, &o);
    if (o.st.decisions_before_gst != 0 || o.st.first_decision_ns == FL_TIME_NEVER)
        fprintf(stderr, "  %u nodes, seed %llu: %llu decisions before GST\n", nodes,
                (unsigned long long)seed, (unsigned long long)o.st.decisions_before_gst);
    CHECK(!o.violation);                    /* safety holds */
    CHECK_EQ(o.st.decisions_before_gst, 0); /* nothing decided in 30 s */
    CHECK_EQ(o.st.gst_ns, GST_NS);
    CHECK_EQ(crashes(&o, nodes), 0); /* every node up */
    CHECK_EQ(o.sim.msgs_dropped_loss + o.sim.msgs_dropped_partition + o.sim.msgs_dropped_down +
                 o.sim.msgs_dropped_full,
             0);                     /* no message lost */
    CHECK_EQ(o.sim.msgs_holding, 0); /* and every held one delivered */
    CHECK(o.sim.msgs_held > 10);     /* the adversary did hold votes back */
    CHECK(o.st.holds >= o.sim.msgs_held);
    /* finite delays: a held vote goes once its candidate times out (< 2 election timeouts) */
    CHECK(o.sim.msg_delay_max_ns < 2 * o.election_timeout_ns + 10 * FL_NS_PER_MS);
    CHECK(o.st.first_decision_ns != FL_TIME_NEVER);
    CHECK(o.st.first_decision_ns - GST_NS <= 2 * o.election_timeout_ns);
}

TEST(flp_blocks_raft_for_30s_then_gst_decides)
{
    for (uint64_t seed = 1; seed <= 3; seed++)
        check_blocked_then_decides(5, seed, true);
    check_blocked_then_decides(3, 4, true);
    check_blocked_then_decides(7, 5, true);
    check_blocked_then_decides(5, 6, false); /* without pre-vote too */
}

TEST(flp_control_without_the_adversary_raft_decides)
{
    outcome o;
    run_raft(5, 1, false, 0, true, &o);
    CHECK(!o.violation);
    CHECK_EQ(o.sim.msgs_held, 0);
    /* the observer's GST came at 0: the first decision is the control's first commit */
    CHECK(o.st.first_decision_ns != FL_TIME_NEVER);
    CHECK(o.st.first_decision_ns < FL_NS_PER_S);
}

TEST(flp_mutant_one_vote_too_few_held_lets_raft_decide)
{
    for (uint32_t nodes = 3; nodes <= 5; nodes += 2) {
        outcome o;
        run_raft(nodes, 1, true, FL_FLP_MUTANT_FORGET_OWN_VOTE, true, &o);
        CHECK(!o.violation);
        CHECK(o.st.decisions_before_gst > 0); /* the check above would fail: it catches it */
    }
}

static void kv_flp(uint64_t seed, fl_time_ns gst_ns, fl_run_result *r)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.duration_ns = 32 * FL_NS_PER_S;
    c.nemesis = FL_NEMESIS_FLP;
    c.gst_ns = gst_ns;
    CHECK_EQ(fl_run(&c, r), 0);
}

TEST(flp_kv_run_clients_get_nothing_until_gst)
{
    fl_run_result r;
    kv_flp(1, GST_NS, &r);
    CHECK(r.flp);
    CHECK(!r.violation);
    CHECK_EQ(r.flp_stats.decisions_before_gst, 0);
    CHECK(r.flp_stats.first_decision_ns - GST_NS <= 2 * r.election_timeout_ns);
    CHECK(r.live);
    CHECK(r.sim.msgs_held > 0);
    CHECK_EQ(r.n_faults, 1); /* the adversary's interval, for reports */
    CHECK_STR(r.faults[0].kind, "flp");
    CHECK_EQ(r.faults[0].end_ns, GST_NS);
    /* no client write succeeded before GST: nothing was decided; and after it a client's
     * first write may fail once (its session never opened: every command before ended info),
     * then it starts a new session (run_client.c), so at most one per client */
    fl_time_ns first_ok_write = FL_TIME_NEVER;
    uint64_t failed_writes = 0;
    for (size_t i = 0; i < r.history.count; i++) {
        const fl_event *e = &r.history.events[i];
        if (e->type == FL_EV_OK && e->f == FL_F_WRITE && e->time < first_ok_write)
            first_ok_write = e->time;
        failed_writes += e->type == FL_EV_FAIL && e->f == FL_F_WRITE;
    }
    CHECK(failed_writes <= 10);
    CHECK(first_ok_write >= GST_NS);
    CHECK(first_ok_write < 32 * FL_NS_PER_S);
    uint64_t hash = r.trace_hash;
    fl_run_result_free(&r);
    kv_flp(1, GST_NS, &r); /* deterministic and seeded like every nemesis */
    CHECK_EQ(r.trace_hash, hash);
    fl_run_result_free(&r);
}

#define OUT FL_TEST_TMP "/fl_test_flp.out"
#define DIR FL_TEST_TMP "/fl_test_flp.dir"

TEST(flp_sim_command_writes_the_keys)
{
    system("rm -rf " DIR);
    CHECK_EQ(
        fl_test_faultline_run("sim --nemesis flp --duration 6s --gst 5s --nodes 3 --out " DIR, OUT),
        0);
    CHECK(fl_test_file_has(OUT, "flp      before GST at 5.0 s: 0 decisions, no node down, no "
                                "message lost"));
    CHECK(fl_test_file_has(OUT, "after GST: the first decision"));
    CHECK(fl_test_file_has(DIR "/results.json", "\"decisions_before_gst\": 0"));
    CHECK(fl_test_file_has(DIR "/results.json", "\"first_decision_after_gst_ms\": "));
    CHECK(fl_test_file_has(DIR "/results.json", "\"max_message_delay_ms\": "));
    CHECK(fl_test_file_has(DIR "/results.json", "\"messages_delivered\": "));
    CHECK(fl_test_file_has(DIR "/results.json", "\"kind\": \"flp\""));
    CHECK(fl_test_file_has(DIR "/report.html", "FLP adversary</td><td class=\"v\">0 decisions "
                                               "before GST at 5.0 s; first: "));
    CHECK(fl_test_file_has(OUT, "reproduce") == false);
    CHECK_EQ(fl_test_faultline_run("sim --nemesis flp --nodes 1", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --nemesis mix --gst 1s", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --nemesis flp --duration 2s --gst 3s", OUT), 64);
    system("rm -rf " DIR " " OUT);
}
