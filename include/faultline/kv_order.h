/* kv_order.h: program order on one client connection of the kv, shared by the real server
 * (src/server/server_ops.c) and the simulated nodes of the simulator's pipelining clients
 * (src/sim/run_pipe.c): the routing rules and the walk that serves and releases in order.
 *
 * A connection is a session: each command must take effect after every earlier command of
 * the same connection, even when the client sent them all at once (a pipeline). Commands
 * take one of two paths: through the log (writes, and reads that must be ordered after a
 * write), carrying the session's next sequence number, so the kv applies them in sequence
 * order or not at all (a retry of an older sequence after a newer one was applied is
 * refused as stale: kv.h); or, for reads, by ReadIndex outside the log, served from the
 * node's kv once the read is confirmed. The rules:
 *
 *   1. a read goes through the log while an earlier command of the connection is on the
 *      log path (its sequence number orders it after them), else by ReadIndex;
 *   2. a command for the log path (a write, or a read that rule 1 or its kind sends there)
 *      waits (is held) while an earlier ReadIndex read is not yet served: it takes effect
 *      at its log index, and the earlier read, served from the kv when its turn comes (rule
 *      4), could then see a later state than it, a write of its own or anyone's (a read
 *      refused and asked again, or confirmed late, is served well after a log read of the
 *      same pipeline was applied: simulator seed 69 of CI's redis campaign, 2 Dec 2026); once
 *      every earlier read is served, the held commands are routed again, in order;
 *   3. once a command is held, every later one is held too (rules 1 and 2 then apply to
 *      them in order on release);
 *   4. ReadIndex reads are served in connection order: a confirmed read waits until every
 *      earlier ReadIndex read of the connection is served, then reads the kv as it is then
 *      (serving later is always safe: the kv only moves forward, and the read is still
 *      outstanding).
 *
 * So a pipeline of writes costs one log round, a pipeline of reads one ReadIndex round, and
 * a mixed pipeline at most one ReadIndex round plus one log round: no round trip per
 * command. Pure: no clock, no allocation, no I/O. */
#ifndef FAULTLINE_KV_ORDER_H
#define FAULTLINE_KV_ORDER_H

#include "faultline/types.h"

typedef enum fl_kv_route {
    FL_KV_ROUTE_LOG = 1,   /* propose it (with the session's next seq) */
    FL_KV_ROUTE_INDEX = 2, /* a read by ReadIndex, served in order (rule 4) */
    FL_KV_ROUTE_HOLD = 3,  /* wait for fl_kv_order_release */
} fl_kv_route;

/* A planted bug, to show the checks catch a server that reorders (docs/mutants.md). */
#define FL_KV_ORDER_MUTANT_READ_AHEAD 1u /* rule 1 broken: reads by ReadIndex at once */

typedef struct fl_kv_order {
    uint32_t mutants;       /* FL_KV_ORDER_MUTANT_ bits; 0 in production */
    uint32_t log_pending;   /* commands on the log path, not yet answered */
    uint32_t index_pending; /* ReadIndex reads not yet served */
    uint32_t held;          /* commands held (rules 2 and 3) */
} fl_kv_order;

/* Whether a node may serve op by ReadIndex: every read (fl_kv_op_is_read) except TTL, whose
 * answer needs the leader's time (the log's stamp of now), so it goes through the log. */
bool fl_kv_order_by_index(int op);

/* Routes the connection's next command. read: it changes nothing; may_index: this node may
 * serve it by ReadIndex (not in log read mode, not a command whose answer needs the
 * leader's time). Counts the command on its path. */
fl_kv_route fl_kv_order_route(fl_kv_order *o, bool read, bool may_index);
/* A command on a path is done (answered, failed or dropped). */
void fl_kv_order_done(fl_kv_order *o, fl_kv_route route);
/* How many of the oldest held commands may be routed again now (0 while a ReadIndex read is
 * pending); they stop counting as held: the caller routes each of them, in order, with
 * fl_kv_order_route. */
uint32_t fl_kv_order_release(fl_kv_order *o);

/* The walk over a connection's commands that rules 4 and 2-3 need once something changed (a
 * read confirmed, a command done): the caller's commands seen through these callbacks, in
 * the connection's order. */
typedef enum fl_kv_order_state {
    FL_KV_ORDER_PASS = 0,    /* done, or not a ReadIndex read nor held: the walk passes it */
    FL_KV_ORDER_WAITING = 1, /* a ReadIndex read not confirmed yet: later reads wait for it */
    FL_KV_ORDER_DECIDED = 2, /* a ReadIndex read confirmed: served when its turn comes */
    FL_KV_ORDER_HELD = 3,    /* held (rules 2, 3) */
} fl_kv_order_state;

typedef struct fl_kv_order_walk {
    void *arg;
    /* The command after cmd in the connection's order (cmd NULL: the first), NULL at the end;
     * a command served or routed during the walk stays in that order. */
    void *(*next)(void *arg, void *cmd);
    fl_kv_order_state (*state)(void *arg, void *cmd);
    /* Serve the decided read cmd now, from this node's kv (it is done after). */
    void (*serve)(void *arg, void *cmd);
    /* Route the released held cmd again: fl_kv_order_route, then down its path. */
    void (*route)(void *arg, void *cmd);
} fl_kv_order_walk;

/* Serves the connection's confirmed ReadIndex reads in order up to the first unconfirmed one
 * (rule 4), then routes again, in order, the held commands fl_kv_order_release lets go
 * (rules 2, 3); repeats while that released any. Bounded: a round that releases nothing is
 * the last, and each command is released at most once per read it waited for. */
void fl_kv_order_progress(fl_kv_order *o, const fl_kv_order_walk *w);

#endif
