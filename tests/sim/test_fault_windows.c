/* test_fault_windows.c: crash-unsynced, the fault that crashes nodes in the window between
 * writing a new term or vote and its sync, or while their disk is split between two syncs (a
 * file renamed into place durable, the writes beside it not: run_nemesis.c, simdisk): it runs
 * beside the other faults (its own lane: the elections that open its windows come from them),
 * crashes again in every window while it lasts, and the schedule a run writes back runs the
 * same crashes again. */
#include "test.h"

#include "faultline/fs.h"
#include "faultline/raft.h"
#include "faultline/rng.h"
#include "faultline/run.h"
#include "faultline/simdisk.h"

#include <string.h>

/* Five nodes, crash-unsynced beside crash-leader (the leader's crash starts the elections
 * whose votes and terms crash-unsynced is after); seed chosen by nothing but being first. */
static void config(fl_run_config *c, uint64_t seed)
{
    fl_run_config_default(c);
    c->seed = seed;
    c->nodes = 5;
    c->duration_ns = 6 * FL_NS_PER_S;
    c->n_faults = 2;
    c->faults[0] = (fl_run_fault){FL_NEMESIS_CRASH_UNSYNCED, 2 * FL_NS_PER_S};
    c->faults[1] = (fl_run_fault){FL_NEMESIS_CRASH_LEADER, 500 * FL_NS_PER_MS};
}

static uint32_t targets_of(const char *t)
{
    uint32_t n = 0;
    for (; *t; t++)
        n += *t == 'n';
    return n;
}

/* Over a few seeds: some crash-unsynced fault overlaps a crash-leader fault (they no longer
 * take turns), and some crashes more than one node (a crash per window, not one per fault). */
TEST(crash_unsynced_runs_beside_crashes_and_crashes_in_every_window)
{
    uint32_t overlaps = 0, repeated = 0, crashed = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fl_run_config c;
        config(&c, seed);
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        CHECK(!r.violation);
        for (size_t i = 0; i < r.n_faults; i++) {
            const fl_observe_fault *u = &r.faults[i];
            if (strcmp(u->kind, "crash-unsynced"))
                continue;
            uint32_t k = targets_of(u->targets);
            crashed += k;
            repeated += k >= 2;
            for (size_t j = 0; j < r.n_faults; j++)
                overlaps += !strcmp(r.faults[j].kind, "crash-leader") &&
                            r.faults[j].start_ns < u->end_ns && u->start_ns < r.faults[j].end_ns;
        }
        fl_run_result_free(&r);
    }
    CHECK(crashed > 0);
    CHECK(overlaps > 0);
    CHECK(repeated > 0);
}

/* The schedule a run writes back (res.schedule), run as an explicit schedule, is the same run:
 * the repeated crashes depend on the recorded restart delay and the nodes' state only. */
TEST(crash_unsynced_written_back_runs_the_same_crashes_again)
{
    fl_run_config c;
    config(&c, 2);
    fl_run_result a, b;
    CHECK_EQ(fl_run(&c, &a), 0);
    uint32_t crashed = 0;
    for (size_t i = 0; i < a.n_faults; i++)
        if (!strcmp(a.faults[i].kind, "crash-unsynced"))
            crashed += targets_of(a.faults[i].targets);
    CHECK(crashed >= 2);
    fl_run_config e = c;
    e.n_faults = 0;
    e.schedule = a.schedule;
    e.n_schedule = (uint32_t)a.n_schedule;
    CHECK_EQ(fl_run(&e, &b), 0);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK_EQ(a.n_faults, b.n_faults);
    for (size_t i = 0; i < a.n_faults && i < b.n_faults; i++)
        CHECK_STR(a.faults[i].targets, b.faults[i].targets);
    fl_run_result_free(&a);
    fl_run_result_free(&b);
}

