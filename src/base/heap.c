/* heap.c: binary min-heap ordered by (key, seq) (heap.h).
 *
 * Invariant: for every i > 0, item[(i-1)/2] <= item[i] in (key, seq) order. */
#include "faultline/heap.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static inline bool less(const fl_heap_item *a, const fl_heap_item *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

void fl_heap_init(fl_heap *h, size_t cap_max)
{
    memset(h, 0, sizeof(*h));
    h->cap_max = cap_max;
}

void fl_heap_free(fl_heap *h)
{
    free(h->items);
    memset(h, 0, sizeof(*h));
}

int fl_heap_push(fl_heap *h, uint64_t key, uint64_t value)
{
    if (h->count == h->cap) {
        if (h->count >= h->cap_max)
            return FL_EFULL;
        size_t cap = h->cap ? h->cap * 2 : 64;
        if (cap > h->cap_max)
            cap = h->cap_max;
        fl_heap_item *items = realloc(h->items, cap * sizeof(*items));
        if (!items)
            return FL_ENOMEM;
        h->items = items;
        h->cap = cap;
    }
    fl_heap_item it = {.key = key, .seq = h->seq_next++, .value = value};
    size_t i = h->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(&it, &h->items[parent]))
            break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = it;
    return 0;
}

bool fl_heap_pop(fl_heap *h, fl_heap_item *out)
{
    if (h->count == 0)
        return false;
    *out = h->items[0];
    fl_heap_item last = h->items[--h->count];
    size_t n = h->count, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && less(&h->items[c + 1], &h->items[c]))
            c++;
        if (!less(&h->items[c], &last))
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (n)
        h->items[i] = last;
    return true;
}

const fl_heap_item *fl_heap_peek(const fl_heap *h)
{
    return h->count ? &h->items[0] : NULL;
}
