/* server.h: one real faultline node: Raft over TCP (peer.h), its log in a WAL
 * (raft_store.h), the kv state machine (kv.h), and a RESP server for clients (resp.h), all
 * on one event loop thread.
 *
 * Clients talk RESP to any node. Every command that reads or writes the store goes through
 * the Raft log (linearizable): the node that received it proposes it (a follower forwards the
 * encoded kv command to the leader, which answers with the index and term it got) and answers
 * the client when it applies that index itself with the same term, as the simulator does.
 * Each RESP connection is one kv client session (client id + seq), so a retried write is
 * applied at most once. See docs/server.md. */
#ifndef FAULTLINE_SERVER_H
#define FAULTLINE_SERVER_H

#include "faultline/cons_types.h"
#include "faultline/errmsg.h"
#include "faultline/net.h"
#include "faultline/raft.h"
#include "faultline/tls.h"

#define FL_SERVER_PASS_MAX 128

/* How a GET is answered (docs/server.md). All three are linearizable; lease only while the
 * real clock drift between nodes stays within max_drift_ppm. */
typedef enum fl_server_read_mode {
    FL_SERVER_READ_INDEX = 0, /* ReadIndex: a heartbeat round confirms the leader (default);
                                 a follower asks the leader for the index and serves locally */
    FL_SERVER_READ_LEASE = 1, /* the leader answers at once while its lease holds */
    FL_SERVER_READ_LOG = 2,   /* the read goes through the log like a write */
} fl_server_read_mode;

typedef struct fl_server_config {
    fl_cons_protocol protocol; /* the consensus core: raft (default) or paxos */
    fl_node_id id;
    uint32_t n; /* cluster members, self included */
    fl_node_id ids[FL_RAFT_NODES_MAX];
    fl_addr addrs[FL_RAFT_NODES_MAX];
    /* The bootstrap voters (0: every member). The others start outside the configuration,
     * empty, waiting for FL.ADD; every node must be given the same list. */
    uint32_t n_voters;
    fl_node_id voters[FL_RAFT_NODES_MAX];
    uint64_t cluster_id; /* derived from the member list unless set */
    fl_addr listen;      /* RESP */
    char data_dir[400];
    char requirepass[FL_SERVER_PASS_MAX]; /* "" = no AUTH required */
    fl_time_ns election_timeout_ns;       /* default 300 ms */
    fl_time_ns heartbeat_ns;              /* default 50 ms */
    fl_time_ns op_timeout_ns;             /* a client command's deadline, default 10 s */
    uint32_t clients_max;                 /* RESP connections (--maxclients), default 10000 */
    uint32_t timeout_s; /* --timeout: close a client idle this many seconds; 0 = never */
    uint32_t
        snapshot_every; /* snapshot the kv every N applied entries (default 10000); 0 = never */
    /* and not before the entries applied since weigh 1/N of the last snapshot (default 2;
     * 0 = entries only): host.h snapshot_log_share */
    uint32_t snapshot_log_share;
    /* a snapshot's child that sends nothing for this long is killed and the snapshot tried
     * again later (host.h snapshot_timeout_ns; default FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT, 60 s;
     * 0 = never: a hung child stops the node's compaction for good) */
    fl_time_ns snapshot_timeout_ns;
    uint32_t fault_fsync_fail_after; /* test hook: the Nth WAL fdatasync fails; 0 = off */
    bool fault_reorder_reads;        /* test hook: reads overtake their connection's writes */
    fl_server_read_mode read_mode;   /* how GET is served, default FL_SERVER_READ_INDEX */
    uint32_t max_drift_ppm;          /* FL_SERVER_READ_LEASE: declared clock drift bound */
    /* Listen for peers here instead of at this node's --cluster entry (peer_listen_set), so a
     * fault proxy can sit at the advertised address (faultline nemesis). */
    bool peer_listen_set;
    fl_addr peer_listen;
    uint32_t mutants;     /* test hook: planted Raft bugs (raft.h fl_raft_mutant); 0 = none */
    bool no_check_quorum; /* Raft option: a leader cut off from a quorum keeps leading */
    bool no_sync_inline;  /* --sync-inline off: never fdatasync on the loop's thread */
    /* TLS (tls_on; tls.h): the client port serves TLS with tls.cert (clients must present a
     * certificate of tls.ca with tls_client_auth); the peer port is mutual TLS: a peer is
     * accepted only with a certificate of tls.ca named for the node id it claims. */
    bool tls_on;
    bool tls_client_auth;
    fl_tls_config tls;
    /* /metrics in the Prometheus text format, served over HTTP here (metrics_on) */
    bool metrics_on;
    fl_addr metrics;
} fl_server_config;

/* Defaults for everything but id, members, listen and data_dir. */
void fl_server_config_default(fl_server_config *c);
/* Parses "1=127.0.0.1:7001,2=127.0.0.1:7002,..." into c->ids / addrs / n and derives
 * c->cluster_id from it (the same list in any order gives the same id). */
int fl_server_parse_cluster(fl_server_config *c, const char *spec, fl_errmsg *m);

/* Parses "1,2,3" into c->voters (after fl_server_parse_cluster: each must be a member). */
int fl_server_parse_voters(fl_server_config *c, const char *spec, fl_errmsg *m);

/* Runs the node until SIGINT or SIGTERM (returns 0) or a fatal error such as a failed
 * fsync (returns its FL_E code, reason in m). */
int fl_server_run(const fl_server_config *c, fl_errmsg *m);

#endif
