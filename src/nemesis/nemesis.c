/* nemesis.c: one real run (nemesis.h). Phases, all on one event loop:
 *
 *   setup      ports, data dirs, the proxy or the namespaces, the nodes, the status poll;
 *              the cluster must answer and elect within startup_ns
 *   measured   [0, duration): clients run, faults begin and end on schedule
 *   heal       at duration: every fault ends, every node runs again; clients start no new
 *              op (those in flight end within op_timeout); the liveness probe writes until
 *              one write succeeds or liveness_ns passes
 *   teardown   nodes stopped (SIGTERM, SIGKILL after 5 s), proxy closed, namespaces and
 *              bridge deleted: on every path out, errors and *cfg->stop included
 *
 * Times in the results are ns since the measured phase began (the loop's monotonic clock). */
#include "nem_int.h"

#include "faultline/error.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define STOP_GRACE_NS (5 * FL_NS_PER_S)
#define TICK_NS       (10 * FL_NS_PER_MS)

fl_time_ns nem_now(const nem *n)
{
    fl_time_ns now = fl_loop_now(&n->loop);
    return now > n->t0 ? now - n->t0 : 0;
}

void nem_say(nem *n, const char *fmt, ...)
{
    if (!n->cfg->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nemesis: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void nem_note(nem *n, size_t i, const char *fmt, ...)
{
    if (i >= n->res->n_log)
        return;
    char *note = n->log[i].note;
    size_t len = strlen(note);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + len, FL_NEM_NOTE_MAX - len, fmt, ap);
    va_end(ap);
}

/* ---- setup ------------------------------------------------------------------------------- */

/* Free loopback ports, all distinct (the sockets are held until every port is known). */
static int free_ports(uint16_t *out, size_t count)
{
    int fds[4 * FL_NEM_NODES_MAX];
    int rc = 0;
    size_t opened = 0;
    for (; opened < count && !rc; opened++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        fds[opened] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[opened] < 0 || bind(fds[opened], (struct sockaddr *)&a, sizeof(a)) ||
            getsockname(fds[opened], (struct sockaddr *)&a, &len))
            rc = FL_EIO;
        else
            out[opened] = ntohs(a.sin_port);
    }
    for (size_t i = 0; i < opened; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static int setup_nodes(nem *n)
{
    const fl_nem_config *c = n->cfg;
    uint16_t ports[4 * FL_NEM_NODES_MAX];
    if (c->net == FL_NEM_NET_PROXY && free_ports(ports, 4 * (size_t)n->count))
        return FL_EIO;
    for (uint32_t i = 1; i <= n->count; i++) {
        nem_node *x = &n->node[i];
        fl_nem_node_report *rep = &n->res->node[i - 1];
        x->id = i;
        x->watch = SIZE_MAX;
        snprintf(rep->log, sizeof(rep->log), "%.400s/n%u.log", c->out_dir, i);
        snprintf(rep->data, sizeof(rep->data), "%.400s/n%u", c->out_dir, i);
        snprintf(x->shim_ctl, sizeof(x->shim_ctl), "%.400s/n%u.shim", c->out_dir, i);
        if (c->net == FL_NEM_NET_PROXY) {
            snprintf(x->host, sizeof(x->host), "127.0.0.1");
            x->client_port = ports[4 * (i - 1)];
            x->peer_port = ports[4 * (i - 1) + 1];
            x->adv_port = ports[4 * (i - 1) + 2];
            x->cl_adv_port = c->proxy_clients ? ports[4 * (i - 1) + 3] : x->client_port;
        } else {
            x->client_port = x->cl_adv_port = 7001;
            x->peer_port = x->adv_port = 7101;
        }
    }
    return 0;
}

static int addresses(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++) {
        nem_node *x = &n->node[i];
        char s[96];
        fl_errmsg m;
        snprintf(s, sizeof(s), "%s:%u", x->host, x->client_port);
        if (fl_addr_parse(s, &x->client_addr, &m))
            return FL_ECONFIG;
        snprintf(s, sizeof(s), "%s:%u", x->host, x->cl_adv_port);
        if (fl_addr_parse(s, &x->client_via, &m))
            return FL_ECONFIG;
    }
    return 0;
}

static int check_tools(nem *n)
{
    const fl_nem_config *c = n->cfg;
    const char *bin = c->target == FL_NEM_TARGET_ETCD ? c->etcd : c->exe;
    if (c->target != FL_NEM_TARGET_CMD && access(bin, X_OK) != 0) {
        snprintf(n->res->error, sizeof(n->res->error), "%s",
                 c->target == FL_NEM_TARGET_ETCD
                     ? "--target etcd needs etcd (apt-get install etcd-server)"
                     : "cannot find the faultline binary to run nodes");
        return FL_EUNSUPPORTED;
    }
    if (c->target == FL_NEM_TARGET_CMD && !c->node_cmd[0]) {
        snprintf(n->res->error, sizeof(n->res->error), "--target cmd needs --node-cmd TEMPLATE");
        return FL_ECONFIG;
    }
    if (mkdir(c->out_dir, 0755) && errno != EEXIST) {
        snprintf(n->res->error, sizeof(n->res->error), "cannot create %.120s: %.80s", c->out_dir,
                 strerror(errno));
        return FL_EIO;
    }
    return 0;
}

/* ---- running the loop --------------------------------------------------------------------- */

typedef bool (*nem_pred)(nem *n);

/* Runs the loop until pred holds, deadline (loop time) passes, or a stop is asked. Returns
 * 0 (pred), FL_ETIMEOUT, FL_ESTOPPED or FL_EIO. */
static int run_until(nem *n, nem_pred pred, fl_time_ns deadline)
{
    for (;;) {
        if (n->cfg->stop && *n->cfg->stop)
            return FL_ESTOPPED;
        if (pred && pred(n))
            return 0;
        fl_time_ns now = fl_loop_update_now(&n->loop);
        if (now >= deadline)
            return FL_ETIMEOUT;
        fl_time_ns wait = deadline - now < TICK_NS ? deadline - now : TICK_NS;
        if (fl_loop_run_once(&n->loop, wait))
            return FL_EIO;
    }
}

static bool cluster_ready(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++)
        if (!n->node[i].answered_since_start)
            return false;
    return nem_leader(n) != 0;
}

