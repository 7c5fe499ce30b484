/* test_leader_flap.c: leader-flap, leadership flapping with partial replication
 * (run_nemesis.c): every new leader is cut off soon after its election and the node cut
 * before it comes back, so deposed leaders win again while their successors are away, and the
 * figure 8 schedule of Raft's paper (5.4.2) is among the runs it makes. */
#include "test.h"

#include "faultline/raft.h"
#include "faultline/run.h"

#include <string.h>

static void config(fl_run_config *c, uint64_t seed, fl_nemesis kind)
{
    fl_run_config_default(c);
    c->seed = seed;
    c->nodes = 3;
    c->duration_ns = 6 * FL_NS_PER_S;
    c->n_faults = 1;
    c->faults[0] = (fl_run_fault){kind, 3 * FL_NS_PER_S};
}

/* How often, while leader-flap was on, a node won an election right after its successor had
 * won one (a deposed leader back in charge). */
static uint32_t flap_returns(const fl_run_result *r)
{
    fl_node_id last[8] = {0}; /* the leaders of the last elections, newest first */
    uint32_t returns = 0;
    for (size_t i = 0; i < r->n_roles; i++) {
        const fl_observe_role *o = &r->roles[i];
        bool on = false;
        for (size_t j = 0; j < r->n_faults; j++)
            on |= !strcmp(r->faults[j].kind, "leader-flap") &&
                  r->faults[j].start_ns <= o->time_ns && o->time_ns < r->faults[j].end_ns;
        if (!o->is_leader || !on)
            continue;
        /* back after another node led: a deposed leader won again */
        returns += last[0] && last[0] != o->node && last[1] == o->node;
        memmove(&last[1], &last[0], sizeof(last) - sizeof(last[0]));
        last[0] = o->node;
    }
    return returns;
}

/* While the fault is on, leadership goes back and forth: a leader cut off, another elected
 * (and cut off in turn), the first elected again; and no node stays leader through it. */
TEST(leader_flap_brings_deposed_leaders_back)
{
    uint32_t returns = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fl_run_config c;
        config(&c, seed, FL_NEMESIS_LEADER_FLAP);
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        CHECK(!r.violation);
        returns += flap_returns(&r);
        bool recorded = false;
        for (size_t j = 0; j < r.n_faults; j++)
            recorded |= !strcmp(r.faults[j].kind, "leader-flap");
        CHECK(recorded);
        fl_run_result_free(&r);
    }
    CHECK(returns >= 3);
}

/* The shape it aims at: a leader whose first entries of its term reach only some followers
 * is cut off, and a later leader commits them by counting replicas before an entry of its own
 * term spread. With the commit-prev-term mutant (which does exactly that) leader-flap makes a
 * node win without a committed entry in some of these seeds; leader-churn (new leaders cut
 * off for a while, no swap) in none of the same; and the unmutated code in none. */
TEST(leader_flap_makes_figure_8)
{
    uint32_t flap = 0, churn = 0, clean = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        fl_run_config c;
        fl_run_result r;
        config(&c, seed, FL_NEMESIS_LEADER_FLAP);
        CHECK_EQ(fl_run(&c, &r), 0);
        clean += !r.violation;
        fl_run_result_free(&r);
        c.mutants = FL_RAFT_MUTANT_COMMIT_PREV_TERM;
        CHECK_EQ(fl_run(&c, &r), 0);
        flap += r.violation && strstr(r.violation_reason, "leader completeness") != NULL;
        fl_run_result_free(&r);
        config(&c, seed, FL_NEMESIS_LEADER_CHURN);
        c.mutants = FL_RAFT_MUTANT_COMMIT_PREV_TERM;
        CHECK_EQ(fl_run(&c, &r), 0);
        churn += r.violation;
        fl_run_result_free(&r);
    }
    CHECK_EQ(clean, 12);
    CHECK(flap >= 2);
    CHECK_EQ(churn, 0);
}
