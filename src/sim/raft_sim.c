/* raft_sim.c: the Raft core as a simulator protocol (raft_sim.h), through the one Raft host
 * (host.h) that the server runs too: the host's storage is the node's simulated disk
 * (fl_sim_disk_fs), its messages the simulated network, its timer the node's. This file adds
 * what only the simulator does: the safety checks after every step, the applied digest
 * carried in snapshots and compared with the committed chain, the durability floor checked at
 * every restart, and the counters campaigns report. */
#include "faultline/raft_sim.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC        0x4E534C46u /* "FLSN" */
#define SNAP_HEADER_BYTES 24
#define SEGMENT_BYTES     ((uint64_t)256 << 10) /* WAL segments: compaction deletes whole ones */

typedef struct rs_node {
    fl_host h;
    fl_raft_sim *rs;
    fl_sim *sim;
    fl_node_id id;
    uint64_t chain;          /* digest of the applied entries */
    fl_raft_counters counts; /* the core's counters as last seen */
    uint64_t segments_deleted;
    /* the deadline last given to the simulator, while its timer has not fired: setting it
     * again changes nothing (node.c), so it is not asked (most steps keep their deadline) */
    fl_time_ns timer_set;
    bool timer_armed;
} rs_node;

int fl_raft_sim_init(fl_raft_sim *rs, const fl_raft_config *raft, uint32_t nodes,
                     const fl_raft_sim_hooks *hooks, char *why, size_t why_size)
{
    memset(rs, 0, sizeof(*rs));
    fl_raft_config c = *raft;
    c.id = 1;
    c.n_voters = nodes;
    if (nodes < 1 || nodes > FL_RAFT_NODES_MAX) {
        snprintf(why, why_size, "nodes: %u, must be 1..%d", nodes, FL_RAFT_NODES_MAX);
        return FL_ECONFIG;
    }
    for (uint32_t i = 0; i < nodes; i++)
        c.voters[i] = i + 1;
    int rc = fl_raft_config_validate(&c, why, why_size);
    if (rc)
        return rc;
    rs->raft = c;
    rs->nodes = nodes;
    rs->voters = nodes;
    rs->check = true;
    if (hooks)
        rs->hooks = *hooks;
    fl_buf_init(&rs->violation);
    rs->snapshot_filler = 1024;
    rs->segment_bytes = SEGMENT_BYTES;
    if (fl_raft_checker_init(&rs->checker, nodes)) {
        fl_raft_sim_free(rs);
        return FL_ENOMEM;
    }
    return 0;
}

void fl_raft_sim_free(fl_raft_sim *rs)
{
    fl_raft_checker_free(&rs->checker);
    fl_buf_free(&rs->violation);
}

static void violation(rs_node *n, const char *what)
{
    fl_raft_sim *rs = n->rs;
    if (rs->violation.len == 0)
        fl_buf_printf(&rs->violation, "%s", what);
}

/* ---- the state machine: a stand-in or the hooks', wrapped with the applied digest --------- */

static void filler(uint64_t chain, uint32_t bytes, fl_buf *out)
{
    for (uint32_t i = 0; i < bytes; i += 8)
        fl_buf_put_u64(out, fl_mix64(chain + i));
}

/* The envelope (raft_sim.h) around the state machine's bytes, for the applied index. */
static const fl_raft *raft_of(const rs_node *n)
{
    return fl_cons_raft(fl_host_core(&n->h));
}

static int sm_snapshot(void *arg, fl_buf *out)
{
    rs_node *n = arg;
    fl_raft_sim *rs = n->rs;
    size_t base = out->len;
    rs->stats.snapshots_taken++;
    fl_buf_put_u32(out, SNAP_MAGIC);
    fl_buf_put_u64(out, fl_raft_applied_of(raft_of(n)));
    fl_buf_put_u64(out, n->chain);
    fl_buf_put_u32(out, 0); /* app length, patched below */
    if (rs->hooks.snapshot) {
        int rc = rs->hooks.snapshot(rs->hooks.arg, n->id, out);
        FL_ASSERT(rc == 0);
    } else {
        filler(n->chain, rs->snapshot_filler, out);
    }
    if (out->err)
        return out->err;
    fl_buf_patch_u32(out, base + SNAP_HEADER_BYTES - 4,
                     (uint32_t)(out->len - base - SNAP_HEADER_BYTES));
    return 0;
}

