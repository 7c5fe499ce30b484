/* nemesis_out.c: judging and reporting a real run (nemesis_out.h). The judging is the
 * simulator's (sim_evaluate: observables, linearizability, same-term split brain, liveness)
 * on an fl_run_result filled from the real run; a real run has no invariant checker, so
 * "invariants_held" is true by default and results.json says "invariants_checked": false. */
#include "cli/nemesis_out.h"

#include "cli/cli.h"
#include "cli/sim_eval.h"
#include "faultline/json.h"

#include <stdio.h>
#include <string.h>

static const char *target_name(const fl_nem_config *c)
{
    return c->target == FL_NEM_TARGET_ETCD  ? "etcd"
           : c->target == FL_NEM_TARGET_CMD ? "cmd"
                                            : "faultline";
}

static void as_run(const fl_nem_config *c, fl_nem_result *r, fl_run_config *rc, fl_run_result *rr)
{
    fl_run_config_default(rc);
    rc->seed = c->seed;
    rc->nodes = c->nodes;
    rc->duration_ns = c->duration_ns;
    rc->workload = c->workload;
    rc->clients = c->clients;
    rc->rate = c->rate;
    rc->op_timeout_ns = c->op_timeout_ns;
    rc->op_deadline_ns = c->op_timeout_ns;
    rc->liveness_ns = c->liveness_ns;
    memset(rr, 0, sizeof(*rr));
    rr->history = r->history; /* borrowed: never freed through rr */
    rr->roles = r->rec.roles;
    rr->n_roles = r->rec.role_count;
    rr->services = r->rec.service;
    rr->n_services = r->rec.service_count;
    rr->faults = r->rec.faults;
    rr->n_faults = r->rec.fault_count;
    rr->heal_ns = r->heal_ns;
    rr->live = r->live;
    rr->recover_ns = r->recover_ns;
    rr->elections =
        r->last_term >= r->first_term && r->first_term ? r->last_term - r->first_term : 0;
    rr->ops_invoked = r->ops_invoked;
    rr->ops_ok = r->ops_ok;
    rr->ops_fail = r->ops_fail;
    rr->ops_info = r->ops_info;
    rr->arrivals_dropped = r->arrivals_dropped;
    rr->sim.bytes_sent = r->proxy_bytes;
    rr->end_ns = r->heal_ns;
}

static bool is_write(uint8_t f)
{
    return f != FL_F_READ && f != FL_F_GET;
}

/* Recovery after one fault: from its end to the first successful write completed after it;
 * FL_TIME_NEVER if none came (or it never ended). The history is in time order. */
static fl_time_ns recovery(const fl_nem_result *r, const fl_nem_fault_log *l)
{
    if (!l->ended_ns)
        return FL_TIME_NEVER;
    for (size_t i = 0; i < r->history.count; i++) {
        const fl_event *e = &r->history.events[i];
        if (e->type == FL_EV_OK && is_write(e->f) && e->time >= l->ended_ns)
            return e->time - l->ended_ns;
    }
    return FL_TIME_NEVER;
}

/* The compaction check (src/nemesis/compact.c): a node whose compaction stalled is a
 * violation, named after the simulator's own checks (the first violation found names the
 * run's verdict). */
static void judge_compaction(const fl_nem_config *c, const fl_nem_result *r, sim_outcome *oc)
{
    for (uint32_t i = 0; i < c->nodes; i++) {
        const fl_nem_compaction *k = &r->node[i].compaction;
        if (!k->stalled)
            continue;
        if (!oc->violation)
            snprintf(oc->what, sizeof(oc->what),
                     "compaction stalled: node %u took no snapshot for %.1f s with over %d x %llu "
                     "entries past its snapshot (at %llu; applied %llu at the end)",
                     i + 1, (double)c->compaction_stall_ns / 1e9, FL_NEM_COMPACT_FACTOR,
                     (unsigned long long)k->every, (unsigned long long)k->snapshot_index,
                     (unsigned long long)k->applied_index);
        oc->violation = true;
        return;
    }
}

/* Entries applied past the last snapshot at the end (0 while an install catches up). */
static unsigned long long entries_past(const fl_nem_compaction *k)
{
    return k->applied_index > k->snapshot_index ? k->applied_index - k->snapshot_index : 0;
}

static void print_compaction(const fl_nem_compaction *k)
{
    if (!k->known) {
        printf("      compaction: not reported\n");
        return;
    }
    if (!k->every) {
        printf("      compaction: snapshots off\n");
        return;
    }
    printf("      compaction: %llu snapshots (%llu failed, %llu timed out), the last at %llu, "
           "applied %llu: %llu entries past it (most %llu; every %llu); over the bound for %.1f s "
           "at most%s%s\n",
           (unsigned long long)k->snapshots_taken, (unsigned long long)k->failures,
           (unsigned long long)k->timeouts, (unsigned long long)k->snapshot_index,
           (unsigned long long)k->applied_index, entries_past(k),
           (unsigned long long)k->entries_past_max, (unsigned long long)k->every,
           (double)k->overdue_max_ns / 1e9, k->up_at_end ? "" : " (down at the end)",
           k->stalled ? ": STALLED" : "");
}

