/* test_wal.c: unit tests for io/wal.c, io/wal_recover.c and io/atomic_file.c, each in its
 * own temporary directory: round trip across rotation, torn tail truncated, corruption
 * refused with file and offset, sticky fsync failure, many records with compaction. */
#include "test.h"

#include "faultline/atomic_file.h"
#include "faultline/error.h"
#include "faultline/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len >= sl && strcmp(e->d_name + len - sl, suffix) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Record seq's payload: its length and bytes are a function of seq. */
static size_t payload(uint64_t seq, uint8_t *out, size_t size_mod)
{
    size_t n = size_mod ? (size_t)(seq * 37 % size_mod) : 20;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(seq * 131 + i);
    return n;
}

static void append_range(fl_wal *w, uint64_t from, uint64_t to, size_t size_mod, size_t sync_every)
{
    uint8_t buf[512];
    for (uint64_t s = from; s <= to; s++) {
        uint64_t seq;
        CHECK_EQ(fl_wal_append(w, buf, payload(s, buf, size_mod), &seq), 0);
        CHECK_EQ(seq, s);
        if (sync_every && s % sync_every == 0)
            CHECK_EQ(fl_wal_sync(w), 0);
    }
}

/* Iterates from from_seq and checks every record is the expected one, up to last. */
static void check_records(fl_wal *w, uint64_t from, uint64_t last, size_t size_mod)
{
    fl_wal_iter it;
    fl_wal_record r;
    uint8_t want[512];
    CHECK_EQ(fl_wal_iter_init(w, &it, from), 0);
    uint64_t seq = from < fl_wal_first_seq(w) ? fl_wal_first_seq(w) : from;
    int rc;
    while ((rc = fl_wal_iter_next(&it, &r)) == 1) {
        CHECK_EQ(r.seq, seq);
        size_t n = payload(seq, want, size_mod);
        CHECK_EQ(r.len, n);
        CHECK(n == 0 || memcmp(r.data, want, n) == 0);
        seq++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(seq, last + 1);
    fl_wal_iter_close(&it);
}

TEST(wal_roundtrip_across_rotation)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_config cfg = {.segment_size_max = 4096};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(fl_wal_first_seq(&w), 1);
    CHECK_EQ(fl_wal_last_seq(&w), 0);
    append_range(&w, 1, 500, 200, 10);
    CHECK_EQ(fl_wal_synced_seq(&w), 500);
    CHECK(w.stats.rotations >= 10);
    check_records(&w, 1, 500, 200); /* the live log iterates too */
    fl_wal other;
    CHECK_EQ(fl_wal_open(&other, dir, &cfg), FL_EBUSY); /* one writer per directory */
    CHECK(strstr(fl_wal_errmsg(&other), "in use"));
    fl_wal_close(&w);
    CHECK_EQ(count_files(dir, ".seg"), w.stats.rotations + 1);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.recovered_records, 500);
    CHECK_EQ(w.stats.truncated_bytes, 0);
    CHECK_EQ(fl_wal_first_seq(&w), 1);
    CHECK_EQ(fl_wal_last_seq(&w), 500);
    CHECK_EQ(fl_wal_synced_seq(&w), 500);
    check_records(&w, 1, 500, 200);
    check_records(&w, 250, 500, 200);
    check_records(&w, 501, 500, 200); /* past the end: nothing */
    append_range(&w, 501, 520, 200, 0);
    CHECK_EQ(fl_wal_sync(&w), 0);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    check_records(&w, 1, 520, 200);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_torn_tail_is_truncated_and_log_stays_usable)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {0};
    fl_wal_config cfg = {.faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 20, 0, 20); /* 20 records of 20 bytes (36 on disk), synced */
    /* the next write (5 records, one buffer) reaches the disk only in part: 1.5 records */
    faults.tear_after = 1;
    faults.tear_keep_bytes = 36 + 18;
    append_range(&w, 21, 25, 0, 0);
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);
    CHECK(strstr(fl_wal_errmsg(&w), "torn"));
    CHECK_EQ(fl_wal_append(&w, "x", 1, NULL), FL_EIO); /* sticky */
    CHECK_EQ(fl_wal_synced_seq(&w), 20);
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 18); /* the half record */
    CHECK_EQ(fl_wal_last_seq(&w), 21);     /* the whole one is kept */
    check_records(&w, 1, 21, 0);
    append_range(&w, 22, 30, 0, 0);
    CHECK_EQ(fl_wal_sync(&w), 0);
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 0);
    check_records(&w, 1, 30, 0);
    /* a tear inside a record's 16-byte header */
    faults.tear_after = 1;
    faults.tear_keep_bytes = 7;
    append_range(&w, 31, 31, 0, 0);
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 7);
    check_records(&w, 1, 30, 0);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_zeroed_tail_is_the_end_of_records)
{
    /* a crash can leave the file longer than what reached the disk, filled with zeros: read
     * like preallocated space (test_wal_prefill.c), the end of the records, kept */
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, NULL), 0);
    append_range(&w, 1, 10, 0, 10);
    fl_wal_close(&w);
    char path[128];
    snprintf(path, sizeof(path), "%s/wal-00000000000000000001.seg", dir);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, 32 + 10 * 36 + 4096), 0);
    close(fd);
    CHECK_EQ(fl_wal_open(&w, dir, NULL), 0);
    CHECK_EQ(w.stats.truncated_bytes, 0);
    check_records(&w, 1, 10, 0);
    append_range(&w, 11, 12, 0, 1);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, NULL), 0);
    check_records(&w, 1, 12, 0);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_corruption_in_the_middle_refuses_with_file_and_offset)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {.corrupt_seq = 50, .corrupt_offset = 16 + 3}; /* a payload byte */
    fl_wal_config cfg = {.faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 100, 0, 100);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    const char *msg = fl_wal_errmsg(&w);
    CHECK(strstr(msg, dir));
    CHECK(strstr(msg, "wal-00000000000000000001.seg"));
    CHECK(strstr(msg, "record seq 50 at byte offset 1796")); /* 32 + 49 * 36 */
    CHECK(strstr(msg, "checksum mismatch"));
    CHECK(strstr(msg, "followed by a valid record at byte offset 1832"));
    fl_test_rmtree(dir);
}

