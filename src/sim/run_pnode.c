/* run_pnode.c: the node's end of the pipelining clients' connections (run_pipe.c): what the
 * server does with a connection's commands (server_ops.c), for a simulated node, with the
 * same program-order rules and walk (kv_order.h).
 *
 * A command that arrives is routed by fl_kv_order_route: held (PIPE_HELD) behind an earlier
 * ReadIndex read, by ReadIndex (PIPE_READING, then PIPE_DECIDED until the connection's
 * earlier reads are served, then served from this node's kv), or through the log with the
 * session's next seq. Through the log: a leader stamps it with its clock and proposes it
 * (PIPE_PROPOSED, answered when this node applies it in the term it was proposed in); a
 * follower forwards it to the leader it knows (PIPE_FWD; the leader proposes it and sends
 * the result back when it applies it, or says it lost it or is not the leader), and with no
 * leader known it waits (PIPE_WAIT). A lost entry, a refused read or a forward without an
 * answer in time is submitted again, with the same seq: the kv's session applies a command
 * once, in seq order, or answers stale. Every command has a deadline (op_deadline after it
 * arrived): then it is answered "timeout" (outcome unknown); one that never went anywhere
 * (no leader known all along) is answered "no leader" (not applied) after op_timeout, so
 * clients leave a node outside the cluster soon (the server has one deadline for both). Answers go
 * back in order once every earlier one went. Housekeeping (every 10 ms) expires, moves and routes,
 * as the server's does.
 *
 * One simplification: the server's origin node learns the index of a forwarded proposal and
 * can also answer when it applies that index itself; here only the leader's result answers
 * it (the same result: the entry is the same). A read by ReadIndex that fell back to the log
 * is the exception, as in the server: it is served from this node's kv, so only once this
 * node applied its entry (the result names the index). */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <string.h>

#define FORWARD_WAIT_NS (1000 * FL_NS_PER_MS) /* the server's SRV_FORWARD_WAIT_NS */

static pipe_op *op_at(run *rn, pipe_conn *pc, uint64_t no)
{
    return &pc->ops[no % rn->cfg->pipeline];
}

/* The command (conn, no, attempt) if it is still the one waiting for that answer. */
static pipe_op *find(run *rn, uint32_t client, uint64_t conn, uint64_t no, uint64_t attempt,
                     run_client **cp)
{
    if (client >= rn->n_clients)
        return NULL;
    run_client *c = &rn->clients[client];
    pipe_conn *pc = &c->pc;
    if (!pc->open || pc->id != conn || no < pc->head || no > pc->arrived)
        return NULL;
    pipe_op *op = op_at(rn, pc, no);
    if (op->no != no || op->attempt != attempt)
        return NULL;
    *cp = c;
    return op;
}

/* ---- answers and the walk ----------------------------------------------------------------- */

static void done(run_client *c, pipe_op *op)
{
    op->state = PIPE_DONE;
    if (op->route)
        fl_kv_order_done(&c->pc.order, (fl_kv_route)op->route);
    op->route = 0;
}

static void answer(pipe_op *op, uint8_t status, bool has_value, const uint8_t *v, size_t len)
{
    op->status = status;
    op->has_value = has_value;
    fl_buf_reset(&op->value);
    if (has_value)
        fl_buf_put_bytes(&op->value, v, len);
}

/* Sends the answers that may go: the oldest first, each once it is done. */
static void flush(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    while (pc->open && pc->head <= pc->arrived && op_at(rn, pc, pc->head)->state == PIPE_DONE) {
        pipe_op *op = op_at(rn, pc, pc->head++);
        fl__pipe_answer(rn, c, op);
        op->state = PIPE_FREE;
    }
}

/* A read served from this node's kv, which has applied at least its read index. */
static void serve(run *rn, run_client *c, pipe_op *op)
{
    fl_node_id id = c->pc.node;
    run_node *n = &rn->nodes[id];
    fl_kv_cmd cmd;
    fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
    if (!n->kv_up || fl_kv_cmd_decode(op->cmd.data, op->cmd.len, &cmd) ||
        fl_kv_read(&n->kv, &cmd, &res))
        res.status = FL_KV_BAD_COMMAND;
    answer(op, (uint8_t)res.status, res.has_value, res.value, res.value_len);
    done(c, op);
    fl_cons_status st;
    bool up = fl_cons_sim_status(rn->sim, id, &st);
    const fl_raft *r = fl_raft_sim_node(rn->sim, id); /* NULL for Paxos */
    fl__run_service(rn, id, up ? st.term : 0, false);
    if (up && st.role != FL_CONS_LEADER) {
        rn->res->follower_reads++;
        rn->res->learner_reads += r && fl_raft_conf_is_learner(fl_raft_conf_of(r), id);
    }
}

