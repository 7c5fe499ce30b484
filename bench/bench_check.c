/* bench_check.c: time and memory of the checker on generated histories (src/check/histgen.c).
 *
 *   - register and kv (1,000 keys): 10k, 100k and 1M ops with 5, 10 and 50 processes, 1% of
 *     ops ending in info and 1% of writes failing; writes write distinct values;
 *   - cas-register with values 0..4 as in Jepsen's cas-register workload (20% cas), where
 *     values repeat and the search has more to do;
 *   - append-bad: 4,000 lines from 50 processes over 10 keys (get / put / append, a missing
 *     key read as ""), 8 of the 10 keys broken (a get returns its value with the last append
 *     twice), as the multi-client append histories of published kv test suites: the default
 *     run (stop at the first key proven not linearizable), then --all-keys.
 *
 * Every configuration is checked for linearizability, then for sequential consistency, each
 * in its own child process so that its peak RSS (getrusage ru_maxrss: history + checker) is
 * its own.
 *
 *   build/bench/bench_check [--threads N] [--max-ops N] [--case C] [--timeout S]
 *                           [--memory-max MIB] [--write FILE]
 *
 * C is register, kv, cas-register or append-bad (default: all). One line per configuration and
 * consistency model: verdict, generation time, check wall time, ops per second, memory peak
 * (memos and prepared keys) and process peak RSS. */
#include "faultline/duration.h"
#include "faultline/histgen.h"
#include "faultline/lincheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static fl_time_ns timeout_ns = 60 * FL_NS_PER_S;
static uint64_t memory_max = 1ull << 30;
static const char *write_path; /* --write: the generated history, as JSON lines */

typedef struct bench_case {
    const char *name;
    fl_model model;
    uint32_t ops, procs, keys;
    bool append_bad;
    bool all_keys;
} bench_case;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void gen_opts(const bench_case *c, fl_history *h, fl_histgen_opts *o)
{
    fl_histgen_opts_init(o);
    o->model = c->model;
    o->ops = c->ops;
    o->processes = c->procs;
    o->keys = c->keys;
    o->read_ratio = 0.5;
    o->info_ratio = 0.01;
    o->fail_ratio = 0.01;
    o->deletes = !c->append_bad;
    o->seed = 42;
    o->value_range = c->model == FL_MODEL_CAS_REGISTER ? 5 : 0; /* Jepsen's cas-register */
    o->cas_ratio = c->model == FL_MODEL_CAS_REGISTER ? 0.2 : c->append_bad ? 0 : 0.1;
    if (c->append_bad) {
        o->appends = true;
        o->append_ratio = 0.8;
        o->info_ratio = 0;
        o->fail_ratio = 0;
        o->stuck_ratio = 0.1; /* about 20 of a key's 200 ops answered only at the end */
        fl_value_str(h, "", 0, &o->initial);
    }
}

/* Breaks 8 of the 10 keys as a server that lost its state would: the last get of each key
 * returns "", the initial value, long after appends to it were acknowledged. */
static int break_appends(fl_history *h)
{
    fl_op *ops;
    size_t n;
    int rc = fl_history_ops(h, &ops, &n, NULL);
    fl_value empty;
    if (!rc)
        rc = fl_value_str(h, "", 0, &empty);
    for (uint32_t k = 2; k < 10 && !rc; k++) {
        char name[8];
        snprintf(name, sizeof(name), "k%u", k);
        uint32_t key;
        rc = fl_history_intern(h, name, strlen(name), &key);
        const fl_op *last = NULL;
        for (size_t i = 0; i < n; i++)
            if (ops[i].key == key && ops[i].f == FL_F_GET && ops[i].outcome == FL_EV_OK &&
                ops[i].ret != FL_EV_NONE && (!last || ops[i].ret > last->ret))
                last = &ops[i];
        if (last && !rc)
            h->events[last->ret].value = empty;
    }
    free(ops);
    return rc;
}

