/* run_client.c: simulated clients of the kv (run.h): closed-loop operations from the
 * workload generator, routed to the leader with redirects, retried with the same session
 * sequence number, recorded in the history with Jepsen's outcomes.
 *
 * Messages between clients and nodes are driver events with the network's delay; they are
 * not subject to partitions between nodes (clients sit beside the nodes, as in Jepsen), but a
 * request to a node that is down or paused is lost. */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { MSG_REQUEST, MSG_REDIRECT, MSG_LOST, MSG_RESULT, MSG_TIMEOUT, MSG_BEHIND } msg_kind;

typedef struct cmsg {
    run *rn;
    struct cmsg *prev, *next; /* every live message, so the end of a run frees the unsent */
    msg_kind kind;
    uint32_t client;
    uint64_t attempt;
    fl_node_id node;
    fl_node_id hint;
    fl_kv_status status;
    bool has_value;
    bool write;
    uint64_t index; /* request: the highest log index the client saw (sticky reads); result:
                       the index the answer reflects (applied entry, local read), or 0 */
    size_t len;
    uint8_t bytes[]; /* request: the command; result: the value */
} cmsg;

static run_client *client_of(run *rn, uint32_t idx)
{
    return idx == rn->n_clients ? &rn->live_client : &rn->clients[idx];
}

static fl_time_ns hop(run *rn)
{
    return (fl_time_ns)fl_rng_exp(&rn->rng, (double)rn->cfg->net_delay_ns) + 1;
}

static cmsg *msg_new(run *rn, msg_kind kind, uint32_t client, uint64_t attempt, size_t len)
{
    cmsg *m = calloc(1, sizeof(*m) + len);
    FL_ASSERT(m != NULL);
    m->rn = rn;
    m->next = rn->msgs;
    if (rn->msgs)
        rn->msgs->prev = m;
    rn->msgs = m;
    m->kind = kind;
    m->client = client;
    m->attempt = attempt;
    m->len = len;
    return m;
}

static void msg_free(cmsg *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        m->rn->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    free(m);
}

void fl__clients_free_msgs(run *rn)
{
    while (rn->msgs)
        msg_free(rn->msgs);
}

static void deliver_to_client(fl_sim *sim, void *arg);
static void deliver_to_node(fl_sim *sim, void *arg);

static void reply(run *rn, fl_node_id node, cmsg *m)
{
    m->node = node;
    fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + hop(rn), deliver_to_client, m);
}

/* ---- the node's side --------------------------------------------------------------------- */

static int add_pending(run_node *n, fl_index index, fl_term term, const cmsg *m)
{
    if (fl_array_grow((void **)&n->pending, &n->cap_pending, n->n_pending + 1, sizeof(*n->pending)))
        return FL_ENOMEM;
    n->pending[n->n_pending++] = (run_pending){index, term, m->client, m->attempt, m->write};
    return 0;
}

static bool is_read(uint8_t f);

/* A read in ReadIndex mode: registered with the core; answered from the kv once decided. */
static int node_read(run *rn, fl_node_id id, const cmsg *m, const fl_kv_cmd *cmd)
{
    run_node *n = &rn->nodes[id];
    if (fl_array_grow((void **)&n->reads, &n->cap_reads, n->n_reads + 1, sizeof(*n->reads)))
        return FL_ENOMEM;
    run_read *rd = &n->reads[n->n_reads];
    rd->ctx = ++rn->read_ctx_next;
    rd->client = m->client;
    rd->attempt = m->attempt;
    fl_buf_init(&rd->key);
    fl_buf_put_bytes(&rd->key, cmd->key, cmd->key_len);
    uint64_t ctx = rd->ctx;
    n->n_reads++; /* registered first: the core may decide the read within this very step */
    int rc = fl_cons_sim_read(rn->sim, id, ctx);
    if (rc) {
        for (size_t i = 0; i < n->n_reads; i++)
            if (n->reads[i].ctx == ctx) {
                fl_buf_free(&n->reads[i].key);
                n->reads[i] = n->reads[--n->n_reads];
                break;
            }
    }
    return rc;
}

