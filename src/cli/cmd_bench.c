/* cmd_bench.c: `faultline bench`: a RESP load generator. N connections (spread over the
 * given addresses), each with P requests in flight (pipelining), a mix of GET and SET on K
 * keys (named r<run tag>-k<i>, fresh for every run) with unique integer values, for a duration;
 * prints throughput and latency percentiles and can write the run as a JSON-lines history that
 * `faultline check` reads (register model, one key per register).
 *
 * Each pipeline slot of each connection is a Jepsen process with one op in flight at a
 * time. Outcomes: a reply is ok (GET: the value read, SET: +OK); an error reply is fail for
 * a GET and info for a SET (it may have been applied, e.g. after a timeout); ops in flight on
 * a broken connection or at the end are info. A broken connection is reopened after 100 ms
 * and its slots continue as new processes.
 *
 * Failures are said, not averaged away: an address that never answered (nothing listening,
 * TLS refused) ends the bench with its last error and exit 69, and so does a refused AUTH, at
 * once; the --history file is checked before the first request. */
#include "cli/bench_etcd.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"

#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/hist.h"
#include "faultline/history.h"
#include "faultline/loop.h"
#include "faultline/net.h"
#include "faultline/rng.h"
#include "faultline/stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_CONNS_MAX    1024
#define BENCH_PIPELINE_MAX 256
#define BENCH_ADDRS_MAX    16
#define BENCH_REPLY_MAX    (1u << 20)

typedef struct bench bench;

typedef struct slot {
    int64_t process;
    bool write;
    uint32_t key;
    int64_t value;
    fl_time_ns start;
} slot;

typedef struct bconn {
    bench *b;
    int idx;
    int fd;
    fl_stream st; /* owns fd: plain, or TLS with --tls */
    bool connected;
    fl_loop_watch w;
    fl_buf in, out;
    size_t out_off;
    slot slots[BENCH_PIPELINE_MAX];
    uint32_t fifo[BENCH_PIPELINE_MAX]; /* slots in request order */
    uint32_t fifo_head, fifo_count;
    bool auth_pending; /* the reply to our AUTH comes first */
} bconn;

struct bench {
    fl_loop loop;
    fl_addr addrs[BENCH_ADDRS_MAX];
    int n_addrs;
    int conns, pipeline, keys;
    size_t value_size; /* SET values: the unique integer, zero-padded to this many digits */
    bool etcd;         /* --proto etcd: etcd's v3 JSON gateway instead of RESP */
    double read_ratio;
    fl_time_ns duration, start, end;
    const char *history_path;
    bool answered[BENCH_ADDRS_MAX]; /* a reply came from the address, at least once */
    fl_errmsg why[BENCH_ADDRS_MAX]; /* the address's last connection error */
    bool auth_refused;
    const char *password;
    bool tls_on;
    fl_tls_config tls_cfg;
    fl_tls tls;
    bconn *c;
    fl_rng rng;
    fl_hist lat, lat_op[2]; /* all; reads, writes */
    uint64_t ok, fail, info;
    int64_t next_value, next_process;
    bool stopping;
    bool drain_over;
    fl_history h;
    uint32_t *key_ids;
    bool history_oom;
    char prefix[24]; /* keys of this run: "r<tag>-k" so runs do not see each other */
};

static fl_time_ns now_rel(bench *b)
{
    return fl_loop_now(&b->loop) - b->start;
}

static void record(bench *b, const slot *s, uint8_t type, fl_value v)
{
    if (!b->history_path)
        return;
    fl_event ev = {.process = s->process,
                   .type = type,
                   .f = s->write ? FL_F_WRITE : FL_F_READ,
                   .key = b->key_ids[s->key],
                   .value = v,
                   .time = now_rel(b)};
    b->history_oom |= fl_history_add(&b->h, &ev) != 0;
}

