/* lin_search.c: Wing and Gong's search with Lowe's memo, over one partition.
 *
 * The entry list holds the call and return entries of the ops not yet linearized, in
 * real-time order. From the head, the search may linearize any op whose call entry comes
 * before the first return entry (the "window"): if the model allows it and the resulting
 * configuration was never seen, the op is lifted out of the list and the search restarts at
 * the head. Reaching a return entry means that op should already have taken effect: the
 * search backtracks, restoring the last op lifted, and goes on after its call entry. All ok
 * ops linearized: linearizable. Nothing left to backtrack: not linearizable.
 *
 * A configuration is (model state, set of linearized ops). Ops are numbered in invocation
 * order, and with k = 1 + the largest linearized op, the set is: every op below k except the
 * "holes" (ops below k still pending, which are exactly the non-info calls at the head of the
 * non-info list, so they cost O(concurrency) to list), plus the info ops below k that were
 * taken (a bitmap over info ops). So a memo key is O(concurrency + info ops / 32) words, not
 * O(n) bits as with a plain bitset.
 *
 * Rules that cut the search (all sound; the brute-force cross-check tests them):
 *   1. identity first: if an ok read (or cas [v v]) in the window matches the state, it is
 *      the only choice tried at that node (it can move to the front of any linearization);
 *   2. with register-like models (no append, no incr), an info write, put or delete is tried
 *      only when it changes the state and some op still to come observes the value it writes
 *      (a read of it, a cas expecting it); one no op ever observes is dropped up front;
 *   3. an ok write nothing still to come observes ("useless") can only be followed by another
 *      write, and a run of useless writes can be reordered freely (real-time order among them
 *      agrees with invocation order), so runs are tried in invocation order only; the last
 *      useless write is part of the memo key, as it constrains what may follow;
 *   4. twins: among ok ops in the window with the same effect (writes of one value, cas with
 *      one pair) that change the state, only the one completing first is tried (any
 *      linearization taking a later twin now can swap the two);
 *   5. info twins: info ops with the same effect are taken in invocation order (the earlier
 *      one can stand in for the later one anywhere);
 *   6. doom: a branch ends as soon as an ok read of u (or ok cas expecting u) is still to
 *      come, no op still to come can produce u, and the state is not u; or when one of the
 *      next 32 ops to complete reads u, the state is not u and no op invoked before that
 *      completion produces u.
 *
 * Program order (pipelined histories, lin_part.c): an op with a po_prev is a candidate only
 * once that op is linearized. Rules 1, 2, 3, 5 and 6 stay sound under it: an identity op
 * that is a candidate has everything it must follow linearized, so it still moves to the
 * front; dropped info writes are nobody's predecessor; a run of useless writes sorted into
 * invocation order keeps program order (a predecessor is invoked earlier); info twins are
 * twins only with the same po_prev; doom only uses what must happen in any order. Rule 4
 * does not: swapping a later twin for an earlier one can put an op of the later twin's
 * process before it. It is off in partitions with program-order edges.
 *
 * Costs: each step is O(window + key length); the memo bounds the work by the number of
 * distinct configurations. Loops are bounded by the memo (each push adds an entry). */
#include "lin_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_EVERY   1024u
#define TRIED_MAX     64u
#define LOOKAHEAD_MAX 32u

typedef struct frame {
    uint32_t op;
    uint32_t state; /* before the op */
    uint32_t k;     /* before the op */
    bool forced;    /* the only choice tried at its node (an identity op) */
    bool useless;   /* an ok write whose value nothing still to come observes */
} frame;

typedef struct search {
    lin_part *p;
    lin_shared *sh;
    lin_memo memo;
    frame *stack;
    uint32_t depth;
    uint32_t state;
    uint32_t k;
    bool doom;           /* use doom detection (the fast verdict) */
    uint64_t step_max;   /* 0: none; else give up after this many steps */
    uint32_t *info_lin;  /* bitmap over info ops */
    uint64_t *info_full; /* bit w: word w of info_lin is all ones (a prefix the key skips) */
    uint32_t *key;       /* scratch for memo keys */
    uint64_t vals_taken; /* bytes of derived values (append, incr) taken from the budget */
    uint8_t *taken;      /* per op: linearized (program order asks it of po_prev) */
    uint32_t *stamp;     /* per value: the marks of urgent_unreachable */
    uint32_t stamp_now;
    /* the longest linearization seen */
    uint32_t *best;
    uint32_t best_len;
    uint32_t best_state;
    uint32_t dirty; /* best[0..dirty) == stack[0..dirty) ops */
    uint32_t blocked;
    uint32_t tried[TRIED_MAX];
    uint32_t tried_len;
} search;

