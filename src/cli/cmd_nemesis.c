/* cmd_nemesis.c: `faultline nemesis`: a real cluster under real faults (nemesis.h), judged
 * like a simulated run (sim_eval.h: the same observables, checker, verdict, results.json
 * keys and exit statuses). Options, the fault list, signals; nemesis_out.c writes what it
 * found. */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "cli/nemesis_out.h"
#include "cli/nemesis_scenario.h"

#include "faultline/duration.h"
#include "faultline/error.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void nemesis_usage(FILE *f)
{
    fprintf(f,
            "usage: faultline nemesis --out DIR [options]\n"
            "       faultline nemesis --scenario FILE --out DIR [--net ...] [--proxy-clients]\n\n"
            "Starts a real local cluster, drives it with recorded clients, injects faults on a\n"
            "schedule, heals, probes liveness, and judges the run like `faultline sim`: the\n"
            "same observables, linearizability checker, results.json keys and exit status.\n"
            "DIR gets the nodes' data and logs, results.json, history.jsonl and history.edn.\n"
            "Durations take units: 500ms, 10s, 2m (a number alone is seconds).\n\n"
            "cluster:\n"
            "  --nodes N                3 (1..9)\n"
            "  --target T               faultline (default) | etcd | cmd\n"
            "  --node-cmd TEMPLATE      for --target cmd: {id} {host} {port} {peer_port} {peers}\n"
            "                           {data} are filled in per node\n"
            "  --client P               resp | etcd (default: the target's)\n"
            "  --node-args ARGS         extra arguments for every node (space separated)\n"
            "  --etcd PATH              the etcd binary (/usr/bin/etcd)\n"
            "  --net proxy|netns        proxy (default, no privilege): a fault proxy on every\n"
            "                           peer link; netns (root): a namespace per node, nftables\n"
            "  --shim PATH|none         the disk shim (default: libflshim.so beside this binary,\n"
            "                           for faultline nodes; none for etcd)\n"
            "  --proxy-clients          clients through the proxy too: link faults (delay,\n"
            "                           throttle, stall, drop) shape their links as well\n"
            "faults (one every --interval, lasting --fault-length, calm first):\n"
            "  --faults K[:WHO],...     kinds in turn: kill pause restart isolate-one\n"
            "                           isolate-leader halves ring bridge one-way delay throttle\n"
            "                           drop stall clock disk-fsync disk-torn fork-hang; WHO:\n"
            "                           random leader minority majority all (all: rolling);\n"
            "                           default kill,pause,isolate-leader\n"
            "  --interval D             10s      --fault-length D   5s\n"
            "  --delay D  --jitter D    50ms, 20ms (delay)   --bandwidth B  65536 bytes/s\n"
            "  --clock-offset D         5s (clock)           --clock-rate R  e.g. 1.5 (clock)\n"
            "clients (the simulator's workloads):\n"
            "  --duration D             60s      --seed S  1\n"
            "  --workload register|kv   register  --clients N  10  --rate R  open loop ops/s\n"
            "  --keys K  --read-share F  --cas-share F (of the writes)\n"
            "  --op-timeout D           1s (timed-out writes are info)  --liveness D  10s\n"
            "  --startup-timeout D      30s: every node answers and a leader is elected, or exit\n"
            "                           69 naming the node that did not\n"
            "scenario files (docs/scenarios.md):\n"
            "  --scenario FILE          the run a scenario file describes (cluster, workload,\n"
            "                           faults at their start for their length, checks): the\n"
            "                           same file runs in `faultline sim --scenario FILE`. Beside\n"
            "                           it only --out --net --shim --proxy-clients\n"
            "                           --startup-timeout --no-check --verbose --quiet; a fault\n"
            "                           or setting with no real counterpart is named at its\n"
            "                           line and refused with exit 2. DIR/scenario.yaml: the\n"
            "                           run as it ran, every fault's targets filled in\n"
            "checking and output:\n"
            "  --no-check  --check-timeout D (60s)  --verbose  --quiet\n"
            "  --compaction-stall D     10s: a faultline node with over 4 x --snapshot-every\n"
            "                           entries past its snapshot (and due by its bytes) that\n"
            "                           takes none for this long is a violation; 0: not judged\n");
    fl_cli_exit_help(f, "nothing violated", "a violation",
                     "--scenario: a fault or setting with no real counterpart");
    fprintf(f, "  (69 also: a node did not start, --net netns without root or ip/nft; 128 + N:\n"
               "  stopped by signal N, every node stopped and removed)\n");
}

