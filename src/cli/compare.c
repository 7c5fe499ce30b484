/* compare.c: `faultline sim --compare raft,paxos`: the same seeds under the same nemeses for
 * each protocol, one campaign per (nemesis, protocol) through campaign_for_each, and a table
 * of the observables that differ: throughput, latency, messages and fsyncs per op, elections
 * or ballots, leaderless time, recovery after a leader crash (to a new leader),
 * availability. Each figure is
 * the median over the seeds of the per-run figure (a run's p99 is its own). */
#include "compare.h"

#include "campaign.h"
#include "cli.h"
#include "faultline/cons.h"
#include "faultline/json.h"
#include "faultline/json_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PROTOCOLS_MAX 2
#define NEMESES_MAX   8

/* The figures of one record, then their medians. */
enum {
    M_OK_PER_S,
    M_P50_MS,
    M_P99_MS,
    M_MSGS_PER_OP,
    M_FSYNCS_PER_OP,
    M_ELECTIONS,
    M_LEADERLESS_MS,
    M_RECOVERY_MS,
    M_AVAIL,
    M_COUNT
};

static const char *const metric_names[M_COUNT] = {
    "ok_per_s",      "p50_ms",    "p99_ms",        "messages_per_op",
    "fsyncs_per_op", "elections", "leaderless_ms", "crash_recovery_ms",
    "availability"};

typedef struct group {
    fl_cons_protocol protocol;
    fl_nemesis nemesis;
    double *v[M_COUNT]; /* per seed; recovery only for runs that had a leader crash */
    size_t n[M_COUNT];
    uint64_t runs, violations;
    double median[M_COUNT];
} group;

static const fl_nemesis default_nemeses[] = {FL_NEMESIS_NONE,           FL_NEMESIS_CRASH_LEADER,
                                             FL_NEMESIS_ISOLATE_LEADER, FL_NEMESIS_PARTITION_RANDOM,
                                             FL_NEMESIS_LOSS,           FL_NEMESIS_MIX};

static double num(const fl_jr_doc *d, const char *obj, const char *key)
{
    uint32_t n = fl_jr_get(d, 0, obj);
    if (n != FL_JR_NONE)
        n = fl_jr_get(d, n, key);
    double v = 0;
    if (n == FL_JR_NONE || fl_jr_double(d, n, &v))
        return 0;
    return v;
}

static void push(group *g, int m, double v)
{
    double *p = realloc(g->v[m], (g->n[m] + 1) * sizeof(double));
    if (!p)
        return;
    g->v[m] = p;
    p[g->n[m]++] = v;
}

