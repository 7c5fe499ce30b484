/* codec.c: the binary encodings of kv commands (in Raft log entries) and of results (for a
 * follower forwarding an answer). Byte-by-byte layout in docs/kv.md; all integers are
 * little-endian.
 *
 *   command v1:  u8 version=1 | u8 op | u8 flags | u64 client_id | u64 seq | u64 time_ns |
 *                op-specific fields, each string as u32 length + bytes:
 *                  noop: -    get, delete: key    put, append: key value
 *                  incr: key u64 delta         cas: key expect value
 *                flags bit 0 = cas expect_absent (then expect is empty); other bits are 0.
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

_Static_assert(FL_KV_OP_COUNT == FL_KV_CAS + 1, "op codes are dense, cas is the last");
_Static_assert(FL_KV_STATUS_COUNT == FL_KV_BAD_COMMAND + 1, "status codes are dense");
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
    return !(c->expect_absent && c->expect_len != 0);
}

int fl_kv_cmd_encode(const fl_kv_cmd *c, fl_buf *out)
{
    if (!cmd_encodable(c))
        return FL_EINVAL;
    bool absent = c->op == FL_KV_CAS && c->expect_absent;
    fl_buf_put_u8(out, FL_KV_CMD_VERSION);
    fl_buf_put_u8(out, (uint8_t)c->op);
    fl_buf_put_u8(out, absent ? FLAG_EXPECT_ABSENT : 0);
    fl_buf_put_u64(out, c->client_id);
    fl_buf_put_u64(out, c->seq);
    fl_buf_put_u64(out, c->time_ns);
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
    if (flags & ~FLAG_EXPECT_ABSENT || (flags && op != FL_KV_CAS))
        return FL_ECORRUPT;
    out->expect_absent = flags & FLAG_EXPECT_ABSENT;
    out->client_id = fl_read_u64(&r);
    out->seq = fl_read_u64(&r);
    out->time_ns = fl_read_u64(&r);
    decode_args(&r, out);
    if (r.err)
        return r.err;
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
