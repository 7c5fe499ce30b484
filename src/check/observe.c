/* observe.c: fl_observe_compute (observe.h): prepares the inputs (pairs the history into ops,
 * sorts copies of the role and service arrays by (time, index), maps node ids, merges the
 * fault intervals, fixes the run bounds and windows), then runs each concern: latency and
 * throughput (observe_latency.c), availability (observe_avail.c), split-brain
 * (observe_split.c), stale reads (observe_stale.c); cost is a few divisions, here. */
#include "observe_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

void fl_observe_input_init(fl_observe_input *in)
{
    memset(in, 0, sizeof(*in));
    in->window_ns = FL_OBSERVE_WINDOW_NS_DEFAULT;
}

bool fl__obs_is_write(fl_op_f f)
{
    return f != FL_F_READ && f != FL_F_GET && f < FL_F_COUNT;
}

fl_time_ns fl__obs_ret_ns(const obs_ctx *c, const fl_op *op)
{
    return c->h->events[op->ret].time;
}

size_t fl__obs_window_of(const obs_ctx *c, const fl_observables *o, fl_time_ns t)
{
    FL_ASSERT(o->window_count > 0);
    FL_ASSERT(c->window_ns > 0);
    if (t <= c->start_ns)
        return 0;
    uint64_t i = (t - c->start_ns) / c->window_ns;
    return i >= o->window_count ? o->window_count - 1 : (size_t)i;
}

