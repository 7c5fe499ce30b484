/* cons_sim_paxos.c: what the simulator's node glue (cons_sim.c) checks of a Multi-Paxos node:
 * the cluster checker (paxos_check.h: agreement, validity, stability, promises, reads) after
 * every step, and at every restart the durability floor (the promised ballot it was told is
 * durable) and every acceptance it reported durable. The applied digest is chained over the
 * chosen values (fl_paxos_check_value_hash), the checker's chosen slots giving the reference. */
#include "cons_sim_int.h"

#include "faultline/array.h"
#include "faultline/rng.h"

#include <stdlib.h>

static const fl_paxos *paxos_of(const cs_node *n)
{
    return fl_cons_paxos(fl_host_core(&n->h));
}

static int init(fl_cons_sim *cs)
{
    fl_paxos_config c = cs->core.paxos;
    c.n_nodes = cs->nodes;
    return fl_paxos_checker_init(&cs->paxos_checker, cs->nodes, fl_paxos_q2(&c));
}

static void free_checks(fl_cons_sim *cs)
{
    fl_paxos_checker_free(&cs->paxos_checker);
    free(cs->chosen_chain);
    cs->chosen_chain = NULL;
    cs->chosen_chain_len = cs->chosen_chain_cap = 0;
}

static void node_config(const fl_cons_sim *cs, fl_sim *sim, fl_node_id id, fl_cons_config *c)
{
    *c = cs->core;
    fl_paxos_config *p = &c->paxos;
    p->id = id;
    p->n_nodes = cs->nodes; /* a fixed member set: every node */
    for (uint32_t i = 0; i < cs->nodes; i++)
        p->nodes[i] = i + 1;
    p->seed = sim ? fl_rng_next(fl_sim_rng(sim, id)) : 1;
}

static int observe(cs_node *n, const fl_cons_event *ev, const fl_cons_update *up,
                   fl_cons_role before, bool check, fl_buf *why)
{
    (void)before;
    const fl_paxos *p = paxos_of(n);
    fl_paxos_counters k;
    fl_paxos_counters_of(p, &k);
    fl__cs_count(n, k.ballots_started, k.snapshot_chunks_sent, k.snapshots_installed);
    fl_paxos_invariants(p);
    if (!check)
        return 0;
    fl_paxos_event pe = {.type = ev->type, .now_ns = ev->now_ns};
    if (ev->type == FL_CONS_EV_PROPOSE) {
        pe.u.propose.data = ev->u.propose.data;
        pe.u.propose.len = ev->u.propose.len;
    } else if (ev->type == FL_CONS_EV_READ) {
        pe.u.read_ctx = ev->u.read_ctx;
    }
    return fl_paxos_checker_observe(&n->cs->paxos_checker, n->id, p, &pe, up, why);
}

static void record_floor(cs_node *n)
{
    struct fl_cons_sim_floor *f = &n->cs->floor[n->id];
    f->term = fl_paxos_durable_promised_of(paxos_of(n));
    f->set = true;
}

/* The promise and the acceptances the last life was told are durable must have survived;
 * the checker then learns of the start (its own promise check assumes a disk that kept what
 * was synced: after a lie or corruption its verdict does not count). */
static int node_start(cs_node *n, bool trusted, fl_buf *why)
{
    fl_cons_sim *cs = n->cs;
    const fl_paxos *p = paxos_of(n);
    struct fl_cons_sim_floor *f = &cs->floor[n->id];
    bool never_lied = fl_sim_disk_untrusted(n->sim, n->id) == 0;
    if (trusted && fl_paxos_promised_of(p) < f->term) {
        fl_buf_printf(why,
                      "durability: node %u restarted with promise %llu.%u after %llu.%u was "
                      "synced",
                      n->id, (unsigned long long)fl_paxos_ballot_round(fl_paxos_promised_of(p)),
                      fl_paxos_ballot_owner(fl_paxos_promised_of(p)),
                      (unsigned long long)fl_paxos_ballot_round(f->term),
                      fl_paxos_ballot_owner(f->term));
        return 1;
    }
    if (never_lied && fl_paxos_checker_durable(&cs->paxos_checker, n->id, p, why))
        return 1;
    int rc = fl_paxos_checker_node_start(&cs->paxos_checker, n->id, p, why);
    if (rc && !never_lied) {
        fl_buf_reset(why);
        return 0;
    }
    return rc;
}

static void applied(cs_node *n, const fl_cons_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++) {
        const fl_cons_entry *e = &up->apply[i];
        n->chain = fl_mix64(n->chain ^ fl_paxos_check_value_hash(e->type, e->data, e->len));
    }
    if (up->n_apply)
        fl__cs_digest(n, up);
    record_floor(n);
}

/* The chain over slots 1..index of the chosen values, extended as the checker learns them;
 * 0 if one of them is not known chosen (a node applied a slot nobody chose). */
static uint64_t committed_chain(fl_cons_sim *cs, fl_index index)
{
    if (index == 0)
        return 0;
    while (cs->chosen_chain_len < index) {
        fl_index slot = cs->chosen_chain_len + 1;
        uint64_t h = fl_paxos_checker_chosen(&cs->paxos_checker, slot);
        if (!h || fl_array_grow((void **)&cs->chosen_chain, &cs->chosen_chain_cap, (size_t)slot,
                                sizeof(uint64_t)))
            return 0;
        uint64_t prev = slot > 1 ? cs->chosen_chain[slot - 2] : 0;
        cs->chosen_chain[slot - 1] = fl_mix64(prev ^ h);
        cs->chosen_chain_len = slot;
    }
    return cs->chosen_chain[index - 1];
}

const cs_checks fl__cs_paxos_checks = {
    .init = init,
    .free = free_checks,
    .node_config = node_config,
    .observe = observe,
    .node_start = node_start,
    .record_floor = record_floor,
    .applied = applied,
    .committed_chain = committed_chain,
};
