/* lin_append.c: rules that cut the search on key-value histories with append (and no incr),
 * where the register rules (lin_search.c rule 6) do not apply because append makes new
 * states.
 *
 * Without incr, every state is a value that was set (the initial value, or one a put, cas or
 * delete set) followed by zero or more appended texts. Two necessary conditions follow for a
 * value u that an ok op still to come observes (a read's result, a cas's expected value) to
 * be the state again:
 *
 *   length: u is at least as long as the shortest of the current state and the values that
 *           the puts, cas and deletes still to come set;
 *   prefix: u is the state, or a value a put, cas or delete still to come sets, or (with
 *           appends still to come) a string beginning with the state's text or with the text
 *           of a value a put, cas or delete still to come sets.
 *
 * The length rule is checked over every observed value (the shortest first); it refutes at
 * once the classic failure of append tests, a read of "" (or of a short value) after appends
 * were acknowledged, which a plain search refutes only after trying every order of the
 * appends still open. The prefix rule is checked for the ops about to complete (lin_search.c)
 * or about to come next in their process (lin_seq.c).
 *
 * The observed and the set values are kept sorted by length, each with a cursor at the
 * shortest one still to come: a count that falls moves the cursor forward when it is next
 * needed, one that rises moves it back at once (O(1) amortized). For the prefix rule, each
 * set value knows the observed values its text begins (found by sorting the observed values
 * by text: those beginning with a text are contiguous), and each observed value counts the
 * sets to come that begin it; an op taken or given back updates those counts. */
#include "lin_internal.h"

#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct by_len {
    uint64_t len;
    uint32_t id;
} by_len;

