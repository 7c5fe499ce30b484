/* data.c: the key -> value entries of the kv (allocation, update, removal), of every type.
 *
 * Invariants: each entry is in kv->data exactly once; a string has coll NULL, value_len <=
 * value_cap, value NULL iff value_cap == 0; a list, set, hash or zset has its coll, no value
 * bytes (value_cap 0) and value_len = its element bytes, and is never empty (the command that
 * empties it deletes the key); kv->data_bytes is the sum over entries of key_len + value_len; every
 * change stamps the entry's mod_index with the index being applied, every deletion stamps
 * kv->delete_index (WATCH compares against them). Size limits are the caller's (ops.c)
 * business: this file stores what it is given. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

fl__kv_entry *fl__kv_entry_find(const fl_kv *kv, const uint8_t *key, size_t key_len)
{
    fl__kv_node *n = fl__kv_table_find(&kv->data, key, key_len);
    return (fl__kv_entry *)n; /* node is the first member */
}

/* Makes room for cap bytes of value, keeping the current bytes. */
static int reserve_value(fl__kv_entry *e, size_t cap)
{
    if (cap <= e->value_cap)
        return 0;
    FL_ASSERT(cap <= UINT32_MAX); /* the caller keeps values within value_size_max */
    uint8_t *p = realloc(e->value, cap);
    if (!p)
        return FL_ENOMEM;
    e->value = p;
    e->value_cap = (uint32_t)cap;
    return 0;
}

void fl__kv_coll_free(fl__kv_entry *e)
{
    switch (e->type) {
    case FL__KV_LIST:
        fl__kv_list_free(e->coll);
        break;
    case FL__KV_SET:
    case FL__KV_HASH:
        fl__kv_dict_free(e->coll);
        break;
    case FL__KV_ZSET:
        fl__kv_zset_free(e->coll);
        break;
    default:
        FL_ASSERT(e->coll == NULL);
    }
    e->coll = NULL;
    e->type = FL__KV_STRING;
}

fl__kv_entry *fl__kv_entry_new(fl_kv *kv, const uint8_t *key, size_t key_len)
{
    /* The key right after the last field, in the struct's tail padding if any. */
    fl__kv_entry *e = calloc(1, FL__KV_ENTRY_HEAD + key_len);
    if (!e)
        return NULL;
    if (key_len)
        memcpy(e->key_bytes, key, key_len);
    fl__kv_node_key(&e->node, e->key_bytes, key_len);
    e->heap_pos = FL__KV_NO_HEAP_POS;
    if (fl__kv_table_insert(&kv->data, &e->node)) {
        free(e);
        return NULL;
    }
    kv->data_bytes += key_len;
    return e;
}

int fl__kv_entry_set(fl_kv *kv, const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, key, key_len);
    if (!e) {
        e = fl__kv_entry_new(kv, key, key_len);
        if (!e)
            return FL_ENOMEM;
    }
    if (e->type != FL__KV_STRING) {
        fl__kv_coll_free(e); /* a SET over a list: value_len (its element bytes) goes below */
        kv->data_bytes -= e->value_len;
        e->value_len = 0;
    }
    if (reserve_value(e, value_len))
        return FL_ENOMEM;
    /* Shrink a large buffer that is now mostly empty, so a put after appends frees memory. */
    if (e->value_cap > 64 && value_len < e->value_cap / 4) {
        uint8_t *p = value_len ? malloc(value_len) : NULL;
        if (value_len && !p)
            return FL_ENOMEM;
        free(e->value);
        e->value = p;
        e->value_cap = (uint32_t)value_len; /* < value_cap / 4 */
    }
    kv->data_bytes = kv->data_bytes - e->value_len + value_len;
    if (value_len)
        memmove(e->value, value, value_len);
    e->value_len = value_len;
    e->mod_index = kv->applied_index;
    return 0;
}

int fl__kv_entry_append(fl_kv *kv, fl__kv_entry *e, const uint8_t *value, size_t value_len)
{
    FL_ASSERT(value_len <= SIZE_MAX - e->value_len);
    size_t need = e->value_len + value_len;
    if (need > e->value_cap) {
        size_t cap = e->value_cap < 16 ? 16 : e->value_cap;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        size_t limit = kv->config.value_size_max;
        if (cap > limit && need <= limit)
            cap = limit;
        if (reserve_value(e, cap))
            return FL_ENOMEM;
    }
    if (value_len)
        memcpy(e->value + e->value_len, value, value_len);
    e->value_len = need;
    kv->data_bytes += value_len;
    e->mod_index = kv->applied_index;
    return 0;
}

static void entry_free(fl__kv_entry *e)
{
    fl__kv_coll_free(e);
    free(e->value);
    free(e);
}

void fl__kv_entry_delete(fl_kv *kv, fl__kv_entry *e)
{
    (void)fl__kv_expire_set(kv, e, 0); /* clearing never allocates */
    kv->delete_index = kv->applied_index;
    fl__kv_table_remove(&kv->data, &e->node);
    FL_ASSERT(kv->data_bytes >= e->node.key_len + e->value_len);
    kv->data_bytes -= e->node.key_len + e->value_len;
    entry_free(e);
}

void fl__kv_data_free(fl_kv *kv)
{
    fl__kv_table *t = &kv->data;
    for (size_t b = 0; b < t->bucket_count; b++) {
        fl__kv_node *n = t->buckets[b];
        while (n) {
            fl__kv_node *next = n->next;
            entry_free((fl__kv_entry *)n);
            n = next;
        }
    }
    fl__kv_table_free(t);
    kv->data_bytes = 0;
    fl__kv_expire_free(kv);
}
