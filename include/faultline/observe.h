/* observe.h: the observables of a run (latency, throughput, availability, split-brain, cost,
 * stale reads), computed the same way for simulated and real runs. Pure: the inputs are
 * plain arrays a runner fills while the run goes (or reads back from files afterwards); the
 * computation reads no clock, keeps no global state, and gives the same output for the same
 * input. Every loop is bounded by the size of its input; detail arrays are capped
 * (FL_OBSERVE_*_MAX) while their counts stay exact.
 *
 * Inputs (struct fl_observe_input):
 *   history   the client history (history.h): invoke/ok/fail/info events with time in ns
 *   roles     the role timeline: one entry each time a node's (is_leader, term) changes,
 *             including the node going down (a crash ends leadership: is_leader = false)
 *   service   one entry each time a node acknowledged a write or served a read to a client
 *   faults    the fault intervals injected (for reports, and for inside/outside metrics)
 *   counters  messages and bytes sent, fsyncs, elections started
 *   run_start_ns, run_end_ns, window_ns
 * Arrays need not be sorted: they are copied and sorted by (time, array index) inside, so
 * entries with the same time keep the order the runner gave them.
 *
 * Time model: every time is in ns on one clock (virtual time in the simulator, a monotonic
 * clock in real runs). Role changes at time t apply at t: a node that becomes leader at t is
 * leader on [t, next change). A service event at time t sees the roles after every change
 * at t. Windows are [run_start + i * window, run_start + (i + 1) * window).
 *
 * Ownership: fl_observe_compute() fills an fl_observables the caller owns (it may live on
 * the stack; it holds pointers to arrays allocated inside) and releases with
 * fl_observe_free(). The output keeps no pointer into the input. */
#ifndef FAULTLINE_OBSERVE_H
#define FAULTLINE_OBSERVE_H

#include "faultline/hist.h"
#include "faultline/history.h"
#include "faultline/json.h"

#include <stdio.h>

#define FL_OBSERVE_WINDOW_NS_DEFAULT FL_NS_PER_S
#define FL_OBSERVE_WINDOWS_MAX       ((size_t)1 << 20) /* more windows: FL_ERANGE */
#define FL_OBSERVE_INTERVALS_MAX     256               /* split-brain intervals kept in detail */
#define FL_OBSERVE_OUTAGES_MAX       256               /* leader outages kept in detail */
#define FL_OBSERVE_STALE_MAX         32                /* stale reads kept as examples */
#define FL_OBSERVE_FAULTS_MAX        4096              /* fault intervals copied into the output */
#define FL_OBSERVE_NODES_MAX         4096              /* distinct node ids in roles and service */
#define FL_OBSERVE_SPLIT_NODES_MAX   8                 /* nodes listed per split-brain interval */
#define FL_OBSERVE_FAULT_KIND_SIZE   32
#define FL_OBSERVE_TARGETS_SIZE      48
#define FL_OBSERVE_KEY_SIZE          32
/* Appends checked per read by the stale-read rule for append (see below). */
#define FL_OBSERVE_APPEND_CHECK_MAX 64
/* Bytes of read values scanned for appended elements over a whole history; past it, reads
 * on append keys are counted as unchecked. */
#define FL_OBSERVE_APPEND_SCAN_MAX ((uint64_t)1 << 28)

/* ---- inputs -------------------------------------------------------------------------------- */

/* A change of one node's role: from time_ns on, node believes it is leader (is_leader) or
 * not, in term. A runner records one at every role or term change and when the node goes
 * down (is_leader = false; the term it had). A node without any entry is never leader. */
typedef struct fl_observe_role {
    fl_time_ns time_ns;
    fl_node_id node;
    bool is_leader;
    fl_term term;
} fl_observe_role;

typedef enum fl_observe_service_kind {
    FL_OBSERVE_SERVED_READ = 0, /* the node answered a client read */
    FL_OBSERVE_ACKED_WRITE = 1, /* the node acknowledged a client write */
} fl_observe_service_kind;

/* A node answered a client: served a read or acknowledged a write, at time_ns, believing
 * itself leader of term. Used to tell whether a stale leader served anything. Entries of
 * another kind are ignored. */
typedef struct fl_observe_service {
    fl_time_ns time_ns;
    fl_node_id node;
    fl_term term;
    uint8_t kind; /* fl_observe_service_kind */
} fl_observe_service;

