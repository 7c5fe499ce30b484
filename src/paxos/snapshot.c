/* snapshot.c: snapshots and log truncation, and catching up a replica whose missing slots the
 * leader has truncated (the contract with the environment is at the top of paxos.h).
 *
 * Invariants:
 *   - first_index - 1 <= snap.index: truncation never passes the snapshot, and a snapshot
 *     holds chosen slots only (index <= applied <= commit);
 *   - a follower stages one snapshot at a time; stage.offset bytes of it were accepted in
 *     order and stage.crc is their running CRC32C;
 *   - install_seq != 0 only between an install request and its PERSISTED: meanwhile nothing
 *     is applied, and no other snapshot is accepted;
 *   - installing keeps the accepted slots above the snapshot (an acceptor never forgets an
 *     acceptance: it may be part of the quorum that chose the value). */
#include "paxos_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <string.h>

int fl__px_take_snapshot(fl_paxos *p, fl_index index, uint64_t size, uint32_t crc)
{
    if (index <= p->snap.index || index > p->applied || p->install_seq)
        return FL_EINVAL;
    FL_ASSERT(index >= p->first_index && index <= fl_paxos_last_index(p));
    p->snap = (fl_paxos_snapshot_meta){index, size, crc};
    p->snapshots_taken++;
    fl_index keep = p->cfg.snapshot_trailing;
    if (index > keep)
        fl__px_log_compact(p, index - keep);
    return 0;
}

void fl__px_send_snapshot(fl_paxos *p, fl_paxos_peer *pr)
{
    FL_ASSERT(p->snap.index > 0 && p->snap.index + 1 >= p->first_index);
    if (!pr->snapshotting || pr->snap_index != p->snap.index) {
        pr->snapshotting = true; /* a new (or newer) snapshot: from its first byte */
        pr->snap_index = p->snap.index;
        pr->snap_offset = 0;
        pr->next = p->snap.index + 1;
        pr->inflight = 0;
    }
    uint64_t size = p->snap.size, off = pr->snap_offset;
    uint64_t len =
        size - off < p->cfg.snapshot_chunk_bytes ? size - off : p->cfg.snapshot_chunk_bytes;
    fl_paxos_msg *m = fl__px_out(p, FL_PAXOS_MSG_SNAPSHOT, pr->id);
    m->ballot = p->ballot;
    m->u.snapshot.meta = p->snap;
    m->u.snapshot.offset = off;
    m->u.snapshot.len = (uint32_t)len;
    m->u.snapshot.done = off + len == size;
    m->u.snapshot.ctx = fl__px_next_ctx(p);
    m->u.snapshot.data = NULL; /* the environment fills it (paxos.h) */
    p->snapshot_chunks_sent++;
}

void fl__px_recv_snapshot_resp(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_snapshot_resp *a = &m->u.snapshot_resp;
    fl_paxos_peer *pr = fl__px_response_from(p, m, a->ctx);
    if (!pr || !pr->snapshotting || a->index != pr->snap_index)
        return;
    if (a->done) {
        pr->snapshotting = false;
        if (a->index > pr->match)
            pr->match = a->index;
        pr->next = pr->match + 1; /* its log continues after the snapshot */
        pr->inflight = 0;
        fl__px_replicate_all(p);
        return;
    }
    if (a->next_offset > p->snap.size)
        return;                                                 /* bogus */
    bool restart = a->next_offset == 0 && pr->snap_offset != 0; /* it lost what it staged */
    if (a->next_offset <= pr->snap_offset && !restart)
        return; /* no progress: a duplicate or an old answer; heartbeats resend */
    pr->snap_offset = a->next_offset;
    if (pr->snap_offset < p->snap.size || pr->snap_index != p->snap.index)
        fl__px_send_snapshot(p, pr);
}

static void reply(fl_paxos *p, const fl_paxos_msg *m, uint64_t next_offset)
{
    fl_paxos_msg *r = fl__px_out(p, FL_PAXOS_MSG_SNAPSHOT_RESP, m->from);
    r->ballot = m->ballot;
    r->u.snapshot_resp.index = m->u.snapshot.meta.index;
    r->u.snapshot_resp.next_offset = next_offset;
    r->u.snapshot_resp.ctx = m->u.snapshot.ctx;
}

