/* nemesis.h: real faults on real processes (`faultline nemesis`, docs/nemesis.md; a scenario
 * file's schedule: fl_scenario_for_nemesis, scenario.h). Starts a cluster of real nodes
 * (faultline servers, etcd members, or any command), drives it with recorded clients, injects
 * faults on a schedule (network through a fault proxy or network namespaces + nftables; kill,
 * pause, restart; clocks under libfaketime; disks under the project's LD_PRELOAD shim), heals,
 * probes liveness, and hands back what the observers need: the history, the role timeline
 * (polled from every node about every 10 ms), the fault intervals and a fault log. Judging
 * (observe.h, lincheck.h) is the caller's.
 *
 * The schedule is plain data: a list of faults, each with a start, a length, a kind, its
 * targets and its parameters (fl_nem_fault), so that a scenario file can fill it.
 *
 * Host safety: every process the run starts is killed and reaped, every namespace and bridge
 * it creates deleted, before fl_nemesis_run returns, whether the run ends normally, by
 * *cfg->stop (a signal handler sets it) or by an error. Children also get PR_SET_PDEATHSIG,
 * so a nemesis killed with SIGKILL still takes its nodes along (namespaces then leak: the
 * names say which run made them, fl<pid>n<i>). */
#ifndef FAULTLINE_NEMESIS_H
#define FAULTLINE_NEMESIS_H

#include "faultline/history.h"
#include "faultline/observe.h"
#include "faultline/run.h"
#include "faultline/workload.h"

#include <signal.h>

#define FL_NEM_NODES_MAX   9
#define FL_NEM_FAULTS_MAX  1024
#define FL_NEM_CLIENTS_MAX 256
#define FL_NEM_PATH_MAX    512
#define FL_NEM_NOTE_MAX    240

typedef enum fl_nem_target {
    FL_NEM_TARGET_FAULTLINE = 0, /* `faultline server` processes (this binary) */
    FL_NEM_TARGET_ETCD = 1,      /* etcd members (Debian etcd-server), v3 JSON gateway */
    FL_NEM_TARGET_CMD = 2,       /* any command, from a template */
} fl_nem_target;

typedef enum fl_nem_client {
    FL_NEM_CLIENT_RESP = 0, /* GET / SET / CAS / APPEND over RESP; FL.STATUS for roles */
    FL_NEM_CLIENT_ETCD = 1, /* etcd's v3 JSON gateway: range, put, txn; maintenance/status */
} fl_nem_client;

typedef enum fl_nem_net {
    FL_NEM_NET_PROXY = 0, /* a fault proxy in this process on every peer link (no privilege) */
    FL_NEM_NET_NETNS = 1, /* a network namespace per node on a bridge, nftables rules (root) */
} fl_nem_net;

typedef enum fl_nem_kind {
    FL_NEM_KILL = 0,       /* kill -9, restarted when the fault ends */
    FL_NEM_PAUSE,          /* SIGSTOP, SIGCONT when the fault ends */
    FL_NEM_RESTART,        /* SIGTERM, started again at once (a graceful restart) */
    FL_NEM_ISOLATE_ONE,    /* partitions (every cut link both ways unless one-way) */
    FL_NEM_ISOLATE_LEADER, /* the node leading when the fault starts */
    FL_NEM_HALVES,         /* a random minority | the rest */
    FL_NEM_RING,           /* majorities ring: each node sees its neighbours only */
    FL_NEM_BRIDGE,         /* two halves joined by one node that sees both */
    FL_NEM_ONE_WAY,        /* the targets' messages to the others lost, not the reverse */
    FL_NEM_DELAY,          /* the targets' links delayed (delay_ns, +- jitter_ns) */
    FL_NEM_THROTTLE,       /* the targets' links limited to rate_bps bytes per second */
    FL_NEM_DROP,           /* the targets' connections reset at the start and every second */
    FL_NEM_STALL,          /* the targets' links frozen; what they held flows at the end */
    FL_NEM_CLOCK,          /* restarted under libfaketime: clock_offset_ns or clock_rate */
    FL_NEM_DISK_FSYNC,     /* the shim fails the next fsync: the node must stop */
    FL_NEM_DISK_TORN,      /* the shim tears the next write and kills the node (power cut) */
    FL_NEM_FORK_HANG,      /* the shim makes the child of the node's next fork (a snapshot's)
                            * sleep for good: its compaction stalls (fl_nem_compaction) */
    FL_NEM_KIND_COUNT
} fl_nem_kind;

const char *fl_nem_kind_name(fl_nem_kind k);
bool fl_nem_kind_parse(const char *s, size_t n, fl_nem_kind *out);
/* Whether k acts on the target nodes' processes (kill, pause, restart, clock, the disk shim's
 * kinds) rather than on their links: with WHO all it rolls over them one at a time. */