/* A fault injected over [start_ns, end_ns) (end_ns = FL_TIME_NEVER: until the run ends).
 * kind is free text ("partition-halves", "crash-leader"), NUL-terminated, truncated if
 * longer; targets says whom it hit, for reports ("n3", "1,2 | 3,4,5"), "" when not told. */
typedef struct fl_observe_fault {
    fl_time_ns start_ns;
    fl_time_ns end_ns;
    char kind[FL_OBSERVE_FAULT_KIND_SIZE];
    char targets[FL_OBSERVE_TARGETS_SIZE];
} fl_observe_fault;

/* Totals over the whole run, summed over all nodes. */
typedef struct fl_observe_counters {
    uint64_t messages_sent;
    uint64_t bytes_sent;
    uint64_t fsyncs;
    uint64_t elections_started; /* a node became candidate (pre-votes not counted) */
} fl_observe_counters;

typedef struct fl_observe_input {
    const fl_history *history; /* required; may be empty */
    const fl_observe_role *roles;
    size_t role_count;
    const fl_observe_service *service;
    size_t service_count;
    const fl_observe_fault *faults;
    size_t fault_count;
    fl_observe_counters counters;
    /* The run: [run_start_ns, run_end_ns). When both are 0 they are taken from the history
     * (first and last event time). */
    fl_time_ns run_start_ns;
    fl_time_ns run_end_ns;
    fl_time_ns window_ns; /* 0: FL_OBSERVE_WINDOW_NS_DEFAULT (1 s) */
} fl_observe_input;

/* Zeroes *in and sets the defaults (window 1 s). */
void fl_observe_input_init(fl_observe_input *in);

/* ---- a recorder: growable input arrays for a runner ----------------------------------------
 *
 * A runner may fill the input arrays itself, or call these as the run goes and hand the
 * arrays over with fl_observe_recorder_input(). fl_observe_record_role() keeps the last
 * (is_leader, term) of every node and records only changes, so it can be called after every
 * step of every node. Every array is bounded by entries_max (FL_EFULL past it: the run's
 * observables would be wrong, so the runner should fail loudly). The recorder owns its
 * arrays; fl_observe_recorder_free() releases them. */

#define FL_OBSERVE_RECORDER_ENTRIES_MAX ((size_t)1 << 24)

typedef struct fl_observe_recorder {
    fl_observe_role *roles;
    size_t role_count, role_cap;
    fl_observe_service *service;
    size_t service_count, service_cap;
    fl_observe_fault *faults;
    size_t fault_count, fault_cap;
    fl_observe_counters counters; /* the runner adds to these directly */
    /* last recorded state per node (for deduplication), in first-seen order */
    fl_node_id *node;
    bool *leader;
    fl_term *term;
    size_t node_count, node_cap;
    size_t entries_max; /* per array; fl_observe_recorder_init sets the default */
} fl_observe_recorder;

void fl_observe_recorder_init(fl_observe_recorder *r);
void fl_observe_recorder_free(fl_observe_recorder *r);
/* Records node's role at time t if it differs from the last one recorded (a node starts as
 * not leader, term 0). Returns 0, FL_ENOMEM, FL_EFULL or FL_ETOOBIG (more than
 * FL_OBSERVE_NODES_MAX nodes). */
int fl_observe_record_role(fl_observe_recorder *r, fl_time_ns t, fl_node_id node, bool is_leader,
                           fl_term term);
/* The node went down (crash, stop): not leader any more, term kept. Same returns. */
int fl_observe_record_down(fl_observe_recorder *r, fl_time_ns t, fl_node_id node);
/* node served a read or acknowledged a write (kind) at t believing it leads term. Returns 0,
 * FL_ENOMEM or FL_EFULL. */
int fl_observe_record_service(fl_observe_recorder *r, fl_time_ns t, fl_node_id node, fl_term term,
                              fl_observe_service_kind kind);
/* A fault starts at t (kind copied, truncated); *id names it for fl_observe_fault_end. It
 * lasts until the run ends unless ended. Returns 0, FL_ENOMEM or FL_EFULL. */
