/* test_gossip_udp.c: three SWIM agents on real UDP sockets (127.0.0.1, ephemeral ports) in one
 * event loop: they find each other through a seed, then one stops and the others mark it
 * suspect and dead. About 4 s of wall time. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/gossip.h"
#include "faultline/gossip_query.h"
#include "faultline/rng.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static void send_raw(int fd, const fl_addr *to, const uint8_t *p, size_t n)
{
    CHECK_EQ(sendto(fd, p, n, 0, (const struct sockaddr *)&to->ss, to->len), (ssize_t)n);
}

/* A SWIM PING from a made-up member carrying an ALIVE item about itself: what an outsider
 * sends to get listed. */
static size_t forged_ping(uint8_t *p, fl_node_id fake, fl_node_id target)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_swim_encode_header(&b, FL_SWIM_PING, fake, 1, target);
    fl_swim_item it = {.kind = FL_SWIM_ITEM_ALIVE, .id = fake, .inc = 5, .from = fake};
    fl_swim_encode_item(&b, 0, &it);
    size_t n = b.len;
    memcpy(p, b.data, n);
    fl_buf_free(&b);
    return n;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Three agents with the cluster key join by address (ids derived); an agent with another key
 * and one with none join the same seed, and a raw socket sends forged, replayed and random
 * datagrams. The keyed agents converge on exactly themselves and count what they refused. */
TEST(gossip_udp_keyed_join_refuses_outsiders)
{
    SKIP_UNLESS(fl_gossip_auth_available(), "built without libsodium (keyed gossip)");
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    fl_gossip_key key, wrong;
    CHECK_EQ(
        fl_gossip_key_parse((const uint8_t *)"0123456789abcdef0123456789abcdef", 32, &key, NULL),
        0);
    CHECK_EQ(
        fl_gossip_key_parse((const uint8_t *)"0123456789abcdef0123456789abcdeX", 32, &wrong, NULL),
        0);
    static fl_gossip g[5];
    fl_addr seed;
    fl_gossip_config c;
    for (int i = 0; i < 5; i++) {
        cfg(&c, 0); /* id from the address */
        c.swim.n_seeds = 0;
        c.key = i < 3 ? &key : i == 3 ? &wrong : NULL;
        c.join = &seed;
        c.n_join = i > 0;
        CHECK_EQ(fl_gossip_start(&g[i], &loop, &c, NULL), 0);
        if (i == 0)
            CHECK_EQ(fl_gossip_local_addr(&g[0], &seed, NULL), 0);
        CHECK_EQ(g[i].core.cfg.packet_bytes_max,
                 i < 4 ? FL_SWIM_PACKET_BYTES_MAX - FL_GOSSIP_AUTH_BYTES
                       : FL_SWIM_PACKET_BYTES_MAX);
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    uint8_t p[FL_SWIM_PACKET_BYTES_MAX];
    size_t n = forged_ping(p, 777, g[0].core.cfg.id);
    send_raw(fd, &seed, p, n); /* unsealed */
    size_t sealed = fl_gossip_seal(&wrong, p, n, wall_ms());
    send_raw(fd, &seed, p, sealed); /* sealed with another key */
    fl_buf q;
    fl_buf_init(&q);
    fl_gq_encode_header(&q, FL_GQ_STATS, 1, 0, 0, 0);
    memcpy(p, q.data, q.len);
    sealed = fl_gossip_seal(&key, p, q.len, wall_ms());
    send_raw(fd, &seed, p, sealed); /* authentic: answered */
    send_raw(fd, &seed, p, sealed); /* a replay: refused */
    fl_buf_free(&q);
    fl_rng r;
    fl_rng_seed(&r, 11);
    for (int i = 0; i < 300; i++) { /* random bytes, unsealed and sealed with the key */
        size_t len = (size_t)fl_rng_below(&r, 1300);
        for (size_t j = 0; j < len; j++)
            p[j] = (uint8_t)fl_rng_next(&r);
        if (i % 2)
            len = fl_gossip_seal(&key, p, len, wall_ms());
        send_raw(fd, &seed, p, len);
        if (i % 20 == 19) /* let the agent drain its socket: no drops in the kernel */
            run_for(&loop, 5 * MS);
    }
    run_for(&loop, 2000 * MS);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fl_swim_live_count(&g[i].core), 3);
        CHECK_EQ(fl_swim_member_count(&g[i].core), 3);
        CHECK_EQ(state_of(&g[i], 777), FL_SWIM_LEFT); /* unknown */
        CHECK_EQ(state_of(&g[i], g[3].core.cfg.id), FL_SWIM_LEFT);
        CHECK_EQ(state_of(&g[i], g[4].core.cfg.id), FL_SWIM_LEFT);
    }
    CHECK_EQ(fl_swim_member_count(&g[3].core), 1);
    CHECK_EQ(fl_swim_member_count(&g[4].core), 1);
    fprintf(stderr, "seed agent: %llu rejected, %llu replayed, %llu malformed\n",
            (unsigned long long)g[0].rejected, (unsigned long long)g[0].replayed,
            (unsigned long long)g[0].malformed);
    CHECK(g[0].rejected >= 2 + 150 + 2); /* forged x2, random unsealed, the outsiders' WHOIS */
    CHECK_EQ(g[0].replayed, 1);
    CHECK(g[0].malformed >= 100); /* authentic random bytes (a few decode by chance) */
    CHECK(g[0].queries >= 1);
    close(fd);
    for (int i = 0; i < 5; i++)
        fl_gossip_stop(&g[i]);
    fl_loop_close(&loop);
}
