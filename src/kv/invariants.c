/* invariants.c: fl_kv_invariants, an O(state) consistency check of every structural
 * invariant of the kv, for tests and for the simulator to call after every step (it is an
 * assert-only checker: it returns false rather than aborting so the caller can report). */
#include "kv_internal.h"

/* Every node in its bucket, hashes as stored, count matching. */
static bool table_ok(const fl__kv_table *t)
{
    if (t->bucket_count & (t->bucket_count - 1))
        return false;
    size_t n = 0;
    for (size_t b = 0; b < t->bucket_count; b++) {
        for (const fl__kv_node *x = t->buckets[b]; x; x = x->next, n++) {
            if (x->hash != (uint32_t)fl__kv_hash(t->seed, x->key, x->key_len))
                return false;
            if ((x->hash & (t->bucket_count - 1)) != b)
                return false;
        }
    }
    return n == t->count;
}

/* A list's elements: their bytes (through *bytes) and the ring's shape. */
static bool list_ok(const fl_kv *kv, const fl__kv_list *l, size_t *bytes)
{
    if (l->cap & (l->cap - 1) || l->count > l->cap || (l->cap && l->head >= l->cap))
        return false;
    for (size_t i = 0; i < l->count; i++) {
        const fl__kv_blob *b = fl__kv_list_at(l, i);
        if (!b || b->len > kv->config.value_size_max)
            return false;
        *bytes += b->len;
    }
    return true;
}

/* A set's or hash's order holds every member once at its pos (a set without holes). */
static bool dict_ok(const fl_kv *kv, const fl__kv_dict *d, bool hash, size_t *bytes)
{
    if (d->stable != hash || d->used > d->cap || !table_ok(&d->table))
        return false;
    size_t n = 0;
    for (size_t i = 0; i < d->used; i++) {
        const fl__kv_member *m = d->order[i];
        if (!m) {
            if (!hash)
                return false;
            continue;
        }
        if (m->pos != i || fl__kv_dict_find(d, m->bytes, m->node.key_len) != m)
            return false;
        if (m->node.key_len > kv->config.value_size_max || m->value_len > kv->config.value_size_max)
            return false;
        if ((m->value == NULL) != (m->value_len == 0) || (!hash && m->value))
            return false;
        *bytes += m->node.key_len + m->value_len;
        n++;
    }
    return n == d->table.count;
}

static bool zset_ok(const fl_kv *kv, const fl__kv_zset *z, size_t *bytes)
{
    if (!table_ok(&z->table) || !fl__kv_zset_ok(z))
        return false;
    for (const fl__kv_znode *x = z->head->link[0].next; x; x = x->link[0].next) {
        if (x->node.key_len > kv->config.value_size_max)
            return false;
        *bytes += x->node.key_len + 8;
    }
    return true;
}

/* A list, set, hash or zset: its structure, never empty, within elements_max, and its
 * element bytes in value_len. */
static bool coll_ok(const fl_kv *kv, const fl__kv_entry *e)
{
    size_t bytes = 0, count = fl__kv_coll_count(e);
    if (!e->coll || e->value || e->value_cap || count == 0 || count > kv->config.elements_max)
        return false;
    bool ok = e->type == FL__KV_LIST   ? list_ok(kv, e->coll, &bytes)
              : e->type == FL__KV_ZSET ? zset_ok(kv, e->coll, &bytes)
                                       : dict_ok(kv, e->coll, e->type == FL__KV_HASH, &bytes);
    return ok && bytes == e->value_len;
}

static bool data_ok(const fl_kv *kv)
{
    size_t bytes = 0, b, expiring = 0;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        const fl__kv_entry *e = (const fl__kv_entry *)n;
        if (e->type >= FL__KV_TYPES || n->key_len > kv->config.key_size_max)
            return false;
        if (e->type != FL__KV_STRING ? !coll_ok(kv, e)
                                     : e->coll || e->value_len > e->value_cap ||
                                           (e->value == NULL) != (e->value_cap == 0) ||
                                           e->value_len > kv->config.value_size_max)
            return false;
        if (e->mod_index > kv->applied_index ||
            (e->expire_at == 0) != (e->heap_pos == FL__KV_NO_HEAP_POS))
            return false;
        if (e->expire_at && e->expire_at <= kv->log_time_ns)
            return false; /* due keys go when an entry is applied */
        expiring += e->expire_at != 0;
        bytes += n->key_len + e->value_len;
    }
    return bytes == kv->data_bytes && expiring == kv->n_expiring && fl__kv_expire_ok(kv) &&
           kv->delete_index <= kv->applied_index;
}

/* The LRU list holds every session once, ordered by last use, none after log time. */
static bool sessions_ok(const fl_kv *kv)
{
    size_t n = 0;
    fl_time_ns prev = 0;
    const fl__kv_session *older = NULL;
    for (const fl__kv_session *s = kv->lru_oldest; s; s = s->newer, n++) {
        if (n >= kv->sessions.count || s->older != older || s->last_used_ns < prev)
            return false;
        if (s->last_used_ns > kv->log_time_ns || s->last_seq == 0)
            return false;
        if ((const fl__kv_session *)fl__kv_table_find(&kv->sessions, s->key_bytes, 8) != s)
            return false;
        if (!s->has_value && s->value_len != 0)
            return false;
        prev = s->last_used_ns;
        older = s;
    }
    return n == kv->sessions.count && kv->lru_newest == older && n <= kv->config.sessions_max;
}

bool fl_kv_invariants(const fl_kv *kv)
{
    return table_ok(&kv->data) && table_ok(&kv->sessions) && data_ok(kv) && sessions_ok(kv);
}
