/* cons_sim.h: hosts a consensus core (Raft or Multi-Paxos) in the simulator (sim.h) through
 * the protocol table: one node glue for both, over the one host (host.h) the server runs too.
 *
 * Each simulated node is the host over the node's simulated disk (fl_sim_disk_fs), so the
 * WAL, the snapshot file and their recovery are the server's code under the simulator's disk
 * faults (lost, torn or reordered unsynced writes, corrupt records, failed or lying syncs) and
 * crashes. Messages go through the core's wire codec onto the simulated network; a failed
 * write or sync stops the node; a start that finds damage it must not repair (a bad record
 * followed by good ones, a damaged snapshot file) is refused with the message naming file and
 * offset. After every step the protocol's cluster-wide safety checker (raft_check.h or
 * paxos_check.h) and the node's own invariants run; a violation stops the simulation.
 *
 * Durability floor: after every step the glue records what the node was told is durable
 * (Raft: term, vote, the log up to its durable index; Paxos: the promised ballot, and the
 * checker's mirror of its durable acceptances); at the next start the recovered state must
 * not be below it, unless a sync lied or a record was corrupted in between
 * (fl_sim_disk_untrusted).
 *
 * Snapshots (snapshot_every > 0): whenever a node has applied snapshot_every entries past its
 * last snapshot, the host snapshots its state machine (the snapshot hook, or a stand-in),
 * tells the core, and writes the store's snapshot file; WAL segments behind it are deleted
 * (segment_bytes each). A received snapshot is written the same way. At a start the snapshot
 * file is restored, then the WAL records after it.
 *
 * The state machine's bytes come as the server's do (host.h's env.snapshot_start): the glue
 * serializes the state at the applied index the host names (what the server's forked child
 * sees: the copy-on-write image of that moment) and hands the bytes back through
 * fl_host_snapshot_done only after a delay drawn from a stream of its own (a few ms to half a
 * second of virtual time), while the node goes on appending, applying and installing; a
 * crash meanwhile loses the job, as a killed child's. snapshot_sync: the old way, at once,
 * within the step (env.snapshot). A node told to (fl_cons_sim_hang_snapshot: the fork-hang
 * fault) gets a job that never ends, as a child hung on a lock inherited across fork; the
 * host's watchdog (host.h snapshot_timeout_ns, snapshot_timeout_ns here) gives it up through
 * env.snapshot_cancel, as the server's kills its child.
 *
 * The host's snapshot bytes wrap the state machine's: magic u32 "FLSN", index u64, digest u64
 * (a hash chained over every applied entry), app length u32, app bytes. The glue keeps each
 * node's applied digest; after every apply and restore it must equal the checker's chain of
 * committed (chosen) entries at that index (state machine safety across snapshots).
 *
 * sync_inline: a node syncs as the server's loop does when idle (docs/server.md, "one
 * connection's syncs on the loop's thread"). A sync due is started at the end of the node's
 * pass (a node call at the same virtual time, as the server's 0 timer), and when the host's
 * conditions hold (fl_host_sync_idle: at most one client operation in flight at the node,
 * this pass collected no worker's job, the last short job took under half a heartbeat, no
 * event waits for the node; fl_host_sync_hold: a short job, records only) the node is held
 * for the job's whole virtual duration (fl_sim_hold): messages, timers, snapshot jobs' ends
 * and the driver's requests wait and run, in order, once the job ended and its PERSISTED was
 * stepped, as the server's loop blocked in fdatasync does. A crash meanwhile loses the job as
 * a crash during a worker's job does. Off (default): every job as the worker's, the node
 * serving meanwhile.
 *
 * Raft-only features (membership changes, leadership transfer, reads at followers) are in
 * raft_sim.h; asked of a Paxos cluster they are refused with FL_EUNSUPPORTED. */
#ifndef FAULTLINE_CONS_SIM_H
#define FAULTLINE_CONS_SIM_H

#include "faultline/cons.h"
#include "faultline/paxos_check.h"
#include "faultline/raft_check.h"
#include "faultline/sim.h"