void fl__clients_drop_reads(run_node *n)
{
    for (size_t i = 0; i < n->n_reads; i++)
        fl_buf_free(&n->reads[i].key);
    n->n_reads = 0;
}

/* The answer to a read the node serves now, from its kv as it is. */
static cmsg *serve_read(run *rn, fl_node_id id, uint32_t client, uint64_t attempt,
                        const uint8_t *key, size_t key_len)
{
    run_node *n = &rn->nodes[id];
    fl_cons_status st;
    bool up = fl_cons_sim_status(rn->sim, id, &st);
    const fl_raft *r = fl_raft_sim_node(rn->sim, id); /* NULL for Paxos */
    const uint8_t *value = NULL;
    size_t len = 0;
    bool found = n->kv_up && fl_kv_get(&n->kv, key, key_len, &value, &len) == 0;
    cmsg *out = msg_new(rn, MSG_RESULT, client, attempt, found ? len : 0);
    out->status = found ? FL_KV_OK : FL_KV_NOT_FOUND;
    out->has_value = found;
    if (found && len)
        memcpy(out->bytes, value, len);
    fl__run_service(rn, id, up ? st.term : 0, false);
    if (up && st.role != FL_CONS_LEADER) {
        rn->res->follower_reads++;
        rn->res->learner_reads += r && fl_raft_conf_is_learner(fl_raft_conf_of(r), id);
    }
    return out;
}

static void answer_read(run *rn, fl_node_id id, const run_read *rd, bool ok)
{
    cmsg *out = ok ? serve_read(rn, id, rd->client, rd->attempt, rd->key.data, rd->key.len)
                   : msg_new(rn, MSG_LOST, rd->client, rd->attempt, 0);
    reply(rn, id, out);
}

/* A local read (--read-mode local): answered at once from the node's own applied state, with
 * no quorum round and no lease, so a node behind (or a deposed leader) answers stale values.
 * The host reads no clock and asks nothing of the core but its applied index. A sticky
 * client's read is served only once the node has applied all the client saw (m->index); the
 * client is told to ask again otherwise. */
static void node_read_local(run *rn, fl_node_id id, const cmsg *m, const fl_kv_cmd *cmd)
{
    fl_index applied = fl_raft_applied_of(fl_raft_sim_node(rn->sim, id));
    if (applied < m->index || !rn->nodes[id].kv_up) {
        reply(rn, id, msg_new(rn, MSG_BEHIND, m->client, m->attempt, 0));
        return;
    }
    cmsg *out = serve_read(rn, id, m->client, m->attempt, cmd->key, cmd->key_len);
    out->index = applied;
    reply(rn, id, out);
}

void fl__clients_reads(run *rn, fl_node_id id, const fl_cons_read *reads, size_t n_reads)
{
    run_node *n = &rn->nodes[id];
    for (size_t k = 0; k < n_reads; k++) {
        for (size_t i = 0; i < n->n_reads; i++) {
            if (n->reads[i].ctx != reads[k].ctx)
                continue;
            answer_read(rn, id, &n->reads[i], reads[k].ok);
            fl_buf_free(&n->reads[i].key);
            n->reads[i] = n->reads[--n->n_reads];
            break;
        }
    }
}

static void redirect(run *rn, fl_node_id id, const cmsg *m, fl_node_id hint)
{
    cmsg *out = msg_new(rn, MSG_REDIRECT, m->client, m->attempt, 0);
    out->hint = hint;
    reply(rn, id, out);
}

/* The leader stamps the command with its own clock (log time for session expiry) and
 * proposes it; anything else redirects to the leader it knows, except reads with read_at
 * any, which any node serves by ReadIndex (a follower asks its leader; raft.h). */
