/* host.h: one consensus node's glue between its pure core and the world: the same code in
 * the simulator (src/sim/raft_sim.c) and in the server (src/server/server.c), for Raft and
 * Multi-Paxos alike: the host drives either core through the consensus-core interface
 * (cons.h) and never looks inside it.
 *
 *   - persistence: each persist request goes to the store (raft_store.h, over the file
 *     interface fs.h: real files or the simulated disk); what was appended is synced by group
 *     commit in a background job, one at a time; when the job is done every request it covered
 *     is reported with PERSISTED, and the next job starts if more was appended meanwhile. A
 *     failed write or sync stops the node (env.fatal): never carry on on a broken disk;
 *   - snapshots: every snapshot_every applied entries (and, with snapshot_log_share, once the
 *     entries applied since are big enough) the state machine's bytes (env.snapshot, or later
 *     through env.snapshot_start) become the node's snapshot (FL_CONS_EV_SNAPSHOT, then the
 *     store's snapshot file); received snapshot chunks are staged (at most snapshot_bytes_max
 *     bytes: a bigger snapshot
 *     stops the node with a message rather than installing a short one), installed through the
 *     store with the persist request that carries them, and restored (env.restore);
 *   - messages: encoded with the core's wire codec, snapshot chunk bytes filled in from the
 *     node's snapshot, handed to env.send; received bytes decoded and stepped;
 *   - replay: opening replays the store into the core; fl_host_restore then hands the
 *     recovered snapshot to the state machine.
 *
 * After every step the environment sees the update twice: env.checked right after the core
 * produced it (before anything is written or sent: the simulator's checkers), env.applied
 * after persistence, snapshots and sends (apply the entries, serve the reads, observe), then
 * env.set_timer gets the next deadline.
 *
 * An event the core does not take (a TRANSFER or CHANGE for Paxos) is answered FL_EUNSUPPORTED
 * without stepping. */
#ifndef FAULTLINE_HOST_H
#define FAULTLINE_HOST_H

#include "faultline/cons.h"
#include "faultline/errmsg.h"
#include "faultline/fs.h"
#include "faultline/raft_store.h"

typedef struct fl_host_env {
    void *arg;
    fl_time_ns (*now)(void *arg); /* the node's clock */
    void (*send)(void *arg, fl_node_id to, const uint8_t *msg, size_t len);
    void (*set_timer)(void *arg, fl_time_ns deadline); /* local time; FL_TIME_NEVER: none */
    /* Requests were appended and no sync runs: call fl_host_sync soon (the server: after
     * this loop iteration, so one sync covers the batch). NULL: at the end of this step. */
    void (*sync_soon)(void *arg);
    /* A sync job is about to start (the server flushes its peers: they work meanwhile).
     * May be NULL. */
    void (*syncing)(void *arg);
    /* The event stepped and the update, as the core made it (before any I/O); before: the
     * role before the step. May be NULL. */
    void (*checked)(void *arg, const fl_cons_event *ev, const fl_cons_update *up,
                    fl_cons_role before);
    /* The update, after its persist request, snapshot I/O and messages went out: apply its
     * entries, serve its reads. */
    void (*applied)(void *arg, const fl_cons_update *up);
    /* The state machine as bytes (appended to out), and back: restore replaces it by the bytes
     * of a snapshot of index. Both return 0 or an FL_E code (the node stops). */
    int (*snapshot)(void *arg, fl_buf *out);
    int (*restore)(void *arg, fl_index index, const uint8_t *bytes, size_t len);
    /* Optional: start taking the state machine's bytes as they are now (index is its applied
     * index) without waiting for them; hand them over later with fl_host_snapshot_done.
     * The server forks: the child serializes the copy-on-write image of this moment while the
     * loop goes on. Returns 0, or an FL_E code (no snapshot this time). NULL: env.snapshot,
     * at once, on the caller's thread (the simulator). */
    int (*snapshot_start)(void *arg, fl_index index);
    /* Optional, with snapshot_start: give up the one started for index, for good: its bytes
     * must never come (the server kills the child, reaps it, closes its pipe). The host calls
     * it when the snapshot made no progress for snapshot_timeout_ns (a child that hangs) and
     * then treats it as failed. NULL: never given up (the watchdog is off). */
    void (*snapshot_cancel)(void *arg, fl_index index);
    /* Optional: n malloc'd pointers (payloads the core's log dropped at a snapshot, tens of
     * thousands at a time) and the malloc'd array holding them, all to be freed, at once or
     * later, on any thread: nothing else points at them. The server hands them to a thread
     * of its own (src/server/freer.c), so the loop does not pay for the frees. NULL: the host
     * frees them at once, on the caller's thread (the simulator). */
    void (*free_bulk)(void *arg, void **ptrs, size_t n);
    /* The node cannot go on (failed write or sync, out of memory, a snapshot too big): stop
     * it. The host does nothing more after this. */
    void (*fatal)(void *arg, int code, const char *what);
} fl_host_env;

