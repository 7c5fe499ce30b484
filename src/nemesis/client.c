/* client.c: the nemesis's recorded clients. Each client is one connection to one node and
 * runs one operation at a time from the simulator's workload generator (workload.h), so
 * histories of real and simulated runs have the same shape. Closed loop: the next op starts
 * when one ends. Open loop (--rate): arrivals are Poisson at the rate and go to an idle
 * client; an arrival that finds every client busy is dropped and counted.
 *
 * Jepsen's outcomes: ok, fail (definitely did not happen: a read that got an error, a
 * compare-and-set whose expected value did not match, a request that never left because
 * the connection was never made), info (unknown: a write that got an error or no answer
 * within --op-timeout, or whose connection broke). After an info the client continues as a
 * new process. A client whose op timed out or whose connection broke opens a new connection
 * (a late answer on the old one must not be taken for the next op's).
 *
 * Client i talks to node i mod N + 1 for the whole run, as Jepsen's clients do, so every
 * node, the leader and the isolated or paused ones included, keeps getting requests, and
 * the clients of the nodes a fault spares keep measuring the cluster. (Clients that moved
 * to the next node on a timeout drifted onto one node within a few faults, and a fault on
 * that node then stalled every client: a measurement of the harness, not of the cluster.)
 * The liveness probe moves from node to node. */
#include "nem_int.h"

#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_NS (10 * FL_NS_PER_MS)

struct nem_client {
    nem *n;
    uint32_t idx;
    int64_t process;
    uint32_t node;
    nem_conn c;
    fl_workload gen;
    fl_rng rng;
    bool probe;
    bool busy; /* an op is invoked and not completed */
    bool want; /* an op should start as soon as the connection is up */
    fl_workload_op op;
    uint8_t f;
    uint32_t key;
    bool pair;
    fl_value v1, v2;
    fl_loop_timer_id timeout, retry;
    fl_buf body, scratch;
};

static void client_next(nem_client *c);

static bool is_read(fl_kv_op k)
{
    return k == FL_KV_GET;
}

static fl_value parse_value(nem *n, const uint8_t *p, size_t len)
{
    return fl_workload_history_value(&n->res->history, p, len, n->cfg->workload == FL_RUN_REGISTER,
                                     &n->oom);
}

static void record(nem_client *c, uint8_t type, fl_value v)
{
    if (c->probe)
        return;
    nem *n = c->n;
    fl_event ev = {.process = c->process,
                   .type = type,
                   .f = c->f,
                   .pair = c->pair,
                   .key = c->key,
                   .value = v,
                   .value2 = c->v2,
                   .time = nem_now(n)};
    if (fl_history_add(&n->res->history, &ev))
        n->oom = true;
}

/* ---- starting an op ------------------------------------------------------------------------ */

static void timeout_cb(fl_loop *loop, void *arg);

static void invoke(nem_client *c)
{
    nem *n = c->n;
    c->want = false;
    c->busy = true;
    const fl_workload_op *op = &c->op;
    c->f = (uint8_t)fl_workload_history_f(op->kind, n->cfg->workload == FL_RUN_REGISTER);
    c->pair = op->kind == FL_KV_CAS;
    c->v1 = c->v2 = (fl_value){.kind = FL_VALUE_NONE};
    if (!c->probe && fl_history_intern(&n->res->history, op->key, op->key_len, &c->key))
        n->oom = true;
    if (op->kind == FL_KV_PUT || op->kind == FL_KV_APPEND) {
        c->v1 = parse_value(n, op->value, op->value_len);
    } else if (op->kind == FL_KV_CAS) {
        c->v1 = op->expect_absent ? fl_value_nil() : parse_value(n, op->expect, op->expect_len);
        c->v2 = parse_value(n, op->value, op->value_len);
    } else if (op->kind == FL_KV_INCR) {
        c->v1 = fl_value_int(op->delta);
    }
    if (c != n->probe)
        n->res->ops_invoked++;
    record(c, FL_EV_INVOKE, c->v1);
    nem_proto_request(n->cfg->client, n->node[c->node].host, op, &c->c.out);
    nem_conn_flush(&c->c);
    fl_loop_timer_start(&n->loop, n->cfg->op_timeout_ns, timeout_cb, c, &c->timeout);
}

static void retry_cb(fl_loop *loop, void *arg)
{
    nem_client *c = arg;
    (void)loop;
    c->retry = 0;
    client_next(c);
}

/* After a timeout or a broken connection: a fresh connection, to the same node (a late
 * answer on the old one must not be taken for the next op's). The probe moves on. */
static void move_on(nem_client *c)
{
    nem_conn_close(&c->c);
    if (c == c->n->probe)
        c->node = c->node % c->n->count + 1;
    if (!c->retry)
        fl_loop_timer_start(&c->n->loop, RETRY_NS, retry_cb, c, &c->retry);
}