static int put(fl_fs *fs, const char *name, const char *bytes)
{
    int fd, rc = fs->ops->open(fs, name, FL_FS_WRITE | FL_FS_CREATE, &fd, NULL);
    if (rc)
        return rc;
    rc = fs->ops->write(fs, fd, bytes, strlen(bytes), 0, NULL);
    if (!rc)
        rc = fs->ops->sync(fs, fd, NULL);
    fs->ops->close(fs, fd);
    return rc;
}

static bool complete_one(fl_simdisk *d)
{
    bool notify;
    uint64_t token;
    int status;
    return fl_simdisk_complete(d, &notify, &token, &status) == 1 && status == 0;
}

/* The storage window: a log with a write not yet synced, a checkpoint written beside it and
 * renamed into place. The disk is split from the moment the rename is durable until a sync of
 * the log completes; a crash closes it too. */
TEST(simdisk_split_from_a_durable_rename_to_the_next_sync)
{
    fl_simdisk *d = fl_simdisk_new("split test", 1 << 20, NULL, NULL);
    CHECK(d != NULL);
    fl_fs *fs = fl_simdisk_fs(d);
    int wal;
    CHECK_EQ(fs->ops->open(fs, "wal", FL_FS_WRITE | FL_FS_CREATE, &wal, NULL), 0);
    CHECK_EQ(fs->ops->write(fs, wal, "record", 6, 0, NULL), 0);
    CHECK_EQ(put(fs, "snap.tmp", "checkpoint"), 0); /* its sync queued */
    CHECK_EQ(fs->ops->rename(fs, "snap.tmp", "snap", NULL), 0);
    CHECK_EQ(fs->ops->sync_dir(fs, NULL), 0);
    CHECK(!fl_simdisk_split(d)); /* nothing durable yet */
    while (fl_simdisk_pending(d) > 1)
        CHECK(complete_one(d));
    CHECK(!fl_simdisk_split(d)); /* the checkpoint's data is durable, not its name */
    CHECK(complete_one(d));      /* the directory */
    CHECK(fl_simdisk_split(d));  /* the rename survives a crash, the log's record would not */
    CHECK_EQ(fs->ops->sync(fs, wal, NULL), 0);
    CHECK(fl_simdisk_split(d)); /* queued, not done */
    CHECK(complete_one(d));
    CHECK(!fl_simdisk_split(d));
    /* again, closed by a crash this time */
    CHECK_EQ(fs->ops->write(fs, wal, "record", 6, 6, NULL), 0);
    CHECK_EQ(put(fs, "snap.tmp", "checkpoint 2"), 0);
    CHECK_EQ(fs->ops->rename(fs, "snap.tmp", "snap", NULL), 0);
    CHECK_EQ(fs->ops->sync_dir(fs, NULL), 0);
    while (fl_simdisk_pending(d) > 0)
        CHECK(complete_one(d));
    CHECK(fl_simdisk_split(d));
    fl_rng rng;
    fl_rng_seed(&rng, 1);
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    CHECK(!fl_simdisk_split(d)); /* (the crash closed every descriptor) */
    fl_simdisk_free(d);
}

/* Multi-Paxos keeps no term or vote crash-unsynced can watch: every node it crashes there was
 * caught in a storage window, which snapshots taken every 5 entries open; each crashed twice
 * (once in the window, once after its restart). */
TEST(crash_unsynced_crashes_in_storage_windows)
{
    uint32_t crashed = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.protocol = FL_CONS_PAXOS;
        c.nodes = 3;
        c.duration_ns = 4 * FL_NS_PER_S;
        c.snapshot_every = 5;
        c.n_faults = 1;
        c.faults[0] = (fl_run_fault){FL_NEMESIS_CRASH_UNSYNCED, 2 * FL_NS_PER_S};
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        CHECK(!r.violation);
        for (size_t i = 0; i < r.n_faults; i++)
            if (!strcmp(r.faults[i].kind, "crash-unsynced"))
                crashed += targets_of(r.faults[i].targets);
        fl_run_result_free(&r);
    }
    CHECK(crashed > 0);
}

