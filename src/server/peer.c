/* peer.c: TCP links between cluster nodes: hello handshake, framing, bounded send queues,
 * reconnection with backoff (peer.h).
 *
 * Byte format (little-endian):
 *
 *     hello (sender -> acceptor, once, first on the connection), 24 bytes:
 *       0  4  magic "FLPR"
 *       4  2  version = 1
 *       6  2  reserved = 0
 *       8  8  cluster id
 *       16 4  sender node id
 *       20 4  receiver node id
 *     frame (repeated):
 *       0  4  length L of what follows (1 <= L <= FL_PEER_FRAME_BYTES_MAX)
 *       4  1  type
 *       5  L-1 payload
 *
 * Invariant: an accepted connection delivers frames only after its hello was checked, and
 * only with the sender id from that hello. */
#include "faultline/peer.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELLO_VERSION  1
#define BACKOFF_MIN_NS (50 * FL_NS_PER_MS)
#define BACKOFF_MAX_NS (1 * FL_NS_PER_S)
#define READ_CHUNK     (64 * 1024)
#define QUEUE_DEFAULT  ((size_t)64 << 20)

static void out_connect(fl_peer_out *o);

/* ---- outgoing connections --------------------------------------------------------------- */

static void out_reset(fl_peer_out *o, const char *why)
{
    fl_peers *ps = o->ps;
    /* Back to the shortest retry only after a connection that lasted: one refused right after
     * its handshake (a certificate the acceptor rejects) is retried ever more slowly. */
    if (o->verified && fl_loop_now(ps->loop) - o->up_ns >= BACKOFF_MAX_NS)
        o->backoff_ns = BACKOFF_MIN_NS;
    if (o->fd >= 0) {
        if (o->connected)
            FL_WARN("peer %u: connection lost (%s); reconnecting", o->id, why);
        fl_loop_watch_stop(ps->loop, &o->w);
        fl_stream_close(&o->st);
    }
    o->fd = -1;
    o->connected = false;
    o->verified = false;
    fl_buf_reset(&o->out);
    o->out_off = 0;
}

static void retry_cb(fl_loop *loop, void *arg)
{
    fl_peer_out *o = arg;
    (void)loop;
    o->retry_timer = 0;
    out_connect(o);
}

/* A timer the transport needs could not start (the loop's timer table is full): without it
 * a peer would never be retried, or silent connections never swept, so the owner is told, as
 * the server treats its own timers. */
static void timer_failed(fl_peers *ps, int rc, const char *what)
{
    char why[96];
    snprintf(why, sizeof(why), "peers: cannot start the %s timer: %s", what, fl_strerror(rc));
    ps->cfg.fatal(ps->arg, rc, why);
}

static void out_schedule(fl_peer_out *o)
{
    if (o->retry_timer)
        return;
    int rc = fl_loop_timer_start(o->ps->loop, o->backoff_ns, retry_cb, o, &o->retry_timer);
    if (rc) {
        timer_failed(o->ps, rc, "reconnect");
        return;
    }
    o->backoff_ns = o->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : o->backoff_ns * 2;
}

static void out_fail(fl_peer_out *o, const char *why)
{
    out_reset(o, why);
    out_schedule(o);
}

static void put_hello(fl_peer_out *o)
{
    const fl_peers_config *c = &o->ps->cfg;
    fl_buf_put_bytes(&o->out, "FLPR", 4);
    fl_buf_put_u16(&o->out, HELLO_VERSION);
    fl_buf_put_u16(&o->out, 0);
    fl_buf_put_u64(&o->out, c->cluster_id);
    fl_buf_put_u32(&o->out, c->self);
    fl_buf_put_u32(&o->out, o->id);
}

static bool out_verify(fl_peer_out *o);

static void out_flush(fl_peer_out *o)
{
    fl_errmsg m;
    if (!o->verified && !out_verify(o)) /* nothing leaves before the acceptor's name checks */
        return;
    while (o->out_off < o->out.len) {
        size_t put = 0;
        if (fl_stream_write(&o->st, o->out.data + o->out_off, o->out.len - o->out_off, &put, &m)) {
            out_fail(o, m.text);
            return;
        }
        if (put == 0)
            break;
        o->out_off += put;
        o->bytes_sent += put;
    }
    if (o->out_off == o->out.len) {
        fl_buf_reset(&o->out);
        o->out_off = 0;
    } else if (o->out_off > o->out.len / 2) {
        memmove(o->out.data, o->out.data + o->out_off, o->out.len - o->out_off);
        o->out.len -= o->out_off;
        o->out_off = 0;
    }
    uint32_t want = fl_stream_interest(&o->st, FL_LOOP_READ | (o->out.len ? FL_LOOP_WRITE : 0));
    if (want != o->w.interest)
        fl_loop_watch_modify(o->ps->loop, &o->w, want);
}

