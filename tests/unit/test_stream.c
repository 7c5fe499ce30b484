/* test_stream.c: the byte streams of stream.h on loopback TCP inside one event loop: plain and
 * TLS moving a megabyte both ways in odd-sized writes (the non-blocking handshake, partial
 * writes, and the rule that no decrypted byte is left where epoll cannot see it: a stall would
 * end the run at its deadline short of the data), the names of verified certificates, and the
 * refusals: a plaintext client, a certificate of another CA, an expired one, none at all. */
#include "test.h"
#include "test_certs.h"

#include "faultline/buf.h"
#include "faultline/error.h"
#include "faultline/loop.h"
#include "faultline/net.h"
#include "faultline/rng.h"
#include "faultline/stream.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct side {
    fl_stream st;
    fl_loop_watch w;
    fl_buf out, in;
    size_t out_off;
    size_t expect; /* bytes to receive */
    int err;
    fl_errmsg m;
    fl_rng rng;
    fl_loop *loop;
} side;

static char dir[64];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* The certificates of test_certs.h, in a temp dir made on first use (removed at exit). */
static bool certs_ready(void)
{
    if (dir[0])
        return true;
    snprintf(dir, sizeof(dir), "/tmp/fl-test-stream-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    atexit(cleanup);
    test_certs_make(dir, 2);
    return true;
}

/* A context with sub/name.crt and .key, trusting sub_ca's CA ("" for no file). */
static void tls_load(fl_tls *t, const char *sub, const char *name, const char *sub_ca)
{
    fl_tls_config c;
    memset(&c, 0, sizeof(c));
    if (name[0]) {
        snprintf(c.cert, sizeof(c.cert), "%s/%s/%s.crt", dir, sub, name);
        snprintf(c.key, sizeof(c.key), "%s/%s/%s.key", dir, sub, name);
    }
    snprintf(c.ca, sizeof(c.ca), "%s/%s/ca.crt", dir, sub_ca);
    fl_errmsg m;
    int rc = fl_tls_init(t, &c, &m);
    if (rc)
        fprintf(stderr, "  %s\n", m.text);
    CHECK_EQ(rc, 0);
}

/* A failed side closes its end, as the server does, so the other side sees it. */
static void side_fail(side *s)
{
    fl_loop_watch_stop(s->loop, &s->w);
    fl_stream_close(&s->st);
}

static void side_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    side *s = w->arg;
    (void)ev;
    if (s->err)
        return;
    if (!fl_stream_ready(&s->st) && (s->err = fl_stream_handshake(&s->st, &s->m))) {
        side_fail(s);
        return;
    }
    if (fl_stream_ready(&s->st)) {
        /* odd-sized writes: partial records, retries with more bytes behind the same ones */
        size_t left = s->out.len - s->out_off, n = 1 + fl_rng_range(&s->rng, 0, 40000), put = 0;
        if (left && (s->err = fl_stream_write(&s->st, s->out.data + s->out_off, n < left ? n : left,
                                              &put, &s->m))) {
            side_fail(s);
            return;
        }
        s->out_off += put;
        uint8_t *p = fl_buf_extend(&s->in, FL_STREAM_READ_MIN);
        size_t got = 0;
        s->err = fl_stream_read(&s->st, p, FL_STREAM_READ_MIN, &got, &s->m);
        s->in.len -= FL_STREAM_READ_MIN - got;
        if (s->err == FL_ESHUTDOWN && s->in.len == s->expect)
            s->err = 0;
        if (s->err) {
            side_fail(s);
            return;
        }
    }
    uint32_t want = FL_LOOP_READ | (s->out_off < s->out.len ? FL_LOOP_WRITE : 0);
    fl_loop_watch_modify(loop, w, fl_stream_interest(&s->st, want));
}

static void side_init(side *s, fl_loop *loop, size_t send, size_t expect, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->expect = expect;
    fl_buf_init(&s->out);
    fl_buf_init(&s->in);
    fl_rng_seed(&s->rng, seed);
    for (size_t i = 0; i < send; i++)
        fl_buf_put_u8(&s->out, (uint8_t)(i * 7 + seed));
}

