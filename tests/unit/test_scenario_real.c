/* test_scenario_real.c: a scenario as a real run (fl_scenario_for_nemesis): each fault with a
 * real counterpart becomes the nemesis's fault at the same start and length with the same
 * targets (partitions as the same cut links as the simulator's shapes, clock faults one per
 * node); what real processes lack is refused at its line and column; what the nemesis chose
 * at run time goes back into the scenario. No process is started (the real runs are
 * test_nemesis_scenario.c's). Skipped without libyaml. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/scenario.h"
#include "faultline/sim.h"

#include <string.h>

static fl_nem_fault out[64];
static uint32_t origin[64];

/* Parses text and maps it; returns the mapping's status (err has the message). */
static int map(fl_scenario *s, fl_nem_config *c, const char *text, size_t *n, char *err)
{
    fl_nem_config_default(c);
    int rc = fl_scenario_parse(s, "t.yaml", text, strlen(text), err, FL_SCENARIO_ERR_MAX);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        return 1000 + rc;
    }
    return fl_scenario_for_nemesis(s, c, out, origin, 64, n, err, FL_SCENARIO_ERR_MAX);
}

static bool cut(const fl_nem_fault *f, uint32_t a, uint32_t b)
{
    return (f->cut[a - 1] >> (b - 1)) & 1;
}

