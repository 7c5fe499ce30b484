/* shrink_out.c: what `faultline shrink` leaves behind (shrink.h): PREFIX.yaml, the minimal
 * scenario, and PREFIX-trace.txt, its run told around the violation so that it reads on its
 * own: the faults with whom they hit, every change of leader, the simulator's last events up
 * to the violation (each message delivered in a few words, with the receiving node's state
 * after it: role, term, vote, leader, commit, applied, durable, last index), and for a
 * linearizability violation the operations that cannot be ordered. The run is made again in a
 * child process with verbose tracing, stopped where the violation showed. */
#include "check_out.h"
#include "cli.h"
#include "shrink_int.h"
#include "sim_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_faults(const fl_run_result *r, fl_time_ns until, fl_buf *out)
{
    fl_buf_printf(out, "\nThe faults, as they ran (start, end, kind, whom they hit):\n");
    if (!r->n_faults)
        fl_buf_printf(out, "  none\n");
    for (size_t i = 0; i < r->n_faults; i++)
        if (r->faults[i].start_ns <= until)
            fl_buf_printf(out, "  %9.3f s  %9.3f s  %-20s %s\n",
                          (double)r->faults[i].start_ns / 1e9, (double)r->faults[i].end_ns / 1e9,
                          r->faults[i].kind, r->faults[i].targets);
}

static void put_leaders(const fl_run_result *r, fl_time_ns until, fl_buf *out)
{
    fl_buf_printf(out, "\nWho led (every change, up to %.6f s):\n", (double)until / 1e9);
    for (size_t i = 0; i < r->n_roles && r->roles[i].time_ns <= until; i++)
        fl_buf_printf(out, "  %12.6f s  node %u %s term %llu\n", (double)r->roles[i].time_ns / 1e9,
                      r->roles[i].node,
                      r->roles[i].is_leader ? "became leader of" : "stopped leading in",
                      (unsigned long long)r->roles[i].term);
}

/* The counterexample faultline check prints, for the history of r. */
static void put_cex(const fl_run_config *c, const fl_run_result *r, fl_buf *out)
{
    fl_lincheck_opts lo;
    fl_lincheck_opts_init(&lo);
    lo.model = c->workload == FL_RUN_KV ? FL_MODEL_KV : FL_MODEL_CAS_REGISTER;
    lo.threads = 1;
    lo.timeout_ns = 60 * FL_NS_PER_S;
    fl_lincheck_result lr;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f && fl_lincheck_run(&r->history, &lo, &lr, NULL) == 0) {
        check_show show = {.file = "the minimal run's history", .model = lo.model};
        check_print_result(f, &show, &r->history, &lr);
    }
    if (f) {
        fl_lincheck_result_free(&lr);
        fclose(f);
    }
    fl_buf_printf(out, "\nThe operations that cannot be linearized (as faultline check says):\n%s",
                  text ? text : "");
    free(text);
}

void shrink_trace_build(const fl_scenario *s, fl_time_ns stop_ns, shrink_outcome *oc, fl_buf *out)
{
    fl_run_config c = s->run;
    c.trace_verbose = true;
    c.stop_ns = stop_ns;
    fl_run_result r;
    memset(oc, 0, sizeof(*oc));
    oc->ran = fl_run(&c, &r) == 0;
    fl_buf_put_bytes(out, oc, sizeof(*oc));
    fl_time_ns until = r.violation ? r.violation_time_ns : r.end_ns;
    if (r.violation)
        fl_buf_printf(out, "The violation: %s (at %.6f s, event %llu)\n", r.violation_reason,
                      (double)r.violation_time_ns / 1e9, (unsigned long long)r.violation_event);
    else
        fl_buf_printf(out, "The run, stopped at %.6f s, where the violation showed.\n",
                      (double)until / 1e9);
    put_faults(&r, until, out);
    put_leaders(&r, until, out);
    fl_buf_printf(out,
                  "\nThe last events before it (event number, time, what, node; for a message: "
                  "from whom, its size, what it said, and the receiving node's state after it: "
                  "role F/P/C/L, term t, vote v, leader L, commit c, applied a, durable d, last "
                  "index):\n%s",
                  r.trace_tail);
    fl_run_result_free(&r);
    if (!stop_ns || !s->check_lin)
        return;
    c.trace_verbose = false;
    c.stop_ns = 0;
    if (fl_run(&c, &r) == 0)
        put_cex(&c, &r, out);
    fl_run_result_free(&r);
}

static int write_text(const char *dir, const char *name, const fl_buf *b)
{
    return sim_write_file(dir, name, b);
}

int shrink_write(const shrink_result *r, const char *dir, const char *prefix,
                 const char *start_name)
{
    char name[256], comment[4096], run_it[600];
    snprintf(run_it, sizeof(run_it), "faultline sim --scenario %s/%s.yaml", dir, prefix);
    snprintf(comment, sizeof(comment),
             "faultline scenario (docs/scenarios.md): the smallest run faultline shrink found\n"
             "that fails like %s: %s\n%s\nRun it: %s",
             start_name, r->min.what, r->removed, run_it);
    fl_buf b;
    fl_buf_init(&b);
    int rc = fl_scenario_write(&r->minimal, comment, &b);
    snprintf(name, sizeof(name), "%s.yaml", prefix);
    if (rc == 0)
        rc = write_text(dir, name, &b);
    fl_buf_reset(&b);
    /* safety violations stop the run by themselves; otherwise stop where it showed */
    bool stops = r->min.kind[0] && r->min.focus_ns < r->min.end_ns;
    fl_time_ns stop = stops && !strstr(r->min.what, "safety") ? r->min.focus_ns + FL_NS_PER_MS : 0;
    fl_buf_printf(&b,
                  "faultline shrink: the minimal run of %s, told around its violation.\n\n"
                  "Run it:     %s\nViolation:  %s\nFound in:   %u runs, %.1f s; %s\n\n",
                  start_name, run_it, r->min.what, r->runs, r->wall_s, r->removed);
    shrink_job job = {.trace = true, .stop_ns = stop, .seconds_max = 300};
    shrink_outcome oc;
    fl_buf text, err;
    fl_buf_init(&text);
    fl_buf_init(&err);
    if (rc == 0 && shrink_spawn(&r->minimal, &job, &oc, &text, &err) == 0) {
        if (oc.ran && text.len)
            fl_buf_put_bytes(&b, text.data, text.len);
        else /* it died: the simulator printed its trace with the assertion */
            fl_buf_printf(&b, "The run stopped on an assertion; what it printed:\n%.*s",
                          (int)err.len, err.data ? (const char *)err.data : "");
        snprintf(name, sizeof(name), "%s-trace.txt", prefix);
        rc = write_text(dir, name, &b);
    }
    fl_buf_free(&text);
    fl_buf_free(&err);
    fl_buf_free(&b);
    return rc ? -1 : 0;
}