TEST(wal_corruption_in_an_older_segment_refuses)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {.corrupt_seq = 3, .corrupt_offset = 0}; /* the length field */
    fl_wal_config cfg = {.segment_size_max = 32 + 4 * 36, .faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 12, 0, 1); /* 4 records per segment: 3 segments */
    CHECK_EQ(count_files(dir, ".seg"), 3);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "wal-00000000000000000001.seg: record seq 3 at byte "
                                    "offset 104"));
    CHECK(strstr(fl_wal_errmsg(&w), "not in the last segment"));
    fl_test_rmtree(dir);
}

TEST(wal_damaged_last_record_is_indistinguishable_from_a_tear)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {.corrupt_seq = 10, .corrupt_offset = 20};
    fl_wal_config cfg = {.faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 10, 0, 10);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 36);
    CHECK_EQ(fl_wal_last_seq(&w), 9);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

/* A segment missing below others is a deletion a crash interrupted (fl_wal_delete_before
 * unlinks a prefix of the segments before its directory sync, and a crash may keep any subset
 * of those unlinks: fs.h rule 3): open sets the segments below the missing one aside (the log
 * starts after it; the files stay, in case the caller refuses: the Raft store does if its
 * snapshot needs more, test_raft_store) and fl_wal_finish_deletes deletes them. Before the
 * directory model kept unlinks out of order, open refused it ("segment number 3 does not
 * follow 1"). A bad header is still refused. */
TEST(wal_missing_segment_finishes_the_deletion_a_bad_header_refuses)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_config cfg = {.segment_size_max = 32 + 4 * 36};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 12, 0, 4);
    fl_wal_close(&w);
    char path[128];
    snprintf(path, sizeof(path), "%s/wal-00000000000000000005.seg", dir);
    CHECK_EQ(unlink(path), 0);
    char first[128];
    snprintf(first, sizeof(first), "%s/wal-00000000000000000001.seg", dir);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.recovered_records, 4); /* the kept segment's, once */
    CHECK_EQ(fl_wal_first_seq(&w), 9);
    CHECK_EQ(fl_wal_last_seq(&w), 12);
    fl_wal_close(&w);
    CHECK(access(first, F_OK) == 0);         /* set aside, not deleted: nobody asked */
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0); /* the same again */
    CHECK_EQ(fl_wal_first_seq(&w), 9);
    CHECK_EQ(w.stats.unfinished_deletes, 0);
    CHECK_EQ(fl_wal_finish_deletes(&w), 0);
    CHECK_EQ(w.stats.unfinished_deletes, 1);
    fl_wal_close(&w);
    CHECK(access(first, F_OK) != 0); /* gone for good */
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.unfinished_deletes, 0);
    CHECK_EQ(fl_wal_first_seq(&w), 9);
    fl_wal_close(&w);
    snprintf(path, sizeof(path), "%s/wal-00000000000000000009.seg", dir);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, "X", 1, 0), 1);
    close(fd);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "wal-00000000000000000009.seg: bad segment header at "
                                    "byte offset 0: bad magic"));
    fl_test_rmtree(dir);
}

