/* proc.c: the nodes' processes. Each node runs in its own process group (signals go to the
 * group, so a template's helpers get them too) with PR_SET_PDEATHSIG(SIGKILL), its output
 * appended to DIR/nI.log, optionally under the disk shim (LD_PRELOAD, FL_SHIM_DIR,
 * FL_SHIM_CTL), under libfaketime (LD_PRELOAD, FAKETIME) and in its network namespace.
 *
 * Nothing here waits for a node except nem_nodes_stop_all at the very end, which is
 * bounded: SIGTERM, then SIGKILL after a grace period, then a reap of processes that
 * SIGKILL always ends. */
#include "nem_int.h"

#include "faultline/error.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARGV_MAX 64

static void child_env(const nem *n, const nem_node *x)
{
    char preload[2 * FL_NEM_PATH_MAX + 2] = "";
    if (n->cfg->shim[0]) {
        char dir[FL_NEM_PATH_MAX + 8];
        snprintf(dir, sizeof(dir), "%s/n%u", n->cfg->out_dir, x->id);
        setenv("FL_SHIM_DIR", dir, 1);
        setenv("FL_SHIM_CTL", x->shim_ctl, 1);
        snprintf(preload, sizeof(preload), "%s", n->cfg->shim);
    }
    if (x->faketime && n->cfg->faketime_lib[0]) {
        size_t l = strlen(preload);
        snprintf(preload + l, sizeof(preload) - l, "%s%s", l ? ":" : "", n->cfg->faketime_lib);
        char ft[64];
        if (x->clock_rate > 0 && x->clock_rate != 1)
            snprintf(ft, sizeof(ft), "%+lld x%.6f", (long long)(x->clock_offset_ns / FL_NS_PER_S),
                     x->clock_rate);
        else
            snprintf(ft, sizeof(ft), "%+lld", (long long)(x->clock_offset_ns / FL_NS_PER_S));
        setenv("FAKETIME", ft, 1);
        setenv("FAKETIME_NO_CACHE", "1", 1);
    }
    if (preload[0]) {
        setenv("LD_PRELOAD", preload, 1);
        /* a sanitizer build of the node must accept a preload before its runtime */
        const char *old = getenv("ASAN_OPTIONS");
        char asan[512];
        snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
                 old && old[0] ? ":" : "");
        setenv("ASAN_OPTIONS", asan, 1);
    }
}

