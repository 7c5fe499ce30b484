/* history_edn.c: Jepsen's EDN histories, read (fl_history_read_edn, history.h).
 *
 *   {:process 0, :type :invoke, :f :cas, :value [1 4], :time 1234}
 *   {:process :nemesis, :type :info, :f :start, :value nil}
 *
 * Reads a sequence of top-level forms: each map is an event, and a top-level vector or list
 * of maps (a whole history printed as one vector) is read element by element. The subset of
 * EDN understood: nil, true, false, integers, other numbers (kept, but not as values),
 * strings, characters, keywords, symbols, maps, vectors, lists, sets, comments, #_ discard
 * and #tag forms (the tag is ignored). Unknown map keys (:index, :error, ...) are ignored.
 * Nothing here asserts on input: errors carry the line and the reason. */
#include "faultline/history.h"

#include "faultline/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDN_DEPTH_MAX 64
#define EDN_NODES_MAX (64u << 20)

typedef enum edn_type {
    EDN_NIL,
    EDN_BOOL,
    EDN_INT,
    EDN_NUMBER, /* float, ratio, bigdec: parsed, not usable as a value */
    EDN_STRING,
    EDN_CHAR,
    EDN_KEYWORD, /* off/len exclude the ':' */
    EDN_SYMBOL,
    EDN_MAP,
    EDN_VECTOR,
    EDN_LIST,
    EDN_SET,
} edn_type;

typedef struct edn_node {
    uint8_t type;
    bool escaped;
    uint32_t next;  /* next sibling, 0 = none */
    uint32_t count; /* children */
    uint32_t off;
    uint32_t len;
    uint32_t line;
    int64_t i;
} edn_node;

typedef struct edn_parser {
    const char *text;
    size_t len;
    size_t pos;
    uint32_t line;
    int depth;
    edn_node *nodes;
    uint32_t count;
    uint32_t cap;
    fl_history_error *err;
    bool tuples; /* Jepsen's independent keys: :value [key value] */
} edn_parser;

static int edn_fail(edn_parser *p, const char *fmt, ...)
{
    if (!p->err)
        return FL_ESYNTAX;
    p->err->line = p->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
    return FL_ESYNTAX;
}

static int peek(const edn_parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static void skip_ws(edn_parser *p)
{
    for (;;) {
        int c = peek(p);
        if (c == '\n') {
            p->line++;
            p->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
            p->pos++;
        } else if (c == ';') {
            while (peek(p) >= 0 && peek(p) != '\n')
                p->pos++;
        } else {
            return;
        }
    }
}

static bool sym_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c > 0 && strchr(".*+!-_?$%&=<>/:#'", c)) || c >= 0x80;
}

static int new_node(edn_parser *p, edn_type t, uint32_t *idx)
{
    if (p->count == p->cap) {
        if (p->cap >= EDN_NODES_MAX)
            return edn_fail(p, "too many values in one form");
        uint32_t cap = p->cap ? p->cap * 2 : 256;
        edn_node *n = realloc(p->nodes, cap * sizeof(*n));
        if (!n)
            return FL_ENOMEM;
        p->nodes = n;
        p->cap = cap;
    }
    *idx = p->count++;
    edn_node *n = &p->nodes[*idx];
    memset(n, 0, sizeof(*n));
    n->type = (uint8_t)t;
    n->off = (uint32_t)p->pos;
    n->line = p->line;
    return 0;
}

static int parse_form(edn_parser *p, uint32_t *idx);

static int parse_coll(edn_parser *p, edn_type t, char close, uint32_t *idx)
{
    int rc = new_node(p, t, idx);
    if (rc)
        return rc;
    if (++p->depth > EDN_DEPTH_MAX)
        return edn_fail(p, "nesting too deep");
    uint32_t prev = 0, count = 0;
    for (;;) {
        skip_ws(p);
        if (peek(p) < 0)
            return edn_fail(p, "unterminated collection (missing '%c')", close);
        if (peek(p) == close)
            break;
        if (peek(p) == ')' || peek(p) == ']' || peek(p) == '}')
            return edn_fail(p, "unexpected '%c'", peek(p));
        uint32_t child;
        if ((rc = parse_form(p, &child)))
            return rc;
        if (child == 0)
            continue; /* discarded with #_ */
        if (prev)
            p->nodes[prev].next = child;
        prev = child;
        count++;
    }
    p->pos++;
    p->depth--;
    if (t == EDN_MAP && count % 2)
        return edn_fail(p, "a map needs an even number of forms");
    p->nodes[*idx].count = count;
    return 0;
}

