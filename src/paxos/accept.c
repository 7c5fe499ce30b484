/* accept.c: phase 2 (ACCEPT / ACCEPTED), learning the chosen prefix, and catching up lagging
 * replicas; the leader's side (becoming leader, progress, heartbeats, choosing) and the
 * acceptor's side.
 *
 * A leader keeps, per slot of its log, the set of members known to have durably accepted it
 * at its ballot (acks; its own bit once its own persist request is durable). A slot is
 * chosen when q2 members hold it; commit, the chosen prefix, advances over chosen slots in
 * order. Per follower it keeps next (the next slot to send, up to inflight_max ACCEPTs ahead
 * of answers) and match (the follower's prefix known chosen or accepted at our ballot); a
 * follower whose match has not moved for a heartbeat while slots after it are outstanding is
 * sent them again from match + 1 (a lost ACCEPT, a restarted follower, a lagging one), or
 * the snapshot when those slots are compacted away.
 *
 * Invariants:
 *   - a leader writes only its own ballot into its log, one value per slot; commit only
 *     passes slots whose acks reach q2 (or that were chosen before it led);
 *   - an acceptor accepts only at a ballot >= its promise, and raises its promise to it;
 *   - a follower's commit never passes its match for the leader it follows: it marks a slot
 *     chosen only when it holds that leader's value there (accepted at its ballot). */
#include "paxos_int.h"

#include "faultline/assert.h"

#include <string.h>

uint64_t fl__px_next_ctx(fl_paxos *p)
{
    uint64_t ctx = ++p->ctx_next;
    p->sent[ctx % FL_PAXOS_SENT_RING] = (struct fl_paxos_sent){ctx, p->now};
    return ctx;
}

static uint32_t bit_of(const fl_paxos *p, const fl_paxos_peer *pr)
{
    return 1u << (uint32_t)(pr - p->peers);
}

/* Sends slots next .. (batched) to one follower, or a snapshot chunk when next is compacted. */
static void send_accept(fl_paxos *p, fl_paxos_peer *pr)
{
    if (pr->next < p->first_index) {
        fl__px_send_snapshot(p, pr);
        return;
    }
    fl_index last = fl_paxos_last_index(p);
    size_t n = 0, bytes = 0;
    while (pr->next + n <= last && n < p->cfg.batch_entries_max) {
        const fl_paxos_entry *e = fl__px_slot(p, pr->next + n);
        if (n > 0 && bytes + e->len > p->cfg.batch_bytes_max)
            break;
        bytes += e->len;
        n++;
    }
    fl_paxos_msg *m = fl__px_out(p, FL_PAXOS_MSG_ACCEPT, pr->id);
    m->ballot = p->ballot;
    m->u.accept.first = pr->next;
    m->u.accept.commit = p->commit;
    m->u.accept.ctx = fl__px_next_ctx(p);
    m->u.accept.n_entries = (uint32_t)n;
    m->u.accept.entries = n ? fl__px_slot(p, pr->next) : NULL;
    if (n) {
        pr->next += n;
        pr->inflight++;
    }
}

static void maybe_send(fl_paxos *p, fl_paxos_peer *pr)
{
    if (pr->snapshotting)
        return; /* one chunk per answer, and again at heartbeats */
    while (pr->next <= fl_paxos_last_index(p) && pr->inflight < p->cfg.inflight_max &&
           !pr->snapshotting)
        send_accept(p, pr);
}

void fl__px_replicate_all(fl_paxos *p)
{
    for (uint32_t i = 0; i < p->n_peers; i++)
        if (i != p->self_index)
            maybe_send(p, &p->peers[i]);
}

/* An empty ACCEPT to every follower: carries commit, proves we lead, and its answers are a
 * read round and a lease renewal. */
void fl__px_heartbeat_all(fl_paxos *p)
{
    for (uint32_t i = 0; i < p->n_peers; i++) {
        fl_paxos_peer *pr = &p->peers[i];
        if (i == p->self_index)
            continue;
        if (pr->snapshotting) {
            fl__px_send_snapshot(p, pr);
            continue;
        }
        fl_paxos_msg *m = fl__px_out(p, FL_PAXOS_MSG_ACCEPT, pr->id);
        m->ballot = p->ballot;
        m->u.accept.first = pr->next;
        m->u.accept.commit = p->commit;
        m->u.accept.ctx = fl__px_next_ctx(p);
    }
}

/* The value phase 1 settled for slot s: the highest-ballot one a promise showed, else a
 * no-op (the gap). Writes it into our log at our ballot: our own acceptance. */
static void repropose(fl_paxos *p, fl_index s)
{
    size_t i = (size_t)(s - p->p1_from);
    const fl_paxos_entry *v = i < p->rec_count ? &p->rec[i] : NULL;
    int rc;
    if (v && v->type != FL_PAXOS_ENTRY_EMPTY)
        rc = fl__px_log_set(p, s, p->ballot, v->type, v->data, v->len);
    else if (MUTANT(p, SKIP_GAP_FILL))
        rc = fl__px_log_reserve(p, s); /* the bug: the gap stays empty, never proposed */
    else
        rc = fl__px_log_set(p, s, p->ballot, FL_PAXOS_ENTRY_NOOP, NULL, 0);
    FL_ASSERT(rc == 0);
}

