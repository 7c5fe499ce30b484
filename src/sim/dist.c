/* dist.c: latency distributions (constant, uniform, exponential, pareto long tail).
 *
 * Invariant: a sample is a deterministic function of the distribution and the rng state; it is
 * finite, >= base_ns and, when cap_ns > 0, <= cap_ns. */
#include "sim_internal.h"

#include "faultline/error.h"

#include <math.h>

#define DIST_NS_MAX ((fl_time_ns)1 << 62) /* ~146 years: far beyond any run */

fl_sim_dist fl_sim_dist_constant(fl_time_ns ns)
{
    return (fl_sim_dist){.kind = FL_SIM_DIST_CONSTANT, .base_ns = ns};
}

fl_sim_dist fl_sim_dist_uniform(fl_time_ns lo_ns, fl_time_ns hi_ns)
{
    return (fl_sim_dist){.kind = FL_SIM_DIST_UNIFORM,
                         .base_ns = lo_ns,
                         .param_ns = hi_ns >= lo_ns ? hi_ns - lo_ns : 0};
}

fl_sim_dist fl_sim_dist_exp(fl_time_ns base_ns, fl_time_ns mean_ns)
{
    return (fl_sim_dist){.kind = FL_SIM_DIST_EXP, .base_ns = base_ns, .param_ns = mean_ns};
}

fl_sim_dist fl_sim_dist_pareto(fl_time_ns base_ns, fl_time_ns scale_ns, double alpha)
{
    return (fl_sim_dist){
        .kind = FL_SIM_DIST_PARETO, .base_ns = base_ns, .param_ns = scale_ns, .alpha = alpha};
}

double fl_sim_dist_mean(const fl_sim_dist *d)
{
    double base = (double)d->base_ns, p = (double)d->param_ns;
    switch (d->kind) {
    case FL_SIM_DIST_CONSTANT:
        return base;
    case FL_SIM_DIST_UNIFORM:
        return base + p / 2;
    case FL_SIM_DIST_EXP:
        return base + p;
    case FL_SIM_DIST_PARETO:
        /* E[scale * (X - 1)] with X pareto(1, alpha): scale / (alpha - 1). */
        return d->alpha > 1 ? base + p / (d->alpha - 1) : INFINITY;
    }
    return NAN;
}

int fl_sim_dist_check(const fl_sim_dist *d, fl_buf *why)
{
    const char *bad = NULL;
    if (d->kind < FL_SIM_DIST_CONSTANT || d->kind > FL_SIM_DIST_PARETO)
        bad = "unknown distribution kind";
    else if (d->base_ns > DIST_NS_MAX || d->param_ns > DIST_NS_MAX || d->cap_ns > DIST_NS_MAX)
        bad = "times must be below 2^62 ns";
    else if (d->kind == FL_SIM_DIST_PARETO && !(d->alpha > 0 && d->alpha < 1e6))
        bad = "pareto alpha must be in (0, 1e6)";
    else if (d->cap_ns && d->cap_ns < d->base_ns)
        bad = "cap_ns below base_ns";
    if (!bad)
        return 0;
    if (why)
        fl_buf_printf(why, "distribution (kind %d, base %llu, param %llu, alpha %g, cap %llu): %s",
                      (int)d->kind, (unsigned long long)d->base_ns, (unsigned long long)d->param_ns,
                      d->alpha, (unsigned long long)d->cap_ns, bad);
    return FL_EINVAL;
}

static fl_time_ns from_double(double x)
{
    if (!(x >= 0))
        return 0;
    if (x >= (double)DIST_NS_MAX)
        return DIST_NS_MAX;
    return (fl_time_ns)x;
}

fl_time_ns fl_sim_dist_sample(const fl_sim_dist *d, fl_rng *r)
{
    fl_time_ns extra = 0;
    switch (d->kind) {
    case FL_SIM_DIST_CONSTANT:
        break;
    case FL_SIM_DIST_UNIFORM:
        extra = d->param_ns ? fl_rng_range(r, 0, d->param_ns) : 0;
        break;
    case FL_SIM_DIST_EXP:
        extra = from_double(fl_rng_exp(r, (double)d->param_ns));
        break;
    case FL_SIM_DIST_PARETO:
        extra = from_double(fl_rng_pareto(r, (double)d->param_ns, d->alpha) - (double)d->param_ns);
        break;
    }
    fl_time_ns v = d->base_ns + (extra > DIST_NS_MAX ? DIST_NS_MAX : extra);
    if (d->cap_ns && v > d->cap_ns)
        v = d->cap_ns;
    return v;
}
