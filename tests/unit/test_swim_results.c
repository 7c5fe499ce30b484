/* test_swim_results.c: `faultline sim --protocol swim --out DIR` writes results.json with the
 * gossip observables of docs/results.md: detection latency (crash), view divergence over time
 * and convergence after the heal (partition), dissemination (broadcast) and load (churn). */
#include "cli.h"
#include "test.h"

#include "faultline/atomic_file.h"
#include "faultline/json_read.h"

#include <stdio.h>
#include <stdlib.h>

static fl_jr_node nodes[1 << 14];

/* Runs the scenario into a fresh directory and parses its results.json into d. */
static void run(const char *args, char *dir, fl_buf *text, fl_jr_doc *d)
{
    snprintf(dir, 128, "/tmp/fl-swimres-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char cmd[512], out[200];
    snprintf(cmd, sizeof(cmd), "sim --protocol swim %s --out %s/r", args, dir);
    snprintf(out, sizeof(out), "%s/out.txt", dir);
    CHECK_EQ(fl_test_faultline_run(cmd, out), 0);
    char rdir[160];
    snprintf(rdir, sizeof(rdir), "%s/r", dir);
    fl_buf_init(text);
    CHECK_EQ(fl_read_file(rdir, "results.json", 1 << 22, text, NULL), 0);
    CHECK_EQ(fl_jr_parse(d, (const char *)text->data, text->len, nodes, 1 << 14), 0);
}

static double num(const fl_jr_doc *d, uint32_t obj, const char *key)
{
    double v = -1;
    uint32_t n = fl_jr_get(d, obj, key);
    CHECK(n != FL_JR_NONE);
    CHECK_EQ(fl_jr_double(d, n, &v), 0);
    return v;
}

static void cleanup(const char *dir, fl_buf *text)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    fl_buf_free(text);
}

TEST(swim_results_crash_detection)
{
    char dir[128];
    fl_buf t;
    fl_jr_doc d;
    run("--scenario crash --nodes 40 --crashes 4", dir, &t, &d);
    CHECK(fl_jr_str_eq(&d, fl_jr_get(&d, 0, "protocol"), "swim"));
    uint32_t det = fl_jr_get(&d, 0, "detection");
    CHECK(det != FL_JR_NONE);
    CHECK_EQ(num(&d, det, "crashes"), 4);
    CHECK_EQ(num(&d, det, "undetected"), 0);
    uint32_t all = fl_jr_get(&d, det, "all_dead_ns");
    double p50 = num(&d, all, "p50"), mx = num(&d, all, "max");
    CHECK(p50 > 1e9 && p50 <= mx && mx < 60e9); /* seconds, not zero, within the spacing */
    uint32_t first = fl_jr_get(&d, det, "first_suspicion_periods");
    CHECK(num(&d, first, "mean") > 0 && num(&d, first, "max") < 40);
    uint32_t spread = fl_jr_get(&d, det, "dead_spread_ns");
    double s50 = num(&d, spread, "p50"), smax = num(&d, spread, "max");
    CHECK(s50 >= 0 && s50 <= smax && smax < mx); /* a part of the time to all-dead */
    CHECK_EQ(num(&d, 0, "gossip_interval_ns"), 200e6);
    CHECK_EQ(num(&d, 0, "gossip_fanout"), 3);
    cleanup(dir, &t);
}

TEST(swim_results_join_storm)
{
    char dir[128];
    fl_buf t;
    fl_jr_doc d;
    run("--scenario join --nodes 30", dir, &t, &d);
    uint32_t j = fl_jr_get(&d, 0, "join");
    CHECK(j != FL_JR_NONE);
    CHECK_EQ(num(&d, j, "storm_ns"), 100e6);
    double all = num(&d, j, "all_see_all_ns");
    CHECK(all > 100e6 && all < 2e9); /* after the storm, within seconds */
    CHECK(num(&d, j, "node_full_view_p50_ns") <= num(&d, j, "node_full_view_max_ns"));
    CHECK_EQ(num(&d, j, "suspicions"), 0);
    CHECK_EQ(num(&d, j, "deaths"), 0);
    CHECK(num(&d, j, "push_pulls") >= 2 * 29);
    cleanup(dir, &t);
}

TEST(swim_results_partition_divergence)
{
    char dir[128];
    fl_buf t;
    fl_jr_doc d;
    run("--scenario partition --nodes 30", dir, &t, &d);
    uint32_t p = fl_jr_get(&d, 0, "partition");
    CHECK(p != FL_JR_NONE);
    double heal = num(&d, p, "convergence_after_heal_ns");
    CHECK(heal > 0);
    uint32_t series = fl_jr_get(&d, p, "view_divergence");
    CHECK(series != FL_JR_NONE && nodes[series].count > 100);
    uint32_t n = nodes[series].count;
    /* right after the split every view counts the other half too; at the end all are exact */
    CHECK(num(&d, fl_jr_at(&d, series, 0), "fraction") > 0.5);
    CHECK_EQ(num(&d, fl_jr_at(&d, series, n - 1), "fraction"), 0);
    double t_last = num(&d, fl_jr_at(&d, series, n - 1), "t_ns");
    CHECK(t_last >= 120e9 && t_last <= 120e9 + heal + 1e9);
    cleanup(dir, &t);
}

TEST(swim_results_dissemination_and_load)
{
    char dir[128];
    fl_buf t;
    fl_jr_doc d;
    run("--scenario broadcast --nodes 100", dir, &t, &d);
    uint32_t arr = fl_jr_get(&d, 0, "dissemination");
    CHECK(arr != FL_JR_NONE);
    CHECK_EQ(nodes[arr].count, 3);     /* 0, 10, 30% loss */
    for (uint32_t i = 0; i < 2; i++) { /* at 30% one member of 100 may never get it: null */
        uint32_t e = fl_jr_at(&d, arr, i);
        CHECK(num(&d, e, "t_999_ns") > 0);
        CHECK(num(&d, e, "rounds_100") >= num(&d, e, "rounds_999"));
    }
    uint32_t l30 = fl_jr_at(&d, arr, 2);
    CHECK(nodes[fl_jr_get(&d, l30, "t_100_ns")].type == FL_JR_NULL || num(&d, l30, "t_100_ns") > 0);
    cleanup(dir, &t);
    run("--scenario churn --nodes 64 --duration 20", dir, &t, &d);
    arr = fl_jr_get(&d, 0, "load");
    CHECK(arr != FL_JR_NONE && nodes[arr].count == 3);
    CHECK(num(&d, fl_jr_at(&d, arr, 0), "packets_per_member_s") > 0.5);
    cleanup(dir, &t);
}
