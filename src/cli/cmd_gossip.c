/* cmd_gossip.c: `faultline gossip`: one SWIM agent on real UDP (gossip.h), printing every
 * membership change it sees. SIGINT/SIGTERM (or the end of --duration) make it leave
 * gracefully: LEFT is spread for a few periods, then it exits 0; a second signal exits at once.
 * `faultline gossip members` (cmd_gossip_members.c) asks a running agent for its view. */
#include "cli.h"
#include "faultline/error.h"
#include "faultline/gossip.h"
#include "faultline/httpd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define PEERS_ARGS_MAX 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: faultline gossip --bind HOST:PORT [--join HOST:PORT[,HOST:PORT...]]\n"
            "                        [--key-file PATH] [--id N] [--peer ID@HOST:PORT ...]\n"
            "                        [--interval-ms T] [--timeout-ms T] [--gossip-ms T]\n"
            "                        [--fanout F] [--duration SEC] [--no-lifeguard]\n"
            "                        [--metrics HOST:PORT]\n"
            "       faultline gossip members --addr HOST:PORT [--key-file PATH]\n\n"
            "Runs one SWIM + Lifeguard member on UDP, with push-pull over TCP on the same port.\n"
            "--join addresses are asked for their id and become seeds: the agent exchanges its\n"
            "member table with them at once (it then knows every member and address), and they\n"
            "are the way back after a partition; --peer gives a member whose id is known. Without\n"
            "--id the id is derived from the bound address (the same address keeps its id across\n"
            "restarts). Probes every --interval-ms (1000) with --timeout-ms (500); pending news\n"
            "goes every --gossip-ms (200; 0: only on probes) to --fanout members (3).\n"
            "--key-file holds the cluster key (64 hex digits or 32 raw bytes): every packet and\n"
            "push-pull is then authenticated (HMAC-SHA-512-256 with a time window and replay\n"
            "cache) and anything else is dropped and counted.\n"
            "Prints each membership change as it happens. SIGINT/SIGTERM or the end of\n"
            "--duration seconds: a graceful leave, a few periods to spread it, exit 0.\n"
            "--metrics serves /metrics (Prometheus text format) over HTTP: packet counters.\n");
}

typedef struct gossip_run {
    fl_time_ns t0;
    fl_gossip *g;
    fl_metrics reg; /* --metrics */
    fl_httpd httpd;
    int sigfd;
    fl_loop_watch sigw;
    bool leaving;
} gossip_run;

static void changed(void *arg, const fl_swim_change *c, fl_time_ns now)
{
    gossip_run *r = arg;
    printf("%9.3f s  member %u: %s -> %s (incarnation %u)%s\n", (double)(now - r->t0) / 1e9, c->id,
           c->added ? "new" : fl_swim_state_name(c->old_state),
           c->removed ? "forgotten" : fl_swim_state_name(c->state), c->incarnation,
           c->removed ? " reaped" : "");
    fflush(stdout);
}

static void delivered(void *arg, const fl_swim_delivery *d, fl_time_ns now)
{
    gossip_run *r = arg;
    printf("%9.3f s  broadcast from %u #%u: %.*s\n", (double)(now - r->t0) / 1e9, d->origin, d->seq,
           (int)d->len, (const char *)d->data);
    fflush(stdout);
}

static void stop_loop(fl_loop *loop, void *arg)
{
    fl_loop_stop(loop);
}

static void leave_now(fl_loop *loop, void *arg)
{
    gossip_run *r = arg;
    if (r->leaving)
        return;
    r->leaving = true;
    printf("leaving\n");
    fflush(stdout);
    fl_gossip_leave(r->g);
    fl_loop_timer_start(loop, 3 * r->g->core.cfg.probe_interval_ns, stop_loop, NULL, NULL);
}

static void on_signal(fl_loop *loop, fl_loop_watch *w, uint32_t events)
{
    gossip_run *r = w->arg;
    struct signalfd_siginfo si;
    while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (r->leaving)
            fl_loop_stop(loop); /* a second signal: no more waiting */
        else
            leave_now(loop, r);
    }
}

static int open_signals(fl_loop *loop, gossip_run *r)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->sigfd < 0)
        return -1;
    return fl_loop_watch_start(loop, &r->sigw, r->sigfd, FL_LOOP_READ, on_signal, r);
}

