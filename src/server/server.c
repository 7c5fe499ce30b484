/* server.c: one real node (server.h): hosts the Raft core on the event loop with the WAL
 * for persistence, the peer transport for messages and loop timers for ticks, and applies
 * committed entries to the kv. Same contract as the simulator's host (src/sim/raft_host.c):
 * a persist request is appended to the WAL, made durable by one group-commit fdatasync per
 * loop iteration, run by a worker thread while the loop goes on (records appended meanwhile
 * wait for the next sync), then reported with FL_RAFT_EV_PERSISTED; a failed fsync stops the
 * node. */
#include "server_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/log.h"
#include "faultline/wire.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define KV_CMD_TIME_OFFSET 19 /* time_ns in the kv command encoding (docs/kv.md) */

void fl_server_config_default(fl_server_config *c)
{
    memset(c, 0, sizeof(*c));
    c->election_timeout_ns = 300 * FL_NS_PER_MS;
    c->heartbeat_ns = 50 * FL_NS_PER_MS;
    c->op_timeout_ns = 10 * FL_NS_PER_S;
    c->clients_max = 10000;
    c->snapshot_every = 10000;
}

static int parse_member(fl_server_config *c, const char *item, fl_errmsg *m)
{
    char *end;
    unsigned long id = strtoul(item, &end, 10);
    if (end == item || *end != '=' || id == 0 || id > 0xffffffffUL)
        return fl_errmsg_set(m, FL_ESYNTAX, "cluster member \"%s\": expected ID=HOST:PORT", item);
    if (c->n == FL_RAFT_NODES_MAX)
        return fl_errmsg_set(m, FL_ERANGE, "cluster: more than %d members", FL_RAFT_NODES_MAX);
    for (uint32_t i = 0; i < c->n; i++)
        if (c->ids[i] == id)
            return fl_errmsg_set(m, FL_ESYNTAX, "cluster: node id %lu appears twice", id);
    int rc = fl_addr_parse(end + 1, &c->addrs[c->n], m);
    if (rc)
        return rc;
    c->ids[c->n++] = (fl_node_id)id;
    return 0;
}

int fl_server_parse_cluster(fl_server_config *c, const char *spec, fl_errmsg *m)
{
    char buf[2048];
    if (strlen(spec) >= sizeof(buf))
        return fl_errmsg_set(m, FL_ETOOBIG, "cluster: list too long");
    snprintf(buf, sizeof(buf), "%s", spec);
    c->n = 0;
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        int rc = parse_member(c, it, m);
        if (rc)
            return rc;
    }
    if (c->n == 0)
        return fl_errmsg_set(m, FL_ESYNTAX, "cluster: no members");
    /* cluster id: a hash of the members sorted by id, so any order gives the same id */
    uint64_t h = 0x666c636c75737472ull;
    for (fl_node_id want = 0;;) {
        fl_node_id next = 0;
        uint32_t at = 0;
        for (uint32_t i = 0; i < c->n; i++)
            if (c->ids[i] > want && (next == 0 || c->ids[i] < next)) {
                next = c->ids[i];
                at = i;
            }
        if (next == 0)
            break;
        char a[FL_ADDR_STR_MAX], line[96];
        int n = snprintf(line, sizeof(line), "%u=%s;", next, fl_addr_format(&c->addrs[at], a));
        h = h * 1099511628211ull ^ fl_crc32c((uint32_t)h, line, (size_t)n);
        want = next;
    }
    c->cluster_id = h;
    return 0;
}

int fl_server_parse_voters(fl_server_config *c, const char *spec, fl_errmsg *m)
{
    char buf[512];
    if (strlen(spec) >= sizeof(buf))
        return fl_errmsg_set(m, FL_ETOOBIG, "voters: list too long");
    snprintf(buf, sizeof(buf), "%s", spec);
    c->n_voters = 0;
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long id = strtoul(it, &end, 10);
        bool member = false;
        for (uint32_t i = 0; i < c->n; i++)
            member |= c->ids[i] == id;
        if (end == it || *end || id == 0 || !member)
            return fl_errmsg_set(m, FL_ESYNTAX, "voters: \"%s\" is not a member's id", it);
        for (uint32_t i = 0; i < c->n_voters; i++)
            if (c->voters[i] == id)
                return fl_errmsg_set(m, FL_ESYNTAX, "voters: %lu listed twice", id);
        c->voters[c->n_voters++] = (fl_node_id)id;
    }
    if (c->n_voters == 0)
        return fl_errmsg_set(m, FL_ESYNTAX, "voters: none");
    return 0;
}

