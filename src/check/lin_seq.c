/* lin_seq.c: sequential consistency of one partition (one key; lincheck.h).
 *
 * Sequential consistency (Lamport) asks for one total order of the ops, legal for the model,
 * in which each process's ops keep their order: an op comes after every op its process
 * completed before invoking it. Real time between processes does not count. An info op may
 * take effect any time after its invocation, or never, so nothing of its process waits for
 * it: it only comes after the op its process completed before it.
 *
 * The search is depth-first over configurations (model state, how many ops of each process
 * are taken, which info ops are taken) with a memo of those visited, as the linearizability
 * search (lin_search.c). The candidates at a configuration are the next op of each process
 * and the info ops whose process got past the op before them; they are tried in invocation
 * order, so the first path tried follows real time, which is right for most of a history.
 *
 * Rules that cut the search (sound; the brute-force cross-check tests them):
 *   1. identity first: a next op that is an ok read of the current state (or an ok cas [v v]
 *      at state v) is the only choice tried at its node: it can move to the front of any
 *      order from there (nothing of its process is left before it, and it changes nothing);
 *   2. unobserved info writes (register-like models): an info write, put or delete is tried
 *      only when it changes the state and some op still to come observes the value it
 *      writes; a history never needs the others (lin_search.c rule 2, lin_part.c);
 *   3. doom (register-like models): a node is dead when an ok read of u (or ok cas expecting
 *      u) is still to come, no op still to come produces u, and the state is not u; or when
 *      one of the next ops of a process (up to its first op that is not a read) reads u (or
 *      cas-expects u), the state is not u, and every producer of u still to come comes after
 *      that op in its own process; with append, the length and prefix rules of lin_append.c
 *      in the same places.
 *
 * The counterexample is the deepest order reached, including the op whose taking a rule
 * found fatal, with the op the rule named (the read that can no longer see its value).
 *
 * The same search runs over a whole history of several keys (p->nkeys > 1), for sequential
 * consistency is not local: the state is then one value per key, and values are shared by
 * all keys (a producer counts for every key, which only weakens the rules).
 *
 * Real time (realtime): an op is a candidate only if no ok op not yet taken completed before
 * it was invoked (the first ok op not taken in completion order, rt_order[rt_at], tells:
 * O(1) per candidate). So the search is for linearizability with program order, which a
 * pipelined history over several keys needs (linearizability is not local with program
 * order, lincheck.h). The rules stay sound: an identity op taken first is a candidate, so
 * everything it must follow is taken; the others only use what must happen in any order.
 *
 * Costs: a step is O(processes + keys + info ops available); a memo key is O(keys +
 * processes + info ops / 32) words. The memo bounds the work by the number of distinct
 * configurations. */
#include "lin_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_EVERY 1024u
#define TRIED_MAX   64u
#define AHEAD_MAX   8u /* ops of a process looked at by the dead-end rules */

typedef struct seq_frame {
    uint32_t op;
    uint32_t state; /* its key's state before the op */
    uint32_t rt_at; /* rt_at before the op */
    bool forced;    /* an identity op: the only choice tried at its node */
} seq_frame;

