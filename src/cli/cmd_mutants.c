/* cmd_mutants.c: `faultline mutants`: every planted bug of the catalogue (Raft's, Paxos's,
 * the kv side's), each hunted by
 * a campaign of simulated runs until a check catches it; a table (and JSON) of how fast and
 * by which check, with the command that reproduces each detection. Exit 0 only if every
 * mutant was caught and every control (the same seeds, no mutant) was clean. */
#include "cli.h"
#include "cli_opt.h"
#include "faultline/buf.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/hist.h"
#include "faultline/json.h"
#include "mutants.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEEDS_MAX 100000

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline mutants [options]\n\n"
               "Proves the checks can fail: for every planted bug (mutant) of Raft and Paxos,\n"
               "runs simulated kv runs (`faultline sim --mutant NAME ...`, seed after seed, on\n"
               "all cores) until\n"
               "one is caught by the invariant checks, the split-brain detector, the\n"
               "linearizability checker, the liveness probe, or an assertion of the code itself;\n"
               "then runs the same seeds without the mutant (the control), which must find\n"
               "nothing. Prints, per mutant: seeds until the first detection, the check that\n"
               "caught it, and the command that reproduces it.\n\n"
               "The tuned hunt runs options chosen for each mutant (docs/mutants.md); the generic\n"
               "hunt (--generic) runs the default swarm campaign for every one of them, the one\n"
               "`faultline sim --seeds A..B` runs, and shows it in a column beside.\n\n"
               "options:\n"
               "  --max-seeds N     give up on a mutant after N seeds (200)\n"
               "  --first-seed S    the first seed of every campaign (1)\n"
               "  --mutant NAME     only this mutant (repeatable); the catalogue: ");
    const mutant_kind *k;
    size_t n = mutants_catalogue(&k);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", k[i].name);
    fprintf(f, "\n"
               "  --generic         the generic hunt too (the default swarm campaign)\n"
               "  --no-tuned        only the generic hunt\n"
               "  --jobs N          worker processes (number of cores)\n"
               "  --no-control      skip the runs without the mutant\n"
               "  --json FILE       also write the table as JSON\n"
               "  --shrink          shrink each mutant's first failing kv run (faultline shrink)\n"
               "                    and show what was left: faults, operations, run length\n"
               "  --shrink-budget D time to shrink each (60s)\n"
               "  --shrink-out DIR  write each minimal scenario to DIR/MUTANT/minimal.yaml\n");
    fl_cli_exit_help(f, "every mutant caught by every hunt and every control clean",
                     "a mutant not caught, or a control not clean", NULL);
}

typedef struct args {
    mutants_opts mo;
    bool only[64]; /* catalogue entries chosen by --mutant */
    bool some;     /* any --mutant: only those */
    const char *json;
    bool shrink;
    double shrink_s;
    const char *shrink_out;
} args;

/* Options without a value; false if opt is none of them. */
static bool flag(args *a, const char *opt)
{
    if (!strcmp(opt, "--no-control"))
        a->mo.control = false;
    else if (!strcmp(opt, "--generic"))
        a->mo.generic = true;
    else if (!strcmp(opt, "--no-tuned"))
        a->mo.tuned = false;
    else if (!strcmp(opt, "--shrink"))
        a->shrink = true;
    else
        return false;
    return true;
}

static int parse_args(args *a, int argc, char **argv)
{
    *a = (args){.mo = {.first_seed = 1, .max_seeds = 200, .control = true, .tuned = true},
                .shrink_s = 60};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return -1;
        }
        if (flag(a, opt))
            continue;
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!v && (!strcmp(opt, "--max-seeds") || !strcmp(opt, "--first-seed") ||
                   !strcmp(opt, "--jobs") || !strcmp(opt, "--mutant") || !strcmp(opt, "--json")))
            return fl_cli_no_value("mutants", opt);
        if (!v)
            return fl_cli_unexpected("mutants", opt);
        i++;
        if (!strcmp(opt, "--max-seeds") || !strcmp(opt, "--first-seed") || !strcmp(opt, "--jobs")) {
            bool seeds = !strcmp(opt, "--max-seeds"), jobs = !strcmp(opt, "--jobs");
            uint64_t max = seeds ? SEEDS_MAX : jobs ? 256 : UINT64_MAX - SEEDS_MAX;
            if (fl_cli_u64("mutants", opt, v, seeds || jobs ? 1 : 0, max, &u))
                return FL_EXIT_USAGE;
            if (seeds)
                a->mo.max_seeds = u;
            else if (jobs)
                a->mo.jobs = (uint32_t)u;
            else
                a->mo.first_seed = u;
        } else if (!strcmp(opt, "--mutant")) {
            const mutant_kind *all, *k = mutants_find(v);
            if (!k)
                return fl_cli_bad("mutants", opt, v, "not a mutant of the catalogue (see --help)");
            mutants_catalogue(&all);
            a->only[k - all] = a->some = true;
        } else if (!strcmp(opt, "--json")) { /* written at the end: found unwritable now */
            int rc = fl_cli_out_file("mutants", opt, a->json = v);
            if (rc)
                return rc;
        } else if (!strcmp(opt, "--shrink-out")) {
            int rc = fl_cli_out_dir("mutants", opt, a->shrink_out = v);
            if (rc)
                return rc;
        } else if (!strcmp(opt, "--shrink-budget")) {
            fl_time_ns t;
            if (fl_parse_duration(v, &t) || t < FL_NS_PER_S) {
                fprintf(stderr, "faultline mutants: --shrink-budget %s: a time of at least 1s\n",
                        v);
                return FL_EXIT_USAGE;
            }
            a->shrink_s = (double)t / 1e9;
        } else {
            return fl_cli_unexpected("mutants", opt);
        }
    }
    if (!a->mo.tuned && !a->mo.generic) {
        fprintf(stderr, "faultline mutants: --no-tuned goes with --generic\n");
        return FL_EXIT_USAGE;
    }
    return 0;
}

