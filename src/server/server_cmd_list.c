/* server_cmd_list.c: the RESP list and set commands, each one kv command (server_int.h,
 * kv.h): how its arguments become the command and its result Redis's reply.
 *
 *     LLEN, LRANGE, LINDEX, SMEMBERS, SISMEMBER, SCARD,   reads (ReadIndex or the log,
 *     SRANDMEMBER                                         kv_order.h decides)
 *     LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LSET,     writes
 *     LREM, LTRIM, SADD, SREM, SPOP
 *
 * Argument errors use Redis 7.0's texts and are answered before anything reaches the log.
 * SPOP and SRANDMEMBER pick by the log (kv.h): "random", the same on every replica. */
#include "server_int.h"

#include <string.h>

/* ---- lists --------------------------------------------------------------------------------- */

/* LPUSH, RPUSH, LPUSHX, RPUSHX key element [element ...] */
static const char *b_push(op *o)
{
    const char *name = o->def->name;
    uint8_t f = (name[0] == 'l' ? FL_KV_F_LEFT : 0) | (name[5] == 'x' ? FL_KV_F_XX : 0);
    return fl__cmd_key_args(o, FL_KV_PUSH, 2, f);
}

/* LPOP, RPOP key [count] (arity -2: more than one count is Redis's arity error) */
static const char *b_pop(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_POP);
    c.flags = o->def->name[0] == 'l' ? FL_KV_F_LEFT : 0;
    if (o->argc > 3)
        return fl__arity_msg(o);
    if (o->argc == 3) {
        const char *err = fl__arg_count(&o->argv[2], &c.num);
        if (err)
            return err;
        c.flags |= FL_KV_F_COUNT;
    }
    return fl__cmd_encode(o, &c);
}

/* A kv command on key with argv[2] (and argv[3]) as num (and num2). */
static const char *with_nums(op *o, fl_kv_op kind, bool two)
{
    fl_kv_cmd c = fl__cmd_key(o, kind);
    if (!fl__arg_i64(&o->argv[2], &c.num) || (two && !fl__arg_i64(&o->argv[3], &c.num2)))
        return FL__E_INT;
    return fl__cmd_encode(o, &c);
}

static const char *b_llen(op *o)
{
    return fl__cmd_build_key(o, FL_KV_LLEN, 0);
}
static const char *b_lrange(op *o)
{
    return with_nums(o, FL_KV_LRANGE, true);
}
static const char *b_ltrim(op *o)
{
    return with_nums(o, FL_KV_LTRIM, true);
}
static const char *b_lindex(op *o)
{
    return with_nums(o, FL_KV_LINDEX, false);
}

/* LSET key index element, LREM key count element */
static const char *b_lset(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, o->def->name[1] == 's' ? FL_KV_LSET : FL_KV_LREM);
    if (!fl__arg_i64(&o->argv[2], &c.num))
        return FL__E_INT;
    c.value = o->argv[3].p;
    c.value_len = o->argv[3].len;
    return fl__cmd_encode(o, &c);
}

/* A pop or a pick: one element (or nil) without a count; with one the elements in `shape`,
 * and for a missing key a nil array (LPOP, RPOP) or an empty `shape` (SPOP, SRANDMEMBER). */
static void r_picked(const op *o, const fl_kv_result *r, fl_buf *out, int shape, bool nil_array)
{
    const uint8_t *p;
    size_t n;
    bool count = o->kflags & FL_KV_F_COUNT;
    if (r->status == FL_KV_NOT_FOUND && count && nil_array)
        fl__put_null_array(o, out);
    else if (r->status == FL_KV_NOT_FOUND && count && shape == FL__SHAPE_SET)
        fl__put_set(o, out, 0);
    else if (r->status == FL_KV_NOT_FOUND && count)
        fl_resp_put_array(out, 0);
    else if (r->status == FL_KV_NOT_FOUND)
        fl__put_null(o, out);
    else if (count)
        fl__put_shaped(o, r, out, shape);
    else if (fl__list_first(r, &p, &n))
        fl_resp_put_bulk(out, p, n);
    else
        fl__reply_status(r->status == FL_KV_OK ? FL_KV_BAD_COMMAND : r->status, out);
}