static int parse_peer(const char *s, fl_gossip_peer *p, fl_errmsg *m)
{
    const char *at = strchr(s, '@');
    char *end;
    unsigned long id = strtoul(s, &end, 10);
    if (!at || end != at || id == 0 || id > UINT32_MAX)
        return fl_errmsg_set(m, FL_EINVAL, "peer %s: expected ID@HOST:PORT", s);
    p->id = (fl_node_id)id;
    return fl_addr_parse(at + 1, &p->addr, m);
}

/* HOST:PORT[,HOST:PORT...] appended to join. */
static int parse_join(const char *v, fl_addr *join, uint32_t *n, fl_errmsg *m)
{
    char one[FL_ADDR_STR_MAX + 8];
    while (*v) {
        size_t len = strcspn(v, ",");
        if (len == 0 || len >= sizeof(one))
            return fl_errmsg_set(m, FL_EINVAL, "--join: expected HOST:PORT[,HOST:PORT...]");
        if (*n == FL_SWIM_SEEDS_MAX)
            return fl_errmsg_set(m, FL_EINVAL, "--join: at most %d addresses", FL_SWIM_SEEDS_MAX);
        memcpy(one, v, len);
        one[len] = 0;
        if (fl_addr_parse(one, &join[*n], m))
            return FL_EINVAL;
        (*n)++;
        v += len + (v[len] == ',');
    }
    return 0;
}

static bool positive(const char *v, double max, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d > 0 && d <= max))
        return false;
    *out = d;
    return true;
}

typedef struct gossip_opts {
    fl_gossip_config c;
    fl_gossip_peer peers[PEERS_ARGS_MAX];
    fl_addr join[FL_SWIM_SEEDS_MAX];
    fl_gossip_key key;
    double duration;
    bool have_bind;
    bool metrics_on;
    fl_addr metrics;
} gossip_opts;

/* One option with its value v; 0, 1 (bad: message in m) or 2 (help). */
static int parse_opt(gossip_opts *o, const char *a, const char *v, fl_errmsg *m)
{
    double d;
    unsigned long id;
    char *end;
    if (!strcmp(a, "--id")) {
        id = strtoul(v, &end, 10);
        if (*end || end == v || id == 0 || id > UINT32_MAX)
            return fl_errmsg_set(m, 1, "--id: a number 1..%u", UINT32_MAX);
        o->c.swim.id = (fl_node_id)id;
    } else if (!strcmp(a, "--bind")) {
        if (fl_addr_parse(v, &o->c.bind, m))
            return 1;
        o->have_bind = true;
    } else if (!strcmp(a, "--join")) {
        return parse_join(v, o->join, &o->c.n_join, m) ? 1 : 0;
    } else if (!strcmp(a, "--key-file")) {
        return fl_gossip_key_load(v, &o->key, m) ? 1 : 0;
    } else if (!strcmp(a, "--peer")) {
        if (o->c.n_peers == PEERS_ARGS_MAX || parse_peer(v, &o->peers[o->c.n_peers], m))
            return 1;
        if (o->c.swim.n_seeds < FL_SWIM_SEEDS_MAX)
            o->c.swim.seeds[o->c.swim.n_seeds++] = o->peers[o->c.n_peers].id;
        o->c.n_peers++;
    } else if (!strcmp(a, "--interval-ms") && positive(v, 60000, &d)) {
        o->c.swim.probe_interval_ns = (fl_time_ns)(d * 1e6);
    } else if (!strcmp(a, "--timeout-ms") && positive(v, 60000, &d)) {
        o->c.swim.probe_timeout_ns = (fl_time_ns)(d * 1e6);
    } else if (!strcmp(a, "--gossip-ms") && (!strcmp(v, "0") || positive(v, 60000, &d))) {
        o->c.swim.gossip_interval_ns = strcmp(v, "0") ? (fl_time_ns)(d * 1e6) : 0;
    } else if (!strcmp(a, "--fanout") && positive(v, FL_SWIM_FANOUT_MAX, &d) && d == (int)d) {
        o->c.swim.gossip_fanout = (uint32_t)d;
    } else if (!strcmp(a, "--metrics")) {
        o->metrics_on = true;
        return fl_addr_parse(v, &o->metrics, m) ? 1 : 0;
    } else if (!strcmp(a, "--duration") && positive(v, 1e9, &d)) {
        o->duration = d;
    } else {
        return fl_errmsg_set(m, 1, "bad option %s %s", a, v);
    }
    return 0;
}