static int run_one(const bench_case *c, fl_consistency cons, unsigned threads)
{
    fl_history h;
    fl_history_init(&h);
    fl_histgen_opts o;
    gen_opts(c, &h, &o);
    double t0 = now_s();
    if (fl_histgen_run(&h, &o) || (c->append_bad && break_appends(&h)))
        return 1;
    double gen_s = now_s() - t0;
    if (write_path) {
        fl_buf b;
        fl_buf_init(&b);
        FILE *f = fopen(write_path, "wb");
        bool ok = f && !fl_history_write_jsonl(&h, &b) && fwrite(b.data, 1, b.len, f) == b.len;
        ok = f && !fclose(f) && ok;
        fl_buf_free(&b);
        if (!ok)
            fprintf(stderr, "bench_check: cannot write %s\n", write_path);
    }
    fl_lincheck_opts lo;
    fl_lincheck_opts_init(&lo);
    lo.model = c->model;
    lo.consistency = cons;
    lo.initial = o.initial;
    lo.all_keys = c->all_keys;
    lo.threads = threads;
    lo.timeout_ns = timeout_ns;
    lo.memory_max_bytes = memory_max;
    fl_lincheck_result r;
    t0 = now_s();
    int rc = fl_lincheck_run(&h, &lo, &r, NULL);
    double check_s = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char what[32];
    snprintf(what, sizeof(what), "%s%s", c->name, c->all_keys ? " --all-keys" : "");
    printf("%-23s %-12s %8u %5u %5u %6zu lines  %-27s gen %6.2f s  check %7.3f s  %10.0f "
           "ops/s  mem %7.1f MiB  rss %7.1f MiB\n",
           what, fl_consistency_name(cons), c->ops, c->procs, c->keys, h.count,
           rc ? "error" : fl_verdict_text(r.verdict, cons), gen_s, check_s,
           (double)c->ops / check_s, (double)r.stats.memo_bytes / (1 << 20),
           (double)ru.ru_maxrss / 1024);
    fflush(stdout);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
    return rc != 0;
}

/* Runs c for both consistency models, each in a child process of its own. */
static int run_case(const bench_case *c, unsigned threads)
{
    int failed = 0;
    for (int cons = 0; cons < 2; cons++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_one(c, (fl_consistency)cons, threads));
        int status = 1;
        if (pid > 0)
            waitpid(pid, &status, 0);
        failed += status != 0;
    }
    return failed;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_check [--threads N] [--max-ops N] [--case register|kv|"
                    "cas-register|append-bad] [--timeout S] [--memory-max MIB] [--write FILE]\n");
    return 64;
}

int main(int argc, char **argv)
{
    unsigned threads = 1;
    uint64_t max_ops = 1000000, v;
    const char *only = NULL;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--threads") && !fl_parse_u64(argv[i + 1], 1, 256, &v))
            threads = (unsigned)v;
        else if (!strcmp(argv[i], "--max-ops") && !fl_parse_u64(argv[i + 1], 1, 1u << 30, &v))
            max_ops = v;
        else if (!strcmp(argv[i], "--timeout") && !fl_parse_duration(argv[i + 1], &timeout_ns))
            continue;
        else if (!strcmp(argv[i], "--memory-max") && !fl_parse_u64(argv[i + 1], 1, 1u << 20, &v))
            memory_max = v << 20;
        else if (!strcmp(argv[i], "--case") || !strcmp(argv[i], "--model"))
            only = argv[i + 1];
        else if (!strcmp(argv[i], "--write"))
            write_path = argv[i + 1];
        else
            return usage();
    }
    static const uint32_t sizes[] = {10000, 100000, 1000000};
    static const uint32_t procs[] = {5, 10, 50};
    static const fl_model models[] = {FL_MODEL_REGISTER, FL_MODEL_KV, FL_MODEL_CAS_REGISTER};
    printf("threads %u, timeout %.0f s, memory bound %llu MiB\n", threads, (double)timeout_ns / 1e9,
           (unsigned long long)(memory_max >> 20));
    printf("case                    model        ops      procs keys  lines        verdict\n");
    fflush(stdout);
    int failed = 0;
    if (!only || !strcmp(only, "append-bad")) {
        bench_case c = {"append-bad", FL_MODEL_KV, 2000, 50, 10, true, false};
        failed += run_case(&c, threads);
        c.all_keys = true;
        failed += run_case(&c, threads);
    }
    for (int mi = 0; mi < 3; mi++) {
        if (only && strcmp(only, fl_model_name(models[mi])))
            continue;
        for (int si = 0; si < 3 && sizes[si] <= max_ops; si++)
            for (int pi = 0; pi < 3; pi++) {
                bench_case c = {fl_model_name(models[mi]),
                                models[mi],
                                sizes[si],
                                procs[pi],
                                models[mi] == FL_MODEL_KV ? 1000 : 0,
                                false,
                                true};
                failed += run_case(&c, threads);
            }
    }
    return failed ? 1 : 0;
}
