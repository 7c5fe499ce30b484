/* cmd_gossip_members.c: `faultline gossip members --addr HOST:PORT [--key-file PATH]`: asks a
 * running agent (gossip_query.h, sealed with the key when given) for its counters and its
 * member table, page by page in id order, and prints them as a table. */
#include "cli.h"
#include "cli_opt.h"
#include "faultline/error.h"
#include "faultline/gossip_query.h"

#include <stdio.h>
#include <string.h>

#define TIMEOUT_MS 500

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline gossip members --addr HOST:PORT [--key-file PATH]\n\n"
               "Prints a running agent's member table (id, address, state, incarnation) and its\n"
               "packet counters (rejected = failed authentication).\n");
    fl_cli_exit_help(f, "printed", NULL, NULL);
    fprintf(f, "  (69: the agent did not answer within %d ms, or not to this key)\n", TIMEOUT_MS);
}

static void print_stats(const fl_gq_packet *s)
{
    const uint64_t *v = s->stats;
    printf("agent %u: %llu members, %llu live; packets %llu sent, %llu received, %llu rejected, "
           "%llu replayed, %llu malformed, %llu without address\n",
           s->agent, (unsigned long long)v[FL_GQ_ST_MEMBERS], (unsigned long long)v[FL_GQ_ST_LIVE],
           (unsigned long long)v[FL_GQ_ST_SENT], (unsigned long long)v[FL_GQ_ST_RECEIVED],
           (unsigned long long)v[FL_GQ_ST_REJECTED], (unsigned long long)v[FL_GQ_ST_REPLAYED],
           (unsigned long long)v[FL_GQ_ST_MALFORMED], (unsigned long long)v[FL_GQ_ST_NO_ADDRESS]);
}

/* Pages through the table; every page starts after the last id seen. */
static int print_members(const fl_addr *addr, const fl_gossip_key *key, fl_errmsg *m)
{
    static fl_gq_packet p;
    printf("%-10s  %-24s  %-8s  %s\n", "id", "address", "state", "incarnation");
    uint32_t from = 1, shown = 0;
    for (;;) {
        int rc = fl_gq_ask(addr, key, FL_GQ_MEMBERS, from, TIMEOUT_MS, &p, m);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < p.n; i++) {
            char a[FL_ADDR_STR_MAX] = "-";
            if (p.e[i].has_addr)
                fl_addr_format(&p.e[i].addr, a);
            printf("%-10u  %-24s  %-8s  %u\n", p.e[i].id, a, fl_swim_state_name(p.e[i].state),
                   p.e[i].incarnation);
        }
        shown += p.n;
        if (p.n == 0 || p.e[p.n - 1].id == UINT32_MAX || shown >= p.total)
            return 0;
        from = p.e[p.n - 1].id + 1;
    }
}

int fl_cmd_gossip_members(int argc, char **argv)
{
    fl_addr addr;
    bool have_addr = false;
    fl_gossip_key key;
    memset(&key, 0, sizeof(key));
    fl_errmsg m;
    const char *cmd = "gossip members";
    for (int i = 1; i < argc; i += 2) { /* every option but --help takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        int rc = !strcmp(a, "--addr")       ? fl_cli_addr(cmd, a, v, &addr)
                 : !strcmp(a, "--key-file") ? fl_cli_gossip_key(cmd, v, &key)
                                            : fl_cli_unexpected(cmd, a);
        if (rc)
            return rc;
        have_addr |= !strcmp(a, "--addr");
    }
    if (!have_addr)
        return fl_cli_error(cmd, FL_EXIT_USAGE, "--addr HOST:PORT is required");
    static fl_gq_packet st;
    if (fl_gq_ask(&addr, &key, FL_GQ_STATS, 0, TIMEOUT_MS, &st, &m) ||
        print_members(&addr, &key, &m))
        return fl_cli_error(cmd, FL_EXIT_UNAVAILABLE, "%s", m.text);
    print_stats(&st);
    return 0;
}