static void print_summary(const fl_nem_config *c, const fl_nem_result *r, const fl_run_result *rr,
                          const sim_outcome *oc)
{
    printf("run      %u %s nodes (%s), %.1f s, %s workload, %u clients%s, seed %llu\n", c->nodes,
           target_name(c), c->net == FL_NEM_NET_NETNS ? "netns" : "proxy",
           (double)c->duration_ns / 1e9, fl_run_workload_name(c->workload), c->clients,
           c->rate > 0 ? " (open loop)" : "", (unsigned long long)c->seed);
    printf("ops      %llu invoked: %llu ok, %llu fail, %llu info   %.0f ok/s\n",
           (unsigned long long)r->ops_invoked, (unsigned long long)r->ops_ok,
           (unsigned long long)r->ops_fail, (unsigned long long)r->ops_info, oc->ok_per_s);
    printf("leaders  terms %llu..%llu, %llu times a node became leader (polled %llu times, "
           "%llu answers)\n",
           (unsigned long long)r->first_term, (unsigned long long)r->last_term,
           (unsigned long long)oc->leader_changes, (unsigned long long)r->status_polls,
           (unsigned long long)r->status_answers);
    printf("faults   %zu scheduled; healed at %.1f s; %s\n", r->n_log, (double)r->heal_ns / 1e9,
           r->live ? "writes succeeded again" : "NO write succeeded after the heal");
    if (r->live)
        printf("recover  %.1f ms from the heal to the first successful write\n",
               (double)r->recover_ns / 1e6);
    printf("checks   linearizability: %s (%.2f s)\n",
           oc->checked ? fl_verdict_name(oc->lin) : "not checked", (double)oc->lin_ns / 1e9);
    if (oc->has_obs) {
        printf("\n");
        fl_observe_print_summary(&oc->obs, stdout);
    }
    printf("\nWhat the nemesis did:\n");
    for (size_t i = 0; i < r->n_log; i++) {
        const fl_nem_fault_log *l = &r->log[i];
        printf("  %6.1f s - %6.1f s  %-14s", (double)l->fault.start_ns / 1e9,
               (double)(l->fault.start_ns + l->fault.length_ns) / 1e9,
               fl_nem_kind_name(l->fault.kind));
        for (uint32_t a = 1; a <= c->nodes; a++)
            if (l->targets_mask & (1u << (a - 1)))
                printf(" n%u", a);
        fl_time_ns rec = recovery(r, l);
        if (rec != FL_TIME_NEVER)
            printf("  (a write %.1f ms after the end)", (double)rec / 1e6);
        printf("%s%s\n", l->note[0] ? "  " : "", l->note);
    }
    printf("\nNodes:\n");
    for (uint32_t i = 0; i < c->nodes; i++) {
        const fl_nem_node_report *n = &r->node[i];
        printf("  n%u  %u starts, %u exits on its own, %u slow to answer after a start; log %s\n",
               i + 1, n->starts, n->unexpected_exits, n->slow_restarts, n->log);
        if (n->last_error[0])
            printf("      last error: %s\n", n->last_error);
        print_compaction(&n->compaction);
    }
    (void)rr;
}

