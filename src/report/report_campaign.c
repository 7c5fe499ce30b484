/* report_campaign.c: the report of a campaign over seeds, from the records of every
 * campaign*.jsonl in the directory (campaign.jsonl, or the campaign-K-of-N.jsonl of shards):
 * how many runs and violations, the distribution over seeds of throughput, recovery time,
 * elections and messages per op as histograms, and the violations with the command that
 * reproduces each. */
#include "report_int.h"

#include "faultline/error.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LINE_NODES_MAX 1024
#define FILES_MAX      4096
#define SHOWN_MAX      500 /* violation rows in the table */
#define BINS           24
#define HW             540 /* histogram width */
#define HH             200

enum { M_RATE, M_RECOVER, M_ELECTIONS, M_MSGS, METRICS };

typedef struct camp {
    double *v[METRICS];
    size_t n[METRICS], cap;
    uint64_t runs, violations, not_live, unknown, bad_lines;
    fl_buf rows; /* the violations table's rows */
    uint64_t shown;
} camp;

static void push(camp *c, int m, double v)
{
    if (c->n[m] == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        for (int k = 0; k < METRICS; k++) {
            double *p = realloc(c->v[k], cap * sizeof(double));
            if (!p)
                return;
            c->v[k] = p;
        }
        c->cap = cap;
    }
    c->v[m][c->n[m]++] = v;
}

static void violation_row(camp *c, const fl_jr_doc *d)
{
    if (c->shown++ >= SHOWN_MAX)
        return;
    char what[400], repro[1200];
    fl_buf_printf(&c->rows, "<tr><td>%.0f</td><td>", rp_num(d, 0, "seed", 0));
    rp_str(d, 0, "verdict.summary", what, sizeof(what));
    if (!what[0])
        rp_str(d, 0, "error", what, sizeof(what));
    rp_esc(&c->rows, what[0] ? what : "violation");
    fl_buf_put_str(&c->rows, "</td></tr>\n");
    if (rp_str(d, 0, "reproduce", repro, sizeof(repro))[0]) {
        fl_buf_put_str(&c->rows, "<tr><td></td><td><pre>");
        rp_esc(&c->rows, repro);
        fl_buf_put_str(&c->rows, "</pre></td></tr>\n");
    }
}

static void record(camp *c, const char *line, size_t len)
{
    static fl_jr_node nodes[LINE_NODES_MAX];
    fl_jr_doc d;
    if (fl_jr_parse(&d, line, len, nodes, LINE_NODES_MAX) || d.nodes[0].type != FL_JR_OBJECT) {
        c->bad_lines++;
        return;
    }
    c->runs++;
    bool violation = rp_bool(&d, 0, "verdict.violation", true);
    if (violation) {
        c->violations++;
        violation_row(c, &d);
    }
    c->not_live += !rp_bool(&d, 0, "verdict.live", true);
    char lin[32];
    c->unknown += !strcmp(rp_str(&d, 0, "verdict.linearizability", lin, sizeof(lin)), "unknown");
    if (rp_has(&d, 0, "counts.ok_per_s"))
        push(c, M_RATE, rp_num(&d, 0, "counts.ok_per_s", 0));
    if (rp_has(&d, 0, "verdict.recover_ns"))
        push(c, M_RECOVER, rp_num(&d, 0, "verdict.recover_ns", 0) / 1e6);
    if (rp_has(&d, 0, "counts.elections"))
        push(c, M_ELECTIONS, rp_num(&d, 0, "counts.elections", 0));
    double ok = rp_num(&d, 0, "counts.ops_ok", 0);
    if (ok > 0 && rp_has(&d, 0, "counts.messages_sent"))
        push(c, M_MSGS, rp_num(&d, 0, "counts.messages_sent", 0) / ok);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every campaign*.jsonl of dir, in name order. Returns how many files. */
static int read_records(const char *dir, camp *c, char *why, size_t why_size)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    char *names[FILES_MAX];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) && n < FILES_MAX) {
        size_t len = strlen(e->d_name);
        if (!strncmp(e->d_name, "campaign", 8) && len > 6 &&
            !strcmp(e->d_name + len - 6, ".jsonl") && (names[n] = strdup(e->d_name)))
            n++;
    }
    closedir(dh);
    qsort(names, n, sizeof(*names), cmp_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        fl_buf text;
        fl_buf_init(&text);
        if (!rc)
            rc = rp_read_file(dir, names[i], &text, why, why_size);
        for (size_t pos = 0; !rc && pos < text.len;) {
            const char *s = (const char *)text.data + pos;
            const char *nl = memchr(s, '\n', text.len - pos);
            size_t len = nl ? (size_t)(nl - s) : text.len - pos;
            if (len)
                record(c, s, len);
            pos += len + 1;
        }
        fl_buf_free(&text);
        free(names[i]);
    }
    return rc ? rc : (int)n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void histogram(fl_buf *b, double *v, size_t n, const char *title, const char *unit)
{
    if (!n)
        return;
    qsort(v, n, sizeof(double), cmp_double);
    double lo = v[0], hi = v[n - 1];
    if (hi <= lo)
        hi = lo + (lo > 0 ? lo * 0.1 : 1);
    uint64_t count[BINS] = {0}, max = 1;
    for (size_t i = 0; i < n; i++) {
        int k = (int)((v[i] - lo) / (hi - lo) * BINS);
        k = k < 0 ? 0 : k >= BINS ? BINS - 1 : k;
        max = ++count[k] > max ? count[k] : max;
    }
    char t[256];
    snprintf(t, sizeof(t), "%s over %zu seeds: min %.4g, p50 %.4g, p90 %.4g, max %.4g %s", title, n,
             v[0], v[n / 2], v[(size_t)((double)(n - 1) * 0.9)], v[n - 1], unit);
    rp_svg_begin(b, "hist", "chart", HW, HH, t);
    rp_axis x = {lo, hi, 76, HW - 14, false, false};
    rp_axis y = {0, (double)max, HH - 50, 26, false, true};
    rp_axis_x(b, &x, HH - 50, 26, unit, false);
    rp_axis_y(b, &y, 76, HW - 14, "seeds", false);
    for (int k = 0; k < BINS; k++) {
        double a = rp_map(&x, lo + (hi - lo) * k / BINS),
               z = rp_map(&x, lo + (hi - lo) * (k + 1) / BINS);
        double top = rp_map(&y, (double)count[k]);
        if (count[k])
            fl_buf_printf(b,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                          "<title>%llu seeds</title></rect>",
                          a + 0.5, top, z - a - 1, HH - 50 - top, RP_OK,
                          (unsigned long long)count[k]);
    }
    fl_buf_printf(b, "<text class=\"label\" x=\"76\" y=\"16\">");
    rp_esc(b, title);
    fl_buf_printf(b, "</text><text x=\"%d\" y=\"16\" text-anchor=\"end\">p50 %.4g, p90 %.4g</text>",
                  HW - 14, v[n / 2], v[(size_t)((double)(n - 1) * 0.9)]);
    rp_svg_end(b);
}

