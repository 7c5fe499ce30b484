/* raft_msg.h: the Raft log entry and the messages Raft nodes exchange, as plain structs.
 *
 * raft/ produces and consumes these; wire/ turns them into bytes and back. A message never
 * owns memory: an AppendEntries' entries point into the sender's log (valid until its next
 * step) or into the received bytes (valid until the receiver's step returns). */
#ifndef FAULTLINE_RAFT_MSG_H
#define FAULTLINE_RAFT_MSG_H

#include "faultline/cons_types.h"
#include "faultline/raft_conf.h"
#include "faultline/types.h"

typedef enum fl_raft_entry_type {
    FL_RAFT_ENTRY_NORMAL = 1, /* an application command */
    FL_RAFT_ENTRY_NOOP = 2,   /* appended by a new leader to commit its term (Raft 5.4.2, 8) */
    FL_RAFT_ENTRY_CONFIG = 3, /* a membership configuration (reserved for joint consensus) */
} fl_raft_entry_type;

/* An entry: term, type (fl_raft_entry_type), len, data (cons_types.h: the type both cores
 * share with the host and the store). */
typedef fl_cons_entry fl_raft_entry;

typedef enum fl_raft_msg_type {
    FL_RAFT_MSG_VOTE = 1, /* RequestVote */
    FL_RAFT_MSG_VOTE_RESP = 2,
    FL_RAFT_MSG_PRE_VOTE = 3, /* PreVote: "would you vote for me at term+1?" (thesis 9.6) */
    FL_RAFT_MSG_PRE_VOTE_RESP = 4,
    FL_RAFT_MSG_APPEND = 5, /* AppendEntries, also the heartbeat (no entries) */
    FL_RAFT_MSG_APPEND_RESP = 6,
    FL_RAFT_MSG_TIMEOUT_NOW = 7,      /* leadership transfer: start an election now (thesis 3.10) */
    FL_RAFT_MSG_SNAPSHOT = 8,         /* InstallSnapshot: one chunk of the leader's snapshot */
    FL_RAFT_MSG_SNAPSHOT_RESP = 9,    /* the next offset wanted, or "installed" */
    FL_RAFT_MSG_READ_INDEX = 10,      /* a follower asks the leader for a read index (6.4) */
    FL_RAFT_MSG_READ_INDEX_RESP = 11, /* the leader's answer: the index, or ok = false */
} fl_raft_msg_type;
#define FL_RAFT_MSG_TYPE_MAX 11

typedef struct fl_raft_vote {
    fl_index last_index; /* candidate's last log index and term: the up-to-date check */
    fl_term last_term;
    bool transfer; /* sent because of TimeoutNow: voters with a live leader still answer */
} fl_raft_vote;

typedef struct fl_raft_vote_resp {
    bool granted;
} fl_raft_vote_resp;

typedef struct fl_raft_append {
    fl_index prev_index; /* entry immediately before entries[0] */
    fl_term prev_term;
    fl_index commit; /* leader's commit index, clamped to what the follower can verify */
    uint64_t ctx;    /* echoed in the response: ReadIndex rounds, probe matching */
    uint32_t n_entries;
    const fl_raft_entry *entries;
} fl_raft_append;

typedef struct fl_raft_append_resp {
    bool success;
    fl_index match_index;  /* success: prev_index + n_entries, now durable on the follower */
    fl_index reject_index; /* failure: the prev_index that did not match */
    fl_index hint_index;   /* failure: where the leader should probe next (see below) */
    fl_term hint_term;     /* failure: term of the follower's entry at reject_index, 0 if none */
    fl_index last_index;   /* follower's last log index */
    uint64_t ctx;
} fl_raft_append_resp;

/* A snapshot's identity and metadata: the state machine after applying entries 1..index
 * (index; 0: no snapshot), the term of that entry, the configuration as of index, size and
 * CRC32C of its bytes (cons_types.h). The bytes themselves stay with the environment (raft.h,
 * FL_RAFT_EV_SNAPSHOT). */
typedef fl_cons_snapshot_meta fl_raft_snapshot_meta;

/* InstallSnapshot (Raft paper figure 13), one chunk: bytes [offset, offset + len) of the
 * snapshot meta describes. done is true on the last chunk (offset + len == meta.size). In a
 * leader's update data is NULL: the environment fills it before sending (raft.h). */
typedef struct fl_raft_snapshot {
    fl_raft_snapshot_meta meta;
    uint64_t offset;
    uint32_t len;
    bool done;
    uint64_t ctx; /* echoed in the response, as AppendEntries' ctx */
    const uint8_t *data;
} fl_raft_snapshot;

typedef struct fl_raft_snapshot_resp {
    fl_index index;       /* the snapshot answered (its meta.index) */
    uint64_t next_offset; /* bytes staged so far: the chunk wanted next (0: start over) */
    bool done;            /* installed durably: the follower's log covers index */
    uint64_t ctx;
} fl_raft_snapshot_resp;

/* ReadIndex at a follower or learner (raft.h, FL_RAFT_EV_READ): READ_INDEX carries only ctx
 * (the requester's id for the read); READ_INDEX_RESP echoes it with the leader's decision: ok
 * and the commit index the read may be served at once applied, or ok = false (retry). */
typedef struct fl_raft_read_index {
    uint64_t ctx;
    fl_index index;
    bool ok;
} fl_raft_read_index;

typedef struct fl_raft_msg {
    uint8_t type; /* fl_raft_msg_type */
    fl_node_id from;
    fl_node_id to;
    fl_term term;
    union {
        fl_raft_vote vote;           /* VOTE, PRE_VOTE (term = the term it would stand at) */
        fl_raft_vote_resp vote_resp; /* VOTE_RESP, PRE_VOTE_RESP */
        fl_raft_append append;
        fl_raft_append_resp append_resp;
        fl_raft_snapshot snapshot;
        fl_raft_snapshot_resp snapshot_resp;
        fl_raft_read_index read_index; /* READ_INDEX, READ_INDEX_RESP */
    } u;
} fl_raft_msg;

const char *fl_raft_msg_type_name(uint8_t type);

#endif
