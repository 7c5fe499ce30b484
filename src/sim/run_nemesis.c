/* run_nemesis.c: fault schedules for a simulated run (run.h). A fault starts, lasts its
 * interval, heals, and after as long again the next one starts. A named nemesis is one such
 * schedule ("mix" picks a random kind each time); a fault plan (--faults) runs one schedule
 * per lane, the kinds of a lane taking turns (run_int.h). Each lane draws from a random stream
 * of its own, so the clients' draws do not depend on the faults. Every fault is recorded as it
 * starts, with whatever it chose (its targets, intensities), in res->schedule: run as an
 * explicit schedule (run_schedule.c) it does exactly the same again. Every fault interval is
 * also recorded for reports. At the end of the run everything heals (fl__nemesis_heal_all). */
#include "run_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
                              "mix-churn",
                              "crash-unsynced",
                              "slow-disk",
                              "flp",
                              "partition-sides",
                              "leader-flap",
                              "fork-hang"};

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
    "mix, with churn as one more kind",
    "every node caught between a write and its sync (vote, renamed file) crashes (not in mix)",
    "one random node's fsyncs take 10..100 ms (not in mix)",
    "FLP's adversary until --gst: no loss, no crash, the deciding votes held (not in mix)",
    "the leader's minority cut off, each client on its home node's side (CAP; not in mix)",
    "every new leader cut off soon after its election, the one cut before back (not in mix)",
    "one random node's next snapshot job never ends (a hung child; not in mix)"};

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

bool fl_nemesis_plannable(fl_nemesis n)
{
    /* flp owns the whole network until GST, and partition-sides keeps clients on their
     * side for the one CAP partition: neither takes turns in a plan */
    return n != FL_NEMESIS_NONE && n != FL_NEMESIS_MIX && n != FL_NEMESIS_MIX_CHURN &&
           n != FL_NEMESIS_FLP && n != FL_NEMESIS_PARTITION_SIDES && n < FL_NEMESIS_COUNT;
}

void fl_nemesis_list(FILE *out)
{
    for (int i = 0; i < FL_NEMESIS_COUNT; i++)
        fprintf(out, "    %-18s %s\n", names[i], help[i]);
}

