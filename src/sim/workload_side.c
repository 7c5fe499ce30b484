/* workload_side.c: random Redis-shaped commands on keys of their own (workload.h), for the
 * simulator's redis workload: what the checker's models cannot judge (expiry, transactions,
 * the data types) runs beside what they do, and the replicas' checks judge it (run_kvcheck.c).
 *
 * Pure and deterministic: every draw comes from the rng passed in. Values are short ("v" and
 * a number below 200) so collections stay within 200 members, which repeat; expiry
 * times are 1..400 ms so keys expire while the run goes on, by the leader's stamped time. */
#include "faultline/workload.h"

#include "faultline/assert.h"

#include <stdio.h>
#include <string.h>

enum { T_STR, T_LIST, T_SET, T_HASH, T_ZSET, T_COUNT };
static const char type_letter[T_COUNT] = {'s', 'l', 'e', 'h', 'z'};

void fl_workload_side_init(fl_workload_side *s)
{
    memset(s, 0, sizeof(*s));
    fl_buf_init(&s->args);
    fl_buf_init(&s->sub);
    fl_buf_init(&s->enc);
}

void fl_workload_side_close(fl_workload_side *s)
{
    fl_buf_free(&s->args);
    fl_buf_free(&s->sub);
    fl_buf_free(&s->enc);
}

/* A key of type t (one in ten of another type), written into s->key. */
static void pick_key(fl_workload_side *s, fl_rng *rng, int t, fl_kv_cmd *cmd)
{
    if (fl_rng_chance(rng, 0.1))
        t = (int)fl_rng_below(rng, T_COUNT);
    int n = snprintf(s->key, sizeof(s->key), "x%c%u", type_letter[t],
                     (unsigned)fl_rng_below(rng, FL_WORKLOAD_SIDE_KEYS));
    cmd->key = (const uint8_t *)s->key;
    cmd->key_len = (size_t)n;
}

