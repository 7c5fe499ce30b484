/* tls.c: TLS contexts (tls.h): one OpenSSL SSL_CTX per certificate, key and CA, used for both
 * accepting and connecting. TLS 1.2 at least; no session tickets (connections are long-lived
 * and a ticket would only add bytes); partial writes with a moving buffer, because callers
 * write from growable buffers and retry with more bytes behind the same ones. */
#include "faultline/tls.h"

#include "faultline/error.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifdef FL_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

const char *fl_tls_node_name(fl_node_id id, char *out)
{
    snprintf(out, FL_TLS_NAME_MAX, "faultline-node-%u", id);
    return out;
}

#ifndef FL_HAVE_OPENSSL

bool fl_tls_available(void)
{
    return false;
}

int fl_tls_init(fl_tls *t, const fl_tls_config *c, fl_errmsg *m)
{
    (void)c;
    t->ctx = NULL;
    return fl_errmsg_set(m, FL_EUNSUPPORTED,
                         "TLS is not in this build: it needs OpenSSL (apt-get install libssl-dev "
                         "pkg-config, then rebuild faultline)");
}

void fl_tls_close(fl_tls *t)
{
    t->ctx = NULL;
}

#else

bool fl_tls_available(void)
{
    return true;
}

static int ssl_error(fl_tls *t, fl_errmsg *m, const char *what, const char *file)
{
    char why[200] = "unknown reason";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    fl_tls_close(t);
    return fl_errmsg_set(m, FL_ECONFIG, "TLS: %s %s: %s", what, file, why);
}

int fl_tls_init(fl_tls *t, const fl_tls_config *c, fl_errmsg *m)
{
    /* OpenSSL writes to sockets with write(): a peer that closed would raise SIGPIPE. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    t->ctx = ctx;
    if (!ctx)
        return fl_errmsg_set(m, FL_ENOMEM, "TLS: cannot make a context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_read_ahead(ctx, 0); /* stream.h: whole records only, never more */
    if (!c->cert[0] != !c->key[0]) {
        fl_tls_close(t);
        return fl_errmsg_set(m, FL_ECONFIG,
                             "TLS: a certificate needs its key and a key its certificate");
    }
    if (c->cert[0] && SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1)
        return ssl_error(t, m, "cannot load the certificate", c->cert);
    if (c->key[0] && SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1)
        return ssl_error(t, m, "cannot load the private key", c->key);
    if (c->key[0] && SSL_CTX_check_private_key(ctx) != 1)
        return ssl_error(t, m, "the private key does not match the certificate", c->key);
    if (!c->ca[0])
        return 0; /* a client that does not verify (bench without --tls-ca) */
    if (SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1)
        return ssl_error(t, m, "cannot load the CA certificate", c->ca);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->ca);
    if (!names)
        return ssl_error(t, m, "no CA name in", c->ca);
    SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
    SSL_CTX_set_verify_depth(ctx, 4);
    return 0;
}

void fl_tls_close(fl_tls *t)
{
    if (t->ctx)
        SSL_CTX_free(t->ctx);
    t->ctx = NULL;
}

#endif
