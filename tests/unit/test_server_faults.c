/* test_server_faults.c: real `faultline server` processes under faults on loopback. Killing
 * the leader with SIGKILL gives a new leader and loses no acknowledged write; the killed node,
 * restarted on its WAL, catches up; hostile bytes on the client and peer ports (random
 * bytes, truncated frames, huge lengths, a hello from another cluster) never crash a node. */
#include "cli.h"
#include "server_rig.h"

#include "faultline/rng.h"

TEST(server_kill_leader_loses_no_acknowledged_write)
{
    rig_kill_leader_case(NULL);
}

static void send_and_close(int port, const void *p, size_t n)
{
    int fd = rc_connect(port);
    if (fd < 0)
        return;
    rc_write(fd, p, n);
    char sink[512];
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (recv(fd, sink, sizeof(sink), 0) > 0)
        ;
    close(fd);
}

static bool alive(rig *r, int id)
{
    char out[64];
    return waitpid(r->pid[id], NULL, WNOHANG) == 0 &&
           rc_cmd(r->client_port[id], out, sizeof(out), "PING", NULL, NULL, NULL) &&
           strcmp(out, "+PONG") == 0;
}

TEST(server_hostile_input_never_crashes)
{
    static rig r;
    rig_init(&r, 3);
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    CHECK(rig_wait_leader(&r, 10000) != 0);
    static const char *const resp[] = {"*99999999999999\r\n",    "*2\r\n$2147483648\r\nab\r\n",
                                       "*-5\r\n$3\r\nGET\r\n",   "*3\r\n$3\r\nSET\r\n$1\r\nk",
                                       "$5\r\nhello\r\n",        "*1\r\n$4\r\nPINGxx\r\n",
                                       "\"unbalanced quote\r\n", "*2\r\n$3\r\nGET\r\n$-7\r\n"};
    fl_rng rng;
    fl_rng_seed(&rng, 42);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof(resp) / sizeof(resp[0]); i++)
            send_and_close(r.client_port[1 + round], resp[i], strlen(resp[i]));
        uint8_t junk[4096];
        for (int k = 0; k < 8; k++) {
            for (size_t j = 0; j < sizeof(junk); j++)
                junk[j] = (uint8_t)fl_rng_next(&rng);
            send_and_close(r.client_port[1 + round], junk, sizeof(junk));
            send_and_close(r.peer_port[1 + round], junk, sizeof(junk));
        }
        /* a well-formed hello from another cluster, then a frame with a huge length */
        uint8_t hello[32] = {'F', 'L', 'P', 'R', 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 2};
        hello[20] = (uint8_t)(1 + round);
        memset(hello + 24, 0xff, 8);
        send_and_close(r.peer_port[1 + round], hello, sizeof(hello));
    }
    /* a bulk announced over the size limit gets an error reply, then the connection closes */
    static const char big[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\nxxxx";
    int fd = rc_connect(r.client_port[1]);
    CHECK(fd >= 0);
    CHECK(rc_write(fd, big, sizeof(big) - 1));
    char out[256];
    CHECK(rc_reply(fd, out, sizeof(out)));
    CHECK_STR(out, "-ERR Protocol error: invalid bulk length");
    CHECK(!rc_reply(fd, out, sizeof(out)));
    close(fd);
    for (int i = 1; i <= 3; i++)
        CHECK(alive(&r, i));
    CHECK(rig_set(&r, 2, "still", "works", 5000));
    CHECK(rig_get_is(&r, 3, "still", "works"));
    char log[256], line[512];
    snprintf(log, sizeof(log), "%s/n1.log", r.dir);
    FILE *f = fopen(log, "r");
    CHECK(f != NULL);
    bool refused = false;
    while (fgets(line, sizeof(line), f))
        refused |= strstr(line, "refused: another cluster") != NULL;
    fclose(f);
    CHECK(refused);
    CHECK(rig_stop(&r));
}

static void kill_at_1s(pid_t leader)
{
    rig_sleep_ms(1000);
    kill(leader, SIGKILL);
}

static void pause_from_1s_to_2s(pid_t leader)
{
    rig_sleep_ms(1000);
    kill(leader, SIGSTOP);
    rig_sleep_ms(1000);
    kill(leader, SIGCONT);
}

TEST(server_bench_history_linearizable_across_leader_kill)
{
    rig_bench_under_fault(NULL, kill_at_1s);
}

TEST(server_bench_history_linearizable_across_leader_pause)
{
    rig_bench_under_fault(NULL, pause_from_1s_to_2s);
}

