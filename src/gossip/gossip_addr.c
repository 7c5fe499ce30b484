/* gossip_addr.c: the agent's address table (member id -> UDP address, sorted by id, bounded by
 * FL_GOSSIP_PEERS_MAX) and the address fields of SWIM messages (swim.h: ALIVE_AT items and
 * STATE entries), which carry a member's address with the news that it is alive:
 *
 *   u8 family (4 or 6; 0 = no address)   u16 port (LE)   4 or 16 bytes of IP
 *
 * An unspecified IP (an agent bound to 0.0.0.0 or ::) stands for "the address this message
 * came from". Invariant: every member the core holds reachable (fl_swim_addressed) has an
 * entry here: a field the agent cannot use or store has its first byte cleared before the core
 * reads it, and a full table makes room only by forgetting an id the core does not know.
 * Cost: lookup O(log N), insertion O(N) (a shift; the table is small). */
#include "gossip_int.h"

#include "faultline/error.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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

const fl_addr *fl__gossip_addr_of(fl_gossip *g, fl_node_id id)
{
    const fl_gossip_peer *p = peer_find(g, id);
    return p ? &p->addr : NULL;
}

/* A full table forgets one id the core does not know (an outsider's, or a reaped member's):
 * O(N), only when full. */
static bool make_room(fl_gossip *g)
{
    for (uint32_t i = 0; g->started && i < g->n_peers; i++)
        if (fl_swim_member(&g->core, g->peers[i].id, NULL, NULL) != 0) {
            memmove(&g->peers[i], &g->peers[i + 1], (g->n_peers - i - 1) * sizeof(*g->peers));
            g->n_peers--;
            return true;
        }
    return false;
}

bool fl__gossip_learn(fl_gossip *g, fl_node_id id, const fl_addr *a, bool first_hand)
{
    fl_gossip_peer *p = peer_find(g, id);
    if (p) {
        if (first_hand)
            p->addr = *a;
        return true;
    }
    if (g->n_peers == FL_GOSSIP_PEERS_MAX && !make_room(g))
        return false;
    uint32_t i = g->n_peers;
    while (i > 0 && g->peers[i - 1].id > id) {
        g->peers[i] = g->peers[i - 1];
        i--;
    }
    g->peers[i].id = id;
    g->peers[i].addr = *a;
    g->n_peers++;
    return true;
}

fl_node_id fl_gossip_id_from_addr(const fl_addr *a)
{
    uint8_t key[19];
    size_t n = 0;
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
    key[n++] = (uint8_t)a->ss.ss_family;
    if (a->ss.ss_family == AF_INET6) {
        memcpy(key + n, &v6->sin6_port, 2);
        memcpy(key + n + 2, &v6->sin6_addr, 16);
        n += 18;
    } else {
        memcpy(key + n, &v4->sin_port, 2);
        memcpy(key + n + 2, &v4->sin_addr, 4);
        n += 6;
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 16777619u;
    return h ? h : 1;
}

uint32_t fl__gossip_addr_bytes(const fl_addr *local)
{
    return local->ss.ss_family == AF_INET6 ? 1 + 2 + 16 : 1 + 2 + 4;
}

/* ---- address fields -------------------------------------------------------------------------- */

/* Encodes a into a field of len bytes; false if it does not fit (or is of no known family). */
static bool put_field(const fl_addr *a, uint8_t *f, size_t len)
{
    uint16_t port = fl_addr_port(a);
    if (a->ss.ss_family == AF_INET && len >= 7) {
        f[0] = 4;
        memcpy(f + 3, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
    } else if (a->ss.ss_family == AF_INET6 && len >= 19) {
        f[0] = 6;
        memcpy(f + 3, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
    } else {
        return false;
    }
    f[1] = (uint8_t)port;
    f[2] = (uint8_t)(port >> 8);
    return true;
}

static void fill_one(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    fl_gossip *g = arg;
    const fl_addr *a = id == g->core.cfg.id ? &g->local : fl__gossip_addr_of(g, id);
    if (len > 0 && !(a && put_field(a, field, len)))
        field[0] = 0; /* no address: the receiver's core will not count on one */
}

void fl__gossip_fill_addrs(fl_gossip *g, uint8_t *msg, size_t len)
{
    (void)fl_swim_addr_fields(msg, len, fill_one, g); /* our own core's message: it decodes */
}

/* Decodes a field; an unspecified IP becomes src's. False for anything unusable. */
static bool get_field(const uint8_t *f, size_t len, const fl_addr *src, fl_addr *a)
{
    memset(a, 0, sizeof(*a));
    uint16_t port = (uint16_t)(f[1] | f[2] << 8);
    static const uint8_t zero[16];
    if (f[0] == 4 && len >= 7 && port) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        memcpy(&v4->sin_addr, f + 3, 4);
        if (!memcmp(f + 3, zero, 4) && src && src->ss.ss_family == AF_INET)
            v4->sin_addr = ((const struct sockaddr_in *)&src->ss)->sin_addr;
        a->len = sizeof(*v4);
        return v4->sin_addr.s_addr != 0;
    }
    if (f[0] == 6 && len >= 19 && port) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        memcpy(&v6->sin6_addr, f + 3, 16);
        if (!memcmp(f + 3, zero, 16) && src && src->ss.ss_family == AF_INET6)
            v6->sin6_addr = ((const struct sockaddr_in6 *)&src->ss)->sin6_addr;
        a->len = sizeof(*v6);
        return !IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
    }
    return false;
}

typedef struct read_ctx {
    fl_gossip *g;
    const fl_addr *src;
    bool empty; /* a field with no room at all: the message is refused */
} read_ctx;

static void read_one(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    read_ctx *c = arg;
    fl_addr a;
    if (len == 0) {
        c->empty = true;
        return;
    }
    if (field[0] == 0 || id == c->g->core.cfg.id)
        return;
    if (!get_field(field, len, c->src, &a) || !fl__gossip_learn(c->g, id, &a, false))
        field[0] = 0;
}

int fl__gossip_read_addrs(fl_gossip *g, uint8_t *msg, size_t len, const fl_addr *src)
{
    read_ctx c = {.g = g, .src = src};
    int rc = fl_swim_addr_fields(msg, len, read_one, &c);
    return rc ? rc : c.empty ? FL_ECORRUPT : 0;
}