int fl_observe_fault_begin(fl_observe_recorder *r, fl_time_ns t, const char *kind, size_t *id);
/* Ends fault id at t. Returns 0, or FL_EINVAL for an unknown id or an end before the start. */
int fl_observe_fault_end(fl_observe_recorder *r, size_t id, fl_time_ns t);
/* Points in's roles, service, faults and counters at the recorder's (which must outlive the
 * computation); the history and run bounds are left to the caller. */
void fl_observe_recorder_input(const fl_observe_recorder *r, fl_observe_input *in);

/* ---- outputs ------------------------------------------------------------------------------- */

/* Op outcomes as indexes of latency tables. */
enum { FL_OBS_OK = 0, FL_OBS_FAIL = 1, FL_OBS_INFO = 2, FL_OBS_OUTCOMES = 3 };

/* latency: invoke -> completion, by op type (f) and outcome. An info op with a completion
 * event has the latency until that event (when the client gave up); an op never completed
 * has none and is counted in pending. Completions timed before their invocation (clock
 * trouble in a real run) count as 0 ns and in clock_errors. */
typedef struct fl_observe_latency {
    /* index f * FL_OBS_OUTCOMES + outcome; NULL when no op of that f ended so (a histogram
     * is 43 KB: only those used are allocated) */
    fl_hist *by_f[FL_F_COUNT * FL_OBS_OUTCOMES];
    fl_hist *ok;               /* every ok op */
    fl_hist *ok_in_fault;      /* ok ops invoked inside a fault interval */
    fl_hist *ok_outside_fault; /* ok ops invoked outside every fault interval */
    uint64_t pending;          /* invocations never completed (info, latency undefined) */
    uint64_t clock_errors;
} fl_observe_latency;

/* One window [start_ns, start_ns + window_ns). An op lands in the window of its completion
 * time (ok, fail or info); an op never completed is in no window. Times before the run
 * start count in the first window, at or after the end in the last. */
typedef struct fl_observe_window {
    fl_time_ns start_ns;
    uint64_t ok;
    uint64_t ok_writes; /* ok ops that modify: write, cas, put, append, delete, incr */
    uint64_t fail;
    uint64_t info;
    uint64_t ok_latency_max_ns;
    bool answered; /* at least one ok op completed in the window */
    bool in_fault; /* the window overlaps a fault interval */
    bool leader;   /* some node was leader (newest term) at some time in the window */
} fl_observe_window;

/* Leader outage: from the moment the cluster has no current leader to the moment it has one
 * again. The current leader is a node that is leader in the highest term any node has been
 * leader in so far; so a crash or step-down of the current leader starts an outage even when
 * a stale leader of an older term still believes it leads. */
typedef struct fl_observe_outage {
    fl_time_ns start_ns;
    fl_time_ns end_ns; /* FL_TIME_NEVER: no new leader before the run ended */
    fl_node_id lost;   /* the leader lost */
    fl_term lost_term;
} fl_observe_outage;

typedef struct fl_observe_avail {
    uint64_t ops; /* every invocation (ok + fail + info + pending) */
    uint64_t ok;  /* ops that succeeded */
    uint64_t fail;
    uint64_t info;      /* including pending */
    double ok_fraction; /* ok / ops; 1 when there are no ops */
    uint64_t windows;
    uint64_t windows_answered;
    double windows_answered_fraction;
    /* Longest time without a successful write completion: between consecutive ok write
     * completions, and from run start to the first and from the last to run end. */
    fl_time_ns write_gap_max_ns;
    fl_time_ns write_gap_start_ns;
    fl_time_ns write_gap_end_ns;
    uint64_t ok_writes;
    /* Leader outages (see fl_observe_outage): those that ended are in count, mean, max. */
    uint64_t outages; /* ended outages */
    double outage_mean_ns;
    fl_time_ns outage_max_ns;
    bool leaderless_at_end;          /* an outage was still open when the run ended */
    fl_time_ns leaderless_at_end_ns; /* its length up to run end */
    fl_time_ns first_leader_ns;      /* time from run start to the first leader; NEVER: none */
    fl_observe_outage *outage;       /* the first FL_OBSERVE_OUTAGES_MAX, in time order */
    size_t outage_count;             /* entries in outage (ended and open) */
    /* Inside vs outside faults: by the op's invocation time. */
    uint64_t ops_in_fault;
    uint64_t ok_in_fault;
    uint64_t ops_outside_fault;
    uint64_t ok_outside_fault;
} fl_observe_avail;