static bool add_record(void *ctx, const char *line, size_t len)
{
    group *g = ctx;
    static fl_jr_node nodes[256];
    fl_jr_doc d;
    if (fl_jr_parse(&d, line, len, nodes, 256) || d.nodes[0].type != FL_JR_OBJECT)
        return false;
    g->runs++;
    uint32_t verdict = fl_jr_get(&d, 0, "verdict");
    uint32_t viol = verdict == FL_JR_NONE ? FL_JR_NONE : fl_jr_get(&d, verdict, "violation");
    if (viol == FL_JR_NONE || d.nodes[viol].type == FL_JR_TRUE)
        g->violations++;
    if (verdict == FL_JR_NONE)
        return false;
    double ok = num(&d, "counts", "ops_ok"), per = ok > 0 ? ok : 1;
    push(g, M_OK_PER_S, num(&d, "counts", "ok_per_s"));
    push(g, M_P50_MS, num(&d, "observed", "ok_p50_ns") / 1e6);
    push(g, M_P99_MS, num(&d, "observed", "ok_p99_ns") / 1e6);
    push(g, M_MSGS_PER_OP, num(&d, "counts", "messages_sent") / per);
    push(g, M_FSYNCS_PER_OP, num(&d, "counts", "fsyncs") / per);
    push(g, M_ELECTIONS, num(&d, "counts", "elections"));
    push(g, M_LEADERLESS_MS, num(&d, "observed", "leaderless_ns") / 1e6);
    if (num(&d, "observed", "crash_recoveries") > 0)
        push(g, M_RECOVERY_MS, num(&d, "observed", "crash_recovery_ns") / 1e6);
    push(g, M_AVAIL, num(&d, "observed", "ok_fraction"));
    return false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void medians(group *g)
{
    for (int m = 0; m < M_COUNT; m++) {
        g->median[m] = -1; /* none */
        if (!g->n[m])
            continue;
        qsort(g->v[m], g->n[m], sizeof(double), cmp_double);
        size_t k = g->n[m];
        g->median[m] = k % 2 ? g->v[m][k / 2] : (g->v[m][k / 2 - 1] + g->v[m][k / 2]) / 2;
    }
}

/* The campaign of one group: o's run with this protocol and nemesis over o's seeds. Options
 * of the other protocol are dropped (a Paxos quorum setting means nothing to Raft). */
static int run_group(const sim_opts *o, group *g)
{
    sim_opts c = *o;
    c.out_dir = NULL;
    c.run.protocol = g->protocol;
    c.run.nemesis = g->nemesis;
    if (g->protocol == FL_CONS_RAFT) {
        c.run.q1 = c.run.q2 = 0;
        c.run.unsafe_quorums = c.run.no_backoff = false;
    } else {
        c.run.no_check_quorum = c.run.no_pre_vote = false;
        c.run.read_at = FL_RUN_READ_AT_LEADER;
    }
    char why[200];
    if (fl_run_config_validate(&c.run, why, sizeof(why))) {
        fprintf(stderr, "faultline sim --compare: %s: %s\n", fl_cons_protocol_name(g->protocol),
                why);
        return FL_EXIT_USAGE;
    }
    fprintf(stderr, "compare: %s under %s, seeds %llu..%llu\n", fl_cons_protocol_name(g->protocol),
            fl_nemesis_name(g->nemesis), (unsigned long long)c.seed_first,
            (unsigned long long)c.seed_last);
    int died = campaign_for_each(&c, add_record, g, c.seed_last - c.seed_first + 1);
    if (died < 0)
        return FL_EXIT_USAGE;
    medians(g);
    return 0;
}

static void print_value(double v, const char *fmt)
{
    if (v < 0)
        printf(" %9s", "-");
    else
        printf(fmt, v);
}

static void print_table(const group *gs, size_t n, const sim_opts *o)
{
    printf("\nthe same seeds (%llu..%llu), %u nodes, %.0f s each; medians over the seeds\n\n",
           (unsigned long long)o->seed_first, (unsigned long long)o->seed_last, o->run.nodes,
           (double)o->run.duration_ns / 1e9);
    printf("%-17s %-6s %9s %9s %9s %9s %9s %9s %9s %9s %9s %6s\n", "nemesis", "proto", "ok/s",
           "p50 ms", "p99 ms", "msgs/op", "fsync/op", "elect", "no-lead", "recov ms", "avail",
           "viol");
    for (size_t i = 0; i < n; i++) {
        const group *g = &gs[i];
        printf("%-17s %-6s", fl_nemesis_name(g->nemesis), fl_cons_protocol_name(g->protocol));
        print_value(g->median[M_OK_PER_S], " %9.0f");
        print_value(g->median[M_P50_MS], " %9.1f");
        print_value(g->median[M_P99_MS], " %9.1f");
        print_value(g->median[M_MSGS_PER_OP], " %9.1f");
        print_value(g->median[M_FSYNCS_PER_OP], " %9.2f");
        print_value(g->median[M_ELECTIONS], " %9.0f");
        print_value(g->median[M_LEADERLESS_MS], " %9.0f");
        print_value(g->median[M_RECOVERY_MS], " %9.0f");
        print_value(g->median[M_AVAIL], " %9.3f");
        printf(" %6llu\n", (unsigned long long)g->violations);
    }
    printf("\nelect: Raft elections, Paxos phase-1 ballots started; no-lead: ms without a leader;\n"
           "recov: from a leader crash to a new leader (runs with one; clients that waited on\n"
           "the crashed leader retry after --op-timeout); avail: ok ops / all ops; viol: runs\n"
           "with a violation (safety, linearizability, liveness)\n");
}

static int write_json(const char *dir, const group *gs, size_t n, const sim_opts *o)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed_first", o->seed_first);
    fl_json_kv_uint(&j, "seed_last", o->seed_last);
    fl_json_kv_uint(&j, "nodes", o->run.nodes);
    fl_json_kv_uint(&j, "duration_ns", o->run.duration_ns);
    fl_json_key(&j, "groups");
    fl_json_arr_begin(&j);
    for (size_t i = 0; i < n; i++) {
        fl_json_obj_begin(&j);
        fl_json_kv_str(&j, "protocol", fl_cons_protocol_name(gs[i].protocol));
        fl_json_kv_str(&j, "nemesis", fl_nemesis_name(gs[i].nemesis));
        fl_json_kv_uint(&j, "runs", gs[i].runs);
        fl_json_kv_uint(&j, "violations", gs[i].violations);
        for (int m = 0; m < M_COUNT; m++)
            if (gs[i].median[m] >= 0)
                fl_json_kv_double(&j, metric_names[m], gs[i].median[m]);
        fl_json_obj_end(&j);
    }
    fl_json_arr_end(&j);
    fl_json_obj_end(&j);
    fl_buf_put_u8(&b, '\n');
    char path[4096];
    snprintf(path, sizeof(path), "%s/compare.json", dir);
    FILE *f = b.err || (mkdir(dir, 0777) && errno != EEXIST) ? NULL : fopen(path, "w");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f))
        ok = false;
    if (!ok)
        fprintf(stderr, "faultline sim --compare: cannot write %s\n", path);
    else
        printf("output   %s\n", path);
    fl_buf_free(&b);
    return ok ? 0 : -1;
}

int compare_run(const sim_opts *o)
{
    sim_opts c = *o;
    if (!c.campaign) { /* the default: 20 seeds */
        c.seed_first = 1;
        c.seed_last = 20;
    }
    static group gs[PROTOCOLS_MAX * NEMESES_MAX];
    size_t n = 0, n_nem = o->nemesis_set ? 1 : sizeof(default_nemeses) / sizeof(fl_nemesis);
    int rc = 0;
    for (size_t k = 0; k < n_nem && !rc; k++)
        for (uint32_t p = 0; p < o->n_compare && !rc; p++) {
            group *g = &gs[n++];
            *g = (group){.protocol = o->compare[p],
                         .nemesis = o->nemesis_set ? o->run.nemesis : default_nemeses[k]};
            rc = run_group(&c, g);
        }
    if (!rc) {
        print_table(gs, n, &c);
        if (o->out_dir && write_json(o->out_dir, gs, n, &c))
            rc = FL_EXIT_USAGE;
    }
    bool violations = false;
    for (size_t i = 0; i < n; i++) {
        violations |= gs[i].violations > 0;
        for (int m = 0; m < M_COUNT; m++)
            free(gs[i].v[m]);
    }
    return rc ? rc : violations ? FL_EXIT_VIOLATION : 0;
}
