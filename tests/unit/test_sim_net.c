/* test_sim_net.c: the simulator's event loop, determinism, configuration checks, observers and
 * network model (loss, duplication, reordering, delay distributions, partitions). */
#include "test.h"

#include "sim_toy.h"

#include "faultline/json.h"

#include <math.h>

static fl_sim *make(toy_ctx *ctx, uint64_t seed, uint32_t n, fl_sim_config *c)
{
    fl_sim_config local;
    if (!c) {
        c = &local;
        toy_config(c, ctx, seed, n);
    }
    fl_sim *sim = NULL;
    fl_buf why;
    fl_buf_init(&why);
    int rc = fl_sim_create(c, &sim, &why);
    if (rc)
        fprintf(stderr, "  create: %.*s\n", (int)why.len, (const char *)why.data);
    fl_buf_free(&why);
    CHECK_EQ(rc, 0);
    return sim;
}

static uint64_t run_hash(uint64_t seed)
{
    toy_ctx ctx = {.send = true, .persist = true};
    fl_sim_config c;
    toy_config(&c, &ctx, seed, 5);
    c.link.delay = fl_sim_dist_exp(FL_NS_PER_MS / 2, FL_NS_PER_MS);
    c.link.loss = 0.05;
    c.link.dup = 0.05;
    c.link.reorder = 0.1;
    c.link.reorder_ns = 5 * FL_NS_PER_MS;
    c.disk_sync = fl_sim_dist_uniform(FL_NS_PER_MS, 3 * FL_NS_PER_MS);
    c.crash_mode = FL_SIM_CRASH_RANDOM_PREFIX;
    c.torn = 0.5;
    c.clock_drift_ppm[1] = 200;
    fl_sim *sim = make(&ctx, seed, 5, &c);
    fl_sim_start_all(sim);
    for (int round = 0; round < 10; round++) {
        CHECK_EQ(fl_sim_run_until(sim, fl_sim_time(sim) + 37 * FL_NS_PER_MS), 0);
        fl_node_id victim = (fl_node_id)fl_rng_range(fl_sim_driver_rng(sim), 1, 5);
        fl_sim_crash(sim, victim);
        fl_sim_run_until(sim, fl_sim_time(sim) + 5 * FL_NS_PER_MS);
        fl_sim_restart(sim, victim);
    }
    uint64_t h = fl_sim_trace_hash(sim);
    CHECK(fl_sim_get_stats(sim)->msgs_delivered > 500);
    fl_sim_destroy(sim);
    return h;
}

TEST(sim_same_seed_same_trace_hash)
{
    uint64_t a = run_hash(42), b = run_hash(42), c = run_hash(43);
    CHECK(a == b);
    CHECK(a != c);
}

TEST(sim_refuses_bad_config_with_a_message)
{
    toy_ctx ctx = {0};
    fl_sim_config c;
    fl_sim *sim = NULL;
    fl_buf why;
    fl_buf_init(&why);
    toy_config(&c, &ctx, 1, 0);
    CHECK_EQ(fl_sim_create(&c, &sim, &why), FL_EINVAL);
    CHECK(sim == NULL);
    fl_buf_put_u8(&why, 0);
    CHECK(strstr((const char *)why.data, "nodes = 0 out of range 1..65536"));
    fl_buf_reset(&why);
    toy_config(&c, &ctx, 1, FL_SIM_NODES_LIMIT + 1);
    CHECK_EQ(fl_sim_create(&c, &sim, &why), FL_EINVAL);
    toy_config(&c, &ctx, 1, 3);
    c.link.loss = 1.5;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), FL_EINVAL);
    c.link.loss = NAN;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), FL_EINVAL);
    toy_config(&c, &ctx, 1, 3);
    c.link.delay = fl_sim_dist_pareto(0, 1000, 0);
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), FL_EINVAL);
    toy_config(&c, &ctx, 1, 3);
    c.clock_drift_ppm[2] = 600000;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), FL_EINVAL);
    toy_config(&c, &ctx, 1, 3);
    c.torn = -0.1;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), FL_EINVAL);
    fl_buf_free(&why);

    sim = make(&ctx, 1, 3, NULL);
    CHECK_EQ(fl_sim_send(sim, 1, 4, "x", 1), FL_EINVAL);
    CHECK(strstr(fl_sim_error(sim), "node id 4 out of range"));
    fl_sim_link l;
    CHECK_EQ(fl_sim_link_get(sim, 1, 2, &l), 0);
    l.dup = 2;
    CHECK_EQ(fl_sim_link_set(sim, 1, 2, &l), FL_EINVAL);
    CHECK_EQ(fl_sim_clock_set_drift(sim, 1, -500000), FL_EINVAL);
    CHECK_EQ(fl_sim_schedule(sim, 0, NULL, NULL), FL_EINVAL);
    fl_sim_destroy(sim);
}

