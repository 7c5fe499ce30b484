/* membership.c: the configuration in force, quorums over it, and membership changes by joint
 * consensus (Raft thesis 4.3, paper section 6).
 *
 * A node uses the latest FL_RAFT_ENTRY_CONFIG entry in its log from the moment it appends it,
 * committed or not; without one, the bootstrap configuration (or the one a snapshot carried).
 * Cutting an uncommitted config entry off the log reverts to the one before it.
 *
 * A change (CHANGE event, leader only) from voters O to voters N appends C(O,N) (voters = N,
 * voters_old = O): while it is the latest, elections and commitment need a majority of O and,
 * separately, a majority of N. Once C(O,N) commits, the leader appends C(N). A leader that
 * finds a committed C(O,N) in its log (its predecessor died midway) appends C(N) itself, so
 * the joint configuration is always left. A leader that is not a voter of C(N) steps down once
 * C(N) commits. A change that touches only learners needs no joint phase.
 *
 * Learners receive the log (they have progress) but never campaign and are never counted.
 *
 * Invariants:
 *   - progress[] holds exactly the members (voters, old voters, learners) of conf, self
 *     included when it is a member;
 *   - one change at a time: a leader appends a config entry only when every config entry in
 *     its log is committed and the latest is not joint (or, for C(N), when C(O,N) committed);
 *   - conf_index == 0 or the entry at conf_index is a CONFIG entry decoding to conf. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/buf.h"
#include "faultline/error.h"

#include <string.h>

/* ---- the configuration in force ---------------------------------------------------------- */

/* The distinct members of c (voters, old voters, learners); returns how many (may exceed
 * FL_RAFT_NODES_MAX, up to 3 x FL_RAFT_CONF_IDS_MAX). */
static uint32_t members(const fl_raft_conf *c, fl_node_id *out)
{
    uint32_t n = 0;
    const fl_node_id *lists[3] = {c->voters, c->voters_old, c->learners};
    uint32_t counts[3] = {c->n_voters, c->n_voters_old, c->n_learners};
    for (int l = 0; l < 3; l++)
        for (uint32_t i = 0; i < counts[l]; i++) {
            bool dup = false;
            for (uint32_t j = 0; j < n && !dup; j++)
                dup = out[j] == lists[l][i];
            if (!dup)
                out[n++] = lists[l][i];
        }
    return n;
}

static bool fits(const fl_raft_conf *c)
{
    fl_node_id ids[3 * FL_RAFT_CONF_IDS_MAX];
    return members(c, ids) <= FL_RAFT_NODES_MAX;
}

bool fl__conf_entry_valid(const fl_raft_entry *e)
{
    fl_raft_conf c;
    return fl_raft_conf_decode(e->data, e->len, &c) == 0 && fits(&c);
}

static fl_raft_progress fresh_progress(const fl_raft *r, fl_node_id id)
{
    fl_raft_progress pr;
    memset(&pr, 0, sizeof(pr));
    pr.id = id;
    pr.next = fl_raft_last_index(r) + 1;
    pr.state = FL_RAFT_PROBE;
    pr.recent_active = true; /* a new member gets a full check-quorum round to answer */
    return pr;
}

/* Rebuilds progress[] for the members of conf: records of members that stay are kept (a
 * leader keeps streaming to them), new members start probing at the log's end. */
static void sync_progress(fl_raft *r)
{
    fl_node_id ids[3 * FL_RAFT_CONF_IDS_MAX];
    uint32_t n = members(&r->conf, ids);
    FL_ASSERT(n <= FL_RAFT_NODES_MAX); /* checked before a configuration gets here */
    fl_raft_progress next[FL_RAFT_NODES_MAX];
    for (uint32_t i = 0; i < n; i++) {
        const fl_raft_progress *old = fl__progress(r, ids[i]);
        next[i] = old ? *old : fresh_progress(r, ids[i]);
        if (next[i].next > fl_raft_last_index(r) + 1) { /* the log was cut under it */
            next[i].next = fl_raft_last_index(r) + 1;
            if (next[i].match >= next[i].next)
                next[i].match = next[i].next - 1;
        }
    }
    memcpy(r->progress, next, n * sizeof(next[0]));
    r->n_members = n;
}

static void set_conf(fl_raft *r, const fl_raft_conf *c, fl_index index)
{
    r->conf = *c;
    r->conf_index = index;
    sync_progress(r);
}