/* Replaces the state machine by the node's snapshot (of index); its digest must be the
 * committed chain at index. A damaged snapshot is a violation, not a stop: the checks say. */
static int sm_restore(void *arg, fl_index index, const uint8_t *b, size_t len)
{
    rs_node *n = arg;
    fl_raft_sim *rs = n->rs;
    if (len < SNAP_HEADER_BYTES || fl_get_u32le(b) != SNAP_MAGIC || fl_get_u64le(b + 4) != index ||
        fl_get_u32le(b + 20) != len - SNAP_HEADER_BYTES) {
        violation(n, "snapshot: the bytes to restore are not the snapshot of that index");
        return 0;
    }
    n->chain = fl_get_u64le(b + 12);
    rs->stats.snapshot_restores++;
    if (rs->check && n->chain != fl_raft_checker_committed_chain(&rs->checker, index)) {
        char why[200];
        snprintf(why, sizeof(why),
                 "state machine safety: node %u restored a snapshot of index %llu whose applied "
                 "entries are not the committed ones",
                 n->id, (unsigned long long)index);
        violation(n, why);
    }
    if (rs->hooks.restore) {
        if (rs->hooks.restore(rs->hooks.arg, n->id, index, b + SNAP_HEADER_BYTES,
                              len - SNAP_HEADER_BYTES))
            violation(n, "snapshot: the state machine refused its own snapshot");
        return 0;
    }
    fl_buf want;
    fl_buf_init(&want);
    filler(n->chain, rs->snapshot_filler, &want);
    if (want.len != len - SNAP_HEADER_BYTES || memcmp(want.data, b + SNAP_HEADER_BYTES, want.len))
        violation(n, "snapshot: the stand-in state arrived damaged");
    fl_buf_free(&want);
    return 0;
}

/* ---- the host's environment ------------------------------------------------------------ */

static fl_time_ns env_now(void *arg)
{
    rs_node *n = arg;
    return fl_sim_now(n->sim, n->id);
}

static void env_send(void *arg, fl_node_id to, const uint8_t *msg, size_t len)
{
    rs_node *n = arg;
    fl_sim_send(n->sim, n->id, to, msg, len);
}

static void env_set_timer(void *arg, fl_time_ns deadline)
{
    rs_node *n = arg;
    if (n->timer_armed && deadline == n->timer_set)
        return;
    n->timer_armed = true;
    n->timer_set = deadline;
    fl_sim_set_timer(n->sim, n->id, deadline);
}

/* Membership milestones, for campaigns that must show changes really happened. */
static void count_membership(rs_node *n, const fl_raft_update *up, fl_raft_role before)
{
    fl_raft_sim *rs = n->rs;
    const fl_raft *r = raft_of(n);
    for (size_t i = 0; i < up->n_apply; i++) {
        fl_index index = up->apply_first + i;
        fl_raft_conf c;
        if (up->apply[i].type != FL_RAFT_ENTRY_CONFIG || index <= rs->conf_applied ||
            fl_raft_conf_decode(up->apply[i].data, up->apply[i].len, &c))
            continue;
        rs->conf_applied = index;
        if (fl_raft_conf_is_joint(&c))
            rs->stats.joint_committed++;
        else
            rs->stats.config_committed++;
    }
    if (!up->role_changed)
        return;
    if (up->role == FL_RAFT_LEADER && fl_raft_conf_is_joint(fl_raft_conf_of(r)))
        rs->stats.joint_elections++;
    if (before == FL_RAFT_LEADER && up->role == FL_RAFT_FOLLOWER &&
        !fl_raft_conf_is_voter(fl_raft_conf_of(r), n->id) &&
        fl_raft_conf_index_of(r) <= fl_raft_commit_of(r))
        rs->stats.removed_stepdowns++;
}

static void count_core(rs_node *n)
{
    fl_raft_counters k;
    fl_raft_counters_of(raft_of(n), &k);
    fl_raft_sim_stats *st = &n->rs->stats;
    st->elections += k.elections_started - n->counts.elections_started;
    st->snapshot_chunks_sent += k.snapshot_chunks_sent - n->counts.snapshot_chunks_sent;
    st->snapshots_installed += k.snapshots_installed - n->counts.snapshots_installed;
    n->counts = k;
}

