/* test_kv_zset.c: the kv's sorted sets (docs/kv.md, "Sorted sets"): ZADD's flags (NX XX GT
 * LT CH INCR) as Redis combines them, NaN refused, -0 stored as 0, scores answered as Redis
 * 7.0 writes them, ZRANGE by rank and ZRANGEBYSCORE (exclusive bounds, LIMIT, REV), ZRANK,
 * ZPOP at both ends, the set deleted when emptied, and a seeded random run against a sorted
 * array model (which also exercises the skip list's spans through fl_kv_invariants). */
#include "kv_fx.h"

#include "faultline/rng.h"

#include <math.h>

#define DO(...) kvfx_do(&f, (kc){__VA_ARGS__})

TEST(kv_zset_zadd_flags)
{
    kvfx f;
    kvfx_init(&f, NULL);
    CHECK_STR(DO(FL_KV_ZADD, "z", .args = {"1", "a", "2", "b", "1", "a"}), "2");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_CH, .args = {"5", "a", "2", "b", "3", "c"}),
              "2"); /* c added, a changed, b the same */
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_NX, .args = {"9", "a", "4", "d"}), "1");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_XX | FL_KV_F_CH, .args = {"9", "a", "4", "e"}),
              "1");
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 0, .num2 = -1, .flags = FL_KV_F_SCORES),
              "[b,2,c,3,d,4,a,9]");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_GT | FL_KV_F_CH, .args = {"1", "a", "5", "b"}),
              "1");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_LT | FL_KV_F_CH, .args = {"1", "a", "7", "c"}),
              "1");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_GT, .args = {"1", "new"}), "1");
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 0, .num2 = -1, .flags = FL_KV_F_SCORES),
              "[a,1,new,1,c,3,d,4,b,5]");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR, .args = {"2.5", "a"}), "3.5");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR | FL_KV_F_NX, .args = {"1", "a"}),
              "not_applied");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR | FL_KV_F_XX, .args = {"1", "zz"}),
              "not_applied");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR | FL_KV_F_GT, .args = {"-1", "a"}),
              "not_applied");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR, .args = {"0.5", "zz"}), "0.5");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR, .args = {"inf", "zz"}), "inf");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR, .args = {"-inf", "zz"}), "type_error");
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "zz"), "inf"); /* the NaN changed nothing */
    /* what the server refuses first is refused here too */
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_NX | FL_KV_F_XX, .args = {"1", "a"}),
              "bad_command");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_GT | FL_KV_F_LT, .args = {"1", "a"}),
              "bad_command");
    CHECK_STR(DO(FL_KV_ZADD, "z", .flags = FL_KV_F_INCR, .args = {"1", "a", "1", "b"}),
              "bad_command");
    CHECK_STR(DO(FL_KV_ZADD, "z", .args = {"nan", "a"}), "bad_command");
    CHECK_STR(DO(FL_KV_ZADD, "z", .args = {"1"}), "bad_command");
    CHECK_STR(DO(FL_KV_ZADD, "z2", .flags = FL_KV_F_XX, .args = {"1", "a"}), "0");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"z2"}), "0"); /* XX created nothing */
    kvfx_close(&f);
}

TEST(kv_zset_scores_as_redis_writes_them)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_ZADD, "z", .args = {"0.1", "a", "-0", "b", "1e300", "c", "3", "d", "-inf", "e"});
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "a"), "0.10000000000000001");
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "b"), "0"); /* -0 is kept as 0 */
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "c"), "1.0000000000000001e+300");
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "d"), "3");
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "e"), "-inf");
    CHECK_STR(DO(FL_KV_ZSCORE, "z", .value = "nope"), "not_found");
    CHECK_STR(DO(FL_KV_ZSCORE, "nokey", .value = "a"), "not_found");
    kvfx_close(&f);
}

TEST(kv_zset_ranges_ranks_pops)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_ZADD, "z", .args = {"1", "a", "2", "b", "2", "c", "3", "d", "4", "e"});
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 1, .num2 = -2), "[b,c,d]");
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 0, .num2 = 1, .flags = FL_KV_F_REV), "[e,d]");
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 3, .num2 = 1), "[]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"2", "3"}, .num2 = -1), "[b,c,d]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"2", "3"}, .num2 = -1,
                 .flags = FL_KV_F_MIN_EXCL | FL_KV_F_SCORES),
              "[d,3]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"1", "4"}, .num2 = -1,
                 .flags = FL_KV_F_MAX_EXCL | FL_KV_F_REV),
              "[d,c,b,a]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"-inf", "inf"}, .num = 1, .num2 = 2), "[b,c]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"-inf", "inf"}, .num = -1, .num2 = 2), "[]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"5", "9"}, .num2 = -1), "[]");
    CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {"3", "2"}, .num2 = -1), "[]");
    CHECK_STR(DO(FL_KV_ZRANK, "z", .value = "c"), "2");
    CHECK_STR(DO(FL_KV_ZRANK, "z", .value = "c", .flags = FL_KV_F_REV), "2");
    CHECK_STR(DO(FL_KV_ZRANK, "z", .value = "a", .flags = FL_KV_F_REV), "4");
    CHECK_STR(DO(FL_KV_ZRANK, "z", .value = "q"), "not_found");
    CHECK_STR(DO(FL_KV_ZCARD, "z"), "5");
    CHECK_STR(DO(FL_KV_ZPOP, "z"), "[a,1]");
    CHECK_STR(DO(FL_KV_ZPOP, "z", .flags = FL_KV_F_MAX | FL_KV_F_COUNT, .num = 2), "[e,4,d,3]");
    CHECK_STR(DO(FL_KV_ZPOP, "z", .flags = FL_KV_F_COUNT, .num = 0), "[]");
    CHECK_STR(DO(FL_KV_ZPOP, "z", .flags = FL_KV_F_COUNT, .num = -1), "bad_command");
    CHECK_STR(DO(FL_KV_ZREM, "z", .args = {"b", "x"}), "1");
    CHECK_STR(DO(FL_KV_ZPOP, "z", .flags = FL_KV_F_COUNT, .num = 5), "[c,2]");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"z"}), "0");
    CHECK_STR(DO(FL_KV_ZPOP, "z"), "[]"); /* Redis answers an empty array */
    CHECK_STR(DO(FL_KV_ZCARD, "z"), "0");
    CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 0, .num2 = -1), "[]");
    kvfx_close(&f);
}

