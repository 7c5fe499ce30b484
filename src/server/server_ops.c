/* server_ops.c: client operations on their way through the Raft log (server_int.h).
 *
 * An op carries one encoded kv command. Before it reaches READY, its connection's program
 * order decides its path (kv_order.h): through the log with the session's next seq, by
 * ReadIndex (READING, then DECIDED until the connection's earlier reads are served, then
 * served from this node's kv), or HELD behind an earlier ReadIndex read. Its life, one
 * state list each:
 *
 *     READY --(leader here)--> propose locally ----------------> PROPOSED (index, term)
 *       |   --(leader known)--> PROPOSE frame to it --> FORWARDED --(PROPOSED frame)--^
 *       |   --(no leader)-----> WAIT_LEADER --(housekeeping, leader known)--> READY
 *     PROPOSED --(this node applies index with term)--> result --> DONE (or the next step)
 *              --(RESULT frame from the leader that applied it)--> the same, sooner
 *              --(applies index with another term: lost)--> READY again (same seq)
 *
 * Retries resend the same (client id, seq), so the kv's session applies a write at most
 * once. Every op has a deadline; past it the client gets "-ERR timeout". The forwarding
 * frames (peer.h) are, little-endian: PROPOSE = fwd id u64 + kv command; PROPOSED = fwd id
 * u64, status u8 (0 ok, 1 not the leader, 2 too big), index u64, term u64; RESULT = fwd id u64,
 * index u64, kv result encoding (kv.h), sent by the leader when it applies a forwarded entry with
 * the term it was proposed in, so the origin need not wait to learn the commit itself. */
#include "server_int.h"

#include "faultline/error.h"
#include "faultline/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_CMD_CLIENT_OFFSET 3   /* client_id in the kv command encoding (docs/kv.md) */
#define KV_CMD_SEQ_OFFSET    11  /* seq */
#define ADDR_EVERY           100 /* housekeeping rounds (10 ms) between FRAME_ADDR sends */

enum { PROPOSED_OK = 0, PROPOSED_NOT_LEADER = 1, PROPOSED_TOO_BIG = 2 };

/* ---- lists ------------------------------------------------------------------------------- */

static op_list *list_of(srv *s, op_state st)
{
    switch (st) {
    case OP_READY:
        return &s->ready;
    case OP_WAIT_LEADER:
        return &s->wait_leader;
    case OP_FORWARDED:
        return &s->forwarded;
    case OP_PROPOSED:
        return &s->proposed;
    case OP_READING:
        return &s->reading;
    case OP_DECIDED:
        return &s->decided;
    case OP_HELD:
        return &s->held;
    default:
        return NULL;
    }
}

static void unlink_op(op *o)
{
    op_list *l = list_of(o->s, o->state);
    if (l) {
        if (o->prev)
            o->prev->next = o->next;
        else
            l->head = o->next;
        if (o->next)
            o->next->prev = o->prev;
        else
            l->tail = o->prev;
        l->count--;
    }
    o->prev = o->next = NULL;
    o->state = OP_NEW;
}

static void push_tail(op *o, op_state st)
{
    unlink_op(o);
    op_list *l = list_of(o->s, st);
    o->state = st;
    o->prev = l->tail;
    if (l->tail)
        l->tail->next = o;
    else
        l->head = o;
    l->tail = o;
    l->count++;
}

/* PROPOSED is kept sorted by index; proposals mostly arrive in order, so search from the
 * tail. */
static void insert_proposed(op *o)
{
    unlink_op(o);
    op_list *l = &o->s->proposed;
    op *after = l->tail;
    while (after && after->index > o->index)
        after = after->prev;
    o->state = OP_PROPOSED;
    o->prev = after;
    o->next = after ? after->next : l->head;
    if (o->next)
        o->next->prev = o;
    else
        l->tail = o;
    if (after)
        after->next = o;
    else
        l->head = o;
    l->count++;
}

/* ---- life ------------------------------------------------------------------------------ */