typedef struct seq {
    lin_part *p;
    lin_shared *sh;
    lin_memo memo;
    /* processes with ok ops, numbered densely; their ok ops in order ("chains") */
    uint32_t np;
    uint32_t *chain_start; /* [q] .. [q+1]: process q's range in chain */
    uint32_t *chain;       /* op numbers */
    uint32_t *pos;         /* [q]: ops of q taken */
    uint32_t *proc_of;     /* [op]: its process, UINT32_MAX for a process without ok ops */
    uint32_t *rank;        /* [op]: ok op: place in its chain; info op: ok ops of its process
                              that come before it */
    uint32_t *self_after;  /* [op]: ok observer of u: producers of u after it in its process */
    uint32_t *info_ops;    /* the info ops, in invocation order */
    uint32_t *when;        /* [op]: the order candidates are tried in (its completion's event
                              number, the invocation's for an info op; all distinct) */
    uint32_t *info_lin;    /* bitmap over info ops: taken */
    uint32_t info_words;
    bool realtime;      /* real time counts too (see the top) */
    uint64_t step_max;  /* 0: none */
    uint32_t *rt_order; /* realtime: the ok ops in completion order */
    uint32_t *rt_ret;   /* ... their completions' event numbers */
    uint32_t *rt_call;  /* [op]: its invocation's event number */
    /* realtime memo keys: a process's ok ops completed before the first not taken are all
     * taken (base[q] of them: a prefix, completions come in order), so a configuration is
     * told by rt_at and the processes that took more (ahead[], n_ahead; ahead_at[q] its
     * place there or UINT32_MAX), not by every process's position */
    uint32_t *base, *ahead, *ahead_at, n_ahead;
    uint32_t rt_n, rt_at; /* ... how many, and the first not taken */
    /* realtime: the processes with ok ops not taken, linked in the order of their first
     * op's invocation (live_next, live_prev; np is the list's head), so the loops over
     * processes stop at the first one not invoked yet (proc_first, proc_next): O(processes
     * open at once), not O(processes), per step. Unlinked in take, relinked in untake: in
     * the reverse order, so each relinks where it was. */
    uint32_t *live_next, *live_prev, *rt_start;
    uint32_t *st; /* [k]: the state of key k */
    seq_frame *stack;
    uint32_t depth;
    uint64_t steps;   /* taken so far */
    uint32_t *cand;   /* scratch: the candidates of a node */
    uint64_t *sorted; /* scratch: when << 32 | op */
    uint32_t *key;    /* scratch: a memo key */
    uint64_t vals_taken;
    /* the longest order seen */
    uint32_t *best;
    uint32_t best_len, best_state, best_key;
    uint32_t best_hkey; /* the history's key of the state shown */
    uint32_t tried[TRIED_MAX];
    uint32_t tried_len;
    uint32_t blocked;
} seq;

/* The value an ok op waits for (read: its result; cas: its expected value), or UINT32_MAX. */
static uint32_t observed(const lin_op *o)
{
    if (o->info)
        return UINT32_MAX;
    return o->f == LIN_READ ? o->out : o->f == LIN_CAS ? o->a : UINT32_MAX;
}

/* self_after for the ok observers of one process's ops all[0..m) (invocation order): walks
 * them backwards counting producers per value in cnt (zero before and after). */
static void count_self_after(seq *s, const lin_proc_op *all, uint32_t m, uint32_t *cnt)
{
    const lin_op *ops = s->p->ops;
    for (uint32_t i = m; i-- > 0;) {
        const lin_op *o = &ops[all[i].op];
        uint32_t u = observed(o);
        if (u != UINT32_MAX)
            s->self_after[all[i].op] = cnt[u];
        if (o->f == LIN_WRITE)
            cnt[o->a]++;
        else if (o->f == LIN_CAS)
            cnt[o->b]++;
        else if (o->f == LIN_DELETE)
            cnt[LIN_NIL]++;
    }
    for (uint32_t i = 0; i < m; i++) { /* back to zero */
        const lin_op *o = &ops[all[i].op];
        if (o->f == LIN_WRITE)
            cnt[o->a] = 0;
        else if (o->f == LIN_CAS)
            cnt[o->b] = 0;
        else if (o->f == LIN_DELETE)
            cnt[LIN_NIL] = 0;
    }
}

/* Numbers the processes, builds the chains and the ranks of info ops. */
static int build_procs(seq *s, lin_proc_op *all, uint32_t *cnt)
{
    lin_part *p = s->p;
    for (uint32_t i = 0; i < p->n; i++)
        all[i] = (lin_proc_op){p->gops[p->ops[i].global].process, i};
    qsort(all, p->n, sizeof(*all), fl__lin_cmp_proc_op);
    uint32_t nchain = 0, ninfo = 0;
    for (uint32_t a = 0, b; a < p->n; a = b) {
        uint32_t oks = 0;
        for (b = a; b < p->n && all[b].process == all[a].process; b++)
            oks += !p->ops[all[b].op].info;
        uint32_t q = UINT32_MAX;
        if (oks) {
            q = s->np++;
            s->chain_start[q + 1] = s->chain_start[q] + oks;
        }
        uint32_t taken = 0;
        for (uint32_t i = a; i < b; i++) {
            uint32_t op = all[i].op;
            s->proc_of[op] = q;
            s->rank[op] = taken;
            if (!p->ops[op].info)
                s->chain[nchain++] = op, taken++;
        }
        if (p->prune)
            count_self_after(s, all + a, b - a, cnt);
    }
    for (uint32_t i = 0; i < p->n; i++) {
        const fl_op *g = &p->gops[p->ops[i].global];
        s->when[i] = p->ops[i].info ? g->call : g->ret;
        if (p->ops[i].info)
            s->info_ops[ninfo++] = i;
    }
    FL_ASSERT(ninfo == p->n_info);
    return 0;
}