/* Starts the wanted op once connected; connects first if needed. */
static void client_next(nem_client *c)
{
    nem *n = c->n;
    if (c->busy || !c->want)
        return;
    if (c != n->probe && n->cfg->ops_max && n->res->ops_invoked >= n->cfg->ops_max) {
        c->want = false; /* the workload's last operation has started */
        return;
    }
    if (c->c.fd >= 0 && c->c.connected) {
        invoke(c);
        return;
    }
    if (c->c.fd >= 0)
        return; /* connecting: the connection's callback comes back here */
    if (nem_conn_open(&c->c, &n->node[c->node].client_via))
        move_on(c);
}

/* ---- completing an op ---------------------------------------------------------------------- */

static void count(nem_client *c, uint8_t type)
{
    fl_nem_result *r = c->n->res;
    if (c == c->n->probe) /* the probe and the final reads are not the workload's */
        return;
    r->ops_ok += type == FL_EV_OK;
    r->ops_fail += type == FL_EV_FAIL;
    r->ops_info += type == FL_EV_INFO;
}

static void service(nem_client *c)
{
    nem *n = c->n;
    const nem_node *x = &n->node[c->node];
    if (c->probe || !x->st_known || !x->st_leader)
        return;
    if (fl_observe_record_service(&n->res->rec, nem_now(n), x->id, x->st_term,
                                  is_read(c->op.kind) ? FL_OBSERVE_SERVED_READ
                                                      : FL_OBSERVE_ACKED_WRITE))
        n->oom = true;
}

static void probe_done(nem_client *c, uint8_t type);

static void complete(nem_client *c, uint8_t type, fl_value v)
{
    nem *n = c->n;
    if (c->timeout)
        fl_loop_timer_cancel(&n->loop, c->timeout);
    c->timeout = 0;
    record(c, type, v);
    count(c, type);
    c->busy = false;
    if (type == FL_EV_INFO && !c->probe && c != n->probe)
        c->process = n->next_process++;
    if (type == FL_EV_OK)
        service(c);
    if (c == n->probe) {
        probe_done(c, type);
        return;
    }
    if (n->measuring && n->cfg->rate <= 0) {
        fl_workload_next(&c->gen, &c->rng, &c->op);
        c->want = true;
    }
}

static void on_reply(nem_client *c, const nem_reply *r)
{
    nem *n = c->n;
    nem_outcome o;
    nem_proto_decode(n->cfg->client, &c->op, r, &c->scratch, &o);
    fl_value v = (fl_value){.kind = FL_VALUE_NONE};
    if (o.type == FL_EV_OK && o.has_value)
        v = o.nil ? fl_value_nil() : parse_value(n, o.value, o.value_len);
    if (o.type != FL_EV_OK && n->cfg->verbose && o.error[0])
        nem_say(n, "client %u at node %u: %s", c->idx, c->node, o.error);
    complete(c, o.type, v);
}

static void conn_fn(nem_conn *conn, bool closed)
{
    nem_client *c = conn->arg;
    nem *n = c->n;
    if (closed) {
        if (c->busy) /* a read did nothing; a write may have happened */
            complete(c, is_read(c->op.kind) ? FL_EV_FAIL : FL_EV_INFO,
                     (fl_value){.kind = FL_VALUE_NONE});
        move_on(c);
        return;
    }
    while (c->busy && conn->in.len) {
        nem_reply r;
        long used = n->cfg->client == FL_NEM_CLIENT_ETCD
                        ? nem_http_reply(conn->in.data, conn->in.len, &c->body, &r)
                        : nem_resp_reply(conn->in.data, conn->in.len, &r);
        if (used == 0)
            break;
        if (used < 0) {
            nem_say(n, "client %u: a malformed reply from node %u; reconnecting", c->idx, c->node);
            complete(c, is_read(c->op.kind) ? FL_EV_FAIL : FL_EV_INFO,
                     (fl_value){.kind = FL_VALUE_NONE});
            move_on(c);
            return;
        }
        on_reply(c, &r);
        memmove(conn->in.data, conn->in.data + used, conn->in.len - (size_t)used);
        conn->in.len -= (size_t)used;
    }
    client_next(c);
}

static void timeout_cb(fl_loop *loop, void *arg)
{
    nem_client *c = arg;
    (void)loop;
    c->timeout = 0;
    if (!c->busy)
        return;
    complete(c, FL_EV_INFO, (fl_value){.kind = FL_VALUE_NONE});
    move_on(c);
}

/* ---- the set of clients ------------------------------------------------------------------- */

static int client_init(nem *n, nem_client *c, uint32_t idx, uint32_t writers)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    c->idx = idx;
    c->process = idx;
    c->node = idx % n->count + 1;
    c->rng = fl_rng_fork(&n->rng);
    nem_conn_init(&c->c, n, conn_fn, c);
    fl_buf_init(&c->body);
    fl_buf_init(&c->scratch);
    fl_workload_config wc = n->wl;
    wc.writer_id = idx;
    wc.writer_count = writers;
    return fl_workload_init(&c->gen, &wc);
}

