/* server_int.h: the private state of a running node (server.h), shared by server.c (the
 * host, timers), server_ops.c (routing client operations through the log),
 * server_conn.c (RESP connections) and server_cmd.c (the command table). */
#ifndef FL_SERVER_INT_H
#define FL_SERVER_INT_H

#include "faultline/kv.h"
#include "faultline/kv_order.h"
#include "faultline/loop.h"
#include "faultline/peer.h"
#include "faultline/fs_posix.h"
#include "faultline/freer.h"
#include "faultline/host.h"
#include "faultline/resp.h"
#include "faultline/server.h"
#include "faultline/stream.h"

#include <sys/types.h>

#define SRV_OPS_MAX         65536 /* client operations in flight, whole node */
#define SRV_PIPELINE_MAX    1024  /* operations in flight on one connection */
#define SRV_HOUSEKEEP_NS    (10 * FL_NS_PER_MS)
#define SRV_FORWARD_WAIT_NS (1000 * FL_NS_PER_MS)
/* A sync run on the loop's thread when idle (server.c, sync_idle): at most this many bytes of
 * records, one page (one connection's write is one record). Batches past it come from load:
 * with 64 KiB, followers of a pipelined load synced inline and sat 10-20 ms in fdatasync
 * (the shared VM's disk), heartbeats and ReadIndex answers waiting behind. The host's
 * constant: the simulator's held syncs use the same bound. */
#define SRV_SYNC_INLINE_BYTES FL_HOST_SYNC_INLINE_BYTES
#define SRV_WATCH_MAX         1024 /* WATCHed keys per connection */
#define SRV_NAME_MAX          64   /* CLIENT SETNAME */
#define SRV_OP_POOL_MAX       4096 /* freed ops kept for reuse */
#define SRV_OP_KEEP_BYTES     4096 /* a pooled op's buffer grown past this is freed */
#define SRV_OP_KEEP_ARGS      64   /* likewise its argument array */

/* Peer frame types. */
enum {
    FRAME_RAFT = 1,
    FRAME_PROPOSE = 2,
    FRAME_PROPOSED = 3,
    FRAME_RESULT = 4,
    FRAME_ADDR = 5, /* the sender's client (RESP) address, text: INFO names the leader's */
};

/* A leader's record of a proposal forwarded by another node: the result goes back to it. */
typedef struct fwd_rec {
    fl_index index;
    fl_term term;
    uint64_t fwd_id;
    fl_node_id from;
} fwd_rec;

typedef struct srv srv;
typedef struct conn conn;
typedef struct op op;

/* Where an operation is waiting. */
typedef enum {
    OP_NEW,
    OP_READY,
    OP_WAIT_LEADER,
    OP_FORWARDED,
    OP_PROPOSED,
    OP_READING, /* a read by ReadIndex, waiting for the core to decide it (any node) */
    OP_DECIDED, /* a read the core confirmed, served when its connection's turn comes */
    OP_HELD,    /* behind an earlier ReadIndex read of its connection (kv_order.h) */
    OP_DONE
} op_state;

typedef struct op_list {
    op *head, *tail;
    size_t count;
} op_list;

struct op {
    srv *s;
    conn *c;         /* NULL once the connection closed (the op is then dropped when done) */
    op *c_next;      /* the connection's reply order */
    op *prev, *next; /* in the list of its state */
    op_state state;
    const struct cmd_def *def;
    /* the arguments, copied: argv[i].p points into args */
    size_t argc;
    fl_resp_arg *argv; /* room for argv_cap */
    size_t argv_cap;
    fl_buf args;
    /* the kv command (its seq filled in when it takes the log path) */
    fl_buf cmd;
    fl_buf kargs; /* the command's argument list (fl_kv_cmd.args) while it is built */
    bool read, may_index;
    fl_kv_route route; /* 0 until routed */
    bool resp3;        /* the connection's protocol when the command arrived */
    uint8_t kflags;    /* the kv flags it was built with (replies depend on GET, NX) */
    op *queue;         /* EXEC: the queued commands (owned), linked by q_next */
    op *q_next;
    uint64_t fwd_id;
    uint64_t read_ctx; /* OP_READING: the ctx of its ReadIndex read (shared by a batch) */
    bool no_index;     /* the core refused its batch's read: route it the usual way once */
    fl_index index;
    fl_term term;
    fl_time_ns attempt_deadline;
    fl_time_ns deadline;
    fl_buf reply;
};

