/* resp.c: the incremental RESP2 request parser (resp.h, docs/resp.md).
 *
 * State machine, one state per thing expected next (the function that handles it):
 *
 *   START --'*'--> MB_COUNT (step_mb_count) --N>0--> BULK_HDR (step_bulk_hdr)
 *     |                 |N<=0: empty, back to START        |
 *     |                                                     v
 *     +--other--> INLINE (step_inline)          BULK_DATA (step_bulk_data)
 *                   | line split into args                  |
 *                   v                                       v
 *                 command ready <--argc == N-- BULK_CRLF (step_bulk_crlf) --more--> BULK_HDR
 *
 * Invariants:
 *  1. Consumed bytes are never needed again: a partial header or inline line is left
 *     unconsumed (line_scanned remembers how much of it was searched), a partial bulk payload
 *     is copied into data as it arrives.
 *  2. data.len <= max(request_bytes_max, inline_len_max) + args_max (argument bytes plus a
 *     NUL each), and argc <= args_max, whatever the input.
 *  3. Once err is set, every call returns it without reading input. */
#include "faultline/resp.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_START, S_MB_COUNT, S_BULK_HDR, S_BULK_DATA, S_BULK_CRLF, S_INLINE };
enum { STEP_OK = 0, STEP_MORE = 1 }; /* or a negative error */

#define HEADER_LINE_MAX 64 /* "*N\r\n" / "$N\r\n": a valid one is under 24 bytes */

static void limits_defaults(fl_resp_limits *l, const fl_resp_limits *in)
{
    *l = in ? *in : (fl_resp_limits){0};
    if (!l->args_max)
        l->args_max = FL_RESP_ARGS_MAX_DEFAULT;
    if (!l->bulk_len_max)
        l->bulk_len_max = FL_RESP_BULK_LEN_MAX_DEFAULT;
    if (!l->inline_len_max)
        l->inline_len_max = FL_RESP_INLINE_LEN_MAX_DEFAULT;
    if (!l->request_bytes_max)
        l->request_bytes_max = FL_RESP_REQUEST_BYTES_MAX_DEFAULT;
}

void fl_resp_parser_init(fl_resp_parser *p, const fl_resp_limits *lim)
{
    memset(p, 0, sizeof(*p));
    limits_defaults(&p->lim, lim);
    fl_buf_init(&p->data);
    /* an inline line's words are bounded by the line, a multibulk's by request_bytes_max */
    size_t bytes_max = p->lim.request_bytes_max > p->lim.inline_len_max ? p->lim.request_bytes_max
                                                                        : p->lim.inline_len_max;
    p->data.cap_max = bytes_max + p->lim.args_max;
}

void fl_resp_parser_free(fl_resp_parser *p)
{
    fl_buf_free(&p->data);
    free(p->spans);
    free(p->argv);
    p->spans = NULL;
    p->argv = NULL;
    p->spans_cap = 0;
}

static void command_reset(fl_resp_parser *p)
{
    p->state = S_START;
    p->ready = false;
    p->argc = 0;
    p->argc_want = 0;
    p->line_scanned = 0;
    fl_buf_reset(&p->data);
}

void fl_resp_parser_reset(fl_resp_parser *p)
{
    command_reset(p);
    p->err = 0;
    p->errmsg[0] = 0;
}

static int fail(fl_resp_parser *p, int code, const char *what)
{
    snprintf(p->errmsg, sizeof(p->errmsg), "ERR Protocol error: %s", what);
    p->err = code;
    return code;
}

/* Parses a strict decimal int64 ("0", "-12"; no '+', no leading zeros, no "-0", no
 * spaces), as Redis's string2ll. Returns false on anything else. */
static bool parse_i64(const uint8_t *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == n || n - i > 19 || (s[i] == '0' && (n - i > 1 || neg))) /* "01", "-0" */
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits cannot overflow uint64 */
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* Finds the end of the line starting at in. Returns STEP_OK with *line_len (without the
 * '\n') and *total (with it), STEP_MORE if no '\n' yet, or an error when more than max bytes
 * arrived without one. */
static int find_line(fl_resp_parser *p, const uint8_t *in, size_t n, size_t max,
                     const char *too_big, size_t *line_len, size_t *total)
{
    if (p->line_scanned > n)
        p->line_scanned = 0; /* the caller broke the contract: search again, stay safe */
    const uint8_t *nl = memchr(in + p->line_scanned, '\n', n - p->line_scanned);
    if (!nl) {
        p->line_scanned = n;
        return n > max ? fail(p, FL_ETOOBIG, too_big) : STEP_MORE;
    }
    *line_len = (size_t)(nl - in);
    *total = *line_len + 1;
    p->line_scanned = 0;
    if (*line_len > max)
        return fail(p, FL_ETOOBIG, too_big);
    return STEP_OK;
}

