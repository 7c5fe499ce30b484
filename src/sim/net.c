/* net.c: the simulated network: one model per directed link, message send and delivery.
 *
 * Invariants: a message passes a link only if the link is up both when it is sent and when it
 * arrives; loss, duplication, reordering and delay are drawn from the network stream in send
 * order (so they depend only on the seed and the event sequence); each copy of a message is
 * its own event slot holding its own bytes; a message the delivery gate holds back stays in
 * its slot, pushed back to the time the gate names, and is counted in msgs_holding until it
 * is delivered or dropped. */
#include "sim_internal.h"

#include "faultline/error.h"

#include <stdlib.h>

/* ---- the link model: a default plus overrides ---------------------------------------------- */

static inline uint64_t link_key(fl_node_id from, fl_node_id to)
{
    return (uint64_t)from << 32 | to;
}

static inline size_t ov_slot(const fl_sim *sim, uint64_t key)
{
    return (size_t)fl_mix64(key) & (sim->link_ov_cap - 1);
}

/* The model of from -> to: its override, or the default. O(1) expected. */
static inline const fl_sim_link *link_of(const fl_sim *sim, fl_node_id from, fl_node_id to)
{
    if (sim->link_ov_count == 0)
        return &sim->link_def;
    uint64_t key = link_key(from, to);
    for (size_t i = ov_slot(sim, key);; i = (i + 1) & (sim->link_ov_cap - 1)) {
        if (sim->link_ov[i].key == key)
            return &sim->link_ov[i].link;
        if (sim->link_ov[i].key == 0)
            return &sim->link_def;
    }
}

static inline bool link_passes(const fl_sim *sim, fl_node_id from, fl_node_id to,
                               const fl_sim_link *l)
{
    return l->up && (!sim->groups || sim->nodes[from - 1].group == sim->nodes[to - 1].group);
}

static int ov_grow(fl_sim *sim)
{
    size_t cap = sim->link_ov_cap ? sim->link_ov_cap * 2 : 64;
    sim_link_ov *t = calloc(cap, sizeof(*t));
    if (!t)
        return FL_ENOMEM;
    sim_link_ov *old = sim->link_ov;
    size_t old_cap = sim->link_ov_cap;
    sim->link_ov = t;
    sim->link_ov_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == 0)
            continue;
        size_t j = ov_slot(sim, old[i].key);
        while (t[j].key != 0)
            j = (j + 1) & (cap - 1);
        t[j] = old[i];
    }
    free(old);
    return 0;
}

/* The override of from -> to, created from the default if missing; NULL without memory. */
static fl_sim_link *link_mut(fl_sim *sim, fl_node_id from, fl_node_id to)
{
    if ((sim->link_ov_count + 1) * 2 > sim->link_ov_cap && ov_grow(sim))
        return NULL;
    uint64_t key = link_key(from, to);
    size_t i = ov_slot(sim, key);
    for (; sim->link_ov[i].key != 0; i = (i + 1) & (sim->link_ov_cap - 1))
        if (sim->link_ov[i].key == key)
            return &sim->link_ov[i].link;
    sim->link_ov[i].key = key;
    sim->link_ov[i].link = sim->link_def;
    sim->link_ov_count++;
    return &sim->link_ov[i].link;
}

int fl__links_init(fl_sim *sim)
{
    sim->link_def = sim->cfg.link;
    return 0;
}

void fl__links_free(fl_sim *sim)
{
    free(sim->link_ov);
    sim->link_ov = NULL;
    sim->link_ov_cap = sim->link_ov_count = 0;
}

static int check_pair(fl_sim *sim, fl_node_id from, fl_node_id to, const char *what)
{
    if (!fl__sim_node(sim, from, what) || !fl__sim_node(sim, to, what))
        return FL_EINVAL;
    return 0;
}

static int link_valid(fl_sim *sim, const fl_sim_link *l)
{
    fl_buf why;
    fl_buf_init(&why);
    int rc = fl__link_check(l, &why);
    if (rc)
        fl__sim_fail(sim, "%.*s", (int)why.len, why.data ? (const char *)why.data : "");
    fl_buf_free(&why);
    return rc;
}

