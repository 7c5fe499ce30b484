/* sim_eval.c: judging a simulated run and writing its results (sim_eval.h). */
#include "sim_eval.h"

#include "cli.h"
#include "faultline/json.h"
#include "faultline/cons.h"
#include "faultline/raft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the checker's memory in a run: a campaign runs several at once */
#define SIM_CHECK_MEMORY (1ull << 30)

/* Why a check ended undecided: a key out of memory or time, else (the whole-history search of
 * a pipelined history) the time limit if it was reached. */
static const char *unknown_why(const fl_lincheck_result *lr, fl_time_ns limit_ns, fl_time_ns ns)
{
    for (size_t i = 0; i < lr->part_count; i++)
        if (lr->parts[i].verdict == FL_LIN_UNKNOWN && lr->parts[i].unknown == FL_LIN_WHY_MEMORY)
            return "memory bound";
    return limit_ns && ns >= limit_ns ? "time limit" : "memory bound";
}

static void check_history(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                          sim_outcome *out)
{
    fl_lincheck_opts lo;
    fl_lincheck_opts_init(&lo);
    lo.model = c->workload == FL_RUN_REGISTER ? FL_MODEL_CAS_REGISTER : FL_MODEL_KV;
    lo.timeout_ns = o->check_timeout_ns;
    lo.memory_max_bytes = SIM_CHECK_MEMORY;
    lo.threads = o->campaign ? 1 : 0; /* a campaign already uses every core */
    fl_lincheck_result lr;
    fl_history_error err = {0};
    double t0 = wall_s();
    int rc = fl_lincheck_run(&r->history, &lo, &lr, &err);
    out->lin_ns = (fl_time_ns)((wall_s() - t0) * 1e9);
    out->checked = rc == 0;
    out->lin = rc == 0 ? lr.verdict : FL_LIN_UNKNOWN;
    out->lin_why = rc == 0 && lr.verdict == FL_LIN_UNKNOWN
                       ? unknown_why(&lr, lo.timeout_ns, lr.stats.elapsed_ns)
                       : NULL;
    if (rc == 0 && lr.verdict == FL_LIN_VIOLATION && lr.has_cex) {
        const char *key =
            lr.cex.key == FL_KEY_NONE ? "(none)" : fl_history_str(&r->history, lr.cex.key, NULL);
        snprintf(out->lin_key, sizeof(out->lin_key), "%s", key);
        if (lr.cex.blocked < lr.op_count) {
            const fl_op *op = &lr.ops[lr.cex.blocked];
            uint32_t ev = op->ret != FL_EV_NONE ? op->ret : op->call;
            out->lin_at_ns = ev < r->history.count ? r->history.events[ev].time : 0;
        }
    }
    fl_lincheck_result_free(&lr);
}

static void observe(const fl_run_config *c, const fl_run_result *r, sim_outcome *out)
{
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = &r->history;
    in.roles = r->roles;
    in.role_count = r->n_roles;
    in.service = r->services;
    in.service_count = r->n_services;
    in.faults = r->faults;
    in.fault_count = r->n_faults;
    in.counters.messages_sent = r->sim.msgs_sent;
    in.counters.bytes_sent = r->sim.bytes_sent;
    in.counters.fsyncs = r->fsyncs;
    in.counters.elections_started = r->elections;
    in.run_start_ns = 0;
    in.run_end_ns = c->duration_ns; /* the measured phase; the heal and probe come after */
    out->has_obs = fl_observe_compute(&in, &out->obs) == 0;
}

void sim_outcome_free(sim_outcome *oc)
{
    if (oc->has_obs)
        fl_observe_free(&oc->obs);
    oc->has_obs = false;
}

/* Time without a leader, and how long the cluster takes to elect a new leader after each
 * crash of the leader (the crash-leader nemesis, alone or in mix): from the crash, which
 * opens a leader outage, to that outage's end (observe.h): the comparison's recovery time.
 * Clients see more: those waiting on the crashed leader retry after --op-timeout. */
