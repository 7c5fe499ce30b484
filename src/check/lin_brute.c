/* lin_brute.c: a brute-force checker of linearizability and sequential consistency, for
 * cross-checking the real one in tests. Written independently of lin_search.c and
 * lin_seq.c: per key, it tries every order of the ops (each info op either placed somewhere
 * or left out) that respects real time (linearizable: an op completed before another was
 * invoked comes first) or each process's order (sequential: the same, between ops of one
 * process only), stepping a plain value model from the initial value. Exponential: at most
 * BRUTE_OPS_MAX ops per key. */
#include "faultline/lincheck.h"

#include "faultline/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BRUTE_OPS_MAX 10
#define BRUTE_TEXT    256

typedef struct bstate {
    int kind; /* FL_VALUE_NIL, FL_VALUE_INT, FL_VALUE_STR */
    int64_t i;
    char s[BRUTE_TEXT];
} bstate;

typedef struct brute {
    const fl_history *h;
    const fl_op *ops[BRUTE_OPS_MAX];
    int key_of[BRUTE_OPS_MAX]; /* the op's key, numbered within the group */
    int n;
    bool sequential;
    bool pipelined;
} brute;

static void to_state(const fl_history *h, fl_value v, bstate *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = v.kind == FL_VALUE_NONE ? FL_VALUE_NIL : (int)v.kind;
    out->i = v.i;
    if (v.kind == FL_VALUE_STR)
        snprintf(out->s, sizeof(out->s), "%s", fl_history_str(h, v.str, NULL));
}

static bool state_eq(const bstate *a, const bstate *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind == FL_VALUE_INT   ? a->i == b->i
           : a->kind == FL_VALUE_STR ? !strcmp(a->s, b->s)
                                     : true;
}

static void text(const bstate *s, char *out, size_t cap)
{
    if (s->kind == FL_VALUE_INT)
        snprintf(out, cap, "%" PRId64, s->i);
    else
        snprintf(out, cap, "%s", s->kind == FL_VALUE_STR ? s->s : "");
}

/* Applies op to *s; false when the model forbids it. */
static bool apply(const fl_history *h, const fl_op *op, bstate *s)
{
    bstate a, b;
    to_state(h, op->in, &a);
    to_state(h, op->in2, &b);
    switch ((fl_op_f)op->f) {
    case FL_F_READ:
    case FL_F_GET:
        to_state(h, op->out, &a);
        return state_eq(s, &a);
    case FL_F_WRITE:
    case FL_F_PUT:
        *s = a;
        return true;
    case FL_F_CAS:
        if (!state_eq(s, &a))
            return false;
        *s = b;
        return true;
    case FL_F_DELETE:
        memset(s, 0, sizeof(*s));
        s->kind = FL_VALUE_NIL;
        return true;
    case FL_F_APPEND: {
        char x[BRUTE_TEXT], y[BRUTE_TEXT];
        text(s, x, sizeof(x));
        text(&a, y, sizeof(y));
        size_t nx = strlen(x), ny = strlen(y);
        if (nx + ny >= sizeof(s->s))
            ny = sizeof(s->s) - 1 - nx;
        s->kind = FL_VALUE_STR;
        memcpy(s->s, x, nx);
        memcpy(s->s + nx, y, ny);
        s->s[nx + ny] = 0;
        return true;
    }
    case FL_F_INCR:
        if (s->kind == FL_VALUE_STR)
            return false;
        s->i = (int64_t)((uint64_t)(s->kind == FL_VALUE_INT ? s->i : 0) + (uint64_t)a.i);
        s->kind = FL_VALUE_INT;
        return true;
    case FL_F_COUNT:
        break;
    }
    return false;
}

static uint32_t ret_of(const fl_op *op)
{
    return op->outcome == FL_EV_OK ? op->ret : UINT32_MAX;
}

/* Must ok op j come before op i? Real time (linearizable): j completed before i was
 * invoked; the process's order: j is of i's process and completed (pipelined: was invoked)
 * before i was invoked. */
