/* cons_sim.c: a consensus core as a simulator protocol (cons_sim.h), through the one host
 * (host.h) that the server runs too: the host's storage is the node's simulated disk
 * (fl_sim_disk_fs), its messages the simulated network, its timer the node's. This file adds
 * what only the simulator does, the same for Raft and Paxos: the safety checks after every
 * step, the applied digest carried in snapshots and compared with the committed chain, the
 * durability floor checked at every restart, and the counters campaigns report. What differs
 * per protocol (which checker, what the floor holds) is in cons_sim_raft.c and
 * cons_sim_paxos.c. */
#include "cons_sim_int.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC        0x4E534C46u /* "FLSN" */
#define SNAP_HEADER_BYTES 24
#define SEGMENT_BYTES     ((uint64_t)256 << 10) /* WAL segments: compaction deletes whole ones */
/* Zeros kept ahead in the WAL: small, so fills, records over zeros and records outrunning
 * the zeros all happen often, and the disk stays small */
#define SIM_WAL_PREFILL 4096

static const cs_checks *checks_of(const fl_cons_sim *cs)
{
    return cs->checks;
}

int fl_cons_sim_init(fl_cons_sim *cs, const fl_cons_config *core, uint32_t nodes,
                     const fl_cons_sim_hooks *hooks, char *why, size_t why_size)
{
    memset(cs, 0, sizeof(*cs));
    if (nodes < 1 || nodes > FL_RAFT_NODES_MAX) {
        snprintf(why, why_size, "nodes: %u, must be 1..%d", nodes, FL_RAFT_NODES_MAX);
        return FL_ECONFIG;
    }
    cs->core = *core;
    cs->checks = core->protocol == FL_CONS_PAXOS ? &fl__cs_paxos_checks : &fl__cs_raft_checks;
    cs->nodes = nodes;
    cs->voters = nodes;
    fl_cons_config c;
    checks_of(cs)->node_config(cs, NULL, 1, &c);
    int rc = fl_cons_config_validate(&c, why, why_size);
    if (rc)
        return rc;
    cs->check = true;
    if (hooks)
        cs->hooks = *hooks;
    fl_buf_init(&cs->violation);
    cs->snapshot_filler = 1024;
    cs->snapshot_timeout_ns = FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT;
    fl_rng_seed(&cs->snapshot_rng, 0x534E4150u); /* again from the seed at attach */
    cs->segment_bytes = SEGMENT_BYTES;
    if (checks_of(cs)->init(cs)) {
        fl_cons_sim_free(cs);
        return FL_ENOMEM;
    }
    return 0;
}

void fl_cons_sim_free(fl_cons_sim *cs)
{
    checks_of(cs)->free(cs);
    fl_buf_free(&cs->violation);
}

void fl__cs_violation(fl_cons_sim *cs, const char *what)
{
    if (cs->violation.len == 0)
        fl_buf_printf(&cs->violation, "%s", what);
}

/* ---- the state machine: a stand-in or the hooks', wrapped with the applied digest --------- */

static void filler(uint64_t chain, uint32_t bytes, fl_buf *out)
{
    for (uint32_t i = 0; i < bytes; i += 8)
        fl_buf_put_u64(out, fl_mix64(chain + i));
}

