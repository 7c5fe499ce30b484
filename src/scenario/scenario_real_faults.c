/* scenario_real_faults.c: a scenario's faults as the nemesis's schedule (scenario_real.h).
 * Each kind with a real counterpart becomes its nemesis fault at the same start and length:
 * crashes are kill -9 (restarted at the end), pause is SIGSTOP, partitions cut the same links
 * (the simulator's own shape builders give the cut matrix, so a shape means the same in both),
 * delay goes through the proxy, clock jumps and drifts restart the node under libfaketime (one
 * real fault per node), and the real-only kinds pass as they are. The rest is refused at its
 * line: a TCP stream neither loses nor duplicates single messages (loss, dup), and the server
 * has no leadership transfer, membership churn in a schedule, slow disks or torn unsynced
 * crashes (crash-unsynced; disk-torn is the real one). */
#include "scenario_int.h"
#include "scenario_real.h"

#include "faultline/error.h"
#include "faultline/rng.h"
#include "faultline/sim.h"

#include <stdio.h>
#include <string.h>

typedef struct sink {
    fl_nem_fault *out;
    uint32_t *origin;
    size_t max, n;
} sink;

/* "file:line:col: faults.schedule[i]: what" (a generated fault: "file: faults.generate"). */
static int refuse_fault(const fl_scenario *s, uint32_t i, char *err, size_t err_size,
                        const char *what)
{
    const fl_scenario_fault *f = &s->faults[i];
    if (!f->line)
        return sreal_refuse(s, "faults.generate", err, err_size, "%s: %s",
                            fl_scenario_fault_kind(f), what);
    snprintf(err, err_size, "%s:%u:%u: faults.schedule[%u]: %s: %s", s->name, f->line, f->col, i,
             fl_scenario_fault_kind(f), what);
    return FL_EUNSUPPORTED;
}

/* Why kind k has no real counterpart (NULL: it has one). */
static const char *no_counterpart(fl_nemesis k)
{
    switch (k) {
    case FL_NEMESIS_LOSS:
    case FL_NEMESIS_DUP:
        return "no real counterpart: peers talk over TCP, which neither loses nor duplicates "
               "single messages (drop resets connections, stall freezes links)";
    case FL_NEMESIS_TRANSFER:
        return "no real counterpart: the server has no leadership transfer command";
    case FL_NEMESIS_ISOLATE_LEADER_SKEW:
        return "no real counterpart as one fault: give isolate-leader and clock faults side by "
               "side";
    case FL_NEMESIS_CRASH_UNSYNCED:
        return "no real counterpart: kill -9 keeps what the page cache holds (disk-torn is the "
               "real power cut)";
    case FL_NEMESIS_LEADER_FLAP:
        return "no real counterpart: it cuts each leader as it is elected, which the nemesis's "
               "schedule, fixed before the run, cannot follow";
    case FL_NEMESIS_SLOW_DISK:
        return "no real counterpart: the disk shim fails or tears writes, it does not slow them";
    case FL_NEMESIS_FORK_HANG:
    case FL_NEMESIS_CRASH_ONE:
    case FL_NEMESIS_CRASH_MINORITY:
    case FL_NEMESIS_CRASH_LEADER:
    case FL_NEMESIS_PAUSE:
    case FL_NEMESIS_ISOLATE_ONE:
    case FL_NEMESIS_ISOLATE_LEADER:
    case FL_NEMESIS_PARTITION_HALVES:
    case FL_NEMESIS_PARTITION_RANDOM:
    case FL_NEMESIS_MAJORITIES_RING:
    case FL_NEMESIS_BRIDGE:
    case FL_NEMESIS_ONE_WAY:
    case FL_NEMESIS_DELAY:
    case FL_NEMESIS_CLOCK_OFFSET:
    case FL_NEMESIS_CLOCK_DRIFT:
        return NULL;
    default:
        return "no real counterpart: membership churn and the simulator's adversaries are not "
               "in the nemesis";
    }
}

static int emit(sink *k, const fl_nem_fault *x, uint32_t i)
{
    if (k->n == k->max)
        return FL_ECONFIG;
    k->out[k->n] = *x;
    k->origin[k->n++] = i;
    return 0;
}

