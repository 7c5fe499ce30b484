/* cmd_shrink.c: `faultline shrink DIR|FILE`: a failing simulated run made smaller (shrink.h):
 * the scenario a run wrote (DIR/scenario.yaml) or any scenario file, searched within a budget
 * of time or runs for the smallest scenario that fails the same way; it prints what it removed
 * and writes minimal.yaml and minimal-trace.txt. */
#include "cli.h"
#include "cli_opt.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "shrink.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: faultline shrink DIR|FILE [options]\n\n"
            "Makes a failing simulated run smaller: DIR/scenario.yaml (what every `faultline sim\n"
            "--out DIR` writes) or a scenario FILE is run, then smaller scenarios are tried one\n"
            "change at a time, each kept when it fails with the same kind of violation (the\n"
            "same invariant, not linearizable, liveness, disruption, the same assertion): the\n"
            "run cut short, faults dropped and shortened, fewer operations, nodes (5 to 3),\n"
            "clients, a lower rate, fewer keys. Deterministic: the same file and budget of runs\n"
            "give the same result.\n\n"
            "options:\n"
            "  --budget B     stop after B: a time (60s, 5m) or a number of runs (200runs);\n"
            "                 repeatable (the first reached ends it); default 60s\n"
            "  --out DIR      where minimal.yaml and minimal-trace.txt go (default: DIR, or\n"
            "                 the file's directory)\n"
            "  --quiet        print only the result\n\n");
    fl_cli_exit_help(f, "the run does not fail (nothing to shrink)",
                     "the run fails and the smallest failing scenario was written",
                     "the run as given did not finish within the budget");
}

typedef struct shrink_args {
    const char *target, *out;
    shrink_opts so;
    bool budget_set, quiet;
} shrink_args;

/* "60s", "5m" (time) or "200runs", "200 runs" (runs). */
static int parse_budget(shrink_args *a, const char *v)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    while (*end == ' ')
        end++;
    if (end != v && n > 0 && (!strcmp(end, "runs") || !strcmp(end, "run"))) {
        a->so.runs_max = n;
        return 0;
    }
    fl_time_ns t;
    if (fl_parse_duration(v, &t) || t < FL_NS_PER_S)
        return fl_cli_bad("shrink", "--budget", v,
                          "expected a time of at least 1s (60s, 5m) or a number of runs "
                          "(200runs)");
    a->so.seconds_max = (double)t / 1e9;
    return 0;
}

static int parse_args(shrink_args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(k, "--quiet") || !strcmp(k, "-q")) {
            a->quiet = true;
        } else if (!strcmp(k, "--budget") || !strcmp(k, "--out")) {
            if (i + 1 >= argc)
                return fl_cli_no_value("shrink", k);
            const char *v = argv[++i];
            int rc =
                !strcmp(k, "--out") ? fl_cli_out_dir("shrink", k, a->out = v) : parse_budget(a, v);
            if (rc)
                return rc;
            a->budget_set |= !strcmp(k, "--budget");
        } else if (k[0] != '-' && !a->target) {
            a->target = k;
        } else {
            return fl_cli_unexpected("shrink", k);
        }
    }
    if (!a->target)
        return fl_cli_error("shrink", FL_EXIT_USAGE, "which run? faultline shrink DIR|FILE");
    if (!a->budget_set)
        a->so.seconds_max = 60;
    return 0;
}

static int report(const shrink_args *a, const shrink_result *r, const char *file, const char *dir)
{
    if (r->start.timed_out) {
        printf("faultline shrink: %s did not finish within the budget (%.1f s): give a larger "
               "--budget\n",
               file, r->wall_s);
        return FL_EXIT_UNKNOWN;
    }
    if (!r->start.violation) {
        printf("faultline shrink: %s does not fail (%s): nothing to shrink\n", file,
               r->start.ran ? r->start.what : "it did not run");
        return 0;
    }
    printf("minimal    %s\n           in %u runs, %.1f s (%s)\n", r->removed, r->runs, r->wall_s,
           r->budget_spent ? "the budget ran out" : "nothing smaller fails the same way");
    printf("verdict    %s\n", r->min.what);
    if (shrink_write(r, dir, "minimal", file))
        return FL_EXIT_IOERR;
    printf("wrote      %s/minimal.yaml, %s/minimal-trace.txt (the events around the violation)\n"
           "reproduce: faultline sim --scenario %s/minimal.yaml\n",
           dir, dir, dir);
    (void)a;
    return FL_EXIT_VIOLATION;
}

int fl_cmd_shrink(int argc, char **argv)
{
    shrink_args a = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!fl_scenario_readable())
        return fl_cli_error("shrink", FL_EXIT_UNAVAILABLE,
                            "this faultline was built without libyaml, which reads scenario "
                            "files (apt-get install libyaml-dev pkg-config, then make)");
    struct stat st;
    if (stat(a.target, &st) != 0)
        return fl_cli_error("shrink", FL_EXIT_NOINPUT, "%s: %s", a.target, strerror(errno));
    char file[4096], dir[4096];
    bool is_dir = stat(a.target, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(file, sizeof(file), is_dir ? "%s/scenario.yaml" : "%s", a.target);
    snprintf(dir, sizeof(dir), "%s", a.target);
    snprintf(dir, sizeof(dir), "%s", a.out ? a.out : is_dir ? a.target : dirname(dir));
    fl_scenario s;
    char err[FL_SCENARIO_ERR_MAX];
    if ((rc = fl_scenario_load(&s, file, err, sizeof(err))) != 0) {
        fl_scenario_free(&s);
        int code = rc == FL_EIO      ? FL_EXIT_NOINPUT
                   : rc == FL_ENOMEM ? FL_EXIT_OSERR
                                     : FL_EXIT_DATAERR;
        return fl_cli_error("shrink", code, "%s", err);
    }
    a.so.log = a.quiet ? NULL : stdout;
    if (!a.quiet) {
        printf("faultline shrink: %s, budget", file);
        if (a.so.seconds_max > 0)
            printf(" %.0f s", a.so.seconds_max);
        if (a.so.runs_max)
            printf("%s %llu runs", a.so.seconds_max > 0 ? " or" : "",
                   (unsigned long long)a.so.runs_max);
        printf("\n");
    }
    shrink_result r;
    rc = shrink_run(&s, &a.so, &r);
    if (rc == 0)
        rc = report(&a, &r, file, dir);
    else
        rc = fl_cli_error("shrink", fl_cli_exit_of(rc), "the search failed: %s", fl_strerror(rc));
    shrink_result_free(&r);
    fl_scenario_free(&s);
    return rc;
}
