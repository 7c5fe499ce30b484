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
 * Replay applies records in order; a record whose first_index would leave a hole in the
 * recovered log is corruption, which the replaying side checks (it knows the log length). */
#include "faultline/raft_record.h"

#include "faultline/error.h"

#define KIND_PERSIST 1
#define FLAG_HARD    1

int fl_raft_record_encode(const fl_raft_update *up, fl_buf *b)
{
    fl_buf_put_u8(b, KIND_PERSIST);
    fl_buf_put_u8(b, up->persist.hard_state ? FLAG_HARD : 0);
    fl_buf_put_u64(b, up->persist.term);
    fl_buf_put_u32(b, up->persist.vote);
    fl_buf_put_u64(b, up->persist.first_index);
    fl_buf_put_u32(b, (uint32_t)up->persist.n_entries);
    for (size_t i = 0; i < up->persist.n_entries; i++) {
        const fl_raft_entry *e = &up->persist.entries[i];
        fl_buf_put_u64(b, e->term);
        fl_buf_put_u8(b, e->type);
        fl_buf_put_u32(b, e->len);
        fl_buf_put_bytes(b, e->data, e->len);
    }
    return b->err;
}

int fl_raft_record_decode(const uint8_t *bytes, size_t len, fl_raft_record *rec)
{
    fl_reader_init(&rec->rest, bytes, len);
    uint8_t kind = fl_read_u8(&rec->rest), flags = fl_read_u8(&rec->rest);
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