struct conn {
    srv *s;
    int fd;
    fl_stream st; /* plain or TLS (stream.h); owns fd */
    fl_loop_watch w;
    fl_resp_parser parser;
    fl_buf in, out;
    size_t out_off;
    op *fifo_head, *fifo_tail;
    /* fl__ops_progress is walking the FIFO; a nested call (an op it serves finishes) only
     * asks for one more walk once it is done */
    bool progressing, progress_again;
    size_t inflight;
    uint64_t client_id; /* the kv session */
    uint64_t seq;
    uint64_t id; /* CLIENT ID: small, per node */
    fl_kv_order order;
    fl_time_ns last_io; /* --timeout closes a connection idle since */
    char name[SRV_NAME_MAX + 1];
    char addr[FL_ADDR_STR_MAX];
    bool resp3; /* HELLO 3 */
    /* MULTI: the commands queued so far; an error while queueing aborts the EXEC */
    bool in_multi, multi_dirty;
    op *q_head, *q_tail;
    size_t q_count;
    /* WATCH: keys with the index each was watched at (kv argument list of pairs) */
    fl_buf watched;
    uint32_t n_watched;
    bool authed;
    bool closing;      /* close once out is written */
    bool stalled;      /* parsing stopped at SRV_PIPELINE_MAX with input left in `in` */
    bool flush_queued; /* in srv.flush_head: replies to write at the end of the iteration */
    conn *flush_next;
    conn *prev, *next;
};

/* server_stall.c: the kinds of work a slow loop pass is broken down into */
enum {
    SRV_WORK_FORK,
    SRV_WORK_SNAP_READ,
    SRV_WORK_SNAP_TAKE,
    SRV_WORK_SYNC_START,
    SRV_WORK_SYNC_DONE,
    SRV_WORK_PEER,
    SRV_WORK_CLIENT,
    SRV_WORK_KICK,
    SRV_WORK_COUNT
};
#define SRV_STALL_MS      10 /* a loop pass this long is logged (warn) */
#define SRV_STALL_SYNC_MS 50 /* a group commit this long is logged (warn) */
struct srv_stall {
    fl_time_ns ns[SRV_WORK_COUNT]; /* this pass: time in each kind of work */
    uint32_t n[SRV_WORK_COUNT];
};