/* Freed ops wait in a pool with their buffers (trimmed to SRV_OP_KEEP_BYTES) and argument
 * array: an op per command costs no allocation once the pool is warm. */
static void op_recycle(op *o)
{
    fl_buf *bufs[] = {&o->args, &o->cmd, &o->kargs, &o->reply};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        if (bufs[i]->cap > SRV_OP_KEEP_BYTES)
            fl_buf_free(bufs[i]);
        fl_buf_reset(bufs[i]);
    }
    if (o->argv_cap > SRV_OP_KEEP_ARGS) {
        free(o->argv);
        o->argv = NULL;
        o->argv_cap = 0;
    }
    op keep = {.args = o->args,
               .cmd = o->cmd,
               .kargs = o->kargs,
               .reply = o->reply,
               .argv = o->argv,
               .argv_cap = o->argv_cap};
    *o = keep;
}

static void op_release(op *o)
{
    fl_buf_free(&o->args);
    fl_buf_free(&o->cmd);
    fl_buf_free(&o->kargs);
    fl_buf_free(&o->reply);
    free(o->argv);
    free(o);
}

op *fl__op_new(srv *s, conn *c)
{
    if (s->n_ops >= SRV_OPS_MAX)
        return NULL;
    op *o = s->op_pool;
    if (o) {
        s->op_pool = o->next;
        s->op_pool_count--;
        o->next = NULL;
    } else if (!(o = calloc(1, sizeof(*o)))) {
        return NULL;
    }
    o->s = s;
    o->c = c;
    o->resp3 = c && c->resp3;
    o->deadline = fl_loop_now(&s->loop) + s->cfg.op_timeout_ns;
    s->n_ops++;
    return o;
}

void fl__op_free(op *o)
{
    srv *s = o->s;
    unlink_op(o);
    s->n_ops--;
    fl__multi_free_queue(o->queue);
    if (s->op_pool_count == SRV_OP_POOL_MAX) {
        op_release(o);
        return;
    }
    op_recycle(o);
    o->next = s->op_pool;
    s->op_pool = o;
    s->op_pool_count++;
}

void fl__ops_drain_pool(srv *s)
{
    while (s->op_pool) {
        op *o = s->op_pool;
        s->op_pool = o->next;
        op_release(o);
    }
    s->op_pool_count = 0;
}

void fl__op_finish(op *o)
{
    unlink_op(o);
    o->state = OP_DONE;
    o->s->ops_done++;
    if (!o->c) {
        fl__op_free(o);
        return;
    }
    if (o->route) {
        fl_kv_order_done(&o->c->order, o->route);
        o->route = 0;
    }
    fl__conn_reply_ready(o->c);
    fl__ops_progress(o->c);
}

void fl__op_submit(op *o)
{
    srv *s = o->s;
    /* keep FIFO order behind ops already waiting for a leader (session seqs stay ordered) */
    push_tail(o, s->wait_leader.count ? OP_WAIT_LEADER : OP_READY);
    if (o->state == OP_READY)
        fl__srv_soon(s, SRV_SOON_KICK);
}

static void fail_op(op *o, const char *err)
{
    fl_buf_reset(&o->reply);
    fl_resp_put_error(&o->reply, err);
    fl__op_finish(o);
}

/* A read skips the log: ReadIndex. At the leader a quorum round confirms leadership (or the
 * lease vouches for it); at a follower or learner the core asks the leader for its read
 * index and decides the read once this node has applied that far (Raft thesis 6.4). Either
 * way this node's kv answers. The reads routed in one pass (a kick, a housekeeping round)
 * share one ReadIndex read of the core, issued after the pass (issue_reads): every one of
 * them arrived before it, so its confirmation covers them all; one step and, at a follower,
 * one READ_INDEX message for the lot. */
static void read_by_index(srv *s, op *o)
{
    if (!s->read_batch)
        s->read_batch = ++s->next_read_ctx;
    o->read_ctx = s->read_batch;
    push_tail(o, OP_READING); /* first: the core may decide the read within its step */
}

static bool route(srv *s, op *o);