static bool snapshot_valid(const fl_paxos_snapshot *s)
{
    if (s->meta.index == 0 || s->offset > s->meta.size || s->len > s->meta.size - s->offset)
        return false;
    if (s->len && !s->data)
        return false;
    return s->done == (s->offset + s->len == s->meta.size);
}

static bool same_snapshot(const fl_paxos_snapshot_meta *a, const fl_paxos_snapshot_meta *b)
{
    return a->index == b->index && a->size == b->size && a->crc == b->crc;
}

/* Complete and verified: truncate the slots it covers and ask for it to be made durable;
 * the acknowledgement and the state machine wait for that. */
static void install(fl_paxos *p, const fl_paxos_snapshot_meta *meta, fl_node_id from,
                    fl_term ballot)
{
    fl__px_log_compact(p, meta->index); /* accepted slots above it stay */
    p->snap = *meta;
    p->install_wait = true;
    p->install_from = from;
    p->install_ballot = ballot;
}

/* Stages one chunk; returns true when the snapshot is complete and its checksum matches. */
static bool stage_chunk(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_snapshot *s = &m->u.snapshot;
    struct fl_paxos_stage *st = &p->stage;
    if (!same_snapshot(&st->meta, &s->meta)) {
        if (s->offset != 0) {
            reply(p, m, 0); /* not the one we stage (or we restarted): from the start */
            return false;
        }
        st->meta = s->meta;
        st->offset = 0;
        st->crc = 0;
    }
    if (s->offset != st->offset) {
        reply(p, m, st->offset); /* a duplicate or a gap: say where we are */
        return false;
    }
    p->chunk_out.index = s->meta.index;
    p->chunk_out.offset = s->offset;
    p->chunk_out.len = s->len;
    p->chunk_out.data = s->data;
    st->crc = fl_crc32c(st->crc, s->data, s->len);
    st->offset += s->len;
    if (st->offset < s->meta.size) {
        reply(p, m, st->offset);
        return false;
    }
    bool ok = st->crc == s->meta.crc;
    memset(st, 0, sizeof(*st));
    if (!ok) {
        p->snapshot_crc_failures++;
        reply(p, m, 0); /* damaged on the way: start over */
    }
    return ok;
}

void fl__px_recv_snapshot(fl_paxos *p, const fl_paxos_msg *m)
{
    const fl_paxos_snapshot *s = &m->u.snapshot;
    if (fl_paxos_ballot_owner(m->ballot) != m->from || !snapshot_valid(s))
        return;
    if (m->ballot < p->promised) {
        fl__px_refuse(p, m, s->ctx); /* a deposed leader's: refused as phase 2 is */
        return;
    }
    fl__px_follow(p, m->ballot, m->from);
    if (p->install_seq)
        return; /* installing one: acknowledged when durable */
    if (s->meta.index <= p->commit) {
        fl_paxos_msg *r = fl__px_out(p, FL_PAXOS_MSG_SNAPSHOT_RESP, m->from);
        r->ballot = m->ballot;
        r->u.snapshot_resp = (fl_paxos_snapshot_resp){s->meta.index, s->meta.size, true, s->ctx};
        return; /* we know all of it chosen already */
    }
    if (stage_chunk(p, m))
        install(p, &s->meta, m->from, m->ballot);
}

void fl__px_install_durable(fl_paxos *p)
{
    if (!p->install_seq || p->seq_durable < p->install_seq)
        return;
    p->install_seq = 0;
    if (p->commit < p->snap.index)
        p->commit = p->snap.index; /* a snapshot holds chosen slots only */
    if (p->match < p->commit)
        p->match = p->commit;
    p->restore_pending = true;
    p->snapshots_installed++;
    fl_paxos_msg *r = fl__px_out(p, FL_PAXOS_MSG_SNAPSHOT_RESP, p->install_from);
    r->ballot = p->install_ballot;
    r->u.snapshot_resp.index = p->snap.index;
    r->u.snapshot_resp.next_offset = p->snap.size;
    r->u.snapshot_resp.done = true;
}
