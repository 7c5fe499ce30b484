/* raft.h: Raft consensus as a pure, deterministic state machine.
 *
 * The core never reads a clock, does I/O, calls rand() or touches a global. The environment
 * (the simulator, or the real runtime) feeds it events, each carrying the current time, and
 * after every event gets one update back: what to persist, messages to send, entries to
 * apply, role changes, and when to tick next:
 *
 *     int fl_raft_step(fl_raft *r, const fl_raft_event *ev, fl_raft_update *up);
 *
 * Persistence is asynchronous. An update may carry a persist request numbered by a sequence
 * number (seq). The environment makes requests durable in order and reports each with a
 * PERSISTED event. Until then the core acts as if the request had not happened: it does not
 * grant a vote (the vote response waits), acknowledge entries (the AppendEntries response
 * waits), or count itself in a quorum for them. This is what lets the simulator model a crash
 * before fsync honestly.
 *
 * Everything an update points to (entries, messages) stays valid until the next call to
 * fl_raft_step or fl_raft_close on the same node. The environment copies what it keeps.
 *
 * Role transitions (Raft paper figure 4, with pre-vote from the thesis, section 9.6):
 *
 *                 election timeout            majority of pre-votes
 *     FOLLOWER ------------------> PRE_CANDIDATE -------------> CANDIDATE
 *        ^  ^                          |  (become_pre_candidate)    |  majority of votes,
 *        |  |  higher term, or a       |                            |  own vote durable
 *        |  |  current leader's        v                            v  (become_leader)
 *        |  +-------------------- (become_follower) <---------- LEADER
 *        +--- check-quorum fails, higher term seen, TimeoutNow elsewhere
 *
 * Snapshots and log compaction (Raft paper section 7). The state machine's bytes never enter
 * the core. The environment snapshots its state machine at an applied index and says so with
 * FL_RAFT_EV_SNAPSHOT (index, size, CRC32C); the core records the snapshot's metadata (index,
 * term, configuration) and drops its log up to the index, keeping the last snapshot_trailing
 * entries so that a follower a little behind still catches up from the log. From then on
 * "the environment's snapshot" is that one, until a newer one replaces it. The environment
 * keeps the log it has on disk until the snapshot itself is durable.
 *
 * A leader whose follower needs an entry it no longer has sends InstallSnapshot, one chunk
 * (snapshot_chunk_bytes) per round trip: each SNAPSHOT message in an update carries meta,
 * offset and len but data == NULL, and the environment points data at bytes [offset, offset +
 * len) of its snapshot (the one with meta.index; it always holds it) before sending. The
 * follower answers each chunk with the next offset it needs; the leader resends from there
 * after a loss, a timeout, or a restart of either side (a different snapshot, or a follower
 * that lost what it had staged, starts over at 0).
 *
 * The follower passes every chunk it accepts to the environment (update.snapshot_chunk), which
 * stages the bytes (offset 0 discards what was staged before). The core checks the running
 * CRC32C; once the last chunk is in and the checksum matches, the update carries a persist
 * request with persist.install set: the environment stores the staged snapshot durably as
 * its snapshot, together with the log the request describes. The core cuts its log at once:
 * if it holds the snapshot's last entry with the same term it keeps the entries after it,
 * otherwise it discards the whole log (paper, figure 13, steps 6-7). Only when that request is
 * PERSISTED does it acknowledge (done) and move commit and applied to the snapshot index; that
 * update carries restore_index: the environment replaces its state machine by the snapshot
 * before applying the update's entries.
 *
 * Invariants (checked by fl_raft_invariants after every step in the simulator):
 *   1. applied <= commit <= last log index; commit never decreases; first_index - 1 <= the
 *      snapshot index <= applied, except while an install is pending (applied catches up
 *      when it is durable).
 *   2. durable_index <= last log index.
 *   3. A leader's log only grows while it leads (append-only).
 *   4. Log terms are non-decreasing and never exceed the current term.
 *   5. The configuration in force is the latest CONFIG entry in the log (conf_index <= last
 *      index), else the bootstrap one; only voters campaign, and a node removed by a
 *      configuration not known committed (membership.c).
 */
#ifndef FAULTLINE_RAFT_H
#define FAULTLINE_RAFT_H

#include "faultline/raft_conf.h"
#include "faultline/raft_msg.h"
#include "faultline/rng.h"

