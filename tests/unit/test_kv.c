/* test_kv.c: unit tests for kv/: command semantics, encodings, exactly-once sessions,
 * expiry and eviction by log time, snapshot / restore, digest, determinism, and robustness
 * against random and mutated bytes. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/kv.h"
#include "faultline/kv_order.h"
#include "faultline/rng.h"

#include <stdlib.h>
#include <string.h>

/* A kv plus the log index and encoding buffer a test drives it with. */
typedef struct fixture {
    fl_kv kv;
    fl_index index;
    fl_buf entry;
    fl_kv_result res;
    uint64_t seqs[4];     /* random_history: last seq of clients 1..3 */
    uint64_t last[4];     /* random_history: hash of the result of that seq */
    uint64_t results;     /* random_history: a hash of every result */
    uint32_t retries_hit; /* random_history: commands sent again with the same seq */
} fixture;

static void fx_init(fixture *f, const fl_kv_config *c)
{
    memset(f, 0, sizeof(*f));
    CHECK_EQ(fl_kv_init(&f->kv, c), 0);
    fl_buf_init(&f->entry);
}

static void fx_close(fixture *f)
{
    CHECK(fl_kv_invariants(&f->kv));
    fl_kv_close(&f->kv);
    fl_buf_free(&f->entry);
}

/* Encodes c, applies it at the next index, returns the status. */
static fl_kv_status fx_apply(fixture *f, const fl_kv_cmd *c)
{
    fl_buf_reset(&f->entry);
    CHECK_EQ(fl_kv_cmd_encode(c, &f->entry), 0);
    CHECK_EQ(fl_kv_apply(&f->kv, ++f->index, f->entry.data, f->entry.len, &f->res), 0);
    return f->res.status;
}

static fl_kv_cmd cmd(fl_kv_op op, const char *key, const char *value)
{
    fl_kv_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.key = (const uint8_t *)key;
    c.key_len = key ? strlen(key) : 0;
    c.value = (const uint8_t *)value;
    c.value_len = value ? strlen(value) : 0;
    return c;
}

static fl_kv_status run(fixture *f, fl_kv_op op, const char *key, const char *value)
{
    fl_kv_cmd c = cmd(op, key, value);
    return fx_apply(f, &c);
}

static fl_kv_status incr(fixture *f, const char *key, int64_t delta)
{
    fl_kv_cmd c = cmd(FL_KV_INCR, key, NULL);
    c.delta = delta;
    return fx_apply(f, &c);
}

/* cas(key, expect or NULL for "absent", new value) */
static fl_kv_status cas(fixture *f, const char *key, const char *expect, const char *value)
{
    fl_kv_cmd c = cmd(FL_KV_CAS, key, value);
    c.expect_absent = expect == NULL;
    c.expect = (const uint8_t *)expect;
    c.expect_len = expect ? strlen(expect) : 0;
    return fx_apply(f, &c);
}

/* True if the last result carries exactly the text s. */
static bool res_is(const fixture *f, const char *s)
{
    size_t n = strlen(s);
    return f->res.has_value && f->res.value_len == n && (n == 0 || memcmp(f->res.value, s, n) == 0);
}

TEST(kv_get_put_delete)
{
    fixture f;
    fx_init(&f, NULL);
    CHECK_EQ(run(&f, FL_KV_GET, "a", NULL), FL_KV_NOT_FOUND);
    CHECK(!f.res.has_value);
    CHECK_EQ(run(&f, FL_KV_PUT, "a", "1"), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_GET, "a", NULL), FL_KV_OK);
    CHECK(res_is(&f, "1"));
    CHECK_EQ(run(&f, FL_KV_PUT, "a", "two"), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_GET, "a", NULL), FL_KV_OK);
    CHECK(res_is(&f, "two"));
    CHECK_EQ(run(&f, FL_KV_PUT, "b", ""), FL_KV_OK); /* empty value is a value */
    CHECK_EQ(run(&f, FL_KV_GET, "b", NULL), FL_KV_OK);
    CHECK(res_is(&f, ""));
    CHECK_EQ(fl_kv_key_count(&f.kv), 2);
    CHECK_EQ(run(&f, FL_KV_DELETE, "a", NULL), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_DELETE, "a", NULL), FL_KV_NOT_FOUND);
    CHECK_EQ(run(&f, FL_KV_GET, "a", NULL), FL_KV_NOT_FOUND);
    CHECK_EQ(run(&f, FL_KV_NOOP, NULL, NULL), FL_KV_OK);
    CHECK_EQ(fl_kv_key_count(&f.kv), 1);
    CHECK_EQ(fl_kv_applied_index(&f.kv), f.index);
    fx_close(&f);
}

