/* event.c: the slab of pending events and its free list; the heap orders slot indexes by time.
 *
 * Invariants: a slot is either free (on the free list) or pending (in the heap or a deferred
 * queue), never both; a slot keeps its message buffer when freed (up to SLOT_KEEP_BYTES), so a
 * steady stream of messages allocates nothing. Slots are bounded by cfg.events_max. */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static bool grow(fl_sim *sim)
{
    if (sim->ev_cap >= sim->cfg.events_max)
        return false;
    size_t cap = sim->ev_cap ? (size_t)sim->ev_cap * 2 : 256;
    if (cap > sim->cfg.events_max)
        cap = sim->cfg.events_max;
    sim_ev *ev = realloc(sim->ev, cap * sizeof(*ev));
    if (!ev)
        return false;
    memset(ev + sim->ev_cap, 0, (cap - sim->ev_cap) * sizeof(*ev));
    /* Link the new slots so the lowest index is handed out first. */
    for (size_t i = cap; i-- > sim->ev_cap;) {
        ev[i].next_free = sim->ev_free;
        sim->ev_free = (uint32_t)i;
    }
    sim->ev = ev;
    sim->ev_cap = (uint32_t)cap;
    return true;
}

/* Returns a free slot (fields other than data/cap unspecified), or SLOT_NONE when all
 * events_max are pending or memory ran out. */
uint32_t fl__ev_alloc(fl_sim *sim)
{
    if (sim->ev_free == SLOT_NONE && !grow(sim))
        return SLOT_NONE;
    uint32_t slot = sim->ev_free;
    sim->ev_free = sim->ev[slot].next_free;
    sim->ev_live++;
    sim_ev *e = &sim->ev[slot];
    e->next_free = SLOT_NONE;
    e->len = 0;
    return slot;
}

void fl__ev_release(fl_sim *sim, uint32_t slot)
{
    FL_ASSERT(slot < sim->ev_cap);
    FL_ASSERT(sim->ev_live > 0);
    sim_ev *e = &sim->ev[slot];
    if (e->cap > SLOT_KEEP_BYTES) {
        free(e->data);
        e->data = NULL;
        e->cap = 0;
    }
    e->kind = 0;
    e->next_free = sim->ev_free;
    sim->ev_free = slot;
    sim->ev_live--;
}

/* Pushes slot at time at; on failure the slot is released. */
int fl__ev_push(fl_sim *sim, fl_time_ns at, uint32_t slot)
{
    FL_ASSERT(at >= sim->now);
    int rc = fl_heap_push(&sim->heap, at, slot);
    if (rc)
        fl__ev_release(sim, slot);
    return rc;
}

/* Copies len bytes into the slot's buffer, growing it if needed. */
int fl__ev_set_data(fl_sim *sim, uint32_t slot, const void *p, size_t len)
{
    sim_ev *e = &sim->ev[slot];
    if (len > e->cap) {
        size_t cap = len < 64 ? 64 : len;
        uint8_t *d = realloc(e->data, cap);
        if (!d)
            return FL_ENOMEM;
        e->data = d;
        e->cap = (uint32_t)cap;
    }
    if (len)
        memcpy(e->data, p, len);
    e->len = (uint32_t)len;
    return 0;
}
