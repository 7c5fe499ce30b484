/* bench_flp.c: the FLP adversary (flp.h) on Raft over many seeds, in virtual time: 5 nodes,
 * the network and disk models of `faultline sim`, the adversary from the start until GST at
 * 10 s, then 3 s more; the same seeds without it as the control. Prints, per variant (pre-vote
 * on and off), how many seeds decided anything before GST (the adversary's failures: 0
 * expected), the distribution of the time from GST to the first decision, in ms and in
 * election timeouts, how many held messages and the longest delay; and for the control the
 * time from start to the first decision. Arguments: seeds (1000). Every figure is virtual
 * time, so the output is the same on every machine. */
#include "faultline/flp.h"
#include "faultline/raft_sim.h"

#include <stdio.h>
#include <stdlib.h>

#define GST_NS (10 * FL_NS_PER_S)

typedef struct one {
    uint64_t before;     /* decisions before GST */
    fl_time_ns first_ns; /* first decision after GST (control: after start) */
    uint64_t held;       /* messages held back */
    fl_time_ns delay_ns; /* the longest message delay */
    uint64_t campaigns;  /* control: campaigns (all nodes) until the first decision */
} one;

/* Control: steps until the first commit, then counts the campaigns it took (a split vote
 * or a lost race costs one more round: randomized timeouts make one round likely, not sure). */
static uint64_t campaigns_to_decide(fl_sim *sim)
{
    for (;;) {
        uint64_t campaigns = 0;
        bool decided = false;
        for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
            const fl_raft *r = fl_raft_sim_node(sim, id);
            if (!r)
                continue;
            fl_raft_counters k;
            fl_raft_counters_of(r, &k);
            campaigns += k.elections_started;
            decided = decided || fl_raft_commit_of(r) > 0;
        }
        if (decided || fl_sim_step(sim) != 1)
            return campaigns;
    }
}

static int run(uint64_t seed, bool adversary, bool pre_vote, one *out)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = pre_vote;
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = seed;
    sc.nodes = 5;
    sc.quiet = true;
    sc.link.delay = fl_sim_dist_exp(FL_NS_PER_MS / 2, FL_NS_PER_MS / 2);
    sc.disk_sync = fl_sim_dist_uniform(200 * FL_NS_PER_US, 2 * FL_NS_PER_MS);
    fl_raft_sim rs;
    fl_sim *sim;
    char why[160];
    if (fl_raft_sim_create(&rs, &rc, NULL, &sc, &sim, why, sizeof(why)))
        return -1;
    fl_flp_raft st;
    fl_flp_oracle o;
    fl_flp_raft_oracle(&st, 0, &o);
    fl_flp a;
    int rc2 = fl_flp_start(&a, sim, &o, GST_NS, FL_NS_PER_MS);
    if (!adversary)
        fl_flp_gst(&a); /* the observer only: GST at 0 */
    if (!rc2)
        rc2 = fl_sim_start_all(sim);
    out->campaigns = !rc2 && !adversary ? campaigns_to_decide(sim) : 0;
    if (!rc2)
        rc2 = fl_sim_run_until(sim, GST_NS + 3 * FL_NS_PER_S);
    out->before = a.st.decisions_before_gst;
    out->first_ns = a.st.first_decision_ns == FL_TIME_NEVER ? FL_TIME_NEVER
                                                            : a.st.first_decision_ns - a.st.gst_ns;
    out->held = fl_sim_get_stats(sim)->msgs_held;
    out->delay_ns = fl_sim_get_stats(sim)->msg_delay_max_ns;
    rc2 = rc2 || fl_sim_get_violation(sim)->found;
    fl_sim_destroy(sim);
    fl_raft_sim_free(&rs);
    return rc2 ? -1 : 0;
}

static int cmp_ns(const void *a, const void *b)
{
    fl_time_ns x = *(const fl_time_ns *)a, y = *(const fl_time_ns *)b;
    return x < y ? -1 : x > y;
}

static void variant(uint64_t seeds, bool adversary, bool pre_vote, fl_time_ns *t)
{
    const double et_ms = 150.0; /* fl_raft_config_default's election timeout */
    uint64_t failed = 0, undecided = 0, errors = 0, held = 0, within1 = 0, within2 = 0;
    uint64_t rounds[4] = {0}; /* control: 1, 2, 3, more campaigns to the first decision */
    fl_time_ns delay = 0;
    for (uint64_t s = 1; s <= seeds; s++) {
        one o;
        if (run(s, adversary, pre_vote, &o)) {
            errors++;
            t[s - 1] = FL_TIME_NEVER;
            continue;
        }
        failed += o.before > 0;
        undecided += o.first_ns == FL_TIME_NEVER;
        held += o.held;
        if (!adversary)
            rounds[o.campaigns >= 4 ? 3 : o.campaigns ? o.campaigns - 1 : 0]++;
        delay = o.delay_ns > delay ? o.delay_ns : delay;
        t[s - 1] = o.first_ns;
        within1 += (double)o.first_ns / 1e6 <= et_ms;
        within2 += (double)o.first_ns / 1e6 <= 2 * et_ms;
    }
    qsort(t, seeds, sizeof(*t), cmp_ns);
    const char *name = adversary ? (pre_vote ? "adversary, pre-vote" : "adversary, no pre-vote")
                                 : (pre_vote ? "control, pre-vote" : "control, no pre-vote");
    printf("%-23s %llu seeds", name, (unsigned long long)seeds);
    if (adversary)
        printf(", decided before GST: %llu", (unsigned long long)failed);
    printf(", never decided: %llu, errors: %llu\n", (unsigned long long)undecided,
           (unsigned long long)errors);
    printf("%-23s first decision after %s: p50 %.1f ms, p90 %.1f, p99 %.1f, max %.1f; within 1 "
           "election timeout: %llu, within 2: %llu\n",
           "", adversary ? "GST" : "the start", (double)t[seeds / 2] / 1e6,
           (double)t[seeds * 9 / 10] / 1e6, (double)t[seeds * 99 / 100] / 1e6,
           (double)t[seeds - 1 - undecided - errors] / 1e6, (unsigned long long)within1,
           (unsigned long long)within2);
    if (adversary)
        printf("%-23s messages held back: %.1f per seed; the longest delay of any message: %.1f "
               "ms\n",
               "", (double)held / (double)seeds, (double)delay / 1e6);
    else
        printf("%-23s campaigns until the first decision: 1 in %llu seeds, 2 in %llu, 3 in %llu, "
               "more in %llu\n",
               "", (unsigned long long)rounds[0], (unsigned long long)rounds[1],
               (unsigned long long)rounds[2], (unsigned long long)rounds[3]);
}

int main(int argc, char **argv)
{
    uint64_t seeds = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000;
    if (seeds < 1 || seeds > 1000000) {
        fprintf(stderr, "usage: bench_flp [seeds 1..1000000]\n");
        return 2;
    }
    fl_time_ns *t = malloc(seeds * sizeof(*t));
    if (!t)
        return 1;
    variant(seeds, true, true, t);
    variant(seeds, true, false, t);
    variant(seeds, false, true, t);
    variant(seeds, false, false, t);
    free(t);
    return 0;
}
