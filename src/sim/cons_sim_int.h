/* cons_sim_int.h: shared by the files of the simulator's node glue for consensus cores:
 * cons_sim.c (the glue itself: host, environment, protocol table), cons_sim_raft.c and
 * cons_sim_paxos.c (what each protocol's checks need), raft_sim.c (Raft-only features). */
#ifndef FL_CONS_SIM_INT_H
#define FL_CONS_SIM_INT_H

#include "faultline/cons_sim.h"
#include "faultline/host.h"

typedef struct cs_node {
    fl_host h;
    fl_cons_sim *cs;
    fl_sim *sim;
    fl_node_id id;
    uint64_t chain;          /* digest of the applied entries */
    fl_cons_counters counts; /* the core's counters as last seen */
    uint64_t segments_deleted;
    /* the deadline last given to the simulator, while its timer has not fired: setting it
     * again changes nothing (node.c), so it is not asked (most steps keep their deadline) */
    fl_time_ns timer_set;
    bool timer_armed;
    /* the snapshot job in flight (env.snapshot_start): its token (0: none), index, bytes */
    uint64_t job;
    fl_index job_index;
    uint32_t job_crc;
    fl_buf job_bytes;
    bool hang_next; /* the next job never ends (fl_cons_sim_hang_snapshot) */
    /* the watchdog gave a job up (snapshot_timeouts): the next snapshot taken counts as the
     * recovery (snapshots_after_timeout), past taken_at (host stats.snapshots_taken then) */
    bool timed_out;
    uint64_t taken_at;
    /* sync_inline (cons_sim.h): the end-of-pass call scheduled (its token; 0: none), the
     * running job held the node, when it started and whether it was short, how long the last
     * short one took, and when a worker's job was last collected (the server's pass) */
    uint64_t soon;
    bool held;
    bool sync_short;
    fl_time_ns sync_t0, sync_short_ns;
    bool collected;
    fl_time_ns collected_at;
    uint8_t role; /* as of the last update (fl_cons_sim_leader) */
    fl_term term;
} cs_node;

/* One protocol's checks, as the glue runs them. why: the violation's text is appended. */
typedef struct cs_checks {
    int (*init)(fl_cons_sim *cs);
    void (*free)(fl_cons_sim *cs);
    /* The node's configuration in cs's cluster (id, members, seed from the node's stream). */
    void (*node_config)(const fl_cons_sim *cs, fl_sim *sim, fl_node_id id, fl_cons_config *c);
    /* Right after a step, before its I/O: the node's counters (fl__cs_count) and invariants,
     * and with check the cluster checker (returns nonzero on a violation). One call per step:
     * the Raft simulator's speed is measured (bench_raft_sim). */
    int (*observe)(cs_node *n, const fl_cons_event *ev, const fl_cons_update *up,
                   fl_cons_role before, bool check, fl_buf *why);
    /* A start: the recovered state against the floor and the checker (trusted: no lie or
     * corruption touched the disk since the floor was recorded). */
    int (*node_start)(cs_node *n, bool trusted, fl_buf *why);
    /* After a step's I/O: the applied digest extended over the update's entries (then
     * fl__cs_digest compares it), and the floor: what the node was last told is durable. */
    void (*applied)(cs_node *n, const fl_cons_update *up);
    /* What the node was last told is durable (at a start). */
    void (*record_floor)(cs_node *n);
    /* The committed (chosen) chain of the applied digest at index. */
    uint64_t (*committed_chain)(fl_cons_sim *cs, fl_index index);
} cs_checks;

extern const cs_checks fl__cs_raft_checks, fl__cs_paxos_checks;

/* cons_sim.c */
/* The core's counters as they stand now: what grew since the last step goes to the stats. */
static inline void fl__cs_count(cs_node *n, uint64_t elections, uint64_t chunks_sent,
                                uint64_t installed)
{
    fl_cons_sim_stats *st = &n->cs->stats;
    st->elections += elections - n->counts.elections;
    st->snapshot_chunks_sent += chunks_sent - n->counts.snapshot_chunks_sent;
    st->snapshots_installed += installed - n->counts.snapshots_installed;
    n->counts.elections = elections;
    n->counts.snapshot_chunks_sent = chunks_sent;
    n->counts.snapshots_installed = installed;
}
cs_node *fl__cs_node(const fl_sim *sim, fl_node_id id); /* NULL when down */
void fl__cs_violation(fl_cons_sim *cs, const char *what);
/* The node's applied digest after up's entries must be the committed chain there. */
void fl__cs_digest(cs_node *n, const fl_cons_update *up);

/* cons_sim_msg.c: a message in a few words (fl_sim_proto describe_msg). */
void fl__cons_msg_describe(const uint8_t *msg, size_t len, fl_buf *out);

#endif
