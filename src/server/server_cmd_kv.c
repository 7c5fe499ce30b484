/* server_cmd_kv.c: the RESP commands that are one kv command each (server_int.h): how each
 * one's arguments become a kv command (kv.h) and its result a Redis reply.
 *
 *     GET, MGET, EXISTS, STRLEN, TYPE, KEYS, SCAN, DBSIZE   reads (ReadIndex or the log,
 *                                                           kv_order.h decides)
 *     TTL, PTTL                                             reads through the log (their
 *                                                           answer needs the leader's time)
 *     SET [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL], SETNX,   writes, each one atomic kv
 *     SETEX, PSETEX, GETSET, MSET, MSETNX, DEL, UNLINK,     command with the connection's
 *     GETDEL, GETEX, APPEND, INCR, DECR, INCRBY, DECRBY,    session
 *     EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST,
 *     FLUSHALL, FLUSHDB, CAS (faultline's compare-and-set)
 *
 * Argument errors use Redis's texts and are answered before anything reaches the log.
 * Expiry arguments become relative or absolute nanoseconds: the kv adds the leader's stamp
 * (never this node's clock). */
#include "server_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARG(o, i) ((const char *)(o)->argv[i].p)

/* ---- building ------------------------------------------------------------------------------ */

bool fl__arg_i64(const fl_resp_arg *a, int64_t *out)
{
    if (a->len == 0 || a->len > 20)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll((const char *)a->p, &end, 10);
    if (errno || end != (const char *)a->p + a->len || isspace(a->p[0]) || a->p[0] == '+')
        return false;
    if (a->len > 1 && a->p[0] == '0')
        return false;
    *out = v;
    return true;
}

/* Encodes cmd as o's kv command (its session is filled in when it is routed). */
const char *fl__cmd_encode(op *o, fl_kv_cmd *cmd)
{
    o->read = fl_kv_op_is_read(cmd->op);
    o->may_index = fl_kv_order_by_index(cmd->op);
    o->kflags = cmd->flags;
    fl_buf_reset(&o->cmd);
    if (fl_kv_cmd_encode(cmd, &o->cmd) || o->cmd.err)
        return "ERR cannot encode the command";
    return NULL;
}

fl_kv_cmd fl__cmd_key(const op *o, fl_kv_op kind)
{
    fl_kv_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = kind;
    if (o->argc > 1) {
        c.key = o->argv[1].p;
        c.key_len = o->argv[1].len;
    }
    return c;
}

/* A command over argv[first..] as its argument list, on key argv[1] if keyed. */
static const char *list_cmd(op *o, fl_kv_op kind, bool keyed, size_t first, uint8_t flags)
{
    fl_kv_cmd c = fl__cmd_key(o, kind);
    if (!keyed) {
        c.key = NULL;
        c.key_len = 0;
    }
    fl_buf_reset(&o->kargs);
    for (size_t i = first; i < o->argc; i++)
        fl_kv_args_add(&o->kargs, o->argv[i].p, o->argv[i].len);
    c.argc = (uint32_t)(o->argc - first);
    c.args = o->kargs.data;
    c.args_len = o->kargs.len;
    c.flags = flags;
    return o->kargs.err ? "ERR out of memory" : fl__cmd_encode(o, &c);
}

static const char *args_cmd(op *o, fl_kv_op kind, size_t first, uint8_t flags)
{
    return list_cmd(o, kind, false, first, flags);
}

const char *fl__cmd_key_args(op *o, fl_kv_op kind, size_t first, uint8_t flags)
{
    return list_cmd(o, kind, true, first, flags);
}

const char *fl__cmd_build_key(op *o, fl_kv_op kind, uint8_t flags)
{
    fl_kv_cmd c = fl__cmd_key(o, kind);
    c.flags = flags;
    return fl__cmd_encode(o, &c);
}

