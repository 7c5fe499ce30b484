/* test_kv_set.c: the kv's sets (docs/kv.md, "Sets"): SADD, SREM, SCARD, SISMEMBER, the
 * set's order (insertion; a removal moves the last member into the gap), SPOP and
 * SRANDMEMBER picking by the log (the same picks for the same index, whatever the hash
 * seed; distinct picks; every member once a count covers the set), SRANDMEMBER changing
 * nothing, and an SPOP too big to answer changing nothing. */
#include "kv_fx.h"

#define DO(...) kvfx_do(&f, (kc){__VA_ARGS__})

TEST(kv_set_add_remove_order)
{
    kvfx f;
    kvfx_init(&f, NULL);
    CHECK_STR(DO(FL_KV_SADD, "s", .args = {"a", "b", "a", "c", "d"}), "4");
    CHECK_STR(DO(FL_KV_SADD, "s", .args = {"b", "e"}), "1");
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), "[a,b,c,d,e]");
    CHECK_STR(DO(FL_KV_SCARD, "s"), "5");
    CHECK_STR(DO(FL_KV_SISMEMBER, "s", .value = "c"), "1");
    CHECK_STR(DO(FL_KV_SISMEMBER, "s", .value = "z"), "0");
    CHECK_STR(DO(FL_KV_SISMEMBER, "nokey", .value = "z"), "0");
    CHECK_STR(DO(FL_KV_SREM, "s", .args = {"b", "z", "b"}), "1");
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), "[a,e,c,d]"); /* the last member took b's place */
    CHECK_STR(DO(FL_KV_TYPE, "s"), "set");
    CHECK_STR(DO(FL_KV_SREM, "s", .args = {"a", "c", "d", "e"}), "4");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"s"}), "0");
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), "[]");
    CHECK_STR(DO(FL_KV_SCARD, "s"), "0");
    CHECK_STR(DO(FL_KV_SREM, "s", .args = {"a"}), "0");
    CHECK_STR(DO(FL_KV_SADD, "s", .args = {NULL}), "bad_command");
    CHECK_STR(DO(FL_KV_SADD, "s", .args = {""}), "1"); /* the empty member is a member */
    CHECK_STR(DO(FL_KV_SISMEMBER, "s", .value = ""), "1");
    kvfx_close(&f);
}

/* Runs SPOP / SRANDMEMBER on a fresh 20-member set built under hash seed `seed` (and
 * planted bugs `mutants`); returns the answers joined. */
static const char *picks(uint64_t seed, uint32_t mutants, char *out, size_t size)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.hash_seed = seed;
    c.mutants = mutants;
    kvfx f;
    kvfx_init(&f, &c);
    DO(FL_KV_SADD, "s", .args = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"});
    DO(FL_KV_SADD, "s", .args = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"});
    size_t w = 0;
    w += (size_t)snprintf(out + w, size - w, "%s ", DO(FL_KV_SPOP, "s"));
    w += (size_t)snprintf(out + w, size - w, "%s ",
                          DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 3));
    w += (size_t)snprintf(out + w, size - w, "%s ",
                          DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = 4));
    w += (size_t)snprintf(out + w, size - w, "%s ",
                          DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = -5));
    snprintf(out + w, size - w, "%s", DO(FL_KV_SMEMBERS, "s"));
    kvfx_close(&f);
    return out;
}

TEST(kv_set_picks_follow_the_log_not_the_seed)
{
    char a[1024], b[1024], c[1024];
    picks(1, 0, a, sizeof(a));
    picks(2, 0, b, sizeof(b));
    picks(0xdeadbeef, 0, c, sizeof(c));
    CHECK_STR(a, b);
    CHECK_STR(a, c);
    /* the picks are not simply the first members */
    CHECK(strncmp(a, "[m0] [m1,m2,m3]", 15) != 0);
    /* the check catches picks that follow the hash table's layout (FL_KV_MUTANT_PICK_BY_LAYOUT):
     * replicas with other seeds would pop other members */
    picks(1, FL_KV_MUTANT_PICK_BY_LAYOUT, a, sizeof(a));
    picks(2, FL_KV_MUTANT_PICK_BY_LAYOUT, b, sizeof(b));
    picks(0xdeadbeef, FL_KV_MUTANT_PICK_BY_LAYOUT, c, sizeof(c));
    CHECK(strcmp(a, b) != 0 || strcmp(a, c) != 0);
}

TEST(kv_set_spop_and_srandmember)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_SADD, "s", .args = {"a", "b", "c", "d", "e"});
    /* SRANDMEMBER changes nothing; distinct picks for a positive count */
    const char *order = "[a,b,c,d,e]";
    const char *r = DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = 3);
    CHECK(strlen(r) == 7 && r[2] == ',' && r[1] != r[3] && r[1] != r[5] && r[3] != r[5]);
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), order);
    CHECK_STR(DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = 9), order);
    r = DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = -12);
    CHECK_EQ(strlen(r), 25); /* 12 picks, repetition allowed */
    CHECK_STR(DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = 0), "[]");
    r = DO(FL_KV_SRANDMEMBER, "s");
    CHECK(strlen(r) == 3 && strchr("abcde", r[1]));
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), order);
    CHECK_STR(DO(FL_KV_SRANDMEMBER, "nokey"), "not_found");
    /* SPOP removes what it answers */
    r = DO(FL_KV_SPOP, "s");
    char gone = r[1];
    CHECK_STR(DO(FL_KV_SCARD, "s"), "4");
    char m[2] = {gone, 0};
    CHECK_STR(DO(FL_KV_SISMEMBER, "s", .value = m), "0");
    CHECK_STR(DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 0), "[]");
    CHECK_STR(DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = -1), "bad_command");
    r = DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 10);
    CHECK_EQ(strlen(r), 9); /* all four */
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"s"}), "0");
    CHECK_STR(DO(FL_KV_SPOP, "s"), "not_found");
    CHECK_STR(DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 2), "not_found");
    kvfx_close(&f);
}

TEST(kv_set_spop_too_big_changes_nothing)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.result_size_max = 39; /* 4 + 3 * (5 + 4): room for three 4-byte members, not four */
    kvfx f;
    kvfx_init(&f, &c);
    DO(FL_KV_SADD, "s", .args = {"aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"});
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), "too_big");
    CHECK_STR(DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 4), "too_big");
    CHECK_STR(DO(FL_KV_SCARD, "s"), "6");
    CHECK_STR(DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = -4), "too_big");
    CHECK_STR(DO(FL_KV_SRANDMEMBER, "s", .flags = FL_KV_F_COUNT, .num = 5), "too_big");
    /* the failed SPOP and SRANDMEMBER put the order back as it was: removing the last
     * three members from the end leaves the first three in place */
    CHECK_STR(DO(FL_KV_SREM, "s", .args = {"dddd", "eeee", "ffff"}), "3");
    CHECK_STR(DO(FL_KV_SMEMBERS, "s"), "[aaaa,bbbb,cccc]");
    CHECK_EQ(strlen(DO(FL_KV_SPOP, "s", .flags = FL_KV_F_COUNT, .num = 3)), 16);
    kvfx_close(&f);
}
