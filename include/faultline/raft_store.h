/* raft_store.h: a consensus node's durable state (hard state and log) kept in a WAL (wal.h):
 * a Raft node's (term, vote, entries) or a Paxos node's (promised ballot, accepted slots with
 * their ballots, EMPTY gaps). Named for Raft, its first user; a store belongs to one protocol
 * (fl_raft_store_opts.protocol) and refuses a directory the other one wrote.
 *
 * Every persist request (cons_types.h) becomes one WAL record that says "cut the log after
 * first_index - 1, append these entries, and (if flagged) set the hard state", so entries,
 * hard state and truncation are one atomic record. Opening replays every record in order into
 * the recovered state handed to the core. The record format is specified in
 * src/wire/raft_record.c, the snapshot file's in src/storage/raft_store.c.
 *
 * Durability: fl_raft_store_append only buffers; after fl_raft_store_sync returns 0, every
 * appended request is durable and may be reported with FL_RAFT_EV_PERSISTED. A failed sync
 * is sticky (the WAL's): the node must stop.
 *
 * Snapshots: fl_raft_store_save_snapshot (or, off the caller's thread, the next sync job
 * after fl_raft_store_queue_snapshot) writes the file "snapshot" in the WAL's directory
 * atomically (temp file, fsync, rename, fsync of the directory): hard state, the snapshot
 * (metadata and state-machine bytes), the log after it, and the WAL seq of the next request,
 * every record before which it makes obsolete. Then the WAL segments holding only obsolete
 * records are deleted. Opening reads the snapshot file first (checksum verified), then
 * replays the WAL records from that seq on; a record that reaches back before the snapshot
 * only contributes its entries after the snapshot's index.
 *
 * Background sync, for an event loop: fl_raft_store_sync_start hands the write + fdatasync of
 * everything appended so far to a job of the file interface (fs.h: a worker thread for real
 * files; the simulated disk completes it later in virtual time); the loop keeps running
 * (appends made meanwhile are staged in memory, not given to the WAL) until the job is done
 * (real files: fl_raft_store_sync_fd becomes readable; the simulator: FL_FS_JOB_TOKEN), then
 * calls fl_raft_store_sync_finish, which reports the result and moves the staged records into
 * the WAL for the next sync. Only the job touches the WAL while it runs. A loop with nothing
 * else to do may run a short job on its own thread instead (fl_raft_store_sync_inline) and
 * collect it the same way. */
#ifndef FAULTLINE_RAFT_STORE_H
#define FAULTLINE_RAFT_STORE_H

#include "faultline/errmsg.h"
#include "faultline/fs.h"
#include "faultline/cons_types.h"
#include "faultline/wal.h"

/* The largest snapshot file read back (and so the largest snapshot a host stages). */
#define FL_RAFT_STORE_SNAPSHOT_MAX ((size_t)FL_WAL_RECORD_LEN_LIMIT * 4)

/* Zeros kept ahead in the WAL by default: written 1 MiB at a time (once below half), so one
 * sync job in about 1 MiB of log pays for a write of 1 MiB (docs/wal.md). */
#define FL_RAFT_STORE_PREFILL ((uint64_t)2 << 20)

typedef struct fl_raft_store_opts {
    const fl_wal_faults *faults; /* the WAL's test hooks, or NULL */
    uint64_t segment_size_max;   /* 0: the WAL's default */
    uint64_t wal_prefill;      /* zeroed bytes the sync job keeps ahead of the WAL's write position
                                  (fl_wal_prefill); 0: FL_RAFT_STORE_PREFILL */
    uint32_t mutants;          /* Raft: fl_raft_mutant bits; the store's own: SNAPSHOT_SEQ_UNSYNCED,
                                * WAL_DELETED_BEFORE_DIR_SYNC */
    fl_cons_protocol protocol; /* which core's records it writes and accepts (Raft: 0) */
} fl_raft_store_opts;