static fl_node_id random_up(run_lane *l)
{
    run *rn = l->rn;
    uint32_t n = rn->cfg->nodes;
    fl_node_id start = (fl_node_id)fl_rng_range(l->rng, 1, n);
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

/* Appends to the lane's current fault's targets (truncated when full). */
static void targets_add(run_lane *l, const char *fmt, unsigned a, unsigned b)
{
    size_t used = strlen(l->targets);
    if (used + 1 < sizeof(l->targets))
        snprintf(l->targets + used, sizeof(l->targets) - used, fmt, a, b);
}

/* The sides of a partition made of groups that talk within and not across: "1,4 | 2,3,5". */
static void targets_groups(run_lane *l, const fl_sim_conn *c)
{
    uint32_t done = 0, n = l->rn->cfg->nodes;
    for (fl_node_id a = 1; a <= n; a++) {
        if ((done >> a) & 1)
            continue;
        targets_add(l, done ? " | %u" : "%u", a, 0);
        done |= 1u << a;
        for (fl_node_id b = a + 1; b <= n; b++)
            if (!((done >> b) & 1) && fl_sim_conn_can(c, a, b) && fl_sim_conn_can(c, b, a)) {
                targets_add(l, ",%u", b, 0);
                done |= 1u << b;
            }
    }
}

static fl_node_id lowest(uint32_t nodes)
{
    return nodes ? (fl_node_id)__builtin_ctz(nodes) : FL_NODE_NONE;
}

/* The sides of c: nodes that hear each other both ways share one (numbered from 1). */
static void sides_of(const fl_sim_conn *c, uint32_t n, uint8_t *side)
{
    memset(side, 0, FL_RAFT_NODES_MAX + 1);
    uint8_t k = 0;
    for (fl_node_id a = 1; a <= n; a++) {
        if (side[a])
            continue;
        side[a] = ++k;
        for (fl_node_id b = a + 1; b <= n; b++)
            if (!side[b] && fl_sim_conn_can(c, a, b) && fl_sim_conn_can(c, b, a))
                side[b] = k;
    }
}

static void conn_of_sides(fl_sim_conn *c, uint32_t n, const uint8_t *side)
{
    fl_sim_conn_full(c, n);
    for (fl_node_id a = 1; a <= n; a++)
        for (fl_node_id b = 1; b <= n; b++)
            if (side[a] != side[b])
                fl_sim_conn_block(c, a, b);
}

/* A partition of kind; its shape from sp when given, else chosen (and written to sp). */
static void partition(run_lane *l, fl_nemesis kind, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    fl_sim_conn c;
    uint32_t n = rn->cfg->nodes;
    bool given = sp->set & FL_RUN_SPEC_TARGETS;
    fl_node_id leader = fl_raft_sim_leader(rn->sim);
    fl_node_id any = given ? 1 : (fl_node_id)fl_rng_range(l->rng, 1, n);
    fl_node_id one = given ? lowest(sp->nodes) : FL_NODE_NONE;
    switch (kind) {
    case FL_NEMESIS_PARTITION_HALVES:
    case FL_NEMESIS_PARTITION_RANDOM:
        if (given)
            conn_of_sides(&c, n, sp->side);
        else if (kind == FL_NEMESIS_PARTITION_HALVES)
            fl_sim_conn_halves(&c, n);
        else
            fl_sim_conn_random_halves(&c, n, l->rng);
        sides_of(&c, n, sp->side);
        break;
    case FL_NEMESIS_ISOLATE_ONE:
    case FL_NEMESIS_ISOLATE_LEADER:
    case FL_NEMESIS_BRIDGE:
        if (!given)
            one = kind == FL_NEMESIS_ISOLATE_LEADER && leader ? leader : any;
        if (kind == FL_NEMESIS_BRIDGE)
            fl_sim_conn_bridge(&c, n, one);
        else
            fl_sim_conn_isolate(&c, n, one);
        sp->nodes = 1u << one;
        break;
    case FL_NEMESIS_MAJORITIES_RING:
        fl_sim_conn_majorities_ring(&c, n);
        break;
    default: /* one-way */
        if (!given) {
            sp->from = leader ? leader : any;
            sp->to = (fl_node_id)(any % n + 1);
        }
        fl_sim_conn_full(&c, n);
        for (fl_node_id b = 1; b <= n; b++)
            if (b == sp->to || (sp->to == FL_NODE_NONE && b != sp->from))
                fl_sim_conn_block(&c, sp->from, b);
    }
    sp->set |= FL_RUN_SPEC_TARGETS;
    fl_sim_set_conn(rn->sim, &c);
    if (kind == FL_NEMESIS_MAJORITIES_RING)
        targets_add(l, "every node sees a different majority", 0, 0);
    else if (kind == FL_NEMESIS_BRIDGE)
        targets_add(l, "n%u bridges the halves", one, 0);
    else if (kind == FL_NEMESIS_ONE_WAY && sp->to)
        targets_add(l, "n%u -/-> n%u", sp->from, sp->to);
    else if (kind == FL_NEMESIS_ONE_WAY)
        targets_add(l, "n%u -/-> every other node", sp->from, 0);
    else
        targets_groups(l, &c);
}

/* The nodes of sp in the order given (or hit), into ids; how many. */
static uint32_t target_order(const fl_run_fault_spec *sp, uint32_t n, fl_node_id *ids)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < sp->n_order && i < FL_RAFT_NODES_MAX; i++)
        ids[k++] = sp->order[i];
    for (fl_node_id id = 1; id <= n && !sp->n_order; id++)
        if ((sp->nodes >> id) & 1)
            ids[k++] = id;
    return k;
}

static void target_add(fl_run_fault_spec *sp, fl_node_id id)
{
    sp->nodes |= 1u << id;
    if (sp->n_order < FL_RAFT_NODES_MAX)
        sp->order[sp->n_order++] = (uint8_t)id;
}

/* Crashes the nodes of sp when given (those up), else as kind chooses (written to sp). */
static void crash(run_lane *l, fl_nemesis kind, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    if (sp->set & FL_RUN_SPEC_TARGETS) {
        fl_node_id ids[FL_RAFT_NODES_MAX];
        uint32_t k = target_order(sp, rn->cfg->nodes, ids);
        for (uint32_t i = 0; i < k; i++)
            if (ids[i] <= rn->cfg->nodes &&
                fl_sim_node_state_of(rn->sim, ids[i]) == FL_SIM_NODE_UP) {
                fl_sim_crash(rn->sim, ids[i]);
                targets_add(l, l->n ? ",n%u" : "n%u", ids[i], 0);
                l->nodes[l->n++] = ids[i];
            }
        return;
    }
    uint32_t count = kind == FL_NEMESIS_CRASH_MINORITY ? (rn->cfg->nodes - 1) / 2 : 1;
    for (uint32_t i = 0; i < count && i < FL_RAFT_NODES_MAX; i++) {
        fl_node_id id = kind == FL_NEMESIS_CRASH_LEADER ? fl_raft_sim_leader(rn->sim) : 0;
        if (!id)
            id = random_up(l);
        if (!id || fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP)
            continue;
        fl_sim_crash(rn->sim, id);
        targets_add(l, l->n ? ",n%u" : "n%u", id, 0);
        l->nodes[l->n++] = id;
        target_add(sp, id);
    }
    sp->set |= FL_RUN_SPEC_TARGETS;
}

