/* server_cmd_zset.c: the RESP sorted set commands, each one kv command (server_int.h,
 * kv.h): how its arguments become the command and its result Redis's reply.
 *
 *     ZRANGE (by rank, or BYSCORE; REV, LIMIT, WITHSCORES), ZREVRANGE, ZRANGEBYSCORE,
 *     ZREVRANGEBYSCORE, ZSCORE, ZCARD, ZRANK, ZREVRANK       reads (ReadIndex or the log)
 *     ZADD (NX XX GT LT CH INCR), ZINCRBY, ZPOPMIN, ZPOPMAX,
 *     ZREM                                                   writes
 *
 * Scores are parsed as Redis 7.0 parses them (strtod, whole argument, no NaN, no overflow;
 * range bounds may start with '(' for exclusive) and travel as doubles (kv.h); the kv
 * answers them as text, which becomes a RESP3 double or a RESP2 bulk string. BYLEX ranges
 * are not supported (a clear error). Argument errors use Redis 7.0's texts. */
#include "server_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARG(o, i) ((const char *)(o)->argv[i].p)

static const char *const E_FLOAT = "ERR value is not a valid float";

/* A score argument (ZADD, ZINCRBY): the whole argument, a finite or infinite number. */
static bool arg_score(const fl_resp_arg *a, double *d)
{
    if (a->len == 0 || (a->p[0] == ' ' || (a->p[0] >= '\t' && a->p[0] <= '\r')))
        return false;
    errno = 0;
    char *end;
    *d = strtod((const char *)a->p, &end);
    if (end != (const char *)a->p + a->len || isnan(*d))
        return false;
    return !(errno == ERANGE && (isinf(*d) || *d == 0));
}

/* A range bound ("(" for exclusive): strtod up to the argument's end (its NUL). */
static bool arg_bound(const fl_resp_arg *a, double *d, bool *excl)
{
    const char *s = (const char *)a->p;
    char *end;
    *excl = s[0] == '(';
    *d = strtod(s + *excl, &end);
    return *end == '\0' && !isnan(*d);
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], checked in
 * Redis's order. */
static const char *b_zadd(op *o)
{
    static const char *const names[] = {"nx", "xx", "gt", "lt", "ch", "incr"};
    static const uint8_t bits[] = {FL_KV_F_NX, FL_KV_F_XX, FL_KV_F_GT,
                                   FL_KV_F_LT, FL_KV_F_CH, FL_KV_F_INCR};
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_ZADD);
    size_t i = 2;
    for (bool opt = true; opt && i < o->argc; i += opt) {
        opt = false;
        for (size_t k = 0; k < 6 && !opt; k++)
            if (!strcasecmp(ARG(o, i), names[k])) {
                c.flags |= bits[k];
                opt = true;
            }
    }
    size_t pairs = (o->argc - i) / 2;
    uint8_t f = c.flags;
    if ((o->argc - i) % 2 || pairs == 0)
        return FL__E_SYNTAX;
    if ((f & FL_KV_F_NX) && (f & FL_KV_F_XX))
        return "ERR XX and NX options at the same time are not compatible";
    if (((f & FL_KV_F_NX) && (f & (FL_KV_F_GT | FL_KV_F_LT))) ||
        ((f & FL_KV_F_GT) && (f & FL_KV_F_LT)))
        return "ERR GT, LT, and/or NX options at the same time are not compatible";
    if ((f & FL_KV_F_INCR) && pairs > 1)
        return "ERR INCR option supports a single increment-element pair";
    fl_buf_reset(&o->kargs);
    for (size_t k = i; k < o->argc; k += 2) {
        double score;
        if (!arg_score(&o->argv[k], &score))
            return E_FLOAT;
        fl_kv_args_add_score(&o->kargs, score);
        fl_kv_args_add(&o->kargs, o->argv[k + 1].p, o->argv[k + 1].len);
    }
    c.argc = (uint32_t)(2 * pairs);
    c.args = o->kargs.data;
    c.args_len = o->kargs.len;
    return o->kargs.err ? "ERR out of memory" : fl__cmd_encode(o, &c);
}

