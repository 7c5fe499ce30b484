/* server.c: one real node (server.h): the one host (host.h, the same code the simulator
 * runs) over real files in the data directory (fs_posix.h), with the peer
 * transport for its messages, a loop timer for its ticks and the kv as its state machine.
 * Group commit: a persist request is appended at once and synced by one fdatasync per loop
 * iteration (a 0 timer after the batch), on the file interface's worker thread while the loop
 * goes on; the worker's eventfd brings the completion back (PERSISTED). When the loop is idle
 * (sync_idle: nothing else ready or in flight; a short job) the job runs on the loop's
 * thread instead, after the peers were written, and PERSISTED follows its return at once.
 * A failed write or sync, either way, like any other fatal error, stops the node. */
#include "server_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/log.h"

#include <malloc.h>
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
    /* a snapshot once half its size was logged since the last: at most two snapshot bytes
     * written per byte of log, however large the state */
    c->snapshot_log_share = 2;
    c->snapshot_timeout_ns = FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT;
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

/* ---- the host's environment ------------------------------------------------------------ */

static fl_time_ns env_now(void *arg)
{
    return fl_loop_now(&((srv *)arg)->loop);
}

static void env_send(void *arg, fl_node_id to, const uint8_t *msg, size_t len)
{
    srv *s = arg;
    fl_peers_send(&s->peers, to, FRAME_RAFT, NULL, 0, msg, len);
}

static void tick_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    (void)loop;
    s->tick_timer = 0;
    s->tick_deadline = FL_TIME_NEVER;
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    fl_host_step(&s->host, &ev, &up);
}

/* A deadline already due (a ReadIndex round the core owes to followers' reads, read.c) is
 * met at the end of this iteration's work, after the kick: its own reads' round, if any,
 * covers the followers' too, and nothing is owed by then. */
