/* sim_opts.c: option parsing for `faultline sim`. Every value is checked; a bad one is
 * reported with the option's name (cli_opt.h) and the exit status is 64, before any run. */
#include "sim_opts.h"

#include "cli.h"
#include "cli_opt.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/raft.h"
#include "faultline/swarm.h"
#include "faultline/cons.h"
#include "sim_scenario.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_opts_usage(FILE *out)
{
    fprintf(
        out,
        "usage: faultline sim [options]\n"
        "       faultline sim --protocol swim [options]   (SWIM scenarios: its own --help)\n\n"
        "One simulated run of a replicated key-value store on Raft or Multi-Paxos, under a\n"
        "nemesis, checked after every event (the protocol's safety invariants) and at the end\n"
        "(linearizability, liveness after the heal). Same seed, same run, byte for byte.\n\n"
        "run:\n"
        "  --scenario FILE          the run the scenario FILE describes (docs/scenarios.md);\n"
        "                           options given beside it change it\n"
        "  --protocol P             the consensus protocol: raft or paxos; or swim (its own\n"
        "                           options) (raft)\n"
        "  --nodes N                cluster size, 1..16 (5)\n"
        "  --seed S                 the seed (1)\n"
        "  --duration D             virtual time with clients and faults, e.g. 30s, 500ms, 2m "
        "(10s)\n"
        "  --workload W             register (few keys: read, write, cas), kv (many keys:\n"
        "                           get, put, append) or redis (kv, and one op in four a\n"
        "                           Redis-shaped command: expiry, MULTI, lists, sets, hashes,\n"
        "                           sorted sets, judged by the replicas' checks) (register)\n"
        "  --read-mode M            GET by index (ReadIndex), lease, log, or local (the node\n"
        "                           asked answers from its own state: not linearizable) (index)\n"
        "  --read-at W              send GETs to the leader, to any node (followers and\n"
        "                           learners serve them by ReadIndex), or sticky: each client\n"
        "                           to a node of its own, which serves it once it has applied\n"
        "                           all the client saw (leader)\n"
        "  --clients N              closed loop: concurrent clients (10)\n"
        "  --pipeline N             commands each client keeps in flight on its connection\n"
        "                           (1..64): answered in order, taking effect in order at\n"
        "                           the node (the server's rules), checked with program\n"
        "                           order; 1 = one at a time, to the leader (1)\n"
        "  --rate R                 open loop: Poisson arrivals, ops per second (off)\n"
        "  --op-timeout D           one attempt of an operation (500ms)\n"
        "  --op-deadline D          an operation, retries included; then its outcome is info (3s)\n"
        "  --net-delay D            mean one-way network delay (1ms)\n"
        "  --skew PPM               clock rates of the nodes differ by up to PPM (0)\n"
        "  --lease-drift PPM        --read-mode lease: the drift bound leases allow for (0)\n"
        "  --slow-disks             every fsync takes 5-50 ms (0.2-2 ms)\n"
        "  --snapshot-every N       each node snapshots its state every N applied entries and\n"
        "                           compacts its log; 0 = never (1000; --chaos: off unless given)\n"
        "  --snapshot-in-step       every node snapshots at the same index (default: node i of n\n"
        "                           i-1 n-ths into the interval, as the server's members do)\n"
        "  --snapshot-sync          a node's state is serialized within the step that snapshots\n"
        "                           (default: handed back 1-500 ms later, as the server's\n"
        "                           forked child does; with --chaos too)\n"
        "  --snapshot-timeout D     a snapshot job without its bytes for D is given up and\n"
        "                           tried again later (the server's watchdog; 60s; 0 = off)\n"
        "  --sync-inline            a node's short WAL sync with nothing else to do holds it for\n"
        "                           the sync, as the server's idle loop does: its messages,\n"
        "                           timers and requests wait (default: every sync on the\n"
        "                           worker, the node serving meanwhile)\n"
        "  --wal-segment BYTES      every node's WAL segment size (256 KiB): small ones rotate\n"
        "                           and go behind snapshots within a run\n"
        "  --keys N                 keys of the workload (register 3, kv 1000)\n");
    fprintf(
        out,
        "  --reads P, --cas P       percent of reads and of compare-and-set (kv: append); the\n"
        "                           rest are writes (50, 20)\n"
        "  --batch N, --inflight N  Raft: entries per AppendEntries, messages in flight per\n"
        "                           follower (64, 8)\n"
        "  --sends-at-batch-end     Raft: a proposal to a follower with an AppendEntries out\n"
        "                           waits for the end of the node's batch of events, so a\n"
        "                           free slot carries the batch (the server: --inflight 2\n"
        "                           --batch 4096 --sends-at-batch-end --overlap-min 64)\n"
        "  --overlap-min N          with it, a second message only with N entries or more (0)\n"
        "  --uncommitted-max N      Raft: entries not yet committed a leader takes, more are\n"
        "                           refused until some commit (512; the server: 8192)\n"
        "  --entry-max BYTES        the largest entry, both protocols (1048576; the server:\n"
        "                           2097152)\n"
        "  --lose-unsynced          a crash loses every unsynced write (else a random prefix of\n"
        "                           them survives)\n"
        "  --torn P                 the last unsynced write surviving a crash is torn with\n"
        "                           probability P (0.3)\n"
        "faults:\n"
        "  --nemesis NAME           a fault schedule (none); one of:\n");
    fl_nemesis_list(out);
    fprintf(out,
            "  --faults K:D,...         instead of --nemesis: kinds side by side, each on for\n"
            "                           D then off as long (D: --nemesis-interval)\n");
    fprintf(out, "  --nemesis-interval D     each fault lasts D, then D healed (2s)\n"
                 "  --loss P, --dup P        probabilities for the loss / dup nemeses (0.2)\n"
                 "  --delay-spike D          extra mean delay for the delay nemesis (50ms)\n"
                 "  --clock-offset D         largest clock jump for clock-offset (200ms)\n"
                 "  --drift PPM              largest drift for clock-drift (50000)\n"
                 "  --gst D                  with --nemesis flp: the global stabilisation time,\n"
                 "                           when the adversary's power ends (the heal)\n"
                 "  --cap                    instead: CAP shown (docs/limits.md): the leader's\n"
                 "                           minority cut off for the middle third of --duration,\n"
                 "                           clients on both sides, once per read mode (index,\n"
                 "                           lease, log, local): reads and writes answered per\n"
                 "                           side, and whether the histories are consistent\n"
                 "  --liveness D             after the heal a write must succeed within D (5s)\n"
                 "  --no-check-quorum        Raft: a leader cut off from its quorum keeps leading\n"
                 "  --no-pre-vote            Raft: elections without the pre-vote round\n"
                 "  --q1 N, --q2 N           Paxos: phase-1 and phase-2 quorum sizes (Flexible\n"
                 "                           Paxos; a majority each by default), q1 + q2 > nodes\n"
                 "  --unsafe-quorums         Paxos: allow q1 + q2 <= nodes, to see what it breaks\n"
                 "  --no-backoff             Paxos: a preempted proposer retries at once, with\n"
                 "                           fixed timeouts (duelling proposers livelock)\n"
                 "  --mutant NAME            switch on a deliberate bug of the protocol\n"
                 "                           (repeatable); raft: ");
    const uint32_t *bits;
    size_t n = fl_cons_mutant_list(FL_CONS_RAFT, &bits);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", fl_cons_mutant_name(FL_CONS_RAFT, bits[i]));
    fprintf(out, "; paxos: ");
    n = fl_cons_mutant_list(FL_CONS_PAXOS, &bits);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", fl_cons_mutant_name(FL_CONS_PAXOS, bits[i]));
    fprintf(out, "; the kv side (either protocol): ");
    const char *const *names;
    n = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", names[i]);
    fprintf(out,
            "\ncampaigns:\n"
            "  --seeds A..B             run every seed from A to B on all cores, then summarize\n"
            "                           (each seed draws its own world, unless --fixed)\n"
            "  --swarm                  the world is drawn from the seed: cluster, Raft options,\n"
            "                           reads, clocks, disk, workload, a subset of the fault\n"
            "                           kinds with their intervals; options given fix their part\n"
            "  --fixed                  a campaign runs exactly the options given, every seed\n"
            "  --jobs N                 worker processes (number of cores)\n"
            "  --shard K/N              run only shard K of N of the seeds (merge with faultline "
            "merge)\n"
            "  --budget D               start no seed after D of wall time (e.g. 2m): the seeds\n"
            "                           run are A..K, K printed; for CI on machines of any speed\n"
            "output:\n"
            "  --out DIR                write results.json and history.jsonl (campaign: one JSON\n"
            "                           line per seed in DIR/campaign.jsonl)\n"
            "  --no-check               skip the linearizability check\n"
            "  --check-timeout D        give up the check after D: verdict unknown (30s)\n"
            "  --verbose                print faults as they happen\n"
            "  --quiet                  print only the verdict line\n"
            "  --chaos                  instead: the Raft-level chaos run of the test campaign\n"
            "                           (random faults of every kind, no kv), for --seed/--nodes/\n"
            "                           --duration/--mutant, as the tests print to reproduce\n"
            "                           (with --seeds: a campaign of them)\n"
            "  --churn                  with --chaos: membership churn too (learners added and\n"
            "                           promoted, voters and leaders removed and replaced)\n"
            "  --compare P,Q            instead: protocols P and Q (raft,paxos) side by side on\n"
            "                           the same seeds\n"
            "                           (--seeds, else 1..20) under none, crash-leader,\n"
            "                           isolate-leader, partition-random, loss and mix (or\n"
            "                           --nemesis alone): throughput, latency, messages and\n"
            "                           fsyncs per op, elections, leaderless time, recovery\n"
            "                           after a leader crash, availability (--out: compare.json)\n"
            "  --crash-points           instead: crash-point testing of a node's storage (the\n"
            "                           WAL and snapshot files on the simulated disk, crashed\n"
            "                           before every write and sync), for --seed/--mutant\n");
    fl_cli_exit_help(out, "no violation found",
                     "a violation (the command that reproduces it is printed)", NULL);
}

