/* test_wal_prefill.c: the WAL's zero tail (preallocation, src/storage/wal.c "ZERO TAIL"):
 * records written over zeros and recovered, the zero tail kept as the normal end, a torn
 * record before zeros truncated, damage before valid records still refused, a crash in the
 * middle of a zero fill, rotation with unused zeros; and the simulated disk's overwrites the
 * simulator runs it on. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/rng.h"
#include "faultline/simdisk.h"
#include "faultline/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG1 "wal-00000000000000000001.seg"

static long long file_len(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Writes n bytes of b at off of dir/name. */
static void poke(const char *dir, const char *name, long long off, const void *b, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, b, n, off), (long long)n);
    close(fd);
}

/* Record seq: 20 bytes, a function of seq (36 bytes with its header). */
#define REC 36
static void append(fl_wal *w, uint64_t from, uint64_t to)
{
    for (uint64_t s = from; s <= to; s++) {
        uint8_t p[20];
        for (size_t i = 0; i < sizeof(p); i++)
            p[i] = (uint8_t)(s * 131 + i);
        uint64_t seq;
        CHECK_EQ(fl_wal_append(w, p, sizeof(p), &seq), 0);
        CHECK_EQ(seq, s);
    }
}

/* Every record 1..last is there and right, and nothing after it. */
static void check_records(fl_wal *w, uint64_t last)
{
    fl_wal_iter it;
    fl_wal_record r;
    CHECK_EQ(fl_wal_iter_init(w, &it, 1), 0);
    uint64_t seq = 1;
    int rc;
    while ((rc = fl_wal_iter_next(&it, &r)) == 1) {
        CHECK_EQ(r.seq, seq);
        CHECK_EQ(r.len, 20);
        for (size_t i = 0; i < 20; i++)
            CHECK_EQ(r.data[i], (uint8_t)(seq * 131 + i));
        seq++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(seq, last + 1);
    fl_wal_iter_close(&it);
}

/* Appends 1..n, syncs, fills zeros ahead: a segment of 32 + n * REC bytes of records and
 * prefill bytes of zeros after them. */
static void make_log(const char *dir, fl_wal_config *cfg, uint64_t n)
{
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, cfg), 0);
    append(&w, 1, n);
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(fl_wal_prefill(&w), 0);
    CHECK_EQ(w.stats.prefill_bytes, cfg->prefill);
    fl_wal_close(&w);
}

TEST(wal_prefill_zero_tail_is_the_end_and_records_go_over_it)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_config cfg = {.prefill = 4096};
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append(&w, 1, 10);
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(fl_wal_prefill(&w), 0);
    CHECK_EQ(w.stats.prefills, 1);
    CHECK_EQ(file_len(dir, SEG1), 32 + 10 * REC + 4096);
    CHECK_EQ(fl_wal_prefill(&w), 0); /* enough ahead: nothing to do */
    CHECK_EQ(w.stats.prefills, 1);
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 0); /* the zeros are kept: the normal end */
    CHECK_EQ(fl_wal_last_seq(&w), 10);
    check_records(&w, 10);
    append(&w, 11, 20); /* over the zeros: the file does not grow */
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(file_len(dir, SEG1), 32 + 10 * REC + 4096);
    fl_wal_close(&w);

    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    check_records(&w, 20);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_prefill_records_outrunning_the_zeros_extend_the_file)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_config cfg = {.prefill = 256};
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(fl_wal_prefill(&w), 0); /* 32 + 256 */
    append(&w, 1, 30);               /* 1080 bytes: past the zeros */
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(file_len(dir, SEG1), 32 + 30 * REC);
    CHECK_EQ(fl_wal_prefill(&w), 0); /* from the new end on, never over a record */
    CHECK_EQ(file_len(dir, SEG1), 32 + 30 * REC + 256);
    append(&w, 31, 32);
    CHECK_EQ(fl_wal_sync(&w), 0);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    check_records(&w, 32);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_prefill_torn_record_before_zeros_is_truncated)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_faults faults = {0};
    fl_wal_config cfg = {.prefill = 4096, .faults = &faults};
    make_log(dir, &cfg, 10);
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    faults.tear_after = 1;
    faults.tear_keep_bytes = 20; /* header and 4 payload bytes of record 11 land */
    append(&w, 11, 11);
    CHECK_EQ(fl_wal_sync(&w), FL_EIO);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 4096); /* the torn record and the zeros after it */
    CHECK_EQ(file_len(dir, SEG1), 32 + 10 * REC);
    check_records(&w, 10);
    append(&w, 11, 12);
    CHECK_EQ(fl_wal_sync(&w), 0);
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    check_records(&w, 12);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

