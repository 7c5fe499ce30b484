/* test_observe_random.c: properties of the observables over generated histories (histgen.h):
 * the stale-read rules never report a stale read in a linearizable history, and do report
 * the known-breaking stale-read and lost-write mutations; op counts add up; a large history
 * is computed quickly. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/histgen.h"
#include "faultline/observe.h"

#include <stdlib.h>

typedef struct config {
    fl_model model;
    uint32_t keys;
    bool deletes;
    bool appends;
} config;

static const config configs[] = {
    {FL_MODEL_REGISTER, 0, false, false}, {FL_MODEL_CAS_REGISTER, 3, false, false},
    {FL_MODEL_KV, 4, true, false},        {FL_MODEL_KV, 2, true, true},
    {FL_MODEL_KV, 3, false, true},
};

static void gen(fl_history *h, const config *c, uint64_t seed, uint32_t ops)
{
    fl_histgen_opts o;
    fl_histgen_opts_init(&o);
    o.model = c->model;
    o.keys = c->keys;
    o.deletes = c->deletes;
    o.appends = c->appends;
    o.ops = ops;
    o.processes = 1 + (uint32_t)(seed % 7);
    o.info_ratio = (double)(seed % 4) * 0.05;
    o.fail_ratio = 0.1;
    o.seed = seed;
    fl_history_init(h);
    CHECK_EQ(fl_histgen_run(h, &o), 0);
}

static void observe(const fl_history *h, fl_observables *o)
{
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = h;
    in.window_ns = 10 * FL_NS_PER_MS;
    CHECK_EQ(fl_observe_compute(&in, o), 0);
}

TEST(observe_random_linearizable_has_no_stale_reads)
{
    for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++) {
        for (uint64_t seed = 1; seed <= 40; seed++) {
            fl_history h;
            gen(&h, &configs[k], seed * 31 + k, 150);
            fl_observables o;
            observe(&h, &o);
            if (o.stale.stale)
                fprintf(stderr, "config %zu seed %llu: %llu stale\n", k,
                        (unsigned long long)(seed * 31 + k), (unsigned long long)o.stale.stale);
            CHECK_EQ(o.stale.stale, 0);
            CHECK_EQ(o.avail.ok + o.avail.fail + o.avail.info, o.avail.ops);
            CHECK_EQ(o.stale.checked + o.stale.unchecked, o.stale.reads_ok);
            uint64_t in_windows = 0;
            for (size_t i = 0; i < o.window_count; i++)
                in_windows += o.window[i].ok;
            CHECK_EQ(in_windows, o.avail.ok);
            CHECK_EQ(o.latency.ok->count, o.avail.ok);
            fl_observe_free(&o);
            fl_history_free(&h);
        }
    }
}

/* The mutations of histgen_break on keys without appends (the value rule). */
TEST(observe_random_broken_reads_are_found)
{
    uint64_t found[3] = {0}, tried[3] = {0};
    static const fl_histgen_mutation muts[] = {FL_MUT_STALE_READ, FL_MUT_LOST_WRITE,
                                               FL_MUT_PHANTOM_READ};
    for (size_t k = 0; k < 3; k++) {
        for (uint64_t seed = 1; seed <= 30; seed++) {
            for (size_t m = 0; m < 3; m++) {
                fl_history h;
                gen(&h, &configs[k], seed * 17 + k, 100);
                fl_rng rng;
                fl_rng_seed(&rng, seed);
                if (fl_histgen_break(&h, muts[m], &rng) != 0) {
                    fl_history_free(&h);
                    continue;
                }
                fl_observables o;
                observe(&h, &o);
                tried[m]++;
                if (muts[m] == FL_MUT_PHANTOM_READ) {
                    CHECK_EQ(o.stale.stale, 0);
                    CHECK(o.stale.unchecked >= 1);
                    found[m]++;
                } else {
                    CHECK_EQ(o.stale.stale, 1);
                    found[m] += o.stale.stale;
                }
                fl_observe_free(&o);
                fl_history_free(&h);
            }
        }
    }
    for (size_t m = 0; m < 3; m++) {
        CHECK(tried[m] > 15);
        CHECK_EQ(found[m], tried[m]);
    }
}

TEST(observe_random_large_history)
{
    fl_history h;
    gen(&h, &configs[3], 7, 100000);
    fl_observables o;
    observe(&h, &o);
    CHECK_EQ(o.stale.stale, 0);
    CHECK_EQ(o.avail.ops, 100000);
    fl_observe_free(&o);
    fl_history_free(&h);
}