/* The nodes a fault names (bit id), to check them against the cluster. */
static uint32_t named(const fl_run_fault_spec *sp)
{
    uint32_t m = sp->nodes | (sp->from ? 1u << sp->from : 0) | (sp->to ? 1u << sp->to : 0);
    for (uint32_t id = 1; id <= FL_RAFT_NODES_MAX; id++)
        if (sp->side[id])
            m |= 1u << id;
    return m;
}

/* The shape of a partition the simulator would cut, chosen now when the file leaves it open
 * (and written into the fault), as the nemesis's cut matrix. */
static void shape(fl_scenario *s, fl_scenario_fault *f, fl_rng *rng, fl_nem_fault *x)
{
    fl_run_fault_spec *sp = &f->spec;
    uint32_t n = s->run.nodes;
    bool given = sp->set & FL_RUN_SPEC_TARGETS;
    fl_sim_conn c;
    if (sp->kind == FL_NEMESIS_MAJORITIES_RING) {
        fl_sim_conn_majorities_ring(&c, n);
        x->kind = FL_NEM_RING;
        x->who = FL_NEM_WHO_ALL; /* every node is on the ring */
    } else if (sp->kind == FL_NEMESIS_BRIDGE) {
        if (!given)
            sp->nodes = 1u << fl_rng_range(rng, 1, n);
        fl_sim_conn_bridge(&c, n, (fl_node_id)__builtin_ctz(sp->nodes));
        x->kind = FL_NEM_BRIDGE;
        x->nodes_mask = sp->nodes >> 1;
    } else if (sp->kind == FL_NEMESIS_ONE_WAY) {
        fl_sim_conn_full(&c, n);
        for (fl_node_id b = 1; b <= n; b++)
            if (b == sp->to || (!sp->to && b != sp->from))
                fl_sim_conn_block(&c, sp->from, b);
        x->kind = FL_NEM_ONE_WAY;
        x->nodes_mask = 1u << (sp->from - 1);
    } else { /* partition-halves, partition-random */
        if (given) {
            fl_sim_conn_full(&c, n);
            for (fl_node_id a = 1; a <= n; a++)
                for (fl_node_id b = 1; b <= n; b++)
                    if (sp->side[a] != sp->side[b])
                        fl_sim_conn_block(&c, a, b);
        } else if (sp->kind == FL_NEMESIS_PARTITION_HALVES) {
            fl_sim_conn_halves(&c, n);
        } else {
            fl_sim_conn_random_halves(&c, n, rng);
        }
        memset(sp->side, 0, sizeof(sp->side));
        for (fl_node_id a = 1; a <= n; a++) /* side 1: the nodes node 1 hears; side 2: the rest */
            sp->side[a] = fl_sim_conn_can(&c, 1, a) ? 1 : 2;
        x->kind = FL_NEM_HALVES;
        for (fl_node_id a = 1; a <= n; a++)
            x->nodes_mask |= (uint32_t)(sp->side[a] == 1) << (a - 1);
    }
    if (sp->kind != FL_NEMESIS_MAJORITIES_RING)
        sp->set |= FL_RUN_SPEC_TARGETS;
    for (fl_node_id a = 1; a <= n; a++)
        for (fl_node_id b = 1; b <= n; b++)
            if (a != b && !fl_sim_conn_can(&c, a, b))
                x->cut[a - 1] |= (uint16_t)(1u << (b - 1));
}

/* Clock jumps or drifts: one restart under libfaketime per node with a value (drawn now,
 * within the intensity, when the file gives none). */
