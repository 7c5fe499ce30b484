/* test_host.c: the one host (host.h) on a simulated disk, stepped by hand, with either core:
 * group commit through sync jobs, snapshots, recovery after a crash, what it does with a
 * snapshot it cannot stage, and the events a core does not take. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/host.h"
#include "faultline/paxos_wire.h"
#include "faultline/simdisk.h"
#include "faultline/wire.h"

#include <stdlib.h>

typedef struct env_state {
    fl_time_ns now;
    fl_time_ns deadline;
    uint64_t sent;
    fl_index applied;
    uint64_t append_ctx[4];  /* Raft: the newest AppendEntries to each node: its ctx, */
    fl_index append_last[4]; /* and the last index it carried */
    int fatal_code;
    char fatal_what[256];
} env_state;

static env_state E;

static fl_time_ns t_now(void *arg)
{
    (void)arg;
    return E.now;
}

static void t_send(void *arg, fl_node_id to, const uint8_t *msg, size_t len)
{
    (void)arg;
    E.sent++;
    fl_raft_msg m;
    fl_raft_entry ents[FL_WIRE_ENTRIES_MAX];
    if (to < 4 && fl_wire_raft_decode(msg, len, &m, ents, FL_WIRE_ENTRIES_MAX) == 0 &&
        m.type == FL_RAFT_MSG_APPEND) { /* read by the Raft tests only */
        E.append_ctx[to] = m.u.append.ctx;
        E.append_last[to] = m.u.append.prev_index + m.u.append.n_entries;
    }
}

static void t_set_timer(void *arg, fl_time_ns deadline)
{
    (void)arg;
    E.deadline = deadline;
}

static void t_applied(void *arg, const fl_cons_update *up)
{
    (void)arg;
    if (up->n_apply)
        E.applied = up->apply_first + up->n_apply - 1;
}

static int t_snapshot(void *arg, fl_buf *out)
{
    (void)arg;
    fl_buf_put_str(out, "state");
    return 0;
}

static int t_restore(void *arg, fl_index index, const uint8_t *p, size_t len)
{
    (void)arg, (void)p, (void)len;
    E.applied = index;
    return 0;
}

static fl_index started[4];
static size_t n_started;

static int t_snapshot_start(void *arg, fl_index index)
{
    (void)arg;
    FL_ASSERT(n_started < 4);
    started[n_started++] = index;
    return 0;
}

static fl_index cancelled[4];
static size_t n_cancelled;

static void t_snapshot_cancel(void *arg, fl_index index)
{
    (void)arg;
    FL_ASSERT(n_cancelled < 4);
    cancelled[n_cancelled++] = index;
}

static void t_fatal(void *arg, int code, const char *what)
{
    (void)arg;
    E.fatal_code = code;
    snprintf(E.fatal_what, sizeof(E.fatal_what), "%s", what);
}

static const fl_host_env env = {
    .now = t_now,
    .send = t_send,
    .set_timer = t_set_timer,
    .applied = t_applied,
    .snapshot = t_snapshot,
    .restore = t_restore,
    .fatal = t_fatal,
};

static void host_config(fl_host_config *c, fl_cons_protocol p, fl_node_id id, uint32_t voters)
{
    memset(c, 0, sizeof(*c));
    c->core.protocol = p;
    fl_raft_config_default(&c->core.raft, id);
    c->core.raft.n_voters = voters;
    fl_paxos_config_default(&c->core.paxos, id);
    c->core.paxos.n_nodes = voters;
    for (uint32_t i = 0; i < voters; i++)
        c->core.raft.voters[i] = c->core.paxos.nodes[i] = i + 1;
    c->store.segment_size_max = 1024;
}

static fl_cons_status status(const fl_host *h)
{
    fl_cons_status st;
    fl_host_status(h, &st);
    return st;
}

/* Completes the disk's pending syncs; a finished job goes to the host. */
static void disk_done(fl_simdisk *d, fl_host *h)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(d, &notify, &token, &status))
        if (notify && token == FL_FS_JOB_TOKEN)
            fl_host_sync_done(h);
}

static void tick_to_deadline(fl_host *h)
{
    E.now = E.deadline;
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    fl_host_step(h, &ev, &up);
}

