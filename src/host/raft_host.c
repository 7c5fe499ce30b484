/* raft_host.c: one Raft node between its core and the world (raft_host.h): stepping,
 * persistence by group commit, sending and receiving, and opening from the store. Snapshots
 * are in raft_host_snap.c.
 *
 * Invariants: reported_seq <= sync_seq <= persist_seq; a sync job runs exactly while
 * store.syncing, and covers the requests up to sync_seq; once failed, nothing is written,
 * sent or stepped again. */
#include "raft_host_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl__host_fatal(fl_raft_host *h, int code, const char *fmt, const char *why)
{
    if (h->failed)
        return;
    h->failed = true;
    char what[FL_ERRMSG_SIZE + 64];
    snprintf(what, sizeof(what), fmt, why);
    h->env.fatal(h->env.arg, code, what);
}

/* ---- persistence ----------------------------------------------------------------------- */

static void persist(fl_raft_host *h, const fl_raft_update *up)
{
    int rc = fl_raft_store_append(&h->store, up);
    if (rc) {
        fl__host_fatal(h, rc, "WAL append failed: %s", fl_wal_errmsg(&h->store.wal));
        return;
    }
    h->persist_seq = up->persist.seq;
    fl__host_sync_soon(h);
}

/* Appended requests, or a queued snapshot file, not covered by any job yet. */
static bool sync_wanted(const fl_raft_host *h)
{
    return h->persist_seq != h->reported_seq || fl_raft_store_snapshot_queued(&h->store);
}

void fl__host_sync_soon(fl_raft_host *h)
{
    if (h->store.syncing)
        return; /* the running job's end starts the next one */
    if (h->env.sync_soon)
        h->env.sync_soon(h->env.arg);
    else
        h->sync_now = true;
}

void fl_raft_host_sync(fl_raft_host *h)
{
    if (h->failed || h->store.syncing || !sync_wanted(h))
        return;
    if (h->env.syncing)
        h->env.syncing(h->env.arg);
    h->sync_seq = h->persist_seq;
    int rc = fl_raft_store_sync_start(&h->store);
    if (rc)
        fl__host_fatal(h, FL_EIO, "WAL sync failed (fsync): cannot start the sync job (%s)",
                       fl_strerror(rc));
}

void fl_raft_host_sync_done(fl_raft_host *h)
{
    if (h->failed || !h->store.syncing)
        return;
    fl_errmsg m;
    /* After a failed fsync the page cache may have dropped our data: never carry on. */
    if (fl_raft_store_sync_finish(&h->store, &m)) {
        fl__host_fatal(h, FL_EIO, "WAL sync failed (fsync): %s", m.text);
        return;
    }
    h->stats.syncs++;
    fl__host_snapshot_retired(h);
    h->reported_seq = h->sync_seq;
    fl_raft_event ev = {.type = FL_RAFT_EV_PERSISTED, .u.seq = h->sync_seq};
    fl_raft_update up;
    fl_raft_host_step(h, &ev, &up);
    /* What was appended meanwhile: at once, or (env.sync_soon) with what the rest of this
     * batch of I/O appends too, in one job. */
    if (h->env.sync_soon && sync_wanted(h))
        h->env.sync_soon(h->env.arg);
    else
        fl_raft_host_sync(h);
}

int fl_raft_host_sync_fd(const fl_raft_host *h)
{
    return fl_raft_store_sync_fd(&h->store);
}

/* ---- messages ------------------------------------------------------------------------------ */

static void send_msgs(fl_raft_host *h, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_msgs && !h->failed; i++) {
        fl_buf_reset(&h->scratch);
        fl_raft_msg msg;
        const fl_raft_msg *mp = &up->msgs[i];
        if (mp->type == FL_RAFT_MSG_SNAPSHOT) {
            /* the core names the bytes; they come from this node's snapshot (raft.h) */
            msg = *mp;
            FL_ASSERT(msg.u.snapshot.meta.size == h->snap.len &&
                      msg.u.snapshot.offset + msg.u.snapshot.len <= h->snap.len);
            msg.u.snapshot.data = h->snap.data + msg.u.snapshot.offset;
            mp = &msg;
        }
        int rc = fl_wire_raft_encode(mp, &h->scratch);
        FL_ASSERT(rc == 0); /* the core makes only messages the codec takes */
        h->env.send(h->env.arg, mp->to, h->scratch.data, h->scratch.len);
    }
}

int fl_raft_host_receive(fl_raft_host *h, fl_node_id from, const uint8_t *bytes, size_t len)
{
    fl_raft_msg m;
    if (fl_wire_raft_decode(bytes, len, &m, h->decode_entries, FL_WIRE_ENTRIES_MAX) ||
        m.from != from || m.to != h->id) {
        h->stats.decode_errors++;
        return FL_ECORRUPT;
    }
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    fl_raft_update up;
    int rc = fl_raft_host_step(h, &ev, &up);
    if (rc == FL_EINVAL)
        h->stats.rejected_msgs++;
    return rc;
}

