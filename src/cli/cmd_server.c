/* cmd_server.c: `faultline server`: runs one real node of a cluster (server.h). */
#include "cli/cli.h"

#include "faultline/cons.h"
#include "faultline/error.h"
#include "faultline/log.h"
#include "faultline/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void server_usage(FILE *f)
{
    fprintf(f,
            "usage: faultline server --id N --cluster ID=HOST:PORT,... --listen HOST:PORT\n"
            "                        --data DIR [--requirepass P] [--election-ms MS]\n"
            "                        [--heartbeat-ms MS] [--snapshot-every N]\n"
            "                        [--log-level debug|info|warn|error]\n"
            "                        [--read-mode index|lease|log] [--max-drift-ppm PPM]\n"
            "                        [--voters ID,...] [--maxclients N] [--timeout SECONDS]\n"
            "                        [--peer-listen HOST:PORT] [--check-quorum on|off]\n"
            "                        [--mutant NAME]\n"
            "                        [--tls-cert F --tls-key F --tls-ca F [--tls-client-auth]]\n"
            "                        [--metrics HOST:PORT] [--protocol raft|paxos]\n\n"
            "Runs one node: Raft with its peers on the --cluster addresses (this node's own\n"
            "entry is where it listens for peers), the log in DIR/wal, and a RESP (Redis\n"
            "protocol) server for clients on --listen. With --protocol paxos the node runs\n"
            "Multi-Paxos instead, over the fixed member set of --cluster (every node of a\n"
            "cluster runs the same protocol; a data directory keeps the one that wrote it).\n"
            "Every N applied entries (10000; 0 = never) it snapshots its state to\n"
            "DIR/wal/snapshot and drops the WAL behind it.\n"
            "Stops on SIGINT or SIGTERM.\n\n"
            "GET is linearizable in every read mode:\n"
            "  index  (default) ReadIndex: the leader confirms it still leads with a\n"
            "         heartbeat round; a follower asks the leader for that index and\n"
            "         answers from its own state once it has applied it\n"
            "  lease  the leader answers at once while a quorum acknowledged it less than\n"
            "         a lease ago; safe only while clock drift stays under --max-drift-ppm\n"
            "  log    the read goes through the Raft log like a write\n"
            "With --protocol paxos reads are the leader's (a quorum round, or the lease); a\n"
            "GET sent to a follower goes through the log.\n\n"
            "--maxclients: RESP connections at most (10000; lowered to what the open-file\n"
            "limit allows); one more gets \"-ERR max number of clients reached\". --timeout:\n"
            "close a client idle that many seconds (0, the default: never), as Redis does.\n\n"
            "--voters names the bootstrap voters (default: every member; give every node\n"
            "the same list): the other members start empty, outside, until FL.ADD id makes\n"
            "them learners and FL.PROMOTE id voters; FL.REMOVE id takes one out.\n\n"
            "--peer-listen: listen for peers there rather than at this node's own --cluster\n"
            "entry, which then names a proxy that forwards to it (faultline nemesis).\n"
            "--check-quorum off: a leader cut off from a quorum keeps leading (on: it steps\n"
            "down after an election timeout, the default).\n"
            "--mutant NAME (a test hook, never for use): run with a planted Raft bug of\n"
            "docs/mutants.md, e.g. read-no-confirm, to prove a harness catches it.\n\n"
            "TLS (all three files, PEM; `faultline certs DIR --nodes N` makes them): the client\n"
            "port speaks TLS (redis-cli --tls --cacert CA); --tls-client-auth also requires\n"
            "a client certificate of the CA. The peer port is mutual TLS: a peer is accepted\n"
            "only with a certificate of the CA whose subject CN is \"faultline-node-<id>\" for\n"
            "the id it claims. --metrics serves /metrics (Prometheus text format) over HTTP.\n");
}

static int parse_ms(const char *s, fl_time_ns *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || v == 0 || v > 600000)
        return -1;
    *out = (fl_time_ns)v * FL_NS_PER_MS;
    return 0;
}

