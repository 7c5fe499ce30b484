/* cmd_server.c: `faultline server`: runs one real node of a cluster (server.h). */
#include "cli/cli.h"
#include "cli/cli_opt.h"

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
            "                        [--snapshot-log-share N] [--snapshot-timeout D]\n"
            "                        [--log-level debug|info|warn|error]\n"
            "                        [--read-mode index|lease|log] [--max-drift-ppm PPM]\n"
            "                        [--voters ID,...] [--maxclients N] [--timeout D]\n"
            "                        [--peer-listen HOST:PORT] [--check-quorum on|off]\n"
            "                        [--sync-inline on|off] [--mutant NAME]\n"
            "                        [--tls-cert FILE --tls-key FILE --tls-ca FILE\n"
            "                         [--tls-client-auth]] [--metrics HOST:PORT]\n"
            "                        [--protocol raft|paxos]\n\n"
            "Runs one node: Raft with its peers on the --cluster addresses (this node's own\n"
            "entry is where it listens for peers), the log in DIR/wal, and a RESP (Redis\n"
            "protocol) server for clients on --listen. With --protocol paxos the node runs\n"
            "Multi-Paxos instead, over the fixed member set of --cluster (every node of a\n"
            "cluster runs the same protocol; a data directory keeps the one that wrote it).\n"
            "Every N applied entries (10000; 0 = never) it snapshots its state to\n"
            "DIR/wal/snapshot and drops the WAL behind it; with --snapshot-log-share S (2;\n"
            "0 = off), not before those entries' bytes reach 1/S of the last snapshot's size\n"
            "(a large state is not rewritten for a small log). A snapshot is serialized by\n"
            "a forked child; one that sends nothing for --snapshot-timeout (60s; a bare\n"
            "number counts seconds; 0 = never) is killed and tried again after more\n"
            "entries. Stops on SIGINT or SIGTERM.\n"
            "--election-ms (default 300) and --heartbeat-ms (default 50) take a number of\n"
            "milliseconds or a duration with its unit (1s); --timeout whole seconds (30, 2m).\n\n"
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
            "close a client idle that long (0, the default: never), as Redis does.\n\n"
            "--voters names the bootstrap voters (default: every member; give every node\n"
            "the same list): the other members start empty, outside, until FL.ADD id makes\n"
            "them learners and FL.PROMOTE id voters; FL.REMOVE id takes one out.\n\n"
            "--peer-listen: listen for peers there rather than at this node's own --cluster\n"
            "entry, which then names a proxy that forwards to it (faultline nemesis).\n"
            "--check-quorum off: a leader cut off from a quorum keeps leading (on: it steps\n"
            "down after an election timeout, the default).\n"
            "--sync-inline off: every WAL fdatasync on the sync worker thread (on, the\n"
            "default: a short one runs on the loop's own thread when nothing else waits).\n"
            "--mutant NAME (a test hook, never for use): run with a planted Raft bug of\n"
            "docs/mutants.md, e.g. read-no-confirm, to prove a harness catches it.\n\n"
            "TLS (all three files, PEM; `faultline certs DIR --nodes N` makes them): the client\n"
            "port speaks TLS (redis-cli --tls --cacert CA); --tls-client-auth also requires\n"
            "a client certificate of the CA. The peer port is mutual TLS: a peer is accepted\n"
            "only with a certificate of the CA whose subject CN is \"faultline-node-<id>\" for\n"
            "the id it claims. --metrics serves /metrics (Prometheus text format) over HTTP.\n");
    fl_cli_exit_help(f, "stopped by SIGINT or SIGTERM", NULL, NULL);
    fprintf(f, "  (65: a WAL or snapshot that does not recover, or a TLS file that does not load;\n"
               "  74: a failed fsync or write stopped the node, or an address in use)\n");
}

#define CMD "server"

/* --election-ms, --heartbeat-ms: a duration, a number alone in milliseconds. */
static int parse_ms(const char *opt, const char *v, fl_time_ns *out)
{
    return fl_cli_duration(CMD, opt, v, FL_NS_PER_MS, FL_NS_PER_MS, 600 * FL_NS_PER_S, out);
}

/* --voters ID,...: whole numbers now; that each is a member is checked with --cluster. */
static int voters_syntax(const char *v)
{
    if (!v)
        return fl_cli_no_value(CMD, "--voters");
    size_t n = strspn(v, "0123456789,");
    return v[0] && !v[n] ? 0 : fl_cli_bad(CMD, "--voters", v, "expected ID,... (member ids)");
}

/* --tls-cert, --tls-key, --tls-ca (files read now) and --metrics HOST:PORT; -1 for anything
 * else. */