static void node_request(run *rn, cmsg *m)
{
    fl_node_id id = m->node;
    fl_cons_status st;
    if (!fl_cons_sim_status(rn->sim, id, &st) ||
        fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP) {
        msg_free(m); /* lost: the client times out */
        return;
    }
    bool leads = st.role == FL_CONS_LEADER;
    bool local = rn->cfg->read_mode == FL_RUN_READ_LOCAL && !m->write;
    bool anywhere = (rn->cfg->read_at != FL_RUN_READ_AT_LEADER || local) && !m->write;
    if (!leads && !anywhere) {
        redirect(rn, id, m, st.leader);
        msg_free(m);
        return;
    }
    fl_kv_cmd cmd;
    fl_index index = 0;
    fl_term term = 0;
    int rc = fl_kv_cmd_decode(m->bytes, m->len, &cmd);
    if (rc == 0 && cmd.op == FL_KV_GET && local) {
        node_read_local(rn, id, m, &cmd);
        msg_free(m);
        return;
    }
    if (rc == 0 && cmd.op == FL_KV_GET && rn->cfg->read_mode != FL_RUN_READ_LOG) {
        rc = node_read(rn, id, m, &cmd);
        if (rc) /* at a follower: it knows no leader; at the leader: too many reads */
            redirect(rn, id, m, leads ? FL_NODE_NONE : st.leader);
        msg_free(m);
        return;
    }
    if (!leads) {
        redirect(rn, id, m, st.leader);
        msg_free(m);
        return;
    }
    if (rc == 0) {
        cmd.time_ns = fl_sim_now(rn->sim, id);
        fl_buf_reset(&rn->scratch);
        rc = fl_kv_cmd_encode(&cmd, &rn->scratch);
    }
    if (rc == 0)
        rc = fl_cons_sim_propose(rn->sim, id, rn->scratch.data, (uint32_t)rn->scratch.len, &index,
                                 &term);
    if (rc == 0)
        rc = add_pending(&rn->nodes[id], index, term, m);
    if (rc) {
        cmsg *out = msg_new(rn, MSG_REDIRECT, m->client, m->attempt, 0);
        reply(rn, id, out);
    }
    msg_free(m);
}

void fl__clients_applied(run *rn, fl_node_id id, fl_index index, fl_term term,
                         const fl_kv_result *res)
{
    run_node *n = &rn->nodes[id];
    /* Every pending proposal at or below index is decided now, not only the first found: a
     * node that led again proposed at indexes its earlier terms' lost proposals had, and the
     * first match answered one of those (lost) and left the newer one waiting forever (the
     * liveness probe of swarm seed 2219, a leader-flap world, never heard of its write). */
    for (size_t i = 0; i < n->n_pending;) {
        run_pending p = n->pending[i];
        if (p.index > index) {
            i++;
            continue;
        }
        n->pending[i] = n->pending[--n->n_pending];
        bool same = p.index == index && p.term == term;
        size_t len = same && res->has_value ? res->value_len : 0;
        cmsg *out = msg_new(rn, same ? MSG_RESULT : MSG_LOST, p.client, p.attempt, len);
        if (same) {
            out->index = index;
            out->status = res->status;
            out->has_value = res->has_value;
            if (len)
                memcpy(out->bytes, res->value, len);
            fl_cons_status st;
            fl__run_service(rn, id, fl_cons_sim_status(rn->sim, id, &st) ? st.term : term, p.write);
        }
        reply(rn, id, out);
    }
}

static void request_turn(void *node, void *arg)
{
    (void)node; /* down: node_request finds it so */
    node_request(((cmsg *)arg)->rn, arg);
}

static void deliver_to_node(fl_sim *sim, void *arg)
{
    cmsg *m = arg;
    (void)sim;
    if (fl__run_wait_turn(m->rn, m->node, request_turn, m))
        return; /* in the socket while the node's loop syncs */
    if (fl__nemesis_client_cut(m->rn, m->client, m->node)) {
        msg_free(m); /* across the partition: lost, the client times out */
        return;
    }
    node_request(m->rn, m);
}

/* ---- the client's side ------------------------------------------------------------------- */

