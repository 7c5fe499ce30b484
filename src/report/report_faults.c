/* report_faults.c: fault intervals on every chart over time: one shaded band per interval,
 * its colour and hatching by category (so kinds stay apart in greyscale), its kind and
 * targets written above it when they fit; the legend and the table of intervals; the time
 * axis shared by those charts; the longest write gap. */
#include "report_int.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    const char *fill;   /* light tint */
    const char *stroke; /* hatching, darker */
    const char *hatch;  /* pattern path in a 8x8 tile */
} cats[RP_CATS] = {
    {"network partition", "#cfe3f5", "#5b8fc7", "M0 8L8 0M-2 2L2 -2M6 10L10 6"},
    {"crash", "#f9d3cc", "#c0504d", "M0 4H8"},
    {"pause", "#fbe3c4", "#c98a2b", "M2 2h1M6 6h1"},
    {"link quality (loss, dup, delay)", "#d6ecd2", "#4f9a45", "M4 0V8"},
    {"clock", "#e2ddf0", "#7a68b0", "M0 0L8 8M-2 6L2 10M6 -2L10 2"},
    {"leadership, membership", "#e4e4e4", "#7a7a7a", "M0 4H8M4 0V8"},
    {"other", "#eeeeee", "#9a9a9a", "M0 0h1"},
};

int rp_fault_cat(const char *k)
{
    static const struct {
        const char *word;
        int cat;
    } words[] = {
        {"skew", RP_NET},        {"partition", RP_NET}, {"isolate", RP_NET},   {"ring", RP_NET},
        {"bridge", RP_NET},      {"one-way", RP_NET},   {"crash", RP_CRASH},   {"kill", RP_CRASH},
        {"restart", RP_CRASH},   {"pause", RP_PAUSE},   {"stop", RP_PAUSE},    {"loss", RP_LINK},
        {"dup", RP_LINK},        {"delay", RP_LINK},    {"slow", RP_LINK},     {"clock", RP_CLOCK},
        {"transfer", RP_MEMBER}, {"churn", RP_MEMBER},  {"member", RP_MEMBER}, {"flp", RP_LINK}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(k, words[i].word))
            return words[i].cat;
    return RP_OTHER;
}

void rp_fault_defs(fl_buf *b, const char *prefix)
{
    fl_buf_put_str(b, "<defs>");
    for (int c = 0; c < RP_CATS; c++)
        fl_buf_printf(b,
                      "<pattern id=\"%s-f%d\" width=\"8\" height=\"8\" "
                      "patternUnits=\"userSpaceOnUse\"><rect width=\"8\" height=\"8\" "
                      "fill=\"%s\"/><path d=\"%s\" stroke=\"%s\" stroke-width=\"1\" "
                      "stroke-opacity=\"0.55\"/></pattern>",
                      prefix, c, cats[c].fill, cats[c].hatch, cats[c].stroke);
    fl_buf_put_str(b, "</defs>\n");
}

void rp_time_axis_of(const rp_run *r, rp_axis *x)
{
    *x = (rp_axis){0, r->t1_s, RP_LEFT, RP_W - RP_RIGHT, false, false};
}

/* w: the room up to the next band (labels may run over the calm after their band). */
static void band_label(fl_buf *b, const rp_fault *f, size_t i, double x0, double w, double y)
{
    size_t kind_len = strlen(f->kind), tg_len = strlen(f->targets);
    double char_w = 5.6; /* at 10 px */
    fl_buf_printf(b, "<text class=\"flabel\" x=\"%.1f\" y=\"%.1f\">", x0 + 2, y);
    if ((double)kind_len * char_w <= w - 2)
        rp_esc(b, f->kind);
    else if (w >= 14)
        fl_buf_printf(b, "#%zu", i + 1);
    fl_buf_put_str(b, "</text>");
    if (tg_len && (double)tg_len * char_w <= w - 2 && (double)kind_len * char_w <= w - 2) {
        fl_buf_printf(b, "<text class=\"flabel\" x=\"%.1f\" y=\"%.1f\">", x0 + 2, y + 11);
        rp_esc(b, f->targets);
        fl_buf_put_str(b, "</text>");
    }
}

