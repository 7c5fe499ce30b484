/* lin_pool.c: the keys of a history, and the pool of threads that checks them (lincheck.h).
 *
 * Keys are checked easiest first: fewest ops open at once, then fewest ops (the search costs
 * grow with both), ties by order of first invocation. Each key has its place in that check
 * order. Unless all_keys, a key found violating records its place in stop_at, and every key
 * after it is abandoned (its search gives up at the next check, a key not started is not
 * started); keys before it go on, so the key reported is the first violating one in check
 * order, whatever the number of threads.
 *
 * Sequential consistency: a key is first searched for linearizability (which implies it, and
 * is the cheaper search), for a bounded number of steps; a key not found linearizable within
 * them is searched again for sequential consistency, from a fresh partition. */
#include "lin_internal.h"

#include "faultline/error.h"
#include "faultline/heap.h"

/* Steps of the linearizability search tried first for sequential consistency: enough for a
 * linearizable key (a few per op), not for a long refutation, which proves nothing here. */
#define PREPASS_STEPS(n) (100000u + 64u * (uint64_t)(n))

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ops that constrain nothing are left out: fail ops, and reads whose outcome is unknown. */
static bool searched(const fl_op *op)
{
    if (op->outcome == FL_EV_FAIL)
        return false;
    bool read = op->f == FL_F_READ || op->f == FL_F_GET;
    return !(read && op->outcome != FL_EV_OK);
}

void fl__lin_split_free(lin_split *pl)
{
    free(pl->idx);
    free(pl->start);
    free(pl->of);
    memset(pl, 0, sizeof(*pl));
}

int fl__lin_split(const fl_history *h, const fl_op *ops, size_t n, lin_split *pl)
{
    size_t nkeys = (size_t)h->str_count + 1; /* + FL_KEY_NONE */
    uint32_t *part_of = malloc(nkeys * sizeof(*part_of));
    uint32_t *fill = calloc(nkeys + 1, sizeof(*fill));
    pl->idx = malloc((n + 1) * sizeof(*pl->idx));
    pl->start = calloc(nkeys + 1, sizeof(*pl->start));
    pl->of = malloc((n + 1) * sizeof(*pl->of));
    pl->n = n;
    if (!part_of || !fill || !pl->idx || !pl->start || !pl->of) {
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
        pl->of[i] = UINT32_MAX;
        if (!searched(&ops[i]))
            continue;
        size_t k = ops[i].key == FL_KEY_NONE ? nkeys - 1 : ops[i].key;
        uint32_t p = part_of[k];
        pl->idx[pl->start[p] + fill[p]++] = (uint32_t)i;
        pl->of[i] = p;
    }
    free(part_of);
    free(fill);
    return 0;
}

/* The most ops of partition p open at once: an ok op from its invocation to its completion,
 * any other (info) from its invocation on. O(n log n). */
static int concurrency(const lin_split *pl, const fl_op *ops, uint32_t p, uint32_t *out)
{
    fl_heap open;
    fl_heap_init(&open, SIZE_MAX);
    size_t most = 0;
    int rc = 0;
    for (uint32_t i = pl->start[p]; i < pl->start[p + 1] && !rc; i++) {
        const fl_op *op = &ops[pl->idx[i]];
        const fl_heap_item *top;
        while ((top = fl_heap_peek(&open)) && top->key < op->call) {
            fl_heap_item gone;
            fl_heap_pop(&open, &gone);
        }
        rc = fl_heap_push(&open, op->outcome == FL_EV_OK ? op->ret : UINT64_MAX, 0);
        most = fl_heap_count(&open) > most ? fl_heap_count(&open) : most;
    }
    fl_heap_free(&open);
    *out = (uint32_t)most;
    return rc;
}

typedef struct rank {
    uint32_t conc, size, part;
} rank;

static int cmp_rank(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->conc != y->conc)
        return x->conc < y->conc ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return (x->part > y->part) - (x->part < y->part);
}

/* Fills w->order and w->conc: easiest first. */
static int plan(lin_pool *w)
{
    const lin_split *pl = w->pl;
    uint32_t n = pl->count;
    rank *ranks = malloc(((size_t)n + 1) * sizeof(*ranks));
    w->order = malloc(((size_t)n + 1) * sizeof(*w->order));
    w->conc = malloc(((size_t)n + 1) * sizeof(*w->conc));
    if (!ranks || !w->order || !w->conc) {
        free(ranks);
        return FL_ENOMEM;
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = concurrency(pl, w->ops, i, &w->conc[i]);
        ranks[i] = (rank){w->conc[i], pl->start[i + 1] - pl->start[i], i};
    }
    qsort(ranks, n, sizeof(*ranks), cmp_rank);
    for (uint32_t i = 0; i < n; i++)
        w->order[i] = ranks[i].part;
    free(ranks);
    return rc;
}

