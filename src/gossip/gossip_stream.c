/* gossip_stream.c: push-pull over TCP (gossip.h). The core's STATE messages (its member table,
 * with addresses) are too large for a datagram and must arrive whole: each goes as one frame
 * on a TCP connection to the member's address (the same IP and port as its UDP socket):
 *
 *   u32 length (LE) | STATE message (address fields filled in) [| u64 time | tag when keyed]
 *
 * The frame is sealed and opened like a datagram (gossip_auth.h, the same replay cache); its
 * length is bounded by fl_swim_stream_bytes_max of our core plus the seal, and anything longer
 * closes the connection. A connection carries one exchange:
 *
 *   outbound: CONNECTING -> WRITING our frame -> READING the reply (when we asked for one) ->
 * closed inbound:  READING the request -> (core) -> REPLYING with the core's answer -> closed
 *
 * At most FL_GOSSIP_STREAMS_MAX connections at once (the listener stops accepting while all
 * are busy; a STATE the core sends then is dropped and counted, the next push-pull retries),
 * each closed after FL_GOSSIP_STREAM_TIMEOUT_NS whatever its phase. */
#include "gossip_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <string.h>
#include <unistd.h>

enum { PH_FREE, PH_CONNECTING, PH_WRITING, PH_READING, PH_REPLYING };

#define FRAME_HEADER 4

static size_t frame_max(const fl_gossip *g)
{
    return fl_swim_stream_bytes_max(&g->core.cfg) + (g->key.set ? FL_GOSSIP_AUTH_BYTES : 0);
}

static void on_listen(fl_loop *loop, fl_loop_watch *w, uint32_t events);

static void listen_resume(fl_gossip *g)
{
    if (g->tcp_paused && g->tcp_fd >= 0 &&
        fl_loop_watch_start(g->loop, &g->tcp_watch, g->tcp_fd, FL_LOOP_READ, on_listen, g) == 0)
        g->tcp_paused = false;
}

static void slot_close(fl_gossip_stream *st, bool ok)
{
    fl_gossip *g = st->g;
    if (st->watch.active)
        fl_loop_watch_stop(g->loop, &st->watch);
    if (st->timer)
        fl_loop_timer_cancel(g->loop, st->timer);
    if (st->fd >= 0)
        close(st->fd);
    fl_buf_free(&st->in);
    fl_buf_free(&st->out);
    if (ok)
        *(st->outbound ? &g->streams_out : &g->streams_in) += 1;
    else
        g->stream_errors++;
    memset(st, 0, sizeof(*st));
    st->fd = -1;
    listen_resume(g);
}

static void on_timeout(fl_loop *loop, void *arg)
{
    fl_gossip_stream *st = arg;
    st->timer = 0;
    slot_close(st, false);
}

static void on_io(fl_loop *loop, fl_loop_watch *w, uint32_t events);

/* A free slot for fd, watched for interest, with its deadline armed; NULL when all are busy. */
static fl_gossip_stream *slot_open(fl_gossip *g, int fd, bool outbound, uint32_t interest)
{
    for (int i = 0; i < FL_GOSSIP_STREAMS_MAX; i++) {
        fl_gossip_stream *st = &g->streams[i];
        if (st->fd >= 0)
            continue;
        memset(st, 0, sizeof(*st));
        st->g = g;
        st->fd = fd;
        st->outbound = outbound;
        fl_buf_init(&st->in);
        fl_buf_init(&st->out);
        if (fl_loop_watch_start(g->loop, &st->watch, fd, interest, on_io, st) ||
            fl_loop_timer_start(g->loop, FL_GOSSIP_STREAM_TIMEOUT_NS, on_timeout, st, &st->timer)) {
            slot_close(st, false);
            return NULL;
        }
        return st;
    }
    return NULL;
}

