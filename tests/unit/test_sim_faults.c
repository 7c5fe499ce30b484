/* test_sim_faults.c: process, disk and clock faults of the simulator: crash and restart, lost
 * unsynced writes, torn and corrupted records, fsync failures, pause and resume, clock drift,
 * offsets and jumps, bounded queues. */
#include "test.h"

#include "sim_toy.h"

#include "faultline/assert.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

static fl_sim *make(fl_sim_config *c)
{
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

/* Toy nodes that persist every 10 ms with fsyncs taking 25 ms: at any time a few records are
 * written but not yet durable. */
static fl_sim *persisting(toy_ctx *ctx, uint64_t seed, uint32_t n, fl_sim_crash_mode mode,
                          double torn)
{
    *ctx = (toy_ctx){.persist = true, .send = true};
    fl_sim_config c;
    toy_config(&c, ctx, seed, n);
    c.disk_sync = fl_sim_dist_constant(25 * FL_NS_PER_MS);
    c.crash_mode = mode;
    c.torn = torn;
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    return sim;
}

static uint64_t record_value(fl_sim *sim, fl_node_id id, size_t i)
{
    const uint8_t *p;
    size_t len;
    uint64_t v = 0;
    CHECK_EQ(fl_sim_disk_record(sim, id, i, &p, &len), 0);
    CHECK_EQ(toy_decode(p, len, &v), 0);
    return v;
}

TEST(sim_crash_loses_unsynced_records_and_keeps_synced_ones)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 1, 3, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    CHECK_EQ(fl_sim_run_until(sim, 105 * FL_NS_PER_MS), 0);
    size_t count = fl_sim_disk_count(sim, 1), durable = fl_sim_disk_durable(sim, 1);
    CHECK_EQ(count, 10);
    CHECK_EQ(durable, 8); /* the sync of record 8 (issued at 80 ms) completes at 105 ms */
    CHECK_EQ(fl_sim_crash(sim, 1), 0);
    CHECK_EQ(fl_sim_node_state_of(sim, 1), FL_SIM_NODE_DOWN);
    CHECK(fl_sim_node(sim, 1) == NULL);
    CHECK_STR(fl_sim_reason(sim, 1), "crashed");
    CHECK_EQ(fl_sim_disk_count(sim, 1), 8);
    for (size_t i = 0; i < 8; i++)
        CHECK_EQ(record_value(sim, 1, i), i + 1);
    /* Messages to the crashed node are dropped on arrival; its timer and syncs are gone. */
    CHECK_EQ(fl_sim_run_until(sim, 200 * FL_NS_PER_MS), 0);
    CHECK(fl_sim_get_stats(sim)->msgs_dropped_down > 10);
    CHECK_EQ(fl_sim_disk_count(sim, 1), 8);
    CHECK_EQ(fl_sim_restart(sim, 1), 0);
    CHECK_EQ(ctx.start_counter[1], 8);
    CHECK_EQ(fl_sim_run_until(sim, 215 * FL_NS_PER_MS), 0);
    CHECK_EQ(((toy_node *)fl_sim_node(sim, 1))->counter, 9);
    CHECK_EQ(fl_sim_get_stats(sim)->node[0].crashes, 1);
    CHECK_EQ(fl_sim_get_stats(sim)->node[0].restarts, 1);
    CHECK(fl_sim_get_stats(sim)->node[1].fsyncs >= 8);
    CHECK_EQ(fl_sim_get_stats(sim)->node[1].disk_bytes,
             fl_sim_get_stats(sim)->node[1].disk_writes * TOY_REC_LEN);
    fl_sim_destroy(sim);
}