static int parse_string(edn_parser *p, uint32_t *idx)
{
    int rc = new_node(p, EDN_STRING, idx);
    if (rc)
        return rc;
    p->pos++;
    p->nodes[*idx].off = (uint32_t)p->pos;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return edn_fail(p, "unterminated string");
        if (c == '"')
            break;
        if (c == '\n')
            p->line++;
        if (c == '\\') {
            p->nodes[*idx].escaped = true;
            p->pos++;
            c = peek(p);
            if (c < 0 || !strchr("\"\\ntrbfu", c))
                return edn_fail(p, "bad escape in string");
        }
        p->pos++;
    }
    p->nodes[*idx].len = (uint32_t)(p->pos - p->nodes[*idx].off);
    p->pos++;
    return 0;
}

/* A number, nil/true/false, or a symbol. */
static int parse_atom(edn_parser *p, uint32_t *idx)
{
    size_t a = p->pos;
    while (sym_char(peek(p)))
        p->pos++;
    size_t n = p->pos - a;
    const char *s = p->text + a;
    if (!n)
        return edn_fail(p, "unexpected character '%c'", peek(p));
    edn_type t = EDN_SYMBOL;
    int64_t v = 0;
    bool digit = s[0] >= '0' && s[0] <= '9';
    bool sign_digit = n > 1 && (s[0] == '-' || s[0] == '+') && s[1] >= '0' && s[1] <= '9';
    if (digit || sign_digit) {
        char tmp[32], *end;
        if (n >= sizeof(tmp))
            return edn_fail(p, "number too long: %.*s", (int)(n > 40 ? 40 : n), s);
        memcpy(tmp, s, n);
        tmp[n] = 0;
        t = EDN_INT;
        errno = 0;
        long long ll = strtoll(tmp, &end, 10);
        if (*end == 'N' && end[1] == 0)
            end++;
        if (*end || errno)
            t = EDN_NUMBER;
        v = ll;
    } else if (n == 3 && !memcmp(s, "nil", 3)) {
        t = EDN_NIL;
    } else if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5))) {
        t = EDN_BOOL;
    }
    int rc = new_node(p, t, idx);
    if (rc)
        return rc;
    p->nodes[*idx].off = (uint32_t)a;
    p->nodes[*idx].len = (uint32_t)n;
    p->nodes[*idx].i = v;
    return 0;
}

static int parse_form(edn_parser *p, uint32_t *idx);

/* '#': a set, a discard, or a tagged form. Sets *idx to 0 for a discarded form. */
static int dispatch(edn_parser *p, uint32_t *idx)
{
    p->pos++;
    int c = peek(p);
    if (c == '{')
        return p->pos++, parse_coll(p, EDN_SET, '}', idx);
    if (c == '_') {
        p->pos++;
        skip_ws(p);
        uint32_t mark = p->count, ignored;
        int rc = parse_form(p, &ignored);
        p->count = mark;
        *idx = 0;
        return rc;
    }
    if (!sym_char(c))
        return edn_fail(p, "bad '#' dispatch");
    while (sym_char(peek(p)))
        p->pos++;
    skip_ws(p);
    return parse_form(p, idx);
}

static int parse_dispatch(edn_parser *p, uint32_t *idx)
{
    if (++p->depth > EDN_DEPTH_MAX) /* #_ and #tag chains recurse too */
        return edn_fail(p, "nesting too deep");
    int rc = dispatch(p, idx);
    p->depth--;
    return rc;
}

static int parse_form(edn_parser *p, uint32_t *idx)
{
    int c = peek(p);
    switch (c) {
    case '{':
        return p->pos++, parse_coll(p, EDN_MAP, '}', idx);
    case '[':
        return p->pos++, parse_coll(p, EDN_VECTOR, ']', idx);
    case '(':
        return p->pos++, parse_coll(p, EDN_LIST, ')', idx);
    case '"':
        return parse_string(p, idx);
    case '#':
        return parse_dispatch(p, idx);
    case ':': {
        p->pos++;
        size_t a = p->pos;
        while (sym_char(peek(p)))
            p->pos++;
        if (p->pos == a)
            return edn_fail(p, "empty keyword");
        int rc = new_node(p, EDN_KEYWORD, idx);
        if (!rc) {
            p->nodes[*idx].off = (uint32_t)a;
            p->nodes[*idx].len = (uint32_t)(p->pos - a);
        }
        return rc;
    }
    case '\\': {
        int rc = new_node(p, EDN_CHAR, idx);
        p->pos++;
        while (!rc && sym_char(peek(p)))
            p->pos++;
        return rc;
    }
    default:
        if (c < 0)
            return edn_fail(p, "unexpected end of input");
        return parse_atom(p, idx);
    }
}

/* ---- from a map form to an event ---- */

