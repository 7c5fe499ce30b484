/* observe_internal.h: what the observe*.c files share: the prepared inputs (ops paired,
 * role and service arrays sorted, fault intervals merged) and one entry point per concern.
 *
 * Invariants of an obs_ctx: roles and service are sorted by (time, input index); node ids
 * are dense-mapped through node_id (sorted, unique); merged fault intervals are sorted,
 * disjoint and non-empty; start <= end; window > 0; window_count >= 1. */
#ifndef FL_OBSERVE_INTERNAL_H
#define FL_OBSERVE_INTERNAL_H

#include "faultline/observe.h"

typedef struct obs_span {
    fl_time_ns start_ns;
    fl_time_ns end_ns;
} obs_span;

typedef struct obs_ctx {
    const fl_observe_input *in;
    const fl_history *h;
    fl_op *ops;
    size_t op_count;
    fl_observe_role *roles; /* sorted copy */
    size_t role_count;
    fl_observe_service *service; /* sorted copy */
    size_t service_count;
    fl_node_id *node_id; /* every node id seen, sorted, unique */
    size_t node_count;
    obs_span *fault_union; /* merged fault intervals */
    size_t fault_union_count;
    fl_time_ns start_ns;
    fl_time_ns end_ns;
    fl_time_ns window_ns;
} obs_ctx;

/* The dense index of node id (which must be in node_id). */
size_t fl__obs_node_index(const obs_ctx *c, fl_node_id id);
/* The window a time falls in, clamped into [0, window_count). */
size_t fl__obs_window_of(const obs_ctx *c, const fl_observables *o, fl_time_ns t);
/* Whether t lies inside a fault interval. O(log faults). */
bool fl__obs_in_fault(const obs_ctx *c, fl_time_ns t);
/* Whether an op modifies its key (write, cas, put, append, delete, incr). */
bool fl__obs_is_write(fl_op_f f);
/* The time of an op's completion event (the op must have one). */
fl_time_ns fl__obs_ret_ns(const obs_ctx *c, const fl_op *op);

/* One per concern; each fills its part of o. */
int fl__obs_latency(const obs_ctx *c, fl_observables *o); /* latency, throughput, windows */
int fl__obs_avail(const obs_ctx *c, fl_observables *o);   /* availability, leader outages */
int fl__obs_split(const obs_ctx *c, fl_observables *o);   /* split-brain intervals */
int fl__obs_stale(const obs_ctx *c, fl_observables *o);   /* stale reads */

#endif
