/* test_swim_campaign.c: SWIM property campaigns over seeds in the simulator:
 *   1. at 0% loss with no pauses, no live reachable member is ever declared dead (nor
 *      suspected), core invariants checked after every step;
 *   2. every crash is marked dead by every live member within a bound (first-probe slack +
 *      the longest suspicion timeout + dissemination slack);
 *   3. two halves partitioned past the reap time re-merge after the heal;
 *   4. runs are deterministic: one seed, one trace hash;
 *   5. a join storm (50 members starting within 0.1 s, knowing only the seed) ends with every
 *      member seeing all within 1.5 s, without a single suspicion; with addresses learned
 *      only first-hand, still without one (no member is probed before its address is known);
 *   6. the news of a death goes from the first member that declares it to the last within
 *      0.5 s (the gossip timer);
 *   7. the checks of 5 and 6 catch the planted bugs that break them (probe-unaddressed,
 *      no-gossip-timer). */
#include "test.h"

#include "faultline/swim_world.h"

#include <stdio.h>
#include <stdlib.h>

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

/* One join storm of `nodes` through member 1; its figures in f. */
static void join_storm(uint64_t seed, uint32_t nodes, bool first_hand, uint32_t mutants,
                       fl_swim_figures *f)
{
    fl_swim_world_config c;
    small(&c, seed, nodes);
    c.join_seeds = 1;
    c.addr_first_hand = first_hand;
    c.swim.mutants = mutants;
    char why[160];
    CHECK_EQ(fl_swim_scn_join(&c, 100 * FL_NS_PER_MS, 120 * FL_NS_PER_S, f, why, sizeof(why)), 0);
}

TEST(swim_campaign_join_storm_fast_and_without_suspicion)
{
    double worst = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_swim_figures f;
        join_storm(seed, 50, false, 0, &f);
        /* theory: the storm (0.1 s) + one push-pull round trip + the last joiner's ALIVE
         * gossiped ~log4(50) = 2.8 rounds of 200 ms, + a round's phase: ~0.9 s */
        if (f.join_s < 0 || f.join_s > 1.5 || f.join_suspects || f.join_deaths)
            fprintf(stderr, "seed %llu: join %.2f s, %llu suspicions, %llu deaths\n",
                    (unsigned long long)seed, f.join_s, (unsigned long long)f.join_suspects,
                    (unsigned long long)f.join_deaths);
        CHECK(f.join_s >= 0 && f.join_s <= 1.5);
        CHECK_EQ(f.join_suspects, 0);
        CHECK_EQ(f.join_deaths, 0);
        CHECK_EQ(f.join_no_address, 0); /* nothing was ever sent where it could not go */
        CHECK(f.join_syncs >= 2 * 49);  /* every joiner's push-pull and its answer */
        worst = f.join_s > worst ? f.join_s : worst;
    }
    fprintf(stderr, "join storms of 50: all see all within %.2f s at worst\n", worst);
}

TEST(swim_campaign_join_first_hand_addresses_never_suspects)
{
    /* addresses never travel with news: members learn each other's only from their own
     * packets, so most are known long before they can be reached; none is ever probed then */
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fl_swim_figures f;
        join_storm(seed, 30, true, 0, &f);
        CHECK(f.join_s >= 0);
        CHECK_EQ(f.join_suspects, 0);
        CHECK_EQ(f.join_deaths, 0);
    }
}

/* First-dead-to-all-dead spreads (seconds) of 4 crashes in 50 members, appended to d. */
static void dead_spreads(uint64_t seed, uint32_t mutants, double *d, uint32_t *n)
{
    fl_swim_world_config c;
    small(&c, seed, 50);
    c.swim.mutants = mutants;
    fl_swim_figures f;
    char why[160];
    CHECK_EQ(fl_swim_scn_crash(&c, 4, 30 * FL_NS_PER_S, &f, why, sizeof(why)), 0);
    for (uint32_t i = 0; i < f.crashes; i++) {
        CHECK(f.first_dead_s[i] >= 0 && f.all_dead_s[i] >= f.first_dead_s[i]);
        d[(*n)++] = f.all_dead_s[i] - f.first_dead_s[i];
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Theory: DEAD gossiped every 200 ms to 3 reaches 50 members in ~log4(50) = 2.8 rounds, each
 * relay waiting up to a round for its timer: at most ~(3 + 1) x 200 ms = 0.8 s. The goal (the
 * issue's, and memberlist's 0.1-0.3 s on loopback) is 0.5 s: checked on the median. */
TEST(swim_campaign_dead_news_spreads_within_half_a_second)
{
    double d[64];
    uint32_t n = 0;
    for (uint64_t seed = 1; seed <= SEEDS / 2; seed++)
        dead_spreads(seed, 0, d, &n);
    qsort(d, n, sizeof(d[0]), cmp_d);
    fprintf(stderr, "first dead -> all dead, %u crashes in 50 members: median %.2f s, max %.2f s\n",
            n, d[n / 2], d[n - 1]);
    CHECK(d[n - 1] <= 0.8);
    CHECK(d[n / 2] <= 0.5);
}

TEST(swim_campaign_checks_catch_mutants)
{
    fl_swim_figures f;
    join_storm(1, 30, true, FL_SWIM_MUTANT_PROBE_UNADDRESSED, &f);
    fprintf(stderr, "probe-unaddressed: %llu suspicions in the join storm\n",
            (unsigned long long)f.join_suspects);
    CHECK(f.join_suspects > 0);
    double d[8];
    uint32_t n = 0;
    dead_spreads(1, FL_SWIM_MUTANT_NO_GOSSIP_TIMER, d, &n);
    qsort(d, n, sizeof(d[0]), cmp_d);
    fprintf(stderr, "no-gossip-timer: first dead -> all dead: median %.2f s, max %.2f s\n",
            d[n / 2], d[n - 1]);
    CHECK(d[n - 1] > 0.8); /* the bound above fails */
}
