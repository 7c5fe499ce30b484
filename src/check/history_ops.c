/* history_ops.c: pairing a history's events into operations (fl_history_ops, history.h).
 *
 * A process has at most one pending invocation, the next completion of that process closes
 * it; in a pipelined history it may have several, and a completion closes the oldest (the
 * pending ops of a process are chained in invocation order). O(events) with an open hash
 * from process id to its pending ops. */
#include "faultline/history.h"

#include "faultline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pending_map {
    int64_t *proc;
    uint32_t *op;   /* the oldest pending op index + 1; 0 = none pending */
    uint32_t *tail; /* the newest pending op index + 1 (pipelined) */
    uint8_t *occ;   /* slot holds a process (slots are never freed: no broken probe chains) */
    size_t cap;
    size_t used;
    uint32_t *next; /* pipelined: [op] the next pending op of its process + 1, 0 = none */
} pending_map;

static int hist_fail(fl_history_error *err, const fl_event *ev, size_t index, const char *fmt, ...)
{
    if (!err)
        return FL_ESYNTAX;
    err->line = ev->line;
    int n = 0;
    if (!ev->line)
        n = snprintf(err->msg, sizeof(err->msg), "event %zu: ", index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return FL_ESYNTAX;
}

static size_t slot_of(const pending_map *m, int64_t proc)
{
    uint64_t x = (uint64_t)proc * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(x >> 20) & (m->cap - 1);
    while (m->occ[i] && m->proc[i] != proc)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int map_grow(pending_map *m)
{
    pending_map n = {.cap = m->cap ? m->cap * 2 : 64, .next = m->next};
    n.proc = calloc(n.cap, sizeof(*n.proc));
    n.op = calloc(n.cap, sizeof(*n.op));
    n.tail = calloc(n.cap, sizeof(*n.tail));
    n.occ = calloc(n.cap, sizeof(*n.occ));
    if (!n.proc || !n.op || !n.tail || !n.occ) {
        free(n.proc);
        free(n.op);
        free(n.tail);
        free(n.occ);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->occ[i])
            continue;
        size_t j = slot_of(&n, m->proc[i]);
        n.proc[j] = m->proc[i];
        n.op[j] = m->op[i];
        n.tail[j] = m->tail[i];
        n.occ[j] = 1;
        n.used++;
    }
    free(m->proc);
    free(m->op);
    free(m->tail);
    free(m->occ);
    *m = n;
    return 0;
}

static bool is_scalar(fl_value v)
{
    return v.kind == FL_VALUE_INT || v.kind == FL_VALUE_STR;
}

/* Checks an invocation's value shape and fills the op's arguments. */
static int take_invoke(const fl_event *ev, size_t i, fl_op *op, fl_history_error *err)
{
    const char *fname = fl_op_f_name((fl_op_f)ev->f);
    switch ((fl_op_f)ev->f) {
    case FL_F_CAS:
        if (!ev->pair)
            return hist_fail(err, ev, i, "cas needs a value pair [expected, new]");
        if (ev->value.kind == FL_VALUE_NONE || ev->value2.kind == FL_VALUE_NONE)
            return hist_fail(err, ev, i, "cas needs a value pair [expected, new]");
        op->in = ev->value;
        op->in2 = ev->value2;
        return 0;
    case FL_F_WRITE:
    case FL_F_PUT:
    case FL_F_APPEND:
        if (ev->pair || !is_scalar(ev->value))
            return hist_fail(err, ev, i, "%s needs an integer or string value", fname);
        op->in = ev->value;
        return 0;
    case FL_F_INCR:
        if (ev->pair || (ev->value.kind != FL_VALUE_INT && ev->value.kind != FL_VALUE_NONE &&
                         ev->value.kind != FL_VALUE_NIL))
            return hist_fail(err, ev, i, "incr takes an integer delta");
        op->in = ev->value.kind == FL_VALUE_INT ? ev->value : fl_value_int(1);
        return 0;
    case FL_F_READ:
    case FL_F_GET:
    case FL_F_DELETE:
    case FL_F_COUNT:
        return 0;
    }
    return 0;
}

static int take_completion(const fl_event *ev, size_t i, fl_op *op, fl_history_error *err)
{
    if (ev->f != op->f)
        return hist_fail(err, ev, i, "completion f '%s' does not match invocation f '%s'",
                         fl_op_f_name((fl_op_f)ev->f), fl_op_f_name((fl_op_f)op->f));
    op->outcome = ev->type;
    op->ret = (uint32_t)i;
    if ((op->f == FL_F_READ || op->f == FL_F_GET) && ev->type == FL_EV_OK) {
        if (ev->pair)
            return hist_fail(err, ev, i, "a %s returns one value, not a pair",
                             fl_op_f_name((fl_op_f)op->f));
        op->out = ev->value.kind == FL_VALUE_NONE ? fl_value_nil() : ev->value;
    }
    return 0;
}

static int pair_event(const fl_history *h, size_t i, pending_map *m, fl_op *ops, size_t *count,
                      fl_history_error *err)
{
    const fl_event *ev = &h->events[i];
    if (m->used * 2 >= m->cap && map_grow(m))
        return FL_ENOMEM;
    size_t s = slot_of(m, ev->process);
    if (ev->type == FL_EV_INVOKE) {
        if (m->op[s] && !h->pipelined)
            return hist_fail(err, ev, i,
                             "process %lld invokes while its op of line %u is pending (a "
                             "pipelined history? check it with --pipelined)",
                             (long long)ev->process, h->events[ops[m->op[s] - 1].call].line);
        fl_op *op = &ops[*count];
        memset(op, 0, sizeof(*op));
        op->process = ev->process;
        op->f = ev->f;
        op->key = ev->key;
        op->outcome = FL_EV_INFO;
        op->call = (uint32_t)i;
        op->ret = FL_EV_NONE;
        int rc = take_invoke(ev, i, op, err);
        if (rc)
            return rc;
        if (!m->occ[s]) {
            m->occ[s] = 1;
            m->proc[s] = ev->process;
            m->used++;
        }
        uint32_t id = (uint32_t)++ * count;
        if (m->op[s]) /* pipelined: behind the process's other pending ops */
            m->next[m->tail[s] - 1] = id;
        else
            m->op[s] = id;
        m->tail[s] = id;
        return 0;
    }
    if (!m->occ[s] || !m->op[s])
        return hist_fail(err, ev, i, "%s of process %lld without a pending invoke",
                         fl_ev_type_name((fl_ev_type)ev->type), (long long)ev->process);
    uint32_t oldest = m->op[s] - 1;
    int rc = take_completion(ev, i, &ops[oldest], err);
    m->op[s] = m->next ? m->next[oldest] : 0;
    return rc;
}

int fl_history_ops(const fl_history *h, fl_op **ops_out, size_t *count_out, fl_history_error *err)
{
    *ops_out = NULL;
    *count_out = 0;
    if (h->count >= FL_EV_NONE)
        return FL_ETOOBIG;
    fl_op *ops = malloc((h->count ? h->count : 1) * sizeof(*ops));
    pending_map m = {0};
    if (h->pipelined)
        m.next = calloc(h->count ? h->count : 1, sizeof(*m.next));
    if (!ops || (h->pipelined && !m.next) || map_grow(&m)) {
        free(ops);
        free(m.next);
        return FL_ENOMEM;
    }
    size_t count = 0;
    int rc = 0;
    for (size_t i = 0; i < h->count && !rc; i++)
        rc = pair_event(h, i, &m, ops, &count, err);
    free(m.proc);
    free(m.op);
    free(m.tail);
    free(m.occ);
    free(m.next);
    if (rc) {
        free(ops);
        return rc;
    }
    *ops_out = ops;
    *count_out = count;
    return 0;
}
