/* test_kv_redis.c: unit tests for the kv's Redis-shaped commands: SET's options, expiry by
 * log time (never a clock), MSET, DEL, GETDEL, GETEX, EXPIRE conditions, TTL, KEYS and SCAN,
 * FLUSH, transactions with WATCH, reads outside the log, and snapshots of the new state. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/kv.h"
#include "kv/kv_internal.h"

#include <stdlib.h>
#include <string.h>

#define S FL_NS_PER_S

typedef struct fx {
    fl_kv kv;
    fl_index index;
    fl_time_ns now; /* the leader's stamp of the next command */
    fl_buf entry, args;
    fl_kv_result res;
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof(*f));
    CHECK_EQ(fl_kv_init(&f->kv, NULL), 0);
    fl_buf_init(&f->entry);
    fl_buf_init(&f->args);
    f->now = 1000 * S;
}

static void fx_close(fx *f)
{
    CHECK(fl_kv_invariants(&f->kv));
    fl_kv_close(&f->kv);
    fl_buf_free(&f->entry);
    fl_buf_free(&f->args);
}

static fl_kv_cmd kc(fl_kv_op op, const char *key, const char *value)
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

static fl_kv_status apply(fx *f, fl_kv_cmd c)
{
    c.time_ns = f->now;
    fl_buf_reset(&f->entry);
    CHECK_EQ(fl_kv_cmd_encode(&c, &f->entry), 0);
    CHECK_EQ(fl_kv_apply(&f->kv, ++f->index, f->entry.data, f->entry.len, &f->res), 0);
    CHECK(fl_kv_invariants(&f->kv));
    return f->res.status;
}

/* c with the argument list of words (NULL-terminated). */
static fl_kv_cmd with_args(fx *f, fl_kv_cmd c, const char *const *words)
{
    fl_buf_reset(&f->args);
    c.argc = 0;
    for (; *words; words++, c.argc++)
        fl_kv_args_add(&f->args, *words, strlen(*words));
    c.args = f->args.data;
    c.args_len = f->args.len;
    return c;
}

static bool is(const fx *f, const char *s)
{
    size_t n = strlen(s);
    return f->res.has_value && f->res.value_len == n && memcmp(f->res.value, s, n) == 0;
}

static fl_kv_status get(fx *f, const char *key)
{
    return apply(f, kc(FL_KV_GET, key, NULL));
}

static const char *ttl(fx *f, const char *key, bool ms)
{
    fl_kv_cmd c = kc(FL_KV_TTL, key, NULL);
    c.flags = ms ? FL_KV_F_MS : 0;
    CHECK_EQ(apply(f, c), FL_KV_OK);
    static char text[32];
    snprintf(text, sizeof(text), "%.*s", (int)f->res.value_len, (const char *)f->res.value);
    return text;
}

TEST(kv_set_options)
{
    fx f;
    fx_init(&f);
    fl_kv_cmd c = kc(FL_KV_SET, "k", "1");
    c.flags = FL_KV_F_XX;
    CHECK_EQ(apply(&f, c), FL_KV_NOT_APPLIED);
    CHECK_EQ(get(&f, "k"), FL_KV_NOT_FOUND);
    c.flags = FL_KV_F_NX | FL_KV_F_GET;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK(!f.res.has_value); /* nothing was there */
    c = kc(FL_KV_SET, "k", "2");
    c.flags = FL_KV_F_NX;
    CHECK_EQ(apply(&f, c), FL_KV_NOT_APPLIED);
    c.flags = FL_KV_F_XX | FL_KV_F_GET;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK(is(&f, "1"));
    CHECK_EQ(get(&f, "k"), FL_KV_OK);
    CHECK(is(&f, "2"));
    fx_close(&f);
}

