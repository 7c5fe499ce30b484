/* lincheck.c: the checker's entry point: pairs the history into ops, checks them against the
 * model, splits them by key and searches the keys on a pool of threads (lincheck.h).
 *
 * Determinism: the verdict and the counterexample do not depend on the number of threads or
 * on scheduling (the reported key is the first violating one in order of first invocation),
 * except that under a timeout which keys were decided may vary. */
#include "lin_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const model_names[] = {"register", "cas-register", "kv"};

void fl_lincheck_opts_init(fl_lincheck_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->model = FL_MODEL_REGISTER;
}

const char *fl_model_name(fl_model m)
{
    return (unsigned)m <= FL_MODEL_KV ? model_names[m] : "?";
}

bool fl_model_parse(const char *s, fl_model *out)
{
    for (int m = 0; m <= FL_MODEL_KV; m++)
        if (!strcmp(s, model_names[m])) {
            *out = (fl_model)m;
            return true;
        }
    return false;
}

const char *fl_verdict_name(fl_verdict v)
{
    return v == FL_LIN_OK ? "linearizable" : v == FL_LIN_VIOLATION ? "not linearizable" : "unknown";
}

fl_time_ns fl__lin_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

bool fl__lin_mem_take(lin_shared *s, uint64_t bytes)
{
    uint64_t now = atomic_fetch_add(&s->mem, bytes) + bytes;
    if (s->mem_max && now > s->mem_max) {
        atomic_fetch_sub(&s->mem, bytes);
        return false;
    }
    uint64_t peak = atomic_load(&s->mem_peak);
    while (now > peak && !atomic_compare_exchange_weak(&s->mem_peak, &peak, now))
        ;
    return true;
}

void fl__lin_mem_give(lin_shared *s, uint64_t bytes)
{
    atomic_fetch_sub(&s->mem, bytes);
}

/* ---- partitions ---- */

typedef struct part_list {
    uint32_t *idx;   /* op indices, grouped by partition */
    uint32_t *start; /* [p] .. [p+1]: partition p's range in idx */
    uint32_t count;
} part_list;

/* Ops that constrain nothing are left out: fail ops, and reads whose outcome is unknown. */
static bool searched(const fl_op *op)
{
    if (op->outcome == FL_EV_FAIL)
        return false;
    bool read = op->f == FL_F_READ || op->f == FL_F_GET;
    return !(read && op->outcome != FL_EV_OK);
}

static int split_by_key(const fl_history *h, const fl_op *ops, size_t n, part_list *pl)
{
    size_t nkeys = (size_t)h->str_count + 1; /* + FL_KEY_NONE */
    uint32_t *part_of = malloc(nkeys * sizeof(*part_of));
    uint32_t *fill = calloc(nkeys + 1, sizeof(*fill));
    pl->idx = malloc((n + 1) * sizeof(*pl->idx));
    pl->start = calloc(nkeys + 1, sizeof(*pl->start));
    if (!part_of || !fill || !pl->idx || !pl->start) {
        free(part_of);
        free(fill);
        return FL_ENOMEM;
    }
    memset(part_of, 0xff, nkeys * sizeof(*part_of));
    pl->count = 0;
    for (size_t i = 0; i < n; i++) { /* number keys by first invocation, count their ops */
        if (!searched(&ops[i]))
            continue;
        size_t k = ops[i].key == FL_KEY_NONE ? nkeys - 1 : ops[i].key;
        if (part_of[k] == UINT32_MAX)
            part_of[k] = pl->count++;
        pl->start[part_of[k] + 1]++;
    }
    for (uint32_t p = 0; p < pl->count; p++)
        pl->start[p + 1] += pl->start[p];
    for (size_t i = 0; i < n; i++) {
        if (!searched(&ops[i]))
            continue;
        size_t k = ops[i].key == FL_KEY_NONE ? nkeys - 1 : ops[i].key;
        uint32_t p = part_of[k];
        pl->idx[pl->start[p] + fill[p]++] = (uint32_t)i;
    }
    free(part_of);
    free(fill);
    return 0;
}

/* ---- the pool of searching threads ---- */

typedef struct pool {
    const fl_history *h;
    const fl_op *ops;
    const part_list *pl;
    uint32_t *order; /* partitions, largest first */
    atomic_uint next;
    lin_shared sh;
    lin_outcome *outs;
} pool;

static void check_part(pool *w, uint32_t p)
{
    lin_outcome *out = &w->outs[p];
    const uint32_t *idx = w->pl->idx + w->pl->start[p];
    uint32_t count = w->pl->start[p + 1] - w->pl->start[p];
    if (atomic_load(&w->sh.cancel)) {
        out->verdict = FL_LIN_UNKNOWN;
        out->unknown = 1;
        return;
    }
    lin_part part;
    int rc = fl__lin_part_build(&part, w->h, w->ops, idx, count);
    if (!rc)
        rc = fl__lin_search(&part, &w->sh, out);
    fl__lin_part_free(&part);
    if (rc) {
        out->verdict = FL_LIN_UNKNOWN;
        out->unknown = 2;
    }
}