static void r_pop(const op *o, const fl_kv_result *r, fl_buf *out)
{
    r_picked(o, r, out, FL__SHAPE_ARRAY, true);
}

static void r_array(const op *o, const fl_kv_result *r, fl_buf *out)
{
    fl__put_shaped(o, r, out, FL__SHAPE_ARRAY);
}

static void r_lset(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_NOT_FOUND)
        fl_resp_put_error(out, "ERR no such key");
    else
        fl__r_ok(o, r, out);
}

/* ---- sets ---------------------------------------------------------------------------------- */

static const char *b_sadd(op *o)
{
    return fl__cmd_key_args(o, o->def->name[1] == 'a' ? FL_KV_SADD : FL_KV_SREM, 2, 0);
}

static const char *b_smembers(op *o)
{
    return fl__cmd_build_key(o, o->def->name[1] == 'm' ? FL_KV_SMEMBERS : FL_KV_SCARD, 0);
}

static const char *b_sismember(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SISMEMBER);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    return fl__cmd_encode(o, &c);
}

/* SPOP key [count] (a negative count: Redis's "must be positive"), SRANDMEMBER key [count]
 * (negative: picks with repetition); more arguments: syntax error, as in Redis. */
static const char *b_spop(op *o)
{
    bool pop = o->def->name[1] == 'p';
    fl_kv_cmd c = fl__cmd_key(o, pop ? FL_KV_SPOP : FL_KV_SRANDMEMBER);
    if (o->argc > 3)
        return FL__E_SYNTAX;
    if (o->argc == 3) {
        if (pop) {
            const char *err = fl__arg_count(&o->argv[2], &c.num);
            if (err)
                return err;
        } else if (!fl__arg_i64(&o->argv[2], &c.num)) {
            return FL__E_INT;
        }
        c.flags = FL_KV_F_COUNT;
    }
    return fl__cmd_encode(o, &c);
}

/* SPOP (a set with a count), SRANDMEMBER (an array with a count). */
static void r_spop(const op *o, const fl_kv_result *r, fl_buf *out)
{
    bool set = o->def->name[1] == 'p';
    r_picked(o, r, out, set ? FL__SHAPE_SET : FL__SHAPE_ARRAY, false);
}

static void r_set(const op *o, const fl_kv_result *r, fl_buf *out)
{
    fl__put_shaped(o, r, out, FL__SHAPE_SET);
}

/* clang-format off */
const cmd_def fl__list_cmds[] = {
    {"lpush", -3, b_push, fl__r_int, NULL},
    {"rpush", -3, b_push, fl__r_int, NULL},
    {"lpushx", -3, b_push, fl__r_int, NULL},
    {"rpushx", -3, b_push, fl__r_int, NULL},
    {"lpop", -2, b_pop, r_pop, NULL},
    {"rpop", -2, b_pop, r_pop, NULL},
    {"llen", 2, b_llen, fl__r_int, NULL},
    {"lrange", 4, b_lrange, r_array, NULL},
    {"lindex", 3, b_lindex, fl__r_value, NULL},
    {"lset", 4, b_lset, r_lset, NULL},
    {"lrem", 4, b_lset, fl__r_int, NULL},
    {"ltrim", 4, b_ltrim, fl__r_ok, NULL},
    {"sadd", -3, b_sadd, fl__r_int, NULL},
    {"srem", -3, b_sadd, fl__r_int, NULL},
    {"spop", -2, b_spop, r_spop, NULL},
    {"srandmember", -2, b_spop, r_spop, NULL},
    {"smembers", 2, b_smembers, r_set, NULL},
    {"scard", 2, b_smembers, fl__r_int, NULL},
    {"sismember", 3, b_sismember, fl__r_int, NULL},
};
/* clang-format on */
const size_t fl__list_cmds_count = sizeof(fl__list_cmds) / sizeof(fl__list_cmds[0]);
