/* raft_sim.c: what only a Raft cluster has in the simulator (raft_sim.h): setting up the
 * consensus node glue (cons_sim.c) with a Raft core, leadership transfer, and membership
 * changes asked of the leader. */
#include "cons_sim_int.h"

#include "faultline/error.h"
#include "faultline/raft_sim.h"

static void raft_config(const fl_raft_config *raft, fl_cons_config *c)
{
    *c = (fl_cons_config){.protocol = FL_CONS_RAFT, .raft = *raft};
}

int fl_raft_sim_init(fl_raft_sim *rs, const fl_raft_config *raft, uint32_t nodes,
                     const fl_raft_sim_hooks *hooks, char *why, size_t why_size)
{
    fl_cons_config c;
    raft_config(raft, &c);
    return fl_cons_sim_init(rs, &c, nodes, hooks, why, why_size);
}

int fl_raft_sim_create(fl_raft_sim *rs, const fl_raft_config *raft, const fl_raft_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size)
{
    fl_cons_config c;
    raft_config(raft, &c);
    return fl_cons_sim_create(rs, &c, hooks, sc, out, why, why_size);
}

int fl_raft_sim_transfer(fl_sim *sim, fl_node_id id, fl_node_id to)
{
    fl_cons_event ev = {.type = FL_CONS_EV_TRANSFER, .u.transfer_to = to};
    return fl_cons_sim_step(sim, id, &ev);
}

/* ---- membership -------------------------------------------------------------------------- */

int fl_raft_sim_change(fl_sim *sim, fl_node_id id, const fl_raft_conf *want)
{
    fl_cons_event ev = {.type = FL_CONS_EV_CHANGE, .u.change = want};
    return fl_cons_sim_step(sim, id, &ev);
}

/* The leader's configuration as the base of an edit. */
static int base_conf(fl_sim *sim, fl_node_id id, fl_raft_conf *c)
{
    const fl_cons_core *core = fl_cons_sim_core(sim, id);
    if (!core || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    if (!fl_cons_raft(core))
        return FL_EUNSUPPORTED;
    *c = *fl_raft_conf_of(fl_cons_raft(core));
    return 0;
}

/* One membership edit of the configuration node id is in, asked of it (the leader). */
static int edit(fl_sim *sim, fl_node_id id, fl_node_id node,
                int (*fn)(const fl_raft_conf *, fl_node_id, fl_raft_conf *))
{
    fl_raft_conf cur, want;
    int rc = base_conf(sim, id, &cur);
    if (!rc)
        rc = fn(&cur, node, &want);
    return rc ? rc : fl_raft_sim_change(sim, id, &want);
}

int fl_raft_sim_add(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_add_learner);
}

int fl_raft_sim_promote(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_promote);
}

int fl_raft_sim_remove(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_remove);
}

int fl_raft_sim_replace(fl_sim *sim, fl_node_id id, fl_node_id out, fl_node_id in)
{
    fl_raft_conf cur, want;
    int rc = base_conf(sim, id, &cur);
    if (!rc)
        rc = fl_raft_conf_replace(&cur, out, in, &want);
    return rc ? rc : fl_raft_sim_change(sim, id, &want);
}
