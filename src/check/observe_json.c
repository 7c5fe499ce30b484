/* observe_json.c: the observables as one JSON object (fl_observe_write_json) and as a short
 * human-readable table (fl_observe_print_summary). Every key is described in
 * docs/results.md; keep the two in step. Times are integers in ns; a time that does not
 * exist (an open interval's end, no leader ever) is null. */
#include "observe_internal.h"

#include <inttypes.h>

static void kv_time(fl_json *j, const char *key, fl_time_ns t)
{
    fl_json_key(j, key);
    if (t == FL_TIME_NEVER)
        fl_json_null(j);
    else
        fl_json_uint(j, t);
}

/* h may be NULL: no samples (every field 0). */
static void hist_json(fl_json *j, const fl_hist *h)
{
    bool any = h && h->count;
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "count", any ? h->count : 0);
    fl_json_kv_uint(j, "min_ns", any ? h->min : 0);
    fl_json_kv_double(j, "mean_ns", any ? fl_hist_mean(h) : 0.0);
    fl_json_kv_uint(j, "p50_ns", any ? fl_hist_percentile(h, 50) : 0);
    fl_json_kv_uint(j, "p90_ns", any ? fl_hist_percentile(h, 90) : 0);
    fl_json_kv_uint(j, "p99_ns", any ? fl_hist_percentile(h, 99) : 0);
    fl_json_kv_uint(j, "p999_ns", any ? fl_hist_percentile(h, 99.9) : 0);
    fl_json_kv_uint(j, "max_ns", any ? h->max : 0);
    fl_json_obj_end(j);
}

static const char *const outcome_names[FL_OBS_OUTCOMES] = {"ok", "fail", "info"};

static void latency_json(const fl_observables *o, fl_json *j)
{
    fl_json_key(j, "latency");
    fl_json_obj_begin(j);
    fl_json_key(j, "ok");
    hist_json(j, o->latency.ok);
    fl_json_key(j, "ok_in_fault");
    hist_json(j, o->latency.ok_in_fault);
    fl_json_key(j, "ok_outside_fault");
    hist_json(j, o->latency.ok_outside_fault);
    fl_json_kv_uint(j, "pending", o->latency.pending);
    fl_json_kv_uint(j, "clock_errors", o->latency.clock_errors);
    fl_json_key(j, "by_f");
    fl_json_obj_begin(j);
    for (int f = 0; f < FL_F_COUNT; f++) {
        uint64_t n = 0;
        for (int k = 0; k < FL_OBS_OUTCOMES; k++)
            n += fl_observe_latency_of(o, (fl_op_f)f, k) != NULL;
        if (!n)
            continue;
        fl_json_key(j, fl_op_f_name((fl_op_f)f));
        fl_json_obj_begin(j);
        for (int k = 0; k < FL_OBS_OUTCOMES; k++) {
            fl_json_key(j, outcome_names[k]);
            hist_json(j, fl_observe_latency_of(o, (fl_op_f)f, k));
        }
        fl_json_obj_end(j);
    }
    fl_json_obj_end(j);
    fl_json_obj_end(j);
}