/* ZINCRBY key increment member: ZADD INCR with one pair. */
static const char *b_zincrby(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_ZADD);
    double by;
    if (!arg_score(&o->argv[2], &by))
        return E_FLOAT;
    fl_buf_reset(&o->kargs);
    fl_kv_args_add_score(&o->kargs, by);
    fl_kv_args_add(&o->kargs, o->argv[3].p, o->argv[3].len);
    c.flags = FL_KV_F_INCR;
    c.argc = 2;
    c.args = o->kargs.data;
    c.args_len = o->kargs.len;
    return o->kargs.err ? "ERR out of memory" : fl__cmd_encode(o, &c);
}

/* ZPOPMIN, ZPOPMAX key [count] */
static const char *b_zpop(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_ZPOP);
    c.flags = !strcasecmp(o->def->name, "zpopmax") ? FL_KV_F_MAX : 0;
    if (o->argc > 3)
        return FL__E_SYNTAX;
    if (o->argc == 3) {
        const char *err = fl__arg_count(&o->argv[2], &c.num);
        if (err)
            return err;
        c.flags |= FL_KV_F_COUNT;
    }
    return fl__cmd_encode(o, &c);
}

/* What a ZRANGE-family command fixes: its direction and range kind (0 = the options say). */
enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };

/* The options after key min max: WITHSCORES, LIMIT offset count, REV and BYSCORE/BYLEX where
 * the command leaves them open. Returns NULL or an error. */
static const char *range_options(op *o, fl_kv_cmd *c, int *by, bool *rev_open, bool *limit)
{
    c->num = 0;
    c->num2 = -1;
    for (size_t j = 4; j < o->argc; j++) {
        const char *a = ARG(o, j);
        if (!strcasecmp(a, "withscores")) {
            c->flags |= FL_KV_F_SCORES;
        } else if (!strcasecmp(a, "limit") && o->argc - j - 1 >= 2) {
            if (!fl__arg_i64(&o->argv[j + 1], &c->num) || !fl__arg_i64(&o->argv[j + 2], &c->num2))
                return FL__E_INT;
            j += 2;
        } else if (*rev_open && !strcasecmp(a, "rev")) {
            c->flags |= FL_KV_F_REV;
            *rev_open = false;
        } else if (*by == BY_AUTO && (!strcasecmp(a, "bylex") || !strcasecmp(a, "byscore"))) {
            *by = tolower((unsigned char)a[2]) == 'l' ? BY_LEX : BY_SCORE;
        } else {
            return FL__E_SYNTAX;
        }
    }
    *limit = c->num2 != -1;
    return NULL;
}

/* ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE: Redis 7.0's zrangeGenericCommand. */
static const char *b_zrange(op *o)
{
    const char *name = o->def->name;
    bool rev_cmd = name[1] == 'r' && name[2] == 'e', rev_open = !strcasecmp(name, "zrange");
    int by = strstr(name, "byscore") ? BY_SCORE : rev_open ? BY_AUTO : BY_RANK;
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_ZRANGE);
    c.flags = rev_cmd ? FL_KV_F_REV : 0;
    bool limit;
    const char *err = range_options(o, &c, &by, &rev_open, &limit);
    if (err)
        return err;
    if (by == BY_AUTO)
        by = BY_RANK;
    if (limit && by == BY_RANK)
        return "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
               "BYLEX";
    if (by == BY_LEX)
        return "ERR BYLEX is not supported by faultline";
    if (by == BY_RANK) {
        if (!fl__arg_i64(&o->argv[2], &c.num) || !fl__arg_i64(&o->argv[3], &c.num2))
            return FL__E_INT;
        return fl__cmd_encode(o, &c);
    }
    bool rev = c.flags & FL_KV_F_REV, min_excl, max_excl;
    double min, max;
    if (!arg_bound(&o->argv[rev ? 3 : 2], &min, &min_excl) ||
        !arg_bound(&o->argv[rev ? 2 : 3], &max, &max_excl))
        return "ERR min or max is not a float";
    c.op = FL_KV_ZRANGEBYSCORE;
    c.flags |= (min_excl ? FL_KV_F_MIN_EXCL : 0) | (max_excl ? FL_KV_F_MAX_EXCL : 0);
    fl_buf_reset(&o->kargs);
    fl_kv_args_add_score(&o->kargs, min);
    fl_kv_args_add_score(&o->kargs, max);
    c.argc = 2;
    c.args = o->kargs.data;
    c.args_len = o->kargs.len;
    return o->kargs.err ? "ERR out of memory" : fl__cmd_encode(o, &c);
}

