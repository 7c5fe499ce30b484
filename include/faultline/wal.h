/* wal.h: a segmented write-ahead log of opaque records, with CRC32C-checked recovery and
 * group commit.
 *
 * Records get consecutive sequence numbers (seq), starting at 1 in a new log. The layer
 * above gives records their meaning: the Raft runtime writes entries, hard state and
 * "discard entries after index i" records; on recovery it replays them in order, so a
 * suffix truncation is itself a record and the WAL never rewrites what it has written
 * (docs/wal.md explains why). Old records are reclaimed by deleting whole segments.
 *
 * Durability: fl_wal_append only buffers; a record is durable once fl_wal_sync (one write
 * and one fdatasync for everything appended since the last sync: group commit) returns 0,
 * and fl_wal_synced_seq() says up to which seq that is.
 *
 * Failure: a failed write or fdatasync latches a sticky error. Every later call returns it;
 * the caller must stop the node and recover by reopening the directory (after a failed
 * fsync the kernel may have dropped the dirty pages, so retrying could report success for
 * data that is gone).
 *
 * Recovery (fl_wal_open) verifies every record of every segment. Damage at the tail of the
 * last segment (a partial or checksum-failing record with no valid record after it: a torn
 * write) is truncated away; any other damage refuses to open, with the file name and byte
 * offset in the message. The on-disk format is specified byte by byte in src/storage/wal.c. */
#ifndef FAULTLINE_WAL_H
#define FAULTLINE_WAL_H

#include "faultline/buf.h"
#include "faultline/errmsg.h"
#include "faultline/fs.h"
#include "faultline/types.h"

#define FL_WAL_RECORD_LEN_LIMIT ((uint32_t)64 << 20) /* format limit on a record's payload */

/* Test hooks: countdowns (N > 0 arms "the Nth operation from now"; 1 = the next one). The
 * WAL decrements them as it goes; a fired hook resets itself to 0. Never set in production:
 * leave fl_wal_config.faults NULL. */
typedef struct fl_wal_faults {
    uint32_t fsync_fail_after; /* the Nth fdatasync fails with EIO (not performed) */
    uint32_t tear_after;       /* the Nth write() writes only tear_keep_bytes, then fails */
    size_t tear_keep_bytes;
    uint64_t corrupt_seq;    /* if != 0: the record with this seq is written with one byte */
    uint32_t corrupt_offset; /* (offset within the record, header included) flipped, after
                                its CRC was computed */
} fl_wal_faults;

/* Planted bugs (docs/mutants.md), off unless set in fl_wal_config.mutants. */
#define FL_WAL_MUTANT_ZERO_HEADER_ENDS                                                             \
    1u /* recovery: a zeroed record header ends the records, whatever follows it (a zeroed         \
          sector before synced records would silently cut them) */

typedef struct fl_wal_config {
    uint64_t segment_size_max; /* rotate before a record would pass it (default 64 MiB); a
                                  segment always takes at least one record */
    uint32_t record_size_max;  /* payload bytes per record (default 4 MiB, <= LEN_LIMIT) */
    size_t buffer_size_max;    /* appended bytes buffered before a write (default 1 MiB) */
    size_t segments_max;       /* segment files in the directory (default 1 << 16) */
    fl_wal_faults *faults;     /* test hooks or NULL; caller-owned, may be changed any time */
    uint32_t mutants;          /* FL_WAL_MUTANT_ bits: planted bugs for tests; 0 otherwise */
    uint64_t prefill; /* zeroed bytes fl_wal_prefill keeps ahead of the write position, so a
                         sync flushes data pages only (0: none; docs/wal.md) */
} fl_wal_config;

typedef struct fl_wal_segment {
    uint64_t first_seq; /* seq of its first record (also in its file name) */
    uint64_t segno;     /* 1, 2, 3...: segment number, +1 per rotation */
} fl_wal_segment;

typedef struct fl_wal_stats {
    uint64_t appends;
    uint64_t writes; /* write() calls */
    uint64_t fsyncs; /* fdatasync() calls on segments */
    uint64_t bytes;  /* bytes written to segments */
    uint64_t rotations;
    uint64_t recovered_records;
    uint64_t truncated_bytes; /* torn tail removed at open */
    /* segments below a missing one deleted by fl_wal_finish_deletes: a deletion a crash
     * interrupted */
    uint64_t unfinished_deletes;
    uint64_t prefills;      /* fl_wal_prefill calls that wrote zeros */
    uint64_t prefill_bytes; /* zeros they wrote */
} fl_wal_stats;

struct fl_fs_posix;

typedef struct fl_wal {
    char dir[512];              /* where the files are, for messages */
    fl_fs *fs;                  /* the directory's files */
    struct fl_fs_posix *own_fs; /* opened by fl_wal_open (a path), closed by fl_wal_close */
    int fd;                     /* the last segment, open for writing */
    fl_wal_config cfg;
    fl_wal_segment *segs; /* oldest first; segs_count >= 1 once open */
    size_t segs_count;
    size_t segs_cap;
    uint64_t file_size; /* where the next record goes in the last segment */
    uint64_t file_len;  /* the last segment's length: [file_size, file_len) holds zeros */
    fl_buf pending;     /* encoded records not yet written */
    uint64_t next_seq;  /* seq the next append gets */
    uint64_t synced_seq;
    int err; /* sticky: once set, every call returns it */
    fl_errmsg msg;
    fl_wal_stats stats;
    /* first seqs (file names) of the segments open found below a missing one, left on disk
     * until fl_wal_finish_deletes; not part of the log */
    uint64_t *set_aside;
    size_t set_aside_count;
} fl_wal;

