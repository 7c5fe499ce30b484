/* paxos_check.h: Multi-Paxos safety properties, checked across a whole cluster after every
 * step of every node (the counterpart of raft_check.h).
 *
 *   agreement        at most one value is chosen per slot: a value is chosen at a slot once
 *                    q2 acceptors hold it durably, accepted at the same ballot
 *   validity         every chosen value was proposed (a command some PROPOSE carried, or a
 *                    no-op)
 *   stability        a chosen value never changes: what any node learns (its commit prefix)
 *                    and applies is the value chosen there, and it learns only chosen slots
 *   promises         an acceptor's promised ballot never decreases: within a life, and across
 *                    a restart below a ballot it had announced (an ok PROMISE or ACCEPTED)
 *   durability       a restarted acceptor still holds every acceptance it reported durable
 *                    (fl_paxos_checker_durable, for disks only crashes touched)
 *   reads            a read decided ok is served at an index at least the highest slot any
 *                    node had learned chosen when the read arrived, by a node that applied
 *                    that far (linearizable reads, ReadIndex or lease)
 *
 * Durable acceptances are mirrored from the updates: a persist request's slots count once
 * the node reports that request durable (fl_paxos_seq_durable_of); a restart drops the ones
 * it had not. The checker is an observer: it reads the node, the event and the update and
 * never changes them. Node ids are 1 .. n_nodes. */
#ifndef FAULTLINE_PAXOS_CHECK_H
#define FAULTLINE_PAXOS_CHECK_H

#include "faultline/buf.h"
#include "faultline/paxos.h"

#define FL_PAXOS_CHECK_NODES_MAX FL_PAXOS_NODES_MAX

typedef struct fl_paxos_check_acc {
    uint64_t seq;
    fl_index slot;
    fl_term ballot;
    uint64_t hash;
} fl_paxos_check_acc;

typedef struct fl_paxos_check_node {
    fl_term promised;  /* as last observed in this life */
    fl_term announced; /* highest ballot of an ok PROMISE or ACCEPTED it sent */
    uint64_t seq_durable;
    fl_index commit;
    fl_paxos_check_acc *pending; /* acceptances in persist requests not yet durable */
    size_t n_pending, cap_pending;
} fl_paxos_check_node;

typedef struct fl_paxos_checker {
    uint32_t n_nodes;
    uint32_t q2;
    fl_paxos_check_node nodes[FL_PAXOS_CHECK_NODES_MAX];
    struct fl_paxos_check_slot { /* (slot, ballot) -> value and who holds it durably */
        fl_index slot;
        fl_term ballot;
        uint64_t hash;
        uint32_t holders;
    } * table;
    size_t table_cap, table_count;
    uint64_t *chosen; /* chosen[slot - 1]: the chosen value's hash, 0 = none yet */
    size_t chosen_cap;
    fl_index chosen_prefix; /* slots 1..chosen_prefix all chosen */
    uint64_t *proposed;     /* open-addressing set of proposed values' hashes */
    size_t proposed_cap, proposed_count;
    fl_index max_learned; /* highest commit any node reached */
    struct fl_paxos_check_read {
        fl_node_id node;
        uint64_t ctx;
        fl_index need;
    } * reads;
    size_t n_reads, cap_reads;
    uint64_t slots_chosen;
    uint64_t reads_checked;
} fl_paxos_checker;

int fl_paxos_checker_init(fl_paxos_checker *ch, uint32_t n_nodes, uint32_t q2);
void fl_paxos_checker_free(fl_paxos_checker *ch);
/* A node (re)started from its durable state. Returns 0 or FL_ECORRUPT (promises). */
int fl_paxos_checker_node_start(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                                fl_buf *why);
/* After every step of node id (ev is the event it stepped, up its update). Returns 0, or
 * FL_ECORRUPT with the violated property appended to why, or FL_ENOMEM. */
int fl_paxos_checker_observe(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                             const fl_paxos_event *ev, const fl_paxos_update *up, fl_buf *why);
/* After node id restarted from a disk nothing but crashes touched: every acceptance it had
 * reported durable (a slot at a ballot) is still in its log, at that ballot or a higher one,
 * or under its snapshot. Returns 0 or FL_ECORRUPT (durability, appended to why). */
int fl_paxos_checker_durable(const fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                             fl_buf *why);
/* A value's identity (type and bytes; not the ballot), never 0. */
uint64_t fl_paxos_check_value_hash(uint8_t type, const uint8_t *data, uint32_t len);
/* The chosen value's hash at slot, 0 if none is chosen (yet). */
uint64_t fl_paxos_checker_chosen(const fl_paxos_checker *ch, fl_index slot);

#endif
