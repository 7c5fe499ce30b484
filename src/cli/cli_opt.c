/* cli_opt.c: option values, their one-line messages, quoting and exit statuses (cli_opt.h).
 * Paths are in cli_path.c. */
#include "cli/cli_opt.h"

#include "cli/cli.h"
#include "faultline/duration.h"
#include "faultline/errmsg.h"
#include "faultline/error.h"

#include <stdarg.h>
#include <string.h>

#define VALUE_SHOWN_MAX 64 /* bytes of a bad value quoted in a message */

int fl_cli_error(const char *cmd, int status, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "faultline %s: %s\n", cmd, text);
    return status;
}

int fl_cli_unknown(const char *cmd, const char *arg)
{
    char q[8 + 4 * VALUE_SHOWN_MAX];
    fl_cli_quote(arg, strlen(arg), VALUE_SHOWN_MAX, q, sizeof(q));
    return fl_cli_error(cmd, FL_EXIT_USAGE, "unknown option %s (faultline %s --help lists them)", q,
                        cmd);
}

int fl_cli_unexpected(const char *cmd, const char *arg)
{
    if (arg[0] == '-' && arg[1])
        return fl_cli_unknown(cmd, arg);
    char q[8 + 4 * VALUE_SHOWN_MAX];
    fl_cli_quote(arg, strlen(arg), VALUE_SHOWN_MAX, q, sizeof(q));
    return fl_cli_error(cmd, FL_EXIT_USAGE, "unexpected argument %s", q);
}

int fl_cli_no_value(const char *cmd, const char *opt)
{
    return fl_cli_error(cmd, FL_EXIT_USAGE, "%s needs a value", opt);
}

int fl_cli_bad(const char *cmd, const char *opt, const char *v, const char *fmt, ...)
{
    char why[512], q[8 + 4 * VALUE_SHOWN_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    fl_cli_quote(v, strlen(v), VALUE_SHOWN_MAX, q, sizeof(q));
    return fl_cli_error(cmd, FL_EXIT_USAGE, "bad value %s for %s: %s", q, opt, why);
}

int fl_cli_u64(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
               uint64_t *out)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    int rc = fl_parse_u64(v, min, max, out);
    if (rc == FL_ERANGE)
        return fl_cli_bad(cmd, opt, v, "out of range %llu..%llu", (unsigned long long)min,
                          (unsigned long long)max);
    return rc ? fl_cli_bad(cmd, opt, v, "expected a whole number (%llu..%llu)",
                           (unsigned long long)min, (unsigned long long)max)
              : 0;
}

int fl_cli_u32(const char *cmd, const char *opt, const char *v, uint32_t min, uint32_t max,
               uint32_t *out)
{
    uint64_t u;
    int rc = fl_cli_u64(cmd, opt, v, min, max, &u);
    if (!rc)
        *out = (uint32_t)u;
    return rc;
}

int fl_cli_double(const char *cmd, const char *opt, const char *v, double min, double max,
                  double *out)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    int rc = fl_parse_double(v, min, max, out);
    if (rc == FL_ERANGE)
        return fl_cli_bad(cmd, opt, v, "out of range %g..%g", min, max);
    return rc ? fl_cli_bad(cmd, opt, v, "expected a number (%g..%g)", min, max) : 0;
}

int fl_cli_duration(const char *cmd, const char *opt, const char *v, fl_time_ns bare_unit_ns,
                    fl_time_ns min, fl_time_ns max, fl_time_ns *out)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    fl_time_ns ns;
    char lo[24], hi[24];
    if (fl_parse_duration_in(v, bare_unit_ns, &ns))
        return fl_cli_bad(cmd, opt, v,
                          "expected a duration: a number and a unit ns, us, ms, s, m or h "
                          "(e.g. 250ms, 30s; a number alone is %s)",
                          bare_unit_ns == FL_NS_PER_MS ? "milliseconds" : "seconds");
    if (ns < min || ns > max)
        return fl_cli_bad(cmd, opt, v, "out of range %s..%s",
                          fl_format_duration(min, lo, sizeof(lo)),
                          fl_format_duration(max, hi, sizeof(hi)));
    *out = ns;
    return 0;
}