#define FL_RAFT_NODES_MAX    16   /* members of one configuration */
#define FL_RAFT_INFLIGHT_MAX 64   /* AppendEntries in flight to one follower */
#define FL_RAFT_HELD_MAX     256  /* responses waiting for durability */
#define FL_RAFT_PENDING_MAX  1024 /* persist requests not yet reported durable */
#define FL_RAFT_READS_MAX    1024 /* ReadIndex reads waiting for confirmation */
#define FL_RAFT_SENT_RING    1024 /* AppendEntries send times remembered for leases */

/* The flow control the server ships (server.c raft_config; docs/server.md, issue 16 rounds 5
 * and 7): AppendEntries in flight per follower, entries per message, and the fewest entries a
 * second message in flight carries (with sends_at_batch_end). Here so that the simulator's
 * swarm draws the very values the server runs (swarm.c server_flow). */
#define FL_RAFT_SERVER_INFLIGHT    2
#define FL_RAFT_SERVER_BATCH       4096
#define FL_RAFT_SERVER_OVERLAP_MIN 64
/* The server's bounds on what a leader takes in (server.c raft_config): entries up to 2 MiB
 * (a command with the RESP parser's largest argument, 1 MiB and 4 KiB, fits), and up to 8192
 * entries not yet committed, room for every connection's pipeline in one group commit (past
 * it, ops wait 10 ms and retry). The core's defaults are 1 MiB and 512; the swarm's worlds
 * with exactly the server's flow control run these too (swarm.c server_flow). */
#define FL_RAFT_SERVER_ENTRY_BYTES_MAX (2u << 20)
#define FL_RAFT_SERVER_UNCOMMITTED_MAX 8192
/* ReadIndex heartbeat rounds in flight at once, at most (read.c; the config's
 * read_rounds_max picks how many, 1 by default) */
#define FL_RAFT_READ_ROUNDS_MAX 8
/* A learner may be promoted to voter only when its log is within this many entries of the
 * leader's: a voter that lags far behind would stall commitment until it caught up. */
#define FL_RAFT_CATCHUP_GAP 32

typedef enum fl_raft_role {
    FL_RAFT_FOLLOWER = 0,
    FL_RAFT_PRE_CANDIDATE = 1,
    FL_RAFT_CANDIDATE = 2,
    FL_RAFT_LEADER = 3,
} fl_raft_role;

const char *fl_raft_role_name(fl_raft_role role);

/* Deliberately wrong behaviours, to prove the simulator's checks catch them. Each is off
 * unless its bit is set in fl_raft_config.mutants; only the simulator and tests set them. */
