/* heap.h: a binary min-heap of (key, seq, value) items with deterministic tie-breaking.
 *
 * Items are ordered by key, then by seq; seq is assigned by push from a counter, so items
 * with equal keys come out in the order they were pushed (FIFO), never by address. Push and
 * pop are O(log n). The heap grows up to cap_max items and refuses more with FL_EFULL. */
#ifndef FAULTLINE_HEAP_H
#define FAULTLINE_HEAP_H

#include "faultline/types.h"

typedef struct fl_heap_item {
    uint64_t key;
    uint64_t seq;
    uint64_t value;
} fl_heap_item;

typedef struct fl_heap {
    fl_heap_item *items;
    size_t count;
    size_t cap;
    size_t cap_max;
    uint64_t seq_next;
} fl_heap;

void fl_heap_init(fl_heap *h, size_t cap_max);
void fl_heap_free(fl_heap *h);
int fl_heap_push(fl_heap *h, uint64_t key, uint64_t value);
/* Removes the least item into *out; returns false when empty. */
bool fl_heap_pop(fl_heap *h, fl_heap_item *out);
/* The least item without removing it, or NULL when empty. */
const fl_heap_item *fl_heap_peek(const fl_heap *h);
static inline size_t fl_heap_count(const fl_heap *h)
{
    return h->count;
}

#endif
