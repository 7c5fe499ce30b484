/* sim.h: the deterministic discrete-event simulator that hosts pure protocol state machines
 * (Raft, Multi-Paxos, SWIM) under network, process, disk and clock faults.
 *
 * One fl_sim is one simulated cluster of nodes 1..n, owned by the caller; many may run in one
 * process. It is single-threaded, its time is virtual (ns) and everything random in it is drawn
 * from streams derived from one 64-bit seed, so the same seed and the same driver calls give
 * the same event sequence and the same trace hash. See docs/simulator.md for the model.
 *
 * Node ids are 1..n (0 is FL_NODE_NONE). Calls that take configuration input (ids, times,
 * probabilities, distributions) check it and return FL_EINVAL with a message readable through
 * fl_sim_error(); they never assert on it. */
#ifndef FAULTLINE_SIM_H
#define FAULTLINE_SIM_H

#include "faultline/buf.h"
#include "faultline/rng.h"
#include "faultline/types.h"

/* Nodes in one sim: up to FL_SIM_NODES_LIMIT. The fixed per-node arrays of the public structs
 * (clock offsets and drifts in fl_sim_config, fl_sim_conn rows, fl_sim_stats.node) cover ids
 * 1..FL_SIM_NODES_MAX only: nodes above start with an exact clock (use the clock setters), are
 * partitioned with fl_sim_set_group instead of matrices, and report their counters through
 * fl_sim_get_node_stats. Links cost memory only where they differ from the default model. */
#define FL_SIM_NODES_MAX   64
#define FL_SIM_NODES_LIMIT 65536

typedef struct fl_sim fl_sim;

/* ---- The protocol host interface --------------------------------------------------------- */

typedef struct fl_sim_proto {
    const char *name;
    /* Starts (or restarts after a crash) node id. The node reads what survived on its disk
     * through its file interface (fl_sim_disk_fs) or, for raw records,
     * fl_sim_disk_count()/fl_sim_disk_record(), and rebuilds itself. Returns the node's opaque
     * state, or NULL if the node refuses to start (e.g. it found corruption): the sim then keeps
     * it down and records why (the node may call fl_sim_set_reason() before returning NULL). */
    void *(*start)(void *ctx, fl_sim *sim, fl_node_id id);
    /* Crash or end of run: frees everything volatile. */
    void (*stop)(void *node);
    /* A message arrived; msg is valid only during the call. */
    void (*receive)(void *node, fl_node_id from, const uint8_t *msg, size_t len);
    /* The node's timer fired. */
    void (*timer)(void *node);
    /* A disk sync completed; status 0, or < 0 (FL_EIO) when the fsync failed. May be NULL. */
    void (*synced)(void *node, uint64_t token, int status);
    /* One short line for traces (appended to out). May be NULL. */
    void (*describe)(void *node, fl_buf *out);
    /* A message in a few words for verbose traces ("AppendEntries t3 prev 7@2 +1 commit 6").
     * May be NULL. */
    void (*describe_msg)(const uint8_t *msg, size_t len, fl_buf *out);
} fl_sim_proto;

/* An observer run after every event; returns 0, or nonzero with a reason appended to *why to
 * stop the run as a violation. */
typedef int (*fl_sim_check_fn)(void *arg, fl_sim *sim, fl_buf *why);

/* A scheduled callback (workloads, nemesis, scripted tests). */
typedef void (*fl_sim_fn)(fl_sim *sim, void *arg);

/* ---- Models --------------------------------------------------------------------------------- */

typedef enum fl_sim_dist_kind {
    FL_SIM_DIST_CONSTANT = 0, /* base_ns */
    FL_SIM_DIST_UNIFORM,      /* uniform in [base_ns, base_ns + param_ns] */
    FL_SIM_DIST_EXP,          /* base_ns + exponential with mean param_ns */
    FL_SIM_DIST_PARETO,       /* base_ns + pareto(scale param_ns, shape alpha) - param_ns */
} fl_sim_dist_kind;