static void issue(bconn *c, uint32_t si)
{
    bench *b = c->b;
    slot *s = &c->slots[si];
    s->write = fl_rng_double(&b->rng) >= b->read_ratio;
    s->key = (uint32_t)fl_rng_range(&b->rng, 0, (uint64_t)b->keys - 1);
    s->value = s->write ? ++b->next_value : 0;
    s->start = fl_loop_now(&b->loop);
    char key[48];
    int kn = snprintf(key, sizeof(key), "%s%u", b->prefix, s->key);
    if (b->etcd) {
        char host[FL_ADDR_STR_MAX];
        fl_addr_format(&b->addrs[c->idx % b->n_addrs], host);
        fl_buf val;
        fl_buf_init(&val);
        if (s->write)
            fl_buf_printf(&val, "%0*lld", (int)b->value_size, (long long)s->value);
        fl__bench_etcd_request(&c->out, host, s->write, key, (size_t)kn, val.data, val.len);
        fl_buf_free(&val);
    } else if (s->write) {
        char val[24];
        int vn = snprintf(val, sizeof(val), "%lld", (long long)s->value);
        int width = b->value_size > (size_t)vn ? (int)b->value_size : vn; /* zero-padded */
        fl_buf_printf(&c->out, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%0*lld\r\n", kn, key, width,
                      width, (long long)s->value);
    } else {
        fl_buf_printf(&c->out, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kn, key);
    }
    record(b, s, FL_EV_INVOKE, s->write ? fl_value_int(s->value) : fl_value_nil());
    c->fifo[(c->fifo_head + c->fifo_count++) % BENCH_PIPELINE_MAX] = si;
}

static void complete(bconn *c, uint32_t si, uint8_t type, fl_value v)
{
    bench *b = c->b;
    slot *s = &c->slots[si];
    record(b, s, type, v);
    if (type == FL_EV_OK) {
        b->ok++;
        fl_hist_record(&b->lat, fl_loop_now(&b->loop) - s->start);
        fl_hist_record(&b->lat_op[s->write], fl_loop_now(&b->loop) - s->start);
    } else if (type == FL_EV_FAIL) {
        b->fail++;
    } else {
        b->info++;
        s->process = b->next_process++; /* Jepsen: a process with an unknown op is done */
    }
}

/* Parses one reply at in[0..len): returns its size, 0 if incomplete, -1 if malformed. For a
 * bulk, *val / *vlen are its payload (NULL for nil). */
static long parse_reply(const uint8_t *in, size_t len, char *kind, const uint8_t **val,
                        size_t *vlen)
{
    const uint8_t *nl = memchr(in, '\n', len);
    if (!nl)
        return len > 4096 ? -1 : 0;
    size_t line = (size_t)(nl - in) + 1;
    *kind = (char)in[0];
    *val = NULL;
    *vlen = 0;
    if (in[0] == '+' || in[0] == '-' || in[0] == ':')
        return (long)line;
    if (in[0] != '$')
        return -1;
    long n = atol((const char *)in + 1);
    if (n < 0)
        return (long)line;
    if ((size_t)n > BENCH_REPLY_MAX)
        return -1;
    if (len < line + (size_t)n + 2)
        return 0;
    *val = in + line;
    *vlen = (size_t)n;
    return (long)(line + (size_t)n + 2);
}

/* The same for etcd (bench_etcd.h): the value decoded into a buffer of the bench's. */
static long etcd_reply(const uint8_t *in, size_t len, char *kind, const uint8_t **val, size_t *vlen)
{
    static uint8_t decoded[BENCH_REPLY_MAX];
    long n, got;
    n = fl__bench_etcd_reply(in, len, BENCH_REPLY_MAX * 2, kind, decoded, sizeof(decoded), &got);
    *val = n > 0 && got >= 0 ? decoded : NULL;
    *vlen = got > 0 ? (size_t)got : 0;
    return n;
}

/* A value we wrote: digits, zero-padded in front to --value-size. */
static fl_value read_value(const uint8_t *v, size_t n)
{
    if (!v)
        return fl_value_nil();
    size_t i = 0;
    while (i + 1 < n && v[i] == '0')
        i++;
    int64_t x = 0;
    for (size_t k = 0; i < n && k < 18; i++, k++)
        x = x * 10 + (v[i] - '0');
    return fl_value_int(x);
}

static void conn_open(bconn *c);

static void reopen_cb(fl_loop *loop, void *arg)
{
    (void)loop;
    conn_open(arg);
}

static void conn_broken(bconn *c)
{
    bench *b = c->b;
    while (c->fifo_count) {
        complete(c, c->fifo[c->fifo_head], FL_EV_INFO, fl_value_nil());
        c->fifo_head = (c->fifo_head + 1) % BENCH_PIPELINE_MAX;
        c->fifo_count--;
    }
    if (c->fd >= 0) {
        fl_loop_watch_stop(&b->loop, &c->w);
        fl_stream_close(&c->st);
    }
    c->fd = -1;
    c->connected = false;
    c->auth_pending = false;
    fl_buf_reset(&c->in);
    fl_buf_reset(&c->out);
    c->out_off = 0;
    if (!b->stopping)
        fl_loop_timer_start(&b->loop, 100 * FL_NS_PER_MS, reopen_cb, c, NULL);
}

