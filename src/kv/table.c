/* table.c: an intrusive chained hash table of byte-string keys, used for both data and
 * sessions.
 *
 * Invariants: bucket_count is 0 or a power of two; every node sits in bucket
 * (hash & (bucket_count - 1)); count is the number of nodes; keys are unique (the caller
 * checks with find before insert). The table grows by doubling when count would exceed
 * bucket_count (load factor <= 1) up to BUCKETS_MAX (a node keeps 32 bits of its hash); a
 * failed grow keeps the old buckets, which is slower but still correct. Iteration order depends on
 * the seed, so nothing replicated may depend on it. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/rng.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_MIN 16
#define BUCKETS_MAX ((size_t)1 << 32)

void fl__kv_table_init(fl__kv_table *t, uint64_t seed)
{
    memset(t, 0, sizeof(*t));
    t->seed = seed;
}

void fl__kv_table_free(fl__kv_table *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->bucket_count = 0;
    t->count = 0;
}

/* Reads 8 bytes little-endian at p (n <= 8 bytes available, zero padded). */
static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint64_t fl__kv_hash(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t h = fl_mix64(seed ^ (uint64_t)n);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        h = fl_mix64(h ^ fl_get_u64le(p + i));
    if (i < n)
        h = fl_mix64(h ^ load_le(p + i, n - i) ^ 0x8000000000000000ull);
    return h;
}

fl__kv_node *fl__kv_table_find(const fl__kv_table *t, const uint8_t *key, size_t key_len)
{
    if (t->bucket_count == 0)
        return NULL;
    uint32_t h = (uint32_t)fl__kv_hash(t->seed, key, key_len);
    for (fl__kv_node *n = t->buckets[h & (t->bucket_count - 1)]; n; n = n->next) {
        if (n->hash == h && n->key_len == key_len &&
            (key_len == 0 || memcmp(n->key, key, key_len) == 0))
            return n;
    }
    return NULL;
}

static void link_node(fl__kv_node **buckets, size_t bucket_count, fl__kv_node *n)
{
    fl__kv_node **head = &buckets[n->hash & (bucket_count - 1)];
    n->next = *head;
    *head = n;
}

/* Moves every node into a table of new_count buckets. O(count). */
static int grow(fl__kv_table *t, size_t new_count)
{
    fl__kv_node **nb = calloc(new_count, sizeof(*nb));
    if (!nb)
        return FL_ENOMEM;
    for (size_t b = 0; b < t->bucket_count; b++) {
        fl__kv_node *n = t->buckets[b];
        while (n) {
            fl__kv_node *next = n->next;
            link_node(nb, new_count, n);
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->bucket_count = new_count;
    return 0;
}

int fl__kv_table_insert(fl__kv_table *t, fl__kv_node *n)
{
    n->hash = (uint32_t)fl__kv_hash(t->seed, n->key, n->key_len);
    if (t->bucket_count == 0) {
        if (grow(t, BUCKETS_MIN))
            return FL_ENOMEM;
    } else if (t->count >= t->bucket_count && t->bucket_count < BUCKETS_MAX &&
               t->bucket_count <= SIZE_MAX / 2 / sizeof(n)) {
        (void)grow(t, t->bucket_count * 2); /* on failure, keep the longer chains */
    }
    link_node(t->buckets, t->bucket_count, n);
    t->count++;
    return 0;
}

void fl__kv_table_remove(fl__kv_table *t, fl__kv_node *n)
{
    FL_ASSERT(t->bucket_count > 0);
    FL_ASSERT(t->count > 0);
    fl__kv_node **p = &t->buckets[n->hash & (t->bucket_count - 1)];
    while (*p != n) {
        FL_ASSERT(*p != NULL); /* n must be in the table */
        p = &(*p)->next;
    }
    *p = n->next;
    n->next = NULL;
    t->count--;
}

static fl__kv_node *scan_from(const fl__kv_table *t, size_t *bucket)
{
    for (; *bucket < t->bucket_count; (*bucket)++) {
        if (t->buckets[*bucket])
            return t->buckets[*bucket];
    }
    return NULL;
}

fl__kv_node *fl__kv_table_first(const fl__kv_table *t, size_t *bucket)
{
    *bucket = 0;
    return scan_from(t, bucket);
}

fl__kv_node *fl__kv_table_next(const fl__kv_table *t, size_t *bucket, fl__kv_node *n)
{
    if (n->next)
        return n->next;
    (*bucket)++;
    return scan_from(t, bucket);
}
