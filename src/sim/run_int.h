/* run_int.h: the state of one simulated kv run, shared by run.c (setup, nodes, results),
 * run_client.c (clients and the history), run_pipe.c and run_pnode.c (pipelining clients and
 * their connections' node ends) and run_nemesis.c (fault schedules). */
#ifndef FL_RUN_INT_H
#define FL_RUN_INT_H

#include "faultline/array.h"
#include "faultline/flp.h"
#include "faultline/kv.h"
#include "faultline/kv_order.h"
#include "faultline/raft_sim.h" /* cons_sim.h, and the Raft-only churn */
#include "faultline/run.h"
#include "faultline/workload.h"

typedef struct run_pending {
    fl_index index;
    fl_term term;
    uint32_t client;
    uint64_t attempt;
    bool write;
} run_pending;

typedef struct run_read {
    uint64_t ctx;
    uint32_t client;
    uint64_t attempt;
    fl_buf key;
} run_read;

/* A proposal of a pipelined connection's command, at the node that proposed it (the
 * connection's node, or the leader it forwarded to): answered when applied. */
typedef struct run_ppend {
    fl_index index;
    fl_term term;
    uint32_t client;
    uint64_t conn, no, attempt; /* which command (pipe_conn.id, pipe_op.no, its attempt) */
    fl_node_id origin;          /* the connection's node */
    bool write;
} run_ppend;

/* A ReadIndex read of a pipelined connection's command, at the connection's node. */
typedef struct run_pread {
    uint64_t ctx;
    uint32_t client;
    uint64_t conn, no, attempt;
} run_pread;

typedef struct run_node {
    fl_kv kv;
    bool kv_up;
    uint64_t lives;   /* starts: each life's kv gets a hash seed of its own */
    run_ppend *ppend; /* pipelined connections: proposals waiting to be applied */
    size_t n_ppend, cap_ppend;
    run_pread *preads; /* ... and their ReadIndex reads waiting for the core's decision */
    size_t n_preads, cap_preads;
    run_pending *pending;
    size_t n_pending, cap_pending;
    run_read *reads; /* ReadIndex reads waiting for the core's decision */
    size_t n_reads, cap_reads;
    bool leader; /* as last recorded in the role timeline */
    fl_term term;
    bool tl_seen; /* the node timeline (fl_run_result.timeline) has its role: */
    uint8_t tl_role;
    fl_term tl_term;
    fl_time_ns leader_since;
} run_node;

typedef struct run run;
typedef struct run_kvcheck run_kvcheck;

/* ---- pipelining (--pipeline N > 1; run_pipe.c, run_pnode.c) ------------------------------ */

/* The node's end of one command of a connection (a ring slot): the server's op states
 * (server_ops.c), kept by the simulator for the node. */
typedef enum pipe_state {
    PIPE_FREE = 0,
    PIPE_HELD,     /* behind an earlier ReadIndex read of the connection (kv_order.h) */
    PIPE_WAIT,     /* waiting for a leader to be known */
    PIPE_FWD,      /* forwarded to the leader, until its answer or attempt_deadline */
    PIPE_PROPOSED, /* proposed here, until applied */
    PIPE_READING,  /* a ReadIndex read, until the core decides it */
    PIPE_DECIDED,  /* a confirmed read, served when the connection's turn comes */
    PIPE_DONE,     /* answered: the answer goes once every earlier one went */
} pipe_state;

#define PIPE_TIMEOUT   255 /* an answer's status: the node gave up (outcome unknown) */
#define PIPE_NO_LEADER 254 /* ... no leader to send it to, and it never went anywhere */

typedef struct pipe_op {
    uint8_t state;    /* pipe_state */
    uint8_t route;    /* fl_kv_route; 0 until routed */
    bool read;        /* changes nothing (fl_kv_op_is_read) */
    bool may_index;   /* ... and a node may serve it by ReadIndex (fl_kv_order_by_index) */
    uint64_t no;      /* its place on the connection: 1, 2, ... */
    uint64_t attempt; /* every submission bumps it: answers to an older one are ignored */
    bool went;        /* it went down a path once (proposed, forwarded, read registered) */
    fl_buf cmd;       /* the kv command (session stamped once routed to the log) */
    fl_time_ns arrived_ns, deadline, attempt_deadline;
    uint8_t status; /* the answer: fl_kv_status or PIPE_TIMEOUT */
    bool has_value;
    fl_buf value;
} pipe_op;

