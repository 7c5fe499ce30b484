/* observe_stale.c: stale reads counted directly from the history (the rules are stated at
 * fl_observe_compute in observe.h).
 *
 * Positions are event indexes in the history (its real-time order); an op that may take
 * effect at any later time (info, or never completed) completes at INF.
 *
 * Value rule: writer records sorted by (key, value, call) with the prefix maximum of their
 * completion; for a read, the writers invoked before it completed are a prefix of its
 * (key, value) group and the latest completion T among them decides: superseded(T) = some
 * ok write of the key invoked after T completed before the read was invoked. superseded is
 * monotone in T, so all writers are superseded iff the latest one is. Ok writes are sorted
 * by (key, call) with the suffix minimum of their completion: one binary search answers.
 *
 * Append rule: replace ops sorted by (key, call) with the prefix maximum M of completion;
 * ok appends sorted by (key, completion): the owed ones are walked back from the read's
 * invocation. Total: O(n log n) plus the substring searches, bounded by
 * FL_OBSERVE_APPEND_CHECK_MAX per read and FL_OBSERVE_APPEND_SCAN_MAX bytes overall. */
#include "observe_internal.h"

#include "faultline/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define INF INT64_MAX

typedef struct rec {
    uint32_t key;
    uint32_t vkind; /* value rule: FL_VALUE_NIL, INT or STR; 0 elsewhere */
    int64_t vid;    /* the integer or the string id */
    int64_t call;
    int64_t end; /* completion, INF when it may take effect later */
    uint32_t op;
    int64_t agg;     /* prefix max (writers, replaces) or suffix min (ok writes) of end */
    uint32_t agg_op; /* the op of agg (ok writes, replaces) */
    int64_t agg2;    /* replaces: the prefix max of end over the others than agg_op */
} rec;

typedef struct rec_set {
    rec *r;
    size_t n;
} rec_set;

typedef struct stale_ctx {
    const obs_ctx *c;
    fl_observables *o;
    uint8_t *flags; /* per key: KEY_INCR, KEY_APPEND */
    rec_set writers, oks, replaces, appends;
    uint64_t scanned;
} stale_ctx;

enum { KEY_INCR = 1, KEY_APPEND = 2 };

static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->vkind != y->vkind)
        return x->vkind < y->vkind ? -1 : 1;
    if (x->vid != y->vid)
        return x->vid < y->vid ? -1 : 1;
    if (x->call != y->call)
        return x->call < y->call ? -1 : 1;
    return (x->op > y->op) - (x->op < y->op);
}