TEST(kv_binary_safe_keys_and_values)
{
    fixture f;
    fx_init(&f, NULL);
    uint8_t key[5] = {0, 'k', 0, 0xff, 0};
    uint8_t val[4] = {0, 0, 1, 0};
    fl_kv_cmd c = cmd(FL_KV_PUT, NULL, NULL);
    c.key = key;
    c.key_len = sizeof(key);
    c.value = val;
    c.value_len = sizeof(val);
    CHECK_EQ(fx_apply(&f, &c), FL_KV_OK);
    const uint8_t *v;
    size_t n;
    CHECK_EQ(fl_kv_get(&f.kv, key, sizeof(key), &v, &n), 0);
    CHECK_EQ(n, 4);
    CHECK(memcmp(v, val, 4) == 0);
    CHECK_EQ(fl_kv_get(&f.kv, key, 4, &v, &n), FL_ENOTFOUND); /* a prefix is another key */
    CHECK_EQ(run(&f, FL_KV_PUT, "", "empty key"), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_GET, "", NULL), FL_KV_OK);
    CHECK(res_is(&f, "empty key"));
    fx_close(&f);
}

TEST(kv_append)
{
    fixture f;
    fx_init(&f, NULL);
    CHECK_EQ(run(&f, FL_KV_APPEND, "l", "x"), FL_KV_OK);
    CHECK(res_is(&f, "x"));
    CHECK_EQ(run(&f, FL_KV_APPEND, "l", "yz"), FL_KV_OK);
    CHECK(res_is(&f, "xyz"));
    for (int i = 0; i < 100; i++)
        CHECK_EQ(run(&f, FL_KV_APPEND, "l", "0123456789"), FL_KV_OK);
    CHECK_EQ(f.res.value_len, 1003);
    CHECK_EQ(run(&f, FL_KV_PUT, "l", "short"), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_GET, "l", NULL), FL_KV_OK);
    CHECK(res_is(&f, "short"));
    fx_close(&f);
}

TEST(kv_incr)
{
    fixture f;
    fx_init(&f, NULL);
    CHECK_EQ(incr(&f, "n", 5), FL_KV_OK); /* missing counts as 0 */
    CHECK(res_is(&f, "5"));
    CHECK_EQ(incr(&f, "n", -7), FL_KV_OK);
    CHECK(res_is(&f, "-2"));
    CHECK_EQ(run(&f, FL_KV_GET, "n", NULL), FL_KV_OK);
    CHECK(res_is(&f, "-2"));
    CHECK_EQ(run(&f, FL_KV_PUT, "s", "abc"), FL_KV_OK);
    CHECK_EQ(incr(&f, "s", 1), FL_KV_TYPE_ERROR);
    const char *bad[] = {"", "-", "1a", " 1", "+1", "99999999999999999999", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(run(&f, FL_KV_PUT, "s", bad[i]), FL_KV_OK);
        CHECK_EQ(incr(&f, "s", 1), FL_KV_TYPE_ERROR);
    }
    CHECK_EQ(run(&f, FL_KV_GET, "s", NULL), FL_KV_OK); /* unchanged by the failed incr */
    CHECK(res_is(&f, "1.5"));
    CHECK_EQ(run(&f, FL_KV_PUT, "m", "9223372036854775807"), FL_KV_OK);
    CHECK_EQ(incr(&f, "m", 1), FL_KV_OVERFLOW);
    CHECK_EQ(incr(&f, "m", INT64_MIN), FL_KV_OK);
    CHECK(res_is(&f, "-1"));
    CHECK_EQ(run(&f, FL_KV_PUT, "m", "-9223372036854775808"), FL_KV_OK);
    CHECK_EQ(incr(&f, "m", -1), FL_KV_OVERFLOW);
    CHECK_EQ(incr(&f, "m", 0), FL_KV_OK);
    CHECK(res_is(&f, "-9223372036854775808"));
    fx_close(&f);
}

TEST(kv_cas)
{
    fixture f;
    fx_init(&f, NULL);
    CHECK_EQ(cas(&f, "r", "0", "1"), FL_KV_CAS_MISMATCH); /* missing != "0" */
    CHECK(!f.res.has_value);
    CHECK_EQ(cas(&f, "r", NULL, "1"), FL_KV_OK); /* absent expectation */
    CHECK_EQ(cas(&f, "r", NULL, "2"), FL_KV_CAS_MISMATCH);
    CHECK(res_is(&f, "1")); /* mismatch reports the current value */
    CHECK_EQ(cas(&f, "r", "1", "2"), FL_KV_OK);
    CHECK_EQ(cas(&f, "r", "1", "3"), FL_KV_CAS_MISMATCH);
    CHECK(res_is(&f, "2"));
    CHECK_EQ(run(&f, FL_KV_GET, "r", NULL), FL_KV_OK);
    CHECK(res_is(&f, "2"));
    CHECK_EQ(run(&f, FL_KV_PUT, "e", ""), FL_KV_OK);
    CHECK_EQ(cas(&f, "e", NULL, "x"), FL_KV_CAS_MISMATCH); /* empty is not absent */
    CHECK_EQ(cas(&f, "e", "", "x"), FL_KV_OK);
    fx_close(&f);
}

