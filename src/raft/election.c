/* election.c: election timeouts, pre-vote, RequestVote, and the follower/candidate roles.
 *
 * Safety rests on: one vote per term, made durable before it is announced (fl__hold); the
 * up-to-date check on the candidate's log (Raft 5.4.1); a candidate counting its own vote
 * only once that vote is durable. Liveness rests on randomized timeouts drawn from the
 * node's own seeded generator, pre-vote (a node that cannot win does not raise terms) and
 * the lease check (a follower that hears from a live leader ignores disruptive candidates). */
#include "raft_int.h"

#include "faultline/assert.h"

void fl__reset_election_timer(fl_raft *r)
{
    fl_time_ns base = r->cfg.election_timeout_ns;
    r->election_deadline = r->now + base + fl_rng_below(&r->rng, base);
}

void fl__become_follower(fl_raft *r, fl_term term, fl_node_id leader)
{
    FL_ASSERT(term >= r->term);
    if (r->role == FL_RAFT_LEADER)
        fl__reads_fail_all(r); /* a deposed leader cannot confirm its reads */
    if (term > r->term) {
        r->term = term;
        r->vote = FL_NODE_NONE;
        r->term_leader = FL_NODE_NONE;
        r->dirty_hard_state = true;
    }
    r->role = FL_RAFT_FOLLOWER;
    r->leader = leader;
    if (leader != FL_NODE_NONE)
        r->term_leader = leader;
    r->campaign_transfer = false;
    r->transfer_to = FL_NODE_NONE;
    if (leader != FL_NODE_NONE)
        r->leader_contact = r->now;
    fl__reset_election_timer(r);
}

/* Thesis 4.2.3: a server that heard from a current leader within the minimum election
 * timeout neither updates its term nor grants its vote, so candidates that cannot know of
 * the leader (a removed server, a node back from a partition without pre-vote) do not depose
 * a live one. A follower: it heard from its leader that recently. A leader: a quorum
 * acknowledged an AppendEntries it sent that recently (its heartbeats reach its cluster); with
 * check-quorum a leader is in its lease as long as it leads, as it steps down on its own once
 * that stops being true. */
bool fl__in_lease(const fl_raft *r)
{
    if (r->cfg.lease_reads && r->now < r->votes_ignored_until)
        return true; /* just started: a leader may hold a lease on our old promise */
    if (r->role == FL_RAFT_LEADER) {
        if (r->cfg.check_quorum)
            return true;
        if (MUTANT(r, LEADER_IGNORES_LEASE))
            return false; /* the bug: any higher-term vote request deposes it */
        fl_time_ns since = fl__quorum_acked_sent(r);
        return since != 0 && r->now < since + r->cfg.election_timeout_ns;
    }
    return r->role == FL_RAFT_FOLLOWER && r->leader != FL_NODE_NONE &&
           r->now < r->leader_contact + r->cfg.election_timeout_ns;
}

static void reset_votes(fl_raft *r)
{
    for (uint32_t i = 0; i < r->n_members; i++) {
        r->progress[i].vote_granted = false;
        r->progress[i].vote_responded = false;
    }
}

static void request_votes(fl_raft *r, uint8_t type, fl_term term)
{
    for (uint32_t i = 0; i < r->n_members; i++) {
        fl_raft_progress *pr = &r->progress[i];
        if (pr->id == r->cfg.id || !fl__is_voter(r, pr->id))
            continue; /* learners are not asked: their answer would not count */
        fl_raft_msg *m = fl__out(r, type, pr->id);
        m->term = term;
        m->u.vote.last_index = fl_raft_last_index(r);
        m->u.vote.last_term = fl_raft_term_at(r, m->u.vote.last_index);
        m->u.vote.transfer = r->campaign_transfer;
    }
}

static uint64_t granted(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->vote_granted;
}

static uint64_t not_refused(const fl_raft *r, const fl_raft_progress *pr)
{
    return !pr->vote_responded || pr->vote_granted;
}

/* Counts granted and refused votes over the configuration (while joint, a majority of each
 * voter set); wins, or gives up once the voters not refusing cannot make a quorum. */
static void tally(fl_raft *r)
{
    if (fl__quorum_value(r, granted)) {
        if (r->role == FL_RAFT_PRE_CANDIDATE) {
            fl__become_candidate(r); /* the pre-vote won: now the real election */
        } else {
            fl__become_leader(r);
        }
    } else if (!fl__quorum_value(r, not_refused)) {
        fl__become_follower(r, r->term, FL_NODE_NONE);
    }
}

void fl__become_candidate(fl_raft *r)
{
    r->role = FL_RAFT_CANDIDATE;
    r->term++;
    r->vote = r->cfg.id;
    r->leader = FL_NODE_NONE;
    r->term_leader = FL_NODE_NONE;
    r->dirty_hard_state = true;
    r->self_vote_wait = true; /* counted once this step's persist request is durable */
    r->self_vote_seq = 0;
    r->elections_started++;
    reset_votes(r);
    fl__reset_election_timer(r);
    request_votes(r, FL_RAFT_MSG_VOTE, r->term);
    fl_raft_progress *self = fl__progress(r, r->cfg.id);
    if (MUTANT(r, VOTE_BEFORE_DURABLE) && self) {
        self->vote_granted = self->vote_responded = true; /* the bug: counts an unsaved vote */
        tally(r);
    }
}