static size_t word(fl_rng *rng, char *out, size_t cap)
{
    int n = snprintf(out, cap, "v%u", (unsigned)fl_rng_below(rng, 200));
    FL_ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void value(fl_workload_side *s, fl_rng *rng, fl_kv_cmd *cmd)
{
    cmd->value_len = word(rng, s->value, sizeof(s->value));
    cmd->value = (const uint8_t *)s->value;
}

/* 1..max words as arguments; pairs: each followed by a second (field value). */
static void words(fl_buf *args, fl_rng *rng, uint32_t max, bool pairs, fl_kv_cmd *cmd)
{
    uint32_t n = 1 + (uint32_t)fl_rng_below(rng, max);
    for (uint32_t i = 0; i < n * (pairs ? 2u : 1u); i++) {
        char w[16];
        fl_kv_args_add(args, w, word(rng, w, sizeof(w)));
    }
    cmd->argc = n * (pairs ? 2u : 1u);
}

static int64_t ms(fl_rng *rng)
{
    return (int64_t)fl_rng_range(rng, 1, 400) * (int64_t)FL_NS_PER_MS;
}

/* Strings, expiry, keys: SET PX..., EXPIRE, PERSIST, TTL, GETEX, INCR, APPEND, DEL, MSET. */
static void gen_string(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    static const fl_kv_op ops[] = {FL_KV_SET, FL_KV_SET,   FL_KV_EXPIRE, FL_KV_PERSIST,
                                   FL_KV_TTL, FL_KV_GETEX, FL_KV_INCR,   FL_KV_APPEND,
                                   FL_KV_DEL, FL_KV_MSET};
    cmd->op = ops[fl_rng_below(rng, sizeof(ops) / sizeof(ops[0]))];
    pick_key(s, rng, T_STR, cmd);
    switch (cmd->op) {
    case FL_KV_SET:
        value(s, rng, cmd);
        cmd->flags = (uint8_t)(fl_rng_chance(rng, 0.6) ? FL_KV_F_EXP_REL : 0);
        cmd->num = cmd->flags ? ms(rng) : 0;
        if (fl_rng_chance(rng, 0.3)) /* NX, XX, GET or KEEPTTL (not with an expiry) */
            cmd->flags |= (uint8_t[]){FL_KV_F_NX, FL_KV_F_XX, FL_KV_F_GET}[fl_rng_below(rng, 3)];
        else if (!cmd->flags && fl_rng_chance(rng, 0.2))
            cmd->flags = FL_KV_F_KEEPTTL;
        break;
    case FL_KV_EXPIRE:
        cmd->num = ms(rng);
        cmd->flags = (uint8_t)(FL_KV_F_EXP_REL | fl_rng_below(rng, 5)); /* none, NX XX GT LT */
        break;
    case FL_KV_GETEX:
        cmd->flags = fl_rng_chance(rng, 0.5) ? FL_KV_F_PERSIST : FL_KV_F_EXP_REL;
        cmd->num = cmd->flags == FL_KV_F_EXP_REL ? ms(rng) : 0;
        break;
    case FL_KV_TTL:
        cmd->flags = fl_rng_chance(rng, 0.5) ? FL_KV_F_MS : 0;
        break;
    case FL_KV_INCR:
        cmd->delta = (int64_t)fl_rng_range(rng, 1, 9);
        break;
    case FL_KV_APPEND:
        value(s, rng, cmd);
        break;
    case FL_KV_DEL:
    case FL_KV_MSET:
        fl_kv_args_add(args, cmd->key, cmd->key_len);
        cmd->argc = 1;
        if (cmd->op == FL_KV_MSET) {
            char w[16];
            fl_kv_args_add(args, w, word(rng, w, sizeof(w)));
            cmd->argc = 2;
        }
        cmd->key = NULL;
        cmd->key_len = 0;
        break;
    default:
        break;
    }
}

static void gen_list(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    static const fl_kv_op ops[] = {FL_KV_PUSH, FL_KV_PUSH, FL_KV_POP,   FL_KV_LRANGE, FL_KV_LINDEX,
                                   FL_KV_LSET, FL_KV_LREM, FL_KV_LTRIM, FL_KV_LLEN};
    cmd->op = ops[fl_rng_below(rng, sizeof(ops) / sizeof(ops[0]))];
    pick_key(s, rng, T_LIST, cmd);
    int64_t a = (int64_t)fl_rng_below(rng, 12) - 4, b = (int64_t)fl_rng_below(rng, 40) - 8;
    if (cmd->op == FL_KV_PUSH) {
        words(args, rng, 4, false, cmd);
        cmd->flags = fl_rng_chance(rng, 0.5) ? FL_KV_F_LEFT : 0;
    } else if (cmd->op == FL_KV_POP) {
        cmd->flags = (uint8_t)((fl_rng_chance(rng, 0.5) ? FL_KV_F_LEFT : 0) |
                               (fl_rng_chance(rng, 0.3) ? FL_KV_F_COUNT : 0));
        cmd->num = cmd->flags & FL_KV_F_COUNT ? (int64_t)fl_rng_below(rng, 4) : 0;
    } else if (cmd->op == FL_KV_LSET || cmd->op == FL_KV_LREM) {
        value(s, rng, cmd);
        cmd->num = a;
    } else {
        cmd->num = a;
        cmd->num2 = b;
    }
    if (cmd->op == FL_KV_LTRIM) /* keep lists from vanishing at once: a wide range */
        cmd->num2 = cmd->num + 30;
}

static void gen_set(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    static const fl_kv_op ops[] = {FL_KV_SADD,        FL_KV_SADD,     FL_KV_SREM,  FL_KV_SPOP,
                                   FL_KV_SRANDMEMBER, FL_KV_SMEMBERS, FL_KV_SCARD, FL_KV_SISMEMBER};
    cmd->op = ops[fl_rng_below(rng, sizeof(ops) / sizeof(ops[0]))];
    pick_key(s, rng, T_SET, cmd);
    if (cmd->op == FL_KV_SADD || cmd->op == FL_KV_SREM)
        words(args, rng, 4, false, cmd);
    else if (cmd->op == FL_KV_SISMEMBER)
        value(s, rng, cmd);
    if (cmd->op == FL_KV_SPOP || cmd->op == FL_KV_SRANDMEMBER) {
        cmd->flags = fl_rng_chance(rng, 0.5) ? FL_KV_F_COUNT : 0;
        cmd->num = cmd->flags ? (int64_t)fl_rng_below(rng, 7) - 2 : 0;
        if (cmd->op == FL_KV_SPOP && cmd->num < 0)
            cmd->num = -cmd->num;
    }
}

static void gen_hash(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    static const fl_kv_op ops[] = {FL_KV_HSET,    FL_KV_HSET,  FL_KV_HDEL, FL_KV_HINCRBY,
                                   FL_KV_HGETALL, FL_KV_HMGET, FL_KV_HLEN};
    cmd->op = ops[fl_rng_below(rng, sizeof(ops) / sizeof(ops[0]))];
    pick_key(s, rng, T_HASH, cmd);
    if (cmd->op == FL_KV_HSET) {
        words(args, rng, 3, true, cmd);
        cmd->flags = fl_rng_chance(rng, 0.2) ? FL_KV_F_NX : 0;
    } else if (cmd->op == FL_KV_HDEL || cmd->op == FL_KV_HMGET) {
        words(args, rng, 3, false, cmd);
    } else if (cmd->op == FL_KV_HINCRBY) {
        value(s, rng, cmd);
        cmd->num = (int64_t)fl_rng_range(rng, 1, 9);
    } else if (cmd->op == FL_KV_HGETALL) {
        cmd->flags = (uint8_t)(1 + fl_rng_below(rng, 3)); /* KEYS, VALS or both */
    }
}

static void gen_zset(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    static const fl_kv_op ops[] = {FL_KV_ZADD,   FL_KV_ZADD,   FL_KV_ZREM,
                                   FL_KV_ZPOP,   FL_KV_ZRANGE, FL_KV_ZRANGEBYSCORE,
                                   FL_KV_ZSCORE, FL_KV_ZRANK,  FL_KV_ZCARD};
    cmd->op = ops[fl_rng_below(rng, sizeof(ops) / sizeof(ops[0]))];
    pick_key(s, rng, T_ZSET, cmd);
    uint32_t n = 1 + (uint32_t)fl_rng_below(rng, 3);
    if (cmd->op == FL_KV_ZADD) {
        static const uint8_t flags[] = {0,          0,          FL_KV_F_NX, FL_KV_F_XX,
                                        FL_KV_F_GT, FL_KV_F_LT, FL_KV_F_CH, FL_KV_F_INCR};
        cmd->flags = flags[fl_rng_below(rng, sizeof(flags))];
        n = cmd->flags == FL_KV_F_INCR ? 1 : n; /* INCR takes one pair */
        for (uint32_t i = 0; i < n; i++) {
            char w[16];
            fl_kv_args_add_score(args, (double)fl_rng_below(rng, 200) / 4 - 10);
            fl_kv_args_add(args, w, word(rng, w, sizeof(w)));
        }
        cmd->argc = 2 * n;
    } else if (cmd->op == FL_KV_ZREM) {
        words(args, rng, 3, false, cmd);
    } else if (cmd->op == FL_KV_ZSCORE || cmd->op == FL_KV_ZRANK) {
        value(s, rng, cmd);
        cmd->flags = cmd->op == FL_KV_ZRANK && fl_rng_chance(rng, 0.5) ? FL_KV_F_REV : 0;
    } else if (cmd->op == FL_KV_ZPOP) {
        cmd->flags = (uint8_t)((fl_rng_chance(rng, 0.5) ? FL_KV_F_MAX : 0) |
                               (fl_rng_chance(rng, 0.5) ? FL_KV_F_COUNT : 0));
        cmd->num = cmd->flags & FL_KV_F_COUNT ? (int64_t)fl_rng_below(rng, 4) : 0;
    } else if (cmd->op == FL_KV_ZRANGE) {
        cmd->num = (int64_t)fl_rng_below(rng, 8) - 3;
        cmd->num2 = (int64_t)fl_rng_below(rng, 30) - 5;
        cmd->flags = (uint8_t)fl_rng_below(rng, 4) << 4; /* REV, SCORES */
    } else if (cmd->op == FL_KV_ZRANGEBYSCORE) {
        double lo = (double)fl_rng_below(rng, 60) - 15;
        fl_kv_args_add_score(args, lo);
        fl_kv_args_add_score(args, lo + (double)fl_rng_below(rng, 40));
        cmd->argc = 2;
        cmd->num = (int64_t)fl_rng_below(rng, 3);
        cmd->num2 = (int64_t)fl_rng_below(rng, 12) - 1;
        cmd->flags = (uint8_t)(fl_rng_below(rng, 16) << 4); /* REV SCORES MIN_EXCL MAX_EXCL */
    }
}

static void gen_one(fl_workload_side *s, fl_rng *rng, fl_buf *args, fl_kv_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    fl_buf_reset(args);
    switch (fl_rng_below(rng, T_COUNT)) {
    case T_STR:
        gen_string(s, rng, args, cmd);
        break;
    case T_LIST:
        gen_list(s, rng, args, cmd);
        break;
    case T_SET:
        gen_set(s, rng, args, cmd);
        break;
    case T_HASH:
        gen_hash(s, rng, args, cmd);
        break;
    default:
        gen_zset(s, rng, args, cmd);
        break;
    }
    cmd->args = args->data;
    cmd->args_len = args->len;
}

/* A transaction of two to four commands, one time in three watching a key at an old index
 * (0..2000: usually it has changed since, and the transaction aborts). */
static void gen_multi(fl_workload_side *s, fl_rng *rng, fl_kv_cmd *cmd)
{
    fl_buf_reset(&s->args);
    uint32_t watched = fl_rng_chance(rng, 1.0 / 3) ? 1 : 0;
    if (watched) {
        char k[16];
        int n = snprintf(k, sizeof(k), "xs%u", (unsigned)fl_rng_below(rng, FL_WORKLOAD_SIDE_KEYS));
        uint8_t at[8];
        fl_put_u64le(at, fl_rng_below(rng, 2000));
        fl_kv_args_add(&s->args, k, (size_t)n);
        fl_kv_args_add(&s->args, at, sizeof(at));
    }
    uint32_t queued = 2 + (uint32_t)fl_rng_below(rng, 3);
    for (uint32_t i = 0; i < queued; i++) {
        fl_kv_cmd sub;
        gen_one(s, rng, &s->sub, &sub);
        fl_buf_reset(&s->enc);
        int rc = fl_kv_cmd_encode(&sub, &s->enc);
        FL_ASSERT(rc == 0);
        fl_kv_args_add(&s->args, s->enc.data, s->enc.len);
    }
    memset(cmd, 0, sizeof(*cmd));
    cmd->op = FL_KV_MULTI;
    cmd->num = watched;
    cmd->argc = 2 * watched + queued;
    cmd->args = s->args.data;
    cmd->args_len = s->args.len;
}

void fl_workload_side_next(fl_workload_side *s, fl_rng *rng, fl_kv_cmd *cmd)
{
    if (fl_rng_chance(rng, 0.1))
        gen_multi(s, rng, cmd);
    else
        gen_one(s, rng, &s->args, cmd);
}