/* Pauses the nodes of sp when given (those up), else a random node that is up. */
static void pause_nodes(run_lane *l, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    fl_node_id ids[FL_RAFT_NODES_MAX];
    uint32_t k = 0;
    if (!(sp->set & FL_RUN_SPEC_TARGETS)) {
        fl_node_id id = random_up(l);
        if (id)
            ids[k++] = id;
        sp->set |= FL_RUN_SPEC_TARGETS;
    } else {
        k = target_order(sp, rn->cfg->nodes, ids);
    }
    sp->nodes = 0;
    sp->n_order = 0;
    for (uint32_t i = 0; i < k; i++)
        if (ids[i] <= rn->cfg->nodes && fl_sim_pause(rn->sim, ids[i]) == 0) {
            l->nodes[l->n++] = ids[i];
            fl__run_node_event(rn, ids[i], FL_TL_PAUSE);
            targets_add(l, l->n > 1 ? ",n%u" : "n%u", ids[i], 0);
            target_add(sp, ids[i]);
        }
}

/* Jumps or drifts every clock by sp's values when given, else by a random share of the run's
 * bound each (written to sp). */
static void clocks(run_lane *l, fl_nemesis kind, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    bool given = sp->set & FL_RUN_SPEC_CLOCKS;
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++) {
        double u = given ? 0 : fl_rng_double(l->rng) * 2 - 1;
        if (kind == FL_NEMESIS_CLOCK_OFFSET) {
            if (!given)
                sp->offset_ns[id - 1] = (int64_t)(u * (double)rn->cfg->clock_offset_ns);
            fl_sim_clock_jump(rn->sim, id, sp->offset_ns[id - 1]);
        } else {
            if (!given)
                sp->node_ppm[id - 1] = u * rn->cfg->clock_drift_ppm;
            fl_sim_clock_set_drift(rn->sim, id, sp->node_ppm[id - 1]);
        }
    }
    sp->set |= FL_RUN_SPEC_CLOCKS;
}

/* partition-sides: the leader (else node 1) and the nodes after it by id, (n - 1) / 2 in all
 * (one of two), form the minority side; clients stay with their home node's side
 * (fl__nemesis_client_cut). */
static void sides(run_lane *l)
{
    run *rn = l->rn;
    uint32_t n = rn->cfg->nodes;
    fl_node_id first = fl_raft_sim_leader(rn->sim);
    uint32_t count = n >= 3 ? (n - 1) / 2 : n - 1, minority = 0;
    for (uint32_t k = 0; k < count; k++)
        minority |= 1u << (((first ? first - 1 : 0) + k) % n + 1);
    fl_sim_conn c;
    fl_sim_conn_full(&c, n);
    for (fl_node_id a = 1; a <= n; a++)
        for (fl_node_id b = 1; b <= n; b++)
            if (((minority >> a) & 1) != ((minority >> b) & 1))
                fl_sim_conn_block(&c, a, b);
    fl_sim_set_conn(rn->sim, &c);
    rn->minority_side = minority;
    rn->res->minority_side = minority;
    targets_groups(l, &c);
}

bool fl__nemesis_client_cut(const run *rn, uint32_t client, fl_node_id node)
{
    if (!rn->minority_side || client >= rn->n_clients)
        return false; /* the liveness probe runs after the heal */
    fl_node_id home = (fl_node_id)(client % rn->cfg->nodes + 1);
    return ((rn->minority_side >> home) & 1) != ((rn->minority_side >> node) & 1);
}

bool fl__nemesis_churns(const fl_run_config *c)
{
    if (c->nemesis == FL_NEMESIS_CHURN || c->nemesis == FL_NEMESIS_MIX_CHURN)
        return true;
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (c->faults[i].kind == FL_NEMESIS_CHURN)
            return true;
    for (uint32_t i = 0; i < c->n_schedule; i++) /* an explicit schedule (a scenario file) */
        if (c->schedule[i].kind == FL_NEMESIS_CHURN)
            return true;
    return false;
}

/* While a churn fault is on: one random change every quarter interval. */
static void churn_tick(fl_sim *sim, void *arg)
{
    run_lane *l = arg;
    run *rn = l->rn;
    if (rn->healed || !l->on || l->kind != FL_NEMESIS_CHURN)
        return;
    char what[128];
    fl_raft_sim_churn(sim, &rn->member_rng, 2, &rn->member_churn, what, sizeof(what));
    if (rn->cfg->verbose)
        printf("%10.3f s  %s\n", (double)fl_sim_time(sim) / 1e9, what);
    fl_sim_schedule(sim, fl_sim_time(sim) + l->interval_ns / 4 + 1, churn_tick, l);
}

