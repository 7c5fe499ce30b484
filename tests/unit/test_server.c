/* test_server.c: real `faultline server` processes on loopback. A one-node cluster answers
 * every command as Redis would (AUTH, errors, pipelining); a three-node cluster elects a
 * leader and serves reads and writes through any node; redis-cli, when installed, works
 * against it. */
#include "server_rig.h"

#define R(port, out, a, b, c, d) CHECK(rc_cmd(port, out, sizeof(out), a, b, c, d))

static void expect(int fd, const char *want)
{
    char out[1024];
    CHECK(rc_reply(fd, out, sizeof(out)));
    if (strcmp(out, want) != 0)
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", out, want);
    CHECK_STR(out, want);
}

static void cmd(int fd, const char *want, const char *a, const char *b, const char *c,
                const char *d)
{
    CHECK(rc_send(fd, a, b, c, d, (const char *)NULL));
    expect(fd, want);
}

TEST(server_one_node_commands)
{
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--requirepass";
    r.extra[1] = "sesame";
    rig_start(&r, 1);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++, rig_sleep_ms(50))
        fd = rc_connect(r.client_port[1]);
    CHECK(fd >= 0);
    cmd(fd, "-NOAUTH Authentication required.", "GET", "k", NULL, NULL);
    cmd(fd, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH", "nope", NULL,
        NULL);
    cmd(fd, "+OK", "AUTH", "sesame", NULL, NULL);
    cmd(fd, "+PONG", "PING", NULL, NULL, NULL);
    cmd(fd, "$hi", "ECHO", "hi", NULL, NULL);
    char out[2048];
    for (int i = 0; i < 100; i++, rig_sleep_ms(50)) {
        CHECK(rc_send(fd, "FL.STATUS", NULL) && rc_reply(fd, out, sizeof(out)));
        if (strstr(out, "role:leader"))
            break;
    }
    CHECK(strstr(out, "role:leader") != NULL);
    cmd(fd, "$nil", "GET", "k", NULL, NULL);
    cmd(fd, "+OK", "SET", "k", "v1", NULL);
    cmd(fd, "$v1", "GET", "k", NULL, NULL);
    cmd(fd, "$nil", "SET", "k", "v2", "NX");
    cmd(fd, "+OK", "SET", "k", "v2", "XX");
    cmd(fd, "$v2", "SET", "k", "v3", "GET");
    cmd(fd, "$nil", "SET", "nokey", "x", "XX");
    cmd(fd, "$v3", "GETSET", "k", "v4", NULL);
    cmd(fd, ":0", "CAS", "k", "wrong", "v5");
    cmd(fd, ":1", "CAS", "k", "v4", "v5");
    cmd(fd, ":5", "APPEND", "s", "hello", NULL);
    cmd(fd, ":11", "APPEND", "s", " world", NULL);
    cmd(fd, ":1", "INCR", "n", NULL, NULL);
    cmd(fd, ":11", "INCRBY", "n", "10", NULL);
    cmd(fd, ":10", "DECR", "n", NULL, NULL);
    cmd(fd, ":7", "DECRBY", "n", "3", NULL);
    cmd(fd, "-ERR value is not an integer or out of range", "INCR", "s", NULL, NULL);
    cmd(fd, "-ERR value is not an integer or out of range", "INCRBY", "n", "x1", NULL);
    cmd(fd, "*3|$v5|$nil|$7", "MGET", "k", "zz", "n");
    cmd(fd, ":2", "EXISTS", "k", "n", "zz");
    cmd(fd, ":2", "DEL", "k", "n", "zz");
    cmd(fd, ":0", "EXISTS", "k", NULL, NULL);
    /* names match whole and in any case: no prefix, no longer name */
    cmd(fd, "$nil", "gEt", "k", NULL, NULL);
    cmd(fd, "-ERR unknown command 'GE', with args beginning with: 'k' ", "GE", "k", NULL, NULL);
    cmd(fd, "-ERR unknown command 'GETT', with args beginning with: 'k' ", "GETT", "k", NULL, NULL);
    cmd(fd, "-ERR wrong number of arguments for 'get' command", "GET", NULL, NULL, NULL);
    cmd(fd, "-ERR unknown command 'NOPE', with args beginning with: 'a' ", "NOPE", "a", NULL, NULL);
    cmd(fd, "-ERR syntax error", "SET", "k", "v", "BOGUS");
    cmd(fd, "+OK", "CLIENT", "SETNAME", "t", NULL);
    cmd(fd, "*0", "COMMAND", "DOCS", NULL, NULL);
    CHECK(rc_send(fd, "INFO", NULL) && rc_reply(fd, out, sizeof(out)));
    CHECK(strstr(out, "role:leader") && strstr(out, "commit_index:") && strstr(out, "members:"));
    /* INFO memory: "s" (11 bytes) in the kv's values, the commands in the log held */
    const char *kvv = strstr(out, "kv_values:"), *lgh = strstr(out, "log_entries_held:");
    CHECK(kvv && strtoull(kvv + 10, NULL, 10) >= 11 && lgh && strtoull(lgh + 17, NULL, 10) > 0);
    /* pipelining: 200 commands in one write, replies in order */
    char batch[200 * 48];
    size_t len = 0;
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(batch + len, sizeof(batch) - len,
                                i % 2 ? "*2\r\n$4\r\nINCR\r\n$1\r\np\r\n" : "PING\r\n");
    CHECK(rc_write(fd, batch, len));
    for (int i = 0; i < 200; i++) {
        char want[16];
        snprintf(want, sizeof(want), i % 2 ? ":%d" : "+PONG", (i + 1) / 2);
        expect(fd, want);
    }
    /* more pipelined commands than a connection may have in flight (1024), all already
     * buffered by the server: it must resume parsing as replies drain */
    static char many[3000 * 9];
    len = 0;
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(many + len, sizeof(many) - len, "GET s\r\n");
    CHECK(rc_write(fd, many, len));
    for (int i = 0; i < 3000; i++)
        expect(fd, "$hello world");
    cmd(fd, "+OK", "QUIT", NULL, NULL, NULL);
    CHECK(!rc_reply(fd, out, sizeof(out))); /* closed */
    close(fd);
    CHECK(rig_stop(&r));
}