static void env_set_timer(void *arg, fl_time_ns deadline)
{
    srv *s = arg;
    if (deadline == s->tick_deadline && (s->tick_timer || (s->soon & SRV_SOON_TICK)))
        return;
    if (s->tick_timer)
        fl_loop_timer_cancel(&s->loop, s->tick_timer);
    s->tick_timer = 0;
    s->tick_deadline = deadline;
    if (deadline == FL_TIME_NEVER)
        return;
    fl_time_ns now = fl_loop_now(&s->loop);
    if (deadline <= now) {
        fl__srv_soon(s, SRV_SOON_TICK);
        return;
    }
    if (fl_loop_timer_start(&s->loop, deadline - now, tick_cb, s, &s->tick_timer))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

/* A sync job ended (on the worker, or inline): the host reports what it covered and starts
 * on what came in meanwhile; acknowledgements it released go out now. */
static void sync_ended(srv *s)
{
    fl__metrics_sync(s, false, 0);
    fl__stall_sync(s, false);
    fl_time_ns t0 = fl__stall_now();
    fl_host_sync_done(&s->host); /* the next sync starts at the iteration's end, not here */
    fl__metrics_wal(s);          /* so the WAL is ours to read */
    fl_peers_flush(&s->peers);
    fl__stall_add(s, SRV_WORK_SYNC_DONE, t0);
}

/* Idle, for a sync: the loop would have nothing to do while the disk works, so the job runs
 * on the loop's thread instead of the worker's (issue 16: the hand-over and the completion's
 * eventfd cost two thread wake-ups, 20-30 us each here, on every node a write passes).
 * Conservative, and cheap (one non-blocking epoll_wait, only once the rest holds):
 *  - at most one client operation is in flight at this node (one connection, unpipelined; a
 *    follower's own clients count, the proposals a leader was forwarded do not);
 *  - this pass did not collect a worker's job (records came in while one ran: load);
 *  - the last short sync took under half a heartbeat interval: a disk that slow (a queue of
 *    other writers, a failing device) keeps its syncs off the loop, whose heartbeats would
 *    be late otherwise, until a short one on the worker is quick again (on the shared
 *    development VM short syncs passed 10 ms often under the other jobs' fsyncs);
 *  - no fd is ready now: no request, message or connection waits (what this pass read is
 *    handled already; a late second acknowledgement, say, does not count against it).
 * The host adds its own condition (fl_host_sync_inline): a short job, records only. Under
 * load this fails and the worker takes the job, so the loop keeps serving. The conditions are
 * the host's (fl_host_sync_idle): the simulator decides by them too, for its held syncs. */
static bool loop_ready(void *arg)
{
    srv *s = arg;
    return fl_loop_ready_now(&s->loop);
}

static bool sync_idle(srv *s)
{
    if (s->cfg.no_sync_inline)
        return false;
    fl_host_idle idle = {.ops = s->n_ops,
                         .collected = s->sync_collected_pass == s->loop.pass,
                         .sync_short_ns = s->sync_short_ns,
                         .heartbeat_ns = s->cfg.heartbeat_ns,
                         .ready = loop_ready,
                         .arg = s};
    return fl_host_sync_idle(&idle);
}

/* The end of the iteration's work (server_int.h, fl__srv_soon). Ops submitted while the
 * kick runs, and anything asked for after this, wait for the next iteration's round (it
 * runs before the loop waits again), so one round is bounded. */
static void soon_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    s->soon_timer = 0;
    unsigned what = s->soon;
    s->soon = 0;
    fl_time_ns t0 = fl__stall_now();
    if (what & SRV_SOON_KICK) {
        fl__ops_kick(s); /* may append (a sync), queue frames and make replies */
        fl__stall_add(s, SRV_WORK_KICK, t0);
        t0 = fl__stall_now();
    }
    what |= s->soon & ~(unsigned)SRV_SOON_KICK;
    s->soon &= SRV_SOON_KICK;
    if ((what & SRV_SOON_TICK) && !s->tick_timer && s->tick_deadline <= fl_loop_now(loop))
        tick_cb(loop, s); /* may owe nothing now: the kick's reads sent their round */
    if ((what & SRV_SOON_SYNC) && !s->fatal) {
        /* writes the peers' queues first (env_syncing): followers work while we fsync */
        bool ended = sync_idle(s) ? fl_host_sync_inline(&s->host, SRV_SYNC_INLINE_BYTES)
                                  : (fl_host_sync(&s->host), false);
        fl__stall_add(s, SRV_WORK_SYNC_START, t0);
        if (ended)
            sync_ended(s);
    }
    if (s->peers_up)
        fl_peers_flush(&s->peers);
    if (what & SRV_SOON_REPLIES)
        fl__conn_write_replies(s);
    if (s->soon)
        fl__srv_soon(s, 0);
}

void fl__srv_soon(srv *s, unsigned what)
{
    s->soon |= what;
    if (!s->soon_timer && fl_loop_timer_start(&s->loop, 0, soon_cb, s, &s->soon_timer))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

static void env_sync_soon(void *arg)
{
    fl__srv_soon(arg, SRV_SOON_SYNC);
}

static void env_syncing(void *arg)
{
    srv *s = arg;
    fl_peers_flush(&s->peers); /* followers start on our entries while we fsync */
    fl__metrics_sync(s, true, s->host.persist_seq - s->host.sync_seq);
    fl__stall_sync(s, true);
}

/* The sync worker finished. */
static void sync_done_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    srv *s = w->arg;
    (void)ev;
    s->sync_collected_pass = loop->pass;
    sync_ended(s);
}

static void observe(srv *s, const fl_cons_update *up)
{
    if (up->role != s->last_role || up->leader != s->last_leader) {
        char a[FL_ADDR_STR_MAX];
        FL_INFO("%s: %s at %s %llu, leader %u (%s)", fl_cons_protocol_name(s->cfg.protocol),
                fl_cons_role_name(up->role), s->cfg.protocol == FL_CONS_PAXOS ? "ballot" : "term",
                (unsigned long long)up->term, up->leader, fl__srv_addr_of(s, up->leader, a));
        s->last_role = up->role;
        s->last_leader = up->leader;
    }
}