void rp_fault_bands(fl_buf *b, const rp_run *r, const rp_axis *x, double y0, double y1,
                    const char *prefix, bool label)
{
    fl_buf_put_str(b, "<g class=\"bands\">");
    for (size_t i = 0; i < r->n_faults; i++) {
        const rp_fault *f = &r->faults[i];
        double s = (double)f->start_ns / 1e9;
        double e = f->end_ns == FL_TIME_NEVER ? r->t1_s : (double)f->end_ns / 1e9;
        double px0 = rp_map(x, s), px1 = rp_map(x, e);
        if (px1 - px0 < 1.5) /* a short fault stays visible */
            px1 = px0 + 1.5;
        fl_buf_printf(b,
                      "<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"url(#%s-f%d)\" fill-opacity=\"0.8\"><title>#%zu %.3f-%.3f s: ",
                      px0, y0, px1 - px0, y1 - y0, prefix, f->cat, i + 1, s, e);
        rp_esc(b, f->kind);
        if (f->targets[0]) {
            fl_buf_put_str(b, " (");
            rp_esc(b, f->targets);
            fl_buf_put_u8(b, ')');
        }
        fl_buf_put_str(b, "</title></rect>");
        double room = x->p1 - px0;
        for (size_t k = 0; k < r->n_faults; k++) { /* the nearest band starting after this one */
            double s2 = rp_map(x, (double)r->faults[k].start_ns / 1e9);
            if (s2 > px0 && s2 - px0 < room)
                room = s2 - px0;
        }
        if (label)
            band_label(b, f, i, px0, room - 3, y0 - 14);
    }
    fl_buf_put_str(b, "</g>\n");
}

static void swatch(fl_buf *b, int cat)
{
    fl_buf_printf(b,
                  "<svg width=\"26\" height=\"14\" viewBox=\"0 0 26 14\"><defs><pattern "
                  "id=\"lg-f%d\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\"><rect "
                  "width=\"8\" height=\"8\" fill=\"%s\"/><path d=\"%s\" stroke=\"%s\" "
                  "stroke-opacity=\"0.55\"/></pattern></defs><rect width=\"26\" height=\"14\" "
                  "fill=\"url(#lg-f%d)\" stroke=\"%s\"/></svg>",
                  cat, cats[cat].fill, cats[cat].hatch, cats[cat].stroke, cat, cats[cat].stroke);
}

void rp_fault_legend(fl_buf *b, const rp_run *r)
{
    if (!r->n_faults) {
        fl_buf_put_str(b, "<p class=\"sub\">No fault was injected.</p>\n");
        return;
    }
    bool seen[RP_CATS] = {false};
    for (size_t i = 0; i < r->n_faults; i++)
        seen[r->faults[i].cat] = true;
    fl_buf_put_str(b, "<div class=\"legend\"><b>Faults:</b>");
    for (int c = 0; c < RP_CATS; c++) {
        if (!seen[c])
            continue;
        fl_buf_put_str(b, "<span>");
        swatch(b, c);
        fl_buf_printf(b, "%s: ", cats[c].name);
        bool first = true;
        char done[64][FL_OBSERVE_FAULT_KIND_SIZE];
        size_t n_done = 0;
        for (size_t i = 0; i < r->n_faults; i++) {
            const rp_fault *f = &r->faults[i];
            bool dup = false;
            for (size_t k = 0; k < n_done && !dup; k++)
                dup = !strcmp(done[k], f->kind);
            if (f->cat != c || dup || n_done == 64)
                continue;
            memcpy(done[n_done++], f->kind, sizeof(f->kind));
            fl_buf_put_str(b, first ? "" : ", ");
            rp_esc(b, f->kind);
            first = false;
        }
        fl_buf_put_str(b, "</span>");
    }
    fl_buf_put_str(b, "</div>\n<details><summary>The fault intervals</summary><table><tr><th>#"
                      "</th><th>from (s)</th><th>to (s)</th><th>kind</th><th>targets</th></tr>\n");
    for (size_t i = 0; i < r->n_faults; i++) {
        const rp_fault *f = &r->faults[i];
        fl_buf_printf(b, "<tr><td>%zu</td><td>%.3f</td><td>", i + 1, (double)f->start_ns / 1e9);
        if (f->end_ns == FL_TIME_NEVER)
            fl_buf_put_str(b, "end");
        else
            fl_buf_printf(b, "%.3f", (double)f->end_ns / 1e9);
        fl_buf_put_str(b, "</td><td>");
        rp_esc(b, f->kind);
        fl_buf_put_str(b, "</td><td>");
        rp_esc(b, f->targets);
        fl_buf_put_str(b, "</td></tr>\n");
    }
    fl_buf_put_str(b, "</table></details>\n");
}

void rp_write_gap(fl_buf *b, const rp_run *r, const rp_axis *x, double y0, double y1,
                  double y_label)
{
    if (!rp_has(r->d, r->obs, "availability.write_gap_max_ns"))
        return;
    double gap = rp_num(r->d, r->obs, "availability.write_gap_max_ns", 0);
    double s = rp_num(r->d, r->obs, "availability.write_gap_start_ns", 0) / 1e9;
    double e = rp_num(r->d, r->obs, "availability.write_gap_end_ns", 0) / 1e9;
    if (!(gap > 0) || e < s)
        return;
    double a = rp_map(x, s), c = rp_map(x, e);
    char t[32];
    rp_fmt_ns(t, sizeof(t), gap);
    bool right = a > (x->p0 + x->p1) / 2; /* the label reads away from the right edge */
    fl_buf_printf(b,
                  "<g class=\"gap\"><title>longest time without a successful write: %s "
                  "(%.3f-%.3f s)</title>"
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" "
                  "stroke-dasharray=\"4 3\"/><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                  "y2=\"%.1f\" stroke=\"#111\" stroke-dasharray=\"4 3\"/>"
                  "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#111\" stroke-width=\"2\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-weight=\"600\">"
                  "longest write gap %s</text></g>\n",
                  t, s, e, a, y0, a, y1, c, y0, c, y1, a, y_label, c > a + 1 ? c : a + 1,
                  right ? a - 4 : c + 4, y_label + 4, right ? "end" : "start", t);
}
