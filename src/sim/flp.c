/* flp.c: the FLP adversary (flp.h): a delivery gate that asks a protocol's oracle about every
 * message while it acts, an observer that counts decisions, and GST.
 *
 * Invariants: the gate never drops a message (it answers "now" or "later", never "never");
 * after GST it answers "now" to everything; a message held back is looked at again every
 * poll_ns, so it goes at most poll_ns after the oracle stops holding it. */
#include "faultline/flp.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <string.h>

static fl_time_ns gate(void *arg, const fl_sim *sim, fl_node_id from, fl_node_id to,
                       const uint8_t *msg, size_t len)
{
    fl_flp *a = arg;
    if (!a->active)
        return 0;
    a->st.asked++;
    if (!a->oracle.hold(a->oracle.ctx, sim, from, to, msg, len))
        return 0;
    a->st.holds++;
    return fl_sim_time(sim) + a->poll_ns;
}

/* After every event: the decisions before GST, and the first one after it. */
static int observe(void *arg, fl_sim *sim, fl_buf *why)
{
    fl_flp *a = arg;
    (void)why;
    if (!a->active && a->st.first_decision_ns != FL_TIME_NEVER)
        return 0; /* everything is known */
    uint64_t d = a->oracle.decided(a->oracle.ctx, sim);
    if (a->active) {
        if (d > a->st.decisions_before_gst)
            a->st.decisions_before_gst = d;
    } else if (d > a->st.decided_at_gst) {
        a->st.first_decision_ns = fl_sim_time(sim);
    }
    return 0;
}

static void gst_cb(fl_sim *sim, void *arg)
{
    (void)sim;
    fl_flp_gst(arg);
}

void fl_flp_gst(fl_flp *a)
{
    if (!a->active)
        return;
    a->active = false;
    a->st.gst_ns = fl_sim_time(a->sim);
    a->st.decided_at_gst = a->oracle.decided(a->oracle.ctx, a->sim);
    a->st.held_at_gst = fl_sim_get_stats(a->sim)->msgs_holding;
    /* held messages go at their next look: the gate answers "now" from here on */
}

int fl_flp_start(fl_flp *a, fl_sim *sim, const fl_flp_oracle *o, fl_time_ns gst_ns,
                 fl_time_ns poll_ns)
{
    FL_ASSERT(o->hold != NULL);
    FL_ASSERT(o->decided != NULL);
    fl_time_ns now = fl_sim_time(sim);
    if (poll_ns < 1 || gst_ns < now)
        return FL_EINVAL;
    memset(a, 0, sizeof(*a));
    a->sim = sim;
    a->oracle = *o;
    a->poll_ns = poll_ns;
    a->active = true;
    a->started = true;
    a->st.start_ns = now;
    a->st.gst_ns = FL_TIME_NEVER;
    a->st.first_decision_ns = FL_TIME_NEVER;
    int rc = fl_sim_add_check(sim, observe, a);
    if (rc)
        return rc;
    fl_sim_set_gate(sim, gate, a);
    if (gst_ns != FL_TIME_NEVER)
        rc = fl_sim_schedule(sim, gst_ns, gst_cb, a);
    return rc;
}