static void fill(bconn *c)
{
    bench *b = c->b;
    if (b->stopping || !c->connected)
        return;
    for (uint32_t si = 0; si < (uint32_t)b->pipeline && c->fifo_count < (uint32_t)b->pipeline;
         si++) {
        bool busy = false;
        for (uint32_t k = 0; k < c->fifo_count && !busy; k++)
            busy = c->fifo[(c->fifo_head + k) % BENCH_PIPELINE_MAX] == si;
        if (!busy)
            issue(c, si);
    }
}

static void stop_cb(fl_loop *loop, void *arg)
{
    bench *b = arg;
    b->stopping = true;
    b->end = fl_loop_now(loop);
    fl_loop_stop(loop);
}

static bool on_replies(bconn *c)
{
    bench *b = c->b;
    size_t off = 0;
    for (;;) {
        char kind;
        const uint8_t *v;
        size_t vn;
        long n = b->etcd ? etcd_reply(c->in.data + off, c->in.len - off, &kind, &v, &vn)
                         : parse_reply(c->in.data + off, c->in.len - off, &kind, &v, &vn);
        if (n > 0)
            b->answered[c->idx % b->n_addrs] = true;
        if (n > 0 && c->auth_pending) {
            if (kind == '-') { /* the same password everywhere: no use going on */
                char q[8 + 4 * 60];
                fl_cli_quote(c->in.data + off + 1, (size_t)n - 3, 60, q, sizeof(q));
                fl_errmsg_set(&b->why[c->idx % b->n_addrs], FL_EINVAL, "refused AUTH: %s", q);
                b->auth_refused = true;
                stop_cb(&b->loop, b);
                return false;
            }
            c->auth_pending = false;
            off += (size_t)n;
            continue;
        }
        if (n < 0 || (n > 0 && !c->fifo_count))
            return false;
        if (n == 0)
            break;
        off += (size_t)n;
        uint32_t si = c->fifo[c->fifo_head];
        c->fifo_head = (c->fifo_head + 1) % BENCH_PIPELINE_MAX;
        c->fifo_count--;
        bool write = c->slots[si].write;
        if (kind == '-')
            complete(c, si, write ? FL_EV_INFO : FL_EV_FAIL, fl_value_nil());
        else
            complete(c, si, FL_EV_OK, write ? fl_value_int(c->slots[si].value) : read_value(v, vn));
        if (!b->stopping)
            issue(c, si);
    }
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    return true;
}

static void conn_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    bconn *c = w->arg;
    (void)loop;
    fl_errmsg *why = &c->b->why[c->idx % c->b->n_addrs];
    if (!c->connected) {
        if (fl_net_connect_finish(c->fd, why)) {
            conn_broken(c);
            return;
        }
        c->connected = true;
        if (c->b->password && !c->b->etcd && !c->auth_pending) {
            fl_buf_printf(&c->out, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(c->b->password),
                          c->b->password);
            c->auth_pending = true;
        }
        fill(c);
    }
    if (!fl_stream_ready(&c->st)) {
        if (fl_stream_handshake(&c->st, why)) {
            conn_broken(c);
            return;
        }
        if (!fl_stream_ready(&c->st)) {
            fl_loop_watch_modify(&c->b->loop, &c->w, fl_stream_interest(&c->st, FL_LOOP_READ));
            return;
        }
    }
    if (ev & (FL_LOOP_READ | FL_LOOP_ERROR)) {
        uint8_t *p = fl_buf_extend(&c->in, 65536);
        size_t got = 0;
        int rc = p ? fl_stream_read(&c->st, p, 65536, &got, why) : FL_ENOMEM;
        if (p)
            c->in.len -= 65536 - got;
        if (rc || !on_replies(c)) {
            conn_broken(c);
            return;
        }
    }
    while (c->out_off < c->out.len) {
        size_t put = 0;
        if (fl_stream_write(&c->st, c->out.data + c->out_off, c->out.len - c->out_off, &put,
                            NULL)) {
            conn_broken(c);
            return;
        }
        if (!put)
            break;
        c->out_off += put;
    }
    if (c->out_off == c->out.len) {
        fl_buf_reset(&c->out);
        c->out_off = 0;
    }
    fl_loop_watch_modify(
        &c->b->loop, &c->w,
        fl_stream_interest(&c->st, FL_LOOP_READ | (c->out.len ? FL_LOOP_WRITE : 0)));
}

