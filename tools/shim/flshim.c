/* flshim.c: the disk fault shim of `faultline nemesis` (docs/nemesis.md), an LD_PRELOAD
 * library built beside the faultline binary (libflshim.so), never linked into it.
 *
 * It keeps what a process writes to regular files under $FL_SHIM_DIR in its own memory
 * until the file is fsync'ed or fdatasync'ed: the page cache of a machine that is about to
 * lose power. So kill -9 of the process loses exactly what a power cut would lose (what was
 * written and not synced), and the kernel never sees unsynced bytes. Reads through read and
 * pread see the unsynced bytes, as they would see the page cache (mmap cannot: a program
 * that reads its files by mmap, like etcd's bbolt, must not run under the shim).
 *
 * Faults, asked through $FL_SHIM_CTL, a file holding "SEQ COMMAND" (replaced atomically by
 * the nemesis; a command runs once per new SEQ):
 *   fail-fsync  the next fsync/fdatasync of a tracked file fails with EIO and its unsynced
 *               bytes are dropped (what Linux does after a failed writeback)
 *   tear        at the next write to a tracked file, what is unsynced of that file reaches
 *               the disk, then the first half of this write, then the process is killed
 *               (SIGKILL): a power cut in the middle of a write
 *   hang-fork   the child of the next fork() never returns from it: it sleeps until it is
 *               killed (or its parent dies), holding whatever it inherited (a snapshot
 *               child's pipe: the node waits for its bytes for good). What a fork-unsafe
 *               lock did to a node (docs/nemesis.md): `faultline nemesis --faults fork-hang`
 *   none        withdraws a command that has not run
 *
 * Limits: writev, mmap writes and files opened before the shim was loaded pass straight
 * through; a duplicated descriptor (dup, dup2, F_DUPFD) keeps an offset of its own; creating,
 * renaming and unlinking files are immediate (as on a file system that journals metadata in order).
 * Unsynced bytes are bounded by SHIM_PENDING_MAX: past it, the oldest file's are written (unsynced)
 * to the kernel and a line on stderr says so. Thread-safe: one mutex, never held across a real
 * fsync. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHIM_FDS_MAX     4096
#define SHIM_FILES_MAX   1024
#define SHIM_PENDING_MAX ((size_t)256 << 20)

typedef struct extent {
    struct extent *next;
    off_t off;
    size_t len;
    unsigned char data[];
} extent;

typedef struct file {
    dev_t dev;
    ino_t ino;
    extent *head, *tail; /* in write order */
    size_t bytes;
    off_t size;     /* logical size: the kernel's, or the end of an unsynced write */
    char path[512]; /* as opened (to write back at exit what a closed file left) */
    unsigned long long stamp;
} file;

typedef struct fdst {
    int file; /* index + 1; 0 = untracked */
    off_t pos;
    int append;
} fdst;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static fdst fds[SHIM_FDS_MAX];
static file files[SHIM_FILES_MAX];
static int n_files;
static size_t pending_total;
static unsigned long long stamp;
static char dir[4096];
static size_t dir_len;
static const char *ctl;
static unsigned long ctl_seq;
static char cmd[32];
static int inited;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static off_t (*real_lseek)(int, off_t, int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_ftruncate)(int, off_t);
static pid_t (*real_fork)(void);

/* POSIX's way to take a function from dlsym (a cast would not be ISO C). */
#define LOAD(var, name) (*(void **)(&(var)) = dlsym(RTLD_NEXT, (name)))

static void init(void)
{
    if (inited)
        return;
    LOAD(real_open, "open");
    LOAD(real_openat, "openat");
    LOAD(real_write, "write");
    LOAD(real_pwrite, "pwrite");
    LOAD(real_read, "read");
    LOAD(real_pread, "pread");
    LOAD(real_fsync, "fsync");
    LOAD(real_fdatasync, "fdatasync");
    LOAD(real_close, "close");
    LOAD(real_lseek, "lseek");
    LOAD(real_ftruncate, "ftruncate");
    LOAD(real_dup, "dup");
    LOAD(real_dup2, "dup2");
    LOAD(real_dup3, "dup3");
    LOAD(real_fcntl, "fcntl");
    LOAD(real_fork, "fork");
    const char *d = getenv("FL_SHIM_DIR");
    if (d && realpath(d, dir))
        dir_len = strlen(dir);
    else if (d && strlen(d) < sizeof(dir)) /* not made yet: the path as given */
        dir_len = (size_t)snprintf(dir, sizeof(dir), "%s", d);
    ctl = getenv("FL_SHIM_CTL");
    inited = 1;
}

