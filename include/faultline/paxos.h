/* paxos.h: Multi-Paxos with a stable leader (and Flexible Paxos quorums) as a pure,
 * deterministic state machine, with the Raft core's shape and contract (raft.h).
 *
 * The core never reads a clock, does I/O, calls rand() or touches a global. The environment
 * feeds it events, each carrying the current time, and after every event gets one update:
 *
 *     int fl_paxos_step(fl_paxos *p, const fl_paxos_event *ev, fl_paxos_update *up);
 *
 * Every node is proposer, acceptor and learner. The protocol (docs/paxos.md):
 *
 *   - Leader election by ballots. A follower that has not heard from a leader for an
 *     election timeout (the failure detector, drawn from [base, 2 base)) runs phase 1 for a
 *     ballot above every one it has seen, once for all slots from its first unchosen one:
 *     PREPARE(ballot, from). Acceptors promise (durably first) and send what they accepted
 *     in those slots. With promises from q1 acceptors (itself counted once its own promise is
 *     durable) it leads: for each slot up to the highest any promise showed it re-proposes
 *     the value of the highest ballot, or a no-op where nobody accepted anything (gap
 *     filling), at its ballot. A proposer preempted by a higher ballot backs off for a random
 *     election timeout; with cfg.no_backoff it instead retries at once with a higher ballot,
 *     and timeouts are not randomized: duelling proposers then livelock.
 *   - Phase 2 per slot, batched and pipelined: ACCEPT(ballot, first, values, commit). A slot
 *     is chosen when q2 acceptors (the leader counted once its own acceptance is durable)
 *     accepted it at the leader's ballot; commit is the chosen prefix, which followers learn
 *     from ACCEPT (a follower marks a slot chosen only when it holds the leader's value for
 *     it, accepted at the leader's ballot). Lagging followers get the slots again, or the
 *     snapshot when the leader's log no longer holds them.
 *   - An acceptor that has heard from a leader within the election timeout ignores other
 *     proposers' PREPAREs (so a live leader is not deposed, and leases hold); a leader that
 *     has not heard from q2 - 1 others within an election timeout steps down.
 *   - Reads at the leader, linearizable: once the leader's commit covers every slot phase 1
 *     found, a read is registered at its commit index and confirmed by a round of ACCEPT
 *     heartbeats answered by q2 acceptors (as Raft's ReadIndex), or answered at once within a
 *     lease: q2 acceptors acknowledged a heartbeat sent less than election timeout x (1 - d)
 *     / (1 + d) ago, for the declared drift bound d = max_drift_ppm / 10^6.
 *   - Flexible Paxos: phase-1 quorums of q1 and phase-2 quorums of q2 acceptors, q1 + q2 > n
 *     (refused otherwise unless cfg.unsafe_quorums).
 *   - The member set is fixed (cfg.nodes); there is no membership change.
 *
 * Persistence is asynchronous, as in raft.h: an update may carry a persist request numbered
 * seq; the environment makes requests durable in order and reports each with PERSISTED.
 * Until then the core acts as if it had not happened: a promise (PROMISE) and an acceptance
 * (ACCEPTED) are sent only once everything they depend on is durable; a candidate counts its
 * own promise, a leader its own acceptance, only once durable.
 *
 * The durable state is the promised ballot (the hard state) and the log: a contiguous array
 * of slots from first_index, EMPTY where nothing was accepted. A persist request says "the
 * durable log becomes the durable slots below first_index followed by entries" (entries may
 * include EMPTY slots, and rewrite a suffix when a lower slot changed).
 *
 * Snapshots as in raft.h: the environment snapshots its state machine at an applied slot and
 * says so with FL_PAXOS_EV_SNAPSHOT (index, size, CRC32C); the core keeps the metadata and
 * drops its log up to index - snapshot_trailing. A leader whose follower needs a dropped slot
 * sends SNAPSHOT chunks with data == NULL; the environment fills data with bytes [offset,
 * offset + len) of its snapshot of that index before sending. The follower hands each chunk
 * to the environment (update.snapshot_chunk, offset 0 restarts staging), checks the CRC, and
 * asks with persist.install to store the staged snapshot durably; only once that is
 * PERSISTED does it acknowledge, move commit and applied to the index, and set
 * update.restore_index (the environment replaces its state machine by the snapshot before
 * applying the update's entries). Unlike Raft it keeps its accepted slots above the index:
 * they may be part of a quorum that chose them.
 *
 * Everything an update points to stays valid until the next fl_paxos_step or fl_paxos_close
 * on the same node.
 *
 * Roles:
 *                 election timeout                 q1 promises, own durable
 *     FOLLOWER -----------------------> CANDIDATE -------------------------> LEADER
 *        ^  (fl__campaign, elect.c)        |  (fl__become_leader, accept.c)    |
 *        +---- higher ballot, refusal, ----+-----------------------------------+
 *              behind a snapshot, quorum lost (fl__step_down)
 *
 * Invariants (fl_paxos_invariants, after every step in tests and the simulator):
 *   1. applied <= commit <= last slot; first_index - 1 <= snap.index <= applied (except while
 *      an install is pending); no slot up to commit is EMPTY.
 *   2. every accepted ballot in the log is <= promised (the ACCEPT_BELOW_PROMISE mutant
 *      aside); a leader's or candidate's ballot == promised, and it owns it.
 *   3. a leader's slots from p1_from on hold its ballot, or are EMPTY only under the
 *      SKIP_GAP_FILL mutant; pending persist requests and held messages within their bounds.
 */