static void page(fl_buf *b, const char *dir, camp *c)
{
    rp_page_begin(b, "faultline: campaign report");
    fl_buf_put_str(b, "<h1>faultline: a campaign</h1>\n<p class=\"sub\">Directory <code>");
    rp_esc(b, dir);
    fl_buf_printf(b, "</code>: %llu runs (one seed each).</p>\n", (unsigned long long)c->runs);
    fl_buf_printf(b,
                  "<div class=\"verdict %s\">%llu runs, %llu with a violation (%llu not live), "
                  "%llu with linearizability unknown</div>\n",
                  c->violations ? "bad" : "ok", (unsigned long long)c->runs,
                  (unsigned long long)c->violations, (unsigned long long)c->not_live,
                  (unsigned long long)c->unknown);
    if (c->bad_lines)
        fl_buf_printf(b, "<p class=\"sub\">%llu lines were not records and were skipped.</p>\n",
                      (unsigned long long)c->bad_lines);
    rp_section_begin(b, "distributions", "Over seeds",
                     "How each seed's run came out: the number of seeds in each bin.");
    fl_buf_put_str(b, "<div style=\"display:flex;flex-wrap:wrap;gap:8px\">");
    histogram(b, c->v[M_RATE], c->n[M_RATE], "Throughput", "ok ops/s");
    histogram(b, c->v[M_RECOVER], c->n[M_RECOVER], "Recovery after the heal", "ms");
    histogram(b, c->v[M_ELECTIONS], c->n[M_ELECTIONS], "Elections", "elections per run");
    histogram(b, c->v[M_MSGS], c->n[M_MSGS], "Messages per ok op", "messages");
    fl_buf_put_str(b, "</div>\n");
    rp_section_end(b);
    rp_section_begin(b, "violations", "Violations",
                     c->violations ? "Every seed with a violation, and the command that "
                                     "reproduces it (the same seed gives the same run)."
                                   : "None.");
    if (c->violations) {
        fl_buf_put_str(b, "<table><tr><th>seed</th><th>what, and the command that reproduces "
                          "it</th></tr>\n");
        fl_buf_put_bytes(b, c->rows.data, c->rows.len);
        fl_buf_put_str(b, "</table>\n");
        if (c->shown > SHOWN_MAX)
            fl_buf_printf(b, "<p class=\"sub\">The first %d of %llu shown.</p>\n", SHOWN_MAX,
                          (unsigned long long)c->shown);
    }
    rp_section_end(b);
    rp_page_end(b);
}

int rp_campaign_report(const char *dir, fl_buf *out, char *why, size_t why_size)
{
    camp c;
    memset(&c, 0, sizeof(c));
    fl_buf_init(&c.rows);
    int files = read_records(dir, &c, why, why_size);
    if (files > 0)
        page(out, dir, &c);
    for (int m = 0; m < METRICS; m++)
        free(c.v[m]);
    fl_buf_free(&c.rows);
    if (files < 0)
        return files;
    if (files == 0)
        return FL_ENOTFOUND;
    return out->err || c.rows.err ? FL_ENOMEM : 0;
}