typedef struct parser {
    int argc, i;
    char **argv;
    const char *opt;
} parser;

static const char *value(parser *p)
{
    if (p->i + 1 >= p->argc) {
        fl_cli_no_value("sim", p->opt);
        return NULL;
    }
    return p->argv[++p->i];
}

static int bad(parser *p, const char *v, const char *what)
{
    return fl_cli_bad("sim", p->opt, v, "%s", what);
}

static int get_u64(parser *p, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = value(p);
    return v ? fl_cli_u64("sim", p->opt, v, min, max, out) : FL_EXIT_USAGE;
}

static int get_dur(parser *p, fl_time_ns *out)
{
    const char *v = value(p);
    return v ? fl_cli_duration("sim", p->opt, v, FL_NS_PER_S, 0, FL_CLI_DURATION_MAX, out)
             : FL_EXIT_USAGE;
}

static int get_double(parser *p, double min, double max, double *out)
{
    const char *v = value(p);
    return v ? fl_cli_double("sim", p->opt, v, min, max, out) : FL_EXIT_USAGE;
}

static int parse_seeds(parser *p, sim_opts *o)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    const char *dots = strstr(v, "..");
    char first[32];
    if (!dots || (size_t)(dots - v) >= sizeof(first))
        return bad(p, v, "expected A..B");
    memcpy(first, v, (size_t)(dots - v));
    first[dots - v] = 0;
    if (fl_parse_u64(first, 0, UINT64_MAX - 1, &o->seed_first) ||
        fl_parse_u64(dots + 2, 0, UINT64_MAX - 1, &o->seed_last) || o->seed_last < o->seed_first)
        return bad(p, v, "expected A..B with whole numbers A <= B");
    o->campaign = true;
    return 0;
}

