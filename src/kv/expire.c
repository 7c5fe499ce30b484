/* expire.c: the keys with a time to live (kv_internal.h): a binary min-heap of entries by
 * expiry time, each entry knowing its position so that a delete or a PERSIST takes it out
 * in O(log n).
 *
 * Invariants: e->expire_at != 0 iff e is in the heap at e->heap_pos (else heap_pos is
 * FL__KV_NO_HEAP_POS, so the heap holds fewer than UINT32_MAX keys); the heap is ordered by
 * (expire_at, key bytes), a total order, so which key a tie pops first never depends on memory
 * addresses (the end state does not either: every due key goes). Expiry is decided only by the log
 * time (fl_kv.log_time_ns), which comes from the leader's stamps: every replica deletes the same
 * keys at the same index. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static bool before(const fl__kv_entry *a, const fl__kv_entry *b)
{
    if (a->expire_at != b->expire_at)
        return a->expire_at < b->expire_at;
    size_t n = a->node.key_len < b->node.key_len ? a->node.key_len : b->node.key_len;
    int c = n ? memcmp(a->node.key, b->node.key, n) : 0;
    return c ? c < 0 : a->node.key_len < b->node.key_len;
}

static void place(fl_kv *kv, fl__kv_entry *e, size_t i)
{
    kv->expiring[i] = e;
    e->heap_pos = (uint32_t)i; /* < n_expiring < FL__KV_NO_HEAP_POS */
}

static void sift_up(fl_kv *kv, size_t i)
{
    fl__kv_entry *e = kv->expiring[i];
    while (i > 0 && before(e, kv->expiring[(i - 1) / 2])) {
        place(kv, kv->expiring[(i - 1) / 2], i);
        i = (i - 1) / 2;
    }
    place(kv, e, i);
}

static void sift_down(fl_kv *kv, size_t i)
{
    fl__kv_entry *e = kv->expiring[i];
    size_t n = kv->n_expiring;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(kv->expiring[c + 1], kv->expiring[c]))
            c++;
        if (!before(kv->expiring[c], e))
            break;
        place(kv, kv->expiring[c], i);
        i = c;
    }
    place(kv, e, i);
}

static void heap_remove(fl_kv *kv, fl__kv_entry *e)
{
    size_t i = e->heap_pos;
    FL_ASSERT(i < kv->n_expiring && kv->expiring[i] == e);
    fl__kv_entry *last = kv->expiring[--kv->n_expiring];
    e->heap_pos = FL__KV_NO_HEAP_POS;
    if (last == e)
        return;
    place(kv, last, i);
    sift_down(kv, i);
    sift_up(kv, last->heap_pos);
}

int fl__kv_expire_set(fl_kv *kv, fl__kv_entry *e, fl_time_ns at)
{
    if (e->expire_at && !at) {
        heap_remove(kv, e);
        e->expire_at = 0;
        return 0;
    }
    if (!at)
        return 0;
    if (e->expire_at) {
        e->expire_at = at;
        sift_down(kv, e->heap_pos);
        sift_up(kv, e->heap_pos);
        return 0;
    }
    if (kv->n_expiring >= FL__KV_NO_HEAP_POS - 1)
        return FL_ENOMEM; /* 4 billion keys with a time to live: past any memory here */
    if (kv->n_expiring == kv->cap_expiring) {
        size_t cap = kv->cap_expiring ? kv->cap_expiring * 2 : 16;
        fl__kv_entry **p = realloc(kv->expiring, cap * sizeof(*p));
        if (!p)
            return FL_ENOMEM;
        kv->expiring = p;
        kv->cap_expiring = cap;
    }
    e->expire_at = at;
    kv->expiring[kv->n_expiring++] = e;
    sift_up(kv, kv->n_expiring - 1);
    return 0;
}

void fl__kv_expire_due(fl_kv *kv)
{
    /* bounded by the number of keys: each iteration deletes one */
    while (kv->n_expiring && kv->expiring[0]->expire_at <= kv->log_time_ns)
        fl__kv_entry_delete(kv, kv->expiring[0]);
}

void fl__kv_expire_free(fl_kv *kv)
{
    free(kv->expiring);
    kv->expiring = NULL;
    kv->n_expiring = kv->cap_expiring = 0;
}

bool fl__kv_expire_ok(const fl_kv *kv)
{
    for (size_t i = 0; i < kv->n_expiring; i++) {
        const fl__kv_entry *e = kv->expiring[i];
        if (e->heap_pos != i || e->expire_at == 0)
            return false;
        if (i > 0 && before(e, kv->expiring[(i - 1) / 2]))
            return false;
    }
    return true;
}

fl_time_ns fl_kv_next_expiry(const fl_kv *kv)
{
    return kv->n_expiring ? kv->expiring[0]->expire_at : FL_TIME_NEVER;
}
