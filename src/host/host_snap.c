/* host_snap.c: a host's snapshots (host.h): taking one every snapshot_every applied entries,
 * staging received chunks, installing and restoring, and writing each as the store's snapshot
 * file, for either core (cons.h).
 *
 * Invariant: snap holds the bytes of the core's snapshot (meta.size of them) whenever the
 * core has one; stage holds the chunks accepted so far of the one being received. Once the
 * snapshot file holding them is durable, snap's bytes are a read-only view of that file
 * (snap_view) rather than a malloc'd copy: on real files an mmap, page cache the kernel can
 * reclaim and that faults in as chunks are sent, instead of anonymous memory the size of the
 * state held for as long as the snapshot lives. A view is only ever of a renamed, synced file,
 * and is released as soon as the next snapshot replaces snap, and never read after that
 * snapshot's file replaced the viewed one (on the simulated disk the replaced file's bytes
 * go then). */
#include "host_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft.h" /* the host's mutant bit */

static void swap_bufs(fl_buf *a, fl_buf *b)
{
    fl_buf t = *a;
    *a = *b;
    *b = t;
}

/* The node's snapshot with hard state and the log after it, as the snapshot file; the WAL
 * behind it goes. One the node took itself is written by the next sync job (the loop does not
 * wait for a snapshot's write and fsync: only for the rename once the job is done); an
 * installed one at once, before the request that installs it can reach the disk (a WAL whose
 * log starts past its snapshot file does not open). Like a failed fsync, a failure stops the
 * node. */
static void save_snapshot(fl_host *h, bool installed)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    fl_cons_snapshot_meta meta;
    h->core.ops->snapshot_meta(&h->core, &meta);
    FL_ASSERT(meta.index > 0 && h->snap.len == meta.size);
    size_t n = (size_t)(st.last_index - meta.index);
    const fl_cons_entry *after = n ? fl_cons_entry_at(&h->core, meta.index + 1) : NULL;
    fl_errmsg m;
    int rc = installed ? fl_raft_store_save_snapshot(&h->store, st.hard_term, st.hard_vote, &meta,
                                                     h->snap.data, n, after, &m)
                       : fl_raft_store_queue_snapshot(&h->store, st.hard_term, st.hard_vote, &meta,
                                                      h->snap.data, n, after, &m);
    if (rc)
        fl__host_fatal(h, rc, "snapshot write failed: %s", m.text);
    else if (!installed)
        fl__host_sync_soon(h);
}

/* Whether b's bytes are the snapshot file's view. */
static bool is_view(const fl_host *h, const fl_buf *b)
{
    return h->snap_view.data && b->data && b->data >= h->snap_view.data &&
           b->data < h->snap_view.data + h->snap_view.len;
}

/* The view behind old (snap's bytes until it was just replaced) released; old emptied. */
static bool unview(fl_host *h, fl_buf *old)
{
    if (!is_view(h, old))
        return false;
    fl_raft_store_unmap_snapshot(&h->store, &h->snap_view);
    size_t cap_max = old->cap_max;
    *old = (fl_buf){.cap_max = cap_max};
    return true;
}

/* The node's previous snapshot bytes, just replaced in snap: a view released; or freed, or
 * kept aside while the store still writes them (fl_raft_store_queue_snapshot borrows them).
 * A queued file is replaced before this is called, so only a running job's can be in use:
 * one slot does. */
static void retire(fl_host *h, fl_buf *old)
{
    if (unview(h, old))
        return;
    /* the bound goes back with old, whatever the swap below hands it (snap_retired's is 0:
     * taken before, a staging buffer came back unbounded, and a snapshot taken into it
     * later was refused as too big whatever its size) */
    size_t cap_max = old->cap_max;
    if (h->snap_retired.data && !fl_raft_store_uses(&h->store, h->snap_retired.data))
        fl_buf_free(&h->snap_retired);
    if (fl_raft_store_uses(&h->store, old->data)) {
        FL_ASSERT(h->snap_retired.data == NULL);
        swap_bufs(&h->snap_retired, old);
    }
    if (h->store.mutants & FL_RAFT_MUTANT_SNAPSHOT_BOUND_LOST) {
        /* the bug c64df7a fixed, kept for the simulator to prove it would catch it: the
         * bound read after the swap (snap_retired's 0, unbounded) and no assertion */
        cap_max = old->cap_max;
        fl_buf_free(old);
        old->cap_max = cap_max;
        return;
    }
    fl_buf_free(old);
    old->cap_max = cap_max;
    FL_ASSERT(cap_max == h->snap.cap_max); /* the buffers that swap share one bound */
}

/* snap's malloc'd bytes exchanged for a view of the snapshot file, once that file is durable
 * under its name (its rename's directory sync, the job after the one that wrote it, done)
 * and is the core's snapshot (tried once per snapshot: a file that is not stays unused). */
