/* lin_html.c: the checker's result as one self-contained HTML page with an inline SVG
 * (fl_lincheck_html, lincheck.h). No script, no network: tooltips are SVG <title>s.
 *
 * Layout: one lane per process; x is the position of events in the history (real-time
 * order), which keeps concurrent ops readable whatever their durations. Each op is a bar from
 * its invocation to its completion (to the right edge when it never completed), coloured by
 * outcome. The longest linearization found is a polyline through its ops in order, one dot
 * per op placed inside the op's interval and never left of the previous dot. The failing point
 * (the completion of the op that could not take effect) is a red vertical line. Only the
 * failing key is drawn, and at most max_ops of its ops around the failing point. */
#include "lin_internal.h"

#include "faultline/error.h"
#include "faultline/json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LANE_H 26
#define BAR_H  14
#define LEFT_W 90
#define PLOT_W 1200
#define TOP_H  40

typedef struct view {
    const fl_history *h;
    const fl_lincheck_result *r;
    uint32_t key;
    uint32_t *ops; /* drawn ops, by invocation */
    size_t n;
    uint32_t ev_lo, ev_hi; /* event range on the x axis */
    uint32_t *xs;          /* the drawn ops' events, sorted: x is the rank in it */
    size_t n_xs;
    int64_t *lanes; /* distinct processes, sorted */
    size_t n_lanes;
    uint32_t *order;    /* [i] = position of op ops[i] in the prefix, UINT32_MAX if not in it */
    char **state_after; /* [i] = model state after ops[i] in the prefix, or NULL */
} view;

static void esc(fl_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fl_buf_put_str(b, "&lt;");
        else if (*s == '>')
            fl_buf_put_str(b, "&gt;");
        else if (*s == '&')
            fl_buf_put_str(b, "&amp;");
        else if (*s == '"')
            fl_buf_put_str(b, "&quot;");
        else
            fl_buf_put_u8(b, (uint8_t)*s);
    }
}

static void op_text(const view *v, uint32_t op, fl_buf *b)
{
    fl_buf t;
    fl_buf_init(&t);
    fl_lincheck_format_op(v->h, &v->r->ops[op], &t);
    fl_buf_put_u8(&t, 0);
    if (!t.err)
        esc(b, (const char *)t.data);
    fl_buf_free(&t);
}

/* The rank of event ev among the drawn events (the first not below it). */
static size_t rank_of(const view *v, uint32_t ev)
{
    size_t lo = 0, hi = v->n_xs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->xs[mid] < ev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* x of an event: evenly spaced by rank among the drawn ops' events (other keys' events take
 * no room); FL_EV_NONE is the right edge. */
static double x_of(const view *v, uint32_t ev)
{
    double r = ev == FL_EV_NONE ? (double)v->n_xs : (double)rank_of(v, ev) + 0.5;
    return LEFT_W + r / ((double)v->n_xs + 0.5) * PLOT_W;
}

static bool drawn(const view *v, const fl_op *op)
{
    size_t r = rank_of(v, op->call);
    return op->key == v->key && r < v->n_xs && v->xs[r] == op->call;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int build_xs(view *v)
{
    v->xs = malloc((v->n * 2 + 1) * sizeof(*v->xs));
    if (!v->xs)
        return FL_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        const fl_op *op = &v->r->ops[v->ops[i]];
        v->xs[v->n_xs++] = op->call;
        if (op->ret != FL_EV_NONE)
            v->xs[v->n_xs++] = op->ret;
    }
    qsort(v->xs, v->n_xs, sizeof(*v->xs), cmp_u32);
    return 0;
}

