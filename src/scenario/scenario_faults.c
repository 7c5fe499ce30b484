/* scenario_faults.c: the faults section of a scenario (scenario.h): a generator (a named
 * nemesis with its interval and seed), a plan (kinds side by side, each with its interval), or
 * an explicit schedule, and the intensities the generated faults use. A fault of a schedule is
 * a mapping: start, length, kind, targets (by kind: nodes [1, 3]; the sides of a partition
 * [[1, 2], [3, 4, 5]]; one-way {from: 1, to: 2}) and the parameters its kind takes. */
#include "scenario_int.h"

#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

#define N(a)   (sizeof(a) / sizeof((a)[0]))
#define DAY_NS (24 * 3600 * FL_NS_PER_S)

/* ---- kinds ------------------------------------------------------------------------------- */

/* The kinds only real runs have (faultline nemesis): the rest are the simulator's names. */
static const fl_nem_kind real_only[] = {FL_NEM_RESTART,   FL_NEM_THROTTLE, FL_NEM_DROP,
                                        FL_NEM_STALL,     FL_NEM_CLOCK,    FL_NEM_DISK_FSYNC,
                                        FL_NEM_DISK_TORN, FL_NEM_FORK_HANG};

const char *fl_scenario_fault_kind(const fl_scenario_fault *f)
{
    return f->real >= 0 ? fl_nem_kind_name((fl_nem_kind)f->real) : fl_nemesis_name(f->spec.kind);
}

static bool kind_parse(const char *w, fl_scenario_fault *f)
{
    f->real = -1;
    if (fl_nemesis_parse(w, &f->spec.kind) && fl_nemesis_plannable(f->spec.kind))
        return true;
    fl_nem_kind k;
    for (size_t i = 0; i < N(real_only); i++)
        if (fl_nem_kind_parse(w, strlen(w), &k) && k == real_only[i]) {
            f->real = (int)k;
            fl_nem_fault_default(&f->nem, k);
            f->spec.kind = FL_NEMESIS_NONE;
            return true;
        }
    return false;
}

sr_shape sr_shape_of(const fl_scenario_fault *f)
{
    if (f->real >= 0)
        return SHAPE_NODES;
    switch (f->spec.kind) {
    case FL_NEMESIS_PARTITION_HALVES:
    case FL_NEMESIS_PARTITION_RANDOM:
        return SHAPE_SIDES;
    case FL_NEMESIS_ONE_WAY:
        return SHAPE_LINK;
    case FL_NEMESIS_ISOLATE_ONE:
    case FL_NEMESIS_ISOLATE_LEADER:
    case FL_NEMESIS_ISOLATE_LEADER_SKEW:
    case FL_NEMESIS_BRIDGE:
    case FL_NEMESIS_TRANSFER:
    case FL_NEMESIS_SLOW_DISK:
        return SHAPE_ONE;
    case FL_NEMESIS_CRASH_ONE:
    case FL_NEMESIS_CRASH_MINORITY:
    case FL_NEMESIS_CRASH_LEADER:
    case FL_NEMESIS_PAUSE:
    case FL_NEMESIS_DELAY: /* real runs delay the targets' links; the simulator every link */
    case FL_NEMESIS_FORK_HANG:
        return SHAPE_NODES;
    default:
        return SHAPE_NONE;
    }
}

/* ---- targets ----------------------------------------------------------------------------- */

static int node_id(sr *r, uint32_t n, const char *path, uint32_t *id)
{
    return sr_u32(r, n, path, 1, FL_RAFT_NODES_MAX, id);
}

/* A list of node ids as a mask (bit id) and, when order is not NULL, in order. */
static int node_list(sr *r, uint32_t v, const char *path, uint32_t *mask, fl_run_fault_spec *order)
{
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    *mask = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[200];
        uint32_t id;
        if (node_id(r, e, sr_path(p, sizeof(p), path, NULL, i), &id))
            return FL_ECONFIG;
        if ((*mask >> id) & 1)
            return sr_fail(r, e, p, "node %u is named twice", id);
        *mask |= 1u << id;
        if (order)
            order->order[order->n_order++] = (uint8_t)id;
    }
    return 0;
}

static int sides(sr *r, uint32_t v, const char *path, fl_run_fault_spec *sp)
{
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    uint32_t all = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[200];
        uint32_t mask;
        if (node_list(r, e, sr_path(p, sizeof(p), path, NULL, i), &mask, NULL))
            return FL_ECONFIG;
        if (!mask || mask & all)
            return sr_fail(r, e, p, mask ? "a node is on two sides" : "an empty side");
        all |= mask;
        for (uint32_t id = 1; id <= FL_RAFT_NODES_MAX; id++)
            if ((mask >> id) & 1)
                sp->side[id] = (uint8_t)(i + 1);
    }
    return i >= 2 ? 0 : sr_fail(r, v, path, "a partition has at least two sides");
}

