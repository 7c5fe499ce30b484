/* log.c: the acceptor's slot log: slots first_index .. first_index + log_count - 1, EMPTY
 * where nothing was accepted; the slots before first_index are in the snapshot.
 *
 * Payloads are copied into memory the log owns and freed when a slot is overwritten (a
 * higher ballot) or compacted. The array is contiguous so an update can point at a range of
 * it; acks (the leader's per-slot acceptance sets) is kept parallel to it. Every change
 * lowers dirty_from, so the step's persist request rewrites the log from there. */
#include "paxos_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

fl_index fl_paxos_first_index(const fl_paxos *p)
{
    return p->first_index;
}

fl_index fl_paxos_last_index(const fl_paxos *p)
{
    return p->first_index + p->log_count - 1;
}

fl_paxos_entry *fl__px_slot(fl_paxos *p, fl_index slot)
{
    if (slot < p->first_index || slot > fl_paxos_last_index(p))
        return NULL;
    return &p->log[slot - p->first_index];
}

const fl_paxos_entry *fl_paxos_entry_at(const fl_paxos *p, fl_index slot)
{
    return fl__px_slot((fl_paxos *)p, slot);
}

int fl__px_entry_copy(fl_paxos_entry *dst, const fl_paxos_entry *src)
{
    uint8_t *copy = NULL;
    if (src->len) {
        copy = malloc(src->len);
        if (!copy)
            return FL_ENOMEM;
        memcpy(copy, src->data, src->len);
    }
    *dst = *src;
    dst->data = copy;
    return 0;
}

void fl__px_entry_free(fl_paxos_entry *e)
{
    free((void *)e->data);
    memset(e, 0, sizeof(*e));
}

static void mark_dirty(fl_paxos *p, fl_index slot)
{
    if (p->dirty_from == 0 || slot < p->dirty_from)
        p->dirty_from = slot;
}

int fl__px_log_reserve(fl_paxos *p, fl_index slot)
{
    FL_ASSERT(slot >= p->first_index);
    size_t need = (size_t)(slot - p->first_index + 1);
    if (need <= p->log_count)
        return 0;
    if (need > p->log_cap) {
        size_t cap = p->log_cap ? p->log_cap : 256;
        while (cap < need)
            cap *= 2;
        fl_paxos_entry *log = realloc(p->log, cap * sizeof(*log));
        if (!log)
            return FL_ENOMEM;
        p->log = log;
        uint32_t *acks = realloc(p->acks, cap * sizeof(*acks));
        if (!acks)
            return FL_ENOMEM;
        p->acks = acks;
        p->log_cap = cap;
    }
    memset(&p->log[p->log_count], 0, (need - p->log_count) * sizeof(*p->log));
    memset(&p->acks[p->log_count], 0, (need - p->log_count) * sizeof(*p->acks));
    mark_dirty(p, p->first_index + p->log_count);
    p->log_count = need;
    return 0;
}

int fl__px_log_set(fl_paxos *p, fl_index slot, fl_term ballot, uint8_t type, const uint8_t *data,
                   uint32_t len)
{
    FL_ASSERT(type == FL_PAXOS_ENTRY_EMPTY || ballot > 0);
    int rc = fl__px_log_reserve(p, slot);
    if (rc)
        return rc;
    fl_paxos_entry *e = fl__px_slot(p, slot);
    if (e->ballot == ballot && e->type == type)
        return 0; /* one value per slot per ballot: already there */
    fl_paxos_entry v = {{ballot}, type, len, data}, copy;
    rc = fl__px_entry_copy(&copy, &v);
    if (rc)
        return rc;
    fl__px_entry_free(e);
    *e = copy;
    if (ballot > p->log_ballot_max)
        p->log_ballot_max = ballot;
    p->acks[slot - p->first_index] = 0; /* acceptances of another value, or of none */
    mark_dirty(p, slot);
    return 0;
}

void fl__px_log_compact(fl_paxos *p, fl_index upto)
{
    if (upto < p->first_index)
        return;
    fl_index last = fl_paxos_last_index(p);
    size_t drop = upto >= last ? p->log_count : (size_t)(upto + 1 - p->first_index);
    for (size_t i = 0; i < drop; i++)
        fl__px_entry_free(&p->log[i]);
    if (drop < p->log_count) {
        memmove(p->log, p->log + drop, (p->log_count - drop) * sizeof(*p->log));
        memmove(p->acks, p->acks + drop, (p->log_count - drop) * sizeof(*p->acks));
    }
    p->log_count -= drop;
    p->first_index = upto + 1;
    if (p->dirty_from && p->dirty_from < p->first_index)
        p->dirty_from = p->first_index;
}

void fl__px_log_free(fl_paxos *p)
{
    for (size_t i = 0; i < p->log_count; i++)
        fl__px_entry_free(&p->log[i]);
    free(p->log);
    free(p->acks);
    p->log = NULL;
    p->acks = NULL;
    p->log_count = p->log_cap = 0;
}
