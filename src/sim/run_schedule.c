/* run_schedule.c: an explicit fault schedule (fl_run_config.schedule, run.h): every fault
 * starts at its start and ends at start + length, each in a lane of its own (run_int.h) with a
 * random stream of its own for what it leaves open. The starts and ends run as one chain of
 * driver events in time order (at one time: ends first, then by index), each event scheduling
 * the next as it runs. A named nemesis schedules its faults the same way (each tick the next),
 * so the schedule a run of it hands back (res->schedule) runs the same events at the same
 * times in the same order: the same run, event for event. Events at or after the end of the
 * run are left to the heal, as a nemesis leaves them. */
#include "run_int.h"

#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_sched_ev {
    fl_time_ns at;
    uint32_t fault;
    bool start; /* else the end */
} run_sched_ev;

static int ev_cmp(const void *a, const void *b)
{
    const run_sched_ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->start != y->start)
        return x->start ? 1 : -1; /* ends before starts */
    return x->fault < y->fault ? -1 : x->fault > y->fault;
}

static void sched_tick(fl_sim *sim, void *arg);

static void sched_next(run *rn)
{
    if (rn->sched_next >= rn->n_sched || rn->sched[rn->sched_next].at >= rn->cfg->duration_ns)
        return;
    fl_sim_schedule(rn->sim, rn->sched[rn->sched_next].at, sched_tick, rn);
}

static void sched_tick(fl_sim *sim, void *arg)
{
    run *rn = arg;
    if (rn->healed)
        return;
    const run_sched_ev *e = &rn->sched[rn->sched_next++];
    run_lane *l = &rn->lanes[e->fault];
    if (e->start) {
        fl_run_fault_spec *sp = &rn->res->schedule[e->fault];
        l->on = true;
        l->start_ns = fl_sim_time(sim);
        fl__fault_start(l, sp);
        if (rn->cfg->verbose)
            printf("%10.3f s  fault %u: %s\n", (double)l->start_ns / 1e9, e->fault + 1,
                   fl_nemesis_name(sp->kind));
    } else if (l->on) {
        fl__fault_end(l);
    }
    sched_next(rn);
}

int fl__schedule_start(run *rn)
{
    const fl_run_config *c = rn->cfg;
    uint32_t n = c->n_schedule;
    fl_run_result *r = rn->res;
    r->schedule = malloc(n * sizeof(*r->schedule));
    rn->lanes = calloc(n, sizeof(*rn->lanes));
    rn->sched = malloc(2 * (size_t)n * sizeof(*rn->sched));
    if (!r->schedule || !rn->lanes || !rn->sched) {
        free(rn->lanes);
        rn->lanes = rn->lane_buf;
        return FL_ENOMEM;
    }
    memcpy(r->schedule, c->schedule, n * sizeof(*r->schedule));
    r->n_schedule = n;
    rn->schedule_cap = n;
    uint64_t seed = c->nemesis_seed ? c->nemesis_seed : c->seed;
    for (uint32_t i = 0; i < n; i++) {
        run_lane *l = &rn->lanes[i];
        l->rn = rn;
        l->rng = &l->own;
        l->spec = i;
        l->interval_ns = c->schedule[i].length_ns;
        fl_rng_seed(&l->own, fl_mix64(seed ^ (0x5C4ED00000000ull + i)));
        rn->sched[rn->n_sched++] = (run_sched_ev){c->schedule[i].start_ns, i, true};
        rn->sched[rn->n_sched++] =
            (run_sched_ev){c->schedule[i].start_ns + c->schedule[i].length_ns, i, false};
    }
    rn->n_lanes = n;
    qsort(rn->sched, rn->n_sched, sizeof(*rn->sched), ev_cmp);
    sched_next(rn);
    return 0;
}

/* ---- checking a schedule ----------------------------------------------------------------- */

/* Lanes whose fault, when it ends, undoes everything of its kind (heals the network, resets
 * every link or clock drift, stops membership churn): two of them at once would cut each
 * other short. */
static bool lane_exclusive(uint32_t lane)
{
    return lane == 0 || lane == 3 || lane == 4 || lane == 6;
}

#define REFUSE(i, ...)                                                                             \
    do {                                                                                           \
        *fault = (i);                                                                              \
        snprintf(why, why_size, __VA_ARGS__);                                                      \
        return FL_ECONFIG;                                                                         \
    } while (0)

