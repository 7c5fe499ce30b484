/* hist.c: log-linear histogram (hist.h).
 *
 * Bucket of v: v < 2^S (S = FL_HIST_SUB_BITS) is bucket v. Otherwise with e = floor(log2 v),
 * the bucket is (e - S + 1) * 2^S + (the S bits below the leading one). Bucket b covers
 * [lower(b), lower(b) + width(b)), width = 2^(e - S). */
#include "faultline/hist.h"

#include <string.h>

#define S   FL_HIST_SUB_BITS
#define SUB (1u << S)

static size_t bucket_of(uint64_t v)
{
    if (v < SUB)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v);
    if (e >= FL_HIST_EXP_MAX)
        return FL_HIST_BUCKETS - 1;
    size_t sub = (size_t)((v >> (e - S)) & (SUB - 1));
    return (size_t)(e - S + 1) * SUB + sub;
}

static uint64_t bucket_lower(size_t b, uint64_t *width)
{
    if (b < SUB) {
        *width = 1;
        return b;
    }
    int e = (int)(b / SUB) + S - 1;
    uint64_t sub = b % SUB;
    *width = 1ull << (e - S);
    return (1ull << e) + (sub << (e - S));
}

void fl_hist_init(fl_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void fl_hist_record(fl_hist *h, uint64_t v)
{
    h->buckets[bucket_of(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void fl_hist_merge(fl_hist *dst, const fl_hist *src)
{
    if (!src->count)
        return;
    for (size_t i = 0; i < FL_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t fl_hist_percentile(const fl_hist *h, double q)
{
    if (!h->count)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 100)
        return h->max;
    /* rank: the smallest r such that r >= q% of count, at least 1 */
    double want = q / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < FL_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t width, lo = bucket_lower(b, &width);
            uint64_t mid = lo + width / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

double fl_hist_mean(const fl_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
