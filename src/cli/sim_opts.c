/* sim_opts.c: option parsing for `faultline sim`. Every value is checked; a bad one is
 * reported with the option's name and the exit status is 2. */
#include "sim_opts.h"

#include "cli.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/raft.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_opts_usage(FILE *out)
{
    fprintf(
        out,
        "usage: faultline sim [options]\n\n"
        "One simulated run of a replicated key-value store on Raft, under a nemesis, checked\n"
        "after every event (Raft's safety invariants) and at the end (linearizability,\n"
        "liveness after the heal). Same seed, same run, byte for byte.\n\n"
        "run:\n"
        "  --protocol raft          the consensus protocol (raft)\n"
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
        "  --snapshot-every N       each node snapshots its state every N applied entries and\n"
        "                           compacts its log; 0 = never (1000; --chaos: off unless given)\n"
        "faults:\n"
        "  --nemesis NAME           a fault schedule (none); one of:\n");
    fl_nemesis_list(out);
    fprintf(out, "  --nemesis-interval D     each fault lasts D, then D healed (2s)\n"
                 "  --loss P, --dup P        probabilities for the loss / dup nemeses (0.2)\n"
                 "  --delay-spike D          extra mean delay for the delay nemesis (50ms)\n"
                 "  --clock-offset D         largest clock jump for clock-offset (200ms)\n"
                 "  --drift PPM              largest drift for clock-drift (50000)\n"
                 "  --liveness D             after the heal a write must succeed within D (5s)\n"
                 "  --no-check-quorum        Raft: a leader cut off from its quorum keeps leading\n"
                 "  --no-pre-vote            Raft: elections without the pre-vote round\n"
                 "  --mutant NAME            switch on a deliberate Raft bug (repeatable): ");
    const uint32_t *bits;
    size_t n = fl_raft_mutant_list(&bits);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? ", " : "", fl_raft_mutant_name(bits[i]));
    const char *const *names;
    n = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n; i++)
        fprintf(out, ", %s", names[i]);
    fprintf(out,
            "\ncampaigns:\n"
            "  --seeds A..B             run every seed from A to B on all cores, then summarize\n"
            "  --jobs N                 worker processes (number of cores)\n"
            "  --shard K/N              run only shard K of N of the seeds (merge with faultline "
            "merge)\n"
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
            "  --crash-points           instead: crash-point testing of a node's storage (the\n"
            "                           WAL and snapshot files on the simulated disk, crashed\n"
            "                           before every write and sync), for --seed/--mutant\n\n"
            "exit status: 0 no violation, 1 a violation (the command that reproduces it is\n"
            "printed), 2 bad usage.\n");
}

typedef struct parser {
    int argc, i;
    char **argv;
    const char *opt;
} parser;

static const char *value(parser *p)
{
    if (p->i + 1 >= p->argc) {
        fprintf(stderr, "faultline sim: %s needs a value\n", p->opt);
        return NULL;
    }
    return p->argv[++p->i];
}

static int bad(parser *p, const char *v, const char *what)
{
    fprintf(stderr, "faultline sim: %s %s: %s\n", p->opt, v ? v : "", what);
    return FL_EXIT_USAGE;
}

static int get_u64(parser *p, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    int rc = fl_parse_u64(v, min, max, out);
    if (rc == FL_ERANGE) {
        char why[64];
        snprintf(why, sizeof(why), "out of range %llu..%llu", (unsigned long long)min,
                 (unsigned long long)max);
        return bad(p, v, why);
    }
    return rc ? bad(p, v, "not a whole number") : 0;
}

static int get_dur(parser *p, fl_time_ns *out)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    return fl_parse_duration(v, out) ? bad(p, v, "not a duration (e.g. 30s, 250ms, 2m)") : 0;
}

static int get_double(parser *p, double min, double max, double *out)
{
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    int rc = fl_parse_double(v, min, max, out);
    return rc ? bad(p, v, rc == FL_ERANGE ? "out of range" : "not a number") : 0;
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

static int parse_named(parser *p, sim_opts *o)
{
    const char *opt = p->opt;
    const char *v = value(p);
    if (!v)
        return FL_EXIT_USAGE;
    if (!strcmp(opt, "--protocol"))
        return strcmp(v, "raft") ? bad(p, v, "only raft is available so far") : 0;
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
    if (!strcmp(opt, "--nemesis"))
        return fl_nemesis_parse(v, &o->run.nemesis) ? 0 : bad(p, v, "unknown nemesis (see --help)");
    if (!strcmp(opt, "--mutant"))
        return fl_run_mutant_set(&o->run, v) ? 0 : bad(p, v, "unknown mutant (see --help)");
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
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(a, table[i].name))
            return (fl_time_ns *)((char *)c + table[i].off);
    if (!strcmp(a, "--check-timeout"))
        return &o->check_timeout_ns;
    return NULL;
}