typedef struct fl_host_config {
    fl_cons_config core;     /* the protocol and its configuration */
    uint32_t snapshot_every; /* applied entries between snapshots; 0: never */
    /* and, if > 0, at least 1/snapshot_log_share of the last snapshot's size in the bytes of
     * the entries applied since: a large state is not rewritten for a small log (a snapshot
     * costs its size; this bounds that to snapshot_log_share bytes per byte of log) */
    uint32_t snapshot_log_share;
    /* With snapshot_phase_on, a snapshot due starts only when the applied index passes
     * snapshot_phase_permille thousandths of snapshot_every past a multiple of it. Every node
     * applies the same entries, so without it a cluster's nodes all take their snapshots at
     * the same index, together, and a write has no majority free of snapshot work; nodes
     * given different phases take them at different indexes, ever after (a first snapshot
     * offset alone drifted back into step while the state grew). */
    bool snapshot_phase_on;
    uint32_t snapshot_phase_permille;
    size_t snapshot_bytes_max; /* largest snapshot staged or taken; 0: 256 MiB */
    /* The snapshot watchdog: a snapshot started with env.snapshot_start that made no
     * progress (started, or bytes reported with fl_host_snapshot_progress) for this long is
     * given up (env.snapshot_cancel) and tried again after more entries, as a failed one.
     * 0: off (a hung one is waited for forever). FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT: see there. */
    fl_time_ns snapshot_timeout_ns;
    fl_raft_store_opts store; /* its protocol is core.protocol's */
    /* sync whatever was appended at once, ignoring the core's sync_may_wait (the host's way
     * before issue 16's round 6; the simulator keeps its trajectories reachable) */
    bool sync_eager;
} fl_host_config;

/* The watchdog's default (the server's --snapshot-timeout, the simulator's): 60 s. A child
 * sends nothing while it serializes (it writes its bytes once they are all made), so the
 * timeout must cover a whole serialization: 50-400 ms per 100,000 keys measured here, a few
 * million keys in the largest snapshot allowed (256 MiB): ~20 s at worst, 3 x that for a child
 * niced behind busy loops on a loaded machine. Too short is worse than too long: a cancelled
 * snapshot is tried again, as big, and would be cancelled again, forever (the very stall the
 * watchdog is for); too long only lets the log grow for a minute more before recovery. */
#define FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT (60 * FL_NS_PER_S)

typedef struct fl_host_stats {
    uint64_t snapshots_taken;     /* by this node (EV_SNAPSHOT) */
    uint64_t snapshots_installed; /* received and made durable */
    uint64_t decode_errors;       /* received bytes the wire codec refused */
    uint64_t rejected_msgs;       /* messages the core refused (FL_EINVAL) */
    uint64_t syncs;               /* group-commit jobs completed */
    uint64_t syncs_inline;        /* of them, run on the caller's thread (fl_host_sync_inline)
                                   * or with the caller held (fl_host_sync_hold) */
    uint64_t snapshot_views;      /* snapshots whose bytes became a view of their file */
    uint64_t payloads_dropped;    /* log payloads the core dropped, freed or to env.free_bulk */
    uint64_t snapshot_timeouts;   /* started snapshots given up by the watchdog */
} fl_host_stats;