static bool kw_is(const edn_parser *p, const edn_node *n, const char *s)
{
    size_t len = strlen(s);
    return n->type == EDN_KEYWORD && n->len == len && !memcmp(p->text + n->off, s, len);
}

/* Interns the unescaped text of a string, or the text of a keyword / symbol. */
static int intern_text(edn_parser *p, fl_history *h, const edn_node *n, uint32_t *id)
{
    const char *s = p->text + n->off;
    if (!n->escaped)
        return fl_history_intern(h, s, n->len, id);
    char *tmp = malloc(n->len + 1);
    if (!tmp)
        return FL_ENOMEM;
    size_t o = 0;
    for (uint32_t i = 0; i < n->len; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n->len) {
            c = s[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c;
        }
        tmp[o++] = c;
    }
    int rc = fl_history_intern(h, tmp, o, id);
    free(tmp);
    return rc;
}

static int edn_scalar(edn_parser *p, fl_history *h, const edn_node *n, fl_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (n->type) {
    case EDN_NIL:
        v->kind = FL_VALUE_NIL;
        return 0;
    case EDN_INT:
        v->kind = FL_VALUE_INT;
        v->i = n->i;
        return 0;
    case EDN_STRING:
        v->kind = FL_VALUE_STR;
        return intern_text(p, h, n, &v->str);
    default:
        return edn_fail(p, "value of the wrong type '%.*s' (expected nil, integer or string)",
                        (int)(n->len > 40 ? 40 : n->len), p->text + n->off);
    }
}

static int edn_value(edn_parser *p, fl_history *h, uint32_t vi, fl_event *ev)
{
    const edn_node *n = &p->nodes[vi];
    if (n->type != EDN_VECTOR && n->type != EDN_LIST)
        return edn_scalar(p, h, n, &ev->value);
    if (n->count != 2)
        return edn_fail(p, ":value: a vector must be a pair [expected new]");
    ev->pair = true;
    uint32_t a = vi + 1, b = p->nodes[a].next;
    int rc = edn_scalar(p, h, &p->nodes[a], &ev->value);
    return rc ? rc : edn_scalar(p, h, &p->nodes[b], &ev->value2);
}

static int edn_key(edn_parser *p, fl_history *h, const edn_node *n, fl_event *ev)
{
    if (n->type == EDN_NIL)
        return 0;
    if (n->type == EDN_STRING || n->type == EDN_KEYWORD || n->type == EDN_INT ||
        n->type == EDN_SYMBOL)
        return intern_text(p, h, n, &ev->key);
    return edn_fail(p, ":key must be a string, keyword or integer");
}

static int edn_type_f(edn_parser *p, const edn_node *t, const edn_node *f, fl_event *ev)
{
    static const char *const types[] = {"invoke", "ok", "fail", "info"};
    bool found = false;
    for (int i = 0; t && i < 4 && !found; i++)
        if (kw_is(p, t, types[i])) {
            ev->type = (uint8_t)i;
            found = true;
        }
    if (!found)
        return edn_fail(p, ":type must be :invoke, :ok, :fail or :info");
    fl_op_f op;
    if (!f || (f->type != EDN_KEYWORD && f->type != EDN_STRING) || f->escaped ||
        !fl_op_f_parse(p->text + f->off, f->len, &op))
        return edn_fail(p, ":f must be one of :read :write :cas :get :put :append :delete "
                           ":incr");
    ev->f = (uint8_t)op;
    return 0;
}

/* Jepsen's independent keys: *value is a [key value] tuple; takes the key and moves *value
 * to the inner value. */
static int edn_tuple(edn_parser *p, fl_history *h, uint32_t *value, fl_event *ev)
{
    const edn_node *t = &p->nodes[*value];
    if ((t->type != EDN_VECTOR && t->type != EDN_LIST) || t->count != 2)
        return edn_fail(p, ":value must be a [key value] tuple (independent keys)");
    uint32_t k = *value + 1;
    *value = p->nodes[k].next;
    return edn_key(p, h, &p->nodes[k], ev);
}

static int edn_full_value(edn_parser *p, fl_history *h, uint32_t value, fl_event *ev)
{
    int rc = p->tuples ? edn_tuple(p, h, &value, ev) : 0;
    return rc ? rc : edn_value(p, h, value, ev);
}

/* The value of a fail or info completion is whatever the client wrote (:timed-out, a map,
 * a string): the op did not happen or may have, as its invocation said, so it is not judged
 * (Jepsen). Kept when it is a value of ours, else left absent. */
