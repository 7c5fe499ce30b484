/* run_pipe.c: pipelining clients (--pipeline N > 1, run.h): each client keeps up to N
 * commands outstanding on one connection to one node, as Redis clients pipeline, and records
 * every op in the history with its invocation and its completion (a process per connection;
 * the history is pipelined: completions come in order, history.h).
 *
 * Connections (pipe_conn, run_int.h): requests and answers each keep their order, as TCP
 * does (a message never arrives before the one sent before it on the same side). The node's
 * end answers each command once it is done, in order (run_pnode.c). A client gives up on its
 * connection when the node's end is gone (a reset, after a crash) or when an answer is overdue
 * (the node paused or lost the request): every op still outstanding is then info (unknown),
 * and it connects again, to the leader it last heard of (one time in five to a random node,
 * as clients behind a load balancer do), to a random node with --read-at any, or to its own
 * with sticky. One op in 50 answered, and any answer "timeout" or "no leader", also ends
 * the connection once its pipeline drains, so connections move between leader and
 * followers (a follower forwards to the leader) and away from a node that cannot serve.
 *
 * This file also carries the messages of connections and of forwarding between nodes (the
 * server's PROPOSE / RESULT frames); those between nodes pass only where the simulated
 * network would let a message pass (link up at sending and at arrival, same group). */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

#define RECONNECT_NS (10 * FL_NS_PER_MS)
#define MOVE_ONE_IN  50 /* answered ops per voluntary reconnection, on average */

/* ---- messages ---------------------------------------------------------------------------- */

pmsg *fl__pmsg_new(run *rn, pmsg_kind kind, uint32_t client, uint64_t conn, size_t len)
{
    pmsg *m = calloc(1, sizeof(*m) + len);
    FL_ASSERT(m != NULL);
    m->rn = rn;
    m->next = rn->pmsgs;
    if (rn->pmsgs)
        rn->pmsgs->prev = m;
    rn->pmsgs = m;
    m->kind = (uint8_t)kind;
    m->client = client;
    m->conn = conn;
    m->len = len;
    return m;
}

static void pmsg_free(pmsg *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        m->rn->pmsgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    free(m);
}

bool fl__pmsg_reach(run *rn, fl_node_id a, fl_node_id b)
{
    fl_sim_link l;
    return a == b || (fl_sim_link_get(rn->sim, a, b, &l) == 0 && l.up &&
                      fl_sim_group(rn->sim, a) == fl_sim_group(rn->sim, b));
}

static bool between_nodes(const pmsg *m)
{
    return m->kind >= PM_FWD;
}

static run_client *client_at(run *rn, uint32_t idx)
{
    return idx < rn->n_clients ? &rn->clients[idx] : NULL;
}

static void on_answer(run *rn, run_client *c, const pmsg *m);
static void on_reset(run *rn, run_client *c);

static void deliver_now(pmsg *m);

static void deliver_turn(void *node, void *arg)
{
    (void)node; /* down: the handlers find it so */
    deliver_now(arg);
}

static void deliver(fl_sim *sim, void *arg)
{
    pmsg *m = arg;
    (void)sim;
    if ((m->kind == PM_REQ || between_nodes(m)) && fl__run_wait_turn(m->rn, m->to, deliver_turn, m))
        return; /* in the socket while the node's loop syncs */
    deliver_now(m);
}

static void deliver_now(pmsg *m)
{
    run *rn = m->rn;
    run_client *c = client_at(rn, m->client);
    if (between_nodes(m)) {
        if (fl__pmsg_reach(rn, m->from, m->to))
            fl__pnode_peer(rn, m);
    } else if (c && m->conn == c->pc.id) { /* else: a connection given up already */
        if (m->kind == PM_REQ)
            fl__pnode_request(rn, m);
        else if (m->kind == PM_ANS)
            on_answer(rn, c, m);
        else
            on_reset(rn, c);
    }
    pmsg_free(m);
}