static void recovery(const fl_run_result *r, sim_outcome *out)
{
    const fl_observe_avail *a = &out->obs.avail;
    fl_time_ns first =
        a->first_leader_ns == FL_TIME_NEVER ? out->obs.duration_ns : a->first_leader_ns;
    out->leaderless_ns = first + (fl_time_ns)(a->outage_mean_ns * (double)a->outages) +
                         (a->leaderless_at_end ? a->leaderless_at_end_ns : 0);
    fl_time_ns total = 0;
    size_t k = 0; /* outages and faults are both in time order */
    for (size_t i = 0; i < r->n_faults; i++) {
        if (strcmp(r->faults[i].kind, "crash-leader"))
            continue;
        fl_time_ns t0 = r->faults[i].start_ns;
        while (k < a->outage_count && a->outage[k].start_ns < t0)
            k++;
        if (k == a->outage_count || a->outage[k].start_ns != t0 ||
            a->outage[k].end_ns == FL_TIME_NEVER)
            continue; /* no leader was crashed, or none came back */
        total += a->outage[k].end_ns - t0;
        out->crash_recoveries++;
    }
    out->crash_recovery_ns = out->crash_recoveries ? total / out->crash_recoveries : 0;
}

void sim_evaluate(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                  sim_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->safe = !r->violation;
    out->live = r->live;
    out->lin = FL_LIN_UNKNOWN;
    if (o->check_lin)
        check_history(o, c, r, out);
    observe(c, r, out);
    if (out->has_obs) { /* the observables already count these over the measured phase */
        out->leader_changes = out->obs.cost.leaderships;
        out->ok_per_s = out->obs.ok_per_s;
        recovery(r, out);
    }
    bool split = out->has_obs && out->obs.split.same_term > 0;
    if (!out->safe)
        snprintf(out->what, sizeof(out->what), "safety: %s", r->violation_reason);
    else if (split)
        snprintf(out->what, sizeof(out->what), "split brain: two leaders of one term");
    else if (out->checked && out->lin == FL_LIN_VIOLATION)
        snprintf(out->what, sizeof(out->what), "not linearizable: key %s", out->lin_key);
    else if (!out->live)
        snprintf(out->what, sizeof(out->what),
                 "liveness: no write succeeded within %.1f s of the heal",
                 (double)c->liveness_ns / 1e9);
    else if (r->disruptions)
        snprintf(out->what, sizeof(out->what), "disruption: %s", r->disruption);
    else
        snprintf(out->what, sizeof(out->what), "no violation");
    out->violation = !out->safe || split || (out->checked && out->lin == FL_LIN_VIOLATION) ||
                     !out->live || r->disruptions;
}

static const char *lin_text(const sim_outcome *oc)
{
    return oc->checked ? fl_verdict_name(oc->lin) : "not checked";
}

/* "nemesis mix", or the kinds of a fault plan. */
static void nemesis_text(const fl_run_config *c, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s %s", c->n_faults ? "faults" : "nemesis",
                     c->n_faults ? "" : fl_nemesis_name(c->nemesis));
    size_t used = n > 0 ? (size_t)n : 0;
    for (uint32_t i = 0; i < c->n_faults && used < cap; i++) {
        n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "",
                     fl_nemesis_name(c->faults[i].kind));
        used += n > 0 ? (size_t)n : 0;
    }
}

/* When the faults healed, or why they never did. */
static void heal_text(const fl_run_result *r, char *out, size_t cap)
{
    if (r->healed)
        snprintf(out, cap, "healed at %.1f s; %s", (double)r->heal_ns / 1e9,
                 r->live ? "writes succeeded again" : "NO write succeeded after the heal");
    else if (r->violation)
        snprintf(out, cap, "the run stopped at %.3f s on the violation, before the heal",
                 (double)r->violation_time_ns / 1e9);
    else
        snprintf(out, cap, "the run ended before the heal");
}

/* Raft's flow control and leader bounds as run (0 in the config stands for the core's
 * default). */
typedef struct flow {
    uint32_t inflight, batch, uncommitted, entry_bytes;
} flow;

/* Whether c runs the server's flow control and bounds, exactly (the swarm draws them in a
 * share of its worlds). */
static bool flow_of(const fl_run_config *c, flow *fw)
{
    fl_raft_config d;
    fl_raft_config_default(&d, 1);
    fw->inflight = c->inflight ? c->inflight : d.inflight_max;
    fw->batch = c->batch_entries ? c->batch_entries : d.batch_entries_max;
    fw->uncommitted = c->uncommitted_max ? c->uncommitted_max : d.uncommitted_max;
    fw->entry_bytes = c->entry_bytes_max ? c->entry_bytes_max : d.entry_bytes_max;
    return c->protocol == FL_CONS_RAFT && c->sends_at_batch_end &&
           fw->inflight == FL_RAFT_SERVER_INFLIGHT && fw->batch == FL_RAFT_SERVER_BATCH &&
           c->overlap_min == FL_RAFT_SERVER_OVERLAP_MIN &&
           fw->uncommitted == FL_RAFT_SERVER_UNCOMMITTED_MAX &&
           fw->entry_bytes == FL_RAFT_SERVER_ENTRY_BYTES_MAX;
}

