/* raft_check.c: cluster-wide Raft safety checks (raft_check.h). Cost per step: O(entries
 * appended + entries newly committed), so it can run after every simulated event; a log
 * compaction or a snapshot install costs O(entries left in that node's log).
 *
 * Compacted logs: a node's mirror starts at its first_index; the entry before it is in a
 * snapshot, whose chain hash is the committed one at that index (snapshots hold committed
 * entries only; that the snapshot's content matches is the host's digest check, raft_sim.h).
 * Every property compares only indexes the node still holds, or that base entry. */
#include "faultline/raft_check.h"

#include "faultline/array.h"
#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/rng.h"

#include <stdlib.h>
#include <string.h>

uint64_t fl_raft_check_entry_hash(uint64_t prev, const fl_raft_entry *e)
{
    uint64_t h = prev ^ fl_mix64(e->term * 31 + e->type);
    h = fl_mix64(h ^ ((uint64_t)e->len << 32 | fl_crc32c(0, e->data, e->len)));
    return h ? h : 1; /* 0 means "no entry" */
}

int fl_raft_checker_init(fl_raft_checker *ch, uint32_t n_nodes)
{
    memset(ch, 0, sizeof(*ch));
    if (n_nodes < 1 || n_nodes > FL_RAFT_CHECK_NODES_MAX)
        return FL_EINVAL;
    ch->n_nodes = n_nodes;
    ch->seen_cap = 1024;
    ch->seen = calloc(ch->seen_cap, sizeof(*ch->seen));
    return ch->seen ? 0 : FL_ENOMEM;
}

void fl_raft_checker_free(fl_raft_checker *ch)
{
    for (uint32_t i = 0; i < ch->n_nodes; i++)
        free(ch->nodes[i].chain);
    free(ch->leader_of_term);
    free(ch->committed);
    free(ch->committed_term);
    free(ch->seen);
    memset(ch, 0, sizeof(*ch));
}

uint64_t fl_raft_checker_committed_chain(const fl_raft_checker *ch, fl_index i)
{
    return i >= 1 && i <= ch->committed_count ? ch->committed[i - 1] : 0;
}

static uint64_t chain_at(const fl_raft_check_node *n, fl_index i)
{
    if (i + 1 == n->first)
        return n->base_chain;
    if (i < n->first || i >= n->first + n->count)
        return 0;
    return n->chain[i - n->first];
}

/* Log matching: the first node to hold (index, term) fixes the prefix hash for everyone. */
static int seen_check(fl_raft_checker *ch, fl_index index, fl_term term, uint64_t chain)
{
    if (ch->seen_count * 2 >= ch->seen_cap) {
        size_t cap = ch->seen_cap * 2;
        struct fl_raft_check_slot *s = calloc(cap, sizeof(*s)), *old = ch->seen;
        if (!s)
            return FL_ENOMEM;
        for (size_t i = 0; i < ch->seen_cap; i++) {
            if (!old[i].index)
                continue;
            size_t k = fl_mix64(old[i].index * 1000003 + old[i].term) & (cap - 1);
            while (s[k].index)
                k = (k + 1) & (cap - 1);
            s[k] = old[i];
        }
        free(old);
        ch->seen = s;
        ch->seen_cap = cap;
    }
    size_t k = fl_mix64(index * 1000003 + term) & (ch->seen_cap - 1);
    while (ch->seen[k].index) {
        if (ch->seen[k].index == index && ch->seen[k].term == term)
            return ch->seen[k].chain == chain ? 0 : FL_ECORRUPT;
        k = (k + 1) & (ch->seen_cap - 1);
    }
    ch->seen[k] = (struct fl_raft_check_slot){index, term, chain};
    ch->seen_count++;
    return 0;
}

