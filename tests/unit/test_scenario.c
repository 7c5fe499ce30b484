/* test_scenario.c: scenario files (scenario.h): a file read into the run it describes, bad
 * files refused with file, line and column and what is wrong, and the writer's output read
 * back to the same scenario. Skipped without libyaml (the build then refuses to read one:
 * checked too). */
#include "test.h"

#include "faultline/error.h"
#include "faultline/scenario.h"

#include <string.h>

static const char good[] = "version: 1\n"
                           "seed: 42\n"
                           "duration: 3s\n"
                           "cluster: {nodes: 3, read_mode: lease, pre_vote: false, "
                           "snapshot_phases: false, snapshot_fork: false, sync_inline: true, "
                           "batch: 4096, inflight: 2, sends_at_batch_end: true, overlap_min: 64, "
                           "uncommitted_max: 8192, entry_bytes_max: 2097152}\n"
                           "disk: {wal_segment_bytes: 4096}\n"
                           "workload:\n"
                           "  kind: kv\n"
                           "  clients: 4\n"
                           "  keys: 2\n"
                           "  value_size: 64\n"
                           "  ops: 500\n"
                           "faults:\n"
                           "  schedule:\n"
                           "    - {start: 500ms, length: 1s, kind: crash-one, targets: [2]}\n"
                           "    - {start: 1s, length: 500ms, kind: loss, p: 0.25}\n"
                           "    - {start: 2s, length: 1s, kind: partition-halves, "
                           "targets: [[1], [2, 3]]}\n"
                           "checks: {linearizability: false}\n";

TEST(scenario_without_libyaml_is_refused_naming_the_package)
{
    if (fl_scenario_readable())
        return; /* this build reads them: the other tests cover it */
    fl_scenario s;
    char err[FL_SCENARIO_ERR_MAX];
    CHECK_EQ(fl_scenario_parse(&s, "x.yaml", good, strlen(good), err, sizeof(err)),
             FL_EUNSUPPORTED);
    CHECK(strstr(err, "libyaml-dev") != NULL);
    fl_scenario_free(&s);
}

TEST(scenario_file_describes_the_run)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fl_scenario s;
    char err[FL_SCENARIO_ERR_MAX] = "";
    int rc = fl_scenario_parse(&s, "good.yaml", good, strlen(good), err, sizeof(err));
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(s.run.seed, 42u);
    CHECK_EQ(s.run.duration_ns, 3 * FL_NS_PER_S);
    CHECK_EQ(s.run.nodes, 3u);
    CHECK_EQ(s.run.read_mode, FL_RUN_READ_LEASE);
    CHECK(s.run.no_pre_vote);
    CHECK(s.run.snapshot_in_step);
    CHECK(s.run.snapshot_sync);
    CHECK(s.run.sync_inline);
    CHECK_EQ(s.run.batch_entries, 4096u);
    CHECK_EQ(s.run.inflight, 2u);
    CHECK(s.run.sends_at_batch_end);
    CHECK_EQ(s.run.overlap_min, 64u);
    CHECK_EQ(s.run.uncommitted_max, 8192u);
    CHECK_EQ(s.run.entry_bytes_max, 2097152u);
    CHECK_EQ(s.run.workload, FL_RUN_KV);
    CHECK_EQ(s.run.clients, 4u);
    CHECK_EQ(s.run.keys, 2u);
    CHECK_EQ(s.run.value_size, 64u);
    CHECK_EQ(s.run.ops_max, 500u);
    CHECK(!s.check_lin);
    CHECK(s.explicit_schedule);
    CHECK_EQ(s.n_faults, 3u);
    CHECK_EQ(s.faults[0].spec.kind, FL_NEMESIS_CRASH_ONE);
    CHECK_EQ(s.faults[0].spec.start_ns, 500 * FL_NS_PER_MS);
    CHECK_EQ(s.faults[0].spec.nodes, 1u << 2);
    CHECK(s.faults[0].spec.set & FL_RUN_SPEC_TARGETS);
    CHECK_EQ(s.faults[1].spec.kind, FL_NEMESIS_LOSS);
    CHECK(s.faults[1].spec.p == 0.25);
    CHECK(!(s.faults[1].spec.set & FL_RUN_SPEC_TARGETS)); /* left to the run */
    CHECK_EQ(s.faults[2].spec.side[1], 1);
    CHECK_EQ(s.faults[2].spec.side[2], 2);
    CHECK_EQ(s.faults[2].spec.side[3], 2);
    CHECK_EQ(s.faults[2].line, 16u);
    CHECK_EQ(fl_scenario_for_sim(&s, err, sizeof(err)), 0);
    CHECK_EQ(s.run.n_schedule, 3u);
    fl_scenario_free(&s);
}