static int read_mode_parse(const char *v, fl_server_read_mode *mode)
{
    if (!strcmp(v, "index"))
        *mode = FL_SERVER_READ_INDEX;
    else if (!strcmp(v, "lease"))
        *mode = FL_SERVER_READ_LEASE;
    else if (!strcmp(v, "log"))
        *mode = FL_SERVER_READ_LOG;
    else
        return -1;
    return 0;
}

/* --tls-cert, --tls-key, --tls-ca (paths) and --metrics HOST:PORT; -1 for anything else. */
static int tls_option(fl_server_config *c, const char *opt, const char *val, fl_errmsg *m)
{
    char *dst = !strcmp(opt, "--tls-cert")  ? c->tls.cert
                : !strcmp(opt, "--tls-key") ? c->tls.key
                : !strcmp(opt, "--tls-ca")  ? c->tls.ca
                                            : NULL;
    if (dst) {
        c->tls_on = true;
        snprintf(dst, FL_TLS_PATH_MAX, "%s", val);
        return strlen(val) < FL_TLS_PATH_MAX && val[0] ? 0 : -1;
    }
    if (!strcmp(opt, "--metrics")) {
        c->metrics_on = true;
        return fl_addr_parse(val, &c->metrics, m) ? -1 : 0;
    }
    return -1;
}

/* Parses one option (with its value in val); returns 0, or -1 for a bad option. */
static int server_option(fl_server_config *c, const char *opt, const char *val, int *level,
                         const char **cluster, const char **voters, fl_errmsg *m)
{
    if (!strcmp(opt, "--voters")) {
        *voters = val;
        return 0;
    }
    if (!strcmp(opt, "--id")) {
        c->id = (fl_node_id)strtoul(val, NULL, 10);
        return c->id ? 0 : -1;
    }
    if (!strcmp(opt, "--cluster")) {
        *cluster = val;
        return 0;
    }
    if (!strcmp(opt, "--listen"))
        return fl_addr_parse(val, &c->listen, m) ? -1 : 0;
    if (!strcmp(opt, "--data")) {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/wal", val);
        return strlen(val) + 4 < sizeof(c->data_dir) ? 0 : -1;
    }
    if (!strcmp(opt, "--requirepass")) {
        snprintf(c->requirepass, sizeof(c->requirepass), "%s", val);
        return strlen(val) < sizeof(c->requirepass) && val[0] ? 0 : -1;
    }
    if (!strcmp(opt, "--election-ms"))
        return parse_ms(val, &c->election_timeout_ns);
    if (!strcmp(opt, "--heartbeat-ms"))
        return parse_ms(val, &c->heartbeat_ns);
    if (!strcmp(opt, "--read-mode"))
        return read_mode_parse(val, &c->read_mode);
    if (!strcmp(opt, "--protocol"))
        return fl_cons_protocol_parse(val, &c->protocol) ? 0 : -1;
    if (!strcmp(opt, "--max-drift-ppm")) {
        char *end;
        unsigned long v = strtoul(val, &end, 10);
        c->max_drift_ppm = (uint32_t)v;
        return *end || end == val || v >= 1000000 ? -1 : 0;
    }
    if (!strcmp(opt, "--snapshot-every")) {
        char *end;
        unsigned long v = strtoul(val, &end, 10);
        c->snapshot_every = (uint32_t)v;
        return end == val || *end || v > 1000000000ul ? -1 : 0;
    }
    if (!strcmp(opt, "--maxclients") || !strcmp(opt, "--timeout")) {
        char *end;
        unsigned long v = strtoul(val, &end, 10);
        bool maxc = opt[2] == 'm';
        if (end == val || *end || val[0] == '-' || v > (maxc ? 1000000ul : 100000000ul) ||
            (maxc && v == 0))
            return -1;
        if (maxc)
            c->clients_max = (uint32_t)v;
        else
            c->timeout_s = (uint32_t)v;
        return 0;
    }
    if (!strcmp(opt, "--fault-reorder-reads")) /* test hook: a planted ordering bug */
        return (c->fault_reorder_reads = !strcmp(val, "1")) ? 0 : -1;
    if (!strcmp(opt, "--peer-listen")) {
        c->peer_listen_set = true;
        return fl_addr_parse(val, &c->peer_listen, m) ? -1 : 0;
    }
    if (!strcmp(opt, "--check-quorum")) { /* a Raft option: "off" keeps cut-off leaders */
        c->no_check_quorum = !strcmp(val, "off");
        return !strcmp(val, "off") || !strcmp(val, "on") ? 0 : -1;
    }
    if (!strcmp(opt, "--mutant")) /* test hook: a planted Raft bug (docs/mutants.md) */
    {
        uint32_t bit = fl_raft_mutant_parse(val);
        c->mutants |= bit;
        return bit ? 0 : -1;
    }
    if (!strcmp(opt, "--fault-fsync-fail-after")) /* test hook, see docs/server.md */
        return (c->fault_fsync_fail_after = (uint32_t)strtoul(val, NULL, 10)) ? 0 : -1;
    if (!strcmp(opt, "--log-level"))
        return (*level = fl_log_level_parse(val)) < 0 ? -1 : 0;
    return tls_option(c, opt, val, m);
}

