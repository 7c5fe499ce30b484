/* test_lincheck_random.c: property tests of the checker over thousands of seeds.
 *
 *   - generated histories (linearizable by construction, with concurrency, info and fail
 *     ops) are all linearizable; with a known-breaking mutation they are all not;
 *   - on random small histories (at most 8 ops, random values, random outcomes: both
 *     verdicts occur) the checker agrees with the brute-force checker. */
#include "lin_case.h"
#include "test.h"

#include "faultline/error.h"
#include "faultline/histgen.h"
#include "faultline/lincheck.h"

#include <stdlib.h>

static int check_with(const fl_history *h, const fl_lincheck_opts *o)
{
    return lin_case_verdict(h, o);
}

static int check(const fl_history *h, fl_model m, unsigned threads)
{
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = m;
    o.threads = threads;
    return check_with(h, &o);
}

static void gen_opts(fl_histgen_opts *o, fl_model m, uint64_t seed, fl_rng *r)
{
    fl_histgen_opts_init(o);
    o->model = m;
    o->seed = seed;
    o->ops = 20 + (uint32_t)fl_rng_below(r, 200);
    o->processes = 1 + (uint32_t)fl_rng_below(r, 8);
    o->keys = m == FL_MODEL_KV ? 1 + (uint32_t)fl_rng_below(r, 4) : 0;
    o->info_ratio = fl_rng_double(r) * 0.15;
    o->fail_ratio = fl_rng_double(r) * 0.1;
    o->read_ratio = 0.3 + fl_rng_double(r) * 0.4;
    o->deletes = m == FL_MODEL_KV && fl_rng_chance(r, 0.5);
    o->appends = m == FL_MODEL_KV && fl_rng_chance(r, 0.5);
    if (o->appends) {
        /* every order of info appends gives a distinct state: refuting a broken history
         * is exponential in them, so keep these cases small */
        o->ops = 20 + (uint32_t)fl_rng_below(r, 60);
        o->info_ratio /= 2;
    }
}

/* A generated history's initial value, for lincheck too: nil, an integer, or for kv "". */
static void gen_initial(fl_history *h, fl_histgen_opts *o, fl_rng *r)
{
    uint64_t x = fl_rng_below(r, 4);
    if (x == 1)
        o->initial = fl_value_int(-7);
    else if (x == 2 && o->model == FL_MODEL_KV)
        fl_value_str(h, "", 0, &o->initial);
}

static int check_from(const fl_history *h, const fl_histgen_opts *g, fl_consistency c,
                      unsigned threads)
{
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = g->model;
    o.consistency = c;
    o.initial = g->initial;
    o.threads = threads;
    return check_with(h, &o);
}

static void generated_cases(fl_model m, int cases, uint64_t seed0)
{
    fl_rng r;
    fl_rng_seed(&r, seed0);
    int broken = 0;
    for (int i = 0; i < cases; i++) {
        fl_histgen_opts o;
        gen_opts(&o, m, seed0 * 100000 + (uint64_t)i, &r);
        fl_history h;
        fl_history_init(&h);
        gen_initial(&h, &o, &r);
        CHECK_EQ(fl_histgen_run(&h, &o), 0);
        int v = check_from(&h, &o, FL_CONS_LINEARIZABLE, 1 + (unsigned)(i % 2));
        if (v != FL_LIN_OK)
            fprintf(stderr, "  seed %llu: generated history judged %d\n",
                    (unsigned long long)o.seed, v);
        CHECK_EQ(v, FL_LIN_OK);
        fl_histgen_mutation mut = (fl_histgen_mutation)(i % 3);
        if (fl_histgen_break(&h, mut, &r) == 0) {
            broken++;
            v = check_from(&h, &o, FL_CONS_LINEARIZABLE, 1);
            if (v != FL_LIN_VIOLATION)
                fprintf(stderr, "  seed %llu mutation %d: broken history judged %d\n",
                        (unsigned long long)o.seed, (int)mut, v);
            CHECK_EQ(v, FL_LIN_VIOLATION);
        }
        fl_history_free(&h);
    }
    CHECK(broken > cases / 2);
}

TEST(random_generated_register)
{
    generated_cases(FL_MODEL_REGISTER, 2000, 1);
}

TEST(random_generated_cas_register)
{
    generated_cases(FL_MODEL_CAS_REGISTER, 2000, 2);
}

TEST(random_generated_kv)
{
    generated_cases(FL_MODEL_KV, 2000, 3);
}

/* Generated histories with each process shifted in time by its own offset: the order of the
 * ops that made them is still a sequential witness, so they stay sequentially consistent,
 * while most stop being linearizable (the search for sequential consistency runs on those);
 * a read of a value nobody wrote breaks both. */