void fl__conf_init(fl_raft *r)
{
    fl_raft_conf c;
    memset(&c, 0, sizeof(c));
    c.n_voters = r->cfg.n_voters;
    memcpy(c.voters, r->cfg.voters, c.n_voters * sizeof(c.voters[0]));
    r->conf_base = c;
    r->conf_base_index = 0;
    set_conf(r, &c, 0);
}

int fl__conf_appended(fl_raft *r, fl_index index, const fl_raft_entry *e)
{
    fl_raft_conf c;
    if (fl_raft_conf_decode(e->data, e->len, &c) || !fits(&c))
        return FL_ECORRUPT;
    set_conf(r, &c, index);
    return 0;
}

/* The latest CONFIG entry at or below index in the log (0 if none), decoded into out. */
static fl_index latest_at(const fl_raft *r, fl_index index, fl_raft_conf *out)
{
    fl_index last = fl_raft_last_index(r);
    if (index > last)
        index = last;
    for (fl_index i = index; i >= r->first_index && i > r->conf_base_index && i > 0; i--) {
        const fl_raft_entry *e = fl_raft_entry_at(r, i);
        if (e->type == FL_RAFT_ENTRY_CONFIG && fl_raft_conf_decode(e->data, e->len, out) == 0)
            return i;
    }
    *out = r->conf_base;
    return 0;
}

void fl__conf_truncated(fl_raft *r, fl_index from)
{
    if (r->conf_index < from)
        return;
    fl_raft_conf c;
    fl_index at = latest_at(r, from - 1, &c); /* the entries >= from are gone already */
    set_conf(r, &c, at);
}

bool fl__conf_valid(const fl_raft_conf *c)
{
    return fl_raft_conf_check(c, NULL, 0) == 0 && fits(c);
}

void fl__conf_restore(fl_raft *r, const fl_raft_conf *c, fl_index index)
{
    FL_ASSERT(fl__conf_valid(c)); /* checked where it came in (disk, network) */
    r->conf_base = *c;
    r->conf_base_index = index;
    fl_raft_conf cur;
    fl_index at = latest_at(r, fl_raft_last_index(r), &cur);
    set_conf(r, &cur, at);
}

void fl__conf_at(const fl_raft *r, fl_index index, fl_raft_conf *out)
{
    latest_at(r, index, out);
}

bool fl__is_voter(const fl_raft *r, fl_node_id id)
{
    return fl_raft_conf_is_voter(&r->conf, id);
}

/* A voter campaigns. So does a node that the latest configuration removes while that one is
 * not known committed, if it was a voter before: until C(new) commits it may be the only one
 * holding the entries the others need (thesis 4.2.2); it still needs the votes of a quorum
 * of the latest configuration, which does not count its own. */
bool fl__may_campaign(const fl_raft *r)
{
    if (fl__is_voter(r, r->cfg.id))
        return true;
    if (r->conf_index == 0 || r->conf_index <= r->commit)
        return false;
    fl_raft_conf prev;
    latest_at(r, r->conf_index - 1, &prev);
    return fl_raft_conf_is_voter(&prev, r->cfg.id);
}

fl_raft_progress *fl__progress(fl_raft *r, fl_node_id id)
{
    for (uint32_t i = 0; i < r->n_members; i++)
        if (r->progress[i].id == id)
            return &r->progress[i];
    return NULL;
}

/* ---- quorums ----------------------------------------------------------------------------- */

/* The largest v such that a majority of ids has value >= v. */
static uint64_t majority_value(const fl_raft *r, const fl_node_id *ids, uint32_t n,
                               fl__member_value fn)
{
    uint64_t v[FL_RAFT_CONF_IDS_MAX];
    for (uint32_t i = 0; i < n; i++) {
        /* ids usually list the members in progress order: try the same slot first */
        const fl_raft_progress *pr = i < r->n_members && r->progress[i].id == ids[i]
                                         ? &r->progress[i]
                                         : fl__progress((fl_raft *)r, ids[i]);
        uint64_t x = pr ? fn(r, pr) : 0;
        uint32_t j = i;
        for (; j > 0 && v[j - 1] < x; j--) /* insertion, largest first */
            v[j] = v[j - 1];
        v[j] = x;
    }
    return n ? v[n / 2] : 0;
}

