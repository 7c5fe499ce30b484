/* node.c: simulated processes: start, crash, restart, exit, pause and resume, and the timer.
 *
 *   DOWN --start/restart--> UP --pause--> PAUSED --resume--> UP
 *     ^                      |               |
 *     +----crash / exit------+---------------+      (start returning NULL: stays DOWN)
 *
 * Invariants: a node has at most one live timer event (the one whose generation is timer_gen;
 * others are stale and ignored), and when timer_at != NEVER a live event exists at a time
 * <= timer_at, so moving a deadline later costs no event; events for a paused node wait in its
 * deferred FIFO, and so do events for a slow node that is busy (or has a backlog), run one by one
 * by wake items, and every event but a sync's completion for a held node (fl_sim_hold), run
 * once it is released; a crash increments epoch, which makes every timer and sync event of the
 * previous incarnation stale, and ends a hold. */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sim_node *running(fl_sim *sim, fl_node_id id, const char *what)
{
    sim_node *n = fl__sim_node(sim, id, what);
    if (n && n->state == FL_SIM_NODE_DOWN) {
        fl__sim_fail(sim, "%s: node %u is down", what, id);
        return NULL;
    }
    return n;
}

/* Makes sure a live timer event exists at or before timer_at. On a full event queue the timer
 * is disarmed and FL_EFULL returned. */
static int arm(fl_sim *sim, sim_node *n)
{
    if (n->timer_at == FL_TIME_NEVER || n->timer_ev_at <= n->timer_at)
        return 0;
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE) {
        n->timer_local = n->timer_at = FL_TIME_NEVER;
        fl__sim_fail(sim, "timer of node %u: event queue full (events_max %zu)", n->id,
                     sim->cfg.events_max);
        return FL_EFULL;
    }
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_TIMER;
    e->node = n->id;
    e->from = FL_NODE_NONE;
    e->token = ++n->timer_gen;
    e->epoch = n->epoch;
    n->timer_ev_at = n->timer_at;
    return fl__ev_push(sim, n->timer_at, slot);
}

int fl__node_rearm(fl_sim *sim, sim_node *n)
{
    if (n->state == FL_SIM_NODE_DOWN || n->timer_local == FL_TIME_NEVER)
        return 0;
    n->timer_at = fl__clock_global(&n->clock, n->timer_local, sim->now);
    return arm(sim, n);
}

int fl_sim_set_timer(fl_sim *sim, fl_node_id id, fl_time_ns local_deadline_ns)
{
    sim_node *n = running(sim, id, "set_timer");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    n->timer_local = local_deadline_ns;
    n->timer_at = fl__clock_global(&n->clock, local_deadline_ns, sim->now);
    return arm(sim, n);
}

void fl__node_defer(fl_sim *sim, sim_node *n, uint32_t slot)
{
    if (n->deferred_count == n->deferred_cap && n->deferred_head > 0) { /* compact */
        size_t live = n->deferred_count - n->deferred_head;
        memmove(n->deferred, n->deferred + n->deferred_head, live * sizeof(*n->deferred));
        n->deferred_head = 0;
        n->deferred_count = live;
    }
    if (n->deferred_count == n->deferred_cap) {
        size_t cap = n->deferred_cap ? n->deferred_cap * 2 : 64;
        uint32_t *d = realloc(n->deferred, cap * sizeof(*d));
        FL_ASSERT(d != NULL);
        n->deferred = d;
        n->deferred_cap = cap;
    }
    n->deferred[n->deferred_count++] = slot;
}

static void ensure_wake(fl_sim *sim, sim_node *n)
{
    if (n->wake_pending)
        return;
    n->wake_pending = true;
    fl_time_ns at = n->busy_until > sim->now ? n->busy_until : sim->now;
    int rc = fl_heap_push(&sim->heap, at, WAKE_FLAG | (n->id - 1));
    FL_ASSERT(rc == 0); /* the heap has room for one wake item per node */
}

bool fl__node_hold(fl_sim *sim, sim_node *n, uint32_t slot)
{
    if (n->state == FL_SIM_NODE_PAUSED) {
        fl__node_defer(sim, n, slot);
        return true;
    }
    if (n->draining == slot)
        return false;
    if (n->held) { /* blocked in its sync: only the sync's end reaches it (it releases) */
        if (sim->ev[slot].kind == EV_SYNCED)
            return false;
        fl__node_defer(sim, n, slot);
        sim->stats.events_held++;
        return true;
    }
    bool backlog = n->deferred_head < n->deferred_count;
    if (!backlog && (!n->slow || n->busy_until <= sim->now))
        return false;
    fl__node_defer(sim, n, slot); /* busy, or others wait first: FIFO */
    ensure_wake(sim, n);
    return true;
}