/* Right after the core made up: the node's invariants and the cluster checker. */
static void env_checked(void *arg, const fl_cons_event *ev, const fl_cons_update *cu,
                        fl_cons_role before_role)
{
    rs_node *n = arg;
    const fl_raft_update *up = cu;
    fl_raft_role before = (fl_raft_role)before_role;
    (void)ev;
    fl_raft_sim *rs = n->rs;
    const fl_raft *r = raft_of(n);
    rs->stats.steps++;
    count_core(n);
    count_membership(n, up, before);
    fl_raft_invariants(r);
    if (rs->check && rs->violation.len == 0) {
        fl_buf why;
        fl_buf_init(&why);
        if (fl_raft_checker_observe(&rs->checker, n->id, r, up, &why)) {
            fl_buf_put_u8(&why, 0);
            violation(n, (const char *)why.data);
        }
        fl_buf_free(&why);
    }
}

/* What survives on disk must never be less than what the node was told was durable
 * (docs/simulator.md): the floor, recorded at the start and after every step. A cut of the
 * log lowers it at once: the request that cuts may survive a crash unsynced, and a shorter
 * log is then right. */
static void record_floor(rs_node *n)
{
    const fl_raft *r = raft_of(n);
    struct fl_raft_sim_floor *f = &n->rs->floor[n->id];
    fl_term term;
    fl_node_id vote;
    fl_index index;
    fl_raft_durable_of(r, &term, &vote, &index);
    if (f->set && term == f->term && vote == f->vote && index == f->index && index)
        return; /* the entry at index changes only with index: a cut lowers it at once */
    f->term = term;
    f->vote = vote;
    f->index = index;
    f->index_term = fl_raft_term_at(r, f->index);
    if (f->index_term == 0)
        f->index = 0; /* a pending install compacted it: the snapshot on disk decides */
    f->set = true;
}

/* After the I/O: the applied digest must stay the committed chain; then the driver's hook. */
static void env_applied(void *arg, const fl_cons_update *cu)
{
    rs_node *n = arg;
    const fl_raft_update *up = cu;
    fl_raft_sim *rs = n->rs;
    for (size_t i = 0; i < up->n_apply; i++)
        n->chain = fl_raft_check_entry_hash(n->chain, &up->apply[i]);
    fl_index last = up->apply_first + up->n_apply - 1;
    if (up->n_apply && rs->check &&
        n->chain != fl_raft_checker_committed_chain(&rs->checker, last)) {
        char why[160];
        snprintf(why, sizeof(why),
                 "state machine safety: node %u applied entries up to %llu that differ from "
                 "the committed ones",
                 n->id, (unsigned long long)last);
        violation(n, why);
    }
    record_floor(n);
    uint64_t deleted = n->h.store.segments_deleted;
    rs->stats.compactions += deleted - n->segments_deleted;
    n->segments_deleted = deleted;
    if (rs->hooks.on_step)
        rs->hooks.on_step(rs->hooks.arg, n->id, raft_of(n), up);
}

/* A failed write or sync (or a snapshot too big): the node stops, never carries on. */
static void env_fatal(void *arg, int code, const char *what)
{
    rs_node *n = arg;
    (void)code;
    n->rs->stats.fsync_failures++;
    fl_sim_exit(n->sim, n->id, what);
}

static const fl_host_env env_template = {
    .now = env_now,
    .send = env_send,
    .set_timer = env_set_timer,
    .checked = env_checked,
    .applied = env_applied,
    .snapshot = sm_snapshot,
    .restore = sm_restore,
    .fatal = env_fatal,
};

/* ---- the protocol table ------------------------------------------------------------------ */