#define CMD "nemesis"

typedef struct nem_opts {
    fl_nem_config c;
    fl_nem_fault kinds[FL_NEM_KIND_COUNT * 4];
    size_t n_kinds;
    fl_nem_fault proto; /* parameters given on the command line */
    fl_time_ns interval_ns, length_ns;
    const char *faults;
    const char *scenario; /* --scenario F: the run is the file's */
    bool client_set, shim_set, check, quiet, help;
    fl_time_ns check_timeout_ns;
} nem_opts;

static int parse_faults(nem_opts *o, const char *list)
{
    o->n_kinds = 0;
    for (const char *p = list; *p && o->n_kinds < sizeof(o->kinds) / sizeof(o->kinds[0]);) {
        size_t len = strcspn(p, ",");
        size_t klen = strcspn(p, ",:");
        fl_nem_kind k;
        if (!fl_nem_kind_parse(p, klen, &k))
            return fl_cli_bad(CMD, "--faults", list, "unknown fault '%.*s' (see --help)", (int)klen,
                              p);
        fl_nem_fault *f = &o->kinds[o->n_kinds++];
        *f = o->proto;
        f->kind = k;
        if (klen < len) {
            char who[16];
            snprintf(who, sizeof(who), "%.*s", (int)(len - klen - 1), p + klen + 1);
            if (!fl_nem_who_parse(who, &f->who))
                return fl_cli_bad(CMD, "--faults", list,
                                  "unknown target '%s' (random, leader, minority, majority, all)",
                                  who);
        }
        p += len + (p[len] == ',');
    }
    return o->n_kinds ? 0 : fl_cli_bad(CMD, "--faults", list, "expected K[:WHO],...");
}

static int copy_str(const char *k, char *dst, size_t size, const char *v)
{
    return fl_cli_text(CMD, k, v, dst, size);
}

static int parse_enum(const char *k, const char *v, const char *const *names, int n, int *out)
{
    return fl_cli_enum(CMD, k, v, names, (size_t)n, out);
}

/* --etcd PATH: a program to run (a missing tool: 69); --shim PATH: a library to preload. */
static int tool_path(const char *k, const char *v, int mode)
{
    if (access(v, mode) == 0)
        return 0;
    return fl_cli_error(CMD, mode == X_OK ? FL_EXIT_UNAVAILABLE : FL_EXIT_NOINPUT,
                        "%s %s: cannot %s: %s", k, v, mode == X_OK ? "run" : "read",
                        strerror(errno));
}

static int dur(const char *k, const char *v, fl_time_ns *out)
{
    return fl_cli_duration(CMD, k, v, FL_NS_PER_S, 0, FL_CLI_DURATION_MAX, out);
}

