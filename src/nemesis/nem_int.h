/* nem_int.h: the nemesis's internals, shared by its files (one concern each):
 *
 *   nemesis.c   the run: start, measured phase, heal, liveness probe, teardown
 *   schedule.c  fault kinds, defaults, the usual schedule (plain data)
 *   faults.c    starting and ending each fault on the nodes or links it hits
 *   proc.c      node processes: start (with shim / faketime / namespace), signals, reaping
 *   target.c    the command line of a node for each target (faultline, etcd, template)
 *   proxy.c     the fault proxy on every peer link (--net proxy)
 *   netns.c     namespaces, bridge, nftables rules (--net netns)
 *   conn.c      non-blocking client connections on the loop
 *   proto.c     requests and replies: RESP and etcd's JSON gateway over HTTP/1.1
 *   client.c    the recorded clients (the simulator's workloads)
 *   observer.c  the status poll of every node (roles, terms, commit)
 *   compact.c   from the same answers: whether each node's compaction keeps up
 *
 * Everything runs on one thread, one event loop (loop.h): the history's event order is the
 * order in which this thread saw invocations and completions, so it is a real-time order. */
#ifndef FL_NEM_INT_H
#define FL_NEM_INT_H

#include "faultline/loop.h"
#include "faultline/nemesis.h"
#include "faultline/net.h"
#include "faultline/rng.h"
#include "faultline/workload.h"

#include <sys/types.h>

typedef struct nem nem;

/* ---- connections (conn.c) ------------------------------------------------------------- */

typedef struct nem_conn nem_conn;
typedef void (*nem_conn_fn)(nem_conn *c, bool closed);

struct nem_conn {
    nem *n;
    int fd;
    bool connected;
    fl_loop_watch w;
    fl_buf in, out;
    size_t out_off;
    nem_conn_fn fn; /* called with new input (closed = false) or when the connection died */
    void *arg;
};

void nem_conn_init(nem_conn *c, nem *n, nem_conn_fn fn, void *arg);
int nem_conn_open(nem_conn *c, const fl_addr *a);
void nem_conn_close(nem_conn *c);
void nem_conn_free(nem_conn *c);
/* Queues c->out for sending (call after appending to c->out). */
void nem_conn_flush(nem_conn *c);

/* ---- protocols (proto.c) --------------------------------------------------------------- */

typedef enum nem_rkind { NR_SIMPLE, NR_ERROR, NR_INT, NR_BULK, NR_NIL, NR_OTHER } nem_rkind;

typedef struct nem_reply {
    nem_rkind kind;
    int64_t i;
    const uint8_t *p; /* simple/error text, bulk bytes, HTTP body (points into the input) */
    size_t n;
    int http_status; /* etcd */
} nem_reply;

/* One complete reply at the start of in[0..len): returns its length (> 0), 0 when more
 * bytes are needed, -1 when the bytes are malformed. */
long nem_resp_reply(const uint8_t *in, size_t len, nem_reply *r);
long nem_http_reply(const uint8_t *in, size_t len, fl_buf *body, nem_reply *r);

/* The outcome of one op, decoded. */
typedef struct nem_outcome {
    uint8_t type; /* FL_EV_OK, FL_EV_FAIL, FL_EV_INFO */
    bool has_value;
    bool nil;
    const uint8_t *value; /* reads: the value read (into the reply) */
    size_t value_len;
    char error[96];
} nem_outcome;

void nem_proto_request(fl_nem_client k, const char *host, const fl_workload_op *op, fl_buf *out);
void nem_proto_decode(fl_nem_client k, const fl_workload_op *op, const nem_reply *r,
                      fl_buf *scratch, nem_outcome *o);
void nem_proto_status_request(fl_nem_client k, const char *host, fl_buf *out);
/* Parses a status reply: is_leader, term, commit; returns false if it is not one. */
bool nem_proto_status(fl_nem_client k, const nem_reply *r, bool *leader, fl_term *term,
                      uint64_t *commit);
/* "name:123" of a FL.STATUS reply (name with its colon). */
bool nem_proto_status_field(const nem_reply *r, const char *name, uint64_t *v);

/* ---- compaction (compact.c) ------------------------------------------------------------- */

