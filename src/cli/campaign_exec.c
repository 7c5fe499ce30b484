/* campaign_exec.c: running the seeds of a campaign (campaign.h) in child processes, up to
 * o->jobs at a time, each child a batch of seeds (one kv run, or up to 16 of the short chaos
 * runs, so that starting processes costs next to nothing). A child writes one record (a JSON
 * line) per seed to a pipe as each run ends, then exits. One that dies instead (an assertion
 * failed inside a core, a signal) leaves a record made here for the seed it was running: a
 * violation of kind "crash" with the seed, the first line it printed (the assertion) and the
 * command that reproduces it; the seeds after it in its batch go to a new child. So a crash is
 * counted like any other finding and hides nothing after it. Seeds start in increasing order;
 * records arrive as runs end. With a budget (--budget), no new seed starts once it is spent:
 * the runs going then finish, and so do seeds given back by a crash, so the seeds run are
 * always the first ones. */
#include "campaign.h"

#include "cli.h"
#include "faultline/crash_points.h"
#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/json.h"
#include "sim_eval.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOBS_MAX    256
#define STDERR_KEPT 4096 /* of a child's stderr: its first words say why it died */
#define BATCH_MAX   16   /* seeds per child: chaos runs take milliseconds, kv runs more */

bool campaign_in_shard(const sim_opts *o, uint64_t seed)
{
    return !o->shard_n || (seed - o->seed_first) % o->shard_n == o->shard_k - 1;
}

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
    c->snapshot_sync = o->run.snapshot_sync;
    c->sync_inline = o->run.sync_inline;
}

void campaign_seed_repro(const sim_opts *o, uint64_t seed, char *repro, size_t repro_size,
                         char *world, size_t world_size)
{
    world[0] = 0;
    if (o->crash_points) {
        snprintf(repro, repro_size, "faultline sim --crash-points --seed %llu%s%s",
                 (unsigned long long)seed, o->run.mutants ? " --mutant " : "",
                 o->run.mutants ? fl_raft_mutant_name(o->run.mutants) : "");
        return;
    }
    if (o->chaos) {
        fl_chaos_config c;
        campaign_chaos_config(o, seed, &c);
        fl_chaos_repro(&c, repro, repro_size);
        return;
    }
    sim_opts_seed_repro(o, seed, repro, repro_size);
    if (o->swarm) {
        fl_run_config c;
        sim_opts_world(o, seed, &c);
        sim_opts_repro(&c, world, world_size);
    }
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
    char what[320], repro[512];
    if (r.violation)
        snprintf(what, sizeof(what), "safety: %s", r.reason);
    else
        snprintf(what, sizeof(what),
                 r.live ? "no violation" : "liveness: no commit after the heal");
    fl_json j;
    fl_json_init(&j, line, false);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", seed);
    fl_json_key(&j, "verdict");
    fl_json_obj_begin(&j);
    fl_json_kv_bool(&j, "violation", r.violation || !r.live);
    fl_json_kv_str(&j, "summary", what);
    fl_json_kv_bool(&j, "invariants_held", !r.violation);
    if (r.violation)
        fl_json_kv_str(&j, "invariant_violation", r.reason);
    fl_json_kv_bool(&j, "healed", !r.violation); /* a violation stops the run */
    fl_json_kv_bool(&j, "live", r.live);
    if (r.live)
        fl_json_kv_uint(&j, "recover_ns", r.recover_ns);
    fl_json_obj_end(&j);
    fl_json_key(&j, "counts");
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "elections", r.elections);
    fl_json_kv_uint(&j, "events", r.sim.events);
    fl_json_obj_end(&j);
    if (r.violation || !r.live) {
        fl_chaos_repro(&c, repro, sizeof(repro));
        fl_json_kv_str(&j, "reproduce", repro);
    }
    fl_json_obj_end(&j);
}

/* One --crash-points seed as a campaign record: crash-point testing of the storage
 * (crash_points.h). */
