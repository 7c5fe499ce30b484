/* test_io_resp_loop.c: the io/ pieces together over loopback: a tiny RESP server (PING,
 * ECHO, errors) on the event loop, and a client that sends a pipelined batch in 7-byte
 * writes spaced by timers, so commands arrive split across reads at arbitrary offsets. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/loop.h"
#include "faultline/net.h"
#include "faultline/resp.h"

#include <strings.h>
#include <unistd.h>

#define COMMANDS 60
#define CHUNK    7

struct conn {
    int fd;
    fl_loop_watch w;
    fl_resp_parser parser;
    fl_buf in, out;
    bool closing;
};

struct rig {
    int lfd, cfd;
    fl_loop_watch lw, cw;
    struct conn server;
    fl_buf request, expect, got;
    size_t sent;
    int failures;
};

static void execute(struct conn *c)
{
    const fl_resp_arg *a = c->parser.argv;
    if (strcasecmp((const char *)a[0].p, "PING") == 0 && c->parser.argc == 1)
        fl_resp_put_simple(&c->out, "PONG");
    else if (strcasecmp((const char *)a[0].p, "ECHO") == 0 && c->parser.argc == 2)
        fl_resp_put_bulk(&c->out, a[1].p, a[1].len);
    else
        fl_resp_put_error(&c->out, "ERR unknown command");
}

/* Parses and executes everything buffered; a protocol error gets its reply, then the
 * connection is marked for closing (the byte stream is out of sync). */
static void serve_input(struct conn *c)
{
    size_t off = 0, used;
    int rc;
    while ((rc = fl_resp_parse(&c->parser, c->in.data + off, c->in.len - off, &used)) ==
           FL_RESP_CMD) {
        execute(c);
        off += used;
    }
    off += used;
    if (off) {
        memmove(c->in.data, c->in.data + off, c->in.len - off);
        c->in.len -= off;
    }
    if (rc < 0) {
        fl_resp_put_error(&c->out, c->parser.errmsg);
        c->closing = true;
    }
}

static void server_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct conn *c = w->arg;
    size_t n;
    if (ev & FL_LOOP_READ) {
        uint8_t *p = fl_buf_extend(&c->in, 4096);
        CHECK(p != NULL);
        int rc = fl_net_read(c->fd, p, 4096, &n, NULL);
        c->in.len -= 4096 - n;
        if (rc == 0)
            serve_input(c);
    }
    if (c->out.len) {
        CHECK_EQ(fl_net_write(c->fd, c->out.data, c->out.len, &n, NULL), 0);
        memmove(c->out.data, c->out.data + n, c->out.len - n);
        c->out.len -= n;
    }
    fl_loop_watch_modify(loop, w, c->out.len ? FL_LOOP_READ | FL_LOOP_WRITE : FL_LOOP_READ);
}

static void server_accept(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct rig *r = w->arg;
    int fd;
    CHECK_EQ(fl_net_accept(r->lfd, &fd, NULL, NULL), 0);
    if (fd < 0)
        return;
    r->server.fd = fd;
    CHECK_EQ(fl_loop_watch_start(loop, &r->server.w, fd, FL_LOOP_READ, server_io, &r->server), 0);
}

static void client_send_chunk(fl_loop *loop, void *arg)
{
    struct rig *r = arg;
    size_t n = r->request.len - r->sent < CHUNK ? r->request.len - r->sent : CHUNK, put;
    CHECK_EQ(fl_net_write(r->cfd, r->request.data + r->sent, n, &put, NULL), 0);
    r->sent += put;
    if (r->sent < r->request.len)
        CHECK_EQ(fl_loop_timer_start(loop, 20 * FL_NS_PER_US, client_send_chunk, r, NULL), 0);
}

static void client_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct rig *r = w->arg;
    uint8_t buf[4096];
    size_t n;
    int rc = fl_net_read(r->cfd, buf, sizeof(buf), &n, NULL);
    if (rc == FL_ESHUTDOWN) {
        fl_loop_stop(loop);
        return;
    }
    fl_buf_put_bytes(&r->got, buf, n);
    if (r->got.len >= r->expect.len)
        fl_loop_stop(loop);
}

static void on_guard(fl_loop *loop, void *arg)
{
    fl_loop_stop(loop);
}

static void build_requests(struct rig *r)
{
    for (int i = 0; i < COMMANDS; i++) {
        char word[32];
        snprintf(word, sizeof(word), "value-%d\r\n", i); /* CR LF inside a bulk is data */
        fl_resp_arg echo[2] = {{(const uint8_t *)"ECHO", 4}, {(const uint8_t *)word, 0}};
        echo[1].len = strlen(word);
        switch (i % 3) {
        case 0:
            fl_buf_put_str(&r->request, "PING\r\n"); /* inline */
            fl_resp_put_simple(&r->expect, "PONG");
            break;
        case 1:
            fl_resp_put_command(&r->request, 2, echo);
            fl_resp_put_bulk(&r->expect, word, strlen(word));
            break;
        default:
            fl_buf_put_str(&r->request, "*1\r\n$4\r\nNOPE\r\n");
            fl_resp_put_error(&r->expect, "ERR unknown command");
        }
    }
    fl_buf_put_str(&r->request, "*1\r\nx\r\n"); /* then a protocol error */
    fl_resp_put_error(&r->expect, "ERR Protocol error: expected '$', got 'x'");
}

TEST(io_resp_server_over_loopback_with_split_pipelined_input)
{
    static struct rig r;
    memset(&r, 0, sizeof(r));
    fl_buf_init(&r.request);
    fl_buf_init(&r.expect);
    fl_buf_init(&r.got);
    fl_buf_init(&r.server.in);
    fl_buf_init(&r.server.out);
    fl_resp_parser_init(&r.server.parser, NULL);
    build_requests(&r);

    fl_loop loop;
    fl_addr a, bound;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &a, NULL), 0);
    CHECK_EQ(fl_net_listen(&a, 8, &r.lfd, NULL), 0);
    CHECK_EQ(fl_net_local_addr(r.lfd, &bound, NULL), 0);
    CHECK_EQ(fl_loop_watch_start(&loop, &r.lw, r.lfd, FL_LOOP_READ, server_accept, &r), 0);
    CHECK_EQ(fl_net_connect(&bound, &r.cfd, NULL), 0);
    CHECK_EQ(fl_loop_watch_start(&loop, &r.cw, r.cfd, FL_LOOP_READ, client_io, &r), 0);
    CHECK_EQ(fl_loop_timer_start(&loop, FL_NS_PER_MS, client_send_chunk, &r, NULL), 0);
    CHECK_EQ(fl_loop_timer_start(&loop, 5 * FL_NS_PER_S, on_guard, NULL, NULL), 0);
    CHECK_EQ(fl_loop_run(&loop), 0);

    CHECK_EQ(r.sent, r.request.len);
    CHECK_EQ(r.got.len, r.expect.len);
    CHECK(memcmp(r.got.data, r.expect.data, r.got.len) == 0);
    CHECK_EQ(r.server.parser.commands, COMMANDS);
    CHECK(r.server.closing);

    fl_loop_watch_stop(&loop, &r.server.w);
    fl_loop_watch_stop(&loop, &r.cw);
    fl_loop_watch_stop(&loop, &r.lw);
    close(r.server.fd);
    close(r.cfd);
    close(r.lfd);
    fl_loop_close(&loop);
    fl_resp_parser_free(&r.server.parser);
    fl_buf_free(&r.server.in);
    fl_buf_free(&r.server.out);
    fl_buf_free(&r.request);
    fl_buf_free(&r.expect);
    fl_buf_free(&r.got);
}