static int seq_init(seq *s, lin_part *p, lin_shared *sh)
{
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->sh = sh;
    s->blocked = UINT32_MAX;
    s->best_hkey = p->key;
    fl__lin_memo_init(&s->memo, sh);
    size_t n = (size_t)p->n + 1;
    s->info_words = p->n_info / 32 + 1;
    s->chain_start = calloc(n + 1, sizeof(*s->chain_start));
    s->chain = malloc(n * sizeof(*s->chain));
    s->pos = calloc(n, sizeof(*s->pos));
    s->proc_of = malloc(n * sizeof(*s->proc_of));
    s->rank = malloc(n * sizeof(*s->rank));
    s->self_after = calloc(n, sizeof(*s->self_after));
    s->info_ops = malloc(n * sizeof(*s->info_ops));
    s->when = malloc(n * sizeof(*s->when));
    s->info_lin = calloc(s->info_words, sizeof(*s->info_lin));
    s->stack = malloc(n * sizeof(*s->stack));
    s->cand = malloc(n * sizeof(*s->cand));
    s->sorted = malloc(n * sizeof(*s->sorted));
    s->key = malloc((2 * n + p->nkeys + s->info_words + 4) * sizeof(*s->key));
    s->best = malloc(n * sizeof(*s->best));
    s->st = malloc(((size_t)p->nkeys + 1) * sizeof(*s->st));
    lin_proc_op *all = malloc(n * sizeof(*all));
    uint32_t *cnt = calloc((size_t)p->vals.count + 1, sizeof(*cnt));
    uint64_t bytes = n * (sizeof(seq_frame) + sizeof(lin_proc_op) + 10 * sizeof(uint32_t)) +
                     (uint64_t)p->nkeys * sizeof(uint32_t);
    int rc = 0;
    if (!s->chain_start || !s->chain || !s->pos || !s->proc_of || !s->rank || !s->self_after ||
        !s->info_ops || !s->info_lin || !s->stack || !s->cand || !s->key || !s->best || !s->st ||
        !s->when || !s->sorted || !all || !cnt)
        rc = FL_ENOMEM;
    else if (!fl__lin_mem_take(sh, bytes))
        rc = FL_ETOOBIG;
    else
        s->vals_taken = bytes;
    if (!rc)
        rc = build_procs(s, all, cnt);
    for (uint32_t k = 0; !rc && k < p->nkeys; k++)
        s->st[k] = p->init;
    free(all);
    free(cnt);
    return rc;
}

typedef struct by_ret {
    uint32_t ret;
    uint32_t op;
} by_ret;

static int cmp_by_ret(const void *a, const void *b)
{
    const by_ret *x = a, *y = b;
    return (x->ret > y->ret) - (x->ret < y->ret);
}

/* Real time: the live list (seq.live_next), every process with ok ops in it. all: scratch. */
static int live_init(seq *s, by_ret *all)
{
    s->live_next = malloc(((size_t)s->np + 1) * sizeof(*s->live_next));
    s->live_prev = malloc(((size_t)s->np + 1) * sizeof(*s->live_prev));
    s->rt_start = malloc(((size_t)s->np + 1) * sizeof(*s->rt_start));
    if (!s->live_next || !s->live_prev || !s->rt_start)
        return FL_ENOMEM;
    for (uint32_t q = 0; q < s->np; q++) {
        s->rt_start[q] = s->p->gops[s->p->ops[s->chain[s->chain_start[q]]].global].call;
        all[q] = (by_ret){s->rt_start[q], q};
    }
    qsort(all, s->np, sizeof(*all), cmp_by_ret);
    uint32_t prev = s->np;
    for (uint32_t i = 0; i < s->np; i++) {
        s->live_next[prev] = all[i].op;
        s->live_prev[all[i].op] = prev;
        prev = all[i].op;
    }
    s->live_next[prev] = s->np;
    s->live_prev[s->np] = prev;
    return 0;
}