typedef enum fl_raft_mutant {
    /* commit an entry from an earlier term by counting replicas (breaks Raft 5.4.2) */
    FL_RAFT_MUTANT_COMMIT_PREV_TERM = 1u << 0,
    /* grant a vote without the candidate's-log-is-up-to-date check (Raft 5.4.1) */
    FL_RAFT_MUTANT_VOTE_NO_LOG_CHECK = 1u << 1,
    /* announce a vote (a grant, or a candidate counting itself) before it is durable */
    FL_RAFT_MUTANT_VOTE_BEFORE_DURABLE = 1u << 2,
    /* acknowledge entries before they are durable */
    FL_RAFT_MUTANT_ACK_BEFORE_DURABLE = 1u << 3,
    /* accept AppendEntries from a leader of an older term */
    FL_RAFT_MUTANT_ACCEPT_STALE_TERM = 1u << 4,
    /* truncate the log at the first new entry even when it already matches */
    FL_RAFT_MUTANT_TRUNCATE_MATCHING = 1u << 5,
    /* a leader that sees a higher term keeps leading */
    FL_RAFT_MUTANT_NO_STEP_DOWN = 1u << 6,
    /* a ReadIndex read served without confirming leadership with a quorum first */
    FL_RAFT_MUTANT_READ_NO_CONFIRM = 1u << 7,
    /* lease reads that ignore the declared clock drift bound (a lease of a full election
     * timeout measured on the leader's own clock) */
    FL_RAFT_MUTANT_LEASE_NO_DRIFT = 1u << 8,
    /* hand entries to the state machine as soon as they are appended, before they commit
     * (a leader answers clients for writes a later leader may overwrite) */
    FL_RAFT_MUTANT_APPLY_BEFORE_COMMIT = 1u << 9,
    /* refuse a pre-vote while remembering a leader of the current term, however long ago it
     * was heard from (instead of only within an election timeout of hearing it): once that
     * leader is gone nobody wins a pre-vote again, a liveness bug */
    FL_RAFT_MUTANT_PREVOTE_STALE_LEADER = 1u << 10,
    /* installing a snapshot whose last entry conflicts with the log keeps the log's entries
     * after it (breaks Raft section 7) */
    FL_RAFT_MUTANT_SNAPSHOT_KEEPS_SUFFIX = 1u << 11,
    /* a leader that a committed configuration removed keeps leading and heartbeating
     * (thesis 4.2.2 says it steps down once C(new) commits) */
    FL_RAFT_MUTANT_REMOVED_LEADER_HEARTBEATS = 1u << 12,
    /* while joint, elections and commitment count only the new voters (breaks thesis 4.3:
     * the old voters could decide the opposite at the same time) */
    FL_RAFT_MUTANT_JOINT_NEW_ONLY = 1u << 13,
    /* a follower serves a ReadIndex read as soon as the leader's read index arrives, without
     * waiting to have applied up to it (thesis 6.4: it must wait; it answers stale state) */
    FL_RAFT_MUTANT_FOLLOWER_READ_UNAPPLIED = 1u << 14,
    /* storage (raft_store.c, not the core): the snapshot file names the WAL record replay
     * starts from, counting records not yet synced; after a crash lost them the WAL hands
     * those numbers out again, and the next replay skips what was written since, synced or
     * not (a vote or acknowledged entries forgotten) */
    FL_RAFT_MUTANT_SNAPSHOT_SEQ_UNSYNCED = 1u << 15,
    /* a leader without check-quorum steps down for a vote request of a higher term even
     * while its heartbeats reach a quorum (thesis 4.2.3: it ignores it); with pre-vote off a
     * removed server's campaigns depose leader after leader, a liveness bug */
    FL_RAFT_MUTANT_LEADER_IGNORES_LEASE = 1u << 16,
    /* the host (host_snap.c, not the core): a snapshot buffer retired while the store still
     * writes its bytes comes back without its size bound (c64df7a's bug); after installs the
     * node's snapshot bound is 0, and its next snapshot taken as the server takes it (forked,
     * env.snapshot_start) is refused as too big whatever its size: the node stops */
    FL_RAFT_MUTANT_SNAPSHOT_BOUND_LOST = 1u << 17,
    /* the store (raft_store.c, not the core): the WAL segments a snapshot replaces are
     * deleted as soon as its file is renamed into place, before the directory sync that makes
     * the rename durable; a crash may keep the unlinks and lose the rename (fs.h rule 3): the
     * old snapshot file and a WAL that starts after it, acknowledged entries gone */
    FL_RAFT_MUTANT_WAL_DELETED_BEFORE_DIR_SYNC = 1u << 18,
} fl_raft_mutant;

/* The mutant named name ("commit-prev-term", ...) or 0 if there is none by that name. */
uint32_t fl_raft_mutant_parse(const char *name);
/* The name of a single mutant bit, "?" for anything else. */
const char *fl_raft_mutant_name(uint32_t bit);
/* Every mutant, for listings: bits[i] and names; returns how many. */
size_t fl_raft_mutant_list(const uint32_t **bits);

