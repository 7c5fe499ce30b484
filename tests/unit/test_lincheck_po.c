/* test_lincheck_po.c: program order in pipelined histories (history.h: a process is a
 * connection with several ops pending at once, answered in order, taking effect in order).
 *
 *   - pairing: completions close a process's oldest pending op; a second invocation while
 *     one is pending is an error unless the history is pipelined, and the error says so;
 *   - hand-written cases: a read that overtakes its own connection's earlier write is caught
 *     (the same history with the read on another connection is linearizable); what checking
 *     key by key cannot see (a reordering across two keys, real time across keys) and the
 *     whole-history searches do see, up to 16 keys (beyond, key by key only);
 *   - random small pipelined histories: the checker agrees with the brute-force checker, for
 *     linearizability and sequential consistency, on every model;
 *   - generated pipelined histories (linearizable with program order by construction) pass,
 *     and the program-order mutation (a read returning the value its own pending write
 *     overwrote) is always caught. */
#include "lin_case.h"
#include "test.h"

#include "faultline/error.h"
#include "faultline/histgen.h"
#include "faultline/lincheck.h"

#include <stdlib.h>
#include <string.h>

/* A hand-written history (pipelined or not), checked and cross-checked by brute force. */
static int po_case(const char *jsonl, bool pipelined, fl_model model, fl_consistency cons)
{
    return lin_case_with(jsonl, pipelined, model, cons, NULL);
}

/* p0 sends write 1 and a read together; the write is answered first, the read says nil. */
static const char *overtaking_read =
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
    "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
    "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n";

/* The same, the read on another connection: it may take effect before the write. */
static const char *other_connection =
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
    "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
    "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
    "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n";

TEST(pipelined_pairing_is_first_in_first_out)
{
    fl_history h;
    fl_history_init(&h);
    fl_history_error err = {0};
    CHECK_EQ(fl_history_read_jsonl(&h, overtaking_read, strlen(overtaking_read), &err), 0);
    fl_op *ops;
    size_t n;
    CHECK_EQ(fl_history_ops(&h, &ops, &n, &err), FL_ESYNTAX);
    CHECK(strstr(err.msg, "--pipelined") != NULL);
    h.pipelined = true;
    CHECK_EQ(fl_history_ops(&h, &ops, &n, &err), 0);
    CHECK_EQ(n, 2u);
    CHECK_EQ(ops[0].f, FL_F_WRITE);
    CHECK_EQ(ops[0].ret, 2u); /* the first completion closes the oldest pending op */
    CHECK_EQ(ops[1].f, FL_F_READ);
    CHECK_EQ(ops[1].ret, 3u);
    free(ops);
    fl_history_free(&h);
}

