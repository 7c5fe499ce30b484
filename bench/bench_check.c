/* bench_check.c: throughput and memory of the linearizability checker on generated
 * histories (src/check/histgen.c): 10k, 100k and 1M ops with 5, 10 and 50 processes, for
 * the register and kv (1,000 keys) models, with 1% of ops ending in info and 1% of writes
 * failing; writes write distinct values. Then cas-register with values 0..4 as in Jepsen's
 * cas-register workload (20% cas), where values repeat and the search has more to do. Each
 * configuration runs in a child process so that its peak RSS (getrusage ru_maxrss: history +
 * checker) is its own.
 *
 *   build/bench/bench_check [--threads N] [--max-ops N] [--model register|kv] [--timeout S]
 *
 * Prints one line per configuration: model, ops, processes, keys, verdict, generation time,
 * check wall time, ops checked per second, memo peak and process peak RSS. */
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static fl_time_ns timeout_ns = 60 * FL_NS_PER_S;

static int run_one(fl_model m, uint32_t ops, uint32_t procs, unsigned threads)
{
    fl_histgen_opts o;
    fl_histgen_opts_init(&o);
    o.model = m;
    o.ops = ops;
    o.processes = procs;
    o.keys = m == FL_MODEL_KV ? 1000 : 0;
    o.read_ratio = 0.5;
    o.cas_ratio = 0.1;
    o.info_ratio = 0.01;
    o.fail_ratio = 0.01;
    o.deletes = true;
    o.seed = 42;
    o.value_range = m == FL_MODEL_CAS_REGISTER ? 5 : 0; /* as Jepsen's cas-register workload */
    o.cas_ratio = m == FL_MODEL_CAS_REGISTER ? 0.2 : 0.1;
    fl_history h;
    fl_history_init(&h);
    double t0 = now_s();
    if (fl_histgen_run(&h, &o))
        return 1;
    double gen_s = now_s() - t0;
    fl_lincheck_opts lo;
    fl_lincheck_opts_init(&lo);
    lo.model = m;
    lo.threads = threads;
    lo.timeout_ns = timeout_ns;
    lo.memory_max_bytes = 1ull << 30;
    fl_lincheck_result r;
    t0 = now_s();
    int rc = fl_lincheck_run(&h, &lo, &r, NULL);
    double check_s = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%-12s %8u %5u %5u  %-16s gen %6.2f s  check %7.3f s  %11.0f ops/s  memo %7.1f "
           "MiB  rss %7.1f MiB\n",
           fl_model_name(m), ops, procs, o.keys, rc ? "error" : fl_verdict_name(r.verdict), gen_s,
           check_s, (double)ops / check_s, (double)r.stats.memo_bytes / (1 << 20),
           (double)ru.ru_maxrss / 1024);
    fflush(stdout);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
    return rc != 0;
}

int main(int argc, char **argv)
{
    unsigned threads = 1;
    uint64_t max_ops = 1000000;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        uint64_t v;
        if (!strcmp(argv[i], "--threads") && !fl_parse_u64(argv[i + 1], 1, 256, &v))
            threads = (unsigned)v;
        else if (!strcmp(argv[i], "--max-ops") && !fl_parse_u64(argv[i + 1], 1, 1u << 30, &v))
            max_ops = v;
        else if (!strcmp(argv[i], "--timeout") && !fl_parse_u64(argv[i + 1], 1, 3600, &v))
            timeout_ns = v * FL_NS_PER_S;
        else if (!strcmp(argv[i], "--model"))
            only = argv[i + 1];
        else {
            fprintf(stderr,
                    "usage: bench_check [--threads N] [--max-ops N] [--model M] [--timeout S]\n");
            return 64;
        }
    }
    static const uint32_t sizes[] = {10000, 100000, 1000000};
    static const uint32_t procs[] = {5, 10, 50};
    static const fl_model models[] = {FL_MODEL_REGISTER, FL_MODEL_KV, FL_MODEL_CAS_REGISTER};
    printf("threads %u, timeout %.0f s, memory bound 1 GiB\n", threads, (double)timeout_ns / 1e9);
    fflush(stdout);
    int failed = 0;
    for (int mi = 0; mi < 3; mi++) {
        if (only && strcmp(only, fl_model_name(models[mi])))
            continue;
        for (int si = 0; si < 3 && sizes[si] <= max_ops; si++)
            for (int pi = 0; pi < 3; pi++) {
                pid_t pid = fork();
                if (pid == 0)
                    _exit(run_one(models[mi], sizes[si], procs[pi], threads));
                int status = 1;
                if (pid > 0)
                    waitpid(pid, &status, 0);
                failed += status != 0;
            }
    }
    return failed ? 1 : 0;
}
