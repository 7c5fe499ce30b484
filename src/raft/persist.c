/* persist.c: the asynchronous persistence contract, the outbox, and building the update.
 *
 * Invariants:
 *   - persist requests are numbered 1, 2, ... (seq) and reported durable in order;
 *   - seq_durable < seq_next; pending holds the requests in (seq_durable, seq_next) in order;
 *   - a held message is released only once every request made before it is durable, so a
 *     vote or an acknowledgement never gets ahead of the disk. */
#include "raft_int.h"

#include "faultline/assert.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

fl_raft_msg *fl__out(fl_raft *r, uint8_t type, fl_node_id to)
{
    if (r->out_count == r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap * 2 : 64;
        fl_raft_msg *out = realloc(r->out, cap * sizeof(*out));
        FL_ASSERT(out != NULL); /* bounded by members x inflight; a failure here is fatal */
        r->out = out;
        r->out_cap = cap;
    }
    fl_raft_msg *m = &r->out[r->out_count++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = r->cfg.id;
    m->to = to;
    m->term = r->term;
    return m;
}

static bool dirty(const fl_raft *r)
{
    return fl__step_dirty(r);
}

void fl__hold(fl_raft *r, const fl_raft_msg *m)
{
    /* The request this message depends on: this step's (if it has one) or the last made. */
    uint64_t need = dirty(r) ? r->seq_next : r->seq_next - 1;
    if (need <= r->seq_durable) {
        *fl__out(r, m->type, m->to) = *m;
        return;
    }
    if (r->held_count == FL_RAFT_HELD_MAX) {
        r->msgs_dropped_held++; /* as if lost on the network: safe, the sender retries */
        return;
    }
    r->held[r->held_count].seq = need;
    r->held[r->held_count].msg = *m;
    r->held_count++;
}

static void release_held(fl_raft *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->held_count; i++) {
        if (r->held[i].seq <= r->seq_durable) {
            *fl__out(r, r->held[i].msg.type, r->held[i].msg.to) = r->held[i].msg;
        } else {
            r->held[kept++] = r->held[i];
        }
    }
    r->held_count = kept;
}

void fl__persisted(fl_raft *r, uint64_t seq)
{
    if (seq <= r->seq_durable || seq >= r->seq_next)
        return; /* stale or bogus report: nothing new is durable */
    r->seq_durable = seq;
    while (r->pending_count) {
        fl_raft_pending *p = &r->pending[r->pending_head];
        if (p->seq > seq)
            break;
        if (p->last_index > r->durable_index)
            r->durable_index = p->last_index;
        r->durable_term = p->term;
        r->durable_vote = p->vote;
        r->pending_head = (r->pending_head + 1) % FL_RAFT_PENDING_MAX;
        r->pending_count--;
    }
    release_held(r);
    fl__install_durable(r);
    if (r->role == FL_RAFT_CANDIDATE)
        fl__check_self_vote(r);
    if (r->role == FL_RAFT_LEADER)
        fl__maybe_commit(r);
}

void fl__begin_step(fl_raft *r, fl_time_ns now)
{
    if (now > r->now)
        r->now = now; /* local time never runs backwards inside the core */
    r->out_count = 0;
    r->reads_out_count = 0;
    r->dirty_hard_state = false;
    r->dirty_from = 0;
    r->install_wait = false;
    memset(&r->chunk_out, 0, sizeof(r->chunk_out));
    r->role_at_step = r->role;
}

/* Records this step's persist request; coalesces into the newest pending one when the
 * queue is full (still correct: its report then covers both). */
static void push_pending(fl_raft *r, uint64_t seq)
{
    fl_raft_pending *p;
    if (r->pending_count == FL_RAFT_PENDING_MAX) {
        p = &r->pending[(r->pending_head + r->pending_count - 1) % FL_RAFT_PENDING_MAX];
    } else {
        p = &r->pending[(r->pending_head + r->pending_count) % FL_RAFT_PENDING_MAX];
        r->pending_count++;
    }
    p->seq = seq;
    p->last_index = fl_raft_last_index(r);
    p->term = r->term;
    p->vote = r->vote;
}

