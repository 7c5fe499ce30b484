/* server_conn.c: RESP client connections of a node (server_int.h): accept, read, parse
 * pipelined commands, and write replies in request order.
 *
 * Every command gets an op in the connection's FIFO; replies are written from the head
 * while the head is done, so pipelined replies keep their order even when later commands
 * finish first. Bounds: at most SRV_PIPELINE_MAX ops in flight per connection (beyond it
 * the connection is not read until replies drain), clients_max connections (lowered at
 * start to what the open-file limit allows; one over it gets Redis's "-ERR max number of
 * clients reached" before it is closed), and the parser's limits per request. With
 * --timeout, a connection with nothing in flight that sent nothing for that long is closed. A
 * protocol error gets its error reply, then the connection is closed once that reply is written.
 * Invariant: a connection is freed only from its own I/O callback or at shutdown, never from inside
 * a reply path, so ops can always reach it. */
#include "server_int.h"

#include "faultline/error.h"
#include "faultline/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define READ_CHUNK    (16 * 1024)
#define OUT_HIGH_MARK ((size_t)8 << 20) /* stop executing commands above this much unsent */

static void unqueue_flush(conn *c);

static void conn_free(conn *c)
{
    srv *s = c->s;
    if (c->flush_queued)
        unqueue_flush(c);
    for (op *o = c->fifo_head, *next; o; o = next) {
        next = o->c_next;
        o->c = NULL;
        if (o->state == OP_DONE)
            fl__op_free(o);
        else if (o->state == OP_HELD)
            fl__op_finish(o); /* never started: dropped */
    }
    fl__multi_reset(c);
    fl_buf_free(&c->watched);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    fl_loop_watch_stop(&s->loop, &c->w);
    fl_stream_close(&c->st);
    fl_resp_parser_free(&c->parser);
    fl_buf_free(&c->in);
    fl_buf_free(&c->out);
    free(c);
}

/* Moves done replies from the head of the FIFO into out. */
static void collect(conn *c)
{
    while (c->fifo_head && c->fifo_head->state == OP_DONE) {
        op *o = c->fifo_head;
        c->fifo_head = o->c_next;
        if (!c->fifo_head)
            c->fifo_tail = NULL;
        c->inflight--;
        fl__metrics_command(c->s, o->def, &o->reply);
        fl_buf_put_bytes(&c->out, o->reply.data, o->reply.len);
        fl__op_free(o);
    }
}

/* Writes what it can. Returns FL_EIO if the connection is broken. */
static int flush(conn *c)
{
    while (c->out_off < c->out.len) {
        size_t put = 0;
        if (fl_stream_write(&c->st, c->out.data + c->out_off, c->out.len - c->out_off, &put, NULL))
            return FL_EIO;
        if (put == 0)
            break;
        c->out_off += put;
    }
    if (c->out_off == c->out.len) {
        fl_buf_reset(&c->out);
        c->out_off = 0;
    }
    return c->out.err ? FL_ENOMEM : 0;
}

/* READ while there is room for more commands; WRITE while replies are unsent, and also
 * (the socket being writable, this fires at once) to come back when a closing connection
 * has nothing left to wait for or a stalled one has room to parse its buffered input. */
static void update_interest(conn *c)
{
    bool pending = c->out_off < c->out.len;
    bool room = c->inflight < SRV_PIPELINE_MAX && c->out.len - c->out_off < OUT_HIGH_MARK;
    bool can_read = !c->closing && room;
    bool wake = (c->closing && !c->fifo_head) || (c->stalled && room && !c->closing);
    uint32_t want = (can_read ? FL_LOOP_READ : 0) | (pending || wake ? FL_LOOP_WRITE : 0);
    want = fl_stream_interest(&c->st, want);
    if (want != c->w.interest)
        fl_loop_watch_modify(&c->s->loop, &c->w, want);
}

/* Writes the replies of every connection that got some since the last call: one write per
 * connection per loop iteration, however many of its pipelined commands completed. */