/* Committed entries to the kv, decided reads answered (after them), role changes logged. */
static void env_applied(void *arg, const fl_cons_update *up)
{
    srv *s = arg;
    for (size_t i = 0; i < up->n_apply && !s->fatal; i++) {
        const fl_cons_entry *e = &up->apply[i];
        fl_index index = up->apply_first + i;
        fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
        if (e->type == FL_RAFT_ENTRY_NORMAL && /* Paxos: the same number */
            fl_kv_apply(&s->kv, index, e->data, e->len, &res) == FL_ENOMEM) {
            fl__srv_fatal(s, FL_ENOMEM, "kv: out of memory while applying");
            return;
        }
        fl__ops_applied(s, index, e->term, &res);
    }
    if (up->n_reads)
        fl__ops_reads(s, up->reads, up->n_reads);
    observe(s, up);
    fl__metrics_update(s, up);
}

static int env_snapshot(void *arg, fl_buf *out)
{
    return fl_kv_snapshot(&((srv *)arg)->kv, out);
}

static int env_restore(void *arg, fl_index index, const uint8_t *bytes, size_t len)
{
    srv *s = arg;
    int rc = fl_kv_restore(&s->kv, bytes, len);
    if (rc == 0)
        fl__ops_restored(s, index);
    return rc;
}

static void env_fatal(void *arg, int code, const char *what)
{
    fl__srv_fatal(arg, code, what);
}

/* A snapshot's dropped log payloads: to the freeing thread, the loop goes on. */
static void env_free_bulk(void *arg, void **ptrs, size_t n)
{
    srv *s = arg;
    fl_freer_give(&s->freer, ptrs, n);
}

static int env_snapshot_start(void *arg, fl_index index)
{
    fl_time_ns t0 = fl__stall_now();
    int rc = fl__srv_snapshot_start(arg, index);
    fl__stall_add(arg, SRV_WORK_FORK, t0);
    return rc;
}

/* The host's watchdog gave up a snapshot (host.h snapshot_timeout_ns): its child goes. */
static void env_snapshot_cancel(void *arg, fl_index index)
{
    fl__srv_snapshot_cancel(arg, index);
}

/* ---- operations into the core ---------------------------------------------------------------- */

int fl__srv_change(srv *s, const fl_raft_conf *want, fl_index *index)
{
    fl_cons_event ev = {.type = FL_CONS_EV_CHANGE, .u.change = want};
    fl_cons_update up;
    int rc = fl_host_step(&s->host, &ev, &up);
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
    fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE,
                        .u.propose = {stamp(s, cmd, len), (uint32_t)len}};
    fl_cons_update up;
    int rc = fl_host_step(&s->host, &ev, &up);
    fl__metrics_proposal(s, rc);
    *index = up.proposed_index;
    *term = up.proposed_term;
    return rc;
}

int fl__srv_read(srv *s, uint64_t ctx)
{
    fl_cons_event ev = {.type = FL_CONS_EV_READ, .u.read_ctx = ctx};
    fl_cons_update up;
    int rc = fl_host_step(&s->host, &ev, &up);
    fl__metrics_read(s, rc);
    return rc;
}

int fl__srv_transfer(srv *s, fl_node_id to)
{
    fl_cons_event ev = {.type = FL_CONS_EV_TRANSFER, .u.transfer_to = to};
    fl_cons_update up;
    return fl_host_step(&s->host, &ev, &up);
}