static int tls_option(fl_server_config *c, const char *opt, const char *val)
{
    char *dst = !strcmp(opt, "--tls-cert")  ? c->tls.cert
                : !strcmp(opt, "--tls-key") ? c->tls.key
                : !strcmp(opt, "--tls-ca")  ? c->tls.ca
                                            : NULL;
    if (dst) {
        c->tls_on = true;
        if (!fl_tls_available())
            return fl_cli_error(CMD, FL_EXIT_UNAVAILABLE,
                                "%s: TLS is not in this build: it needs OpenSSL (apt-get install "
                                "libssl-dev pkg-config, then rebuild faultline)",
                                opt);
        int rc = fl_cli_text(CMD, opt, val, dst, FL_TLS_PATH_MAX);
        return rc ? rc : fl_cli_in_file(CMD, opt, dst);
    }
    if (!strcmp(opt, "--metrics")) {
        c->metrics_on = true;
        return fl_cli_addr(CMD, opt, val, &c->metrics);
    }
    return -1;
}

/* Options with a word. Returns 1 if opt is none of them, else 0 or the exit status. */
static int word_option(fl_server_config *c, const char *opt, const char *val, int *level)
{
    static const char *const modes[] = {"index", "lease", "log"}, *const onoff[] = {"on", "off"};
    static const char *const protocols[] = {"raft", "paxos"};
    static const fl_server_read_mode mode_of[] = {FL_SERVER_READ_INDEX, FL_SERVER_READ_LEASE,
                                                  FL_SERVER_READ_LOG};
    int e, rc = 1;
    if (!strcmp(opt, "--read-mode") && !(rc = fl_cli_enum(CMD, opt, val, modes, 3, &e)))
        c->read_mode = mode_of[e];
    if (!strcmp(opt, "--check-quorum") && !(rc = fl_cli_enum(CMD, opt, val, onoff, 2, &e)))
        c->no_check_quorum = e == 1; /* a Raft option: "off" keeps cut-off leaders */
    if (!strcmp(opt, "--sync-inline") && !(rc = fl_cli_enum(CMD, opt, val, onoff, 2, &e)))
        c->no_sync_inline = e == 1;
    if (!strcmp(opt, "--protocol") && !(rc = fl_cli_enum(CMD, opt, val, protocols, 2, &e)))
        c->protocol = e ? FL_CONS_PAXOS : FL_CONS_RAFT;
    if (rc != 1)
        return rc;
    if (!val && (!strcmp(opt, "--mutant") || !strcmp(opt, "--log-level")))
        return fl_cli_no_value(CMD, opt);
    if (!strcmp(opt, "--mutant")) { /* test hook: a planted Raft bug (docs/mutants.md) */
        uint32_t bit = fl_raft_mutant_parse(val);
        c->mutants |= bit;
        return bit ? 0 : fl_cli_bad(CMD, opt, val, "not a mutant of docs/mutants.md");
    }
    if (!strcmp(opt, "--log-level")) {
        *level = fl_log_level_parse(val);
        return *level >= 0 ? 0 : fl_cli_bad(CMD, opt, val, "expected debug, info, warn or error");
    }
    return 1;
}

/* Options with a number. Returns 1 if opt is none of them, else 0 or the exit status. */
static int number_option(fl_server_config *c, const char *opt, const char *val)
{
    fl_time_ns ns;
    if (!strcmp(opt, "--max-drift-ppm"))
        return fl_cli_u32(CMD, opt, val, 0, 999999, &c->max_drift_ppm);
    if (!strcmp(opt, "--snapshot-every"))
        return fl_cli_u32(CMD, opt, val, 0, 1000000000, &c->snapshot_every);
    if (!strcmp(opt, "--snapshot-log-share"))
        return fl_cli_u32(CMD, opt, val, 0, 1000, &c->snapshot_log_share);
    if (!strcmp(opt, "--snapshot-timeout")) /* a bare number: seconds */
        return fl_cli_duration(CMD, opt, val, FL_NS_PER_S, 0, 24 * 3600 * FL_NS_PER_S,
                               &c->snapshot_timeout_ns);
    if (!strcmp(opt, "--maxclients"))
        return fl_cli_u32(CMD, opt, val, 1, 1000000, &c->clients_max);
    if (!strcmp(opt, "--timeout")) { /* Redis's timeout: whole seconds */
        int rc = fl_cli_duration(CMD, opt, val, FL_NS_PER_S, 0, 100000000 * FL_NS_PER_S, &ns);
        if (rc)
            return rc;
        if (ns % FL_NS_PER_S)
            return fl_cli_bad(CMD, opt, val, "whole seconds (as Redis's timeout)");
        c->timeout_s = (uint32_t)(ns / FL_NS_PER_S);
        return 0;
    }
    if (!strcmp(opt, "--fault-reorder-reads")) { /* test hook: a planted ordering bug */
        c->fault_reorder_reads = val && !strcmp(val, "1");
        return c->fault_reorder_reads ? 0 : fl_cli_bad(CMD, opt, val ? val : "", "expected 1");
    }
    if (!strcmp(opt, "--fault-fsync-fail-after")) /* test hook, see docs/server.md */
        return fl_cli_u32(CMD, opt, val, 1, UINT32_MAX, &c->fault_fsync_fail_after);
    return 1;
}