TEST(kv_expiry_follows_log_time_only)
{
    fx f;
    fx_init(&f);
    fl_kv_cmd c = kc(FL_KV_SET, "k", "v");
    c.flags = FL_KV_F_EXP_REL;
    c.num = 10 * S;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK_STR(ttl(&f, "k", false), "10");
    CHECK_STR(ttl(&f, "k", true), "10000");
    CHECK_EQ(fl_kv_next_expiry(&f.kv), 1010 * S);
    f.now += 9 * S + 400 * FL_NS_PER_MS;
    CHECK_STR(ttl(&f, "k", false), "1"); /* 600 ms left, rounded as Redis does */
    CHECK_EQ(get(&f, "k"), FL_KV_OK);
    f.now += 600 * FL_NS_PER_MS; /* exactly due */
    CHECK_EQ(get(&f, "k"), FL_KV_NOT_FOUND);
    CHECK_STR(ttl(&f, "k", false), "-2");
    CHECK_EQ(fl_kv_next_expiry(&f.kv), FL_TIME_NEVER);
    /* a stamp older than the log time does not bring time back */
    c.num = 5 * S;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    f.now -= 100 * S;
    CHECK_STR(ttl(&f, "k", true), "5000");
    /* a plain SET drops the time to live, KEEPTTL keeps it, an absolute time in the past
     * deletes at once */
    c = kc(FL_KV_SET, "k", "w");
    c.flags = FL_KV_F_KEEPTTL;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK_STR(ttl(&f, "k", true), "5000");
    CHECK_EQ(apply(&f, kc(FL_KV_PUT, "k", "x")), FL_KV_OK);
    CHECK_STR(ttl(&f, "k", false), "-1");
    c = kc(FL_KV_SET, "k", "y");
    c.flags = FL_KV_F_EXP_ABS;
    c.num = 1;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK_EQ(get(&f, "k"), FL_KV_NOT_FOUND);
    fx_close(&f);
}

TEST(kv_expire_conditions_persist_getex)
{
    fx f;
    fx_init(&f);
    CHECK_EQ(apply(&f, kc(FL_KV_PUT, "k", "v")), FL_KV_OK);
    fl_kv_cmd e = kc(FL_KV_EXPIRE, "k", NULL);
    e.flags = FL_KV_F_EXP_REL | 2; /* XX: has none */
    e.num = 100 * S;
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "0"));
    e.flags = FL_KV_F_EXP_REL | 3; /* GT: none counts as infinite */
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "0"));
    e.flags = FL_KV_F_EXP_REL | 1; /* NX */
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "1"));
    e.num = 50 * S;
    e.flags = FL_KV_F_EXP_REL | 3; /* GT: 50 < 100 */
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "0"));
    e.flags = FL_KV_F_EXP_REL | 4; /* LT */
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "1"));
    CHECK_STR(ttl(&f, "k", false), "50");
    CHECK_EQ(apply(&f, kc(FL_KV_PERSIST, "k", NULL)), FL_KV_OK);
    CHECK(is(&f, "1"));
    CHECK_EQ(apply(&f, kc(FL_KV_PERSIST, "k", NULL)), FL_KV_OK);
    CHECK(is(&f, "0"));
    fl_kv_cmd g = kc(FL_KV_GETEX, "k", NULL);
    g.flags = FL_KV_F_EXP_REL;
    g.num = 7 * S;
    CHECK_EQ(apply(&f, g), FL_KV_OK);
    CHECK(is(&f, "v"));
    CHECK_STR(ttl(&f, "k", false), "7");
    g.flags = FL_KV_F_PERSIST;
    CHECK_EQ(apply(&f, g), FL_KV_OK);
    CHECK_STR(ttl(&f, "k", false), "-1");
    e.flags = FL_KV_F_EXP_REL;
    e.num = -1; /* a time to live <= 0 deletes, as Redis does */
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    CHECK(is(&f, "1"));
    CHECK_EQ(get(&f, "k"), FL_KV_NOT_FOUND);
    CHECK_EQ(apply(&f, kc(FL_KV_PUT, "k", "v")), FL_KV_OK);
    CHECK_EQ(apply(&f, kc(FL_KV_GETDEL, "k", NULL)), FL_KV_OK);
    CHECK(is(&f, "v"));
    CHECK_EQ(apply(&f, kc(FL_KV_GETDEL, "k", NULL)), FL_KV_NOT_FOUND);
    fx_close(&f);
}

