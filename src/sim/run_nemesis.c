/* run_nemesis.c: named fault schedules for a simulated run (run.h). A fault starts, lasts
 * nemesis_interval, heals, and after as long again the next one starts; "mix" picks a random
 * kind each time. Every fault interval is recorded for reports. At the end of the run
 * everything heals (fl__nemesis_heal_all). */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

/* Both tables must name every nemesis: checked below. */
static const char *names[] = {"none",
                              "partition-halves",
                              "partition-random",
                              "isolate-one",
                              "isolate-leader",
                              "majorities-ring",
                              "bridge",
                              "one-way",
                              "crash-one",
                              "crash-minority",
                              "crash-leader",
                              "pause",
                              "loss",
                              "dup",
                              "delay",
                              "clock-offset",
                              "clock-drift",
                              "transfer",
                              "isolate-leader-skew",
                              "mix",
                              "leader-churn",
                              "churn",
                              "mix-churn"};

static const char *help[] = {
    "no faults",
    "nodes 1..n/2 cut off from the rest",
    "two random halves cut off from each other",
    "one random node cut off from everyone",
    "the current leader cut off from everyone",
    "every node sees a majority, no two the same one",
    "two halves that talk only through one bridge node",
    "one direction of one link blocked",
    "one random node crashes, restarts at the end of the fault",
    "a minority of nodes crash",
    "the leader crashes",
    "one random node pauses (a long GC), resumes later",
    "every link loses --loss of its messages",
    "every link duplicates --dup of its messages",
    "every link gets --delay-spike of extra exponential delay",
    "every node's clock jumps by up to +-clock offset",
    "every node's clock drifts by up to +-drift ppm",
    "the leader hands leadership over to another node (TimeoutNow)",
    "the leader cut off, its clock --drift slow and the others' --drift fast (breaks leases)",
    "a random one of the above at every interval",
    "every new leader cut off within a few network delays, for a while (not in mix)",
    "membership changes (learners added, promoted; voters, leaders removed, replaced)",
    "mix, with churn as one more kind"};

_Static_assert(sizeof(names) / sizeof(names[0]) == FL_NEMESIS_COUNT, "a name per nemesis");
_Static_assert(sizeof(help) / sizeof(help[0]) == FL_NEMESIS_COUNT, "a line of help per nemesis");

const char *fl_nemesis_name(fl_nemesis n)
{
    return n < FL_NEMESIS_COUNT ? names[n] : "?";
}

bool fl_nemesis_parse(const char *s, fl_nemesis *out)
{
    for (int i = 0; i < FL_NEMESIS_COUNT; i++)
        if (!strcmp(s, names[i])) {
            *out = (fl_nemesis)i;
            return true;
        }
    if (!strcmp(s, "partition")) {
        *out = FL_NEMESIS_PARTITION_RANDOM;
        return true;
    }
    return false;
}

void fl_nemesis_list(FILE *out)
{
    for (int i = 0; i < FL_NEMESIS_COUNT; i++)
        fprintf(out, "    %-18s %s\n", names[i], help[i]);
}

static fl_node_id random_up(run *rn)
{
    uint32_t n = rn->cfg->nodes;
    fl_node_id start = (fl_node_id)fl_rng_range(&rn->rng, 1, n);
    for (uint32_t k = 0; k < n; k++) {
        fl_node_id id = (fl_node_id)((start - 1 + k) % n + 1);
        if (fl_sim_node_state_of(rn->sim, id) == FL_SIM_NODE_UP)
            return id;
    }
    return FL_NODE_NONE;
}

static void set_all_links(run *rn, double loss, double dup, fl_time_ns extra)
{
    fl_sim_link l;
    fl_sim_link_get(rn->sim, 1, rn->cfg->nodes > 1 ? 2 : 1, &l);
    l.loss = loss;
    l.dup = dup;
    fl_time_ns half = rn->cfg->net_delay_ns / 2;
    l.delay = fl_sim_dist_exp(half, half + extra);
    for (fl_node_id a = 1; a <= rn->cfg->nodes; a++)
        for (fl_node_id b = 1; b <= rn->cfg->nodes; b++) {
            fl_sim_link cur;
            fl_sim_link_get(rn->sim, a, b, &cur);
            l.up = cur.up; /* only the quality changes */
            fl_sim_link_set(rn->sim, a, b, &l);
        }
}

