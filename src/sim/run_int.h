/* run_int.h: the state of one simulated kv run, shared by run.c (setup, nodes, results),
 * run_client.c (clients and the history) and run_nemesis.c (fault schedules). */
#ifndef FL_RUN_INT_H
#define FL_RUN_INT_H

#include "faultline/array.h"
#include "faultline/flp.h"
#include "faultline/kv.h"
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

typedef struct run_node {
    fl_kv kv;
    bool kv_up;
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

#define RUN_LANES_MAX 8

/* One schedule of faults: on for an interval, off as long. A named nemesis runs in one lane
 * (mix draws its kind each time from the run's stream, as it always did); a fault plan runs
 * one lane per kind of thing its faults touch, each lane on a random stream of its own. */
typedef struct run_lane {
    run *rn;
    fl_rng *rng; /* &own for a plan's lane, else the run's stream */
    fl_rng own;
    uint32_t plan; /* bit i: cfg->faults[i] belongs to this lane (0: the named nemesis) */
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
    struct cmsg *msgs; /* client <-> node messages in flight (run_client.c) */
    /* nemesis: one lane for a named nemesis, one per kind of thing touched for a plan */
    run_lane lanes[RUN_LANES_MAX];
    uint32_t n_lanes;
    struct run_restart {
        run *rn;
        fl_node_id id;
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

/* run_nemesis.c */
bool fl__nemesis_churns(const fl_run_config *c); /* the cluster starts with spares outside */
void fl__nemesis_start(run *rn);
void fl__nemesis_heal_all(run *rn);
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