static void child_exec(const nem *n, const nem_node *x, char **argv, int log_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (x->ns[0]) {
        char path[96];
        snprintf(path, sizeof(path), "/run/netns/%s", x->ns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            dprintf(log_fd, "faultline nemesis: cannot enter namespace %s: %s\n", x->ns,
                    strerror(errno));
            _exit(126);
        }
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    child_env(n, x);
    execv(argv[0], argv);
    dprintf(2, "faultline nemesis: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int nem_node_start(nem *n, nem_node *x)
{
    char *argv[ARGV_MAX], strings[16384];
    if (nem_target_argv(n, x, argv, ARGV_MAX, strings, sizeof(strings)) < 1)
        return FL_ECONFIG;
    fl_nem_node_report *rep = &n->res->node[x->id - 1];
    int fd = open(rep->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return FL_EIO;
    dprintf(fd, "=== faultline nemesis: start %u of node %u at %.3f s%s%s\n", rep->starts + 1,
            x->id, (double)nem_now(n) / 1e9, x->faketime ? " under libfaketime" : "",
            n->cfg->shim[0] ? " under the disk shim" : "");
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return FL_EIO;
    }
    if (pid == 0)
        child_exec(n, x, argv, fd);
    close(fd);
    setpgid(pid, pid); /* also in the child: whichever runs first */
    x->pid = pid;
    x->pgid = pid;
    x->state = NODE_UP;
    x->killed_by_us = false;
    x->restart_pending = false;
    x->started_at = fl_loop_now(&n->loop);
    x->answered_since_start = false;
    x->slow_reported = false;
    rep->starts++;
    return 0;
}

void nem_node_signal(nem *n, nem_node *x, int sig)
{
    (void)n;
    if (x->pid <= 0)
        return;
    if (sig == SIGKILL || sig == SIGTERM)
        x->killed_by_us = true;
    kill(-x->pid, sig);
    if (sig == SIGSTOP)
        x->state = NODE_PAUSED;
    else if (sig == SIGCONT && x->state == NODE_PAUSED)
        x->state = NODE_UP;
    if (sig == SIGTERM || sig == SIGKILL)
        kill(-x->pid, SIGCONT); /* a paused process must run to die of SIGTERM */
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : 0;
}

void nem_node_last_error(const nem *n, const nem_node *x, char *out, size_t size)
{
    out[0] = 0;
    FILE *f = fopen(n->res->node[x->id - 1].log, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "=== faultline nemesis: start", 28))
            out[0] = 0; /* only what this incarnation said */
        if (!strstr(line, " E ") && !strstr(line, "error") && !strstr(line, "fatal") &&
            !strstr(line, "panic") && !strstr(line, "failed"))
            continue;
        line[strcspn(line, "\n")] = 0;
        snprintf(out, size, "%s", line);
    }
    fclose(f);
}

static void reaped(nem *n, nem_node *x, int status)
{
    fl_nem_node_report *rep = &n->res->node[x->id - 1];
    rep->last_exit = exit_code(status);
    bool ours = x->killed_by_us;
    x->pid = 0;
    x->state = NODE_DOWN;
    x->st_known = false;
    x->st_seen = false;
    fl_observe_record_down(&n->res->rec, nem_now(n), x->id);
    if (!ours) {
        rep->unexpected_exits++;
        nem_node_last_error(n, x, rep->last_error, sizeof(rep->last_error));
        if (x->watch != SIZE_MAX)
            nem_note(n, x->watch, "node %u %s (%s %d)%s%s; ", x->id,
                     x->answered_since_start ? "stopped" : "did not start",
                     rep->last_exit < 0 ? "signal" : "exit status",
                     rep->last_exit < 0 ? -rep->last_exit : rep->last_exit,
                     rep->last_error[0] ? ": " : "", rep->last_error);
        nem_say(n, "node %u exited by itself (%s %d)%s%s", x->id,
                rep->last_exit < 0 ? "signal" : "status",
                rep->last_exit < 0 ? -rep->last_exit : rep->last_exit,
                rep->last_error[0] ? ": " : "", rep->last_error);
    }
    if (x->restart_pending && !n->ending && nem_node_start(n, x))
        nem_say(n, "node %u could not be started again", x->id);
}

void nem_nodes_reap(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++) {
        nem_node *x = &n->node[i];
        int status;
        if (x->pid > 0 && waitpid(x->pid, &status, WNOHANG) == x->pid)
            reaped(n, x, status);
    }
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

void nem_nodes_stop_all(nem *n, fl_time_ns grace_ns)
{
    for (uint32_t i = 1; i <= n->count; i++) {
        n->node[i].restart_pending = false;
        nem_node_signal(n, &n->node[i], SIGTERM);
    }
    for (fl_time_ns waited = 0;; waited += 20 * FL_NS_PER_MS) {
        bool alive = false;
        for (uint32_t i = 1; i <= n->count; i++) {
            nem_node *x = &n->node[i];
            int status;
            if (x->pid > 0 && waitpid(x->pid, &status, WNOHANG) == x->pid) {
                n->res->node[i - 1].last_exit = exit_code(status);
                x->pid = 0;
                x->state = NODE_DOWN;
            }
            alive |= x->pid > 0;
        }
        if (!alive)
            break;
        if (waited >= grace_ns)
            for (uint32_t i = 1; i <= n->count; i++)
                if (n->node[i].pid > 0)
                    kill(-n->node[i].pid, SIGKILL);
        sleep_ms(20);
    }
    /* a template's helpers left in a group whose leader is gone */
    for (uint32_t i = 1; i <= n->count; i++)
        if (n->node[i].pgid > 0)
            kill(-n->node[i].pgid, SIGKILL);
}

int nem_run_cmd(char *const argv[], bool quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
