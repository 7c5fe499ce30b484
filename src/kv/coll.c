/* coll.c: what the kv's lists, sets, hashes and sorted sets share (kv_internal.h): finding
 * a key of a type (wrong_type otherwise), creating an empty collection, keeping the byte
 * counts and mod_index as elements come and go, deleting a collection that a command
 * emptied, the limits a command that adds elements must fit, and the commands that are the
 * same for several types (the element count; removing members by their bytes).
 *
 * Invariants: see data.c (a collection is never empty once a command is done; its value_len
 * is its element bytes). */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/rng.h"

fl__kv_entry *fl__kv_typed(const fl_kv *kv, const uint8_t *key, size_t key_len, uint8_t type,
                           bool *wrong)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, key, key_len);
    *wrong = e && e->type != type;
    return *wrong ? NULL : e;
}

bool fl__kv_lookup(const fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl__kv_entry **e,
                   fl_kv_result *out)
{
    bool wrong;
    *e = fl__kv_typed(kv, c->key, c->key_len, type, &wrong);
    if (wrong)
        out->status = FL_KV_WRONG_TYPE;
    return !wrong;
}

fl__kv_entry *fl__kv_coll_new(fl_kv *kv, const uint8_t *key, size_t key_len, uint8_t type)
{
    FL_ASSERT(type != FL__KV_STRING && type < FL__KV_TYPES);
    FL_ASSERT(fl__kv_entry_find(kv, key, key_len) == NULL);
    uint64_t seed = fl_mix64(kv->config.hash_seed ^ type);
    void *coll = type == FL__KV_LIST   ? (void *)fl__kv_list_new()
                 : type == FL__KV_ZSET ? (void *)fl__kv_zset_new(seed)
                                       : (void *)fl__kv_dict_new(seed, type == FL__KV_HASH);
    if (!coll)
        return NULL;
    fl__kv_entry *e = fl__kv_entry_new(kv, key, key_len);
    if (!e) {
        fl__kv_entry tmp = {.coll = coll, .type = type};
        fl__kv_coll_free(&tmp);
        return NULL;
    }
    e->coll = coll;
    e->type = type;
    e->mod_index = kv->applied_index;
    return e;
}

void fl__kv_grew(fl_kv *kv, fl__kv_entry *e, size_t n)
{
    e->value_len += n;
    kv->data_bytes += n;
    e->mod_index = kv->applied_index;
}

void fl__kv_shrank(fl_kv *kv, fl__kv_entry *e, size_t n)
{
    FL_ASSERT(e->value_len >= n && kv->data_bytes >= n);
    e->value_len -= n;
    kv->data_bytes -= n;
    e->mod_index = kv->applied_index;
}

size_t fl__kv_coll_count(const fl__kv_entry *e)
{
    switch (e->type) {
    case FL__KV_LIST:
        return ((const fl__kv_list *)e->coll)->count;
    case FL__KV_SET:
    case FL__KV_HASH:
        return ((const fl__kv_dict *)e->coll)->table.count;
    case FL__KV_ZSET:
        return ((const fl__kv_zset *)e->coll)->table.count;
    default:
        return 0;
    }
}

bool fl__kv_coll_gone(fl_kv *kv, fl__kv_entry *e)
{
    if (fl__kv_coll_count(e) > 0 || MUTANT(kv, KEEP_EMPTY))
        return false;
    fl__kv_entry_delete(kv, e);
    return true;
}

const char *fl__kv_type_name(uint8_t type)
{
    static const char *const names[FL__KV_TYPES] = {"string", "list", "set", "hash", "zset"};
    return type < FL__KV_TYPES ? names[type] : "none";
}

fl_kv_status fl__kv_adds_fit(const fl_kv *kv, const fl__kv_entry *e, const fl_kv_cmd *c,
                             uint32_t per)
{
    size_t off = 0, n, count = e ? fl__kv_coll_count(e) : 0;
    const uint8_t *p;
    if (c->argc == 0 || c->argc % per)
        return FL_KV_BAD_COMMAND;
    if (c->argc / per > kv->config.elements_max - count)
        return FL_KV_TOO_BIG;
    while (fl_kv_args_next(c->args, c->args_len, &off, &p, &n))
        if (n > kv->config.value_size_max)
            return FL_KV_TOO_BIG;
    return FL_KV_OK;
}

int fl__kv_card(fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, type, &e, out))
        return 0;
    return fl__kv_result_int(kv, out, e ? (int64_t)fl__kv_coll_count(e) : 0);
}

/* Removes member (p, n) from a set, hash or zset if it is there; *bytes: what it held. */
static bool remove_one(fl__kv_entry *e, const uint8_t *p, size_t n, size_t *bytes)
{
    if (e->type == FL__KV_ZSET) {
        fl__kv_znode *x = fl__kv_zset_find(e->coll, p, n);
        if (x)
            fl__kv_zset_delete(e->coll, x);
        *bytes = n + 8;
        return x != NULL;
    }
    fl__kv_member *m = fl__kv_dict_find(e->coll, p, n);
    *bytes = m ? n + m->value_len : 0;
    if (m)
        fl__kv_dict_remove(e->coll, m);
    return m != NULL;
}

int fl__kv_remove_members(fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, type, &e, out))
        return 0;
    size_t off = 0, n;
    const uint8_t *p;
    int64_t removed = 0;
    while (e && fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        size_t bytes;
        if (remove_one(e, p, n, &bytes)) {
            fl__kv_shrank(kv, e, bytes);
            removed++;
        }
    }
    if (removed)
        (void)fl__kv_coll_gone(kv, e);
    return fl__kv_result_int(kv, out, removed);
}
