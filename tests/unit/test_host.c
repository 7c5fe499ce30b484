/* test_host.c: the one host (host.h) on a simulated disk, stepped by hand, with either core:
 * group commit through sync jobs, snapshots, recovery after a crash, what it does with a
 * snapshot it cannot stage, and the events a core does not take. */
#include "test.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/host.h"
#include "faultline/paxos_wire.h"
#include "faultline/simdisk.h"
#include "faultline/wire.h"

typedef struct env_state {
    fl_time_ns now;
    fl_time_ns deadline;
    uint64_t sent;
    fl_index applied;
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
    (void)arg, (void)to, (void)msg, (void)len;
    E.sent++;
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
    E.deadline = status(&h).deadline_ns;
    for (int i = 0; i < 20 && status(&h).role != FL_CONS_LEADER; i++) {
        tick_to_deadline(&h);
        disk_done(d, &h); /* its vote or promise, then its no-op */
    }
    CHECK_EQ(status(&h).role, FL_CONS_LEADER);
    for (int i = 0; i < 5; i++) {
        fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_cons_update up;
        CHECK_EQ(fl_host_step(&h, &ev, &up), 0);
        CHECK(up.proposed_index > 0 && up.proposed_term > 0);
    }
    /* one job covers them all (the first one's, or the one started after it) */
    uint64_t syncs = h.stats.syncs;
    disk_done(d, &h);
    disk_done(d, &h);
    CHECK(h.stats.syncs - syncs <= 2);
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

TEST(host_runs_paxos_through_the_same_code)
{
    group_commit_and_recovery(FL_CONS_PAXOS, 0);
    group_commit_and_recovery(FL_CONS_PAXOS, 3);
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
    uint8_t bytes[100];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)i;
    fl_raft_msg msg = {.type = FL_RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 1};
    fl_raft_snapshot *s = &msg.u.snapshot;
    s->meta = (fl_raft_snapshot_meta){.index = 10, .term = 1, .size = sizeof(bytes)};
    s->meta.crc = fl_crc32c(0, bytes, sizeof(bytes));
    s->meta.conf.n_voters = 3;
    for (uint32_t i = 0; i < 3; i++)
        s->meta.conf.voters[i] = i + 1;
    s->len = sizeof(bytes);
    s->data = bytes;
    s->done = true;
    fl_buf wire;
    fl_buf_init(&wire);
    CHECK_EQ(fl_wire_raft_encode(&msg, &wire), 0);
    fl_host_receive(&h, 1, wire.data, wire.len);
    CHECK_EQ(E.fatal_code, FL_ETOOBIG);
    CHECK(strstr(E.fatal_what, "cannot stage a received snapshot") != NULL);
    CHECK(h.failed);
    CHECK_EQ(h.stats.snapshots_installed, 0);
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    CHECK_EQ(fl_host_step(&h, &ev, &up), FL_ESTOPPED); /* nothing more after a stop */
    CHECK_EQ(fl_host_receive(&h, 1, wire.data, wire.len), FL_ESTOPPED);
    fl_buf_free(&wire);
    fl_host_close(&h);
    fl_simdisk_free(d);
}
