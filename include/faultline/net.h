/* net.h: non-blocking TCP helpers for the event loop: "HOST:PORT" parsing, listen, accept,
 * connect, read and write.
 *
 * Every socket made here is non-blocking and close-on-exec; connected sockets have
 * TCP_NODELAY (the runtime sends small request/response messages and batches itself).
 * "Would block" is not an error: accept gives fd -1, read/write report 0 bytes. OS failures
 * return FL_EIO with the call, the address and strerror in the message. */
#ifndef FAULTLINE_NET_H
#define FAULTLINE_NET_H

#include "faultline/errmsg.h"
#include "faultline/types.h"

#include <sys/socket.h>

typedef struct fl_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} fl_addr;

#define FL_ADDR_STR_MAX 64 /* "[ffff:...:ffff]:65535" fits */

/* Parses "HOST:PORT": HOST is an IPv4 literal ("127.0.0.1"), "localhost" (127.0.0.1) or a
 * bracketed IPv6 literal ("[::1]"); PORT is decimal 0..65535 (0: any port, for listen).
 * No DNS lookups. Returns 0, FL_ESYNTAX or FL_ERANGE with the reason in m. */
int fl_addr_parse(const char *s, fl_addr *out, fl_errmsg *m);
/* Formats a as "HOST:PORT" into out (FL_ADDR_STR_MAX bytes) and returns out. */
const char *fl_addr_format(const fl_addr *a, char *out);
/* The port of a (host byte order). */
uint16_t fl_addr_port(const fl_addr *a);

/* Binds a listening socket on a (SO_REUSEADDR) with the given backlog. */
int fl_net_listen(const fl_addr *a, int backlog, int *fd_out, fl_errmsg *m);
/* The local address of a socket (to learn the port the kernel chose for port 0). */
int fl_net_local_addr(int fd, fl_addr *out, fl_errmsg *m);
/* Accepts one connection: 0 with *fd_out >= 0, or 0 with *fd_out == -1 when none is
 * pending; FL_EIO on failure. Transient per-connection errors (ECONNABORTED) count as
 * "none pending". */
int fl_net_accept(int lfd, int *fd_out, fl_addr *peer, fl_errmsg *m);
/* Starts a non-blocking connect. On 0 the connection is in progress (or done): watch the fd
 * for FL_LOOP_WRITE, then call fl_net_connect_finish. */
int fl_net_connect(const fl_addr *a, int *fd_out, fl_errmsg *m);
/* After the fd became writable: 0 if connected, FL_EIO with the reason (e.g. connection
 * refused) otherwise. */
int fl_net_connect_finish(int fd, fl_errmsg *m);

/* Reads up to n bytes: 0 with *got > 0, or 0 with *got == 0 if it would block;
 * FL_ESHUTDOWN when the peer closed (EOF); FL_EIO on error. */
int fl_net_read(int fd, void *p, size_t n, size_t *got, fl_errmsg *m);
/* Writes up to n bytes (never raises SIGPIPE): 0 with *put in [0, n]; FL_EIO on error
 * (including the peer having reset the connection). */
int fl_net_write(int fd, const void *p, size_t n, size_t *put, fl_errmsg *m);

#endif
