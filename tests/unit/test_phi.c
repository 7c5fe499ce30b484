/* test_phi.c: the phi accrual failure detector: the formula, growth with silence, adaptation
 * to jitter, the bounded window, and configuration refusal. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/phi.h"
#include "faultline/rng.h"

#include <math.h>

#define MS FL_NS_PER_MS

TEST(phi_formula)
{
    /* at the mean P_later = 1/2: phi = log10(2) */
    CHECK(fabs(fl_phi_of(100, 100, 10) - log10(2.0)) < 1e-9);
    /* one std above: P = 0.158655: phi = 0.7995 */
    CHECK(fabs(fl_phi_of(110, 100, 10) - 0.79955) < 1e-3);
    /* far in the tail it stays finite, monotonic and capped */
    double prev = 0;
    for (double x = 100; x < 2000; x += 50) {
        double p = fl_phi_of(x, 100, 10);
        CHECK(p >= prev);
        CHECK(p <= FL_PHI_MAX);
        prev = p;
    }
    CHECK(fl_phi_of(0, 100, 10) < 1e-6);
}

TEST(phi_grows_with_silence)
{
    fl_phi_config c;
    fl_phi_config_default(&c);
    c.min_std_ns = 10 * MS;
    c.first_interval_ns = 100 * MS;
    fl_phi d;
    CHECK_EQ(fl_phi_init(&d, &c), 0);
    CHECK(fl_phi_value(&d, 5 * FL_NS_PER_S) == 0.0);
    fl_rng r;
    fl_rng_seed(&r, 1);
    fl_time_ns t = 0;
    for (int i = 0; i < 200; i++) {
        t += 100 * MS + fl_rng_below(&r, 10 * MS);
        fl_phi_heartbeat(&d, t);
    }
    CHECK(fabs(fl_phi_mean_ns(&d) - 105.0 * MS) < 3.0 * MS);
    CHECK(fl_phi_value(&d, t + 100 * MS) < 1.0);
    CHECK(!fl_phi_suspect(&d, t + 100 * MS));
    CHECK(fl_phi_value(&d, t + 200 * MS) > 8.0);
    CHECK(fl_phi_suspect(&d, t + 200 * MS));
    double prev = 0;
    for (fl_time_ns dt = 0; dt < 2 * FL_NS_PER_S; dt += 10 * MS) {
        double p = fl_phi_value(&d, t + dt);
        CHECK(p >= prev);
        prev = p;
    }
    fl_phi_free(&d);
}

TEST(phi_adapts_to_jitter)
{
    fl_phi_config c;
    fl_phi_config_default(&c);
    c.min_std_ns = 1 * MS;
    c.window = 100;
    fl_phi calm, noisy;
    CHECK_EQ(fl_phi_init(&calm, &c), 0);
    CHECK_EQ(fl_phi_init(&noisy, &c), 0);
    fl_rng r;
    fl_rng_seed(&r, 2);
    fl_time_ns a = 0, b = 0;
    for (int i = 0; i < 1000; i++) { /* ten times the window: the old samples are gone */
        a += 100 * MS;
        b += 50 * MS + fl_rng_below(&r, 100 * MS);
        fl_phi_heartbeat(&calm, a);
        fl_phi_heartbeat(&noisy, b);
    }
    CHECK_EQ(calm.count, 100);
    CHECK(fl_phi_std_ns(&calm) < 2.0 * MS);
    CHECK(fl_phi_value(&calm, a + 150 * MS) > fl_phi_value(&noisy, b + 150 * MS));
    /* an acceptable pause shifts the mean */
    c.pause_ns = 50 * MS;
    fl_phi paused;
    CHECK_EQ(fl_phi_init(&paused, &c), 0);
    fl_phi_heartbeat(&paused, 0);
    CHECK(fl_phi_mean_ns(&paused) > fl_phi_mean_ns(&calm));
    fl_phi_free(&calm);
    fl_phi_free(&noisy);
    fl_phi_free(&paused);
}

TEST(phi_refuses_bad_config)
{
    fl_phi_config c;
    fl_phi d;
    fl_phi_config_default(&c);
    c.window = 0;
    CHECK_EQ(fl_phi_init(&d, &c), FL_ECONFIG);
    fl_phi_config_default(&c);
    c.min_std_ns = 0;
    CHECK_EQ(fl_phi_init(&d, &c), FL_ECONFIG);
    fl_phi_config_default(&c);
    c.threshold = NAN;
    CHECK_EQ(fl_phi_init(&d, &c), FL_ECONFIG);
    /* time going backwards is a zero interval, not a crash */
    fl_phi_config_default(&c);
    CHECK_EQ(fl_phi_init(&d, &c), 0);
    fl_phi_heartbeat(&d, 5 * FL_NS_PER_S);
    fl_phi_heartbeat(&d, 1 * FL_NS_PER_S);
    CHECK(fl_phi_value(&d, 0) >= 0.0);
    fl_phi_free(&d);
}
