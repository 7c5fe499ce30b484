/* host.c: one consensus node between its core and the world (host.h): stepping, persistence
 * by group commit, sending and receiving, and opening from the store, for either core through
 * cons.h. Snapshots are in host_snap.c.
 *
 * Invariants: reported_seq <= sync_seq <= persist_seq, due_seq <= persist_seq; a sync job
 * starts only for requests up to due_seq (or a queued snapshot) and covers all up to
 * persist_seq; a sync job runs exactly while
 * store.syncing, and covers the requests up to sync_seq; once failed, nothing is written,
 * sent or stepped again. */
#include "host_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl__host_fatal(fl_host *h, int code, const char *fmt, const char *why)
{
    if (h->failed)
        return;
    h->failed = true;
    char what[FL_ERRMSG_SIZE + 64];
    snprintf(what, sizeof(what), fmt, why);
    h->env.fatal(h->env.arg, code, what);
}

/* ---- persistence ----------------------------------------------------------------------- */

static void persist(fl_host *h, const fl_cons_update *up)
{
    int rc = fl_raft_store_append(&h->store, &up->persist);
    if (rc) {
        fl__host_fatal(h, rc, "WAL append failed: %s", fl_wal_errmsg(&h->store.wal));
        return;
    }
    h->persist_seq = up->persist.seq;
}

/* A step that does not let its node's sync wait (fl_cons_update.sync_may_wait) makes every
 * request appended so far due. A request held back is made due by the step that sends its
 * entries (or any later step that says false): syncs on the leader follow its replication
 * rounds instead of its appends between them. */
static void sync_due(fl_host *h, const fl_cons_update *up)
{
    if ((up->sync_may_wait && !h->sync_eager) || h->due_seq == h->persist_seq)
        return;
    FL_ASSERT(h->due_seq < h->persist_seq);
    h->due_seq = h->persist_seq;
    fl__host_sync_soon(h);
}

/* Due requests, a queued snapshot file, or a renamed one's directory sync, not covered by
 * any job yet. */
static bool sync_wanted(const fl_host *h)
{
    return h->due_seq > h->reported_seq || fl_raft_store_snapshot_queued(&h->store) ||
           fl_raft_store_dir_sync_due(&h->store);
}

void fl__host_sync_soon(fl_host *h)
{
    if (h->store.syncing)
        return; /* the running job's end starts the next one */
    if (h->env.sync_soon)
        h->env.sync_soon(h->env.arg);
    else
        h->sync_now = true;
}

/* How a job runs: on the file interface's worker (or the simulated disk's job), on the
 * caller's thread, or as a worker's job while the caller holds itself (fl_host_sync_hold). */
typedef enum { JOB_WORKER, JOB_INLINE, JOB_HELD } job_way;

/* Starts the job that covers everything appended. */
static void sync_start(fl_host *h, job_way way)
{
    if (h->env.syncing)
        h->env.syncing(h->env.arg);
    h->sync_seq = h->persist_seq;
    if (way == JOB_INLINE) {
        (void)fl_raft_store_sync_inline(&h->store); /* its result: fl_host_sync_done's */
        h->stats.syncs_inline++;
        return;
    }
    int rc = fl_raft_store_sync_start(&h->store);
    if (rc)
        fl__host_fatal(h, FL_EIO, "WAL sync failed (fsync): cannot start the sync job (%s)",
                       fl_strerror(rc));
    else if (way == JOB_HELD)
        h->stats.syncs_inline++;
}

void fl_host_sync(fl_host *h)
{
    if (h->failed || h->store.syncing || !sync_wanted(h))
        return;
    sync_start(h, JOB_WORKER);
}

bool fl_host_sync_inline(fl_host *h, size_t bytes_max)
{
    if (h->failed || h->store.syncing || !sync_wanted(h))
        return false;
    bool small = fl_raft_store_sync_small(&h->store, bytes_max);
    sync_start(h, small ? JOB_INLINE : JOB_WORKER);
    return small && h->store.syncing;
}

bool fl_host_sync_hold(fl_host *h, size_t bytes_max)
{
    if (h->failed || h->store.syncing || !sync_wanted(h))
        return false;
    bool small = fl_raft_store_sync_small(&h->store, bytes_max);
    sync_start(h, small ? JOB_HELD : JOB_WORKER);
    return small && h->store.syncing;
}

bool fl_host_sync_short(const fl_host *h)
{
    return fl_raft_store_sync_small(&h->store, FL_HOST_SYNC_INLINE_BYTES);
}

/* A disk that slow (a queue of other writers, a failing device) keeps its syncs off the loop,
 * whose heartbeats would be late otherwise, until a short one on the worker is quick again;
 * the cheap conditions first, ready (a system call in the server) only when they hold. */
