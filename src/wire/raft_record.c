/* raft_record.c: the durable form of a consensus core's persist request and snapshot
 * checkpoint (raft_record.h), for Raft and Paxos.
 *
 * Little-endian; whatever stores it (WAL, snapshot file) adds its own length and checksum. The
 * first byte says what the record is and which protocol wrote it:
 *
 *     kind 1  a Raft persist request        kind 3  a Paxos persist request
 *     kind 2  a Raft snapshot checkpoint    kind 4  a Paxos snapshot checkpoint
 *
 * Kinds 1 and 2 are the format Raft nodes have always written (a Raft WAL from before Paxos
 * is read as it was); a store refuses records of the other protocol (raft_store.c).
 *
 * A persist request (kinds 1 and 3):
 *
 *     offset size field
 *     0      1    kind
 *     1      1    flags: bit 0 = hard state present; other bits zero
 *     2      8    term (Raft) or promised ballot (Paxos), meaningful with bit 0
 *     10     4    vote (Raft, meaningful with bit 0); Paxos: 0
 *     14     8    first_index: the log is cut to [1, first_index) before appending, >= 1
 *     22     4    n: entries that follow
 *     26     ...  n times: term or ballot u64, type u8, length u32, data (length bytes)
 *
 * Entry types: Raft 1 NORMAL, 2 NOOP, 3 CONFIG; Paxos 0 EMPTY (a gap: ballot 0, length 0),
 * 1 NORMAL (ballot > 0), 2 NOOP (ballot > 0, length 0).
 *
 * A snapshot checkpoint (kinds 2 and 4) holds everything a node needs to restart, so that
 * every record before it can be dropped once it is durable:
 *
 *     offset size field
 *     0      1    kind
 *     1      1    flags = 0
 *     2      8    term (Raft) or promised ballot (Paxos), then 4: vote (Raft; Paxos 0): the
 *                 hard state, always present
 *     14     8    snapshot index (>= 1), then 8: its term (Raft: >= 1 and <= the hard state's
 *                 term; Paxos: 0), 8: size, 4: crc32c of the data, 2: conf_len, conf_len
 *                 bytes: the configuration (raft_conf.h; Paxos: conf_len 0)
 *     ...    size data: the state machine's snapshot
 *     ...    4    n: entries that follow (the log after the snapshot, from index + 1)
 *     ...         n times: term or ballot u64, type u8, length u32, data (length bytes)
 *
 * Replay applies records in order; a record whose first_index would leave a hole in the
 * recovered log is corruption, which the replaying side checks (it knows the log length). A
 * snapshot record replaces everything before it. */
#include "faultline/raft_record.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft_conf.h"

#define KIND_PERSIST      1 /* Raft; Paxos: + PAXOS_KIND_OFFSET */
#define KIND_SNAPSHOT     2
#define PAXOS_KIND_OFFSET 2
#define FLAG_HARD         1
#define RAFT_TYPE_MAX     3 /* CONFIG */
#define PAXOS_TYPE_EMPTY  0
#define PAXOS_TYPE_NOOP   2
#define PAXOS_TYPE_MAX    2

static uint8_t kind_byte(fl_cons_protocol protocol, uint8_t kind)
{
    return (uint8_t)(kind + (protocol == FL_CONS_PAXOS ? PAXOS_KIND_OFFSET : 0));
}

static void put_entries(fl_buf *b, size_t n, const fl_cons_entry *entries)
{
    fl_buf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const fl_cons_entry *e = &entries[i];
        fl_buf_put_u64(b, e->term);
        fl_buf_put_u8(b, e->type);
        fl_buf_put_u32(b, e->len);
        fl_buf_put_bytes(b, e->data, e->len);
    }
}

int fl_raft_record_encode_snapshot(fl_cons_protocol protocol, fl_term term, fl_node_id vote,
                                   const fl_cons_snapshot_meta *m, const uint8_t *data, size_t n,
                                   const fl_cons_entry *entries, fl_buf *b)
{
    fl_buf_put_u8(b, kind_byte(protocol, KIND_SNAPSHOT));
    fl_buf_put_u8(b, 0);
    fl_buf_put_u64(b, term);
    fl_buf_put_u32(b, vote);
    fl_buf_put_u64(b, m->index);
    fl_buf_put_u64(b, m->term);
    fl_buf_put_u64(b, m->size);
    fl_buf_put_u32(b, m->crc);
    if (protocol == FL_CONS_PAXOS) {
        fl_buf_put_u16(b, 0); /* no configuration: the member set is fixed */
    } else {
        fl_buf_put_u16(b, (uint16_t)fl_raft_conf_encoded_size(&m->conf));
        int rc = fl_raft_conf_encode(&m->conf, b);
        if (rc)
            return rc;
    }
    fl_buf_put_bytes(b, data, (size_t)m->size);
    put_entries(b, n, entries);
    return b->err;
}