/* mkdir -p of the directory that holds path's last component. */
static int make_parents(const char *path)
{
    char buf[sizeof(((fl_server_config *)0)->data_dir)];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* TLS needs all three files and a build with OpenSSL; says why not on stderr. */
static bool tls_usable(const fl_server_config *c)
{
    if (!fl_tls_available()) {
        fprintf(stderr, "faultline server: TLS is not in this build: it needs OpenSSL "
                        "(apt-get install libssl-dev pkg-config, then rebuild faultline)\n");
        return false;
    }
    if (!c->tls.cert[0] || !c->tls.key[0] || !c->tls.ca[0]) {
        fprintf(stderr, "faultline server: TLS needs --tls-cert, --tls-key and --tls-ca\n");
        return false;
    }
    return true;
}

int fl_cmd_server(int argc, char **argv)
{
    fl_server_config c;
    fl_server_config_default(&c);
    fl_errmsg m = {{0}};
    const char *cluster = NULL, *voters = NULL;
    int level = FL_LOG_INFO;
    bool have_listen = false;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            server_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--tls-client-auth")) { /* a flag: no value */
            c.tls_client_auth = true;
            i--;
            continue;
        }
        if (i + 1 >= argc ||
            server_option(&c, argv[i], argv[i + 1], &level, &cluster, &voters, &m)) {
            fprintf(stderr, "faultline server: bad option %s %s %s\n", argv[i],
                    i + 1 < argc ? argv[i + 1] : "(missing value)", m.text);
            server_usage(stderr);
            return FL_EXIT_USAGE;
        }
        have_listen |= !strcmp(argv[i], "--listen");
    }
    if (c.tls_client_auth && !c.tls_on) {
        fprintf(stderr,
                "faultline server: --tls-client-auth needs --tls-cert, --tls-key, --tls-ca\n");
        return FL_EXIT_USAGE;
    }
    if (!c.id || !cluster || !have_listen || !c.data_dir[0]) {
        fprintf(stderr, "faultline server: --id, --cluster, --listen and --data are required\n");
        server_usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (fl_server_parse_cluster(&c, cluster, &m) ||
        (voters && fl_server_parse_voters(&c, voters, &m))) {
        fprintf(stderr, "faultline server: %s\n", m.text);
        return FL_EXIT_USAGE;
    }
    if (c.tls_on && !tls_usable(&c))
        return FL_EXIT_USAGE;
    if (make_parents(c.data_dir)) {
        fprintf(stderr, "faultline server: cannot create %s: %s\n", c.data_dir, strerror(errno));
        return 1;
    }
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "n%u", c.id);
    fl_log_setup((fl_log_level)level, prefix);
    if (c.mutants)
        FL_WARN("running with planted bugs (--mutant): this node is wrong on purpose");
    int rc = fl_server_run(&c, &m);
    if (rc) {
        FL_ERROR("%s", m.text);
        return 1;
    }
    FL_INFO("stopped");
    return 0;
}