static void throughput_json(const fl_observables *o, fl_json *j)
{
    fl_json_key(j, "throughput");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "ok", o->avail.ok);
    fl_json_kv_double(j, "ok_per_s", o->ok_per_s);
    fl_json_key(j, "windows");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < o->window_count; i++) {
        const fl_observe_window *w = &o->window[i];
        fl_json_obj_begin(j);
        fl_json_kv_uint(j, "start_ns", w->start_ns);
        fl_json_kv_uint(j, "ok", w->ok);
        fl_json_kv_uint(j, "ok_writes", w->ok_writes);
        fl_json_kv_uint(j, "fail", w->fail);
        fl_json_kv_uint(j, "info", w->info);
        fl_json_kv_uint(j, "ok_latency_max_ns", w->ok_latency_max_ns);
        fl_json_kv_bool(j, "answered", w->answered);
        fl_json_kv_bool(j, "leader", w->leader);
        fl_json_kv_bool(j, "in_fault", w->in_fault);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static double frac(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 1.0;
}

static void outages_json(const fl_observe_avail *a, fl_json *j)
{
    fl_json_key(j, "leader_outages");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "count", a->outages);
    fl_json_kv_double(j, "mean_ns", a->outage_mean_ns);
    fl_json_kv_uint(j, "max_ns", a->outage_max_ns);
    fl_json_kv_bool(j, "leaderless_at_end", a->leaderless_at_end);
    fl_json_kv_uint(j, "leaderless_at_end_ns", a->leaderless_at_end_ns);
    kv_time(j, "first_leader_ns", a->first_leader_ns);
    fl_json_key(j, "list");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < a->outage_count; i++) {
        const fl_observe_outage *g = &a->outage[i];
        fl_json_obj_begin(j);
        fl_json_kv_uint(j, "start_ns", g->start_ns);
        kv_time(j, "end_ns", g->end_ns);
        fl_json_kv_uint(j, "lost_node", g->lost);
        fl_json_kv_uint(j, "lost_term", g->lost_term);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void avail_json(const fl_observables *o, fl_json *j)
{
    const fl_observe_avail *a = &o->avail;
    fl_json_key(j, "availability");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "ops", a->ops);
    fl_json_kv_uint(j, "ok", a->ok);
    fl_json_kv_uint(j, "fail", a->fail);
    fl_json_kv_uint(j, "info", a->info);
    fl_json_kv_double(j, "ok_fraction", a->ok_fraction);
    fl_json_kv_uint(j, "windows", a->windows);
    fl_json_kv_uint(j, "windows_answered", a->windows_answered);
    fl_json_kv_double(j, "windows_answered_fraction", a->windows_answered_fraction);
    fl_json_kv_uint(j, "ok_writes", a->ok_writes);
    fl_json_kv_uint(j, "write_gap_max_ns", a->write_gap_max_ns);
    fl_json_kv_uint(j, "write_gap_start_ns", a->write_gap_start_ns);
    fl_json_kv_uint(j, "write_gap_end_ns", a->write_gap_end_ns);
    outages_json(a, j);
    fl_json_key(j, "faults");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "ops_in", a->ops_in_fault);
    fl_json_kv_uint(j, "ok_in", a->ok_in_fault);
    fl_json_kv_double(j, "ok_fraction_in", frac(a->ok_in_fault, a->ops_in_fault));
    fl_json_kv_uint(j, "ops_out", a->ops_outside_fault);
    fl_json_kv_uint(j, "ok_out", a->ok_outside_fault);
    fl_json_kv_double(j, "ok_fraction_out", frac(a->ok_outside_fault, a->ops_outside_fault));
    fl_json_obj_end(j);
    fl_json_obj_end(j);
}