/* An expiry amount in unit_ns (1e9 for seconds) as relative or absolute ns. */
static const char *expiry(const fl_resp_arg *a, fl_time_ns unit_ns, bool allow_le0, int64_t *ns,
                          const char *cmd_name, char *msg, size_t msg_size)
{
    int64_t v;
    if (!fl__arg_i64(a, &v))
        return FL__E_INT;
    if ((!allow_le0 && v <= 0) || v > INT64_MAX / (int64_t)unit_ns ||
        v < INT64_MIN / (int64_t)unit_ns) {
        snprintf(msg, msg_size, "ERR invalid expire time in '%s' command", cmd_name);
        return msg;
    }
    *ns = v * (int64_t)unit_ns;
    return NULL;
}

/* ---- GET and the reads --------------------------------------------------------------------- */

static const char *b_get(op *o)
{
    return fl__cmd_build_key(o, FL_KV_GET, 0);
}
static const char *b_strlen(op *o)
{
    return fl__cmd_build_key(o, FL_KV_STRLEN, 0);
}
static const char *b_type(op *o)
{
    return fl__cmd_build_key(o, FL_KV_TYPE, 0);
}
static const char *b_ttl(op *o)
{
    return fl__cmd_build_key(o, FL_KV_TTL, tolower(ARG(o, 0)[0]) == 'p' ? FL_KV_F_MS : 0);
}
static const char *b_mget(op *o)
{
    return args_cmd(o, FL_KV_MGET, 1, 0);
}
static const char *b_exists(op *o)
{
    return args_cmd(o, FL_KV_EXISTS, 1, 0);
}
static const char *b_keys(op *o)
{
    return args_cmd(o, FL_KV_KEYS, 1, 0);
}
static const char *b_dbsize(op *o)
{
    return fl__cmd_build_key(o, FL_KV_DBSIZE, 0);
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE t] */
static const char *b_scan(op *o)
{
    int64_t count = 10, cur;
    const fl_resp_arg *pat = NULL, *type = NULL;
    if (!fl__arg_i64(&o->argv[1], &cur) && !(o->argv[1].len <= 20 && o->argv[1].len > 0 &&
                                             strspn(ARG(o, 1), "0123456789") == o->argv[1].len))
        return "ERR invalid cursor";
    for (size_t i = 2; i < o->argc; i += 2) {
        if (i + 1 >= o->argc)
            return FL__E_SYNTAX;
        if (!strcasecmp(ARG(o, i), "MATCH"))
            pat = &o->argv[i + 1];
        else if (!strcasecmp(ARG(o, i), "COUNT")) {
            if (!fl__arg_i64(&o->argv[i + 1], &count))
                return FL__E_INT;
            if (count < 1)
                return FL__E_SYNTAX;
        } else if (!strcasecmp(ARG(o, i), "TYPE"))
            type = &o->argv[i + 1];
        else
            return FL__E_SYNTAX;
    }
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SCAN);
    c.key = NULL;
    c.key_len = 0;
    fl_buf_reset(&o->kargs);
    fl_kv_args_add(&o->kargs, o->argv[1].p, o->argv[1].len);
    fl_kv_args_add(&o->kargs, pat ? pat->p : (const uint8_t *)"*", pat ? pat->len : 1);
    c.argc = 2;
    if (type) { /* Redis compares the type name case-insensitively */
        char t[8] = {0};
        for (size_t i = 0; i < type->len && i < sizeof(t) - 1; i++)
            t[i] = (char)tolower(type->p[i]);
        fl_kv_args_add(&o->kargs, t, type->len < sizeof(t) ? type->len : sizeof(t));
        c.argc = 3;
    }
    c.args = o->kargs.data;
    c.args_len = o->kargs.len;
    c.num = count;
    return fl__cmd_encode(o, &c);
}

/* ---- SET and friends ----------------------------------------------------------------------- */

enum { X_NONE, X_EX, X_PX, X_EXAT, X_PXAT, X_KEEP, X_PERSIST };

/* One expiry option at argv[*i] (EX n, PX n, EXAT n, PXAT n, KEEPTTL, PERSIST) into c.
 * Returns 1 if it was one, 0 if not, -1 with *err for a bad one. */
