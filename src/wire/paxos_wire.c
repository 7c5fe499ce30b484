/* paxos_wire.c: Multi-Paxos messages to bytes and back.
 *
 * All integers are little-endian. Every message starts with a 20-byte header:
 *
 *     offset size field
 *     0      1    magic 0x50 ('P'; a Raft message starts with its version, 1)
 *     1      1    version (FL_PAXOS_WIRE_VERSION = 1)
 *     2      1    type (fl_paxos_msg_type, 1..6)
 *     3      1    flags: bit 0 ok (PROMISE, ACCEPTED), bit 1 done (SNAPSHOT, SNAPSHOT_RESP);
 *                 any other bit, or a bit on another type, is an error
 *     4      4    from (node id)
 *     8      4    to (node id)
 *     12     8    ballot (round << 16 | proposer id)
 *
 * followed by a body that depends on the type:
 *
 *     PREPARE        from u64                                                     (8 bytes)
 *     PROMISE        promised u64, from u64, first u64, last u64, commit u64, n u32, then n
 *                    slots (from, from + 1, ...):
 *                      ballot u64, type u8 (0 empty, 1 normal, 2 no-op), len u32, data[len]
 *                    an empty slot has ballot 0 and len 0, a no-op len 0, any other ballot > 0
 *                    (44 bytes + slots)
 *     ACCEPT         first u64, commit u64, ctx u64, n u32, then n slots (first, ...):
 *                      type u8 (0 empty, 1 normal, 2 no-op), len u32, data[len]
 *                    (the ballot of each is the message's; empty and no-op have len 0)
 *                    (28 bytes + slots)
 *     ACCEPTED       promised u64, first u64, last u64, match u64, ctx u64        (40 bytes)
 *     SNAPSHOT       index u64, size u64, crc u32, offset u64, ctx u64, len u32, data[len]
 *                    (40 bytes + data)
 *     SNAPSHOT_RESP  index u64, next_offset u64, ctx u64                          (24 bytes)
 *
 * A message ends exactly where its body ends; trailing bytes are an error. Decoding never
 * trusts a length before checking it against the bytes left (fl_reader). */
#include "faultline/paxos_wire.h"

#include "faultline/error.h"
#include "faultline/wire.h"

#include <string.h>

#define HEADER_BYTES 20
#define FLAG_OK      1u
#define FLAG_DONE    2u

static uint8_t flags_of(const fl_paxos_msg *m)
{
    switch (m->type) {
    case FL_PAXOS_MSG_PROMISE:
        return m->u.promise.ok ? FLAG_OK : 0;
    case FL_PAXOS_MSG_ACCEPTED:
        return m->u.accepted.ok ? FLAG_OK : 0;
    case FL_PAXOS_MSG_SNAPSHOT:
        return m->u.snapshot.done ? FLAG_DONE : 0;
    case FL_PAXOS_MSG_SNAPSHOT_RESP:
        return m->u.snapshot_resp.done ? FLAG_DONE : 0;
    default:
        return 0;
    }
}

/* The flags a type may carry. */
static uint8_t flags_allowed(uint8_t type)
{
    if (type == FL_PAXOS_MSG_PROMISE || type == FL_PAXOS_MSG_ACCEPTED)
        return FLAG_OK;
    if (type == FL_PAXOS_MSG_SNAPSHOT || type == FL_PAXOS_MSG_SNAPSHOT_RESP)
        return FLAG_DONE;
    return 0;
}

static int encode_entries(const fl_paxos_entry *e, uint32_t n, bool ballots, fl_buf *out)
{
    if (n > FL_WIRE_ENTRIES_MAX || (n && !e))
        return FL_EINVAL;
    fl_buf_put_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].len && !e[i].data)
            return FL_EINVAL;
        if (ballots)
            fl_buf_put_u64(out, e[i].ballot);
        fl_buf_put_u8(out, e[i].type);
        fl_buf_put_u32(out, e[i].len);
        fl_buf_put_bytes(out, e[i].data, e[i].len);
    }
    return 0;
}