/* A single node just opened on d becomes leader: ticks to its deadline, its vote (or
 * promise) and its no-op made durable. */
static void lead_alone(fl_host *h, fl_simdisk *d)
{
    E.deadline = status(h).deadline_ns;
    for (int i = 0; i < 20 && status(h).role != FL_CONS_LEADER; i++) {
        tick_to_deadline(h);
        disk_done(d, h);
    }
    CHECK_EQ(status(h).role, FL_CONS_LEADER);
}

/* A single node of protocol p leads, commits 5 proposals in at most two sync jobs (with a
 * snapshot every 3 applied entries when snapshot_every), and after a crash that loses what
 * was not synced recovers all of it (from the snapshot file and the WAL after it). */
static void group_commit_and_recovery(fl_cons_protocol p, uint32_t snapshot_every)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, p, 1, 1);
    c.snapshot_every = snapshot_every;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_host_restore(&h, &m), 0);
    lead_alone(&h, d);
    for (int i = 0; i < 5; i++) {
        fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_cons_update up;
        CHECK_EQ(fl_host_step(&h, &ev, &up), 0);
        CHECK(up.proposed_index > 0 && up.proposed_term > 0);
    }
    /* one job covers them all (the first one's, or the one started after it); a snapshot's
     * file is written by the job after it was taken, and its rename's directory synced by the
     * job after that: two more */
    uint64_t syncs = h.stats.syncs;
    disk_done(d, &h);
    disk_done(d, &h);
    CHECK(h.stats.syncs - syncs <= 2u + (snapshot_every ? 2u : 0u));
    fl_index last = status(&h).last_index;
    CHECK_EQ(status(&h).commit, last);
    CHECK_EQ(E.applied, last);
    /* the proposals are applied together, once durable: one snapshot of all of them */
    CHECK_EQ(h.stats.snapshots_taken, snapshot_every ? 1 : 0);
    fl_term term = status(&h).hard_term;
    fl_host_close(&h);
    fl_rng rng;
    fl_rng_seed(&rng, 1);
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    E.applied = 0;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_host_restore(&h, &m), 0);
    CHECK_EQ(status(&h).last_index, last); /* everything synced survived */
    CHECK_EQ(status(&h).hard_term, term);
    CHECK_EQ(status(&h).snapshot_index, snapshot_every ? last : 0);
    CHECK_EQ(E.applied, status(&h).snapshot_index); /* restored from the snapshot file */
    fl_host_close(&h);
    fl_simdisk_free(d);
}

TEST(host_commits_by_group_commit_and_recovers_after_a_crash)
{
    group_commit_and_recovery(FL_CONS_RAFT, 0);
    group_commit_and_recovery(FL_CONS_RAFT, 3);
}

/* The indexes of a single Raft node's snapshots, every 4 applied entries, one proposal made
 * durable at a time, with the given phase (permille of 4; phase_on false: none). */
static void snapshot_indexes(bool phase_on, uint32_t permille, fl_index out[3])
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_RAFT, 1, 1);
    c.snapshot_every = 4;
    c.core.raft.snapshot_trailing = 0;
    c.snapshot_phase_on = phase_on;
    c.snapshot_phase_permille = permille;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    lead_alone(&h, d);
    size_t n = 0;
    for (int i = 0; i < 16 && n < 3; i++) {
        fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_cons_update up;
        CHECK_EQ(fl_host_step(&h, &ev, &up), 0);
        disk_done(d, &h);
        fl_index snap = status(&h).snapshot_index;
        if (snap && (n == 0 || out[n - 1] != snap))
            out[n++] = snap;
    }
    CHECK_EQ(n, 3);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* A phase moves every snapshot to the indexes past it (nodes given different phases never
 * take theirs at the same index), without one: every 4 entries from the last. */
TEST(host_takes_snapshots_at_its_phase)
{
    fl_index none[3], half[3], quarter[3];
    snapshot_indexes(false, 0, none);
    snapshot_indexes(true, 500, half);
    snapshot_indexes(true, 250, quarter);
    CHECK(none[1] == none[0] + 4 && none[2] == none[1] + 4);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(half[i] % 4, 2);
        CHECK_EQ(quarter[i] % 4, 1);
    }
    CHECK(half[1] == half[0] + 4 && quarter[2] == quarter[1] + 4); /* no slower than every */
}

