/* memory.c: what the kv's structures take (fl_kv_memory): the bytes it asked of malloc, by
 * component, and how many allocations they make, so that a benchmark or INFO can state the
 * cost per key beyond the key and value bytes. malloc's own header and rounding per
 * allocation are not counted here: they depend on the allocator (bench_kv measures them). */
#include "kv_internal.h"

static size_t table_bytes(const fl__kv_table *t, size_t *allocs)
{
    *allocs += t->bucket_count ? 1 : 0;
    return t->bucket_count * sizeof(fl__kv_node *);
}

static size_t list_bytes(const fl__kv_list *l, size_t *allocs)
{
    size_t b = sizeof(*l) + l->cap * sizeof(*l->ring);
    *allocs += 1 + (l->cap ? 1 : 0) + l->count;
    for (size_t i = 0; i < l->count; i++)
        b += sizeof(fl__kv_blob) + fl__kv_list_at(l, i)->len;
    return b;
}

static size_t dict_bytes(const fl__kv_dict *d, size_t *allocs)
{
    size_t b = sizeof(*d) + d->cap * sizeof(*d->order) + table_bytes(&d->table, allocs);
    *allocs += 1 + (d->cap ? 1 : 0);
    for (size_t i = 0; i < d->used; i++) {
        const fl__kv_member *m = d->order[i];
        if (!m)
            continue;
        b += sizeof(*m) + m->node.key_len + m->value_len;
        *allocs += 1 + (m->value ? 1 : 0);
    }
    return b;
}

static size_t zset_bytes(const fl__kv_zset *z, size_t *allocs)
{
    size_t b = sizeof(*z) + table_bytes(&z->table, allocs);
    *allocs += 1;
    for (const fl__kv_znode *x = z->head; x; x = x->link[0].next) {
        b += sizeof(*x) + x->height * sizeof(fl__kv_zlink) + x->node.key_len;
        *allocs += 1;
    }
    return b;
}

static size_t coll_bytes(const fl__kv_entry *e, size_t *allocs)
{
    switch (e->type) {
    case FL__KV_LIST:
        return list_bytes(e->coll, allocs);
    case FL__KV_SET:
    case FL__KV_HASH:
        return dict_bytes(e->coll, allocs);
    case FL__KV_ZSET:
        return zset_bytes(e->coll, allocs);
    default:
        return 0;
    }
}

void fl_kv_memory(const fl_kv *kv, fl_kv_memory_use *m)
{
    *m = (fl_kv_memory_use){0};
    m->buckets =
        table_bytes(&kv->data, &m->allocations) + table_bytes(&kv->sessions, &m->allocations);
    m->expiry = kv->cap_expiring * sizeof(*kv->expiring);
    m->allocations += kv->cap_expiring ? 1 : 0;
    size_t b;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        const fl__kv_entry *e = (const fl__kv_entry *)n;
        m->entries += FL__KV_ENTRY_HEAD + n->key_len;
        bool str = e->type == FL__KV_STRING;
        m->values += str ? e->value_cap : 0;
        m->allocations += 1 + (str && e->value ? 1 : 0);
        m->collections += coll_bytes(e, &m->allocations);
    }
    for (const fl__kv_session *s = kv->lru_oldest; s; s = s->newer) {
        m->sessions += sizeof(*s) + s->value_len;
        m->allocations += 1 + (s->value ? 1 : 0);
    }
    m->total = m->entries + m->values + m->collections + m->buckets + m->expiry + m->sessions;
}