static void crash_points_record(const sim_opts *o, uint64_t seed, fl_buf *line)
{
    fl_crash_config c;
    fl_crash_config_default(&c);
    c.seed = seed;
    c.mutants = o->run.mutants;
    fl_crash_result r;
    fl_crash_points_run(&c, &r); /* the defaults are in range */
    char what[400], repro[256], world[8];
    snprintf(what, sizeof(what), r.violation ? "safety: durability: %s" : "no violation", r.reason);
    fl_json j;
    fl_json_init(&j, line, false);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", seed);
    fl_json_key(&j, "verdict");
    fl_json_obj_begin(&j);
    fl_json_kv_bool(&j, "violation", r.violation);
    fl_json_kv_str(&j, "summary", what);
    fl_json_kv_bool(&j, "invariants_held", !r.violation);
    if (r.violation)
        fl_json_kv_str(&j, "invariant_violation", what + 8);
    fl_json_kv_bool(&j, "live", true);
    fl_json_obj_end(&j);
    if (r.violation) {
        campaign_seed_repro(o, seed, repro, sizeof(repro), world, sizeof(world));
        fl_json_kv_str(&j, "reproduce", repro);
    }
    fl_json_obj_end(&j);
}

/* One kv seed (o's run, or the world the seed draws) as a campaign record. */
static void kv_record(const sim_opts *o, uint64_t seed, fl_buf *line)
{
    fl_run_config c;
    sim_opts_world(o, seed, &c);
    c.verbose = false;
    fl_run_result r;
    int rc = fl_run(&c, &r);
    if (rc == 0) {
        sim_outcome oc;
        sim_evaluate(o, &c, &r, &oc);
        char repro[2048], world[2048];
        if (oc.violation)
            campaign_seed_repro(o, seed, repro, sizeof(repro), world, sizeof(world));
        sim_write_record(line, &c, &r, &oc, oc.violation ? repro : NULL,
                         oc.violation && world[0] ? world : NULL);
        sim_outcome_free(&oc);
    } else {
        fl_buf_printf(line, "{\"seed\":%llu,\"error\":\"%s\"}", (unsigned long long)seed,
                      fl_strerror(rc));
    }
    fl_run_result_free(&r);
}

/* ---- the children ------------------------------------------------------------------------ */

typedef struct child {
    pid_t pid;
    uint64_t seeds[BATCH_MAX];
    uint32_t n, got; /* seeds of its batch, records received */
    int fd[2];       /* its records, its stderr; -1 once at end of file */
    fl_buf io[2];    /* a record's line so far; the start of its stderr */
} child;

/* Seeds given back by a child that died before running them, run next (a stack). */
typedef struct requeue {
    uint64_t seeds[JOBS_MAX * BATCH_MAX];
    uint32_t n;
} requeue;

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* For the tests of this file: FAULTLINE_CRASH_SEED=S makes the process running seed S fail an
 * assertion before it runs S, as a core's would (stderr, SIGABRT), so that what the campaign
 * does with a crash can be shown without planting one in a core. */
static void crash_hook(uint64_t seed)
{
    const char *v = getenv("FAULTLINE_CRASH_SEED");
    uint64_t crash_seed = UINT64_MAX;
    if (v && *v)
        crash_seed = strtoull(v, NULL, 10);
    FL_ASSERT(seed != crash_seed);
}

static _Noreturn void child_main(const sim_opts *o, const child *c, int out_fd)
{
    fl_buf line;
    fl_buf_init(&line);
    bool ok = true;
    for (uint32_t i = 0; i < c->n && ok; i++) {
        crash_hook(c->seeds[i]);
        fl_buf_reset(&line);
        if (o->chaos)
            chaos_record(o, c->seeds[i], &line);
        else if (o->crash_points)
            crash_points_record(o, c->seeds[i], &line);
        else
            kv_record(o, c->seeds[i], &line);
        fl_buf_put_u8(&line, '\n');
        ok = !line.err && write_all(out_fd, line.data, line.len);
    }
    fl_buf_free(&line);
    _exit(ok ? 0 : 3);
}

pid_t campaign_fork_piped(int out[2], int err[2])
{
    if (pipe(out) != 0)
        return -1;
    if (pipe(err) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return -1;
    }
    if (pid == 0) {
        close(out[0]);
        close(err[0]);
        dup2(err[1], 2);
        close(err[1]);
        return 0;
    }
    close(out[1]);
    close(err[1]);
    return pid;
}

/* Starts c's batch (c->seeds, c->n) in a new child. Returns 0, or -1 if no process or pipe
 * could be made. */
