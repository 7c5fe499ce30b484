/* swim_host.c: the SWIM core as a simulator protocol (swim_sim.h). Each callback turns one sim
 * callback into one fl_swim_step, then carries out the update: packets and STATE messages to
 * fl_sim_send, the next deadline to fl_sim_set_timer, changes and deliveries to the driver's
 * hooks. In join mode each node also keeps the address table the agent would (a bitmap of the
 * ids it can reach, N bits), learned the agent's way (gossip.c), so that the simulator
 * exercises the core's rule of never probing a member it cannot reach. */
#include "faultline/swim_sim.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ss_lagged {
    struct ss_lagged *prev, *next;
    fl_swim_sim *ss;
    size_t len;
    uint8_t data[];
} ss_lagged;

typedef struct ss_node {
    fl_swim core;
    fl_swim_sim *ss;
    fl_sim *sim;
    fl_node_id id;
    uint64_t *known; /* join mode: bit id set = this node has id's address; NULL: all */
} ss_node;

int fl_swim_sim_init(fl_swim_sim *ss, const fl_swim_config *tmpl, uint32_t nodes,
                     uint32_t join_seeds, const fl_swim_sim_hooks *hooks, char *why,
                     size_t why_size)
{
    memset(ss, 0, sizeof(*ss));
    if (nodes < 1 || nodes > FL_SIM_NODES_LIMIT || nodes > tmpl->members_max) {
        snprintf(why, why_size, "nodes: %u, must be 1..%u and <= members_max", nodes,
                 FL_SIM_NODES_LIMIT);
        return FL_ECONFIG;
    }
    if (join_seeds > FL_SWIM_SEEDS_MAX || join_seeds > nodes) {
        snprintf(why, why_size, "join seeds: %u, at most %d and nodes", join_seeds,
                 FL_SWIM_SEEDS_MAX);
        return FL_ECONFIG;
    }
    ss->join_seeds = join_seeds;
    fl_buf_init(&ss->scratch);
    fl_swim_config c = *tmpl;
    c.id = 1;
    int rc = fl_swim_config_validate(&c, why, why_size);
    if (rc)
        return rc;
    ss->swim = c;
    ss->nodes = nodes;
    if (hooks)
        ss->hooks = *hooks;
    ss->ids = malloc((size_t)nodes * sizeof(*ss->ids));
    ss->lag_ns = calloc((size_t)nodes + 1, sizeof(*ss->lag_ns));
    if (!ss->ids || !ss->lag_ns) {
        fl_swim_sim_free(ss);
        return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < nodes; i++)
        ss->ids[i] = i + 1;
    return 0;
}

void fl_swim_sim_free(fl_swim_sim *ss)
{
    while (ss->lagged) {
        ss_lagged *p = ss->lagged;
        ss->lagged = p->next;
        free(p);
    }
    free(ss->ids);
    free(ss->lag_ns);
    fl_buf_free(&ss->scratch);
    ss->ids = NULL;
    ss->lag_ns = NULL;
}

int fl_swim_sim_set_lag(fl_swim_sim *ss, fl_node_id id, fl_time_ns lag_ns)
{
    if (id == FL_NODE_NONE || id > ss->nodes)
        return FL_EINVAL;
    ss->lag_ns[id] = lag_ns;
    return 0;
}

static void add_stats(fl_swim_stats *t, const fl_swim_stats *s)
{
    const uint64_t *a = (const uint64_t *)s;
    uint64_t *b = (uint64_t *)t;
    for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
        b[i] += a[i];
}

void fl_swim_sim_totals(const fl_swim_sim *ss, const fl_sim *sim, fl_swim_stats *out)
{
    *out = ss->crashed;
    for (fl_node_id id = 1; id <= ss->nodes; id++) {
        const fl_swim *s = fl_swim_sim_core(sim, id);
        if (s)
            add_stats(out, fl_swim_get_stats(s));
    }
}

const fl_swim *fl_swim_sim_core(const fl_sim *sim, fl_node_id id)
{
    const ss_node *n = fl_sim_node(sim, id);
    return n ? &n->core : NULL;
}

/* ---- join mode: the agent's address table --------------------------------------------------- */

static bool knows(const ss_node *n, fl_node_id id)
{
    return !n->known || (id <= n->ss->nodes && (n->known[id / 64] >> (id % 64) & 1));
}

static void learn(ss_node *n, fl_node_id id)
{
    if (n->known && id != FL_NODE_NONE && id <= n->ss->nodes)
        n->known[id / 64] |= (uint64_t)1 << (id % 64);
}

