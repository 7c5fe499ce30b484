/* gossip.c: the SWIM agent on UDP (gossip.h). All protocol decisions stay in the core; this
 * file only moves datagrams and time in and out. Invariant: while started, exactly one loop
 * timer is armed for the core's next deadline (or none when it has none). */
#include "faultline/gossip.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int cmp_peer(const void *a, const void *b)
{
    fl_node_id x = ((const fl_gossip_peer *)a)->id, y = ((const fl_gossip_peer *)b)->id;
    return x < y ? -1 : x > y;
}

static fl_gossip_peer *peer_find(fl_gossip *g, fl_node_id id)
{
    fl_gossip_peer key = {.id = id};
    return bsearch(&key, g->peers, g->n_peers, sizeof(*g->peers), cmp_peer);
}

/* Learns (or refreshes) the address of a sender. O(N) insertion, bounded. */
static void peer_learn(fl_gossip *g, fl_node_id id, const fl_addr *a)
{
    fl_gossip_peer *p = peer_find(g, id);
    if (p) {
        p->addr = *a;
        return;
    }
    if (g->n_peers == FL_GOSSIP_PEERS_MAX)
        return;
    uint32_t i = g->n_peers;
    while (i > 0 && g->peers[i - 1].id > id) {
        g->peers[i] = g->peers[i - 1];
        i--;
    }
    g->peers[i].id = id;
    g->peers[i].addr = *a;
    g->n_peers++;
}

static void on_timer(fl_loop *loop, void *arg);

static void carry_out(fl_gossip *g, const fl_swim_update *up)
{
    fl_time_ns now = fl_loop_now(g->loop);
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_swim_msg *m = &up->msgs[i];
        fl_gossip_peer *p = peer_find(g, m->to);
        if (!p) {
            g->no_address++;
            continue;
        }
        ssize_t n = sendto(g->fd, m->data, m->len, MSG_DONTWAIT,
                           (const struct sockaddr *)&p->addr.ss, p->addr.len);
        if (n == (ssize_t)m->len)
            g->sent++;
        else
            g->send_errors++; /* UDP: a full buffer is a lost packet, as SWIM expects */
    }
    for (size_t i = 0; g->changed && i < up->n_changes; i++)
        g->changed(g->arg, &up->changes[i], now);
    for (size_t i = 0; g->delivered && i < up->n_deliveries; i++)
        g->delivered(g->arg, &up->deliveries[i], now);
    if (g->timer)
        fl_loop_timer_cancel(g->loop, g->timer);
    g->timer = 0;
    if (up->next_tick_ns != FL_TIME_NEVER) {
        fl_time_ns delay = up->next_tick_ns > now ? up->next_tick_ns - now : 0;
        fl_loop_timer_start(g->loop, delay, on_timer, g, &g->timer);
    }
}

static int step(fl_gossip *g, fl_swim_event_kind kind, const uint8_t *data, size_t len)
{
    fl_swim_event ev = {.kind = kind, .now_ns = fl_loop_now(g->loop), .data = data, .len = len};
    fl_swim_update up;
    int rc = fl_swim_step(&g->core, &ev, &up);
    carry_out(g, &up);
    return rc;
}

static void on_timer(fl_loop *loop, void *arg)
{
    fl_gossip *g = arg;
    g->timer = 0;
    step(g, FL_SWIM_EV_TICK, NULL, 0);
}

/* Drains the socket (bounded per wakeup so one busy socket cannot starve the loop). */
static void on_readable(fl_loop *loop, fl_loop_watch *w, uint32_t events)
{
    fl_gossip *g = w->arg;
    uint8_t buf[FL_SWIM_PACKET_BYTES_MAX + 1];
    for (int i = 0; i < 256; i++) {
        fl_addr from;
        memset(&from, 0, sizeof(from));
        from.len = sizeof(from.ss);
        ssize_t n =
            recvfrom(g->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from.ss, &from.len);
        if (n < 0)
            return; /* EAGAIN, or an error the next wakeup reports again */
        g->received++;
        /* learn the sender's address from the header, only if the packet decodes */
        static fl_swim_packet p;
        if (fl_swim_decode(buf, (size_t)n, &p) == 0)
            peer_learn(g, p.sender, &from);
        step(g, FL_SWIM_EV_RECEIVE, buf, (size_t)n);
    }
}

int fl_gossip_start(fl_gossip *g, fl_loop *loop, const fl_gossip_config *c, fl_errmsg *m)
{
    memset(g, 0, sizeof(*g));
    g->fd = -1;
    g->loop = loop;
    g->changed = c->changed;
    g->delivered = c->delivered;
    g->arg = c->arg;
    if (c->n_peers > FL_GOSSIP_PEERS_MAX)
        return fl_errmsg_set(m, FL_ECONFIG, "at most %d peers", FL_GOSSIP_PEERS_MAX);
    g->peers = calloc(FL_GOSSIP_PEERS_MAX, sizeof(*g->peers));
    fl_node_id *ids = calloc((size_t)c->n_peers + 1, sizeof(*ids));
    if (!g->peers || !ids) {
        free(ids);
        fl_gossip_stop(g);
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < c->n_peers; i++) {
        peer_learn(g, c->peers[i].id, &c->peers[i].addr);
        ids[i] = c->peers[i].id;
    }
    ids[c->n_peers] = c->swim.id;
    fl_swim_config sc = c->swim;
    sc.initial = ids;
    sc.n_initial = c->n_peers + 1;
    fl_rng r;
    fl_rng_seed(&r, c->seed);
    char why[128];
    int rc = fl_swim_config_validate(&sc, why, sizeof(why));
    if (rc == 0)
        rc = fl_swim_init(&g->core, &sc, r);
    free(ids);
    if (rc) {
        fl_gossip_stop(g);
        return fl_errmsg_set(m, rc, "swim: %s", rc == FL_ECONFIG ? why : fl_strerror(rc));
    }
    g->started = true;
    g->fd = socket(c->bind.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->fd < 0 || bind(g->fd, (const struct sockaddr *)&c->bind.ss, c->bind.len) < 0) {
        int e = errno;
        fl_gossip_stop(g);
        return fl_errmsg_errno(m, FL_EIO, e, "udp socket/bind");
    }
    if ((rc = fl_loop_watch_start(loop, &g->watch, g->fd, FL_LOOP_READ, on_readable, g))) {
        fl_gossip_stop(g);
        return fl_errmsg_set(m, rc, "watch the udp socket");
    }
    step(g, FL_SWIM_EV_START, NULL, 0);
    return 0;
}

void fl_gossip_stop(fl_gossip *g)
{
    if (g->watch.active)
        fl_loop_watch_stop(g->loop, &g->watch);
    if (g->timer)
        fl_loop_timer_cancel(g->loop, g->timer);
    g->timer = 0;
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    if (g->started)
        fl_swim_free(&g->core);
    g->started = false;
    free(g->peers);
    g->peers = NULL;
    g->n_peers = 0;
}

int fl_gossip_local_addr(const fl_gossip *g, fl_addr *out, fl_errmsg *m)
{
    return fl_net_local_addr(g->fd, out, m);
}

int fl_gossip_leave(fl_gossip *g)
{
    return step(g, FL_SWIM_EV_LEAVE, NULL, 0);
}

int fl_gossip_broadcast(fl_gossip *g, const void *data, size_t len)
{
    return step(g, FL_SWIM_EV_BROADCAST, data, len);
}
