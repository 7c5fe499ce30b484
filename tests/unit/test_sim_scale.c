/* test_sim_scale.c: the simulator with thousands of nodes: links cost memory only where they
 * differ from the default, partition groups, per-node counters and slow-node wake items above
 * the fixed arrays' 64 ids. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/sim.h"

#include <stdlib.h>

#define N 5000

typedef struct ring_ctx {
    uint64_t rx[N + 1];
    uint32_t hops_left;
} ring_ctx;

typedef struct ring_node {
    ring_ctx *ctx;
    fl_sim *sim;
    fl_node_id id;
} ring_node;

static void *ring_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    ring_node *n = calloc(1, sizeof(*n));
    n->ctx = ctx;
    n->sim = sim;
    n->id = id;
    return n;
}

static void ring_stop(void *node)
{
    free(node);
}

/* Passes a token to the next node (id + 1, wrapping). */
static void ring_receive(void *node, fl_node_id from, const uint8_t *msg, size_t len)
{
    ring_node *n = node;
    n->ctx->rx[n->id]++;
    if (n->ctx->hops_left == 0)
        return;
    n->ctx->hops_left--;
    fl_node_id next = n->id % N + 1;
    fl_sim_send(n->sim, n->id, next, msg, len);
}

static void ring_timer(void *node)
{
    ring_node *n = node;
    uint8_t b = 1;
    fl_sim_send(n->sim, n->id, n->id % N + 1, &b, 1);
}

static const fl_sim_proto ring_proto = {.name = "ring",
                                        .start = ring_start,
                                        .stop = ring_stop,
                                        .receive = ring_receive,
                                        .timer = ring_timer};

static void kick(void *node, void *arg)
{
    ring_node *n = node;
    fl_sim_set_timer(n->sim, n->id, fl_sim_now(n->sim, n->id));
}

TEST(sim_runs_thousands_of_nodes)
{
    ring_ctx *ctx = calloc(1, sizeof(*ctx));
    fl_sim_config c;
    fl_sim_config_default(&c);
    c.nodes = N;
    c.proto = &ring_proto;
    c.proto_ctx = ctx;
    c.seed = 3;
    fl_sim *sim;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), 0);
    CHECK_EQ(fl_sim_start_all(sim), 0);
    ctx->hops_left = 3 * N;
    CHECK_EQ(fl_sim_schedule_node(sim, 0, 1, kick, NULL), 0);
    CHECK_EQ(fl_sim_run_until(sim, 20 * FL_NS_PER_S), 0);
    CHECK_EQ(ctx->rx[N], 3);
    CHECK_EQ(ctx->rx[4000], 3);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_delivered, 3 * N + 1);
    CHECK_EQ(fl_sim_get_node_stats(sim, 1)->timers, 1);
    CHECK(fl_sim_get_node_stats(sim, N + 1) == NULL);
    /* a link override on ids far above 64, and the default everywhere else */
    fl_sim_link l;
    CHECK_EQ(fl_sim_link_get(sim, 4000, 4001, &l), 0);
    CHECK(l.up);
    CHECK_EQ(fl_sim_link_up(sim, 4000, 4001, false), 0);
    CHECK_EQ(fl_sim_link_get(sim, 4000, 4001, &l), 0);
    CHECK(!l.up);
    CHECK_EQ(fl_sim_link_get(sim, 4001, 4000, &l), 0);
    CHECK(l.up);
    ctx->hops_left = N;
    CHECK_EQ(fl_sim_schedule_node(sim, fl_sim_time(sim), 3990, kick, NULL), 0);
    CHECK_EQ(fl_sim_run_until(sim, 30 * FL_NS_PER_S), 0);
    CHECK_EQ(ctx->rx[4000], 4);
    CHECK_EQ(ctx->rx[4001], 3); /* the token died on the blocked link */
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_dropped_partition, 1);
    /* groups: node 2000 alone in group 1 */
    fl_sim_heal(sim);
    CHECK_EQ(fl_sim_set_group(sim, 2000, 1), 0);
    CHECK_EQ(fl_sim_group(sim, 2000), 1);
    ctx->hops_left = N;
    CHECK_EQ(fl_sim_schedule_node(sim, fl_sim_time(sim), 1990, kick, NULL), 0);
    CHECK_EQ(fl_sim_run_until(sim, 40 * FL_NS_PER_S), 0);
    CHECK_EQ(ctx->rx[2000], 3);
    CHECK_EQ(ctx->rx[1999], 4);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_dropped_partition, 2);
    /* heal puts everyone back; a slow node above id 256 is woken correctly */
    fl_sim_heal(sim);
    CHECK_EQ(fl_sim_group(sim, 2000), 0);
    fl_sim_dist slow = fl_sim_dist_constant(FL_NS_PER_MS);
    CHECK_EQ(fl_sim_set_slow(sim, 2000, &slow), 0);
    ctx->hops_left = 20;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(fl_sim_schedule_node(sim, fl_sim_time(sim), 1999, kick, NULL), 0);
    CHECK_EQ(fl_sim_run_until(sim, 50 * FL_NS_PER_S), 0);
    CHECK_EQ(ctx->rx[2000], 4); /* one timer: re-arming replaces */
    CHECK_EQ(fl_sim_set_slow(sim, 2000, NULL), 0);
    fl_sim_destroy(sim);
    free(ctx);
}
