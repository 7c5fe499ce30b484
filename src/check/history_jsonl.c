/* history_jsonl.c: the JSON-lines history format (DESIGN.md), read and written.
 *
 *   {"process":3,"type":"invoke","f":"cas","key":"k","value":[1,2],"time":1200}
 *
 * One object per line; blank lines are skipped; unknown members are ignored. "process" is an
 * integer, or "nemesis" (the line is skipped). "value" is null, an integer, a string, or for
 * cas a pair [expected, new]; in a fail or info completion it may be anything (not judged).
 * "key" is a string or an integer (kept as its decimal text). */
#include "faultline/history.h"

#include "faultline/error.h"
#include "faultline/json.h"
#include "faultline/json_read.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_NODES_MAX 256

typedef struct line_ctx {
    fl_history *h;
    fl_jr_doc *d;
    uint32_t line;
    fl_history_error *err;
} line_ctx;

static int line_fail(line_ctx *c, const char *fmt, ...)
{
    if (!c->err)
        return FL_ESYNTAX;
    c->err->line = c->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
    va_end(ap);
    return FL_ESYNTAX;
}

/* Interns string node n. */
static int intern_node(line_ctx *c, uint32_t n, uint32_t *id)
{
    const fl_jr_node *x = &c->d->nodes[n];
    if (!x->escaped) /* the common case: the bytes as they are in the line */
        return fl_history_intern(c->h, c->d->text + x->off, x->len, id);
    size_t cap = x->len + 1, len;
    char *tmp = malloc(cap);
    if (!tmp)
        return FL_ENOMEM;
    int rc = fl_jr_str(c->d, n, tmp, cap, &len);
    if (!rc)
        rc = fl_history_intern(c->h, tmp, len, id);
    free(tmp);
    return rc;
}

static int scalar_value(line_ctx *c, uint32_t n, fl_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (c->d->nodes[n].type) {
    case FL_JR_NULL:
        v->kind = FL_VALUE_NIL;
        return 0;
    case FL_JR_NUMBER:
        v->kind = FL_VALUE_INT;
        if (fl_jr_int(c->d, n, &v->i))
            return line_fail(c, "value: only integers are supported, not '%.*s'",
                             (int)c->d->nodes[n].len, c->d->text + c->d->nodes[n].off);
        return 0;
    case FL_JR_STRING:
        v->kind = FL_VALUE_STR;
        return intern_node(c, n, &v->str);
    default:
        return line_fail(c, "value of the wrong type (expected null, integer or string)");
    }
}

static int read_value(line_ctx *c, uint32_t n, fl_event *ev)
{
    if (n == FL_JR_NONE)
        return 0; /* absent: FL_VALUE_NONE */
    if (c->d->nodes[n].type != FL_JR_ARRAY)
        return scalar_value(c, n, &ev->value);
    if (c->d->nodes[n].count != 2)
        return line_fail(c, "value: a list must be a pair [expected, new]");
    ev->pair = true;
    int rc = scalar_value(c, fl_jr_at(c->d, n, 0), &ev->value);
    return rc ? rc : scalar_value(c, fl_jr_at(c->d, n, 1), &ev->value2);
}

/* The value of a fail or info completion is whatever the client wrote (an error, a keyword,
 * an object): the op did not happen or may have, as its invocation said, so its value is not
 * judged (Jepsen). Kept when it is a value of ours, else left absent. */
static int lenient_value(line_ctx *c, uint32_t n, fl_event *ev)
{
    fl_history_error *err = c->err;
    c->err = NULL;
    int rc = read_value(c, n, ev);
    c->err = err;
    if (rc == FL_ESYNTAX) {
        ev->pair = false;
        memset(&ev->value, 0, sizeof(ev->value));
        memset(&ev->value2, 0, sizeof(ev->value2));
        return 0;
    }
    return rc;
}

static int read_key(line_ctx *c, uint32_t n, fl_event *ev)
{
    ev->key = FL_KEY_NONE;
    if (n == FL_JR_NONE || c->d->nodes[n].type == FL_JR_NULL)
        return 0;
    if (c->d->nodes[n].type == FL_JR_STRING)
        return intern_node(c, n, &ev->key);
    int64_t k;
    if (fl_jr_int(c->d, n, &k))
        return line_fail(c, "key must be a string or an integer");
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "%" PRId64, k);
    return fl_history_intern(c->h, tmp, (size_t)len, &ev->key);
}

static int read_type_f(line_ctx *c, fl_event *ev)
{
    static const char *const types[] = {"invoke", "ok", "fail", "info"};
    uint32_t t = fl_jr_get(c->d, 0, "type"), f = fl_jr_get(c->d, 0, "f");
    bool found = false;
    for (int i = 0; i < 4 && !found; i++)
        if (fl_jr_str_eq(c->d, t, types[i])) {
            ev->type = (uint8_t)i;
            found = true;
        }
    if (!found)
        return line_fail(c, "\"type\" must be \"invoke\", \"ok\", \"fail\" or \"info\"");
    fl_op_f op;
    const fl_jr_node *fn = &c->d->nodes[f];
    if (f == FL_JR_NONE || fn->type != FL_JR_STRING || fn->escaped ||
        !fl_op_f_parse(c->d->text + fn->off, fn->len, &op))
        return line_fail(c, "\"f\" must be one of read, write, cas, get, put, append, delete, "
                            "incr");
    ev->f = (uint8_t)op;
    return 0;
}