TEST(kv_size_limits)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    CHECK_EQ(c.key_size_max, 1024);
    CHECK_EQ(c.value_size_max, 1024 * 1024);
    c.key_size_max = 4;
    c.value_size_max = 8;
    fixture f;
    fx_init(&f, &c);
    CHECK_EQ(run(&f, FL_KV_PUT, "abcd", "12345678"), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_PUT, "abcde", "1"), FL_KV_TOO_BIG);
    CHECK_EQ(run(&f, FL_KV_GET, "abcde", NULL), FL_KV_TOO_BIG);
    CHECK_EQ(run(&f, FL_KV_PUT, "k", "123456789"), FL_KV_TOO_BIG);
    CHECK_EQ(run(&f, FL_KV_APPEND, "abcd", "9"), FL_KV_TOO_BIG);
    CHECK_EQ(run(&f, FL_KV_GET, "abcd", NULL), FL_KV_OK);
    CHECK(res_is(&f, "12345678"));
    CHECK_EQ(cas(&f, "abcd", "12345678", "123456789"), FL_KV_TOO_BIG);
    CHECK_EQ(run(&f, FL_KV_PUT, "n", "9999999"), FL_KV_OK);
    CHECK_EQ(incr(&f, "n", 1), FL_KV_OK);
    CHECK_EQ(incr(&f, "n", 100000000), FL_KV_TOO_BIG); /* 9 digits */
    CHECK_EQ(fl_kv_key_count(&f.kv), 2);
    fx_close(&f);
    c.sessions_max = 0;
    fl_kv kv;
    CHECK_EQ(fl_kv_init(&kv, &c), FL_ECONFIG);
}

TEST(kv_cmd_encoding_roundtrip)
{
    fl_kv_cmd c = cmd(FL_KV_CAS, "key", "new");
    c.client_id = 0x0102030405060708ull;
    c.seq = 42;
    c.time_ns = 123456789;
    c.expect = (const uint8_t *)"old";
    c.expect_len = 3;
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_kv_cmd_encode(&c, &b), 0);
    CHECK_EQ(b.len, 3 + 24 + 3 * 4 + 9);
    CHECK_EQ(b.data[0], FL_KV_CMD_VERSION);
    CHECK_EQ(b.data[1], FL_KV_CAS);
    CHECK_EQ(b.data[3], 0x08); /* client_id, little-endian */
    fl_kv_cmd d;
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), 0);
    CHECK_EQ(d.op, FL_KV_CAS);
    CHECK_EQ(d.client_id, c.client_id);
    CHECK_EQ(d.seq, 42);
    CHECK_EQ(d.time_ns, 123456789);
    CHECK(d.key_len == 3 && memcmp(d.key, "key", 3) == 0);
    CHECK(d.expect_len == 3 && memcmp(d.expect, "old", 3) == 0);
    CHECK(d.value_len == 3 && memcmp(d.value, "new", 3) == 0);
    CHECK(d.key >= b.data && d.key < b.data + b.len); /* points into the input */
    CHECK(!d.expect_absent);
    for (size_t n = 0; n < b.len; n++) /* every strict prefix is truncated */
        CHECK_EQ(fl_kv_cmd_decode(b.data, n, &d), FL_ETRUNC);
    fl_buf_put_u8(&b, 0);
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), FL_ECORRUPT); /* trailing byte */
    b.len--;
    b.data[0] = 2;
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), FL_EVERSION);
    b.data[0] = 1;
    b.data[1] = FL_KV_OP_COUNT;
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), FL_ETYPE);

    fl_buf_reset(&b);
    fl_kv_cmd i = cmd(FL_KV_INCR, "n", NULL);
    i.delta = -3;
    CHECK_EQ(fl_kv_cmd_encode(&i, &b), 0);
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), 0);
    CHECK_EQ(d.delta, -3);
    fl_buf_reset(&b);
    fl_kv_cmd a = cmd(FL_KV_CAS, "k", "v");
    a.expect_absent = true;
    CHECK_EQ(fl_kv_cmd_encode(&a, &b), 0);
    CHECK_EQ(b.data[2], 1);
    CHECK_EQ(fl_kv_cmd_decode(b.data, b.len, &d), 0);
    CHECK(d.expect_absent);
    a.expect_len = 1;
    a.expect = (const uint8_t *)"x";
    CHECK_EQ(fl_kv_cmd_encode(&a, &b), FL_EINVAL);
    fl_buf_free(&b);
}