/* ---- stepping ------------------------------------------------------------------------------- */

void fl__host_after_step(fl_raft_host *h, const fl_raft_update *up, fl_raft_role before)
{
    if (h->env.checked)
        h->env.checked(h->env.arg, up, before);
    if (h->failed)
        return;
    if (up->persist.seq)
        persist(h, up);
    if (up->snapshot_chunk.index || up->persist.install || up->restore_index)
        fl__host_snapshot_io(h, up); /* after the request is issued: the file covers it */
    send_msgs(h, up);
    if (h->failed)
        return;
    if (h->snapshot_log_share)
        for (size_t i = 0; i < up->n_apply; i++)
            h->applied_bytes += up->apply[i].len;
    h->env.applied(h->env.arg, up);
    h->env.set_timer(h->env.arg, up->deadline_ns);
}

int fl_raft_host_step(fl_raft_host *h, fl_raft_event *ev, fl_raft_update *up)
{
    if (h->failed) {
        memset(up, 0, sizeof(*up));
        return FL_ESTOPPED;
    }
    ev->now_ns = h->env.now(h->env.arg);
    fl_raft_role before = fl_raft_role_of(&h->r);
    int rc = fl_raft_step(&h->r, ev, up);
    bool outer = !h->stepping; /* a step inside a step (a sync's report) ends with the outer */
    h->stepping = true;
    fl__host_after_step(h, up, before);
    if (h->snapshot_every)
        fl__host_maybe_snapshot(h);
    h->stepping = !outer;
    if (outer && h->sync_now) {
        h->sync_now = false;
        fl_raft_host_sync(h);
    }
    return rc;
}

/* ---- opening and closing ------------------------------------------------------------------ */

int fl_raft_host_open(fl_raft_host *h, fl_fs *fs, const fl_raft_host_config *c,
                      const fl_raft_host_env *env, fl_errmsg *m)
{
    memset(h, 0, sizeof(*h));
    h->env = *env;
    h->id = c->raft.id;
    h->snapshot_every = c->snapshot_every;
    h->snapshot_log_share = c->snapshot_log_share;
    size_t snap_max = c->snapshot_bytes_max ? c->snapshot_bytes_max : FL_RAFT_STORE_SNAPSHOT_MAX;
    fl_buf_init(&h->snap);
    fl_buf_init(&h->stage);
    fl_buf_init(&h->stage_local);
    fl_buf_init(&h->snap_retired);
    fl_buf_init(&h->scratch);
    h->snap.cap_max = h->stage.cap_max = h->stage_local.cap_max = snap_max; /* they swap */
    h->decode_entries = calloc(FL_WIRE_ENTRIES_MAX, sizeof(fl_raft_entry));
    int rc = h->decode_entries ? 0 : fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    if (!rc && (rc = fl_raft_store_open_fs(&h->store, fs, &c->store, m)) == 0)
        h->store_up = true;
    if (!rc) {
        fl_raft_durable d;
        fl_raft_store_durable(&h->store, &d);
        fl_buf_put_bytes(&h->snap, h->store.snap_data.data, h->store.snap_data.len);
        rc = h->snap.err ? fl_errmsg_set(m, h->snap.err, "the snapshot file's %zu bytes: %s",
                                         h->store.snap_data.len, fl_strerror(h->snap.err))
                         : 0;
        if (!rc && (rc = fl_raft_init(&h->r, &c->raft, &d, env->now(env->arg))) != 0)
            fl_errmsg_set(m, rc, "recovered state refused: %s", fl_strerror(rc));
        h->raft_up = rc == 0;
        fl_raft_store_release(&h->store);
    }
    if (rc)
        fl_raft_host_close(h);
    return rc;
}

int fl_raft_host_restore(fl_raft_host *h, fl_errmsg *m)
{
    fl_index index = fl_raft_snapshot_of(&h->r)->index;
    if (index == 0)
        return 0;
    int rc = h->env.restore(h->env.arg, index, h->snap.data, h->snap.len);
    if (rc)
        return fl_errmsg_set(m, rc, "the snapshot file's state does not restore: %s",
                             fl_strerror(rc));
    return 0;
}

void fl_raft_host_close(fl_raft_host *h)
{
    if (h->raft_up)
        fl_raft_close(&h->r);
    if (h->store_up)
        fl_raft_store_close(&h->store); /* waits for a running job (real files) */
    h->raft_up = h->store_up = false;
    free(h->decode_entries);
    h->decode_entries = NULL;
    fl_buf_free(&h->snap);
    fl_buf_free(&h->stage);
    fl_buf_free(&h->stage_local);
    fl_buf_free(&h->snap_retired);
    fl_buf_free(&h->scratch);
}
