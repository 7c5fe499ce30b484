/* test_raft_store.c: a node's durable state in the WAL (raft_store.h): persist requests
 * replayed in order, truncation by a later request, hard state, and refusal of a record
 * that would leave a hole in the log; a Paxos node's promise, ballots and gaps, and a
 * directory refused by the other protocol. */
#include "test.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/fs_posix.h"
#include "faultline/raft.h"
#include "faultline/raft_store.h"

#include <stdlib.h>
#include <unistd.h>

static void tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/fl-test-raft-store-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void rmdir_all(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Appends one persist request: entries with the given terms and one-byte data 'a' + i. */
static void put(fl_raft_store *s, uint64_t seq, bool hard, fl_term term, fl_node_id vote,
                fl_index first, size_t n, const fl_term *terms)
{
    fl_raft_entry e[8];
    static const uint8_t bytes[8] = "abcdefgh";
    for (size_t i = 0; i < n; i++)
        e[i] = (fl_raft_entry){{terms[i]}, FL_RAFT_ENTRY_NORMAL, 1, &bytes[i]};
    fl_raft_update up = {0};
    up.persist.seq = seq;
    up.persist.hard_state = hard;
    up.persist.term = term;
    up.persist.vote = vote;
    up.persist.first_index = first;
    up.persist.n_entries = n;
    up.persist.entries = e;
    CHECK_EQ(fl_raft_store_append(s, &up.persist), 0);
}

TEST(raft_store_replays_entries_truncation_and_hard_state)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK_EQ(d.n_entries, 0);
    const fl_term t1[] = {1, 1, 1, 2};
    put(&s, 1, true, 2, 3, 1, 4, t1);
    const fl_term t2[] = {3, 3};
    put(&s, 2, true, 3, 0, 3, 2, t2);      /* entries 3, 4 replaced: log 1 1 3 3 */
    put(&s, 3, false, 99, 99, 5, 0, NULL); /* no hard state, nothing appended */
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    fl_raft_store_close(&s);

    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_store_durable(&s, &d);
    CHECK_EQ(d.term, 3);
    CHECK_EQ(d.vote, 0);
    CHECK_EQ(d.first_index, 1);
    CHECK_EQ(d.n_entries, 4);
    const fl_term want[] = {1, 1, 3, 3};
    const char data[] = "abab";
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(d.entries[i].term, want[i]);
        CHECK_EQ(d.entries[i].len, 1);
        CHECK_EQ(d.entries[i].data[0], data[i]);
    }
    CHECK_EQ(s.records_replayed, 3);
    fl_raft_store_close(&s);
    rmdir_all(dir);
}

TEST(raft_store_refuses_a_record_that_leaves_a_hole)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    const fl_term t[] = {1};
    put(&s, 1, false, 0, 0, 1, 1, t);
    put(&s, 2, false, 0, 0, 5, 1, t); /* index 5 after a log of 1 entry */
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    fl_raft_store_close(&s);
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), FL_ECORRUPT);
    CHECK(strstr(m.text, "WAL record 2") != NULL);
    rmdir_all(dir);
}

TEST(raft_store_failed_sync_is_sticky)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    fl_wal_faults faults = {0};
    CHECK_EQ(fl_raft_store_open(&s, dir, &faults, &m), 0);
    faults.fsync_fail_after = 1; /* the next fdatasync (open made its own) */
    const fl_term t[] = {1};
    put(&s, 1, true, 1, 1, 1, 1, t);
    CHECK(fl_raft_store_sync(&s, &m) != 0);
    CHECK(fl_raft_store_sync(&s, &m) != 0); /* never "succeeds" after a failure */
    fl_raft_store_close(&s);
    rmdir_all(dir);
}

/* A sync run on the caller's thread (fl_raft_store_sync_inline) is collected like a
 * background one: records appended while it "runs" are staged and go to the WAL after it,
 * everything is there after a reopen, and a failed fdatasync is reported by sync_finish and
 * sticks (the host stops the node on it). */
