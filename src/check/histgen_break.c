/* histgen_break.c: known-breaking mutations of a history (fl_histgen_break, histgen.h).
 *
 * Each mutation rewrites the value of one ok read so that no linearization can exist, given
 * that every write and cas writes a value of its own:
 *   phantom read: the value was never written by anyone;
 *   stale read:   w1 completed before w2 was invoked, w2 completed before the read was
 *                 invoked, and the read returns w1's value (only w1 ever wrote it, and w1
 *                 precedes w2, which precedes the read);
 *   lost write:   a write completed before the read was invoked, and the read returns the
 *                 initial nil (on a key nobody deletes). */
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
