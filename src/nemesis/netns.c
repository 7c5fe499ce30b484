/* netns.c: --net netns: each node in a network namespace of its own (fl<pid>n<i>), joined
 * to a bridge this run creates (flb<pid>) by a veth pair, with an address 10.213.K.i of a
 * /24 that no interface of the host uses; the bridge holds .254, so the nemesis (clients and
 * the status poll) reaches every node on a path no fault touches. Faults are nftables rules
 * inside the nodes' namespaces (table inet flnem): a cut link a -> b drops, at b's input,
 * the packets whose source is a's address. Only the run's own namespaces and the addresses
 * in them are ever named; deleting a namespace deletes its veth, its rules and its table.
 *
 * The helpers (ip, nft) run to completion: setup and teardown happen outside the measured
 * phase, and a rule change (a few ms) only at a fault's start and end. */
#include "nem_int.h"

#include "faultline/error.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int ip(nem *n, const char *a, const char *b, const char *c, const char *d, const char *e,
              const char *f, const char *g, const char *h)
{
    char *argv[] = {"ip",      (char *)a, (char *)b, (char *)c, (char *)d,
                    (char *)e, (char *)f, (char *)g, (char *)h, NULL};
    int rc = nem_run_cmd(argv, true);
    if (rc != 0 && n)
        snprintf(n->res->error, sizeof(n->res->error), "--net netns: 'ip %s %s %s %s' failed", a, b,
                 c ? c : "", d ? d : "");
    return rc;
}

/* A 10.213.K.0/24 that no interface of the host has an address in. */
static bool subnet_free(unsigned k)
{
    struct ifaddrs *ifa, *i;
    if (getifaddrs(&ifa))
        return true;
    bool used = false;
    for (i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        used |= (a >> 8) == ((10u << 16) | (213u << 8) | k);
    }
    freeifaddrs(ifa);
    return !used;
}

static int setup_node(nem *n, nem_node *x)
{
    char veth[16], peer[16], addr[40];
    snprintf(x->ns, sizeof(x->ns), "fl%dn%u", (int)getpid(), x->id);
    snprintf(veth, sizeof(veth), "flh%dn%u", (int)getpid(), x->id);
    snprintf(peer, sizeof(peer), "flp%dn%u", (int)getpid(), x->id);
    snprintf(x->host, sizeof(x->host), "%s.%u", n->subnet, x->id);
    snprintf(addr, sizeof(addr), "%s/24", x->host);
    if (ip(n, "netns", "add", x->ns, NULL, NULL, NULL, NULL, NULL) ||
        ip(n, "link", "add", veth, "type", "veth", "peer", "name", peer) ||
        ip(n, "link", "set", veth, "master", n->bridge, "up", NULL, NULL) ||
        ip(n, "link", "set", peer, "netns", x->ns, NULL, NULL, NULL) ||
        ip(n, "-n", x->ns, "link", "set", peer, "name", "eth0", NULL) ||
        ip(n, "-n", x->ns, "addr", "add", addr, "dev", "eth0", NULL) ||
        ip(n, "-n", x->ns, "link", "set", "eth0", "up", NULL, NULL) ||
        ip(n, "-n", x->ns, "link", "set", "lo", "up", NULL, NULL))
        return FL_EIO;
    return 0;
}

int nem_netns_setup(nem *n)
{
    if (geteuid() != 0) {
        snprintf(
            n->res->error, sizeof(n->res->error),
            "--net netns needs root (network namespaces, a bridge, nftables); use --net proxy");
        return FL_EUNSUPPORTED;
    }
    char *probe_ip[] = {"ip", "-V", NULL}, *probe_nft[] = {"nft", "--version", NULL};
    if (nem_run_cmd(probe_ip, true) != 0 || nem_run_cmd(probe_nft, true) != 0) {
        snprintf(n->res->error, sizeof(n->res->error),
                 "--net netns needs the ip and nft commands (apt-get install iproute2 nftables)");
        return FL_EUNSUPPORTED;
    }
    unsigned k = (unsigned)getpid() % 250 + 1;
    for (int tries = 0; tries < 250 && !subnet_free(k); tries++)
        k = k % 250 + 1;
    snprintf(n->subnet, sizeof(n->subnet), "10.213.%u", k);
    snprintf(n->bridge, sizeof(n->bridge), "flb%d", (int)getpid());
    char addr[40];
    snprintf(addr, sizeof(addr), "%s.254/24", n->subnet);
    n->netns_up = true; /* from here on, teardown removes whatever exists */
    if (ip(n, "link", "add", n->bridge, "type", "bridge", NULL, NULL, NULL) ||
        ip(n, "addr", "add", addr, "dev", n->bridge, NULL, NULL, NULL) ||
        ip(n, "link", "set", n->bridge, "up", NULL, NULL, NULL, NULL))
        return FL_EIO;
    for (uint32_t i = 1; i <= n->count; i++) {
        int rc = setup_node(n, &n->node[i]);
        if (rc)
            return rc;
    }
    return nem_netns_apply(n);
}

void nem_netns_teardown(nem *n)
{
    if (!n->netns_up)
        return;
    for (uint32_t i = 1; i <= n->count; i++)
        if (n->node[i].ns[0])
            ip(NULL, "netns", "del", n->node[i].ns, NULL, NULL, NULL, NULL, NULL);
    ip(NULL, "link", "del", n->bridge, NULL, NULL, NULL, NULL, NULL);
    n->netns_up = false;
}

static int apply_node(nem *n, uint32_t b)
{
    char path[FL_NEM_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/nft-n%u.conf", n->cfg->out_dir, b);
    FILE *f = fopen(path, "w");
    if (!f)
        return FL_EIO;
    fprintf(f, "table inet flnem\ndelete table inet flnem\ntable inet flnem {\n"
               "  chain input {\n    type filter hook input priority 0; policy accept;\n");
    for (uint32_t a = 1; a <= n->count; a++)
        if (n->cut[a][b])
            fprintf(f, "    ip saddr %s drop\n", n->node[a].host);
    fprintf(f, "  }\n}\n");
    if (fclose(f))
        return FL_EIO;
    char *argv[] = {"ip", "netns", "exec", n->node[b].ns, "nft", "-f", path, NULL};
    if (nem_run_cmd(argv, false) != 0) {
        snprintf(n->res->error, sizeof(n->res->error), "--net netns: nft -f %.150s failed in %s",
                 path, n->node[b].ns);
        return FL_EIO;
    }
    return 0;
}

int nem_netns_apply(nem *n)
{
    int rc = 0;
    for (uint32_t b = 1; b <= n->count; b++)
        if (!rc)
            rc = apply_node(n, b);
    return rc;
}
