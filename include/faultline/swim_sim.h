/* swim_sim.h: the SWIM core hosted in the simulator (fl_sim_proto), the way raft_sim.h hosts
 * Raft: packets travel as sim messages, the core's deadline is the node's one timer, its
 * random stream is the node's sim stream, and membership changes and user deliveries are
 * reported to the driver through hooks with the virtual time at which they happened.
 *
 * Every node starts knowing members 1..nodes alive (a static cluster); a restarted node starts
 * over from that list with incarnation 0 and learns the truth (and refutes stale rumours about
 * itself) from the others. STATE messages (push-pull) travel as sim messages too, as large as
 * the core makes them.
 *
 * Join mode (join_seeds > 0): a node starts knowing only itself, with members 1..join_seeds as
 * seeds (it joins through them, as `faultline gossip --join` does), and the host models the
 * agent's address table: a node can send only to the members whose address it learned, the
 * way the agent learns them (seeds; the sender of every packet; members named in ALIVE_AT items
 * and STATE entries with an address); a send to any other is dropped and counted (no_address),
 * and a member the core adds while the host already knows its address is reported to the core
 * (FL_SWIM_EV_ADDRESS). */
#ifndef FAULTLINE_SWIM_SIM_H
#define FAULTLINE_SWIM_SIM_H

#include "faultline/sim.h"
#include "faultline/swim.h"

typedef struct fl_swim_sim_hooks {
    void *arg;
    /* observer's view of member c->id changed at virtual time now_ns */
    void (*changed)(void *arg, fl_node_id observer, const fl_swim_change *c, fl_time_ns now_ns);
    /* observer received a user broadcast */
    void (*delivered)(void *arg, fl_node_id observer, const fl_swim_delivery *d, fl_time_ns now_ns);
} fl_swim_sim_hooks;

typedef struct fl_swim_sim {
    fl_swim_config swim; /* template: id, initial set per node */
    uint32_t nodes;
    fl_node_id *ids; /* 1..nodes, every node's initial member list */
    fl_swim_sim_hooks hooks;
    bool check_invariants;    /* fl_swim_invariants after every step (O(N) each: small runs) */
    fl_sim *sim;              /* set by the first start */
    fl_swim_stats crashed;    /* counters of node incarnations that crashed (summed) */
    fl_time_ns *lag_ns;       /* per node (index id): receive-path lag, 0 = none */
    struct ss_lagged *lagged; /* packets waiting out a lag (freed at fl_swim_sim_free) */
    uint32_t join_seeds;      /* join mode: members 1..join_seeds are the seeds (0: static) */
    uint64_t no_address;      /* join mode: sends dropped for want of an address */
    bool addr_first_hand;     /* join mode: addresses never travel with news (see swim_host.c) */
    fl_buf scratch;           /* a message being sent with its addresses filled in */
} fl_swim_sim;

/* The protocol table; proto_ctx must be an fl_swim_sim. */
extern const fl_sim_proto fl_swim_sim_proto;

/* 0, or FL_ECONFIG with a message in why, FL_ENOMEM. hooks may be NULL. join_seeds: 0 for a
 * static cluster, else join mode through members 1..join_seeds (<= FL_SWIM_SEEDS_MAX). */
int fl_swim_sim_init(fl_swim_sim *ss, const fl_swim_config *tmpl, uint32_t nodes,
                     uint32_t join_seeds, const fl_swim_sim_hooks *hooks, char *why,
                     size_t why_size);
void fl_swim_sim_free(fl_swim_sim *ss);

/* The core of a running node (NULL when down). For observers: read-only. */
const fl_swim *fl_swim_sim_core(const fl_sim *sim, fl_node_id id);
/* Sums every node's counters (running ones and those lost in crashes). */
void fl_swim_sim_totals(const fl_swim_sim *ss, const fl_sim *sim, fl_swim_stats *out);

/* A slow member (CPU-starved receive path, as in the Lifeguard paper's experiments): packets it
 * receives are handed to its core lag_ns later, while its timer stays on time, so its own
 * probes time out although the acks arrived. 0 makes it normal again. */
int fl_swim_sim_set_lag(fl_swim_sim *ss, fl_node_id id, fl_time_ns lag_ns);

/* Driver actions, to be run inside the node (from fl_sim_schedule_node callbacks, whose node
 * argument is passed here): a user broadcast, or a graceful leave. */
int fl_swim_sim_broadcast(void *node, const void *data, size_t len);
int fl_swim_sim_leave(void *node);

#endif
