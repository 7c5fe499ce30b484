/* mutants.c: one mutant's campaign until its first detection, and its control (mutants.h). */
#include "mutants.h"

#include "campaign.h"
#include "cli.h"
#include "faultline/json_read.h"
#include "faultline/cons.h"
#include "faultline/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Chosen so that the fault the bug needs is frequent, measured with `faultline mutants`
 * (docs/mutants.md has the figures). A mutant missing here gets DEFAULT_SPEC. */
static const struct {
    const char *name, *spec;
} specs[] = {
    /* figure 8: short-lived leaders; 7 nodes leave room for three cut off at once */
    {"commit-prev-term", "--nodes 7 --duration 20s --nemesis leader-churn --nemesis-interval 3s"},
    /* a stale candidate must win: many short elections among many voters */
    {"vote-no-log-check", "--nodes 7 --duration 20s --nemesis leader-churn --nemesis-interval 3s"},
    /* a crash must erase a vote already announced, within the ~1 ms before it is synced:
     * the kv runs' nemeses never hit that (0 of 200 seeds); the Raft-level chaos run aims
     * crash-before-fsync at unsynced votes */
    {"vote-before-durable", "--chaos --nodes 3 --duration 2m"},
    {"ack-before-durable", "--nemesis crash-minority --nemesis-interval 300ms"},
    /* a leader cut off that keeps leading: its AppendEntries reach the others after the heal.
     * No snapshots: a stale leader's entries cutting a follower's log below its snapshot trip
     * the core's own assertion first on some seeds (2 of 1..30 either way; which ones moves
     * with the simulated disk's job timing, seed 1 since the snapshot rename's directory sync
     * became a job's, issue 16 round 6), reported as a crash rather than the safety check the
     * bug breaks; the bug needs no snapshot */
    {"accept-stale-term",
     "--nemesis isolate-leader --nemesis-interval 1s --no-check-quorum --snapshot-every 0"},
    {"truncate-matching", "--nemesis dup --dup 0.3 --nemesis-interval 1s"},
    {"no-step-down", "--duration 8s --nemesis pause --nemesis-interval 1s"},
    /* a leader cut off (and not stepping down) answers reads from its stale state */
    {"read-no-confirm", "--duration 8s --nemesis isolate-leader --nemesis-interval 1s "
                        "--no-check-quorum"},
    /* the old leader's clock runs slow, the others' fast: a lease without the drift bound
     * outlives the leadership */
    {"lease-no-drift", "--duration 8s --nemesis isolate-leader-skew --drift 300000 "
                       "--nemesis-interval 1s --read-mode lease --lease-drift 300000 "
                       "--op-timeout 50ms --clients 30"},
    {"apply-before-commit", "--nemesis partition-random --nemesis-interval 1s"},
    /* the leader gone for good: nobody may win a pre-vote afterwards */
    {"prevote-stale-leader", "--nemesis crash-leader --nemesis-interval 1s"},
    /* a follower holding an old leader's suffix must be caught up by a snapshot: frequent
     * snapshots in the Raft-level chaos run (kv runs with mix: 0 in 200 seeds) */
    {"snapshot-keeps-suffix", "--chaos --nodes 3 --snapshot-every 10"},
    /* leaders must be removed: membership churn under client load */
    {"removed-leader-heartbeats", "--nemesis churn --nemesis-interval 1s"},
    /* joint configurations under every fault: the Raft-level chaos run with churn */
    {"joint-new-majority-only", "--chaos --churn --nodes 5"},
    /* reads at followers; the minority side of a partition lags far behind once it hears
     * the leader again (seeds 1..10 all caught; isolate-one 3, delay 4, none 0) */
    {"follower-read-unapplied", "--duration 5s --read-at any --nemesis partition-random "
                                "--nemesis-interval 1s"},
    /* storage: the crash must fall after the snapshot file's syncs and before the WAL's, then
     * strike again after the restart: crash-point testing hits it at once (campaigns with
     * snapshots: about 1 seed in 100, chaos --churn --snapshot-every 25) */
    {"snapshot-seq-unsynced", "--crash-points"},
    /* removed nodes that never heard of it (down when removed) campaign after the heal at
     * ever higher terms; without pre-vote and check-quorum only the leader's lease keeps them
     * from deposing it: the disruption check sees the deposed leaders (7 of seeds 1..20) */
    {"leader-ignores-lease", "--faults churn:300ms,crash-one:1s --no-pre-vote --no-check-quorum"},
    /* host: a node must install snapshots while its own snapshot's file is written, twice,
     * then take one the forked way: frequent snapshots in the Raft-level chaos run */
    {"snapshot-bound-lost", "--chaos --nodes 5 --snapshot-every 10"},
    /* storage: WAL segments small enough to be deleted behind snapshots, and crashes aimed at
     * the directory's windows (an unlink not yet durable behind the rename): caught at seed 1 */
    {"wal-deleted-before-dir-sync", "--snapshot-every 5 --wal-segment 4096 --faults "
                                    "crash-unsynced:1s,crash-leader:300ms"},
    /* Paxos (docs/mutants.md has what else was tried). A deposed leader's ACCEPTs must reach
     * acceptors that promised higher while it still leads: a one-way cut keeps it sending
     * while its answers are lost */
    {"accept-below-promise", "--protocol paxos --nemesis one-way --nemesis-interval 1s"},
    {"ignore-promised-value", "--protocol paxos --nemesis mix --nemesis-interval 1s"},
    /* a crash must fall between an announced promise and its fsync: slow disks widen that
     * window, three nodes and frequent crashes make elections and crashes meet */
    {"promise-before-durable", "--protocol paxos --nodes 3 --slow-disks --nemesis "
                               "crash-minority --nemesis-interval 100ms"},
    /* a deposed leader must keep answering reads: a slow clock keeps it leading longer (the
     * read check catches it; with check-quorum and acceptors' leases there is no window
     * otherwise) */
    {"read-no-quorum", "--protocol paxos --duration 8s --nemesis isolate-leader-skew --drift "
                       "300000 --nemesis-interval 1s --op-timeout 50ms --clients 30"},
    /* gaps: ACCEPTs reordered on the way (a long delay, many clients in flight) when the
     * leader is cut off */
    {"skip-gap-fill", "--protocol paxos --nodes 3 --clients 50 --net-delay 5ms --nemesis "
                      "isolate-leader --nemesis-interval 300ms"},
    {"unsafe-quorums", "--protocol paxos --nemesis isolate-leader --nemesis-interval 1s"},
    /* the nodes' program order (kv_order.h): only pipelined connections have a read behind
     * a write of their own; caught at seed 1 from every start measured (docs/mutants.md) */
    {"read-ahead", "--duration 5s --pipeline 8 --nemesis partition-random --nemesis-interval 1s"},
    /* the replicas' kv (kv.h): the redis workload's sets, hashes and snapshots on replicas
     * with hash seeds of their own; the replica checks catch each at seed 1 */
    {"kv-pick-by-layout", "--workload redis --duration 5s --nemesis mix --nemesis-interval 1s"},
    {"kv-snapshot-layout", "--workload redis --duration 5s --snapshot-every 100"},
    {"kv-keep-empty", "--workload redis --duration 5s"},
};
#define DEFAULT_SPEC "--nemesis mix --nemesis-interval 1s"
#define KINDS_MAX    64