TEST(server_three_nodes_elect_and_serve)
{
    static rig r;
    rig_init(&r, 3);
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    char out[512], key[16], val[16];
    for (int i = 0; i < 30; i++) {
        int via = 1 + i % 3;
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        CHECK(rig_set(&r, via, key, val, 5000));
        /* linearizable: read it back at once through another node */
        R(r.client_port[1 + (i + 1) % 3], out, "GET", key, NULL, NULL);
        CHECK_STR(out + 1, val);
    }
    /* a follower pipelines through the leader */
    int follower = leader % 3 + 1;
    int fd = rc_connect(r.client_port[follower]);
    CHECK(fd >= 0);
    for (int i = 0; i < 100; i++)
        CHECK(rc_send(fd, "INCR", "ctr", NULL));
    for (int i = 0; i < 100; i++) {
        char want[16];
        snprintf(want, sizeof(want), ":%d", i + 1);
        expect(fd, want);
    }
    close(fd);
    if (access("/usr/bin/redis-cli", X_OK) == 0) {
        char cmdline[256];
        snprintf(cmdline, sizeof(cmdline),
                 "redis-cli -p %d SET rc yes >/dev/null && redis-cli -p %d GET rc",
                 r.client_port[follower], r.client_port[leader]);
        FILE *p = popen(cmdline, "r");
        CHECK(p != NULL);
        char line[64] = "";
        CHECK(fgets(line, sizeof(line), p) != NULL);
        pclose(p);
        CHECK_STR(line, "yes\n");
    } else {
        printf("redis-cli check skipped: redis-cli is not installed\n");
    }
    CHECK(rig_stop(&r));
}