bool fl_nem_kind_on_process(fl_nem_kind k);

/* Who a fault hits, chosen when it starts (nodes_mask, if set, overrides). */
typedef enum fl_nem_who {
    FL_NEM_WHO_DEFAULT = 0, /* the kind's own choice: random for most, all for delay... */
    FL_NEM_WHO_RANDOM,
    FL_NEM_WHO_LEADER,
    FL_NEM_WHO_MINORITY,
    FL_NEM_WHO_MAJORITY,
    FL_NEM_WHO_ALL, /* process faults: rolling, one node after another */
} fl_nem_who;

const char *fl_nem_who_name(fl_nem_who w);
bool fl_nem_who_parse(const char *s, fl_nem_who *out);

/* One fault of the schedule: [start_ns, start_ns + length_ns) of the measured phase. */
typedef struct fl_nem_fault {
    fl_time_ns start_ns;
    fl_time_ns length_ns;
    fl_nem_kind kind;
    fl_nem_who who;
    uint32_t nodes_mask;     /* bit i-1 = node i; 0 = choose by who */
    fl_time_ns delay_ns;     /* delay */
    fl_time_ns jitter_ns;    /* delay: uniform extra in [0, jitter] */
    uint64_t rate_bps;       /* throttle */
    int64_t clock_offset_ns; /* clock: offset (when clock_rate is 0 or 1) */
    double clock_rate;       /* clock: speed (1.001 = +1000 ppm); 0 = offset only */
    /* partitions: the links cut, given (a scenario's sides, bridge, ring): bit b-1 of
     * cut[a-1] = node a's bytes to node b lost; all 0 = the kind's own shape from targets
     * (and in the fault log, the links it cut) */
    uint16_t cut[FL_NEM_NODES_MAX];
} fl_nem_fault;

/* Fills f with the defaults of kind (who DEFAULT, 50 ms +- 20 ms, 64 KiB/s, +5 s). */
void fl_nem_fault_default(fl_nem_fault *f, fl_nem_kind kind);

/* Builds the usual schedule: over [0, duration), one fault of length every interval, ending
 * at the end of each interval (calm first), kinds taken from kinds[] in turn. Returns the
 * count written (at most max). */
size_t fl_nem_schedule_build(const fl_nem_fault *kinds, size_t n_kinds, fl_time_ns duration_ns,
                             fl_time_ns interval_ns, fl_time_ns length_ns, fl_nem_fault *out,
                             size_t max);

typedef struct fl_nem_config {
    fl_nem_target target;
    fl_nem_client client;
    fl_nem_net net;
    uint32_t nodes;                     /* 1..FL_NEM_NODES_MAX */
    char out_dir[FL_NEM_PATH_MAX];      /* data dirs, logs, results */
    char exe[FL_NEM_PATH_MAX];          /* the faultline binary for nodes */
    char etcd[FL_NEM_PATH_MAX];         /* the etcd binary */
    char node_cmd[4096];                /* FL_NEM_TARGET_CMD: the template */
    char node_args[1024];               /* extra arguments for each faultline/etcd node */
    char shim[FL_NEM_PATH_MAX];         /* the disk shim (.so); "" = not used */
    char faketime_lib[FL_NEM_PATH_MAX]; /* libfaketime; "" = clock faults skipped */
    uint64_t seed;
    fl_time_ns duration_ns;
    /* clients: the simulator's workloads */
    fl_run_workload workload;
    uint32_t clients;  /* connections (closed loop: each runs one op at a time) */
    double rate;       /* open loop: ops per second (Poisson); 0 = closed loop */
    uint64_t keys;     /* 0: the workload's default */
    double read_share; /* < 0: the workload's default */
    double cas_share;  /* of the writes; < 0: the workload's default */
    /* the simulator's mix instead (a scenario file's reads and cas): reads_pct reads,
     * other_pct cas (register) or append (kv), the rest puts */
    bool sim_mix;
    uint32_t reads_pct, other_pct;
    uint32_t value_size; /* kv: bytes of every value; 0 = the workload's 16..128 */
    uint64_t ops_max;    /* no operation starts after this many (0: no limit) */
    fl_time_ns op_timeout_ns;
    fl_time_ns liveness_ns;
    fl_time_ns startup_ns; /* the cluster must answer and elect within this */
    fl_time_ns restart_ns; /* a restarted node that does not answer within this is reported */
    fl_time_ns poll_ns;    /* status poll period (10 ms) */
    /* proxy mode: clients reach nodes through the proxy too; link faults (delay, throttle,
     * stall, drop) on a node then shape its clients' links as well; partitions never cut
     * them, and the status poll never goes through the proxy */
    bool proxy_clients;
    /* a faultline node over the compaction bound this long with no snapshot taken or
     * installed counts as stalled, a violation (fl_nem_compaction; 10 s); 0: not judged */
    fl_time_ns compaction_stall_ns;
    const fl_nem_fault *faults;
    size_t n_faults;
    bool verbose;
    volatile sig_atomic_t *stop; /* set asynchronously: stop, clean up, return FL_ESTOPPED */
} fl_nem_config;