static void unlink_entry(lin_entry *E, uint32_t e, bool info)
{
    E[E[e].prev].next = E[e].next;
    if (E[e].next)
        E[E[e].next].prev = E[e].prev;
    if (info)
        return;
    E[E[e].nprev].nnext = E[e].nnext;
    if (E[e].nnext)
        E[E[e].nnext].nprev = E[e].nprev;
}

static void relink_entry(lin_entry *E, uint32_t e, bool info)
{
    E[E[e].prev].next = e;
    if (E[e].next)
        E[E[e].next].prev = e;
    if (info)
        return;
    E[E[e].nprev].nnext = e;
    if (E[e].nnext)
        E[E[e].nnext].nprev = e;
}

/* Counts for doom detection: op leaves (delta -1) or re-enters (+1) what is to come. */
static void doom_counts(lin_part *p, const lin_op *o, int delta)
{
    if (!p->prune && !p->lenrule)
        return;
    if (o->f == LIN_READ && !o->info) {
        fl__lin_adjust(p, p->okobs, o->out, delta);
    } else if (o->f == LIN_CAS) {
        if (!o->info)
            fl__lin_adjust(p, p->okobs, o->a, delta);
        fl__lin_adjust(p, p->writers, o->b, delta);
    } else if (o->f == LIN_WRITE) {
        fl__lin_adjust(p, p->writers, o->a, delta);
    } else if (o->f == LIN_DELETE) {
        fl__lin_adjust(p, p->writers, LIN_NIL, delta);
    } else if (o->f == LIN_APPEND) {
        p->appends_left = (uint32_t)((int64_t)p->appends_left + delta);
    }
}

/* Some op still to come can never be linearized from state (see lin_part.doomed). */
static bool doomed(const lin_part *p, uint32_t state)
{
    if (!p->prune || !p->doomed)
        return false;
    bool self = p->okobs[state] && !p->writers[state];
    return p->doomed > (uint32_t)self;
}

/* Takes op out of the lists and out of the counts of what is still to come. */
static void lift(search *s, uint32_t op)
{
    lin_part *p = s->p;
    lin_op *o = &p->ops[op];
    doom_counts(p, o, -1);
    s->taken[op] = 1;
    unlink_entry(p->entries, o->call_e, o->info);
    if (o->info) {
        uint32_t w = o->info_idx / 32;
        s->info_lin[w] |= 1u << (o->info_idx % 32);
        if (s->info_lin[w] == UINT32_MAX)
            s->info_full[w / 64] |= 1ull << (w % 64);
        return;
    }
    unlink_entry(p->entries, o->ret_e, false);
    if (o->f == LIN_READ)
        p->observers[o->out]--;
    else if (o->f == LIN_CAS)
        p->observers[o->a]--;
}

static void unlift(search *s, uint32_t op)
{
    lin_part *p = s->p;
    lin_op *o = &p->ops[op];
    doom_counts(p, o, +1);
    s->taken[op] = 0;
    if (o->info) {
        uint32_t w = o->info_idx / 32;
        s->info_lin[w] &= ~(1u << (o->info_idx % 32));
        s->info_full[w / 64] &= ~(1ull << (w % 64));
        relink_entry(p->entries, o->call_e, true);
        return;
    }
    if (o->f == LIN_READ)
        p->observers[o->out]++;
    else if (o->f == LIN_CAS)
        p->observers[o->a]++;
    relink_entry(p->entries, o->ret_e, false);
    relink_entry(p->entries, o->call_e, false);
}

/* The memo key of the current lists with the given state, frontier k and last useless
 * write (UINT32_MAX for none: it constrains what may follow, so it is part of the key). */