/* Options that take a duration. */
static int duration_opt(nem_opts *o, const char *k, const char *v, bool *done)
{
    struct {
        const char *name;
        fl_time_ns *to;
    } d[] = {
        {"--duration", &o->c.duration_ns},       {"--interval", &o->interval_ns},
        {"--fault-length", &o->length_ns},       {"--delay", &o->proto.delay_ns},
        {"--jitter", &o->proto.jitter_ns},       {"--op-timeout", &o->c.op_timeout_ns},
        {"--liveness", &o->c.liveness_ns},       {"--check-timeout", &o->check_timeout_ns},
        {"--startup-timeout", &o->c.startup_ns}, {"--compaction-stall", &o->c.compaction_stall_ns}};
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if (!strcmp(k, d[i].name)) {
            *done = true;
            return dur(k, v, d[i].to);
        }
    if (!strcmp(k, "--clock-offset")) { /* a jump either way: -5s goes back */
        fl_time_ns t;
        *done = true;
        if (!v)
            return fl_cli_no_value(CMD, k);
        bool neg = v[0] == '-';
        if (fl_parse_duration(v + neg, &t) || t > (fl_time_ns)INT64_MAX)
            return fl_cli_bad(CMD, k, v, "expected a duration, - for a jump back: 5s, -500ms");
        o->proto.clock_offset_ns = neg ? -(int64_t)t : (int64_t)t;
        return 0;
    }
    return 0;
}

static int number_opt(nem_opts *o, const char *k, const char *v, bool *done)
{
    uint64_t u;
    *done = true;
    if (!strcmp(k, "--nodes"))
        return fl_cli_u64(CMD, k, v, 1, FL_NEM_NODES_MAX, &u) ? FL_EXIT_USAGE
                                                              : (o->c.nodes = (uint32_t)u, 0);
    if (!strcmp(k, "--clients"))
        return fl_cli_u64(CMD, k, v, 1, FL_NEM_CLIENTS_MAX, &u) ? FL_EXIT_USAGE
                                                                : (o->c.clients = (uint32_t)u, 0);
    if (!strcmp(k, "--seed"))
        return fl_cli_u64(CMD, k, v, 0, UINT64_MAX, &o->c.seed);
    if (!strcmp(k, "--keys"))
        return fl_cli_u64(CMD, k, v, 1, 1000000, &o->c.keys);
    if (!strcmp(k, "--bandwidth"))
        return fl_cli_u64(CMD, k, v, 1, UINT64_MAX / 2, &o->proto.rate_bps);
    if (!strcmp(k, "--rate"))
        return fl_cli_double(CMD, k, v, 0.001, 1e7, &o->c.rate);
    if (!strcmp(k, "--read-share"))
        return fl_cli_double(CMD, k, v, 0, 1, &o->c.read_share);
    if (!strcmp(k, "--cas-share"))
        return fl_cli_double(CMD, k, v, 0, 1, &o->c.cas_share);
    if (!strcmp(k, "--clock-rate"))
        return fl_cli_double(CMD, k, v, 0.01, 100, &o->proto.clock_rate);
    *done = false;
    return 0;
}

static int word_opt(nem_opts *o, const char *k, const char *v)
{
    static const char *const targets[] = {"faultline", "etcd", "cmd"};
    static const char *const clients[] = {"resp", "etcd"};
    static const char *const nets[] = {"proxy", "netns"};
    static const char *const workloads[] = {"register", "kv"};
    int e;
    if (!strcmp(k, "--target"))
        return parse_enum(k, v, targets, 3, &e) ? FL_EXIT_USAGE
                                                : (o->c.target = (fl_nem_target)e, 0);
    if (!strcmp(k, "--client")) {
        o->client_set = true;
        return parse_enum(k, v, clients, 2, &e) ? FL_EXIT_USAGE
                                                : (o->c.client = (fl_nem_client)e, 0);
    }
    if (!strcmp(k, "--net"))
        return parse_enum(k, v, nets, 2, &e) ? FL_EXIT_USAGE : (o->c.net = (fl_nem_net)e, 0);
    if (!strcmp(k, "--workload"))
        return parse_enum(k, v, workloads, 2, &e) ? FL_EXIT_USAGE
                                                  : (o->c.workload = (fl_run_workload)e, 0);
    if (!strcmp(k, "--out")) /* the nodes' data and the results: found unwritable now */
        return copy_str(k, o->c.out_dir, 400, v) ? FL_EXIT_USAGE
                                                 : fl_cli_out_dir(CMD, k, o->c.out_dir);
    if (!strcmp(k, "--node-cmd"))
        return copy_str(k, o->c.node_cmd, sizeof(o->c.node_cmd), v);
    if (!strcmp(k, "--node-args"))
        return copy_str(k, o->c.node_args, sizeof(o->c.node_args), v);
    if (!strcmp(k, "--etcd"))
        return copy_str(k, o->c.etcd, sizeof(o->c.etcd), v) ? FL_EXIT_USAGE : tool_path(k, v, X_OK);
    if (!strcmp(k, "--shim")) {
        o->shim_set = true;
        if (v && !strcmp(v, "none"))
            return o->c.shim[0] = 0, 0;
        return copy_str(k, o->c.shim, sizeof(o->c.shim), v) ? FL_EXIT_USAGE : tool_path(k, v, R_OK);
    }
    if (!strcmp(k, "--faults"))
        return (o->faults = v) ? 0 : fl_cli_no_value(CMD, k);
    return -1;
}