TEST(server_cluster_command_starts_and_stops_nodes)
{
    static rig r;
    rig_init(&r, 3); /* for its free ports, temp dir and binary path */
    int base = r.client_port[1] - 1;
    /* cluster puts peers on base+100+i: make sure those are free too */
    for (int i = 1; i <= 3; i++)
        if (!port_free(base + 100 + i)) {
            printf("cluster test skipped: port %d busy\n", base + 100 + i);
            CHECK(rig_stop(&r));
            return;
        }
    char sbase[16], data[200], log[200];
    snprintf(sbase, sizeof(sbase), "%d", base);
    snprintf(data, sizeof(data), "%s/cluster", r.dir);
    snprintf(log, sizeof(log), "%s/cluster.log", r.dir);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(r.bin, "faultline", "cluster", "--nodes", "3", "--base-port", sbase, "--data", data,
              (char *)NULL);
        _exit(127);
    }
    r.pid[0] = 0;
    for (int i = 1; i <= 3; i++)
        r.pid[i] = pid; /* rig_wait_leader only asks whether a node runs */
    int leader = rig_wait_leader(&r, 10000);
    for (int i = 1; i <= 3; i++)
        r.pid[i] = 0;
    CHECK(leader != 0);
    char out[128];
    CHECK(rig_set(&r, 1 + leader % 3, "ck", "cv", 5000));
    CHECK(rc_cmd(r.client_port[leader], out, sizeof(out), "GET", "ck", NULL, NULL));
    CHECK_STR(out, "$cv");
    kill(pid, SIGINT);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 1; i <= 3; i++) { /* every node is gone */
        int fd = rc_connect(r.client_port[i]);
        CHECK(fd < 0);
    }
    CHECK(rig_stop(&r));
}

/* One read mode: writes through the leader, each read back at once through a follower (so a
 * stale follower would be caught), and the counters say which path the reads took. */
static void read_mode_run(const char *mode, const char *drift)
{
    static rig r;
    rig_init(&r, 3);
    r.extra[0] = "--read-mode";
    r.extra[1] = mode;
    r.extra[2] = drift ? "--max-drift-ppm" : NULL;
    r.extra[3] = drift;
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    int follower = leader % 3 + 1;
    char out[512], key[16], val[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%d", i % 4);
        snprintf(val, sizeof(val), "v%d", i);
        CHECK(rig_set(&r, leader, key, val, 5000));
        R(r.client_port[follower], out, "GET", key, NULL, NULL);
        CHECK_STR(out + 1, val);
        R(r.client_port[leader], out, "GET", key, NULL, NULL);
        CHECK_STR(out + 1, val);
    }
    long at_follower = rig_status(&r, follower, "reads_at_follower");
    long follower_index = rig_status(&r, follower, "reads_by_index");
    long by_index = rig_status(&r, leader, "reads_by_index");
    long by_lease = rig_status(&r, leader, "reads_by_lease");
    printf("%s: follower served %ld (%ld by index), leader %ld by index, %ld by lease\n", mode,
           at_follower, follower_index, by_index, by_lease);
    if (!strcmp(mode, "log")) {
        CHECK_EQ(at_follower, 0);
        CHECK_EQ(follower_index, 0);
        CHECK_EQ(by_index, 0);
    } else { /* every GET at the follower was served there, by the leader's read index */
        CHECK_EQ(at_follower, 20);
        CHECK_EQ(follower_index, 20);
        CHECK(by_index >= 20);
    }
    if (!strcmp(mode, "lease"))
        CHECK(by_lease > 0);
    else
        CHECK_EQ(by_lease, 0);
    CHECK(rig_stop(&r));
}

TEST(server_read_modes_follower_reads_stay_linearizable)
{
    read_mode_run("index", NULL);
    read_mode_run("lease", "1000");
    read_mode_run("log", NULL);
}

