/* test_lincheck.c: the linearizability checker on small histories from the literature and
 * on hand-written cases for each model, each with its expected verdict; and the
 * counterexample it reports. */
#include "lin_case.h"
#include "test.h"

#include "faultline/error.h"
#include "faultline/lincheck.h"

#include <stdlib.h>

static int verdict_of(const char *jsonl, fl_model model)
{
    return lin_case(jsonl, model, FL_CONS_LINEARIZABLE, NULL);
}

#define INV(p, f, v)  "{\"process\":" #p ",\"type\":\"invoke\",\"f\":\"" f "\",\"value\":" v "}\n"
#define OK(p, f, v)   "{\"process\":" #p ",\"type\":\"ok\",\"f\":\"" f "\",\"value\":" v "}\n"
#define FAIL(p, f, v) "{\"process\":" #p ",\"type\":\"fail\",\"f\":\"" f "\",\"value\":" v "}\n"
#define INFO(p, f, v) "{\"process\":" #p ",\"type\":\"info\",\"f\":\"" f "\",\"value\":" v "}\n"

TEST(lin_empty_and_sequential)
{
    CHECK_EQ(verdict_of("", FL_MODEL_REGISTER), FL_LIN_OK);
    CHECK_EQ(verdict_of(INV(0, "write", "1") OK(0, "write", "1") INV(0, "read", "null")
                            OK(0, "read", "1"),
                        FL_MODEL_REGISTER),
             FL_LIN_OK);
    CHECK_EQ(verdict_of(INV(0, "read", "null") OK(0, "read", "null"), FL_MODEL_REGISTER),
             FL_LIN_OK);
}

TEST(lin_read_of_initial_after_write_is_a_violation)
{
    CHECK_EQ(verdict_of(INV(0, "write", "1") OK(0, "write", "1") INV(1, "read", "null")
                            OK(1, "read", "null"),
                        FL_MODEL_REGISTER),
             FL_LIN_VIOLATION);
}

TEST(lin_concurrent_read_may_see_either)
{
    const char *h = INV(0, "write", "1") INV(1, "read", "null") OK(1, "read", "null")
        INV(2, "read", "null") OK(2, "read", "1") OK(0, "write", "1");
    CHECK_EQ(verdict_of(h, FL_MODEL_REGISTER), FL_LIN_OK);
}

/* Herlihy and Wing's new-old inversion: a read that starts after another read returned the
 * new value must not return the old one. */
TEST(lin_new_old_inversion)
{
    const char *bad = INV(0, "write", "1") INV(1, "read", "null") OK(1, "read", "1")
        INV(2, "read", "null") OK(2, "read", "null") OK(0, "write", "1");
    CHECK_EQ(verdict_of(bad, FL_MODEL_REGISTER), FL_LIN_VIOLATION);
    const char *fine = INV(0, "write", "1") INV(1, "read", "null") INV(2, "read", "null")
        OK(1, "read", "1") OK(2, "read", "null") OK(0, "write", "1");
    CHECK_EQ(verdict_of(fine, FL_MODEL_REGISTER), FL_LIN_OK);
}

TEST(lin_write_order_must_respect_real_time)
{
    const char *bad = INV(0, "write", "1") OK(0, "write", "1") INV(0, "write", "2")
        OK(0, "write", "2") INV(1, "read", "null") OK(1, "read", "1");
    CHECK_EQ(verdict_of(bad, FL_MODEL_REGISTER), FL_LIN_VIOLATION);
    const char *fine = INV(0, "write", "1") INV(1, "write", "2") OK(0, "write", "1")
        OK(1, "write", "2") INV(2, "read", "null") OK(2, "read", "1");
    CHECK_EQ(verdict_of(fine, FL_MODEL_REGISTER), FL_LIN_OK);
}