void fl__host_snapshot_to_view(fl_host *h)
{
    fl_cons_snapshot_meta meta;
    if (h->failed || !h->snap.len || is_view(h, &h->snap) ||
        fl_raft_store_uses(&h->store, h->snap.data) || fl_raft_store_dir_sync_due(&h->store) ||
        (h->store.syncing && h->store.job_dir_seq))
        return;
    h->core.ops->snapshot_meta(&h->core, &meta);
    if (meta.index == 0 || meta.index == h->snap_view_tried || meta.size != h->snap.len)
        return;
    h->snap_view_tried = meta.index;
    const uint8_t *data;
    FL_ASSERT(h->snap_view.data == NULL && !h->snap_view.priv); /* released with its snap */
    if (fl_raft_store_map_snapshot(&h->store, &meta, &h->snap_view, &data, NULL) != 0)
        return; /* the copy stays: correct, only bigger */
    size_t cap_max = h->snap.cap_max;
    fl_buf_free(&h->snap);
    h->snap = (fl_buf){.data = (uint8_t *)data, .len = (size_t)meta.size, .cap_max = cap_max};
    h->snap_view_checked = false;
    h->stats.snapshot_views++;
}

/* A view's bytes are the file's as they are now, not as they were written: a file changed on
 * the disk (a bad sector, a stray write) would be sent as is, every follower would refuse it
 * by its CRC and ask again from the start, and a leader would offer the same bytes forever.
 * So the first chunk from a view waits for its CRC (the whole file read once; its pages are
 * the ones the transfer reads next), and so does the first chunk 5 s after a check: a view
 * checked once (chunks sent towards a follower that is down count) may rot later, and a
 * follower refusing it starts over with chunks that then see it. The cost stays at one read
 * of the file per 5 s of transfers, whatever the chunk size. On a mismatch the node stops, as
 * for a WAL record that does not check: its disk no longer holds what it wrote (the same file
 * carries its hard state and the log after the snapshot, and its own restart would refuse
 * it), and the other members go on without it, a new leader sending its own snapshot. Taking
 * the snapshot again would keep a node on a disk known to lose data. */
const uint8_t *fl__host_snapshot_for_chunks(fl_host *h, fl_time_ns now)
{
    if (h->failed)
        return NULL;
    if (!is_view(h, &h->snap) || fl__host_snapshot_checked(h, now))
        return h->snap.data;
    fl_cons_snapshot_meta meta;
    h->core.ops->snapshot_meta(&h->core, &meta);
    FL_ASSERT(meta.size == h->snap.len); /* a view is released when its snapshot is replaced */
    fl_errmsg m;
    int rc = fl_raft_store_check_snapshot(&h->store, &meta, h->snap.data, &m);
    if (rc) {
        fl__host_fatal(h, rc, "%s", m.text);
        return NULL;
    }
    h->snap_view_checked = true;
    h->snap_view_checked_at = now;
    return h->snap.data;
}

void fl__host_snapshot_retired(fl_host *h)
{
    if (h->snap_retired.data && !fl_raft_store_uses(&h->store, h->snap_retired.data))
        fl_buf_free(&h->snap_retired);
    fl__host_snapshot_to_view(h);
}

void fl__host_snapshot_close(fl_host *h)
{
    unview(h, &h->snap);
}

/* stage_local holds the state machine's bytes as of index: they become the node's snapshot,
 * unless a snapshot at or past index (an installed one) overtook them while they were taken. */
static void take(fl_host *h, fl_index index, uint32_t crc)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    if (index <= st.snapshot_index || st.install_pending) {
        fl_buf_free(&h->stage_local);
        h->stage_local.cap_max = h->snap.cap_max;
        return;
    }
    fl_cons_event ev = {.type = FL_CONS_EV_SNAPSHOT, .now_ns = h->env.now(h->env.arg)};
    ev.u.snapshot.index = index;
    ev.u.snapshot.size = h->stage_local.len;
    ev.u.snapshot.crc = crc;
    fl_cons_role before = h->role;
    fl_cons_update up;
    int rc = fl_cons_step(&h->core, &ev, &up);
    FL_ASSERT(rc == 0); /* newer than the last one, within applied: checked above */
    swap_bufs(&h->snap, &h->stage_local);
    h->stats.snapshots_taken++;
    fl__host_after_step(h, &ev, &up, before);
    if (!h->failed)
        save_snapshot(h, false);
    retire(h, &h->stage_local); /* the old snapshot: its memory back, not kept for the next */
}

/* Whether applied passed the node's phase (a multiple of snapshot_every plus snapshot_phase)
 * since the last check; always, without a phase. */
static bool at_phase(fl_host *h, fl_index applied)
{
    fl_index off = h->snapshot_phase, every = h->snapshot_every, seen = h->phase_seen;
    h->phase_seen = applied;
    if (!h->snapshot_phase_on)
        return true;
    if (applied < off || applied <= seen)
        return false;
    return seen < off || (applied - off) / every > (seen - off) / every;
}

