/* rng.c: xoshiro256** (Blackman and Vigna) seeded through splitmix64, and distributions. */
#include "faultline/rng.h"

#include "faultline/assert.h"

#include <math.h>

void fl_rng_seed(fl_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9E3779B97F4A7C15ull;
        r->s[i] = fl_mix64(x);
    }
}

__extension__ typedef unsigned __int128 u128;

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t fl_rng_next(fl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t fl_rng_below(fl_rng *r, uint64_t n)
{
    FL_ASSERT(n > 0);
    u128 m = (u128)fl_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (u128)fl_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

uint64_t fl_rng_range(fl_rng *r, uint64_t lo, uint64_t hi)
{
    FL_ASSERT(lo <= hi);
    if (lo == 0 && hi == UINT64_MAX)
        return fl_rng_next(r);
    return lo + fl_rng_below(r, hi - lo + 1);
}

double fl_rng_double(fl_rng *r)
{
    return (double)(fl_rng_next(r) >> 11) * 0x1.0p-53;
}

bool fl_rng_chance(fl_rng *r, double p)
{
    if (p <= 0)
        return false;
    if (p >= 1)
        return true;
    return fl_rng_double(r) < p;
}

double fl_rng_exp(fl_rng *r, double mean)
{
    /* 1 - U is in (0, 1], so the log is finite. */
    return -mean * log(1.0 - fl_rng_double(r));
}

double fl_rng_pareto(fl_rng *r, double scale, double alpha)
{
    FL_ASSERT(alpha > 0);
    return scale * pow(1.0 - fl_rng_double(r), -1.0 / alpha);
}

fl_rng fl_rng_fork(fl_rng *r)
{
    fl_rng child;
    fl_rng_seed(&child, fl_rng_next(r));
    return child;
}
