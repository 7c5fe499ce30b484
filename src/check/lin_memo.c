/* lin_memo.c: the search memo: a set of configurations, each a short string of 32-bit words
 * (model state, frontier, pending ops, info bitmap), stored back to back in one growing array
 * and found through an open-addressing table of 64-bit slots (32-bit fingerprint + offset).
 * Every byte it holds is first taken from the shared budget (lin_shared.mem), so all threads
 * together stay under --memory-max; when the budget is spent, insert says so and the search
 * gives up with "unknown". Lookups compare the fingerprint first, then the words: O(n). */
#include "lin_internal.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

void fl__lin_memo_init(lin_memo *m, lin_shared *s)
{
    memset(m, 0, sizeof(*m));
    m->shared = s;
}

void fl__lin_memo_free(lin_memo *m)
{
    free(m->slots);
    free(m->words);
    fl__lin_mem_give(m->shared, m->bytes);
    lin_shared *s = m->shared;
    memset(m, 0, sizeof(*m));
    m->shared = s;
}

static uint64_t hash_words(const uint32_t *key, uint32_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ n;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 0x9E3779B97F4A7C15ull, h ^= h >> 29;
    return h ^ (h >> 32);
}

static int grow_slots(lin_memo *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    if (!cap)
        return FL_ETOOBIG;
    uint64_t add = (uint64_t)(cap - m->cap) * sizeof(uint64_t);
    if (!fl__lin_mem_take(m->shared, add))
        return FL_ETOOBIG;
    uint64_t *slots = calloc(cap, sizeof(*slots));
    if (!slots) {
        fl__lin_mem_give(m->shared, add);
        return FL_ENOMEM;
    }
    m->bytes += add;
    for (uint32_t i = 0; i < m->cap; i++) {
        uint64_t s = m->slots[i];
        if (!s)
            continue;
        uint32_t off = (uint32_t)s - 1;
        uint64_t h = hash_words(m->words + off + 1, m->words[off]);
        uint32_t j = (uint32_t)h & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int reserve_words(lin_memo *m, uint32_t n)
{
    if (m->nwords + n + 1 <= m->capwords)
        return 0;
    size_t cap = m->capwords ? m->capwords * 2 : 4096;
    while (cap < m->nwords + n + 1)
        cap *= 2;
    if (cap > (size_t)UINT32_MAX - 1)
        return FL_ETOOBIG;
    uint64_t add = (uint64_t)(cap - m->capwords) * sizeof(uint32_t);
    if (!fl__lin_mem_take(m->shared, add))
        return FL_ETOOBIG;
    uint32_t *w = realloc(m->words, cap * sizeof(*w));
    if (!w) {
        fl__lin_mem_give(m->shared, add);
        return FL_ENOMEM;
    }
    m->bytes += add;
    m->words = w;
    m->capwords = cap;
    return 0;
}

int fl__lin_memo_insert(lin_memo *m, const uint32_t *key, uint32_t n)
{
    int rc;
    if ((m->count + 1) * 2 > m->cap && (rc = grow_slots(m)))
        return rc;
    uint64_t h = hash_words(key, n);
    uint64_t fp = (h >> 32) << 32;
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)h & mask;
    for (; m->slots[i]; i = (i + 1) & mask) {
        uint64_t s = m->slots[i];
        if ((s & 0xFFFFFFFF00000000ull) != fp)
            continue;
        const uint32_t *w = m->words + ((uint32_t)s - 1);
        if (w[0] == n && !memcmp(w + 1, key, n * sizeof(*key)))
            return 0;
    }
    if ((rc = reserve_words(m, n)))
        return rc;
    size_t off = m->nwords;
    m->words[off] = n;
    memcpy(m->words + off + 1, key, n * sizeof(*key));
    m->nwords += n + 1;
    m->slots[i] = fp | (off + 1);
    m->count++;
    return 1;
}
