/* proxy.c: the fault proxy (--net proxy). Every node advertises, as its peer address, a
 * listener of this proxy; the proxy forwards each connection to the port the node really
 * listens on. All nodes keep one member list, so the proxy cannot tell senders apart by the
 * port they dial: it finds which node opened an accepted connection by the connection's
 * source port (/proc/net/tcp gives the socket's inode, /proc/PID/fd of each node the owner).
 *
 * Rules apply per direction of data, not per connection: bytes from node a to node b follow
 * rule[a][b] whichever of them opened the connection (etcd streams messages back on
 * connections the receiver opened). A flow:
 *
 *   cut     nothing is read from the sender (TCP backpressure, as a silent partition); when
 *           the cut ends the connections carrying it are reset, so what was held is lost
 *   stall   the same, but when it ends what was held flows on (a frozen link)
 *   delay   every chunk read is written delay + uniform[0, jitter] later, in order (a
 *           stream is never reordered: a chunk is due no earlier than the one before it)
 *   rate    a token bucket of rate bytes per second (burst: 1/10 s of it)
 *
 * Bounds: PX_PAIRS_MAX connections; at most PX_HOLD_MAX bytes queued per flow (past it the
 * sender is not read). Untrusted bytes are only copied, never parsed. */
#include "nem_int.h"

#include "faultline/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PX_PAIRS_MAX 512
#define PX_HOLD_MAX  ((size_t)4 << 20)
#define PX_MARKS_MAX 1024
#define PX_CHUNK     (64 * 1024)

typedef struct px_pair px_pair;

typedef struct px_mark {
    fl_time_ns due;
    size_t end; /* q offset (from q's start) where this chunk ends */
} px_mark;

typedef struct px_flow {
    px_pair *p;
    uint32_t src, dst;
    bool from_a; /* read from the accepted side (src -> dst) */
    fl_buf q;    /* read, not yet written: q.data[q_off..q.len) */
    size_t q_off;
    px_mark mark[PX_MARKS_MAX];
    uint32_t m_head, m_count;
    fl_time_ns last_due;
    double tokens;
    fl_time_ns tokens_at;
    fl_loop_timer_id timer;
    bool eof, shut;
    bool want_write; /* the receiver's socket is full */
} px_flow;

struct px_pair {
    nem_proxy *px;
    bool used;
    bool clients; /* a client's connection (node 0 = the clients) */
    int fd[2];    /* 0: accepted from src, 1: connected to dst */
    fl_loop_watch w[2];
    bool connected;
    px_flow up, down; /* up: fd 0 -> fd 1 (src -> dst), down: fd 1 -> fd 0 */
};

typedef struct px_listener {
    nem_proxy *px;
    uint32_t node;
    bool clients; /* for this node's clients (--proxy-clients) */
    int fd;
    fl_loop_watch w;
} px_listener;

struct nem_proxy {
    nem *n;
    px_listener l[FL_NEM_NODES_MAX + 1];
    px_listener cl[FL_NEM_NODES_MAX + 1]; /* --proxy-clients */
    px_pair pair[PX_PAIRS_MAX];
};

static void pair_close(px_pair *p, bool reset);
static void pump(px_flow *f);

static fl_loop *loop_of(const px_pair *p)
{
    return &p->px->n->loop;
}

static const nem_link_rule *rule_of(const px_flow *f)
{
    static const nem_link_rule none;
    nem *n = f->p->px->n;
    /* a peer connection from a node not found has no rule; clients are node 0 */
    return (f->src && f->dst) || f->p->clients ? &n->rule[f->src][f->dst] : &none;
}

static int fd_from(const px_flow *f)
{
    return f->p->fd[f->from_a ? 0 : 1];
}

static int fd_to(const px_flow *f)
{
    return f->p->fd[f->from_a ? 1 : 0];
}

static void interests(px_pair *p)
{
    for (int side = 0; side < 2; side++) {
        if (p->fd[side] < 0)
            continue;
        px_flow *out = side == 0 ? &p->up : &p->down; /* read from this side */
        px_flow *in = side == 0 ? &p->down : &p->up;  /* written to this side */
        const nem_link_rule *r = rule_of(out);
        bool read = !out->eof && !r->cut && !r->stall && out->q.len - out->q_off < PX_HOLD_MAX &&
                    out->m_count < PX_MARKS_MAX && p->connected;
        bool write = in->want_write || (side == 1 && !p->connected);
        uint32_t want = (read ? FL_LOOP_READ : 0) | (write ? FL_LOOP_WRITE : 0);
        if (want != p->w[side].interest)
            fl_loop_watch_modify(loop_of(p), &p->w[side], want);
    }
}

