/* scenario_from_real.c: the scenario a real run started from flags ran
 * (fl_scenario_from_nemesis, scenario.h): its cluster from the nodes' arguments, its workload,
 * and every fault that ran as a fault of an explicit schedule with the targets it hit: rolling
 * faults one per node for its share of the time, partitions by the links they cut (the sides
 * of a partition, the simulator's bridge or ring when the cut is that, one-way). What a
 * scenario cannot say (another target than faultline servers, an argument it has no key for,
 * a cut no kind describes) is refused with the reason, and the caller writes none. */
#include "scenario_int.h"

#include "faultline/cons.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY(...) (snprintf(why, why_size, __VA_ARGS__), FL_EUNSUPPORTED)

/* One argument of the nodes (`--read-mode lease`) as a cluster key. */
static int node_arg(fl_run_config *r, const char *k, const char *v, char *why, size_t why_size)
{
    uint64_t u;
    if (!v)
        return WHY("--node-args %s: no value", k);
    if (!strcmp(k, "--protocol") && fl_cons_protocol_parse(v, &r->protocol))
        return 0;
    if (!strcmp(k, "--read-mode") && strcmp(v, "local") && fl_run_read_mode_parse(v, &r->read_mode))
        return 0;
    if (!strcmp(k, "--check-quorum") && (!strcmp(v, "on") || !strcmp(v, "off")))
        return r->no_check_quorum = !strcmp(v, "off"), 0;
    if (!strcmp(k, "--mutant") && fl_cons_mutant_parse(FL_CONS_RAFT, v))
        return r->mutants |= fl_cons_mutant_parse(FL_CONS_RAFT, v), 0;
    if (!strcmp(k, "--snapshot-every") && !fl_parse_u64(v, 0, 1000000000, &u))
        return r->snapshot_every = (uint32_t)u, 0;
    fl_time_ns ns;
    if (!strcmp(k, "--snapshot-timeout") && !fl_parse_duration(v, &ns))
        return r->snapshot_timeout_ns = ns, 0;
    if (!strcmp(k, "--max-drift-ppm") && !fl_parse_u64(v, 0, 999999, &u))
        return r->lease_drift_ppm = (uint32_t)u, 0;
    return WHY("--node-args %s %s: a scenario file has no key for it", k, v);
}

static int cluster(fl_run_config *r, const fl_nem_config *c, char *why, size_t why_size)
{
    if (c->target != FL_NEM_TARGET_FAULTLINE)
        return WHY("--target %s: a scenario's cluster is faultline servers",
                   c->target == FL_NEM_TARGET_ETCD ? "etcd" : "cmd");
    r->nodes = c->nodes;
    r->snapshot_every = 10000; /* the server's own default */
    char args[sizeof(c->node_args)], *save = NULL;
    snprintf(args, sizeof(args), "%s", c->node_args);
    for (char *k = strtok_r(args, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
        int rc = node_arg(r, k, strtok_r(NULL, " ", &save), why, why_size);
        if (rc)
            return rc;
    }
    if (r->protocol == FL_CONS_PAXOS && r->mutants)
        return WHY("--node-args: Raft's mutants with --protocol paxos");
    return 0;
}

static void workload(fl_run_config *r, const fl_nem_config *c)
{
    fl_workload_config wl;
    fl_nem_workload(c, &wl);
    uint32_t sum = 0;
    for (int k = 0; k < FL_KV_OP_COUNT; k++)
        sum += wl.weights[k];
    fl_kv_op other = c->workload == FL_RUN_REGISTER ? FL_KV_CAS : FL_KV_APPEND;
    r->workload = c->workload;
    r->clients = c->clients;
    r->rate = c->rate;
    r->keys = (uint32_t)c->keys;
    r->reads_pct = (uint32_t)((100.0 * wl.weights[FL_KV_GET]) / sum + 0.5); /* to percent */
    r->cas_pct = (uint32_t)((100.0 * wl.weights[other]) / sum + 0.5);
    if (r->reads_pct + r->cas_pct > 100)
        r->cas_pct = 100 - r->reads_pct;
    r->value_size = c->value_size;
    r->ops_max = c->ops_max;
    r->op_timeout_ns = c->op_timeout_ns;
}

/* ---- faults ------------------------------------------------------------------------------ */

static bool cut(const fl_nem_fault *f, uint32_t a, uint32_t b)
{
    return (f->cut[a - 1] >> (b - 1)) & 1;
}

static bool same_cut(const fl_nem_fault *f, const fl_sim_conn *c, uint32_t n)
{
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++)
            if (a != b && cut(f, a, b) != !fl_sim_conn_can(c, a, b))
                return false;
    return true;
}