void fl__node_wake(fl_sim *sim, sim_node *n)
{
    n->wake_pending = false;
    if (n->state != FL_SIM_NODE_UP || n->held || n->deferred_head == n->deferred_count)
        return; /* down: nothing waits; paused: resume re-queues the backlog; held: release */
    if (n->busy_until > sim->now) {
        ensure_wake(sim, n);
        return;
    }
    uint32_t next = n->deferred[n->deferred_head++];
    if (n->deferred_head == n->deferred_count)
        n->deferred_head = n->deferred_count = 0;
    n->draining = next;
    fl__sim_dispatch(sim, next);
    n->draining = SLOT_NONE;
    if (n->state == FL_SIM_NODE_UP && !n->held && n->deferred_head < n->deferred_count)
        ensure_wake(sim, n);
}

int fl_sim_hold(fl_sim *sim, fl_node_id id, bool on)
{
    sim_node *n = running(sim, id, "hold");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    n->held = on;
    if (!on && n->state == FL_SIM_NODE_UP && n->deferred_head < n->deferred_count)
        ensure_wake(sim, n); /* what waited runs now, in its order, before anything later */
    return 0;
}

bool fl_sim_held(const fl_sim *sim, fl_node_id id)
{
    return id >= 1 && id <= sim->cfg.nodes && sim->nodes[id - 1].held;
}

bool fl_sim_backlog(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return false;
    const sim_node *n = &sim->nodes[id - 1];
    return n->deferred_head < n->deferred_count;
}

int fl_sim_set_slow(fl_sim *sim, fl_node_id id, const fl_sim_dist *processing)
{
    sim_node *n = fl__sim_node(sim, id, "set_slow");
    if (!n)
        return FL_EINVAL;
    if (!processing) {
        n->slow = false;
        n->busy_until = 0;
        return 0;
    }
    fl_buf why;
    fl_buf_init(&why);
    int rc = fl_sim_dist_check(processing, &why);
    if (rc)
        fl__sim_fail(sim, "set_slow: %.*s", (int)why.len, why.data ? (const char *)why.data : "");
    fl_buf_free(&why);
    if (rc)
        return rc;
    n->slow = true;
    n->proc = *processing;
    return 0;
}

static void call_timer(fl_sim *sim, sim_node *n)
{
    n->timer_local = n->timer_at = FL_TIME_NEVER;
    sim->stats.events++;
    sim->nodes[n->id - 1].st->timers++;
    sim->in_node = n->id;
    sim->cfg.proto->timer(n->obj);
    fl__sim_after_node_call(sim, n);
    fl__trace(sim, EV_TIMER, n->id, FL_NODE_NONE, NULL, 0);
}

void fl__node_timer_event(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    sim_node *n = &sim->nodes[e->node - 1];
    if (e->epoch != n->epoch || e->token != n->timer_gen || n->state == FL_SIM_NODE_DOWN) {
        fl__ev_release(sim, slot); /* stale: replaced, cancelled or previous incarnation */
        return;
    }
    n->timer_ev_at = FL_TIME_NEVER;
    if (n->timer_at == FL_TIME_NEVER) {
        fl__ev_release(sim, slot);
        return;
    }
    if (n->timer_at > sim->now) { /* moved later: the same event waits again */
        n->timer_ev_at = n->timer_at;
        int rc = fl__ev_push(sim, n->timer_at, slot);
        FL_ASSERT(rc == 0);
        return;
    }
    if (fl__node_hold(sim, n, slot)) {
        n->timer_ev_at = sim->now; /* queued: fires as soon as the node can run */
        return;
    }
    fl__ev_release(sim, slot);
    call_timer(sim, n);
}

/* Drops everything volatile of n (its state object must already be stopped or absent). */
static void kill_node(fl_sim *sim, sim_node *n)
{
    n->obj = NULL;
    n->state = FL_SIM_NODE_DOWN;
    n->epoch++;
    n->busy_until = 0;
    n->held = false; /* the sync it waited for is lost with the rest */
    n->timer_local = n->timer_at = n->timer_ev_at = FL_TIME_NEVER;
    for (size_t i = n->deferred_head; i < n->deferred_count; i++) {
        uint32_t slot = n->deferred[i];
        if (sim->ev[slot].kind == EV_NODE_CALL) { /* the caller must hear that it failed */
            sim->ev[slot].kind = EV_NODE_FAIL;
            int rc = fl__ev_push(sim, sim->now, slot);
            FL_ASSERT(rc == 0); /* the slot was allocated, so the heap has room */
            continue;
        }
        if (sim->ev[slot].kind == EV_DELIVER)
            sim->stats.msgs_dropped_down++;
        fl__ev_release(sim, slot);
    }
    n->deferred_head = n->deferred_count = 0;
    n->exiting = false;
    fl__disk_crash(sim, n);
}

void fl_sim_set_reason(fl_sim *sim, fl_node_id id, const char *reason)
{
    sim_node *n = fl__sim_node(sim, id, "set_reason");
    if (n)
        snprintf(n->reason, sizeof(n->reason), "%s", reason ? reason : "");
}