/* Said when proposals go at the end of a batch, as the server's do: whether the rest is the
 * server's too, else how it differs. */
static void flow_line(FILE *f, const fl_run_config *c)
{
    flow fw;
    bool server = flow_of(c, &fw);
    fprintf(f,
            "flow     %sproposals sent at the batch's end, %u in flight, batches of %u, a "
            "second from %u entries, %u uncommitted at most, entries up to %u bytes",
            server ? "the server's flow control: " : "", fw.inflight, fw.batch, c->overlap_min,
            fw.uncommitted, fw.entry_bytes);
    if (!server)
        fprintf(f, " (the server: %u, %u, %u, %u, %u)", FL_RAFT_SERVER_INFLIGHT,
                FL_RAFT_SERVER_BATCH, FL_RAFT_SERVER_OVERLAP_MIN, FL_RAFT_SERVER_UNCOMMITTED_MAX,
                FL_RAFT_SERVER_ENTRY_BYTES_MAX);
    fprintf(f, "\n");
}

void sim_print_summary(FILE *f, const fl_run_config *c, const fl_run_result *r,
                       const sim_outcome *oc)
{
    double ops = r->ops_ok ? (double)r->ops_ok : 1;
    char nem[512], heal[160];
    nemesis_text(c, nem, sizeof(nem));
    heal_text(r, heal, sizeof(heal));
    fprintf(f, "run      seed %llu, %s, %u nodes, %.1f s virtual, %s workload, %s\n",
            (unsigned long long)c->seed, fl_cons_protocol_name(c->protocol), c->nodes,
            (double)c->duration_ns / 1e9, fl_run_workload_name(c->workload), nem);
    fprintf(f, "ops      %llu invoked: %llu ok, %llu fail, %llu info   %.0f ok/s\n",
            (unsigned long long)r->ops_invoked, (unsigned long long)r->ops_ok,
            (unsigned long long)r->ops_fail, (unsigned long long)r->ops_info, oc->ok_per_s);
    if (c->read_at != FL_RUN_READ_AT_LEADER || c->read_mode == FL_RUN_READ_LOCAL)
        fprintf(f, "reads    %llu answered by followers (%llu of them by learners)\n",
                (unsigned long long)r->follower_reads, (unsigned long long)r->learner_reads);
    fprintf(f, "leaders  %llu %s, %llu times a node became leader\n",
            (unsigned long long)r->elections,
            c->protocol == FL_CONS_PAXOS ? "ballots" : "elections",
            (unsigned long long)oc->leader_changes);
    fprintf(f, "faults   %zu fault intervals; %s\n", r->n_faults, heal);
    if (r->live)
        fprintf(f, "recover  %.1f ms from the heal to the first successful write\n",
                (double)r->recover_ns / 1e6);
    if (r->flp)
        sim_flp_print(f, c, r);
    fprintf(f, "cost     %.1f messages, %.0f bytes, %.2f fsyncs per successful op\n",
            (double)r->sim.msgs_sent / ops, (double)r->sim.bytes_sent / ops,
            (double)r->fsyncs / ops);
    if (c->protocol == FL_CONS_RAFT && c->sends_at_batch_end)
        flow_line(f, c);
    if (c->sync_inline)
        fprintf(f,
                "syncs    %llu held their node (--sync-inline), %llu events waited for one, "
                "%llu steps of a held node (a nemesis's call)\n",
                (unsigned long long)r->syncs_inline, (unsigned long long)r->sim.events_held,
                (unsigned long long)r->steps_held);
    if (r->snapshot_jobs_hung) /* fork-hang: what the snapshot watchdog made of it */
        fprintf(f,
                "snapshot %llu jobs hung (fork-hang), %llu given up by the watchdog (%s), %llu "
                "snapshots taken after one was given up\n",
                (unsigned long long)r->snapshot_jobs_hung, (unsigned long long)r->snapshot_timeouts,
                c->snapshot_timeout_ns ? "--snapshot-timeout" : "off",
                (unsigned long long)r->snapshots_after_timeout);
    fprintf(f, "checks   invariants after %llu events: %s; linearizability: %s (%.2f s%s%s)\n",
            (unsigned long long)r->sim.events, oc->safe ? "held" : "VIOLATED", lin_text(oc),
            (double)oc->lin_ns / 1e9, oc->lin_why ? ", " : "", oc->lin_why ? oc->lin_why : "");
    fprintf(f,
            "kv       replicas: %llu digests compared at equal indexes, %llu invariant checks, "
            "%llu snapshots restored and compared",
            (unsigned long long)r->kv_digests_compared, (unsigned long long)r->kv_invariant_checks,
            (unsigned long long)r->kv_snapshots_checked);
    if (c->workload == FL_RUN_REDIS)
        fprintf(f, "; %llu Redis-shaped commands", (unsigned long long)r->side_ops);
    fprintf(f, "\n");
    if (oc->has_obs) {
        fprintf(f, "\n");
        fl_observe_print_summary(&oc->obs, f);
    }
}

