/* test_server_tls.c: real `faultline server` processes with TLS on loopback. Three nodes elect
 * and serve over mutual TLS on the peer port and TLS on the client port (redis-cli's own
 * --tls --cacert too, when installed); a node with a certificate of another CA, an expired
 * one, or one that names another node is refused by the others with the reason in their logs
 * and never joins, and so is plaintext on the peer and client ports, while the cluster keeps
 * serving; the same node with the right certificate then joins and catches up.
 * --tls-client-auth refuses clients without a certificate of the CA, with an expired one or
 * with another CA's. Skipped, saying so, in a build without OpenSSL. */
#include "server_rig.h"

#include "faultline/tls.h"

#ifdef FL_HAVE_OPENSSL
#include "test_certs.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

static char certs[160]; /* a: the cluster's CA; b: another CA; x: expired, signed by a's CA */

static void make_certs(const rig *r)
{
    snprintf(certs, sizeof(certs), "%s/certs", r->dir);
    CHECK(mkdir(certs, 0755) == 0);
    test_certs_make(certs, 3);
}

/* Starts node id with sub/name's certificate and a's CA (the rig's start with TLS options). */
static void start_tls(rig *r, int id, const char *sub, const char *name, const char *more)
{
    static char cert[RIG_NODES_MAX + 1][240], key[RIG_NODES_MAX + 1][240], ca[240];
    snprintf(cert[id], sizeof(cert[id]), "%s/%s/%s.crt", certs, sub, name);
    snprintf(key[id], sizeof(key[id]), "%s/%s/%s.key", certs, sub, name);
    snprintf(ca, sizeof(ca), "%s/a/ca.crt", certs);
    r->extra[0] = "--tls-cert";
    r->extra[1] = cert[id];
    r->extra[2] = "--tls-key";
    r->extra[3] = key[id];
    r->extra[4] = "--tls-ca";
    r->extra[5] = ca;
    r->extra[6] = more; /* NULL or a flag */
    rig_start(r, id);
}

/* A blocking TLS client to port, trusting a's CA, presenting sub/name's certificate if name
 * is not NULL. NULL if the handshake fails. */
static SSL *tls_connect(int port, const char *sub, const char *name)
{
    char path[240];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    snprintf(path, sizeof(path), "%s/a/ca.crt", certs);
    SSL_CTX_load_verify_locations(ctx, path, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (name) {
        snprintf(path, sizeof(path), "%s/%s/%s.crt", certs, sub, name);
        SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM);
        snprintf(path, sizeof(path), "%s/%s/%s.key", certs, sub, name);
        SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM);
    }
    int fd = rc_connect(port);
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    SSL_CTX_free(ctx); /* the session keeps a reference */
    if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1)
        return ssl;
    ERR_clear_error();
    if (ssl)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void tls_close(SSL *ssl)
{
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
}

/* One command, one reply ("+OK", "-ERR ...", ":1", "$value", "$nil"); false on a broken
 * connection. */
static bool tls_cmd_on(SSL *ssl, char *out, size_t size, const char *a, const char *b,
                       const char *c)
{
    const char *w[3] = {a, b, c};
    char buf[4096];
    int n = b ? (c ? 3 : 2) : 1;
    size_t len = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", n);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "$%zu\r\n%s\r\n", strlen(w[i]), w[i]);
    if (SSL_write(ssl, buf, (int)len) != (int)len)
        return false;
    size_t got = 0;
    for (;;) { /* a whole reply: one line, or a bulk's header line and its payload line */
        int k = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
        if (k <= 0)
            return false;
        got += (size_t)k;
        buf[got] = 0;
        char *nl = strstr(buf, "\r\n");
        if (nl && buf[0] != '$')
            break;
        if (nl && (atol(buf + 1) < 0 || strstr(nl + 2, "\r\n")))
            break;
    }
    *strstr(buf, "\r\n") = 0;
    if (buf[0] == '$')
        snprintf(out, size, "$%.*s", (int)(size - 2),
                 atol(buf + 1) < 0 ? "nil" : buf + strlen(buf) + 2);
    else
        snprintf(out, size, "%.*s", (int)(size - 1), buf);
    char *end = strstr(out, "\r\n");
    if (end)
        *end = 0;
    return true;
}

static bool tls_cmd(int port, char *out, size_t size, const char *a, const char *b, const char *c)
{
    SSL *ssl = tls_connect(port, "a", "client");
    if (!ssl)
        return false;
    bool ok = tls_cmd_on(ssl, out, size, a, b, c);
    tls_close(ssl);
    return ok;
}

