/* bench_gossip.c: real `faultline gossip` agents on loopback, each its own process, default
 * timing (probe 1 s, timeout 500 ms, gossip every 200 ms to 3): the figures users feel.
 *
 * For each size N (default 20 and 50), `--runs` times (default 3):
 *   1. the seed agent starts alone; once it answers, the N - 1 others start as fast as fork
 *      allows (a join storm), each with --join to the seed;
 *   2. join: until every agent's log shows every other agent alive and none suspect;
 *      suspicions and deaths logged by anyone meanwhile (all false: nobody is down);
 *   3. optionally (--quiet S) S seconds of steady state: suspicions and deaths (false);
 *   4. RSS of every agent (VmRSS, /proc), then kill -9 of one (not the seed): first suspect,
 *      first dead and all dead (every other agent logs it dead), seconds after the kill.
 * Times come from the agents' own logs (each change is logged with the agent's monotonic clock;
 * the start line gives its origin), so polling does not blur them.
 *
 *   build/bench/bench_gossip [--runs R] [--quiet S] [--key] [--gossip-ms T] [--faultline PATH]
 *                            [N ...]
 * Loss: bench/gossip.sh --loss P runs it in a network namespace with nftables dropping P of
 * the packets on loopback. */
#include "faultline/gossip.h"
#include "faultline/gossip_query.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENTS_MAX 256
#define STATES     4 /* alive, suspect, dead, left */

typedef struct agent {
    pid_t pid;
    uint16_t port;
    fl_node_id id;
    char log[160];
    double t0; /* monotonic origin of its log, s (from its start line, else spawn) */
    long rss_kb;
    double complete_at; /* when its view last became complete (all others alive), s */
} agent;

typedef struct opts {
    int runs;
    double quiet_s;
    bool key;
    const char *gossip_ms;
    char faultline[PATH_MAX];
} opts;

typedef struct run_result {
    double join_s;
    unsigned join_suspects, join_deaths;
    unsigned quiet_suspects, quiet_deaths;
    double first_suspect_s, first_dead_s, all_dead_s;
    double rss_mean_kb, rss_max_kb;
} run_result;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port free for both UDP and TCP right now (a small race with other programs). */
static uint16_t free_port(void)
{
    for (int tries = 0; tries < 64; tries++) {
        int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        bool ok = u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                  getsockname(u, (struct sockaddr *)&a, &len) == 0 &&
                  bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(u);
        close(t);
        if (ok)
            return ntohs(a.sin_port);
    }
    return 0;
}

static void spawn(const opts *o, agent *a, const char *dir, const char *join, const char *key)
{
    char bind_arg[32];
    snprintf(bind_arg, sizeof(bind_arg), "127.0.0.1:%u", a->port);
    snprintf(a->log, sizeof(a->log), "%s/agent-%u.log", dir, a->port);
    const char *argv[16] = {"faultline", "gossip", "--bind", bind_arg};
    int n = 4;
    if (join) {
        argv[n++] = "--join";
        argv[n++] = join;
    }
    if (key) {
        argv[n++] = "--key-file";
        argv[n++] = key;
    }
    if (o->gossip_ms) {
        argv[n++] = "--gossip-ms";
        argv[n++] = o->gossip_ms;
    }
    argv[n] = NULL;
    a->t0 = mono_s(); /* until its start line says (an agent that does not say: ~ms off) */
    a->pid = fork();
    if (a->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(o->faultline, (char *const *)argv);
        _exit(127);
    }
}

/* ---- logs ------------------------------------------------------------------------------------ */

typedef struct event {
    double t; /* absolute monotonic, s */
    fl_node_id member;
    int from, to; /* fl_swim_state; from -1: new */
} event;