TEST(lin_info_write_may_happen_late_or_never)
{
    const char *late = INV(0, "write", "1") INFO(0, "write", "1") INV(1, "read", "null")
        OK(1, "read", "null") INV(1, "read", "null") OK(1, "read", "1");
    CHECK_EQ(verdict_of(late, FL_MODEL_REGISTER), FL_LIN_OK);
    const char *never =
        INV(0, "write", "1") INFO(0, "write", "1") INV(1, "read", "null") OK(1, "read", "null");
    CHECK_EQ(verdict_of(never, FL_MODEL_REGISTER), FL_LIN_OK);
    /* but once: 1, then nil again cannot be */
    const char *twice = INV(0, "write", "1") INFO(0, "write", "1") INV(1, "read", "null")
        OK(1, "read", "1") INV(1, "read", "null") OK(1, "read", "null");
    CHECK_EQ(verdict_of(twice, FL_MODEL_REGISTER), FL_LIN_VIOLATION);
    /* never completed: the same as info, and the same process may go on under another id */
    const char *pending = INV(0, "write", "1") INV(1, "read", "null") OK(1, "read", "1");
    CHECK_EQ(verdict_of(pending, FL_MODEL_REGISTER), FL_LIN_OK);
}

TEST(lin_info_write_cannot_take_effect_before_invocation)
{
    const char *h =
        INV(1, "read", "null") OK(1, "read", "1") INV(0, "write", "1") INFO(0, "write", "1");
    CHECK_EQ(verdict_of(h, FL_MODEL_REGISTER), FL_LIN_VIOLATION);
}

TEST(lin_info_read_constrains_nothing)
{
    const char *h =
        INV(0, "write", "1") OK(0, "write", "1") INV(1, "read", "null") INFO(1, "read", "7");
    CHECK_EQ(verdict_of(h, FL_MODEL_REGISTER), FL_LIN_OK);
}

TEST(lin_failed_write_never_happened)
{
    const char *h =
        INV(0, "write", "1") FAIL(0, "write", "1") INV(1, "read", "null") OK(1, "read", "1");
    CHECK_EQ(verdict_of(h, FL_MODEL_REGISTER), FL_LIN_VIOLATION);
}

TEST(lin_cas_register)
{
    const char *ok = INV(0, "write", "0") OK(0, "write", "0") INV(1, "cas", "[0,1]")
        OK(1, "cas", "[0,1]") INV(2, "read", "null") OK(2, "read", "1");
    CHECK_EQ(verdict_of(ok, FL_MODEL_CAS_REGISTER), FL_LIN_OK);
    const char *bad =
        INV(0, "write", "0") OK(0, "write", "0") INV(1, "cas", "[5,6]") OK(1, "cas", "[5,6]");
    CHECK_EQ(verdict_of(bad, FL_MODEL_CAS_REGISTER), FL_LIN_VIOLATION);
    /* two cas from the same value cannot both succeed */
    const char *both = INV(0, "write", "0") OK(0, "write", "0") INV(1, "cas", "[0,1]")
        INV(2, "cas", "[0,2]") OK(1, "cas", "[0,1]") OK(2, "cas", "[0,2]");
    CHECK_EQ(verdict_of(both, FL_MODEL_CAS_REGISTER), FL_LIN_VIOLATION);
    /* a failed cas did nothing; an info cas may have */
    const char *info = INV(0, "write", "0") OK(0, "write", "0") INV(1, "cas", "[0,1]")
        INFO(1, "cas", "[0,1]") INV(2, "read", "null") OK(2, "read", "1");
    CHECK_EQ(verdict_of(info, FL_MODEL_CAS_REGISTER), FL_LIN_OK);
}

#define KINV(p, f, k, v)                                                                           \
    "{\"process\":" #p ",\"type\":\"invoke\",\"f\":\"" f "\",\"key\":\"" k "\",\"value\":" v "}\n"
#define KOK(p, f, k, v)                                                                            \
    "{\"process\":" #p ",\"type\":\"ok\",\"f\":\"" f "\",\"key\":\"" k "\",\"value\":" v "}\n"

TEST(lin_kv_keys_are_independent)
{
    const char *ok = KINV(0, "put", "a", "1") KINV(1, "put", "b", "2") KOK(0, "put", "a", "1")
        KOK(1, "put", "b", "2") KINV(2, "get", "a", "null") KOK(2, "get", "a", "1")
            KINV(2, "get", "b", "null") KOK(2, "get", "b", "2");
    CHECK_EQ(verdict_of(ok, FL_MODEL_KV), FL_LIN_OK);
    const char *bad = KINV(0, "put", "a", "1") KOK(0, "put", "a", "1") KINV(1, "put", "b", "2")
        KOK(1, "put", "b", "2") KINV(2, "get", "a", "null") KOK(2, "get", "a", "2");
    CHECK_EQ(verdict_of(bad, FL_MODEL_KV), FL_LIN_VIOLATION);
}

