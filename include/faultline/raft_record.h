/* raft_record.h: the one durable form of a Raft persist request, written and replayed by the
 * Raft store (storage/raft_store.c), in the server and the simulator alike. Format in
 * src/wire/raft_record.c. Decoding untrusted bytes returns an error, never asserts. */
#ifndef FAULTLINE_RAFT_RECORD_H
#define FAULTLINE_RAFT_RECORD_H

#include "faultline/buf.h"
#include "faultline/raft.h"

/* A decoded record header; its entries are read one by one with fl_raft_record_next. */
typedef struct fl_raft_record {
    uint8_t kind; /* 1: a persist request; 2: a snapshot checkpoint (snap, snap_data set) */
    bool hard_state;
    fl_term term;
    fl_node_id vote;
    fl_index first_index; /* the log is cut to [1, first_index) before the entries */
    uint32_t n_entries;
    uint32_t read;              /* entries read so far */
    fl_reader rest;             /* the entries' bytes */
    fl_raft_snapshot_meta snap; /* kind 2: the snapshot; index 0 otherwise */
    const uint8_t *snap_data;   /* kind 2: its snap.size bytes (checksum verified) */
} fl_raft_record;

/* Appends the record for up's persist request (up->persist.seq != 0) to out. Returns
 * out->err. */
int fl_raft_record_encode(const fl_raft_update *up, fl_buf *out);
/* Appends a snapshot checkpoint: hard state, the snapshot (meta and data) and the n log entries
 * that follow it (indexes meta->index + 1 ...). Replay drops every record before it. Returns
 * out->err or FL_EINVAL for a bad configuration. */
int fl_raft_record_encode_snapshot(fl_term term, fl_node_id vote, const fl_raft_snapshot_meta *meta,
                                   const uint8_t *data, size_t n, const fl_raft_entry *entries,
                                   fl_buf *out);
/* The same in three pieces, for a writer that does not copy the data: head (everything before
 * the data) + the meta->size bytes of data + tail (the entries). Each appends to out and
 * returns out->err (head: or FL_EINVAL for a bad configuration). */
int fl_raft_record_encode_snapshot_head(fl_term term, fl_node_id vote,
                                        const fl_raft_snapshot_meta *meta, fl_buf *out);
int fl_raft_record_encode_snapshot_tail(size_t n, const fl_raft_entry *entries, fl_buf *out);
/* Decodes the header of the record in bytes[0..len) (of either kind). Returns 0 or
 * FL_ECORRUPT (unknown kind, first index 0, truncated, a snapshot whose data fails its
 * checksum). The record keeps pointing into bytes. */
int fl_raft_record_decode(const uint8_t *bytes, size_t len, fl_raft_record *rec);
/* The next entry (its data points into the record's bytes). Returns 1 with *e set, 0 after
 * the last one (FL_ECORRUPT if bytes are left over), or FL_ECORRUPT. */
int fl_raft_record_next(fl_raft_record *rec, fl_raft_entry *e);

#endif