/* The frame of one core message into st->out: addresses filled in, sealed when keyed. */
static bool put_frame(fl_gossip_stream *st, const fl_swim_msg *m)
{
    fl_gossip *g = st->g;
    fl_buf *b = &st->out;
    fl_buf_reset(b);
    fl_buf_put_u32(b, 0);
    fl_buf_put_bytes(b, m->data, m->len);
    if (g->key.set)
        fl_buf_extend(b, FL_GOSSIP_AUTH_BYTES);
    if (b->err)
        return false;
    uint8_t *payload = b->data + FRAME_HEADER;
    fl__gossip_fill_addrs(g, payload, m->len);
    size_t n = g->key.set ? fl_gossip_seal(&g->key, payload, m->len, fl__gossip_wall_ms()) : m->len;
    FL_ASSERT(FRAME_HEADER + n == b->len && n <= frame_max(g));
    fl_put_u32le(b->data, (uint32_t)n);
    st->out_pos = 0;
    return true;
}

void fl__gossip_stream_send(fl_gossip *g, const fl_swim_msg *m)
{
    fl_gossip_stream *st = g->reply_on;
    if (st && m->to == g->reply_to && st->phase == PH_READING) { /* the answer to a request */
        if (put_frame(st, m))
            st->phase = PH_REPLYING;
        return;
    }
    const fl_addr *to = fl__gossip_addr_of(g, m->to);
    if (!to) {
        g->no_address++;
        fl__gossip_want_addr(g, m->to);
        return;
    }
    int fd = -1;
    if (fl_net_connect(to, &fd, NULL) != 0 || !(st = slot_open(g, fd, true, FL_LOOP_WRITE))) {
        if (fd >= 0 && !st)
            close(fd);
        g->stream_errors++;
        return;
    }
    st->peer = *to;
    st->phase = PH_CONNECTING;
    st->want_reply = m->len > 3 && (m->data[3] & FL_SWIM_STATE_REPLY);
    if (!put_frame(st, m))
        slot_close(st, false);
}

/* A whole frame arrived: open it, learn its addresses, hand it to the core. False: refused. */
static bool frame_done(fl_gossip_stream *st)
{
    fl_gossip *g = st->g;
    uint8_t *p = st->in.data + FRAME_HEADER;
    size_t n = st->in.len - FRAME_HEADER;
    if (g->key.set) {
        int rc = fl_gossip_open(&g->key, &g->replay, p, n, fl__gossip_wall_ms(), &n);
        if (rc) {
            *(rc == FL_ESTALE ? &g->replayed : &g->rejected) += 1;
            return false;
        }
    }
    if (!fl_swim_is_state(p, n) || fl__gossip_read_addrs(g, p, n, &st->peer) != 0) {
        g->malformed++;
        return false;
    }
    fl_swim_event ev = {.kind = FL_SWIM_EV_RECEIVE, .data = p, .len = n};
    if (!st->outbound) {
        g->reply_on = st;
        g->reply_to = fl_get_u32le(p + 4); /* the sender (validated by the read above) */
    }
    fl__gossip_step(g, &ev);
    g->reply_on = NULL;
    return true;
}

/* Reads what is there, never past the frame; true while the connection lives (the frame may
 * be incomplete). */
static bool read_some(fl_gossip_stream *st)
{
    fl_buf *b = &st->in;
    for (;;) {
        size_t total = FRAME_HEADER;
        if (b->len >= FRAME_HEADER) {
            size_t flen = fl_get_u32le(b->data);
            if (flen < FL_SWIM_HEADER_BYTES || flen > frame_max(st->g)) {
                st->g->malformed++; /* too long or too short to be a STATE message */
                return false;
            }
            total += flen;
        }
        size_t want = total - b->len, got = 0;
        if (want == 0)
            return true;
        if (fl_buf_reserve(b, want) || fl_net_read(st->fd, b->data + b->len, want, &got, NULL))
            return false;
        if (got == 0)
            return true; /* would block */
        b->len += got;
    }
}

static bool frame_complete(const fl_gossip_stream *st)
{
    const fl_buf *b = &st->in;
    return b->len >= FRAME_HEADER && b->len == FRAME_HEADER + fl_get_u32le(b->data);
}