/* The pass's reads to the core; if it refuses (no leader heard from lately, too many reads
 * waiting), they go the usual way: through the log, forwarded, or waiting for a leader. */
static void issue_reads(srv *s)
{
    uint64_t ctx = s->read_batch;
    s->read_batch = 0;
    if (!ctx || fl__srv_read(s, ctx) == 0)
        return;
    op *first = s->reading.tail; /* the batch is the tail of the reading list */
    while (first && first->prev && first->prev->read_ctx == ctx)
        first = first->prev;
    for (op *o = first, *next; o && o->read_ctx == ctx; o = next) {
        next = o->next;
        unlink_op(o);
        o->read_ctx = 0;
        o->no_index = true;
        route(s, o);
    }
}

static bool forward_proposal(srv *s, op *o, fl_node_id leader)
{
    o->fwd_id = ++s->next_fwd_id;
    uint8_t head[8];
    fl_put_u64le(head, o->fwd_id);
    if (fl_peers_send(&s->peers, leader, FRAME_PROPOSE, head, 8, o->cmd.data, o->cmd.len) != 0)
        return false;
    o->attempt_deadline = fl_loop_now(&s->loop) + SRV_FORWARD_WAIT_NS;
    push_tail(o, OP_FORWARDED);
    return true;
}

/* Routes one op; returns false if it had to wait for a leader. */
static bool route(srv *s, op *o)
{
    fl_node_id leader = fl__srv_leader(s);
    if (o->route == FL_KV_ROUTE_INDEX && !o->no_index) {
        read_by_index(s, o);
        return true;
    }
    o->no_index = false;
    if (fl__srv_leads(s)) {
        fl_index index;
        fl_term term;
        int rc = fl__srv_propose(s, o->cmd.data, o->cmd.len, &index, &term);
        if (rc == 0) {
            o->fwd_id = 0;
            o->index = index;
            o->term = term;
            insert_proposed(o);
            return true;
        }
        if (rc == FL_ETOOBIG) {
            fail_op(o, "ERR request too large for the log");
            return true;
        }
    } else if (leader != FL_NODE_NONE && leader != s->cfg.id) {
        if (forward_proposal(s, o, leader))
            return true;
    }
    push_tail(o, OP_WAIT_LEADER);
    return false;
}

void fl__ops_kick(srv *s)
{
    /* bounded: ops submitted while this runs wait for the next kick */
    for (size_t n = s->ready.count; n > 0 && s->ready.head && !s->fatal; n--)
        route(s, s->ready.head);
    issue_reads(s);
}

/* ---- completion --------------------------------------------------------------------------- */

static void retry(op *o)
{
    o->s->ops_retried++;
    fl__op_submit(o);
}

/* Leader side: sends the result of a forwarded proposal back to the node it came from. */
static void send_results(srv *s, fl_index index, fl_term term, const fl_kv_result *res)
{
    while (s->fwd_count && s->fwd_ring[s->fwd_head].index <= index) {
        fwd_rec r = s->fwd_ring[s->fwd_head];
        s->fwd_head = (s->fwd_head + 1) % SRV_OPS_MAX;
        s->fwd_count--;
        if (r.index != index || r.term != term)
            continue; /* lost; the origin finds out when it applies that index */
        uint8_t head[16];
        fl_put_u64le(head, r.fwd_id);
        fl_put_u64le(head + 8, index);
        fl_buf_reset(&s->scratch);
        if (fl_kv_result_encode(res, &s->scratch) == 0)
            fl_peers_send(&s->peers, r.from, FRAME_RESULT, head, 16, s->scratch.data,
                          s->scratch.len);
    }
}

/* A read by ReadIndex waits for its turn (kv_order.h rule 4); anything else is answered.
 * progress false: the caller has more of this connection's reads to decide and walks its
 * order once after the last. */
static void complete(op *o, const fl_kv_result *res, bool progress)
{
    if (o->route == FL_KV_ROUTE_INDEX) {
        push_tail(o, OP_DECIDED);
        if (o->c && progress)
            fl__ops_progress(o->c);
        return;
    }
    o->def->reply(o, res, &o->reply);
    fl__op_finish(o);
}