/* Waits up to ms for node id to exit on its own and reaps it; its wait status (-1: still
 * running after ms). */
static int wait_exit(rig *r, int id, int ms)
{
    int status = -1;
    for (int i = 0; i < ms / 50 && waitpid(r->pid[id], &status, WNOHANG) == 0; i++)
        rig_sleep_ms(50);
    r->pid[id] = 0;
    return status;
}

/* Whether node id's log holds needle. */
static bool log_has(const rig *r, int id, const char *needle)
{
    char log[200];
    snprintf(log, sizeof(log), "%s/n%d.log", r->dir, id);
    return fl_test_file_has(log, needle);
}

/* Node 1, whose fsync failed after `acked` writes f0.. were answered: it stopped (exit 74)
 * saying so (on_loop 1: that the fsync ran on the loop's thread, 0: not, -1: either), and
 * restarted without the fault it has every acknowledged write. */
static void check_fsync_stop(rig *r, int acked, int on_loop)
{
    int status = wait_exit(r, 1, 5000);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 74); /* stopped, not carrying on */
    CHECK(log_has(r, 1, "WAL sync failed"));
    if (on_loop >= 0)
        CHECK(log_has(r, 1, "WAL sync failed (fsync, on the loop's thread)") == (on_loop == 1));
    r->extra[0] = NULL;
    rig_start(r, 1);
    CHECK(rig_wait_leader(r, 5000) == 1);
    char key[16];
    for (int i = 0; i < acked; i++) {
        snprintf(key, sizeof(key), "f%d", i);
        CHECK(rig_get_is(r, 1, key, "v"));
    }
    CHECK(rig_stop(r));
}

TEST(server_failed_fsync_stops_the_node)
{
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--fault-fsync-fail-after";
    r.extra[1] = "12";
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 5000) == 1);
    int acked = 0;
    char key[16], out[128];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "f%d", i);
        if (!rc_cmd(r.client_port[1], out, sizeof(out), "SET", key, "v", NULL) ||
            strcmp(out, "+OK") != 0)
            break;
        acked++;
    }
    CHECK(acked > 0 && acked < 50);
    check_fsync_stop(&r, acked, -1);
}

