/* cmd_gossip.c: `faultline gossip`: one SWIM agent on real UDP (gossip.h), printing every
 * membership change it sees. SIGINT/SIGTERM (or the end of --duration) make it leave
 * gracefully: LEFT is spread for a few periods, then it exits 0; a second signal exits at once.
 * `faultline gossip members` (cmd_gossip_members.c) asks a running agent for its view. */
#include "cli.h"
#include "cli_opt.h"
#include "faultline/duration.h"
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
            "                        [--fanout F] [--duration D] [--no-lifeguard]\n"
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
            "--duration (30s, 2m; a number alone is seconds): a graceful leave, a few periods\n"
            "to spread it, exit 0. The -ms options take units too (1s; a number alone is\n"
            "milliseconds). --metrics serves /metrics (Prometheus text format) over HTTP:\n"
            "packet counters.\n");
    fl_cli_exit_help(f, "left gracefully", NULL, NULL);
}

int fl_cli_gossip_key(const char *cmd, const char *path, fl_gossip_key *k)
{
    if (!path)
        return fl_cli_no_value(cmd, "--key-file");
    int rc = fl_cli_in_file(cmd, "--key-file", path);
    if (rc)
        return rc;
    fl_errmsg m = {{0}};
    rc = fl_gossip_key_load(path, k, &m);
    if (!rc)
        return 0;
    return fl_cli_error(cmd,
                        rc == FL_EUNSUPPORTED ? FL_EXIT_UNAVAILABLE
                        : rc == FL_EIO        ? FL_EXIT_NOINPUT
                                              : FL_EXIT_DATAERR,
                        "--key-file: %s", m.text);
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

static int parse_peer(const char *s, fl_gossip_peer *p)
{
    const char *at = strchr(s, '@');
    char id[16];
    if (!at || (size_t)(at - s) >= sizeof(id))
        return fl_cli_bad("gossip", "--peer", s, "expected ID@HOST:PORT");
    memcpy(id, s, (size_t)(at - s));
    id[at - s] = 0;
    uint64_t n;
    fl_errmsg m = {{0}};
    if (fl_parse_u64(id, 1, UINT32_MAX, &n))
        return fl_cli_bad("gossip", "--peer", s, "ID is a whole number 1..%u", UINT32_MAX);
    p->id = (fl_node_id)n;
    return fl_addr_parse(at + 1, &p->addr, &m) ? fl_cli_bad("gossip", "--peer", s, "%s", m.text)
                                               : 0;
}

/* HOST:PORT[,HOST:PORT...] appended to join. */
static int parse_join(const char *v, fl_addr *join, uint32_t *n)
{
    char one[FL_ADDR_STR_MAX + 8];
    for (const char *at = v; *at;) {
        size_t len = strcspn(at, ",");
        if (len == 0 || len >= sizeof(one))
            return fl_cli_bad("gossip", "--join", v, "expected HOST:PORT[,HOST:PORT...]");
        if (*n == FL_SWIM_SEEDS_MAX)
            return fl_cli_bad("gossip", "--join", v, "at most %d addresses", FL_SWIM_SEEDS_MAX);
        memcpy(one, at, len);
        one[len] = 0;
        if (fl_cli_addr("gossip", "--join", one, &join[*n]))
            return FL_EXIT_USAGE;
        (*n)++;
        at += len + (at[len] == ',');
    }
    return *n ? 0 : fl_cli_bad("gossip", "--join", v, "expected HOST:PORT[,HOST:PORT...]");
}

/* --interval-ms, --timeout-ms, --gossip-ms: a duration, a number alone in milliseconds. */
static int ms_option(const char *a, const char *v, fl_time_ns min, fl_time_ns *out)
{
    return fl_cli_duration("gossip", a, v, FL_NS_PER_MS, min, 60 * FL_NS_PER_S, out);
}

typedef struct gossip_opts {
    fl_gossip_config c;
    fl_gossip_peer peers[PEERS_ARGS_MAX];
    fl_addr join[FL_SWIM_SEEDS_MAX];
    fl_gossip_key key;
    fl_time_ns duration_ns;
    bool have_bind;
    bool metrics_on;
    fl_addr metrics;
} gossip_opts;

/* One option with its value v (NULL: missing); 0, an exit status (message printed), or -1
 * for an option gossip does not have. */
static int parse_opt(gossip_opts *o, const char *a, const char *v)
{
    fl_swim_config *sw = &o->c.swim;
    if (!strcmp(a, "--id"))
        return fl_cli_u32("gossip", a, v, 1, UINT32_MAX, &sw->id);
    if (!strcmp(a, "--bind"))
        return o->have_bind = true, fl_cli_addr("gossip", a, v, &o->c.bind);
    if (!strcmp(a, "--metrics"))
        return o->metrics_on = true, fl_cli_addr("gossip", a, v, &o->metrics);
    if (!v && (!strcmp(a, "--join") || !strcmp(a, "--peer")))
        return fl_cli_no_value("gossip", a);
    if (!strcmp(a, "--join"))
        return parse_join(v, o->join, &o->c.n_join);
    if (!strcmp(a, "--key-file"))
        return fl_cli_gossip_key("gossip", v, &o->key);
    if (!strcmp(a, "--peer")) {
        if (o->c.n_peers == PEERS_ARGS_MAX)
            return fl_cli_bad("gossip", a, v, "at most %d peers", PEERS_ARGS_MAX);
        int rc = parse_peer(v, &o->peers[o->c.n_peers]);
        if (!rc && sw->n_seeds < FL_SWIM_SEEDS_MAX)
            sw->seeds[sw->n_seeds++] = o->peers[o->c.n_peers].id;
        o->c.n_peers += !rc;
        return rc;
    }
    if (!strcmp(a, "--interval-ms"))
        return ms_option(a, v, FL_NS_PER_US, &sw->probe_interval_ns);
    if (!strcmp(a, "--timeout-ms"))
        return ms_option(a, v, FL_NS_PER_US, &sw->probe_timeout_ns);
    if (!strcmp(a, "--gossip-ms")) /* 0: news only on probes */
        return ms_option(a, v, 0, &sw->gossip_interval_ns);
    if (!strcmp(a, "--fanout"))
        return fl_cli_u32("gossip", a, v, 1, FL_SWIM_FANOUT_MAX, &sw->gossip_fanout);
    if (!strcmp(a, "--duration"))
        return fl_cli_duration("gossip", a, v, FL_NS_PER_S, FL_NS_PER_MS, FL_CLI_DURATION_MAX,
                               &o->duration_ns);
    return -1;
}

/* Returns 0, or the exit status (0 after --help, with *help). */
static int parse_args(gossip_opts *o, int argc, char **argv, bool *help)
{
    fl_swim_config_default(&o->c.swim);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            *help = true;
            return 0;
        }
        if (!strcmp(a, "--no-lifeguard")) {
            o->c.swim.lifeguard = false;
            continue;
        }
        int rc = parse_opt(o, a, v);
        if (rc)
            return rc < 0 ? fl_cli_unexpected("gossip", a) : rc;
        i++;
    }
    if (!o->have_bind)
        return fl_cli_error("gossip", FL_EXIT_USAGE, "--bind HOST:PORT is required");
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
    if (fl_loop_init(&loop, NULL, &m))
        return fl_cli_error("gossip", FL_EXIT_OSERR, "%s", m.text);
    static fl_gossip g;
    gossip_run r = {.t0 = fl_loop_now(&loop), .g = &g, .sigfd = -1};
    o->c.changed = changed;
    o->c.delivered = delivered;
    o->c.arg = &r;
    int rc = FL_EXIT_UNAVAILABLE; /* the address cannot be had (in use, not ours) */
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
        rc = FL_EXIT_OSERR;
        goto out;
    }
    if (o->duration_ns > 0)
        fl_loop_timer_start(&loop, o->duration_ns, leave_now, &r, NULL);
    rc = fl_loop_run(&loop) ? FL_EXIT_OSERR : 0;
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
    bool help = false;
    int rc = parse_args(&o, argc, argv, &help);
    return rc || help ? rc : run_agent(&o);
}