/* Zeros record 5's header (a zeroed sector) in a log of 10 records and a zero tail, opens. */
static int open_with_zeroed_header(uint32_t mutants, char *msg, size_t size)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_config cfg = {.prefill = 4096};
    make_log(dir, &cfg, 10);
    uint8_t zero[16] = {0};
    poke(dir, SEG1, 32 + 4 * REC, zero, sizeof(zero));
    cfg.mutants = mutants;
    fl_wal w;
    int rc = fl_wal_open(&w, dir, &cfg);
    snprintf(msg, size, "%s", fl_wal_errmsg(&w));
    if (rc == 0)
        fl_wal_close(&w);
    fl_test_rmtree(dir);
    return rc;
}

TEST(wal_prefill_zeroed_record_before_valid_ones_refuses)
{
    char msg[1024];
    CHECK_EQ(open_with_zeroed_header(0, msg, sizeof(msg)), FL_ECORRUPT);
    CHECK(strstr(msg, "record seq 5 at byte offset 176") != NULL);
    CHECK(strstr(msg, "followed by a valid record") != NULL);
}

TEST(wal_prefill_mutant_zero_header_ends_is_caught)
{
    /* the planted bug takes the zeroed header for the end and cuts records 5..10 */
    char msg[1024];
    CHECK_EQ(open_with_zeroed_header(FL_WAL_MUTANT_ZERO_HEADER_ENDS, msg, sizeof(msg)), 0);
}

TEST(wal_prefill_bit_flips_before_and_in_the_zero_tail)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_config cfg = {.prefill = 4096};
    make_log(dir, &cfg, 10);
    fl_wal w;
    uint8_t one = 1;
    poke(dir, SEG1, 32 + 3 * REC + 20, &one, 1); /* record 4's payload */
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "record seq 4") != NULL);
    CHECK(strstr(fl_wal_errmsg(&w), "checksum mismatch, followed by a valid record") != NULL);
    fl_test_rmtree(dir);

    dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    make_log(dir, &cfg, 10);
    poke(dir, SEG1, 32 + 10 * REC + 1000, &one, 1); /* inside the zeros of the last segment */
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);        /* no valid record after it: cut */
    CHECK_EQ(w.stats.truncated_bytes, 4096);
    check_records(&w, 10);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_prefill_crash_in_the_middle_of_a_fill)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_faults faults = {0};
    fl_wal_config cfg = {.prefill = 256 << 10, .faults = &faults};
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    append(&w, 1, 10);
    CHECK_EQ(fl_wal_sync(&w), 0);
    faults.tear_after = 2; /* the fill's second 64 KiB write stops after 1000 bytes */
    faults.tear_keep_bytes = 1000;
    CHECK_EQ(fl_wal_prefill(&w), FL_EIO);
    CHECK_EQ(fl_wal_sync(&w), FL_EIO); /* sticky */
    fl_wal_close(&w);
    CHECK_EQ(file_len(dir, SEG1), 32 + 10 * REC + (64 << 10) + 1000);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 0); /* the zeros that landed: the normal end */
    check_records(&w, 10);
    append(&w, 11, 11);
    CHECK_EQ(fl_wal_sync(&w), 0);
    CHECK_EQ(fl_wal_prefill(&w), 0); /* resumes from the file's end */
    CHECK_EQ(file_len(dir, SEG1), 32 + 11 * REC + (256 << 10));
    fl_wal_close(&w);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    check_records(&w, 11);
    fl_wal_close(&w);
    fl_test_rmtree(dir);
}

