/* zset.c: a kv sorted set (kv_internal.h): a hash table of members (ZSCORE, ZREM in O(1))
 * and a skip list (Pugh, 1990) ordered by (score, member bytes) whose links carry spans,
 * the number of members each one passes over, so that a rank and the member at a rank are
 * found in O(log n) expected.
 *
 * A node's height is not random: it comes from a seeded hash of its member (each further
 * level with probability 1/4), so the structure is a function of the members and the seed
 * alone; results never depend on it (the seed changes only the shape, as for the hash
 * tables). Invariants (fl__kv_zset_ok): level 0 holds every member once, in strictly
 * increasing (score, member) order, with back links to the previous node and tail at the
 * last; every level's links skip exactly `span` level-0 nodes; no score is NaN. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HEIGHT_SEED 0x7a736b69706c7631ull

/* True if (score, p, n) sorts before node b. */
static bool before(double score, const uint8_t *p, size_t n, const fl__kv_znode *b)
{
    if (score != b->score)
        return score < b->score;
    size_t m = n < b->node.key_len ? n : b->node.key_len;
    int c = m ? memcmp(p, b->node.key, m) : 0;
    return c ? c < 0 : n < b->node.key_len;
}

static bool node_before(const fl__kv_znode *a, const fl__kv_znode *b)
{
    return before(a->score, a->node.key, a->node.key_len, b);
}

static fl__kv_znode *node_new(uint32_t height, const uint8_t *p, size_t n)
{
    size_t links = height * sizeof(fl__kv_zlink);
    fl__kv_znode *x = calloc(1, sizeof(*x) + links + n);
    if (!x)
        return NULL;
    uint8_t *bytes = (uint8_t *)x->link + links;
    if (n)
        memcpy(bytes, p, n);
    fl__kv_node_key(&x->node, bytes, n);
    x->height = height;
    return x;
}

fl__kv_zset *fl__kv_zset_new(uint64_t seed)
{
    fl__kv_zset *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->head = node_new(FL__KV_ZLEVELS, NULL, 0);
    if (!z->head) {
        free(z);
        return NULL;
    }
    fl__kv_table_init(&z->table, seed);
    z->height = 1;
    return z;
}

void fl__kv_zset_free(fl__kv_zset *z)
{
    if (!z)
        return;
    fl__kv_znode *x = z->head->link[0].next;
    while (x) {
        fl__kv_znode *next = x->link[0].next;
        free(x);
        x = next;
    }
    free(z->head);
    fl__kv_table_free(&z->table);
    free(z);
}

fl__kv_znode *fl__kv_zset_find(const fl__kv_zset *z, const uint8_t *p, size_t n)
{
    return (fl__kv_znode *)fl__kv_table_find(&z->table, p, n);
}

static uint32_t height_of(const fl__kv_zset *z, const uint8_t *p, size_t n)
{
    uint64_t h = fl__kv_hash(z->table.seed ^ HEIGHT_SEED, p, n);
    uint32_t height = 1;
    while ((h & 3) == 0 && height < FL__KV_ZLEVELS) {
        height++;
        h >>= 2;
    }
    return height;
}

/* Links x (score set, not in the list) in place; count = members before it is linked. */
static void link_in(fl__kv_zset *z, fl__kv_znode *x, size_t count)
{
    fl__kv_znode *update[FL__KV_ZLEVELS], *y = z->head;
    size_t rank[FL__KV_ZLEVELS];
    for (uint32_t i = z->height; i-- > 0;) {
        rank[i] = i + 1 == z->height ? 0 : rank[i + 1];
        while (y->link[i].next && node_before(y->link[i].next, x)) {
            rank[i] += y->link[i].span;
            y = y->link[i].next;
        }
        update[i] = y;
    }
    for (uint32_t i = z->height; i < x->height; i++) {
        rank[i] = 0;
        update[i] = z->head;
        z->head->link[i].span = count;
    }
    if (x->height > z->height)
        z->height = x->height;
    for (uint32_t i = 0; i < x->height; i++) {
        x->link[i].next = update[i]->link[i].next;
        update[i]->link[i].next = x;
        x->link[i].span = update[i]->link[i].span - (rank[0] - rank[i]);
        update[i]->link[i].span = rank[0] - rank[i] + 1;
    }
    for (uint32_t i = x->height; i < z->height; i++)
        update[i]->link[i].span++;
    x->back = update[0] == z->head ? NULL : update[0];
    if (x->link[0].next)
        x->link[0].next->back = x;
    else
        z->tail = x;
}