/* fork() in a threaded process copies mu as it is: held by another thread (a node's sync
 * worker or reaper in the middle of a write, fsync or close), it stays held in the child for
 * good, and the child's first shimmed call (a snapshot child's dup2) waits forever: the node
 * never took another snapshot and its WAL grew without bound, unseen by the verdict. So mu
 * is taken across the fork, and released on both sides. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&mu);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&mu);
}

__attribute__((constructor)) static void shim_init(void)
{
    init();
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

/* ---- the control file -------------------------------------------------------------------- */

/* Reads a new command, if any (mu held). */
static void poll_ctl(void)
{
    if (!ctl)
        return;
    int fd = real_open(ctl, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[64];
    ssize_t n = real_read(fd, buf, sizeof(buf) - 1);
    real_close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    unsigned long seq;
    char c[32];
    if (sscanf(buf, "%lu %31s", &seq, c) == 2 && seq > ctl_seq) {
        ctl_seq = seq;
        snprintf(cmd, sizeof(cmd), "%s", strcmp(c, "none") ? c : "");
    }
}

/* ---- tracking ------------------------------------------------------------------------------ */

static file *file_of(int fd)
{
    if (fd < 0 || fd >= SHIM_FDS_MAX || !fds[fd].file)
        return NULL;
    return &files[fds[fd].file - 1];
}

static void track(int fd, int flags)
{
    if (fd < 0 || fd >= SHIM_FDS_MAX || !dir_len || (flags & O_ACCMODE) == O_RDONLY)
        return;
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t l = readlink(link, path, sizeof(path) - 1);
    struct stat st;
    if (l <= 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
        return;
    path[l] = 0;
    if ((size_t)l <= dir_len || strncmp(path, dir, dir_len) || path[dir_len] != '/')
        return;
    pthread_mutex_lock(&mu);
    int idx = -1;
    for (int i = 0; i < n_files && idx < 0; i++)
        if (files[i].dev == st.st_dev && files[i].ino == st.st_ino)
            idx = i;
    if (idx < 0 && n_files < SHIM_FILES_MAX) {
        idx = n_files++;
        memset(&files[idx], 0, sizeof(files[idx]));
        files[idx].dev = st.st_dev;
        files[idx].ino = st.st_ino;
        files[idx].size = st.st_size;
        snprintf(files[idx].path, sizeof(files[idx].path), "%.511s", path);
    }
    if (idx >= 0) {
        if (flags & O_TRUNC) { /* a truncating open: what was unsynced is gone too */
            for (extent *e = files[idx].head, *nx; e; e = nx) {
                nx = e->next;
                pending_total -= e->len;
                free(e);
            }
            files[idx].head = files[idx].tail = NULL;
            files[idx].bytes = 0;
            files[idx].size = 0;
        }
        fds[fd] = (fdst){.file = idx + 1, .pos = 0, .append = (flags & O_APPEND) != 0};
    }
    pthread_mutex_unlock(&mu);
}

/* Writes f's unsynced bytes to the kernel through fd (mu held). */
static void spill(file *f, int fd)
{
    for (extent *e = f->head, *nx; e; e = nx) {
        nx = e->next;
        if (fd >= 0)
            (void)real_pwrite(fd, e->data, e->len, e->off);
        pending_total -= e->len;
        free(e);
    }
    f->head = f->tail = NULL;
    f->bytes = 0;
}

static int fd_of_file(const file *f)
{
    for (int i = 0; i < SHIM_FDS_MAX; i++)
        if (fds[i].file && &files[fds[i].file - 1] == f)
            return i;
    return -1;
}

/* Past the bound: the oldest file with unsynced bytes goes to the kernel (mu held). */
static void bound(void)
{
    while (pending_total > SHIM_PENDING_MAX) {
        file *old = NULL;
        for (int i = 0; i < n_files; i++)
            if (files[i].head && (!old || files[i].stamp < old->stamp))
                old = &files[i];
        if (!old)
            return;
        fprintf(stderr, "flshim: over %zu unsynced bytes: a file's were written unsynced\n",
                (size_t)SHIM_PENDING_MAX);
        spill(old, fd_of_file(old));
    }
}

static ssize_t add(int fd, file *f, const void *p, size_t n, off_t off)
{
    if (!strcmp(cmd, "tear")) {
        cmd[0] = 0;
        spill(f, fd);
        (void)real_pwrite(fd, p, n / 2, off);
        kill(getpid(), SIGKILL);
    }
    extent *e = malloc(sizeof(*e) + n);
    if (!e) {
        errno = ENOMEM;
        return -1;
    }
    e->next = NULL;
    e->off = off;
    e->len = n;
    memcpy(e->data, p, n);
    if (f->tail)
        f->tail->next = e;
    else
        f->head = e;
    f->tail = e;
    f->bytes += n;
    f->stamp = ++stamp;
    pending_total += n;
    if (off + (off_t)n > f->size)
        f->size = off + (off_t)n;
    bound();
    return (ssize_t)n;
}

/* Copies f's unsynced bytes over buf (which holds [off, off + n) as the kernel has it,
 * got bytes of it); returns the length the read has with them (mu held). */
static ssize_t overlay(const file *f, void *buf, size_t n, off_t off, ssize_t got)
{
    if (got < 0)
        return got;
    off_t end = off + (off_t)n < f->size ? off + (off_t)n : f->size;
    ssize_t len = end > off ? (ssize_t)(end - off) : 0;
    if (len < got)
        len = got;
    if (len > got)
        memset((char *)buf + got, 0, (size_t)(len - got));
    for (const extent *e = f->head; e; e = e->next) {
        off_t lo = e->off > off ? e->off : off;
        off_t hi = e->off + (off_t)e->len < off + len ? e->off + (off_t)e->len : off + len;
        if (lo < hi)
            memcpy((char *)buf + (lo - off), e->data + (lo - e->off), (size_t)(hi - lo));
    }
    return len;
}

/* A process that exits (rather than dies) leaves its writes in the page cache, which keeps
 * them: they go to the kernel, unsynced. */
__attribute__((destructor)) static void shim_exit(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_files; i++)
        if (files[i].head) {
            int fd = fd_of_file(&files[i]);
            int own = fd < 0 ? real_open(files[i].path, O_WRONLY | O_CLOEXEC) : -1;
            spill(&files[i], fd >= 0 ? fd : own);
            if (own >= 0)
                real_close(own);
        }
    pthread_mutex_unlock(&mu);
}

/* ---- the interposed calls ------------------------------------------------------------------ */

/* open's optional third argument, present with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode)                                                                      \
    do {                                                                                           \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                                                     \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            (mode) = (mode_t)va_arg(ap, int);                                                      \
            va_end(ap);                                                                            \
        }                                                                                          \
    } while (0)

int open(const char *path, int flags, ...)
{
    init();
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd = real_open(path, flags, mode);
    track(fd, flags);
    return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dfd, const char *path, int flags, ...)
{
    init();
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd = real_openat(dfd, path, flags, mode);
    track(fd, flags);
    return fd;
}

int openat64(int dfd, const char *path, int flags, ...) __attribute__((alias("openat")));

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real_pwrite(fd, p, n, off);
    pthread_mutex_lock(&mu);
    poll_ctl();
    ssize_t r = add(fd, f, p, n, off);
    pthread_mutex_unlock(&mu);
    return r;
}

ssize_t pwrite64(int fd, const void *p, size_t n, off_t off) __attribute__((alias("pwrite")));

ssize_t write(int fd, const void *p, size_t n)
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real_write(fd, p, n);
    pthread_mutex_lock(&mu);
    poll_ctl();
    off_t off = fds[fd].append ? f->size : fds[fd].pos;
    ssize_t r = add(fd, f, p, n, off);
    if (r > 0)
        fds[fd].pos = off + r;
    pthread_mutex_unlock(&mu);
    return r;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real_pread(fd, buf, n, off);
    pthread_mutex_lock(&mu);
    ssize_t r = overlay(f, buf, n, off, real_pread(fd, buf, n, off));
    pthread_mutex_unlock(&mu);
    return r;
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t read(int fd, void *buf, size_t n)
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real_read(fd, buf, n);
    pthread_mutex_lock(&mu);
    off_t off = fds[fd].pos;
    ssize_t r = overlay(f, buf, n, off, real_pread(fd, buf, n, off));
    if (r > 0)
        fds[fd].pos = off + r;
    pthread_mutex_unlock(&mu);
    return r;
}

off_t lseek(int fd, off_t off, int whence)
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real_lseek(fd, off, whence);
    pthread_mutex_lock(&mu);
    off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? fds[fd].pos : f->size;
    off_t r = -1;
    if ((whence == SEEK_SET || whence == SEEK_CUR || whence == SEEK_END) && base + off >= 0)
        r = fds[fd].pos = base + off;
    else
        errno = EINVAL;
    pthread_mutex_unlock(&mu);
    return r;
}

off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

int ftruncate(int fd, off_t len)
{
    init();
    file *f = file_of(fd);
    if (f) {
        pthread_mutex_lock(&mu);
        for (extent *e = f->head; e; e = e->next)
            if (e->off + (off_t)e->len > len)
                e->len = e->off >= len ? 0 : (size_t)(len - e->off);
        f->size = len;
        pthread_mutex_unlock(&mu);
    }
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

static int sync_fd(int fd, int (*real)(int))
{
    init();
    file *f = file_of(fd);
    if (!f)
        return real(fd);
    pthread_mutex_lock(&mu);
    poll_ctl();
    if (!strcmp(cmd, "fail-fsync")) {
        cmd[0] = 0;
        spill(f, -1); /* dropped, as the kernel drops pages whose writeback failed */
        pthread_mutex_unlock(&mu);
        errno = EIO;
        return -1;
    }
    extent *list = f->head; /* taken whole: writes from now on belong to the next sync */
    f->head = f->tail = NULL;
    pending_total -= f->bytes;
    f->bytes = 0;
    pthread_mutex_unlock(&mu);
    int rc = 0;
    for (extent *e = list, *nx; e; e = nx) {
        nx = e->next;
        for (size_t done = 0; rc == 0 && done < e->len;) {
            ssize_t w = real_pwrite(fd, e->data + done, e->len - done, e->off + (off_t)done);
            if (w < 0 && errno != EINTR)
                rc = -1;
            else if (w > 0)
                done += (size_t)w;
        }
        free(e);
    }
    return rc ? rc : real(fd);
}