#ifndef FAULTLINE_PAXOS_H
#define FAULTLINE_PAXOS_H

#include "faultline/paxos_msg.h"
#include "faultline/rng.h"

#define FL_PAXOS_NODES_MAX           16
#define FL_PAXOS_INFLIGHT_MAX        64   /* ACCEPTs in flight to one follower */
#define FL_PAXOS_HELD_MAX            256  /* answers waiting for durability */
#define FL_PAXOS_PENDING_MAX         1024 /* persist requests not yet reported durable */
#define FL_PAXOS_READS_MAX           1024 /* reads waiting for their round */
#define FL_PAXOS_SENT_RING           1024 /* ACCEPT send times remembered for leases */
#define FL_PAXOS_PROMISE_ENTRIES_MAX 1024 /* slots in one PROMISE (more: asked again) */
#define FL_PAXOS_BATCH_MAX           4096 /* slots in one ACCEPT (the wire's bound) */

/* The numbers are the consensus-core interface's (cons_types.h: Raft's). */
typedef enum fl_paxos_role {
    FL_PAXOS_FOLLOWER = 0,
    FL_PAXOS_CANDIDATE = 2, /* running phase 1 */
    FL_PAXOS_LEADER = 3,
} fl_paxos_role;

const char *fl_paxos_role_name(fl_paxos_role role);

/* Deliberately wrong behaviours, to prove the checks catch them (docs/paxos.md). Off unless
 * set in fl_paxos_config.mutants. (q1 + q2 <= n is cfg.unsafe_quorums, not a mutant.) */
typedef enum fl_paxos_mutant {
    /* an acceptor accepts a value at a ballot below its promise (breaks phase 2b) */
    FL_PAXOS_MUTANT_ACCEPT_BELOW_PROMISE = 1u << 0,
    /* a new leader ignores the highest-ballot values the promises carried and re-proposes
     * its own log (or no-ops) instead (breaks phase 2a's choice of value) */
    FL_PAXOS_MUTANT_IGNORE_PROMISED_VALUE = 1u << 1,
    /* a promise is sent before it is durable; a crash forgets it */
    FL_PAXOS_MUTANT_PROMISE_BEFORE_DURABLE = 1u << 2,
    /* a leader answers reads at once, without a quorum round or a lease */
    FL_PAXOS_MUTANT_READ_NO_QUORUM = 1u << 3,
    /* a new leader leaves the gaps phase 1 found empty instead of filling them with no-ops:
     * the chosen prefix never passes them (liveness) */
    FL_PAXOS_MUTANT_SKIP_GAP_FILL = 1u << 4,
} fl_paxos_mutant;

uint32_t fl_paxos_mutant_parse(const char *name); /* 0 if none by that name */
const char *fl_paxos_mutant_name(uint32_t bit);   /* "?" for anything else */
size_t fl_paxos_mutant_list(const uint32_t **bits);