static void record_call(fl_sim *sim, void *arg)
{
    int *log = arg;
    log[log[0]++ + 1] = (int)(fl_sim_time(sim) / FL_NS_PER_MS);
}

TEST(sim_schedule_runs_in_time_then_fifo_order)
{
    toy_ctx ctx = {0};
    fl_sim *sim = make(&ctx, 1, 1, NULL);
    int log[8] = {0};
    fl_sim_schedule(sim, 5 * FL_NS_PER_MS, record_call, log);
    fl_sim_schedule(sim, 2 * FL_NS_PER_MS, record_call, log);
    fl_sim_schedule(sim, 5 * FL_NS_PER_MS, record_call, log);
    CHECK_EQ(fl_sim_run_until(sim, 10 * FL_NS_PER_MS), 0);
    CHECK_EQ(log[0], 3);
    CHECK_EQ(log[1], 2);
    CHECK_EQ(log[2], 5);
    CHECK_EQ(fl_sim_time(sim), 10 * FL_NS_PER_MS);
    CHECK_EQ(fl_sim_schedule(sim, FL_NS_PER_MS, record_call, log), FL_EINVAL); /* past */
    fl_sim_destroy(sim);
}

static int check_counter_below(void *arg, fl_sim *sim, fl_buf *why)
{
    toy_node *t = fl_sim_node(sim, 1);
    if (t && t->counter >= *(uint64_t *)arg) {
        fl_buf_printf(why, "node 1 counter reached %llu", (unsigned long long)t->counter);
        return 1;
    }
    return 0;
}

TEST(sim_check_stops_the_run_with_a_recorded_violation)
{
    toy_ctx ctx = {.send = true};
    fl_sim_config c;
    toy_config(&c, &ctx, 7, 3);
    c.trace_verbose = true;
    fl_sim *sim = make(&ctx, 7, 3, &c);
    uint64_t limit = 5;
    fl_sim_add_check(sim, check_counter_below, &limit);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_run_until(sim, FL_NS_PER_S), FL_ESTOPPED);
    const fl_sim_violation *v = fl_sim_get_violation(sim);
    CHECK(v->found);
    CHECK_STR(v->reason, "node 1 counter reached 5");
    CHECK_EQ(v->time_ns, 50 * FL_NS_PER_MS);
    CHECK(v->event > 0);
    CHECK_EQ(fl_sim_step(sim), FL_ESTOPPED);
    fl_buf tail;
    fl_buf_init(&tail);
    fl_sim_trace_tail(sim, &tail);
    fl_buf_put_u8(&tail, 0);
    CHECK(strstr((const char *)tail.data, "timer    node 1   | counter 5"));
    fl_buf_free(&tail);
    fl_sim_destroy(sim);
}

static void run_toy(fl_sim *sim, fl_time_ns t)
{
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_run_until(sim, t), 0);
}

TEST(sim_loss_and_duplication_rates_match_configuration)
{
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 3, 2);
    c.link.loss = 0.2;
    c.link.dup = 0.1;
    fl_sim *sim = make(&ctx, 3, 2, &c);
    run_toy(sim, 20 * FL_NS_PER_S);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    double sent = (double)s->msgs_sent;
    CHECK(sent > 39000);
    double loss = (double)s->msgs_dropped_loss / sent;
    double dup = (double)s->msgs_duplicated / (sent - (double)s->msgs_dropped_loss);
    CHECK(fabs(loss - 0.2) < 0.015);
    CHECK(fabs(dup - 0.1) < 0.015);
    /* every copy in flight is eventually delivered: sent - lost + duplicated - in flight */
    CHECK(s->msgs_delivered <= s->msgs_sent - s->msgs_dropped_loss + s->msgs_duplicated);
    CHECK(s->msgs_delivered + 10 >= s->msgs_sent - s->msgs_dropped_loss + s->msgs_duplicated);
    fl_sim_destroy(sim);
}

static double mean_delay(const fl_sim_dist *d, uint64_t seed)
{
    fl_rng r;
    fl_rng_seed(&r, seed);
    double sum = 0;
    int n = 200000;
    for (int i = 0; i < n; i++)
        sum += (double)fl_sim_dist_sample(d, &r);
    return sum / n;
}