TEST(lin_kv_append_delete_cas_incr)
{
    const char *ok = KINV(0, "append", "a", "\"x\"") KOK(0, "append", "a", "\"x\"")
        KINV(1, "append", "a", "\"y\"") KINV(2, "get", "a", "null") KOK(2, "get", "a", "\"xy\"")
            KOK(1, "append", "a", "\"y\"") KINV(0, "cas", "a", "[\"xy\",3]")
                KOK(0, "cas", "a", "[\"xy\",3]") KINV(0, "incr", "a", "2") KOK(0, "incr", "a", "2")
                    KINV(0, "get", "a", "null") KOK(0, "get", "a", "5")
                        KINV(0, "delete", "a", "null") KOK(0, "delete", "a", "null")
                            KINV(0, "get", "a", "null") KOK(0, "get", "a", "null");
    CHECK_EQ(verdict_of(ok, FL_MODEL_KV), FL_LIN_OK);
    const char *order = KINV(0, "append", "a", "\"x\"") KOK(0, "append", "a", "\"x\"")
        KINV(1, "append", "a", "\"y\"") KOK(1, "append", "a", "\"y\"") KINV(2, "get", "a", "null")
            KOK(2, "get", "a", "\"yx\"");
    CHECK_EQ(verdict_of(order, FL_MODEL_KV), FL_LIN_VIOLATION);
}

TEST(lin_model_rejects_foreign_ops_and_types)
{
    CHECK_EQ(verdict_of(INV(0, "cas", "[1,2]") OK(0, "cas", "[1,2]"), FL_MODEL_REGISTER),
             FL_ESYNTAX);
    CHECK_EQ(verdict_of(INV(0, "write", "\"s\"") OK(0, "write", "\"s\""), FL_MODEL_REGISTER),
             FL_ESYNTAX);
    CHECK_EQ(verdict_of(INV(0, "write", "1") OK(0, "write", "1") INV(0, "read", "null")
                            OK(0, "read", "\"s\""),
                        FL_MODEL_CAS_REGISTER),
             FL_ESYNTAX);
    CHECK_EQ(verdict_of(INV(0, "append", "\"s\"") OK(0, "append", "\"s\""), FL_MODEL_CAS_REGISTER),
             FL_ESYNTAX);
}

TEST(lin_counterexample_names_the_blocked_op)
{
    const char *text = INV(0, "write", "1") OK(0, "write", "1") INV(0, "write", "2")
        OK(0, "write", "2") INV(1, "read", "null") OK(1, "read", "1");
    fl_history h;
    fl_history_init(&h);
    CHECK_EQ(fl_history_read_jsonl(&h, text, strlen(text), NULL), 0);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
    CHECK(r.has_cex);
    CHECK_EQ(r.cex.prefix_len, 2); /* write 1, write 2 */
    CHECK_EQ(r.cex.prefix[0], 0);
    CHECK_EQ(r.cex.prefix[1], 1);
    CHECK_STR(r.cex.state, "2");
    CHECK_EQ(r.cex.blocked, 2); /* the read of 1 */
    CHECK_EQ(r.part_count, 1);
    CHECK_EQ(r.parts[0].verdict, FL_LIN_VIOLATION);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

#include "faultline/histgen.h"

/* A history that needs a large search: many concurrent processes on one register. */
/* 20,000 ops of 60 processes; value_range 0: every write a new value, else values from a few */
static void generated(fl_history *h, uint32_t value_range)
{
    fl_histgen_opts g;
    fl_histgen_opts_init(&g);
    g.ops = 20000;
    g.processes = 60;
    g.info_ratio = 0.02;
    g.value_range = value_range;
    g.seed = 5;
    fl_history_init(h);
    CHECK_EQ(fl_histgen_run(h, &g), 0);
}

static void hard_history(fl_history *h)
{
    generated(h, 0);
}

TEST(lin_timeout_gives_unknown)
{
    /* hard_history takes the search ~0.1 s, so a 50 ms limit raced the clock: under ASan on a
     * loaded machine the history's indexing used the time up and the search stopped at prefix
     * 0. With five values written over and over the search reaches op ~11,500 in under 50 ms
     * and then needs ~20 s (measured): a 300 ms limit stops it in that stretch, every time. */
    fl_history h;
    generated(&h, 5);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.timeout_ns = 300 * FL_NS_PER_MS;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_UNKNOWN);
    CHECK_EQ(r.parts[0].unknown, 1);
    CHECK(r.parts[0].prefix > 0); /* how far it got */
    CHECK(r.parts[0].prefix < r.parts[0].ops);
    CHECK(r.stats.elapsed_ns < 2 * FL_NS_PER_S);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

TEST(lin_memory_limit_gives_unknown)
{
    fl_history h;
    hard_history(&h);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.memory_max_bytes = 1 << 20;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_UNKNOWN);
    CHECK_EQ(r.parts[0].unknown, 2);
    CHECK(r.stats.memo_bytes <= 1 << 20);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

TEST(lin_in_memory_history_like_the_simulator)
{
    /* the simulator's use: events appended in memory, then checked */
    fl_history h;
    fl_history_init(&h);
    uint32_t k;
    CHECK_EQ(fl_history_intern(&h, "x", 1, &k), 0);
    fl_event e = {.process = 1,
                  .type = FL_EV_INVOKE,
                  .f = FL_F_PUT,
                  .key = k,
                  .value = fl_value_int(5),
                  .time = 10};
    CHECK_EQ(fl_history_add(&h, &e), 0);
    e.type = FL_EV_OK;
    e.time = 20;
    CHECK_EQ(fl_history_add(&h, &e), 0);
    fl_event g = {.process = 2, .type = FL_EV_INVOKE, .f = FL_F_GET, .key = k, .time = 30};
    CHECK_EQ(fl_history_add(&h, &g), 0);
    g.type = FL_EV_OK;
    g.value = fl_value_nil();
    g.time = 40;
    CHECK_EQ(fl_history_add(&h, &g), 0);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_VIOLATION);
    CHECK_EQ(r.cex.key, k);
    CHECK_STR(r.cex.state, "5");
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}

