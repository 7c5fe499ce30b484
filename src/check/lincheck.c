/* lincheck.c: the checker's entry point: pairs the history into ops, checks them against the
 * model, splits them by key and searches the keys on a pool of threads (lin_pool.c), then
 * gathers the verdicts (lincheck.h).
 *
 * Determinism: the verdict and the counterexample do not depend on the number of threads or
 * on scheduling (the reported key is the first violating one in order of first invocation
 * with all_keys, else the first in check order), except that under a timeout which keys were
 * decided may vary. */
#include "lin_internal.h"

/* steps of the bounded search with real time before a pipelined history's sequential one */
#define WHOLE_RT_STEPS(n) (100000u + 64u * (uint64_t)(n))
/* a pipelined history is searched as a whole with real time up to this many keys: a memo
 * entry holds every key's state (1000 keys: gigabytes in seconds) */
#define WHOLE_KEYS_MAX 16

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>

static const char *const model_names[] = {"register", "cas-register", "kv"};
static const char *const cons_names[] = {"linearizable", "sequential"};

void fl_lincheck_opts_init(fl_lincheck_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->model = FL_MODEL_REGISTER;
    o->consistency = FL_CONS_LINEARIZABLE;
    o->initial = fl_value_nil();
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

const char *fl_consistency_name(fl_consistency c)
{
    return (unsigned)c <= FL_CONS_SEQUENTIAL ? cons_names[c] : "?";
}

bool fl_consistency_parse(const char *s, fl_consistency *out)
{
    for (int c = 0; c <= FL_CONS_SEQUENTIAL; c++)
        if (!strcmp(s, cons_names[c])) {
            *out = (fl_consistency)c;
            return true;
        }
    return false;
}

const char *fl_verdict_text(fl_verdict v, fl_consistency c)
{
    if (c == FL_CONS_LINEARIZABLE || v == FL_LIN_UNKNOWN)
        return fl_verdict_name(v);
    return v == FL_LIN_OK ? "sequentially consistent" : "not sequentially consistent";
}

fl_model fl_model_infer(const fl_history *h)
{
    fl_model m = FL_MODEL_REGISTER;
    for (size_t i = 0; i < h->count; i++) {
        const fl_event *e = &h->events[i];
        bool strings = e->type != FL_EV_FAIL && e->type != FL_EV_INFO &&
                       (e->value.kind == FL_VALUE_STR || e->value2.kind == FL_VALUE_STR);
        if (strings || (e->f != FL_F_READ && e->f != FL_F_WRITE && e->f != FL_F_CAS))
            return FL_MODEL_KV;
        if (e->f == FL_F_CAS)
            m = FL_MODEL_CAS_REGISTER;
    }
    return m;
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

/* ---- the entry point ---- */

void fl__lin_cex_free(fl_lincheck_cex *c)
{
    free(c->prefix);
    free(c->tried);
    free(c->state);
    memset(c, 0, sizeof(*c));
}

int fl__lin_cex_fill(const lin_part *p, const lin_best *b, fl_lincheck_cex *cex)
{
    memset(cex, 0, sizeof(*cex));
    cex->key = b->key;
    cex->prefix = malloc(((size_t)b->len + 1) * sizeof(*cex->prefix));
    cex->tried = malloc(((size_t)b->tried_len + 1) * sizeof(*cex->tried));
    fl_buf t;
    fl_buf_init(&t);
    fl__lin_vals_format(&p->vals, b->state, &t);
    fl_buf_put_u8(&t, 0);
    if (!cex->prefix || !cex->tried || t.err) {
        fl_buf_free(&t);
        return FL_ENOMEM;
    }
    cex->state = (char *)t.data; /* ownership moves to cex */
    for (uint32_t i = 0; i < b->len; i++)
        cex->prefix[i] = p->ops[b->ops[i]].global;
    cex->prefix_len = b->len;
    cex->blocked = b->blocked == UINT32_MAX ? UINT32_MAX : p->ops[b->blocked].global;
    for (uint32_t i = 0; i < b->tried_len; i++)
        cex->tried[i] = p->ops[b->tried[i]].global;
    cex->tried_len = b->tried_len;
    return 0;
}

static void take_part(fl_lincheck_result *r, lin_pool *w, uint32_t p)
{
    lin_outcome *o = &w->outs[p];
    fl_lincheck_part *rp = &r->parts[p];
    const fl_op *first = &r->ops[w->pl->idx[w->pl->start[p]]];
    rp->key = first->key;
    rp->ops = w->pl->start[p + 1] - w->pl->start[p];
    rp->concurrency = w->conc ? w->conc[p] : 0;
    rp->verdict = (uint8_t)o->verdict;
    rp->unknown = o->verdict == FL_LIN_UNKNOWN ? o->unknown : 0;
    rp->states = o->states;
    rp->memo_bytes = o->memo_bytes;
    rp->prefix = o->verdict == FL_LIN_OK ? rp->ops : o->prefix;
    r->stats.states += o->states;
    r->stopped |= o->verdict == FL_LIN_UNKNOWN && o->unknown == FL_LIN_WHY_STOPPED;
    /* a key that is linearizable proves nothing about the whole either when program order is
     * checked only key by key (a pipelined history; lincheck.h) */
    r->per_key |= r->consistency == FL_CONS_SEQUENTIAL && o->verdict == FL_LIN_OK &&
                  (!o->lin_ok || w->h->pipelined);
}

/* The verdict over all keys, and the counterexample: the first violating key by first
 * invocation with all_keys, else the first found in check order (stop_at). */
static void aggregate(fl_lincheck_result *r, lin_pool *w)
{
    r->verdict = FL_LIN_OK;
    uint32_t stop = atomic_load(&w->sh.stop_at);
    uint32_t chosen = stop != UINT32_MAX ? w->order[stop] : UINT32_MAX;
    for (uint32_t p = 0; p < w->pl->count; p++) {
        lin_outcome *o = &w->outs[p];
        take_part(r, w, p);
        if (o->verdict == FL_LIN_VIOLATION && chosen == UINT32_MAX)
            chosen = p;
        if (o->verdict == FL_LIN_VIOLATION)
            r->verdict = FL_LIN_VIOLATION;
        else if (o->verdict == FL_LIN_UNKNOWN && r->verdict == FL_LIN_OK)
            r->verdict = FL_LIN_UNKNOWN;
    }
    if (r->verdict == FL_LIN_VIOLATION) {
        r->has_cex = true;
        r->cex = w->outs[chosen].cex;
        memset(&w->outs[chosen].cex, 0, sizeof(w->outs[chosen].cex));
    }
    for (uint32_t p = 0; p < w->pl->count; p++)
        fl__lin_cex_free(&w->outs[p].cex);
    r->per_key = r->per_key && r->verdict == FL_LIN_OK && w->pl->count > 1;
}

/* The whole history searched at once (lin_seq.c), its verdict the result's. */
static void search_whole(fl_lincheck_result *r, lin_pool *w, bool realtime, uint64_t step_max)
{
    lin_outcome out;
    memset(&out, 0, sizeof(out));
    fl__lin_pool_whole(w, realtime, step_max, &out);
    r->verdict = out.verdict;
    r->stats.states += out.states;
    if (out.verdict == FL_LIN_VIOLATION) {
        r->has_cex = true;
        r->cex = out.cex;
    } else {
        fl__lin_cex_free(&out.cex);
    }
}

/* Every key sequentially consistent, some not linearizable, or a pipelined history (whose
 * linearizable keys prove nothing about the whole): the whole history decides. A pipelined
 * one is first searched with real time too, for a bounded number of steps: linearizable with
 * program order proves it sequentially consistent, and is what a correct store gives, found
 * fast (real time leaves little choice). */
static void whole(fl_lincheck_result *r, lin_pool *w)
{
    if (w->h->pipelined && w->pl->count <= WHOLE_KEYS_MAX) {
        search_whole(r, w, true, WHOLE_RT_STEPS(w->pl->n));
        if (r->verdict == FL_LIN_OK)
            return;
        fl__lin_cex_free(&r->cex);
        r->has_cex = false;
    }
    search_whole(r, w, false, 0);
}

/* A pipelined history of several keys, every key linearizable with program order: program
 * order across keys is checked over the whole history, with real time (lincheck.h), up to
 * WHOLE_KEYS_MAX keys; beyond, the verdict stays the keys' (r->po_keys_only). */
static void whole_linearizable(fl_lincheck_result *r, lin_pool *w)
{
    if (w->pl->count > WHOLE_KEYS_MAX) {
        r->po_keys_only = true;
        return;
    }
    r->whole_po = true;
    int merged = fl__lin_merge(w);
    if (merged == 1) {
        r->po_merged = true;
        return;
    }
    search_whole(r, w, true, 0);
}

static int check_ops(const fl_history *h, const fl_lincheck_opts *o, fl_lincheck_result *r,
                     fl_history_error *err)
{
    int rc = fl_history_ops(h, &r->ops, &r->op_count, err);
    for (size_t i = 0; i < r->op_count && !rc; i++)
        rc = fl__lin_validate(h, &r->ops[i], o->model, err);
    if (rc || o->model == FL_MODEL_KV || o->initial.kind != FL_VALUE_STR)
        return rc;
    if (err) {
        err->line = 0;
        snprintf(err->msg, sizeof(err->msg),
                 "the initial value of the %s model must be an "
                 "integer or nil",
                 fl_model_name(o->model));
    }
    return FL_EINVAL;
}

int fl_lincheck_run(const fl_history *h, const fl_lincheck_opts *o, fl_lincheck_result *r,
                    fl_history_error *err)
{
    memset(r, 0, sizeof(*r));
    r->consistency = o->consistency;
    r->initial = o->initial.kind == FL_VALUE_NONE ? fl_value_nil() : o->initial;
    fl_time_ns t0 = fl__lin_now_ns();
    int rc = check_ops(h, o, r, err);
    if (rc)
        return rc;
    lin_split pl = {0};
    lin_pool w = {.h = h, .ops = r->ops, .o = o, .pl = &pl};
    if ((rc = fl__lin_split(h, r->ops, r->op_count, &pl)))
        goto out;
    w.sh.mem_max = o->memory_max_bytes;
    w.sh.deadline_ns = o->timeout_ns ? t0 + o->timeout_ns : 0;
    w.outs = calloc((size_t)pl.count + 1, sizeof(*w.outs));
    r->parts = calloc((size_t)pl.count + 1, sizeof(*r->parts));
    if (!w.outs || !r->parts) {
        rc = FL_ENOMEM;
        goto out;
    }
    r->part_count = pl.count;
    r->stats.threads = fl__lin_threads(o->threads, pl.count);
    if (!(rc = fl__lin_pool_run(&w, r->stats.threads)))
        aggregate(r, &w);
    if (!rc && r->per_key)
        whole(r, &w);
    else if (!rc && h->pipelined && pl.count > 1 && r->verdict == FL_LIN_OK &&
             o->consistency == FL_CONS_LINEARIZABLE)
        whole_linearizable(r, &w);
    r->stats.memo_bytes = atomic_load(&w.sh.mem_peak);
out:
    for (uint32_t p = 0; w.outs && p < pl.count; p++)
        free(w.outs[p].order);
    free(w.outs);
    fl__lin_pool_free(&w);
    fl__lin_split_free(&pl);
    r->stats.ops = r->op_count;
    r->stats.parts = r->part_count;
    r->stats.elapsed_ns = fl__lin_now_ns() - t0;
    return rc;
}

void fl_lincheck_result_free(fl_lincheck_result *r)
{
    free(r->ops);
    free(r->parts);
    fl__lin_cex_free(&r->cex);
    memset(r, 0, sizeof(*r));
}