/* Appends to the current fault's targets (truncated when full). */
static void targets_add(run *rn, const char *fmt, unsigned a, unsigned b)
{
    size_t used = strlen(rn->fault_targets);
    if (used + 1 < sizeof(rn->fault_targets))
        snprintf(rn->fault_targets + used, sizeof(rn->fault_targets) - used, fmt, a, b);
}

/* The sides of a partition made of groups that talk within and not across: "1,4 | 2,3,5". */
static void targets_groups(run *rn, const fl_sim_conn *c)
{
    uint32_t done = 0, n = rn->cfg->nodes;
    for (fl_node_id a = 1; a <= n; a++) {
        if ((done >> a) & 1)
            continue;
        targets_add(rn, done ? " | %u" : "%u", a, 0);
        done |= 1u << a;
        for (fl_node_id b = a + 1; b <= n; b++)
            if (!((done >> b) & 1) && fl_sim_conn_can(c, a, b) && fl_sim_conn_can(c, b, a)) {
                targets_add(rn, ",%u", b, 0);
                done |= 1u << b;
            }
    }
}

static void partition(run *rn, fl_nemesis kind)
{
    fl_sim_conn c;
    uint32_t n = rn->cfg->nodes;
    fl_node_id leader = fl_raft_sim_leader(rn->sim);
    fl_node_id any = (fl_node_id)fl_rng_range(&rn->rng, 1, n);
    switch (kind) {
    case FL_NEMESIS_PARTITION_HALVES:
        fl_sim_conn_halves(&c, n);
        break;
    case FL_NEMESIS_PARTITION_RANDOM:
        fl_sim_conn_random_halves(&c, n, &rn->rng);
        break;
    case FL_NEMESIS_ISOLATE_ONE:
        fl_sim_conn_isolate(&c, n, any);
        break;
    case FL_NEMESIS_ISOLATE_LEADER:
        fl_sim_conn_isolate(&c, n, leader ? leader : any);
        break;
    case FL_NEMESIS_MAJORITIES_RING:
        fl_sim_conn_majorities_ring(&c, n);
        break;
    case FL_NEMESIS_BRIDGE:
        fl_sim_conn_bridge(&c, n, any);
        break;
    default:
        fl_sim_conn_one_way(&c, n, leader ? leader : any, any % n + 1);
    }
    fl_sim_set_conn(rn->sim, &c);
    if (kind == FL_NEMESIS_MAJORITIES_RING)
        targets_add(rn, "every node sees a different majority", 0, 0);
    else if (kind == FL_NEMESIS_BRIDGE)
        targets_add(rn, "n%u bridges the halves", any, 0);
    else if (kind == FL_NEMESIS_ONE_WAY)
        targets_add(rn, "n%u -/-> n%u", leader ? leader : any, any % n + 1);
    else
        targets_groups(rn, &c);
}

static void crash(run *rn, fl_nemesis kind)
{
    uint32_t count = kind == FL_NEMESIS_CRASH_MINORITY ? (rn->cfg->nodes - 1) / 2 : 1;
    for (uint32_t i = 0; i < count && i < FL_RAFT_NODES_MAX; i++) {
        fl_node_id id = kind == FL_NEMESIS_CRASH_LEADER ? fl_raft_sim_leader(rn->sim) : 0;
        if (!id)
            id = random_up(rn);
        if (!id || fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP)
            continue;
        fl_sim_crash(rn->sim, id);
        targets_add(rn, rn->fault_n ? ",n%u" : "n%u", id, 0);
        rn->fault_nodes[rn->fault_n++] = id;
    }
}

