/* raft_churn.c: random membership changes for simulated Raft clusters (raft_sim.h), the
 * membership nemesis of chaos runs and kv runs. Each call asks the current leader for one
 * change; the core refuses what is unsafe or premature (a change in flight, a learner that
 * lags), and those refusals are part of what is exercised. */
#include "faultline/raft_sim.h"

#include "faultline/error.h"

#include <stdio.h>

typedef struct churn_view {
    fl_node_id leader;
    fl_raft_conf conf;
    fl_node_id outside[FL_RAFT_NODES_MAX];
    uint32_t n_outside;
} churn_view;

static fl_node_id pick(fl_rng *rng, const fl_node_id *ids, uint32_t n)
{
    return n ? ids[fl_rng_below(rng, n)] : FL_NODE_NONE;
}

/* The leader and its configuration; false if there is none or a change is in flight. */
static bool look(fl_sim *sim, churn_view *v)
{
    v->leader = fl_raft_sim_leader(sim);
    const fl_raft *r = v->leader ? fl_raft_sim_node(sim, v->leader) : NULL;
    if (!r)
        return false;
    v->conf = *fl_raft_conf_of(r);
    if (fl_raft_conf_is_joint(&v->conf) || fl_raft_conf_index_of(r) > fl_raft_commit_of(r))
        return false;
    v->n_outside = 0;
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim) && v->n_outside < FL_RAFT_NODES_MAX; id++)
        if (!fl_raft_conf_is_member(&v->conf, id))
            v->outside[v->n_outside++] = id;
    return true;
}

static const char *ask(fl_sim *sim, const churn_view *v, fl_rng *rng, uint32_t min_voters, int *rc)
{
    const fl_raft_conf *c = &v->conf;
    fl_node_id learner = pick(rng, c->learners, c->n_learners);
    fl_node_id voter = pick(rng, c->voters, c->n_voters);
    switch (fl_rng_below(rng, 6)) {
    case 0:
    case 1:
        if (learner) {
            *rc = fl_raft_sim_promote(sim, v->leader, learner);
            return "promote a learner";
        }
        break;
    case 2:
        if (c->n_voters > min_voters) {
            fl_node_id out = fl_rng_chance(rng, 0.4) ? v->leader : voter;
            *rc = fl_raft_sim_remove(sim, v->leader, out);
            return out == v->leader ? "remove the leader" : "remove a voter";
        }
        break;
    case 3:
        if (learner) {
            fl_node_id out = fl_rng_chance(rng, 0.4) ? v->leader : voter;
            *rc = fl_raft_sim_replace(sim, v->leader, out, learner);
            return out == v->leader ? "replace the leader by a learner"
                                    : "replace a voter by a learner";
        }
        break;
    case 4:
        if (learner && fl_rng_chance(rng, 0.3)) {
            *rc = fl_raft_sim_remove(sim, v->leader, learner);
            return "drop a learner";
        }
        break;
    default:
        break;
    }
    fl_node_id in = pick(rng, v->outside, v->n_outside);
    if (!in)
        return NULL;
    *rc = fl_raft_sim_add(sim, v->leader, in);
    return "add a learner";
}

void fl_raft_sim_churn(fl_sim *sim, fl_rng *rng, uint32_t min_voters, fl_raft_churn_stats *st,
                       char *what, size_t what_size)
{
    churn_view v;
    if (!look(sim, &v)) {
        st->skipped++;
        snprintf(what, what_size, "churn: no leader or a change in flight");
        return;
    }
    int rc = 0;
    const char *asked = ask(sim, &v, rng, min_voters, &rc);
    if (!asked) {
        st->skipped++;
        snprintf(what, what_size, "churn: nothing to change");
        return;
    }
    if (rc == 0)
        st->asked++;
    else
        st->refused++;
    snprintf(what, what_size, "churn: %s at leader %u: %s", asked, v.leader,
             rc ? fl_errname(rc) : "ok");
}
