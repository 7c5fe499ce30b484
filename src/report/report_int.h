/* report_int.h: the pieces of the HTML report (report.h) shared by its files: reading the
 * run directory's documents, an SVG toolkit (axes, text, escaping), fault bands, and one
 * function per chart. Every chart writes one <svg> element into the page buffer. */
#ifndef FL_REPORT_INT_H
#define FL_REPORT_INT_H

#include "faultline/history.h"
#include "faultline/json_read.h"
#include "faultline/observe.h"
#include "faultline/report.h"
#include "faultline/timeline.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- documents (report_doc.c) ------------------------------------------------------------- */

typedef struct rp_doc {
    fl_buf text;
    fl_jr_node *nodes;
    fl_jr_doc d;
    bool ok; /* parsed */
} rp_doc;

/* Reads dir/name into out. Returns 0, FL_ENOTFOUND, FL_ETOOBIG, FL_EIO or FL_ENOMEM (why
 * set, except for FL_ENOTFOUND). */
int rp_read_file(const char *dir, const char *name, fl_buf *out, char *why, size_t why_size);
/* Reads and parses dir/name as one JSON value. Returns as rp_read_file, or FL_ESYNTAX. */
int rp_doc_load(rp_doc *doc, const char *dir, const char *name, char *why, size_t why_size);
void rp_doc_free(rp_doc *doc);
/* "No such node" as a starting point (FL_JR_NONE is 0, the root, when passed as from). */
#define RP_NOWHERE UINT32_MAX
/* The node at a dotted path ("verdict.recover_ns") below node from, or FL_JR_NONE (also
 * when from is RP_NOWHERE). */
uint32_t rp_at(const fl_jr_doc *d, uint32_t from, const char *path);
bool rp_has(const fl_jr_doc *d, uint32_t from, const char *path);
double rp_num(const fl_jr_doc *d, uint32_t from, const char *path, double dflt);
bool rp_bool(const fl_jr_doc *d, uint32_t from, const char *path, bool dflt);
/* The string at path into buf (truncated), or "" when absent or not a string. */
const char *rp_str(const fl_jr_doc *d, uint32_t from, const char *path, char *buf, size_t cap);

/* ---- SVG and HTML toolkit (report_svg.c) --------------------------------------------------- */

#define RP_W     1100 /* every chart's width in px */
#define RP_LEFT  84   /* plot area: x from RP_LEFT to RP_W - RP_RIGHT */
#define RP_RIGHT 24

/* Colours by outcome: ok mid blue, fail light amber, info dark maroon (grey levels about 41%,
 * 69%, 14%: apart in greyscale too). */
#define RP_OK   "#3a6fb0"
#define RP_FAIL "#f0a830"
#define RP_INFO "#6b0f1a"

/* Data to pixels: linear, or log10 when log (d0, d1 > 0). */
typedef struct rp_axis {
    double d0, d1;
    double p0, p1;
    bool log;
    bool integer; /* linear ticks at whole numbers only */
} rp_axis;

double rp_map(const rp_axis *a, double v);         /* clamped to [p0, p1] */
void rp_esc(fl_buf *b, const char *s);             /* text and attribute escaping */
void rp_esc_n(fl_buf *b, const char *s, size_t n); /* the first n bytes (at most 255) */
/* A duration for people: "850 ns", "4.54 ms", "1.53 s". */
void rp_fmt_ns(char *out, size_t cap, double ns);
/* Opens <svg> with a viewBox of w x h, an id and a class, and its <title>. */
void rp_svg_begin(fl_buf *b, const char *id, const char *cls, int w, int h, const char *title);
void rp_svg_end(fl_buf *b);
/* A chart over the run's time axis (class tchart, with the attributes the cursor script
 * reads); its end adds the cursor line over [y0, y1], hidden until hovered. */
void rp_svg_time_begin(fl_buf *b, const char *id, int h, double t1_s, const char *title);
void rp_svg_time_end(fl_buf *b, double y0, double y1);
/* Time axis at the bottom (y) of a plot spanning up to y_top: ticks, grid lines, "time (s)". */
void rp_axis_time(fl_buf *b, const rp_axis *x, double y, double y_top);
/* A y axis at x (grid lines to x_right) labelled label; log axes get decade ticks labelled as
 * durations (values in ns) when ns, numbers otherwise. */