int fl_cli_addr(const char *cmd, const char *opt, const char *v, fl_addr *out)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    fl_errmsg m = {{0}};
    return fl_addr_parse(v, out, &m) ? fl_cli_bad(cmd, opt, v, "%s", m.text) : 0;
}

int fl_cli_enum(const char *cmd, const char *opt, const char *v, const char *const *names, size_t n,
                int *out)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v, names[i])) {
            *out = (int)i;
            return 0;
        }
        int k = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
        used += k > 0 && (size_t)k < sizeof(list) - used ? (size_t)k : 0;
    }
    return fl_cli_bad(cmd, opt, v, "expected one of %s", list);
}

int fl_cli_text(const char *cmd, const char *opt, const char *v, char *out, size_t out_size)
{
    if (!v)
        return fl_cli_no_value(cmd, opt);
    size_t len = strlen(v);
    if (len == 0)
        return fl_cli_bad(cmd, opt, v, "empty");
    if (len >= out_size)
        return fl_cli_bad(cmd, opt, v, "longer than %zu bytes", out_size - 1);
    memcpy(out, v, len + 1);
    return 0;
}

const char *fl_cli_quote(const void *p, size_t len, size_t max_bytes, char *out, size_t out_size)
{
    const unsigned char *b = p;
    size_t o = 0, shown = len < max_bytes ? len : max_bytes;
    if (out_size < 8) {
        if (out_size)
            out[0] = 0;
        return out;
    }
    out[o++] = '\'';
    for (size_t i = 0; i < shown && o + 8 < out_size; i++) {
        unsigned c = b[i];
        if (c == '\\' || c == '\'')
            o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(out + o, out_size - o, "\\n");
        else if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
    }
    out[o++] = '\'';
    if (shown < len && o + 4 <= out_size)
        o += (size_t)snprintf(out + o, out_size - o, "...");
    out[o] = 0;
    return out;
}

int fl_cli_exit_of(int fl_err)
{
    switch (fl_err) {
    case FL_OK:
        return FL_EXIT_OK;
    case FL_ENOMEM:
        return FL_EXIT_OSERR;
    case FL_EIO:
        return FL_EXIT_IOERR;
    case FL_ECORRUPT:
    case FL_ESYNTAX:
    case FL_ETRUNC:
    case FL_EVERSION: /* e.g. a data directory another protocol wrote */
        return FL_EXIT_DATAERR;
    case FL_ECONFIG:
    case FL_EINVAL:
    case FL_ERANGE:
        return FL_EXIT_USAGE;
    case FL_EUNSUPPORTED:
    case FL_ETIMEOUT:
        return FL_EXIT_UNAVAILABLE;
    case FL_ENOTFOUND:
        return FL_EXIT_NOINPUT;
    default:
        return FL_EXIT_SOFTWARE;
    }
}

/* Prints text wrapped at 80 columns, lines after the first indented by two spaces. */
static void wrap(FILE *f, const char *text)
{
    size_t col = 0;
    for (const char *w = text; *w;) {
        size_t len = strcspn(w, " ");
        if (col && col + 1 + len > 80) {
            fputs("\n ", f);
            col = 1;
        }
        fprintf(f, "%s%.*s", col ? " " : "", (int)len, w);
        col += (col ? 1 : 0) + len;
        w += len;
        w += strspn(w, " ");
    }
    fputc('\n', f);
}

void fl_cli_exit_help(FILE *f, const char *ok, const char *violation, const char *unknown)
{
    char text[1024];
    int n = snprintf(text, sizeof(text), "exit status: 0 %s", ok);
    if (violation && n > 0 && (size_t)n < sizeof(text))
        n += snprintf(text + n, sizeof(text) - (size_t)n, "; 1 %s", violation);
    if (unknown && n > 0 && (size_t)n < sizeof(text))
        n += snprintf(text + n, sizeof(text) - (size_t)n, "; 2 %s", unknown);
    if (n > 0 && (size_t)n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t)n,
                 "; 64 bad usage, 65 bad input data, 66 an input missing or unreadable, 69 "
                 "nothing to connect to or a tool missing, 70 internal error, 71 out of memory "
                 "or processes, 73 an output cannot be created, 74 I/O error (README: Exit "
                 "status)");
    fputc('\n', f);
    wrap(f, text);
}