/* Join mode models the agent's addresses with one byte (addr_bytes 1): 1 = "reach me by my
 * id", 0 = none (what the agent writes when it has no address). With addr_first_hand, every
 * address is cleared before sending: members learn addresses only from their own packets, as
 * the agent did before addresses travelled with ALIVE (the gate's worst case). */
static void fill_addr(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    const ss_node *n = arg;
    if (len > 0)
        field[0] = n->ss->addr_first_hand ? 0 : 1;
}

static void learn_addr(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    if (len == 0 || field[0] != 0)
        learn(arg, id);
}

/* What the agent learns from a datagram or stream before the core sees it: the sender, and
 * every member that came with an address. */
static void learn_from(ss_node *n, const uint8_t *data, size_t len)
{
    if (!n->known || len < FL_SWIM_HEADER_BYTES)
        return;
    uint8_t *copy = malloc(len); /* the walk takes writable bytes; learning writes nothing */
    if (copy && (memcpy(copy, data, len), fl_swim_addr_fields(copy, len, learn_addr, n) == 0))
        learn(n, fl_get_u32le(data + 4)); /* the sender: offset 4 in packets and STATE alike */
    free(copy);
}

/* Sends one core message, its address fields filled in (join mode). */
static void send_msg(ss_node *n, const fl_swim_msg *m)
{
    if (!n->known) {
        fl_sim_send(n->sim, n->id, m->to, m->data, m->len);
        return;
    }
    fl_buf *b = &n->ss->scratch;
    fl_buf_reset(b);
    fl_buf_put_bytes(b, m->data, m->len);
    if (b->err == 0 && fl_swim_addr_fields(b->data, b->len, fill_addr, n) == 0)
        fl_sim_send(n->sim, n->id, m->to, b->data, b->len);
}

static void step(ss_node *n, fl_swim_event_kind kind, const uint8_t *data, size_t len);

/* Members the core just added whose address the host already had (from a packet that came
 * before the news about them): the agent tells its core, so does the host. */
static void tell_addresses(ss_node *n, const fl_node_id *ids, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        fl_swim_event ev = {
            .kind = FL_SWIM_EV_ADDRESS, .now_ns = fl_sim_now(n->sim, n->id), .id = ids[i]};
        fl_swim_update up;
        fl_swim_step(&n->core, &ev, &up);
        FL_ASSERT(up.n_msgs == 0 && up.n_changes == 0);
        fl_sim_set_timer(n->sim, n->id, up.next_tick_ns);
    }
}

#define TELL_MAX 64

static void carry_out(ss_node *n, const fl_swim_update *up)
{
    fl_time_ns now = fl_sim_time(n->sim);
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_swim_msg *m = &up->msgs[i];
        if (m->to == FL_NODE_NONE || m->to > n->ss->nodes || m->to == n->id)
            continue;
        if (!knows(n, m->to)) {
            n->ss->no_address++; /* the agent has nowhere to send it either */
            continue;
        }
        send_msg(n, m);
    }
    fl_node_id tell[TELL_MAX];
    size_t k = 0;
    for (size_t i = 0; n->known && i < up->n_changes && k < TELL_MAX; i++) {
        const fl_swim_change *c = &up->changes[i];
        if (c->added && knows(n, c->id) && !fl_swim_addressed(&n->core, c->id))
            tell[k++] = c->id;
    }
    if (n->ss->hooks.changed)
        for (size_t i = 0; i < up->n_changes; i++)
            n->ss->hooks.changed(n->ss->hooks.arg, n->id, &up->changes[i], now);
    if (n->ss->hooks.delivered)
        for (size_t i = 0; i < up->n_deliveries; i++)
            n->ss->hooks.delivered(n->ss->hooks.arg, n->id, &up->deliveries[i], now);
    fl_sim_set_timer(n->sim, n->id, up->next_tick_ns);
    tell_addresses(n, tell, k);
    if (n->ss->check_invariants)
        fl_swim_invariants(&n->core);
}

static int step_rc(ss_node *n, fl_swim_event_kind kind, const uint8_t *data, size_t len)
{
    fl_swim_event ev = {
        .kind = kind, .now_ns = fl_sim_now(n->sim, n->id), .data = data, .len = len};
    fl_swim_update up;
    if (kind == FL_SWIM_EV_RECEIVE)
        learn_from(n, data, len);
    int rc = fl_swim_step(&n->core, &ev, &up);
    carry_out(n, &up);
    return rc;
}

