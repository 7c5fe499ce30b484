/* report_run.c: the report of one run: loads results.json, history.jsonl and timeline.jsonl
 * from the run directory (the last two optional: a chart without its input says so), then
 * writes the page top to bottom: verdict and observables, latency over time, throughput,
 * leadership, latency distribution, and on a failure what failed. */
#include "report_int.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static void load_faults_from(rp_run *r, uint32_t arr)
{
    const fl_jr_doc *d = r->d;
    if (arr == FL_JR_NONE || d->nodes[arr].type != FL_JR_ARRAY)
        return;
    size_t n = d->nodes[arr].count;
    r->faults = calloc(n ? n : 1, sizeof(*r->faults));
    if (!r->faults)
        return;
    for (uint32_t i = 0, e = arr + 1; i < n && e != FL_JR_NONE; i++, e = d->nodes[e].next) {
        rp_fault *f = &r->faults[r->n_faults];
        f->start_ns = (fl_time_ns)rp_num(d, e, "start_ns", 0);
        f->end_ns = rp_has(d, e, "end_ns") ? (fl_time_ns)rp_num(d, e, "end_ns", 0) : FL_TIME_NEVER;
        rp_str(d, e, "kind", f->kind, sizeof(f->kind));
        rp_str(d, e, "targets", f->targets, sizeof(f->targets));
        if (f->end_ns != FL_TIME_NEVER && f->end_ns < f->start_ns)
            continue; /* nonsense: not drawn */
        f->cat = rp_fault_cat(f->kind);
        r->n_faults++;
    }
}

static void load_history(rp_run *r, char *note, size_t note_size)
{
    fl_buf text;
    fl_buf_init(&text);
    char why[256] = "";
    int rc = rp_read_file(r->dir, "history.jsonl", &text, why, sizeof(why));
    if (rc == FL_ENOTFOUND) {
        snprintf(note, note_size, "no history.jsonl in the run directory");
    } else if (rc) {
        snprintf(note, note_size, "%s", why);
    } else {
        fl_history_error err = {0};
        const char *t = text.data ? (const char *)text.data : "";
        rc = fl_history_read_jsonl(&r->hist, t, text.len, &err);
        r->hist.pipelined =
            rp_num(r->d, 0, "config.pipeline", 1) > 1; /* pairs first in, first out */
        if (!rc)
            rc = fl_history_ops(&r->hist, &r->ops, &r->n_ops, &err);
        if (rc)
            snprintf(note, note_size, "history.jsonl line %u: %s", err.line,
                     err.msg[0] ? err.msg : fl_strerror(rc));
        r->has_hist = rc == 0;
    }
    fl_buf_free(&text);
}

static void load_timeline(rp_run *r)
{
    fl_buf text;
    fl_buf_init(&text);
    char why[256];
    if (rp_read_file(r->dir, "timeline.jsonl", &text, why, sizeof(why)) == 0) {
        fl_history_error err = {0};
        const char *t = text.data ? (const char *)text.data : "";
        r->has_tl = fl_timeline_read_jsonl(&r->tl, t, text.len, &err) == 0;
    }
    fl_buf_free(&text);
}

/* The time axis covers the configured run, the observed one, every op and every fault. */
static void time_range(rp_run *r)
{
    double t = rp_num(r->d, 0, "config.duration_ns", 0);
    double e = rp_num(r->d, r->obs, "run.end_ns", 0);
    t = e > t ? e : t;
    for (size_t i = 0; r->has_hist && i < r->hist.count; i++)
        t = (double)r->hist.events[i].time > t ? (double)r->hist.events[i].time : t;
    for (size_t i = 0; i < r->n_faults; i++)
        if (r->faults[i].end_ns != FL_TIME_NEVER && (double)r->faults[i].end_ns > t)
            t = (double)r->faults[i].end_ns;
    r->t1_s = t > 0 ? t / 1e9 : 1;
}

