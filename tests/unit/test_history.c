/* test_history.c: history readers (JSON lines, Jepsen EDN), the writer, and the pairing of
 * events into ops, including every kind of bad input with its line number. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/histgen.h"
#include "faultline/history.h"

#include <stdlib.h>

static int read_jsonl(fl_history *h, const char *s, fl_history_error *err)
{
    fl_history_init(h);
    return fl_history_read_jsonl(h, s, strlen(s), err);
}

static int read_edn(fl_history *h, const char *s, fl_history_error *err)
{
    fl_history_init(h);
    return fl_history_read_edn(h, s, strlen(s), err);
}

TEST(history_jsonl_fields)
{
    const char *s =
        "{\"process\":3,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2],"
        "\"time\":10,\"extra\":{\"a\":[1]}}\n"
        "\n"
        "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start\"}\n"
        "{\"process\":3,\"type\":\"ok\",\"f\":\"cas\",\"key\":7,\"value\":[1,2]}\n"
        "{\"process\":4,\"type\":\"ok\",\"f\":\"read\",\"value\":\"x\\ny\"}";
    fl_history h;
    fl_history_error err = {0};
    CHECK_EQ(read_jsonl(&h, s, &err), 0);
    CHECK_EQ(h.count, 3);
    CHECK_EQ(h.events[0].process, 3);
    CHECK_EQ(h.events[0].type, FL_EV_INVOKE);
    CHECK_EQ(h.events[0].f, FL_F_CAS);
    CHECK(h.events[0].pair);
    CHECK_EQ(h.events[0].value.i, 1);
    CHECK_EQ(h.events[0].value2.i, 2);
    CHECK_EQ(h.events[0].time, 10);
    CHECK_EQ(h.events[0].line, 1);
    CHECK_STR(fl_history_str(&h, h.events[0].key, NULL), "k");
    CHECK_STR(fl_history_str(&h, h.events[1].key, NULL), "7");
    CHECK_EQ(h.events[1].line, 4);
    CHECK_EQ(h.events[2].key, FL_KEY_NONE);
    CHECK_EQ(h.events[2].value.kind, FL_VALUE_STR);
    CHECK_STR(fl_history_str(&h, h.events[2].value.str, NULL), "x\ny");
    fl_history_free(&h);
}

TEST(history_jsonl_errors_have_lines)
{
    static const struct {
        const char *text;
        uint32_t line;
        const char *needle;
    } bad[] = {
        {"{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":1,", 2, "column"},
        {"{\"process\":1,\"type\":\"run\",\"f\":\"read\"}", 1, "type"},
        {"{\"process\":1,\"type\":\"ok\",\"f\":\"scan\"}", 1, "\"f\""},
        {"{\"process\":true,\"type\":\"ok\",\"f\":\"read\"}", 1, "process"},
        {"\n\n{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1.5}", 3, "integers"},
        {"{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":{}}", 1, "wrong type"},
        {"{\"process\":1,\"type\":\"ok\",\"f\":\"cas\",\"value\":[1,2,3]}", 1, "pair"},
        {"[1]", 1, "object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_history h;
        fl_history_error err = {0};
        CHECK_EQ(read_jsonl(&h, bad[i].text, &err), FL_ESYNTAX);
        if (err.line != bad[i].line || !strstr(err.msg, bad[i].needle))
            fprintf(stderr, "  case %zu: line %u: %s\n", i, err.line, err.msg);
        CHECK_EQ(err.line, bad[i].line);
        CHECK(strstr(err.msg, bad[i].needle) != NULL);
        fl_history_free(&h);
    }
}

TEST(history_edn_jepsen)
{
    const char *s = "{:process 0, :type :invoke, :f :cas, :value [1 4], :time 12}\n"
                    "{:process :nemesis, :type :info, :f :start, :value nil}\n"
                    "; a comment\n"
                    "{:process 0, :type :ok, :f :cas, :value [1 4], :index 3, :error nil}\n"
                    "{:process 1 :type :invoke :f :put :key \"k\" :value \"a\\\"b\"}\n"
                    "{:process 1 :type :fail :f :put :key :k2 :value 2 :error [:timeout \"x\"]}\n"
                    "#_{:process 9} {:process 2 :type :invoke :f :read :value nil "
                    ":time #inst \"2020\"}\n"
                    "[{:process 2 :type :ok :f :read :value 3.5N}]\n";
    fl_history h;
    fl_history_error err = {0};
    int rc = read_edn(&h, s, &err);
    if (rc)
        fprintf(stderr, "  line %u: %s\n", err.line, err.msg);
    CHECK_EQ(rc, FL_ESYNTAX); /* 3.5N is not an integer value */
    CHECK_EQ(err.line, 8);
    CHECK_EQ(h.count, 5);
    CHECK_EQ(h.events[0].f, FL_F_CAS);
    CHECK_EQ(h.events[0].value2.i, 4);
    CHECK_EQ(h.events[0].time, 12);
    CHECK_EQ(h.events[1].line, 4);
    CHECK_STR(fl_history_str(&h, h.events[2].key, NULL), "k");
    CHECK_STR(fl_history_str(&h, h.events[2].value.str, NULL), "a\"b");
    CHECK_STR(fl_history_str(&h, h.events[3].key, NULL), "k2");
    CHECK_EQ(h.events[3].type, FL_EV_FAIL);
    CHECK_EQ(h.events[4].process, 2);
    CHECK_EQ(h.events[4].line, 7);
    fl_history_free(&h);
    CHECK(fl_history_looks_like_edn(s, strlen(s)));
    CHECK(!fl_history_looks_like_edn("{\"process\":1}", 13));
}

