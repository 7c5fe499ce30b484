/* read.c: linearizable reads without a log write: ReadIndex (Raft thesis 6.4).
 *
 * A read arriving at the leader is registered at the current commit index (once the leader
 * has committed an entry of its own term, which its no-op does). The read is confirmed when a
 * quorum (the leader included) has answered an AppendEntries sent after the read arrived: at
 * that moment no other leader can have committed anything the read index misses. It is
 * released once applied >= its index, in the update, after that update's entries. A leader
 * that steps down fails its reads.
 *
 * Batching: one heartbeat round confirms every read that arrived before it was sent, whoever
 * asked (this node's clients, a pipeline, a follower's READ_INDEX). A round goes out when the
 * newest read waiting arrived after the last round was sent, so every read is covered by the
 * first round after it, but at most cfg.read_rounds_max rounds are in flight (1 by default):
 * reads arriving while the round is out wait for the next, which leaves as soon as that one
 * is answered, for all of them. So at most a round per round trip however fast the loop
 * turns, and a read waits about two round trips at most while no message is lost (issue 16:
 * a round per loop pass, up to 8 in flight, let the count follow the loop's pace; measured on
 * a loaded 2-core VM both came to about one round per 10 reads of 50 clients). A round goes
 * to a majority's worth of followers only (fl__read_round). Each round is remembered by the
 * first ctx it sent; an answer echoing a ctx confirms every round at or below it (ctx_acked
 * is the highest ctx a follower answered); a lost round is confirmed by the next periodic
 * heartbeat's answers. The server asks the core for one read per pass of its event loop, and
 * that read sends the round at once when none is out. A follower's READ_INDEX arrives as
 * a message of its own, one step each: a round per request would be one per follower per
 * pass. So only our own read sends a round; any other step that leaves the newest read
 * without one owes it (read_round_due), and the deadline becomes now: the host's tick at the
 * end of its batch of messages (the server: after the loop pass's I/O) sends one round for
 * every read that came before, unless our own read sent it first. Any AppendEntries sent
 * after a read (replication, heartbeats) confirms it as well. Reads wait in
 * a ring in arrival order: their rounds and indexes never decrease along it, so they are
 * decided from the head, with the quorum computed once per step (not once per read).
 *
 * A read at a follower or learner (thesis 6.4) asks the leader with READ_INDEX; the leader
 * registers it like its own (from = the follower) and answers READ_INDEX_RESP when decided.
 * The follower then waits until it has applied up to that index: its state machine is then
 * at least as new as the leader's was when leadership was confirmed after the read arrived.
 * The index is committed, so the follower commits its log up to it at once, as far as that
 * log is known to match the leader's (its last successful AppendEntries from it this term),
 * instead of waiting for the leader's next AppendEntries to carry the commit index.
 * It fails the read if its leader, term or role changes, if it has not heard from that
 * leader for an election timeout (removed, or cut off: it would never apply that far), or if
 * no answer came within an election timeout (a lost request or answer).
 *
 * Invariants: every pending read has round > 0 and arrived while this node led this term;
 * along the ring, rounds do not decrease, nor do indexes once set; the rounds in flight
 * increase and none is past ctx_next; every forwarded read was asked of fwd.leader in term
 * fwd.term while a follower. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static void emit(fl_raft *r, uint64_t ctx, fl_index index, bool ok)
{
    if (r->reads_out_count == r->reads_out_cap) {
        size_t cap = r->reads_out_cap ? r->reads_out_cap * 2 : 16;
        fl_raft_read *p = realloc(r->reads_out, cap * sizeof(*p));
        FL_ASSERT(p != NULL); /* bounded by FL_RAFT_READS_MAX */
        r->reads_out = p;
        r->reads_out_cap = cap;
    }
    r->reads_out[r->reads_out_count++] = (fl_raft_read){ctx, index, ok};
}

static uint64_t acked_sent_of(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->id == r->cfg.id ? r->now : pr->acked_sent_ns;
}

fl_time_ns fl__quorum_acked_sent(const fl_raft *r)
{
    return fl__quorum_value(r, acked_sent_of);
}

/* The lease: the quorum-th newest send time of an acknowledged AppendEntries (the leader's
 * own "now" counts as one), plus the election timeout shrunk by the declared drift bound:
 * no follower that acknowledged votes for anyone before its own timeout since it heard us. */
static bool lease_valid(const fl_raft *r)
{
    if (!r->cfg.lease_reads || r->transfer_to != FL_NODE_NONE)
        return false;
    fl_time_ns since = fl__quorum_acked_sent(r);
    if (since == 0)
        return false;
    double d = MUTANT(r, LEASE_NO_DRIFT) ? 0.0 : (double)r->cfg.max_drift_ppm;
    fl_time_ns lease = (fl_time_ns)((double)r->cfg.election_timeout_ns * (1e6 - d) / (1e6 + d));
    return r->now < since + lease;
}

