/* report_verdict.c: the top of a run's report: the verdict, every observable with a one-line
 * meaning, and the command that reproduces the run. Rows whose keys a run did not write are
 * left out (a real run has no simulator counters, for instance). */
#include "report_int.h"

#include <string.h>

typedef struct vctx {
    fl_buf *b;
    const fl_jr_doc *d;
    uint32_t obs;
} vctx;

static void row(const vctx *v, const char *what, const char *meaning, bool bad, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

static void row(const vctx *v, const char *what, const char *meaning, bool bad, const char *fmt,
                ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    fl_buf h;
    fl_buf_init(&h);
    rp_esc(&h, value);
    fl_buf_put_u8(&h, 0);
    rp_row(v->b, what, h.err ? "" : (const char *)h.data, meaning, bad);
    fl_buf_free(&h);
}

static const char *dur(char *out, size_t cap, double ns)
{
    rp_fmt_ns(out, cap, ns);
    return out;
}

static void safety_rows(const vctx *v)
{
    const fl_jr_doc *d = v->d;
    char s[320];
    if (rp_has(d, 0, "verdict.invariants_held")) {
        bool held = rp_bool(d, 0, "verdict.invariants_held", true);
        row(v, "Safety invariants",
            "Raft's election safety, leader append-only, log matching, leader completeness and "
            "state machine safety, checked after every event",
            !held, "%s", held ? "held" : rp_str(d, 0, "verdict.invariant_violation", s, sizeof(s)));
    }
    if (rp_has(d, 0, "verdict.linearizability")) {
        rp_str(d, 0, "verdict.linearizability", s, sizeof(s));
        row(v, "Linearizability",
            "every operation appears to take effect at one instant between its invocation and "
            "its completion (the checker's verdict on the whole history)",
            !strcmp(s, "not linearizable"), "%s", s);
    }
    if (rp_has(d, v->obs, "split_brain.same_term_violations")) {
        double st = rp_num(d, v->obs, "split_brain.same_term_violations", 0);
        row(v, "Split brain, same term",
            "intervals with two leaders of one term: a violation of election safety, must be 0",
            st > 0, "%.0f", st);
        char t[32];
        row(v, "Stale leaders",
            "an old leader (lower term) still believing it leads beside a new one: allowed by "
            "Raft as long as it serves nothing",
            false, "%.0f intervals, %s in all; served %.0f reads, %.0f writes",
            rp_num(d, v->obs, "split_brain.stale_leader.count", 0),
            dur(t, sizeof(t), rp_num(d, v->obs, "split_brain.stale_leader.total_ns", 0)),
            rp_num(d, v->obs, "split_brain.stale_leader.served_reads", 0),
            rp_num(d, v->obs, "split_brain.stale_leader.acked_writes", 0));
    }
    if (rp_has(d, v->obs, "stale_reads.stale")) {
        double st = rp_num(d, v->obs, "stale_reads.stale", 0);
        row(v, "Stale reads", "a read that missed a write acknowledged before the read began",
            st > 0, "%.0f of %.0f checked", st, rp_num(d, v->obs, "stale_reads.checked", 0));
    }
    if (rp_has(d, 0, "verdict.live")) {
        bool live = rp_bool(d, 0, "verdict.live", true);
        char t[32];
        row(v, "Liveness",
            "after everything healed, a write must succeed within the liveness bound", !live, "%s",
            live ? "a write succeeded" : "NO write succeeded in time");
        if (live && rp_has(d, 0, "verdict.recover_ns"))
            row(v, "Recovery time", "from the final heal to the first successful write", false,
                "%s", dur(t, sizeof(t), rp_num(d, 0, "verdict.recover_ns", 0)));
    }
}

/* A run under the FLP adversary (results.json's "flp", docs/limits.md). */
static void flp_row(const vctx *v)
{
    const fl_jr_doc *d = v->d;
    if (!rp_has(d, 0, "flp.decisions_before_gst"))
        return;
    double before = rp_num(d, 0, "flp.decisions_before_gst", 0);
    double after = rp_num(d, 0, "flp.first_decision_after_gst_ms", -1);
    char t[64] = "none within the run";
    if (after >= 0)
        snprintf(t, sizeof(t), "%.1f ms after it", after);
    row(v, "FLP adversary",
        "no message lost, no node down, the deciding votes held back until GST: nothing "
        "decided before it; the first decision after it; the longest delay of a message",
        before > 0 || after < 0, "%.0f decisions before GST at %.1f s; first: %s; %.1f ms", before,
        rp_num(d, 0, "flp.gst_ns", 0) / 1e9, t, rp_num(d, 0, "flp.max_message_delay_ms", 0));
}

static void service_rows(const vctx *v)
{
    const fl_jr_doc *d = v->d;
    uint32_t o = v->obs;
    char a[32], b[32], c[32], e[32];
    if (rp_has(d, o, "throughput.ok_per_s"))
        row(v, "Throughput", "successful operations per second over the measured run", false,
            "%.1f ok/s", rp_num(d, o, "throughput.ok_per_s", 0));
    if (rp_has(d, o, "availability.ok_fraction"))
        row(v, "Availability", "operations that succeeded; seconds in which at least one succeeded",
            false, "%.2f%% of ops; %.0f of %.0f s answered",
            100 * rp_num(d, o, "availability.ok_fraction", 0),
            rp_num(d, o, "availability.windows_answered", 0),
            rp_num(d, o, "availability.windows", 0));
    if (rp_has(d, o, "availability.faults.ok_fraction_in"))
        row(v, "Ok inside / outside faults",
            "fraction of operations that succeeded, by whether they were invoked inside a fault",
            false, "%.2f%% / %.2f%%", 100 * rp_num(d, o, "availability.faults.ok_fraction_in", 0),
            100 * rp_num(d, o, "availability.faults.ok_fraction_out", 0));
    if (rp_has(d, o, "availability.write_gap_max_ns"))
        row(v, "Longest write gap",
            "the longest time without a successful write (marked on the latency chart)", false,
            "%s", dur(a, sizeof(a), rp_num(d, o, "availability.write_gap_max_ns", 0)));
    if (rp_has(d, o, "availability.leader_outages.count"))
        row(v, "Leader outages", "from losing the current leader to having one again", false,
            "%.0f; mean %s, max %s", rp_num(d, o, "availability.leader_outages.count", 0),
            dur(a, sizeof(a), rp_num(d, o, "availability.leader_outages.mean_ns", 0)),
            dur(b, sizeof(b), rp_num(d, o, "availability.leader_outages.max_ns", 0)));
    if (rp_has(d, o, "latency.ok.count"))
        row(v, "Latency of ok operations", "invocation to completion: p50, p99, p99.9, max", false,
            "%s, %s, %s, %s", dur(a, sizeof(a), rp_num(d, o, "latency.ok.p50_ns", 0)),
            dur(b, sizeof(b), rp_num(d, o, "latency.ok.p99_ns", 0)),
            dur(c, sizeof(c), rp_num(d, o, "latency.ok.p999_ns", 0)),
            dur(e, sizeof(e), rp_num(d, o, "latency.ok.max_ns", 0)));
    if (rp_has(d, 0, "counts.ops_invoked"))
        row(v, "Operations",
            "invoked, and how they ended: ok took effect, fail did not, info unknown", false,
            "%.0f: %.0f ok, %.0f fail, %.0f info", rp_num(d, 0, "counts.ops_invoked", 0),
            rp_num(d, 0, "counts.ops_ok", 0), rp_num(d, 0, "counts.ops_fail", 0),
            rp_num(d, 0, "counts.ops_info", 0));
}

static void cost_rows(const vctx *v)
{
    const fl_jr_doc *d = v->d;
    uint32_t o = v->obs;
    char a[32];
    if (rp_has(d, o, "cost.messages_per_ok"))
        row(v, "Messages per ok op", "messages (and bytes) the nodes sent per successful op", false,
            "%.1f (%.0f bytes)", rp_num(d, o, "cost.messages_per_ok", 0),
            rp_num(d, o, "cost.bytes_per_ok", 0));
    if (rp_has(d, o, "cost.fsyncs_per_ok"))
        row(v, "Fsyncs per ok op", "disk syncs per successful op (per successful write)", false,
            "%.2f (%.2f)", rp_num(d, o, "cost.fsyncs_per_ok", 0),
            rp_num(d, o, "cost.fsyncs_per_ok_write", 0));
    if (rp_has(d, o, "cost.leaderships"))
        row(v, "Elections", "elections started; times a node became leader", false,
            "%.0f started; %.0f leaderships", rp_num(d, o, "cost.elections_started", 0),
            rp_num(d, o, "cost.leaderships", 0));
    if (rp_has(d, o, "faults.count"))
        row(v, "Faults", "fault intervals injected; time inside at least one", false, "%.0f; %s",
            rp_num(d, o, "faults.count", 0), dur(a, sizeof(a), rp_num(d, o, "faults.total_ns", 0)));
}

void rp_verdict(fl_buf *b, const rp_run *r)
{
    const fl_jr_doc *d = r->d;
    char s[400];
    bool bad = rp_bool(d, 0, "verdict.violation", false);
    rp_str(d, 0, "verdict.summary", s, sizeof(s));
    rp_section_begin(b, "verdict", "Verdict", NULL);
    fl_buf_printf(b, "<div class=\"verdict %s\">%s", bad ? "bad" : "ok", bad ? "VIOLATION: " : "");
    rp_esc(b, s[0] ? s : bad ? "violation" : "no violation found");
    if (bad)
        fl_buf_put_str(b, " (<a href=\"#failure\">what failed</a>)");
    fl_buf_put_str(b, "</div>\n<table><tr><th>observable</th><th>value</th><th>meaning</th>"
                      "</tr>\n");
    vctx v = {b, d, r->obs};
    safety_rows(&v);
    flp_row(&v);
    service_rows(&v);
    cost_rows(&v);
    fl_buf_put_str(b, "</table>\n");
    if (rp_str(d, 0, "reproduce", s, sizeof(s))[0]) {
        fl_buf_put_str(b, "<p class=\"sub\">Reproduce this run (same seed, same bytes):</p><pre>");
        rp_esc(b, s);
        fl_buf_put_str(b, "</pre>\n");
    }
    rp_section_end(b);
}