void fl__pmsg_send(run *rn, pmsg *m, fl_time_ns at)
{
    if (between_nodes(m)) {
        if (!fl__pmsg_reach(rn, m->from, m->to)) {
            pmsg_free(m); /* a partition: lost */
            return;
        }
        fl_time_ns *last = &rn->peer_at[m->from][m->to]; /* the server's peer links: TCP */
        at = at > *last ? at : *last + 1;
        *last = at;
    }
    fl_sim_schedule(rn->sim, at, deliver, m);
}

/* ---- the client's end -------------------------------------------------------------------- */

static uint32_t depth(const run *rn)
{
    return rn->cfg->pipeline;
}

static void record(run *rn, const pipe_conn *pc, const pipe_call *k, uint8_t type, fl_value v)
{
    fl_event ev = {.process = pc->process,
                   .type = type,
                   .f = k->f,
                   .pair = k->pair,
                   .key = k->key_id,
                   .value = v,
                   .value2 = k->v2,
                   .time = fl_sim_time(rn->sim)};
    if (fl_history_add(&rn->res->history, &ev))
        rn->res->history_oom = true;
}

/* The node a new connection goes to (the placement rules at the top). */
static fl_node_id pick_node(run *rn, run_client *c)
{
    uint32_t nodes = rn->cfg->nodes;
    if (rn->cfg->read_at == FL_RUN_READ_AT_STICKY)
        return (fl_node_id)(c->idx % nodes + 1);
    fl_node_id to = c->leader_hint;
    if (rn->cfg->read_at == FL_RUN_READ_AT_ANY || to == FL_NODE_NONE || to > nodes ||
        fl_rng_chance(&c->rng, 0.2))
        to = (fl_node_id)fl_rng_range(&c->rng, 1, nodes);
    return to;
}

static void connect_to(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    fl__pnode_close(c);
    pc->id = ((uint64_t)1 << 40) + ++rn->conn_next; /* apart from the classic clients' ids */
    if (rn->conn_next > rn->n_clients) /* a process per connection, as Jepsen renames */
        c->process += rn->n_clients + 1;
    pc->process = c->process;
    pc->node = pick_node(rn, c);
    pc->open = true;
    pc->sent = pc->answered = pc->arrived = pc->seq = 0;
    pc->head = 1;
    pc->up_at = pc->down_at = 0;
    pc->draining = false;
    memset(&pc->order, 0, sizeof(pc->order));
    pc->order.mutants = rn->cfg->order_mutants;
}

/* Sends the next op of the workload on the connection, if there is room. */
static bool send_op(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    if (rn->stopping || pc->draining || !pc->id || pc->sent - pc->answered >= depth(rn))
        return false;
    pipe_call *k = &pc->calls[(pc->sent + 1) % depth(rn)]; /* by op number, as answered */
    fl_kv_cmd cmd;
    fl_workload_op op;                 /* cmd points into it: it lives as long */
    if (fl__client_side_next(rn, c)) { /* the redis workload's own keys: not in the history */
        fl_workload_side_next(&c->side, &c->rng, &cmd);
        *k = (pipe_call){.invoked_ns = fl_sim_time(rn->sim), .side = true};
    } else {
        fl_workload_next(&c->gen, &c->rng, &op);
        run_opdesc d;
        fl__client_describe(rn, &op, &d);
        *k = (pipe_call){
            d.f, d.key_id, d.v1, d.v2, d.pair, op.kind == FL_KV_GET, fl_sim_time(rn->sim), false};
        fl_workload_to_cmd(&op, &cmd); /* no session: the node's end stamps it (kv_order.h) */
    }
    fl_buf_reset(&rn->scratch);
    int rc = fl_kv_cmd_encode(&cmd, &rn->scratch);
    FL_ASSERT(rc == 0);
    pmsg *m = fl__pmsg_new(rn, PM_REQ, c->idx, pc->id, rn->scratch.len);
    memcpy(m->bytes, rn->scratch.data, rn->scratch.len);
    m->no = ++pc->sent;
    m->to = pc->node;
    fl_time_ns at = fl_sim_time(rn->sim) + fl__client_hop(rn);
    pc->up_at = at > pc->up_at ? at : pc->up_at + 1;
    fl__pmsg_send(rn, m, pc->up_at);
    if (!k->side) {
        rn->res->ops_invoked++;
        record(rn, pc, k, FL_EV_INVOKE, k->v1);
    }
    return true;
}