TEST(kv_mset_del_mget_exists)
{
    fx f;
    fx_init(&f);
    const char *pairs[] = {"a", "1", "b", "2", NULL};
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_MSET, NULL, NULL), pairs)), FL_KV_OK);
    const char *nx[] = {"b", "9", "c", "3", NULL};
    fl_kv_cmd c = with_args(&f, kc(FL_KV_MSET, NULL, NULL), nx);
    c.flags = FL_KV_F_NX;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    CHECK(is(&f, "0")); /* b exists: nothing set */
    CHECK_EQ(get(&f, "c"), FL_KV_NOT_FOUND);
    const char *odd[] = {"a", NULL};
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_MSET, NULL, NULL), odd)), FL_KV_BAD_COMMAND);
    const char *keys[] = {"a", "x", "b", "a", NULL};
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_EXISTS, NULL, NULL), keys)), FL_KV_OK);
    CHECK(is(&f, "3"));
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_MGET, NULL, NULL), keys)), FL_KV_OK);
    uint32_t n = 0;
    CHECK(fl_kv_list_count(f.res.value, f.res.value_len, &n));
    CHECK_EQ(n, 4);
    size_t off = 0, len;
    const uint8_t *p;
    const char *want[] = {"1", NULL, "2", "1"};
    for (int i = 0; i < 4; i++) {
        CHECK(fl_kv_list_next(f.res.value, f.res.value_len, &off, &p, &len));
        CHECK((p == NULL) == (want[i] == NULL));
        CHECK(!p || (len == 1 && p[0] == want[i][0]));
    }
    CHECK(!fl_kv_list_next(f.res.value, f.res.value_len, &off, &p, &len));
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_DEL, NULL, NULL), keys)), FL_KV_OK);
    CHECK(is(&f, "2"));
    CHECK_EQ(fl_kv_key_count(&f.kv), 0);
    fx_close(&f);
}

TEST(kv_glob_patterns)
{
    struct {
        const char *p, *s;
        bool m;
    } t[] = {{"*", "", true},
             {"h?llo", "hello", true},
             {"h*llo", "heeeello", true},
             {"h[ae]llo", "hallo", true},
             {"h[^e]llo", "hello", false},
             {"h[a-b]llo", "hbllo", true},
             {"h\\*o", "h*o", true},
             {"h\\*o", "hxo", false},
             {"*a*b", "xaxxb", true},
             {"a*", "b", false},
             {"[z-a]", "m", true},
             {"**x", "abx", true}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        bool m = fl__kv_glob((const uint8_t *)t[i].p, strlen(t[i].p), (const uint8_t *)t[i].s,
                             strlen(t[i].s));
        if (m != t[i].m)
            fprintf(stderr, "  glob %s on %s\n", t[i].p, t[i].s);
        CHECK(m == t[i].m);
    }
}

/* Counts the keys a full SCAN returns, page by page, each key once. */
static size_t scan_all(fx *f, int64_t count)
{
    char cursor[32] = "0";
    size_t seen = 0;
    for (int pages = 0; pages < 1000; pages++) {
        const char *args[] = {cursor, "*", NULL};
        fl_kv_cmd c = with_args(f, kc(FL_KV_SCAN, NULL, NULL), args);
        c.num = count;
        CHECK_EQ(apply(f, c), FL_KV_OK);
        uint32_t n;
        CHECK(fl_kv_list_count(f->res.value, f->res.value_len, &n));
        size_t off = 0, len;
        const uint8_t *p;
        CHECK(fl_kv_list_next(f->res.value, f->res.value_len, &off, &p, &len));
        snprintf(cursor, sizeof(cursor), "%.*s", (int)len, (const char *)p);
        seen += n - 1;
        if (!strcmp(cursor, "0"))
            return seen;
    }
    CHECK(false);
    return 0;
}