/* The hunt of r that column generic shows. */
static const mutant_hunt *hunt_of(const mutant_result *r, bool generic)
{
    return generic ? &r->generic : &r->tuned;
}

/* Seeds to detection, an undetected mutant counting as max_seeds + 1: the median over the
 * catalogue, by the project's histogram like every percentile. */
static double median_seeds(const mutant_result *res, size_t n, bool generic, uint64_t max_seeds)
{
    fl_hist h;
    fl_hist_init(&h);
    for (size_t i = 0; i < n; i++) {
        const mutant_hunt *m = hunt_of(&res[i], generic);
        fl_hist_record(&h, m->detected ? m->seeds_run : max_seeds + 1);
    }
    return (double)fl_hist_percentile(&h, 50);
}

static bool hunt_good(const mutant_hunt *m)
{
    return m->detected && (!m->control_run || m->control_clean);
}

static const char *control_text(const mutant_hunt *m, char *buf, size_t cap)
{
    if (!m->control_run)
        return m->detected ? "not run" : "-";
    if (m->control_clean)
        snprintf(buf, cap, "clean");
    else
        snprintf(buf, cap, "VIOLATION@%llu", (unsigned long long)m->control_seed);
    return buf;
}

/* "12  leader completeness  clean" for one hunt (or its absence). */
static void cell(const mutant_hunt *m, char *out, size_t cap)
{
    char seeds[32], ctl[64];
    if (!m->ran) {
        snprintf(out, cap, "%-6s %-24s %-9s", "", "", "");
        return;
    }
    snprintf(seeds, sizeof(seeds), "%s%llu", m->detected ? "" : ">",
             (unsigned long long)m->seeds_run);
    snprintf(out, cap, "%6s %-24.24s %-9s", seeds, m->detected ? m->check : "NOT CAUGHT",
             control_text(m, ctl, sizeof(ctl)));
}

static void print_details(const mutant_result *r, const mutant_hunt *m, const char *hunt)
{
    if (!m->ran)
        return;
    if (m->detected)
        printf("  %s (%s): %s\n    %s\n", r->name, hunt, m->what, m->repro);
    else
        printf("  %s (%s): NOT CAUGHT in %llu seeds of: faultline sim %s %s\n", r->name, hunt,
               (unsigned long long)m->seeds_run, m->spec[0] ? m->spec : "--seeds A..B (the swarm)",
               mutants_find(r->name)->args);
    if (m->control_run && !m->control_clean)
        printf("    control (no mutant) seed %llu: %s\n", (unsigned long long)m->control_seed,
               m->control_what);
    if (m->crashes)
        printf("    %d seed(s) crashed (an assertion or a signal): a finding either way\n",
               m->crashes);
}

static void print_summary_line(const mutant_result *res, size_t n, const args *a, bool generic)
{
    size_t caught = 0;
    for (size_t i = 0; i < n; i++)
        caught += hunt_good(hunt_of(&res[i], generic));
    printf("%s: %zu of %zu caught within %llu seeds, controls clean; median seeds to detection "
           "%.0f\n",
           generic ? "generic (swarm)" : "tuned", caught, n, (unsigned long long)a->mo.max_seeds,
           median_seeds(res, n, generic, a->mo.max_seeds));
}

static void print_table(const mutant_result *res, size_t n, const args *a, double wall)
{
    int w = 6; /* the name column fits the longest name */
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(res[i].name) > w)
            w = (int)strlen(res[i].name);
    printf("\n%-*s %-8s  %-41s  %-41s\n", w, "", "", a->mo.tuned ? "tuned hunt" : "",
           a->mo.generic ? "generic hunt (the default swarm campaign)" : "");
    printf("%-*s %-8s  %6s %-24s %-9s  %6s %-24s %-9s\n", w, "mutant", "protocol", "seeds", "check",
           "control", "seeds", "check", "control");
    char t[128], g[128];
    for (size_t i = 0; i < n; i++) {
        cell(&res[i].tuned, t, sizeof(t));
        cell(&res[i].generic, g, sizeof(g));
        printf("%-*s %-8s  %s  %s\n", w, res[i].name, res[i].protocol, t, g);
    }
    printf("\n");
    if (a->mo.tuned)
        print_summary_line(res, n, a, false);
    if (a->mo.generic)
        print_summary_line(res, n, a, true);
    printf("%.1f s wall\n", wall);
    for (size_t i = 0; i < n; i++) {
        print_details(&res[i], &res[i].tuned, "tuned");
        print_details(&res[i], &res[i].generic, "generic");
    }
}