static size_t lane_of(const view *v, int64_t process)
{
    size_t lo = 0, hi = v->n_lanes;
    while (lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->lanes[mid] <= process)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Replays the prefix through the model and keeps the state after each drawn op. */
static int replay(view *v, const uint32_t *pos_of)
{
    const fl_lincheck_cex *c = &v->r->cex;
    lin_vals vals;
    fl__lin_vals_init(&vals);
    uint32_t state = LIN_NIL;
    int rc = fl__lin_vals_from(&vals, v->h, v->r->initial, &state);
    for (size_t i = 0; i < c->prefix_len && !rc; i++) {
        lin_op o;
        uint32_t next = state;
        rc = fl__lin_op_from(&vals, v->h, &v->r->ops[c->prefix[i]], &o);
        if (!rc && fl__lin_step(&vals, &o, state, &next) < 0)
            rc = FL_ENOMEM;
        state = next;
        uint32_t at = pos_of[c->prefix[i]];
        if (rc || at == UINT32_MAX)
            continue;
        fl_buf t;
        fl_buf_init(&t);
        fl__lin_vals_format(&vals, state, &t);
        fl_buf_put_u8(&t, 0);
        v->state_after[at] = t.err ? NULL : (char *)t.data;
        v->order[at] = (uint32_t)i;
    }
    fl__lin_vals_free(&vals);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Chooses the key and the window of its ops to draw. */
static int select_ops(view *v, size_t max_ops)
{
    const fl_lincheck_result *r = v->r;
    v->key = r->has_cex ? r->cex.key : r->part_count ? r->parts[0].key : FL_KEY_NONE;
    for (size_t i = 0; !r->has_cex && i < r->part_count; i++)
        if (r->parts[i].verdict == FL_LIN_UNKNOWN) { /* show what could not be decided */
            v->key = r->parts[i].key;
            break;
        }
    uint32_t *all = malloc((r->op_count + 1) * sizeof(*all));
    if (!all)
        return FL_ENOMEM;
    size_t m = 0, center = 0;
    uint32_t focus = r->has_cex ? (r->cex.blocked != UINT32_MAX ? r->cex.blocked
                                   : r->cex.prefix_len ? r->cex.prefix[r->cex.prefix_len - 1]
                                                       : UINT32_MAX)
                                : UINT32_MAX;
    for (size_t i = 0; i < r->op_count; i++) {
        if (r->ops[i].key != v->key)
            continue;
        if (i == focus)
            center = m;
        all[m++] = (uint32_t)i;
    }
    size_t lo = center > max_ops / 2 ? center - max_ops / 2 : 0;
    size_t hi = lo + max_ops < m ? lo + max_ops : m;
    v->n = hi - lo;
    memmove(all, all + lo, v->n * sizeof(*all));
    v->ops = all;
    return 0;
}

static int build_view(view *v, uint32_t **pos_of_out)
{
    v->lanes = malloc((v->n + 1) * sizeof(*v->lanes));
    v->order = malloc((v->n + 1) * sizeof(*v->order));
    v->state_after = calloc(v->n + 1, sizeof(*v->state_after));
    uint32_t *pos_of = malloc((v->r->op_count + 1) * sizeof(*pos_of));
    *pos_of_out = pos_of;
    if (!v->lanes || !v->order || !v->state_after || !pos_of)
        return FL_ENOMEM;
    memset(pos_of, 0xff, (v->r->op_count + 1) * sizeof(*pos_of));
    v->ev_lo = UINT32_MAX;
    v->ev_hi = 0;
    for (size_t i = 0; i < v->n; i++) {
        const fl_op *op = &v->r->ops[v->ops[i]];
        pos_of[v->ops[i]] = (uint32_t)i;
        v->order[i] = UINT32_MAX;
        v->lanes[i] = op->process;
        v->ev_lo = op->call < v->ev_lo ? op->call : v->ev_lo;
        uint32_t end = op->ret != FL_EV_NONE ? op->ret : op->call;
        v->ev_hi = end > v->ev_hi ? end : v->ev_hi;
    }
    if (!v->n)
        v->ev_lo = 0;
    v->ev_hi++;
    qsort(v->lanes, v->n, sizeof(*v->lanes), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < v->n; i++)
        if (!u || v->lanes[u - 1] != v->lanes[i])
            v->lanes[u++] = v->lanes[i];
    v->n_lanes = u;
    int rc = build_xs(v);
    return rc ? rc : v->r->has_cex ? replay(v, pos_of) : 0;
}

static const char *bar_colour(const fl_op *op)
{
    if (op->ret == FL_EV_NONE)
        return "#f5c77e";
    return op->outcome == FL_EV_OK ? "#7cc47f" : op->outcome == FL_EV_FAIL ? "#c8c8c8" : "#f0a040";
}

static bool is_tried(const fl_lincheck_result *r, uint32_t op)
{
    for (size_t i = 0; r->has_cex && i < r->cex.tried_len; i++)
        if (r->cex.tried[i] == op)
            return true;
    return false;
}

static void short_label(const view *v, const fl_op *op, fl_buf *b)
{
    fl_buf t;
    fl_buf_init(&t);
    static const char *const names[] = {"r", "w", "cas", "get", "put", "app", "del", "incr"};
    fl_buf_put_str(&t, names[op->f]);
    fl_buf_put_u8(&t, ' ');
    if (op->f == FL_F_CAS) {
        fl_lincheck_format_value(v->h, op->in, &t);
        fl_buf_put_str(&t, "\xe2\x86\x92"); /* → */
        fl_lincheck_format_value(v->h, op->in2, &t);
    } else if (op->f == FL_F_READ || op->f == FL_F_GET) {
        if (op->outcome == FL_EV_OK)
            fl_lincheck_format_value(v->h, op->out, &t);
        else
            fl_buf_put_u8(&t, '?');
    } else if (op->f != FL_F_DELETE) {
        fl_lincheck_format_value(v->h, op->in, &t);
    }
    fl_buf_put_u8(&t, 0);
    if (!t.err)
        esc(b, (const char *)t.data);
    fl_buf_free(&t);
}

static void draw_bar(const view *v, size_t i, fl_buf *b)
{
    uint32_t g = v->ops[i];
    const fl_op *op = &v->r->ops[g];
    bool open = op->ret == FL_EV_NONE || op->outcome == FL_EV_INFO; /* may still take effect */
    double x1 = x_of(v, op->call), x2 = open ? LEFT_W + PLOT_W : x_of(v, op->ret);
    if (x2 - x1 < 3)
        x2 = x1 + 3;
    double y = TOP_H + (double)lane_of(v, op->process) * LANE_H + (LANE_H - BAR_H) / 2.0;
    bool blocked = v->r->has_cex && v->r->cex.blocked == g;
    const char *stroke = blocked ? "#d00000" : is_tried(v->r, g) ? "#e07000" : "#555";
    fl_buf_printf(b,
                  "<g class=\"op\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                  "rx=\"3\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%d\"%s/>",
                  x1, y, x2 - x1, BAR_H, bar_colour(op), stroke, blocked ? 3 : 1,
                  open ? " stroke-dasharray=\"4 2\" fill-opacity=\"0.6\"" : "");
    if (x2 - x1 > 40) {
        fl_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">", x1 + 3, y + BAR_H - 3);
        short_label(v, op, b);
        fl_buf_put_str(b, "</text>");
    }
    fl_buf_put_str(b, "<title>");
    op_text(v, g, b);
    if (v->order[i] != UINT32_MAX)
        fl_buf_printf(b, "\nlinearized #%u; state after it: %s", v->order[i] + 1,
                      v->state_after[i] ? v->state_after[i] : "?");
    else if (v->r->has_cex)
        fl_buf_put_str(b, "\nnot in the longest linearization");
    if (blocked)
        fl_buf_put_str(b, "\nFAILING POINT: completed, but cannot take effect from the state "
                          "the linearization reached");
    fl_buf_put_str(b, "</title></g>\n");
}

/* The linearization: dots inside each op's interval, never moving left. */
static void draw_linearization(const view *v, fl_buf *b)
{
    const fl_lincheck_cex *c = &v->r->cex;
    double prev = 0;
    bool any = false;
    fl_buf dots;
    fl_buf_init(&dots);
    fl_buf_put_str(b, "<polyline class=\"lin\" points=\"");
    for (size_t j = 0; j < c->prefix_len; j++) {
        uint32_t g = c->prefix[j];
        const fl_op *op = &v->r->ops[g];
        if (!drawn(v, op))
            continue;
        bool open = op->ret == FL_EV_NONE || op->outcome == FL_EV_INFO;
        double x1 = x_of(v, op->call) + 2, x2 = open ? LEFT_W + PLOT_W : x_of(v, op->ret) - 2;
        double x = prev > x1 ? prev : x1;
        if (x > x2)
            x = x2 > x1 ? x2 : x1;
        prev = x;
        double y = TOP_H + (double)lane_of(v, op->process) * LANE_H + LANE_H / 2.0;
        fl_buf_printf(b, "%.1f,%.1f ", x, y);
        fl_buf_printf(&dots, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" class=\"dot\"/>", x, y);
        any = true;
    }
    fl_buf_put_str(b, "\"/>\n");
    if (any && !dots.err)
        fl_buf_put_bytes(b, dots.data, dots.len);
    fl_buf_free(&dots);
}

static void draw_failing_point(const view *v, fl_buf *b)
{
    const fl_lincheck_cex *c = &v->r->cex;
    if (c->blocked == UINT32_MAX)
        return;
    double x = x_of(v, v->r->ops[c->blocked].ret);
    double y2 = TOP_H + (double)v->n_lanes * LANE_H;
    const fl_op *op = &v->r->ops[c->blocked];
    double yb = TOP_H + (double)lane_of(v, op->process) * LANE_H;
    fl_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"failtxt\" text-anchor=\"end\">",
                  x_of(v, op->call) - 4, yb + LANE_H / 2.0 + 4);
    short_label(v, op, b);
    fl_buf_put_str(b, " \xe2\x96\xb6</text>");
    fl_buf_printf(b,
                  "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"fail\"/>"
                  "<text x=\"%.1f\" y=\"%d\" class=\"failtxt\">no linearization extends past "
                  "here</text>\n",
                  x, TOP_H - 14, x, y2, x + 4, TOP_H - 18);
}