static int edn_lenient(edn_parser *p, fl_history *h, uint32_t value, fl_event *ev)
{
    fl_history_error *err = p->err;
    p->err = NULL;
    int rc = edn_full_value(p, h, value, ev);
    p->err = err;
    if (rc != FL_ESYNTAX)
        return rc;
    ev->pair = false;
    memset(&ev->value, 0, sizeof(ev->value));
    memset(&ev->value2, 0, sizeof(ev->value2));
    return 0;
}

/* Reads the event in map node m; *skip is set for the nemesis. */
static int edn_event(edn_parser *p, fl_history *h, uint32_t m, fl_event *ev, bool *skip)
{
    memset(ev, 0, sizeof(*ev));
    ev->key = FL_KEY_NONE;
    ev->line = p->line = p->nodes[m].line;
    *skip = false;
    const edn_node *proc = NULL, *type = NULL, *f = NULL, *key = NULL, *time = NULL;
    uint32_t value = 0;
    for (uint32_t k = p->nodes[m].count ? m + 1 : 0; k; k = p->nodes[p->nodes[k].next].next) {
        uint32_t v = p->nodes[k].next;
        const edn_node *kn = &p->nodes[k];
        if (kw_is(p, kn, "process"))
            proc = &p->nodes[v];
        else if (kw_is(p, kn, "type"))
            type = &p->nodes[v];
        else if (kw_is(p, kn, "f"))
            f = &p->nodes[v];
        else if (kw_is(p, kn, "key"))
            key = &p->nodes[v];
        else if (kw_is(p, kn, "time"))
            time = &p->nodes[v];
        else if (kw_is(p, kn, "value"))
            value = v;
    }
    if (proc && kw_is(p, proc, "nemesis")) {
        *skip = true;
        return 0;
    }
    if (!proc || proc->type != EDN_INT)
        return edn_fail(p, ":process must be an integer (or :nemesis)");
    ev->process = proc->i;
    int rc = edn_type_f(p, type, f, ev);
    if (!rc && key)
        rc = edn_key(p, h, key, ev);
    if (!rc && value)
        rc = ev->type == FL_EV_FAIL || ev->type == FL_EV_INFO ? edn_lenient(p, h, value, ev)
                                                              : edn_full_value(p, h, value, ev);
    /* :time is informational (drawing): kept when it is a count of ns, else ignored */
    ev->time = time && time->type == EDN_INT && time->i >= 0 ? (fl_time_ns)time->i : 0;
    return rc;
}

static int edn_top(edn_parser *p, fl_history *h, uint32_t idx)
{
    const edn_node *n = &p->nodes[idx];
    fl_event ev;
    bool skip;
    if (n->type == EDN_MAP) {
        int rc = edn_event(p, h, idx, &ev, &skip);
        return rc || skip ? rc : fl_history_add(h, &ev);
    }
    if (n->type != EDN_VECTOR && n->type != EDN_LIST)
        return edn_fail(p, "expected a map (one event) or a vector of maps");
    for (uint32_t c = n->count ? idx + 1 : 0; c; c = p->nodes[c].next) {
        if (p->nodes[c].type != EDN_MAP)
            return p->line = p->nodes[c].line, edn_fail(p, "expected a map (one event)");
        int rc = edn_event(p, h, c, &ev, &skip);
        if (!rc && !skip)
            rc = fl_history_add(h, &ev);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_history_read_edn(fl_history *h, const char *text, size_t len, fl_history_error *err)
{
    return fl_history_read_edn_independent(h, text, len, false, err);
}

int fl_history_read_edn_independent(fl_history *h, const char *text, size_t len, bool tuples,
                                    fl_history_error *err)
{
    if (len > UINT32_MAX)
        return FL_ETOOBIG;
    edn_parser p = {.text = text, .len = len, .line = 1, .err = err, .tuples = tuples};
    int rc = 0;
    for (;;) {
        skip_ws(&p);
        if (peek(&p) < 0)
            break;
        p.count = 0;
        p.depth = 0;
        uint32_t idx;
        if ((rc = parse_form(&p, &idx)))
            break;
        if (p.count == 0)
            continue; /* #_ discarded */
        uint32_t line = p.line;
        if ((rc = edn_top(&p, h, idx)))
            break;
        p.line = line; /* edn_top points p.line at the events for errors */
    }
    free(p.nodes);
    return rc;
}

bool fl_history_looks_like_edn(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && text[i] && strchr(" \t\r\n,[", text[i]))
        i++;
    if (i < len && text[i] == '{') {
        i++;
        while (i < len && text[i] && strchr(" \t\r\n,", text[i]))
            i++;
        return i < len && text[i] == ':';
    }
    return i < len && (text[i] == ';' || text[i] == '#'); /* comment, #_ or #tag: EDN */
}