static void write_config(fl_json *j, const fl_run_config *c)
{
    fl_json_key(j, "config");
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "protocol", fl_cons_protocol_name(c->protocol));
    fl_json_kv_uint(j, "nodes", c->nodes);
    fl_json_kv_uint(j, "seed", c->seed);
    fl_json_kv_uint(j, "duration_ns", c->duration_ns);
    fl_json_kv_str(j, "workload", fl_run_workload_name(c->workload));
    fl_json_kv_str(j, "read_mode", fl_run_read_mode_name(c->read_mode));
    fl_json_kv_str(j, "read_at", fl_run_read_at_name(c->read_at));
    fl_json_kv_uint(j, "lease_drift_ppm", c->lease_drift_ppm);
    fl_json_kv_uint(j, "skew_ppm", c->skew_ppm);
    fl_json_kv_bool(j, "check_quorum", !c->no_check_quorum);
    fl_json_kv_bool(j, "pre_vote", !c->no_pre_vote);
    if (c->protocol == FL_CONS_PAXOS) {
        fl_json_kv_uint(j, "q1", c->q1); /* 0: a majority */
        fl_json_kv_uint(j, "q2", c->q2);
        fl_json_kv_bool(j, "unsafe_quorums", c->unsafe_quorums);
        fl_json_kv_bool(j, "backoff", !c->no_backoff);
    }
    fl_json_kv_uint(j, "clients", c->rate > 0 ? 0 : c->clients);
    fl_json_kv_uint(j, "pipeline", c->pipeline);
    fl_json_kv_double(j, "rate", c->rate);
    fl_json_kv_str(j, "nemesis", fl_nemesis_name(c->nemesis));
    fl_json_kv_uint(j, "nemesis_interval_ns", c->nemesis_interval_ns);
    fl_json_kv_double(j, "loss", c->loss);
    fl_json_kv_double(j, "dup", c->dup);
    fl_json_kv_uint(j, "delay_spike_ns", c->delay_ns);
    fl_json_kv_uint(j, "clock_offset_ns", c->clock_offset_ns);
    fl_json_kv_double(j, "drift_ppm", c->clock_drift_ppm);
    fl_json_kv_uint(j, "op_timeout_ns", c->op_timeout_ns);
    fl_json_kv_uint(j, "op_deadline_ns", c->op_deadline_ns);
    fl_json_kv_uint(j, "liveness_ns", c->liveness_ns);
    fl_json_kv_uint(j, "net_delay_ns", c->net_delay_ns);
    fl_json_kv_uint(j, "snapshot_every", c->snapshot_every);
    fl_json_kv_bool(j, "snapshot_phases", !c->snapshot_in_step);
    fl_json_kv_bool(j, "snapshot_fork", !c->snapshot_sync);
    fl_json_kv_bool(j, "sync_inline", c->sync_inline);
    fl_json_kv_uint(j, "wal_segment_bytes", c->wal_segment_bytes);
    fl_json_key(j, "faults");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < c->n_faults; i++) {
        fl_json_obj_begin(j);
        fl_json_kv_str(j, "kind", fl_nemesis_name(c->faults[i].kind));
        fl_json_kv_uint(j, "interval_ns", c->faults[i].interval_ns);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_kv_uint(j, "batch_entries", c->batch_entries);
    fl_json_kv_uint(j, "inflight", c->inflight);
    fl_json_kv_bool(j, "sends_at_batch_end", c->sends_at_batch_end);
    fl_json_kv_uint(j, "overlap_min", c->overlap_min);
    fl_json_kv_uint(j, "uncommitted_max", c->uncommitted_max); /* 0: the core's 512 */
    fl_json_kv_uint(j, "entry_bytes_max", c->entry_bytes_max); /* 0: the cores' 1 MiB */
    fl_json_kv_uint(j, "keys", c->keys);
    fl_json_kv_uint(j, "reads_pct", c->reads_pct);
    fl_json_kv_uint(j, "cas_pct", c->cas_pct);
    fl_json_kv_bool(j, "crash_loses_unsynced", c->crash_lose_unsynced);
    fl_json_kv_double(j, "torn", c->torn);
    fl_json_kv_bool(j, "slow_disks", c->slow_disks);
    fl_json_key(j, "mutants");
    fl_json_arr_begin(j);
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (c->mutants & bit)
            fl_json_str(j, fl_cons_mutant_name(c->protocol, bit));
    const char *const *names;
    size_t n = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n; i++)
        if (fl_run_mutant_has(c, names[i]))
            fl_json_str(j, names[i]);
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void write_verdict(fl_json *j, const fl_run_result *r, const sim_outcome *oc)
{
    fl_json_key(j, "verdict");
    fl_json_obj_begin(j);
    fl_json_kv_bool(j, "violation", oc->violation);
    fl_json_kv_str(j, "summary", oc->what);
    fl_json_kv_bool(j, "invariants_held", oc->safe);
    if (!oc->safe) {
        fl_json_kv_str(j, "invariant_violation", r->violation_reason);
        fl_json_kv_uint(j, "violation_event", r->violation_event);
        fl_json_kv_uint(j, "violation_time_ns", r->violation_time_ns);
        fl_json_kv_str(j, "trace_tail", r->trace_tail);
    }
    fl_json_kv_str(j, "linearizability", lin_text(oc));
    if (oc->lin == FL_LIN_VIOLATION)
        fl_json_kv_str(j, "nonlinearizable_key", oc->lin_key);
    fl_json_kv_uint(j, "check_wall_ns", oc->lin_ns);
    if (oc->lin_why)
        fl_json_kv_str(j, "check_unknown", oc->lin_why);
    fl_json_kv_bool(j, "healed", r->healed); /* a safety violation stops the run before */
    fl_json_kv_bool(j, "live", oc->live);
    fl_json_kv_uint(j, "disruptions", r->disruptions);
    fl_json_kv_uint(j, "heal_ns", r->heal_ns);
    if (oc->live)
        fl_json_kv_uint(j, "recover_ns", r->recover_ns);
    fl_json_obj_end(j);
}

