/* metrics.h: a small registry of counters, gauges and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4), for the real runtime (server, gossip agent).
 *
 * Series are registered once (allocation happens there, never when a value changes) and
 * updated through the handle registration returned: updating is a store or an add. Series of
 * one name form a family (one HELP and TYPE line); their labels are given preformatted
 * (fl_metrics_labels makes and escapes them). Values are doubles, as in the format.
 *
 * Not thread-safe: one thread (the event loop) registers, updates and renders. Bounds: at
 * most FL_METRICS_SERIES_MAX series and FL_METRICS_BUCKETS_MAX buckets per histogram.
 *
 * Naming (Prometheus conventions, checked by `promtool check metrics` in the tests): prefix
 * faultline_, snake case, the base unit last (_seconds, _bytes), _total on counters. */
#ifndef FAULTLINE_METRICS_H
#define FAULTLINE_METRICS_H

#include "faultline/buf.h"

#define FL_METRICS_SERIES_MAX  4096
#define FL_METRICS_BUCKETS_MAX 24
#define FL_METRICS_LABELS_MAX  160 /* preformatted label text */

typedef enum fl_metric_type {
    FL_METRIC_COUNTER,
    FL_METRIC_GAUGE,
    FL_METRIC_HISTOGRAM,
} fl_metric_type;

typedef struct fl_metric {
    const char *name; /* static strings: the registry keeps the pointers */
    const char *help;
    fl_metric_type type;
    char labels[FL_METRICS_LABELS_MAX]; /* `a="x",b="y"` or "" */
    double value;                       /* counter, gauge; histogram: the sum */
    uint64_t count;                     /* histogram: observations */
    const double *bounds;               /* histogram: upper bounds, ascending (static) */
    size_t n_bounds;
    uint64_t buckets[FL_METRICS_BUCKETS_MAX]; /* not cumulative; one more for +Inf */
} fl_metric;

typedef struct fl_metrics {
    fl_metric **series; /* registration order */
    size_t count;
    size_t cap;
} fl_metrics;

void fl_metrics_init(fl_metrics *m);
void fl_metrics_free(fl_metrics *m);
/* The series name{labels} (labels NULL or ""), registered on first use with help and type
 * (name and help must be static strings; a name keeps the type and help it was first given).
 * For a histogram, bounds are the buckets' upper bounds (static, ascending, at most
 * FL_METRICS_BUCKETS_MAX). Returns NULL when out of memory or past FL_METRICS_SERIES_MAX; the
 * update functions accept NULL and do nothing. Cost: O(series) on lookup. */
fl_metric *fl_metrics_get(fl_metrics *m, const char *name, const char *help, fl_metric_type type,
                          const char *labels, const double *bounds, size_t n_bounds);
static inline void fl_metric_add(fl_metric *x, double v)
{
    if (x)
        x->value += v;
}
static inline void fl_metric_set(fl_metric *x, double v)
{
    if (x)
        x->value = v;
}
void fl_metric_observe(fl_metric *x, double v);
/* `k1="v1"` or `k1="v1",k2="v2"` (k2, v2 NULL: one label) into out (FL_METRICS_LABELS_MAX),
 * values escaped per the format (backslash, double quote, newline); keys up to 16 characters,
 * escaped values up to 63 (longer ones are cut). Returns out. */
const char *fl_metrics_labels(char *out, const char *k1, const char *v1, const char *k2,
                              const char *v2);
/* Appends every family in the text format to out: HELP and TYPE lines, then its series, in
 * registration order. Returns 0 or FL_ENOMEM. */
int fl_metrics_render(const fl_metrics *m, fl_buf *out);

#endif
