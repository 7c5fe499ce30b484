/* test_simdisk_dir.c: what a crash of the simulated disk keeps of the directory's creates,
 * renames and unlinks not yet made durable by a directory sync (simdisk.h; fs.h rule 3). The
 * shape is the one a snapshot's compaction has: a file renamed over the old one, then the
 * files it replaces unlinked, before the directory sync. A file system that journals them in
 * order keeps a prefix; one that reorders them may keep the unlinks and lose the rename, and
 * the simulated disk must be able to produce that too, or code that deletes before the
 * rename is durable passes every campaign (the wal-deleted-before-dir-sync mutant). */
#include "test.h"

#include "faultline/fs.h"
#include "faultline/rng.h"
#include "faultline/simdisk.h"

#include <string.h>

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

static void complete_all(fl_simdisk *d)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(d, &notify, &token, &status) == 1)
        CHECK_EQ(status, 0);
}

/* The file's content ("" when missing). */
static const char *content(fl_simdisk *d, const char *name, char *buf, size_t cap)
{
    fl_fs *fs = fl_simdisk_fs(d);
    fl_fs_view v;
    buf[0] = 0;
    if (fs->ops->read_all(fs, name, &v, NULL) == 0) {
        size_t n = v.len < cap - 1 ? v.len : cap - 1;
        memcpy(buf, v.data, n);
        buf[n] = 0;
        fs->ops->release(fs, &v);
    }
    return buf;
}

static bool exists(fl_simdisk *d, const char *name)
{
    fl_fs *fs = fl_simdisk_fs(d);
    fl_fs_view v;
    if (fs->ops->read_all(fs, name, &v, NULL))
        return false;
    fs->ops->release(fs, &v);
    return true;
}

/* Durable: "snap" (old) and two log segments; then the new snapshot's file written, synced
 * and its name synced; then, not synced: the rename over "snap" and the two unlinks. */
static fl_simdisk *compaction_in_flight(void)
{
    fl_simdisk *d = fl_simdisk_new("dir test", 1 << 20, NULL, NULL);
    CHECK(d != NULL);
    fl_fs *fs = fl_simdisk_fs(d);
    CHECK_EQ(put(fs, "snap", "old"), 0);
    CHECK_EQ(put(fs, "seg1", "records 1"), 0);
    CHECK_EQ(put(fs, "seg2", "records 2"), 0);
    CHECK_EQ(put(fs, "snap.next", "new"), 0);
    CHECK_EQ(fs->ops->sync_dir(fs, NULL), 0);
    complete_all(d);
    CHECK(!fl_simdisk_unlink_window(d));
    CHECK_EQ(fs->ops->rename(fs, "snap.next", "snap", NULL), 0);
    CHECK(!fl_simdisk_unlink_window(d)); /* a rename alone: nothing to lose behind it */
    CHECK_EQ(fs->ops->unlink(fs, "seg1", NULL), 0);
    CHECK(fl_simdisk_unlink_window(d));
    CHECK_EQ(fs->ops->unlink(fs, "seg2", NULL), 0);
    return d;
}

/* Over many crashes of copies in each mode that keeps unsynced operations: every outcome is a
 * set of the three operations applied in call order (the new file or the old one under
 * "snap", never none, each segment there or not); the in-order prefixes all occur, and so do
 * outcomes no prefix gives: a later unlink kept with the rename before it lost (what makes
 * deleting before the directory sync lose the log behind the old snapshot), and seg2 gone
 * with seg1 still there (a deletion interrupted out of order: the WAL's recovery finishes it).
 * Without the reordering (the disk's model before) the counts of both are 0. */
TEST(simdisk_crash_may_keep_a_later_unlink_and_lose_the_rename_before_it)
{
    fl_simdisk *d = compaction_in_flight();
    const fl_simdisk_crash_mode modes[] = {FL_SIMDISK_RANDOM_PREFIX, FL_SIMDISK_RANDOM_SUBSET};
    for (size_t m = 0; m < 2; m++) {
        uint32_t prefix[4] = {0}, unlink_without_rename = 0, out_of_order = 0;
        fl_rng rng;
        fl_rng_seed(&rng, 7 + m);
        for (int i = 0; i < 400; i++) {
            fl_simdisk *c = fl_simdisk_clone(d);
            CHECK(c != NULL);
            fl_simdisk_crash(c, modes[m], 0, &rng);
            fl_simdisk_check(c);
            char buf[16];
            const char *snap = content(c, "snap", buf, sizeof(buf));
            bool is_new = !strcmp(snap, "new"), s1 = exists(c, "seg1"), s2 = exists(c, "seg2");
            CHECK(is_new || !strcmp(snap, "old"));
            CHECK_EQ(exists(c, "snap.next"), !is_new); /* renamed, or still under its name */
            CHECK(!fl_simdisk_unlink_window(c));       /* what survived is durable */
            if (!is_new && s1 && s2)
                prefix[0]++;
            else if (is_new && s1 && s2)
                prefix[1]++;
            else if (is_new && !s1 && s2)
                prefix[2]++;
            else if (is_new && !s1 && !s2)
                prefix[3]++;
            unlink_without_rename += !is_new && (!s1 || !s2);
            out_of_order += s1 && !s2;
            fl_simdisk_free(c);
        }
        for (int k = 0; k < 4; k++)
            CHECK(prefix[k] > 0);
        CHECK(unlink_without_rename > 0);
        CHECK(out_of_order > 0);
    }
    fl_simdisk_free(d);
}

