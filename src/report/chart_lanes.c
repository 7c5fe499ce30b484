/* chart_lanes.c: the leadership timeline: one lane per node, coloured by what the node was
 * (follower, candidate, leader with its term written in, learner; down after a crash; paused),
 * from timeline.jsonl; the split-brain intervals of the observables in red across the lanes.
 * Events are replayed in time order (ties in file order). */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

#define TOP    26
#define LANE_H 22
#define LANE_G 6
#define BOTTOM 46

enum { S_FOLLOWER, S_PRE, S_CAND, S_LEADER, S_LEARNER, S_DOWN, S_PAUSED, S_COUNT };

static const struct {
    const char *name, *fill;
} states[S_COUNT] = {
    {"follower", "#e6eaf0"},       {"pre-candidate", "#f7ebb5"},
    {"candidate", "#efc350"},      {"leader", "#1f3f73"},
    {"learner", "#cdeede"},        {"down (crashed)", "url(#ln-down)"},
    {"paused", "url(#ln-paused)"},
};

typedef struct lane_state {
    fl_node_id node;
    int role; /* S_FOLLOWER..S_LEARNER */
    fl_term term;
    bool down, paused;
    int shown;          /* the state of the open segment */
    fl_term shown_term; /* its term */
    double since_s;     /* its start */
} lane_state;

static int cmp_ev(const void *a, const void *b)
{
    const fl_tl_event *x = *(const fl_tl_event *const *)a, *y = *(const fl_tl_event *const *)b;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    return x < y ? -1 : x > y; /* file order */
}

static int cmp_node(const void *a, const void *b)
{
    fl_node_id x = *(const fl_node_id *)a, y = *(const fl_node_id *)b;
    return x < y ? -1 : x > y;
}

static int visual(const lane_state *s)
{
    return s->down ? S_DOWN : s->paused ? S_PAUSED : s->role;
}

static void segment(fl_buf *b, const lane_state *s, const rp_axis *x, double y, double until_s)
{
    double x0 = rp_map(x, s->since_s), x1 = rp_map(x, until_s);
    if (x1 <= x0)
        return;
    fl_buf_printf(b,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                  "<title>n%u %s",
                  x0, y, x1 - x0, LANE_H, states[s->shown].fill, s->node, states[s->shown].name);
    if (s->shown <= S_LEARNER)
        fl_buf_printf(b, ", term %llu", (unsigned long long)s->shown_term);
    fl_buf_printf(b, ": %.3f-%.3f s</title></rect>", s->since_s, until_s);
    if (s->shown == S_LEADER && x1 - x0 >= 16)
        fl_buf_printf(b,
                      "<text x=\"%.1f\" y=\"%.1f\" fill=\"#fff\" style=\"fill:#fff\" "
                      "font-weight=\"600\">t%llu</text>",
                      x0 + 3, y + 15, (unsigned long long)s->shown_term);
    fl_buf_put_u8(b, '\n');
}

static void advance(fl_buf *b, lane_state *s, const rp_axis *x, double y, double t)
{
    int v = visual(s);
    fl_term term = v <= S_LEARNER ? s->term : 0;
    if (v == s->shown && term == s->shown_term)
        return;
    segment(b, s, x, y, t);
    s->shown = v;
    s->shown_term = term;
    s->since_s = t;
}

static void apply(lane_state *s, const fl_tl_event *e)
{
    switch (e->kind) {
    case FL_TL_ROLE:
        s->role = e->role <= FL_TL_LEARNER ? e->role : S_FOLLOWER;
        s->term = e->term;
        s->down = false; /* a node that reports a role is up */
        break;
    case FL_TL_CRASH:
        s->down = true;
        s->paused = false;
        break;
    case FL_TL_RESTART:
        s->down = false;
        s->role = S_FOLLOWER;
        break;
    case FL_TL_PAUSE:
        s->paused = true;
        break;
    case FL_TL_RESUME:
        s->paused = false;
        break;
    }
}

static double lane_y(size_t k)
{
    return TOP + (double)k * (LANE_H + LANE_G);
}

static void lanes(fl_buf *b, const rp_run *r, const rp_axis *x, const fl_node_id *ids, size_t n)
{
    const fl_tl_event **ev = malloc(r->tl.count * sizeof(*ev) + 1);
    lane_state *s = calloc(n, sizeof(*s));
    if (!ev || !s) {
        free(ev);
        free(s);
        return;
    }
    for (size_t i = 0; i < r->tl.count; i++)
        ev[i] = &r->tl.ev[i];
    qsort(ev, r->tl.count, sizeof(*ev), cmp_ev);
    for (size_t k = 0; k < n; k++)
        s[k] = (lane_state){.node = ids[k], .role = S_FOLLOWER, .shown = S_FOLLOWER};
    for (size_t i = 0; i < r->tl.count; i++) {
        const fl_node_id *at = bsearch(&ev[i]->node, ids, n, sizeof(*ids), cmp_node);
        if (!at)
            continue; /* past the lanes drawn */
        size_t k = (size_t)(at - ids);
        apply(&s[k], ev[i]);
        advance(b, &s[k], x, lane_y(k), (double)ev[i]->time_ns / 1e9);
    }
    for (size_t k = 0; k < n; k++) {
        segment(b, &s[k], x, lane_y(k), r->t1_s);
        fl_buf_printf(b,
                      "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"facet\">n%u</text>\n",
                      RP_LEFT - 8, lane_y(k) + 15, ids[k]);
    }
    free(ev);
    free(s);
}