/* Mirrors log entries [from, last] of r into n, checking log matching for each. */
static int mirror(fl_raft_checker *ch, fl_raft_check_node *n, const fl_raft *r, fl_index from,
                  fl_buf *why, fl_node_id id)
{
    fl_index last = fl_raft_last_index(r);
    if (from < n->first)
        from = n->first;
    n->count = from - n->first;
    if (fl_array_grow((void **)&n->chain, &n->cap, (size_t)(last + 1 - n->first), sizeof(uint64_t)))
        return FL_ENOMEM;
    uint64_t prev = from > n->first ? n->chain[from - 1 - n->first] : n->base_chain;
    for (fl_index i = from; i <= last; i++) {
        const fl_raft_entry *e = fl_raft_entry_at(r, i);
        prev = fl_raft_check_entry_hash(prev, e);
        n->chain[i - n->first] = prev;
        n->count++;
        if (seen_check(ch, i, e->term, prev)) {
            fl_buf_printf(why,
                          "log matching: node %u has entry %llu of term %llu whose log prefix "
                          "differs from another node's entry %llu of term %llu",
                          id, (unsigned long long)i, (unsigned long long)e->term,
                          (unsigned long long)i, (unsigned long long)e->term);
            return FL_ECORRUPT;
        }
    }
    return 0;
}

/* The node's log now starts at first (compaction, install, restart): the entry before it is
 * in a snapshot, so committed; re-mirror what is left from that committed prefix. */
static int rebase(fl_raft_checker *ch, fl_raft_check_node *n, const fl_raft *r, fl_buf *why,
                  fl_node_id id)
{
    fl_index first = fl_raft_first_index(r);
    if (first - 1 > ch->committed_count) {
        fl_buf_printf(why,
                      "state machine safety: node %u holds a snapshot up to index %llu, but "
                      "only %llu entries were ever committed",
                      id, (unsigned long long)(first - 1), (unsigned long long)ch->committed_count);
        return FL_ECORRUPT;
    }
    n->first = first;
    n->count = 0;
    n->base_chain = fl_raft_checker_committed_chain(ch, first - 1);
    return mirror(ch, n, r, first, why, id);
}

int fl_raft_checker_node_start(fl_raft_checker *ch, fl_node_id id, const fl_raft *r, fl_buf *why)
{
    FL_ASSERT(id >= 1 && id <= ch->n_nodes);
    fl_raft_check_node *n = &ch->nodes[id - 1];
    n->commit = fl_raft_commit_of(r);
    n->applied = fl_raft_applied_of(r);
    n->role = fl_raft_role_of(r);
    n->term = fl_raft_term_of(r);
    n->truncated_committed = r->truncated_committed;
    return rebase(ch, n, r, why, id);
}

static int check_election(fl_raft_checker *ch, fl_node_id id, const fl_raft *r,
                          const fl_raft_update *up, fl_buf *why)
{
    fl_raft_check_node *n = &ch->nodes[id - 1];
    if (up->role != FL_RAFT_LEADER)
        return 0;
    fl_term t = up->term;
    if (fl_array_grow((void **)&ch->leader_of_term, &ch->terms_cap, (size_t)t + 1,
                      sizeof(fl_node_id)))
        return FL_ENOMEM;
    fl_node_id other = ch->leader_of_term[t];
    if (other && other != id) {
        fl_buf_printf(why, "election safety: nodes %u and %u are both leaders of term %llu", other,
                      id, (unsigned long long)t);
        return FL_ECORRUPT;
    }
    bool new_leader = !other;
    ch->leader_of_term[t] = id;
    if (!new_leader)
        return 0;
    ch->leaders_elected++;
    /* leader completeness: every entry committed in an earlier term is in the new leader's
     * log. Commit terms never decrease along the log, so scan back from the end. */
    fl_index c = ch->committed_count;
    while (c > 0 && ch->committed_term[c - 1] >= t)
        c--;
    if (c && c + 1 < n->first)
        c = n->first - 1; /* compacted into its snapshot: its last entry covers the prefix */
    if (c && chain_at(n, c) != ch->committed[c - 1]) {
        fl_buf_printf(why,
                      "leader completeness: node %u became leader of term %llu without "
                      "committed entry %llu (its last index is %llu)",
                      id, (unsigned long long)t, (unsigned long long)c,
                      (unsigned long long)fl_raft_last_index(r));
        return FL_ECORRUPT;
    }
    return 0;
}

