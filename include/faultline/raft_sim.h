/* raft_sim.h: hosts the Raft core in the simulator (sim.h) through the protocol table.
 *
 * Each simulated node is the one Raft host (raft_host.h) that the server runs too: its store
 * is the node's simulated disk (fl_sim_disk_fs), so the WAL, the snapshot file and their
 * recovery are the server's code under the simulator's disk faults (lost, torn or reordered
 * unsynced writes, corrupt records, failed or lying syncs) and crashes. Messages go through the
 * wire codec onto the simulated network; a failed write or sync stops the node; a start that
 * finds damage it must not repair (a bad record followed by good ones, a damaged snapshot
 * file) is refused with the message naming file and offset. After every step the cluster-wide
 * safety checker (raft_check.h) and the node's own invariants run; a violation stops the
 * simulation.
 *
 * Durability floor: after every step the host records what the node was told is durable
 * (hard state, the log up to its durable index; a cut of the log lowers it at once); at the next
 * start the recovered state must not be below it (term and vote never go back, no synced entry
 * missing unless a snapshot covers it), unless a sync lied or a record was corrupted in between
 * (fl_sim_disk_untrusted).
 *
 * Snapshots (snapshot_every > 0): whenever a node has applied snapshot_every entries past its
 * last snapshot, the host snapshots its state machine (the snapshot hook, or a stand-in), tells
 * the core (FL_RAFT_EV_SNAPSHOT), and writes the store's snapshot file; WAL segments behind it
 * are deleted (segment_bytes each). An installed snapshot (InstallSnapshot) is written the
 * same way. At a start the snapshot file is restored, then the WAL records after it.
 *
 * The host's snapshot bytes wrap the state machine's: magic u32 "FLSN", index u64, digest u64
 * (fl_raft_check_entry_hash chained over every applied entry), app length u32, app bytes. The
 * host keeps each node's applied digest; after every apply and restore it must equal the
 * checker's committed chain at that index (state machine safety across snapshots). */
#ifndef FAULTLINE_RAFT_SIM_H
#define FAULTLINE_RAFT_SIM_H

#include "faultline/raft.h"
#include "faultline/raft_check.h"
#include "faultline/sim.h"

typedef struct fl_raft_sim_hooks {
    void *arg;
    /* After every step of node id (after the checks). */
    void (*on_step)(void *arg, fl_node_id id, const fl_raft *r, const fl_raft_update *up);
    /* Node id started (r is its recovered state) or stopped (crash, exit, end). */
    void (*on_start)(void *arg, fl_node_id id, const fl_raft *r);
    void (*on_stop)(void *arg, fl_node_id id);
    /* The node's state machine as bytes (appended to out), and back: restore replaces it by
     * the bytes of a snapshot of the given index. Both NULL: a stand-in state (filler bytes). */
    int (*snapshot)(void *arg, fl_node_id id, fl_buf *out);
    int (*restore)(void *arg, fl_node_id id, fl_index index, const uint8_t *bytes, size_t len);
} fl_raft_sim_hooks;

typedef struct fl_raft_sim_stats {
    uint64_t steps;
    uint64_t decode_errors;        /* messages the wire codec refused */
    uint64_t rejected_msgs;        /* messages the core refused (FL_EINVAL) */
    uint64_t fsync_failures;       /* nodes stopped by a failed write or sync */
    uint64_t torn_discarded;       /* starts that cut a torn WAL tail */
    uint64_t corrupt_refused;      /* starts refused (damage recovery must not repair) */
    uint64_t elections;            /* campaigns started, summed over nodes and lives */
    uint64_t snapshots_taken;      /* local snapshots (EV_SNAPSHOT) */
    uint64_t snapshot_chunks_sent; /* InstallSnapshot messages sent */
    uint64_t snapshots_installed;  /* InstallSnapshot made durable on a follower */
    uint64_t snapshot_restores;    /* state machines replaced by a snapshot (install or start) */
    uint64_t compactions;          /* WAL segments deleted behind a snapshot file */
    /* membership, counted once per log index as the first node applies it */
    uint64_t joint_committed;   /* C(old,new) entries committed */
    uint64_t config_committed;  /* C(new) (non-joint) entries committed */
    uint64_t removed_stepdowns; /* leaders that stepped down because C(new) removed them */
    uint64_t joint_elections;   /* leaders elected while their configuration was joint */
} fl_raft_sim_stats;

