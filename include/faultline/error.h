/* error.h: the one table of error codes. Functions return int: 0 on success, a negative
 * FL_E... code on failure; fl_strerror() names it. */
#ifndef FAULTLINE_ERROR_H
#define FAULTLINE_ERROR_H

#define FL_ERRORS(X)                                                                               \
    X(FL_OK, 0, "success")                                                                         \
    X(FL_ENOMEM, -1, "out of memory")                                                              \
    X(FL_EINVAL, -2, "invalid argument")                                                           \
    X(FL_ETRUNC, -3, "truncated input")                                                            \
    X(FL_ECORRUPT, -4, "corrupt data")                                                             \
    X(FL_ETOOBIG, -5, "size exceeds limit")                                                        \
    X(FL_EVERSION, -6, "unsupported version")                                                      \
    X(FL_EFULL, -7, "queue or buffer full")                                                        \
    X(FL_ENOTLEADER, -8, "not the leader")                                                         \
    X(FL_EIO, -9, "input/output error")                                                            \
    X(FL_ESYNTAX, -10, "syntax error")                                                             \
    X(FL_ERANGE, -11, "value out of range")                                                        \
    X(FL_EBUSY, -12, "busy")                                                                       \
    X(FL_ESTOPPED, -13, "stopped")                                                                 \
    X(FL_ENOTFOUND, -14, "not found")                                                              \
    X(FL_ETIMEOUT, -15, "timed out")                                                               \
    X(FL_ETYPE, -16, "unknown message type")                                                       \
    X(FL_ESHUTDOWN, -17, "shut down")                                                              \
    X(FL_ECONFIG, -18, "bad configuration")                                                        \
    X(FL_ESTALE, -19, "stale request")                                                             \
    X(FL_EUNSUPPORTED, -20, "not supported")                                                       \
    X(FL_ELAGGING, -21, "member has not caught up")

enum {
#define FL_ERROR_ENUM(name, value, text) name = (value),
    FL_ERRORS(FL_ERROR_ENUM)
#undef FL_ERROR_ENUM
};

/* Returns the text for an FL_E... code, or "unknown error" for any other value. */
const char *fl_strerror(int code);

/* Returns the symbolic name ("FL_ETRUNC") for an FL_E... code, or "FL_E?" for any other. */
const char *fl_errname(int code);

#endif
