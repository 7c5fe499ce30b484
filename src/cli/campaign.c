/* campaign.c: the summary of a campaign, computed from its records (campaign.h): how many
 * runs found what (by kind: safety, split brain, linearizability, liveness, crash), the first
 * violations with the command that reproduces each (and, for a swarm, the world it drew), and
 * the distribution of throughput, recovery, elections and messages per operation. Percentiles
 * come from the project's histogram (base/hist.c), as everywhere else. */
#include "campaign.h"

#include "cli.h"
#include "cli_opt.h"
#include "faultline/crash_points.h"
#include "faultline/error.h"
#include "faultline/json.h"
#include "faultline/hist.h"
#include "faultline/json_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VIOLATIONS_SHOWN 20
#define SCALE            1000.0 /* distributions keep three decimals in the histogram */

/* What a violating run found, by the prefix of its verdict's summary. */
enum { K_SAFETY, K_SPLIT, K_LIN, K_LIVE, K_DISRUPT, K_CRASH, K_ERROR, K_COUNT };
static const struct {
    const char *prefix, *name;
} kinds[K_COUNT] = {
    [K_SAFETY] = {"safety", "safety"},
    [K_SPLIT] = {"split brain", "split brain"},
    [K_LIN] = {"not linearizable", "not linearizable"},
    [K_LIVE] = {"liveness", "not live"},
    [K_DISRUPT] = {"disruption", "disrupted"},
    [K_CRASH] = {"crash", "crashed"},
    [K_ERROR] = {"", "did not run"},
};

enum { D_OK_PER_S, D_RECOVER, D_ELECTIONS, D_MSGS_PER_OP, D_SYNCS_INLINE, D_HELD, D_COUNT };

typedef struct summary {
    uint64_t runs, violations, unknown, by_kind[K_COUNT];
    uint64_t shown;
    fl_hist dist[D_COUNT];
    uint64_t flow_batch_end, flow_server; /* runs with the server's way of sending, values */
    FILE *record_out;
    uint64_t total; /* expected runs, for the progress line */
    bool tty;
    double t0;
} summary;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static summary *summary_new(void)
{
    summary *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    for (int i = 0; i < D_COUNT; i++)
        fl_hist_init(&s->dist[i]);
    s->t0 = now_s();
    return s;
}

/* ---- the summary, from records ----------------------------------------------------------- */

/* Member key of object obj, a member of the root (FL_JR_NONE, node 0, is the root itself: a
 * missing object is passed as FL_JR_NONE only through num_in). */
static bool num_at(const fl_jr_doc *d, uint32_t obj, const char *key, double *v)
{
    uint32_t n = fl_jr_get(d, obj, key);
    *v = 0;
    return n != FL_JR_NONE && fl_jr_double(d, n, v) == 0;
}

/* Member key of obj, a member of the root that may be missing (FL_JR_NONE). */
static bool num(const fl_jr_doc *d, uint32_t obj, const char *key, double *v)
{
    *v = 0;
    return obj != FL_JR_NONE && num_at(d, obj, key, v);
}

static void sample(summary *s, int which, double v)
{
    if (v >= 0)
        fl_hist_record(&s->dist[which], (uint64_t)(v * SCALE + 0.5));
}

static int kind_of(const char *what, bool error)
{
    if (error)
        return K_ERROR;
    for (int k = 0; k < K_ERROR; k++)
        if (!strncmp(what, kinds[k].prefix, strlen(kinds[k].prefix)))
            return k;
    return K_SAFETY; /* an older record's wording: count it with the gravest */
}

static void show_violation(summary *s, const fl_jr_doc *d, uint64_t seed, const char *what)
{
    if (s->shown++ >= VIOLATIONS_SHOWN)
        return;
    fprintf(stderr, "%sseed %llu: %s\n", s->tty ? "\r\033[K" : "", (unsigned long long)seed, what);
    static char text[4096];
    const char *labels[] = {"reproduce", "world"};
    for (int i = 0; i < 2; i++) {
        uint32_t n = fl_jr_get(d, 0, labels[i]);
        if (n != FL_JR_NONE && fl_jr_str(d, n, text, sizeof(text), NULL) == 0)
            fprintf(stderr, "    %-10s %s\n", labels[i], text);
    }
}