static void step(ss_node *n, fl_swim_event_kind kind, const uint8_t *data, size_t len)
{
    (void)step_rc(n, kind, data, len);
}

/* The core's config for node id: the static member list, or (join mode) itself and the seeds,
 * whose addresses the host knows. */
static int node_config(ss_node *n, fl_swim_config *c)
{
    fl_swim_sim *ss = n->ss;
    *c = ss->swim;
    c->id = n->id;
    c->initial = ss->ids;
    c->n_initial = ss->nodes;
    if (ss->join_seeds == 0)
        return 0;
    n->known = calloc((size_t)ss->nodes / 64 + 1, sizeof(uint64_t));
    if (!n->known)
        return FL_ENOMEM;
    c->initial = &n->id;
    c->n_initial = 1;
    c->n_seeds = 0;
    c->addr_bytes = 1;
    learn(n, n->id);
    for (fl_node_id s = 1; s <= ss->join_seeds; s++) {
        learn(n, s);
        if (s != n->id)
            c->seeds[c->n_seeds++] = s;
    }
    return 0;
}

static void *ss_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    fl_swim_sim *ss = ctx;
    ss->sim = sim;
    ss_node *n = calloc(1, sizeof(*n));
    if (!n) {
        fl_sim_set_reason(sim, id, "out of memory");
        return NULL;
    }
    n->ss = ss;
    n->sim = sim;
    n->id = id;
    fl_swim_config c;
    if (node_config(n, &c) || fl_swim_init(&n->core, &c, fl_rng_fork(fl_sim_rng(sim, id)))) {
        fl_sim_set_reason(sim, id, "swim init failed");
        free(n->known);
        free(n);
        return NULL;
    }
    step(n, FL_SWIM_EV_START, NULL, 0);
    return n;
}

static void ss_stop(void *node)
{
    ss_node *n = node;
    add_stats(&n->ss->crashed, fl_swim_get_stats(&n->core));
    fl_swim_free(&n->core);
    free(n->known);
    free(n);
}

static void lagged_unlink(ss_lagged *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        p->ss->lagged = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

/* A lagged packet's turn came (node NULL: it went down meanwhile). */
static void lagged_deliver(void *node, void *arg)
{
    ss_lagged *p = arg;
    lagged_unlink(p);
    if (node)
        step(node, FL_SWIM_EV_RECEIVE, p->data, p->len);
    free(p);
}

static void ss_receive(void *node, fl_node_id from, const uint8_t *msg, size_t len)
{
    ss_node *n = node;
    fl_time_ns lag = n->ss->lag_ns[n->id];
    if (lag == 0) {
        step(n, FL_SWIM_EV_RECEIVE, msg, len);
        return;
    }
    ss_lagged *p = malloc(sizeof(*p) + len);
    if (!p)
        return; /* dropped, as a starved receive buffer would */
    p->ss = n->ss;
    p->len = len;
    memcpy(p->data, msg, len);
    p->prev = NULL;
    p->next = n->ss->lagged;
    if (p->next)
        p->next->prev = p;
    n->ss->lagged = p;
    if (fl_sim_schedule_node(n->sim, fl_sim_time(n->sim) + lag, n->id, lagged_deliver, p)) {
        lagged_unlink(p);
        free(p);
    }
}

static void ss_timer(void *node)
{
    step(node, FL_SWIM_EV_TICK, NULL, 0);
}

static void ss_describe(void *node, fl_buf *out)
{
    const ss_node *n = node;
    fl_buf_printf(out, "inc %u live %u/%u health %u", n->core.incarnation,
                  fl_swim_live_count(&n->core), fl_swim_member_count(&n->core),
                  fl_swim_health(&n->core));
}

const fl_sim_proto fl_swim_sim_proto = {
    .name = "swim",
    .start = ss_start,
    .stop = ss_stop,
    .receive = ss_receive,
    .timer = ss_timer,
    .synced = NULL,
    .describe = ss_describe,
};

int fl_swim_sim_broadcast(void *node, const void *data, size_t len)
{
    if (!node)
        return FL_ESTOPPED;
    return step_rc(node, FL_SWIM_EV_BROADCAST, data, len);
}

int fl_swim_sim_leave(void *node)
{
    if (!node)
        return FL_ESTOPPED;
    return step_rc(node, FL_SWIM_EV_LEAVE, NULL, 0);
}