/* The client's end of one op sent on the connection and not yet answered. */
typedef struct pipe_call {
    uint8_t f; /* fl_op_f */
    uint32_t key_id;
    fl_value v1, v2;
    bool pair, read;
    fl_time_ns invoked_ns;
    bool side; /* a command on the redis workload's own keys: not in the history */
} pipe_call;

/* One client connection: both ends, driver memory. The node's end (program order, session,
 * commands) is the server's per-connection state; it is dropped when the node crashes or the
 * client gives up on the connection, and the client then connects again (a new id, a new
 * process in the history). Requests and answers each keep their order, as TCP does. */
typedef struct pipe_conn {
    uint64_t id;     /* unique in the run; the kv session's client id too; 0 = none */
    int64_t process; /* in the history: one per connection */
    fl_node_id node;
    bool open; /* the node's end exists */
    /* client's end */
    uint64_t sent, answered;   /* ops sent, ops answered */
    pipe_call *calls;          /* ring of depth, by op number */
    fl_time_ns up_at, down_at; /* the last request's, the last answer's arrival */
    bool draining;             /* send nothing more; connect again once all is answered */
    /* node's end */
    fl_kv_order order;
    uint64_t seq;     /* the session's last seq handed out */
    uint64_t arrived; /* requests that arrived */
    uint64_t head;    /* the oldest command not answered yet */
    pipe_op *ops;     /* ring of depth, by op number */
    bool kick;        /* a kick is scheduled (run_pnode.c) */
} pipe_conn;

#define RUN_LANES_MAX 9

/* One schedule of faults: on for an interval, off as long. A named nemesis runs in one lane
 * (mix draws its kind each time from the run's stream, as it always did); a fault plan runs
 * one lane per kind of thing its faults touch, each lane on a random stream of its own. */
typedef struct run_lane {
    run *rn;
    fl_rng *rng; /* &own */
    fl_rng own;
    uint32_t plan; /* bit i: cfg->faults[i] belongs to this lane (0: the named nemesis) */
    size_t spec;   /* the current fault in res->schedule (an explicit schedule: its index) */
    bool on;
    fl_time_ns start_ns;
    fl_time_ns interval_ns;              /* of the current fault */
    fl_nemesis kind;                     /* of the current fault */
    fl_node_id nodes[FL_RAFT_NODES_MAX]; /* crashed or paused by the current fault */
    uint32_t n;
    char targets[FL_OBSERVE_TARGETS_SIZE]; /* whom the current fault hit, for the report */
} run_lane;

typedef struct run_client {
    run *rn;
    uint32_t idx;
    bool record; /* false for the liveness probe: not part of the history */
    int64_t process;
    uint64_t client_id;
    uint64_t seq;
    bool busy;
    uint8_t f; /* fl_op_f of the current op */
    uint32_t key_id;
    fl_value v1, v2; /* the invocation's value (and cas's new value) */
    bool pair;
    fl_buf cmd; /* the current op's encoded kv command (time stamped by the leader) */
    fl_node_id leader_hint;
    uint64_t seen; /* the highest log index its answers reflected (sticky reads) */
    uint64_t attempt;
    fl_time_ns op_start_ns;
    fl_workload gen;
    fl_rng rng;
    uint64_t ops_done;
    fl_workload_side side; /* the redis workload's commands on keys of their own */
    bool side_op;          /* the current op is one of those: not in the history */
    pipe_conn pc;          /* --pipeline > 1 */
} run_client;

