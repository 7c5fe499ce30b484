/* atomic_file.c: whole-file replacement via write temp + fsync + rename + fsync directory
 * (atomic_file.h). Invariant: dir/name is only ever changed by rename(2), so a reader or a
 * crash sees the old or the new content, never a partial one. */
#include "faultline/atomic_file.h"

#include "faultline/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? errno : EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int fl_atomic_write_file(const char *dir, const char *name, const void *data, size_t len,
                         fl_errmsg *m)
{
    char tmp[NAME_MAX + 1];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= sizeof(tmp))
        return fl_errmsg_set(m, FL_EINVAL, "atomic write: file name too long: %s", name);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "atomic write: open directory %s", dir);
    int rc = 0;
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : write_all(fd, data, len);
    if (e)
        rc = fl_errmsg_errno(m, FL_EIO, e, "atomic write: write %s/%s", dir, tmp);
    if (!rc && fsync(fd) < 0)
        rc = fl_errmsg_errno(m, FL_EIO, errno, "atomic write: fsync %s/%s", dir, tmp);
    if (fd >= 0)
        close(fd);
    if (!rc && renameat(dfd, tmp, dfd, name) < 0)
        rc = fl_errmsg_errno(m, FL_EIO, errno, "atomic write: rename %s/%s", dir, tmp);
    if (!rc && fsync(dfd) < 0)
        rc = fl_errmsg_errno(m, FL_EIO, errno, "atomic write: fsync directory %s", dir);
    if (rc && fd >= 0)
        (void)unlinkat(dfd, tmp, 0); /* best effort: a leftover .tmp is harmless */
    close(dfd);
    return rc;
}

int fl_read_file(const char *dir, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return fl_errmsg_set(m, FL_EINVAL, "read: path too long: %s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? fl_errmsg_set(m, FL_ENOTFOUND, "read: %s: no such file", path)
                               : fl_errmsg_errno(m, FL_EIO, errno, "read: open %s", path);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = fl_errmsg_errno(m, FL_EIO, errno, "read: stat %s", path);
    else if ((uint64_t)st.st_size > size_max)
        rc = fl_errmsg_set(m, FL_ETOOBIG, "read: %s: %lld bytes (limit %zu)", path,
                           (long long)st.st_size, size_max);
    size_t n = rc ? 0 : (size_t)st.st_size, done = 0;
    uint8_t *p = rc ? NULL : fl_buf_extend(out, n);
    if (!rc && !p)
        rc = fl_errmsg_set(m, out->err ? out->err : FL_ENOMEM, "read: %s: no room", path);
    while (!rc && done < n) {
        ssize_t r = read(fd, p + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = fl_errmsg_errno(m, FL_EIO, r < 0 ? errno : EIO, "read: %s", path);
        else
            done += (size_t)r;
    }
    close(fd);
    if (rc && p)
        out->len -= n; /* give back what was reserved for the file */
    return rc;
}