TEST(kv_keys_scan_dbsize_flush)
{
    fx f;
    fx_init(&f);
    for (int i = 0; i < 57; i++) {
        char k[16];
        snprintf(k, sizeof(k), "key:%02d", i);
        CHECK_EQ(apply(&f, kc(FL_KV_PUT, k, "v")), FL_KV_OK);
    }
    const char *pat[] = {"key:1?", NULL};
    CHECK_EQ(apply(&f, with_args(&f, kc(FL_KV_KEYS, NULL, NULL), pat)), FL_KV_OK);
    uint32_t n;
    CHECK(fl_kv_list_count(f.res.value, f.res.value_len, &n));
    CHECK_EQ(n, 10);
    size_t off = 0, len;
    const uint8_t *p;
    CHECK(fl_kv_list_next(f.res.value, f.res.value_len, &off, &p, &len));
    CHECK(len == 6 && !memcmp(p, "key:10", 6)); /* sorted */
    CHECK_EQ(scan_all(&f, 10), 57);
    CHECK_EQ(scan_all(&f, 1000), 57);
    CHECK_EQ(apply(&f, kc(FL_KV_DBSIZE, NULL, NULL)), FL_KV_OK);
    CHECK(is(&f, "57"));
    CHECK_EQ(apply(&f, kc(FL_KV_FLUSH, NULL, NULL)), FL_KV_OK);
    CHECK_EQ(fl_kv_key_count(&f.kv), 0);
    fx_close(&f);
}

/* A transaction of SET a 1, INCR a, GET a, watching (key, index) pairs. */
static fl_kv_cmd tx(fx *f, fl_buf *args, const char *watch_key, fl_index watch_at)
{
    fl_buf_reset(args);
    fl_kv_cmd c = kc(FL_KV_MULTI, NULL, NULL);
    if (watch_key) {
        uint8_t w[8];
        fl_put_u64le(w, watch_at);
        fl_kv_args_add(args, watch_key, strlen(watch_key));
        fl_kv_args_add(args, w, 8);
        c.num = 1;
        c.argc = 2;
    }
    fl_kv_cmd subs[3] = {kc(FL_KV_PUT, "a", "1"), kc(FL_KV_INCR, "a", NULL),
                         kc(FL_KV_GET, "a", NULL)};
    subs[1].delta = 1;
    for (int i = 0; i < 3; i++) {
        fl_buf_reset(&f->entry);
        CHECK_EQ(fl_kv_cmd_encode(&subs[i], &f->entry), 0);
        fl_kv_args_add(args, f->entry.data, f->entry.len);
        c.argc++;
    }
    c.args = args->data;
    c.args_len = args->len;
    return c;
}

TEST(kv_multi_applies_at_once_and_honours_watch)
{
    fx f;
    fx_init(&f);
    fl_buf args;
    fl_buf_init(&args);
    CHECK_EQ(apply(&f, tx(&f, &args, NULL, 0)), FL_KV_OK);
    uint32_t n;
    CHECK(fl_kv_list_count(f.res.value, f.res.value_len, &n));
    CHECK_EQ(n, 3);
    size_t off = 0, len;
    const uint8_t *p;
    fl_kv_result r;
    for (int i = 0; i < 3; i++) {
        CHECK(fl_kv_list_next(f.res.value, f.res.value_len, &off, &p, &len));
        CHECK_EQ(fl_kv_result_decode(p, len, &r), 0);
        CHECK_EQ(r.status, FL_KV_OK);
    }
    CHECK(r.value_len == 1 && r.value[0] == '2');
    fl_index w = f.index;                                          /* a watch taken now */
    CHECK_EQ(apply(&f, tx(&f, &args, "a", w)), FL_KV_OK);          /* untouched since */
    CHECK_EQ(apply(&f, tx(&f, &args, "a", w)), FL_KV_NOT_APPLIED); /* the tx above touched it */
    w = f.index;
    CHECK_EQ(apply(&f, kc(FL_KV_PUT, "other", "x")), FL_KV_OK);
    CHECK_EQ(apply(&f, tx(&f, &args, "a", w)), FL_KV_OK); /* another key changed: fine */
    /* a missing key is touched by any deletion after the watch */
    w = f.index;
    CHECK_EQ(apply(&f, tx(&f, &args, "nope", w)), FL_KV_OK);
    CHECK_EQ(apply(&f, kc(FL_KV_DELETE, "other", NULL)), FL_KV_OK);
    CHECK_EQ(apply(&f, tx(&f, &args, "nope", w)), FL_KV_NOT_APPLIED);
    /* an expiry after the watch is a change */
    fl_kv_cmd e = kc(FL_KV_EXPIRE, "a", NULL);
    e.flags = FL_KV_F_EXP_REL;
    e.num = S;
    CHECK_EQ(apply(&f, e), FL_KV_OK);
    w = f.index;
    f.now += 2 * S;
    CHECK_EQ(apply(&f, tx(&f, &args, "a", w)), FL_KV_NOT_APPLIED);
    /* a transaction with a command that does not decode changes nothing */
    fl_kv_cmd bad = tx(&f, &args, NULL, 0);
    fl_kv_args_add(&args, "xx", 2);
    bad.argc++;
    bad.args = args.data;
    bad.args_len = args.len;
    uint64_t before = fl_kv_digest(&f.kv);
    CHECK_EQ(apply(&f, bad), FL_KV_BAD_COMMAND);
    CHECK_EQ(get(&f, "a"), FL_KV_NOT_FOUND);
    (void)before;
    fl_buf_free(&args);
    fx_close(&f);
}