static int parse_shard(parser *p, sim_opts *o)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    unsigned k, n;
    char extra;
    if (sscanf(v, "%u/%u%c", &k, &n, &extra) != 2 || n < 1 || k < 1 || k > n || n > 100000)
        return bad(p, v, "expected K/N with 1 <= K <= N");
    o->shard_k = k;
    o->shard_n = n;
    return 0;
}

/* "kind:D,kind,..." (an interval of 0 stands for --nemesis-interval, filled in at the end). */
static int parse_faults(parser *p, const char *v, fl_run_config *c)
{
    c->n_faults = 0;
    c->nemesis = FL_NEMESIS_NONE;
    for (const char *at = v; *at;) {
        size_t len = strcspn(at, ","), name_len = strcspn(at, ":,");
        char name[40], dur[40];
        if (c->n_faults == FL_RUN_FAULTS_MAX || name_len >= sizeof(name) ||
            len - name_len >= sizeof(dur))
            return bad(p, v, "expected at most 24 KIND[:INTERVAL] separated by commas");
        memcpy(name, at, name_len);
        name[name_len] = 0;
        fl_run_fault *f = &c->faults[c->n_faults++];
        *f = (fl_run_fault){0};
        if (!fl_nemesis_parse(name, &f->kind) || !fl_nemesis_plannable(f->kind))
            return bad(p, v, "unknown fault kind (the nemeses of --help but none, mix, mix-churn)");
        if (len > name_len) {
            memcpy(dur, at + name_len + 1, len - name_len - 1);
            dur[len - name_len - 1] = 0;
            if (fl_parse_duration(dur, &f->interval_ns) || f->interval_ns < FL_NS_PER_MS)
                return bad(p, v, "an interval is a duration of at least 1ms (e.g. pause:300ms)");
        }
        at += len + (at[len] == ',');
    }
    return c->n_faults ? 0 : bad(p, v, "expected KIND[:INTERVAL],...");
}

/* "raft,paxos": the protocols of a comparison, each once. */
static int parse_compare(parser *p, sim_opts *o)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    char list[64];
    snprintf(list, sizeof(list), "%s", v);
    o->n_compare = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        fl_cons_protocol proto;
        if (!fl_cons_protocol_parse(t, &proto) || o->n_compare == 2 ||
            (o->n_compare && o->compare[0] == proto))
            return bad(p, v, "expected a list of protocols, each once: raft,paxos");
        o->compare[o->n_compare++] = proto;
    }
    return o->n_compare ? 0 : bad(p, v, "expected raft,paxos");
}