/* With --scenario the file says everything about the run but where and how it is hosted. */
static bool beside_scenario(const char *k)
{
    static const char *const ok[] = {"--scenario",      "--out",      "--net",
                                     "--shim",          "--verbose",  "--quiet",
                                     "--proxy-clients", "--no-check", "--startup-timeout",
                                     "--check-timeout"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(k, ok[i]))
            return true;
    return false;
}

static int parse_args(nem_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            o->help = true;
            return 0;
        }
        if (o->scenario && k[0] == '-' && !beside_scenario(k))
            return fl_cli_error(CMD, FL_EXIT_USAGE,
                                "%s: with --scenario the file says it (edit the file)", k);
        if (!strcmp(k, "--scenario")) {
            i++; /* read before the other options (scenario_path) */
            continue;
        }
        bool flag = true;
        if (!strcmp(k, "--verbose"))
            o->c.verbose = true;
        else if (!strcmp(k, "--quiet"))
            o->quiet = true;
        else if (!strcmp(k, "--no-check"))
            o->check = false;
        else if (!strcmp(k, "--proxy-clients"))
            o->c.proxy_clients = true;
        else
            flag = false;
        if (flag)
            continue;
        const char *v = i + 1 < argc ? argv[++i] : NULL; /* NULL: each says it is missing */
        bool done = false;
        int rc = duration_opt(o, k, v, &done);
        if (!rc && !done)
            rc = number_opt(o, k, v, &done);
        if (!rc && !done)
            rc = word_opt(o, k, v);
        if (rc)
            return rc < 0 ? fl_cli_unexpected(CMD, k) : rc;
    }
    return 0;
}