TEST(sim_delay_distributions_have_the_configured_mean)
{
    fl_sim_dist d[4] = {
        fl_sim_dist_constant(700000),
        fl_sim_dist_uniform(1000000, 3000000),
        fl_sim_dist_exp(500000, 2000000),
        fl_sim_dist_pareto(100000, 1000000, 3.0),
    };
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(fl_sim_dist_check(&d[i], NULL), 0);
        double want = fl_sim_dist_mean(&d[i]), got = mean_delay(&d[i], 11 + (uint64_t)i);
        if (fabs(got - want) > 0.02 * want)
            fprintf(stderr, "  dist %d: mean %g want %g\n", i, got, want);
        CHECK(fabs(got - want) <= 0.02 * want);
    }
    CHECK_EQ((long long)fl_sim_dist_mean(&d[3]), 600000);
    fl_sim_dist capped = fl_sim_dist_pareto(0, 1000000, 0.5);
    capped.cap_ns = 50 * FL_NS_PER_MS;
    fl_rng r;
    fl_rng_seed(&r, 5);
    for (int i = 0; i < 10000; i++)
        CHECK(fl_sim_dist_sample(&capped, &r) <= capped.cap_ns);
}

TEST(sim_network_delay_mean_seen_end_to_end)
{
    /* Node 1 sends its tick number every ms; arrival - tick time is the sampled delay. */
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 9, 2);
    c.link.delay = fl_sim_dist_exp(0, 4 * FL_NS_PER_MS);
    fl_sim *sim = make(&ctx, 9, 2, &c);
    fl_sim_link off;
    fl_sim_link_get(sim, 2, 1, &off);
    off.up = false;
    fl_sim_link_set(sim, 2, 1, &off);
    run_toy(sim, 10 * FL_NS_PER_S);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    CHECK_EQ(s->msgs_dropped_partition, 10000); /* 2 -> 1 is down */
    CHECK(ctx.delay_n > 9900);
    double mean = ctx.delay_sum_ns / (double)ctx.delay_n;
    CHECK(fabs(mean - 4e6) < 0.04 * 4e6);
    fl_sim_destroy(sim);
}

TEST(sim_reordering_changes_arrival_order)
{
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 4, 2);
    fl_sim *sim = make(&ctx, 4, 2, &c);
    run_toy(sim, 60 * FL_NS_PER_MS);
    for (int i = 1; i < ctx.rx_order_count[2]; i++) /* constant delay: FIFO */
        CHECK(ctx.rx_order[2][i] > ctx.rx_order[2][i - 1]);
    fl_sim_destroy(sim);

    toy_ctx ctx2 = {.send = true, .period_ns = FL_NS_PER_MS};
    toy_config(&c, &ctx2, 4, 2);
    c.link.reorder = 0.5;
    c.link.reorder_ns = 5 * FL_NS_PER_MS;
    sim = make(&ctx2, 4, 2, &c);
    run_toy(sim, 60 * FL_NS_PER_MS);
    int inversions = 0;
    for (int i = 1; i < ctx2.rx_order_count[2]; i++)
        inversions += ctx2.rx_order[2][i] < ctx2.rx_order[2][i - 1];
    CHECK(inversions > 3);
    CHECK(fl_sim_get_stats(sim)->msgs_reordered > 10);
    fl_sim_destroy(sim);
}

static void check_matrix_blocks_exactly(const fl_sim_conn *m, uint32_t n)
{
    toy_ctx ctx = {.send = true};
    fl_sim *sim = make(&ctx, 5, n, NULL);
    CHECK_EQ(fl_sim_set_conn(sim, m), 0);
    run_toy(sim, 100 * FL_NS_PER_MS);
    for (fl_node_id a = 1; a <= n; a++)
        for (fl_node_id b = 1; b <= n; b++)
            if (a != b)
                CHECK_EQ(ctx.rx[a][b] > 0, fl_sim_conn_can(m, a, b));
    CHECK_EQ(fl_sim_heal(sim), 0);
    memset(ctx.rx, 0, sizeof(ctx.rx));
    CHECK_EQ(fl_sim_run_until(sim, 200 * FL_NS_PER_MS), 0);
    for (fl_node_id a = 1; a <= n; a++)
        for (fl_node_id b = 1; b <= n; b++)
            if (a != b)
                CHECK(ctx.rx[a][b] > 0);
    fl_sim_destroy(sim);
}

static int conn_count(const fl_sim_conn *m, fl_node_id a)
{
    int k = 0;
    for (fl_node_id b = 1; b <= m->n; b++)
        k += fl_sim_conn_can(m, a, b);
    return k;
}

