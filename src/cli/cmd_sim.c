/* cmd_sim.c: `faultline sim`: one simulated run (or a campaign) of the replicated kv on
 * Raft under a nemesis, judged by the invariant checks, the linearizability checker and the
 * liveness probe. */
#include "campaign.h"
#include "compare.h"
#include "cli.h"
#include "faultline/crash_points.h"
#include "faultline/raft_chaos.h"
#include "sim_cap.h"
#include "sim_eval.h"
#include "sim_scenario.h"

#include <stdio.h>
#include <string.h>

static int chaos_run(const sim_opts *o)
{
    fl_chaos_config c;
    campaign_chaos_config(o, o->run.seed, &c);
    c.verbose = o->run.verbose;
    if (o->snapshot_set)
        c.snapshot_every = o->run.snapshot_every;
    fl_chaos_result r;
    if (fl_chaos_run(&c, &r)) {
        fprintf(stderr, "faultline sim --chaos: bad configuration\n");
        return FL_EXIT_USAGE;
    }
    printf("chaos seed %llu: %llu proposals, %llu committed, %llu nemesis actions, %llu "
           "elections, %llu events; %s\n",
           (unsigned long long)c.seed, (unsigned long long)r.proposals,
           (unsigned long long)r.committed, (unsigned long long)r.nemesis_actions,
           (unsigned long long)r.elections, (unsigned long long)r.sim.events,
           r.violation ? "VIOLATION"
           : r.live    ? "no violation, live after the heal"
                       : "NOT LIVE after the heal");
    if (c.churn)
        printf("  membership: %llu changes asked, %llu refused; %llu joint and %llu final "
               "configurations committed; %llu removed leaders stepped down; %llu leaders "
               "elected while joint\n",
               (unsigned long long)r.churn_asked, (unsigned long long)r.churn_refused,
               (unsigned long long)r.joint_committed, (unsigned long long)r.config_committed,
               (unsigned long long)r.removed_stepdowns, (unsigned long long)r.joint_elections);
    if (c.sync_inline)
        printf("  syncs: %llu held their node, %llu events waited for one\n",
               (unsigned long long)r.syncs_inline, (unsigned long long)r.sim.events_held);
    if (c.snapshot_every)
        printf("  snapshots: %llu taken, %llu chunks sent, %llu installed\n",
               (unsigned long long)r.snapshots_taken, (unsigned long long)r.snapshot_chunks_sent,
               (unsigned long long)r.snapshots_installed);
    if (r.violation)
        printf("  %s (event %llu at %.6f s)\n%s", r.reason, (unsigned long long)r.event,
               (double)r.violation_time_ns / 1e9, r.trace_tail);
    else if (!r.live)
        printf("%s", r.trace_tail); /* the nodes' state at the end */
    return r.violation || !r.live ? FL_EXIT_VIOLATION : 0;
}

static int crash_points_run(const sim_opts *o)
{
    fl_crash_config c;
    fl_crash_config_default(&c);
    c.seed = o->run.seed;
    c.mutants = o->run.mutants;
    fl_crash_result r;
    fl_crash_points_run(&c, &r); /* the defaults are in range */
    printf("crash points seed %llu: %llu persist requests over %u lives, crashed before each of "
           "%llu operations, %llu recoveries (%llu refused over holes left by reordered "
           "writes); %s\n",
           (unsigned long long)c.seed, (unsigned long long)r.requests, c.lives,
           (unsigned long long)r.boundaries, (unsigned long long)r.recoveries,
           (unsigned long long)r.refusals, r.violation ? "VIOLATION" : "no violation");
    if (r.violation)
        printf("  durability: %s\n", r.reason);
    return r.violation ? FL_EXIT_VIOLATION : 0;
}

static int single_run(const sim_opts *o)
{
    fl_run_result r;
    int rc = fl_run(&o->run, &r);
    if (rc) {
        fprintf(stderr, "faultline sim: the run failed: %s\n",
                rc == -1 ? "out of memory" : "error");
        fl_run_result_free(&r);
        return rc == -1 ? FL_EXIT_OSERR : FL_EXIT_SOFTWARE;
    }
    sim_outcome oc;
    sim_evaluate(o, &o->run, &r, &oc);
    char world[2048];
    sim_opts_repro(&o->run, world, sizeof(world));
    if (!o->quiet && o->swarm)
        printf("world    %s\n", world);
    if (!o->quiet)
        sim_print_summary(stdout, &o->run, &r, &oc);
    if (!o->quiet && (o->run.nemesis == FL_NEMESIS_CHURN || o->run.nemesis == FL_NEMESIS_MIX_CHURN))
        printf("members  %llu changes asked, %llu refused; %llu joint and %llu final "
               "configurations committed; %llu removed leaders stepped down; %llu leaders "
               "elected while joint\n",
               (unsigned long long)r.churn_asked, (unsigned long long)r.churn_refused,
               (unsigned long long)r.joint_committed, (unsigned long long)r.config_committed,
               (unsigned long long)r.removed_stepdowns, (unsigned long long)r.joint_elections);
    bool written =
        !o->out_dir || (sim_write_outputs(o->out_dir, &o->run, &r, &oc) == 0 &&
                        sim_scenario_write(o->out_dir, "scenario.yaml", o, &o->run, &r) == 0);
    bool scenario = o->out_dir != NULL;
    if (o->out_dir && written && !o->quiet)
        printf("output   %s/results.json, history.jsonl, timeline.jsonl%s; report "
               "%s/report.html\n",
               o->out_dir, scenario ? ", scenario.yaml" : "", o->out_dir);
    printf("verdict  %s\n", oc.violation ? oc.what : "no violation found");
    if (oc.violation) {
        char repro[2048];
        sim_opts_seed_repro(o, o->run.seed, repro, sizeof(repro));
        printf("reproduce: %s\n", repro);
        if (scenario)
            printf("scenario:  faultline sim --scenario %s/scenario.yaml   (smaller: faultline "
                   "shrink %s)\n",
                   o->out_dir, o->out_dir);
        if (o->swarm)
            printf("world:     %s\n", world);
        if (!oc.safe || !oc.live)
            printf("%s", r.trace_tail);
    }
    fl_run_result_free(&r);
    int violation = oc.violation;
    sim_outcome_free(&oc);
    /* results that could not be written are an error even beside a verdict: a script must
     * not read a directory this run failed to fill */
    return !written ? FL_EXIT_IOERR : violation ? FL_EXIT_VIOLATION : 0;
}

int fl_cmd_sim(int argc, char **argv)
{
    if (fl_swim_sim_wanted(argc, argv))
        return fl_cmd_swim_sim(argc, argv);
    sim_opts o;
    int rc = sim_opts_parse(&o, argc, argv);
    if (rc)
        return rc;
    if (o.help) {
        sim_opts_usage(stdout);
        return 0;
    }
    if (o.cap)
        return sim_cap_run(&o);
    if (o.n_compare)
        return compare_run(&o);
    if (o.campaign)
        return campaign_run(&o);
    if (o.chaos)
        return chaos_run(&o);
    if (o.crash_points)
        return crash_points_run(&o);
    return single_run(&o);
}