/* Parses one option (with its value in val, NULL if missing); returns 0, an exit status
 * (message printed), or -1 for an option server does not have. */
static int server_option(fl_server_config *c, const char *opt, const char *val, int *level,
                         const char **voters)
{
    fl_errmsg m = {{0}};
    if (!strcmp(opt, "--voters"))
        return *voters = val, voters_syntax(val);
    if (!strcmp(opt, "--id"))
        return fl_cli_u32(CMD, opt, val, 1, UINT32_MAX, &c->id);
    if (!strcmp(opt, "--cluster") && !val)
        return fl_cli_no_value(CMD, opt);
    if (!strcmp(opt, "--cluster"))
        return fl_server_parse_cluster(c, val, &m) ? fl_cli_bad(CMD, opt, val, "%s", m.text) : 0;
    if (!strcmp(opt, "--listen"))
        return fl_cli_addr(CMD, opt, val, &c->listen);
    if (!strcmp(opt, "--data")) {
        if (!val)
            return fl_cli_no_value(CMD, opt);
        if (strlen(val) + 4 >= sizeof(c->data_dir))
            return fl_cli_bad(CMD, opt, val, "too long");
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/wal", val);
        return fl_cli_out_dir(CMD, opt, val);
    }
    if (!strcmp(opt, "--requirepass"))
        return fl_cli_text(CMD, opt, val, c->requirepass, sizeof(c->requirepass));
    if (!strcmp(opt, "--election-ms"))
        return parse_ms(opt, val, &c->election_timeout_ns);
    if (!strcmp(opt, "--heartbeat-ms"))
        return parse_ms(opt, val, &c->heartbeat_ns);
    if (!strcmp(opt, "--peer-listen"))
        return c->peer_listen_set = true, fl_cli_addr(CMD, opt, val, &c->peer_listen);
    int rc = word_option(c, opt, val, level);
    if (rc == 1)
        rc = number_option(c, opt, val);
    return rc != 1 ? rc : tls_option(c, opt, val);
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

/* TLS needs all three files, and they must load (checked before the node starts). */
static int tls_usable(const fl_server_config *c)
{
    if (!c->tls.cert[0] || !c->tls.key[0] || !c->tls.ca[0])
        return fl_cli_error(CMD, FL_EXIT_USAGE, "TLS needs --tls-cert, --tls-key and --tls-ca");
    fl_tls t;
    fl_errmsg m = {{0}};
    if (fl_tls_init(&t, &c->tls, &m))
        return fl_cli_error(CMD, FL_EXIT_DATAERR, "%s", m.text);
    fl_tls_close(&t);
    return 0;
}

/* The command line; 0 or the exit status (0 after --help, with *help). */
static int server_args(fl_server_config *c, int argc, char **argv, int *level, bool *help)
{
    const char *voters = NULL;
    bool have_listen = false, have_cluster = false;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            server_usage(stdout);
            *help = true;
            return 0;
        }
        if (!strcmp(opt, "--tls-client-auth")) { /* a flag: no value */
            c->tls_client_auth = true;
            continue;
        }
        int rc = server_option(c, opt, val, level, &voters);
        if (rc)
            return rc < 0 ? fl_cli_unexpected(CMD, opt) : rc;
        have_listen |= !strcmp(opt, "--listen");
        have_cluster |= !strcmp(opt, "--cluster");
        i++;
    }
    if (c->tls_client_auth && !c->tls_on)
        return fl_cli_error(CMD, FL_EXIT_USAGE,
                            "--tls-client-auth needs --tls-cert, --tls-key, --tls-ca");
    if (!c->id || !have_cluster || !have_listen || !c->data_dir[0])
        return fl_cli_error(CMD, FL_EXIT_USAGE,
                            "--id, --cluster, --listen and --data are required");
    fl_errmsg m = {{0}};
    if (voters && fl_server_parse_voters(c, voters, &m))
        return fl_cli_bad(CMD, "--voters", voters, "%s", m.text);
    return c->tls_on ? tls_usable(c) : 0;
}

int fl_cmd_server(int argc, char **argv)
{
    fl_server_config c;
    fl_server_config_default(&c);
    fl_errmsg m = {{0}};
    int level = FL_LOG_INFO;
    bool help = false;
    int status = server_args(&c, argc, argv, &level, &help);
    if (status || help)
        return status;
    if (make_parents(c.data_dir))
        return fl_cli_error(CMD, FL_EXIT_CANTCREAT, "cannot create %s: %s", c.data_dir,
                            strerror(errno));
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "n%u", c.id);
    fl_log_setup((fl_log_level)level, prefix);
    if (c.mutants)
        FL_WARN("running with planted bugs (--mutant): this node is wrong on purpose");
    int rc = fl_server_run(&c, &m);
    if (rc) {
        FL_ERROR("%s", m.text);
        return fl_cli_exit_of(rc); /* a failed fsync (FL_EIO): 74 */
    }
    FL_INFO("stopped");
    return 0;
}