TEST(kv_read_outside_the_log_matches_apply)
{
    fx f;
    fx_init(&f);
    fl_kv_cmd c = kc(FL_KV_SET, "k", "hello");
    c.flags = FL_KV_F_EXP_REL;
    c.num = 30 * S;
    CHECK_EQ(apply(&f, c), FL_KV_OK);
    fl_kv_op reads[] = {FL_KV_GET, FL_KV_STRLEN, FL_KV_TYPE, FL_KV_TTL, FL_KV_DBSIZE};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        fl_kv_result r;
        fl_kv_cmd q = kc(reads[i], "k", NULL);
        CHECK_EQ(fl_kv_read(&f.kv, &q, &r), 0);
        char a[64];
        snprintf(a, sizeof(a), "%d %.*s", r.status, (int)r.value_len, (const char *)r.value);
        f.now = 0; /* the log time stays: the same state, the same answer */
        CHECK_EQ(apply(&f, q), r.status);
        char b[64];
        snprintf(b, sizeof(b), "%d %.*s", f.res.status, (int)f.res.value_len,
                 (const char *)f.res.value);
        CHECK_STR(a, b);
    }
    fl_kv_result r;
    fl_kv_cmd w = kc(FL_KV_PUT, "k", "v");
    CHECK_EQ(fl_kv_read(&f.kv, &w, &r), FL_EINVAL);
    fx_close(&f);
}

TEST(kv_snapshot_keeps_expiry_and_modification_indexes)
{
    fx f;
    fx_init(&f);
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        fl_kv_cmd c = kc(FL_KV_SET, k, "v");
        c.flags = i % 3 ? FL_KV_F_EXP_REL : 0;
        c.num = (i + 1) * S;
        CHECK_EQ(apply(&f, c), FL_KV_OK);
    }
    CHECK_EQ(apply(&f, kc(FL_KV_DELETE, "k0", NULL)), FL_KV_OK);
    fl_buf s;
    fl_buf_init(&s);
    CHECK_EQ(fl_kv_snapshot(&f.kv, &s), 0);
    fx g;
    fx_init(&g);
    CHECK_EQ(fl_kv_restore(&g.kv, s.data, s.len), 0);
    CHECK(fl_kv_invariants(&g.kv));
    CHECK_EQ(fl_kv_digest(&g.kv), fl_kv_digest(&f.kv));
    CHECK_EQ(fl_kv_next_expiry(&g.kv), fl_kv_next_expiry(&f.kv));
    /* both expire the same keys at the same index */
    g.index = f.index;
    f.now += 20 * S;
    g.now = f.now;
    CHECK_EQ(apply(&f, kc(FL_KV_NOOP, NULL, NULL)), FL_KV_OK);
    CHECK_EQ(apply(&g, kc(FL_KV_NOOP, NULL, NULL)), FL_KV_OK);
    CHECK(fl_kv_key_count(&f.kv) < 39);
    CHECK_EQ(fl_kv_digest(&g.kv), fl_kv_digest(&f.kv));
    fl_buf_free(&s);
    fx_close(&g);
    fx_close(&f);
}
