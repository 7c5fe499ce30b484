/* run.c: one simulated run of the replicated kv (run.h): the cluster (Raft or Multi-Paxos,
 * through the one consensus node glue, cons_sim.h), the glue between its applied entries and
 * kv/, the role timeline, and the results. */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/host.h" /* the snapshot watchdog's default */

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
    c->snapshot_timeout_ns = FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT;
    c->reads_pct = 50;
    c->cas_pct = 20;
    c->torn = 0.3;
}

#define REFUSE(...)                                                                                \
    do {                                                                                           \
        snprintf(why, why_size, __VA_ARGS__);                                                      \
        return FL_ECONFIG;                                                                         \
    } while (0)

static void core_config(const fl_run_config *c, fl_cons_config *cc);

/* What only Paxos has is refused for Raft. */
static int raft_validate(const fl_run_config *c, char *why, size_t why_size)
{
    if (c->protocol != FL_CONS_RAFT)
        REFUSE("unknown protocol");
    if (c->q1 || c->q2 || c->unsafe_quorums || c->no_backoff)
        REFUSE("--q1, --q2, --unsafe-quorums and --no-backoff are Paxos options (--protocol "
               "paxos)");
    return 0;
}

/* What only Raft has is refused for Paxos, with the reason; the quorums are checked by the
 * core's own validation (q1 + q2 > nodes unless --unsafe-quorums). */
static int paxos_validate(const fl_run_config *c, char *why, size_t why_size)
{
    if (fl__nemesis_churns(c))
        REFUSE("churn: membership changes are Raft's (Paxos runs a fixed member set)");
    if (c->nemesis == FL_NEMESIS_FLP)
        REFUSE("--nemesis flp: the adversary reads Raft's votes (docs/limits.md); Paxos has none "
               "yet");
    if (c->nemesis == FL_NEMESIS_TRANSFER)
        REFUSE("--nemesis transfer: leadership transfer is Raft's (in mix, Paxos lets that "
               "interval pass without a fault)");
    if (c->read_at != FL_RUN_READ_AT_LEADER && c->read_mode != FL_RUN_READ_LOCAL)
        REFUSE("--read-at %s: reads at followers are Raft's (Paxos reads at the leader)",
               fl_run_read_at_name(c->read_at));
    if (c->no_check_quorum || c->no_pre_vote)
        REFUSE("--no-check-quorum and --no-pre-vote are Raft options");
    if (c->q1 > c->nodes || c->q2 > c->nodes)
        REFUSE("--q1 %u / --q2 %u: at most --nodes %u", c->q1, c->q2, c->nodes);
    uint32_t majority = c->nodes / 2 + 1;
    uint32_t q1 = c->q1 ? c->q1 : majority, q2 = c->q2 ? c->q2 : majority;
    if (q1 + q2 <= c->nodes && !c->unsafe_quorums)
        REFUSE("--q1 %u --q2 %u: q1 + q2 must exceed --nodes %u (every phase-1 quorum must meet "
               "every phase-2 quorum); --unsafe-quorums runs it anyway, to show what breaks",
               q1, q2, c->nodes);
    fl_cons_config cc;
    core_config(c, &cc);
    cc.paxos.n_nodes = c->nodes;
    for (uint32_t i = 0; i < c->nodes; i++)
        cc.paxos.nodes[i] = i + 1;
    char reason[160];
    if (fl_paxos_config_validate(&cc.paxos, reason, sizeof(reason)))
        REFUSE("paxos: %s", reason);
    return 0;
}

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
    if (c->nemesis == FL_NEMESIS_FLP && c->nodes < 2)
        REFUSE("--nemesis flp: needs 2 nodes or more (one node decides alone: FLP assumes a "
               "fault to tolerate)");
    if (c->gst_ns && (c->nemesis != FL_NEMESIS_FLP || c->gst_ns > c->duration_ns))
        REFUSE("--gst goes with --nemesis flp and must be within --duration");
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
    if (c->n_faults > FL_RUN_FAULTS_MAX)
        REFUSE("--faults: at most %d kinds", FL_RUN_FAULTS_MAX);
    if (c->n_faults && c->nemesis != FL_NEMESIS_NONE)
        REFUSE("--faults and --nemesis: one or the other");
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (!fl_nemesis_plannable(c->faults[i].kind) || c->faults[i].interval_ns < FL_NS_PER_MS)
            REFUSE("--faults: %s cannot be part of a plan (or its interval is below 1 ms)",
                   fl_nemesis_name(c->faults[i].kind));
    if (c->inflight > FL_RAFT_INFLIGHT_MAX)
        REFUSE("--inflight %u: must be 1..%d", c->inflight, FL_RAFT_INFLIGHT_MAX);
    if (c->keys > 1000000)
        REFUSE("--keys %u: at most 1000000", c->keys);
    if (c->reads_pct > 100 || c->cas_pct > 100 || c->reads_pct + c->cas_pct > 100)
        REFUSE("--reads and --cas are percentages that add up to at most 100");
    if (!(c->torn >= 0 && c->torn <= 1))
        REFUSE("--torn is a probability: 0..1");
    if (c->value_size > 1000000 || (c->value_size && c->value_size < 20))
        REFUSE("value size %u: 20..1000000 bytes (a value holds its unique number)", c->value_size);
    if (c->ops_start_ns >= c->duration_ns)
        REFUSE("the workload's start must come before the end of the run");
    if (c->n_schedule && (c->n_faults || c->nemesis != FL_NEMESIS_NONE))
        REFUSE("an explicit schedule goes with neither --nemesis nor --faults");
    uint32_t bad;
    char sched_why[160];
    if (c->n_schedule && fl_run_schedule_check(c->schedule, c->n_schedule, c->nodes, c->duration_ns,
                                               &bad, sched_why, sizeof(sched_why)))
        REFUSE("fault %u of the schedule: %s", bad + 1, sched_why);
    return c->protocol == FL_CONS_PAXOS ? paxos_validate(c, why, why_size)
                                        : raft_validate(c, why, why_size);
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