int fl_raft_record_encode(fl_cons_protocol protocol, const fl_cons_persist *p, fl_buf *b)
{
    fl_buf_put_u8(b, kind_byte(protocol, KIND_PERSIST));
    fl_buf_put_u8(b, p->hard_state ? FLAG_HARD : 0);
    fl_buf_put_u64(b, p->term);
    fl_buf_put_u32(b, p->vote);
    fl_buf_put_u64(b, p->first_index);
    put_entries(b, p->n_entries, p->entries);
    return b->err;
}

/* The configuration: Raft's, or none for Paxos. */
static int decode_conf(fl_raft_record *rec)
{
    fl_reader *rd = &rec->rest;
    uint16_t conf_len = fl_read_u16(rd);
    const uint8_t *conf = fl_read_bytes(rd, conf_len);
    if (rd->err)
        return FL_ECORRUPT;
    if (rec->protocol == FL_CONS_PAXOS) {
        rec->snap.conf = (fl_raft_conf){0};
        return conf_len || rec->snap.term ? FL_ECORRUPT : 0;
    }
    return fl_raft_conf_decode(conf, conf_len, &rec->snap.conf) ? FL_ECORRUPT : 0;
}

static int decode_snapshot(fl_raft_record *rec)
{
    fl_reader *rd = &rec->rest;
    fl_cons_snapshot_meta *m = &rec->snap;
    rec->term = fl_read_u64(rd);
    rec->vote = fl_read_u32(rd);
    rec->hard_state = true;
    m->index = fl_read_u64(rd);
    m->term = fl_read_u64(rd);
    m->size = fl_read_u64(rd);
    m->crc = fl_read_u32(rd);
    if (rd->err || decode_conf(rec))
        return FL_ECORRUPT;
    if (m->size > fl_reader_left(rd))
        return FL_ECORRUPT;
    rec->snap_data = fl_read_bytes(rd, (size_t)m->size);
    rec->n_entries = fl_read_u32(rd);
    rec->first_index = m->index + 1;
    rec->read = 0;
    bool raft = rec->protocol == FL_CONS_RAFT;
    if (rd->err || m->index == 0 || (raft && (m->term == 0 || m->term > rec->term)) ||
        (!raft && rec->vote) || fl_crc32c(0, rec->snap_data, (size_t)m->size) != m->crc)
        return FL_ECORRUPT;
    return 0;
}

int fl_raft_record_decode(const uint8_t *bytes, size_t len, fl_raft_record *rec)
{
    fl_reader_init(&rec->rest, bytes, len);
    uint8_t kind = fl_read_u8(&rec->rest), flags = fl_read_u8(&rec->rest);
    rec->protocol = kind > KIND_SNAPSHOT ? FL_CONS_PAXOS : FL_CONS_RAFT;
    rec->kind = kind > KIND_SNAPSHOT ? (uint8_t)(kind - PAXOS_KIND_OFFSET) : kind;
    rec->snap_data = NULL;
    rec->snap.index = 0;
    if (rec->kind == KIND_SNAPSHOT)
        return flags || rec->rest.err ? FL_ECORRUPT : decode_snapshot(rec);
    rec->term = fl_read_u64(&rec->rest);
    rec->vote = fl_read_u32(&rec->rest);
    rec->first_index = fl_read_u64(&rec->rest);
    rec->n_entries = fl_read_u32(&rec->rest);
    rec->hard_state = (flags & FLAG_HARD) != 0;
    rec->read = 0;
    if (rec->rest.err || rec->kind != KIND_PERSIST || (flags & ~FLAG_HARD) ||
        rec->first_index == 0 || (rec->protocol == FL_CONS_PAXOS && rec->vote))
        return FL_ECORRUPT;
    return 0;
}

/* A Paxos slot: EMPTY holds nothing, a no-op no bytes, and anything accepted has a ballot. */
static bool paxos_entry_valid(const fl_cons_entry *e)
{
    if (e->type > PAXOS_TYPE_MAX)
        return false;
    if (e->type == PAXOS_TYPE_EMPTY)
        return e->ballot == 0 && e->len == 0;
    return e->ballot != 0 && (e->type != PAXOS_TYPE_NOOP || e->len == 0);
}

int fl_raft_record_next(fl_raft_record *rec, fl_cons_entry *e)
{
    if (rec->read == rec->n_entries)
        return fl_reader_left(&rec->rest) ? FL_ECORRUPT : 0;
    fl_reader *rd = &rec->rest;
    e->term = fl_read_u64(rd);
    e->type = fl_read_u8(rd);
    e->len = fl_read_u32(rd);
    e->data = fl_read_bytes(rd, e->len);
    if (rd->err)
        return FL_ECORRUPT;
    if (rec->protocol == FL_CONS_PAXOS ? !paxos_entry_valid(e)
                                       : e->type < 1 || e->type > RAFT_TYPE_MAX)
        return FL_ECORRUPT;
    rec->read++;
    return 1;
}