const char *fl__srv_addr_of(const srv *s, fl_node_id id, char *out)
{
    for (uint32_t i = 0; i < s->cfg.n; i++)
        if (s->cfg.ids[i] == id)
            return fl_addr_format(&s->cfg.addrs[i], out);
    snprintf(out, FL_ADDR_STR_MAX, "-");
    return out;
}

void fl__srv_fatal(srv *s, int code, const char *what)
{
    if (!s->fatal) {
        s->fatal = code;
        fl_errmsg_set(&s->fatal_msg, code, "%s", what);
        FL_ERROR("fatal: %s; stopping the node", what);
    }
    fl_loop_stop(&s->loop);
}

/* ---- stepping the core ------------------------------------------------------------------ */

static int step(srv *s, fl_raft_event *ev, fl_raft_update *up);

static void sync_failed(srv *s, const char *why)
{
    /* After a failed fsync the page cache may have dropped our data: never carry on. */
    char what[FL_ERRMSG_SIZE + 32];
    snprintf(what, sizeof(what), "WAL sync failed: %s", why);
    fl__srv_fatal(s, FL_EIO, what);
}

static void sync_done_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev);

/* Hands everything appended so far to the sync worker; the loop keeps going meanwhile. */
static void sync_start(srv *s)
{
    fl_peers_flush(&s->peers); /* followers start on our entries while we fsync them */
    fl__metrics_sync(s, true, s->persist_seq - s->sync_seq);
    s->sync_seq = s->persist_seq;
    int rc = fl_raft_store_sync_start(&s->store);
    if (rc == 0 && !s->sync_watch.active)
        rc = fl_loop_watch_start(&s->loop, &s->sync_watch, fl_raft_store_sync_fd(&s->store),
                                 FL_LOOP_READ, sync_done_io, s);
    if (rc)
        sync_failed(s, "cannot start the sync worker");
}

/* The worker finished: report the synced requests, and start on what came in meanwhile. */
static void sync_done_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    srv *s = w->arg;
    (void)loop;
    (void)ev;
    if (!s->store.syncing)
        return;
    fl_errmsg m;
    if (fl_raft_store_sync_finish(&s->store, &m)) {
        sync_failed(s, m.text);
        return;
    }
    fl__metrics_sync(s, false, 0);
    s->reported_seq = s->sync_seq;
    fl_raft_event e = {.type = FL_RAFT_EV_PERSISTED, .u.seq = s->sync_seq};
    fl_raft_update up;
    step(s, &e, &up);
    fl_peers_flush(&s->peers); /* acknowledgements released by the sync go out now */
    if (!s->fatal && s->persist_seq != s->reported_seq)
        sync_start(s);
}

/* Runs after each batch of I/O: group commit of what the batch appended. */
static void sync_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    (void)loop;
    s->sync_timer = 0;
    if (s->fatal || s->store.syncing || s->persist_seq == s->reported_seq)
        return;
    sync_start(s);
}

static void tick_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    (void)loop;
    s->tick_timer = 0;
    s->tick_deadline = FL_TIME_NEVER;
    fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
    fl_raft_update up;
    step(s, &ev, &up);
}

