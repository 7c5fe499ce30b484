/* campaign.c: campaigns over seeds (campaign.h). */
#include "campaign.h"

#include "cli.h"
#include "faultline/crash_points.h"
#include "faultline/error.h"
#include "faultline/json.h"
#include "faultline/json_read.h"
#include "sim_eval.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOBS_MAX         256
#define VIOLATIONS_SHOWN 20

typedef struct summary {
    uint64_t runs, violations, not_live, unknown;
    uint64_t shown;
    double *ok_per_s, *recover_ms, *elections, *msgs_per_op;
    size_t n, cap;
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

static bool in_shard(const sim_opts *o, uint64_t seed)
{
    return !o->shard_n || (seed - o->seed_first) % o->shard_n == o->shard_k - 1;
}

/* ---- workers ----------------------------------------------------------------------------- */

/* The chaos config of `faultline sim --chaos` for o's options and seed. */
void campaign_chaos_config(const sim_opts *o, uint64_t seed, fl_chaos_config *c)
{
    fl_chaos_config_default(c);
    c->seed = seed;
    c->nodes = o->run.nodes;
    c->duration_ns = o->run.duration_ns;
    c->mutants = o->run.mutants;
    c->churn = o->churn;
    if (o->snapshot_set) /* chaos runs snapshot only when asked (raft_chaos.h) */
        c->snapshot_every = o->run.snapshot_every;
}

/* {"seed":S,"verdict":{...}, the head of a record, left open for what follows; invariant is
 * NULL unless a safety check failed. */
static void record_head(fl_json *j, fl_buf *line, uint64_t seed, const char *what,
                        const char *invariant, bool live)
{
    fl_json_init(j, line, false);
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "seed", seed);
    fl_json_key(j, "verdict");
    fl_json_obj_begin(j);
    fl_json_kv_bool(j, "violation", invariant || !live);
    fl_json_kv_str(j, "summary", what);
    fl_json_kv_bool(j, "invariants_held", !invariant);
    if (invariant)
        fl_json_kv_str(j, "invariant_violation", invariant);
    fl_json_kv_bool(j, "live", live);
    fl_json_obj_end(j);
}

/* One --chaos seed as a campaign record (the fields a kv run's record has that apply). */
static void chaos_record(const sim_opts *o, uint64_t seed, fl_buf *line)
{
    fl_chaos_config c;
    campaign_chaos_config(o, seed, &c);
    fl_chaos_result r;
    if (fl_chaos_run(&c, &r)) {
        fl_buf_printf(line, "{\"seed\":%llu,\"error\":\"bad configuration\"}",
                      (unsigned long long)seed);
        return;
    }
    char what[320];
    if (r.violation)
        snprintf(what, sizeof(what), "safety: %s", r.reason);
    else
        snprintf(what, sizeof(what),
                 r.live ? "no violation" : "liveness: no commit after the heal");
    fl_json j;
    record_head(&j, line, seed, what, r.violation ? r.reason : NULL, r.live);
    if (r.violation || !r.live) {
        char repro[1024];
        fl_chaos_repro(&c, repro, sizeof(repro));
        fl_json_kv_str(&j, "reproduce", repro);
    }
    fl_json_key(&j, "counts");
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "elections", r.elections);
    fl_json_kv_uint(&j, "events", r.sim.events);
    fl_json_obj_end(&j);
    fl_json_obj_end(&j);
}

/* One --crash-points seed as a campaign record. */
static void crash_record(const sim_opts *o, uint64_t seed, fl_buf *line)
{
    fl_crash_config c;
    fl_crash_config_default(&c);
    c.seed = seed;
    c.mutants = o->run.mutants;
    fl_crash_result r;
    fl_crash_points_run(&c, &r); /* the defaults are in range */
    char what[400];
    snprintf(what, sizeof(what), r.violation ? "safety: durability: %s" : "no violation", r.reason);
    fl_json j;
    record_head(&j, line, seed, what, r.violation ? what + 8 : NULL, true);
    fl_json_obj_end(&j);
}