static void write_config(fl_json *j, const fl_nem_config *c, const nem_out_opts *o)
{
    fl_json_key(j, "config");
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "protocol", c->target == FL_NEM_TARGET_ETCD ? "etcd-raft" : "raft");
    fl_json_kv_str(j, "target", target_name(c));
    fl_json_kv_str(j, "net", c->net == FL_NEM_NET_NETNS ? "netns" : "proxy");
    fl_json_kv_str(j, "client", c->client == FL_NEM_CLIENT_ETCD ? "etcd" : "resp");
    fl_json_kv_uint(j, "nodes", c->nodes);
    fl_json_kv_uint(j, "seed", c->seed);
    fl_json_kv_uint(j, "duration_ns", c->duration_ns);
    fl_json_kv_str(j, "workload", fl_run_workload_name(c->workload));
    fl_json_kv_uint(j, "clients", c->rate > 0 ? 0 : c->clients);
    fl_json_kv_double(j, "rate", c->rate);
    fl_json_kv_uint(j, "keys", c->keys);
    fl_json_kv_double(j, "read_share", c->read_share);
    fl_json_kv_double(j, "cas_share", c->cas_share);
    char kinds[256] = ""; /* the kinds in order of first use: "kill,pause,isolate-leader" */
    for (size_t i = 0; i < c->n_faults; i++) {
        const char *k = fl_nem_kind_name(c->faults[i].kind);
        bool seen = false;
        for (size_t e = 0; e < i; e++)
            seen |= c->faults[e].kind == c->faults[i].kind;
        size_t len = strlen(kinds);
        if (!seen)
            snprintf(kinds + len, sizeof(kinds) - len, "%s%s", len ? "," : "", k);
    }
    fl_json_kv_str(j, "nemesis", kinds[0] ? kinds : "none");
    fl_json_kv_uint(j, "nemesis_interval_ns", o->interval_ns);
    fl_json_kv_uint(j, "fault_length_ns", o->length_ns);
    fl_json_kv_uint(j, "op_timeout_ns", c->op_timeout_ns);
    fl_json_kv_uint(j, "liveness_ns", c->liveness_ns);
    fl_json_kv_uint(j, "poll_ns", c->poll_ns);
    fl_json_kv_str(j, "node_args", c->node_args);
    fl_json_kv_bool(j, "disk_shim", c->shim[0] != 0);
    fl_json_kv_bool(j, "proxy_clients", c->proxy_clients);
    fl_json_kv_bool(j, "faketime", c->faketime_lib[0] != 0);
    fl_json_obj_end(j);
}

static void write_fault_log(fl_json *j, const fl_nem_config *c, const fl_nem_result *r)
{
    fl_json_key(j, "fault_log");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < r->n_log; i++) {
        const fl_nem_fault_log *l = &r->log[i];
        fl_json_obj_begin(j);
        fl_json_kv_str(j, "kind", fl_nem_kind_name(l->fault.kind));
        fl_json_kv_str(j, "who", fl_nem_who_name(l->fault.who));
        fl_json_key(j, "targets");
        fl_json_arr_begin(j);
        for (uint32_t a = 1; a <= c->nodes; a++)
            if (l->targets_mask & (1u << (a - 1)))
                fl_json_uint(j, a);
        fl_json_arr_end(j);
        fl_json_kv_uint(j, "planned_start_ns", l->fault.start_ns);
        fl_json_kv_uint(j, "planned_end_ns", l->fault.start_ns + l->fault.length_ns);
        fl_json_kv_uint(j, "start_ns", l->began_ns);
        fl_json_kv_uint(j, "end_ns", l->ended_ns);
        fl_json_kv_bool(j, "skipped", l->skipped);
        fl_json_kv_str(j, "note", l->note);
        fl_time_ns rec = recovery(r, l);
        fl_json_key(j, "recover_ns"); /* from end_ns to the next successful write */
        if (rec == FL_TIME_NEVER)
            fl_json_null(j);
        else
            fl_json_uint(j, rec);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
}

static void write_compaction(fl_json *j, const fl_nem_compaction *k)
{
    fl_json_key(j, "compaction");
    fl_json_obj_begin(j);
    fl_json_kv_bool(j, "known", k->known);
    fl_json_kv_bool(j, "up_at_end", k->up_at_end);
    fl_json_kv_uint(j, "snapshot_every", k->every);
    fl_json_kv_uint(j, "snapshot_log_share", k->log_share);
    fl_json_kv_uint(j, "snapshots_taken", k->snapshots_taken);
    fl_json_kv_uint(j, "snapshot_failures", k->failures);
    fl_json_kv_uint(j, "snapshot_timeouts", k->timeouts);
    fl_json_kv_uint(j, "snapshot_index", k->snapshot_index);
    fl_json_kv_uint(j, "applied_index", k->applied_index);
    fl_json_kv_uint(j, "entries_past_snapshot", entries_past(k));
    fl_json_kv_uint(j, "entries_past_snapshot_max", k->entries_past_max);
    fl_json_kv_uint(j, "snapshot_running", k->snapshot_running);
    fl_json_kv_uint(j, "over_bound_max_ns", k->overdue_max_ns);
    fl_json_kv_bool(j, "stalled", k->stalled);
    if (k->stalled)
        fl_json_kv_uint(j, "stalled_ns", k->stalled_ns);
    fl_json_obj_end(j);
}

