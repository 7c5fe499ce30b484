/* observe_avail.c: availability (observe.h): the fraction of ops that succeeded, windows that
 * answered, the longest gap without a successful write, inside vs outside faults, and the
 * leader outages swept from the role timeline (with leaderships for the cost section).
 *
 * The sweep keeps, per node, whether it is leader and in which term; max_term is the highest
 * term any node has been leader in so far, at_max the number of nodes leader in max_term.
 * The cluster has a (current) leader iff at_max > 0. Role changes with the same time are
 * applied together before the leader state is read, so a hand-over at one instant is no
 * outage. O(ops log ops + roles + windows). */
#include "observe_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>

static int cmp_time(const void *a, const void *b)
{
    fl_time_ns x = *(const fl_time_ns *)a, y = *(const fl_time_ns *)b;
    return (x > y) - (x < y);
}

static fl_time_ns clamp(const obs_ctx *c, fl_time_ns t)
{
    return t < c->start_ns ? c->start_ns : t > c->end_ns ? c->end_ns : t;
}

/* Longest gap between consecutive ok write completions, run start and run end included. */
static int write_gap(const obs_ctx *c, fl_observe_avail *a)
{
    fl_time_ns *t = malloc((a->ok_writes ? a->ok_writes : 1) * sizeof(*t));
    if (!t)
        return FL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < c->op_count; i++) {
        const fl_op *op = &c->ops[i];
        if (op->outcome == FL_EV_OK && op->ret != FL_EV_NONE && fl__obs_is_write((fl_op_f)op->f))
            t[n++] = clamp(c, fl__obs_ret_ns(c, op));
    }
    qsort(t, n, sizeof(*t), cmp_time);
    fl_time_ns prev = c->start_ns;
    a->write_gap_start_ns = c->start_ns;
    a->write_gap_end_ns = c->start_ns;
    for (size_t i = 0; i <= n; i++) {
        fl_time_ns next = i < n ? t[i] : c->end_ns;
        if (next - prev > a->write_gap_max_ns || i == 0) {
            a->write_gap_max_ns = next - prev;
            a->write_gap_start_ns = prev;
            a->write_gap_end_ns = next;
        }
        prev = next;
    }
    free(t);
    return 0;
}

static void count_ops(const obs_ctx *c, fl_observables *o)
{
    fl_observe_avail *a = &o->avail;
    for (size_t i = 0; i < c->op_count; i++) {
        const fl_op *op = &c->ops[i];
        bool ok = op->outcome == FL_EV_OK && op->ret != FL_EV_NONE;
        a->ops++;
        a->ok += ok;
        a->fail += op->outcome == FL_EV_FAIL && op->ret != FL_EV_NONE;
        a->ok_writes += ok && fl__obs_is_write((fl_op_f)op->f);
        if (fl__obs_in_fault(c, c->h->events[op->call].time)) {
            a->ops_in_fault++;
            a->ok_in_fault += ok;
        } else {
            a->ops_outside_fault++;
            a->ok_outside_fault += ok;
        }
    }
    a->info = a->ops - a->ok - a->fail;
    a->ok_fraction = a->ops ? (double)a->ok / (double)a->ops : 1.0;
    a->windows = o->window_count;
    for (size_t i = 0; i < o->window_count; i++)
        a->windows_answered += o->window[i].answered;
    a->windows_answered_fraction = (double)a->windows_answered / (double)a->windows;
}

/* ---- leader outages ------------------------------------------------------------------------ */

typedef struct sweep {
    bool *leader;
    fl_term *term;
    fl_term max_term;
    size_t at_max;
    bool has_leader;
    fl_time_ns since_ns; /* when has_leader last changed (or run start) */
    fl_node_id last_lost;
    fl_term last_lost_term;
    double outage_sum_ns;
} sweep;

