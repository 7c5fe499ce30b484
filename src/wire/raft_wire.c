/* raft_wire.c: Raft messages to bytes and back.
 *
 * All integers are little-endian. Every message starts with a 20-byte header:
 *
 *     offset size field
 *     0      1    version (FL_WIRE_VERSION = 1)
 *     1      1    type (fl_raft_msg_type, 1..11)
 *     2      2    flags, bit 0: vote.transfer; other bits must be zero
 *     4      4    from (node id)
 *     8      4    to (node id)
 *     12     8    term
 *
 * followed by a body that depends on the type:
 *
 *     VOTE, PRE_VOTE          last_index u64, last_term u64                         (16 bytes)
 *     VOTE_RESP, PRE_VOTE_RESP granted u8 (0 or 1)                                  (1 byte)
 *     APPEND                  prev_index u64, prev_term u64, commit u64, ctx u64,
 *                             n_entries u32, then n_entries times:
 *                               term u64, type u8 (1..3), len u32, data[len]
 *     APPEND_RESP             success u8, match_index u64, reject_index u64,
 *                             hint_index u64, hint_term u64, last_index u64, ctx u64 (49 bytes)
 *     TIMEOUT_NOW             empty
 *     SNAPSHOT                index u64, snapshot term u64, size u64, crc u32, offset u64,
 *                             ctx u64, done u8 (0 or 1), conf_len u16, conf[conf_len] (the
 *                             configuration's byte form, raft_conf.h), len u32, data[len]
 *                             (51 bytes + conf + data)
 *     SNAPSHOT_RESP           index u64, next_offset u64, done u8 (0 or 1), ctx u64 (25 bytes)
 *     READ_INDEX              ctx u64                                               (8 bytes)
 *     READ_INDEX_RESP         ctx u64, index u64, ok u8 (0 or 1)                    (17 bytes)
 *
 * A message must end exactly where its body ends; trailing bytes are an error. */
#include "faultline/wire.h"

#include "faultline/error.h"
#include "faultline/raft_conf.h"

#include <string.h>

#define HEADER_BYTES  20
#define FLAG_TRANSFER 1u

static void encode_header(const fl_raft_msg *m, fl_buf *out)
{
    uint16_t flags = 0;
    if ((m->type == FL_RAFT_MSG_VOTE || m->type == FL_RAFT_MSG_PRE_VOTE) && m->u.vote.transfer)
        flags |= FLAG_TRANSFER;
    fl_buf_put_u8(out, FL_WIRE_VERSION);
    fl_buf_put_u8(out, m->type);
    fl_buf_put_u16(out, flags);
    fl_buf_put_u32(out, m->from);
    fl_buf_put_u32(out, m->to);
    fl_buf_put_u64(out, m->term);
}

static int encode_append(const fl_raft_append *a, fl_buf *out)
{
    if (a->n_entries > FL_WIRE_ENTRIES_MAX || (a->n_entries && !a->entries))
        return FL_EINVAL;
    fl_buf_put_u64(out, a->prev_index);
    fl_buf_put_u64(out, a->prev_term);
    fl_buf_put_u64(out, a->commit);
    fl_buf_put_u64(out, a->ctx);
    fl_buf_put_u32(out, a->n_entries);
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const fl_raft_entry *e = &a->entries[i];
        fl_buf_put_u64(out, e->term);
        fl_buf_put_u8(out, e->type);
        fl_buf_put_u32(out, e->len);
        fl_buf_put_bytes(out, e->data, e->len);
    }
    return 0;
}

static void encode_append_resp(const fl_raft_append_resp *a, fl_buf *out)
{
    fl_buf_put_u8(out, a->success ? 1 : 0);
    fl_buf_put_u64(out, a->match_index);
    fl_buf_put_u64(out, a->reject_index);
    fl_buf_put_u64(out, a->hint_index);
    fl_buf_put_u64(out, a->hint_term);
    fl_buf_put_u64(out, a->last_index);
    fl_buf_put_u64(out, a->ctx);
}

