/* metrics.c: the metrics registry and its Prometheus text rendering (metrics.h).
 *
 * Format (text exposition 0.0.4), per family, in order of first registration:
 *     # HELP name help text (backslash and newline escaped)
 *     # TYPE name counter|gauge|histogram
 *     name{labels} value                            counters, gauges
 *     name_bucket{labels,le="b"} cumulative_count   histograms, one per bound, then le="+Inf"
 *     name_sum{labels} sum
 *     name_count{labels} count
 * Invariant: every series of a family has the family's type (fl_metrics_get refuses others). */
#include "faultline/metrics.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_metrics_init(fl_metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void fl_metrics_free(fl_metrics *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->series[i]);
    free(m->series);
    memset(m, 0, sizeof(*m));
}

fl_metric *fl_metrics_get(fl_metrics *m, const char *name, const char *help, fl_metric_type type,
                          const char *labels, const double *bounds, size_t n_bounds)
{
    FL_ASSERT(n_bounds <= FL_METRICS_BUCKETS_MAX);
    labels = labels ? labels : "";
    for (size_t i = 0; i < m->count; i++) {
        fl_metric *x = m->series[i];
        if (strcmp(x->name, name) != 0)
            continue;
        if (x->type != type) /* a programmer error, but never worth stopping a node for */
            return NULL;
        if (strcmp(x->labels, labels) == 0)
            return x;
    }
    if (m->count == FL_METRICS_SERIES_MAX || strlen(labels) >= FL_METRICS_LABELS_MAX)
        return NULL;
    if (m->count == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        fl_metric **s = realloc(m->series, cap * sizeof(*s));
        if (!s)
            return NULL;
        m->series = s;
        m->cap = cap;
    }
    fl_metric *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->name = name;
    x->help = help;
    x->type = type;
    snprintf(x->labels, sizeof(x->labels), "%s", labels);
    x->bounds = bounds;
    x->n_bounds = type == FL_METRIC_HISTOGRAM ? n_bounds : 0;
    m->series[m->count++] = x;
    return x;
}

void fl_metric_observe(fl_metric *x, double v)
{
    if (!x)
        return;
    size_t b = 0;
    while (b < x->n_bounds && v > x->bounds[b])
        b++;
    x->buckets[b]++;
    x->count++;
    x->value += v;
}

/* Appends s escaped: backslash and newline always, the double quote in label values. */
static size_t escape(char *out, size_t size, const char *s, bool quote)
{
    size_t n = 0;
    for (; *s && n + 2 < size; s++) {
        if (*s == '\\' || *s == '\n' || (quote && *s == '"')) {
            out[n++] = '\\';
            out[n++] = *s == '\n' ? 'n' : *s;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = 0;
    return n;
}

const char *fl_metrics_labels(char *out, const char *k1, const char *v1, const char *k2,
                              const char *v2)
{
    char e1[64], e2[64];
    escape(e1, sizeof(e1), v1, true);
    int n;
    if (k2 && v2) {
        escape(e2, sizeof(e2), v2, true);
        n = snprintf(out, FL_METRICS_LABELS_MAX, "%.16s=\"%s\",%.16s=\"%s\"", k1, e1, k2, e2);
    } else {
        n = snprintf(out, FL_METRICS_LABELS_MAX, "%.16s=\"%s\"", k1, e1);
    }
    FL_ASSERT(n > 0 && n < FL_METRICS_LABELS_MAX); /* 2 * (16 + 63 + 3) + 1 fits */
    return out;
}

static void put_value(fl_buf *out, double v)
{
    if (isnan(v))
        fl_buf_put_str(out, "NaN");
    else if (isinf(v))
        fl_buf_put_str(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        fl_buf_printf(out, "%.0f", v);
    else
        fl_buf_printf(out, "%.9g", v);
}

/* name+suffix{labels[,extra]} */
static void put_series(fl_buf *out, const fl_metric *x, const char *suffix, const char *extra)
{
    fl_buf_put_str(out, x->name);
    fl_buf_put_str(out, suffix);
    if (x->labels[0] || extra) {
        fl_buf_printf(out, "{%s%s%s}", x->labels, x->labels[0] && extra ? "," : "",
                      extra ? extra : "");
    }
    fl_buf_put_u8(out, ' ');
}

static void put_histogram(fl_buf *out, const fl_metric *x)
{
    uint64_t cum = 0;
    char le[48];
    for (size_t b = 0; b <= x->n_bounds; b++) {
        cum += x->buckets[b];
        if (b < x->n_bounds)
            snprintf(le, sizeof(le), "le=\"%.9g\"", x->bounds[b]);
        else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        put_series(out, x, "_bucket", le);
        fl_buf_printf(out, "%llu\n", (unsigned long long)cum);
    }
    put_series(out, x, "_sum", NULL);
    put_value(out, x->value);
    fl_buf_put_u8(out, '\n');
    put_series(out, x, "_count", NULL);
    fl_buf_printf(out, "%llu\n", (unsigned long long)x->count);
}

int fl_metrics_render(const fl_metrics *m, fl_buf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    for (size_t i = 0; i < m->count; i++) {
        const fl_metric *first = m->series[i];
        bool seen = false; /* the family was rendered with an earlier series */
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(m->series[k]->name, first->name) == 0;
        if (seen)
            continue;
        char help[512];
        escape(help, sizeof(help), first->help, false);
        fl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", first->name, help, first->name,
                      types[first->type]);
        for (size_t k = i; k < m->count; k++) {
            const fl_metric *x = m->series[k];
            if (strcmp(x->name, first->name) != 0)
                continue;
            if (x->type == FL_METRIC_HISTOGRAM) {
                put_histogram(out, x);
                continue;
            }
            put_series(out, x, "", NULL);
            put_value(out, x->value);
            fl_buf_put_u8(out, '\n');
        }
    }
    return out->err ? FL_ENOMEM : 0;
}
