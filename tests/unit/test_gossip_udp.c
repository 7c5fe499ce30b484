/* test_gossip_udp.c: three SWIM agents on real UDP sockets (127.0.0.1, ephemeral ports) in one
 * event loop: they find each other through a seed, then one stops and the others mark it
 * suspect and dead. About 4 s of wall time. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/gossip.h"

#define MS FL_NS_PER_MS

static void run_for(fl_loop *loop, fl_time_ns ns)
{
    fl_time_ns end = fl_loop_update_now(loop) + ns;
    while (fl_loop_update_now(loop) < end)
        CHECK_EQ(fl_loop_run_once(loop, 10 * MS), 0);
}

static void cfg(fl_gossip_config *c, fl_node_id id)
{
    memset(c, 0, sizeof(*c));
    fl_swim_config_default(&c->swim);
    c->swim.id = id;
    c->swim.probe_interval_ns = 100 * MS;
    c->swim.probe_timeout_ns = 40 * MS;
    c->swim.seeds[0] = 1;
    c->swim.n_seeds = 1;
    c->seed = id;
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &c->bind, NULL), 0);
}

static fl_swim_state state_of(const fl_gossip *g, fl_node_id id)
{
    fl_swim_state st = FL_SWIM_ALIVE;
    if (fl_swim_member(&g->core, id, &st, NULL) != 0)
        return FL_SWIM_LEFT; /* unknown: not alive either */
    return st;
}

TEST(gossip_udp_three_agents)
{
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    fl_gossip g[3];
    fl_gossip_peer peers[2];
    fl_gossip_config c;
    fl_errmsg m;
    for (int i = 0; i < 3; i++) {
        cfg(&c, (fl_node_id)(i + 1));
        c.peers = peers;
        c.n_peers = (uint32_t)i; /* agent i knows the agents before it */
        CHECK_EQ(fl_gossip_start(&g[i], &loop, &c, &m), 0);
        peers[i < 2 ? i : 1].id = (fl_node_id)(i + 1);
        if (i < 2)
            CHECK_EQ(fl_gossip_local_addr(&g[i], &peers[i].addr, NULL), 0);
    }
    run_for(&loop, 1500 * MS);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fl_swim_live_count(&g[i].core), 3);
        CHECK(g[i].sent > 0);
        CHECK(g[i].received > 0);
    }
    /* a user broadcast reaches the others */
    CHECK_EQ(fl_gossip_broadcast(&g[0], "hello", 5), 0);
    run_for(&loop, 500 * MS);
    CHECK_EQ(fl_swim_get_stats(&g[1].core)->user_delivered, 1);
    CHECK_EQ(fl_swim_get_stats(&g[2].core)->user_delivered, 1);
    /* agent 3 dies: both others mark it dead */
    fl_gossip_stop(&g[2]);
    run_for(&loop, 4000 * MS);
    CHECK_EQ(state_of(&g[0], 3), FL_SWIM_DEAD);
    CHECK_EQ(state_of(&g[1], 3), FL_SWIM_DEAD);
    CHECK(state_of(&g[0], 2) != FL_SWIM_DEAD);
    fl_gossip_stop(&g[0]);
    fl_gossip_stop(&g[1]);
    fl_loop_close(&loop);
}