static bool unsynced_on(const run *rn)
{
    for (uint32_t i = 0; i < rn->n_lanes; i++)
        if (rn->lanes[i].on && rn->lanes[i].kind == FL_NEMESIS_CRASH_UNSYNCED)
            return true;
    return false;
}

static void restart_unsynced(fl_sim *sim, void *arg);

/* A node crashed in a storage window crashes once more, the fault's restart delay after it came
 * back: what it wrote and synced since rests on what recovery made of the window. */
static void crash_again(fl_sim *sim, void *arg)
{
    struct run_restart *r = arg;
    if (r->rn->healed || !unsynced_on(r->rn) || fl_sim_node_state_of(sim, r->id) != FL_SIM_NODE_UP)
        return;
    fl_sim_crash(sim, r->id);
    fl_sim_schedule(sim, fl_sim_time(sim) + r->back, restart_unsynced, r);
}

/* The crashed node comes back (unless the heal or the fault's end brought it back first); one
 * crashed in a storage window (fl_sim_disk_split) is crashed again soon after. */
static void restart_unsynced(fl_sim *sim, void *arg)
{
    struct run_restart *r = arg;
    if (r->rn->healed || fl_sim_node_state_of(sim, r->id) != FL_SIM_NODE_DOWN)
        return;
    fl_sim_restart(sim, r->id);
    if (r->again) {
        r->again = false;
        fl_sim_schedule(sim, fl_sim_time(sim) + r->back, crash_again, r);
    }
}

/* Whether node id is up and in a storage window: its term or vote written and not yet synced,
 * or its disk split between two syncs (fl_sim_disk_split); with dir, instead: an unlink not
 * yet durable behind another directory operation (fl_sim_disk_unlink_window). */
static bool in_window(run *rn, fl_node_id id, bool dir)
{
    const fl_raft *r = fl_raft_sim_node(rn->sim, id);
    if (fl_sim_node_state_of(rn->sim, id) != FL_SIM_NODE_UP)
        return false;
    if (dir)
        return fl_sim_disk_unlink_window(rn->sim, id);
    return (r && !fl_raft_hard_state_synced(r)) || fl_sim_disk_split(rn->sim, id);
}

/* The up node in a storage window, after the lane's last victim in id order (so repeated
 * windows do not always hit the lowest id); else FL_NODE_NONE. The directory's windows only
 * when no node is in another (they came later: the worlds that had a target keep it). No
 * random draw: run again from the schedule it records, the fault does the same. */
static fl_node_id unsynced_node(const run_lane *l)
{
    run *rn = l->rn;
    uint32_t n = rn->cfg->nodes;
    fl_node_id last = l->n ? l->nodes[l->n - 1] : (fl_node_id)n;
    for (int dir = 0; dir < 2; dir++)
        for (uint32_t k = 1; k <= n; k++) {
            fl_node_id id = (fl_node_id)((last - 1 + k) % n + 1);
            if (in_window(rn, id, dir))
                return id;
        }
    return FL_NODE_NONE;
}

/* crash-unsynced: every millisecond of the fault, look for a node whose term or vote is not
 * durable yet (a vote announced, a candidacy started: the window in which a crash makes a
 * node forget a promise); crash it and restart it soon after, while the election it took
 * part in may still run; and keep watching: every node caught in a window goes down (a
 * candidate and the voters that answered it within their windows crash together, as in a
 * power loss), each back after the fault's one restart delay, recorded, so the schedule
 * written back runs the same crashes. */
