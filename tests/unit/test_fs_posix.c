/* test_fs_posix.c: the real-file backend of fs.h (fs_posix.c): an unlink with the job worker
 * removes the name at once and hands the file's last descriptor to the reaper thread, which
 * closes it; closing the fs leaves no descriptor open. A file written through
 * fl_fs_write_synced in writeback slices reads back whole. */
#include "test.h"

#include "faultline/atomic_file.h"
#include "faultline/error.h"
#include "faultline/fs_posix.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

TEST(fs_posix_unlink_with_the_reaper_removes_the_name_and_leaks_nothing)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s-fs-posix-XXXXXX", FL_TEST_TMP);
    CHECK(mkdtemp(dir) != NULL);
    int before = open_fds();
    fl_fs_posix p;
    fl_errmsg m;
    CHECK_EQ(fl_fs_posix_open(&p, dir, FL_FS_POSIX_JOBS, &m), 0);
    CHECK(p.reaper_up);
    /* 3 MiB and a bit: several writeback slices */
    size_t len = (3u << 20) + 123;
    uint8_t *data = malloc(len);
    CHECK(data != NULL);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7);
    fl_fs_part part = {data, len};
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        CHECK_EQ(fl_fs_write_synced(&p.fs, name, &part, 1, &m), 0);
        if (i == 0) {
            fl_buf b;
            fl_buf_init(&b);
            CHECK_EQ(fl_fs_read_file(&p.fs, name, len, &b, &m), 0);
            CHECK(b.len == len && memcmp(b.data, data, len) == 0);
            fl_buf_free(&b);
        }
        CHECK_EQ(p.fs.ops->unlink(&p.fs, name, &m), 0);
        int fd = -1;
        CHECK_EQ(p.fs.ops->open(&p.fs, name, 0, &fd, &m), FL_ENOTFOUND); /* gone at once */
    }
    CHECK_EQ(p.fs.ops->unlink(&p.fs, "never", &m), FL_ENOTFOUND);
    fl_fs_posix_close(&p); /* joins the reaper, which closed all 20 */
    CHECK_EQ(open_fds(), before);
    free(data);
    CHECK_EQ(rmdir(dir), 0); /* empty: every file went */
}

/* A rename over a file hands the replaced file's last descriptor to the reaper (freeing a
 * 20 MiB snapshot file's blocks cost the loop 7-8 ms inside rename): the new bytes are under
 * the name at once, the old file's descriptor is the reaper's, and none is left open. */
TEST(fs_posix_rename_over_a_file_hands_the_replaced_one_to_the_reaper)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s-fs-posix-XXXXXX", FL_TEST_TMP);
    CHECK(mkdtemp(dir) != NULL);
    int before = open_fds();
    fl_fs_posix p;
    fl_errmsg m;
    CHECK_EQ(fl_fs_posix_open(&p, dir, FL_FS_POSIX_JOBS, &m), 0);
    CHECK(p.reaper_up);
    fl_fs_part old_part = {"old bytes", 9}, new_part = {"new", 3};
    CHECK_EQ(fl_fs_write_synced(&p.fs, "snap", &old_part, 1, &m), 0);
    CHECK_EQ(fl_fs_write_synced(&p.fs, "snap.next", &new_part, 1, &m), 0);
    CHECK_EQ(fl_fs_write_synced(&p.fs, "other", &new_part, 1, &m), 0);
    uint64_t reaped = p.reaped;
    CHECK_EQ(fl_fs_rename_synced(&p.fs, "snap.next", "snap", &m), 0);
    CHECK_EQ(p.reaped, reaped + 1); /* the replaced file went to the reaper */
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_fs_read_file(&p.fs, "snap", 100, &b, &m), 0);
    CHECK(b.len == 3 && memcmp(b.data, "new", 3) == 0);
    fl_buf_free(&b);
    CHECK_EQ(fl_fs_rename_synced(&p.fs, "other", "fresh", &m), 0); /* nothing replaced */
    CHECK_EQ(p.reaped, reaped + 1);
    CHECK(fl_fs_rename_synced(&p.fs, "missing", "snap", &m) != 0); /* and "snap" kept */
    CHECK_EQ(fl_fs_read_file(&p.fs, "snap", 100, &b, &m), 0);
    CHECK(b.len == 3);
    fl_buf_free(&b);
    CHECK_EQ(p.fs.ops->unlink(&p.fs, "snap", &m), 0);
    CHECK_EQ(p.fs.ops->unlink(&p.fs, "fresh", &m), 0);
    fl_fs_posix_close(&p);
    CHECK_EQ(open_fds(), before);
    CHECK_EQ(rmdir(dir), 0);
}
