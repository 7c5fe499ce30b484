/* raft_record.h: the one durable form of a consensus core's persist request and snapshot
 * checkpoint, written and replayed by the store (storage/raft_store.c), in the server and the
 * simulator alike, for Raft and for Paxos (each record says which; a store refuses the other
 * protocol's). Named for Raft, its first user. Format, byte by byte, in
 * src/wire/raft_record.c. Decoding untrusted bytes returns an error, never asserts. */
#ifndef FAULTLINE_RAFT_RECORD_H
#define FAULTLINE_RAFT_RECORD_H

#include "faultline/buf.h"
#include "faultline/cons_types.h"

/* A decoded record header; its entries are read one by one with fl_raft_record_next. */
typedef struct fl_raft_record {
    uint8_t kind; /* 1: a persist request; 2: a snapshot checkpoint (snap, snap_data set) */
    fl_cons_protocol protocol;
    bool hard_state;
    fl_term term; /* Raft: term; Paxos: the promised ballot */
    fl_node_id vote;
    fl_index first_index; /* the log is cut to [1, first_index) before the entries */
    uint32_t n_entries;
    uint32_t read;              /* entries read so far */
    fl_reader rest;             /* the entries' bytes */
    fl_cons_snapshot_meta snap; /* kind 2: the snapshot; index 0 otherwise */
    const uint8_t *snap_data;   /* kind 2: its snap.size bytes (checksum verified) */
} fl_raft_record;

/* Appends the record for persist request p (p->seq != 0) of a node running protocol to out.
 * Returns out->err. */
int fl_raft_record_encode(fl_cons_protocol protocol, const fl_cons_persist *p, fl_buf *out);
/* Appends a snapshot checkpoint: hard state, the snapshot (meta and data) and the n log entries
 * that follow it (indexes meta->index + 1 ...). Replay drops every record before it. Returns
 * out->err or FL_EINVAL for a bad configuration. */
int fl_raft_record_encode_snapshot(fl_cons_protocol protocol, fl_term term, fl_node_id vote,
                                   const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                                   const fl_cons_entry *entries, fl_buf *out);
/* Decodes the header of the record in bytes[0..len) (of either kind and protocol). Returns 0
 * or FL_ECORRUPT (unknown kind, first index 0, truncated, a snapshot whose data fails its
 * checksum, a field the protocol does not have). The record keeps pointing into bytes. */
int fl_raft_record_decode(const uint8_t *bytes, size_t len, fl_raft_record *rec);
/* The next entry (its data points into the record's bytes). Returns 1 with *e set, 0 after
 * the last one (FL_ECORRUPT if bytes are left over), or FL_ECORRUPT (an entry type the
 * protocol does not have; a Paxos EMPTY slot with a ballot or bytes, a no-op with bytes, any
 * other slot without a ballot). */
int fl_raft_record_next(fl_raft_record *rec, fl_cons_entry *e);

#endif