typedef struct fl_paxos_config {
    fl_node_id id; /* 1 .. FL_PAXOS_NODE_ID_MAX */
    uint32_t n_nodes;
    fl_node_id nodes[FL_PAXOS_NODES_MAX]; /* the fixed member set, id included */
    /* Quorum sizes (0: a majority). q1 + q2 > n_nodes is required unless unsafe_quorums. */
    uint32_t q1;
    uint32_t q2;
    bool unsafe_quorums;
    fl_time_ns election_timeout_ns; /* failure detector; each timeout in [base, 2 base) */
    fl_time_ns heartbeat_ns;        /* < election_timeout_ns */
    uint32_t inflight_max;          /* 1 .. FL_PAXOS_INFLIGHT_MAX */
    uint32_t batch_entries_max;     /* slots in one ACCEPT */
    uint32_t batch_bytes_max;
    uint32_t entry_bytes_max; /* proposals larger are refused (FL_ETOOBIG) */
    /* A leader refuses proposals (FL_EBUSY) while this many slots above commit are open;
     * 1 .. FL_PAXOS_PROMISE_ENTRIES_MAX / 2, so a new leader's phase 1 finds every open slot
     * of earlier leaders in a few PROMISE messages. */
    uint32_t uncommitted_max;
    bool lease_reads;
    uint32_t max_drift_ppm;
    uint32_t snapshot_chunk_bytes; /* 1 .. 16 MiB */
    uint32_t snapshot_trailing;    /* slots kept behind a snapshot taken here */
    bool no_backoff;               /* preempted proposers retry at once; fixed timeouts */
    uint64_t seed;                 /* randomizes timeouts; give every node a different one */
    uint32_t mutants;
} fl_paxos_config;

/* Defaults for node id (set n_nodes and nodes): majorities, election timeout 150 ms,
 * heartbeat 30 ms, 8 in flight, batches of 64 slots / 1 MiB, 256 open slots, snapshot chunks
 * of 64 KiB. */
void fl_paxos_config_default(fl_paxos_config *c, fl_node_id id);
/* Returns 0, or FL_ECONFIG with a reason written to why (may be NULL). */
int fl_paxos_config_validate(const fl_paxos_config *c, char *why, size_t why_size);
/* The quorum sizes in force (a majority where the config says 0). */
uint32_t fl_paxos_q1(const fl_paxos_config *c);
uint32_t fl_paxos_q2(const fl_paxos_config *c);

/* What survived on disk. Copied; the caller keeps ownership. */
typedef struct fl_paxos_durable {
    fl_term promised;
    fl_index first_index; /* slot of entries[0]: 1 without a snapshot */
    size_t n_entries;
    const fl_paxos_entry *entries;
    const fl_paxos_snapshot_meta *snapshot; /* NULL (or index 0): none */
} fl_paxos_durable;

/* The numbers match fl_raft_event_type where the meaning is the same. */
typedef enum fl_paxos_event_type {
    FL_PAXOS_EV_TICK = 1,
    FL_PAXOS_EV_RECEIVE = 2,
    FL_PAXOS_EV_PERSISTED = 3, /* persist request seq (and all before it) is durable */
    FL_PAXOS_EV_PROPOSE = 4,   /* a command (leader only) */
    FL_PAXOS_EV_READ = 5,      /* a linearizable read at the leader, identified by ctx */
    FL_PAXOS_EV_SNAPSHOT = 7,  /* the environment snapshotted its state machine */
} fl_paxos_event_type;

typedef struct fl_paxos_event {
    uint8_t type; /* fl_paxos_event_type */
    fl_time_ns now_ns;
    union {
        const fl_paxos_msg *msg; /* RECEIVE */
        uint64_t seq;            /* PERSISTED */
        struct {
            const uint8_t *data;
            uint32_t len;
        } propose;
        uint64_t read_ctx; /* READ */
        struct {
            fl_index index; /* snap < index <= applied */
            uint64_t size;
            uint32_t crc;
        } snapshot;
    } u;
} fl_paxos_event;

/* A decided read (as fl_raft_read): ok: serve it after applying this update's entries;
 * not ok: leadership was lost, retry elsewhere. Every READ accepted is reported once. */
typedef fl_cons_read fl_paxos_read;

/* A step's update (cons_types.h): the persist request (hard state: the promised ballot in
 * persist.term, vote 0; entries may include EMPTY slots; an install's meta has term 0 and no
 * configuration), a snapshot chunk to stage (term 0) and an index to restore, messages
 * (fl_paxos_msg: fl_paxos_msgs_of), chosen slots to apply in order (NOOPs included), decided
 * reads, where a PROPOSE went (slot and ballot), and role (fl_paxos_role), term (the promised
 * ballot), leader, commit, role_changed and the next deadline. */
typedef fl_cons_update fl_paxos_update;

static inline const fl_paxos_msg *fl_paxos_msgs_of(const fl_paxos_update *up)
{
    return (const fl_paxos_msg *)up->msgs;
}