static int spawn(const sim_opts *o, child *c)
{
    int out[2], err[2];
    pid_t pid = campaign_fork_piped(out, err);
    if (pid < 0)
        return -1;
    if (pid == 0)
        child_main(o, c, out[1]);
    c->pid = pid;
    c->got = 0;
    c->fd[0] = out[0];
    c->fd[1] = err[0];
    fl_buf_init(&c->io[0]);
    fl_buf_init(&c->io[1]);
    return 0;
}

/* The record of a seed whose child died running it: a violation of kind crash. */
static void crash_record(const sim_opts *o, const child *c, uint64_t seed, int status, fl_buf *out)
{
    char why[512], what[700], repro[2048], world[2048];
    const char *err = c->io[1].data ? (const char *)c->io[1].data : "";
    size_t n = strcspn(err, "\n");
    if (n > c->io[1].len)
        n = c->io[1].len;
    if (n >= sizeof(why))
        n = sizeof(why) - 1;
    memcpy(why, err, n);
    why[n] = 0;
    if (WIFSIGNALED(status))
        snprintf(what, sizeof(what), "crash: %s%s(signal %d, %s)", why, n ? " " : "",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(what, sizeof(what), "crash: %s%s(exit status %d, no record)", why, n ? " " : "",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    campaign_seed_repro(o, seed, repro, sizeof(repro), world, sizeof(world));
    fl_json j;
    fl_json_init(&j, out, false);
    fl_json_obj_begin(&j);
    fl_json_kv_uint(&j, "seed", seed);
    fl_json_key(&j, "verdict");
    fl_json_obj_begin(&j);
    fl_json_kv_bool(&j, "violation", true);
    fl_json_kv_str(&j, "summary", what);
    fl_json_kv_bool(&j, "crashed", true);
    fl_json_obj_end(&j);
    fl_json_kv_str(&j, "reproduce", repro);
    if (world[0])
        fl_json_kv_str(&j, "world", world);
    fl_json_obj_end(&j);
}

/* Hands every complete record line child c sent to each(); returns whether it asked to stop. */
static bool deliver(child *c, campaign_each_fn each, void *ctx)
{
    bool stop = false;
    size_t start = 0;
    const char *p = (const char *)c->io[0].data;
    for (size_t i = 0; i < c->io[0].len; i++) {
        if (p[i] != '\n')
            continue;
        if (!stop && i > start)
            stop = each(ctx, p + start, i - start);
        c->got++;
        start = i + 1;
    }
    if (start) {
        memmove(c->io[0].data, p + start, c->io[0].len - start);
        c->io[0].len -= start;
    }
    return stop;
}

/* Reads what child c has to say on pipe k; false at end of file. */
static bool drain(child *c, int k)
{
    uint8_t buf[8192];
    ssize_t n = read(c->fd[k], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    size_t keep = (size_t)n;
    if (k == 1 && c->io[1].len + keep > STDERR_KEPT)
        keep = c->io[1].len < STDERR_KEPT ? STDERR_KEPT - c->io[1].len : 0;
    fl_buf_put_bytes(&c->io[k], buf, keep);
    return true;
}

/* The child closed both pipes: reaps it; if it died, a crash record for the seed it was
 * running and the rest of its batch back to rq. Returns whether each() asked to stop. */
static bool finish(const sim_opts *o, child *c, requeue *rq, campaign_each_fn each, void *ctx,
                   int *crashes)
{
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    bool stop = false;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->got == c->n) && c->got < c->n) {
        fl_buf rec;
        fl_buf_init(&rec);
        crash_record(o, c, c->seeds[c->got], status, &rec);
        (*crashes)++;
        stop = each(ctx, rec.data ? (const char *)rec.data : "", rec.len);
        fl_buf_free(&rec);
        for (uint32_t i = c->n; i > c->got + 1; i--) /* the smallest on top */
            rq->seeds[rq->n++] = c->seeds[i - 1];
    }
    fl_buf_free(&c->io[0]);
    fl_buf_free(&c->io[1]);
    c->pid = 0;
    return stop;
}

static void stop_all(child *kids, uint32_t jobs)
{
    for (uint32_t k = 0; k < jobs; k++) {
        child *c = &kids[k];
        if (!c->pid)
            continue;
        kill(c->pid, SIGTERM); /* ours: the answer is known, the rest is not needed */
        for (int i = 0; i < 2; i++)
            if (c->fd[i] >= 0)
                close(c->fd[i]);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        fl_buf_free(&c->io[0]);
        fl_buf_free(&c->io[1]);
        c->pid = 0;
    }
}

/* The seeds of o in order (its shard only); false when none is left. */
typedef struct seed_iter {
    uint64_t next;
    bool started, done;
} seed_iter;

static bool next_seed(const sim_opts *o, seed_iter *it, uint64_t *seed)
{
    if (it->done)
        return false;
    uint64_t s = it->started ? it->next : o->seed_first;
    if (it->started && it->next == 0)
        return false; /* wrapped past UINT64_MAX */
    while (!campaign_in_shard(o, s) && s < o->seed_last)
        s++;
    if (s > o->seed_last || !campaign_in_shard(o, s)) {
        it->done = true;
        return false;
    }
    *seed = s;
    it->started = true;
    it->next = s + 1;
    it->done = s == o->seed_last;
    return true;
}

/* Fills c's batch: seeds given back first, else (while the budget lasts) the next ones;
 * false if there are none. */
static bool next_batch(const sim_opts *o, seed_iter *it, requeue *rq, child *c, bool spent)
{
    uint32_t want = o->chaos || o->crash_points ? BATCH_MAX : 1;
    c->n = 0;
    while (c->n < want && rq->n)
        c->seeds[c->n++] = rq->seeds[--rq->n];
    while (!spent && c->n < want && next_seed(o, it, &c->seeds[c->n]))
        c->n++;
    return c->n > 0;
}

static fl_time_ns wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

/* Waits for output from the running children and handles it. Returns whether each() asked
 * to stop; *active drops as children finish. */
static bool step(const sim_opts *o, child *kids, uint32_t jobs, uint32_t *active, requeue *rq,
                 campaign_each_fn each, void *ctx, int *crashes)
{
    struct pollfd pfd[2 * JOBS_MAX];
    uint32_t who[2 * JOBS_MAX], n = 0;
    for (uint32_t k = 0; k < jobs; k++)
        for (int i = 0; i < 2 && kids[k].pid; i++)
            if (kids[k].fd[i] >= 0) {
                who[n] = 2 * k + (uint32_t)i;
                pfd[n++] = (struct pollfd){.fd = kids[k].fd[i], .events = POLLIN};
            }
    if (poll(pfd, n, -1) < 0)
        return false; /* EINTR: look again */
    bool stop = false;
    for (uint32_t i = 0; i < n && !stop; i++) {
        child *c = &kids[who[i] / 2];
        int k = (int)(who[i] % 2);
        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (drain(c, k)) {
            if (k == 0)
                stop = deliver(c, each, ctx);
            continue;
        }
        close(c->fd[k]);
        c->fd[k] = -1;
        if (c->fd[0] < 0 && c->fd[1] < 0) {
            stop = finish(o, c, rq, each, ctx, crashes);
            (*active)--;
        }
    }
    return stop;
}

int campaign_for_each(const sim_opts *o, campaign_each_fn each, void *ctx, uint64_t total)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t jobs = o->jobs ? o->jobs : (uint32_t)(cores > 0 ? cores : 1);
    if (jobs > JOBS_MAX)
        jobs = JOBS_MAX;
    if (total < jobs)
        jobs = total ? (uint32_t)total : 1;
    static child kids[JOBS_MAX];
    static requeue rq;
    memset(kids, 0, sizeof(kids));
    rq.n = 0;
    seed_iter it = {0};
    uint32_t active = 0;
    int crashes = 0;
    bool stop = false;
    fl_time_ns t0 = wall_ns();
    while (!stop) {
        bool spent = o->budget_ns && wall_ns() - t0 >= o->budget_ns;
        for (uint32_t k = 0; k < jobs && active < jobs; k++) {
            if (kids[k].pid || !next_batch(o, &it, &rq, &kids[k], spent))
                continue;
            if (spawn(o, &kids[k]) != 0) {
                for (uint32_t i = kids[k].n; i > 0; i--) /* not run: back in line */
                    rq.seeds[rq.n++] = kids[k].seeds[i - 1];
                if (active == 0) {
                    perror("faultline sim: cannot start a process for the seeds");
                    return -1;
                }
                break; /* out of processes for now: wait for one to finish */
            }
            active++;
        }
        if (active == 0)
            break;
        stop = step(o, kids, jobs, &active, &rq, each, ctx, &crashes);
    }
    stop_all(kids, jobs);
    return crashes;
}