static void route(run *rn, run_client *c, pipe_op *op);
static void progress(run *rn, run_client *c);

typedef struct walk_ctx {
    run *rn;
    run_client *c;
} walk_ctx;

static void *walk_next(void *arg, void *cmd)
{
    walk_ctx *w = arg;
    pipe_conn *pc = &w->c->pc;
    uint64_t no = cmd ? ((pipe_op *)cmd)->no + 1 : pc->head;
    return pc->open && no >= pc->head && no <= pc->arrived ? op_at(w->rn, pc, no) : NULL;
}

static fl_kv_order_state walk_state(void *arg, void *cmd)
{
    const pipe_op *op = cmd;
    (void)arg;
    if (op->state == PIPE_HELD)
        return FL_KV_ORDER_HELD;
    if (op->state == PIPE_DONE || op->route != FL_KV_ROUTE_INDEX)
        return FL_KV_ORDER_PASS;
    return op->state == PIPE_DECIDED ? FL_KV_ORDER_DECIDED : FL_KV_ORDER_WAITING;
}

static void walk_serve(void *arg, void *cmd)
{
    walk_ctx *w = arg;
    serve(w->rn, w->c, cmd);
}

static void walk_route(void *arg, void *cmd)
{
    walk_ctx *w = arg;
    pipe_op *op = cmd;
    op->route = 0;
    route(w->rn, w->c, op);
}

/* After a change on the connection: serve and release in order (kv_order.h), answer. */
static void progress(run *rn, run_client *c)
{
    walk_ctx ctx = {rn, c};
    fl_kv_order_walk w = {&ctx, walk_next, walk_state, walk_serve, walk_route};
    fl_kv_order_progress(&c->pc.order, &w);
    flush(rn, c);
}

static void submit(run *rn, run_client *c, pipe_op *op);

/* What the node does for the connection after a change: submit what waits, serve, release,
 * answer. A driver event (the server's kick timer), never inside a node's step: Raft's
 * update must not be stepped over by a proposal or a read of the same node. */
static void kick_now(run_client *c);

static void kick_turn(void *node, void *arg)
{
    (void)node;
    kick_now(arg);
}

static void kick_cb(fl_sim *sim, void *arg)
{
    run_client *c = arg;
    (void)sim;
    if (c->pc.open && fl__run_wait_turn(c->rn, c->pc.node, kick_turn, c))
        return; /* the server's kick timer waits for the loop too */
    kick_now(c);
}

static void kick_now(run_client *c)
{
    run *rn = c->rn;
    c->pc.kick = false;
    for (uint64_t no = c->pc.head; c->pc.open && no <= c->pc.arrived; no++)
        if (op_at(rn, &c->pc, no)->state == PIPE_WAIT)
            submit(rn, c, op_at(rn, &c->pc, no));
    progress(rn, c);
}

static void kick(run *rn, run_client *c)
{
    if (!c->pc.kick && fl_sim_schedule(rn->sim, fl_sim_time(rn->sim), kick_cb, c) == 0)
        c->pc.kick = true;
}

/* The answer of the log or of a forward; a read by ReadIndex that fell back to the log is
 * served from this node's kv when its turn comes (kv_order.h rule 4). */
static void complete(run *rn, run_client *c, pipe_op *op, uint8_t status, bool has_value,
                     const uint8_t *v, size_t len)
{
    if (op->route == FL_KV_ROUTE_INDEX) {
        op->state = PIPE_DECIDED;
    } else {
        answer(op, status, has_value, v, len);
        done(c, op);
    }
    kick(rn, c);
}

/* Lost on its path (another entry took its index, a read refused, a snapshot covered it):
 * submitted again by the kick, with the same seq. */
static void again(run *rn, run_client *c, pipe_op *op)
{
    op->state = PIPE_WAIT;
    kick(rn, c);
}

/* ---- down the paths ------------------------------------------------------------------------ */

static void add_ppend(run_node *n, const run_ppend *p)
{
    if (fl_array_grow((void **)&n->ppend, &n->cap_ppend, n->n_ppend + 1, sizeof(*n->ppend)) == 0)
        n->ppend[n->n_ppend++] = *p; /* out of memory: the command times out */
}