struct run {
    const fl_run_config *cfg;
    fl_run_result *res;
    fl_sim *sim;
    fl_cons_sim cs;
    fl_rng rng; /* driver decisions: nemesis, routing */
    run_node nodes[FL_RAFT_NODES_MAX + 1];
    run_client *clients;
    uint32_t n_clients;
    fl_buf scratch;
    size_t roles_cap, services_cap, faults_cap;
    uint64_t read_ctx_next;
    struct cmsg *msgs;  /* client <-> node messages in flight (run_client.c) */
    struct pmsg *pmsgs; /* pipelined connections' messages in flight (run_pipe.c) */
    uint64_t conn_next; /* connections made */
    run_kvcheck *kvc;   /* the replicas' kv judged (run_kvcheck.c) */
    /* the last arrival of a forwarding message from node a to node b: they keep their order */
    fl_time_ns peer_at[FL_RAFT_NODES_MAX + 1][FL_RAFT_NODES_MAX + 1];
    /* nemesis: one lane for a named nemesis, one per kind of thing touched for a plan (in
     * lane_buf), one per fault of an explicit schedule (allocated) */
    run_lane lane_buf[RUN_LANES_MAX];
    run_lane *lanes;
    uint32_t n_lanes;
    size_t schedule_cap;
    struct run_sched_ev *sched; /* an explicit schedule's starts and ends, in order */
    size_t n_sched, sched_next;
    struct run_restart {
        run *rn;
        fl_node_id id;
        fl_time_ns back; /* the fault's restart delay */
        bool again;      /* crashed in a storage window: crash once more after the restart */
    } restart[FL_RAFT_NODES_MAX + 1]; /* crash-unsynced: the pending restart of node id */
    /* leader-churn: its own random stream (the other nemeses' draws stay as they were) and
     * one pending crash or restart per node */
    fl_rng churn_rng;
    struct run_churn {
        run *rn;
        fl_node_id id;
        bool pending;
    } churn[FL_RAFT_NODES_MAX + 1];
    uint32_t churn_cut; /* bit id: node id is cut off from every other node */
    fl_rng member_rng;  /* membership churn draws, apart from the other nemesis draws */
    fl_raft_churn_stats member_churn;
    /* nemesis flp: the adversary and Raft's oracle (run_flp.c) */
    fl_flp flp;
    fl_flp_raft flp_raft;
    /* partition-sides: the minority side now (bit id; 0 = no such partition) */
    uint32_t minority_side;
    /* heal and liveness */
    bool healed;
    fl_time_ns heal_ns;
    bool stopping; /* clients start no new operations */
    bool done;     /* results collected: the nodes are being torn down */
    run_client live_client;
};

/* run.c */
void fl__run_role(run *rn, fl_node_id id, bool leader, fl_term term);
void fl__run_service(run *rn, fl_node_id id, fl_term term, bool write);
/* sync_inline: node id is held for its sync, or what waited meanwhile still runs: the
 * request or the node's own work (a driver event) waits its turn in the node's queue, as a
 * node call fn(node, arg) (node NULL: it crashed meanwhile). True when it was queued; fn must
 * not ask again. */
bool fl__run_wait_turn(run *rn, fl_node_id id, fl_sim_node_fn fn, void *arg);
/* Records a crash, restart, pause or resume of node id in the node timeline. */
void fl__run_node_event(run *rn, fl_node_id id, fl_tl_kind kind);

/* run_client.c */
int fl__clients_init(run *rn);
void fl__clients_free(run *rn);
void fl__clients_free_msgs(run *rn); /* those still scheduled when the run ends */
void fl__clients_start(run *rn);
/* A node applied entry index (term) with result res: answer the client waiting on it. */
void fl__clients_applied(run *rn, fl_node_id id, fl_index index, fl_term term,
                         const fl_kv_result *res);
void fl__client_liveness_start(run *rn);
/* The core decided ReadIndex reads: answer them from the node's kv (or say "lost"). */
void fl__clients_reads(run *rn, fl_node_id id, const fl_cons_read *reads, size_t n);
void fl__clients_drop_reads(run_node *n);

/* The history's description of a workload op (run_client.c). */
typedef struct run_opdesc {
    uint8_t f; /* fl_op_f */
    uint32_t key_id;
    fl_value v1, v2;
    bool pair;
} run_opdesc;
void fl__client_describe(run *rn, const fl_workload_op *op, run_opdesc *d);
/* A value as the history records it (an integer for the register workload). */
fl_value fl__client_value(run *rn, const uint8_t *p, size_t len);
/* The mean network hop to or from a client. */
fl_time_ns fl__client_hop(run *rn);
/* The redis workload: whether the client's next op is a command on keys of its own. */
bool fl__client_side_next(run *rn, run_client *c);

/* run_pipe.c: the pipelining clients (their ends of the connections) and the messages of
 * connections (client <-> node, in order) and of forwarding (node <-> node, through the
 * simulated partitions) */
typedef enum pmsg_kind {
    PM_REQ,    /* client -> node: a command */
    PM_ANS,    /* node -> client: the answer to the oldest command not answered */
    PM_RESET,  /* node -> client: the connection is gone (the node crashed) */
    PM_FWD,    /* node -> leader: propose this command for me */
    PM_NACK,   /* leader -> node: not the leader (any more) */
    PM_RESULT, /* leader -> node: applied in the term it was proposed in: the result */
    PM_LOST,   /* leader -> node: another entry took its index: route it again */
} pmsg_kind;

