/* observe_latency.c: latency histograms by op type and outcome, throughput overall and per
 * window, and the per-window counts (observe.h). One pass over the ops: O(ops + windows). */
#include "observe_internal.h"

#include "faultline/error.h"

#include <stdlib.h>

static int outcome_index(uint8_t type)
{
    if (type == FL_EV_OK)
        return FL_OBS_OK;
    return type == FL_EV_FAIL ? FL_OBS_FAIL : FL_OBS_INFO;
}

static int record_op(const obs_ctx *c, fl_observables *o, const fl_op *op)
{
    fl_observe_latency *l = &o->latency;
    if (op->ret == FL_EV_NONE) {
        l->pending++;
        return 0;
    }
    fl_time_ns call_ns = c->h->events[op->call].time, ret_ns = fl__obs_ret_ns(c, op);
    uint64_t lat = 0;
    if (ret_ns >= call_ns)
        lat = ret_ns - call_ns;
    else
        l->clock_errors++;
    int k = outcome_index(op->outcome);
    fl_hist **hp = &l->by_f[(size_t)op->f * FL_OBS_OUTCOMES + (size_t)k];
    if (!*hp) {
        if (!(*hp = malloc(sizeof(**hp))))
            return FL_ENOMEM;
        fl_hist_init(*hp);
    }
    fl_hist_record(*hp, lat);
    fl_observe_window *w = &o->window[fl__obs_window_of(c, o, ret_ns)];
    if (k == FL_OBS_OK) {
        fl_hist_record(l->ok, lat);
        fl_hist_record(fl__obs_in_fault(c, call_ns) ? l->ok_in_fault : l->ok_outside_fault, lat);
        w->ok++;
        w->ok_writes += fl__obs_is_write((fl_op_f)op->f);
        w->answered = true;
        if (lat > w->ok_latency_max_ns)
            w->ok_latency_max_ns = lat;
    } else if (k == FL_OBS_FAIL) {
        w->fail++;
    } else {
        w->info++;
    }
    return 0;
}

/* Marks the windows that overlap a fault interval. Spans are disjoint and sorted, so every
 * window is visited at most once per span that overlaps it: O(windows + spans). */
static void mark_faults(const obs_ctx *c, fl_observables *o)
{
    for (size_t i = 0; i < c->fault_union_count; i++) {
        const obs_span *s = &c->fault_union[i];
        if (s->end_ns <= c->start_ns || (s->start_ns >= c->end_ns && c->end_ns > c->start_ns))
            continue;
        size_t a = fl__obs_window_of(c, o, s->start_ns);
        size_t b = fl__obs_window_of(c, o, s->end_ns - 1);
        for (size_t w = a; w <= b; w++)
            o->window[w].in_fault = true;
    }
}

int fl__obs_latency(const obs_ctx *c, fl_observables *o)
{
    fl_observe_latency *l = &o->latency;
    l->ok = malloc(sizeof(*l->ok));
    l->ok_in_fault = malloc(sizeof(*l->ok_in_fault));
    l->ok_outside_fault = malloc(sizeof(*l->ok_outside_fault));
    if (!l->ok || !l->ok_in_fault || !l->ok_outside_fault)
        return FL_ENOMEM;
    fl_hist_init(l->ok);
    fl_hist_init(l->ok_in_fault);
    fl_hist_init(l->ok_outside_fault);
    for (size_t i = 0; i < c->op_count; i++) {
        int rc = c->ops[i].f < FL_F_COUNT ? record_op(c, o, &c->ops[i]) : 0;
        if (rc)
            return rc;
    }
    o->ok_per_s = o->duration_ns ? (double)l->ok->count * 1e9 / (double)o->duration_ns : 0.0;
    mark_faults(c, o);
    return 0;
}