static void split_one_json(const fl_observables *o, const fl_observe_split *s, fl_json *j)
{
    fl_time_ns end = s->end_ns == FL_TIME_NEVER ? o->run_end_ns : s->end_ns;
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "start_ns", s->start_ns);
    kv_time(j, "end_ns", s->end_ns);
    fl_json_kv_uint(j, "duration_ns", end > s->start_ns ? end - s->start_ns : 0);
    fl_json_kv_bool(j, "same_term", s->same_term);
    fl_json_kv_bool(j, "stale", s->stale);
    fl_json_kv_uint(j, "term_min", s->term_min);
    fl_json_kv_uint(j, "term_max", s->term_max);
    fl_json_kv_uint(j, "stale_served_reads", s->stale_served_reads);
    fl_json_kv_uint(j, "stale_acked_writes", s->stale_acked_writes);
    fl_json_kv_uint(j, "node_count", s->node_count);
    fl_json_key(j, "nodes");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < s->node_count && i < FL_OBSERVE_SPLIT_NODES_MAX; i++)
        fl_json_uint(j, s->nodes[i]);
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void split_json(const fl_observables *o, fl_json *j)
{
    const fl_observe_splits *s = &o->split;
    fl_json_key(j, "split_brain");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "intervals", s->intervals);
    fl_json_kv_uint(j, "same_term_violations", s->same_term);
    fl_json_key(j, "stale_leader");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "count", s->stale);
    fl_json_kv_uint(j, "total_ns", s->stale_total_ns);
    fl_json_kv_uint(j, "max_ns", s->stale_max_ns);
    fl_json_kv_uint(j, "served_reads", s->stale_served_reads);
    fl_json_kv_uint(j, "acked_writes", s->stale_acked_writes);
    fl_json_kv_uint(j, "intervals_served", s->stale_intervals_served);
    fl_json_obj_end(j);
    fl_json_key(j, "list");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < s->interval_count; i++)
        split_one_json(o, &s->interval[i], j);
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void cost_json(const fl_observables *o, fl_json *j)
{
    const fl_observe_cost *k = &o->cost;
    fl_json_key(j, "cost");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "messages_sent", k->counters.messages_sent);
    fl_json_kv_uint(j, "bytes_sent", k->counters.bytes_sent);
    fl_json_kv_uint(j, "fsyncs", k->counters.fsyncs);
    fl_json_kv_uint(j, "elections_started", k->counters.elections_started);
    fl_json_kv_uint(j, "leaderships", k->leaderships);
    fl_json_kv_uint(j, "leader_changes", k->leader_changes);
    fl_json_kv_double(j, "messages_per_ok", k->messages_per_ok);
    fl_json_kv_double(j, "bytes_per_ok", k->bytes_per_ok);
    fl_json_kv_double(j, "fsyncs_per_ok", k->fsyncs_per_ok);
    fl_json_kv_double(j, "fsyncs_per_ok_write", k->fsyncs_per_ok_write);
    fl_json_obj_end(j);
}

static void stale_json(const fl_observables *o, fl_json *j)
{
    const fl_observe_stales *s = &o->stale;
    fl_json_key(j, "stale_reads");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "reads_ok", s->reads_ok);
    fl_json_kv_uint(j, "checked", s->checked);
    fl_json_kv_uint(j, "stale", s->stale);
    fl_json_kv_uint(j, "unchecked", s->unchecked);
    fl_json_key(j, "examples");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < s->example_count; i++) {
        const fl_observe_stale *e = &s->example[i];
        fl_json_obj_begin(j);
        fl_json_kv_str(j, "key", e->key);
        fl_json_kv_uint(j, "read_invoke_event", e->read_invoke);
        fl_json_kv_uint(j, "read_complete_event", e->read_complete);
        fl_json_kv_uint(j, "newer_invoke_event", e->newer_invoke);
        fl_json_kv_uint(j, "newer_complete_event", e->newer_complete);
        fl_json_kv_uint(j, "read_invoke_ns", e->read_invoke_ns);
        fl_json_kv_uint(j, "read_line", e->read_line);
        fl_json_kv_uint(j, "newer_line", e->newer_line);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void faults_json(const fl_observables *o, fl_json *j)
{
    fl_json_key(j, "faults");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "count", o->faults);
    fl_json_kv_uint(j, "total_ns", o->fault_total_ns);
    fl_json_key(j, "list");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < o->fault_count; i++) {
        fl_json_obj_begin(j);
        fl_json_kv_uint(j, "start_ns", o->fault[i].start_ns);
        kv_time(j, "end_ns", o->fault[i].end_ns);
        fl_json_kv_str(j, "kind", o->fault[i].kind);
        if (o->fault[i].targets[0])
            fl_json_kv_str(j, "targets", o->fault[i].targets);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

void fl_observe_write_json(const fl_observables *o, fl_json *j)
{
    fl_json_obj_begin(j);
    fl_json_key(j, "run");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "start_ns", o->run_start_ns);
    fl_json_kv_uint(j, "end_ns", o->run_end_ns);
    fl_json_kv_uint(j, "duration_ns", o->duration_ns);
    fl_json_kv_uint(j, "window_ns", o->window_ns);
    fl_json_obj_end(j);
    if (o->latency.ok) {
        latency_json(o, j);
    }
    throughput_json(o, j);
    avail_json(o, j);
    split_json(o, j);
    cost_json(o, j);
    stale_json(o, j);
    faults_json(o, j);
    fl_json_obj_end(j);
}