typedef struct fl_raft_config {
    fl_node_id id;
    /* The initial (bootstrap) configuration: voters, including id unless joining. Entries of
     * type FL_RAFT_ENTRY_CONFIG in the log override it (membership.c). */
    uint32_t n_voters;
    fl_node_id voters[FL_RAFT_NODES_MAX];
    /* A node started empty to be added to a running cluster: it is not among voters, never
     * campaigns, and learns its membership from the log the leader sends it. */
    bool joining;
    /* Election timeout: each timeout is drawn uniformly from [base, 2 * base). */
    fl_time_ns election_timeout_ns;
    fl_time_ns heartbeat_ns; /* must be < election_timeout_ns */
    uint32_t inflight_max;   /* 1..FL_RAFT_INFLIGHT_MAX */
    /* A proposal's entries go to a follower with nothing in flight at once; to one with an
     * AppendEntries already out, at the end of the host's batch of events (the deadline
     * becomes now, the host's tick sends) instead of at the proposal, so that a free slot of
     * the window carries every entry the batch appended, not the first alone. Only what
     * leaves when changes, never what is sent or when it counts (replication.c). */
    bool sends_at_batch_end;
    /* With sends_at_batch_end: a follower with an AppendEntries out gets another only when it
     * would carry at least this many entries (0: any); fewer wait until its window is empty.
     * A second message costs the follower a wake-up and often a sync of its own. */
    uint32_t overlap_min_entries;
    uint32_t batch_entries_max;
    uint32_t batch_bytes_max;
    uint32_t entry_bytes_max; /* proposals larger than this are refused (FL_ETOOBIG) */
    /* Backpressure: a leader refuses proposals (FL_EBUSY) while this many entries of its log
     * are uncommitted (0 = no limit). Without it a leader that cannot commit (cut off, slow
     * disks, offered load above capacity) grows its log without bound, and whoever leads
     * next must replicate that whole backlog before anything new can commit. */
    uint32_t uncommitted_max;
    bool pre_vote;
    bool check_quorum;
    /* Lease reads: a READ is answered at once while a quorum acknowledged AppendEntries sent
     * less than a lease ago, lease = election timeout x (1 - d) / (1 + d) for the declared
     * maximum clock drift d = max_drift_ppm / 10^6 between any two nodes; otherwise by
     * ReadIndex. Safe only while real drift stays within the bound. */
    bool lease_reads;
    uint32_t max_drift_ppm;
    /* ReadIndex confirmation rounds in flight at once, 1..FL_RAFT_READ_ROUNDS_MAX (0: 1).
     * One: reads arriving while a round is out wait for the next, sent when it is answered
     * (one round per round trip, however many reads); more: a read's round leaves at once,
     * one round trip sooner at light load, but a round per batch of reads (read.c). */
    uint32_t read_rounds_max;
    uint32_t snapshot_chunk_bytes; /* InstallSnapshot chunk size, 1 .. 16 MiB */
    uint32_t snapshot_trailing;    /* log entries kept behind a snapshot taken here */
    uint64_t seed; /* randomizes election timeouts; give every node a different one */
    uint32_t mutants;
} fl_raft_config;

/* Fills c with defaults for node id: 3-voter-less (n_voters = 0, set them), election timeout
 * 150 ms, heartbeat 30 ms, 8 in flight, batches of 64 entries / 1 MiB, at most 512
 * uncommitted entries, pre-vote and check-quorum on, snapshot chunks of 64 KiB, no trailing
 * entries kept behind a snapshot. */
void fl_raft_config_default(fl_raft_config *c, fl_node_id id);
/* Returns 0, or FL_ECONFIG with a reason written to why (may be NULL). */
int fl_raft_config_validate(const fl_raft_config *c, char *why, size_t why_size);

/* What survived on disk, handed to fl_raft_init. Copied; the caller keeps ownership. With a
 * snapshot, the environment restores its state machine from it before the first step, and
 * the core starts with commit = applied = snapshot->index. */
typedef fl_cons_durable fl_raft_durable; /* term, vote, first_index, entries, snapshot */

typedef enum fl_raft_event_type {
    FL_RAFT_EV_TICK = 1,      /* time passed; the core checks its deadlines */
    FL_RAFT_EV_RECEIVE = 2,   /* a message arrived */
    FL_RAFT_EV_PERSISTED = 3, /* persist request seq (and all before it) is durable */
    FL_RAFT_EV_PROPOSE = 4,   /* append a command (leader only) */
    FL_RAFT_EV_READ = 5,      /* a linearizable read (ReadIndex), identified by ctx; see below */
    FL_RAFT_EV_TRANSFER = 6,  /* hand leadership to another voter (thesis 3.10) */
    FL_RAFT_EV_SNAPSHOT = 7,  /* the environment snapshotted its state machine (see top) */
    FL_RAFT_EV_CHANGE = 8,    /* move to new voters and learners (joint consensus, thesis 4.3) */
} fl_raft_event_type;

typedef struct fl_raft_event {
    uint8_t type; /* fl_raft_event_type */
    fl_time_ns now_ns;
    union {
        const fl_raft_msg *msg; /* RECEIVE */
        uint64_t seq;           /* PERSISTED */
        struct {
            const uint8_t *data;
            uint32_t len;
        } propose;
        uint64_t read_ctx;      /* READ: the environment's id for the read, echoed back */
        fl_node_id transfer_to; /* TRANSFER */
        /* CHANGE: the wanted voters and learners (voters_old empty); copied */
        const fl_raft_conf *change;
        struct {
            fl_index index; /* applied index the snapshot covers: snap < index <= applied */
            uint64_t size;
            uint32_t crc; /* CRC32C of the snapshot's bytes */
        } snapshot;       /* SNAPSHOT */
    } u;
} fl_raft_event;

