/* host_snap.c: a host's snapshots (host.h): taking one every snapshot_every applied entries,
 * staging received chunks, installing and restoring, and writing each as the store's snapshot
 * file, for either core (cons.h).
 *
 * Invariant: snap holds the bytes of the core's snapshot (meta.size of them) whenever the
 * core has one; stage holds the chunks accepted so far of the one being received. */
#include "host_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"

static void swap_bufs(fl_buf *a, fl_buf *b)
{
    fl_buf t = *a;
    *a = *b;
    *b = t;
}

/* The node's snapshot with hard state and the log after it, as the snapshot file; the WAL
 * behind it goes. Like a failed fsync, a failure stops the node. */
static void save_snapshot(fl_host *h)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    fl_cons_snapshot_meta meta;
    h->core.ops->snapshot_meta(&h->core, &meta);
    FL_ASSERT(meta.index > 0 && h->snap.len == meta.size);
    size_t n = (size_t)(st.last_index - meta.index);
    fl_errmsg m;
    if (fl_raft_store_save_snapshot(&h->store, st.hard_term, st.hard_vote, &meta, h->snap.data, n,
                                    n ? fl_cons_entry_at(&h->core, meta.index + 1) : NULL, &m))
        fl__host_fatal(h, FL_EIO, "snapshot write failed: %s", m.text);
}

/* Every snapshot_every applied entries (and not while a received one is being installed):
 * the state machine's bytes become the node's snapshot. */
void fl__host_maybe_snapshot(fl_host *h)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    fl_index applied = st.applied;
    if (h->failed || !h->snapshot_every || st.install_pending ||
        applied < st.snapshot_index + h->snapshot_every)
        return;
    fl_buf_reset(&h->stage_local);
    int rc = h->env.snapshot(h->env.arg, &h->stage_local);
    if (rc || h->stage_local.err) {
        fl__host_fatal(h, rc ? rc : h->stage_local.err, "state machine snapshot failed: %s",
                       fl_strerror(rc ? rc : h->stage_local.err));
        return;
    }
    fl_cons_event ev = {.type = FL_CONS_EV_SNAPSHOT, .now_ns = h->env.now(h->env.arg)};
    ev.u.snapshot.index = applied;
    ev.u.snapshot.size = h->stage_local.len;
    ev.u.snapshot.crc = fl_crc32c(0, h->stage_local.data, h->stage_local.len);
    fl_cons_role before = h->role;
    fl_cons_update up;
    rc = fl_cons_step(&h->core, &ev, &up);
    FL_ASSERT(rc == 0); /* newer than the last one, within applied: checked above */
    swap_bufs(&h->snap, &h->stage_local);
    h->stats.snapshots_taken++;
    fl__host_after_step(h, &ev, &up, before);
    if (!h->failed)
        save_snapshot(h);
}

/* A snapshot received by this node: stage chunks; an install request makes the staged bytes
 * the node's snapshot, in the file before the request can be reported durable; a restore
 * replaces the state machine. */
void fl__host_snapshot_io(fl_host *h, const fl_cons_update *up)
{
    if (up->snapshot_chunk.index) {
        if (up->snapshot_chunk.offset == 0)
            fl_buf_reset(&h->stage);
        FL_ASSERT(up->snapshot_chunk.offset == h->stage.len); /* the core keeps them in order */
        fl_buf_put_bytes(&h->stage, up->snapshot_chunk.data, up->snapshot_chunk.len);
        if (h->stage.err) { /* a short snapshot must never be installed */
            fl__host_fatal(h, h->stage.err, "cannot stage a received snapshot: %s",
                           fl_strerror(h->stage.err));
            return;
        }
    }
    if (up->persist.seq && up->persist.install) {
        FL_ASSERT(h->stage.len == up->persist.install_meta.size); /* the core checked its CRC */
        swap_bufs(&h->snap, &h->stage);
        fl_buf_reset(&h->stage);
        h->stats.snapshots_installed++;
        save_snapshot(h);
    }
    if (!up->restore_index || h->failed)
        return;
    int rc = h->env.restore(h->env.arg, up->restore_index, h->snap.data, h->snap.len);
    if (rc)
        fl__host_fatal(h, rc, "the installed snapshot does not restore: %s", fl_strerror(rc));
}
