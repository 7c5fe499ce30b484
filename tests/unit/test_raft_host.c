/* test_raft_host.c: the one Raft host (raft_host.h) on a simulated disk, stepped by hand:
 * group commit through sync jobs, recovery after a crash, and what it does with a snapshot it
 * cannot stage. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft_host.h"
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

static void t_applied(void *arg, const fl_raft_update *up)
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

static void t_fatal(void *arg, int code, const char *what)
{
    (void)arg;
    E.fatal_code = code;
    snprintf(E.fatal_what, sizeof(E.fatal_what), "%s", what);
}

static const fl_raft_host_env env = {
    .now = t_now,
    .send = t_send,
    .set_timer = t_set_timer,
    .applied = t_applied,
    .snapshot = t_snapshot,
    .restore = t_restore,
    .fatal = t_fatal,
};

static void host_config(fl_raft_host_config *c, fl_node_id id, uint32_t voters)
{
    memset(c, 0, sizeof(*c));
    fl_raft_config_default(&c->raft, id);
    c->raft.n_voters = voters;
    for (uint32_t i = 0; i < voters; i++)
        c->raft.voters[i] = i + 1;
    c->store.segment_size_max = 1024;
}

/* Completes the disk's pending syncs; a finished job goes to the host. */
static void disk_done(fl_simdisk *d, fl_raft_host *h)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(d, &notify, &token, &status))
        if (notify && token == FL_FS_JOB_TOKEN)
            fl_raft_host_sync_done(h);
}

static void tick_to_deadline(fl_raft_host *h)
{
    E.now = E.deadline;
    fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
    fl_raft_update up;
    fl_raft_host_step(h, &ev, &up);
}

TEST(host_commits_by_group_commit_and_recovers_after_a_crash)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_raft_host_config c;
    host_config(&c, 1, 1);
    fl_raft_host h;
    fl_errmsg m;
    CHECK_EQ(fl_raft_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_raft_host_restore(&h, &m), 0);
    E.deadline = fl_raft_deadline_of(fl_raft_host_raft(&h));
    for (int i = 0; i < 20 && fl_raft_role_of(fl_raft_host_raft(&h)) != FL_RAFT_LEADER; i++) {
        tick_to_deadline(&h);
        disk_done(d, &h); /* its vote, then its no-op */
    }
    CHECK_EQ(fl_raft_role_of(fl_raft_host_raft(&h)), FL_RAFT_LEADER);
    for (int i = 0; i < 5; i++) {
        fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_raft_update up;
        CHECK_EQ(fl_raft_host_step(&h, &ev, &up), 0);
    }
    /* one job covers them all (the first one's, or the one started after it) */
    uint64_t syncs = h.stats.syncs;
    disk_done(d, &h);
    disk_done(d, &h);
    CHECK(h.stats.syncs - syncs <= 2);
    fl_index last = fl_raft_last_index(fl_raft_host_raft(&h));
    CHECK_EQ(fl_raft_commit_of(fl_raft_host_raft(&h)), last);
    CHECK_EQ(E.applied, last);
    fl_raft_host_close(&h);
    fl_rng rng;
    fl_rng_seed(&rng, 1);
    fl_simdisk_crash(d, FL_SIMDISK_LOSE_UNSYNCED, 0, &rng);
    CHECK_EQ(fl_raft_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
    CHECK_EQ(fl_raft_last_index(fl_raft_host_raft(&h)), last); /* everything synced survived */
    CHECK(fl_raft_term_of(fl_raft_host_raft(&h)) >= 1);
    fl_raft_host_close(&h);
    fl_simdisk_free(d);
}

/* A snapshot larger than the host may stage (snapshot_bytes_max) stops the node with a
 * message; it must never install the part that fit (server.c ignored the failed append). */