/* Options without a value. Returns false if a is none of them. */
static bool parse_flag(sim_opts *o, const char *a)
{
    if (!strcmp(a, "--no-check-quorum"))
        o->run.no_check_quorum = true;
    else if (!strcmp(a, "--no-pre-vote"))
        o->run.no_pre_vote = true;
    else if (!strcmp(a, "--chaos"))
        o->chaos = true;
    else if (!strcmp(a, "--churn"))
        o->churn = true;
    else if (!strcmp(a, "--crash-points"))
        o->crash_points = true;
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
    } else if (!strcmp(a, "--snapshot-every")) {
        rc = get_u64(p, 0, 1000000000, &u);
        c->snapshot_every = (uint32_t)u;
        o->snapshot_set = true;
    } else if (!strcmp(a, "--skew")) {
        rc = get_u64(p, 0, 499999, &u);
        c->skew_ppm = (uint32_t)u;
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
        return get_double(p, 0.001, 1e6, &c->rate);
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
    if (!strcmp(a, "--protocol") || !strcmp(a, "--workload") || !strcmp(a, "--read-mode") ||
        !strcmp(a, "--read-at") || !strcmp(a, "--nemesis") || !strcmp(a, "--mutant") ||
        !strcmp(a, "--out"))
        return parse_named(p, o);
    fprintf(stderr, "faultline sim: unknown option '%s' (see faultline sim --help)\n", a);
    return FL_EXIT_USAGE;
}

int sim_opts_parse(sim_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    fl_run_config_default(&o->run);
    o->check_lin = true;
    o->check_timeout_ns = 30 * FL_NS_PER_S;
    parser p = {.argc = argc, .argv = argv};
    for (p.i = 1; p.i < argc; p.i++) {
        p.opt = argv[p.i];
        int rc = parse_one(&p, o);
        if (rc)
            return rc;
    }
    if (o->help)
        return 0;
    if (o->shard_n && !o->campaign) {
        fprintf(stderr, "faultline sim: --shard goes with --seeds A..B\n");
        return FL_EXIT_USAGE;
    }
    char why[200];
    if (fl_run_config_validate(&o->run, why, sizeof(why))) {
        fprintf(stderr, "faultline sim: %s\n", why);
        return FL_EXIT_USAGE;
    }
    return 0;
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

void sim_opts_repro(const fl_run_config *c, char *out, size_t out_size)
{
    fl_run_config d;
    fl_run_config_default(&d);
    char a[32], b[32];
    dur(a, sizeof(a), c->duration_ns);
    int n = snprintf(out, out_size,
                     "faultline sim --seed %llu --nodes %u --duration %s "
                     "--workload %s --nemesis %s",
                     (unsigned long long)c->seed, c->nodes, a, fl_run_workload_name(c->workload),
                     fl_nemesis_name(c->nemesis));
    size_t used = n > 0 ? (size_t)n : 0;
#define MORE(...)                                                                                  \
    do {                                                                                           \
        if (used < out_size) {                                                                     \
            int k = snprintf(out + used, out_size - used, __VA_ARGS__);                            \
            used += k > 0 ? (size_t)k : 0;                                                         \
        }                                                                                          \
    } while (0)
    if (c->read_mode == FL_RUN_READ_LOG || c->read_mode == FL_RUN_READ_LOCAL)
        MORE(" --read-mode %s", fl_run_read_mode_name(c->read_mode));
    if (c->read_mode == FL_RUN_READ_LEASE)
        MORE(" --read-mode lease --lease-drift %u", c->lease_drift_ppm);
    if (c->read_at != FL_RUN_READ_AT_LEADER)
        MORE(" --read-at %s", fl_run_read_at_name(c->read_at));
    if (c->skew_ppm)
        MORE(" --skew %u", c->skew_ppm);
    if (c->snapshot_every != d.snapshot_every)
        MORE(" --snapshot-every %u", c->snapshot_every);
    if (c->no_check_quorum)
        MORE(" --no-check-quorum");
    if (c->no_pre_vote)
        MORE(" --no-pre-vote");
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
                {"--net-delay", c->net_delay_ns, d.net_delay_ns}};
    for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
        if (durs[i].v != durs[i].def) {
            dur(b, sizeof(b), durs[i].v);
            MORE(" %s %s", durs[i].name, b);
        }
    if (c->pipeline > 1)
        MORE(" --pipeline %u", c->pipeline);
    for (uint32_t bit = 1; bit; bit <<= 1)
        if (c->mutants & bit)
            MORE(" --mutant %s", fl_raft_mutant_name(bit));
    const char *const *names;
    size_t n_names = fl_run_mutant_list(&names);
    for (size_t i = 0; i < n_names; i++)
        if (fl_run_mutant_has(c, names[i]))
            MORE(" --mutant %s", names[i]);
#undef MORE
}