static int expiry_option(op *o, size_t *i, int *kind, fl_kv_cmd *c, const char **err, char *msg,
                         size_t msg_size, const char *name)
{
    static const char *const names[] = {"", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "PERSIST"};
    int k = X_NONE;
    for (int n = X_EX; n <= X_PERSIST; n++)
        if (!strcasecmp(ARG(o, *i), names[n]))
            k = n;
    if (k == X_NONE)
        return 0;
    if (*kind != X_NONE) {
        *err = FL__E_SYNTAX;
        return -1;
    }
    *kind = k;
    if (k == X_KEEP || k == X_PERSIST)
        return 1;
    if (*i + 1 >= o->argc) {
        *err = FL__E_SYNTAX;
        return -1;
    }
    fl_time_ns unit = (k == X_EX || k == X_EXAT) ? FL_NS_PER_S : FL_NS_PER_MS;
    *err = expiry(&o->argv[++*i], unit, false, &c->num, name, msg, msg_size);
    c->flags |= (k == X_EX || k == X_PX) ? FL_KV_F_EXP_REL : FL_KV_F_EXP_ABS;
    return *err ? -1 : 1;
}

static char set_msg[96]; /* built and used within one call on the loop thread */

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] */
static const char *b_set(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SET);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    int kind = X_NONE;
    for (size_t i = 3; i < o->argc; i++) {
        const char *a = ARG(o, i), *err = NULL;
        int r = expiry_option(o, &i, &kind, &c, &err, set_msg, sizeof(set_msg), "set");
        if (r < 0)
            return err;
        if (r > 0 && kind != X_PERSIST)
            continue;
        if (!strcasecmp(a, "NX") && !(c.flags & FL_KV_F_XX))
            c.flags |= FL_KV_F_NX;
        else if (!strcasecmp(a, "XX") && !(c.flags & FL_KV_F_NX))
            c.flags |= FL_KV_F_XX;
        else if (!strcasecmp(a, "GET"))
            c.flags |= FL_KV_F_GET;
        else
            return FL__E_SYNTAX;
    }
    if (kind == X_KEEP)
        c.flags |= FL_KV_F_KEEPTTL;
    return fl__cmd_encode(o, &c);
}

static const char *b_setnx(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SET);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    c.flags = FL_KV_F_NX;
    return fl__cmd_encode(o, &c);
}

/* SETEX key seconds value, PSETEX key ms value */
static const char *b_setex(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SET);
    c.value = o->argv[3].p;
    c.value_len = o->argv[3].len;
    c.flags = FL_KV_F_EXP_REL;
    bool ms = tolower(ARG(o, 0)[0]) == 'p';
    const char *err = expiry(&o->argv[2], ms ? FL_NS_PER_MS : FL_NS_PER_S, false, &c.num,
                             ms ? "psetex" : "setex", set_msg, sizeof(set_msg));
    return err ? err : fl__cmd_encode(o, &c);
}

static const char *b_getset(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_SET);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    c.flags = FL_KV_F_GET;
    return fl__cmd_encode(o, &c);
}

static const char *b_mset(op *o)
{
    if (o->argc % 2 == 0)
        return fl__arity_msg(o);
    return args_cmd(o, FL_KV_MSET, 1, o->argv[0].len == 6 ? FL_KV_F_NX : 0);
}

static const char *b_del(op *o)
{
    return args_cmd(o, FL_KV_DEL, 1, 0);
}
static const char *b_getdel(op *o)
{
    return fl__cmd_build_key(o, FL_KV_GETDEL, 0);
}

/* GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] */
static const char *b_getex(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_GETEX);
    int kind = X_NONE;
    for (size_t i = 2; i < o->argc; i++) {
        const char *err = NULL;
        int r = expiry_option(o, &i, &kind, &c, &err, set_msg, sizeof(set_msg), "getex");
        if (r < 0)
            return err;
        if (r == 0 || kind == X_KEEP)
            return FL__E_SYNTAX;
    }
    if (kind == X_PERSIST)
        c.flags |= FL_KV_F_PERSIST;
    return fl__cmd_encode(o, &c);
}

