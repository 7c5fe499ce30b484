/* cmd_demo.c: `faultline demo`: the README's first command. A 5-node Raft cluster serving a
 * replicated key-value store to 20 simulated clients for 60 s of virtual time under a random
 * mix of faults, checked after every event and at the end, explained in plain words. */
#include "cli.h"
#include "cli_opt.h"
#include "faultline/hist.h"
#include "sim_eval.h"
#include "sim_scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOWS_MAX 600

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline demo [--seed S] [--out DIR]\n\n"
               "A self-contained tour: a 5-node Raft cluster serving a replicated key-value\n"
               "store to 20 simulated clients for 60 s of virtual time, under a random mix of\n"
               "partitions, crashes, pauses, message loss, duplication, delay and clock faults;\n"
               "checked after every event and at the end, and explained. Takes a few seconds.\n"
               "It writes results.json, history.jsonl, timeline.jsonl and report.html (the\n"
               "pictures: open it in a browser) to DIR, by default $TMPDIR/faultline-demo\n"
               "(/tmp/faultline-demo when TMPDIR is not set).\n");
    fl_cli_exit_help(f, "no violation found", "a violation found", NULL);
}

/* The options; 0, or the exit status (message printed, or usage on stdout with *help). */
static int demo_args(int argc, char **argv, sim_opts *o, bool *help)
{
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            *help = true;
            return 0;
        } else if (!strcmp(argv[i], "--seed")) {
            int rc = fl_cli_u64("demo", "--seed", v, 0, UINT64_MAX, &o->run.seed);
            if (rc)
                return rc;
            i++;
        } else if (!strcmp(argv[i], "--out")) {
            if (!v)
                return fl_cli_no_value("demo", "--out");
            o->out_dir = argv[++i];
        } else {
            return fl_cli_unexpected("demo", argv[i]);
        }
    }
    return 0;
}

static void tell_faults(const fl_run_result *r)
{
    printf("\nWhat the nemesis did (each fault lasted 3 s, then 3 s of calm):\n");
    for (size_t i = 0; i < r->n_faults; i++)
        printf("  %5.1f s - %5.1f s   %s\n", (double)r->faults[i].start_ns / 1e9,
               (double)r->faults[i].end_ns / 1e9, r->faults[i].kind);
    printf("  %5.1f s             everything healed: links, clocks, crashed and paused nodes\n",
           (double)r->heal_ns / 1e9);
}

static void tell_leaders(const fl_run_result *r, const sim_outcome *oc)
{
    printf("\nLeadership (who believed it was leader, and when):\n");
    size_t shown = 0;
    for (size_t i = 0; i < r->n_roles && shown < 24; i++) {
        const fl_observe_role *e = &r->roles[i];
        if (!e->is_leader)
            continue;
        printf("  %6.2f s   node %u became leader of term %llu\n", (double)e->time_ns / 1e9,
               e->node, (unsigned long long)e->term);
        shown++;
    }
    if (!oc->has_obs)
        return;
    const fl_observe_avail *a = &oc->obs.avail;
    const fl_observe_splits *s = &oc->obs.split;
    printf("  Leader lost %llu times; a new one took over after %.0f ms on average, %.0f ms at "
           "worst.\n",
           (unsigned long long)a->outages, a->outage_mean_ns / 1e6, (double)a->outage_max_ns / 1e6);
    printf("  Split brain: %llu intervals in which an old leader (lower term) still believed "
           "it led beside a new one, %.0f ms in all (Raft allows this: the old one can commit "
           "nothing); it served %llu reads and acknowledged %llu writes meanwhile. %llu "
           "intervals with two leaders of the same term (that would be a safety violation).\n",
           (unsigned long long)s->stale, (double)s->stale_total_ns / 1e6,
           (unsigned long long)s->stale_served_reads, (unsigned long long)s->stale_acked_writes,
           (unsigned long long)s->same_term);
}

static void tell_service(const sim_outcome *oc)
{
    if (!oc->has_obs)
        return;
    const fl_observables *ob = &oc->obs;
    uint64_t best = 0;
    for (size_t w = 0; w < ob->window_count; w++)
        best = ob->window[w].ok > best ? ob->window[w].ok : best;
    printf("\nService, second by second (successful operations; '#' = at least half the best "
           "second, '.' = less, ' ' = none):\n  ");
    for (size_t w = 0; w < ob->window_count && w < WINDOWS_MAX; w++)
        putchar(ob->window[w].ok == 0 ? ' ' : ob->window[w].ok * 2 < best ? '.' : '#');
    const fl_hist *lat = ob->latency.ok;
    printf("\n  %.1f%% of operations succeeded; %.0f%% of seconds answered; the longest time "
           "without a successful write was %.0f ms.\n",
           100 * ob->avail.ok_fraction, 100 * ob->avail.windows_answered_fraction,
           (double)ob->avail.write_gap_max_ns / 1e6);
    if (lat && lat->count)
        printf("  Latency of successful operations: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
               "p99.9 %.2f ms, max %.2f ms.\n",
               (double)fl_hist_percentile(lat, 50) / 1e6, (double)fl_hist_percentile(lat, 90) / 1e6,
               (double)fl_hist_percentile(lat, 99) / 1e6,
               (double)fl_hist_percentile(lat, 99.9) / 1e6, (double)lat->max / 1e6);
    printf("  Stale reads (a read missing a write acknowledged before it began): %llu of %llu "
           "checked.\n",
           (unsigned long long)ob->stale.stale, (unsigned long long)ob->stale.checked);
}