static void clocks(run *rn, fl_nemesis kind)
{
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++) {
        double u = fl_rng_double(&rn->rng) * 2 - 1;
        if (kind == FL_NEMESIS_CLOCK_OFFSET)
            fl_sim_clock_jump(rn->sim, id, (int64_t)(u * (double)rn->cfg->clock_offset_ns));
        else
            fl_sim_clock_set_drift(rn->sim, id, u * rn->cfg->clock_drift_ppm);
    }
}

bool fl__nemesis_churns(fl_nemesis n)
{
    return n == FL_NEMESIS_CHURN || n == FL_NEMESIS_MIX_CHURN;
}

/* While a churn fault is on: one random change every quarter interval. */
static void churn_tick(fl_sim *sim, void *arg)
{
    run *rn = arg;
    if (rn->healed || !rn->fault_on || rn->fault_kind != FL_NEMESIS_CHURN)
        return;
    char what[128];
    fl_raft_sim_churn(sim, &rn->member_rng, 2, &rn->member_churn, what, sizeof(what));
    if (rn->cfg->verbose)
        printf("%10.3f s  %s\n", (double)fl_sim_time(sim) / 1e9, what);
    fl_sim_schedule(sim, fl_sim_time(sim) + rn->cfg->nemesis_interval_ns / 4 + 1, churn_tick, rn);
}

static void fault_start(run *rn, fl_nemesis kind)
{
    rn->fault_kind = kind;
    rn->fault_n = 0;
    rn->fault_targets[0] = 0;
    if (kind >= FL_NEMESIS_LOSS && kind <= FL_NEMESIS_CLOCK_DRIFT)
        targets_add(rn, kind >= FL_NEMESIS_CLOCK_OFFSET ? "every clock" : "every link", 0, 0);
    if (kind >= FL_NEMESIS_PARTITION_HALVES && kind <= FL_NEMESIS_ONE_WAY) {
        partition(rn, kind);
    } else if (kind >= FL_NEMESIS_CRASH_ONE && kind <= FL_NEMESIS_CRASH_LEADER) {
        crash(rn, kind);
    } else if (kind == FL_NEMESIS_PAUSE) {
        fl_node_id id = random_up(rn);
        if (id && fl_sim_pause(rn->sim, id) == 0) {
            rn->fault_nodes[rn->fault_n++] = id;
            fl__run_node_event(rn, id, FL_TL_PAUSE);
            targets_add(rn, "n%u", id, 0);
        }
    } else if (kind == FL_NEMESIS_LOSS) {
        set_all_links(rn, rn->cfg->loss, 0, 0);
    } else if (kind == FL_NEMESIS_DUP) {
        set_all_links(rn, 0, rn->cfg->dup, 0);
    } else if (kind == FL_NEMESIS_DELAY) {
        set_all_links(rn, 0, 0, rn->cfg->delay_ns);
    } else if (kind == FL_NEMESIS_CLOCK_OFFSET || kind == FL_NEMESIS_CLOCK_DRIFT) {
        clocks(rn, kind);
    } else if (kind == FL_NEMESIS_ISOLATE_LEADER_SKEW) {
        fl_node_id l = fl_raft_sim_leader(rn->sim);
        partition(rn, FL_NEMESIS_ISOLATE_LEADER);
        targets_add(rn, " (n%u slow)", l, 0);
        for (fl_node_id id = 1; id <= rn->cfg->nodes; id++)
            fl_sim_clock_set_drift(rn->sim, id,
                                   id == l ? -rn->cfg->clock_drift_ppm : rn->cfg->clock_drift_ppm);
    } else if (kind == FL_NEMESIS_LEADER_CHURN) {
        fl_node_id l = fl_raft_sim_leader(rn->sim);
        if (l)
            fl__nemesis_new_leader(rn, l); /* the sitting leader goes first */
        targets_add(rn, "each new leader", 0, 0);
    } else if (kind == FL_NEMESIS_CHURN) {
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim), churn_tick, rn);
        targets_add(rn, "membership", 0, 0);
    } else if (kind == FL_NEMESIS_TRANSFER) {
        fl_node_id l = fl_raft_sim_leader(rn->sim);
        fl_node_id to = (fl_node_id)fl_rng_range(&rn->rng, 1, rn->cfg->nodes);
        if (l && to != l) {
            if (fl_raft_sim_transfer(rn->sim, l, to) == FL_EUNSUPPORTED)
                targets_add(rn, "nobody (paxos has no leadership transfer)", 0, 0);
            else
                targets_add(rn, "n%u -> n%u", l, to);
        }
    }
}