/* n SETs one after another on one connection to node id (each waits for its reply). */
static int sets_in_turn(rig *r, int id, int n, const char *prefix)
{
    int fd = rc_connect(r->client_port[id]), ok = 0;
    char key[32], out[64];
    for (int i = 0; fd >= 0 && i < n; i++) {
        snprintf(key, sizeof(key), "%s%d", prefix, i);
        ok += rc_send(fd, "SET", key, "v", NULL) && rc_reply(fd, out, sizeof(out)) &&
              !strcmp(out, "+OK");
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Where each node's WAL syncs run (FL.STATUS wal_syncs, wal_syncs_inline): with one
 * connection writing one key at a time the loops are idle and most syncs run on them, on the
 * leader and on a follower alike; with 32 connections writing at once the leader hands its
 * syncs to the worker (the loop keeps serving); with --sync-inline off none is inline. The
 * bounds leave room for a loaded machine (a sync over half a heartbeat, 25 ms, keeps the next off
 * the loop). */
TEST(server_syncs_inline_when_idle_and_on_the_worker_under_load)
{
    static rig r;
    rig_start_all(&r, 3, NULL);
    int leader = rig_wait_leader(&r, 10000), follower = leader % 3 + 1;
    CHECK(leader != 0);
    CHECK(rig_set(&r, leader, "warm", "up", 5000));
    long s0 = rig_status(&r, leader, "wal_syncs"), i0 = rig_status(&r, leader, "wal_syncs_inline");
    int other = follower % 3 + 1;
    long fs0 = rig_status(&r, follower, "wal_syncs");
    long fi0 = rig_status(&r, follower, "wal_syncs_inline");
    long os0 = rig_status(&r, other, "wal_syncs");
    long oi0 = rig_status(&r, other, "wal_syncs_inline");
    CHECK(s0 > 0 && i0 >= 0 && fs0 > 0 && fi0 >= 0 && os0 > 0 && oi0 >= 0);
    CHECK_EQ(sets_in_turn(&r, leader, 40, "idle"), 40);
    long s1 = rig_status(&r, leader, "wal_syncs"), i1 = rig_status(&r, leader, "wal_syncs_inline");
    long fs1 = rig_status(&r, follower, "wal_syncs");
    long fi1 = rig_status(&r, follower, "wal_syncs_inline");
    long os1 = rig_status(&r, other, "wal_syncs");
    long oi1 = rig_status(&r, other, "wal_syncs_inline");
    fprintf(stderr, "  idle: leader %ld syncs, %ld inline; follower %ld, %ld; other %ld, %ld\n",
            s1 - s0, i1 - i0, fs1 - fs0, fi1 - fi0, os1 - os0, oi1 - oi0);
    /* Each SET was on a majority's disk before its reply, and the next was sent only then: a
     * sync that covered one SET at a node of that majority began before the next existed. So
     * two syncs at least per SET over the three nodes (not one at the leader: two followers
     * may commit a SET while the leader's own sync is still running). */
    CHECK((s1 - s0) + (fs1 - fs0) + (os1 - os0) >= 2 * 40);
    CHECK(i1 - i0 >= 20);
    /* The follower that commits with the leader syncs once per SET, on its loop. The other
     * may fall behind on a loaded machine (18 syncs for 40 SETs once, all inline): one sync
     * then covers several SETs, so only the busier follower is held to the count. */
    CHECK((fs1 - fs0 >= os1 - os0 ? fi1 - fi0 : oi1 - oi0) >= 20);
    char addr[32], out[200];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", r.client_port[leader]);
    snprintf(out, sizeof(out), "%s/bench.out", r.dir);
    const char *bench[] = {"faultline",  "bench",  "--addr", addr,           "--connections",
                           "32",         "--keys", "1000",   "--read-ratio", "0",
                           "--duration", "2s",     NULL};
    CHECK_EQ(rig_run_bin(&r, out, bench), 0);
    long s2 = rig_status(&r, leader, "wal_syncs"), i2 = rig_status(&r, leader, "wal_syncs_inline");
    fprintf(stderr, "  32 connections: leader %ld syncs, %ld inline\n", s2 - s1, i2 - i1);
    CHECK(s2 - s1 > 40);
    CHECK((s2 - s1) - (i2 - i1) > 4 * (i2 - i1)); /* the worker's, by far */
    CHECK(rig_stop(&r));
    /* off: the same writes, every sync on the worker */
    static const char *const off[] = {"--sync-inline", "off", NULL};
    rig_start_all(&r, 3, off);
    leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    CHECK_EQ(sets_in_turn(&r, leader, 20, "off"), 20);
    for (int i = 1; i <= 3; i++) {
        long syncs = rig_status(&r, i, "wal_syncs"), inl = rig_status(&r, i, "wal_syncs_inline");
        fprintf(stderr, "  --sync-inline off: node %d %ld syncs, %ld inline\n", i, syncs, inl);
        CHECK(syncs > 0);
        CHECK_EQ(inl, 0);
    }
    CHECK(rig_stop(&r));
}

/* The value of "field:" in FL.STATUS asked on an open connection, or -1. */
static long status_on(int fd, const char *field)
{
    char out[4096], key[64];
    if (!rc_send(fd, "FL.STATUS", NULL) || !rc_reply(fd, out, sizeof(out)))
        return -1;
    snprintf(key, sizeof(key), " %s:", field);
    const char *p = strstr(out, key);
    return p ? atol(p + strlen(key)) : -1;
}

/* A failed fdatasync on the loop's thread stops the node as on the worker's: every sync of a
 * one-key-at-a-time writer after the first ran inline up to the failure (FL.STATUS, asked
 * after each write on a second connection: both stay open, so that no connection's close
 * is what the loop finds ready), the node exits 74 saying so, and a restart without the fault
 * has every acknowledged write. (server_failed_fsync_stops_the_node above: the same, either
 * path; --sync-inline off: the worker's.) */
static void failed_fsync_case(bool inline_on)
{
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--fault-fsync-fail-after";
    r.extra[1] = "12";
    r.extra[2] = "--sync-inline";
    r.extra[3] = inline_on ? "on" : "off";
    /* syncs stay inline while the last took under half a heartbeat: on a machine whose disk
     * other jobs keep busy, 25 ms is passed now and then, and this test is about the path
     * (250 ms here) */
    r.extra[4] = "--heartbeat-ms";
    r.extra[5] = "500";
    r.extra[6] = "--election-ms";
    r.extra[7] = "1500";
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    /* the first write's job writes the new WAL's zeros ahead, on the worker (not short) */
    CHECK_EQ(sets_in_turn(&r, 1, 1, "warm"), 1);
    int w = rc_connect(r.client_port[1]), st = rc_connect(r.client_port[1]);
    CHECK(w >= 0 && st >= 0);
    long syncs0 = status_on(st, "wal_syncs"), inl0 = status_on(st, "wal_syncs_inline");
    CHECK(syncs0 > 0 && inl0 >= 0);
    int acked = 0;
    bool all_inline = true, none_inline = true;
    char key[16], out[64];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "f%d", i);
        if (!rc_send(w, "SET", key, "v", NULL) || !rc_reply(w, out, sizeof(out)) ||
            strcmp(out, "+OK") != 0)
            break;
        acked++;
        long syncs = status_on(st, "wal_syncs"), inl = status_on(st, "wal_syncs_inline");
        all_inline &= syncs - syncs0 == inl - inl0;
        none_inline &= inl == 0;
    }
    close(w);
    close(st);
    CHECK(acked > 0 && acked < 50);
    CHECK(inline_on ? all_inline : none_inline);
    check_fsync_stop(&r, acked, inline_on);
}