TEST(wal_prefill_rotation_keeps_unused_zeros_and_checks_them)
{
    char buf[256], *dir = fl_test_tmpdir(buf, sizeof(buf), "wal-prefill");
    fl_wal_config cfg = {.prefill = 4096, .segment_size_max = 400};
    fl_wal w;
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    for (uint64_t s = 1; s <= 40; s++) {
        append(&w, s, s);
        CHECK_EQ(fl_wal_sync(&w), 0);
        CHECK_EQ(fl_wal_prefill(&w), 0);
    }
    CHECK(w.stats.rotations >= 3);
    fl_wal_close(&w);
    /* 10 records (392 bytes) a segment; the fill stops at segment_size_max */
    CHECK_EQ(file_len(dir, SEG1), 400);
    CHECK_EQ(file_len(dir, "wal-00000000000000000011.seg"), 400);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), 0);
    CHECK_EQ(w.stats.truncated_bytes, 0);
    check_records(&w, 40);
    fl_wal_close(&w);

    uint8_t one = 1; /* damage in an older segment's zeros: corruption, not a tear */
    poke(dir, SEG1, 395, &one, 1);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "(not in the last segment)") != NULL);
    uint8_t zero[REC] = {0}; /* its last record lost to zeros: the next segment says so */
    poke(dir, SEG1, 395, zero, 1);
    poke(dir, SEG1, 32 + 9 * REC, zero, REC);
    CHECK_EQ(fl_wal_open(&w, dir, &cfg), FL_ECORRUPT);
    CHECK(strstr(fl_wal_errmsg(&w), "ends before seq 10") != NULL);
    fl_test_rmtree(dir);
}

/* ---- the simulated disk's overwrites ---- */

static void complete_all(fl_simdisk *d)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(d, &notify, &token, &status))
        CHECK_EQ(status, 0);
}

TEST(simdisk_overwrites_of_zeros_survive_only_once_synced)
{
    fl_simdisk *d = fl_simdisk_new("prefill test", 1 << 20, NULL, NULL);
    CHECK(d != NULL);
    fl_fs *fs = fl_simdisk_fs(d);
    fl_errmsg m;
    int fd;
    uint8_t zeros[64] = {0}, data[16];
    memset(data, 0xAB, sizeof(data));
    CHECK_EQ(fs->ops->open(fs, "f", FL_FS_WRITE | FL_FS_CREATE, &fd, &m), 0);
    CHECK_EQ(fs->ops->write(fs, fd, zeros, sizeof(zeros), 0, &m), 0);
    CHECK_EQ(fs->ops->sync(fs, fd, &m), 0);
    CHECK_EQ(fs->ops->sync_dir(fs, &m), 0);
    complete_all(d);
    CHECK_EQ(fs->ops->write(fs, fd, data, sizeof(data), 8, &m), 0);
    CHECK_EQ(fs->ops->write(fs, fd, data, 4, 10, &m), FL_EINVAL); /* over data: refused */
    CHECK_EQ(fs->ops->write(fs, fd, data, 4, 65, &m), FL_EINVAL); /* past the end: refused */
    fl_rng rng;
    fl_rng_seed(&rng, 7);
    fl_simdisk *lost = fl_simdisk_clone(d);
    CHECK(lost != NULL);
    fl_simdisk_crash(lost, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    fl_simdisk_check(lost);
    fl_fs_view v;
    fl_fs *lfs = fl_simdisk_fs(lost);
    CHECK_EQ(lfs->ops->read_all(lfs, "f", &v, &m), 0);
    CHECK_EQ(v.len, 64);
    CHECK(memcmp(v.data, zeros, 64) == 0); /* the unsynced overwrite reverted */
    lfs->ops->release(lfs, &v);
    fl_simdisk_free(lost);

    CHECK_EQ(fs->ops->write(fs, fd, data, 8, 60, &m), 0); /* 4 over zeros, 4 appended */
    CHECK_EQ(fs->ops->sync(fs, fd, &m), 0);
    complete_all(d);
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    fl_simdisk_check(d);
    CHECK_EQ(fs->ops->read_all(fs, "f", &v, &m), 0);
    CHECK_EQ(v.len, 68);
    CHECK(memcmp(v.data + 8, data, 16) == 0 && memcmp(v.data + 60, data, 8) == 0);
    CHECK(memcmp(v.data, zeros, 8) == 0 && memcmp(v.data + 24, zeros, 36) == 0);
    fs->ops->release(fs, &v);
    fl_simdisk_free(d);
}
