/* snapshot.c: snapshots and log compaction (Raft paper section 7; the contract with the
 * environment is at the top of raft.h): taking a snapshot, sending one chunk by chunk as a
 * leader, receiving and installing one as a follower.
 *
 * Invariants:
 *   - first_index - 1 <= snap.index: compaction never passes the snapshot;
 *   - a follower stages one snapshot at a time; stage.offset bytes of it were accepted in
 *     order and stage.crc is their running CRC32C;
 *   - install_seq != 0 only between an install request and its PERSISTED: meanwhile no other
 *     snapshot is accepted and nothing is applied (applied < snap.index);
 *   - a leader sends one chunk per round trip to a follower in SNAPSHOT state; only a
 *     response that moves the follower's offset forward triggers the next chunk, so
 *     duplicated messages never start a second stream. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <string.h>

/* ---- taking one ------------------------------------------------------------------------- */

int fl__take_snapshot(fl_raft *r, fl_index index, uint64_t size, uint32_t crc)
{
    if (index <= r->snap.index || index > r->applied)
        return FL_EINVAL;
    FL_ASSERT(index >= r->first_index && index <= fl_raft_last_index(r));
    r->snap.index = index;
    r->snap.term = fl_raft_term_at(r, index);
    fl__conf_at(r, index, &r->snap.conf); /* membership.c: the latest at or before index */
    r->snap.size = size;
    r->snap.crc = crc;
    r->snapshots_taken++;
    fl_index keep = r->cfg.snapshot_trailing;
    if (index > keep)
        fl__log_compact(r, index - keep);
    fl__conf_restore(r, &r->snap.conf, index); /* the base a cut log falls back to */
    return 0;
}

/* ---- leader: sending -------------------------------------------------------------------- */

void fl__send_snapshot(fl_raft *r, fl_raft_progress *pr)
{
    FL_ASSERT(r->snap.index > 0 && r->snap.index + 1 >= r->first_index);
    if (pr->state != FL_RAFT_SNAPSHOT || pr->snap_index != r->snap.index) {
        pr->state = FL_RAFT_SNAPSHOT; /* a new (or newer) snapshot: from its first byte */
        pr->snap_index = r->snap.index;
        pr->snap_offset = 0;
        pr->next = r->snap.index + 1; /* where the follower's log continues once installed */
        pr->probe_sent = false;
        pr->inflight_count = 0;
        pr->inflight_head = 0;
    }
    FL_ASSERT(pr->match < pr->next);
    uint64_t size = r->snap.size, off = pr->snap_offset;
    uint64_t len =
        size - off < r->cfg.snapshot_chunk_bytes ? size - off : r->cfg.snapshot_chunk_bytes;
    fl_raft_msg *m = fl__out(r, FL_RAFT_MSG_SNAPSHOT, pr->id);
    m->u.snapshot.meta = r->snap;
    m->u.snapshot.offset = off;
    m->u.snapshot.len = (uint32_t)len; /* len == 0 at the end: "tell me where you are" */
    m->u.snapshot.done = off + len == size;
    m->u.snapshot.ctx = fl__next_ctx(r);
    m->u.snapshot.data = NULL; /* the environment fills it (raft.h) */
    r->snapshot_chunks_sent++;
}

void fl__recv_snapshot_resp(fl_raft *r, const fl_raft_msg *m)
{
    const fl_raft_snapshot_resp *a = &m->u.snapshot_resp;
    fl_raft_progress *pr = fl__response_from(r, m, a->ctx);
    if (!pr)
        return;
    if (a->done) {
        if (a->index == 0 || a->index > fl_raft_last_index(r))
            return; /* claims entries we never had: ignore */
        if (a->index > pr->match)
            pr->match = a->index;
        fl__become_replicate(pr); /* the follower's log continues after match */
        fl__maybe_commit(r);
        /* committing may have appended C(new) (progress rebuilt: look pr up again) or made a
         * removed leader step down (it sends nothing more) */
        pr = r->role == FL_RAFT_LEADER ? fl__progress(r, m->from) : NULL;
        if (!pr)
            return;
        fl__replicate_all(r);
        fl__transfer_progress(r, pr);
        return;
    }
    if (pr->state != FL_RAFT_SNAPSHOT || a->index != pr->snap_index ||
        a->next_offset > r->snap.size)
        return; /* about another snapshot, or bogus */
    bool restart = a->next_offset == 0 && pr->snap_offset != 0; /* it lost what it staged */
    if (a->next_offset <= pr->snap_offset && !restart)
        return; /* no progress: a duplicate or an old answer; heartbeats resend */
    pr->snap_offset = a->next_offset;
    if (pr->snap_offset < r->snap.size || pr->snap_index != r->snap.index)
        fl__send_snapshot(r, pr);
    /* else: everything is there and the follower is installing it; "done" follows */
}

/* ---- follower: receiving and installing -------------------------------------------------- */

static void reply(fl_raft *r, const fl_raft_msg *m, uint64_t next_offset, bool done)
{
    fl_raft_msg resp = {
        .type = FL_RAFT_MSG_SNAPSHOT_RESP, .from = r->cfg.id, .to = m->from, .term = r->term};
    resp.u.snapshot_resp.index = m->u.snapshot.meta.index;
    resp.u.snapshot_resp.next_offset = next_offset;
    resp.u.snapshot_resp.done = done;
    resp.u.snapshot_resp.ctx = m->u.snapshot.ctx;
    if (done)
        fl__hold(r, &resp); /* claims durable entries: only once everything so far is */
    else
        *fl__out(r, resp.type, resp.to) = resp;
}