/* Leader id stamps the command with its clock and proposes it for the command p names. */
static int propose_at(run *rn, fl_node_id id, const uint8_t *bytes, size_t len, run_ppend *p)
{
    fl_kv_cmd cmd;
    int rc = fl_kv_cmd_decode(bytes, len, &cmd);
    if (rc)
        return rc;
    cmd.time_ns = fl_sim_now(rn->sim, id); /* log time: expiry follows the leader's clock */
    fl_buf_reset(&rn->scratch);
    if ((rc = fl_kv_cmd_encode(&cmd, &rn->scratch)))
        return rc;
    rc = fl_cons_sim_propose(rn->sim, id, rn->scratch.data, (uint32_t)rn->scratch.len, &p->index,
                             &p->term);
    if (rc == 0)
        add_ppend(&rn->nodes[id], p);
    return rc;
}

/* Registers a ReadIndex read; false if the core refused it (no leader heard from lately, too
 * many reads): it goes through the log then. */
static bool read_index(run *rn, run_client *c, pipe_op *op)
{
    run_node *n = &rn->nodes[c->pc.node];
    if (fl_array_grow((void **)&n->preads, &n->cap_preads, n->n_preads + 1, sizeof(*n->preads)))
        return false;
    uint64_t ctx = ++rn->read_ctx_next;
    n->preads[n->n_preads++] = (run_pread){ctx, c->idx, c->pc.id, op->no, op->attempt};
    op->state = PIPE_READING; /* first: the core may decide the read within this very step */
    if (fl_cons_sim_read(rn->sim, c->pc.node, ctx) == 0)
        return op->went = true;
    for (size_t i = 0; i < n->n_preads; i++)
        if (n->preads[i].ctx == ctx) {
            n->preads[i] = n->preads[--n->n_preads];
            break;
        }
    return false;
}

static void forward(run *rn, run_client *c, pipe_op *op, fl_node_id leader)
{
    pmsg *m = fl__pmsg_new(rn, PM_FWD, c->idx, c->pc.id, op->cmd.len);
    memcpy(m->bytes, op->cmd.data, op->cmd.len);
    m->no = op->no;
    m->attempt = op->attempt;
    m->from = c->pc.node;
    m->to = leader;
    m->write = !op->read;
    op->state = PIPE_FWD;
    op->went = true;
    op->attempt_deadline = fl_sim_time(rn->sim) + FORWARD_WAIT_NS;
    fl__pmsg_send(rn, m, fl_sim_time(rn->sim) + fl__client_hop(rn));
}

/* Sends a routed command down its path (again): the server's route(). Never inside a step
 * of the connection's node (see kick_cb). */
static void submit(run *rn, run_client *c, pipe_op *op)
{
    fl_node_id id = c->pc.node;
    fl_cons_status st;
    op->attempt++;
    op->state = PIPE_WAIT;
    if (!fl_cons_sim_status(rn->sim, id, &st) ||
        fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP)
        return;
    if (op->route == FL_KV_ROUTE_INDEX && read_index(rn, c, op))
        return;
    op->state = PIPE_WAIT;                /* refused: through the log then */
    fl_cons_sim_status(rn->sim, id, &st); /* as it is after the refused read */
    fl_node_id leader = st.leader;
    if (st.role == FL_CONS_LEADER) {
        run_ppend p = {0, 0, c->idx, c->pc.id, op->no, op->attempt, id, !op->read};
        int rc = propose_at(rn, id, op->cmd.data, op->cmd.len, &p);
        if (rc == 0)
            op->state = PIPE_PROPOSED, op->went = true;
        else if (rc == FL_ETOOBIG)
            complete(rn, c, op, FL_KV_TOO_BIG, false, NULL, 0);
    } else if (leader != FL_NODE_NONE && leader != id) {
        forward(rn, c, op, leader);
    }
}

/* Routes a command of the connection by its program order (kv_order.h): held, or down a
 * path; through the log it carries the session's next seq. */
static void route(run *rn, run_client *c, pipe_op *op)
{
    pipe_conn *pc = &c->pc;
    bool may_index = op->may_index && rn->cfg->read_mode != FL_RUN_READ_LOG;
    op->route = (uint8_t)fl_kv_order_route(&pc->order, op->read, may_index);
    if (op->route == FL_KV_ROUTE_HOLD) {
        op->state = PIPE_HELD;
        return;
    }
    fl_kv_cmd cmd;
    if (op->route == FL_KV_ROUTE_LOG && fl_kv_cmd_decode(op->cmd.data, op->cmd.len, &cmd) == 0) {
        cmd.client_id = pc->id; /* the session orders it after the connection's earlier ones */
        cmd.seq = ++pc->seq;
        fl_buf_reset(&rn->scratch);
        if (fl_kv_cmd_encode(&cmd, &rn->scratch) == 0) {
            fl_buf_reset(&op->cmd);
            fl_buf_put_bytes(&op->cmd, rn->scratch.data, rn->scratch.len);
        }
    }
    submit(rn, c, op);
}

