/* run.c: one simulated run of the replicated kv (run.h): the cluster, the glue between Raft's
 * applied entries and kv/, the role timeline, and the results. */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_run_config_default(fl_run_config *c)
{
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->nodes = 5;
    c->duration_ns = 10 * FL_NS_PER_S;
    c->workload = FL_RUN_REGISTER;
    c->clients = 10;
    c->pipeline = 1;
    c->nemesis = FL_NEMESIS_NONE;
    c->nemesis_interval_ns = 2 * FL_NS_PER_S;
    c->loss = 0.2;
    c->dup = 0.2;
    c->delay_ns = 50 * FL_NS_PER_MS;
    c->clock_offset_ns = 200 * FL_NS_PER_MS;
    c->clock_drift_ppm = 50000;
    c->op_timeout_ns = 500 * FL_NS_PER_MS;
    c->op_deadline_ns = 3 * FL_NS_PER_S;
    c->liveness_ns = 5 * FL_NS_PER_S;
    c->net_delay_ns = FL_NS_PER_MS;
    c->snapshot_every = 1000;
}

#define REFUSE(...)                                                                                \
    do {                                                                                           \
        snprintf(why, why_size, __VA_ARGS__);                                                      \
        return FL_ECONFIG;                                                                         \
    } while (0)

int fl_run_config_validate(const fl_run_config *c, char *why, size_t why_size)
{
    if (c->nodes < 1 || c->nodes > FL_RAFT_NODES_MAX)
        REFUSE("--nodes %u: must be 1..%d", c->nodes, FL_RAFT_NODES_MAX);
    if (c->duration_ns < FL_NS_PER_MS || c->duration_ns > 24 * 3600 * FL_NS_PER_S)
        REFUSE("--duration: must be 1 ms .. 24 h");
    if (c->rate == 0 && (c->clients < 1 || c->clients > 10000))
        REFUSE("--clients %u: must be 1..10000", c->clients);
    if (c->rate < 0 || c->rate > 1e6)
        REFUSE("--rate: must be 0 (closed loop) .. 1000000 ops/s");
    if (c->nemesis >= FL_NEMESIS_COUNT)
        REFUSE("unknown nemesis");
    if (c->nemesis_interval_ns < FL_NS_PER_MS)
        REFUSE("--nemesis-interval: must be at least 1 ms");
    if (c->loss < 0 || c->loss > 1 || c->dup < 0 || c->dup > 1)
        REFUSE("--loss and --dup are probabilities: 0..1");
    if (c->clock_drift_ppm <= -500000 || c->clock_drift_ppm >= 500000)
        REFUSE("--drift: must be within +-500000 ppm");
    if (c->skew_ppm >= 500000 || c->lease_drift_ppm >= 1000000)
        REFUSE("--skew must be below 500000 ppm and --lease-drift below 1000000 ppm");
    if (c->op_timeout_ns < FL_NS_PER_MS || c->op_deadline_ns < c->op_timeout_ns)
        REFUSE("--op-timeout must be >= 1 ms and <= --op-deadline");
    if (c->liveness_ns < FL_NS_PER_MS)
        REFUSE("--liveness: must be at least 1 ms");
    if (c->net_delay_ns > FL_NS_PER_S)
        REFUSE("--net-delay: at most 1 s");
    if (c->workload > FL_RUN_REDIS)
        REFUSE("unknown --workload");
    if (c->read_at > FL_RUN_READ_AT_STICKY || c->read_mode > FL_RUN_READ_LOCAL)
        REFUSE("unknown --read-at or --read-mode");
    if (c->pipeline < 1 || c->pipeline > FL_RUN_PIPELINE_MAX)
        REFUSE("--pipeline %u: must be 1..%d", c->pipeline, FL_RUN_PIPELINE_MAX);
    if (c->pipeline > 1 && c->read_mode == FL_RUN_READ_LOCAL)
        REFUSE("--pipeline needs --read-mode index, lease or log (local reads keep no program "
               "order)");
    if (c->read_at != FL_RUN_READ_AT_LEADER && c->read_mode == FL_RUN_READ_LOG)
        REFUSE("--read-at %s needs --read-mode index, lease or local (log reads go to the "
               "leader)",
               fl_run_read_at_name(c->read_at));
    return 0;
}

