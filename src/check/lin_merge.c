/* lin_merge.c: a witness for a pipelined history of several keys, from the keys' own
 * linearizations (lincheck.h, "Program order").
 *
 * Every key alone was found linearizable with program order, and its search left the order it
 * found (lin_outcome.order: a legal sequence of the key's model, info ops it left out never
 * took effect). Those orders interleaved in any way stay legal key by key, so the whole
 * history is linearizable with program order as soon as one interleaving also respects real
 * time and program order across keys: a topological order of the union of the keys' chains,
 * the real-time order (an ok op completed before another was invoked comes first) and each
 * op's program-order predecessor (the latest ok op of its process invoked before it and open
 * at its invocation, as lin_part.c links it within a key). Kahn's rule finds one if the union
 * is acyclic: placing a ready op never makes another unready, so taking any ready op is never
 * wrong. A cycle proves nothing (other orders of the keys may merge): the caller then
 * searches the whole history. Sound either way: a merged order is a linearization, checked
 * here against every constraint but the model, which the keys' searches checked.
 *
 * Cost: O(n log n) to link program order, O(events) to order the completions, then
 * O(n * keys) to merge. */
#include "lin_internal.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

/* rounds of delaying and searching keys again (lin_merge's second part), and the steps of
 * each search */
#define MERGE_ROUNDS      16u
#define RESEARCH_STEPS(n) (100000u + 64u * (uint64_t)(n))

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* po_prev[op] for the searched ops (pl->of), as lin_part.c links them: the latest ok op of
 * the process invoked before it, when that one completed after its invocation. */
static int link_po(const lin_pool *w, uint32_t *po_prev, uint32_t *proc_prev)
{
    const lin_split *pl = w->pl;
    lin_proc_op *all = malloc((pl->n + 1) * sizeof(*all));
    if (!all)
        return FL_ENOMEM;
    uint32_t m = 0;
    for (uint32_t i = 0; i < pl->n; i++) {
        po_prev[i] = proc_prev[i] = UINT32_MAX;
        if (pl->of[i] != UINT32_MAX)
            all[m++] = (lin_proc_op){w->ops[i].process, i};
    }
    qsort(all, m, sizeof(*all), fl__lin_cmp_proc_op);
    uint32_t last = UINT32_MAX;
    for (uint32_t j = 0; j < m; j++) {
        if (j > 0 && all[j].process != all[j - 1].process)
            last = UINT32_MAX;
        const fl_op *o = &w->ops[all[j].op];
        if (last != UINT32_MAX && w->ops[last].ret > o->call)
            po_prev[all[j].op] = last;
        if (j > 0 && all[j].process == all[j - 1].process)
            proc_prev[all[j].op] = all[j - 1].op;
        if (o->outcome == FL_EV_OK)
            last = all[j].op;
    }
    free(all);
    return 0;
}

/* The ok ops of the keys' orders in completion order (event numbers are distinct). */
static int by_completion(const lin_pool *w, uint32_t *rt, uint32_t *rt_n)
{
    size_t events = w->h->count;
    uint32_t *at = malloc((events + 1) * sizeof(*at));
    if (!at)
        return FL_ENOMEM;
    memset(at, 0xff, (events + 1) * sizeof(*at));
    for (uint32_t p = 0; p < w->pl->count; p++)
        for (uint32_t i = 0; i < w->outs[p].order_len; i++) {
            uint32_t op = w->outs[p].order[i];
            if (w->ops[op].outcome == FL_EV_OK && w->ops[op].ret < events)
                at[w->ops[op].ret] = op;
        }
    *rt_n = 0;
    for (size_t e = 0; e < events; e++)
        if (at[e] != UINT32_MAX)
            rt[(*rt_n)++] = at[e];
    free(at);
    return 0;
}

typedef struct merge {
    lin_pool *w;
    const uint32_t *po_prev;
    const uint32_t *proc_prev; /* [op]: the op its process invoked before it, or UINT32_MAX */
    uint8_t *placed;
    uint32_t *rt;
    uint32_t rt_n, rt_at;
    uint32_t *head; /* [p]: ops of key p's order placed */
    uint32_t done;  /* ops placed when the interleaving stopped */
} merge;

/* Whether op may come next: its program-order predecessor placed, and every ok op that
 * completed before its invocation (the first one not placed tells). */