static int parse_named(parser *p, sim_opts *o)
{
    const char *opt = p->opt;
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    if (!strcmp(opt, "--protocol"))
        return (o->protocol_set = fl_cons_protocol_parse(v, &o->run.protocol))
                   ? 0
                   : bad(p, v, "expected raft or paxos (or swim, a mode of its own)");
    if (!strcmp(opt, "--workload"))
        return fl_run_workload_parse(v, &o->run.workload)
                   ? 0
                   : bad(p, v, "expected register, kv or redis");
    if (!strcmp(opt, "--read-mode"))
        return fl_run_read_mode_parse(v, &o->run.read_mode)
                   ? 0
                   : bad(p, v, "expected index, lease, log or local");
    if (!strcmp(opt, "--read-at"))
        return fl_run_read_at_parse(v, &o->run.read_at)
                   ? 0
                   : bad(p, v, "expected leader, any or sticky");
    if (!strcmp(opt, "--scenario")) {
        o->scenario = v;
        return 0;
    }
    if (!strcmp(opt, "--nemesis") || !strcmp(opt, "--faults")) {
        o->run.schedule = NULL; /* instead of a scenario's schedule */
        o->run.n_schedule = 0;
    }
    if (!strcmp(opt, "--nemesis")) {
        o->run.n_faults = 0; /* one or the other: the last given */
        o->nemesis_set = true;
        return fl_nemesis_parse(v, &o->run.nemesis) ? 0 : bad(p, v, "unknown nemesis (see --help)");
    }
    if (!strcmp(opt, "--faults"))
        return parse_faults(p, v, &o->run);
    if (!strcmp(opt, "--mutant")) { /* resolved once the protocol is known */
        if (o->n_mutant_names == sizeof(o->mutant_names) / sizeof(o->mutant_names[0]))
            return bad(p, v, "too many mutants");
        o->mutant_names[o->n_mutant_names++] = v;
        return 0;
    }
    o->out_dir = v; /* --out */
    return 0;
}

/* Options that set a duration of the run configuration. */
static fl_time_ns *duration_field(sim_opts *o, const char *a)
{
    fl_run_config *c = &o->run;
    static const struct {
        const char *name;
        size_t off;
    } table[] = {
        {"--duration", offsetof(fl_run_config, duration_ns)},
        {"--nemesis-interval", offsetof(fl_run_config, nemesis_interval_ns)},
        {"--op-timeout", offsetof(fl_run_config, op_timeout_ns)},
        {"--op-deadline", offsetof(fl_run_config, op_deadline_ns)},
        {"--liveness", offsetof(fl_run_config, liveness_ns)},
        {"--net-delay", offsetof(fl_run_config, net_delay_ns)},
        {"--delay-spike", offsetof(fl_run_config, delay_ns)},
        {"--clock-offset", offsetof(fl_run_config, clock_offset_ns)},
        {"--gst", offsetof(fl_run_config, gst_ns)},
        {"--snapshot-timeout", offsetof(fl_run_config, snapshot_timeout_ns)},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(a, table[i].name))
            return (fl_time_ns *)((char *)c + table[i].off);
    if (!strcmp(a, "--check-timeout"))
        return &o->check_timeout_ns;
    if (!strcmp(a, "--budget"))
        return &o->budget_ns;
    return NULL;
}

/* Options without a value. Returns false if a is none of them. */
static bool parse_flag(sim_opts *o, const char *a)
{
    if (!strcmp(a, "--no-check-quorum"))
        o->run.no_check_quorum = true;
    else if (!strcmp(a, "--no-pre-vote"))
        o->run.no_pre_vote = true;
    else if (!strcmp(a, "--unsafe-quorums"))
        o->run.unsafe_quorums = true;
    else if (!strcmp(a, "--no-backoff"))
        o->run.no_backoff = true;
    else if (!strcmp(a, "--slow-disks"))
        o->run.slow_disks = true;
    else if (!strcmp(a, "--snapshot-in-step"))
        o->run.snapshot_in_step = true;
    else if (!strcmp(a, "--snapshot-sync"))
        o->run.snapshot_sync = true;
    else if (!strcmp(a, "--sync-inline"))
        o->run.sync_inline = true;
    else if (!strcmp(a, "--chaos"))
        o->chaos = true;
    else if (!strcmp(a, "--churn"))
        o->churn = true;
    else if (!strcmp(a, "--crash-points"))
        o->crash_points = true;
    else if (!strcmp(a, "--swarm"))
        o->swarm = true;
    else if (!strcmp(a, "--fixed"))
        o->fixed = true;
    else if (!strcmp(a, "--lose-unsynced"))
        o->run.crash_lose_unsynced = true;
    else if (!strcmp(a, "--sends-at-batch-end"))
        o->run.sends_at_batch_end = true;
    else if (!strcmp(a, "--cap"))
        o->cap = true;
    else if (!strcmp(a, "--no-check"))
        o->check_lin = false;
    else if (!strcmp(a, "--verbose") || !strcmp(a, "-v"))
        o->run.verbose = true;
    else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
        o->quiet = true;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        o->help = true;
    else
        return false;
    return true;
}

