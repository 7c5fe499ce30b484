/* bench_swim.c: SWIM at scale in the simulator: 1,000 and 10,000 members for 60 simulated
 * seconds (1 s protocol period, Lifeguard on, full membership known at start), with 10
 * members crashing at 20 s so that suspicion and dissemination run too. Prints wall time,
 * peak RSS (each size runs in its own child process, so the figure is that run's alone),
 * events and what the cluster detected.
 *
 * 10,000 members means 10^8 member entries (2.2 GB) built at start, mostly page faults; unless
 * --no-thp is given (or GLIBC_TUNABLES is already set) the bench re-executes itself with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 so that malloc asks for transparent huge pages
 * (glibc >= 2.35; ignored elsewhere). The simulated run is the same either way.
 *
 *   build/bench/bench_swim [--no-thp] [N ...]   (default: 1000 10000; goals < 5 s and < 60 s,
 *                                                < 4 GiB) */
#include "faultline/swim_world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(uint32_t n)
{
    fl_swim_world_config c;
    fl_swim_world_config_default(&c);
    c.nodes = n;
    c.seed = 42;
    c.events_max = (size_t)8 << 20;
    fl_swim_world w;
    char why[160];
    double t0 = wall_now();
    int rc = fl_swim_world_init(&w, &c, why, sizeof(why));
    if (rc) {
        fprintf(stderr, "bench_swim: %s\n", why);
        return 1;
    }
    double t_init = wall_now() - t0;
    uint32_t crashes = 10;
    rc = fl_swim_world_run_until(&w, 20 * FL_NS_PER_S);
    fl_rng *r = fl_sim_driver_rng(w.sim);
    for (uint32_t i = 0; i < crashes && !rc; i++) {
        fl_node_id id = (fl_node_id)fl_rng_range(r, 1, n);
        if (fl_sim_node_state_of(w.sim, id) == FL_SIM_NODE_UP)
            rc = fl_swim_world_crash(&w, id);
    }
    if (!rc)
        rc = fl_swim_world_run_until(&w, 60 * FL_NS_PER_S);
    double wall = wall_now() - t0;
    fl_swim_stats st;
    fl_swim_sim_totals(&w.ss, w.sim, &st);
    const fl_swim *s = NULL;
    for (fl_node_id id = 1; id <= n && !s; id++)
        s = fl_swim_sim_core(w.sim, id);
    printf("%6u members, 60 s simulated: wall %.2f s (start %.2f s), %llu events, %.2f M "
           "events/s; packets %.2f, updates %.2f /member/s; %u crashed at 20 s, member %u sees %u "
           "live of %u; "
           "false deaths %llu\n",
           n, wall, t_init, (unsigned long long)fl_sim_get_stats(w.sim)->events,
           (double)fl_sim_get_stats(w.sim)->events / wall / 1e6, (double)st.packets_sent / n / 60.0,
           (double)st.updates_sent / n / 60.0, crashes, s ? s->cfg.id : 0,
           s ? fl_swim_live_count(s) : 0, s ? fl_swim_member_count(s) : 0,
           (unsigned long long)w.false_deaths);
    fflush(stdout);
    fl_swim_world_free(&w);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    bool thp = !(argc > 1 && !strcmp(argv[1], "--no-thp"));
    if (thp && !getenv("GLIBC_TUNABLES")) {
        setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
        execv("/proc/self/exe", argv); /* on failure, carry on without */
    }
    printf("malloc: %s\n", getenv("GLIBC_TUNABLES") ? getenv("GLIBC_TUNABLES") : "default");
    uint32_t sizes[8] = {1000, 10000};
    int n = 2;
    int first = thp ? 1 : 2;
    if (argc > first) {
        n = 0;
        for (int i = first; i < argc && n < 8; i++)
            sizes[n++] = (uint32_t)strtoul(argv[i], NULL, 10);
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run(sizes[i]));
        int st = 0;
        struct rusage ru;
        if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) {
            perror("bench_swim");
            return 1;
        }
        printf("%6u members: peak RSS %.1f MiB, cpu %.2f s user + %.2f s sys%s\n", sizes[i],
               (double)ru.ru_maxrss / 1024.0,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
               WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "" : " (run FAILED)");
        status |= !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return status;
}
