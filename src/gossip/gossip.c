/* gossip.c: the SWIM agent (gossip.h): start and stop, the datagram path and the core's
 * updates. All protocol decisions stay in the core; this file only moves datagrams and time in
 * and out, sealing and opening them when keyed, filling in and reading the address fields
 * (gossip_addr.c); STATE messages go to gossip_stream.c.
 * Invariant: while started, exactly one loop timer is armed for the core's next deadline (or
 * none when it has none). */
#include "gossip_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/gossip_query.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t fl__gossip_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fl__gossip_send(fl_gossip *g, const fl_addr *to, const uint8_t *p, size_t len)
{
    uint8_t buf[FL_SWIM_PACKET_BYTES_MAX];
    if (g->key.set) {
        FL_ASSERT(len + FL_GOSSIP_AUTH_BYTES <= sizeof(buf));
        memcpy(buf, p, len);
        len = fl_gossip_seal(&g->key, buf, len, fl__gossip_wall_ms());
        p = buf;
    }
    ssize_t n = sendto(g->fd, p, len, MSG_DONTWAIT, (const struct sockaddr *)&to->ss, to->len);
    if (n == (ssize_t)len)
        g->sent++;
    else
        g->send_errors++; /* UDP: a full buffer is a lost packet, as SWIM expects */
}

static void on_timer(fl_loop *loop, void *arg);

/* A packet from the core: its address fields filled in, then sent. */
static void send_packet(fl_gossip *g, const fl_swim_msg *m)
{
    const fl_addr *to = fl__gossip_addr_of(g, m->to);
    if (!to) {
        g->no_address++; /* the core only sends unasked to members we can reach */
        fl__gossip_want_addr(g, m->to);
        return;
    }
    uint8_t buf[FL_SWIM_PACKET_BYTES_MAX];
    FL_ASSERT(m->len <= sizeof(buf));
    memcpy(buf, m->data, m->len);
    fl__gossip_fill_addrs(g, buf, m->len);
    fl__gossip_send(g, to, buf, m->len);
}

#define TELL_MAX 64

/* Members the core just added without an address: the agent may have one already (from a
 * packet that came before the news), else it asks for one. At most TELL_MAX per update; the
 * rest wait for the next news or push-pull. */
static uint32_t unaddressed(fl_gossip *g, const fl_swim_update *up, fl_node_id *tell)
{
    uint32_t k = 0;
    for (size_t i = 0; i < up->n_changes && k < TELL_MAX; i++) {
        const fl_swim_change *c = &up->changes[i];
        if (!c->added || fl_swim_addressed(&g->core, c->id))
            continue;
        if (fl__gossip_addr_of(g, c->id))
            tell[k++] = c->id;
        else
            fl__gossip_want_addr(g, c->id);
    }
    return k;
}

static void carry_out(fl_gossip *g, const fl_swim_update *up)
{
    fl_time_ns now = fl_loop_now(g->loop);
    for (size_t i = 0; i < up->n_msgs; i++) {
        if (up->msgs[i].stream)
            fl__gossip_stream_send(g, &up->msgs[i]);
        else
            send_packet(g, &up->msgs[i]);
    }
    for (size_t i = 0; g->changed && i < up->n_changes; i++)
        g->changed(g->arg, &up->changes[i], now);
    for (size_t i = 0; g->delivered && i < up->n_deliveries; i++)
        g->delivered(g->arg, &up->deliveries[i], now);
    fl_node_id tell[TELL_MAX];
    uint32_t k = unaddressed(g, up, tell);
    if (g->timer)
        fl_loop_timer_cancel(g->loop, g->timer);
    g->timer = 0;
    if (up->next_tick_ns != FL_TIME_NEVER) {
        fl_time_ns delay = up->next_tick_ns > now ? up->next_tick_ns - now : 0;
        fl_loop_timer_start(g->loop, delay, on_timer, g, &g->timer);
    }
    for (uint32_t i = 0; i < k; i++) { /* the update above is spent: the core may step again */
        fl_swim_event ev = {.kind = FL_SWIM_EV_ADDRESS, .id = tell[i]};
        fl__gossip_step(g, &ev);
    }
}

