/* gossip.h: the SWIM core (swim.h) on real UDP and TCP: one agent per process (or several on
 * one event loop, for tests). The agent owns a non-blocking UDP socket and a TCP listener on
 * the same address and port, watched by an fl_loop; it feeds received datagrams and push-pull
 * streams and its deadline to the core with the loop's monotonic time, sends what the core
 * emits (packets by UDP, STATE messages on a TCP connection) and reports membership changes
 * through a callback.
 *
 * Addresses: the core knows members by id. The agent maps ids to addresses (bounded table,
 * FL_GOSSIP_PEERS_MAX): from its peer list, from the sender of every authentic datagram, and
 * from the address fields of ALIVE_AT items and STATE entries (swim.h), which it fills in
 * when sending (u8 family 4 or 6, u16 port, 4 or 16 bytes of IP; an unspecified IP means "the
 * address this came from", for an agent bound to 0.0.0.0 or ::) and reads when receiving, so
 * an address travels with the news that a member is alive. The core never probes a member
 * whose address the agent does not have; when it learns of one (gossip from a member that had
 * no address for it), the agent asks a known peer for it (query protocol, MEMBERS) and tells
 * the core (FL_SWIM_EV_ADDRESS).
 *
 * Push-pull over TCP (gossip_stream.c): a STATE message is one frame, u32 length (LE) then the
 * message, sealed like a datagram when keyed, at most fl_swim_stream_bytes_max + the seal; the
 * receiver answers on the same connection and both close. At most FL_GOSSIP_STREAMS_MAX
 * connections at once, each done within FL_GOSSIP_STREAM_TIMEOUT_NS. Join addresses (--join
 * HOST:PORT) are asked for their id (gossip_query.h WHOIS) until they answer, then become
 * seeds of the core, which push-pulls with them at once: the joining agent knows every member
 * and its address after one round trip. An agent configured without an id takes
 * fl_gossip_id_from_addr of its bound address.
 *
 * With a key (gossip_auth.h) every datagram and frame in and out is sealed; anything that fails
 * is counted (rejected, replayed, malformed) and dropped before the core or the address table
 * sees it. The UDP socket also answers the query protocol (gossip_query.h). */
#ifndef FAULTLINE_GOSSIP_H
#define FAULTLINE_GOSSIP_H

#include "faultline/errmsg.h"
#include "faultline/gossip_auth.h"
#include "faultline/loop.h"
#include "faultline/metrics.h"
#include "faultline/net.h"
#include "faultline/swim.h"

#define FL_GOSSIP_PEERS_MAX         4096 /* addresses known; also the core's members_max */
#define FL_GOSSIP_STREAMS_MAX       16   /* push-pull connections at once, both ways */
#define FL_GOSSIP_STREAM_TIMEOUT_NS (5 * FL_NS_PER_S)

struct fl_gossip;

/* One push-pull connection (gossip_stream.c). */
typedef struct fl_gossip_stream {
    struct fl_gossip *g;
    int fd; /* -1: slot free */
    fl_loop_watch watch;
    fl_loop_timer_id timer;
    uint8_t phase; /* gossip_stream.c */
    bool outbound;
    bool want_reply; /* outbound: read one frame back after ours */
    fl_addr peer;
    fl_buf out;
    size_t out_pos;
    fl_buf in;
} fl_gossip_stream;

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
    int tcp_fd; /* the push-pull listener */
    fl_loop_watch tcp_watch;
    bool tcp_paused; /* every stream slot busy: not accepting */
    fl_gossip_stream streams[FL_GOSSIP_STREAMS_MAX];
    fl_gossip_stream *reply_on; /* while an inbound STATE runs through the core: its stream */
    fl_node_id reply_to;
    fl_addr local;         /* our bound address (IP unspecified when bound to a wildcard) */
    fl_addr *src;          /* while a message is read: where it came from (unspecified IPs) */
    fl_gossip_peer *peers; /* sorted by id */
    uint32_t n_peers;
    void (*changed)(void *arg, const fl_swim_change *c, fl_time_ns now_ns);
    void (*delivered)(void *arg, const fl_swim_delivery *d, fl_time_ns now_ns);
    void *arg;
    uint64_t sent, received, send_errors, no_address;
    uint64_t rejected;                /* failed authentication (or unsealed while keyed) */
    uint64_t replayed;                /* authentic but outside the time window, or seen before */
    uint64_t malformed;               /* undecodable SWIM or query packets */
    uint64_t queries;                 /* query packets answered */
    uint64_t streams_out, streams_in; /* push-pull connections completed */
    uint64_t stream_errors;           /* connections failed, timed out or refused (busy) */
    fl_gossip_key key;
    fl_gossip_replay replay;
    fl_addr join[FL_SWIM_SEEDS_MAX];
    bool join_done[FL_SWIM_SEEDS_MAX];
    uint32_t n_join, join_nonce;
    uint32_t addr_nonce, addr_rr; /* address queries: their nonce, the next peer to ask */
    fl_time_ns addr_query_ns;     /* when the last one went out */
    fl_loop_timer_id join_timer;
    fl_time_ns join_retry_ns; /* the last WHOIS retry delay (backing off) */
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
