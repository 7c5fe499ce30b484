/* lin_part.c: checking ops against a model, and building a partition (one key's ops) into
 * the form the search walks: local op numbers, value ids, the two entry lists. */
#include "lin_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int model_fail(const fl_history *h, const fl_op *op, fl_history_error *err, const char *fmt,
                      ...)
{
    if (!err)
        return FL_ESYNTAX;
    const fl_event *ev = &h->events[op->call];
    err->line = ev->line;
    int n = ev->line ? 0 : snprintf(err->msg, sizeof(err->msg), "event %u: ", op->call);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return FL_ESYNTAX;
}

static bool f_in_model(fl_op_f f, fl_model m)
{
    switch (m) {
    case FL_MODEL_REGISTER:
        return f == FL_F_READ || f == FL_F_WRITE;
    case FL_MODEL_CAS_REGISTER:
        return f == FL_F_READ || f == FL_F_WRITE || f == FL_F_CAS;
    case FL_MODEL_KV:
        return true;
    }
    return false;
}

int fl__lin_validate(const fl_history *h, const fl_op *op, fl_model m, fl_history_error *err)
{
    if (!f_in_model((fl_op_f)op->f, m))
        return model_fail(h, op, err, "f '%s' is not an operation of the %s model",
                          fl_op_f_name((fl_op_f)op->f), fl_model_name(m));
    if (m == FL_MODEL_KV)
        return 0; /* integers, strings and nil are all values of kv */
    bool bad =
        op->in.kind == FL_VALUE_STR || op->in2.kind == FL_VALUE_STR || op->out.kind == FL_VALUE_STR;
    if (op->f == FL_F_WRITE && op->in.kind != FL_VALUE_INT)
        bad = true;
    if (bad)
        return model_fail(h, op, err, "value of the wrong type: %s values are integers",
                          fl_model_name(m));
    return 0;
}

static uint8_t lin_f(fl_op_f f)
{
    switch (f) {
    case FL_F_READ:
    case FL_F_GET:
        return LIN_READ;
    case FL_F_WRITE:
    case FL_F_PUT:
        return LIN_WRITE;
    case FL_F_CAS:
        return LIN_CAS;
    case FL_F_APPEND:
        return LIN_APPEND;
    case FL_F_DELETE:
        return LIN_DELETE;
    case FL_F_INCR:
    case FL_F_COUNT:
        break;
    }
    return LIN_INCR;
}

int fl__lin_op_from(lin_vals *v, const fl_history *h, const fl_op *g, lin_op *o)
{
    memset(o, 0, sizeof(*o));
    o->f = lin_f((fl_op_f)g->f);
    o->info = g->outcome != FL_EV_OK;
    int rc = fl__lin_vals_from(v, h, g->in, &o->a);
    if (!rc)
        rc = fl__lin_vals_from(v, h, g->in2, &o->b);
    return rc ? rc : fl__lin_vals_from(v, h, g->out, &o->out);
}

static int build_ops(lin_part *p, const lin_src *src)
{
    const fl_history *h = src->h;
    uint32_t info = 0;
    int rc = 0;
    for (uint32_t i = 0; i < p->n && !rc; i++) {
        const fl_op *g = &src->ops[src->idx[i]];
        lin_op *o = &p->ops[i];
        memset(o, 0, sizeof(*o));
        o->k = src->kidx ? src->kidx[i] : 0;
        o->f = lin_f((fl_op_f)g->f);
        o->info = g->outcome != FL_EV_OK;
        o->blind = o->info && (o->f == LIN_WRITE || o->f == LIN_DELETE);
        o->global = src->idx[i];
        o->info_idx = o->info ? info++ : UINT32_MAX;
        o->ret_e = UINT32_MAX;
        rc = fl__lin_vals_from(&p->vals, h, g->in, &o->a);
        if (!rc)
            rc = fl__lin_vals_from(&p->vals, h, g->in2, &o->b);
        if (!rc)
            rc = fl__lin_vals_from(&p->vals, h, g->out, &o->out);
    }
    p->n_info = info;
    return rc;
}

typedef struct ret_pos {
    uint32_t pos;
    uint32_t op;
} ret_pos;