/* Options with a whole number. Returns 1 if a is none of them, else 0 or the exit status. */
static int parse_number(parser *p, sim_opts *o)
{
    const char *a = p->opt;
    fl_run_config *c = &o->run;
    uint64_t u;
    int rc;
    if (!strcmp(a, "--seed"))
        return get_u64(p, 0, UINT64_MAX, &c->seed);
    if (!strcmp(a, "--nodes")) {
        rc = get_u64(p, 1, 16, &u);
        c->nodes = (uint32_t)u;
    } else if (!strcmp(a, "--clients")) {
        rc = get_u64(p, 1, 10000, &u);
        c->clients = (uint32_t)u;
    } else if (!strcmp(a, "--pipeline")) {
        rc = get_u64(p, 1, FL_RUN_PIPELINE_MAX, &u);
        c->pipeline = (uint32_t)u;
    } else if (!strcmp(a, "--jobs")) {
        rc = get_u64(p, 1, 256, &u);
        o->jobs = (uint32_t)u;
    } else if (!strcmp(a, "--lease-drift")) {
        rc = get_u64(p, 0, 999999, &u);
        c->lease_drift_ppm = (uint32_t)u;
    } else if (!strcmp(a, "--wal-segment")) {
        rc = get_u64(p, 1024, 1u << 30, &u);
        c->wal_segment_bytes = (uint32_t)u;
    } else if (!strcmp(a, "--snapshot-every")) {
        rc = get_u64(p, 0, 1000000000, &u);
        c->snapshot_every = (uint32_t)u;
        o->snapshot_set = true;
    } else if (!strcmp(a, "--skew")) {
        rc = get_u64(p, 0, 499999, &u);
        c->skew_ppm = (uint32_t)u;
    } else if (!strcmp(a, "--batch") || !strcmp(a, "--inflight")) {
        bool batch = !strcmp(a, "--batch");
        rc = get_u64(p, 1, batch ? 1000000 : FL_RAFT_INFLIGHT_MAX, &u);
        *(batch ? &c->batch_entries : &c->inflight) = (uint32_t)u;
    } else if (!strcmp(a, "--overlap-min")) {
        rc = get_u64(p, 0, 1000000, &u);
        c->overlap_min = (uint32_t)u;
    } else if (!strcmp(a, "--uncommitted-max")) {
        rc = get_u64(p, 1, 1000000, &u);
        c->uncommitted_max = (uint32_t)u;
    } else if (!strcmp(a, "--entry-max")) {
        rc = get_u64(p, 1, 16u << 20, &u); /* Paxos's bound (paxos.c) */
        c->entry_bytes_max = (uint32_t)u;
    } else if (!strcmp(a, "--keys")) {
        rc = get_u64(p, 1, 1000000, &u);
        c->keys = (uint32_t)u;
    } else if (!strcmp(a, "--reads") || !strcmp(a, "--cas")) {
        rc = get_u64(p, 0, 100, &u);
        *(!strcmp(a, "--reads") ? &c->reads_pct : &c->cas_pct) = (uint32_t)u;
    } else if (!strcmp(a, "--q1") || !strcmp(a, "--q2")) {
        rc = get_u64(p, 1, 16, &u);
        *(a[3] == '1' ? &c->q1 : &c->q2) = (uint32_t)u;
    } else {
        return 1;
    }
    return rc;
}

static int parse_one(parser *p, sim_opts *o)
{
    const char *a = p->opt;
    fl_run_config *c = &o->run;
    fl_time_ns *dur = duration_field(o, a);
    if (dur)
        return get_dur(p, dur);
    if (parse_flag(o, a))
        return 0;
    int rc = parse_number(p, o);
    if (rc != 1)
        return rc;
    if (!strcmp(a, "--rate"))
        return get_double(p, 0, 1e6, &c->rate); /* 0: closed loop */
    if (!strcmp(a, "--torn"))
        return get_double(p, 0, 1, &c->torn);
    if (!strcmp(a, "--loss"))
        return get_double(p, 0, 1, &c->loss);
    if (!strcmp(a, "--dup"))
        return get_double(p, 0, 1, &c->dup);
    if (!strcmp(a, "--drift"))
        return get_double(p, 0, 499999, &c->clock_drift_ppm);
    if (!strcmp(a, "--seeds"))
        return parse_seeds(p, o);
    if (!strcmp(a, "--shard"))
        return parse_shard(p, o);
    if (!strcmp(a, "--compare"))
        return parse_compare(p, o);
    if (!strcmp(a, "--protocol") || !strcmp(a, "--workload") || !strcmp(a, "--read-mode") ||
        !strcmp(a, "--read-at") || !strcmp(a, "--nemesis") || !strcmp(a, "--mutant") ||
        !strcmp(a, "--out") || !strcmp(a, "--faults") || !strcmp(a, "--scenario"))
        return parse_named(p, o);
    return fl_cli_unexpected("sim", a);
}

