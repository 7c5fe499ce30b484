/* run.h: one simulated run of the replicated key-value store: a Raft or Multi-Paxos cluster
 * (the protocol is one field of the configuration) whose nodes apply committed commands to
 * kv/, driven by simulated clients (a workload), under a named
 * nemesis schedule, ending with a heal phase and a liveness check. It records everything the
 * observers need: the client history (Jepsen's invoke / ok / fail / info), every change of
 * a node's role and term, every read or write a node answered, the fault intervals, and the
 * simulator's counters. Everything derives from the seed.
 *
 * Clients (closed loop): each runs one operation at a time. It sends the request to a node
 * (its last known leader, or a random node); a follower answers with a redirect to the leader
 * it knows; the leader proposes the command (reads go through the log too) and answers when
 * it applies the entry, or says "lost" when another entry took that index. A client retries
 * with the same session sequence number (so a retried command applies once) on a redirect, a
 * loss or a per-attempt timeout, until the operation's deadline: then the outcome is info
 * (unknown), and the client continues as a new process, as Jepsen does.
 *
 * The replicas' kv is judged too, whatever the workload (run_kvcheck.c): every replica's kv
 * (each with a hash seed of its own, so that layout never decides a result) must have the
 * same digest at the same applied index (sampled every 64 entries, and at snapshots), its
 * invariants must hold after every apply (every 64 entries once it holds over 512 keys and
 * sessions), and every snapshot must restore to the same digest. A failure is a
 * safety violation ("kv replica agreement: ...", "kv invariants: ...", "kv snapshot: ..."). */
#ifndef FAULTLINE_RUN_H
#define FAULTLINE_RUN_H

#include "faultline/flp.h"
#include "faultline/cons_types.h"
#include "faultline/history.h"
#include "faultline/observe.h"
#include "faultline/raft.h"
#include "faultline/sim.h"
#include "faultline/timeline.h"

#include <stdio.h>

typedef enum fl_nemesis {
    FL_NEMESIS_NONE = 0,
    FL_NEMESIS_PARTITION_HALVES,
    FL_NEMESIS_PARTITION_RANDOM,
    FL_NEMESIS_ISOLATE_ONE,
    FL_NEMESIS_ISOLATE_LEADER,
    FL_NEMESIS_MAJORITIES_RING,
    FL_NEMESIS_BRIDGE,
    FL_NEMESIS_ONE_WAY,
    FL_NEMESIS_CRASH_ONE,
    FL_NEMESIS_CRASH_MINORITY,
    FL_NEMESIS_CRASH_LEADER,
    FL_NEMESIS_PAUSE,
    FL_NEMESIS_LOSS,
    FL_NEMESIS_DUP,
    FL_NEMESIS_DELAY,
    FL_NEMESIS_CLOCK_OFFSET,
    FL_NEMESIS_CLOCK_DRIFT,
    FL_NEMESIS_TRANSFER,            /* the leader hands leadership to a random other node */
    FL_NEMESIS_ISOLATE_LEADER_SKEW, /* the leader cut off, its clock slow, the others fast */
    FL_NEMESIS_MIX,                 /* a random one of the above at every interval */
    /* not in mix: while the fault is on, every new leader is cut off from the others within
     * a few network delays of its election, for 150..600 ms (a minority cut off at most);
     * clients still reach it. Short-lived leaders whose last entries reach only some
     * followers: the interleavings of Raft's figure 8 */
    FL_NEMESIS_LEADER_CHURN,
    /* membership churn: the cluster starts with nodes/2 + 1 voters, the others empty outside;
     * while the fault is on, the leader is asked for a random change every quarter interval
     * (raft_churn.c: add a learner, promote, remove a voter or the leader, replace) */
    FL_NEMESIS_CHURN,
    FL_NEMESIS_MIX_CHURN, /* mix, with churn as one more kind (mix's draws are unchanged) */
    /* not in mix either: for up to an interval, watch for a node whose new term or vote is
     * written but not yet synced, or whose disk is split between two syncs (a file renamed
     * into place durable, the writes beside it not: fl_sim_disk_split), and crash it in that
     * window; it restarts 5..100 ms later (one crashed in a split disk crashes once more as
     * long after its restart) */
    FL_NEMESIS_CRASH_UNSYNCED,
    FL_NEMESIS_SLOW_DISK, /* one random node's fsyncs take 10..100 ms (wider crash windows) */
    /* not in mix: the FLP adversary (flp.h) from the start until --gst (the whole run by
     * default): no message lost, no node down, every vote that would complete a quorum held
     * back until it can no longer help */
    FL_NEMESIS_FLP,
    /* not in mix: the leader and the nodes after it by id, (n - 1) / 2 in all (a minority),
     * cut off from the rest; every client stays on the side of its home node
     * (fl_run_home_node): the CAP scenario */
    FL_NEMESIS_PARTITION_SIDES,
    /* not in mix: leadership flapping with partial replication. While the fault is on, every
     * new leader is cut off from the other nodes within 0..16 mean network delays of its
     * election (its first entries of its term reach some followers, not all), and the node
     * cut before it rejoins at that moment: one node is cut off at a time, always the latest
     * leader, so deposed leaders holding entries only some nodes have come back and may win
     * again while their successor is away (Raft's figure 8 as a class of schedules). Clients
     * still reach the cut-off node. Needs 3 nodes or more. */
    FL_NEMESIS_LEADER_FLAP,
    /* not in mix: the next snapshot job of the target nodes (one random node by default)
     * never ends, as the server's forked child hung on a lock inherited across fork (the real
     * fork-hang); the hosts' watchdog (snapshot_timeout_ns) gives it up. Nothing to undo at
     * its end: a hung job stays hung until then, or until its node stops */
    FL_NEMESIS_FORK_HANG,
    FL_NEMESIS_COUNT
} fl_nemesis;