TEST(server_failed_fsync_on_the_loop_thread_stops_the_node)
{
    failed_fsync_case(true);
}

TEST(server_failed_fsync_on_the_worker_stops_the_node)
{
    failed_fsync_case(false);
}

/* A WAL record damaged in the middle of the log (not a torn tail) is found by its checksum at
 * start: the node refuses to start and names the file and the byte offset, rather than
 * serving from a log with a hole. */
TEST(server_corrupt_wal_refuses_to_start_naming_file_and_offset)
{
    static rig r;
    rig_init(&r, 1);
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 5000) == 1);
    char key[16], out[128];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "c%d", i);
        CHECK(rc_cmd(r.client_port[1], out, sizeof(out), "SET", key, "value", NULL));
    }
    CHECK(rig_kill(&r, 1, SIGTERM) != -1);
    /* flip a byte a third of the way into the (only) segment's records (the zeros the WAL
     * preallocated after them are its normal end, docs/wal.md) */
    char cmd[600], seg[400] = "";
    snprintf(cmd, sizeof(cmd), "ls %s/n1/wal/ | grep -v lock | head -1", r.dir);
    FILE *p = popen(cmd, "r");
    CHECK(p && fgets(seg, sizeof(seg), p));
    pclose(p);
    seg[strcspn(seg, "\n")] = 0;
    char path[600];
    snprintf(path, sizeof(path), "%s/n1/wal/%s", r.dir, seg);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char b = 0;
    while (size > 0 && pread(fd, &b, 1, size - 1) == 1 && b == 0)
        size--;
    CHECK(size > 300);
    off_t at = size / 3;
    CHECK(pread(fd, &b, 1, at) == 1);
    b ^= 0x5a;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
    rig_start(&r, 1);
    int status = -1;
    for (int i = 0; i < 100 && waitpid(r.pid[1], &status, WNOHANG) == 0; i++)
        rig_sleep_ms(50);
    r.pid[1] = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0); /* refused to start */
    char log[200], line[1024];
    snprintf(log, sizeof(log), "%s/n1.log", r.dir);
    FILE *f = fopen(log, "r");
    bool named = false;
    while (f && fgets(line, sizeof(line), f))
        named |= strstr(line, seg) != NULL && strstr(line, "offset") != NULL;
    if (f)
        fclose(f);
    CHECK(named);
    rig_stop(&r);
}

/* A 3-node cluster snapshotting every 20 entries, a follower killed (SIGKILL) and 100 writes
 * (k0..k99 = val_fmt of i) at the leader, whose log then starts after the follower's next
 * entry. Returns the leader; *f is the follower, down. */
static int snapshots_past_a_dead_follower(rig *r, const char *val_fmt, int *f)
{
    rig_init(r, 3);
    r->extra[0] = "--snapshot-every";
    r->extra[1] = "20";
    r->extra[2] = "--snapshot-log-share"; /* every 20 entries, however small against the state */
    r->extra[3] = "0";
    for (int i = 1; i <= 3; i++)
        rig_start(r, i);
    int leader = rig_wait_leader(r, 10000);
    CHECK(leader != 0);
    *f = leader % 3 + 1;
    rig_kill(r, *f, SIGKILL);
    char key[16], val[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), val_fmt, i);
        CHECK(rig_set(r, leader, key, val, 3000));
    }
    /* The follower's next entry is gone once a snapshot past it is taken: the snapshot is
     * written by a forked child and the log compacted when it is done, which on a loaded
     * machine comes a while after the last write's reply. */
    long first = 0;
    for (int tries = 0; tries < 100 && first <= 20; tries++) {
        first = rig_status(r, leader, "first_index");
        if (first <= 20)
            rig_sleep_ms(100);
    }
    CHECK(first > 20);
    return leader;
}