/* Real time: the ok ops in completion order. */
static int rt_init(seq *s)
{
    lin_part *p = s->p;
    size_t n = (size_t)p->n + 1;
    by_ret *all = malloc(n * sizeof(*all));
    s->rt_order = malloc(n * sizeof(*s->rt_order));
    s->rt_ret = malloc(n * sizeof(*s->rt_ret));
    s->rt_call = malloc(n * sizeof(*s->rt_call));
    s->base = calloc(n, sizeof(*s->base));
    s->ahead = malloc(n * sizeof(*s->ahead));
    s->ahead_at = malloc(n * sizeof(*s->ahead_at));
    if (!all || !s->rt_order || !s->rt_ret || !s->rt_call || !s->base || !s->ahead ||
        !s->ahead_at || live_init(s, all)) {
        free(all);
        return FL_ENOMEM;
    }
    for (size_t q = 0; q < n; q++)
        s->ahead_at[q] = UINT32_MAX;
    for (uint32_t i = 0; i < p->n; i++) {
        s->rt_call[i] = p->gops[p->ops[i].global].call;
        if (!p->ops[i].info)
            all[s->rt_n++] = (by_ret){p->gops[p->ops[i].global].ret, i};
    }
    qsort(all, s->rt_n, sizeof(*all), cmp_by_ret);
    for (uint32_t i = 0; i < s->rt_n; i++) {
        s->rt_order[i] = all[i].op;
        s->rt_ret[i] = all[i].ret;
    }
    free(all);
    s->realtime = true;
    return 0;
}

static void seq_free(seq *s)
{
    free(s->rt_order);
    free(s->rt_ret);
    free(s->rt_call);
    free(s->base);
    free(s->ahead);
    free(s->ahead_at);
    free(s->live_next);
    free(s->live_prev);
    free(s->rt_start);
    free(s->chain_start);
    free(s->chain);
    free(s->pos);
    free(s->proc_of);
    free(s->rank);
    free(s->self_after);
    free(s->info_ops);
    free(s->when);
    free(s->info_lin);
    free(s->stack);
    free(s->cand);
    free(s->sorted);
    free(s->key);
    free(s->best);
    free(s->st);
    fl__lin_mem_give(s->sh, s->vals_taken);
    fl__lin_memo_free(&s->memo);
}

static bool info_taken(const seq *s, uint32_t op)
{
    uint32_t i = s->p->ops[op].info_idx;
    return s->info_lin[i / 32] >> (i % 32) & 1;
}

static bool in_time(const seq *s, uint32_t op);

/* Whether op may be taken now as far as the processes' order (and real time) goes. */
static bool available(const seq *s, uint32_t op)
{
    uint32_t q = s->proc_of[op];
    if (s->p->ops[op].info)
        return !info_taken(s, op) && (q == UINT32_MAX || s->pos[q] >= s->rank[op]) &&
               in_time(s, op);
    return s->pos[q] == s->rank[op] && in_time(s, op);
}

/* Counts of what is still to come (lin_part.okobs, writers, observers): op leaves (-1) or
 * comes back (+1). */
static void account(lin_part *p, const lin_op *o, int delta)
{
    if (!p->prune && !p->lenrule)
        return;
    if (o->f == LIN_READ && !o->info) {
        fl__lin_adjust(p, p->okobs, o->out, delta);
        p->observers[o->out] = (uint32_t)((int64_t)p->observers[o->out] + delta);
    } else if (o->f == LIN_CAS) {
        if (!o->info) {
            fl__lin_adjust(p, p->okobs, o->a, delta);
            p->observers[o->a] = (uint32_t)((int64_t)p->observers[o->a] + delta);
        }
        fl__lin_adjust(p, p->writers, o->b, delta);
    } else if (o->f == LIN_WRITE) {
        fl__lin_adjust(p, p->writers, o->a, delta);
    } else if (o->f == LIN_DELETE) {
        fl__lin_adjust(p, p->writers, LIN_NIL, delta);
    } else if (o->f == LIN_APPEND) {
        p->appends_left = (uint32_t)((int64_t)p->appends_left + delta);
    }
}