const char *fl_nemesis_name(fl_nemesis n);
bool fl_nemesis_parse(const char *s, fl_nemesis *out);
/* Whether kind n may be part of a fault plan (a single kind: not none, mix or mix-churn). */
bool fl_nemesis_plannable(fl_nemesis n);
/* One line per nemesis, for --help. */
void fl_nemesis_list(FILE *out);

typedef enum fl_run_read_mode {
    FL_RUN_READ_INDEX = 0, /* reads by ReadIndex: a quorum round, no log write (default) */
    FL_RUN_READ_LOG = 1,   /* reads go through the log like writes */
    FL_RUN_READ_LEASE = 2, /* lease reads under a declared drift bound, else ReadIndex */
    FL_RUN_READ_LOCAL = 3, /* the node that gets the read answers from its own applied state
                              at once: no quorum round, no lease (fast, not linearizable) */
} fl_run_read_mode;

/* Where clients send reads (not with log reads, which go to the leader). */
typedef enum fl_run_read_at {
    FL_RUN_READ_AT_LEADER = 0, /* to the leader they know; followers redirect (default) */
    FL_RUN_READ_AT_ANY = 1,    /* to a random node, voter or learner: a follower asks the
                                  leader for a read index and serves once applied (raft.h) */
    FL_RUN_READ_AT_STICKY = 2, /* each client to one node of its own (client i to node i mod
                                  nodes + 1), as a session: the client keeps the highest log
                                  index it saw (its writes', the applied index its reads got)
                                  and its node serves its read only once it has applied that
                                  far, else the client asks again (ZooKeeper's session rule) */
} fl_run_read_at;

const char *fl_run_read_mode_name(fl_run_read_mode m); /* "index", "log", "lease", "local" */
bool fl_run_read_mode_parse(const char *s, fl_run_read_mode *out);
const char *fl_run_read_at_name(fl_run_read_at w); /* "leader", "any", "sticky" */
bool fl_run_read_at_parse(const char *s, fl_run_read_at *out);

typedef enum fl_run_workload {
    FL_RUN_REGISTER = 0, /* few keys; read, write, cas: high contention */
    FL_RUN_KV = 1,       /* many keys; get, put, append */
    /* kv's checked ops on 100 keys, and one op in four a Redis-shaped command on keys of
     * their own (workload.h: expiry by the leader's stamped time, transactions, lists, sets,
     * hashes, sorted sets), not in the history: the replicas' checks judge those (see the
     * top) */
    FL_RUN_REDIS = 2,
} fl_run_workload;

const char *fl_run_workload_name(fl_run_workload w); /* "register", "kv", "redis" */
bool fl_run_workload_parse(const char *s, fl_run_workload *out);

