/* server_rig.h: helpers for tests that run real `faultline server` processes on loopback:
 * free ports, a temp directory, spawning and killing nodes, and a tiny blocking RESP
 * client. Header-only (static functions) so each test program includes what it uses. */
#ifndef FL_SERVER_RIG_H
#define FL_SERVER_RIG_H

#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RIG_NODES_MAX 5

typedef struct rig {
    int n;
    int peer_port[RIG_NODES_MAX + 1];
    int client_port[RIG_NODES_MAX + 1];
    pid_t pid[RIG_NODES_MAX + 1];
    char dir[128];
    char bin[512];
    char members[512];
    const char *extra[8]; /* extra server arguments, NULL-terminated */
} rig;

static void rig_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* The faultline binary beside the test's build tree: OUT/tests/unit/x -> OUT/faultline. */
static void rig_find_bin(rig *r)
{
    char self[400];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = 0;
    char *d = dirname(dirname(dirname(self)));
    snprintf(r->bin, sizeof(r->bin), "%s/faultline", d);
}

static bool rig_stop(rig *r);

/* The rig in use (tests keep it in static storage), stopped at exit or by the next
 * rig_init: a failed CHECK leaves its test early without reaching rig_stop. */
static rig *rig_current;

static void rig_cleanup(void)
{
    if (rig_current)
        rig_stop(rig_current);
}

/* Picks 2n free high ports (random base, retried) and makes a temp dir. */
__attribute__((unused)) static void rig_init(rig *r, int n)
{
    static bool registered;
    if (!registered)
        atexit(rig_cleanup);
    registered = true;
    rig_cleanup();
    memset(r, 0, sizeof(*r));
    rig_current = r;
    r->n = n;
    rig_find_bin(r);
    snprintf(r->dir, sizeof(r->dir), "/tmp/fl-test-server-XXXXXX");
    CHECK(mkdtemp(r->dir) != NULL);
    srand((unsigned)(getpid() ^ time(NULL)));
    for (int attempt = 0; attempt < 50; attempt++) {
        /* below the kernel's ephemeral range (32768..60999 by default), where other
         * programs' outgoing connections take their local ports */
        int base = 20000 + rand() % 12700;
        bool ok = true;
        for (int i = 1; i <= n && ok; i++) {
            r->client_port[i] = base + i;
            r->peer_port[i] = base + 10 + i;
            ok = port_free(r->client_port[i]) && port_free(r->peer_port[i]);
        }
        if (ok)
            break;
    }
    size_t len = 0;
    for (int i = 1; i <= n; i++)
        len += (size_t)snprintf(r->members + len, sizeof(r->members) - len, "%s%d=127.0.0.1:%d",
                                i > 1 ? "," : "", i, r->peer_port[i]);
}

static void rig_start(rig *r, int id)
{
    char sid[16], listen[32], data[200], log[200];
    snprintf(sid, sizeof(sid), "%d", id);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", r->client_port[id]);
    snprintf(data, sizeof(data), "%s/n%d", r->dir, id);
    snprintf(log, sizeof(log), "%s/n%d.log", r->dir, id);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0)
            dup2(fd, 2);
        const char *args[20] = {"faultline", "server",   "--id", sid,      "--cluster",
                                r->members,  "--listen", listen, "--data", data};
        int k = 10;
        for (int i = 0; i < 8 && r->extra[i]; i++)
            args[k++] = r->extra[i];
        execv(r->bin, (char *const *)args);
        _exit(127);
    }
    r->pid[id] = pid;
}

/* Sends sig and reaps the node; returns its wait status (-1 if it was not running). */
static int rig_kill(rig *r, int id, int sig)
{
    int status = -1;
    if (r->pid[id] <= 0)
        return status;
    kill(r->pid[id], sig);
    waitpid(r->pid[id], &status, 0);
    r->pid[id] = 0;
    return status;
}

/* True if a node's log mentions a sanitizer report or an assertion. */
static bool rig_log_dirty(const rig *r, int id)
{
    char path[200], line[1024];
    snprintf(path, sizeof(path), "%s/n%d.log", r->dir, id);
    FILE *f = fopen(path, "r");
    bool dirty = false;
    while (f && fgets(line, sizeof(line), f))
        dirty |=
            strstr(line, "Sanitizer") || strstr(line, "runtime error") || strstr(line, "assert");
    if (f)
        fclose(f);
    if (dirty)
        fprintf(stderr, "  node %d's log (%s) has a sanitizer or assertion report\n", id, path);
    return dirty;
}

/* Stops every node (SIGTERM) and removes the temp dir. Returns true if every running node
 * exited with status 0 and no log holds a sanitizer or assertion report. */