static int cmp_ret(const void *a, const void *b)
{
    const ret_pos *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void push_entry(lin_part *p, uint32_t op, bool call, uint32_t *last_n)
{
    uint32_t e = p->n_entries++;
    lin_entry *x = &p->entries[e];
    x->op = op;
    x->call = call;
    x->prev = e - 1;
    x->next = 0;
    p->entries[e - 1].next = e;
    x->nprev = x->nnext = 0;
    if (!p->ops[op].info) {
        x->nprev = *last_n;
        p->entries[*last_n].nnext = e;
        *last_n = e;
    }
    if (call)
        p->ops[op].call_e = e;
    else
        p->ops[op].ret_e = e;
}

/* Merges the calls (already in order) with the returns sorted by position. */
static int build_entries(lin_part *p, const fl_op *ops)
{
    ret_pos *rets = malloc(((size_t)p->n + 1) * sizeof(*rets));
    p->entries = calloc((size_t)p->n * 2 + 1, sizeof(*p->entries));
    if (!rets || !p->entries) {
        free(rets);
        return FL_ENOMEM;
    }
    uint32_t nr = 0;
    for (uint32_t i = 0; i < p->n; i++)
        if (!p->ops[i].info)
            rets[nr++] = (ret_pos){ops[p->ops[i].global].ret, i};
    qsort(rets, nr, sizeof(*rets), cmp_ret);
    p->n_entries = 1; /* sentinel */
    uint32_t last_n = 0, c = 0, r = 0;
    while (c < p->n || r < nr) {
        bool take_call = c < p->n && (r == nr || ops[p->ops[c].global].call < rets[r].pos);
        if (take_call)
            push_entry(p, c++, true, &last_n);
        else
            push_entry(p, rets[r++].op, false, &last_n);
    }
    free(rets);
    return 0;
}

void fl__lin_adjust(lin_part *p, uint32_t *count, uint32_t u, int delta)
{
    bool before = p->okobs[u] && !p->writers[u];
    count[u] = (uint32_t)((int64_t)count[u] + delta);
    bool after = p->okobs[u] && !p->writers[u];
    p->doomed = (uint32_t)((int64_t)p->doomed + after - before);
    if (p->lenrule)
        fl__lin_len_adjust(p, count, u, delta);
}

static void build_doom(lin_part *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        const lin_op *o = &p->ops[i];
        if (o->f == LIN_READ && !o->info)
            p->okobs[o->out]++;
        else if (o->f == LIN_CAS) {
            p->okobs[o->a] += !o->info;
            p->writers[o->b]++;
        } else if (o->f == LIN_WRITE)
            p->writers[o->a]++;
        else if (o->f == LIN_DELETE)
            p->writers[LIN_NIL]++;
    }
    p->doomed = 0;
    for (uint32_t u = 0; u < p->vals.count; u++)
        p->doomed += p->okobs[u] && !p->writers[u];
}

static int build_observers(lin_part *p)
{
    p->observers = calloc(p->vals.count, sizeof(*p->observers));
    p->okobs = calloc(p->vals.count, sizeof(*p->okobs));
    p->writers = calloc(p->vals.count, sizeof(*p->writers));
    if (!p->observers || !p->okobs || !p->writers)
        return FL_ENOMEM;
    p->prune = true;
    for (uint32_t i = 0; i < p->n; i++) {
        const lin_op *o = &p->ops[i];
        if (o->f == LIN_APPEND || o->f == LIN_INCR)
            p->prune = false; /* they observe every state */
        else if (o->f == LIN_READ)
            p->observers[o->out]++;
        else if (o->f == LIN_CAS)
            p->observers[o->a]++;
    }
    return 0;
}

/* Drops the info blind writes whose value no op observes (no read of it, no cas expecting
 * it): in any linearization such a write is followed by another write, or by nothing, so
 * leaving it out changes nothing. Renumbers the ops and the info ranks. */
static void drop_unobserved(lin_part *p)
{
    uint32_t n = 0, info = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        lin_op *o = &p->ops[i];
        uint32_t v = o->f == LIN_DELETE ? LIN_NIL : o->a;
        if (p->prune && o->blind && !p->observers[v])
            continue;
        if (o->info)
            o->info_idx = info++;
        p->ops[n++] = *o;
    }
    p->n = n;
    p->n_info = info;
}

typedef struct effect {
    uint8_t f;
    uint32_t a, b, po, op;
} effect;

static int cmp_effect(const void *x, const void *y)
{
    const effect *p = x, *q = y;
    if (p->f != q->f)
        return p->f < q->f ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    if (p->po != q->po)
        return p->po < q->po ? -1 : 1;
    return (p->op > q->op) - (p->op < q->op);
}

/* Links each info op to the previous info op (in invocation order) with the same effect and
 * the same program-order predecessor (so the earlier one can stand in for the later one
 * wherever that one may go): the search takes such twins in invocation order only.
 * O(n log n). */
static int link_info_twins(lin_part *p)
{
    effect *e = malloc(((size_t)p->n_info + 1) * sizeof(*e));
    if (!e)
        return FL_ENOMEM;
    uint32_t m = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        lin_op *o = &p->ops[i];
        o->twin_prev = UINT32_MAX;
        if (o->info)
            e[m++] = (effect){o->f, o->a, o->f == LIN_CAS ? o->b : 0, o->po_prev, i};
    }
    qsort(e, m, sizeof(*e), cmp_effect);
    for (uint32_t j = 1; j < m; j++)
        if (e[j].f == e[j - 1].f && e[j].a == e[j - 1].a && e[j].b == e[j - 1].b &&
            e[j].po == e[j - 1].po)
            p->ops[e[j].op].twin_prev = e[j - 1].op;
    free(e);
    return 0;
}