TEST(kv_result_encoding_roundtrip)
{
    fl_kv_result r = {FL_KV_CAS_MISMATCH, true, (const uint8_t *)"cur", 3};
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_kv_result_encode(&r, &b), 0);
    CHECK_EQ(b.len, 3 + 4 + 3);
    fl_kv_result d;
    CHECK_EQ(fl_kv_result_decode(b.data, b.len, &d), 0);
    CHECK_EQ(d.status, FL_KV_CAS_MISMATCH);
    CHECK(d.has_value && d.value_len == 3 && memcmp(d.value, "cur", 3) == 0);
    for (size_t n = 0; n < b.len; n++)
        CHECK(fl_kv_result_decode(b.data, n, &d) == FL_ETRUNC);
    b.data[1] = FL_KV_STATUS_COUNT;
    CHECK_EQ(fl_kv_result_decode(b.data, b.len, &d), FL_ECORRUPT);
    fl_buf_reset(&b);
    fl_kv_result nf = {FL_KV_NOT_FOUND, false, NULL, 0};
    CHECK_EQ(fl_kv_result_encode(&nf, &b), 0);
    CHECK_EQ(fl_kv_result_decode(b.data, b.len, &d), 0);
    CHECK(d.status == FL_KV_NOT_FOUND && !d.has_value);
    CHECK_STR(fl_kv_status_name(FL_KV_SESSION_EXPIRED), "session_expired");
    CHECK_STR(fl_kv_op_name(FL_KV_APPEND), "append");
    fl_buf_free(&b);
}

/* A command in client c's session. */
static fl_kv_cmd sess(fl_kv_cmd c, uint64_t client, uint64_t seq, fl_time_ns t)
{
    c.client_id = client;
    c.seq = seq;
    c.time_ns = t;
    return c;
}

TEST(kv_exactly_once_retry_returns_first_result)
{
    fixture f;
    fx_init(&f, NULL);
    fl_kv_cmd a = sess(cmd(FL_KV_APPEND, "l", "x"), 7, 1, 100);
    CHECK_EQ(fx_apply(&f, &a), FL_KV_OK);
    CHECK(res_is(&f, "x"));
    CHECK_EQ(fx_apply(&f, &a), FL_KV_OK); /* a retry: not applied again */
    CHECK(res_is(&f, "x"));
    fl_kv_cmd g = cmd(FL_KV_GET, "l", NULL);
    CHECK_EQ(fx_apply(&f, &g), FL_KV_OK);
    CHECK(res_is(&f, "x"));
    fl_kv_cmd i1 = sess(cmd(FL_KV_INCR, "n", NULL), 7, 2, 200);
    i1.delta = 10;
    CHECK_EQ(fx_apply(&f, &i1), FL_KV_OK);
    CHECK_EQ(run(&f, FL_KV_PUT, "n", "1000"), FL_KV_OK); /* someone else writes */
    CHECK_EQ(fx_apply(&f, &i1), FL_KV_OK);               /* retry: first result, no effect */
    CHECK(res_is(&f, "10"));
    CHECK_EQ(run(&f, FL_KV_GET, "n", NULL), FL_KV_OK);
    CHECK(res_is(&f, "1000"));
    /* a retried cas that failed the first time keeps failing the same way */
    fl_kv_cmd c3 = sess(cmd(FL_KV_CAS, "n", "1"), 7, 3, 300);
    c3.expect = (const uint8_t *)"5";
    c3.expect_len = 1;
    CHECK_EQ(fx_apply(&f, &c3), FL_KV_CAS_MISMATCH);
    CHECK(res_is(&f, "1000"));
    CHECK_EQ(run(&f, FL_KV_PUT, "n", "5"), FL_KV_OK);
    CHECK_EQ(fx_apply(&f, &c3), FL_KV_CAS_MISMATCH);
    CHECK(res_is(&f, "1000"));
    /* a lower seq is stale and does not apply */
    fl_kv_cmd old = sess(cmd(FL_KV_PUT, "n", "old"), 7, 2, 400);
    CHECK_EQ(fx_apply(&f, &old), FL_KV_STALE);
    CHECK_EQ(run(&f, FL_KV_GET, "n", NULL), FL_KV_OK);
    CHECK(res_is(&f, "5"));
    /* seq 0 bypasses sessions: applies every time */
    fl_kv_cmd z = sess(cmd(FL_KV_APPEND, "z", "."), 7, 0, 400);
    CHECK_EQ(fx_apply(&f, &z), FL_KV_OK);
    CHECK_EQ(fx_apply(&f, &z), FL_KV_OK);
    CHECK(res_is(&f, ".."));
    CHECK_EQ(fl_kv_session_count(&f.kv), 1);
    fx_close(&f);
}