static void on_frame(void *arg, fl_node_id from, uint8_t type, const uint8_t *p, size_t len)
{
    srv *s = arg;
    if (type != FRAME_RAFT) {
        fl__ops_frame(s, from, type, p, len);
        return;
    }
    fl_time_ns t0 = fl__stall_now();
    if (fl_host_receive(&s->host, from, p, len) == FL_ECORRUPT)
        FL_WARN("peer %u: undecodable or misaddressed raft message dropped", from);
    fl__stall_add(s, SRV_WORK_PEER, t0);
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void peers_fatal(void *arg, int code, const char *what)
{
    fl__srv_fatal(arg, code, what);
}

static void peers_flush_soon(void *arg)
{
    fl__srv_soon(arg, SRV_SOON_PEERS);
}

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

static const fl_host_env env_template = {
    .now = env_now,
    .send = env_send,
    .set_timer = env_set_timer,
    .sync_soon = env_sync_soon,
    .syncing = env_syncing,
    .applied = env_applied,
    .snapshot = env_snapshot,
    .restore = env_restore,
    .fatal = env_fatal,
    .snapshot_start = env_snapshot_start,
    .snapshot_cancel = env_snapshot_cancel,
    .free_bulk = env_free_bulk,
};

/* A second AppendEntries to a follower leaves only with this many entries (round 7): under
 * 50 pipelined clients a loop pass reads hundreds, under the mixed load a few, and a second
 * message of a few cost the followers a sync each (CPU per op up 11-34%, measured). */
#define SRV_OVERLAP_MIN_ENTRIES FL_RAFT_SERVER_OVERLAP_MIN

static void raft_config(const srv *s, fl_raft_config *c)
{
    fl_raft_config_default(c, s->cfg.id);
    c->n_voters = s->cfg.n_voters ? s->cfg.n_voters : s->cfg.n;
    memcpy(c->voters, s->cfg.n_voters ? s->cfg.voters : s->cfg.ids, sizeof(c->voters));
    c->joining = true; /* not a bootstrap voter: waits outside until FL.ADD */
    for (uint32_t i = 0; i < c->n_voters; i++)
        c->joining &= c->voters[i] != s->cfg.id;
    c->election_timeout_ns = s->cfg.election_timeout_ns;
    c->heartbeat_ns = s->cfg.heartbeat_ns;
    c->entry_bytes_max = FL_RAFT_SERVER_ENTRY_BYTES_MAX;
    /* Room for every connection's pipeline in one group commit; past it, ops wait (10 ms).
     * `faultline sim --uncommitted-max 8192 --entry-max 2097152` runs these. */
    c->uncommitted_max = FL_RAFT_SERVER_UNCOMMITTED_MAX;
    /* Round 5: one AppendEntries with new entries in flight per follower, carrying all that
     * came in since the last was acknowledged (up to 4096 entries, 1 MiB). A follower cannot
     * sync entries that arrive while its disk is busy any sooner, so more in flight only
     * woke it once per leader pass (about five per sync under 50 clients) to stage them:
     * measured (docs/server.md, issue 16 round 5), CPU per write over the three nodes fell
     * by ~14% unpipelined and 16-19% with 16-deep pipelines. Round 7: a second one may leave,
     * but only at the end of a loop pass (sends_at_batch_end), carrying what the pass read,
     * and only with SRV_OVERLAP_MIN_ENTRIES or more (fewer wait for the acknowledgement):
     * with one, a client's pipeline that arrived just after an AppendEntries left waited a
     * whole round (the follower's fdatasync and a round trip) before it went out, so at
     * 50 x 16 in flight every write waited about two rounds; now the follower gets it while
     * its disk is still busy with the first and syncs it right after (docs/server.md, issue 16
     * round 7). `faultline sim --inflight 2 --batch 4096 --sends-at-batch-end` runs this. */
    c->inflight_max = FL_RAFT_SERVER_INFLIGHT;
    c->sends_at_batch_end = true;
    c->overlap_min_entries = SRV_OVERLAP_MIN_ENTRIES;
    c->batch_entries_max = FL_RAFT_SERVER_BATCH;
    c->lease_reads = s->cfg.read_mode == FL_SERVER_READ_LEASE;
    c->max_drift_ppm = s->cfg.max_drift_ppm;
    c->seed = s->client_id_base ^ s->cfg.id;
    c->snapshot_trailing = s->cfg.snapshot_every / 2;
    c->mutants = s->cfg.mutants; /* a test hook (--mutant): a planted bug, never for use */
    if (s->cfg.no_check_quorum)
        c->check_quorum = false;
}

/* Multi-Paxos over the fixed member set of --cluster, with the same timeouts and read mode.
 * Its backlog bound is the core's largest (512 open slots), Raft's is 8192. */
static void paxos_config(const srv *s, fl_paxos_config *c)
{
    fl_paxos_config_default(c, s->cfg.id);
    c->n_nodes = s->cfg.n;
    memcpy(c->nodes, s->cfg.ids, sizeof(c->nodes));
    c->election_timeout_ns = s->cfg.election_timeout_ns;
    c->heartbeat_ns = s->cfg.heartbeat_ns;
    c->entry_bytes_max = FL_RAFT_SERVER_ENTRY_BYTES_MAX; /* the same bound as Raft's */
    c->uncommitted_max = FL_PAXOS_PROMISE_ENTRIES_MAX / 2;
    c->lease_reads = s->cfg.read_mode == FL_SERVER_READ_LEASE;
    c->max_drift_ppm = s->cfg.max_drift_ppm;
    c->seed = s->client_id_base ^ s->cfg.id;
    c->snapshot_trailing = s->cfg.snapshot_every / 2;
}

/* The data directory, replayed into the host (host.h); the kv restored from its snapshot; the
 * sync worker's completions watched. */
static int open_raft(srv *s, fl_errmsg *m)
{
    fl_host_config hc = {.snapshot_every = s->cfg.snapshot_every,
                         .snapshot_log_share = s->cfg.snapshot_log_share,
                         .snapshot_timeout_ns = s->cfg.snapshot_timeout_ns};
    /* the members' snapshots spread over the interval, in the order of --cluster (issue 16:
     * all three at once left no majority free of snapshot work, p99.9 30-120 ms) */
    for (uint32_t i = 0; i < s->cfg.n; i++)
        if (s->cfg.ids[i] == s->cfg.id) {
            hc.snapshot_phase_on = true;
            hc.snapshot_phase_permille = i * 1000 / s->cfg.n;
        }
    hc.core.protocol = s->cfg.protocol;
    if (s->cfg.protocol == FL_CONS_PAXOS && s->cfg.n_voters)
        return fl_errmsg_set(m, FL_ECONFIG,
                             "paxos: --voters: Paxos runs the fixed member set of "
                             "--cluster (membership changes are Raft's)");
    raft_config(s, &hc.core.raft);
    paxos_config(s, &hc.core.paxos);
    char why[160] = "";
    int rc = fl_cons_config_validate(&hc.core, why, sizeof(why));
    if (rc)
        return fl_errmsg_set(m, rc, "%s: %s %s", fl_cons_protocol_name(s->cfg.protocol),
                             fl_strerror(rc), why);
    s->faults.fsync_fail_after = s->cfg.fault_fsync_fail_after;
    hc.store.faults = s->cfg.fault_fsync_fail_after ? &s->faults : NULL;
    rc = fl_fs_posix_open(&s->fs, s->cfg.data_dir,
                          FL_FS_POSIX_LOCK | FL_FS_POSIX_MKDIR | FL_FS_POSIX_JOBS, m);
    if (rc)
        return rc;
    s->fs_up = true;
    fl_host_env env = env_template;
    env.arg = s;
    if ((rc = fl_host_open(&s->host, &s->fs.fs, &hc, &env, m)))
        return rc;
    s->host_up = true;
    fl_cons_status st;
    fl_host_status(&s->host, &st);
    FL_INFO("%s: recovered %s %llu, vote %u, a snapshot up to %llu, log up to %llu from %llu WAL "
            "records",
            fl_cons_protocol_name(s->cfg.protocol),
            s->cfg.protocol == FL_CONS_PAXOS ? "promise" : "term", (unsigned long long)st.hard_term,
            st.hard_vote, (unsigned long long)st.snapshot_index, (unsigned long long)st.last_index,
            (unsigned long long)s->host.store.records_replayed);
    if ((rc = fl_host_restore(&s->host, m)))
        return rc;
    rc = fl_loop_watch_start(&s->loop, &s->sync_watch, fl_host_sync_fd(&s->host), FL_LOOP_READ,
                             sync_done_io, s);
    if (rc)
        return fl_errmsg_set(m, rc, "cannot watch the sync worker: %s", fl_strerror(rc));
    env_set_timer(s, st.deadline_ns);
    return 0;
}

static int start(srv *s, fl_errmsg *m)
{
#ifdef M_MMAP_THRESHOLD
    /* A fixed threshold (glibc raises it after each large free): snapshot-sized buffers are
     * mapped and given back when freed, not kept in the heap at their peak. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    int rc = fl_loop_init(&s->loop, NULL, m);
    if (rc)
        return rc;
    if (getrandom(&s->client_id_base, sizeof(s->client_id_base), 0) < 0)
        s->client_id_base = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
    s->tick_deadline = FL_TIME_NEVER;
    s->lfd = s->sigfd = s->snap_fd = -1;
    fl_buf_init(&s->scratch);
    fl_buf_init(&s->stamp);
    s->fwd_ring = calloc(SRV_OPS_MAX, sizeof(fwd_rec));
    if (!s->fwd_ring || fl_kv_init(&s->kv, NULL))
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    s->kv_up = true;
    if (fl_freer_start(&s->freer)) /* the frees then happen on the loop: slower, still right */
        FL_WARN("cannot start the freeing thread: a snapshot's log payloads are freed on the "
                "loop's thread");
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
                          .tls = s->tls_up ? &s->tls : NULL,
                          .fatal = peers_fatal,
                          .flush_soon = peers_flush_soon};
    memcpy(pc.ids, s->cfg.ids, sizeof(pc.ids));
    memcpy(pc.addrs, s->cfg.addrs, sizeof(pc.addrs));
    pc.listen_set = s->cfg.peer_listen_set;
    pc.listen = s->cfg.peer_listen;
    if ((rc = fl_peers_init(&s->peers, &s->loop, &pc, on_frame, s, m)))
        return rc;
    s->peers_up = true;
    if ((rc = fl__metrics_open(s, m)))
        return rc;
    return fl__conn_listen(s, m);
}