TEST(wal_fsync_failure_is_sticky)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {0};
    fl_wal_config cfg = {.faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 5, 0, 5);
    faults.fsync_fail_after = 1;
    append_range(&w, 6, 6, 0, 0);
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);
    CHECK(strstr(fl_wal_errmsg(&w), "fdatasync("));
    CHECK(strstr(fl_wal_errmsg(&w), "Input/output error"));
    CHECK_EQ(fl_wal_synced_seq(&w), 5);
    CHECK_EQ(faults.fsync_fail_after, 0); /* the hook fired once ... */
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);    /* ... but the error stays: no retry-and-continue */
    CHECK_EQ(fl_wal_append(&w, "x", 1, NULL), FL_EIO);
    size_t deleted;
    CHECK_EQ(fl_wal_delete_before(&w, 3, &deleted), FL_EIO);
    fl_wal_iter it;
    CHECK_EQ(fl_wal_iter_init(&w, &it, 1), FL_EIO);
    CHECK_EQ(fl_wal_synced_seq(&w), 5);
    fl_wal_close(&w);
    /* the node restarts: recovery decides from what is on disk */
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK(fl_wal_last_seq(&w) >= 5);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_rotation_fsync_failure_is_sticky)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_faults faults = {0};
    fl_wal_config cfg = {.segment_size_max = 32 + 2 * 36, .faults = &faults};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 2, 0, 0);
    faults.fsync_fail_after = 1;
    uint8_t b[20] = {0};
    CHECK_EQ(fl_wal_append(&w, b, sizeof(b), NULL), FL_EIO); /* rotation syncs first */
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_record_limits_and_leftover_tmp)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_config cfg = {.record_size_max = 100};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    static uint8_t big[101];
    CHECK_EQ(fl_wal_append(&w, big, sizeof(big), NULL), FL_ETOOBIG);
    CHECK_EQ(fl_wal_append(&w, big, 100, NULL), 0); /* not sticky */
    CHECK_EQ(fl_wal_append(&w, NULL, 0, NULL), 0);  /* empty records are records */
    CHECK_EQ(fl_wal_sync(&w), 0);
    fl_wal_close(&w);
    char path[128];
    snprintf(path, sizeof(path), "%s/wal-00000000000000000003.seg.tmp", dir);
    int fd = open(path, O_WRONLY | O_CREAT, 0644); /* a rotation that crashed */
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(fl_wal_last_seq(&w), 2);
    CHECK_EQ(count_files(dir, ".tmp"), 0);
    fl_wal_close(&w);
    cfg.record_size_max = FL_WAL_RECORD_LEN_LIMIT + 1;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECONFIG);
    fl_test_rmtree(dir);
}

