/* cmd_cluster.c: `faultline cluster`: a local N-node cluster in the foreground, each node a
 * child process running `faultline server` (fork + exec of this same binary). Ctrl-C
 * (SIGINT) or SIGTERM stops every node with SIGTERM, then SIGKILL after 5 s. A node that
 * exits on its own (killed, fatal error) is reported; the others keep running. */
#include "cli/cli.h"
#include "cli/cli_opt.h"

#include "faultline/errmsg.h"
#include "faultline/error.h"
#include "faultline/log.h"
#include "faultline/tls.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLUSTER_NODES_MAX 16
#define PEER_PORT_OFFSET  100

typedef struct cluster_opts {
    int nodes;
    int base_port;
    char data[256];
    const char *requirepass;
    const char *log_level;
    const char *election_ms;
    const char *tls_dir; /* --tls DIR: node<i>.crt / .key and ca.crt there (made if none) */
    int metrics_port;    /* --metrics-port P: node i serves /metrics on 127.0.0.1:P+i */
    const char *protocol;
    const char *read_mode;     /* --read-mode index|lease|log */
    const char *max_drift_ppm; /* --max-drift-ppm PPM: the lease's clock-drift bound */
} cluster_opts;

static void cluster_usage(FILE *f)
{
    fprintf(f,
            "usage: faultline cluster --nodes N [--base-port P] [--data DIR]\n"
            "                         [--requirepass PASSWORD] [--log-level L]\n"
            "                         [--election-ms MS] [--tls DIR] [--metrics-port M]\n"
            "                         [--protocol raft|paxos] [--read-mode index|lease|log]\n"
            "                         [--max-drift-ppm PPM]\n\n"
            "Starts N nodes (1..%d) as child processes: node i serves clients (RESP) on\n"
            "127.0.0.1:P+i and talks to its peers on 127.0.0.1:P+%d+i (P defaults to 7000),\n"
            "keeping its log in DIR/n<i> (default /tmp/faultline-cluster-<pid>). Ctrl-C stops\n"
            "them all. --tls DIR: TLS on the client and peer ports with DIR's certificates\n"
            "(`faultline certs DIR --nodes N` first, or made here when DIR has no ca.crt).\n"
            "--metrics-port M: node i serves /metrics on 127.0.0.1:M+i. --log-level,\n"
            "--election-ms, --requirepass, --protocol, --read-mode and --max-drift-ppm\n"
            "are passed to every `faultline server` (see `faultline server --help`).\n",
            CLUSTER_NODES_MAX, PEER_PORT_OFFSET);
    fl_cli_exit_help(f, "stopped by Ctrl-C (or a node's own exit status when one failed)", NULL,
                     NULL);
}

#define CMD "cluster"

/* One option and its value v (NULL: missing); 0, an exit status (message printed), or -1 for
 * an option cluster does not have. Values the nodes take are checked here, not by them. */
static int int_option(const char *k, const char *v, uint32_t max, int *out)
{
    uint32_t x;
    int rc = fl_cli_u32(CMD, k, v, 1, max, &x);
    if (!rc)
        *out = (int)x;
    return rc;
}

static int cluster_option(cluster_opts *o, const char *k, const char *v)
{
    fl_time_ns ns;
    if (!strcmp(k, "--nodes"))
        return int_option(k, v, CLUSTER_NODES_MAX, &o->nodes);
    if (!strcmp(k, "--base-port"))
        return int_option(k, v, 65535 - PEER_PORT_OFFSET - CLUSTER_NODES_MAX, &o->base_port);
    if (!strcmp(k, "--metrics-port"))
        return int_option(k, v, 65535 - CLUSTER_NODES_MAX, &o->metrics_port);
    if (!strcmp(k, "--data")) {
        int rc = fl_cli_text(CMD, k, v, o->data, sizeof(o->data));
        return rc ? rc : fl_cli_out_dir(CMD, k, v);
    }
    if (!strcmp(k, "--requirepass"))
        return (o->requirepass = v) ? 0 : fl_cli_no_value(CMD, k);
    if (!strcmp(k, "--log-level"))
        return !v ? fl_cli_no_value(CMD, k)
               : fl_log_level_parse(v) < 0
                   ? fl_cli_bad(CMD, k, v, "expected debug, info, warn or error")
                   : (o->log_level = v, 0);
    if (!strcmp(k, "--election-ms")) { /* as the server reads it: a number alone is ms */
        o->election_ms = v;
        return fl_cli_duration(CMD, k, v, FL_NS_PER_MS, FL_NS_PER_MS, 600 * FL_NS_PER_S, &ns);
    }
    if (!strcmp(k, "--protocol")) { /* checked here, so a bad one starts no node */
        static const char *const protocols[] = {"raft", "paxos"};
        int e;
        o->protocol = v;
        return fl_cli_enum(CMD, k, v, protocols, 2, &e);
    }
    if (!strcmp(k, "--read-mode")) {
        static const char *const modes[] = {"index", "lease", "log"};
        int e;
        o->read_mode = v;
        return fl_cli_enum(CMD, k, v, modes, 3, &e);
    }
    if (!strcmp(k, "--max-drift-ppm")) {
        uint32_t x;
        o->max_drift_ppm = v;
        return fl_cli_u32(CMD, k, v, 0, 999999, &x);
    }
    if (!strcmp(k, "--tls")) /* its certificates, or the place to make them */
        return !v ? fl_cli_no_value(CMD, k) : (o->tls_dir = v, fl_cli_out_dir(CMD, k, v));
    return -1;
}