static bool is_read(uint8_t f)
{
    return f == FL_F_READ || f == FL_F_GET;
}

static void send_attempt(run *rn, run_client *c)
{
    c->attempt++;
    fl_node_id to = c->leader_hint;
    bool anywhere = rn->cfg->read_at == FL_RUN_READ_AT_ANY && is_read(c->f);
    bool sticky = rn->cfg->read_at == FL_RUN_READ_AT_STICKY && is_read(c->f);
    if (to == FL_NODE_NONE || to > rn->cfg->nodes || anywhere)
        to = (fl_node_id)fl_rng_range(&rn->rng, 1, rn->cfg->nodes);
    if (sticky)
        to = (fl_node_id)(c->idx % rn->cfg->nodes + 1);
    cmsg *m = msg_new(rn, MSG_REQUEST, c->idx, c->attempt, c->cmd.len);
    memcpy(m->bytes, c->cmd.data, c->cmd.len);
    m->node = to;
    m->write = !is_read(c->f);
    m->index = sticky ? c->seen : 0;
    fl_time_ns now = fl_sim_time(rn->sim);
    fl_sim_schedule(rn->sim, now + hop(rn), deliver_to_node, m);
    cmsg *t = msg_new(rn, MSG_TIMEOUT, c->idx, c->attempt, 0);
    /* The liveness probe waits at least 500 ms (the default) per attempt: a write that needs
     * longer to commit (behind a backlog) is progress, and every retry queues one more entry
     * (with 50 ms attempts behind a backlog, a probe never succeeded). */
    fl_time_ns timeout = rn->cfg->op_timeout_ns;
    if (!c->record && timeout < FL_NS_PER_S / 2)
        timeout = FL_NS_PER_S / 2;
    fl_sim_schedule(rn->sim, now + timeout, deliver_to_client, t);
}

static void retry_cb(fl_sim *sim, void *arg)
{
    run_client *c = arg;
    (void)sim;
    if (c->busy)
        send_attempt(c->rn, c);
}

static void record(run *rn, run_client *c, uint8_t type, fl_value value)
{
    if (!c->record || c->side_op)
        return;
    fl_event ev = {.process = c->process,
                   .type = type,
                   .f = c->f,
                   .pair = c->pair,
                   .key = c->key_id,
                   .value = value,
                   .value2 = c->v2,
                   .time = fl_sim_time(rn->sim)};
    if (fl_history_add(&rn->res->history, &ev))
        rn->res->history_oom = true;
}

static fl_value parse_value(run *rn, const uint8_t *p, size_t len)
{
    return fl_workload_history_value(&rn->res->history, p, len,
                                     rn->cfg->workload == FL_RUN_REGISTER, NULL);
}

static void start_op(fl_sim *sim, void *arg);

static void complete(run *rn, run_client *c, uint8_t type, fl_value value)
{
    record(rn, c, type, value);
    c->busy = false;
    c->ops_done++;
    if (c->side_op) { /* not in the history: no new process */
        c->side_op = false;
        rn->res->side_ops += type == FL_EV_OK;
        if (rn->cfg->rate == 0)
            fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + FL_NS_PER_MS, start_op, c);
        return;
    }
    fl_run_result *r = rn->res;
    if (c->record) {
        r->ops_ok += type == FL_EV_OK;
        r->ops_fail += type == FL_EV_FAIL;
        r->ops_info += type == FL_EV_INFO;
    }
    if (type == FL_EV_INFO)
        c->process += rn->n_clients + 1; /* Jepsen: a process with an unknown op is done */
    if (!c->record) {
        if (type == FL_EV_OK && !r->live) {
            r->live = true;
            r->recover_ns = fl_sim_time(rn->sim) - rn->heal_ns;
        }
        return;
    }
    if (rn->cfg->rate == 0) /* closed loop: the next op right away; open loop: on arrival */
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + FL_NS_PER_MS, start_op, c);
}