static void json_hunt(fl_json *j, const mutant_hunt *m)
{
    fl_json_kv_str(j, "spec", m->spec);
    fl_json_kv_bool(j, "detected", m->detected);
    fl_json_kv_uint(j, "seeds", m->seeds_run);
    if (m->detected) {
        fl_json_kv_uint(j, "seed", m->seed);
        fl_json_kv_str(j, "check", m->check);
        fl_json_kv_str(j, "verdict", m->what);
        fl_json_kv_uint(j, "stale_reads", m->stale_reads);
        fl_json_kv_str(j, "reproduce", m->repro);
    }
    if (m->control_run) {
        fl_json_kv_bool(j, "control_clean", m->control_clean);
        if (!m->control_clean)
            fl_json_kv_str(j, "control_verdict", m->control_what);
    }
    fl_json_kv_int(j, "crashes", m->crashes);
    fl_json_kv_double(j, "wall_s", m->wall_s);
}

/* The tuned hunt's fields at the top level (as before the generic hunt existed), the generic
 * hunt's in "generic", the shrunk run's in "shrink". */
static void json_one(fl_json *j, const mutant_result *r, const mutant_shrink *sh)
{
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "mutant", r->name);
    fl_json_kv_str(j, "protocol", r->protocol);
    if (r->tuned.ran)
        json_hunt(j, &r->tuned);
    if (r->generic.ran) {
        fl_json_key(j, "generic");
        fl_json_obj_begin(j);
        json_hunt(j, &r->generic);
        fl_json_obj_end(j);
    }
    if (sh)
        mutants_shrink_json(j, sh);
    fl_json_obj_end(j);
}

static int write_json(const char *path, const mutant_result *res, const mutant_shrink *sh, size_t n,
                      const args *a, double wall)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "first_seed", a->mo.first_seed);
    fl_json_kv_uint(&j, "max_seeds", a->mo.max_seeds);
    if (a->mo.tuned)
        fl_json_kv_double(&j, "median_seeds", median_seeds(res, n, false, a->mo.max_seeds));
    if (a->mo.generic)
        fl_json_kv_double(&j, "generic_median_seeds", median_seeds(res, n, true, a->mo.max_seeds));
    fl_json_kv_double(&j, "wall_s", wall);
    fl_json_key(&j, "mutants");
    fl_json_arr_begin(&j);
    for (size_t i = 0; i < n; i++)
        json_one(&j, &res[i], a->shrink ? &sh[i] : NULL);
    fl_json_arr_end(&j);
    fl_json_obj_end(&j);
    fl_buf_put_u8(&b, '\n');
    FILE *f = b.err ? NULL : fopen(path, "w");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "faultline mutants: cannot write %s: %s\n", path,
                b.err ? "out of memory" : strerror(errno));
    fl_buf_free(&b);
    return ok ? 0 : -1;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fl_cmd_mutants(int argc, char **argv)
{
    args a;
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    const mutant_kind *kinds;
    size_t n_all = mutants_catalogue(&kinds);
    static mutant_result res[64];
    static mutant_shrink shr[64];
    size_t n = 0;
    double t0 = wall_now();
    bool all_good = true;
    for (size_t i = 0; i < n_all && n < 64; i++) {
        if (a.some && !a.only[i])
            continue;
        const char *name = kinds[i].name;
        fprintf(stderr, "faultline mutants: %s:%s%s%s%s%s%s\n", name,
                a.mo.tuned ? " tuned: faultline sim " : "", a.mo.tuned ? mutants_spec(name) : "",
                a.mo.tuned ? " " : "", a.mo.tuned ? kinds[i].args : "",
                a.mo.tuned && a.mo.generic ? ";" : "", a.mo.generic ? " generic: the swarm" : "");
        if ((rc = mutants_run_one(&a.mo, &kinds[i], &res[n])))
            return rc;
        if (a.shrink && mutants_shrink_one(&res[n], a.shrink_s, a.shrink_out, &shr[n]))
            return FL_EXIT_SOFTWARE;
        const mutant_result *r = &res[n++];
        all_good &=
            (!a.mo.tuned || hunt_good(&r->tuned)) && (!a.mo.generic || hunt_good(&r->generic));
    }
    double wall = wall_now() - t0;
    print_table(res, n, &a, wall);
    if (a.shrink)
        mutants_shrink_print(res, shr, n, a.shrink_s);
    if (a.json && write_json(a.json, res, shr, n, &a, wall))
        return FL_EXIT_IOERR;
    return all_good ? 0 : FL_EXIT_VIOLATION;
}