TEST(sim_partitions_block_exactly_the_blocked_directed_links)
{
    fl_sim_conn m;
    fl_sim_conn_one_way(&m, 3, 1, 2);
    CHECK(!fl_sim_conn_can(&m, 1, 2));
    CHECK(fl_sim_conn_can(&m, 2, 1));
    check_matrix_blocks_exactly(&m, 3);

    fl_sim_conn_halves(&m, 5);
    CHECK(fl_sim_conn_can(&m, 1, 2) && !fl_sim_conn_can(&m, 2, 3) && fl_sim_conn_can(&m, 3, 5));
    check_matrix_blocks_exactly(&m, 5);

    fl_sim_conn_isolate(&m, 4, 3);
    CHECK_EQ(conn_count(&m, 3), 1);
    check_matrix_blocks_exactly(&m, 4);

    fl_rng r;
    fl_rng_seed(&r, 99);
    fl_sim_conn_random_halves(&m, 6, &r);
    for (fl_node_id a = 1; a <= 6; a++)
        CHECK_EQ(conn_count(&m, a), 3);
    check_matrix_blocks_exactly(&m, 6);

    fl_sim_conn_bridge(&m, 5, 3);
    CHECK_EQ(conn_count(&m, 3), 5);
    CHECK(fl_sim_conn_can(&m, 1, 3) && !fl_sim_conn_can(&m, 1, 4));
    check_matrix_blocks_exactly(&m, 5);

    fl_sim_conn_majorities_ring(&m, 5);
    for (fl_node_id a = 1; a <= 5; a++) {
        CHECK_EQ(conn_count(&m, a), 3);
        for (fl_node_id b = 1; b < a; b++)
            CHECK(m.can[a - 1] != m.can[b - 1]);
    }
    check_matrix_blocks_exactly(&m, 5);
}

TEST(sim_many_sims_in_one_process_are_independent)
{
    toy_ctx c1 = {.send = true}, c2 = {.send = true};
    fl_sim *a = make(&c1, 77, 3, NULL), *b = make(&c2, 77, 3, NULL);
    fl_sim_start_all(a);
    fl_sim_start_all(b);
    for (int i = 0; i < 50; i++) { /* interleave the two */
        fl_sim_run_until(a, (fl_time_ns)(i + 1) * FL_NS_PER_MS);
        fl_sim_run_until(b, (fl_time_ns)(i + 1) * FL_NS_PER_MS);
    }
    CHECK(fl_sim_trace_hash(a) == fl_sim_trace_hash(b));
    fl_sim_destroy(a);
    fl_sim_destroy(b);
}

TEST(sim_partition_builders_refuse_bad_input)
{
    fl_sim_conn m;
    CHECK_EQ(fl_sim_conn_full(&m, 0), FL_EINVAL);
    CHECK_EQ(fl_sim_conn_halves(&m, 65), FL_EINVAL);
    CHECK_EQ(fl_sim_conn_isolate(&m, 3, 4), FL_EINVAL);
    CHECK_EQ(m.n, 0);
    CHECK_EQ(fl_sim_conn_bridge(&m, 3, 0), FL_EINVAL);
    CHECK_EQ(fl_sim_conn_one_way(&m, 3, 1, 9), FL_EINVAL);
    CHECK(!fl_sim_conn_can(&m, 1, 2));
    toy_ctx ctx = {0};
    fl_sim *sim = make(&ctx, 1, 3, NULL);
    CHECK_EQ(fl_sim_set_conn(sim, &m), FL_EINVAL);
    CHECK(strstr(fl_sim_error(sim), "matrix for 0 nodes"));
    CHECK_EQ(fl_sim_conn_full(&m, 64), 0);
    CHECK(fl_sim_conn_can(&m, 64, 1) && fl_sim_conn_can(&m, 1, 64));
    CHECK_EQ(fl_sim_conn_block(&m, 1, 64), 0);
    CHECK(!fl_sim_conn_can(&m, 1, 64) && fl_sim_conn_can(&m, 64, 1));
    fl_sim_destroy(sim);
}

TEST(sim_stats_json_has_every_counter)
{
    toy_ctx ctx = {.send = true, .persist = true};
    fl_sim *sim = make(&ctx, 21, 2, NULL);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_run_until(sim, 100 * FL_NS_PER_MS), 0);
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, false);
    fl_sim_stats_json(sim, &j);
    fl_buf_put_u8(&b, 0);
    CHECK_EQ(b.err, 0);
    const char *s = (const char *)b.data;
    CHECK(strstr(s, "\"seed\":21"));
    CHECK(strstr(s, "\"msgs_delivered\":18"));
    CHECK(strstr(s, "\"per_node\":[{\"id\":1,\"state\":\"up\""));
    CHECK(strstr(s, "\"fsyncs\":"));
    CHECK(!strstr(s, "violation"));
    fl_buf_free(&b);
    fl_sim_destroy(sim);
}
