/* test_snapshot_watchdog.c: the hosts' snapshot watchdog (host.h snapshot_timeout_ns) in the
 * simulator. The fork-hang fault makes a node's next snapshot job never end, as the server's
 * forked child hung on a lock inherited across fork (session 7); the watchdog gives it up
 * through env.snapshot_cancel, as the server kills its child, and the node snapshots again
 * later. Without it (timeout 0) the node never snapshots again and its log only grows. Every
 * run is checked as usual (linearizability, the replicas' kv, state machine safety). */
#include "test.h"

#include "faultline/run.h"
#include "faultline/scenario.h"

#include <string.h>

/* Three nodes of the kv workload, a snapshot every 50 applied entries, node 2's next job hung
 * from 1 s on; the watchdog at timeout (0: off). */
static void config(fl_run_config *c, fl_run_fault_spec *hang, fl_time_ns timeout)
{
    fl_run_config_default(c);
    c->seed = 1;
    c->nodes = 3;
    c->workload = FL_RUN_KV;
    c->duration_ns = 8 * FL_NS_PER_S;
    c->snapshot_every = 50;
    c->snapshot_timeout_ns = timeout;
    *hang = (fl_run_fault_spec){.start_ns = FL_NS_PER_S,
                                .length_ns = FL_NS_PER_S,
                                .kind = FL_NEMESIS_FORK_HANG,
                                .set = FL_RUN_SPEC_TARGETS,
                                .nodes = 1u << 2};
    c->schedule = hang;
    c->n_schedule = 1;
}

static void run_ok(const fl_run_config *c, fl_run_result *r)
{
    CHECK_EQ(fl_run(c, r), 0);
    CHECK(!r->violation);
    if (r->violation)
        printf("violation: %s\n", r->violation_reason);
    CHECK(r->live);
}

/* With a 2 s watchdog: the hung job is given up once, and the node takes a snapshot after
 * it; its log stays near the others'. With the watchdog off, the same world: the job stays
 * hung to the end, no snapshot follows, and the node's log grows past four intervals. */
TEST(sim_hung_snapshot_is_given_up_and_a_later_one_completes)
{
    fl_run_config c;
    fl_run_fault_spec hang;
    fl_run_result on, off;
    config(&c, &hang, 2 * FL_NS_PER_S);
    run_ok(&c, &on);
    CHECK_EQ(on.snapshot_jobs_hung, 1);
    CHECK_EQ(on.snapshot_timeouts, 1);
    CHECK(on.snapshots_after_timeout >= 1);
    config(&c, &hang, 0);
    run_ok(&c, &off);
    CHECK_EQ(off.snapshot_jobs_hung, 1);
    CHECK_EQ(off.snapshot_timeouts, 0);
    CHECK_EQ(off.snapshots_after_timeout, 0);
    printf("log entries max: watchdog %llu, off %llu\n", (unsigned long long)on.log_entries_max,
           (unsigned long long)off.log_entries_max);
    CHECK(off.log_entries_max > 4 * 50);
    CHECK(on.log_entries_max < off.log_entries_max / 2);
    fl_run_result_free(&on);
    fl_run_result_free(&off);
}

/* The schedule a run writes back names the node it hung: run again, the same run. */
TEST(sim_fork_hang_written_back_runs_the_same_again)
{
    fl_run_config c;
    fl_run_fault_spec hang;
    fl_run_result a, b;
    config(&c, &hang, 2 * FL_NS_PER_S);
    hang.set = 0; /* a random node, chosen by the run */
    run_ok(&c, &a);
    CHECK_EQ(a.n_schedule, 1);
    CHECK(a.n_schedule == 1 && a.schedule[0].set & FL_RUN_SPEC_TARGETS);
    c.schedule = a.schedule;
    run_ok(&c, &b);
    CHECK_EQ(a.trace_hash, b.trace_hash);
    CHECK_EQ(b.snapshot_timeouts, a.snapshot_timeouts);
    fl_run_result_free(&a);
    fl_run_result_free(&b);
}

/* A watchdog that never fires moves nothing: a world without fork-hang (mix: crashes,
 * partitions, pauses...; clock-offset: node clocks jumping back and forth, which once wrapped
 * the watchdog's wait and fired it; snapshots every 50 entries) runs the same events with it
 * on and off. */
TEST(sim_watchdog_that_never_fires_changes_no_trajectory)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.nemesis = seed <= 3 ? FL_NEMESIS_MIX : FL_NEMESIS_CLOCK_OFFSET;
        c.nemesis_interval_ns = 500 * FL_NS_PER_MS;
        c.duration_ns = 4 * FL_NS_PER_S;
        c.snapshot_every = 50;
        fl_run_result on, off;
        run_ok(&c, &on);
        c.snapshot_timeout_ns = 0;
        run_ok(&c, &off);
        CHECK_EQ(on.trace_hash, off.trace_hash);
        CHECK_EQ(on.snapshot_timeouts, 0);
        fl_run_result_free(&on);
        fl_run_result_free(&off);
    }
}

/* A scenario's fork-hang (the nemesis's kind, refused by the simulator before it had one)
 * runs in the simulator, with the watchdog the file names; written back, the scenario says
 * the same again (the timeout, the node hung). */
TEST(sim_scenario_fork_hang_runs_in_the_simulator_and_writes_back)
{
    if (!fl_scenario_readable())
        return; /* no libyaml: test_scenario checks the refusal */
    static const char text[] = "version: 1\n"
                               "seed: 1\n"
                               "duration: 8s\n"
                               "cluster: {nodes: 3, snapshot_every: 50, snapshot_timeout: 2s}\n"
                               "workload: {kind: kv}\n"
                               "faults:\n"
                               "  schedule:\n"
                               "    - {start: 1s, length: 1s, kind: fork-hang, targets: [2]}\n";
    fl_scenario s;
    char err[FL_SCENARIO_ERR_MAX];
    CHECK_EQ(fl_scenario_parse(&s, "h.yaml", text, strlen(text), err, sizeof(err)), 0);
    CHECK_EQ(fl_scenario_for_sim(&s, err, sizeof(err)), 0);
    CHECK_EQ(s.run.snapshot_timeout_ns, 2 * FL_NS_PER_S);
    fl_run_result r;
    run_ok(&s.run, &r);
    CHECK_EQ(r.snapshot_jobs_hung, 1);
    CHECK_EQ(r.snapshot_timeouts, 1);
    CHECK(r.snapshots_after_timeout >= 1);
    fl_run_config c;
    fl_run_fault_spec hang;
    config(&c, &hang, 2 * FL_NS_PER_S);
    fl_run_result direct;
    run_ok(&c, &direct);
    CHECK_EQ(r.trace_hash, direct.trace_hash); /* the same world as test 1's */
    fl_scenario back;
    fl_buf out;
    fl_buf_init(&out);
    CHECK_EQ(fl_scenario_from_run(&back, &s.run, r.schedule, r.n_schedule), 0);
    CHECK_EQ(fl_scenario_write(&back, NULL, &out), 0);
    fl_buf_put_u8(&out, 0);
    CHECK(strstr((const char *)out.data, "snapshot_timeout: 2s") != NULL);
    CHECK(strstr((const char *)out.data, "kind: fork-hang, targets: [2]") != NULL);
    fl_buf_free(&out);
    fl_scenario_free(&back);
    fl_run_result_free(&direct);
    fl_run_result_free(&r);
    fl_scenario_free(&s);
}
