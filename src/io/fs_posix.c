/* fs_posix.c: the file interface (fs.h) over a real directory (fs_posix.h). Every call is the
 * system call it names, relative to the directory's fd; a job runs on one worker thread that
 * writes an eventfd when it is done.
 *
 * Invariant: while a job runs (started != finished) the caller touches nothing fn touches;
 * the job counters' release and acquire order fn's writes before job_finish's reads. */
#include "faultline/fs_posix.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys_fail(fl_errmsg *m, int code, int errnum)
{
    char tmp[128];
    return fl_errmsg_set(m, code, "%s", strerror_r(errnum, tmp, sizeof(tmp)));
}

static int px_open(fl_fs *fs, const char *name, unsigned flags, int *fd, fl_errmsg *m)
{
    const fl_fs_posix *p = (const fl_fs_posix *)fs;
    int of = O_CLOEXEC | ((flags & FL_FS_WRITE) ? O_WRONLY : O_RDONLY);
    of |= ((flags & FL_FS_CREATE) ? O_CREAT : 0) | ((flags & FL_FS_TRUNC) ? O_TRUNC : 0);
    *fd = openat(p->dirfd, name, of, 0644);
    if (*fd < 0)
        return errno == ENOENT ? sys_fail(m, FL_ENOTFOUND, errno) : sys_fail(m, FL_EIO, errno);
    return 0;
}

static void px_close(fl_fs *fs, int fd)
{
    (void)fs;
    close(fd);
}

static int px_write(fl_fs *fs, int fd, const void *p, size_t n, uint64_t off, fl_errmsg *m)
{
    (void)fs;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const uint8_t *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return sys_fail(m, FL_EIO, r < 0 ? errno : EIO);
        done += (size_t)r;
    }
    return 0;
}

static int px_truncate(fl_fs *fs, int fd, uint64_t size, fl_errmsg *m)
{
    (void)fs;
    return ftruncate(fd, (off_t)size) < 0 ? sys_fail(m, FL_EIO, errno) : 0;
}

static int px_sync(fl_fs *fs, int fd, fl_errmsg *m)
{
    (void)fs;
    return fdatasync(fd) < 0 ? sys_fail(m, FL_EIO, errno) : 0;
}

static int px_writeback(fl_fs *fs, int fd, uint64_t off, uint64_t n, fl_errmsg *m)
{
    (void)fs;
    unsigned how = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    if (sync_file_range(fd, (off_t)off, (off_t)n, how) < 0)
        return sys_fail(m, FL_EIO, errno);
    /* written: out of the page cache now, on this (the worker's) thread, rather than when
     * a later rename or unlink drops the file, on the loop's; best effort */
    (void)posix_fadvise(fd, (off_t)off, (off_t)n, POSIX_FADV_DONTNEED);
    return 0;
}

/* A read-only mapping: recovery reads whole segments without copying them. */
static int px_read_all(fl_fs *fs, const char *name, fl_fs_view *v, fl_errmsg *m)
{
    const fl_fs_posix *p = (const fl_fs_posix *)fs;
    *v = (fl_fs_view){0};
    int fd = openat(p->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? sys_fail(m, FL_ENOTFOUND, errno) : sys_fail(m, FL_EIO, errno);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = sys_fail(m, FL_EIO, errno);
    } else if (st.st_size > 0) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            rc = sys_fail(m, FL_EIO, errno);
        } else {
            v->data = map;
            v->len = (size_t)st.st_size;
            v->priv = map;
        }
    }
    close(fd);
    return rc;
}

static void px_release(fl_fs *fs, fl_fs_view *v)
{
    (void)fs;
    if (v->priv)
        munmap(v->priv, v->len);
    *v = (fl_fs_view){0};
}

/* A descriptor of a file whose last name just went, to the reaper (or closed here). */
static void reap(fl_fs_posix *p, int fd)
{
    if (fd < 0)
        return;
    if (write(p->reap_fd, &fd, sizeof(fd)) != (ssize_t)sizeof(fd))
        close(fd); /* the pipe is full: here, then */
    else
        p->reaped++;
}

/* A rename over a file drops that file's last name: with the reaper, the replaced file is
 * held open across the rename and freed by the reaper's close, as an unlinked one is (a
 * snapshot file of 20 MiB replaced cost the loop 7-8 ms in the rename, issue 16 round 6). */
