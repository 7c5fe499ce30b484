/* hist.h: a log-linear histogram of non-negative integer samples (latencies in ns).
 *
 * Values below 2^FL_HIST_SUB_BITS are counted exactly; above, every power-of-two range is cut
 * into 2^FL_HIST_SUB_BITS equal buckets, so a bucket is at most 1/128 of its value wide and a
 * reported percentile is within 0.4% of a true sample. Values of 2^FL_HIST_EXP_MAX and more
 * are clamped into the top bucket (min and max stay exact). Fixed size, no allocation. */
#ifndef FAULTLINE_HIST_H
#define FAULTLINE_HIST_H

#include "faultline/types.h"

#define FL_HIST_SUB_BITS 7
#define FL_HIST_EXP_MAX  48 /* 2^48 ns is about 3.3 days */
#define FL_HIST_BUCKETS  ((FL_HIST_EXP_MAX - FL_HIST_SUB_BITS + 1) << FL_HIST_SUB_BITS)

typedef struct fl_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    double sum;
    uint64_t buckets[FL_HIST_BUCKETS];
} fl_hist;

void fl_hist_init(fl_hist *h);
void fl_hist_record(fl_hist *h, uint64_t v);
void fl_hist_merge(fl_hist *dst, const fl_hist *src);
/* The value at percentile q (0..100): the smallest recorded value v such that at least q% of
 * samples are <= v, within the bucket resolution. 0 when empty. */
uint64_t fl_hist_percentile(const fl_hist *h, double q);
double fl_hist_mean(const fl_hist *h);

#endif