/* A ReadIndex read that is decided: when ok, the state machine (having applied everything
 * in this update) may answer it, linearizably; when not, leadership was lost: retry it.
 *
 * READ at the leader: registered at its commit index and confirmed by a heartbeat round (or
 * at once within a lease). READ at a follower or learner that knows a leader (thesis 6.4):
 * the core sends the leader a READ_INDEX message with ctx; the leader registers it like its
 * own reads and answers READ_INDEX_RESP (ctx, index, ok) once decided. The follower holds the
 * read until its applied index reaches that index and reports it ok in the update of the step
 * that applied that far (index = the leader's read index). It reports the read failed (ok =
 * false) if the leader answers ok = false, if it loses that leader or changes term or role
 * first, if it has not heard from the leader for an election timeout, or if no answer came
 * within an election timeout (a lost message). A follower that knows no leader, or has not
 * heard from it for an election timeout, refuses READ with FL_ENOTLEADER; with FL_RAFT_READS_MAX
 * reads waiting, a READ is refused with FL_EBUSY. Every READ accepted is reported exactly once. */
typedef fl_cons_read fl_raft_read; /* ctx, index (the commit index it was registered at), ok */

/* A step's update (cons_types.h): persist request, snapshot chunk and restore, messages
 * (fl_raft_msg: fl_raft_msgs_of), committed entries to apply, decided reads, where a
 * PROPOSE went (index and term), and role (fl_raft_role), term, leader, commit, role_changed
 * and the next deadline. */
typedef fl_cons_update fl_raft_update;

static inline const fl_raft_msg *fl_raft_msgs_of(const fl_raft_update *up)
{
    return (const fl_raft_msg *)up->msgs;
}

/* Per-follower replication progress, kept by a leader (and reset on election). */
typedef enum fl_raft_progress_state {
    FL_RAFT_PROBE = 0,     /* one AppendEntries at a time until the follower's log matches */
    FL_RAFT_REPLICATE = 1, /* stream entries, up to inflight_max messages unacknowledged */
    FL_RAFT_SNAPSHOT = 2,  /* the follower needs compacted entries: InstallSnapshot, one chunk
                              per round trip; next is then the snapshot index + 1 */
} fl_raft_progress_state;

typedef struct fl_raft_progress {
    fl_node_id id;
    fl_index next;  /* next index to send */
    fl_index match; /* highest index known durable on the follower */
    uint8_t state;
    bool probe_sent;    /* PROBE: a probe is outstanding; wait for its answer or a heartbeat */
    bool recent_active; /* heard from since the last check-quorum round */
    bool vote_granted;
    bool vote_responded;
    uint32_t inflight_count;
    uint32_t inflight_head;
    fl_index inflight_last[FL_RAFT_INFLIGHT_MAX]; /* ring: last index of each message */
    fl_index match_at_heartbeat; /* REPLICATE: match at the previous heartbeat (stall check) */
    uint64_t ctx_acked;          /* highest AppendEntries ctx answered in this term */
    fl_time_ns acked_sent_ns;    /* when the newest acknowledged AppendEntries was sent */
    fl_index snap_index;         /* SNAPSHOT: the snapshot being sent */
    uint64_t snap_offset;        /* SNAPSHOT: the next byte the follower wants */
} fl_raft_progress;

typedef struct fl_raft_held {
    uint64_t seq; /* release when this persist request is durable */
    fl_raft_msg msg;
} fl_raft_held;

typedef struct fl_raft_pending {
    uint64_t seq;
    fl_index last_index; /* log end when requested, clamped by later truncations */
    fl_term term;        /* hard state when requested */
    fl_node_id vote;
} fl_raft_pending;

