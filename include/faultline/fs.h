/* fs.h: the small file interface storage/ writes through: one directory of files, and a
 * background job to run a slow sync in. Two backends implement it: real files
 * (src/io/fs_posix.c, fs_posix.h) and a simulated node's disk (src/sim/simdisk.c,
 * simdisk.h), which can lose, tear, reorder and corrupt what was not synced. The WAL, the
 * Raft store and their recovery run unchanged over either (docs/architecture.md).
 *
 * The contract, which both backends keep and storage relies on no further:
 *  1. Names are plain file names inside the one directory (no '/'), at most
 *     FL_FS_NAME_MAX - 1 bytes.
 *  2. A write lands at the given offset; storage only ever writes at a file's end (appends),
 *     into a file it just created, or over zeros it wrote itself (the WAL's preallocated
 *     space, docs/wal.md); data reaches the disk in any order until synced.
 *  3. sync(fd) returning 0 makes that file's data written before the call durable;
 *     sync_dir returning 0 makes every create, rename and unlink before it durable. Until
 *     then a crash may keep or drop each of them. A failed sync means the state of the disk
 *     is unknown: the caller stops (never retries: the kernel may have dropped the data).
 *  4. rename replaces the target atomically: after a crash the name holds the old or the new
 *     file, never a mix. truncate shortens a file at once and durably (recovery cuts a torn
 *     tail and syncs straight after).
 *  5. A view (read_all) is the file's bytes as they are now, valid until the next call on
 *     this fs that writes, truncates, renames or unlinks, or until released. Except: a view
 *     of a file that no call writes or truncates any more (one written whole, synced and
 *     renamed into place) stays valid across calls on other files, until released or until
 *     a rename or unlink drops that file (real files: even then, an mmap keeps its pages).
 *     The host keeps its snapshot's bytes as such a view (host_snap.c).
 *  6. A job (job_start) runs fn(arg) off the caller's thread of control: real files on a
 *     worker thread, the simulated disk at once with its syncs completing later in virtual
 *     time. While it runs the caller must not touch what fn touches. When the backend says
 *     it finished (real files: job_fd becomes readable; the simulator: the node hears the
 *     sync token FL_FS_JOB_TOKEN), job_finish collects fn's result; called earlier (to
 *     close), it waits for the job. One job at a time.
 *
 * Errors are negative FL_E codes with the cause in the fl_errmsg (which may be NULL), in the
 * system's words and without context ("Input/output error"): the caller says which file and
 * what it was doing. */
#ifndef FAULTLINE_FS_H
#define FAULTLINE_FS_H

#include "faultline/errmsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_FS_NAME_MAX  48
#define FL_FS_JOB_TOKEN UINT64_MAX /* the simulator's sync token of a finished job */

/* open flags */
#define FL_FS_WRITE  1u /* open for writing (else read-only) */
#define FL_FS_CREATE 2u /* create it if missing */
#define FL_FS_TRUNC  4u /* empty it */

typedef struct fl_fs fl_fs;

typedef struct fl_fs_view {
    const uint8_t *data;
    size_t len;
    void *priv; /* the backend's */
} fl_fs_view;

/* Called for each name in the directory (order unspecified); nonzero stops the listing and
 * is returned by list. */
typedef int (*fl_fs_name_fn)(void *arg, const char *name);

typedef struct fl_fs_ops {
    /* FL_ENOTFOUND when missing and not FL_FS_CREATE. *fd >= 0 on success. */
    int (*open)(fl_fs *fs, const char *name, unsigned flags, int *fd, fl_errmsg *m);
    void (*close)(fl_fs *fs, int fd);
    int (*write)(fl_fs *fs, int fd, const void *p, size_t n, uint64_t off, fl_errmsg *m);
    int (*truncate)(fl_fs *fs, int fd, uint64_t size, fl_errmsg *m);
    int (*sync)(fl_fs *fs, int fd, fl_errmsg *m);
    /* The whole file, read-only (FL_ENOTFOUND when missing). Release with release. */
    int (*read_all)(fl_fs *fs, const char *name, fl_fs_view *v, fl_errmsg *m);
    void (*release)(fl_fs *fs, fl_fs_view *v);
    int (*rename)(fl_fs *fs, const char *from, const char *to, fl_errmsg *m);
    int (*unlink)(fl_fs *fs, const char *name, fl_errmsg *m); /* FL_ENOTFOUND when missing */
    int (*sync_dir)(fl_fs *fs, fl_errmsg *m);
    int (*list)(fl_fs *fs, fl_fs_name_fn fn, void *arg, fl_errmsg *m);
    int (*job_start)(fl_fs *fs, int (*fn)(void *arg), void *arg);
    int (*job_finish)(fl_fs *fs);   /* fn's result (waits for it if it still runs) */
    int (*job_fd)(const fl_fs *fs); /* real files: readable when a job finished; else -1 */
    /* Optional (NULL: none): writes [off, off + n) of fd back to the disk now and waits for
     * it, without the sync's promise (its metadata may still be unwritten), and may drop it
     * from the cache (a file written whole is read again only at start). A large file is
     * written in slices with this after each, so that the disk's queue never holds more than
     * a slice of it ahead of another file's sync (the WAL's). */
    int (*writeback)(fl_fs *fs, int fd, uint64_t off, uint64_t n, fl_errmsg *m);
} fl_fs_ops;

struct fl_fs {
    const fl_fs_ops *ops;
    char where[512]; /* the directory, for messages ("/var/lib/x", "sim node 3") */
};

#endif