static int encode_snapshot(const fl_raft_snapshot *s, fl_buf *out)
{
    if (s->len && !s->data)
        return FL_EINVAL; /* the environment did not fill the chunk (raft.h) */
    fl_buf_put_u64(out, s->meta.index);
    fl_buf_put_u64(out, s->meta.term);
    fl_buf_put_u64(out, s->meta.size);
    fl_buf_put_u32(out, s->meta.crc);
    fl_buf_put_u64(out, s->offset);
    fl_buf_put_u64(out, s->ctx);
    fl_buf_put_u8(out, s->done ? 1 : 0);
    fl_buf_put_u16(out, (uint16_t)fl_raft_conf_encoded_size(&s->meta.conf));
    int rc = fl_raft_conf_encode(&s->meta.conf, out);
    if (rc)
        return rc;
    fl_buf_put_u32(out, s->len);
    fl_buf_put_bytes(out, s->data, s->len);
    return 0;
}

static void encode_snapshot_resp(const fl_raft_snapshot_resp *a, fl_buf *out)
{
    fl_buf_put_u64(out, a->index);
    fl_buf_put_u64(out, a->next_offset);
    fl_buf_put_u8(out, a->done ? 1 : 0);
    fl_buf_put_u64(out, a->ctx);
}

int fl_wire_raft_encode(const fl_raft_msg *m, fl_buf *out)
{
    size_t start = out->len;
    int rc = 0;
    encode_header(m, out);
    switch (m->type) {
    case FL_RAFT_MSG_VOTE:
    case FL_RAFT_MSG_PRE_VOTE:
        fl_buf_put_u64(out, m->u.vote.last_index);
        fl_buf_put_u64(out, m->u.vote.last_term);
        break;
    case FL_RAFT_MSG_VOTE_RESP:
    case FL_RAFT_MSG_PRE_VOTE_RESP:
        fl_buf_put_u8(out, m->u.vote_resp.granted ? 1 : 0);
        break;
    case FL_RAFT_MSG_APPEND:
        rc = encode_append(&m->u.append, out);
        break;
    case FL_RAFT_MSG_APPEND_RESP:
        encode_append_resp(&m->u.append_resp, out);
        break;
    case FL_RAFT_MSG_TIMEOUT_NOW:
        break;
    case FL_RAFT_MSG_SNAPSHOT:
        rc = encode_snapshot(&m->u.snapshot, out);
        break;
    case FL_RAFT_MSG_SNAPSHOT_RESP:
        encode_snapshot_resp(&m->u.snapshot_resp, out);
        break;
    case FL_RAFT_MSG_READ_INDEX:
        fl_buf_put_u64(out, m->u.read_index.ctx);
        break;
    case FL_RAFT_MSG_READ_INDEX_RESP:
        fl_buf_put_u64(out, m->u.read_index.ctx);
        fl_buf_put_u64(out, m->u.read_index.index);
        fl_buf_put_u8(out, m->u.read_index.ok ? 1 : 0);
        break;
    default:
        rc = FL_EINVAL;
    }
    if (!rc && !out->err && out->len - start > FL_WIRE_MSG_BYTES_MAX)
        rc = FL_ETOOBIG;
    if (rc || out->err) {
        if (!out->err)
            out->len = start; /* leave the buffer as it was */
        return rc ? rc : out->err;
    }
    return 0;
}

static bool read_bool(fl_reader *r)
{
    uint8_t v = fl_read_u8(r);
    if (v > 1)
        fl_reader_fail(r, FL_ECORRUPT);
    return v == 1;
}

static void decode_append(fl_reader *r, fl_raft_append *a, fl_raft_entry *buf, uint32_t max)
{
    a->prev_index = fl_read_u64(r);
    a->prev_term = fl_read_u64(r);
    a->commit = fl_read_u64(r);
    a->ctx = fl_read_u64(r);
    a->n_entries = fl_read_u32(r);
    if (r->err)
        return;
    if (a->n_entries > max || a->n_entries > FL_WIRE_ENTRIES_MAX) {
        fl_reader_fail(r, FL_ETOOBIG);
        return;
    }
    a->entries = a->n_entries ? buf : NULL;
    for (uint32_t i = 0; i < a->n_entries && !r->err; i++) {
        fl_raft_entry *e = &buf[i];
        e->term = fl_read_u64(r);
        e->type = fl_read_u8(r);
        e->len = fl_read_u32(r);
        if (!r->err && (e->type < FL_RAFT_ENTRY_NORMAL || e->type > FL_RAFT_ENTRY_CONFIG))
            fl_reader_fail(r, FL_ECORRUPT);
        e->data = fl_read_bytes(r, e->len);
    }
}

