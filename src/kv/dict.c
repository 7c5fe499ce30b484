/* dict.c: a kv set or hash (kv_internal.h): members found by bytes through a hash table,
 * and kept in an order that is part of the replicated state (SMEMBERS, HGETALL, SPOP).
 *
 * Invariants: every member is in the table once and at order[pos]; order[0..used) holds
 * each member once, plus (hashes only) NULL holes; a set has no holes (a removal moves the
 * last member into the gap); a hash compacts its order, keeping it, when holes outnumber
 * members, so iteration is O(members) amortized. The table's seed changes its layout,
 * never the order. Byte accounting is the caller's. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

fl__kv_dict *fl__kv_dict_new(uint64_t seed, bool stable)
{
    fl__kv_dict *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    fl__kv_table_init(&d->table, seed);
    d->stable = stable;
    return d;
}

static void member_free(fl__kv_member *m)
{
    free(m->value);
    free(m);
}

void fl__kv_dict_free(fl__kv_dict *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->used; i++)
        if (d->order[i])
            member_free(d->order[i]);
    free(d->order);
    fl__kv_table_free(&d->table);
    free(d);
}

fl__kv_member *fl__kv_dict_find(const fl__kv_dict *d, const uint8_t *p, size_t n)
{
    return (fl__kv_member *)fl__kv_table_find(&d->table, p, n);
}

/* Closes the holes, keeping the order. O(used). */
static void compact(fl__kv_dict *d)
{
    size_t w = 0;
    for (size_t i = 0; i < d->used; i++) {
        fl__kv_member *m = d->order[i];
        if (m) {
            m->pos = w;
            d->order[w++] = m;
        }
    }
    d->used = w;
}

fl__kv_member *fl__kv_dict_add(fl__kv_dict *d, const uint8_t *p, size_t n)
{
    if (d->used == d->cap) {
        if (d->used > d->table.count)
            compact(d);
        if (d->used == d->cap) {
            size_t cap = d->cap ? d->cap * 2 : 4;
            fl__kv_member **o = realloc(d->order, cap * sizeof(*o));
            if (!o)
                return NULL;
            d->order = o;
            d->cap = cap;
        }
    }
    fl__kv_member *m = calloc(1, sizeof(*m) + n);
    if (!m)
        return NULL;
    if (n)
        memcpy(m->bytes, p, n);
    fl__kv_node_key(&m->node, m->bytes, n);
    if (fl__kv_table_insert(&d->table, &m->node)) {
        free(m);
        return NULL;
    }
    m->pos = d->used;
    d->order[d->used++] = m;
    return m;
}

void fl__kv_dict_remove(fl__kv_dict *d, fl__kv_member *m)
{
    FL_ASSERT(m->pos < d->used && d->order[m->pos] == m);
    fl__kv_table_remove(&d->table, &m->node);
    if (d->stable) {
        d->order[m->pos] = NULL;
        if (m->pos + 1 == d->used)
            d->used--;
        if (d->used - d->table.count > d->table.count)
            compact(d);
    } else {
        fl__kv_member *last = d->order[--d->used];
        last->pos = m->pos;
        d->order[m->pos] = last;
    }
    member_free(m);
}

int fl__kv_member_set_value(fl__kv_member *m, const uint8_t *p, size_t n)
{
    uint8_t *v = NULL;
    if (n) {
        v = malloc(n);
        if (!v)
            return FL_ENOMEM;
        memcpy(v, p, n);
    }
    free(m->value);
    m->value = v;
    m->value_len = n;
    return 0;
}
