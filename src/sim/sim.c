/* sim.c: the simulator's life cycle, configuration checks and event loop.
 *
 * Invariants: virtual time never goes backwards (every popped event has key >= now); events
 * with equal times run in the order they were pushed (the heap's sequence numbers); checks run
 * after every processed event and the first violation stops the run for good. */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_MAX_LIMIT    ((size_t)1 << 26)
#define MSG_BYTES_MAX_LIMIT ((size_t)1 << 26)
#define DISK_BYTES_LIMIT    ((size_t)1 << 40)

_Static_assert(FL_SIM_NODES_MAX <= 64, "fl_sim_conn rows are 64-bit masks");
_Static_assert(FL_SIM_NODES_LIMIT <= WAKE_MASK, "wake items carry a node index");
_Static_assert(EVENTS_MAX_LIMIT < SLOT_NONE, "slot indexes are 32-bit");

int fl__sim_fail(fl_sim *sim, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sim->err, sizeof(sim->err), fmt, ap);
    va_end(ap);
    return FL_EINVAL;
}

sim_node *fl__sim_node(fl_sim *sim, fl_node_id id, const char *what)
{
    if (id == 0 || id > sim->cfg.nodes) {
        fl__sim_fail(sim, "%s: node id %u out of range 1..%u", what, id, sim->cfg.nodes);
        return NULL;
    }
    return &sim->nodes[id - 1];
}

void fl_sim_config_default(fl_sim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->nodes = 3;
    c->link.up = true;
    c->link.delay = fl_sim_dist_constant(FL_NS_PER_MS);
    c->disk_sync = fl_sim_dist_constant(FL_NS_PER_MS);
    c->crash_mode = FL_SIM_CRASH_LOSE_UNSYNCED;
    c->events_max = (size_t)1 << 20;
    c->msg_bytes_max = (size_t)1 << 20;
    c->disk_bytes_max = (size_t)1 << 30;
}