void rp_axis_y(fl_buf *b, const rp_axis *y, double x, double x_right, const char *label, bool ns);
/* A bottom x axis for a value range (log: decades), with its label. */
void rp_axis_x(fl_buf *b, const rp_axis *x, double y, double y_top, const char *label, bool ns);
/* Nice tick step for a range to get about n ticks. */
double rp_tick_step(double range, int n);

/* ---- the page (report_page.c) --------------------------------------------------------------- */

void rp_page_begin(fl_buf *b, const char *title);
void rp_page_end(fl_buf *b);
/* <section> with a heading and a one-paragraph lead (lead may be NULL). */
void rp_section_begin(fl_buf *b, const char *id, const char *heading, const char *lead);
void rp_section_end(fl_buf *b);
/* One row of a three-column table: what, value (HTML, not escaped), meaning; bad marks it. */
void rp_row(fl_buf *b, const char *what, const char *value_html, const char *meaning, bool bad);

/* ---- a run (report_run.c and the chart files) ---------------------------------------------- */

typedef struct rp_fault {
    fl_time_ns start_ns, end_ns;
    char kind[FL_OBSERVE_FAULT_KIND_SIZE];
    char targets[FL_OBSERVE_TARGETS_SIZE];
    int cat; /* rp_fault_cat */
} rp_fault;

typedef struct rp_run {
    const char *dir;
    rp_doc res; /* results.json */
    const fl_jr_doc *d;
    uint32_t obs; /* the "observables" node, or RP_NOWHERE */
    fl_history hist;
    bool has_hist;
    fl_op *ops; /* paired, in invocation order */
    size_t n_ops;
    fl_timeline tl;
    bool has_tl;
    rp_fault *faults;
    size_t n_faults;
    double t1_s;          /* the time axis: [0, t1_s] seconds */
    fl_report_info *info; /* counters for the caller */
} rp_run;

/* Fault kinds fall into categories with their own colour and hatching. */
enum { RP_NET, RP_CRASH, RP_PAUSE, RP_LINK, RP_CLOCK, RP_MEMBER, RP_OTHER, RP_CATS };
int rp_fault_cat(const char *kind);
/* <defs> with one hatch pattern per category, ids prefixed by prefix. */
void rp_fault_defs(fl_buf *b, const char *prefix);
/* One rect of class "band" per fault interval over [y0, y1]; with label, kind and targets
 * written above the band when they fit (the band's number otherwise). */
void rp_fault_bands(fl_buf *b, const rp_run *r, const rp_axis *x, double y0, double y1,
                    const char *prefix, bool label);
/* The legend of fault categories present, and the table of fault intervals (HTML). */
void rp_fault_legend(fl_buf *b, const rp_run *r);
/* A time axis mapping for a chart of this run. */
void rp_time_axis_of(const rp_run *r, rp_axis *x);
/* The longest write gap, as dashed lines over [y0, y1] with a labelled bracket at y_label. */
void rp_write_gap(fl_buf *b, const rp_run *r, const rp_axis *x, double y0, double y1,
                  double y_label);

void rp_verdict(fl_buf *b, const rp_run *r);    /* report_verdict.c */
void rp_chart_latency(fl_buf *b, rp_run *r);    /* chart_latency.c */
void rp_chart_rate(fl_buf *b, const rp_run *r); /* chart_rate.c */
void rp_chart_lanes(fl_buf *b, const rp_run *r);
void rp_chart_pct(fl_buf *b, const rp_run *r); /* chart_pct.c */
void rp_failure(fl_buf *b, const rp_run *r);   /* report_failure.c */

int rp_run_report(const char *dir, fl_buf *out, fl_report_info *info, char *why, size_t why_size);
int rp_swim_report(const rp_doc *doc, fl_buf *out, char *why, size_t why_size);
int rp_campaign_report(const char *dir, fl_buf *out, char *why, size_t why_size);

#endif
