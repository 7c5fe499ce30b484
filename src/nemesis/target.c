/* target.c: the command line of one node for each target.
 *
 *   faultline  faultline server --id I --cluster 1=H:P,... --listen H:C --data DIR/nI
 *              [--peer-listen H:Q] NODE_ARGS; the cluster list names what the others dial
 *              (the proxy's listener in proxy mode), --peer-listen where it really listens.
 *   etcd       etcd --name nI --data-dir DIR/nI --listen-client-urls http://H:C ...
 *              --listen-peer-urls http://H:Q --initial-advertise-peer-urls http://H:P
 *              --initial-cluster n1=http://H:P,... NODE_ARGS
 *   cmd        /bin/sh -c 'exec TEMPLATE' with {id} {host} {port} {peer_port} {peers}
 *              {data} filled in ({peers}: "1=H:P,2=H:P,..." as the others dial them; {port}
 *              the client port; {peer_port} where the node itself listens for peers).
 *
 * NODE_ARGS is split on spaces (no quoting). */
#include "nem_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct argbuf {
    char **argv;
    int argc, max;
    char *s;
    size_t used, size;
    bool overflow;
} argbuf;

static void add(argbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(argbuf *a, const char *fmt, ...)
{
    if (a->argc + 1 >= a->max || a->used >= a->size) {
        a->overflow = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->s + a->used, a->size - a->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= a->size - a->used) {
        a->overflow = true;
        return;
    }
    a->argv[a->argc++] = a->s + a->used;
    a->argv[a->argc] = NULL;
    a->used += (size_t)n + 1;
}

static void add_split(argbuf *a, const char *words)
{
    char w[256];
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        snprintf(w, sizeof(w), "%.*s", (int)(n < 255 ? n : 255), p);
        add(a, "%s", w);
        p += n;
    }
}

/* "1=H:P,2=H:P" (prefix "" ) or "n1=http://H:P,..." (prefix "http://"). */
static void peers_list(const nem *n, const char *name_prefix, const char *url, char *out,
                       size_t size)
{
    size_t len = 0;
    out[0] = 0;
    for (uint32_t i = 1; i <= n->count && len < size; i++) {
        const nem_node *y = &n->node[i];
        len += (size_t)snprintf(out + len, size - len, "%s%s%u=%s%s:%u", i > 1 ? "," : "",
                                name_prefix, i, url, y->host, y->adv_port);
    }
}

static void faultline_argv(const nem *n, const nem_node *x, argbuf *a)
{
    char peers[1024];
    peers_list(n, "", "", peers, sizeof(peers));
    add(a, "%s", n->cfg->exe);
    add(a, "server");
    add(a, "--id");
    add(a, "%u", x->id);
    add(a, "--cluster");
    add(a, "%s", peers);
    add(a, "--listen");
    add(a, "%s:%u", x->host, x->client_port);
    add(a, "--data");
    add(a, "%s/n%u", n->cfg->out_dir, x->id);
    if (x->peer_port != x->adv_port) {
        add(a, "--peer-listen");
        add(a, "%s:%u", x->host, x->peer_port);
    }
    add_split(a, n->cfg->node_args);
}

static void etcd_argv(const nem *n, const nem_node *x, argbuf *a)
{
    char peers[1024];
    peers_list(n, "n", "http://", peers, sizeof(peers));
    add(a, "%s", n->cfg->etcd);
    add(a, "--name=n%u", x->id);
    add(a, "--data-dir=%s/n%u", n->cfg->out_dir, x->id);
    add(a, "--listen-client-urls=http://%s:%u", x->host, x->client_port);
    add(a, "--advertise-client-urls=http://%s:%u", x->host, x->client_port);
    add(a, "--listen-peer-urls=http://%s:%u", x->host, x->peer_port);
    add(a, "--initial-advertise-peer-urls=http://%s:%u", x->host, x->adv_port);
    add(a, "--initial-cluster=%s", peers);
    add(a, "--initial-cluster-state=new");
    add(a, "--initial-cluster-token=faultline-nemesis");
    add(a, "--log-outputs=stderr");
    add_split(a, n->cfg->node_args);
}

/* Expands the template's placeholders into out. Returns false if out is too small. */
static bool expand(const nem *n, const nem_node *x, char *out, size_t size)
{
    char peers[1024], v[1100];
    peers_list(n, "", "", peers, sizeof(peers));
    size_t len = 0;
    for (const char *p = n->cfg->node_cmd; *p; p++) {
        const char *val = NULL;
        size_t skip = 0;
        static const char *const names[] = {"{id}",        "{host}",  "{port}",
                                            "{peer_port}", "{peers}", "{data}"};
        for (int i = 0; i < 6 && !val; i++) {
            size_t l = strlen(names[i]);
            if (strncmp(p, names[i], l))
                continue;
            skip = l;
            if (i == 0)
                snprintf(v, sizeof(v), "%u", x->id);
            else if (i == 1)
                snprintf(v, sizeof(v), "%s", x->host);
            else if (i == 2)
                snprintf(v, sizeof(v), "%u", x->client_port);
            else if (i == 3)
                snprintf(v, sizeof(v), "%u", x->peer_port);
            else if (i == 4)
                snprintf(v, sizeof(v), "%s", peers);
            else
                snprintf(v, sizeof(v), "%s/n%u", n->cfg->out_dir, x->id);
            val = v;
        }
        if (val) {
            size_t l = strlen(val);
            if (len + l + 1 > size)
                return false;
            memcpy(out + len, val, l);
            len += l;
            p += skip - 1;
        } else {
            if (len + 2 > size)
                return false;
            out[len++] = *p;
        }
    }
    out[len] = 0;
    return true;
}

int nem_target_argv(const nem *n, const nem_node *x, char **argv, int argv_max, char *strings,
                    size_t strings_size)
{
    argbuf a = {.argv = argv, .max = argv_max, .s = strings, .size = strings_size};
    argv[0] = NULL;
    if (n->cfg->target == FL_NEM_TARGET_FAULTLINE) {
        faultline_argv(n, x, &a);
    } else if (n->cfg->target == FL_NEM_TARGET_ETCD) {
        etcd_argv(n, x, &a);
    } else {
        char cmd[6000];
        if (!expand(n, x, cmd, sizeof(cmd)))
            return -1;
        add(&a, "/bin/sh");
        add(&a, "-c");
        add(&a, "exec %s", cmd);
    }
    return a.overflow ? -1 : a.argc;
}