static void apply_role(const obs_ctx *c, fl_observables *o, sweep *s, const fl_observe_role *r)
{
    size_t n = fl__obs_node_index(c, r->node);
    FL_ASSERT(n < c->node_count);
    bool was = s->leader[n];
    fl_term old = s->term[n];
    if (was && old == s->max_term && s->at_max > 0) {
        s->at_max--;
        s->last_lost = r->node;
        s->last_lost_term = old;
    }
    s->leader[n] = r->is_leader;
    s->term[n] = r->term;
    if (!r->is_leader)
        return;
    if (!was || old != r->term)
        o->cost.leaderships++;
    if (r->term > s->max_term || (s->at_max == 0 && r->term == s->max_term)) {
        s->max_term = r->term;
        s->at_max = 1;
    } else if (r->term == s->max_term) {
        s->at_max++;
    }
}

static void mark_leader_windows(const obs_ctx *c, fl_observables *o, fl_time_ns a, fl_time_ns b)
{
    if (b <= a || b <= c->start_ns || a >= c->end_ns)
        return;
    size_t wa = fl__obs_window_of(c, o, a), wb = fl__obs_window_of(c, o, b - 1);
    for (size_t w = wa; w <= wb; w++)
        o->window[w].leader = true;
}

/* The leader state may have changed at time t: close or open an outage. */
static void settle(const obs_ctx *c, fl_observables *o, sweep *s, fl_time_ns t)
{
    fl_observe_avail *a = &o->avail;
    bool now = s->at_max > 0;
    FL_ASSERT(s->at_max <= c->node_count);
    if (now == s->has_leader)
        return;
    if (s->has_leader)
        mark_leader_windows(c, o, s->since_ns, t);
    if (now && a->first_leader_ns == FL_TIME_NEVER) {
        a->first_leader_ns = t > c->start_ns ? t - c->start_ns : 0;
    } else if (now) { /* an outage ends */
        fl_observe_outage *g = a->outage_count ? &a->outage[a->outage_count - 1] : NULL;
        fl_time_ns d = t - s->since_ns;
        a->outages++;
        s->outage_sum_ns += (double)d;
        if (d > a->outage_max_ns)
            a->outage_max_ns = d;
        if (g && g->end_ns == FL_TIME_NEVER)
            g->end_ns = t;
    } else if (a->outage_count < FL_OBSERVE_OUTAGES_MAX) { /* an outage starts */
        a->outage[a->outage_count++] =
            (fl_observe_outage){t, FL_TIME_NEVER, s->last_lost, s->last_lost_term};
    }
    s->has_leader = now;
    s->since_ns = t;
}

static int outages(const obs_ctx *c, fl_observables *o)
{
    fl_observe_avail *a = &o->avail;
    sweep s = {.since_ns = c->start_ns};
    s.leader = calloc(c->node_count + 1, sizeof(*s.leader));
    s.term = calloc(c->node_count + 1, sizeof(*s.term));
    a->outage = calloc(FL_OBSERVE_OUTAGES_MAX, sizeof(*a->outage));
    if (!s.leader || !s.term || !a->outage) {
        free(s.leader);
        free(s.term);
        return FL_ENOMEM;
    }
    a->first_leader_ns = FL_TIME_NEVER;
    for (size_t i = 0; i < c->role_count;) {
        fl_time_ns t = c->roles[i].time_ns;
        for (; i < c->role_count && c->roles[i].time_ns == t; i++)
            apply_role(c, o, &s, &c->roles[i]);
        settle(c, o, &s, t);
    }
    if (s.has_leader) {
        mark_leader_windows(c, o, s.since_ns, c->end_ns);
    } else if (a->first_leader_ns != FL_TIME_NEVER) {
        a->leaderless_at_end = true;
        a->leaderless_at_end_ns = c->end_ns > s.since_ns ? c->end_ns - s.since_ns : 0;
    }
    a->outage_mean_ns = a->outages ? s.outage_sum_ns / (double)a->outages : 0.0;
    o->cost.leader_changes = o->cost.leaderships ? o->cost.leaderships - 1 : 0;
    free(s.leader);
    free(s.term);
    return 0;
}

int fl__obs_avail(const obs_ctx *c, fl_observables *o)
{
    count_ops(c, o);
    int rc = write_gap(c, &o->avail);
    return rc ? rc : outages(c, o);
}