/* EXPIRE key n [NX|XX|GT|LT], PEXPIRE, EXPIREAT, PEXPIREAT */
static const char *b_expire(op *o)
{
    const char *name = o->def->name;
    bool ms = name[0] == 'p', at = strstr(name, "at") != NULL;
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_EXPIRE);
    c.flags = at ? FL_KV_F_EXP_ABS : FL_KV_F_EXP_REL;
    const char *err = expiry(&o->argv[2], ms ? FL_NS_PER_MS : FL_NS_PER_S, true, &c.num, name,
                             set_msg, sizeof(set_msg));
    if (err)
        return err;
    uint8_t cond = 0;
    for (size_t i = 3; i < o->argc; i++) {
        static const char *const conds[] = {"", "NX", "XX", "GT", "LT"};
        uint8_t k = 0;
        for (uint8_t n = 1; n <= 4; n++)
            if (!strcasecmp(ARG(o, i), conds[n]))
                k = n;
        if (!k) {
            snprintf(set_msg, sizeof(set_msg), "ERR Unsupported option %.40s", ARG(o, i));
            return set_msg;
        }
        if (cond && cond != k)
            return (cond == 3 || cond == 4) && (k == 3 || k == 4)
                       ? "ERR GT and LT options at the same time are not compatible"
                       : "ERR NX and XX, GT or LT options at the same time are not compatible";
        cond = k;
    }
    c.flags |= cond;
    return fl__cmd_encode(o, &c);
}

static const char *b_persist(op *o)
{
    return fl__cmd_build_key(o, FL_KV_PERSIST, 0);
}

static const char *b_flush(op *o)
{
    if (o->argc == 2 && strcasecmp(ARG(o, 1), "ASYNC") && strcasecmp(ARG(o, 1), "SYNC"))
        return FL__E_SYNTAX;
    return fl__cmd_build_key(o, FL_KV_FLUSH, 0);
}

static const char *b_append(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_APPEND);
    c.value = o->argv[2].p;
    c.value_len = o->argv[2].len;
    return fl__cmd_encode(o, &c);
}

static const char *b_incr(op *o)
{
    const char *name = o->def->name;
    bool decr = name[0] == 'd';
    int64_t d = 1;
    if (o->argc == 3 && !fl__arg_i64(&o->argv[2], &d))
        return FL__E_INT;
    if (decr && d == INT64_MIN)
        return "ERR decrement would overflow";
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_INCR);
    c.delta = decr ? -d : d;
    return fl__cmd_encode(o, &c);
}

static const char *b_cas(op *o)
{
    fl_kv_cmd c = fl__cmd_key(o, FL_KV_CAS);
    c.expect = o->argv[2].p;
    c.expect_len = o->argv[2].len;
    c.value = o->argv[3].p;
    c.value_len = o->argv[3].len;
    return fl__cmd_encode(o, &c);
}

/* ---- replies --------------------------------------------------------------------------- */

void fl__reply_status(fl_kv_status st, fl_buf *out)
{
    const char *e;
    switch (st) {
    case FL_KV_TYPE_ERROR:
        e = FL__E_INT;
        break;
    case FL_KV_OVERFLOW:
        e = "ERR increment or decrement would overflow";
        break;
    case FL_KV_TOO_BIG:
        e = "ERR key, value, element count or reply over the kv's limits";
        break;
    case FL_KV_WRONG_TYPE:
        e = "WRONGTYPE Operation against a key holding the wrong kind of value";
        break;
    case FL_KV_OUT_OF_RANGE:
        e = "ERR index out of range";
        break;
    case FL_KV_STALE:
        e = "ERR outcome unknown: retried after a newer request of this connection";
        break;
    case FL_KV_SESSION_EXPIRED:
        e = "ERR session expired: reconnect";
        break;
    default:
        e = "ERR unexpected result";
    }
    fl_resp_put_error(out, e);
}

void fl__r_value(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (r->status == FL_KV_OK && r->has_value)
        fl_resp_put_bulk(out, r->value, r->value_len);
    else if (r->status == FL_KV_OK || r->status == FL_KV_NOT_FOUND)
        fl__put_null(o, out);
    else
        fl__reply_status(r->status, out);
}

static bool result_int(const fl_kv_result *r, int64_t *v)
{
    char text[24];
    if (r->status != FL_KV_OK || !r->has_value || r->value_len == 0 || r->value_len > 20)
        return false;
    memcpy(text, r->value, r->value_len);
    text[r->value_len] = 0;
    fl_resp_arg a = {(const uint8_t *)text, r->value_len};
    return fl__arg_i64(&a, v);
}