static bool ok_taken(const seq *s, uint32_t op)
{
    return s->pos[s->proc_of[op]] > s->rank[op];
}

/* Process q is in ahead[] iff it took more than its base (realtime). */
static void ahead_update(seq *s, uint32_t q)
{
    bool in = s->pos[q] > s->base[q];
    if (in && s->ahead_at[q] == UINT32_MAX) {
        s->ahead_at[q] = s->n_ahead;
        s->ahead[s->n_ahead++] = q;
    } else if (!in && s->ahead_at[q] != UINT32_MAX) {
        uint32_t last = s->ahead[--s->n_ahead];
        s->ahead[s->ahead_at[q]] = last;
        s->ahead_at[last] = s->ahead_at[q];
        s->ahead_at[q] = UINT32_MAX;
    }
}

static void take(seq *s, uint32_t op)
{
    const lin_op *o = &s->p->ops[op];
    account(s->p, o, -1);
    if (o->info) {
        s->info_lin[o->info_idx / 32] |= 1u << (o->info_idx % 32);
        return;
    }
    uint32_t q = s->proc_of[op];
    s->pos[q]++;
    if (!s->realtime)
        return;
    if (s->chain_start[q] + s->pos[q] == s->chain_start[q + 1]) { /* q is done */
        s->live_next[s->live_prev[q]] = s->live_next[q];
        s->live_prev[s->live_next[q]] = s->live_prev[q];
    }
    ahead_update(s, q);
    while (s->rt_at < s->rt_n && ok_taken(s, s->rt_order[s->rt_at])) {
        uint32_t r = s->proc_of[s->rt_order[s->rt_at++]];
        s->base[r]++;
        ahead_update(s, r);
    }
}

/* Moves the real-time frontier back to to (before untaking the op that moved it). */
static void rt_back(seq *s, uint32_t to)
{
    while (s->rt_at > to) {
        uint32_t q = s->proc_of[s->rt_order[--s->rt_at]];
        s->base[q]--;
        ahead_update(s, q);
    }
}

/* Real time: no ok op not taken completed before op was invoked. */
static bool in_time(const seq *s, uint32_t op)
{
    return !s->realtime || s->rt_at == s->rt_n || s->rt_call[op] < s->rt_ret[s->rt_at];
}

static void untake(seq *s, uint32_t op)
{
    const lin_op *o = &s->p->ops[op];
    account(s->p, o, +1);
    if (o->info) {
        s->info_lin[o->info_idx / 32] &= ~(1u << (o->info_idx % 32));
        return;
    }
    uint32_t q = s->proc_of[op];
    if (s->realtime && s->chain_start[q] + s->pos[q] == s->chain_start[q + 1]) {
        s->live_next[s->live_prev[q]] = q; /* back where take unlinked it */
        s->live_prev[s->live_next[q]] = q;
    }
    s->pos[q]--;
    if (s->realtime)
        ahead_update(s, q);
}

/* The processes worth looking at: all of them, or with real time the live ones invoked
 * before the first ok op not taken completed (the others cannot go now: in_time).
 * UINT32_MAX at the end. */
static uint32_t proc_next(const seq *s, uint32_t q)
{
    if (!s->realtime)
        return q + 1 < s->np ? q + 1 : UINT32_MAX;
    q = s->live_next[q];
    if (q == s->np || (s->rt_at < s->rt_n && s->rt_start[q] >= s->rt_ret[s->rt_at]))
        return UINT32_MAX;
    return q;
}

static uint32_t proc_first(const seq *s)
{
    if (!s->realtime)
        return s->np ? 0 : UINT32_MAX;
    return proc_next(s, s->np);
}

static uint32_t head(const seq *s, uint32_t q)
{
    uint32_t at = s->chain_start[q] + s->pos[q];
    return at < s->chain_start[q + 1] ? s->chain[at] : UINT32_MAX;
}

