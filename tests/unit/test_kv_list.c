/* test_kv_list.c: the kv's lists (docs/kv.md, "Lists"): push and pop at both ends with
 * counts, Redis's index rules for LRANGE, LINDEX, LSET and LTRIM, LREM from either end, a
 * list deleted when emptied, the limits (elements_max, the result limit: a pop too big to
 * answer changes nothing), and a seeded random run against a plain array model. */
#include "kv_fx.h"

#include "faultline/rng.h"

#define DO(...) kvfx_do(&f, (kc){__VA_ARGS__})

TEST(kv_list_push_pop_both_ends)
{
    kvfx f;
    kvfx_init(&f, NULL);
    CHECK_STR(DO(FL_KV_PUSH, "l", .flags = FL_KV_F_XX, .args = {"a"}), "0"); /* LPUSHX: none */
    CHECK_STR(DO(FL_KV_LLEN, "l"), "0");
    CHECK_STR(DO(FL_KV_TYPE, "l"), "none");
    CHECK_STR(DO(FL_KV_PUSH, "l", .flags = FL_KV_F_LEFT, .args = {"a", "b", "c"}), "3");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"x", "y"}), "5");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = -1), "[c,b,a,x,y]");
    CHECK_STR(DO(FL_KV_TYPE, "l"), "list");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_LEFT), "[c]");
    CHECK_STR(DO(FL_KV_POP, "l"), "[y]");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_COUNT, .num = 2), "[x,a]");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_COUNT | FL_KV_F_LEFT, .num = 0), "[]");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_COUNT | FL_KV_F_LEFT, .num = 9), "[b]");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"l"}), "0"); /* emptied: the key is gone */
    CHECK_STR(DO(FL_KV_POP, "l"), "not_found");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_COUNT, .num = -1), "not_found");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"a"}), "1");
    CHECK_STR(DO(FL_KV_POP, "l", .flags = FL_KV_F_COUNT, .num = -1), "bad_command");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {NULL}), "bad_command");           /* no element */
    CHECK_STR(DO(FL_KV_PUSH, "l", .flags = FL_KV_F_XX, .args = {"b"}), "2"); /* RPUSHX */
    kvfx_close(&f);
}

TEST(kv_list_indexes_follow_redis)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_PUSH, "l", .args = {"a", "b", "c", "d", "e"});
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 1, .num2 = 2), "[b,c]");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = -2, .num2 = -1), "[d,e]");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = -100, .num2 = 100), "[a,b,c,d,e]");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 3, .num2 = 1), "[]");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 5, .num2 = 9), "[]");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = -6), "[]");
    CHECK_STR(DO(FL_KV_LRANGE, "missing", .num = 0, .num2 = -1), "[]");
    CHECK_STR(DO(FL_KV_LINDEX, "l", .num = -1), "e");
    CHECK_STR(DO(FL_KV_LINDEX, "l", .num = 5), "not_found");
    CHECK_STR(DO(FL_KV_LINDEX, "l", .num = -6), "not_found");
    CHECK_STR(DO(FL_KV_LSET, "l", .num = -5, .value = "A"), "ok");
    CHECK_STR(DO(FL_KV_LSET, "l", .num = 5, .value = "z"), "out_of_range");
    CHECK_STR(DO(FL_KV_LSET, "missing", .num = 0, .value = "z"), "not_found");
    CHECK_STR(DO(FL_KV_LINDEX, "l", .num = 0), "A");
    CHECK_STR(DO(FL_KV_LTRIM, "l", .num = 1, .num2 = -2), "ok");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = -1), "[b,c,d]");
    CHECK_STR(DO(FL_KV_LTRIM, "missing", .num = 0, .num2 = 1), "ok");
    CHECK_STR(DO(FL_KV_LTRIM, "l", .num = 2, .num2 = 1), "ok"); /* empty range: all go */
    CHECK_STR(DO(FL_KV_LLEN, "l"), "0");
    CHECK_STR(DO(FL_KV_DBSIZE), "0");
    kvfx_close(&f);
}

