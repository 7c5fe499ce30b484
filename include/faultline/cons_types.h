/* cons_types.h: the data both consensus cores (raft.h, paxos.h) share with the one host
 * (host.h) and the store (raft_store.h): a log entry, a decided read, a snapshot's metadata, a
 * persist request, the durable state a node recovers at start, and the update a step makes.
 * The cores use these very types (fl_raft_entry and fl_paxos_entry are fl_cons_entry,
 * fl_raft_update and fl_paxos_update are fl_cons_update, ...), so the host drives either core
 * and hands its entries to the store without converting or copying anything.
 *
 * Entry types share numbers: 1 NORMAL (a command) and 2 NOOP in both cores; Raft adds 3
 * CONFIG (a membership configuration), Paxos 0 EMPTY (a slot where nothing was accepted, a
 * gap). A Raft entry carries the term it was appended in, a Paxos entry the ballot it was
 * accepted at: the same field under two names. */
#ifndef FAULTLINE_CONS_TYPES_H
#define FAULTLINE_CONS_TYPES_H

#include "faultline/raft_conf.h"
#include "faultline/types.h"

/* Which core: one field of a node's (and a run's) configuration. */
typedef enum fl_cons_protocol {
    FL_CONS_RAFT = 0,
    FL_CONS_PAXOS = 1,
} fl_cons_protocol;

static inline const char *fl_cons_protocol_name(fl_cons_protocol p)
{
    return p == FL_CONS_PAXOS ? "paxos" : "raft";
}

typedef struct fl_cons_entry {
    union {
        fl_term term;   /* Raft */
        fl_term ballot; /* Paxos (0 for an EMPTY slot) */
    };
    uint8_t type;
    uint32_t len;
    const uint8_t *data;
} fl_cons_entry;

/* A read the core decided: when ok, serve it from the state machine once it has applied
 * everything up to index (the update that reports it applies that far first); not ok: the
 * read failed (leadership lost...), retry it elsewhere. */
typedef struct fl_cons_read {
    uint64_t ctx;
    fl_index index;
    bool ok;
} fl_cons_read;

/* A snapshot's identity: the state machine after applying entries 1..index. term and conf
 * are Raft's (the term of the entry at index, the configuration as of index); a Paxos
 * snapshot has term 0 and an empty conf. */
typedef struct fl_cons_snapshot_meta {
    fl_index index; /* 0: no snapshot */
    fl_term term;
    fl_raft_conf conf;
    uint64_t size; /* bytes of state-machine data */
    uint32_t crc;  /* CRC32C of those bytes */
} fl_cons_snapshot_meta;

/* A persist request (seq == 0: none): the durable log must become the durable entries with
 * index < first_index followed by entries[0..n_entries); with hard_state, the hard state
 * becomes (term, vote) -- Raft: current term and vote; Paxos: the promised ballot in term,
 * vote 0. With install, the staged snapshot becomes the node's snapshot with install_meta,
 * and the durable log is the entries in (install_meta.index, first_index) + entries. */
typedef struct fl_cons_persist {
    uint64_t seq;
    bool hard_state;
    fl_term term;
    fl_node_id vote;
    fl_index first_index;
    size_t n_entries;
    const fl_cons_entry *entries;
    bool install;
    fl_cons_snapshot_meta install_meta;
} fl_cons_persist;

/* What survived on disk (the same shape for both cores: Paxos reads its promise from term).
 * first_index is the index of entries[0]: 1 without a snapshot, else snapshot index + 1. */
typedef struct fl_cons_durable {
    fl_term term;
    fl_node_id vote;
    fl_index first_index;
    size_t n_entries;
    const fl_cons_entry *entries;
    const fl_cons_snapshot_meta *snapshot; /* NULL (or index 0): none */
} fl_cons_durable;

/* Roles, with Raft's numbers; a Paxos proposer running phase 1 is a CANDIDATE (Paxos has no
 * pre-candidate). */
typedef enum fl_cons_role {
    FL_CONS_FOLLOWER = 0,
    FL_CONS_PRE_CANDIDATE = 1,
    FL_CONS_CANDIDATE = 2,
    FL_CONS_LEADER = 3,
} fl_cons_role;

/* What a step asks of the environment, and the node's state after it (raft.h and paxos.h say
 * what each core puts in every field). Everything it points to stays valid until the next
 * step or close of the same node. */
typedef struct fl_cons_update {
    fl_cons_persist persist; /* seq 0: no request */
    /* a received snapshot's chunk to stage: bytes [offset, offset + len) of the snapshot of
     * index (Raft: of term; Paxos: term 0); offset 0 discards what was staged before. data
     * points into the received message. index 0 and len 0: none */
    struct {
        fl_index index;
        fl_term term;
        uint64_t offset;
        uint32_t len;
        const uint8_t *data;
    } snapshot_chunk;
    /* nonzero: replace the state machine by the node's snapshot (of this index) before
     * applying entries */
    fl_index restore_index;
    /* messages to send: the core's own (fl_raft_msg or fl_paxos_msg: fl_raft_msgs_of and
     * fl_paxos_msgs_of), each to its .to */
    size_t n_msgs;
    const void *msgs;
    /* committed (chosen) entries to apply now, in order: apply_first .. apply_first + n - 1 */
    fl_index apply_first;
    size_t n_apply;
    const fl_cons_entry *apply;
    /* reads decided in this step; serve them after applying this update's entries */
    size_t n_reads;
    const fl_cons_read *reads;
    /* PROPOSE: where the entry went, and at which term (Raft) or ballot (Paxos) */
    fl_index proposed_index;
    fl_term proposed_term;
    /* the state after the step, for observers */
    uint8_t role; /* fl_cons_role */
    fl_term term; /* Raft: the current term; Paxos: the promised ballot */
    fl_node_id leader;
    fl_index commit;
    bool role_changed;
    /* the node's own sync of what it appended may wait for a later step (a hint; false is
     * always safe). Raft: a leader none of whose fellow voters has been sent its last entry
     * yet (each one's window of AppendEntries in flight is full, or it is probed): those
     * entries cannot commit before a later step sends them, so syncing them now only costs
     * a sync (issue 16: the leader synced 1.7x as often as its followers). The host syncs
     * at the next step that says false. Paxos: always false. */
    bool sync_may_wait;
    /* when the core wants the next TICK (local time); FL_TIME_NEVER if it does not */
    fl_time_ns deadline_ns;
} fl_cons_update;

#endif