#define FL_RUN_OPEN_CLIENTS_MAX 256 /* open loop: operations in flight at most */
#define FL_RUN_PIPELINE_MAX     64  /* --pipeline: commands in flight per connection */
#define FL_RUN_FAULTS_MAX       24  /* kinds in a fault plan */

/* One kind of a fault plan: on for interval_ns, then off as long, again and again. */
typedef struct fl_run_fault {
    fl_nemesis kind;        /* a single kind: not none, mix or mix-churn */
    fl_time_ns interval_ns; /* >= 1 ms */
} fl_run_fault;

/* One fault of an explicit schedule (fl_run_config.schedule): when, what, whom, how hard.
 * A field whose FL_RUN_SPEC_ bit is not in set is chosen when the fault starts, the way the
 * named nemesis of its kind chooses (a random node, the leader, the run's intensities), from a
 * random stream of the fault's own; the run hands back every fault with what it chose filled
 * in (fl_run_result.schedule), so that running that schedule again does exactly the same. */
#define FL_RUN_SPEC_TARGETS (1u << 0) /* nodes, side, from/to (by kind, see below) */
#define FL_RUN_SPEC_P       (1u << 1) /* p */
#define FL_RUN_SPEC_DELAY   (1u << 2) /* delay_ns */
#define FL_RUN_SPEC_DRIFT   (1u << 3) /* drift_ppm */
#define FL_RUN_SPEC_CLOCKS  (1u << 4) /* offset_ns[] (clock-offset) or node_ppm[] (clock-drift) */
#define FL_RUN_SPEC_RESTART (1u << 5) /* restart_ns */
#define FL_RUN_SCHEDULE_MAX 1024      /* faults of one explicit schedule */

typedef struct fl_run_fault_spec {
    fl_time_ns start_ns;
    fl_time_ns length_ns; /* healed at start + length, or with everything at the end of the run */
    fl_nemesis kind;      /* a plannable kind (fl_nemesis_plannable) */
    uint32_t set;         /* FL_RUN_SPEC_* */
    /* targets: crash-*, pause, isolate-one, isolate-leader(-skew), bridge (the bridge),
     * transfer (the new leader), slow-disk: the nodes (bit id); partition-halves and
     * partition-random: the side of every node (side[id], 1-based; nodes talk within a side);
     * one-way: from's messages to `to` are lost (to = 0: to every other node) */
    uint32_t nodes;
    uint8_t order[FL_RAFT_NODES_MAX]; /* the nodes of a crash or pause in the order hit */
    uint32_t n_order;
    uint8_t side[FL_RAFT_NODES_MAX + 1];
    fl_node_id from, to;
    double p;                             /* loss, dup: probability per message */
    fl_time_ns delay_ns;                  /* delay: extra mean one-way delay */
    double drift_ppm;                     /* isolate-leader-skew: the clocks' drift */
    int64_t offset_ns[FL_RAFT_NODES_MAX]; /* clock-offset: node id's jump at [id - 1] */
    double node_ppm[FL_RAFT_NODES_MAX];   /* clock-drift: node id's drift at [id - 1] */
    fl_time_ns restart_ns;                /* crash-unsynced: the crashed node restarts after */
} fl_run_fault_spec;

/* The lane of kind k (faults of one lane act on the same thing and take turns): who talks to
 * whom 0, crashes 1, pauses 2, link quality 3, clocks 4, transfers 5, membership 6, disks 7,
 * crashes in persistence windows 8 (beside the others: it waits for windows they open). */
uint32_t fl_run_fault_lane(fl_nemesis k);
/* Checks an explicit schedule for a cluster of nodes running duration_ns: kinds, times,
 * targets, and that no two faults of a lane whose end undoes everything it set (who talks to
 * whom, link quality, clocks, membership) overlap. Returns 0, or FL_ECONFIG with the reason in
 * why and the index of the fault at fault. */
int fl_run_schedule_check(const fl_run_fault_spec *s, uint32_t n, uint32_t nodes,
                          fl_time_ns duration_ns, uint32_t *fault, char *why, size_t why_size);

