/* ops_redis.c: the Redis-shaped writes of the kv (SET with its options, MSET, DEL, GETDEL,
 * GETEX, EXPIRE, PERSIST, FLUSH), each one atomic.
 *
 * Invariants: as in ops.c, every size limit is checked before anything changes, so a command
 * either completes or changes nothing; an expiry at or before the log time deletes the key
 * at once (as Redis does for a time in the past); every change of a key's time to live
 * stamps its mod_index (WATCH sees it). */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <string.h>

/* The absolute expiry a command asks for, never 0 (0 means "none"): relative to the log
 * time, or absolute; a time already passed is returned as the log time (due now). */
static fl_time_ns expiry_of(const fl_kv *kv, const fl_kv_cmd *c)
{
    fl_time_ns now = kv->log_time_ns, at;
    if (c->flags & FL_KV_F_EXP_REL)
        at = c->num <= 0                              ? now
             : (uint64_t)c->num > FL_TIME_NEVER - now ? FL_TIME_NEVER - 1
                                                      : now + (uint64_t)c->num;
    else
        at = c->num <= 0 ? 0 : (fl_time_ns)c->num;
    if (at <= now)
        at = now;
    return at ? at : 1;
}

/* Gives e the expiry at (deleting it if that is due). Returns 0 or FL_ENOMEM. */
static int set_expiry(fl_kv *kv, fl__kv_entry *e, fl_time_ns at)
{
    e->mod_index = kv->applied_index;
    if (at && at <= kv->log_time_ns) {
        fl__kv_entry_delete(kv, e);
        return 0;
    }
    return fl__kv_expire_set(kv, e, at);
}

static bool has_expiry(const fl_kv_cmd *c)
{
    return (c->flags & (FL_KV_F_EXP_REL | FL_KV_F_EXP_ABS)) != 0;
}

static int op_set(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, c->key, c->key_len);
    if (c->value_len > kv->config.value_size_max) {
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    if ((c->flags & FL_KV_F_GET) && e && e->type != FL__KV_STRING) {
        out->status = FL_KV_WRONG_TYPE; /* SET ... GET cannot answer: nothing changes */
        return 0;
    }
    bool skip = ((c->flags & FL_KV_F_NX) && e) || ((c->flags & FL_KV_F_XX) && !e);
    out->status = skip ? FL_KV_NOT_APPLIED : FL_KV_OK;
    if ((c->flags & FL_KV_F_GET) && e) {
        int rc = fl__kv_result_value(kv, out, out->status, e->value, e->value_len);
        if (rc || out->status == FL_KV_TOO_BIG)
            return rc; /* over a transaction's result limit: nothing changes */
    }
    if (skip)
        return 0;
    int rc = fl__kv_entry_set(kv, c->key, c->key_len, c->value, c->value_len);
    if (rc)
        return rc;
    e = fl__kv_entry_find(kv, c->key, c->key_len);
    if (c->flags & FL_KV_F_KEEPTTL)
        return 0;
    return set_expiry(kv, e, has_expiry(c) ? expiry_of(kv, c) : 0);
}

static int op_mset(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    if (c->argc % 2) {
        out->status = FL_KV_BAD_COMMAND;
        return 0;
    }
    size_t off = 0, kn, vn;
    const uint8_t *k, *v;
    bool any = false;
    while (fl_kv_args_next(c->args, c->args_len, &off, &k, &kn) &&
           fl_kv_args_next(c->args, c->args_len, &off, &v, &vn)) {
        if (kn > kv->config.key_size_max || vn > kv->config.value_size_max) {
            out->status = FL_KV_TOO_BIG;
            return 0;
        }
        any |= fl__kv_entry_find(kv, k, kn) != NULL;
    }
    bool nx = c->flags & FL_KV_F_NX;
    if (nx && any)
        return fl__kv_result_int(kv, out, 0);
    off = 0;
    while (fl_kv_args_next(c->args, c->args_len, &off, &k, &kn) &&
           fl_kv_args_next(c->args, c->args_len, &off, &v, &vn)) {
        int rc = fl__kv_entry_set(kv, k, kn, v, vn);
        if (rc == 0)
            rc = fl__kv_expire_set(kv, fl__kv_entry_find(kv, k, kn), 0);
        if (rc)
            return rc;
    }
    if (nx)
        return fl__kv_result_int(kv, out, 1);
    out->status = FL_KV_OK;
    return 0;
}

static int op_del(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t off = 0, kn;
    const uint8_t *k;
    int64_t n = 0;
    while (fl_kv_args_next(c->args, c->args_len, &off, &k, &kn)) {
        fl__kv_entry *e = fl__kv_entry_find(kv, k, kn);
        if (e) {
            fl__kv_entry_delete(kv, e);
            n++;
        }
    }
    return fl__kv_result_int(kv, out, n);
}

/* GETDEL and GETEX: the value, then the change. */
static int op_getx(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_STRING, &wrong);
    if (!e) {
        out->status = wrong ? FL_KV_WRONG_TYPE : FL_KV_NOT_FOUND;
        return 0;
    }
    int rc = fl__kv_result_value(kv, out, FL_KV_OK, e->value, e->value_len);
    if (rc || out->status != FL_KV_OK)
        return rc;
    if (c->op == FL_KV_GETDEL)
        fl__kv_entry_delete(kv, e);
    else if (c->flags & FL_KV_F_PERSIST)
        rc = set_expiry(kv, e, 0);
    else if (has_expiry(c))
        rc = set_expiry(kv, e, expiry_of(kv, c));
    return rc;
}

static int op_expire(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, c->key, c->key_len);
    if (!e)
        return fl__kv_result_int(kv, out, 0);
    fl_time_ns at = expiry_of(kv, c), cur = e->expire_at;
    bool go;
    switch (c->flags & FL_KV_F_COND) {
    case 1: /* NX: only without a time to live */
        go = cur == 0;
        break;
    case 2: /* XX: only with one */
        go = cur != 0;
        break;
    case 3: /* GT: a key without one has an infinite one */
        go = cur != 0 && at > cur;
        break;
    case 4: /* LT */
        go = cur == 0 || at < cur;
        break;
    default:
        go = true;
    }
    int rc = go ? set_expiry(kv, e, at) : 0;
    return rc ? rc : fl__kv_result_int(kv, out, go);
}

static int op_persist(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, c->key, c->key_len);
    bool had = e && e->expire_at;
    if (had)
        (void)set_expiry(kv, e, 0); /* clearing never allocates */
    return fl__kv_result_int(kv, out, had);
}

/* O(keys). */
static int op_flush(fl_kv *kv, fl_kv_result *out)
{
    size_t b;
    fl__kv_node *n;
    while ((n = fl__kv_table_first(&kv->data, &b)) != NULL)
        fl__kv_entry_delete(kv, (fl__kv_entry *)n);
    out->status = FL_KV_OK;
    return 0;
}

int fl__kv_execute_redis(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    switch (c->op) {
    case FL_KV_SET:
        return op_set(kv, c, out);
    case FL_KV_MSET:
        return op_mset(kv, c, out);
    case FL_KV_DEL:
        return op_del(kv, c, out);
    case FL_KV_GETDEL:
    case FL_KV_GETEX:
        return op_getx(kv, c, out);
    case FL_KV_EXPIRE:
        return op_expire(kv, c, out);
    case FL_KV_PERSIST:
        return op_persist(kv, c, out);
    case FL_KV_FLUSH:
        return op_flush(kv, out);
    default:
        out->status = FL_KV_BAD_COMMAND;
        return 0;
    }
}