/* ---- events ------------------------------------------------------------------------------ */

void fl__pnode_request(run *rn, const pmsg *m)
{
    run_client *c = &rn->clients[m->client];
    pipe_conn *pc = &c->pc;
    if (!pc->open)
        return;
    if (fl_sim_node_state_of(rn->sim, pc->node) != FL_SIM_NODE_UP) {
        fl__pnode_close(c); /* lost on the way: the client notices the silence */
        return;
    }
    FL_ASSERT(m->no == pc->arrived + 1); /* requests arrive in order */
    pipe_op *op = op_at(rn, pc, ++pc->arrived);
    FL_ASSERT(op->state == PIPE_FREE);
    op->no = m->no;
    op->route = 0;
    op->attempt = 0;
    op->went = false;
    op->arrived_ns = fl_sim_time(rn->sim);
    fl_kv_cmd cmd;
    bool decoded = fl_kv_cmd_decode(m->bytes, m->len, &cmd) == 0;
    op->read = decoded && fl_kv_op_is_read(cmd.op);
    op->may_index = decoded && fl_kv_order_by_index(cmd.op);
    fl_buf_reset(&op->cmd);
    fl_buf_put_bytes(&op->cmd, m->bytes, m->len);
    op->deadline = op->arrived_ns + rn->cfg->op_deadline_ns;
    route(rn, c, op);
    flush(rn, c);
}

/* At the leader: a forwarded command. */
static void on_forward(run *rn, const pmsg *m)
{
    fl_cons_status st;
    if (!fl_cons_sim_status(rn->sim, m->to, &st) ||
        fl_sim_node_state_of(rn->sim, m->to) != FL_SIM_NODE_UP)
        return; /* the origin's attempt times out */
    run_ppend p = {0, 0, m->client, m->conn, m->no, m->attempt, m->from, m->write};
    if (st.role == FL_CONS_LEADER && propose_at(rn, m->to, m->bytes, m->len, &p) == 0)
        return;
    pmsg *nack = fl__pmsg_new(rn, PM_NACK, m->client, m->conn, 0);
    nack->no = m->no;
    nack->attempt = m->attempt;
    nack->from = m->to;
    nack->to = m->from;
    fl__pmsg_send(rn, nack, fl_sim_time(rn->sim) + fl__client_hop(rn));
}

void fl__pnode_peer(run *rn, const pmsg *m)
{
    if (m->kind == PM_FWD) {
        on_forward(rn, m);
        return;
    }
    run_client *c;
    pipe_op *op = find(rn, m->client, m->conn, m->no, m->attempt, &c);
    if (!op || op->state != PIPE_FWD || fl_sim_node_state_of(rn->sim, m->to) != FL_SIM_NODE_UP)
        return;
    fl_cons_status st;
    if (m->kind == PM_RESULT && op->route == FL_KV_ROUTE_INDEX &&
        fl_cons_sim_status(rn->sim, m->to, &st) && st.applied < m->index) {
        /* served from this node's kv: once it applied the entry (committed: the same here) */
        run_ppend p = {m->index, m->term, m->client, m->conn, m->no, m->attempt, m->to, false};
        add_ppend(&rn->nodes[m->to], &p);
        op->state = PIPE_PROPOSED;
    } else if (m->kind == PM_RESULT)
        complete(rn, c, op, m->status, m->has_value, m->bytes, m->len);
    else if (m->kind == PM_LOST)
        again(rn, c, op);
    else
        op->state = PIPE_WAIT; /* not the leader: housekeeping routes it when one is known */
}

