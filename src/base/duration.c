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

int fl_parse_duration(const char *s, fl_time_ns *out)
{
    if (!s || !*s || !(*s == '.' || (*s >= '0' && *s <= '9')))
        return FL_ESYNTAX;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !isfinite(v) || v < 0)
        return FL_ESYNTAX;
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},   {"us", 1e3},   {"ms", 1e6}, {"s", 1e9},
                 {"m", 60e9}, {"h", 3600e9}, {"", 1e9}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double ns = v * units[i].ns;
            if (ns >= 1.8e19)
                return FL_ERANGE;
            *out = (fl_time_ns)llround(ns);
            return 0;
        }
    }
    return FL_ESYNTAX;
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
