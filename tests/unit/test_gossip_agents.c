/* test_gossip_agents.c: eight `faultline gossip` processes on loopback with a cluster key.
 * They join by address and converge; one is killed with SIGKILL and every other marks it
 * dead within a bound; it restarts on the same address (same derived id), refutes its death
 * with a higher incarnation and everyone lists it alive again; an agent with the wrong key
 * never appears in anyone's view; `faultline gossip members` prints the table; SIGTERM makes
 * every agent leave and exit 0. About 8 s. Views are read with the query protocol. */
#include "cli.h"
#include "test.h"

#include "faultline/gossip.h"
#include "faultline/gossip_query.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENTS 8
#define VICTIM 4
/* 200 ms periods; with 8 members the suspicion timeout is 0.8 s (3 confirmations) .. 4.8 s
 * (none); the first probe of the victim comes within 2N-1 periods (3 s) */
#define DETECT_BOUND_MS 9000

typedef struct rig {
    char dir[128];
    char key[160];
    uint16_t port[AGENTS + 1]; /* [AGENTS]: the outsider with the wrong key */
    pid_t pid[AGENTS + 1];
    fl_gossip_key k;
} rig;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A port free for both UDP and TCP (an agent listens on both: datagrams and the push-pull
 * stream), drawn below the kernel's ephemeral range (32768..60999 by default), where the
 * outgoing connections of other tests and programs take their local ports: a port the kernel
 * handed out as free for UDP was seen taken for TCP a moment later under load ("bind:
 * Address already in use"). A small race with other programs remains. */
static uint16_t free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)mono_ms();
    for (int tries = 0; tries < 1000; tries++) {
        uint16_t port = (uint16_t)(20000 + rand_r(&seed) % 12000);
        int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bool ok = u >= 0 && t >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                  bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(u);
        close(t);
        if (ok)
            return port;
    }
    CHECK(!"no free port in 20000..31999");
    return 0;
}

static void start_agent(rig *r, int i, const char *key)
{
    char bind_arg[32], join[64], log[200];
    snprintf(bind_arg, sizeof(bind_arg), "127.0.0.1:%u", r->port[i]);
    snprintf(join, sizeof(join), "127.0.0.1:%u,127.0.0.1:%u", r->port[0], r->port[1]);
    snprintf(log, sizeof(log), "%s/agent%d.log", r->dir, i);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(fl_test_faultline(), "faultline", "gossip", "--bind", bind_arg, "--join",
              i == 0 ? join + strcspn(join, ",") + 1 : join, "--key-file", key, "--interval-ms",
              "200", "--timeout-ms", "100", (char *)NULL);
        _exit(127);
    }
    r->pid[i] = pid;
}

static void addr_of(const rig *r, int i, fl_addr *a)
{
    char s[32];
    snprintf(s, sizeof(s), "127.0.0.1:%u", r->port[i]);
    CHECK_EQ(fl_addr_parse(s, a, NULL), 0);
}

/* Agent i's view of member `id` (FL_SWIM_LEFT + 1: not listed; -1: no answer). */
static int view_of(const rig *r, int i, fl_node_id id, uint32_t *inc, uint32_t *members)
{
    fl_addr a;
    addr_of(r, i, &a);
    static fl_gq_packet p;
    if (fl_gq_ask(&a, &r->k, FL_GQ_MEMBERS, 1, 200, &p, NULL) != 0)
        return -1;
    *members = p.total;
    for (uint32_t j = 0; j < p.n; j++)
        if (p.e[j].id == id) {
            *inc = p.e[j].incarnation;
            return (int)p.e[j].state;
        }
    return FL_SWIM_LEFT + 1;
}

static fl_node_id id_of(const rig *r, int i)
{
    fl_addr a;
    addr_of(r, i, &a);
    return fl_gossip_id_from_addr(&a);
}

/* Waits until every live agent (not `skip`) sees member `who` in state `want` (and, if
 * min_inc > 0, at an incarnation >= min_inc) and lists `members` members; ms taken or -1. */
static int64_t wait_all(const rig *r, int skip, int who, int want, uint32_t min_inc,
                        uint32_t members, uint64_t bound_ms)
{
    uint64_t t0 = mono_ms();
    while (mono_ms() - t0 < bound_ms) {
        bool all = true;
        for (int i = 0; i < AGENTS && all; i++) {
            uint32_t inc = 0, n = 0;
            if (i == skip)
                continue;
            int st = view_of(r, i, id_of(r, who), &inc, &n);
            bool live = st == FL_SWIM_ALIVE || st == FL_SWIM_SUSPECT; /* SUSPECT: still a member */
            all = (want == FL_SWIM_ALIVE ? live : st == want) && inc >= min_inc &&
                  (members == 0 || n == members);
        }
        if (all)
            return (int64_t)(mono_ms() - t0);
        usleep(50 * 1000);
    }
    return -1;
}