/* The first record not below (key, vkind, vid, call). */
static size_t lower(const rec_set *s, uint32_t key, uint32_t vkind, int64_t vid, int64_t call)
{
    rec probe = {.key = key, .vkind = vkind, .vid = vid, .call = call, .op = 0};
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_rec(&s->r[mid], &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t key_of(const obs_ctx *c, const fl_op *op)
{
    return op->key < c->h->str_count ? op->key : c->h->str_count;
}

static int64_t end_of(const fl_op *op)
{
    return op->outcome == FL_EV_OK && op->ret != FL_EV_NONE ? (int64_t)op->ret : INF;
}

static bool took_effect_maybe(const fl_op *op)
{
    return !(op->outcome == FL_EV_FAIL && op->ret != FL_EV_NONE);
}

static bool is_replace(fl_op_f f)
{
    return f == FL_F_WRITE || f == FL_F_PUT || f == FL_F_CAS || f == FL_F_DELETE;
}

/* The value an op may set its key to (replace ops only); false when unusable. */
static bool written_value(const fl_op *op, uint32_t *kind, int64_t *id)
{
    fl_value v = op->f == FL_F_CAS ? op->in2 : op->f == FL_F_DELETE ? fl_value_nil() : op->in;
    *kind = v.kind == FL_VALUE_NONE ? FL_VALUE_NIL : v.kind;
    *id = v.kind == FL_VALUE_INT ? v.i : v.kind == FL_VALUE_STR ? (int64_t)v.str : 0;
    return *kind <= FL_VALUE_STR;
}

static void push(rec_set *s, rec r)
{
    s->r[s->n++] = r;
}

/* Fills the four record sets from the ops. */
static void collect(stale_ctx *s)
{
    const obs_ctx *c = s->c;
    for (size_t i = 0; i < c->op_count; i++) {
        const fl_op *op = &c->ops[i];
        uint32_t k = key_of(c, op);
        s->flags[k] |= op->f == FL_F_INCR ? KEY_INCR : op->f == FL_F_APPEND ? KEY_APPEND : 0;
    }
    for (size_t i = 0; i < c->op_count; i++) {
        const fl_op *op = &c->ops[i];
        uint32_t k = key_of(c, op), vk;
        int64_t vid;
        rec r = {.key = k, .call = op->call, .end = end_of(op), .op = (uint32_t)i};
        bool ok = op->outcome == FL_EV_OK && op->ret != FL_EV_NONE;
        if (!is_replace((fl_op_f)op->f)) {
            if (op->f == FL_F_APPEND && ok && (s->flags[k] & KEY_APPEND)) {
                r.call = op->ret; /* appends are sorted by completion */
                r.end = op->call;
                push(&s->appends, r);
            }
            continue;
        }
        if (ok)
            push(&s->oks, r);
        if (!took_effect_maybe(op))
            continue;
        if (s->flags[k] & KEY_APPEND)
            push(&s->replaces, r);
        else if (written_value(op, &vk, &vid))
            push(&s->writers, (rec){k, vk, vid, r.call, r.end, r.op, 0, 0, 0});
    }
}

static void aggregate(stale_ctx *s)
{
    rec_set *sets[] = {&s->writers, &s->oks, &s->replaces, &s->appends};
    for (size_t i = 0; i < 4; i++)
        qsort(sets[i]->r, sets[i]->n, sizeof(rec), cmp_rec);
    rec *r = s->writers.r; /* prefix max of end per (key, value) */
    for (size_t j = 0; j < s->writers.n; j++) {
        bool first = j == 0 || r[j - 1].key != r[j].key || r[j - 1].vkind != r[j].vkind ||
                     r[j - 1].vid != r[j].vid;
        r[j].agg = first || r[j].end > r[j - 1].agg ? r[j].end : r[j - 1].agg;
    }
    r = s->replaces.r; /* the two largest ends per key prefix */
    for (size_t j = 0; j < s->replaces.n; j++) {
        bool first = j == 0 || r[j - 1].key != r[j].key;
        int64_t top = first ? INT64_MIN : r[j - 1].agg, second = first ? INT64_MIN : r[j - 1].agg2;
        bool mine = first || r[j].end > top;
        r[j].agg = mine ? r[j].end : top;
        r[j].agg_op = mine ? r[j].op : r[j - 1].agg_op;
        r[j].agg2 = mine ? top : (r[j].end > second ? r[j].end : second);
    }
    r = s->oks.r; /* suffix min of end per key */
    for (size_t j = s->oks.n; j-- > 0;) {
        bool last = j + 1 == s->oks.n || r[j + 1].key != r[j].key;
        bool mine = last || r[j].end <= r[j + 1].agg;
        r[j].agg = mine ? r[j].end : r[j + 1].agg;
        r[j].agg_op = mine ? r[j].op : r[j + 1].agg_op;
    }
}

static void report(stale_ctx *s, const fl_op *read, const fl_op *newer)
{
    const obs_ctx *c = s->c;
    fl_observe_stales *st = &s->o->stale;
    st->stale++;
    if (st->example_count >= FL_OBSERVE_STALE_MAX)
        return;
    fl_observe_stale *e = &st->example[st->example_count++];
    memset(e, 0, sizeof(*e));
    e->read_invoke = read->call;
    e->read_complete = read->ret;
    e->newer_invoke = newer->call;
    e->newer_complete = newer->ret;
    e->read_invoke_ns = c->h->events[read->call].time;
    e->read_line = c->h->events[read->call].line;
    e->newer_line = c->h->events[newer->call].line;
    if (read->key < c->h->str_count) {
        size_t n;
        const char *k = fl_history_str(c->h, read->key, &n);
        n = n < FL_OBSERVE_KEY_SIZE - 1 ? n : FL_OBSERVE_KEY_SIZE - 1;
        memcpy(e->key, k, n);
    }
}

/* Value rule; returns false when the read cannot be judged. */
static bool judge_value(stale_ctx *s, const fl_op *r)
{
    uint32_t k = key_of(s->c, r);
    fl_op w = {.f = FL_F_WRITE, .in = r->out};
    uint32_t vk;
    int64_t vid;
    if (!written_value(&w, &vk, &vid))
        return false;
    size_t g = lower(&s->writers, k, vk, vid, INT64_MIN);
    size_t e = lower(&s->writers, k, vk, vid, (int64_t)r->ret);
    int64_t t = -1; /* the initial state completed before everything */
    if (e > g)
        t = s->writers.r[e - 1].agg;
    else if (vk != FL_VALUE_NIL)
        return false; /* nobody wrote this value before the read completed */
    s->o->stale.checked++;
    if (t == INF)
        return true;
    size_t i = lower(&s->oks, k, 0, 0, t + 1);
    if (i < s->oks.n && s->oks.r[i].key == k && s->oks.r[i].agg < (int64_t)r->call)
        report(s, r, &s->c->ops[s->oks.r[i].agg_op]);
    return true;
}

static const char *value_text(const obs_ctx *c, fl_value v, char *buf, size_t cap, size_t *n)
{
    if (v.kind == FL_VALUE_STR)
        return fl_history_str(c->h, v.str, n);
    if (v.kind == FL_VALUE_INT) {
        int m = snprintf(buf, cap, "%" PRId64, v.i);
        *n = m > 0 ? (size_t)m : 0;
        return buf;
    }
    *n = 0;
    return "";
}

/* Append rule, replace part: top sums up the replaces invoked before r completed. If one of
 * them, p, completed before r began and every other completed before p began, p is the last
 * replace before r in any linearization: r's value must start with p's value (then appends).
 * Returns p when it does not. */
static const fl_op *missed_replace(const stale_ctx *s, const fl_op *r, const rec *top,
                                   const char *rv, size_t rn)
{
    if (!top || top->agg == INF || top->agg >= (int64_t)r->call)
        return NULL;
    const fl_op *p = &s->c->ops[top->agg_op];
    if (top->agg2 >= (int64_t)p->call || p->f == FL_F_DELETE)
        return NULL;
    char pb[24];
    size_t pn;
    const char *pv = value_text(s->c, p->f == FL_F_CAS ? p->in2 : p->in, pb, sizeof(pb), &pn);
    return pn > rn || memcmp(rv, pv, pn) != 0 ? p : NULL;
}

/* Append rule; returns false when the read cannot be judged (scan budget spent). */
static bool judge_append(stale_ctx *s, const fl_op *r)
{
    const obs_ctx *c = s->c;
    uint32_t k = key_of(c, r);
    size_t g = lower(&s->replaces, k, 0, 0, INT64_MIN);
    size_t e = lower(&s->replaces, k, 0, 0, (int64_t)r->ret);
    const rec *top = e > g ? &s->replaces.r[e - 1] : NULL;
    int64_t m = top ? top->agg : -1;
    char rb[24], ab[24];
    size_t rn, an;
    const char *rv = value_text(c, r->out, rb, sizeof(rb), &rn);
    const fl_op *missed = missed_replace(s, r, top, rv, rn);
    size_t first = lower(&s->appends, k, 0, 0, INT64_MIN);
    size_t i = lower(&s->appends, k, 0, 0, (int64_t)r->call); /* completed before r began */
    for (size_t seen = 0; !missed && i > first && seen < FL_OBSERVE_APPEND_CHECK_MAX; seen++) {
        const rec *a = &s->appends.r[--i];
        if (a->end <= m) /* invoked before a replace may have completed: not owed */
            continue;
        if (s->scanned + rn > FL_OBSERVE_APPEND_SCAN_MAX)
            return false;
        s->scanned += rn;
        const char *av = value_text(c, c->ops[a->op].in, ab, sizeof(ab), &an);
        if (an && !memmem(rv, rn, av, an)) {
            missed = &c->ops[a->op];
            break;
        }
    }
    s->o->stale.checked++;
    if (missed)
        report(s, r, missed);
    return true;
}

int fl__obs_stale(const obs_ctx *c, fl_observables *o)
{
    stale_ctx s = {.c = c, .o = o};
    size_t n = c->op_count ? c->op_count : 1;
    s.flags = calloc((size_t)c->h->str_count + 1, 1);
    s.writers.r = malloc(n * sizeof(rec));
    s.oks.r = malloc(n * sizeof(rec));
    s.replaces.r = malloc(n * sizeof(rec));
    s.appends.r = malloc(n * sizeof(rec));
    int rc = 0;
    if (!s.flags || !s.writers.r || !s.oks.r || !s.replaces.r || !s.appends.r) {
        rc = FL_ENOMEM;
        goto out;
    }
    collect(&s);
    aggregate(&s);
    for (size_t i = 0; i < c->op_count; i++) {
        const fl_op *r = &c->ops[i];
        if ((r->f != FL_F_READ && r->f != FL_F_GET) || r->outcome != FL_EV_OK ||
            r->ret == FL_EV_NONE)
            continue;
        o->stale.reads_ok++;
        uint8_t fl = s.flags[key_of(c, r)];
        bool judged = false;
        if (fl & KEY_INCR)
            judged = false;
        else if (fl & KEY_APPEND)
            judged = judge_append(&s, r);
        else
            judged = judge_value(&s, r);
        o->stale.unchecked += !judged;
    }
out:
    free(s.flags);
    free(s.writers.r);
    free(s.oks.r);
    free(s.replaces.r);
    free(s.appends.r);
    return rc;
}