typedef struct fl_run_config {
    fl_cons_protocol protocol; /* raft (default) or paxos */
    uint64_t seed;
    uint32_t nodes;         /* 1..16 */
    fl_time_ns duration_ns; /* clients and faults run in [0, duration) */
    fl_run_workload workload;
    fl_run_read_mode read_mode;
    fl_run_read_at read_at; /* not with FL_RUN_READ_LOG */
    uint32_t clients;       /* closed loop: concurrent clients */
    double rate;            /* open loop: ops per second (Poisson); 0 = closed loop */
    fl_nemesis nemesis;
    fl_time_ns nemesis_interval_ns; /* a fault lasts this long, then as long healed */
    double loss, dup;               /* for the loss / dup nemeses */
    fl_time_ns delay_ns;            /* for the delay nemesis: extra mean delay */
    fl_time_ns clock_offset_ns;     /* for the clock-offset nemesis */
    double clock_drift_ppm;         /* for the clock-drift nemesis */
    fl_time_ns op_timeout_ns;       /* one attempt */
    fl_time_ns op_deadline_ns;      /* the whole operation, retries included */
    fl_time_ns liveness_ns;         /* after the heal, a write must succeed within this */
    fl_time_ns net_delay_ns;        /* mean one-way delay between nodes and to clients */
    uint32_t mutants;               /* the protocol's own bits: fl_raft_mutant or fl_paxos_mutant */
    uint32_t order_mutants; /* FL_KV_ORDER_MUTANT_ bits: the nodes' program order (kv_order.h) */
    uint32_t kv_mutants;    /* FL_KV_MUTANT_ bits: the replicas' kv (kv.h) */
    /* commands a client keeps outstanding on its connection: 1 (default) = one at a time,
     * sent to the leader with redirects, as above; N > 1 = pipelined: each client holds a
     * connection to one node and keeps up to N commands in flight on it, answered in order;
     * the node's end follows the server's program-order rules (kv_order.h), forwarding to
     * the leader; the history is pipelined (history.h) and checked with program order */
    uint32_t pipeline;
    uint32_t snapshot_every; /* each node snapshots its kv every N applied entries; 0 = never */
    /* all nodes snapshot at the same applied index (the simulator's only way before issue 16's
     * fifth round); false (default): node i of n at i-1 n-ths into the interval, as the
     * server's members do, so that a majority is free of snapshot work */
    bool snapshot_in_step;
    /* each node's state machine serialized within the step that snapshots (the simulator's
     * only way before issue 16's sixth round); false (default): handed back later, as the
     * server's forked child does (cons_sim.h) */
    bool snapshot_sync;
    /* the hosts' snapshot watchdog (host.h snapshot_timeout_ns): a snapshot job without its
     * bytes for this long is given up and tried again later; default 60 s, as the server's
     * (no job takes that long but one hung by the fork-hang fault); 0: off */
    fl_time_ns snapshot_timeout_ns;
    /* a node syncs as the server's idle loop does: a short job with nothing else to do holds
     * the node for the sync's virtual duration, its messages, timers and requests waiting
     * (cons_sim.h sync_inline); false (default): every job on the worker, the node serving */
    bool sync_inline;
    /* WAL segment size of every node (0: the simulator's 256 KiB); small segments rotate and
     * are deleted behind snapshots within a run (compaction and its directory windows) */
    uint32_t wal_segment_bytes;
    uint32_t lease_drift_ppm; /* lease reads: the clock drift bound the leases assume */
    uint32_t skew_ppm;        /* every node's clock drifts by a fixed random +-skew (ppm) */
    bool no_check_quorum;     /* Raft option: leaders do not step down when cut off */
    bool no_pre_vote;         /* Raft option: no pre-vote round before elections */
    uint32_t q1, q2;          /* Paxos: phase-1 and phase-2 quorum sizes (0: a majority) */
    bool unsafe_quorums;      /* Paxos: allow q1 + q2 <= nodes (to show what it breaks) */
    bool no_backoff;          /* Paxos: preempted proposers retry at once (duels livelock) */
    bool slow_disks;          /* every fsync takes 5-50 ms rather than 0.2-2 ms: a wider window
                                 between a write and its sync, which a crash can lose */
    bool verbose;             /* print nemesis actions as they happen */
    /* A fault plan (used instead of nemesis when n_faults > 0): its kinds run side by side,
     * each on its own schedule, on the random stream of its lane. Kinds that act on the same
     * thing share a lane and take turns (partition shapes, leader-churn and
     * isolate-leader-skew; crashes; link quality; clocks), so faults of different lanes
     * overlap. The intensities are the fields above (loss, dup, delay, clock offset, drift). */
    fl_run_fault faults[FL_RUN_FAULTS_MAX];
    uint32_t n_faults;
    uint32_t batch_entries;  /* Raft: entries per AppendEntries at most; 0 = the core's default */
    uint32_t inflight;       /* Raft: AppendEntries in flight per follower; 0 = the default */
    bool sends_at_batch_end; /* Raft: proposals fill a free slot at the end of the batch
                                (fl_raft_config.sends_at_batch_end, as the server runs) */
    uint32_t overlap_min;    /* Raft: fl_raft_config.overlap_min_entries */
    /* Raft: entries not yet committed a leader takes at most (fl_raft_config.uncommitted_max;
     * 0 = the core's 512; the server runs FL_RAFT_SERVER_UNCOMMITTED_MAX). Paxos keeps its
     * own bound, 512 open slots, as the server's does. */
    uint32_t uncommitted_max;
    /* both protocols: the largest entry, bytes (entry_bytes_max; 0 = the cores' 1 MiB; the
     * server runs FL_RAFT_SERVER_ENTRY_BYTES_MAX) */
    uint32_t entry_bytes_max;
    uint32_t keys;            /* keys of the workload; 0 = its own (register 3, kv 1000) */
    uint32_t reads_pct;       /* share of reads (50) ... */
    uint32_t cas_pct;         /* ... and of compare-and-set (kv: append) (20); the rest writes */
    bool crash_lose_unsynced; /* a crash loses every unsynced write (else a random prefix of
                                 them survives) */
    double torn;       /* the probability that the last unsynced write surviving a crash is torn */
    fl_time_ns gst_ns; /* nemesis flp: the adversary acts in [0, gst); 0 = until the heal */
    /* An explicit schedule (used instead of nemesis and faults when n_schedule > 0): the faults
     * in order of start, owned by the caller. */
    const fl_run_fault_spec *schedule;
    uint32_t n_schedule;
    uint64_t nemesis_seed;   /* the named nemesis's random stream; 0 = derived from seed */
    uint32_t value_size;     /* kv workload: bytes of every value; 0 = its own 16..128 */
    uint64_t ops_max;        /* clients start no operation after this many; 0 = no limit */
    fl_time_ns ops_start_ns; /* clients start their first operation after this (0: at once) */
    /* Debugging: stop the run at this time (0 = never), collecting the trace tail there;
     * what happens before it is the same as without it. */
    fl_time_ns stop_ns;
    bool trace_verbose; /* the trace tail describes each node's state and messages */
} fl_run_config;