static bool rig_stop(rig *r)
{
    rig_current = NULL;
    if (!r->dir[0])
        return true;
    bool clean = true;
    for (int i = 1; i <= r->n; i++) {
        bool running = r->pid[i] > 0;
        int status = rig_kill(r, i, SIGTERM);
        if (running && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "  node %d: exit status %d after SIGTERM\n", i, status);
            clean = false;
        }
        clean &= !rig_log_dirty(r, i);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    if (getenv("FL_KEEP_TEST_DIR") == NULL && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
    r->dir[0] = 0;
    return clean;
}

/* ---- a tiny RESP client ---------------------------------------------------------------- */

static int rc_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {8, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static bool rc_write(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Sends a command given as NULL-terminated words. */
static bool rc_send(int fd, const char *first, ...)
{
    const char *w[16];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s && n < 16; s = va_arg(ap, const char *))
        w[n++] = s;
    va_end(ap);
    char buf[4096];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", n);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "$%zu\r\n%s\r\n", strlen(w[i]), w[i]);
    return rc_write(fd, buf, len);
}

static bool rc_line(int fd, char *out, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        char c;
        if (recv(fd, &c, 1, 0) != 1)
            return false;
        if (c == '\n' && n > 0 && out[n - 1] == '\r') {
            out[n - 1] = 0;
            return true;
        }
        out[n++] = c;
    }
    return false;
}

/* out = prefix + s, truncated to size. */
static void rc_copy(char *out, size_t size, const char *prefix, const char *s)
{
    size_t a = strlen(prefix), b = strlen(s);
    if (a >= size)
        a = size - 1;
    if (a + b >= size)
        b = size - 1 - a;
    memcpy(out, prefix, a);
    memcpy(out + a, s, b);
    out[a + b] = 0;
}

/* Reads one reply into out as text: "+OK", "-ERR ...", ":5", "$value", "$nil", "*N" followed
 * by the elements separated by '|'. Returns false on EOF / timeout / garbage. */
static bool rc_reply(int fd, char *out, size_t size)
{
    char line[4096];
    if (!rc_line(fd, line, sizeof(line)))
        return false;
    if (line[0] == '$') {
        long len = atol(line + 1);
        if (len < 0) {
            snprintf(out, size, "$nil");
            return true;
        }
        if ((size_t)len + 3 > size || (size_t)len + 3 > sizeof(line))
            return false;
        size_t got = 0;
        while (got < (size_t)len + 2) {
            ssize_t k = recv(fd, line + got, (size_t)len + 2 - got, 0);
            if (k <= 0)
                return false;
            got += (size_t)k;
        }
        line[len] = 0;
        rc_copy(out, size, "$", line);
        return true;
    }
    if (line[0] == '*') {
        long n = atol(line + 1);
        size_t len = (size_t)snprintf(out, size, "%s", line);
        for (long i = 0; i < n; i++) {
            char el[1024];
            if (!rc_reply(fd, el, sizeof(el)))
                return false;
            len += (size_t)snprintf(out + len, size > len ? size - len : 0, "|%s", el);
        }
        return true;
    }
    rc_copy(out, size, "", line);
    return line[0] == '+' || line[0] == '-' || line[0] == ':';
}

/* One command on a fresh connection to port; the reply in out. */
static bool rc_cmd(int port, char *out, size_t size, const char *a, const char *b, const char *c,
                   const char *d)
{
    int fd = rc_connect(port);
    if (fd < 0)
        return false;
    bool ok = rc_send(fd, a, b, c, d, (const char *)NULL) && rc_reply(fd, out, size);
    close(fd);
    return ok;
}

/* The value of "field:" in a node's FL.STATUS, or -1. */
__attribute__((unused)) static long rig_status(rig *r, int id, const char *field)
{
    char out[4096], key[64];
    if (!rc_cmd(r->client_port[id], out, sizeof(out), "FL.STATUS", NULL, NULL, NULL))
        return -1;
    snprintf(key, sizeof(key), " %s:", field);
    const char *p = strstr(out, key);
    if (!p)
        return strncmp(field, "node_id", 7) == 0 ? atol(out + 9) : -1;
    return atol(p + strlen(key));
}

static bool rig_is_leader(rig *r, int id)
{
    char out[1024];
    return rc_cmd(r->client_port[id], out, sizeof(out), "FL.STATUS", NULL, NULL, NULL) &&
           strstr(out, "role:leader") != NULL;
}

/* Waits (up to ms) until exactly one live node says it leads; returns its id or 0. */
__attribute__((unused)) static int rig_wait_leader(rig *r, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        int leader = 0, count = 0;
        for (int i = 1; i <= r->n; i++)
            if (r->pid[i] > 0 && rig_is_leader(r, i)) {
                leader = i;
                count++;
            }
        if (count == 1)
            return leader;
        rig_sleep_ms(50);
    }
    return 0;
}