/* A latency distribution. A sample is capped at cap_ns when cap_ns > 0 (long tails stay finite).
 * Pareto is shifted so that its minimum is base_ns: sample = base + scale * (U^(-1/a) - 1). */
typedef struct fl_sim_dist {
    fl_sim_dist_kind kind;
    fl_time_ns base_ns;
    fl_time_ns param_ns;
    double alpha;
    fl_time_ns cap_ns;
} fl_sim_dist;

fl_sim_dist fl_sim_dist_constant(fl_time_ns ns);
fl_sim_dist fl_sim_dist_uniform(fl_time_ns lo_ns, fl_time_ns hi_ns);
fl_sim_dist fl_sim_dist_exp(fl_time_ns base_ns, fl_time_ns mean_ns);
fl_sim_dist fl_sim_dist_pareto(fl_time_ns base_ns, fl_time_ns scale_ns, double alpha);
/* The analytic mean without the cap (INFINITY for pareto with alpha <= 1). */
double fl_sim_dist_mean(const fl_sim_dist *d);
/* Draws one sample. d must be valid (fl_sim_dist_check). */
fl_time_ns fl_sim_dist_sample(const fl_sim_dist *d, fl_rng *r);
/* 0, or FL_EINVAL with a message appended to why (may be NULL). */
int fl_sim_dist_check(const fl_sim_dist *d, fl_buf *why);

/* One directed link's model. */
typedef struct fl_sim_link {
    bool up;               /* false: every message on this link is dropped (partition) */
    double loss;           /* probability a message is lost, [0, 1] */
    double dup;            /* probability a message is delivered twice, [0, 1] */
    double reorder;        /* probability a message gets an extra delay, [0, 1] */
    fl_time_ns reorder_ns; /* the extra delay is uniform in [0, reorder_ns] */
    fl_sim_dist delay;     /* one-way delay */
} fl_sim_link;

/* What survives a crash of what a node's disk has not synced (simdisk.h). */
typedef enum fl_sim_crash_mode {
    FL_SIM_CRASH_LOSE_UNSYNCED = 0, /* every unsynced write (and directory change) is lost */
    FL_SIM_CRASH_RANDOM_PREFIX,     /* a uniformly random prefix of them survives (per file) */
    FL_SIM_CRASH_RANDOM_SUBSET,     /* each survives independently: writes reordered */
} fl_sim_crash_mode;

typedef struct fl_sim_config {
    uint64_t seed;
    uint32_t nodes; /* 1..FL_SIM_NODES_LIMIT */
    const fl_sim_proto *proto;
    void *proto_ctx;              /* passed to proto->start */
    fl_sim_link link;             /* initial model of every directed link */
    fl_sim_dist disk_sync;        /* fsync latency of every node */
    fl_sim_crash_mode crash_mode; /* fate of unsynced records at a crash */
    double torn; /* probability that, when a file has unsynced writes at a crash, the last
                    surviving one (or, if none survives, the first unsynced one) is cut short */
    /* index id-1, ids 1..FL_SIM_NODES_MAX (larger ids start at offset 0, drift 0) */
    int64_t clock_offset_ns[FL_SIM_NODES_MAX]; /* local = global + offset (+ drift) */
    double clock_drift_ppm[FL_SIM_NODES_MAX];  /* in (-500000, 500000) */
    size_t events_max;                         /* pending events, 16..2^26 */
    size_t msg_bytes_max;                      /* one message, 1..2^26 */
    size_t disk_bytes_max;                     /* per node, all files, 1..2^40 */
    bool trace_verbose; /* store describe() of the node after every event in the trace ring
                           (and of the message delivered, describe_msg) */
    bool quiet;         /* do not print the violation and trace tail to stderr when a check fails */
} fl_sim_config;