/* A "*N\r\n" or "$N\r\n" line: the number between the prefix byte and the CRLF. */
static int header_number(fl_resp_parser *p, const uint8_t *in, size_t n, const char *too_big,
                         const char *invalid, int64_t *v, size_t *used)
{
    size_t line_len, total;
    int rc = find_line(p, in, n, HEADER_LINE_MAX, too_big, &line_len, &total);
    if (rc)
        return rc;
    if (line_len < 2 || in[line_len - 1] != '\r' || !parse_i64(in + 1, line_len - 2, v))
        return fail(p, FL_ESYNTAX, invalid);
    *used = total;
    return STEP_OK;
}

static int step_mb_count(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    int64_t count;
    int rc = header_number(p, in, n, "too big mbulk count string", "invalid multibulk length",
                           &count, used);
    if (rc)
        return rc;
    if (count > (int64_t)p->lim.args_max || count > INT32_MAX)
        return fail(p, FL_ETOOBIG, "invalid multibulk length");
    if (count <= 0) { /* an empty command: skipped, as Redis does */
        p->state = S_START;
        return STEP_OK;
    }
    p->argc_want = count;
    p->state = S_BULK_HDR;
    return STEP_OK;
}

/* Records an argument of len bytes that will be written at data's end; returns its bytes. */
static uint8_t *arg_add(fl_resp_parser *p, size_t len)
{
    if (p->argc == p->spans_cap) {
        size_t cap = p->spans_cap ? p->spans_cap * 2 : 8;
        if (cap > p->lim.args_max)
            cap = p->lim.args_max;
        FL_ASSERT(cap > p->argc); /* callers check args_max first */
        fl_resp_span *s = realloc(p->spans, cap * sizeof(*s));
        if (!s)
            return NULL;
        p->spans = s;
        fl_resp_arg *a = realloc(p->argv, cap * sizeof(*a));
        if (!a)
            return NULL;
        p->argv = a;
        p->spans_cap = cap;
    }
    size_t off = p->data.len;
    uint8_t *dst = fl_buf_extend(&p->data, len + 1);
    if (!dst)
        return NULL;
    dst[len] = 0;
    p->spans[p->argc++] = (fl_resp_span){off, len};
    return dst;
}

static int step_bulk_hdr(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    if (in[0] != '$') {
        char what[64];
        snprintf(what, sizeof(what), "expected '$', got '%c'",
                 in[0] >= 32 && in[0] < 127 ? in[0] : '?');
        return fail(p, FL_ESYNTAX, what);
    }
    int64_t len;
    int rc =
        header_number(p, in, n, "too big bulk count string", "invalid bulk length", &len, used);
    if (rc)
        return rc;
    if (len < 0 || (uint64_t)len > p->lim.bulk_len_max)
        return fail(p, FL_ETOOBIG, "invalid bulk length");
    if ((size_t)len > p->lim.request_bytes_max - (p->data.len - p->argc))
        return fail(p, FL_ETOOBIG, "too big request");
    if (!arg_add(p, (size_t)len))
        return fail(p, FL_ENOMEM, "out of memory");
    p->data.len -= (size_t)len + 1; /* reserved; step_bulk_data fills it back in */
    p->bulk_left = (size_t)len;
    p->state = S_BULK_DATA;
    return STEP_OK;
}

static int step_bulk_data(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    size_t take = n < p->bulk_left ? n : p->bulk_left;
    memcpy(p->data.data + p->data.len, in, take);
    p->data.len += take;
    p->bulk_left -= take;
    *used = take;
    if (p->bulk_left == 0) {
        p->data.data[p->data.len++] = 0; /* room reserved by arg_add */
        p->crlf_left = 2;
        p->state = S_BULK_CRLF;
    }
    return STEP_OK;
}

static int step_bulk_crlf(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    *used = 0;
    while (p->crlf_left && *used < n) {
        uint8_t want = p->crlf_left == 2 ? '\r' : '\n';
        if (in[*used] != want)
            return fail(p, FL_ESYNTAX, "expected CRLF after bulk data");
        (*used)++;
        p->crlf_left--;
    }
    if (p->crlf_left)
        return STEP_OK;
    if ((int64_t)p->argc == p->argc_want)
        p->ready = true;
    else
        p->state = S_BULK_HDR;
    return STEP_OK;
}

/* ---- inline commands: words split on spaces, "double" and 'single' quotes ---- */

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Decodes the quoted part starting at s[*i] (the quote) onto out + *o, leaving *i after the
 * closing quote. Returns false if the quote is not closed on this line. */
