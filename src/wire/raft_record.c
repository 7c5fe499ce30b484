/* raft_record.c: the durable form of a Raft persist request (raft_record.h).
 *
 * Little-endian; whatever stores it (WAL, simulated disk) adds its own length and checksum:
 *
 *     offset size field
 *     0      1    kind = 1 (persist request)
 *     1      1    flags: bit 0 = hard state present; other bits zero
 *     2      8    term      (meaningful with bit 0)
 *     10     4    vote      (meaningful with bit 0)
 *     14     8    first_index: the log is cut to [1, first_index) before appending, >= 1
 *     22     4    n: entries that follow
 *     26     ...  n times: term u64, type u8 (1..3), length u32, data (length bytes)
 *
 * A snapshot checkpoint (kind 2) holds everything a node needs to restart, so that every
 * record before it can be dropped once it is durable:
 *
 *     offset size field
 *     0      1    kind = 2 (snapshot)
 *     1      1    flags = 0
 *     2      8    term, then 4: vote (hard state, always present)
 *     14     8    snapshot index (>= 1), then 8: its term (>= 1), 8: size, 4: crc32c of
 *                 the data, 2: conf_len, conf_len bytes: the configuration (raft_conf.h)
 *     ...    size data: the state machine's snapshot
 *     ...    4    n: entries that follow (the log after the snapshot, from index + 1)
 *     ...         n times: term u64, type u8 (1..3), length u32, data (length bytes)
 *
 * Replay applies records in order; a record whose first_index would leave a hole in the
 * recovered log is corruption, which the replaying side checks (it knows the log length). A
 * snapshot record replaces everything before it. */
#include "faultline/raft_record.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft_conf.h"

#define KIND_PERSIST  1
#define KIND_SNAPSHOT 2
#define FLAG_HARD     1

static void put_entries(fl_buf *b, size_t n, const fl_raft_entry *entries)
{
    fl_buf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const fl_raft_entry *e = &entries[i];
        fl_buf_put_u64(b, e->term);
        fl_buf_put_u8(b, e->type);
        fl_buf_put_u32(b, e->len);
        fl_buf_put_bytes(b, e->data, e->len);
    }
}

int fl_raft_record_encode_snapshot_head(fl_term term, fl_node_id vote,
                                        const fl_raft_snapshot_meta *m, fl_buf *b)
{
    fl_buf_put_u8(b, KIND_SNAPSHOT);
    fl_buf_put_u8(b, 0);
    fl_buf_put_u64(b, term);
    fl_buf_put_u32(b, vote);
    fl_buf_put_u64(b, m->index);
    fl_buf_put_u64(b, m->term);
    fl_buf_put_u64(b, m->size);
    fl_buf_put_u32(b, m->crc);
    fl_buf_put_u16(b, (uint16_t)fl_raft_conf_encoded_size(&m->conf));
    int rc = fl_raft_conf_encode(&m->conf, b);
    return rc ? rc : b->err;
}

int fl_raft_record_encode_snapshot_tail(size_t n, const fl_raft_entry *entries, fl_buf *b)
{
    put_entries(b, n, entries);
    return b->err;
}

int fl_raft_record_encode_snapshot(fl_term term, fl_node_id vote, const fl_raft_snapshot_meta *m,
                                   const uint8_t *data, size_t n, const fl_raft_entry *entries,
                                   fl_buf *b)
{
    int rc = fl_raft_record_encode_snapshot_head(term, vote, m, b);
    if (rc)
        return rc;
    fl_buf_put_bytes(b, data, (size_t)m->size);
    return fl_raft_record_encode_snapshot_tail(n, entries, b);
}

int fl_raft_record_encode(const fl_raft_update *up, fl_buf *b)
{
    fl_buf_put_u8(b, KIND_PERSIST);
    fl_buf_put_u8(b, up->persist.hard_state ? FLAG_HARD : 0);
    fl_buf_put_u64(b, up->persist.term);
    fl_buf_put_u32(b, up->persist.vote);
    fl_buf_put_u64(b, up->persist.first_index);
    put_entries(b, up->persist.n_entries, up->persist.entries);
    return b->err;
}

static int decode_snapshot(fl_raft_record *rec)
{
    fl_reader *rd = &rec->rest;
    fl_raft_snapshot_meta *m = &rec->snap;
    rec->term = fl_read_u64(rd);
    rec->vote = fl_read_u32(rd);
    rec->hard_state = true;
    m->index = fl_read_u64(rd);
    m->term = fl_read_u64(rd);
    m->size = fl_read_u64(rd);
    m->crc = fl_read_u32(rd);
    uint16_t conf_len = fl_read_u16(rd);
    const uint8_t *conf = fl_read_bytes(rd, conf_len);
    if (rd->err || fl_raft_conf_decode(conf, conf_len, &m->conf))
        return FL_ECORRUPT;
    if (m->size > fl_reader_left(rd))
        return FL_ECORRUPT;
    rec->snap_data = fl_read_bytes(rd, (size_t)m->size);
    rec->n_entries = fl_read_u32(rd);
    rec->first_index = m->index + 1;
    rec->read = 0;
    if (rd->err || m->index == 0 || m->term == 0 || m->term > rec->term ||
        fl_crc32c(0, rec->snap_data, (size_t)m->size) != m->crc)
        return FL_ECORRUPT;
    return 0;
}

int fl_raft_record_decode(const uint8_t *bytes, size_t len, fl_raft_record *rec)
{
    fl_reader_init(&rec->rest, bytes, len);
    uint8_t kind = fl_read_u8(&rec->rest), flags = fl_read_u8(&rec->rest);
    rec->kind = kind;
    rec->snap_data = NULL;
    rec->snap.index = 0;
    if (kind == KIND_SNAPSHOT)
        return flags || rec->rest.err ? FL_ECORRUPT : decode_snapshot(rec);
    rec->term = fl_read_u64(&rec->rest);
    rec->vote = fl_read_u32(&rec->rest);
    rec->first_index = fl_read_u64(&rec->rest);
    rec->n_entries = fl_read_u32(&rec->rest);
    rec->hard_state = (flags & FLAG_HARD) != 0;
    rec->read = 0;
    if (rec->rest.err || kind != KIND_PERSIST || (flags & ~FLAG_HARD) || rec->first_index == 0)
        return FL_ECORRUPT;
    return 0;
}

int fl_raft_record_next(fl_raft_record *rec, fl_raft_entry *e)
{
    if (rec->read == rec->n_entries)
        return fl_reader_left(&rec->rest) ? FL_ECORRUPT : 0;
    fl_reader *rd = &rec->rest;
    e->term = fl_read_u64(rd);
    e->type = fl_read_u8(rd);
    e->len = fl_read_u32(rd);
    e->data = fl_read_bytes(rd, e->len);
    if (rd->err || e->type < FL_RAFT_ENTRY_NORMAL || e->type > FL_RAFT_ENTRY_CONFIG)
        return FL_ECORRUPT;
    rec->read++;
    return 1;
}
