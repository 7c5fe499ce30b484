/* bench_raft_sim.c: simulator speed with the Raft core: a 5-node cluster under 1,000
 * proposals per simulated second, safety checker on, for 60 s of virtual time (argument 1
 * overrides the seconds). Prints simulated message deliveries per wall second and the ratio
 * of virtual time to wall time. Goal: >= 1,000,000 deliveries per second on one core. */
#include "faultline/raft_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t proposed;

static void propose(fl_sim *sim, void *arg)
{
    (void)arg;
    fl_node_id l = fl_raft_sim_leader(sim);
    if (l && fl_raft_sim_propose(sim, l, "set k v 0123456789", 18, NULL, NULL) == 0)
        proposed++;
    fl_sim_schedule(sim, fl_sim_time(sim) + FL_NS_PER_MS, propose, NULL);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 60;
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    fl_raft_sim rs;
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = 1;
    sc.nodes = 5;
    sc.link.delay = fl_sim_dist_exp(250 * FL_NS_PER_US, 250 * FL_NS_PER_US);
    sc.disk_sync = fl_sim_dist_uniform(200 * FL_NS_PER_US, 2 * FL_NS_PER_MS);
    fl_sim *sim;
    char why[160];
    if (fl_raft_sim_create(&rs, &rc, NULL, &sc, &sim, why, sizeof(why))) {
        fprintf(stderr, "bench_raft_sim: %s\n", why);
        return 1;
    }
    fl_sim_start_all(sim);
    fl_sim_schedule(sim, 0, propose, NULL);
    double t0 = cpu_s();
    fl_sim_run_until(sim, (fl_time_ns)(secs * 1e9));
    double cpu = cpu_s() - t0;
    const fl_sim_stats *st = fl_sim_get_stats(sim);
    fl_node_id l = fl_raft_sim_leader(sim);
    printf("raft sim: 5 nodes, %.0f s virtual, %llu proposals, commit index %llu, checker on\n",
           secs, (unsigned long long)proposed,
           (unsigned long long)(l ? fl_raft_commit_of(fl_raft_sim_node(sim, l)) : 0));
    printf("  %llu events, %llu deliveries in %.3f s of CPU\n", (unsigned long long)st->events,
           (unsigned long long)st->msgs_delivered, cpu);
    printf("  %.2f M deliveries per CPU second, %.2f M events per CPU second, virtual/wall "
           "ratio %.1fx\n",
           (double)st->msgs_delivered / cpu / 1e6, (double)st->events / cpu / 1e6, secs / cpu);
    fl_sim_destroy(sim);
    fl_raft_sim_free(&rs);
    return 0;
}