static void on_result(run *rn, run_client *c, const cmsg *m)
{
    if (m->index > c->seen) /* the session: a sticky client never reads older than this */
        c->seen = m->index;
    switch (m->status) {
    case FL_KV_OK:
    case FL_KV_NOT_FOUND:
        if (is_read(c->f))
            complete(rn, c, FL_EV_OK,
                     m->has_value ? parse_value(rn, m->bytes, m->len) : fl_value_nil());
        else
            complete(rn, c, FL_EV_OK, c->v1);
        return;
    case FL_KV_STALE:
        complete(rn, c, FL_EV_INFO, c->v1);
        return;
    case FL_KV_SESSION_EXPIRED:
        /* not applied; the kv cannot tell whether our earlier seqs were (none of them may
         * have opened the session: all ended info), so start over as a new session (kv.h) */
        c->client_id += rn->n_clients + 1;
        c->seq = 0;
        complete(rn, c, FL_EV_FAIL, c->v1);
        return;
    default: /* cas mismatch, type error, too big, overflow, bad command */
        complete(rn, c, FL_EV_FAIL, c->v1);
    }
}

static void retry_later(run *rn, run_client *c, fl_time_ns backoff)
{
    fl_time_ns now = fl_sim_time(rn->sim);
    fl_time_ns deadline =
        c->op_start_ns + (c->record ? rn->cfg->op_deadline_ns : rn->cfg->liveness_ns);
    if (now + backoff >= deadline) {
        complete(rn, c, FL_EV_INFO, c->v1);
        return;
    }
    c->attempt++; /* anything still in flight for the old attempt is now stale */
    fl_sim_schedule(rn->sim, now + backoff, retry_cb, c);
}

static void deliver_to_client(fl_sim *sim, void *arg)
{
    cmsg *m = arg;
    run *rn = m->rn;
    run_client *c = client_of(rn, m->client);
    (void)sim;
    bool cut = m->kind != MSG_TIMEOUT && fl__nemesis_client_cut(rn, m->client, m->node);
    if (c->busy && m->attempt == c->attempt && !cut) {
        switch (m->kind) {
        case MSG_REDIRECT:
            c->leader_hint = m->hint != m->node ? m->hint : FL_NODE_NONE;
            retry_later(rn, c, c->leader_hint ? FL_NS_PER_US : 10 * FL_NS_PER_MS);
            break;
        case MSG_LOST:
        case MSG_TIMEOUT:
            c->leader_hint = FL_NODE_NONE;
            retry_later(rn, c, 10 * FL_NS_PER_MS);
            break;
        case MSG_RESULT:
            c->leader_hint = m->node;
            on_result(rn, c, m);
            break;
        case MSG_BEHIND: /* its node has not applied all the client saw: ask again soon */
            retry_later(rn, c, FL_NS_PER_MS);
            break;
        default:
            break;
        }
    }
    msg_free(m);
}

static uint8_t history_f(run *rn, fl_kv_op op)
{
    return (uint8_t)fl_workload_history_f(op, rn->cfg->workload == FL_RUN_REGISTER);
}

/* The invocation's values, as the checker reads them. */
static void op_values(run *rn, const fl_workload_op *op, bool *pair, fl_value *v1, fl_value *v2)
{
    *pair = op->kind == FL_KV_CAS;
    *v1 = (fl_value){.kind = FL_VALUE_NONE};
    *v2 = (fl_value){.kind = FL_VALUE_NONE};
    switch (op->kind) {
    case FL_KV_PUT:
    case FL_KV_APPEND:
        *v1 = parse_value(rn, op->value, op->value_len);
        break;
    case FL_KV_CAS:
        *v1 = op->expect_absent ? fl_value_nil() : parse_value(rn, op->expect, op->expect_len);
        *v2 = parse_value(rn, op->value, op->value_len);
        break;
    case FL_KV_INCR:
        *v1 = fl_value_int(op->delta);
        break;
    default:
        break;
    }
}