int fl__lin_cmp_proc_op(const void *a, const void *b)
{
    const lin_proc_op *x = a, *y = b;
    if (x->process != y->process)
        return x->process < y->process ? -1 : 1;
    return (x->op > y->op) - (x->op < y->op);
}

/* Program order of a pipelined history: each op's po_prev is the latest ok op of its process
 * invoked before it, when that one was still open at its invocation (an edge real time
 * already implies is left out: the constraints compose, so order is kept either way). Only
 * ok ops are predecessors: an info op may never take effect, and nothing waits for it.
 * O(n log n). */
static int link_program_order(lin_part *p, const fl_op *gops)
{
    lin_proc_op *all = malloc(((size_t)p->n + 1) * sizeof(*all));
    if (!all)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < p->n; i++)
        all[i] = (lin_proc_op){gops[p->ops[i].global].process, i};
    qsort(all, p->n, sizeof(*all), fl__lin_cmp_proc_op);
    uint32_t last = UINT32_MAX; /* the latest ok op of the process seen */
    for (uint32_t j = 0; j < p->n; j++) {
        if (j > 0 && all[j].process != all[j - 1].process)
            last = UINT32_MAX;
        lin_op *o = &p->ops[all[j].op];
        if (last != UINT32_MAX && gops[p->ops[last].global].ret > gops[o->global].call) {
            o->po_prev = last;
            p->po = true;
        }
        if (!o->info)
            last = all[j].op;
    }
    free(all);
    return 0;
}

/* What a partition of count ops holds, before its values: ops, entries, info_below. */
static uint64_t part_bytes(uint32_t count)
{
    return ((uint64_t)count + 1) * (sizeof(lin_op) + 2 * sizeof(lin_entry) + sizeof(uint32_t));
}

int fl__lin_part_build(lin_part *p, const lin_src *src, lin_shared *s)
{
    uint32_t count = src->count;
    memset(p, 0, sizeof(*p));
    fl__lin_vals_init(&p->vals);
    p->key = count && src->nkeys <= 1 ? src->ops[src->idx[0]].key : FL_KEY_NONE;
    p->gops = src->ops;
    p->nkeys = src->nkeys ? src->nkeys : 1;
    p->n = count;
    if (!fl__lin_mem_take(s, part_bytes(count)))
        return FL_ETOOBIG;
    p->bytes = part_bytes(count);
    p->ops = malloc(((size_t)count + 1) * sizeof(*p->ops));
    p->info_below = malloc(((size_t)count + 1) * sizeof(*p->info_below));
    if (!p->ops || !p->info_below || p->vals.count != 1)
        return FL_ENOMEM;
    int rc = fl__lin_vals_from(&p->vals, src->h, src->initial, &p->init);
    if (!rc)
        rc = build_ops(p, src);
    if (!rc)
        rc = build_observers(p);
    if (rc)
        return rc;
    drop_unobserved(p);
    build_doom(p); /* its counts serve the length rule too */
    if (!p->prune && (rc = fl__lin_len_build(p)))
        return rc;
    for (uint32_t i = 0; i < p->n; i++)
        p->ops[i].po_prev = UINT32_MAX;
    if (src->h->pipelined && (rc = link_program_order(p, src->ops)))
        return rc;
    if ((rc = link_info_twins(p)))
        return rc;
    if ((rc = build_entries(p, src->ops)))
        return rc;
    p->info_below[0] = 0;
    for (uint32_t i = 0; i < p->n; i++)
        p->info_below[i + 1] = p->info_below[i] + p->ops[i].info;
    /* values and the per-value counts: known only now */
    uint64_t more = p->vals.bytes + (uint64_t)p->vals.count * 10 * sizeof(uint32_t);
    if (p->lenrule) /* the prefix rule's lists */
        more += (uint64_t)p->adj_start[p->rank_cap] * sizeof(uint32_t);
    if (!fl__lin_mem_take(s, more))
        return FL_ETOOBIG;
    p->bytes += more;
    return 0;
}

void fl__lin_part_release(lin_part *p, lin_shared *s)
{
    fl__lin_mem_give(s, p->bytes);
    fl__lin_part_free(p);
}

void fl__lin_part_free(lin_part *p)
{
    free(p->ops);
    free(p->entries);
    free(p->info_below);
    free(p->observers);
    free(p->okobs);
    free(p->writers);
    free(p->obs_len);
    free(p->obs_rank);
    free(p->set_len);
    free(p->set_rank);
    free(p->reach);
    free(p->adj);
    free(p->adj_start);
    fl__lin_vals_free(&p->vals);
    memset(p, 0, sizeof(*p));
}