/* Fills c with defaults: 3 nodes, links up with a constant 1 ms delay and no faults, fsync
 * constant 1 ms, lose unsynced at crash, no tearing, no clock skew, 1M events, 1 MiB messages,
 * 1 GiB of disk per node. The caller sets seed, nodes and proto. */
void fl_sim_config_default(fl_sim_config *c);

/* ---- Life cycle ------------------------------------------------------------------------------ */

/* Creates a simulator; *out is owned by the caller (fl_sim_destroy). Refuses configuration out
 * of range with FL_EINVAL and a message appended to why (may be NULL). No node is started. */
int fl_sim_create(const fl_sim_config *c, fl_sim **out, fl_buf *why);
/* Stops every running node (proto->stop) and frees everything. NULL is a no-op. */
void fl_sim_destroy(fl_sim *sim);
/* The message of the last refused call ("" if none). */
const char *fl_sim_error(const fl_sim *sim);
uint64_t fl_sim_seed(const fl_sim *sim);
uint32_t fl_sim_nodes(const fl_sim *sim);

/* ---- Services a node calls (always passing its own id) ------------------------------------- */

/* The node's local clock: virtual time with its offset and drift applied (never below 0). */
fl_time_ns fl_sim_now(const fl_sim *sim, fl_node_id id);
/* Sends a copy of len bytes. 0 even if the network drops it; FL_ETOOBIG over msg_bytes_max,
 * FL_EFULL when the event queue is full, FL_EINVAL for a bad id. */
int fl_sim_send(fl_sim *sim, fl_node_id from, fl_node_id to, const void *msg, size_t len);
/* Arms the node's one timer at a deadline on its local clock; re-arming replaces, FL_TIME_NEVER
 * cancels. A deadline in the past fires as soon as possible. */
int fl_sim_set_timer(fl_sim *sim, fl_node_id id, fl_time_ns local_deadline_ns);
/* The node's disk as a file interface (fs.h; simdisk.h says what a crash keeps): storage code
 * (the WAL, the Raft store) runs on it as on real files. A job's end is heard through
 * proto->synced with token FL_FS_JOB_TOKEN. NULL for a bad id or a node that is down. */
struct fl_fs *fl_sim_disk_fs(fl_sim *sim, fl_node_id id);
/* Raw records, for protocols that keep their own (one file of the disk holds them): */
/* Appends one record (copied), unsynced. FL_EFULL over disk_bytes_max. */
int fl_sim_disk_write(fl_sim *sim, fl_node_id id, const void *rec, size_t len);
/* Asks that every record written so far become durable. Completes later, in call order, with
 * proto->synced(token, status) after a latency drawn from the node's sync distribution. */
int fl_sim_disk_sync(fl_sim *sim, fl_node_id id, uint64_t token);
/* The node's records: while it runs, all written (synced or not); at start, what survived. A
 * torn record is returned cut short; a corrupted one with a byte changed; the sim does not say. */
size_t fl_sim_disk_count(const fl_sim *sim, fl_node_id id);
/* Record i (0-based) of the node; *data is valid until the next disk call on this node. */
int fl_sim_disk_record(const fl_sim *sim, fl_node_id id, size_t i, const uint8_t **data,
                       size_t *len);
/* Calls fn for every record in order; stops at and returns the first nonzero return. */
typedef int (*fl_sim_record_fn)(void *arg, size_t i, const uint8_t *data, size_t len);
int fl_sim_disk_records(const fl_sim *sim, fl_node_id id, fl_sim_record_fn fn, void *arg);
/* Removes records [count, end) at once, durably (a torn tail cut at recovery). Pending syncs
 * still complete. */
int fl_sim_disk_truncate(fl_sim *sim, fl_node_id id, size_t count);
/* Bytes on the node's disk, all files. */
size_t fl_sim_disk_bytes(const fl_sim *sim, fl_node_id id);
/* Holds node id (on) or releases it: while held it runs nothing but its disk's sync
 * completions (proto->synced); its messages, timers and node calls (fl_sim_schedule_node)
 * wait in its queue, in arrival order, and run once it is released, before anything that
 * arrives later. The server's loop blocked in an fdatasync on its own thread: the node
 * glue holds itself when such a sync starts and releases itself when it ends. A crash
 * releases it (what waited is dropped as for any crash). Counted in events_held. */