/* Doomed values that some key holds now: they are no reason to give up (counting one twice
 * only weakens the rule). */
static uint32_t doomed_held(const seq *s)
{
    const lin_part *p = s->p;
    uint32_t held = 0;
    for (uint32_t k = 0; k < p->nkeys; k++)
        held += p->okobs[s->st[k]] && !p->writers[s->st[k]];
    return held;
}

/* An ok op that observes a value (a read, a cas) and can never see it again from here:
 * rule 3 for register-like models, the prefix rule with append. */
static bool hopeless(const seq *s, uint32_t op)
{
    const lin_part *p = s->p;
    const lin_op *o = &p->ops[op];
    uint32_t u = observed(o), now = s->st[o->k];
    if (u == UINT32_MAX || u == now)
        return false;
    if (p->lenrule)
        return !fl__lin_reachable(p, now, u);
    return p->prune && p->writers[u] <= s->self_after[op];
}

/* Rule 3 and the append rules: some op still to come can never take effect from here. The
 * next ops of each process are looked at up to its first op that is not a read (reads change
 * nothing, so each of them must be able to see its value from the current state), at most
 * AHEAD_MAX of them. O(processes + keys). */
static bool dead(const seq *s, uint32_t *why)
{
    lin_part *p = s->p;
    *why = UINT32_MAX; /* a rule over all that is to come: no one op to name */
    if (fl__lin_len_dead(p, s->st, p->nkeys))
        return true;
    if (p->prune && p->doomed && p->doomed > doomed_held(s))
        return true;
    if (!p->prune && !p->lenrule)
        return false;
    for (uint32_t q = proc_first(s); q != UINT32_MAX; q = proc_next(s, q)) {
        uint32_t end = s->chain_start[q + 1], at = s->chain_start[q] + s->pos[q];
        if (s->realtime && (at == end || !in_time(s, s->chain[at])))
            continue; /* real time: only the processes that may go now (fewer is sound) */
        for (uint32_t i = 0; at + i < end && i < AHEAD_MAX; i++) {
            uint32_t op = s->chain[at + i];
            if (hopeless(s, op))
                return *why = op, true;
            if (p->ops[op].f != LIN_READ)
                break;
        }
    }
    return false;
}

/* The model step of op from the current state, with rule 2; 1 allowed (next set), 0 not, or
 * a negative code. Derived values (append, incr) count against the memory bound. */
static int step(seq *s, uint32_t op, uint32_t *next)
{
    lin_part *p = s->p;
    const lin_op *o = &p->ops[op];
    uint64_t bytes = p->vals.bytes;
    uint32_t now = s->st[o->k];
    int ok = fl__lin_step(&p->vals, o, now, next);
    if (p->vals.bytes > bytes) {
        if (!fl__lin_mem_take(s->sh, p->vals.bytes - bytes))
            return FL_ETOOBIG;
        s->vals_taken += p->vals.bytes - bytes;
    }
    if (ok == 1 && o->blind && p->prune && (*next == now || !p->observers[*next]))
        return 0;
    return ok;
}

/* An identity op among the next ops of the processes (rule 1), or UINT32_MAX. */
static uint32_t identity(seq *s)
{
    for (uint32_t q = proc_first(s); q != UINT32_MAX; q = proc_next(s, q)) {
        uint32_t op = head(s, q), next;
        if (op == UINT32_MAX)
            continue;
        const lin_op *o = &s->p->ops[op];
        if ((o->f != LIN_READ && (o->f != LIN_CAS || o->a != o->b)) || !in_time(s, op))
            continue;
        if (fl__lin_step(&s->p->vals, o, s->st[o->k], &next) == 1 && next == s->st[o->k])
            return op;
    }
    return UINT32_MAX;
}

