/* members.c: the member table: slots in probe order (shuffled), an id -> slot hash index
 * (open addressing, linear probing, backward-shift deletion, 4 bytes per cell), insertion at
 * a random probe position and removal. Cost: lookup, insertion and removal O(1) expected, a
 * shuffle O(N). Memory: 16 bytes per member plus 4-8 bytes of index. */
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
    uint32_t icap = 16; /* load factor <= 2/3: about 1.5 probes per hit */
    while (icap < cap + cap / 2)
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
    /* grow by a quarter (a 10,000-member table is 160 KB per node: no doubling slack) */
    uint32_t cap = s->cap + s->cap / 4 + 16;
    if (cap < need)
        cap = need;
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

/* Bulk load of the initial members (alive, incarnation 0) in a random probe order: shuffle
 * the ids, then index them once, dropping duplicates. O(N). */
int fl__swim_load(fl_swim *s, const fl_node_id *ids, uint32_t count)
{
    FL_ASSERT(s->n == 0);
    int rc = grow(s, count);
    if (rc)
        return rc;
    memset(s->m, 0, (size_t)count * sizeof(*s->m));
    for (uint32_t i = 0; i < count; i++)
        s->m[i].id = ids[i];
    for (uint32_t i = count; i > 1; i--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)fl_rng_below(&s->rng, i);
        fl_node_id t = s->m[i - 1].id;
        s->m[i - 1].id = s->m[j].id;
        s->m[j].id = t;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        fl_node_id id = s->m[i].id;
        bool found;
        uint32_t c = id == FL_NODE_NONE ? 0 : cell_of(s, id, &found);
        if (id == FL_NODE_NONE || found)
            continue; /* duplicates count once */
        s->m[n].id = id;
        s->m[n].state = FL_SWIM_ALIVE;
        s->m[n].flags = MF_ADDR; /* the environment gave us the initial members */
        s->index[c] = n;
        s->n = ++n;
    }
    s->n_live = n;
    return 0;
}
