/* ops_hash.c: the hash commands of the kv (HSET and HSETNX, HMGET, HDEL, HGETALL with
 * HKEYS and HVALS, HLEN, HEXISTS, HINCRBY), with Redis's semantics (docs/kv.md, "Hashes").
 *
 * Invariants: as in ops.c, limits are checked before anything changes; a hash emptied by
 * HDEL is deleted; fields keep the order they were added in (an update keeps a field's
 * place), as Redis's small hashes do. A field's bytes count its name and its value.
 * Costs: O(1) per field; HGETALL O(n). */
#include "kv_internal.h"

#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

static fl__kv_dict *hash_of(fl__kv_entry *e)
{
    return e->coll;
}

/* Sets field m's value, keeping the byte counts. */
static int set_value(fl_kv *kv, fl__kv_entry *e, fl__kv_member *m, const uint8_t *p, size_t n)
{
    size_t old = m->value_len;
    if (fl__kv_member_set_value(m, p, n))
        return FL_ENOMEM;
    fl__kv_shrank(kv, e, old);
    fl__kv_grew(kv, e, n);
    return 0;
}

/* Adds field (p, n) with value (v, vn). */
static int add_field(fl_kv *kv, fl__kv_entry *e, const uint8_t *p, size_t n, const uint8_t *v,
                     size_t vn)
{
    fl__kv_member *m = fl__kv_dict_add(hash_of(e), p, n);
    if (!m)
        return FL_ENOMEM;
    fl__kv_grew(kv, e, n);
    return set_value(kv, e, m, v, vn);
}

static int op_hset(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_HASH, &e, out))
        return 0;
    fl_kv_status fit = fl__kv_adds_fit(kv, e, c, 2);
    if (fit != FL_KV_OK)
        return fl__kv_status(out, fit);
    if (!e && !(e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_HASH)))
        return FL_ENOMEM;
    size_t off, n, vn;
    const uint8_t *p, *v;
    int64_t added = 0;
    for (off = 0; fl_kv_args_next(c->args, c->args_len, &off, &p, &n) &&
                  fl_kv_args_next(c->args, c->args_len, &off, &v, &vn);) {
        fl__kv_member *m = fl__kv_dict_find(hash_of(e), p, n);
        int rc = m ? ((c->flags & FL_KV_F_NX) ? 0 : set_value(kv, e, m, v, vn))
                   : add_field(kv, e, p, n, v, vn);
        if (rc)
            return rc;
        added += m == NULL;
    }
    return fl__kv_result_int(kv, out, added);
}

static int op_hmget(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_HASH, &e, out))
        return 0;
    size_t off = 0, n;
    const uint8_t *p;
    fl__kv_out_begin(kv);
    while (fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        const fl__kv_member *m = e ? fl__kv_dict_find(hash_of(e), p, n) : NULL;
        fl__kv_out_item(kv, m ? (m->value ? m->value : (const uint8_t *)"") : NULL,
                        m ? m->value_len : 0);
    }
    return fl__kv_out_end(kv, out);
}

static int op_hgetall(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_HASH, &e, out))
        return 0;
    fl__kv_out_begin(kv);
    for (size_t i = 0; e && i < hash_of(e)->used && !fl__kv_out_over(kv); i++) {
        const fl__kv_member *m = fl__kv_dict_slot(hash_of(e), i);
        if (!m)
            continue;
        if (c->flags & FL_KV_F_KEYS)
            fl__kv_out_item(kv, m->bytes, m->node.key_len);
        if (c->flags & FL_KV_F_VALS)
            fl__kv_out_item(kv, m->value ? m->value : (const uint8_t *)"", m->value_len);
    }
    return fl__kv_out_end(kv, out);
}

static int op_hincrby(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_HASH, &e, out))
        return 0;
    if (c->value_len > kv->config.value_size_max)
        return fl__kv_status(out, FL_KV_TOO_BIG);
    fl__kv_member *m = e ? fl__kv_dict_find(hash_of(e), c->value, c->value_len) : NULL;
    int64_t v = 0, sum;
    if (m && !fl__kv_parse_i64(m->value, m->value_len, &v))
        return fl__kv_status(out, FL_KV_TYPE_ERROR);
    if (__builtin_add_overflow(v, c->num, &sum))
        return fl__kv_status(out, FL_KV_OVERFLOW);
    if (!m && e && fl__kv_coll_count(e) >= kv->config.elements_max)
        return fl__kv_status(out, FL_KV_TOO_BIG);
    char text[24];
    int tn = snprintf(text, sizeof(text), "%lld", (long long)sum);
    if (tn <= 0 || (size_t)tn > kv->config.value_size_max)
        return fl__kv_status(out, FL_KV_TOO_BIG);
    if (!e && !(e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_HASH)))
        return FL_ENOMEM;
    int rc = m ? set_value(kv, e, m, (const uint8_t *)text, (size_t)tn)
               : add_field(kv, e, c->value, c->value_len, (const uint8_t *)text, (size_t)tn);
    return rc ? rc : fl__kv_result_int(kv, out, sum);
}

int fl__kv_execute_hash(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    switch (c->op) {
    case FL_KV_HSET:
        return op_hset(kv, c, out);
    case FL_KV_HMGET:
        return op_hmget(kv, c, out);
    case FL_KV_HDEL:
        return fl__kv_remove_members(kv, c, FL__KV_HASH, out);
    case FL_KV_HGETALL:
        return op_hgetall(kv, c, out);
    case FL_KV_HINCRBY:
        return op_hincrby(kv, c, out);
    case FL_KV_HLEN:
        return fl__kv_card(kv, c, FL__KV_HASH, out);
    case FL_KV_HEXISTS:
        if (!fl__kv_lookup(kv, c, FL__KV_HASH, &e, out))
            return 0;
        return fl__kv_result_int(kv, out,
                                 e && fl__kv_dict_find(hash_of(e), c->value, c->value_len));
    default:
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    }
}