TEST(raft_store_sync_inline_is_collected_like_a_job_and_a_failure_sticks)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    fl_wal_faults faults = {0};
    CHECK_EQ(fl_raft_store_open(&s, dir, &faults, &m), 0);
    const fl_term t[] = {1, 1};
    put(&s, 1, true, 1, 1, 1, 1, t);
    CHECK(!fl_raft_store_sync_small(&s, 1 << 16)); /* a new WAL: its zeros ahead are due */
    CHECK_EQ(fl_raft_store_sync_start(&s), 0);     /* the worker writes them */
    CHECK_EQ(fl_raft_store_sync_finish(&s, &m), 0);
    put(&s, 2, false, 0, 0, 2, 1, t);
    CHECK(fl_raft_store_sync_small(&s, 1 << 16));
    CHECK(!fl_raft_store_sync_small(&s, 8)); /* more than 8 bytes of records */
    uint64_t fsyncs = s.wal.stats.fsyncs;
    CHECK_EQ(fl_raft_store_sync_inline(&s), 0);
    CHECK(s.syncing);
    CHECK_EQ(s.wal.stats.fsyncs, fsyncs + 1); /* done by the time it returned */
    put(&s, 3, false, 0, 0, 3, 1, t);         /* staged: the WAL is the job's until finish */
    CHECK_EQ(fl_raft_store_sync_finish(&s, &m), 0);
    CHECK(!s.syncing);
    CHECK_EQ(fl_raft_store_sync_inline(&s), 0); /* the staged record's turn */
    CHECK_EQ(fl_raft_store_sync_finish(&s, &m), 0);
    fl_raft_store_close(&s);
    CHECK_EQ(fl_raft_store_open(&s, dir, &faults, &m), 0);
    fl_raft_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK_EQ(d.n_entries, 3);
    faults.fsync_fail_after = 1; /* the next fdatasync */
    put(&s, 4, false, 0, 0, 4, 1, t);
    CHECK_EQ(fl_raft_store_sync_inline(&s), 0);
    CHECK_EQ(fl_raft_store_sync_finish(&s, &m), FL_EIO);
    CHECK(strstr(m.text, "fdatasync") != NULL);
    CHECK(fl_raft_store_sync(&s, &m) != 0); /* sticky */
    fl_raft_store_close(&s);
    rmdir_all(dir);
}