static int tls_wait_leader(rig *r, int ms)
{
    char out[1024];
    for (int waited = 0; waited < ms; waited += 100, rig_sleep_ms(100))
        for (int i = 1; i <= r->n; i++)
            if (r->pid[i] > 0 &&
                tls_cmd(r->client_port[i], out, sizeof(out), "FL.STATUS", NULL, NULL) &&
                strstr(out, "role:leader"))
                return i;
    return 0;
}

/* Waits up to ms for node id's log to contain text. */
static bool log_says(const rig *r, int id, const char *text, int ms)
{
    char path[200], line[2048];
    snprintf(path, sizeof(path), "%s/n%d.log", r->dir, id);
    for (int waited = 0; waited <= ms; waited += 100, rig_sleep_ms(100)) {
        FILE *f = fopen(path, "r");
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f))
            found = strstr(line, text) != NULL;
        if (f)
            fclose(f);
        if (found)
            return true;
    }
    fprintf(stderr, "  node %d's log never said \"%s\"\n", id, text);
    return false;
}

/* A plaintext connection to port is closed by the node (EOF or reset) after it sent p. */
static bool plaintext_closed(int port, const char *p, size_t n)
{
    int fd = rc_connect(port);
    if (fd < 0)
        return false;
    rc_write(fd, p, n);
    char c;
    ssize_t k = recv(fd, &c, 1, 0); /* the rig's connections time out after 8 s */
    close(fd);
    return k == 0 || (k < 0 && errno == ECONNRESET);
}

static void restart_node3(rig *r, const char *sub, const char *name)
{
    rig_kill(r, 3, SIGTERM);
    start_tls(r, 3, sub, name, NULL);
}

TEST(server_tls_cluster_refuses_bad_peers_and_plaintext)
{
    static rig r;
    rig_init(&r, 3);
    make_certs(&r);
    start_tls(&r, 1, "a", "node1", NULL);
    start_tls(&r, 2, "a", "node2", NULL);
    start_tls(&r, 3, "b", "node3", NULL); /* another CA */
    int leader = tls_wait_leader(&r, 10000);
    CHECK(leader == 1 || leader == 2);
    char out[1024];
    CHECK(tls_cmd(r.client_port[1], out, sizeof(out), "SET", "k", "v") && !strcmp(out, "+OK"));
    const char *unknown_ca = "certificate verify failed: unable to get local issuer certificate";
    CHECK(log_says(&r, 1, unknown_ca, 5000));
    restart_node3(&r, "x", "node3"); /* the cluster's CA, but expired */
    CHECK(log_says(&r, 1, "certificate verify failed: certificate has expired", 5000));
    restart_node3(&r, "a", "node2"); /* the cluster's CA, node 2's name */
    /* both ways: node 1 accepting node 3's hello, and node 1 dialling node 3 */
    CHECK(log_says(&r, 1, "not \"faultline-node-3\" (cluster", 5000));
    CHECK(log_says(&r, 1, "peer 3: refused: its certificate names \"faultline-node-2\"", 5000));
    static const char hello[24] = "FLPR\x01";
    CHECK(plaintext_closed(r.peer_port[1], hello, sizeof(hello)));
    CHECK(log_says(&r, 1, "refused: not a TLS handshake (first byte 0x46 'F')", 3000));
    CHECK(plaintext_closed(r.client_port[2], "PING\r\n", 6));
    CHECK(log_says(&r, 2, "refused: not a TLS handshake (first byte 0x50 'P')", 3000));
    /* none of it joined: node 3 applied nothing; the two others still serve */
    SSL *s3 = tls_connect(r.client_port[3], "a", "client"); /* node 3 has node 2's name now */
    CHECK(s3 && tls_cmd_on(s3, out, sizeof(out), "FL.STATUS", NULL, NULL));
    tls_close(s3);
    CHECK(strstr(out, " applied_index:0 ") != NULL);
    CHECK(tls_cmd(r.client_port[2], out, sizeof(out), "SET", "k2", "v2") && !strcmp(out, "+OK"));
    /* with its own certificate node 3 joins and catches up */
    restart_node3(&r, "a", "node3");
    bool caught_up = false;
    for (int i = 0; i < 100 && !caught_up; i++, rig_sleep_ms(100))
        caught_up =
            tls_cmd(r.client_port[3], out, sizeof(out), "GET", "k2", NULL) && !strcmp(out, "$v2");
    CHECK(caught_up);
    if (access("/usr/bin/redis-cli", X_OK) == 0) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd),
                 "redis-cli --tls --cacert %s/a/ca.crt -p %d SET rc yes >/dev/null && "
                 "redis-cli --tls --cacert %s/a/ca.crt -p %d GET rc",
                 certs, r.client_port[1], certs, r.client_port[3]);
        FILE *p = popen(cmd, "r");
        char line[64] = "";
        CHECK(p && fgets(line, sizeof(line), p));
        pclose(p);
        CHECK_STR(line, "yes\n");
    } else {
        printf("redis-cli --tls check skipped: redis-cli is not installed\n");
    }
    CHECK(rig_stop(&r));
}