/* Losing everything unsynced loses the three operations together; a completed directory sync
 * makes them all durable, in any mode. */
TEST(simdisk_crash_lose_unsynced_and_after_sync_dir_keep_the_directory_whole)
{
    fl_rng rng;
    fl_rng_seed(&rng, 3);
    fl_simdisk *d = compaction_in_flight();
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    char buf[16];
    CHECK_STR(content(d, "snap", buf, sizeof(buf)), "old");
    CHECK(exists(d, "seg1") && exists(d, "seg2") && exists(d, "snap.next"));
    fl_simdisk_free(d);
    for (int i = 0; i < 50; i++) {
        d = compaction_in_flight();
        CHECK_EQ(fl_simdisk_fs(d)->ops->sync_dir(fl_simdisk_fs(d), NULL), 0);
        complete_all(d);
        CHECK(!fl_simdisk_unlink_window(d));
        fl_simdisk_crash(d, (fl_simdisk_crash_mode)(i % 3), 0, &rng);
        CHECK_STR(content(d, "snap", buf, sizeof(buf)), "new");
        CHECK(!exists(d, "seg1") && !exists(d, "seg2") && !exists(d, "snap.next"));
        fl_simdisk_free(d);
    }
}

/* A rename or unlink of a name whose create did not survive acts on nothing: no crash leaves
 * the target of a rename whose file's create was lost, and the name is never doubled. */
TEST(simdisk_crash_drops_a_rename_with_the_create_it_depends_on)
{
    fl_rng rng;
    fl_rng_seed(&rng, 5);
    uint32_t seen[3] = {0};
    for (int i = 0; i < 300; i++) {
        fl_simdisk *d = fl_simdisk_new("dir test", 1 << 20, NULL, NULL);
        CHECK(d != NULL);
        fl_fs *fs = fl_simdisk_fs(d);
        CHECK_EQ(put(fs, "seg.tmp", "header"), 0);
        complete_all(d); /* the data durable, not the name */
        CHECK_EQ(fs->ops->rename(fs, "seg.tmp", "seg", NULL), 0);
        fl_simdisk_crash(d, (fl_simdisk_crash_mode)(1 + i % 2), 0, &rng);
        fl_simdisk_check(d);
        bool tmp = exists(d, "seg.tmp"), seg = exists(d, "seg");
        CHECK(!(tmp && seg));
        seen[tmp ? 1 : seg ? 2 : 0]++;
        fl_simdisk_free(d);
    }
    CHECK(seen[0] > 0 && seen[1] > 0 && seen[2] > 0); /* none, created, created and renamed */
}

/* An operation acts on the file it acted on, not on whatever a name holds after a crash: a
 * durable "x.tmp" (the old file) unlinked, a new "x.tmp" created, synced and renamed to "x".
 * A crash that keeps the rename but loses the create must not move the old file to "x" (the
 * name the rename moved was the new file's): "x" is missing or holds the new bytes. Without
 * the file check a reordered crash put the old file under the new name (a segment's name over
 * a file without its header, seen in a swarm world). */
TEST(simdisk_crash_renames_the_file_the_rename_moved)
{
    fl_rng rng;
    fl_rng_seed(&rng, 9);
    uint32_t missing = 0, renamed = 0;
    for (int i = 0; i < 300; i++) {
        fl_simdisk *d = fl_simdisk_new("dir test", 1 << 20, NULL, NULL);
        CHECK(d != NULL);
        fl_fs *fs = fl_simdisk_fs(d);
        CHECK_EQ(put(fs, "x.tmp", "old"), 0);
        CHECK_EQ(fs->ops->sync_dir(fs, NULL), 0);
        complete_all(d);
        CHECK_EQ(fs->ops->unlink(fs, "x.tmp", NULL), 0);
        CHECK_EQ(put(fs, "x.tmp", "new"), 0);
        complete_all(d);
        CHECK_EQ(fs->ops->rename(fs, "x.tmp", "x", NULL), 0);
        fl_simdisk_crash(d, (fl_simdisk_crash_mode)(1 + i % 2), 0, &rng);
        fl_simdisk_check(d);
        char buf[16];
        const char *x = content(d, "x", buf, sizeof(buf));
        CHECK(!exists(d, "x") || !strcmp(x, "new"));
        missing += !exists(d, "x");
        renamed += !strcmp(x, "new");
        fl_simdisk_free(d);
    }
    CHECK(missing > 0 && renamed > 0);
}
