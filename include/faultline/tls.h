/* tls.h: TLS configuration for the real runtime (OpenSSL, optional at build time), and the
 * certificates a cluster needs.
 *
 * An fl_tls holds one certificate, its key and the CA that peers' certificates must chain to;
 * every TLS stream (stream.h) of a listener or of outgoing connections is made from it. The
 * library is built with TLS only where OpenSSL was found (the Makefile defines
 * FL_HAVE_OPENSSL); elsewhere fl_tls_init returns FL_EUNSUPPORTED with a message naming the
 * package, and fl_tls_available() says false.
 *
 * Naming rule for the peer port: the certificate of node ID carries the subject Common Name
 * "faultline-node-ID" (decimal, no leading zeros; fl_tls_node_name). A node accepts a peer
 * connection only when the peer's certificate chains to the cluster CA and its name is the
 * one of the node id its hello claims; an outgoing connection goes on only when the acceptor's
 * certificate names the node it meant to reach. Client certificates (--tls-client-auth) need
 * only chain to the CA. */
#ifndef FAULTLINE_TLS_H
#define FAULTLINE_TLS_H

#include "faultline/errmsg.h"
#include "faultline/types.h"

#define FL_TLS_NAME_MAX 64 /* a certificate name kept for checks and logs */
#define FL_TLS_PATH_MAX 400

typedef struct fl_tls_config {
    char cert[FL_TLS_PATH_MAX]; /* PEM certificate (chain) presented to the other side */
    char key[FL_TLS_PATH_MAX];  /* its PEM private key */
    char ca[FL_TLS_PATH_MAX];   /* PEM CA certificate(s) the other side's must chain to */
} fl_tls_config;

typedef struct fl_tls {
    void *ctx; /* SSL_CTX *, NULL when not initialized */
} fl_tls;

/* True when this build has TLS (OpenSSL). */
bool fl_tls_available(void);
/* Loads cert, key and CA into t; checks that the key matches the certificate. A client may
 * leave cert and key empty (no client certificate) and ca empty (verifies nothing). Returns 0,
 * FL_ECONFIG (a file that does not load, with the file and OpenSSL's reason in m), FL_ENOMEM,
 * or FL_EUNSUPPORTED in a build without OpenSSL. */
int fl_tls_init(fl_tls *t, const fl_tls_config *c, fl_errmsg *m);
void fl_tls_close(fl_tls *t);
/* The name node id's certificate must carry: "faultline-node-ID" into out (FL_TLS_NAME_MAX). */
const char *fl_tls_node_name(fl_node_id id, char *out);

/* What `faultline certs` makes in dir: ca.crt, ca.key, node<i>.crt / node<i>.key for
 * i = 1..nodes (names per the rule above; subjectAltName IP:127.0.0.1, DNS:localhost and
 * hosts), client.crt / client.key (for --tls-client-auth). Keys are ECDSA P-256, mode 0600. */
typedef struct fl_tls_certs_config {
    const char *dir;
    uint32_t nodes;     /* 1..FL_RAFT_NODES_MAX */
    uint32_t days;      /* validity from now (default 825) */
    bool expired;       /* test hook: node and client certificates expired yesterday */
    const char *hosts;  /* NULL or "h1,h2,...": node i also gets the i-th (IP or DNS name) */
    const char *ca_dir; /* NULL: a new CA; else sign with ca_dir's ca.crt and ca.key (and
                           copy no CA into dir): more nodes for an existing cluster */
} fl_tls_certs_config;

/* Writes the files above into dir (made if missing; refused if a new CA would overwrite a
 * ca.key there).
 * Returns 0, FL_EIO (a file, with the reason in m), FL_ECONFIG or FL_EUNSUPPORTED. */
int fl_tls_make_certs(const fl_tls_certs_config *c, fl_errmsg *m);

#endif