static bool prob_ok(double p)
{
    return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

int fl__link_check(const fl_sim_link *l, fl_buf *why)
{
    if (!prob_ok(l->loss) || !prob_ok(l->dup) || !prob_ok(l->reorder)) {
        if (why)
            fl_buf_printf(why, "link: loss %g, dup %g, reorder %g: probabilities must be in [0, 1]",
                          l->loss, l->dup, l->reorder);
        return FL_EINVAL;
    }
    return fl_sim_dist_check(&l->delay, why);
}

static int check_range(fl_buf *why, const char *name, size_t v, size_t lo, size_t hi)
{
    if (v >= lo && v <= hi)
        return 0;
    if (why)
        fl_buf_printf(why, "%s = %zu out of range %zu..%zu", name, v, lo, hi);
    return FL_EINVAL;
}

static int check_clocks(const fl_sim_config *c, fl_buf *why)
{
    for (uint32_t i = 0; i < c->nodes && i < FL_SIM_NODES_MAX; i++) {
        double d = c->clock_drift_ppm[i];
        if (!(d > -500000.0 && d < 500000.0)) {
            if (why)
                fl_buf_printf(why, "node %u: clock drift %g ppm out of range (-500000, 500000)",
                              i + 1, d);
            return FL_EINVAL;
        }
    }
    return 0;
}

static int config_check(const fl_sim_config *c, fl_buf *why)
{
    int rc;
    if ((rc = check_range(why, "nodes", c->nodes, 1, FL_SIM_NODES_LIMIT)) ||
        (rc = check_range(why, "events_max", c->events_max, 16, EVENTS_MAX_LIMIT)) ||
        (rc = check_range(why, "msg_bytes_max", c->msg_bytes_max, 1, MSG_BYTES_MAX_LIMIT)) ||
        (rc = check_range(why, "disk_bytes_max", c->disk_bytes_max, 1, DISK_BYTES_LIMIT)))
        return rc;
    if (!c->proto || !c->proto->start || !c->proto->stop || !c->proto->receive ||
        !c->proto->timer) {
        if (why)
            fl_buf_printf(why, "proto: start, stop, receive and timer are required");
        return FL_EINVAL;
    }
    if (!prob_ok(c->torn)) {
        if (why)
            fl_buf_printf(why, "torn = %g: a probability must be in [0, 1]", c->torn);
        return FL_EINVAL;
    }
    if (c->crash_mode != FL_SIM_CRASH_LOSE_UNSYNCED &&
        c->crash_mode != FL_SIM_CRASH_RANDOM_PREFIX &&
        c->crash_mode != FL_SIM_CRASH_RANDOM_SUBSET) {
        if (why)
            fl_buf_printf(why, "crash_mode %d unknown", (int)c->crash_mode);
        return FL_EINVAL;
    }
    if ((rc = fl__link_check(&c->link, why)) || (rc = fl_sim_dist_check(&c->disk_sync, why)))
        return rc;
    return check_clocks(c, why);
}

static void seed_stream(fl_rng *r, uint64_t seed, uint64_t stream)
{
    fl_rng_seed(r, fl_mix64(seed ^ fl_mix64(stream * 0x9E3779B97F4A7C15ull + 1)));
}

static int nodes_init(fl_sim *sim)
{
    uint32_t count = sim->cfg.nodes;
    sim->nodes = calloc(count, sizeof(*sim->nodes));
    if (count > FL_SIM_NODES_MAX)
        sim->node_stats_more = calloc(count - FL_SIM_NODES_MAX, sizeof(*sim->node_stats_more));
    if (!sim->nodes || (count > FL_SIM_NODES_MAX && !sim->node_stats_more))
        return FL_ENOMEM;
    for (uint32_t i = 0; i < sim->cfg.nodes; i++) {
        sim_node *n = &sim->nodes[i];
        n->id = i + 1;
        n->state = FL_SIM_NODE_DOWN;
        n->timer_local = n->timer_at = n->timer_ev_at = FL_TIME_NEVER;
        n->draining = SLOT_NONE;
        seed_stream(&n->rng, sim->cfg.seed, 100 + i);
        n->st = i < FL_SIM_NODES_MAX ? &sim->stats.node[i]
                                     : &sim->node_stats_more[i - FL_SIM_NODES_MAX];
        bool cfg_clock = i < FL_SIM_NODES_MAX;
        fl__clock_init(&n->clock, cfg_clock ? sim->cfg.clock_offset_ns[i] : 0,
                       cfg_clock ? sim->cfg.clock_drift_ppm[i] : 0.0);
        int rc = fl__disk_init(sim, n);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_sim_create(const fl_sim_config *c, fl_sim **out, fl_buf *why)
{
    *out = NULL;
    int rc = config_check(c, why);
    if (rc)
        return rc;
    fl_sim *sim = calloc(1, sizeof(*sim));
    if (!sim)
        return FL_ENOMEM;
    sim->cfg = *c;
    fl_heap_init(&sim->heap, c->events_max + c->nodes); /* + wake items */
    fl_buf_init(&sim->why);
    sim->ev_free = SLOT_NONE;
    seed_stream(&sim->net_rng, c->seed, 1);
    seed_stream(&sim->disk_rng, c->seed, 2);
    seed_stream(&sim->driver_rng, c->seed, 3);
    seed_stream(&sim->proc_rng, c->seed, 4);
    sim->trace_hash = fl_mix64(c->seed);
    if ((rc = fl__links_init(sim)) || (rc = nodes_init(sim)))
        goto err;
    *out = sim;
    return 0;
err:
    fl_sim_destroy(sim);
    return rc;
}

void fl_sim_destroy(fl_sim *sim)
{
    if (!sim)
        return;
    for (uint32_t i = 0; sim->nodes && i < sim->cfg.nodes; i++)
        fl__node_free(sim, &sim->nodes[i]);
    for (uint32_t i = 0; i < sim->ev_cap; i++)
        free(sim->ev[i].data);
    free(sim->ev);
    fl__links_free(sim);
    free(sim->nodes);
    free(sim->node_stats_more);
    fl_heap_free(&sim->heap);
    fl_buf_free(&sim->why);
    fl_assert_set_hook(NULL, NULL);
    free(sim);
}

const char *fl_sim_error(const fl_sim *sim)
{
    return sim->err;
}

uint64_t fl_sim_seed(const fl_sim *sim)
{
    return sim->cfg.seed;
}

uint32_t fl_sim_nodes(const fl_sim *sim)
{
    return sim->cfg.nodes;
}

fl_time_ns fl_sim_time(const fl_sim *sim)
{
    return sim->now;
}

size_t fl_sim_pending(const fl_sim *sim)
{
    return fl_heap_count(&sim->heap);
}

fl_rng *fl_sim_driver_rng(fl_sim *sim)
{
    return &sim->driver_rng;
}

int fl_sim_schedule(fl_sim *sim, fl_time_ns at_ns, fl_sim_fn fn, void *arg)
{
    if (!fn)
        return fl__sim_fail(sim, "schedule: fn is NULL");
    if (at_ns < sim->now || at_ns == FL_TIME_NEVER)
        return fl__sim_fail(sim, "schedule: time %llu is before now %llu or never",
                            (unsigned long long)at_ns, (unsigned long long)sim->now);
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE)
        return FL_ENOMEM;
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_CALL;
    e->node = FL_NODE_NONE;
    e->fn = fn;
    e->arg = arg;
    return fl__ev_push(sim, at_ns, slot);
}

int fl_sim_schedule_node(fl_sim *sim, fl_time_ns at_ns, fl_node_id id, fl_sim_node_fn fn, void *arg)
{
    if (!fl__sim_node(sim, id, "schedule_node"))
        return FL_EINVAL;
    if (!fn || at_ns < sim->now || at_ns == FL_TIME_NEVER)
        return fl__sim_fail(sim, "schedule_node: NULL fn, or time %llu before now %llu or never",
                            (unsigned long long)at_ns, (unsigned long long)sim->now);
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE)
        return FL_EFULL;
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_NODE_CALL;
    e->node = id;
    e->from = FL_NODE_NONE;
    e->node_fn = fn;
    e->arg = arg;
    return fl__ev_push(sim, at_ns, slot);
}

int fl_sim_add_check(fl_sim *sim, fl_sim_check_fn fn, void *arg)
{
    if (!fn || sim->checks_count == CHECKS_MAX)
        return fl__sim_fail(sim, "add_check: NULL function or more than %d checks", CHECKS_MAX);
    sim->checks[sim->checks_count].fn = fn;
    sim->checks[sim->checks_count].arg = arg;
    sim->checks_count++;
    return 0;
}

const fl_sim_violation *fl_sim_get_violation(const fl_sim *sim)
{
    return &sim->violation;
}

const fl_sim_stats *fl_sim_get_stats(const fl_sim *sim)
{
    return &sim->stats;
}

const fl_sim_node_stats *fl_sim_get_node_stats(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return NULL;
    return sim->nodes[id - 1].st;
}

static void print_violation(const fl_sim *sim)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "simulation violation at event %llu, %llu ns (seed %llu): %s\n",
                  (unsigned long long)sim->violation.event,
                  (unsigned long long)sim->violation.time_ns, (unsigned long long)sim->cfg.seed,
                  sim->violation.reason);
    fl_sim_trace_tail(sim, &b);
    if (b.data)
        fwrite(b.data, 1, b.len, stderr);
    fl_buf_free(&b);
}

