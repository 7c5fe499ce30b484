/* cmd_certs.c: `faultline certs DIR --nodes N`: a cluster CA and one certificate per node
 * (tls.h's naming rule), plus a client certificate, for TLS on the client and peer ports. */
#include "cli/cli.h"

#include "faultline/error.h"
#include "faultline/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void certs_usage(FILE *f)
{
    fprintf(
        f,
        "usage: faultline certs DIR --nodes N [--days D] [--hosts H1,H2,...] [--ca CADIR]\n"
        "                       [--expired]\n\n"
        "Makes a new cluster CA and its certificates in DIR (ECDSA P-256, SHA-256):\n"
        "  ca.crt, ca.key            the CA (keep ca.key offline once the nodes have theirs)\n"
        "  node<i>.crt, node<i>.key  node i = 1..N: subject CN \"faultline-node-<i>\", the name\n"
        "                            a peer must present to be accepted as node i;\n"
        "                            subjectAltName 127.0.0.1, localhost and the i-th of --hosts\n"
        "  client.crt, client.key    a client certificate (for --tls-client-auth)\n"
        "Valid D days (825). --expired (for tests) makes node and client certificates that\n"
        "expired yesterday. Keys are written mode 0600. Refuses a DIR that has a ca.key.\n"
        "--ca CADIR: no new CA; the certificates are signed by CADIR's ca.crt and ca.key\n"
        "(more nodes for a running cluster).\n\n"
        "Then: faultline server ... --tls-cert DIR/node1.crt --tls-key DIR/node1.key\n"
        "      --tls-ca DIR/ca.crt   and   redis-cli --tls --cacert DIR/ca.crt -p PORT\n");
}

int fl_cmd_certs(int argc, char **argv)
{
    fl_tls_certs_config c = {0};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            certs_usage(stdout);
            return 0;
        }
        if (!strcmp(k, "--expired")) {
            c.expired = true;
        } else if (!strcmp(k, "--nodes") && v) {
            c.nodes = (uint32_t)strtoul(v, &end, 10);
            i++;
        } else if (!strcmp(k, "--days") && v) {
            c.days = (uint32_t)strtoul(v, &end, 10);
            i++;
        } else if (!strcmp(k, "--ca") && v) {
            c.ca_dir = v;
            i++;
        } else if (!strcmp(k, "--hosts") && v) {
            c.hosts = v;
            i++;
        } else if (k[0] != '-' && !c.dir) {
            c.dir = k;
        } else {
            end = (char *)"?";
        }
        if (end && (*end || end == v)) {
            fprintf(stderr, "faultline certs: bad option %s\n", k);
            certs_usage(stderr);
            return FL_EXIT_USAGE;
        }
    }
    if (!c.dir || !c.nodes) {
        fprintf(stderr, "faultline certs: DIR and --nodes N are required\n");
        certs_usage(stderr);
        return FL_EXIT_USAGE;
    }
    fl_errmsg m = {{0}};
    int rc = fl_tls_make_certs(&c, &m);
    if (rc) {
        fprintf(stderr, "faultline %s\n", m.text);
        return rc == FL_ECONFIG ? FL_EXIT_USAGE : 1;
    }
    printf("certs: %u node certificates and a client certificate in %s, signed by %s%s%s\n",
           c.nodes, c.dir, c.ca_dir ? "the CA of " : "a new CA", c.ca_dir ? c.ca_dir : "",
           c.expired ? " (expired, for tests)" : "");
    return 0;
}
