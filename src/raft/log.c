/* log.c: the in-memory Raft log: entries first_index .. first_index + log_count - 1, the
 * entry before them (first_index - 1) compacted into a snapshot but its term kept (base_term).
 *
 * Entry payloads are copied into memory the log owns and freed on truncation; compaction
 * and a snapshot's reset drop them into one array the environment takes as a whole
 * (fl_raft_take_dropped) to free where it likes. The array is contiguous so an update can
 * point at a range of it.
 *
 * Why not free them here: a snapshot compacts tens of thousands of entries at once, just
 * after the server forked the snapshot's child, so every free touches a copy-on-write page;
 * that stopped the server's loop for 15-40 ms per snapshot (issue 16). Freeing a few per step
 * instead (a dead list, round 5) removed the stall but cost 10-17% CPU on pipelined writes:
 * the loop's new allocations no longer reused the chunks just freed. Here the loop's share
 * is one pointer copy per entry, as it was for the dead list, and the server frees the whole
 * array at once on a thread of its own; the core stays free of threads. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

int fl__log_append(fl_raft *r, fl_term term, uint8_t type, const uint8_t *data, uint32_t len)
{
    FL_ASSERT(term >= fl_raft_term_at(r, fl_raft_last_index(r)));
    if (type == FL_RAFT_ENTRY_CONFIG) {
        fl_raft_entry probe = {{term}, type, len, data};
        if (!fl__conf_entry_valid(&probe))
            return FL_ECORRUPT; /* checked before it can touch the log */
    }
    if (r->log_count == r->log_cap) {
        size_t cap = r->log_cap ? r->log_cap * 2 : 256;
        fl_raft_entry *log = realloc(r->log, cap * sizeof(*log));
        if (!log)
            return FL_ENOMEM;
        r->log = log;
        r->log_cap = cap;
    }
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return FL_ENOMEM;
        memcpy(copy, data, len);
    }
    fl_raft_entry *e = &r->log[r->log_count++];
    e->term = term;
    e->type = type;
    e->len = len;
    e->data = copy;
    fl_index index = fl_raft_last_index(r);
    if (r->dirty_from == 0 || index < r->dirty_from)
        r->dirty_from = index;
    if (type == FL_RAFT_ENTRY_CONFIG)
        return fl__conf_appended(r, index, e); /* in force from now on, committed or not */
    return 0;
}

void fl__log_truncate(fl_raft *r, fl_index from)
{
    FL_ASSERT(from >= r->first_index);
    fl_index last = fl_raft_last_index(r);
    if (from > last)
        return;
    for (fl_index i = from; i <= last; i++)
        free((void *)r->log[i - r->first_index].data);
    r->log_count = from - r->first_index;
    if (r->dirty_from == 0 || from < r->dirty_from)
        r->dirty_from = from;
    /* Raft never truncates a committed entry. Only a broken protocol (a mutant) gets here;
     * keep the local invariants true and count it, so the checkers can report it. */
    if (r->commit >= from) {
        r->commit = from - 1;
        r->truncated_committed++;
    }
    if (r->applied >= from)
        r->applied = from - 1;
    /* What was durable beyond the cut is no longer our log. */
    if (r->durable_index >= from)
        r->durable_index = from - 1;
    for (size_t k = 0; k < r->pending_count; k++) {
        fl_raft_pending *p = &r->pending[(r->pending_head + k) % FL_RAFT_PENDING_MAX];
        if (p->last_index >= from)
            p->last_index = from - 1;
    }
    fl__conf_truncated(r, from); /* an uncommitted config entry cut off: the one before */
}

/* Frees what the last compaction dropped and no one took (a core driven without a host). */
static void free_dropped(fl_raft *r)
{
    for (size_t i = 0; i < r->dropped_count; i++)
        free(r->dropped[i]);
    free(r->dropped);
    r->dropped = NULL;
    r->dropped_count = 0;
}

/* The payloads of log[0 .. n) are done with: into one array for the environment, or freed at
 * once if none can be had (correct either way: only the stall comes back). */
static void drop_payloads(fl_raft *r, size_t n)
{
    free_dropped(r);
    void **a = n ? malloc(n * sizeof(*a)) : NULL;
    if (!a) {
        for (size_t i = 0; i < n; i++)
            free((void *)r->log[i].data);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r->log[i].data)
            a[k++] = (void *)r->log[i].data;
    if (k == 0) {
        free(a);
        return;
    }
    r->dropped = a;
    r->dropped_count = k;
}

size_t fl_raft_take_dropped(fl_raft *r, void ***out)
{
    size_t n = r->dropped_count;
    *out = r->dropped;
    r->dropped = NULL;
    r->dropped_count = 0;
    return n;
}

void fl__log_compact(fl_raft *r, fl_index upto)
{
    FL_ASSERT(upto <= fl_raft_last_index(r));
    if (upto < r->first_index)
        return;
    size_t drop = (size_t)(upto + 1 - r->first_index);
    r->base_term = fl_raft_term_at(r, upto);
    drop_payloads(r, drop);
    memmove(r->log, r->log + drop, (r->log_count - drop) * sizeof(*r->log));
    r->log_count -= drop;
    r->first_index = upto + 1;
}

void fl__log_reset(fl_raft *r, fl_index index, fl_term term)
{
    drop_payloads(r, r->log_count);
    r->log_count = 0;
    r->first_index = index + 1;
    r->base_term = term;
    r->dirty_from = index + 1; /* the durable log changes too: nothing after the snapshot */
}

void fl__log_free(fl_raft *r)
{
    for (size_t i = 0; i < r->log_count; i++)
        free((void *)r->log[i].data);
    free(r->log);
    r->log = NULL;
    r->log_count = r->log_cap = 0;
    free_dropped(r);
}

/* The first index of the run of entries that share index's term (bounded by the log start).
 * O(length of the run). */
fl_index fl__log_first_of_term(const fl_raft *r, fl_index index)
{
    fl_term t = fl_raft_term_at(r, index);
    while (index > r->first_index && fl_raft_term_at(r, index - 1) == t)
        index--;
    return index;
}

fl_index fl_raft_last_index(const fl_raft *r)
{
    return r->first_index + r->log_count - 1;
}

fl_index fl_raft_first_index(const fl_raft *r)
{
    return r->first_index;
}

fl_term fl_raft_term_at(const fl_raft *r, fl_index index)
{
    if (index + 1 == r->first_index)
        return r->base_term; /* 0 for index 0 */
    if (index < r->first_index || index > fl_raft_last_index(r))
        return 0;
    return r->log[index - r->first_index].term;
}

const fl_raft_entry *fl_raft_entry_at(const fl_raft *r, fl_index index)
{
    if (index < r->first_index || index > fl_raft_last_index(r))
        return NULL;
    return &r->log[index - r->first_index];
}