/* Applies the options of argv to o. Returns 0 or the exit status (message printed). */
static int apply(sim_opts *o, int argc, char **argv)
{
    parser p = {.argc = argc, .argv = argv};
    for (p.i = 1; p.i < argc; p.i++) {
        p.opt = argv[p.i];
        int rc = parse_one(&p, o);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < o->run.n_faults; i++)
        if (!o->run.faults[i].interval_ns)
            o->run.faults[i].interval_ns = o->run.nemesis_interval_ns;
    return 0;
}

/* The --mutant names as bits of c's protocol (known only once every option is read). */
static int resolve_mutants(sim_opts *o, fl_run_config *c)
{
    fl_cons_protocol other = c->protocol == FL_CONS_RAFT ? FL_CONS_PAXOS : FL_CONS_RAFT;
    for (uint32_t i = 0; i < o->n_mutant_names; i++) {
        uint32_t bit = fl_cons_mutant_parse(c->protocol, o->mutant_names[i]);
        if (!bit && fl_run_mutant_set(c, o->mutant_names[i]))
            continue; /* the kv side's (program order, the replicas' kv): any protocol */
        if (!bit && !o->protocol_set && fl_cons_mutant_parse(other, o->mutant_names[i])) {
            /* a bug planted in the other protocol's code: that code is the one under test */
            c->protocol = other;
            c->mutants = 0;
            o->protocol_set = true;
            return resolve_mutants(o, c);
        }
        if (!bit) {
            bool theirs = fl_cons_mutant_parse(other, o->mutant_names[i]) != 0;
            return fl_cli_bad(
                "sim", "--mutant", o->mutant_names[i], "not a %s mutant%s%s (see --help)",
                fl_cons_protocol_name(c->protocol), theirs ? "; it is planted in --protocol " : "",
                theirs ? fl_cons_protocol_name(other) : "");
        }
        c->mutants |= bit;
        o->protocol_set = true; /* its protocol's code is the one under test */
    }
    return 0;
}

int sim_opts_parse(sim_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    fl_run_config_default(&o->run);
    o->check_lin = true;
    o->check_timeout_ns = 30 * FL_NS_PER_S;
    o->argc = argc;
    o->argv = argv;
    int rc = apply(o, argc, argv);
    if (rc || o->help)
        return rc;
    if (o->shard_n && !o->campaign)
        return fl_cli_error("sim", FL_EXIT_USAGE, "--shard goes with --seeds A..B");
    if (o->budget_ns && (!o->campaign || o->n_compare))
        return fl_cli_error("sim", FL_EXIT_USAGE, "--budget goes with --seeds A..B");
    if ((rc = resolve_mutants(o, &o->run)))
        return rc;
    if (o->n_compare && (o->chaos || o->crash_points || o->run.mutants || o->shard_n))
        return fl_cli_error("sim", FL_EXIT_USAGE,
                            "--compare runs kv runs of correct protocols (no --chaos, "
                            "--crash-points, --mutant or --shard)");
    if (o->run.protocol == FL_CONS_PAXOS && (o->chaos || o->crash_points))
        return fl_cli_error("sim", FL_EXIT_USAGE,
                            "--chaos and --crash-points run Raft (the kv runs and their campaigns "
                            "take --protocol paxos)");
    if (o->swarm && (o->fixed || o->chaos))
        return fl_cli_error("sim", FL_EXIT_USAGE,
                            "--swarm goes with neither --fixed nor --chaos (which draws its own "
                            "parameters)");
    if (o->scenario && (o->swarm || o->chaos || o->crash_points))
        return fl_cli_error("sim", FL_EXIT_USAGE,
                            "--scenario goes with neither --swarm, --chaos nor --crash-points");
    if (o->scenario) { /* the scenario, then the options given over it */
        rc = sim_scenario_apply(o, o->scenario);
        if (rc || (rc = apply(o, argc, argv)) != 0)
            return rc;
    }
    o->swarm |= o->campaign && !o->fixed && !o->chaos && !o->scenario; /* a campaign's default */
    if (o->swarm) /* the world of the seed; a campaign checks its first seed's here */
        sim_opts_world(o, o->campaign ? o->seed_first : o->run.seed, &o->run);
    char why[200];
    if (fl_run_config_validate(&o->run, why, sizeof(why)))
        return fl_cli_error("sim", FL_EXIT_USAGE, "%s%s", why,
                            o->swarm ? " (in the world the seed drew, with the options given)"
                                     : "");
    /* where the results go is checked now, not after the run */
    return o->out_dir ? fl_cli_out_dir("sim", "--out", o->out_dir) : 0;
}

