/* read.c: linearizable reads at the leader without a slot: a quorum round (as Raft's
 * ReadIndex) or a lease.
 *
 * A leader is ready for reads once its commit covers every slot its phase 1 found (p1_end):
 * any value chosen under an earlier ballot sits in a slot up to p1_end (a q2 quorum accepted
 * it, which meets every q1 quorum), so commit then covers everything chosen before it led. A
 * read that arrives is registered at commit (once ready) and confirmed when q2 acceptors
 * have answered an ACCEPT sent after it arrived: each of them had not promised a higher
 * ballot by then, so no leader with a higher ballot had finished phase 1 (its q1 quorum meets
 * theirs, q1 + q2 > n) and none could have chosen anything the read misses.
 *
 * The lease: q2 acceptors acknowledged an ACCEPT sent at or after since; each of them ignores
 * other proposers' PREPAREs for an election timeout after hearing from us (elect.c,
 * fl__px_in_lease), so no other proposer finishes phase 1 before since + election timeout on
 * their clocks, at least since + election timeout x (1 - d) / (1 + d) on ours for clocks that
 * drift apart by at most d.
 *
 * Invariants: reads wait only at a leader; each read accepted is decided exactly once (ok,
 * or failed when the leader steps down). */
#include "paxos_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>

static void emit(fl_paxos *p, uint64_t ctx, fl_index index, bool ok)
{
    if (p->reads_out_count == p->reads_out_cap) {
        size_t cap = p->reads_out_cap ? p->reads_out_cap * 2 : 16;
        fl_paxos_read *r = realloc(p->reads_out, cap * sizeof(*r));
        FL_ASSERT(r != NULL); /* bounded by FL_PAXOS_READS_MAX */
        p->reads_out = r;
        p->reads_out_cap = cap;
    }
    p->reads_out[p->reads_out_count++] = (fl_paxos_read){ctx, index, ok};
}

static bool ready(const fl_paxos *p)
{
    return p->role == FL_PAXOS_LEADER && p->commit >= p->p1_end;
}

static uint64_t acked_sent_of(const fl_paxos *p, const fl_paxos_peer *pr)
{
    return pr == &p->peers[p->self_index] ? p->now : pr->acked_sent_ns;
}

static bool lease_valid(const fl_paxos *p)
{
    if (!p->cfg.lease_reads)
        return false;
    fl_time_ns since = fl__px_quorum_value(p, acked_sent_of, p->q2);
    if (since == 0)
        return false;
    double d = (double)p->cfg.max_drift_ppm;
    fl_time_ns lease = (fl_time_ns)((double)p->cfg.election_timeout_ns * (1e6 - d) / (1e6 + d));
    return p->now < since + lease;
}

static uint64_t ctx_acked_of(const fl_paxos *p, const fl_paxos_peer *pr)
{
    return pr == &p->peers[p->self_index] ? UINT64_MAX : pr->ctx_acked;
}

static bool confirmed(const fl_paxos *p, uint64_t round)
{
    if (MUTANT(p, READ_NO_QUORUM))
        return true; /* the bug: trusts that it still leads */
    return fl__px_quorum_value(p, ctx_acked_of, p->q2) >= round;
}

int fl__px_read(fl_paxos *p, uint64_t ctx)
{
    if (p->role != FL_PAXOS_LEADER)
        return FL_ENOTLEADER;
    if (ready(p) && lease_valid(p)) {
        p->lease_reads_served++;
        emit(p, ctx, p->commit, true);
        return 0;
    }
    if (p->reads_count == FL_PAXOS_READS_MAX)
        return FL_EBUSY;
    struct fl_paxos_pending_read *r = &p->reads[p->reads_count++];
    r->ctx = ctx;
    r->index = 0;
    r->indexed = false;
    r->round = p->ctx_next + 1; /* the first heartbeat sent from now on */
    fl__px_heartbeat_all(p);
    fl__px_reads_advance(p);
    return 0;
}

void fl__px_reads_advance(fl_paxos *p)
{
    if (p->role != FL_PAXOS_LEADER || p->reads_count == 0)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < p->reads_count; i++) {
        struct fl_paxos_pending_read *r = &p->reads[i];
        if (!r->indexed && ready(p)) {
            r->index = p->commit;
            r->indexed = true;
        }
        if (r->indexed && confirmed(p, r->round))
            emit(p, r->ctx, r->index, true);
        else
            p->reads[kept++] = *r;
    }
    p->reads_count = kept;
}

void fl__px_reads_fail_all(fl_paxos *p)
{
    for (size_t i = 0; i < p->reads_count; i++)
        emit(p, p->reads[i].ctx, 0, false);
    p->reads_count = 0;
}