/* A leader's read is decided: our own goes into the update, a follower's back to it. */
static void decide(fl_raft *r, fl_node_id from, uint64_t ctx, fl_index index, bool ok)
{
    if (from == FL_NODE_NONE) {
        emit(r, ctx, index, ok);
        return;
    }
    fl_raft_msg *m = fl__out(r, FL_RAFT_MSG_READ_INDEX_RESP, from);
    m->u.read_index = (fl_raft_read_index){ctx, index, ok};
}

static struct fl_raft_pending_read *pending_at(fl_raft *r, size_t i)
{
    return &r->reads[(r->reads_head + i) % FL_RAFT_READS_MAX];
}

/* LEADER: a read from from (FL_NODE_NONE: our own), decided at once within the lease or
 * registered for the next confirmation round. */
static int leader_read(fl_raft *r, fl_node_id from, uint64_t ctx)
{
    FL_ASSERT(r->role == FL_RAFT_LEADER);
    if (fl_raft_term_at(r, r->commit) == r->term && lease_valid(r)) {
        r->lease_reads_served++;
        decide(r, from, ctx, r->commit, true); /* within the lease: no round needed */
        return 0;
    }
    if (r->reads_count == FL_RAFT_READS_MAX)
        return FL_EBUSY;
    struct fl_raft_pending_read *p = pending_at(r, r->reads_count++);
    p->ctx = ctx;
    /* the commit index now; before the leader committed in its term, set once it has */
    p->index = fl_raft_term_at(r, r->commit) == r->term ? r->commit : 0;
    p->round = r->ctx_next + 1;
    p->from = from;
    /* our own read: a round goes out unless all are in flight; a follower's waits for the
     * end of the batch (the tick at the deadline this makes now), with the others */
    fl__reads_advance(r, from == FL_NODE_NONE);
    return 0;
}

/* A follower's leader is heard from: within an election timeout. A node removed from the
 * configuration (or cut off) may remember a leader that no longer sends it anything. */
static bool leader_heard(const fl_raft *r)
{
    return r->role == FL_RAFT_FOLLOWER && r->leader != FL_NODE_NONE &&
           r->now - r->leader_contact < r->cfg.election_timeout_ns;
}

/* FOLLOWER (a learner too) that hears from a leader: ask it for a read index. */
static int follower_read(fl_raft *r, uint64_t ctx)
{
    if (!leader_heard(r))
        return FL_ENOTLEADER;
    if (r->fwd_reads_count == FL_RAFT_READS_MAX)
        return FL_EBUSY;
    r->fwd_reads[r->fwd_reads_count++] =
        (struct fl_raft_fwd_read){ctx, r->leader, r->term, 0, r->now};
    fl_raft_msg *m = fl__out(r, FL_RAFT_MSG_READ_INDEX, r->leader);
    m->u.read_index.ctx = ctx;
    return 0;
}

int fl__read(fl_raft *r, uint64_t ctx)
{
    if (r->role != FL_RAFT_LEADER)
        return follower_read(r, ctx);
    return leader_read(r, FL_NODE_NONE, ctx);
}

void fl__recv_read_index(fl_raft *r, const fl_raft_msg *m)
{
    if (r->role != FL_RAFT_LEADER || m->term != r->term ||
        leader_read(r, m->from, m->u.read_index.ctx) != 0)
        decide(r, m->from, m->u.read_index.ctx, 0, false); /* not (or no longer) leading */
}

static void fwd_remove(fl_raft *r, size_t i)
{
    r->fwd_reads[i] = r->fwd_reads[--r->fwd_reads_count];
}

/* The leader's read index is committed: so is our log up to it, as far as we verified our
 * log against that leader (its entries there are ours). Without this the read would wait for
 * the leader's next AppendEntries to carry the commit index. */
static void commit_read_index(fl_raft *r, fl_node_id leader, fl_index index)
{
    if (r->lm_term != r->term || r->lm_leader != leader)
        return;
    fl_index c = index < r->leader_match ? index : r->leader_match;
    if (c > r->commit && c <= fl_raft_last_index(r))
        r->commit = c;
}

