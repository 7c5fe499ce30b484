/* test_peer.c: the peer transport (peer.h) on a real loop over loopback: what it does when
 * the loop cannot give it a timer. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/peer.h"

#include <unistd.h>

static int fatal_code;
static char fatal_what[128];

static void on_frame(void *arg, fl_node_id from, uint8_t type, const uint8_t *p, size_t len)
{
    (void)arg, (void)from, (void)type, (void)p, (void)len;
}

static void on_fatal(void *arg, int code, const char *what)
{
    (void)arg;
    fatal_code = code;
    snprintf(fatal_what, sizeof(fatal_what), "%s", what);
}

static void idle(fl_loop *loop, void *arg)
{
    (void)loop, (void)arg;
}

/* A loopback address nobody listens on: bound, then closed. */
static void closed_addr(fl_addr *a)
{
    fl_errmsg m;
    int fd = -1;
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", a, &m), 0);
    CHECK_EQ(fl_net_listen(a, 1, &fd, &m), 0);
    CHECK_EQ(fl_net_local_addr(fd, a, &m), 0);
    close(fd);
}

/* The connection to the other node is refused; its retry needs a timer and the loop has
 * none left: the owner must hear of it (before, the peer was silently never retried). */
TEST(peer_that_cannot_arm_its_reconnect_timer_reports_it)
{
    fl_loop loop;
    fl_loop_config lc = {.timers_max = 4};
    fl_errmsg m;
    CHECK_EQ(fl_loop_init(&loop, &lc, &m), 0);
    fl_peers_config pc = {.cluster_id = 1, .self = 1, .n = 2, .fatal = on_fatal};
    pc.ids[0] = 1;
    pc.ids[1] = 2;
    closed_addr(&pc.addrs[0]); /* our own listener takes this port again */
    closed_addr(&pc.addrs[1]);
    for (int i = 0; i < 3; i++) /* the peers' hello sweep takes the last one */
        CHECK_EQ(fl_loop_timer_start(&loop, 3600 * FL_NS_PER_S, idle, NULL, NULL), 0);
    fl_peers ps;
    fatal_code = 0;
    CHECK_EQ(fl_peers_init(&ps, &loop, &pc, on_frame, NULL, &m), 0);
    for (int i = 0; i < 200 && !fatal_code; i++)
        CHECK_EQ(fl_loop_run_once(&loop, 5 * FL_NS_PER_MS), 0);
    CHECK_EQ(fatal_code, FL_EFULL);
    CHECK(strstr(fatal_what, "reconnect") != NULL);
    fl_peers_close(&ps);
    fl_loop_close(&loop);
}
