/* duration.c: parsing numbers and durations from command lines (duration.h). */
#include "faultline/duration.h"

#include "faultline/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return FL_ESYNTAX;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return FL_ESYNTAX;
    if (v < min || v > max)
        return FL_ERANGE;
    *out = v;
    return 0;
}

int fl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return FL_ESYNTAX;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return FL_ESYNTAX;
    if (errno || v < min || v > max)
        return FL_ERANGE;
    *out = v;
    return 0;
}

/* The number of a duration: digits with at most one '.' and an exponent; no sign, no hex,
 * no "inf" (strtod takes all of those). Returns the length of the number, 0 if none. */
static size_t number_len(const char *s)
{
    size_t n = strspn(s, "0123456789.");
    if (n && (s[n] == 'e' || s[n] == 'E') && s[n + 1] >= '0' && s[n + 1] <= '9')
        n += 1 + strspn(s + n + 1, "0123456789");
    return n;
}

int fl_parse_duration_in(const char *s, fl_time_ns bare_unit_ns, fl_time_ns *out)
{
    if (!s || !*s)
        return FL_ESYNTAX;
    size_t len = number_len(s);
    char num[64];
    if (len == 0 || len >= sizeof(num))
        return FL_ESYNTAX;
    memcpy(num, s, len);
    num[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(num, &end);
    if (*end || errno || !isfinite(v) || v < 0)
        return errno == ERANGE ? FL_ERANGE : FL_ESYNTAX;
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double unit_ns = s[len] ? -1 : (double)bare_unit_ns;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && unit_ns < 0; i++)
        if (strcmp(s + len, units[i].unit) == 0)
            unit_ns = units[i].ns;
    if (unit_ns < 0)
        return FL_ESYNTAX;
    double ns = v * unit_ns;
    if (ns >= 1.8e19)
        return FL_ERANGE;
    *out = (fl_time_ns)llround(ns);
    return 0;
}

int fl_parse_duration(const char *s, fl_time_ns *out)
{
    return fl_parse_duration_in(s, FL_NS_PER_S, out);
}

const char *fl_format_duration(fl_time_ns ns, char *out, size_t out_size)
{
    double v = (double)ns;
    if (ns < FL_NS_PER_US)
        snprintf(out, out_size, "%llu ns", (unsigned long long)ns);
    else if (ns < FL_NS_PER_MS)
        snprintf(out, out_size, "%.2f us", v / 1e3);
    else if (ns < FL_NS_PER_S)
        snprintf(out, out_size, "%.2f ms", v / 1e6);
    else
        snprintf(out, out_size, "%.2f s", v / 1e9);
    return out;
}
