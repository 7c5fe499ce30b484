/* raft_sim.h: the Raft cluster in the simulator: the consensus node glue (cons_sim.h) with a
 * Raft core, and what only Raft has there: its core's state, leadership transfer, membership
 * changes and membership churn. Everything cons_sim.h says holds (the one host, the real
 * storage on the simulated disk, the checks after every step, the durability floor, the
 * applied digest in snapshots); fl_raft_sim is fl_cons_sim, and the functions below are the
 * Raft names of its functions where nothing more is needed. */
#ifndef FAULTLINE_RAFT_SIM_H
#define FAULTLINE_RAFT_SIM_H

#include "faultline/cons_sim.h"

typedef fl_cons_sim fl_raft_sim;
typedef fl_cons_sim_hooks fl_raft_sim_hooks;
typedef fl_cons_sim_stats fl_raft_sim_stats;

/* Initializes for a cluster of nodes 1..nodes with raft as the template (its id, voters and
 * seed are ignored). Returns 0, FL_ECONFIG (reason in why) or FL_ENOMEM. */
int fl_raft_sim_init(fl_raft_sim *rs, const fl_raft_config *raft, uint32_t nodes,
                     const fl_raft_sim_hooks *hooks, char *why, size_t why_size);
/* fl_cons_sim_create with a Raft core configured as raft. */
int fl_raft_sim_create(fl_raft_sim *rs, const fl_raft_config *raft, const fl_raft_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size);
static inline void fl_raft_sim_free(fl_raft_sim *rs)
{
    fl_cons_sim_free(rs);
}
static inline const fl_sim_proto *fl_raft_sim_proto(void)
{
    return fl_cons_sim_proto();
}
static inline int fl_raft_sim_attach(fl_raft_sim *rs, fl_sim *sim)
{
    return fl_cons_sim_attach(rs, sim);
}
/* The node's Raft state, or NULL when it is down. */
static inline const fl_raft *fl_raft_sim_node(const fl_sim *sim, fl_node_id id)
{
    const fl_cons_core *c = fl_cons_sim_core(sim, id);
    return c ? fl_cons_raft(c) : NULL;
}
static inline int fl_raft_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len,
                                      fl_index *index, fl_term *term)
{
    return fl_cons_sim_propose(sim, id, data, len, index, term);
}
static inline int fl_raft_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx)
{
    return fl_cons_sim_read(sim, id, ctx);
}
static inline fl_node_id fl_raft_sim_leader(const fl_sim *sim)
{
    return fl_cons_sim_leader(sim);
}
/* Asks leader id to hand leadership to node to. Returns what fl_raft_step returns
 * (FL_EUNSUPPORTED in a Paxos cluster). */
int fl_raft_sim_transfer(fl_sim *sim, fl_node_id id, fl_node_id to);

/* Membership changes, asked of leader id (from a driver callback). Each returns what
 * fl_raft_step returns for the CHANGE event (FL_ENOTLEADER, FL_EBUSY while another change
 * is in flight, FL_ELAGGING for a learner not caught up, FL_EINVAL...), FL_ESTOPPED, or
 * FL_EUNSUPPORTED in a Paxos cluster.
 *   change   move to want's voters and learners
 *   add      node becomes a learner
 *   promote  learner node becomes a voter
 *   remove   node leaves (voter or learner)
 *   replace  voter out leaves and learner in becomes a voter, in one joint change */
int fl_raft_sim_change(fl_sim *sim, fl_node_id id, const fl_raft_conf *want);
int fl_raft_sim_add(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_promote(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_remove(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_replace(fl_sim *sim, fl_node_id id, fl_node_id out, fl_node_id in);

/* Membership churn (raft_churn.c): one random change asked of the current leader, with the
 * draws taken from rng (keep it apart from other nemesis streams): add an outside node as a
 * learner, promote a learner (refused while it lags), remove a voter (often the leader
 * itself, never below min_voters voters), replace a voter by a learner, or drop a learner.
 * Nothing is asked while no leader is up or a change is in flight. Writes a short
 * description of what was asked and how the leader answered to what, for verbose logs. */
typedef struct fl_raft_churn_stats {
    uint64_t asked;   /* changes the leader accepted */
    uint64_t refused; /* changes the leader refused (busy, lagging learner, ...) */
    uint64_t skipped; /* no leader, or a change in flight */
} fl_raft_churn_stats;

void fl_raft_sim_churn(fl_sim *sim, fl_rng *rng, uint32_t min_voters, fl_raft_churn_stats *st,
                       char *what, size_t what_size);

#endif