TEST(sim_crash_random_prefix_and_torn_tail)
{
    int torn_crashes = 0, prefixes = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        toy_ctx ctx;
        fl_sim *sim = persisting(&ctx, seed, 1, FL_SIM_CRASH_RANDOM_PREFIX, 1.0);
        CHECK_EQ(fl_sim_run_until(sim, 105 * FL_NS_PER_MS), 0);
        size_t durable = fl_sim_disk_durable(sim, 1), count = fl_sim_disk_count(sim, 1);
        fl_sim_crash(sim, 1);
        size_t after = fl_sim_disk_count(sim, 1);
        CHECK(after >= durable && after <= count);
        for (size_t i = 0; i < durable; i++)
            CHECK_EQ(record_value(sim, 1, i), i + 1);
        if (after > durable) {
            prefixes++;
            const uint8_t *p;
            size_t len;
            fl_sim_disk_record(sim, 1, after - 1, &p, &len);
            CHECK(len < TOY_REC_LEN); /* torn = 1: the last survivor is cut short */
            torn_crashes++;
            fl_sim_restart(sim, 1);
            CHECK_EQ(ctx.torn_seen, 1); /* the node's checksum found it */
            CHECK_EQ(ctx.start_counter[1], after - 1);
            CHECK_EQ(fl_sim_disk_count(sim, 1), after - 1); /* the node truncated it */
            CHECK_EQ(fl_sim_disk_durable(sim, 1), after - 1);
            CHECK_EQ(fl_sim_node_state_of(sim, 1), FL_SIM_NODE_UP);
        }
        fl_sim_destroy(sim);
    }
    CHECK(prefixes >= 5);
    CHECK(torn_crashes >= 5);
}