void fl__r_int(const op *o, const fl_kv_result *r, fl_buf *out)
{
    int64_t v;
    (void)o;
    if (result_int(r, &v))
        fl_resp_put_int(out, v);
    else
        fl__reply_status(r->status == FL_KV_OK ? FL_KV_TYPE_ERROR : r->status, out);
}

void fl__r_ok(const op *o, const fl_kv_result *r, fl_buf *out)
{
    (void)o;
    if (r->status == FL_KV_OK)
        fl_resp_put_simple(out, "OK");
    else
        fl__reply_status(r->status, out);
}

static void r_set(const op *o, const fl_kv_result *r, fl_buf *out)
{
    bool applied = r->status == FL_KV_OK;
    if (!applied && r->status != FL_KV_NOT_APPLIED)
        fl__reply_status(r->status, out);
    else if ((o->kflags & FL_KV_F_GET) && r->has_value)
        fl_resp_put_bulk(out, r->value, r->value_len);
    else if ((o->kflags & FL_KV_F_GET) || !applied)
        fl__put_null(o, out);
    else
        fl_resp_put_simple(out, "OK");
}

static void r_setnx(const op *o, const fl_kv_result *r, fl_buf *out)
{
    (void)o;
    if (r->status == FL_KV_OK || r->status == FL_KV_NOT_APPLIED)
        fl_resp_put_int(out, r->status == FL_KV_OK);
    else
        fl__reply_status(r->status, out);
}

static void r_mset(const op *o, const fl_kv_result *r, fl_buf *out)
{
    if (o->kflags & FL_KV_F_NX)
        fl__r_int(o, r, out);
    else
        fl__r_ok(o, r, out);
}

static void r_type(const op *o, const fl_kv_result *r, fl_buf *out)
{
    char t[16];
    (void)o;
    snprintf(t, sizeof(t), "%.*s", (int)(r->value_len < 15 ? r->value_len : 15),
             r->value ? (const char *)r->value : "");
    if (r->status == FL_KV_OK)
        fl_resp_put_simple(out, t);
    else
        fl__reply_status(r->status, out);
}

/* A kv list as an array of bulk strings and nulls (from item first on). */
void fl__put_list(const op *o, const fl_kv_result *r, fl_buf *out, uint32_t skip)
{
    uint32_t n = 0;
    if (r->status != FL_KV_OK || !fl_kv_list_count(r->value, r->value_len, &n) || n < skip) {
        fl__reply_status(r->status, out);
        return;
    }
    size_t off = 0, len;
    const uint8_t *p;
    for (uint32_t i = 0; i < skip; i++)
        (void)fl_kv_list_next(r->value, r->value_len, &off, &p, &len);
    fl_resp_put_array(out, n - skip);
    while (fl_kv_list_next(r->value, r->value_len, &off, &p, &len))
        if (p)
            fl_resp_put_bulk(out, p, len);
        else
            fl__put_null(o, out);
}

void fl__put_shaped(const op *o, const fl_kv_result *r, fl_buf *out, int shape)
{
    uint32_t n = 0;
    if (r->status != FL_KV_OK || !fl_kv_list_count(r->value, r->value_len, &n)) {
        fl__reply_status(r->status, out);
        return;
    }
    bool nest = o->resp3 && shape == FL__SHAPE_PAIRS;
    if (shape == FL__SHAPE_SET)
        fl__put_set(o, out, n);
    else if (shape == FL__SHAPE_MAP)
        fl__put_map(o, out, n / 2);
    else
        fl_resp_put_array(out, nest ? n / 2 : n);
    size_t off = 0, len;
    const uint8_t *p;
    for (uint32_t i = 0; fl_kv_list_next(r->value, r->value_len, &off, &p, &len); i++) {
        bool score = i % 2 && (shape == FL__SHAPE_PAIRS || shape == FL__SHAPE_FLAT_PAIRS);
        if (nest && i % 2 == 0)
            fl_resp_put_array(out, 2);
        if (!p)
            fl__put_null(o, out);
        else if (score)
            fl__put_double(o, out, p, len);
        else
            fl_resp_put_bulk(out, p, len);
    }
}