static bool before(const brute *b, const fl_op *j, const fl_op *i)
{
    bool same = j->process == i->process;
    if (ret_of(j) < i->call && (!b->sequential || same))
        return true;
    return b->pipelined && same && j->outcome == FL_EV_OK && j->call < i->call;
}

/* Can op i go next, given the ops already placed (done)? No ok op not yet placed may have
 * to come before it. */
static bool may_go_next(const brute *b, unsigned done, int i)
{
    for (int j = 0; j < b->n; j++)
        if (!(done & 1u << j) && j != i && before(b, b->ops[j], b->ops[i]))
            return false;
    return true;
}

/* st[k]: the state of the group's key k (b->key_of gives each op's). */
static bool search(const brute *b, unsigned done, const bstate *st)
{
    bool all = true;
    for (int j = 0; j < b->n; j++)
        if (!(done & 1u << j) && b->ops[j]->outcome == FL_EV_OK)
            all = false;
    if (all)
        return true;
    for (int i = 0; i < b->n; i++) {
        if (done & 1u << i || !may_go_next(b, done, i))
            continue;
        bstate next[BRUTE_OPS_MAX];
        memcpy(next, st, sizeof(next));
        if (apply(b->h, b->ops[i], &next[b->key_of[i]]) && search(b, done | 1u << i, next))
            return true;
    }
    return false;
}

/* Linearizability is checked key by key (it is local); sequential consistency over the whole
 * history at once (it is not), and so is linearizability with program order (not local
 * either; the checker too, up to 16 keys: whole). So group is one key's ops or all ops. */
static int check_group(const fl_history *h, const fl_lincheck_opts *o, const fl_op *ops, size_t n,
                       size_t first, bool *seen, bool whole)
{
    brute b = {.h = h,
               .n = 0,
               .sequential = o->consistency == FL_CONS_SEQUENTIAL,
               .pipelined = h->pipelined};
    uint32_t keys[BRUTE_OPS_MAX];
    int nkeys = 0;
    for (size_t j = first; j < n; j++) {
        if (!whole && ops[j].key != ops[first].key)
            continue;
        seen[j] = true;
        bool read = ops[j].f == FL_F_READ || ops[j].f == FL_F_GET;
        if (ops[j].outcome == FL_EV_FAIL || (read && ops[j].outcome != FL_EV_OK))
            continue;
        if (b.n == BRUTE_OPS_MAX)
            return FL_EINVAL;
        int k = 0;
        while (k < nkeys && keys[k] != ops[j].key)
            k++;
        if (k == nkeys)
            keys[nkeys++] = ops[j].key;
        b.key_of[b.n] = k;
        b.ops[b.n++] = &ops[j];
    }
    bstate s0[BRUTE_OPS_MAX];
    for (int k = 0; k < BRUTE_OPS_MAX; k++)
        to_state(h, o->initial, &s0[k]);
    return search(&b, 0, s0) ? FL_LIN_OK : FL_LIN_VIOLATION;
}

int fl_lincheck_brute(const fl_history *h, const fl_lincheck_opts *o)
{
    /* the ops carry their f; validation is the real checker's job */
    fl_op *ops;
    size_t n;
    if (fl_history_ops(h, &ops, &n, NULL))
        return FL_EINVAL;
    bool *seen = calloc(n + 1, sizeof(*seen));
    int verdict = seen ? FL_LIN_OK : FL_EINVAL;
    uint32_t keys[17];
    size_t nkeys = 0;
    for (size_t i = 0; i < n && nkeys <= 16; i++) {
        size_t k = 0;
        while (k < nkeys && keys[k] != ops[i].key)
            k++;
        if (k == nkeys)
            keys[nkeys++] = ops[i].key;
    }
    bool whole = o->consistency == FL_CONS_SEQUENTIAL || (h->pipelined && nkeys <= 16);
    for (size_t i = 0; i < n && verdict == FL_LIN_OK; i++)
        if (!seen[i])
            verdict = check_group(h, o, ops, n, i, seen, whole);
    free(seen);
    free(ops);
    return verdict;
}