size_t mutants_catalogue(const mutant_kind **out)
{
    static mutant_kind kinds[KINDS_MAX];
    static size_t n;
    if (!n) {
        const fl_cons_protocol protocols[] = {FL_CONS_RAFT, FL_CONS_PAXOS};
        for (size_t p = 0; p < 2; p++) {
            const uint32_t *bits;
            size_t count = fl_cons_mutant_list(protocols[p], &bits);
            for (size_t i = 0; i < count && n < KINDS_MAX - 1; i++) {
                mutant_kind *k = &kinds[n++];
                k->protocol = protocols[p];
                k->bit = bits[i];
                k->name = fl_cons_mutant_name(protocols[p], bits[i]);
                snprintf(k->args, sizeof(k->args), "--mutant %s", k->name);
            }
        }
        /* q1 + q2 <= n is a setting, not a mutant of the code: 2 + 2 of 5 */
        kinds[n++] =
            (mutant_kind){FL_CONS_PAXOS, "unsafe-quorums", 0,
                          "--protocol paxos --nodes 5 --q1 2 --q2 2 --unsafe-quorums", false};
        const char *const *names;
        size_t count = fl_run_mutant_list(&names);
        for (size_t i = 0; i < count && n < KINDS_MAX; i++) {
            mutant_kind *k = &kinds[n++];
            *k = (mutant_kind){.protocol = FL_CONS_RAFT, .name = names[i], .kv_side = true};
            snprintf(k->args, sizeof(k->args), "--mutant %s", k->name);
        }
    }
    *out = kinds;
    return n;
}

