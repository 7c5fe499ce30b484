/* test_resp.c: unit tests for the RESP2 parser and writers (io/resp.c, io/resp_reply.c):
 * multibulk, inline and pipelined requests; the same commands whatever the split of the
 * input; limits; Redis's error texts; random garbage. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/resp.h"
#include "faultline/rng.h"

#include <stdlib.h>

/* Feeds input to a parser in chunks of chunk bytes (0 = all at once), or split once at
 * split (if split_at), the way a connection would: unconsumed bytes stay buffered. Returns
 * the commands re-encoded as multibulk in out and the final parse status (0 or an error). */
struct feed {
    fl_buf out;
    int rc;
    char errmsg[FL_RESP_ERRMSG_SIZE];
    uint64_t commands;
};

static void feed_chunks(const fl_resp_limits *lim, const void *in, size_t len, const size_t *cuts,
                        size_t cuts_count, struct feed *f)
{
    fl_resp_parser p;
    fl_resp_parser_init(&p, lim);
    fl_buf pend;
    fl_buf_init(&pend);
    fl_buf_init(&f->out);
    f->rc = 0;
    f->errmsg[0] = 0;
    size_t from = 0;
    for (size_t c = 0; c <= cuts_count && f->rc == 0; c++) {
        size_t to = c < cuts_count ? cuts[c] : len;
        fl_buf_put_bytes(&pend, (const uint8_t *)in + from, to - from);
        from = to;
        size_t off = 0, used;
        int rc;
        while ((rc = fl_resp_parse(&p, pend.data + off, pend.len - off, &used)) == FL_RESP_CMD) {
            fl_resp_put_command(&f->out, p.argc, p.argv);
            off += used;
        }
        off += used;
        if (off) {
            memmove(pend.data, pend.data + off, pend.len - off);
            pend.len -= off;
        }
        if (rc < 0) {
            f->rc = rc;
            snprintf(f->errmsg, sizeof(f->errmsg), "%s", p.errmsg);
        }
    }
    f->commands = p.commands;
    fl_buf_free(&pend);
    fl_resp_parser_free(&p);
}

static void feed_all(const fl_resp_limits *lim, const char *in, size_t len, struct feed *f)
{
    feed_chunks(lim, in, len, NULL, 0, f);
}

static void feed_str(const fl_resp_limits *lim, const char *in, struct feed *f)
{
    feed_all(lim, in, strlen(in), f);
}

static void check_error(const fl_resp_limits *lim, const char *in, int rc, const char *msg);