static bool unquote(const uint8_t *s, size_t n, size_t *i, uint8_t *out, size_t *o)
{
    uint8_t q = s[(*i)++];
    while (*i < n) {
        uint8_t c = s[*i];
        if (c == q) {
            (*i)++;
            return true;
        }
        if (c == '\\' && *i + 1 < n) {
            uint8_t e = s[*i + 1];
            if (q == '\'') {
                c = e == '\'' ? '\'' : '\\';
                *i += e == '\'' ? 2 : 1;
            } else if (e == 'x' && *i + 3 < n && hex_digit(s[*i + 2]) >= 0 &&
                       hex_digit(s[*i + 3]) >= 0) {
                c = (uint8_t)(hex_digit(s[*i + 2]) * 16 + hex_digit(s[*i + 3]));
                *i += 4;
            } else {
                const char *from = "nrtba", *to = "\n\r\t\b\a";
                const char *k = e ? strchr(from, e) : NULL;
                c = k ? (uint8_t)to[k - from] : e;
                *i += 2;
            }
        } else {
            (*i)++;
        }
        out[(*o)++] = c;
    }
    return false;
}

/* Decodes one word at s[*i] (not a space) into out, as redis-cli and sdssplitargs do:
 * plain bytes and quoted parts may alternate (a"b c" is the word `ab c`), and a closing
 * quote must be followed by a space or the end of the line. */
static bool word(const uint8_t *s, size_t n, size_t *i, uint8_t *out, size_t *len)
{
    size_t o = 0;
    while (*i < n && !is_space(s[*i])) {
        if (s[*i] != '"' && s[*i] != '\'') {
            out[o++] = s[(*i)++];
            continue;
        }
        if (!unquote(s, n, i, out, &o) || (*i < n && !is_space(s[*i])))
            return false;
    }
    *len = o;
    return true;
}

/* Splits line into arguments. A word never decodes to more bytes than it spans, so
 * reserving the rest of the line bounds it; the reservation shrinks to the decoded size. */
static int split_inline(fl_resp_parser *p, const uint8_t *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n)
            return STEP_OK;
        if (p->argc == p->lim.args_max)
            return fail(p, FL_ETOOBIG, "too many arguments in inline request");
        size_t word_max = n - i, len = 0;
        uint8_t *dst = arg_add(p, word_max);
        if (!dst)
            return fail(p, FL_ENOMEM, "out of memory");
        if (!word(s, n, &i, dst, &len))
            return fail(p, FL_ESYNTAX, "unbalanced quotes in request");
        p->data.len -= word_max - len;
        p->spans[p->argc - 1].len = len;
        dst[len] = 0;
    }
}

static int step_inline(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    size_t line_len, total;
    /* + 1: the limit counts the command, not its CR */
    int rc =
        find_line(p, in, n, p->lim.inline_len_max + 1, "too big inline request", &line_len, &total);
    if (rc)
        return rc;
    *used = total;
    if (line_len && in[line_len - 1] == '\r')
        line_len--;
    if (line_len > p->lim.inline_len_max)
        return fail(p, FL_ETOOBIG, "too big inline request");
    rc = split_inline(p, in, line_len);
    if (rc)
        return rc;
    if (p->argc)
        p->ready = true;
    else
        p->state = S_START; /* blank line: skipped */
    return STEP_OK;
}

static int step(fl_resp_parser *p, const uint8_t *in, size_t n, size_t *used)
{
    *used = 0;
    switch (p->state) {
    case S_START:
        p->state = in[0] == '*' ? S_MB_COUNT : S_INLINE;
        return STEP_OK;
    case S_MB_COUNT:
        return step_mb_count(p, in, n, used);
    case S_BULK_HDR:
        return step_bulk_hdr(p, in, n, used);
    case S_BULK_DATA:
        return step_bulk_data(p, in, n, used);
    case S_BULK_CRLF:
        return step_bulk_crlf(p, in, n, used);
    case S_INLINE:
        return step_inline(p, in, n, used);
    }
    FL_UNREACHABLE();
}

static void command_publish(fl_resp_parser *p)
{
    for (size_t i = 0; i < p->argc; i++)
        p->argv[i] = (fl_resp_arg){p->data.data + p->spans[i].off, p->spans[i].len};
    p->commands++;
}

int fl_resp_parse(fl_resp_parser *p, const void *in, size_t len, size_t *consumed)
{
    const uint8_t *b = in;
    size_t pos = 0;
    *consumed = 0;
    if (p->err)
        return p->err;
    if (p->ready)
        command_reset(p);
    while (pos < len) {
        size_t used;
        int rc = step(p, b + pos, len - pos, &used);
        pos += used;
        *consumed = pos;
        if (rc < 0)
            return rc;
        if (p->ready) {
            command_publish(p);
            return FL_RESP_CMD;
        }
        if (rc == STEP_MORE)
            return 0;
        if (p->state == S_START)
            p->argc = 0; /* after a skipped empty command */
    }
    return 0;
}