void fl__client_describe(run *rn, const fl_workload_op *op, run_opdesc *d)
{
    d->f = history_f(rn, op->kind);
    fl_history_intern(&rn->res->history, op->key, op->key_len, &d->key_id);
    op_values(rn, op, &d->pair, &d->v1, &d->v2);
}

fl_value fl__client_value(run *rn, const uint8_t *p, size_t len)
{
    return parse_value(rn, p, len);
}

fl_time_ns fl__client_hop(run *rn)
{
    return hop(rn);
}

static void begin_op(run *rn, run_client *c, const fl_workload_op *op)
{
    fl_kv_cmd cmd;
    fl_workload_to_cmd(op, &cmd);
    cmd.client_id = c->client_id;
    /* ReadIndex reads skip the log and so the session: they take no sequence number */
    bool index_read = op->kind == FL_KV_GET && rn->cfg->read_mode != FL_RUN_READ_LOG;
    cmd.seq = index_read ? 0 : ++c->seq;
    cmd.time_ns = 0;
    fl_buf_reset(&c->cmd);
    int rc = fl_kv_cmd_encode(&cmd, &c->cmd);
    FL_ASSERT(rc == 0);
    c->f = history_f(rn, op->kind);
    fl_history_intern(&rn->res->history, op->key, op->key_len, &c->key_id);
    op_values(rn, op, &c->pair, &c->v1, &c->v2);
    c->busy = true;
    c->op_start_ns = fl_sim_time(rn->sim);
    /* Like clients behind a load balancer or reconnecting, one op in five starts at a random
     * node rather than at the leader it knows: stale leaders keep getting requests. */
    if (fl_rng_chance(&c->rng, 0.2))
        c->leader_hint = FL_NODE_NONE;
    if (c->record)
        rn->res->ops_invoked++;
    record(rn, c, FL_EV_INVOKE, c->v1);
    send_attempt(rn, c);
}

bool fl__client_side_next(run *rn, run_client *c)
{
    return rn->cfg->workload == FL_RUN_REDIS && fl_rng_chance(&c->rng, 0.25);
}

/* A Redis-shaped command on the redis workload's own keys, through the log. */
static void begin_side(run *rn, run_client *c)
{
    fl_kv_cmd cmd;
    fl_workload_side_next(&c->side, &c->rng, &cmd);
    cmd.client_id = c->client_id;
    cmd.seq = ++c->seq;
    fl_buf_reset(&c->cmd);
    int rc = fl_kv_cmd_encode(&cmd, &c->cmd);
    FL_ASSERT(rc == 0);
    c->side_op = true;
    c->f = FL_F_WRITE; /* to the leader, proposed */
    c->busy = true;
    c->op_start_ns = fl_sim_time(rn->sim);
    send_attempt(rn, c);
}

static void start_op(fl_sim *sim, void *arg)
{
    run_client *c = arg;
    run *rn = c->rn;
    (void)sim;
    if (rn->stopping || c->busy)
        return;
    if (rn->cfg->ops_max && rn->res->ops_invoked >= rn->cfg->ops_max)
        return; /* the run's operations are all out */
    if (fl__client_side_next(rn, c)) {
        begin_side(rn, c);
        return;
    }
    fl_workload_op op;
    fl_workload_next(&c->gen, &c->rng, &op);
    begin_op(rn, c, &op);
}

static int client_init(run *rn, run_client *c, uint32_t idx, uint32_t writers)
{
    memset(c, 0, sizeof(*c));
    c->rn = rn;
    c->idx = idx;
    c->record = idx < rn->n_clients;
    c->process = idx;
    c->client_id = idx + 1;
    fl_buf_init(&c->cmd);
    c->rng = fl_rng_fork(&rn->rng);
    fl_workload_side_init(&c->side);
    fl_workload_config wc;
    const fl_run_config *cfg = rn->cfg;
    if (cfg->workload == FL_RUN_REGISTER)
        fl_workload_config_register(&wc);
    else
        fl_workload_config_kv(&wc);
    /* the shares: reads, cas (kv: append), the rest plain writes */
    wc.weights[FL_KV_GET] = cfg->reads_pct;
    wc.weights[cfg->workload == FL_RUN_REGISTER ? FL_KV_CAS : FL_KV_APPEND] = cfg->cas_pct;
    wc.weights[FL_KV_PUT] = 100 - cfg->reads_pct - cfg->cas_pct;
    if (cfg->keys)
        wc.key_count = cfg->keys;
    else if (cfg->workload == FL_RUN_REDIS)
        wc.key_count = 100; /* a small state: the replicas' kv checked after every apply */
    if (cfg->value_size && cfg->workload == FL_RUN_KV)
        wc.value_size_min = wc.value_size_max = cfg->value_size;
    wc.writer_id = idx;
    wc.writer_count = writers;
    return fl_workload_init(&c->gen, &wc);
}

