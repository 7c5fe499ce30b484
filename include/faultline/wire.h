/* wire.h: the binary encoding of protocol messages. Decoding untrusted bytes returns an
 * error, never asserts. The format is specified byte by byte in src/wire/raft_wire.c. */
#ifndef FAULTLINE_WIRE_H
#define FAULTLINE_WIRE_H

#include "faultline/buf.h"
#include "faultline/raft_msg.h"

#define FL_WIRE_VERSION       1
#define FL_WIRE_MSG_BYTES_MAX (64u << 20) /* one message, all entries included */
#define FL_WIRE_ENTRIES_MAX   4096        /* entries in one AppendEntries */

/* Appends the encoding of m to out. Returns 0, or out->err (FL_ENOMEM, FL_ETOOBIG), or
 * FL_EINVAL for a message that cannot be encoded (unknown type, too many entries). */
int fl_wire_raft_encode(const fl_raft_msg *m, fl_buf *out);

/* Decodes one message that fills exactly bytes[0..len). On success m->u.append.entries points
 * at entries_buf (room for entries_max entries) whose data point into bytes: both must
 * outlive m. Returns 0, or FL_ETRUNC (short input), FL_EVERSION, FL_ETYPE (unknown type),
 * FL_ETOOBIG (over a limit), FL_ECORRUPT (a malformed field or trailing bytes). */
int fl_wire_raft_decode(const uint8_t *bytes, size_t len, fl_raft_msg *m,
                        fl_raft_entry *entries_buf, uint32_t entries_max);

#endif