int fl_sim_hold(fl_sim *sim, fl_node_id id, bool on);
bool fl_sim_held(const fl_sim *sim, fl_node_id id);
/* Whether events wait in node id's queue (held, paused, or a slow node's backlog). */
bool fl_sim_backlog(const fl_sim *sim, fl_node_id id);
/* The node's own random stream (continues across restarts). */
fl_rng *fl_sim_rng(fl_sim *sim, fl_node_id id);
/* Records why the node refuses to start or stops (copied, truncated to 120 bytes). */
void fl_sim_set_reason(fl_sim *sim, fl_node_id id, const char *reason);
/* The node exits by itself (e.g. after a failed fsync): after its current callback returns it
 * is crashed with this reason and stays down until restarted. */
int fl_sim_exit(fl_sim *sim, fl_node_id id, const char *reason);

/* ---- Driver ---------------------------------------------------------------------------------- */

/* Starts every node that is down (the first start; for a crashed node it is a restart). */
int fl_sim_start_all(fl_sim *sim);
/* Runs fn(sim, arg) at virtual time at_ns (>= now). Same-time events run in scheduling order.
 * arg stays the caller's; a callback still pending at fl_sim_destroy is dropped unrun. */
int fl_sim_schedule(fl_sim *sim, fl_time_ns at_ns, fl_sim_fn fn, void *arg);
/* Runs fn(node, arg) inside node id at time at_ns, as if a request from outside the cluster
 * arrived there (a client call): it waits while the node is paused, and if the node is down at
 * that time, or crashes while it waits, fn(NULL, arg) runs instead (so the caller can record
 * the failure). Calls still pending at fl_sim_destroy are dropped without running. */
typedef void (*fl_sim_node_fn)(void *node, void *arg);
int fl_sim_schedule_node(fl_sim *sim, fl_time_ns at_ns, fl_node_id id, fl_sim_node_fn fn,
                         void *arg);
/* Runs one event. Returns 1 if one ran, 0 if none is pending, FL_ESTOPPED after a violation. */
int fl_sim_step(fl_sim *sim);
/* Runs every event up to and including time t, then sets now = t (if t >= now). Returns 0, or
 * FL_ESTOPPED when a check reported a violation (see fl_sim_get_violation). */
int fl_sim_run_until(fl_sim *sim, fl_time_ns t);
/* Virtual (global) time. */
fl_time_ns fl_sim_time(const fl_sim *sim);
/* Pending events (including stale timer events not yet discarded). */
size_t fl_sim_pending(const fl_sim *sim);

typedef enum fl_sim_node_state {
    FL_SIM_NODE_DOWN = 0, /* never started, crashed, exited or refused to start */
    FL_SIM_NODE_UP,
    FL_SIM_NODE_PAUSED,
} fl_sim_node_state;

/* Volatile state lost: proto->stop, pending timer and sync dropped, messages to it dropped on
 * arrival while it is down. Disk: what was synced survives; of the rest, per the crash mode,
 * nothing, a random prefix or a random subset, and with probability torn a file's last
 * surviving write (if none, its first unsynced one: the write in progress) survives cut
 * short (simdisk.h).
 * A node cannot crash itself from inside its own callback (use fl_sim_exit). */
int fl_sim_crash(fl_sim *sim, fl_node_id id);
/* Starts a down node again (proto->start). If start returns NULL the node stays down. */
int fl_sim_restart(fl_sim *sim, fl_node_id id);
/* A paused node processes nothing; its messages, timer and sync completions wait and are
 * delivered on resume, in their original order. */
