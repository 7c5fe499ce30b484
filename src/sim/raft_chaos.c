/* raft_chaos.c: a randomized fault-injection run of a simulated Raft cluster (raft_chaos.h).
 *
 * Timeline of a run: [0, duration) faults and proposals; at duration everything heals (links
 * up and clean, crashed nodes restarted, paused ones resumed); then a marker entry is
 * proposed to whoever leads until it commits, for at most liveness_ns. */
#include "faultline/raft_chaos.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/raft_sim.h"

#include <stdio.h>
#include <string.h>

#define CHAOS_UNDO_MAX 4096 /* scheduled undos; a slot is reused only long after it fired */

typedef struct chaos {
    const fl_chaos_config *cfg;
    fl_chaos_result *res;
    fl_sim *sim;
    fl_raft_sim rs;
    fl_rng rng;
    fl_rng churn_rng; /* membership churn draws: apart, so the other faults draw the same */
    uint32_t churn_min_voters;
    fl_raft_churn_stats churn;
    uint64_t next_cmd;
    fl_node_id turn_node; /* sync_inline: the held leader a proposal waits at (0: none) */
    bool healed;
    fl_time_ns heal_at;
    fl_index marker_index;
    fl_term marker_term;
    fl_node_id marker_node;
    double proposals_per_s;
    bool slow_disks; /* swarm: every disk syncs in 5-50 ms rather than 0.2-3 ms */
    uint64_t partition_gen;
    struct chaos_undo {
        struct chaos *ch;
        uint64_t token;
    } undo[CHAOS_UNDO_MAX];
    size_t undo_count;
} chaos;

void fl_chaos_config_default(fl_chaos_config *c)
{
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->nodes = 3;
    c->duration_ns = 10 * FL_NS_PER_S;
    c->liveness_ns = 5 * FL_NS_PER_S;
    c->fault_gap_ns = 400 * FL_NS_PER_MS;
    c->proposals_per_s = 50;
    c->loss = 0.10;
    c->dup = 0.05;
    c->reorder = 0.10;
    c->partitions = c->crashes = c->pauses = c->torn = c->slow_disks = c->swarm = true;
}

void fl_chaos_repro(const fl_chaos_config *c, char *out, size_t out_size)
{
    char snap[64] = "";
    if (c->snapshot_every)
        snprintf(snap, sizeof(snap), " --snapshot-every %u%s", c->snapshot_every,
                 c->snapshot_sync ? " --snapshot-sync" : "");
    int n = snprintf(
        out, out_size, "faultline sim --chaos --seed %llu --nodes %u --duration %llums%s%s",
        (unsigned long long)c->seed, c->nodes, (unsigned long long)(c->duration_ns / FL_NS_PER_MS),
        snap, c->churn ? " --churn" : "");
    size_t used = n > 0 ? (size_t)n : 0;
    if (c->sync_inline && used < out_size) {
        n = snprintf(out + used, out_size - used, " --sync-inline");
        used += n > 0 ? (size_t)n : 0;
    }
    for (uint32_t bit = 1; bit && used < out_size; bit <<= 1)
        if (c->mutants & bit) {
            n = snprintf(out + used, out_size - used, " --mutant %s", fl_raft_mutant_name(bit));
            used += n > 0 ? (size_t)n : 0;
        }
}

/* ---- nemesis ----------------------------------------------------------------------------- */

static fl_node_id random_node(chaos *ch)
{
    return (fl_node_id)fl_rng_range(&ch->rng, 1, ch->cfg->nodes);
}

static void set_links(chaos *ch, bool faulty)
{
    fl_sim_link l;
    fl_sim_link_get(ch->sim, 1, ch->cfg->nodes > 1 ? 2 : 1, &l);
    const fl_chaos_config *c = ch->cfg;
    l.loss = faulty ? fl_rng_double(&ch->rng) * c->loss : 0;
    l.dup = faulty ? fl_rng_double(&ch->rng) * c->dup : 0;
    l.reorder = faulty ? fl_rng_double(&ch->rng) * c->reorder : 0;
    /* keep the connectivity as it is: only the quality changes */
    for (fl_node_id a = 1; a <= c->nodes; a++)
        for (fl_node_id b = 1; b <= c->nodes; b++) {
            fl_sim_link cur;
            fl_sim_link_get(ch->sim, a, b, &cur);
            l.up = cur.up;
            fl_sim_link_set(ch->sim, a, b, &l);
        }
}

