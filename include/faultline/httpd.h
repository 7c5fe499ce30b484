/* httpd.h: a tiny HTTP/1.1 responder on the event loop, for GET /metrics (metrics.h).
 *
 * It reads one request head per connection (at most FL_HTTPD_REQUEST_MAX bytes, else 431),
 * answers GET or HEAD through the caller's callback (other methods: 405), writes the response
 * without blocking and closes the connection ("Connection: close": no keep-alive, no request
 * bodies). Bounds: FL_HTTPD_CONNS_MAX connections (one more is closed at once); a connection
 * that has not finished within FL_HTTPD_IDLE_NS is closed. Nothing here blocks the loop. */
#ifndef FAULTLINE_HTTPD_H
#define FAULTLINE_HTTPD_H

#include "faultline/buf.h"
#include "faultline/loop.h"
#include "faultline/net.h"

#define FL_HTTPD_REQUEST_MAX 8192
#define FL_HTTPD_CONNS_MAX   16
#define FL_HTTPD_IDLE_NS     (10 * FL_NS_PER_S)

/* Fills body for path (without the query string) and returns the HTTP status (200, 404...);
 * *content_type defaults to text/plain. */
typedef int (*fl_httpd_fn)(void *arg, const char *path, fl_buf *body, const char **content_type);

typedef struct fl_httpd_conn fl_httpd_conn; /* private (httpd.c) */

typedef struct fl_httpd {
    fl_loop *loop;
    int lfd;
    fl_loop_watch lw;
    fl_httpd_conn *conns[FL_HTTPD_CONNS_MAX];
    fl_httpd_fn fn;
    void *arg;
    fl_loop_timer_id sweep_timer;
    uint64_t requests, refused; /* answered; closed for the bound, a bad request or idling */
} fl_httpd;

/* Listens on a and serves through fn. Returns 0 or FL_EIO / FL_EFULL with the reason in m. */
int fl_httpd_start(fl_httpd *h, fl_loop *loop, const fl_addr *a, fl_httpd_fn fn, void *arg,
                   fl_errmsg *m);
/* The bound address (its port, when a asked for port 0). */
int fl_httpd_local_addr(const fl_httpd *h, fl_addr *out, fl_errmsg *m);
/* Closes the listener and every connection. Idempotent after a start. */
void fl_httpd_stop(fl_httpd *h);

#endif