static int count_segments(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^wal-.*\\.seg$'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* A snapshot "state" up to entry 76 of term t (voter 1), the log after it 77..80 of term t,
 * saved at term t with vote 1: the segments behind it go. */
static int save_snapshot_76(fl_raft_store *s, fl_term t, fl_errmsg *m)
{
    fl_raft_snapshot_meta meta = {.index = 76, .term = t, .size = 5};
    meta.crc = fl_crc32c(0, "state", 5);
    meta.conf.n_voters = 1;
    meta.conf.voters[0] = 1;
    fl_raft_entry after[4];
    for (int i = 0; i < 4; i++)
        after[i] = (fl_raft_entry){{t}, FL_RAFT_ENTRY_NORMAL, 1, (const uint8_t *)"x"};
    return fl_raft_store_save_snapshot(s, t, 1, &meta, (const uint8_t *)"state", 4, after, m);
}

/* A snapshot file replaces the WAL behind it: reopening gives the snapshot, the log after it
 * (from the file, then the records written since), and the segments before it are gone. */
TEST(raft_store_snapshot_file_and_wal_after_it)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open_sized(&s, dir, NULL, 256, &m), 0); /* a few records a segment */
    const fl_term t[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    uint64_t seq = 0;
    for (int i = 0; i < 10; i++)
        put(&s, ++seq, true, 2, 1, (fl_index)(1 + 8 * i), 8, t); /* 80 entries */
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    int before = count_segments(dir);
    CHECK(before > 3);
    /* a snapshot up to 76; the log after it is 77..80 (terms 2) */
    CHECK_EQ(save_snapshot_76(&s, 2, &m), 0);
    CHECK(count_segments(dir) < before); /* everything before it went */
    CHECK(s.segments_deleted > 0);
    /* a record written after the snapshot that reaches back before it: entries 75..78 */
    const fl_term t3[4] = {2, 2, 3, 3};
    put(&s, ++seq, true, 3, 2, 75, 4, t3);
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    fl_raft_store_close(&s);
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK(d.snapshot && d.snapshot->index == 76 && d.snapshot->term == 2);
    CHECK(d.term == 3 && d.vote == 2);
    CHECK_EQ(d.first_index, 77);
    CHECK_EQ(d.n_entries, 2); /* 77, 78 of term 3: the record cut what followed */
    CHECK(d.entries[0].term == 3 && d.entries[1].term == 3);
    CHECK(s.snap_data.len == 5 && memcmp(s.snap_data.data, "state", 5) == 0);
    fl_raft r;
    fl_raft_config cfg;
    fl_raft_config_default(&cfg, 1);
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    CHECK_EQ(fl_raft_init(&r, &cfg, &d, 0), 0); /* the core accepts what it recovered */
    CHECK(fl_raft_commit_of(&r) == 76 && fl_raft_last_index(&r) == 78);
    fl_raft_close(&r);
    fl_raft_store_close(&s);
    /* a damaged snapshot file refuses the start and names the file */
    char path[128];
    snprintf(path, sizeof(path), "%s/snapshot", dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    fseek(f, 20, SEEK_SET);
    fputc(0x5A, f);
    fclose(f);
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), FL_ECORRUPT);
    CHECK(strstr(m.text, "snapshot") != NULL && strstr(m.text, dir) != NULL);
    rmdir_all(dir);
}

/* A store in dir with small segments (a few records each) holding entries 1..80 of term 1 in
 * ten synced records (seqs 1..10), term 1, vote 1. */
static void open_filled(fl_raft_store *s, const char *dir, fl_errmsg *m)
{
    CHECK_EQ(fl_raft_store_open_sized(s, dir, NULL, 256, m), 0);
    const fl_term t[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 10; i++)
        put(s, (uint64_t)i + 1, true, 1, 1, (fl_index)(1 + 8 * i), 8, t);
    CHECK_EQ(fl_raft_store_sync(s, m), 0);
}

/* The guard behind the WAL's recovery finishing an interrupted deletion (a missing middle
 * segment: the ones below it are set aside, wal_recover.c): the log must still reach back to
 * the record the snapshot file (here none: record 1) replays from, or the start is refused:
 * entries the node acknowledged would be gone. A refusal deletes nothing (the segments below
 * the gap are still there for whoever looks into it). An interrupted compaction behind a
 * durable snapshot starts (raft_store_finishes_an_interrupted_compaction, below). */
TEST(raft_store_refuses_a_wal_that_starts_after_its_snapshot_needs)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    open_filled(&s, dir, &m);
    fl_raft_store_close(&s);
    int segments = count_segments(dir);
    CHECK(segments > 3);
    char cmd[256]; /* the second segment (by name order: first seqs are zero-padded) */
    snprintf(cmd, sizeof(cmd), "cd %s && rm \"$(ls wal-*.seg | sed -n 2p)\"", dir);
    CHECK(system(cmd) == 0);
    CHECK_EQ(fl_raft_store_open_sized(&s, dir, NULL, 256, &m), FL_ECORRUPT);
    CHECK(strstr(m.text, "segments are missing") != NULL);
    CHECK_EQ(count_segments(dir), segments - 1); /* the first is still there */
    CHECK_EQ(fl_raft_store_open_sized(&s, dir, NULL, 256, &m), FL_ECORRUPT); /* and again */
    CHECK_EQ(count_segments(dir), segments - 1);
    rmdir_all(dir);
}