static void decode_append_resp(fl_reader *r, fl_raft_append_resp *a)
{
    a->success = read_bool(r);
    a->match_index = fl_read_u64(r);
    a->reject_index = fl_read_u64(r);
    a->hint_index = fl_read_u64(r);
    a->hint_term = fl_read_u64(r);
    a->last_index = fl_read_u64(r);
    a->ctx = fl_read_u64(r);
}

static void decode_snapshot(fl_reader *r, fl_raft_snapshot *s)
{
    s->meta.index = fl_read_u64(r);
    s->meta.term = fl_read_u64(r);
    s->meta.size = fl_read_u64(r);
    s->meta.crc = fl_read_u32(r);
    s->offset = fl_read_u64(r);
    s->ctx = fl_read_u64(r);
    s->done = read_bool(r);
    uint16_t conf_len = fl_read_u16(r);
    const uint8_t *conf = fl_read_bytes(r, conf_len);
    if (r->err)
        return;
    int rc = fl_raft_conf_decode(conf, conf_len, &s->meta.conf);
    if (rc) {
        fl_reader_fail(r, rc == FL_ETRUNC ? FL_ECORRUPT : rc); /* conf_len said how long */
        return;
    }
    s->len = fl_read_u32(r);
    s->data = fl_read_bytes(r, s->len);
    if (!s->len)
        s->data = NULL;
}

static void decode_snapshot_resp(fl_reader *r, fl_raft_snapshot_resp *a)
{
    a->index = fl_read_u64(r);
    a->next_offset = fl_read_u64(r);
    a->done = read_bool(r);
    a->ctx = fl_read_u64(r);
}

int fl_wire_raft_decode(const uint8_t *bytes, size_t len, fl_raft_msg *m,
                        fl_raft_entry *entries_buf, uint32_t entries_max)
{
    memset(m, 0, sizeof(*m));
    if (len > FL_WIRE_MSG_BYTES_MAX)
        return FL_ETOOBIG;
    if (len < HEADER_BYTES)
        return FL_ETRUNC;
    fl_reader r;
    fl_reader_init(&r, bytes, len);
    if (fl_read_u8(&r) != FL_WIRE_VERSION)
        return FL_EVERSION;
    m->type = fl_read_u8(&r);
    uint16_t flags = fl_read_u16(&r);
    m->from = fl_read_u32(&r);
    m->to = fl_read_u32(&r);
    m->term = fl_read_u64(&r);
    if (flags & ~FLAG_TRANSFER)
        return FL_ECORRUPT;
    switch (m->type) {
    case FL_RAFT_MSG_VOTE:
    case FL_RAFT_MSG_PRE_VOTE:
        m->u.vote.last_index = fl_read_u64(&r);
        m->u.vote.last_term = fl_read_u64(&r);
        m->u.vote.transfer = (flags & FLAG_TRANSFER) != 0;
        break;
    case FL_RAFT_MSG_VOTE_RESP:
    case FL_RAFT_MSG_PRE_VOTE_RESP:
        m->u.vote_resp.granted = read_bool(&r);
        break;
    case FL_RAFT_MSG_APPEND:
        decode_append(&r, &m->u.append, entries_buf, entries_max);
        break;
    case FL_RAFT_MSG_APPEND_RESP:
        decode_append_resp(&r, &m->u.append_resp);
        break;
    case FL_RAFT_MSG_TIMEOUT_NOW:
        break;
    case FL_RAFT_MSG_SNAPSHOT:
        decode_snapshot(&r, &m->u.snapshot);
        break;
    case FL_RAFT_MSG_SNAPSHOT_RESP:
        decode_snapshot_resp(&r, &m->u.snapshot_resp);
        break;
    case FL_RAFT_MSG_READ_INDEX:
        m->u.read_index.ctx = fl_read_u64(&r);
        break;
    case FL_RAFT_MSG_READ_INDEX_RESP:
        m->u.read_index.ctx = fl_read_u64(&r);
        m->u.read_index.index = fl_read_u64(&r);
        m->u.read_index.ok = read_bool(&r);
        break;
    default:
        return FL_ETYPE;
    }
    if (flags && m->type != FL_RAFT_MSG_VOTE && m->type != FL_RAFT_MSG_PRE_VOTE)
        return FL_ECORRUPT;
    if (r.err)
        return r.err;
    if (r.pos != len)
        return FL_ECORRUPT; /* trailing bytes */
    return 0;
}