struct srv {
    fl_server_config cfg;
    fl_loop loop;
    fl_peers peers;
    fl_fs_posix fs;       /* the data directory */
    fl_host host;         /* the node: core, store, snapshots (host.h) */
    fl_freer freer;       /* frees the log payloads a snapshot drops, off the loop (freer.h) */
    fl_wal_faults faults; /* test hooks (all zero in production) */
    fl_kv kv;
    bool host_up, kv_up, fs_up, peers_up;
    fl_buf scratch;
    fl_buf stamp; /* a proposal with the leader's time stamped in */
    /* timers */
    fl_loop_timer_id tick_timer;
    fl_time_ns tick_deadline;
    unsigned soon; /* SRV_SOON_*: work for the end of this iteration (fl__srv_soon) */
    fl_loop_timer_id soon_timer;
    fl_loop_watch sync_watch;     /* the sync worker's completion eventfd */
    uint64_t sync_collected_pass; /* the loop pass that last collected a worker's job */
    fl_time_ns sync_short_ns;     /* how long the last short sync job took (start to end) */
    /* clients */
    int lfd;
    fl_loop_watch lw;
    int sigfd;
    fl_loop_watch sw;
    conn *conns;
    conn *flush_head; /* connections with replies to write */
    size_t n_conns;
    uint64_t client_id_base;
    uint64_t next_client;
    /* operations by state */
    op_list ready, wait_leader, forwarded, proposed, reading, decided, held;
    uint64_t next_read_ctx;
    uint64_t read_batch; /* the ctx of the reads routed in this pass, 0: none yet */
    size_t n_ops;
    op *op_pool; /* freed ops for reuse (linked by next), at most SRV_OP_POOL_MAX */
    size_t op_pool_count;
    uint64_t next_fwd_id;
    fwd_rec *fwd_ring; /* SRV_OPS_MAX, FIFO in index order */
    size_t fwd_head, fwd_count;
    /* fatal error (fsync, out of memory): the loop stops and run returns it */
    int fatal;
    fl_errmsg fatal_msg;
    /* counters */
    uint64_t ops_done, ops_retried, ops_timeout, forwarded_in, reads_by_index;
    fl_node_id last_leader;
    fl_cons_role last_role;
    /* every member's client address (FRAME_ADDR), for INFO */
    char client_addr[FL_RAFT_NODES_MAX][FL_ADDR_STR_MAX];
    uint64_t housekeeps;
    fl_time_ns started_ns;
    uint64_t next_conn_id;
    uint64_t commands, connections_total, rejected_conns;
    uint32_t clients_max;        /* cfg.clients_max, lowered to what the fd limit allows */
    fl_index expiry_noop;        /* the index of a noop proposed to expire keys, 0 = none */
    struct srv_metrics *metrics; /* --metrics (server_metrics.c); NULL when off */
    fl_tls tls;                  /* cfg.tls loaded (tls_up): the client and peer ports' TLS */
    bool tls_up;
    uint64_t tls_refused; /* client connections whose TLS handshake failed */
    /* a snapshot being serialized by a forked child (server_snap.c) */
    pid_t snap_pid; /* 0: none */
    int snap_fd;
    fl_loop_watch snap_watch;
    fl_index snap_index;
    fl_buf snap_bytes;
    uint32_t snap_crc; /* of snap_bytes, as they come */
    /* snapshots that yielded nothing: a fork refused or a child that failed, died or was cut
     * short (FL.STATUS snapshot_failures: the nemesis's compaction check reads it) */
    uint64_t snap_failures;
    /* server_stall.c: the current pass's work, the running group commit's start */
    struct srv_stall stall;
    fl_time_ns stall_sync_t0;
    size_t stall_sync_snap;
    bool stall_sync_short; /* the running job is short (fl_raft_store_sync_small) */
    uint64_t stall_sync_records;
};

/* server.c */
/* The node's Raft state (Raft-only commands and status), NULL for a Paxos node. */
static inline const fl_raft *fl__srv_raft(const srv *s)
{
    return fl_cons_raft(fl_host_core(&s->host));
}
/* For routing, either protocol: whether this node leads, whom it follows, what it applied. */
static inline bool fl__srv_leads(const srv *s)
{
    return fl_cons_role_of(fl_host_core(&s->host)) == FL_CONS_LEADER;
}
static inline fl_node_id fl__srv_leader(const srv *s)
{
    return fl_cons_leader_of(fl_host_core(&s->host));
}
static inline fl_index fl__srv_applied(const srv *s)
{
    return fl_cons_applied_of(fl_host_core(&s->host));
}
int fl__srv_propose(srv *s, const uint8_t *cmd, size_t len, fl_index *index, fl_term *term);
/* Work left for the end of this loop iteration, done once there in this order: route the
 * ready ops (their proposals, their reads), start the group commit of what was appended
 * (peers written first: followers work while we fsync), write what else the peers have
 * queued, write the replies. One send() per peer and per connection per iteration. */
enum {
    SRV_SOON_KICK = 1,
    SRV_SOON_SYNC = 2,
    SRV_SOON_PEERS = 4,
    SRV_SOON_REPLIES = 8,
    SRV_SOON_TICK = 16, /* the core's deadline is now (a read round owed): after the kick */
};
void fl__srv_soon(srv *s, unsigned what);
/* A linearizable read by ReadIndex at any node (the core asks the leader when this node is a
 * follower or learner); decided later through fl__ops_reads. */
int fl__srv_read(srv *s, uint64_t ctx);
/* A membership change at this node (the leader); index: where its config entry went. */
int fl__srv_change(srv *s, const fl_raft_conf *want, fl_index *index);
/* Starts a leadership transfer to voter `to` (FL_RAFT_EV_TRANSFER): 0, or the core's error. */
int fl__srv_transfer(srv *s, fl_node_id to);
void fl__srv_fatal(srv *s, int code, const char *what);
const char *fl__srv_addr_of(const srv *s, fl_node_id id, char *out);

