/* chart_latency.c: latency over time. One panel per operation type; every operation a point
 * at its invocation time, latency on a log axis, coloured by outcome; fault bands behind, the
 * longest write gap marked.
 *
 * Bounds (report.h): past FL_REPORT_OK_POINTS_MAX ok operations, the ok points are sampled
 * (a fixed stride over the ops below the ok p99; every op at or above it is kept), fail and
 * info points are all kept; then points are snapped to a 2 px grid and a cell already drawn
 * in a series (panel x outcome) is not drawn again. A panel is at most ~500 x 65 cells, so
 * the output is bounded whatever the number of operations. */
#include "report_int.h"

#include "faultline/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOP       52
#define FACET_GAP 12
#define BOTTOM    46
#define GRID      2 /* points snap to a 2 px grid: a dot is 2.6 px wide, nothing is lost */

typedef struct lat {
    rp_run *r;
    int facet_of[FL_F_COUNT]; /* panel index by op type, -1: none */
    int nf;
    int fh; /* panel height */
    rp_axis x, y;
    uint64_t stride;  /* ok ops below p99: keep one in stride */
    uint64_t slow_ns; /* ok ops at or above: always kept */
    uint8_t *seen;    /* pixel bitmaps, one per panel x outcome */
    size_t pw;        /* pixels per bitmap row */
} lat;

static bool completed(const rp_run *r, const fl_op *op, uint64_t *lat_ns)
{
    if (op->ret == FL_EV_NONE || op->ret >= r->hist.count || op->call >= r->hist.count)
        return false;
    fl_time_ns a = r->hist.events[op->call].time, b = r->hist.events[op->ret].time;
    *lat_ns = b > a ? b - a : 0;
    return true;
}

static int outcome_of(const fl_op *op)
{
    return op->outcome == FL_EV_OK     ? FL_OBS_OK
           : op->outcome == FL_EV_FAIL ? FL_OBS_FAIL
                                       : FL_OBS_INFO;
}

/* Panels, the latency range, and the sampling of ok points. */
static int plan(lat *L)
{
    rp_run *r = L->r;
    fl_hist *ok = malloc(sizeof(*ok));
    if (!ok)
        return -1;
    fl_hist_init(ok);
    bool has[FL_F_COUNT] = {false};
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < r->n_ops; i++) {
        uint64_t ns;
        if (!completed(r, &r->ops[i], &ns) || r->ops[i].f >= FL_F_COUNT)
            continue;
        has[r->ops[i].f] = true;
        ns = ns < 1000 ? 1000 : ns; /* 1 us: the floor of the axis */
        lo = ns < lo ? ns : lo;
        hi = ns > hi ? ns : hi;
        if (r->ops[i].outcome == FL_EV_OK)
            fl_hist_record(ok, ns);
    }
    L->nf = 0;
    for (int f = 0; f < FL_F_COUNT; f++)
        L->facet_of[f] = has[f] ? L->nf++ : -1;
    L->fh = L->nf <= 3 ? 130 : 96;
    if (hi == 0)
        lo = hi = 1000000;
    double d0 = pow(10, floor(log10((double)lo))), d1 = pow(10, ceil(log10((double)hi)));
    if (d1 <= d0)
        d1 = d0 * 10;
    L->y = (rp_axis){d0, d1, 0, 0, true, false};
    uint64_t slow = fl_hist_percentile(ok, 99);
    uint64_t below = ok->count - (ok->count / 100);
    uint64_t budget = FL_REPORT_OK_POINTS_MAX - FL_REPORT_OK_POINTS_MAX / 10;
    L->slow_ns = ok->count > FL_REPORT_OK_POINTS_MAX ? slow : 0;
    L->stride = ok->count > FL_REPORT_OK_POINTS_MAX ? (below + budget - 1) / budget : 1;
    free(ok);
    rp_time_axis_of(r, &L->x);
    L->pw = (size_t)(RP_W - RP_LEFT - RP_RIGHT) + 2;
    L->seen = calloc((size_t)L->nf * FL_OBS_OUTCOMES * L->pw * (size_t)(L->fh + 2) / 8 + 1, 1);
    return L->seen ? 0 : -1;
}

static double panel_top(const lat *L, int k)
{
    return TOP + k * (L->fh + FACET_GAP);
}

/* One series: the points of one panel and outcome, as a single path of dots. */
static void series(fl_buf *b, lat *L, int k, int outcome, uint64_t *kept)
{
    rp_run *r = L->r;
    static const char *color[] = {RP_OK, RP_FAIL, RP_INFO};
    static const char *style[] = {"stroke-width=\"2.6\" stroke-opacity=\"0.45\"",
                                  "stroke-width=\"2.6\" stroke-opacity=\"0.9\"",
                                  "stroke-width=\"4\""};
    fl_buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-linecap=\"round\" %s d=\"",
                  color[outcome], style[outcome]);
    rp_axis y = L->y;
    y.p0 = panel_top(L, k) + L->fh;
    y.p1 = panel_top(L, k);
    size_t bits = L->pw * (size_t)(L->fh + 2);
    uint8_t *seen = L->seen + ((size_t)k * FL_OBS_OUTCOMES + (size_t)outcome) * bits / 8;
    size_t base_bit = (((size_t)k * FL_OBS_OUTCOMES + (size_t)outcome) * bits) % 8;
    uint64_t n_ok = 0;
    for (size_t i = 0; i < r->n_ops; i++) {
        const fl_op *op = &r->ops[i];
        uint64_t ns;
        if (op->f >= FL_F_COUNT || L->facet_of[op->f] != k || outcome_of(op) != outcome ||
            !completed(r, op, &ns))
            continue;
        if (outcome == FL_OBS_OK) {
            bool slow = L->slow_ns && ns >= L->slow_ns;
            if (!slow && n_ok++ % L->stride != 0)
                continue;
            r->info->ok_drawn++;
        }
        double t = (double)r->hist.events[op->call].time / 1e9;
        int px = GRID * (int)lround(rp_map(&L->x, t) / GRID);
        int py = GRID * (int)lround(rp_map(&y, (double)ns) / GRID);
        size_t bit = base_bit + (size_t)(px - RP_LEFT + 1) * (size_t)(L->fh + 2) +
                     (size_t)(py - (int)y.p1 + 1);
        if (px < RP_LEFT - GRID || px > RP_W - RP_RIGHT + 1 || py < (int)y.p1 - 1 ||
            py > (int)y.p0 + 1 || (seen[bit / 8] >> (bit % 8)) & 1)
            continue;
        seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
        fl_buf_printf(b, "M%d %dh0", px, py);
        (*kept)++;
    }
    fl_buf_put_str(b, "\"/>\n");
}