void fl__recv_read_index_resp(fl_raft *r, const fl_raft_msg *m)
{
    const fl_raft_read_index *a = &m->u.read_index;
    for (size_t i = 0; i < r->fwd_reads_count; i++) {
        struct fl_raft_fwd_read *f = &r->fwd_reads[i];
        if (f->ctx != a->ctx || f->leader != m->from || f->term != m->term || f->index)
            continue;
        if (!a->ok || a->index == 0) {
            emit(r, f->ctx, 0, false);
            fwd_remove(r, i);
        } else if (MUTANT(r, FOLLOWER_READ_UNAPPLIED)) {
            r->follower_reads_served++;
            emit(r, f->ctx, a->index, true); /* the bug: the state machine may lag */
            fwd_remove(r, i);
        } else {
            f->index = a->index; /* served once applied reaches it (fl__fwd_reads_advance) */
            commit_read_index(r, m->from, a->index);
        }
        return;
    }
}

void fl__fwd_reads_advance(fl_raft *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->fwd_reads_count; i++) {
        struct fl_raft_fwd_read f = r->fwd_reads[i];
        bool same = leader_heard(r) && r->leader == f.leader && r->term == f.term;
        if (same && f.index && r->applied >= f.index) {
            r->follower_reads_served++;
            emit(r, f.ctx, f.index, true);
        } else if (!same || (!f.index && r->now - f.asked_ns >= r->cfg.election_timeout_ns)) {
            emit(r, f.ctx, 0, false); /* leader lost, or the request or answer was lost */
        } else {
            r->fwd_reads[kept++] = f;
        }
    }
    r->fwd_reads_count = kept;
}

static uint64_t ctx_acked_of(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->id == r->cfg.id ? UINT64_MAX : pr->ctx_acked;
}

/* The newest round a quorum has answered (the leader counts as answering every round). */
static uint64_t round_confirmed(const fl_raft *r)
{
    if (MUTANT(r, READ_NO_CONFIRM))
        return UINT64_MAX; /* the bug: trusts that it still leads */
    return fl__quorum_value(r, ctx_acked_of);
}

/* Forgets the rounds a quorum has answered. */
static void rounds_confirmed(fl_raft *r, uint64_t acked)
{
    size_t done = 0;
    while (done < r->read_rounds_count && r->read_rounds[done] <= acked)
        done++;
    r->read_rounds_count -= done;
    memmove(r->read_rounds, r->read_rounds + done, r->read_rounds_count * sizeof(uint64_t));
}

static size_t rounds_max(const fl_raft *r)
{
    return r->cfg.read_rounds_max ? r->cfg.read_rounds_max : 1;
}

/* The newest read needs a round sent after it, unless one was; one for every read waiting.
 * Not flushing, the round is owed (sent at the next tick or our own next read). */
static void maybe_send_round(fl_raft *r, uint64_t acked, bool flush)
{
    uint64_t newest = pending_at(r, r->reads_count - 1)->round;
    size_t n = r->read_rounds_count;
    r->read_round_due = false;
    if (newest <= acked || (n > 0 && newest <= r->read_rounds[n - 1]))
        return; /* confirmed already, or a round sent after it is in flight */
    if (n >= rounds_max(r))
        return; /* it waits for the oldest round's answer: that step comes back here */
    if (!flush) {
        r->read_round_due = true;
        return;
    }
    r->read_rounds[r->read_rounds_count++] = r->ctx_next + 1;
    r->read_rounds_sent++;
    fl__read_round(r);
}

void fl__reads_advance(fl_raft *r, bool flush)
{
    if (r->role != FL_RAFT_LEADER || r->reads_count == 0) {
        r->read_round_due = false;
        return;
    }
    /* reads that came before the leader committed in its term: their index is now */
    if (fl_raft_term_at(r, r->commit) == r->term)
        for (size_t i = 0; i < r->reads_count && pending_at(r, i)->index == 0; i++)
            pending_at(r, i)->index = r->commit;
    uint64_t acked = round_confirmed(r);
    rounds_confirmed(r, acked);
    while (r->reads_count) {
        const struct fl_raft_pending_read *p = pending_at(r, 0);
        if (p->index == 0 || p->index > r->commit || p->round > acked)
            break; /* nor can any later one be decided */
        decide(r, p->from, p->ctx, p->index, true);
        r->reads_head = (r->reads_head + 1) % FL_RAFT_READS_MAX;
        r->reads_count--;
    }
    if (r->reads_count == 0) {
        r->reads_head = 0;
        r->read_round_due = false;
        return;
    }
    maybe_send_round(r, acked, flush);
}

void fl__reads_flush(fl_raft *r)
{
    if (r->read_round_due)
        fl__reads_advance(r, true);
}

void fl__reads_fail_all(fl_raft *r)
{
    for (size_t i = 0; i < r->reads_count; i++)
        decide(r, pending_at(r, i)->from, pending_at(r, i)->ctx, 0, false);
    r->reads_head = r->reads_count = 0;
    r->read_rounds_count = 0;
    r->read_round_due = false;
}