/* A compaction a crash interrupted: the snapshot file is durable, and of the segments it
 * replaced the first survived while a later one went (a directory that reorders unlinks, fs.h
 * rule 3). The log after the gap reaches back to the snapshot, so the node starts, and the
 * segment left below the gap is deleted then. */
TEST(raft_store_finishes_an_interrupted_compaction)
{
    char dir[64], cmd[512];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    open_filled(&s, dir, &m);
    snprintf(cmd, sizeof(cmd), "cd %s && cp \"$(ls wal-*.seg | sed -n 1p)\" first.keep", dir);
    CHECK(system(cmd) == 0);
    CHECK_EQ(save_snapshot_76(&s, 1, &m), 0);
    fl_raft_store_close(&s);
    int compacted = count_segments(dir);
    snprintf(cmd, sizeof(cmd), "cd %s && mv first.keep wal-00000000000000000001.seg", dir);
    CHECK(system(cmd) == 0); /* the first unlink lost, the later ones kept */
    CHECK_EQ(count_segments(dir), compacted + 1);
    if (fl_raft_store_open_sized(&s, dir, NULL, 256, &m) != 0)
        fprintf(stderr, "  %s\n", m.text);
    CHECK_EQ(s.wal.stats.unfinished_deletes, 1);
    fl_raft_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK(d.snapshot && d.snapshot->index == 76);
    CHECK_EQ(d.first_index, 77);
    fl_raft_store_close(&s);
    CHECK_EQ(count_segments(dir), compacted);
    rmdir_all(dir);
}

/* The snapshot file's bytes as a view (an mmap of the real file): given only for the snapshot
 * the caller names (another index, size, CRC or configuration is refused), and still the old
 * bytes after a newer snapshot replaced the file (a follower mid-transfer reads on). */
TEST(raft_store_maps_its_snapshot_file)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_snapshot_meta meta = {.index = 7, .term = 1, .size = 5};
    meta.crc = fl_crc32c(0, "state", 5);
    meta.conf.n_voters = 1;
    meta.conf.voters[0] = 1;
    fl_fs_view v;
    const uint8_t *data = NULL;
    CHECK_EQ(fl_raft_store_map_snapshot(&s, &meta, &v, &data, &m), FL_ENOTFOUND);
    fl_raft_entry after = {{1}, FL_RAFT_ENTRY_NORMAL, 1, (const uint8_t *)"x"};
    CHECK_EQ(fl_raft_store_save_snapshot(&s, 3, 1, &meta, (const uint8_t *)"state", 1, &after, &m),
             0);
    fl_raft_snapshot_meta other[4] = {meta, meta, meta, meta};
    other[0].index = 8;
    other[1].size = 4;
    other[2].crc ^= 1;
    other[3].conf.voters[0] = 2;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(fl_raft_store_map_snapshot(&s, &other[i], &v, &data, &m), FL_ECORRUPT);
        CHECK(strstr(m.text, "not the snapshot expected") != NULL);
    }
    CHECK_EQ(fl_raft_store_map_snapshot(&s, &meta, &v, &data, &m), 0);
    CHECK(data >= v.data && data + 5 <= v.data + v.len && memcmp(data, "state", 5) == 0);
    fl_raft_snapshot_meta next = meta;
    next.index = 9;
    next.crc = fl_crc32c(0, "newer", 5);
    CHECK_EQ(fl_raft_store_save_snapshot(&s, 3, 1, &next, (const uint8_t *)"newer", 0, NULL, &m),
             0);
    CHECK(memcmp(data, "state", 5) == 0); /* the replaced file's view reads on */
    fl_raft_store_unmap_snapshot(&s, &v);
    CHECK(v.data == NULL);
    CHECK_EQ(fl_raft_store_map_snapshot(&s, &next, &v, &data, &m), 0);
    CHECK(memcmp(data, "newer", 5) == 0);
    fl_raft_store_unmap_snapshot(&s, &v);
    fl_raft_store_close(&s);
    rmdir_all(dir);
}