/* Each bad file is refused with the place (name:line:col) and the words that say what. */
TEST(scenario_bad_files_are_refused_with_file_line_and_column)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const struct {
        const char *text, *want1, *want2;
    } bad[] = {
        {"version: 1\nseed: 3\nbogus: 1\n", "bad.yaml:3:1:", "unknown key 'bogus'"},
        {"version: 1\ncluster:\n  nodes: lots\n", "bad.yaml:3:10: cluster.nodes",
         "not a whole number"},
        {"version: 1\ncluster:\n  nodes: 40\n", "bad.yaml:3:10:", "out of range 1..16"},
        {"version: 1\nseed: [1\n", "bad.yaml:3:1:", "YAML:"},
        {"seed: 1\nseed: 2\n", "bad.yaml:2:1:", "'seed' given twice"},
        {"", "bad.yaml", "empty"},
        {"version: 7\n", "bad.yaml:1:10:", "version"},
        {"version: 1\nduration: soon\n", "bad.yaml:2:11: duration", ""},
        {"version: 1\nworkload: {reads: 80, cas: 40}\n", "bad.yaml", "100"},
        {"version: 1\nfaults:\n  schedule:\n    - {start: 1s, length: 1s, kind: gremlins}\n",
         "bad.yaml:4:", "gremlins"},
        {"version: 1\nfaults:\n  schedule:\n    - {start: 1s, length: 1s, kind: loss, p: 2}\n",
         "bad.yaml:4:", "p"},
        {"version: 1\nseed: &a 1\n", "bad.yaml:2:7:", "anchors"},
        {"version: 1\ncluster: [1, 2]\n", "bad.yaml:2:10: cluster", "expected a mapping"},
        {"version: 1\n---\nversion: 1\n", "bad.yaml:3:1:", "one per file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_scenario s;
        char err[FL_SCENARIO_ERR_MAX] = "";
        int rc =
            fl_scenario_parse(&s, "bad.yaml", bad[i].text, strlen(bad[i].text), err, sizeof(err));
        if (rc == 0) /* some are impossible only for the simulator */
            rc = fl_scenario_for_sim(&s, err, sizeof(err));
        bool ok = rc == FL_ECONFIG && strstr(err, bad[i].want1) && strstr(err, bad[i].want2);
        if (!ok)
            fprintf(stderr, "  case %zu: rc %d, '%s'\n", i, rc, err);
        CHECK(ok);
        fl_scenario_free(&s);
    }
}

/* In the simulator, impossible schedules are refused with the fault's place. */
TEST(scenario_schedule_the_simulator_cannot_run_is_refused_at_its_fault)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"version: 1\nfaults:\n  schedule:\n    - {start: 1s, length: 1s, kind: crash-one, "
         "targets: [9]}\n",
         "bad.yaml:4:7: faults.schedule[0]: a target is not a node"},
        {"version: 1\nfaults:\n  schedule:\n    - {start: 1s, length: 1s, kind: restart, "
         "targets: [1]}\n",
         "bad.yaml:4:7: faults.schedule[0]: restart exists only against real processes"},
        {"version: 1\nduration: 2s\nfaults:\n  schedule:\n    - {start: 3s, length: 1s, kind: "
         "crash-one}\n",
         "bad.yaml:5:7: faults.schedule[0]: it starts at or after the end of the run"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_scenario s;
        char err[FL_SCENARIO_ERR_MAX] = "";
        int rc =
            fl_scenario_parse(&s, "bad.yaml", bad[i].text, strlen(bad[i].text), err, sizeof(err));
        if (rc == 0)
            rc = fl_scenario_for_sim(&s, err, sizeof(err));
        if (rc != FL_ECONFIG || !strstr(err, bad[i].want))
            fprintf(stderr, "  case %zu: rc %d, '%s'\n", i, rc, err);
        CHECK_EQ(rc, FL_ECONFIG);
        CHECK(strstr(err, bad[i].want) != NULL);
        fl_scenario_free(&s);
    }
}

/* What the writer writes reads back to a scenario that writes the same text again. */
TEST(scenario_write_reads_back_the_same)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    fl_scenario s, back;
    char err[FL_SCENARIO_ERR_MAX] = "";
    CHECK_EQ(fl_scenario_parse(&s, "good.yaml", good, strlen(good), err, sizeof(err)), 0);
    fl_buf a, b;
    fl_buf_init(&a);
    fl_buf_init(&b);
    CHECK_EQ(fl_scenario_write(&s, "first", &a), 0);
    int rc = fl_scenario_parse(&back, "back.yaml", (const char *)a.data, a.len, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(fl_scenario_write(&back, "first", &b), 0);
    CHECK_EQ(a.len, b.len);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK_EQ(back.n_faults, 3u);
    CHECK(back.faults[1].spec.p == 0.25);
    CHECK_EQ(back.run.ops_max, 500u);
    CHECK(back.run.sends_at_batch_end); /* the server's flow control, as a swarm world draws it */
    CHECK_EQ(back.run.overlap_min, 64u);
    CHECK_EQ(back.run.wal_segment_bytes, 4096u); /* a swarm world's small WAL segments */
    CHECK_EQ(back.run.uncommitted_max, 8192u);   /* the server's leader bounds */
    CHECK_EQ(back.run.entry_bytes_max, 2097152u);
    fl_buf_free(&a);
    fl_buf_free(&b);
    fl_scenario_free(&s);
    fl_scenario_free(&back);
}

/* Keys that joined later are written only when set: a scenario of the defaults is the text
 * older builds wrote and read. */
TEST(scenario_write_leaves_out_the_later_keys_at_their_defaults)
{
    fl_scenario s;
    memset(&s, 0, sizeof(s));
    fl_run_config_default(&s.run);
    fl_buf a;
    fl_buf_init(&a);
    CHECK_EQ(fl_scenario_write(&s, NULL, &a), 0);
    fl_buf_put_u8(&a, 0); /* a terminating 0 past the text */
    const char *text = (const char *)a.data;
    CHECK(strstr(text, "cluster:") != NULL);
    const char *later[] = {"sends_at_batch_end", "overlap_min", "wal_segment_bytes",
                           "uncommitted_max", "entry_bytes_max"};
    for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
        CHECK(strstr(text, later[i]) == NULL);
    fl_buf_free(&a);
}
