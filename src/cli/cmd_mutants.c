/* cmd_mutants.c: `faultline mutants`: every planted Raft bug of the catalogue (and those of
 * the kv side the catalogue has a campaign for: program order), each hunted by
 * a campaign of simulated runs until a check catches it; a table (and JSON) of how fast and
 * by which check, with the command that reproduces each detection. Exit 0 only if every
 * mutant was caught and every control (the same seeds, no mutant) was clean. */
#include "cli.h"
#include "faultline/buf.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/json.h"
#include "faultline/raft.h"
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
               "Proves the checks can fail: for every planted Raft bug (mutant), runs simulated\n"
               "kv runs (`faultline sim --mutant NAME ...`, seed after seed, on all cores) until\n"
               "one is caught by the invariant checks, the split-brain detector, the\n"
               "linearizability checker or the liveness probe; then runs the same seeds without\n"
               "the mutant (the control), which must find nothing. Prints, per mutant: seeds\n"
               "until the first detection, the check that caught it, and the command that\n"
               "reproduces it.\n\n"
               "options:\n"
               "  --max-seeds N     give up on a mutant after N seeds (200)\n"
               "  --first-seed S    the first seed of every campaign (1)\n"
               "  --mutant NAME     only this mutant (repeatable); the catalogue: ");
    const uint32_t *bits;
    size_t n = fl_raft_mutant_list(&bits);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", fl_raft_mutant_name(bits[i]));
    const char *const *names;
    n = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n; i++)
        if (mutants_has_spec(names[i]))
            fprintf(f, ", %s", names[i]);
    fprintf(f, "\n"
               "  --jobs N          worker processes (number of cores)\n"
               "  --no-control      skip the runs without the mutant\n"
               "  --json FILE       also write the table as JSON\n\n"
               "exit status: 0 every mutant caught and every control clean, 1 otherwise,\n"
               "2 bad usage.\n");
}

typedef struct args {
    mutants_opts mo;
    uint32_t only;       /* mutant bits, 0 = all */
    uint32_t only_named; /* the kv side's, by place in fl_run_mutant_list */
    const char *json;
} args;

/* A kv-side mutant the catalogue hunts, as a bit of args.only_named; 0 if none. */
static uint32_t named_bit(const char *name)
{
    const char *const *names;
    size_t n = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n && i < 32; i++)
        if (!strcmp(names[i], name) && mutants_has_spec(name))
            return 1u << i;
    return 0;
}

