/* cmd_certs.c: `faultline certs DIR --nodes N`: a cluster CA and one certificate per node
 * (tls.h's naming rule), plus a client certificate, for TLS on the client and peer ports. */
#include "cli/cli.h"
#include "cli/cli_opt.h"

#include "faultline/error.h"
#include "faultline/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        "(and --tls-ca DIR/ca.crt), and: redis-cli --tls --cacert DIR/ca.crt -p PORT\n");
    fl_cli_exit_help(f, "made", NULL, NULL);
}

#define CMD "certs"

/* --hosts: names and addresses, as a certificate's subjectAltName takes them. */
static int hosts_option(const char *v, fl_tls_certs_config *c)
{
    if (!v)
        return fl_cli_no_value(CMD, "--hosts");
    size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:,");
    if (!v[0] || v[n])
        return fl_cli_bad(CMD, "--hosts", v, "expected host names or addresses, comma separated");
    c->hosts = v;
    return 0;
}

/* --ca CADIR: a directory with the ca.crt and ca.key to sign with. */
static int ca_option(const char *v, fl_tls_certs_config *c)
{
    if (!v)
        return fl_cli_no_value(CMD, "--ca");
    int rc = fl_cli_in_dir(CMD, "--ca", v);
    char path[FL_TLS_PATH_MAX + 16];
    for (int k = 0; k < 2 && !rc; k++) {
        snprintf(path, sizeof(path), "%s/ca.%s", v, k ? "key" : "crt");
        rc = fl_cli_in_file(CMD, "--ca", path);
    }
    c->ca_dir = v;
    return rc;
}

/* The command line; 0 or the exit status (0 after --help, with *help). */
static int certs_args(int argc, char **argv, fl_tls_certs_config *c, bool *help)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            certs_usage(stdout);
            *help = true;
            return 0;
        } else if (!strcmp(k, "--expired")) {
            c->expired = true;
            continue;
        } else if (!strcmp(k, "--nodes")) {
            rc = fl_cli_u32(CMD, k, v, 1, 1000, &c->nodes);
        } else if (!strcmp(k, "--days")) {
            rc = fl_cli_u32(CMD, k, v, 1, 36500, &c->days);
        } else if (!strcmp(k, "--ca")) {
            rc = ca_option(v, c);
        } else if (!strcmp(k, "--hosts")) {
            rc = hosts_option(v, c);
        } else if ((k[0] != '-' || !k[1]) && !c->dir) {
            c->dir = k;
            continue;
        } else {
            return fl_cli_unexpected(CMD, k);
        }
        if (rc)
            return rc;
        i++;
    }
    return 0;
}

int fl_cmd_certs(int argc, char **argv)
{
    fl_tls_certs_config c = {0};
    bool help = false;
    int rc = certs_args(argc, argv, &c, &help);
    if (rc || help)
        return rc;
    if (c.dir && (rc = fl_cli_out_dir(CMD, NULL, c.dir)))
        return rc;
    char ca_key[FL_TLS_PATH_MAX + 16];
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", c.dir ? c.dir : "");
    if (c.dir && !c.ca_dir && access(ca_key, F_OK) == 0)
        return fl_cli_error(CMD, FL_EXIT_CANTCREAT,
                            "%s has a CA already (%s): choose another directory, or --ca %s to "
                            "sign more certificates with it",
                            c.dir, ca_key, c.dir);
    if (!c.dir || !c.nodes)
        return fl_cli_error(CMD, FL_EXIT_USAGE, "DIR and --nodes N are required");
    fl_errmsg m = {{0}};
    rc = fl_tls_make_certs(&c, &m);
    if (rc)
        return fl_cli_error(CMD,
                            rc == FL_EUNSUPPORTED ? FL_EXIT_UNAVAILABLE
                            : rc == FL_EIO        ? FL_EXIT_IOERR
                                                  : FL_EXIT_SOFTWARE,
                            "%s", m.text);
    printf("certs: %u node certificates and a client certificate in %s, signed by %s%s%s\n",
           c.nodes, c.dir, c.ca_dir ? "the CA of " : "a new CA", c.ca_dir ? c.ca_dir : "",
           c.expired ? " (expired, for tests)" : "");
    return 0;
}
