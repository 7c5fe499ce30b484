/* test_cmd_check.c: `faultline check` end to end: verdicts and exit statuses on the files in
 * tests/data (JSON lines, EDN, an old Jepsen log), bad input (65, with file and line), usage
 * errors (64, naming the option and the value), --json and --html, the model inferred from
 * the ops, an empty history, --initial, --consistency, stopping at the first violating key,
 * and a pipelined history refuted only as a whole. The binary is found next to this test's build
 * directory (OUT/faultline); scratch files go to a directory of this process's own. */
#include "test.h"

#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char names[16][32], paths[16][128];

static void remove_scratch(void)
{
    for (int i = 0; i < 16 && names[i][0]; i++)
        unlink(paths[i]);
    rmdir(dir);
}

/* A scratch path of this process, /tmp/fl_check_PID/name (removed at exit); the same name
 * gives the same pointer (a few names only). */
static const char *tmp(const char *name)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), FL_TEST_TMP "/fl_check_%ld", (long)getpid());
        mkdir(dir, 0700);
        atexit(remove_scratch);
    }
    int i = 0;
    while (i < 16 && names[i][0] && strcmp(names[i], name))
        i++;
    CHECK(i < 16);
    if (!names[i][0]) {
        snprintf(names[i], sizeof(names[i]), "%s", name);
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, name);
    }
    return paths[i];
}

/* Runs faultline check ARGS with output to OUT; returns the exit status. */
static int run(const char *args)
{
    char full[8192];
    snprintf(full, sizeof(full), "check %s", args);
    return fl_test_faultline_run(full, tmp("out"));
}

