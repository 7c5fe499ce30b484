/* timeline.c: the node timeline of a run (timeline.h): recording, and its JSON-lines form. */
#include "faultline/timeline.h"

#include "faultline/array.h"
#include "faultline/error.h"
#include "faultline/json_read.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_NODES_MAX 32

static const char *kinds[] = {"role", "crash", "restart", "pause", "resume"};
static const char *roles[] = {"follower", "pre-candidate", "candidate", "leader", "learner"};
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == FL_TL_KINDS, "a name per kind");
_Static_assert(sizeof(roles) / sizeof(roles[0]) == FL_TL_ROLES, "a name per role");

void fl_timeline_init(fl_timeline *t)
{
    memset(t, 0, sizeof(*t));
}

void fl_timeline_free(fl_timeline *t)
{
    free(t->ev);
    memset(t, 0, sizeof(*t));
}

int fl_timeline_add(fl_timeline *t, const fl_tl_event *e)
{
    if (t->count >= FL_TIMELINE_EVENTS_MAX)
        return FL_EFULL;
    if (fl_array_grow((void **)&t->ev, &t->cap, t->count + 1, sizeof(*t->ev)))
        return FL_ENOMEM;
    t->ev[t->count++] = *e;
    return 0;
}

const char *fl_tl_kind_name(fl_tl_kind k)
{
    return k < FL_TL_KINDS ? kinds[k] : "?";
}

const char *fl_tl_role_name(fl_tl_role r)
{
    return r < FL_TL_ROLES ? roles[r] : "?";
}

void fl_timeline_write_event(const fl_tl_event *e, fl_buf *out)
{
    fl_buf_printf(out, "{\"time_ns\":%" PRIu64 ",\"node\":%" PRIu32 ",\"event\":\"%s\"", e->time_ns,
                  e->node, fl_tl_kind_name((fl_tl_kind)e->kind));
    if (e->kind == FL_TL_ROLE)
        fl_buf_printf(out, ",\"role\":\"%s\",\"term\":%" PRIu64,
                      fl_tl_role_name((fl_tl_role)e->role), e->term);
    fl_buf_put_str(out, "}\n");
}

int fl_timeline_write_jsonl(const fl_timeline *t, fl_buf *out)
{
    for (size_t i = 0; i < t->count; i++)
        fl_timeline_write_event(&t->ev[i], out);
    return out->err;
}

static int fail(fl_history_error *err, uint32_t line, const char *fmt, ...)
{
    if (!err)
        return FL_ESYNTAX;
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return FL_ESYNTAX;
}

/* An unsigned integer member, required. */
static int get_uint(const fl_jr_doc *d, const char *key, uint64_t max, uint64_t *out)
{
    uint32_t n = fl_jr_get(d, 0, key);
    int64_t v;
    if (n == FL_JR_NONE || fl_jr_int(d, n, &v) || v < 0 || (uint64_t)v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The index of the name node n equals in names, or -1. */
static int name_of(const fl_jr_doc *d, uint32_t n, const char *const *names, int count)
{
    for (int i = 0; n != FL_JR_NONE && i < count; i++)
        if (fl_jr_str_eq(d, n, names[i]))
            return i;
    return -1;
}

static int parse_line(const char *s, size_t len, uint32_t line, fl_tl_event *e,
                      fl_history_error *err)
{
    fl_jr_node nodes[LINE_NODES_MAX];
    fl_jr_doc d;
    if (fl_jr_parse(&d, s, len, nodes, LINE_NODES_MAX))
        return fail(err, line, "not a JSON object: %s at byte %zu",
                    d.err_msg ? d.err_msg : "too many values", d.err_off);
    if (d.nodes[0].type != FL_JR_OBJECT)
        return fail(err, line, "not a JSON object");
    uint64_t t, node, term = 0;
    if (get_uint(&d, "time_ns", INT64_MAX, &t))
        return fail(err, line, "time_ns: missing or not a non-negative integer");
    if (get_uint(&d, "node", UINT32_MAX, &node))
        return fail(err, line, "node: missing or not a node id");
    int kind = name_of(&d, fl_jr_get(&d, 0, "event"), kinds, FL_TL_KINDS);
    if (kind < 0)
        return fail(err, line, "event: missing or not one of role, crash, restart, pause, resume");
    int role = 0;
    if (kind == FL_TL_ROLE) {
        role = name_of(&d, fl_jr_get(&d, 0, "role"), roles, FL_TL_ROLES);
        if (role < 0)
            return fail(err, line, "role: missing or not a known role");
        if (get_uint(&d, "term", INT64_MAX, &term))
            return fail(err, line, "term: missing or not a non-negative integer");
    }
    *e = (fl_tl_event){t, (fl_node_id)node, (uint8_t)kind, (uint8_t)role, term};
    return 0;
}

int fl_timeline_read_jsonl(fl_timeline *t, const char *text, size_t len, fl_history_error *err)
{
    uint32_t line = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        size_t a = pos, b = end;
        while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        if (a < b) {
            fl_tl_event e;
            int rc = parse_line(text + a, b - a, line, &e, err);
            if (!rc)
                rc = fl_timeline_add(t, &e);
            if (rc)
                return rc;
        }
        pos = end + 1;
    }
    return 0;
}