int fl_sim_pause(fl_sim *sim, fl_node_id id);
int fl_sim_resume(fl_sim *sim, fl_node_id id);
/* Slow node: every event the node processes (message, timer, sync notification, request,
 * start) keeps it busy for a duration drawn from processing; events that come while it is busy
 * wait until it is free. NULL makes it normal again (processing takes no virtual time). */
int fl_sim_set_slow(fl_sim *sim, fl_node_id id, const fl_sim_dist *processing);
fl_sim_node_state fl_sim_node_state_of(const fl_sim *sim, fl_node_id id);
/* The node's opaque state (for checkers), NULL when it is down. */
void *fl_sim_node(const fl_sim *sim, fl_node_id id);
/* Why the node is down ("" if it never was). */
const char *fl_sim_reason(const fl_sim *sim, fl_node_id id);

/* Clocks: the local clock continues from its current reading (no jump) when the drift changes;
 * offset and jump move it; the armed timer is re-placed on the new clock. */
int fl_sim_clock_set_offset(fl_sim *sim, fl_node_id id, int64_t offset_ns);
int fl_sim_clock_set_drift(fl_sim *sim, fl_node_id id, double drift_ppm);
int fl_sim_clock_jump(fl_sim *sim, fl_node_id id, int64_t delta_ns);

/* Links: from -> to. The model is one default (set_all) plus per-link overrides kept in a hash
 * table, so a 10,000-node sim does not hold 10^8 link structs. */
int fl_sim_link_set(fl_sim *sim, fl_node_id from, fl_node_id to, const fl_sim_link *l);
int fl_sim_link_set_all(fl_sim *sim, const fl_sim_link *l);
int fl_sim_link_get(const fl_sim *sim, fl_node_id from, fl_node_id to, fl_sim_link *out);
int fl_sim_link_up(fl_sim *sim, fl_node_id from, fl_node_id to, bool up);
/* Partition groups, for sims of any size: a message passes only between nodes of the same
 * group (every node starts in group 0), in addition to its link being up. O(1) per call. */
int fl_sim_set_group(fl_sim *sim, fl_node_id id, uint32_t group);
uint32_t fl_sim_group(const fl_sim *sim, fl_node_id id);

/* Disk faults. */
int fl_sim_disk_fail_next_sync(fl_sim *sim, fl_node_id id); /* that fsync reports FL_EIO */
/* The node's next fsync lies: it reports success but makes nothing durable. */
int fl_sim_disk_lie_next_sync(fl_sim *sim, fl_node_id id);
int fl_sim_disk_set_latency(fl_sim *sim, fl_node_id id, const fl_sim_dist *d); /* slow fsync */
/* XORs mask (nonzero) into byte `byte` of durable (raw) record i. */
int fl_sim_disk_corrupt(fl_sim *sim, fl_node_id id, size_t i, size_t byte, uint8_t mask);
/* Corrupts one random byte of a random durable write of any file; FL_ENOTFOUND if there is
 * none. */
int fl_sim_disk_corrupt_random(fl_sim *sim, fl_node_id id);
/* How many raw records are durable (survive any crash). */
size_t fl_sim_disk_durable(const fl_sim *sim, fl_node_id id);
/* XORs mask (nonzero) into byte off of the node's file name (a durable byte); FL_EINVAL if
 * there is none. */
int fl_sim_disk_corrupt_file(fl_sim *sim, fl_node_id id, const char *name, uint64_t off,
                             uint8_t mask);
/* Lies completed, corruptions made and holes left by reordered writes on the node's disk so
 * far (simdisk.h): while it stays the same, what a sync made durable stays as written and
 * recovery has nothing to refuse. */
uint64_t fl_sim_disk_untrusted(const fl_sim *sim, fl_node_id id);
/* Whether the node's disk is split between two syncs (fl_simdisk_split): a file renamed into
 * place is durable, and writes beside it are not yet. */
