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
 * and its slots continue as new processes. */
#include "cli/cli.h"

#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/hist.h"
#include "faultline/history.h"
#include "faultline/loop.h"
#include "faultline/net.h"
#include "faultline/rng.h"
#include "faultline/stream.h"

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
    double read_ratio;
    fl_time_ns duration, start, end;
    const char *history_path;
    const char *password;
    bool tls_on;
    fl_tls_config tls_cfg;
    fl_tls tls;
    bconn *c;
    fl_rng rng;
    fl_hist lat;
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
    char key[48], val[24];
    int kn = snprintf(key, sizeof(key), "%s%u", b->prefix, s->key);
    if (s->write) {
        int vn = snprintf(val, sizeof(val), "%lld", (long long)s->value);
        fl_buf_printf(&c->out, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kn, key, vn, val);
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

static fl_value read_value(const uint8_t *v, size_t n)
{
    if (!v)
        return fl_value_nil();
    int64_t x = 0;
    for (size_t i = 0; i < n && i < 18; i++)
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

static bool on_replies(bconn *c)
{
    bench *b = c->b;
    size_t off = 0;
    for (;;) {
        char kind;
        const uint8_t *v;
        size_t vn;
        long n = parse_reply(c->in.data + off, c->in.len - off, &kind, &v, &vn);
        if (n > 0 && c->auth_pending) {
            if (kind == '-') {
                fprintf(stderr, "faultline bench: AUTH refused\n");
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
    if (!c->connected) {
        if (fl_net_connect_finish(c->fd, NULL)) {
            conn_broken(c);
            return;
        }
        c->connected = true;
        if (c->b->password && !c->auth_pending) {
            fl_buf_printf(&c->out, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(c->b->password),
                          c->b->password);
            c->auth_pending = true;
        }
        fill(c);
    }
    if (!fl_stream_ready(&c->st)) {
        fl_errmsg m;
        if (fl_stream_handshake(&c->st, &m)) {
            static bool told; /* once: every connection would say the same */
            if (!told)
                fprintf(stderr, "faultline bench: %s\n", m.text);
            told = true;
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
        int rc = p ? fl_stream_read(&c->st, p, 65536, &got, NULL) : FL_ENOMEM;
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
    int rc = fl_net_connect(&b->addrs[c->idx % b->n_addrs], &c->fd, NULL);
    if (rc == 0 && b->tls_on)
        rc = fl_stream_tls(&c->st, c->fd, &b->tls, b->tls_cfg.ca[0] ? FL_STREAM_VERIFY : 0, NULL);
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

static void stop_cb(fl_loop *loop, void *arg)
{
    bench *b = arg;
    b->stopping = true;
    b->end = fl_loop_now(loop);
    fl_loop_stop(loop);
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
            "                       [--duration 10s] [--pipeline P] [--keys K]\n"
            "                       [--read-ratio R] [--history FILE] [--seed S] [--password P]\n"
            "                       [--tls [--tls-ca F] [--tls-cert F --tls-key F]]\n\n"
            "Closed-loop GET/SET load over RESP: N connections (default 50) spread over the\n"
            "addresses, P requests in flight on each (default 1), K fresh keys (default\n"
            "100), a fraction R of reads (default 0.5). Prints ops/s and latency percentiles;\n"
            "--history writes a JSON-lines history for `faultline check` (register model).\n"
            "--tls: TLS to the nodes; --tls-ca verifies their certificates against that CA;\n"
            "--tls-cert/--tls-key present a client certificate (--tls-client-auth nodes).\n");
}

static int parse_addrs(bench *b, const char *list)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        if (b->n_addrs == BENCH_ADDRS_MAX || fl_addr_parse(it, &b->addrs[b->n_addrs], NULL))
            return -1;
        b->n_addrs++;
    }
    return b->n_addrs ? 0 : -1;
}

static int bench_option(bench *b, const char *k, const char *v, uint64_t *seed)
{
    uint64_t x;
    if (!strcmp(k, "--addr"))
        return parse_addrs(b, v);
    if (!strcmp(k, "--connections") && !fl_parse_u64(v, 1, BENCH_CONNS_MAX, &x))
        return b->conns = (int)x, 0;
    if (!strcmp(k, "--pipeline") && !fl_parse_u64(v, 1, BENCH_PIPELINE_MAX, &x))
        return b->pipeline = (int)x, 0;
    if (!strcmp(k, "--keys") && !fl_parse_u64(v, 1, 1000000, &x))
        return b->keys = (int)x, 0;
    if (!strcmp(k, "--duration"))
        return fl_parse_duration(v, &b->duration) || b->duration == 0 ? -1 : 0;
    if (!strcmp(k, "--read-ratio"))
        return fl_parse_double(v, 0, 1, &b->read_ratio) ? -1 : 0;
    if (!strcmp(k, "--seed"))
        return fl_parse_u64(v, 0, UINT64_MAX, seed) ? -1 : 0;
    if (!strcmp(k, "--history"))
        return b->history_path = v, 0;
    if (!strcmp(k, "--password"))
        return b->password = v, 0;
    char *dst = !strcmp(k, "--tls-ca")     ? b->tls_cfg.ca
                : !strcmp(k, "--tls-cert") ? b->tls_cfg.cert
                : !strcmp(k, "--tls-key")  ? b->tls_cfg.key
                                           : NULL;
    if (dst && strlen(v) < FL_TLS_PATH_MAX)
        return snprintf(dst, FL_TLS_PATH_MAX, "%s", v), 0;
    return -1;
}

static void report(bench *b)
{
    double secs = (double)(b->end - b->start) / 1e9;
    char p50[24], p90[24], p99[24], p999[24], mx[24];
    printf("%llu ok, %llu fail, %llu info in %.2f s (%d connections, pipeline %d)\n",
           (unsigned long long)b->ok, (unsigned long long)b->fail, (unsigned long long)b->info,
           secs, b->conns, b->pipeline);
    printf("%.0f ops/s\n", secs > 0 ? (double)b->ok / secs : 0.0);
    printf("latency p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
           fl_format_duration(fl_hist_percentile(&b->lat, 50), p50, sizeof(p50)),
           fl_format_duration(fl_hist_percentile(&b->lat, 90), p90, sizeof(p90)),
           fl_format_duration(fl_hist_percentile(&b->lat, 99), p99, sizeof(p99)),
           fl_format_duration(fl_hist_percentile(&b->lat, 99.9), p999, sizeof(p999)),
           fl_format_duration(b->lat.max, mx, sizeof(mx)));
}

static int write_history(bench *b)
{
    fl_buf out;
    fl_buf_init(&out);
    int rc = b->history_oom ? FL_ENOMEM : fl_history_write_jsonl(&b->h, &out);
    FILE *f = rc ? NULL : fopen(b->history_path, "w");
    if (f) {
        rc = fwrite(out.data, 1, out.len, f) == out.len ? 0 : FL_EIO;
        rc = fclose(f) ? FL_EIO : rc;
    } else if (!rc) {
        rc = FL_EIO;
    }
    fl_buf_free(&out);
    if (rc)
        fprintf(stderr, "faultline bench: cannot write %s: %s\n", b->history_path, fl_strerror(rc));
    else
        printf("history: %zu events in %s\n", b->h.count, b->history_path);
    return rc;
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
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            bench_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--tls")) { /* a flag */
            b.tls_on = true;
            i--;
            continue;
        }
        if (i + 1 >= argc || bench_option(&b, argv[i], argv[i + 1], &seed)) {
            fprintf(stderr, "faultline bench: bad option %s\n", argv[i]);
            bench_usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    if (!b.n_addrs) {
        fprintf(stderr, "faultline bench: --addr is required\n");
        return FL_EXIT_USAGE;
    }
    if (b.tls_on && bench_tls(&b))
        return FL_EXIT_USAGE;
    fl_rng_seed(&b.rng, seed);
    fl_hist_init(&b.lat);
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
        if (b.history_path)
            rc = write_history(&b);
    } else {
        fprintf(stderr, "faultline bench: %s\n", fl_strerror(rc));
    }
    fl_loop_close(&b.loop);
    fl_tls_close(&b.tls);
    fl_history_free(&b.h);
    free(b.c);
    free(b.key_ids);
    return rc ? 1 : 0;
}