TEST(lin_history_event_shorthand)
{
    fl_history h;
    fl_history_init(&h);
    fl_value none = {0};
    CHECK_EQ(fl_history_event(&h, 1, FL_EV_INVOKE, FL_F_WRITE, "r", fl_value_int(0), none, 1), 0);
    CHECK_EQ(fl_history_event(&h, 1, FL_EV_OK, FL_F_WRITE, "r", fl_value_int(0), none, 2), 0);
    CHECK_EQ(
        fl_history_event(&h, 2, FL_EV_INVOKE, FL_F_CAS, "r", fl_value_int(0), fl_value_int(1), 3),
        0);
    CHECK_EQ(
        fl_history_event(&h, 2, FL_EV_INFO, FL_F_CAS, "r", fl_value_int(0), fl_value_int(1), 4), 0);
    CHECK_EQ(fl_history_event(&h, 3, FL_EV_INVOKE, FL_F_READ, "r", fl_value_nil(), none, 5), 0);
    CHECK_EQ(fl_history_event(&h, 3, FL_EV_OK, FL_F_READ, "r", fl_value_int(1), none, 6), 0);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_CAS_REGISTER;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_OK);
    fl_lincheck_result_free(&r);
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_history_write_jsonl(&h, &b), 0);
    CHECK(strstr((const char *)b.data, "\"f\":\"cas\",\"key\":\"r\",\"value\":[0,1]") != NULL);
    fl_buf_free(&b);
    fl_history_free(&h);
}

TEST(lin_memory_limit_counts_appended_values)
{
    fl_history h;
    fl_history_init(&h);
    fl_histgen_opts g;
    fl_histgen_opts_init(&g);
    g.model = FL_MODEL_KV;
    g.keys = 1;
    g.ops = 3000;
    g.processes = 8;
    g.appends = true;
    g.info_ratio = 0.05;
    g.seed = 9;
    CHECK_EQ(fl_histgen_run(&h, &g), 0);
    fl_lincheck_opts o;
    fl_lincheck_opts_init(&o);
    o.model = FL_MODEL_KV;
    o.memory_max_bytes = 64 << 10;
    fl_lincheck_result r;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_UNKNOWN);
    CHECK_EQ(r.parts[0].unknown, 2);
    fl_lincheck_result_free(&r);
    o.memory_max_bytes = 0;
    o.timeout_ns = 10 * FL_NS_PER_S;
    CHECK_EQ(fl_lincheck_run(&h, &o, &r, NULL), 0);
    CHECK_EQ(r.verdict, FL_LIN_OK);
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
}