static void arm_tick(srv *s, fl_time_ns deadline)
{
    if (deadline == s->tick_deadline && s->tick_timer)
        return;
    if (s->tick_timer)
        fl_loop_timer_cancel(&s->loop, s->tick_timer);
    s->tick_timer = 0;
    s->tick_deadline = deadline;
    if (deadline == FL_TIME_NEVER)
        return;
    fl_time_ns now = fl_loop_now(&s->loop);
    fl_time_ns delay = deadline > now ? deadline - now : 0;
    if (fl_loop_timer_start(&s->loop, delay, tick_cb, s, &s->tick_timer))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

static void persist(srv *s, const fl_raft_update *up)
{
    int rc = fl_raft_store_append(&s->store, up);
    if (rc) {
        char what[FL_ERRMSG_SIZE + 32];
        snprintf(what, sizeof(what), "WAL append failed: %s", fl_wal_errmsg(&s->store.wal));
        fl__srv_fatal(s, rc, what);
        return;
    }
    s->persist_seq = up->persist.seq;
    if (!s->store.syncing && !s->sync_timer &&
        fl_loop_timer_start(&s->loop, 0, sync_cb, s, &s->sync_timer))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

/* ---- snapshots ---------------------------------------------------------------------------- */

static void handle_update(srv *s, const fl_raft_update *up);

/* The node's snapshot (the kv's bytes, as fl_kv_snapshot made them) to the snapshot file,
 * with hard state and the log after it; the WAL behind it goes. */
static void save_snapshot(srv *s)
{
    const fl_raft *r = &s->raft;
    const fl_raft_snapshot_meta *meta = fl_raft_snapshot_of(r);
    fl_index last = fl_raft_last_index(r);
    size_t n = (size_t)(last - meta->index);
    fl_errmsg m;
    if (fl_raft_store_save_snapshot(&s->store, fl_raft_term_of(r), r->vote, meta, s->snap.data, n,
                                    n ? fl_raft_entry_at(r, meta->index + 1) : NULL, &m)) {
        char what[FL_ERRMSG_SIZE + 32];
        snprintf(what, sizeof(what), "snapshot write failed: %s", m.text);
        fl__srv_fatal(s, FL_EIO, what); /* like a failed fsync: never carry on */
    }
}

/* Every snapshot_every applied entries: snapshot the kv, tell the core, write the file. */
static void maybe_snapshot(srv *s)
{
    const fl_raft *r = &s->raft;
    fl_index applied = fl_raft_applied_of(r);
    if (s->fatal || !s->cfg.snapshot_every || r->install_seq ||
        applied < fl_raft_snapshot_of(r)->index + s->cfg.snapshot_every)
        return;
    fl_buf_reset(&s->stage_local);
    if (fl_kv_snapshot(&s->kv, &s->stage_local)) {
        fl__srv_fatal(s, FL_ENOMEM, "kv: out of memory while snapshotting");
        return;
    }
    fl_raft_event ev = {.type = FL_RAFT_EV_SNAPSHOT, .now_ns = fl_loop_now(&s->loop)};
    ev.u.snapshot.index = applied;
    ev.u.snapshot.size = s->stage_local.len;
    ev.u.snapshot.crc = fl_crc32c(0, s->stage_local.data, s->stage_local.len);
    fl_raft_update up;
    if (fl_raft_step(&s->raft, &ev, &up))
        return;
    fl_buf t = s->snap;
    s->snap = s->stage_local;
    s->stage_local = t;
    s->snapshots_taken++;
    handle_update(s, &up);
    save_snapshot(s);
}

/* InstallSnapshot: stage chunks; an install request makes the staged bytes the node's
 * snapshot, in the file before the request's WAL record can be reported durable; a restore
 * replaces the kv. */
static void snapshot_io(srv *s, const fl_raft_update *up)
{
    if (up->snapshot_chunk.index) {
        if (up->snapshot_chunk.offset == 0)
            fl_buf_reset(&s->stage);
        FL_ASSERT(up->snapshot_chunk.offset == s->stage.len); /* the core keeps them in order */
        fl_buf_put_bytes(&s->stage, up->snapshot_chunk.data, up->snapshot_chunk.len);
    }
    if (up->persist.seq && up->persist.install) {
        fl_buf t = s->snap;
        s->snap = s->stage;
        s->stage = t;
        fl_buf_reset(&s->stage);
        s->snapshots_installed++;
        save_snapshot(s);
    }
    if (!up->restore_index)
        return;
    if (fl_kv_restore(&s->kv, s->snap.data, s->snap.len))
        fl__srv_fatal(s, FL_ECORRUPT, "kv: the installed snapshot does not restore");
    else
        fl__ops_restored(s, up->restore_index);
}

static void send_msgs(srv *s, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_msgs; i++) {
        fl_buf_reset(&s->scratch);
        fl_raft_msg msg;
        const fl_raft_msg *mp = &up->msgs[i];
        if (mp->type == FL_RAFT_MSG_SNAPSHOT) {
            /* the core names the bytes; they come from this node's snapshot (raft.h) */
            msg = *mp;
            FL_ASSERT(msg.u.snapshot.meta.size == s->snap.len);
            msg.u.snapshot.data = s->snap.data + msg.u.snapshot.offset;
            mp = &msg;
        }
        if (fl_wire_raft_encode(mp, &s->scratch)) {
            FL_WARN("raft: cannot encode a %s message", fl_raft_msg_type_name(up->msgs[i].type));
            continue;
        }
        fl_peers_send(&s->peers, up->msgs[i].to, FRAME_RAFT, NULL, 0, s->scratch.data,
                      s->scratch.len);
    }
}

static void apply(srv *s, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++) {
        const fl_raft_entry *e = &up->apply[i];
        fl_index index = up->apply_first + i;
        fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
        if (e->type == FL_RAFT_ENTRY_NORMAL) {
            int rc = fl_kv_apply(&s->kv, index, e->data, e->len, &res);
            if (rc == FL_ENOMEM) {
                fl__srv_fatal(s, rc, "kv: out of memory while applying");
                return;
            }
        }
        fl__ops_applied(s, index, e->term, &res);
    }
}