static void draw_svg(const view *v, fl_buf *b)
{
    double h = TOP_H + (double)v->n_lanes * LANE_H + 24;
    fl_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\">\n",
                  LEFT_W + PLOT_W + 20, h);
    for (size_t l = 0; l < v->n_lanes; l++) {
        double y = TOP_H + (double)l * LANE_H;
        fl_buf_printf(b,
                      "<rect x=\"0\" y=\"%.1f\" width=\"%d\" height=\"%d\" class=\"%s\"/>"
                      "<text x=\"6\" y=\"%.1f\" class=\"lane\">process %" PRId64 "</text>\n",
                      y, LEFT_W + PLOT_W + 20, LANE_H, l % 2 ? "odd" : "even", y + LANE_H / 2.0 + 4,
                      v->lanes[l]);
    }
    fl_buf_printf(b,
                  "<text x=\"%d\" y=\"%.0f\" class=\"axis\">history events %u .. %u "
                  "(real-time order) \xe2\x86\x92</text>\n",
                  LEFT_W, h - 6, v->ev_lo + 1, v->ev_hi);
    for (size_t i = 0; i < v->n; i++)
        draw_bar(v, i, b);
    if (v->r->has_cex) {
        draw_linearization(v, b);
        draw_failing_point(v, b);
    }
    fl_buf_put_str(b, "</svg>\n");
}