static void worker(const sim_opts *o, uint32_t k, uint32_t jobs, int fd)
{
    uint64_t i = 0;
    fl_buf line;
    fl_buf_init(&line);
    for (uint64_t seed = o->seed_first; seed <= o->seed_last; seed++) {
        if (!in_shard(o, seed))
            continue;
        if (i++ % jobs != k)
            continue;
        fl_buf_reset(&line);
        if (o->chaos || o->crash_points) {
            if (o->chaos)
                chaos_record(o, seed, &line);
            else
                crash_record(o, seed, &line);
            fl_buf_put_u8(&line, '\n');
            if (write(fd, line.data, line.len) != (ssize_t)line.len || seed == UINT64_MAX)
                break;
            continue;
        }
        fl_run_config c = o->run;
        c.seed = seed;
        c.verbose = false;
        fl_run_result r;
        int rc = fl_run(&c, &r);
        sim_outcome oc;
        fl_buf_reset(&line);
        if (rc == 0) {
            sim_evaluate(o, &c, &r, &oc);
            sim_write_record(&line, &c, &r, &oc);
            sim_outcome_free(&oc);
        } else {
            fl_buf_printf(&line, "{\"seed\":%llu,\"error\":\"%s\"}", (unsigned long long)seed,
                          fl_strerror(rc));
        }
        fl_buf_put_u8(&line, '\n');
        fl_run_result_free(&r);
        if (write(fd, line.data, line.len) != (ssize_t)line.len)
            break; /* the parent is gone */
        if (seed == UINT64_MAX)
            break;
    }
    fl_buf_free(&line);
}

/* ---- the summary, from records ----------------------------------------------------------- */

static void push(summary *s, double ok, double rec, double el, double mpo)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double **arrs[] = {&s->ok_per_s, &s->recover_ms, &s->elections, &s->msgs_per_op};
        for (int i = 0; i < 4; i++) {
            double *p = realloc(*arrs[i], cap * sizeof(double));
            if (!p)
                return;
            *arrs[i] = p;
        }
        s->cap = cap;
    }
    s->ok_per_s[s->n] = ok;
    s->recover_ms[s->n] = rec;
    s->elections[s->n] = el;
    s->msgs_per_op[s->n] = mpo;
    s->n++;
}

static double num(const fl_jr_doc *d, uint32_t obj, const char *path1, const char *path2)
{
    uint32_t n = fl_jr_get(d, obj, path1);
    if (path2 && n != FL_JR_NONE)
        n = fl_jr_get(d, n, path2);
    double v = 0;
    if (n == FL_JR_NONE || fl_jr_double(d, n, &v))
        return 0;
    return v;
}