static void flush_cb(fl_loop *loop, void *arg)
{
    srv *s = arg;
    (void)loop;
    s->flush_timer = 0;
    while (s->flush_head) {
        conn *c = s->flush_head;
        s->flush_head = c->flush_next;
        c->flush_next = NULL;
        c->flush_queued = false;
        collect(c);
        if (flush(c))
            c->closing = true; /* the I/O callback closes it */
        update_interest(c);
    }
}

void fl__conn_reply_ready(conn *c)
{
    srv *s = c->s;
    /* collected at the flush, not here: callers may be walking the FIFO */
    if (c->flush_queued)
        return;
    c->flush_queued = true;
    c->flush_next = s->flush_head;
    s->flush_head = c;
    if (!s->flush_timer && fl_loop_timer_start(&s->loop, 0, flush_cb, s, &s->flush_timer))
        fl__srv_fatal(s, FL_EFULL, "timer table full");
}

static void unqueue_flush(conn *c)
{
    for (conn **p = &c->s->flush_head; *p; p = &(*p)->flush_next)
        if (*p == c) {
            *p = c->flush_next;
            break;
        }
    c->flush_queued = false;
}

/* Parses and executes every complete command in c->in. */
static void serve_input(conn *c)
{
    size_t off = 0, used = 0;
    int rc = 0;
    while (!c->closing && c->inflight < SRV_PIPELINE_MAX &&
           (rc = fl_resp_parse(&c->parser, c->in.data + off, c->in.len - off, &used)) ==
               FL_RESP_CMD) {
        off += used;
        fl__cmd_execute(c, c->parser.argc, c->parser.argv);
    }
    if (!c->closing && c->inflight < SRV_PIPELINE_MAX) {
        off += used;
        if (rc < 0) {
            op *o = fl__op_new(c->s, c);
            c->closing = true;
            if (o) {
                fl_resp_put_error(&o->reply, c->parser.errmsg);
                o->state = OP_DONE;
                if (c->fifo_tail)
                    c->fifo_tail->c_next = o;
                else
                    c->fifo_head = o;
                c->fifo_tail = o;
                c->inflight++;
            }
        }
    }
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    c->stalled = c->inflight >= SRV_PIPELINE_MAX && c->in.len > 0;
}

/* A TLS connection's handshake, from its I/O callback. Returns true once it is done (go on),
 * false while it runs or after it failed (then c is freed, with the reason logged). */
static bool handshake(conn *c)
{
    fl_errmsg m;
    if (fl_stream_handshake(&c->st, &m)) {
        c->s->tls_refused++;
        FL_WARN("client %s refused: %s", c->addr, m.text);
        conn_free(c);
        return false;
    }
    if (!fl_stream_ready(&c->st)) {
        update_interest(c);
        return false;
    }
    return true;
}

static void conn_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    conn *c = w->arg;
    (void)loop;
    if (!fl_stream_ready(&c->st) && !handshake(c))
        return;
    if ((ev & FL_LOOP_READ) && !c->closing) {
        uint8_t *p = fl_buf_extend(&c->in, READ_CHUNK);
        size_t got = 0;
        int rc = p ? fl_stream_read(&c->st, p, READ_CHUNK, &got, NULL) : FL_ENOMEM;
        if (p)
            c->in.len -= READ_CHUNK - got;
        if (rc) {
            conn_free(c);
            return;
        }
        c->last_io = fl_loop_now(&c->s->loop);
        serve_input(c);
    } else if (c->stalled && !c->closing && c->inflight < SRV_PIPELINE_MAX) {
        serve_input(c); /* resumed after the pipeline drained */
    }
    collect(c);
    if (flush(c) || (ev & FL_LOOP_ERROR) ||
        (c->closing && c->out.len == c->out_off && !c->fifo_head)) {
        conn_free(c);
        return;
    }
    update_interest(c);
}

/* The connection's stream: TLS when the node has it (a client certificate of the CA required
 * with --tls-client-auth), else plain. Returns 0, or -1 with fd closed. */