void fl_nem_config_default(fl_nem_config *c);

/* The workload c's clients draw from (its weights: per mille, or percent with sim_mix). */
void fl_nem_workload(const fl_nem_config *c, fl_workload_config *wl);

/* What happened to one fault. */
typedef struct fl_nem_fault_log {
    fl_nem_fault fault;
    uint32_t targets_mask; /* the nodes it hit */
    fl_time_ns began_ns;   /* measured-phase times it really started and ended */
    fl_time_ns ended_ns;
    bool skipped;
    char note[FL_NEM_NOTE_MAX]; /* what the nodes did: exits, refusals, skip reasons */
} fl_nem_fault_log;

/* A node's compaction, as its answers to the status poll showed it (FL.STATUS: faultline
 * nodes; etcd's status says nothing of it: known stays false). Over the bound: more than
 * FL_NEM_COMPACT_FACTOR x snapshot_every entries applied past its snapshot while a snapshot
 * is due by its bytes too (src/nemesis/compact.c says why those). Stalled: over the bound,
 * without a snapshot taken or installed, for compaction_stall_ns of answers in a row. */
#define FL_NEM_COMPACT_FACTOR 4

typedef struct fl_nem_compaction {
    bool known;                /* the node reported its snapshot state at least once */
    bool up_at_end;            /* its process ran when the run ended */
    uint64_t every, log_share; /* its snapshot interval (entries) and log share */
    uint64_t snapshots_taken;  /* by all its processes */
    uint64_t failures;         /* forks refused and children failed, all its processes */
    uint64_t timeouts;         /* of those, children its snapshot watchdog killed */
    uint64_t snapshot_index;   /* its last answer's */
    uint64_t applied_index;
    uint64_t snapshot_running; /* the index of the snapshot it was taking, 0: none */
    uint64_t entries_past_max; /* the most entries past its snapshot an answer showed */
    fl_time_ns overdue_max_ns; /* the longest time over the bound without a snapshot */
    bool stalled;
    fl_time_ns stalled_ns; /* when it first counted as stalled (ns of the measured phase) */
} fl_nem_compaction;

typedef struct fl_nem_node_report {
    uint32_t starts;                  /* processes started (the first one included) */
    uint32_t unexpected_exits;        /* exits the nemesis did not cause by a signal */
    int last_exit;                    /* last exit status (>= 0) or -signal */
    uint32_t slow_restarts;           /* restarts not answering within restart_ns */
    char last_error[FL_NEM_NOTE_MAX]; /* the last log line that says error/fatal, if any */
    char log[FL_NEM_PATH_MAX];
    char data[FL_NEM_PATH_MAX];
    fl_nem_compaction compaction;
} fl_nem_node_report;

typedef struct fl_nem_result {
    fl_history history;
    fl_observe_recorder rec; /* roles, service, fault intervals */
    fl_nem_fault_log *log;
    size_t n_log;
    fl_nem_node_report node[FL_NEM_NODES_MAX];
    uint64_t ops_invoked, ops_ok, ops_fail, ops_info;
    uint64_t arrivals_dropped;
    uint64_t status_polls, status_answers;
    uint64_t proxy_bytes; /* peer bytes forwarded by the proxy */
    fl_term first_term;   /* lowest and highest term seen leading */
    fl_term last_term;
    fl_time_ns heal_ns; /* = duration */
    bool live;
    fl_time_ns recover_ns; /* heal -> the probe's first ok write */
    bool final_reads_done; /* every key read once after the probe (recorded) */
    fl_time_ns startup_ns; /* wall time until the cluster elected its first leader */
    char error[FL_NEM_NOTE_MAX];
} fl_nem_result;

/* Runs the whole thing. Returns 0 (see r), FL_ECONFIG (bad config, r->error), FL_EUNSUPPORTED
 * (a tool or privilege missing: r->error is the one line to print), FL_EIO (the cluster
 * did not start, r->error), FL_ESTOPPED (*cfg->stop was set) or FL_ENOMEM. Everything it
 * started is stopped and removed in every case; r must be freed with fl_nem_result_free. */
int fl_nemesis_run(const fl_nem_config *cfg, fl_nem_result *r);
void fl_nem_result_free(fl_nem_result *r);

#endif