static void fill(run *rn, run_client *c)
{
    while (send_op(rn, c))
        ;
}

static void refill_cb(fl_sim *sim, void *arg)
{
    run_client *c = arg;
    (void)sim;
    if (c->rn->cfg->rate == 0)
        fill(c->rn, c);
}

static void reconnect_cb(fl_sim *sim, void *arg)
{
    run_client *c = arg;
    (void)sim;
    connect_to(c->rn, c);
    refill_cb(sim, arg);
}

/* Every op still outstanding on the connection: outcome unknown. Then connect again. */
static void give_up(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    while (pc->answered < pc->sent) {
        const pipe_call *k = &pc->calls[++pc->answered % depth(rn)];
        if (!k->side) {
            record(rn, pc, k, FL_EV_INFO, k->v1);
            rn->res->ops_info++;
        }
    }
    fl__pnode_close(c);
    pc->id = 0; /* answers still on their way belong to no connection now */
    fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + RECONNECT_NS, reconnect_cb, c);
}

static void on_reset(run *rn, run_client *c)
{
    give_up(rn, c);
}

static void on_answer(run *rn, run_client *c, const pmsg *m)
{
    pipe_conn *pc = &c->pc;
    FL_ASSERT(m->no == pc->answered + 1); /* answers come in order */
    const pipe_call *k = &pc->calls[++pc->answered % depth(rn)];
    uint8_t type = FL_EV_FAIL;
    fl_value v = k->v1;
    if (m->status == FL_KV_OK || m->status == FL_KV_NOT_FOUND) {
        type = FL_EV_OK;
        if (k->read)
            v = m->has_value ? fl__client_value(rn, m->bytes, m->len) : fl_value_nil();
    } else if (m->status == FL_KV_STALE || m->status == PIPE_TIMEOUT) {
        type = FL_EV_INFO; /* an older seq after a newer one, or the node gave up */
    }
    rn->res->side_ops += k->side && type == FL_EV_OK;
    if (!k->side) {
        record(rn, pc, k, type, v);
        rn->res->ops_ok += type == FL_EV_OK;
        rn->res->ops_fail += type == FL_EV_FAIL;
        rn->res->ops_info += type == FL_EV_INFO;
    }
    c->ops_done++;
    if (m->hint)
        c->leader_hint = m->hint;
    if (fl_rng_below(&c->rng, MOVE_ONE_IN) == 0 || m->status >= PIPE_NO_LEADER)
        pc->draining = true; /* a node that times out is left for another */
    if (pc->draining && pc->answered == pc->sent) {
        fl__pnode_close(c);
        pc->id = 0;
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + FL_NS_PER_MS, reconnect_cb, c);
    } else if (rn->cfg->rate == 0) {
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + FL_NS_PER_MS, refill_cb, c);
    }
}

/* The client gives up on a connection whose oldest answer is overdue: the node's end answers
 * "timeout" by op_deadline after a command arrives, so an answer later than that plus two
 * attempt timeouts means the node paused, crashed or lost the request. */
static void watch(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    if (!pc->id || pc->answered == pc->sent)
        return;
    const pipe_call *k = &pc->calls[(pc->answered + 1) % depth(rn)];
    if (fl_sim_time(rn->sim) - k->invoked_ns > rn->cfg->op_deadline_ns + 2 * rn->cfg->op_timeout_ns)
        give_up(rn, c);
}