bool fl_host_sync_idle(const fl_host_idle *idle)
{
    return idle->ops <= 1 && !idle->collected && idle->sync_short_ns < idle->heartbeat_ns / 2 &&
           !(idle->ready && idle->ready(idle->arg));
}

void fl_host_sync_done(fl_host *h)
{
    if (h->failed || !h->store.syncing)
        return;
    fl_errmsg m;
    bool inline_job = h->store.job_inline;
    /* After a failed fsync the page cache may have dropped our data: never carry on. */
    if (fl_raft_store_sync_finish(&h->store, &m)) {
        fl__host_fatal(h, FL_EIO,
                       inline_job ? "WAL sync failed (fsync, on the loop's thread): %s"
                                  : "WAL sync failed (fsync): %s",
                       m.text);
        return;
    }
    h->stats.syncs++;
    fl__host_snapshot_retired(h);
    h->reported_seq = h->sync_seq;
    fl_cons_event ev = {.type = FL_CONS_EV_PERSISTED, .u.seq = h->sync_seq};
    fl_cons_update up;
    fl_host_step(h, &ev, &up);
    /* What was appended meanwhile: at once, or (env.sync_soon) with what the rest of this
     * batch of I/O appends too, in one job. */
    if (h->env.sync_soon && sync_wanted(h))
        h->env.sync_soon(h->env.arg);
    else
        fl_host_sync(h);
}

int fl_host_sync_fd(const fl_host *h)
{
    return fl_raft_store_sync_fd(&h->store);
}

/* ---- messages ------------------------------------------------------------------------------ */

/* Snapshot chunks get snap's bytes only once a view of them was checked (host_snap.c): the
 * codec answers FL_ENOTFOUND for a chunk given none. now: the step's time. */
static void send_msgs(fl_host *h, const fl_cons_update *up, fl_time_ns now)
{
    for (size_t i = 0; i < up->n_msgs && !h->failed; i++) {
        fl_buf_reset(&h->scratch);
        fl_node_id to;
        const uint8_t *snap = fl__host_snapshot_checked(h, now) ? h->snap.data : NULL;
        int rc = fl_cons_encode(&h->core, up, i, snap, h->snap.len, &h->scratch, &to);
        if (rc == FL_ENOTFOUND) {
            snap = fl__host_snapshot_for_chunks(h, now);
            if (!snap)
                return; /* stopped */
            fl_buf_reset(&h->scratch);
            rc = fl_cons_encode(&h->core, up, i, snap, h->snap.len, &h->scratch, &to);
        }
        FL_ASSERT(rc == 0); /* the core makes only messages the codec takes */
        h->env.send(h->env.arg, to, h->scratch.data, h->scratch.len);
    }
}

/* Everything after the core stepped (shared by events and received messages). */
static void finish_step(fl_host *h, const fl_cons_event *ev, const fl_cons_update *up,
                        fl_cons_role before)
{
    bool outer = !h->stepping; /* a step inside a step (a sync's report) ends with the outer */
    h->stepping = true;
    fl__host_after_step(h, ev, up, before);
    if (h->snapshot_started)
        fl__host_snapshot_watchdog(h, ev->now_ns); /* before: a retry may be due at once */
    if (h->snapshot_every)
        fl__host_maybe_snapshot(h);
    h->stepping = !outer;
    if (outer && h->sync_now) {
        h->sync_now = false;
        fl_host_sync(h);
    }
}

int fl_host_receive(fl_host *h, fl_node_id from, const uint8_t *bytes, size_t len)
{
    if (h->failed)
        return FL_ESTOPPED;
    fl_cons_event ev = {.now_ns = h->env.now(h->env.arg)};
    fl_cons_update up;
    fl_cons_role before = h->role;
    int rc = fl_cons_receive(&h->core, from, bytes, len, &ev, &up);
    if (rc == FL_ECORRUPT) {
        h->stats.decode_errors++;
        return rc;
    }
    if (rc == FL_EINVAL)
        h->stats.rejected_msgs++;
    finish_step(h, &ev, &up, before);
    return rc;
}

/* ---- stepping ------------------------------------------------------------------------------- */

/* The payloads the core's log dropped in this step (a snapshot's compaction), to env.free_bulk
 * in one piece, or freed here. After env.applied: nothing of the step's reads them then. */