static void fill_persist(fl_raft *r, fl_raft_update *up)
{
    if (!dirty(r))
        return;
    uint64_t seq = r->seq_next++;
    fl_index last = fl_raft_last_index(r);
    fl_index from = r->dirty_from ? r->dirty_from : last + 1;
    FL_ASSERT(from >= r->first_index && from <= last + 1);
    up->persist.seq = seq;
    up->persist.hard_state = r->dirty_hard_state;
    up->persist.term = r->term;
    up->persist.vote = r->vote;
    up->persist.first_index = from;
    up->persist.n_entries = (size_t)(last + 1 - from);
    up->persist.entries = up->persist.n_entries ? &r->log[from - r->first_index] : NULL;
    if (r->install_wait) {
        up->persist.install = true;
        up->persist.install_meta = r->snap;
        r->install_seq = seq;
    }
    push_pending(r, seq);
    if (r->self_vote_wait) {
        r->self_vote_seq = seq;
        r->self_vote_wait = false;
    }
}

fl_time_ns fl_raft_deadline_of(const fl_raft *r)
{
    if (r->role != FL_RAFT_LEADER)
        return r->election_deadline;
    fl_time_ns d = r->heartbeat_deadline;
    if (r->cfg.check_quorum && r->quorum_deadline < d)
        d = r->quorum_deadline;
    if (r->send_due && r->now < d)
        d = r->now; /* proposals for the next free slot: at the end of this batch */
    if (r->read_round_due && r->now < d)
        d = r->now; /* the round owed to a follower's read: at the end of this batch (read.c) */
    return d;
}

/* Zeroes *up but for the id lists of persist.install_meta.conf, most of the struct's bytes,
 * which every step would otherwise clear: their counts are zeroed, so the lists are empty all
 * the same (no id past a count means anything), and an install copies a whole meta. */
static void clear_update(fl_raft_update *up)
{
    const size_t conf = offsetof(fl_raft_update, persist.install_meta.conf);
    const size_t after = offsetof(fl_raft_update, persist.install_meta.size);
    memset(up, 0, conf);
    memset((char *)up + after, 0, sizeof(*up) - after);
    fl_raft_conf *c = &up->persist.install_meta.conf;
    c->n_voters = 0;
    c->n_voters_old = 0;
    c->n_learners = 0;
}

void fl__finish_step(fl_raft *r, fl_raft_update *up)
{
    fl_index proposed = up->proposed_index;
    fl_term proposed_term = up->proposed_term;
    clear_update(up);
    up->proposed_index = proposed;
    up->proposed_term = proposed_term;
    fill_persist(r, up);
    fl__reads_advance(r, false); /* after this step's commits and acknowledgements */
    up->snapshot_chunk.index = r->chunk_out.index;
    up->snapshot_chunk.term = r->chunk_out.term;
    up->snapshot_chunk.offset = r->chunk_out.offset;
    up->snapshot_chunk.len = r->chunk_out.len;
    up->snapshot_chunk.data = r->chunk_out.data;
    if (r->restore_pending) {
        up->restore_index = r->snap.index;
        r->applied = r->snap.index;
        r->restore_pending = false;
    }
    /* Entries before the log's start are in a snapshot being installed: the restore covers
     * them, nothing to apply until it is durable. */
    /* The mutant applies whatever is in the log; the cluster checker catches the result. */
    fl_index apply_to = MUTANT(r, APPLY_BEFORE_COMMIT) ? fl_raft_last_index(r) : r->commit;
    if (apply_to > r->applied && r->applied + 1 >= r->first_index) {
        up->apply_first = r->applied + 1;
        up->n_apply = (size_t)(apply_to - r->applied);
        up->apply = &r->log[up->apply_first - r->first_index];
        r->applied = apply_to;
    }
    fl__fwd_reads_advance(r); /* after applied moved: a follower's reads wait for it */
    up->n_reads = r->reads_out_count;
    up->reads = r->reads_out;
    up->n_msgs = r->out_count;
    up->msgs = r->out;
    up->role = r->role;
    up->term = r->term;
    up->leader = r->leader;
    up->commit = r->commit;
    up->role_changed = r->role != r->role_at_step;
    up->sync_may_wait = fl__sync_may_wait(r);
    up->deadline_ns = fl_raft_deadline_of(r);
}