const mutant_kind *mutants_find(const char *name)
{
    const mutant_kind *k;
    size_t n = mutants_catalogue(&k);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k[i].name, name))
            return &k[i];
    return NULL;
}

#define ARGS_MAX 64

const char *mutants_spec(const char *name)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (!strcmp(specs[i].name, name))
            return specs[i].spec;
    return DEFAULT_SPEC;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The words of "sim <spec> [--fixed] [what plants the bug] --seeds A..B": sim_opts keeps pointers
 * to them, so they live as long as the campaign. */
typedef struct spec_args {
    char text[640], seeds[64];
    char *argv[ARGS_MAX];
    int argc;
} spec_args;

/* Parses the campaign of spec (tuned: exactly the options of spec for every seed; else the
 * default campaign, a swarm) with what plants bug k (NULL: the control) as `faultline sim`
 * would. */
static int build_opts(const mutants_opts *mo, const char *spec, bool tuned, const mutant_kind *k,
                      uint64_t last, spec_args *a, sim_opts *o)
{
    snprintf(a->text, sizeof(a->text), "%s %s", spec, k ? k->args : "");
    snprintf(a->seeds, sizeof(a->seeds), "%llu..%llu", (unsigned long long)mo->first_seed,
             (unsigned long long)last);
    a->argc = 0;
    a->argv[a->argc++] = "sim";
    for (char *save = NULL, *t = strtok_r(a->text, " ", &save); t && a->argc < ARGS_MAX - 6;
         t = strtok_r(NULL, " ", &save))
        a->argv[a->argc++] = t;
    if (tuned)
        a->argv[a->argc++] = "--fixed";
    a->argv[a->argc++] = "--seeds";
    a->argv[a->argc++] = a->seeds;
    a->argv[a->argc] = NULL;
    int rc = sim_opts_parse(o, a->argc, a->argv);
    if (rc)
        fprintf(stderr, "faultline mutants: bad campaign spec '%s'\n", spec);
    o->jobs = mo->jobs;
    o->quiet = true;
    return rc;
}

/* ---- reading the records: the lowest violating seed -------------------------------------- */

typedef struct hunt {
    uint64_t first, count;
    uint8_t *done;  /* done[seed - first] */
    uint64_t below; /* every seed in [first, first + below) is done */
    bool found;
    uint64_t seed;
    char what[720], invariant[256], repro[2048];
    uint64_t stale_reads;
    bool stop_at_any; /* the control: any violation ends it */
} hunt;

/* Member key of object obj (node 0 is the root; a missing object gives nothing, as
 * fl_jr_get finds no key in a non-object). */
static void str_at(const fl_jr_doc *d, uint32_t obj, const char *key, char *out, size_t cap)
{
    out[0] = 0;
    uint32_t n = fl_jr_get(d, obj, key);
    if (n != FL_JR_NONE)
        fl_jr_str(d, n, out, cap, NULL);
}

static uint64_t uint_at(const fl_jr_doc *d, uint32_t obj, const char *key)
{
    uint32_t n = fl_jr_get(d, obj, key);
    int64_t v = 0;
    if (n == FL_JR_NONE || fl_jr_int(d, n, &v) || v < 0)
        return 0;
    return (uint64_t)v;
}

static bool hunt_record(void *ctx, const char *line, size_t len)
{
    hunt *h = ctx;
    static fl_jr_node nodes[256];
    fl_jr_doc d;
    if (fl_jr_parse(&d, line, len, nodes, 256) || d.nodes[0].type != FL_JR_OBJECT)
        return false; /* not a record: ignore it (campaign.c reports those) */
    uint64_t seed = uint_at(&d, 0, "seed");
    if (seed < h->first || seed - h->first >= h->count)
        return false;
    h->done[seed - h->first] = 1;
    while (h->below < h->count && h->done[h->below])
        h->below++;
    uint32_t verdict = fl_jr_get(&d, 0, "verdict");
    uint32_t viol = verdict == FL_JR_NONE ? FL_JR_NONE : fl_jr_get(&d, verdict, "violation");
    if (viol != FL_JR_NONE && d.nodes[viol].type == FL_JR_TRUE && (!h->found || seed < h->seed)) {
        h->found = true;
        h->seed = seed;
        str_at(&d, verdict, "summary", h->what, sizeof(h->what));
        str_at(&d, verdict, "invariant_violation", h->invariant, sizeof(h->invariant));
        str_at(&d, 0, "reproduce", h->repro, sizeof(h->repro));
        uint32_t obs = fl_jr_get(&d, 0, "observed");
        h->stale_reads = obs == FL_JR_NONE ? 0 : uint_at(&d, obs, "stale_reads");
    } else if (viol == FL_JR_NONE) {
        fprintf(stderr, "faultline mutants: seed %llu did not run: %.200s\n",
                (unsigned long long)seed, line);
    }
    if (h->found && h->stop_at_any)
        return true;
    /* the lowest violating seed is known once every seed below it is done */
    return h->found && h->first + h->below >= h->seed;
}

