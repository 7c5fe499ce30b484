/* ops.c: the semantics of each command against the data (get, put, delete, append, incr, cas,
 * noop).
 *
 * Invariants: a command either changes nothing or completes its change (size limits are
 * checked before any mutation); the result value is copied into kv->result_buf, so it never
 * points into an entry that a later command may free. Only FL_ENOMEM is returned as an error;
 * everything that depends on the command's bytes is a result status. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

int fl__kv_result_value(fl_kv *kv, fl_kv_result *out, fl_kv_status status, const uint8_t *p,
                        size_t n)
{
    if (n > kv->result_limit) { /* a GET inside a transaction that has used up its limit */
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    return fl__kv_result_copy(kv, out, status, p, n);
}

int fl__kv_result_copy(fl_kv *kv, fl_kv_result *out, fl_kv_status status, const uint8_t *p,
                       size_t n)
{
    fl_buf_put_bytes(&kv->result_buf, p, n);
    if (kv->result_buf.err)
        return FL_ENOMEM;
    out->status = status;
    out->has_value = true;
    out->value = kv->result_buf.data;
    out->value_len = n;
    return 0;
}

int fl__kv_result_int(fl_kv *kv, fl_kv_result *out, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%lld", (long long)v);
    FL_ASSERT(n > 0 && (size_t)n < sizeof(text));
    return fl__kv_result_copy(kv, out, FL_KV_OK, (const uint8_t *)text, (size_t)n);
}

/* A plain value write (put, cas) drops the key's time to live, as Redis's SET does. */
static int set_plain(fl_kv *kv, const fl_kv_cmd *c)
{
    int rc = fl__kv_entry_set(kv, c->key, c->key_len, c->value, c->value_len);
    if (rc == 0)
        rc = fl__kv_expire_set(kv, fl__kv_entry_find(kv, c->key, c->key_len), 0);
    return rc;
}

/* The string at c's key: NULL if missing, or (*out set to wrong_type) of another type. */
static fl__kv_entry *string_at(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_STRING, &wrong);
    if (wrong)
        out->status = FL_KV_WRONG_TYPE;
    return e;
}

static int op_get(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = string_at(kv, c, out);
    if (!e) {
        out->status = out->status ? out->status : FL_KV_NOT_FOUND;
        return 0;
    }
    return fl__kv_result_value(kv, out, FL_KV_OK, e->value, e->value_len);
}

static int op_put(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    if (c->value_len > kv->config.value_size_max) {
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    out->status = FL_KV_OK;
    return set_plain(kv, c);
}

static int op_delete(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, c->key, c->key_len);
    if (!e) {
        out->status = FL_KV_NOT_FOUND;
        return 0;
    }
    fl__kv_entry_delete(kv, e);
    out->status = FL_KV_OK;
    return 0;
}

static int op_append(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = string_at(kv, c, out);
    if (out->status)
        return 0;
    size_t cur = e ? e->value_len : 0;
    if (c->value_len > kv->config.value_size_max - cur || cur + c->value_len > kv->result_limit) {
        out->status = FL_KV_TOO_BIG; /* the value, or the answer (the new value) in a MULTI */
        return 0;
    }
    int rc = e ? fl__kv_entry_append(kv, e, c->value, c->value_len)
               : fl__kv_entry_set(kv, c->key, c->key_len, c->value, c->value_len);
    if (rc)
        return rc;
    e = fl__kv_entry_find(kv, c->key, c->key_len);
    FL_ASSERT(e != NULL);
    return fl__kv_result_value(kv, out, FL_KV_OK, e->value, e->value_len);
}

/* Parses an integer written as Redis writes one: an optional '-' then decimal digits with no
 * leading zero ("0" alone is zero; "-0", "01", "+1" are not integers), in the int64 range.
 * Returns false for anything else. */
bool fl__kv_parse_i64(const uint8_t *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = n > 0 && p[0] == '-';
    if (neg)
        i = 1;
    if (i == n || (p[i] == '0' && (neg || n > 1)))
        return false;
    uint64_t mag = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (mag > (limit - d) / 10)
            return false;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static int op_incr(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = string_at(kv, c, out);
    if (out->status)
        return 0;
    int64_t v = 0;
    if (e && !fl__kv_parse_i64(e->value, e->value_len, &v)) {
        out->status = FL_KV_TYPE_ERROR;
        return 0;
    }
    int64_t sum;
    if (__builtin_add_overflow(v, c->delta, &sum)) {
        out->status = FL_KV_OVERFLOW;
        return 0;
    }
    char text[24];
    int n = snprintf(text, sizeof(text), "%lld", (long long)sum);
    FL_ASSERT(n > 0 && (size_t)n < sizeof(text));
    if ((size_t)n > kv->config.value_size_max) {
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    int rc = fl__kv_entry_set(kv, c->key, c->key_len, (const uint8_t *)text, (size_t)n);
    if (rc)
        return rc;
    return fl__kv_result_copy(kv, out, FL_KV_OK, (const uint8_t *)text, (size_t)n);
}

static int op_cas(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e = string_at(kv, c, out);
    if (out->status)
        return 0;
    bool match;
    if (c->expect_absent)
        match = e == NULL;
    else
        match = e && e->value_len == c->expect_len &&
                (c->expect_len == 0 || memcmp(e->value, c->expect, c->expect_len) == 0);
    if (!match) {
        if (!e) {
            out->status = FL_KV_CAS_MISMATCH;
            return 0;
        }
        return fl__kv_result_value(kv, out, FL_KV_CAS_MISMATCH, e->value, e->value_len);
    }
    if (c->value_len > kv->config.value_size_max) {
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    out->status = FL_KV_OK;
    return set_plain(kv, c);
}

int fl__kv_execute(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    memset(out, 0, sizeof(*out));
    fl_buf_reset(&kv->result_buf);
    if (c->op == FL_KV_NOOP) {
        out->status = FL_KV_OK;
        return 0;
    }
    if (c->key_len > kv->config.key_size_max) {
        out->status = FL_KV_TOO_BIG;
        return 0;
    }
    if (c->op == FL_KV_MULTI)
        return fl__kv_execute_multi(kv, c, out);
    if (c->op >= FL_KV_ZADD)
        return fl__kv_execute_zset(kv, c, out);
    if (c->op >= FL_KV_HSET)
        return fl__kv_execute_hash(kv, c, out);
    if (c->op >= FL_KV_SADD)
        return fl__kv_execute_set(kv, c, out);
    if (c->op >= FL_KV_PUSH)
        return fl__kv_execute_list(kv, c, out);
    if (fl_kv_op_is_read(c->op) && c->op != FL_KV_GET)
        return fl__kv_execute_read(kv, c, out);
    if (c->op >= FL_KV_SET)
        return fl__kv_execute_redis(kv, c, out);
    switch (c->op) {
    case FL_KV_GET:
        return op_get(kv, c, out);
    case FL_KV_PUT:
        return op_put(kv, c, out);
    case FL_KV_DELETE:
        return op_delete(kv, c, out);
    case FL_KV_APPEND:
        return op_append(kv, c, out);
    case FL_KV_INCR:
        return op_incr(kv, c, out);
    case FL_KV_CAS:
        return op_cas(kv, c, out);
    default:
        out->status = FL_KV_BAD_COMMAND; /* a caller-built command with a bad op */
        return 0;
    }
}