/* ---- reading ------------------------------------------------------------------------------ */

static void add_mark(px_flow *f, size_t end)
{
    nem *n = f->p->px->n;
    const nem_link_rule *r = rule_of(f);
    fl_time_ns now = fl_loop_now(&n->loop);
    fl_time_ns due = now + r->delay_ns;
    if (r->jitter_ns)
        due += fl_rng_below(&n->rng, r->jitter_ns + 1);
    if (due < f->last_due)
        due = f->last_due;
    f->last_due = due;
    px_mark *m = &f->mark[(f->m_head + f->m_count) % PX_MARKS_MAX];
    m->due = due;
    m->end = end;
    f->m_count++;
}

/* Returns false when the pair was closed. */
static bool read_flow(px_flow *f)
{
    const nem_link_rule *r = rule_of(f);
    if (f->eof || r->cut || r->stall)
        return true;
    for (int i = 0; i < 8 && f->q.len - f->q_off < PX_HOLD_MAX && f->m_count < PX_MARKS_MAX; i++) {
        uint8_t *dst = fl_buf_extend(&f->q, PX_CHUNK);
        if (!dst) {
            pair_close(f->p, true);
            return false;
        }
        ssize_t got = read(fd_from(f), dst, PX_CHUNK);
        f->q.len -= PX_CHUNK - (got > 0 ? (size_t)got : 0);
        if (got == 0) {
            f->eof = true;
            break;
        }
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            pair_close(f->p, true);
            return false;
        }
        add_mark(f, f->q.len);
        f->p->px->n->res->proxy_bytes += (uint64_t)got;
        if (got < PX_CHUNK)
            break;
    }
    return true;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void timer_cb(fl_loop *loop, void *arg)
{
    px_flow *f = arg;
    (void)loop;
    f->timer = 0;
    pump(f);
}

static void arm(px_flow *f, fl_time_ns at)
{
    fl_loop *loop = loop_of(f->p);
    fl_time_ns now = fl_loop_now(loop);
    if (f->timer)
        return;
    fl_loop_timer_start(loop, at > now ? at - now : 0, timer_cb, f, &f->timer);
}

/* How many bytes may go now (due chunks, tokens); sets a timer for the rest. */
static size_t sendable(px_flow *f)
{
    const nem_link_rule *r = rule_of(f);
    fl_time_ns now = fl_loop_now(loop_of(f->p));
    size_t end = f->q_off;
    for (uint32_t i = 0; i < f->m_count; i++) {
        const px_mark *m = &f->mark[(f->m_head + i) % PX_MARKS_MAX];
        if (m->due > now) {
            arm(f, m->due);
            break;
        }
        end = m->end;
    }
    size_t n = end - f->q_off;
    if (r->rate_bps && n) {
        double burst = (double)r->rate_bps / 10 + 1;
        f->tokens += (double)(now - f->tokens_at) * (double)r->rate_bps / 1e9;
        if (f->tokens > burst)
            f->tokens = burst;
        f->tokens_at = now;
        if (f->tokens < (double)n) {
            n = f->tokens > 0 ? (size_t)f->tokens : 0;
            double wait_s = ((double)(end - f->q_off - n) + 1) / (double)r->rate_bps;
            arm(f, now + (fl_time_ns)(wait_s * 1e9) + FL_NS_PER_MS);
        }
    }
    return n;
}

static bool write_flow(px_flow *f)
{
    const nem_link_rule *r = rule_of(f);
    f->want_write = false;
    if (r->cut || r->stall || !f->p->connected)
        return true;
    size_t n = sendable(f);
    while (n > 0) {
        ssize_t put = send(fd_to(f), f->q.data + f->q_off, n, MSG_NOSIGNAL);
        if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            f->want_write = true;
            break;
        }
        if (put <= 0) {
            pair_close(f->p, true);
            return false;
        }
        f->q_off += (size_t)put;
        n -= (size_t)put;
        if (r->rate_bps)
            f->tokens -= (double)put;
    }
    while (f->m_count && f->mark[f->m_head].end <= f->q_off) {
        f->m_head = (f->m_head + 1) % PX_MARKS_MAX;
        f->m_count--;
    }
    if (f->q_off == f->q.len) { /* everything written: reuse the buffer from its start */
        fl_buf_reset(&f->q);
        f->q_off = 0;
        f->m_head = 0;
    } else if (f->q_off > PX_HOLD_MAX) { /* move the rest down, and the marks with it */
        size_t left = f->q.len - f->q_off;
        memmove(f->q.data, f->q.data + f->q_off, left);
        for (uint32_t i = 0; i < f->m_count; i++)
            f->mark[(f->m_head + i) % PX_MARKS_MAX].end -= f->q_off;
        f->q.len = left;
        f->q_off = 0;
    }
    if (f->eof && f->q_off == f->q.len && !f->shut) {
        shutdown(fd_to(f), SHUT_WR);
        f->shut = true;
    }
    return true;
}

