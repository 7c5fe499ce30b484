/* history_jlog.c: old Jepsen logs read as histories (fl_history_read_jepsen_log, history.h).
 *
 *   INFO  jepsen.util - 4	:invoke	:cas	[4 0]
 *   INFO  jepsen.util - 4	:info	:cas	:timed-out
 *   INFO  jepsen.util - :nemesis	:info	:start	nil
 *
 * Jepsen's util/log-op printed every op as a log line: after the logger's prefix, the process,
 * the type, the f and the value (EDN), separated by tabs, and sometimes an error text in a
 * fifth column (ignored). Many published histories exist only in this form. Lines without
 * "jepsen.util" are other log output and are skipped, and so are lines of jepsen.util that do
 * not have the shape of an op (a process, then :invoke, :ok, :fail or :info). Each op line is
 * rewritten as an EDN map and read by the EDN reader, so a value means the same in both
 * formats; errors carry the line of the log. */
#include "faultline/history.h"

#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

#define MARK      "jepsen.util"
#define SNIFF_MAX (64u << 10) /* bytes looked at to guess the format */

typedef struct span {
    const char *s;
    size_t n;
} span;

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next field separated by blanks, from *p up to end. */
static span field(const char **p, const char *end)
{
    while (*p < end && blank(**p))
        (*p)++;
    span f = {*p, 0};
    while (*p < end && !blank(**p))
        (*p)++;
    f.n = (size_t)(*p - f.s);
    return f;
}

static bool is(span f, const char *s)
{
    return f.n == strlen(s) && !memcmp(f.s, s, f.n);
}

static bool is_process(span f)
{
    if (is(f, ":nemesis"))
        return true;
    size_t i = f.n && (f.s[0] == '-' || f.s[0] == '+');
    if (i == f.n)
        return false;
    for (; i < f.n; i++)
        if (f.s[i] < '0' || f.s[i] > '9')
            return false;
    return true;
}

static bool is_type(span f)
{
    return is(f, ":invoke") || is(f, ":ok") || is(f, ":fail") || is(f, ":info");
}

/* Rewrites an op line (after the marker) as an EDN map in m; false when it is no op. */
static bool as_edn(const char *p, const char *end, fl_buf *m)
{
    while (p < end && blank(*p))
        p++;
    if (p < end && *p == '-') /* "jepsen.util - 4 ..." */
        p++;
    span proc = field(&p, end), type = field(&p, end), f = field(&p, end);
    if (!is_process(proc) || !is_type(type) || !f.n)
        return false;
    while (p < end && blank(*p))
        p++;
    size_t rest = end > p ? (size_t)(end - p) : 0;
    const char *tab = rest ? memchr(p, '\t', rest) : NULL; /* a fifth column: an error text */
    const char *vend = tab ? tab : end;
    while (vend > p && blank(vend[-1]))
        vend--;
    fl_buf_reset(m);
    fl_buf_printf(m, "{:process %.*s :type %.*s :f %.*s :value ", (int)proc.n, proc.s, (int)type.n,
                  type.s, (int)f.n, f.s);
    if (vend > p)
        fl_buf_put_bytes(m, p, (size_t)(vend - p));
    else
        fl_buf_put_str(m, "nil");
    fl_buf_put_u8(m, '}');
    return true;
}

int fl_history_read_jepsen_log(fl_history *h, const char *text, size_t len, fl_history_error *err)
{
    fl_buf m;
    fl_buf_init(&m);
    int rc = 0;
    uint32_t line = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        const char *a = text + pos, *end = nl ? nl : text + len;
        pos = (size_t)(end - text) + 1;
        line++;
        const char *mark = memmem(a, (size_t)(end - a), MARK, strlen(MARK));
        if (!mark || !as_edn(mark + strlen(MARK), end, &m))
            continue;
        if (m.err) {
            rc = m.err;
            break;
        }
        size_t before = h->count;
        rc = fl_history_read_edn(h, (const char *)m.data, m.len, err);
        if (rc == FL_ESYNTAX && err)
            err->line = line;
        for (size_t i = before; i < h->count; i++)
            h->events[i].line = line;
    }
    fl_buf_free(&m);
    return rc;
}

bool fl_history_looks_like_jepsen_log(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (blank(text[i]) || text[i] == '\n'))
        i++;
    if (i == len || strchr("{[;#", text[i]))
        return false; /* JSON or EDN */
    size_t n = len < SNIFF_MAX ? len : SNIFF_MAX;
    return memmem(text, n, MARK, strlen(MARK)) != NULL;
}