/* Every fault is transient: it schedules its own undo after a hold time drawn around the
 * mean gap, as Jepsen's nemeses start and stop faults. */
static fl_time_ns hold_time(chaos *ch)
{
    return (fl_time_ns)fl_rng_exp(&ch->rng, 2.0 * (double)ch->cfg->fault_gap_ns) + FL_NS_PER_MS;
}

static void undo_later(chaos *ch, fl_sim_fn fn, uint64_t token)
{
    fl_time_ns at = fl_sim_time(ch->sim) + hold_time(ch);
    struct chaos_undo *u = &ch->undo[ch->undo_count++ % CHAOS_UNDO_MAX];
    u->ch = ch;
    u->token = token;
    fl_sim_schedule(ch->sim, at, fn, u);
}

static void undo_partition(fl_sim *sim, void *arg)
{
    struct chaos_undo *u = arg;
    if (u->token == u->ch->partition_gen && !u->ch->healed)
        fl_sim_heal(sim); /* only the newest partition heals itself */
}

static void undo_crash(fl_sim *sim, void *arg)
{
    struct chaos_undo *u = arg;
    fl_node_id id = (fl_node_id)u->token;
    if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_DOWN && !u->ch->healed)
        fl_sim_restart(sim, id);
}

static void undo_pause(fl_sim *sim, void *arg)
{
    fl_node_id id = (fl_node_id)((struct chaos_undo *)arg)->token;
    if (fl_sim_node_state_of(sim, id) == FL_SIM_NODE_PAUSED)
        fl_sim_resume(sim, id);
}

static const char *partition(chaos *ch)
{
    fl_sim_conn conn;
    uint32_t n = ch->cfg->nodes;
    fl_node_id leader = fl_raft_sim_leader(ch->sim);
    const char *what;
    switch (fl_rng_below(&ch->rng, 7)) {
    case 0:
        fl_sim_conn_halves(&conn, n);
        what = "partition halves";
        break;
    case 1:
        fl_sim_conn_random_halves(&conn, n, &ch->rng);
        what = "partition random halves";
        break;
    case 2:
        fl_sim_conn_isolate(&conn, n, random_node(ch));
        what = "isolate a node";
        break;
    case 3:
        fl_sim_conn_isolate(&conn, n, leader ? leader : random_node(ch));
        what = "isolate the leader";
        break;
    case 4:
        fl_sim_conn_majorities_ring(&conn, n);
        what = "majorities ring";
        break;
    case 5:
        fl_sim_conn_bridge(&conn, n, random_node(ch));
        what = "bridge";
        break;
    default: {
        fl_node_id a = random_node(ch), b = random_node(ch);
        fl_sim_conn_one_way(&conn, n, leader && fl_rng_chance(&ch->rng, 0.5) ? leader : a, b);
        what = "one-way link";
    }
    }
    fl_sim_set_conn(ch->sim, &conn);
    undo_later(ch, undo_partition, ++ch->partition_gen);
    return what;
}

static const char *crash(chaos *ch)
{
    fl_node_id id = random_node(ch);
    if (fl_rng_chance(&ch->rng, 0.5) && fl_raft_sim_leader(ch->sim))
        id = fl_raft_sim_leader(ch->sim);
    if (fl_sim_node_state_of(ch->sim, id) == FL_SIM_NODE_DOWN)
        return "crash (already down)";
    if (fl_sim_node_state_of(ch->sim, id) == FL_SIM_NODE_PAUSED)
        fl_sim_resume(ch->sim, id);
    fl_sim_crash(ch->sim, id);
    undo_later(ch, undo_crash, id);
    return "crash";
}

