/* atomic_file.h: replace a small file all at once, for snapshots and Raft hard state.
 *
 * fl_atomic_write_file writes NAME.tmp, fsyncs it, renames it over NAME and fsyncs the
 * directory: after a crash at any point NAME holds either its old content or the new one,
 * never a mix, and after a 0 return the new content is durable. The content is stored as
 * given; callers that must detect bit rot put a checksum inside it. A failed fsync here has
 * the same meaning as in the WAL: the node must stop (the caller decides; nothing latches). */
#ifndef FAULTLINE_ATOMIC_FILE_H
#define FAULTLINE_ATOMIC_FILE_H

#include "faultline/buf.h"
#include "faultline/errmsg.h"

/* Atomically replaces dir/name with data[0..len). Returns 0 or FL_EIO (message in m). */
int fl_atomic_write_file(const char *dir, const char *name, const void *data, size_t len,
                         fl_errmsg *m);
/* Reads all of dir/name into out (appending). Returns 0, FL_ENOTFOUND (no such file),
 * FL_ETOOBIG (longer than size_max), FL_ENOMEM or FL_EIO. */
int fl_read_file(const char *dir, const char *name, size_t size_max, fl_buf *out, fl_errmsg *m);

#endif