static const char *const link_keys[] = {"from", "to"};

static int link_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_fault_spec *sp = ctx;
    uint32_t id;
    if (node_id(r, v, path, &id))
        return FL_ECONFIG;
    *(k == 0 ? &sp->from : &sp->to) = (fl_node_id)id;
    return 0;
}

static int targets(sr *r, uint32_t v, const char *path, fl_scenario_fault *f)
{
    fl_run_fault_spec *sp = &f->spec;
    switch (sr_shape_of(f)) {
    case SHAPE_NONE:
        return sr_fail(r, v, path, "%s takes no targets (it acts on %s)", fl_scenario_fault_kind(f),
                       f->spec.kind == FL_NEMESIS_CLOCK_OFFSET ||
                               f->spec.kind == FL_NEMESIS_CLOCK_DRIFT
                           ? "every clock: see offsets, drifts_ppm"
                           : "what its kind says");
    case SHAPE_SIDES:
        if (sides(r, v, path, sp))
            return FL_ECONFIG;
        break;
    case SHAPE_LINK:
        if (sr_map(r, v, path, link_keys, N(link_keys), link_entry, sp))
            return FL_ECONFIG;
        if (!sp->from)
            return sr_fail(r, v, path,
                           "one-way needs from (and to: one link; without: every "
                           "link out of from)");
        break;
    default:
        if (node_list(r, v, path, &sp->nodes, sp))
            return FL_ECONFIG;
        if (sr_shape_of(f) == SHAPE_ONE && __builtin_popcount(sp->nodes) != 1)
            return sr_fail(r, v, path, "%s takes one node", fl_scenario_fault_kind(f));
    }
    sp->set |= FL_RUN_SPEC_TARGETS;
    return 0;
}

/* ---- one fault --------------------------------------------------------------------------- */

static const char *const fault_keys[] = {"start",   "length",       "kind",          "targets",
                                         "p",       "delay",        "drift_ppm",     "slow",
                                         "offsets", "drifts_ppm",   "restart_after", "jitter",
                                         "rate",    "clock_offset", "clock_rate"};

/* Which kinds take parameter key k (an index of fault_keys from 4 on). */
static bool takes(const fl_scenario_fault *f, size_t k)
{
    fl_nemesis s = f->real >= 0 ? FL_NEMESIS_NONE : f->spec.kind;
    fl_nem_kind real = (fl_nem_kind)f->real;
    switch (k) {
    case 4:
        return s == FL_NEMESIS_LOSS || s == FL_NEMESIS_DUP;
    case 5:
    case 11:
        return s == FL_NEMESIS_DELAY;
    case 6:
    case 7:
        return s == FL_NEMESIS_ISOLATE_LEADER_SKEW;
    case 8:
        return s == FL_NEMESIS_CLOCK_OFFSET;
    case 9:
        return s == FL_NEMESIS_CLOCK_DRIFT;
    case 10:
        return s == FL_NEMESIS_CRASH_UNSYNCED;
    case 12:
        return f->real >= 0 && real == FL_NEM_THROTTLE;
    default:
        return f->real >= 0 && real == FL_NEM_CLOCK;
    }
}

/* Per-node values: clock jumps or drifts, one for each node from 1 on. */
static int per_node(sr *r, uint32_t v, const char *path, fl_run_fault_spec *sp, bool jumps)
{
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[200];
        sr_path(p, sizeof(p), path, NULL, i);
        if (i >= FL_RAFT_NODES_MAX)
            return sr_fail(r, e, p, "at most %d nodes", FL_RAFT_NODES_MAX);
        if (jumps ? sr_offset(r, e, p, &sp->offset_ns[i])
                  : sr_double(r, e, p, -499999, 499999, &sp->node_ppm[i]))
            return FL_ECONFIG;
    }
    sp->set |= FL_RUN_SPEC_CLOCKS;
    return 0;
}

