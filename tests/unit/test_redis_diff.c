/* test_redis_diff.c: the same command script sent to redis-server (started here) and to a
 * one-node faultline cluster, every reply compared byte for byte. The script covers strings,
 * counters, expiry (times in the past and the far future, a short PX waited out), errors
 * with Redis's texts, transactions with WATCH across two connections, RESP3 after HELLO 3,
 * and pipelines of mixed commands sent in one write. Commands whose replies differ on
 * purpose are listed in `intended` with the reason, and only their reply type is compared.
 * Skipped, with a message, when redis-server is not installed (CI installs it). */
#include "server_rig.h"

#include "faultline/buf.h"

#include <strings.h>
#include <sys/time.h>

typedef struct step {
    int conn;              /* 0 or 1: two connections, for WATCH */
    int pipe;              /* steps with the same non-zero pipe number go in one write */
    int sleep_ms;          /* wait this long before the step */
    const char *words[10]; /* NULL-terminated */
} step;

/* Replies that differ on purpose: only the first byte (the reply type) is compared, or
 * nothing (any: only that a whole reply came back). */
static const struct {
    const char *cmd;
    bool any;
    const char *why;
} intended[] = {
    {"HELLO", false, "server version (7.0.0 vs the installed Redis's) and the client id differ"},
    {"INFO", false, "faultline reports its own sections (Raft, the leader's address)"},
    {"CLIENT ID", false, "ids are per server"},
    {"SELECT 1", true, "faultline has one database (SELECT 0 only); Redis has 16"},
};

