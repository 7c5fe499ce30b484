/* test_mutants.c: `faultline mutants` end to end. Every mutant of the catalogue (Raft's,
 * Paxos's and the kv side's) is caught within a bound, by the kind of check its bug must
 * trip, and the control (the same spec and seeds without the mutant) finds nothing there, so
 * a detection is the mutant's doing. */
#include "test.h"

#include "cli.h"
#include "faultline/json_read.h"
#include "faultline/cons.h"
#include "faultline/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT  FL_TEST_TMP "/fl_test_mutants.out"
#define JSON FL_TEST_TMP "/fl_test_mutants.json"

/* Which checks may catch each mutant: the Raft invariants (by name), "linearizability",
 * "liveness". A mutant not listed here (one added on another branch) must merely be caught. */
static const struct {
    const char *name;
    const char *checks; /* '|'-separated */
} expected[] = {
    {"commit-prev-term", "leader completeness|state machine safety|log matching"},
    {"vote-no-log-check", "leader completeness|state machine safety|log matching"},
    {"vote-before-durable", "election safety|log matching|state machine safety"},
    /* a follower that lost acknowledged entries in a crash: committed entries vanish (an entry
     * counted as on a majority no longer is: commit quorum), or the leader, trusting the
     * acknowledgement, can never bring it up to date */
    {"ack-before-durable",
     "commit quorum|leader completeness|state machine safety|log matching|liveness"},
    {"accept-stale-term", "state machine safety|log matching|leader completeness"},
    {"truncate-matching", "state machine safety"},
    {"no-step-down", "election safety|split brain"},
    {"read-no-confirm", "linearizability"},
    {"lease-no-drift", "linearizability"},
    {"apply-before-commit", "state machine safety"},
    {"prevote-stale-leader", "liveness"},
    /* the kept suffix disagrees with the snapshot's history */
    {"snapshot-keeps-suffix", "log matching|state machine safety|leader completeness"},
    {"removed-leader-heartbeats", "removed leader"},
    /* two majorities that need not overlap: a leader or a commit without one of them */
    {"joint-new-majority-only", "election quorum|commit quorum|election safety|state machine "
                                "safety|leader completeness|log matching"},
    /* a follower answers from a state that has not applied the read index: a stale read */
    {"follower-read-unapplied", "linearizability"},
    /* replay skips records the WAL numbered again: synced state comes back older */
    {"snapshot-seq-unsynced", "durability"},
    /* a removed node's campaigns depose leaders after the heal */
    {"leader-ignores-lease", "disruption|liveness"},
    /* the host refuses its own forked snapshot as too big and stops */
    {"snapshot-bound-lost", "snapshot bound"},
    /* a crash keeps the WAL's unlinks and loses the snapshot's rename: the node refuses to
     * start (its log no longer reaches its snapshot file) */
    {"wal-deleted-before-dir-sync", "durability"},
    /* Paxos (paxos_check.h): a deposed leader's values chosen beside the new leader's */
    {"accept-below-promise", "agreement|stability|reads|linearizability"},
    {"ignore-promised-value", "agreement|stability|validity"},
    {"promise-before-durable", "promises|durability|agreement"},
    {"read-no-quorum", "reads|linearizability"},
    {"skip-gap-fill", "liveness"},
    /* q1 + q2 <= n: quorums that need not meet */
    {"unsafe-quorums", "agreement|stability|reads|linearizability"},
    /* the kv side: a pipelined read overtakes its connection's write (program order, per
     * key); the replicas' kv checks (run_kvcheck.c) */
    {"read-ahead", "linearizability"},
    {"kv-pick-by-layout", "kv replica agreement"},
    {"kv-snapshot-layout", "kv snapshot|kv replica agreement"},
    {"kv-keep-empty", "kv invariants"},
};

static const char *expected_checks(const char *name)
{
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (!strcmp(expected[i].name, name))
            return expected[i].checks;
    return NULL;
}

static bool one_of(const char *list, const char *check)
{
    size_t n = strlen(check);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, "|");
        if (k == n && !strncmp(p, check, n))
            return true;
        p += k + (p[k] == '|');
    }
    return false;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

static void str(const fl_jr_doc *d, uint32_t obj, const char *key, char *out, size_t cap)
{
    out[0] = 0;
    uint32_t n = fl_jr_get(d, obj, key);
    if (n != FL_JR_NONE)
        fl_jr_str(d, n, out, cap, NULL);
}

static bool flag(const fl_jr_doc *d, uint32_t obj, const char *key)
{
    uint32_t n = fl_jr_get(d, obj, key);
    return n != FL_JR_NONE && d->nodes[n].type == FL_JR_TRUE;
}

