/* test_certs.h: the certificates TLS tests use, made with fl_tls_make_certs in dir (which must
 * exist): dir/a, the cluster's CA with `nodes` node certificates and a client one; dir/b,
 * another CA with the same names; dir/x, certificates of a's CA that expired yesterday.
 * Header-only. */
#ifndef FL_TEST_CERTS_H
#define FL_TEST_CERTS_H

#include "test.h"

#include "faultline/tls.h"

#include <stdio.h>

static void test_certs_make(const char *dir, uint32_t nodes)
{
    char a[FL_TLS_PATH_MAX], b[FL_TLS_PATH_MAX], x[FL_TLS_PATH_MAX];
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(x, sizeof(x), "%s/x", dir);
    fl_errmsg m;
    fl_tls_certs_config ca = {.dir = a, .nodes = nodes}, cb = {.dir = b, .nodes = nodes},
                        cx = {.dir = x, .nodes = nodes, .ca_dir = a, .expired = true};
    CHECK_EQ(fl_tls_make_certs(&ca, &m), 0);
    CHECK_EQ(fl_tls_make_certs(&cb, &m), 0);
    CHECK_EQ(fl_tls_make_certs(&cx, &m), 0);
}

#endif
