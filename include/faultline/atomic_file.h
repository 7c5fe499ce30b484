/* atomic_file.h: replace a small file all at once (snapshot files), and read one whole.
 *
 * fl_fs_write_atomic writes NAME.tmp, syncs it, renames it over NAME and syncs the directory,
 * through the file interface (fs.h): after a crash at any point NAME holds either its old
 * content or the new one, never a mix, and after a 0 return the new content is durable. The
 * content is stored as given; callers that must detect bit rot put a checksum inside it. A
 * failed sync here has the same meaning as in the WAL: the node must stop (the caller
 * decides; nothing latches). The dir forms do the same on a real directory. */
#ifndef FAULTLINE_ATOMIC_FILE_H
#define FAULTLINE_ATOMIC_FILE_H

#include "faultline/buf.h"
#include "faultline/errmsg.h"
#include "faultline/fs.h"

/* Atomically replaces name with data[0..len): the two steps below, through name's temp
 * file. Returns 0, or the backend's error (FL_EIO...) with the step and file in m. */
int fl_fs_write_atomic(fl_fs *fs, const char *name, const void *data, size_t len, fl_errmsg *m);
/* The steps apart, for a caller that runs the first in a background job (fs.h: a job's syncs
 * are not known to be done before the job is) and the second after it: (1) name, created or
 * emptied, gets the n parts one after the other and is synced; (2) from is renamed to to,
 * then the directory is synced. fl_fs_tmp_name: name's temp file, "name.tmp" (FL_EINVAL if
 * too long). */
typedef struct fl_fs_part {
    const void *data;
    size_t len;
} fl_fs_part;
int fl_fs_write_synced(fl_fs *fs, const char *name, const fl_fs_part *parts, size_t n,
                       fl_errmsg *m);
int fl_fs_rename_synced(fl_fs *fs, const char *from, const char *to, fl_errmsg *m);
int fl_fs_tmp_name(const char *name, char out[FL_FS_NAME_MAX], fl_errmsg *m);
/* Appends all of name to out. Returns 0, FL_ENOTFOUND (no such file), FL_ETOOBIG (longer than
 * size_max), FL_ENOMEM or the backend's error (FL_EIO). */
int fl_fs_read_file(fl_fs *fs, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m);

/* The same on the real directory dir (which must exist). fl_atomic_write_file returns 0 or
 * FL_EIO; fl_read_file as fl_fs_read_file (FL_ENOTFOUND for a missing directory too). */
int fl_atomic_write_file(const char *dir, const char *name, const void *data, size_t len,
                         fl_errmsg *m);
int fl_read_file(const char *dir, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m);

#endif
