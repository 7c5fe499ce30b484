/* report.h: pictures of a run. One self-contained HTML page (inline SVG and CSS, a few lines
 * of inline script for a hover cursor; readable with scripts off; nothing fetched) built from
 * the files a run directory holds (docs/report.md):
 *
 *   results.json    the run's verdict, configuration, counters and observables
 *                   (docs/results.md); "protocol": "swim" makes it a SWIM report
 *   history.jsonl   the client history (optional: latency points and percentiles)
 *   timeline.jsonl  every node's role and term, crashes and pauses (optional: timeline.h)
 *   campaign.jsonl, campaign-K-of-N.jsonl   a campaign's records, one per seed (when there
 *                   is no results.json: a campaign report)
 *
 * Any run can write these, simulated or real; the report reads nothing else. The same
 * directory gives the same bytes. Bounds: past FL_REPORT_OK_POINTS_MAX ok operations, ok
 * points are sampled (every fail and info point and the slowest 1% of ok points are always
 * drawn), and points falling on one cell of 2 x 2 pixels of one series are drawn once, so a
 * report stays a few MB whatever the length of the run. */
#ifndef FAULTLINE_REPORT_H
#define FAULTLINE_REPORT_H

#include "faultline/buf.h"
#include "faultline/types.h"

#define FL_REPORT_OK_POINTS_MAX 40000             /* ok points drawn before sampling starts */
#define FL_REPORT_FILE_MAX      ((size_t)4 << 30) /* larger input files are refused */

typedef enum fl_report_kind {
    FL_REPORT_RUN = 0,      /* one run of the replicated kv (sim, demo, nemesis) */
    FL_REPORT_SWIM = 1,     /* one `faultline sim --protocol swim` scenario */
    FL_REPORT_CAMPAIGN = 2, /* many seeds */
} fl_report_kind;

typedef struct fl_report_info {
    fl_report_kind kind;
    uint64_t ops;          /* operations in the history */
    uint64_t ok_drawn;     /* ok points kept after sampling (before pixel merging) */
    uint64_t points_drawn; /* latency points written (after pixel merging) */
    size_t bands;          /* fault intervals shaded */
} fl_report_info;

/* Builds the report of run directory dir into out (appending HTML). info may be NULL.
 * Returns 0; FL_ENOTFOUND when dir holds neither results.json nor a campaign file;
 * FL_ESYNTAX when a file is malformed; FL_ETOOBIG, FL_EIO or FL_ENOMEM. On error why says
 * which file and why. */
int fl_report_build(const char *dir, fl_buf *out, fl_report_info *info, char *why, size_t why_size);

#endif
