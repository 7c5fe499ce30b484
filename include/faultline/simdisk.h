/* simdisk.h: a simulated disk holding one directory of files, behind the file interface
 * (fs.h), so that the storage code a real node runs (WAL, Raft store, snapshot files, their
 * recovery) runs unchanged on it and meets its faults.
 *
 * The simulator keeps one per node (src/sim/disk.c completes its syncs after a sampled
 * latency, in order); tests drive one directly (tests/unit/test_crash_points.c completes syncs
 * itself and crashes a copy at every operation).
 *
 * The model. A file is a list of writes (records), each stamped with the disk's operation
 * counter; the directory is a map of names to files plus the creates, renames and unlinks not
 * yet durable. A sync is queued when called and takes effect when completed (in call order):
 * a file's sync makes its records written before the call durable; a directory sync does the
 * same for the directory operations. Until completed nothing it covers is durable (a crash
 * before may drop it), and a sync told to lie completes without making anything durable.
 *
 * A sync called outside a job blocks its caller (fs.h: the process waits in fdatasync), so the
 * operations issued after it had not happened yet if the disk crashes before it completes: a
 * crash drops them all. A job's syncs do not block (a worker thread waits in them).
 *
 * A crash keeps everything durable and, of the rest, per file and for the directory:
 *   LOSE_UNSYNCED  nothing;
 *   RANDOM_PREFIX  a random prefix (of each file's unsynced writes, of the directory's
 *                  unsynced operations);
 *   RANDOM_SUBSET  each unsynced write independently (half the time): writes reordered, a
 *                  dropped write below a kept one reads back as zeros.
 * Of the directory's unsynced operations, in both: a random prefix (ext4 and XFS journal them
 * in order) or, in half the crashes with two or more of them, each independently (fs.h rule
 * 3; btrfs reorders them): a rename or unlink acts only on the file it acted on, so one whose
 * file's create (or the rename that put it under the name) was dropped does nothing
 * (simdisk_fault.c, crash_dir_keep, says why both). With probability torn, a file with unsynced
 * writes has its last surviving write cut short (if none survives, a piece of the first: the write
 * in progress). A write inside a file (accepted only over zero bytes: the WAL's records over its
 * preallocated zeros) is an overwrite: the same choices apply to a file's unsynced overwrites, and
 * one that does not survive reads back as the zeros it replaced. What survives is durable from then
 * on; open files are closed, pending syncs forgotten.
 *
 * Invariants (simdisk_check asserts them): within a file records are contiguous and in stamp
 * order; durable <= count; pending syncs are in seq order; every name maps to a live file. */
#ifndef FAULTLINE_SIMDISK_H
#define FAULTLINE_SIMDISK_H

#include "faultline/fs.h"
#include "faultline/rng.h"
#include "faultline/sim.h"

typedef struct fl_simdisk fl_simdisk;

typedef enum fl_simdisk_crash_mode {
    FL_SIMDISK_LOSE_UNSYNCED = 0,
    FL_SIMDISK_RANDOM_PREFIX = 1,
    FL_SIMDISK_RANDOM_SUBSET = 2,
} fl_simdisk_crash_mode;

/* What a mutating operation is, for before_op. */
typedef enum fl_simdisk_op {
    FL_SIMDISK_OP_WRITE = 1,
    FL_SIMDISK_OP_TRUNCATE,
    FL_SIMDISK_OP_SYNC,
    FL_SIMDISK_OP_CREATE,
    FL_SIMDISK_OP_RENAME,
    FL_SIMDISK_OP_UNLINK,
    FL_SIMDISK_OP_SYNC_DIR,
} fl_simdisk_op;

typedef struct fl_simdisk_hooks {
    void *arg;
    /* A sync was queued (seq: its number, 1, 2, ...); the owner completes syncs in order with
     * fl_simdisk_complete. Returns 0, or an FL_E code to refuse it (the caller's sync then
     * fails with that code). May complete it at once. */
    int (*sync_queued)(void *arg, fl_simdisk *d, uint64_t seq);
    /* Called before every operation that changes the disk (crash-point tests); may be NULL. */
    void (*before_op)(void *arg, fl_simdisk *d, fl_simdisk_op op);
} fl_simdisk_hooks;

/* A new empty disk; where names it in messages ("sim node 3"). bytes_max bounds the bytes of
 * all files (a write past it fails with FL_EFULL: the disk is full). stats (may be NULL) gets
 * disk_writes, disk_bytes, fsyncs and fsync_failures counted. Returns NULL without memory. */