/* Adds one record line to the summary. Returns 0, or -1 for a line that is not a record. */
static int add_record(summary *s, const char *line, size_t len, const char *origin)
{
    static fl_jr_node nodes[256];
    fl_jr_doc d;
    if (fl_jr_parse(&d, line, len, nodes, 256) || d.nodes[0].type != FL_JR_OBJECT) {
        fprintf(stderr, "faultline: %s: not a campaign record: %.60s\n", origin, line);
        return -1;
    }
    s->runs++;
    uint64_t seed = (uint64_t)num(&d, 0, "seed", NULL);
    uint32_t verdict = fl_jr_get(&d, 0, "verdict");
    uint32_t viol = verdict == FL_JR_NONE ? FL_JR_NONE : fl_jr_get(&d, verdict, "violation");
    bool violation = viol == FL_JR_NONE || d.nodes[viol].type == FL_JR_TRUE;
    if (violation) {
        s->violations++;
        char what[320] = "error";
        uint32_t w =
            verdict == FL_JR_NONE ? fl_jr_get(&d, 0, "error") : fl_jr_get(&d, verdict, "summary");
        if (w != FL_JR_NONE)
            fl_jr_str(&d, w, what, sizeof(what), NULL);
        if (s->shown++ < VIOLATIONS_SHOWN)
            fprintf(stderr, "%sseed %llu: %s\n", s->tty ? "\r\033[K" : "", (unsigned long long)seed,
                    what);
    }
    if (verdict != FL_JR_NONE) {
        uint32_t lin = fl_jr_get(&d, verdict, "linearizability");
        s->unknown += lin != FL_JR_NONE && fl_jr_str_eq(&d, lin, "unknown");
        uint32_t live = fl_jr_get(&d, verdict, "live");
        s->not_live += live != FL_JR_NONE && d.nodes[live].type == FL_JR_FALSE;
        double ok = num(&d, 0, "counts", "ops_ok");
        push(s, num(&d, 0, "counts", "ok_per_s"), num(&d, verdict, "recover_ns", NULL) / 1e6,
             num(&d, 0, "counts", "elections"),
             ok > 0 ? num(&d, 0, "counts", "messages_sent") / ok : 0);
    }
    if (s->record_out) {
        fwrite(line, 1, len, s->record_out);
        fputc('\n', s->record_out);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void distribution(const char *name, double *v, size_t n, const char *unit)
{
    if (!n)
        return;
    qsort(v, n, sizeof(double), cmp_double);
    printf("  %-22s min %9.1f  p50 %9.1f  p90 %9.1f  max %9.1f  %s\n", name, v[0], v[n / 2],
           v[(size_t)((double)(n - 1) * 0.9)], v[n - 1], unit);
}

static int print_summary(summary *s)
{
    if (s->tty)
        fprintf(stderr, "\r\033[K");
    printf("campaign: %llu runs, %llu with a violation (%llu not live), %llu linearizability "
           "unknown, %.1f s wall\n",
           (unsigned long long)s->runs, (unsigned long long)s->violations,
           (unsigned long long)s->not_live, (unsigned long long)s->unknown, now_s() - s->t0);
    distribution("throughput", s->ok_per_s, s->n, "ok ops/s");
    distribution("recovery after heal", s->recover_ms, s->n, "ms");
    distribution("elections", s->elections, s->n, "");
    distribution("messages per ok op", s->msgs_per_op, s->n, "");
    free(s->ok_per_s);
    free(s->recover_ms);
    free(s->elections);
    free(s->msgs_per_op);
    return s->violations ? FL_EXIT_VIOLATION : 0;
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

/* ---- the parent -------------------------------------------------------------------------- */

typedef struct pipe_in {
    int fd;
    char buf[1 << 16];
    size_t len;
} pipe_in;

/* Reads what is available; feeds complete lines to each(). Returns false at end of file.
 * Sets *stop when each() asks to stop. */
static bool drain(campaign_each_fn each, void *ctx, pipe_in *p, bool *stop)
{
    ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
    if (n <= 0)
        return n < 0 && errno == EINTR;
    p->len += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (p->buf[i] != '\n')
            continue;
        if (!*stop && each(ctx, p->buf + start, i - start))
            *stop = true;
        start = i + 1;
    }
    memmove(p->buf, p->buf + start, p->len - start);
    p->len -= start;
    if (p->len == sizeof(p->buf))
        p->len = 0; /* a line longer than the buffer: not a record, drop it */
    return true;
}

static FILE *open_records(const sim_opts *o)
{
    if (!o->out_dir)
        return NULL;
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline sim: cannot create %s: %s\n", o->out_dir, strerror(errno));
        return NULL;
    }
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

/* Forks jobs workers, each writing its records to a pipe; fills pipes and pids. Returns 0
 * or -1 (message printed). */
static int spawn(const sim_opts *o, uint32_t jobs, pipe_in *pipes, pid_t *pids)
{
    fflush(NULL);
    for (uint32_t k = 0; k < jobs; k++) {
        int fds[2];
        if (pipe(fds) != 0) {
            perror("faultline sim: pipe");
            return -1;
        }
        pids[k] = fork();
        if (pids[k] < 0) {
            perror("faultline sim: fork");
            return -1;
        }
        if (pids[k] == 0) {
            close(fds[0]);
            worker(o, k, jobs, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        pipes[k].fd = fds[0];
        pipes[k].len = 0;
    }
    return 0;
}

/* Reads every worker's records until all pipes close or each() asks to stop. Returns
 * true if it stopped early. */
static bool collect(campaign_each_fn each, void *ctx, pipe_in *pipes, uint32_t jobs)
{
    bool stop = false;
    struct pollfd pfd[JOBS_MAX];
    uint32_t idx[JOBS_MAX];
    for (;;) {
        uint32_t n = 0;
        for (uint32_t k = 0; k < jobs; k++)
            if (pipes[k].fd >= 0) {
                idx[n] = k;
                pfd[n++] = (struct pollfd){.fd = pipes[k].fd, .events = POLLIN};
            }
        if (n == 0 || stop)
            return stop;
        if (poll(pfd, n, -1) < 0 && errno != EINTR)
            return stop;
        for (uint32_t i = 0; i < n; i++) {
            pipe_in *p = &pipes[idx[i]];
            if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(each, ctx, p, &stop)) {
                close(p->fd);
                p->fd = -1;
            }
        }
    }
}

int campaign_for_each(const sim_opts *o, campaign_each_fn each, void *ctx, uint64_t total)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t jobs = o->jobs ? o->jobs : (uint32_t)(cores > 0 ? cores : 1);
    if (jobs > JOBS_MAX)
        jobs = JOBS_MAX;
    if (total < jobs)
        jobs = total ? (uint32_t)total : 1;
    static pipe_in pipes[JOBS_MAX];
    pid_t pids[JOBS_MAX];
    for (uint32_t k = 0; k < JOBS_MAX; k++)
        pipes[k].fd = -1;
    if (spawn(o, jobs, pipes, pids)) {
        for (uint32_t k = 0; k < jobs; k++)
            if (pipes[k].fd >= 0)
                close(pipes[k].fd);
        return -1;
    }
    bool stopped = collect(each, ctx, pipes, jobs);
    int failed_workers = 0;
    for (uint32_t k = 0; k < jobs; k++) {
        if (stopped && pipes[k].fd >= 0)
            kill(pids[k], SIGTERM); /* ours: the answer is known, the rest is not needed */
        if (pipes[k].fd >= 0)
            close(pipes[k].fd);
        pipes[k].fd = -1;
        int st;
        waitpid(pids[k], &st, 0);
        bool ours = stopped && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
        failed_workers += !ours && (!WIFEXITED(st) || WEXITSTATUS(st) != 0);
    }
    return failed_workers;
}

static bool summarize_one(void *ctx, const char *line, size_t len)
{
    summary *s = ctx;
    add_record(s, line, len, "worker");
    progress(s);
    return false;
}

int campaign_run(const sim_opts *o)
{
    summary s = {.tty = isatty(2), .t0 = now_s(), .record_out = open_records(o)};
    for (uint64_t seed = o->seed_first; seed <= o->seed_last; seed++) {
        s.total += in_shard(o, seed);
        if (seed == UINT64_MAX - 1)
            break;
    }
    int failed_workers = campaign_for_each(o, summarize_one, &s, s.total);
    if (s.record_out)
        fclose(s.record_out);
    if (failed_workers < 0)
        return FL_EXIT_USAGE;
    if (failed_workers)
        fprintf(stderr,
                "faultline sim: %d worker(s) died (a crash is a finding: rerun the "
                "missing seeds one by one)\n",
                failed_workers);
    int rc = print_summary(&s);
    if (o->out_dir)
        fl_cli_write_report(o->out_dir, NULL, false);
    return failed_workers ? FL_EXIT_VIOLATION : rc;
}

/* ---- faultline merge --------------------------------------------------------------------- */

int fl_cmd_merge(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: faultline merge FILE...\n\nCombines the campaign-K-of-N.jsonl files of "
                "`faultline sim --seeds A..B --shard K/N --out DIR`\nand prints the campaign "
                "summary. Exit status 1 if any seed had a violation.\n");
        return argc < 2 ? FL_EXIT_USAGE : 0;
    }
    summary s = {.t0 = now_s()};
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "faultline merge: %s: %s\n", argv[i], strerror(errno));
            return FL_EXIT_USAGE;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long lineno = 0;
        while ((n = getline(&line, &cap, f)) > 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (n == 0)
                continue;
            char origin[4200];
            snprintf(origin, sizeof(origin), "%s:%lu", argv[i], lineno);
            if (add_record(&s, line, (size_t)n, origin)) {
                free(line);
                fclose(f);
                return 65;
            }
        }
        free(line);
        fclose(f);
    }
    return print_summary(&s);
}