/* A Paxos node's state through the same store: the promised ballot as hard state, accepted
 * slots with their ballots and EMPTY gaps, a snapshot file; and a directory refused by a node
 * of the other protocol, with a message that says so. */
static int open_as(fl_raft_store *s, fl_fs_posix *fs, const char *dir, fl_cons_protocol p,
                   fl_errmsg *m)
{
    CHECK_EQ(fl_fs_posix_open(fs, dir, FL_FS_POSIX_MKDIR, m), 0);
    fl_raft_store_opts o = {.protocol = p};
    int rc = fl_raft_store_open_fs(s, &fs->fs, &o, m);
    if (rc)
        fl_fs_posix_close(fs);
    return rc;
}

static void close_fs(fl_raft_store *s, fl_fs_posix *fs)
{
    fl_raft_store_close(s);
    fl_fs_posix_close(fs);
}

TEST(raft_store_keeps_paxos_promises_gaps_and_refuses_the_other_protocol)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_fs_posix fs;
    fl_errmsg m;
    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_PAXOS, &m), 0);
    const fl_term b1 = (1u << 16) | 1, b2 = (2u << 16) | 2;
    fl_cons_entry e[4] = {{{b1}, 1, 1, (const uint8_t *)"a"},
                          {{0}, 0, 0, NULL}, /* a gap */
                          {{b1}, 1, 1, (const uint8_t *)"c"},
                          {{b2}, 2, 0, NULL}};
    fl_cons_persist p = {.seq = 1, .hard_state = true, .term = b1, .first_index = 1};
    p.n_entries = 4;
    p.entries = e;
    CHECK_EQ(fl_raft_store_append(&s, &p), 0);
    fl_cons_persist q = {.seq = 2, .hard_state = true, .term = b2, .first_index = 5};
    CHECK_EQ(fl_raft_store_append(&s, &q), 0);
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    close_fs(&s, &fs);

    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_PAXOS, &m), 0);
    fl_cons_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK(d.term == b2 && d.vote == 0 && d.first_index == 1 && d.n_entries == 4);
    CHECK(d.entries[1].type == 0 && d.entries[1].ballot == 0);
    CHECK(d.entries[3].type == 2 && d.entries[3].ballot == b2);
    /* a snapshot up to slot 2: the slots after it stay */
    fl_cons_snapshot_meta meta = {.index = 2, .size = 2, .crc = fl_crc32c(0, "xy", 2)};
    CHECK_EQ(fl_raft_store_save_snapshot(&s, b2, 0, &meta, (const uint8_t *)"xy", 2, &e[2], &m), 0);
    close_fs(&s, &fs);

    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_PAXOS, &m), 0);
    fl_raft_store_durable(&s, &d);
    CHECK(d.snapshot && d.snapshot->index == 2 && d.snapshot->term == 0);
    CHECK(d.term == b2 && d.first_index == 3 && d.n_entries == 2);
    CHECK(s.snap_data.len == 2 && memcmp(s.snap_data.data, "xy", 2) == 0);
    close_fs(&s, &fs);

    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_RAFT, &m), FL_EVERSION);
    CHECK(strstr(m.text, "snapshot file was written by a paxos node; this node runs raft"));
    rmdir_all(dir);

    tmpdir(dir, sizeof(dir)); /* a Raft WAL, opened by a Paxos node */
    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_RAFT, &m), 0);
    put(&s, 1, true, 1, 1, 1, 0, NULL);
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    close_fs(&s, &fs);
    CHECK_EQ(open_as(&s, &fs, dir, FL_CONS_PAXOS, &m), FL_EVERSION);
    CHECK(strstr(m.text, "WAL record 1 was written by a raft node; this node runs paxos"));
    rmdir_all(dir);
}
