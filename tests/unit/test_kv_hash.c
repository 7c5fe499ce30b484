/* test_kv_hash.c: the kv's hashes (docs/kv.md, "Hashes"): HSET counting only new fields,
 * HSETNX, HMGET with nils, HDEL (the hash deleted when emptied), HGETALL / HKEYS / HVALS in
 * the order fields were added (an update keeps a field's place, a removal keeps the others'
 * order, also across the compaction of holes), HLEN, HEXISTS, HINCRBY's integer rule and
 * overflow, and a seeded random run against an ordered array model. */
#include "kv_fx.h"

#include "faultline/rng.h"

#define DO(...) kvfx_do(&f, (kc){__VA_ARGS__})

TEST(kv_hash_set_get_delete)
{
    kvfx f;
    kvfx_init(&f, NULL);
    CHECK_STR(DO(FL_KV_HSET, "h", .args = {"f1", "v1", "f2", "v2", "f1", "v3"}), "2");
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS | FL_KV_F_VALS), "[f1,v3,f2,v2]");
    CHECK_STR(DO(FL_KV_HSET, "h", .args = {"f3", "", "f1", "x"}), "1");
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS), "[f1,f2,f3]");
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_VALS), "[x,v2,]");
    CHECK_STR(DO(FL_KV_HMGET, "h", .args = {"f2", "no", "f3"}), "[v2,nil,]");
    CHECK_STR(DO(FL_KV_HMGET, "nokey", .args = {"f2"}), "[nil]");
    CHECK_STR(DO(FL_KV_HSET, "h", .flags = FL_KV_F_NX, .args = {"f1", "y"}), "0");
    CHECK_STR(DO(FL_KV_HSET, "h", .flags = FL_KV_F_NX, .args = {"f4", "y"}), "1");
    CHECK_STR(DO(FL_KV_HLEN, "h"), "4");
    CHECK_STR(DO(FL_KV_HEXISTS, "h", .value = "f4"), "1");
    CHECK_STR(DO(FL_KV_HEXISTS, "h", .value = "f9"), "0");
    CHECK_STR(DO(FL_KV_HDEL, "h", .args = {"f2", "f9", "f2"}), "1");
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS | FL_KV_F_VALS), "[f1,x,f3,,f4,y]");
    CHECK_STR(DO(FL_KV_HSET, "h", .args = {"f2", "back"}), "1"); /* at the end now */
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS), "[f1,f3,f4,f2]");
    CHECK_STR(DO(FL_KV_TYPE, "h"), "hash");
    CHECK_STR(DO(FL_KV_HSET, "h", .args = {"odd"}), "bad_command");
    CHECK_STR(DO(FL_KV_HDEL, "h", .args = {"f1", "f2", "f3", "f4"}), "4");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"h"}), "0");
    CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS | FL_KV_F_VALS), "[]");
    CHECK_STR(DO(FL_KV_HLEN, "h"), "0");
    kvfx_close(&f);
}

TEST(kv_hash_hincrby)
{
    kvfx f;
    kvfx_init(&f, NULL);
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "n", .num = 5), "5");
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "n", .num = -7), "-2");
    CHECK_STR(DO(FL_KV_HMGET, "h", .args = {"n"}), "[-2]");
    DO(FL_KV_HSET, "h", .args = {"z", "01", "t", "x", "m", "9223372036854775807", "e", ""});
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "z", .num = 1), "type_error"); /* as Redis */
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "t", .num = 1), "type_error");
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "e", .num = 1), "type_error");
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "m", .num = 1), "overflow");
    CHECK_STR(DO(FL_KV_HINCRBY, "h", .value = "m", .num = INT64_MIN), "-1");
    CHECK_STR(DO(FL_KV_HMGET, "h", .args = {"z", "t", "m"}), "[01,x,-1]");
    DO(FL_KV_SET, "s", .value = "v");
    CHECK_STR(DO(FL_KV_HINCRBY, "s", .value = "n", .num = 1), "wrong_type");
    kvfx_close(&f);
}

/* The model: fields f0..f15 in the order added, with values. */
typedef struct model {
    int field[16], value[16];
    int n;
} model;

static int model_find(const model *m, int field)
{
    for (int i = 0; i < m->n; i++)
        if (m->field[i] == field)
            return i;
    return -1;
}

static void model_text(const model *m, char *out, size_t size)
{
    size_t w = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < m->n; i++)
        w +=
            (size_t)snprintf(out + w, size - w, "%sf%d,%d", i ? "," : "", m->field[i], m->value[i]);
    snprintf(out + w, size - w, "]");
}

TEST(kv_hash_order_random_against_a_model)
{
    char want[1024], fe[8], ve[8];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        kvfx f;
        kvfx_init(&f, NULL);
        model m = {.n = 0};
        fl_rng rng;
        fl_rng_seed(&rng, seed);
        for (int step = 0; step < 500; step++) {
            int x = (int)fl_rng_below(&rng, 16), v = (int)fl_rng_below(&rng, 100), i;
            snprintf(fe, sizeof(fe), "f%d", x);
            snprintf(ve, sizeof(ve), "%d", v);
            if (fl_rng_chance(&rng, 0.5)) {
                i = model_find(&m, x);
                CHECK_STR(DO(FL_KV_HSET, "h", .args = {fe, ve}), i < 0 ? "1" : "0");
                if (i < 0) {
                    i = m.n++;
                    m.field[i] = x;
                }
                m.value[i] = v;
            } else {
                i = model_find(&m, x);
                CHECK_STR(DO(FL_KV_HDEL, "h", .args = {fe}), i < 0 ? "0" : "1");
                if (i >= 0) {
                    memmove(m.field + i, m.field + i + 1, sizeof(int) * (size_t)(m.n - i - 1));
                    memmove(m.value + i, m.value + i + 1, sizeof(int) * (size_t)(m.n - i - 1));
                    m.n--;
                }
            }
            model_text(&m, want, sizeof(want));
            CHECK_STR(DO(FL_KV_HGETALL, "h", .flags = FL_KV_F_KEYS | FL_KV_F_VALS), want);
        }
        kvfx_close(&f);
    }
}