void fl__pipe_answer(run *rn, run_client *c, const pipe_op *op)
{
    pipe_conn *pc = &c->pc;
    size_t len = op->has_value ? op->value.len : 0;
    pmsg *m = fl__pmsg_new(rn, PM_ANS, c->idx, pc->id, len);
    if (len)
        memcpy(m->bytes, op->value.data, len);
    m->no = op->no;
    m->status = op->status;
    m->has_value = op->has_value;
    m->from = pc->node;
    fl_cons_status st;
    m->hint = fl_cons_sim_status(rn->sim, pc->node, &st) ? st.leader : FL_NODE_NONE;
    fl_time_ns at = fl_sim_time(rn->sim) + fl__client_hop(rn);
    pc->down_at = at > pc->down_at ? at : pc->down_at + 1;
    fl__pmsg_send(rn, m, pc->down_at);
}

void fl__pipe_reset(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    pmsg *m = fl__pmsg_new(rn, PM_RESET, c->idx, pc->id, 0);
    fl_time_ns at = fl_sim_time(rn->sim) + fl__client_hop(rn);
    pc->down_at = at > pc->down_at ? at : pc->down_at + 1;
    fl__pmsg_send(rn, m, pc->down_at);
}

/* ---- life -------------------------------------------------------------------------------- */

int fl__pipe_init(run *rn)
{
    for (uint32_t i = 0; i < rn->n_clients; i++) {
        pipe_conn *pc = &rn->clients[i].pc;
        pc->calls = calloc(depth(rn), sizeof(*pc->calls));
        pc->ops = calloc(depth(rn), sizeof(*pc->ops));
        if (!pc->calls || !pc->ops)
            return FL_ENOMEM;
        for (uint32_t k = 0; k < depth(rn); k++) {
            fl_buf_init(&pc->ops[k].cmd);
            fl_buf_init(&pc->ops[k].value);
        }
    }
    return 0;
}

void fl__pipe_free(run *rn)
{
    while (rn->pmsgs)
        pmsg_free(rn->pmsgs);
    for (uint32_t i = 0; rn->clients && i < rn->n_clients; i++) {
        pipe_conn *pc = &rn->clients[i].pc;
        for (uint32_t k = 0; pc->ops && k < depth(rn); k++) {
            fl_buf_free(&pc->ops[k].cmd);
            fl_buf_free(&pc->ops[k].value);
        }
        free(pc->ops);
        free(pc->calls);
        pc->ops = NULL;
        pc->calls = NULL;
    }
}

/* Every 10 ms: the nodes' ends time out, move and route what waits (as the server's
 * housekeeping does), and clients give up on connections gone silent. */
static void housekeep(fl_sim *sim, void *arg)
{
    run *rn = arg;
    for (uint32_t i = 0; i < rn->n_clients; i++) {
        fl__pnode_housekeep(rn, &rn->clients[i]);
        watch(rn, &rn->clients[i]);
    }
    fl_sim_schedule(sim, fl_sim_time(sim) + 10 * FL_NS_PER_MS, housekeep, rn);
}

void fl__pipe_start(run *rn)
{
    for (uint32_t i = 0; i < rn->n_clients; i++) {
        run_client *c = &rn->clients[i];
        c->leader_hint = FL_NODE_NONE;
        connect_to(rn, c);
        if (rn->cfg->rate == 0) /* a whole pipeline at once, each client at its moment */
            fl_sim_schedule(rn->sim, fl_rng_below(&rn->rng, 10 * FL_NS_PER_MS), refill_cb, c);
    }
    fl_sim_schedule(rn->sim, 10 * FL_NS_PER_MS, housekeep, rn);
}

bool fl__pipe_try_start(run *rn, run_client *c)
{
    return send_op(rn, c);
}