TEST(host_runs_paxos_through_the_same_code)
{
    group_commit_and_recovery(FL_CONS_PAXOS, 0);
    group_commit_and_recovery(FL_CONS_PAXOS, 3);
}

/* Node 1 of 3 receives msg (type, from, at its current term), as the wire has it. */
static void receive_raft(fl_host *h, fl_raft_msg msg)
{
    msg.to = 1;
    msg.term = status(h).term;
    fl_buf wire;
    fl_buf_init(&wire);
    FL_ASSERT(fl_wire_raft_encode(&msg, &wire) == 0);
    CHECK_EQ(fl_host_receive(h, msg.from, wire.data, wire.len), 0);
    fl_buf_free(&wire);
}

/* Follower `from` acknowledges the newest AppendEntries it was sent. */
static void ack_append(fl_host *h, fl_node_id from)
{
    fl_raft_msg a = {.type = FL_RAFT_MSG_APPEND_RESP, .from = from};
    a.u.append_resp = (fl_raft_append_resp){.success = true,
                                            .match_index = E.append_last[from],
                                            .last_index = E.append_last[from],
                                            .ctx = E.append_ctx[from]};
    receive_raft(h, a);
}

static void propose_x(fl_host *h)
{
    fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
    fl_cons_update up;
    CHECK_EQ(fl_host_step(h, &ev, &up), 0);
}

/* Issue 16: a leader of three with one AppendEntries in flight per follower does not sync the
 * entries appended while both are out (no follower has them: they cannot commit yet); the
 * acknowledgement that sends them starts the sync. Followers' answers alone still commit. */
TEST(host_leader_syncs_entries_when_it_sends_them)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_RAFT, 1, 3);
    c.core.raft.pre_vote = false;
    c.core.raft.inflight_max = 1;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_host_restore(&h, &m), 0);
    E.deadline = status(&h).deadline_ns;
    tick_to_deadline(&h); /* a candidate: its vote made durable, then asked for */
    disk_done(d, &h);
    receive_raft(
        &h,
        (fl_raft_msg){.type = FL_RAFT_MSG_VOTE_RESP, .from = 2, .u.vote_resp = {.granted = true}});
    CHECK_EQ(status(&h).role, FL_CONS_LEADER);
    disk_done(d, &h);
    ack_append(&h, 2); /* the probes with the no-op answered: both replicate */
    ack_append(&h, 3);
    disk_done(d, &h);
    CHECK(!h.store.syncing);
    CHECK_EQ(status(&h).commit, status(&h).last_index);

    propose_x(&h); /* sent to both at once: synced at once */
    CHECK(h.store.syncing);
    disk_done(d, &h);
    uint64_t syncs = h.stats.syncs;
    propose_x(&h); /* both windows full: held */
    propose_x(&h);
    CHECK(!h.store.syncing);
    CHECK(h.due_seq < h.persist_seq);
    disk_done(d, &h);
    CHECK_EQ(h.stats.syncs, syncs);

    ack_append(&h, 2); /* its answer sends 2 the held entries: the sync starts with them */
    CHECK(h.store.syncing);
    CHECK_EQ(E.append_last[2], status(&h).last_index);
    disk_done(d, &h);
    CHECK_EQ(h.stats.syncs, syncs + 1);
    CHECK_EQ(h.reported_seq, h.persist_seq);
    ack_append(&h, 2);
    CHECK_EQ(status(&h).commit, status(&h).last_index); /* ours and 2's */
    CHECK_EQ(E.fatal_code, 0);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* What Paxos does not have is refused without stepping the core. */
