/* observe_split.c: split-brain intervals from the role timeline (observe.h).
 *
 * A sweep over the sorted role changes keeps the set of current leaders (a list of node
 * indexes) and dup, the number of pairs of current leaders with equal terms. All changes at
 * one time are applied, then the state is read: two or more leaders open an interval (or
 * extend the open one), fewer close it. Service events are merged in time order after the
 * role changes of their instant: one from a current leader whose term is below the highest
 * term among the current leaders, while an interval is open, is a stale leader serving.
 *
 * Cost: O(L) per role change and per instant, L the number of current leaders (1 or 2 in
 * any sane run, at most the node count). */
#include "observe_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>

typedef struct split_sweep {
    bool *leader;
    fl_term *term;
    uint64_t *seen_in; /* interval number + 1 in which the node was listed, 0 = none */
    size_t *list;      /* current leaders */
    size_t count;
    uint64_t dup; /* pairs of current leaders with the same term */
    bool open;
    fl_observe_split cur;
    uint64_t number; /* intervals opened so far */
} split_sweep;

static uint64_t same_term_leaders(const split_sweep *s, size_t self, fl_term t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += s->list[i] != self && s->term[s->list[i]] == t;
    return n;
}

static void leave(split_sweep *s, size_t n)
{
    s->dup -= same_term_leaders(s, n, s->term[n]);
    for (size_t i = 0; i < s->count; i++) {
        if (s->list[i] == n) {
            s->list[i] = s->list[--s->count];
            break;
        }
    }
    s->leader[n] = false;
}

static void apply_role(const obs_ctx *c, split_sweep *s, const fl_observe_role *r)
{
    size_t n = fl__obs_node_index(c, r->node);
    FL_ASSERT(n < c->node_count);
    FL_ASSERT(s->count <= c->node_count);
    if (s->leader[n])
        leave(s, n);
    s->term[n] = r->term;
    if (!r->is_leader)
        return;
    s->dup += same_term_leaders(s, n, r->term);
    s->leader[n] = true;
    s->list[s->count++] = n;
}

static void list_node(const obs_ctx *c, split_sweep *s, size_t n)
{
    if (s->seen_in[n] == s->number)
        return;
    s->seen_in[n] = s->number;
    if (s->cur.node_count < FL_OBSERVE_SPLIT_NODES_MAX)
        s->cur.nodes[s->cur.node_count] = c->node_id[n];
    s->cur.node_count++;
}

static void close_interval(const obs_ctx *c, fl_observables *o, split_sweep *s, fl_time_ns t)
{
    fl_observe_splits *sp = &o->split;
    s->cur.end_ns = t;
    fl_time_ns end =
        t == FL_TIME_NEVER ? (c->end_ns > s->cur.start_ns ? c->end_ns : s->cur.start_ns) : t;
    fl_time_ns d = end - s->cur.start_ns;
    sp->intervals++;
    sp->same_term += s->cur.same_term;
    if (s->cur.stale) {
        sp->stale++;
        sp->stale_total_ns += d;
        if (d > sp->stale_max_ns)
            sp->stale_max_ns = d;
        sp->stale_intervals_served += s->cur.stale_served_reads + s->cur.stale_acked_writes > 0;
    }
    if (sp->interval_count < FL_OBSERVE_INTERVALS_MAX)
        sp->interval[sp->interval_count++] = s->cur;
    s->open = false;
}

/* Reads the leader set after the changes at time t. */
static void settle(const obs_ctx *c, fl_observables *o, split_sweep *s, fl_time_ns t)
{
    if (s->count < 2) {
        if (s->open)
            close_interval(c, o, s, t);
        return;
    }
    if (!s->open) {
        s->open = true;
        s->number++;
        s->cur = (fl_observe_split){.start_ns = t, .term_min = UINT64_MAX};
    }
    fl_term lo = s->term[s->list[0]], hi = lo;
    for (size_t i = 0; i < s->count; i++) {
        fl_term x = s->term[s->list[i]];
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        list_node(c, s, s->list[i]);
    }
    s->cur.term_min = lo < s->cur.term_min ? lo : s->cur.term_min;
    s->cur.term_max = hi > s->cur.term_max ? hi : s->cur.term_max;
    s->cur.stale |= lo < hi;
    s->cur.same_term |= s->dup > 0;
}

static void serve(const obs_ctx *c, fl_observables *o, split_sweep *s, const fl_observe_service *e)
{
    size_t n = fl__obs_node_index(c, e->node);
    FL_ASSERT(n < c->node_count);
    if (!s->open || !s->leader[n] || e->kind > FL_OBSERVE_ACKED_WRITE)
        return;
    fl_term hi = 0;
    for (size_t i = 0; i < s->count; i++)
        hi = s->term[s->list[i]] > hi ? s->term[s->list[i]] : hi;
    if (e->term >= hi)
        return;
    if (e->kind == FL_OBSERVE_SERVED_READ) {
        s->cur.stale_served_reads++;
        o->split.stale_served_reads++;
    } else {
        s->cur.stale_acked_writes++;
        o->split.stale_acked_writes++;
    }
}

int fl__obs_split(const obs_ctx *c, fl_observables *o)
{
    split_sweep s = {0};
    size_t n = c->node_count + 1;
    s.leader = calloc(n, sizeof(*s.leader));
    s.term = calloc(n, sizeof(*s.term));
    s.seen_in = calloc(n, sizeof(*s.seen_in));
    s.list = calloc(n, sizeof(*s.list));
    o->split.interval = calloc(FL_OBSERVE_INTERVALS_MAX, sizeof(*o->split.interval));
    int rc = 0;
    if (!s.leader || !s.term || !s.seen_in || !s.list || !o->split.interval) {
        rc = FL_ENOMEM;
        goto out;
    }
    size_t j = 0; /* next service event */
    for (size_t i = 0; i < c->role_count;) {
        fl_time_ns t = c->roles[i].time_ns;
        for (; j < c->service_count && c->service[j].time_ns < t; j++)
            serve(c, o, &s, &c->service[j]);
        for (; i < c->role_count && c->roles[i].time_ns == t; i++)
            apply_role(c, &s, &c->roles[i]);
        settle(c, o, &s, t);
    }
    for (; j < c->service_count; j++)
        serve(c, o, &s, &c->service[j]);
    if (s.open)
        close_interval(c, o, &s, FL_TIME_NEVER);
out:
    free(s.leader);
    free(s.term);
    free(s.seen_in);
    free(s.list);
    return rc;
}
