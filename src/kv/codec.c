/* codec.c: the binary encodings of kv commands (in Raft log entries) and of results (for a
 * follower forwarding an answer). Byte-by-byte layout in docs/kv.md; all integers are
 * little-endian.
 *
 *   command v1:  u8 version=1 | u8 op | u8 flags | u64 client_id | u64 seq | u64 time_ns |
 *                op-specific fields, each string as u32 length + bytes:
 *                  noop: -    get, delete: key    put, append: key value
 *                  incr: key u64 delta         cas: key expect value
 *                  the Redis-shaped ops (docs/kv.md): key and value as strings, u64
 *                  num, u64 num2, then u32 argc + u32 bytes + the argument list, each
 *                  field present only for the ops that have it (shapes[])
 *                flags bit 0 = cas expect_absent (then expect is empty); the Redis-shaped ops
 *                allow their FL_KV_F_ bits; any other bit is corrupt.
 *   result v1:   u8 version=1 | u8 status | u8 has_value (0/1) | u32 length + value bytes
 *                (length is 0 when has_value is 0).
 *
 * Invariants: a decoder consumes exactly its input (trailing bytes are corrupt), accepts only
 * what the encoder can produce, and never asserts on the bytes; decoded strings point into
 * the input. */
#include "faultline/kv.h"

#include "faultline/error.h"

#include <string.h>

#define FLAG_EXPECT_ABSENT 0x01u

_Static_assert(FL_KV_OP_COUNT == FL_KV_ZRANK + 1, "op codes are dense, zrank is the last");
_Static_assert(FL_KV_STATUS_COUNT == FL_KV_OUT_OF_RANGE + 1, "status codes are dense");

/* Which fields a Redis-shaped op carries, and which flags it allows. */
enum { S_KEY = 1, S_VALUE = 2, S_NUM = 4, S_ARGS = 8, S_NUM2 = 16 };
typedef struct shape {
    uint8_t fields;
    uint8_t flags;
} shape;

#define F_EXP (FL_KV_F_EXP_REL | FL_KV_F_EXP_ABS)
static const shape shapes[FL_KV_OP_COUNT] = {
    [FL_KV_SET] = {S_KEY | S_VALUE | S_NUM,
                   FL_KV_F_NX | FL_KV_F_XX | FL_KV_F_GET | FL_KV_F_KEEPTTL | F_EXP},
    [FL_KV_MSET] = {S_ARGS, FL_KV_F_NX},
    [FL_KV_DEL] = {S_ARGS, 0},
    [FL_KV_GETDEL] = {S_KEY, 0},
    [FL_KV_GETEX] = {S_KEY | S_NUM, F_EXP | FL_KV_F_PERSIST},
    [FL_KV_EXPIRE] = {S_KEY | S_NUM, F_EXP | FL_KV_F_COND},
    [FL_KV_PERSIST] = {S_KEY, 0},
    [FL_KV_TTL] = {S_KEY, FL_KV_F_MS},
    [FL_KV_FLUSH] = {0, 0},
    [FL_KV_MULTI] = {S_NUM | S_ARGS, 0},
    [FL_KV_MGET] = {S_ARGS, 0},
    [FL_KV_EXISTS] = {S_ARGS, 0},
    [FL_KV_STRLEN] = {S_KEY, 0},
    [FL_KV_TYPE] = {S_KEY, 0},
    [FL_KV_KEYS] = {S_ARGS, 0},
    [FL_KV_SCAN] = {S_NUM | S_ARGS, 0},
    [FL_KV_DBSIZE] = {0, 0},
    [FL_KV_INDEX] = {0, 0},
    [FL_KV_PUSH] = {S_KEY | S_ARGS, FL_KV_F_LEFT | FL_KV_F_XX},
    [FL_KV_POP] = {S_KEY | S_NUM, FL_KV_F_LEFT | FL_KV_F_COUNT},
    [FL_KV_LLEN] = {S_KEY, 0},
    [FL_KV_LRANGE] = {S_KEY | S_NUM | S_NUM2, 0},
    [FL_KV_LINDEX] = {S_KEY | S_NUM, 0},
    [FL_KV_LSET] = {S_KEY | S_VALUE | S_NUM, 0},
    [FL_KV_LREM] = {S_KEY | S_VALUE | S_NUM, 0},
    [FL_KV_LTRIM] = {S_KEY | S_NUM | S_NUM2, 0},
    [FL_KV_SADD] = {S_KEY | S_ARGS, 0},
    [FL_KV_SREM] = {S_KEY | S_ARGS, 0},
    [FL_KV_SPOP] = {S_KEY | S_NUM, FL_KV_F_COUNT},
    [FL_KV_SMEMBERS] = {S_KEY, 0},
    [FL_KV_SISMEMBER] = {S_KEY | S_VALUE, 0},
    [FL_KV_SCARD] = {S_KEY, 0},
    [FL_KV_SRANDMEMBER] = {S_KEY | S_NUM, FL_KV_F_COUNT},
    [FL_KV_HSET] = {S_KEY | S_ARGS, FL_KV_F_NX},
    [FL_KV_HMGET] = {S_KEY | S_ARGS, 0},
    [FL_KV_HDEL] = {S_KEY | S_ARGS, 0},
    [FL_KV_HGETALL] = {S_KEY, FL_KV_F_KEYS | FL_KV_F_VALS},
    [FL_KV_HLEN] = {S_KEY, 0},
    [FL_KV_HEXISTS] = {S_KEY | S_VALUE, 0},
    [FL_KV_HINCRBY] = {S_KEY | S_VALUE | S_NUM, 0},
    [FL_KV_ZADD] = {S_KEY | S_ARGS,
                    FL_KV_F_NX | FL_KV_F_XX | FL_KV_F_GT | FL_KV_F_LT | FL_KV_F_CH | FL_KV_F_INCR},
    [FL_KV_ZPOP] = {S_KEY | S_NUM, FL_KV_F_MAX | FL_KV_F_COUNT},
    [FL_KV_ZRANGE] = {S_KEY | S_NUM | S_NUM2, FL_KV_F_REV | FL_KV_F_SCORES},
    [FL_KV_ZRANGEBYSCORE] = {S_KEY | S_NUM | S_NUM2 | S_ARGS,
                             FL_KV_F_REV | FL_KV_F_SCORES | FL_KV_F_MIN_EXCL | FL_KV_F_MAX_EXCL},
    [FL_KV_ZSCORE] = {S_KEY | S_VALUE, 0},
    [FL_KV_ZCARD] = {S_KEY, 0},
    [FL_KV_ZREM] = {S_KEY | S_ARGS, 0},
    [FL_KV_ZRANK] = {S_KEY | S_VALUE, FL_KV_F_REV},
};

