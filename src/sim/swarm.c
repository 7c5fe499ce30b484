/* swarm.c: the world each seed of a swarm campaign draws (swarm.h).
 *
 * The ranges are the tables below, one per axis; a new option joins by adding its values to
 * its axis' table (or an axis of its own, with its own stream). Constraints the draw keeps,
 * so that the unmutated code has nothing to answer for:
 *   - every clock drifts by at most the lease's declared bound (skew, clock-drift and
 *     isolate-leader-skew all use the one drawn bound), whatever the read mode;
 *   - no clock jumps (clock-offset) in a world that reads by lease: a lease assumes clocks
 *     that only drift; and a lease world with a large drift bound always runs the fault a
 *     lease must survive (isolate-leader-skew), else its drift would be tested by nothing;
 *   - reads go to any node only by ReadIndex or lease (log reads need the leader). */
#include "faultline/swarm.h"

#include "faultline/raft.h"
#include "faultline/rng.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MS   FL_NS_PER_MS

/* ---- the ranges -------------------------------------------------------------------------- */

static const uint32_t nodes[] = {3, 5, 7};
static const uint32_t batches[] = {1, 4, 64}, inflights[] = {1, 2, 8, 32};

static const struct {
    fl_run_read_mode mode;
    fl_run_read_at at;
} reads[] = {
    {FL_RUN_READ_INDEX, FL_RUN_READ_AT_LEADER}, {FL_RUN_READ_INDEX, FL_RUN_READ_AT_ANY},
    {FL_RUN_READ_LEASE, FL_RUN_READ_AT_LEADER}, {FL_RUN_READ_LEASE, FL_RUN_READ_AT_ANY},
    {FL_RUN_READ_LOG, FL_RUN_READ_AT_LEADER},
};

/* the largest drift of any clock, ppm: also the lease's declared bound */
static const uint32_t drifts_ppm[] = {0, 1000, 300000};
static const uint32_t snapshot_every[] = {5, 20, 100, 1000, 0};
static const double torn[] = {0, 0.3, 1};
static const fl_time_ns net_delays[] = {MS / 5, MS, 5 * MS};

/* Multi-Paxos in a quarter of the worlds (fl_swarm_fit fits them); connections that keep
 * up to 4 or 8 commands in flight in half; the redis workload (expiry, MULTI, data types, the
 * replicas' kv checked beside the registers) in a fifth. */
#define PAXOS_SHARE 0.25
#define REDIS_SHARE 0.2
static const uint32_t pipelines[] = {1, 1, 4, 8};

static const uint32_t clients[] = {1, 3, 10, 30};
static const double rates[] = {50, 300, 1000}; /* open loop, ops/s */
static const uint32_t keys[] = {1, 3, 10};
static const uint32_t reads_pct[] = {10, 50, 90}, cas_pct[] = {0, 20, 40};
static const fl_time_ns op_timeouts[] = {50 * MS, 200 * MS, 500 * MS, 1000 * MS};

/* Every fault kind a world may draw. A world first draws how dense it is (the chance each
 * kind is kept: sparse worlds run two or three kinds hard, dense ones many at once), then
 * keeps each kind with that chance; each kept one gets an interval of its own. */
static const double densities[] = {0.1, 0.2, 0.4};
static const fl_nemesis faults[] = {
    FL_NEMESIS_PARTITION_HALVES,
    FL_NEMESIS_PARTITION_RANDOM,
    FL_NEMESIS_ISOLATE_ONE,
    FL_NEMESIS_ISOLATE_LEADER,
    FL_NEMESIS_MAJORITIES_RING,
    FL_NEMESIS_BRIDGE,
    FL_NEMESIS_ONE_WAY,
    FL_NEMESIS_LEADER_CHURN,
    FL_NEMESIS_ISOLATE_LEADER_SKEW,
    FL_NEMESIS_CRASH_ONE,
    FL_NEMESIS_CRASH_MINORITY,
    FL_NEMESIS_CRASH_LEADER,
    FL_NEMESIS_CRASH_UNSYNCED,
    FL_NEMESIS_PAUSE,
    FL_NEMESIS_LOSS,
    FL_NEMESIS_DUP,
    FL_NEMESIS_DELAY,
    FL_NEMESIS_CLOCK_OFFSET,
    FL_NEMESIS_CLOCK_DRIFT,
    FL_NEMESIS_TRANSFER,
    FL_NEMESIS_SLOW_DISK,
    FL_NEMESIS_CHURN,
};
_Static_assert(N(faults) <= FL_RUN_FAULTS_MAX, "a plan holds every kind");
static const fl_time_ns intervals[] = {100 * MS, 300 * MS, 1000 * MS, 3000 * MS};
static const double losses[] = {0.05, 0.2, 0.5}, dups[] = {0.05, 0.3, 0.6};
static const fl_time_ns delay_spikes[] = {10 * MS, 50 * MS, 200 * MS};
static const fl_time_ns clock_offsets[] = {50 * MS, 200 * MS, 1000 * MS};

