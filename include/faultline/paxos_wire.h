/* paxos_wire.h: the binary encoding of Multi-Paxos messages (the format, byte by byte, is at
 * the top of src/wire/paxos_wire.c). Decoding untrusted bytes returns an error, never
 * asserts. A Paxos message starts with a byte no Raft message starts with, so neither
 * decoder takes the other protocol's bytes. */
#ifndef FAULTLINE_PAXOS_WIRE_H
#define FAULTLINE_PAXOS_WIRE_H

#include "faultline/buf.h"
#include "faultline/paxos_msg.h"

#define FL_PAXOS_WIRE_MAGIC   0x50 /* 'P' */
#define FL_PAXOS_WIRE_VERSION 1

/* Appends the encoding of m to out. Returns 0, or out->err (FL_ENOMEM, FL_ETOOBIG), or
 * FL_EINVAL for a message that cannot be encoded (unknown type, too many entries, a snapshot
 * chunk whose data the environment did not fill); out is then as it was. */
int fl_wire_paxos_encode(const fl_paxos_msg *m, fl_buf *out);

/* Decodes one message filling exactly bytes[0..len). Entries (PROMISE, ACCEPT) go to
 * entries_buf (room for entries_max) with data pointing into bytes: both must outlive m.
 * Returns 0, or FL_ETRUNC, FL_EVERSION (not a Paxos message of this version), FL_ETYPE,
 * FL_ETOOBIG (over a limit), FL_ECORRUPT (a malformed field or trailing bytes). */
int fl_wire_paxos_decode(const uint8_t *bytes, size_t len, fl_paxos_msg *m,
                         fl_paxos_entry *entries_buf, uint32_t entries_max);

#endif
