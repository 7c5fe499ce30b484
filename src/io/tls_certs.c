/* tls_certs.c: a cluster's CA and certificates through the OpenSSL API (tls.h,
 * `faultline certs`), so that a first TLS deployment and the tests need no openssl command.
 *
 * The CA: ECDSA P-256, subject "faultline cluster CA <random>", basicConstraints CA:TRUE,
 * keyUsage keyCertSign + cRLSign. A node i: subject CN "faultline-node-i" (the naming rule of
 * tls.h), subjectAltName IP:127.0.0.1, DNS:localhost and its host, extendedKeyUsage serverAuth
 * + clientAuth (it accepts and connects), CA:FALSE. The client: CN "faultline-client",
 * clientAuth. Serial numbers are 63 random bits; signatures SHA-256. */
#include "faultline/tls.h"

#include "faultline/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_HAVE_OPENSSL

int fl_tls_make_certs(const fl_tls_certs_config *c, fl_errmsg *m)
{
    (void)c;
    return fl_errmsg_set(m, FL_EUNSUPPORTED,
                         "certificates need OpenSSL, which this build lacks (apt-get install "
                         "libssl-dev pkg-config, then rebuild faultline)");
}

#else

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define DAY_S (24L * 3600L)

typedef struct certgen {
    const fl_tls_certs_config *c;
    X509 *ca;
    EVP_PKEY *ca_key;
    fl_errmsg *m;
} certgen;

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for key named cn, valid [now + from_s, now + to_s], signed by issuer (NULL:
 * self-signed) with exts: pairs of (nid, value), ended by nid 0. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long from_s, long to_s, const int *nids, const char *const *values)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    bool ok = x && serial && X509_set_version(x, 2) && BN_rand(serial, 63, BN_RAND_TOP_ANY, 0) &&
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
              X509_gmtime_adj(X509_getm_notBefore(x), from_s) &&
              X509_gmtime_adj(X509_getm_notAfter(x), to_s) && X509_set_pubkey(x, key);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    for (size_t i = 0; ok && nids[i]; i++)
        ok = add_ext(x, issuer, nids[i], values[i]) == 0;
    ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int openssl_fail(certgen *g, const char *what)
{
    char why[200] = "unknown reason";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    return fl_errmsg_set(g->m, FL_EIO, "certs: %s: %s", what, why);
}

/* Writes DIR/name.crt and DIR/name.key (0600). */
static int write_pair(certgen *g, const char *name, X509 *x, EVP_PKEY *key)
{
    char path[FL_TLS_PATH_MAX + 32];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/%s.%s", g->c->dir, name, k ? "key" : "crt");
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, k ? 0600 : 0644);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return fl_errmsg_errno(g->m, FL_EIO, e, "certs: cannot write %s", path);
        }
        int ok = k ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
        if (fclose(f) != 0 || !ok)
            return fl_errmsg_set(g->m, FL_EIO, "certs: cannot write %s", path);
    }
    return 0;
}

/* The subjectAltName of node i: loopback, and its host from the list if any. */
static void node_san(const char *hosts, uint32_t i, char *out, size_t size)
{
    int n = snprintf(out, size, "IP:127.0.0.1,DNS:localhost");
    const char *h = hosts;
    for (uint32_t k = 1; h && k < i; k++)
        h = (h = strchr(h, ',')) ? h + 1 : NULL;
    if (!h || !*h || *h == ',')
        return;
    size_t len = strcspn(h, ",");
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(len < 255 ? len : 255), h);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    snprintf(out + n, size - (size_t)n, ",%s:%s", is_ip ? "IP" : "DNS", host);
}

static int make_leaf(certgen *g, const char *file, const char *cn, const char *san, bool server)
{
    long from = g->c->expired ? -2 * DAY_S : -300; /* a little slack for clock skew */
    long to = g->c->expired ? -DAY_S : (long)g->c->days * DAY_S;
    static const int nids_srv[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
                                   NID_subject_alt_name, 0};
    static const int nids_cli[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage, 0};
    const char *values[] = {"critical,CA:FALSE", "critical,digitalSignature",
                            server ? "serverAuth,clientAuth" : "clientAuth", san};
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x =
        key ? make_cert(key, cn, g->ca, g->ca_key, from, to, server ? nids_srv : nids_cli, values)
            : NULL;
    int rc = x ? write_pair(g, file, x, key) : openssl_fail(g, cn);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static int make_ca(certgen *g)
{
    uint8_t r[4];
    char cn[64], path[FL_TLS_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ca.key", g->c->dir);
    if (access(path, F_OK) == 0)
        return fl_errmsg_set(g->m, FL_ECONFIG,
                             "certs: %s exists: this directory has a CA already (choose another)",
                             path);
    RAND_bytes(r, sizeof(r));
    snprintf(cn, sizeof(cn), "faultline cluster CA %02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
    static const int nids[] = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier, 0};
    static const char *const values[] = {"critical,CA:TRUE,pathlen:0",
                                         "critical,keyCertSign,cRLSign", "hash"};
    g->ca_key = EVP_EC_gen("P-256");
    g->ca = g->ca_key
                ? make_cert(g->ca_key, cn, NULL, NULL, -300, (long)g->c->days * DAY_S, nids, values)
                : NULL;
    return g->ca ? write_pair(g, "ca", g->ca, g->ca_key) : openssl_fail(g, "the CA");
}

/* Signs with ca_dir's CA instead of making one. */
static int load_ca(certgen *g)
{
    char path[FL_TLS_PATH_MAX + 16];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/ca.%s", g->c->ca_dir, k ? "key" : "crt");
        FILE *f = fopen(path, "r");
        if (!f)
            return fl_errmsg_errno(g->m, FL_EIO, errno, "certs: cannot read %s", path);
        if (k)
            g->ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        else
            g->ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        if (!(k ? (void *)g->ca_key : (void *)g->ca))
            return openssl_fail(g, path);
    }
    if (X509_check_private_key(g->ca, g->ca_key) != 1)
        return openssl_fail(g, "the CA's key does not match its certificate");
    return 0;
}

int fl_tls_make_certs(const fl_tls_certs_config *c, fl_errmsg *m)
{
    fl_tls_certs_config cc = *c;
    if (!cc.days)
        cc.days = 825;
    if (!cc.dir || !cc.dir[0] || strlen(cc.dir) >= FL_TLS_PATH_MAX - 32 || cc.nodes == 0 ||
        cc.nodes > 1000 || cc.days > 36500)
        return fl_errmsg_set(m, FL_ECONFIG, "certs: bad directory, node count or days");
    if (mkdir(cc.dir, 0755) != 0 && errno != EEXIST)
        return fl_errmsg_errno(m, FL_EIO, errno, "certs: mkdir %s", cc.dir);
    certgen g = {.c = &cc, .m = m};
    int rc = cc.ca_dir ? load_ca(&g) : make_ca(&g);
    for (uint32_t i = 1; rc == 0 && i <= cc.nodes; i++) {
        char cn[FL_TLS_NAME_MAX], file[32], san[400];
        snprintf(file, sizeof(file), "node%u", i);
        node_san(cc.hosts, i, san, sizeof(san));
        rc = make_leaf(&g, file, fl_tls_node_name(i, cn), san, true);
    }
    if (rc == 0)
        rc = make_leaf(&g, "client", "faultline-client", NULL, false);
    X509_free(g.ca);
    EVP_PKEY_free(g.ca_key);
    return rc;
}

#endif