/* With a snapshot every 20 entries: a follower killed while 100 writes go by comes back to a
 * leader whose log starts long after its own, catches up by InstallSnapshot, and serves what
 * it missed; then the whole cluster restarts from snapshot files and WALs and keeps it all. */
TEST(server_snapshots_catch_up_a_restarted_follower_and_survive_a_full_restart)
{
    static rig r;
    int f;
    int leader = snapshots_past_a_dead_follower(&r, "v%d", &f);
    /* A snapshot is taken when an applied entry crosses the interval and none is being
     * written: one still being written when the last of the 100 crossed it leaves the index
     * where it was until the next write. Writes go on (fillers) until one lands at 80+. */
    long snap_index = rig_status(&r, leader, "snapshot_index");
    for (int i = 0; i < 100 && snap_index < 80; i++) {
        char filler[24];
        snprintf(filler, sizeof(filler), "filler%d", i);
        CHECK(rig_set(&r, leader, filler, "x", 3000));
        rig_sleep_ms(20);
        snap_index = rig_status(&r, leader, "snapshot_index");
    }
    CHECK(snap_index >= 80);
    rig_start(&r, f);
    long commit = rig_status(&r, leader, "commit_index");
    long applied = -1;
    for (int i = 0; i < 100 && applied < commit; i++, rig_sleep_ms(100))
        applied = rig_status(&r, f, "applied_index");
    CHECK(applied >= commit);
    CHECK_EQ(rig_status(&r, f, "snapshots_installed"), 1);
    CHECK(rig_get_is(&r, f, "k0", "v0"));
    CHECK(rig_get_is(&r, f, "k99", "v99"));
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(rig_kill(&r, i, SIGTERM), 0);
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    long snap = -1; /* -1 while the node is still starting (slow under ASan) */
    for (int i = 0; i < 50 && snap < 0; i++, rig_sleep_ms(100))
        snap = rig_status(&r, f, "snapshot_index");
    CHECK(snap >= 80); /* it started from its snapshot file */
    CHECK(rig_get_is(&r, leader, "k0", "v0"));
    CHECK(rig_get_is(&r, f, "k50", "v50"));
    CHECK(rig_get_is(&r, leader, "k99", "v99"));
    CHECK(rig_stop(&r));
}

/* The leader's snapshot file changes on its disk after the leader mapped it (a byte of a
 * value flipped in place): before the first chunk for a follower that fell behind, the
 * leader checks the file's bytes against the snapshot's CRC and stops, naming the file,
 * instead of offering bytes the follower refuses for ever; the other two go on, and the
 * follower catches up from the new leader's snapshot. */
TEST(server_leader_with_a_rotten_snapshot_file_stops_before_sending_it)
{
    static rig r;
    int f;
    int leader = snapshots_past_a_dead_follower(&r, "value%03d", &f);
    rig_sleep_ms(300); /* the last snapshot's file durable, and mapped */
    /* "value050" is in the snapshot's bytes only (the log kept after it starts later) */
    char path[600];
    snprintf(path, sizeof(path), "%s/n%d/wal/snapshot", r.dir, leader);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    static unsigned char file[1 << 20];
    ssize_t n = pread(fd, file, sizeof(file), 0);
    CHECK(n > 0);
    ssize_t at = -1;
    for (ssize_t i = 0; i + 8 <= n && at < 0; i++)
        if (memcmp(file + i, "value050", 8) == 0)
            at = i + 5;
    CHECK(at > 0);
    unsigned char b = file[at] ^ 0x01;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
    rig_start(&r, f);
    int status = wait_exit(&r, leader, 10000);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 65); /* stopped: corrupt data */
    char named[700];
    snprintf(named, sizeof(named), "%s: the snapshot's bytes no longer match their CRC", path);
    CHECK(log_has(&r, leader, named));
    /* the other two elect a leader; the follower catches up from its snapshot */
    long applied = -1;
    for (int i = 0; i < 100 && applied < 100; i++, rig_sleep_ms(100))
        applied = rig_status(&r, f, "applied_index");
    CHECK(applied >= 100);
    CHECK(rig_get_is(&r, f, "k50", "value050"));
    CHECK(rig_get_is(&r, f, "k99", "value099"));
    CHECK(rig_stop(&r));
}
