/* elect.c: ballots, the failure detector, back-off, and phase 1 (PREPARE / PROMISE).
 *
 * Safety rests on: an acceptor promises a ballot only above every one it promised before,
 * and says so only once the promise is durable (fl__px_hold); a candidate counts its own
 * promise only once durable; a new leader re-proposes, per slot, the value of the highest
 * ballot any of q1 promises showed (fl__px_become_leader, accept.c). Liveness rests on the
 * failure detector (an acceptor that hears from a leader ignores other proposers for an
 * election timeout; a follower campaigns only after hearing nothing for one) and on
 * randomized back-off of preempted proposers, drawn from the node's seeded generator.
 *
 * Invariants: a candidate's ballot is promised and owned by it; its peers' p1_next never
 * pass their promises' last slot + 1; rec holds slots p1_from .. p1_from + rec_count - 1. */
#include "paxos_int.h"

#include "faultline/assert.h"

#include <stdlib.h>
#include <string.h>

fl_paxos_peer *fl__px_peer(fl_paxos *p, fl_node_id id)
{
    for (uint32_t i = 0; i < p->n_peers; i++)
        if (p->peers[i].id == id)
            return &p->peers[i];
    return NULL;
}

void fl__px_reset_election_timer(fl_paxos *p)
{
    fl_time_ns base = p->cfg.election_timeout_ns;
    fl_time_ns jitter = p->cfg.no_backoff ? 0 : fl_rng_below(&p->rng, base);
    p->election_deadline = p->now + base + jitter;
}

/* An acceptor that heard from a live leader (or a leader that checks its quorum) ignores
 * other proposers: the failure detector has not suspected the leader, and lease reads rely
 * on it. After a start with leases on, a node ignores proposers for one election timeout: it
 * may have acknowledged a leader's heartbeat just before it crashed. */
bool fl__px_in_lease(const fl_paxos *p)
{
    if (p->cfg.lease_reads && p->now < p->prepares_ignored_until)
        return true;
    if (p->role == FL_PAXOS_LEADER)
        return true;
    return p->role == FL_PAXOS_FOLLOWER && p->leader != FL_NODE_NONE &&
           p->now < p->leader_contact + p->cfg.election_timeout_ns;
}

void fl__px_rec_free(fl_paxos *p)
{
    for (size_t i = 0; i < p->rec_count; i++)
        fl__px_entry_free(&p->rec[i]);
    p->rec_count = 0;
}

/* Keeps e for slot if its ballot beats what phase 1 has for that slot. */
static void rec_merge(fl_paxos *p, fl_index slot, const fl_paxos_entry *e)
{
    if (slot < p->p1_from)
        return;
    size_t i = (size_t)(slot - p->p1_from);
    if (i >= p->rec_cap) {
        size_t cap = p->rec_cap ? p->rec_cap : 64;
        while (cap <= i)
            cap *= 2;
        fl_paxos_entry *rec = realloc(p->rec, cap * sizeof(*rec));
        FL_ASSERT(rec != NULL); /* bounded by the slots promises may show */
        p->rec = rec;
        p->rec_cap = cap;
    }
    while (p->rec_count <= i)
        memset(&p->rec[p->rec_count++], 0, sizeof(*p->rec));
    if (e->type == FL_PAXOS_ENTRY_EMPTY || e->ballot <= p->rec[i].ballot)
        return;
    fl_paxos_entry copy;
    int rc = fl__px_entry_copy(&copy, e);
    FL_ASSERT(rc == 0);
    fl__px_entry_free(&p->rec[i]);
    p->rec[i] = copy;
}

static void send_prepare(fl_paxos *p, fl_node_id to, fl_index from)
{
    fl_paxos_msg *m = fl__px_out(p, FL_PAXOS_MSG_PREPARE, to);
    m->ballot = p->ballot;
    m->u.prepare.from = from;
}

static void leave_role(fl_paxos *p)
{
    if (p->role == FL_PAXOS_LEADER)
        fl__px_reads_fail_all(p); /* a deposed leader cannot confirm its reads */
    fl__px_rec_free(p);
    p->role = FL_PAXOS_FOLLOWER;
    p->leader = FL_NODE_NONE;
    p->ballot = 0;
}

/* Phase 1 for a ballot above every one seen, for all slots from the first unchosen one. */
void fl__px_campaign(fl_paxos *p)
{
    leave_role(p);
    fl_term top = p->max_seen > p->promised ? p->max_seen : p->promised;
    p->role = FL_PAXOS_CANDIDATE;
    p->ballot = fl_paxos_ballot(fl_paxos_ballot_round(top) + 1, p->cfg.id);
    p->promised = p->max_seen = p->ballot;
    p->dirty_hard_state = true;
    p->self_promise_wait = true; /* our own promise counts once durable */
    p->self_promise_seq = 0;
    p->ballots_started++;
    p->p1_from = p->commit + 1;
    p->p1_end = p->commit;
    for (fl_index s = p->p1_from; s <= fl_paxos_last_index(p); s++)
        rec_merge(p, s, fl__px_slot(p, s)); /* our own accepted values */
    if (fl_paxos_last_index(p) > p->p1_end)
        p->p1_end = fl_paxos_last_index(p);
    for (uint32_t i = 0; i < p->n_peers; i++) {
        fl_paxos_peer *pr = &p->peers[i];
        pr->p1_done = false;
        pr->p1_next = p->p1_from;
        if (i != p->self_index)
            send_prepare(p, pr->id, p->p1_from);
    }
    fl__px_reset_election_timer(p); /* phase 1 gives up and retries higher at this deadline */
}

