/* server_snap.c: a node's snapshots taken without stopping its loop (the host's
 * env.snapshot_start, host.h): a forked child serializes the kv as it was at the fork
 * (the copy-on-write image of that moment, at the applied index the host named) and writes
 * the bytes to a pipe; the loop reads them as they come, between its other work, and hands
 * them to the host when the child has exited cleanly. The serialization (sorting every key,
 * copying every value: 50-400 ms for 100,000 keys here) used to stop the node for its
 * duration; what is left on the loop is the fork (page tables) and reading the bytes.
 *
 * The child closes every descriptor but the pipe's and stderr's first, so that a connection
 * the parent closes is not held open by the child's copy, and it ends with _exit (no atexit
 * handler, no stdio flush of the parent's buffers). A child that fails, dies or is cut short
 * yields no snapshot: the host tries again after more entries. So does one that hangs (a lock
 * inherited across fork held forever: session 7): each read that brings bytes tells the host
 * (fl_host_snapshot_progress), and after --snapshot-timeout without any the host's watchdog
 * gives it up (env.snapshot_cancel: killed with SIGKILL, reaped, its pipe closed, its bytes
 * freed, a failure counted).
 *
 * Invariant: snap_pid != 0 exactly while a child runs and snap_fd is its pipe (watched). */
#include "server_int.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIPE_BYTES (1 << 20) /* asked of the kernel (F_SETPIPE_SZ) */
/* One read per readable event: the loop's other work goes on in between. A read of 2 MiB
 * (page faults of the buffer growing, the copy, the CRC) took 10-50 ms of a pass on a loaded
 * 2-core machine; 256 KiB keeps a pass near a few ms. */
#define READ_CHUNK (256 << 10)
#define CHILD_NICE 19 /* the child yields the CPU to the nodes' loops (issue 16) */

/* Closes every descriptor from first on (the child's copies of sockets and files). */
static void close_from(int first)
{
#ifdef CLOSE_RANGE_UNSHARE
    if (close_range((unsigned)first, ~0u, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd < (max > 0 ? max : 65536); fd++)
        close((int)fd);
}

/* The child: the kv's bytes down fd, then gone. Never returns. */
static void child(srv *s, int fd)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* not outliving a node killed meanwhile */
    /* Serializing is CPU-bound for 50-400 ms, and every node of a cluster does it at about
     * the same index: on a machine with fewer cores than nodes, at normal priority the
     * children took the loops' CPU (passes of 10-50 ms). Best effort. */
    (void)setpriority(PRIO_PROCESS, 0, CHILD_NICE);
    if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
        _exit(2);
    close_from(4);
    fl_buf b;
    fl_buf_init(&b);
    if (fl_kv_snapshot(&s->kv, &b) != 0 || b.err)
        _exit(1);
    for (size_t off = 0; off < b.len;) {
        ssize_t n = write(3, b.data + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1);
        off += (size_t)n;
    }
    _exit(0);
}

/* The child is done (eof) or gone wrong: reaps it and hands the host what it wrote. */
static void finish(srv *s, bool eof)
{
    fl_loop_watch_stop(&s->loop, &s->snap_watch);
    close(s->snap_fd);
    s->snap_fd = -1;
    int status = 0;
    while (waitpid(s->snap_pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->snap_pid = 0;
    bool ok = eof && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    s->snap_failures += !ok;
    if (!ok)
        FL_WARN("snapshot: the serializing child failed (status %d); trying again later", status);
    fl_time_ns t0 = fl__stall_now();
    fl_host_snapshot_done(&s->host, s->snap_index, ok ? 0 : FL_EIO, &s->snap_bytes, s->snap_crc);
    fl_buf_free(&s->snap_bytes);
    fl__stall_add(s, SRV_WORK_SNAP_TAKE, t0);
}

static void snap_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    srv *s = w->arg;
    (void)loop;
    (void)ev;
    fl_time_ns t0 = fl__stall_now();
    uint8_t *p = fl_buf_extend(&s->snap_bytes, READ_CHUNK);
    if (!p) {
        finish(s, false); /* out of memory: no snapshot this time */
        return;
    }
    ssize_t n = read(s->snap_fd, p, READ_CHUNK);
    s->snap_bytes.len -= READ_CHUNK - (n > 0 ? (size_t)n : 0);
    if (n > 0) {
        s->snap_crc = fl_crc32c(s->snap_crc, p, (size_t)n);
        fl_host_snapshot_progress(&s->host, s->snap_index); /* alive: the watchdog waits on */
        fl__stall_add(s, SRV_WORK_SNAP_READ, t0);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        finish(s, n == 0);
    }
}

int fl__srv_snapshot_start(srv *s, fl_index index)
{
    if (s->snap_pid)
        return FL_EBUSY;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return FL_EIO;
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES); /* fewer, larger reads; best effort */
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(s, p[1]);
    }
    close(p[1]);
    if (pid < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        if (pid > 0) { /* cannot watch it: stop it */
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        close(p[0]);
        s->snap_failures++;
        return FL_EIO;
    }
    s->snap_pid = pid;
    s->snap_fd = p[0];
    s->snap_index = index;
    s->snap_crc = 0;
    fl_buf_init(&s->snap_bytes);
    if (fl_loop_watch_start(&s->loop, &s->snap_watch, p[0], FL_LOOP_READ, snap_io, s) != 0) {
        kill(pid, SIGKILL);
        finish(s, false);
        return FL_EIO;
    }
    return 0;
}

/* The host gave the child up (no byte for --snapshot-timeout): it goes as at a stop, and
 * the host tries another snapshot after more entries. Its fork's next child is a new process,
 * free of whatever this one hung on. */
void fl__srv_snapshot_cancel(srv *s, fl_index index)
{
    if (!s->snap_pid || index != s->snap_index)
        return; /* already over (the host calls only for the one it started) */
    pid_t pid = s->snap_pid;
    size_t got = s->snap_bytes.len;
    fl__srv_snapshot_stop(s);
    s->snap_failures++;
    FL_WARN("snapshot: the serializing child (pid %d, index %llu) sent %s for %.1f s: killed; "
            "trying again later",
            (int)pid, (unsigned long long)index, got ? "nothing more" : "nothing",
            (double)s->cfg.snapshot_timeout_ns / 1e9);
}

void fl__srv_snapshot_stop(srv *s)
{
    if (!s->snap_pid)
        return;
    kill(s->snap_pid, SIGKILL);
    fl_loop_watch_stop(&s->loop, &s->snap_watch);
    close(s->snap_fd);
    s->snap_fd = -1;
    while (waitpid(s->snap_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    s->snap_pid = 0;
    fl_buf_free(&s->snap_bytes);
}