TEST(sim_corrupted_record_is_found_by_the_node_at_restart)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 2, 3, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    CHECK_EQ(fl_sim_run_until(sim, 105 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_disk_corrupt(sim, 1, 99, 0, 1), FL_EINVAL);
    CHECK_EQ(fl_sim_disk_corrupt(sim, 1, 8, 0, 1), FL_EINVAL); /* not durable */
    CHECK_EQ(fl_sim_disk_corrupt(sim, 1, 2, 5, 0x10), 0);
    CHECK_EQ(fl_sim_disk_corrupt_random(sim, 2), 0);
    fl_sim_crash(sim, 1);
    fl_sim_crash(sim, 2);
    fl_sim_restart(sim, 1);
    CHECK_EQ(ctx.corrupt_seen, 1);
    CHECK_EQ(fl_sim_node_state_of(sim, 1), FL_SIM_NODE_DOWN);
    CHECK_STR(fl_sim_reason(sim, 1), "corrupt record 2 of 8");
    fl_sim_restart(sim, 2); /* corrupt somewhere: found as corruption or as a torn tail */
    CHECK_EQ(ctx.corrupt_seen + ctx.torn_seen, 2);
    /* A refused node stays down; the run goes on without it. */
    CHECK_EQ(fl_sim_run_until(sim, 300 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_node_state_of(sim, 1), FL_SIM_NODE_DOWN);
    CHECK_EQ(fl_sim_get_stats(sim)->node[0].disk_writes, 10);
    fl_sim_destroy(sim);
}

TEST(sim_fsync_failure_is_reported_and_the_node_exits)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 3, 3, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    CHECK_EQ(fl_sim_run_until(sim, 52 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_disk_fail_next_sync(sim, 2), 0);
    CHECK_EQ(fl_sim_run_until(sim, 200 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.fsync_errors, 1);
    CHECK_EQ(fl_sim_get_stats(sim)->node[1].fsync_failures, 1);
    CHECK_EQ(fl_sim_node_state_of(sim, 2), FL_SIM_NODE_DOWN);
    CHECK_STR(fl_sim_reason(sim, 2), "exit: fsync failed");
    /* Syncs of records 1..5 succeeded; the one of 6 failed at 85 ms, so 6..8 were lost. */
    CHECK_EQ(fl_sim_disk_count(sim, 2), 5);
    CHECK_EQ(fl_sim_node_state_of(sim, 1), FL_SIM_NODE_UP);
    fl_sim_destroy(sim);
}

TEST(sim_slow_fsync_latency_is_per_node)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 4, 2, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    fl_sim_dist slow = fl_sim_dist_constant(500 * FL_NS_PER_MS);
    CHECK_EQ(fl_sim_disk_set_latency(sim, 2, &slow), 0);
    CHECK_EQ(fl_sim_run_until(sim, 400 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_disk_durable(sim, 2), 0);
    CHECK(fl_sim_disk_durable(sim, 1) > 30);
    fl_sim_dist bad = fl_sim_dist_pareto(0, 1, -1);
    CHECK_EQ(fl_sim_disk_set_latency(sim, 2, &bad), FL_EINVAL);
    fl_sim_destroy(sim);
}

static void pause_node2(fl_sim *sim, void *arg)
{
    fl_sim_pause(sim, 2);
}

TEST(sim_pause_defers_delivery_until_resume_in_order)
{
    toy_ctx ctx = {.send = true, .persist = true};
    fl_sim_config c;
    toy_config(&c, &ctx, 6, 2);
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    fl_sim_schedule(sim, 25 * FL_NS_PER_MS, pause_node2, NULL);
    CHECK_EQ(fl_sim_run_until(sim, 100 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_node_state_of(sim, 2), FL_SIM_NODE_PAUSED);
    toy_node *t2 = fl_sim_node(sim, 2);
    CHECK_EQ(t2->counter, 2);  /* ticks at 10 and 20 ms only */
    CHECK_EQ(ctx.rx[1][2], 2); /* counters 1 and 2 arrived (11, 21 ms); 3.. wait */
    CHECK_EQ(ctx.rx[2][1], 2);
    CHECK_EQ(fl_sim_disk_durable(sim, 2), 2); /* the disk keeps working while paused */
    CHECK_EQ(ctx.synced_ok, 2 + 10 - 1);      /* node 1: syncs of 1..9 done; node 2: 1, 2 */
    CHECK_EQ(fl_sim_resume(sim, 2), 0);
    CHECK_EQ(fl_sim_resume(sim, 2), FL_EINVAL);
    CHECK_EQ(fl_sim_run_until(sim, 100 * FL_NS_PER_MS), 0); /* deliveries at resume time */
    CHECK_EQ(ctx.rx[1][2], 9);                              /* counter 10 arrives at 101 ms */
    CHECK_EQ(t2->counter, 3);                               /* one deferred timer firing */
    for (int i = 0; i < ctx.rx_order_count[2]; i++)
        CHECK_EQ(ctx.rx_order[2][i], i + 1);
    fl_sim_destroy(sim);
}

static fl_sim *clocked(toy_ctx *ctx, int64_t offset_ns, double drift_ppm)
{
    *ctx = (toy_ctx){0};
    fl_sim_config c;
    toy_config(&c, ctx, 8, 1);
    c.clock_offset_ns[0] = offset_ns;
    c.clock_drift_ppm[0] = drift_ppm;
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    return sim;
}

TEST(sim_clock_drift_moves_timer_firing_in_global_time)
{
    toy_ctx ctx;
    fl_sim *sim = clocked(&ctx, 0, 100000); /* 10% fast: 10 ms local = 9.0909 ms global */
    CHECK_EQ(fl_sim_run_until(sim, FL_NS_PER_S), 0);
    CHECK_EQ(ctx.fires_ns[0], 9090910);
    CHECK(llabs((long long)ctx.fires_ns[9] - 90909091) <= 10);
    CHECK(llabs((long long)fl_sim_now(sim, 1) - 1100000000) <= 1);
    fl_sim_destroy(sim);

    sim = clocked(&ctx, 0, -50000); /* 5% slow */
    CHECK_EQ(fl_sim_run_until(sim, FL_NS_PER_S), 0);
    CHECK(llabs((long long)ctx.fires_ns[9] - 105263158) <= 10);
    fl_sim_destroy(sim);

    sim = clocked(&ctx, 7 * FL_NS_PER_S, 0); /* an offset moves readings, not intervals */
    CHECK_EQ(fl_sim_now(sim, 1), 7 * FL_NS_PER_S);
    CHECK_EQ(fl_sim_run_until(sim, FL_NS_PER_S), 0);
    CHECK_EQ(ctx.fires_ns[0], 10 * FL_NS_PER_MS);
    CHECK_EQ(ctx.fires_ns[9], 100 * FL_NS_PER_MS);
    fl_sim_destroy(sim);
}

static void jump_node1(fl_sim *sim, void *arg)
{
    fl_sim_clock_jump(sim, 1, *(int64_t *)arg);
}

static void drift_node1(fl_sim *sim, void *arg)
{
    int rc = fl_sim_clock_set_drift(sim, 1, 600000); /* out of range: refused */
    FL_ASSERT(rc == FL_EINVAL);
    fl_sim_clock_set_drift(sim, 1, 250000); /* 25% fast from now on */
}

TEST(sim_clock_jumps_and_drift_changes_replace_the_armed_timer)
{
    toy_ctx ctx;
    fl_sim *sim = clocked(&ctx, 0, 0);
    int64_t fwd = 5 * FL_NS_PER_MS;
    fl_sim_schedule(sim, 3 * FL_NS_PER_MS, jump_node1, &fwd);
    CHECK_EQ(fl_sim_run_until(sim, 30 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.fires_ns[0], 5 * FL_NS_PER_MS); /* local 10 ms reached at global 5 ms */
    CHECK_EQ(ctx.fires_ns[1], 15 * FL_NS_PER_MS);
    fl_sim_destroy(sim);

    sim = clocked(&ctx, 0, 0);
    int64_t back = -5 * (int64_t)FL_NS_PER_MS;
    fl_sim_schedule(sim, 3 * FL_NS_PER_MS, jump_node1, &back);
    CHECK_EQ(fl_sim_run_until(sim, 30 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.fires_ns[0], 15 * FL_NS_PER_MS);
    fl_sim_destroy(sim);

    sim = clocked(&ctx, 0, 0);
    fl_sim_schedule(sim, 2 * FL_NS_PER_MS, drift_node1, NULL);
    CHECK_EQ(fl_sim_run_until(sim, 30 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.fires_ns[0], 8400000); /* 2 ms, then 8 ms local at 1.25x = 6.4 ms */
    fl_sim_destroy(sim);
}

TEST(sim_event_queue_is_bounded_and_refuses_instead_of_asserting)
{
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 10, 8);
    c.events_max = 16;
    c.link.delay = fl_sim_dist_constant(FL_NS_PER_S);
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_run_until(sim, 5 * FL_NS_PER_MS), 0);
    CHECK(fl_sim_get_stats(sim)->msgs_dropped_full > 0);
    CHECK(strstr(fl_sim_error(sim), "event queue full"));
    c.events_max = 8;
    fl_sim *bad = NULL;
    CHECK_EQ(fl_sim_create(&c, &bad, NULL), FL_EINVAL);
    c.events_max = 1024;
    c.msg_bytes_max = 4;
    fl_sim_destroy(sim);
    sim = make(&c);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_send(sim, 1, 2, "12345", 5), FL_ETOOBIG);
    fl_sim_destroy(sim);
}

static int count_records(void *arg, size_t i, const uint8_t *data, size_t len)
{
    uint64_t v;
    if (toy_decode(data, len, &v) != 0 || v != i + 1)
        return -1;
    (*(size_t *)arg)++;
    return 0;
}

TEST(sim_disk_records_iterates_in_order)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 11, 1, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    CHECK_EQ(fl_sim_run_until(sim, 55 * FL_NS_PER_MS), 0);
    size_t n = 0;
    CHECK_EQ(fl_sim_disk_records(sim, 1, count_records, &n), 0);
    CHECK_EQ(n, 5);
    CHECK_EQ(fl_sim_disk_records(sim, 2, count_records, &n), FL_EINVAL);
    fl_sim_destroy(sim);
}

static void *timer_only_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    return ctx;
}
static void nothing(void *node)
{
}
static void nothing_rx(void *node, fl_node_id from, const uint8_t *m, size_t len)
{
}
static int fired;
static void count_fire(void *node)
{
    fired++;
}

TEST(sim_rearming_the_timer_keeps_one_live_event)
{
    static const fl_sim_proto p = {.name = "timer",
                                   .start = timer_only_start,
                                   .stop = nothing,
                                   .receive = nothing_rx,
                                   .timer = count_fire};
    fl_sim_config c;
    fl_sim_config_default(&c);
    c.nodes = 1;
    c.proto = &p;
    c.events_max = 64;
    c.proto_ctx = &c; /* any non-NULL state */
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    fired = 0;
    for (int i = 1000; i <= 11000; i++) /* later and later: no new event */
        CHECK_EQ(fl_sim_set_timer(sim, 1, (fl_time_ns)i * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_pending(sim), 1);
    CHECK_EQ(fl_sim_set_timer(sim, 1, 5 * FL_NS_PER_MS), 0); /* earlier: one new event */
    CHECK_EQ(fl_sim_pending(sim), 2);
    CHECK_EQ(fl_sim_run_until(sim, 20 * FL_NS_PER_S), 0);
    CHECK_EQ(fired, 1);
    CHECK_EQ(fl_sim_get_stats(sim)->events, 1);
    CHECK_EQ(fl_sim_pending(sim), 0);
    CHECK_EQ(fl_sim_set_timer(sim, 1, 30 * FL_NS_PER_S), 0);
    CHECK_EQ(fl_sim_set_timer(sim, 1, FL_TIME_NEVER), 0); /* cancel */
    CHECK_EQ(fl_sim_run_until(sim, 40 * FL_NS_PER_S), 0);
    CHECK_EQ(fired, 1);
    fl_sim_destroy(sim);
}

static void failing_call(fl_sim *sim, void *arg)
{
    FL_ASSERT(arg == NULL);
}

TEST(sim_assert_failure_prints_seed_and_trace_tail)
{
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        toy_ctx ctx = {.send = true};
        fl_sim_config c;
        toy_config(&c, &ctx, 4242, 3);
        fl_sim *sim = make(&c);
        fl_sim_start_all(sim);
        fl_sim_schedule(sim, 35 * FL_NS_PER_MS, failing_call, &ctx);
        fl_sim_run_until(sim, FL_NS_PER_S);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[16384];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof(out) - 1 && (r = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
    CHECK(strstr(out, "assertion failed: arg == NULL"));
    CHECK(strstr(out, "seed 4242"));
    CHECK(strstr(out, "call     node 0"));
    CHECK(strstr(out, "deliver  node 2  from 1"));
}

TEST(sim_lose_unsynced_with_torn_leaves_a_piece_of_the_write_in_progress)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 12, 1, FL_SIM_CRASH_LOSE_UNSYNCED, 1.0);
    CHECK_EQ(fl_sim_run_until(sim, 105 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_disk_durable(sim, 1), 8);
    fl_sim_crash(sim, 1);
    CHECK_EQ(fl_sim_disk_count(sim, 1), 9);
    const uint8_t *p;
    size_t len;
    fl_sim_disk_record(sim, 1, 8, &p, &len);
    CHECK(len < TOY_REC_LEN);
    fl_sim_restart(sim, 1);
    CHECK_EQ(ctx.torn_seen, 1);
    CHECK_EQ(ctx.start_counter[1], 8);
    CHECK_EQ(fl_sim_disk_count(sim, 1), 8);
    fl_sim_destroy(sim);
}

typedef struct request_log {
    int calls;
    int down;
    fl_time_ns at[4];
    uint64_t counter[4];
} request_log;

static void request(void *node, void *arg)
{
    request_log *log = arg;
    if (!node) {
        log->down++;
        return;
    }
    toy_node *t = node;
    log->at[log->calls] = fl_sim_time(t->sim);
    log->counter[log->calls++] = t->counter;
}

static void pause2(fl_sim *sim, void *arg)
{
    fl_sim_pause(sim, 2);
}

static void resume2(fl_sim *sim, void *arg)
{
    fl_sim_resume(sim, 2);
}

static void crash3(fl_sim *sim, void *arg)
{
    fl_sim_crash(sim, 3);
}

TEST(sim_schedule_node_runs_inside_the_node_waits_on_pause_fails_when_down)
{
    toy_ctx ctx = {0};
    fl_sim_config c;
    toy_config(&c, &ctx, 13, 3);
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    request_log log = {0};
    CHECK_EQ(fl_sim_schedule_node(sim, 15 * FL_NS_PER_MS, 1, request, &log), 0);
    fl_sim_schedule(sim, 20 * FL_NS_PER_MS, pause2, NULL);
    CHECK_EQ(fl_sim_schedule_node(sim, 25 * FL_NS_PER_MS, 2, request, &log), 0);
    fl_sim_schedule(sim, 45 * FL_NS_PER_MS, resume2, NULL);
    fl_sim_schedule(sim, 50 * FL_NS_PER_MS, crash3, NULL);
    CHECK_EQ(fl_sim_schedule_node(sim, 55 * FL_NS_PER_MS, 3, request, &log), 0);
    CHECK_EQ(fl_sim_schedule_node(sim, 55 * FL_NS_PER_MS, 9, request, &log), FL_EINVAL);
    CHECK_EQ(fl_sim_run_until(sim, 100 * FL_NS_PER_MS), 0);
    CHECK_EQ(log.calls, 2);
    CHECK_EQ(log.at[0], 15 * FL_NS_PER_MS);
    CHECK_EQ(log.counter[0], 1);
    CHECK_EQ(log.at[1], 45 * FL_NS_PER_MS); /* waited for the resume */
    CHECK_EQ(log.counter[1], 2);            /* after the deferred 20 ms tick: FIFO order */
    CHECK_EQ(log.down, 1);
    /* A request waiting at a paused node that crashes fails. */
    fl_sim_pause(sim, 1);
    CHECK_EQ(fl_sim_schedule_node(sim, 110 * FL_NS_PER_MS, 1, request, &log), 0);
    CHECK_EQ(fl_sim_run_until(sim, 120 * FL_NS_PER_MS), 0);
    CHECK_EQ(log.down, 1);
    fl_sim_crash(sim, 1);
    CHECK_EQ(fl_sim_run_until(sim, 120 * FL_NS_PER_MS), 0);
    CHECK_EQ(log.down, 2);
    CHECK_EQ(log.calls, 2);
    fl_sim_destroy(sim);
}

TEST(sim_lying_fsync_reports_success_but_keeps_nothing)
{
    toy_ctx ctx;
    fl_sim *sim = persisting(&ctx, 14, 1, FL_SIM_CRASH_LOSE_UNSYNCED, 0);
    CHECK_EQ(fl_sim_run_until(sim, 52 * FL_NS_PER_MS), 0); /* syncs of 1, 2 done */
    CHECK_EQ(fl_sim_disk_lie_next_sync(sim, 1), 0);        /* the one issued at 60 ms */
    CHECK_EQ(fl_sim_run_until(sim, 86 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.fsync_errors, 0);
    CHECK_EQ(ctx.synced_ok, 6);
    CHECK_EQ(fl_sim_disk_durable(sim, 1), 5); /* record 6's sync (done at 85 ms) lied */
    fl_sim_destroy(sim);
}

TEST(sim_slow_node_processes_one_event_at_a_time_in_order)
{
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 15, 2);
    fl_sim *sim = make(&c);
    fl_sim_dist five = fl_sim_dist_constant(5 * FL_NS_PER_MS);
    CHECK_EQ(fl_sim_set_slow(sim, 2, &five), 0);
    fl_sim_dist bad = fl_sim_dist_pareto(0, 1, 0);
    CHECK_EQ(fl_sim_set_slow(sim, 2, &bad), FL_EINVAL);
    fl_sim_start_all(sim); /* the start keeps node 2 busy until 5 ms */
    CHECK_EQ(fl_sim_run_until(sim, 100 * FL_NS_PER_MS), 0);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    uint64_t n2 = ctx.rx[1][2] + s->node[1].timers; /* events node 2 processed */
    CHECK(n2 >= 18 && n2 <= 20);                    /* one per 5 ms from 5 ms on */
    CHECK(ctx.rx[2][1] < 20);                       /* it sends only when its timer runs */
    CHECK_EQ(ctx.rx[1][1], 0);
    for (int i = 1; i < ctx.rx_order_count[2]; i++)
        CHECK(ctx.rx_order[2][i] > ctx.rx_order[2][i - 1]);
    CHECK_EQ(fl_sim_set_slow(sim, 2, NULL), 0); /* the backlog drains at once */
    CHECK_EQ(fl_sim_run_until(sim, 200 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.rx[1][2], 199);
    CHECK_EQ(ctx.rx_order_count[2], TOY_FIRES_MAX);
    for (int i = 0; i < ctx.rx_order_count[2]; i++)
        CHECK_EQ(ctx.rx_order[2][i], i + 1);
    fl_sim_destroy(sim);
}

TEST(sim_slow_node_crash_and_pause_drop_or_keep_its_backlog)
{
    toy_ctx ctx = {.send = true, .period_ns = FL_NS_PER_MS};
    fl_sim_config c;
    toy_config(&c, &ctx, 16, 3);
    fl_sim *sim = make(&c);
    fl_sim_dist slow = fl_sim_dist_uniform(2 * FL_NS_PER_MS, 8 * FL_NS_PER_MS);
    CHECK_EQ(fl_sim_set_slow(sim, 3, &slow), 0);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_run_until(sim, 50 * FL_NS_PER_MS), 0);
    fl_sim_pause(sim, 3);
    CHECK_EQ(fl_sim_run_until(sim, 60 * FL_NS_PER_MS), 0);
    fl_sim_resume(sim, 3);
    CHECK_EQ(fl_sim_run_until(sim, 80 * FL_NS_PER_MS), 0);
    uint64_t dropped = fl_sim_get_stats(sim)->msgs_dropped_down;
    fl_sim_crash(sim, 3);
    CHECK(fl_sim_get_stats(sim)->msgs_dropped_down > dropped + 20); /* the backlog */
    fl_sim_restart(sim, 3);
    CHECK_EQ(fl_sim_run_until(sim, 120 * FL_NS_PER_MS), 0);
    CHECK_EQ(fl_sim_node_state_of(sim, 3), FL_SIM_NODE_UP);
    CHECK(((toy_node *)fl_sim_node(sim, 3))->received > 3);
    fl_sim_destroy(sim);
}

static void hold_crash2(fl_sim *sim, void *arg)
{
    fl_sim_crash(sim, 2);
}

/* A node held for its sync (the server's loop in an inline fdatasync) runs nothing but the
 * sync's end: node 2 syncs at every 10 ms tick, each sync taking 25 ms, so the messages of
 * nodes 1 and 3 (sent at 10, 20, 30 ms, arriving 1 ms later) and its own tick of 20 ms wait
 * for the end of the sync of 10 ms (35 ms), then run in their order; a crash while held drops
 * the sync and the hold. */
TEST(sim_hold_defers_everything_but_the_sync_until_it_ends_in_order)
{
    toy_ctx ctx = {.send = true, .persist = true, .hold = 2};
    fl_sim_config c;
    toy_config(&c, &ctx, 17, 3);
    c.disk_sync = fl_sim_dist_constant(25 * FL_NS_PER_MS);
    c.crash_mode = FL_SIM_CRASH_LOSE_UNSYNCED;
    fl_sim *sim = make(&c);
    fl_sim_start_all(sim);
    CHECK_EQ(fl_sim_hold(sim, 9, true), FL_EINVAL);
    CHECK_EQ(fl_sim_run_until(sim, 34 * FL_NS_PER_MS), 0);
    toy_node *t2 = fl_sim_node(sim, 2);
    CHECK(fl_sim_held(sim, 2));
    CHECK(!fl_sim_held(sim, 1));
    CHECK_EQ(ctx.rx[1][2] + ctx.rx[3][2], 0); /* sent at 10, 20, 30 ms: they wait */
    CHECK_EQ(t2->counter, 1);                 /* its tick of 20 ms waits too */
    CHECK_EQ(ctx.rx[1][3], 3);                /* node 3 (not holding) heard 1, 2 and 3 */
    CHECK(fl_sim_backlog(sim, 2));
    CHECK_EQ(fl_sim_get_stats(sim)->events_held, 7); /* six messages and the tick */
    CHECK_EQ(fl_sim_run_until(sim, 35 * FL_NS_PER_MS), 0);
    /* the sync ended at 35 ms: the messages of 11 ms, then the late tick (which holds again) */
    CHECK_EQ(ctx.rx[1][2], 1);
    CHECK_EQ(ctx.rx[3][2], 1);
    CHECK_EQ(t2->counter, 2);
    CHECK(fl_sim_held(sim, 2));
    CHECK_EQ(fl_sim_run_until(sim, 219 * FL_NS_PER_MS), 0);
    CHECK_EQ(ctx.held_calls, 0); /* never a message or a tick while held */
    CHECK(ctx.rx[1][2] > 5 && ctx.rx[1][2] < ctx.rx[1][3]); /* it hears less, later */
    for (int i = 0; i < ctx.rx_order_count[2]; i++) /* nodes 1 and 3 send the same counters */
        CHECK_EQ(ctx.rx_order[2][i], i / 2 + 1);
    /* a crash while held: the sync and the hold are gone; the restarted node runs again */
    CHECK(fl_sim_held(sim, 2));
    size_t durable = fl_sim_disk_durable(sim, 2);
    CHECK(fl_sim_disk_count(sim, 2) > durable);
    fl_sim_schedule(sim, 220 * FL_NS_PER_MS, hold_crash2, NULL);
    CHECK_EQ(fl_sim_run_until(sim, 221 * FL_NS_PER_MS), 0);
    CHECK(!fl_sim_held(sim, 2));
    CHECK(!fl_sim_backlog(sim, 2));
    CHECK_EQ(fl_sim_disk_count(sim, 2), durable); /* what the sync would have made durable */
    ctx.hold = 0;
    CHECK_EQ(fl_sim_restart(sim, 2), 0);
    uint64_t heard = ctx.rx[1][2];
    CHECK_EQ(fl_sim_run_until(sim, 260 * FL_NS_PER_MS), 0);
    CHECK(ctx.rx[1][2] > heard);
    CHECK_EQ(ctx.held_calls, 0);
    fl_sim_destroy(sim);
}
