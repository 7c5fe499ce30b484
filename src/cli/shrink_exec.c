/* shrink_exec.c: one candidate of the shrinker (shrink.h) run in a child process: the child
 * runs the scenario, judges it (sim_eval.c) and writes back what it found (the outcome, and
 * when asked the faults it ran or the trace of its last events); a child that dies (an
 * assertion in the code, a signal, the time limit) leaves a crash whose kind is the assertion's
 * place, from the first line it wrote to stderr. A child still running at the end of the
 * search's budget is killed: it counts as a candidate that did not fail. */
#include "shrink.h"

#include "campaign.h"

#include "faultline/error.h"
#include "shrink_int.h"
#include "sim_eval.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_MAX (16u << 20) /* a schedule of FL_RUN_SCHEDULE_MAX faults fits */
#define STDERR_MAX  (256u << 10)

/* The kind of violation oc and r show ("" when none): the invariant's name, or the check. */
static void classify(const sim_outcome *oc, const fl_run_result *r, char *kind, size_t size)
{
    kind[0] = 0;
    if (!oc->safe)
        snprintf(kind, size, "%.*s", (int)strcspn(r->violation_reason, ":"), r->violation_reason);
    else if (!strncmp(oc->what, "split brain", 11))
        snprintf(kind, size, "split brain");
    else if (oc->checked && oc->lin == FL_LIN_VIOLATION)
        snprintf(kind, size, "linearizability");
    else if (!oc->live)
        snprintf(kind, size, "liveness");
    else if (r->disruptions)
        snprintf(kind, size, "disruption");
}

/* Runs s and judges it into *oc; r is the run's (freed by the caller). */
static void run_judge(const fl_scenario *s, const shrink_job *job, fl_run_result *r,
                      shrink_outcome *oc)
{
    fl_run_config c = s->run;
    memset(oc, 0, sizeof(*oc));
    if (fl_run(&c, r) == 0) {
        sim_opts o = {.check_lin = s->check_lin, .campaign = true};
        o.check_timeout_ns = s->check_timeout_ns;
        if (job->timeout_ns && job->timeout_ns < o.check_timeout_ns)
            o.check_timeout_ns = job->timeout_ns;
        sim_outcome so;
        sim_evaluate(&o, &c, r, &so);
        oc->ran = true;
        classify(&so, r, oc->kind, sizeof(oc->kind));
        oc->violation = oc->kind[0] != 0;
        snprintf(oc->what, sizeof(oc->what), "%s", so.what);
        oc->ops = r->ops_invoked;
        oc->end_ns = r->end_ns;
        oc->focus_ns = !so.safe ? r->violation_time_ns : so.lin_at_ns ? so.lin_at_ns : r->end_ns;
        for (size_t i = 0; i < r->n_schedule; i++)
            oc->faults += r->schedule[i].start_ns < r->end_ns;
        oc->trace_hash = r->trace_hash;
        sim_outcome_free(&so);
    }
}

/* The child: runs s, writes the outcome (and the schedule or the trace when asked) to fd. */
static _Noreturn void child_main(const fl_scenario *s, const shrink_job *job, int fd)
{
    fl_run_result r;
    shrink_outcome oc;
    fl_buf b;
    fl_buf_init(&b);
    if (job->trace) {
        shrink_trace_build(s, job->stop_ns, &oc, &b);
    } else {
        run_judge(s, job, &r, &oc);
        fl_buf_put_bytes(&b, &oc, sizeof(oc));
        if (job->want_schedule) {
            uint64_t n = r.n_schedule;
            fl_buf_put_bytes(&b, &n, sizeof(n));
            fl_buf_put_bytes(&b, r.schedule, r.n_schedule * sizeof(*r.schedule));
        }
        fl_run_result_free(&r);
    }
    bool ok = !b.err;
    for (size_t at = 0; ok && at < b.len;) {
        ssize_t k = write(fd, b.data + at, b.len - at);
        if (k < 0 && errno == EINTR)
            continue;
        ok = k > 0;
        at += k > 0 ? (size_t)k : 0;
    }
    _exit(ok ? 0 : 3);
}

static fl_time_ns mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

/* Milliseconds to wait for the pipes before the deadline (-1: no deadline); at the deadline
 * the child is killed (its pipes then close) and *killed set. */
static int wait_ms(pid_t pid, fl_time_ns deadline, bool *killed)
{
    if (!deadline || *killed)
        return -1;
    fl_time_ns now = mono_ns();
    if (now < deadline)
        return (int)((deadline - now) / FL_NS_PER_MS + 1);
    kill(pid, SIGKILL);
    *killed = true;
    return -1;
}

/* Reads both pipes to their end, keeping at most max[k] bytes of each; kills the child at
 * deadline (0: never). Returns whether it did. */
