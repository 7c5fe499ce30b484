/* json_read.c: strict JSON parser into a caller-provided node array (json_read.h).
 *
 * Invariants: every node index handed out is < d->count <= d->nodes_max; recursion depth is
 * at most FL_JR_DEPTH_MAX; every input byte is read through peek(), which checks bounds. */
#include "faultline/json_read.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    fl_jr_doc *d;
    size_t pos;
    int depth;
} parser;

static int peek(const parser *p)
{
    return p->pos < p->d->len ? (unsigned char)p->d->text[p->pos] : -1;
}

static int fail(parser *p, const char *msg)
{
    p->d->err_off = p->pos;
    p->d->err_msg = msg;
    return FL_ESYNTAX;
}

static void skip_ws(parser *p)
{
    for (int c = peek(p); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(p))
        p->pos++;
}

static int new_node(parser *p, fl_jr_type type, uint32_t *idx)
{
    fl_jr_doc *d = p->d;
    if (d->count == d->nodes_max) {
        d->err_off = p->pos;
        d->err_msg = "too many values";
        return FL_ETOOBIG;
    }
    *idx = d->count++;
    fl_jr_node *n = &d->nodes[*idx];
    memset(n, 0, sizeof(*n));
    n->type = (uint8_t)type;
    n->off = (uint32_t)p->pos;
    return 0;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(p);
        if (c >= '0' && c <= '9')
            v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (unsigned)(c - 'A' + 10);
        else
            return fail(p, "bad \\u escape");
        p->pos++;
    }
    *out = v;
    return 0;
}

/* A \uXXXX escape (the backslash and 'u' consumed), with surrogate pairs checked. */
static int unicode_escape(parser *p)
{
    unsigned u;
    if (hex4(p, &u))
        return FL_ESYNTAX;
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail(p, "unpaired low surrogate");
    if (u < 0xD800 || u > 0xDBFF)
        return 0;
    if (peek(p) != '\\' || p->pos + 1 >= p->d->len || p->d->text[p->pos + 1] != 'u')
        return fail(p, "unpaired high surrogate");
    p->pos += 2;
    if (hex4(p, &u))
        return FL_ESYNTAX;
    if (u < 0xDC00 || u > 0xDFFF)
        return fail(p, "unpaired high surrogate");
    return 0;
}

static int parse_string(parser *p, uint32_t idx)
{
    fl_jr_node *n = &p->d->nodes[idx];
    p->pos++; /* opening quote */
    n->off = (uint32_t)p->pos;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, "unterminated string");
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(p, "control character in string");
        p->pos++;
        if (c != '\\')
            continue;
        n->escaped = true;
        c = peek(p);
        p->pos++;
        if (c == 'u') {
            if (unicode_escape(p))
                return FL_ESYNTAX;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            p->pos--;
            return fail(p, "bad escape");
        }
    }
    n->len = (uint32_t)(p->pos - n->off);
    p->pos++; /* closing quote */
    return 0;
}

static void digits(parser *p)
{
    while (peek(p) >= '0' && peek(p) <= '9')
        p->pos++;
}

static int parse_number(parser *p, uint32_t idx)
{
    if (peek(p) == '-')
        p->pos++;
    int c = peek(p);
    if (c == '0') {
        p->pos++;
        if (peek(p) >= '0' && peek(p) <= '9')
            return fail(p, "leading zero in number");
    } else if (c >= '1' && c <= '9') {
        digits(p);
    } else {
        return fail(p, "bad number");
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return fail(p, "digit expected after '.'");
        digits(p);
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!(peek(p) >= '0' && peek(p) <= '9'))
            return fail(p, "digit expected in exponent");
        digits(p);
    }
    fl_jr_node *n = &p->d->nodes[idx];
    n->len = (uint32_t)(p->pos - n->off);
    return 0;
}

static int parse_literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->d->len - p->pos < n || memcmp(p->d->text + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    return 0;
}

static int parse_value(parser *p, uint32_t *idx);