/* Moves the TLS handshake on and, once it is done, checks that the acceptor is the node we
 * dialled. Returns true when the connection may carry frames; false while the handshake runs
 * or after a failure (the connection is then reset and retried later). */
static bool out_verify(fl_peer_out *o)
{
    fl_errmsg m;
    if (fl_stream_handshake(&o->st, &m)) {
        FL_WARN("peer %u: %s", o->id, m.text);
        out_fail(o, m.text);
        return false;
    }
    if (!fl_stream_ready(&o->st)) {
        uint32_t want = fl_stream_interest(&o->st, FL_LOOP_READ);
        if (want != o->w.interest)
            fl_loop_watch_modify(o->ps->loop, &o->w, want);
        return false;
    }
    char name[FL_TLS_NAME_MAX];
    if (fl_stream_is_tls(&o->st) && strcmp(o->st.peer_name, fl_tls_node_name(o->id, name))) {
        char why[2 * FL_TLS_NAME_MAX + 64];
        snprintf(why, sizeof(why), "its certificate names \"%s\", not \"%s\"", o->st.peer_name,
                 name);
        FL_WARN("peer %u: refused: %s", o->id, why);
        out_fail(o, why);
        return false;
    }
    o->verified = true;
    o->up_ns = fl_loop_now(o->ps->loop);
    FL_INFO("peer %u: connected%s", o->id, fl_stream_is_tls(&o->st) ? " (TLS)" : "");
    return true;
}

static void out_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_peer_out *o = w->arg;
    fl_errmsg m;
    (void)loop;
    if (!o->connected) {
        if (fl_net_connect_finish(o->fd, &m)) {
            FL_DEBUG("peer %u: %s", o->id, m.text);
            out_fail(o, m.text);
            return;
        }
        o->connected = true;
        put_hello(o); /* TLS: written once the handshake and the name check are done */
    }
    if (!o->verified && !out_verify(o))
        return;
    if (ev & (FL_LOOP_READ | FL_LOOP_ERROR)) {
        static uint8_t sink[FL_STREAM_READ_MIN]; /* the acceptor sends nothing: discarded */
        size_t got = 0;
        int rc = fl_stream_read(&o->st, sink, sizeof(sink), &got, &m);
        if (rc) {
            out_fail(o, rc == FL_ESHUTDOWN ? "closed by peer" : m.text);
            return;
        }
    }
    out_flush(o);
}

static void out_connect(fl_peer_out *o)
{
    fl_errmsg m;
    int fd;
    if (fl_net_connect(&o->addr, &fd, &m)) {
        o->fd = -1;
        out_schedule(o);
        return;
    }
    if (o->ps->cfg.tls) {
        if (fl_stream_tls(&o->st, fd, o->ps->cfg.tls, FL_STREAM_VERIFY, &m)) {
            FL_WARN("peer %u: %s", o->id, m.text);
            o->fd = -1;
            out_schedule(o);
            return;
        }
    } else {
        fl_stream_plain(&o->st, fd);
    }
    o->fd = fd;
    if (fl_loop_watch_start(o->ps->loop, &o->w, o->fd, FL_LOOP_WRITE, out_io, o)) {
        fl_stream_close(&o->st);
        o->fd = -1;
        out_schedule(o);
    }
}

static fl_peer_out *out_of(fl_peers *ps, fl_node_id id)
{
    for (uint32_t i = 0; i < ps->n_out; i++)
        if (ps->out[i].id == id)
            return &ps->out[i];
    return NULL;
}

