/* peer.h: the TCP transport between the nodes of one cluster, on the event loop.
 *
 * Each node listens on its cluster address and keeps one outgoing connection to every
 * other node; it sends only on its outgoing connections and receives only on accepted
 * ones, so there is never a duplicate pair to resolve. An outgoing connection starts with a
 * hello (magic "FLPR", version, cluster id, sender id, receiver id); the acceptor refuses
 * (logs and closes) a hello from another cluster, an unknown node or for another node.
 * Then both directions carry frames: length u32 (of what follows), type u8, payload; the
 * byte format is specified in src/server/peer.c.
 *
 * Bounds: a frame is at most FL_PEER_FRAME_BYTES_MAX; a send queue holds at most
 * queue_bytes_max bytes (a frame that does not fit is dropped: Raft retransmits); at most
 * FL_PEER_ACCEPTED_MAX accepted connections; one that has not sent its hello within
 * FL_PEER_HELLO_WAIT_NS is closed, and a new accepted hello from node X closes any older
 * connection from X (a restarted peer's half-open one). A lost connection is retried with
 * exponential backoff (50 ms doubling to 1 s); frames queued on it are dropped.
 *
 * TLS (fl_peers_config.tls): every connection is mutual TLS with the cluster CA, and names
 * are checked both ways (tls.h's rule): the connecting side goes on only if the acceptor's
 * certificate names the node it dialled; the acceptor takes a hello from node X only over a
 * connection whose certificate names X. The hello and every frame travel inside TLS. A failed
 * handshake or check is logged with its reason and the connection closed. */
#ifndef FAULTLINE_PEER_H
#define FAULTLINE_PEER_H

#include "faultline/buf.h"
#include "faultline/loop.h"
#include "faultline/net.h"
#include "faultline/raft.h"
#include "faultline/stream.h"

#define FL_PEER_FRAME_BYTES_MAX ((size_t)(64u << 20) + 4096)
#define FL_PEER_ACCEPTED_MAX    64
#define FL_PEER_HELLO_BYTES     24
#define FL_PEER_HELLO_WAIT_NS   (5 * FL_NS_PER_S)

/* Called for each frame received from node from; payload valid only during the call. */
typedef void (*fl_peer_frame_fn)(void *arg, fl_node_id from, uint8_t type, const uint8_t *p,
                                 size_t len);

typedef struct fl_peer_out {
    fl_node_id id;
    fl_addr addr;
    int fd;       /* -1 when not connected */
    fl_stream st; /* owns fd */
    bool connected;
    bool verified;    /* TLS handshake and name check done (plain: once connected) */
    fl_time_ns up_ns; /* when it was verified */
    fl_loop_watch w;
    fl_buf out;
    size_t out_off;
    fl_time_ns backoff_ns;
    fl_loop_timer_id retry_timer;
    uint64_t dropped;
    uint64_t bytes_sent, bytes_received; /* received: on accepted connections from id */
    struct fl_peers *ps;
} fl_peer_out;

typedef struct fl_peer_in {
    int fd;
    fl_stream st; /* owns fd */
    fl_loop_watch w;
    fl_buf in;
    fl_node_id from; /* 0 until the hello was accepted */
    fl_addr addr;
    fl_time_ns accepted_ns;
    struct fl_peers *ps;
} fl_peer_in;

typedef struct fl_peers_config {
    uint64_t cluster_id;
    fl_node_id self;
    uint32_t n; /* nodes, self included */
    fl_node_id ids[FL_RAFT_NODES_MAX];
    fl_addr addrs[FL_RAFT_NODES_MAX];
    size_t queue_bytes_max; /* per peer; 0 = 64 MiB */
    /* Required: the transport cannot go on (a timer it needs did not start: a peer would
     * never be reconnected). Called with the frame callback's arg; the owner stops. */
    void (*fatal)(void *arg, int code, const char *what);
    /* Where to listen for peers when it is not this node's own entry of addrs (listen_set):
     * a fault proxy (faultline nemesis) advertises addrs[self] and forwards here. */
    bool listen_set;
    fl_addr listen;
    const fl_tls *tls; /* mutual TLS on every connection; NULL = plaintext */
} fl_peers_config;

typedef struct fl_peers {
    fl_loop *loop;
    fl_peers_config cfg;
    int lfd;
    fl_loop_watch lw;
    fl_peer_out out[FL_RAFT_NODES_MAX]; /* the other nodes */
    uint32_t n_out;
    fl_peer_in *in[FL_PEER_ACCEPTED_MAX];
    fl_peer_frame_fn fn;
    void *arg;
    fl_loop_timer_id sweep_timer;
    uint64_t refused;
} fl_peers;

/* Listens on this node's address and starts connecting to the others. Returns 0 or an FL_E
 * code with the reason in m. */
int fl_peers_init(fl_peers *ps, fl_loop *loop, const fl_peers_config *cfg, fl_peer_frame_fn fn,
                  void *arg, fl_errmsg *m);
/* Queues one frame whose payload is head[0..head_len) followed by body[0..body_len) for
 * node to. Returns 0, FL_ESHUTDOWN (not connected; dropped), FL_EFULL (queue full; dropped),
 * FL_ETOOBIG or FL_ENOTFOUND (no such peer). */
int fl_peers_send(fl_peers *ps, fl_node_id to, uint8_t type, const void *head, size_t head_len,
                  const void *body, size_t body_len);
/* Writes queued frames now, as far as the sockets take them (the rest waits for the loop).
 * Called before a blocking fdatasync so that peers work in parallel with it. */
void fl_peers_flush(fl_peers *ps);
/* What metrics show of the link to one node. */
typedef struct fl_peer_stats {
    bool connected;      /* the outgoing connection is up (TLS: handshake and name check done) */
    size_t queue_bytes;  /* queued, not yet written */
    uint64_t dropped;    /* frames dropped (not connected, queue full) */
    uint64_t bytes_sent; /* written to the outgoing connection */
    uint64_t bytes_received;
} fl_peer_stats;
/* Fills *out for node id; returns false (and zeroes *out) if id is not a peer. */
bool fl_peers_stats(const fl_peers *ps, fl_node_id id, fl_peer_stats *out);
void fl_peers_close(fl_peers *ps);

#endif