int fl_sim_link_set(fl_sim *sim, fl_node_id from, fl_node_id to, const fl_sim_link *l)
{
    int rc = check_pair(sim, from, to, "link_set");
    if (rc || (rc = link_valid(sim, l)))
        return rc;
    fl_sim_link *m = link_mut(sim, from, to);
    if (!m)
        return FL_ENOMEM;
    *m = *l;
    return 0;
}

int fl_sim_link_set_all(fl_sim *sim, const fl_sim_link *l)
{
    int rc = link_valid(sim, l);
    if (rc)
        return rc;
    sim->link_def = *l;
    fl__links_free(sim); /* every link follows the default again */
    return 0;
}

int fl_sim_link_get(const fl_sim *sim, fl_node_id from, fl_node_id to, fl_sim_link *out)
{
    if (from == 0 || to == 0 || from > sim->cfg.nodes || to > sim->cfg.nodes)
        return FL_EINVAL;
    *out = *link_of(sim, from, to);
    return 0;
}

int fl_sim_link_up(fl_sim *sim, fl_node_id from, fl_node_id to, bool up)
{
    int rc = check_pair(sim, from, to, "link_up");
    if (rc)
        return rc;
    if (link_of(sim, from, to)->up == up)
        return 0;
    fl_sim_link *m = link_mut(sim, from, to);
    if (!m)
        return FL_ENOMEM;
    m->up = up;
    return 0;
}

int fl_sim_set_group(fl_sim *sim, fl_node_id id, uint32_t group)
{
    sim_node *n = fl__sim_node(sim, id, "set_group");
    if (!n)
        return FL_EINVAL;
    n->group = group;
    if (group != 0)
        sim->groups = true;
    return 0;
}

uint32_t fl_sim_group(const fl_sim *sim, fl_node_id id)
{
    return id >= 1 && id <= sim->cfg.nodes ? sim->nodes[id - 1].group : 0;
}

int fl_sim_set_conn(fl_sim *sim, const fl_sim_conn *c)
{
    if (c->n != sim->cfg.nodes)
        return fl__sim_fail(sim, "set_conn: matrix for %u nodes, sim has %u", c->n, sim->cfg.nodes);
    for (fl_node_id a = 1; a <= c->n; a++)
        for (fl_node_id b = 1; b <= c->n; b++) {
            int rc = fl_sim_link_up(sim, a, b, fl_sim_conn_can(c, a, b));
            if (rc)
                return rc;
        }
    return 0;
}

int fl_sim_heal(fl_sim *sim)
{
    sim->link_def.up = true;
    for (size_t i = 0; i < sim->link_ov_cap; i++)
        sim->link_ov[i].link.up = true;
    for (uint32_t i = 0; i < sim->cfg.nodes; i++)
        sim->nodes[i].group = 0;
    sim->groups = false;
    return 0;
}

/* Queues one copy of the message; returns FL_EFULL/FL_ENOMEM when no slot is left. */
static int enqueue(fl_sim *sim, const fl_sim_link *l, fl_node_id from, fl_node_id to,
                   const void *msg, size_t len)
{
    fl_time_ns delay = fl_sim_dist_sample(&l->delay, &sim->net_rng);
    if (l->reorder > 0 && fl_rng_chance(&sim->net_rng, l->reorder)) {
        delay += l->reorder_ns ? fl_rng_range(&sim->net_rng, 0, l->reorder_ns) : 0;
        sim->stats.msgs_reordered++;
    }
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE)
        return FL_EFULL;
    int rc = fl__ev_set_data(sim, slot, msg, len);
    if (rc) {
        fl__ev_release(sim, slot);
        return rc;
    }
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_DELIVER;
    e->node = to;
    e->from = from;
    e->sent_ns = sim->now;
    e->held = false;
    return fl__ev_push(sim, sim->now + delay, slot);
}