/* The memo key of the current configuration. */
static uint32_t make_key(seq *s)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < s->p->nkeys; k++)
        s->key[n++] = s->st[k];
    if (s->realtime) { /* rt_at, then the processes ahead of their base, in order */
        s->key[n++] = s->rt_at;
        s->key[n++] = s->n_ahead;
        uint32_t *a = s->ahead;
        for (uint32_t i = 1; i < s->n_ahead; i++) /* few: insertion sort */
            for (uint32_t j = i; j > 0 && a[j - 1] > a[j]; j--) {
                uint32_t t = a[j];
                a[j] = a[j - 1];
                a[j - 1] = t;
                s->ahead_at[a[j]] = j;
                s->ahead_at[a[j - 1]] = j - 1;
            }
        for (uint32_t i = 0; i < s->n_ahead; i++) {
            s->key[n++] = a[i];
            s->key[n++] = s->pos[a[i]] - s->base[a[i]];
        }
    } else {
        for (uint32_t q = 0; q < s->np; q++)
            s->key[n++] = s->pos[q];
    }
    for (uint32_t w = 0; w < s->info_words; w++)
        s->key[n++] = s->info_lin[w];
    return n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The candidates of the current node, in the order of s->when. */
static uint32_t candidates(seq *s)
{
    uint32_t m = 0;
    for (uint32_t q = proc_first(s); q != UINT32_MAX; q = proc_next(s, q))
        if (head(s, q) != UINT32_MAX && in_time(s, head(s, q)))
            s->sorted[m++] = (uint64_t)s->when[head(s, q)] << 32 | head(s, q);
    for (uint32_t i = 0; i < s->p->n_info; i++)
        if (available(s, s->info_ops[i]))
            s->sorted[m++] = (uint64_t)s->when[s->info_ops[i]] << 32 | s->info_ops[i];
    if (m > 32) {
        qsort(s->sorted, m, sizeof(*s->sorted), cmp_u64);
    } else { /* a few processes, as usual: insertion sort, no calls */
        for (uint32_t i = 1; i < m; i++) {
            uint64_t x = s->sorted[i];
            uint32_t j = i;
            for (; j > 0 && s->sorted[j - 1] > x; j--)
                s->sorted[j] = s->sorted[j - 1];
            s->sorted[j] = x;
        }
    }
    for (uint32_t i = 0; i < m; i++)
        s->cand[i] = (uint32_t)s->sorted[i];
    return m;
}

/* Keeps the order so far as the longest, with the next op of each process; the first of them
 * that the model refuses is "blocked", and the state shown is its key's. */
static void save_best(seq *s, uint32_t taken, uint32_t why)
{
    for (uint32_t i = 0; i < s->depth; i++)
        s->best[i] = s->stack[i].op;
    s->best_len = s->depth;
    if (taken != UINT32_MAX)
        s->best[s->best_len++] = taken;
    s->blocked = why;
    s->tried_len = 0;
    for (uint32_t q = proc_first(s); q != UINT32_MAX && s->tried_len < TRIED_MAX;
         q = proc_next(s, q)) {
        uint32_t op = head(s, q), next;
        if (op == UINT32_MAX || !in_time(s, op))
            continue;
        s->tried[s->tried_len++] = op;
        const lin_op *o = &s->p->ops[op];
        if (s->blocked == UINT32_MAX && fl__lin_step(&s->p->vals, o, s->st[o->k], &next) == 0)
            s->blocked = op;
    }
    qsort(s->tried, s->tried_len, sizeof(*s->tried), cmp_u32);
    uint32_t shown = s->blocked != UINT32_MAX ? s->blocked
                     : s->tried_len           ? s->tried[0]
                     : s->depth               ? s->stack[s->depth - 1].op
                                              : UINT32_MAX;
    s->best_key = shown == UINT32_MAX ? 0 : s->p->ops[shown].k;
    s->best_state = s->st[s->best_key];
    s->best_hkey = shown == UINT32_MAX ? s->p->key : s->p->gops[s->p->ops[shown].global].key;
}

/* Tries op at the current node: 1 taken (a new node), 0 not, or a negative code. */
static int try_op(seq *s, uint32_t op, bool forced)
{
    uint32_t next;
    int ok = step(s, op, &next);
    if (ok <= 0)
        return ok;
    uint32_t rt_was = s->rt_at;
    take(s, op);
    uint32_t k = s->p->ops[op].k, was = s->st[k];
    s->st[k] = next;
    int rc = 1;
    uint32_t why;
    if (dead(s, &why)) {
        rc = 0;
        if (s->depth + 1 > s->best_len) /* the deepest point, and the op that cannot follow */
            save_best(s, op, why);
    } else if (!forced) {
        rc = fl__lin_memo_insert(&s->memo, s->key, make_key(s));
    }
    if (rc != 1) {
        s->st[k] = was;
        rt_back(s, rt_was); /* the reverse of take: the frontier first */
        untake(s, op);
        return rc;
    }
    s->stack[s->depth++] = (seq_frame){op, was, rt_was, forced};
    return 1;
}