/* Adds one record line to the summary. Returns 0, or -1 for a line that is not a record. */
static int add_record(summary *s, const char *line, size_t len, const char *origin)
{
    static fl_jr_node nodes[256];
    fl_jr_doc d;
    if (fl_jr_parse(&d, line, len, nodes, 256) || d.nodes[0].type != FL_JR_OBJECT) {
        char q[8 + 4 * 40]; /* a few bytes, escaped: the line may be anything */
        fprintf(stderr, "faultline: %s: not a campaign record: %s\n", origin,
                fl_cli_quote(line, len, 40, q, sizeof(q)));
        return -1;
    }
    s->runs++;
    double seed = 0;
    num_at(&d, 0, "seed", &seed);
    uint32_t verdict = fl_jr_get(&d, 0, "verdict");
    uint32_t viol = verdict == FL_JR_NONE ? FL_JR_NONE : fl_jr_get(&d, verdict, "violation");
    if (viol == FL_JR_NONE || d.nodes[viol].type == FL_JR_TRUE) {
        s->violations++;
        char what[720] = "error";
        uint32_t w =
            verdict == FL_JR_NONE ? fl_jr_get(&d, 0, "error") : fl_jr_get(&d, verdict, "summary");
        if (w != FL_JR_NONE)
            fl_jr_str(&d, w, what, sizeof(what), NULL);
        s->by_kind[kind_of(what, verdict == FL_JR_NONE)]++;
        show_violation(s, &d, (uint64_t)seed, what);
    }
    if (verdict != FL_JR_NONE) {
        uint32_t lin = fl_jr_get(&d, verdict, "linearizability");
        s->unknown += lin != FL_JR_NONE && fl_jr_str_eq(&d, lin, "unknown");
        uint32_t counts = fl_jr_get(&d, 0, "counts");
        double v, ok, msgs;
        if (num(&d, counts, "ok_per_s", &v))
            sample(s, D_OK_PER_S, v);
        if (num(&d, verdict, "recover_ns", &v)) /* only runs that recovered */
            sample(s, D_RECOVER, v / 1e6);
        if (num(&d, counts, "elections", &v))
            sample(s, D_ELECTIONS, v);
        if (num(&d, counts, "ops_ok", &ok) && ok > 0 && num(&d, counts, "messages_sent", &msgs))
            sample(s, D_MSGS_PER_OP, msgs / ok);
        if (num(&d, counts, "syncs_inline", &v)) /* --sync-inline runs only */
            sample(s, D_SYNCS_INLINE, v);
        if (num(&d, counts, "events_held", &v))
            sample(s, D_HELD, v);
    }
    uint32_t flow = fl_jr_get(&d, 0, "flow"); /* proposals sent at the batch's end */
    s->flow_batch_end += flow != FL_JR_NONE;
    s->flow_server += flow != FL_JR_NONE && fl_jr_str_eq(&d, flow, "server");
    if (s->record_out) {
        fwrite(line, 1, len, s->record_out);
        fputc('\n', s->record_out);
    }
    return 0;
}

static void distribution(const char *name, const fl_hist *h, const char *unit)
{
    if (!h->count)
        return;
    printf("  %-22s min %9.1f  p50 %9.1f  p90 %9.1f  max %9.1f  %s\n", name,
           (double)fl_hist_percentile(h, 0) / SCALE, (double)fl_hist_percentile(h, 50) / SCALE,
           (double)fl_hist_percentile(h, 90) / SCALE, (double)fl_hist_percentile(h, 100) / SCALE,
           unit);
}

static int print_summary(summary *s)
{
    if (s->tty)
        fprintf(stderr, "\r\033[K");
    printf("campaign: %llu runs, %llu with a violation", (unsigned long long)s->runs,
           (unsigned long long)s->violations);
    const char *sep = " (";
    for (int k = 0; k < K_COUNT; k++)
        if (s->by_kind[k]) {
            printf("%s%llu %s", sep, (unsigned long long)s->by_kind[k], kinds[k].name);
            sep = ", ";
        }
    printf("%s, %llu linearizability unknown, %.1f s wall\n", s->violations ? ")" : "",
           (unsigned long long)s->unknown, now_s() - s->t0);
    distribution("throughput", &s->dist[D_OK_PER_S], "ok ops/s");
    distribution("recovery after heal", &s->dist[D_RECOVER], "ms");
    distribution("elections", &s->dist[D_ELECTIONS], "");
    distribution("messages per ok op", &s->dist[D_MSGS_PER_OP], "");
    distribution("syncs holding a node", &s->dist[D_SYNCS_INLINE], "(--sync-inline)");
    distribution("events held meanwhile", &s->dist[D_HELD], "");
    if (s->flow_batch_end)
        printf("  flow control           %llu runs sent proposals at the batch's end, %llu of them "
               "with the server's values\n",
               (unsigned long long)s->flow_batch_end, (unsigned long long)s->flow_server);
    int rc = s->violations ? FL_EXIT_VIOLATION : 0;
    free(s);
    return rc;
}

static void progress(summary *s)
{
    if (s->tty) {
        int width = 40, done = s->total ? (int)(s->runs * (uint64_t)width / s->total) : width;
        fprintf(stderr, "\r[%.*s%*s] %llu/%llu seeds, %llu violations", done,
                "########################################", width - done, "",
                (unsigned long long)s->runs, (unsigned long long)s->total,
                (unsigned long long)s->violations);
    } else if (s->runs % 100 == 0 || s->runs == s->total) {
        fprintf(stderr, "progress: %llu/%llu seeds, %llu violations\n", (unsigned long long)s->runs,
                (unsigned long long)s->total, (unsigned long long)s->violations);
    }
}

/* ---- a local campaign -------------------------------------------------------------------- */