/* Elements (arrays) or key: value members (objects) up to the closing bracket. */
static int parse_container(parser *p, uint32_t idx, bool object)
{
    char close = object ? '}' : ']';
    p->pos++;
    if (++p->depth > FL_JR_DEPTH_MAX) {
        p->d->err_off = p->pos;
        p->d->err_msg = "nesting too deep";
        return FL_ETOOBIG;
    }
    skip_ws(p);
    uint32_t prev = FL_JR_NONE, count = 0;
    if (peek(p) == close) {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        uint32_t child;
        int rc;
        skip_ws(p);
        if (object) {
            if (peek(p) != '"')
                return fail(p, "member name expected");
            if ((rc = parse_value(p, &child)))
                return rc;
            skip_ws(p);
            if (peek(p) != ':')
                return fail(p, "':' expected");
            p->pos++;
            skip_ws(p);
            if (prev != FL_JR_NONE)
                p->d->nodes[prev].next = child;
            prev = child;
        }
        uint32_t value;
        if ((rc = parse_value(p, &value)))
            return rc;
        if (prev != FL_JR_NONE)
            p->d->nodes[prev].next = value;
        prev = value;
        count++;
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == close)
            break;
        if (c != ',') {
            p->pos--;
            return fail(p, object ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
    p->d->nodes[idx].count = count;
    p->depth--;
    return 0;
}

static int parse_value(parser *p, uint32_t *idx)
{
    int c = peek(p), rc;
    fl_jr_type t = c == '{'   ? FL_JR_OBJECT
                   : c == '[' ? FL_JR_ARRAY
                   : c == '"' ? FL_JR_STRING
                   : c == 'n' ? FL_JR_NULL
                   : c == 't' ? FL_JR_TRUE
                   : c == 'f' ? FL_JR_FALSE
                              : FL_JR_NUMBER;
    if (c < 0)
        return fail(p, "value expected");
    if ((rc = new_node(p, t, idx)))
        return rc;
    switch (t) {
    case FL_JR_OBJECT:
        return parse_container(p, *idx, true);
    case FL_JR_ARRAY:
        return parse_container(p, *idx, false);
    case FL_JR_STRING:
        return parse_string(p, *idx);
    case FL_JR_NULL:
        return parse_literal(p, "null");
    case FL_JR_TRUE:
        return parse_literal(p, "true");
    case FL_JR_FALSE:
        return parse_literal(p, "false");
    case FL_JR_NUMBER:
        return parse_number(p, *idx);
    }
    return fail(p, "value expected");
}

int fl_jr_parse(fl_jr_doc *d, const char *text, size_t len, fl_jr_node *nodes, uint32_t nodes_max)
{
    memset(d, 0, sizeof(*d));
    d->text = text;
    d->len = len;
    d->nodes = nodes;
    d->nodes_max = nodes_max;
    parser p = {.d = d, .pos = 0, .depth = 0};
    if (len > UINT32_MAX)
        return fail(&p, "document too large");
    skip_ws(&p);
    uint32_t root;
    int rc = parse_value(&p, &root);
    if (rc)
        return rc;
    skip_ws(&p);
    if (p.pos != len)
        return fail(&p, "unexpected data after the value");
    return 0;
}

/* ---- accessors ---- */

uint32_t fl_jr_get(const fl_jr_doc *d, uint32_t obj, const char *key)
{
    if (obj >= d->count || d->nodes[obj].type != FL_JR_OBJECT || !d->nodes[obj].count)
        return FL_JR_NONE;
    uint32_t k = obj + 1;
    while (k != FL_JR_NONE) {
        uint32_t v = d->nodes[k].next;
        if (fl_jr_str_eq(d, k, key))
            return v;
        k = d->nodes[v].next;
    }
    return FL_JR_NONE;
}

uint32_t fl_jr_at(const fl_jr_doc *d, uint32_t arr, uint32_t i)
{
    if (arr >= d->count || d->nodes[arr].type != FL_JR_ARRAY || i >= d->nodes[arr].count)
        return FL_JR_NONE;
    uint32_t e = arr + 1;
    while (i-- > 0)
        e = d->nodes[e].next;
    return e;
}

int fl_jr_int(const fl_jr_doc *d, uint32_t n, int64_t *out)
{
    if (n >= d->count || d->nodes[n].type != FL_JR_NUMBER)
        return FL_ETYPE;
    const fl_jr_node *x = &d->nodes[n];
    const char *s = d->text + x->off;
    bool neg = s[0] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (uint32_t i = neg; i < x->len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FL_ETYPE; /* fraction or exponent */
        uint64_t dgt = (uint64_t)(s[i] - '0');
        if (v > (lim - dgt) / 10)
            return FL_ERANGE;
        v = v * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int fl_jr_double(const fl_jr_doc *d, uint32_t n, double *out)
{
    if (n >= d->count || d->nodes[n].type != FL_JR_NUMBER)
        return FL_ETYPE;
    char tmp[64];
    const fl_jr_node *x = &d->nodes[n];
    if (x->len >= sizeof(tmp))
        return FL_ETYPE;
    memcpy(tmp, d->text + x->off, x->len);
    tmp[x->len] = 0;
    *out = strtod(tmp, NULL);
    return 0;
}

static unsigned hexval(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes an already validated string slice; out has room for len bytes (an escape never
 * produces more bytes than it occupies). Returns the output length. */
static size_t unescape(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] != '\\') {
            out[o++] = s[i++];
            continue;
        }
        char c = s[i + 1];
        i += 2;
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            out[o++] = to[strchr(from, c) - from];
            continue;
        }
        unsigned cp = hexval(s + i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hexval(s + i + 2) - 0xDC00);
            i += 6;
        }
        o += put_utf8(out + o, cp);
    }
    return o;
}

int fl_jr_str(const fl_jr_doc *d, uint32_t n, char *out, size_t cap, size_t *len_out)
{
    if (n >= d->count || d->nodes[n].type != FL_JR_STRING)
        return FL_ETYPE;
    const fl_jr_node *x = &d->nodes[n];
    const char *s = d->text + x->off;
    size_t len;
    if (!x->escaped) {
        if (cap < x->len)
            return FL_ETOOBIG;
        memcpy(out, s, x->len);
        len = x->len;
    } else {
        if (cap < x->len)
            return FL_ETOOBIG;
        len = unescape(s, x->len, out);
    }
    if (len < cap)
        out[len] = 0;
    if (len_out)
        *len_out = len;
    return 0;
}

bool fl_jr_str_eq(const fl_jr_doc *d, uint32_t n, const char *s)
{
    if (n >= d->count || d->nodes[n].type != FL_JR_STRING)
        return false;
    const fl_jr_node *x = &d->nodes[n];
    size_t sl = strlen(s);
    if (!x->escaped)
        return sl == x->len && memcmp(d->text + x->off, s, sl) == 0;
    char tmp[256];
    size_t len;
    if (x->len > sizeof(tmp) || fl_jr_str(d, n, tmp, sizeof(tmp), &len))
        return false;
    return len == sl && memcmp(tmp, s, sl) == 0;
}