/* The targets of s for a cluster of nodes: in range, and of the shape the kind takes. */
static int check_targets(const fl_run_fault_spec *s, uint32_t i, uint32_t nodes, uint32_t *fault,
                         char *why, size_t why_size)
{
    uint32_t all = ((1u << nodes) - 1) << 1;
    if (s->nodes & ~all)
        REFUSE(i, "a target is not a node of this %u-node cluster", nodes);
    if (s->kind == FL_NEMESIS_PARTITION_HALVES || s->kind == FL_NEMESIS_PARTITION_RANDOM) {
        for (uint32_t id = 1; id <= nodes; id++)
            if (!s->side[id])
                REFUSE(i, "node %u is on no side of the partition", id);
        for (uint32_t id = nodes + 1; id <= FL_RAFT_NODES_MAX; id++)
            if (s->side[id])
                REFUSE(i, "node %u of a side is not a node of this %u-node cluster", id, nodes);
    } else if (s->kind == FL_NEMESIS_ONE_WAY) {
        if (s->from < 1 || s->from > nodes || s->to > nodes) /* from == to: cuts nothing */
            REFUSE(i, "one-way needs from (and to) among the %u nodes", nodes);
    } else if (s->kind == FL_NEMESIS_ISOLATE_LEADER_SKEW) {
        if (__builtin_popcount(s->nodes) != 1 || s->from > nodes)
            REFUSE(i, "isolate-leader-skew cuts off exactly one node (its slow one within the "
                      "cluster)");
    } else if (s->kind == FL_NEMESIS_ISOLATE_ONE || s->kind == FL_NEMESIS_ISOLATE_LEADER ||
               s->kind == FL_NEMESIS_BRIDGE || s->kind == FL_NEMESIS_TRANSFER ||
               s->kind == FL_NEMESIS_SLOW_DISK) {
        if (__builtin_popcount(s->nodes) != 1)
            REFUSE(i, "%s takes exactly one target node", fl_nemesis_name(s->kind));
    }
    return 0;
}

static int check_one(const fl_run_fault_spec *s, uint32_t i, uint32_t nodes, fl_time_ns duration_ns,
                     uint32_t *fault, char *why, size_t why_size)
{
    if (!fl_nemesis_plannable(s->kind))
        REFUSE(i, "%s is not a single kind of fault", fl_nemesis_name(s->kind));
    if (s->start_ns >= duration_ns)
        REFUSE(i, "it starts at or after the end of the run (%.3f s)", (double)duration_ns / 1e9);
    if (s->length_ns < FL_NS_PER_MS || s->length_ns > 24 * 3600 * FL_NS_PER_S)
        REFUSE(i, "its length must be 1 ms .. 24 h");
    if (s->set & FL_RUN_SPEC_TARGETS && check_targets(s, i, nodes, fault, why, why_size))
        return FL_ECONFIG;
    if (s->set & FL_RUN_SPEC_P && !(s->p >= 0 && s->p <= 1))
        REFUSE(i, "a probability is 0..1");
    if (s->set & FL_RUN_SPEC_DRIFT && !(s->drift_ppm > -500000 && s->drift_ppm < 500000))
        REFUSE(i, "a drift must be within +-500000 ppm");
    for (uint32_t k = 0; s->set & FL_RUN_SPEC_CLOCKS && k < FL_RAFT_NODES_MAX; k++)
        if (!(s->node_ppm[k] > -500000 && s->node_ppm[k] < 500000) ||
            s->offset_ns[k] > (int64_t)(3600 * FL_NS_PER_S) ||
            s->offset_ns[k] < -(int64_t)(3600 * FL_NS_PER_S))
            REFUSE(i, "a clock's drift must be within +-500000 ppm and its jump within +-1 h");
    if (s->set & FL_RUN_SPEC_DELAY && s->delay_ns > 10 * FL_NS_PER_S)
        REFUSE(i, "a delay of at most 10 s");
    if (s->set & FL_RUN_SPEC_RESTART && s->restart_ns > 3600 * FL_NS_PER_S)
        REFUSE(i, "a restart within 1 h");
    return 0;
}

int fl_run_schedule_check(const fl_run_fault_spec *s, uint32_t n, uint32_t nodes,
                          fl_time_ns duration_ns, uint32_t *fault, char *why, size_t why_size)
{
    if (n > FL_RUN_SCHEDULE_MAX)
        REFUSE(FL_RUN_SCHEDULE_MAX, "at most %d faults", FL_RUN_SCHEDULE_MAX);
    for (uint32_t i = 0; i < n; i++) {
        if (check_one(&s[i], i, nodes, duration_ns, fault, why, why_size))
            return FL_ECONFIG;
        if (i && s[i].start_ns < s[i - 1].start_ns)
            REFUSE(i, "faults are listed in order of start");
        uint32_t lane = fl_run_fault_lane(s[i].kind);
        for (uint32_t k = 0; k < i && lane_exclusive(lane); k++)
            if (fl_run_fault_lane(s[k].kind) == lane &&
                s[k].start_ns + s[k].length_ns > s[i].start_ns)
                REFUSE(i,
                       "it overlaps fault %u (%s): faults that change %s take turns (one ends "
                       "before the next starts)",
                       k + 1, fl_nemesis_name(s[k].kind),
                       lane == 0   ? "who talks to whom"
                       : lane == 3 ? "the links' quality"
                       : lane == 4 ? "the clocks"
                                   : "the membership");
    }
    return 0;
}