/* Per member: phase-1 state while a candidate, replication progress while leading. */
typedef struct fl_paxos_peer {
    fl_node_id id;
    /* phase 1 */
    bool p1_done;     /* promised, and every slot it holds from p1_from received */
    fl_index p1_next; /* the next slot its promise should cover */
    /* phase 2 */
    fl_index next;  /* next slot to send */
    fl_index match; /* slots up to here known chosen or accepted at our ballot there */
    fl_index match_at_heartbeat;
    uint32_t inflight;
    bool recent_active;
    uint64_t ctx_acked;
    fl_time_ns acked_sent_ns;
    bool snapshotting;
    fl_index snap_index;
    uint64_t snap_offset;
} fl_paxos_peer;

typedef struct fl_paxos_held {
    uint64_t seq;
    fl_paxos_msg msg; /* PROMISE entries point into the log: rebuilt when released */
} fl_paxos_held;

typedef struct fl_paxos_pending {
    uint64_t seq;
    fl_index from, last; /* slots the request wrote */
    fl_term promised;
} fl_paxos_pending;

/* The node. Fields are private to paxos/; read them through the accessors below. */
typedef struct fl_paxos {
    fl_paxos_config cfg;
    uint32_t q1, q2;
    fl_rng rng;
    fl_time_ns now;
    fl_paxos_role role;
    fl_term promised;
    fl_term ballot;   /* CANDIDATE/LEADER: ours; FOLLOWER: the leader's we follow (or 0) */
    fl_term max_seen; /* the highest ballot seen anywhere */
    fl_node_id leader;
    /* the log: log[i] is slot first_index + i; acks[i] the members (bit = member index)
     * known to have durably accepted it at our ballot, while leading */
    fl_paxos_entry *log;
    uint32_t *acks;
    size_t log_count, log_cap;
    fl_index first_index;
    /* the highest ballot any slot was ever set to in this run (fl__px_log_set only): the
     * invariants compare it, not every slot, with the promise (which never falls) */
    fl_term log_ballot_max;
    fl_paxos_snapshot_meta snap;
    struct fl_paxos_stage {
        fl_paxos_snapshot_meta meta;
        uint64_t offset;
        uint32_t crc;
    } stage;
    uint64_t install_seq;
    bool install_wait;
    fl_node_id install_from; /* the leader (and its ballot) to acknowledge once durable */
    fl_term install_ballot;
    bool restore_pending;
    struct {
        fl_index index;
        uint64_t offset;
        uint32_t len;
        const uint8_t *data;
    } chunk_out;
    fl_index commit;
    fl_index applied;
    fl_index match; /* FOLLOWER: slots up to here chosen or accepted at match_ballot */
    fl_term match_ballot;
    /* durability */
    uint64_t seq_next, seq_durable;
    fl_term durable_promised;
    uint64_t self_promise_seq;
    bool self_promise_wait;
    fl_paxos_pending pending[FL_PAXOS_PENDING_MAX];
    size_t pending_head, pending_count;
    fl_paxos_held held[FL_PAXOS_HELD_MAX];
    size_t held_count;
    uint32_t n_peers;
    fl_paxos_peer peers[FL_PAXOS_NODES_MAX];
    uint32_t self_index;
    /* phase 1: the highest-ballot value seen per slot from p1_from, owned copies */
    fl_paxos_entry *rec;
    size_t rec_count, rec_cap;
    fl_index p1_from; /* the first slot phase 1 covers (commit + 1 when it started) */
    fl_index p1_end;  /* the last slot any promise showed (>= p1_from - 1) */
    /* timers */
    fl_time_ns election_deadline;
    fl_time_ns heartbeat_deadline;
    fl_time_ns quorum_deadline;
    fl_time_ns leader_contact;
    fl_time_ns prepares_ignored_until; /* after a start with leases: see read.c */
    uint64_t ctx_next;
    struct fl_paxos_sent {
        uint64_t ctx;
        fl_time_ns at;
    } sent[FL_PAXOS_SENT_RING];
    /* reads waiting for their round */
    struct fl_paxos_pending_read {
        uint64_t ctx;
        fl_index index; /* the commit it is served at, once indexed */
        bool indexed;   /* false until the leader's commit covers phase 1 */
        uint64_t round;
    } reads[FL_PAXOS_READS_MAX];
    size_t reads_count;
    fl_paxos_read *reads_out;
    size_t reads_out_count, reads_out_cap;
    /* this step's outputs */
    fl_paxos_msg *out;
    size_t out_count, out_cap;
    bool dirty_hard_state;
    fl_index dirty_from;
    fl_paxos_role role_at_step;
    /* counters for observers */
    uint64_t ballots_started;
    uint64_t preempted;
    uint64_t campaigns_behind; /* phase 1 given up: a promise showed a snapshot past us */
    uint64_t msgs_dropped_held;
    uint64_t lease_reads_served;
    uint64_t proposals_refused_busy;
    uint64_t snapshots_taken, snapshot_chunks_sent, snapshots_installed, snapshot_crc_failures;
} fl_paxos;