/* Seeds from 1 until the mutant is caught by a violation whose reason has `reason`, at most
 * max_seeds, each run unmutated (which must be clean) and mutated: 5 nodes, 6 s, snapshots
 * every 5 entries, crash-unsynced every second beside crash-leader every 300 ms. */
typedef struct window_hunt {
    uint32_t mutant;
    bool lose_unsynced;         /* a crash loses unsynced writes */
    uint32_t wal_segment_bytes; /* 0: the default */
    const char *reason;
    uint64_t max_seeds;
} window_hunt;

static void hunt_in_windows(const window_hunt *h)
{
    uint32_t caught = 0, clean = 0, seeds = 0;
    for (uint64_t seed = 1; seed <= h->max_seeds && !caught; seed++, seeds++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.nodes = 5;
        c.duration_ns = 6 * FL_NS_PER_S;
        c.snapshot_every = 5;
        c.crash_lose_unsynced = h->lose_unsynced;
        c.wal_segment_bytes = h->wal_segment_bytes;
        c.n_faults = 2;
        c.faults[0] = (fl_run_fault){FL_NEMESIS_CRASH_UNSYNCED, FL_NS_PER_S};
        c.faults[1] = (fl_run_fault){FL_NEMESIS_CRASH_LEADER, 300 * FL_NS_PER_MS};
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        clean += !r.violation;
        fl_run_result_free(&r);
        c.mutants = h->mutant;
        CHECK_EQ(fl_run(&c, &r), 0);
        caught += r.violation && strstr(r.violation_reason, h->reason) != NULL;
        fl_run_result_free(&r);
    }
    CHECK_EQ(clean, seeds);
    CHECK(caught >= 1);
}

/* The shape it aims at: with the snapshot-seq-unsynced mutant (the snapshot file counts WAL
 * records a crash may lose, and the WAL hands their numbers out again), a crash in the window
 * and one after the restart lose what was synced in between, in about 1 seed of 20 (6 of
 * 1..100, the first at 47, with the nodes' snapshot phases and ReadIndex rounds to a majority
 * of followers; 0 when crash-unsynced watched term and vote windows only). Every change to
 * what a run sends or writes moves which seeds (8 and 13 before those two, then 26 and 31,
 * then 17 and 32), so the search runs seeds until the first catch, at most 200 (a chance of
 * about 1 in 30,000 to miss it at that rate); every seed run unmutated loses nothing. */
TEST(crash_unsynced_catches_snapshot_seq_unsynced)
{
    hunt_in_windows(&(window_hunt){.mutant = FL_RAFT_MUTANT_SNAPSHOT_SEQ_UNSYNCED,
                                   .lose_unsynced = true,
                                   .reason = "durability",
                                   .max_seeds = 200});
}

/* The directory's window (fl_sim_disk_unlink_window): with the wal-deleted-before-dir-sync
 * mutant (the WAL behind a snapshot deleted as soon as the snapshot file is renamed into
 * place, before the directory sync that makes the rename durable), a crash in the window that
 * keeps the unlinks and loses the rename (the disk reorders directory operations, simdisk.h)
 * leaves the old snapshot file and a WAL that starts after it: the node refuses to start,
 * after crashes alone. 4 KiB WAL segments, so that they are deleted within the run. Caught at
 * seed 1 when written (and at 8 of seeds 1..10); the search runs seeds until the first catch,
 * at most 50; every seed run unmutated is clean. Without the reordering, or without the
 * window, none of seeds 1..300 of the swarm caught it. */
TEST(crash_unsynced_catches_wal_deleted_before_dir_sync)
{
    hunt_in_windows(&(window_hunt){.mutant = FL_RAFT_MUTANT_WAL_DELETED_BEFORE_DIR_SYNC,
                                   .wal_segment_bytes = 4096,
                                   .reason = "segments are missing",
                                   .max_seeds = 50});
}
