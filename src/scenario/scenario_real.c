/* scenario_real.c: a scenario against real processes (fl_scenario_for_nemesis, scenario.h):
 * the run, the workload, the cluster's options (as `faultline server` arguments) and the
 * checks into the nemesis's config, or a refusal at the place of a setting real processes do
 * not have. The faults are scenario_real_faults.c's. A setting left at the simulator's default
 * that only the simulator has (its network's delay, its crash model) is not refused: every
 * file a simulated run writes spells them out, and real processes have their own. */
#include "scenario_real.h"

#include "faultline/cons.h"
#include "faultline/error.h"
#include "faultline/host.h" /* the snapshot watchdog's default */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sreal_refuse(const fl_scenario *s, const char *path, char *err, size_t err_size,
                 const char *fmt, ...)
{
    int k = -1;
    for (uint32_t i = 0; i < s->n_places && k < 0; i++)
        if (!strcmp(s->places[i].path, path))
            k = snprintf(err, err_size, "%s:%u:%u: %s: ", s->name, s->places[i].line,
                         s->places[i].col, path);
    if (k < 0)
        k = snprintf(err, err_size, "%s: %s: ", s->name, path);
    if (k > 0 && (size_t)k < err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + k, err_size - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return FL_EUNSUPPORTED;
}

/* Appends " ARG" to the nodes' arguments. */
static void arg(fl_nem_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(fl_nem_config *c, const char *fmt, ...)
{
    size_t used = strlen(c->node_args);
    if (used && used + 1 < sizeof(c->node_args))
        c->node_args[used++] = ' ', c->node_args[used] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->node_args + used, sizeof(c->node_args) - used, fmt, ap);
    va_end(ap);
}

#define REFUSE(path, ...) return sreal_refuse(s, path, err, err_size, __VA_ARGS__)

/* The cluster section as `faultline server` options. */
static int cluster(const fl_scenario *s, fl_nem_config *c, char *err, size_t err_size)
{
    const fl_run_config *r = &s->run;
    if (r->nodes > FL_NEM_NODES_MAX)
        REFUSE("cluster.nodes", "%u nodes: a real cluster here has at most %d", r->nodes,
               FL_NEM_NODES_MAX);
    if (r->read_mode == FL_RUN_READ_LOCAL)
        REFUSE("cluster.read_mode", "local reads are the simulator's: the server has index, "
                                    "lease and log");
    if (r->read_at != FL_RUN_READ_AT_LEADER)
        REFUSE("cluster.read_at", "%s: the nemesis's clients read at the leader",
               fl_run_read_at_name(r->read_at));
    if (r->no_pre_vote)
        REFUSE("cluster.pre_vote", "false: the server always runs pre-vote");
    if (r->snapshot_in_step)
        REFUSE("cluster.snapshot_phases",
               "false: the server's members always snapshot at their own phases");
    if (r->snapshot_sync)
        REFUSE("cluster.snapshot_fork", "false: the server always forks to snapshot");
    /* cluster.sync_inline is the simulator's model of what the server decides by itself (its
     * syncs run on the loop's thread when idle, --sync-inline on): either value runs that */
    if (r->batch_entries || r->inflight || r->sends_at_batch_end || r->overlap_min)
        REFUSE(r->batch_entries        ? "cluster.batch"
               : r->inflight           ? "cluster.inflight"
               : r->sends_at_batch_end ? "cluster.sends_at_batch_end"
                                       : "cluster.overlap_min",
               "the server has no such option (it runs its own flow control: inflight 2, "
               "batch 4096, sends_at_batch_end, overlap_min 64)");
    if (r->uncommitted_max || r->entry_bytes_max)
        REFUSE(r->uncommitted_max ? "cluster.uncommitted_max" : "cluster.entry_bytes_max",
               "the server has no such option (its leader takes up to 8192 entries not yet "
               "committed, of up to 2 MiB each)");
    if (r->mutants && r->protocol == FL_CONS_PAXOS)
        REFUSE("cluster.mutants", "the server plants Raft's mutants only (--mutant)");
    c->nodes = r->nodes;
    c->node_args[0] = 0;
    arg(c, "--protocol %s", r->protocol == FL_CONS_PAXOS ? "paxos" : "raft");
    arg(c, "--read-mode %s", fl_run_read_mode_name(r->read_mode));
    arg(c, "--max-drift-ppm %u", r->lease_drift_ppm);
    arg(c, "--snapshot-every %u", r->snapshot_every);
    if (r->snapshot_timeout_ns != FL_HOST_SNAPSHOT_TIMEOUT_DEFAULT) /* else the server's own */
        arg(c, "--snapshot-timeout %llums",
            (unsigned long long)(r->snapshot_timeout_ns / FL_NS_PER_MS));
    if (r->protocol == FL_CONS_RAFT)
        arg(c, "--check-quorum %s", r->no_check_quorum ? "off" : "on");
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (r->mutants & bit)
            arg(c, "--mutant %s", fl_cons_mutant_name(r->protocol, bit));
    return 0;
}

/* What only the simulator models, refused unless left at its default. */
static int sim_only(const fl_scenario *s, char *err, size_t err_size)
{
    fl_run_config d;
    fl_run_config_default(&d);
    const fl_run_config *r = &s->run;
    if (r->net_delay_ns != d.net_delay_ns)
        REFUSE("network.delay", "the real network's delay is loopback's own (a delay fault "
                                "through the proxy adds to it)");
    if (r->skew_ppm)
        REFUSE("clocks.skew_ppm", "real clocks drift only under a clock fault (libfaketime)");
    if (r->crash_lose_unsynced || r->torn != d.torn)
        REFUSE(r->crash_lose_unsynced ? "disk.lose_unsynced" : "disk.torn",
               "the simulator's crash model: a real kill -9 keeps what the page cache holds "
               "(disk-torn is the real power cut)");
    if (r->ops_start_ns)
        REFUSE("workload.start", "the nemesis's clients start with the measured phase");
    if (r->op_deadline_ns != d.op_deadline_ns)
        REFUSE("workload.op_deadline",
               "the nemesis's clients make one attempt (op_timeout), not retries to a deadline");
    if (r->pipeline > 1)
        REFUSE("workload.pipeline", "the nemesis's clients run one command at a time");
    if (r->workload == FL_RUN_REDIS)
        REFUSE("workload.kind", "redis: the nemesis's clients run register and kv");
    if (r->slow_disks)
        REFUSE("disk.slow", "the disk shim fails or tears writes, it does not slow them");
    if (r->wal_segment_bytes)
        REFUSE("disk.wal_segment_bytes",
               "the server has no such option (its WAL segments are the WAL's default)");
    if (r->q1 || r->q2)
        REFUSE(r->q1 ? "cluster.q1" : "cluster.q2", "the server's Paxos has majority quorums");
    if (r->unsafe_quorums || r->no_backoff)
        REFUSE(r->unsafe_quorums ? "cluster.unsafe_quorums" : "cluster.backoff",
               "the server's Paxos has majority quorums and always backs off");
    if (r->order_mutants || r->kv_mutants)
        REFUSE("cluster.mutants", "the server plants Raft's mutants only (--mutant)");
    if (r->gst_ns)
        REFUSE("faults.gst", "flp's adversary is the simulator's");
    return 0;
}

static int workload(const fl_scenario *s, fl_nem_config *c, char *err, size_t err_size)
{
    const fl_run_config *r = &s->run;
    if (r->clients > FL_NEM_CLIENTS_MAX)
        REFUSE("workload.clients", "%u: the nemesis runs at most %d clients", r->clients,
               FL_NEM_CLIENTS_MAX);
    c->workload = r->workload;
    c->clients = r->clients;
    c->rate = r->rate;
    c->keys = r->keys;
    c->sim_mix = true;
    c->reads_pct = r->reads_pct;
    c->other_pct = r->cas_pct;
    c->value_size = r->value_size;
    c->ops_max = r->ops_max;
    c->op_timeout_ns = r->op_timeout_ns;
    return 0;
}

int fl_scenario_for_nemesis(fl_scenario *s, fl_nem_config *c, fl_nem_fault *out, uint32_t *origin,
                            size_t max, size_t *n, char *err, size_t err_size)
{
    *n = 0;
    int rc = cluster(s, c, err, err_size);
    if (!rc)
        rc = sim_only(s, err, err_size);
    if (!rc)
        rc = workload(s, c, err, err_size);
    if (rc)
        return rc;
    c->seed = s->run.seed;
    c->duration_ns = s->run.duration_ns;
    c->liveness_ns = s->run.liveness_ns;
    return sreal_faults(s, out, origin, max, n, err, err_size);
}
