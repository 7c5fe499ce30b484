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
    for (uint32_t i = 0; i < ch->n_nodes; i++) {
        free(ch->nodes[i].chain);
        free(ch->nodes[i].confs);
        free(ch->nodes[i].vote_of_term);
    }
    free(ch->leader_of_term);
    free(ch->committed);
    free(ch->committed_term);
    free(ch->seen);
    free(ch->first_seen);
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

/* (index, term) pairs that first_seen does not hold. */
static int seen_table_check(fl_raft_checker *ch, fl_index index, fl_term term, uint64_t chain)
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

/* Indexes past this bound go to the hash table only (first_seen is dense in the index). */
#define FIRST_SEEN_MAX ((fl_index)1 << 24)

/* Log matching: the first node to hold (index, term) fixes the prefix hash for everyone. */
static int seen_check(fl_raft_checker *ch, fl_index index, fl_term term, uint64_t chain)
{
    if (term != 0 && index >= 1 && index <= FIRST_SEEN_MAX) {
        if (fl_array_grow((void **)&ch->first_seen, &ch->first_cap, (size_t)index,
                          sizeof(*ch->first_seen)))
            return FL_ENOMEM;
        struct fl_raft_check_first *f = &ch->first_seen[index - 1];
        if (f->term == 0) {
            *f = (struct fl_raft_check_first){term, chain};
            return 0;
        }
        if (f->term == term)
            return f->chain == chain ? 0 : FL_ECORRUPT;
    }
    return seen_table_check(ch, index, term, chain);
}

/* ---- configurations, decoded by the checker from the node's log ------------------------- */

/* The configuration of the k-th config entry of n's mirror (k == 0: the one before the
 * first, i.e. the node's bootstrap or snapshot configuration). */
static void conf_before(const fl_raft_check_node *n, const fl_raft *r, size_t k, fl_raft_conf *c)
{
    if (k > 0) {
        const fl_raft_entry *e = fl_raft_entry_at(r, n->confs[k - 1]);
        if (e && e->type == FL_RAFT_ENTRY_CONFIG && fl_raft_conf_decode(e->data, e->len, c) == 0)
            return;
    }
    *c = *fl_raft_conf_base_of(r, NULL);
}

static void latest_conf(const fl_raft_check_node *n, const fl_raft *r, fl_raft_conf *c)
{
    conf_before(n, r, n->n_confs, c);
}

static fl_index latest_conf_index(const fl_raft_check_node *n)
{
    return n->n_confs ? n->confs[n->n_confs - 1] : 0;
}

static uint32_t count_not_in(const fl_node_id *a, uint32_t na, const fl_node_id *b, uint32_t nb)
{
    uint32_t missing = 0;
    for (uint32_t i = 0; i < na; i++) {
        bool found = false;
        for (uint32_t j = 0; j < nb && !found; j++)
            found = a[i] == b[j];
        missing += !found;
    }
    return missing;
}

/* Why next may not follow prev in a log, or NULL. A joint configuration is left only for its
 * C(new); one is entered only from the voters in force; without a joint phase the voters
 * change by at most one server (a single-server change, thesis 4.1), since two majorities
 * of voter sets that differ by more may be disjoint. */
static const char *bad_transition(const fl_raft_conf *prev, const fl_raft_conf *next)
{
    if (fl_raft_conf_is_joint(prev)) {
        fl_raft_conf want = *prev;
        want.n_voters_old = 0;
        return fl_raft_conf_equal(&want, next) ? NULL
                                               : "a joint configuration followed by other than "
                                                 "its C(new)";
    }
    if (fl_raft_conf_is_joint(next)) {
        bool same =
            count_not_in(next->voters_old, next->n_voters_old, prev->voters, prev->n_voters) == 0 &&
            next->n_voters_old == prev->n_voters;
        return same ? NULL : "a joint configuration whose old voters are not the voters in force";
    }
    uint32_t diff = count_not_in(prev->voters, prev->n_voters, next->voters, next->n_voters) +
                    count_not_in(next->voters, next->n_voters, prev->voters, prev->n_voters);
    return diff <= 1 ? NULL : "voters changed by more than one without a joint configuration";
}