TEST(mutants_every_one_is_caught_by_its_check_and_the_control_is_clean)
{
    int rc = fl_test_faultline_run("mutants --json " JSON, OUT);
    if (rc != 0)
        system("cat " OUT " >&2");
    CHECK_EQ(rc, 0);
    size_t len = 0;
    char *text = slurp(JSON, &len);
    CHECK(text != NULL);
    static fl_jr_node nodes[4096];
    fl_jr_doc d;
    CHECK_EQ(fl_jr_parse(&d, text, len, nodes, 4096), 0);
    uint32_t arr = fl_jr_get(&d, 0, "mutants");
    CHECK(arr != FL_JR_NONE);
    /* the catalogue: Raft's mutants, Paxos's, then the setting q1 + q2 <= n */
    const char *names[64];
    size_t n = 0;
    const fl_cons_protocol protocols[] = {FL_CONS_RAFT, FL_CONS_PAXOS};
    for (size_t p = 0; p < 2; p++) {
        const uint32_t *bits;
        size_t count = fl_cons_mutant_list(protocols[p], &bits);
        for (size_t i = 0; i < count; i++)
            names[n++] = fl_cons_mutant_name(protocols[p], bits[i]);
    }
    names[n++] = "unsafe-quorums";
    const char *const *kv_side; /* then the kv side's */
    size_t n_kv = fl_run_mutant_list(&kv_side);
    for (size_t i = 0; i < n_kv; i++)
        names[n++] = kv_side[i];
    for (size_t i = 0; i < n; i++) {
        uint32_t m = fl_jr_at(&d, arr, (uint32_t)i);
        CHECK(m != FL_JR_NONE);
        char name[64], check[64], repro[1024];
        str(&d, m, "mutant", name, sizeof(name));
        str(&d, m, "check", check, sizeof(check));
        str(&d, m, "reproduce", repro, sizeof(repro));
        CHECK_STR(name, names[i]); /* the whole catalogue, in order */
        CHECK(flag(&d, m, "detected"));
        CHECK(flag(&d, m, "control_clean"));
        const char *want = expected_checks(name);
        if (want && !one_of(want, check))
            fprintf(stderr, "  %s caught by '%s', expected one of '%s'\n", name, check, want);
        CHECK(!want || one_of(want, check));
        CHECK(strstr(repro, "faultline sim ") == repro);
        CHECK(strstr(repro, name) != NULL);
    }
    CHECK_EQ(fl_jr_at(&d, arr, (uint32_t)n), FL_JR_NONE);
}

/* A detection's command reproduces it: `faultline sim` exits 1 with the same verdict. */
TEST(mutants_detection_reproduces_with_faultline_sim)
{
    CHECK_EQ(fl_test_faultline_run("mutants --mutant apply-before-commit --mutant "
                                   "prevote-stale-leader --max-seeds 10",
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "tuned: 2 of 2 caught within 10 seeds, controls clean"));
    CHECK(fl_test_file_has(OUT, "prevote-stale-leader raft "));
    CHECK_EQ(fl_test_faultline_run("sim --seed 3 --nodes 5 --duration 10s --nemesis crash-leader "
                                   "--nemesis-interval 1s --mutant prevote-stale-leader",
                                   OUT),
             1);
    CHECK(fl_test_file_has(OUT, "verdict  liveness: no write succeeded"));
}

TEST(mutants_usage)
{
    CHECK_EQ(fl_test_faultline_run("mutants --help", OUT), 0);
    CHECK(fl_test_file_has(OUT, "commit-prev-term"));
    CHECK(fl_test_file_has(OUT, "prevote-stale-leader"));
    CHECK_EQ(fl_test_faultline_run("mutants --mutant gremlin", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("mutants --max-seeds 0", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("mutants --frobnicate", OUT), 64);
}

/* --generic hunts with the default swarm campaign too, in a column beside the tuned one; its
 * detection reproduces with `faultline sim --swarm --seed S --mutant NAME`. */
TEST(mutants_generic_hunt_is_the_swarm_and_reproduces)
{
    CHECK_EQ(fl_test_faultline_run("mutants --generic --mutant apply-before-commit --max-seeds 10 "
                                   "--json " JSON,
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, "generic hunt (the default swarm campaign)"));
    CHECK(fl_test_file_has(OUT, "generic (swarm): 1 of 1 caught within 10 seeds"));
    CHECK(fl_test_file_has(OUT, "faultline sim --swarm --seed "));
    size_t len = 0;
    char *text = slurp(JSON, &len);
    CHECK(text != NULL);
    static fl_jr_node nodes[512];
    fl_jr_doc d;
    CHECK_EQ(fl_jr_parse(&d, text, len, nodes, 512), 0);
    uint32_t m = fl_jr_at(&d, fl_jr_get(&d, 0, "mutants"), 0);
    uint32_t g = fl_jr_get(&d, m, "generic");
    CHECK(g != FL_JR_NONE);
    CHECK(flag(&d, g, "detected"));
    CHECK(flag(&d, g, "control_clean"));
    char repro[1024];
    str(&d, g, "reproduce", repro, sizeof(repro));
    CHECK(strstr(repro, "faultline sim --swarm --seed ") == repro);
    CHECK(strstr(repro, "--mutant apply-before-commit") != NULL);
    CHECK_EQ(fl_test_faultline_run(repro + strlen("faultline "), OUT), 1);
    CHECK(fl_test_file_has(OUT, "verdict  safety: state machine safety"));
    CHECK_EQ(fl_test_faultline_run("mutants --no-tuned", OUT), 64); /* needs --generic */
}