bool fl_sim_disk_split(const fl_sim *sim, fl_node_id id);
/* Whether a crash of the node now may keep an unlink and lose a directory operation before it
 * (fl_simdisk_unlink_window). */
bool fl_sim_disk_unlink_window(const fl_sim *sim, fl_node_id id);

/* A random stream for drivers (workloads, nemesis), independent of the others. */
fl_rng *fl_sim_driver_rng(fl_sim *sim);

/* ---- Delivery gate (adversarial scheduling: flp.h) --------------------------------------- */

/* Asked about every message at the moment it would be delivered (its link is up and its
 * receiver is not down); returns 0 (or a time not after now) to deliver it now, or a later
 * virtual time at which to ask again: the message stays in flight meanwhile, neither dropped
 * nor copied (FL_TIME_NEVER is a programmer error: a gate delays, it never drops). A message
 * it let through to a paused node is asked about again when the node resumes. The gate may
 * read node states (fl_sim_node) but must not change the simulation. */
typedef fl_time_ns (*fl_sim_gate_fn)(void *arg, const fl_sim *sim, fl_node_id from, fl_node_id to,
                                     const uint8_t *msg, size_t len);
/* Installs the gate (fn NULL removes it: a message held back goes at its next look). */
void fl_sim_set_gate(fl_sim *sim, fl_sim_gate_fn fn, void *arg);

/* ---- Connectivity matrices and partition builders (pure functions) ------------------------ */

/* can[from-1] bit (to-1) set: messages from -> to pass. A node always reaches itself. The
 * builders return 0, or FL_EINVAL for n outside 1..FL_SIM_NODES_MAX or an id outside 1..n (and
 * then leave an empty matrix that fl_sim_set_conn refuses); fl_sim_conn_can is false for ids
 * out of range. */
typedef struct fl_sim_conn {
    uint32_t n;
    uint64_t can[FL_SIM_NODES_MAX];
} fl_sim_conn;

int fl_sim_conn_full(fl_sim_conn *c, uint32_t n); /* heal: everything connected */
int fl_sim_conn_block(fl_sim_conn *c, fl_node_id from, fl_node_id to);
int fl_sim_conn_allow(fl_sim_conn *c, fl_node_id from, fl_node_id to);
bool fl_sim_conn_can(const fl_sim_conn *c, fl_node_id from, fl_node_id to);
/* Nodes 1..n/2 and n/2+1..n cannot talk to each other. */
int fl_sim_conn_halves(fl_sim_conn *c, uint32_t n);
/* Two halves of random membership (sizes n/2 and n - n/2). */
int fl_sim_conn_random_halves(fl_sim_conn *c, uint32_t n, fl_rng *r);
/* id cannot talk to or hear anyone. */
int fl_sim_conn_isolate(fl_sim_conn *c, uint32_t n, fl_node_id id);
/* Nodes on a ring; each sees the nearest k on both sides, k the least giving it a majority, so
 * every node sees a majority but (for n >= 5) no two nodes see the same one. */
int fl_sim_conn_majorities_ring(fl_sim_conn *c, uint32_t n);
/* Two halves without `bridge` that talk only through bridge, which reaches everyone. */
int fl_sim_conn_bridge(fl_sim_conn *c, uint32_t n, fl_node_id bridge);
/* Everything connected except a -> b (b -> a stays open). */
int fl_sim_conn_one_way(fl_sim_conn *c, uint32_t n, fl_node_id a, fl_node_id b);
/* Sets the up flag of every directed link from the matrix (other link fields unchanged). */
int fl_sim_set_conn(fl_sim *sim, const fl_sim_conn *c);
/* Every link up and every node back in group 0 (other link fields unchanged). */
int fl_sim_heal(fl_sim *sim);

/* ---- Observers, statistics, trace ----------------------------------------------------------- */

int fl_sim_add_check(fl_sim *sim, fl_sim_check_fn fn, void *arg); /* at most 16 */