static void skewed_cases(fl_model m, int cases, uint64_t seed0)
{
    fl_rng r;
    fl_rng_seed(&r, seed0);
    int apart = 0;
    for (int i = 0; i < cases; i++) {
        fl_histgen_opts o;
        gen_opts(&o, m, seed0 * 100000 + (uint64_t)i, &r);
        o.ops = o.ops > 120 ? 120 : o.ops;
        if (o.keys > 1) /* the whole history is searched at once: keep it small */
            o.ops = o.ops > 40 ? 40 : o.ops;
        fl_history h;
        fl_history_init(&h);
        gen_initial(&h, &o, &r);
        CHECK_EQ(fl_histgen_run(&h, &o), 0);
        CHECK_EQ(fl_histgen_skew(&h, 5 * FL_NS_PER_MS, &r), 0);
        int seq = check_from(&h, &o, FL_CONS_SEQUENTIAL, 1 + (unsigned)(i % 2));
        if (seq != FL_LIN_OK)
            fprintf(stderr, "  seed %llu: skewed history judged %d\n", (unsigned long long)o.seed,
                    seq);
        CHECK_EQ(seq, FL_LIN_OK);
        apart += check_from(&h, &o, FL_CONS_LINEARIZABLE, 1) == FL_LIN_VIOLATION;
        if (fl_histgen_break(&h, FL_MUT_PHANTOM_READ, &r) == 0)
            CHECK_EQ(check_from(&h, &o, FL_CONS_SEQUENTIAL, 1), FL_LIN_VIOLATION);
        fl_history_free(&h);
    }
    printf("  %s: %d of %d skewed histories not linearizable\n", fl_model_name(m), apart, cases);
    CHECK(apart > cases / 2);
}

TEST(random_skewed_sequential)
{
    skewed_cases(FL_MODEL_REGISTER, 200, 5);
    skewed_cases(FL_MODEL_CAS_REGISTER, 200, 6);
    skewed_cases(FL_MODEL_KV, 200, 7);
}

/* ---- brute-force cross-check ---- */

/* What a client may write in a fail or info completion: anything (Jepsen does not judge
 * it); the checker must keep the invocation's value. */
static void junk_value(fl_history *h, fl_rng *r, fl_event *e)
{
    switch (fl_rng_below(r, 5)) {
    case 0:
        e->value = fl_value_nil();
        break;
    case 1:
        fl_value_str(h, "timed-out", 9, &e->value);
        break;
    case 2:
        e->value = fl_value_int((int64_t)fl_rng_below(r, 5));
        break;
    case 3:
        e->value.kind = FL_VALUE_NONE;
        break;
    default:
        e->pair = true;
        fl_value_str(h, "x", 1, &e->value);
        e->value2 = fl_value_int(9);
    }
}

/* A random history of n ops over procs processes: arbitrary overlaps and values. */
static void random_history(fl_history *h, fl_model m, fl_rng *r, int n, int procs)
{
    int started = 0, pending[8] = {0}, f[8] = {0};
    fl_value in[8], in2[8];
    uint32_t key[2];
    fl_history_intern(h, "a", 1, &key[0]);
    fl_history_intern(h, "b", 1, &key[1]);
    uint32_t k[8];
    for (int step = 0;
         step < 64 && (started < n || pending[0] + pending[1] + pending[2] + pending[3] +
                                          pending[4] + pending[5] + pending[6] + pending[7]);
         step++) {
        int p = (int)fl_rng_below(r, (uint64_t)procs);
        fl_event e = {.process = p, .key = FL_KEY_NONE};
        if (!pending[p]) {
            if (started == n)
                continue;
            started++;
            pending[p] = 1;
            f[p] = lin_case_random_f(r, m);
            in[p] = lin_case_small_value(r, false);
            in2[p] = lin_case_small_value(r, false);
            k[p] = m == FL_MODEL_KV ? key[fl_rng_below(r, 2)] : FL_KEY_NONE;
            if (f[p] == FL_F_APPEND)
                fl_value_str(h, fl_rng_chance(r, 0.5) ? "x" : "y", 1, &in[p]);
            e.type = FL_EV_INVOKE;
        } else {
            pending[p] = 0;
            uint64_t t = fl_rng_below(r, 10);
            e.type = t < 7 ? FL_EV_OK : t < 8 ? FL_EV_FAIL : FL_EV_INFO;
        }
        e.f = (uint8_t)f[p];
        e.key = k[p];
        e.pair = f[p] == FL_F_CAS;
        e.value = in[p];
        e.value2 = in2[p];
        if ((f[p] == FL_F_READ || f[p] == FL_F_GET))
            e.value = e.type == FL_EV_OK ? lin_case_small_value(r, true) : fl_value_nil();
        if (f[p] == FL_F_DELETE)
            e.value.kind = FL_VALUE_NONE;
        if ((e.type == FL_EV_FAIL || e.type == FL_EV_INFO) && fl_rng_chance(r, 0.5))
            junk_value(h, r, &e);
        fl_history_add(h, &e);
    }
}