TEST(kv_unknown_client_must_start_at_seq_1)
{
    fixture f;
    fx_init(&f, NULL);
    fl_kv_cmd p = sess(cmd(FL_KV_PUT, "k", "v"), 9, 5, 10);
    CHECK_EQ(fx_apply(&f, &p), FL_KV_SESSION_EXPIRED);
    CHECK_EQ(run(&f, FL_KV_GET, "k", NULL), FL_KV_NOT_FOUND);
    CHECK_EQ(fl_kv_session_count(&f.kv), 0);
    fx_close(&f);
}

TEST(kv_sessions_expire_by_log_time)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.session_idle_ns = 1000;
    fixture f;
    fx_init(&f, &c);
    fl_kv_cmd a = sess(cmd(FL_KV_APPEND, "l", "a"), 1, 1, 100);
    CHECK_EQ(fx_apply(&f, &a), FL_KV_OK);
    fl_kv_cmd b = sess(cmd(FL_KV_APPEND, "l", "b"), 2, 1, 600);
    CHECK_EQ(fx_apply(&f, &b), FL_KV_OK);
    /* log time 1100: client 1 idle exactly 1000, still alive; a retry is deduplicated */
    fl_kv_cmd t = sess(cmd(FL_KV_NOOP, NULL, NULL), 0, 0, 1100);
    CHECK_EQ(fx_apply(&f, &t), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 2);
    CHECK_EQ(fx_apply(&f, &a), FL_KV_OK);
    CHECK(res_is(&f, "a"));
    /* a command stamped earlier does not move log time backwards */
    t.time_ns = 50;
    CHECK_EQ(fx_apply(&f, &t), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 2);
    /* log time 1101: client 1 expired, client 2 (last used at 600) not */
    t.time_ns = 1101;
    CHECK_EQ(fx_apply(&f, &t), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 1);
    fl_kv_cmd a2 = sess(cmd(FL_KV_APPEND, "l", "c"), 1, 2, 1101);
    CHECK_EQ(fx_apply(&f, &a2), FL_KV_SESSION_EXPIRED);
    fl_kv_cmd b2 = sess(cmd(FL_KV_APPEND, "l", "d"), 2, 2, 1500);
    CHECK_EQ(fx_apply(&f, &b2), FL_KV_OK);
    CHECK(res_is(&f, "abd"));
    /* client 2 used at 1500 stays until log time 2500 */
    t.time_ns = 2500;
    CHECK_EQ(fx_apply(&f, &t), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 1);
    t.time_ns = 2501;
    CHECK_EQ(fx_apply(&f, &t), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 0);
    fx_close(&f);
}

TEST(kv_sessions_evict_least_recently_used)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.sessions_max = 3;
    fixture f;
    fx_init(&f, &c);
    for (uint64_t id = 1; id <= 3; id++) {
        fl_kv_cmd p = sess(cmd(FL_KV_APPEND, "l", "x"), id, 1, 10 * id);
        CHECK_EQ(fx_apply(&f, &p), FL_KV_OK);
    }
    fl_kv_cmd p1 = sess(cmd(FL_KV_APPEND, "l", "y"), 1, 2, 40); /* client 1 now newest */
    CHECK_EQ(fx_apply(&f, &p1), FL_KV_OK);
    fl_kv_cmd p4 = sess(cmd(FL_KV_APPEND, "l", "z"), 4, 1, 50); /* evicts client 2 */
    CHECK_EQ(fx_apply(&f, &p4), FL_KV_OK);
    CHECK_EQ(fl_kv_session_count(&f.kv), 3);
    fl_kv_cmd p2 = sess(cmd(FL_KV_APPEND, "l", "w"), 2, 2, 60);
    CHECK_EQ(fx_apply(&f, &p2), FL_KV_SESSION_EXPIRED);
    CHECK_EQ(fx_apply(&f, &p1), FL_KV_OK); /* client 1 still deduplicated */
    CHECK(res_is(&f, "xxxy"));
    fl_kv_cmd p3 = sess(cmd(FL_KV_APPEND, "l", "v"), 3, 2, 70);
    CHECK_EQ(fx_apply(&f, &p3), FL_KV_OK);
    CHECK(res_is(&f, "xxxyzv"));
    fx_close(&f);
}

TEST(kv_apply_index_and_garbage)
{
    fixture f;
    fx_init(&f, NULL);
    fl_kv_result r;
    uint8_t junk[3] = {9, 9, 9};
    CHECK_EQ(fl_kv_apply(&f.kv, 5, junk, sizeof(junk), &r), 0);
    CHECK_EQ(r.status, FL_KV_BAD_COMMAND);
    CHECK_EQ(fl_kv_applied_index(&f.kv), 5);
    CHECK_EQ(fl_kv_apply(&f.kv, 5, junk, sizeof(junk), &r), FL_ESTALE);
    CHECK_EQ(fl_kv_apply(&f.kv, 3, NULL, 0, &r), FL_ESTALE);
    CHECK_EQ(fl_kv_apply(&f.kv, 9, NULL, 0, &r), 0); /* gaps are allowed */
    CHECK_EQ(r.status, FL_KV_BAD_COMMAND);
    fx_close(&f);
}