void fl__ops_applied(srv *s, fl_index index, fl_term term, const fl_kv_result *res)
{
    send_results(s, index, term, res);
    while (s->proposed.head && s->proposed.head->index <= index) {
        op *o = s->proposed.head;
        unlink_op(o);
        if (o->index != index || o->term != term || res->status == FL_KV_BAD_COMMAND) {
            retry(o); /* lost: another leader's entry took that index */
            continue;
        }
        complete(o, res, true);
    }
}

/* Answers a read from this node's kv, which has applied at least its read index. */
static void serve_read(srv *s, op *o)
{
    fl_kv_cmd cmd;
    fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
    if (fl_kv_cmd_decode(o->cmd.data, o->cmd.len, &cmd) != 0 ||
        fl_kv_read(&s->kv, &cmd, &res) == FL_ENOMEM) {
        fail_op(o, "ERR cannot read");
        return;
    }
    s->reads_by_index++;
    o->def->reply(o, &res, &o->reply);
    fl__op_finish(o);
}

/* The connection's ops as kv_order.h's walk sees them. */
static void *walk_next(void *arg, void *cmd)
{
    conn *c = arg;
    return cmd ? ((op *)cmd)->c_next : c->fifo_head;
}

static fl_kv_order_state walk_state(void *arg, void *cmd)
{
    const op *o = cmd;
    (void)arg;
    if (o->state == OP_HELD)
        return FL_KV_ORDER_HELD;
    if (o->state == OP_DONE || o->route != FL_KV_ROUTE_INDEX)
        return FL_KV_ORDER_PASS;
    return o->state == OP_DECIDED ? FL_KV_ORDER_DECIDED : FL_KV_ORDER_WAITING;
}

static void walk_serve(void *arg, void *cmd)
{
    op *o = cmd;
    (void)arg;
    unlink_op(o);
    serve_read(o->s, o); /* done: stays in the FIFO until its reply is written */
}

static void walk_route(void *arg, void *cmd)
{
    op *o = cmd;
    (void)arg;
    unlink_op(o);
    o->route = 0;
    fl__op_route_cmd(o);
}

/* Serves what the connection's order allows. Each op served finishes and would walk the FIFO
 * again from its head from within this walk: n decided reads made n^2 steps (7% of the
 * leader's CPU under 16-deep pipelined GETs); they now ask for one more walk instead. */
void fl__ops_progress(conn *c)
{
    if (c->progressing) {
        c->progress_again = true;
        return;
    }
    fl_kv_order_walk w = {c, walk_next, walk_state, walk_serve, walk_route};
    c->progressing = true;
    do {
        c->progress_again = false;
        fl_kv_order_progress(&c->order, &w);
    } while (c->progress_again);
    c->progressing = false;
}

void fl__op_route_cmd(op *o)
{
    conn *c = o->c;
    if (!c) { /* the client is gone: nobody to answer */
        fl__op_finish(o);
        return;
    }
    bool may_index = o->may_index && o->s->cfg.read_mode != FL_SERVER_READ_LOG;
    o->route = fl_kv_order_route(&c->order, o->read, may_index);
    if (o->route == FL_KV_ROUTE_HOLD) {
        push_tail(o, OP_HELD);
        return;
    }
    if (o->route == FL_KV_ROUTE_LOG && o->cmd.len > KV_CMD_SEQ_OFFSET + 8) {
        /* the session orders it after the connection's earlier log commands */
        fl_put_u64le(o->cmd.data + KV_CMD_CLIENT_OFFSET, c->client_id);
        fl_put_u64le(o->cmd.data + KV_CMD_SEQ_OFFSET, ++c->seq);
    }
    fl__op_submit(o);
}

void fl__ops_restored(srv *s, fl_index index)
{
    /* Their entries are inside the snapshot: the outcome is unknown here. Retrying is safe:
     * the restored kv's session answers a write it already applied from its cache. */
    while (s->proposed.head && s->proposed.head->index <= index) {
        op *o = s->proposed.head;
        unlink_op(o);
        retry(o);
    }
}