static bool ready(const merge *m, uint32_t op)
{
    uint32_t prev = m->po_prev[op];
    if (prev != UINT32_MAX && !m->placed[prev])
        return false;
    return m->rt_at == m->rt_n || m->w->ops[m->rt[m->rt_at]].ret > m->w->ops[op].call;
}

/* Kahn's rule over the keys' heads: 1 when every op is placed, 0 at a cycle. */
static int interleave(merge *m, uint32_t total)
{
    const lin_pool *w = m->w;
    for (uint32_t done = 0; done < total;) {
        bool moved = false;
        for (uint32_t p = 0; p < w->pl->count; p++) {
            const lin_outcome *o = &w->outs[p];
            while (m->head[p] < o->order_len && ready(m, o->order[m->head[p]])) {
                m->placed[o->order[m->head[p]++]] = 1;
                done++;
                moved = true;
                while (m->rt_at < m->rt_n && m->placed[m->rt[m->rt_at]])
                    m->rt_at++;
            }
        }
        m->done = done;
        if (!moved)
            return 0;
    }
    return 1;
}

/* Re-searches key p of a history whose invocations are delayed to call[] (a restriction of
 * the history: a linearization of it is one of the original), for a bounded number of steps.
 * Returns 1 with w->outs[p].order replaced when it is linearizable, 0 when not found, or a
 * negative code. */
static int research(lin_pool *w, uint32_t p, const uint32_t *call, fl_op *dops)
{
    const lin_split *pl = w->pl;
    uint32_t count = pl->start[p + 1] - pl->start[p];
    uint64_t *by_call = malloc(((size_t)count + 1) * sizeof(*by_call));
    uint32_t *idx = malloc(((size_t)count + 1) * sizeof(*idx));
    int rc = by_call && idx ? 0 : FL_ENOMEM;
    for (uint32_t i = 0; i < count && !rc; i++) {
        uint32_t op = pl->idx[pl->start[p] + i];
        dops[op].call = call[op];
        by_call[i] = (uint64_t)call[op] << 32 | op;
    }
    if (!rc)
        qsort(by_call, count, sizeof(*by_call), cmp_u64);
    for (uint32_t i = 0; i < count && !rc; i++)
        idx[i] = (uint32_t)by_call[i];
    lin_src src = {
        .h = w->h, .ops = dops, .idx = idx, .count = count, .nkeys = 1, .initial = w->o->initial};
    lin_part part;
    lin_outcome out;
    memset(&part, 0, sizeof(part));
    memset(&out, 0, sizeof(out));
    if (!rc)
        rc = fl__lin_part_build(&part, &src, &w->sh);
    if (!rc)
        rc = fl__lin_search(&part, &w->sh, RESEARCH_STEPS(count), &out);
    fl__lin_part_release(&part, &w->sh);
    fl__lin_cex_free(&out.cex);
    free(by_call);
    free(idx);
    if (rc || out.verdict != FL_LIN_OK || !out.order) {
        free(out.order);
        return rc ? rc : 0;
    }
    free(w->outs[p].order);
    w->outs[p].order = out.order;
    w->outs[p].order_len = out.order_len;
    return 1;
}

/* The keys' orders did not interleave: for each op whose program-order predecessor y is on
 * another key, an invocation delayed to the latest invocation up to y in y's key order (y
 * takes effect after it, so must the op) when that is still before the op's completion.
 * Marks the keys whose ops moved; returns how many did. */
static uint32_t delay(const lin_pool *w, const merge *m, uint32_t *call, uint32_t *t,
                      uint8_t *dirty)
{
    for (uint32_t p = 0; p < w->pl->count; p++) {
        uint32_t at = 0;
        for (uint32_t i = 0; i < w->outs[p].order_len; i++) {
            uint32_t op = w->outs[p].order[i];
            at = call[op] > at ? call[op] : at;
            t[op] = at;
        }
    }
    uint32_t moved = 0;
    for (uint32_t p = 0; p < w->pl->count; p++)
        for (uint32_t i = 0; i < w->outs[p].order_len; i++) {
            uint32_t x = w->outs[p].order[i], y = m->po_prev[x];
            if (y == UINT32_MAX || w->pl->of[y] == p || t[y] < call[x])
                continue;
            if (w->ops[x].outcome == FL_EV_OK && t[y] + 1 >= 2 * (uint64_t)w->ops[x].ret)
                continue;
            call[x] = t[y] + 1;
            dirty[p] = 1;
            moved++;
        }
    /* a process's later ops are invoked no earlier (ops are numbered in invocation order) */
    for (uint32_t x = 0; moved && x < w->pl->n; x++) {
        uint32_t q = m->proc_prev[x];
        if (q != UINT32_MAX && call[q] > call[x]) {
            call[x] = call[q];
            dirty[w->pl->of[x]] = 1;
        }
    }
    return moved;
}

