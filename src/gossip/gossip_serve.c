/* gossip_serve.c: the agent's answers to the query protocol (gossip_query.h), its join loop
 * (WHOIS to every join address, after 100 ms and then backing off to once a second, until it
 * answers with its id, which then becomes a seed of the core, FL_SWIM_EV_SEED: the core
 * push-pulls with it at once) and address discovery: addresses travel with ALIVE news
 * (gossip_addr.c), but a member that heard of another from someone without its address asks a known
 * peer for a MEMBERS page starting at that id, learns the addresses in the answer (never overriding
 * one learned first-hand) and tells the core, which may then probe it (FL_SWIM_EV_ADDRESS). */
#include "gossip_int.h"

#include "faultline/assert.h"
#include "faultline/gossip_query.h"
#include "faultline/rng.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* WHOIS to a join address that has not answered: after 100 ms, then twice as long each time
 * up to a second (agents started together find each other at once, a seed that is down is not
 * flooded) */
#define JOIN_RETRY_FIRST_NS (100 * FL_NS_PER_MS)
#define JOIN_RETRY_MAX_NS   FL_NS_PER_S
#define ADDR_QUERY_GAP_NS   (50 * FL_NS_PER_MS) /* at most 20 address queries a second */

/* A wildcard address (0.0.0.0 or ::) is no use to anyone else. */
static bool wildcard(const fl_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return true;
}

static void reply_whois(fl_gossip *g, const fl_gq_packet *q, const fl_addr *to)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, FL_GQ_WHOIS_REPLY, q->nonce, g->core.cfg.id, 0, 0);
    fl__gossip_send(g, to, b.data, b.len);
    fl_buf_free(&b);
}

static void reply_stats(fl_gossip *g, const fl_gq_packet *q, const fl_addr *to)
{
    uint64_t st[FL_GQ_STATS_N] = {
        [FL_GQ_ST_SENT] = g->sent,
        [FL_GQ_ST_RECEIVED] = g->received,
        [FL_GQ_ST_REJECTED] = g->rejected,
        [FL_GQ_ST_REPLAYED] = g->replayed,
        [FL_GQ_ST_MALFORMED] = g->malformed,
        [FL_GQ_ST_NO_ADDRESS] = g->no_address,
        [FL_GQ_ST_MEMBERS] = fl_swim_member_count(&g->core),
        [FL_GQ_ST_LIVE] = fl_swim_live_count(&g->core),
    };
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, FL_GQ_STATS_REPLY, q->nonce, g->core.cfg.id, 0, 0);
    fl_gq_encode_stats(&b, st);
    fl__gossip_send(g, to, b.data, b.len);
    fl_buf_free(&b);
}

static int cmp_entry(const void *a, const void *b)
{
    fl_node_id x = ((const fl_gq_entry *)a)->id, y = ((const fl_gq_entry *)b)->id;
    return x < y ? -1 : x > y;
}

/* Members with id >= q->offset in id order (a stable order across pages, unlike the core's
 * probe order), as many as fit in one packet. */
static void reply_members(fl_gossip *g, const fl_gq_packet *q, const fl_addr *to)
{
    uint32_t n = fl_swim_member_count(&g->core);
    fl_gq_entry *all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return; /* no answer: the client times out and says so */
    for (uint32_t i = 0; i < n; i++)
        fl_swim_member_at(&g->core, i, &all[i].id, &all[i].state, &all[i].incarnation);
    qsort(all, n, sizeof(*all), cmp_entry);
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, FL_GQ_MEMBERS_REPLY, q->nonce, g->core.cfg.id, q->offset, n);
    size_t room = FL_SWIM_PACKET_BYTES_MAX - (g->key.set ? FL_GOSSIP_AUTH_BYTES : 0);
    uint32_t put = 0;
    for (uint32_t i = 0; i < n && put < FL_GQ_PAGE_MAX && b.len + 28 <= room; i++) {
        if (all[i].id < q->offset)
            continue;
        const fl_addr *a = fl__gossip_addr_of(g, all[i].id);
        all[i].has_addr = a != NULL;
        if (a)
            all[i].addr = *a;
        else if (all[i].id == g->core.cfg.id)
            all[i].has_addr =
                fl_gossip_local_addr(g, &all[i].addr, NULL) == 0 && !wildcard(&all[i].addr);
        fl_gq_encode_entry(&b, 0, &all[i]);
        put++;
    }
    FL_ASSERT(b.err == 0 && b.len <= room);
    fl__gossip_send(g, to, b.data, b.len);
    fl_buf_free(&b);
    free(all);
}