/* Undoes the current fault. Clock offsets stay where they jumped (a clock jump is not
 * undone); drift returns to zero. */
static void fault_stop(run *rn)
{
    fl_nemesis kind = rn->fault_kind;
    if ((kind >= FL_NEMESIS_PARTITION_HALVES && kind <= FL_NEMESIS_ONE_WAY) ||
        kind == FL_NEMESIS_ISOLATE_LEADER_SKEW || kind == FL_NEMESIS_LEADER_CHURN)
        fl_sim_heal(rn->sim);
    rn->churn_cut = 0;
    for (uint32_t i = 0; i < rn->fault_n; i++) {
        fl_node_id id = rn->fault_nodes[i];
        if (fl_sim_node_state_of(rn->sim, id) == FL_SIM_NODE_DOWN)
            fl_sim_restart(rn->sim, id);
        else if (fl_sim_node_state_of(rn->sim, id) == FL_SIM_NODE_PAUSED) {
            fl_sim_resume(rn->sim, id);
            fl__run_node_event(rn, id, FL_TL_RESUME);
        }
    }
    rn->fault_n = 0;
    if (kind >= FL_NEMESIS_LOSS && kind <= FL_NEMESIS_DELAY)
        set_all_links(rn, 0, 0, 0);
    if (kind == FL_NEMESIS_CLOCK_DRIFT || kind == FL_NEMESIS_ISOLATE_LEADER_SKEW)
        for (fl_node_id id = 1; id <= rn->cfg->nodes; id++)
            fl_sim_clock_set_drift(rn->sim, id, 0);
}

/* ---- leader-churn ------------------------------------------------------------------------ */

static bool churning(const run *rn)
{
    return rn->fault_on && rn->fault_kind == FL_NEMESIS_LEADER_CHURN && !rn->healed;
}

static void churn_apply(run *rn)
{
    fl_sim_conn c;
    fl_sim_conn_full(&c, rn->cfg->nodes);
    for (fl_node_id a = 1; a <= rn->cfg->nodes; a++)
        for (fl_node_id b = 1; b <= rn->cfg->nodes; b++)
            if (a != b && ((rn->churn_cut >> a) & 1 || (rn->churn_cut >> b) & 1))
                fl_sim_conn_block(&c, a, b);
    fl_sim_set_conn(rn->sim, &c);
}

static void churn_rejoin(fl_sim *sim, void *arg)
{
    struct run_churn *ch = arg;
    ch->pending = false;
    if (!churning(ch->rn) || !((ch->rn->churn_cut >> ch->id) & 1))
        return;
    ch->rn->churn_cut &= ~(1u << ch->id);
    churn_apply(ch->rn);
}

static void churn_cut(fl_sim *sim, void *arg)
{
    struct run_churn *ch = arg;
    run *rn = ch->rn;
    ch->pending = false;
    if (!churning(rn) || (uint32_t)__builtin_popcount(rn->churn_cut) >= (rn->cfg->nodes - 1) / 2)
        return;
    rn->churn_cut |= 1u << ch->id;
    churn_apply(rn);
    /* cut off for one to a few election timeouts: others lead meanwhile */
    fl_time_ns back_after = (fl_time_ns)fl_rng_range(&rn->churn_rng, 150, 600) * FL_NS_PER_MS;
    ch->pending = true;
    fl_sim_schedule(sim, fl_sim_time(sim) + back_after, churn_rejoin, ch);
}