static void unsynced_watch(fl_sim *sim, void *arg)
{
    run_lane *l = arg;
    run *rn = l->rn;
    if (rn->healed || !l->on || l->kind != FL_NEMESIS_CRASH_UNSYNCED)
        return;
    fl_sim_schedule(sim, fl_sim_time(sim) + FL_NS_PER_MS, unsynced_watch, l);
    fl_node_id id = unsynced_node(l);
    if (!id)
        return;
    bool split = fl_sim_disk_split(sim, id);
    fl_sim_crash(sim, id);
    bool listed = false;
    for (uint32_t i = 0; i < l->n; i++)
        listed |= l->nodes[i] == id;
    if (!listed && l->n < FL_RAFT_NODES_MAX) {
        targets_add(l, l->n ? ",n%u" : "n%u", id, 0);
        l->nodes[l->n++] = id;
    } else if (listed) { /* last victim last: the next scan starts after it */
        uint32_t i = 0;
        while (l->nodes[i] != id)
            i++;
        memmove(&l->nodes[i], &l->nodes[i + 1], (l->n - i - 1) * sizeof(l->nodes[0]));
        l->nodes[l->n - 1] = id;
    }
    fl_run_fault_spec *sp = l->spec < rn->res->n_schedule ? &rn->res->schedule[l->spec] : NULL;
    fl_time_ns back = sp && sp->set & FL_RUN_SPEC_RESTART
                          ? sp->restart_ns
                          : fl_rng_range(l->rng, 5 * FL_NS_PER_MS, 100 * FL_NS_PER_MS);
    if (sp) {
        sp->restart_ns = back;
        sp->set |= FL_RUN_SPEC_RESTART;
    }
    rn->restart[id] = (struct run_restart){rn, id, back, split};
    fl_sim_schedule(sim, fl_sim_time(sim) + back, restart_unsynced, &rn->restart[id]);
}

static void disk_latency(run *rn, fl_node_id id, bool slow)
{
    fl_sim_dist d = slow ? fl_sim_dist_uniform(10 * FL_NS_PER_MS, 90 * FL_NS_PER_MS)
                         : fl_sim_dist_uniform(200 * FL_NS_PER_US, 2 * FL_NS_PER_MS); /* run.c */
    fl_sim_disk_set_latency(rn->sim, id, &d);
}

/* The node sp names, else a random one (written to sp). */
static fl_node_id one_node(run_lane *l, fl_run_fault_spec *sp)
{
    if (!(sp->set & FL_RUN_SPEC_TARGETS)) {
        sp->nodes = 1u << fl_rng_range(l->rng, 1, l->rn->cfg->nodes);
        sp->set |= FL_RUN_SPEC_TARGETS;
    }
    return lowest(sp->nodes);
}

/* Link quality for loss, dup and delay: sp's intensity when given, else the run's. */
static void link_quality(run *rn, fl_nemesis kind, fl_run_fault_spec *sp)
{
    if (kind == FL_NEMESIS_DELAY) {
        if (!(sp->set & FL_RUN_SPEC_DELAY))
            sp->delay_ns = rn->cfg->delay_ns;
        sp->set |= FL_RUN_SPEC_DELAY;
        set_all_links(rn, 0, 0, sp->delay_ns);
        return;
    }
    if (!(sp->set & FL_RUN_SPEC_P))
        sp->p = kind == FL_NEMESIS_LOSS ? rn->cfg->loss : rn->cfg->dup;
    sp->set |= FL_RUN_SPEC_P;
    set_all_links(rn, kind == FL_NEMESIS_LOSS ? sp->p : 0, kind == FL_NEMESIS_DUP ? sp->p : 0, 0);
}

/* The leader (or, with none, a random node) cut off with its clock slow, the others' fast. */
static void isolate_skew(run_lane *l, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    bool given = sp->set & FL_RUN_SPEC_TARGETS;
    fl_node_id slow = given ? sp->from : fl_raft_sim_leader(rn->sim);
    partition(l, FL_NEMESIS_ISOLATE_LEADER, sp);
    sp->from = slow;
    if (!(sp->set & FL_RUN_SPEC_DRIFT))
        sp->drift_ppm = rn->cfg->clock_drift_ppm;
    sp->set |= FL_RUN_SPEC_DRIFT;
    targets_add(l, " (n%u slow)", slow, 0);
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++)
        fl_sim_clock_set_drift(rn->sim, id, id == slow ? -sp->drift_ppm : sp->drift_ppm);
}

/* fork-hang: each target's next snapshot job hangs (cons_sim.c). Not in l->nodes: its end
 * undoes nothing (a down node has no job to hang: skipped, as the real shim's command is lost
 * with a killed process). */
static void fork_hang(run_lane *l, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    one_node(l, sp); /* a random one unless given */
    for (fl_node_id id = 1; id <= rn->cfg->nodes; id++)
        if (sp->nodes & (1u << id) && fl_cons_sim_hang_snapshot(rn->sim, id) == 0)
            targets_add(l, l->targets[0] ? ", n%u" : "n%u", id, 0);
}