static void tell_verdict(const fl_run_result *r, const sim_outcome *oc)
{
    printf("\nVerdict:\n");
    printf("  Raft's safety invariants (one leader per term, logs that match, committed entries "
           "never lost, every node applying the same commands) were checked after each of "
           "%llu events: %s.\n",
           (unsigned long long)r->sim.events, oc->safe ? "they held" : "VIOLATED");
    printf("  The %llu operations the clients saw were checked for linearizability: %s.\n",
           (unsigned long long)r->ops_invoked,
           oc->checked ? fl_verdict_name(oc->lin) : "not checked");
    if (r->live)
        printf("  After the heal, a new write succeeded within %.1f ms.\n",
               (double)r->recover_ns / 1e6);
    else
        printf("  After the heal, NO write succeeded in time.\n");
    printf("  %s\n", oc->violation ? oc->what : "No violation found.");
}

int fl_cmd_demo(int argc, char **argv)
{
    sim_opts o;
    memset(&o, 0, sizeof(o));
    fl_run_config_default(&o.run);
    o.run.seed = 7;
    o.run.nodes = 5;
    o.run.clients = 20;
    o.run.duration_ns = 60 * FL_NS_PER_S;
    o.run.nemesis = FL_NEMESIS_MIX;
    o.run.nemesis_interval_ns = 3 * FL_NS_PER_S;
    o.check_lin = true;
    o.check_timeout_ns = 60 * FL_NS_PER_S;
    bool help = false;
    int rc = demo_args(argc, argv, &o, &help);
    if (rc || help)
        return rc;
    char default_dir[4096];
    if (!o.out_dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(default_dir, sizeof(default_dir), "%s/faultline-demo", tmp && *tmp ? tmp : "/tmp");
        o.out_dir = default_dir;
    }
    if ((rc = fl_cli_out_dir("demo", "--out", o.out_dir))) /* before the run, not after */
        return rc;
    printf("faultline demo: 5 Raft nodes, a replicated key-value store, 20 clients doing reads, "
           "writes and compare-and-set on 3 hot keys, 60 s of simulated time, seed %llu.\n\n",
           (unsigned long long)o.run.seed);
    fl_run_result r;
    if ((rc = fl_run(&o.run, &r))) {
        fprintf(stderr, "faultline demo: the run failed%s\n", rc == -1 ? ": out of memory" : "");
        fl_run_result_free(&r);
        return rc == -1 ? FL_EXIT_OSERR : FL_EXIT_SOFTWARE;
    }
    sim_outcome oc;
    sim_evaluate(&o, &o.run, &r, &oc);
    sim_print_summary(stdout, &o.run, &r, &oc);
    tell_faults(&r);
    tell_leaders(&r, &oc);
    tell_service(&oc);
    tell_verdict(&r, &oc);
    bool written = sim_write_outputs(o.out_dir, &o.run, &r, &oc) == 0 &&
                   sim_scenario_write(o.out_dir, "scenario.yaml", &o, &o.run, &r) == 0;
    if (written)
        printf("\nWrote %s/results.json, history.jsonl, timeline.jsonl and scenario.yaml.\n"
               "Report: %s/report.html (the pictures of this run: open it in a browser)\n",
               o.out_dir, o.out_dir);
    printf("\nTry: faultline sim --nodes 5 --seed 7 --duration 30s --nemesis mix --out out/\n"
           "     faultline sim --seeds 1..200 --nemesis mix --duration 10s   (a campaign)\n"
           "     faultline sim --nemesis pause --mutant no-step-down   (a planted bug, caught)\n"
           "     faultline sim --pipeline 8 --nemesis mix   (clients pipelining, program order "
           "checked)\n");
    fl_run_result_free(&r);
    int violation = oc.violation;
    sim_outcome_free(&oc);
    return !written ? FL_EXIT_IOERR : violation ? FL_EXIT_VIOLATION : 0;
}