/* SET through node id, retrying on errors (a node may not know the leader yet) for ms. */
__attribute__((unused)) static bool rig_set(rig *r, int id, const char *k, const char *v, int ms)
{
    char out[256];
    for (int waited = 0; waited < ms; waited += 100) {
        if (rc_cmd(r->client_port[id], out, sizeof(out), "SET", k, v, NULL) && !strcmp(out, "+OK"))
            return true;
        rig_sleep_ms(100);
    }
    return false;
}

/* n nodes started, each with the extra server arguments (up to 3, NULL-terminated; or NULL). */
__attribute__((unused)) static void rig_start_all(rig *r, int n, const char *const *extra)
{
    rig_init(r, n);
    for (int i = 0; i < 3 && extra && extra[i]; i++)
        r->extra[i] = extra[i];
    for (int i = 1; i <= n; i++)
        rig_start(r, i);
}

/* Runs the faultline binary with args (NULL-terminated); returns its exit status. */
__attribute__((unused)) static int rig_run_bin(rig *r, const char *out_path,
                                               const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(r->bin, (char *const *)args);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs `faultline bench` with a history for 3 s over a 3-node cluster (servers started with
 * extra arguments, or NULL) while fault() hits the leader from a child process, then requires
 * `faultline check` to call it linearizable. */
__attribute__((unused)) static void rig_bench_under_fault(const char *const *extra,
                                                          void (*fault)(pid_t leader))
{
    static rig r;
    rig_start_all(&r, 3, extra);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    char addrs[128], hist[200], out[200];
    snprintf(addrs, sizeof(addrs), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", r.client_port[1],
             r.client_port[2], r.client_port[3]);
    snprintf(hist, sizeof(hist), "%s/history.jsonl", r.dir);
    snprintf(out, sizeof(out), "%s/bench.out", r.dir);
    pid_t nemesis = fork();
    if (nemesis == 0) {
        fault(r.pid[leader]);
        _exit(0);
    }
    const char *bench[] = {"faultline", "bench",  "--addr", addrs,        "--connections",
                           "12",        "--keys", "10",     "--duration", "3s",
                           "--history", hist,     NULL};
    CHECK_EQ(rig_run_bin(&r, out, bench), 0);
    waitpid(nemesis, NULL, 0);
    const char *check[] = {"faultline", "check", hist, NULL};
    char check_out[200];
    snprintf(check_out, sizeof(check_out), "%s/check.out", r.dir);
    int verdict = rig_run_bin(&r, check_out, check);
    if (verdict != 0) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "cat %s %s >&2", out, check_out);
        CHECK(system(cmd) == 0);
    }
    CHECK_EQ(verdict, 0);
    if (waitpid(r.pid[leader], NULL, WNOHANG) != 0)
        r.pid[leader] = 0; /* killed by the fault */
    CHECK(rig_stop(&r));
}

/* GET key at node id is want (retrying while the node has no answer yet, up to 5 s). */
__attribute__((unused)) static bool rig_get_is(rig *r, int id, const char *key, const char *want)
{
    char out[256];
    for (int tries = 0; tries < 50; tries++, rig_sleep_ms(100))
        if (rc_cmd(r->client_port[id], out, sizeof(out), "GET", key, NULL, NULL) && out[0] != '-')
            return strcmp(out + 1, want) == 0;
    return false;
}

/* Three nodes (servers started with extra arguments, or NULL): 40 acknowledged writes through
 * every node, the leader killed with SIGKILL, a new leader that has them all and takes a new
 * write, and the killed node restarted on its WAL catching up. */
__attribute__((unused)) static void rig_kill_leader_case(const char *const *extra)
{
    static rig r;
    rig_start_all(&r, 3, extra);
    int leader = rig_wait_leader(&r, 10000);
    CHECK(leader != 0);
    char key[16], val[16];
    int acked = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        if (rig_set(&r, 1 + i % 3, key, val, 3000))
            acked = i + 1;
        else
            break;
    }
    CHECK_EQ(acked, 40);
    rig_kill(&r, leader, SIGKILL);
    int next = rig_wait_leader(&r, 10000);
    CHECK(next != 0 && next != leader);
    for (int i = 0; i < acked; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        CHECK(rig_get_is(&r, next, key, val));
    }
    CHECK(rig_set(&r, next, "after", "kill", 5000));
    /* the old leader restarts on its WAL and catches up */
    rig_start(&r, leader);
    long commit = rig_status(&r, next, "commit_index");
    CHECK(commit > 40);
    long applied = -1;
    for (int i = 0; i < 100 && applied < commit; i++, rig_sleep_ms(100))
        applied = rig_status(&r, leader, "applied_index");
    CHECK(applied >= commit);
    CHECK(rig_get_is(&r, leader, "after", "kill"));
    CHECK(rig_get_is(&r, leader, "k0", "v0"));
    CHECK(rig_stop(&r));
}

#endif