void fl__fault_start(run_lane *l, fl_run_fault_spec *sp)
{
    run *rn = l->rn;
    fl_nemesis kind = sp->kind;
    l->kind = kind;
    l->n = 0;
    l->targets[0] = 0;
    if (kind >= FL_NEMESIS_LOSS && kind <= FL_NEMESIS_CLOCK_DRIFT)
        targets_add(l, kind >= FL_NEMESIS_CLOCK_OFFSET ? "every clock" : "every link", 0, 0);
    if (kind >= FL_NEMESIS_PARTITION_HALVES && kind <= FL_NEMESIS_ONE_WAY) {
        partition(l, kind, sp);
    } else if (kind == FL_NEMESIS_PARTITION_SIDES) {
        sides(l);
    } else if (kind >= FL_NEMESIS_CRASH_ONE && kind <= FL_NEMESIS_CRASH_LEADER) {
        crash(l, kind, sp);
    } else if (kind == FL_NEMESIS_PAUSE) {
        pause_nodes(l, sp);
    } else if (kind >= FL_NEMESIS_LOSS && kind <= FL_NEMESIS_DELAY) {
        link_quality(rn, kind, sp);
    } else if (kind == FL_NEMESIS_CLOCK_OFFSET || kind == FL_NEMESIS_CLOCK_DRIFT) {
        clocks(l, kind, sp);
    } else if (kind == FL_NEMESIS_ISOLATE_LEADER_SKEW) {
        isolate_skew(l, sp);
    } else if (kind == FL_NEMESIS_LEADER_CHURN || kind == FL_NEMESIS_LEADER_FLAP) {
        fl_node_id leader = fl_raft_sim_leader(rn->sim);
        if (leader)
            fl__nemesis_new_leader(rn, leader); /* the sitting leader goes first */
        targets_add(l, "each new leader", 0, 0);
    } else if (kind == FL_NEMESIS_CHURN) {
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim), churn_tick, l);
        targets_add(l, "membership", 0, 0);
    } else if (kind == FL_NEMESIS_TRANSFER) {
        fl_node_id leader = fl_raft_sim_leader(rn->sim);
        fl_node_id to = one_node(l, sp);
        if (leader && to != leader) {
            if (fl_raft_sim_transfer(rn->sim, leader, to) == FL_EUNSUPPORTED)
                targets_add(l, "nobody (paxos has no leadership transfer)", 0, 0);
            else
                targets_add(l, "n%u -> n%u", leader, to);
        }
    } else if (kind == FL_NEMESIS_CRASH_UNSYNCED) {
        fl_sim_schedule(rn->sim, fl_sim_time(rn->sim), unsynced_watch, l);
    } else if (kind == FL_NEMESIS_SLOW_DISK) {
        fl_node_id id = one_node(l, sp);
        disk_latency(rn, id, true);
        targets_add(l, "n%u", id, 0);
        l->nodes[l->n++] = id;
    } else if (kind == FL_NEMESIS_FORK_HANG) {
        fork_hang(l, sp);
    }
}

/* Undoes the lane's current fault. Clock offsets stay where they jumped (a clock jump is not
 * undone); drift returns to zero. */
static void fault_stop(run_lane *l)
{
    run *rn = l->rn;
    fl_nemesis kind = l->kind;
    if ((kind >= FL_NEMESIS_PARTITION_HALVES && kind <= FL_NEMESIS_ONE_WAY) ||
        kind == FL_NEMESIS_ISOLATE_LEADER_SKEW || kind == FL_NEMESIS_LEADER_CHURN ||
        kind == FL_NEMESIS_LEADER_FLAP || kind == FL_NEMESIS_PARTITION_SIDES)
        fl_sim_heal(rn->sim);
    if (kind == FL_NEMESIS_LEADER_CHURN || kind == FL_NEMESIS_LEADER_FLAP)
        rn->churn_cut = 0;
    if (kind == FL_NEMESIS_PARTITION_SIDES)
        rn->minority_side = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        fl_node_id id = l->nodes[i];
        if (kind == FL_NEMESIS_SLOW_DISK)
            disk_latency(rn, id, false);
        else if (fl_sim_node_state_of(rn->sim, id) == FL_SIM_NODE_DOWN)
            fl_sim_restart(rn->sim, id);
        else if (fl_sim_node_state_of(rn->sim, id) == FL_SIM_NODE_PAUSED) {
            fl_sim_resume(rn->sim, id);
            fl__run_node_event(rn, id, FL_TL_RESUME);
        }
    }
    l->n = 0;
    if (kind >= FL_NEMESIS_LOSS && kind <= FL_NEMESIS_DELAY)
        set_all_links(rn, 0, 0, 0);
    if (kind == FL_NEMESIS_CLOCK_DRIFT || kind == FL_NEMESIS_ISOLATE_LEADER_SKEW)
        for (fl_node_id id = 1; id <= rn->cfg->nodes; id++)
            fl_sim_clock_set_drift(rn->sim, id, 0);
}

/* ---- leader-churn, leader-flap ----------------------------------------------------------- */