static uint32_t make_key(search *s, uint32_t state, uint32_t k, uint32_t useless)
{
    const lin_entry *E = s->p->entries;
    uint32_t *key = s->key, n = 4;
    key[0] = state;
    key[1] = k;
    key[3] = useless;
    for (uint32_t e = E[0].nnext; e && E[e].call && E[e].op < k; e = E[e].nnext)
        key[n++] = E[e].op;
    key[2] = n - 4;
    /* info bitmap below k, without its leading all-ones words (info ops taken long ago):
     * the number of words skipped, then the rest. O(info ops / 2048) to find them. */
    uint32_t bits = s->p->info_below[k], skip = 0;
    for (uint32_t x = 0; skip < bits / 32; x++) {
        uint64_t ones = ~s->info_full[x];
        uint32_t run = ones ? (uint32_t)__builtin_ctzll(ones) : 64;
        skip += run;
        if (run < 64)
            break;
    }
    if (skip > bits / 32)
        skip = bits / 32;
    key[n++] = skip;
    for (uint32_t w = skip; w < bits / 32; w++)
        key[n++] = s->info_lin[w];
    if (bits % 32)
        key[n++] = s->info_lin[bits / 32] & ((1u << (bits % 32)) - 1);
    return n;
}

/* Saves the stack as the longest linearization, with the window that blocked it. */
static void save_best(search *s, uint32_t e)
{
    const lin_entry *E = s->p->entries;
    for (uint32_t i = s->dirty; i < s->depth; i++)
        s->best[i] = s->stack[i].op;
    s->best_len = s->depth;
    s->dirty = s->depth;
    s->best_state = s->state;
    s->blocked = e ? E[e].op : UINT32_MAX;
    s->tried_len = 0;
    for (uint32_t x = E[0].next; x && x != e && s->tried_len < TRIED_MAX; x = E[x].next)
        if (E[x].call)
            s->tried[s->tried_len++] = E[x].op;
}

/* Another ok op in the window with the same effect (a write of the same value, a cas with
 * the same pair) whose completion comes earlier. Trying only the earliest of such twins is
 * enough: in any linearization taking a later twin now, the two can swap places. O(window). */
static bool earlier_twin(const search *s, const lin_op *o)
{
    const lin_entry *E = s->p->entries;
    for (uint32_t e = E[0].nnext; e && E[e].call; e = E[e].nnext) {
        const lin_op *y = &s->p->ops[E[e].op];
        if (y != o && y->f == o->f && y->a == o->a && (o->f != LIN_CAS || y->b == o->b) &&
            y->ret_e < o->ret_e)
            return true;
    }
    return false;
}

static bool info_taken(const search *s, uint32_t op)
{
    uint32_t i = s->p->ops[op].info_idx;
    return s->info_lin[i / 32] >> (i % 32) & 1;
}

/* Tries to linearize op now. Returns 1 (done), 0 (not possible) or a negative code. */
static bool urgent_unreachable(search *s, uint32_t state);

/* Program order: op's predecessor in its process is linearized (or it has none). */
static bool po_ready(const search *s, const lin_op *o)
{
    return o->po_prev == UINT32_MAX || s->taken[o->po_prev];
}