TEST(server_tls_client_auth_refuses_clients_without_a_good_certificate)
{
    static rig r;
    rig_init(&r, 1);
    make_certs(&r);
    start_tls(&r, 1, "a", "node1", "--tls-client-auth");
    CHECK(tls_wait_leader(&r, 10000) == 1);
    char out[256];
    SSL *ssl;
    /* TLS 1.3: a refused client may finish its side of the handshake and fail on the reply */
    ssl = tls_connect(r.client_port[1], "a", NULL);
    CHECK(!ssl || !tls_cmd_on(ssl, out, sizeof(out), "PING", NULL, NULL));
    if (ssl)
        tls_close(ssl);
    CHECK(log_says(&r, 1, "peer did not return a certificate", 3000));
    ssl = tls_connect(r.client_port[1], "b", "client");
    CHECK(!ssl || !tls_cmd_on(ssl, out, sizeof(out), "PING", NULL, NULL));
    if (ssl)
        tls_close(ssl);
    CHECK(log_says(&r, 1, "unable to get local issuer certificate", 3000));
    ssl = tls_connect(r.client_port[1], "x", "client");
    CHECK(!ssl || !tls_cmd_on(ssl, out, sizeof(out), "PING", NULL, NULL));
    if (ssl)
        tls_close(ssl);
    CHECK(log_says(&r, 1, "certificate has expired", 3000));
    CHECK(tls_cmd(r.client_port[1], out, sizeof(out), "SET", "a", "1") && !strcmp(out, "+OK"));
    if (access("/usr/bin/redis-cli", X_OK) == 0) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd),
                 "redis-cli --tls --cacert %s/a/ca.crt --cert %s/a/client.crt --key "
                 "%s/a/client.key -p %d GET a",
                 certs, certs, certs, r.client_port[1]);
        FILE *p = popen(cmd, "r");
        char line[64] = "";
        CHECK(p && fgets(line, sizeof(line), p));
        pclose(p);
        CHECK_STR(line, "1\n");
    }
    CHECK(rig_stop(&r));
}

TEST(server_tls_bad_certificate_file_stops_the_start_naming_it)
{
    static rig r;
    rig_init(&r, 1);
    make_certs(&r);
    char bad[240];
    snprintf(bad, sizeof(bad), "%s/a/ca.key", certs); /* a key, not a certificate */
    r.extra[0] = "--tls-cert";
    r.extra[1] = bad;
    r.extra[2] = "--tls-key";
    r.extra[3] = bad;
    r.extra[4] = "--tls-ca";
    r.extra[5] = bad;
    rig_start(&r, 1);
    int status = -1;
    for (int i = 0; i < 100 && waitpid(r.pid[1], &status, WNOHANG) == 0; i++)
        rig_sleep_ms(50);
    r.pid[1] = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK(log_says(&r, 1, "cannot load the certificate", 0));
    CHECK(log_says(&r, 1, bad, 0));
    CHECK(rig_stop(&r));
}

#else

/* Without OpenSSL the TLS options are refused at the start with a message naming the package
 * (exit 2); the TLS tests above say they skip. */
TEST(server_tls_options_without_openssl_name_the_package)
{
    printf(
        "skipped: TLS tests: no OpenSSL in this build (apt-get install libssl-dev pkg-config)\n");
    static rig r;
    rig_init(&r, 1);
    r.extra[0] = "--tls-cert";
    r.extra[1] = "a.crt";
    r.extra[2] = "--tls-key";
    r.extra[3] = "a.key";
    r.extra[4] = "--tls-ca";
    r.extra[5] = "ca.crt";
    rig_start(&r, 1);
    int status = -1;
    waitpid(r.pid[1], &status, 0);
    r.pid[1] = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    char path[200], line[400] = "";
    snprintf(path, sizeof(path), "%s/n1.log", r.dir);
    FILE *f = fopen(path, "r");
    CHECK(f && fgets(line, sizeof(line), f));
    fclose(f);
    CHECK(strstr(line, "libssl-dev") != NULL);
    CHECK(rig_stop(&r));
}

#endif