static const char *const workloads[] = {"register", "kv", "redis"};
static const char *const read_modes[] = {"index", "log", "lease", "local"};

const char *fl_run_workload_name(fl_run_workload w)
{
    return (unsigned)w <= FL_RUN_REDIS ? workloads[w] : "?";
}

bool fl_run_workload_parse(const char *s, fl_run_workload *out)
{
    for (int w = 0; w <= FL_RUN_REDIS; w++)
        if (!strcmp(s, workloads[w]))
            return *out = (fl_run_workload)w, true;
    return false;
}
static const char *const read_ats[] = {"leader", "any", "sticky"};

const char *fl_run_read_mode_name(fl_run_read_mode m)
{
    return (unsigned)m <= FL_RUN_READ_LOCAL ? read_modes[m] : "?";
}

bool fl_run_read_mode_parse(const char *s, fl_run_read_mode *out)
{
    for (int m = 0; m <= FL_RUN_READ_LOCAL; m++)
        if (!strcmp(s, read_modes[m]))
            return *out = (fl_run_read_mode)m, true;
    return false;
}

const char *fl_run_read_at_name(fl_run_read_at w)
{
    return (unsigned)w <= FL_RUN_READ_AT_STICKY ? read_ats[w] : "?";
}

bool fl_run_read_at_parse(const char *s, fl_run_read_at *out)
{
    for (int w = 0; w <= FL_RUN_READ_AT_STICKY; w++)
        if (!strcmp(s, read_ats[w]))
            return *out = (fl_run_read_at)w, true;
    return false;
}

/* ---- planted bugs of the kv side --------------------------------------------------------- */

static const char *const run_mutant_names[] = {"read-ahead", "kv-pick-by-layout",
                                               "kv-snapshot-layout", "kv-keep-empty"};
static const uint32_t run_mutant_bits[] = {FL_KV_ORDER_MUTANT_READ_AHEAD,
                                           FL_KV_MUTANT_PICK_BY_LAYOUT,
                                           FL_KV_MUTANT_SNAPSHOT_LAYOUT, FL_KV_MUTANT_KEEP_EMPTY};
#define RUN_MUTANTS      (sizeof(run_mutant_names) / sizeof(run_mutant_names[0]))
#define RUN_ORDER_MUTANT 0 /* run_mutant_names[0] is kv_order.h's; the others kv.h's */
_Static_assert(sizeof(run_mutant_bits) / sizeof(run_mutant_bits[0]) == RUN_MUTANTS,
               "a bit per name");

static uint32_t *mutant_field(fl_run_config *c, size_t i)
{
    return i == RUN_ORDER_MUTANT ? &c->order_mutants : &c->kv_mutants;
}

size_t fl_run_mutant_list(const char *const **names)
{
    *names = run_mutant_names;
    return RUN_MUTANTS;
}

bool fl_run_mutant_set(fl_run_config *c, const char *name)
{
    uint32_t bit = fl_raft_mutant_parse(name);
    if (bit) {
        c->mutants |= bit;
        return true;
    }
    for (size_t i = 0; i < RUN_MUTANTS; i++)
        if (!strcmp(name, run_mutant_names[i])) {
            *mutant_field(c, i) |= run_mutant_bits[i];
            return true;
        }
    return false;
}

bool fl_run_mutant_has(const fl_run_config *c, const char *name)
{
    for (size_t i = 0; i < RUN_MUTANTS; i++)
        if (!strcmp(name, run_mutant_names[i]))
            return (i == RUN_ORDER_MUTANT ? c->order_mutants : c->kv_mutants) & run_mutant_bits[i];
    return false;
}

/* ---- timeline ---------------------------------------------------------------------------- */

