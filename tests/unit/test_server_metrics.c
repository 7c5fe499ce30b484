/* test_server_metrics.c: `faultline server --metrics` and `faultline gossip --metrics` scraped
 * over HTTP on loopback, parsed (and checked by promtool where installed): a three-node
 * cluster's leader and followers report their roles, the writes they committed, commands by
 * name and result, group commits, WAL bytes and peer links, and a killed follower shows as a
 * peer down at the leader. */
#include "server_rig.h"

#include "prom.h"

#include "faultline/buf.h"

static int metrics_port(const rig *r, int id)
{
    return r->client_port[id] + 20; /* the rig's ports: base+i clients, base+10+i peers */
}

/* GET /metrics from port; the body into out (NUL-terminated); false if no 200. */
static bool scrape(int port, fl_buf *out)
{
    fl_buf_reset(out);
    int fd = rc_connect(port);
    if (fd < 0)
        return false;
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    bool ok = rc_write(fd, req, sizeof(req) - 1);
    char buf[8192];
    ssize_t k;
    while (ok && (k = recv(fd, buf, sizeof(buf), 0)) > 0)
        fl_buf_put_bytes(out, buf, (size_t)k);
    close(fd);
    fl_buf_put_u8(out, 0);
    const char *t = (const char *)out->data;
    const char *body = strstr(t, "\r\n\r\n");
    if (!ok || strncmp(t, "HTTP/1.1 200 OK\r\n", 17) != 0 || !body)
        return false;
    memmove(out->data, body + 4, strlen(body + 4) + 1);
    return true;
}

static double value_at(int port, const char *series)
{
    fl_buf b;
    fl_buf_init(&b);
    double v = scrape(port, &b) ? prom_value((const char *)b.data, series) : -2;
    fl_buf_free(&b);
    return v;
}

static void check_promtool(const char *text)
{
    int ok = prom_promtool(text);
    if (ok < 0)
        printf("promtool check skipped: promtool is not installed\n");
    else
        CHECK_EQ(ok, 1);
}

TEST(server_metrics_scraped_from_a_three_node_cluster)
{
    static rig r;
    rig_init(&r, 3);
    static char maddr[4][32];
    for (int i = 1; i <= 3; i++) {
        CHECK(port_free(metrics_port(&r, i)));
        snprintf(maddr[i], sizeof(maddr[i]), "127.0.0.1:%d", metrics_port(&r, i));
        r.extra[0] = "--metrics";
        r.extra[1] = maddr[i];
        rig_start(&r, i);
    }
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    char key[16];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK(rig_set(&r, leader, key, "v", 3000));
    }
    char out[256];
    CHECK(rc_cmd(r.client_port[leader], out, sizeof(out), "GET", "k1", NULL, NULL));
    CHECK(rc_cmd(r.client_port[leader], out, sizeof(out), "NOSUCHCOMMAND", NULL, NULL, NULL));
    fl_buf b;
    fl_buf_init(&b);
    CHECK(scrape(metrics_port(&r, leader), &b));
    const char *t = (const char *)b.data;
    CHECK(prom_valid(t));
    check_promtool(t);
    CHECK(prom_value(t, "faultline_raft_role{role=\"leader\"}") == 1);
    CHECK(prom_value(t, "faultline_raft_role{role=\"follower\"}") == 0);
    CHECK(prom_value(t, "faultline_raft_term") >= 1);
    CHECK(prom_value(t, "faultline_raft_commit_index") >= 31);
    CHECK(prom_value(t, "faultline_raft_applied_index") >= 31);
    CHECK(prom_value(t, "faultline_raft_leader_id") == leader);
    CHECK(prom_value(t, "faultline_raft_proposals_total{result=\"ok\"}") >= 30);
    CHECK(prom_value(t, "faultline_raft_read_index_total{result=\"confirmed\"}") >= 1);
    CHECK(prom_value(t, "faultline_commands_total{command=\"set\",result=\"ok\"}") >= 30);
    CHECK(prom_value(t, "faultline_commands_total{command=\"get\",result=\"ok\"}") >= 1);
    CHECK(prom_value(t, "faultline_commands_total{command=\"unknown\",result=\"error\"}") == 1);
    CHECK(prom_value(t, "faultline_wal_fsync_duration_seconds_count") >= 1);
    CHECK(prom_value(t, "faultline_wal_fsync_batch_records_count") ==
          prom_value(t, "faultline_wal_fsync_duration_seconds_count"));
    CHECK(prom_value(t, "faultline_wal_written_bytes_total") > 0);
    CHECK(prom_value(t, "faultline_wal_segments") >= 1);
    CHECK(prom_value(t, "faultline_client_connections_accepted_total") >= 32);
    int f1 = leader % 3 + 1, f2 = f1 % 3 + 1;
    char up[64];
    snprintf(up, sizeof(up), "faultline_peer_up{peer=\"%d\"}", f1);
    CHECK(prom_value(t, up) == 1);
    char sent[96];
    snprintf(sent, sizeof(sent), "faultline_peer_sent_bytes_total{peer=\"%d\"}", f2);
    CHECK(prom_value(t, sent) > 0);
    /* a follower's view */
    CHECK(value_at(metrics_port(&r, f1), "faultline_raft_role{role=\"follower\"}") == 1);
    CHECK(value_at(metrics_port(&r, f1), "faultline_raft_leader_id") == leader);
    /* a killed follower: the leader's link to it goes down */
    rig_kill(&r, f1, SIGKILL);
    double v = 1;
    for (int i = 0; i < 50 && v != 0; i++, rig_sleep_ms(100))
        v = value_at(metrics_port(&r, leader), up);
    CHECK(v == 0);
    /* a request that is not /metrics */
    int fd = rc_connect(metrics_port(&r, leader));
    CHECK(fd >= 0 && rc_write(fd, "GET / HTTP/1.1\r\n\r\n", 18));
    CHECK(rc_line(fd, out, sizeof(out)) && !strcmp(out, "HTTP/1.1 404 Not Found"));
    close(fd);
    fl_buf_free(&b);
    CHECK(rig_stop(&r));
}

TEST(gossip_metrics_scraped)
{
    rig r;
    rig_find_bin(&r);
    int base = 0;
    for (int attempt = 0; attempt < 50 && !base; attempt++) {
        base = 20000 + rand() % 40000;
        if (!port_free(base) || !port_free(base + 1))
            base = 0;
    }
    CHECK(base != 0);
    char bind[32], metrics[32];
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", base);
    snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", base + 1);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(r.bin, "faultline", "gossip", "--bind", bind, "--metrics", metrics, "--duration",
              "20", (char *)NULL);
        _exit(127);
    }
    fl_buf b;
    fl_buf_init(&b);
    bool got = false;
    for (int i = 0; i < 50 && !got; i++, rig_sleep_ms(100))
        got = scrape(base + 1, &b);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(got);
    const char *t = (const char *)b.data;
    CHECK(prom_valid(t));
    check_promtool(t);
    CHECK(prom_value(t, "faultline_gossip_members") == 1);
    CHECK(prom_value(t, "faultline_gossip_packets_sent_total") >= 0);
    CHECK(prom_value(t, "faultline_gossip_packets_rejected_total") == 0);
    fl_buf_free(&b);
}
