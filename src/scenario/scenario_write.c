/* scenario_write.c: a scenario as YAML (fl_scenario_write, scenario.h), every setting spelled
 * out so that the file says everything the run did and reads back to the same scenario:
 * durations exact (in the largest unit that divides them), numbers in the shortest form that
 * reads back to the same double, each fault of a schedule on one line. Needs no library. */
#include "scenario_int.h"

#include "faultline/cons.h"
#include "faultline/host.h" /* the snapshot watchdog's default */
#include "faultline/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_dur(fl_buf *b, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    if (a % FL_NS_PER_S == 0)
        fl_buf_printf(b, "%s%llus", sign, (unsigned long long)(a / FL_NS_PER_S));
    else if (a % FL_NS_PER_MS == 0)
        fl_buf_printf(b, "%s%llums", sign, (unsigned long long)(a / FL_NS_PER_MS));
    else if (a % FL_NS_PER_US == 0)
        fl_buf_printf(b, "%s%lluus", sign, (unsigned long long)(a / FL_NS_PER_US));
    else
        fl_buf_printf(b, "%s%lluns", sign, (unsigned long long)a);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void put_num(fl_buf *b, double v)
{
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof(t), "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            break;
    }
    fl_buf_put_str(b, t);
}

static void put_nodes(fl_buf *b, uint32_t mask)
{
    fl_buf_put_str(b, "[");
    for (uint32_t id = 1, first = 1; id <= FL_RAFT_NODES_MAX; id++)
        if ((mask >> id) & 1) {
            fl_buf_printf(b, "%s%u", first ? "" : ", ", id);
            first = 0;
        }
    fl_buf_put_str(b, "]");
}

static void put_targets(fl_buf *b, const fl_scenario_fault *f, uint32_t nodes)
{
    const fl_run_fault_spec *sp = &f->spec;
    fl_buf_put_str(b, ", targets: ");
    switch (sr_shape_of(f)) {
    case SHAPE_SIDES:
        fl_buf_put_str(b, "[");
        for (uint8_t side = 1, n = 0; side <= FL_RAFT_NODES_MAX; side++) {
            uint32_t mask = 0;
            for (uint32_t id = 1; id <= FL_RAFT_NODES_MAX; id++)
                mask |= (uint32_t)(sp->side[id] == side) << id;
            if (!mask)
                continue;
            fl_buf_put_str(b, n++ ? ", " : "");
            put_nodes(b, mask);
        }
        fl_buf_put_str(b, "]");
        break;
    case SHAPE_LINK:
        fl_buf_printf(b, "{from: %u", sp->from);
        if (sp->to)
            fl_buf_printf(b, ", to: %u", sp->to);
        fl_buf_put_str(b, "}");
        break;
    default:
        if (!sp->n_order) {
            put_nodes(b, sp->nodes);
            break;
        }
        fl_buf_put_str(b, "[");
        for (uint32_t i = 0; i < sp->n_order && i < FL_RAFT_NODES_MAX; i++)
            fl_buf_printf(b, "%s%u", i ? ", " : "", sp->order[i]);
        fl_buf_put_str(b, "]");
    }
    (void)nodes;
}

/* The per-node clock values of a clock-offset or clock-drift fault. */
static void put_clocks(fl_buf *b, const fl_run_fault_spec *sp, uint32_t nodes)
{
    bool jumps = sp->kind == FL_NEMESIS_CLOCK_OFFSET;
    fl_buf_put_str(b, jumps ? ", offsets: [" : ", drifts_ppm: [");
    for (uint32_t i = 0; i < nodes; i++) {
        fl_buf_put_str(b, i ? ", " : "");
        if (jumps)
            put_dur(b, sp->offset_ns[i]);
        else
            put_num(b, sp->node_ppm[i]);
    }
    fl_buf_put_str(b, "]");
}

static void put_real(fl_buf *b, const fl_scenario_fault *f)
{
    if (f->real == FL_NEM_THROTTLE)
        fl_buf_printf(b, ", rate: %llu", (unsigned long long)f->nem.rate_bps);
    if (f->real == FL_NEM_CLOCK) {
        fl_buf_put_str(b, ", clock_offset: ");
        put_dur(b, f->nem.clock_offset_ns);
        fl_buf_put_str(b, ", clock_rate: ");
        put_num(b, f->nem.clock_rate ? f->nem.clock_rate : 1);
    }
}