void fl__ops_reads(srv *s, const fl_cons_read *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* Decided reads mostly come back in the order they were asked: search from the head;
         * a read's ops are consecutive in the list (issue_reads). */
        op *o = s->reading.head;
        while (o && o->read_ctx != reads[i].ctx)
            o = o->next;
        while (o && o->read_ctx == reads[i].ctx) { /* none left: timed out already */
            op *next = o->next;
            unlink_op(o);
            if (!reads[i].ok)
                retry(o); /* leadership lost, or the leader unreachable: route it again */
            else          /* a pipeline's reads come in a row: its order is walked after the last */
                complete(o, NULL, !next || next->read_ctx != reads[i].ctx || next->c != o->c);
            o = next;
        }
    }
}

/* ---- forwarding ----------------------------------------------------------------------------- */

static void on_propose(srv *s, fl_node_id from, const uint8_t *p, size_t len)
{
    if (len < 8)
        return;
    uint8_t out[25] = {0};
    memcpy(out, p, 8);
    fl_index index = 0;
    fl_term term = 0;
    out[8] = PROPOSED_NOT_LEADER;
    s->forwarded_in++;
    int rc = fl__srv_leads(s) ? fl__srv_propose(s, p + 8, len - 8, &index, &term) : FL_ENOTLEADER;
    if (rc == FL_ETOOBIG)
        out[8] = PROPOSED_TOO_BIG;
    if (rc == 0) {
        out[8] = PROPOSED_OK;
        if (s->fwd_count < SRV_OPS_MAX) {
            size_t at = (s->fwd_head + s->fwd_count++) % SRV_OPS_MAX;
            s->fwd_ring[at] = (fwd_rec){index, term, fl_get_u64le(p), from};
        }
    }
    fl_put_u64le(out + 9, index);
    fl_put_u64le(out + 17, term);
    fl_peers_send(&s->peers, from, FRAME_PROPOSED, out, sizeof(out), NULL, 0);
}

static void on_proposed(srv *s, const uint8_t *p, size_t len)
{
    if (len != 25)
        return;
    uint64_t id = fl_get_u64le(p);
    op *o = s->forwarded.head;
    while (o && o->fwd_id != id)
        o = o->next;
    if (!o)
        return; /* timed out and retried already */
    fl_index index = fl_get_u64le(p + 9);
    if (p[8] == PROPOSED_TOO_BIG) {
        fail_op(o, "ERR request too large for the log");
        return;
    }
    if (p[8] != PROPOSED_OK || index <= fl__srv_applied(s)) {
        push_tail(o, OP_WAIT_LEADER);
        return;
    }
    o->index = index;
    o->term = fl_get_u64le(p + 17);
    insert_proposed(o);
}

/* Origin side: the leader applied our forwarded entry; answer without waiting for our own
 * apply (except for commands that read this node's kv at that point). */
static void on_result(srv *s, const uint8_t *p, size_t len)
{
    fl_kv_result res;
    if (len < 16 || fl_kv_result_decode(p + 16, len - 16, &res))
        return;
    uint64_t id = fl_get_u64le(p);
    fl_index index = fl_get_u64le(p + 8);
    op *o = s->proposed.head;
    while (o && o->index <= index && o->fwd_id != id)
        o = o->next;
    if (!o || o->fwd_id != id || o->index != index || o->route == FL_KV_ROUTE_INDEX)
        return; /* a read by ReadIndex that went through the log is served here, later */
    unlink_op(o);
    complete(o, &res, true);
}

static void on_addr(srv *s, fl_node_id from, const uint8_t *p, size_t len)
{
    for (uint32_t i = 0; i < s->cfg.n; i++)
        if (s->cfg.ids[i] == from && len < FL_ADDR_STR_MAX) {
            memcpy(s->client_addr[i], p, len);
            s->client_addr[i][len] = 0;
        }
}