/* FL.TRANSFER on a real cluster: refused where it makes no sense (a follower, an unknown or
 * malformed id, the leader itself, a second transfer while one runs), and on the leader it
 * hands leadership to the named node, which FL.STATUS then reports everywhere. */
TEST(server_transfer_hands_leadership_over)
{
    static rig r;
    rig_init(&r, 3);
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    CHECK(rig_set(&r, leader, "before", "1", 5000));
    int target = leader % 3 + 1, other = target % 3 + 1;
    char out[512], id[16];
    snprintf(id, sizeof(id), "%d", target);
    R(r.client_port[other], out, "FL.TRANSFER", id, NULL, NULL);
    CHECK(strncmp(out, "-ERR FL.TRANSFER: not the leader", 32) == 0);
    R(r.client_port[leader], out, "FL.TRANSFER", "9", NULL, NULL);
    CHECK_STR(out, "-ERR FL.TRANSFER: unknown node 9");
    R(r.client_port[leader], out, "FL.TRANSFER", "two", NULL, NULL);
    CHECK(strncmp(out, "-ERR FL.TRANSFER: the node id", 29) == 0);
    snprintf(id, sizeof(id), "%d", leader);
    R(r.client_port[leader], out, "FL.TRANSFER", id, NULL, NULL);
    CHECK_STR(out, "-ERR FL.TRANSFER: this node already leads");
    /* two transfers in one write: the first starts, the second finds it in progress */
    char two[128];
    int len = snprintf(two, sizeof(two), "FL.TRANSFER %d\r\nFL.TRANSFER %d\r\n", target, other);
    int fd = rc_connect(r.client_port[leader]);
    CHECK(fd >= 0);
    CHECK(rc_write(fd, two, (size_t)len));
    expect(fd, "+OK");
    CHECK(rc_reply(fd, out, sizeof(out)));
    CHECK(strncmp(out, "-ERR FL.TRANSFER: a transfer to", 31) == 0);
    close(fd);
    bool moved = false;
    for (int i = 0; i < 100 && !moved; i++, rig_sleep_ms(50))
        moved = rig_is_leader(&r, target) && rig_status(&r, leader, "leader") == target &&
                rig_status(&r, other, "leader") == target;
    CHECK(moved);
    CHECK(!rig_is_leader(&r, leader));
    /* the new leader serves, and what was written before survived the hand-over */
    CHECK(rig_set(&r, other, "after", "2", 5000));
    R(r.client_port[target], out, "GET", "before", NULL, NULL);
    CHECK_STR(out, "$1");
    CHECK(rig_stop(&r));
}

/* The text of "field:" in a node's FL.STATUS (up to the next space) into out; false if none. */
static bool status_field(rig *r, int id, const char *field, char *out, size_t size)
{
    char st[2048], key[64];
    if (!rc_cmd(r->client_port[id], st, sizeof(st), "FL.STATUS", NULL, NULL, NULL))
        return false;
    snprintf(key, sizeof(key), " %s:", field);
    const char *p = strstr(st, key);
    if (!p)
        return false;
    p += strlen(key);
    size_t n = strcspn(p, " ");
    snprintf(out, size, "%.*s", (int)n, p);
    return true;
}

/* True if node id's configuration lists who in field (config_voters, config_learners...). */
static bool in_conf(rig *r, int id, const char *field, int who)
{
    char list[256], *save = NULL;
    if (!status_field(r, id, field, list, sizeof(list)))
        return false;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (atoi(t) == who)
            return true;
    return false;
}

/* The change at node id is done: not joint, and its config entry committed. */
static bool conf_settled(rig *r, int id)
{
    char old[64], committed[8];
    return status_field(r, id, "config_old_voters", old, sizeof(old)) && old[0] == 0 &&
           status_field(r, id, "config_committed", committed, sizeof(committed)) &&
           !strcmp(committed, "1");
}