int fl_peers_send(fl_peers *ps, fl_node_id to, uint8_t type, const void *head, size_t head_len,
                  const void *body, size_t body_len)
{
    fl_peer_out *o = out_of(ps, to);
    if (!o)
        return FL_ENOTFOUND;
    size_t len = 1 + head_len + body_len;
    if (len > FL_PEER_FRAME_BYTES_MAX)
        return FL_ETOOBIG;
    if (!o->connected) {
        o->dropped++;
        return FL_ESHUTDOWN;
    }
    if (o->out.len - o->out_off + 4 + len > ps->cfg.queue_bytes_max) {
        o->dropped++;
        return FL_EFULL;
    }
    fl_buf_put_u32(&o->out, (uint32_t)len);
    fl_buf_put_u8(&o->out, type);
    fl_buf_put_bytes(&o->out, head, head_len);
    fl_buf_put_bytes(&o->out, body, body_len);
    if (o->out.err) {
        out_fail(o, "out of memory");
        return FL_ENOMEM;
    }
    uint32_t want = fl_stream_interest(&o->st, FL_LOOP_READ | FL_LOOP_WRITE);
    if (want != o->w.interest)
        fl_loop_watch_modify(ps->loop, &o->w, want);
    return 0;
}

void fl_peers_flush(fl_peers *ps)
{
    for (uint32_t i = 0; i < ps->n_out; i++)
        if (ps->out[i].connected && ps->out[i].out.len > ps->out[i].out_off)
            out_flush(&ps->out[i]);
}

bool fl_peers_stats(const fl_peers *ps, fl_node_id id, fl_peer_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < ps->n_out; i++) {
        const fl_peer_out *o = &ps->out[i];
        if (o->id != id)
            continue;
        out->connected = o->connected && o->verified;
        out->queue_bytes = o->out.len - o->out_off;
        out->dropped = o->dropped;
        out->bytes_sent = o->bytes_sent;
        out->bytes_received = o->bytes_received;
        return true;
    }
    return false;
}

/* ---- accepted connections ---------------------------------------------------------------- */

static void in_close(fl_peer_in *c)
{
    fl_peers *ps = c->ps;
    for (size_t i = 0; i < FL_PEER_ACCEPTED_MAX; i++)
        if (ps->in[i] == c)
            ps->in[i] = NULL;
    fl_loop_watch_stop(ps->loop, &c->w);
    fl_stream_close(&c->st);
    fl_buf_free(&c->in);
    free(c);
}

static bool known_id(const fl_peers *ps, fl_node_id id)
{
    for (uint32_t i = 0; i < ps->cfg.n; i++)
        if (ps->cfg.ids[i] == id)
            return id != ps->cfg.self;
    return false;
}

/* Checks the hello at the start of c->in. Returns true if accepted. */
static bool check_hello(fl_peer_in *c)
{
    fl_peers *ps = c->ps;
    fl_reader rd;
    fl_reader_init(&rd, c->in.data, FL_PEER_HELLO_BYTES);
    const uint8_t *magic = fl_read_bytes(&rd, 4);
    uint16_t version = fl_read_u16(&rd);
    fl_read_u16(&rd);
    uint64_t cluster = fl_read_u64(&rd);
    fl_node_id from = fl_read_u32(&rd), to = fl_read_u32(&rd);
    char a[FL_ADDR_STR_MAX], name[FL_TLS_NAME_MAX], name_why[2 * FL_TLS_NAME_MAX + 64];
    const char *why = NULL;
    if (memcmp(magic, "FLPR", 4) != 0 || version != HELLO_VERSION)
        why = "not a faultline peer (bad magic or version)";
    else if (cluster != ps->cfg.cluster_id)
        why = "another cluster (cluster id differs)";
    else if (!known_id(ps, from))
        why = "unknown node id";
    else if (to != ps->cfg.self)
        why = "hello addressed to another node id";
    else if (fl_stream_is_tls(&c->st) && strcmp(c->st.peer_name, fl_tls_node_name(from, name))) {
        snprintf(name_why, sizeof(name_why), "its certificate names \"%s\", not \"%s\"",
                 c->st.peer_name, name);
        why = name_why;
    }
    if (why) {
        ps->refused++;
        FL_WARN("peer connection from %s refused: %s (cluster %016llx, from %u, to %u)",
                fl_addr_format(&c->addr, a), why, (unsigned long long)cluster, from, to);
        return false;
    }
    for (size_t i = 0; i < FL_PEER_ACCEPTED_MAX; i++)
        if (ps->in[i] && ps->in[i] != c && ps->in[i]->from == from) {
            FL_INFO("peer %u: closing its older incoming connection", from);
            in_close(ps->in[i]);
        }
    c->from = from;
    FL_INFO("peer %u: accepted connection from %s%s", from, fl_addr_format(&c->addr, a),
            fl_stream_is_tls(&c->st) ? " (TLS)" : "");
    return true;
}