/* The probe wrote, every op ended, and every node restarted by the heal answered, or was
 * reported slow, or exited (a node that refuses to start is part of the result). */
static bool heal_done(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++) {
        const nem_node *x = &n->node[i];
        if (x->pid > 0 && !x->answered_since_start && !x->slow_reported)
            return false;
    }
    return n->res->live && n->res->final_reads_done && nem_clients_idle(n);
}

static void begin_cb(fl_loop *loop, void *arg)
{
    nem_fstate *fs = arg;
    (void)loop;
    if (!fs->n->ending)
        nem_fault_begin(fs->n, fs->i);
}

static void end_cb(fl_loop *loop, void *arg)
{
    nem_fstate *fs = arg;
    (void)loop;
    if (!fs->n->ending)
        nem_fault_end(fs->n, fs->i);
}

static int schedule(nem *n)
{
    for (size_t i = 0; i < n->res->n_log; i++) {
        const fl_nem_fault *f = &n->log[i].fault;
        n->fs[i] = (nem_fstate){.n = n, .i = i};
        if (f->start_ns >= n->cfg->duration_ns)
            continue;
        int rc = fl_loop_timer_start(&n->loop, f->start_ns, begin_cb, &n->fs[i], NULL);
        if (!rc && f->start_ns + f->length_ns < n->cfg->duration_ns)
            rc = fl_loop_timer_start(&n->loop, f->start_ns + f->length_ns, end_cb, &n->fs[i], NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static void startup_failure(nem *n, int rc)
{
    if (rc == FL_ESTOPPED)
        return;
    for (uint32_t i = 1; i <= n->count; i++) {
        nem_node *x = &n->node[i];
        if (x->answered_since_start)
            continue;
        char line[FL_NEM_NOTE_MAX];
        nem_node_last_error(n, x, line, sizeof(line));
        snprintf(n->res->error, sizeof(n->res->error),
                 "node %u did not answer within %.0f s of its start%s%.120s (see %.60s)", i,
                 (double)n->cfg->startup_ns / 1e9, line[0] ? ": " : "", line,
                 n->res->node[i - 1].log);
        return;
    }
    snprintf(n->res->error, sizeof(n->res->error), "the cluster elected no leader within %.0f s",
             (double)n->cfg->startup_ns / 1e9);
}

static int start_cluster(nem *n)
{
    int rc = n->cfg->net == FL_NEM_NET_NETNS ? nem_netns_setup(n) : nem_proxy_start(n);
    if (!rc)
        rc = addresses(n);
    for (uint32_t i = 1; i <= n->count && !rc; i++)
        rc = nem_node_start(n, &n->node[i]);
    if (!rc)
        rc = nem_observer_start(n);
    if (rc)
        return rc;
    fl_time_ns t = fl_loop_update_now(&n->loop);
    rc = run_until(n, cluster_ready, t + n->cfg->startup_ns);
    n->res->startup_ns = fl_loop_update_now(&n->loop) - t;
    if (rc) {
        startup_failure(n, rc);
        return rc == FL_ETIMEOUT ? FL_EIO : rc;
    }
    return 0;
}

/* The measured phase, the heal and the probe. */
static int measure(nem *n)
{
    n->t0 = fl_loop_update_now(&n->loop);
    n->measuring = true;
    int rc = schedule(n);
    if (!rc)
        rc = nem_clients_start(n);
    if (!rc)
        rc = run_until(n, NULL, n->t0 + n->cfg->duration_ns);
    if (rc != FL_ETIMEOUT)
        return rc ? rc : FL_EIO;
    n->measuring = false;
    nem_clients_stop(n);
    n->res->heal_ns = n->cfg->duration_ns;
    nem_faults_heal_all(n);
    n->ending = true;
    nem_probe_start(n);
    fl_time_ns wait =
        n->cfg->liveness_ns > n->cfg->op_timeout_ns ? n->cfg->liveness_ns : n->cfg->op_timeout_ns;
    rc = run_until(n, heal_done, fl_loop_now(&n->loop) + wait + TICK_NS);
    /* ops still in flight after that are left without a completion: info */
    return rc == FL_ESTOPPED || rc == FL_EIO ? rc : 0;
}

static void teardown(nem *n)
{
    n->ending = true;
    nem_clients_free(n);
    nem_observer_stop(n);
    nem_nodes_stop_all(n, STOP_GRACE_NS);
    nem_proxy_stop(n);
    nem_netns_teardown(n);
}

static int alloc_run(nem *n, const fl_nem_config *cfg, fl_nem_result *r)
{
    size_t nf = cfg->n_faults;
    r->log = calloc(nf ? nf : 1, sizeof(*r->log));
    n->fs = calloc(nf ? nf : 1, sizeof(*n->fs));
    n->fault_ids = calloc(nf ? nf : 1, sizeof(*n->fault_ids));
    if (!r->log || !n->fs || !n->fault_ids)
        return FL_ENOMEM;
    r->n_log = nf;
    n->log = r->log;
    for (size_t i = 0; i < nf; i++)
        r->log[i].fault = cfg->faults[i];
    fl_loop_config lc = {.watches_max = 4096, .timers_max = 65536, .events_max = 256};
    fl_errmsg m;
    return fl_loop_init(&n->loop, &lc, &m);
}

void fl_nem_workload(const fl_nem_config *c, fl_workload_config *wl)
{
    if (c->workload == FL_RUN_REGISTER)
        fl_workload_config_register(wl);
    else
        fl_workload_config_kv(wl);
    if (c->keys)
        wl->key_count = c->keys;
    uint32_t *w = wl->weights;
    fl_kv_op other = c->workload == FL_RUN_REGISTER ? FL_KV_CAS : FL_KV_APPEND;
    double writes = (double)(w[FL_KV_PUT] + w[other]);
    double read =
        c->read_share >= 0 ? c->read_share : (double)w[FL_KV_GET] / (writes + w[FL_KV_GET]);
    double cas = c->cas_share >= 0 ? c->cas_share : (double)w[FL_KV_CAS] / (writes ? writes : 1);
    if (c->workload == FL_RUN_KV && c->cas_share < 0)
        cas = 0;
    double other_share = c->workload == FL_RUN_KV ? (double)w[FL_KV_APPEND] / writes : 0;
    memset(w, 0, sizeof(wl->weights));
    w[FL_KV_GET] = (uint32_t)(read * 1000 + 0.5);
    w[FL_KV_CAS] = (uint32_t)((1 - read) * cas * 1000 + 0.5);
    w[FL_KV_APPEND] = (uint32_t)((1 - read) * (1 - cas) * other_share * 1000 + 0.5);
    w[FL_KV_PUT] = 1000 - w[FL_KV_GET] - w[FL_KV_CAS] - w[FL_KV_APPEND];
    if (c->sim_mix) { /* as the simulator weighs them (run_client.c) */
        memset(w, 0, sizeof(wl->weights));
        w[FL_KV_GET] = c->reads_pct;
        w[c->workload == FL_RUN_REGISTER ? FL_KV_CAS : FL_KV_APPEND] = c->other_pct;
        w[FL_KV_PUT] = 100 - c->reads_pct - c->other_pct;
    }
    if (c->value_size && c->workload == FL_RUN_KV)
        wl->value_size_min = wl->value_size_max = c->value_size;
}

static int workload(nem *n)
{
    fl_nem_workload(n->cfg, &n->wl);
    if (n->cfg->client == FL_NEM_CLIENT_ETCD && n->wl.weights[FL_KV_APPEND]) {
        snprintf(n->res->error, sizeof(n->res->error),
                 "etcd has no append: use --workload register");
        return FL_ECONFIG;
    }
    return 0;
}

int fl_nemesis_run(const fl_nem_config *cfg, fl_nem_result *r)
{
    memset(r, 0, sizeof(*r));
    fl_history_init(&r->history);
    fl_observe_recorder_init(&r->rec);
    if (cfg->nodes < 1 || cfg->nodes > FL_NEM_NODES_MAX || cfg->clients < 1 ||
        cfg->clients > FL_NEM_CLIENTS_MAX || !cfg->duration_ns || !cfg->op_timeout_ns ||
        cfg->n_faults > FL_NEM_FAULTS_MAX || !cfg->poll_ns) {
        snprintf(r->error, sizeof(r->error), "bad configuration (nodes 1..%d, clients 1..%d)",
                 FL_NEM_NODES_MAX, FL_NEM_CLIENTS_MAX);
        return FL_ECONFIG;
    }
    nem *n = calloc(1, sizeof(*n));
    if (!n)
        return FL_ENOMEM;
    n->cfg = cfg;
    n->res = r;
    n->count = cfg->nodes;
    n->t0 = FL_TIME_NEVER; /* until the measured phase: everything recorded is at 0 */
    fl_rng_seed(&n->rng, cfg->seed);
    int rc = alloc_run(n, cfg, r);
    bool loop_up = rc == 0;
    if (!rc)
        rc = workload(n);
    if (!rc)
        rc = check_tools(n);
    if (!rc)
        rc = setup_nodes(n);
    if (!rc)
        rc = start_cluster(n);
    if (!rc)
        rc = measure(n);
    if (!rc)
        nem_compact_end(n);
    if (!rc && n->oom)
        rc = FL_ENOMEM;
    if (loop_up) {
        teardown(n);
        fl_loop_close(&n->loop);
    } else {
        nem_netns_teardown(n);
    }
    free(n->fs);
    free(n->fault_ids);
    free(n);
    return rc;
}

void fl_nem_result_free(fl_nem_result *r)
{
    fl_history_free(&r->history);
    fl_observe_recorder_free(&r->rec);
    free(r->log);
    r->log = NULL;
    r->n_log = 0;
}
