/* server_cmd_hash.c: the RESP hash commands, each one kv command (server_int.h, kv.h):
 * how its arguments become the command and its result Redis's reply.
 *
 *     HGET, HMGET, HGETALL, HKEYS, HVALS, HLEN, HEXISTS   reads (ReadIndex or the log)
 *     HSET, HMSET, HSETNX, HDEL, HINCRBY                   writes
 *
 * HGETALL is a map in RESP3 (a flat array in RESP2); fields come in the order they were
 * added, as from Redis's small hashes. Argument errors use Redis 7.0's texts. */
#include "server_int.h"

#include <string.h>

/* HSET, HMSET key field value [field value ...], HSETNX key field value */
static const char *b_hset(op *o)
{
    if (o->argc % 2)
        return fl__arity_msg(o);
    bool nx = o->def->name[3] == 'n';
    return fl__cmd_key_args(o, FL_KV_HSET, 2, nx ? FL_KV_F_NX : 0);
}

static const char *b_hmget(op *o)
{
    return fl__cmd_key_args(o, FL_KV_HMGET, 2, 0);
}

static const char *b_hdel(op *o)
{
    return fl__cmd_key_args(o, FL_KV_HDEL, 2, 0);
}

/* HGETALL, HKEYS, HVALS */
static const char *b_hgetall(op *o)
{
    char k = o->def->name[1];
    uint8_t f = k == 'g' ? FL_KV_F_KEYS | FL_KV_F_VALS : k == 'k' ? FL_KV_F_KEYS : FL_KV_F_VALS;
    return fl__cmd_build_key(o, FL_KV_HGETALL, f);
}

static const char *b_hlen(op *o)
{
    return fl__cmd_build_key(o, FL_KV_HLEN, 0);
}

static const char *b_hexists(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_HEXISTS);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    return fl__cmd_encode(o, &c);
}

/* HINCRBY key field increment */
static const char *b_hincrby(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_HINCRBY);
    if (!fl__arg_i64(&o->argv[3], &c.num))
        return FL__E_INT;
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    return fl__cmd_encode(o, &c);
}

/* HGET: the one value of an HMGET, or nil. */
static void r_hget(const op *o, const fl_kv_result *r, fl_buf *out)
{
    const uint8_t *p;
    size_t n;
    if (r->status != FL_KV_OK)
        fl__reply_status(r->status, out);
    else if (fl__list_first(r, &p, &n))
        fl_resp_put_bulk(out, p, n);
    else
        fl__put_null(o, out);
}

static void r_hmget(const op *o, const fl_kv_result *r, fl_buf *out)
{
    fl__put_shaped(o, r, out, FL__SHAPE_ARRAY);
}

static void r_hgetall(const op *o, const fl_kv_result *r, fl_buf *out)
{
    bool both = (o->kflags & FL_KV_F_KEYS) && (o->kflags & FL_KV_F_VALS);
    fl__put_shaped(o, r, out, both ? FL__SHAPE_MAP : FL__SHAPE_ARRAY);
}

static void r_hmset(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_OK)
        fl_resp_put_simple(out, "OK");
    else
        fl__reply_status(r->status, out);
}

static void r_hincrby(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_TYPE_ERROR)
        fl_resp_put_error(out, "ERR hash value is not an integer");
    else
        fl__r_int(o, r, out);
}

/* clang-format off */
const cmd_def fl__hash_cmds[] = {
    {"hset", -4, b_hset, fl__r_int, NULL},
    {"hmset", -4, b_hset, r_hmset, NULL},
    {"hsetnx", 4, b_hset, fl__r_int, NULL},
    {"hget", 3, b_hmget, r_hget, NULL},
    {"hmget", -3, b_hmget, r_hmget, NULL},
    {"hdel", -3, b_hdel, fl__r_int, NULL},
    {"hgetall", 2, b_hgetall, r_hgetall, NULL},
    {"hkeys", 2, b_hgetall, r_hgetall, NULL},
    {"hvals", 2, b_hgetall, r_hgetall, NULL},
    {"hlen", 2, b_hlen, fl__r_int, NULL},
    {"hexists", 3, b_hexists, fl__r_int, NULL},
    {"hincrby", 4, b_hincrby, r_hincrby, NULL},
};
/* clang-format on */
const size_t fl__hash_cmds_count = sizeof(fl__hash_cmds) / sizeof(fl__hash_cmds[0]);