typedef struct fl_cons_sim_hooks {
    void *arg;
    /* After every step of node id (after the checks): c is its core, up the step's update. */
    void (*on_step)(void *arg, fl_node_id id, const fl_cons_core *c, const fl_cons_update *up);
    /* Node id started (c is its recovered core) or stopped (crash, exit, end). */
    void (*on_start)(void *arg, fl_node_id id, const fl_cons_core *c);
    void (*on_stop)(void *arg, fl_node_id id);
    /* The node's state machine as bytes (appended to out), and back: restore replaces it by
     * the bytes of a snapshot of the given index. Both NULL: a stand-in state (filler bytes). */
    int (*snapshot)(void *arg, fl_node_id id, fl_buf *out);
    int (*restore)(void *arg, fl_node_id id, fl_index index, const uint8_t *bytes, size_t len);
    /* Client operations in flight at node id (sync_inline: the server's n_ops). NULL: none. */
    uint32_t (*ops_in_flight)(void *arg, fl_node_id id);
} fl_cons_sim_hooks;

typedef struct fl_cons_sim_stats {
    uint64_t steps;
    uint64_t decode_errors;        /* messages the wire codec refused */
    uint64_t rejected_msgs;        /* messages the core refused (FL_EINVAL) */
    uint64_t fsync_failures;       /* nodes stopped by a failed write or sync */
    uint64_t torn_discarded;       /* starts that cut a torn WAL tail */
    uint64_t corrupt_refused;      /* starts refused (damage recovery must not repair) */
    uint64_t elections;            /* Raft elections, Paxos ballots: summed over nodes, lives */
    uint64_t snapshots_taken;      /* the state machine serialized for a local snapshot */
    uint64_t snapshot_jobs;        /* of those, handed back later (env.snapshot_start) */
    uint64_t snapshot_jobs_lost;   /* jobs whose node crashed or stopped before they ended */
    uint64_t snapshot_chunks_sent; /* snapshot messages sent */
    uint64_t snapshots_installed;  /* received snapshots made durable on a follower */
    uint64_t snapshot_restores;    /* state machines replaced by a snapshot (install or start) */
    uint64_t compactions;          /* WAL segments deleted behind a snapshot file */
    uint64_t syncs_inline;         /* sync jobs the node was held for (sync_inline) */
    /* fork-hang and the watchdog: jobs that never end (fl_cons_sim_hang_snapshot), jobs the
     * hosts' watchdog gave up (env.snapshot_cancel), and snapshots a node took after its
     * watchdog gave one up, in the same life (the recovery) */
    uint64_t snapshot_jobs_hung, snapshot_timeouts, snapshots_after_timeout;
    /* steps of a node while held: a driver's call straight into it (a membership change or
     * a leadership transfer the nemesis asks), which no hold stops; 0 for the rest */
    uint64_t steps_held;
    /* Raft membership, counted once per log index as the first node applies it */
    uint64_t joint_committed;   /* C(old,new) entries committed */
    uint64_t config_committed;  /* C(new) (non-joint) entries committed */
    uint64_t removed_stepdowns; /* leaders that stepped down because C(new) removed them */
    uint64_t joint_elections;   /* leaders elected while their configuration was joint */
} fl_cons_sim_stats;