TEST(host_refuses_raft_only_events_for_paxos)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_PAXOS, 1, 3);
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    fl_cons_event ev = {.type = FL_CONS_EV_TRANSFER, .u.transfer_to = 2};
    fl_cons_update up;
    CHECK_EQ(fl_host_step(&h, &ev, &up), FL_EUNSUPPORTED);
    CHECK(up.persist.seq == 0 && up.n_msgs == 0);
    fl_raft_conf want = {.n_voters = 1, .voters = {1}};
    ev = (fl_cons_event){.type = FL_CONS_EV_CHANGE, .u.change = &want};
    CHECK_EQ(fl_host_step(&h, &ev, &up), FL_EUNSUPPORTED);
    ev = (fl_cons_event){.type = FL_CONS_EV_READ, .u.read_ctx = 1};
    CHECK_EQ(fl_host_step(&h, &ev, &up), FL_ENOTLEADER); /* reads at the leader only */
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* InstallSnapshot of len bytes at index (term 1, voters 1..3) from node 1, as the wire has it;
 * what fl_host_receive returned. */
static int receive_snapshot(fl_host *h, fl_index index, size_t len)
{
    static uint8_t bytes[8192];
    FL_ASSERT(len <= sizeof(bytes));
    for (size_t i = 0; i < len; i++)
        bytes[i] = (uint8_t)(i + index);
    fl_raft_msg msg = {.type = FL_RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 1};
    fl_raft_snapshot *s = &msg.u.snapshot;
    s->meta = (fl_raft_snapshot_meta){.index = index, .term = 1, .size = len};
    s->meta.crc = fl_crc32c(0, bytes, len);
    s->meta.conf.n_voters = 3;
    for (uint32_t i = 0; i < 3; i++)
        s->meta.conf.voters[i] = i + 1;
    s->len = len;
    s->data = bytes;
    s->done = true;
    fl_buf wire;
    fl_buf_init(&wire);
    FL_ASSERT(fl_wire_raft_encode(&msg, &wire) == 0);
    int rc = fl_host_receive(h, 1, wire.data, wire.len);
    fl_buf_free(&wire);
    return rc;
}

/* A snapshot larger than the host may stage (snapshot_bytes_max) stops the node with a
 * message; it must never install the part that fit (server.c ignored the failed append). */
TEST(host_stops_on_a_snapshot_too_big_to_stage)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_RAFT, 2, 3);
    c.snapshot_bytes_max = 64;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    receive_snapshot(&h, 10, 100);
    CHECK_EQ(E.fatal_code, FL_ETOOBIG);
    CHECK(strstr(E.fatal_what, "cannot stage a received snapshot") != NULL);
    CHECK(h.failed);
    CHECK_EQ(h.stats.snapshots_installed, 0);
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    CHECK_EQ(fl_host_step(&h, &ev, &up), FL_ESTOPPED); /* nothing more after a stop */
    CHECK_EQ(receive_snapshot(&h, 10, 100), FL_ESTOPPED);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* AppendEntries from leader 1 (term 1): entries prev+1 .. prev+n ("x"), commit. */
static void receive_append(fl_host *h, fl_index prev, uint32_t n, fl_index commit)
{
    fl_raft_entry e[8];
    FL_ASSERT(n <= 8);
    for (uint32_t i = 0; i < n; i++)
        e[i] = (fl_raft_entry){
            .term = 1, .type = FL_RAFT_ENTRY_NORMAL, .len = 1, .data = (const uint8_t *)"x"};
    fl_raft_msg msg = {.type = FL_RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1};
    msg.u.append = (fl_raft_append){.prev_index = prev,
                                    .prev_term = prev ? 1 : 0,
                                    .commit = commit,
                                    .n_entries = n,
                                    .entries = e};
    fl_buf wire;
    fl_buf_init(&wire);
    FL_ASSERT(fl_wire_raft_encode(&msg, &wire) == 0);
    fl_host_receive(h, 1, wire.data, wire.len);
    fl_buf_free(&wire);
}

/* The snapshot buffers swap (snap, stage, stage_local, and the one a running job still writes):
 * the size bound must go with each. A follower that installed a snapshot while its sync job
 * still wrote the file of one it took itself lost the bound on its staging buffer, and the
 * next snapshot it took was refused as too big whatever its size ("state machine snapshot
 * failed: size exceeds limit": a node of a pipelined SET run stopped by it). */
