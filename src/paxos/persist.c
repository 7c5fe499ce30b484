/* persist.c: the asynchronous persistence contract, the outbox, and building the update (as
 * raft/persist.c).
 *
 * Invariants:
 *   - persist requests are numbered 1, 2, ... (seq) and reported durable in order;
 *     seq_durable < seq_next; pending holds the requests in (seq_durable, seq_next) in order;
 *   - a held answer (PROMISE, ACCEPTED, a snapshot's "installed") is released only once every
 *     request made before it is durable, so no promise or acceptance gets ahead of the disk;
 *   - a held PROMISE is rebuilt from the log when released, and dropped if a higher ballot
 *     was promised meanwhile (its slots could then show values of a later ballot). */
#include "paxos_int.h"

#include "faultline/assert.h"

#include <stdlib.h>
#include <string.h>

fl_paxos_msg *fl__px_out(fl_paxos *p, uint8_t type, fl_node_id to)
{
    if (p->out_count == p->out_cap) {
        size_t cap = p->out_cap ? p->out_cap * 2 : 64;
        fl_paxos_msg *out = realloc(p->out, cap * sizeof(*out));
        FL_ASSERT(out != NULL); /* bounded by members x inflight; a failure here is fatal */
        p->out = out;
        p->out_cap = cap;
    }
    fl_paxos_msg *m = &p->out[p->out_count++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = p->cfg.id;
    m->to = to;
    return m;
}

static bool dirty(const fl_paxos *p)
{
    return p->dirty_hard_state || p->dirty_from != 0 || p->install_wait;
}

/* A PROMISE carries the acceptor's slots from m->u.promise.from on, bounded in count and
 * bytes; entries point into the log (valid until the next step). */
void fl__px_promise_fill(fl_paxos *p, fl_paxos_msg *m)
{
    fl_paxos_promise *pr = &m->u.promise;
    pr->first = p->first_index;
    pr->last = fl_paxos_last_index(p);
    pr->commit = p->commit;
    pr->n_entries = 0;
    pr->entries = NULL;
    if (pr->from < p->first_index || pr->from > pr->last)
        return; /* behind our snapshot (first > from), or nothing there */
    size_t n = 0, bytes = 0;
    while (pr->from + n <= pr->last && n < FL_PAXOS_PROMISE_ENTRIES_MAX) {
        const fl_paxos_entry *e = fl__px_slot(p, pr->from + n);
        if (n > 0 && bytes + e->len > FL__PROMISE_BYTES_MAX)
            break;
        bytes += e->len;
        n++;
    }
    pr->n_entries = (uint32_t)n;
    pr->entries = fl__px_slot(p, pr->from);
}

static void emit_held(fl_paxos *p, const fl_paxos_msg *m)
{
    if (m->type == FL_PAXOS_MSG_PROMISE && m->u.promise.ok) {
        if (p->promised != m->ballot)
            return; /* promised higher since: the proposer is preempted anyway */
        fl_paxos_msg *o = fl__px_out(p, m->type, m->to);
        *o = *m;
        fl__px_promise_fill(p, o);
        return;
    }
    *fl__px_out(p, m->type, m->to) = *m;
}

void fl__px_hold(fl_paxos *p, const fl_paxos_msg *m)
{
    uint64_t need = dirty(p) ? p->seq_next : p->seq_next - 1;
    if (need <= p->seq_durable) {
        emit_held(p, m);
        return;
    }
    if (p->held_count == FL_PAXOS_HELD_MAX) {
        p->msgs_dropped_held++; /* as if lost on the network: the sender retries */
        return;
    }
    p->held[p->held_count].seq = need;
    p->held[p->held_count].msg = *m;
    p->held_count++;
}

static void release_held(fl_paxos *p)
{
    size_t kept = 0;
    for (size_t i = 0; i < p->held_count; i++) {
        if (p->held[i].seq <= p->seq_durable)
            emit_held(p, &p->held[i].msg);
        else
            p->held[kept++] = p->held[i];
    }
    p->held_count = kept;
}

void fl__px_persisted(fl_paxos *p, uint64_t seq)
{
    if (seq <= p->seq_durable || seq >= p->seq_next)
        return; /* stale or bogus report */
    p->seq_durable = seq;
    while (p->pending_count) {
        fl_paxos_pending *q = &p->pending[p->pending_head];
        if (q->seq > seq)
            break;
        p->durable_promised = q->promised;
        if (p->role == FL_PAXOS_LEADER && q->last >= q->from)
            fl__px_self_accepted(p, q->from, q->last);
        p->pending_head = (p->pending_head + 1) % FL_PAXOS_PENDING_MAX;
        p->pending_count--;
    }
    release_held(p);
    fl__px_install_durable(p);
    if (p->role == FL_PAXOS_CANDIDATE)
        fl__px_check_self_promise(p);
    if (p->role == FL_PAXOS_LEADER)
        fl__px_maybe_commit(p);
}

void fl__px_begin_step(fl_paxos *p, fl_time_ns now)
{
    if (now > p->now)
        p->now = now;
    p->out_count = 0;
    p->reads_out_count = 0;
    p->dirty_hard_state = false;
    p->dirty_from = 0;
    p->install_wait = false;
    memset(&p->chunk_out, 0, sizeof(p->chunk_out));
    p->role_at_step = p->role;
}

/* Coalesces into the newest pending request when the queue is full (its report then covers
 * both: the range widens to include both). */
static void push_pending(fl_paxos *p, uint64_t seq, fl_index from, fl_index last)
{
    fl_paxos_pending *q;
    if (p->pending_count == FL_PAXOS_PENDING_MAX) {
        q = &p->pending[(p->pending_head + p->pending_count - 1) % FL_PAXOS_PENDING_MAX];
        if (q->last >= q->from && q->from < from)
            from = q->from;
    } else {
        q = &p->pending[(p->pending_head + p->pending_count) % FL_PAXOS_PENDING_MAX];
        p->pending_count++;
    }
    q->seq = seq;
    q->from = from;
    q->last = last;
    q->promised = p->promised;
}

static void fill_persist(fl_paxos *p, fl_paxos_update *up)
{
    if (!dirty(p))
        return;
    uint64_t seq = p->seq_next++;
    fl_index last = fl_paxos_last_index(p);
    fl_index from = p->dirty_from ? p->dirty_from : last + 1;
    FL_ASSERT(from >= p->first_index && from <= last + 1);
    up->persist.seq = seq;
    up->persist.hard_state = p->dirty_hard_state;
    up->persist.term = p->promised; /* the hard state */
    up->persist.first_index = from;
    up->persist.n_entries = (size_t)(last + 1 - from);
    up->persist.entries = up->persist.n_entries ? fl__px_slot(p, from) : NULL;
    if (p->install_wait) {
        up->persist.install = true;
        up->persist.install_meta.index = p->snap.index; /* no term, no configuration */
        up->persist.install_meta.size = p->snap.size;
        up->persist.install_meta.crc = p->snap.crc;
        p->install_seq = seq;
    }
    push_pending(p, seq, from, last);
    if (p->self_promise_wait) {
        p->self_promise_seq = seq;
        p->self_promise_wait = false;
    }
}

fl_time_ns fl_paxos_deadline_of(const fl_paxos *p)
{
    if (p->role != FL_PAXOS_LEADER)
        return p->election_deadline;
    return p->heartbeat_deadline < p->quorum_deadline ? p->heartbeat_deadline : p->quorum_deadline;
}

static void apply_chosen(fl_paxos *p, fl_paxos_update *up)
{
    if (p->restore_pending) {
        up->restore_index = p->snap.index;
        p->applied = p->snap.index;
        p->restore_pending = false;
    }
    if (p->commit > p->applied && p->applied + 1 >= p->first_index) {
        up->apply_first = p->applied + 1;
        up->n_apply = (size_t)(p->commit - p->applied);
        up->apply = fl__px_slot(p, up->apply_first);
        p->applied = p->commit;
    }
}

void fl__px_finish_step(fl_paxos *p, fl_paxos_update *up)
{
    fl_index proposed = up->proposed_index;
    fl_term proposed_ballot = up->proposed_term;
    memset(up, 0, sizeof(*up));
    up->proposed_index = proposed;
    up->proposed_term = proposed_ballot;
    fill_persist(p, up);
    fl__px_reads_advance(p);
    up->snapshot_chunk.index = p->chunk_out.index;
    up->snapshot_chunk.offset = p->chunk_out.offset;
    up->snapshot_chunk.len = p->chunk_out.len;
    up->snapshot_chunk.data = p->chunk_out.data;
    apply_chosen(p, up);
    up->n_reads = p->reads_out_count;
    up->reads = p->reads_out;
    up->n_msgs = p->out_count;
    up->msgs = p->out;
    up->role = (uint8_t)p->role;
    up->term = p->promised;
    up->leader = p->leader;
    up->commit = p->commit;
    up->role_changed = p->role != p->role_at_step;
    up->deadline_ns = fl_paxos_deadline_of(p);
}
