/* lin_case.h: a hand-written history checked in a test (test_lincheck.c,
 * test_lincheck_seq.c): read from JSON lines, checked, and cross-checked with the brute-force
 * checker whenever it can (at most 10 ops per key). */
#ifndef FL_LIN_CASE_H
#define FL_LIN_CASE_H

#include "test.h"

#include "faultline/lincheck.h"
#include "faultline/rng.h"

#include <stdlib.h>

/* The value of an initial value written as JSON (NULL or "null": nil; 5; "\"\""), interned in
 * h. */
static inline fl_value lin_case_value(fl_history *h, const char *text)
{
    fl_value v = fl_value_nil();
    if (!text || !strcmp(text, "null"))
        return v;
    if (text[0] == '"') {
        CHECK_EQ(fl_value_str(h, text + 1, strlen(text) - 2, &v), 0);
        return v;
    }
    return fl_value_int(atoll(text));
}

/* Checks a JSON-lines history (lines separated by '\n'; pipelined: its processes pipeline,
 * history.h) with the model, the consistency model and the initial value (JSON, or NULL for
 * nil) and returns the verdict, or the negative error code. */
static inline int lin_case_with(const char *jsonl, bool pipelined, fl_model model,
                                fl_consistency cons, const char *initial)
{
    fl_history h;
    fl_history_init(&h);
    fl_history_error err = {0};
    int rc = fl_history_read_jsonl(&h, jsonl, strlen(jsonl), &err);
    h.pipelined = pipelined;
    if (rc) {
        fprintf(stderr, "  line %u: %s\n", err.line, err.msg);
        fl_history_free(&h);
        return rc;
    }
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = model;
    o.consistency = cons;
    o.initial = lin_case_value(&h, initial);
    o.threads = 2;
    fl_lincheck_result r;
    rc = fl_lincheck_run(&h, &o, &r, &err);
    if (rc)
        fprintf(stderr, "  line %u: %s\n", err.line, err.msg);
    if (!rc) {
        rc = (int)r.verdict;
        int brute = fl_lincheck_brute(&h, &o);
        if (brute >= 0 && brute != rc)
            fprintf(stderr, "  brute force says %d, checker %d\n", brute, rc);
        if (brute >= 0)
            CHECK_EQ(brute, rc);
    }
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
    return rc;
}

static inline int lin_case(const char *jsonl, fl_model model, fl_consistency cons,
                           const char *initial)
{
    return lin_case_with(jsonl, false, model, cons, initial);
}

/* Checks h with o: the verdict, or the negative error code (printed with its line). */
static inline int lin_case_verdict(const fl_history *h, const fl_lincheck_opts *o)
{
    fl_lincheck_result r;
    fl_history_error err;
    int rc = fl_lincheck_run(h, o, &r, &err);
    if (rc)
        fprintf(stderr, "  error: line %u: %s\n", err.line, err.msg);
    int v = rc ? rc : (int)r.verdict;
    fl_lincheck_result_free(&r);
    return v;
}

/* For random histories: a small value (1..3, or nil when nil_ok), an f of the model. */
static inline fl_value lin_case_small_value(fl_rng *r, bool nil_ok)
{
    uint64_t x = fl_rng_below(r, nil_ok ? 4 : 3);
    return x == 3 ? fl_value_nil() : fl_value_int((int64_t)x + 1);
}

static inline uint8_t lin_case_random_f(fl_rng *r, fl_model m)
{
    static const uint8_t reg[] = {FL_F_READ, FL_F_WRITE};
    static const uint8_t cas[] = {FL_F_READ, FL_F_WRITE, FL_F_CAS};
    static const uint8_t kv[] = {FL_F_GET, FL_F_PUT, FL_F_CAS, FL_F_APPEND, FL_F_DELETE};
    if (m == FL_MODEL_REGISTER)
        return reg[fl_rng_below(r, 2)];
    if (m == FL_MODEL_CAS_REGISTER)
        return cas[fl_rng_below(r, 3)];
    return kv[fl_rng_below(r, 5)];
}

#endif