TEST(history_edn_errors)
{
    static const char *bad[] = {
        "{:process 0 :type :invoke :f :read",
        "{:process 0 :type}",
        "{:process \"a\" :type :ok :f :read}",
        "{:process 0 :type :done :f :read}",
        "{:process 0 :type :ok :f :scan}",
        "42",
        "{:a ]",
        "{:process 0 :type :ok :f :read :value {:a 1}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_history h;
        fl_history_error err = {0};
        CHECK_EQ(read_edn(&h, bad[i], &err), FL_ESYNTAX);
        CHECK_EQ(err.line, 1);
        CHECK(err.msg[0] != 0);
        fl_history_free(&h);
    }
}

TEST(history_edn_deep_nesting_is_an_error_not_a_crash)
{
    static const char *units[] = {"#_", "#tag ", "[", "{:a "};
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        fl_buf b;
        fl_buf_init(&b);
        for (int i = 0; i < 100000; i++)
            fl_buf_put_str(&b, units[u]);
        fl_buf_put_str(&b, "{:process 0 :type :invoke :f :read}");
        fl_history h;
        fl_history_init(&h);
        fl_history_error err = {0};
        CHECK_EQ(fl_history_read_edn(&h, (const char *)b.data, b.len, &err), FL_ESYNTAX);
        CHECK(strstr(err.msg, "too deep") != NULL);
        fl_history_free(&h);
        fl_buf_free(&b);
    }
}

