/* chart_pct.c: the latency distribution of successful operations as percentile curves (x:
 * the percentile on a log scale of 1/(1-q), p0 to p99.99; y: latency, log): every ok
 * operation, those invoked outside every fault interval (calm) and inside one (faulty).
 * Percentiles come from log-linear histograms (hist.h: within 0.4% of a true sample). */
#include "report_int.h"

#include "faultline/hist.h"

#include <math.h>
#include <stdlib.h>

#define TOP    16
#define PLOT_H 260
#define BOTTOM 48
#define X_MAX  4.0 /* p99.99 */
#define STEPS  160

enum { ALL, CALM, FAULTY, CURVES };

static bool in_fault(const rp_run *r, fl_time_ns t)
{
    for (size_t i = 0; i < r->n_faults; i++)
        if (t >= r->faults[i].start_ns && t < r->faults[i].end_ns)
            return true;
    return false;
}

static void x_axis(fl_buf *b, const rp_axis *x, double y, double y_top)
{
    static const struct {
        double at;
        const char *name;
    } t[] = {{0, "p0"}, {0.30103, "p50"}, {1, "p90"}, {2, "p99"}, {3, "p99.9"}, {4, "p99.99"}};
    fl_buf_printf(b, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  x->p0, y, x->p1, y);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        double px = rp_map(x, t[i].at);
        fl_buf_printf(b,
                      "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" "
                      "y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                      px, y_top, px, y, px, y, px, y + 4, px, y + 16, t[i].name);
    }
    fl_buf_printf(b,
                  "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">percentile "
                  "(log scale of 1/(1-q))</text></g>\n",
                  (x->p0 + x->p1) / 2, y + 34);
}

static void curve(fl_buf *b, const fl_hist *h, const rp_axis *x, const rp_axis *y,
                  const char *style)
{
    if (!h->count)
        return;
    fl_buf_printf(b, "<path fill=\"none\" %s d=\"", style);
    for (int i = 0; i <= STEPS; i++) {
        double xv = X_MAX * i / STEPS, q = 1 - pow(10, -xv);
        double v = i == 0 ? (double)h->min : (double)fl_hist_percentile(h, q * 100);
        fl_buf_printf(b, "%c%.1f %.1f", i ? 'L' : 'M', rp_map(x, xv), rp_map(y, v < 1 ? 1 : v));
    }
    fl_buf_put_str(b, "\"/>\n");
}

static void legend(fl_buf *b, fl_hist *const *h)
{
    static const char *name[] = {"every ok op", "calm (invoked outside faults)",
                                 "faulty (invoked inside a fault)"};
    static const char *line[] = {"stroke=\"#9aa3ad\" stroke-width=\"5\"",
                                 "stroke=\"" RP_OK "\" stroke-width=\"2.5\"",
                                 "stroke=\"" RP_INFO "\" stroke-width=\"2.5\" "
                                 "stroke-dasharray=\"7 4\""};
    fl_buf_put_str(b, "<div class=\"legend\">");
    for (int c = 0; c < CURVES; c++) {
        char p50[32], p99[32], p999[32];
        rp_fmt_ns(p50, sizeof(p50), (double)fl_hist_percentile(h[c], 50));
        rp_fmt_ns(p99, sizeof(p99), (double)fl_hist_percentile(h[c], 99));
        rp_fmt_ns(p999, sizeof(p999), (double)fl_hist_percentile(h[c], 99.9));
        fl_buf_printf(b,
                      "<span><svg width=\"30\" height=\"12\" viewBox=\"0 0 30 12\"><path "
                      "d=\"M1 6H29\" %s/></svg>%s: %llu ops",
                      line[c], name[c], (unsigned long long)h[c]->count);
        if (h[c]->count)
            fl_buf_printf(b, "; p50 %s, p99 %s, p99.9 %s", p50, p99, p999);
        fl_buf_put_str(b, "</span>");
    }
    fl_buf_put_str(b, "</div>\n");
}

void rp_chart_pct(fl_buf *b, const rp_run *r)
{
    fl_hist *h[CURVES];
    for (int c = 0; c < CURVES; c++)
        if (!(h[c] = malloc(sizeof(fl_hist)))) {
            while (c--)
                free(h[c]);
            return;
        }
    for (int c = 0; c < CURVES; c++)
        fl_hist_init(h[c]);
    for (size_t i = 0; i < r->n_ops; i++) {
        const fl_op *op = &r->ops[i];
        if (op->outcome != FL_EV_OK || op->ret == FL_EV_NONE || op->ret >= r->hist.count)
            continue;
        fl_time_ns a = r->hist.events[op->call].time, z = r->hist.events[op->ret].time;
        uint64_t ns = z > a ? z - a : 0;
        fl_hist_record(h[ALL], ns);
        fl_hist_record(h[in_fault(r, a) ? FAULTY : CALM], ns);
    }
    if (h[ALL]->count) {
        double lo = (double)(h[ALL]->min > 1000 ? h[ALL]->min : 1000), hi = (double)h[ALL]->max;
        rp_axis y = {pow(10, floor(log10(lo))),
                     pow(10, ceil(log10(hi > lo ? hi : lo * 10))),
                     TOP + PLOT_H,
                     TOP,
                     true,
                     false};
        rp_axis x = {0, X_MAX, RP_LEFT, RP_W - RP_RIGHT, false, false};
        rp_svg_begin(b, "pct-chart", "chart", RP_W, TOP + PLOT_H + BOTTOM,
                     "Latency percentiles of successful operations, calm versus faulty");
        x_axis(b, &x, TOP + PLOT_H, TOP);
        rp_axis_y(b, &y, RP_LEFT, RP_W - RP_RIGHT, "latency", true);
        curve(b, h[ALL], &x, &y, "stroke=\"#9aa3ad\" stroke-width=\"5\" stroke-opacity=\"0.6\"");
        curve(b, h[CALM], &x, &y, "stroke=\"" RP_OK "\" stroke-width=\"2.5\"");
        curve(b, h[FAULTY], &x, &y,
              "stroke=\"" RP_INFO "\" stroke-width=\"2.5\" stroke-dasharray=\"7 4\"");
        rp_svg_end(b);
        legend(b, h);
    } else {
        fl_buf_put_str(b, "<p class=\"sub\">No successful operation.</p>\n");
    }
    for (int c = 0; c < CURVES; c++)
        free(h[c]);
}