static int try_op(search *s, uint32_t op, bool memo)
{
    lin_part *p = s->p;
    const lin_op *o = &p->ops[op];
    uint32_t next;
    if (!po_ready(s, o))
        return 0;
    uint64_t bytes = p->vals.bytes;
    int ok = fl__lin_step(&p->vals, o, s->state, &next);
    if (p->vals.bytes > bytes) { /* append and incr derive new values: they count too */
        if (!fl__lin_mem_take(s->sh, p->vals.bytes - bytes))
            return FL_ETOOBIG;
        s->vals_taken += p->vals.bytes - bytes;
    }
    if (ok <= 0)
        return ok;
    if (o->blind && p->prune && (next == s->state || !p->observers[next]))
        return 0;
    if (o->twin_prev != UINT32_MAX && !info_taken(s, o->twin_prev))
        return 0; /* info twins (same effect) are taken in invocation order */
    bool useless =
        p->prune && !o->info && (o->f == LIN_WRITE || o->f == LIN_DELETE) && !p->observers[next];
    const frame *top = s->depth ? &s->stack[s->depth - 1] : NULL;
    if (useless && top && top->useless && op < top->op)
        return 0; /* runs of useless writes are tried in invocation order only */
    if (p->prune && !p->po && !useless && !o->info && next != s->state &&
        (o->f == LIN_WRITE || o->f == LIN_CAS) && earlier_twin(s, o))
        return 0;
    lift(s, op);
    if (s->doom &&
        (doomed(p, next) || urgent_unreachable(s, next) || fl__lin_len_dead(p, &next, 1))) {
        unlift(s, op); /* a dead child: not even worth a memo entry */
        return 0;
    }
    uint32_t k = op + 1 > s->k ? op + 1 : s->k;
    int rc = memo ? fl__lin_memo_insert(&s->memo, s->key,
                                        make_key(s, next, k, useless ? op : UINT32_MAX))
                  : 1;
    if (rc != 1) {
        unlift(s, op);
        return rc;
    }
    s->stack[s->depth++] = (frame){op, s->state, s->k, false, useless};
    s->state = next;
    s->k = k;
    return 1;
}

/* The first return entry in the list (the op that must be linearized first), or 0. */
static uint32_t first_return(const search *s)
{
    const lin_entry *E = s->p->entries;
    uint32_t e = E[0].nnext; /* returns are all in the non-info list */
    while (e && E[e].call)
        e = E[e].nnext;
    return e;
}

/* Undoes the last op; returns the entry to go on from. */
static uint32_t backtrack(search *s, uint32_t e)
{
    if (s->depth > s->best_len)
        save_best(s, e);
    frame f = s->stack[--s->depth];
    if (s->depth < s->dirty)
        s->dirty = s->depth;
    unlift(s, f.op);
    s->state = f.state;
    s->k = f.k;
    return s->p->entries[s->p->ops[f.op].call_e].next;
}

bool fl__lin_give_up(const lin_part *p, lin_shared *sh, uint8_t *why)
{
    if (p->pos > atomic_load_explicit(&sh->stop_at, memory_order_relaxed)) {
        *why = FL_LIN_WHY_STOPPED;
        return true;
    }
    *why = FL_LIN_WHY_TIMEOUT;
    if (atomic_load_explicit(&sh->cancel, memory_order_relaxed))
        return true;
    if (sh->deadline_ns && fl__lin_now_ns() >= sh->deadline_ns) {
        atomic_store(&sh->cancel, true);
        return true;
    }
    return false;
}

/* An ok op in the window that the model allows and that leaves the state as it is (a read
 * of the current value, a write of it). Taking it first is as good as any other choice: in
 * any linearization from here it can move to the front (everything it must follow in real
 * time is already linearized, and at the front it sees the same state), so it is the only
 * choice the node needs. Returns its op, or UINT32_MAX. O(window). */
static uint32_t identity_op(search *s)
{
    const lin_entry *E = s->p->entries;
    for (uint32_t e = E[0].nnext; e && E[e].call; e = E[e].nnext) {
        const lin_op *o = &s->p->ops[E[e].op];
        if (o->info || (o->f != LIN_READ && o->f != LIN_CAS) || !po_ready(s, o))
            continue; /* reads and cas [v v] only: they observe, so never follow a useless write */
        uint32_t next;
        if (fl__lin_step(&s->p->vals, o, s->state, &next) == 1 && next == s->state)
            return E[e].op;
    }
    return UINT32_MAX;
}

/* Every op must take effect before its completion. If the op of one of the next
 * LOOKAHEAD_MAX return entries reads u (or cas-expects u), the state is not u, and no op not
 * yet linearized that was invoked before that completion can produce u, it never can take
 * effect: the node is dead. (Without this, the search would try every subset of the window
 * before giving up: the exponential part on registers with few values.) Producers are marked
 * in stamp[] with a per-call number. O(entries up to the LOOKAHEAD_MAX-th return). */