bool fl__obs_in_fault(const obs_ctx *c, fl_time_ns t)
{
    size_t lo = 0, hi = c->fault_union_count; /* first span with end > t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->fault_union[mid].end_ns > t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < c->fault_union_count && c->fault_union[lo].start_ns <= t;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t fl__obs_node_index(const obs_ctx *c, fl_node_id id)
{
    const fl_node_id *p = bsearch(&id, c->node_id, c->node_count, sizeof(id), cmp_u32);
    return p ? (size_t)(p - c->node_id) : c->node_count;
}

/* ---- sorting copies by (time, input index) ------------------------------------------------ */

typedef struct timed {
    fl_time_ns t;
    size_t i;
} timed;

static int cmp_timed(const void *a, const void *b)
{
    const timed *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Copies n elements of size sz from src into a new array sorted by (time_of, index). */
static void *sorted_copy(const void *src, size_t n, size_t sz, fl_time_ns (*time_of)(const void *),
                         int *rc)
{
    char *dst = malloc(n ? n * sz : 1);
    timed *order = malloc((n ? n : 1) * sizeof(*order));
    if (!dst || !order) {
        free(dst);
        free(order);
        *rc = FL_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (timed){time_of((const char *)src + i * sz), i};
    qsort(order, n, sizeof(*order), cmp_timed);
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * sz, (const char *)src + order[i].i * sz, sz);
    free(order);
    return dst;
}

static fl_time_ns role_time(const void *p)
{
    return ((const fl_observe_role *)p)->time_ns;
}

static fl_time_ns service_time(const void *p)
{
    return ((const fl_observe_service *)p)->time_ns;
}

static fl_time_ns fault_time(const void *p)
{
    return ((const fl_observe_fault *)p)->start_ns;
}

/* ---- preparation --------------------------------------------------------------------------- */

static int map_nodes(obs_ctx *c)
{
    size_t n = c->role_count + c->service_count;
    c->node_id = malloc((n ? n : 1) * sizeof(*c->node_id));
    if (!c->node_id)
        return FL_ENOMEM;
    for (size_t i = 0; i < c->role_count; i++)
        c->node_id[i] = c->roles[i].node;
    for (size_t i = 0; i < c->service_count; i++)
        c->node_id[c->role_count + i] = c->service[i].node;
    qsort(c->node_id, n, sizeof(*c->node_id), cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || c->node_id[u - 1] != c->node_id[i])
            c->node_id[u++] = c->node_id[i];
    c->node_count = u;
    return u > FL_OBSERVE_NODES_MAX ? FL_ETOOBIG : 0;
}

/* Copies the faults (sorted by start) into o and merges them, clipped to the run, into
 * c->fault_union. */
static int prepare_faults(obs_ctx *c, fl_observables *o)
{
    const fl_observe_input *in = c->in;
    int rc = 0;
    fl_observe_fault *f = sorted_copy(in->faults, in->fault_count, sizeof(*f), fault_time, &rc);
    c->fault_union = malloc((in->fault_count ? in->fault_count : 1) * sizeof(*c->fault_union));
    if (rc || !c->fault_union) {
        free(f);
        return FL_ENOMEM;
    }
    o->faults = in->fault_count;
    for (size_t i = 0; i < in->fault_count; i++) {
        f[i].kind[FL_OBSERVE_FAULT_KIND_SIZE - 1] = 0;
        f[i].targets[FL_OBSERVE_TARGETS_SIZE - 1] = 0;
        fl_time_ns s = f[i].start_ns, e = f[i].end_ns; /* clipped to the run */
        s = s < c->start_ns ? c->start_ns : s;
        e = e > c->end_ns ? c->end_ns : e;
        if (e <= s)
            continue;
        obs_span *last = c->fault_union_count ? &c->fault_union[c->fault_union_count - 1] : NULL;
        if (last && s <= last->end_ns) {
            if (e > last->end_ns)
                last->end_ns = e;
        } else {
            c->fault_union[c->fault_union_count++] = (obs_span){s, e};
        }
    }
    for (size_t i = 0; i < c->fault_union_count; i++) {
        FL_ASSERT(c->fault_union[i].start_ns < c->fault_union[i].end_ns);
        FL_ASSERT(i == 0 || c->fault_union[i - 1].end_ns < c->fault_union[i].start_ns);
        o->fault_total_ns += c->fault_union[i].end_ns - c->fault_union[i].start_ns;
    }
    o->fault_count =
        in->fault_count < FL_OBSERVE_FAULTS_MAX ? in->fault_count : FL_OBSERVE_FAULTS_MAX;
    o->fault = f;
    return 0;
}

/* Run bounds: given, or the history's first and last event times. */
static int prepare_run(obs_ctx *c, fl_observables *o)
{
    const fl_observe_input *in = c->in;
    c->start_ns = in->run_start_ns;
    c->end_ns = in->run_end_ns;
    if (!c->start_ns && !c->end_ns && c->h->count) {
        c->start_ns = FL_TIME_NEVER;
        for (size_t i = 0; i < c->h->count; i++) {
            fl_time_ns t = c->h->events[i].time;
            c->start_ns = t < c->start_ns ? t : c->start_ns;
            c->end_ns = t > c->end_ns ? t : c->end_ns;
        }
    }
    if (c->end_ns < c->start_ns)
        return FL_ERANGE;
    c->window_ns = in->window_ns ? in->window_ns : FL_OBSERVE_WINDOW_NS_DEFAULT;
    fl_time_ns d = c->end_ns - c->start_ns;
    uint64_t n = d / c->window_ns + (d % c->window_ns != 0);
    if (n == 0)
        n = 1;
    if (n > FL_OBSERVE_WINDOWS_MAX)
        return FL_ERANGE;
    o->run_start_ns = c->start_ns;
    o->run_end_ns = c->end_ns;
    o->duration_ns = d;
    o->window_ns = c->window_ns;
    o->window = calloc((size_t)n, sizeof(*o->window));
    if (!o->window)
        return FL_ENOMEM;
    o->window_count = (size_t)n;
    for (size_t i = 0; i < o->window_count; i++)
        o->window[i].start_ns = c->start_ns + (fl_time_ns)i * c->window_ns;
    return 0;
}

static int prepare(obs_ctx *c, fl_observables *o)
{
    const fl_observe_input *in = c->in;
    if (!in->history || (in->role_count && !in->roles) || (in->service_count && !in->service) ||
        (in->fault_count && !in->faults))
        return FL_EINVAL;
    int rc = fl_history_ops(c->h, &c->ops, &c->op_count, NULL);
    if (rc)
        return rc;
    c->roles = sorted_copy(in->roles, in->role_count, sizeof(*c->roles), role_time, &rc);
    if (rc)
        return rc;
    c->role_count = in->role_count;
    c->service =
        sorted_copy(in->service, in->service_count, sizeof(*c->service), service_time, &rc);
    if (rc)
        return rc;
    c->service_count = in->service_count;
    if ((rc = map_nodes(c)) || (rc = prepare_run(c, o)))
        return rc;
    return prepare_faults(c, o);
}

static double per(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : 0.0;
}

static void cost(const obs_ctx *c, fl_observables *o)
{
    fl_observe_cost *k = &o->cost;
    k->counters = c->in->counters;
    k->messages_per_ok = per(k->counters.messages_sent, o->avail.ok);
    k->bytes_per_ok = per(k->counters.bytes_sent, o->avail.ok);
    k->fsyncs_per_ok = per(k->counters.fsyncs, o->avail.ok);
    k->fsyncs_per_ok_write = per(k->counters.fsyncs, o->avail.ok_writes);
}

int fl_observe_compute(const fl_observe_input *in, fl_observables *out)
{
    memset(out, 0, sizeof(*out));
    obs_ctx c = {.in = in, .h = in->history};
    int rc = prepare(&c, out);
    if (!rc)
        rc = fl__obs_latency(&c, out);
    if (!rc)
        rc = fl__obs_avail(&c, out);
    if (!rc)
        rc = fl__obs_split(&c, out);
    if (!rc)
        rc = fl__obs_stale(&c, out);
    if (!rc)
        cost(&c, out);
    free(c.ops);
    free(c.roles);
    free(c.service);
    free(c.node_id);
    free(c.fault_union);
    if (rc)
        fl_observe_free(out);
    return rc;
}

void fl_observe_free(fl_observables *o)
{
    for (size_t i = 0; i < (size_t)FL_F_COUNT * FL_OBS_OUTCOMES; i++)
        free(o->latency.by_f[i]);
    free(o->latency.ok);
    free(o->latency.ok_in_fault);
    free(o->latency.ok_outside_fault);
    free(o->window);
    free(o->avail.outage);
    free(o->split.interval);
    free(o->fault);
    memset(o, 0, sizeof(*o));
}

const fl_hist *fl_observe_latency_of(const fl_observables *o, fl_op_f f, int outcome)
{
    if (f >= FL_F_COUNT || outcome < 0 || outcome >= FL_OBS_OUTCOMES)
        return NULL;
    return o->latency.by_f[(size_t)f * FL_OBS_OUTCOMES + (size_t)outcome];
}