static void become_pre_candidate(fl_raft *r)
{
    r->role = FL_RAFT_PRE_CANDIDATE;
    r->leader = FL_NODE_NONE;
    reset_votes(r);
    fl_raft_progress *self = fl__progress(r, r->cfg.id); /* NULL: removed, yet needed */
    if (self)
        self->vote_granted = self->vote_responded = true; /* a pre-vote promises nothing */
    fl__reset_election_timer(r);
    request_votes(r, FL_RAFT_MSG_PRE_VOTE, r->term + 1);
    tally(r);
}

void fl__tick_election(fl_raft *r)
{
    FL_ASSERT(r->role != FL_RAFT_LEADER);
    if (r->now < r->election_deadline)
        return;
    if (!fl__may_campaign(r)) {
        fl__reset_election_timer(r);
        return;
    }
    r->campaign_transfer = false;
    if (r->cfg.pre_vote)
        become_pre_candidate(r);
    else
        fl__become_candidate(r);
}

void fl__recv_timeout_now(fl_raft *r, const fl_raft_msg *m)
{
    if (r->role == FL_RAFT_LEADER || m->term != r->term || !fl__is_voter(r, r->cfg.id))
        return;
    r->campaign_transfer = true;
    fl__become_candidate(r);
}

void fl__check_self_vote(fl_raft *r)
{
    if (r->role != FL_RAFT_CANDIDATE || r->self_vote_seq == 0)
        return;
    if (r->seq_durable < r->self_vote_seq)
        return;
    fl_raft_progress *self = fl__progress(r, r->cfg.id);
    if (!self || self->vote_granted)
        return; /* (a removed node's own vote does not count) */
    self->vote_granted = self->vote_responded = true;
    tally(r);
}

static bool log_up_to_date(const fl_raft *r, fl_term last_term, fl_index last_index)
{
    fl_index my_last = fl_raft_last_index(r);
    fl_term my_term = fl_raft_term_at(r, my_last);
    return last_term > my_term || (last_term == my_term && last_index >= my_last);
}

/* RequestVote and PreVote. Higher terms were handled by the caller (a real vote request made
 * us a follower of that term; a pre-vote changes nothing). */
void fl__recv_vote(fl_raft *r, const fl_raft_msg *m)
{
    bool pre = m->type == FL_RAFT_MSG_PRE_VOTE;
    uint8_t resp_type = pre ? FL_RAFT_MSG_PRE_VOTE_RESP : FL_RAFT_MSG_VOTE_RESP;
    bool can_vote;
    if (pre)
        can_vote = m->term > r->term ||
                   (m->term == r->term &&
                    (r->vote == m->from || (r->vote == FL_NODE_NONE && r->leader == FL_NODE_NONE)));
    else
        can_vote = m->term == r->term && (r->vote == FL_NODE_NONE || r->vote == m->from);
    if (pre && MUTANT(r, PREVOTE_STALE_LEADER) && r->term_leader != FL_NODE_NONE)
        can_vote = false; /* the bug: a leader heard of once is trusted forever */
    bool log_ok = MUTANT(r, VOTE_NO_LOG_CHECK) ||
                  log_up_to_date(r, m->u.vote.last_term, m->u.vote.last_index);
    fl_raft_msg resp = {.type = resp_type, .from = r->cfg.id, .to = m->from, .term = r->term};
    if (!can_vote || !log_ok) {
        *fl__out(r, resp_type, m->from) = resp;
        return;
    }
    resp.u.vote_resp.granted = true;
    if (pre) {
        resp.term = m->term; /* answer at the term the pre-candidate would stand at */
        *fl__out(r, resp_type, m->from) = resp;
        return;
    }
    if (r->vote != m->from) {
        r->vote = m->from;
        r->dirty_hard_state = true;
    }
    fl__reset_election_timer(r);
    if (MUTANT(r, VOTE_BEFORE_DURABLE))
        *fl__out(r, resp_type, m->from) = resp;
    else
        fl__hold(r, &resp);
}

void fl__recv_vote_resp(fl_raft *r, const fl_raft_msg *m)
{
    bool pre = m->type == FL_RAFT_MSG_PRE_VOTE_RESP;
    fl_raft_role want = pre ? FL_RAFT_PRE_CANDIDATE : FL_RAFT_CANDIDATE;
    fl_term want_term = pre ? r->term + 1 : r->term;
    if (r->role != want)
        return;
    if (m->term != want_term && !(pre && !m->u.vote_resp.granted && m->term == r->term))
        return; /* an answer to an older campaign */
    fl_raft_progress *pr = fl__progress(r, m->from);
    if (!pr || pr->vote_responded)
        return;
    pr->vote_responded = true;
    pr->vote_granted = m->u.vote_resp.granted;
    tally(r);
}
