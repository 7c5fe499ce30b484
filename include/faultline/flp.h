/* flp.h: the FLP adversary. Fischer, Lynch and Paterson (1985) proved that no deterministic
 * protocol can guarantee consensus in an asynchronous system where one process may crash:
 * for every protocol there is a schedule, in which every message is delivered eventually and
 * no process crashes, that keeps it undecided forever. This adversary is such a schedule,
 * played in the simulator: a delivery gate (sim.h, fl_sim_set_gate) that never drops a
 * message and never crashes a node, but, looking at every node's state through a protocol's
 * oracle, holds back exactly the messages whose delivery would let the cluster decide, and
 * lets each go once it can no longer help (its receiver moved on). Delays are finite but
 * unbounded: nothing is decided, and safety holds throughout.
 *
 * At the global stabilisation time (GST) of the partial-synchrony model (Dwork, Lynch and
 * Stockmeyer 1988) the adversary's power ends: every held message goes at its next look (one
 * poll interval at most) and delays follow the simulator's network model again, so the
 * cluster elects and decides within what its timeouts allow.
 *
 * The adversary knows nothing of any protocol; a protocol plugs in through an oracle
 * (fl_flp_oracle): which message to hold now, and how many instances are decided. Raft's is
 * fl_flp_raft_oracle (src/sim/flp_raft.c); another protocol (Multi-Paxos) gets one of the same
 * shape, reading its nodes through its own accessors (docs/limits.md says how).
 *
 * Deterministic: the gate only reads state and reschedules; it draws nothing at random, so a
 * run with the adversary is as reproducible from its seed as any other. */
#ifndef FAULTLINE_FLP_H
#define FAULTLINE_FLP_H

#include "faultline/raft.h"
#include "faultline/sim.h"

/* What the adversary needs to know of a protocol. ctx is the oracle's own state. */
typedef struct fl_flp_oracle {
    const char *name;  /* the protocol: "raft" */
    const char *holds; /* what it holds back, in a few words, for summaries and reports */
    /* True to hold the message from -> to back now (it is asked again later); false to
     * deliver it at once. Called for every message about to be delivered while the adversary
     * acts. A message let through is delivered right after the call, so the oracle may count
     * it as received. It may read node states (fl_sim_node); it must not change anything. */
    bool (*hold)(void *ctx, const fl_sim *sim, fl_node_id from, fl_node_id to, const uint8_t *msg,
                 size_t len);
    /* Instances decided so far anywhere in the cluster (for a replicated log: the highest
     * commit index of any node that is up). */
    uint64_t (*decided)(void *ctx, const fl_sim *sim);
    void *ctx;
} fl_flp_oracle;

/* What the adversary did and what followed. Times are virtual. */
typedef struct fl_flp_stats {
    fl_time_ns start_ns;
    fl_time_ns gst_ns;             /* FL_TIME_NEVER until GST came */
    uint64_t decisions_before_gst; /* the most instances decided at any time before GST */
    uint64_t decided_at_gst;       /* instances decided when GST came */
    fl_time_ns first_decision_ns;  /* the first decision past decided_at_gst after GST;
                                      FL_TIME_NEVER if none (yet) */
    uint64_t asked;                /* messages the oracle was asked about */
    uint64_t holds;                /* answers "hold" (a held message is asked again) */
    uint64_t held_at_gst;          /* messages still held back when GST came */
} fl_flp_stats;

typedef struct fl_flp {
    fl_sim *sim;
    fl_flp_oracle oracle;
    fl_time_ns poll_ns; /* a held message is looked at again this much later */
    bool active;        /* before GST */
    bool started;
    fl_flp_stats st;
} fl_flp;

/* Starts the adversary on sim now: installs the delivery gate and an observer that counts
 * decisions after every event (one of the sim's 16 checks; it never reports a violation).
 * GST comes at gst_ns (>= now), or with FL_TIME_NEVER only when fl_flp_gst is called. poll_ns
 * (>= 1) bounds how long a message stays held after it can no longer help. a must outlive
 * sim; *o is copied. Returns 0, FL_EINVAL (bad times) or an error of fl_sim_add_check /
 * fl_sim_schedule. */
int fl_flp_start(fl_flp *a, fl_sim *sim, const fl_flp_oracle *o, fl_time_ns gst_ns,
                 fl_time_ns poll_ns);
/* GST now (if it has not come yet): the adversary lets everything through from here on. */
void fl_flp_gst(fl_flp *a);

/* ---- Raft's oracle (src/sim/flp_raft.c) ------------------------------------------------- */

/* Deliberate weaknesses of the Raft oracle, to show that the tests of the adversary fail when
 * it holds one message too few (docs/limits.md). */
typedef enum fl_flp_mutant {
    /* the oracle forgets that a candidate counts its own vote, so it lets through the grant
     * that completes the quorum */
    FL_FLP_MUTANT_FORGET_OWN_VOTE = 1u << 0,
} fl_flp_mutant;

/* A Raft node decides nothing without a leader, and becomes leader only with the votes of a
 * quorum. The oracle holds a granted RequestVote response when its receiver is a candidate of
 * that very term and the grants delivered to it for the term, this one and its own vote would
 * make a quorum of its configuration (while joint: of either voter set); it lets the response
 * go once the receiver is no longer a candidate of that term (it ignores it then). Everything
 * else passes. Decided: the highest commit index of any node that is up. */
typedef struct fl_flp_raft {
    uint32_t mutants; /* fl_flp_mutant bits */
    struct {
        fl_term term;
        uint32_t granted; /* bit id: grants for term delivered to the node */
    } cand[FL_RAFT_NODES_MAX + 1];
} fl_flp_raft;

/* Resets st (with the given fl_flp_mutant bits, normally 0) and fills *o with Raft's oracle
 * over it; st must outlive the adversary. The simulator's nodes must be raft_sim.h's. */
void fl_flp_raft_oracle(fl_flp_raft *st, uint32_t mutants, fl_flp_oracle *o);

#endif