static int state_of_name(const char *s)
{
    static const char *names[STATES] = {"alive", "suspect", "dead", "left"};
    for (int i = 0; i < STATES; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* Every membership change in an agent's log, in order; returns how many (<= max). */
static size_t read_events(agent *a, event *ev, size_t max)
{
    FILE *f = fopen(a->log, "r");
    if (!f)
        return 0;
    char line[512], from[32], to[32];
    size_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        double t;
        unsigned id;
        const char *t0 = strstr(line, "t0 monotonic ");
        if (t0)
            a->t0 = strtod(t0 + 13, NULL);
        if (n < max && sscanf(line, "%lf s member %u: %31s -> %31s", &t, &id, from, to) == 4) {
            ev[n++] = (event){
                .t = a->t0 + t, .member = id, .from = state_of_name(from), .to = state_of_name(to)};
        }
    }
    fclose(f);
    return n;
}

/* Replays an agent's log up to time `until`: whether it then held every other agent alive
 * (and since when), and how many suspect / dead transitions it logged in [since, until). */
static bool view_complete(agent *a, const agent *all, int n, double since, double until,
                          unsigned *suspects, unsigned *deaths)
{
    static event ev[1 << 16];
    size_t k = read_events(a, ev, sizeof(ev) / sizeof(ev[0]));
    int st[AGENTS_MAX];
    for (int i = 0; i < n; i++)
        st[i] = -1;
    a->complete_at = -1;
    for (size_t e = 0; e < k && ev[e].t < until; e++) {
        for (int i = 0; i < n; i++)
            if (all[i].id == ev[e].member)
                st[i] = ev[e].to;
        *suspects += ev[e].to == 1 && ev[e].t >= since;
        *deaths += ev[e].to == 2 && ev[e].t >= since;
        bool full = true;
        for (int i = 0; i < n && full; i++)
            full = all[i].id == a->id || st[i] == 0;
        if (full && a->complete_at < 0)
            a->complete_at = ev[e].t;
        if (!full)
            a->complete_at = -1;
    }
    return a->complete_at >= 0;
}

/* Waits until every agent's view is complete; the join time (since t_storm), or -1 after
 * limit_s. Suspicions and deaths logged meanwhile are counted in r. */
static double wait_join(agent *a, int n, double t_storm, double limit_s, run_result *r)
{
    while (mono_s() - t_storm < limit_s) {
        usleep(100 * 1000);
        double now = mono_s(), last = 0;
        bool all = true;
        r->join_suspects = r->join_deaths = 0;
        for (int i = 0; i < n; i++) {
            all &= view_complete(&a[i], a, n, 0, now, &r->join_suspects, &r->join_deaths);
            last = a[i].complete_at > last ? a[i].complete_at : last;
        }
        if (all)
            return last - t_storm;
    }
    return -1;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* After the kill of victim at t_kill: first suspect, first dead, all dead (s after the kill;
 * -1: not within limit_s). */
static void wait_dead(agent *a, int n, int victim, double t_kill, double limit_s, run_result *r)
{
    static event ev[1 << 16];
    r->first_suspect_s = r->first_dead_s = r->all_dead_s = -1;
    while (mono_s() - t_kill < limit_s) {
        usleep(100 * 1000);
        double fs = -1, fd = -1, ad = 0;
        int dead = 0;
        for (int i = 0; i < n; i++) {
            if (i == victim)
                continue;
            size_t k = read_events(&a[i], ev, sizeof(ev) / sizeof(ev[0]));
            double my_dead = -1;
            for (size_t e = 0; e < k; e++) {
                if (ev[e].member != a[victim].id || ev[e].t < t_kill)
                    continue;
                if (ev[e].to == 1 && (fs < 0 || ev[e].t < fs))
                    fs = ev[e].t;
                if (ev[e].to == 2 && my_dead < 0)
                    my_dead = ev[e].t;
            }
            if (my_dead >= 0) {
                dead++;
                fd = fd < 0 || my_dead < fd ? my_dead : fd;
                ad = my_dead > ad ? my_dead : ad;
            }
        }
        r->first_suspect_s = fs < 0 ? -1 : fs - t_kill;
        r->first_dead_s = fd < 0 ? -1 : fd - t_kill;
        if (dead == n - 1) {
            r->all_dead_s = ad - t_kill;
            return;
        }
    }
}

/* The seed alone first (until it answers a WHOIS), then the storm. */
static double start_all(const opts *o, agent *a, int n, const char *dir, const char *key)
{
    fl_gossip_key k = {0};
    if (key)
        fl_gossip_key_load(key, &k, NULL);
    for (int i = 0; i < n; i++) {
        bool dup = true; /* the kernel may hand out a port it gave us a moment ago */
        while (dup) {
            a[i].port = free_port();
            dup = a[i].port == 0;
            for (int j = 0; j < i && !dup; j++)
                dup = a[j].port == a[i].port;
        }
        fl_addr addr;
        char s[32];
        snprintf(s, sizeof(s), "127.0.0.1:%u", a[i].port);
        fl_addr_parse(s, &addr, NULL);
        a[i].id = fl_gossip_id_from_addr(&addr);
    }
    spawn(o, &a[0], dir, NULL, key);
    char join[32];
    snprintf(join, sizeof(join), "127.0.0.1:%u", a[0].port);
    fl_addr seed;
    fl_addr_parse(join, &seed, NULL);
    static fl_gq_packet q;
    for (int t = 0; t < 100 && fl_gq_ask(&seed, &k, FL_GQ_WHOIS, 0, 50, &q, NULL) != 0; t++)
        usleep(20 * 1000);
    double t_storm = mono_s();
    for (int i = 1; i < n; i++)
        spawn(o, &a[i], dir, join, key);
    return t_storm;
}

static void stop_all(agent *a, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].pid > 0)
            kill(a[i].pid, SIGKILL);
    for (int i = 0; i < n; i++)
        if (a[i].pid > 0)
            waitpid(a[i].pid, NULL, 0);
}

