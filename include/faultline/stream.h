/* stream.h: a byte stream over a connected non-blocking TCP socket, plain or TLS, for the
 * event loop. The server's client connections, the peer transport and the bench client read
 * and write through it the same way with or without TLS.
 *
 * A TLS stream starts with a handshake that runs inside the loop: call fl_stream_handshake
 * from the fd's callback until fl_stream_ready() (fl_stream_read / fl_stream_write also drive
 * it, and move no bytes until it is done), and watch the fd for fl_stream_interest(s, want):
 * the directions the caller wants plus the one the TLS engine waits for. On the server side a
 * first byte that cannot start a TLS record (a plaintext client) fails the handshake at once
 * with that reason.
 *
 * Reads: fl_stream_read never leaves decrypted bytes inside the stream where epoll cannot see
 * them, as long as the caller's buffer holds at least FL_STREAM_READ_MIN bytes (one TLS record:
 * OpenSSL without read-ahead takes one record at a time from the socket, and a buffer of a
 * record's size takes all of it). So level-triggered watching works as for a plain socket.
 *
 * Errors: "would block" is not one (0 bytes); FL_ESHUTDOWN when the other side closed;
 * FL_EIO with the reason (OpenSSL's, or the certificate check's) in m otherwise. */
#ifndef FAULTLINE_STREAM_H
#define FAULTLINE_STREAM_H

#include "faultline/errmsg.h"
#include "faultline/tls.h"

#define FL_STREAM_READ_MIN 16384 /* the largest TLS record's payload */

enum {
    FL_STREAM_SERVER = 1u << 0, /* TLS: the accepting side */
    FL_STREAM_VERIFY = 1u << 1, /* TLS: the other side must present a certificate of the CA */
};

typedef struct fl_stream {
    int fd;
    void *ssl;                       /* SSL *, NULL for a plain stream */
    uint32_t flags;                  /* FL_STREAM_* */
    uint32_t want;                   /* FL_LOOP_READ / FL_LOOP_WRITE the TLS engine waits for */
    bool ready;                      /* plain, or the handshake is done */
    char peer_name[FL_TLS_NAME_MAX]; /* the verified peer certificate's Common Name, or "" */
} fl_stream;

/* A plain stream on fd (which the stream now owns). */
void fl_stream_plain(fl_stream *s, int fd);
/* A TLS stream on fd (owned by the stream from here, also on failure, when it is closed).
 * Returns 0, FL_ENOMEM or FL_EUNSUPPORTED (a build without OpenSSL). */
int fl_stream_tls(fl_stream *s, int fd, const fl_tls *t, uint32_t flags, fl_errmsg *m);
/* Moves the handshake on. 0 (check fl_stream_ready) or an error with its reason in m. */
int fl_stream_handshake(fl_stream *s, fl_errmsg *m);
static inline bool fl_stream_ready(const fl_stream *s)
{
    return s->ready;
}
static inline bool fl_stream_is_tls(const fl_stream *s)
{
    return s->ssl != NULL;
}
/* The loop interest for a caller that wants `want` (FL_LOOP_READ | FL_LOOP_WRITE). */
uint32_t fl_stream_interest(const fl_stream *s, uint32_t want);
/* Reads up to n bytes (see the rule on n above): 0 with *got >= 0, FL_ESHUTDOWN, FL_EIO. */
int fl_stream_read(fl_stream *s, void *p, size_t n, size_t *got, fl_errmsg *m);
/* Writes up to n bytes: 0 with *put in [0, n], or FL_EIO. After a TLS write put nothing,
 * the next call must offer at least the same bytes again (more may follow them). */
int fl_stream_write(fl_stream *s, const void *p, size_t n, size_t *put, fl_errmsg *m);
/* Frees the TLS state and closes the fd. Idempotent. */
void fl_stream_close(fl_stream *s);

#endif
