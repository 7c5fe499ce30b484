/* gossip.h: the SWIM core (swim.h) on real UDP: one agent per process (or several on one
 * event loop, for tests). The agent owns a non-blocking UDP socket watched by an fl_loop, feeds
 * received datagrams and its deadline to the core with the loop's monotonic time, sends what
 * the core emits and reports membership changes through a callback.
 *
 * Addresses: the core knows members by id. The agent maps ids to addresses from its peer list
 * and learns the address of any sender from its (authentic) datagrams (bounded table,
 * FL_GOSSIP_PEERS_MAX); a packet to an id with no known address is counted and dropped, and
 * the agent asks a known peer for that member's address (query protocol, MEMBERS).
 * Join addresses (--join HOST:PORT) are asked for their id (gossip_query.h WHOIS) until they
 * answer, then become seeds of the core. An agent configured without an id takes
 * fl_gossip_id_from_addr of its bound address.
 *
 * With a key (gossip_auth.h) every datagram in and out is sealed; anything that fails is
 * counted (rejected, replayed, malformed) and dropped before the core or the address table
 * sees it. The same socket answers the query protocol (gossip_query.h). */
#ifndef FAULTLINE_GOSSIP_H
#define FAULTLINE_GOSSIP_H

#include "faultline/errmsg.h"
#include "faultline/gossip_auth.h"
#include "faultline/loop.h"
#include "faultline/metrics.h"
#include "faultline/net.h"
#include "faultline/swim.h"

#define FL_GOSSIP_PEERS_MAX 4096

typedef struct fl_gossip_peer {
    fl_node_id id;
    fl_addr addr;
} fl_gossip_peer;

typedef struct fl_gossip_config {
    fl_swim_config swim; /* id, timing, seeds...; initial is taken from the peer ids */
    fl_addr bind;        /* port 0: an ephemeral port (fl_gossip_local_addr) */
    const fl_gossip_peer *peers;
    uint32_t n_peers;
    uint64_t seed;            /* the core's random stream */
    const fl_gossip_key *key; /* NULL or unset: no authentication */
    const fl_addr *join;      /* addresses to join through (ids learned by WHOIS) */
    uint32_t n_join;          /* <= FL_SWIM_SEEDS_MAX */
    void (*changed)(void *arg, const fl_swim_change *c, fl_time_ns now_ns);
    void (*delivered)(void *arg, const fl_swim_delivery *d, fl_time_ns now_ns);
    void *arg;
} fl_gossip_config;

typedef struct fl_gossip {
    fl_swim core;
    fl_loop *loop;
    int fd;
    fl_loop_watch watch;
    fl_loop_timer_id timer;
    fl_gossip_peer *peers; /* sorted by id */
    uint32_t n_peers;
    void (*changed)(void *arg, const fl_swim_change *c, fl_time_ns now_ns);
    void (*delivered)(void *arg, const fl_swim_delivery *d, fl_time_ns now_ns);
    void *arg;
    uint64_t sent, received, send_errors, no_address;
    uint64_t rejected;  /* failed authentication (or unsealed while keyed) */
    uint64_t replayed;  /* authentic but outside the time window, or seen before */
    uint64_t malformed; /* undecodable SWIM or query packets */
    uint64_t queries;   /* query packets answered */
    fl_gossip_key key;
    fl_gossip_replay replay;
    fl_addr join[FL_SWIM_SEEDS_MAX];
    bool join_done[FL_SWIM_SEEDS_MAX];
    uint32_t n_join, join_nonce;
    uint32_t addr_nonce, addr_rr; /* address queries: their nonce, the next peer to ask */
    fl_time_ns addr_query_ns;     /* when the last one went out */
    fl_loop_timer_id join_timer;
    bool started;
} fl_gossip;

/* A member id from an address (FNV-1a of family, port and IP; never 0): the same address gets
 * the same id after a restart. */
fl_node_id fl_gossip_id_from_addr(const fl_addr *a);

/* Binds the socket, starts the core and arms its timer. g is caller-owned (fl_gossip_stop).
 * Returns 0, FL_ECONFIG, FL_ENOMEM or FL_EIO with a message in m. */
int fl_gossip_start(fl_gossip *g, fl_loop *loop, const fl_gossip_config *c, fl_errmsg *m);
/* Stops watching, cancels the timer, closes the socket, frees the core. Idempotent. */
void fl_gossip_stop(fl_gossip *g);
int fl_gossip_local_addr(const fl_gossip *g, fl_addr *out, fl_errmsg *m);
/* Graceful leave (LEFT is disseminated while the agent keeps running). */
int fl_gossip_leave(fl_gossip *g);
/* A user broadcast (<= the core's user_bytes_max). */
int fl_gossip_broadcast(fl_gossip *g, const void *data, size_t len);
/* Registers the agent's metrics in reg on first call and sets them from its counters
 * (faultline_gossip_*: packets sent, received, dropped by reason; probes, suspicions, deaths;
 * the member table). Call before each fl_metrics_render. */
void fl_gossip_metrics(const fl_gossip *g, fl_metrics *reg);

#endif