TEST(kv_list_lrem_from_either_end)
{
    kvfx f;
    kvfx_init(&f, NULL);
    DO(FL_KV_PUSH, "l", .args = {"x", "a", "x", "b", "x", "c", "x"});
    CHECK_STR(DO(FL_KV_LREM, "l", .num = 2, .value = "x"), "2");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = -1), "[a,b,x,c,x]");
    CHECK_STR(DO(FL_KV_LREM, "l", .num = -1, .value = "x"), "1");
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = -1), "[a,b,x,c]");
    CHECK_STR(DO(FL_KV_LREM, "l", .num = 0, .value = "nope"), "0");
    CHECK_STR(DO(FL_KV_LREM, "l", .num = 0, .value = "x"), "1");
    CHECK_STR(DO(FL_KV_LREM, "missing", .num = 0, .value = "x"), "0");
    CHECK_STR(DO(FL_KV_LREM, "l", .num = INT64_MIN, .value = "a"), "1");
    DO(FL_KV_LREM, "l", .num = 0, .value = "b");
    CHECK_STR(DO(FL_KV_LREM, "l", .num = 0, .value = "c"), "1");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"l"}), "0");
    kvfx_close(&f);
}

TEST(kv_list_limits_change_nothing)
{
    fl_kv_config c;
    fl_kv_config_default(&c);
    c.elements_max = 4;
    c.value_size_max = 8;
    c.result_size_max = 64;
    kvfx f;
    kvfx_init(&f, &c);
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"a", "b", "c", "d", "e"}), "too_big");
    CHECK_STR(DO(FL_KV_EXISTS, NULL, .args = {"l"}), "0");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"123456789"}), "too_big");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"12345678", "12345678", "12345678", "12345678"}), "4");
    CHECK_STR(DO(FL_KV_PUSH, "l", .args = {"e"}), "too_big");
    CHECK_STR(DO(FL_KV_LSET, "l", .num = 0, .value = "123456789"), "too_big");
    /* 4 + 4 * 13 = 56 bytes fit in 64; the whole list does, but not with the count too */
    CHECK_STR(DO(FL_KV_LRANGE, "l", .num = 0, .num2 = 3), "[12345678,12345678,12345678,12345678]");
    fl_kv_config small = c;
    small.result_size_max = 40;
    fl_buf snap;
    fl_buf_init(&snap);
    CHECK_EQ(fl_kv_snapshot(&f.kv, &snap), 0);
    kvfx g;
    kvfx_init(&g, &small);
    CHECK_EQ(fl_kv_restore(&g.kv, snap.data, snap.len), 0);
    g.index = f.index;
    CHECK_STR(kvfx_do(&g, (kc){FL_KV_POP, "l", .flags = FL_KV_F_COUNT, .num = 4}), "too_big");
    CHECK_STR(kvfx_do(&g, (kc){FL_KV_LLEN, "l"}), "4"); /* nothing was popped */
    CHECK_STR(kvfx_do(&g, (kc){FL_KV_POP, "l", .flags = FL_KV_F_COUNT, .num = 2}),
              "[12345678,12345678]");
    fl_buf_free(&snap);
    kvfx_close(&g);
    kvfx_close(&f);
}

/* A plain array of small integers as the model of one list. */
typedef struct model {
    int v[256];
    int n;
} model;

static void model_text(const model *m, int from, int to, char *out, size_t size)
{
    size_t w = (size_t)snprintf(out, size, "[");
    for (int i = from; i <= to; i++)
        w += (size_t)snprintf(out + w, size - w, "%s%d", i > from ? "," : "", m->v[i]);
    snprintf(out + w, size - w, "]");
}

/* Redis's range on the model (the kv's rule, written again the plain way). */
static bool model_range(const model *m, int64_t start, int64_t stop, int *from, int *to)
{
    if (start < 0)
        start += m->n;
    if (stop < 0)
        stop += m->n;
    if (start < 0)
        start = 0;
    if (stop >= m->n)
        stop = m->n - 1;
    *from = (int)start;
    *to = (int)stop;
    return start <= stop && start < m->n && stop >= 0;
}

