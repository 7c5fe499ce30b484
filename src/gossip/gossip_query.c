/* gossip_query.c: the agent query protocol's codec and its blocking client (gossip_query.h). */
#include "faultline/gossip_query.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void fl_gq_encode_header(fl_buf *b, uint8_t type, uint32_t nonce, uint32_t agent, uint32_t offset,
                         uint32_t total)
{
    fl_buf_put_u8(b, FL_GQ_MAGIC);
    fl_buf_put_u8(b, FL_GQ_VERSION);
    fl_buf_put_u8(b, type);
    fl_buf_put_u8(b, 0);
    fl_buf_put_u32(b, nonce);
    fl_buf_put_u32(b, agent);
    fl_buf_put_u32(b, offset);
    fl_buf_put_u32(b, total);
}

void fl_gq_encode_entry(fl_buf *b, size_t head, const fl_gq_entry *e)
{
    FL_ASSERT(b->len >= head + FL_GQ_HEADER_BYTES && b->data[head + 3] < FL_GQ_PAGE_MAX);
    b->data[head + 3]++;
    fl_buf_put_u32(b, e->id);
    fl_buf_put_u32(b, e->incarnation);
    fl_buf_put_u8(b, (uint8_t)e->state);
    int fam = e->has_addr ? e->addr.ss.ss_family : AF_UNSPEC;
    if (fam == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&e->addr.ss;
        fl_buf_put_u8(b, 4);
        fl_buf_put_u16(b, ntohs(a->sin_port));
        fl_buf_put_bytes(b, &a->sin_addr, 4);
    } else if (fam == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&e->addr.ss;
        fl_buf_put_u8(b, 6);
        fl_buf_put_u16(b, ntohs(a->sin6_port));
        fl_buf_put_bytes(b, &a->sin6_addr, 16);
    } else {
        fl_buf_put_u8(b, 0);
        fl_buf_put_u16(b, 0);
    }
}

void fl_gq_encode_stats(fl_buf *b, const uint64_t *stats)
{
    for (int i = 0; i < FL_GQ_STATS_N; i++)
        fl_buf_put_u64(b, stats[i]);
}

static int decode_entry(fl_reader *r, fl_gq_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->id = fl_read_u32(r);
    e->incarnation = fl_read_u32(r);
    uint8_t st = fl_read_u8(r), fam = fl_read_u8(r);
    uint16_t port = fl_read_u16(r);
    if (r->err)
        return r->err;
    if (st > FL_SWIM_LEFT || e->id == FL_NODE_NONE)
        return fl_reader_fail(r, FL_ECORRUPT);
    e->state = (fl_swim_state)st;
    if (fam == 4) {
        const uint8_t *ip = fl_read_bytes(r, 4);
        struct sockaddr_in *a = (struct sockaddr_in *)&e->addr.ss;
        if (!ip)
            return r->err;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        memcpy(&a->sin_addr, ip, 4);
        e->addr.len = sizeof(*a);
        e->has_addr = true;
    } else if (fam == 6) {
        const uint8_t *ip = fl_read_bytes(r, 16);
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&e->addr.ss;
        if (!ip)
            return r->err;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        memcpy(&a->sin6_addr, ip, 16);
        e->addr.len = sizeof(*a);
        e->has_addr = true;
    } else if (fam != 0 || port != 0) {
        return fl_reader_fail(r, FL_ECORRUPT);
    }
    return 0;
}

int fl_gq_decode(const uint8_t *p, size_t len, fl_gq_packet *out)
{
    if (len > FL_SWIM_PACKET_BYTES_MAX)
        return FL_ETOOBIG;
    fl_reader r;
    fl_reader_init(&r, p, len);
    uint8_t magic = fl_read_u8(&r), version = fl_read_u8(&r);
    out->type = fl_read_u8(&r);
    uint8_t count = fl_read_u8(&r);
    out->nonce = fl_read_u32(&r);
    out->agent = fl_read_u32(&r);
    out->offset = fl_read_u32(&r);
    out->total = fl_read_u32(&r);
    out->n = 0;
    if (r.err)
        return r.err;
    if (magic != FL_GQ_MAGIC)
        return FL_ECORRUPT;
    if (version != FL_GQ_VERSION)
        return FL_EVERSION;
    if (out->type < FL_GQ_WHOIS || out->type > FL_GQ_STATS_REPLY)
        return FL_ETYPE;
    if (count > FL_GQ_PAGE_MAX || (count && out->type != FL_GQ_MEMBERS_REPLY))
        return FL_ETOOBIG;
    if (out->type == FL_GQ_STATS_REPLY)
        for (int i = 0; i < FL_GQ_STATS_N; i++)
            out->stats[i] = fl_read_u64(&r);
    for (uint32_t i = 0; i < count && !r.err; i++)
        if (decode_entry(&r, &out->e[out->n++]))
            break;
    if (r.err)
        return r.err;
    return fl_reader_left(&r) ? FL_ECORRUPT : 0;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One try: send, then wait up to timeout_ms for the reply with our nonce. */
static int ask_once(int fd, const fl_addr *agent, const fl_gossip_key *key, const fl_buf *req,
                    uint32_t nonce, uint8_t want, int timeout_ms, fl_gq_packet *reply)
{
    uint8_t buf[FL_SWIM_PACKET_BYTES_MAX + 1];
    memcpy(buf, req->data, req->len);
    size_t len = key && key->set ? fl_gossip_seal(key, buf, req->len, wall_ms()) : req->len;
    if (sendto(fd, buf, len, 0, (const struct sockaddr *)&agent->ss, agent->len) < 0)
        return FL_EIO;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    while (poll(&pf, 1, timeout_ms) > 0) { /* a stray datagram restarts the wait: bounded by */
        ssize_t n = recv(fd, buf, sizeof(buf), 0); /* the caller's tries */
        if (n < 0)
            return FL_EIO;
        size_t plen = (size_t)n;
        if (key && key->set && fl_gossip_open(key, NULL, buf, plen, wall_ms(), &plen) != 0)
            continue;
        if (fl_gq_decode(buf, plen, reply) == 0 && reply->nonce == nonce && reply->type == want)
            return 0;
    }
    return FL_ETIMEOUT;
}

int fl_gq_ask(const fl_addr *agent, const fl_gossip_key *key, uint8_t type, uint32_t offset,
              int timeout_ms, fl_gq_packet *reply, fl_errmsg *m)
{
    int fd = socket(agent->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "udp socket");
    /* connect: the kernel then only passes us datagrams from the agent */
    if (connect(fd, (const struct sockaddr *)&agent->ss, agent->len) < 0) {
        int e = errno;
        close(fd);
        return fl_errmsg_errno(m, FL_EIO, e, "udp connect");
    }
    uint32_t nonce = 0;
    if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
        nonce = (uint32_t)wall_ms();
    fl_buf req;
    fl_buf_init(&req);
    fl_gq_encode_header(&req, type, nonce, 0, offset, 0);
    int rc = FL_ETIMEOUT;
    for (int t = 0; t < 3 && rc == FL_ETIMEOUT; t++)
        rc = ask_once(fd, agent, key, &req, nonce, (uint8_t)(type + 1), timeout_ms, reply);
    fl_buf_free(&req);
    close(fd);
    char a[FL_ADDR_STR_MAX];
    if (rc == FL_ETIMEOUT)
        return fl_errmsg_set(m, rc, "no answer from %s (not running, or a different key?)",
                             fl_addr_format(agent, a));
    if (rc)
        return fl_errmsg_set(m, rc, "query to %s failed", fl_addr_format(agent, a));
    return 0;
}