/* Up to MERGE_ROUNDS rounds of interleaving, then delaying the ops that broke it and
 * searching their keys again; it stops after two rounds that placed no more ops than the
 * best before, or when a key so delayed is not found linearizable. Returns 1 (merged), 0,
 * or a negative code. */
static int rounds(lin_pool *w, merge *m, uint32_t *call, uint32_t *t, uint8_t *dirty)
{
    uint32_t n = (uint32_t)w->pl->n, keys = w->pl->count;
    fl_op *dops = malloc(((size_t)n + 1) * sizeof(*dops));
    int rc = dops ? 0 : FL_ENOMEM;
    for (uint32_t i = 0; i < n && !rc; i++) {
        dops[i] = w->ops[i];
        dops[i].ret = dops[i].ret == FL_EV_NONE ? FL_EV_NONE : 2 * dops[i].ret;
    }
    uint32_t best = 0, stale = 0; /* the most ops placed by a round; rounds since */
    bool merged = false;
    for (uint32_t r = 0; r < MERGE_ROUNDS && !rc && stale < 2; r++) {
        uint32_t total = 0;
        for (uint32_t p = 0; p < keys; p++)
            total += w->outs[p].order_len;
        memset(m->placed, 0, n);
        memset(m->head, 0, keys * sizeof(*m->head));
        m->rt_at = 0;
        if ((rc = by_completion(w, m->rt, &m->rt_n)) || (rc = interleave(m, total))) {
            merged = rc == 1;
            break;
        }
        stale = m->done > best ? 0 : stale + 1;
        best = m->done > best ? m->done : best;
        memset(dirty, 0, keys);
        if (!delay(w, m, call, t, dirty))
            break;
        bool lost = false; /* a key not linearizable (within the budget) so delayed */
        for (uint32_t p = 0; p < keys && !rc && !lost; p++)
            if (dirty[p] && (rc = research(w, p, call, dops)) >= 0)
                lost = rc == 0, rc = 0;
        if (lost)
            break;
    }
    free(dops);
    return rc < 0 ? rc : merged;
}

int fl__lin_merge(lin_pool *w)
{
    uint32_t n = (uint32_t)w->pl->n;
    for (uint32_t p = 0; p < w->pl->count; p++)
        if (w->outs[p].verdict != FL_LIN_OK || !w->outs[p].order)
            return 0;
    uint32_t *po_prev = malloc(((size_t)n + 1) * sizeof(*po_prev));
    uint32_t *proc_prev = malloc(((size_t)n + 1) * sizeof(*proc_prev));
    uint32_t *rt = malloc(((size_t)n + 1) * sizeof(*rt));
    uint32_t *call = malloc(((size_t)n + 1) * sizeof(*call));
    uint32_t *t = malloc(((size_t)n + 1) * sizeof(*t));
    uint8_t *placed = calloc((size_t)n + 1, 1);
    uint8_t *dirty = calloc((size_t)w->pl->count + 1, 1);
    uint32_t *head = calloc((size_t)w->pl->count + 1, sizeof(*head));
    int rc = po_prev && proc_prev && rt && call && t && placed && dirty && head ? 0 : FL_ENOMEM;
    merge m = {.w = w,
               .po_prev = po_prev,
               .proc_prev = proc_prev,
               .placed = placed,
               .rt = rt,
               .head = head};
    for (uint32_t i = 0; i < n && !rc; i++)
        call[i] = 2 * w->ops[i].call; /* even: an event; odd: just after one */
    if (!rc)
        rc = link_po(w, po_prev, proc_prev);
    if (!rc)
        rc = rounds(w, &m, call, t, dirty);
    free(po_prev);
    free(proc_prev);
    free(rt);
    free(call);
    free(t);
    free(placed);
    free(dirty);
    free(head);
    return rc;
}