static void pump(px_flow *f)
{
    px_pair *p = f->p;
    if (!p->used)
        return;
    if (!read_flow(f) || !write_flow(f))
        return;
    if (p->up.shut && p->down.shut) {
        pair_close(p, false);
        return;
    }
    interests(p);
}

static void pair_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    px_pair *p = w->arg;
    int side = w == &p->w[0] ? 0 : 1;
    (void)loop;
    if (side == 1 && !p->connected) {
        fl_errmsg m;
        if (fl_net_connect_finish(p->fd[1], &m)) {
            pair_close(p, true);
            return;
        }
        p->connected = true;
    }
    if (ev & FL_LOOP_ERROR && !(ev & FL_LOOP_READ)) {
        pair_close(p, true);
        return;
    }
    px_flow *a = side == 0 ? &p->up : &p->down;
    px_flow *b = side == 0 ? &p->down : &p->up;
    pump(a);
    if (p->used)
        pump(b);
}

/* ---- connections -------------------------------------------------------------------------- */

static void flow_reset(px_flow *f)
{
    if (f->timer)
        fl_loop_timer_cancel(loop_of(f->p), f->timer);
    f->timer = 0;
    fl_buf_free(&f->q);
}

static void pair_close(px_pair *p, bool reset)
{
    if (!p->used)
        return;
    for (int i = 0; i < 2; i++) {
        if (p->fd[i] < 0)
            continue;
        fl_loop_watch_stop(loop_of(p), &p->w[i]);
        if (reset) {
            struct linger lg = {1, 0};
            setsockopt(p->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(p->fd[i]);
        p->fd[i] = -1;
    }
    flow_reset(&p->up);
    flow_reset(&p->down);
    p->used = false;
}

/* The node whose process holds the socket with local port sport connected to dport, or 0.
 * /proc/net/tcp lines: "sl local rem st ... uid timeout inode". */
static uint32_t source_of(nem *n, uint16_t sport, uint16_t dport)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return 0;
    char line[512];
    unsigned long inode = 0;
    while (!inode && fgets(line, sizeof(line), f)) {
        unsigned la, lp, ra, rp, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &la, &lp, &ra, &rp,
                   &st, &ino) == 6 &&
            lp == sport && rp == dport)
            inode = ino;
    }
    fclose(f);
    if (!inode)
        return 0;
    char want[64];
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    for (uint32_t i = 1; i <= n->count; i++) {
        pid_t pid = n->node[i].pid;
        for (int fd = 0; pid > 0 && fd < 4096; fd++) {
            char path[64], link[64];
            snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
            ssize_t l = readlink(path, link, sizeof(link) - 1);
            if (l < 0) {
                if (errno == ENOENT && fd > 256)
                    break;
                continue;
            }
            link[l] = 0;
            if (!strcmp(link, want))
                return i;
        }
    }
    return 0;
}

static px_pair *pair_new(nem_proxy *px)
{
    for (int i = 0; i < PX_PAIRS_MAX; i++)
        if (!px->pair[i].used) {
            px_pair *p = &px->pair[i];
            memset(p, 0, sizeof(*p));
            p->px = px;
            p->used = true;
            p->fd[0] = p->fd[1] = -1;
            return p;
        }
    return NULL;
}

