/* report_swim.c: the report of a SWIM scenario (`faultline sim --protocol swim --out DIR`,
 * results.json keys in docs/results.md): every figure in tables, and the pictures that apply:
 * the detection-time CDF of crashes (first suspicion, every live member marking it dead); the
 * dissemination of one broadcast beside the logistic curve of an epidemic; the members alive,
 * suspect and dead as the members' views saw them over time; the view divergence of a
 * partition. */
#include "report_int.h"

#include "faultline/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CW         RP_W
#define CH         300
#define TOP        20
#define BOTTOM     48
#define SERIES_MAX 8
#define POINTS_MAX 4096

static const char *palette[] = {RP_OK, RP_INFO, "#d97706", "#2f855a", "#6b46c1", "#4a5568"};

typedef struct series {
    double *x, *y;
    size_t n;
    const char *color;
    bool dashed, step;
    char label[96];
} series;

typedef struct chart {
    series s[SERIES_MAX];
    size_t n;
    double *marks; /* vertical marks at these x (crashes) */
    size_t n_marks;
} chart;

static series *add(chart *c, const char *color, bool dashed, bool step, const char *label)
{
    if (c->n == SERIES_MAX)
        return NULL;
    series *s = &c->s[c->n++];
    memset(s, 0, sizeof(*s));
    s->x = calloc(POINTS_MAX, sizeof(double));
    s->y = calloc(POINTS_MAX, sizeof(double));
    s->color = color;
    s->dashed = dashed;
    s->step = step;
    snprintf(s->label, sizeof(s->label), "%s", label);
    return s->x && s->y ? s : NULL;
}

static void point(series *s, double x, double y)
{
    if (s && s->n < POINTS_MAX && isfinite(x) && isfinite(y)) {
        s->x[s->n] = x;
        s->y[s->n++] = y;
    }
}

static void chart_free(chart *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->s[i].x);
        free(c->s[i].y);
    }
    free(c->marks);
}

