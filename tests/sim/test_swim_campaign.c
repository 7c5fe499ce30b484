/* test_swim_campaign.c: SWIM property campaigns over seeds in the simulator:
 *   1. at 0% loss with no pauses, no live reachable member is ever declared dead (nor
 *      suspected), core invariants checked after every step;
 *   2. every crash is marked dead by every live member within a bound (first-probe slack +
 *      the longest suspicion timeout + dissemination slack);
 *   3. two halves partitioned past the reap time re-merge after the heal;
 *   4. runs are deterministic: one seed, one trace hash. */
#include "test.h"

#include "faultline/swim_world.h"

#include <stdio.h>

#define SEEDS 12

static void small(fl_swim_world_config *c, uint64_t seed, uint32_t nodes)
{
    fl_swim_world_config_default(c);
    c->seed = seed;
    c->nodes = nodes;
    c->check_invariants = true;
}

TEST(swim_campaign_no_false_deaths_without_loss)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_swim_world_config c;
        small(&c, seed, 24);
        fl_swim_figures f;
        char why[160];
        /* "paused" 0: pure steady state for 120 s */
        CHECK_EQ(fl_swim_scn_false_positives(&c, 120 * FL_NS_PER_S, 0, 0, 0, &f, why, sizeof(why)),
                 0);
        if (f.false_deaths || f.false_suspicions)
            fprintf(stderr, "seed %llu: %llu false deaths, %llu false suspicions\n",
                    (unsigned long long)seed, (unsigned long long)f.false_deaths,
                    (unsigned long long)f.false_suspicions);
        CHECK_EQ(f.false_deaths, 0);
        CHECK_EQ(f.false_suspicions, 0);
    }
}

TEST(swim_campaign_flaky_members_run_clean)
{
    /* pauses and lagging receive paths: no invariant breaks and nothing leaks (packets still
     * waiting out a lag at the end are freed with the world) */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fl_swim_world_config c;
        small(&c, seed, 16);
        fl_swim_figures f;
        char why[160];
        CHECK_EQ(fl_swim_scn_false_positives(&c, 120 * FL_NS_PER_S, 2, FL_NS_PER_S, 3 * FL_NS_PER_S,
                                             &f, why, sizeof(why)),
                 0);
        CHECK(f.events > 0);
    }
}

TEST(swim_campaign_every_crash_detected_within_bound)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        for (int lg = 0; lg <= 1; lg++) {
            fl_swim_world_config c;
            small(&c, seed, 20);
            c.swim.lifeguard = lg;
            fl_swim_figures f;
            char why[160];
            CHECK_EQ(fl_swim_scn_crash(&c, 3, 70 * FL_NS_PER_S, &f, why, sizeof(why)), 0);
            double T = (double)c.swim.probe_interval_ns / 1e9;
            double tmax = (double)fl_swim_suspicion_timeout(&c.swim, c.nodes, 0) / 1e9;
            /* round robin: every live member probes the dead one within 2 passes; + timeout;
             * + 10 periods to disseminate DEAD */
            double bound = 2.0 * c.nodes * T + tmax + 10 * T;
            CHECK_EQ(f.undetected, 0);
            CHECK_EQ(f.false_deaths, 0);
            for (uint32_t i = 0; i < f.crashes; i++) {
                if (f.all_dead_s[i] < 0 || f.all_dead_s[i] > bound)
                    fprintf(stderr,
                            "seed %llu lifeguard %d crash %u: all dead after %.1f s, bound %.1f\n",
                            (unsigned long long)seed, lg, i, f.all_dead_s[i], bound);
                CHECK(f.all_dead_s[i] >= 0);
                CHECK(f.all_dead_s[i] <= bound);
                CHECK(f.first_suspect_s[i] >= 0);
            }
        }
    }
}

TEST(swim_campaign_partition_heals)
{
    for (uint64_t seed = 1; seed <= SEEDS / 2; seed++) {
        fl_swim_world_config c;
        small(&c, seed, 16);
        fl_swim_figures f;
        char why[160];
        CHECK_EQ(
            fl_swim_scn_partition(&c, 100 * FL_NS_PER_S, 300 * FL_NS_PER_S, &f, why, sizeof(why)),
            0);
        CHECK(f.split_detect_s >= 0);
        CHECK(f.heal_s >= 0);
        CHECK(f.heal_s < 120.0);
    }
}

TEST(swim_campaign_deterministic)
{
    fl_swim_world_config c;
    small(&c, 99, 16);
    c.loss = 0.1;
    fl_swim_figures a, b;
    char why[160];
    CHECK_EQ(fl_swim_scn_churn(&c, 30 * FL_NS_PER_S, FL_NS_PER_S, &a, why, sizeof(why)), 0);
    CHECK_EQ(fl_swim_scn_churn(&c, 30 * FL_NS_PER_S, FL_NS_PER_S, &b, why, sizeof(why)), 0);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK_EQ(a.events, b.events);
    c.seed = 100;
    CHECK_EQ(fl_swim_scn_churn(&c, 30 * FL_NS_PER_S, FL_NS_PER_S, &b, why, sizeof(why)), 0);
    CHECK(a.trace_hash != b.trace_hash);
}

/* Half the cluster dies at once with a 16-entry broadcast queue: the DEAD news overflows every
 * queue (entries are evicted, counted), yet memory stays bounded and every live member ends up
 * holding each dead member DEAD (or has forgotten it) through its own probes and push-pull. */
TEST(swim_campaign_mass_death_overflows_queue_bounded)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fl_swim_world_config c;
        small(&c, seed, 120);
        c.swim.bcast_max = 16;
        c.swim.user_max = 4;
        fl_swim_world w;
        char why[160];
        CHECK_EQ(fl_swim_world_init(&w, &c, why, sizeof(why)), 0);
        CHECK_EQ(fl_swim_world_run_until(&w, 10 * FL_NS_PER_S), 0);
        for (fl_node_id id = 61; id <= 120; id++)
            CHECK_EQ(fl_swim_world_crash(&w, id), 0);
        uint64_t dropped = 0;
        bool done = false;
        for (fl_time_ns t = 10 * FL_NS_PER_S; t <= 400 * FL_NS_PER_S && !done; t += FL_NS_PER_S) {
            CHECK_EQ(fl_swim_world_run_until(&w, t), 0);
            done = true;
            for (fl_node_id id = 1; id <= 60; id++) {
                const fl_swim *s = fl_swim_sim_core(w.sim, id);
                CHECK(s != NULL);
                CHECK(s->bq_count <= 16 && s->bq_cap <= 16); /* bounded, always */
                done &= fl_swim_live_count(s) == 60 && s->n_susp == 0;
            }
        }
        for (fl_node_id id = 1; id <= 60; id++)
            dropped += fl_swim_get_stats(fl_swim_sim_core(w.sim, id))->bcast_dropped;
        fprintf(stderr, "seed %llu: %llu updates evicted; all views exact at %.0f s\n",
                (unsigned long long)seed, (unsigned long long)dropped,
                (double)fl_sim_time(w.sim) / 1e9);
        CHECK(dropped > 0); /* the queue did overflow */
        CHECK(done);        /* and the news still reached everyone */
        CHECK_EQ(fl_swim_world_wrongly_dead(&w), 0);
        fl_swim_world_free(&w);
    }
}