/* Fills in the binaries and libraries the run uses, from where they usually are. */
static void find_tools(nem_opts *o)
{
    fl_nem_config *c = &o->c;
    ssize_t n = readlink("/proc/self/exe", c->exe, sizeof(c->exe) - 1);
    c->exe[n > 0 ? n : 0] = 0;
    if (!c->etcd[0])
        snprintf(c->etcd, sizeof(c->etcd), "/usr/bin/etcd");
    if (!o->shim_set && c->target == FL_NEM_TARGET_FAULTLINE) {
        char dir[FL_NEM_PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", c->exe);
        snprintf(c->shim, sizeof(c->shim), "%.400s/libflshim.so", dirname(dir));
        if (access(c->shim, R_OK))
            c->shim[0] = 0;
    }
    static const char *const faketime[] = {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                                           "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                                           "/usr/lib/faketime/libfaketimeMT.so.1",
                                           "/usr/local/lib/faketime/libfaketimeMT.so.1"};
    for (size_t i = 0; i < sizeof(faketime) / sizeof(faketime[0]) && !c->faketime_lib[0]; i++)
        if (!access(faketime[i], R_OK))
            snprintf(c->faketime_lib, sizeof(c->faketime_lib), "%s", faketime[i]);
}

/* --scenario F, read first: the other options then add to the file's run. NULL: none. */
static const char *scenario_path(int argc, char **argv, int *rc)
{
    const char *path = NULL;
    *rc = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return NULL;
        else if (!strcmp(argv[i], "--scenario"))
            path = i + 1 < argc ? argv[i + 1] : (*rc = fl_cli_no_value(CMD, argv[i]), NULL);
    return path;
}

/* Returns 0 or the exit status (message printed). */
static int prepare(nem_opts *o, int argc, char **argv)
{
    fl_nem_config_default(&o->c);
    fl_nem_fault_default(&o->proto, FL_NEM_KILL);
    o->interval_ns = 10 * FL_NS_PER_S;
    o->length_ns = 5 * FL_NS_PER_S;
    o->check = true;
    o->check_timeout_ns = 60 * FL_NS_PER_S;
    int rc;
    o->scenario = scenario_path(argc, argv, &rc);
    if (!rc && o->scenario)
        rc = nem_scenario_apply(o->scenario, &o->c, &o->check, &o->check_timeout_ns);
    if (!rc)
        rc = parse_args(o, argc, argv);
    if (rc || o->help)
        return rc;
    if (!o->scenario && (rc = parse_faults(o, o->faults ? o->faults : "kill,pause,isolate-leader")))
        return rc;
    if (!o->c.out_dir[0])
        return fl_cli_error(CMD, FL_EXIT_USAGE, "--out DIR is required");
    if (!o->client_set)
        o->c.client = o->c.target == FL_NEM_TARGET_ETCD ? FL_NEM_CLIENT_ETCD : FL_NEM_CLIENT_RESP;
    if (o->length_ns > o->interval_ns)
        return fl_cli_error(CMD, FL_EXIT_USAGE, "--fault-length must not exceed --interval");
    find_tools(o);
    return 0;
}

int fl_cmd_nemesis(int argc, char **argv)
{
    static nem_opts o; /* large (paths, fault list); one per process */
    memset(&o, 0, sizeof(o));
    int status = prepare(&o, argc, argv);
    if (status)
        return status;
    if (o.help) {
        nemesis_usage(stdout);
        return 0;
    }
    static fl_nem_fault sched[FL_NEM_FAULTS_MAX];
    if (!o.scenario) {
        o.c.faults = sched;
        o.c.n_faults = fl_nem_schedule_build(o.kinds, o.n_kinds, o.c.duration_ns, o.interval_ns,
                                             o.length_ns, sched, FL_NEM_FAULTS_MAX);
    }
    o.c.stop = &stop_signal;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    static fl_nem_result r;
    int rc = fl_nemesis_run(&o.c, &r);
    if (rc == FL_ESTOPPED) {
        fprintf(stderr,
                "faultline nemesis: stopped by signal %d; every node stopped and "
                "removed\n",
                (int)stop_signal);
        status = 128 + (int)stop_signal;
    } else if (rc) { /* FL_EIO: the cluster did not start: nothing to talk to */
        fprintf(stderr, "faultline nemesis: %s\n", r.error[0] ? r.error : fl_strerror(rc));
        status = rc == FL_EIO ? FL_EXIT_UNAVAILABLE : fl_cli_exit_of(rc);
    } else {
        nem_out_opts no = {.check = o.check,
                           .check_timeout_ns = o.check_timeout_ns,
                           .quiet = o.quiet,
                           .interval_ns = o.interval_ns,
                           .length_ns = o.length_ns};
        status = nem_out_judge(&o.c, &r, &no);
        int w = o.scenario ? nem_scenario_write(&o.c, &r)
                           : nem_scenario_write_flags(&o.c, &r, o.check, o.check_timeout_ns);
        if (w)
            status = FL_EXIT_IOERR;
    }
    fl_nem_result_free(&r);
    return status;
}