/* Draws c over [0, xmax] x [0, ymax] with the given labels, and its legend. */
static void draw(fl_buf *b, const chart *c, const char *id, const char *title, const char *xl,
                 const char *yl)
{
    double xmax = 0, ymax = 0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t k = 0; k < c->s[i].n; k++) {
            xmax = c->s[i].x[k] > xmax ? c->s[i].x[k] : xmax;
            ymax = c->s[i].y[k] > ymax ? c->s[i].y[k] : ymax;
        }
    rp_axis x = {0, xmax > 0 ? xmax * 1.02 : 1, RP_LEFT, CW - RP_RIGHT, false, false};
    rp_axis y = {0, ymax > 0 ? ymax * 1.05 : 1, CH - BOTTOM, TOP, false, false};
    rp_svg_begin(b, id, "chart", CW, CH, title);
    rp_axis_x(b, &x, CH - BOTTOM, TOP, xl, false);
    rp_axis_y(b, &y, RP_LEFT, CW - RP_RIGHT, yl, false);
    for (size_t m = 0; m < c->n_marks; m++)
        fl_buf_printf(b,
                      "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c53030\" "
                      "stroke-width=\"1\" stroke-dasharray=\"2 3\"><title>crash at %.0f s</title>"
                      "</line>",
                      rp_map(&x, c->marks[m]), TOP, rp_map(&x, c->marks[m]), CH - BOTTOM,
                      c->marks[m]);
    for (size_t i = 0; i < c->n; i++) {
        const series *s = &c->s[i];
        if (!s->n)
            continue;
        fl_buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\"%s d=\"", s->color,
                      s->dashed ? " stroke-dasharray=\"7 4\"" : "");
        for (size_t k = 0; k < s->n; k++) {
            double px = rp_map(&x, s->x[k]), py = rp_map(&y, s->y[k]);
            if (k && s->step)
                fl_buf_printf(b, "H%.1f", px);
            fl_buf_printf(b, "%c%.1f %.1f", k ? 'L' : 'M', px, py);
        }
        fl_buf_put_str(b, "\"/>\n");
    }
    rp_svg_end(b);
    fl_buf_put_str(b, "<div class=\"legend\">");
    for (size_t i = 0; i < c->n; i++)
        fl_buf_printf(b,
                      "<span><svg width=\"30\" height=\"12\" viewBox=\"0 0 30 12\"><path "
                      "d=\"M1 6H29\" stroke=\"%s\" stroke-width=\"2.5\"%s/></svg>%s</span>",
                      c->s[i].color, c->s[i].dashed ? " stroke-dasharray=\"7 4\"" : "",
                      c->s[i].label);
    fl_buf_put_str(b, "</div>\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* An empirical CDF (a step curve) of the per-crash key, in seconds; null values left out. */
static void cdf(const fl_jr_doc *d, uint32_t arr, const char *key, series *s)
{
    double v[256];
    size_t n = 0, total = 0;
    for (uint32_t e = d->nodes[arr].count ? arr + 1 : FL_JR_NONE; e != FL_JR_NONE && n < 256;
         e = d->nodes[e].next, total++)
        if (rp_has(d, e, key))
            v[n++] = rp_num(d, e, key, 0) / 1e9;
    qsort(v, n, sizeof(double), cmp_double);
    point(s, 0, 0);
    for (size_t i = 0; i < n; i++)
        point(s, v[i], (double)(i + 1) / (double)total);
}

static void views(fl_buf *b, const fl_jr_doc *d, uint32_t obj, uint32_t crashes)
{
    uint32_t arr = rp_at(d, obj, "views");
    if (arr == FL_JR_NONE || d->nodes[arr].type != FL_JR_ARRAY || !d->nodes[arr].count)
        return;
    chart c = {0};
    series *al = add(&c, RP_OK, false, false, "alive");
    series *su = add(&c, "#d97706", false, false, "suspect");
    series *de = add(&c, RP_INFO, true, false, "dead (or left, not yet reaped)");
    for (uint32_t e = arr + 1; e != FL_JR_NONE; e = d->nodes[e].next) {
        double t = rp_num(d, e, "t_ns", 0) / 1e9;
        point(al, t, rp_num(d, e, "alive", 0));
        point(su, t, rp_num(d, e, "suspect", 0));
        point(de, t, rp_num(d, e, "dead", 0));
    }
    if (crashes != FL_JR_NONE && (c.marks = calloc(d->nodes[crashes].count + 1, sizeof(double))))
        for (uint32_t e = d->nodes[crashes].count ? crashes + 1 : FL_JR_NONE; e != FL_JR_NONE;
             e = d->nodes[e].next)
            c.marks[c.n_marks++] = rp_num(d, e, "at_ns", 0) / 1e9;
    fl_buf_put_str(b, "<h3>Members as seen over time</h3><p class=\"lead\">Every second, the "
                      "mean over the members that are up of how many members their view "
                      "holds alive, suspect and dead (dotted red: the crashes).</p>\n");
    draw(b, &c, "views-chart", "Members alive, suspect and dead in the members' views", "time (s)",
         "members per view");
    chart_free(&c);
}

static void crash(fl_buf *b, const fl_jr_doc *d, uint32_t det)
{
    uint32_t arr = rp_at(d, det, "per_crash");
    if (arr != FL_JR_NONE && d->nodes[arr].type == FL_JR_ARRAY) {
        chart c = {0};
        cdf(d, arr, "first_suspicion_ns",
            add(&c, "#d97706", false, true, "first suspicion by anyone"));
        cdf(d, arr, "all_dead_ns", add(&c, RP_OK, false, true, "every live member holds it dead"));
        fl_buf_put_str(b, "<h3>Detection time</h3><p class=\"lead\">Of the crashes, the fraction "
                          "detected within a time: the first SUSPECT about the crashed member by "
                          "anyone, and every live member holding it DEAD.</p>\n");
        draw(b, &c, "detect-chart", "Detection time of crashes (CDF)", "seconds after the crash",
             "fraction of crashes");
        chart_free(&c);
    }
    views(b, d, det, arr);
}

/* Measured spread of one broadcast per loss, with a logistic epidemic x(t) = 1 / (1 + (N-1)
 * e^(-beta t)), beta = 2 (1 - loss) per period: each period a member pushes its updates on
 * its one ping and pulls others' on the ack of the ping it answers. */
static void broadcast(fl_buf *b, const fl_jr_doc *d, uint32_t arr)
{
    double period_s = rp_num(d, 0, "probe_interval_ns", 1e9) / 1e9;
    double n = rp_num(d, 0, "nodes", 2);
    chart c = {0};
    size_t k = 0;
    for (uint32_t e = d->nodes[arr].count ? arr + 1 : FL_JR_NONE;
         e != FL_JR_NONE && c.n + 2 <= SERIES_MAX; e = d->nodes[e].next, k++) {
        double loss = rp_num(d, e, "loss", 0);
        char label[96];
        snprintf(label, sizeof(label), "measured, %.0f%% loss", loss * 100);
        const char *color = palette[k % 6];
        series *m = add(&c, color, false, false, label);
        uint32_t cv = rp_at(d, e, "curve");
        double t_end = 0;
        for (uint32_t p = cv != FL_JR_NONE && d->nodes[cv].count ? cv + 1 : FL_JR_NONE;
             p != FL_JR_NONE; p = d->nodes[p].next) {
            double t = rp_num(d, p, "t_ns", 0) / 1e9 / period_s;
            point(m, t, rp_num(d, p, "fraction", 0));
            t_end = t > t_end ? t : t_end;
        }
        snprintf(label, sizeof(label), "logistic model, %.0f%% loss", loss * 100);
        series *th = add(&c, color, true, false, label);
        double beta = 2 * (1 - loss);
        for (int i = 0; i <= 200 && beta > 0; i++) {
            double t = t_end * 1.1 * i / 200;
            point(th, t, 1 / (1 + (n - 1) * exp(-beta * t)));
        }
    }
    fl_buf_put_str(b, "<h3>Dissemination</h3><p class=\"lead\">One broadcast from member 1: the "
                      "fraction of the other members that had delivered it, against protocol "
                      "periods; dashed, an epidemic's logistic curve x(t) = 1/(1 + (N-1)e<sup>-"
                      "&#946;t</sup>) with &#946; = 2(1 - loss) per period (each member pushes "
                      "its updates on its ping and pulls on the ack it gets back).</p>\n");
    draw(b, &c, "spread-chart", "Dissemination of one broadcast", "protocol periods",
         "fraction of members");
    chart_free(&c);
}

static void divergence(fl_buf *b, const fl_jr_doc *d, uint32_t part)
{
    uint32_t arr = rp_at(d, part, "view_divergence");
    if (arr != FL_JR_NONE && d->nodes[arr].type == FL_JR_ARRAY && d->nodes[arr].count) {
        chart c = {0};
        series *s =
            add(&c, RP_OK, false, false, "mean |live in view - up on its side| / up on its side");
        for (uint32_t e = arr + 1; e != FL_JR_NONE; e = d->nodes[e].next)
            point(s, rp_num(d, e, "t_ns", 0) / 1e9, rp_num(d, e, "fraction", 0));
        fl_buf_put_str(b, "<h3>View divergence</h3><p class=\"lead\">From the split, how far "
                          "the members' views are from the truth on their side (0: exact).</p>\n");
        draw(b, &c, "divergence-chart", "View divergence after a partition",
             "seconds since the split", "divergence");
        chart_free(&c);
    }
    views(b, d, part, FL_JR_NONE);
}

/* A scalar node's text as written (literals by type: their slice is empty). */
static void scalar(fl_buf *b, const fl_jr_doc *d, const fl_jr_node *v, size_t max)
{
    if (v->type == FL_JR_TRUE || v->type == FL_JR_FALSE || v->type == FL_JR_NULL)
        fl_buf_put_str(b, v->type == FL_JR_TRUE    ? "true"
                          : v->type == FL_JR_FALSE ? "false"
                                                   : "null");
    else
        rp_esc_n(b, d->text + v->off, v->len < max ? v->len : max);
}

/* A key (string node) of the untrusted document, escaped. */
static void esc_key(fl_buf *b, const fl_jr_doc *d, uint32_t k)
{
    char key[96];
    size_t len = 0;
    if (fl_jr_str(d, k, key, sizeof(key) - 1, &len))
        len = 0;
    key[len] = 0;
    rp_esc(b, key);
}

/* Scalars of an object as rows (nested objects as "a.b"), arrays of objects as tables. */
static void figures(fl_buf *b, const fl_jr_doc *d, uint32_t obj, const char *prefix, int depth)
{
    for (uint32_t k = d->nodes[obj].count ? obj + 1 : FL_JR_NONE; k != FL_JR_NONE;
         k = d->nodes[k + 1].next) {
        char key[96], name[200];
        size_t len = 0;
        if (fl_jr_str(d, k, key, sizeof(key) - 1, &len))
            len = 0;
        key[len] = 0;
        snprintf(name, sizeof(name), "%s%s", prefix, key);
        const fl_jr_node *v = &d->nodes[k + 1];
        if (v->type == FL_JR_OBJECT && depth < 3) {
            char sub[210];
            snprintf(sub, sizeof(sub), "%s.", name);
            figures(b, d, k + 1, sub, depth + 1);
        } else if (v->type != FL_JR_ARRAY && v->type != FL_JR_OBJECT) {
            fl_buf_put_str(b, "<tr><td>");
            rp_esc(b, name);
            fl_buf_put_str(b, "</td><td class=\"v\">");
            scalar(b, d, v, 80);
            fl_buf_put_str(b, "</td></tr>\n");
        }
    }
}

static void table_of(fl_buf *b, const fl_jr_doc *d, uint32_t arr)
{
    uint32_t first = d->nodes[arr].count ? arr + 1 : FL_JR_NONE;
    if (first == FL_JR_NONE || d->nodes[first].type != FL_JR_OBJECT)
        return;
    fl_buf_put_str(b, "<table><tr>");
    for (uint32_t k = d->nodes[first].count ? first + 1 : FL_JR_NONE; k != FL_JR_NONE;
         k = d->nodes[k + 1].next)
        if (d->nodes[k + 1].type != FL_JR_ARRAY && d->nodes[k + 1].type != FL_JR_OBJECT) {
            fl_buf_put_str(b, "<th>");
            esc_key(b, d, k);
            fl_buf_put_str(b, "</th>");
        }
    fl_buf_put_str(b, "</tr>\n");
    for (uint32_t e = first; e != FL_JR_NONE; e = d->nodes[e].next) {
        fl_buf_put_str(b, "<tr>");
        for (uint32_t k = d->nodes[e].count ? e + 1 : FL_JR_NONE; k != FL_JR_NONE;
             k = d->nodes[k + 1].next) {
            const fl_jr_node *v = &d->nodes[k + 1];
            if (v->type != FL_JR_ARRAY && v->type != FL_JR_OBJECT) {
                fl_buf_put_str(b, "<td class=\"v\">");
                scalar(b, d, v, 40);
                fl_buf_put_str(b, "</td>");
            }
        }
        fl_buf_put_str(b, "</tr>\n");
    }
    fl_buf_put_str(b, "</table>\n");
}

int rp_swim_report(const rp_doc *doc, fl_buf *out, char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    const fl_jr_doc *d = &doc->d;
    char scn[48], title[200];
    rp_str(d, 0, "scenario", scn, sizeof(scn));
    snprintf(title, sizeof(title), "faultline: SWIM %s, %.0f members, seed %.0f", scn,
             rp_num(d, 0, "nodes", 0), rp_num(d, 0, "seed", 0));
    rp_page_begin(out, title);
    fl_buf_put_str(out, "<h1>");
    rp_esc(out, title);
    fl_buf_printf(out,
                  "</h1>\n<p class=\"sub\">Lifeguard %s, loss %.0f%%, protocol period %.0f ms, "
                  "probe timeout %.0f ms; exit code %.0f.</p>\n",
                  rp_bool(d, 0, "lifeguard", true) ? "on" : "off", 100 * rp_num(d, 0, "loss", 0),
                  rp_num(d, 0, "probe_interval_ns", 0) / 1e6,
                  rp_num(d, 0, "probe_timeout_ns", 0) / 1e6, rp_num(d, 0, "exit_code", 0));
    rp_section_begin(out, "figures", "Figures", "As measured (times in ns, docs/results.md).");
    fl_buf_put_str(out, "<table>\n");
    figures(out, d, 0, "", 0);
    fl_buf_put_str(out, "</table>\n");
    static const char *lists[] = {"dissemination", "false_positives", "load"};
    for (size_t i = 0; i < 3; i++) {
        uint32_t arr = rp_at(d, 0, lists[i]);
        if (arr != FL_JR_NONE && d->nodes[arr].type == FL_JR_ARRAY)
            table_of(out, d, arr);
    }
    rp_section_end(out);
    rp_section_begin(out, "pictures", "Pictures", NULL);
    uint32_t n;
    if ((n = rp_at(d, 0, "detection")) != FL_JR_NONE)
        crash(out, d, n);
    if ((n = rp_at(d, 0, "dissemination")) != FL_JR_NONE && d->nodes[n].type == FL_JR_ARRAY)
        broadcast(out, d, n);
    if ((n = rp_at(d, 0, "partition")) != FL_JR_NONE)
        divergence(out, d, n);
    rp_section_end(out);
    rp_page_end(out);
    return out->err ? FL_ENOMEM : 0;
}