/* The command line; 0 or the exit status (0 after --help, with *help). */
static int parse_opts(int argc, char **argv, cluster_opts *o, bool *help)
{
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cluster_usage(stdout);
            *help = true;
            return 0;
        }
        int rc = cluster_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
        if (rc)
            return rc < 0 ? fl_cli_unexpected(CMD, argv[i]) : rc;
    }
    if (!o->nodes)
        return fl_cli_error(CMD, FL_EXIT_USAGE, "--nodes N is required");
    return 0;
}

static pid_t spawn(const cluster_opts *o, int id, const char *members, const sigset_t *old)
{
    char sid[16], listen[32], data[300], cert[300], key[300], ca[300], metrics[32];
    snprintf(sid, sizeof(sid), "%d", id);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", o->base_port + id);
    snprintf(data, sizeof(data), "%s/n%d", o->data, id);
    const char *args[40] = {"faultline", "server",   "--id", sid,      "--cluster",
                            members,     "--listen", listen, "--data", data};
    int n = 10;
    if (o->requirepass) {
        args[n++] = "--requirepass";
        args[n++] = o->requirepass;
    }
    if (o->log_level) {
        args[n++] = "--log-level";
        args[n++] = o->log_level;
    }
    if (o->election_ms) {
        args[n++] = "--election-ms";
        args[n++] = o->election_ms;
    }
    if (o->tls_dir) {
        snprintf(cert, sizeof(cert), "%s/node%d.crt", o->tls_dir, id);
        snprintf(key, sizeof(key), "%s/node%d.key", o->tls_dir, id);
        snprintf(ca, sizeof(ca), "%s/ca.crt", o->tls_dir);
        const char *tls[] = {"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca};
        for (int k = 0; k < 6; k++)
            args[n++] = tls[k];
    }
    if (o->metrics_port) {
        snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", o->metrics_port + id);
        args[n++] = "--metrics";
        args[n++] = metrics;
    }
    const char *words[][2] = {{"--protocol", o->protocol},
                              {"--read-mode", o->read_mode},
                              {"--max-drift-ppm", o->max_drift_ppm}};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        if (words[w][1]) {
            args[n++] = words[w][0];
            args[n++] = words[w][1];
        }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a killed `cluster` takes its nodes along */
        sigprocmask(SIG_SETMASK, old, NULL);
        execv("/proc/self/exe", (char *const *)args);
        fprintf(stderr, "faultline cluster: exec failed: %s\n", strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Sends SIGTERM to every live child and reaps them, SIGKILL after a grace period. */
static void stop_all(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int waited_ms = 0;; waited_ms += 50) {
        int alive = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            alive += pids[i] > 0;
        }
        if (!alive)
            return;
        if (waited_ms == 5000)
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGKILL);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
}

/* --tls DIR without a CA in it: make one, with a certificate per node. */
static int ensure_certs(const cluster_opts *o)
{
    char ca[300];
    snprintf(ca, sizeof(ca), "%s/ca.crt", o->tls_dir);
    if (access(ca, R_OK) == 0)
        return 0;
    fl_errmsg m = {{0}};
    fl_tls_certs_config c = {.dir = o->tls_dir, .nodes = (uint32_t)o->nodes};
    int rc = fl_tls_make_certs(&c, &m);
    if (rc)
        return fl_cli_error(CMD, rc == FL_EUNSUPPORTED ? FL_EXIT_UNAVAILABLE : FL_EXIT_CANTCREAT,
                            "%s", m.text);
    printf("certificates for %d nodes made in %s\n", o->nodes, o->tls_dir);
    return 0;
}

int fl_cmd_cluster(int argc, char **argv)
{
    cluster_opts o = {.base_port = 7000};
    snprintf(o.data, sizeof(o.data), "/tmp/faultline-cluster-%d", (int)getpid());
    bool help = false;
    int rc = parse_opts(argc, argv, &o, &help);
    if (rc || help)
        return rc;
    if (o.tls_dir && (rc = ensure_certs(&o)))
        return rc;
    if ((rc = fl_cli_out_dir(CMD, "--data", o.data)))
        return rc;
    char members[1024] = "";
    for (int i = 1; i <= o.nodes; i++) {
        size_t len = strlen(members);
        snprintf(members + len, sizeof(members) - len, "%s%d=127.0.0.1:%d", i > 1 ? "," : "", i,
                 o.base_port + PEER_PORT_OFFSET + i);
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t pids[CLUSTER_NODES_MAX] = {0};
    for (int i = 1; i <= o.nodes; i++) {
        pids[i - 1] = spawn(&o, i, members, &old);
        printf("node %d: client 127.0.0.1:%d  peers 127.0.0.1:%d  data %s/n%d\n", i,
               o.base_port + i, o.base_port + PEER_PORT_OFFSET + i, o.data, i);
    }
    printf("cluster of %d nodes running; Ctrl-C stops it\n", o.nodes);
    fflush(stdout);
    int status = 0;
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig != SIGCHLD)
            continue;
        int alive = 0;
        for (int i = 0; i < o.nodes; i++)
            if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                fprintf(stderr, "faultline cluster: node %d exited (status %d)\n", i + 1,
                        WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
                pids[i] = 0;
            }
        for (int i = 0; i < o.nodes; i++)
            alive += pids[i] > 0;
        if (!alive)
            break;
    }
    fprintf(stderr, "faultline cluster: stopping\n");
    stop_all(pids, o.nodes);
    /* the last node that failed on its own says why, in its own exit status */
    return !status ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