static int fault_param(sr *r, uint32_t v, const char *path, size_t k, fl_scenario_fault *f)
{
    fl_run_fault_spec *sp = &f->spec;
    uint32_t id;
    switch (k) {
    case 4:
        sp->set |= FL_RUN_SPEC_P;
        return sr_double(r, v, path, 0, 1, &sp->p);
    case 5:
        sp->set |= FL_RUN_SPEC_DELAY;
        f->nem.delay_ns = 0;
        if (sr_duration(r, v, path, 10 * FL_NS_PER_S, &sp->delay_ns))
            return FL_ECONFIG;
        f->nem.delay_ns = sp->delay_ns;
        return 0;
    case 6:
        sp->set |= FL_RUN_SPEC_DRIFT;
        return sr_double(r, v, path, 0, 499999, &sp->drift_ppm);
    case 7:
        if (sr_u32(r, v, path, 0, FL_RAFT_NODES_MAX, &id))
            return FL_ECONFIG;
        sp->from = (fl_node_id)id;
        return 0;
    case 8:
    case 9:
        return per_node(r, v, path, sp, k == 8);
    case 10:
        sp->set |= FL_RUN_SPEC_RESTART;
        return sr_duration(r, v, path, 3600 * FL_NS_PER_S, &sp->restart_ns);
    case 11:
        return sr_duration(r, v, path, 10 * FL_NS_PER_S, &f->nem.jitter_ns);
    case 12:
        return sr_u64(r, v, path, 1, UINT64_MAX / 2, &f->nem.rate_bps);
    case 13:
        return sr_offset(r, v, path, &f->nem.clock_offset_ns);
    default:
        return sr_double(r, v, path, 0.01, 100, &f->nem.clock_rate);
    }
}

/* What the first pass found: the kind, which the parameters depend on. */
typedef struct fault_ctx {
    fl_scenario_fault *f;
    bool pass_kind; /* the first pass reads only the kind */
    uint32_t seen;  /* keys given (bit index) */
    uint32_t kind_node;
} fault_ctx;

static int fault_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fault_ctx *fc = ctx;
    fl_scenario_fault *f = fc->f;
    fc->seen |= 1u << k;
    if (fc->pass_kind != (k == 2))
        return 0;
    if (k == 0)
        return sr_duration(r, v, path, DAY_NS, &f->spec.start_ns);
    if (k == 1)
        return sr_duration(r, v, path, DAY_NS, &f->spec.length_ns);
    if (k == 2) {
        const char *w = NULL;
        fc->kind_node = v;
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return kind_parse(w, f) ? 0
                                : sr_fail(r, v, path,
                                          "unknown kind '%.40s' (the kinds of faultline sim "
                                          "--help but none, mix and mix-churn, or restart, "
                                          "throttle, drop, stall, clock, disk-fsync, disk-torn, "
                                          "fork-hang)",
                                          w);
    }
    if (k == 3)
        return targets(r, v, path, f);
    if (!takes(f, k))
        return sr_fail(r, v, path, "%s takes no %s", fl_scenario_fault_kind(f), fault_keys[k]);
    return fault_param(r, v, path, k, f);
}

static int one_fault(sr *r, uint32_t e, const char *path)
{
    fl_scenario_fault f = {.real = -1, .line = yt_at(r->d, e)->line, .col = yt_at(r->d, e)->col};
    fault_ctx fc = {.f = &f, .pass_kind = true};
    if (sr_map(r, e, path, fault_keys, N(fault_keys), fault_entry, &fc))
        return FL_ECONFIG;
    if (!(fc.seen & 7u))
        return sr_fail(r, e, path, "a fault needs start, length and kind");
    if ((fc.seen & 7u) != 7u)
        return sr_fail(r, e, path, "a fault needs %s",
                       !(fc.seen & 1)   ? "a start"
                       : !(fc.seen & 2) ? "a length"
                                        : "a kind");
    fc.pass_kind = false;
    if (sr_map(r, e, path, fault_keys, N(fault_keys), fault_entry, &fc))
        return FL_ECONFIG;
    if (f.spec.kind == FL_NEMESIS_ISOLATE_LEADER_SKEW && (fc.seen >> 7) & 1 &&
        !(f.spec.set & FL_RUN_SPEC_TARGETS))
        return sr_fail(r, e, path, "slow goes with targets (the node cut off)");
    if (f.spec.kind == FL_NEMESIS_ISOLATE_LEADER_SKEW && f.spec.set & FL_RUN_SPEC_TARGETS &&
        !((fc.seen >> 7) & 1))
        f.spec.from = (fl_node_id)__builtin_ctz(f.spec.nodes); /* the one cut off is slow */
    if (f.spec.length_ns < FL_NS_PER_MS)
        return sr_fail(r, e, path, "a fault lasts at least 1ms");
    if (f.real >= 0 && f.spec.set & FL_RUN_SPEC_TARGETS)
        f.nem.nodes_mask = f.spec.nodes >> 1;
    f.nem.start_ns = f.spec.start_ns;
    f.nem.length_ns = f.spec.length_ns;
    int rc = fl_scenario_add_fault(r->s, &f);
    if (rc == FL_ECONFIG)
        return sr_fail(r, e, path, "at most %d faults", FL_RUN_SCHEDULE_MAX);
    return rc ? sr_fail(r, e, path, "out of memory") : 0;
}

static int schedule(sr *r, uint32_t v, const char *path)
{
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[200];
        if (one_fault(r, e, sr_path(p, sizeof(p), path, NULL, i)))
            return FL_ECONFIG;
        const fl_scenario_fault *f = &r->s->faults[i];
        if (i && f->spec.start_ns < r->s->faults[i - 1].spec.start_ns)
            return sr_fail(r, e, p, "faults are listed in order of start");
    }
    r->s->explicit_schedule = true;
    return 0;
}

