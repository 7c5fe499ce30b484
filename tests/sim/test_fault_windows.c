/* test_fault_windows.c: crash-unsynced, the fault that crashes nodes in the window between
 * writing a new term or vote and its sync (run_nemesis.c): it runs beside the other faults
 * (its own lane: the elections that open its windows come from them), crashes again in every
 * window while it lasts, and the schedule a run writes back runs the same crashes again. */
#include "test.h"

#include "faultline/run.h"

#include <string.h>

/* Five nodes, crash-unsynced beside crash-leader (the leader's crash starts the elections
 * whose votes and terms crash-unsynced is after); seed chosen by nothing but being first. */
static void config(fl_run_config *c, uint64_t seed)
{
    fl_run_config_default(c);
    c->seed = seed;
    c->nodes = 5;
    c->duration_ns = 6 * FL_NS_PER_S;
    c->n_faults = 2;
    c->faults[0] = (fl_run_fault){FL_NEMESIS_CRASH_UNSYNCED, 2 * FL_NS_PER_S};
    c->faults[1] = (fl_run_fault){FL_NEMESIS_CRASH_LEADER, 500 * FL_NS_PER_MS};
}

static uint32_t targets_of(const char *t)
{
    uint32_t n = 0;
    for (; *t; t++)
        n += *t == 'n';
    return n;
}

/* Over a few seeds: some crash-unsynced fault overlaps a crash-leader fault (they no longer
 * take turns), and some crashes more than one node (a crash per window, not one per fault). */
TEST(crash_unsynced_runs_beside_crashes_and_crashes_in_every_window)
{
    uint32_t overlaps = 0, repeated = 0, crashed = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fl_run_config c;
        config(&c, seed);
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        CHECK(!r.violation);
        for (size_t i = 0; i < r.n_faults; i++) {
            const fl_observe_fault *u = &r.faults[i];
            if (strcmp(u->kind, "crash-unsynced"))
                continue;
            uint32_t k = targets_of(u->targets);
            crashed += k;
            repeated += k >= 2;
            for (size_t j = 0; j < r.n_faults; j++)
                overlaps += !strcmp(r.faults[j].kind, "crash-leader") &&
                            r.faults[j].start_ns < u->end_ns && u->start_ns < r.faults[j].end_ns;
        }
        fl_run_result_free(&r);
    }
    CHECK(crashed > 0);
    CHECK(overlaps > 0);
    CHECK(repeated > 0);
}

/* The schedule a run writes back (res.schedule), run as an explicit schedule, is the same run:
 * the repeated crashes depend on the recorded restart delay and the nodes' state only. */
TEST(crash_unsynced_written_back_runs_the_same_crashes_again)
{
    fl_run_config c;
    config(&c, 2);
    fl_run_result a, b;
    CHECK_EQ(fl_run(&c, &a), 0);
    uint32_t crashed = 0;
    for (size_t i = 0; i < a.n_faults; i++)
        if (!strcmp(a.faults[i].kind, "crash-unsynced"))
            crashed += targets_of(a.faults[i].targets);
    CHECK(crashed >= 2);
    fl_run_config e = c;
    e.n_faults = 0;
    e.schedule = a.schedule;
    e.n_schedule = (uint32_t)a.n_schedule;
    CHECK_EQ(fl_run(&e, &b), 0);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK_EQ(a.n_faults, b.n_faults);
    for (size_t i = 0; i < a.n_faults && i < b.n_faults; i++)
        CHECK_STR(a.faults[i].targets, b.faults[i].targets);
    fl_run_result_free(&a);
    fl_run_result_free(&b);
}