TEST(scenario_real_faults_at_their_times_on_their_targets)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const char text[] =
        "seed: 4\nduration: 10s\n"
        "cluster: {nodes: 3, read_mode: lease, lease_drift_ppm: 300, snapshot_every: 50, "
        "check_quorum: false, mutants: [read-no-confirm]}\n"
        "workload: {kind: kv, clients: 7, rate: 0, keys: 9, reads: 30, cas: 10, value_size: 40, "
        "op_timeout: 250ms, ops: 77}\n"
        "faults:\n  schedule:\n"
        "    - {start: 1s, length: 500ms, kind: crash-one, targets: [2]}\n"
        "    - {start: 2s, length: 1s, kind: partition-halves, targets: [[1], [2, 3]]}\n"
        "    - {start: 3s, length: 1s, kind: bridge, targets: [3]}\n"
        "    - {start: 4s, length: 1s, kind: one-way, targets: {from: 2, to: 3}}\n"
        "    - {start: 5s, length: 1s, kind: pause}\n"
        "    - {start: 6s, length: 1s, kind: clock-offset, offsets: [0ms, 20ms, -1s]}\n"
        "    - {start: 7s, length: 1s, kind: delay, delay: 30ms, jitter: 5ms}\n"
        "    - {start: 8s, length: 1s, kind: throttle, targets: [1, 3], rate: 1000}\n"
        "    - {start: 9s, length: 1s, kind: crash-leader}\n"
        "checks: {linearizability: false, liveness: 7s}\n";
    fl_scenario s;
    fl_nem_config c;
    char err[FL_SCENARIO_ERR_MAX] = "";
    size_t n = 0;
    CHECK_EQ(map(&s, &c, text, &n, err), 0);
    CHECK_EQ(c.nodes, 3u);
    CHECK_EQ(c.seed, 4u);
    CHECK_EQ(c.duration_ns, 10 * FL_NS_PER_S);
    CHECK_EQ(c.liveness_ns, 7 * FL_NS_PER_S);
    CHECK_EQ(c.workload, FL_RUN_KV);
    CHECK_EQ(c.clients, 7u);
    CHECK_EQ(c.keys, 9u);
    CHECK(c.sim_mix && c.reads_pct == 30 && c.other_pct == 10);
    CHECK_EQ(c.value_size, 40u);
    CHECK_EQ(c.ops_max, 77u);
    CHECK_EQ(c.op_timeout_ns, 250 * FL_NS_PER_MS);
    CHECK_STR(c.node_args, "--protocol raft --read-mode lease --max-drift-ppm 300 "
                           "--snapshot-every 50 --check-quorum off --mutant read-no-confirm");
    CHECK_EQ(n, 10u); /* the clock fault: nodes 2 and 3 (node 1's offset is 0) */
    static const fl_nem_kind kinds[] = {
        FL_NEM_KILL,  FL_NEM_HALVES, FL_NEM_BRIDGE, FL_NEM_ONE_WAY,  FL_NEM_PAUSE,
        FL_NEM_CLOCK, FL_NEM_CLOCK,  FL_NEM_DELAY,  FL_NEM_THROTTLE, FL_NEM_KILL};
    static const uint32_t from[] = {0, 1, 2, 3, 4, 5, 5, 6, 7, 8};
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(out[i].kind, kinds[i]);
        CHECK_EQ(origin[i], from[i]);
        CHECK_EQ(out[i].start_ns, (from[i] + 1) * FL_NS_PER_S);
        CHECK_EQ(out[i].length_ns, from[i] ? FL_NS_PER_S : 500 * FL_NS_PER_MS);
    }
    CHECK_EQ(out[0].nodes_mask, 2u); /* node 2 */
    /* [[1], [2, 3]]: node 1 cut off both ways, 2 and 3 talk */
    CHECK(cut(&out[1], 1, 2) && cut(&out[1], 2, 1) && cut(&out[1], 1, 3) && cut(&out[1], 3, 1));
    CHECK(!cut(&out[1], 2, 3) && !cut(&out[1], 3, 2));
    /* bridge 3: 1 and 2 do not talk, 3 talks to both */
    CHECK(cut(&out[2], 1, 2) && cut(&out[2], 2, 1) && !cut(&out[2], 1, 3) && !cut(&out[2], 3, 2));
    /* one-way 2 -> 3 only */
    CHECK(cut(&out[3], 2, 3) && !cut(&out[3], 3, 2) && !cut(&out[3], 2, 1));
    CHECK_EQ(out[4].who, FL_NEM_WHO_RANDOM);
    CHECK_EQ(out[4].nodes_mask, 0u);
    CHECK(out[5].nodes_mask == 2u && out[5].clock_offset_ns == 20 * (int64_t)FL_NS_PER_MS);
    CHECK(out[6].nodes_mask == 4u && out[6].clock_offset_ns == -(int64_t)FL_NS_PER_S);
    CHECK(out[7].delay_ns == 30 * FL_NS_PER_MS && out[7].jitter_ns == 5 * FL_NS_PER_MS);
    CHECK_EQ(out[7].who, FL_NEM_WHO_ALL);
    CHECK(out[8].nodes_mask == 5u && out[8].rate_bps == 1000);
    CHECK(out[9].who == FL_NEM_WHO_LEADER && out[9].nodes_mask == 0);
    /* what the run chose goes back: the pause hit node 3, the leader was node 1 */
    fl_nem_fault_log log[10];
    memset(log, 0, sizeof(log));
    log[4].targets_mask = 4;
    log[9].targets_mask = 1;
    fl_scenario_nemesis_ran(&s, log, origin, n);
    CHECK(s.faults[4].spec.set & FL_RUN_SPEC_TARGETS);
    CHECK_EQ(s.faults[4].spec.nodes, 1u << 3);
    CHECK_EQ(s.faults[8].spec.nodes, 1u << 1);
    CHECK_EQ(s.faults[0].spec.nodes, 1u << 2); /* given: kept */
    fl_scenario_free(&s);
}

TEST(scenario_real_generator_and_chosen_shapes)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const char text[] = "seed: 8\nduration: 9s\ncluster: {nodes: 5}\n"
                               "faults: {generate: partition-random, interval: 2s}\n";
    fl_scenario s;
    fl_nem_config c;
    char err[FL_SCENARIO_ERR_MAX] = "";
    size_t n = 0;
    CHECK_EQ(map(&s, &c, text, &n, err), 0);
    CHECK_EQ(n, 2u); /* [2s, 4s) and [6s, 8s): calm first, then every other interval */
    CHECK_EQ(s.n_faults, 2u);
    CHECK(s.explicit_schedule);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(out[i].start_ns, (2 + 4 * i) * FL_NS_PER_S);
        CHECK_EQ(out[i].length_ns, 2 * FL_NS_PER_S);
        CHECK_EQ(out[i].kind, FL_NEM_HALVES);
        /* the sides chosen now are written into the scenario and are the links cut */
        const fl_run_fault_spec *sp = &s.faults[i].spec;
        CHECK(sp->set & FL_RUN_SPEC_TARGETS);
        uint32_t ones = 0;
        for (uint32_t a = 1; a <= 5; a++) {
            ones += sp->side[a] == 1;
            for (uint32_t b = 1; b <= 5; b++)
                if (a != b)
                    CHECK_EQ(cut(&out[i], a, b), sp->side[a] != sp->side[b]);
        }
        CHECK(ones == 2 || ones == 3);
    }
    /* the same file maps the same way (the shapes come from the seed) */
    fl_nem_fault first = out[0];
    fl_scenario s2;
    CHECK_EQ(map(&s2, &c, text, &n, err), 0);
    CHECK(!memcmp(first.cut, out[0].cut, sizeof(first.cut)));
    fl_scenario_free(&s2);
    fl_scenario_free(&s);
}

