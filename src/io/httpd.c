/* httpd.c: the tiny HTTP/1.1 responder (httpd.h). A connection goes READING (the request head
 * accumulates) -> WRITING (the whole response is built in one buffer, written as the socket
 * takes it) -> closed. Invariant: a connection is in conns[] exactly while it is open. */
#include "faultline/httpd.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fl_httpd_conn {
    fl_httpd *h;
    int fd;
    fl_loop_watch w;
    fl_buf in, out;
    size_t out_off;
    bool writing;
    fl_time_ns started_ns;
};

static void conn_close(fl_httpd_conn *c)
{
    fl_httpd *h = c->h;
    for (size_t i = 0; i < FL_HTTPD_CONNS_MAX; i++)
        if (h->conns[i] == c)
            h->conns[i] = NULL;
    fl_loop_watch_stop(h->loop, &c->w);
    close(c->fd);
    fl_buf_free(&c->in);
    fl_buf_free(&c->out);
    free(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Internal Server Error";
    }
}

/* Builds the response to the request head in c->in (complete, NUL-terminated). */
static void respond(fl_httpd_conn *c)
{
    fl_httpd *h = c->h;
    char *line = (char *)c->in.data, *sp1 = strchr(line, ' '),
         *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    fl_buf body;
    fl_buf_init(&body);
    const char *type = "text/plain; charset=utf-8";
    int status = 400;
    bool head = false;
    if (sp1 && sp2 && strncmp(sp2 + 1, "HTTP/1.", 7) == 0) {
        *sp1 = *sp2 = 0;
        head = strcmp(line, "HEAD") == 0;
        char *q = strchr(sp1 + 1, '?');
        if (q)
            *q = 0;
        if (!head && strcmp(line, "GET") != 0)
            status = 405;
        else
            status = h->fn(h->arg, sp1 + 1, &body, &type);
    }
    if (status != 200) {
        fl_buf_reset(&body);
        fl_buf_printf(&body, "%d %s\n", status, reason(status));
        type = "text/plain; charset=utf-8";
    }
    fl_buf_printf(&c->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n%s\r\n",
                  status, reason(status), type, body.len,
                  status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head)
        fl_buf_put_bytes(&c->out, body.data, body.len);
    fl_buf_free(&body);
    h->requests++;
    c->writing = true;
}

/* Reads what is there; true once a whole request head (or an oversized one) is in. */
static bool read_head(fl_httpd_conn *c, bool *broken)
{
    uint8_t *p = fl_buf_extend(&c->in, 1024);
    size_t got = 0;
    if (!p || fl_net_read(c->fd, p, 1024, &got, NULL)) {
        *broken = true;
        return false;
    }
    c->in.len -= 1024 - got;
    if (c->in.len > FL_HTTPD_REQUEST_MAX) {
        fl_buf_reset(&c->in);
        fl_buf_printf(&c->out, "HTTP/1.1 431 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                      reason(431));
        c->h->refused++;
        c->writing = true;
        return false;
    }
    fl_buf_put_u8(&c->in, 0); /* for the string functions; not counted */
    c->in.len--;
    return strstr((const char *)c->in.data, "\r\n\r\n") || strstr((const char *)c->in.data, "\n\n");
}

static void conn_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_httpd_conn *c = w->arg;
    bool broken = (ev & FL_LOOP_ERROR) != 0;
    if (!c->writing && (ev & FL_LOOP_READ) && read_head(c, &broken))
        respond(c);
    while (!broken && c->writing && c->out_off < c->out.len) {
        size_t put = 0;
        broken =
            fl_net_write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, &put, NULL) != 0;
        if (put == 0)
            break;
        c->out_off += put;
    }
    if (broken || c->out.err || (c->writing && c->out_off == c->out.len)) {
        conn_close(c);
        return;
    }
    fl_loop_watch_modify(loop, w, c->writing ? FL_LOOP_WRITE : FL_LOOP_READ);
}

static void accept_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_httpd *h = w->arg;
    (void)ev;
    for (int n = 0; n < 16; n++) {
        int fd;
        if (fl_net_accept(h->lfd, &fd, NULL, NULL) || fd < 0)
            return;
        size_t slot = 0;
        while (slot < FL_HTTPD_CONNS_MAX && h->conns[slot])
            slot++;
        fl_httpd_conn *c = slot < FL_HTTPD_CONNS_MAX ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            h->refused++;
            close(fd);
            continue;
        }
        *c = (fl_httpd_conn){.h = h, .fd = fd, .started_ns = fl_loop_now(loop)};
        fl_buf_init(&c->in);
        fl_buf_init(&c->out);
        if (fl_loop_watch_start(loop, &c->w, fd, FL_LOOP_READ, conn_io, c)) {
            close(fd);
            free(c);
            continue;
        }
        h->conns[slot] = c;
    }
}

static void sweep_cb(fl_loop *loop, void *arg)
{
    fl_httpd *h = arg;
    fl_time_ns now = fl_loop_now(loop);
    for (size_t i = 0; i < FL_HTTPD_CONNS_MAX; i++)
        if (h->conns[i] && now - h->conns[i]->started_ns > FL_HTTPD_IDLE_NS) {
            h->refused++;
            conn_close(h->conns[i]);
        }
    h->sweep_timer = 0;
    fl_loop_timer_start(loop, FL_NS_PER_S, sweep_cb, h, &h->sweep_timer);
}

int fl_httpd_start(fl_httpd *h, fl_loop *loop, const fl_addr *a, fl_httpd_fn fn, void *arg,
                   fl_errmsg *m)
{
    memset(h, 0, sizeof(*h));
    h->loop = loop;
    h->fn = fn;
    h->arg = arg;
    int rc = fl_net_listen(a, 16, &h->lfd, m);
    if (rc) {
        h->lfd = -1;
        return rc;
    }
    rc = fl_loop_watch_start(loop, &h->lw, h->lfd, FL_LOOP_READ, accept_io, h);
    if (rc == 0)
        rc = fl_loop_timer_start(loop, FL_NS_PER_S, sweep_cb, h, &h->sweep_timer);
    if (rc) {
        fl_httpd_stop(h);
        return fl_errmsg_set(m, rc, "metrics listener: %s", fl_strerror(rc));
    }
    return 0;
}

int fl_httpd_local_addr(const fl_httpd *h, fl_addr *out, fl_errmsg *m)
{
    return fl_net_local_addr(h->lfd, out, m);
}

void fl_httpd_stop(fl_httpd *h)
{
    if (h->sweep_timer)
        fl_loop_timer_cancel(h->loop, h->sweep_timer);
    h->sweep_timer = 0;
    for (size_t i = 0; i < FL_HTTPD_CONNS_MAX; i++)
        if (h->conns[i])
            conn_close(h->conns[i]);
    if (h->lfd >= 0) {
        fl_loop_watch_stop(h->loop, &h->lw);
        close(h->lfd);
    }
    h->lfd = -1;
}
