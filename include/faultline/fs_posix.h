/* fs_posix.h: the file interface (fs.h) over a real directory: openat, pwrite, fdatasync,
 * renameat, fsync of the directory; jobs on one worker thread that signals an eventfd.
 *
 * The caller owns the struct (fl_fs_posix_open / fl_fs_posix_close); the fl_fs inside is
 * what storage takes. */
#ifndef FAULTLINE_FS_POSIX_H
#define FAULTLINE_FS_POSIX_H

#include "faultline/fs.h"

#include <pthread.h>

#define FL_FS_POSIX_LOCK  1u /* hold an exclusive flock on the directory until close */
#define FL_FS_POSIX_MKDIR 2u /* create the directory (one level) if it is missing */
#define FL_FS_POSIX_JOBS  4u /* start the job worker now (its fd is known from open on) */

typedef struct fl_fs_posix {
    fl_fs fs;
    int dirfd;
    /* the job worker, started on first use */
    bool worker_up;
    bool want, quit;
    int (*fn)(void *arg);
    void *arg;
    int result;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} fl_fs_posix;

/* Opens dir: FL_ENOTFOUND if it is missing (unless FL_FS_POSIX_MKDIR); with
 * FL_FS_POSIX_LOCK, FL_EBUSY if another open holds it. Returns 0 or an FL_E code with the
 * reason (naming dir) in m; p needs no close after a failure. */
int fl_fs_posix_open(fl_fs_posix *p, const char *dir, unsigned flags, fl_errmsg *m);
/* Waits for a running job, stops the worker, closes the directory (and its lock). */
void fl_fs_posix_close(fl_fs_posix *p);

#endif