/* DIR/campaign.jsonl (or a shard's file), opened before the first seed runs. */
static FILE *open_records(const sim_opts *o)
{
    char path[4096];
    if (o->shard_n)
        snprintf(path, sizeof(path), "%s/campaign-%u-of-%u.jsonl", o->out_dir, o->shard_k,
                 o->shard_n);
    else
        snprintf(path, sizeof(path), "%s/campaign.jsonl", o->out_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "faultline sim: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static bool summarize_one(void *ctx, const char *line, size_t len)
{
    summary *s = ctx;
    add_record(s, line, len, "seed");
    progress(s);
    return false;
}

int campaign_run(const sim_opts *o)
{
    summary *s = summary_new();
    if (!s) {
        fprintf(stderr, "faultline sim: out of memory\n");
        return FL_EXIT_OSERR;
    }
    s->tty = isatty(2);
    s->record_out = o->out_dir ? open_records(o) : NULL;
    if (o->out_dir && !s->record_out) {
        free(s);
        return FL_EXIT_CANTCREAT;
    }
    for (uint64_t seed = o->seed_first; seed <= o->seed_last; seed++) {
        s->total += campaign_in_shard(o, seed);
        if (seed == UINT64_MAX - 1)
            break;
    }
    if (o->swarm && !o->chaos && !o->crash_points && !o->quiet) /* those draw no world */
        printf("swarm: each seed draws its world (faultline sim --swarm --seed S shows it)\n");
    int crashed = campaign_for_each(o, summarize_one, s, s->total);
    bool written = !s->record_out || (!ferror(s->record_out) && fclose(s->record_out) == 0);
    if (crashed < 0) {
        free(s);
        return FL_EXIT_OSERR; /* no process for the seeds (message printed) */
    }
    if (!written)
        fprintf(stderr, "faultline sim: cannot write the records in %s: %s\n", o->out_dir,
                strerror(errno));
    if (o->budget_ns && s->runs < s->total) { /* the seeds run are the first ones */
        printf("budget of %.0f s spent: %llu of the %llu seeds ran", (double)o->budget_ns / 1e9,
               (unsigned long long)s->runs, (unsigned long long)s->total);
        if (o->shard_n)
            printf(" (the shard's first)\n");
        else
            printf(" (%llu..%llu)\n", (unsigned long long)o->seed_first,
                   (unsigned long long)(o->seed_first + s->runs - 1));
    }
    int rc = print_summary(s);
    if (o->out_dir && fl_cli_write_report(o->out_dir, NULL, false))
        written = false;
    return written ? rc : FL_EXIT_IOERR;
}

/* ---- faultline merge --------------------------------------------------------------------- */

static void merge_usage(FILE *f)
{
    fprintf(f, "usage: faultline merge FILE...\n\nCombines the campaign-K-of-N.jsonl files of "
               "`faultline sim --seeds A..B --shard K/N --out DIR`\n(- reads standard input) "
               "and prints the campaign summary. An empty file is\nnoted (a shard may hold no "
               "seed); no record at all is an error.\n");
    fl_cli_exit_help(f, "no seed had a violation", "a seed had a violation", NULL);
}

/* Adds the records of one file; their count, -1 for a line that is not one, -2 when the file
 * cannot be read (message printed). */
static long merge_file(summary *s, const char *path)
{
    bool std_in = !strcmp(path, "-");
    FILE *f = std_in ? stdin : fopen(path, "r");
    if (!f)
        return fl_cli_error("merge", -2, "%s: cannot read: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    long records = 0;
    while (records >= 0 && (n = getline(&line, &cap, f)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        char origin[4200];
        snprintf(origin, sizeof(origin), "merge: %s:%lu", path, lineno);
        records = add_record(s, line, (size_t)n, origin) ? -1 : records + 1;
    }
    if (records >= 0 && ferror(f))
        records = fl_cli_error("merge", -2, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    if (!std_in)
        fclose(f);
    return records;
}

int fl_cmd_merge(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            merge_usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return fl_cli_unknown("merge", argv[i]);
        files++;
    }
    if (!files)
        return fl_cli_error("merge", FL_EXIT_USAGE,
                            "FILE... is required: the campaign records to combine");
    for (int i = 1; i < argc; i++) { /* every input is there before any is read */
        int rc = fl_cli_in_file("merge", NULL, argv[i]);
        if (rc)
            return rc;
    }
    summary *s = summary_new();
    if (!s)
        return FL_EXIT_OSERR;
    for (int i = 1; i < argc; i++) {
        long n = merge_file(s, argv[i]);
        if (n < 0) {
            free(s);
            return n == -1 ? FL_EXIT_DATAERR : FL_EXIT_IOERR;
        }
        if (n == 0)
            fprintf(stderr, "faultline merge: %s: empty, no campaign records\n", argv[i]);
    }
    if (!s->runs) {
        free(s);
        return fl_cli_error("merge", FL_EXIT_DATAERR, "no campaign records in the %d file%s given",
                            files, files == 1 ? "" : "s");
    }
    return print_summary(s);
}