void fl__px_become_leader(fl_paxos *p)
{
    FL_ASSERT(p->role == FL_PAXOS_CANDIDATE);
    p->role = FL_PAXOS_LEADER;
    p->leader = p->cfg.id;
    if (p->log_count)
        memset(p->acks, 0, p->log_count * sizeof(*p->acks));
    for (fl_index s = p->p1_from; s <= p->p1_end; s++)
        repropose(p, s);
    fl__px_rec_free(p);
    for (uint32_t i = 0; i < p->n_peers; i++) {
        fl_paxos_peer *pr = &p->peers[i];
        pr->next = p->p1_from;
        pr->match = 0;
        pr->match_at_heartbeat = 0;
        pr->inflight = 0;
        pr->recent_active = true;
        pr->ctx_acked = 0;
        pr->acked_sent_ns = 0;
        pr->snapshotting = false;
    }
    p->heartbeat_deadline = p->now + p->cfg.heartbeat_ns;
    p->quorum_deadline = p->now + p->cfg.election_timeout_ns;
    fl__px_replicate_all(p);
    fl__px_heartbeat_all(p);
}

void fl__px_self_accepted(fl_paxos *p, fl_index from, fl_index last)
{
    uint32_t bit = 1u << p->self_index;
    if (from < p->first_index)
        from = p->first_index;
    if (last > fl_paxos_last_index(p))
        last = fl_paxos_last_index(p);
    for (fl_index s = from; s <= last; s++)
        if (fl__px_slot(p, s)->ballot == p->ballot)
            p->acks[s - p->first_index] |= bit;
}

void fl__px_maybe_commit(fl_paxos *p)
{
    FL_ASSERT(p->role == FL_PAXOS_LEADER);
    while (p->commit < fl_paxos_last_index(p)) {
        const fl_paxos_entry *e = fl__px_slot(p, p->commit + 1);
        if (e->type == FL_PAXOS_ENTRY_EMPTY || e->ballot != p->ballot)
            break;
        if ((uint32_t)__builtin_popcount(p->acks[p->commit + 1 - p->first_index]) < p->q2)
            break;
        p->commit++;
    }
}

void fl__px_tick_leader(fl_paxos *p)
{
    if (p->now >= p->quorum_deadline) {
        uint32_t active = 0;
        for (uint32_t i = 0; i < p->n_peers; i++) {
            active += i == p->self_index || p->peers[i].recent_active;
            p->peers[i].recent_active = false;
        }
        if (active < p->q2) {
            fl__px_preempted(p, p->promised); /* cut off: let someone who can lead do it */
            return;
        }
        p->quorum_deadline = p->now + p->cfg.election_timeout_ns;
    }
    if (p->now < p->heartbeat_deadline)
        return;
    for (uint32_t i = 0; i < p->n_peers; i++) {
        fl_paxos_peer *pr = &p->peers[i];
        if (i == p->self_index || pr->snapshotting)
            continue;
        if (pr->match == pr->match_at_heartbeat && (pr->next > pr->match + 1 || pr->inflight)) {
            pr->next = pr->match + 1; /* stalled: send again from its prefix */
            pr->inflight = 0;
        }
        pr->match_at_heartbeat = pr->match;
    }
    fl__px_replicate_all(p);
    fl__px_heartbeat_all(p);
    p->heartbeat_deadline = p->now + p->cfg.heartbeat_ns;
}

fl_paxos_peer *fl__px_response_from(fl_paxos *p, const fl_paxos_msg *m, uint64_t ctx)
{
    if (p->role != FL_PAXOS_LEADER || m->ballot != p->ballot)
        return NULL;
    fl_paxos_peer *pr = fl__px_peer(p, m->from);
    if (!pr || pr == &p->peers[p->self_index])
        return NULL;
    pr->recent_active = true;
    if (ctx > pr->ctx_acked && ctx <= p->ctx_next) {
        pr->ctx_acked = ctx;
        const struct fl_paxos_sent *s = &p->sent[ctx % FL_PAXOS_SENT_RING];
        if (s->ctx == ctx && s->at > pr->acked_sent_ns)
            pr->acked_sent_ns = s->at;
    }
    return pr;
}

static void ack_range(fl_paxos *p, const fl_paxos_peer *pr, fl_index from, fl_index to)
{
    uint32_t bit = bit_of(p, pr);
    if (from < p->first_index)
        from = p->first_index;
    if (to > fl_paxos_last_index(p))
        to = fl_paxos_last_index(p);
    for (fl_index s = from; s <= to; s++)
        if (fl__px_slot(p, s)->ballot == p->ballot)
            p->acks[s - p->first_index] |= bit;
}