TEST(pipelined_read_that_overtakes_its_own_write_is_caught)
{
    CHECK_EQ(po_case(overtaking_read, true, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE),
             FL_LIN_VIOLATION);
    CHECK_EQ(po_case(overtaking_read, true, FL_MODEL_REGISTER, FL_CONS_SEQUENTIAL),
             FL_LIN_VIOLATION);
    CHECK_EQ(po_case(other_connection, false, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_LIN_OK);
    CHECK_EQ(po_case(other_connection, true, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_LIN_OK);
}

TEST(pipelined_in_order_answers_pass_and_info_ops_bind_nothing)
{
    /* the read sees its connection's write */
    const char *sees = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                       "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                       "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                       "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n";
    CHECK_EQ(po_case(sees, true, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_LIN_OK);
    /* an info write before the read: it may never take effect, so nil is fine; 2 too */
    const char *info = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":2}\n"
                       "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                       "{\"process\":0,\"type\":\"info\",\"f\":\"write\",\"value\":2}\n"
                       "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n";
    CHECK_EQ(po_case(info, true, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_LIN_OK);
    /* an info write after an ok write of the same connection: if it takes effect, it is
     * after that one; a later read by another process of 1 after seeing 3 is then stale */
    const char *after = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n"
                        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                        "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n"
                        "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                        "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"
                        "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                        "{\"process\":0,\"type\":\"info\",\"f\":\"write\",\"value\":3}\n";
    CHECK_EQ(po_case(after, true, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_LIN_VIOLATION);
    CHECK_EQ(po_case(after, false, FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE), FL_ESYNTAX);
}

/* Store buffering across two keys: p0 writes x then reads y, p1 writes y then reads x, all
 * four pipelined and overlapping; both reads miss the other's write. Key by key each read
 * can go before the other's write (each key alone is linearizable with program order), but
 * no single order has both: p0's write x < its read y < p1's write y < its read x < p0's
 * write x. Checking key by key cannot see it; the whole-history searches (with real time
 * for linearizability, without for sequential consistency) do. */
static const char *store_buffering =
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
    "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"y\"}\n"
    "{\"process\":1,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"y\",\"value\":1}\n"
    "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n"
    "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
    "{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"y\",\"value\":null}\n"
    "{\"process\":1,\"type\":\"ok\",\"f\":\"put\",\"key\":\"y\",\"value\":1}\n"
    "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":null}\n";

TEST(pipelined_reordering_across_keys_needs_the_whole_history)
{
    const char *sb = store_buffering;
    CHECK_EQ(po_case(sb, true, FL_MODEL_KV, FL_CONS_LINEARIZABLE), FL_LIN_VIOLATION);
    CHECK_EQ(po_case(sb, true, FL_MODEL_KV, FL_CONS_SEQUENTIAL), FL_LIN_VIOLATION);
    fl_history h; /* each key alone is linearizable with program order */
    fl_history_init(&h);
    CHECK_EQ(fl_history_read_jsonl(&h, sb, strlen(sb), NULL), 0);
    h.pipelined = true;
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    o.all_keys = true;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK(r.whole_po);
    CHECK_EQ(r.part_count, 2u);
    CHECK_EQ(r.parts[0].verdict, FL_LIN_OK);
    CHECK_EQ(r.parts[1].verdict, FL_LIN_OK);
    CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

/* Real time across keys: p0's write x completes before p2 writes z; p1 pipelines a read of
 * z (sees p2's write) then a read of x (misses p0's). Each key alone is linearizable (both
 * reads overlap the writes they miss or see), and without real time the order put z, get z,
 * get x, put x is sequentially consistent; with it, put x < put z < get z < get x (program
 * order), so get x must see 1. Only the whole search with real time catches it. */
TEST(pipelined_real_time_across_keys_needs_the_whole_history)
{
    const char *rt = "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
                     "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"z\"}\n"
                     "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\"}\n"
                     "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
                     "{\"process\":2,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"z\",\"value\":1}\n"
                     "{\"process\":2,\"type\":\"ok\",\"f\":\"put\",\"key\":\"z\",\"value\":1}\n"
                     "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"z\",\"value\":1}\n"
                     "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":null}\n";
    CHECK_EQ(po_case(rt, true, FL_MODEL_KV, FL_CONS_LINEARIZABLE), FL_LIN_VIOLATION);
    CHECK_EQ(po_case(rt, true, FL_MODEL_KV, FL_CONS_SEQUENTIAL), FL_LIN_OK);
}

/* Beyond 16 keys the whole history is not searched (lincheck.h): the store buffering history
 * with 15 more keys (one write each) passes, and the result says program order was checked
 * key by key only. The limit, stated. */
TEST(pipelined_over_16_keys_is_checked_key_by_key_only)
{
    char text[4096];
    int len = snprintf(text, sizeof(text), "%s", store_buffering);
    for (int k = 0; k < 15; k++)
        len += snprintf(text + len, sizeof(text) - (size_t)len,
                        "{\"process\":2,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"k%d\","
                        "\"value\":1}\n{\"process\":2,\"type\":\"ok\",\"f\":\"put\","
                        "\"key\":\"k%d\",\"value\":1}\n",
                        k, k);
    fl_history h;
    fl_history_init(&h);
    CHECK_EQ(fl_history_read_jsonl(&h, text, (size_t)len, NULL), 0);
    h.pipelined = true;
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.part_count, 17u);
    CHECK(r.po_keys_only);
    CHECK(!r.whole_po);
    CHECK_EQ(r.verdict, FL_LIN_OK);
    fl_lincheck_result_free(&r);
    o.consistency = FL_CONS_SEQUENTIAL; /* the sequential search has no such limit */
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

/* ---- random small pipelined histories against the brute force ------------------------- */

#define PROCS_MAX 3
#define DEPTH_MAX 3

/* A random history of n ops over procs processes, each with up to DEPTH_MAX ops pending,
 * answered in order; values from a few small ones (so twins and repeats happen). */
static void random_pipelined(fl_history *h, fl_model m, fl_rng *r, int n, int procs)
{
    h->pipelined = true;
    struct pend {
        fl_event ev[DEPTH_MAX];
        int head, count;
    } p[PROCS_MAX];
    memset(p, 0, sizeof(p));
    uint32_t key[2];
    fl_history_intern(h, "a", 1, &key[0]);
    fl_history_intern(h, "b", 1, &key[1]);
    int started = 0, open = 0;
    for (int step = 0; step < 200 && (started < n || open); step++) {
        struct pend *q = &p[fl_rng_below(r, (uint64_t)procs)];
        bool invoke = started < n && q->count < DEPTH_MAX && (!q->count || fl_rng_chance(r, 0.5));
        if (!invoke && !q->count)
            continue;
        if (invoke) {
            fl_event e = {.process = q - p, .type = FL_EV_INVOKE, .f = lin_case_random_f(r, m)};
            e.key = m == FL_MODEL_KV ? key[fl_rng_below(r, 2)] : FL_KEY_NONE;
            e.pair = e.f == FL_F_CAS;
            e.value = lin_case_small_value(r, false);
            e.value2 = lin_case_small_value(r, false);
            if (e.f == FL_F_APPEND)
                fl_value_str(h, fl_rng_chance(r, 0.5) ? "x" : "y", 1, &e.value);
            if (e.f == FL_F_READ || e.f == FL_F_GET)
                e.value = fl_value_nil();
            if (e.f == FL_F_DELETE)
                e.value.kind = FL_VALUE_NONE;
            fl_history_add(h, &e);
            q->ev[(q->head + q->count++) % DEPTH_MAX] = e;
            started++, open++;
            continue;
        }
        fl_event e = q->ev[q->head];
        q->head = (q->head + 1) % DEPTH_MAX;
        q->count--, open--;
        uint64_t t = fl_rng_below(r, 10);
        e.type = t < 7 ? FL_EV_OK : t < 8 ? FL_EV_FAIL : FL_EV_INFO;
        if ((e.f == FL_F_READ || e.f == FL_F_GET) && e.type == FL_EV_OK)
            e.value = lin_case_small_value(r, true);
        fl_history_add(h, &e);
    }
}

static void brute_cases(fl_model m, fl_consistency c, int cases, uint64_t seed)
{
    fl_rng r;
    fl_rng_seed(&r, seed);
    int verdicts[3] = {0};
    for (int i = 0; i < cases; i++) {
        fl_history h;
        fl_history_init(&h);
        random_pipelined(&h, m, &r, 2 + (int)fl_rng_below(&r, 7), 1 + (int)fl_rng_below(&r, 3));
        fl_lincheck_opts o;
        fl_lincheck_opts_init(&o);
        o.model = m;
        o.consistency = c;
        o.threads = 1;
        o.all_keys = fl_rng_chance(&r, 0.5);
        int want = fl_lincheck_brute(&h, &o);
        int got = lin_case_verdict(&h, &o);
        if (want != got) {
            fl_buf b;
            fl_buf_init(&b);
            fl_history_write_jsonl(&h, &b);
            fprintf(stderr, "  case %d (%s %s): brute %d, checker %d\n%.*s", i, fl_model_name(m),
                    fl_consistency_name(c), want, got, (int)b.len, (const char *)b.data);
            fl_buf_free(&b);
        }
        CHECK_EQ(got, want);
        if (got >= 0 && got <= 2)
            verdicts[got]++;
        fl_history_free(&h);
    }
    printf("  %s %s: %d linearizable, %d not\n", fl_model_name(m), fl_consistency_name(c),
           verdicts[FL_LIN_OK], verdicts[FL_LIN_VIOLATION]);
    CHECK(verdicts[FL_LIN_OK] > cases / 10);
    CHECK(verdicts[FL_LIN_VIOLATION] > cases / 10);
}

TEST(pipelined_brute_force_agrees_register)
{
    brute_cases(FL_MODEL_REGISTER, FL_CONS_LINEARIZABLE, 10000, 21);
    brute_cases(FL_MODEL_REGISTER, FL_CONS_SEQUENTIAL, 5000, 22);
}

TEST(pipelined_brute_force_agrees_cas_register)
{
    brute_cases(FL_MODEL_CAS_REGISTER, FL_CONS_LINEARIZABLE, 10000, 23);
    brute_cases(FL_MODEL_CAS_REGISTER, FL_CONS_SEQUENTIAL, 5000, 24);
}

TEST(pipelined_brute_force_agrees_kv)
{
    brute_cases(FL_MODEL_KV, FL_CONS_LINEARIZABLE, 10000, 25);
    brute_cases(FL_MODEL_KV, FL_CONS_SEQUENTIAL, 5000, 26);
}

/* ---- generated pipelined histories --------------------------------------------------- */

static void generated(fl_model m, int cases, uint64_t seed0)
{
    fl_rng r;
    fl_rng_seed(&r, seed0);
    int broken = 0, depth_seen = 0;
    for (int i = 0; i < cases; i++) {
        fl_histgen_opts o;
        fl_histgen_opts_init(&o);
        o.model = m;
        o.seed = seed0 * 100000 + (uint64_t)i;
        o.ops = 20 + (uint32_t)fl_rng_below(&r, 200);
        o.processes = 1 + (uint32_t)fl_rng_below(&r, 6);
        o.pipeline = 2 + (uint32_t)fl_rng_below(&r, 7);
        o.keys = m == FL_MODEL_KV ? 1 + (uint32_t)fl_rng_below(&r, 3) : 0;
        o.info_ratio = fl_rng_double(&r) * 0.1;
        o.fail_ratio = fl_rng_double(&r) * 0.1;
        o.read_ratio = 0.3 + fl_rng_double(&r) * 0.4;
        fl_history h;
        fl_history_init(&h);
        CHECK_EQ(fl_histgen_run(&h, &o), 0);
        CHECK(h.pipelined);
        fl_lincheck_opts lo;
        fl_lincheck_opts_init(&lo);
        lo.model = m;
        lo.threads = 1 + (unsigned)(i % 2);
        int v = lin_case_verdict(&h, &lo);
        if (v != FL_LIN_OK)
            fprintf(stderr, "  seed %llu: generated history judged %d\n",
                    (unsigned long long)o.seed, v);
        CHECK_EQ(v, FL_LIN_OK);
        /* some process really had several ops pending */
        for (size_t e = 1; e < h.count && !depth_seen; e++)
            depth_seen = h.events[e].type == FL_EV_INVOKE && h.events[e - 1].type == FL_EV_INVOKE &&
                         h.events[e].process == h.events[e - 1].process;
        if (fl_histgen_break(&h, FL_MUT_PROGRAM_ORDER, &r) == 0) {
            broken++;
            v = lin_case_verdict(&h, &lo);
            if (v != FL_LIN_VIOLATION)
                fprintf(stderr, "  seed %llu: program-order mutation judged %d\n",
                        (unsigned long long)o.seed, v);
            CHECK_EQ(v, FL_LIN_VIOLATION);
        }
        fl_history_free(&h);
    }
    printf("  %s: %d of %d broken by the program-order mutation, all caught\n", fl_model_name(m),
           broken, cases);
    CHECK(depth_seen);
    CHECK(broken > cases / 4);
}

TEST(pipelined_generated_histories_pass_and_reorderings_are_caught)
{
    generated(FL_MODEL_REGISTER, 1000, 31);
    generated(FL_MODEL_CAS_REGISTER, 1000, 32);
    generated(FL_MODEL_KV, 1000, 33);
}