/* The node. Fields are private to raft/; read them through the accessors below. */
typedef struct fl_raft {
    fl_raft_config cfg;
    fl_rng rng;
    fl_time_ns now;
    fl_raft_role role;
    fl_term term;
    fl_node_id vote;
    fl_node_id leader;
    /* the leader of the current term once heard from (or ourselves); unlike leader, kept
     * through a pre-vote round and a check-quorum step-down. Only the PREVOTE_STALE_LEADER
     * mutant looks at it. */
    fl_node_id term_leader;
    /* log: entries[i] has index first_index + i */
    fl_raft_entry *log;
    size_t log_count;
    size_t log_cap;
    fl_index first_index;
    fl_term base_term; /* term of entry first_index - 1 (0 when first_index == 1) */
    /* payloads the last compaction dropped, not freed: the environment takes them in one
     * piece (fl_raft_take_dropped) and frees them where it likes (the server: on a thread of
     * its own); those not taken are freed by the next compaction or by close (log.c) */
    void **dropped;
    size_t dropped_count;
    fl_raft_snapshot_meta snap; /* the latest snapshot (index 0: none) */
    /* follower: the InstallSnapshot being received (its bytes are staged by the environment) */
    struct fl_raft_stage {
        fl_raft_snapshot_meta meta; /* meta.index 0: nothing staged */
        uint64_t offset;            /* bytes staged */
        uint32_t crc;               /* running CRC32C of them */
    } stage;
    uint64_t install_seq;    /* the persist request installing snap; 0: none pending */
    bool install_wait;       /* this step's persist request installs snap */
    fl_node_id install_from; /* the leader to acknowledge once it is durable */
    bool restore_pending;    /* the next update tells the environment to restore */
    struct {                 /* this step's chunk for the environment */
        fl_index index;
        fl_term term;
        uint64_t offset;
        uint32_t len;
        const uint8_t *data;
    } chunk_out;
    fl_index commit;
    fl_index applied;
    /* durability */
    uint64_t seq_next;      /* next persist request number */
    uint64_t seq_durable;   /* highest persist request reported durable */
    fl_index durable_index; /* log prefix known durable and matching the in-memory log */
    fl_term durable_term;   /* hard state known durable */
    fl_node_id durable_vote;
    uint64_t self_vote_seq; /* CANDIDATE: own vote counts once this seq is durable */
    fl_raft_pending pending[FL_RAFT_PENDING_MAX];
    size_t pending_head, pending_count;
    fl_raft_held held[FL_RAFT_HELD_MAX];
    size_t held_count;
    /* membership and progress */
    uint32_t n_members;
    fl_raft_progress progress[FL_RAFT_NODES_MAX];
    /* timers (local time) */
    fl_time_ns election_deadline;
    fl_time_ns heartbeat_deadline;
    fl_time_ns quorum_deadline;
    fl_time_ns leader_contact; /* when we last heard from the current leader */
    uint64_t ctx_next;
    uint64_t lead_ctx_first; /* LEADER: the first AppendEntries ctx of this leadership */
    /* this step's outputs */
    fl_raft_msg *out;
    size_t out_count;
    size_t out_cap;
    bool dirty_hard_state;
    fl_index dirty_from; /* lowest log index changed this step, 0 = none */
    fl_raft_role role_at_step;
    bool self_vote_wait; /* CANDIDATE: this step's persist request carries our own vote */
    /* counters for observers */
    uint64_t elections_started;
    uint64_t msgs_dropped_held;   /* responses dropped because the held queue was full */
    uint64_t truncated_committed; /* committed entries removed: only ever by a mutant */
    bool campaign_transfer;       /* this election was started by TimeoutNow */
    fl_node_id transfer_to;       /* LEADER: handing leadership over; proposals wait */
    fl_time_ns transfer_deadline; /* the transfer is abandoned then */
    uint64_t transfers_aborted;
    /* ReadIndex: reads waiting for a quorum to confirm leadership after they arrived */
    struct fl_raft_pending_read {
        uint64_t ctx;
        fl_index index;  /* 0 until the leader has committed an entry of its term */
        uint64_t round;  /* the first AppendEntries ctx sent after the read arrived */
        fl_node_id from; /* FL_NODE_NONE: our own; else a follower's (answer READ_INDEX_RESP) */
    } reads[FL_RAFT_READS_MAX]; /* a ring from reads_head, in arrival order */
    size_t reads_head, reads_count;
    /* LEADER: the first ctx of each round sent for reads and not yet confirmed, oldest first */
    uint64_t read_rounds[FL_RAFT_READ_ROUNDS_MAX];
    size_t read_rounds_count;
    /* LEADER: a round is owed to the newest read (a follower's): sent at the next tick, which
     * the deadline makes now, or with our own next read (read.c) */
    bool read_round_due;
    /* LEADER, sends_at_batch_end: proposals wait for a free slot of some follower's window;
     * the next tick, which the deadline makes now, sends them (replication.c) */
    bool send_due;
    /* follower or learner: reads sent to the leader (READ_INDEX), waiting for its answer and
     * then for applied to reach index */
    struct fl_raft_fwd_read {
        uint64_t ctx;
        fl_node_id leader; /* asked; term: when asked */
        fl_term term;
        fl_index index; /* 0 until the leader answered */
        fl_time_ns asked_ns;
    } fwd_reads[FL_RAFT_READS_MAX];
    size_t fwd_reads_count;
    uint64_t follower_reads_served; /* follower reads reported ok */
    fl_raft_read *reads_out;
    size_t reads_out_count, reads_out_cap;
    /* FOLLOWER: this log is known to match leader lm_leader's of term lm_term up to
     * leader_match (its last successful AppendEntries); a read index from that leader commits
     * up to there at once (read.c) */
    fl_index leader_match;
    fl_term lm_term;
    fl_node_id lm_leader;
    /* lease reads: when each recent AppendEntries (by ctx) was sent */
    struct fl_raft_sent {
        uint64_t ctx;
        fl_time_ns at;
    } sent[FL_RAFT_SENT_RING];
    fl_time_ns votes_ignored_until; /* after a start: no votes for an election timeout */
    uint64_t lease_reads_served;
    uint64_t read_rounds_sent;       /* ReadIndex confirmation rounds (read.c) */
    uint64_t proposals_refused_busy; /* refused by the uncommitted_max backpressure */
    uint64_t snapshots_taken;        /* EV_SNAPSHOT accepted */
    uint64_t snapshot_chunks_sent;   /* InstallSnapshot messages */
    uint64_t snapshots_installed;    /* installs made durable */
    uint64_t snapshot_crc_failures;
    /* membership (membership.c): the configuration in force is the latest CONFIG entry in
     * the log, committed or not (conf_index), else conf_base (bootstrap, or what a snapshot
     * carried, as of conf_base_index) */
    fl_raft_conf conf;
    fl_index conf_index; /* 0: conf is conf_base */
    fl_raft_conf conf_base;
    fl_index conf_base_index;
} fl_raft;