/* server_snap.c: env.snapshot_start (a forked child serializes the kv), and its end at stop */
int fl__srv_snapshot_start(srv *s, fl_index index);
/* env.snapshot_cancel: the child of index killed and reaped, its bytes dropped, a failure
 * and a timeout counted, a warning logged (the host's watchdog gave it up). */
void fl__srv_snapshot_cancel(srv *s, fl_index index);
void fl__srv_snapshot_stop(srv *s);

/* server_stall.c: slow loop passes and group commits, logged with what they did */
fl_time_ns fl__stall_now(void);
void fl__stall_add(srv *s, int what, fl_time_ns t0); /* time since t0 spent on `what` */
void fl__stall_pass_end(srv *s);                     /* after each loop pass */
void fl__stall_sync(srv *s, bool started);           /* a group commit starts / is done */

/* server_ops.c */
op *fl__op_new(srv *s, conn *c);
void fl__op_free(op *o); /* back to the pool */
void fl__ops_drain_pool(srv *s);
void fl__op_submit(op *o); /* route o->cmd (again) */
void fl__op_finish(op *o); /* o->reply is complete */
void fl__ops_applied(srv *s, fl_index index, fl_term term, const fl_kv_result *res);
/* The kv was replaced by a snapshot up to index: operations waiting on entries inside it are
 * retried (their sessions make that exactly-once). */
void fl__ops_restored(srv *s, fl_index index);
/* The core decided ReadIndex reads: answer them from the kv, or retry them through routing. */
void fl__ops_reads(srv *s, const fl_cons_read *reads, size_t n);
void fl__ops_kick(srv *s);      /* submit the ready list from a timer */
void fl__ops_housekeep(srv *s); /* leader waits, forward timeouts, deadlines */
void fl__ops_frame(srv *s, fl_node_id from, uint8_t type, const uint8_t *p, size_t len);
void fl__ops_close_all(srv *s);
/* Routes a built command of a connection (kv_order.h: through the log, by ReadIndex, or
 * held). */
void fl__op_route_cmd(op *o);
/* The connection's ops may move on (a read served, a command done): serve the reads whose
 * turn came, release the held ones. */
void fl__ops_progress(conn *c);
/* A member's client address (INFO), or "" when not heard yet. */
const char *fl__ops_client_addr(srv *s, fl_node_id id);

/* server_conn.c */
int fl__conn_listen(srv *s, fl_errmsg *m);
void fl__conn_reply_ready(conn *c);  /* a reply in the fifo may be complete: write it soon */
void fl__conn_write_replies(srv *s); /* writes the replies made ready (SRV_SOON_REPLIES) */
void fl__conn_close_all(srv *s);
void fl__conn_housekeep(srv *s); /* --timeout: closes idle connections */

/* server_cmd.c */
typedef struct cmd_def {
    const char *name;
    int arity; /* Redis convention: n exact, -n at least n (the name counts) */
    /* a kv command: builds it into o->cmd (0) or returns an error text for the client */
    const char *(*build)(op *o);
    /* writes the reply for the kv result into out */
    void (*reply)(const op *o, const fl_kv_result *res, fl_buf *out);
    /* answered at once (no kv command): writes o->reply */
    void (*now)(op *o);
} cmd_def;
/* Runs one parsed command for c: replies at once or starts an op. */
void fl__cmd_execute(conn *c, size_t argc, const fl_resp_arg *argv);
const cmd_def *fl__cmd_find(const fl_resp_arg *name);
bool fl__cmd_copy_args(op *o, size_t argc, const fl_resp_arg *argv);
/* server_cmd_kv.c: the string commands, and what the other kv command files share */
extern const cmd_def fl__kv_cmds[];
extern const size_t fl__kv_cmds_count;
#define FL__E_INT    "ERR value is not an integer or out of range"
#define FL__E_SYNTAX "ERR syntax error"
#define FL__E_POS    "ERR value is out of range, must be positive"
bool fl__arg_i64(const fl_resp_arg *a, int64_t *out); /* Redis's integer rule */
/* Encodes cmd as o's kv command (its session is filled in when it is routed): NULL, or an
 * error text. */
