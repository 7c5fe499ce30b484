/* conn.c: the nemesis's client-side connections (clients and the status poll): one
 * non-blocking TCP connection on the loop with an input and an output buffer. The owner's
 * callback hears when the connection is established (c->connected, maybe no input), of new
 * input, and of the connection's end (refused, reset, closed); it parses c->in itself and
 * removes what it consumed. Bytes appended to c->out before the connection is established
 * go once it is. */
#include "nem_int.h"

#include "faultline/error.h"

#include <string.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define IN_MAX     ((size_t)16 << 20) /* a reply longer than this: the connection is dropped */

void nem_conn_init(nem_conn *c, nem *n, nem_conn_fn fn, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    c->fd = -1;
    c->fn = fn;
    c->arg = arg;
    fl_buf_init(&c->in);
    fl_buf_init(&c->out);
}

void nem_conn_close(nem_conn *c)
{
    if (c->fd >= 0) {
        fl_loop_watch_stop(&c->n->loop, &c->w);
        close(c->fd);
    }
    c->fd = -1;
    c->connected = false;
    fl_buf_reset(&c->in);
    fl_buf_reset(&c->out);
    c->out_off = 0;
}

void nem_conn_free(nem_conn *c)
{
    nem_conn_close(c);
    fl_buf_free(&c->in);
    fl_buf_free(&c->out);
}

static void died(nem_conn *c)
{
    nem_conn_close(c);
    c->fn(c, true);
}

static bool flush_out(nem_conn *c)
{
    while (c->out_off < c->out.len) {
        size_t put = 0;
        fl_errmsg m;
        if (fl_net_write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, &put, &m))
            return false;
        if (put == 0)
            break;
        c->out_off += put;
    }
    if (c->out_off == c->out.len) {
        fl_buf_reset(&c->out);
        c->out_off = 0;
    }
    uint32_t want = FL_LOOP_READ | (c->out.len ? FL_LOOP_WRITE : 0);
    if (want != c->w.interest)
        fl_loop_watch_modify(&c->n->loop, &c->w, want);
    return true;
}

static void conn_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    nem_conn *c = w->arg;
    (void)loop;
    fl_errmsg m;
    if (!c->connected && (ev & (FL_LOOP_WRITE | FL_LOOP_ERROR))) {
        if (fl_net_connect_finish(c->fd, &m)) {
            died(c);
            return;
        }
        c->connected = true;
        c->fn(c, false); /* the owner hears of the connection with no input yet */
        if (c->fd < 0)
            return;
    }
    if ((ev & FL_LOOP_WRITE) && !flush_out(c)) {
        died(c);
        return;
    }
    if (!(ev & (FL_LOOP_READ | FL_LOOP_ERROR)))
        return;
    size_t before = c->in.len;
    for (int i = 0; i < 16; i++) {
        uint8_t *p = fl_buf_extend(&c->in, READ_CHUNK);
        size_t got = 0;
        int rc = p ? fl_net_read(c->fd, p, READ_CHUNK, &got, &m) : FL_ENOMEM;
        if (p)
            c->in.len -= READ_CHUNK - got;
        if (rc || c->in.len > IN_MAX) {
            died(c);
            return;
        }
        if (got < READ_CHUNK)
            break;
    }
    if (c->in.len > before)
        c->fn(c, false);
    else if (ev & FL_LOOP_ERROR)
        died(c);
}

int nem_conn_open(nem_conn *c, const fl_addr *a)
{
    nem_conn_close(c);
    fl_errmsg m;
    int rc = fl_net_connect(a, &c->fd, &m);
    if (rc)
        return rc;
    rc = fl_loop_watch_start(&c->n->loop, &c->w, c->fd, FL_LOOP_READ | FL_LOOP_WRITE, conn_io, c);
    if (rc) {
        close(c->fd);
        c->fd = -1;
    }
    return rc;
}

void nem_conn_flush(nem_conn *c)
{
    if (c->fd < 0)
        return;
    if (c->connected && !flush_out(c))
        died(c);
}