static const char CSS[] =
    "body{font:14px system-ui,sans-serif;margin:16px;color:#222}"
    "h1{font-size:20px;margin:0 0 6px}.ok{color:#2a7d2e}.bad{color:#c00000}.unk{color:#b06000}"
    "pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}"
    ".even{fill:#fafafa}.odd{fill:#f0f0f0}.lane{font-size:11px;fill:#444}"
    ".lbl{font-size:10px;fill:#111;pointer-events:none}.axis{font-size:11px;fill:#666}"
    ".lin{fill:none;stroke:#1f5fbf;stroke-width:1.5;opacity:.55}.dot{fill:#1f5fbf}"
    ".fail{stroke:#d00000;stroke-width:2;stroke-dasharray:6 3}"
    ".failtxt{fill:#d00000;font-size:12px;font-weight:bold}"
    ".op:hover rect{stroke:#000;stroke-width:3}"
    ".key span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;"
    "border:1px solid #555;vertical-align:middle}";

/* For a failing read: which op wrote the value it returned, if any. */
static void explain_read(const view *v, const fl_op *rd, fl_buf *b)
{
    if (rd->f != FL_F_READ && rd->f != FL_F_GET)
        return;
    fl_buf_put_str(b, "The value it returned, ");
    fl_buf t;
    fl_buf_init(&t);
    fl_lincheck_format_value(v->h, rd->out, &t);
    fl_buf_put_u8(&t, 0);
    esc(b, t.err ? "?" : (const char *)t.data);
    fl_buf_free(&t);
    for (size_t i = 0; i < v->r->op_count; i++) {
        const fl_op *w = &v->r->ops[i];
        bool writes = w->f == FL_F_WRITE || w->f == FL_F_PUT || w->f == FL_F_CAS;
        fl_value x = w->f == FL_F_CAS ? w->in2 : w->in;
        if (w->key != rd->key || !writes || w->outcome == FL_EV_FAIL || !fl_value_eq(x, rd->out))
            continue;
        fl_buf_put_str(b, ", was written by:\n  ");
        op_text(v, (uint32_t)i, b);
        fl_buf_put_u8(b, '\n');
        return;
    }
    fl_buf_put_str(b, rd->out.kind == FL_VALUE_NIL ? ", is the initial value.\n"
                                                   : ", was never written by any op.\n");
}

