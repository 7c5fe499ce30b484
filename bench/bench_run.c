/* bench_run.c: issue 3's targets. (1) one 60 s virtual run of a 5-node cluster with 20
 * clients under the full nemesis mix: CPU time of the run and of its linearizability check
 * (goal: the run under 1 s); (2) with an argument N, N such runs of 10 s (seeds 1..N), the
 * campaign's per-seed cost. CPU time is reported because the wall clock of a shared machine
 * says little. */
#include "faultline/lincheck.h"
#include "faultline/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t snapshot_every = 1000; /* FL_BENCH_SNAPSHOT_EVERY overrides (0: never) */

static int one(uint64_t seed, fl_time_ns duration, bool report)
{
    fl_run_config c;
    fl_run_config_default(&c);
    c.seed = seed;
    c.nodes = 5;
    c.clients = 20;
    c.duration_ns = duration;
    c.nemesis = FL_NEMESIS_MIX;
    c.nemesis_interval_ns = 3 * FL_NS_PER_S;
    c.snapshot_every = snapshot_every;
    fl_run_result r;
    double t0 = cpu_s();
    if (fl_run(&c, &r))
        return 1;
    double t1 = cpu_s();
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_CAS_REGISTER;
    o.threads = 1;
    fl_lincheck_result lr;
    fl_lincheck_run(&r.history, &o, &lr, NULL);
    double t2 = cpu_s();
    if (report)
        printf("run: 5 nodes, 20 clients, %.0f s virtual, nemesis mix: %llu events, %llu ops; "
               "run %.3f s CPU, check %.3f s CPU (%s); longest log %llu entries, largest disk "
               "%.1f MB at the end\n",
               (double)duration / 1e9, (unsigned long long)r.sim.events,
               (unsigned long long)r.ops_invoked, t1 - t0, t2 - t1, fl_verdict_name(lr.verdict),
               (unsigned long long)r.log_entries_max, (double)r.disk_bytes_max / 1e6);
    int bad = r.violation || lr.verdict != FL_LIN_OK;
    fl_lincheck_result_free(&lr);
    fl_run_result_free(&r);
    return bad;
}

int main(int argc, char **argv)
{
    const char *se = getenv("FL_BENCH_SNAPSHOT_EVERY");
    if (se)
        snapshot_every = (uint32_t)atoi(se);
    int bad = one(7, 60 * FL_NS_PER_S, true);
    if (argc > 1) {
        int n = atoi(argv[1]);
        double t0 = cpu_s();
        for (int s = 1; s <= n; s++)
            bad += one((uint64_t)s, 10 * FL_NS_PER_S, false);
        double dt = cpu_s() - t0;
        printf("%d runs of 10 s (run + check): %.2f s CPU, %.1f ms per seed\n", n, dt,
               dt * 1000 / n);
    }
    return bad ? 1 : 0;
}
