/* stream.c: plain and TLS byte streams on non-blocking sockets (stream.h).
 *
 * Invariants: a stream owns its fd from creation to fl_stream_close; a TLS stream moves no
 * application bytes before its handshake is done (ready); OpenSSL's error queue is cleared
 * before every SSL call, so the error read after it is that call's. */
#include "faultline/stream.h"

#include "faultline/error.h"
#include "faultline/loop.h"
#include "faultline/net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef FL_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

void fl_stream_plain(fl_stream *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->ready = true;
}

uint32_t fl_stream_interest(const fl_stream *s, uint32_t want)
{
    if (!s->ssl)
        return want;
    if (!s->ready) /* only what the handshake waits for, or a writable socket spins the loop */
        return s->want ? s->want : FL_LOOP_READ;
    return want | s->want;
}

void fl_stream_close(fl_stream *s)
{
#ifdef FL_HAVE_OPENSSL
    if (s->ssl)
        SSL_free(s->ssl);
#endif
    s->ssl = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->ready = false;
}

#ifndef FL_HAVE_OPENSSL

int fl_stream_tls(fl_stream *s, int fd, const fl_tls *t, uint32_t flags, fl_errmsg *m)
{
    (void)t;
    (void)flags;
    fl_stream_plain(s, fd);
    fl_stream_close(s);
    return fl_errmsg_set(m, FL_EUNSUPPORTED, "TLS: this build has no OpenSSL");
}

int fl_stream_handshake(fl_stream *s, fl_errmsg *m)
{
    (void)s;
    (void)m;
    return 0;
}

int fl_stream_read(fl_stream *s, void *p, size_t n, size_t *got, fl_errmsg *m)
{
    return fl_net_read(s->fd, p, n, got, m);
}

int fl_stream_write(fl_stream *s, const void *p, size_t n, size_t *put, fl_errmsg *m)
{
    return fl_net_write(s->fd, p, n, put, m);
}

#else

int fl_stream_tls(fl_stream *s, int fd, const fl_tls *t, uint32_t flags, fl_errmsg *m)
{
    fl_stream_plain(s, fd);
    s->ready = false;
    s->flags = flags;
    ERR_clear_error();
    SSL *ssl = t->ctx ? SSL_new(t->ctx) : NULL;
    if (!ssl || !SSL_set_fd(ssl, fd)) {
        if (ssl)
            SSL_free(ssl);
        fl_stream_close(s);
        return fl_errmsg_set(m, FL_ENOMEM, "TLS: cannot make a session");
    }
    int mode = flags & FL_STREAM_VERIFY ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
    if ((flags & FL_STREAM_VERIFY) && (flags & FL_STREAM_SERVER))
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_set_verify(ssl, mode, NULL);
    if (flags & FL_STREAM_SERVER)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    s->ssl = ssl;
    s->want = flags & FL_STREAM_SERVER ? FL_LOOP_READ : FL_LOOP_WRITE;
    return 0;
}

/* The reason of a failed SSL call: the certificate check's verdict when there is one (it says
 * "certificate has expired", where OpenSSL's queue only says "certificate verify failed"),
 * else the first error in the queue, else the errno of a failed syscall. */
static int tls_fail(fl_stream *s, int err, const char *what, fl_errmsg *m)
{
    char why[200] = "";
    long v = SSL_get_verify_result(s->ssl);
    unsigned long e = ERR_peek_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    if (v != X509_V_OK && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        snprintf(why, sizeof(why), "certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
    else if (!e && err == SSL_ERROR_SYSCALL)
        snprintf(why, sizeof(why), "%s", errno ? strerror(errno) : "connection closed");
    else if (!e)
        snprintf(why, sizeof(why), "SSL error %d", err);
    ERR_clear_error();
    return fl_errmsg_set(m, FL_EIO, "TLS %s: %s", what, why);
}

/* A TLS client's first record is a handshake record (content type 22). Anything else on a
 * TLS port is refused with a reason a person can act on, instead of OpenSSL's "wrong version
 * number". */
static int check_first_byte(fl_stream *s, fl_errmsg *m)
{
    uint8_t b;
    ssize_t r = recv(s->fd, &b, 1, MSG_PEEK);
    if (r == 1 && b != 22)
        return fl_errmsg_set(m, FL_EIO,
                             "not a TLS handshake (first byte 0x%02x '%c'): a plaintext client "
                             "on a TLS port?",
                             b, b >= 32 && b < 127 ? (char)b : '.');
    if (r == 0)
        return fl_errmsg_set(m, FL_ESHUTDOWN, "TLS handshake: connection closed");
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return fl_errmsg_errno(m, FL_EIO, errno, "recv(fd %d)", s->fd);
    return 0;
}

static void keep_peer_name(fl_stream *s)
{
    X509 *cert = SSL_get1_peer_certificate(s->ssl);
    if (!cert)
        return;
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, s->peer_name,
                              sizeof(s->peer_name));
    X509_free(cert);
}

int fl_stream_handshake(fl_stream *s, fl_errmsg *m)
{
    if (s->ready)
        return 0;
    if ((s->flags & FL_STREAM_SERVER) && SSL_in_before(s->ssl)) {
        int rc = check_first_byte(s, m);
        if (rc)
            return rc;
    }
    ERR_clear_error();
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->ready = true;
        s->want = 0;
        keep_peer_name(s);
        return 0;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->want = e == SSL_ERROR_WANT_READ ? FL_LOOP_READ : FL_LOOP_WRITE;
        return 0;
    }
    return tls_fail(s, e, "handshake", m);
}

/* Would block, closed, or failed: what an SSL_read / SSL_write that returned r <= 0 means. */
static int io_result(fl_stream *s, int r, const char *what, fl_errmsg *m)
{
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        s->want = e == SSL_ERROR_WANT_READ ? FL_LOOP_READ : FL_LOOP_WRITE;
        return 1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return fl_errmsg_set(m, FL_ESHUTDOWN, "TLS %s(fd %d): peer closed", what, s->fd);
    return tls_fail(s, e, what, m);
}

int fl_stream_read(fl_stream *s, void *p, size_t n, size_t *got, fl_errmsg *m)
{
    *got = 0;
    if (!s->ssl)
        return fl_net_read(s->fd, p, n, got, m);
    int rc = fl_stream_handshake(s, m);
    if (rc || !s->ready)
        return rc;
    s->want = 0;
    /* Takes whole records while a whole one fits, so none is left half read (stream.h). */
    while (*got < n && (*got == 0 || n - *got >= FL_STREAM_READ_MIN || SSL_pending(s->ssl))) {
        size_t room = n - *got;
        ERR_clear_error();
        int r = SSL_read(s->ssl, (uint8_t *)p + *got, room > INT32_MAX ? INT32_MAX : (int)room);
        if (r > 0) {
            *got += (size_t)r;
            continue;
        }
        rc = io_result(s, r, "read", m);
        if (rc == 1)
            return 0;
        return *got ? 0 : rc; /* the bytes first; the error comes again on the next call */
    }
    return 0;
}

int fl_stream_write(fl_stream *s, const void *p, size_t n, size_t *put, fl_errmsg *m)
{
    *put = 0;
    if (!s->ssl)
        return fl_net_write(s->fd, p, n, put, m);
    int rc = fl_stream_handshake(s, m);
    if (rc || !s->ready || n == 0)
        return rc;
    s->want = 0;
    ERR_clear_error();
    int r = SSL_write(s->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) {
        *put = (size_t)r;
        return 0;
    }
    rc = io_result(s, r, "write", m);
    return rc == 1 ? 0 : rc;
}

#endif