/* Runs seeds first..last of o's campaign until the hunt ends. Returns workers that died. */
static int hunt_run(const sim_opts *o, hunt *h)
{
    h->first = o->seed_first;
    h->count = o->seed_last - o->seed_first + 1;
    h->done = calloc((size_t)h->count, 1);
    if (!h->done)
        return -1;
    int died = campaign_for_each(o, hunt_record, h, h->count);
    free(h->done);
    h->done = NULL;
    return died;
}

/* "safety: leader completeness: node ..." -> "leader completeness"; else the kind. */
static void classify(const hunt *h, char *out, size_t cap)
{
    if (h->invariant[0]) {
        size_t n = strcspn(h->invariant, ":");
        snprintf(out, cap, "%.*s", (int)n, h->invariant);
    } else if (!strncmp(h->what, "split brain", 11)) {
        snprintf(out, cap, "split brain");
    } else if (!strncmp(h->what, "not linearizable", 16)) {
        snprintf(out, cap, "linearizability");
    } else if (!strncmp(h->what, "liveness", 8)) {
        snprintf(out, cap, "liveness");
    } else if (!strncmp(h->what, "disruption", 10)) {
        snprintf(out, cap, "disruption");
    } else if (!strncmp(h->what, "crash", 5)) {
        snprintf(out, cap, "crash (assertion)");
    } else {
        snprintf(out, cap, "other");
    }
}

/* One hunt of bug k (tuned: its spec; else the swarm) and its control. */
static int hunt_one(const mutants_opts *mo, const mutant_kind *k, bool tuned, mutant_hunt *out)
{
    memset(out, 0, sizeof(*out));
    out->ran = true;
    out->spec = tuned ? mutants_spec(k->name) : "";
    double t0 = now_s();
    sim_opts o;
    static spec_args args, control_args;
    uint64_t last = mo->first_seed + mo->max_seeds - 1;
    if (build_opts(mo, out->spec, tuned, k, last, &args, &o))
        return FL_EXIT_SOFTWARE; /* a spec of the catalogue that does not parse */
    hunt h = {0};
    int crashes = hunt_run(&o, &h);
    out->crashes = crashes > 0 ? crashes : 0;
    out->detected = h.found;
    out->seeds_run = h.found ? h.seed - mo->first_seed + 1 : h.below;
    out->kv = !o.chaos && !o.crash_points;
    if (h.found) {
        sim_opts_world(&o, h.seed, &out->world);
        out->seed = h.seed;
        snprintf(out->what, sizeof(out->what), "%s", h.what);
        classify(&h, out->check, sizeof(out->check));
        out->stale_reads = h.stale_reads;
        snprintf(out->repro, sizeof(out->repro), "%s", h.repro);
    }
    if (h.found && mo->control) {
        sim_opts co;
        if (build_opts(mo, out->spec, tuned, NULL, h.seed, &control_args, &co))
            return FL_EXIT_SOFTWARE;
        hunt ch = {.stop_at_any = true};
        int died = hunt_run(&co, &ch);
        out->crashes += died > 0 ? died : 0;
        out->control_run = true;
        out->control_clean = !ch.found && died == 0;
        out->control_seed = ch.seed;
        snprintf(out->control_what, sizeof(out->control_what), "%s", ch.what);
    }
    out->wall_s = now_s() - t0;
    return 0;
}

int mutants_run_one(const mutants_opts *mo, const mutant_kind *k, mutant_result *out)
{
    memset(out, 0, sizeof(*out));
    out->bit = k->bit;
    out->name = k->name;
    out->protocol = k->kv_side ? "kv" : fl_cons_protocol_name(k->protocol);
    if (mo->tuned && hunt_one(mo, k, true, &out->tuned))
        return FL_EXIT_SOFTWARE;
    /* the swarm draws the protocol, pipelining and the redis workload too: every bug has the
     * generic hunt (a bug planted in one protocol's code makes its worlds run that protocol;
     * a kv-side one runs in whatever protocol the world drew) */
    if (mo->generic && hunt_one(mo, k, false, &out->generic))
        return FL_EXIT_SOFTWARE;
    return 0;
}