TEST(host_stops_on_a_snapshot_too_big_to_stage)
{
    memset(&E, 0, sizeof(E));
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_raft_host_config c;
    host_config(&c, 2, 3);
    c.snapshot_bytes_max = 64;
    fl_raft_host h;
    fl_errmsg m;
    CHECK_EQ(fl_raft_host_open(&h, fl_simdisk_fs(d), &c, &env, &m), 0);
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
    fl_raft_host_receive(&h, 1, wire.data, wire.len);
    CHECK_EQ(E.fatal_code, FL_ETOOBIG);
    CHECK(strstr(E.fatal_what, "InstallSnapshot") != NULL);
    CHECK(h.failed);
    CHECK_EQ(h.stats.snapshots_installed, 0);
    fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
    fl_raft_update up;
    CHECK_EQ(fl_raft_host_step(&h, &ev, &up), FL_ESTOPPED); /* nothing more after a stop */
    fl_buf_free(&wire);
    fl_raft_host_close(&h);
    fl_simdisk_free(d);
}

static void propose_n(fl_raft_host *h, fl_simdisk *d, int n)
{
    for (int i = 0; i < n; i++) {
        fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
        fl_raft_update up;
        FL_ASSERT(fl_raft_host_step(h, &ev, &up) == 0);
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

/* env.snapshot_start (the server's forked child): the host starts one snapshot at a time and
 * takes the bytes when they come, at the index they were started at; the file is written by
 * the next sync job and renamed when it is done; a failed one is tried again, a stale answer
 * ignored. A second host recovers the snapshot from the file. */
TEST(host_takes_a_snapshot_whose_bytes_come_later)
{
    memset(&E, 0, sizeof(E));
    n_started = 0;
    fl_simdisk *d = fl_simdisk_new("host test", 1 << 24, NULL, NULL);
    fl_raft_host_config c;
    host_config(&c, 1, 1);
    c.snapshot_every = 3;
    fl_raft_host_env e = env;
    e.snapshot_start = t_snapshot_start;
    fl_raft_host h;
    fl_errmsg m;
    CHECK_EQ(fl_raft_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    E.deadline = fl_raft_deadline_of(fl_raft_host_raft(&h));
    for (int i = 0; i < 20 && fl_raft_role_of(fl_raft_host_raft(&h)) != FL_RAFT_LEADER; i++) {
        tick_to_deadline(&h);
        disk_done(d, &h);
    }
    CHECK_EQ(fl_raft_role_of(fl_raft_host_raft(&h)), FL_RAFT_LEADER);
    propose_n(&h, d, 8);
    CHECK_EQ(n_started, 1); /* one at a time, however many entries went by */
    fl_index at = started[0];
    CHECK(at >= 3 && at < fl_raft_applied_of(fl_raft_host_raft(&h)));
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_put_str(&b, "state");
    fl_raft_host_snapshot_done(&h, at + 1, 0, &b,
                               fl_crc32c(0, "state", 5)); /* not the one started: ignored */
    CHECK_EQ(h.stats.snapshots_taken, 0);
    fl_raft_host_snapshot_done(&h, at, FL_EIO, &b, 0); /* failed: none, and tried again */
    CHECK_EQ(h.stats.snapshots_taken, 0);
    propose_n(&h, d, 4);
    CHECK_EQ(n_started, 2);
    at = started[1];
    fl_raft_host_snapshot_done(&h, at, 0, &b, fl_crc32c(0, "state", 5));
    CHECK_EQ(b.len, 0); /* taken */
    CHECK_EQ(h.stats.snapshots_taken, 1);
    CHECK_EQ(fl_raft_snapshot_of(fl_raft_host_raft(&h))->index, at);
    CHECK(h.snap.len == 5 && memcmp(h.snap.data, "state", 5) == 0);
    CHECK(!snapshot_file(d)); /* the job writes it; the rename waits for the job's end */
    disk_done(d, &h);
    CHECK(snapshot_file(d));
    fl_raft_host_close(&h);
    CHECK_EQ(fl_raft_host_open(&h, fl_simdisk_fs(d), &c, &e, &m), 0);
    CHECK_EQ(fl_raft_snapshot_of(fl_raft_host_raft(&h))->index, at);
    fl_buf_free(&b);
    fl_raft_host_close(&h);
    fl_simdisk_free(d);
}