int fl__gossip_step(fl_gossip *g, const fl_swim_event *ev)
{
    fl_swim_event e = *ev;
    e.now_ns = fl_loop_now(g->loop);
    fl_swim_update up;
    int rc = fl_swim_step(&g->core, &e, &up);
    if (up.decode_error)
        g->malformed++;
    carry_out(g, &up);
    return rc;
}

static int step(fl_gossip *g, fl_swim_event_kind kind, const uint8_t *data, size_t len)
{
    fl_swim_event ev = {.kind = kind, .data = data, .len = len};
    return fl__gossip_step(g, &ev);
}

static void on_timer(fl_loop *loop, void *arg)
{
    fl_gossip *g = arg;
    g->timer = 0;
    step(g, FL_SWIM_EV_TICK, NULL, 0);
}

/* One datagram: authenticated first (when keyed), then a query or a SWIM packet, whose sender
 * and address fields are learned before the core sees it. */
static void on_datagram(fl_gossip *g, uint8_t *buf, size_t n, const fl_addr *from)
{
    g->received++;
    if (g->key.set) {
        int rc = fl_gossip_open(&g->key, &g->replay, buf, n, fl__gossip_wall_ms(), &n);
        if (rc) {
            *(rc == FL_ESTALE ? &g->replayed : &g->rejected) += 1;
            return;
        }
    }
    if (n > 0 && buf[0] == FL_GQ_MAGIC) {
        fl__gossip_on_query(g, buf, n, from);
        return;
    }
    /* push-pull comes by TCP only; anything else must decode before it teaches us anything */
    if (fl_swim_is_state(buf, n) || fl__gossip_read_addrs(g, buf, n, from) != 0) {
        g->malformed++;
        return;
    }
    fl__gossip_learn(g, fl_get_u32le(buf + 4), from, true); /* the sender, first-hand */
    step(g, FL_SWIM_EV_RECEIVE, buf, n);
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
        on_datagram(g, buf, (size_t)n, &from);
    }
}

static int open_udp(fl_gossip *g, const fl_addr *bind_addr, fl_errmsg *m)
{
    g->fd = socket(bind_addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->fd < 0 || bind(g->fd, (const struct sockaddr *)&bind_addr->ss, bind_addr->len) < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "udp socket/bind");
    return fl_net_local_addr(g->fd, &g->local, m);
}

/* UDP, then TCP on the same address and port. With port 0 the kernel picks the UDP port, which
 * may be taken for TCP: then another pick, a few times. */
static int open_sockets(fl_gossip *g, const fl_addr *bind_addr, fl_errmsg *m)
{
    int rc = 0;
    for (int tries = 0; tries < 16; tries++) {
        if ((rc = open_udp(g, bind_addr, m)) || (rc = fl__gossip_stream_listen(g, m)) == 0 ||
            fl_addr_port(bind_addr) != 0)
            return rc;
        close(g->fd);
        g->fd = -1;
    }
    return rc;
}

/* The core's config: members from the peer list, id from the address when not given, packets
 * small enough to take the seal. */