void fl__run_role(run *rn, fl_node_id id, bool leader, fl_term term)
{
    run_node *n = &rn->nodes[id];
    if (n->leader == leader && (!leader || n->term == term))
        return;
    n->leader = leader;
    n->term = term;
    if (leader)
        fl__nemesis_new_leader(rn, id);
    fl_run_result *r = rn->res;
    if (fl_array_grow((void **)&r->roles, &rn->roles_cap, r->n_roles + 1, sizeof(*r->roles)))
        return;
    r->roles[r->n_roles++] = (fl_observe_role){fl_sim_time(rn->sim), id, leader, term};
}

void fl__run_service(run *rn, fl_node_id id, fl_term term, bool write)
{
    fl_run_result *r = rn->res;
    if (fl_array_grow((void **)&r->services, &rn->services_cap, r->n_services + 1,
                      sizeof(*r->services)))
        return;
    r->services[r->n_services++] = (fl_observe_service){
        fl_sim_time(rn->sim), id, term, write ? FL_OBSERVE_ACKED_WRITE : FL_OBSERVE_SERVED_READ};
}

void fl__run_node_event(run *rn, fl_node_id id, fl_tl_kind kind)
{
    fl_tl_event e = {.time_ns = fl_sim_time(rn->sim), .node = id, .kind = (uint8_t)kind};
    fl_timeline_add(&rn->res->timeline, &e); /* out of memory: the report lacks an event */
}

/* The node timeline keeps every role (candidates too), not only leadership. */
static void timeline_role(run *rn, fl_node_id id, fl_raft_role role, fl_term term)
{
    run_node *n = &rn->nodes[id];
    if (n->tl_seen && n->tl_role == (uint8_t)role && n->tl_term == term)
        return;
    n->tl_seen = true;
    n->tl_role = (uint8_t)role;
    n->tl_term = term;
    static const uint8_t map[] = {FL_TL_FOLLOWER, FL_TL_PRE_CANDIDATE, FL_TL_CANDIDATE,
                                  FL_TL_LEADER};
    fl_tl_event e = {fl_sim_time(rn->sim), id, FL_TL_ROLE,
                     role < sizeof(map) ? map[role] : FL_TL_FOLLOWER, term};
    fl_timeline_add(&rn->res->timeline, &e);
}

/* ---- node hooks -------------------------------------------------------------------------- */

static void node_started(void *arg, fl_node_id id, const fl_raft *r)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    fl_kv_config kc;
    fl__kvcheck_config(rn, id, &kc);
    fl_kv_init(&n->kv, &kc); /* volatile: rebuilt by re-applying the log */
    n->kv_up = true;
    n->n_pending = 0;
    if (n->tl_seen)
        fl__run_node_event(rn, id, FL_TL_RESTART);
    n->tl_seen = false;
    fl__run_role(rn, id, false, fl_raft_term_of(r));
    timeline_role(rn, id, FL_RAFT_FOLLOWER, fl_raft_term_of(r));
}

static void node_stopped(void *arg, fl_node_id id)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    if (n->kv_up)
        fl_kv_close(&n->kv);
    n->kv_up = false;
    n->n_pending = 0; /* its clients time out: outcome unknown */
    fl__clients_drop_reads(n);
    fl__pnode_down(rn, id); /* pipelined connections to it are reset */
    if (!rn->done) {
        fl__run_role(rn, id, false, n->term);
        fl__run_node_event(rn, id, FL_TL_CRASH);
    }
}