static void start_node(fl_sim *sim, sim_node *n, uint8_t kind)
{
    FL_ASSERT(n->state == FL_SIM_NODE_DOWN);
    n->state = FL_SIM_NODE_UP;
    n->reason[0] = '\0';
    sim->in_node = n->id;
    void *obj = sim->cfg.proto->start(sim->cfg.proto_ctx, sim, n->id);
    sim->in_node = FL_NODE_NONE;
    if (!obj) {
        if (!n->reason[0])
            snprintf(n->reason, sizeof(n->reason), "start refused");
        kill_node(sim, n);
        fl__trace(sim, EV_REFUSED, n->id, FL_NODE_NONE, NULL, 0);
        return;
    }
    n->obj = obj;
    fl__trace(sim, kind, n->id, FL_NODE_NONE, NULL, 0);
    fl__sim_after_node_call(sim, n);
}

int fl_sim_start_all(fl_sim *sim)
{
    for (uint32_t i = 0; i < sim->cfg.nodes; i++)
        if (sim->nodes[i].state == FL_SIM_NODE_DOWN)
            start_node(sim, &sim->nodes[i], EV_START);
    return 0;
}

int fl_sim_restart(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "restart");
    if (!n)
        return FL_EINVAL;
    if (n->state != FL_SIM_NODE_DOWN)
        return fl__sim_fail(sim, "restart: node %u is not down", id);
    sim->nodes[id - 1].st->restarts++;
    start_node(sim, n, EV_RESTART);
    return 0;
}

int fl_sim_crash(fl_sim *sim, fl_node_id id)
{
    sim_node *n = running(sim, id, "crash");
    if (!n)
        return FL_EINVAL;
    if (sim->in_node == id) {
        fl__sim_fail(sim, "crash: node %u is inside its own callback (use fl_sim_exit)", id);
        return FL_EBUSY;
    }
    void *obj = n->obj;
    n->obj = NULL;
    n->state = FL_SIM_NODE_DOWN; /* stop() can no longer send, write or arm */
    if (obj)
        sim->cfg.proto->stop(obj);
    if (!n->reason[0])
        snprintf(n->reason, sizeof(n->reason), "crashed");
    sim->nodes[id - 1].st->crashes++;
    kill_node(sim, n);
    fl__trace(sim, EV_CRASH, id, FL_NODE_NONE, NULL, 0);
    return 0;
}

int fl_sim_exit(fl_sim *sim, fl_node_id id, const char *reason)
{
    sim_node *n = running(sim, id, "exit");
    if (!n)
        return FL_EINVAL;
    snprintf(n->reason, sizeof(n->reason), "exit: %s", reason ? reason : "");
    if (sim->in_node == id) {
        n->exiting = true; /* crashed by fl__sim_after_node_call */
        return 0;
    }
    char keep[REASON_MAX];
    memcpy(keep, n->reason, sizeof(keep));
    int rc = fl_sim_crash(sim, id);
    memcpy(n->reason, keep, sizeof(keep));
    return rc;
}

int fl_sim_pause(fl_sim *sim, fl_node_id id)
{
    sim_node *n = running(sim, id, "pause");
    if (!n)
        return FL_EINVAL;
    if (n->state == FL_SIM_NODE_PAUSED)
        return fl__sim_fail(sim, "pause: node %u is already paused", id);
    n->state = FL_SIM_NODE_PAUSED;
    fl__trace(sim, EV_PAUSE, id, FL_NODE_NONE, NULL, 0);
    return 0;
}

int fl_sim_resume(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "resume");
    if (!n)
        return FL_EINVAL;
    if (n->state != FL_SIM_NODE_PAUSED)
        return fl__sim_fail(sim, "resume: node %u is not paused", id);
    n->state = FL_SIM_NODE_UP;
    /* Every deferred slot is still allocated, so the heap (cap events_max) has room. */
    for (size_t i = n->deferred_head; i < n->deferred_count; i++) {
        int rc = fl__ev_push(sim, sim->now, n->deferred[i]);
        FL_ASSERT(rc == 0);
    }
    n->deferred_head = n->deferred_count = 0;
    fl__trace(sim, EV_RESUME, id, FL_NODE_NONE, NULL, 0);
    return 0;
}

fl_sim_node_state fl_sim_node_state_of(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return FL_SIM_NODE_DOWN;
    return sim->nodes[id - 1].state;
}

void *fl_sim_node(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return NULL;
    return sim->nodes[id - 1].obj;
}

const char *fl_sim_reason(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return "";
    return sim->nodes[id - 1].reason;
}

fl_rng *fl_sim_rng(fl_sim *sim, fl_node_id id)
{
    FL_ASSERT(id >= 1 && id <= sim->cfg.nodes);
    return &sim->nodes[id - 1].rng;
}

void fl__node_free(fl_sim *sim, sim_node *n)
{
    void *obj = n->obj;
    n->obj = NULL;
    if (obj)
        sim->cfg.proto->stop(obj);
    free(n->deferred);
    n->deferred = NULL;
    fl__disk_free(&n->disk);
}