static int encode_body(const fl_paxos_msg *m, fl_buf *out)
{
    const fl_paxos_promise *pr = &m->u.promise;
    const fl_paxos_accept *ac = &m->u.accept;
    const fl_paxos_accepted *ad = &m->u.accepted;
    const fl_paxos_snapshot *sn = &m->u.snapshot;
    const fl_paxos_snapshot_resp *sr = &m->u.snapshot_resp;
    switch (m->type) {
    case FL_PAXOS_MSG_PREPARE:
        fl_buf_put_u64(out, m->u.prepare.from);
        return 0;
    case FL_PAXOS_MSG_PROMISE:
        fl_buf_put_u64(out, pr->promised);
        fl_buf_put_u64(out, pr->from);
        fl_buf_put_u64(out, pr->first);
        fl_buf_put_u64(out, pr->last);
        fl_buf_put_u64(out, pr->commit);
        return encode_entries(pr->entries, pr->n_entries, true, out);
    case FL_PAXOS_MSG_ACCEPT:
        fl_buf_put_u64(out, ac->first);
        fl_buf_put_u64(out, ac->commit);
        fl_buf_put_u64(out, ac->ctx);
        return encode_entries(ac->entries, ac->n_entries, false, out);
    case FL_PAXOS_MSG_ACCEPTED:
        fl_buf_put_u64(out, ad->promised);
        fl_buf_put_u64(out, ad->first);
        fl_buf_put_u64(out, ad->last);
        fl_buf_put_u64(out, ad->match);
        fl_buf_put_u64(out, ad->ctx);
        return 0;
    case FL_PAXOS_MSG_SNAPSHOT:
        if (sn->len && !sn->data)
            return FL_EINVAL; /* the environment did not fill the chunk (paxos.h) */
        fl_buf_put_u64(out, sn->meta.index);
        fl_buf_put_u64(out, sn->meta.size);
        fl_buf_put_u32(out, sn->meta.crc);
        fl_buf_put_u64(out, sn->offset);
        fl_buf_put_u64(out, sn->ctx);
        fl_buf_put_u32(out, sn->len);
        fl_buf_put_bytes(out, sn->data, sn->len);
        return 0;
    case FL_PAXOS_MSG_SNAPSHOT_RESP:
        fl_buf_put_u64(out, sr->index);
        fl_buf_put_u64(out, sr->next_offset);
        fl_buf_put_u64(out, sr->ctx);
        return 0;
    default:
        return FL_EINVAL;
    }
}

int fl_wire_paxos_encode(const fl_paxos_msg *m, fl_buf *out)
{
    size_t start = out->len;
    fl_buf_put_u8(out, FL_PAXOS_WIRE_MAGIC);
    fl_buf_put_u8(out, FL_PAXOS_WIRE_VERSION);
    fl_buf_put_u8(out, m->type);
    fl_buf_put_u8(out, flags_of(m));
    fl_buf_put_u32(out, m->from);
    fl_buf_put_u32(out, m->to);
    fl_buf_put_u64(out, m->ballot);
    int rc = encode_body(m, out);
    if (!rc && !out->err && out->len - start > FL_WIRE_MSG_BYTES_MAX)
        rc = FL_ETOOBIG;
    if (rc || out->err) {
        if (!out->err)
            out->len = start; /* leave the buffer as it was */
        return rc ? rc : out->err;
    }
    return 0;
}

/* n slots into buf; ballots: each carries its own (PROMISE), else the message's (ACCEPT). */
static void decode_entries(fl_reader *r, fl_term msg_ballot, bool ballots, fl_paxos_entry *buf,
                           uint32_t max, uint32_t *n_out, const fl_paxos_entry **out)
{
    uint32_t n = fl_read_u32(r);
    if (r->err)
        return;
    if (n > max || n > FL_WIRE_ENTRIES_MAX) {
        fl_reader_fail(r, FL_ETOOBIG);
        return;
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        fl_paxos_entry *e = &buf[i];
        e->ballot = ballots ? fl_read_u64(r) : msg_ballot;
        e->type = fl_read_u8(r);
        e->len = fl_read_u32(r);
        if (r->err)
            return;
        bool empty = e->type == FL_PAXOS_ENTRY_EMPTY;
        if (!ballots && empty)
            e->ballot = 0;
        if (e->type > FL_PAXOS_ENTRY_TYPE_MAX || (e->type != FL_PAXOS_ENTRY_NORMAL && e->len) ||
            (ballots && empty != (e->ballot == 0))) {
            fl_reader_fail(r, FL_ECORRUPT);
            return;
        }
        e->data = e->len ? fl_read_bytes(r, e->len) : NULL;
    }
    *n_out = n;
    *out = n ? buf : NULL;
}