static void observe(srv *s, const fl_raft_update *up)
{
    if (up->role != s->last_role || up->leader != s->last_leader) {
        char a[FL_ADDR_STR_MAX];
        FL_INFO("raft: %s at term %llu, leader %u (%s)", fl_raft_role_name(up->role),
                (unsigned long long)up->term, up->leader, fl__srv_addr_of(s, up->leader, a));
        s->last_role = up->role;
        s->last_leader = up->leader;
    }
}

static void handle_update(srv *s, const fl_raft_update *up)
{
    if (up->persist.seq)
        persist(s, up);
    snapshot_io(s, up); /* after the request is issued: the file covers it */
    send_msgs(s, up);
    apply(s, up);
    if (up->n_reads)
        fl__ops_reads(s, up->reads, up->n_reads); /* after this update's entries */
    observe(s, up);
    fl__metrics_update(s, up);
    arm_tick(s, up->deadline_ns);
}

static int step(srv *s, fl_raft_event *ev, fl_raft_update *up)
{
    ev->now_ns = fl_loop_now(&s->loop);
    int rc = fl_raft_step(&s->raft, ev, up);
    handle_update(s, up);
    maybe_snapshot(s);
    return rc;
}

int fl__srv_change(srv *s, const fl_raft_conf *want, fl_index *index)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_CHANGE, .u.change = want};
    fl_raft_update up;
    int rc = step(s, &ev, &up);
    *index = up.proposed_index;
    return rc;
}

/* The leader stamps each command with its wall clock (kv log time, used only to expire idle
 * sessions; docs/kv.md): bytes 19..26 of a version-1 command. The core copies the entry. */
static const uint8_t *stamp(srv *s, const uint8_t *cmd, size_t len)
{
    fl_buf_reset(&s->stamp);
    fl_buf_put_bytes(&s->stamp, cmd, len);
    if (s->stamp.err || len < KV_CMD_TIME_OFFSET + 8 || cmd[0] != FL_KV_CMD_VERSION)
        return cmd;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * FL_NS_PER_S + (uint64_t)ts.tv_nsec;
    fl_put_u64le(s->stamp.data + KV_CMD_TIME_OFFSET, ns);
    return s->stamp.data;
}

int fl__srv_propose(srv *s, const uint8_t *cmd, size_t len, fl_index *index, fl_term *term)
{
    if (len > UINT32_MAX)
        return FL_ETOOBIG;
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE,
                        .u.propose = {stamp(s, cmd, len), (uint32_t)len}};
    fl_raft_update up;
    int rc = step(s, &ev, &up);
    fl__metrics_proposal(s, rc);
    *index = up.proposed_index;
    *term = up.proposed_term;
    return rc;
}

int fl__srv_read(srv *s, uint64_t ctx)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_READ, .u.read_ctx = ctx};
    fl_raft_update up;
    int rc = step(s, &ev, &up);
    fl__metrics_read(s, rc);
    return rc;
}