/* The links f cut as a kind of the simulator with its targets; false: none says it. */
static bool partition(const fl_nem_fault *f, uint32_t n, fl_scenario_fault *o)
{
    fl_run_fault_spec *sp = &o->spec;
    uint8_t side[FL_RAFT_NODES_MAX + 1] = {0}, sides = 0;
    for (uint32_t a = 1; a <= n; a++) /* the groups of nodes that hear each other */
        for (uint32_t b = 1; !side[a] && b <= a; b++)
            if (b == a || (!cut(f, a, b) && !cut(f, b, a)))
                side[a] = b == a ? ++sides : side[b];
    fl_sim_conn c;
    fl_sim_conn_full(&c, n);
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++)
            if (side[a] != side[b])
                fl_sim_conn_block(&c, a, b);
    sp->set |= FL_RUN_SPEC_TARGETS;
    if (sides > 1 && same_cut(f, &c, n)) {
        sp->kind = FL_NEMESIS_PARTITION_HALVES;
        memcpy(sp->side, side, sizeof(side));
        return true;
    }
    for (uint32_t b = 1; b <= n; b++) /* a bridge: the node no link of which is cut */
        if (fl_sim_conn_bridge(&c, n, b) == 0 && same_cut(f, &c, n)) {
            sp->kind = FL_NEMESIS_BRIDGE;
            sp->nodes = 1u << b;
            return true;
        }
    sp->set &= ~FL_RUN_SPEC_TARGETS;
    fl_sim_conn_majorities_ring(&c, n);
    if (same_cut(f, &c, n)) {
        sp->kind = FL_NEMESIS_MAJORITIES_RING;
        return true;
    }
    for (uint32_t a = 1; a <= n; a++) { /* one-way: the links out of one node */
        uint32_t out = f->cut[a - 1], all = ((1u << n) - 1) & ~(1u << (a - 1));
        if (!out || (out != all && __builtin_popcount(out) != 1))
            continue;
        sp->kind = FL_NEMESIS_ONE_WAY;
        sp->from = (fl_node_id)a;
        sp->to = out == all ? 0 : (fl_node_id)(__builtin_ctz(out) + 1);
        fl_sim_conn_full(&c, n);
        for (uint32_t b = 1; b <= n; b++)
            if ((out >> (b - 1)) & 1)
                fl_sim_conn_block(&c, a, b);
        sp->set |= FL_RUN_SPEC_TARGETS;
        return same_cut(f, &c, n);
    }
    return false;
}

/* Fault l of the log as o (start, length and kind set by the caller). */
static int one(const fl_nem_fault_log *l, uint32_t n, uint32_t mask, fl_scenario_fault *o,
               char *why, size_t why_size)
{
    const fl_nem_fault *f = &l->fault;
    fl_run_fault_spec *sp = &o->spec;
    o->real = -1;
    switch (f->kind) {
    case FL_NEM_KILL:
        sp->kind = FL_NEMESIS_CRASH_ONE;
        break;
    case FL_NEM_PAUSE:
        sp->kind = FL_NEMESIS_PAUSE;
        break;
    case FL_NEM_DELAY:
        sp->kind = FL_NEMESIS_DELAY;
        sp->set |= FL_RUN_SPEC_DELAY;
        sp->delay_ns = f->delay_ns;
        o->nem.jitter_ns = f->jitter_ns;
        if (mask == (1u << n) - 1)
            return 0; /* every link: as the simulator's delay */
        break;
    case FL_NEM_ISOLATE_ONE:
    case FL_NEM_ISOLATE_LEADER:
    case FL_NEM_HALVES:
    case FL_NEM_RING:
    case FL_NEM_BRIDGE:
    case FL_NEM_ONE_WAY:
        if (!partition(f, n, o))
            return WHY("%s at %.3f s: no kind of a scenario cuts those links",
                       fl_nem_kind_name(f->kind), (double)f->start_ns / 1e9);
        if (sp->kind == FL_NEMESIS_PARTITION_HALVES && __builtin_popcount(mask) == 1 &&
            (f->kind == FL_NEM_ISOLATE_ONE || f->kind == FL_NEM_ISOLATE_LEADER)) {
            sp->kind =
                f->kind == FL_NEM_ISOLATE_ONE ? FL_NEMESIS_ISOLATE_ONE : FL_NEMESIS_ISOLATE_LEADER;
            memset(sp->side, 0, sizeof(sp->side));
            sp->nodes = mask << 1;
        }
        return 0;
    default: /* restart, throttle, drop, stall, clock, disk-*: as they are */
        o->real = (int)f->kind;
        o->nem = *f;
        o->nem.nodes_mask = mask;
        memset(o->nem.cut, 0, sizeof(o->nem.cut));
        sp->kind = FL_NEMESIS_NONE;
    }
    sp->nodes = mask << 1;
    sp->set |= FL_RUN_SPEC_TARGETS;
    return 0;
}

