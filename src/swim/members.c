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

#define EMPTY UINT32_MAX

static inline uint32_t hash_id(const fl_swim *s, fl_node_id id)
{
    return (uint32_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & s->index_mask;
}

/* The index cell of id, or of the empty cell where it would go; *found tells which. Expected
 * O(1) at load <= 1/2. */
static uint32_t cell_of(const fl_swim *s, fl_node_id id, bool *found)
{
    uint32_t i = hash_id(s, id);
    for (;;) {
        uint32_t slot = s->index[i];
        if (slot == EMPTY) {
            *found = false;
            return i;
        }
        if (s->m[slot].id == id) {
            *found = true;
            return i;
        }
        i = (i + 1) & s->index_mask;
    }
}

swim_member *fl__swim_find(const fl_swim *s, fl_node_id id)
{
    if (!s->index)
        return NULL;
    bool found;
    uint32_t c = cell_of(s, id, &found);
    return found ? &s->m[s->index[c]] : NULL;
}

static void index_put(fl_swim *s, uint32_t slot)
{
    bool found;
    uint32_t c = cell_of(s, s->m[slot].id, &found);
    FL_ASSERT(!found);
    s->index[c] = slot;
}

/* Removes id's cell, shifting later cells of its probe run back (no tombstones). */
static void index_del(fl_swim *s, fl_node_id id)
{
    bool found;
    uint32_t hole = cell_of(s, id, &found);
    FL_ASSERT(found);
    s->index[hole] = EMPTY;
    for (uint32_t j = (hole + 1) & s->index_mask; s->index[j] != EMPTY;
         j = (j + 1) & s->index_mask) {
        uint32_t home = hash_id(s, s->m[s->index[j]].id);
        /* the entry at j may move to the hole unless its home lies cyclically in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            s->index[hole] = s->index[j];
            s->index[j] = EMPTY;
            hole = j;
        }
    }
}

static int rebuild_index(fl_swim *s, uint32_t cap)
{
    uint32_t icap = 16;
    while (icap < 2 * cap)
        icap *= 2;
    uint32_t *ix = malloc((size_t)icap * sizeof(*ix));
    if (!ix)
        return FL_ENOMEM;
    memset(ix, 0xff, (size_t)icap * sizeof(*ix));
    free(s->index);
    s->index = ix;
    s->index_mask = icap - 1;
    for (uint32_t slot = 0; slot < s->n; slot++)
        index_put(s, slot);
    return 0;
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
    s->cap = cap;
    return rebuild_index(s, cap);
}

static void swap_slots(fl_swim *s, uint32_t a, uint32_t b)
{
    if (a == b)
        return;
    bool fa, fb;
    uint32_t ca = cell_of(s, s->m[a].id, &fa), cb = cell_of(s, s->m[b].id, &fb);
    FL_ASSERT(fa && fb);
    swim_member t = s->m[a];
    s->m[a] = s->m[b];
    s->m[b] = t;
    s->index[ca] = b;
    s->index[cb] = a;
}

swim_member *fl__swim_add(fl_swim *s, fl_node_id id, uint32_t inc, fl_swim_state st)
{
    FL_ASSERT(fl__swim_find(s, id) == NULL);
    if (grow(s, s->n + 1))
        return NULL;
    uint32_t slot = s->n;
    memset(&s->m[slot], 0, sizeof(s->m[slot]));
    s->m[slot].id = id;
    s->m[slot].inc = inc;
    s->m[slot].state = (uint8_t)st;
    s->m[slot].t_ms = fl__swim_now_ms(s);
    s->n++;
    index_put(s, slot);
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
    index_del(s, x->id);
    uint32_t last = s->n - 1;
    if (slot != last) {
        bool found;
        uint32_t c = cell_of(s, s->m[last].id, &found);
        FL_ASSERT(found);
        s->index[c] = slot;
        s->m[slot] = s->m[last];
    }
    s->n--;
}

void fl__swim_shuffle(fl_swim *s)
{
    for (uint32_t i = s->n; i > 1; i--) /* Fisher-Yates */
        swap_slots(s, i - 1, (uint32_t)fl_rng_below(&s->rng, i));
}

/* Bulk load of the initial members (alive, incarnation 0) in a random probe order: O(N). */
int fl__swim_load(fl_swim *s, const fl_node_id *ids, uint32_t count)
{
    FL_ASSERT(s->n == 0);
    int rc = grow(s, count);
    if (rc)
        return rc;
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == FL_NODE_NONE || fl__swim_find(s, ids[i]))
            continue; /* duplicates count once */
        memset(&s->m[n], 0, sizeof(s->m[n]));
        s->m[n].id = ids[i];
        s->m[n].state = FL_SWIM_ALIVE;
        s->n = ++n;
        index_put(s, n - 1);
    }
    for (uint32_t i = n; i > 1; i--) { /* Fisher-Yates on the slots, then reindex once */
        uint32_t j = (uint32_t)fl_rng_below(&s->rng, i);
        swim_member t = s->m[i - 1];
        s->m[i - 1] = s->m[j];
        s->m[j] = t;
    }
    s->n_live = n;
    return rebuild_index(s, s->cap);
}