/* A hash of the last result (status, presence and value bytes). */
static uint64_t hash_result(const fixture *f)
{
    uint64_t h = fl_mix64(f->res.status ^ (uint64_t)f->res.has_value << 8 ^
                          (uint64_t)f->res.value_len << 16);
    for (size_t j = 0; j < f->res.value_len; j++)
        h = fl_mix64(h ^ f->res.value[j]);
    return h;
}

/* Applies a seeded random mix of commands to f: client 0 without a session, clients 1..3
 * with sessions continuing from f->seqs, 20% of their commands retries of the last seq. */
static void random_history(fixture *f, uint64_t seed, int n)
{
    fl_rng rng;
    fl_rng_seed(&rng, seed);
    char key[8], val[16];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "k%d", (int)fl_rng_below(&rng, 20));
        snprintf(val, sizeof(val), "%d", (int)fl_rng_below(&rng, 50));
        fl_kv_op op = (fl_kv_op)fl_rng_below(&rng, FL_KV_OP_COUNT);
        fl_kv_cmd c = cmd(op, key, val);
        c.delta = (int64_t)fl_rng_below(&rng, 11) - 5;
        c.expect = (const uint8_t *)val;
        c.expect_len = fl_rng_chance(&rng, 0.2) ? 0 : 1;
        c.expect_absent = c.expect_len == 0 && fl_rng_chance(&rng, 0.5);
        uint64_t client = fl_rng_below(&rng, 4);
        bool retry = client > 0 && f->seqs[client] > 0 && fl_rng_chance(&rng, 0.2);
        if (client > 0 && !retry)
            f->seqs[client]++;
        f->retries_hit += retry;
        c = sess(c, client, f->seqs[client], (fl_time_ns)i * 10);
        if (client == 0)
            c.seq = 0;
        CHECK(fx_apply(f, &c) != FL_KV_STALE);
        CHECK(f->res.status != FL_KV_SESSION_EXPIRED);
        uint64_t h = hash_result(f);
        f->results = fl_mix64(f->results ^ h);
        if (retry) /* exactly once: a retry returns the first result, bytes and all */
            CHECK_EQ(h, f->last[client]);
        f->last[client] = h;
        if (i % 100 == 0)
            CHECK(fl_kv_invariants(&f->kv));
    }
    CHECK(fl_kv_invariants(&f->kv));
}

TEST(kv_determinism_same_entries_same_digest)
{
    fl_kv_config c2;
    fl_kv_config_default(&c2);
    c2.hash_seed = 12345; /* the table layout differs, the state does not */
    fixture a, b;
    fx_init(&a, NULL);
    fx_init(&b, &c2);
    random_history(&a, 77, 2000);
    random_history(&b, 77, 2000);
    CHECK_EQ(a.results, b.results);
    CHECK_EQ(fl_kv_digest(&a.kv), fl_kv_digest(&b.kv));
    fl_buf sa, sb;
    fl_buf_init(&sa);
    fl_buf_init(&sb);
    CHECK_EQ(fl_kv_snapshot(&a.kv, &sa), 0);
    CHECK_EQ(fl_kv_snapshot(&b.kv, &sb), 0);
    CHECK_EQ(sa.len, sb.len);
    CHECK(memcmp(sa.data, sb.data, sa.len) == 0); /* byte-identical */
    fixture c;
    fx_init(&c, NULL);
    random_history(&c, 78, 2000);
    CHECK(fl_kv_digest(&c.kv) != fl_kv_digest(&a.kv));
    run(&b, FL_KV_NOOP, NULL, NULL);
    CHECK(fl_kv_digest(&a.kv) != fl_kv_digest(&b.kv)); /* applied index is state */
    fl_buf_free(&sa);
    fl_buf_free(&sb);
    fx_close(&a);
    fx_close(&b);
    fx_close(&c);
}