static void stop(srv *s)
{
    fl__srv_snapshot_stop(s);
    fl__metrics_close(s);
    fl__conn_close_all(s);
    fl__ops_close_all(s);
    fl__ops_drain_pool(s);
    if (s->peers_up)
        fl_peers_close(&s->peers);
    fl_loop_watch_stop(&s->loop, &s->sync_watch);
    if (s->host_up)
        fl_host_close(&s->host); /* waits for a running sync job */
    uint64_t batches, given, freed;
    fl_freer_stop(&s->freer); /* frees what is still queued: nothing handed over leaks */
    fl_freer_counts(&s->freer, &batches, &given, &freed);
    FL_INFO("freeing thread: %llu log payloads freed of %llu handed over, in %llu batches",
            (unsigned long long)freed, (unsigned long long)given, (unsigned long long)batches);
    if (s->fs_up)
        fl_fs_posix_close(&s->fs); /* stops the sync worker */
    if (s->kv_up)
        fl_kv_close(&s->kv);
    fl_tls_close(&s->tls);
    if (s->sigfd >= 0) {
        fl_loop_watch_stop(&s->loop, &s->sw);
        close(s->sigfd);
    }
    free(s->fwd_ring);
    fl_buf_free(&s->scratch);
    fl_buf_free(&s->stamp);
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
    s->last_role = (fl_cons_role)-1;
    int rc = start(s, m);
    if (rc == 0) {
        char a[FL_ADDR_STR_MAX];
        FL_INFO("node %u up: clients on %s, peers on %s, cluster %016llx", c->id,
                fl_addr_format(&c->listen, a),
                fl__srv_addr_of(s, c->id, (char[FL_ADDR_STR_MAX]){0}),
                (unsigned long long)c->cluster_id);
        housekeep_cb(&s->loop, s);
        while (!s->loop.stopping && (rc = fl_loop_run_once(&s->loop, FL_TIME_NEVER)) == 0)
            fl__stall_pass_end(s); /* fl_loop_run, with each pass's work checked */
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
