/* test_sim_gate.c: the simulator's delivery gate (sim.h, fl_sim_set_gate): a held message
 * stays in flight and arrives when the gate lets it, never dropped or copied; the counters
 * (msgs_held, msgs_holding, msg_delay_max_ns); removing the gate releases what it held; a held
 * message to a node that went down is dropped like any other and stops counting as held. */
#include "test.h"

#include "sim_toy.h"

typedef struct gate_ctx {
    fl_time_ns until_ns; /* messages from node 1 wait until then */
    uint64_t asked;
} gate_ctx;

static fl_time_ns hold_node1(void *arg, const fl_sim *sim, fl_node_id from, fl_node_id to,
                             const uint8_t *msg, size_t len)
{
    gate_ctx *g = arg;
    (void)to, (void)msg, (void)len;
    g->asked++;
    return from == 1 && fl_sim_time(sim) < g->until_ns ? g->until_ns : 0;
}

/* 3 toy nodes sending every 10 ms over 1 ms links, the gate holding node 1's until 50 ms. */
static fl_sim *make(toy_ctx *ctx, gate_ctx *g)
{
    fl_sim_config c;
    toy_config(&c, ctx, 1, 3);
    fl_sim *sim = NULL;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), 0);
    g->until_ns = 50 * FL_NS_PER_MS;
    fl_sim_set_gate(sim, hold_node1, g);
    CHECK_EQ(fl_sim_start_all(sim), 0);
    return sim;
}

TEST(sim_gate_holds_and_then_delivers_everything)
{
    toy_ctx ctx = {.send = true};
    gate_ctx g = {0};
    fl_sim *sim = make(&ctx, &g);
    CHECK_EQ(fl_sim_run_until(sim, 45 * FL_NS_PER_MS), 0);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    CHECK_EQ(ctx.rx[1][2] + ctx.rx[1][3], 0); /* node 1's 8 messages wait */
    CHECK(ctx.rx[2][1] >= 4);                 /* the others' flow */
    CHECK_EQ(s->msgs_held, 8);
    CHECK_EQ(s->msgs_holding, 8);
    CHECK_EQ(fl_sim_run_until(sim, 55 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.rx[1][2], 5); /* ticks at 10..50 ms: all arrived, none lost or copied */
    CHECK_EQ(s->msgs_holding, 0);
    CHECK_EQ(s->msgs_held, 8);
    CHECK_EQ(s->msg_delay_max_ns, 40 * FL_NS_PER_MS); /* sent at 10 ms, delivered at 50 */
    CHECK_EQ(s->msgs_dropped_loss + s->msgs_dropped_partition + s->msgs_dropped_down, 0);
    fl_sim_destroy(sim);
}

TEST(sim_gate_removed_releases_what_it_held)
{
    toy_ctx ctx = {.send = true};
    gate_ctx g = {0};
    fl_sim *sim = make(&ctx, &g);
    CHECK_EQ(fl_sim_run_until(sim, 25 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_holding, 4);
    fl_sim_set_gate(sim, NULL, NULL);
    CHECK_EQ(fl_sim_run_until(sim, 45 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.rx[1][2], 2); /* sent at 30 and 40 ms, ungated; the held two still wait */
    /* the held ones go at the time the gate named (50 ms), no longer counted as held */
    CHECK_EQ(fl_sim_run_until(sim, 55 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.rx[1][2], 5);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_holding, 0);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_held, 4);
    fl_sim_destroy(sim);
}

TEST(sim_gate_held_message_to_a_crashed_node_is_dropped)
{
    toy_ctx ctx = {.send = true};
    gate_ctx g = {0};
    fl_sim *sim = make(&ctx, &g);
    CHECK_EQ(fl_sim_run_until(sim, 25 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_get_stats(sim)->msgs_holding, 4);
    CHECK_EQ(fl_sim_crash(sim, 2), 0);
    CHECK_EQ(fl_sim_run_until(sim, 60 * FL_NS_PER_MS), 0);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    CHECK_EQ(s->msgs_holding, 0);
    CHECK(s->msgs_dropped_down >= 2); /* node 1's held ones to node 2 */
    CHECK_EQ(ctx.rx[1][3], 5);
    fl_sim_destroy(sim);
}
