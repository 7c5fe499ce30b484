/* atomic_file.c: whole-file replacement (write temp, sync, rename, sync directory) and whole-
 * file reads, over the file interface (fs.h), and the same for a directory path
 * (atomic_file.h). Invariant: name is only ever changed by rename, so a reader or a crash
 * sees the old or the new content, never a partial one. */
#include "faultline/atomic_file.h"

#include "faultline/error.h"
#include "faultline/fs_posix.h"

#include <stdio.h>
#include <string.h>

/* A file is written back to the disk this much at a time where the backend can (fs.h,
 * writeback): issue 16, a 20 MiB snapshot file written and synced at once made the other
 * nodes' WAL fdatasyncs on the same disk wait 50-200 ms behind it; with 256 KiB slices the
 * mean group commit under the load was as without snapshots' bursts (1 MiB: a little
 * slower). */
#define WRITEBACK_SLICE (256u << 10)

/* One part at off: in slices written back one by one, where the backend offers it. */
static int write_part(fl_fs *fs, int fd, const fl_fs_part *part, uint64_t off, fl_errmsg *why)
{
    const fl_fs_ops *o = fs->ops;
    if (!o->writeback)
        return part->len ? o->write(fs, fd, part->data, part->len, off, why) : 0;
    int rc = 0;
    for (size_t at = 0; at < part->len && !rc;) {
        size_t n = part->len - at < WRITEBACK_SLICE ? part->len - at : WRITEBACK_SLICE;
        rc = o->write(fs, fd, (const uint8_t *)part->data + at, n, off + at, why);
        if (!rc)
            rc = o->writeback(fs, fd, off + at, n, why);
        at += n;
    }
    return rc;
}

/* Writes the parts one after the other into name and syncs it; *what gets the step that
 * failed. */
static int write_tmp(fl_fs *fs, const char *name, const fl_fs_part *parts, size_t n,
                     const char **what, fl_errmsg *why)
{
    const fl_fs_ops *o = fs->ops;
    int fd = -1;
    *what = "create";
    int rc = o->open(fs, name, FL_FS_WRITE | FL_FS_CREATE | FL_FS_TRUNC, &fd, why);
    if (rc)
        return rc;
    *what = "write";
    uint64_t off = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = write_part(fs, fd, &parts[i], off, why);
        off += parts[i].len;
    }
    if (!rc) {
        *what = "sync";
        rc = o->sync(fs, fd, why);
    }
    o->close(fs, fd);
    return rc;
}

int fl_fs_write_synced(fl_fs *fs, const char *name, const fl_fs_part *parts, size_t n, fl_errmsg *m)
{
    fl_errmsg why;
    const char *what;
    int rc = write_tmp(fs, name, parts, n, &what, &why);
    if (rc)
        return fl_errmsg_set(m, rc, "atomic write: %s %s/%s: %s", what, fs->where, name, why.text);
    return 0;
}

int fl_fs_rename_synced(fl_fs *fs, const char *from, const char *to, fl_errmsg *m)
{
    fl_errmsg why;
    int rc = fs->ops->rename(fs, from, to, &why);
    if (rc)
        return fl_errmsg_set(m, rc, "atomic write: rename %s/%s: %s", fs->where, from, why.text);
    if ((rc = fs->ops->sync_dir(fs, &why)) != 0)
        return fl_errmsg_set(m, rc, "atomic write: sync directory %s: %s", fs->where, why.text);
    return 0;
}

int fl_fs_tmp_name(const char *name, char out[FL_FS_NAME_MAX], fl_errmsg *m)
{
    if ((size_t)snprintf(out, FL_FS_NAME_MAX, "%s.tmp", name) >= FL_FS_NAME_MAX)
        return fl_errmsg_set(m, FL_EINVAL, "atomic write: file name too long: %s", name);
    return 0;
}

int fl_fs_write_atomic(fl_fs *fs, const char *name, const void *data, size_t len, fl_errmsg *m)
{
    char tmp[FL_FS_NAME_MAX];
    int rc = fl_fs_tmp_name(name, tmp, m);
    fl_fs_part part = {data, len};
    if (!rc)
        rc = fl_fs_write_synced(fs, tmp, &part, 1, m);
    if (!rc)
        rc = fl_fs_rename_synced(fs, tmp, name, m);
    return rc;
}

int fl_fs_read_file(fl_fs *fs, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m)
{
    fl_fs_view v;
    fl_errmsg why;
    int rc = fs->ops->read_all(fs, name, &v, &why);
    if (rc == FL_ENOTFOUND)
        return fl_errmsg_set(m, rc, "read: %s/%s: no such file", fs->where, name);
    if (rc)
        return fl_errmsg_set(m, rc, "read: %s/%s: %s", fs->where, name, why.text);
    if (v.len > size_max)
        rc = fl_errmsg_set(m, FL_ETOOBIG, "read: %s/%s: %zu bytes (limit %zu)", fs->where, name,
                           v.len, size_max);
    else if (fl_buf_put_bytes(out, v.data, v.len), out->err)
        rc = fl_errmsg_set(m, out->err, "read: %s/%s: no room", fs->where, name);
    fs->ops->release(fs, &v);
    return rc;
}

int fl_atomic_write_file(const char *dir, const char *name, const void *data, size_t len,
                         fl_errmsg *m)
{
    fl_fs_posix p;
    int rc = fl_fs_posix_open(&p, dir, 0, m);
    if (rc)
        return FL_EIO;
    rc = fl_fs_write_atomic(&p.fs, name, data, len, m);
    fl_fs_posix_close(&p);
    return rc;
}

int fl_read_file(const char *dir, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m)
{
    fl_fs_posix p;
    int rc = fl_fs_posix_open(&p, dir, 0, m);
    if (rc)
        return rc;
    rc = fl_fs_read_file(&p.fs, name, size_max, out, m);
    fl_fs_posix_close(&p);
    return rc;
}