/* ---- summary ------------------------------------------------------------------------------- */

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void hist_row(FILE *f, const char *name, const char *outcome, const fl_hist *h)
{
    fprintf(f, "  %-7s %-5s %8" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, outcome, h->count,
            ms(fl_hist_percentile(h, 50)), ms(fl_hist_percentile(h, 90)),
            ms(fl_hist_percentile(h, 99)), ms(fl_hist_percentile(h, 99.9)),
            ms(h->count ? h->max : 0));
}

static void latency_summary(const fl_observables *o, FILE *f)
{
    fprintf(f, "latency (ms)      count       p50       p90       p99     p99.9       max\n");
    if (!o->latency.ok)
        return;
    hist_row(f, "all", "ok", o->latency.ok);
    if (o->latency.ok_in_fault->count) {
        hist_row(f, "faulty", "ok", o->latency.ok_in_fault);
        hist_row(f, "calm", "ok", o->latency.ok_outside_fault);
    }
    for (int fn = 0; fn < FL_F_COUNT; fn++) {
        for (int k = 0; k < FL_OBS_OUTCOMES; k++) {
            const fl_hist *h = fl_observe_latency_of(o, (fl_op_f)fn, k);
            if (h)
                hist_row(f, fl_op_f_name((fl_op_f)fn), outcome_names[k], h);
        }
    }
    if (o->latency.pending)
        fprintf(f, "  pending (no completion): %" PRIu64 "\n", o->latency.pending);
}

void fl_observe_print_summary(const fl_observables *o, FILE *f)
{
    const fl_observe_avail *a = &o->avail;
    const fl_observe_splits *s = &o->split;
    const fl_observe_cost *k = &o->cost;
    fprintf(f, "run            %.3f s, %zu windows of %.3f s\n", (double)o->duration_ns / 1e9,
            o->window_count, (double)o->window_ns / 1e9);
    latency_summary(o, f);
    fprintf(f, "throughput     %.1f ok/s\n", o->ok_per_s);
    fprintf(f,
            "availability   %" PRIu64 "/%" PRIu64 " ok (%.2f%%), fail %" PRIu64 ", info %" PRIu64
            "; windows answered %" PRIu64 "/%" PRIu64 "\n",
            a->ok, a->ops, 100.0 * a->ok_fraction, a->fail, a->info, a->windows_answered,
            a->windows);
    fprintf(f,
            "               longest write gap %.3f ms; ok in faults %" PRIu64 "/%" PRIu64
            ", outside %" PRIu64 "/%" PRIu64 "\n",
            ms(a->write_gap_max_ns), a->ok_in_fault, a->ops_in_fault, a->ok_outside_fault,
            a->ops_outside_fault);
    fprintf(f, "leader outages %" PRIu64 ", mean %.3f ms, max %.3f ms%s\n", a->outages,
            a->outage_mean_ns / 1e6, ms(a->outage_max_ns),
            a->leaderless_at_end ? ", leaderless at end" : "");
    fprintf(f,
            "split-brain    %" PRIu64 " intervals: %" PRIu64 " same-term (violations), %" PRIu64
            " stale-leader (total %.3f ms, max %.3f ms, served %" PRIu64 " reads, %" PRIu64
            " writes)\n",
            s->intervals, s->same_term, s->stale, ms(s->stale_total_ns), ms(s->stale_max_ns),
            s->stale_served_reads, s->stale_acked_writes);
    fprintf(f,
            "stale reads    %" PRIu64 " of %" PRIu64 " checked (%" PRIu64 " ok reads, %" PRIu64
            " unchecked)\n",
            o->stale.stale, o->stale.checked, o->stale.reads_ok, o->stale.unchecked);
    fprintf(f,
            "cost           %.1f msgs/ok, %.1f bytes/ok, %.2f fsyncs/ok, %.2f fsyncs/ok write; "
            "%" PRIu64 " elections, %" PRIu64 " leader changes\n",
            k->messages_per_ok, k->bytes_per_ok, k->fsyncs_per_ok, k->fsyncs_per_ok_write,
            k->counters.elections_started, k->leader_changes);
    fprintf(f, "faults         %" PRIu64 ", %.3f s in total\n", o->faults,
            (double)o->fault_total_ns / 1e9);
}