typedef struct fl_raft_store {
    fl_fs *fs;
    struct fl_fs_posix *own_fs; /* opened by fl_raft_store_open (a path) */
    uint32_t mutants;
    fl_cons_protocol protocol;
    fl_wal wal;
    fl_buf scratch;
    /* recovered at open; owned until fl_raft_store_release */
    fl_term term; /* Raft: term; Paxos: the promised ballot */
    fl_node_id vote;
    fl_cons_entry *entries;
    size_t count, cap;
    fl_index first;             /* index of entries[0]: 1, or the snapshot's index + 1 */
    fl_cons_snapshot_meta snap; /* the snapshot file's (index 0: none) */
    fl_buf snap_data;           /* its state-machine bytes */
    uint64_t records_replayed;
    uint64_t issued_seq;       /* WAL seq the next appended request gets (staged ones count) */
    uint64_t delete_before;    /* compaction to do once the sync job is done; 0: none */
    uint64_t segments_deleted; /* WAL segment files removed behind snapshots */
    uint64_t bytes_appended; /* record bytes of the persist requests appended (the loop's count) */
    /* background sync */
    fl_buf staged;   /* records appended while syncing: length u32, payload; ... */
    bool syncing;    /* a sync job runs: the WAL is the job's */
    bool job_inline; /* it ran on the caller's thread (fl_raft_store_sync_inline) and ended */
    int job_inline_rc;
    /* a snapshot file queued for the next job (fl_raft_store_queue_snapshot): its head and
     * tail encoded, the caller's bytes in between borrowed */
    fl_buf snap_next, snap_next_tail;
    const uint8_t *snap_next_data;
    size_t snap_next_len;
    bool snap_next_ready;
    uint64_t snap_next_seq; /* the WAL seq it names: compaction up to it once it is written */
    /* the job's own while it runs: the file it writes, why it failed */
    fl_buf job_snap, job_snap_tail;
    const uint8_t *job_snap_data;
    size_t job_snap_len;
    bool job_snap_ready;
    bool job_snap_dropped; /* a newer one was saved meanwhile: this one is not renamed */
    uint64_t job_snap_seq;
    /* A snapshot file renamed into place on the loop whose directory entry is not durable
     * yet: the next job syncs the directory (off the loop: 10 ms median, up to 74, issue 16)
     * and only once that job is done may the WAL up to this seq go. 0: none. The loop's, then
     * (job_dir_seq) the job's. */
    uint64_t dir_sync_seq, job_dir_seq;
    fl_errmsg job_msg;
} fl_raft_store;

/* Opens (creating) the WAL in fs's directory and replays it (fs stays the caller's and must
 * outlive s). Returns 0, or an FL_E code with the reason in m (FL_ECORRUPT for a record that
 * does not decode or does not fit the log, naming the file). */
int fl_raft_store_open_fs(fl_raft_store *s, fl_fs *fs, const fl_raft_store_opts *o, fl_errmsg *m);
/* The same on the real directory dir (created if missing), locked until close. */
int fl_raft_store_open(fl_raft_store *s, const char *dir, const fl_wal_faults *faults,
                       fl_errmsg *m);
/* The same with a WAL segment size (0: the WAL's default), for tests of compaction. */
int fl_raft_store_open_sized(fl_raft_store *s, const char *dir, const fl_wal_faults *faults,
                             uint64_t segment_size_max, fl_errmsg *m);
/* Durably replaces the snapshot file (see above) with hard state, the snapshot and the n log
 * entries after it, then deletes the WAL segments it made obsolete (at once, or when the
 * running background sync finishes). Synchronous: one file write and fsync, durable before
 * anything appended later (an InstallSnapshot's request must never be on disk without its
 * file). A queued one (below) not yet renamed is dropped: this one is newer. Returns 0 or
 * FL_EIO / FL_ENOMEM with the reason in m (the node must stop: like a failed WAL sync). */
int fl_raft_store_save_snapshot(fl_raft_store *s, fl_term term, fl_node_id vote,
                                const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                                const fl_cons_entry *entries, fl_errmsg *m);
/* The same file, its bytes written and synced by the next background sync job instead (off
 * the caller's thread, after that job's WAL sync), then renamed into place with a sync of the
 * directory by fl_raft_store_sync_finish, and the obsolete segments deleted. What precedes and
 * follows the snapshot's bytes is encoded now; the bytes themselves (data, meta->size of them)
 * are borrowed, not copied: the caller keeps them valid and unchanged while
 * fl_raft_store_uses says so. A newer one queued before the job starts replaces it. A job's
 * result covers its snapshot file: a request appended before this call and reported durable
 * once that job finished has the file durable too. Returns 0 or FL_ENOMEM (reason in m). */
int fl_raft_store_queue_snapshot(fl_raft_store *s, fl_term term, fl_node_id vote,
                                 const fl_cons_snapshot_meta *meta, const uint8_t *data, size_t n,
                                 const fl_cons_entry *entries, fl_errmsg *m);
/* A snapshot file waits for the next job (which should start even if nothing was appended). */
static inline bool fl_raft_store_snapshot_queued(const fl_raft_store *s)
{
    return s->snap_next_ready;
}
/* A renamed snapshot file's directory entry waits for the next job's directory sync (which
 * should start even if nothing was appended); the file is not durable under its name yet. */
