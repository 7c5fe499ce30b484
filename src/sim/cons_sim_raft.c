/* cons_sim_raft.c: what the simulator's node glue (cons_sim.c) checks of a Raft node: the
 * cluster checker (raft_check.h) after every step, membership milestones for campaigns, and
 * the durability floor (term, vote and the log up to the durable index) at every restart. */
#include "cons_sim_int.h"

#include <stdio.h>

static const fl_raft *raft_of(const cs_node *n)
{
    return fl_cons_raft(fl_host_core(&n->h));
}

static int init(fl_cons_sim *cs)
{
    return fl_raft_checker_init(&cs->checker, cs->nodes);
}

static void free_checks(fl_cons_sim *cs)
{
    fl_raft_checker_free(&cs->checker);
}

static void node_config(const fl_cons_sim *cs, fl_sim *sim, fl_node_id id, fl_cons_config *c)
{
    *c = cs->core;
    fl_raft_config *r = &c->raft;
    r->id = id;
    for (uint32_t i = 0; i < cs->nodes; i++)
        r->voters[i] = i + 1;
    r->n_voters = cs->voters;
    r->joining = id > cs->voters; /* empty and outside the configuration until added */
    r->seed = sim ? fl_rng_next(fl_sim_rng(sim, id)) : 1;
}

/* A CONFIG entry applied at index: counted once, as the first node applies it. Apart from
 * the per-step path (its configuration is a large local). */
static __attribute__((noinline)) void count_config(fl_cons_sim *cs, fl_index index,
                                                   const fl_raft_entry *e)
{
    fl_raft_conf c;
    if (index <= cs->conf_applied || fl_raft_conf_decode(e->data, e->len, &c))
        return;
    cs->conf_applied = index;
    if (fl_raft_conf_is_joint(&c))
        cs->stats.joint_committed++;
    else
        cs->stats.config_committed++;
}

/* Membership milestones, for campaigns that must show changes really happened. */
static void count_membership(cs_node *n, const fl_raft_update *up, fl_raft_role before)
{
    fl_cons_sim *cs = n->cs;
    const fl_raft *r = raft_of(n);
    for (size_t i = 0; i < up->n_apply; i++)
        if (up->apply[i].type == FL_RAFT_ENTRY_CONFIG)
            count_config(cs, up->apply_first + i, &up->apply[i]);
    if (!up->role_changed)
        return;
    if (up->role == FL_RAFT_LEADER && fl_raft_conf_is_joint(fl_raft_conf_of(r)))
        cs->stats.joint_elections++;
    if (before == FL_RAFT_LEADER && up->role == FL_RAFT_FOLLOWER &&
        !fl_raft_conf_is_voter(fl_raft_conf_of(r), n->id) &&
        fl_raft_conf_index_of(r) <= fl_raft_commit_of(r))
        cs->stats.removed_stepdowns++;
}

static int observe(cs_node *n, const fl_cons_event *ev, const fl_cons_update *up,
                   fl_cons_role before, bool check, fl_buf *why)
{
    (void)ev;
    const fl_raft *r = raft_of(n);
    fl_raft_counters k;
    fl_raft_counters_of(r, &k);
    fl__cs_count(n, k.elections_started, k.snapshot_chunks_sent, k.snapshots_installed);
    count_membership(n, up, (fl_raft_role)before);
    fl_raft_invariants(r);
    return check ? fl_raft_checker_observe(&n->cs->checker, n->id, r, up, why) : 0;
}

/* What survives on disk must never be less than what the node was told was durable
 * (docs/simulator.md): the floor, recorded at the start and after every step. A cut of the
 * log lowers it at once: the request that cuts may survive a crash unsynced, and a shorter
 * log is then right. */
static void record_floor(cs_node *n)
{
    const fl_raft *r = raft_of(n);
    struct fl_cons_sim_floor *f = &n->cs->floor[n->id];
    fl_term term;
    fl_node_id vote;
    fl_index index;
    fl_raft_durable_of(r, &term, &vote, &index);
    if (f->set && term == f->term && vote == f->vote && index == f->index && index)
        return; /* the entry at index changes only with index: a cut lowers it at once */
    f->term = term;
    f->vote = vote;
    f->index = index;
    f->index_term = fl_raft_term_at(r, f->index);
    if (f->index_term == 0)
        f->index = 0; /* a pending install compacted it: the snapshot on disk decides */
    f->set = true;
}

/* The recovered state against the floor its last life was told was durable. */
static int check_floor(cs_node *n, fl_buf *why)
{
    struct fl_cons_sim_floor *f = &n->cs->floor[n->id];
    const fl_raft *r = raft_of(n);
    fl_term term = fl_raft_term_of(r);
    fl_node_id vote = fl_raft_vote_of(r);
    fl_index snap = fl_raft_snapshot_of(r)->index;
    if (term < f->term || (term == f->term && f->vote && vote != f->vote)) {
        fl_buf_printf(why,
                      "durability: node %u restarted with term %llu vote %u after term %llu vote "
                      "%u was synced",
                      n->id, (unsigned long long)term, vote, (unsigned long long)f->term, f->vote);
        return 1;
    }
    if (f->index > snap && fl_raft_term_at(r, f->index) != f->index_term) {
        fl_buf_printf(why,
                      "durability: node %u restarted without the synced entry %llu (term %llu): "
                      "last index %llu, snapshot %llu",
                      n->id, (unsigned long long)f->index, (unsigned long long)f->index_term,
                      (unsigned long long)fl_raft_last_index(r), (unsigned long long)snap);
        return 1;
    }
    return 0;
}

static int node_start(cs_node *n, bool trusted, fl_buf *why)
{
    if (trusted && check_floor(n, why))
        return 1;
    return fl_raft_checker_node_start(&n->cs->checker, n->id, raft_of(n), why);
}

static void applied(cs_node *n, const fl_cons_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++)
        n->chain = fl_raft_check_entry_hash(n->chain, &up->apply[i]);
    if (up->n_apply)
        fl__cs_digest(n, up);
    record_floor(n);
}

static uint64_t committed_chain(fl_cons_sim *cs, fl_index index)
{
    return fl_raft_checker_committed_chain(&cs->checker, index);
}

const cs_checks fl__cs_raft_checks = {
    .init = init,
    .free = free_checks,
    .node_config = node_config,
    .observe = observe,
    .node_start = node_start,
    .record_floor = record_floor,
    .applied = applied,
    .committed_chain = committed_chain,
};