static void panel(fl_buf *b, lat *L, int k, fl_op_f f)
{
    rp_axis y = L->y;
    y.p0 = panel_top(L, k) + L->fh;
    y.p1 = panel_top(L, k);
    fl_buf_printf(b,
                  "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\" "
                  "stroke=\"#cbd2dc\"/>",
                  RP_LEFT, y.p1, RP_W - RP_LEFT - RP_RIGHT, L->fh);
    rp_axis_y(b, &y, RP_LEFT, RP_W - RP_RIGHT, "latency", true);
    /* the most numerous outcome first, so the rarer ones stay visible on top; info last */
    uint64_t n[2] = {0, 0};
    for (size_t i = 0; i < L->r->n_ops; i++)
        if (L->r->ops[i].f == f && outcome_of(&L->r->ops[i]) < FL_OBS_INFO)
            n[outcome_of(&L->r->ops[i])]++;
    int first = n[FL_OBS_FAIL] > n[FL_OBS_OK] ? FL_OBS_FAIL : FL_OBS_OK;
    uint64_t kept = 0;
    series(b, L, k, first, &kept);
    series(b, L, k, first == FL_OBS_OK ? FL_OBS_FAIL : FL_OBS_OK, &kept);
    series(b, L, k, FL_OBS_INFO, &kept);
    L->r->info->points_drawn += kept;
    fl_buf_printf(b,
                  "<text class=\"facet\" x=\"%d\" y=\"%.1f\" paint-order=\"stroke\" "
                  "stroke=\"#fff\" stroke-width=\"3\">%s</text>\n",
                  RP_LEFT + 6, y.p1 + 14, fl_op_f_name(f));
}

static void violation_mark(fl_buf *b, const lat *L, double y0, double y1)
{
    const rp_run *r = L->r;
    if (!rp_has(r->d, 0, "verdict.violation_time_ns"))
        return;
    double x = rp_map(&L->x, rp_num(r->d, 0, "verdict.violation_time_ns", 0) / 1e9);
    fl_buf_printf(b,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" "
                  "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\" "
                  "font-weight=\"600\">invariant violated</text>\n",
                  x, y0, x, y1, x + 4, y0 + 12);
}

static void legend(fl_buf *b, const lat *L)
{
    const rp_run *r = L->r;
    uint64_t n[FL_OBS_OUTCOMES] = {0};
    for (size_t i = 0; i < r->n_ops; i++)
        n[outcome_of(&r->ops[i])]++;
    static const char *names[] = {"ok", "fail", "info"};
    static const char *color[] = {RP_OK, RP_FAIL, RP_INFO};
    fl_buf_put_str(b, "<div class=\"legend\"><b>Outcome:</b>");
    for (int o = 0; o < FL_OBS_OUTCOMES; o++)
        fl_buf_printf(b,
                      "<span><svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\"><circle "
                      "cx=\"7\" cy=\"7\" r=\"%d\" fill=\"%s\"/></svg>%s (%llu)</span>",
                      o == FL_OBS_INFO ? 5 : 4, color[o], names[o], (unsigned long long)n[o]);
    if (L->stride > 1)
        fl_buf_printf(b,
                      "<span>ok points sampled: one in %llu below the ok p99, every one above "
                      "(%llu of %llu drawn)</span>",
                      (unsigned long long)L->stride, (unsigned long long)r->info->ok_drawn,
                      (unsigned long long)n[FL_OBS_OK]);
    fl_buf_put_str(b, "</div>\n");
}

void rp_chart_latency(fl_buf *b, rp_run *r)
{
    lat L;
    memset(&L, 0, sizeof(L));
    L.r = r;
    if (plan(&L) || L.nf == 0) {
        fl_buf_put_str(b, "<p class=\"sub\">No completed operation to draw.</p>\n");
        free(L.seen);
        return;
    }
    double y_end = panel_top(&L, L.nf) - FACET_GAP;
    int h = (int)y_end + BOTTOM;
    rp_svg_time_begin(b, "latency-chart", h, r->t1_s, "Latency of every operation over time");
    rp_fault_defs(b, "lat");
    rp_fault_bands(b, r, &L.x, TOP, y_end, "lat", true);
    rp_axis_time(b, &L.x, y_end, TOP);
    rp_write_gap(b, r, &L.x, TOP, y_end, 14);
    for (int f = 0; f < FL_F_COUNT; f++)
        if (L.facet_of[f] >= 0)
            panel(b, &L, L.facet_of[f], (fl_op_f)f);
    violation_mark(b, &L, TOP, y_end);
    rp_svg_time_end(b, TOP, y_end);
    legend(b, &L);
    free(L.seen);
}