static void put_fault(fl_buf *b, const fl_scenario_fault *f, uint32_t nodes)
{
    const fl_run_fault_spec *sp = &f->spec;
    fl_buf_put_str(b, "    - {start: ");
    put_dur(b, (int64_t)sp->start_ns);
    fl_buf_put_str(b, ", length: ");
    put_dur(b, (int64_t)sp->length_ns);
    fl_buf_printf(b, ", kind: %s", fl_scenario_fault_kind(f));
    if (sp->set & FL_RUN_SPEC_TARGETS && sr_shape_of(f) != SHAPE_NONE)
        put_targets(b, f, nodes);
    if (sp->set & FL_RUN_SPEC_P) {
        fl_buf_put_str(b, ", p: ");
        put_num(b, sp->p);
    }
    if (sp->set & FL_RUN_SPEC_DELAY) {
        fl_buf_put_str(b, ", delay: ");
        put_dur(b, (int64_t)sp->delay_ns);
    }
    if (f->nem.jitter_ns && f->spec.kind == FL_NEMESIS_DELAY) {
        fl_buf_put_str(b, ", jitter: ");
        put_dur(b, (int64_t)f->nem.jitter_ns);
    }
    if (sp->set & FL_RUN_SPEC_DRIFT) {
        fl_buf_put_str(b, ", drift_ppm: ");
        put_num(b, sp->drift_ppm);
        if (sp->set & FL_RUN_SPEC_TARGETS)
            fl_buf_printf(b, ", slow: %u", sp->from);
    }
    if (sp->set & FL_RUN_SPEC_CLOCKS)
        put_clocks(b, sp, nodes);
    if (sp->set & FL_RUN_SPEC_RESTART) {
        fl_buf_put_str(b, ", restart_after: ");
        put_dur(b, (int64_t)sp->restart_ns);
    }
    put_real(b, f);
    fl_buf_put_str(b, "}\n");
}

static void put_faults(fl_buf *b, const fl_scenario *s)
{
    const fl_run_config *c = &s->run;
    fl_buf_put_str(b, "faults:\n  intensities: {loss: ");
    put_num(b, c->loss);
    fl_buf_put_str(b, ", dup: ");
    put_num(b, c->dup);
    fl_buf_put_str(b, ", delay: ");
    put_dur(b, (int64_t)c->delay_ns);
    fl_buf_put_str(b, ", clock_offset: ");
    put_dur(b, (int64_t)c->clock_offset_ns);
    fl_buf_put_str(b, ", drift_ppm: ");
    put_num(b, c->clock_drift_ppm);
    fl_buf_put_str(b, "}\n");
    if (s->explicit_schedule || (c->nemesis == FL_NEMESIS_NONE && !c->n_faults)) {
        fl_buf_put_str(b, s->n_faults ? "  schedule:\n" : "  schedule: []\n");
        for (uint32_t i = 0; i < s->n_faults; i++)
            put_fault(b, &s->faults[i], c->nodes);
        return;
    }
    if (c->n_faults) {
        fl_buf_put_str(b, "  plan:\n");
        for (uint32_t i = 0; i < c->n_faults; i++) {
            fl_buf_printf(b, "    - {kind: %s, interval: ", fl_nemesis_name(c->faults[i].kind));
            put_dur(b, (int64_t)c->faults[i].interval_ns);
            fl_buf_put_str(b, "}\n");
        }
    } else {
        fl_buf_printf(b, "  generate: %s\n  interval: ", fl_nemesis_name(c->nemesis));
        put_dur(b, (int64_t)c->nemesis_interval_ns);
        fl_buf_put_str(b, "\n");
    }
    if (c->nemesis_seed)
        fl_buf_printf(b, "  seed: %llu\n", (unsigned long long)c->nemesis_seed);
    if (c->gst_ns) {
        fl_buf_put_str(b, "  gst: ");
        put_dur(b, (int64_t)c->gst_ns);
        fl_buf_put_str(b, "\n");
    }
}