static void splits(fl_buf *b, const rp_run *r, const rp_axis *x, double y0, double y1)
{
    const fl_jr_doc *d = r->d;
    uint32_t arr = rp_at(d, r->obs, "split_brain.list");
    if (arr == FL_JR_NONE || d->nodes[arr].type != FL_JR_ARRAY)
        return;
    for (uint32_t e = d->nodes[arr].count ? arr + 1 : FL_JR_NONE; e != FL_JR_NONE;
         e = d->nodes[e].next) {
        double s = rp_num(d, e, "start_ns", 0) / 1e9;
        double t = rp_has(d, e, "end_ns") ? rp_num(d, e, "end_ns", 0) / 1e9 : r->t1_s;
        bool same = rp_bool(d, e, "same_term", false);
        double a = rp_map(x, s), c = rp_map(x, t);
        c = c - a < 3 ? a + 3 : c;
        fl_buf_printf(b,
                      "<g><title>split brain %.3f-%.3f s: %s, terms %.0f-%.0f, stale leaders "
                      "served %.0f reads, %.0f writes</title><rect x=\"%.1f\" y=\"%.1f\" "
                      "width=\"%.1f\" height=\"%.1f\" fill=\"#e02424\" fill-opacity=\"%s\" "
                      "stroke=\"#c81e1e\" stroke-width=\"1.5\"/><rect x=\"%.1f\" y=\"%.1f\" "
                      "width=\"%.1f\" height=\"6\" fill=\"#c81e1e\"/></g>\n",
                      s, t, same ? "SAME TERM (violation)" : "stale leader",
                      rp_num(d, e, "term_min", 0), rp_num(d, e, "term_max", 0),
                      rp_num(d, e, "stale_served_reads", 0), rp_num(d, e, "stale_acked_writes", 0),
                      a, y0, c - a, y1 - y0, same ? "0.45" : "0.22", a, y0 - 9, c - a);
    }
}

static void legend(fl_buf *b)
{
    fl_buf_put_str(b, "<div class=\"legend\"><b>Lanes:</b>");
    for (int k = 0; k < S_COUNT; k++)
        fl_buf_printf(b,
                      "<span><svg width=\"22\" height=\"14\" viewBox=\"0 0 22 14\">%s<rect "
                      "width=\"22\" height=\"14\" fill=\"%s\" stroke=\"#888\"/></svg>%s</span>",
                      k == S_DOWN     ? "<defs><pattern id=\"lgd-down\" width=\"6\" height=\"6\" "
                                        "patternUnits=\"userSpaceOnUse\"><rect width=\"6\" "
                                        "height=\"6\" fill=\"#fff\"/><path d=\"M0 0L6 6M6 0L0 6\" "
                                        "stroke=\"#222\"/></pattern></defs>"
                      : k == S_PAUSED ? "<defs><pattern id=\"lgd-paused\" width=\"6\" height=\"6\" "
                                        "patternUnits=\"userSpaceOnUse\"><rect width=\"6\" "
                                        "height=\"6\" fill=\"#9aa3ad\"/><path d=\"M0 6L6 0\" "
                                        "stroke=\"#fff\" stroke-width=\"1.5\"/></pattern></defs>"
                                      : "",
                      k == S_DOWN     ? "url(#lgd-down)"
                      : k == S_PAUSED ? "url(#lgd-paused)"
                                      : states[k].fill,
                      states[k].name);
    fl_buf_put_str(b, "<span><svg width=\"22\" height=\"14\" viewBox=\"0 0 22 14\"><rect "
                      "width=\"22\" height=\"14\" fill=\"#e02424\" fill-opacity=\"0.3\" "
                      "stroke=\"#c81e1e\"/></svg>split brain</span></div>\n");
}

/* Distinct node ids of the timeline, sorted; returns how many (at most max). */
static size_t node_ids(const rp_run *r, fl_node_id *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->tl.count; i++) {
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = ids[k] == r->tl.ev[i].node;
        if (!seen && n < max)
            ids[n++] = r->tl.ev[i].node;
    }
    qsort(ids, n, sizeof(*ids), cmp_node);
    return n;
}

void rp_chart_lanes(fl_buf *b, const rp_run *r)
{
    fl_node_id ids[64];
    size_t n = r->has_tl ? node_ids(r, ids, 64) : 0;
    if (n == 0) {
        fl_buf_printf(b, "<p class=\"sub\">Not drawn: no timeline.jsonl in the run directory "
                         "(the split-brain figures are in the table above).</p>\n");
        return;
    }
    rp_axis x;
    rp_time_axis_of(r, &x);
    double y_end = lane_y(n) - LANE_G;
    rp_svg_time_begin(b, "lanes-chart", (int)y_end + BOTTOM, r->t1_s,
                      "Role and term of every node over time");
    rp_fault_defs(b, "ln");
    fl_buf_put_str(b, "<defs><pattern id=\"ln-down\" width=\"6\" height=\"6\" "
                      "patternUnits=\"userSpaceOnUse\"><rect width=\"6\" height=\"6\" "
                      "fill=\"#fff\"/><path d=\"M0 0L6 6M6 0L0 6\" stroke=\"#222\"/></pattern>"
                      "<pattern id=\"ln-paused\" width=\"6\" height=\"6\" "
                      "patternUnits=\"userSpaceOnUse\"><rect width=\"6\" height=\"6\" "
                      "fill=\"#9aa3ad\"/><path d=\"M0 6L6 0\" stroke=\"#fff\" "
                      "stroke-width=\"1.5\"/></pattern></defs>\n");
    rp_fault_bands(b, r, &x, TOP - 12, y_end, "ln", false);
    rp_axis_time(b, &x, y_end, TOP);
    lanes(b, r, &x, ids, n);
    splits(b, r, &x, TOP, y_end);
    rp_svg_time_end(b, TOP, y_end);
    legend(b);
}