bool fl_kv_op_is_read(fl_kv_op op)
{
    switch (op) {
    case FL_KV_GET:
    case FL_KV_TTL:
    case FL_KV_MGET:
    case FL_KV_EXISTS:
    case FL_KV_STRLEN:
    case FL_KV_TYPE:
    case FL_KV_KEYS:
    case FL_KV_SCAN:
    case FL_KV_DBSIZE:
    case FL_KV_INDEX:
    case FL_KV_LLEN:
    case FL_KV_LRANGE:
    case FL_KV_LINDEX:
    case FL_KV_SMEMBERS:
    case FL_KV_SISMEMBER:
    case FL_KV_SCARD:
    case FL_KV_SRANDMEMBER:
    case FL_KV_HMGET:
    case FL_KV_HGETALL:
    case FL_KV_HLEN:
    case FL_KV_HEXISTS:
    case FL_KV_ZRANGE:
    case FL_KV_ZRANGEBYSCORE:
    case FL_KV_ZSCORE:
    case FL_KV_ZCARD:
    case FL_KV_ZRANK:
        return true;
    default:
        return false;
    }
}

void fl_kv_args_add(fl_buf *args, const void *p, size_t n)
{
    fl_buf_put_u32(args, (uint32_t)n);
    fl_buf_put_bytes(args, p, n);
}

void fl_kv_args_add_score(fl_buf *args, double score)
{
    uint64_t bits;
    memcpy(&bits, &score, sizeof(bits));
    fl_buf_put_u32(args, 8);
    fl_buf_put_u64(args, bits);
}

bool fl_kv_score_get(const uint8_t *p, size_t n, double *score)
{
    if (n != 8)
        return false;
    uint64_t bits = fl_get_u64le(p);
    memcpy(score, &bits, sizeof(bits));
    return *score == *score; /* false for a NaN */
}

bool fl_kv_args_next(const uint8_t *args, size_t args_len, size_t *off, const uint8_t **p,
                     size_t *n)
{
    if (*off + 4 > args_len)
        return false;
    uint32_t len = fl_get_u32le(args + *off);
    if (len > args_len - *off - 4)
        return false;
    *p = args + *off + 4;
    *n = len;
    *off += 4 + (size_t)len;
    return true;
}