static void put_cluster(fl_buf *b, const fl_run_config *c)
{
    fl_buf_printf(
        b,
        "cluster:\n  protocol: %s\n  nodes: %u\n  read_mode: %s\n  read_at: %s\n"
        "  lease_drift_ppm: %u\n  snapshot_every: %u\n  snapshot_phases: %s\n"
        "  snapshot_fork: %s\n  sync_inline: %s\n  pre_vote: %s\n  check_quorum: %s\n  batch: %u\n"
        "  inflight: %u\n",
        c->protocol == FL_CONS_PAXOS ? "paxos" : "raft", c->nodes,
        fl_run_read_mode_name(c->read_mode), fl_run_read_at_name(c->read_at), c->lease_drift_ppm,
        c->snapshot_every, c->snapshot_in_step ? "false" : "true",
        c->snapshot_sync ? "false" : "true", c->sync_inline ? "true" : "false",
        c->no_pre_vote ? "false" : "true", c->no_check_quorum ? "false" : "true", c->batch_entries,
        c->inflight);
    if (c->sends_at_batch_end || c->overlap_min) /* the server's flow control; else as before */
        fl_buf_printf(b, "  sends_at_batch_end: %s\n  overlap_min: %u\n",
                      c->sends_at_batch_end ? "true" : "false", c->overlap_min);
    if (c->snapshot_timeout_ns != FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT) { /* else as before */
        fl_buf_put_str(b, "  snapshot_timeout: ");
        put_dur(b, (int64_t)c->snapshot_timeout_ns);
        fl_buf_put_str(b, "\n");
    }
    if (c->uncommitted_max) /* the server's leader bounds; else as before */
        fl_buf_printf(b, "  uncommitted_max: %u\n", c->uncommitted_max);
    if (c->entry_bytes_max)
        fl_buf_printf(b, "  entry_bytes_max: %u\n", c->entry_bytes_max);
    fl_buf_put_str(b, "  mutants: [");
    int n = 0;
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (c->mutants & bit)
            fl_buf_printf(b, "%s%s", n++ ? ", " : "", fl_cons_mutant_name(c->protocol, bit));
    const char *const *names;
    size_t count = fl_run_mutant_list(&names);
    for (size_t i = 0; i < count; i++)
        if (fl_run_mutant_has(c, names[i]))
            fl_buf_printf(b, "%s%s", n++ ? ", " : "", names[i]);
    fl_buf_put_str(b, "]\n");
    if (c->protocol == FL_CONS_PAXOS) /* 0: a majority */
        fl_buf_printf(b, "  q1: %u\n  q2: %u\n  unsafe_quorums: %s\n  backoff: %s\n", c->q1, c->q2,
                      c->unsafe_quorums ? "true" : "false", c->no_backoff ? "false" : "true");
}

static void put_workload(fl_buf *b, const fl_run_config *c)
{
    fl_buf_printf(b, "workload:\n  kind: %s\n  clients: %u\n  pipeline: %u\n  rate: ",
                  fl_run_workload_name(c->workload), c->clients, c->pipeline);
    put_num(b, c->rate);
    fl_buf_printf(b,
                  "\n  keys: %u\n  reads: %u\n  cas: %u\n  value_size: %u\n  ops: %llu\n"
                  "  op_timeout: ",
                  c->keys, c->reads_pct, c->cas_pct, c->value_size, (unsigned long long)c->ops_max);
    put_dur(b, (int64_t)c->op_timeout_ns);
    fl_buf_put_str(b, "\n  op_deadline: ");
    put_dur(b, (int64_t)c->op_deadline_ns);
    fl_buf_put_str(b, "\n  start: ");
    put_dur(b, (int64_t)c->ops_start_ns);
    fl_buf_put_str(b, "\n");
}

int fl_scenario_write(const fl_scenario *s, const char *comment, fl_buf *out)
{
    const fl_run_config *c = &s->run;
    for (const char *p = comment; p && *p;) {
        size_t n = strcspn(p, "\n");
        fl_buf_printf(out, "# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fl_buf_printf(out, "version: 1\nseed: %llu\nduration: ", (unsigned long long)c->seed);
    put_dur(out, (int64_t)c->duration_ns);
    fl_buf_put_str(out, "\n");
    put_cluster(out, c);
    fl_buf_put_str(out, "network:\n  delay: ");
    put_dur(out, (int64_t)c->net_delay_ns);
    fl_buf_printf(
        out,
        "\nclocks:\n  skew_ppm: %u\ndisk:\n  lose_unsynced: %s\n  slow: %s\n  torn: ", c->skew_ppm,
        c->crash_lose_unsynced ? "true" : "false", c->slow_disks ? "true" : "false");
    put_num(out, c->torn);
    fl_buf_put_str(out, "\n");
    if (c->wal_segment_bytes) /* a swarm world's small segments; else as before */
        fl_buf_printf(out, "  wal_segment_bytes: %u\n", c->wal_segment_bytes);
    put_workload(out, c);
    put_faults(out, s);
    fl_buf_printf(out,
                  "checks:\n  linearizability: %s\n  timeout: ", s->check_lin ? "true" : "false");
    put_dur(out, (int64_t)s->check_timeout_ns);
    fl_buf_put_str(out, "\n  liveness: ");
    put_dur(out, (int64_t)c->liveness_ns);
    fl_buf_put_str(out, "\n");
    return out->err ? -1 : 0;
}
