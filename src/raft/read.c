/* read.c: linearizable reads without a log write: ReadIndex (Raft thesis 6.4).
 *
 * A read arriving at the leader is registered at the current commit index (once the leader
 * has committed an entry of its own term, which its no-op does), and a heartbeat round goes
 * out. The read is confirmed when a quorum (the leader included) has answered an
 * AppendEntries sent after the read arrived: at that moment no other leader can have
 * committed anything the read index misses. It is released once applied >= its index, in
 * the update, after that update's entries. A leader that steps down fails its reads.
 *
 * Invariant: every pending read has round > 0 and arrived while this node led this term. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>

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

/* The lease: the quorum-th newest send time of an acknowledged AppendEntries (the leader's
 * own "now" counts as one), plus the election timeout shrunk by the declared drift bound:
 * no follower that acknowledged votes for anyone before its own timeout since it heard us. */
static bool lease_valid(const fl_raft *r)
{
    if (!r->cfg.lease_reads || r->transfer_to != FL_NODE_NONE)
        return false;
    fl_time_ns since = fl__quorum_value(r, acked_sent_of);
    if (since == 0)
        return false;
    double d = MUTANT(r, LEASE_NO_DRIFT) ? 0.0 : (double)r->cfg.max_drift_ppm;
    fl_time_ns lease = (fl_time_ns)((double)r->cfg.election_timeout_ns * (1e6 - d) / (1e6 + d));
    return r->now < since + lease;
}

int fl__read(fl_raft *r, uint64_t ctx)
{
    if (r->role != FL_RAFT_LEADER)
        return FL_ENOTLEADER;
    if (fl_raft_term_at(r, r->commit) == r->term && lease_valid(r)) {
        r->lease_reads_served++;
        emit(r, ctx, r->commit, true); /* within the lease: no round needed */
        return 0;
    }
    if (r->reads_count == FL_RAFT_READS_MAX)
        return FL_EBUSY;
    struct fl_raft_pending_read *p = &r->reads[r->reads_count++];
    p->ctx = ctx;
    p->index = 0;
    p->round = r->ctx_next + 1;
    fl__heartbeat_all(r);
    fl__reads_advance(r);
    return 0;
}

static uint64_t ctx_acked_of(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->id == r->cfg.id ? UINT64_MAX : pr->ctx_acked;
}

static bool confirmed(const fl_raft *r, uint64_t round)
{
    if (MUTANT(r, READ_NO_CONFIRM))
        return true; /* the bug: trusts that it still leads */
    return fl__quorum_value(r, ctx_acked_of) >= round;
}

void fl__reads_advance(fl_raft *r)
{
    if (r->role != FL_RAFT_LEADER || r->reads_count == 0)
        return;
    bool own_term = fl_raft_term_at(r, r->commit) == r->term;
    size_t kept = 0;
    for (size_t i = 0; i < r->reads_count; i++) {
        struct fl_raft_pending_read *p = &r->reads[i];
        if (p->index == 0 && own_term)
            p->index = r->commit;
        if (p->index != 0 && p->index <= r->commit && confirmed(r, p->round))
            emit(r, p->ctx, p->index, true);
        else
            r->reads[kept++] = *p;
    }
    r->reads_count = kept;
}

void fl__reads_fail_all(fl_raft *r)
{
    for (size_t i = 0; i < r->reads_count; i++)
        emit(r, r->reads[i].ctx, 0, false);
    r->reads_count = 0;
}