TEST(host_keeps_the_snapshot_size_bound_across_installs)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_RAFT, 2, 3);
    c.snapshot_bytes_max = 4096;
    c.snapshot_every = 3;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_host_restore(&h, &m), 0);
    receive_append(&h, 0, 5, 0);
    disk_done(d, &h);
    receive_append(&h, 5, 0, 5); /* committed: applied, and a snapshot of its own taken */
    CHECK_EQ(h.stats.snapshots_taken, 1);
    CHECK(fl_raft_store_uses(&h.store, h.snap.data)); /* its file's job runs */
    receive_snapshot(&h, 20, 100);
    CHECK_EQ(h.stats.snapshots_installed, 1);
    CHECK(!h.failed);
    CHECK_EQ(h.snap.cap_max, 4096);
    CHECK_EQ(h.stage.cap_max, 4096);
    CHECK_EQ(h.stage_local.cap_max, 4096);
    disk_done(d, &h);
    disk_done(d, &h);
    receive_snapshot(&h, 30, 5000); /* past the bound: refused, as by a fresh host */
    CHECK_EQ(E.fatal_code, FL_ETOOBIG);
    CHECK(h.failed);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

static void propose_n(fl_host *h, fl_simdisk *d, int n)
{
    for (int i = 0; i < n; i++) {
        fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_cons_update up;
        FL_ASSERT(fl_host_step(h, &ev, &up) == 0);
        disk_done(d, h);
        disk_done(d, h);
    }
}

static bool snapshot_file(fl_simdisk *d)
{
    fl_fs_view v;
    fl_fs *fs = fl_simdisk_fs(d);
    if (fs->ops->read_all(fs, "snapshot", &v, NULL) != 0)
        return false;
    fs->ops->release(fs, &v);
    return true;
}

/* Whether the host's snapshot bytes are the snapshot file's own (a view of it), not a copy. */
static bool snapshot_is_file_view(fl_simdisk *d, const fl_host *h)
{
    fl_fs_view v;
    fl_fs *fs = fl_simdisk_fs(d);
    if (fs->ops->read_all(fs, "snapshot", &v, NULL) != 0)
        return false;
    bool in = h->snap.len && h->snap.data >= v.data && h->snap.data + h->snap.len <= v.data + v.len;
    fs->ops->release(fs, &v);
    return in;
}

/* env.snapshot_start (the server's forked child): the host starts one snapshot at a time and
 * takes the bytes when they come, at the index they were started at; the file is written by
 * the next sync job and renamed when it is done; a failed one is tried again, a stale answer
 * ignored. A second host recovers the snapshot from the file. */
static void snapshot_bytes_come_later(fl_cons_protocol p)
{
    memset(&E, 0, sizeof(E));
    n_started = 0;
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, p, 1, 1);
    c.snapshot_every = 3;
    fl_host_env e = env;
    e.snapshot_start = t_snapshot_start;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    lead_alone(&h, d);
    propose_n(&h, d, 8);
    CHECK_EQ(n_started, 1); /* one at a time, however many entries went by */
    fl_index at = started[0];
    CHECK(at >= 3 && at < status(&h).applied);
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_put_str(&b, "state");
    fl_host_snapshot_done(&h, at + 1, 0, &b,
                          fl_crc32c(0, "state", 5)); /* not the one started: ignored */
    CHECK_EQ(h.stats.snapshots_taken, 0);
    fl_host_snapshot_done(&h, at, FL_EIO, &b, 0); /* failed: none, and tried again */
    CHECK_EQ(h.stats.snapshots_taken, 0);
    propose_n(&h, d, 4);
    CHECK_EQ(n_started, 2);
    at = started[1];
    fl_host_snapshot_done(&h, at, 0, &b, fl_crc32c(0, "state", 5));
    CHECK_EQ(b.len, 0); /* taken */
    CHECK_EQ(h.stats.snapshots_taken, 1);
    CHECK_EQ(status(&h).snapshot_index, at);
    CHECK(h.snap.len == 5 && memcmp(h.snap.data, "state", 5) == 0);
    CHECK(!snapshot_file(d)); /* the job writes it; the rename waits for the job's end */
    CHECK(!snapshot_is_file_view(d, &h)); /* not durable yet: the bytes stay in memory */
    disk_done(d, &h);
    CHECK(snapshot_file(d));
    /* durable: the bytes held are the file's, the same ones (issue 16: no anonymous copy) */
    CHECK(snapshot_is_file_view(d, &h));
    CHECK(h.snap.len == 5 && memcmp(h.snap.data, "state", 5) == 0);
    fl_host_close(&h);
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    CHECK_EQ(status(&h).snapshot_index, at);
    CHECK(snapshot_is_file_view(d, &h)); /* recovered from the file: held as its view too */
    CHECK(h.snap.len == 5 && memcmp(h.snap.data, "state", 5) == 0);
    fl_buf_free(&b);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