fl_node_id fl_run_home_node(const fl_run_config *c, int64_t process)
{
    uint32_t clients = c->rate > 0 ? FL_RUN_OPEN_CLIENTS_MAX : c->clients;
    uint64_t idx = (uint64_t)(process < 0 ? -process : process) % ((uint64_t)clients + 1);
    return c->nodes ? (fl_node_id)(idx % c->nodes + 1) : FL_NODE_NONE;
}

/* ---- timeline ---------------------------------------------------------------------------- */

void fl__run_role(run *rn, fl_node_id id, bool leader, fl_term term)
{
    run_node *n = &rn->nodes[id];
    if (n->leader == leader && (!leader || n->term == term))
        return;
    n->leader = leader;
    n->term = term;
    n->leader_since = fl_sim_time(rn->sim);
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
static void timeline_role(run *rn, fl_node_id id, fl_cons_role role, fl_term term)
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

bool fl__run_wait_turn(run *rn, fl_node_id id, fl_sim_node_fn fn, void *arg)
{
    if (!rn->cfg->sync_inline || fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP ||
        (!fl_sim_held(rn->sim, id) && !fl_sim_backlog(rn->sim, id)))
        return false;
    return fl_sim_schedule_node(rn->sim, fl_sim_time(rn->sim), id, fn, arg) == 0;
}

/* Client operations in flight at node id (the server's n_ops): its clients' proposals and
 * reads waiting there, and the commands its pipelined connections have not been answered. */
static uint32_t node_ops(void *arg, fl_node_id id)
{
    run *rn = arg;
    const run_node *n = &rn->nodes[id];
    uint64_t ops = n->n_pending + n->n_reads;
    for (uint32_t i = 0; i < rn->n_clients && rn->cfg->pipeline > 1; i++) {
        const pipe_conn *pc = &rn->clients[i].pc;
        if (pc->open && pc->node == id && pc->arrived >= pc->head)
            ops += pc->arrived - pc->head + 1;
    }
    return ops > UINT32_MAX ? UINT32_MAX : (uint32_t)ops;
}

static void node_started(void *arg, fl_node_id id, const fl_cons_core *c)
{
    fl_cons_status st;
    c->ops->status(c, &st);
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
    fl__run_role(rn, id, false, st.term);
    timeline_role(rn, id, FL_CONS_FOLLOWER, st.term);
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

/* After the heal every node is up and connected and nothing is injected: once the nodes have
 * heard of each other (a second) a leader that has led for an election timeout must stay
 * while a majority of its voters still hear it, unless a committed configuration removed it.
 * (Within an election timeout of its election, a candidate of a round that ran at the same
 * time, without pre-vote, may still depose it: its higher term comes back in an
 * AppendEntries answer. A clock that jumped back before the heal may hold back a leader's
 * heartbeats for as long after it: then its followers stop hearing it, and electing another
 * is right.) Anything else that deposes it is disruption: a removed node's campaigns, a
 * broken lease or pre-vote. */
#define DISRUPTION_GRACE_NS (FL_NS_PER_S)
#define ELECTION_TIMEOUT_NS (150 * FL_NS_PER_MS) /* that of every kv run (setup) */

/* Voters of leader id's configuration that still hold it as their leader of term and heard
 * from it within an election timeout, by their own clocks; it counts itself. */
static uint32_t still_heard(run *rn, fl_node_id id, fl_term term, const fl_raft_conf *conf)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < conf->n_voters; i++) {
        fl_node_id v = conf->voters[i];
        const fl_raft *f = v == id ? NULL : fl_raft_sim_node(rn->sim, v);
        n += v == id ||
             (f && fl_raft_term_of(f) == term && fl_raft_leader_of(f) == id &&
              fl_sim_now(rn->sim, v) < fl_raft_leader_contact_of(f) + ELECTION_TIMEOUT_NS);
    }
    return n;
}