/* The recovered state against the floor its last life was told was durable. */
static void check_floor(rs_node *n)
{
    fl_raft_sim *rs = n->rs;
    struct fl_raft_sim_floor *f = &rs->floor[n->id];
    const fl_raft *r = raft_of(n);
    uint64_t untrusted = fl_sim_disk_untrusted(n->sim, n->id);
    bool trusted = f->set && untrusted == f->untrusted; /* no lie, no corruption since */
    f->untrusted = untrusted;
    if (!rs->check || !trusted)
        return;
    char why[240];
    fl_term term = fl_raft_term_of(r);
    fl_node_id vote = fl_raft_vote_of(r);
    fl_index snap = fl_raft_snapshot_of(r)->index;
    if (term < f->term || (term == f->term && f->vote && vote != f->vote))
        snprintf(why, sizeof(why),
                 "durability: node %u restarted with term %llu vote %u after term %llu vote %u "
                 "was synced",
                 n->id, (unsigned long long)term, vote, (unsigned long long)f->term, f->vote);
    else if (f->index > snap && fl_raft_term_at(r, f->index) != f->index_term)
        snprintf(why, sizeof(why),
                 "durability: node %u restarted without the synced entry %llu (term %llu): "
                 "last index %llu, snapshot %llu",
                 n->id, (unsigned long long)f->index, (unsigned long long)f->index_term,
                 (unsigned long long)fl_raft_last_index(r), (unsigned long long)snap);
    else
        return;
    violation(n, why);
}

static void *node_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    fl_raft_sim *rs = ctx;
    rs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->rs = rs;
    n->sim = sim;
    n->id = id;
    fl_host_config hc = {.snapshot_every = rs->snapshot_every};
    hc.core.protocol = FL_CONS_RAFT;
    hc.core.raft = rs->raft;
    hc.core.raft.id = id;
    hc.core.raft.n_voters = rs->voters;
    hc.core.raft.joining = id > rs->voters; /* empty and outside the configuration until added */
    hc.core.raft.seed = fl_rng_next(fl_sim_rng(sim, id));
    hc.store.segment_size_max = rs->segment_bytes;
    hc.store.mutants = rs->raft.mutants;
    fl_host_env env = env_template;
    env.arg = n;
    fl_errmsg m;
    int rc = fl_host_open(&n->h, fl_sim_disk_fs(sim, id), &hc, &env, &m);
    if (rc) {
        rs->stats.corrupt_refused++;
        fl_sim_set_reason(sim, id, m.text);
        /* only crashes touched the disk (no lie, corruption or reordered write): recovery
         * must succeed */
        if (rs->check && fl_sim_disk_untrusted(sim, id) == rs->floor[id].untrusted &&
            rs->violation.len == 0)
            fl_buf_printf(&rs->violation,
                          "durability: node %u refused to start after crashes alone: %s", id,
                          m.text);
        free(n);
        return NULL;
    }
    if (n->h.store.wal.stats.truncated_bytes)
        rs->stats.torn_discarded++;
    n->segments_deleted = n->h.store.segments_deleted;
    fl_raft_counters_of(raft_of(n), &n->counts);
    check_floor(n);
    if (rs->check) {
        fl_buf vwhy;
        fl_buf_init(&vwhy);
        if (fl_raft_checker_node_start(&rs->checker, id, raft_of(n), &vwhy)) {
            fl_buf_put_u8(&vwhy, 0);
            violation(n, vwhy.data ? (const char *)vwhy.data : "checker: out of memory");
        }
        fl_buf_free(&vwhy);
    }
    if (rs->hooks.on_start)
        rs->hooks.on_start(rs->hooks.arg, id, raft_of(n));
    fl_host_restore(&n->h, &m); /* after on_start: the state machine exists */
    record_floor(n);
    env_set_timer(n, fl_raft_deadline_of(raft_of(n)));
    return n;
}

static void node_stop(void *node)
{
    rs_node *n = node;
    if (n->rs->hooks.on_stop)
        n->rs->hooks.on_stop(n->rs->hooks.arg, n->id);
    fl_host_close(&n->h);
    free(n);
}

static void node_receive(void *node, fl_node_id from, const uint8_t *bytes, size_t len)
{
    rs_node *n = node;
    int rc = fl_host_receive(&n->h, from, bytes, len);
    if (rc == FL_ECORRUPT)
        n->rs->stats.decode_errors++;
    else if (rc == FL_EINVAL)
        n->rs->stats.rejected_msgs++;
}

static void node_timer(void *node)
{
    rs_node *n = node;
    n->timer_armed = false; /* it fired: the simulator holds no timer for the node now */
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    fl_host_step(&n->h, &ev, &up);
}

