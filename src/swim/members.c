/* members.c: the member table: slots in probe order (shuffled), an index sorted by id for
 * O(log N) lookup, insertion at a random probe position and removal. Cost: lookup O(log N),
 * insertion and removal O(N) (a memmove of the 4-byte index), a shuffle O(N log N). */
#include "swim_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

uint32_t fl__swim_now_ms(const fl_swim *s)
{
    return (uint32_t)(s->now_ns / FL_NS_PER_MS);
}

/* Position in by_id of id, or of where it would go; *found tells which. */
static uint32_t pos_of(const fl_swim *s, fl_node_id id, bool *found)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->m[s->by_id[mid]].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n && s->m[s->by_id[lo]].id == id;
    return lo;
}

swim_member *fl__swim_find(const fl_swim *s, fl_node_id id)
{
    bool found;
    uint32_t p = pos_of(s, id, &found);
    return found ? &s->m[s->by_id[p]] : NULL;
}

static int grow(fl_swim *s, uint32_t need)
{
    if (need <= s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap : 16;
    while (cap < need)
        cap *= 2;
    if (cap > s->cfg.members_max)
        cap = s->cfg.members_max;
    if (cap < need)
        return FL_EFULL;
    swim_member *m = realloc(s->m, (size_t)cap * sizeof(*m));
    if (!m)
        return FL_ENOMEM;
    s->m = m;
    uint32_t *b = realloc(s->by_id, (size_t)cap * sizeof(*b));
    if (!b)
        return FL_ENOMEM;
    s->by_id = b;
    s->cap = cap;
    return 0;
}

static void swap_slots(fl_swim *s, uint32_t a, uint32_t b)
{
    if (a == b)
        return;
    bool fa, fb;
    uint32_t pa = pos_of(s, s->m[a].id, &fa), pb = pos_of(s, s->m[b].id, &fb);
    FL_ASSERT(fa && fb);
    swim_member t = s->m[a];
    s->m[a] = s->m[b];
    s->m[b] = t;
    s->by_id[pa] = b;
    s->by_id[pb] = a;
}

swim_member *fl__swim_add(fl_swim *s, fl_node_id id, uint32_t inc, fl_swim_state st)
{
    bool found;
    uint32_t p = pos_of(s, id, &found);
    FL_ASSERT(!found);
    if (grow(s, s->n + 1))
        return NULL;
    uint32_t slot = s->n;
    memset(&s->m[slot], 0, sizeof(s->m[slot]));
    s->m[slot].id = id;
    s->m[slot].inc = inc;
    s->m[slot].state = (uint8_t)st;
    s->m[slot].t_ms = fl__swim_now_ms(s);
    memmove(s->by_id + p + 1, s->by_id + p, (size_t)(s->n - p) * sizeof(*s->by_id));
    s->by_id[p] = slot;
    s->n++;
    if (st == FL_SWIM_ALIVE || st == FL_SWIM_SUSPECT)
        s->n_live++;
    /* SWIM 4.3: a new member goes to a random position of the probe order. */
    uint32_t r = (uint32_t)fl_rng_below(&s->rng, s->n);
    swap_slots(s, slot, r);
    return &s->m[r];
}

void fl__swim_remove(fl_swim *s, uint32_t slot)
{
    FL_ASSERT(slot < s->n);
    swim_member *x = &s->m[slot];
    FL_ASSERT(x->state == FL_SWIM_DEAD || x->state == FL_SWIM_LEFT);
    bool found;
    uint32_t p = pos_of(s, x->id, &found);
    FL_ASSERT(found);
    memmove(s->by_id + p, s->by_id + p + 1, (size_t)(s->n - p - 1) * sizeof(*s->by_id));
    s->n--;
    uint32_t last = s->n;
    if (slot != last) {
        uint32_t q = pos_of(s, s->m[last].id, &found);
        FL_ASSERT(found);
        s->by_id[q] = slot;
        s->m[slot] = s->m[last];
    }
}

void fl__swim_shuffle(fl_swim *s)
{
    for (uint32_t i = s->n; i > 1; i--) /* Fisher-Yates */
        swap_slots(s, i - 1, (uint32_t)fl_rng_below(&s->rng, i));
}

static int cmp_id(const void *a, const void *b)
{
    fl_node_id x = *(const fl_node_id *)a, y = *(const fl_node_id *)b;
    return x < y ? -1 : x > y;
}

/* Bulk load of the initial members (alive, incarnation 0), O(N) when ids come sorted. */
int fl__swim_load(fl_swim *s, const fl_node_id *ids, uint32_t count)
{
    FL_ASSERT(s->n == 0);
    int rc = grow(s, count);
    if (rc)
        return rc;
    fl_node_id *sorted = s->by_id; /* scratch: ids, then ranks */
    memcpy(sorted, ids, (size_t)count * sizeof(*sorted));
    bool ordered = true;
    for (uint32_t i = 1; i < count && ordered; i++)
        ordered = sorted[i - 1] < sorted[i];
    if (!ordered)
        qsort(sorted, count, sizeof(*sorted), cmp_id);
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (sorted[i] == FL_NODE_NONE || (n > 0 && s->m[n - 1].id == sorted[i]))
            continue;
        memset(&s->m[n], 0, sizeof(s->m[n]));
        s->m[n].id = sorted[i];
        s->m[n].state = FL_SWIM_ALIVE;
        n++;
    }
    /* a random probe order: permute slots, keeping by_id[rank] = slot */
    for (uint32_t i = 0; i < n; i++)
        s->by_id[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)fl_rng_below(&s->rng, i);
        swim_member t = s->m[i - 1];
        s->m[i - 1] = s->m[j];
        s->m[j] = t;
        uint32_t u = s->by_id[i - 1];
        s->by_id[i - 1] = s->by_id[j];
        s->by_id[j] = u;
    }
    /* by_id currently maps slot -> rank; invert it into rank -> slot */
    uint32_t *rank = malloc((size_t)n * sizeof(*rank) + 1);
    if (!rank)
        return FL_ENOMEM;
    memcpy(rank, s->by_id, (size_t)n * sizeof(*rank));
    for (uint32_t slot = 0; slot < n; slot++)
        s->by_id[rank[slot]] = slot;
    free(rank);
    s->n = n;
    s->n_live = n;
    return 0;
}