/* The node a client process sits beside (its sticky node, and its side under
 * partition-sides): client i (process i, i + clients + 1, ... as it starts over after an info
 * op) is beside node i mod nodes + 1. */
fl_node_id fl_run_home_node(const fl_run_config *c, int64_t process);

/* Defaults: 5 nodes, 10 s, register workload, ReadIndex reads, 10 clients (pipeline 1),
 * nemesis none, interval 2 s, a snapshot every 1000 applied entries,
 * op timeout 500 ms, deadline 3 s, liveness 5 s, network 1 ms, 50% reads and 20% cas, a
 * random prefix of the unsynced writes survives a crash, the last of them torn 30% of the
 * time. */
void fl_run_config_default(fl_run_config *c);
/* Returns 0, or FL_ECONFIG with the reason in why. */
int fl_run_config_validate(const fl_run_config *c, char *why, size_t why_size);

typedef struct fl_run_result {
    fl_history history;
    /* what the observers need (observe.h): every change of a node's role and term, every
     * read served and write acknowledged, every fault interval */
    fl_observe_role *roles;
    size_t n_roles;
    fl_observe_service *services;
    size_t n_services;
    fl_observe_fault *faults;
    size_t n_faults;
    /* every node's role and term, crashes, restarts, pauses (timeline.h), for reports */
    fl_timeline timeline;
    /* the verdict of the safety checks run after every event */
    bool violation;
    char violation_reason[256];
    uint64_t violation_event;
    fl_time_ns violation_time_ns;
    /* the trace tail (sim.h) at a violation or when not live: the last events, each node's state */
    char trace_tail[FL_SIM_TRACE_TAIL_MAX(FL_RAFT_NODES_MAX)];
    /* liveness after the heal */
    bool healed; /* the run reached its heal (a safety violation stops it before) */
    fl_time_ns heal_ns;
    /* stability after the heal: leaders deposed, from a second after the heal on, although
     * they had led for a while, every node was up and connected and they were still voters
     * (nothing correct deposes such a leader: a disruption); the first one described */
    uint64_t disruptions;
    char disruption[200];
    bool live;
    fl_time_ns recover_ns;
    /* counters */
    fl_sim_stats sim;
    uint64_t elections;
    uint64_t fsyncs;
    uint64_t syncs_inline; /* sync_inline: jobs a node was held for */
    uint64_t steps_held;   /* ... and steps of a held node (a nemesis's call straight in) */
    /* membership (churn nemeses) */
    uint64_t churn_asked, churn_refused;
    uint64_t joint_committed, config_committed; /* C(old,new) and C(new) entries committed */
    uint64_t removed_stepdowns;                 /* leaders that left after C(new) committed */
    uint64_t joint_elections;                   /* leaders elected while joint */
    uint64_t log_entries_max; /* the longest in-memory Raft log of any node, at any step */
    uint64_t disk_bytes_max;  /* the largest node disk (bytes of its records) at the end */
    uint64_t ops_invoked, ops_ok, ops_fail, ops_info;
    uint64_t side_ops; /* redis workload: commands on its own keys answered */
    /* the replicas' kv checks (see the top): digests compared with another replica's at the
     * same index, invariant checks, snapshots restored and compared */
    uint64_t kv_digests_compared, kv_invariant_checks, kv_snapshots_checked;
    uint64_t follower_reads; /* reads answered by a node that was not leading (read_at any) */
    uint64_t learner_reads;  /* of those, by a learner of its configuration in force */
    /* snapshot jobs hung by fork-hang, given up by the watchdog, and snapshots a node took
     * after its watchdog gave one up (cons_sim.h) */
    uint64_t snapshot_jobs_hung, snapshot_timeouts, snapshots_after_timeout;
    uint64_t trace_hash;
    fl_time_ns end_ns;
    /* the faults as they ran, with whatever they chose filled in, in order of start (an
     * explicit schedule: all of it, as given, with the choices of those that started): run
     * as an explicit schedule, it does the same again */
    fl_run_fault_spec *schedule;
    size_t n_schedule;
    bool stopped;                   /* the run ended at stop_ns */
    bool history_oom;               /* the history could not record everything (out of memory) */
    uint64_t arrivals_dropped;      /* open loop: arrivals that found every client busy */
    fl_time_ns election_timeout_ns; /* Raft's base election timeout (timeouts: [base, 2 base)) */
    /* nemesis flp: what the adversary did (gst_ns: when its power ended) */
    bool flp;
    fl_flp_stats flp_stats;
    const char *flp_oracle; /* the protocol's oracle ("raft"; static text) */
    const char *flp_holds;  /* what it held back (static text) */
    /* nemesis partition-sides: the minority side of the last such partition (bit id) */
    uint32_t minority_side;
} fl_run_result;

/* Planted bugs besides Raft's (fl_raft_mutant): the nodes' program order (kv_order.h:
 * "read-ahead") and the replicas' kv (kv.h: "kv-pick-by-layout", "kv-snapshot-layout",
 * "kv-keep-empty"), by name (docs/mutants.md). */
size_t fl_run_mutant_list(const char *const **names);
/* Switches on the mutant called name (one of the list); false if unknown. */
bool fl_run_mutant_set(fl_run_config *c, const char *name);
/* Whether c carries the mutant called name (one of the list). */
bool fl_run_mutant_has(const fl_run_config *c, const char *name);

/* Runs one seed. Returns 0 (see r), FL_ECONFIG, or FL_ENOMEM. r must be released with
 * fl_run_result_free in every case. */
int fl_run(const fl_run_config *c, fl_run_result *r);
void fl_run_result_free(fl_run_result *r);

#endif