static void run_checks(fl_sim *sim)
{
    for (int i = 0; i < sim->checks_count; i++) {
        fl_buf_reset(&sim->why);
        if (sim->checks[i].fn(sim->checks[i].arg, sim, &sim->why) == 0)
            continue;
        fl_sim_violation *v = &sim->violation;
        v->found = true;
        v->event = sim->stats.events;
        v->time_ns = sim->now;
        size_t n = sim->why.len < sizeof(v->reason) - 1 ? sim->why.len : sizeof(v->reason) - 1;
        if (n)
            memcpy(v->reason, sim->why.data, n);
        v->reason[n] = '\0';
        if (!sim->cfg.quiet)
            print_violation(sim);
        return;
    }
}

static void run_call(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    fl_sim_fn fn = e->fn;
    void *arg = e->arg;
    fl__ev_release(sim, slot);
    sim->stats.events++; /* first: what the driver does in it is traced under its number */
    fl__trace(sim, EV_CALL, FL_NODE_NONE, FL_NODE_NONE, NULL, 0);
    fn(sim, arg);
}

static void run_node_call(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    sim_node *n = &sim->nodes[e->node - 1];
    bool failed = e->kind == EV_NODE_FAIL || n->state == FL_SIM_NODE_DOWN;
    if (!failed && fl__node_hold(sim, n, slot))
        return;
    fl_sim_node_fn fn = e->node_fn;
    void *arg = e->arg;
    fl__ev_release(sim, slot);
    sim->stats.events++;
    if (failed) {
        fn(NULL, arg);
        fl__trace(sim, EV_DROP, n->id, FL_NODE_NONE, NULL, 0);
        return;
    }
    sim->in_node = n->id;
    fn(n->obj, arg);
    fl__sim_after_node_call(sim, n);
    fl__trace(sim, EV_NODE_CALL, n->id, FL_NODE_NONE, NULL, 0);
}