int fl_sim_send(fl_sim *sim, fl_node_id from, fl_node_id to, const void *msg, size_t len)
{
    int rc = check_pair(sim, from, to, "send");
    if (rc)
        return rc;
    FL__SIM_SELF(sim, from);
    if (len > sim->cfg.msg_bytes_max) {
        fl__sim_fail(sim, "send: %zu bytes over msg_bytes_max %zu", len, sim->cfg.msg_bytes_max);
        return FL_ETOOBIG;
    }
    sim->stats.msgs_sent++;
    sim->stats.bytes_sent += len;
    const fl_sim_link *l = link_of(sim, from, to);
    if (!link_passes(sim, from, to, l)) {
        sim->stats.msgs_dropped_partition++;
        return 0;
    }
    if (l->loss > 0 && fl_rng_chance(&sim->net_rng, l->loss)) {
        sim->stats.msgs_dropped_loss++;
        return 0;
    }
    int copies = 1;
    if (l->dup > 0 && fl_rng_chance(&sim->net_rng, l->dup)) {
        copies = 2;
        sim->stats.msgs_duplicated++;
    }
    for (int i = 0; i < copies; i++) {
        if ((rc = enqueue(sim, l, from, to, msg, len)) != 0) {
            sim->stats.msgs_dropped_full++;
            fl__sim_fail(sim, "send: event queue full (events_max %zu)", sim->cfg.events_max);
            return rc;
        }
    }
    return 0;
}

void fl_sim_set_gate(fl_sim *sim, fl_sim_gate_fn fn, void *arg)
{
    sim->gate = fn;
    sim->gate_arg = arg;
}

/* No longer held: delivered or dropped. */
static void unhold(fl_sim *sim, sim_ev *e)
{
    if (!e->held)
        return;
    e->held = false;
    FL_ASSERT(sim->stats.msgs_holding > 0);
    sim->stats.msgs_holding--;
}

/* Asks the gate about the message in slot; false when it waits (pushed back to the time the
 * gate named; the popped slot's heap room is free again, so the push cannot fail). */
static bool gate_passes(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    fl_time_ns again = sim->gate(sim->gate_arg, sim, e->from, e->node, e->data, e->len);
    if (again <= sim->now || again == FL_TIME_NEVER) {
        FL_ASSERT(again != FL_TIME_NEVER); /* a gate delays; it never drops */
        return true;
    }
    if (!e->held) {
        e->held = true;
        sim->stats.msgs_held++;
        sim->stats.msgs_holding++;
    }
    int rc = fl_heap_push(&sim->heap, again, slot);
    FL_ASSERT(rc == 0);
    return false;
}

static void drop(fl_sim *sim, uint32_t slot, uint64_t *counter)
{
    sim_ev *e = &sim->ev[slot];
    unhold(sim, e);
    (*counter)++;
    fl__trace(sim, EV_DROP, e->node, e->from, NULL, e->len);
    fl__ev_release(sim, slot);
}

void fl__net_deliver(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    sim_node *n = &sim->nodes[e->node - 1];
    if (!link_passes(sim, e->from, e->node, link_of(sim, e->from, e->node))) {
        drop(sim, slot, &sim->stats.msgs_dropped_partition);
        return;
    }
    if (n->state == FL_SIM_NODE_DOWN) {
        drop(sim, slot, &sim->stats.msgs_dropped_down);
        return;
    }
    if (sim->gate && n->draining != slot && !gate_passes(sim, slot))
        return;
    unhold(sim, e); /* passed, or the gate was removed while it waited */
    if (fl__node_hold(sim, n, slot))
        return;
    if (sim->now - e->sent_ns > sim->stats.msg_delay_max_ns)
        sim->stats.msg_delay_max_ns = sim->now - e->sent_ns;
    /* e may move when the node sends (the slab grows); data and the fields copied here stay. */
    const uint8_t *data = e->data;
    size_t len = e->len;
    fl_node_id from = e->from;
    sim->stats.events++;
    sim->stats.msgs_delivered++;
    sim->stats.bytes_delivered += len;
    sim->in_node = n->id;
    sim->cfg.proto->receive(n->obj, from, data, len);
    fl__sim_after_node_call(sim, n);
    fl__trace(sim, EV_DELIVER, n->id, from, data, len);
    fl__ev_release(sim, slot);
}