static void side_free(side *s)
{
    fl_loop_watch_stop(s->loop, &s->w);
    fl_stream_close(&s->st);
    fl_buf_free(&s->out);
    fl_buf_free(&s->in);
}

typedef struct pair {
    fl_loop loop;
    side srv, cli;
} pair;

static void deadline_cb(fl_loop *loop, void *arg)
{
    (void)arg;
    fl_loop_stop(loop);
}

static bool pair_done(const pair *p)
{
    bool s_done = p->srv.err || p->srv.in.len >= p->srv.expect;
    bool c_done = p->cli.err || p->cli.in.len >= p->cli.expect;
    return (s_done && c_done) || (p->srv.err && p->cli.err);
}

/* Connects a client to a listener on loopback and runs both ends until each got what it
 * expects, one failed for good, or 20 s passed. srv_tls / cli_tls NULL: plain. */
static void pair_run(pair *p, const fl_tls *srv_tls, uint32_t srv_flags, const fl_tls *cli_tls,
                     size_t to_srv, size_t to_cli)
{
    fl_errmsg m;
    fl_addr a;
    int lfd, cfd, sfd = -1;
    CHECK_EQ(fl_loop_init(&p->loop, NULL, &m), 0);
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &a, &m), 0);
    CHECK_EQ(fl_net_listen(&a, 4, &lfd, &m), 0);
    CHECK_EQ(fl_net_local_addr(lfd, &a, &m), 0);
    CHECK_EQ(fl_net_connect(&a, &cfd, &m), 0);
    for (int i = 0; i < 1000 && sfd < 0; i++) {
        CHECK_EQ(fl_net_accept(lfd, &sfd, NULL, &m), 0);
        usleep(1000);
    }
    close(lfd);
    CHECK(sfd >= 0);
    side_init(&p->srv, &p->loop, to_cli, to_srv, 1);
    side_init(&p->cli, &p->loop, to_srv, to_cli, 2);
    if (srv_tls)
        CHECK_EQ(fl_stream_tls(&p->srv.st, sfd, srv_tls, srv_flags, &m), 0);
    else
        fl_stream_plain(&p->srv.st, sfd);
    if (cli_tls)
        CHECK_EQ(fl_stream_tls(&p->cli.st, cfd, cli_tls, FL_STREAM_VERIFY, &m), 0);
    else
        fl_stream_plain(&p->cli.st, cfd);
    CHECK_EQ(fl_loop_watch_start(&p->loop, &p->srv.w, sfd, FL_LOOP_READ, side_io, &p->srv), 0);
    CHECK_EQ(fl_loop_watch_start(&p->loop, &p->cli.w, cfd, FL_LOOP_READ | FL_LOOP_WRITE, side_io,
                                 &p->cli),
             0);
    CHECK_EQ(fl_loop_timer_start(&p->loop, 20 * FL_NS_PER_S, deadline_cb, NULL, NULL), 0);
    while (!pair_done(p) && !p->loop.stopping)
        CHECK_EQ(fl_loop_run_once(&p->loop, 100 * FL_NS_PER_MS), 0);
}

static void pair_free(pair *p)
{
    side_free(&p->srv);
    side_free(&p->cli);
    fl_loop_close(&p->loop);
}

static bool same_bytes(const side *from, const side *to)
{
    return from->out.len == to->in.len && memcmp(from->out.data, to->in.data, to->in.len) == 0;
}

TEST(stream_plain_moves_bytes_both_ways)
{
    pair p;
    pair_run(&p, NULL, 0, NULL, 1 << 20, 300000);
    CHECK_EQ(p.srv.err, 0);
    CHECK_EQ(p.cli.err, 0);
    CHECK(same_bytes(&p.cli, &p.srv));
    CHECK(same_bytes(&p.srv, &p.cli));
    pair_free(&p);
}