/* ---- the axes ---------------------------------------------------------------------------- */

#define PICK(r, table) ((table)[fl_rng_below((r), N(table))])

static void cluster(fl_rng *r, fl_run_config *c)
{
    c->nodes = PICK(r, nodes);
    c->no_pre_vote = fl_rng_chance(r, 0.5);
    c->no_check_quorum = fl_rng_chance(r, 0.5);
}

static void replication(fl_rng *r, fl_run_config *c)
{
    c->batch_entries = PICK(r, batches);
    c->inflight = PICK(r, inflights);
}

static void read_path(fl_rng *r, fl_run_config *c)
{
    size_t i = fl_rng_below(r, N(reads));
    c->read_mode = reads[i].mode;
    c->read_at = reads[i].at;
}

static void clocks(fl_rng *r, fl_run_config *c)
{
    uint32_t d = PICK(r, drifts_ppm);
    c->lease_drift_ppm = d;
    c->clock_drift_ppm = d;
    c->skew_ppm = fl_rng_chance(r, 0.5) ? d : 0;
}

static void storage(fl_rng *r, fl_run_config *c)
{
    c->snapshot_every = PICK(r, snapshot_every);
    c->crash_lose_unsynced = fl_rng_chance(r, 0.5);
    c->torn = PICK(r, torn);
}

/* Half the worlds snapshot as the server's members do, each node at its own phase of the
 * interval; the other half all at once, at the same index (the windows where every node is
 * busy with its snapshot at the same time). On a stream of its own, drawn last of the storage
 * axes, so that no other axis moves. */
static void snapshot_phases(fl_rng *r, fl_run_config *c)
{
    c->snapshot_in_step = fl_rng_chance(r, 0.5);
}

/* A quarter of the worlds take their snapshots' bytes within the step, the simulator's old
 * way; the rest as the server does, handed back later (cons_sim.h), the path that ships. On a
 * stream of its own, so that no other axis moves. */
static void snapshot_fork(fl_rng *r, fl_run_config *c)
{
    c->snapshot_sync = fl_rng_chance(r, 0.25);
}

/* A quarter of the worlds sync as the server's idle loop does (cons_sim.h sync_inline): a
 * short sync holds its node, deaf for the sync's length; the rest keep every job on the
 * worker, the node serving meanwhile (the simulator's way before issue 16's seventh round).
 * On a stream of its own, so that no other axis moves. */
static void sync_inline(fl_rng *r, fl_run_config *c)
{
    c->sync_inline = fl_rng_chance(r, 0.25);
}

/* The flow control the server ships (server.c raft_config: --inflight 2 --batch 4096
 * --sends-at-batch-end --overlap-min 64) in 30% of the worlds, half of them with exactly the
 * shipped values; the others of them with a second message allowed from any size (overlap-min
 * 0), or one message in flight (issue 16's fifth round: the overlap minimum has nothing to
 * gate then). The replication axis' tables never held these (batches of 1 to 64, proposals
 * sent at once). Last, on a stream of its own, overriding what the replication axis drew:
 * every other world draws and runs as before.
 * The worlds with exactly the shipped values run the rest of what the server's leader runs
 * too (session 9): its bounds (--uncommitted-max 8192 --entry-max 2097152), pre-vote and
 * check-quorum on (the server always runs pre-vote; check-quorum off is an option, not its
 * default). Not an axis of their own: 8192 entries behind at one entry per round trip (the
 * replication axis' batches of 1) would take 80 s to commit, far past LIVENESS_NS; with the
 * server's batches of 4096 they commit in a few round trips. These draw nothing more, so
 * no world outside them moves. */
