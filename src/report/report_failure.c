/* report_failure.c: what failed, at the end of a failed run's report: the linearizability
 * counterexample (the checker is run again on the history and its HTML view, lincheck.h,
 * embedded as it is), the violated invariant with the event trace around it, same-term
 * split-brain intervals, or the liveness failure. Nothing is written for a clean run. */
#include "report_int.h"

#include "faultline/lincheck.h"

#include <string.h>

#define CEX_OPS_MAX 60 /* ops drawn around the failing point */

static void counterexample(fl_buf *b, const rp_run *r)
{
    if (!r->has_hist) {
        fl_buf_put_str(b, "<p>The history is not in the run directory: no counterexample.</p>\n");
        return;
    }
    char wl[16];
    rp_str(r->d, 0, "config.workload", wl, sizeof(wl));
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = strcmp(wl, "register") ? FL_MODEL_KV : FL_MODEL_CAS_REGISTER; /* kv, redis */
    o.timeout_ns = 60 * FL_NS_PER_S;
    o.memory_max_bytes = (uint64_t)1 << 30;
    fl_lincheck_result lr;
    int rc = fl_lincheck_run(&r->hist, &o, &lr, NULL);
    if (rc || lr.verdict != FL_LIN_VIOLATION || !lr.has_cex) {
        fl_buf_printf(b, "<p>Checking history.jsonl again (%s model) gave: %s.</p>\n",
                      fl_model_name(o.model), rc ? "an error" : fl_verdict_name(lr.verdict));
        fl_lincheck_result_free(&lr);
        return;
    }
    fl_buf page;
    fl_buf_init(&page);
    fl_lincheck_html(&r->hist, &lr, o.model, "history.jsonl", CEX_OPS_MAX, &page);
    fl_buf_put_u8(&page, 0);
    if (!page.err) {
        fl_buf_put_str(b, "<p>The checker's counterexample for the first key that is not "
                          "linearizable (the view of <code>faultline check --html</code>): one "
                          "lane per client, the longest linearization found drawn through its "
                          "operations, the point where no order works in red.</p>\n"
                          "<iframe title=\"counterexample\" sandbox srcdoc=\"");
        rp_esc(b, (const char *)page.data);
        fl_buf_put_str(b, "\"></iframe>\n");
    }
    fl_buf_free(&page);
    fl_lincheck_result_free(&lr);
}

static void invariant(fl_buf *b, const rp_run *r)
{
    char s[400];
    fl_buf_put_str(b, "<p><b>Invariant violated:</b> ");
    rp_esc(b, rp_str(r->d, 0, "verdict.invariant_violation", s, sizeof(s)));
    fl_buf_printf(b, " (event %.0f, at %.6f s; marked on the latency chart).</p>\n",
                  rp_num(r->d, 0, "verdict.violation_event", 0),
                  rp_num(r->d, 0, "verdict.violation_time_ns", 0) / 1e9);
    uint32_t n = rp_at(r->d, 0, "verdict.trace_tail");
    if (n == FL_JR_NONE || r->d->nodes[n].type != FL_JR_STRING)
        return;
    fl_buf t;
    fl_buf_init(&t);
    size_t len = r->d->nodes[n].len + 1;
    if (fl_buf_reserve(&t, len) == 0 && fl_jr_str(r->d, n, (char *)t.data, len, &len) == 0) {
        t.data[len] = 0;
        fl_buf_put_str(b, "<p class=\"sub\">The simulator's last events before it:</p><pre>");
        rp_esc(b, (const char *)t.data);
        fl_buf_put_str(b, "</pre>\n");
    }
    fl_buf_free(&t);
}

void rp_failure(fl_buf *b, const rp_run *r)
{
    const fl_jr_doc *d = r->d;
    if (!rp_bool(d, 0, "verdict.violation", false))
        return;
    rp_section_begin(b, "failure", "What failed", NULL);
    char s[64];
    if (!rp_bool(d, 0, "verdict.invariants_held", true))
        invariant(b, r);
    if (!strcmp(rp_str(d, 0, "verdict.linearizability", s, sizeof(s)), "not linearizable"))
        counterexample(b, r);
    if (rp_num(d, r->obs, "split_brain.same_term_violations", 0) > 0)
        fl_buf_put_str(b, "<p><b>Two leaders of one term</b> at once: the split-brain intervals "
                          "marked in red on the leadership chart.</p>\n");
    if (!rp_bool(d, 0, "verdict.live", true))
        fl_buf_printf(b,
                      "<p><b>Not live:</b> after everything healed at %.3f s, no write "
                      "succeeded within the liveness bound.</p>\n",
                      rp_num(d, 0, "verdict.heal_ns", 0) / 1e9);
    rp_section_end(b);
}