static bool collect(int fd[2], fl_buf out[2], const size_t max[2], pid_t pid, fl_time_ns deadline)
{
    bool killed = false;
    while (fd[0] >= 0 || fd[1] >= 0) {
        struct pollfd p[2];
        int n = 0, who[2];
        for (int k = 0; k < 2; k++)
            if (fd[k] >= 0) {
                who[n] = k;
                p[n++] = (struct pollfd){.fd = fd[k], .events = POLLIN};
            }
        if (poll(p, (nfds_t)n, wait_ms(pid, deadline, &killed)) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int k = who[i];
            uint8_t buf[65536];
            ssize_t got = read(fd[k], buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(fd[k]);
                fd[k] = -1;
                continue;
            }
            size_t keep = (size_t)got;
            if (out[k].len + keep > max[k])
                keep = out[k].len < max[k] ? max[k] - out[k].len : 0;
            fl_buf_put_bytes(&out[k], buf, keep);
        }
    }
    return killed;
}

/* The kind of a crash from what the child wrote to stderr: "crash: file:line" of the failed
 * assertion, else the signal. */
static void crash_kind(const fl_buf *err, int status, shrink_outcome *oc)
{
    const char *text = err->data ? (const char *)err->data : "";
    size_t len = strnlen(text, err->len);
    const char *mark = memmem(text, len, ": assertion failed", 18);
    if (mark)
        snprintf(oc->kind, sizeof(oc->kind), "crash: %.*s", (int)(mark - text), text);
    else if (WIFSIGNALED(status))
        snprintf(oc->kind, sizeof(oc->kind), "crash: signal %d", WTERMSIG(status));
    else
        snprintf(oc->kind, sizeof(oc->kind), "crash: exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    size_t line = strcspn(text, "\n");
    snprintf(oc->what, sizeof(oc->what), "crash: %.*s", (int)(line < len ? line : len), text);
    oc->violation = true;
}

int shrink_spawn(const fl_scenario *s, const shrink_job *job, shrink_outcome *oc, fl_buf *payload,
                 fl_buf *err)
{
    int out[2], errp[2];
    pid_t pid = campaign_fork_piped(out, errp);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (job->seconds_max)
            alarm(job->seconds_max);
        child_main(s, job, out[1]);
    }
    int fd[2] = {out[0], errp[0]};
    fl_buf got[2];
    fl_buf_init(&got[0]);
    fl_buf_init(&got[1]);
    const size_t max[2] = {PAYLOAD_MAX, STDERR_MAX};
    bool killed = collect(fd, got, max, pid, job->wall_ns ? mono_ns() + job->wall_ns : 0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    memset(oc, 0, sizeof(*oc));
    bool whole = WIFEXITED(status) && WEXITSTATUS(status) == 0 && got[0].len >= sizeof(*oc);
    if (whole) {
        memcpy(oc, got[0].data, sizeof(*oc));
        fl_buf_put_bytes(payload, got[0].data + sizeof(*oc), got[0].len - sizeof(*oc));
    } else if (killed) {
        oc->timed_out = true;
        snprintf(oc->what, sizeof(oc->what), "stopped at the end of the budget");
    } else {
        crash_kind(&got[1], status, oc);
    }
    if (err)
        fl_buf_put_bytes(err, got[1].data ? got[1].data : (const uint8_t *)"", got[1].len);
    fl_buf_free(&got[0]);
    fl_buf_free(&got[1]);
    return 0;
}

int shrink_try(const fl_scenario *s, fl_time_ns timeout_ns, shrink_outcome *out,
               fl_run_fault_spec **sched, size_t *n_sched)
{
    shrink_job job = {
        .timeout_ns = timeout_ns, .want_schedule = sched != NULL, .wall_ns = timeout_ns};
    job.seconds_max = timeout_ns ? (unsigned)(2 * timeout_ns / FL_NS_PER_S + 30) : 0;
    fl_buf p;
    fl_buf_init(&p);
    int rc = shrink_spawn(s, &job, out, &p, NULL);
    if (sched) {
        *sched = NULL;
        *n_sched = 0;
        uint64_t n = 0;
        if (rc == 0 && out->ran && p.len >= sizeof(n)) {
            memcpy(&n, p.data, sizeof(n));
            if (n <= FL_RUN_SCHEDULE_MAX * 64ull && p.len == sizeof(n) + n * sizeof(**sched)) {
                *sched = malloc(n ? n * sizeof(**sched) : 1);
                if (*sched) {
                    memcpy(*sched, p.data + sizeof(n), n * sizeof(**sched));
                    *n_sched = (size_t)n;
                }
            }
        }
    }
    fl_buf_free(&p);
    return rc;
}