typedef struct fl_raft_sim {
    fl_raft_config raft; /* template: id, voters and seed are filled per node */
    uint32_t nodes;
    /* The bootstrap voters are nodes 1..voters (default: all). Nodes above start empty and
     * outside the configuration (joining), waiting to be added as learners. Set it before
     * the nodes start. */
    uint32_t voters;
    fl_index conf_applied; /* the highest CONFIG entry index any node applied */
    fl_raft_sim_hooks hooks;
    fl_raft_checker checker;
    bool check;               /* run the safety checker (default true) */
    uint32_t snapshot_every;  /* applied entries between snapshots; 0 = never (default) */
    uint32_t snapshot_filler; /* stand-in state size in bytes when there is no snapshot hook */
    uint64_t segment_bytes;   /* WAL segment size (default 256 KiB) */
    fl_buf violation;         /* the first violation found, "" if none */
    fl_raft_sim_stats stats;
    /* per node id: what its last life was told is durable (see the top) */
    struct fl_raft_sim_floor {
        bool set;
        fl_term term;
        fl_node_id vote;
        fl_index index;
        fl_term index_term;
        uint64_t untrusted; /* fl_sim_disk_untrusted when recorded */
    } floor[FL_RAFT_NODES_MAX + 1];
} fl_raft_sim;

/* Initializes for a cluster of nodes 1..nodes with raft as the template (its id, voters and
 * seed are ignored). Returns 0, FL_ECONFIG (reason in why) or FL_ENOMEM. */
int fl_raft_sim_init(fl_raft_sim *rs, const fl_raft_config *raft, uint32_t nodes,
                     const fl_raft_sim_hooks *hooks, char *why, size_t why_size);
void fl_raft_sim_free(fl_raft_sim *rs);
/* The usual way in: initializes rs for sc->nodes nodes with raft as the template and hooks
 * (may be NULL), points sc at the Raft protocol table, creates the simulator into *out and
 * attaches the checks. The caller fills sc's models (seed, links, disk) first and frees with
 * fl_sim_destroy then fl_raft_sim_free. Returns 0, FL_ECONFIG (reason in why) or another
 * error of fl_sim_create. */
int fl_raft_sim_create(fl_raft_sim *rs, const fl_raft_config *raft, const fl_raft_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size);
/* The protocol table; pass rs as the sim config's proto_ctx. */
const fl_sim_proto *fl_raft_sim_proto(void);
/* Registers the violation check with sim (call once after fl_sim_create). */
int fl_raft_sim_attach(fl_raft_sim *rs, fl_sim *sim);
/* The node's Raft state, or NULL when it is down. */
const fl_raft *fl_raft_sim_node(const fl_sim *sim, fl_node_id id);
/* A client command submitted at node id (from a driver callback). Returns what
 * fl_raft_step returns (FL_ENOTLEADER...), or FL_ESTOPPED if the node is not up. */
int fl_raft_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len, fl_index *index,
                        fl_term *term);
/* A ReadIndex read at node id (from a driver callback); decided later in an update's reads
 * (see the on_step hook). Returns what fl_raft_step returns, or FL_ESTOPPED. */
int fl_raft_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx);
/* Asks leader id to hand leadership to node to. Returns what fl_raft_step returns. */
int fl_raft_sim_transfer(fl_sim *sim, fl_node_id id, fl_node_id to);
/* The node that is leader in the highest term among live nodes, 0 if none. */
fl_node_id fl_raft_sim_leader(const fl_sim *sim);

/* Membership changes, asked of leader id (from a driver callback). Each returns what
 * fl_raft_step returns for the CHANGE event (FL_ENOTLEADER, FL_EBUSY while another change
 * is in flight, FL_ELAGGING for a learner not caught up, FL_EINVAL...), or FL_ESTOPPED.
 *   change   move to want's voters and learners
 *   add      node becomes a learner
 *   promote  learner node becomes a voter
 *   remove   node leaves (voter or learner)
 *   replace  voter out leaves and learner in becomes a voter, in one joint change */
int fl_raft_sim_change(fl_sim *sim, fl_node_id id, const fl_raft_conf *want);
int fl_raft_sim_add(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_promote(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_remove(fl_sim *sim, fl_node_id id, fl_node_id node);
int fl_raft_sim_replace(fl_sim *sim, fl_node_id id, fl_node_id out, fl_node_id in);

/* Membership churn (raft_churn.c): one random change asked of the current leader, with the
 * draws taken from rng (keep it apart from other nemesis streams): add an outside node as a
 * learner, promote a learner (refused while it lags), remove a voter (often the leader
 * itself, never below min_voters voters), replace a voter by a learner, or drop a learner.
 * Nothing is asked while no leader is up or a change is in flight. Writes a short
 * description of what was asked and how the leader answered to what, for verbose logs. */
typedef struct fl_raft_churn_stats {
    uint64_t asked;   /* changes the leader accepted */
    uint64_t refused; /* changes the leader refused (busy, lagging learner, ...) */
    uint64_t skipped; /* no leader, or a change in flight */
} fl_raft_churn_stats;

void fl_raft_sim_churn(fl_sim *sim, fl_rng *rng, uint32_t min_voters, fl_raft_churn_stats *st,
                       char *what, size_t what_size);

#endif