/* One status answer's snapshot state (FL.STATUS, server_info.c). */
typedef struct nem_snap_state {
    uint64_t every, share, bytes, applied_bytes, running, failures;
    uint64_t taken, snapshot_index, applied;
    uint64_t timeouts; /* of the failures, children the watchdog killed (0 if not reported) */
} nem_snap_state;

/* A node's compaction between answers: this process's counters, those of its earlier ones. */
typedef struct nem_compact {
    uint32_t start;           /* the process (the report's starts) the fields below are of */
    uint64_t taken, failures; /* this process's, as last answered */
    uint64_t base_taken, base_failures;
    uint64_t timeouts, base_timeouts; /* the watchdog's kills, as taken and failures */
    uint64_t failures_mark;           /* failures at its last snapshot (or its start) */
    uint64_t snap;                    /* snapshot index of its last answer */
    fl_time_ns last;                  /* loop time of its last answer */
    fl_time_ns over_since; /* loop time it went over the bound; FL_TIME_NEVER: not over */
} nem_compact;

bool nem_snap_state_parse(const nem_reply *r, nem_snap_state *s);
/* Folds one answer of process number start, at loop time now, into k and c (c->known false:
 * the first answer). Returns true when the node has just counted as stalled (stall_ns of
 * answers over the bound without a snapshot; 0: never). Pure: the unit test drives it. */
bool nem_compact_fold(nem_compact *k, fl_nem_compaction *c, uint32_t start, const nem_snap_state *s,
                      fl_time_ns now, fl_time_ns stall_ns);

/* ---- nodes (proc.c, target.c) ---------------------------------------------------------- */

typedef enum nem_node_state {
    NODE_DOWN = 0, /* no process */
    NODE_UP,
    NODE_PAUSED,
    NODE_STOPPING, /* SIGTERM sent, restart when it exits */
} nem_node_state;

typedef struct nem_node {
    uint32_t id; /* 1-based */
    pid_t pid;
    pid_t pgid; /* its last process group, killed once more at the end */
    nem_node_state state;
    bool killed_by_us;     /* the next exit was caused by our signal */
    bool restart_pending;  /* start again once it exited (graceful restart, clock) */
    fl_time_ns started_at; /* loop time of the last start */
    bool answered_since_start;
    bool slow_reported;
    /* how it runs: clock (libfaketime) */
    bool faketime;
    int64_t clock_offset_ns;
    double clock_rate;
    /* addresses */
    char host[64];
    uint16_t client_port;
    uint16_t peer_port;   /* where it listens for peers */
    uint16_t adv_port;    /* what the others dial (the proxy's listener in proxy mode) */
    uint16_t cl_adv_port; /* --proxy-clients: the proxy's listener for this node's clients */
    fl_addr client_addr;  /* its client port (the status poll's path) */
    fl_addr client_via;   /* where clients connect: client_addr, or the proxy's listener */
    char ns[32];          /* netns mode: its namespace */
    size_t watch;         /* fault log entry that notes what this node does next; SIZE_MAX: none */
    /* the disk shim */
    char shim_ctl[FL_NEM_PATH_MAX];
    uint32_t shim_seq;
    /* status, from the observer */
    nem_conn st;
    bool st_busy;
    fl_time_ns st_sent;
    bool st_seen; /* the last answer, before it is confirmed (etcd) */
    bool seen_leader;
    fl_term seen_term;
    bool st_known;
    bool st_leader;
    fl_term st_term;
    uint64_t st_commit;
    nem_compact cp; /* its compaction, from the same answers (compact.c) */
} nem_node;

int nem_node_start(nem *n, nem_node *x);
void nem_node_signal(nem *n, nem_node *x, int sig);
/* Reaps exited nodes (called every few ms); restarts those with restart_pending. */
void nem_nodes_reap(nem *n);
/* Stops every node: SIGCONT, SIGTERM, SIGKILL after grace_ns; reaps all. Blocking. */
void nem_nodes_stop_all(nem *n, fl_time_ns grace_ns);
/* Writes the argv of node x into argv/strings (target.c). Returns argc or -1. */
int nem_target_argv(const nem *n, const nem_node *x, char **argv, int argv_max, char *strings,
                    size_t strings_size);