typedef struct fl_host {
    fl_cons_core core;
    fl_raft_store store;
    fl_host_env env;
    fl_node_id id;
    uint32_t snapshot_every;
    uint32_t snapshot_log_share;
    fl_index snapshot_phase; /* entries past a multiple of snapshot_every; config */
    bool snapshot_phase_on;
    fl_index phase_seen;    /* the applied index the last check saw */
    uint64_t applied_bytes; /* entry bytes applied since the last snapshot (taken or installed) */
    fl_index snapshot_started;      /* env.snapshot_start's index, until its bytes come; 0: none */
    fl_time_ns snapshot_timeout_ns; /* config: the watchdog's; 0 (or no env.snapshot_cancel): off */
    fl_time_ns snapshot_progress_at; /* host time of the started one's start or last progress */
    bool core_up, store_up;
    bool failed;   /* env.fatal was called: nothing more is done */
    bool sync_now; /* sync at the end of this step (env.sync_soon is NULL) */
    bool stepping;
    fl_cons_role role;        /* as of the last update */
    fl_buf snap;              /* this node's snapshot: the state machine's bytes (malloc's, or in
                               * snap_view once the snapshot file holds them) */
    fl_fs_view snap_view;     /* the snapshot file, read-only: snap's bytes when it is set */
    fl_index snap_view_tried; /* the snapshot index last looked up in the file */
    bool snap_view_checked;   /* snap_view's bytes were checked against the snapshot's CRC */
    fl_time_ns snap_view_checked_at; /* when (host time): checked again after a while */
    fl_buf stage;                    /* a snapshot being received */
    fl_buf stage_local;              /* a snapshot being taken */
    fl_buf snap_retired;             /* a replaced snapshot the store's running job still writes */
    fl_buf scratch;
    uint64_t persist_seq;  /* highest persist request appended */
    uint64_t sync_seq;     /* highest one covered by the running job */
    uint64_t reported_seq; /* highest one reported durable (PERSISTED) */
    uint64_t due_seq;      /* highest one a step wants synced now (the core's sync_may_wait) */
    bool sync_eager;       /* config: every request due at once */
    fl_host_stats stats;
} fl_host;

/* Opens the store on fs (which must outlive h), replays it and initializes the core c->core
 * names with what survived. Returns 0, or an FL_E code with the reason in
 * m (FL_ECORRUPT: a record or file that does not decode, naming file and offset; the core's
 * refusal of the recovered state). h needs no close after a failure. */
int fl_host_open(fl_host *h, fl_fs *fs, const fl_host_config *c, const fl_host_env *env,
                 fl_errmsg *m);
/* Hands the recovered snapshot (if any) to the state machine (env.restore). Call once after
 * open, before the first step. Returns 0 or the state machine's error (reason in m). */
int fl_host_restore(fl_host *h, fl_errmsg *m);
/* Frees everything (waits for a running sync job: real files). */
void fl_host_close(fl_host *h);

/* One event (its now_ns is filled from env.now), with everything that follows from it.
 * Returns what the core returned (FL_EUNSUPPORTED: not an event of this core; FL_ESTOPPED:
 * the node stopped). *up is valid until the next call. */
int fl_host_step(fl_host *h, fl_cons_event *ev, fl_cons_update *up);
/* Bytes received from node from: decoded (FL_ECORRUPT when the codec refuses them, or they
 * are not from from / not for this node) and stepped. */
int fl_host_receive(fl_host *h, fl_node_id from, const uint8_t *bytes, size_t len);
/* Starts a sync job of everything appended, unless one runs or nothing is new. */
void fl_host_sync(fl_host *h);
/* The same, but a short job (fl_raft_store_sync_small: at most bytes_max of records, no
 * snapshot file, no zeros to write ahead) runs on the caller's thread now, after env.syncing
 * as always: then true is returned, and the caller calls fl_host_sync_done next (nothing
 * becomes readable on fl_host_sync_fd). Otherwise as fl_host_sync, and false. For a caller
 * with nothing else to do while the disk works (the server when idle): it saves the worker
 * thread's two wake-ups, and PERSISTED still follows the fdatasync's return, as ever. */