void fl__nemesis_new_leader(run *rn, fl_node_id id)
{
    FL_ASSERT(id >= 1 && id <= FL_RAFT_NODES_MAX);
    struct run_churn *ch = &rn->churn[id];
    if (!churning(rn) || ch->pending)
        return;
    /* within 0..16 mean network delays: some of its first entries reach some followers */
    fl_time_ns d = (fl_time_ns)fl_rng_below(&rn->churn_rng, 16 * rn->cfg->net_delay_ns + 1);
    *ch = (struct run_churn){.rn = rn, .id = id, .pending = true};
    fl_sim_schedule(rn->sim, fl_sim_time(rn->sim) + d, churn_cut, ch);
}

static void record_fault(run *rn, fl_time_ns start, fl_time_ns end, fl_nemesis kind)
{
    fl_run_result *r = rn->res;
    if (fl_array_grow((void **)&r->faults, &rn->faults_cap, r->n_faults + 1, sizeof(*r->faults)))
        return;
    fl_observe_fault *f = &r->faults[r->n_faults++];
    f->start_ns = start;
    f->end_ns = end;
    snprintf(f->kind, sizeof(f->kind), "%s", fl_nemesis_name(kind));
    snprintf(f->targets, sizeof(f->targets), "%s", rn->fault_targets);
}

static void tick(fl_sim *sim, void *arg)
{
    run *rn = arg;
    if (rn->healed)
        return;
    fl_time_ns now = fl_sim_time(sim);
    if (rn->fault_on) {
        fault_stop(rn);
        record_fault(rn, rn->fault_start_ns, now, rn->fault_kind);
        rn->fault_on = false;
    } else {
        fl_nemesis kind = rn->cfg->nemesis;
        if (kind == FL_NEMESIS_MIX)
            kind = (fl_nemesis)fl_rng_range(&rn->rng, FL_NEMESIS_PARTITION_HALVES,
                                            FL_NEMESIS_ISOLATE_LEADER_SKEW);
        else if (kind == FL_NEMESIS_MIX_CHURN) {
            /* mix's kinds plus one drawn past them, which stands for churn */
            uint64_t k = fl_rng_range(&rn->rng, FL_NEMESIS_PARTITION_HALVES,
                                      FL_NEMESIS_ISOLATE_LEADER_SKEW + 1);
            kind = k > FL_NEMESIS_ISOLATE_LEADER_SKEW ? FL_NEMESIS_CHURN : (fl_nemesis)k;
        }
        rn->fault_on = true;
        rn->fault_start_ns = now;
        fault_start(rn, kind);
        if (rn->cfg->verbose)
            printf("%10.3f s  nemesis: %s\n", (double)now / 1e9, fl_nemesis_name(kind));
    }
    fl_time_ns next = now + rn->cfg->nemesis_interval_ns;
    if (next < rn->cfg->duration_ns)
        fl_sim_schedule(sim, next, tick, rn);
}

void fl__nemesis_start(run *rn)
{
    if (rn->cfg->nemesis == FL_NEMESIS_NONE)
        return;
    fl_sim_schedule(rn->sim, rn->cfg->nemesis_interval_ns, tick, rn);
}

void fl__nemesis_heal_all(run *rn)
{
    fl_time_ns now = fl_sim_time(rn->sim);
    if (rn->fault_on) {
        fault_stop(rn);
        record_fault(rn, rn->fault_start_ns, now, rn->fault_kind);
        rn->fault_on = false;
    }
    fl_sim_heal(rn->sim);
    set_all_links(rn, 0, 0, 0);
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++) {
        fl_sim_clock_set_drift(rn->sim, id, 0);
        fl_sim_node_state st = fl_sim_node_state_of(rn->sim, id);
        if (st == FL_SIM_NODE_PAUSED) {
            fl_sim_resume(rn->sim, id);
            fl__run_node_event(rn, id, FL_TL_RESUME);
        } else if (st == FL_SIM_NODE_DOWN)
            fl_sim_restart(rn->sim, id);
    }
}