/* clang-format off */
static const step script[] = {
    {0, 0, 0, {"FLUSHALL"}},
    {0, 0, 0, {"PING"}}, {0, 0, 0, {"PING", "hello"}}, {0, 0, 0, {"PING", "a", "b"}},
    {0, 0, 0, {"ECHO", "x y"}},
    /* strings */
    {0, 0, 0, {"SET", "k", "v"}}, {0, 0, 0, {"GET", "k"}}, {0, 0, 0, {"GET", "nokey"}},
    {0, 0, 0, {"SET", "k", "v2", "XX", "GET"}}, {0, 0, 0, {"SET", "k", "v3", "NX"}},
    {0, 0, 0, {"SET", "n", "1", "NX", "GET"}}, {0, 0, 0, {"SET", "k", "v", "EX", "0"}},
    {0, 0, 0, {"SET", "k", "v", "EX", "x"}}, {0, 0, 0, {"SET", "k", "v", "NX", "XX"}},
    {0, 0, 0, {"SET", "k", "v", "EX", "10", "PX", "100"}},
    {0, 0, 0, {"SET", "k", "v", "KEEPTTL", "EX", "5"}}, {0, 0, 0, {"SET", "k", "v", "BOGUS"}},
    {0, 0, 0, {"SETNX", "k", "z"}}, {0, 0, 0, {"SETNX", "k2", "z"}},
    {0, 0, 0, {"SETEX", "k3", "100", "v"}}, {0, 0, 0, {"TTL", "k3"}},
    {0, 0, 0, {"PSETEX", "k4", "100000", "v"}}, {0, 0, 0, {"TTL", "k4"}},
    {0, 0, 0, {"SETEX", "k3", "0", "v"}}, {0, 0, 0, {"GETSET", "k", "new"}},
    {0, 0, 0, {"GETDEL", "k"}}, {0, 0, 0, {"GETDEL", "k"}},
    {0, 0, 0, {"MSET", "a", "1", "b", "2"}}, {0, 0, 0, {"MSET", "a"}},
    {0, 0, 0, {"MSET", "a", "1", "b"}}, {0, 0, 0, {"MGET", "a", "b", "zz"}},
    {0, 0, 0, {"MSETNX", "a", "9", "c", "3"}}, {0, 0, 0, {"MSETNX", "c", "3", "d", "4"}},
    {0, 0, 0, {"EXISTS", "a", "b", "zz", "a"}}, {0, 0, 0, {"DEL", "a", "zz"}},
    {0, 0, 0, {"UNLINK", "b"}},
    /* counters */
    {0, 0, 0, {"INCR", "cnt"}}, {0, 0, 0, {"INCRBY", "cnt", "10"}}, {0, 0, 0, {"DECR", "cnt"}},
    {0, 0, 0, {"DECRBY", "cnt", "5"}}, {0, 0, 0, {"INCR", "k2"}},
    {0, 0, 0, {"INCRBY", "cnt", "x"}}, {0, 0, 0, {"SET", "big", "9223372036854775807"}},
    {0, 0, 0, {"INCR", "big"}}, {0, 0, 0, {"APPEND", "s", "ab"}}, {0, 0, 0, {"APPEND", "s", "cd"}},
    {0, 0, 0, {"STRLEN", "s"}}, {0, 0, 0, {"STRLEN", "nokey"}}, {0, 0, 0, {"TYPE", "s"}},
    {0, 0, 0, {"TYPE", "nokey"}},
    /* expiry */
    {0, 0, 0, {"EXPIRE", "s", "100"}}, {0, 0, 0, {"TTL", "s"}},
    {0, 0, 0, {"EXPIRE", "s", "50", "GT"}}, {0, 0, 0, {"EXPIRE", "s", "500", "GT"}},
    {0, 0, 0, {"TTL", "s"}}, {0, 0, 0, {"EXPIRE", "s", "10", "NX"}}, {0, 0, 0, {"PERSIST", "s"}},
    {0, 0, 0, {"PERSIST", "s"}}, {0, 0, 0, {"TTL", "s"}}, {0, 0, 0, {"EXPIRE", "s", "10", "XX"}},
    {0, 0, 0, {"EXPIRE", "nokey", "10"}}, {0, 0, 0, {"EXPIRE", "s", "10", "NX", "XX"}},
    {0, 0, 0, {"EXPIRE", "s", "10", "GT", "LT"}}, {0, 0, 0, {"EXPIRE", "s", "10", "FOO"}},
    {0, 0, 0, {"PTTL", "nokey"}}, {0, 0, 0, {"PTTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "EX", "100"}}, {0, 0, 0, {"TTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "PERSIST"}}, {0, 0, 0, {"TTL", "cnt"}},
    {0, 0, 0, {"GETEX", "cnt", "EX", "1", "PX", "1"}},
    {0, 0, 0, {"SET", "past", "v", "EXAT", "1"}}, {0, 0, 0, {"GET", "past"}},
    {0, 0, 0, {"SET", "fut", "v", "EXAT", "4102444800"}}, {0, 0, 0, {"EXPIREAT", "fut", "1"}},
    {0, 0, 0, {"GET", "fut"}}, {0, 0, 0, {"SET", "neg", "v"}},
    {0, 0, 0, {"EXPIRE", "neg", "-1"}}, {0, 0, 0, {"GET", "neg"}},
    {0, 0, 0, {"SET", "short", "v", "PX", "150"}}, {0, 0, 0, {"EXISTS", "short"}},
    {0, 0, 500, {"GET", "short"}}, {0, 0, 0, {"EXISTS", "short"}},
    /* transactions */
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "t", "1"}}, {0, 0, 0, {"INCR", "t"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"PING"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"INCR", "t"}}, {0, 0, 0, {"BADCMD"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "t", "5"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"GET", "t"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"DISCARD"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"INCR", "s"}}, {0, 0, 0, {"SET", "after", "1"}},
    {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"WATCH", "w"}}, {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"SET", "w", "1"}},
    {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"WATCH", "w"}}, {1, 0, 0, {"SET", "w", "2"}}, {0, 0, 0, {"MULTI"}},
    {0, 0, 0, {"SET", "w", "3"}}, {0, 0, 0, {"EXEC"}}, {0, 0, 0, {"GET", "w"}},
    {0, 0, 0, {"WATCH", "w"}}, {0, 0, 0, {"UNWATCH"}}, {1, 0, 0, {"SET", "w", "4"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"GET", "w"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"WATCH", "x"}}, {0, 0, 0, {"EXEC"}},
    /* errors */
    {0, 0, 0, {"FOO"}}, {0, 0, 0, {"FOO", "a", "b"}}, {0, 0, 0, {"GET"}}, {0, 0, 0, {"SET", "k"}},
    {0, 0, 0, {"SELECT", "1"}}, {0, 0, 0, {"SELECT", "0"}}, {0, 0, 0, {"SELECT", "x"}},
    {0, 0, 0, {"CLIENT", "SETNAME", "me"}}, {0, 0, 0, {"CLIENT", "GETNAME"}},
    {0, 0, 0, {"CLIENT", "SETNAME", "a b"}}, {0, 0, 0, {"CLIENT", "ID"}},
    {0, 0, 0, {"KEYS", "cn*"}}, {0, 0, 0, {"DBSIZE"}},
    /* pipelines of mixed commands: one write each */
    {0, 1, 0, {"SET", "p", "1"}}, {0, 1, 0, {"GET", "p"}}, {0, 1, 0, {"INCR", "p"}},
    {0, 1, 0, {"GET", "p"}}, {0, 1, 0, {"DEL", "p"}}, {0, 1, 0, {"GET", "p"}},
    {0, 1, 0, {"MSET", "q", "1", "r", "2"}}, {0, 1, 0, {"MGET", "q", "r", "p"}},
    {0, 1, 0, {"APPEND", "q", "x"}}, {0, 1, 0, {"GET", "q"}}, {0, 1, 0, {"EXISTS", "q", "r"}},
    {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    {0, 2, 0, {"MULTI"}}, {0, 2, 0, {"INCR", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    {0, 2, 0, {"EXEC"}}, {0, 2, 0, {"GET", "c2"}}, {0, 2, 0, {"SET", "c2", "x", "PX", "100000"}},
    {0, 2, 0, {"TTL", "c2"}}, {0, 2, 0, {"GET", "c2"}},
    /* RESP3 */
    {0, 0, 0, {"HELLO", "3"}}, {0, 0, 0, {"GET", "nokey"}}, {0, 0, 0, {"SET", "c2", "y", "NX"}},
    {0, 0, 0, {"MGET", "q", "nokey"}}, {0, 0, 0, {"WATCH", "w"}}, {1, 0, 0, {"SET", "w", "5"}},
    {0, 0, 0, {"MULTI"}}, {0, 0, 0, {"GET", "w"}}, {0, 0, 0, {"EXEC"}},
    {0, 0, 0, {"CLIENT", "GETNAME"}}, {0, 0, 0, {"HELLO", "4"}}, {0, 0, 0, {"HELLO", "2"}},
    {0, 0, 0, {"GET", "nokey"}},
};
/* clang-format on */

/* Reads one whole RESP2/RESP3 reply, raw, appending to out. */
static bool read_reply(int fd, fl_buf *out)
{
    char line[8192];
    if (!rc_line(fd, line, sizeof(line)))
        return false;
    fl_buf_printf(out, "%s\r\n", line);
    long n = atol(line + 1);
    switch (line[0]) {
    case '$':
    case '=':
    case '!':
        if (n < 0)
            return true;
        for (long got = 0; got < n + 2;) {
            char b[4096];
            size_t want = (size_t)(n + 2 - got) < sizeof(b) ? (size_t)(n + 2 - got) : sizeof(b);
            ssize_t k = recv(fd, b, want, 0);
            if (k <= 0)
                return false;
            fl_buf_put_bytes(out, b, (size_t)k);
            got += k;
        }
        return true;
    case '*':
    case '~':
    case '>':
    case '%':
        for (long i = 0; i < (line[0] == '%' ? 2 * n : n); i++)
            if (!read_reply(fd, out))
                return false;
        return true;
    default:
        return true;
    }
}

static const char *intended_why(const step *s, bool *any)
{
    char name[64];
    snprintf(name, sizeof(name), "%s%s%s", s->words[0], s->words[1] ? " " : "",
             s->words[1] ? s->words[1] : "");
    for (size_t i = 0; i < sizeof(intended) / sizeof(intended[0]); i++)
        if (!strcasecmp(s->words[0], intended[i].cmd) || !strcasecmp(name, intended[i].cmd)) {
            *any = intended[i].any;
            return intended[i].why;
        }
    return NULL;
}

static void send_step(int fd, const step *s)
{
    fl_buf b;
    fl_buf_init(&b);
    size_t n = 0;
    while (s->words[n])
        n++;
    fl_buf_printf(&b, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        fl_buf_printf(&b, "$%zu\r\n%s\r\n", strlen(s->words[i]), s->words[i]);
    CHECK(rc_write(fd, b.data, b.len));
    fl_buf_free(&b);
}

/* Runs the script on two connections to port; replies[i] gets step i's raw reply. */
static void run_script(int port, fl_buf *replies)
{
    int fd[2] = {rc_connect(port), rc_connect(port)};
    CHECK(fd[0] >= 0 && fd[1] >= 0);
    size_t n = sizeof(script) / sizeof(script[0]);
    for (size_t i = 0; i < n;) {
        size_t end = i + 1;
        while (script[i].pipe && end < n && script[end].pipe == script[i].pipe)
            end++;
        if (script[i].sleep_ms)
            rig_sleep_ms(script[i].sleep_ms);
        for (size_t k = i; k < end; k++)
            send_step(fd[script[k].conn], &script[k]);
        for (size_t k = i; k < end; k++) {
            fl_buf_init(&replies[k]);
            CHECK(read_reply(fd[script[k].conn], &replies[k]));
        }
        i = end;
    }
    close(fd[0]);
    close(fd[1]);
}

static pid_t start_redis(int port, const char *dir)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool have_redis_server(void)
{
    return system("command -v redis-server >/dev/null 2>&1") == 0;
}

static void show(const char *who, const fl_buf *b)
{
    fprintf(stderr, "    %s: ", who);
    for (size_t i = 0; i < b->len && i < 300; i++) {
        uint8_t c = b->data[i];
        if (c == '\r')
            fprintf(stderr, "\\r");
        else if (c == '\n')
            fprintf(stderr, "\\n");
        else
            fputc(c >= 32 && c < 127 ? c : '?', stderr);
    }
    fputc('\n', stderr);
}

TEST(redis_diff_replies_match_byte_for_byte)
{
    SKIP_UNLESS(have_redis_server(),
                "redis-server is not installed (apt-get install redis-server)");
    static rig r;
    rig_init(&r, 1);
    rig_start(&r, 1);
    CHECK(rig_wait_leader(&r, 10000) == 1);
    int rport = r.client_port[1] + 5;
    pid_t rpid = start_redis(rport, r.dir);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++, rig_sleep_ms(50))
        fd = rc_connect(rport);
    CHECK(fd >= 0);
    close(fd);
    size_t n = sizeof(script) / sizeof(script[0]);
    static fl_buf want[sizeof(script) / sizeof(script[0])], got[sizeof(script) / sizeof(script[0])];
    run_script(rport, want);
    run_script(r.client_port[1], got);
    kill(rpid, SIGTERM);
    waitpid(rpid, NULL, 0);
    int differ = 0, intended_n = 0;
    for (size_t i = 0; i < n; i++) {
        bool any = false;
        const char *why = intended_why(&script[i], &any);
        bool same = want[i].len == got[i].len && !memcmp(want[i].data, got[i].data, got[i].len);
        if (why) {
            intended_n++;
            same = want[i].len && got[i].len && (any || want[i].data[0] == got[i].data[0]);
        }
        if (!same) {
            differ++;
            fprintf(stderr, "  step %zu: %s %s %s%s\n", i, script[i].words[0],
                    script[i].words[1] ? script[i].words[1] : "",
                    script[i].words[2] ? script[i].words[2] : "", why ? " (intended)" : "");
            show("redis    ", &want[i]);
            show("faultline", &got[i]);
        }
        fl_buf_free(&want[i]);
        fl_buf_free(&got[i]);
    }
    printf("%zu commands compared, %d with an intended difference (reply type only)\n", n,
           intended_n);
    CHECK_EQ(differ, 0);
    CHECK(rig_stop(&r));
}