TEST(gossip_eight_agents_kill9_and_restart)
{
    SKIP_UNLESS(fl_gossip_auth_available(), "built without libsodium (keyed gossip)");
    static rig r;
    snprintf(r.dir, sizeof(r.dir), "/tmp/fl-gossip-XXXXXX");
    CHECK(mkdtemp(r.dir) != NULL);
    snprintf(r.key, sizeof(r.key), "%s/cluster.key", r.dir);
    FILE *f = fopen(r.key, "w");
    CHECK(f != NULL);
    fputs("5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99\n", f);
    fclose(f);
    CHECK_EQ(fl_gossip_key_load(r.key, &r.k, NULL), 0);
    char wrong[200];
    snprintf(wrong, sizeof(wrong), "%s/wrong.key", r.dir);
    f = fopen(wrong, "w");
    fputs("00000000000000000000000000000000ffffffffffffffffffffffffffffffff\n", f);
    fclose(f);
    for (int i = 0; i <= AGENTS; i++)
        r.port[i] = free_port();
    for (int i = 0; i < AGENTS; i++)
        start_agent(&r, i, r.key);
    start_agent(&r, AGENTS, wrong);
    int64_t ms = wait_all(&r, -1, VICTIM, FL_SWIM_ALIVE, 0, AGENTS, 10000);
    fprintf(stderr, "8 agents converged in %lld ms\n", (long long)ms);
    CHECK(ms >= 0);
    /* kill -9: every other agent marks it dead */
    CHECK_EQ(kill(r.pid[VICTIM], SIGKILL), 0);
    CHECK_EQ(waitpid(r.pid[VICTIM], NULL, 0), r.pid[VICTIM]);
    ms = wait_all(&r, VICTIM, VICTIM, FL_SWIM_DEAD, 0, 0, DETECT_BOUND_MS);
    fprintf(stderr, "kill -9 detected by all 7 in %lld ms\n", (long long)ms);
    CHECK(ms >= 0);
    /* restart on the same address: it refutes DEAD with a higher incarnation */
    start_agent(&r, VICTIM, r.key);
    ms = wait_all(&r, -1, VICTIM, FL_SWIM_ALIVE, 1, AGENTS, DETECT_BOUND_MS);
    fprintf(stderr, "restarted agent alive everywhere (incarnation >= 1) in %lld ms\n",
            (long long)ms);
    CHECK(ms >= 0);
    /* the outsider is listed nowhere, its packets were refused */
    for (int i = 0; i < AGENTS; i++) {
        uint32_t inc, n;
        CHECK_EQ(view_of(&r, i, id_of(&r, AGENTS), &inc, &n), FL_SWIM_LEFT + 1);
    }
    char out[200], args[400];
    snprintf(out, sizeof(out), "%s/members.out", r.dir);
    snprintf(args, sizeof(args), "gossip members --addr 127.0.0.1:%u --key-file %s", r.port[0],
             r.key);
    CHECK_EQ(fl_test_faultline_run(args, out), 0);
    char line[64];
    snprintf(line, sizeof(line), "127.0.0.1:%u", r.port[VICTIM]);
    CHECK(fl_test_file_has(out, line));
    CHECK(fl_test_file_has(out, "8 live"));
    CHECK(!fl_test_file_has(out, "0 rejected")); /* the outsider's WHOIS at least */
    snprintf(args, sizeof(args), "gossip members --addr 127.0.0.1:%u --key-file %s", r.port[0],
             wrong);
    CHECK_EQ(fl_test_faultline_run(args, out), 1); /* the wrong key gets no answer */
    /* SIGTERM: a graceful leave and exit 0 */
    for (int i = 0; i <= AGENTS; i++)
        kill(r.pid[i], SIGTERM);
    for (int i = 0; i <= AGENTS; i++) {
        int st = -1;
        CHECK_EQ(waitpid(r.pid[i], &st, 0), r.pid[i]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    snprintf(args, sizeof(args), "rm -rf %s", r.dir);
    CHECK_EQ(system(args), 0);
}
