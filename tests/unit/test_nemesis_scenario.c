/* test_nemesis_scenario.c: one scenario file run against real processes (`faultline nemesis
 * --scenario`, loopback proxy mode) and in the simulator (`faultline sim --scenario`):
 *
 *   - 3 faultline nodes, 6 s: crash-one of node 2 at 1 s for 1.5 s, node 1 cut off from
 *     [2, 3] at 3.5 s for 1.5 s, 6000 operations at most: exit 0, linearizable, each fault in
 * results.json and timeline.jsonl at its time on its nodes, DIR/scenario.yaml the run as it ran,
 * which the simulator runs too, as it runs the file itself (about 7 s)
 *   - a fault only the simulator has (loss) refused at its line and column, exit 2, nothing
 *     started (under a second)
 * Skipped without libyaml. */
#include "cli.h"
#include "test.h"

#include "faultline/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char scenario[] =
    "# a kill and a partition, real or simulated\n"
    "version: 1\n"
    "seed: 5\n"
    "duration: 6s\n"
    "cluster: {protocol: raft, nodes: 3}\n"
    "workload: {kind: register, clients: 4, keys: 3, op_timeout: 500ms, ops: 6000}\n"
    "faults:\n"
    "  schedule:\n"
    "    - {start: 1s, length: 1500ms, kind: crash-one, targets: [2]}\n"
    "    - {start: 3500ms, length: 1500ms, kind: partition-halves, targets: [[1], [2, 3]]}\n"
    "checks: {linearizability: true, timeout: 30s, liveness: 5s}\n";

static void tmpdir(char *out, size_t size)
{
    snprintf(out, size, "/tmp/fl-test-nemsc-XXXXXX");
    CHECK(mkdtemp(out) != NULL);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int faultline(const char *dir, const char *args)
{
    char out[300];
    snprintf(out, sizeof(out), "%s/out.txt", dir);
    int rc = fl_test_faultline_run(args, out);
    FILE *f = fopen(out, "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) /* shown: the test's log tells what happened */
        if (strstr(line, "verdict") || strstr(line, "faultline"))
            printf("  %s", line);
    if (f)
        fclose(f);
    return rc;
}

/* The start and end (ns) of fault `what` ("kill n2") in DIR/timeline.jsonl; false: none. */
static bool timeline_fault(const char *dir, const char *what, double *start, double *end)
{
    char path[300], line[512], needle[80];
    snprintf(path, sizeof(path), "%s/timeline.jsonl", dir);
    snprintf(needle, sizeof(needle), "\"fault\":\"%s\"", what);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned long long s, e;
        char *p = strstr(line, needle);
        if (p && sscanf(line, "{\"time_ns\":%llu", &s) == 1 &&
            sscanf(p + strlen(needle), ",\"end_ns\":%llu", &e) == 1) {
            *start = (double)s / 1e9;
            *end = (double)e / 1e9;
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* A fault began within its first half second (the loop's timers under load) and lasted its
 * length. */
static void at_time(const char *dir, const char *what, double start, double length)
{
    double s = 0, e = 0;
    bool found = timeline_fault(dir, what, &s, &e);
    if (!found || s < start || s > start + 0.5 || e - s < length - 0.01 || e - s > length + 0.5)
        printf("  %s: found %d, %.3f s .. %.3f s; wanted %.3f s for %.3f s\n", what, found, s, e,
               start, length);
    CHECK(found);
    CHECK(s >= start && s <= start + 0.5);
    CHECK(e - s >= length - 0.01 && e - s <= length + 0.5);
}

TEST(nemesis_scenario_kill_and_partition_at_their_times)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    char dir[64], path[300], args[900];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/s.yaml", dir);
    put(path, scenario);
    snprintf(args, sizeof(args), "nemesis --scenario %s/s.yaml --out %s/real", dir, dir);
    CHECK_EQ(faultline(dir, args), 0);
    char real[128];
    snprintf(real, sizeof(real), "%s/real", dir);
    snprintf(path, sizeof(path), "%s/results.json", real);
    CHECK(fl_test_file_has(path, "\"linearizability\": \"linearizable\""));
    CHECK(fl_test_file_has(path, "\"planned_start_ns\": 1000000000"));
    CHECK(fl_test_file_has(path, "\"planned_start_ns\": 3500000000"));
    unsigned long long invoked = 0;
    FILE *f = fopen(path, "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        sscanf(line, " \"ops_invoked\": %llu", &invoked);
    if (f)
        fclose(f);
    CHECK(invoked > 0 && invoked <= 6000); /* the file's ops: about 15000 without it */
    at_time(real, "kill n2", 1.0, 1.5);
    at_time(real, "halves n1", 3.5, 1.5);
    /* the run as it ran: the same faults, which the simulator runs as well */
    snprintf(path, sizeof(path), "%s/scenario.yaml", real);
    CHECK(fl_test_file_has(path, "{start: 1s, length: 1500ms, kind: crash-one, targets: [2]}"));
    CHECK(fl_test_file_has(path, "kind: partition-halves, targets: [[1], [2, 3]]}"));
    snprintf(args, sizeof(args), "sim --scenario %s/real/scenario.yaml --out %s/sim2", dir, dir);
    CHECK_EQ(faultline(dir, args), 0);
    /* the file itself in the simulator: the same run as the one the real run wrote */
    snprintf(args, sizeof(args), "sim --scenario %s/s.yaml --out %s/sim", dir, dir);
    CHECK_EQ(faultline(dir, args), 0);
    snprintf(args, sizeof(args), "cmp -s %s/sim/history.jsonl %s/sim2/history.jsonl", dir, dir);
    CHECK_EQ(system(args), 0);
    snprintf(path, sizeof(path), "%s/sim/results.json", dir);
    CHECK(fl_test_file_has(path, "\"linearizability\": \"linearizable\""));
    snprintf(args, sizeof(args), "rm -rf %s", dir);
    CHECK_EQ(system(args), 0);
}

TEST(nemesis_scenario_refuses_a_simulator_only_fault_at_its_line)
{
    SKIP_UNLESS(fl_scenario_readable(), "built without libyaml (scenario files)");
    char dir[64], path[300], args[600];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/s.yaml", dir);
    char text[sizeof(scenario) + 64];
    snprintf(text, sizeof(text), "%s", scenario);
    char *at = strstr(text, "kind: crash-one, targets: [2]");
    CHECK(at != NULL);
    if (at)
        memcpy(at, "kind: loss, p: 0.3           ", 29); /* line 9, the fault at column 7 */
    put(path, text);
    snprintf(args, sizeof(args), "nemesis --scenario %s/s.yaml --out %s/real", dir, dir);
    CHECK_EQ(faultline(dir, args), 2);
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    CHECK(fl_test_file_has(path, "s.yaml:9:7: faults.schedule[0]: loss: no real counterpart"));
    snprintf(path, sizeof(path), "%s/real/results.json", dir);
    CHECK(!fl_test_file_has(path, "{"));
    snprintf(path, sizeof(path), "%s/real/n1.log", dir);
    CHECK(!fl_test_file_has(path, "faultline")); /* no node started */
    snprintf(args, sizeof(args), "rm -rf %s", dir);
    CHECK_EQ(system(args), 0);
}