/* Split-brain: a maximal interval [start, end) in which two or more nodes are leader at
 * once. same_term: at some instant two of them were leader in the same term (a safety
 * violation: must never happen). stale: at some instant two of them were leader in
 * different terms (a stale leader, allowed by Raft). A stale leader is one whose term is
 * below the highest term of the leaders at that instant; served_reads and acked_writes count
 * the service events of stale leaders inside the interval. */
typedef struct fl_observe_split {
    fl_time_ns start_ns;
    fl_time_ns end_ns; /* FL_TIME_NEVER: still open when the run ended (then end = run end
                        * for durations) */
    bool same_term;
    bool stale;
    fl_term term_min;
    fl_term term_max;
    uint32_t stale_served_reads;
    uint32_t stale_acked_writes;
    uint32_t node_count;                          /* distinct nodes leader during the interval */
    fl_node_id nodes[FL_OBSERVE_SPLIT_NODES_MAX]; /* the first ones, by time they joined */
} fl_observe_split;

typedef struct fl_observe_splits {
    uint64_t intervals;        /* every split-brain interval */
    uint64_t same_term;        /* intervals with two leaders of one term: violations */
    uint64_t stale;            /* intervals with leaders of different terms */
    fl_time_ns stale_total_ns; /* summed durations of stale intervals */
    fl_time_ns stale_max_ns;
    uint64_t stale_served_reads; /* reads served by a stale leader, over all intervals */
    uint64_t stale_acked_writes;
    uint64_t stale_intervals_served; /* stale intervals in which a stale leader served */
    fl_observe_split *interval;      /* the first FL_OBSERVE_INTERVALS_MAX, in time order */
    size_t interval_count;
} fl_observe_splits;

typedef struct fl_observe_cost {
    fl_observe_counters counters;
    uint64_t leaderships;    /* times a node became leader (a new (node, term)) */
    uint64_t leader_changes; /* leaderships after the first */
    double messages_per_ok;  /* per successful op; 0 when there is none */
    double bytes_per_ok;
    double fsyncs_per_ok;
    double fsyncs_per_ok_write;
} fl_observe_cost;

/* A stale read found: the read op and the write it missed (event indexes in the history). */
typedef struct fl_observe_stale {
    uint32_t read_invoke; /* event index of the read's invocation */
    uint32_t read_complete;
    uint32_t newer_invoke; /* the write acknowledged before the read began that it missed */
    uint32_t newer_complete;
    fl_time_ns read_invoke_ns;
    uint32_t read_line;  /* source lines of the read's and the write's invocations when the */
    uint32_t newer_line; /* history was read from a file, else 0 */
    char key[FL_OBSERVE_KEY_SIZE]; /* the key's text, truncated; "" for no key */
} fl_observe_stale;

/* Stale reads counted directly from the history; see fl_observe_compute() for the rules. */
typedef struct fl_observe_stales {
    uint64_t reads_ok;  /* ok reads (read, get) */
    uint64_t checked;   /* ok reads the rules could judge */
    uint64_t stale;     /* of them, stale */
    uint64_t unchecked; /* ok reads on incr keys, of values nobody wrote, over the budget */
    fl_observe_stale example[FL_OBSERVE_STALE_MAX]; /* the first ones, by read invocation */
    size_t example_count;
} fl_observe_stales;

typedef struct fl_observables {
    fl_time_ns run_start_ns;
    fl_time_ns run_end_ns;
    fl_time_ns window_ns;
    fl_time_ns duration_ns;
    fl_observe_latency latency;
    /* throughput */
    double ok_per_s; /* ok ops / duration */
    fl_observe_window *window;
    size_t window_count;
    fl_observe_avail avail;
    fl_observe_splits split;
    fl_observe_cost cost;
    fl_observe_stales stale;
    fl_observe_fault *fault;   /* copy of the first FL_OBSERVE_FAULTS_MAX, sorted by start */
    size_t fault_count;        /* copied */
    uint64_t faults;           /* in the input */
    fl_time_ns fault_total_ns; /* time inside the union of the fault intervals */
} fl_observables;

