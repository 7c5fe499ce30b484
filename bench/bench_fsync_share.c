/* bench_fsync_share.c: what one disk does when several writers sync at once, as the three
 * nodes of a local cluster do (issue 16: the latency floor of a replicated write on this
 * machine is a follower's fdatasync, and here all three nodes' fdatasyncs share one device).
 *
 *   build/bench/bench_fsync_share [DIR_PARENT] [SECONDS] [WRITERS...]
 *
 * defaults: /tmp, 3 s, writer counts 1 2 3 1 2 3 (each count twice, in turn: the disk is
 * shared with the machine's other tenants, so a change between the first and the second pass
 * is their load, not ours). For each count K, K threads each append 4 KiB blocks to a file of
 * their own (preallocated and synced first, so a sync writes data, not metadata, as the WAL's
 * prefill arranges) and fdatasync after every block, for SECONDS. Printed per pass: the syncs
 * per second over all writers, and one sync's latency (p50, p99, max) over all of them. A
 * disk that overlapped syncs would show syncs/s growing with K at a flat p50. */
#include "faultline/duration.h"
#include "faultline/hist.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK       4096
#define FILE_BYTES  (64u << 20) /* wraps around: a pass never grows the file */
#define WRITERS_MAX 16

typedef struct writer {
    pthread_t tid;
    int fd;
    fl_time_ns until;
    fl_hist lat;
    int err;
} writer;

static fl_time_ns now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

static void *run_writer(void *arg)
{
    writer *w = arg;
    static const char block[BLOCK] = {1};
    off_t off = 0;
    for (fl_time_ns t = now_ns(); t < w->until;) {
        if (pwrite(w->fd, block, BLOCK, off) != BLOCK || fdatasync(w->fd) != 0) {
            w->err = 1;
            break;
        }
        fl_time_ns t1 = now_ns();
        fl_hist_record(&w->lat, t1 - t);
        t = t1;
        off = (off + BLOCK) % FILE_BYTES;
    }
    return NULL;
}

/* A file of FILE_BYTES zeros, on disk and synced, so that a pass overwrites blocks. */
static int zero_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    static const char zeros[1 << 16];
    for (off_t o = 0; o < FILE_BYTES; o += sizeof(zeros))
        if (pwrite(fd, zeros, sizeof(zeros), o) != (ssize_t)sizeof(zeros)) {
            close(fd);
            return -1;
        }
    if (fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int pass(writer *ws, int k, double seconds)
{
    fl_time_ns t0 = now_ns(), until = t0 + (fl_time_ns)(seconds * 1e9);
    for (int i = 0; i < k; i++) {
        fl_hist_init(&ws[i].lat);
        ws[i].until = until;
        ws[i].err = 0;
        if (pthread_create(&ws[i].tid, NULL, run_writer, &ws[i]) != 0)
            return -1;
    }
    fl_hist all;
    fl_hist_init(&all);
    int err = 0;
    for (int i = 0; i < k; i++) {
        pthread_join(ws[i].tid, NULL);
        err |= ws[i].err;
        fl_hist_merge(&all, &ws[i].lat);
    }
    if (err)
        return -1;
    double secs = (double)(now_ns() - t0) / 1e9;
    char p50[24], p99[24], max[24];
    printf("  %d writer%s  %8.0f syncs/s  one sync: p50 %s  p99 %s  max %s\n", k, k > 1 ? "s" : " ",
           (double)all.count / secs,
           fl_format_duration(fl_hist_percentile(&all, 50), p50, sizeof(p50)),
           fl_format_duration(fl_hist_percentile(&all, 99), p99, sizeof(p99)),
           fl_format_duration(all.max, max, sizeof(max)));
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : "/tmp";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int counts[32] = {1, 2, 3, 1, 2, 3}, n = 6;
    if (argc > 3) {
        n = 0;
        for (int i = 3; i < argc && n < 32; i++)
            counts[n++] = atoi(argv[i]);
    }
    if (seconds <= 0 || seconds > 600) {
        fprintf(stderr, "bench_fsync_share: SECONDS must be in (0, 600], not '%s'\n", argv[2]);
        return 64;
    }
    int kmax = 0;
    for (int i = 0; i < n; i++) {
        if (counts[i] < 1 || counts[i] > WRITERS_MAX) {
            fprintf(stderr, "bench_fsync_share: a writer count is 1..%d\n", WRITERS_MAX);
            return 64;
        }
        kmax = counts[i] > kmax ? counts[i] : kmax;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/fl-fsync-share-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_fsync_share: cannot create a directory under %s: %s\n", parent,
                strerror(errno));
        return 73;
    }
    writer ws[WRITERS_MAX];
    char path[WRITERS_MAX][600];
    int rc = 0;
    for (int i = 0; i < kmax && !rc; i++) {
        snprintf(path[i], sizeof(path[i]), "%s/w%d", dir, i);
        ws[i].fd = zero_file(path[i]);
        if (ws[i].fd < 0) {
            fprintf(stderr, "bench_fsync_share: cannot prepare %s: %s\n", path[i], strerror(errno));
            kmax = i;
            rc = 74;
        }
    }
    if (!rc) {
        printf("bench_fsync_share: 4 KiB pwrite + fdatasync per block, each writer its own file "
               "under %s, %.1f s per pass\n",
               parent, seconds);
        for (int i = 0; i < n && !rc; i++)
            if (pass(ws, counts[i], seconds) != 0) {
                fprintf(stderr, "bench_fsync_share: a write or fdatasync failed\n");
                rc = 74;
            }
    }
    for (int i = 0; i < kmax; i++) {
        close(ws[i].fd);
        unlink(path[i]);
    }
    rmdir(dir);
    return rc;
}
