/* raft_chaos.h: one randomized fault-injection run of a simulated Raft cluster, the unit of
 * the foundation campaign: random partitions (halves, random halves, isolate one node,
 * isolate the leader, majorities ring, bridge, one-way), crashes with torn writes, restarts,
 * pauses, message loss, duplication and reordering, under a steady stream of proposals; then
 * every fault heals and the cluster must commit a new entry within a bound (liveness).
 * Safety is checked after every event (raft_check.h); everything derives from the seed. */
#ifndef FAULTLINE_RAFT_CHAOS_H
#define FAULTLINE_RAFT_CHAOS_H

#include "faultline/raft.h"
#include "faultline/sim.h"

typedef struct fl_chaos_config {
    uint64_t seed;
    uint32_t nodes;          /* 1..FL_RAFT_NODES_MAX */
    fl_time_ns duration_ns;  /* faults happen in [0, duration) */
    fl_time_ns liveness_ns;  /* after the heal, a new entry must commit within this */
    fl_time_ns fault_gap_ns; /* mean time between nemesis actions */
    double proposals_per_s;
    double loss, dup, reorder; /* maxima: each fault window draws up to these */
    bool partitions, crashes, pauses, torn, slow_disks;
    /* Swarm testing: each seed also draws its own protocol parameters (batch size, in-flight
     * window, pre-vote, check-quorum, proposal rate, disk latency), so a campaign covers
     * many configurations rather than one. */
    bool swarm;
    /* Membership churn: the cluster starts with nodes - spares voters (spares = 2 from 5
     * nodes, else 1; the spares start empty, outside) and a membership nemesis of its own
     * random stream (raft_churn.c) adds learners, promotes, removes (the leader too) and
     * replaces voters alongside the other faults. Off: the run is exactly as without it. */
    bool churn;
    uint32_t mutants; /* fl_raft_mutant bits */
    /* Snapshots: every node snapshots a stand-in state (1 KiB) every snapshot_every applied
     * entries and compacts its log; chunks are small (256 bytes) so InstallSnapshot takes
     * several round trips; the trailing entries kept are drawn per seed from a separate
     * random stream (the nemesis draws are the same as without snapshots). 0 = off. */
    uint32_t snapshot_every;
    bool snapshot_sync; /* serialized within the step (default: later, as the server forks) */
    bool sync_eager;    /* leaders sync at every append (host.h), as before issue 16's round 6 */
    /* an idle node's short sync holds it, as the server's loop (cons_sim.h sync_inline); the
     * proposals wait for a held leader, membership changes do not */
    bool sync_inline;
    bool verbose; /* print nemesis actions */
} fl_chaos_config;

typedef struct fl_chaos_result {
    bool violation;
    char reason[256];
    uint64_t event;
    fl_time_ns violation_time_ns;
    bool live;             /* a new entry committed after the heal, within liveness_ns */
    fl_time_ns recover_ns; /* heal -> that commit */
    uint64_t trace_hash;
    uint64_t proposals, committed;
    uint64_t nemesis_actions;
    fl_sim_stats sim;
    uint64_t elections;
    /* membership (churn) */
    uint64_t churn_asked, churn_refused;
    uint64_t joint_committed, config_committed; /* C(old,new) and C(new) entries committed */
    uint64_t removed_stepdowns;                 /* leaders that left after C(new) committed */
    uint64_t joint_elections;                   /* leaders elected while joint */
    uint64_t snapshots_taken, snapshot_chunks_sent, snapshots_installed, snapshot_restores;
    uint64_t snapshot_jobs, snapshot_jobs_lost; /* handed back later; lost in crashes */
    uint64_t syncs_inline;                      /* sync_inline: jobs a node was held for */
    /* the trace tail (sim.h) at a violation or when not live: the last events, each node's state */
    char trace_tail[FL_SIM_TRACE_TAIL_MAX(FL_RAFT_NODES_MAX)];
} fl_chaos_result;

/* Defaults: 3 nodes, 10 s of faults, 5 s liveness bound, a nemesis action every 400 ms on
 * average, 50 proposals/s, loss up to 10%, duplication up to 5%, reordering up to 10%,
 * all fault kinds on, torn writes on, swarm on. */
void fl_chaos_config_default(fl_chaos_config *c);
/* Runs one seed. Returns 0 (see result), or an error for a bad configuration. */
int fl_chaos_run(const fl_chaos_config *c, fl_chaos_result *out);
/* The command line that reproduces a run. */
void fl_chaos_repro(const fl_chaos_config *c, char *out, size_t out_size);

#endif