/* True if args[0..len) is exactly argc arguments. O(argc). */
static bool args_exact(const uint8_t *args, size_t len, uint32_t argc)
{
    size_t off = 0, n;
    const uint8_t *p;
    for (uint32_t i = 0; i < argc; i++)
        if (!fl_kv_args_next(args, len, &off, &p, &n))
            return false;
    return off == len;
}

void fl_kv_list_begin(fl_buf *b, uint32_t count)
{
    fl_buf_put_u32(b, count);
}

void fl_kv_list_add(fl_buf *b, const void *p, size_t n)
{
    fl_buf_put_u8(b, p ? 1 : 0);
    if (p) {
        fl_buf_put_u32(b, (uint32_t)n);
        fl_buf_put_bytes(b, p, n);
    }
}

bool fl_kv_list_count(const uint8_t *v, size_t len, uint32_t *count)
{
    if (len < 4)
        return false;
    *count = fl_get_u32le(v);
    return true;
}

bool fl_kv_list_next(const uint8_t *v, size_t len, size_t *off, const uint8_t **p, size_t *n)
{
    if (*off < 4)
        *off = 4;
    if (*off >= len)
        return false;
    if (v[*off] == 0) {
        *p = NULL;
        *n = 0;
        *off += 1;
        return true;
    }
    if (v[*off] != 1 || len - *off < 5)
        return false;
    uint32_t l = fl_get_u32le(v + *off + 1);
    if (l > len - *off - 5)
        return false;
    *p = v + *off + 5;
    *n = l;
    *off += 5 + (size_t)l;
    return true;
}
_Static_assert(FL_KV_STATUS_COUNT <= 256 && FL_KV_OP_COUNT <= 256, "encoded as one byte");

static void put_str(fl_buf *b, const uint8_t *p, size_t n)
{
    fl_buf_put_u32(b, (uint32_t)n);
    fl_buf_put_bytes(b, p, n);
}

static const uint8_t *read_str(fl_reader *r, size_t *n)
{
    uint32_t len = fl_read_u32(r);
    const uint8_t *p = fl_read_bytes(r, len);
    *n = p ? len : 0;
    return p;
}

static bool cmd_encodable(const fl_kv_cmd *c)
{
    if ((unsigned)c->op >= FL_KV_OP_COUNT)
        return false;
    if (c->key_len > UINT32_MAX || c->value_len > UINT32_MAX || c->expect_len > UINT32_MAX)
        return false;
    if (c->op >= FL_KV_SET) {
        const shape *sh = &shapes[c->op];
        if (c->flags & ~sh->flags || c->args_len > UINT32_MAX)
            return false;
        if ((sh->fields & S_ARGS) && !args_exact(c->args, c->args_len, c->argc))
            return false;
    }
    return !(c->expect_absent && c->expect_len != 0);
}

static void encode_redis(const fl_kv_cmd *c, fl_buf *out)
{
    uint8_t f = shapes[c->op].fields;
    if (f & S_KEY)
        put_str(out, c->key, c->key_len);
    if (f & S_VALUE)
        put_str(out, c->value, c->value_len);
    if (f & S_NUM)
        fl_buf_put_u64(out, (uint64_t)c->num);
    if (f & S_NUM2)
        fl_buf_put_u64(out, (uint64_t)c->num2);
    if (f & S_ARGS) {
        fl_buf_put_u32(out, c->argc);
        put_str(out, c->args, c->args_len);
    }
}

static void decode_redis(fl_reader *r, fl_kv_cmd *c)
{
    uint8_t f = shapes[c->op].fields;
    if (f & S_KEY)
        c->key = read_str(r, &c->key_len);
    if (f & S_VALUE)
        c->value = read_str(r, &c->value_len);
    if (f & S_NUM)
        c->num = (int64_t)fl_read_u64(r);
    if (f & S_NUM2)
        c->num2 = (int64_t)fl_read_u64(r);
    if (f & S_ARGS) {
        c->argc = fl_read_u32(r);
        c->args = read_str(r, &c->args_len);
    }
}