/* text's mapping is refused with where (file:line:col) and why in the message. */
static void refused(const char *text, const char *where, const char *why)
{
    fl_scenario s;
    fl_nem_config c;
    char err[FL_SCENARIO_ERR_MAX] = "";
    size_t n = 0;
    CHECK_EQ(map(&s, &c, text, &n, err), FL_EUNSUPPORTED);
    if (!strstr(err, where) || !strstr(err, why))
        fprintf(stderr, "  wanted '%s' and '%s' in: %s\n", where, why, err);
    CHECK(strstr(err, where) != NULL);
    CHECK(strstr(err, why) != NULL);
    fl_scenario_free(&s);
}

TEST(scenario_real_refuses_what_real_processes_lack_at_its_place)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const struct {
        const char *kind, *why;
    } sim_only[] = {{"loss, p: 0.1", "TCP"},   {"dup", "TCP"},
                    {"transfer", "transfer"},  {"crash-unsynced", "page cache"},
                    {"slow-disk", "shim"},     {"isolate-leader-skew", "side by side"},
                    {"leader-flap", "elected"}};
    for (size_t i = 0; i < sizeof(sim_only) / sizeof(sim_only[0]); i++) {
        char text[400];
        snprintf(text, sizeof(text),
                 "duration: 5s\nfaults:\n  schedule:\n"
                 "    - {start: 1s, length: 1s, kind: pause}\n"
                 "    - {start: 2s, length: 1s, kind: %s}\n",
                 sim_only[i].kind);
        refused(text, "t.yaml:5:7: faults.schedule[1]", sim_only[i].why);
    }
    refused("seed: 1\ncluster:\n  nodes: 3\n  read_at: any\n", "t.yaml:4:3: cluster.read_at",
            "leader");
    refused("cluster: {nodes: 11}\n", "t.yaml:1:11: cluster.nodes", "at most 9");
    refused("cluster: {pre_vote: false}\n", "t.yaml:1:11: cluster.pre_vote", "pre-vote");
    refused("cluster: {snapshot_phases: false}\n", "t.yaml:1:11: cluster.snapshot_phases",
            "own phases");
    refused("cluster: {snapshot_fork: false}\n", "t.yaml:1:11: cluster.snapshot_fork", "forks");
    refused("cluster: {sends_at_batch_end: true}\n", "t.yaml:1:11: cluster.sends_at_batch_end",
            "its own flow control");
    refused("cluster: {overlap_min: 64}\n", "t.yaml:1:11: cluster.overlap_min",
            "its own flow control");
    refused("cluster: {uncommitted_max: 8192}\n", "t.yaml:1:11: cluster.uncommitted_max",
            "no such option");
    refused("cluster: {entry_bytes_max: 2097152}\n", "t.yaml:1:11: cluster.entry_bytes_max",
            "no such option");
    refused("network: {delay: 5ms}\n", "t.yaml:1:11: network.delay", "loopback");
    refused("disk: {torn: 0.5}\n", "t.yaml:1:8: disk.torn", "page cache");
    refused("disk: {wal_segment_bytes: 4096}\n", "t.yaml:1:8: disk.wal_segment_bytes",
            "no such option");
    refused("workload: {start: 1s}\n", "t.yaml:1:12: workload.start", "measured phase");
    refused("workload: {pipeline: 4}\n", "t.yaml:1:12: workload.pipeline", "one command");
    refused("workload:\n  kind: redis\n", "t.yaml:2:3: workload.kind", "redis");
    refused("cluster: {protocol: paxos, q1: 2}\n", "t.yaml:1:28: cluster.q1", "majority");
    refused("cluster: {mutants: [kv-keep-empty]}\n", "t.yaml:1:11: cluster.mutants", "Raft's");
    refused("disk: {slow: true}\n", "t.yaml:1:8: disk.slow", "shim");
    refused("faults: {generate: flp, gst: 1s}\n", "t.yaml:1:25: faults.gst", "flp");
    refused("faults: {generate: partition-sides}\n", "t.yaml:1:10: faults.generate",
            "no real counterpart");
    refused("faults: {generate: mix, interval: 1s}\n", "t.yaml:1:10: faults.generate",
            "draws among kinds");
    refused("faults:\n  plan:\n    - {kind: pause}\n", "t.yaml:2:3: faults.plan", "lanes");
    refused("cluster: {nodes: 3}\nfaults:\n  schedule:\n"
            "    - {start: 1s, length: 1s, kind: crash-one, targets: [4]}\n",
            "t.yaml:4:7: faults.schedule[0]", "node 4 of a 3-node");
}