static void node_stepped(void *arg, fl_node_id id, const fl_raft *r, const fl_raft_update *up)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    uint64_t log_len = fl_raft_last_index(r) + 1 - fl_raft_first_index(r);
    if (log_len > rn->res->log_entries_max)
        rn->res->log_entries_max = log_len;
    fl__run_role(rn, id, up->role == FL_RAFT_LEADER, up->term);
    timeline_role(rn, id, up->role, up->term);
    for (size_t i = 0; i < up->n_apply; i++) {
        const fl_raft_entry *e = &up->apply[i];
        fl_index index = up->apply_first + i;
        fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
        if (e->type == FL_RAFT_ENTRY_NORMAL && n->kv_up &&
            fl_kv_apply(&n->kv, index, e->data, e->len, &res) == 0)
            fl__kvcheck_applied(rn, id, index);
        if (n->n_pending)
            fl__clients_applied(rn, id, index, e->term, &res);
        if (n->n_ppend)
            fl__pnode_applied(rn, id, index, e->term, &res);
    }
    if (up->n_reads)
        fl__clients_reads(rn, id, up->reads, up->n_reads);
    if (up->n_reads && n->n_preads)
        fl__pnode_reads(rn, id, up->reads, up->n_reads);
}

/* The kv is the state machine the host snapshots and restores (raft_sim.h). */
static int node_snapshot(void *arg, fl_node_id id, fl_buf *out)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    size_t base = out->len;
    int rc = n->kv_up ? fl_kv_snapshot(&n->kv, out) : FL_ESTOPPED;
    if (rc == 0)
        fl__kvcheck_snapshot(rn, id, out->data + base, out->len - base);
    return rc;
}

static int node_restore(void *arg, fl_node_id id, fl_index index, const uint8_t *bytes, size_t len)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    n->n_pending = 0; /* entries it waited for are inside the snapshot: outcome unknown */
    fl__pnode_restored(rn, id, index);
    int rc = n->kv_up ? fl_kv_restore(&n->kv, bytes, len) : FL_ESTOPPED;
    if (rc == 0) /* keyed by the kv's applied index, as digests after applying are */
        fl__kvcheck_restored(rn, id, fl_kv_applied_index(&n->kv));
    return rc;
}

/* ---- setup and results ------------------------------------------------------------------- */

static int setup(run *rn)
{
    const fl_run_config *c = rn->cfg;
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.mutants = c->mutants;
    rc.check_quorum = !c->no_check_quorum;
    rc.pre_vote = !c->no_pre_vote;
    rc.lease_reads = c->read_mode == FL_RUN_READ_LEASE;
    rc.max_drift_ppm = c->lease_drift_ppm;
    rc.snapshot_trailing = c->snapshot_every / 2; /* a follower a little behind needs no snapshot */
    fl_raft_sim_hooks hooks = {rn,           node_stepped,  node_started,
                               node_stopped, node_snapshot, node_restore};
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = c->seed;
    sc.nodes = c->nodes;
    sc.quiet = true; /* the caller reports violations */
    sc.link.delay = fl_sim_dist_exp(c->net_delay_ns / 2, c->net_delay_ns / 2);
    sc.disk_sync = fl_sim_dist_uniform(200 * FL_NS_PER_US, 2 * FL_NS_PER_MS);
    sc.crash_mode = FL_SIM_CRASH_RANDOM_PREFIX;
    sc.torn = 0.3;
    fl_rng skew;
    fl_rng_seed(&skew, fl_mix64(c->seed ^ 0x5CE3));
    for (uint32_t i = 0; i < c->nodes && c->skew_ppm; i++)
        sc.clock_drift_ppm[i] = (fl_rng_double(&skew) * 2 - 1) * c->skew_ppm;
    char why[160];
    int err = fl_raft_sim_create(&rn->rs, &rc, &hooks, &sc, &rn->sim, why, sizeof(why));
    if (!err)
        err = fl__kvcheck_init(rn);
    if (err)
        return err;
    fl_rng_seed(&rn->rng, fl_mix64(c->seed ^ 0x5EED5));
    fl_rng_seed(&rn->churn_rng, fl_mix64(c->seed ^ 0xC4124));
    if (fl__nemesis_churns(c->nemesis)) {
        fl_rng_seed(&rn->member_rng, fl_mix64(c->seed ^ 0xC4C412));
        rn->rs.voters = c->nodes / 2 + 1; /* the others wait outside, empty */
    }
    rn->rs.snapshot_every = c->snapshot_every;
    err = fl__clients_init(rn);
    if (!err && c->pipeline > 1)
        err = fl__pipe_init(rn);
    if (err)
        return err;
    return fl_sim_start_all(rn->sim);
}