const char *fl__ops_client_addr(srv *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->cfg.n; i++)
        if (s->cfg.ids[i] == id) {
            if (id == s->cfg.id && !s->client_addr[i][0])
                fl_addr_format(&s->cfg.listen, s->client_addr[i]);
            return s->client_addr[i];
        }
    return "";
}

/* Every second: this node's client address to every member, so that INFO anywhere can
 * name the leader's (peer addresses are not where clients go). */
static void send_addr(srv *s)
{
    const char *a = fl__ops_client_addr(s, s->cfg.id);
    for (uint32_t i = 0; i < s->cfg.n; i++)
        if (s->cfg.ids[i] != s->cfg.id)
            fl_peers_send(&s->peers, s->cfg.ids[i], FRAME_ADDR, (const uint8_t *)a, strlen(a), NULL,
                          0);
}

/* The leader proposes a noop stamped with its clock once some key's expiry is due, so that
 * every replica deletes it (kv.h: expiry follows the log time only). */
static void expire_keys(srv *s)
{
    if (s->expiry_noop && (!fl__srv_leads(s) || fl__srv_applied(s) >= s->expiry_noop))
        s->expiry_noop = 0;
    if (s->expiry_noop || !fl__srv_leads(s))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fl_time_ns now = (uint64_t)ts.tv_sec * FL_NS_PER_S + (uint64_t)ts.tv_nsec;
    if (fl_kv_next_expiry(&s->kv) > now)
        return;
    fl_kv_cmd noop = {.op = FL_KV_NOOP};
    fl_buf_reset(&s->scratch);
    fl_index index;
    fl_term term;
    if (fl_kv_cmd_encode(&noop, &s->scratch) == 0 &&
        fl__srv_propose(s, s->scratch.data, s->scratch.len, &index, &term) == 0)
        s->expiry_noop = index;
}

void fl__ops_frame(srv *s, fl_node_id from, uint8_t type, const uint8_t *p, size_t len)
{
    if (type == FRAME_PROPOSE)
        on_propose(s, from, p, len);
    else if (type == FRAME_PROPOSED)
        on_proposed(s, p, len);
    else if (type == FRAME_RESULT)
        on_result(s, p, len);
    else if (type == FRAME_ADDR)
        on_addr(s, from, p, len);
    else
        FL_WARN("peer %u: unknown frame type %u dropped", from, type);
}

/* ---- timeouts ------------------------------------------------------------------------------ */

static void expire(srv *s, op_list *l, fl_time_ns now)
{
    for (op *o = l->head, *next; o; o = next) {
        next = o->next;
        if (now >= o->deadline) {
            s->ops_timeout++;
            fail_op(o, o->state == OP_WAIT_LEADER ? "ERR timeout: no leader"
                                                  : "ERR timeout: outcome unknown");
        } else if (o->state == OP_FORWARDED && now >= o->attempt_deadline) {
            push_tail(o, OP_WAIT_LEADER);
        }
    }
}

void fl__ops_housekeep(srv *s)
{
    fl_time_ns now = fl_loop_now(&s->loop);
    expire(s, &s->wait_leader, now);
    expire(s, &s->forwarded, now);
    expire(s, &s->proposed, now);
    expire(s, &s->reading, now);
    expire(s, &s->decided, now);
    expire(s, &s->held, now);
    if (s->housekeeps++ % ADDR_EVERY == 0) {
        send_addr(s);
        fl__conn_housekeep(s);
    }
    expire_keys(s);
    if (fl__srv_leader(s) == FL_NODE_NONE)
        return;
    /* bounded: each waiting op is routed once; those that wait again go to the tail */
    for (size_t n = s->wait_leader.count; n > 0 && s->wait_leader.head && !s->fatal; n--)
        if (!route(s, s->wait_leader.head))
            break;
    issue_reads(s);
}

void fl__ops_close_all(srv *s)
{
    op_list *lists[] = {&s->ready,   &s->wait_leader, &s->forwarded, &s->proposed,
                        &s->reading, &s->decided,     &s->held};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        while (lists[i]->head) {
            op *o = lists[i]->head;
            unlink_op(o);
            if (!o->c)
                fl__op_free(o);
        }
}