#define SERVER_FLOW_SHARE 0.3
static const struct {
    uint32_t inflight, overlap_min;
} server_flows[] = {
    {FL_RAFT_SERVER_INFLIGHT, FL_RAFT_SERVER_OVERLAP_MIN},
    {FL_RAFT_SERVER_INFLIGHT, FL_RAFT_SERVER_OVERLAP_MIN},
    {FL_RAFT_SERVER_INFLIGHT, 0},
    {1, FL_RAFT_SERVER_OVERLAP_MIN},
};

static void server_flow(fl_rng *r, fl_run_config *c)
{
    size_t i = fl_rng_below(r, N(server_flows));
    if (!fl_rng_chance(r, SERVER_FLOW_SHARE))
        return;
    c->batch_entries = FL_RAFT_SERVER_BATCH;
    c->inflight = server_flows[i].inflight;
    c->overlap_min = server_flows[i].overlap_min;
    c->sends_at_batch_end = true;
    if (c->inflight != FL_RAFT_SERVER_INFLIGHT || c->overlap_min != FL_RAFT_SERVER_OVERLAP_MIN)
        return;
    c->uncommitted_max = FL_RAFT_SERVER_UNCOMMITTED_MAX;
    c->entry_bytes_max = FL_RAFT_SERVER_ENTRY_BYTES_MAX;
    c->no_pre_vote = c->no_check_quorum = false;
}

static void network(fl_rng *r, fl_run_config *c)
{
    c->net_delay_ns = PICK(r, net_delays);
}

/* Registers (the redis workload, drawn by connections(), adds its commands beside them): the
 * kv workload's appends on a hot key give histories the checker cannot decide in time (16 of
 * 60 kv worlds "unknown" after 5 s), and a net with holes in it is no net. The kv workload
 * stays available as an option (--workload kv). */
static void workload(fl_rng *r, fl_run_config *c)
{
    c->workload = FL_RUN_REGISTER;
    c->keys = PICK(r, keys);
    bool open = fl_rng_chance(r, 0.25);
    c->clients = PICK(r, clients);
    c->rate = open ? PICK(r, rates) : 0;
    c->reads_pct = PICK(r, reads_pct);
    c->cas_pct = PICK(r, cas_pct);
    if (c->reads_pct + c->cas_pct > 100)
        c->cas_pct = 100 - c->reads_pct;
    c->op_timeout_ns = PICK(r, op_timeouts);
}

static void protocol(fl_rng *r, fl_run_config *c)
{
    c->protocol = fl_rng_chance(r, PAXOS_SHARE) ? FL_CONS_PAXOS : FL_CONS_RAFT;
}

/* Ops a world may have in flight at once when pipelined: the 30 closed-loop clients of the
 * unpipelined worlds. Open loops and more connections pipelined left the checker histories
 * it could not decide in 30 s (4 of seeds 1..60, every one pipelined 8 deep: 30 clients, or
 * 300 and 1000 ops/s offered with op timeouts of 50 ms to 1 s). */
#define PIPELINED_OPS_MAX 32

/* How the clients talk (drawn apart from the workload's shares, which stay as they were):
 * one command at a time or pipelined, and whether the redis workload runs beside. */
static void connections(fl_rng *r, fl_run_config *c)
{
    c->pipeline = PICK(r, pipelines);
    if (c->rate > 0 || c->clients * c->pipeline > PIPELINED_OPS_MAX)
        c->pipeline = 1;
    /* closed loops of at most 10 ops in flight: beside the redis commands, the registers'
     * histories of seeds 158 and 162 (1000 ops/s offered) and 203, 271, 302 and 587 (24 or 30
     * in flight) were undecided after 30 s */
    if (fl_rng_chance(r, REDIS_SHARE) && c->rate == 0 && c->clients * c->pipeline <= 10)
        c->workload = FL_RUN_REDIS;
}

/* A lease with a large drift bound is worth testing only against what it must survive: the
 * leader cut off with its clock slow and the others' fast, by as much as the bound. */
#define LEASE_THREAT_PPM 100000

static void threaten_leases(fl_rng *r, fl_run_config *c)
{
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (c->faults[i].kind == FL_NEMESIS_ISOLATE_LEADER_SKEW)
            return;
    c->faults[c->n_faults++] = (fl_run_fault){FL_NEMESIS_ISOLATE_LEADER_SKEW, PICK(r, intervals)};
}