static int clocks(fl_scenario *s, uint32_t i, fl_rng *rng, sink *k)
{
    fl_run_fault_spec *sp = &s->faults[i].spec;
    bool jumps = sp->kind == FL_NEMESIS_CLOCK_OFFSET;
    if (!(sp->set & FL_RUN_SPEC_CLOCKS)) {
        for (uint32_t a = 0; a < s->run.nodes; a++) {
            double u = 2 * fl_rng_double(rng) - 1;
            if (jumps)
                sp->offset_ns[a] = (int64_t)(u * (double)(s->run.clock_offset_ns / FL_NS_PER_MS)) *
                                   (int64_t)FL_NS_PER_MS; /* whole ms: a readable file */
            else
                sp->node_ppm[a] = (double)(int64_t)(u * s->run.clock_drift_ppm);
        }
        sp->set |= FL_RUN_SPEC_CLOCKS;
    }
    for (uint32_t a = 0; a < s->run.nodes; a++) {
        if (jumps ? !sp->offset_ns[a] : sp->node_ppm[a] == 0)
            continue;
        fl_nem_fault x;
        fl_nem_fault_default(&x, FL_NEM_CLOCK);
        x.start_ns = sp->start_ns;
        x.length_ns = sp->length_ns;
        x.nodes_mask = 1u << a;
        x.clock_offset_ns = jumps ? sp->offset_ns[a] : 0;
        x.clock_rate = jumps ? 0 : 1 + sp->node_ppm[a] / 1e6;
        if (emit(k, &x, i))
            return FL_ECONFIG;
    }
    return 0;
}

static fl_nem_kind process_kind(fl_nemesis k, fl_nem_who *who)
{
    *who = k == FL_NEMESIS_CRASH_MINORITY                                   ? FL_NEM_WHO_MINORITY
           : k == FL_NEMESIS_CRASH_LEADER || k == FL_NEMESIS_ISOLATE_LEADER ? FL_NEM_WHO_LEADER
           : k == FL_NEMESIS_DELAY                                          ? FL_NEM_WHO_ALL
                                                                            : FL_NEM_WHO_RANDOM;
    switch (k) {
    case FL_NEMESIS_PAUSE:
        return FL_NEM_PAUSE;
    case FL_NEMESIS_FORK_HANG: /* the disk shim's hang-fork */
        return FL_NEM_FORK_HANG;
    case FL_NEMESIS_ISOLATE_ONE:
        return FL_NEM_ISOLATE_ONE;
    case FL_NEMESIS_ISOLATE_LEADER:
        return FL_NEM_ISOLATE_LEADER;
    case FL_NEMESIS_DELAY:
        return FL_NEM_DELAY;
    default:
        return FL_NEM_KILL;
    }
}

static int one(fl_scenario *s, uint32_t i, fl_rng *rng, sink *k, char *err, size_t err_size)
{
    fl_scenario_fault *f = &s->faults[i];
    fl_run_fault_spec *sp = &f->spec;
    uint32_t over = named(sp) & ~(((1u << s->run.nodes) - 1) << 1);
    if ((sp->set & FL_RUN_SPEC_TARGETS || f->real >= 0) && over) {
        char what[120];
        snprintf(what, sizeof(what), "names node %d of a %u-node cluster", __builtin_ctz(over),
                 s->run.nodes);
        return refuse_fault(s, i, err, err_size, what);
    }
    fl_nem_fault x;
    if (f->real >= 0) {
        x = f->nem;
        x.start_ns = sp->start_ns;
        x.length_ns = sp->length_ns;
        return emit(k, &x, i);
    }
    const char *no = no_counterpart(sp->kind);
    if (no)
        return refuse_fault(s, i, err, err_size, no);
    if (sp->kind == FL_NEMESIS_CLOCK_OFFSET || sp->kind == FL_NEMESIS_CLOCK_DRIFT)
        return clocks(s, i, rng, k);
    fl_nem_who who;
    fl_nem_fault_default(&x, process_kind(sp->kind, &who));
    x.start_ns = sp->start_ns;
    x.length_ns = sp->length_ns;
    x.who = who;
    if (sp->set & FL_RUN_SPEC_TARGETS && sp->kind != FL_NEMESIS_ONE_WAY)
        x.nodes_mask = sp->nodes >> 1;
    if (sp->kind == FL_NEMESIS_DELAY) {
        x.delay_ns = sp->set & FL_RUN_SPEC_DELAY ? sp->delay_ns : s->run.delay_ns;
        x.jitter_ns = f->nem.jitter_ns;
    }
    bool shaped = sp->kind == FL_NEMESIS_PARTITION_HALVES ||
                  sp->kind == FL_NEMESIS_PARTITION_RANDOM ||
                  sp->kind == FL_NEMESIS_MAJORITIES_RING || sp->kind == FL_NEMESIS_BRIDGE ||
                  (sp->kind == FL_NEMESIS_ONE_WAY && sp->set & FL_RUN_SPEC_TARGETS);
    if (shaped)
        shape(s, f, rng, &x);
    else if (sp->kind == FL_NEMESIS_ONE_WAY)
        x.kind = FL_NEM_ONE_WAY; /* from the leader when it starts to every other node */
    return emit(k, &x, i);
}