/* Computes every observable of in into *out (which need not be initialized; on error it is
 * left empty, safe to free). O(n log n) in the sizes of the inputs, plus, for append keys,
 * up to FL_OBSERVE_APPEND_SCAN_MAX bytes of substring search.
 *
 * Stale reads. "Before" and "after" between ops use the order of events in the history (its
 * real-time order), not their time fields. An ok read r of key k is judged by the first rule
 * that applies to k:
 *
 *   incr: k has an incr op: not judged (values are not unique), counted in unchecked.
 *
 *   append: k has an append op (ok or not). Let M be the latest completion among the ops of
 *     k that replace the value (write, put, cas and delete; ok or info, an info op counting
 *     as never completed) invoked before r completed. An ok append a of k with value v is
 *     owed to r when a completed before r was invoked and a was invoked after M (no replace
 *     could have been ordered between a and r). r is stale if its value (nil reads as "")
 *     does not contain v as a substring for some owed a. Only the
 *     FL_OBSERVE_APPEND_CHECK_MAX owed appends completed last are checked (a read that keeps
 *     those but misses an older one lost an update, which the linearizability checker
 *     reports); substring search may find v by chance inside other elements, so the rule
 *     can miss a stale read but never invents one. Also, when one replace p (a write, put or
 *     ok cas; not a delete) completed before r was invoked and every other replace invoked
 *     before r completed had completed before p was invoked, p is the last replace before r
 *     in any order, and r is stale if its value does not start with p's value.
 *
 *   value: otherwise. The writers of a value v of k are the ops that may have set k to v:
 *     write and put of v, cas with new value v (ok or info; a failed op wrote nothing), and
 *     for v = nil the initial state and every delete (ok or info). A writer w is superseded
 *     for r when some ok write w2 of k (write, put, cas, delete; w2 != w) was invoked after
 *     w completed and completed before r was invoked: w2 is definitely newer than w and was
 *     acknowledged before r began. The initial state counts as completed before everything.
 *     An info writer is never superseded (it may take effect at any later time). r is stale
 *     when v has writers invoked before r completed and all of them are superseded. With
 *     unique written values this is exactly: r returned the value written by w and some
 *     write w2 with w < w2 was acknowledged before r began; a read of nil is stale when a
 *     write (not a delete) was acknowledged before the read began and no delete that could
 *     explain the nil is left unsuperseded. A read of a value no op wrote is not judged
 *     (unchecked: it is a linearizability violation of another kind).
 *
 * Returns 0, FL_ENOMEM, FL_ESYNTAX (the history does not pair into ops), FL_ERANGE (more
 * than FL_OBSERVE_WINDOWS_MAX windows, run end before start) or FL_ETOOBIG (more than
 * FL_OBSERVE_NODES_MAX node ids). Untrusted input never asserts. */
int fl_observe_compute(const fl_observe_input *in, fl_observables *out);
void fl_observe_free(fl_observables *o);

/* The latency histogram of f and outcome (FL_OBS_OK...); NULL when no op of f ended with
 * that outcome (or f, outcome are out of range). */
const fl_hist *fl_observe_latency_of(const fl_observables *o, fl_op_f f, int outcome);

/* Writes one JSON object with every observable; keys are described in docs/results.md. */
void fl_observe_write_json(const fl_observables *o, fl_json *j);
/* Prints a compact human-readable table (a few dozen lines). */
void fl_observe_print_summary(const fl_observables *o, FILE *f);

/* ---- availability by group of clients (observe_groups.c) -------------------------------- */

/* The ops of one group of clients invoked in a time window: reads (read, get) and writes (every
 * op that modifies), and of them those answered inside the window: completed ok or fail (a
 * definite answer) before its end. An info op, or one answered after the window, was not. */
typedef struct fl_observe_group {
    uint64_t reads, reads_answered;
    uint64_t writes, writes_answered;
} fl_observe_group;

/* The process's group: < groups to count it, anything else to leave it out. */
typedef uint32_t (*fl_observe_group_fn)(void *arg, int64_t process);

/* Counts the ops of h invoked in [start_ns, end_ns) into out[0..groups) by group_of (the CAP
 * table: one group per side of a partition). O(n) after pairing. Returns 0, FL_ENOMEM, or
 * FL_ESYNTAX (the history does not pair into ops). */
int fl_observe_groups(const fl_history *h, fl_time_ns start_ns, fl_time_ns end_ns,
                      fl_observe_group_fn group_of, void *arg, fl_observe_group *out,
                      uint32_t groups);

#endif