static int px_rename(fl_fs *fs, const char *from, const char *to, fl_errmsg *m)
{
    fl_fs_posix *p = (fl_fs_posix *)fs;
    int fd = p->reaper_up ? openat(p->dirfd, to, O_RDONLY | O_CLOEXEC) : -1;
    if (renameat(p->dirfd, from, p->dirfd, to) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sys_fail(m, FL_EIO, e);
    }
    reap(p, fd);
    return 0;
}

/* With the reaper, the name goes at once and the file's last descriptor is the reaper's to
 * close: unlinking a 64 MiB WAL segment (freeing its extents and cached pages) stopped a
 * node's loop ~100 ms (issue 16). The name is gone either way (fs.h rule 3 holds). */
static int px_unlink(fl_fs *fs, const char *name, fl_errmsg *m)
{
    fl_fs_posix *p = (fl_fs_posix *)fs;
    int fd = p->reaper_up ? openat(p->dirfd, name, O_RDONLY | O_CLOEXEC) : -1;
    if (unlinkat(p->dirfd, name, 0) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sys_fail(m, e == ENOENT ? FL_ENOTFOUND : FL_EIO, e);
    }
    reap(p, fd);
    return 0;
}

static int px_sync_dir(fl_fs *fs, fl_errmsg *m)
{
    const fl_fs_posix *p = (const fl_fs_posix *)fs;
    return fsync(p->dirfd) < 0 ? sys_fail(m, FL_EIO, errno) : 0;
}

static int px_list(fl_fs *fs, fl_fs_name_fn fn, void *arg, fl_errmsg *m)
{
    const fl_fs_posix *p = (const fl_fs_posix *)fs;
    int fd = dup(p->dirfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sys_fail(m, FL_EIO, e);
    }
    rewinddir(d); /* the dup shares the directory offset: start over */
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc = fn(arg, e->d_name);
    closedir(d);
    return rc;
}

/* ---- jobs ----------------------------------------------------------------------------------
 * Two eventfds hand a job over and back: the caller writes start_fd (the worker, blocked
 * reading it, wakes), the worker writes efd when fn returned (the loop watches it). One
 * system call each way and no lock: fn, arg and result are published by release stores of
 * the job counters and read after acquire loads of them (the eventfds only wake). */

static void *worker(void *arg)
{
    fl_fs_posix *p = arg;
    for (;;) {
        uint64_t n;
        ssize_t r = read(p->start_fd, &n, sizeof(n)); /* blocking: sleeps until a job */
        if (r < 0 && errno != EINTR)
            break; /* only a closed fd does this: close is under way */
        if (atomic_load_explicit(&p->quit, memory_order_acquire))
            break;
        uint64_t job = atomic_load_explicit(&p->started, memory_order_acquire);
        if (job == atomic_load_explicit(&p->finished, memory_order_relaxed))
            continue; /* woken with nothing new (EINTR) */
        p->result = p->fn(p->arg);
        atomic_store_explicit(&p->finished, job, memory_order_release);
        uint64_t one = 1;
        ssize_t w = write(p->efd, &one, sizeof(one));
        (void)w; /* an eventfd write only fails on overflow, which 1 per job cannot reach */
    }
    return NULL;
}

static void *reaper(void *arg)
{
    int rd = (int)(intptr_t)arg;
    int fd;
    for (;;) {
        ssize_t r = read(rd, &fd, sizeof(fd));
        if (r == (ssize_t)sizeof(fd))
            close(fd);
        else if (r == 0 || (r < 0 && errno != EINTR))
            break; /* the write end closed (fl_fs_posix_close) */
    }
    close(rd);
    return NULL;
}

/* Best effort: without the reaper, unlink frees the file itself. */
static void reaper_start(fl_fs_posix *p)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return;
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0 ||
        pthread_create(&p->reaper, NULL, reaper, (void *)(intptr_t)fds[0]) != 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    p->reap_fd = fds[1];
    p->reaper_up = true;
}

static int worker_start(fl_fs_posix *p)
{
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->start_fd = eventfd(0, EFD_CLOEXEC);
    if (p->efd < 0 || p->start_fd < 0) {
        if (p->efd >= 0)
            close(p->efd);
        if (p->start_fd >= 0)
            close(p->start_fd);
        p->efd = p->start_fd = -1;
        return FL_EIO;
    }
    atomic_store(&p->quit, false);
    if (pthread_create(&p->thread, NULL, worker, p) != 0) {
        close(p->efd);
        close(p->start_fd);
        p->efd = p->start_fd = -1;
        return FL_ENOMEM;
    }
    p->worker_up = true;
    reaper_start(p);
    return 0;
}

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* see worker() */
}