int fl__clients_init(run *rn)
{
    uint32_t n = rn->cfg->rate > 0 ? FL_RUN_OPEN_CLIENTS_MAX : rn->cfg->clients;
    rn->n_clients = n;
    rn->clients = calloc(n, sizeof(*rn->clients));
    if (!rn->clients)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int rc = client_init(rn, &rn->clients[i], i, n + 1);
        if (rc)
            return rc;
    }
    return client_init(rn, &rn->live_client, n, n + 1);
}

void fl__clients_free(run *rn)
{
    for (uint32_t i = 0; rn->clients && i < rn->n_clients; i++) {
        fl_workload_close(&rn->clients[i].gen);
        fl_workload_side_close(&rn->clients[i].side);
        fl_buf_free(&rn->clients[i].cmd);
    }
    free(rn->clients);
    rn->clients = NULL;
    fl_workload_close(&rn->live_client.gen);
    fl_workload_side_close(&rn->live_client.side);
    fl_buf_free(&rn->live_client.cmd);
}

/* Open loop: Poisson arrivals at the configured rate; each takes an idle client (a new
 * connection, as it were); when all are busy the arrival is dropped and counted. */
static void arrival(fl_sim *sim, void *arg)
{
    run *rn = arg;
    if (rn->stopping)
        return;
    uint32_t start = (uint32_t)fl_rng_below(&rn->rng, rn->n_clients);
    bool taken = false;
    for (uint32_t k = 0; k < rn->n_clients && !taken; k++) {
        run_client *c = &rn->clients[(start + k) % rn->n_clients];
        if (rn->cfg->pipeline > 1) {
            taken = fl__pipe_try_start(rn, c);
        } else if (!c->busy) {
            start_op(sim, c);
            taken = true;
        }
    }
    rn->res->arrivals_dropped += !taken;
    double gap_s = fl_rng_exp(&rn->rng, 1.0 / rn->cfg->rate);
    fl_sim_schedule(sim, fl_sim_time(sim) + (fl_time_ns)(gap_s * 1e9) + 1, arrival, rn);
}

void fl__clients_start(run *rn)
{
    fl_time_ns start = rn->cfg->ops_start_ns;
    if (rn->cfg->pipeline > 1)
        fl__pipe_start(rn);
    if (rn->cfg->rate > 0) {
        fl_sim_schedule(rn->sim, start, arrival, rn);
        return;
    }
    if (rn->cfg->pipeline > 1)
        return;
    for (uint32_t i = 0; i < rn->n_clients; i++) {
        fl_time_ns at = fl_rng_below(&rn->rng, 10 * FL_NS_PER_MS);
        fl_sim_schedule(rn->sim, start + at, start_op, &rn->clients[i]);
    }
}

/* After the heal: one write, retried until it succeeds or liveness_ns runs out. */
void fl__client_liveness_start(run *rn)
{
    run_client *c = &rn->live_client;
    fl_workload_op op;
    memset(&op, 0, sizeof(op));
    op.kind = FL_KV_PUT;
    op.key_len = (size_t)snprintf(op.key, sizeof(op.key), "live");
    op.value = (const uint8_t *)"1";
    op.value_len = 1;
    begin_op(rn, c, &op);
}