/* Unlinks x from every level (x is not freed). */
static void unlink_out(fl__kv_zset *z, fl__kv_znode *x)
{
    fl__kv_znode *y = z->head;
    for (uint32_t i = z->height; i-- > 0;) {
        while (y->link[i].next && y->link[i].next != x && node_before(y->link[i].next, x))
            y = y->link[i].next;
        if (y->link[i].next == x) {
            y->link[i].span += x->link[i].span - 1;
            y->link[i].next = x->link[i].next;
        } else {
            y->link[i].span--;
        }
    }
    if (x->link[0].next)
        x->link[0].next->back = x->back;
    else
        z->tail = x->back;
    while (z->height > 1 && !z->head->link[z->height - 1].next)
        z->height--;
}

fl__kv_znode *fl__kv_zset_insert(fl__kv_zset *z, const uint8_t *p, size_t n, double score)
{
    FL_ASSERT(!isnan(score));
    fl__kv_znode *x = node_new(height_of(z, p, n), p, n);
    if (!x)
        return NULL;
    x->score = score;
    if (fl__kv_table_insert(&z->table, &x->node)) {
        free(x);
        return NULL;
    }
    link_in(z, x, z->table.count - 1);
    return x;
}

void fl__kv_zset_delete(fl__kv_zset *z, fl__kv_znode *x)
{
    unlink_out(z, x);
    fl__kv_table_remove(&z->table, &x->node);
    free(x);
}

void fl__kv_zset_rescore(fl__kv_zset *z, fl__kv_znode *x, double score)
{
    FL_ASSERT(!isnan(score));
    unlink_out(z, x);
    x->score = score;
    link_in(z, x, z->table.count - 1);
}

size_t fl__kv_zset_rank(const fl__kv_zset *z, const fl__kv_znode *x)
{
    const fl__kv_znode *y = z->head;
    size_t rank = 0;
    for (uint32_t i = z->height; i-- > 0;) {
        while (y->link[i].next && (y->link[i].next == x || node_before(y->link[i].next, x))) {
            rank += y->link[i].span;
            y = y->link[i].next;
        }
        if (y == x)
            return rank - 1;
    }
    FL_UNREACHABLE();
}

fl__kv_znode *fl__kv_zset_at(const fl__kv_zset *z, size_t rank)
{
    FL_ASSERT(rank < z->table.count);
    fl__kv_znode *y = z->head;
    size_t passed = 0, want = rank + 1;
    for (uint32_t i = z->height; i-- > 0;) {
        while (y->link[i].next && passed + y->link[i].span <= want) {
            passed += y->link[i].span;
            y = y->link[i].next;
        }
        if (passed == want)
            return y;
    }
    FL_UNREACHABLE();
}

fl__kv_znode *fl__kv_zset_first_from(const fl__kv_zset *z, double min, bool excl)
{
    fl__kv_znode *y = z->head;
    for (uint32_t i = z->height; i-- > 0;)
        while (y->link[i].next &&
               (excl ? y->link[i].next->score <= min : y->link[i].next->score < min))
            y = y->link[i].next;
    return y->link[0].next;
}

fl__kv_znode *fl__kv_zset_last_to(const fl__kv_zset *z, double max, bool excl)
{
    fl__kv_znode *y = z->head;
    for (uint32_t i = z->height; i-- > 0;)
        while (y->link[i].next &&
               (excl ? y->link[i].next->score < max : y->link[i].next->score <= max))
            y = y->link[i].next;
    return y == z->head ? NULL : y;
}

/* Level i's spans: each link passes over exactly span level-0 nodes (the last one: up to
 * the end). O(n). */
static bool level_ok(const fl__kv_zset *z, uint32_t i)
{
    const fl__kv_znode *y = z->head, *walk = z->head;
    for (;;) {
        size_t steps = 0;
        while (walk != y->link[i].next && walk->link[0].next) {
            walk = walk->link[0].next;
            steps++;
        }
        if (walk != (y->link[i].next ? y->link[i].next
                     : z->tail       ? z->tail
                                     : z->head) ||
            steps != y->link[i].span)
            return false;
        if (!y->link[i].next)
            return true;
        y = y->link[i].next;
    }
}

bool fl__kv_zset_ok(const fl__kv_zset *z)
{
    size_t n = 0;
    const fl__kv_znode *prev = NULL;
    for (const fl__kv_znode *x = z->head->link[0].next; x; prev = x, x = x->link[0].next, n++) {
        if (isnan(x->score) || x->back != prev || x->height < 1 || x->height > z->height)
            return false;
        if (prev && !node_before(prev, x))
            return false;
        if (fl__kv_zset_find(z, x->node.key, x->node.key_len) != x)
            return false;
    }
    if (n != z->table.count || z->tail != prev || z->height < 1 || z->height > FL__KV_ZLEVELS)
        return false;
    for (uint32_t i = 0; i < FL__KV_ZLEVELS; i++)
        if (i >= z->height ? z->head->link[i].next != NULL : !level_ok(z, i))
            return false;
    return true;
}