static void conn_open(bconn *c)
{
    bench *b = c->b;
    if (b->stopping)
        return;
    int rc = fl_net_connect(&b->addrs[c->idx % b->n_addrs], &c->fd, &b->why[c->idx % b->n_addrs]);
    if (rc == 0 && b->tls_on)
        rc = fl_stream_tls(&c->st, c->fd, &b->tls, b->tls_cfg.ca[0] ? FL_STREAM_VERIFY : 0,
                           &b->why[c->idx % b->n_addrs]);
    else if (rc == 0)
        fl_stream_plain(&c->st, c->fd);
    if (rc) /* fl_stream_tls closed the fd */
        c->fd = -1;
    if (rc ||
        fl_loop_watch_start(&b->loop, &c->w, c->fd, FL_LOOP_READ | FL_LOOP_WRITE, conn_io, c)) {
        if (c->fd >= 0)
            fl_stream_close(&c->st);
        c->fd = -1;
        fl_loop_timer_start(&b->loop, 100 * FL_NS_PER_MS, reopen_cb, c, NULL);
    }
}

static void drain_cb(fl_loop *loop, void *arg)
{
    bench *b = arg;
    (void)loop;
    b->drain_over = true;
}

static bool all_idle(const bench *b)
{
    for (int i = 0; i < b->conns; i++)
        if (b->c[i].fifo_count)
            return false;
    return true;
}

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: faultline bench --addr HOST:PORT[,HOST:PORT...] [--connections N]\n"
            "                       [--duration D] [--pipeline P] [--keys K]\n"
            "                       [--read-ratio R] [--value-size B] [--history FILE] [--seed S]\n"
            "                       [--password P] [--proto resp|etcd]\n"
            "                       [--tls [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]]\n\n"
            "Closed-loop GET/SET load over RESP: N connections (default 50) spread over the\n"
            "addresses, P requests in flight on each (default 1), K fresh keys (default\n"
            "100), a fraction R of reads (default 0.5), for D (10s); SET values are unique\n"
            "integers zero-padded to B bytes (default: no padding). Prints ops/s and latency\n"
            "percentiles; --history writes a JSON-lines history for `faultline check` (register\n"
            "model). --proto etcd: the same load on etcd's v3 JSON gateway (HTTP/1.1, put and\n"
            "range). --tls: TLS to the nodes; --tls-ca verifies their certificates against\n"
            "that CA; --tls-cert/--tls-key present a client certificate (--tls-client-auth\n"
            "nodes). An address that never answers (or a refused AUTH) is an error: exit 69.\n");
    fl_cli_exit_help(f, "the load ran", NULL, NULL);
}

static int parse_addrs(bench *b, const char *list)
{
    char buf[1024];
    if (fl_cli_text("bench", "--addr", list, buf, sizeof(buf)))
        return FL_EXIT_USAGE;
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        if (b->n_addrs == BENCH_ADDRS_MAX)
            return fl_cli_bad("bench", "--addr", list, "at most %d addresses", BENCH_ADDRS_MAX);
        if (fl_cli_addr("bench", "--addr", it, &b->addrs[b->n_addrs]))
            return FL_EXIT_USAGE;
        b->n_addrs++;
    }
    return b->n_addrs ? 0 : fl_cli_bad("bench", "--addr", list, "expected HOST:PORT[,...]");
}

static int int_option(const char *k, const char *v, int max, int *out)
{
    uint32_t x;
    int rc = fl_cli_u32("bench", k, v, 1, (uint32_t)max, &x);
    if (!rc)
        *out = (int)x;
    return rc;
}

/* One option and its value v (NULL: missing); 0, an exit status (message printed), or -1
 * for an option bench does not have. */