static void summary(const view *v, fl_model model, const char *title, fl_buf *b)
{
    const fl_lincheck_result *r = v->r;
    const char *cls = r->verdict == FL_LIN_OK          ? "ok"
                      : r->verdict == FL_LIN_VIOLATION ? "bad"
                                                       : "unk";
    fl_buf_printf(b, "<h1 class=\"%s\">", cls);
    esc(b, title);
    fl_buf_printf(b, ": %s</h1>\n<div>%zu ops, %zu keys, model %s. Showing key ",
                  fl_verdict_text(r->verdict, r->consistency), r->op_count, r->part_count,
                  fl_model_name(model));
    if (v->key == FL_KEY_NONE)
        fl_buf_put_str(b, "(none)");
    else
        esc(b, fl_history_str(v->h, v->key, NULL));
    fl_buf_printf(b, ", %zu of its ops.</div>\n", v->n);
    fl_buf_put_str(
        b, "<div class=\"key\"><span style=\"background:#7cc47f\"></span>ok"
           "<span style=\"background:#f0a040;border-style:dashed\"></span>info (may take effect "
           "until the end)"
           "<span style=\"background:#f5c77e;border-style:dashed\"></span>never "
           "completed<span style=\"background:#c8c8c8\"></span>fail"
           "<span style=\"background:#fff;border:3px solid #d00000\"></span>failing op"
           "<span style=\"background:#fff;border:2px solid #e07000\"></span>could go "
           "next<span style=\"background:#1f5fbf;height:3px\"></span>longest "
           "linearization (hover an op for the state)</div>\n");
    if (!r->has_cex)
        return;
    const fl_lincheck_cex *c = &r->cex;
    fl_buf_printf(b, "<pre>The longest %s of this key has %zu ops; the model state after it is ",
                  r->consistency == FL_CONS_SEQUENTIAL
                      ? "sequential order (each process's ops in their order)"
                      : "linearizable prefix",
                  c->prefix_len);
    esc(b, c->state);
    fl_buf_put_str(b, ".\n");
    if (c->blocked != UINT32_MAX) {
        fl_buf_put_str(b, "This op completed, but cannot take effect in any order from there:\n  ");
        op_text(v, c->blocked, b);
        fl_buf_put_u8(b, '\n');
    }
    if (c->blocked != UINT32_MAX)
        explain_read(v, &r->ops[c->blocked], b);
    fl_buf_put_str(b, "Ops that could take effect next (each refused or leading to a dead end):\n");
    for (size_t i = 0; i < c->tried_len; i++) {
        fl_buf_put_str(b, "  ");
        op_text(v, c->tried[i], b);
        fl_buf_put_u8(b, '\n');
    }
    fl_buf_put_str(b, "</pre>\n");
}

int fl_lincheck_html(const fl_history *h, const fl_lincheck_result *r, fl_model model,
                     const char *title, size_t max_ops, fl_buf *out)
{
    view v = {.h = h, .r = r};
    uint32_t *pos_of = NULL;
    int rc = select_ops(&v, max_ops ? max_ops : 1);
    if (!rc)
        rc = build_view(&v, &pos_of);
    if (!rc) {
        fl_buf_printf(out, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
        esc(out, title);
        fl_buf_printf(out, ": %s</title><style>%s</style></head><body>\n",
                      fl_verdict_text(r->verdict, r->consistency), CSS);
        summary(&v, model, title, out);
        draw_svg(&v, out);
        fl_buf_put_str(out, "</body></html>\n");
        rc = out->err;
    }
    for (size_t i = 0; v.state_after && i < v.n; i++)
        free(v.state_after[i]);
    free(v.state_after);
    free(v.ops);
    free(v.lanes);
    free(v.order);
    free(v.xs);
    free(pos_of);
    return rc;
}