/* Delivers every complete frame in c->in; returns false if the connection must close. */
static bool in_frames(fl_peer_in *c)
{
    size_t off = 0;
    if (c->from == 0) {
        if (c->in.len < FL_PEER_HELLO_BYTES)
            return true;
        if (!check_hello(c))
            return false;
        off = FL_PEER_HELLO_BYTES;
    }
    while (c->in.len - off >= 4) {
        uint32_t len = fl_get_u32le(c->in.data + off);
        if (len == 0 || len > FL_PEER_FRAME_BYTES_MAX) {
            FL_WARN("peer %u: frame length %u out of range; closing", c->from, len);
            return false;
        }
        if (c->in.len - off - 4 < len)
            break;
        const uint8_t *p = c->in.data + off + 4;
        c->ps->fn(c->ps->arg, c->from, p[0], p + 1, len - 1);
        off += 4 + (size_t)len;
    }
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    return true;
}

/* Moves an accepted connection's TLS handshake on; false: not done yet, or failed (then c is
 * closed, the reason logged). */
static bool in_handshake(fl_peer_in *c)
{
    fl_errmsg m;
    char a[FL_ADDR_STR_MAX];
    if (fl_stream_handshake(&c->st, &m)) {
        c->ps->refused++;
        FL_WARN("peer connection from %s refused: %s", fl_addr_format(&c->addr, a), m.text);
        in_close(c);
        return false;
    }
    uint32_t want = fl_stream_interest(&c->st, FL_LOOP_READ);
    if (want != c->w.interest)
        fl_loop_watch_modify(c->ps->loop, &c->w, want);
    return fl_stream_ready(&c->st);
}

static void in_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_peer_in *c = w->arg;
    (void)loop;
    (void)ev;
    if (!fl_stream_ready(&c->st) && !in_handshake(c))
        return;
    for (int i = 0; i < 16; i++) {
        uint8_t *p = fl_buf_extend(&c->in, READ_CHUNK);
        if (!p) {
            in_close(c);
            return;
        }
        size_t got = 0;
        int rc = fl_stream_read(&c->st, p, READ_CHUNK, &got, NULL);
        c->in.len -= READ_CHUNK - got;
        fl_peer_out *o = c->from ? out_of(c->ps, c->from) : NULL;
        if (o)
            o->bytes_received += got;
        if (rc) {
            if (c->from)
                FL_INFO("peer %u: incoming connection closed", c->from);
            in_close(c);
            return;
        }
        if (got == 0)
            break;
        if (!in_frames(c)) {
            in_close(c);
            return;
        }
        if (got < READ_CHUNK)
            break;
    }
}

static void accept_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_peers *ps = w->arg;
    (void)ev;
    for (int n = 0; n < 16; n++) {
        int fd;
        fl_addr peer;
        if (fl_net_accept(ps->lfd, &fd, &peer, NULL) || fd < 0)
            return;
        size_t slot = 0;
        while (slot < FL_PEER_ACCEPTED_MAX && ps->in[slot])
            slot++;
        fl_peer_in *c = slot < FL_PEER_ACCEPTED_MAX ? calloc(1, sizeof(*c)) : NULL;
        if (!c) {
            FL_WARN("peer listener: too many connections; refusing one");
            close(fd);
            continue;
        }
        c->fd = fd;
        c->ps = ps;
        c->addr = peer;
        if (ps->cfg.tls) {
            fl_errmsg m;
            if (fl_stream_tls(&c->st, fd, ps->cfg.tls, FL_STREAM_SERVER | FL_STREAM_VERIFY, &m)) {
                FL_WARN("peer listener: %s", m.text);
                free(c);
                continue;
            }
        } else {
            fl_stream_plain(&c->st, fd);
        }
        c->accepted_ns = fl_loop_now(loop);
        fl_buf_init(&c->in);
        c->in.cap_max = FL_PEER_FRAME_BYTES_MAX + 2 * READ_CHUNK;
        if (fl_loop_watch_start(loop, &c->w, fd, FL_LOOP_READ, in_io, c)) {
            fl_stream_close(&c->st);
            free(c);
            continue;
        }
        ps->in[slot] = c;
    }
}

