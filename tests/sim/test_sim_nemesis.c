/* test_sim_nemesis.c: property test over many seeds: toy nodes that persist a counter run under
 * a random nemesis (crashes and restarts, random-prefix and torn crash survivors, fsync
 * failures, partitions, lossy links, pauses, slow nodes, clock jumps and drift). Checked: every
 * record that was durable at a crash is there after it, the disk always holds the sequence 1, 2, 3,
 * ..., and two runs of one seed have the same trace hash. */
#include "test.h"

#include "../unit/sim_toy.h"

typedef struct nemesis {
    toy_ctx ctx;
    size_t durable_at_crash[FL_SIM_NODES_MAX + 1];
    int crashes;
    int restarts;
    int violations;
} nemesis;

/* The disk of every node is the sequence 1..count (a torn tail is allowed until restart). */
static int disk_sequential(fl_sim *sim, fl_node_id id, fl_buf *why)
{
    size_t n = fl_sim_disk_count(sim, id);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        uint64_t v;
        fl_sim_disk_record(sim, id, i, &p, &len);
        if (toy_decode(p, len, &v) != 0) {
            if (i + 1 == n && fl_sim_node_state_of(sim, id) == FL_SIM_NODE_DOWN)
                return 0; /* torn tail, not yet seen by the node */
            fl_buf_printf(why, "node %u record %zu of %zu is bad", id, i, n);
            return 1;
        }
        if (v != i + 1) {
            fl_buf_printf(why, "node %u record %zu holds %llu", id, i, (unsigned long long)v);
            return 1;
        }
    }
    return 0;
}

static void act(fl_sim *sim, nemesis *nm)
{
    fl_rng *r = fl_sim_driver_rng(sim);
    uint32_t n = fl_sim_nodes(sim);
    fl_node_id id = (fl_node_id)fl_rng_range(r, 1, n);
    fl_sim_conn m;
    fl_sim_link l;
    fl_sim_dist proc = fl_sim_dist_exp(0, 2 * FL_NS_PER_MS);
    switch (fl_rng_below(r, 10)) {
    case 0:
        if (fl_sim_node_state_of(sim, id) != FL_SIM_NODE_DOWN) {
            nm->durable_at_crash[id] = fl_sim_disk_durable(sim, id);
            fl_sim_crash(sim, id);
            nm->crashes++;
        }
        break;
    case 1:
        if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_DOWN) {
            fl_sim_restart(sim, id);
            nm->restarts++;
            if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_UP &&
                nm->ctx.start_counter[id] < nm->durable_at_crash[id])
                nm->violations++; /* a durable record was lost */
        }
        break;
    case 2:
        fl_sim_conn_random_halves(&m, n, r);
        fl_sim_set_conn(sim, &m);
        break;
    case 3:
        fl_sim_heal(sim);
        break;
    case 4:
        fl_sim_link_get(sim, 1, 2, &l);
        l.loss = fl_rng_double(r) * 0.3;
        l.dup = fl_rng_double(r) * 0.1;
        l.reorder = 0.2;
        l.reorder_ns = 3 * FL_NS_PER_MS;
        l.delay = fl_sim_dist_pareto(100 * FL_NS_PER_US, FL_NS_PER_MS, 2.5);
        fl_sim_link_set_all(sim, &l);
        break;
    case 5:
        if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_UP)
            fl_sim_pause(sim, id);
        else if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_PAUSED)
            fl_sim_resume(sim, id);
        break;
    case 6:
        fl_sim_clock_jump(sim, id, (int64_t)fl_rng_range(r, 0, 20 * FL_NS_PER_MS) - 10000000);
        break;
    case 7:
        fl_sim_clock_set_drift(sim, id, (double)fl_rng_range(r, 0, 2000) - 1000.0);
        break;
    case 8:
        fl_sim_disk_fail_next_sync(sim, id);
        break;
    case 9:
        fl_sim_set_slow(sim, id, fl_rng_chance(r, 0.5) ? &proc : NULL);
        break;
    }
}

static void tick(fl_sim *sim, void *arg)
{
    act(sim, arg);
    fl_sim_schedule(sim, fl_sim_time(sim) + 7 * FL_NS_PER_MS, tick, arg);
}

static void restart_all(fl_sim *sim, nemesis *nm)
{
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
        if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_PAUSED)
            fl_sim_resume(sim, id);
        if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_DOWN)
            fl_sim_restart(sim, id);
    }
}

static int check_disks(void *arg, fl_sim *sim, fl_buf *why)
{
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++)
        if (disk_sequential(sim, id, why))
            return 1;
    return 0;
}

static uint64_t run(uint64_t seed, nemesis *nm)
{
    *nm = (nemesis){.ctx = {.send = true, .persist = true}};
    fl_sim_config c;
    toy_config(&c, &nm->ctx, seed, 5);
    c.crash_mode = FL_SIM_CRASH_RANDOM_PREFIX;
    c.torn = 0.5;
    c.disk_sync = fl_sim_dist_exp(FL_NS_PER_MS, 5 * FL_NS_PER_MS);
    fl_sim *sim = NULL;
    CHECK_EQ(fl_sim_create(&c, &sim, NULL), 0);
    fl_sim_add_check(sim, check_disks, NULL);
    fl_sim_start_all(sim);
    fl_sim_schedule(sim, 5 * FL_NS_PER_MS, tick, nm);
    int rc = fl_sim_run_until(sim, 2 * FL_NS_PER_S);
    if (rc) {
        fl_buf tail;
        fl_buf_init(&tail);
        fl_sim_trace_tail(sim, &tail);
        fprintf(stderr, "seed %llu: %s\n%.*s", (unsigned long long)seed,
                fl_sim_get_violation(sim)->reason, (int)tail.len, (const char *)tail.data);
        fl_buf_free(&tail);
    }
    CHECK_EQ(rc, 0);
    restart_all(sim, nm);
    CHECK_EQ(fl_sim_run_until(sim, 3 * FL_NS_PER_S), 0);
    uint64_t h = fl_sim_trace_hash(sim);
    fl_sim_destroy(sim);
    return h;
}

TEST(sim_nemesis_keeps_durable_records_over_many_seeds)
{
    int crashes = 0, torn = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        nemesis a, b;
        uint64_t h1 = run(seed, &a), h2 = run(seed, &b);
        CHECK(h1 == h2);
        CHECK_EQ(a.violations, 0);
        crashes += a.crashes;
        torn += (int)a.ctx.torn_seen;
    }
    CHECK(crashes > 300);
    CHECK(torn > 30);
}