typedef struct pmsg {
    run *rn;
    struct pmsg *prev, *next; /* every live message, so the end of a run frees the unsent */
    uint8_t kind;             /* pmsg_kind */
    uint32_t client;
    uint64_t conn, no, attempt; /* the command's connection, number and attempt */
    fl_node_id from, to;
    uint8_t status; /* PM_ANS, PM_RESULT: fl_kv_status or PIPE_TIMEOUT */
    bool has_value;
    bool write;      /* PM_FWD */
    fl_node_id hint; /* PM_ANS: the leader the node knows */
    fl_index index;  /* PM_RESULT: the entry's index and term */
    fl_term term;
    size_t len;
    uint8_t bytes[]; /* the command, or the value */
} pmsg;

pmsg *fl__pmsg_new(run *rn, pmsg_kind kind, uint32_t client, uint64_t conn, size_t len);
/* Delivers m at time at (node <-> node: only if the link is up then and now). */
void fl__pmsg_send(run *rn, pmsg *m, fl_time_ns at);
/* Node a can send to node b now (link up, same partition group). */
bool fl__pmsg_reach(run *rn, fl_node_id a, fl_node_id b);

int fl__pipe_init(run *rn);  /* rings for every client */
void fl__pipe_free(run *rn); /* the rings, and the messages still scheduled */
void fl__pipe_start(run *rn);
/* Open loop: start one op on a client with room; false if it has none. */
bool fl__pipe_try_start(run *rn, run_client *c);
/* The node's end answers op (the oldest not answered), through the connection. */
void fl__pipe_answer(run *rn, run_client *c, const pipe_op *op);
/* The node's end is gone (crash): the client hears a reset, after what was already sent. */
void fl__pipe_reset(run *rn, run_client *c);

/* run_pnode.c: the node's end of the connections (the server's rules: kv_order.h) */
void fl__pnode_request(run *rn, const pmsg *m);
void fl__pnode_peer(run *rn, const pmsg *m); /* PM_FWD, PM_NACK, PM_RESULT, PM_LOST */
void fl__pnode_applied(run *rn, fl_node_id id, fl_index index, fl_term term,
                       const fl_kv_result *res);
void fl__pnode_reads(run *rn, fl_node_id id, const fl_cons_read *reads, size_t n);
void fl__pnode_restored(run *rn, fl_node_id id, fl_index index);
void fl__pnode_down(run *rn, fl_node_id id); /* crashed: its connections are reset */
void fl__pnode_close(run_client *c);         /* drop the node's end */
void fl__pnode_housekeep(run *rn, run_client *c);

/* run_kvcheck.c: the replicas' kv judged (run.h) */
int fl__kvcheck_init(run *rn); /* after the sim exists: registers the check */
void fl__kvcheck_free(run *rn);
/* The kv configuration of node id's next life (its own hash seed, the planted bugs). */
void fl__kvcheck_config(run *rn, fl_node_id id, fl_kv_config *cfg);
void fl__kvcheck_applied(run *rn, fl_node_id id, fl_index index);
void fl__kvcheck_snapshot(run *rn, fl_node_id id, const uint8_t *bytes, size_t len);
void fl__kvcheck_restored(run *rn, fl_node_id id, fl_index index);

/* run_nemesis.c */
bool fl__nemesis_churns(const fl_run_config *c); /* the cluster starts with spares outside */
void fl__nemesis_start(run *rn);
void fl__nemesis_heal_all(run *rn);
void fl__nemesis_free(run *rn);
/* Records the faults still on (the run stopped before its heal) as ending now. */
void fl__nemesis_record_open(run *rn);
/* Starts fault *sp in lane l (l->spec is its index in res->schedule), choosing what sp leaves
 * open from l->rng and filling it in. */
void fl__fault_start(run_lane *l, fl_run_fault_spec *sp);
/* Ends lane l's current fault and records its interval for the report. */
void fl__fault_end(run_lane *l);

/* run_schedule.c: an explicit schedule (fl_run_config.schedule). Returns 0 or FL_ENOMEM. */
int fl__schedule_start(run *rn);
/* Node id just became leader (leader-churn reacts to it). */
void fl__nemesis_new_leader(run *rn, fl_node_id id);
/* partition-sides: client (index) cannot reach node, nor hear from it: they are on opposite
 * sides (clients sit beside their home node). */
bool fl__nemesis_client_cut(const run *rn, uint32_t client, fl_node_id node);

/* run_flp.c */
/* nemesis flp: starts the adversary with Raft's oracle; GST at cfg->gst_ns (or the heal). */
void fl__flp_start(run *rn);
/* The heal: GST now if it has not come. */
void fl__flp_heal(run *rn);

#endif