int fsync(int fd)
{
    init();
    return sync_fd(fd, real_fsync);
}

int fdatasync(int fd)
{
    init();
    return sync_fd(fd, real_fdatasync);
}

/* A duplicate follows the same file (with its own offset: shared offsets are not kept). */
static int dup_to(int old, int fd)
{
    if (fd < 0 || fd >= SHIM_FDS_MAX)
        return fd;
    pthread_mutex_lock(&mu);
    fds[fd] = old >= 0 && old < SHIM_FDS_MAX ? fds[old] : (fdst){0};
    pthread_mutex_unlock(&mu);
    return fd;
}

int dup(int old)
{
    init();
    return dup_to(old, real_dup(old));
}

int dup2(int old, int fd)
{
    init();
    int r = real_dup2(old, fd);
    return r >= 0 && r != old ? dup_to(old, r) : r;
}

int dup3(int old, int fd, int flags)
{
    init();
    return dup_to(old, real_dup3(old, fd, flags));
}

int fcntl(int fd, int op, ...)
{
    init();
    va_list ap;
    va_start(ap, op);
    void *arg = va_arg(ap, void *); /* every fcntl argument fits a pointer's register */
    va_end(ap);
    int r = real_fcntl(fd, op, arg);
    return (op == F_DUPFD || op == F_DUPFD_CLOEXEC) ? dup_to(fd, r) : r;
}

int fcntl64(int fd, int op, ...) __attribute__((alias("fcntl")));

/* hang-fork: the child sleeps where it stands. It dies with its parent (PDEATHSIG, asked
 * before anything else: the node is usually killed by its process group, but a parent killed
 * alone must not leave it behind) and by any fatal signal the nemesis sends. mu is not held
 * across the real fork: its atfork handlers take it. */
pid_t fork(void)
{
    init();
    pthread_mutex_lock(&mu);
    poll_ctl();
    int hang = !strcmp(cmd, "hang-fork");
    if (hang)
        cmd[0] = 0;
    pthread_mutex_unlock(&mu);
    pid_t pid = real_fork();
    if (pid == 0 && hang) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(1); /* the parent is already gone */
        for (;;)
            pause();
    }
    return pid;
}

int close(int fd)
{
    init();
    if (fd >= 0 && fd < SHIM_FDS_MAX && fds[fd].file) {
        pthread_mutex_lock(&mu);
        fds[fd].file = 0; /* unsynced bytes stay (in the "page cache") until a sync */
        pthread_mutex_unlock(&mu);
    }
    return real_close(fd);
}