static int cmp_len(const void *a, const void *b)
{
    const by_len *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The values with count[u] > 0, sorted by length, and each one's place (rank). */
static int sort_by_len(lin_part *p, const uint32_t *count, uint32_t **list, uint32_t **rank,
                       uint32_t *n)
{
    uint32_t m = p->rank_cap;
    by_len *tmp = malloc(((size_t)m + 1) * sizeof(*tmp));
    *list = malloc(((size_t)m + 1) * sizeof(**list));
    *rank = malloc(((size_t)m + 1) * sizeof(**rank));
    if (!tmp || !*list || !*rank) {
        free(tmp);
        return FL_ENOMEM;
    }
    *n = 0;
    for (uint32_t u = 0; u < m; u++) {
        (*rank)[u] = UINT32_MAX;
        if (count[u])
            tmp[(*n)++] = (by_len){fl__lin_vals_textlen(&p->vals, u), u};
    }
    qsort(tmp, *n, sizeof(*tmp), cmp_len);
    for (uint32_t i = 0; i < *n; i++) {
        (*list)[i] = tmp[i].id;
        (*rank)[tmp[i].id] = i;
    }
    free(tmp);
    return 0;
}

/* ---- text of values ---- */

typedef struct text {
    const char *s;
    size_t n;
    char buf[24];
} text;

/* The text append sees of value id (t->s may point into t->buf). */
static void text_of(const lin_vals *v, uint32_t id, text *t)
{
    t->s = "";
    t->n = 0;
    if (v->kind[id] == FL_VALUE_STR) {
        t->s = fl__lin_vals_str(v, id);
        t->n = v->len[id];
    } else if (v->kind[id] == FL_VALUE_INT) {
        t->n = (size_t)snprintf(t->buf, sizeof(t->buf), "%lld", (long long)v->num[id]);
        t->s = t->buf;
    }
}

static bool begins(const lin_vals *v, uint32_t whole, uint32_t start)
{
    text a, b;
    text_of(v, whole, &a);
    text_of(v, start, &b);
    return b.n <= a.n && !memcmp(a.s, b.s, b.n);
}

typedef struct by_text {
    const lin_vals *v;
    uint32_t id;
} by_text;

static int cmp_text(const void *x, const void *y)
{
    const by_text *a = x, *b = y;
    text ta, tb;
    text_of(a->v, a->id, &ta);
    text_of(b->v, b->id, &tb);
    int c = memcmp(ta.s, tb.s, ta.n < tb.n ? ta.n : tb.n);
    if (c)
        return c;
    return ta.n < tb.n ? -1 : ta.n > tb.n;
}

/* The first of the m sorted observed values whose text is not below that of id. */
static uint32_t lower_bound(const by_text *obs, uint32_t m, const lin_vals *v, uint32_t id)
{
    by_text key = {v, id};
    uint32_t lo = 0, hi = m;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_text(&obs[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* adj: for each set value, the observed strings its text begins; reach: their counts. */
static int build_prefix(lin_part *p)
{
    uint32_t m = p->rank_cap, n_str = 0;
    by_text *obs = malloc(((size_t)m + 1) * sizeof(*obs));
    p->reach = calloc((size_t)m + 1, sizeof(*p->reach));
    p->adj_start = calloc((size_t)m + 2, sizeof(*p->adj_start));
    if (!obs || !p->reach || !p->adj_start) {
        free(obs);
        return FL_ENOMEM;
    }
    for (uint32_t u = 0; u < m; u++)
        if (p->okobs[u] && p->vals.kind[u] == FL_VALUE_STR)
            obs[n_str++] = (by_text){&p->vals, u};
    qsort(obs, n_str, sizeof(*obs), cmp_text);
    size_t total = 0; /* two passes: count, then fill */
    for (int pass = 0; pass < 2; pass++) {
        total = 0;
        for (uint32_t v = 0; v < m; v++) {
            p->adj_start[v] = (uint32_t)total;
            if (!p->writers[v])
                continue;
            for (uint32_t i = lower_bound(obs, n_str, &p->vals, v);
                 i < n_str && begins(&p->vals, obs[i].id, v); i++) {
                if (pass)
                    p->adj[total] = obs[i].id, p->reach[obs[i].id] += p->writers[v];
                total++;
            }
        }
        p->adj_start[m] = (uint32_t)total;
        if (!pass && total > UINT32_MAX - 1) {
            free(obs);
            return FL_ETOOBIG;
        }
        if (!pass && !(p->adj = malloc((total + 1) * sizeof(*p->adj)))) {
            free(obs);
            return FL_ENOMEM;
        }
    }
    free(obs);
    return 0;
}

int fl__lin_len_build(lin_part *p)
{
    bool append = false;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->ops[i].f == LIN_INCR)
            return 0; /* incr makes states that are not set values plus text */
        append |= p->ops[i].f == LIN_APPEND;
        p->appends_left += p->ops[i].f == LIN_APPEND;
    }
    if (!append)
        return 0;
    p->rank_cap = p->vals.count;
    int rc = sort_by_len(p, p->okobs, &p->obs_len, &p->obs_rank, &p->n_obs);
    if (!rc)
        rc = sort_by_len(p, p->writers, &p->set_len, &p->set_rank, &p->n_set);
    if (!rc)
        rc = build_prefix(p);
    p->lenrule = rc == 0;
    return rc;
}

void fl__lin_len_adjust(lin_part *p, const uint32_t *count, uint32_t u, int delta)
{
    if (u >= p->rank_cap)
        return;
    if (count == p->writers) {
        for (uint32_t i = p->adj_start[u]; i < p->adj_start[u + 1]; i++)
            p->reach[p->adj[i]] = (uint32_t)((int64_t)p->reach[p->adj[i]] + delta);
    }
    if (delta < 0)
        return;
    if (count == p->okobs && p->obs_rank[u] < p->obs_at)
        p->obs_at = p->obs_rank[u];
    else if (count == p->writers && p->set_rank[u] < p->set_at)
        p->set_at = p->set_rank[u];
}

bool fl__lin_len_dead(lin_part *p, const uint32_t *states, uint32_t n)
{
    if (!p->lenrule)
        return false;
    while (p->obs_at < p->n_obs && !p->okobs[p->obs_len[p->obs_at]])
        p->obs_at++;
    if (p->obs_at == p->n_obs)
        return false; /* nothing left to observe */
    while (p->set_at < p->n_set && !p->writers[p->set_len[p->set_at]])
        p->set_at++;
    uint64_t floor = UINT64_MAX;
    if (p->set_at < p->n_set)
        floor = fl__lin_vals_textlen(&p->vals, p->set_len[p->set_at]);
    for (uint32_t k = 0; k < n && floor; k++) {
        uint64_t len = fl__lin_vals_textlen(&p->vals, states[k]);
        floor = len < floor ? len : floor;
    }
    return fl__lin_vals_textlen(&p->vals, p->obs_len[p->obs_at]) < floor;
}

bool fl__lin_reachable(const lin_part *p, uint32_t state, uint32_t u)
{
    if (!p->lenrule || u == state || p->writers[u])
        return true;
    if (!p->appends_left || p->vals.kind[u] != FL_VALUE_STR)
        return false;
    return (u < p->rank_cap && p->reach[u]) || begins(&p->vals, u, state);
}