static void decode_body(fl_reader *r, fl_paxos_msg *m, fl_paxos_entry *buf, uint32_t max)
{
    fl_paxos_promise *pr = &m->u.promise;
    fl_paxos_accept *ac = &m->u.accept;
    fl_paxos_accepted *ad = &m->u.accepted;
    fl_paxos_snapshot *sn = &m->u.snapshot;
    fl_paxos_snapshot_resp *sr = &m->u.snapshot_resp;
    switch (m->type) {
    case FL_PAXOS_MSG_PREPARE:
        m->u.prepare.from = fl_read_u64(r);
        break;
    case FL_PAXOS_MSG_PROMISE:
        pr->promised = fl_read_u64(r);
        pr->from = fl_read_u64(r);
        pr->first = fl_read_u64(r);
        pr->last = fl_read_u64(r);
        pr->commit = fl_read_u64(r);
        decode_entries(r, m->ballot, true, buf, max, &pr->n_entries, &pr->entries);
        break;
    case FL_PAXOS_MSG_ACCEPT:
        ac->first = fl_read_u64(r);
        ac->commit = fl_read_u64(r);
        ac->ctx = fl_read_u64(r);
        decode_entries(r, m->ballot, false, buf, max, &ac->n_entries, &ac->entries);
        break;
    case FL_PAXOS_MSG_ACCEPTED:
        ad->promised = fl_read_u64(r);
        ad->first = fl_read_u64(r);
        ad->last = fl_read_u64(r);
        ad->match = fl_read_u64(r);
        ad->ctx = fl_read_u64(r);
        break;
    case FL_PAXOS_MSG_SNAPSHOT:
        sn->meta.index = fl_read_u64(r);
        sn->meta.size = fl_read_u64(r);
        sn->meta.crc = fl_read_u32(r);
        sn->offset = fl_read_u64(r);
        sn->ctx = fl_read_u64(r);
        sn->len = fl_read_u32(r);
        sn->data = sn->len ? fl_read_bytes(r, sn->len) : NULL;
        break;
    case FL_PAXOS_MSG_SNAPSHOT_RESP:
        sr->index = fl_read_u64(r);
        sr->next_offset = fl_read_u64(r);
        sr->ctx = fl_read_u64(r);
        break;
    }
}

static void set_flags(fl_paxos_msg *m, uint8_t flags)
{
    bool ok = (flags & FLAG_OK) != 0, done = (flags & FLAG_DONE) != 0;
    if (m->type == FL_PAXOS_MSG_PROMISE)
        m->u.promise.ok = ok;
    else if (m->type == FL_PAXOS_MSG_ACCEPTED)
        m->u.accepted.ok = ok;
    else if (m->type == FL_PAXOS_MSG_SNAPSHOT)
        m->u.snapshot.done = done;
    else if (m->type == FL_PAXOS_MSG_SNAPSHOT_RESP)
        m->u.snapshot_resp.done = done;
}

int fl_wire_paxos_decode(const uint8_t *bytes, size_t len, fl_paxos_msg *m,
                         fl_paxos_entry *entries_buf, uint32_t entries_max)
{
    memset(m, 0, sizeof(*m));
    if (len > FL_WIRE_MSG_BYTES_MAX)
        return FL_ETOOBIG;
    if (len < HEADER_BYTES)
        return FL_ETRUNC;
    fl_reader r;
    fl_reader_init(&r, bytes, len);
    uint8_t magic = fl_read_u8(&r), version = fl_read_u8(&r);
    if (magic != FL_PAXOS_WIRE_MAGIC || version != FL_PAXOS_WIRE_VERSION)
        return FL_EVERSION;
    m->type = fl_read_u8(&r);
    uint8_t flags = fl_read_u8(&r);
    m->from = fl_read_u32(&r);
    m->to = fl_read_u32(&r);
    m->ballot = fl_read_u64(&r);
    if (m->type < 1 || m->type > FL_PAXOS_MSG_TYPE_MAX)
        return FL_ETYPE;
    if (flags & ~flags_allowed(m->type))
        return FL_ECORRUPT;
    set_flags(m, flags);
    decode_body(&r, m, entries_buf, entries_max);
    if (r.err)
        return r.err;
    if (r.pos != len)
        return FL_ECORRUPT; /* trailing bytes */
    return 0;
}