bool fl__snapshot_valid(const fl_raft_msg *m)
{
    const fl_raft_snapshot *s = &m->u.snapshot;
    if (s->meta.index == 0 || s->meta.term == 0 || s->meta.term > m->term)
        return false;
    if (s->offset > s->meta.size || s->len > s->meta.size - s->offset || (s->len && !s->data))
        return false;
    if (s->done != (s->offset + s->len == s->meta.size))
        return false;
    return fl__conf_valid(&s->meta.conf); /* (at most FL_RAFT_NODES_MAX members, too) */
}

static bool same_snapshot(const fl_raft_snapshot_meta *a, const fl_raft_snapshot_meta *b)
{
    return a->index == b->index && a->term == b->term && a->size == b->size && a->crc == b->crc;
}

/* The snapshot is complete and verified: cut the log (figure 13, steps 6-7) and ask for it
 * to be made durable; the acknowledgement and the state machine wait for that. */
static void install(fl_raft *r, const fl_raft_snapshot_meta *meta)
{
    fl_index i = meta->index, last = fl_raft_last_index(r);
    bool holds = i <= last && i + 1 >= r->first_index && fl_raft_term_at(r, i) == meta->term;
    bool keep = holds || (MUTANT(r, SNAPSHOT_KEEPS_SUFFIX) && i < last && i >= r->first_index);
    if (keep) {
        fl__log_compact(r, i); /* the entries after it stay: they follow the same prefix */
        r->base_term = meta->term;
    } else {
        fl__log_reset(r, i, meta->term);
    }
    if (!holds) {
        /* what was durable of the old log past the commit point is not our log any more */
        if (r->durable_index > r->commit)
            r->durable_index = r->commit;
        for (size_t k = 0; k < r->pending_count; k++) {
            fl_raft_pending *p = &r->pending[(r->pending_head + k) % FL_RAFT_PENDING_MAX];
            if (p->last_index > r->commit)
                p->last_index = r->commit;
        }
    }
    r->snap = *meta;
    fl__conf_restore(r, &meta->conf, meta->index); /* its configuration, unless one follows */
    r->install_wait = true; /* this step's persist request carries it (persist.c) */
}

int fl__recv_snapshot(fl_raft *r, const fl_raft_msg *m)
{
    const fl_raft_snapshot *s = &m->u.snapshot;
    if (m->term < r->term) {
        reply(r, m, 0, false); /* carries our term: the stale leader steps down */
        return 0;
    }
    if (r->role == FL_RAFT_LEADER && m->term == r->term)
        return FL_EINVAL; /* two leaders in one term: only a broken peer sends this */
    if (r->role != FL_RAFT_FOLLOWER || r->leader != m->from)
        fl__become_follower(r, r->term, m->from);
    r->leader_contact = r->now;
    fl__reset_election_timer(r);
    if (r->install_seq)
        return 0; /* installing one: acknowledged when durable */
    if (s->meta.index <= r->commit) {
        reply(r, m, s->meta.size, true); /* we hold all of it already */
        return 0;
    }
    struct fl_raft_stage *st = &r->stage;
    if (!same_snapshot(&st->meta, &s->meta)) {
        if (s->offset != 0) {
            reply(r, m, 0, false); /* not the one we stage (or we restarted): from the start */
            return 0;
        }
        st->meta = s->meta;
        st->offset = 0;
        st->crc = 0;
    }
    if (s->offset != st->offset) {
        reply(r, m, st->offset, false); /* a duplicate or a gap: say where we are */
        return 0;
    }
    r->chunk_out.index = s->meta.index;
    r->chunk_out.term = s->meta.term;
    r->chunk_out.offset = s->offset;
    r->chunk_out.len = s->len;
    r->chunk_out.data = s->data;
    st->crc = fl_crc32c(st->crc, s->data, s->len);
    st->offset += s->len;
    if (st->offset < s->meta.size) {
        reply(r, m, st->offset, false);
        return 0;
    }
    bool ok = st->crc == s->meta.crc;
    memset(st, 0, sizeof(*st));
    if (!ok) {
        r->snapshot_crc_failures++;
        reply(r, m, 0, false); /* damaged on the way: start over */
        return 0;
    }
    install(r, &s->meta);
    r->install_from = m->from;
    return 0;
}

void fl__install_durable(fl_raft *r)
{
    if (!r->install_seq || r->seq_durable < r->install_seq)
        return;
    r->install_seq = 0;
    if (r->commit < r->snap.index)
        r->commit = r->snap.index; /* the snapshot holds only committed entries */
    r->restore_pending = true;
    r->snapshots_installed++;
    fl_raft_msg *resp = fl__out(r, FL_RAFT_MSG_SNAPSHOT_RESP, r->install_from);
    resp->u.snapshot_resp.index = r->snap.index;
    resp->u.snapshot_resp.next_offset = r->snap.size;
    resp->u.snapshot_resp.done = true;
}