/* The same look-ahead with the prefix rule (lin_append.c), for partitions with append. */
static bool urgent_unreachable_append(search *s, uint32_t state)
{
    const lin_part *p = s->p;
    const lin_entry *E = p->entries;
    uint32_t returns = 0;
    for (uint32_t e = E[0].nnext; e && returns < LOOKAHEAD_MAX; e = E[e].nnext) {
        if (E[e].call)
            continue;
        returns++;
        const lin_op *o = &p->ops[E[e].op];
        if (o->f != LIN_READ && o->f != LIN_CAS)
            continue;
        if (!fl__lin_reachable(p, state, o->f == LIN_READ ? o->out : o->a))
            return true;
    }
    return false;
}

static bool urgent_unreachable(search *s, uint32_t state)
{
    const lin_part *p = s->p;
    const lin_entry *E = p->entries;
    if (!p->prune)
        return p->lenrule && urgent_unreachable_append(s, state);
    uint32_t mark = ++s->stamp_now, returns = 0;
    for (uint32_t e = E[0].next; e && returns < LOOKAHEAD_MAX; e = E[e].next) {
        const lin_op *o = &p->ops[E[e].op];
        if (E[e].call) {
            if (o->f == LIN_WRITE)
                s->stamp[o->a] = mark;
            else if (o->f == LIN_CAS)
                s->stamp[o->b] = mark;
            else if (o->f == LIN_DELETE)
                s->stamp[LIN_NIL] = mark;
            continue;
        }
        returns++;
        if (o->f != LIN_READ && o->f != LIN_CAS)
            continue;
        uint32_t want = o->f == LIN_READ ? o->out : o->a;
        if (want != state && s->stamp[want] != mark)
            return true;
    }
    return false;
}

/* At a new node: takes an identity op if there is one (the node's only choice). Returns 1
 * (taken: a new node), 0 (none: scan the window), 2 (it leads to a configuration already
 * seen: the node is dead), or a negative code. (Trying the op that completes first before
 * the rest was measured: it made register histories with 50 processes 25 times slower.) */
static int take_first(search *s)
{
    if (s->doom && (urgent_unreachable(s, s->state) || fl__lin_len_dead(s->p, &s->state, 1)))
        return 2;
    uint32_t op = identity_op(s);
    if (op == UINT32_MAX)
        return 0;
    /* not memoized: the node before it is, and so are the branching nodes after it, so a
     * second visit costs only the run of identity ops; this halves the memo of read-heavy
     * histories */
    int rc = try_op(s, op, false);
    if (rc == 1)
        s->stack[s->depth - 1].forced = true;
    return rc == 0 ? 2 : rc;
}

/* The search loop. Returns the verdict, or a negative code. */
static int run(search *s, lin_outcome *out)
{
    const lin_entry *E = s->p->entries;
    uint32_t remaining = s->p->n - s->p->n_info;
    uint32_t e = E[0].next;
    uint64_t steps = 0;
    bool fresh = true; /* at a node just reached */
    while (remaining) {
        if (++steps % CHECK_EVERY == 0 && fl__lin_give_up(s->p, s->sh, &out->unknown))
            return FL_LIN_UNKNOWN;
        if (s->step_max && steps > s->step_max) {
            out->unknown = LIN_WHY_BUDGET;
            return FL_LIN_UNKNOWN;
        }
        int forced = fresh ? take_first(s) : 0;
        fresh = false;
        if (forced < 0)
            return forced;
        if (forced == 1) {
            remaining -= !s->p->ops[s->stack[s->depth - 1].op].info;
            e = E[0].next;
            fresh = true;
            continue;
        }
        if (forced == 0 && e && E[e].call) {
            uint32_t op = E[e].op;
            int rc = try_op(s, op, true);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                e = E[e].next;
                continue;
            }
            remaining -= !s->p->ops[op].info;
            e = E[0].next;
            fresh = true;
            continue;
        }
        /* a return entry, the end, or a dead node: backtrack */
        if (forced == 2)
            e = E[0].next; /* for the record of the longest prefix only */
        bool again;
        do {
            if (s->depth == 0) {
                if (s->best_len == 0)
                    save_best(s, first_return(s));
                return FL_LIN_VIOLATION;
            }
            again = s->stack[s->depth - 1].forced;
            remaining += !s->p->ops[s->stack[s->depth - 1].op].info;
            e = backtrack(s, first_return(s));
        } while (again);
    }
    return FL_LIN_OK;
}