static void header(fl_buf *b, const rp_run *r)
{
    const fl_jr_doc *d = r->d;
    char proto[32], nem[48], wl[32], title[256];
    rp_str(d, 0, "config.protocol", proto, sizeof(proto));
    rp_str(d, 0, "config.nemesis", nem, sizeof(nem));
    rp_str(d, 0, "config.workload", wl, sizeof(wl));
    snprintf(title, sizeof(title), "faultline: %s run, seed %.0f, %.0f nodes, nemesis %s",
             proto[0] ? proto : "a", rp_num(d, 0, "seed", 0), rp_num(d, 0, "config.nodes", 0),
             nem[0] ? nem : "none");
    rp_page_begin(b, title);
    fl_buf_put_str(b, "<h1>");
    rp_esc(b, title);
    fl_buf_printf(b, "</h1>\n<p class=\"sub\">%.1f s measured, %s workload, %.0f clients",
                  rp_num(d, 0, "config.duration_ns", r->t1_s * 1e9) / 1e9, wl[0] ? wl : "?",
                  rp_num(d, 0, "config.clients", 0));
    if (rp_num(d, 0, "config.rate", 0) > 0)
        fl_buf_printf(b, " (open loop, %.0f ops/s)", rp_num(d, 0, "config.rate", 0));
    fl_buf_printf(b, "; %zu fault intervals; directory <code>", r->n_faults);
    rp_esc(b, r->dir);
    fl_buf_put_str(b, "</code>.</p>\n");
}

static void charts(fl_buf *b, rp_run *r, const char *hist_note)
{
    rp_section_begin(b, "latency", "Latency over time",
                     "Every operation is a point at its invocation time, its latency on a log "
                     "scale; one panel per operation type; colour by outcome: ok took effect, "
                     "fail did not, info unknown (timed out: it may have). Shaded: the fault "
                     "intervals, with their kind and targets.");
    if (r->has_hist)
        rp_chart_latency(b, r);
    else
        fl_buf_printf(b, "<p class=\"sub\">Not drawn: %s.</p>\n", hist_note);
    rp_fault_legend(b, r);
    rp_section_end(b);
    rp_section_begin(b, "throughput", "Throughput",
                     "Operations completed per second, stacked by outcome, on the same time axis.");
    rp_chart_rate(b, r);
    rp_section_end(b);
    rp_section_begin(b, "leadership", "Leadership",
                     "One lane per node: its role and term over time, crashes and pauses. Red: "
                     "split-brain intervals, when two nodes believed they led at once.");
    rp_chart_lanes(b, r);
    rp_section_end(b);
    rp_section_begin(b, "distribution", "Latency distribution",
                     "Latency of successful operations at each percentile (both axes log), for "
                     "operations invoked outside every fault (calm) and inside one (faulty).");
    if (r->has_hist)
        rp_chart_pct(b, r);
    else
        fl_buf_printf(b, "<p class=\"sub\">Not drawn: %s.</p>\n", hist_note);
    rp_section_end(b);
}

static void run_free(rp_run *r)
{
    rp_doc_free(&r->res);
    fl_history_free(&r->hist);
    free(r->ops);
    fl_timeline_free(&r->tl);
    free(r->faults);
}

int rp_run_report(const char *dir, fl_buf *out, fl_report_info *info, char *why, size_t why_size)
{
    rp_run r;
    memset(&r, 0, sizeof(r));
    r.dir = dir;
    r.info = info;
    fl_history_init(&r.hist);
    fl_timeline_init(&r.tl);
    int rc = rp_doc_load(&r.res, dir, "results.json", why, why_size);
    if (rc) {
        run_free(&r);
        return rc;
    }
    r.d = &r.res.d;
    r.obs = rp_at(r.d, 0, "observables");
    r.obs = r.obs == FL_JR_NONE ? RP_NOWHERE : r.obs;
    uint32_t faults = rp_at(r.d, 0, "faults");
    load_faults_from(&r, faults != FL_JR_NONE ? faults : rp_at(r.d, r.obs, "faults.list"));
    char hist_note[300] = "";
    load_history(&r, hist_note, sizeof(hist_note));
    load_timeline(&r);
    time_range(&r);
    info->ops = r.n_ops;
    info->bands = r.n_faults;
    header(out, &r);
    rp_verdict(out, &r);
    charts(out, &r, hist_note);
    rp_failure(out, &r);
    rp_page_end(out);
    run_free(&r);
    return out->err ? FL_ENOMEM : 0;
}