static int start_stream(srv *s, conn *c, int fd)
{
    if (!s->tls_up) {
        fl_stream_plain(&c->st, fd);
        return 0;
    }
    fl_errmsg m;
    uint32_t flags = FL_STREAM_SERVER | (s->cfg.tls_client_auth ? FL_STREAM_VERIFY : 0);
    if (fl_stream_tls(&c->st, fd, &s->tls, flags, &m)) {
        FL_WARN("client connection dropped: %s", m.text);
        return -1;
    }
    return 0;
}

static void accept_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    srv *s = w->arg;
    (void)ev;
    for (int n = 0; n < 32; n++) {
        int fd;
        fl_addr peer;
        if (fl_net_accept(s->lfd, &fd, &peer, NULL) || fd < 0)
            return;
        conn *c = s->n_conns < s->clients_max ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            static const char full[] = "-ERR max number of clients reached\r\n";
            ssize_t wr = s->tls_up ? 0 : write(fd, full, sizeof(full) - 1); /* TLS: just close */
            (void)wr;
            close(fd);
            s->rejected_conns++;
            continue;
        }
        c->s = s;
        c->fd = fd;
        if (start_stream(s, c, fd)) {
            free(c);
            continue;
        }
        c->id = ++s->next_conn_id;
        c->order.mutants = s->cfg.fault_reorder_reads ? FL_KV_ORDER_MUTANT_READ_AHEAD : 0;
        c->last_io = fl_loop_now(loop);
        fl_addr_format(&peer, c->addr);
        fl_buf_init(&c->watched);
        s->connections_total++;
        c->client_id = s->client_id_base + (++s->next_client << 8) + s->cfg.id;
        c->authed = s->cfg.requirepass[0] == 0;
        fl_resp_limits lim = {0};
        fl_resp_parser_init(&c->parser, &lim);
        fl_buf_init(&c->in);
        fl_buf_init(&c->out);
        if (fl_loop_watch_start(loop, &c->w, fd, fl_stream_interest(&c->st, FL_LOOP_READ), conn_io,
                                c)) {
            fl_resp_parser_free(&c->parser);
            fl_stream_close(&c->st);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
    }
}

/* Each connection takes a file descriptor: raise the soft limit as far as needed (and
 * allowed), and lower clients_max to what fits, keeping room for the WAL, peers, the loop. */
static void fit_clients_max(srv *s)
{
    const rlim_t reserve = 64 + 2 * FL_RAFT_NODES_MAX;
    rlim_t want = (rlim_t)s->cfg.clients_max + reserve;
    struct rlimit rl;
    s->clients_max = s->cfg.clients_max;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < want) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        s->clients_max = rl.rlim_cur > reserve + 1 ? (uint32_t)(rl.rlim_cur - reserve) : 1;
        FL_WARN("open-file limit %llu: maxclients lowered from %u to %u",
                (unsigned long long)rl.rlim_cur, s->cfg.clients_max, s->clients_max);
    }
}

void fl__conn_housekeep(srv *s)
{
    if (!s->cfg.timeout_s)
        return;
    fl_time_ns now = fl_loop_now(&s->loop), idle = (fl_time_ns)s->cfg.timeout_s * FL_NS_PER_S;
    for (conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->fifo_head && c->out_off == c->out.len && now - c->last_io > idle)
            conn_free(c); /* from a timer: no I/O callback of c is running */
    }
}

int fl__conn_listen(srv *s, fl_errmsg *m)
{
    s->started_ns = fl_loop_now(&s->loop);
    fit_clients_max(s);
    int rc = fl_net_listen(&s->cfg.listen, 511, &s->lfd, m);
    if (rc)
        return rc;
    return fl_loop_watch_start(&s->loop, &s->lw, s->lfd, FL_LOOP_READ, accept_io, s);
}

void fl__conn_close_all(srv *s)
{
    while (s->conns)
        conn_free(s->conns);
    if (s->lfd >= 0) {
        fl_loop_watch_stop(&s->loop, &s->lw);
        close(s->lfd);
        s->lfd = -1;
    }
}