/* Closes accepted connections that sent no hello in time, so silent clients cannot hold
 * every slot. Re-arms itself every second. */
static void sweep_cb(fl_loop *loop, void *arg)
{
    fl_peers *ps = arg;
    fl_time_ns now = fl_loop_now(loop);
    for (size_t i = 0; i < FL_PEER_ACCEPTED_MAX; i++) {
        fl_peer_in *c = ps->in[i];
        if (c && c->from == 0 && now - c->accepted_ns > FL_PEER_HELLO_WAIT_NS) {
            char a[FL_ADDR_STR_MAX];
            FL_WARN("peer connection from %s closed: no hello within %llu ms",
                    fl_addr_format(&c->addr, a),
                    (unsigned long long)(FL_PEER_HELLO_WAIT_NS / FL_NS_PER_MS));
            in_close(c);
        }
    }
    ps->sweep_timer = 0;
    int rc = fl_loop_timer_start(loop, FL_NS_PER_S, sweep_cb, ps, &ps->sweep_timer);
    if (rc)
        timer_failed(ps, rc, "hello sweep");
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

int fl_peers_init(fl_peers *ps, fl_loop *loop, const fl_peers_config *cfg, fl_peer_frame_fn fn,
                  void *arg, fl_errmsg *m)
{
    memset(ps, 0, sizeof(*ps));
    ps->loop = loop;
    ps->cfg = *cfg;
    if (!ps->cfg.queue_bytes_max)
        ps->cfg.queue_bytes_max = QUEUE_DEFAULT;
    ps->fn = fn;
    ps->arg = arg;
    ps->lfd = -1;
    FL_ASSERT(cfg->fatal != NULL);
    const fl_addr *self = NULL;
    for (uint32_t i = 0; i < cfg->n; i++) {
        if (cfg->ids[i] == cfg->self) {
            self = &cfg->addrs[i];
            continue;
        }
        fl_peer_out *o = &ps->out[ps->n_out++];
        o->id = cfg->ids[i];
        o->addr = cfg->addrs[i];
        o->fd = -1;
        o->ps = ps;
        o->backoff_ns = BACKOFF_MIN_NS;
        fl_buf_init(&o->out);
    }
    if (!self)
        return fl_errmsg_set(m, FL_ECONFIG, "node %u is not in the cluster", cfg->self);
    int rc = fl_net_listen(cfg->listen_set ? &cfg->listen : self, 128, &ps->lfd, m);
    if (rc)
        return rc;
    rc = fl_loop_watch_start(loop, &ps->lw, ps->lfd, FL_LOOP_READ, accept_io, ps);
    if (rc) {
        close(ps->lfd);
        ps->lfd = -1;
        return fl_errmsg_set(m, rc, "peer listener: %s", fl_strerror(rc));
    }
    rc = fl_loop_timer_start(loop, FL_NS_PER_S, sweep_cb, ps, &ps->sweep_timer);
    if (rc)
        return fl_errmsg_set(m, rc, "peers: cannot start the hello sweep timer: %s",
                             fl_strerror(rc));
    for (uint32_t i = 0; i < ps->n_out; i++)
        out_connect(&ps->out[i]);
    return 0;
}

void fl_peers_close(fl_peers *ps)
{
    if (ps->sweep_timer)
        fl_loop_timer_cancel(ps->loop, ps->sweep_timer);
    ps->sweep_timer = 0;
    for (uint32_t i = 0; i < ps->n_out; i++) {
        fl_peer_out *o = &ps->out[i];
        if (o->retry_timer)
            fl_loop_timer_cancel(ps->loop, o->retry_timer);
        o->connected = false;
        out_reset(o, "closing");
        fl_buf_free(&o->out);
    }
    for (size_t i = 0; i < FL_PEER_ACCEPTED_MAX; i++)
        if (ps->in[i])
            in_close(ps->in[i]);
    if (ps->lfd >= 0) {
        fl_loop_watch_stop(ps->loop, &ps->lw);
        close(ps->lfd);
    }
    ps->lfd = -1;
}