static void write_counts(fl_json *j, const fl_run_result *r, const sim_outcome *oc)
{
    fl_json_key(j, "counts");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "ops_invoked", r->ops_invoked);
    fl_json_kv_uint(j, "ops_ok", r->ops_ok);
    fl_json_kv_uint(j, "ops_fail", r->ops_fail);
    fl_json_kv_uint(j, "ops_info", r->ops_info);
    fl_json_kv_uint(j, "follower_reads", r->follower_reads);
    fl_json_kv_uint(j, "learner_reads", r->learner_reads);
    fl_json_kv_uint(j, "arrivals_dropped", r->arrivals_dropped);
    fl_json_kv_uint(j, "side_ops", r->side_ops);
    fl_json_kv_uint(j, "kv_digests_compared", r->kv_digests_compared);
    fl_json_kv_uint(j, "kv_invariant_checks", r->kv_invariant_checks);
    fl_json_kv_uint(j, "kv_snapshots_checked", r->kv_snapshots_checked);
    fl_json_kv_double(j, "ok_per_s", oc->ok_per_s);
    fl_json_kv_uint(j, "elections", r->elections);
    fl_json_kv_uint(j, "leader_changes", oc->leader_changes);
    fl_json_kv_uint(j, "events", r->sim.events);
    fl_json_kv_uint(j, "messages_sent", r->sim.msgs_sent);
    fl_json_kv_uint(j, "messages_delivered", r->sim.msgs_delivered);
    fl_json_kv_uint(j, "bytes_sent", r->sim.bytes_sent);
    fl_json_kv_uint(j, "fsyncs", r->fsyncs);
    if (r->syncs_inline ||
        r->sim.events_held) { /* --sync-inline: other records stay as they were */
        fl_json_kv_uint(j, "syncs_inline", r->syncs_inline);
        fl_json_kv_uint(j, "events_held", r->sim.events_held);
    }
    if (r->snapshot_jobs_hung) { /* fork-hang: other records stay as they were */
        fl_json_kv_uint(j, "snapshot_jobs_hung", r->snapshot_jobs_hung);
        fl_json_kv_uint(j, "snapshot_timeouts", r->snapshot_timeouts);
        fl_json_kv_uint(j, "snapshots_after_timeout", r->snapshots_after_timeout);
    }
    fl_json_kv_uint(j, "end_ns", r->end_ns);
    char hash[24];
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)r->trace_hash);
    fl_json_kv_str(j, "trace_hash", hash);
    fl_json_obj_end(j);
}