static int bench_option(bench *b, const char *k, const char *v, uint64_t *seed)
{
    if (!strcmp(k, "--addr"))
        return v ? parse_addrs(b, v) : fl_cli_no_value("bench", k);
    if (!strcmp(k, "--connections"))
        return int_option(k, v, BENCH_CONNS_MAX, &b->conns);
    if (!strcmp(k, "--pipeline"))
        return int_option(k, v, BENCH_PIPELINE_MAX, &b->pipeline);
    if (!strcmp(k, "--keys"))
        return int_option(k, v, 1000000, &b->keys);
    if (!strcmp(k, "--duration"))
        return fl_cli_duration("bench", k, v, FL_NS_PER_S, FL_NS_PER_MS, FL_CLI_DURATION_MAX,
                               &b->duration);
    if (!strcmp(k, "--value-size")) {
        uint64_t x;
        int rc = fl_cli_u64("bench", k, v, 0, BENCH_REPLY_MAX / 2, &x);
        return rc ? rc : (b->value_size = (size_t)x, 0);
    }
    if (!strcmp(k, "--proto")) {
        static const char *const protos[] = {"resp", "etcd"};
        int e, rc = fl_cli_enum("bench", k, v, protos, 2, &e);
        return rc ? rc : (b->etcd = e == 1, 0);
    }
    if (!strcmp(k, "--read-ratio"))
        return fl_cli_double("bench", k, v, 0, 1, &b->read_ratio);
    if (!strcmp(k, "--seed"))
        return fl_cli_u64("bench", k, v, 0, UINT64_MAX, seed);
    if (!strcmp(k, "--history")) /* written at the end: found unwritable now */
        return !v ? fl_cli_no_value("bench", k) : fl_cli_out_file("bench", k, b->history_path = v);
    if (!strcmp(k, "--password"))
        return !v ? fl_cli_no_value("bench", k) : (b->password = v, 0);
    char *dst = !strcmp(k, "--tls-ca")     ? b->tls_cfg.ca
                : !strcmp(k, "--tls-cert") ? b->tls_cfg.cert
                : !strcmp(k, "--tls-key")  ? b->tls_cfg.key
                                           : NULL;
    if (!dst)
        return -1;
    int rc = fl_cli_text("bench", k, v, dst, FL_TLS_PATH_MAX);
    return rc ? rc : fl_cli_in_file("bench", k, dst);
}

/* The command line; 0, or the exit status (0 after --help, with *help). */
static int bench_args(bench *b, int argc, char **argv, uint64_t *seed, bool *help)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            bench_usage(stdout);
            *help = true;
            return 0;
        }
        if (!strcmp(argv[i], "--tls")) { /* a flag */
            b->tls_on = true;
            continue;
        }
        int rc = bench_option(b, argv[i], i + 1 < argc ? argv[i + 1] : NULL, seed);
        if (rc < 0)
            return fl_cli_unexpected("bench", argv[i]);
        if (rc)
            return rc;
        i++;
    }
    if (!b->n_addrs)
        return fl_cli_error("bench", FL_EXIT_USAGE, "--addr HOST:PORT is required");
    return 0;
}

/* After the run: every address must have answered at least once. Returns 0 or 69. */
static int tell_silent(const bench *b)
{
    int status = 0;
    for (int i = 0; i < b->n_addrs; i++) {
        if (b->answered[i] && !b->auth_refused)
            continue;
        char a[FL_ADDR_STR_MAX];
        fl_cli_error("bench", FL_EXIT_UNAVAILABLE, "%s %s%s", fl_addr_format(&b->addrs[i], a),
                     b->auth_refused ? "" : "never answered: ",
                     b->why[i].text[0] ? b->why[i].text : "no reply");
        status = FL_EXIT_UNAVAILABLE;
        if (b->auth_refused && b->why[i].text[0])
            break;
    }
    return status;
}

static void print_latency(const char *what, const fl_hist *h)
{
    char p50[24], p90[24], p99[24], p999[24], mx[24];
    printf("%s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", what,
           fl_format_duration(fl_hist_percentile(h, 50), p50, sizeof(p50)),
           fl_format_duration(fl_hist_percentile(h, 90), p90, sizeof(p90)),
           fl_format_duration(fl_hist_percentile(h, 99), p99, sizeof(p99)),
           fl_format_duration(fl_hist_percentile(h, 99.9), p999, sizeof(p999)),
           fl_format_duration(h->max, mx, sizeof(mx)));
}

static void report(bench *b)
{
    double secs = (double)(b->end - b->start) / 1e9;
    printf("%llu ok, %llu fail, %llu info in %.2f s (%d connections, pipeline %d)\n",
           (unsigned long long)b->ok, (unsigned long long)b->fail, (unsigned long long)b->info,
           secs, b->conns, b->pipeline);
    printf("%.0f ops/s\n", secs > 0 ? (double)b->ok / secs : 0.0);
    print_latency("latency", &b->lat);
    if (b->read_ratio > 0 && b->read_ratio < 1) { /* each kind apart, after the whole */
        print_latency("  GET  ", &b->lat_op[0]);
        print_latency("  SET  ", &b->lat_op[1]);
    }
}

