/* resp_reply.c: RESP2 and RESP3 reply writers and the request writer (resp.h). Invariant: every
 * writer emits one complete RESP value (or, for arrays, its header) or latches an error in the
 * buffer; a simple string or error line never contains CR or LF, whatever the caller passes. */
#include "faultline/resp.h"

#include <stdint.h>
#include <stdbool.h>
#include <math.h>
#include <string.h>

static void put_line(fl_buf *b, char type, const char *s)
{
    size_t n = strlen(s);
    uint8_t *p = fl_buf_extend(b, n + 3);
    if (!p)
        return;
    p[0] = (uint8_t)type;
    for (size_t i = 0; i < n; i++)
        p[1 + i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : (uint8_t)s[i];
    p[n + 1] = '\r';
    p[n + 2] = '\n';
}

/* type, the decimal of v (negative when neg), CR LF: the header of every bulk, array and
 * integer reply, written by hand (fl_buf_printf's vsnprintf cost a few % of the leader's CPU
 * under pipelined GETs). */
static void put_header(fl_buf *b, char type, bool neg, uint64_t v)
{
    char digits[20]; /* UINT64_MAX has 20 */
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    uint8_t *p = fl_buf_extend(b, 1 + (neg ? 1 : 0) + n + 2);
    if (!p)
        return;
    *p++ = (uint8_t)type;
    if (neg)
        *p++ = '-';
    while (n)
        *p++ = (uint8_t)digits[--n];
    p[0] = '\r';
    p[1] = '\n';
}

void fl_resp_put_simple(fl_buf *b, const char *s)
{
    put_line(b, '+', s);
}

void fl_resp_put_error(fl_buf *b, const char *s)
{
    put_line(b, '-', s);
}

void fl_resp_put_int(fl_buf *b, int64_t v)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    put_header(b, ':', v < 0, mag);
}

void fl_resp_put_bulk(fl_buf *b, const void *p, size_t n)
{
    put_header(b, '$', false, n);
    fl_buf_put_bytes(b, p, n);
    fl_buf_put_bytes(b, "\r\n", 2);
}

void fl_resp_put_bulk_str(fl_buf *b, const char *s)
{
    fl_resp_put_bulk(b, s, strlen(s));
}

void fl_resp_put_null(fl_buf *b)
{
    fl_buf_put_bytes(b, "$-1\r\n", 5);
}

void fl_resp_put_array(fl_buf *b, size_t n)
{
    put_header(b, '*', false, n);
}

void fl_resp_put_null_array(fl_buf *b)
{
    fl_buf_put_bytes(b, "*-1\r\n", 5);
}

void fl_resp_put_command(fl_buf *b, size_t argc, const fl_resp_arg *argv)
{
    fl_resp_put_array(b, argc);
    for (size_t i = 0; i < argc; i++)
        fl_resp_put_bulk(b, argv[i].p, argv[i].len);
}

void fl_resp3_put_null(fl_buf *b)
{
    fl_buf_put_bytes(b, "_\r\n", 3);
}

void fl_resp3_put_map(fl_buf *b, size_t n)
{
    put_header(b, '%', false, n);
}

void fl_resp3_put_verbatim(fl_buf *b, const void *p, size_t n)
{
    fl_buf_printf(b, "=%zu\r\ntxt:", n + 4);
    fl_buf_put_bytes(b, p, n);
    fl_buf_put_bytes(b, "\r\n", 2);
}

void fl_resp3_put_set(fl_buf *b, size_t n)
{
    put_header(b, '~', false, n);
}

void fl_resp3_put_double_text(fl_buf *b, const void *p, size_t n)
{
    uint8_t *d = fl_buf_extend(b, n + 3);
    if (!d)
        return;
    d[0] = ',';
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = ((const uint8_t *)p)[i];
        d[1 + i] = ch == '\r' || ch == '\n' ? ' ' : ch;
    }
    d[n + 1] = '\r';
    d[n + 2] = '\n';
}

void fl_resp3_put_double(fl_buf *b, double v)
{
    if (isnan(v))
        fl_buf_put_bytes(b, ",nan\r\n", 6);
    else if (isinf(v))
        fl_buf_put_str(b, v > 0 ? ",inf\r\n" : ",-inf\r\n");
    else
        fl_buf_printf(b, ",%.17g\r\n", v);
}
