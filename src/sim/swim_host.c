/* swim_host.c: the SWIM core as a simulator protocol (swim_sim.h). Each callback turns one sim
 * callback into one fl_swim_step, then carries out the update: packets to fl_sim_send, the
 * next deadline to fl_sim_set_timer, changes and deliveries to the driver's hooks. */
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
} ss_node;

int fl_swim_sim_init(fl_swim_sim *ss, const fl_swim_config *tmpl, uint32_t nodes,
                     const fl_swim_sim_hooks *hooks, char *why, size_t why_size)
{
    memset(ss, 0, sizeof(*ss));
    if (nodes < 1 || nodes > FL_SIM_NODES_LIMIT || nodes > tmpl->members_max) {
        snprintf(why, why_size, "nodes: %u, must be 1..%u and <= members_max", nodes,
                 FL_SIM_NODES_LIMIT);
        return FL_ECONFIG;
    }
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

static void carry_out(ss_node *n, const fl_swim_update *up)
{
    fl_time_ns now = fl_sim_time(n->sim);
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_swim_msg *m = &up->msgs[i];
        if (m->to == FL_NODE_NONE || m->to > n->ss->nodes || m->to == n->id)
            continue;
        fl_sim_send(n->sim, n->id, m->to, m->data, m->len);
    }
    if (n->ss->hooks.changed)
        for (size_t i = 0; i < up->n_changes; i++)
            n->ss->hooks.changed(n->ss->hooks.arg, n->id, &up->changes[i], now);
    if (n->ss->hooks.delivered)
        for (size_t i = 0; i < up->n_deliveries; i++)
            n->ss->hooks.delivered(n->ss->hooks.arg, n->id, &up->deliveries[i], now);
    fl_sim_set_timer(n->sim, n->id, up->next_tick_ns);
    if (n->ss->check_invariants)
        fl_swim_invariants(&n->core);
}

static int step(ss_node *n, fl_swim_event_kind kind, const uint8_t *data, size_t len)
{
    fl_swim_event ev = {
        .kind = kind, .now_ns = fl_sim_now(n->sim, n->id), .data = data, .len = len};
    fl_swim_update up;
    int rc = fl_swim_step(&n->core, &ev, &up);
    carry_out(n, &up);
    return rc;
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
    fl_swim_config c = ss->swim;
    c.id = id;
    c.initial = ss->ids;
    c.n_initial = ss->nodes;
    if (fl_swim_init(&n->core, &c, fl_rng_fork(fl_sim_rng(sim, id)))) {
        fl_sim_set_reason(sim, id, "swim init failed");
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
    return step(node, FL_SWIM_EV_BROADCAST, data, len);
}

int fl_swim_sim_leave(void *node)
{
    if (!node)
        return FL_ESTOPPED;
    return step(node, FL_SWIM_EV_LEAVE, NULL, 0);
}