static int px_job_start(fl_fs *fs, int (*fn)(void *arg), void *arg)
{
    fl_fs_posix *p = (fl_fs_posix *)fs;
    if (!p->worker_up) {
        int rc = worker_start(p);
        if (rc)
            return rc;
    }
    uint64_t job = atomic_load_explicit(&p->started, memory_order_relaxed);
    FL_ASSERT(job == atomic_load_explicit(&p->finished, memory_order_acquire)); /* one at a time */
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->started, job + 1, memory_order_release);
    wake(p->start_fd);
    return 0;
}

/* Waits for the job if it still runs (a close), then collects it: its token on efd (the
 * worker writes exactly one per job, after publishing the job as finished). */
static int px_job_finish(fl_fs *fs)
{
    fl_fs_posix *p = (fl_fs_posix *)fs;
    for (;;) {
        uint64_t n;
        if (read(p->efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
            break;
        if (errno != EAGAIN && errno != EINTR)
            break; /* cannot happen to an open eventfd; the check below still holds */
        struct pollfd pf = {.fd = p->efd, .events = POLLIN};
        (void)poll(&pf, 1, -1);
    }
    FL_ASSERT(atomic_load_explicit(&p->finished, memory_order_acquire) ==
              atomic_load_explicit(&p->started, memory_order_relaxed));
    return p->result;
}

static int px_job_fd(const fl_fs *fs)
{
    const fl_fs_posix *p = (const fl_fs_posix *)fs;
    return p->worker_up ? p->efd : -1;
}

static const fl_fs_ops posix_ops = {
    .open = px_open,
    .close = px_close,
    .write = px_write,
    .truncate = px_truncate,
    .sync = px_sync,
    .read_all = px_read_all,
    .release = px_release,
    .rename = px_rename,
    .unlink = px_unlink,
    .sync_dir = px_sync_dir,
    .list = px_list,
    .job_start = px_job_start,
    .job_finish = px_job_finish,
    .job_fd = px_job_fd,
    .writeback = px_writeback,
};

int fl_fs_posix_open(fl_fs_posix *p, const char *dir, unsigned flags, fl_errmsg *m)
{
    memset(p, 0, sizeof(*p));
    p->fs.ops = &posix_ops;
    p->dirfd = p->efd = p->start_fd = -1;
    if ((size_t)snprintf(p->fs.where, sizeof(p->fs.where), "%s", dir) >= sizeof(p->fs.where))
        return fl_errmsg_set(m, FL_ECONFIG, "directory name too long: %.64s...", dir);
    if ((flags & FL_FS_POSIX_MKDIR) && mkdir(dir, 0755) < 0 && errno != EEXIST)
        return fl_errmsg_errno(m, FL_EIO, errno, "mkdir %s", dir);
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0)
        return fl_errmsg_errno(m, errno == ENOENT ? FL_ENOTFOUND : FL_EIO, errno,
                               "open directory %s", dir);
    /* one writer per directory: a second node pointed at it would interleave its records */
    if ((flags & FL_FS_POSIX_LOCK) && flock(p->dirfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(p->dirfd);
        p->dirfd = -1;
        return e == EWOULDBLOCK
                   ? fl_errmsg_set(m, FL_EBUSY, "%s is in use (locked by another open)", dir)
                   : fl_errmsg_errno(m, FL_EIO, e, "flock %s", dir);
    }
    if ((flags & FL_FS_POSIX_JOBS) && worker_start(p)) {
        fl_fs_posix_close(p);
        return fl_errmsg_set(m, FL_ENOMEM, "%s: cannot start the sync worker", dir);
    }
    return 0;
}

void fl_fs_posix_close(fl_fs_posix *p)
{
    if (p->reaper_up) {
        close(p->reap_fd); /* the reaper closes what is left, then ends */
        pthread_join(p->reaper, NULL);
        p->reaper_up = false;
    }
    if (p->worker_up) {
        atomic_store_explicit(&p->quit, true, memory_order_release);
        wake(p->start_fd);
        pthread_join(p->thread, NULL); /* after a job in progress */
        close(p->efd);
        close(p->start_fd);
        p->worker_up = false;
    }
    if (p->dirfd >= 0)
        close(p->dirfd);
    p->dirfd = p->efd = p->start_fd = -1;
}