void sim_opts_world(const sim_opts *o, uint64_t seed, fl_run_config *out)
{
    if (!o->swarm) {
        *out = o->run;
        out->seed = seed;
        return;
    }
    sim_opts t = *o;
    if (o->protocol_set) /* given, or the protocol of the mutant planted: else drawn */
        fl_swarm_draw_as(seed, o->run.protocol, &t.run);
    else
        fl_swarm_draw(seed, &t.run);
    t.n_mutant_names = 0;
    apply(&t, o->argc, o->argv); /* parsed once already: no error now */
    resolve_mutants(&t, &t.run);
    if (t.run.read_mode == FL_RUN_READ_LOG)
        t.run.read_at = FL_RUN_READ_AT_LEADER; /* the only place log reads can go */
    *out = t.run;
    out->seed = seed;
}

/* Options of a campaign or of the output, not of the run: left out of a seed's command.
 * Returns how many words to skip (0: keep it). */
static int campaign_only(const char *a)
{
    static const char *const with_value[] = {"--seeds", "--shard",    "--jobs",  "--out",
                                             "--seed",  "--scenario", "--budget"};
    static const char *const flags[] = {"--swarm", "--fixed", "--quiet", "-q", "--verbose", "-v"};
    for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
        if (!strcmp(a, with_value[i]))
            return 2;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (!strcmp(a, flags[i]))
            return 1;
    return 0;
}