/* A join address answered WHOIS: its id becomes a seed (nonce = join_nonce + index). */
static void on_whois_reply(fl_gossip *g, const fl_gq_packet *q, const fl_addr *from)
{
    uint32_t i = q->nonce - g->join_nonce;
    if (i >= g->n_join || g->join_done[i] || q->agent == FL_NODE_NONE || q->agent == g->core.cfg.id)
        return;
    g->join_done[i] = true;
    fl__gossip_learn(g, q->agent, from, true);
    fl_swim_event ev = {.kind = FL_SWIM_EV_SEED, .id = q->agent};
    fl__gossip_step(g, &ev);
}

/* The answer to our address query: learn what we do not know first-hand, and tell the core
 * about the members it could not reach so far. */
static void on_members_reply(fl_gossip *g, const fl_gq_packet *q)
{
    if (q->nonce != g->addr_nonce)
        return;
    fl_node_id tell[FL_GQ_PAGE_MAX];
    uint32_t k = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        const fl_gq_entry *e = &q->e[i];
        if (e->has_addr && e->id != g->core.cfg.id && !fl__gossip_addr_of(g, e->id) &&
            !wildcard(&e->addr) && fl__gossip_learn(g, e->id, &e->addr, false) &&
            fl_swim_member(&g->core, e->id, NULL, NULL) == 0 && !fl_swim_addressed(&g->core, e->id))
            tell[k++] = e->id;
    }
    for (uint32_t i = 0; i < k; i++) {
        fl_swim_event ev = {.kind = FL_SWIM_EV_ADDRESS, .id = tell[i]};
        fl__gossip_step(g, &ev);
    }
}

void fl__gossip_want_addr(fl_gossip *g, fl_node_id id)
{
    fl_time_ns now = fl_loop_now(g->loop);
    if (g->n_peers == 0 || (g->addr_query_ns && now - g->addr_query_ns < ADDR_QUERY_GAP_NS))
        return;
    g->addr_query_ns = now;
    /* every member talks to the join addresses first, so they know the most addresses: ask
     * one of them every other time, a known peer otherwise (spreading the asking) */
    uint32_t k = g->addr_rr++;
    const fl_addr *to = &g->peers[(k / 2) % g->n_peers].addr;
    if (k % 2 == 0 && g->n_join)
        to = &g->join[(k / 2) % g->n_join];
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, FL_GQ_MEMBERS, g->addr_nonce, g->core.cfg.id, id, 0);
    fl__gossip_send(g, to, b.data, b.len);
    fl_buf_free(&b);
}

void fl__gossip_on_query(fl_gossip *g, const uint8_t *p, size_t len, const fl_addr *from)
{
    static fl_gq_packet q;
    if (fl_gq_decode(p, len, &q) != 0) {
        g->malformed++;
        return;
    }
    g->queries++;
    switch (q.type) {
    case FL_GQ_WHOIS:
        reply_whois(g, &q, from);
        break;
    case FL_GQ_STATS:
        reply_stats(g, &q, from);
        break;
    case FL_GQ_MEMBERS:
        reply_members(g, &q, from);
        break;
    case FL_GQ_WHOIS_REPLY:
        on_whois_reply(g, &q, from);
        break;
    case FL_GQ_MEMBERS_REPLY:
        on_members_reply(g, &q);
        break;
    default:
        break; /* replies we did not ask for */
    }
}

static void join_tick(fl_loop *loop, void *arg)
{
    fl_gossip *g = arg;
    g->join_timer = 0;
    bool pending = false;
    fl_buf b;
    fl_buf_init(&b);
    for (uint32_t i = 0; i < g->n_join; i++) {
        if (g->join_done[i])
            continue;
        pending = true;
        fl_buf_reset(&b);
        fl_gq_encode_header(&b, FL_GQ_WHOIS, g->join_nonce + i, g->core.cfg.id, 0, 0);
        fl__gossip_send(g, &g->join[i], b.data, b.len);
    }
    fl_buf_free(&b);
    if (!pending)
        return;
    g->join_retry_ns = g->join_retry_ns ? g->join_retry_ns * 2 : JOIN_RETRY_FIRST_NS;
    if (g->join_retry_ns > JOIN_RETRY_MAX_NS)
        g->join_retry_ns = JOIN_RETRY_MAX_NS;
    fl_loop_timer_start(loop, g->join_retry_ns, join_tick, g, &g->join_timer);
}

void fl__gossip_join_start(fl_gossip *g)
{
    /* replies are matched by nonce: a start no other agent is likely to use */
    g->join_nonce = (uint32_t)fl_mix64(g->core.cfg.id ^ (uint64_t)fl_loop_now(g->loop));
    g->addr_nonce = g->join_nonce + FL_SWIM_SEEDS_MAX; /* outside the join nonces */
    if (g->n_join)
        join_tick(g->loop, g);
}