/* Every snapshot_every applied entries (and not while a received one is being installed or
 * one of ours is being taken; with snapshot_log_share, not before the entries applied since
 * weigh that share of the last snapshot; with a phase, once applied passes it next): the
 * state machine's bytes become the node's snapshot, at once (env.snapshot) or when
 * env.snapshot_start's bytes arrive. */
void fl__host_maybe_snapshot(fl_host *h)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    fl_index applied = st.applied;
    if (h->failed || !h->snapshot_every || h->snapshot_started || st.install_pending ||
        applied < st.snapshot_index + h->snapshot_every ||
        (h->snapshot_log_share &&
         (uint64_t)h->snapshot_log_share * h->applied_bytes < h->snap.len)) {
        h->phase_seen = applied;
        return;
    }
    if (!at_phase(h, applied))
        return;
    h->applied_bytes = 0;
    if (h->env.snapshot_start) {
        h->snapshot_started = applied;
        h->snapshot_progress_at = h->env.now(h->env.arg); /* the watchdog's clock starts */
        if (h->env.snapshot_start(h->env.arg, applied) != 0)
            h->snapshot_started = 0; /* none this time: tried again after more entries */
        return;
    }
    fl_buf_reset(&h->stage_local);
    int rc = h->env.snapshot(h->env.arg, &h->stage_local);
    if (rc || h->stage_local.err) {
        fl__host_fatal(h, rc ? rc : h->stage_local.err, "state machine snapshot failed: %s",
                       fl_strerror(rc ? rc : h->stage_local.err));
        return;
    }
    take(h, applied, fl_crc32c(0, h->stage_local.data, h->stage_local.len));
}

void fl_host_snapshot_done(fl_host *h, fl_index index, int rc, fl_buf *bytes, uint32_t crc)
{
    if (h->failed || !h->snapshot_started || index != h->snapshot_started)
        return;
    h->snapshot_started = 0;
    if (rc)
        return;                                       /* tried again after more entries */
    if (bytes->err || bytes->len > h->snap.cap_max) { /* as env.snapshot's would */
        int e = bytes->err ? bytes->err : FL_ETOOBIG;
        fl__host_fatal(h, e, "state machine snapshot failed: %s", fl_strerror(e));
        return;
    }
    fl_buf_free(&h->stage_local);
    swap_bufs(&h->stage_local, bytes);
    h->stage_local.cap_max = h->snap.cap_max;
    take(h, index, crc);
    if (!h->stepping && h->sync_now) { /* no step ends here to start the file's job */
        h->sync_now = false;
        fl_host_sync(h);
    }
}

void fl_host_snapshot_progress(fl_host *h, fl_index index)
{
    if (h->failed || !h->snapshot_started || index != h->snapshot_started)
        return;
    h->snapshot_progress_at = h->env.now(h->env.arg);
}

/* The watchdog (host.h snapshot_timeout_ns), after every step: a started snapshot that made no
 * progress for the timeout is given up and counts as failed, so the usual retry after more
 * entries happens (a child hung on a lock inherited across fork, session 7, otherwise stopped
 * the node's compaction for good). It lives here rather than in each environment so that the
 * server and the simulator decide alike, on the host's clock. No timer of its own: the cores
 * always name a deadline (an election timeout at most away), so the host is stepped at least
 * that often, and the check runs at most that late; the timers the simulator draws stay as
 * they were. now: the step's time. A clock that went back (a simulated clock jump, a real
 * clock fault) restarts the wait rather than wrapping into a huge one: the watchdog only ever
 * fires late, never early (a wrap fired it at once in clock-offset worlds). */
void fl__host_snapshot_watchdog(fl_host *h, fl_time_ns now)
{
    if (!h->snapshot_started || !h->snapshot_timeout_ns || !h->env.snapshot_cancel || h->failed)
        return;
    if (now < h->snapshot_progress_at)
        h->snapshot_progress_at = now;
    if (now - h->snapshot_progress_at < h->snapshot_timeout_ns)
        return;
    fl_index index = h->snapshot_started;
    h->snapshot_started = 0; /* first: whatever the environment does next, this one is over */
    h->stats.snapshot_timeouts++;
    h->env.snapshot_cancel(h->env.arg, index);
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
        h->stats.snapshots_installed++;
        h->applied_bytes = 0;
        save_snapshot(h, true); /* drops a queued file: retire's one slot then suffices */
        retire(h, &h->stage);   /* the old snapshot (a view: released unread, its file replaced) */
        fl__host_snapshot_to_view(h);
    }
    if (!up->restore_index || h->failed)
        return;
    int rc = h->env.restore(h->env.arg, up->restore_index, h->snap.data, h->snap.len);
    if (rc)
        fl__host_fatal(h, rc, "the installed snapshot does not restore: %s", fl_strerror(rc));
}
