/* bench_wal.c: WAL append + fdatasync latency and group-commit throughput on this machine's
 * disk, in a temporary directory (removed at the end).
 *
 *   build/bench/bench_wal [DIR_PARENT] [SYNCED_RECORDS] [BATCHES]
 *
 * Phase 1: SYNCED_RECORDS (default 2000) records of 100 bytes, each appended and synced
 *          alone: the latency of one durable append (p50 / p99 / max) and the process's CPU
 *          time per sync (user + system, getrusage), twice: appending to a growing file, then
 *          preallocated (fl_wal_prefill before each sync, as the Raft store's sync job does,
 *          2 MiB ahead: records overwrite zeroed blocks; its time is counted in the latency).
 * Phase 2: BATCHES (default 500) batches of 64 records of 100 bytes, one sync per batch:
 *          group commit throughput (records/s, MB/s) and per-batch latency, the same twice.
 * Phase 3: the same records with no sync at all, as the ceiling the disk sync costs against. */
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/hist.h"
#include "faultline/raft_store.h"
#include "faultline/wal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define RECORD_BYTES 100
#define BATCH        64

static fl_time_ns now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void die(fl_wal *w, int rc, const char *what)
{
    fprintf(stderr, "bench_wal: %s: %s (%s)\n", what, fl_strerror(rc), fl_wal_errmsg(w));
    exit(1);
}

static void print_hist(const char *label, const fl_hist *h)
{
    char p50[24], p99[24], max[24], mean[24];
    printf("  %-28s p50 %s  p99 %s  max %s  mean %s  (n=%llu)\n", label,
           fl_format_duration(fl_hist_percentile(h, 50), p50, sizeof(p50)),
           fl_format_duration(fl_hist_percentile(h, 99), p99, sizeof(p99)),
           fl_format_duration(h->max, max, sizeof(max)),
           fl_format_duration((fl_time_ns)fl_hist_mean(h), mean, sizeof(mean)),
           (unsigned long long)h->count);
}

/* The process's CPU time so far (user + system), in microseconds. */
static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void open_wal(fl_wal *w, const char *dir, bool prefill)
{
    fl_wal_config cfg = {.prefill = prefill ? FL_RAFT_STORE_PREFILL : 0};
    int rc = fl_wal_open(w, dir, &cfg);
    if (rc)
        die(w, rc, "open");
}

static void sync_one(fl_wal *w, bool prefill)
{
    int rc = prefill ? fl_wal_prefill(w) : 0; /* as the Raft store's sync job does */
    if (!rc)
        rc = fl_wal_sync(w);
    if (rc)
        die(w, rc, "sync");
}

static void phase_synced(const char *dir, uint64_t n, bool prefill, fl_hist *h)
{
    fl_wal w;
    open_wal(&w, dir, prefill);
    uint8_t rec[RECORD_BYTES];
    memset(rec, 'r', sizeof(rec));
    double cpu0 = cpu_us();
    for (uint64_t i = 0; i < n; i++) {
        fl_time_ns t0 = now_ns();
        int rc = fl_wal_append(&w, rec, sizeof(rec), NULL);
        if (rc)
            die(&w, rc, "append");
        sync_one(&w, prefill);
        fl_hist_record(h, now_ns() - t0);
    }
    double cpu = cpu_us() - cpu0;
    printf("phase 1%s: %llu x (append %d B + fdatasync)\n", prefill ? "b, preallocated" : "a",
           (unsigned long long)n, RECORD_BYTES);
    print_hist("append+sync latency", h);
    printf("  %-28s %.0f records/s, fsyncs %llu, CPU %.1f us per sync, zeros %llu B\n",
           "throughput", (double)n / ((double)h->sum / 1e9), (unsigned long long)w.stats.fsyncs,
           cpu / (double)n, (unsigned long long)w.stats.prefill_bytes);
    fl_wal_close(&w);
}

static double phase_batched(const char *dir, uint64_t batches, bool sync, bool prefill, fl_hist *h)
{
    fl_wal w;
    int rc;
    open_wal(&w, dir, prefill);
    uint8_t rec[RECORD_BYTES];
    memset(rec, 'g', sizeof(rec));
    fl_time_ns start = now_ns();
    for (uint64_t b = 0; b < batches; b++) {
        fl_time_ns t0 = now_ns();
        for (int i = 0; i < BATCH; i++)
            if ((rc = fl_wal_append(&w, rec, sizeof(rec), NULL)))
                die(&w, rc, "append");
        if (sync)
            sync_one(&w, prefill);
        fl_hist_record(h, now_ns() - t0);
    }
    if (!sync && (rc = fl_wal_sync(&w))) /* one final sync, outside the timed loop's batches */
        die(&w, rc, "sync");
    double secs = (double)(now_ns() - start) / 1e9;
    fl_wal_close(&w);
    return secs;
}

static void report_batched(const char *title, uint64_t batches, double secs, const fl_hist *h)
{
    double records = (double)batches * BATCH;
    printf("%s\n", title);
    print_hist("batch latency", h);
    printf("  %-28s %.0f records/s, %.1f MB/s of records (%.2f s)\n", "throughput", records / secs,
           records * (16 + RECORD_BYTES) / secs / 1e6, secs);
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : "/tmp";
    uint64_t synced = 2000, batches = 500;
    if ((argc > 2 && fl_parse_u64(argv[2], 1, 10000000, &synced)) ||
        (argc > 3 && fl_parse_u64(argv[3], 1, 10000000, &batches))) {
        fprintf(stderr, "usage: bench_wal [DIR_PARENT] [SYNCED_RECORDS] [BATCHES]\n");
        return 2;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/fl-bench-wal-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("bench_wal: directory %s\n", dir);
    static fl_hist h1, h1b, h2, h2b, h3;
    fl_hist_init(&h1);
    fl_hist_init(&h1b);
    fl_hist_init(&h2);
    fl_hist_init(&h2b);
    fl_hist_init(&h3);
    char d1[600], d1b[600], d2[600], d2b[600], d3[600];
    snprintf(d1, sizeof(d1), "%s/synced", dir);
    snprintf(d1b, sizeof(d1b), "%s/synced-pre", dir);
    snprintf(d2, sizeof(d2), "%s/group", dir);
    snprintf(d2b, sizeof(d2b), "%s/group-pre", dir);
    snprintf(d3, sizeof(d3), "%s/nosync", dir);
    phase_synced(d1, synced, false, &h1);
    phase_synced(d1b, synced, true, &h1b);
    char title[128];
    for (int pre = 0; pre < 2; pre++) {
        fl_hist *h = pre ? &h2b : &h2;
        double s2 = phase_batched(pre ? d2b : d2, batches, true, pre, h);
        snprintf(title, sizeof(title), "phase 2%s: %llu x (%d appends of %d B + one fdatasync)",
                 pre ? "b, preallocated" : "a", (unsigned long long)batches, BATCH, RECORD_BYTES);
        report_batched(title, batches, s2, h);
    }
    double s3 = phase_batched(d3, batches, false, false, &h3);
    snprintf(title, sizeof(title), "phase 3: %llu x %d appends of %d B, no sync (ceiling)",
             (unsigned long long)batches, BATCH, RECORD_BYTES);
    report_batched(title, batches, s3, &h3);
    rmtree(d1);
    rmtree(d1b);
    rmtree(d2);
    rmtree(d2b);
    rmtree(d3);
    rmdir(dir);
    return 0;
}
