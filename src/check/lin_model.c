/* lin_model.c: the models (register, cas-register, kv) and the preparation of a partition.
 *
 * A model state is a value id in the partition's table (id 0 is nil), so a step of the
 * register models is a comparison or an assignment of integers; only append and incr derive
 * new values, which are interned on the fly (their memory counts against the bound).
 *
 * Invariants: ids are dense, < count; the index is at most half full; id LIN_NIL is nil. */
#include "lin_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/json.h"
#include "faultline/rng.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_val(uint8_t kind, int64_t num, const char *s, size_t n)
{
    uint64_t x = 0x9E3779B97F4A7C15ull * (kind + 1);
    if (kind == FL_VALUE_INT)
        return fl_mix64(x ^ (uint64_t)num);
    for (size_t i = 0; i < n; i++)
        x = (x ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return fl_mix64(x);
}

void fl__lin_vals_init(lin_vals *v)
{
    memset(v, 0, sizeof(*v));
    fl_buf_init(&v->text);
    uint32_t nil;
    if (fl__lin_vals_intern(v, FL_VALUE_NIL, 0, NULL, 0, &nil) == 0)
        FL_ASSERT(nil == LIN_NIL);
}

void fl__lin_vals_free(lin_vals *v)
{
    free(v->kind);
    free(v->num);
    free(v->len);
    free(v->index);
    fl_buf_free(&v->text);
    memset(v, 0, sizeof(*v));
}

/* The bytes of string value id ("" while the text buffer is still empty: no NULL + 0). */
const char *fl__lin_vals_str(const lin_vals *v, uint32_t id)
{
    return v->len[id] ? (const char *)v->text.data + v->num[id] : "";
}

static uint64_t hash_id(const lin_vals *v, uint32_t id)
{
    const char *s = v->kind[id] == FL_VALUE_STR ? fl__lin_vals_str(v, id) : NULL;
    return hash_val(v->kind[id], v->num[id], s, v->len[id]);
}

static int vals_grow(lin_vals *v)
{
    uint32_t cap = v->cap ? v->cap * 2 : 16;
    uint8_t *k = realloc(v->kind, cap);
    if (k)
        v->kind = k;
    int64_t *num = realloc(v->num, cap * sizeof(*num));
    if (num)
        v->num = num;
    uint32_t *len = realloc(v->len, cap * sizeof(*len));
    if (len)
        v->len = len;
    uint32_t *idx = calloc((size_t)cap * 2, sizeof(*idx));
    if (!k || !num || !len || !idx) {
        free(idx);
        return FL_ENOMEM;
    }
    for (uint32_t id = 0; id < v->count; id++) {
        uint32_t i = (uint32_t)hash_id(v, id) & (cap * 2 - 1);
        while (idx[i])
            i = (i + 1) & (cap * 2 - 1);
        idx[i] = id + 1;
    }
    free(v->index);
    v->index = idx;
    v->index_cap = cap * 2;
    v->bytes += (uint64_t)(cap - v->cap) * (1 + 8 + 4 + 8);
    v->cap = cap;
    return 0;
}

static bool same(const lin_vals *v, uint32_t id, uint8_t kind, int64_t num, const char *s, size_t n)
{
    if (v->kind[id] != kind)
        return false;
    if (kind == FL_VALUE_INT)
        return v->num[id] == num;
    if (kind == FL_VALUE_NIL)
        return true;
    return v->len[id] == n && (n == 0 || !memcmp(fl__lin_vals_str(v, id), s, n));
}

int fl__lin_vals_intern(lin_vals *v, fl_value_kind kind, int64_t num, const char *s, size_t n,
                        uint32_t *id)
{
    if (v->count == v->cap && vals_grow(v))
        return FL_ENOMEM;
    if (n > UINT32_MAX)
        return FL_ETOOBIG;
    uint32_t mask = v->index_cap - 1;
    uint32_t i = (uint32_t)hash_val((uint8_t)kind, num, s, n) & mask;
    for (; v->index[i]; i = (i + 1) & mask) {
        if (same(v, v->index[i] - 1, (uint8_t)kind, num, s, n)) {
            *id = v->index[i] - 1;
            return 0;
        }
    }
    uint32_t nid = v->count;
    v->kind[nid] = (uint8_t)kind;
    v->num[nid] = num;
    v->len[nid] = (uint32_t)n;
    if (kind == FL_VALUE_STR) {
        v->num[nid] = (int64_t)v->text.len;
        fl_buf_put_bytes(&v->text, s, n);
        if (v->text.err)
            return v->text.err;
        v->bytes += n;
    }
    v->index[i] = nid + 1;
    v->count++;
    *id = nid;
    return 0;
}

int fl__lin_vals_from(lin_vals *v, const fl_history *h, fl_value x, uint32_t *id)
{
    if (x.kind == FL_VALUE_STR) {
        size_t n;
        const char *s = fl_history_str(h, x.str, &n);
        return fl__lin_vals_intern(v, FL_VALUE_STR, 0, s, n, id);
    }
    if (x.kind == FL_VALUE_INT)
        return fl__lin_vals_intern(v, FL_VALUE_INT, x.i, NULL, 0, id);
    *id = LIN_NIL;
    return 0;
}

uint64_t fl__lin_vals_textlen(const lin_vals *v, uint32_t id)
{
    if (v->kind[id] == FL_VALUE_STR)
        return v->len[id];
    if (v->kind[id] != FL_VALUE_INT)
        return 0;
    char tmp[24];
    return (uint64_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v->num[id]);
}

/* Text of a value for append: nil is "", an integer its decimal form. */
static void text_of(const lin_vals *v, uint32_t id, fl_buf *out)
{
    if (v->kind[id] == FL_VALUE_STR)
        fl_buf_put_bytes(out, fl__lin_vals_str(v, id), v->len[id]);
    else if (v->kind[id] == FL_VALUE_INT)
        fl_buf_printf(out, "%" PRId64, v->num[id]);
}

static int step_append(lin_vals *v, const lin_op *op, uint32_t s, uint32_t *next)
{
    fl_buf tmp;
    fl_buf_init(&tmp);
    text_of(v, s, &tmp);
    text_of(v, op->a, &tmp);
    int rc = tmp.err;
    if (!rc)
        rc = fl__lin_vals_intern(v, FL_VALUE_STR, 0, (const char *)tmp.data, tmp.len, next);
    fl_buf_free(&tmp);
    return rc ? rc : 1;
}

int fl__lin_step(lin_vals *v, const lin_op *op, uint32_t s, uint32_t *next)
{
    switch (op->f) {
    case LIN_READ:
        *next = s;
        return s == op->out;
    case LIN_WRITE:
        *next = op->a;
        return 1;
    case LIN_CAS:
        *next = op->b;
        return s == op->a;
    case LIN_DELETE:
        *next = LIN_NIL;
        return 1;
    case LIN_APPEND:
        return step_append(v, op, s, next);
    case LIN_INCR: {
        if (v->kind[s] == FL_VALUE_STR)
            return 0;
        uint64_t base = v->kind[s] == FL_VALUE_INT ? (uint64_t)v->num[s] : 0;
        int64_t sum = (int64_t)(base + (uint64_t)v->num[op->a]);
        int rc = fl__lin_vals_intern(v, FL_VALUE_INT, sum, NULL, 0, next);
        return rc ? rc : 1;
    }
    }
    FL_UNREACHABLE();
}

void fl__lin_vals_format(const lin_vals *v, uint32_t id, fl_buf *out)
{
    if (v->kind[id] == FL_VALUE_INT) {
        fl_buf_printf(out, "%" PRId64, v->num[id]);
    } else if (v->kind[id] == FL_VALUE_STR) {
        fl_json_escape(out, fl__lin_vals_str(v, id), v->len[id]);
    } else {
        fl_buf_put_str(out, "nil");
    }
}
