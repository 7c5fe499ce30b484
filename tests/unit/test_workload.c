/* test_workload.c: unit tests for the workload generator and the zipfian sampler: op mix,
 * rank frequencies against theory, uniform coverage, unique values, cas expectations,
 * determinism from the seed, and that generated ops apply cleanly to a kv. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/kv.h"
#include "faultline/workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DRAWS 200000

/* The leading decimal number of a value (values are not NUL-terminated). */
static uint64_t parse_id(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

/* |observed - expected| <= tol * expected */
static bool within(double observed, double expected, double tol)
{
    return fabs(observed - expected) <= tol * expected;
}

TEST(zipf_rank_frequencies_match_theory_s099)
{
    fl_zipf z;
    CHECK_EQ(fl_zipf_init(&z, 100, 0.99), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 1);
    static uint32_t hits[100];
    memset(hits, 0, sizeof(hits));
    for (int i = 0; i < DRAWS; i++) {
        uint64_t r = fl_zipf_next(&z, &rng);
        CHECK(r < 100);
        hits[r]++;
    }
    /* zeta(100, 0.99) = 5.29457, so P(rank 1) = 0.188873 */
    CHECK(within(fl_zipf_prob(&z, 0), 0.188873, 0.0001));
    CHECK(within(hits[0] / (double)DRAWS, fl_zipf_prob(&z, 0), 0.02));
    CHECK(within(hits[1] / (double)DRAWS, fl_zipf_prob(&z, 1), 0.03));
    /* Ranks >= 2 follow Gray's continuous approximation, whose CDF is
     * P(rank < k) = 1 - (1 - (k/n)^(1-s)) / eta: the draws must match it closely, and it is
     * within 8% of the ideal distribution in each band (it over-weights rank 2 by about 15%
     * and under-weights the far tail by about 5%). */
    const int bands[][2] = {{2, 3}, {3, 10}, {10, 30}, {30, 100}};
    for (size_t b = 0; b < sizeof(bands) / sizeof(bands[0]); b++) {
        double obs = 0, ideal = 0;
        for (int r = bands[b][0]; r < bands[b][1]; r++) {
            obs += hits[r] / (double)DRAWS;
            ideal += fl_zipf_prob(&z, (uint64_t)r);
        }
        double lo = 1 - (1 - pow(bands[b][0] / 100.0, 0.01)) / z.eta;
        double hi = 1 - (1 - pow(bands[b][1] / 100.0, 0.01)) / z.eta;
        CHECK(within(obs, hi - lo, 0.03));
        if (b > 0)
            CHECK(within(obs, ideal, 0.08));
    }
    CHECK(hits[0] > hits[1] && hits[1] > hits[2] && hits[2] > hits[50]); /* decreasing */
    CHECK(hits[99] > 0);
    fl_zipf_close(&z);
}

TEST(zipf_table_for_s_at_least_one)
{
    fl_zipf z;
    CHECK_EQ(fl_zipf_init(&z, 50, 1.2), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 2);
    uint32_t hits[50] = {0};
    for (int i = 0; i < DRAWS; i++)
        hits[fl_zipf_next(&z, &rng)]++;
    for (int r = 0; r < 5; r++)
        CHECK(within(hits[r] / (double)DRAWS, fl_zipf_prob(&z, (uint64_t)r), 0.05));
    fl_zipf_close(&z);
    CHECK_EQ(fl_zipf_init(&z, 0, 0.5), FL_ECONFIG);
    CHECK_EQ(fl_zipf_init(&z, 10, -1), FL_ECONFIG);
    CHECK_EQ(fl_zipf_init(&z, 10, NAN), FL_ECONFIG);
    CHECK_EQ(fl_zipf_init(&z, FL_ZIPF_TABLE_MAX + 1, 1.0), FL_ECONFIG);
    CHECK_EQ(fl_zipf_init(&z, 1, 0.99), 0); /* degenerate sizes */
    CHECK_EQ(fl_zipf_next(&z, &rng), 0);
    fl_zipf_close(&z);
    CHECK_EQ(fl_zipf_init(&z, 2, 0.5), 0);
    for (int i = 0; i < 100; i++)
        CHECK(fl_zipf_next(&z, &rng) < 2);
    fl_zipf_close(&z);
}

TEST(workload_mix_matches_weights)
{
    fl_workload_config c;
    fl_workload_config_kv(&c);
    memset(c.weights, 0, sizeof(c.weights));
    c.weights[FL_KV_GET] = 40;
    c.weights[FL_KV_PUT] = 25;
    c.weights[FL_KV_APPEND] = 10;
    c.weights[FL_KV_DELETE] = 5;
    c.weights[FL_KV_INCR] = 10;
    c.weights[FL_KV_CAS] = 10;
    fl_workload w;
    CHECK_EQ(fl_workload_init(&w, &c), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 3);
    uint32_t count[FL_KV_OP_COUNT] = {0};
    fl_workload_op op;
    for (int i = 0; i < DRAWS; i++) {
        fl_workload_next(&w, &rng, &op);
        count[op.kind]++;
    }
    CHECK_EQ(count[FL_KV_NOOP], 0);
    for (int k = 1; k < FL_KV_OP_COUNT; k++)
        CHECK(within(count[k] / (double)DRAWS, c.weights[k] / 100.0, 0.04));
    fl_workload_close(&w);
}

TEST(workload_uniform_covers_every_key)
{
    fl_workload_config c;
    fl_workload_config_kv(&c);
    c.key_dist = FL_WORKLOAD_UNIFORM;
    c.key_count = 200;
    fl_workload w;
    CHECK_EQ(fl_workload_init(&w, &c), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 4);
    uint32_t hits[200] = {0};
    fl_workload_op op;
    for (int i = 0; i < DRAWS; i++) {
        fl_workload_next(&w, &rng, &op);
        CHECK(op.key_index < 200);
        hits[op.key_index]++;
    }
    for (int k = 0; k < 200; k++) /* expected 1000 each; 4.7 sigma is about 150 */
        CHECK(hits[k] > 850 && hits[k] < 1150);
    char want[24];
    snprintf(want, sizeof(want), "k%llu", (unsigned long long)op.key_index);
    CHECK_STR(op.key, want);
    CHECK_EQ(op.key_len, strlen(want));
    fl_workload_close(&w);
}

TEST(workload_kv_preset_values_unique_and_sized)
{
    fl_workload_config c;
    fl_workload_config_kv(&c);
    c.writer_id = 2;
    c.writer_count = 3;
    fl_workload w;
    CHECK_EQ(fl_workload_init(&w, &c), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 5);
    fl_workload_op op;
    uint64_t last_id = 0;
    int writes = 0;
    for (int i = 0; i < 20000; i++) {
        fl_workload_next(&w, &rng, &op);
        CHECK(op.kind == FL_KV_GET || op.kind == FL_KV_PUT || op.kind == FL_KV_APPEND);
        if (op.kind == FL_KV_GET) {
            CHECK(op.value == NULL && op.value_id == 0);
            continue;
        }
        writes++;
        CHECK(op.value_id > last_id); /* increasing, so unique */
        CHECK_EQ(op.value_id % 3, 0); /* writer 2 of 3: ids 3, 6, 9, ... */
        last_id = op.value_id;
        size_t body = op.value_len - (op.kind == FL_KV_APPEND);
        CHECK(body >= 16 && body <= 128);
        CHECK_EQ(parse_id(op.value, op.value_len), op.value_id);
        if (op.kind == FL_KV_APPEND)
            CHECK_EQ(op.value[op.value_len - 1], ',');
    }
    CHECK(writes > 8000);
    fl_workload_close(&w);
}

TEST(workload_register_preset_cas_uses_recent_values)
{
    fl_workload_config c;
    fl_workload_config_register(&c);
    fl_workload w;
    CHECK_EQ(fl_workload_init(&w, &c), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 6);
    uint64_t last_put[3] = {0, 0, 0};
    int cas = 0, cas_absent = 0, cas_latest = 0;
    fl_workload_op op;
    for (int i = 0; i < 5000; i++) {
        fl_workload_next(&w, &rng, &op);
        CHECK(op.key_index < 3);
        if (op.kind == FL_KV_PUT || op.kind == FL_KV_CAS) {
            char want[24];
            snprintf(want, sizeof(want), "%llu", (unsigned long long)op.value_id);
            CHECK(op.value_len == strlen(want) && memcmp(op.value, want, op.value_len) == 0);
        }
        if (op.kind == FL_KV_CAS) {
            cas++;
            if (op.expect_absent) {
                cas_absent++;
                CHECK_EQ(last_put[op.key_index], 0); /* only before any write to the key */
            } else {
                uint64_t e = parse_id(op.expect, op.expect_len);
                CHECK(e > 0 && e < op.value_id);
                cas_latest += e == last_put[op.key_index];
            }
        }
        if (op.kind == FL_KV_PUT || op.kind == FL_KV_CAS)
            last_put[op.key_index] = op.value_id;
    }
    CHECK(within(cas / 5000.0, 0.2, 0.1));
    CHECK(cas_absent <= 3);
    CHECK(cas_latest > cas / 2); /* biased to the latest value */
    fl_workload_close(&w);
}

TEST(workload_deterministic_from_seed)
{
    fl_workload_config c;
    fl_workload_config_kv(&c);
    c.weights[FL_KV_CAS] = 10;
    c.weights[FL_KV_DELETE] = 5;
    c.weights[FL_KV_INCR] = 5;
    fl_workload a, b;
    CHECK_EQ(fl_workload_init(&a, &c), 0);
    CHECK_EQ(fl_workload_init(&b, &c), 0);
    fl_rng ra, rb, rc;
    fl_rng_seed(&ra, 99);
    fl_rng_seed(&rb, 99);
    fl_rng_seed(&rc, 100);
    fl_workload_op x, y;
    int differ = 0;
    for (int i = 0; i < 10000; i++) {
        fl_workload_next(&a, &ra, &x);
        fl_workload_next(&b, &rb, &y);
        CHECK_EQ(x.kind, y.kind);
        CHECK_EQ(x.key_index, y.key_index);
        CHECK_EQ(x.value_len, y.value_len);
        CHECK(x.value_len == 0 || memcmp(x.value, y.value, x.value_len) == 0);
        CHECK_EQ(x.expect_absent, y.expect_absent);
        CHECK(x.expect_len == y.expect_len &&
              (x.expect_len == 0 || memcmp(x.expect, y.expect, x.expect_len) == 0));
        CHECK_EQ(x.delta, y.delta);
    }
    fl_workload_close(&b);
    CHECK_EQ(fl_workload_init(&b, &c), 0);
    for (int i = 0; i < 1000; i++) {
        fl_workload_next(&a, &ra, &x);
        fl_workload_next(&b, &rc, &y);
        differ += x.key_index != y.key_index;
    }
    CHECK(differ > 500);
    fl_workload_close(&a);
    fl_workload_close(&b);
}

TEST(workload_rejects_bad_config)
{
    fl_workload_config c;
    fl_workload w;
    fl_workload_config_register(&c);
    memset(c.weights, 0, sizeof(c.weights));
    CHECK_EQ(fl_workload_init(&w, &c), FL_ECONFIG);
    fl_workload_config_register(&c);
    c.key_count = 0;
    CHECK_EQ(fl_workload_init(&w, &c), FL_ECONFIG);
    fl_workload_config_kv(&c);
    c.value_size_min = 200;
    CHECK_EQ(fl_workload_init(&w, &c), FL_ECONFIG);
    fl_workload_config_kv(&c);
    c.writer_id = 1;
    CHECK_EQ(fl_workload_init(&w, &c), FL_ECONFIG);
    fl_workload_config_kv(&c);
    c.zipf_s = -0.5;
    CHECK_EQ(fl_workload_init(&w, &c), FL_ECONFIG);
}

TEST(workload_ops_apply_to_kv)
{
    fl_workload_config c;
    fl_workload_config_register(&c);
    c.weights[FL_KV_INCR] = 5;
    c.weights[FL_KV_DELETE] = 5;
    fl_workload w;
    CHECK_EQ(fl_workload_init(&w, &c), 0);
    fl_kv kv;
    CHECK_EQ(fl_kv_init(&kv, NULL), 0);
    fl_rng rng;
    fl_rng_seed(&rng, 7);
    fl_buf b;
    fl_buf_init(&b);
    uint32_t status[FL_KV_STATUS_COUNT] = {0};
    for (uint64_t i = 1; i <= 5000; i++) {
        fl_workload_op op;
        fl_kv_cmd cmd;
        fl_kv_result res;
        fl_workload_next(&w, &rng, &op);
        fl_workload_to_cmd(&op, &cmd);
        cmd.client_id = 1;
        cmd.seq = i;
        cmd.time_ns = i * FL_NS_PER_MS;
        fl_buf_reset(&b);
        CHECK_EQ(fl_kv_cmd_encode(&cmd, &b), 0);
        CHECK_EQ(fl_kv_apply(&kv, i, b.data, b.len, &res), 0);
        status[res.status]++;
    }
    CHECK(status[FL_KV_OK] > 3000);
    CHECK(status[FL_KV_CAS_MISMATCH] > 0);
    CHECK_EQ(status[FL_KV_BAD_COMMAND] + status[FL_KV_STALE] + status[FL_KV_TOO_BIG], 0);
    CHECK_EQ(status[FL_KV_TYPE_ERROR], 0); /* register values are integers */
    fl_buf_free(&b);
    fl_kv_close(&kv);
    fl_workload_close(&w);
}

/* The redis workload's commands on keys of their own: each one encodes and decodes, two
 * replicas with different hash seeds applying them (stamped with a growing log time, so keys
 * expire) answer alike and end alike, invariants hold throughout, every kind shows up
 * (transactions and the four data types), and no command touches a checked key "k...". */
TEST(workload_side_commands_are_valid_and_replicate)
{
    fl_rng rng;
    fl_rng_seed(&rng, 9);
    fl_workload_side side;
    fl_workload_side_init(&side);
    fl_kv_config ca, cb;
    fl_kv_config_default(&ca);
    fl_kv_config_default(&cb);
    ca.hash_seed = 1;
    cb.hash_seed = 0xBADC0FFEE;
    fl_kv a, b;
    CHECK_EQ(fl_kv_init(&a, &ca), 0);
    CHECK_EQ(fl_kv_init(&b, &cb), 0);
    bool seen[FL_KV_OP_COUNT] = {false};
    fl_buf enc, ra;
    fl_buf_init(&enc);
    fl_buf_init(&ra);
    int kinds = 0, not_ok = 0;
    for (fl_index i = 1; i <= 6000; i++) {
        fl_kv_cmd cmd;
        fl_workload_side_next(&side, &rng, &cmd);
        CHECK(cmd.key_len == 0 || cmd.key[0] == 'x');
        cmd.time_ns = i * 2 * FL_NS_PER_MS; /* the leader's stamp: 2 ms an entry */
        kinds += !seen[cmd.op];
        seen[cmd.op] = true;
        fl_buf_reset(&enc);
        CHECK_EQ(fl_kv_cmd_encode(&cmd, &enc), 0);
        fl_kv_result x, y;
        CHECK_EQ(fl_kv_apply(&a, i, enc.data, enc.len, &x), 0);
        fl_buf_reset(&ra);
        CHECK_EQ(fl_kv_result_encode(&x, &ra), 0);
        CHECK_EQ(fl_kv_apply(&b, i, enc.data, enc.len, &y), 0);
        CHECK(x.status != FL_KV_BAD_COMMAND);
        not_ok += x.status != FL_KV_OK;
        fl_buf rb;
        fl_buf_init(&rb);
        CHECK_EQ(fl_kv_result_encode(&y, &rb), 0);
        CHECK(ra.len == rb.len && memcmp(ra.data, rb.data, ra.len) == 0);
        fl_buf_free(&rb);
        if (i % 500 == 0) {
            CHECK(fl_kv_invariants(&a));
            CHECK_EQ(fl_kv_digest(&a), fl_kv_digest(&b));
        }
    }
    printf("  %d kinds of command, %d answered other than ok, %zu keys at the end\n", kinds, not_ok,
           fl_kv_key_count(&a));
    CHECK(seen[FL_KV_MULTI] && seen[FL_KV_SET] && seen[FL_KV_EXPIRE] && seen[FL_KV_PUSH] &&
          seen[FL_KV_SPOP] && seen[FL_KV_HINCRBY] && seen[FL_KV_ZADD] && seen[FL_KV_TTL]);
    CHECK(kinds >= 39);  /* every op the generator has (workload.h) */
    CHECK(not_ok > 100); /* wrong types, conditions, missing keys: those paths run too */
    fl_buf_free(&enc);
    fl_buf_free(&ra);
    fl_kv_close(&a);
    fl_kv_close(&b);
    fl_workload_side_close(&side);
}
