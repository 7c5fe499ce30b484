/* errmsg.h: a fixed-size error message that io/ functions fill beside their FL_E... code.
 *
 * OS failures carry their context ("fdatasync(/tmp/x/wal-1.seg): Input/output error"); the
 * integer code says what kind of failure it was, the text says where and why. Every function
 * that takes an fl_errmsg accepts NULL (no text wanted). */
#ifndef FAULTLINE_ERRMSG_H
#define FAULTLINE_ERRMSG_H

#include <stddef.h>

#define FL_ERRMSG_SIZE 320

typedef struct fl_errmsg {
    char text[FL_ERRMSG_SIZE];
} fl_errmsg;

/* Formats into m (if not NULL), truncating to fit, and returns code (for `return fl_errmsg_set(
 * m, FL_EIO, ...)`). */
int fl_errmsg_set(fl_errmsg *m, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like fl_errmsg_set, then appends ": <strerror(errnum)>". */
int fl_errmsg_errno(fl_errmsg *m, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