/* A run started from flags as a scenario (fl_scenario_from_nemesis), from a fault log made
 * here: rolling faults one per node and step, partitions by the links they cut (sides, the
 * simulator's bridge and ring, one-way), real-only kinds as they are, the nodes' arguments as
 * the cluster; what a scenario cannot say is refused with the reason. */
TEST(scenario_from_a_real_run_started_from_flags)
{
    fl_nem_config c;
    fl_nem_config_default(&c);
    c.nodes = 5;
    c.seed = 6;
    c.duration_ns = 20 * FL_NS_PER_S;
    snprintf(c.node_args, sizeof(c.node_args), "--read-mode lease --check-quorum off");
    fl_nem_fault_log log[6];
    memset(log, 0, sizeof(log));
    fl_nem_fault_default(&log[0].fault, FL_NEM_KILL); /* rolling over nodes 2 and 4 */
    log[0].fault.who = FL_NEM_WHO_ALL;
    log[0].fault.start_ns = 1 * FL_NS_PER_S;
    log[0].fault.length_ns = 2 * FL_NS_PER_S;
    log[0].targets_mask = 0xA;
    fl_nem_fault_default(&log[1].fault, FL_NEM_HALVES); /* [1, 2] | [3, 4, 5] */
    log[1].fault.start_ns = 4 * FL_NS_PER_S;
    log[1].fault.length_ns = FL_NS_PER_S;
    log[1].targets_mask = 3;
    for (uint32_t a = 1; a <= 5; a++)
        for (uint32_t b = 1; b <= 5; b++)
            if ((a <= 2) != (b <= 2))
                log[1].fault.cut[a - 1] |= (uint16_t)(1u << (b - 1));
    fl_nem_fault_default(&log[2].fault, FL_NEM_BRIDGE);
    log[2].fault.start_ns = 6 * FL_NS_PER_S;
    log[2].fault.length_ns = FL_NS_PER_S;
    log[2].targets_mask = 4;
    fl_sim_conn sc;
    fl_sim_conn_bridge(&sc, 5, 3);
    for (uint32_t a = 1; a <= 5; a++)
        for (uint32_t b = 1; b <= 5; b++)
            if (a != b && !fl_sim_conn_can(&sc, a, b))
                log[2].fault.cut[a - 1] |= (uint16_t)(1u << (b - 1));
    fl_nem_fault_default(&log[3].fault, FL_NEM_ONE_WAY); /* node 5's messages to 1 and 2 */
    log[3].fault.start_ns = 8 * FL_NS_PER_S;
    log[3].fault.length_ns = FL_NS_PER_S;
    log[3].targets_mask = 16;
    log[3].fault.cut[4] = 3;
    fl_nem_fault_default(&log[4].fault, FL_NEM_THROTTLE);
    log[4].fault.start_ns = 10 * FL_NS_PER_S;
    log[4].fault.length_ns = FL_NS_PER_S;
    log[4].fault.rate_bps = 999;
    log[4].targets_mask = 1;
    fl_nem_fault_default(&log[5].fault, FL_NEM_PAUSE); /* skipped: not said */
    log[5].skipped = true;
    fl_scenario s;
    char why[300] = "";
    int rc = fl_scenario_from_nemesis(&s, &c, true, 9 * FL_NS_PER_S, log, 6, why, sizeof(why));
    if (rc)
        fprintf(stderr, "  %s\n", why);
    CHECK_EQ(rc, 0);
    CHECK_EQ(s.run.nodes, 5u);
    CHECK_EQ(s.run.seed, 6u);
    CHECK_EQ(s.run.read_mode, FL_RUN_READ_LEASE);
    CHECK(s.run.no_check_quorum);
    CHECK_EQ(s.run.snapshot_every, 10000u); /* the server's default, said */
    CHECK_EQ(s.check_timeout_ns, 9 * FL_NS_PER_S);
    CHECK_EQ(s.n_faults, 7u); /* 2 kills, halves, bridge, 2 one-way links, throttle */
    const fl_scenario_fault *f = s.faults;
    CHECK(f[0].spec.kind == FL_NEMESIS_CRASH_ONE && f[0].spec.nodes == (1u << 2));
    CHECK(f[0].spec.start_ns == FL_NS_PER_S && f[0].spec.length_ns == FL_NS_PER_S);
    CHECK(f[1].spec.kind == FL_NEMESIS_CRASH_ONE && f[1].spec.nodes == (1u << 4));
    CHECK_EQ(f[1].spec.start_ns, 2 * FL_NS_PER_S);
    CHECK_EQ(f[2].spec.kind, FL_NEMESIS_PARTITION_HALVES);
    CHECK(f[2].spec.side[1] == f[2].spec.side[2] && f[2].spec.side[3] == f[2].spec.side[5]);
    CHECK(f[2].spec.side[1] != f[2].spec.side[3]);
    CHECK(f[3].spec.kind == FL_NEMESIS_BRIDGE && f[3].spec.nodes == (1u << 3));
    CHECK(f[4].spec.kind == FL_NEMESIS_ONE_WAY && f[4].spec.from == 5 && f[4].spec.to == 1);
    CHECK(f[5].spec.kind == FL_NEMESIS_ONE_WAY && f[5].spec.from == 5 && f[5].spec.to == 2);
    CHECK(f[6].real == FL_NEM_THROTTLE && f[6].nem.rate_bps == 999 && f[6].nem.nodes_mask == 1);
    /* written, it reads back (and the nemesis would run it: the mapping accepts it) */
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_scenario_write(&s, NULL, &b), 0);
    if (fl_scenario_readable()) {
        fl_scenario back;
        fl_nem_config c2;
        char err[FL_SCENARIO_ERR_MAX] = "";
        fl_buf_put_u8(&b, 0);
        size_t n = 0;
        CHECK_EQ(map(&back, &c2, (const char *)b.data, &n, err), 0);
        CHECK_EQ(n, 7u);
        CHECK(out[3].kind == FL_NEM_BRIDGE && !memcmp(out[3].cut, log[2].fault.cut, 10));
        fl_scenario_free(&back);
    }
    fl_buf_free(&b);
    fl_scenario_free(&s);
    /* what a scenario cannot say */
    snprintf(c.node_args, sizeof(c.node_args), "--election-ms 300");
    CHECK_EQ(fl_scenario_from_nemesis(&s, &c, true, 0, log, 6, why, sizeof(why)), FL_EUNSUPPORTED);
    CHECK(strstr(why, "--election-ms 300") != NULL);
    fl_scenario_free(&s);
    c.node_args[0] = 0;
    c.target = FL_NEM_TARGET_ETCD;
    CHECK_EQ(fl_scenario_from_nemesis(&s, &c, true, 0, log, 6, why, sizeof(why)), FL_EUNSUPPORTED);
    CHECK(strstr(why, "etcd") != NULL);
    fl_scenario_free(&s);
}