TEST(host_takes_a_snapshot_whose_bytes_come_later)
{
    snapshot_bytes_come_later(FL_CONS_RAFT);
    snapshot_bytes_come_later(FL_CONS_PAXOS);
}

/* A step at now (a tick: the node's timer, wherever its deadline is). */
static void tick_at(fl_host *h, fl_time_ns now)
{
    E.now = now;
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    fl_host_step(h, &ev, &up);
}

/* The watchdog (snapshot_timeout_ns): a started snapshot is given up (env.snapshot_cancel, its
 * index) at the first step a whole timeout after its start or its last progress, not before;
 * it counts as failed (another is started after more entries), a late answer for it is
 * ignored, and the next one's bytes are taken. Off (timeout 0), the same wait cancels
 * nothing and no other snapshot starts. With back: the node's clock first jumps back
 * (a clock fault): the wait starts again from there, it does not wrap into a huge one. */
static void watchdog_gives_up(fl_cons_protocol p, fl_time_ns timeout, bool back)
{
    memset(&E, 0, sizeof(E));
    n_started = n_cancelled = 0;
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, p, 1, 1);
    c.snapshot_every = 3;
    c.snapshot_phase_on = true; /* as the server's: the next one once applied passes a multiple */
    c.snapshot_timeout_ns = timeout;
    fl_host_env e = env;
    e.snapshot_start = t_snapshot_start;
    e.snapshot_cancel = t_snapshot_cancel;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    lead_alone(&h, d);
    propose_n(&h, d, 4);
    CHECK_EQ(n_started, 1);
    fl_index at = started[0];
    fl_time_ns t0 = E.now, second = FL_NS_PER_S;
    if (back) {
        CHECK(t0 > 2);
        tick_at(&h, t0 / 2);
        CHECK_EQ(n_cancelled, 0);
        t0 /= 2; /* the wait counts from there */
    }
    tick_at(&h, t0 + 9 * second);
    fl_host_snapshot_progress(&h, at + 1); /* not the one started: no progress */
    fl_host_snapshot_progress(&h, at);     /* bytes came: the clock starts again */
    tick_at(&h, t0 + 18 * second);         /* 9 s after them: on */
    CHECK_EQ(n_cancelled, 0);
    tick_at(&h, t0 + 19 * second);
    uint64_t given_up = timeout ? 1 : 0;
    fl_index running = timeout ? 0 : at;
    CHECK_EQ(n_cancelled, given_up);
    CHECK_EQ(h.stats.snapshot_timeouts, given_up);
    CHECK_EQ(h.snapshot_started, running);
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_put_str(&b, "state");
    if (timeout) {
        CHECK_EQ(cancelled[0], at);
        fl_host_snapshot_done(&h, at, 0, &b, fl_crc32c(0, "state", 5)); /* too late: ignored */
        CHECK_EQ(h.stats.snapshots_taken, 0);
    }
    propose_n(&h, d, 4);
    size_t starts = timeout ? 2 : 1;
    CHECK_EQ(n_started, starts); /* tried again after more entries, as a failure */
    if (timeout) {
        fl_host_snapshot_done(&h, started[1], 0, &b, fl_crc32c(0, "state", 5));
        CHECK_EQ(h.stats.snapshots_taken, 1);
        CHECK_EQ(status(&h).snapshot_index, started[1]);
    }
    fl_buf_free(&b);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