static int search_init(search *s, lin_part *p, lin_shared *sh)
{
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->sh = sh;
    s->state = p->init;
    s->blocked = UINT32_MAX;
    fl__lin_memo_init(&s->memo, sh);
    size_t n = (size_t)p->n + 1, info_words = p->n_info / 32 + 1;
    s->stack = malloc(n * sizeof(*s->stack));
    s->best = malloc(n * sizeof(*s->best));
    s->info_lin = calloc(info_words, sizeof(*s->info_lin));
    s->info_full = calloc(info_words / 64 + 1, sizeof(*s->info_full));
    s->stamp = calloc(p->vals.count + 1, sizeof(*s->stamp));
    s->taken = calloc(n, sizeof(*s->taken));
    s->key = malloc((n + info_words + 6) * sizeof(*s->key));
    if (!s->stack || !s->best || !s->info_lin || !s->info_full || !s->key || !s->stamp || !s->taken)
        return FL_ENOMEM;
    return 0;
}

static void search_free(search *s)
{
    free(s->stack);
    free(s->best);
    free(s->info_lin);
    free(s->info_full);
    free(s->stamp);
    free(s->taken);
    fl__lin_mem_give(s->sh, s->vals_taken);
    free(s->key);
    fl__lin_memo_free(&s->memo);
}

static int fill_cex(search *s, fl_lincheck_cex *cex)
{
    lin_best b = {s->p->key,  s->best,  s->best_len, s->best_state,
                  s->blocked, s->tried, s->tried_len};
    return fl__lin_cex_fill(s->p, &b, cex);
}

/* Doom detection refutes a history early, often before the search gets near the failing
 * point, which makes a poor counterexample. So after a refutation with it, the search runs
 * again without it, for a bounded number of steps, and the longer of the two prefixes is
 * reported. */
static int explain(lin_part *p, lin_shared *sh, search *first, lin_outcome *out)
{
    search s;
    lin_outcome ignored;
    memset(&ignored, 0, sizeof(ignored));
    int rc = search_init(&s, p, sh);
    if (!rc) {
        s.doom = false;
        s.step_max = 4 * (uint64_t)p->n + 100000;
        rc = run(&s, &ignored);
    }
    if (rc >= 0 || rc == FL_ETOOBIG || rc == FL_ENOMEM)
        rc = fill_cex(s.best_len > first->best_len ? &s : first, &out->cex);
    search_free(&s);
    return rc;
}

/* The linearization found, for lin_merge.c (NULL when out of memory: the merge is skipped). */
static void keep_order(const search *s, lin_outcome *out)
{
    out->order = malloc(((size_t)s->depth + 1) * sizeof(*out->order));
    if (!out->order)
        return;
    for (uint32_t i = 0; i < s->depth; i++)
        out->order[i] = s->p->ops[s->stack[i].op].global;
    out->order_len = s->depth;
}

int fl__lin_search(lin_part *p, lin_shared *sh, uint64_t step_max, lin_outcome *out)
{
    memset(out, 0, sizeof(*out));
    search s;
    int rc = search_init(&s, p, sh);
    s.doom = true;
    s.step_max = step_max;
    if (!rc)
        rc = run(&s, out);
    if (rc == FL_ETOOBIG || rc == FL_ENOMEM) {
        rc = FL_LIN_UNKNOWN;
        out->unknown = 2;
    }
    out->states = s.memo.count;
    out->prefix = s.depth > s.best_len ? s.depth : s.best_len;
    out->memo_bytes = s.memo.bytes;
    if (rc == FL_LIN_OK)
        keep_order(&s, out);
    fl__lin_memo_free(&s.memo); /* before the second search takes memory */
    if (rc == FL_LIN_VIOLATION && (p->prune ? explain(p, sh, &s, out) : fill_cex(&s, &out->cex)))
        rc = FL_LIN_UNKNOWN, out->unknown = 2;
    search_free(&s);
    if (rc < 0)
        return rc;
    out->verdict = (fl_verdict)rc;
    return 0;
}