typedef struct fl_sim_violation {
    bool found;
    uint64_t event; /* number of the event after which the check failed (1-based) */
    fl_time_ns time_ns;
    char reason[256];
} fl_sim_violation;
const fl_sim_violation *fl_sim_get_violation(const fl_sim *sim);

typedef struct fl_sim_node_stats {
    uint64_t disk_writes;
    uint64_t disk_bytes; /* written */
    uint64_t fsyncs;     /* completed */
    uint64_t fsync_failures;
    uint64_t crashes;
    uint64_t restarts;
    uint64_t timers; /* fired */
} fl_sim_node_stats;

typedef struct fl_sim_stats {
    uint64_t events; /* processed (callbacks into nodes or drivers) */
    uint64_t msgs_sent;
    uint64_t msgs_delivered;
    uint64_t msgs_dropped_loss;
    uint64_t msgs_dropped_partition; /* link down at send or at arrival */
    uint64_t msgs_dropped_down;      /* receiver down at arrival */
    uint64_t msgs_dropped_full;      /* event queue full */
    uint64_t msgs_duplicated;
    uint64_t msgs_reordered;     /* got an extra delay */
    uint64_t msgs_held;          /* held back by the delivery gate at least once */
    uint64_t msgs_holding;       /* of them, held back now (neither delivered nor dropped yet) */
    uint64_t events_held;        /* events that waited for a held node (fl_sim_hold) */
    fl_time_ns msg_delay_max_ns; /* the longest time from send to delivery of any message */
    uint64_t bytes_sent;
    uint64_t bytes_delivered;
    fl_sim_node_stats node[FL_SIM_NODES_MAX]; /* index id-1, ids 1..FL_SIM_NODES_MAX */
} fl_sim_stats;
const fl_sim_stats *fl_sim_get_stats(const fl_sim *sim);
/* The counters of any node (NULL for an id out of range). */
const fl_sim_node_stats *fl_sim_get_node_stats(const fl_sim *sim, fl_node_id id);
/* Writes seed, time, trace hash, every counter, per-node counters and the violation (if any)
 * as one JSON object (see json.h) at the writer's current position. */
struct fl_json;
void fl_sim_stats_json(const fl_sim *sim, struct fl_json *j);

/* Every processed event folded into one 64-bit hash (kind, time, node, peer, message bytes):
 * two runs of one seed compare equal exactly when their event sequences are identical. */
uint64_t fl_sim_trace_hash(const fl_sim *sim);
/* The trace tail: a header line, the last FL_SIM_TRACE_EVENTS traced entries (events, and
 * what happened between them: drops, driver actions, numbered "#N.1", "#N.2" after event N),
 * then one line per node with its state ("nodes now"). Every line is shorter than
 * FL_SIM_TRACE_LINE_MAX, so the whole tail of a sim of n nodes fits in
 * FL_SIM_TRACE_TAIL_MAX(n) bytes. */
#define FL_SIM_TRACE_EVENTS   64
#define FL_SIM_TRACE_LINE_MAX 320
#define FL_SIM_TRACE_TAIL_MAX(nodes)                                                               \
    (2 * FL_SIM_TRACE_LINE_MAX + (FL_SIM_TRACE_EVENTS + (nodes)) * FL_SIM_TRACE_LINE_MAX)
/* Appends the trace tail to out. */
void fl_sim_trace_tail(const fl_sim *sim, fl_buf *out);
/* The trace tail as a C string in out (out_size >= FL_SIM_TRACE_TAIL_MAX(nodes) holds it
 * whole; a smaller buffer gets whole lines and a last one saying how many were left out). */
void fl_sim_trace_tail_text(const fl_sim *sim, char *out, size_t out_size);
/* Installs an FL_ASSERT hook that prints the seed, time and trace tail of this sim to stderr.
 * fl_sim_step installs it automatically; fl_sim_destroy removes it. */
void fl_sim_install_assert_hook(fl_sim *sim);

#endif