int fl__srv_transfer(srv *s, fl_node_id to)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_TRANSFER, .u.transfer_to = to};
    fl_raft_update up;
    return step(s, &ev, &up);
}

static void on_frame(void *arg, fl_node_id from, uint8_t type, const uint8_t *p, size_t len)
{
    srv *s = arg;
    if (type != FRAME_RAFT) {
        fl__ops_frame(s, from, type, p, len);
        return;
    }
    fl_raft_msg m;
    if (fl_wire_raft_decode(p, len, &m, s->decode_entries, FL_WIRE_ENTRIES_MAX) || m.from != from ||
        m.to != s->cfg.id) {
        FL_WARN("peer %u: undecodable or misaddressed raft message dropped", from);
        return;
    }
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    fl_raft_update up;
    step(s, &ev, &up);
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void signal_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    srv *s = w->arg;
    struct signalfd_siginfo si;
    (void)ev;
    if (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        FL_INFO("signal %u: shutting down", si.ssi_signo);
    fl_loop_stop(loop);
}

static int open_signals(srv *s, fl_errmsg *m)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0)
        return fl_errmsg_set(m, FL_EIO, "signalfd failed");
    return fl_loop_watch_start(&s->loop, &s->sw, s->sigfd, FL_LOOP_READ, signal_io, s);
}

static int open_raft(srv *s, fl_errmsg *m)
{
    s->faults.fsync_fail_after = s->cfg.fault_fsync_fail_after;
    int rc = fl_raft_store_open(&s->store, s->cfg.data_dir,
                                s->cfg.fault_fsync_fail_after ? &s->faults : NULL, m);
    if (rc)
        return rc;
    s->store_up = true;
    fl_raft_config rc_cfg;
    fl_raft_config_default(&rc_cfg, s->cfg.id);
    rc_cfg.n_voters = s->cfg.n_voters ? s->cfg.n_voters : s->cfg.n;
    memcpy(rc_cfg.voters, s->cfg.n_voters ? s->cfg.voters : s->cfg.ids, sizeof(rc_cfg.voters));
    rc_cfg.joining = true; /* not a bootstrap voter: waits outside until FL.ADD */
    for (uint32_t i = 0; i < rc_cfg.n_voters; i++)
        rc_cfg.joining &= rc_cfg.voters[i] != s->cfg.id;
    rc_cfg.election_timeout_ns = s->cfg.election_timeout_ns;
    rc_cfg.heartbeat_ns = s->cfg.heartbeat_ns;
    rc_cfg.entry_bytes_max = 2u << 20;
    /* Room for every connection's pipeline in one group commit; past it, ops wait (10 ms). */
    rc_cfg.uncommitted_max = 8192;
    rc_cfg.lease_reads = s->cfg.read_mode == FL_SERVER_READ_LEASE;
    rc_cfg.max_drift_ppm = s->cfg.max_drift_ppm;
    rc_cfg.seed = s->client_id_base ^ s->cfg.id;
    rc_cfg.snapshot_trailing = s->cfg.snapshot_every / 2;
    fl_raft_durable d;
    fl_raft_store_durable(&s->store, &d);
    FL_INFO("recovered term %llu, vote %u, a snapshot up to %llu, %zu log entries from %llu WAL "
            "records",
            (unsigned long long)d.term, d.vote, (unsigned long long)s->store.snap.index,
            d.n_entries, (unsigned long long)s->store.records_replayed);
    fl_buf_put_bytes(&s->snap, s->store.snap_data.data, s->store.snap_data.len);
    if (s->snap.err || (s->store.snap.index && fl_kv_restore(&s->kv, s->snap.data, s->snap.len))) {
        fl_raft_store_release(&s->store);
        return fl_errmsg_set(m, FL_ECORRUPT, "the snapshot file's kv state does not restore");
    }
    char why[160] = "";
    rc = fl_raft_config_validate(&rc_cfg, why, sizeof(why));
    if (rc == 0)
        rc = fl_raft_init(&s->raft, &rc_cfg, &d, fl_loop_now(&s->loop));
    fl_raft_store_release(&s->store);
    if (rc)
        return fl_errmsg_set(m, rc, "raft: %s %s", fl_strerror(rc), why);
    s->raft_up = true;
    arm_tick(s, s->raft.election_deadline);
    return 0;
}

