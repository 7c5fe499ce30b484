/* histgen_break.c: known-breaking mutations of a history (fl_histgen_break, histgen.h), and
 * the skew that keeps sequential consistency while losing real time (fl_histgen_skew).
 *
 * Each mutation rewrites the value of one ok read so that no linearization can exist, given
 * that every write and cas writes a value of its own:
 *   phantom read: the value was never written by anyone;
 *   stale read:   w1 completed before w2 was invoked, w2 completed before the read was
 *                 invoked, and the read returns w1's value (only w1 ever wrote it, and w1
 *                 precedes w2, which precedes the read);
 *   lost write:   a write completed before the read was invoked, and the read returns the
 *                 initial nil (on a key nobody deletes);
 *   program order (pipelined): the read's own process sent a write w before it, still
 *                 pending when the read was sent, and the read returns the value of a
 *                 write w1 that completed before w was invoked (w1 precedes w in real time,
 *                 w precedes the read in program order). */
#include "faultline/histgen.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static bool is_read(const fl_op *op)
{
    return (op->f == FL_F_READ || op->f == FL_F_GET) && op->outcome == FL_EV_OK;
}

static bool is_ok_write(const fl_op *op)
{
    return (op->f == FL_F_WRITE || op->f == FL_F_PUT) && op->outcome == FL_EV_OK &&
           op->in.kind != FL_VALUE_NIL;
}

/* Stale read candidate: the value of w1 for read r, or false. O(ops). */
static bool stale_value(const fl_op *ops, size_t n, const fl_op *r, fl_value *out)
{
    const fl_op *w2 = NULL;
    for (size_t i = 0; i < n; i++) /* the write invoked last among those done before r */
        if (ops[i].key == r->key && is_ok_write(&ops[i]) && ops[i].ret < r->call &&
            (!w2 || ops[i].call > w2->call))
            w2 = &ops[i];
    if (!w2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ops[i].key == r->key && is_ok_write(&ops[i]) && ops[i].ret < w2->call) {
            *out = ops[i].in;
            return true;
        }
    return false;
}

/* Program-order candidate: the value of w1 for read r, or false. O(ops). */
static bool po_value(const fl_op *ops, size_t n, const fl_op *r, fl_value *out)
{
    const fl_op *w = NULL; /* the write of r's process sent last before r, pending at r */
    for (size_t i = 0; i < n; i++)
        if (ops[i].key == r->key && ops[i].process == r->process && is_ok_write(&ops[i]) &&
            ops[i].call < r->call && ops[i].ret > r->call && (!w || ops[i].call > w->call))
            w = &ops[i];
    if (!w)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ops[i].key == r->key && is_ok_write(&ops[i]) && ops[i].ret < w->call) {
            *out = ops[i].in;
            return true;
        }
    return false;
}

static bool key_has_delete(const fl_op *ops, size_t n, uint32_t key)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].key == key && ops[i].f == FL_F_DELETE)
            return true;
    return false;
}

static bool lost_ok(const fl_op *ops, size_t n, const fl_op *r)
{
    if (key_has_delete(ops, n, r->key))
        return false;
    for (size_t i = 0; i < n; i++)
        if (ops[i].key == r->key && is_ok_write(&ops[i]) && ops[i].ret < r->call)
            return true;
    return false;
}

/* Tries read r; sets the new value and returns true when the mutation applies. */
static bool mutate(const fl_op *ops, size_t n, const fl_op *r, fl_histgen_mutation m, fl_rng *rng,
                   fl_value *v)
{
    switch (m) {
    case FL_MUT_PHANTOM_READ:
        *v = fl_value_int(-1000000000 - (int64_t)fl_rng_below(rng, 1000000));
        return true;
    case FL_MUT_STALE_READ:
        return stale_value(ops, n, r, v);
    case FL_MUT_LOST_WRITE:
        *v = fl_value_nil();
        return lost_ok(ops, n, r);
    case FL_MUT_PROGRAM_ORDER:
        return po_value(ops, n, r, v);
    }
    return false;
}

int fl_histgen_break(fl_history *h, fl_histgen_mutation m, fl_rng *rng)
{
    fl_op *ops;
    size_t n;
    int rc = fl_history_ops(h, &ops, &n, NULL);
    if (rc)
        return rc;
    rc = FL_ENOTFOUND;
    size_t start = n ? (size_t)fl_rng_below(rng, n) : 0;
    for (size_t j = 0; j < n && rc; j++) {
        const fl_op *r = &ops[(start + j) % n];
        fl_value v;
        if (!is_read(r) || !mutate(ops, n, r, m, rng, &v))
            continue;
        h->events[r->ret].value = v;
        rc = 0;
    }
    free(ops);
    return rc;
}

typedef struct shifted {
    fl_time_ns t;
    size_t i; /* the event's place before: ties keep it */
} shifted;

static int cmp_shifted(const void *a, const void *b)
{
    const shifted *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Offsets by process: a small open hash, the processes of h at most. */
static fl_time_ns offset_of(int64_t *procs, fl_time_ns *offs, size_t cap, int64_t p,
                            fl_time_ns max_ns, fl_rng *rng)
{
    size_t i = (size_t)((uint64_t)p * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
    while (procs[i] != INT64_MIN && procs[i] != p)
        i = (i + 1) & (cap - 1);
    if (procs[i] == INT64_MIN) {
        procs[i] = p;
        offs[i] = fl_rng_below(rng, max_ns + 1);
    }
    return offs[i];
}

int fl_histgen_skew(fl_history *h, fl_time_ns max_ns, fl_rng *rng)
{
    size_t cap = 64;
    while (cap < h->count * 2 + 2)
        cap *= 2;
    int64_t *procs = malloc(cap * sizeof(*procs));
    fl_time_ns *offs = malloc(cap * sizeof(*offs));
    shifted *order = malloc((h->count + 1) * sizeof(*order));
    fl_event *copy = malloc((h->count + 1) * sizeof(*copy));
    if (!procs || !offs || !order || !copy) {
        free(procs);
        free(offs);
        free(order);
        free(copy);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++)
        procs[i] = INT64_MIN;
    for (size_t i = 0; i < h->count; i++) {
        fl_event *e = &h->events[i];
        e->time += offset_of(procs, offs, cap, e->process, max_ns, rng);
        order[i] = (shifted){e->time, i};
    }
    qsort(order, h->count, sizeof(*order), cmp_shifted);
    memcpy(copy, h->events, h->count * sizeof(*copy));
    for (size_t i = 0; i < h->count; i++)
        h->events[i] = copy[order[i].i];
    free(procs);
    free(offs);
    free(order);
    free(copy);
    return 0;
}