static void heal(fl_sim *sim, void *arg)
{
    run *rn = arg;
    rn->stopping = true;
    fl__nemesis_heal_all(rn);
    rn->healed = true;
    rn->heal_ns = fl_sim_time(sim);
    rn->res->heal_ns = rn->heal_ns;
    fl__client_liveness_start(rn);
}

static void collect(run *rn)
{
    fl_run_result *r = rn->res;
    const fl_sim_violation *v = fl_sim_get_violation(rn->sim);
    if (v->found) {
        r->violation = true;
        snprintf(r->violation_reason, sizeof(r->violation_reason), "%s", v->reason);
        r->violation_event = v->event;
        r->violation_time_ns = v->time_ns;
        fl_buf tail;
        fl_buf_init(&tail);
        fl_sim_trace_tail(rn->sim, &tail);
        snprintf(r->trace_tail, sizeof(r->trace_tail), "%.*s", (int)tail.len,
                 tail.data ? (const char *)tail.data : "");
        fl_buf_free(&tail);
    }
    r->sim = *fl_sim_get_stats(rn->sim);
    r->elections = rn->rs.stats.elections;
    r->churn_asked = rn->member_churn.asked;
    r->churn_refused = rn->member_churn.refused;
    r->joint_committed = rn->rs.stats.joint_committed;
    r->config_committed = rn->rs.stats.config_committed;
    r->removed_stepdowns = rn->rs.stats.removed_stepdowns;
    r->joint_elections = rn->rs.stats.joint_elections;
    for (uint32_t i = 0; i < rn->cfg->nodes; i++)
        r->fsyncs += r->sim.node[i].fsyncs;
    r->trace_hash = fl_sim_trace_hash(rn->sim);
    r->end_ns = fl_sim_time(rn->sim);
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++) {
        uint64_t bytes = fl_sim_disk_bytes(rn->sim, id);
        if (bytes > r->disk_bytes_max)
            r->disk_bytes_max = bytes;
    }
}

int fl_run(const fl_run_config *c, fl_run_result *r)
{
    memset(r, 0, sizeof(*r));
    fl_history_init(&r->history);
    r->history.pipelined = c->pipeline > 1; /* several ops per connection in flight */
    char why[200];
    int err = fl_run_config_validate(c, why, sizeof(why));
    if (err)
        return err;
    run *rn = calloc(1, sizeof(*rn));
    if (!rn)
        return FL_ENOMEM;
    rn->cfg = c;
    rn->res = r;
    fl_buf_init(&rn->scratch);
    err = setup(rn);
    if (!err) {
        fl__nemesis_start(rn);
        fl__clients_start(rn);
        fl_sim_schedule(rn->sim, c->duration_ns, heal, rn);
        fl_sim_run_until(rn->sim, c->duration_ns + c->liveness_ns);
        collect(rn);
    }
    rn->done = true;
    fl_sim_destroy(rn->sim); /* stops the nodes: their kv and pending go */
    fl__clients_free_msgs(rn);
    fl__pipe_free(rn);
    fl__kvcheck_free(rn);
    fl_raft_sim_free(&rn->rs);
    fl__clients_free(rn);
    for (uint32_t i = 0; i <= FL_RAFT_NODES_MAX; i++) {
        fl__clients_drop_reads(&rn->nodes[i]);
        free(rn->nodes[i].reads);
        free(rn->nodes[i].pending);
        free(rn->nodes[i].ppend);
        free(rn->nodes[i].preads);
    }
    fl_buf_free(&rn->scratch);
    free(rn);
    return err;
}

void fl_run_result_free(fl_run_result *r)
{
    fl_history_free(&r->history);
    free(r->roles);
    free(r->services);
    free(r->faults);
    fl_timeline_free(&r->timeline);
    memset(r, 0, sizeof(*r));
}