/* A key that is not linearizable may still be sequentially consistent: search that. */
static int then_sequential(lin_pool *w, lin_part *part, const lin_src *src, lin_outcome *out)
{
    if (out->verdict == FL_LIN_OK) {
        out->lin_ok = true;
        return 0;
    }
    bool budget = out->verdict == FL_LIN_UNKNOWN && out->unknown == LIN_WHY_BUDGET;
    if (out->verdict != FL_LIN_VIOLATION && !budget)
        return 0; /* undecided: timeout, memory, or stopped */
    fl__lin_cex_free(&out->cex);
    uint32_t pos = part->pos;
    fl__lin_part_release(part, &w->sh);
    int rc = fl__lin_part_build(part, src, &w->sh);
    part->pos = pos;
    return rc ? rc : fl__lin_seq_search(part, &w->sh, false, 0, out);
}

static void check_part(lin_pool *w, uint32_t pos)
{
    uint32_t p = w->order[pos];
    lin_outcome *out = &w->outs[p];
    lin_src src = {.h = w->h,
                   .ops = w->ops,
                   .idx = w->pl->idx + w->pl->start[p],
                   .count = w->pl->start[p + 1] - w->pl->start[p],
                   .nkeys = 1,
                   .initial = w->o->initial};
    lin_part part;
    memset(&part, 0, sizeof(part));
    part.pos = pos;
    out->verdict = FL_LIN_UNKNOWN;
    if (fl__lin_give_up(&part, &w->sh, &out->unknown))
        return;
    int rc = fl__lin_part_build(&part, &src, &w->sh);
    part.pos = pos;
    bool seq = w->o->consistency == FL_CONS_SEQUENTIAL;
    if (!rc) /* for sequential consistency, a bounded try: its refutation does not count */
        rc = fl__lin_search(&part, &w->sh, seq ? PREPASS_STEPS(src.count) : 0, out);
    if (!rc && seq)
        rc = then_sequential(w, &part, &src, out);
    fl__lin_part_release(&part, &w->sh);
    if (rc) {
        fl__lin_cex_free(&out->cex);
        out->verdict = FL_LIN_UNKNOWN;
        out->unknown = FL_LIN_WHY_MEMORY;
    }
    if (out->verdict == FL_LIN_VIOLATION && !w->o->all_keys) {
        unsigned first = atomic_load(&w->sh.stop_at);
        while (pos < first && !atomic_compare_exchange_weak(&w->sh.stop_at, &first, pos))
            ;
    }
}

static void *worker(void *arg)
{
    lin_pool *w = arg;
    for (;;) {
        uint32_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->pl->count)
            return NULL;
        check_part(w, i);
    }
}

unsigned fl__lin_threads(unsigned wanted, uint32_t parts)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned t = wanted ? wanted : (cores > 0 ? (unsigned)cores : 1);
    if (t > LIN_THREADS_MAX)
        t = LIN_THREADS_MAX;
    return t > parts ? (parts ? parts : 1) : t;
}

int fl__lin_pool_run(lin_pool *w, unsigned threads)
{
    int rc = plan(w);
    atomic_store(&w->sh.stop_at, UINT32_MAX);
    pthread_t tid[LIN_THREADS_MAX];
    unsigned started = 0;
    for (unsigned i = 1; i < threads && !rc; i++)
        if (pthread_create(&tid[started], NULL, worker, w) == 0)
            started++;
    if (!rc)
        worker(w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    return rc;
}

void fl__lin_pool_free(lin_pool *w)
{
    free(w->order);
    free(w->conc);
    w->order = NULL;
    w->conc = NULL;
}

/* Sequential consistency is not local: when every key is sequentially consistent but some
 * are not linearizable, the whole history is searched as one, the keys' states side by side.
 * Every searched op of every key, in invocation order. */
int fl__lin_pool_whole(lin_pool *w, bool realtime, uint64_t step_max, lin_outcome *out)
{
    const lin_split *pl = w->pl;
    uint32_t *idx = malloc((pl->n + 1) * sizeof(*idx));
    uint32_t *kidx = malloc((pl->n + 1) * sizeof(*kidx));
    int rc = idx && kidx ? 0 : FL_ENOMEM;
    uint32_t m = 0;
    for (size_t i = 0; i < pl->n && !rc; i++)
        if (pl->of[i] != UINT32_MAX) {
            idx[m] = (uint32_t)i;
            kidx[m++] = pl->of[i];
        }
    lin_src src = {.h = w->h,
                   .ops = w->ops,
                   .idx = idx,
                   .kidx = kidx,
                   .count = m,
                   .nkeys = pl->count,
                   .initial = w->o->initial};
    lin_part part;
    memset(&part, 0, sizeof(part));
    if (!rc)
        rc = fl__lin_part_build(&part, &src, &w->sh);
    if (!rc)
        rc = fl__lin_seq_search(&part, &w->sh, realtime, step_max, out);
    fl__lin_part_release(&part, &w->sh);
    free(idx);
    free(kidx);
    if (rc) {
        out->verdict = FL_LIN_UNKNOWN;
        out->unknown = FL_LIN_WHY_MEMORY;
    }
    return 0;
}