/* Node id applied index (term): the commands it proposed there are answered, or lost. */
void fl__pnode_applied(run *rn, fl_node_id id, fl_index index, fl_term term,
                       const fl_kv_result *res)
{
    run_node *n = &rn->nodes[id];
    for (size_t i = 0; i < n->n_ppend;) {
        run_ppend p = n->ppend[i];
        if (p.index > index) {
            i++;
            continue;
        }
        n->ppend[i] = n->ppend[--n->n_ppend];
        bool same = p.index == index && p.term == term && res->status != FL_KV_BAD_COMMAND;
        if (same)
            fl__run_service(rn, id, term, p.write);
        if (p.origin != id) { /* forwarded: the origin hears the outcome */
            pmsg *m = fl__pmsg_new(rn, same ? PM_RESULT : PM_LOST, p.client, p.conn,
                                   same && res->has_value ? res->value_len : 0);
            m->no = p.no;
            m->attempt = p.attempt;
            m->from = id;
            m->to = p.origin;
            m->index = p.index;
            m->term = p.term;
            m->status = (uint8_t)res->status;
            m->has_value = same && res->has_value;
            if (m->len)
                memcpy(m->bytes, res->value, m->len);
            fl__pmsg_send(rn, m, fl_sim_time(rn->sim) + fl__client_hop(rn));
            continue;
        }
        run_client *c;
        pipe_op *op = find(rn, p.client, p.conn, p.no, p.attempt, &c);
        if (!op || op->state != PIPE_PROPOSED)
            continue;
        if (same)
            complete(rn, c, op, (uint8_t)res->status, res->has_value, res->value, res->value_len);
        else
            again(rn, c, op); /* another entry took that index */
    }
}

void fl__pnode_reads(run *rn, fl_node_id id, const fl_cons_read *reads, size_t n_reads)
{
    run_node *n = &rn->nodes[id];
    for (size_t k = 0; k < n_reads; k++) {
        for (size_t i = 0; i < n->n_preads; i++) {
            if (n->preads[i].ctx != reads[k].ctx)
                continue;
            run_pread p = n->preads[i];
            n->preads[i] = n->preads[--n->n_preads];
            run_client *c;
            pipe_op *op = find(rn, p.client, p.conn, p.no, p.attempt, &c);
            if (op && op->state == PIPE_READING) {
                if (reads[k].ok)
                    complete(rn, c, op, 0, false, NULL, 0); /* decided: served in order */
                else
                    again(rn, c, op); /* leadership lost */
            }
            break;
        }
    }
}

/* Entries at or below index are inside a snapshot the node restored: their outcome is not
 * known here; submitting again is safe (the session answers a command it applied). */
void fl__pnode_restored(run *rn, fl_node_id id, fl_index index)
{
    fl_kv_result lost = {.status = FL_KV_BAD_COMMAND}; /* matches no proposal: all lost */
    fl__pnode_applied(rn, id, index, 0, &lost);
}

void fl__pnode_close(run_client *c)
{
    pipe_conn *pc = &c->pc;
    for (uint64_t no = pc->head; pc->open && no <= pc->arrived; no++)
        pc->ops[no % c->rn->cfg->pipeline].state = PIPE_FREE;
    pc->open = false;
    memset(&pc->order, 0, sizeof(pc->order));
}

void fl__pnode_down(run *rn, fl_node_id id)
{
    run_node *n = &rn->nodes[id];
    n->n_ppend = 0;
    n->n_preads = 0;
    for (uint32_t i = 0; rn->cfg->pipeline > 1 && !rn->done && i < rn->n_clients; i++) {
        run_client *c = &rn->clients[i];
        if (c->pc.open && c->pc.node == id) {
            fl__pnode_close(c);
            fl__pipe_reset(rn, c);
        }
    }
}

void fl__pnode_housekeep(run *rn, run_client *c)
{
    pipe_conn *pc = &c->pc;
    fl_time_ns now = fl_sim_time(rn->sim);
    fl_cons_status st;
    bool leader_known = fl_cons_sim_status(rn->sim, pc->node, &st) &&
                        (st.role == FL_CONS_LEADER || st.leader != FL_NODE_NONE);
    bool changed = false;
    for (uint64_t no = pc->head; pc->open && no <= pc->arrived; no++) {
        pipe_op *op = op_at(rn, pc, no);
        if (op->state == PIPE_DONE || op->state == PIPE_FREE)
            continue;
        bool nowhere = op->state == PIPE_WAIT && !op->went;
        if (now >= op->deadline || (nowhere && now >= op->arrived_ns + rn->cfg->op_timeout_ns)) {
            answer(op, nowhere ? PIPE_NO_LEADER : PIPE_TIMEOUT, false, NULL, 0);
            done(c, op);
            changed = true;
        } else if (op->state == PIPE_FWD && now >= op->attempt_deadline) {
            op->state = PIPE_WAIT;
        }
        if (op->state == PIPE_WAIT && leader_known &&
            fl_sim_node_state_of(rn->sim, pc->node) == FL_SIM_NODE_UP) {
            submit(rn, c, op);
            changed = true;
        }
    }
    if (changed)
        progress(rn, c);
}