typedef struct fl_cons_sim {
    fl_cons_config core; /* template: ids, members and seeds are filled per node */
    const void *checks;  /* the protocol's checks (cons_sim.c) */
    uint32_t nodes;
    /* Raft: the bootstrap voters are nodes 1..voters (default: all). Nodes above start empty
     * and outside the configuration (joining), waiting to be added as learners. Set it
     * before the nodes start. Paxos: every node is a member. */
    uint32_t voters;
    fl_index conf_applied; /* Raft: the highest CONFIG entry index any node applied */
    fl_cons_sim_hooks hooks;
    fl_raft_checker checker;        /* protocol raft */
    fl_paxos_checker paxos_checker; /* protocol paxos */
    /* Paxos: the chain of chosen values (the applied digest's counterpart of
     * fl_raft_checker_committed_chain): chosen_chain[i] covers slots 1..i */
    uint64_t *chosen_chain;
    size_t chosen_chain_len, chosen_chain_cap;
    bool check;              /* run the safety checker (default true) */
    uint32_t snapshot_every; /* applied entries between snapshots; 0 = never (default) */
    /* node i of nodes snapshots at its own phase, i-1 of nodes parts into the interval
     * (host.h's snapshot_phase_on), as the server's members do; false (default): all at once */
    bool snapshot_phases;
    /* the state machine's bytes taken within the step (env.snapshot); false (default): later,
     * as the server's forked child hands them back (env.snapshot_start, see the top) */
    bool snapshot_sync;
    fl_rng snapshot_rng;       /* the jobs' delays (seeded from the simulator's seed) */
    uint64_t snapshot_job_seq; /* the last job's token */
    uint32_t snapshot_filler;  /* stand-in state size in bytes when there is no snapshot hook */
    bool sync_eager;           /* hosts sync every append at once (host.h); false: as a server */
    bool sync_inline;          /* short syncs of an idle node hold it (see the top) */
    uint64_t soon_seq;         /* sync_inline: the last end-of-pass call's token */
    uint64_t segment_bytes;    /* WAL segment size (default 256 KiB) */
    fl_buf violation;          /* the first violation found, "" if none */
    /* the hosts' snapshot watchdog (host.h; default FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT, as the
     * server's): no job ends that late in a world without fork-hang, so it changes nothing
     * there; 0: off */
    fl_time_ns snapshot_timeout_ns;
    fl_cons_sim_stats stats;
    /* per node id: what its last life was told is durable (see the top) */
    struct fl_cons_sim_floor {
        bool set;
        fl_term term; /* Raft term, Paxos promise */
        fl_node_id vote;
        fl_index index; /* Raft */
        fl_term index_term;
        uint64_t untrusted; /* fl_sim_disk_untrusted when recorded */
    } floor[FL_RAFT_NODES_MAX + 1];
} fl_cons_sim;

/* Initializes for a cluster of nodes 1..nodes running core's protocol with core's
 * configuration as the template (its id, members and seed are ignored). Returns 0,
 * FL_ECONFIG (reason in why) or FL_ENOMEM. */
int fl_cons_sim_init(fl_cons_sim *cs, const fl_cons_config *core, uint32_t nodes,
                     const fl_cons_sim_hooks *hooks, char *why, size_t why_size);
void fl_cons_sim_free(fl_cons_sim *cs);
/* The usual way in: initializes cs for sc->nodes nodes, points sc at the protocol table,
 * creates the simulator into *out and attaches the checks. The caller fills sc's models
 * (seed, links, disk) first and frees with fl_sim_destroy then fl_cons_sim_free. Returns 0,
 * FL_ECONFIG (reason in why) or another error of fl_sim_create. */
int fl_cons_sim_create(fl_cons_sim *cs, const fl_cons_config *core, const fl_cons_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size);
/* The protocol table; pass cs as the sim config's proto_ctx. */
const fl_sim_proto *fl_cons_sim_proto(void);
/* Registers the violation check with sim (call once after fl_sim_create). */
int fl_cons_sim_attach(fl_cons_sim *cs, fl_sim *sim);

/* The node's core, or NULL when it is down. */
const fl_cons_core *fl_cons_sim_core(const fl_sim *sim, fl_node_id id);
/* The node's status; false (and *st untouched) when it is down. */
bool fl_cons_sim_status(const fl_sim *sim, fl_node_id id, fl_cons_status *st);
/* Events asked of node id from a driver callback. Each returns what the core returns
 * (FL_ENOTLEADER...), FL_EUNSUPPORTED for an event the protocol does not have, or
 * FL_ESTOPPED if the node is not up. */
int fl_cons_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len, fl_index *index,
                        fl_term *term);
/* A linearizable read, decided later in an update's reads (see the on_step hook). */
int fl_cons_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx);
int fl_cons_sim_step(fl_sim *sim, fl_node_id id, fl_cons_event *ev);
/* The node's next snapshot job never ends (its child hangs: the fork-hang fault), until its
 * host's watchdog gives it up or the node stops. FL_ESTOPPED when the node is down. */
int fl_cons_sim_hang_snapshot(fl_sim *sim, fl_node_id id);
/* The node that leads at the highest term (Raft) or ballot (Paxos) among live nodes, 0 if
 * none. */
fl_node_id fl_cons_sim_leader(const fl_sim *sim);

#endif
