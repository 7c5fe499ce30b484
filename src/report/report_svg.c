/* report_svg.c: the SVG toolkit of the report: mapping data to pixels, escaping, durations
 * for people, axes with ticks and grid lines. Coordinates are written with one decimal. */
#include "report_int.h"

#include <math.h>
#include <string.h>

double rp_map(const rp_axis *a, double v)
{
    double d0 = a->d0, d1 = a->d1;
    if (a->log) {
        v = log10(v > 0 ? v : d0);
        d0 = log10(d0);
        d1 = log10(d1);
    }
    double f = d1 > d0 ? (v - d0) / (d1 - d0) : 0;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return a->p0 + f * (a->p1 - a->p0);
}

void rp_esc(fl_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fl_buf_put_str(b, "&lt;");
        else if (c == '>')
            fl_buf_put_str(b, "&gt;");
        else if (c == '&')
            fl_buf_put_str(b, "&amp;");
        else if (c == '"')
            fl_buf_put_str(b, "&quot;");
        else if (c < 0x20 && c != '\n' && c != '\t')
            fl_buf_put_u8(b, ' '); /* not allowed in XML */
        else
            fl_buf_put_u8(b, c);
    }
}

void rp_esc_n(fl_buf *b, const char *s, size_t n)
{
    char tmp[256];
    size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
    memcpy(tmp, s, k);
    tmp[k] = 0;
    rp_esc(b, tmp);
}

void rp_fmt_ns(char *out, size_t cap, double ns)
{
    static const struct {
        double div;
        const char *unit;
    } u[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "\xc2\xb5s"}, {1, "ns"}};
    for (size_t i = 0; i < 4; i++) {
        if (fabs(ns) < u[i].div && i < 3)
            continue;
        double v = ns / u[i].div;
        snprintf(out, cap,
                 fabs(v) >= 100  ? "%.0f %s"
                 : fabs(v) >= 10 ? "%.1f %s"
                                 : "%.2f %s",
                 v, u[i].unit);
        return;
    }
}

void rp_svg_begin(fl_buf *b, const char *id, const char *cls, int w, int h, const char *title)
{
    fl_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"%s\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\"><title>",
                  id, cls, w, h, w, h);
    rp_esc(b, title);
    fl_buf_put_str(b, "</title>\n");
}

void rp_svg_end(fl_buf *b)
{
    fl_buf_put_str(b, "</svg>\n");
}

void rp_svg_time_begin(fl_buf *b, const char *id, int h, double t1_s, const char *title)
{
    fl_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"tchart\" "
                  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                  "data-x0=\"%d\" data-x1=\"%d\" data-t1=\"%.6f\"><title>",
                  id, RP_W, h, RP_W, h, RP_LEFT, RP_W - RP_RIGHT, t1_s);
    rp_esc(b, title);
    fl_buf_put_str(b, "</title>\n");
}

void rp_svg_time_end(fl_buf *b, double y0, double y1)
{
    fl_buf_printf(b,
                  "<line class=\"cursor\" x1=\"0\" y1=\"%.1f\" x2=\"0\" y2=\"%.1f\" "
                  "style=\"display:none\"/><text class=\"cursor-t\" x=\"0\" y=\"%.1f\"> </text>\n",
                  y0, y1, y0 + 10);
    rp_svg_end(b);
}

double rp_tick_step(double range, int n)
{
    if (!(range > 0) || n < 1)
        return 1;
    double raw = range / n, mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *out, size_t cap, double v, bool ns)
{
    static const struct {
        double div;
        const char *unit;
    } u[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "\xc2\xb5s"}, {1, "ns"}};
    for (size_t i = 0; ns && i < 4; i++)
        if (fabs(v) >= u[i].div || i == 3) {
            snprintf(out, cap, "%g %s", v / u[i].div, u[i].unit);
            return;
        }
    if (fabs(v) >= 1e6 || (fabs(v) < 1e-3 && v != 0))
        snprintf(out, cap, "%.3g", v);
    else
        snprintf(out, cap, "%g", v);
}

void rp_axis_time(fl_buf *b, const rp_axis *x, double y, double y_top)
{
    rp_axis_x(b, x, y, y_top, "time (s)", false);
}

/* Tick values of an axis: decades for log, a nice step for linear. */
static int ticks(const rp_axis *a, double *v, int max)
{
    int n = 0;
    if (a->log) {
        for (double d = pow(10, floor(log10(a->d0))); d <= a->d1 * 1.0001 && n < max; d *= 10)
            if (d >= a->d0 * 0.9999)
                v[n++] = d;
        return n;
    }
    double step = rp_tick_step(a->d1 - a->d0, 8);
    step = a->integer && step < 1 ? 1 : step;
    for (double t = ceil(a->d0 / step) * step; t <= a->d1 + step * 1e-9 && n < max; t += step)
        v[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    return n;
}

/* One axis: vertical (a y axis at x = at, grid lines to far) or horizontal (an x axis at
 * y = at, grid lines up to far), ticks labelled, and its label. */
static void axis(fl_buf *b, const rp_axis *a, bool vertical, double at, double far,
                 const char *label, bool ns)
{
    double v[64];
    int n = ticks(a, v, 64);
    double x0 = vertical ? at : a->p0, y0 = vertical ? a->p0 : at;
    double x1 = vertical ? at : a->p1, y1 = vertical ? a->p1 : at;
    fl_buf_printf(b, "<g class=\"axis\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  x0, y0, x1, y1);
    for (int i = 0; i < n; i++) {
        double p = rp_map(a, v[i]);
        char t[32];
        tick_label(t, sizeof(t), v[i], ns);
        if (vertical)
            fl_buf_printf(b,
                          "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                          "y2=\"%.1f\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                          at, p, far, p, at - 4, p, at, p, at - 6, p + 4, t);
        else
            fl_buf_printf(b,
                          "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                          "y2=\"%.1f\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                          p, far, p, at, p, at, p, at + 4, p, at + 16, t);
    }
    double mid = (a->p0 + a->p1) / 2, lx = at - 62 > 12 ? at - 62 : 12;
    if (vertical)
        fl_buf_printf(b,
                      "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                      "transform=\"rotate(-90 %.1f %.1f)\">",
                      lx, mid, lx, mid);
    else
        fl_buf_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", mid,
                      at + 32);
    rp_esc(b, label);
    fl_buf_put_str(b, "</text></g>\n");
}

void rp_axis_x(fl_buf *b, const rp_axis *x, double y, double y_top, const char *label, bool ns)
{
    axis(b, x, false, y, y_top, label, ns);
}

void rp_axis_y(fl_buf *b, const rp_axis *y, double x, double x_right, const char *label, bool ns)
{
    axis(b, y, true, x, x_right, label, ns);
}