static void crash_leader_now(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    fl_node_id l = fl_raft_sim_leader(sim);
    fl_node_id id = l ? l : random_node(ch);
    if (ch->healed || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return;
    fl_sim_crash(sim, id);
    struct chaos_undo *u = &ch->undo[ch->undo_count++ % CHAOS_UNDO_MAX];
    u->ch = ch;
    u->token = id;
    /* back soon: a node that restarts while an election is on votes again */
    fl_time_ns back = fl_rng_range(&ch->rng, 20 * FL_NS_PER_MS, 500 * FL_NS_PER_MS);
    fl_sim_schedule(sim, fl_sim_time(sim) + back, undo_crash, u);
}

/* Crash-before-fsync, aimed: for up to 500 ms, watch for a node whose vote or term is not
 * yet durable and crash it in that window; it restarts a few milliseconds later, while the
 * election it voted in may still be running. */
static void crash_unsynced_watch(fl_sim *sim, void *arg)
{
    struct chaos_undo *w = arg;
    chaos *ch = w->ch;
    if (ch->healed || fl_sim_time(sim) > w->token)
        return;
    for (fl_node_id id = 1; id <= ch->cfg->nodes; id++) {
        const fl_raft *r = fl_raft_sim_node(sim, id);
        if (!r || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
            continue;
        if (!fl_raft_hard_state_durable(r)) {
            fl_sim_crash(sim, id);
            struct chaos_undo *u = &ch->undo[ch->undo_count++ % CHAOS_UNDO_MAX];
            u->ch = ch;
            u->token = id;
            fl_time_ns back = fl_rng_range(&ch->rng, 5 * FL_NS_PER_MS, 100 * FL_NS_PER_MS);
            fl_sim_schedule(sim, fl_sim_time(sim) + back, undo_crash, u);
            return;
        }
    }
    fl_sim_schedule(sim, fl_sim_time(sim) + FL_NS_PER_MS, crash_unsynced_watch, w);
}

static const char *crash_unsynced(chaos *ch)
{
    struct chaos_undo *w = &ch->undo[ch->undo_count++ % CHAOS_UNDO_MAX];
    w->ch = ch;
    w->token = fl_sim_time(ch->sim) + 500 * FL_NS_PER_MS; /* watch until then */
    fl_sim_schedule(ch->sim, fl_sim_time(ch->sim), crash_unsynced_watch, w);
    return "crash before fsync (watching)";
}

/* Leader churn: the leader crashes, and so does its successor shortly after, the pattern
 * behind the classic lost-commit bugs (Raft paper figure 8). */
static const char *leader_churn(chaos *ch)
{
    crash_leader_now(ch->sim, ch);
    fl_time_ns t = fl_sim_time(ch->sim);
    fl_sim_schedule(ch->sim, t + fl_rng_range(&ch->rng, 150, 700) * FL_NS_PER_MS, crash_leader_now,
                    ch);
    return "leader churn";
}

/* A slow disk widens the window between a write and its sync: what a crash can lose. */
static const char *slow_disk(chaos *ch)
{
    fl_node_id id = random_node(ch);
    fl_sim_dist d = fl_rng_chance(&ch->rng, 0.5)
                        ? fl_sim_dist_uniform(10 * FL_NS_PER_MS, 100 * FL_NS_PER_MS)
                        : fl_sim_dist_uniform(200 * FL_NS_PER_US, 3 * FL_NS_PER_MS);
    fl_sim_disk_set_latency(ch->sim, id, &d);
    return "disk latency";
}

static const char *pause_node(chaos *ch)
{
    fl_node_id id = random_node(ch);
    if (fl_sim_node_state_of(ch->sim, id) != FL_SIM_NODE_UP)
        return "pause (not up)";
    fl_sim_pause(ch->sim, id);
    undo_later(ch, undo_pause, id);
    return "pause";
}

static void nemesis(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    const fl_chaos_config *c = ch->cfg;
    if (ch->healed)
        return;
    const char *what = "link quality";
    uint64_t pick = fl_rng_below(&ch->rng, 12);
    if (pick < 3 && c->partitions)
        what = partition(ch);
    else if (pick < 5 && c->crashes)
        what = crash(ch);
    else if (pick < 6 && c->crashes)
        what = leader_churn(ch);
    else if (pick < 7 && c->crashes)
        what = crash_unsynced(ch);
    else if (pick < 8 && c->pauses)
        what = pause_node(ch);
    else if (pick < 9 && c->slow_disks)
        what = slow_disk(ch);
    else
        set_links(ch, true);
    ch->res->nemesis_actions++;
    if (c->verbose)
        printf("%10.3f s  nemesis: %s\n", (double)fl_sim_time(sim) / 1e9, what);
    fl_time_ns gap = (fl_time_ns)fl_rng_exp(&ch->rng, (double)c->fault_gap_ns) + FL_NS_PER_MS;
    fl_time_ns at = fl_sim_time(sim) + gap;
    if (at < c->duration_ns)
        fl_sim_schedule(sim, at, nemesis, ch);
}

/* Membership churn on its own clock and random stream. */
static void churn(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    if (ch->healed)
        return;
    char what[128];
    fl_raft_sim_churn(sim, &ch->churn_rng, ch->churn_min_voters, &ch->churn, what, sizeof(what));
    if (ch->cfg->verbose)
        printf("%10.3f s  %s\n", (double)fl_sim_time(sim) / 1e9, what);
    fl_time_ns gap =
        (fl_time_ns)fl_rng_exp(&ch->churn_rng, (double)ch->cfg->fault_gap_ns) + FL_NS_PER_MS;
    if (fl_sim_time(sim) + gap < ch->cfg->duration_ns)
        fl_sim_schedule(sim, fl_sim_time(sim) + gap, churn, ch);
}

/* ---- proposals and the heal -------------------------------------------------------------- */

static void propose_at(chaos *ch, fl_node_id leader)
{
    char cmd[32];
    int len = snprintf(cmd, sizeof(cmd), "c%llu", (unsigned long long)ch->next_cmd++);
    if (fl_raft_sim_propose(ch->sim, leader, cmd, (uint32_t)len, NULL, NULL) == 0)
        ch->res->proposals++;
}

/* sync_inline: a proposal that reached a held leader, run once the leader's sync ended (a
 * request in its socket meanwhile); NULL: it crashed. */
static void propose_turn(void *node, void *arg)
{
    chaos *ch = arg;
    if (node && !ch->healed)
        propose_at(ch, ch->turn_node);
    ch->turn_node = 0;
}

static void propose(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    if (ch->healed)
        return;
    fl_node_id leader = fl_raft_sim_leader(sim);
    if (leader && ch->rs.sync_inline && fl_sim_held(sim, leader)) {
        if (!ch->turn_node &&
            fl_sim_schedule_node(sim, fl_sim_time(sim), leader, propose_turn, ch) == 0)
            ch->turn_node = leader; /* one waits at a time; the others are not sent */
    } else if (leader) {
        propose_at(ch, leader);
    }
    double gap_s = fl_rng_exp(&ch->rng, 1.0 / ch->proposals_per_s);
    fl_sim_schedule(sim, fl_sim_time(sim) + (fl_time_ns)(gap_s * 1e9) + 1, propose, ch);
}

static void heal(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    ch->healed = true;
    ch->heal_at = fl_sim_time(sim);
    fl_sim_heal(sim);
    set_links(ch, false);
    fl_sim_dist normal = fl_sim_dist_uniform(200 * FL_NS_PER_US, 3 * FL_NS_PER_MS);
    for (fl_node_id id = 1; id <= ch->cfg->nodes; id++) {
        fl_sim_disk_set_latency(sim, id, &normal);
        fl_sim_node_state st = fl_sim_node_state_of(sim, id);
        if (st == FL_SIM_NODE_PAUSED)
            fl_sim_resume(sim, id);
        else if (st == FL_SIM_NODE_DOWN)
            fl_sim_restart(sim, id);
    }
}

/* After the heal: propose a marker at the leader until one commits on that leader. */
static void print_nodes(chaos *ch)
{
    printf("%10.3f s ", (double)fl_sim_time(ch->sim) / 1e9);
    for (fl_node_id id = 1; id <= ch->cfg->nodes; id++) {
        const fl_raft *r = fl_raft_sim_node(ch->sim, id);
        char line[128] = "down";
        if (r)
            fl_raft_describe(r, line, sizeof(line));
        printf(" | %u: %s", id, line);
    }
    printf("\n");
}

static void liveness(fl_sim *sim, void *arg)
{
    chaos *ch = arg;
    if (ch->cfg->verbose && (fl_sim_time(sim) - ch->heal_at) % (500 * FL_NS_PER_MS) == 0)
        print_nodes(ch);
    if (ch->res->live)
        return;
    if (ch->marker_node) {
        const fl_raft *r = fl_raft_sim_node(sim, ch->marker_node);
        /* still its entry: the same term at that index, or (compacted into a snapshot) the
         * node still leads the term it proposed it in, so its log only grew */
        bool same =
            r && (fl_raft_term_at(r, ch->marker_index) == ch->marker_term ||
                  (fl_raft_role_of(r) == FL_RAFT_LEADER && fl_raft_term_of(r) == ch->marker_term));
        if (same && fl_raft_commit_of(r) >= ch->marker_index) {
            ch->res->live = true;
            ch->res->recover_ns = fl_sim_time(sim) - ch->heal_at;
            return;
        }
    }
    fl_node_id leader = fl_raft_sim_leader(sim);
    const fl_raft *lr = leader ? fl_raft_sim_node(sim, leader) : NULL;
    bool marker_pending = ch->marker_node == leader && lr && fl_raft_term_of(lr) == ch->marker_term;
    bool held = leader && fl_sim_held(sim, leader); /* sync_inline: asked again in 10 ms */
    if (leader && !marker_pending && !held &&
        fl_raft_sim_propose(sim, leader, "marker", 6, &ch->marker_index, &ch->marker_term) == 0)
        ch->marker_node = leader;
    fl_sim_schedule(sim, fl_sim_time(sim) + 10 * FL_NS_PER_MS, liveness, ch);
}

static int count_committed(chaos *ch)
{
    fl_index best = 0;
    for (fl_node_id id = 1; id <= ch->cfg->nodes; id++) {
        const fl_raft *r = fl_raft_sim_node(ch->sim, id);
        if (r && fl_raft_commit_of(r) > best)
            best = fl_raft_commit_of(r);
    }
    ch->res->committed = best;
    return 0;
}

/* Swarm testing: protocol parameters drawn per seed. */
static void swarm(chaos *ch, fl_raft_config *rc)
{
    static const uint32_t batches[] = {1, 4, 64}, inflights[] = {1, 2, 8, 32};
    static const double rates[] = {5, 50, 200};
    fl_rng *r = &ch->rng;
    rc->batch_entries_max = batches[fl_rng_below(r, 3)];
    rc->inflight_max = inflights[fl_rng_below(r, 4)];
    rc->pre_vote = fl_rng_chance(r, 0.7);
    rc->check_quorum = fl_rng_chance(r, 0.7);
    ch->proposals_per_s = rates[fl_rng_below(r, 3)];
    ch->slow_disks = fl_rng_chance(r, 0.3);
}

static int setup(chaos *ch)
{
    const fl_chaos_config *c = ch->cfg;
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.mutants = c->mutants;
    fl_rng_seed(&ch->rng, fl_mix64(c->seed ^ 0xC4A05));
    ch->proposals_per_s = c->proposals_per_s;
    if (c->swarm)
        swarm(ch, &rc);
    fl_rng snap_rng; /* its own stream: the draws above and the nemesis' stay as they were */
    fl_rng_seed(&snap_rng, fl_mix64(c->seed ^ 0x5A4F5));
    if (c->snapshot_every) {
        rc.snapshot_chunk_bytes = 256;
        rc.snapshot_trailing = (uint32_t)fl_rng_below(&snap_rng, c->snapshot_every / 2 + 1);
    }
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = c->seed;
    sc.nodes = c->nodes;
    sc.quiet = true; /* the caller reports violations */
    sc.link.delay = fl_sim_dist_exp(500 * FL_NS_PER_US, 1500 * FL_NS_PER_US);
    sc.link.reorder_ns = 20 * FL_NS_PER_MS;
    sc.disk_sync = ch->slow_disks ? fl_sim_dist_uniform(5 * FL_NS_PER_MS, 50 * FL_NS_PER_MS)
                                  : fl_sim_dist_uniform(200 * FL_NS_PER_US, 3 * FL_NS_PER_MS);
    sc.crash_mode = FL_SIM_CRASH_RANDOM_PREFIX;
    sc.torn = c->torn ? 0.5 : 0.0;
    char why[160];
    int err = fl_raft_sim_create(&ch->rs, &rc, NULL, &sc, &ch->sim, why, sizeof(why));
    if (err)
        return err;
    if (c->churn) {
        fl_rng_seed(&ch->churn_rng, fl_mix64(c->seed ^ 0xC4C412));
        ch->rs.voters = c->nodes - (c->nodes >= 5 ? 2 : 1);
        ch->churn_min_voters = 1 + (uint32_t)fl_rng_below(&ch->churn_rng, 3);
    }
    ch->rs.snapshot_every = c->snapshot_every;
    ch->rs.snapshot_sync = c->snapshot_sync;
    ch->rs.sync_eager = c->sync_eager;
    ch->rs.sync_inline = c->sync_inline;
    return fl_sim_start_all(ch->sim);
}

int fl_chaos_run(const fl_chaos_config *c, fl_chaos_result *out)
{
    memset(out, 0, sizeof(*out));
    if (c->nodes < 1 || c->nodes > FL_RAFT_NODES_MAX || (c->churn && c->nodes < 2) ||
        c->proposals_per_s <= 0 || c->loss < 0 || c->loss > 1 || c->dup < 0 || c->dup > 1 ||
        c->reorder < 0 || c->reorder > 1 || c->fault_gap_ns == 0)
        return FL_ECONFIG;
    chaos ch = {.cfg = c, .res = out};
    int err = setup(&ch);
    if (err) {
        fl_sim_destroy(ch.sim);
        fl_raft_sim_free(&ch.rs);
        return err;
    }
    fl_sim_schedule(ch.sim, 0, propose, &ch);
    fl_sim_schedule(ch.sim, c->fault_gap_ns, nemesis, &ch);
    if (c->churn)
        fl_sim_schedule(ch.sim, c->fault_gap_ns / 2, churn, &ch);
    fl_sim_schedule(ch.sim, c->duration_ns, heal, &ch);
    fl_sim_schedule(ch.sim, c->duration_ns, liveness, &ch);
    err = fl_sim_run_until(ch.sim, c->duration_ns + c->liveness_ns);
    const fl_sim_violation *v = fl_sim_get_violation(ch.sim);
    if (v->found) {
        out->violation = true;
        snprintf(out->reason, sizeof(out->reason), "%s", v->reason);
        out->event = v->event;
        out->violation_time_ns = v->time_ns;
    }
    if (v->found || !out->live)
        fl_sim_trace_tail_text(ch.sim, out->trace_tail, sizeof(out->trace_tail));
    count_committed(&ch);
    out->trace_hash = fl_sim_trace_hash(ch.sim);
    out->sim = *fl_sim_get_stats(ch.sim);
    out->elections = ch.rs.stats.elections;
    out->churn_asked = ch.churn.asked;
    out->churn_refused = ch.churn.refused;
    out->joint_committed = ch.rs.stats.joint_committed;
    out->config_committed = ch.rs.stats.config_committed;
    out->removed_stepdowns = ch.rs.stats.removed_stepdowns;
    out->joint_elections = ch.rs.stats.joint_elections;
    out->snapshots_taken = ch.rs.stats.snapshots_taken;
    out->snapshot_chunks_sent = ch.rs.stats.snapshot_chunks_sent;
    out->snapshots_installed = ch.rs.stats.snapshots_installed;
    out->snapshot_restores = ch.rs.stats.snapshot_restores;
    out->snapshot_jobs = ch.rs.stats.snapshot_jobs;
    out->snapshot_jobs_lost = ch.rs.stats.snapshot_jobs_lost;
    out->syncs_inline = ch.rs.stats.syncs_inline;
    fl_sim_destroy(ch.sim);
    fl_raft_sim_free(&ch.rs);
    return err == FL_ESTOPPED ? 0 : err;
}
