/* test_kv_memory.c: fl_kv_memory, what the kv's structures take (docs/server.md, "Issue 16:
 * memory"): components that add up, a per-key entry cost that depends only on the key's
 * length and stays within the compact layout (at most 80 bytes before the key: the layout
 * before issue 16's change put the key after 96), string values at their capacity,
 * collections counted apart, and nothing left but the tables once every key is gone. */
#include "kv_fx.h"

#define DO(...) kvfx_do(&f, (kc){__VA_ARGS__})

static fl_kv_memory_use mem(const kvfx *f)
{
    fl_kv_memory_use m;
    fl_kv_memory(&f->kv, &m);
    CHECK_EQ(m.total, m.entries + m.values + m.collections + m.buckets + m.expiry + m.sessions);
    return m;
}

TEST(kv_memory_strings)
{
    kvfx f;
    kvfx_init(&f, NULL);
    fl_kv_memory_use m = mem(&f);
    CHECK_EQ(m.total, 0);
    CHECK_EQ(m.allocations, 0);
    DO(FL_KV_SET, "k000", .value = "0123456789");
    size_t one = mem(&f).entries;
    CHECK(one > 4 && one - 4 <= 80); /* the entry's fields, then the 4 key bytes */
    char key[16];
    for (int i = 1; i < 100; i++) {
        snprintf(key, sizeof(key), "k%03d", i);
        DO(FL_KV_SET, key, .value = "0123456789");
    }
    m = mem(&f);
    CHECK_EQ(m.entries, 100 * one);
    CHECK_EQ(m.values, 100 * 10);             /* a SET reserves the value's length exactly */
    CHECK(m.buckets >= 100 * sizeof(void *)); /* load factor <= 1 */
    CHECK(m.allocations >= 200 && m.allocations <= 203);
    DO(FL_KV_SET, "k1000", .value = "0123456789"); /* one key byte more */
    CHECK_EQ(mem(&f).entries, 100 * one + one + 1);
    DO(FL_KV_APPEND, "k1000", .value = "x"); /* append doubles: capacity beyond the length */
    CHECK(mem(&f).values >= 100 * 10 + 11 + 1);
    kvfx_close(&f);
}

TEST(kv_memory_collections_and_deletes)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_SET, "s", .value = "v");
    DO(FL_KV_PUSH, "l", .args = {"a", "b", "c"});
    DO(FL_KV_SADD, "set", .args = {"a", "b"});
    DO(FL_KV_HSET, "h", .args = {"f", "v"});
    DO(FL_KV_ZADD, "z", .args = {"1", "m"});
    fl_kv_memory_use m = mem(&f);
    CHECK_EQ(m.values, 1); /* only the string's */
    CHECK(m.collections > 3 + 2 + 2 + 1);
    fl_kv_memory_use before = m;
    DO(FL_KV_SADD, "set", .args = {"c"});
    CHECK(mem(&f).collections > before.collections);
    CHECK_EQ(mem(&f).entries, before.entries);
    CHECK_STR(DO(FL_KV_DEL, NULL, .args = {"s", "l", "set", "h", "z"}), "5");
    m = mem(&f);
    CHECK_EQ(m.entries, 0);
    CHECK_EQ(m.values, 0);
    CHECK_EQ(m.collections, 0);
    CHECK_EQ(m.total, m.buckets + m.expiry + m.sessions);
    kvfx_close(&f);
}
