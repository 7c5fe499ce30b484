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

/* Atomically replaces name with data[0..len). Returns 0, or the backend's error (FL_EIO...)
 * with the step and file in m. */
int fl_fs_write_atomic(fl_fs *fs, const char *name, const void *data, size_t len, fl_errmsg *m);
/* Appends all of name to out. Returns 0, FL_ENOTFOUND (no such file), FL_ETOOBIG (longer than
 * size_max), FL_ENOMEM or the backend's error (FL_EIO). */
int fl_fs_read_file(fl_fs *fs, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m);

/* The same on the real directory dir (which must exist). fl_atomic_write_file returns 0 or
 * FL_EIO; fl_read_file as fl_fs_read_file (FL_ENOTFOUND for a missing directory too). */
int fl_atomic_write_file(const char *dir, const char *name, const void *data, size_t len,
                         fl_errmsg *m);
int fl_read_file(const char *dir, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m);

#endif