/* Parses one non-blank line into an event; *skip is set for nemesis lines. */
static int read_line(line_ctx *c, fl_event *ev, bool *skip)
{
    memset(ev, 0, sizeof(*ev));
    ev->line = c->line;
    *skip = false;
    if (c->d->nodes[0].type != FL_JR_OBJECT)
        return line_fail(c, "expected a JSON object");
    uint32_t p = fl_jr_get(c->d, 0, "process");
    if (fl_jr_str_eq(c->d, p, "nemesis")) {
        *skip = true;
        return 0;
    }
    if (p == FL_JR_NONE || fl_jr_int(c->d, p, &ev->process))
        return line_fail(c, "\"process\" must be an integer (or \"nemesis\")");
    int rc = read_type_f(c, ev);
    if (!rc)
        rc = read_key(c, fl_jr_get(c->d, 0, "key"), ev);
    if (!rc && (ev->type == FL_EV_FAIL || ev->type == FL_EV_INFO))
        rc = lenient_value(c, fl_jr_get(c->d, 0, "value"), ev);
    else if (!rc)
        rc = read_value(c, fl_jr_get(c->d, 0, "value"), ev);
    uint32_t t = fl_jr_get(c->d, 0, "time");
    int64_t time = 0;
    if (!rc && t != FL_JR_NONE && (fl_jr_int(c->d, t, &time) || time < 0))
        return line_fail(c, "\"time\" must be a non-negative integer (ns)");
    ev->time = (fl_time_ns)time;
    return rc;
}

int fl_history_read_jsonl(fl_history *h, const char *text, size_t len, fl_history_error *err)
{
    fl_jr_node *nodes = malloc(LINE_NODES_MAX * sizeof(*nodes));
    if (!nodes)
        return FL_ENOMEM;
    size_t lines = 1; /* room for every line up front: one allocation, no copies */
    for (const char *q = text; (q = memchr(q, '\n', len - (size_t)(q - text))); q++)
        lines++;
    if (fl_history_reserve(h, h->count + lines)) {
        free(nodes);
        return FL_ENOMEM;
    }
    int rc = 0;
    uint32_t line = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        size_t a = pos;
        while (a < end && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        if (a < end) {
            fl_jr_doc d;
            line_ctx c = {.h = h, .d = &d, .line = line, .err = err};
            rc = fl_jr_parse(&d, text + pos, end - pos, nodes, LINE_NODES_MAX);
            if (rc) {
                rc = line_fail(&c, "column %zu: %s", d.err_off + 1, d.err_msg);
                break;
            }
            fl_event ev;
            bool skip;
            rc = read_line(&c, &ev, &skip);
            if (!rc && !skip)
                rc = fl_history_add(h, &ev);
        }
        pos = end + 1;
    }
    free(nodes);
    return rc;
}

/* ---- writer ---- */

static void write_value(const fl_history *h, fl_json *j, fl_value v)
{
    if (v.kind == FL_VALUE_INT) {
        fl_json_int(j, v.i);
    } else if (v.kind == FL_VALUE_STR) {
        size_t n;
        const char *s = fl_history_str(h, v.str, &n);
        fl_json_strn(j, s, n);
    } else {
        fl_json_null(j);
    }
}

void fl_history_write_event(const fl_history *h, const fl_event *ev, fl_buf *out)
{
    fl_json j;
    fl_json_init(&j, out, false);
    fl_json_obj_begin(&j);
    fl_json_kv_int(&j, "process", ev->process);
    fl_json_kv_str(&j, "type", fl_ev_type_name((fl_ev_type)ev->type));
    fl_json_kv_str(&j, "f", fl_op_f_name((fl_op_f)ev->f));
    if (ev->key != FL_KEY_NONE) {
        size_t n;
        const char *s = fl_history_str(h, ev->key, &n);
        fl_json_key(&j, "key");
        fl_json_strn(&j, s, n);
    }
    if (ev->pair || ev->value.kind != FL_VALUE_NONE) {
        fl_json_key(&j, "value");
        if (ev->pair)
            fl_json_arr_begin(&j);
        write_value(h, &j, ev->value);
        if (ev->pair) {
            write_value(h, &j, ev->value2);
            fl_json_arr_end(&j);
        }
    }
    fl_json_kv_uint(&j, "time", ev->time);
    fl_json_obj_end(&j);
    fl_buf_put_u8(out, '\n');
}

int fl_history_write_jsonl(const fl_history *h, fl_buf *out)
{
    for (size_t i = 0; i < h->count && !out->err; i++)
        fl_history_write_event(h, &h->events[i], out);
    return out->err;
}
