/* phi.c: the phi accrual failure detector (see phi.h).
 *
 * Invariants: count <= window; sum and sumsq are the sums over the count samples in the ring
 * (recomputed exactly every `window` insertions, so floating-point drift stays bounded). */
#include "faultline/phi.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fl_phi_config_default(fl_phi_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window = 1000;
    c->min_std_ns = 100 * FL_NS_PER_MS;
    c->first_interval_ns = FL_NS_PER_S;
    c->threshold = 8.0;
}

int fl_phi_init(fl_phi *d, const fl_phi_config *c)
{
    memset(d, 0, sizeof(*d));
    if (c->window < 1 || c->window > FL_PHI_WINDOW_MAX || c->min_std_ns == 0 ||
        c->first_interval_ns == 0 || !(c->threshold > 0.0))
        return FL_ECONFIG;
    d->cfg = *c;
    d->win = calloc(c->window, sizeof(*d->win));
    return d->win ? 0 : FL_ENOMEM;
}

void fl_phi_free(fl_phi *d)
{
    free(d->win);
    memset(d, 0, sizeof(*d));
}

static void recompute(fl_phi *d)
{
    d->sum = d->sumsq = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        d->sum += d->win[i];
        d->sumsq += d->win[i] * d->win[i];
    }
    d->since_recompute = 0;
}

static void add_sample(fl_phi *d, double x)
{
    if (d->count == d->cfg.window) {
        double old = d->win[d->next];
        d->sum -= old;
        d->sumsq -= old * old;
    } else {
        d->count++;
    }
    d->win[d->next] = x;
    d->next = (d->next + 1) % d->cfg.window;
    d->sum += x;
    d->sumsq += x * x;
    if (++d->since_recompute >= d->cfg.window)
        recompute(d);
    FL_ASSERT(d->count <= d->cfg.window);
}

void fl_phi_heartbeat(fl_phi *d, fl_time_ns now_ns)
{
    if (!d->have_last) {
        /* Akka's bootstrap: the first interval estimate with a std of a quarter of it */
        double m = (double)d->cfg.first_interval_ns, s = m / 4.0;
        add_sample(d, m - s);
        add_sample(d, m + s);
    } else {
        add_sample(d, now_ns > d->last_ns ? (double)(now_ns - d->last_ns) : 0.0);
    }
    d->have_last = true;
    d->last_ns = now_ns > d->last_ns ? now_ns : d->last_ns;
}

double fl_phi_mean_ns(const fl_phi *d)
{
    double mean = d->count ? d->sum / d->count : (double)d->cfg.first_interval_ns;
    return mean + (double)d->cfg.pause_ns;
}

double fl_phi_std_ns(const fl_phi *d)
{
    double var = 0;
    if (d->count) {
        double mean = d->sum / d->count;
        var = d->sumsq / d->count - mean * mean;
    }
    double std = var > 0 ? sqrt(var) : 0;
    return std < (double)d->cfg.min_std_ns ? (double)d->cfg.min_std_ns : std;
}

double fl_phi_of(double x, double mean, double std)
{
    FL_ASSERT(std > 0);
    double z = (x - mean) / (std * sqrt(2.0));
    double p = 0.5 * erfc(z); /* P(X > x) */
    if (p > 1e-300)
        return -log10(p) > 0 ? -log10(p) : 0.0;
    /* erfc(z) ~ exp(-z^2) / (z sqrt(pi)) for large z: log10 without underflow */
    double ln = -z * z - log(z * sqrt(M_PI)) + log(0.5);
    double phi = -ln / log(10.0);
    return phi < FL_PHI_MAX ? phi : FL_PHI_MAX;
}

double fl_phi_value(const fl_phi *d, fl_time_ns now_ns)
{
    if (!d->have_last)
        return 0.0;
    double x = now_ns > d->last_ns ? (double)(now_ns - d->last_ns) : 0.0;
    return fl_phi_of(x, fl_phi_mean_ns(d), fl_phi_std_ns(d));
}

bool fl_phi_suspect(const fl_phi *d, fl_time_ns now_ns)
{
    return fl_phi_value(d, now_ns) >= d->cfg.threshold;
}