void fl__px_recv_accepted(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_accepted *a = &m->u.accepted;
    if (!a->ok) {
        if (a->promised > p->ballot && m->ballot == p->ballot && p->role == FL_PAXOS_LEADER)
            fl__px_preempted(p, a->promised);
        else if (a->promised > p->max_seen)
            p->max_seen = a->promised;
        return;
    }
    fl_paxos_peer *pr = fl__px_response_from(p, m, a->ctx);
    if (!pr)
        return;
    if (a->last >= a->first && pr->inflight)
        pr->inflight--;
    fl_index last = fl_paxos_last_index(p);
    /* the slots this answer accepted, and those its match newly covers (an earlier answer
     * for them may have been lost) */
    ack_range(p, pr, a->first, a->last);
    if (a->match > pr->match) {
        ack_range(p, pr, pr->match + 1, a->match);
        pr->match = a->match < last ? a->match : last;
    } else if (a->match < pr->match && a->ctx == pr->ctx_acked) {
        /* the newest answer holds less: it restarted, and its commit (volatile) no longer
         * covers slots it holds at older ballots. Send them again. */
        pr->match = a->match;
        pr->next = a->match + 1;
        pr->inflight = 0;
    }
    if (pr->next <= pr->match)
        pr->next = pr->match + 1;
    fl__px_maybe_commit(p);
    maybe_send(p, pr);
}

/* FOLLOWER: the prefix we hold chosen, or accepted at the leader's ballot. */
static void advance_match(fl_paxos *p)
{
    if (p->match < p->commit)
        p->match = p->commit;
    /* Slots before the log are in the snapshot (chosen), also while a received one is being
     * installed: its request compacted the log before commit reaches it (snapshot.c). What
     * this lets the leader learn waits for that request too (ACCEPTED is held). */
    if (p->match + 1 < p->first_index)
        p->match = p->first_index - 1;
    fl_index last = fl_paxos_last_index(p);
    while (p->match < last) {
        const fl_paxos_entry *e = fl__px_slot(p, p->match + 1);
        if (e->type == FL_PAXOS_ENTRY_EMPTY || e->ballot != p->match_ballot)
            break;
        p->match++;
    }
}

void fl__px_follower_learn(fl_paxos *p, fl_index leader_commit)
{
    advance_match(p);
    fl_index c = leader_commit < p->match ? leader_commit : p->match;
    if (c > p->commit)
        p->commit = c;
}

/* Writes the ACCEPT's values; returns how many slots it answers for (all of them, or none
 * when they start too far past our log: a leader that far ahead resends from our match, so
 * a bogus slot number cannot make us allocate without bound). */
static uint32_t accept_values(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_accept *a = &m->u.accept;
    if (p->match_ballot != m->ballot) {
        p->match_ballot = m->ballot;
        p->match = p->commit;
    }
    fl_index ahead =
        (fl_index)p->cfg.inflight_max * p->cfg.batch_entries_max + FL_PAXOS_PROMISE_ENTRIES_MAX;
    if (a->first > fl_paxos_last_index(p) + 1 + ahead)
        return 0;
    for (uint32_t i = 0; i < a->n_entries; i++) {
        fl_index s = a->first + i;
        const fl_paxos_entry *e = &a->entries[i];
        if (e->type == FL_PAXOS_ENTRY_EMPTY || s <= p->commit || s < p->first_index)
            continue; /* nothing proposed there, or already known chosen */
        int rc = fl__px_log_set(p, s, m->ballot, e->type, e->data, e->len);
        FL_ASSERT(rc == 0); /* out of memory: fatal, as for the Raft log */
        if (s <= p->match)
            p->match = s - 1; /* (only a mutant overwrites a slot of match_ballot) */
    }
    return a->n_entries;
}

void fl__px_refuse(fl_paxos *p, const fl_paxos_msg *m, uint64_t ctx)
{
    fl_paxos_msg *r = fl__px_out(p, FL_PAXOS_MSG_ACCEPTED, m->from);
    r->ballot = m->ballot;
    r->u.accepted.promised = p->promised; /* the deposed leader learns what deposed it */
    r->u.accepted.ctx = ctx;
}

void fl__px_recv_accept(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_accept *a = &m->u.accept;
    if (fl_paxos_ballot_owner(m->ballot) != m->from)
        return;
    bool below = m->ballot < p->promised;
    if (below && !MUTANT(p, ACCEPT_BELOW_PROMISE)) { /* phase 2b: never below the promise */
        fl__px_refuse(p, m, a->ctx);
        return;
    }
    if (!below)
        fl__px_follow(p, m->ballot, m->from);
    uint32_t n = accept_values(p, m);
    if (!below)
        fl__px_follower_learn(p, a->commit);
    else
        advance_match(p);
    fl_paxos_msg resp = {.type = FL_PAXOS_MSG_ACCEPTED, .from = p->cfg.id, .to = m->from};
    resp.ballot = m->ballot;
    resp.u.accepted.ctx = a->ctx;
    resp.u.accepted.ok = true;
    resp.u.accepted.first = a->first;
    resp.u.accepted.last = a->first + n - 1;
    resp.u.accepted.match = p->match;
    fl__px_hold(p, &resp); /* acknowledges acceptances: only once they are durable */
}
