/* run_flp.c: the FLP adversary (flp.h) in a simulated kv run: nemesis flp. It acts from the
 * start until GST (--gst, or the heal at the end of the duration), with Raft's oracle; its
 * interval is recorded as a fault ("flp") so reports shade it. Clients run as usual: with
 * nothing decided, their writes and reads time out (info). */
#include "run_int.h"

#include <stdio.h>

/* How often a held vote is looked at again: a mean network delay, so a vote that can no
 * longer help goes about as fast as the network would have carried it. */
static fl_time_ns poll_ns(const run *rn)
{
    return rn->cfg->net_delay_ns > 0 ? rn->cfg->net_delay_ns : FL_NS_PER_MS;
}

static void record_interval(run *rn, fl_time_ns end)
{
    fl_run_result *r = rn->res;
    if (fl_array_grow((void **)&r->faults, &rn->faults_cap, r->n_faults + 1, sizeof(*r->faults)))
        return;
    fl_observe_fault *f = &r->faults[r->n_faults++];
    *f = (fl_observe_fault){.start_ns = rn->flp.st.start_ns, .end_ns = end};
    snprintf(f->kind, sizeof(f->kind), "%s", fl_nemesis_name(FL_NEMESIS_FLP));
    snprintf(f->targets, sizeof(f->targets), "votes held back");
}

static void gst(fl_sim *sim, void *arg)
{
    run *rn = arg;
    if (!rn->flp.active)
        return;
    fl_flp_gst(&rn->flp);
    record_interval(rn, fl_sim_time(sim));
    if (rn->cfg->verbose)
        printf("%10.3f s  GST: the adversary's power ends\n", (double)fl_sim_time(sim) / 1e9);
}

void fl__flp_start(run *rn)
{
    fl_flp_oracle o;
    fl_flp_raft_oracle(&rn->flp_raft, 0, &o);
    fl_time_ns at = rn->cfg->gst_ns ? rn->cfg->gst_ns : rn->cfg->duration_ns;
    if (fl_flp_start(&rn->flp, rn->sim, &o, FL_TIME_NEVER, poll_ns(rn)) ||
        fl_sim_schedule(rn->sim, at, gst, rn))
        return; /* the run goes on without an adversary: decisions_before_gst says so */
    rn->res->flp = true;
    rn->res->flp_oracle = o.name;
    rn->res->flp_holds = o.holds;
}

void fl__flp_heal(run *rn)
{
    gst(rn->sim, rn);
}