/* At least one kind; no clock jumps under leases (see the top). */
static void fault_plan(fl_rng *r, fl_run_config *c)
{
    c->nemesis = FL_NEMESIS_NONE;
    c->n_faults = 0;
    double density = PICK(r, densities);
    for (size_t i = 0; i < N(faults); i++) {
        bool keep = fl_rng_chance(r, density);
        fl_time_ns interval = PICK(r, intervals); /* drawn either way: kinds stay independent */
        if (faults[i] == FL_NEMESIS_CLOCK_OFFSET && c->read_mode == FL_RUN_READ_LEASE)
            keep = false;
        if (keep)
            c->faults[c->n_faults++] = (fl_run_fault){faults[i], interval};
    }
    if (c->n_faults == 0) {
        size_t i = fl_rng_below(r, N(faults));
        if (faults[i] == FL_NEMESIS_CLOCK_OFFSET)
            i = 0;
        c->faults[c->n_faults++] = (fl_run_fault){faults[i], PICK(r, intervals)};
    }
    if (c->read_mode == FL_RUN_READ_LEASE && c->lease_drift_ppm >= LEASE_THREAT_PPM)
        threaten_leases(r, c);
    c->loss = PICK(r, losses);
    c->dup = PICK(r, dups);
    c->delay_ns = PICK(r, delay_spikes);
    c->clock_offset_ns = PICK(r, clock_offsets);
}

/* Leadership flapping with partial replication (leader-flap: each new leader cut off soon after
 * its election, the one cut before back) in 40% of the worlds, on for 1 s or 3 s (a flap takes
 * a few elections). It shares the partitions' lane: the partition shapes a world drew make way
 * for it (taking turns with them left it a third of the time: commit-prev-term was caught in
 * 4 of seeds 1..200 with a share of 0.25 so, 5 without them; 11 at 0.4 without them);
 * isolate-leader-skew stays. It joined the plan after
 * the others and draws on a stream of its own, so the other worlds keep what they drew.
 * Alone it drew Raft's figure 8 in 15 of 100 seeds (commit-prev-term caught) where
 * leader-churn drew it in 2 of 200. */
#define FLAP_SHARE 0.4

static const fl_time_ns flap_intervals[] = {1000 * MS, 3000 * MS};

static void flapping(fl_rng *r, fl_run_config *c)
{
    fl_time_ns interval = PICK(r, flap_intervals);
    if (!fl_rng_chance(r, FLAP_SHARE))
        return;
    uint32_t kept = 0; /* isolate-leader-skew stays: a lease world may need it (see the top) */
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (fl_run_fault_lane(c->faults[i].kind) != fl_run_fault_lane(FL_NEMESIS_LEADER_FLAP) ||
            c->faults[i].kind == FL_NEMESIS_ISOLATE_LEADER_SKEW)
            c->faults[kept++] = c->faults[i];
    c->n_faults = kept;
    c->faults[c->n_faults++] = (fl_run_fault){FL_NEMESIS_LEADER_FLAP, interval};
}

/* Crashes aimed at storage windows (crash-unsynced: a node between writing a term or vote and
 * syncing it, or whose disk made a renamed file durable before the writes beside it) in half
 * of the worlds that snapshot every 5 or 20 entries, where snapshot files are renamed into
 * place often enough for the windows to open; on a stream of its own, like flapping. */
#define STORAGE_WINDOWS_SHARE 0.5

static void storage_windows(fl_rng *r, fl_run_config *c)
{
    fl_time_ns interval = PICK(r, flap_intervals);
    if (!fl_rng_chance(r, STORAGE_WINDOWS_SHARE) || c->snapshot_every == 0 ||
        c->snapshot_every > 20)
        return;
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (c->faults[i].kind == FL_NEMESIS_CRASH_UNSYNCED)
            return;
    if (c->n_faults < FL_RUN_FAULTS_MAX)
        c->faults[c->n_faults++] = (fl_run_fault){FL_NEMESIS_CRASH_UNSYNCED, interval};
}

/* Half the worlds that snapshot every 5 or 20 entries write 4 KiB WAL segments: 256 KiB ones
 * (the default) never fill in most worlds' 10 s, so no segment was ever deleted behind a
 * snapshot and compaction's code and its directory windows went untested (the
 * wal-deleted-before-dir-sync mutant). On a stream of its own, so that no other axis moves. */
static void wal_segments(fl_rng *r, fl_run_config *c)
{
    if (fl_rng_chance(r, 0.5) && c->snapshot_every && c->snapshot_every <= 20)
        c->wal_segment_bytes = 4096;
}