static void write_nemesis(fl_json *j, const fl_nem_config *c, const fl_nem_result *r)
{
    fl_json_key(j, "nemesis");
    fl_json_obj_begin(j);
    fl_json_kv_bool(j, "invariants_checked", false);
    fl_json_kv_uint(j, "startup_ns", r->startup_ns);
    fl_json_kv_uint(j, "status_polls", r->status_polls);
    fl_json_kv_uint(j, "status_answers", r->status_answers);
    fl_json_kv_uint(j, "proxy_bytes", r->proxy_bytes);
    fl_json_kv_uint(j, "first_term", r->first_term);
    fl_json_kv_uint(j, "last_term", r->last_term);
    fl_json_kv_uint(j, "compaction_stall_ns", c->compaction_stall_ns); /* 0: not judged */
    fl_json_kv_uint(j, "compaction_factor", FL_NEM_COMPACT_FACTOR);
    write_fault_log(j, c, r);
    fl_json_key(j, "nodes");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < c->nodes; i++) {
        const fl_nem_node_report *n = &r->node[i];
        fl_json_obj_begin(j);
        fl_json_kv_uint(j, "id", i + 1);
        fl_json_kv_uint(j, "starts", n->starts);
        fl_json_kv_uint(j, "unexpected_exits", n->unexpected_exits);
        fl_json_kv_int(j, "last_exit", n->last_exit);
        fl_json_kv_uint(j, "slow_restarts", n->slow_restarts);
        fl_json_kv_str(j, "last_error", n->last_error);
        fl_json_kv_str(j, "log", n->log);
        fl_json_kv_str(j, "data", n->data);
        write_compaction(j, &n->compaction);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

/* DIR/timeline.jsonl: what the status poll saw, one line per change of a node's role
 * ({"time_ns":..,"node":2,"leader":true,"term":3}; a node going down is leader false), and
 * each fault's start and end ({"time_ns":..,"fault":"kill n2","event":"start"}). */
static int write_timeline(const fl_nem_config *c, const fl_nem_result *r, fl_buf *b)
{
    for (size_t i = 0; i < r->rec.role_count; i++) {
        const fl_observe_role *x = &r->rec.roles[i];
        fl_buf_printf(b, "{\"time_ns\":%llu,\"node\":%u,\"leader\":%s,\"term\":%llu}\n",
                      (unsigned long long)x->time_ns, x->node, x->is_leader ? "true" : "false",
                      (unsigned long long)x->term);
    }
    for (size_t i = 0; i < r->rec.fault_count; i++) {
        const fl_observe_fault *f = &r->rec.faults[i];
        fl_json j;
        fl_json_init(&j, b, false);
        fl_json_obj_begin(&j);
        fl_json_kv_uint(&j, "time_ns", f->start_ns);
        fl_json_kv_str(&j, "fault", f->kind);
        fl_json_kv_uint(&j, "end_ns", f->end_ns == FL_TIME_NEVER ? r->heal_ns : f->end_ns);
        fl_json_obj_end(&j);
        fl_buf_put_u8(b, '\n');
    }
    return b->err ? -1 : sim_write_file(c->out_dir, "timeline.jsonl", b);
}

static int write_outputs(const fl_nem_config *c, const fl_nem_result *r, const fl_run_result *rr,
                         const sim_outcome *oc, const nem_out_opts *o)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", c->seed);
    write_config(&j, c, o);
    sim_write_results_members(&j, rr, oc);
    write_nemesis(&j, c, r);
    fl_json_obj_end(&j);
    fl_buf_put_u8(&b, '\n');
    int rc = b.err ? -1 : sim_write_file(c->out_dir, "results.json", &b);
    fl_buf_reset(&b);
    if (!rc)
        rc = fl_history_write_jsonl(&r->history, &b)
                 ? -1
                 : sim_write_file(c->out_dir, "history.jsonl", &b);
    fl_buf_reset(&b);
    if (!rc)
        rc = fl_history_write_edn(&r->history, &b) ? -1
                                                   : sim_write_file(c->out_dir, "history.edn", &b);
    fl_buf_reset(&b);
    if (!rc)
        rc = write_timeline(c, r, &b);
    fl_buf_free(&b);
    return rc;
}

int nem_out_judge(const fl_nem_config *c, fl_nem_result *r, const nem_out_opts *o)
{
    fl_run_config rc;
    fl_run_result rr;
    as_run(c, r, &rc, &rr);
    sim_opts so;
    memset(&so, 0, sizeof(so));
    so.run = rc;
    so.check_lin = o->check;
    so.check_timeout_ns = o->check_timeout_ns;
    sim_outcome oc;
    sim_evaluate(&so, &rc, &rr, &oc);
    judge_compaction(c, r, &oc);
    if (!o->quiet)
        print_summary(c, r, &rr, &oc);
    bool written = write_outputs(c, r, &rr, &oc, o) == 0;
    if (written && !o->quiet)
        printf("\noutput   %s/results.json, history.jsonl, history.edn, timeline.jsonl, n*.log\n",
               c->out_dir);
    printf("verdict  %s\n", oc.violation ? oc.what : "no violation found");
    int violation = oc.violation;
    sim_outcome_free(&oc);
    return !written ? FL_EXIT_IOERR : violation ? FL_EXIT_VIOLATION : 0;
}