static void write_faults(fl_json *j, const fl_run_result *r)
{
    fl_json_key(j, "faults");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < r->n_faults; i++) {
        fl_json_obj_begin(j);
        fl_json_kv_str(j, "kind", r->faults[i].kind);
        fl_json_kv_str(j, "targets", r->faults[i].targets);
        fl_json_kv_uint(j, "start_ns", r->faults[i].start_ns);
        fl_json_kv_uint(j, "end_ns", r->faults[i].end_ns);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
}

void sim_write_record(fl_buf *out, const fl_run_config *c, const fl_run_result *r,
                      const sim_outcome *oc, const char *repro, const char *world)
{
    fl_json j;
    fl_json_init(&j, out, false);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", c->seed);
    write_verdict(&j, r, oc);
    write_counts(&j, r, oc);
    if (r->flp)
        sim_flp_json(&j, r);
    if (oc->has_obs) {
        const fl_observables *ob = &oc->obs;
        fl_json_key(&j, "observed");
        fl_json_obj_begin(&j);
        fl_json_kv_uint(&j, "ok_p50_ns", fl_hist_percentile(ob->latency.ok, 50));
        fl_json_kv_uint(&j, "ok_p99_ns", fl_hist_percentile(ob->latency.ok, 99));
        fl_json_kv_uint(&j, "leaderless_ns", oc->leaderless_ns);
        fl_json_kv_uint(&j, "crash_recoveries", oc->crash_recoveries);
        fl_json_kv_uint(&j, "crash_recovery_ns", oc->crash_recovery_ns);
        fl_json_kv_double(&j, "ok_fraction", ob->avail.ok_fraction);
        fl_json_kv_uint(&j, "write_gap_max_ns", ob->avail.write_gap_max_ns);
        fl_json_kv_uint(&j, "split_same_term", ob->split.same_term);
        fl_json_kv_uint(&j, "stale_leader_intervals", ob->split.stale);
        fl_json_kv_uint(&j, "stale_reads", ob->stale.stale);
        fl_json_obj_end(&j);
    }
    flow fw;
    if (c->protocol == FL_CONS_RAFT && c->sends_at_batch_end) /* other records as they were */
        fl_json_kv_str(&j, "flow", flow_of(c, &fw) ? "server" : "batch-end");
    if (repro)
        fl_json_kv_str(&j, "reproduce", repro);
    if (world)
        fl_json_kv_str(&j, "world", world);
    fl_json_obj_end(&j);
}

void sim_write_results_members(fl_json *j, const fl_run_result *r, const sim_outcome *oc)
{
    write_verdict(j, r, oc);
    write_counts(j, r, oc);
    write_faults(j, r);
    if (r->flp)
        sim_flp_json(j, r);
    if (oc->has_obs) {
        fl_json_key(j, "observables");
        fl_observe_write_json(&oc->obs, j);
    }
}

int sim_write_file(const char *dir, const char *name, const fl_buf *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "faultline: cannot write %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

int sim_write_outputs(const char *dir, const fl_run_config *c, const fl_run_result *r,
                      const sim_outcome *oc)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", c->seed);
    char repro[1024];
    sim_opts_repro(c, repro, sizeof(repro));
    fl_json_kv_str(&j, "reproduce", repro);
    write_config(&j, c);
    sim_write_results_members(&j, r, oc);
    fl_json_obj_end(&j);
    fl_buf_put_u8(&b, '\n');
    int rc = b.err ? -1 : sim_write_file(dir, "results.json", &b);
    fl_buf_reset(&b);
    if (rc == 0 && fl_history_write_jsonl(&r->history, &b) == 0)
        rc = sim_write_file(dir, "history.jsonl", &b);
    fl_buf_reset(&b);
    if (rc == 0 && fl_timeline_write_jsonl(&r->timeline, &b) == 0)
        rc = sim_write_file(dir, "timeline.jsonl", &b);
    fl_buf_free(&b);
    return rc ? rc : fl_cli_write_report(dir, NULL, true);
}