static int parse_args(args *a, int argc, char **argv)
{
    *a = (args){.mo = {.first_seed = 1, .max_seeds = 200, .control = true}};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(opt, "--no-control")) {
            a->mo.control = false;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "faultline mutants: unknown option or missing value: %s\n", opt);
            return FL_EXIT_USAGE;
        }
        const char *v = argv[++i];
        uint64_t u;
        if (!strcmp(opt, "--max-seeds") || !strcmp(opt, "--first-seed") || !strcmp(opt, "--jobs")) {
            bool seeds = !strcmp(opt, "--max-seeds"), jobs = !strcmp(opt, "--jobs");
            uint64_t max = seeds ? SEEDS_MAX : jobs ? 256 : UINT64_MAX - SEEDS_MAX;
            if (fl_parse_u64(v, seeds || jobs ? 1 : 0, max, &u)) {
                fprintf(stderr, "faultline mutants: %s %s: expected a whole number up to %llu\n",
                        opt, v, (unsigned long long)max);
                return FL_EXIT_USAGE;
            }
            if (seeds)
                a->mo.max_seeds = u;
            else if (jobs)
                a->mo.jobs = (uint32_t)u;
            else
                a->mo.first_seed = u;
        } else if (!strcmp(opt, "--mutant")) {
            uint32_t bit = fl_raft_mutant_parse(v), named = named_bit(v);
            if (!bit && !named) {
                fprintf(stderr, "faultline mutants: --mutant %s: unknown (see --help)\n", v);
                return FL_EXIT_USAGE;
            }
            a->only |= bit;
            a->only_named |= named;
        } else if (!strcmp(opt, "--json")) {
            a->json = v;
        } else {
            fprintf(stderr, "faultline mutants: unknown option '%s' (see --help)\n", opt);
            return FL_EXIT_USAGE;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Seeds to detection, an undetected mutant counting as max_seeds + 1. */
static double median_seeds(const mutant_result *res, size_t n, uint64_t max_seeds)
{
    if (!n)
        return 0;
    uint64_t v[64];
    for (size_t i = 0; i < n; i++)
        v[i] = res[i].detected ? res[i].seeds_run : max_seeds + 1;
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

static const char *control_text(const mutant_result *r, char *buf, size_t cap)
{
    if (!r->control_run)
        return r->detected ? "not run" : "-";
    if (r->control_clean)
        snprintf(buf, cap, "clean");
    else
        snprintf(buf, cap, "VIOLATION at seed %llu", (unsigned long long)r->control_seed);
    return buf;
}

static void print_table(const mutant_result *res, size_t n, const args *a, double wall)
{
    int w = 6; /* the name column fits the longest name */
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(res[i].name) > w)
            w = (int)strlen(res[i].name);
    printf("\n%-*s %-8s %6s  %-26s %-8s %7s\n", w, "mutant", "caught", "seeds", "check", "control",
           "wall s");
    char seeds[32], ctl[64];
    for (size_t i = 0; i < n; i++) {
        const mutant_result *r = &res[i];
        if (r->detected)
            snprintf(seeds, sizeof(seeds), "%llu", (unsigned long long)r->seeds_run);
        else
            snprintf(seeds, sizeof(seeds), ">%llu", (unsigned long long)r->seeds_run);
        printf("%-*s %-8s %6s  %-26s %-8s %7.1f\n", w, r->name, r->detected ? "yes" : "NO", seeds,
               r->detected ? r->check : "-", control_text(r, ctl, sizeof(ctl)), r->wall_s);
    }
    printf("\nmedian seeds to detection %.1f (limit %llu); %.1f s wall\n",
           median_seeds(res, n, a->mo.max_seeds), (unsigned long long)a->mo.max_seeds, wall);
    for (size_t i = 0; i < n; i++) {
        const mutant_result *r = &res[i];
        if (r->detected)
            printf("  %s: %s\n    %s\n", r->name, r->what, r->repro);
        else
            printf("  %s: NOT CAUGHT in %llu seeds of: faultline sim --mutant %s %s\n", r->name,
                   (unsigned long long)r->seeds_run, r->name, r->spec);
        if (r->control_run && !r->control_clean)
            printf("    control (no mutant) seed %llu: %s\n", (unsigned long long)r->control_seed,
                   r->control_what);
        if (r->workers_died)
            printf("    %d worker process(es) died: a crash is a finding too\n", r->workers_died);
    }
}

static void json_one(fl_json *j, const mutant_result *r)
{
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "mutant", r->name);
    fl_json_kv_str(j, "spec", r->spec);
    fl_json_kv_bool(j, "detected", r->detected);
    fl_json_kv_uint(j, "seeds", r->seeds_run);
    if (r->detected) {
        fl_json_kv_uint(j, "seed", r->seed);
        fl_json_kv_str(j, "check", r->check);
        fl_json_kv_str(j, "verdict", r->what);
        fl_json_kv_uint(j, "stale_reads", r->stale_reads);
        fl_json_kv_str(j, "reproduce", r->repro);
    }
    if (r->control_run) {
        fl_json_kv_bool(j, "control_clean", r->control_clean);
        if (!r->control_clean)
            fl_json_kv_str(j, "control_verdict", r->control_what);
    }
    fl_json_kv_int(j, "workers_died", r->workers_died);
    fl_json_kv_double(j, "wall_s", r->wall_s);
    fl_json_obj_end(j);
}

static int write_json(const char *path, const mutant_result *res, size_t n, const args *a,
                      double wall)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "first_seed", a->mo.first_seed);
    fl_json_kv_uint(&j, "max_seeds", a->mo.max_seeds);
    fl_json_kv_double(&j, "median_seeds", median_seeds(res, n, a->mo.max_seeds));
    fl_json_kv_double(&j, "wall_s", wall);
    fl_json_key(&j, "mutants");
    fl_json_arr_begin(&j);
    for (size_t i = 0; i < n; i++)
        json_one(&j, &res[i]);
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

/* One mutant's campaign and control (bit 0: a kv-side mutant, by name). */
static int hunt(const args *a, const char *name, uint32_t bit, mutant_result *out)
{
    fprintf(stderr, "faultline mutants: %s: faultline sim --mutant %s %s\n", name, name,
            mutants_spec(name));
    return bit ? mutants_run_one(&a->mo, bit, out) : mutants_run_named(&a->mo, name, out);
}

static bool good(const mutant_result *r)
{
    return r->detected && (!r->control_run || r->control_clean) && r->workers_died == 0;
}

int fl_cmd_mutants(int argc, char **argv)
{
    args a;
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    const uint32_t *bits;
    size_t n_all = fl_raft_mutant_list(&bits);
    mutant_result res[64];
    size_t n = 0;
    double t0 = wall_now();
    bool all_good = true;
    for (size_t i = 0; i < n_all && n < 64; i++) {
        if ((a.only || a.only_named) && !(a.only & bits[i]))
            continue;
        if (hunt(&a, fl_raft_mutant_name(bits[i]), bits[i], &res[n]))
            return FL_EXIT_USAGE;
        all_good &= good(&res[n++]);
    }
    const char *const *names;
    size_t n_named = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n_named && i < 32 && n < 64; i++) {
        if (!mutants_has_spec(names[i]) || ((a.only || a.only_named) && !(a.only_named >> i & 1)))
            continue;
        if (hunt(&a, names[i], 0, &res[n]))
            return FL_EXIT_USAGE;
        all_good &= good(&res[n++]);
    }
    double wall = wall_now() - t0;
    print_table(res, n, &a, wall);
    if (a.json && write_json(a.json, res, n, &a, wall))
        return FL_EXIT_USAGE;
    return all_good ? 0 : FL_EXIT_VIOLATION;
}