/* Cuts of single links one way only (one-way from several nodes): a one-way fault per link,
 * side by side (the nemesis runs them; the simulator, one fault per lane at a time, refuses
 * them at their line). Returns 1 if f is not such a cut. */
static int one_way_links(fl_scenario *s, const fl_nem_fault *f, char *why, size_t why_size)
{
    uint32_t n = s->run.nodes;
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++)
            if (a != b && cut(f, a, b) && cut(f, b, a))
                return 1;
    for (uint32_t a = 1; a <= n; a++)
        for (uint32_t b = 1; b <= n; b++) {
            if (a == b || !cut(f, a, b))
                continue;
            fl_scenario_fault o = {.real = -1};
            o.spec = (fl_run_fault_spec){.start_ns = f->start_ns,
                                         .length_ns = f->length_ns,
                                         .kind = FL_NEMESIS_ONE_WAY,
                                         .set = FL_RUN_SPEC_TARGETS,
                                         .from = (fl_node_id)a,
                                         .to = (fl_node_id)b};
            if (fl_scenario_add_fault(s, &o))
                return WHY("too many faults");
        }
    return 0;
}

/* Fault l as one scenario fault, or one per node and step when it rolled. */
static int faults(fl_scenario *s, const fl_nem_fault_log *l, char *why, size_t why_size)
{
    const fl_nem_fault *f = &l->fault;
    fl_scenario_fault probe = {.real = -1};
    if (f->kind == FL_NEM_ONE_WAY && !partition(f, s->run.nodes, &probe)) {
        int rc = one_way_links(s, f, why, why_size);
        if (rc <= 0)
            return rc;
    }
    uint32_t m = (uint32_t)__builtin_popcount(l->targets_mask);
    bool process = fl_nem_kind_on_process(f->kind);
    bool rolling = process && m > 1 && f->who == FL_NEM_WHO_ALL; /* faults.c: roll_cb */
    for (uint32_t step = 0, id = 1; id <= s->run.nodes; id++) {
        uint32_t bit = 1u << (id - 1);
        if (rolling && !(l->targets_mask & bit))
            continue;
        fl_scenario_fault o = {.real = -1};
        o.spec.start_ns = f->start_ns + (rolling ? step * (f->length_ns / m) : 0);
        o.spec.length_ns = rolling ? f->length_ns / m : f->length_ns;
        int rc = one(l, s->run.nodes, rolling ? bit : l->targets_mask, &o, why, why_size);
        if (!rc && o.real >= 0) {
            o.nem.start_ns = o.spec.start_ns;
            o.nem.length_ns = o.spec.length_ns;
        }
        if (!rc)
            rc = fl_scenario_add_fault(s, &o);
        if (rc)
            return rc == FL_EUNSUPPORTED ? rc : WHY("too many faults");
        if (!rolling)
            return 0;
        step++;
    }
    return 0;
}

int fl_scenario_from_nemesis(fl_scenario *s, const fl_nem_config *c, bool check_lin,
                             fl_time_ns check_timeout_ns, const fl_nem_fault_log *log, size_t n,
                             char *why, size_t why_size)
{
    fl_scenario_init(s);
    fl_run_config *r = &s->run;
    int rc = cluster(r, c, why, why_size);
    if (rc)
        return rc;
    workload(r, c);
    r->seed = c->seed;
    r->duration_ns = c->duration_ns;
    r->liveness_ns = c->liveness_ns;
    s->check_lin = check_lin;
    s->check_timeout_ns = check_timeout_ns;
    s->explicit_schedule = true;
    for (size_t i = 0; i < n && !rc; i++) /* a skipped fault did not run: not said */
        if (!log[i].skipped && log[i].targets_mask)
            rc = faults(s, &log[i], why, why_size);
    for (uint32_t i = 1; i < s->n_faults; i++) /* in order of start, as a file lists them */
        for (uint32_t j = i; j > 0 && s->faults[j].spec.start_ns < s->faults[j - 1].spec.start_ns;
             j--) {
            fl_scenario_fault t = s->faults[j];
            s->faults[j] = s->faults[j - 1];
            s->faults[j - 1] = t;
        }
    return rc;
}