const char *fl__cmd_encode(op *o, fl_kv_cmd *cmd);
fl_kv_cmd fl__cmd_key(const op *o, fl_kv_op kind); /* kind on key argv[1] */
const char *fl__cmd_build_key(op *o, fl_kv_op kind, uint8_t flags);
/* kind on key argv[1] with argv[first..] as its argument list. */
const char *fl__cmd_key_args(op *o, fl_kv_op kind, size_t first, uint8_t flags);
void fl__reply_status(fl_kv_status st, fl_buf *out);               /* an error reply */
void fl__r_value(const op *o, const fl_kv_result *r, fl_buf *out); /* bulk or null */
void fl__r_int(const op *o, const fl_kv_result *r, fl_buf *out);
void fl__r_ok(const op *o, const fl_kv_result *r, fl_buf *out);
/* A kv list as an array of bulk strings and nulls, from item skip on. */
void fl__put_list(const op *o, const fl_kv_result *r, fl_buf *out, uint32_t skip);
/* A kv list (or the error of its status) as: an array; a set (RESP3) or array; a map (RESP3:
 * items are key, value ...) or flat array; (member, score) pairs, flat in RESP2 and nested in
 * RESP3 (WITHSCORES); a flat array of member, score with RESP3 doubles (ZPOPMIN). */
enum { FL__SHAPE_ARRAY, FL__SHAPE_SET, FL__SHAPE_MAP, FL__SHAPE_PAIRS, FL__SHAPE_FLAT_PAIRS };
void fl__put_shaped(const op *o, const fl_kv_result *r, fl_buf *out, int shape);
/* The first item of an ok list result (false: none, or a nil). */
bool fl__list_first(const fl_kv_result *r, const uint8_t **p, size_t *n);
/* A count argument: NULL, or Redis's "must be positive" error (not an integer, or < 0). */
const char *fl__arg_count(const fl_resp_arg *a, int64_t *n);
/* "ERR wrong number of arguments for '<name>' command" (valid until the next call). */
const char *fl__arity_msg(const op *o);
/* server_cmd_list.c, server_cmd_hash.c, server_cmd_zset.c: lists and sets, hashes, sorted
 * sets */
extern const cmd_def fl__list_cmds[], fl__hash_cmds[], fl__zset_cmds[];
extern const size_t fl__list_cmds_count, fl__hash_cmds_count, fl__zset_cmds_count;
/* server_cmd_multi.c: MULTI, EXEC, DISCARD, WATCH, UNWATCH */
bool fl__multi_intercept(op *o); /* true: o was queued or is a transaction command */
void fl__multi_free_queue(op *head);
void fl__multi_reset(conn *c);
/* server_info.c: INFO, FL.STATUS, HELLO, CLIENT, CONFIG */
void fl__info_now(op *o);
void fl__status_now(op *o);
void fl__hello_now(op *o);
void fl__client_now(op *o);
void fl__config_now(op *o);
/* replies in the connection's protocol */
void fl__put_null(const op *o, fl_buf *out);
void fl__put_null_array(const op *o, fl_buf *out);
void fl__put_text(const op *o, fl_buf *out, const void *p, size_t n); /* INFO-like text */
void fl__put_set(const op *o, fl_buf *out, size_t n); /* RESP3 set, RESP2 array header */
void fl__put_map(const op *o, fl_buf *out, size_t n); /* RESP3 map, RESP2 array of 2n */
/* A score the kv wrote as text: RESP3 double, RESP2 bulk string. */
void fl__put_double(const op *o, fl_buf *out, const void *p, size_t n);

/* server_metrics.c: --metrics. Each hook is a no-op while metrics are off. */
int fl__metrics_open(srv *s, fl_errmsg *m);
void fl__metrics_close(srv *s);
void fl__metrics_update(srv *s, const fl_raft_update *up); /* leader changes, reads decided */
void fl__metrics_proposal(srv *s, int rc);                 /* a PROPOSE's result */
void fl__metrics_read(srv *s, int rc);                     /* a READ's result */
/* A group commit of `records` WAL records handed to the sync worker (started), or done. */
void fl__metrics_sync(srv *s, bool started, uint64_t records);
void fl__metrics_pass(srv *s, fl_time_ns busy); /* a loop pass's work */
void fl__metrics_wal(srv *s); /* after a sync: the WAL counters, read while no sync runs */
void fl__metrics_command(srv *s, const cmd_def *def, const fl_buf *reply); /* one answered */

#endif
