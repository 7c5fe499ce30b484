/* list.c: a kv list (kv_internal.h): a ring buffer of element pointers, so that pushing
 * and popping at either end, reading and replacing by index are O(1) (amortized for pushes:
 * the ring doubles when full, and halves when a quarter full).
 *
 * Invariants: cap is 0 or a power of two; count <= cap; the elements are ring[(head + i) &
 * (cap - 1)] for i in [0, count), each its own allocation; slots outside that range are
 * unused. Byte accounting is the caller's (ops_list.c). */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

#define RING_MIN 8

fl__kv_list *fl__kv_list_new(void)
{
    return calloc(1, sizeof(fl__kv_list));
}

static size_t slot(const fl__kv_list *l, size_t i)
{
    return (l->head + i) & (l->cap - 1);
}

void fl__kv_list_free(fl__kv_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->ring[slot(l, i)]);
    free(l->ring);
    free(l);
}

fl__kv_blob *fl__kv_list_at(const fl__kv_list *l, size_t i)
{
    FL_ASSERT(i < l->count);
    return l->ring[slot(l, i)];
}

/* Moves the elements into a ring of cap slots, head at 0. O(count). */
static int resize(fl__kv_list *l, size_t cap)
{
    FL_ASSERT(cap >= l->count);
    fl__kv_blob **r = malloc(cap * sizeof(*r));
    if (!r)
        return FL_ENOMEM;
    for (size_t i = 0; i < l->count; i++)
        r[i] = l->ring[slot(l, i)];
    free(l->ring);
    l->ring = r;
    l->cap = cap;
    l->head = 0;
    return 0;
}

static fl__kv_blob *blob_new(const uint8_t *p, size_t n)
{
    fl__kv_blob *b = malloc(sizeof(*b) + n);
    if (!b)
        return NULL;
    b->len = n;
    if (n)
        memcpy(b->bytes, p, n);
    return b;
}

int fl__kv_list_push(fl__kv_list *l, bool left, const uint8_t *p, size_t n)
{
    if (l->count == l->cap && resize(l, l->cap ? l->cap * 2 : RING_MIN))
        return FL_ENOMEM;
    fl__kv_blob *b = blob_new(p, n);
    if (!b)
        return FL_ENOMEM;
    if (left) {
        l->head = (l->head + l->cap - 1) & (l->cap - 1);
        l->ring[l->head] = b;
    } else {
        l->ring[slot(l, l->count)] = b;
    }
    l->count++;
    return 0;
}

/* Halves a ring that is at most a quarter full (a failed shrink keeps the larger ring). */
static void maybe_shrink(fl__kv_list *l)
{
    if (l->cap > RING_MIN && l->count <= l->cap / 4)
        (void)resize(l, l->cap / 2);
}

void fl__kv_list_pop(fl__kv_list *l, bool left)
{
    FL_ASSERT(l->count > 0);
    size_t s = left ? l->head : slot(l, l->count - 1);
    free(l->ring[s]);
    l->ring[s] = NULL;
    if (left)
        l->head = (l->head + 1) & (l->cap - 1);
    l->count--;
    maybe_shrink(l);
}

int fl__kv_list_set(fl__kv_list *l, size_t i, const uint8_t *p, size_t n)
{
    fl__kv_blob *b = blob_new(p, n);
    if (!b)
        return FL_ENOMEM;
    size_t s = slot(l, i);
    free(l->ring[s]);
    l->ring[s] = b;
    return 0;
}

static bool equal(const fl__kv_blob *b, const uint8_t *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->bytes, p, n) == 0);
}

size_t fl__kv_list_rem(fl__kv_list *l, size_t limit, bool from_head, const uint8_t *p, size_t n,
                       size_t *bytes)
{
    /* Mark the removed slots NULL, walking from the chosen end, then close the gaps. */
    size_t removed = 0;
    *bytes = 0;
    for (size_t k = 0; k < l->count && (limit == 0 || removed < limit); k++) {
        size_t s = slot(l, from_head ? k : l->count - 1 - k);
        if (equal(l->ring[s], p, n)) {
            *bytes += l->ring[s]->len;
            free(l->ring[s]);
            l->ring[s] = NULL;
            removed++;
        }
    }
    if (removed == 0)
        return 0;
    size_t w = 0;
    for (size_t k = 0; k < l->count; k++) {
        fl__kv_blob *b = l->ring[slot(l, k)];
        if (b)
            l->ring[slot(l, w++)] = b;
    }
    l->count = w;
    maybe_shrink(l);
    return removed;
}
