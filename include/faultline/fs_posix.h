/* fs_posix.h: the file interface (fs.h) over a real directory: openat, pwrite, fdatasync,
 * renameat, fsync of the directory; jobs on one worker thread, handed over and back by eventfds.
 *
 * The caller owns the struct (fl_fs_posix_open / fl_fs_posix_close); the fl_fs inside is
 * what storage takes. */
#ifndef FAULTLINE_FS_POSIX_H
#define FAULTLINE_FS_POSIX_H

#include "faultline/fs.h"

#include <pthread.h>
#include <stdatomic.h>

#define FL_FS_POSIX_LOCK  1u /* hold an exclusive flock on the directory until close */
#define FL_FS_POSIX_MKDIR 2u /* create the directory (one level) if it is missing */
#define FL_FS_POSIX_JOBS  4u /* start the job worker now (its fd is known from open on) */

typedef struct fl_fs_posix {
    fl_fs fs;
    int dirfd;
    /* the job worker, started on first use (fs_posix.c: two eventfds, no lock) */
    bool worker_up;
    _Atomic bool quit;
    _Atomic uint64_t started, finished; /* jobs handed over, jobs done */
    int (*fn)(void *arg);
    void *arg;
    int result;
    int efd;      /* written by the worker when a job is done: the caller's loop watches it */
    int start_fd; /* written by the caller to start a job: the worker blocks reading it */
    pthread_t thread;
    /* with jobs: the reaper, a thread that closes the last descriptor of unlinked files (and
     * of files a rename replaced) handed to it down a pipe, so that freeing their blocks and
     * page cache is its work */
    bool reaper_up;
    int reap_fd;     /* the pipe's write end (non-blocking) */
    uint64_t reaped; /* descriptors handed to it (the caller's count) */
    pthread_t reaper;
} fl_fs_posix;

/* Opens dir: FL_ENOTFOUND if it is missing (unless FL_FS_POSIX_MKDIR); with
 * FL_FS_POSIX_LOCK, FL_EBUSY if another open holds it. Returns 0 or an FL_E code with the
 * reason (naming dir) in m; p needs no close after a failure. */
int fl_fs_posix_open(fl_fs_posix *p, const char *dir, unsigned flags, fl_errmsg *m);
/* Waits for a running job, stops the worker, closes the directory (and its lock). */
void fl_fs_posix_close(fl_fs_posix *p);

#endif