static void free_dropped(fl_host *h)
{
    void **ptrs;
    size_t n = fl_cons_take_dropped(&h->core, &ptrs);
    if (!n)
        return;
    h->stats.payloads_dropped += n;
    if (h->env.free_bulk) {
        h->env.free_bulk(h->env.arg, ptrs, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        free(ptrs[i]);
    free(ptrs);
}

void fl__host_after_step(fl_host *h, const fl_cons_event *ev, const fl_cons_update *up,
                         fl_cons_role before)
{
    h->role = up->role;
    if (h->env.checked)
        h->env.checked(h->env.arg, ev, up, before);
    if (h->failed)
        return;
    if (up->persist.seq)
        persist(h, up);
    sync_due(h, up);
    if (up->snapshot_chunk.index || up->persist.install || up->restore_index)
        fl__host_snapshot_io(h, up); /* after the request is issued: the file covers it */
    send_msgs(h, up, ev->now_ns);
    if (h->failed)
        return;
    if (h->snapshot_log_share)
        for (size_t i = 0; i < up->n_apply; i++)
            h->applied_bytes += up->apply[i].len;
    h->env.applied(h->env.arg, up);
    free_dropped(h);
    h->env.set_timer(h->env.arg, up->deadline_ns);
}

int fl_host_step(fl_host *h, fl_cons_event *ev, fl_cons_update *up)
{
    if (h->failed || !fl_cons_supports(&h->core, ev->type)) {
        memset(up, 0, sizeof(*up));
        return h->failed ? FL_ESTOPPED : FL_EUNSUPPORTED;
    }
    ev->now_ns = h->env.now(h->env.arg);
    fl_cons_role before = h->role;
    int rc = fl_cons_step(&h->core, ev, up);
    finish_step(h, ev, up, before);
    return rc;
}

/* ---- opening and closing ------------------------------------------------------------------ */

int fl_host_open(fl_host *h, fl_fs *fs, const fl_host_config *c, const fl_host_env *env,
                 fl_errmsg *m)
{
    memset(h, 0, sizeof(*h));
    h->env = *env;
    h->id = fl_cons_config_id(&c->core);
    h->snapshot_every = c->snapshot_every;
    h->sync_eager = c->sync_eager;
    h->snapshot_timeout_ns = c->snapshot_timeout_ns;
    h->snapshot_log_share = c->snapshot_log_share;
    h->snapshot_phase_on = c->snapshot_phase_on;
    h->snapshot_phase = (fl_index)c->snapshot_every * (c->snapshot_phase_permille % 1000) / 1000;
    size_t snap_max = c->snapshot_bytes_max ? c->snapshot_bytes_max : FL_RAFT_STORE_SNAPSHOT_MAX;
    fl_buf_init(&h->snap);
    fl_buf_init(&h->stage);
    fl_buf_init(&h->stage_local);
    fl_buf_init(&h->snap_retired);
    fl_buf_init(&h->scratch);
    h->snap.cap_max = h->stage.cap_max = h->stage_local.cap_max = snap_max; /* they swap */
    fl_raft_store_opts so = c->store;
    so.protocol = c->core.protocol;
    int rc = fl_raft_store_open_fs(&h->store, fs, &so, m);
    h->store_up = rc == 0;
    if (!rc) {
        fl_cons_durable d;
        fl_raft_store_durable(&h->store, &d);
        fl_buf_put_bytes(&h->snap, h->store.snap_data.data, h->store.snap_data.len);
        rc = h->snap.err ? fl_errmsg_set(m, h->snap.err, "the snapshot file's %zu bytes: %s",
                                         h->store.snap_data.len, fl_strerror(h->snap.err))
                         : 0;
        if (!rc && (rc = fl_cons_open(&h->core, &c->core, &d, env->now(env->arg))) != 0)
            fl_errmsg_set(m, rc, "recovered state refused: %s", fl_strerror(rc));
        h->core_up = rc == 0;
        fl_raft_store_release(&h->store);
        if (!rc)
            fl__host_snapshot_to_view(h); /* the file it came from is durable */
    }
    if (rc)
        fl_host_close(h);
    else
        h->role = FL_CONS_FOLLOWER;
    return rc;
}

int fl_host_restore(fl_host *h, fl_errmsg *m)
{
    fl_cons_status st;
    fl_cons_status_of(&h->core, &st);
    fl_index index = st.snapshot_index;
    if (index == 0)
        return 0;
    int rc = h->env.restore(h->env.arg, index, h->snap.data, h->snap.len);
    if (rc)
        return fl_errmsg_set(m, rc, "the snapshot file's state does not restore: %s",
                             fl_strerror(rc));
    return 0;
}

void fl_host_close(fl_host *h)
{
    if (h->core_up)
        fl_cons_close(&h->core);
    fl__host_snapshot_close(h); /* a view goes while the store's fs is there; a copy after */
    if (h->store_up)
        fl_raft_store_close(&h->store); /* waits for a running job (real files) */
    h->core_up = h->store_up = false;
    fl_buf_free(&h->snap);
    fl_buf_free(&h->stage);
    fl_buf_free(&h->stage_local);
    fl_buf_free(&h->snap_retired);
    fl_buf_free(&h->scratch);
}