static int check_commit(fl_raft_checker *ch, fl_node_id id, const fl_raft_update *up, fl_buf *why)
{
    fl_raft_check_node *n = &ch->nodes[id - 1];
    fl_index from = n->commit + 1;
    if (from + 1 < n->first)
        from = n->first - 1; /* the snapshot's last entry stands for those before it */
    for (fl_index i = from; i <= up->commit; i++) {
        uint64_t h = chain_at(n, i);
        if (i <= ch->committed_count) {
            if (ch->committed[i - 1] != h) {
                fl_buf_printf(why,
                              "state machine safety: node %u committed a different entry "
                              "at index %llu than was committed before",
                              id, (unsigned long long)i);
                return FL_ECORRUPT;
            }
            continue;
        }
        FL_ASSERT(i == ch->committed_count + 1);
        size_t cap = ch->committed_cap;
        if (fl_array_grow((void **)&ch->committed, &ch->committed_cap, (size_t)i, sizeof(uint64_t)))
            return FL_ENOMEM;
        if (fl_array_grow((void **)&ch->committed_term, &cap, (size_t)i, sizeof(fl_term)))
            return FL_ENOMEM;
        FL_ASSERT(cap == ch->committed_cap);
        ch->committed[i - 1] = h;
        ch->committed_term[i - 1] = up->term; /* the leader commits first: its term */
        ch->committed_count = i;
    }
    if (up->commit > n->commit)
        n->commit = up->commit;
    return 0;
}

static int check_apply(const fl_raft_checker *ch, fl_raft_check_node *n, fl_node_id id,
                       const fl_raft_update *up, fl_buf *why)
{
    if (up->restore_index) {
        if (up->restore_index <= n->applied) {
            fl_buf_printf(why,
                          "state machine safety: node %u restores a snapshot of index %llu "
                          "after applying %llu",
                          id, (unsigned long long)up->restore_index,
                          (unsigned long long)n->applied);
            return FL_ECORRUPT;
        }
        n->applied = up->restore_index;
    }
    if (!up->n_apply)
        return 0;
    if (up->apply_first != n->applied + 1) {
        fl_buf_printf(why, "state machine safety: node %u applies index %llu after %llu", id,
                      (unsigned long long)up->apply_first, (unsigned long long)n->applied);
        return FL_ECORRUPT;
    }
    /* Only committed entries reach a state machine, and only the committed one at an index:
     * check_commit has already recorded what this update commits. */
    for (size_t k = 0; k < up->n_apply; k++) {
        fl_index i = up->apply_first + k;
        if (i > ch->committed_count || ch->committed[i - 1] != chain_at(n, i)) {
            fl_buf_printf(why,
                          "state machine safety: node %u applies entry %llu of term %llu, "
                          "which %s",
                          id, (unsigned long long)i, (unsigned long long)up->apply[k].term,
                          i > ch->committed_count ? "is not committed"
                                                  : "differs from the committed one");
            return FL_ECORRUPT;
        }
    }
    n->applied += up->n_apply;
    return 0;
}

int fl_raft_checker_observe(fl_raft_checker *ch, fl_node_id id, const fl_raft *r,
                            const fl_raft_update *up, fl_buf *why)
{
    FL_ASSERT(id >= 1 && id <= ch->n_nodes);
    fl_raft_check_node *n = &ch->nodes[id - 1];
    int rc = 0;
    bool persisted = up->persist.seq && up->persist.first_index <= fl_raft_last_index(r) + 1;
    fl_index from = up->persist.first_index, old_last = n->first + n->count - 1;
    if (persisted && n->role == FL_RAFT_LEADER && up->role == FL_RAFT_LEADER &&
        n->term == up->term && from <= old_last) {
        fl_buf_printf(why,
                      "leader append-only: leader %u of term %llu rewrote its log from "
                      "index %llu (last was %llu)",
                      id, (unsigned long long)up->term, (unsigned long long)from,
                      (unsigned long long)old_last);
        return FL_ECORRUPT;
    }
    if (fl_raft_first_index(r) != n->first)
        rc = rebase(ch, n, r, why, id); /* re-mirrors everything it still holds */
    else if (persisted)
        rc = mirror(ch, n, r, from, why, id);
    if (!rc && r->truncated_committed != n->truncated_committed) {
        fl_buf_printf(why, "state machine safety: node %u removed committed entries", id);
        rc = FL_ECORRUPT;
    }
    if (!rc)
        rc = check_election(ch, id, r, up, why);
    if (!rc)
        rc = check_commit(ch, id, up, why);
    if (!rc)
        rc = check_apply(ch, n, id, up, why);
    n->role = up->role;
    n->term = up->term;
    if (n->commit > up->commit)
        n->commit = up->commit; /* only after a restart or a (mutant) truncation */
    return rc;
}