/* The leader-cutting kind that is on (leader-churn or leader-flap), else none. */
static fl_nemesis churning(const run *rn)
{
    if (rn->healed)
        return FL_NEMESIS_NONE;
    for (uint32_t i = 0; i < rn->n_lanes; i++)
        if (rn->lanes[i].on && (rn->lanes[i].kind == FL_NEMESIS_LEADER_CHURN ||
                                rn->lanes[i].kind == FL_NEMESIS_LEADER_FLAP))
            return rn->lanes[i].kind;
    return FL_NEMESIS_NONE;
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
    if (churning(ch->rn) != FL_NEMESIS_LEADER_CHURN || !((ch->rn->churn_cut >> ch->id) & 1))
        return;
    ch->rn->churn_cut &= ~(1u << ch->id);
    churn_apply(ch->rn);
}

static void churn_cut(fl_sim *sim, void *arg)
{
    struct run_churn *ch = arg;
    run *rn = ch->rn;
    ch->pending = false;
    fl_nemesis kind = churning(rn);
    if (kind == FL_NEMESIS_LEADER_FLAP) {
        /* the new leader out, the one cut before it back in: it may win again */
        if (rn->cfg->nodes >= 3 && fl_sim_node_state_of(sim, ch->id) == FL_SIM_NODE_UP) {
            rn->churn_cut = 1u << ch->id;
            churn_apply(rn);
        }
        return;
    }
    if (!kind || (uint32_t)__builtin_popcount(rn->churn_cut) >= (rn->cfg->nodes - 1) / 2)
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

static void record_fault(run *rn, const run_lane *l, fl_time_ns start, fl_time_ns end)
{
    fl_run_result *r = rn->res;
    if (fl_array_grow((void **)&r->faults, &rn->faults_cap, r->n_faults + 1, sizeof(*r->faults)))
        return;
    fl_observe_fault *f = &r->faults[r->n_faults++];
    f->start_ns = start;
    f->end_ns = end;
    snprintf(f->kind, sizeof(f->kind), "%s", fl_nemesis_name(l->kind));
    snprintf(f->targets, sizeof(f->targets), "%s", l->targets);
}

void fl__fault_end(run_lane *l)
{
    fault_stop(l);
    record_fault(l->rn, l, l->start_ns, fl_sim_time(l->rn->sim));
    l->on = false;
}

/* The kind of the lane's next fault and how long it lasts. */
static fl_nemesis lane_pick(run_lane *l, fl_time_ns *interval)
{
    const fl_run_config *c = l->rn->cfg;
    if (!l->plan) {
        *interval = c->nemesis_interval_ns;
        fl_nemesis kind = c->nemesis;
        if (kind == FL_NEMESIS_MIX)
            return (fl_nemesis)fl_rng_range(l->rng, FL_NEMESIS_PARTITION_HALVES,
                                            FL_NEMESIS_ISOLATE_LEADER_SKEW);
        if (kind == FL_NEMESIS_MIX_CHURN) {
            /* mix's kinds plus one drawn past them, which stands for churn */
            uint64_t k = fl_rng_range(l->rng, FL_NEMESIS_PARTITION_HALVES,
                                      FL_NEMESIS_ISOLATE_LEADER_SKEW + 1);
            return k > FL_NEMESIS_ISOLATE_LEADER_SKEW ? FL_NEMESIS_CHURN : (fl_nemesis)k;
        }
        return kind;
    }
    uint32_t pick = (uint32_t)fl_rng_below(l->rng, (uint64_t)__builtin_popcount(l->plan));
    uint32_t i = 0;
    for (;; i++)
        if ((l->plan >> i) & 1 && pick-- == 0)
            break;
    *interval = c->faults[i].interval_ns;
    return c->faults[i].kind;
}

/* Starts a fault the lane generated, recorded in res->schedule as it is filled in. */
static void lane_fault(run_lane *l, fl_nemesis kind, fl_time_ns now)
{
    run *rn = l->rn;
    fl_run_result *r = rn->res;
    fl_run_fault_spec spare, *sp = &spare;
    if (fl_array_grow((void **)&r->schedule, &rn->schedule_cap, r->n_schedule + 1,
                      sizeof(*r->schedule)) == 0) {
        l->spec = r->n_schedule++;
        sp = &r->schedule[l->spec];
    } else {
        l->spec = SIZE_MAX;
        r->history_oom = true; /* the schedule written back misses this fault */
    }
    *sp = (fl_run_fault_spec){.start_ns = now, .length_ns = l->interval_ns, .kind = kind};
    fl__fault_start(l, sp);
}

static void lane_tick(fl_sim *sim, void *arg)
{
    run_lane *l = arg;
    run *rn = l->rn;
    if (rn->healed)
        return;
    fl_time_ns now = fl_sim_time(sim);
    if (l->on) {
        fl__fault_end(l);
    } else {
        fl_nemesis kind = lane_pick(l, &l->interval_ns);
        l->on = true;
        l->start_ns = now;
        lane_fault(l, kind, now);
        if (rn->cfg->verbose)
            printf("%10.3f s  nemesis: %s\n", (double)now / 1e9, fl_nemesis_name(kind));
    }
    fl_time_ns next = now + l->interval_ns;
    if (next < rn->cfg->duration_ns)
        fl_sim_schedule(sim, next, lane_tick, l);
}

uint32_t fl_run_fault_lane(fl_nemesis k)
{
    if ((k >= FL_NEMESIS_PARTITION_HALVES && k <= FL_NEMESIS_ONE_WAY) ||
        k == FL_NEMESIS_ISOLATE_LEADER_SKEW || k == FL_NEMESIS_LEADER_CHURN ||
        k == FL_NEMESIS_LEADER_FLAP)
        return 0; /* who talks to whom */
    if (k >= FL_NEMESIS_CRASH_ONE && k <= FL_NEMESIS_CRASH_LEADER)
        return 1;
    if (k == FL_NEMESIS_PAUSE)
        return 2;
    if (k >= FL_NEMESIS_LOSS && k <= FL_NEMESIS_DELAY)
        return 3; /* link quality */
    if (k == FL_NEMESIS_CLOCK_OFFSET || k == FL_NEMESIS_CLOCK_DRIFT)
        return 4;
    if (k == FL_NEMESIS_TRANSFER)
        return 5;
    if (k == FL_NEMESIS_CHURN)
        return 6;
    if (k == FL_NEMESIS_CRASH_UNSYNCED)
        return 8; /* it crashes in windows others open (elections): it runs beside them */
    return 7;     /* slow disk */
}

/* The seed of the fault generators' streams: the nemesis's own, or the run's. */
static uint64_t nemesis_seed(const fl_run_config *c)
{
    return c->nemesis_seed ? c->nemesis_seed : c->seed;
}

void fl__nemesis_start(run *rn)
{
    const fl_run_config *c = rn->cfg;
    rn->lanes = rn->lane_buf;
    if (c->n_schedule) {
        if (fl__schedule_start(rn))
            rn->res->history_oom = true; /* no memory for the schedule: it does not run */
        return;
    }
    if (c->n_faults == 0) {
        if (c->nemesis == FL_NEMESIS_NONE)
            return;
        run_lane *l = &rn->lanes[0];
        *l = (run_lane){.rn = rn, .interval_ns = c->nemesis_interval_ns};
        l->rng = &l->own;
        fl_rng_seed(&l->own, fl_mix64(nemesis_seed(c) ^ 0x4E3E515));
        rn->n_lanes = 1;
        if (c->nemesis_interval_ns < c->duration_ns) /* as every later tick */
            fl_sim_schedule(rn->sim, c->nemesis_interval_ns, lane_tick, l);
        return;
    }
    for (uint32_t i = 0; i < c->n_faults; i++)
        rn->lanes[fl_run_fault_lane(c->faults[i].kind)].plan |= 1u << i;
    for (uint32_t k = 0; k < RUN_LANES_MAX; k++) {
        run_lane *l = &rn->lanes[k];
        if (!l->plan)
            continue;
        l->rn = rn;
        l->rng = &l->own;
        fl_rng_seed(&l->own, fl_mix64(nemesis_seed(c) ^ (0x1A7E00 + k)));
        rn->n_lanes = k + 1;
        /* the first fault of each lane at a time of its own within its first interval */
        fl_time_ns first = fl_rng_below(&l->own, c->faults[__builtin_ctz(l->plan)].interval_ns);
        if (first + 1 < c->duration_ns)
            fl_sim_schedule(rn->sim, first + 1, lane_tick, l);
    }
}

void fl__nemesis_heal_all(run *rn)
{
    for (uint32_t i = 0; i < rn->n_lanes; i++) {
        run_lane *l = &rn->lanes[i];
        if (l->on)
            fl__fault_end(l);
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

void fl__nemesis_record_open(run *rn)
{
    for (uint32_t i = 0; i < rn->n_lanes; i++)
        if (rn->lanes[i].on)
            record_fault(rn, &rn->lanes[i], rn->lanes[i].start_ns, fl_sim_time(rn->sim));
}

void fl__nemesis_free(run *rn)
{
    if (rn->lanes != rn->lane_buf)
        free(rn->lanes);
    rn->lanes = rn->lane_buf;
    rn->n_lanes = 0;
    free(rn->sched);
    rn->sched = NULL;
}