TEST(kv_snapshot_restore_roundtrip)
{
    fixture a, b;
    fx_init(&a, NULL);
    fx_init(&b, NULL);
    random_history(&a, 5, 1500);
    run(&b, FL_KV_PUT, "junk", "to be replaced");
    fl_buf s;
    fl_buf_init(&s);
    CHECK_EQ(fl_kv_snapshot(&a.kv, &s), 0);
    CHECK_EQ(fl_kv_restore(&b.kv, s.data, s.len), 0);
    CHECK(fl_kv_invariants(&b.kv));
    CHECK_EQ(fl_kv_digest(&a.kv), fl_kv_digest(&b.kv));
    CHECK_EQ(fl_kv_applied_index(&b.kv), a.index);
    CHECK_EQ(fl_kv_key_count(&b.kv), fl_kv_key_count(&a.kv));
    CHECK_EQ(fl_kv_session_count(&b.kv), fl_kv_session_count(&a.kv));
    CHECK(fl_kv_session_count(&a.kv) > 0);
    fl_buf s2;
    fl_buf_init(&s2);
    CHECK_EQ(fl_kv_snapshot(&b.kv, &s2), 0);
    CHECK(s2.len == s.len && memcmp(s.data, s2.data, s.len) == 0);
    /* identical further behaviour (same results, same state), including retries of the
     * last seq before the snapshot, answered from restored session caches */
    b.index = a.index;
    memcpy(b.seqs, a.seqs, sizeof(a.seqs));
    memcpy(b.last, a.last, sizeof(a.last));
    a.results = b.results = 0;
    a.retries_hit = 0;
    random_history(&a, 6, 1000);
    random_history(&b, 6, 1000);
    CHECK(a.retries_hit > 100);
    CHECK_EQ(a.results, b.results);
    CHECK_EQ(fl_kv_digest(&a.kv), fl_kv_digest(&b.kv));
    fl_buf_free(&s);
    fl_buf_free(&s2);
    fx_close(&a);
    fx_close(&b);
}

TEST(kv_snapshot_rejects_corruption)
{
    fixture a;
    fx_init(&a, NULL);
    random_history(&a, 9, 300);
    uint64_t digest = fl_kv_digest(&a.kv);
    fl_buf s;
    fl_buf_init(&s);
    CHECK_EQ(fl_kv_snapshot(&a.kv, &s), 0);
    for (size_t i = 0; i < s.len; i += 7) { /* any flipped bit is caught */
        s.data[i] ^= 0x10;
        int rc = fl_kv_restore(&a.kv, s.data, s.len);
        CHECK(rc == FL_ECORRUPT || rc == FL_EVERSION);
        s.data[i] ^= 0x10;
    }
    for (size_t n = 0; n < s.len; n += 5) /* truncated */
        CHECK(fl_kv_restore(&a.kv, s.data, n) < 0);
    CHECK_EQ(fl_kv_digest(&a.kv), digest); /* untouched by every failure */
    fl_kv_config small;
    fl_kv_config_default(&small);
    small.sessions_max = 1;
    fl_kv k;
    CHECK_EQ(fl_kv_init(&k, &small), 0);
    CHECK_EQ(fl_kv_restore(&k, s.data, s.len), FL_ETOOBIG);
    fl_kv_close(&k);
    CHECK_EQ(fl_kv_restore(&a.kv, s.data, s.len), 0);
    CHECK_EQ(fl_kv_digest(&a.kv), digest);
    fl_buf_free(&s);
    fx_close(&a);
}

TEST(kv_empty_snapshot)
{
    fl_kv a, b;
    CHECK_EQ(fl_kv_init(&a, NULL), 0);
    CHECK_EQ(fl_kv_init(&b, NULL), 0);
    fl_buf s;
    fl_buf_init(&s);
    CHECK_EQ(fl_kv_snapshot(&a, &s), 0);
    CHECK_EQ(s.len, 8 + 24 + 8 + 8 + 4); /* header, index/time/delete index, counts, crc */
    CHECK_EQ(fl_kv_restore(&b, s.data, s.len), 0);
    CHECK_EQ(fl_kv_digest(&a), fl_kv_digest(&b));
    fl_buf_free(&s);
    fl_kv_close(&a);
    fl_kv_close(&b);
}

/* Mutates a valid encoding: flip bytes, truncate, extend, or splice random bytes. */
static size_t mutate(fl_rng *rng, uint8_t *p, size_t len, size_t cap)
{
    switch (fl_rng_below(rng, 4)) {
    case 0:
        p[fl_rng_below(rng, len)] ^= (uint8_t)(1u << fl_rng_below(rng, 8));
        return len;
    case 1:
        return (size_t)fl_rng_below(rng, len);
    case 2:
        while (len < cap && fl_rng_chance(rng, 0.7))
            p[len++] = (uint8_t)fl_rng_next(rng);
        return len;
    default:
        for (size_t i = fl_rng_below(rng, len); i < len; i += 1 + fl_rng_below(rng, 8))
            p[i] = (uint8_t)fl_rng_next(rng);
        return len;
    }
}