/* The last line of x's log that mentions an error (for reports). */
void nem_node_last_error(const nem *n, const nem_node *x, char *out, size_t size);
/* Runs argv to completion (helpers: ip, nft). Returns its exit status or -1. */
int nem_run_cmd(char *const argv[], bool quiet);

/* ---- the fault proxy (proxy.c) --------------------------------------------------------- */

typedef struct nem_link_rule {
    bool cut;   /* nothing flows; connections reset when the cut ends */
    bool stall; /* nothing flows; what was held flows when the stall ends */
    fl_time_ns delay_ns;
    fl_time_ns jitter_ns;
    uint64_t rate_bps; /* 0 = unlimited */
} nem_link_rule;

typedef struct nem_proxy nem_proxy;

int nem_proxy_start(nem *n);
void nem_proxy_stop(nem *n);
/* The rule for bytes from node a to node b (1-based). */
void nem_proxy_set(nem *n, uint32_t a, uint32_t b, const nem_link_rule *rule);
/* Resets every connection between a and b (either direction). */
void nem_proxy_drop(nem *n, uint32_t a, uint32_t b);

/* ---- network namespaces (netns.c) ------------------------------------------------------ */

int nem_netns_setup(nem *n);
void nem_netns_teardown(nem *n);
/* Applies the cut matrix (n->cut[a][b]: bytes from a to b dropped) with nftables. */
int nem_netns_apply(nem *n);

/* ---- clients (client.c), observer (observer.c), faults (faults.c) ---------------------- */

int nem_clients_start(nem *n);
void nem_clients_stop(nem *n); /* no new ops; in-flight ones finish or time out */
bool nem_clients_idle(const nem *n);
void nem_clients_free(nem *n);
int nem_probe_start(nem *n);

int nem_observer_start(nem *n);
void nem_observer_stop(nem *n);
/* A status answer of x (RESP): its snapshot state, judged (compact.c). */
void nem_compact_sample(nem *n, nem_node *x, const nem_reply *r);
/* At the end of the run: which nodes ran (compact.c). */
void nem_compact_end(nem *n);

/* The node believed leader in the highest term now (0: none). */
uint32_t nem_leader(const nem *n);

void nem_fault_begin(nem *n, size_t i);
void nem_fault_end(nem *n, size_t i);
void nem_faults_heal_all(nem *n);

/* ---- the run (nemesis.c) --------------------------------------------------------------- */

typedef struct nem_client nem_client;

/* A fault's own state while it runs (timers point here). */
typedef struct nem_fstate {
    nem *n;
    size_t i;
    uint32_t step; /* rolling: the target being hit */
    bool rolling;
} nem_fstate;

struct nem {
    const fl_nem_config *cfg;
    fl_nem_result *res;
    fl_loop loop;
    fl_rng rng;
    fl_time_ns t0;                       /* loop time of the measured phase's start */
    nem_node node[FL_NEM_NODES_MAX + 1]; /* 1-based */
    uint32_t count;
    bool measuring; /* clients start ops */
    bool ending;    /* the measured phase is over */
    /* clients */
    nem_client *clients;
    uint32_t n_clients;
    nem_client *probe;
    fl_time_ns next_arrival_ns;
    int64_t next_process;
    uint64_t final_next; /* the next key of the final reads */
    fl_workload_config wl;
    /* faults */
    fl_nem_fault_log *log; /* = res->log */
    nem_fstate *fs;
    size_t *fault_ids; /* recorder ids */
    bool cut[FL_NEM_NODES_MAX + 1][FL_NEM_NODES_MAX + 1];
    nem_link_rule rule[FL_NEM_NODES_MAX + 1][FL_NEM_NODES_MAX + 1];
    nem_proxy *proxy;
    bool netns_up;
    char subnet[32]; /* netns: "10.X.Y" */
    char bridge[16];
    /* status */
    bool observer_up;
    fl_loop_timer_id poll_timer;
    bool oom;
};

/* Time of the measured phase (ns since t0), as recorded. */
fl_time_ns nem_now(const nem *n);
/* Appends a note to fault log entry i (also printed with --verbose). */
void nem_note(nem *n, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void nem_say(nem *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
