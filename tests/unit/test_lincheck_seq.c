/* test_lincheck_seq.c: the checker's options beyond plain linearizability: sequential
 * consistency (per key, and over the whole history when keys disagree), initial values,
 * completion values of fail and info ops that are not the model's, stopping at the first
 * violating key or deciding all of them, and the model inferred from the ops. Each case has
 * its expected verdict, and is cross-checked with the brute-force checker. */
#include "lin_case.h"
#include "test.h"

#include "faultline/error.h"
#include "faultline/lincheck.h"

#include <stdlib.h>

typedef struct want {
    fl_model model;
    fl_consistency cons;
    const char *initial; /* JSON: null, 5, "" */
} want;

static int verdict(const char *jsonl, want w)
{
    return lin_case(jsonl, w.model, w.cons, w.initial);
}

#define E(p, t, f, v) "{\"process\":" #p ",\"type\":\"" t "\",\"f\":\"" f "\",\"value\":" v "}\n"
#define K(p, t, f, k, v)                                                                           \
    "{\"process\":" #p ",\"type\":\"" t "\",\"f\":\"" f "\",\"key\":\"" k "\",\"value\":" v "}\n"

static const want LIN = {FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE, NULL};
static const want SEQ = {FL_MODEL_REGISTER, FL_CONS_SEQUENTIAL, NULL};
static const want KV_LIN = {FL_MODEL_KV, FL_CONS_LINEARIZABLE, NULL};
static const want KV_SEQ = {FL_MODEL_KV, FL_CONS_SEQUENTIAL, NULL};

/* A read that misses a write completed before it began: stale, so not linearizable; but
 * another process may be ordered before the write, so sequentially consistent. */
TEST(seq_stale_read_of_another_process)
{
    const char *h = E(0, "invoke", "write", "1") E(0, "ok", "write", "1")
        E(1, "invoke", "read", "null") E(1, "ok", "read", "null");
    CHECK_EQ(verdict(h, LIN), FL_LIN_VIOLATION);
    CHECK_EQ(verdict(h, SEQ), FL_LIN_OK);
}

/* The same read by the writing process: its own order forbids it. */
TEST(seq_read_your_writes)
{
    const char *h = E(0, "invoke", "write", "1") E(0, "ok", "write", "1")
        E(0, "invoke", "read", "null") E(0, "ok", "read", "null");
    CHECK_EQ(verdict(h, SEQ), FL_LIN_VIOLATION);
}

/* A process that saw 2 cannot see 1 again when 1 was written before 2 by one process. */
TEST(seq_monotonic_reads)
{
    const char *bad = E(0, "invoke", "write", "1") E(0, "ok", "write", "1")
        E(0, "invoke", "write", "2") E(0, "ok", "write", "2") E(1, "invoke", "read", "null")
            E(1, "ok", "read", "2") E(1, "invoke", "read", "null") E(1, "ok", "read", "1");
    CHECK_EQ(verdict(bad, SEQ), FL_LIN_VIOLATION);
    /* written by two processes, the two writes may be ordered either way */
    const char *fine = E(0, "invoke", "write", "1") E(0, "ok", "write", "1")
        E(2, "invoke", "write", "2") E(2, "ok", "write", "2") E(1, "invoke", "read", "null")
            E(1, "ok", "read", "2") E(1, "invoke", "read", "null") E(1, "ok", "read", "1");
    CHECK_EQ(verdict(fine, LIN), FL_LIN_VIOLATION);
    CHECK_EQ(verdict(fine, SEQ), FL_LIN_OK);
}

/* An info write may take effect after its process's later ops (nothing of the process waits
 * for it), but not before its invocation in the process's order. */
TEST(seq_info_op_floats_after_its_process)
{
    const char *late = E(0, "invoke", "write", "1") E(0, "info", "write", "\"timed-out\"")
        E(0, "invoke", "read", "null") E(0, "ok", "read", "null") E(1, "invoke", "read", "null")
            E(1, "ok", "read", "1");
    CHECK_EQ(verdict(late, SEQ), FL_LIN_OK);
    const char *early = E(0, "invoke", "read", "null") E(0, "ok", "read", "1")
        E(0, "invoke", "write", "1") E(0, "info", "write", "1");
    CHECK_EQ(verdict(early, SEQ), FL_LIN_VIOLATION);
}

/* Sequential consistency is not local (Dekker): each key alone is sequentially consistent,
 * the whole history is not; the checker searches the whole history when keys disagree. */