TEST(host_watchdog_gives_up_a_snapshot_without_progress)
{
    watchdog_gives_up(FL_CONS_RAFT, 10 * FL_NS_PER_S, false);
    watchdog_gives_up(FL_CONS_PAXOS, 10 * FL_NS_PER_S, false);
    watchdog_gives_up(FL_CONS_RAFT, 0, false);
    watchdog_gives_up(FL_CONS_RAFT, 10 * FL_NS_PER_S, true);
}

/* ---- the snapshot rename's directory sync, off the loop (issue 16, round 6) --------------- */

/* What the disk saw, from its before_op hook: directory syncs on the loop and in jobs; a
 * snapshot file renamed into place whose directory sync has not completed yet; unlinks (WAL
 * segments deleted behind a snapshot) made meanwhile. */
static struct {
    fl_simdisk *d;
    bool armed;         /* count from now on */
    bool fail_job_sync; /* fail the first directory sync run in a job */
    int dir_syncs_loop, dir_syncs_job;
    bool renamed_unsynced; /* a snapshot renamed, its directory sync not yet done */
    bool dir_sync_issued;  /* that sync was issued in a job: done when the job's end comes */
    int unlinks, unlinks_early, snapshot_renames;
} D;

static bool has_file(fl_simdisk *d, const char *name)
{
    fl_fs_view v;
    fl_fs *fs = fl_simdisk_fs(d);
    if (fs->ops->read_all(fs, name, &v, NULL) != 0)
        return false;
    fs->ops->release(fs, &v);
    return true;
}

static void d_before_op(void *arg, fl_simdisk *d, fl_simdisk_op op)
{
    (void)arg;
    if (!D.armed)
        return;
    if (op == FL_SIMDISK_OP_SYNC_DIR) {
        if (fl_simdisk_in_job(d)) {
            D.dir_syncs_job++;
            if (D.renamed_unsynced)
                D.dir_sync_issued = true;
            if (D.fail_job_sync) {
                D.fail_job_sync = false;
                fl_simdisk_fail_next_sync(d);
            }
        } else {
            D.dir_syncs_loop++;
        }
    } else if (op == FL_SIMDISK_OP_RENAME && has_file(d, "snapshot.next")) {
        D.snapshot_renames++;
        D.renamed_unsynced = true; /* the rename about to happen is the snapshot file's */
        D.dir_sync_issued = false;
    } else if (op == FL_SIMDISK_OP_UNLINK) {
        D.unlinks++;
        if (D.renamed_unsynced)
            D.unlinks_early++;
    }
}

/* disk_done, marking a renamed snapshot durable when the job that synced its directory ends
 * (the job's end: its syncs completed, in order) */
static void disk_done_dir(fl_simdisk *d, fl_host *h)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(d, &notify, &token, &status))
        if (notify && token == FL_FS_JOB_TOKEN) {
            if (D.dir_sync_issued && status == 0)
                D.renamed_unsynced = D.dir_sync_issued = false;
            fl_host_sync_done(h);
        }
}

/* A simulated disk whose operations d_before_op watches (D), the host's environment (E) reset. */
static fl_simdisk *dir_sync_disk(void)
{
    memset(&E, 0, sizeof(E));
    memset(&D, 0, sizeof(D));
    fl_simdisk_hooks hooks = {.before_op = d_before_op}; /* copied by the disk */
    D.d = fl_simdisk_new("host test", 1 << 24, &hooks, NULL);
    return D.d;
}

/* A leader (snapshots every 3 entries, WAL segments of segment bytes) with n entries
 * proposed, each followed by its jobs. */
static void dir_sync_run(fl_simdisk *d, fl_host *h, fl_host_config *c, uint64_t segment, int n)
{
    host_config(c, FL_CONS_RAFT, 1, 1);
    c->snapshot_every = 3;
    c->store.segment_size_max = segment;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(h, fl_simdisk_fs(d), c, &env, &m), 0);
    lead_alone(h, d);
    D.armed = true;
    for (int i = 0; i < n && !h->failed; i++) {
        fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"xyz", 3}};
        fl_cons_update up;
        if (fl_host_step(h, &ev, &up) != 0)
            break;
        disk_done_dir(d, h);
    }
}