void fl__px_preempted(fl_paxos *p, fl_term seen)
{
    if (seen > p->max_seen)
        p->max_seen = seen;
    bool proposing = p->role != FL_PAXOS_FOLLOWER;
    if (proposing)
        p->preempted++;
    leave_role(p);
    if (!proposing && p->cfg.no_backoff)
        return; /* no back-off: a pending retry stays due (the duel goes on) */
    if (proposing && p->cfg.no_backoff) {
        /* the duel: straight back with a higher ballot, at the next tick (not in this step:
         * an answer this step owes, such as the promise that preempted us, goes out first) */
        p->election_deadline = p->now;
        return;
    }
    fl__px_reset_election_timer(p); /* random back-off before trying again */
}

void fl__px_follow(fl_paxos *p, fl_term ballot, fl_node_id leader)
{
    FL_ASSERT(ballot >= p->promised);
    if (ballot > p->promised) {
        p->promised = ballot; /* phase 2 at a higher ballot implies its promise */
        p->dirty_hard_state = true;
    }
    if (ballot > p->max_seen)
        p->max_seen = ballot;
    if (p->role != FL_PAXOS_FOLLOWER || p->ballot != ballot) {
        leave_role(p);
        p->ballot = ballot;
    }
    p->leader = leader;
    p->leader_contact = p->now;
    fl__px_reset_election_timer(p);
}

void fl__px_tick_election(fl_paxos *p)
{
    FL_ASSERT(p->role != FL_PAXOS_LEADER);
    if (p->now < p->election_deadline)
        return;
    if (p->install_seq) { /* a received snapshot waits to be durable: phase 1 starts after */
        fl__px_reset_election_timer(p);
        return;
    }
    fl__px_campaign(p);
}

/* q1 promises, ours among them once durable: lead. */
static void tally(fl_paxos *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_peers; i++)
        n += p->peers[i].p1_done;
    if (n >= p->q1)
        fl__px_become_leader(p);
}

void fl__px_check_self_promise(fl_paxos *p)
{
    if (p->role != FL_PAXOS_CANDIDATE || p->self_promise_seq == 0 ||
        p->seq_durable < p->self_promise_seq)
        return;
    fl_paxos_peer *self = &p->peers[p->self_index];
    if (self->p1_done)
        return;
    self->p1_done = true;
    tally(p);
}

void fl__px_recv_prepare(fl_paxos *p, const fl_paxos_msg *m)
{
    if (fl_paxos_ballot_owner(m->ballot) != m->from)
        return; /* a ballot is only ever prepared by its owner */
    if (m->ballot > p->promised && m->from != p->leader && fl__px_in_lease(p))
        return; /* a live leader: ignore the would-be usurper (failure detector, leases) */
    fl_paxos_msg resp = {.type = FL_PAXOS_MSG_PROMISE, .from = p->cfg.id, .to = m->from};
    resp.ballot = m->ballot;
    resp.u.promise.from = m->u.prepare.from;
    if (m->ballot < p->promised) {
        resp.u.promise.promised = p->promised; /* a refusal promises nothing: send at once */
        *fl__px_out(p, resp.type, resp.to) = resp;
        return;
    }
    if (m->ballot > p->promised) {
        fl__px_preempted(p, m->ballot);
        p->promised = m->ballot;
        p->dirty_hard_state = true;
    }
    resp.u.promise.ok = true;
    if (MUTANT(p, PROMISE_BEFORE_DURABLE)) {
        fl_paxos_msg *o = fl__px_out(p, resp.type, resp.to); /* the bug: not yet on disk */
        *o = resp;
        fl__px_promise_fill(p, o);
        return;
    }
    fl__px_hold(p, &resp);
}

/* A promise from a member for our ballot: merge its slots, ask for the rest, count it. */
static void take_promise(fl_paxos *p, fl_paxos_peer *pr, const fl_paxos_promise *a)
{
    if (a->first > pr->p1_next) {
        /* It compacted slots we lack: chosen values we cannot recover by phase 1. Whoever
         * leads catches us up; the most advanced node can always win. */
        p->campaigns_behind++;
        fl__px_preempted(p, p->promised);
        return;
    }
    if (a->from != pr->p1_next || a->last > p->p1_from + FL__P1_SLOTS_MAX)
        return; /* a duplicate, an answer to an earlier question, or a bogus last slot */
    for (uint32_t i = 0; i < a->n_entries; i++) {
        if (MUTANT(p, IGNORE_PROMISED_VALUE))
            break; /* the bug: keeps only its own log's values */
        rec_merge(p, a->from + i, &a->entries[i]);
    }
    pr->p1_next = a->from + a->n_entries;
    if (a->last > p->p1_end)
        p->p1_end = a->last;
    if (pr->p1_next > a->last) {
        pr->p1_done = true;
        tally(p);
    } else {
        send_prepare(p, pr->id, pr->p1_next); /* the rest of its slots */
    }
}

void fl__px_recv_promise(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_promise *a = &m->u.promise;
    if (!a->ok) {
        if (a->promised > p->promised && m->ballot == p->ballot && p->role != FL_PAXOS_FOLLOWER)
            fl__px_preempted(p, a->promised);
        else if (a->promised > p->max_seen)
            p->max_seen = a->promised;
        return;
    }
    if (p->role != FL_PAXOS_CANDIDATE || m->ballot != p->ballot)
        return; /* an answer to an older campaign, or we already lead */
    fl_paxos_peer *pr = fl__px_peer(p, m->from);
    if (!pr || pr->p1_done)
        return;
    take_promise(p, pr, a);
}