/* The envelope (cons_sim.h) around the state machine's bytes, for the applied index. */
static int sm_snapshot(void *arg, fl_buf *out)
{
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    fl_cons_status st;
    fl_host_status(&n->h, &st);
    size_t base = out->len;
    cs->stats.snapshots_taken++;
    fl_buf_put_u32(out, SNAP_MAGIC);
    fl_buf_put_u64(out, st.applied);
    fl_buf_put_u64(out, n->chain);
    fl_buf_put_u32(out, 0); /* app length, patched below */
    if (cs->hooks.snapshot) {
        int rc = cs->hooks.snapshot(cs->hooks.arg, n->id, out);
        FL_ASSERT(rc == 0);
    } else {
        filler(n->chain, cs->snapshot_filler, out);
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
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    if (len < SNAP_HEADER_BYTES || fl_get_u32le(b) != SNAP_MAGIC || fl_get_u64le(b + 4) != index ||
        fl_get_u32le(b + 20) != len - SNAP_HEADER_BYTES) {
        fl__cs_violation(cs, "snapshot: the bytes to restore are not the snapshot of that index");
        return 0;
    }
    n->chain = fl_get_u64le(b + 12);
    cs->stats.snapshot_restores++;
    if (cs->check && n->chain != checks_of(cs)->committed_chain(cs, index)) {
        char why[200];
        snprintf(why, sizeof(why),
                 "state machine safety: node %u restored a snapshot of index %llu whose applied "
                 "entries are not the committed ones",
                 n->id, (unsigned long long)index);
        fl__cs_violation(cs, why);
    }
    if (cs->hooks.restore) {
        if (cs->hooks.restore(cs->hooks.arg, n->id, index, b + SNAP_HEADER_BYTES,
                              len - SNAP_HEADER_BYTES))
            fl__cs_violation(cs, "snapshot: the state machine refused its own snapshot");
        return 0;
    }
    fl_buf want;
    fl_buf_init(&want);
    filler(n->chain, cs->snapshot_filler, &want);
    if (want.len != len - SNAP_HEADER_BYTES || memcmp(want.data, b + SNAP_HEADER_BYTES, want.len))
        fl__cs_violation(cs, "snapshot: the stand-in state arrived damaged");
    fl_buf_free(&want);
    return 0;
}

/* ---- snapshots taken as the server takes them (env.snapshot_start) ------------------------ */

/* How long the server's forked child takes, in virtual time: mostly a few to tens of ms
 * (its serialization of a small state, the loop reading the pipe between other work), now
 * and then far longer (a big state, a child niced behind busy loops: 50-400 ms measured for
 * 100,000 keys), longer than an election or the next snapshot's trigger, so that installs,
 * crashes and new snapshots land while one is out. */
static fl_time_ns job_delay(fl_rng *r)
{
    uint64_t p = fl_rng_below(r, 100);
    if (p < 60)
        return (fl_time_ns)fl_rng_range(r, 1, 10) * FL_NS_PER_MS;
    if (p < 90)
        return (fl_time_ns)fl_rng_range(r, 10, 60) * FL_NS_PER_MS;
    return (fl_time_ns)fl_rng_range(r, 60, 500) * FL_NS_PER_MS;
}

/* The job's end, inside the node (a request: it waits while the node is paused or busy, as
 * the server's loop reads the pipe only between its other work): its bytes to the host. A
 * job of an earlier life (the node crashed and restarted meanwhile) is no job of this one. */
static void job_done(void *node, void *arg)
{
    cs_node *n = node;
    if (!n || n->job != (uint64_t)(uintptr_t)arg)
        return;
    n->job = 0;
    fl_host_snapshot_done(&n->h, n->job_index, 0, &n->job_bytes, n->job_crc);
    fl_buf_free(&n->job_bytes);
    if (n->timed_out && n->h.stats.snapshots_taken > n->taken_at) {
        n->timed_out = false;
        n->cs->stats.snapshots_after_timeout++;
    }
}

/* A job whose child hangs (fork-hang): nothing serialized, no end scheduled; it holds the
 * node's one job until the watchdog gives it up or the node stops. */
static int hung_job(cs_node *n, fl_index index)
{
    n->hang_next = false;
    n->job = ++n->cs->snapshot_job_seq;
    n->job_index = index;
    n->cs->stats.snapshot_jobs_hung++;
    return 0;
}

/* env.snapshot_cancel: the host's watchdog gave the job up; its end, if one was scheduled,
 * finds another token (job_done ignores it), as a killed child's bytes never come. */
static void env_snapshot_cancel(void *arg, fl_index index)
{
    cs_node *n = arg;
    if (!n->job || n->job_index != index)
        return;
    n->job = 0;
    fl_buf_free(&n->job_bytes);
    n->cs->stats.snapshot_timeouts++;
    n->timed_out = true;
    n->taken_at = n->h.stats.snapshots_taken;
}

/* env.snapshot_start: the state at index serialized now (what a child forked now sees), the
 * bytes handed back after a delay. */
static int env_snapshot_start(void *arg, fl_index index)
{
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    if (n->job)
        return FL_EBUSY; /* the host starts one at a time: as the server's snap_pid */
    fl_cons_status st;
    fl_host_status(&n->h, &st);
    FL_ASSERT(st.applied == index); /* the host names its applied index */
    if (n->hang_next)
        return hung_job(n, index);
    fl_buf_init(&n->job_bytes); /* unbounded, as the server's pipe reads: the host bounds */
    if (sm_snapshot(n, &n->job_bytes) != 0) {
        fl_buf_free(&n->job_bytes); /* the child failed: none this time */
        return FL_EIO;
    }
    uint64_t token = ++cs->snapshot_job_seq;
    fl_time_ns at = fl_sim_time(n->sim) + job_delay(&cs->snapshot_rng);
    if (fl_sim_schedule_node(n->sim, at, n->id, job_done, (void *)(uintptr_t)token) != 0) {
        fl_buf_free(&n->job_bytes);
        return FL_EIO;
    }
    n->job = token;
    n->job_index = index;
    n->job_crc = fl_crc32c(0, n->job_bytes.data, n->job_bytes.len);
    cs->stats.snapshot_jobs++;
    return 0;
}

/* ---- syncs as the server's idle loop runs them (sync_inline, cons_sim.h) ------------------ */

static fl_time_ns heartbeat_of(const fl_cons_sim *cs)
{
    return cs->core.protocol == FL_CONS_PAXOS ? cs->core.paxos.heartbeat_ns
                                              : cs->core.raft.heartbeat_ns;
}

/* The server's fl_loop_ready_now: an fd ready now. Here: events already wait for the node (a
 * slow node's backlog). Not mirrored: an event due at this very instant still in the
 * simulator's queue (same-nanosecond arrivals; rare with the drawn delays). */
static bool node_ready(void *arg)
{
    cs_node *n = arg;
    return fl_sim_backlog(n->sim, n->id);
}

/* The end of the node's pass (the server's soon_cb): the sync due starts, held when the
 * loop would be idle (fl_host_sync_idle) and the job is short (fl_host_sync_hold). */
static void soon_done(void *node, void *arg)
{
    cs_node *n = node;
    if (!n || n->soon != (uint64_t)(uintptr_t)arg)
        return; /* an earlier life's, or the node went down meanwhile */
    n->soon = 0;
    fl_cons_sim *cs = n->cs;
    fl_host_idle idle = {
        .ops = cs->hooks.ops_in_flight ? cs->hooks.ops_in_flight(cs->hooks.arg, n->id) : 0,
        .collected = n->collected && n->collected_at == fl_sim_time(n->sim),
        .sync_short_ns = n->sync_short_ns,
        .heartbeat_ns = heartbeat_of(cs),
        .ready = node_ready,
        .arg = n};
    if (!fl_host_sync_idle(&idle)) {
        fl_host_sync(&n->h);
        return;
    }
    if (!fl_host_sync_hold(&n->h, FL_HOST_SYNC_INLINE_BYTES))
        return;
    n->held = true;
    cs->stats.syncs_inline++;
    int rc = fl_sim_hold(n->sim, n->id, true);
    FL_ASSERT(rc == 0); /* inside the node, which is up */
}

/* env.sync_soon: a node call at this virtual time, after what the node does now. */
static void env_sync_soon(void *arg)
{
    cs_node *n = arg;
    if (n->soon)
        return;
    uint64_t token = ++n->cs->soon_seq;
    if (fl_sim_schedule_node(n->sim, fl_sim_time(n->sim), n->id, soon_done,
                             (void *)(uintptr_t)token) == 0)
        n->soon = token;
    else
        fl_host_sync(&n->h); /* no room for the call: the job now, as without sync_inline */
}

/* env.syncing: the start, for the last short job's time (the server's fl__stall_sync). */
static void env_syncing(void *arg)
{
    cs_node *n = arg;
    n->sync_t0 = fl_sim_time(n->sim);
    n->sync_short = fl_host_sync_short(&n->h);
}

/* ---- the host's environment ------------------------------------------------------------ */

static fl_time_ns env_now(void *arg)
{
    cs_node *n = arg;
    return fl_sim_now(n->sim, n->id);
}

static void env_send(void *arg, fl_node_id to, const uint8_t *msg, size_t len)
{
    cs_node *n = arg;
    fl_sim_send(n->sim, n->id, to, msg, len);
}

static void env_set_timer(void *arg, fl_time_ns deadline)
{
    cs_node *n = arg;
    if (n->timer_armed && deadline == n->timer_set)
        return;
    n->timer_armed = true;
    n->timer_set = deadline;
    fl_sim_set_timer(n->sim, n->id, deadline);
}

/* Right after the core made up: the node's invariants and the cluster checker. */
static void env_checked(void *arg, const fl_cons_event *ev, const fl_cons_update *up,
                        fl_cons_role before)
{
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    cs->stats.steps++;
    cs->stats.steps_held += n->held;
    n->role = up->role;
    n->term = up->term;
    /* the first violation's text goes straight into cs->violation (the checks write only
     * when they find one, and stop being asked then) */
    bool check = cs->check && !cs->violation.len;
    if (checks_of(cs)->observe(n, ev, up, before, check, &cs->violation) && !cs->violation.len)
        fl__cs_violation(cs, "checker: out of memory");
}

/* After the I/O: the applied digest must stay the committed chain; then the driver's hook. */
static void env_applied(void *arg, const fl_cons_update *up)
{
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    checks_of(cs)->applied(n, up);
    uint64_t deleted = n->h.store.segments_deleted;
    cs->stats.compactions += deleted - n->segments_deleted;
    n->segments_deleted = deleted;
    if (cs->hooks.on_step)
        cs->hooks.on_step(cs->hooks.arg, n->id, fl_host_core(&n->h), up);
}

void fl__cs_digest(cs_node *n, const fl_cons_update *up)
{
    fl_cons_sim *cs = n->cs;
    fl_index last = up->apply_first + up->n_apply - 1;
    if (!up->n_apply || !cs->check || n->chain == checks_of(cs)->committed_chain(cs, last))
        return;
    char why[160];
    snprintf(why, sizeof(why),
             "state machine safety: node %u applied entries up to %llu that differ from the "
             "committed ones",
             n->id, (unsigned long long)last);
    fl__cs_violation(cs, why);
}

/* A failed write or sync (or a snapshot too big): the node stops, never carries on. */
static void env_fatal(void *arg, int code, const char *what)
{
    cs_node *n = arg;
    fl_cons_sim *cs = n->cs;
    cs->stats.fsync_failures++;
    /* A simulated state is kilobytes, far below the host's bound on a snapshot (256 MiB): one
     * refused as too big (taken or received) is the host's own fault, which no simulated
     * fault explains (a lost bound: c64df7a, the snapshot-bound-lost mutant). */
    if (code == FL_ETOOBIG && cs->check) {
        char why[300];
        snprintf(why, sizeof(why), "snapshot bound: node %u stopped: %s", n->id, what);
        fl__cs_violation(cs, why);
    }
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

/* The recovered state against its last life's floor, and the checker told of the start. */
static void started(cs_node *n)
{
    fl_cons_sim *cs = n->cs;
    struct fl_cons_sim_floor *f = &cs->floor[n->id];
    uint64_t untrusted = fl_sim_disk_untrusted(n->sim, n->id);
    bool trusted = f->set && untrusted == f->untrusted; /* no lie, no corruption since */
    f->untrusted = untrusted;
    if (!cs->check)
        return;
    fl_buf why;
    fl_buf_init(&why);
    if (checks_of(cs)->node_start(n, trusted, &why)) {
        fl_buf_put_u8(&why, 0);
        fl__cs_violation(cs, why.data ? (const char *)why.data : "checker: out of memory");
    }
    fl_buf_free(&why);
}

/* A start refused: only crashes touched the disk (no lie, corruption or reordered write),
 * so recovery must have succeeded. */
static void refused(fl_cons_sim *cs, fl_sim *sim, fl_node_id id, const char *what)
{
    cs->stats.corrupt_refused++;
    fl_sim_set_reason(sim, id, what);
    if (cs->check && fl_sim_disk_untrusted(sim, id) == cs->floor[id].untrusted &&
        cs->violation.len == 0)
        fl_buf_printf(&cs->violation,
                      "durability: node %u refused to start after crashes alone: %s", id, what);
}

static void *node_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    fl_cons_sim *cs = ctx;
    cs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->cs = cs;
    n->sim = sim;
    n->id = id;
    fl_host_config hc = {.snapshot_every = cs->snapshot_every,
                         .snapshot_phase_on = cs->snapshot_phases,
                         .sync_eager = cs->sync_eager,
                         .snapshot_phase_permille = (id - 1) % cs->nodes * 1000 / cs->nodes};
    checks_of(cs)->node_config(cs, sim, id, &hc.core);
    hc.store.segment_size_max = cs->segment_bytes;
    hc.store.wal_prefill = SIM_WAL_PREFILL;
    hc.store.mutants = cs->core.protocol == FL_CONS_RAFT ? cs->core.raft.mutants : 0;
    fl_host_env env = env_template;
    env.arg = n;
    if (!cs->snapshot_sync) {
        env.snapshot_start = env_snapshot_start;
        env.snapshot_cancel = env_snapshot_cancel;
        hc.snapshot_timeout_ns = cs->snapshot_timeout_ns;
    }
    if (cs->sync_inline) {
        env.sync_soon = env_sync_soon;
        env.syncing = env_syncing;
    }
    fl_errmsg m;
    int rc = fl_host_open(&n->h, fl_sim_disk_fs(sim, id), &hc, &env, &m);
    if (rc) {
        refused(cs, sim, id, m.text);
        free(n);
        return NULL;
    }
    if (n->h.store.wal.stats.truncated_bytes)
        cs->stats.torn_discarded++;
    n->segments_deleted = n->h.store.segments_deleted;
    const fl_cons_core *c = fl_host_core(&n->h);
    c->ops->counters(c, &n->counts);
    fl_cons_status st;
    fl_host_status(&n->h, &st);
    n->role = st.role;
    n->term = st.term;
    started(n);
    if (cs->hooks.on_start)
        cs->hooks.on_start(cs->hooks.arg, id, c);
    fl_host_restore(&n->h, &m); /* after on_start: the state machine exists */
    checks_of(cs)->record_floor(n);
    env_set_timer(n, st.deadline_ns);
    return n;
}

static void node_stop(void *node)
{
    cs_node *n = node;
    if (n->cs->hooks.on_stop)
        n->cs->hooks.on_stop(n->cs->hooks.arg, n->id);
    if (n->job) /* a killed child's bytes never arrive */
        n->cs->stats.snapshot_jobs_lost++;
    fl_buf_free(&n->job_bytes);
    fl_host_close(&n->h);
    free(n);
}

static void node_receive(void *node, fl_node_id from, const uint8_t *bytes, size_t len)
{
    cs_node *n = node;
    int rc = fl_host_receive(&n->h, from, bytes, len);
    if (rc == FL_ECORRUPT)
        n->cs->stats.decode_errors++;
    else if (rc == FL_EINVAL)
        n->cs->stats.rejected_msgs++;
}

static void node_timer(void *node)
{
    cs_node *n = node;
    n->timer_armed = false; /* it fired: the simulator holds no timer for the node now */
    fl_cons_event ev = {.type = FL_CONS_EV_TICK};
    fl_cons_update up;
    fl_host_step(&n->h, &ev, &up);
}

static void node_synced(void *node, uint64_t token, int status)
{
    cs_node *n = node;
    (void)status; /* a job's result comes with it (fl_host_sync_done) */
    if (token != FL_FS_JOB_TOKEN)
        return;
    if (n->cs->sync_inline) {
        FL_ASSERT(n->held == fl_sim_held(n->sim, n->id)); /* only the glue holds its node */
        fl_time_ns now = fl_sim_time(n->sim);
        if (n->sync_short) /* a job that wrote zeros or a snapshot is slow by its size */
            n->sync_short_ns = now - n->sync_t0;
        n->collected = !n->held; /* a worker's job, collected in this pass */
        n->collected_at = now;
        if (n->held) {
            n->held = false;
            int rc = fl_sim_hold(n->sim, n->id, false); /* what waited runs after this step */
            FL_ASSERT(rc == 0);
        }
    }
    fl_host_sync_done(&n->h);
}

static void node_describe(void *node, fl_buf *out)
{
    cs_node *n = node;
    char line[160];
    const fl_cons_core *c = fl_host_core(&n->h);
    c->ops->describe(c, line, sizeof(line));
    fl_buf_put_str(out, line);
}

static const fl_sim_proto cons_proto = {
    .name = "consensus",
    .start = node_start,
    .stop = node_stop,
    .receive = node_receive,
    .timer = node_timer,
    .synced = node_synced,
    .describe = node_describe,
    .describe_msg = fl__cons_msg_describe,
};

const fl_sim_proto *fl_cons_sim_proto(void)
{
    return &cons_proto;
}

int fl_cons_sim_create(fl_cons_sim *cs, const fl_cons_config *core, const fl_cons_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size)
{
    *out = NULL;
    int err = fl_cons_sim_init(cs, core, sc->nodes, hooks, why, why_size);
    if (err)
        return err;
    sc->proto = &cons_proto;
    sc->proto_ctx = cs;
    fl_buf wb;
    fl_buf_init(&wb);
    err = fl_sim_create(sc, out, &wb);
    if (err) {
        snprintf(why, why_size, "%.*s", (int)wb.len, wb.data ? (const char *)wb.data : "");
        fl_buf_free(&wb);
        fl_cons_sim_free(cs);
        return err;
    }
    fl_buf_free(&wb);
    return fl_cons_sim_attach(cs, *out);
}

static int check_violation(void *arg, fl_sim *sim, fl_buf *why)
{
    fl_cons_sim *cs = arg;
    (void)sim;
    if (cs->violation.len == 0)
        return 0;
    fl_buf_put_bytes(why, cs->violation.data, cs->violation.len);
    return 1;
}

int fl_cons_sim_attach(fl_cons_sim *cs, fl_sim *sim)
{
    /* a stream of its own: the other draws are the same whichever way snapshots are taken */
    fl_rng_seed(&cs->snapshot_rng, fl_mix64(fl_sim_seed(sim) ^ 0x534E41505348u));
    return fl_sim_add_check(sim, check_violation, cs);
}

/* ---- a driver's view and requests -------------------------------------------------------- */

cs_node *fl__cs_node(const fl_sim *sim, fl_node_id id)
{
    return fl_sim_node(sim, id);
}

const fl_cons_core *fl_cons_sim_core(const fl_sim *sim, fl_node_id id)
{
    cs_node *n = fl__cs_node(sim, id);
    return n ? fl_host_core(&n->h) : NULL;
}

bool fl_cons_sim_status(const fl_sim *sim, fl_node_id id, fl_cons_status *st)
{
    cs_node *n = fl__cs_node(sim, id);
    if (!n)
        return false;
    fl_host_status(&n->h, st);
    return true;
}

int fl_cons_sim_step(fl_sim *sim, fl_node_id id, fl_cons_event *ev)
{
    cs_node *n = fl__cs_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_cons_update up;
    return fl_host_step(&n->h, ev, &up);
}

int fl_cons_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len, fl_index *index,
                        fl_term *term)
{
    cs_node *n = fl__cs_node(sim, id);
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

int fl_cons_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx)
{
    fl_cons_event ev = {.type = FL_CONS_EV_READ, .u.read_ctx = ctx};
    return fl_cons_sim_step(sim, id, &ev);
}

int fl_cons_sim_hang_snapshot(fl_sim *sim, fl_node_id id)
{
    cs_node *n = fl__cs_node(sim, id);
    if (!n)
        return FL_ESTOPPED;
    n->hang_next = true;
    return 0;
}

fl_node_id fl_cons_sim_leader(const fl_sim *sim)
{
    fl_node_id best = 0;
    fl_term best_term = 0;
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
        const cs_node *n = fl__cs_node(sim, id);
        if (n && n->role == FL_CONS_LEADER && n->term >= best_term) {
            best = id;
            best_term = n->term;
        }
    }
    return best;
}
