/* resp.h: RESP2 (the Redis protocol) request parsing and reply writing, and the RESP3
 * reply types a connection gets after HELLO 3.
 *
 * The parser is incremental: bytes may arrive split at any offset, and one buffer may hold
 * several pipelined commands. It accepts multibulk requests ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
 * and inline commands ("PING\r\n", with redis-cli style quoting), enforces configurable
 * limits, and reports protocol errors with Redis's texts ("ERR Protocol error: invalid
 * multibulk length"). It never asserts on input. docs/resp.md is the reference.
 *
 * Usage, with in/len the unparsed bytes the connection has buffered:
 *
 *     size_t used;
 *     int rc;
 *     while ((rc = fl_resp_parse(&p, in, len, &used)) == FL_RESP_CMD) {
 *         handle(p.argc, p.argv);        // valid until the next fl_resp_parse call
 *         in += used; len -= used;
 *     }
 *     in += used; len -= used;           // rc == 0: need more bytes; keep in/len and
 *                                        // present them again, followed by what arrives
 *     if (rc < 0) reply p.errmsg, then close the connection (the parser stays failed)
 *
 * Bytes that fl_resp_parse did not consume (a partial line) must be presented again at the
 * start of the next call; consumed bytes are copied into the parser, so the caller may
 * discard them. Memory: the parser owns its storage; it grows up to the limits. */
#ifndef FAULTLINE_RESP_H
#define FAULTLINE_RESP_H

#include "faultline/buf.h"
#include "faultline/types.h"

#define FL_RESP_CMD 1 /* fl_resp_parse: a command is ready in argc/argv */

#define FL_RESP_ARGS_MAX_DEFAULT          1024
#define FL_RESP_BULK_LEN_MAX_DEFAULT      (((size_t)1 << 20) + 4096) /* 1 MiB + slack */
#define FL_RESP_INLINE_LEN_MAX_DEFAULT    ((size_t)64 << 10)         /* as Redis */
#define FL_RESP_REQUEST_BYTES_MAX_DEFAULT ((size_t)4 << 20)
#define FL_RESP_ERRMSG_SIZE               128

typedef struct fl_resp_limits {
    size_t args_max;          /* arguments per command (multibulk count or inline words) */
    size_t bulk_len_max;      /* bytes of one bulk argument */
    size_t inline_len_max;    /* bytes of one inline command line */
    size_t request_bytes_max; /* sum of the argument lengths of one command */
} fl_resp_limits;

typedef struct fl_resp_arg {
    const uint8_t *p; /* followed by a NUL (not counted in len), for convenience */
    size_t len;
} fl_resp_arg;

typedef struct fl_resp_span {
    size_t off;
    size_t len;
} fl_resp_span;

typedef struct fl_resp_parser {
    fl_resp_limits lim;
    int state;
    int err;             /* latched protocol error, 0 if none */
    bool ready;          /* a command was returned; reset on the next call */
    int64_t argc_want;   /* multibulk count */
    size_t bulk_left;    /* payload bytes of the current bulk still to come */
    size_t crlf_left;    /* bytes of the CRLF after the current bulk still to come */
    size_t line_scanned; /* bytes of the pending (unconsumed) line already searched */
    fl_buf data;         /* argument bytes of the command being built, NUL after each */
    fl_resp_span *spans; /* spans_cap, grows up to args_max */
    fl_resp_arg *argv;   /* filled when a command is ready */
    size_t spans_cap;
    size_t argc;
    uint64_t commands;                /* commands returned so far */
    char errmsg[FL_RESP_ERRMSG_SIZE]; /* "ERR Protocol error: ..." when err != 0 */
} fl_resp_parser;

/* Initializes p with lim (NULL or zero fields = defaults). */
void fl_resp_parser_init(fl_resp_parser *p, const fl_resp_limits *lim);
void fl_resp_parser_free(fl_resp_parser *p);
/* Clears any latched error and partial command (for tests and fuzzing). */
void fl_resp_parser_reset(fl_resp_parser *p);

/* Parses from in[0..len). Returns FL_RESP_CMD with p->argc >= 1 and p->argv set, 0 when
 * more bytes are needed, or a negative code with p->errmsg set: FL_ESYNTAX (malformed),
 * FL_ETOOBIG (a limit was exceeded), FL_ENOMEM. *consumed is set in every case. Empty
 * commands ("*0\r\n", blank inline lines) are skipped, as Redis does. */
int fl_resp_parse(fl_resp_parser *p, const void *in, size_t len, size_t *consumed);

/* Reply writers. They append to b; failures latch in b->err (check once at the end). */
void fl_resp_put_simple(fl_buf *b, const char *s);         /* "+s\r\n"; CR/LF in s become spaces */
void fl_resp_put_error(fl_buf *b, const char *s);          /* "-s\r\n"; s should start "ERR ..." */
void fl_resp_put_int(fl_buf *b, int64_t v);                /* ":v\r\n" */
void fl_resp_put_bulk(fl_buf *b, const void *p, size_t n); /* "$n\r\n<bytes>\r\n" */
void fl_resp_put_bulk_str(fl_buf *b, const char *s);
void fl_resp_put_null(fl_buf *b);            /* "$-1\r\n" (nil bulk) */
void fl_resp_put_array(fl_buf *b, size_t n); /* "*n\r\n", then n replies */
void fl_resp_put_null_array(fl_buf *b);      /* "*-1\r\n" */
/* RESP3 (after HELLO 3): null, map header, verbatim string ("txt" text), double. */
void fl_resp3_put_null(fl_buf *b);          /* "_\r\n" */
void fl_resp3_put_map(fl_buf *b, size_t n); /* "%n\r\n", then n keys and n values */
void fl_resp3_put_verbatim(fl_buf *b, const void *p, size_t n); /* "=n+4\r\ntxt:..." */
void fl_resp3_put_double(fl_buf *b, double v); /* ",v\r\n" (inf, -inf, nan as RESP3 says) */
void fl_resp3_put_set(fl_buf *b, size_t n);    /* "~n\r\n", then n replies */
/* ",text\r\n": a double already written as text (CR and LF become spaces) */
void fl_resp3_put_double_text(fl_buf *b, const void *p, size_t n);
/* Encodes a request as a multibulk array (what a client sends). */
void fl_resp_put_command(fl_buf *b, size_t argc, const fl_resp_arg *argv);

#endif