/* Initializes p from config and what its disk held (state may be NULL). Returns 0,
 * FL_ECONFIG, FL_ECORRUPT (a slot accepted above the promise, a malformed entry, a snapshot
 * that does not fit the log), or FL_ENOMEM. */
int fl_paxos_init(fl_paxos *p, const fl_paxos_config *config, const fl_paxos_durable *state,
                  fl_time_ns now_ns);
void fl_paxos_close(fl_paxos *p);

/* Processes one event; *up is always filled. Returns 0; FL_ENOTLEADER for a proposal or a
 * read at a non-leader; FL_EBUSY when uncommitted_max slots are open or FL_PAXOS_READS_MAX
 * reads wait; FL_ETOOBIG for a proposal over entry_bytes_max; FL_EINVAL for a snapshot not
 * newer than the last or beyond applied, or a message that makes no sense (then ignored). */
int fl_paxos_step(fl_paxos *p, const fl_paxos_event *ev, fl_paxos_update *up);

static inline fl_paxos_role fl_paxos_role_of(const fl_paxos *p)
{
    return p->role;
}
static inline fl_term fl_paxos_promised_of(const fl_paxos *p)
{
    return p->promised;
}
static inline fl_term fl_paxos_ballot_of(const fl_paxos *p)
{
    return p->ballot;
}
static inline fl_node_id fl_paxos_leader_of(const fl_paxos *p)
{
    return p->leader;
}
static inline fl_index fl_paxos_commit_of(const fl_paxos *p)
{
    return p->commit;
}
static inline fl_index fl_paxos_applied_of(const fl_paxos *p)
{
    return p->applied;
}
static inline uint64_t fl_paxos_seq_durable_of(const fl_paxos *p)
{
    return p->seq_durable;
}
static inline const fl_paxos_snapshot_meta *fl_paxos_snapshot_of(const fl_paxos *p)
{
    return &p->snap;
}
/* A received snapshot waits to be durable (nothing is applied meanwhile). */
static inline bool fl_paxos_install_pending(const fl_paxos *p)
{
    return p->install_seq != 0;
}
/* The hard state last reported durable (what a crash now would keep of the promise). */
static inline fl_term fl_paxos_durable_promised_of(const fl_paxos *p)
{
    return p->durable_promised;
}
/* When the node wants its next TICK (local time): what an update's deadline_ns says. */
fl_time_ns fl_paxos_deadline_of(const fl_paxos *p);

/* Counters for observers, summed over the node's life (this process). */
typedef struct fl_paxos_counters {
    uint64_t ballots_started; /* phase 1 runs */
    uint64_t preempted;       /* proposers that saw a higher ballot */
    uint64_t snapshots_taken, snapshot_chunks_sent, snapshots_installed;
    uint64_t lease_reads_served;
    uint64_t proposals_refused_busy;
} fl_paxos_counters;
static inline void fl_paxos_counters_of(const fl_paxos *p, fl_paxos_counters *out)
{
    out->ballots_started = p->ballots_started;
    out->preempted = p->preempted;
    out->snapshots_taken = p->snapshots_taken;
    out->snapshot_chunks_sent = p->snapshot_chunks_sent;
    out->snapshots_installed = p->snapshots_installed;
    out->lease_reads_served = p->lease_reads_served;
    out->proposals_refused_busy = p->proposals_refused_busy;
}

fl_index fl_paxos_first_index(const fl_paxos *p);
fl_index fl_paxos_last_index(const fl_paxos *p);
/* The slot's entry, or NULL outside the log. */
const fl_paxos_entry *fl_paxos_entry_at(const fl_paxos *p, fl_index slot);

void fl_paxos_invariants(const fl_paxos *p);
/* One line for traces: "L b65537 c12/14 a12 last14". */
void fl_paxos_describe(const fl_paxos *p, char *out, size_t out_size);

#endif