static void pair_start(nem_proxy *px, int fd, uint32_t src, uint32_t dst, bool clients)
{
    nem *n = px->n;
    px_pair *p = pair_new(px);
    if (!p) {
        close(fd);
        return;
    }
    p->fd[0] = fd;
    p->clients = clients;
    p->up = (px_flow){.p = p, .src = src, .dst = dst, .from_a = true};
    p->down = (px_flow){.p = p, .src = dst, .dst = src, .from_a = false};
    fl_buf_init(&p->up.q);
    fl_buf_init(&p->down.q);
    p->up.tokens_at = p->down.tokens_at = fl_loop_now(&n->loop);
    fl_addr a;
    char s[80];
    fl_errmsg m;
    snprintf(s, sizeof(s), "%s:%u", n->node[dst].host,
             clients ? n->node[dst].client_port : n->node[dst].peer_port);
    if (fl_addr_parse(s, &a, &m) || fl_net_connect(&a, &p->fd[1], &m) ||
        fl_loop_watch_start(&n->loop, &p->w[0], p->fd[0], 0, pair_io, p) ||
        fl_loop_watch_start(&n->loop, &p->w[1], p->fd[1], FL_LOOP_WRITE, pair_io, p)) {
        pair_close(p, true);
        return;
    }
}

static void accept_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    px_listener *l = w->arg;
    (void)loop;
    (void)ev;
    for (int i = 0; i < 16; i++) {
        int fd;
        fl_addr peer;
        fl_errmsg m;
        if (fl_net_accept(l->fd, &fd, &peer, &m) || fd < 0)
            return;
        uint32_t src =
            l->clients ? 0
                       : source_of(l->px->n, fl_addr_port(&peer), l->px->n->node[l->node].adv_port);
        pair_start(l->px, fd, src, l->node, l->clients);
    }
}

int nem_proxy_start(nem *n)
{
    nem_proxy *px = calloc(1, sizeof(*px));
    if (!px)
        return FL_ENOMEM;
    px->n = n;
    n->proxy = px;
    for (uint32_t k = 0; k < 2 * n->count; k++) {
        uint32_t i = k % n->count + 1;
        bool clients = k >= n->count;
        if (clients && !n->cfg->proxy_clients)
            break;
        px_listener *l = clients ? &px->cl[i] : &px->l[i];
        l->px = px;
        l->node = i;
        l->clients = clients;
        l->fd = -1;
        fl_addr a;
        char s[80];
        fl_errmsg m;
        snprintf(s, sizeof(s), "%s:%u", n->node[i].host,
                 clients ? n->node[i].cl_adv_port : n->node[i].adv_port);
        int rc = fl_addr_parse(s, &a, &m);
        if (!rc)
            rc = fl_net_listen(&a, 128, &l->fd, &m);
        if (!rc)
            rc = fl_loop_watch_start(&n->loop, &l->w, l->fd, FL_LOOP_READ, accept_io, l);
        if (rc) {
            snprintf(n->res->error, sizeof(n->res->error), "proxy: %.200s", m.text);
            return rc;
        }
    }
    return 0;
}

void nem_proxy_stop(nem *n)
{
    nem_proxy *px = n->proxy;
    if (!px)
        return;
    for (int i = 0; i < PX_PAIRS_MAX; i++)
        pair_close(&px->pair[i], false);
    for (uint32_t i = 1; i <= n->count; i++)
        for (int k = 0; k < 2; k++) {
            px_listener *l = k ? &px->cl[i] : &px->l[i];
            if (l->fd >= 0 && l->px) {
                fl_loop_watch_stop(&n->loop, &l->w);
                close(l->fd);
            }
        }
    free(px);
    n->proxy = NULL;
}

static bool carries(const px_pair *p, uint32_t a, uint32_t b)
{
    return (p->up.src == a && p->up.dst == b) || (p->up.src == b && p->up.dst == a);
}

void nem_proxy_set(nem *n, uint32_t a, uint32_t b, const nem_link_rule *rule)
{
    bool was_cut = n->rule[a][b].cut;
    n->rule[a][b] = *rule;
    nem_proxy *px = n->proxy;
    if (!px)
        return;
    for (int i = 0; i < PX_PAIRS_MAX; i++) {
        px_pair *p = &px->pair[i];
        if (!p->used || !carries(p, a, b))
            continue;
        if (was_cut && !rule->cut) {
            pair_close(p, true); /* what the cut held is lost, as in a broken connection */
            continue;
        }
        pump(&p->up);
        if (p->used)
            pump(&p->down);
    }
}

void nem_proxy_drop(nem *n, uint32_t a, uint32_t b)
{
    nem_proxy *px = n->proxy;
    for (int i = 0; px && i < PX_PAIRS_MAX; i++)
        if (px->pair[i].used && carries(&px->pair[i], a, b))
            pair_close(&px->pair[i], true);
}