/* One random command on both the kv and the model; checks the answers agree. */
static void random_step(kvfx *f, model *m, fl_rng *rng)
{
    char want[2048], e[16];
    int x = (int)fl_rng_below(rng, 10), from, to;
    int64_t a = (int64_t)fl_rng_below(rng, 24) - 12, b = (int64_t)fl_rng_below(rng, 24) - 12;
    snprintf(e, sizeof(e), "%d", x);
    switch (fl_rng_below(rng, 6)) {
    case 0: { /* push at one end */
        bool left = fl_rng_chance(rng, 0.5);
        if (m->n == 256)
            return;
        memmove(m->v + left, m->v, left ? sizeof(int) * (size_t)m->n : 0);
        m->v[left ? 0 : m->n] = x;
        m->n++;
        snprintf(want, sizeof(want), "%d", m->n);
        CHECK_STR(kvfx_do(f, (kc){FL_KV_PUSH, "l", .flags = left ? FL_KV_F_LEFT : 0, .args = {e}}),
                  want);
        return;
    }
    case 1: { /* pop a few at one end */
        bool left = fl_rng_chance(rng, 0.5);
        int k = (int)fl_rng_below(rng, 4);
        k = k < m->n ? k : m->n;
        const char *got = kvfx_do(
            f, (kc){FL_KV_POP, "l", .flags = (uint8_t)(FL_KV_F_COUNT | (left ? FL_KV_F_LEFT : 0)),
                    .num = k});
        if (m->n == 0) {
            CHECK_STR(got, "not_found");
            return;
        }
        size_t w = (size_t)snprintf(want, sizeof(want), "[");
        for (int i = 0; i < k; i++)
            w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%d", i ? "," : "",
                                  m->v[left ? i : m->n - 1 - i]);
        snprintf(want + w, sizeof(want) - w, "]");
        CHECK_STR(got, want);
        if (left)
            memmove(m->v, m->v + k, sizeof(int) * (size_t)(m->n - k));
        m->n -= k;
        return;
    }
    case 2: /* a range */
        if (model_range(m, a, b, &from, &to))
            model_text(m, from, to, want, sizeof(want));
        else
            snprintf(want, sizeof(want), "[]");
        CHECK_STR(kvfx_do(f, (kc){FL_KV_LRANGE, "l", .num = a, .num2 = b}), want);
        return;
    case 3: { /* LREM */
        int64_t count = (int64_t)fl_rng_below(rng, 5) - 2, removed = 0;
        int w = 0;
        bool head = count >= 0;
        int limit = count < 0 ? (int)-count : (int)count;
        int keep[256];
        for (int i = 0; i < m->n; i++)
            keep[i] = 1;
        for (int k = 0; k < m->n; k++) {
            int i = head ? k : m->n - 1 - k;
            if (m->v[i] == x && (limit == 0 || removed < limit)) {
                keep[i] = 0;
                removed++;
            }
        }
        for (int i = 0; i < m->n; i++)
            if (keep[i])
                m->v[w++] = m->v[i];
        m->n = w;
        snprintf(want, sizeof(want), "%lld", (long long)removed);
        CHECK_STR(kvfx_do(f, (kc){FL_KV_LREM, "l", .num = count, .value = e}), want);
        return;
    }
    case 4: /* LTRIM */
        if (model_range(m, a, b, &from, &to)) {
            memmove(m->v, m->v + from, sizeof(int) * (size_t)(to - from + 1));
            m->n = to - from + 1;
        } else {
            m->n = 0;
        }
        CHECK_STR(kvfx_do(f, (kc){FL_KV_LTRIM, "l", .num = a, .num2 = b}), "ok");
        return;
    default: /* LSET and LINDEX */
        if (a < -m->n || a >= m->n) {
            CHECK_STR(kvfx_do(f, (kc){FL_KV_LSET, "l", .num = a, .value = e}),
                      m->n ? "out_of_range" : "not_found");
            return;
        }
        m->v[a < 0 ? a + m->n : a] = x;
        CHECK_STR(kvfx_do(f, (kc){FL_KV_LSET, "l", .num = a, .value = e}), "ok");
        CHECK_STR(kvfx_do(f, (kc){FL_KV_LINDEX, "l", .num = a}), e);
    }
}

TEST(kv_list_random_against_a_model)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        kvfx f;
        kvfx_init(&f, NULL);
        model m = {.n = 0};
        fl_rng rng;
        fl_rng_seed(&rng, seed);
        for (int i = 0; i < 400; i++)
            random_step(&f, &m, &rng);
        char want[16];
        snprintf(want, sizeof(want), "%d", m.n);
        CHECK_STR(kvfx_do(&f, (kc){FL_KV_LLEN, "l"}), want);
        kvfx_close(&f);
    }
}
