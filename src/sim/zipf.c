/* zipf.c: a zipfian rank sampler (Gray et al. 1994 for 0 < s < 1, inverse CDF for s >= 1).
 *
 * Derivation of the Gray et al. method, 0-based ranks, zeta(n) = sum_{i=1..n} i^-s: draw
 * u in [0, 1) and let uz = u * zeta(n). Rank 0 has mass 1 and rank 1 has mass 2^-s out of
 * zeta(n), so uz < 1 gives rank 0 and uz < 1 + 2^-s gives rank 1: both exact. For the rest,
 * the CDF of the continuous density proportional to x^-s is inverted: rank =
 * floor(n * (eta * u - eta + 1)^(1 / (1 - s))), where eta is chosen so that the
 * approximation meets the exact CDF at both ends: at u = zeta_2 / zeta_n it gives exactly
 * rank 2, and at u = 1 it gives n.
 * Invariants: every draw is in [0, n); the cdf table (s >= 1) is non-decreasing and ends at
 * exactly 1. */
#include "faultline/workload.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* sum_{i=1..n} i^-s, smallest terms first for accuracy. O(n). */
static double zeta(uint64_t n, double s)
{
    double sum = 0;
    for (uint64_t i = n; i >= 1; i--)
        sum += pow((double)i, -s);
    return sum;
}

static int build_cdf(fl_zipf *z)
{
    z->cdf = malloc(z->n * sizeof(*z->cdf));
    if (!z->cdf)
        return FL_ENOMEM;
    double acc = 0;
    for (uint64_t i = 0; i < z->n; i++) {
        acc += pow((double)(i + 1), -z->s);
        z->cdf[i] = acc / z->zeta_n;
    }
    z->cdf[z->n - 1] = 1.0;
    return 0;
}

int fl_zipf_init(fl_zipf *z, uint64_t n, double s)
{
    memset(z, 0, sizeof(*z));
    if (n == 0 || !isfinite(s) || s < 0 || (s >= 1 && n > FL_ZIPF_TABLE_MAX))
        return FL_ECONFIG;
    z->n = n;
    z->s = s;
    z->zeta_n = zeta(n, s);
    z->zeta_2 = 1 + pow(2, -s);
    if (s >= 1)
        return build_cdf(z);
    z->alpha = 1 / (1 - s);
    if (n > 2)
        z->eta = (1 - pow(2.0 / (double)n, 1 - s)) / (1 - z->zeta_2 / z->zeta_n);
    return 0;
}

void fl_zipf_close(fl_zipf *z)
{
    free(z->cdf);
    memset(z, 0, sizeof(*z));
}

/* First index whose cdf exceeds u. O(log n). */
static uint64_t cdf_search(const fl_zipf *z, double u)
{
    uint64_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint64_t fl_zipf_next(const fl_zipf *z, fl_rng *rng)
{
    FL_ASSERT(z->n > 0);
    if (z->s == 0)
        return fl_rng_below(rng, z->n);
    double u = fl_rng_double(rng);
    if (z->cdf)
        return cdf_search(z, u);
    double uz = u * z->zeta_n;
    if (uz < 1 || z->n == 1)
        return 0;
    if (uz < z->zeta_2 || z->n == 2)
        return 1;
    double r = (double)z->n * pow(z->eta * u - z->eta + 1, z->alpha);
    if (!(r >= 2)) /* rounding at the boundary (or NaN) */
        return 2;
    return r >= (double)(z->n - 1) ? z->n - 1 : (uint64_t)r;
}

double fl_zipf_prob(const fl_zipf *z, uint64_t r)
{
    if (r >= z->n)
        return 0;
    if (z->s == 0)
        return 1.0 / (double)z->n;
    return pow((double)(r + 1), -z->s) / z->zeta_n;
}