static void watch_disruption(run *rn, fl_node_id id, const fl_raft *r, const fl_cons_update *up)
{
    run_node *n = &rn->nodes[id];
    fl_time_ns now = fl_sim_time(rn->sim);
    const fl_raft_conf *conf = fl_raft_conf_of(r);
    if (!n->leader || (up->role == FL_RAFT_LEADER && up->term == n->term) || !rn->healed ||
        now < rn->heal_ns + DISRUPTION_GRACE_NS || now < n->leader_since + ELECTION_TIMEOUT_NS ||
        !fl_raft_conf_is_voter(conf, id) ||
        still_heard(rn, id, n->term, conf) <= conf->n_voters / 2)
        return;
    fl_run_result *res = rn->res;
    if (res->disruptions++ == 0)
        snprintf(res->disruption, sizeof(res->disruption),
                 "node %u, leader of term %llu for %.3f s, deposed %.3f s after the heal (term "
                 "%llu) while a majority of its voters still heard it, every node up",
                 id, (unsigned long long)n->term, (double)(now - n->leader_since) / 1e9,
                 (double)(now - rn->heal_ns) / 1e9, (unsigned long long)up->term);
}

static void node_stepped(void *arg, fl_node_id id, const fl_cons_core *c, const fl_cons_update *up)
{
    run *rn = arg;
    run_node *n = &rn->nodes[id];
    fl_cons_status st;
    c->ops->status(c, &st);
    const fl_raft *r = fl_raft_sim_node(rn->sim, id); /* NULL for Paxos */
    if (r)
        watch_disruption(rn, id, r, up);
    uint64_t log_len = st.last_index + 1 - st.first_index;
    if (log_len > rn->res->log_entries_max)
        rn->res->log_entries_max = log_len;
    fl__run_role(rn, id, up->role == FL_CONS_LEADER, up->term);
    timeline_role(rn, id, up->role, up->term);
    for (size_t i = 0; i < up->n_apply; i++) {
        const fl_cons_entry *e = &up->apply[i];
        fl_index index = up->apply_first + i;
        fl_kv_result res = {.status = FL_KV_BAD_COMMAND};
        if (e->type == FL_RAFT_ENTRY_NORMAL && n->kv_up && /* Paxos: the same number */
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

/* The kv is the state machine the host snapshots and restores (cons_sim.h). */
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

/* The core's configuration for the run: the same timeouts, batches and backlog bound for
 * both protocols (their defaults), then each one's own options. Where it still differs from
 * the server's (server.c raft_config): timeouts of 150/30 ms, not 300/50 (--election-ms,
 * --heartbeat-ms); no snapshot log share; see docs/simulator.md, "What the server runs". */
static void core_config(const fl_run_config *c, fl_cons_config *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->protocol = c->protocol;
    fl_raft_config *rc = &cc->raft;
    fl_raft_config_default(rc, 1);
    rc->check_quorum = !c->no_check_quorum;
    rc->pre_vote = !c->no_pre_vote;
    fl_paxos_config *pc = &cc->paxos;
    fl_paxos_config_default(pc, 1);
    /* 512: Raft's default and the server's Paxos's bound; a Raft bound given leaves Paxos's
     * (it cannot exceed 512, paxos.h); an entry bound given is both's, as in the server */
    pc->uncommitted_max = rc->uncommitted_max;
    if (c->uncommitted_max)
        rc->uncommitted_max = c->uncommitted_max;
    if (c->entry_bytes_max)
        rc->entry_bytes_max = pc->entry_bytes_max = c->entry_bytes_max;
    pc->q1 = c->q1;
    pc->q2 = c->q2;
    pc->unsafe_quorums = c->unsafe_quorums;
    pc->no_backoff = c->no_backoff;
    rc->mutants = pc->mutants = c->mutants; /* the bits are the protocol's own */
    rc->lease_reads = pc->lease_reads = c->read_mode == FL_RUN_READ_LEASE;
    rc->max_drift_ppm = pc->max_drift_ppm = c->lease_drift_ppm;
    if (c->batch_entries)
        rc->batch_entries_max = c->batch_entries;
    if (c->inflight)
        rc->inflight_max = c->inflight;
    rc->sends_at_batch_end = c->sends_at_batch_end;
    rc->overlap_min_entries = c->overlap_min;
    /* a follower a little behind needs no snapshot */
    rc->snapshot_trailing = pc->snapshot_trailing = c->snapshot_every / 2;
}

static int setup(run *rn)
{
    const fl_run_config *c = rn->cfg;
    fl_cons_config cc;
    core_config(c, &cc);
    fl_cons_sim_hooks hooks = {
        rn, node_stepped, node_started, node_stopped, node_snapshot, node_restore, node_ops};
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = c->seed;
    sc.nodes = c->nodes;
    sc.quiet = true; /* the caller reports violations */
    sc.trace_verbose = c->trace_verbose;
    sc.link.delay = fl_sim_dist_exp(c->net_delay_ns / 2, c->net_delay_ns / 2);
    sc.disk_sync = c->slow_disks ? fl_sim_dist_uniform(5 * FL_NS_PER_MS, 50 * FL_NS_PER_MS)
                                 : fl_sim_dist_uniform(200 * FL_NS_PER_US, 2 * FL_NS_PER_MS);
    sc.crash_mode =
        c->crash_lose_unsynced ? FL_SIM_CRASH_LOSE_UNSYNCED : FL_SIM_CRASH_RANDOM_PREFIX;
    sc.torn = c->torn;
    fl_rng skew;
    fl_rng_seed(&skew, fl_mix64(c->seed ^ 0x5CE3));
    for (uint32_t i = 0; i < c->nodes && c->skew_ppm; i++)
        sc.clock_drift_ppm[i] = (fl_rng_double(&skew) * 2 - 1) * c->skew_ppm;
    char why[160];
    int err = fl_cons_sim_create(&rn->cs, &cc, &hooks, &sc, &rn->sim, why, sizeof(why));
    if (!err)
        err = fl__kvcheck_init(rn);
    if (err)
        return err;
    fl_rng_seed(&rn->rng, fl_mix64(c->seed ^ 0x5EED5));
    fl_rng_seed(&rn->churn_rng, fl_mix64(c->seed ^ 0xC4124));
    if (fl__nemesis_churns(c)) {
        fl_rng_seed(&rn->member_rng, fl_mix64(c->seed ^ 0xC4C412));
        rn->cs.voters = c->nodes / 2 + 1; /* the others wait outside, empty */
    }
    rn->cs.snapshot_every = c->snapshot_every;
    rn->cs.snapshot_phases = !c->snapshot_in_step;
    rn->cs.snapshot_sync = c->snapshot_sync;
    rn->cs.snapshot_timeout_ns = c->snapshot_timeout_ns;
    rn->cs.sync_inline = c->sync_inline;
    if (c->wal_segment_bytes)
        rn->cs.segment_bytes = c->wal_segment_bytes;
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
    if (rn->flp.started)
        fl__flp_heal(rn);
    fl__nemesis_heal_all(rn);
    rn->healed = true;
    rn->heal_ns = fl_sim_time(sim);
    rn->res->healed = true;
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
    }
    if (!rn->healed) /* stopped by a violation (or stop_ns): its faults end here */
        fl__nemesis_record_open(rn);
    if (v->found || !r->live || r->stopped)
        fl_sim_trace_tail_text(rn->sim, r->trace_tail, sizeof(r->trace_tail));
    r->sim = *fl_sim_get_stats(rn->sim);
    r->elections = rn->cs.stats.elections;
    r->syncs_inline = rn->cs.stats.syncs_inline;
    r->steps_held = rn->cs.stats.steps_held;
    r->snapshot_jobs_hung = rn->cs.stats.snapshot_jobs_hung;
    r->snapshot_timeouts = rn->cs.stats.snapshot_timeouts;
    r->snapshots_after_timeout = rn->cs.stats.snapshots_after_timeout;
    r->churn_asked = rn->member_churn.asked;
    r->churn_refused = rn->member_churn.refused;
    r->joint_committed = rn->cs.stats.joint_committed;
    r->config_committed = rn->cs.stats.config_committed;
    r->removed_stepdowns = rn->cs.stats.removed_stepdowns;
    r->joint_elections = rn->cs.stats.joint_elections;
    for (uint32_t i = 0; i < rn->cfg->nodes; i++)
        r->fsyncs += r->sim.node[i].fsyncs;
    r->trace_hash = fl_sim_trace_hash(rn->sim);
    r->election_timeout_ns = rn->cs.core.raft.election_timeout_ns;
    if (r->flp)
        r->flp_stats = rn->flp.st;
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
        if (c->nemesis == FL_NEMESIS_FLP)
            fl__flp_start(rn);
        else
            fl__nemesis_start(rn);
        fl__clients_start(rn);
        fl_sim_schedule(rn->sim, c->duration_ns, heal, rn);
        fl_time_ns end = c->duration_ns + c->liveness_ns;
        r->stopped = c->stop_ns && c->stop_ns < end;
        fl_sim_run_until(rn->sim, r->stopped ? c->stop_ns : end);
        collect(rn);
    }
    rn->done = true;
    fl_sim_destroy(rn->sim); /* stops the nodes: their kv and pending go */
    fl__clients_free_msgs(rn);
    fl__pipe_free(rn);
    fl__kvcheck_free(rn);
    fl_cons_sim_free(&rn->cs);
    fl__clients_free(rn);
    fl__nemesis_free(rn);
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
    free(r->schedule);
    fl_timeline_free(&r->timeline);
    memset(r, 0, sizeof(*r));
}
