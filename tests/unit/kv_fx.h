/* kv_fx.h: a fixture for the kv's data type tests (test_kv_list.c, test_kv_set.c,
 * test_kv_hash.c, test_kv_zset.c, test_kv_types.c): a command written as a compound literal
 * (op, key, value, flags, num, num2, argument words) is encoded, applied at the next index
 * with the leader's time, checked against fl_kv_invariants, and its result rendered as text:
 * the status name unless ok, "ok", the value, or a list as "[a,b,nil]". A read is also
 * evaluated by fl_kv_read first, which must answer the same. Scores in ZADD's and
 * ZRANGEBYSCORE's arguments are written as text and encoded as doubles here. Header-only
 * (static functions), like server_rig.h. */
#ifndef FL_KV_FX_H
#define FL_KV_FX_H

#include "test.h"

#include "faultline/kv.h"

#include <stdlib.h>
#include <string.h>

/* A command literal names only the fields it uses; the rest are zero, as C says. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define KC_ARGS_MAX 16

typedef struct kc {
    fl_kv_op op;
    const char *key;
    const char *value;
    uint8_t flags;
    int64_t num, num2;
    const char *args[KC_ARGS_MAX]; /* NULL-terminated */
} kc;

typedef struct kvfx {
    fl_kv kv;
    fl_index index;
    fl_time_ns now; /* the leader's stamp of the next command */
    fl_buf entry, args;
    fl_kv_result res;
    char text[8192];
} kvfx;

static void kvfx_init(kvfx *f, const fl_kv_config *c)
{
    memset(f, 0, sizeof(*f));
    CHECK_EQ(fl_kv_init(&f->kv, c), 0);
    fl_buf_init(&f->entry);
    fl_buf_init(&f->args);
    f->now = 1000 * FL_NS_PER_S;
}

static void kvfx_close(kvfx *f)
{
    CHECK(fl_kv_invariants(&f->kv));
    fl_kv_close(&f->kv);
    fl_buf_free(&f->entry);
    fl_buf_free(&f->args);
}

/* The ops whose ok result is a list value. */
static bool kc_lists(fl_kv_op op)
{
    switch (op) {
    case FL_KV_MGET:
    case FL_KV_KEYS:
    case FL_KV_SCAN:
    case FL_KV_MULTI:
    case FL_KV_POP:
    case FL_KV_LRANGE:
    case FL_KV_SPOP:
    case FL_KV_SMEMBERS:
    case FL_KV_SRANDMEMBER:
    case FL_KV_HMGET:
    case FL_KV_HGETALL:
    case FL_KV_ZPOP:
    case FL_KV_ZRANGE:
    case FL_KV_ZRANGEBYSCORE:
        return true;
    default:
        return false;
    }
}

/* Encodes c into f->entry (the argument list into f->args). */
static fl_kv_cmd kc_build(kvfx *f, const kc *c)
{
    fl_kv_cmd k;
    memset(&k, 0, sizeof(k));
    k.op = c->op;
    k.key = (const uint8_t *)c->key;
    k.key_len = c->key ? strlen(c->key) : 0;
    k.value = (const uint8_t *)c->value;
    k.value_len = c->value ? strlen(c->value) : 0;
    k.flags = c->flags;
    k.num = c->num;
    k.num2 = c->num2;
    k.time_ns = f->now;
    fl_buf_reset(&f->args);
    for (size_t i = 0; i < KC_ARGS_MAX && c->args[i]; i++, k.argc++) {
        bool score = (c->op == FL_KV_ZADD && i % 2 == 0) || c->op == FL_KV_ZRANGEBYSCORE;
        if (score)
            fl_kv_args_add_score(&f->args, strtod(c->args[i], NULL));
        else
            fl_kv_args_add(&f->args, c->args[i], strlen(c->args[i]));
    }
    k.args = f->args.data;
    k.args_len = f->args.len;
    fl_buf_reset(&f->entry);
    CHECK_EQ(fl_kv_cmd_encode(&k, &f->entry), 0);
    return k;
}

/* r as text into out. */
static const char *kc_render(fl_kv_op op, const fl_kv_result *r, char *out, size_t size)
{
    if (r->status != FL_KV_OK || !r->has_value) {
        snprintf(out, size, "%s", r->status == FL_KV_OK ? "ok" : fl_kv_status_name(r->status));
        return out;
    }
    if (!kc_lists(op)) {
        snprintf(out, size, "%.*s", (int)r->value_len, (const char *)r->value);
        return out;
    }
    size_t off = 0, n, w = 0;
    const uint8_t *p;
    w += (size_t)snprintf(out + w, size - w, "[");
    for (int i = 0; fl_kv_list_next(r->value, r->value_len, &off, &p, &n) && w < size; i++)
        w += (size_t)snprintf(out + w, size - w, "%s%.*s", i ? "," : "", p ? (int)n : 3,
                              p ? (const char *)p : "nil");
    if (w < size)
        snprintf(out + w, size - w, "]");
    return out;
}

/* Applies c (after fl_kv_read for a read, which must agree while the log time stays: a
 * later stamp expires keys first) and renders the result. */
static const char *kvfx_do(kvfx *f, kc c)
{
    static char read_text[sizeof(((kvfx *)0)->text)];
    fl_kv_cmd k = kc_build(f, &c);
    bool read = fl_kv_op_is_read(c.op) && c.op != FL_KV_SRANDMEMBER && /* picks by index */
                c.op != FL_KV_INDEX && f->now <= f->kv.log_time_ns;    /* is the index */
    if (read) {
        CHECK_EQ(fl_kv_read(&f->kv, &k, &f->res), 0);
        kc_render(c.op, &f->res, read_text, sizeof(read_text));
    }
    CHECK_EQ(fl_kv_apply(&f->kv, ++f->index, f->entry.data, f->entry.len, &f->res), 0);
    CHECK(fl_kv_invariants(&f->kv));
    kc_render(c.op, &f->res, f->text, sizeof(f->text));
    if (read)
        CHECK_STR(read_text, f->text);
    return f->text;
}

#endif