/* Opens (creating a first segment if there is none) and recovers the log in fs's directory
 * (segments below a missing one are a deletion a crash interrupted: set aside, left out of
 * the log but not deleted, so that a caller whose log must reach further back can refuse to
 * start with every file as it was; fl_wal_finish_deletes deletes them once it has checked);
 * fs stays the caller's and must outlive w. On failure returns FL_ECORRUPT (damage outside
 * the tail), FL_EVERSION, FL_EIO, FL_ENOMEM or FL_ECONFIG, with the reason in
 * fl_wal_errmsg(w); w needs no close. */
int fl_wal_open_fs(fl_wal *w, fl_fs *fs, const fl_wal_config *cfg);
/* The same on the real directory dir (created if missing, one level), holding an exclusive
 * flock on it until close: FL_EBUSY when another open holds it. */
int fl_wal_open(fl_wal *w, const char *dir, const fl_wal_config *cfg);
/* Deletes the segments open set aside (below a missing one), then syncs the directory: the
 * caller has checked that its log starts early enough without them. Counted in
 * stats.unfinished_deletes. Returns 0, or FL_EIO (sticky) with the reason in fl_wal_errmsg. */
int fl_wal_finish_deletes(fl_wal *w);
/* Closes files and frees memory. Does not sync: records appended since the last successful
 * fl_wal_sync may or may not survive (as in a crash). */
void fl_wal_close(fl_wal *w);
const char *fl_wal_errmsg(const fl_wal *w);

/* Appends a record (copied; len <= record_size_max) to the buffer, rotating to a new
 * segment first if it would pass segment_size_max. *seq (if not NULL) receives its seq.
 * Returns 0, FL_ETOOBIG (record too big, not sticky) or the sticky error. */
int fl_wal_append(fl_wal *w, const void *data, size_t len, uint64_t *seq);
/* Writes buffered records and fdatasyncs the last segment: afterwards every record
 * appended so far is durable. Returns 0 or the sticky error (FL_EIO). */
int fl_wal_sync(fl_wal *w);
/* Preallocation: writes the buffered records, then, when fewer than cfg.prefill / 2 zeroed
 * bytes lie ahead of the write position, zeros up to cfg.prefill ahead (never past
 * segment_size_max), not synced: call fl_wal_sync next, whose fdatasync covers both. Later
 * records then overwrite allocated, zeroed blocks and their fdatasync has no file size or
 * extent to record. Slow (a write of up to cfg.prefill bytes): call it off the event loop
 * (raft_store's sync job does). Returns 0 or the sticky error; a failed write latches. Without
 * it (or when appends outrun it) records extend the file, as they always did. */
int fl_wal_prefill(fl_wal *w);
/* Whether fl_wal_prefill, called now, would write zeros (else it only writes the buffered
 * records): a caller that wants a short sync tells the two apart before it starts one. */
bool fl_wal_prefill_due(const fl_wal *w);
/* Deletes whole segments all of whose records have seq < seq (never the last segment), for
 * compaction after a snapshot. *deleted (if not NULL) gets the number of files removed.
 * Returns 0, FL_EIO (an unlink failed: nothing after it was deleted; not sticky) or the
 * sticky error. */
int fl_wal_delete_before(fl_wal *w, uint64_t seq, size_t *deleted);

/* Drops every record (all obsolete: a snapshot holds them) and continues with an empty
 * segment whose first record will be next_seq (> the last seq), so that no seq is ever
 * handed out twice. Crash-safe: the segments go oldest first, and a log found still behind
 * next_seq is restarted again. Only right after open (nothing appended). Returns 0 or the
 * sticky error. */
int fl_wal_restart_at(fl_wal *w, uint64_t next_seq);
uint64_t fl_wal_first_seq(const fl_wal *w);  /* oldest record kept; == next if empty */
uint64_t fl_wal_last_seq(const fl_wal *w);   /* newest record appended; first - 1 if empty */
uint64_t fl_wal_synced_seq(const fl_wal *w); /* newest record known durable */

typedef struct fl_wal_record {
    uint64_t seq;
    const uint8_t *data; /* valid until the next fl_wal_iter_next / close */
    uint32_t len;
} fl_wal_record;

typedef struct fl_wal_iter {
    fl_wal *w;
    size_t seg;         /* index into w->segs of the mapped segment */
    fl_fs_view view;    /* the segment's bytes */
    const uint8_t *map; /* view.data, or NULL */
    size_t map_len;
    size_t off; /* next record's offset in the map */
    uint64_t next_seq;
    uint64_t from_seq; /* records before it are skipped */
    uint64_t last_seq; /* stop after this one */
} fl_wal_iter;

/* Iterates records from seq from_seq (or the first kept, if older) to the last appended.
 * Buffered records are written (not synced) first. Records are verified again as they are
 * read. Typical use: right after open, to replay. Returns 0 or an error. */
int fl_wal_iter_init(fl_wal *w, fl_wal_iter *it, uint64_t from_seq);
/* Returns 1 with *rec set, 0 at the end, or a negative error (FL_ECORRUPT: the file changed
 * under the log; FL_EIO). */
int fl_wal_iter_next(fl_wal_iter *it, fl_wal_record *rec);
void fl_wal_iter_close(fl_wal_iter *it);

#endif
