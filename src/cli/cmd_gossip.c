/* cmd_gossip.c: `faultline gossip`: one SWIM agent on real UDP (gossip.h), printing every
 * membership change it sees; after --duration it leaves gracefully and exits. */
#include "cli.h"
#include "faultline/error.h"
#include "faultline/gossip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEERS_ARGS_MAX 256

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline gossip --id N --bind HOST:PORT [--peer ID@HOST:PORT ...]\n"
               "                        [--interval-ms T] [--timeout-ms T] [--duration SEC]\n"
               "                        [--no-lifeguard]\n\n"
               "Runs one SWIM + Lifeguard member on UDP. Every --peer is also a seed (the way\n"
               "in, and back after a partition). Prints each membership change as it happens;\n"
               "after --duration seconds (default: run until killed) it leaves gracefully,\n"
               "spreads the news for a few periods and exits.\n");
}

typedef struct gossip_run {
    fl_time_ns t0;
    fl_loop *loop;
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
    fl_gossip *g = arg;
    fl_gossip_leave(g);
    fl_loop_timer_start(loop, 3 * g->core.cfg.probe_interval_ns, stop_loop, NULL, NULL);
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

int fl_cmd_gossip(int argc, char **argv)
{
    static fl_gossip_peer peers[PEERS_ARGS_MAX];
    fl_gossip_config c;
    memset(&c, 0, sizeof(c));
    fl_swim_config_default(&c.swim);
    double duration = 0;
    bool have_bind = false;
    fl_errmsg m;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-lifeguard")) {
            c.swim.lifeguard = false;
            continue;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(a, "--id")) {
            c.swim.id = (fl_node_id)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--bind")) {
            bad = fl_addr_parse(v, &c.bind, &m) != 0;
            have_bind = !bad;
        } else if (!strcmp(a, "--peer")) {
            bad = c.n_peers == PEERS_ARGS_MAX || parse_peer(v, &peers[c.n_peers], &m) != 0;
            if (!bad && c.swim.n_seeds < FL_SWIM_SEEDS_MAX)
                c.swim.seeds[c.swim.n_seeds++] = peers[c.n_peers].id;
            c.n_peers += !bad;
        } else if (!strcmp(a, "--interval-ms")) {
            c.swim.probe_interval_ns = (fl_time_ns)(strtod(v, NULL) * 1e6);
        } else if (!strcmp(a, "--timeout-ms")) {
            c.swim.probe_timeout_ns = (fl_time_ns)(strtod(v, NULL) * 1e6);
        } else if (!strcmp(a, "--duration")) {
            duration = strtod(v, NULL);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "faultline gossip: bad option %s %s (see --help)\n", a, v ? v : "");
            return FL_EXIT_USAGE;
        }
        i++;
    }
    if (c.swim.id == 0 || !have_bind) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    c.peers = peers;
    c.seed = c.swim.id;
    fl_loop loop;
    if (fl_loop_init(&loop, NULL, &m)) {
        fprintf(stderr, "faultline gossip: %s\n", m.text);
        return FL_EXIT_VIOLATION;
    }
    gossip_run r = {.t0 = fl_loop_now(&loop), .loop = &loop};
    c.changed = changed;
    c.delivered = delivered;
    c.arg = &r;
    fl_gossip g;
    if (fl_gossip_start(&g, &loop, &c, &m)) {
        fprintf(stderr, "faultline gossip: %s\n", m.text);
        fl_loop_close(&loop);
        return FL_EXIT_USAGE;
    }
    char addr[FL_ADDR_STR_MAX];
    fl_addr local;
    fl_gossip_local_addr(&g, &local, NULL);
    printf("member %u on udp %s, %u peer(s), Lifeguard %s\n", c.swim.id,
           fl_addr_format(&local, addr), c.n_peers, c.swim.lifeguard ? "on" : "off");
    fflush(stdout);
    if (duration > 0)
        fl_loop_timer_start(&loop, (fl_time_ns)(duration * 1e9), leave_now, &g, NULL);
    int rc = fl_loop_run(&loop);
    printf("left: %llu packets sent, %llu received, %u members known, %u live\n",
           (unsigned long long)g.sent, (unsigned long long)g.received,
           fl_swim_member_count(&g.core), fl_swim_live_count(&g.core));
    fl_gossip_stop(&g);
    fl_loop_close(&loop);
    return rc ? FL_EXIT_VIOLATION : 0;
}
