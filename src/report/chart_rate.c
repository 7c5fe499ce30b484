/* chart_rate.c: throughput over time: operations completed per second, stacked ok / fail /
 * info, from the observables' windows (or, without them, counted from the history). When
 * windows would be narrower than 2 px, neighbours are merged into one bar (the rate stays per
 * second). */
#include "report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOP    16
#define PLOT_H 170
#define BOTTOM 46

typedef struct bins {
    double (*n)[3]; /* ok, fail, info per window */
    size_t count;
    double window_s;
} bins;

static int from_windows(const rp_run *r, bins *w)
{
    const fl_jr_doc *d = r->d;
    uint32_t arr = rp_at(d, r->obs, "throughput.windows");
    if (arr == FL_JR_NONE || d->nodes[arr].type != FL_JR_ARRAY || !d->nodes[arr].count)
        return -1;
    w->window_s = rp_num(d, r->obs, "run.window_ns", 1e9) / 1e9;
    if (!(w->window_s > 0))
        return -1;
    w->count = d->nodes[arr].count;
    w->n = calloc(w->count, sizeof(*w->n));
    if (!w->n)
        return -1;
    size_t i = 0;
    for (uint32_t e = arr + 1; e != FL_JR_NONE && i < w->count; e = d->nodes[e].next, i++) {
        w->n[i][0] = rp_num(d, e, "ok", 0);
        w->n[i][1] = rp_num(d, e, "fail", 0);
        w->n[i][2] = rp_num(d, e, "info", 0);
    }
    return 0;
}

static int from_history(const rp_run *r, bins *w)
{
    if (!r->has_hist)
        return -1;
    w->window_s = 1;
    w->count = (size_t)ceil(r->t1_s) + 1;
    w->n = calloc(w->count, sizeof(*w->n));
    if (!w->n)
        return -1;
    for (size_t i = 0; i < r->n_ops; i++) {
        const fl_op *op = &r->ops[i];
        if (op->ret == FL_EV_NONE || op->ret >= r->hist.count)
            continue;
        size_t k = (size_t)((double)r->hist.events[op->ret].time / 1e9);
        k = k < w->count ? k : w->count - 1;
        w->n[k][op->outcome == FL_EV_OK ? 0 : op->outcome == FL_EV_FAIL ? 1 : 2]++;
    }
    return 0;
}

static void bars(fl_buf *b, const rp_run *r, const bins *w, const rp_axis *x)
{
    double px_per_window = (x->p1 - x->p0) * w->window_s / r->t1_s;
    size_t merge = px_per_window >= 2 ? 1 : (size_t)ceil(2 / px_per_window);
    double span_s = w->window_s * (double)merge;
    double max = 1;
    for (size_t i = 0; i < w->count; i += merge) {
        double s = 0;
        for (size_t k = i; k < i + merge && k < w->count; k++)
            s += w->n[k][0] + w->n[k][1] + w->n[k][2];
        max = s / span_s > max ? s / span_s : max;
    }
    double step = rp_tick_step(max, 5);
    rp_axis y = {0, ceil(max / step) * step, TOP + PLOT_H, TOP, false, false};
    rp_axis_y(b, &y, RP_LEFT, RP_W - RP_RIGHT, "operations/s", false);
    static const char *color[] = {RP_OK, RP_FAIL, RP_INFO};
    for (size_t i = 0; i < w->count; i += merge) {
        double v[3] = {0, 0, 0};
        for (size_t k = i; k < i + merge && k < w->count; k++)
            for (int o = 0; o < 3; o++)
                v[o] += w->n[k][o] / span_s;
        double t = (double)i * w->window_s;
        double x0 = rp_map(x, t), x1 = rp_map(x, t + span_s);
        double gap = x1 - x0 > 4 ? 1 : 0;
        fl_buf_printf(b, "<g><title>%.1f-%.1f s: %.0f ok/s, %.0f fail/s, %.0f info/s</title>", t,
                      t + span_s, v[0], v[1], v[2]);
        double base = 0;
        for (int o = 0; o < 3; o++) {
            if (v[o] <= 0)
                continue;
            double y0 = rp_map(&y, base), y1 = rp_map(&y, base + v[o]);
            fl_buf_printf(b,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"%s\"/>",
                          x0, y1, x1 - x0 - gap > 0.5 ? x1 - x0 - gap : 0.5, y0 - y1, color[o]);
            base += v[o];
        }
        fl_buf_put_str(b, "</g>\n");
    }
}

void rp_chart_rate(fl_buf *b, const rp_run *r)
{
    bins w = {0};
    if (from_windows(r, &w) && from_history(r, &w)) {
        fl_buf_put_str(b, "<p class=\"sub\">Not drawn: no throughput windows in results.json and "
                          "no history.</p>\n");
        free(w.n);
        return;
    }
    rp_axis x;
    rp_time_axis_of(r, &x);
    rp_svg_time_begin(b, "rate-chart", TOP + PLOT_H + BOTTOM, r->t1_s,
                      "Operations completed per second, by outcome");
    rp_fault_defs(b, "rate");
    rp_fault_bands(b, r, &x, TOP, TOP + PLOT_H, "rate", false);
    rp_axis_time(b, &x, TOP + PLOT_H, TOP);
    bars(b, r, &w, &x);
    rp_svg_time_end(b, TOP, TOP + PLOT_H);
    free(w.n);
}