/* One arrival: to an idle client, else dropped and counted. */
static void arrive(nem *n)
{
    nem_client *idle = NULL;
    uint32_t first = (uint32_t)fl_rng_below(&n->rng, n->n_clients);
    for (uint32_t i = 0; i < n->n_clients && !idle; i++) {
        nem_client *c = &n->clients[(first + i) % n->n_clients];
        if (!c->busy && !c->want)
            idle = c;
    }
    if (!idle) {
        n->res->arrivals_dropped++;
        return;
    }
    fl_workload_next(&idle->gen, &idle->rng, &idle->op);
    idle->want = true;
    client_next(idle);
}

/* Every arrival due by now (the loop's timers tick in milliseconds: a timer per arrival
 * would cap the rate near 1000 per second), then a timer for the next one. */
static void arrival_cb(fl_loop *loop, void *arg)
{
    nem *n = arg;
    fl_time_ns now = fl_loop_now(loop);
    for (int i = 0; n->measuring && n->next_arrival_ns <= now && i < 100000; i++) {
        arrive(n);
        n->next_arrival_ns += (fl_time_ns)fl_rng_exp(&n->rng, 1e9 / n->cfg->rate);
    }
    if (n->measuring)
        fl_loop_timer_start(loop, n->next_arrival_ns - now, arrival_cb, n, NULL);
}

int nem_clients_start(nem *n)
{
    n->n_clients = n->cfg->clients;
    n->next_process = n->n_clients;
    n->clients = calloc(n->n_clients + 1, sizeof(*n->clients));
    if (!n->clients)
        return FL_ENOMEM;
    for (uint32_t i = 0; i <= n->n_clients; i++) {
        int rc = client_init(n, &n->clients[i], i, n->n_clients + 1);
        if (rc)
            return rc;
    }
    n->probe = &n->clients[n->n_clients];
    n->probe->probe = true;
    if (n->cfg->rate > 0) {
        n->next_arrival_ns = fl_loop_now(&n->loop);
        fl_loop_timer_start(&n->loop, 0, arrival_cb, n, NULL);
        return 0;
    }
    for (uint32_t i = 0; i < n->n_clients; i++) {
        nem_client *c = &n->clients[i];
        fl_workload_next(&c->gen, &c->rng, &c->op);
        c->want = true;
        client_next(c);
    }
    return 0;
}

void nem_clients_stop(nem *n)
{
    for (uint32_t i = 0; n->clients && i < n->n_clients; i++)
        n->clients[i].want = false;
}

bool nem_clients_idle(const nem *n)
{
    for (uint32_t i = 0; n->clients && i < n->n_clients; i++)
        if (n->clients[i].busy)
            return false;
    return true;
}

void nem_clients_free(nem *n)
{
    for (uint32_t i = 0; n->clients && i <= n->n_clients; i++) {
        nem_client *c = &n->clients[i];
        if (c->timeout)
            fl_loop_timer_cancel(&n->loop, c->timeout);
        if (c->retry)
            fl_loop_timer_cancel(&n->loop, c->retry);
        nem_conn_free(&c->c);
        fl_workload_close(&c->gen);
        fl_buf_free(&c->body);
        fl_buf_free(&c->scratch);
    }
    free(n->clients);
    n->clients = NULL;
    n->probe = NULL;
}

/* ---- the liveness probe -------------------------------------------------------------------- */

static void probe_op(nem_client *c)
{
    memset(&c->op, 0, sizeof(c->op));
    c->op.kind = FL_KV_PUT;
    snprintf(c->op.key, sizeof(c->op.key), "nemesis-probe");
    c->op.key_len = strlen(c->op.key);
    static const uint8_t one[] = "1";
    c->op.value = one;
    c->op.value_len = 1;
    c->want = true;
}

/* After the probe's write, the final reads: every key once, recorded, so the checker sees
 * whether every acknowledged write survived the faults (capped at FINAL_READS_MAX keys). */
#define FINAL_READS_MAX 1000

static void final_read(nem_client *c)
{
    nem *n = c->n;
    memset(&c->op, 0, sizeof(c->op));
    c->op.kind = FL_KV_GET;
    c->op.key_index = n->final_next;
    c->op.key_len =
        (size_t)snprintf(c->op.key, sizeof(c->op.key), "k%llu", (unsigned long long)n->final_next);
    c->want = true;
}

static void probe_done(nem_client *c, uint8_t type)
{
    nem *n = c->n;
    uint64_t keys = n->wl.key_count < FINAL_READS_MAX ? n->wl.key_count : FINAL_READS_MAX;
    if (!n->res->live) {
        if (type == FL_EV_OK) {
            n->res->live = true;
            n->res->recover_ns = nem_now(n) - n->res->heal_ns;
            c->probe = false; /* from here on its reads are recorded */
            c->process = n->next_process++;
            final_read(c);
        } else {
            probe_op(c); /* again, until the run gives up on it */
        }
        return;
    }
    if (type == FL_EV_OK)
        n->final_next++;
    else if (type == FL_EV_INFO)
        c->process = n->next_process++;
    if (n->final_next < keys)
        final_read(c);
    else
        n->res->final_reads_done = true;
}

int nem_probe_start(nem *n)
{
    nem_client *c = n->probe;
    probe_op(c);
    client_next(c);
    return 0;
}