static void check_same(const struct feed *a, const struct feed *b)
{
    CHECK_EQ(a->rc, b->rc);
    CHECK_STR(a->errmsg, b->errmsg);
    CHECK_EQ(a->out.len, b->out.len);
    CHECK(a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

/* Every split point and byte-by-byte feeding give exactly what one whole buffer gives. */
static void check_split_invariant(const fl_resp_limits *lim, const char *in, size_t len)
{
    struct feed whole, part;
    feed_all(lim, in, len, &whole);
    for (size_t cut = 0; cut <= len; cut++) {
        feed_chunks(lim, in, len, &cut, 1, &part);
        check_same(&whole, &part);
        fl_buf_free(&part.out);
    }
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    feed_chunks(lim, in, len, cuts, len, &part);
    check_same(&whole, &part);
    free(cuts);
    fl_buf_free(&part.out);
    fl_buf_free(&whole.out);
}

TEST(resp_parses_multibulk_inline_and_pipelined)
{
    static const char in[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                             "PING\r\n"
                             "set  \"a b\" 'c\\'d'\n"
                             "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n\r\n\0x\r\n";
    static const char want[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                               "*1\r\n$4\r\nPING\r\n"
                               "*3\r\n$3\r\nset\r\n$3\r\na b\r\n$3\r\nc'd\r\n"
                               "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n\r\n\0x\r\n";
    struct feed f;
    feed_all(NULL, in, sizeof(in) - 1, &f);
    CHECK_EQ(f.rc, 0);
    CHECK_EQ(f.commands, 4);
    CHECK_EQ(f.out.len, sizeof(want) - 1);
    CHECK(memcmp(f.out.data, want, f.out.len) == 0);
    fl_buf_free(&f.out);
}

TEST(resp_inline_quoting_follows_redis_cli)
{
    static const char in[] = "set a\"b c\" '\\x41\\'' \"\\x41\\x4g\\q\\n\" \"\"\r\n";
    static const char want[] = "*5\r\n$3\r\nset\r\n$4\r\nab c\r\n$5\r\n\\x41'\r\n"
                               "$6\r\nAx4gq\n\r\n$0\r\n\r\n";
    struct feed f;
    feed_all(NULL, in, sizeof(in) - 1, &f);
    CHECK_EQ(f.rc, 0);
    CHECK_EQ(f.out.len, sizeof(want) - 1);
    CHECK(memcmp(f.out.data, want, f.out.len) == 0);
    fl_buf_free(&f.out);
    check_error(NULL, "set x'y'z\r\n", FL_ESYNTAX,
                "ERR Protocol error: unbalanced quotes in request");
}

TEST(resp_argv_is_nul_terminated_and_binary_safe)
{
    fl_resp_parser p;
    fl_resp_parser_init(&p, NULL);
    const char in[] = "*2\r\n$3\r\na\r\n\r\n$2\r\nhi\r\n";
    size_t used;
    CHECK_EQ(fl_resp_parse(&p, in, sizeof(in) - 1, &used), FL_RESP_CMD);
    CHECK_EQ(used, sizeof(in) - 1);
    CHECK_EQ(p.argc, 2);
    CHECK_EQ(p.argv[0].len, 3);
    CHECK(memcmp(p.argv[0].p, "a\r\n", 4) == 0); /* includes the NUL after */
    CHECK_STR((const char *)p.argv[1].p, "hi");
    CHECK_EQ(fl_resp_parse(&p, "", 0, &used), 0);
    fl_resp_parser_free(&p);
}

TEST(resp_split_at_every_offset_gives_same_commands)
{
    const char *in = "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$10\r\n0123456789\r\n"
                     "*0\r\n\r\n"
                     "  GET \"k\\x41\\n\" \r\n"
                     "*1\r\n$0\r\n\r\n"
                     "*-1\r\n"
                     "INCR 'x y'\n"
                     "*2\r\n$4\r\nECHO\r\n$12\r\n*1\r\n$1\r\nx\r\n\r\n";
    check_split_invariant(NULL, in, strlen(in));
    /* and with an error at the end: the error comes at the same point */
    const char *bad = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n:1\r\n";
    check_split_invariant(NULL, bad, strlen(bad));
    struct feed f;
    feed_str(NULL, bad, &f);
    CHECK_EQ(f.commands, 1);
    CHECK_EQ(f.rc, FL_ESYNTAX);
    CHECK_STR(f.errmsg, "ERR Protocol error: expected '$', got ':'");
    fl_buf_free(&f.out);
}

static void check_error(const fl_resp_limits *lim, const char *in, int rc, const char *msg)
{
    struct feed f;
    feed_str(lim, in, &f);
    if (f.rc != rc || strcmp(f.errmsg, msg) != 0)
        fprintf(stderr, "  input \"%s\": got %d \"%s\"\n", in, f.rc, f.errmsg);
    CHECK_EQ(f.rc, rc);
    CHECK_STR(f.errmsg, msg);
    fl_buf_free(&f.out);
}

TEST(resp_errors_use_redis_texts)
{
    check_error(NULL, "*x\r\n", FL_ESYNTAX, "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*01\r\n", FL_ESYNTAX, "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*1\n", FL_ESYNTAX, "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*\r\n", FL_ESYNTAX, "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*99999999999999999999\r\n", FL_ESYNTAX,
                "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*1\r\nx", FL_ESYNTAX, "ERR Protocol error: expected '$', got 'x'");
    check_error(NULL, "*1\r\n$-1\r\n", FL_ETOOBIG, "ERR Protocol error: invalid bulk length");
    check_error(NULL, "*1\r\n$+1\r\n", FL_ESYNTAX, "ERR Protocol error: invalid bulk length");
    check_error(NULL, "*1\r\n$-0\r\n", FL_ESYNTAX, "ERR Protocol error: invalid bulk length");
    check_error(NULL, "*-0\r\n", FL_ESYNTAX, "ERR Protocol error: invalid multibulk length");
    check_error(NULL, "*1\r\n$1\r\nab\r\n", FL_ESYNTAX,
                "ERR Protocol error: expected CRLF after bulk data");
    check_error(NULL, "SET \"abc\n", FL_ESYNTAX,
                "ERR Protocol error: unbalanced quotes in request");
    check_error(NULL, "SET \"a\"b\n", FL_ESYNTAX,
                "ERR Protocol error: unbalanced quotes in request");
    check_error(NULL, "*11111111111111111111111111111111111111111111111111111111111111111111",
                FL_ETOOBIG, "ERR Protocol error: too big mbulk count string");
    check_error(NULL, "*1\r\n$11111111111111111111111111111111111111111111111111111111111111111",
                FL_ETOOBIG, "ERR Protocol error: too big bulk count string");
}

TEST(resp_limits_are_enforced)
{
    fl_resp_limits lim = {
        .args_max = 3, .bulk_len_max = 10, .inline_len_max = 16, .request_bytes_max = 15};
    check_error(&lim, "*4\r\n", FL_ETOOBIG, "ERR Protocol error: invalid multibulk length");
    check_error(&lim, "a b c d\r\n", FL_ETOOBIG,
                "ERR Protocol error: too many arguments in inline request");
    check_error(&lim, "*1\r\n$11\r\n", FL_ETOOBIG, "ERR Protocol error: invalid bulk length");
    check_error(&lim, "*2\r\n$10\r\n0123456789\r\n$6\r\n", FL_ETOOBIG,
                "ERR Protocol error: too big request");
    check_error(&lim, "GET 0123456789abcdef\r\n", FL_ETOOBIG,
                "ERR Protocol error: too big inline request");
    check_error(&lim, "GET 0123456789abcdef", FL_ETOOBIG, /* no newline yet: still refused */
                "ERR Protocol error: too big inline request");
    struct feed f;
    feed_str(&lim, "*3\r\n$1\r\na\r\n$10\r\n0123456789\r\n$4\r\nabcd\r\nGET 0123456789ab\r\n", &f);
    CHECK_EQ(f.rc, 0); /* exactly at every limit: accepted */
    CHECK_EQ(f.commands, 2);
    fl_buf_free(&f.out);
    /* the default bulk limit takes a 1 MiB value */
    fl_buf big;
    fl_buf_init(&big);
    size_t n = (size_t)1 << 20;
    fl_buf_printf(&big, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", n);
    memset(fl_buf_extend(&big, n), 'v', n);
    fl_buf_put_str(&big, "\r\n");
    feed_all(NULL, (const char *)big.data, big.len, &f);
    CHECK_EQ(f.rc, 0);
    CHECK_EQ(f.commands, 1);
    fl_buf_free(&f.out);
    fl_buf_free(&big);
}

TEST(resp_error_latches)
{
    fl_resp_parser p;
    fl_resp_parser_init(&p, NULL);
    size_t used;
    CHECK_EQ(fl_resp_parse(&p, "*x\r\n", 4, &used), FL_ESYNTAX);
    CHECK_EQ(fl_resp_parse(&p, "PING\r\n", 6, &used), FL_ESYNTAX);
    CHECK_EQ(used, 0);
    fl_resp_parser_reset(&p);
    CHECK_EQ(fl_resp_parse(&p, "PING\r\n", 6, &used), FL_RESP_CMD);
    fl_resp_parser_free(&p);
}

TEST(resp_garbage_never_crashes_and_split_does_not_matter)
{
    fl_rng r;
    fl_rng_seed(&r, 42);
    static const char *pieces[] = {"*",  "$", "\r\n", "\n", "\r",  "1",      "2",      "0", "-",
                                   "\"", "'", "\\x4", " ",  "abc", "*2\r\n", "$3\r\n", "\\"};
    fl_resp_limits lim = {
        .args_max = 4, .bulk_len_max = 8, .inline_len_max = 24, .request_bytes_max = 20};
    char in[96];
    for (int iter = 0; iter < 300; iter++) {
        size_t len = 0;
        while (len < sizeof(in) - 8) {
            if (fl_rng_chance(&r, 0.2)) {
                in[len++] = (char)fl_rng_below(&r, 256);
                continue;
            }
            const char *s = pieces[fl_rng_below(&r, sizeof(pieces) / sizeof(pieces[0]))];
            size_t n = strlen(s);
            memcpy(in + len, s, n);
            len += n;
        }
        check_split_invariant(iter % 2 ? &lim : NULL, in, len);
    }
}

TEST(resp_writers_emit_exact_bytes)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_resp_put_simple(&b, "OK");
    fl_resp_put_error(&b, "ERR bad\r\nthing");
    fl_resp_put_int(&b, -42);
    fl_resp_put_bulk(&b, "a\r\nb", 4);
    fl_resp_put_null(&b);
    fl_resp_put_array(&b, 2);
    fl_resp_put_bulk_str(&b, "");
    fl_resp_put_int(&b, INT64_MAX);
    fl_resp_put_null_array(&b);
    fl_resp_put_int(&b, INT64_MIN);
    fl_resp_put_int(&b, 0);
    fl_resp_put_array(&b, 1234567890);
    const char *want = "+OK\r\n-ERR bad  thing\r\n:-42\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n$0\r\n\r\n"
                       ":9223372036854775807\r\n*-1\r\n:-9223372036854775808\r\n:0\r\n"
                       "*1234567890\r\n";
    CHECK_EQ(b.err, 0);
    CHECK_EQ(b.len, strlen(want));
    CHECK(memcmp(b.data, want, b.len) == 0);
    fl_buf_free(&b);
}