TEST(seq_is_not_local)
{
    const char *dekker = K(0, "invoke", "put", "x", "1") K(1, "invoke", "put", "y", "1")
        K(0, "ok", "put", "x", "1") K(1, "ok", "put", "y", "1") K(0, "invoke", "get", "y", "null")
            K(1, "invoke", "get", "x", "null") K(0, "ok", "get", "y", "null")
                K(1, "ok", "get", "x", "null");
    CHECK_EQ(verdict(dekker, KV_LIN), FL_LIN_VIOLATION);
    CHECK_EQ(verdict(dekker, KV_SEQ), FL_LIN_VIOLATION);
    /* one of the two reads sees the other's write: an order exists */
    const char *fine = K(0, "invoke", "put", "x", "1") K(1, "invoke", "put", "y", "1")
        K(0, "ok", "put", "x", "1") K(1, "ok", "put", "y", "1") K(0, "invoke", "get", "y", "null")
            K(1, "invoke", "get", "x", "null") K(0, "ok", "get", "y", "null")
                K(1, "ok", "get", "x", "1");
    CHECK_EQ(verdict(fine, KV_LIN), FL_LIN_VIOLATION);
    CHECK_EQ(verdict(fine, KV_SEQ), FL_LIN_OK);

    fl_history h;
    fl_history_init(&h);
    CHECK_EQ(fl_history_read_jsonl(&h, dekker, strlen(dekker), NULL), 0);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    o.consistency = FL_CONS_SEQUENTIAL;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK(r.per_key); /* every key alone passed */
    CHECK_EQ(r.parts[0].verdict, FL_LIN_OK);
    CHECK_EQ(r.parts[1].verdict, FL_LIN_OK);
    CHECK_EQ(r.verdict, FL_LIN_VIOLATION); /* the whole did not */
    CHECK(r.has_cex);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

TEST(initial_value_for_every_model)
{
    const char *h =
        E(0, "invoke", "read", "null") E(0, "ok", "read", "5") E(1, "invoke", "write", "6")
            E(1, "ok", "write", "6") E(0, "invoke", "read", "null") E(0, "ok", "read", "6");
    CHECK_EQ(verdict(h, LIN), FL_LIN_VIOLATION);
    want five = {FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE, "5"};
    CHECK_EQ(verdict(h, five), FL_LIN_OK);
    five.model = FL_MODEL_CAS_REGISTER;
    five.cons = FL_CONS_SEQUENTIAL;
    CHECK_EQ(verdict(h, five), FL_LIN_OK);
    /* append-style kv tests read a missing key as "" */
    const char *app = K(0, "invoke", "get", "a", "null") K(0, "ok", "get", "a", "\"\"")
        K(0, "invoke", "append", "a", "\"x\"") K(0, "ok", "append", "a", "\"x\"")
            K(1, "invoke", "get", "a", "null") K(1, "ok", "get", "a", "\"x\"");
    CHECK_EQ(verdict(app, KV_LIN), FL_LIN_VIOLATION);
    want empty = {FL_MODEL_KV, FL_CONS_LINEARIZABLE, "\"\""};
    CHECK_EQ(verdict(app, empty), FL_LIN_OK);
    /* a string is no value of the register models */
    want str = {FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE, "\"a\""};
    CHECK_EQ(verdict(h, str), FL_EINVAL);
}

/* A fail or info completion may carry anything; the invocation says what the op would do. */
TEST(fail_and_info_completion_values_are_not_judged)
{
    const char *h = E(0, "invoke", "write", "1") E(0, "ok", "write", "1")
        E(1, "invoke", "cas", "[1,2]") E(1, "info", "cas", "{\"error\":\"timeout\"}")
            E(2, "invoke", "read", "null") E(2, "fail", "read", "\"timed-out\"")
                E(3, "invoke", "write", "3") E(3, "fail", "write", "[1,2,3]")
                    E(4, "invoke", "read", "null") E(4, "ok", "read", "2");
    want cas = {FL_MODEL_CAS_REGISTER, FL_CONS_LINEARIZABLE, NULL};
    CHECK_EQ(verdict(h, cas), FL_LIN_OK); /* the info cas [1 2] took effect */
    const char *edn = "{:process 0 :type :invoke :f :write :value 1}\n"
                      "{:process 0 :type :info :f :write :value :timed-out}\n"
                      "{:process 1 :type :invoke :f :read :value nil}\n"
                      "{:process 1 :type :fail :f :read :value {:reason #{:a 1.5}}}\n"
                      "{:process 2 :type :invoke :f :read :value nil}\n"
                      "{:process 2 :type :ok :f :read :value 1}\n";
    fl_history hist;
    fl_history_init(&hist);
    fl_history_error err = {0};
    CHECK_EQ(fl_history_read_edn(&hist, edn, strlen(edn), &err), 0);
    CHECK_EQ(hist.events[1].value.kind, FL_VALUE_NONE);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&hist, &o, &r, &err), 0);
    CHECK_EQ(r.verdict, FL_LIN_OK);
    fl_lincheck_result_free(&r);
    fl_history_free(&hist);
    /* but an ok completion's value still is judged */
    const char *bad = "{:process 0 :type :invoke :f :read :value nil}\n"
                      "{:process 0 :type :ok :f :read :value :timed-out}\n";
    fl_history_init(&hist);
    CHECK_EQ(fl_history_read_edn(&hist, bad, strlen(bad), &err), FL_ESYNTAX);
    CHECK_EQ(err.line, 2);
    fl_history_free(&hist);
}