fl_simdisk *fl_simdisk_new(const char *where, size_t bytes_max, const fl_simdisk_hooks *hooks,
                           fl_sim_node_stats *stats);
void fl_simdisk_free(fl_simdisk *d);
/* A deep copy (pending syncs included), with no hooks or stats. NULL without memory. */
fl_simdisk *fl_simdisk_clone(const fl_simdisk *d);
/* The file interface over it. */
fl_fs *fl_simdisk_fs(fl_simdisk *d);

/* The next sync queued (from now) fails: the call returns FL_EIO (a job's sync: the job's
 * result), or for a notifying sync (fl_simdisk_sync_notify) the completion carries FL_EIO. */
void fl_simdisk_fail_next_sync(fl_simdisk *d);
/* The next sync queued lies: it completes with success and makes nothing durable. */
void fl_simdisk_lie_next_sync(fl_simdisk *d);
/* Completes the oldest pending sync. Returns 0 if none is pending, else 1 with *notify (the
 * owner must tell the node: the end of a job, token FL_FS_JOB_TOKEN, or a
 * fl_simdisk_sync_notify), *token and *status (0 or FL_EIO). */
int fl_simdisk_complete(fl_simdisk *d, bool *notify, uint64_t *token, int *status);
size_t fl_simdisk_pending(const fl_simdisk *d);
/* Whether a job (job_start's fn) is running now: an operation seen by a hook then is the
 * job's, not its caller's (tests of what runs off the loop). */
bool fl_simdisk_in_job(const fl_simdisk *d);
/* Whether the disk is split between two syncs: a directory change (a file renamed into place,
 * as a checkpoint is) became durable, no file's sync has completed since, and some file holds
 * writes not durable. A crash now keeps the new file and loses the writes beside it (the
 * order across files that ALICE's crash points probe). */
bool fl_simdisk_split(const fl_simdisk *d);
/* Whether a crash now may keep an unlink and lose a directory operation called before it
 * (both not yet made durable by a directory sync): the window in which code that deletes a
 * file before the name replacing it is durable loses both (the reordering the crash modes
 * that keep some unsynced operations may draw, see the top). */
bool fl_simdisk_unlink_window(const fl_simdisk *d);
/* The crash (see the top). rng: the draws. */
void fl_simdisk_crash(fl_simdisk *d, fl_simdisk_crash_mode mode, double torn, fl_rng *rng);
/* Flips mask (nonzero) into a random byte of a random durable write of any file.
 * FL_ENOTFOUND if nothing is durable. */
int fl_simdisk_corrupt_random(fl_simdisk *d, fl_rng *rng);
/* Flips mask (nonzero) into byte off of file name, which must be durable there. FL_EINVAL
 * if it is not. */
int fl_simdisk_corrupt_at(fl_simdisk *d, const char *name, uint64_t off, uint8_t mask);
/* Lies completed, corruptions made and holes left by reordered writes so far: while it stays
 * the same, what a sync made durable stays as written and recovery has nothing to refuse. */
uint64_t fl_simdisk_untrusted(const fl_simdisk *d);
/* Bytes in all files, and operations done so far (the stamp: each write, truncate, sync,
 * create, rename and unlink counts one). */
size_t fl_simdisk_bytes(const fl_simdisk *d);
uint64_t fl_simdisk_ops(const fl_simdisk *d);
/* Asserts the invariants (top of this file). */
void fl_simdisk_check(const fl_simdisk *d);

/* ---- Raw records, for protocols that write records themselves (the simulator's
 * fl_sim_disk_write family): one file, "records", whose writes are the records. ---------- */

/* Appends one record; durable once a notifying sync called after it completes. */
int fl_simdisk_record_write(fl_simdisk *d, const void *rec, size_t len);
/* Queues a sync of the records file whose completion notifies with token. */
int fl_simdisk_sync_notify(fl_simdisk *d, uint64_t token);
size_t fl_simdisk_record_count(const fl_simdisk *d);
size_t fl_simdisk_record_durable(const fl_simdisk *d);
/* Record i; *data valid until the next call that changes the disk. FL_EINVAL past the end. */
int fl_simdisk_record(const fl_simdisk *d, size_t i, const uint8_t **data, size_t *len);
/* Keeps the first count records, durably (a torn tail cut at recovery). */
int fl_simdisk_record_truncate(fl_simdisk *d, size_t count);
/* XORs mask into byte `byte` of durable record i. FL_EINVAL if there is no such byte. */
int fl_simdisk_record_corrupt(fl_simdisk *d, size_t i, size_t byte, uint8_t mask);

#endif