/* cmd at node id until it answers +OK (a learner catching up, a change in flight). */
static bool member_cmd(rig *r, int id, const char *cmd, int who, int ms)
{
    char out[256], arg[16];
    snprintf(arg, sizeof(arg), "%d", who);
    for (int waited = 0; waited < ms; waited += 100) {
        if (rc_cmd(r->client_port[id], out, sizeof(out), cmd, arg, NULL, NULL) &&
            !strcmp(out, "+OK"))
            return true;
        rig_sleep_ms(100);
    }
    fprintf(stderr, "  %s %d at node %d: %s\n", cmd, who, id, out);
    return false;
}

static bool wait_until(rig *r, int id, bool (*pred)(rig *, int), int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (pred(r, id))
            return true;
        rig_sleep_ms(50);
    }
    return false;
}

/* (node 4's bootstrap configuration, which it holds before it hears of the change, is
 * settled too: wait for the one that names it) */
static bool node4_learner_settled(rig *r, int id)
{
    return conf_settled(r, id) && in_conf(r, id, "config_learners", 4);
}

static bool node4_voter_settled(rig *r, int id)
{
    return conf_settled(r, id) && in_conf(r, id, "config_voters", 4);
}

/* The leader dropped the head of its log into a snapshot, so a newcomer needs the snapshot
 * (the snapshot child runs at low priority: on a loaded machine it may take a while) */
static bool log_compacted(rig *r, int id)
{
    return rig_status(r, id, "first_index") > 1;
}

TEST(server_membership_add_promote_remove_the_leader)
{
    static rig r;
    rig_init(&r, 4);
    r.extra[0] = "--voters";
    r.extra[1] = "1,2,3"; /* node 4 starts empty, outside */
    r.extra[2] = "--snapshot-every";
    r.extra[3] = "8"; /* node 4 catches up by InstallSnapshot, which carries its config */
    for (int i = 1; i <= 4; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader >= 1 && leader <= 3);
    char out[512], key[16], val[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        CHECK(rig_set(&r, leader, key, val, 5000));
    }
    CHECK(wait_until(&r, leader, log_compacted, 10000));
    R(r.client_port[4], out, "FL.ADD", "4", NULL, NULL);
    CHECK_STR(out, "-ERR not the leader: ask node 0"); /* outside, it knows no leader yet */
    R(r.client_port[leader], out, "FL.ADD", "9", NULL, NULL);
    CHECK_STR(out, "-ERR not a node id of --cluster");
    CHECK(member_cmd(&r, leader, "FL.ADD", 4, 5000));
    CHECK(wait_until(&r, 4, node4_learner_settled, 5000)); /* it got the log and its role */
    CHECK(rig_status(&r, 4, "snapshots_installed") >= 1);
    R(r.client_port[4], out, "GET", "k3", NULL, NULL); /* a learner reads by ReadIndex too */
    CHECK_STR(out, "$v3");
    CHECK(member_cmd(&r, leader, "FL.PROMOTE", 4, 5000));
    CHECK(wait_until(&r, leader, node4_voter_settled, 5000));
    /* the leader removes itself: it steps down once C(new) commits, the rest elect */
    CHECK(member_cmd(&r, leader, "FL.REMOVE", leader, 5000));
    int now = 0;
    for (int waited = 0; waited < 10000 && (now == 0 || now == leader); waited += 100) {
        now = rig_wait_leader(&r, 100);
        if (now == 0 || now == leader)
            rig_sleep_ms(100);
    }
    CHECK(now != 0 && now != leader);
    CHECK(wait_until(&r, now, conf_settled, 5000));
    CHECK(!in_conf(&r, now, "config_voters", leader));
    CHECK(rig_set(&r, 4, "after", "removal", 5000)); /* through node 4, now a voter */
    R(r.client_port[now], out, "GET", "after", NULL, NULL);
    CHECK_STR(out, "$removal");
    R(r.client_port[now], out, "GET", "k7", NULL, NULL);
    CHECK_STR(out, "$v7");
    CHECK(rig_stop(&r));
}