static int one_run(const opts *o, int n, run_result *r)
{
    memset(r, 0, sizeof(*r));
    char dir[] = "/tmp/fl-bench-gossip-XXXXXX", key[96];
    if (!mkdtemp(dir))
        return -1;
    snprintf(key, sizeof(key), "%s/cluster.key", dir);
    FILE *f = o->key ? fopen(key, "w") : NULL;
    if (f) {
        fputs("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n", f);
        fclose(f);
    }
    static agent a[AGENTS_MAX];
    memset(a, 0, sizeof(a));
    double t_storm = start_all(o, a, n, dir, o->key ? key : NULL);
    r->join_s = wait_join(a, n, t_storm, 60, r);
    for (int i = 0; i < n; i++)
        if (waitpid(a[i].pid, NULL, WNOHANG) == a[i].pid) {
            fprintf(stderr, "bench_gossip: agent on port %u exited early (log %s)\n", a[i].port,
                    a[i].log);
            a[i].pid = 0;
        }
    if (o->quiet_s > 0) {
        double q0 = mono_s();
        usleep((useconds_t)(o->quiet_s * 1e6));
        for (int i = 0; i < n; i++)
            view_complete(&a[i], a, n, q0, mono_s(), &r->quiet_suspects, &r->quiet_deaths);
    }
    for (int i = 0; i < n; i++) {
        a[i].rss_kb = rss_kb(a[i].pid);
        r->rss_mean_kb += (double)a[i].rss_kb / n;
        r->rss_max_kb = a[i].rss_kb > r->rss_max_kb ? (double)a[i].rss_kb : r->rss_max_kb;
    }
    int victim = n / 2;
    while (victim < n - 1 && a[victim].pid <= 0) /* never kill(0): the whole group */
        victim++;
    if (a[victim].pid <= 0) {
        stop_all(a, n);
        return -1;
    }
    double t_kill = mono_s();
    kill(a[victim].pid, SIGKILL);
    waitpid(a[victim].pid, NULL, 0);
    a[victim].pid = 0;
    wait_dead(a, n, victim, t_kill, 120, r);
    stop_all(a, n);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void print_run(int n, const run_result *r, double quiet_s)
{
    printf("%4d  %8.2f  %6u / %-4u  %8.2f  %8.2f  %8.2f  %8.2f   %5.1f / %-5.1f", n, r->join_s,
           r->join_suspects, r->join_deaths, r->first_suspect_s, r->first_dead_s, r->all_dead_s,
           r->all_dead_s >= 0 && r->first_dead_s >= 0 ? r->all_dead_s - r->first_dead_s : -1,
           r->rss_mean_kb / 1024, r->rss_max_kb / 1024);
    if (quiet_s > 0)
        printf("   %u / %u", r->quiet_suspects, r->quiet_deaths);
    printf("\n");
    fflush(stdout);
}

static int parse(int argc, char **argv, opts *o, int *sizes, int *n_sizes)
{
    o->runs = 3;
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[k > 0 ? k : 0] = 0;
    snprintf(o->faultline, sizeof(o->faultline), "%s/../faultline", dirname(self));
    *n_sizes = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--runs") && v)
            o->runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quiet") && v)
            o->quiet_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--gossip-ms") && v)
            o->gossip_ms = argv[++i];
        else if (!strcmp(argv[i], "--faultline") && v)
            snprintf(o->faultline, sizeof(o->faultline), "%s", argv[++i]);
        else if (!strcmp(argv[i], "--key"))
            o->key = true;
        else if (atoi(argv[i]) >= 3 && atoi(argv[i]) <= AGENTS_MAX && *n_sizes < 8)
            sizes[(*n_sizes)++] = atoi(argv[i]);
        else
            return -1;
    }
    if (*n_sizes == 0) {
        sizes[0] = 20;
        sizes[1] = 50;
        *n_sizes = 2;
    }
    return o->runs >= 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    opts o = {0};
    int sizes[8], n_sizes;
    if (parse(argc, argv, &o, sizes, &n_sizes) || access(o.faultline, X_OK)) {
        fprintf(stderr, "usage: bench_gossip [--runs R] [--quiet S] [--key] [--gossip-ms T] "
                        "[--faultline PATH] [N ...]   (build first: make bench)\n");
        return 2;
    }
    printf("faultline gossip agents on loopback, one process each, default timing%s%s%s\n",
           o.key ? ", keyed" : "", o.gossip_ms ? ", --gossip-ms " : "",
           o.gossip_ms ? o.gossip_ms : "");
    printf("   N  join (s)  join susp/dead  1st susp  1st dead  all dead  all-1st   RSS MiB "
           "mean/max%s\n",
           o.quiet_s > 0 ? "   quiet susp/dead" : "");
    int status = 0;
    for (int s = 0; s < n_sizes; s++)
        for (int r = 0; r < o.runs; r++) {
            run_result res;
            if (one_run(&o, sizes[s], &res))
                status = 1;
            print_run(sizes[s], &res, o.quiet_s);
        }
    return status;
}