int fl_kv_cmd_encode(const fl_kv_cmd *c, fl_buf *out)
{
    if (!cmd_encodable(c))
        return FL_EINVAL;
    bool absent = c->op == FL_KV_CAS && c->expect_absent;
    fl_buf_put_u8(out, FL_KV_CMD_VERSION);
    fl_buf_put_u8(out, (uint8_t)c->op);
    fl_buf_put_u8(out, c->op >= FL_KV_SET ? c->flags : absent ? FLAG_EXPECT_ABSENT : 0);
    fl_buf_put_u64(out, c->client_id);
    fl_buf_put_u64(out, c->seq);
    fl_buf_put_u64(out, c->time_ns);
    if (c->op >= FL_KV_SET) {
        encode_redis(c, out);
        return out->err;
    }
    if (c->op != FL_KV_NOOP)
        put_str(out, c->key, c->key_len);
    if (c->op == FL_KV_CAS)
        put_str(out, c->expect, c->expect_len);
    if (c->op == FL_KV_PUT || c->op == FL_KV_APPEND || c->op == FL_KV_CAS)
        put_str(out, c->value, c->value_len);
    if (c->op == FL_KV_INCR)
        fl_buf_put_u64(out, (uint64_t)c->delta);
    return out->err;
}

/* Reads the op-specific fields of c->op. */
static void decode_args(fl_reader *r, fl_kv_cmd *c)
{
    if (c->op != FL_KV_NOOP)
        c->key = read_str(r, &c->key_len);
    if (c->op == FL_KV_CAS)
        c->expect = read_str(r, &c->expect_len);
    if (c->op == FL_KV_PUT || c->op == FL_KV_APPEND || c->op == FL_KV_CAS)
        c->value = read_str(r, &c->value_len);
    if (c->op == FL_KV_INCR)
        c->delta = (int64_t)fl_read_u64(r);
}

int fl_kv_cmd_decode(const uint8_t *bytes, size_t len, fl_kv_cmd *out)
{
    memset(out, 0, sizeof(*out));
    fl_reader r;
    fl_reader_init(&r, bytes, len);
    uint8_t version = fl_read_u8(&r);
    uint8_t op = fl_read_u8(&r);
    uint8_t flags = fl_read_u8(&r);
    if (r.err)
        return r.err;
    if (version != FL_KV_CMD_VERSION)
        return FL_EVERSION;
    if (op >= FL_KV_OP_COUNT)
        return FL_ETYPE;
    out->op = (fl_kv_op)op;
    if (op >= FL_KV_SET ? (flags & ~shapes[op].flags) != 0
                        : (flags & ~FLAG_EXPECT_ABSENT || (flags && op != FL_KV_CAS)))
        return FL_ECORRUPT;
    if (op >= FL_KV_SET)
        out->flags = flags;
    else
        out->expect_absent = flags & FLAG_EXPECT_ABSENT;
    out->client_id = fl_read_u64(&r);
    out->seq = fl_read_u64(&r);
    out->time_ns = fl_read_u64(&r);
    if (op >= FL_KV_SET)
        decode_redis(&r, out);
    else
        decode_args(&r, out);
    if (r.err)
        return r.err;
    if ((shapes[op].fields & S_ARGS) && !args_exact(out->args, out->args_len, out->argc))
        return FL_ECORRUPT;
    if (fl_reader_left(&r) != 0 || (out->expect_absent && out->expect_len != 0))
        return FL_ECORRUPT;
    return 0;
}

int fl_kv_result_encode(const fl_kv_result *res, fl_buf *out)
{
    if ((unsigned)res->status >= FL_KV_STATUS_COUNT || res->value_len > UINT32_MAX ||
        (!res->has_value && res->value_len != 0))
        return FL_EINVAL;
    fl_buf_put_u8(out, FL_KV_RESULT_VERSION);
    fl_buf_put_u8(out, (uint8_t)res->status);
    fl_buf_put_u8(out, res->has_value ? 1 : 0);
    put_str(out, res->value, res->value_len);
    return out->err;
}

int fl_kv_result_decode(const uint8_t *bytes, size_t len, fl_kv_result *out)
{
    memset(out, 0, sizeof(*out));
    fl_reader r;
    fl_reader_init(&r, bytes, len);
    uint8_t version = fl_read_u8(&r);
    if (r.err)
        return r.err;
    if (version != FL_KV_RESULT_VERSION)
        return FL_EVERSION;
    uint8_t status = fl_read_u8(&r);
    uint8_t has_value = fl_read_u8(&r);
    out->value = read_str(&r, &out->value_len);
    if (r.err)
        return r.err;
    if (status >= FL_KV_STATUS_COUNT || has_value > 1 || fl_reader_left(&r) != 0 ||
        (!has_value && out->value_len != 0))
        return FL_ECORRUPT;
    out->status = (fl_kv_status)status;
    out->has_value = has_value;
    return 0;
}
