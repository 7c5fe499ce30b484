/* test_cmd_check.c: `faultline check` end to end: verdicts and exit statuses on the files in
 * tests/data, bad input (65, with file and line), usage errors (64), --json and --html. The
 * binary is found next to this test's build directory (OUT/faultline). */
#include "test.h"

#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs faultline check ARGS with output to OUT_FILE; returns the exit status. */
static int run(const char *args, const char *out_file)
{
    char full[8192];
    snprintf(full, sizeof(full), "check %s", args);
    return fl_test_faultline_run(full, out_file);
}

#define file_has fl_test_file_has

#define OUT "/tmp/fl_test_cmd_check.out"

TEST(cmd_check_verdicts)
{
    CHECK_EQ(run("tests/data/stale_read.jsonl", OUT), 1);
    CHECK(file_has(OUT, "NOT LINEARIZABLE"));
    CHECK(file_has(OUT, "p1 read -> 1 ok  (lines 5-6)"));
    CHECK_EQ(run("tests/data/jepsen_cas.edn --model cas-register", OUT), 0);
    CHECK(file_has(OUT, "LINEARIZABLE"));
    CHECK_EQ(run("tests/data/jepsen_cas_bad.edn --model cas-register --format edn", OUT), 1);
    CHECK_EQ(run("tests/data/kv.jsonl --model kv --threads 2", OUT), 0);
    CHECK(file_has(OUT, "2 keys"));
    CHECK_EQ(run("- --model cas-register <tests/data/jepsen_cas_bad.edn", OUT), 1); /* stdin */
    CHECK_EQ(run("tests/data/jepsen_independent.edn --model cas-register --independent", OUT), 1);
    CHECK(file_has(OUT, "2 keys"));
    CHECK(file_has(OUT, "key \"2\""));
    CHECK_EQ(run("tests/data/jepsen_independent.edn --model cas-register", OUT), 65);
}

TEST(cmd_check_json_and_html)
{
    CHECK_EQ(run("tests/data/stale_read.jsonl --json", OUT), 1);
    CHECK(file_has(OUT, "\"verdict\":\"not linearizable\""));
    CHECK(file_has(OUT, "\"blocked\":{\"index\":2"));
    CHECK_EQ(run("tests/data/stale_read.jsonl --html /tmp/fl_test_cmd_check.html", OUT), 1);
    CHECK(file_has("/tmp/fl_test_cmd_check.html", "<svg"));
    CHECK(file_has("/tmp/fl_test_cmd_check.html", "no linearization extends past here"));
    CHECK(!file_has("/tmp/fl_test_cmd_check.html", "<link")); /* self-contained */
    CHECK(!file_has("/tmp/fl_test_cmd_check.html", "<script"));
    CHECK(!file_has("/tmp/fl_test_cmd_check.html", "src="));
}

TEST(cmd_check_bad_input_and_usage)
{
    FILE *f = fopen("/tmp/fl_test_bad.jsonl", "w");
    CHECK(f != NULL);
    fputs("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
          "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\"s\"}\n"
          "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n",
          f);
    fclose(f);
    CHECK_EQ(run("/tmp/fl_test_bad.jsonl", OUT), 65); /* ok without invoke, line 3 */
    CHECK(file_has(OUT, "/tmp/fl_test_bad.jsonl:3: ok of process 1 without a pending invoke"));
    f = fopen("/tmp/fl_test_bad.jsonl", "w");
    fputs("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
          "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\"s\"}\n",
          f);
    fclose(f);
    CHECK_EQ(run("/tmp/fl_test_bad.jsonl", OUT), 65); /* a string in a register */
    CHECK(file_has(OUT, "/tmp/fl_test_bad.jsonl:1: value of the wrong type"));
    f = fopen("/tmp/fl_test_bad.jsonl", "w");
    fputs("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"\n", f);
    fclose(f);
    CHECK_EQ(run("/tmp/fl_test_bad.jsonl", OUT), 65);
    CHECK(file_has(OUT, ":1: column"));
    CHECK_EQ(run("", OUT), 64);
    CHECK_EQ(run("tests/data/kv.jsonl --model nope", OUT), 64);
    CHECK_EQ(run("tests/data/kv.jsonl --bogus", OUT), 64);
    CHECK_EQ(run("tests/data/kv.jsonl --timeout", OUT), 64);
    CHECK_EQ(run("/nonexistent/file", OUT), 66);
    CHECK_EQ(run("--help", OUT), 0);
}
