/* raft_check.h: Raft's safety properties (Raft paper figure 3), checked across a whole
 * cluster after every step of every node.
 *
 *   election safety      at most one leader per term
 *   leader append-only   a leader never overwrites or deletes entries in its own log
 *   log matching         two logs with an entry of the same index and term are identical
 *                        up to that index
 *   leader completeness  a leader of term T holds every entry committed in terms before T
 *                        (a stale leader of a lower term may win late and lack newer ones)
 *   state machine safety every node applies the same entry at each index, in index order;
 *                        a snapshot is installed or restored only forward, and only up to an
 *                        index that was committed
 *
 * and, for membership (each judged with the configuration the checker decodes from the
 * node's own log: the latest CONFIG entry, committed or not, else the bootstrap one):
 *
 *   election quorum      a new leader of term T holds votes for T from a majority of the
 *                        voters of its configuration (while joint: of each voter set)
 *   commit quorum        when a leader commits index i, a majority of its configuration's
 *                        voters (of each set while joint) hold its entry i
 *   config transitions   a config entry follows from the one before it: C(old,new) only
 *                        after a non-joint C(old) with old == its old voters, and after a
 *                        C(old,new) only its C(new)
 *   one change at a time a leader appends a config entry only when every earlier config
 *                        entry in its log is committed (a log may still hold two uncommitted
 *                        config entries: a new leader can inherit C(old,new) and C(new))
 *   removed leader       a leader is a voter of its latest configuration once that one is
 *                        committed (a leader outside C(new) must step down when it commits)
 *
 * Each node's log is mirrored as a chain of 64-bit hashes (hash[i] covers entries 1..i), so
 * a whole-prefix comparison is one integer comparison. The checker is an observer: it reads
 * the node and the update, and never changes either. */
#ifndef FAULTLINE_RAFT_CHECK_H
#define FAULTLINE_RAFT_CHECK_H

#include "faultline/buf.h"
#include "faultline/raft.h"

#define FL_RAFT_CHECK_NODES_MAX 64

typedef struct fl_raft_check_node {
    uint64_t *chain; /* chain[i - first] for i in first .. first + count - 1 */
    size_t count;
    size_t cap;
    fl_index first;
    uint64_t base_chain; /* chain hash of entry first - 1 (in a snapshot), 0 when first == 1 */
    fl_index commit;
    fl_index applied;
    fl_raft_role role;
    fl_term term;
    uint64_t truncated_committed;
    fl_index *confs; /* indexes of the CONFIG entries in the mirrored log, ascending */
    size_t n_confs, cap_confs;
    fl_node_id *vote_of_term; /* vote_of_term[t]: whom it (asked to durably) voted for in t */
    size_t votes_cap;
} fl_raft_check_node;

typedef struct fl_raft_checker {
    uint32_t n_nodes;
    fl_raft_check_node nodes[FL_RAFT_CHECK_NODES_MAX];
    fl_node_id *leader_of_term; /* leader_of_term[t], 0 = none seen */
    size_t terms_cap;
    uint64_t *committed;     /* chain hash of every committed index, 1-based: committed[i - 1] */
    fl_term *committed_term; /* term of the leader that first committed index i */
    size_t committed_count;
    size_t committed_cap;
    /* (index, term) -> chain hash, for log matching. The first term seen at an index sits in
     * first_seen[index - 1] (term 0: none yet), which entries reach in index order, so it
     * stays in cache; any other term at that index goes to the open-addressing table seen. */
    struct fl_raft_check_first {
        fl_term term;
        uint64_t chain;
    } * first_seen;
    size_t first_cap;
    /* open addressing */
    struct fl_raft_check_slot {
        fl_index index;
        fl_term term;
        uint64_t chain;
    } * seen;
    size_t seen_cap;
    size_t seen_count;
    uint64_t leaders_elected;
} fl_raft_checker;

int fl_raft_checker_init(fl_raft_checker *ch, uint32_t n_nodes);
void fl_raft_checker_free(fl_raft_checker *ch);
/* A node (re)started: mirror its recovered log; its volatile commit and applied restart at 0. */
int fl_raft_checker_node_start(fl_raft_checker *ch, fl_node_id id, const fl_raft *r, fl_buf *why);
/* The chain hash of entries 1..index as committed (0 if index is not committed yet). A state
 * machine that hashes what it applies with fl_raft_check_entry_hash must reach this value. */
uint64_t fl_raft_checker_committed_chain(const fl_raft_checker *ch, fl_index index);
uint64_t fl_raft_check_entry_hash(uint64_t prev, const fl_raft_entry *e);
/* After every step of node id. Returns 0, or FL_ECORRUPT with the violated property and its
 * details appended to why. */
int fl_raft_checker_observe(fl_raft_checker *ch, fl_node_id id, const fl_raft *r,
                            const fl_raft_update *up, fl_buf *why);

#endif