TEST(kv_random_bytes_never_crash_decoders)
{
    fl_rng rng;
    fl_rng_seed(&rng, 2026);
    fixture f;
    fx_init(&f, NULL);
    uint8_t buf[256];
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        fl_kv_cmd c = sess(cmd((fl_kv_op)fl_rng_below(&rng, FL_KV_OP_COUNT), "key", "value"),
                           fl_rng_below(&rng, 3), fl_rng_below(&rng, 3), (fl_time_ns)i);
        c.expect = (const uint8_t *)"e";
        c.expect_len = 1;
        fl_buf_reset(&f.entry);
        CHECK_EQ(fl_kv_cmd_encode(&c, &f.entry), 0);
        size_t len = f.entry.len;
        memcpy(buf, f.entry.data, len);
        if (i % 4 == 0) { /* pure noise */
            len = (size_t)fl_rng_below(&rng, sizeof(buf));
            for (size_t j = 0; j < len; j++)
                buf[j] = (uint8_t)fl_rng_next(&rng);
        } else {
            len = mutate(&rng, buf, len, sizeof(buf));
        }
        fl_kv_cmd d;
        int rc = fl_kv_cmd_decode(buf, len, &d);
        CHECK(rc <= 0);
        accepted += rc == 0;
        CHECK_EQ(fl_kv_apply(&f.kv, ++f.index, buf, len, &f.res), 0);
        /* a decoded Redis-shaped command may still be meaningless (MSET with an odd count),
         * and a session may answer with such a command's cached result */
        CHECK((rc == 0) == (f.res.status != FL_KV_BAD_COMMAND) ||
              (rc == 0 && (d.op >= FL_KV_SET || d.seq > 0)));
        fl_kv_result r;
        (void)fl_kv_result_decode(buf, len, &r);
    }
    CHECK(accepted > 1000); /* the mutations also produce valid commands */
    fl_buf s;
    fl_buf_init(&s);
    CHECK_EQ(fl_kv_snapshot(&f.kv, &s), 0);
    uint64_t digest = fl_kv_digest(&f.kv);
    uint8_t *m = malloc(s.len + 64);
    CHECK(m != NULL);
    for (int i = 0; i < 3000; i++) {
        memcpy(m, s.data, s.len);
        size_t len = mutate(&rng, m, s.len, s.len + 64);
        if (len == s.len && memcmp(m, s.data, len) == 0)
            continue; /* the mutation changed nothing */
        CHECK(fl_kv_restore(&f.kv, m, len) < 0);
    }
    CHECK_EQ(fl_kv_digest(&f.kv), digest);
    free(m);
    fl_buf_free(&s);
    fx_close(&f);
}

/* ---- program order on a connection (kv_order.h) ---- */

/* A connection of three commands as fl_kv_order_walk sees them; counts the walk's steps. */
typedef struct order_conn {
    fl_kv_order_state st[3];
    int steps, served;
} order_conn;

static void *oc_next(void *arg, void *cmd)
{
    order_conn *c = arg;
    c->steps++;
    fl_kv_order_state *s = cmd ? (fl_kv_order_state *)cmd + 1 : c->st;
    return s < c->st + 3 ? s : NULL;
}

static fl_kv_order_state oc_state(void *arg, void *cmd)
{
    (void)arg;
    return *(fl_kv_order_state *)cmd;
}

static void oc_serve(void *arg, void *cmd)
{
    order_conn *c = arg;
    c->served++;
    *(fl_kv_order_state *)cmd = FL_KV_ORDER_PASS;
}

static void oc_route(void *arg, void *cmd)
{
    (void)arg;
    (void)cmd;
}

/* With no ReadIndex read pending and nothing held, a command done (a write's reply) walks
 * nothing: the walk had nothing to serve or release, and walking every time made a pipeline
 * of n writes cost n^2 steps. With a read pending, the walk serves it. */
TEST(kv_order_progress_walks_only_when_a_read_or_hold_is_pending)
{
    fl_kv_order o = {0};
    order_conn c = {{FL_KV_ORDER_PASS, FL_KV_ORDER_PASS, FL_KV_ORDER_PASS}, 0, 0};
    fl_kv_order_walk w = {&c, oc_next, oc_state, oc_serve, oc_route};
    for (int i = 0; i < 3; i++)
        CHECK_EQ(fl_kv_order_route(&o, false, true), FL_KV_ROUTE_LOG);
    fl_kv_order_done(&o, FL_KV_ROUTE_LOG);
    fl_kv_order_progress(&o, &w);
    CHECK_EQ(c.steps, 0);
    fl_kv_order_done(&o, FL_KV_ROUTE_LOG);
    fl_kv_order_done(&o, FL_KV_ROUTE_LOG);
    CHECK_EQ(fl_kv_order_route(&o, true, true), FL_KV_ROUTE_INDEX);
    c.st[2] = FL_KV_ORDER_DECIDED;
    fl_kv_order_progress(&o, &w);
    CHECK_EQ(c.served, 1);
    CHECK(c.steps > 0);
}
