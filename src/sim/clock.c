/* clock.c: per-node local clocks: an offset and a drift rate applied to virtual time.
 *
 * A clock is a line through an anchor: local(t) = anchor_local + d + d * ppb / 1e9 with
 * d = t - anchor_global >= 0. Changing the drift, the offset or jumping re-anchors at the
 * current time, so the clock is continuous except for explicit offsets and jumps. Since
 * |ppb| < 1e9 / 2, local(t) is non-decreasing in t between re-anchorings. */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>

__extension__ typedef __int128 i128;

#define PPB 1000000000

void fl__clock_init(sim_clock *c, int64_t offset_ns, double drift_ppm)
{
    c->anchor_global = 0;
    c->anchor_local = offset_ns;
    c->drift_ppb = (int64_t)llround(drift_ppm * 1000.0);
}

int64_t fl__clock_local(const sim_clock *c, fl_time_ns global)
{
    if (c->drift_ppb == 0 && global <= INT64_MAX) { /* the common case, without 128-bit math */
        int64_t d0 = (int64_t)global - c->anchor_global;
        FL_ASSERT(d0 >= 0);
        if (c->anchor_local <= 0 || d0 <= INT64_MAX - c->anchor_local)
            return c->anchor_local + d0;
        return INT64_MAX;
    }
    i128 d = (i128)global - c->anchor_global;
    FL_ASSERT(d >= 0);
    i128 v = c->anchor_local + d + d * c->drift_ppb / PPB;
    if (v > INT64_MAX)
        return INT64_MAX;
    return (int64_t)v;
}

/* The least global time t >= now at which the local clock reads >= local. */
fl_time_ns fl__clock_global(const sim_clock *c, fl_time_ns local, fl_time_ns now)
{
    if (local >= (fl_time_ns)1 << 62) /* beyond any run: never fires */
        return FL_TIME_NEVER;
    int64_t local_now = fl__clock_local(c, now);
    if ((i128)local_now >= (i128)local)
        return now;
    if (c->drift_ppb == 0) /* one local ns per global ns */
        return now + (fl_time_ns)((int64_t)local - local_now);
    i128 dl = (i128)local - c->anchor_local;
    i128 x = (dl * PPB + (PPB + c->drift_ppb) - 1) / (PPB + c->drift_ppb);
    i128 t = c->anchor_global + x;
    if (t >= (i128)FL_TIME_NEVER - 4)
        return FL_TIME_NEVER - 4;
    while ((i128)fl__clock_local(c, (fl_time_ns)t) < (i128)local)
        t++;
    while (t > (i128)now && (i128)fl__clock_local(c, (fl_time_ns)(t - 1)) >= (i128)local)
        t--;
    return (fl_time_ns)t;
}

static void reanchor(sim_clock *c, fl_time_ns now, int64_t local_now)
{
    c->anchor_global = (int64_t)now;
    c->anchor_local = local_now;
}

fl_time_ns fl_sim_now(const fl_sim *sim, fl_node_id id)
{
    FL_ASSERT(id >= 1 && id <= sim->cfg.nodes);
    int64_t v = fl__clock_local(&sim->nodes[id - 1].clock, sim->now);
    return v < 0 ? 0 : (fl_time_ns)v;
}

int fl_sim_clock_set_offset(fl_sim *sim, fl_node_id id, int64_t offset_ns)
{
    sim_node *n = fl__sim_node(sim, id, "clock_set_offset");
    if (!n)
        return FL_EINVAL;
    reanchor(&n->clock, sim->now, (int64_t)sim->now + offset_ns);
    return fl__node_rearm(sim, n);
}

int fl_sim_clock_set_drift(fl_sim *sim, fl_node_id id, double drift_ppm)
{
    sim_node *n = fl__sim_node(sim, id, "clock_set_drift");
    if (!n)
        return FL_EINVAL;
    if (!(drift_ppm > -500000.0 && drift_ppm < 500000.0))
        return fl__sim_fail(sim, "clock_set_drift: %g ppm out of range (-500000, 500000)",
                            drift_ppm);
    reanchor(&n->clock, sim->now, fl__clock_local(&n->clock, sim->now));
    n->clock.drift_ppb = (int64_t)llround(drift_ppm * 1000.0);
    return fl__node_rearm(sim, n);
}

int fl_sim_clock_jump(fl_sim *sim, fl_node_id id, int64_t delta_ns)
{
    sim_node *n = fl__sim_node(sim, id, "clock_jump");
    if (!n)
        return FL_EINVAL;
    reanchor(&n->clock, sim->now, fl__clock_local(&n->clock, sim->now) + delta_ns);
    return fl__node_rearm(sim, n);
}