static inline bool fl_raft_store_dir_sync_due(const fl_raft_store *s)
{
    return s->dir_sync_seq != 0;
}
/* The store still needs the bytes at p (queued, or a running job writes them). */
bool fl_raft_store_uses(const fl_raft_store *s, const uint8_t *p);
/* A read-only view of the snapshot file's state-machine bytes, for a caller that would
 * otherwise keep a copy of the snapshot it saved (fs.h read_all: an mmap of real files, page
 * cache that the kernel can reclaim). 0 with *data (meta->size bytes, inside v) when the file
 * is the snapshot meta describes: its header, index, term, size, CRC and configuration match
 * and the file is long enough (the data are not read here: a follower's core checks their
 * CRC as they arrive); FL_ENOTFOUND when there is no file, FL_ECORRUPT when it holds another.
 * Call it only once the file is durable (a save returned, or the job that wrote it
 * finished). v stays valid until fl_raft_store_unmap_snapshot, on real files even after the
 * file is replaced; on the simulated disk its bytes go once a newer snapshot file replaces
 * it (a save, or the end of the job that writes a queued one): do not read it after that,
 * only release it (fs.h rule 5). */
int fl_raft_store_map_snapshot(fl_raft_store *s, const fl_cons_snapshot_meta *meta, fl_fs_view *v,
                               const uint8_t **data, fl_errmsg *m);
void fl_raft_store_unmap_snapshot(fl_raft_store *s, fl_fs_view *v);
/* Whether a mapped snapshot's bytes (data, meta->size of them) still have the CRC meta gives
 * them: 0, or FL_ECORRUPT (m names the file) when the file changed on the disk since it was
 * written. Reads every byte: call it once per view, before the first chunk is sent from it. */
int fl_raft_store_check_snapshot(fl_raft_store *s, const fl_cons_snapshot_meta *meta,
                                 const uint8_t *data, fl_errmsg *m);
/* The recovered state, pointing into s (valid until fl_raft_store_release or close). */
void fl_raft_store_durable(const fl_raft_store *s, fl_cons_durable *d);
/* Frees the recovered state, snapshot bytes included (the core's init copies what it needs). */
void fl_raft_store_release(fl_raft_store *s);
/* Buffers persist request p (p->seq must be != 0). Returns 0 or a WAL error. */
int fl_raft_store_append(fl_raft_store *s, const fl_cons_persist *p);
/* Makes everything appended durable, on the calling thread (no background sync may be
 * running). Returns 0 or the sticky error (reason in m). */
int fl_raft_store_sync(fl_raft_store *s, fl_errmsg *m);
/* Starts a background sync of everything appended so far (none may be running). Returns 0,
 * or FL_ENOMEM / FL_EIO if the job cannot start. */
int fl_raft_store_sync_start(fl_raft_store *s);
/* Whether the next sync job would be short: at most bytes_max of records to write, no
 * snapshot file queued and no zeros due ahead of the WAL (fl_wal_prefill_due). */
bool fl_raft_store_sync_small(const fl_raft_store *s, size_t bytes_max);
/* The same job as fl_raft_store_sync_start, run on the calling thread now (write, fdatasync):
 * when it returns the job has ended, and fl_raft_store_sync_finish collects it as it would a
 * background one (its result, the staged records; no fd becomes readable). For a caller with
 * nothing else to do meanwhile: a worker's two thread wake-ups saved. Returns 0 (the job's
 * own result comes from sync_finish). */
int fl_raft_store_sync_inline(fl_raft_store *s);
/* Real files: an fd that becomes readable when the background sync is done (valid after a
 * start); -1 for the simulated disk. */
int fl_raft_store_sync_fd(const fl_raft_store *s);
/* Collects a finished background sync: returns its result (0, or the sticky error with the
 * reason in m), renames its snapshot file into place (see fl_raft_store_queue_snapshot) and
 * appends the records staged meanwhile to the WAL. The rename's directory sync is the next
 * job's (fl_raft_store_dir_sync_due): the WAL segments the file makes obsolete are deleted
 * once that job is done, never before. */
int fl_raft_store_sync_finish(fl_raft_store *s, fl_errmsg *m);
void fl_raft_store_close(fl_raft_store *s);

/* What metrics show of the store (metrics.h). */
typedef struct fl_raft_store_stats {
    uint64_t wal_bytes;        /* written to WAL segments since open */
    uint64_t wal_fsyncs;       /* fdatasync calls on segments since open */
    uint64_t wal_segments;     /* segment files now */
    uint64_t segments_deleted; /* segment files removed behind snapshots */
} fl_raft_store_stats;
/* Fills *out. Only while no background sync runs (the WAL is the worker's then): returns
 * false and leaves *out alone during one. */
bool fl_raft_store_stats_get(const fl_raft_store *s, fl_raft_store_stats *out);

#endif
