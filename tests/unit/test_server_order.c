/* test_server_order.c: real nodes on loopback. Commands pipelined on one connection take
 * effect in the order sent, at the leader and at a follower (kv_order.h), and a node with
 * the planted reordering bug (--fault-reorder-reads 1) is caught by the same check; with
 * --maxclients the next client gets Redis's error; with --timeout an idle client is closed
 * and a busy one is not. */
#include "server_rig.h"

#include "faultline/buf.h"

/* Sends ROUNDS x (SET k i, GET k, INCR c, GET c) in one write on a fresh connection to port
 * and counts the replies that do not follow from the order sent. */
#define ROUNDS 60
static int pipeline_mismatches(int port, const char *key)
{
    int fd = rc_connect(port);
    CHECK(fd >= 0);
    fl_buf b;
    fl_buf_init(&b);
    char k[32], c[32], v[16];
    snprintf(k, sizeof(k), "%s:k", key);
    snprintf(c, sizeof(c), "%s:c", key);
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(v, sizeof(v), "%d", i);
        fl_buf_printf(&b, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(k), k,
                      strlen(v), v);
        fl_buf_printf(&b, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(k), k);
        fl_buf_printf(&b, "*2\r\n$4\r\nINCR\r\n$%zu\r\n%s\r\n", strlen(c), c);
        fl_buf_printf(&b, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(c), c);
    }
    CHECK(rc_write(fd, b.data, b.len));
    fl_buf_free(&b);
    int bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char out[256], want[32];
        CHECK(rc_reply(fd, out, sizeof(out)));
        bad += strcmp(out, "+OK") != 0;
        CHECK(rc_reply(fd, out, sizeof(out)));
        snprintf(want, sizeof(want), "$%d", i);
        bad += strcmp(out, want) != 0; /* the GET sees the SET before it */
        CHECK(rc_reply(fd, out, sizeof(out)));
        snprintf(want, sizeof(want), ":%d", i + 1);
        bad += strcmp(out, want) != 0;
        CHECK(rc_reply(fd, out, sizeof(out)));
        snprintf(want, sizeof(want), "$%d", i + 1);
        bad += strcmp(out, want) != 0; /* and the INCR before it */
    }
    close(fd);
    return bad;
}

static int follower_of(rig *r, int leader)
{
    return leader == 1 ? 2 : 1;
}

TEST(server_pipelined_commands_take_effect_in_order)
{
    static rig r;
    rig_init(&r, 3);
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader > 0);
    CHECK(rig_set(&r, follower_of(&r, leader), "warm", "1", 5000));
    CHECK_EQ(pipeline_mismatches(r.client_port[leader], "l"), 0);
    CHECK_EQ(pipeline_mismatches(r.client_port[follower_of(&r, leader)], "f"), 0);
    CHECK(rig_stop(&r));
}

/* The same check against nodes whose reads overtake their connection's writes: it fails. */
TEST(server_pipeline_order_check_catches_reordering_mutant)
{
    static rig r;
    rig_init(&r, 3);
    r.extra[0] = "--fault-reorder-reads";
    r.extra[1] = "1";
    for (int i = 1; i <= 3; i++)
        rig_start(&r, i);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader > 0);
    CHECK(rig_set(&r, follower_of(&r, leader), "warm", "1", 5000));
    int bad = 0;
    for (int t = 0; t < 5 && !bad; t++) {
        char key[16];
        snprintf(key, sizeof(key), "m%d", t);
        bad = pipeline_mismatches(r.client_port[follower_of(&r, leader)], key);
    }
    printf("mutant: %d replies out of order at the follower\n", bad);
    CHECK(bad > 0);
    CHECK(rig_stop(&r));
}

TEST(server_maxclients_says_so_before_closing)
{
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--maxclients";
    r.extra[1] = "4";
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    int fds[4];
    char out[256];
    for (int i = 0; i < 4; i++) {
        fds[i] = rc_connect(r.client_port[1]);
        CHECK(fds[i] >= 0);
        CHECK(rc_send(fds[i], "PING", NULL) && rc_reply(fds[i], out, sizeof(out)));
        CHECK_STR(out, "+PONG");
    }
    int extra = rc_connect(r.client_port[1]);
    CHECK(extra >= 0);
    CHECK(rc_reply(extra, out, sizeof(out)));
    CHECK_STR(out, "-ERR max number of clients reached");
    char c;
    CHECK(recv(extra, &c, 1, 0) == 0); /* then closed */
    close(extra);
    close(fds[0]);
    rig_sleep_ms(200); /* a slot is free again */
    extra = rc_connect(r.client_port[1]);
    CHECK(rc_send(extra, "PING", NULL) && rc_reply(extra, out, sizeof(out)));
    CHECK_STR(out, "+PONG");
    close(extra);
    for (int i = 1; i < 4; i++)
        close(fds[i]);
    CHECK(rig_stop(&r));
}

TEST(server_timeout_closes_idle_clients_only)
{
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--timeout";
    r.extra[1] = "1";
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    int idle = rc_connect(r.client_port[1]), busy = rc_connect(r.client_port[1]);
    char out[256];
    CHECK(idle >= 0 && busy >= 0);
    CHECK(rc_send(idle, "PING", NULL) && rc_reply(idle, out, sizeof(out)));
    for (int i = 0; i < 10; i++) { /* 2.5 s: the busy one talks every 250 ms */
        CHECK(rc_send(busy, "PING", NULL) && rc_reply(busy, out, sizeof(out)));
        CHECK_STR(out, "+PONG");
        rig_sleep_ms(250);
    }
    char c;
    CHECK(recv(idle, &c, 1, 0) == 0); /* closed by the server */
    close(idle);
    close(busy);
    CHECK(rig_stop(&r));
}