/* A config entry at index joins n's mirror: check that it may follow the one before. */
static int mirror_conf(fl_raft_check_node *n, const fl_raft *r, fl_index index, fl_buf *why,
                       fl_node_id id)
{
    const fl_raft_entry *e = fl_raft_entry_at(r, index);
    fl_raft_conf prev, next;
    if (fl_raft_conf_decode(e->data, e->len, &next)) {
        fl_buf_printf(why, "config transitions: node %u has a malformed config entry at %llu", id,
                      (unsigned long long)index);
        return FL_ECORRUPT;
    }
    latest_conf(n, r, &prev);
    /* an entry a snapshot covers (kept as a trailing entry) has no predecessor left to
     * compare with: the snapshot's configuration already follows it */
    fl_index base_index;
    fl_raft_conf_base_of(r, &base_index);
    const char *bad = index > base_index ? bad_transition(&prev, &next) : NULL;
    if (bad) {
        fl_buf_printf(why, "config transitions: node %u entry %llu: %s", id,
                      (unsigned long long)index, bad);
        return FL_ECORRUPT;
    }
    if (fl_array_grow((void **)&n->confs, &n->cap_confs, n->n_confs + 1, sizeof(fl_index)))
        return FL_ENOMEM;
    n->confs[n->n_confs++] = index;
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
    while (n->n_confs && n->confs[n->n_confs - 1] >= from)
        n->n_confs--; /* cut off with the entries */
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
        if (e->type == FL_RAFT_ENTRY_CONFIG) {
            int rc = mirror_conf(n, r, i, why, id);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The hard state a node asked to make durable: its vote of that term. */
static int record_vote(fl_raft_check_node *n, fl_term term, fl_node_id vote)
{
    if (vote == FL_NODE_NONE)
        return 0;
    if (fl_array_grow((void **)&n->vote_of_term, &n->votes_cap, (size_t)term + 1,
                      sizeof(fl_node_id)))
        return FL_ENOMEM;
    n->vote_of_term[term] = vote; /* the newest: an earlier one that was lost was never sent */
    return 0;
}

static bool voted_for(const fl_raft_check_node *n, fl_term t, fl_node_id id)
{
    return t < n->votes_cap && n->vote_of_term[t] == id;
}

typedef bool (*holds_fn)(const fl_raft_checker *ch, fl_node_id voter, const void *arg);

static bool majority_holds(const fl_raft_checker *ch, const fl_node_id *ids, uint32_t n,
                           holds_fn holds, const void *arg)
{
    uint32_t yes = 0;
    for (uint32_t i = 0; i < n; i++)
        yes += ids[i] >= 1 && ids[i] <= ch->n_nodes && holds(ch, ids[i], arg);
    return yes > n / 2;
}

/* A majority of c's voters, and while joint of its old voters too. */
static bool quorum_holds(const fl_raft_checker *ch, const fl_raft_conf *c, holds_fn holds,
                         const void *arg)
{
    return majority_holds(ch, c->voters, c->n_voters, holds, arg) &&
           (!fl_raft_conf_is_joint(c) ||
            majority_holds(ch, c->voters_old, c->n_voters_old, holds, arg));
}

struct vote_q {
    fl_term term;
    fl_node_id leader;
};

static bool holds_vote(const fl_raft_checker *ch, fl_node_id voter, const void *arg)
{
    const struct vote_q *q = arg;
    return voted_for(&ch->nodes[voter - 1], q->term, q->leader);
}

struct entry_q {
    fl_index index;
    uint64_t chain;
};

static bool holds_entry(const fl_raft_checker *ch, fl_node_id voter, const void *arg)
{
    const struct entry_q *q = arg;
    const fl_raft_check_node *n = &ch->nodes[voter - 1];
    if (q->index < n->first)
        return true; /* in its snapshot, which holds only committed entries */
    return chain_at(n, q->index) == q->chain;
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
    n->n_confs = 0; /* the configuration before first is the snapshot's (conf_base) */
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
    fl_raft_counters k;
    fl_raft_counters_of(r, &k);
    n->truncated_committed = k.truncated_committed;
    int rc = record_vote(n, fl_raft_term_of(r), fl_raft_vote_of(r));
    return rc ? rc : rebase(ch, n, r, why, id);
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
    /* election quorum: votes of term t from a majority of each voter set it campaigned in */
    fl_raft_conf conf;
    latest_conf(n, r, &conf);
    struct vote_q vq = {t, id};
    if (!quorum_holds(ch, &conf, holds_vote, &vq)) {
        fl_buf_printf(why,
                      "election quorum: node %u became leader of term %llu without votes from a "
                      "majority of %s",
                      id, (unsigned long long)t,
                      fl_raft_conf_is_joint(&conf) ? "both voter sets of its joint configuration"
                                                   : "its configuration's voters");
        return FL_ECORRUPT;
    }
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

/* commit quorum: what a leader commits is held by a majority of each voter set. */
static int check_commit_quorum(fl_raft_checker *ch, fl_node_id id, const fl_raft *r,
                               const fl_raft_update *up, fl_buf *why)
{
    fl_raft_check_node *n = &ch->nodes[id - 1];
    if (up->role != FL_RAFT_LEADER || up->commit <= n->commit)
        return 0;
    fl_raft_conf c;
    latest_conf(n, r, &c);
    struct entry_q eq = {up->commit, chain_at(n, up->commit)};
    if (quorum_holds(ch, &c, holds_entry, &eq))
        return 0;
    fl_buf_printf(why,
                  "commit quorum: leader %u of term %llu committed index %llu held by no majority "
                  "of %s",
                  id, (unsigned long long)up->term, (unsigned long long)up->commit,
                  fl_raft_conf_is_joint(&c) ? "both voter sets of its joint configuration"
                                            : "its configuration's voters");
    return FL_ECORRUPT;
}

/* one change at a time, and a leader removed by a committed configuration does not lead */
static int check_leader_conf(fl_raft_checker *ch, fl_node_id id, const fl_raft *r,
                             const fl_raft_update *up, fl_index appended_from, fl_buf *why)
{
    fl_raft_check_node *n = &ch->nodes[id - 1];
    if (up->role != FL_RAFT_LEADER)
        return 0;
    for (size_t k = n->n_confs; k > 0 && n->confs[k - 1] >= appended_from; k--) {
        fl_index at = n->confs[k - 1], before = k > 1 ? n->confs[k - 2] : 0;
        if (fl_raft_term_at(r, at) == up->term && before > up->commit) {
            fl_buf_printf(why,
                          "one change at a time: leader %u of term %llu appended config entry "
                          "%llu while config entry %llu was uncommitted (commit %llu)",
                          id, (unsigned long long)up->term, (unsigned long long)at,
                          (unsigned long long)before, (unsigned long long)up->commit);
            return FL_ECORRUPT;
        }
    }
    fl_raft_conf c;
    latest_conf(n, r, &c);
    fl_index at = latest_conf_index(n);
    if (at <= up->commit && !fl_raft_conf_is_voter(&c, id)) {
        fl_buf_printf(why,
                      "removed leader: node %u leads term %llu although its committed "
                      "configuration (index %llu) does not have it as a voter",
                      id, (unsigned long long)up->term, (unsigned long long)at);
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
    fl_index appended_from = fl_raft_last_index(r) + 1;
    if (up->persist.seq && up->persist.hard_state &&
        record_vote(n, up->persist.term, up->persist.vote))
        return FL_ENOMEM;
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
    if (persisted)
        appended_from = from;
    if (fl_raft_first_index(r) != n->first) {
        rc = rebase(ch, n, r, why, id); /* re-mirrors everything it still holds */
        if (n->first < appended_from)
            appended_from = n->first;
    } else if (persisted) {
        rc = mirror(ch, n, r, from, why, id);
    }
    fl_raft_counters k;
    fl_raft_counters_of(r, &k);
    if (!rc && k.truncated_committed != n->truncated_committed) {
        fl_buf_printf(why, "state machine safety: node %u removed committed entries", id);
        rc = FL_ECORRUPT;
    }
    if (!rc)
        rc = check_election(ch, id, r, up, why);
    if (!rc)
        rc = check_leader_conf(ch, id, r, up, appended_from, why);
    if (!rc)
        rc = check_commit_quorum(ch, id, r, up, why);
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