/* The initial value of a case: nil mostly, else one of the small values (or, for kv, a
 * string, as append-style tests read a missing key as ""). */
static fl_value random_initial(fl_history *h, fl_model m, fl_rng *r)
{
    uint64_t x = fl_rng_below(r, 6);
    fl_value v = fl_value_nil();
    if (x == 3 || x == 4)
        v = fl_value_int((int64_t)x - 2);
    bool empty = fl_rng_chance(r, 0.5);
    if (x == 5 && m == FL_MODEL_KV)
        fl_value_str(h, empty ? "" : "x", empty ? 0 : 1, &v);
    return v;
}

static void brute_cases(fl_model m, fl_consistency c, int cases, uint64_t seed)
{
    fl_rng r;
    fl_rng_seed(&r, seed);
    int verdicts[3] = {0}, initial = 0, apart = 0;
    for (int i = 0; i < cases; i++) {
        fl_history h;
        fl_history_init(&h);
        random_history(&h, m, &r, 1 + (int)fl_rng_below(&r, 8), 1 + (int)fl_rng_below(&r, 4));
        fl_lincheck_opts o;
        fl_lincheck_opts_init(&o);
        o.model = m;
        o.consistency = c;
        o.threads = 1;
        o.all_keys = fl_rng_chance(&r, 0.5);
        o.initial = random_initial(&h, m, &r);
        initial += o.initial.kind != FL_VALUE_NIL;
        int want = fl_lincheck_brute(&h, &o);
        int got = check_with(&h, &o);
        if (want != got) {
            fl_buf b;
            fl_buf_init(&b);
            fl_history_write_jsonl(&h, &b);
            fprintf(stderr, "  case %d (%s, initial kind %u): brute %d, checker %d\n%.*s", i,
                    fl_consistency_name(c), o.initial.kind, want, got, (int)b.len,
                    (const char *)b.data);
            fl_buf_free(&b);
        }
        CHECK_EQ(got, want);
        verdicts[got]++;
        o.consistency = FL_CONS_LINEARIZABLE; /* cases where the two models disagree */
        apart += got == FL_LIN_OK && fl_lincheck_brute(&h, &o) == FL_LIN_VIOLATION;
        fl_history_free(&h);
    }
    CHECK(verdicts[FL_LIN_OK] > cases / 10);
    CHECK(verdicts[FL_LIN_VIOLATION] > cases / 10);
    CHECK(initial > cases / 5);
    if (c == FL_CONS_SEQUENTIAL) { /* sequentially consistent, not linearizable: both occur */
        printf("  %s: %d of %d cases sequentially consistent, not linearizable\n", fl_model_name(m),
               apart, cases);
        CHECK(apart > cases / 100);
    }
}

TEST(brute_force_agrees_register)
{
    brute_cases(FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE, 10000, 11);
}

TEST(brute_force_agrees_cas_register)
{
    brute_cases(FL_MODEL_CAS_REGISTER, FL_CONS_LINEARIZABLE, 10000, 12);
}

TEST(brute_force_agrees_kv)
{
    brute_cases(FL_MODEL_KV, FL_CONS_LINEARIZABLE, 10000, 13);
}

TEST(brute_force_agrees_sequential_register)
{
    brute_cases(FL_MODEL_REGISTER, FL_CONS_SEQUENTIAL, 10000, 14);
}

TEST(brute_force_agrees_sequential_cas_register)
{
    brute_cases(FL_MODEL_CAS_REGISTER, FL_CONS_SEQUENTIAL, 10000, 15);
}

TEST(brute_force_agrees_sequential_kv)
{
    brute_cases(FL_MODEL_KV, FL_CONS_SEQUENTIAL, 10000, 16);
}

/* Few distinct values (as Jepsen's cas-register workload uses 0..4): values repeat, so the
 * pruning that relies on who wrote what is weaker; generated histories stay linearizable. */
TEST(random_generated_few_values)
{
    fl_rng r;
    fl_rng_seed(&r, 4);
    for (int i = 0; i < 1500; i++) {
        fl_model m = (fl_model)(i % 3);
        fl_histgen_opts o;
        gen_opts(&o, m, 400000 + (uint64_t)i, &r);
        o.value_range = 1 + (uint32_t)fl_rng_below(&r, 5);
        o.cas_ratio = fl_rng_double(&r) * 0.4;
        fl_history h;
        fl_history_init(&h);
        CHECK_EQ(fl_histgen_run(&h, &o), 0);
        int v = check(&h, m, 1);
        if (v != FL_LIN_OK)
            fprintf(stderr, "  seed %llu: generated history judged %d\n",
                    (unsigned long long)o.seed, v);
        CHECK_EQ(v, FL_LIN_OK);
        fl_history_free(&h);
    }
}