/* The model: members m0..m(N-1) with small integer scores (many ties, ordered by member
 * bytes), kept sorted. */
#define N 200
typedef struct zmodel {
    int member[N], score[N];
    int n;
} zmodel;

static int mcmp(int a, int b) /* member names compared as bytes, as the kv does */
{
    char x[8], y[8];
    snprintf(x, sizeof(x), "m%d", a);
    snprintf(y, sizeof(y), "m%d", b);
    return strcmp(x, y);
}

static int zfind(const zmodel *z, int member)
{
    for (int i = 0; i < z->n; i++)
        if (z->member[i] == member)
            return i;
    return -1;
}

static void zput(zmodel *z, int member, int score)
{
    int i = zfind(z, member);
    if (i >= 0) {
        memmove(z->member + i, z->member + i + 1, sizeof(int) * (size_t)(z->n - i - 1));
        memmove(z->score + i, z->score + i + 1, sizeof(int) * (size_t)(z->n - i - 1));
        z->n--;
    }
    if (score == INT32_MIN)
        return; /* a removal */
    for (i = 0; i < z->n; i++)
        if (z->score[i] > score || (z->score[i] == score && mcmp(z->member[i], member) > 0))
            break;
    memmove(z->member + i + 1, z->member + i, sizeof(int) * (size_t)(z->n - i));
    memmove(z->score + i + 1, z->score + i, sizeof(int) * (size_t)(z->n - i));
    z->member[i] = member;
    z->score[i] = score;
    z->n++;
}

/* Members with scores in [lo, hi], from rank `from` on, as text. */
static void zrange_text(const zmodel *z, int lo, int hi, char *out, size_t size)
{
    size_t w = (size_t)snprintf(out, size, "[");
    int k = 0;
    for (int i = 0; i < z->n; i++)
        if (z->score[i] >= lo && z->score[i] <= hi)
            w += (size_t)snprintf(out + w, size - w, "%sm%d,%d", k++ ? "," : "", z->member[i],
                                  z->score[i]);
    snprintf(out + w, size - w, "]");
}

TEST(kv_zset_random_against_a_model)
{
    static char want[8192];
    char me[16], se[16], lo_s[16], hi_s[16];
    for (uint64_t seed = 1; seed <= 6; seed++) {
        kvfx f;
        kvfx_init(&f, NULL);
        zmodel z = {.n = 0};
        fl_rng rng;
        fl_rng_seed(&rng, seed);
        for (int step = 0; step < 600; step++) {
            int m = (int)fl_rng_below(&rng, N), s = (int)fl_rng_below(&rng, 20) - 10;
            snprintf(me, sizeof(me), "m%d", m);
            snprintf(se, sizeof(se), "%d", s);
            if (fl_rng_chance(&rng, 0.8)) {
                CHECK_STR(DO(FL_KV_ZADD, "z", .args = {se, me}), zfind(&z, m) < 0 ? "1" : "0");
                zput(&z, m, s);
            } else {
                CHECK_STR(DO(FL_KV_ZREM, "z", .args = {me}), zfind(&z, m) < 0 ? "0" : "1");
                zput(&z, m, INT32_MIN);
            }
            int lo = (int)fl_rng_below(&rng, 24) - 12, hi = lo + (int)fl_rng_below(&rng, 8);
            snprintf(lo_s, sizeof(lo_s), "%d", lo);
            snprintf(hi_s, sizeof(hi_s), "%d", hi);
            zrange_text(&z, lo, hi, want, sizeof(want));
            CHECK_STR(DO(FL_KV_ZRANGEBYSCORE, "z", .args = {lo_s, hi_s}, .num2 = -1,
                         .flags = FL_KV_F_SCORES),
                      want);
            int i = zfind(&z, m);
            if (i >= 0) {
                snprintf(want, sizeof(want), "%d", i);
                CHECK_STR(DO(FL_KV_ZRANK, "z", .value = me), want);
                snprintf(want, sizeof(want), "[m%d]", m);
                CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = i, .num2 = i), want);
                CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = z.n - 1 - i, .num2 = z.n - 1 - i,
                             .flags = FL_KV_F_REV),
                          want);
            }
        }
        zrange_text(&z, INT32_MIN, INT32_MAX, want, sizeof(want));
        CHECK_STR(DO(FL_KV_ZRANGE, "z", .num = 0, .num2 = -1, .flags = FL_KV_F_SCORES), want);
        kvfx_close(&f);
    }
}
