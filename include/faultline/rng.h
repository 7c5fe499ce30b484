/* rng.h: a seeded pseudo-random generator (xoshiro256**, seeded through splitmix64) and the
 * distributions the simulator and the cores draw from. Deterministic: the same seed gives the
 * same sequence on every platform. The caller owns the state; there is no global generator. */
#ifndef FAULTLINE_RNG_H
#define FAULTLINE_RNG_H

#include "faultline/types.h"

typedef struct fl_rng {
    uint64_t s[4];
} fl_rng;

void fl_rng_seed(fl_rng *r, uint64_t seed);
uint64_t fl_rng_next(fl_rng *r);
/* Uniform in [0, n); n must be > 0. Unbiased (Lemire's multiply-shift with rejection). */
uint64_t fl_rng_below(fl_rng *r, uint64_t n);
/* Uniform in [lo, hi], inclusive; lo <= hi. */
uint64_t fl_rng_range(fl_rng *r, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double fl_rng_double(fl_rng *r);
/* True with probability p (p <= 0: never, p >= 1: always). */
bool fl_rng_chance(fl_rng *r, double p);
/* Exponential with the given mean. */
double fl_rng_exp(fl_rng *r, double mean);
/* Pareto (long tail): scale * U^(-1/alpha); alpha > 0, smaller alpha = heavier tail. */
double fl_rng_pareto(fl_rng *r, double scale, double alpha);
/* An independent generator derived from this one (advances r). */
fl_rng fl_rng_fork(fl_rng *r);
/* splitmix64 step: a good 64-bit mixer, also used to derive per-node seeds. Inline: the
 * simulator's trace hash and the Raft checker's log hashes call it several times an event. */
static inline uint64_t fl_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

#endif