/* Returns 0 or an exit status (message printed). */
static int write_history(bench *b)
{
    fl_buf out;
    fl_buf_init(&out);
    int rc = b->history_oom ? FL_ENOMEM : fl_history_write_jsonl(&b->h, &out);
    if (rc) {
        fl_buf_free(&out);
        return fl_cli_error("bench", FL_EXIT_OSERR, "--history %s: %s", b->history_path,
                            fl_strerror(rc));
    }
    FILE *f = fopen(b->history_path, "w");
    bool ok = f && fwrite(out.data, 1, out.len, f) == out.len;
    if (f && fclose(f) != 0)
        ok = false;
    fl_buf_free(&out);
    if (!ok)
        return fl_cli_error("bench", FL_EXIT_IOERR, "--history %s: cannot write: %s",
                            b->history_path, strerror(errno));
    printf("history: %zu events in %s\n", b->h.count, b->history_path);
    return 0;
}

static int run(bench *b)
{
    b->start = fl_loop_now(&b->loop);
    for (int i = 0; i < b->conns; i++) {
        b->c[i] = (bconn){.b = b, .idx = i, .fd = -1};
        fl_buf_init(&b->c[i].in);
        fl_buf_init(&b->c[i].out);
        for (int s = 0; s < b->pipeline; s++)
            b->c[i].slots[s].process = b->next_process++;
        conn_open(&b->c[i]);
    }
    fl_loop_timer_start(&b->loop, b->duration, stop_cb, b, NULL);
    int rc = fl_loop_run(&b->loop);
    /* drain: wait up to 5 s for replies to what is in flight */
    fl_loop_timer_start(&b->loop, 5 * FL_NS_PER_S, drain_cb, b, NULL);
    while (rc == 0 && !all_idle(b) && !b->drain_over)
        rc = fl_loop_run_once(&b->loop, 100 * FL_NS_PER_MS);
    for (int i = 0; i < b->conns; i++) {
        conn_broken(&b->c[i]); /* in flight at the end: info */
        fl_buf_free(&b->c[i].in);
        fl_buf_free(&b->c[i].out);
    }
    return rc;
}

static int bench_tls(bench *b)
{
    fl_errmsg m = {{0}};
    if (fl_tls_init(&b->tls, &b->tls_cfg, &m)) {
        fprintf(stderr, "faultline bench: %s\n", m.text);
        return -1;
    }
    return 0;
}

int fl_cmd_bench(int argc, char **argv)
{
    static bench b;
    b = (bench){
        .conns = 50, .pipeline = 1, .keys = 100, .read_ratio = 0.5, .duration = 10 * FL_NS_PER_S};
    uint64_t seed = (uint64_t)getpid();
    bool help = false;
    int status = bench_args(&b, argc, argv, &seed, &help);
    if (status || help)
        return status;
    if (b.tls_on && bench_tls(&b))
        return FL_EXIT_USAGE;
    fl_rng_seed(&b.rng, seed);
    fl_hist_init(&b.lat);
    fl_hist_init(&b.lat_op[0]);
    fl_hist_init(&b.lat_op[1]);
    fl_history_init(&b.h);
    b.c = calloc((size_t)b.conns, sizeof(*b.c));
    b.key_ids = calloc((size_t)b.keys, sizeof(*b.key_ids));
    int rc = b.c && b.key_ids ? fl_loop_init(&b.loop, NULL, NULL) : FL_ENOMEM;
    snprintf(b.prefix, sizeof(b.prefix), "r%06u-k", (unsigned)(fl_rng_next(&b.rng) % 1000000));
    for (int k = 0; rc == 0 && k < b.keys; k++) {
        char key[48];
        rc = fl_history_intern(&b.h, key, (size_t)snprintf(key, sizeof(key), "%s%d", b.prefix, k),
                               &b.key_ids[k]);
    }
    if (rc == 0)
        rc = run(&b);
    if (rc == 0) {
        report(&b);
        status = b.history_path ? write_history(&b) : 0;
        int silent = tell_silent(&b);
        status = silent ? silent : status;
    } else {
        status = fl_cli_error("bench", fl_cli_exit_of(rc), "%s", fl_strerror(rc));
    }
    fl_loop_close(&b.loop);
    fl_tls_close(&b.tls);
    fl_history_free(&b.h);
    free(b.c);
    free(b.key_ids);
    return status;
}