bool fl__list_first(const fl_kv_result *r, const uint8_t **p, size_t *n)
{
    size_t off = 0;
    return r->status == FL_KV_OK && fl_kv_list_next(r->value, r->value_len, &off, p, n) && *p;
}

const char *fl__arg_count(const fl_resp_arg *a, int64_t *n)
{
    return fl__arg_i64(a, n) && *n >= 0 ? NULL : FL__E_POS;
}

const char *fl__arity_msg(const op *o)
{
    snprintf(set_msg, sizeof(set_msg), "ERR wrong number of arguments for '%s' command",
             o->def->name);
    return set_msg;
}

static void r_list(const op *o, const fl_kv_result *r, fl_buf *out)
{
    fl__put_list(o, r, out, 0);
}

static void r_scan(const op *o, const fl_kv_result *r, fl_buf *out)
{
    size_t off = 0, len;
    const uint8_t *p;
    if (r->status != FL_KV_OK || !fl_kv_list_next(r->value, r->value_len, &off, &p, &len) || !p) {
        fl__reply_status(r->status, out);
        return;
    }
    fl_resp_put_array(out, 2);
    fl_resp_put_bulk(out, p, len);
    fl__put_list(o, r, out, 1);
}

static void r_append(const op *o, const fl_kv_result *r, fl_buf *out)
{
    (void)o;
    if (r->status == FL_KV_OK)
        fl_resp_put_int(out, (int64_t)r->value_len);
    else
        fl__reply_status(r->status, out);
}

static void r_cas(const op *o, const fl_kv_result *r, fl_buf *out)
{
    (void)o;
    if (r->status == FL_KV_OK || r->status == FL_KV_CAS_MISMATCH)
        fl_resp_put_int(out, r->status == FL_KV_OK);
    else
        fl__reply_status(r->status, out);
}

/* clang-format off */
const cmd_def fl__kv_cmds[] = {
    {"get", 2, b_get, fl__r_value, NULL},
    {"mget", -2, b_mget, r_list, NULL},
    {"exists", -2, b_exists, fl__r_int, NULL},
    {"strlen", 2, b_strlen, fl__r_int, NULL},
    {"type", 2, b_type, r_type, NULL},
    {"ttl", 2, b_ttl, fl__r_int, NULL},
    {"pttl", 2, b_ttl, fl__r_int, NULL},
    {"keys", 2, b_keys, r_list, NULL},
    {"scan", -2, b_scan, r_scan, NULL},
    {"dbsize", 1, b_dbsize, fl__r_int, NULL},
    {"set", -3, b_set, r_set, NULL},
    {"setnx", 3, b_setnx, r_setnx, NULL},
    {"setex", 4, b_setex, fl__r_ok, NULL},
    {"psetex", 4, b_setex, fl__r_ok, NULL},
    {"getset", 3, b_getset, r_set, NULL},
    {"mset", -3, b_mset, r_mset, NULL},
    {"msetnx", -3, b_mset, r_mset, NULL},
    {"del", -2, b_del, fl__r_int, NULL},
    {"unlink", -2, b_del, fl__r_int, NULL},
    {"getdel", 2, b_getdel, fl__r_value, NULL},
    {"getex", -2, b_getex, fl__r_value, NULL},
    {"expire", -3, b_expire, fl__r_int, NULL},
    {"pexpire", -3, b_expire, fl__r_int, NULL},
    {"expireat", -3, b_expire, fl__r_int, NULL},
    {"pexpireat", -3, b_expire, fl__r_int, NULL},
    {"persist", 2, b_persist, fl__r_int, NULL},
    {"flushall", -1, b_flush, fl__r_ok, NULL},
    {"flushdb", -1, b_flush, fl__r_ok, NULL},
    {"append", 3, b_append, r_append, NULL},
    {"incr", 2, b_incr, fl__r_int, NULL},
    {"decr", 2, b_incr, fl__r_int, NULL},
    {"incrby", 3, b_incr, fl__r_int, NULL},
    {"decrby", 3, b_incr, fl__r_int, NULL},
    {"cas", 4, b_cas, r_cas, NULL},
};
/* clang-format on */
const size_t fl__kv_cmds_count = sizeof(fl__kv_cmds) / sizeof(fl__kv_cmds[0]);