static bool has(const char *needle)
{
    return fl_test_file_has(tmp("out"), needle);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

TEST(cmd_check_verdicts)
{
    CHECK_EQ(run("tests/data/stale_read.jsonl"), 1);
    CHECK(has("NOT LINEARIZABLE"));
    CHECK(has("p1 read -> 1 ok  (lines 5-6)"));
    CHECK_EQ(run("tests/data/jepsen_cas.edn --model cas-register"), 0);
    CHECK(has("LINEARIZABLE"));
    CHECK_EQ(run("tests/data/jepsen_cas_bad.edn --model cas-register --format edn"), 1);
    CHECK_EQ(run("tests/data/kv.jsonl --model kv --threads 2"), 0);
    CHECK(has("2 keys"));
    CHECK_EQ(fl_test_faultline_run("check - --model cas-register <tests/data/jepsen_cas_bad.edn",
                                   tmp("out")),
             1); /* stdin */
    CHECK_EQ(run("tests/data/jepsen_independent.edn --model cas-register --independent "
                 "--all-keys"),
             1);
    CHECK(has("2 keys"));
    CHECK(has("key \"2\""));
    CHECK_EQ(run("tests/data/jepsen_independent.edn --model cas-register"), 65);
}

/* An old Jepsen log (jepsen.util lines; :timed-out completions; a fifth column), found by its
 * content or named with --format. */
TEST(cmd_check_jepsen_log)
{
    CHECK_EQ(run("tests/data/jepsen_etcd_log.txt"), 0);
    CHECK(has("model cas-register, inferred from the operations"));
    CHECK(has("tests/data/jepsen_etcd_log.txt: 6 ops, 1 key, model cas-register, initial nil: "
              "LINEARIZABLE"));
    CHECK_EQ(run("tests/data/jepsen_etcd_log.txt --format jepsen-log --model cas-register"), 0);
    write_file(tmp("bad.log"), "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
                               "INFO  jepsen.core - noise\n"
                               "INFO  jepsen.util - 0\t:ok\t:write\t1\n"
                               "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
                               "INFO  jepsen.util - 1\t:ok\t:read\t2\n");
    char args[256];
    snprintf(args, sizeof(args), "%s", tmp("bad.log"));
    CHECK_EQ(run(args), 1);
    CHECK(has("p1 read -> 2 ok  (lines 4-5)"));
    write_file(tmp("bad.log"), "INFO  jepsen.util - 0\t:invoke\t:write\t[1\n");
    CHECK_EQ(run(args), 65);
    CHECK(has("bad.log:1: "));
}

TEST(cmd_check_json_and_html)
{
    CHECK_EQ(run("tests/data/stale_read.jsonl --json"), 1);
    CHECK(has("\"verdict\":\"not linearizable\""));
    CHECK(has("\"consistency\":\"linearizable\""));
    CHECK(has("\"blocked\":{\"index\":2"));
    char args[256];
    snprintf(args, sizeof(args), "tests/data/stale_read.jsonl --html %s", tmp("v.html"));
    CHECK_EQ(run(args), 1);
    const char *html = tmp("v.html");
    CHECK(fl_test_file_has(html, "<svg"));
    CHECK(fl_test_file_has(html, "no linearization extends past here"));
    CHECK(!fl_test_file_has(html, "<link")); /* self-contained */
    CHECK(!fl_test_file_has(html, "<script"));
    CHECK(!fl_test_file_has(html, "src="));
    snprintf(args, sizeof(args), "tests/data/stale_read.jsonl --html %s/no/such/dir/v.html", dir);
    CHECK_EQ(run(args), 73);
}

TEST(cmd_check_bad_input_and_usage)
{
    const char *bad = tmp("bad.jsonl");
    char args[256];
    snprintf(args, sizeof(args), "%s --model register", bad);
    write_file(bad, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                    "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\"s\"}\n"
                    "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n");
    CHECK_EQ(run(args), 65); /* ok without invoke, line 3 */
    CHECK(has("bad.jsonl:3: ok of process 1 without a pending invoke"));
    write_file(bad, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                    "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\"s\"}\n");
    CHECK_EQ(run(args), 65); /* a string in a register */
    CHECK(has("bad.jsonl:1: value of the wrong type"));
    write_file(bad, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"\n");
    CHECK_EQ(run(args), 65);
    CHECK(has(":1: column"));
    CHECK_EQ(run(""), 64);
    CHECK_EQ(run("tests/data/kv.jsonl --model nope"), 64);
    CHECK(has("bad value 'nope' for --model: expected register, cas-register or kv"));
    CHECK_EQ(run("tests/data/kv.jsonl --bogus"), 64);
    CHECK(has("unknown option '--bogus'"));
    CHECK_EQ(run("tests/data/kv.jsonl --timeout"), 64);
    CHECK(has("--timeout needs a value"));
    CHECK_EQ(run("tests/data/kv.jsonl --timeout 5x"), 64);
    CHECK(has("bad value '5x' for --timeout"));
    CHECK_EQ(run("tests/data/kv.jsonl --timeout 5s"), 0); /* durations with units */
    CHECK_EQ(run("tests/data/kv.jsonl --timeout 250ms --memory-max 64M"), 0);
    CHECK_EQ(run("tests/data/kv.jsonl --consistency eventual"), 64);
    CHECK(has("for --consistency: expected linearizable, sequential or both"));
    CHECK_EQ(run("tests/data/kv.jsonl --initial :x"), 64);
    CHECK(has("bad value ':x' for --initial"));
    CHECK_EQ(run("tests/data/stale_read.jsonl --initial '\"s\"'"), 64); /* not a register's */
    CHECK(has("--initial: the initial value of the register model must be an integer or nil"));
    CHECK_EQ(run("/nonexistent/file"), 66);
    CHECK(has("/nonexistent/file: cannot read: No such file or directory"));
    CHECK_EQ(run("tests/data/kv.jsonl --html /nonexistent/dir/x.html"), 73); /* before the check */
    CHECK(has("--html /nonexistent/dir/x.html: cannot write: No such file or directory"));
    CHECK(!has("LINEARIZABLE"));
    CHECK_EQ(run("--help"), 0);
}

/* The simulator writes histories without a model; the ops say which. */
TEST(cmd_check_model_inferred_and_empty_history)
{
    CHECK_EQ(run("tests/data/jepsen_cas.edn"), 0);
    CHECK(has("model cas-register, inferred from the operations (--model to override)"));
    CHECK_EQ(run("tests/data/kv.jsonl"), 0);
    CHECK(has("model kv, inferred"));
    CHECK_EQ(run("tests/data/kv.jsonl --model kv"), 0);
    CHECK(!has("inferred"));
    CHECK_EQ(run("tests/data/empty.jsonl"), 0);
    CHECK(has("empty.jsonl: 0 ops, 0 keys, model register, initial nil: LINEARIZABLE"));
    CHECK(has("0 operations: nothing to check"));
}

/* Append-style kv tests read a missing key as "". */
TEST(cmd_check_initial_value)
{
    CHECK_EQ(run("tests/data/append.jsonl"), 1);
    CHECK(has("model kv, initial nil: NOT LINEARIZABLE"));
    CHECK_EQ(run("tests/data/append.jsonl --initial '\"\"'"), 0);
    CHECK(has("model kv, initial \"\": LINEARIZABLE"));
    CHECK_EQ(run("tests/data/stale_read.jsonl --initial 1 --consistency sequential"), 0);
}

/* A stale read by another process: not linearizable, sequentially consistent. */
TEST(cmd_check_consistency_models)
{
    CHECK_EQ(run("tests/data/stale_read.jsonl --consistency sequential"), 0);
    CHECK(has("initial nil: SEQUENTIALLY CONSISTENT"));
    CHECK_EQ(run("tests/data/stale_read.jsonl --consistency both"), 1);
    CHECK(has("initial nil: NOT LINEARIZABLE"));
    CHECK(has("initial nil: SEQUENTIALLY CONSISTENT"));
    CHECK_EQ(run("tests/data/jepsen_cas.edn --consistency both"), 0);
    CHECK(has("(every linearizable history is sequentially consistent)"));
    write_file(tmp("ryw.jsonl"), "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                                 "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                                 "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
                                 "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n");
    char args[256];
    snprintf(args, sizeof(args), "%s --consistency sequential", tmp("ryw.jsonl"));
    CHECK_EQ(run(args), 1);
    CHECK(has("NOT SEQUENTIALLY CONSISTENT"));
    CHECK(has("the longest sequential order (each process's ops in their order) has 1 of its"));
    snprintf(args, sizeof(args), "%s --consistency sequential --json", tmp("ryw.jsonl"));
    CHECK_EQ(run(args), 1);
    CHECK(has("\"verdict\":\"not sequentially consistent\""));
}

TEST(cmd_check_stops_at_the_first_violating_key)
{
    const char *f = tmp("keys.jsonl");
    write_file(f, "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"a\"}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"a\",\"value\":5}\n"
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"b\"}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"b\",\"value\":6}\n"
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"c\",\"value\":1}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"c\",\"value\":1}\n");
    char args[256];
    snprintf(args, sizeof(args), "%s --threads 1", f);
    CHECK_EQ(run(args), 1);
    CHECK(has("key \"a\": the longest linearizable prefix has 0 of its 1 ops"));
    CHECK(has("stopped at the first key found not linearizable: 2 keys not checked "
              "(--all-keys checks every key)"));
    snprintf(args, sizeof(args), "%s --all-keys", f);
    CHECK_EQ(run(args), 1);
    CHECK(has("2 keys are not linearizable: \"a\" \"b\"; the first:"));
    CHECK(!has("stopped"));
}

/* A pipelined history whose keys each pass but whose whole does not (real time across keys,
 * test_lincheck_po.c): the output says the whole was searched and names each op's key. */
TEST(cmd_check_pipelined_whole_history)
{
    const char *f = tmp("rt.jsonl");
    write_file(f, "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
                  "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"z\"}\n"
                  "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
                  "{\"process\":2,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"z\",\"value\":1}\n"
                  "{\"process\":2,\"type\":\"ok\",\"f\":\"put\",\"key\":\"z\",\"value\":1}\n"
                  "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"z\",\"value\":1}\n"
                  "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":null}\n");
    char args[256];
    snprintf(args, sizeof(args), "%s --pipelined", f);
    CHECK_EQ(run(args), 1);
    CHECK(has("initial nil: NOT LINEARIZABLE"));
    CHECK(has("the whole history was searched as one (program order across keys is not "
              "local): it is not"));
    CHECK(has("the longest order keeping real time and each process's order has 1 of its 4"));
    CHECK(has("\"x\": p1 get -> nil ok"));
    snprintf(args, sizeof(args), "%s --pipelined --consistency sequential", f);
    CHECK_EQ(run(args), 0);
    snprintf(args, sizeof(args), "%s --pipelined --json", f);
    CHECK_EQ(run(args), 1);
    CHECK(has("\"whole_history_searched\":true"));
}
