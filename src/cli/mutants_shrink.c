/* mutants_shrink.c: `faultline mutants --shrink` (mutants.h): each mutant's first failing
 * simulated kv run (the tuned hunt's, or the generic hunt's when the tuned one runs no kv runs)
 * shrunk within a budget (shrink.h), and the table of what was left: faults, operations and
 * run length before and after. The goal (docs/mutants.md): at most 3 faults and at most 10% of
 * the operations. */
#include "mutants.h"

#include "cli.h"
#include "shrink.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The hunt whose detection is shrunk: a kv run, the tuned one first. */
static const mutant_hunt *pick(const mutant_result *m, const char **name)
{
    if (m->tuned.ran && m->tuned.detected && m->tuned.kv) {
        *name = "tuned";
        return &m->tuned;
    }
    if (m->generic.ran && m->generic.detected && m->generic.kv) {
        *name = "generic";
        return &m->generic;
    }
    return NULL;
}

int mutants_shrink_one(const mutant_result *m, double seconds, const char *out_dir,
                       mutant_shrink *out)
{
    memset(out, 0, sizeof(*out));
    const mutant_hunt *h = pick(m, &out->hunt);
    if (!h) {
        snprintf(out->why, sizeof(out->why), "no kv run caught it (%s)",
                 m->tuned.ran && !m->tuned.kv ? m->tuned.spec : "not detected");
        return 0;
    }
    fl_scenario s;
    fl_scenario_init(&s);
    s.run = h->world;
    s.run.verbose = false;
    shrink_opts so = {.seconds_max = seconds};
    shrink_result r;
    fprintf(stderr, "faultline mutants: shrinking %s (%s seed %llu, %.0f s)\n", m->name, out->hunt,
            (unsigned long long)h->seed, seconds);
    int rc = shrink_run(&s, &so, &r);
    if (rc == 0) {
        out->ran = true;
        out->before = r.before;
        out->after = r.after;
        out->runs = r.runs;
        out->wall_s = r.wall_s;
        out->budget_spent = r.budget_spent;
        out->failed = r.start.violation;
        snprintf(out->kind, sizeof(out->kind), "%s", r.start.kind);
        snprintf(out->what, sizeof(out->what), "%s", r.min.what);
        out->goal = r.start.violation && r.after.faults <= 3 && r.after.ops * 10 <= r.before.ops;
        if (out_dir && r.start.violation) {
            char dir[1024];
            mkdir(out_dir, 0777);
            snprintf(dir, sizeof(dir), "%s/%s", out_dir, m->name);
            mkdir(dir, 0777);
            shrink_write(&r, dir, "minimal", h->repro);
            snprintf(out->file, sizeof(out->file), "%s/minimal.yaml", dir);
        }
    }
    shrink_result_free(&r);
    fl_scenario_free(&s);
    return rc ? FL_EXIT_USAGE : 0;
}

static void secs(char *out, size_t size, fl_time_ns ns)
{
    snprintf(out, size, "%.3g s", (double)ns / 1e9);
}

void mutants_shrink_print(const mutant_result *res, const mutant_shrink *sh, size_t n,
                          double budget)
{
    printf("\nshrunk (each mutant's first failing kv run, %.0f s of budget each):\n", budget);
    printf("%-26s %-8s %-10s %-18s %-18s %5s %6s  %s\n", "mutant", "hunt", "faults", "operations",
           "run length", "runs", "wall", "goal (<= 3 faults, <= 10% ops)");
    size_t met = 0, tried = 0;
    for (size_t i = 0; i < n; i++) {
        const mutant_shrink *s = &sh[i];
        if (!s->ran) {
            printf("%-26s %s\n", res[i].name, s->why);
            continue;
        }
        char f[32], o[48], l[48], a[16], b[16];
        snprintf(f, sizeof(f), "%u -> %u", s->before.faults, s->after.faults);
        snprintf(o, sizeof(o), "%llu -> %llu", (unsigned long long)s->before.ops,
                 (unsigned long long)s->after.ops);
        secs(a, sizeof(a), s->before.length_ns);
        secs(b, sizeof(b), s->after.length_ns);
        snprintf(l, sizeof(l), "%s -> %s", a, b);
        tried++;
        met += s->goal;
        printf("%-26s %-8s %-10s %-18s %-18s %5u %5.1fs  %s%s\n", res[i].name, s->hunt, f, o, l,
               s->runs, s->wall_s,
               !s->failed && s->budget_spent ? "did not finish within the budget"
               : !s->failed                  ? "did not fail again"
               : s->goal                     ? "met"
                                             : "MISSED",
               s->budget_spent ? " (budget out)" : "");
    }
    printf("goal met for %zu of %zu shrunk runs\n", met, tried);
}

void mutants_shrink_json(fl_json *j, const mutant_shrink *s)
{
    fl_json_key(j, "shrink");
    fl_json_obj_begin(j);
    fl_json_kv_bool(j, "ran", s->ran);
    if (!s->ran) {
        fl_json_kv_str(j, "why_not", s->why);
        fl_json_obj_end(j);
        return;
    }
    fl_json_kv_str(j, "hunt", s->hunt);
    fl_json_kv_str(j, "kind", s->kind);
    fl_json_kv_str(j, "verdict", s->what);
    fl_json_kv_uint(j, "faults_before", s->before.faults);
    fl_json_kv_uint(j, "faults_after", s->after.faults);
    fl_json_kv_uint(j, "ops_before", s->before.ops);
    fl_json_kv_uint(j, "ops_after", s->after.ops);
    fl_json_kv_uint(j, "length_before_ns", s->before.length_ns);
    fl_json_kv_uint(j, "length_after_ns", s->after.length_ns);
    fl_json_kv_uint(j, "nodes_before", s->before.nodes);
    fl_json_kv_uint(j, "nodes_after", s->after.nodes);
    fl_json_kv_uint(j, "runs", s->runs);
    fl_json_kv_double(j, "wall_s", s->wall_s);
    fl_json_kv_bool(j, "budget_spent", s->budget_spent);
    fl_json_kv_bool(j, "goal_met", s->goal);
    if (s->file[0])
        fl_json_kv_str(j, "minimal", s->file);
    fl_json_obj_end(j);
}
