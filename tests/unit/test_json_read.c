/* test_json_read.c: the strict JSON parser (json_read.h): valid documents, accessors, and
 * rejection of every kind of malformed input without asserting. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/json_read.h"
#include "faultline/rng.h"

#define NODES 64

static int parse(fl_jr_doc *d, fl_jr_node *nodes, const char *s)
{
    return fl_jr_parse(d, s, strlen(s), nodes, NODES);
}

TEST(json_read_object_members)
{
    fl_jr_node nodes[NODES];
    fl_jr_doc d;
    const char *s = "{\"process\":3,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,-4],"
                    "\"key\":\"k\\u00e9\\n\",\"x\":null,\"t\":true,\"e\":{}}";
    CHECK_EQ(parse(&d, nodes, s), 0);
    CHECK_EQ(nodes[0].type, FL_JR_OBJECT);
    CHECK_EQ(nodes[0].count, 8);
    int64_t v;
    CHECK_EQ(fl_jr_int(&d, fl_jr_get(&d, 0, "process"), &v), 0);
    CHECK_EQ(v, 3);
    CHECK(fl_jr_str_eq(&d, fl_jr_get(&d, 0, "type"), "invoke"));
    uint32_t arr = fl_jr_get(&d, 0, "value");
    CHECK_EQ(nodes[arr].count, 2);
    CHECK_EQ(fl_jr_int(&d, fl_jr_at(&d, arr, 1), &v), 0);
    CHECK_EQ(v, -4);
    CHECK_EQ(fl_jr_at(&d, arr, 2), FL_JR_NONE);
    char buf[16];
    size_t len;
    CHECK_EQ(fl_jr_str(&d, fl_jr_get(&d, 0, "key"), buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 4);
    CHECK_STR(buf, "k\xc3\xa9\n");
    CHECK(fl_jr_str_eq(&d, fl_jr_get(&d, 0, "key"), "k\xc3\xa9\n"));
    CHECK_EQ(nodes[fl_jr_get(&d, 0, "x")].type, FL_JR_NULL);
    CHECK_EQ(nodes[fl_jr_get(&d, 0, "t")].type, FL_JR_TRUE);
    CHECK_EQ(nodes[fl_jr_get(&d, 0, "e")].type, FL_JR_OBJECT);
    CHECK_EQ(fl_jr_get(&d, 0, "missing"), FL_JR_NONE);
    CHECK_EQ(fl_jr_get(&d, arr, "process"), FL_JR_NONE); /* not an object */
}

TEST(json_read_numbers)
{
    fl_jr_node nodes[NODES];
    fl_jr_doc d;
    int64_t v;
    double x;
    CHECK_EQ(parse(&d, nodes, "[9223372036854775807,-9223372036854775808,1.5e3,0,-0.25]"), 0);
    CHECK_EQ(fl_jr_int(&d, fl_jr_at(&d, 0, 0), &v), 0);
    CHECK(v == INT64_MAX);
    CHECK_EQ(fl_jr_int(&d, fl_jr_at(&d, 0, 1), &v), 0);
    CHECK(v == INT64_MIN);
    CHECK_EQ(fl_jr_int(&d, fl_jr_at(&d, 0, 2), &v), FL_ETYPE);
    CHECK_EQ(fl_jr_double(&d, fl_jr_at(&d, 0, 2), &x), 0);
    CHECK(x == 1500.0);
    CHECK_EQ(fl_jr_int(&d, fl_jr_at(&d, 0, 3), &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(parse(&d, nodes, "9223372036854775808"), 0);
    CHECK_EQ(fl_jr_int(&d, 0, &v), FL_ERANGE);
    CHECK_EQ(parse(&d, nodes, "\"3\""), 0);
    CHECK_EQ(fl_jr_int(&d, 0, &v), FL_ETYPE);
}

TEST(json_read_rejects_malformed)
{
    static const char *bad[] = {
        "",
        "{",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "1.",
        "1e",
        "-",
        "+1",
        "nul",
        "truex",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"a\tb\"",
        "[1] [2]",
        "/* c */ 1",
        "'a'",
        "[\"a\":1]",
        "{\"a\":1 \"b\":2}",
        "NaN",
        "\"\\ud800\\u0041\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_jr_node nodes[NODES];
        fl_jr_doc d;
        int rc = parse(&d, nodes, bad[i]);
        if (rc != FL_ESYNTAX)
            fprintf(stderr, "  accepted or wrong error for: %s (%d)\n", bad[i], rc);
        CHECK_EQ(rc, FL_ESYNTAX);
        CHECK(d.err_msg != NULL);
        CHECK(d.err_off <= strlen(bad[i]));
    }
}

TEST(json_read_bounds)
{
    fl_jr_node nodes[4];
    fl_jr_doc d;
    CHECK_EQ(fl_jr_parse(&d, "[1,2,3,4]", 9, nodes, 4), FL_ETOOBIG);
    CHECK_EQ(fl_jr_parse(&d, "[1,2,3]", 7, nodes, 4), 0);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    fl_jr_node many[256];
    CHECK_EQ(fl_jr_parse(&d, deep, 200, many, 256), FL_ETOOBIG);
    CHECK_EQ(fl_jr_parse(&d, deep + 40, 120, many, 256), 0); /* 60 levels */
}

TEST(json_read_random_bytes_never_crash)
{
    fl_rng r;
    fl_rng_seed(&r, 7);
    const char alphabet[] = "{}[]\":,01-.eE \\untrfalsx";
    for (int i = 0; i < 20000; i++) {
        char s[24];
        size_t n = fl_rng_below(&r, sizeof(s));
        for (size_t j = 0; j < n; j++)
            s[j] = alphabet[fl_rng_below(&r, sizeof(alphabet) - 1)];
        fl_jr_node nodes[NODES];
        fl_jr_doc d;
        int rc = fl_jr_parse(&d, s, n, nodes, NODES);
        CHECK(rc == 0 || rc == FL_ESYNTAX || rc == FL_ETOOBIG);
        if (rc == 0) {
            char out[32];
            for (uint32_t k = 0; k < d.count; k++)
                if (nodes[k].type == FL_JR_STRING)
                    CHECK_EQ(fl_jr_str(&d, k, out, sizeof(out), NULL), 0);
        }
    }
}