TEST(history_pairing_errors)
{
    static const struct {
        const char *text;
        uint32_t line;
        const char *needle;
    } bad[] = {
        {"{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}", 1, "without a pending"},
        {"{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n"
         "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}",
         2, "pending"},
        {"{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n"
         "{\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}",
         2, "does not match"},
        {"{\"process\":1,\"type\":\"invoke\",\"f\":\"write\"}", 1, "needs"},
        {"{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"value\":1}", 1, "pair"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_history h;
        fl_history_error err = {0};
        CHECK_EQ(read_jsonl(&h, bad[i].text, &err), 0);
        fl_op *ops;
        size_t n;
        CHECK_EQ(fl_history_ops(&h, &ops, &n, &err), FL_ESYNTAX);
        if (err.line != bad[i].line || !strstr(err.msg, bad[i].needle))
            fprintf(stderr, "  case %zu: line %u: %s\n", i, err.line, err.msg);
        CHECK_EQ(err.line, bad[i].line);
        CHECK(strstr(err.msg, bad[i].needle) != NULL);
        fl_history_free(&h);
    }
}

TEST(history_pairs_and_roundtrips)
{
    fl_history h, back;
    fl_history_init(&h);
    fl_histgen_opts o;
    fl_histgen_opts_init(&o);
    o.model = FL_MODEL_KV;
    o.keys = 3;
    o.ops = 300;
    o.info_ratio = 0.1;
    o.appends = o.deletes = true;
    CHECK_EQ(fl_histgen_run(&h, &o), 0);
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_history_write_jsonl(&h, &b), 0);
    fl_buf_put_u8(&b, 0); /* read_jsonl() takes a C string */
    fl_history_error err = {0};
    CHECK_EQ(read_jsonl(&back, (const char *)b.data, &err), 0);
    CHECK_EQ(back.count, h.count);
    for (size_t i = 0; i < h.count; i++) {
        CHECK_EQ(back.events[i].process, h.events[i].process);
        CHECK_EQ(back.events[i].type, h.events[i].type);
        CHECK_EQ(back.events[i].f, h.events[i].f);
        CHECK_EQ(back.events[i].time, h.events[i].time);
        CHECK_EQ(back.events[i].line, i + 1);
        CHECK_EQ(back.events[i].value.kind, h.events[i].value.kind);
    }
    fl_op *ops;
    size_t n;
    CHECK_EQ(fl_history_ops(&back, &ops, &n, &err), 0);
    CHECK_EQ(n, 300);
    for (size_t i = 0; i < n; i++) {
        CHECK(ops[i].ret == FL_EV_NONE || ops[i].ret > ops[i].call);
        CHECK(ops[i].ret != FL_EV_NONE || ops[i].outcome == FL_EV_INFO);
    }
    free(ops);
    fl_buf_free(&b);
    fl_history_free(&h);
    fl_history_free(&back);
}

/* Old Jepsen logs: op lines of jepsen.util among other log lines, tab-separated, an EDN value,
 * sometimes an error text in a fifth column. */
TEST(history_jepsen_log)
{
    const char *s = "2017-01-01 INFO  jepsen.core - Running test\n"
                    "INFO  jepsen.util - 4\t:invoke\t:cas\t[4 0]\n"
                    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
                    "INFO  jepsen.util - Relative time begins now\n"
                    "\n"
                    "INFO  jepsen.util - 4\t:info\t:cas\t:timed-out\tindeterminate: timeout\n"
                    "INFO  jepsen.util - 12\t:invoke\t:read\tnil\n"
                    "INFO  jepsen.util - 12\t:ok\t:read\t\"a b\"\n";
    CHECK(fl_history_looks_like_jepsen_log(s, strlen(s)));
    CHECK(!fl_history_looks_like_edn(s, strlen(s)));
    CHECK(!fl_history_looks_like_jepsen_log("{\"process\":1}", 13));
    CHECK(!fl_history_looks_like_jepsen_log("{:process 1 :note \"jepsen.util\"}", 33));
    fl_history h;
    fl_history_init(&h);
    fl_history_error err = {0};
    CHECK_EQ(fl_history_read_jepsen_log(&h, s, strlen(s), &err), 0);
    CHECK_EQ(h.count, 4);
    CHECK_EQ(h.events[0].process, 4);
    CHECK_EQ(h.events[0].f, FL_F_CAS);
    CHECK_EQ(h.events[0].value2.i, 0);
    CHECK_EQ(h.events[0].line, 2);
    CHECK_EQ(h.events[1].type, FL_EV_INFO);
    CHECK_EQ(h.events[1].value.kind, FL_VALUE_NONE); /* :timed-out: not judged */
    CHECK_EQ(h.events[1].line, 6);
    CHECK_EQ(h.events[3].process, 12);
    CHECK_STR(fl_history_str(&h, h.events[3].value.str, NULL), "a b");
    CHECK_EQ(h.events[3].line, 8);
    fl_history_free(&h);
    static const struct {
        const char *text;
        uint32_t line;
    } bad[] = {
        {"x\nINFO  jepsen.util - 1\t:invoke\t:cas\t[1 2\n", 2},
        {"INFO  jepsen.util - 1\t:ok\t:scan\tnil\n", 1},
        {"INFO  jepsen.util - 1\t:ok\t:read\t:timed-out\n", 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_history_init(&h);
        CHECK_EQ(fl_history_read_jepsen_log(&h, bad[i].text, strlen(bad[i].text), &err),
                 FL_ESYNTAX);
        CHECK_EQ(err.line, bad[i].line);
        fl_history_free(&h);
    }
}