/* Undoes the last op; returns it. */
static seq_frame pop(seq *s)
{
    seq_frame f = s->stack[--s->depth];
    s->st[s->p->ops[f.op].k] = f.state;
    rt_back(s, f.rt_at);
    untake(s, f.op);
    return f;
}

/* Tries the candidates after the one tried last, op `after` (UINT32_MAX: from the first).
 * 1: a child was taken; 0: none left; negative: an error. */
static int branch(seq *s, uint32_t after)
{
    uint32_t m = candidates(s);
    for (uint32_t i = 0; i < m; i++) {
        if (after != UINT32_MAX && s->when[s->cand[i]] <= s->when[after])
            continue;
        int rc = try_op(s, s->cand[i], false);
        if (rc)
            return rc;
    }
    return 0;
}

static int run(seq *s, lin_outcome *out)
{
    uint32_t remaining = s->p->n - s->p->n_info;
    uint32_t after = UINT32_MAX; /* at a node just reached: every candidate */
    uint32_t why;
    if (dead(s, &why))
        return save_best(s, UINT32_MAX, why), FL_LIN_VIOLATION;
    while (remaining) {
        if (++s->steps % CHECK_EVERY == 0 && fl__lin_give_up(s->p, s->sh, &out->unknown))
            return FL_LIN_UNKNOWN;
        if (s->step_max && s->steps > s->step_max) {
            out->unknown = LIN_WHY_BUDGET;
            return FL_LIN_UNKNOWN;
        }
        int rc = 0;
        uint32_t id = after == UINT32_MAX ? identity(s) : UINT32_MAX;
        if (id != UINT32_MAX)
            rc = try_op(s, id, true);
        else
            rc = branch(s, after);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            remaining -= !s->p->ops[s->stack[s->depth - 1].op].info;
            after = UINT32_MAX;
            continue;
        }
        /* a dead end: back to the last node with a choice left */
        if (s->depth > s->best_len || (s->depth == 0 && s->best_len == 0))
            save_best(s, UINT32_MAX, UINT32_MAX);
        seq_frame f;
        do {
            if (s->depth == 0)
                return FL_LIN_VIOLATION;
            f = pop(s);
            remaining += !s->p->ops[f.op].info;
        } while (f.forced);
        after = f.op;
    }
    return FL_LIN_OK;
}

static int fill_cex(seq *s, fl_lincheck_cex *cex)
{
    lin_best b = {s->best_hkey, s->best,  s->best_len, s->best_state,
                  s->blocked,   s->tried, s->tried_len};
    return fl__lin_cex_fill(s->p, &b, cex);
}

int fl__lin_seq_search(lin_part *p, lin_shared *sh, bool realtime, uint64_t step_max,
                       lin_outcome *out)
{
    memset(out, 0, sizeof(*out));
    seq s;
    int rc = seq_init(&s, p, sh);
    s.step_max = step_max;
    if (!rc && realtime)
        rc = rt_init(&s);
    if (!rc)
        rc = run(&s, out);
    if (rc == FL_ETOOBIG || rc == FL_ENOMEM) {
        rc = FL_LIN_UNKNOWN;
        out->unknown = FL_LIN_WHY_MEMORY;
    }
    out->states = s.memo.count;
    out->memo_bytes = s.memo.bytes;
    out->prefix = s.depth > s.best_len ? s.depth : s.best_len;
    if (rc == FL_LIN_VIOLATION && fill_cex(&s, &out->cex)) {
        rc = FL_LIN_UNKNOWN;
        out->unknown = FL_LIN_WHY_MEMORY;
    }
    seq_free(&s);
    if (rc < 0)
        return rc;
    out->verdict = (fl_verdict)rc;
    return 0;
}
