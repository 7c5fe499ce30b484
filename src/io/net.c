/* net.c: non-blocking TCP sockets and address parsing (net.h). Invariant: every fd this
 * file returns is non-blocking and close-on-exec, and is closed here on any failure path. */
#include "faultline/net.h"

#include "faultline/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int parse_port(const char *s, const char *whole, uint16_t *port, fl_errmsg *m)
{
    if (!*s)
        return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": missing port after ':'", whole);
    uint32_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": port \"%s\" is not a number",
                                 whole, s);
        v = v * 10 + (uint32_t)(*p - '0');
        if (v > 65535)
            return fl_errmsg_set(m, FL_ERANGE, "address \"%s\": port %s is out of range 0-65535",
                                 whole, s);
    }
    *port = (uint16_t)v;
    return 0;
}

static int parse_host6(const char *s, char *host, size_t host_size, const char **port, fl_errmsg *m)
{
    const char *close_br = strchr(s, ']');
    if (!close_br)
        return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": missing ']' after IPv6 host", s);
    size_t n = (size_t)(close_br - s - 1);
    if (n >= host_size)
        return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": IPv6 host too long", s);
    memcpy(host, s + 1, n);
    host[n] = 0;
    if (close_br[1] != ':')
        return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": expected ':PORT' after ']'", s);
    *port = close_br + 2;
    return 0;
}

int fl_addr_parse(const char *s, fl_addr *out, fl_errmsg *m)
{
    char host[64];
    const char *port_s = "";
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return fl_errmsg_set(m, FL_ESYNTAX, "empty address (expected HOST:PORT)");
    if (s[0] == '[') {
        int rc = parse_host6(s, host, sizeof(host), &port_s, m);
        if (rc)
            return rc;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return fl_errmsg_set(m, FL_ESYNTAX,
                                 "address \"%s\": missing ':PORT' (expected HOST:PORT)", s);
        size_t n = (size_t)(colon - s);
        if (n == 0 || n >= sizeof(host))
            return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": bad host length", s);
        memcpy(host, s, n);
        host[n] = 0;
        port_s = colon + 1;
    }
    uint16_t port;
    int rc = parse_port(port_s, s, &port, m);
    if (rc)
        return rc;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
    if (s[0] == '[') {
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return fl_errmsg_set(m, FL_ESYNTAX, "address \"%s\": \"%s\" is not an IPv6 address", s,
                                 host);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        out->len = sizeof(*a6);
        return 0;
    }
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return fl_errmsg_set(m, FL_ESYNTAX,
                             "address \"%s\": host \"%s\" is not an IPv4 address (no DNS lookups)",
                             s, host);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    out->len = sizeof(*a4);
    return 0;
}

const char *fl_addr_format(const fl_addr *a, char *out)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
        snprintf(out, FL_ADDR_STR_MAX, "[%s]:%u", host, (unsigned)ntohs(a6->sin6_port));
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
        snprintf(out, FL_ADDR_STR_MAX, "%s:%u", host, (unsigned)ntohs(a4->sin_port));
    }
    return out;
}

uint16_t fl_addr_port(const fl_addr *a)
{
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

static int fail_close(int fd, fl_errmsg *m, int errnum, const char *call, const fl_addr *a)
{
    char s[FL_ADDR_STR_MAX];
    close(fd);
    return fl_errmsg_errno(m, FL_EIO, errnum, "%s(%s)", call, fl_addr_format(a, s));
}

int fl_net_listen(const fl_addr *a, int backlog, int *fd_out, fl_errmsg *m)
{
    *fd_out = -1;
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return fail_close(fd, m, errno, "setsockopt(SO_REUSEADDR)", a);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        return fail_close(fd, m, errno, "bind", a);
    if (listen(fd, backlog) < 0)
        return fail_close(fd, m, errno, "listen", a);
    *fd_out = fd;
    return 0;
}

int fl_net_local_addr(int fd, fl_addr *out, fl_errmsg *m)
{
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->ss);
    if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "getsockname(fd %d)", fd);
    return 0;
}

static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
}

int fl_net_accept(int lfd, int *fd_out, fl_addr *peer, fl_errmsg *m)
{
    fl_addr tmp;
    fl_addr *p = peer ? peer : &tmp;
    memset(p, 0, sizeof(*p));
    p->len = sizeof(p->ss);
    *fd_out = -1;
    int fd = accept4(lfd, (struct sockaddr *)&p->ss, &p->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
            return 0;
        return fl_errmsg_errno(m, FL_EIO, errno, "accept4(fd %d)", lfd);
    }
    set_nodelay(fd);
    *fd_out = fd;
    return 0;
}

int fl_net_connect(const fl_addr *a, int *fd_out, fl_errmsg *m)
{
    *fd_out = -1;
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "socket");
    set_nodelay(fd);
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS)
        return fail_close(fd, m, errno, "connect", a);
    *fd_out = fd;
    return 0;
}

int fl_net_connect_finish(int fd, fl_errmsg *m)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return fl_errmsg_errno(m, FL_EIO, errno, "getsockopt(SO_ERROR, fd %d)", fd);
    if (soerr)
        return fl_errmsg_errno(m, FL_EIO, soerr, "connect(fd %d)", fd);
    return 0;
}

int fl_net_read(int fd, void *p, size_t n, size_t *got, fl_errmsg *m)
{
    *got = 0;
    for (;;) {
        ssize_t r = read(fd, p, n);
        if (r > 0) {
            *got = (size_t)r;
            return 0;
        }
        if (r == 0)
            return n == 0 ? 0 : fl_errmsg_set(m, FL_ESHUTDOWN, "read(fd %d): peer closed", fd);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return fl_errmsg_errno(m, FL_EIO, errno, "read(fd %d)", fd);
    }
}

int fl_net_write(int fd, const void *p, size_t n, size_t *put, fl_errmsg *m)
{
    *put = 0;
    for (;;) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r >= 0) {
            *put = (size_t)r;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return fl_errmsg_errno(m, FL_EIO, errno, "send(fd %d)", fd);
    }
}