/* Writes what the socket takes; true while the connection lives. */
static bool write_some(fl_gossip_stream *st)
{
    while (st->out_pos < st->out.len) {
        size_t put = 0;
        if (fl_net_write(st->fd, st->out.data + st->out_pos, st->out.len - st->out_pos, &put, NULL))
            return false;
        if (put == 0)
            return true;
        st->out_pos += put;
    }
    return true;
}

/* Our frame is out: read the answer, or we are done. */
static void after_write(fl_gossip_stream *st)
{
    if (st->phase == PH_WRITING && st->want_reply &&
        fl_loop_watch_modify(st->g->loop, &st->watch, FL_LOOP_READ) == 0) {
        st->phase = PH_READING;
        return;
    }
    slot_close(st, st->phase == PH_REPLYING || !st->want_reply);
}

static void on_read(fl_gossip_stream *st)
{
    if (!read_some(st)) {
        slot_close(st, false);
        return;
    }
    if (!frame_complete(st))
        return;
    if (!frame_done(st)) {
        slot_close(st, false);
        return;
    }
    if (st->outbound || st->phase != PH_REPLYING)
        slot_close(st, true); /* a reply read, or a request that wanted none */
    else if (fl_loop_watch_modify(st->g->loop, &st->watch, FL_LOOP_WRITE))
        slot_close(st, false);
}

static void on_io(fl_loop *loop, fl_loop_watch *w, uint32_t events)
{
    fl_gossip_stream *st = w->arg;
    if (st->phase == PH_CONNECTING) {
        if (fl_net_connect_finish(st->fd, NULL) != 0) {
            slot_close(st, false);
            return;
        }
        st->phase = PH_WRITING;
    }
    if (st->phase == PH_READING) {
        on_read(st);
        return;
    }
    if (!write_some(st))
        slot_close(st, false);
    else if (st->out_pos == st->out.len)
        after_write(st);
}

static void on_listen(fl_loop *loop, fl_loop_watch *w, uint32_t events)
{
    fl_gossip *g = w->arg;
    for (int i = 0; i < FL_GOSSIP_STREAMS_MAX; i++) {
        fl_gossip_stream *st = NULL;
        for (int j = 0; j < FL_GOSSIP_STREAMS_MAX && !st; j++)
            st = g->streams[j].fd < 0 ? &g->streams[j] : NULL;
        if (!st) { /* every slot busy: leave the rest in the backlog until one frees */
            fl_loop_watch_stop(loop, &g->tcp_watch);
            g->tcp_paused = true;
            return;
        }
        int fd = -1;
        fl_addr peer;
        if (fl_net_accept(g->tcp_fd, &fd, &peer, NULL) != 0 || fd < 0)
            return;
        if (!(st = slot_open(g, fd, false, FL_LOOP_READ))) {
            close(fd);
            g->stream_errors++;
            continue;
        }
        st->peer = peer;
        st->phase = PH_READING;
    }
}

int fl__gossip_stream_listen(fl_gossip *g, fl_errmsg *m)
{
    int rc = fl_net_listen(&g->local, 128, &g->tcp_fd, m);
    if (rc)
        return rc;
    rc = fl_loop_watch_start(g->loop, &g->tcp_watch, g->tcp_fd, FL_LOOP_READ, on_listen, g);
    if (rc) {
        close(g->tcp_fd);
        g->tcp_fd = -1;
        return fl_errmsg_set(m, rc, "watch the tcp listener");
    }
    return 0;
}

void fl__gossip_stream_stop(fl_gossip *g)
{
    g->tcp_paused = false; /* closing slots must not start the listener again */
    for (int i = 0; i < FL_GOSSIP_STREAMS_MAX; i++)
        if (g->streams[i].fd >= 0)
            slot_close(&g->streams[i], false);
    if (g->tcp_watch.active)
        fl_loop_watch_stop(g->loop, &g->tcp_watch);
    if (g->tcp_fd >= 0)
        close(g->tcp_fd);
    g->tcp_fd = -1;
}