/* Initializes r from config and what its disk held (state may be NULL for an empty disk).
 * Returns 0, FL_ECONFIG for a bad config, FL_ECORRUPT if state is inconsistent (terms not
 * non-decreasing, term in log above the hard-state term), or FL_ENOMEM. */
int fl_raft_init(fl_raft *r, const fl_raft_config *config, const fl_raft_durable *state,
                 fl_time_ns now_ns);
void fl_raft_close(fl_raft *r);

/* Processes one event. Returns 0; FL_EINVAL for a snapshot that is not newer than the last
 * one or beyond applied; FL_ENOTLEADER for a proposal, transfer or change on a non-leader,
 * or a read on a node that knows no leader (see fl_raft_read); FL_EBUSY for a proposal during a
 * leadership transfer, or a change while another is in flight (or before the leader committed an
 * entry of its term); FL_EINVAL for a change that is malformed, adds a voter that is not a learner
 * yet, or changes nothing; FL_ELAGGING for a change that promotes a learner whose log is more than
 * FL_RAFT_CATCHUP_GAP entries behind; FL_ETOOBIG for a change with more than
 * FL_RAFT_NODES_MAX members while joint; FL_ETOOBIG for a
 * proposal over entry_bytes_max; FL_EINVAL for a transfer to a non-voter or to itself; FL_EINVAL
 * for a message that makes no sense (unknown sender, entries whose terms go backwards) which is
 * then ignored. *up is always filled. */
int fl_raft_step(fl_raft *r, const fl_raft_event *ev, fl_raft_update *up);

/* Accessors. */
static inline fl_raft_role fl_raft_role_of(const fl_raft *r)
{
    return r->role;
}
static inline fl_term fl_raft_term_of(const fl_raft *r)
{
    return r->term;
}
static inline fl_node_id fl_raft_leader_of(const fl_raft *r)
{
    return r->leader;
}
static inline fl_index fl_raft_commit_of(const fl_raft *r)
{
    return r->commit;
}
static inline fl_index fl_raft_applied_of(const fl_raft *r)
{
    return r->applied;
}
/* LEADER handing leadership over: the target; else FL_NODE_NONE. */
static inline fl_node_id fl_raft_transfer_of(const fl_raft *r)
{
    return r->transfer_to;
}
/* When this node last heard from its current leader (its own clock; 0: never). */
static inline fl_time_ns fl_raft_leader_contact_of(const fl_raft *r)
{
    return r->leader_contact;
}
/* The current term and vote are durable: false between a new term or vote and its sync (the
 * window in which a crash makes the node forget a promise). */
static inline bool fl_raft_hard_state_synced(const fl_raft *r)
{
    return r->durable_term == r->term && r->durable_vote == r->vote;
}
fl_index fl_raft_last_index(const fl_raft *r);
fl_index fl_raft_first_index(const fl_raft *r);
/* The latest snapshot's metadata (index 0: none). */
static inline const fl_raft_snapshot_meta *fl_raft_snapshot_of(const fl_raft *r)
{
    return &r->snap;
}
/* Term of the entry at index, 0 if index is 0 or outside the log; the entry just before the
 * log (first_index - 1, compacted) still has its term. */