/* A generator of one kind as an explicit schedule: a fault every other interval, calm first
 * (the nemesis's own way: fl_nem_schedule_build). mix and plans are refused. */
static int expand(fl_scenario *s, char *err, size_t err_size)
{
    fl_run_config *c = &s->run;
    if (c->n_faults)
        return sreal_refuse(s, "faults.plan", err, err_size,
                            "a plan's kinds run side by side on the simulator's lanes, which the "
                            "nemesis does not have: give a schedule (faultline sim --scenario F "
                            "--out D writes the plan's into D/scenario.yaml)");
    if (c->nemesis == FL_NEMESIS_NONE)
        return 0;
    if (!fl_nemesis_plannable(c->nemesis) || no_counterpart(c->nemesis))
        return sreal_refuse(s, "faults.generate", err, err_size,
                            "%s has no real counterpart%s: give a schedule, or a generator of "
                            "one kind real processes have",
                            fl_nemesis_name(c->nemesis),
                            c->nemesis == FL_NEMESIS_MIX || c->nemesis == FL_NEMESIS_MIX_CHURN
                                ? " (it draws among kinds, loss, dup and transfer among them)"
                                : "");
    fl_time_ns iv = c->nemesis_interval_ns;
    for (fl_time_ns t = iv; t + iv <= c->duration_ns; t += 2 * iv) {
        fl_scenario_fault f = {.real = -1};
        f.spec.kind = c->nemesis;
        f.spec.start_ns = t;
        f.spec.length_ns = iv;
        if (fl_scenario_add_fault(s, &f))
            return sreal_refuse(s, "faults.generate", err, err_size, "too many faults");
    }
    c->nemesis = FL_NEMESIS_NONE;
    s->explicit_schedule = true;
    return 0;
}

int sreal_faults(fl_scenario *s, fl_nem_fault *out, uint32_t *origin, size_t max, size_t *n,
                 char *err, size_t err_size)
{
    int rc = s->explicit_schedule ? 0 : expand(s, err, err_size);
    if (rc)
        return rc;
    fl_rng rng;
    fl_rng_seed(&rng, (s->run.nemesis_seed ? s->run.nemesis_seed : s->run.seed) ^ 0x4EA15EEDull);
    sink k = {.out = out, .origin = origin, .max = max};
    for (uint32_t i = 0; i < s->n_faults && !rc; i++) {
        if (s->faults[i].spec.start_ns >= s->run.duration_ns)
            return refuse_fault(s, i, err, err_size, "starts after the run ends");
        rc = one(s, i, &rng, &k, err, err_size);
        if (rc == FL_ECONFIG)
            return refuse_fault(s, i, err, err_size, "more real faults than the nemesis runs");
    }
    *n = k.n;
    return rc;
}

void fl_scenario_nemesis_ran(fl_scenario *s, const fl_nem_fault_log *log, const uint32_t *origin,
                             size_t n)
{
    for (size_t j = 0; j < n; j++) {
        if (origin[j] >= s->n_faults || !log[j].targets_mask)
            continue;
        fl_scenario_fault *f = &s->faults[origin[j]];
        fl_run_fault_spec *sp = &f->spec;
        if (sp->set & FL_RUN_SPEC_TARGETS || (f->real < 0 && sp->kind == FL_NEMESIS_DELAY) ||
            sr_shape_of(f) == SHAPE_NONE || sr_shape_of(f) == SHAPE_SIDES)
            continue; /* given, or decided before the run (a delay's are every link in sim) */
        uint32_t mask = log[j].targets_mask;
        if (sr_shape_of(f) == SHAPE_LINK) {
            sp->from = (fl_node_id)(__builtin_ctz(mask) + 1);
            sp->to = 0;
        } else {
            sp->nodes = mask << 1;
            sp->n_order = 0;
            if (f->real >= 0)
                f->nem.nodes_mask = mask;
        }
        sp->set |= FL_RUN_SPEC_TARGETS;
    }
}
