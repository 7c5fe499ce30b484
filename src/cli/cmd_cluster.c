/* cmd_cluster.c: `faultline cluster`: a local N-node cluster in the foreground, each node a
 * child process running `faultline server` (fork + exec of this same binary). Ctrl-C
 * (SIGINT) or SIGTERM stops every node with SIGTERM, then SIGKILL after 5 s. A node that
 * exits on its own (killed, fatal error) is reported; the others keep running. */
#include "cli/cli.h"

#include "faultline/errmsg.h"
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
} cluster_opts;

static void cluster_usage(FILE *f)
{
    fprintf(f,
            "usage: faultline cluster --nodes N [--base-port P] [--data DIR]\n"
            "                         [--requirepass P] [--log-level L] [--election-ms MS]\n"
            "                         [--tls DIR] [--metrics-port M] [--protocol raft|paxos]\n\n"
            "Starts N nodes (1..%d) as child processes: node i serves clients (RESP) on\n"
            "127.0.0.1:P+i and talks to its peers on 127.0.0.1:P+%d+i (P defaults to 7000),\n"
            "keeping its log in DIR/n<i> (default /tmp/faultline-cluster-<pid>). Ctrl-C stops\n"
            "them all. --tls DIR: TLS on the client and peer ports with DIR's certificates\n"
            "(`faultline certs DIR --nodes N` first, or made here when DIR has no ca.crt).\n"
            "--metrics-port M: node i serves /metrics on 127.0.0.1:M+i.\n",
            CLUSTER_NODES_MAX, PEER_PORT_OFFSET);
}

static int parse_opts(int argc, char **argv, cluster_opts *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        if (!strcmp(k, "--nodes"))
            o->nodes = atoi(v);
        else if (!strcmp(k, "--base-port"))
            o->base_port = atoi(v);
        else if (!strcmp(k, "--data"))
            snprintf(o->data, sizeof(o->data), "%s", v);
        else if (!strcmp(k, "--requirepass"))
            o->requirepass = v;
        else if (!strcmp(k, "--log-level"))
            o->log_level = v;
        else if (!strcmp(k, "--election-ms"))
            o->election_ms = v;
        else if (!strcmp(k, "--tls"))
            o->tls_dir = v;
        else if (!strcmp(k, "--metrics-port"))
            o->metrics_port = atoi(v);
        else if (!strcmp(k, "--protocol"))
            o->protocol = v; /* the servers check it */
        else
            return -1;
    }
    if (o->nodes < 1 || o->nodes > CLUSTER_NODES_MAX || o->base_port < 1 || o->metrics_port < 0 ||
        o->metrics_port + o->nodes > 65535 || o->base_port + PEER_PORT_OFFSET + o->nodes > 65535)
        return -1;
    return 0;
}

static pid_t spawn(const cluster_opts *o, int id, const char *members, const sigset_t *old)
{
    char sid[16], listen[32], data[300], cert[300], key[300], ca[300], metrics[32];
    snprintf(sid, sizeof(sid), "%d", id);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", o->base_port + id);
    snprintf(data, sizeof(data), "%s/n%d", o->data, id);
    const char *args[32] = {"faultline", "server",   "--id", sid,      "--cluster",
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
    if (o->protocol) {
        args[n++] = "--protocol";
        args[n++] = o->protocol;
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
    if (fl_tls_make_certs(&c, &m)) {
        fprintf(stderr, "faultline cluster: %s\n", m.text);
        return -1;
    }
    printf("certificates for %d nodes made in %s\n", o->nodes, o->tls_dir);
    return 0;
}

int fl_cmd_cluster(int argc, char **argv)
{
    cluster_opts o = {.base_port = 7000};
    snprintf(o.data, sizeof(o.data), "/tmp/faultline-cluster-%d", (int)getpid());
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cluster_usage(stdout);
        return 0;
    }
    if (parse_opts(argc, argv, &o)) {
        cluster_usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (o.tls_dir && ensure_certs(&o))
        return 1;
    if (mkdir(o.data, 0755) && errno != EEXIST) {
        fprintf(stderr, "faultline cluster: mkdir %s: %s\n", o.data, strerror(errno));
        return 1;
    }
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
    return status ? 1 : 0;
}