/* Runs the event in slot (it may turn out stale, be dropped or wait). */
void fl__sim_dispatch(fl_sim *sim, uint32_t slot)
{
    switch (sim->ev[slot].kind) {
    case EV_DELIVER:
        fl__net_deliver(sim, slot);
        break;
    case EV_TIMER:
        fl__node_timer_event(sim, slot);
        break;
    case EV_SYNC:
        fl__disk_sync_event(sim, slot);
        break;
    case EV_SYNCED:
        fl__disk_synced_event(sim, slot);
        break;
    case EV_CALL:
        run_call(sim, slot);
        break;
    case EV_NODE_CALL:
    case EV_NODE_FAIL:
        run_node_call(sim, slot);
        break;
    default:
        FL_UNREACHABLE();
    }
}

/* Runs the heap item's event; returns true if one was processed (not stale, dropped or
 * waiting). */
static bool dispatch(fl_sim *sim, uint64_t value)
{
    uint64_t before = sim->stats.events;
    if (value & WAKE_FLAG)
        fl__node_wake(sim, &sim->nodes[value & WAKE_MASK]);
    else
        fl__sim_dispatch(sim, (uint32_t)value);
    return sim->stats.events != before;
}

int fl_sim_step(fl_sim *sim)
{
    if (sim->violation.found)
        return FL_ESTOPPED;
    fl_sim_install_assert_hook(sim);
    fl_heap_item it;
    while (fl_heap_pop(&sim->heap, &it)) {
        FL_ASSERT(it.key >= sim->now);
        sim->now = it.key;
        if (!dispatch(sim, it.value))
            continue;
        if (sim->checks_count)
            run_checks(sim);
        return 1;
    }
    return 0;
}

int fl_sim_run_until(fl_sim *sim, fl_time_ns t)
{
    for (;;) {
        if (sim->violation.found)
            return FL_ESTOPPED;
        const fl_heap_item *top = fl_heap_peek(&sim->heap);
        if (!top || top->key > t)
            break;
        fl_sim_step(sim);
    }
    if (t > sim->now && t != FL_TIME_NEVER)
        sim->now = t;
    return 0;
}

void fl__sim_after_node_call(fl_sim *sim, sim_node *n)
{
    sim->in_node = FL_NODE_NONE;
    if (n->slow)
        n->busy_until = sim->now + fl_sim_dist_sample(&n->proc, &sim->proc_rng);
    if (n->exiting) {
        n->exiting = false;
        char reason[REASON_MAX];
        memcpy(reason, n->reason, sizeof(reason));
        fl_sim_crash(sim, n->id);
        memcpy(n->reason, reason, sizeof(reason));
    }
}