fl_term fl_raft_term_at(const fl_raft *r, fl_index index);
/* The entry at index, or NULL outside the log. */
const fl_raft_entry *fl_raft_entry_at(const fl_raft *r, fl_index index);
/* The configuration in force (the latest in the log, committed or not), and its index (0 for
 * the bootstrap or snapshot configuration). */
static inline const fl_raft_conf *fl_raft_conf_of(const fl_raft *r)
{
    return &r->conf;
}
static inline fl_index fl_raft_conf_index_of(const fl_raft *r)
{
    return r->conf_index;
}
static inline fl_node_id fl_raft_vote_of(const fl_raft *r)
{
    return r->vote;
}
/* The hard state (term, vote) is the one last reported durable: nothing about it waits for
 * a persist request. */
static inline bool fl_raft_hard_state_durable(const fl_raft *r)
{
    return r->durable_term == r->term && r->durable_vote == r->vote;
}
/* What the node was last told is durable: hard state and the log prefix up to *index (a
 * prefix of its current log). */
static inline void fl_raft_durable_of(const fl_raft *r, fl_term *term, fl_node_id *vote,
                                      fl_index *index)
{
    *term = r->durable_term;
    *vote = r->durable_vote;
    *index = r->durable_index;
}
/* A received snapshot is installed but its persist request is not durable yet: the
 * environment takes no snapshot of its own meanwhile. */
static inline bool fl_raft_install_pending(const fl_raft *r)
{
    return r->install_seq != 0;
}
/* An InstallSnapshot being received: its metadata (index 0: none) and the bytes staged. */
static inline const fl_raft_snapshot_meta *fl_raft_staging_of(const fl_raft *r, uint64_t *offset)
{
    *offset = r->stage.offset;
    return &r->stage.meta;
}
/* Hands over the payloads the last compaction dropped: *out gets a malloc'd array of the
 * returned count of malloc'd pointers, all the caller's to free (the array too); 0 and NULL
 * when there are none. Nothing in the core points at them any more. */
size_t fl_raft_take_dropped(fl_raft *r, void ***out);
/* The configuration in force before the log's CONFIG entries: the bootstrap one, or the one
 * the snapshot carried, as of *index (0 for the bootstrap one; may be NULL). */
static inline const fl_raft_conf *fl_raft_conf_base_of(const fl_raft *r, fl_index *index)
{
    if (index)
        *index = r->conf_base_index;
    return &r->conf_base;
}
/* When the node wants its next TICK (local time): what an update's deadline_ns says. */
fl_time_ns fl_raft_deadline_of(const fl_raft *r);

/* Counters for observers, summed over the node's life (this process). */
typedef struct fl_raft_counters {
    uint64_t elections_started;
    uint64_t snapshots_taken;       /* EV_SNAPSHOT accepted */
    uint64_t snapshot_chunks_sent;  /* InstallSnapshot messages */
    uint64_t snapshots_installed;   /* installs made durable */
    uint64_t lease_reads_served;    /* leader reads answered within the lease */
    uint64_t follower_reads_served; /* reads at a follower or learner reported ok */
    uint64_t read_rounds_sent;      /* ReadIndex confirmation rounds sent as leader */
    uint64_t proposals_refused_busy;
    uint64_t truncated_committed; /* committed entries removed: only ever by a mutant */
} fl_raft_counters;
static inline void fl_raft_counters_of(const fl_raft *r, fl_raft_counters *out)
{
    out->elections_started = r->elections_started;
    out->snapshots_taken = r->snapshots_taken;
    out->snapshot_chunks_sent = r->snapshot_chunks_sent;
    out->snapshots_installed = r->snapshots_installed;
    out->lease_reads_served = r->lease_reads_served;
    out->follower_reads_served = r->follower_reads_served;
    out->read_rounds_sent = r->read_rounds_sent;
    out->proposals_refused_busy = r->proposals_refused_busy;
    out->truncated_committed = r->truncated_committed;
}

/* Asserts the node's local invariants (see the top of this file). */
void fl_raft_invariants(const fl_raft *r);

/* One line describing the node, for traces: "L t5 c12/14 d14". */
void fl_raft_describe(const fl_raft *r, char *out, size_t out_size);

#endif