/* ---- generators and the section ---------------------------------------------------------- */

static const char *const plan_keys[] = {"kind", "interval"};

static int plan_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_fault *f = ctx;
    if (k == 1)
        return sr_duration(r, v, path, DAY_NS, &f->interval_ns) ||
                       (f->interval_ns < FL_NS_PER_MS &&
                        sr_fail(r, v, path, "an interval of at least 1ms"))
                   ? FL_ECONFIG
                   : 0;
    const char *w = NULL;
    if (sr_word(r, v, path, &w))
        return FL_ECONFIG;
    if (!fl_nemesis_parse(w, &f->kind) || !fl_nemesis_plannable(f->kind))
        return sr_fail(r, v, path, "'%.40s' is not a kind a plan can take (faultline sim --help)",
                       w);
    return 0;
}

static int plan(sr *r, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[200];
        sr_path(p, sizeof(p), path, NULL, i);
        if (c->n_faults == FL_RUN_FAULTS_MAX)
            return sr_fail(r, e, p, "at most %d kinds", FL_RUN_FAULTS_MAX);
        fl_run_fault *f = &c->faults[c->n_faults];
        *f = (fl_run_fault){.kind = FL_NEMESIS_NONE, .interval_ns = c->nemesis_interval_ns};
        if (sr_map(r, e, p, plan_keys, N(plan_keys), plan_entry, f))
            return FL_ECONFIG;
        if (f->kind == FL_NEMESIS_NONE)
            return sr_fail(r, e, p, "a kind of a plan needs its kind");
        c->n_faults++;
    }
    return c->n_faults ? 0 : sr_fail(r, v, path, "an empty plan: leave faults out for none");
}

static const char *const intensity_keys[] = {"loss", "dup", "delay", "clock_offset", "drift_ppm"};

static int intensity_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    (void)ctx;
    switch (k) {
    case 0:
    case 1:
        return sr_double(r, v, path, 0, 1, k ? &c->dup : &c->loss);
    case 2:
        return sr_duration(r, v, path, 10 * FL_NS_PER_S, &c->delay_ns);
    case 3:
        return sr_duration(r, v, path, 3600 * FL_NS_PER_S, &c->clock_offset_ns);
    default:
        return sr_double(r, v, path, 0, 499999, &c->clock_drift_ppm);
    }
}

static const char *const faults_keys[] = {"generate", "interval",    "seed", "plan",
                                          "schedule", "intensities", "gst"};

static int faults_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    uint32_t *seen = ctx;
    *seen |= 1u << k;
    const char *w = NULL;
    switch (k) {
    case 0:
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return fl_nemesis_parse(w, &c->nemesis)
                   ? 0
                   : sr_fail(r, v, path, "unknown nemesis '%.40s' (faultline sim --help)", w);
    case 1:
        if (sr_duration(r, v, path, DAY_NS, &c->nemesis_interval_ns))
            return FL_ECONFIG;
        return c->nemesis_interval_ns < FL_NS_PER_MS
                   ? sr_fail(r, v, path, "an interval of at least 1ms")
                   : 0;
    case 2:
        return sr_u64(r, v, path, 0, UINT64_MAX, &c->nemesis_seed);
    case 3:
        return 0; /* after the interval, which its kinds default to */
    case 4:
        return schedule(r, v, path);
    case 5:
        return sr_map(r, v, path, intensity_keys, N(intensity_keys), intensity_entry, NULL);
    default: /* flp: when the adversary's power ends (the simulator checks it goes with flp) */
        return sr_duration(r, v, path, DAY_NS, &c->gst_ns);
    }
}

int sr_faults(sr *r, uint32_t m, const char *path)
{
    uint32_t seen = 0;
    if (sr_map(r, m, path, faults_keys, N(faults_keys), faults_entry, &seen))
        return FL_ECONFIG;
    uint32_t ways = (seen & 1) + ((seen >> 3) & 1) + ((seen >> 4) & 1);
    if (ways > 1)
        return sr_fail(r, m, path, "one of generate, plan and schedule");
    if (seen & 6u && !(seen & 9u))
        return sr_fail(r, m, path, "interval and seed go with generate or plan");
    if (!((seen >> 3) & 1))
        return 0;
    for (uint32_t k = yt_at(r->d, m)->first; k; k = yt_at(r->d, yt_at(r->d, k)->next)->next)
        if (!strcmp(yt_str(r->d, k), "plan")) {
            char p[160];
            return plan(r, yt_at(r->d, k)->next, sr_path(p, sizeof(p), path, "plan", 0));
        }
    return 0;
}