void sim_opts_seed_repro(const sim_opts *o, uint64_t seed, char *out, size_t out_size)
{
    if (!o->swarm && !o->scenario) {
        fl_run_config c;
        sim_opts_world(o, seed, &c);
        sim_opts_repro(&c, out, out_size);
        return;
    }
    int n = o->swarm ? snprintf(out, out_size, "faultline sim --swarm --seed %llu",
                                (unsigned long long)seed)
                     : snprintf(out, out_size, "faultline sim --scenario %s --seed %llu",
                                o->scenario, (unsigned long long)seed);
    size_t used = n > 0 ? (size_t)n : 0;
    for (int i = 1; i < o->argc && used < out_size; i++) {
        int skip = campaign_only(o->argv[i]);
        if (skip) {
            i += skip - 1;
            continue;
        }
        n = snprintf(out + used, out_size - used, " %s", o->argv[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static void dur(char *out, size_t size, fl_time_ns ns)
{
    if (ns % FL_NS_PER_S == 0)
        snprintf(out, size, "%llus", (unsigned long long)(ns / FL_NS_PER_S));
    else if (ns % FL_NS_PER_MS == 0)
        snprintf(out, size, "%llums", (unsigned long long)(ns / FL_NS_PER_MS));
    else
        snprintf(out, size, "%lluns", (unsigned long long)ns);
}

/* Appends to out (used bytes so far) what printf gives, as far as it fits; the new length. */
static size_t append(char *out, size_t out_size, size_t used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append(char *out, size_t out_size, size_t used, const char *fmt, ...)
{
    if (used >= out_size)
        return used;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + used, out_size - used, fmt, ap);
    va_end(ap);
    return used + (k > 0 ? (size_t)k : 0);
}

/* The fault plan, Raft's flow control, the workload's shares and the disk model of c where
 * they differ from the defaults d (what a swarm world draws beyond the older options). */
static size_t repro_plan(const fl_run_config *c, const fl_run_config *d, char *out, size_t out_size,
                         size_t used)
{
    char b[32];
    for (uint32_t i = 0; i < c->n_faults; i++) {
        dur(b, sizeof(b), c->faults[i].interval_ns);
        used = append(out, out_size, used, "%s%s:%s", i ? "," : " --faults ",
                      fl_nemesis_name(c->faults[i].kind), b);
    }
    const struct {
        const char *name;
        uint32_t v, def;
    } nums[] = {{"--batch", c->batch_entries, d->batch_entries},
                {"--inflight", c->inflight, d->inflight},
                {"--overlap-min", c->overlap_min, d->overlap_min},
                {"--uncommitted-max", c->uncommitted_max, d->uncommitted_max},
                {"--entry-max", c->entry_bytes_max, d->entry_bytes_max},
                {"--keys", c->keys, d->keys},
                {"--reads", c->reads_pct, d->reads_pct},
                {"--cas", c->cas_pct, d->cas_pct}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (nums[i].v != nums[i].def)
            used = append(out, out_size, used, " %s %u", nums[i].name, nums[i].v);
    if (c->crash_lose_unsynced)
        used = append(out, out_size, used, " --lose-unsynced");
    if (c->sends_at_batch_end)
        used = append(out, out_size, used, " --sends-at-batch-end");
    if (c->torn != d->torn)
        used = append(out, out_size, used, " --torn %g", c->torn);
    return used;
}

void sim_opts_repro(const fl_run_config *c, char *out, size_t out_size)
{
    fl_run_config d;
    fl_run_config_default(&d);
    char a[32], b[32];
    dur(a, sizeof(a), c->duration_ns);
    int n = snprintf(out, out_size,
                     "faultline sim%s --seed %llu --nodes %u --duration %s --workload %s",
                     c->protocol == FL_CONS_PAXOS ? " --protocol paxos" : "",
                     (unsigned long long)c->seed, c->nodes, a, fl_run_workload_name(c->workload));
    size_t used = n > 0 ? (size_t)n : 0;
#define MORE(...)                                                                                  \
    do {                                                                                           \
        if (used < out_size) {                                                                     \
            int k = snprintf(out + used, out_size - used, __VA_ARGS__);                            \
            used += k > 0 ? (size_t)k : 0;                                                         \
        }                                                                                          \
    } while (0)
    if (!c->n_faults)
        MORE(" --nemesis %s", fl_nemesis_name(c->nemesis));
    if (c->read_mode == FL_RUN_READ_LOG || c->read_mode == FL_RUN_READ_LOCAL)
        MORE(" --read-mode %s", fl_run_read_mode_name(c->read_mode));
    if (c->read_mode == FL_RUN_READ_LEASE)
        MORE(" --read-mode lease");
    if (c->read_mode == FL_RUN_READ_LEASE || c->lease_drift_ppm != d.lease_drift_ppm)
        MORE(" --lease-drift %u", c->lease_drift_ppm);
    if (c->read_at != FL_RUN_READ_AT_LEADER)
        MORE(" --read-at %s", fl_run_read_at_name(c->read_at));
    if (c->skew_ppm)
        MORE(" --skew %u", c->skew_ppm);
    if (c->snapshot_every != d.snapshot_every)
        MORE(" --snapshot-every %u", c->snapshot_every);
    if (c->snapshot_in_step)
        MORE(" --snapshot-in-step");
    if (c->snapshot_sync)
        MORE(" --snapshot-sync");
    if (c->sync_inline)
        MORE(" --sync-inline");
    if (c->wal_segment_bytes)
        MORE(" --wal-segment %u", c->wal_segment_bytes);
    if (c->no_check_quorum)
        MORE(" --no-check-quorum");
    if (c->no_pre_vote)
        MORE(" --no-pre-vote");
    used = repro_plan(c, &d, out, out_size, used);
    if (c->q1)
        MORE(" --q1 %u", c->q1);
    if (c->q2)
        MORE(" --q2 %u", c->q2);
    if (c->unsafe_quorums)
        MORE(" --unsafe-quorums");
    if (c->no_backoff)
        MORE(" --no-backoff");
    if (c->slow_disks)
        MORE(" --slow-disks");
    if (c->rate > 0)
        MORE(" --rate %g", c->rate);
    else if (c->clients != d.clients)
        MORE(" --clients %u", c->clients);
    if (c->nemesis_interval_ns != d.nemesis_interval_ns) {
        dur(b, sizeof(b), c->nemesis_interval_ns);
        MORE(" --nemesis-interval %s", b);
    }
    if (c->loss != d.loss)
        MORE(" --loss %g", c->loss);
    if (c->dup != d.dup)
        MORE(" --dup %g", c->dup);
    if (c->clock_drift_ppm != d.clock_drift_ppm)
        MORE(" --drift %g", c->clock_drift_ppm);
    if (c->delay_ns != d.delay_ns) {
        dur(b, sizeof(b), c->delay_ns);
        MORE(" --delay-spike %s", b);
    }
    if (c->clock_offset_ns != d.clock_offset_ns) {
        dur(b, sizeof(b), c->clock_offset_ns);
        MORE(" --clock-offset %s", b);
    }
    const struct {
        const char *name;
        fl_time_ns v, def;
    } durs[] = {{"--op-timeout", c->op_timeout_ns, d.op_timeout_ns},
                {"--op-deadline", c->op_deadline_ns, d.op_deadline_ns},
                {"--liveness", c->liveness_ns, d.liveness_ns},
                {"--net-delay", c->net_delay_ns, d.net_delay_ns},
                {"--gst", c->gst_ns, d.gst_ns},
                {"--snapshot-timeout", c->snapshot_timeout_ns, d.snapshot_timeout_ns}};
    for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
        if (durs[i].v != durs[i].def) {
            dur(b, sizeof(b), durs[i].v);
            MORE(" %s %s", durs[i].name, b);
        }
    if (c->pipeline > 1)
        MORE(" --pipeline %u", c->pipeline);
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (c->mutants & bit)
            MORE(" --mutant %s", fl_cons_mutant_name(c->protocol, bit));
    const char *const *names;
    size_t n_names = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n_names; i++)
        if (fl_run_mutant_has(c, names[i]))
            MORE(" --mutant %s", names[i]);
#undef MORE
}