static void *worker(void *arg)
{
    pool *w = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->pl->count)
            return NULL;
        check_part(w, w->order[i]);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static unsigned thread_count(const fl_lincheck_opts *o, uint32_t parts)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned t = o->threads ? o->threads : (cores > 0 ? (unsigned)cores : 1);
    if (t > 256)
        t = 256;
    return t > parts ? (parts ? parts : 1) : t;
}

static int run_pool(pool *w, unsigned threads)
{
    uint32_t n = w->pl->count;
    uint64_t *keys = malloc(((size_t)n + 1) * sizeof(*keys));
    w->order = malloc(((size_t)n + 1) * sizeof(*w->order));
    if (!keys || !w->order) {
        free(keys);
        free(w->order);
        return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) { /* largest first, ties by partition number */
        uint32_t size = w->pl->start[i + 1] - w->pl->start[i];
        keys[i] = (uint64_t)(UINT32_MAX - size) << 32 | i;
    }
    qsort(keys, n, sizeof(*keys), cmp_u64);
    for (uint32_t i = 0; i < n; i++)
        w->order[i] = (uint32_t)keys[i];
    free(keys);
    pthread_t tid[256];
    unsigned started = 0;
    for (unsigned i = 1; i < threads; i++)
        if (pthread_create(&tid[started], NULL, worker, w) == 0)
            started++;
    worker(w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(w->order);
    return 0;
}

/* ---- the entry point ---- */

static void cex_free(fl_lincheck_cex *c)
{
    free(c->prefix);
    free(c->tried);
    free(c->state);
    memset(c, 0, sizeof(*c));
}

static void aggregate(fl_lincheck_result *r, pool *w)
{
    r->verdict = FL_LIN_OK;
    for (uint32_t p = 0; p < w->pl->count; p++) {
        lin_outcome *o = &w->outs[p];
        fl_lincheck_part *rp = &r->parts[p];
        const fl_op *first = &r->ops[w->pl->idx[w->pl->start[p]]];
        rp->key = first->key;
        rp->ops = w->pl->start[p + 1] - w->pl->start[p];
        rp->verdict = (uint8_t)o->verdict;
        rp->unknown = o->unknown;
        rp->states = o->states;
        rp->memo_bytes = o->memo_bytes;
        rp->prefix = o->verdict == FL_LIN_OK ? rp->ops : o->prefix;
        r->stats.states += o->states;
        if (o->verdict == FL_LIN_VIOLATION && !r->has_cex) {
            r->has_cex = true;
            r->cex = o->cex;
            memset(&o->cex, 0, sizeof(o->cex));
        }
        cex_free(&o->cex);
        if (o->verdict == FL_LIN_VIOLATION)
            r->verdict = FL_LIN_VIOLATION;
        else if (o->verdict == FL_LIN_UNKNOWN && r->verdict == FL_LIN_OK)
            r->verdict = FL_LIN_UNKNOWN;
    }
}

static int check_ops(const fl_history *h, const fl_lincheck_opts *o, fl_lincheck_result *r,
                     fl_history_error *err)
{
    int rc = fl_history_ops(h, &r->ops, &r->op_count, err);
    for (size_t i = 0; i < r->op_count && !rc; i++)
        rc = fl__lin_validate(h, &r->ops[i], o->model, err);
    return rc;
}

int fl_lincheck_run(const fl_history *h, const fl_lincheck_opts *o, fl_lincheck_result *r,
                    fl_history_error *err)
{
    memset(r, 0, sizeof(*r));
    fl_time_ns t0 = fl__lin_now_ns();
    int rc = check_ops(h, o, r, err);
    if (rc)
        return rc;
    part_list pl = {0};
    if ((rc = split_by_key(h, r->ops, r->op_count, &pl)))
        goto out;
    pool w = {.h = h, .ops = r->ops, .pl = &pl};
    w.sh.mem_max = o->memory_max_bytes;
    w.sh.deadline_ns = o->timeout_ns ? t0 + o->timeout_ns : 0;
    w.outs = calloc((size_t)pl.count + 1, sizeof(*w.outs));
    r->parts = calloc((size_t)pl.count + 1, sizeof(*r->parts));
    if (!w.outs || !r->parts) {
        free(w.outs);
        rc = FL_ENOMEM;
        goto out;
    }
    r->part_count = pl.count;
    r->stats.threads = thread_count(o, pl.count);
    if (!(rc = run_pool(&w, r->stats.threads)))
        aggregate(r, &w);
    free(w.outs);
    r->stats.memo_bytes = atomic_load(&w.sh.mem_peak);
out:
    free(pl.idx);
    free(pl.start);
    r->stats.ops = r->op_count;
    r->stats.parts = r->part_count;
    r->stats.elapsed_ns = fl__lin_now_ns() - t0;
    return rc;
}

void fl_lincheck_result_free(fl_lincheck_result *r)
{
    free(r->ops);
    free(r->parts);
    cex_free(&r->cex);
    memset(r, 0, sizeof(*r));
}