uint64_t fl__quorum_value(const fl_raft *r, fl__member_value fn)
{
    uint64_t v = majority_value(r, r->conf.voters, r->conf.n_voters, fn);
    if (fl_raft_conf_is_joint(&r->conf) && !MUTANT(r, JOINT_NEW_ONLY)) {
        uint64_t old = majority_value(r, r->conf.voters_old, r->conf.n_voters_old, fn);
        if (old < v)
            v = old; /* joint: both majorities must agree */
    }
    return v;
}

/* ---- changes ----------------------------------------------------------------------------- */

static bool change_in_flight(const fl_raft *r)
{
    return fl_raft_conf_is_joint(&r->conf) || r->conf_index > r->commit;
}

static int append_conf(fl_raft *r, const fl_raft_conf *c)
{
    fl_buf b;
    fl_buf_init(&b);
    int rc = fl_raft_conf_encode(c, &b);
    if (!rc)
        rc = fl__log_append(r, r->term, FL_RAFT_ENTRY_CONFIG, b.data, (uint32_t)b.len);
    fl_buf_free(&b);
    return rc;
}

/* Every voter of want that is not a voter now must be a learner now, caught up. */
static int check_promotions(fl_raft *r, const fl_raft_conf *want)
{
    for (uint32_t i = 0; i < want->n_voters; i++) {
        fl_node_id id = want->voters[i];
        if (fl_raft_conf_is_voter(&r->conf, id))
            continue;
        if (!fl_raft_conf_is_learner(&r->conf, id))
            return FL_EINVAL; /* add it as a learner first, so it catches up unnoticed */
        const fl_raft_progress *pr = fl__progress(r, id);
        if (!pr || pr->match + FL_RAFT_CATCHUP_GAP < fl_raft_last_index(r))
            return FL_ELAGGING;
    }
    return 0;
}

static bool same_voters(const fl_raft_conf *a, const fl_raft_conf *b)
{
    fl_raft_conf x = *a, y = *b;
    x.n_learners = y.n_learners = 0;
    x.n_voters_old = y.n_voters_old = 0;
    return fl_raft_conf_equal(&x, &y);
}

int fl__change(fl_raft *r, const fl_raft_conf *want, fl_raft_update *up)
{
    if (r->role != FL_RAFT_LEADER)
        return FL_ENOTLEADER;
    if (!want || want->n_voters_old || fl_raft_conf_check(want, NULL, 0))
        return FL_EINVAL;
    if (r->transfer_to || change_in_flight(r) || fl_raft_term_at(r, r->commit) != r->term)
        return FL_EBUSY; /* one change at a time, from a committed base (thesis 4.1, 4.3) */
    if (fl_raft_conf_equal(want, &r->conf))
        return FL_EINVAL;
    int rc = check_promotions(r, want);
    if (rc)
        return rc;
    fl_raft_conf next = *want;
    if (!same_voters(want, &r->conf)) {
        next.n_voters_old = r->conf.n_voters;
        memcpy(next.voters_old, r->conf.voters, sizeof(next.voters_old));
    }
    if (fl_raft_conf_check(&next, NULL, 0))
        return FL_EINVAL; /* e.g. an old voter listed as a learner while joint */
    if (!fits(&next))
        return FL_ETOOBIG;
    rc = append_conf(r, &next);
    if (rc)
        return rc;
    up->proposed_index = fl_raft_last_index(r);
    up->proposed_term = r->term;
    fl__replicate_all(r);
    return 0;
}

void fl__conf_committed(fl_raft *r)
{
    /* (conf_index 0: the base configuration, committed by definition; a snapshot's may be
     * C(old,new), which the leader must leave like one in its log) */
    if (r->role != FL_RAFT_LEADER || r->conf_index > r->commit)
        return;
    if (fl_raft_conf_is_joint(&r->conf)) {
        fl_raft_conf c = r->conf; /* C(O,N) committed: now C(N) */
        c.n_voters_old = 0;
        memset(c.voters_old, 0, sizeof(c.voters_old));
        int rc = append_conf(r, &c);
        FL_ASSERT(rc == 0 || rc == FL_ENOMEM);
        if (rc == 0)
            fl__replicate_all(r);
        return;
    }
    if (fl__is_voter(r, r->cfg.id) || MUTANT(r, REMOVED_LEADER_HEARTBEATS))
        return;
    /* C(N) without us committed: our job is done; the others elect a leader among them. */
    fl__become_follower(r, r->term, FL_NODE_NONE);
}