/* In this order (the fault plan reads the read mode); each from its own stream. */
/* A lease world with a large drift bound gives the partitions' lane to the fault its lease must
 * survive (isolate-leader-skew, see threaten_leases) alone: taking turns with the partition
 * shapes and leader-flap, it was on so little of a 10 s run that a lease ignoring the drift
 * bound went unseen in 200 seeds. Last, so it sees what the other axes drew; it draws nothing,
 * so no world moves but these. */
static void lease_threats(fl_rng *r, fl_run_config *c)
{
    (void)r;
    if (c->read_mode != FL_RUN_READ_LEASE || c->lease_drift_ppm < LEASE_THREAT_PPM)
        return;
    uint32_t lane = fl_run_fault_lane(FL_NEMESIS_ISOLATE_LEADER_SKEW), kept = 0;
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (fl_run_fault_lane(c->faults[i].kind) != lane ||
            c->faults[i].kind == FL_NEMESIS_ISOLATE_LEADER_SKEW)
            c->faults[kept++] = c->faults[i];
    c->n_faults = kept;
}

static const struct {
    const char *name;
    void (*draw)(fl_rng *r, fl_run_config *c);
} axes[] = {
    {"cluster", cluster},
    {"replication", replication},
    {"reads", read_path},
    {"clocks", clocks},
    {"storage", storage},
    {"network", network},
    {"workload", workload},
    {"faults", fault_plan},
    {"protocol", protocol},
    {"connections", connections},
    {"flapping", flapping},
    {"storage windows", storage_windows},
    {"lease threats", lease_threats},
    {"snapshot phases", snapshot_phases},
    {"snapshot fork", snapshot_fork},
    {"sync inline", sync_inline},
    {"server flow", server_flow},
    {"wal segments", wal_segments},
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
    return h;
}

/* After the heal a write must succeed within this: the slowest worlds (one entry per round
 * trip of 10 ms, 7 nodes, 300 to 1000 ops/s offered) hold a backlog of up to the core's 512
 * uncommitted entries and the retries of their clients, which took seeds 45, 97 and 270 7.0,
 * 8.3 and 8.7 s to commit; twice that is the bound. The worlds with the server's bound of
 * 8192 send up to 4096 entries a message, two in flight (server_flow): their backlog takes a
 * few round trips (docs/campaigns.md, session 9, has what they took). */
#define LIVENESS_NS (20 * FL_NS_PER_S)

static void draw(uint64_t seed, size_t n_axes, fl_run_config *c)
{
    fl_run_config_default(c);
    c->seed = seed;
    c->liveness_ns = LIVENESS_NS;
    for (size_t i = 0; i < n_axes && i < N(axes); i++) {
        fl_rng r;
        fl_rng_seed(&r, fl_mix64(seed ^ name_hash(axes[i].name)));
        axes[i].draw(&r, c);
    }
}

void fl_swarm_draw(uint64_t seed, fl_run_config *c)
{
    draw(seed, N(axes), c);
    fl_swarm_fit(c);
}

void fl_swarm_draw_axes(uint64_t seed, size_t n_axes, fl_run_config *c)
{
    draw(seed, n_axes, c);
    fl_swarm_fit(c);
}

size_t fl_swarm_axes(void)
{
    return N(axes);
}

void fl_swarm_draw_as(uint64_t seed, fl_cons_protocol protocol, fl_run_config *c)
{
    draw(seed, N(axes), c);
    c->protocol = protocol;
    fl_swarm_fit(c);
}

void fl_swarm_fit(fl_run_config *c)
{
    if (c->protocol != FL_CONS_PAXOS)
        return;
    c->no_pre_vote = c->no_check_quorum = false;
    if (c->read_mode != FL_RUN_READ_LOCAL)
        c->read_at = FL_RUN_READ_AT_LEADER;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < c->n_faults; i++)
        if (c->faults[i].kind != FL_NEMESIS_CHURN && c->faults[i].kind != FL_NEMESIS_TRANSFER)
            c->faults[kept++] = c->faults[i];
    c->n_faults = kept;
    if (!kept) /* the plan was churn and transfer alone: a crash of the leader instead */
        c->faults[c->n_faults++] = (fl_run_fault){FL_NEMESIS_CRASH_LEADER, FL_NS_PER_S};
}
