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
            if (x->hash != fl__kv_hash(t->seed, x->key, x->key_len))
                return false;
            if ((x->hash & (t->bucket_count - 1)) != b)
                return false;
        }
    }
    return n == t->count;
}

static bool data_ok(const fl_kv *kv)
{
    size_t bytes = 0, b, expiring = 0;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        const fl__kv_entry *e = (const fl__kv_entry *)n;
        if (e->value_len > e->value_cap || (e->value == NULL) != (e->value_cap == 0))
            return false;
        if (n->key_len > kv->config.key_size_max || e->value_len > kv->config.value_size_max)
            return false;
        if (e->mod_index > kv->applied_index || (e->expire_at == 0) != (e->heap_pos == SIZE_MAX))
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