/* ZSCORE, ZRANK, ZREVRANK key member */
static const char *b_zmember(op *o)
{
    const char *name = o->def->name;
    fl_kv_cmd c = fl__cmd_key(o, name[1] == 's' ? FL_KV_ZSCORE : FL_KV_ZRANK);
    c.flags = name[1] == 'r' && name[2] == 'e' ? FL_KV_F_REV : 0;
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    return fl__cmd_encode(o, &c);
}

static const char *b_zcard(op *o)
{
    return fl__cmd_build_key(o, FL_KV_ZCARD, 0);
}

static const char *b_zrem(op *o)
{
    return fl__cmd_key_args(o, FL_KV_ZREM, 2, 0);
}

/* A score (ZSCORE, ZINCRBY, ZADD INCR), or nil. */
static void r_score(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_OK && r->has_value)
        fl__put_double(o, out, r->value, r->value_len);
    else if (r->status == FL_KV_NOT_FOUND || r->status == FL_KV_NOT_APPLIED)
        fl__put_null(o, out);
    else if (r->status == FL_KV_TYPE_ERROR)
        fl_resp_put_error(out, "ERR resulting score is not a number (NaN)");
    else
        fl__reply_status(r->status, out);
}

static void r_zadd(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (o->kflags & FL_KV_F_INCR)
        r_score(o, r, out);
    else
        fl__r_int(o, r, out);
}

/* ZPOPMIN, ZPOPMAX: member, score flat without a count; pairs (RESP3) with one. */
static void r_zpop(const op *o, const fl_kv_result *r, fl_buf *out)
{
    bool count = o->kflags & FL_KV_F_COUNT;
    fl__put_shaped(o, r, out, count ? FL__SHAPE_PAIRS : FL__SHAPE_FLAT_PAIRS);
}

static void r_zrange(const op *o, const fl_kv_result *r, fl_buf *out)
{
    bool scores = o->kflags & FL_KV_F_SCORES;
    fl__put_shaped(o, r, out, scores ? FL__SHAPE_PAIRS : FL__SHAPE_ARRAY);
}

static void r_zrank(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_NOT_FOUND)
        fl__put_null(o, out);
    else
        fl__r_int(o, r, out);
}

/* clang-format off */
const cmd_def fl__zset_cmds[] = {
    {"zadd", -4, b_zadd, r_zadd, NULL},
    {"zincrby", 4, b_zincrby, r_score, NULL},
    {"zpopmin", -2, b_zpop, r_zpop, NULL},
    {"zpopmax", -2, b_zpop, r_zpop, NULL},
    {"zrange", -4, b_zrange, r_zrange, NULL},
    {"zrevrange", -4, b_zrange, r_zrange, NULL},
    {"zrangebyscore", -4, b_zrange, r_zrange, NULL},
    {"zrevrangebyscore", -4, b_zrange, r_zrange, NULL},
    {"zscore", 3, b_zmember, r_score, NULL},
    {"zrank", 3, b_zmember, r_zrank, NULL},
    {"zrevrank", 3, b_zmember, r_zrank, NULL},
    {"zcard", 2, b_zcard, fl__r_int, NULL},
    {"zrem", -3, b_zrem, fl__r_int, NULL},
};
/* clang-format on */
const size_t fl__zset_cmds_count = sizeof(fl__zset_cmds) / sizeof(fl__zset_cmds[0]);
