/* paxos_msg.h: the Multi-Paxos slot entry and the messages Paxos nodes exchange, as plain
 * structs (the counterpart of raft_msg.h).
 *
 * paxos/ produces and consumes these; wire/paxos_wire.c turns them into bytes and back. A
 * message never owns memory: entries point into the sender's log (valid until its next step)
 * or into the received bytes (valid until the receiver's step returns).
 *
 * Ballots are fl_term values that name their proposer: ballot = round << 16 | node id, so two
 * proposers never share one, and comparing ballots compares rounds first. */
#ifndef FAULTLINE_PAXOS_MSG_H
#define FAULTLINE_PAXOS_MSG_H

#include "faultline/cons_types.h"
#include "faultline/types.h"

#define FL_PAXOS_BALLOT_ID_BITS 16
#define FL_PAXOS_NODE_ID_MAX    0xffffu /* node ids 1 .. this fit in a ballot */

static inline fl_term fl_paxos_ballot(uint64_t round, fl_node_id id)
{
    return round << FL_PAXOS_BALLOT_ID_BITS | (fl_term)(id & FL_PAXOS_NODE_ID_MAX);
}
static inline uint64_t fl_paxos_ballot_round(fl_term b)
{
    return b >> FL_PAXOS_BALLOT_ID_BITS;
}
static inline fl_node_id fl_paxos_ballot_owner(fl_term b)
{
    return (fl_node_id)(b & FL_PAXOS_NODE_ID_MAX);
}

/* Entry types share Raft's numbers where they mean the same thing (NORMAL, NOOP). */
typedef enum fl_paxos_entry_type {
    FL_PAXOS_ENTRY_EMPTY = 0,  /* a slot with nothing accepted in it (a gap) */
    FL_PAXOS_ENTRY_NORMAL = 1, /* an application command */
    FL_PAXOS_ENTRY_NOOP = 2,   /* fills a gap found by phase 1 */
} fl_paxos_entry_type;
#define FL_PAXOS_ENTRY_TYPE_MAX 2

/* One slot of an acceptor's log: the value it accepted there and the ballot it accepted it
 * at (0 and EMPTY: nothing accepted). */
typedef fl_cons_entry fl_paxos_entry; /* ballot, type, len, data (cons_types.h) */

typedef enum fl_paxos_msg_type {
    FL_PAXOS_MSG_PREPARE = 1,       /* phase 1a: promise ballot, send me your slots from from */
    FL_PAXOS_MSG_PROMISE = 2,       /* phase 1b: the promise (or a refusal) and accepted slots */
    FL_PAXOS_MSG_ACCEPT = 3,        /* phase 2a: accept these values; also the heartbeat */
    FL_PAXOS_MSG_ACCEPTED = 4,      /* phase 2b: accepted (or a refusal) */
    FL_PAXOS_MSG_SNAPSHOT = 5,      /* one chunk of the leader's snapshot (catch-up) */
    FL_PAXOS_MSG_SNAPSHOT_RESP = 6, /* the next offset wanted, or "installed" */
} fl_paxos_msg_type;
#define FL_PAXOS_MSG_TYPE_MAX 6

typedef struct fl_paxos_prepare {
    fl_index from; /* the first slot whose accepted value the proposer wants */
} fl_paxos_prepare;

/* A promise for msg.ballot, with the acceptor's accepted values for slots from .. from +
 * n_entries - 1 (EMPTY where it accepted nothing). When ok is false the acceptor refuses:
 * it promised the higher ballot promised. first is the acceptor's first slot in its log (a
 * snapshot covers the ones before): first > from means the proposer lacks chosen values the
 * acceptor can no longer show, and must catch up before it can lead. last is the acceptor's
 * last slot: if from + n_entries - 1 < last, the proposer asks for the rest with another
 * PREPARE of the same ballot. */
typedef struct fl_paxos_promise {
    bool ok;
    fl_term promised;
    fl_index from;
    fl_index first;
    fl_index last;
    fl_index commit; /* the acceptor's known-chosen prefix, for observers */
    uint32_t n_entries;
    const fl_paxos_entry *entries;
} fl_paxos_promise;

/* Phase 2a for slots first .. first + n_entries - 1 at msg.ballot, with the leader's chosen
 * prefix (commit). n_entries == 0 is the heartbeat. An EMPTY entry asks nothing for its slot
 * (only a leader that skips gap filling, a mutant, sends one). entries[i].ballot is not on
 * the wire: a decoded entry carries msg.ballot (0 for EMPTY). */
typedef struct fl_paxos_accept {
    fl_index first;
    fl_index commit;
    uint64_t ctx; /* echoed in the answer: read rounds, leases */
    uint32_t n_entries;
    const fl_paxos_entry *entries;
} fl_paxos_accept;

/* Phase 2b: the acceptor accepted (durably) slots first .. last at msg.ballot (last < first:
 * none, a heartbeat's answer), and holds every slot up to match either known chosen or
 * accepted at msg.ballot. ok false: refused, it promised the higher ballot promised. */
typedef struct fl_paxos_accepted {
    bool ok;
    fl_term promised;
    fl_index first;
    fl_index last;
    fl_index match;
    uint64_t ctx;
} fl_paxos_accepted;

/* A snapshot of the state machine after applying slots 1..index. The bytes stay with the
 * environment (paxos.h, FL_PAXOS_EV_SNAPSHOT). */
typedef struct fl_paxos_snapshot_meta {
    fl_index index; /* last slot included; 0: no snapshot */
    uint64_t size;
    uint32_t crc; /* CRC32C of the bytes */
} fl_paxos_snapshot_meta;

/* One chunk, bytes [offset, offset + len) of the snapshot meta describes; done on the last.
 * In a leader's update data is NULL: the environment fills it before sending (paxos.h). */
typedef struct fl_paxos_snapshot {
    fl_paxos_snapshot_meta meta;
    uint64_t offset;
    uint32_t len;
    bool done;
    uint64_t ctx;
    const uint8_t *data;
} fl_paxos_snapshot;

typedef struct fl_paxos_snapshot_resp {
    fl_index index;       /* the snapshot answered (its meta.index) */
    uint64_t next_offset; /* bytes staged so far (0: start over) */
    bool done;            /* installed durably */
    uint64_t ctx;
} fl_paxos_snapshot_resp;

typedef struct fl_paxos_msg {
    uint8_t type; /* fl_paxos_msg_type */
    fl_node_id from;
    fl_node_id to;
    fl_term ballot;
    union {
        fl_paxos_prepare prepare;
        fl_paxos_promise promise;
        fl_paxos_accept accept;
        fl_paxos_accepted accepted;
        fl_paxos_snapshot snapshot;
        fl_paxos_snapshot_resp snapshot_resp;
    } u;
} fl_paxos_msg;

const char *fl_paxos_msg_type_name(uint8_t type);

#endif