TEST(stream_tls_moves_bytes_both_ways_and_names_the_peers)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    certs_ready();
    fl_tls ts, tc;
    tls_load(&ts, "a", "node1", "a");
    tls_load(&tc, "a", "node2", "a");
    pair p;
    pair_run(&p, &ts, FL_STREAM_SERVER | FL_STREAM_VERIFY, &tc, 1 << 20, 300000);
    if (p.srv.err || p.cli.err)
        fprintf(stderr, "  server: %s / client: %s\n", p.srv.m.text, p.cli.m.text);
    CHECK_EQ(p.srv.err, 0);
    CHECK_EQ(p.cli.err, 0);
    CHECK(same_bytes(&p.cli, &p.srv));
    CHECK(same_bytes(&p.srv, &p.cli));
    CHECK_STR(p.srv.st.peer_name, "faultline-node-2");
    CHECK_STR(p.cli.st.peer_name, "faultline-node-1");
    pair_free(&p);
    fl_tls_close(&ts);
    fl_tls_close(&tc);
}

/* The server's handshake fails with a message containing why; the client's fails or it is
 * closed on. */
static void refused(const char *cli_sub, const char *cli_name, const char *why)
{
    certs_ready();
    fl_tls ts, tc;
    tls_load(&ts, "a", "node1", "a");
    tls_load(&tc, cli_sub, cli_name, "a");
    pair p;
    pair_run(&p, &ts, FL_STREAM_SERVER | FL_STREAM_VERIFY, &tc, 1000, 1000);
    if (!strstr(p.srv.m.text, why))
        fprintf(stderr, "  server said \"%s\", expected \"%s\"\n", p.srv.m.text, why);
    CHECK(p.srv.err != 0);
    CHECK(strstr(p.srv.m.text, why) != NULL);
    CHECK(p.cli.err != 0);
    CHECK(p.srv.in.len == 0); /* not one byte of the client's got through */
    pair_free(&p);
    fl_tls_close(&ts);
    fl_tls_close(&tc);
}

TEST(stream_tls_refuses_another_ca)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    refused("b", "node2", "certificate verify failed: unable to get local issuer certificate");
}

TEST(stream_tls_refuses_an_expired_certificate)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    refused("x", "node2", "certificate verify failed: certificate has expired");
}

TEST(stream_tls_refuses_no_certificate_when_verifying)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    refused("a", "", "peer did not return a certificate");
}

TEST(stream_tls_refuses_a_plaintext_client)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    certs_ready();
    fl_tls ts;
    tls_load(&ts, "a", "node1", "a");
    pair p;
    pair_run(&p, &ts, FL_STREAM_SERVER, NULL, 1000, 1000);
    CHECK_EQ(p.srv.err, FL_EIO);
    CHECK(strstr(p.srv.m.text, "not a TLS handshake") != NULL);
    CHECK(p.srv.in.len == 0);
    pair_free(&p);
    fl_tls_close(&ts);
}

TEST(tls_init_names_the_file_it_cannot_load)
{
    SKIP_UNLESS(fl_tls_available(), "no OpenSSL in this build (apt-get install libssl-dev)");
    fl_tls t;
    fl_errmsg m;
    fl_tls_config c = {"/nonexistent/x.crt", "/nonexistent/x.key", "/nonexistent/ca.crt"};
    CHECK_EQ(fl_tls_init(&t, &c, &m), FL_ECONFIG);
    CHECK(strstr(m.text, "/nonexistent/x.crt") != NULL);
    CHECK(t.ctx == NULL);
}

TEST(tls_absent_build_says_which_package)
{
    SKIP_UNLESS(!fl_tls_available(), "this build has OpenSSL");
    fl_tls t;
    fl_errmsg m;
    fl_tls_config c = {"a", "b", "c"};
    CHECK_EQ(fl_tls_init(&t, &c, &m), FL_EUNSUPPORTED);
    CHECK(strstr(m.text, "libssl-dev") != NULL);
}