TEST(wal_many_records_group_commit_and_compaction)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    fl_wal_config cfg = {.segment_size_max = 64 << 10, .buffer_size_max = 4096};
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append_range(&w, 1, 20000, 64, 64);
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(fl_wal_synced_seq(&w), 20000);
    CHECK(w.stats.fsyncs < 20000 / 64 + 3 * (w.stats.rotations + 1) + 2); /* group commit */
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.recovered_records, 20000);
    check_records(&w, 1, 20000, 64);
    size_t segs = count_files(dir, ".seg"), deleted;
    CHECK(segs > 5);
    CHECK_EQ(fl_wal_delete_before(&w, 10000, &deleted), 0);
    CHECK(deleted > 0);
    CHECK_EQ(count_files(dir, ".seg"), segs - deleted);
    uint64_t first = fl_wal_first_seq(&w);
    CHECK(first > 1);
    CHECK(first <= 10000);
    CHECK_EQ(fl_wal_delete_before(&w, UINT64_MAX, &deleted), 0); /* never the last one */
    CHECK_EQ(count_files(dir, ".seg"), 1);
    first = fl_wal_first_seq(&w);
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(fl_wal_first_seq(&w), first);
    check_records(&w, 1, 20000, 64);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(atomic_file_replaces_whole_content)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_errmsg m;
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_read_file(dir, "state", 100, &b, &m), FL_ENOTFOUND);
    CHECK_EQ(fl_atomic_write_file(dir, "state", "term=1 vote=2", 13, &m), 0);
    CHECK_EQ(fl_read_file(dir, "state", 100, &b, &m), 0);
    CHECK_EQ(b.len, 13);
    CHECK(memcmp(b.data, "term=1 vote=2", 13) == 0);
    CHECK_EQ(fl_atomic_write_file(dir, "state", "term=3", 6, &m), 0);
    fl_buf_reset(&b);
    CHECK_EQ(fl_read_file(dir, "state", 100, &b, &m), 0);
    CHECK_EQ(b.len, 6);
    CHECK(memcmp(b.data, "term=3", 6) == 0);
    CHECK_EQ(fl_read_file(dir, "state", 5, &b, &m), FL_ETOOBIG);
    CHECK_EQ(count_files(dir, ".tmp"), 0);
    CHECK_EQ(fl_atomic_write_file("/nonexistent-dir-fl", "x", "y", 1, &m), FL_EIO);
    CHECK(strstr(m.text, "No such file"));
    fl_buf_free(&b);
    fl_test_rmtree(dir);
}

/* Crash property over seeds: random appends and syncs with small segments, then a write
 * torn at a random byte (a crash during write). After reopening: every synced record is
 * there, the log is a prefix of what was appended, and it keeps working. */
TEST(wal_random_crashes_keep_synced_prefix)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    for (uint64_t seed = 1; seed <= 10; seed++) {
        uint64_t x = seed * 0x9E3779B97F4A7C15ull;
        fl_wal w;
        fl_wal_faults faults = {0};
        fl_wal_config cfg = {.segment_size_max = 2048, .buffer_size_max = 256, .faults = &faults};
        CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
        uint64_t last = fl_wal_last_seq(&w);
        CHECK_EQ(fl_wal_synced_seq(&w), last);
        check_records(&w, 1, last, 200);
        int ops = 20 + (int)(x % 40);
        for (int op = 0; op < ops; op++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint8_t rec[512];
            CHECK_EQ(fl_wal_append(&w, rec, payload(last + 1, rec, 200), NULL), 0);
            last++;
            if ((x >> 33) % 4 == 0)
                CHECK_EQ(fl_wal_sync(&w), 0);
        }
        uint64_t synced = fl_wal_synced_seq(&w);
        faults.tear_after = 1 + (uint32_t)((x >> 20) % 2); /* this write or the next */
        faults.tear_keep_bytes = (size_t)((x >> 40) % 300);
        int rc = 0;
        for (int i = 0; i < 10 && rc == 0; i++) {
            uint8_t rec[512];
            rc = fl_wal_append(&w, rec, payload(last + 1, rec, 200), NULL);
            if (rc == 0)
                rc = fl_wal_sync(&w);
            if (rc == 0)
                last++;
        }
        CHECK_EQ(rc, FL_EIO);
        CHECK(fl_wal_synced_seq(&w) >= synced);
        synced = fl_wal_synced_seq(&w);
        fl_wal_close(&w); /* the "crash" */

        CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
        CHECK(fl_wal_last_seq(&w) >= synced);
        check_records(&w, 1, fl_wal_last_seq(&w), 200); /* a prefix of what was appended */
        fl_wal_close(&w);
    }
    fl_test_rmtree(dir);
}

TEST(wal_iteration_reports_a_file_changed_under_the_log)
{
    char buf[64], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal");
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, NULL), 0);
    append_range(&w, 1, 5, 0, 5);
    char path[128];
    snprintf(path, sizeof(path), "%s/wal-00000000000000000001.seg", dir);
    CHECK_EQ(truncate(path, 10), 0); /* someone else cut the file */
    fl_wal_iter it;
    fl_wal_record r;
    CHECK_EQ(fl_wal_iter_init(&w, &it, 1), 0);
    CHECK_EQ(fl_wal_iter_next(&it, &r), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "changed since open"));
    fl_wal_iter_close(&it);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, NULL), FL_ECORRUPT); /* a 10-byte segment: bad header */
    fl_test_rmtree(dir);
}