/* The directory sync that makes a renamed snapshot file durable runs in a sync job, never
 * on the loop (it took 10 ms median, 74 at worst, on the server's loop), and every WAL
 * segment behind the snapshot is deleted only after that job ended; the node still recovers
 * everything after a crash that loses what was not synced. */
TEST(host_syncs_a_renamed_snapshots_directory_in_a_job_before_deleting_the_wal)
{
    fl_simdisk *d = dir_sync_disk();
    fl_host h;
    fl_host_config c;
    dir_sync_run(d, &h, &c, 512, 60);
    CHECK(!h.failed);
    CHECK(h.stats.snapshots_taken >= 5);
    CHECK(D.snapshot_renames >= 5);
    CHECK(D.dir_syncs_job >= D.snapshot_renames - 1); /* the last may wait for its job */
    CHECK(D.unlinks > 0);                             /* segments did go behind the snapshots */
    CHECK_EQ(D.unlinks_early, 0); /* none before the rename's directory sync was done */
    fl_index last = status(&h).last_index;
    CHECK_EQ(status(&h).commit, last);
    fl_host_close(&h);
    D.armed = false;
    fl_rng rng;
    fl_rng_seed(&rng, 3);
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(status(&h).last_index, last);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* Without WAL rotation (one segment), the loop issues no directory sync at all once the node
 * leads: the snapshot renames' are all the jobs'. */
TEST(host_issues_no_directory_sync_on_the_loop_for_its_snapshots)
{
    fl_simdisk *d = dir_sync_disk();
    fl_host h;
    fl_host_config c;
    dir_sync_run(d, &h, &c, 0, 20);
    CHECK(!h.failed);
    CHECK(D.snapshot_renames >= 3);
    CHECK(D.dir_syncs_job >= D.snapshot_renames - 1);
    CHECK_EQ(D.dir_syncs_loop, 0);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* A failed directory sync after a snapshot's rename stops the node (its durability is then
 * unknown, like any failed fsync), with the directory named, and no WAL segment behind that
 * snapshot is deleted. */
TEST(host_stops_when_the_renamed_snapshots_directory_sync_fails)
{
    fl_simdisk *d = dir_sync_disk();
    D.fail_job_sync = true;
    fl_host h;
    fl_host_config c;
    dir_sync_run(d, &h, &c, 512, 60);
    CHECK(h.failed);
    CHECK_EQ(E.fatal_code, FL_EIO);
    CHECK(strstr(E.fatal_what, "sync directory host test") != NULL);
    CHECK_EQ(D.snapshot_renames, 1);
    CHECK_EQ(D.unlinks, 0);
    fl_host_close(&h);
    fl_simdisk_free(d);
}

/* ---- the payloads a snapshot drops, handed over in bulk --------------------------------- */

static size_t bulk_calls, bulk_ptrs;

static void t_free_bulk(void *arg, void **ptrs, size_t n)
{
    (void)arg;
    bulk_calls++;
    bulk_ptrs += n;
    for (size_t i = 0; i < n; i++)
        free(ptrs[i]);
    free(ptrs);
}

/* With env.free_bulk, every snapshot's compaction hands its dropped payloads to it in one
 * call (the server: to its freeing thread), none freed on the way; without it the host frees
 * them (the simulator), which ASan builds check for leaks. */
TEST(host_hands_a_snapshots_dropped_payloads_to_free_bulk)
{
    memset(&E, 0, sizeof(E));
    bulk_calls = bulk_ptrs = 0;
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_host_config c;
    host_config(&c, FL_CONS_RAFT, 1, 1);
    c.snapshot_every = 5;
    c.core.raft.snapshot_trailing = 0;
    fl_host_env e = env;
    e.free_bulk = t_free_bulk;
    fl_host h;
    fl_errmsg m;
    CHECK_EQ(fl_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    lead_alone(&h, d);
    propose_n(&h, d, 40);
    CHECK(h.stats.snapshots_taken >= 5);
    CHECK(bulk_calls >= 5 && bulk_calls <= h.stats.snapshots_taken);
    CHECK(bulk_ptrs >= 30); /* the proposals' payloads, up to the last snapshot */
    CHECK_EQ(h.stats.payloads_dropped, bulk_ptrs);
    fl_host_close(&h);
    fl_simdisk_free(d);
}