static int start_core(fl_gossip *g, const fl_gossip_config *c, fl_errmsg *m)
{
    fl_swim_config sc = c->swim;
    if (sc.id == FL_NODE_NONE)
        sc.id = fl_gossip_id_from_addr(&g->local);
    if (g->key.set && sc.packet_bytes_max > FL_SWIM_PACKET_BYTES_MAX - FL_GOSSIP_AUTH_BYTES)
        sc.packet_bytes_max = FL_SWIM_PACKET_BYTES_MAX - FL_GOSSIP_AUTH_BYTES;
    /* every member the core may hold needs a place in the address table */
    if (sc.members_max > FL_GOSSIP_PEERS_MAX)
        sc.members_max = FL_GOSSIP_PEERS_MAX;
    if (sc.sync_max > FL_GOSSIP_PEERS_MAX)
        sc.sync_max = FL_GOSSIP_PEERS_MAX;
    sc.addr_bytes = fl__gossip_addr_bytes(&g->local);
    fl_node_id *ids = calloc((size_t)c->n_peers + 1, sizeof(*ids));
    if (!ids)
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < c->n_peers; i++) {
        fl__gossip_learn(g, c->peers[i].id, &c->peers[i].addr, true);
        ids[i] = c->peers[i].id;
    }
    ids[c->n_peers] = sc.id;
    sc.initial = ids;
    sc.n_initial = c->n_peers + 1;
    fl_rng r;
    fl_rng_seed(&r, c->seed ? c->seed : sc.id);
    char why[128];
    int rc = fl_swim_config_validate(&sc, why, sizeof(why));
    if (rc == 0)
        rc = fl_swim_init(&g->core, &sc, r);
    free(ids);
    if (rc)
        return fl_errmsg_set(m, rc, "swim: %s", rc == FL_ECONFIG ? why : fl_strerror(rc));
    g->started = true;
    return 0;
}

static int start(fl_gossip *g, fl_loop *loop, const fl_gossip_config *c, fl_errmsg *m)
{
    if (c->n_peers > FL_GOSSIP_PEERS_MAX)
        return fl_errmsg_set(m, FL_ECONFIG, "at most %d peers", FL_GOSSIP_PEERS_MAX);
    if (c->n_join > FL_SWIM_SEEDS_MAX)
        return fl_errmsg_set(m, FL_ECONFIG, "at most %d join addresses", FL_SWIM_SEEDS_MAX);
    if (c->key && c->key->set) {
        g->key = *c->key;
        if (fl_gossip_replay_init(&g->replay))
            return fl_errmsg_set(m, FL_ENOMEM, "replay cache (or libsodium) init failed");
    }
    g->peers = calloc(FL_GOSSIP_PEERS_MAX, sizeof(*g->peers));
    if (!g->peers)
        return fl_errmsg_set(m, FL_ENOMEM, "out of memory");
    int rc;
    if ((rc = open_sockets(g, &c->bind, m)) || (rc = start_core(g, c, m)))
        return rc;
    if ((rc = fl_loop_watch_start(loop, &g->watch, g->fd, FL_LOOP_READ, on_readable, g)))
        return fl_errmsg_set(m, rc, "watch the udp socket");
    if (c->n_join)
        memcpy(g->join, c->join, c->n_join * sizeof(*c->join));
    g->n_join = c->n_join;
    step(g, FL_SWIM_EV_START, NULL, 0);
    fl__gossip_join_start(g);
    return 0;
}

int fl_gossip_start(fl_gossip *g, fl_loop *loop, const fl_gossip_config *c, fl_errmsg *m)
{
    memset(g, 0, sizeof(*g));
    g->fd = g->tcp_fd = -1;
    for (int i = 0; i < FL_GOSSIP_STREAMS_MAX; i++)
        g->streams[i].fd = -1;
    g->loop = loop;
    g->changed = c->changed;
    g->delivered = c->delivered;
    g->arg = c->arg;
    int rc = start(g, loop, c, m);
    if (rc)
        fl_gossip_stop(g);
    return rc;
}

void fl_gossip_stop(fl_gossip *g)
{
    if (g->watch.active)
        fl_loop_watch_stop(g->loop, &g->watch);
    if (g->timer)
        fl_loop_timer_cancel(g->loop, g->timer);
    if (g->join_timer)
        fl_loop_timer_cancel(g->loop, g->join_timer);
    g->timer = g->join_timer = 0;
    fl__gossip_stream_stop(g);
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    if (g->started)
        fl_swim_free(&g->core);
    g->started = false;
    free(g->peers);
    g->peers = NULL;
    g->n_peers = 0;
    fl_gossip_replay_free(&g->replay);
    memset(&g->key, 0, sizeof(g->key));
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