static int start(srv *s, fl_errmsg *m)
{
    int rc = fl_loop_init(&s->loop, NULL, m);
    if (rc)
        return rc;
    if (getrandom(&s->client_id_base, sizeof(s->client_id_base), 0) < 0)
        s->client_id_base = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
    s->tick_deadline = FL_TIME_NEVER;
    s->lfd = s->sigfd = -1;
    fl_buf_init(&s->scratch);
    fl_buf_init(&s->stamp);
    fl_buf_init(&s->snap);
    fl_buf_init(&s->stage);
    fl_buf_init(&s->stage_local);
    s->decode_entries = calloc(FL_WIRE_ENTRIES_MAX, sizeof(fl_raft_entry));
    s->fwd_ring = calloc(SRV_OPS_MAX, sizeof(fwd_rec));
    if (!s->decode_entries || !s->fwd_ring || fl_kv_init(&s->kv, NULL))
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    s->kv_up = true;
    if ((rc = open_signals(s, m)) || (rc = open_raft(s, m)))
        return rc;
    if (s->cfg.tls_on) {
        if ((rc = fl_tls_init(&s->tls, &s->cfg.tls, m)))
            return rc;
        s->tls_up = true;
    }
    fl_peers_config pc = {.cluster_id = s->cfg.cluster_id,
                          .self = s->cfg.id,
                          .n = s->cfg.n,
                          .tls = s->tls_up ? &s->tls : NULL};
    memcpy(pc.ids, s->cfg.ids, sizeof(pc.ids));
    memcpy(pc.addrs, s->cfg.addrs, sizeof(pc.addrs));
    if ((rc = fl_peers_init(&s->peers, &s->loop, &pc, on_frame, s, m)))
        return rc;
    s->peers_up = true;
    if ((rc = fl__metrics_open(s, m)))
        return rc;
    return fl__conn_listen(s, m);
}

static void stop(srv *s)
{
    fl__metrics_close(s);
    fl__conn_close_all(s);
    fl__ops_close_all(s);
    if (s->peers_up)
        fl_peers_close(&s->peers);
    if (s->raft_up)
        fl_raft_close(&s->raft);
    fl_loop_watch_stop(&s->loop, &s->sync_watch);
    if (s->store_up)
        fl_raft_store_close(&s->store); /* joins the sync worker */
    if (s->kv_up)
        fl_kv_close(&s->kv);
    fl_tls_close(&s->tls);
    if (s->sigfd >= 0) {
        fl_loop_watch_stop(&s->loop, &s->sw);
        close(s->sigfd);
    }
    free(s->decode_entries);
    free(s->fwd_ring);
    fl_buf_free(&s->scratch);
    fl_buf_free(&s->stamp);
    fl_buf_free(&s->snap);
    fl_buf_free(&s->stage);
    fl_buf_free(&s->stage_local);
    fl_loop_close(&s->loop);
}

static void housekeep_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    fl__ops_housekeep(s);
    if (fl_loop_timer_start(loop, SRV_HOUSEKEEP_NS, housekeep_cb, s, NULL))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

int fl_server_run(const fl_server_config *c, fl_errmsg *m)
{
    srv *s = calloc(1, sizeof(*s));
    if (!s)
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    s->cfg = *c;
    s->last_role = (fl_raft_role)-1;
    int rc = start(s, m);
    if (rc == 0) {
        char a[FL_ADDR_STR_MAX];
        FL_INFO("node %u up: clients on %s, peers on %s, cluster %016llx", c->id,
                fl_addr_format(&c->listen, a),
                fl__srv_addr_of(s, c->id, (char[FL_ADDR_STR_MAX]){0}),
                (unsigned long long)c->cluster_id);
        housekeep_cb(&s->loop, s);
        rc = fl_loop_run(&s->loop);
        if (rc)
            fl_errmsg_set(m, rc, "%s", s->loop.err.text);
        if (s->fatal) {
            rc = s->fatal;
            *m = s->fatal_msg;
        }
    }
    stop(s);
    free(s);
    return rc;
}