/* Three keys, two of them broken (a read of a value never written): by default the run stops
 * at the first violating key in check order (fewest ops open at once first); with all_keys
 * every key is decided. */
TEST(stop_at_the_first_violating_key)
{
    const char *h = K(0, "invoke", "put", "a", "1") K(1, "invoke", "put", "a", "2")
        K(0, "ok", "put", "a", "1") K(1, "ok", "put", "a", "2") K(0, "invoke", "get", "a", "null")
            K(0, "ok", "get", "a", "9") K(0, "invoke", "put", "b", "1") K(0, "ok", "put", "b", "1")
                K(0, "invoke", "get", "b", "null") K(0, "ok", "get", "b", "1")
                    K(0, "invoke", "get", "c", "null") K(0, "ok", "get", "c", "7");
    fl_history hist;
    fl_history_init(&hist);
    CHECK_EQ(fl_history_read_jsonl(&hist, h, strlen(h), NULL), 0);
    for (unsigned threads = 1; threads <= 2; threads++) {
        fl_lincheck_opts o;
        fl_lincheck_opts_init(&o);
        o.model = FL_MODEL_KV;
        o.threads = threads;
        fl_lincheck_result r;
        CHECK_EQ(fl_lincheck_run(&hist, &o, &r, NULL), 0);
        CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
        CHECK_STR(fl_history_str(&hist, r.cex.key, NULL), "c"); /* 1 op open at most */
        CHECK_EQ(r.parts[2].concurrency, 1);
        CHECK_EQ(r.parts[0].concurrency, 2);
        size_t bad = 0;
        for (size_t i = 0; i < r.part_count; i++)
            bad += r.parts[i].verdict == FL_LIN_VIOLATION;
        CHECK_EQ(bad, 1);
        CHECK(r.stopped);
        CHECK_EQ(r.parts[0].verdict, FL_LIN_UNKNOWN); /* "a": after "c" in check order */
        CHECK_EQ(r.parts[0].unknown, FL_LIN_WHY_STOPPED);
        fl_lincheck_result_free(&r);
        o.all_keys = true;
        CHECK_EQ(fl_lincheck_run(&hist, &o, &r, NULL), 0);
        CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
        CHECK(!r.stopped);
        CHECK_EQ(r.parts[0].verdict, FL_LIN_VIOLATION);
        CHECK_EQ(r.parts[1].verdict, FL_LIN_OK);
        CHECK_EQ(r.parts[2].verdict, FL_LIN_VIOLATION);
        CHECK_STR(fl_history_str(&hist, r.cex.key, NULL), "a"); /* first by invocation */
        fl_lincheck_result_free(&r);
    }
    fl_history_free(&hist);
}

TEST(model_inferred_from_the_ops)
{
    static const struct {
        const char *text;
        fl_model m;
    } cases[] = {
        {E(0, "invoke", "read", "null") E(0, "ok", "read", "1"), FL_MODEL_REGISTER},
        {E(0, "invoke", "cas", "[1,2]") E(0, "fail", "cas", "[1,2]"), FL_MODEL_CAS_REGISTER},
        {E(0, "invoke", "write", "\"s\""), FL_MODEL_KV},
        {E(0, "invoke", "write", "1") E(0, "info", "write", "\"timeout\""), FL_MODEL_REGISTER},
        {K(0, "invoke", "append", "a", "\"x\""), FL_MODEL_KV},
        {"", FL_MODEL_REGISTER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fl_history h;
        fl_history_init(&h);
        CHECK_EQ(fl_history_read_jsonl(&h, cases[i].text, strlen(cases[i].text), NULL), 0);
        CHECK_EQ(fl_model_infer(&h), cases[i].m);
        fl_history_free(&h);
    }
}