static int parse_args(gossip_opts *o, int argc, char **argv)
{
    fl_swim_config_default(&o->c.swim);
    fl_errmsg m;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 2;
        }
        if (!strcmp(a, "--no-lifeguard")) {
            o->c.swim.lifeguard = false;
            continue;
        }
        if (!v || parse_opt(o, a, v, &m)) {
            fprintf(stderr, "faultline gossip: %s (see --help)\n",
                    v ? m.text : "an option without its value");
            return 1;
        }
        i++;
    }
    if (!o->have_bind) {
        fprintf(stderr, "faultline gossip: --bind HOST:PORT is required (see --help)\n");
        return 1;
    }
    o->c.peers = o->peers;
    o->c.join = o->join;
    o->c.key = &o->key;
    return 0;
}

static int serve_metrics(void *arg, const char *path, fl_buf *body, const char **type)
{
    gossip_run *r = arg;
    if (strcmp(path, "/metrics") != 0)
        return 404;
    fl_gossip_metrics(r->g, &r->reg);
    *type = "text/plain; version=0.0.4; charset=utf-8";
    return fl_metrics_render(&r->reg, body) ? 500 : 200;
}

/* The start line ends with the monotonic clock of time 0 of the lines that follow, so that
 * the logs of several agents can be put on one time line (bench/bench_gossip.c does). */
static void print_start(const fl_gossip *g, const gossip_opts *o, fl_time_ns t0)
{
    char addr[FL_ADDR_STR_MAX];
    fl_addr local;
    fl_gossip_local_addr(g, &local, NULL);
    printf("member %u on udp and tcp %s, %u peer(s), %u join address(es), Lifeguard %s, key %s, "
           "t0 monotonic %.6f s\n",
           g->core.cfg.id, fl_addr_format(&local, addr), o->c.n_peers, o->c.n_join,
           o->c.swim.lifeguard ? "on" : "off", o->key.set ? "on" : "off", (double)t0 / 1e9);
    fflush(stdout);
}

static int run_agent(gossip_opts *o)
{
    fl_loop loop;
    fl_errmsg m;
    if (fl_loop_init(&loop, NULL, &m)) {
        fprintf(stderr, "faultline gossip: %s\n", m.text);
        return FL_EXIT_VIOLATION;
    }
    static fl_gossip g;
    gossip_run r = {.t0 = fl_loop_now(&loop), .g = &g, .sigfd = -1};
    o->c.changed = changed;
    o->c.delivered = delivered;
    o->c.arg = &r;
    int rc = FL_EXIT_USAGE;
    if (fl_gossip_start(&g, &loop, &o->c, &m)) {
        fprintf(stderr, "faultline gossip: %s\n", m.text);
        goto out;
    }
    print_start(&g, o, r.t0);
    fl_metrics_init(&r.reg);
    r.httpd.lfd = -1;
    if (o->metrics_on && fl_httpd_start(&r.httpd, &loop, &o->metrics, serve_metrics, &r, &m)) {
        fprintf(stderr, "faultline gossip: --metrics: %s\n", m.text);
        goto out;
    }
    if (open_signals(&loop, &r)) {
        fprintf(stderr, "faultline gossip: cannot watch signals\n");
        rc = FL_EXIT_VIOLATION;
        goto out;
    }
    if (o->duration > 0)
        fl_loop_timer_start(&loop, (fl_time_ns)(o->duration * 1e9), leave_now, &r, NULL);
    rc = fl_loop_run(&loop) ? FL_EXIT_VIOLATION : 0;
    printf("left: %llu packets sent, %llu received, %llu rejected, %llu replayed, %llu malformed, "
           "%llu push-pulls (%llu failed), %u members known, %u live\n",
           (unsigned long long)g.sent, (unsigned long long)g.received,
           (unsigned long long)g.rejected, (unsigned long long)g.replayed,
           (unsigned long long)g.malformed, (unsigned long long)(g.streams_in + g.streams_out),
           (unsigned long long)g.stream_errors, fl_swim_member_count(&g.core),
           fl_swim_live_count(&g.core));
out:
    if (r.httpd.lfd >= 0)
        fl_httpd_stop(&r.httpd);
    fl_metrics_free(&r.reg);
    if (r.sigw.active)
        fl_loop_watch_stop(&loop, &r.sigw);
    if (r.sigfd >= 0)
        close(r.sigfd);
    fl_gossip_stop(&g);
    fl_loop_close(&loop);
    return rc;
}

int fl_cmd_gossip(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "members"))
        return fl_cmd_gossip_members(argc - 1, argv + 1);
    static gossip_opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse_args(&o, argc, argv);
    if (rc)
        return rc == 2 ? 0 : FL_EXIT_USAGE;
    return run_agent(&o);
}
