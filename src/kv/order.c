/* order.c: program order on one kv connection (kv_order.h: the rules and why).
 *
 * Invariants: the counters count the connection's commands on each path; a command is
 * counted on exactly one path from its route to its done; held > 0 implies every later
 * command is held too (rule 3); commands are never on the log path and the ReadIndex path at
 * once (rules 1 and 2; the mutants break it). */
#include "faultline/kv_order.h"

#include "faultline/assert.h"
#include "faultline/kv.h"

bool fl_kv_order_by_index(int op)
{
    return fl_kv_op_is_read((fl_kv_op)op) && op != FL_KV_TTL;
}

fl_kv_route fl_kv_order_route(fl_kv_order *o, bool read, bool may_index)
{
    fl_kv_route r;
    if (o->held > 0)
        r = FL_KV_ROUTE_HOLD; /* rule 3 */
    else if (read && may_index &&
             (o->log_pending == 0 || (o->mutants & FL_KV_ORDER_MUTANT_READ_AHEAD)))
        r = FL_KV_ROUTE_INDEX; /* rule 1 */
    else if (o->index_pending > 0)
        r = FL_KV_ROUTE_HOLD; /* rule 2: the log path, behind a ReadIndex read not served */
    else
        r = FL_KV_ROUTE_LOG;
    FL_ASSERT(o->mutants || r == FL_KV_ROUTE_HOLD ||
              (r == FL_KV_ROUTE_INDEX ? o->log_pending : o->index_pending) == 0);
    if (r == FL_KV_ROUTE_HOLD)
        o->held++;
    else if (r == FL_KV_ROUTE_INDEX)
        o->index_pending++;
    else
        o->log_pending++;
    return r;
}

void fl_kv_order_done(fl_kv_order *o, fl_kv_route route)
{
    uint32_t *n = route == FL_KV_ROUTE_HOLD    ? &o->held
                  : route == FL_KV_ROUTE_INDEX ? &o->index_pending
                                               : &o->log_pending;
    FL_ASSERT(*n > 0);
    (*n)--;
}

uint32_t fl_kv_order_release(fl_kv_order *o)
{
    if (o->index_pending > 0)
        return 0;
    uint32_t n = o->held;
    o->held = 0;
    return n;
}

void fl_kv_order_progress(fl_kv_order *o, const fl_kv_order_walk *w)
{
    /* No ReadIndex read on its path (so none waiting or decided) and none held: the walk
     * would serve and release nothing. A write's completion, the common case, returns here
     * (a pipeline of n writes walked its connection n times, n^2 steps: 4% of the leader's
     * CPU under 16-deep pipelined SETs). */
    if (o->index_pending == 0 && o->held == 0)
        return;
    for (bool again = true; again;) {
        again = false;
        for (void *c = w->next(w->arg, NULL); c; c = w->next(w->arg, c)) {
            fl_kv_order_state st = w->state(w->arg, c);
            if (st == FL_KV_ORDER_WAITING)
                break; /* an earlier read is not confirmed yet: later ones wait (rule 4) */
            if (st == FL_KV_ORDER_DECIDED)
                w->serve(w->arg, c); /* done: it stays in the order until its reply goes */
        }
        uint32_t n = fl_kv_order_release(o);
        for (void *c = w->next(w->arg, NULL); c && n; c = w->next(w->arg, c)) {
            if (w->state(w->arg, c) != FL_KV_ORDER_HELD)
                continue;
            n--;
            again = true;
            w->route(w->arg, c);
        }
    }
}