static void node_synced(void *node, uint64_t token, int status)
{
    rs_node *n = node;
    (void)status; /* a job's result comes with it (fl_host_sync_done) */
    if (token == FL_FS_JOB_TOKEN)
        fl_host_sync_done(&n->h);
}

static void node_describe(void *node, fl_buf *out)
{
    rs_node *n = node;
    char line[160];
    fl_raft_describe(raft_of(n), line, sizeof(line));
    fl_buf_put_str(out, line);
}

static const fl_sim_proto raft_proto = {
    .name = "raft",
    .start = node_start,
    .stop = node_stop,
    .receive = node_receive,
    .timer = node_timer,
    .synced = node_synced,
    .describe = node_describe,
};

const fl_sim_proto *fl_raft_sim_proto(void)
{
    return &raft_proto;
}

int fl_raft_sim_create(fl_raft_sim *rs, const fl_raft_config *raft, const fl_raft_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size)
{
    *out = NULL;
    int err = fl_raft_sim_init(rs, raft, sc->nodes, hooks, why, why_size);
    if (err)
        return err;
    sc->proto = &raft_proto;
    sc->proto_ctx = rs;
    fl_buf wb;
    fl_buf_init(&wb);
    err = fl_sim_create(sc, out, &wb);
    if (err) {
        snprintf(why, why_size, "%.*s", (int)wb.len, wb.data ? (const char *)wb.data : "");
        fl_buf_free(&wb);
        fl_raft_sim_free(rs);
        return err;
    }
    fl_buf_free(&wb);
    return fl_raft_sim_attach(rs, *out);
}

static int check_violation(void *arg, fl_sim *sim, fl_buf *why)
{
    fl_raft_sim *rs = arg;
    if (rs->violation.len == 0)
        return 0;
    fl_buf_put_bytes(why, rs->violation.data, rs->violation.len);
    return 1;
}

int fl_raft_sim_attach(fl_raft_sim *rs, fl_sim *sim)
{
    return fl_sim_add_check(sim, check_violation, rs);
}

const fl_raft *fl_raft_sim_node(const fl_sim *sim, fl_node_id id)
{
    rs_node *n = fl_sim_node(sim, id);
    return n ? raft_of(n) : NULL;
}

int fl_raft_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len, fl_index *index,
                        fl_term *term)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_cons_event ev = {.type = FL_CONS_EV_PROPOSE, .u.propose = {data, len}};
    fl_cons_update up;
    int rc = fl_host_step(&n->h, &ev, &up);
    if (index)
        *index = up.proposed_index;
    if (term)
        *term = up.proposed_term;
    return rc;
}

int fl_raft_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_cons_event ev = {.type = FL_CONS_EV_READ, .u.read_ctx = ctx};
    fl_cons_update up;
    return fl_host_step(&n->h, &ev, &up);
}

int fl_raft_sim_transfer(fl_sim *sim, fl_node_id id, fl_node_id to)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_cons_event ev = {.type = FL_CONS_EV_TRANSFER, .u.transfer_to = to};
    fl_cons_update up;
    return fl_host_step(&n->h, &ev, &up);
}

fl_node_id fl_raft_sim_leader(const fl_sim *sim)
{
    fl_node_id best = 0;
    fl_term best_term = 0;
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
        const fl_raft *r = fl_raft_sim_node(sim, id);
        if (r && fl_raft_role_of(r) == FL_RAFT_LEADER && fl_raft_term_of(r) >= best_term) {
            best = id;
            best_term = fl_raft_term_of(r);
        }
    }
    return best;
}

/* ---- membership -------------------------------------------------------------------------- */

int fl_raft_sim_change(fl_sim *sim, fl_node_id id, const fl_raft_conf *want)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_cons_event ev = {.type = FL_CONS_EV_CHANGE, .u.change = want};
    fl_cons_update up;
    return fl_host_step(&n->h, &ev, &up);
}

/* The leader's configuration as the base of an edit. */
static int base_conf(fl_sim *sim, fl_node_id id, fl_raft_conf *c)
{
    const fl_raft *r = fl_raft_sim_node(sim, id);
    if (!r || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    *c = *fl_raft_conf_of(r);
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