bool fl_host_sync_inline(fl_host *h, size_t bytes_max);
/* The running sync job finished (real files: fl_host_sync_fd readable; the simulator:
 * FL_FS_JOB_TOKEN): reports what it covered durable; the next job, if anything was appended
 * meanwhile, starts now or, with env.sync_soon, when the environment calls fl_host_sync. */
void fl_host_sync_done(fl_host *h);
/* The largest job (bytes of records) fl_host_sync_inline / fl_host_sync_hold may keep on the
 * caller's thread: the server's and the simulator's bound, the same. */
#define FL_HOST_SYNC_INLINE_BYTES 4096
/* What the environment knows of its loop when a sync is due (the server's loop; the
 * simulator's model of it), for fl_host_sync_idle. */
typedef struct fl_host_idle {
    uint32_t ops;             /* client operations in flight at this node */
    bool collected;           /* this pass collected a worker's job (records came meanwhile) */
    fl_time_ns sync_short_ns; /* how long the last short job took (fl_host_sync_short), 0: none */
    fl_time_ns heartbeat_ns;  /* the node's heartbeat interval */
    bool (*ready)(void *arg); /* anything else waits now (a request, a message)? Asked last, */
    void *arg;                /* only when the rest holds: it may cost a system call */
} fl_host_idle;
/* The loop's half of the decision to run a sync job on its own thread (docs/server.md, "one
 * connection's syncs on the loop's thread"): nothing else to do while the disk works. True
 * when at most one client operation is in flight, this pass collected no worker's job, the
 * last short job took under half a heartbeat interval, and nothing else is ready. The
 * server and the simulator both decide by it; the job's own half (short, records only) is
 * fl_host_sync_inline's or fl_host_sync_hold's. */
bool fl_host_sync_idle(const fl_host_idle *idle);
/* Whether the job that would start now is a short one (fl_raft_store_sync_small with
 * FL_HOST_SYNC_INLINE_BYTES): ask before the job starts (env.syncing is called then). */
bool fl_host_sync_short(const fl_host *h);
/* fl_host_sync_inline for an environment whose disk cannot block its caller (the simulator,
 * whose syncs end in virtual time): the job starts as fl_host_sync's does, on the file
 * interface's job, and true says it is a short one fl_host_sync_inline would have run on the
 * caller's thread: the caller then does nothing else (no message, timer or request) until
 * fl_host_sync_done, as the server's loop does while its fdatasync runs. Counted in
 * stats.syncs_inline. */
bool fl_host_sync_hold(fl_host *h, size_t bytes_max);
/* The bytes env.snapshot_start(index) promised, and their CRC32C (computed as they came, so
 * that the loop does not pass over them again); rc: 0, or why there are none (another one is
 * tried after more entries). Takes them: *bytes is left empty. Ignored when stale: not the
 * index started, or the node stopped. A received snapshot at or past index that came
 * meanwhile wins. */
void fl_host_snapshot_done(fl_host *h, fl_index index, int rc, fl_buf *bytes, uint32_t crc);
/* Some of the bytes env.snapshot_start(index) promised arrived: the snapshot is alive, the
 * watchdog's clock starts again. Ignored when stale, as fl_host_snapshot_done. */
void fl_host_snapshot_progress(fl_host *h, fl_index index);
/* Real files: the fd that becomes readable when a sync job finished; -1 otherwise. */
int fl_host_sync_fd(const fl_host *h);

/* The core (cons.h: its status, and the native core for observers of one protocol). */
static inline const fl_cons_core *fl_host_core(const fl_host *h)
{
    return &h->core;
}
static inline void fl_host_status(const fl_host *h, fl_cons_status *st)
{
    fl_cons_status_of(&h->core, st);
}

#endif
