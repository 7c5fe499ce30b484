/* cmd_swim_sim.c: `faultline sim --protocol swim`: SWIM scenarios in the simulator, each
 * measured figure printed beside its theoretical value (swim_world.h runs them). */
#include "cli.h"
#include "faultline/atomic_file.h"
#include "faultline/error.h"
#include "faultline/hist.h"
#include "faultline/json.h"
#include "faultline/swim_world.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct swim_opts {
    fl_swim_world_config w;
    const char *scenario;
    uint32_t crashes;
    double duration_s;
    int paused; /* -1: default */
    double storm_ms;
    bool loss_set;
    bool help;
    const char *out_dir; /* --out: results.json there */
    fl_json *j;          /* the results object being written (NULL without --out) */
} swim_opts;

static void usage(FILE *f)
{
    fprintf(
        f, "usage: faultline sim --protocol swim [--scenario S] [--nodes N] [--seed S]\n"
           "                     [--loss P] [--no-lifeguard] [--interval-ms T] [--timeout-ms T]\n"
           "                     [--crashes C] [--duration SEC] [--paused P]\n"
           "                     [--retransmit-mult L]  (sends per update: L*ceil(log10(N+1)))\n"
           "                     [--awareness-max M] [--suspicion-max-mult B]  (Lifeguard knobs)\n"
           "                     [--gossip-ms T] [--fanout F]  (gossip timer; T = 0: off)\n"
           "                     [--join-seeds K] [--storm-ms T] [--first-hand-addresses]\n"
           "                     (join scenario; the last: addresses never travel with news)\n"
           "                     [--mutant probe-unaddressed|no-gossip-timer]  (planted bugs)\n"
           "                     [--out DIR]  (DIR/results.json: docs/results.md, SWIM keys)\n\n"
           "Scenarios (each figure is printed beside its theoretical value):\n"
           "  crash            C members crash one by one (default 20, 60 s apart): time to the\n"
           "                   first suspicion and until every live member marks it dead\n"
           "  broadcast        one user broadcast at 0/10/30%% loss (or --loss): time to 99.9%%\n"
           "                   and 100%% of members\n"
           "  false-positives  DEAD/SUSPECT about healthy members per member-hour, with and\n"
           "                   without Lifeguard, at 0-30%% loss, with P flaky (paused/slow) "
           "members (default\n"
           "                   1%%, at least 1) over --duration (default 300 s)\n"
           "  partition        two halves for 120 s, then heal: detection and convergence\n"
           "  churn            a crash and a restart every second: load per member per second\n"
           "                   at N/4, N/2 and N members over --duration (default 60 s)\n"
           "  join             a join storm: the seed(s) alone, then every other member starts\n"
           "                   within --storm-ms (default 100) knowing only the seeds: time until\n"
           "                   every member sees all, suspicions during the join (all false)\n");
}

bool fl_swim_sim_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--protocol=swim"))
            return true;
        if (!strcmp(argv[i], "--protocol") && i + 1 < argc && !strcmp(argv[i + 1], "swim"))
            return true;
    }
    return false;
}

static int bad(const char *opt, const char *v)
{
    fprintf(stderr, "faultline sim: bad value for %s: %s\n", opt, v ? v : "(missing)");
    return FL_EXIT_USAGE;
}

static bool num(const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!v)
        return false;
    double d = strtod(v, &end);
    if (*end || end == v || !(d >= lo && d <= hi))
        return false;
    *out = d;
    return true;
}

static int parse_one(swim_opts *o, const char *a, const char *v, int *used)
{
    double d;
    *used = 1;
    if (!strcmp(a, "--protocol"))
        return 0;
    if (!strcmp(a, "--scenario")) {
        o->scenario = v;
        return v ? 0 : bad(a, v);
    }
    if (!strcmp(a, "--out")) {
        o->out_dir = v;
        return v ? 0 : bad(a, v);
    }
    if (!strcmp(a, "--nodes"))
        return num(v, 3, FL_SIM_NODES_LIMIT, &d) ? (o->w.nodes = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--seed"))
        return num(v, 0, 1e18, &d) ? (o->w.seed = (uint64_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--loss"))
        return num(v, 0, 1, &d) ? (o->w.loss = d, o->loss_set = true, 0) : bad(a, v);
    if (!strcmp(a, "--crashes"))
        return num(v, 1, 256, &d) ? (o->crashes = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--duration"))
        return num(v, 1, 1e6, &d) ? (o->duration_s = d, 0) : bad(a, v);
    if (!strcmp(a, "--paused"))
        return num(v, 0, FL_SIM_NODES_LIMIT, &d) ? (o->paused = (int)d, 0) : bad(a, v);
    if (!strcmp(a, "--interval-ms"))
        return num(v, 1, 60000, &d) ? (o->w.swim.probe_interval_ns = (fl_time_ns)(d * 1e6), 0)
                                    : bad(a, v);
    if (!strcmp(a, "--awareness-max"))
        return num(v, 1, 64, &d) ? (o->w.swim.awareness_max = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--suspicion-max-mult"))
        return num(v, 1, 100, &d) ? (o->w.swim.suspicion_max_mult = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--retransmit-mult"))
        return num(v, 1, 8, &d) ? (o->w.swim.retransmit_mult = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--gossip-ms"))
        return num(v, 0, 60000, &d) ? (o->w.swim.gossip_interval_ns = (fl_time_ns)(d * 1e6), 0)
                                    : bad(a, v);
    if (!strcmp(a, "--fanout"))
        return num(v, 1, FL_SWIM_FANOUT_MAX, &d) ? (o->w.swim.gossip_fanout = (uint32_t)d, 0)
                                                 : bad(a, v);
    if (!strcmp(a, "--join-seeds"))
        return num(v, 1, FL_SWIM_SEEDS_MAX, &d) ? (o->w.join_seeds = (uint32_t)d, 0) : bad(a, v);
    if (!strcmp(a, "--mutant"))
        return v && fl_swim_mutant_parse(v, &o->w.swim.mutants) == 0 ? 0 : bad(a, v);
    if (!strcmp(a, "--storm-ms"))
        return num(v, 0, 600000, &d) ? (o->storm_ms = d, 0) : bad(a, v);
    if (!strcmp(a, "--timeout-ms"))
        return num(v, 1, 60000, &d) ? (o->w.swim.probe_timeout_ns = (fl_time_ns)(d * 1e6), 0)
                                    : bad(a, v);
    *used = 0;
    if (!strcmp(a, "--no-lifeguard"))
        return o->w.swim.lifeguard = false, 0;
    if (!strcmp(a, "--first-hand-addresses"))
        return o->w.addr_first_hand = true, 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return o->help = true, 0;
    fprintf(stderr, "faultline sim --protocol swim: unknown option %s (see --help)\n", a);
    return FL_EXIT_USAGE;
}

static int parse(swim_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    fl_swim_world_config_default(&o->w);
    o->scenario = "crash";
    o->crashes = 20;
    o->paused = -1;
    o->storm_ms = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--protocol=swim"))
            continue;
        int used = 0;
        int rc = parse_one(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used);
        if (rc)
            return rc;
        i += used;
    }
    return 0;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* p-quantile of the n values >= 0 in v; -1 when none. From the project's histogram (micro-
 * units, within 0.4%), as every percentile faultline prints. */
static double quantile(const double *v, uint32_t n, double p)
{
    static fl_hist h;
    fl_hist_init(&h);
    for (uint32_t i = 0; i < n; i++)
        if (v[i] >= 0)
            fl_hist_record(&h, (uint64_t)(v[i] * 1e6 + 0.5));
    return h.count ? (double)fl_hist_percentile(&h, p * 100) / 1e6 : -1;
}

static double mean_of(const double *v, uint32_t n)
{
    double s = 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] >= 0) {
            s += v[i];
            m++;
        }
    return m ? s / m : -1;
}

/* Seconds (< 0: never) as integer nanoseconds, or null. */
static void kv_ns(fl_json *j, const char *key, double s)
{
    if (s < 0)
        fl_json_key(j, key), fl_json_null(j);
    else
        fl_json_kv_int(j, key, (int64_t)llround(s * 1e9));
}

static void kv_q(fl_json *j, const char *key, double v) /* a quantile: -1 = none */
{
    if (v < 0)
        fl_json_key(j, key), fl_json_null(j);
    else
        fl_json_kv_double(j, key, v);
}

static void header(const swim_opts *o, const char *what)
{
    printf("swim %s: %u members, period %.0f ms, timeout %.0f ms, Lifeguard %s, seed %llu\n", what,
           o->w.nodes, (double)o->w.swim.probe_interval_ns / 1e6,
           (double)o->w.swim.probe_timeout_ns / 1e6, o->w.swim.lifeguard ? "on" : "off",
           (unsigned long long)o->w.seed);
}

static int fail(int rc, const char *why)
{
    fprintf(stderr, "faultline sim --protocol swim: %s (%s)\n", why, fl_strerror(rc));
    return FL_EXIT_VIOLATION;
}

/* The members' mean view over time (swim_world.h), for the report. */
static void json_views(fl_json *j, const fl_swim_figures *f)
{
    fl_json_key(j, "views");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < f->n_view; i++) {
        fl_json_obj_begin(j);
        kv_ns(j, "t_ns", f->view_t_s[i]);
        fl_json_kv_double(j, "alive", f->view_alive[i]);
        fl_json_kv_double(j, "suspect", f->view_suspect[i]);
        fl_json_kv_double(j, "dead", f->view_dead[i]);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
}

/* per: first suspicion in periods, all: all-dead in seconds, spread: all-dead minus
 * first-dead (quantile() sorts nothing) */
static void json_crash(fl_json *j, const fl_swim_figures *f, double *per, double *all,
                       double *spread)
{
    fl_json_key(j, "detection");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "crashes", f->crashes);
    fl_json_key(j, "first_suspicion_periods");
    fl_json_obj_begin(j);
    kv_q(j, "mean", mean_of(per, f->crashes));
    kv_q(j, "p50", quantile(per, f->crashes, 0.5));
    kv_q(j, "p99", quantile(per, f->crashes, 0.99));
    kv_q(j, "max", quantile(per, f->crashes, 1.0));
    fl_json_obj_end(j);
    fl_json_key(j, "all_dead_ns");
    fl_json_obj_begin(j);
    kv_ns(j, "p50", quantile(all, f->crashes, 0.5));
    kv_ns(j, "p99", quantile(all, f->crashes, 0.99));
    kv_ns(j, "max", quantile(all, f->crashes, 1.0));
    fl_json_obj_end(j);
    fl_json_key(j, "dead_spread_ns");
    fl_json_obj_begin(j);
    kv_ns(j, "p50", quantile(spread, f->crashes, 0.5));
    kv_ns(j, "max", quantile(spread, f->crashes, 1.0));
    fl_json_obj_end(j);
    fl_json_kv_uint(j, "undetected", f->undetected);
    fl_json_kv_uint(j, "false_deaths", f->false_deaths);
    fl_json_kv_uint(j, "false_suspicions", f->false_suspicions);
    fl_json_key(j, "per_crash");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < f->crashes; i++) {
        fl_json_obj_begin(j);
        kv_ns(j, "at_ns", f->crash_at_s[i]);
        kv_ns(j, "first_suspicion_ns", f->first_suspect_s[i]);
        kv_ns(j, "all_dead_ns", f->all_dead_s[i]);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    json_views(j, f);
    fl_json_obj_end(j);
}

/* First DEAD declaration, and how long the news takes from the first member to the last. */
static void print_spread(const swim_opts *o, const fl_swim_figures *f, double *spread)
{
    double first[256];
    for (uint32_t i = 0; i < f->crashes; i++) {
        first[i] = f->first_dead_s[i];
        spread[i] = f->all_dead_s[i] < 0 || first[i] < 0 ? -1 : f->all_dead_s[i] - first[i];
    }
    double tg = (double)o->w.swim.gossip_interval_ns / 1e9;
    uint32_t fo = o->w.swim.gossip_fanout;
    printf("  first member marks dead, s:      p50 %.2f  max %.2f\n",
           quantile(first, f->crashes, 0.5), quantile(first, f->crashes, 1.0));
    if (tg > 0)
        printf(
            "  first dead -> all dead, s:       p50 %.2f  max %.2f   theory: DEAD gossiped every "
            "%.0f ms to %u: ~ln N / ln %u = %.1f rounds = %.2f s\n",
            quantile(spread, f->crashes, 0.5), quantile(spread, f->crashes, 1.0), tg * 1e3, fo,
            fo + 1, log(o->w.nodes) / log(fo + 1.0), ceil(log(o->w.nodes) / log(fo + 1.0)) * tg);
    else
        printf("  first dead -> all dead, s:       p50 %.2f  max %.2f   theory: no gossip timer: "
               "DEAD rides on probes, O(log N) periods\n",
               quantile(spread, f->crashes, 0.5), quantile(spread, f->crashes, 1.0));
}

static int run_crash(const swim_opts *o)
{
    char why[160] = "";
    fl_swim_figures *f = calloc(1, sizeof(*f));
    fl_time_ns spacing = 60 * FL_NS_PER_S;
    header(o, "crash");
    printf("  %u members crash one by one, %.0f s apart, loss %.0f%%\n", o->crashes,
           (double)spacing / 1e9, o->w.loss * 100);
    int rc = fl_swim_scn_crash(&o->w, o->crashes, spacing, f, why, sizeof(why));
    if (rc) {
        free(f);
        return fail(rc, why);
    }
    double T = (double)o->w.swim.probe_interval_ns / 1e9;
    double per[256];
    for (uint32_t i = 0; i < f->crashes; i++)
        per[i] = f->first_suspect_s[i] < 0 ? -1 : f->first_suspect_s[i] / T;
    double mean = mean_of(per, f->crashes);
    printf("  first suspicion, periods:        mean %.2f  p50 %.2f  p99 %.2f  max %.2f   theory: "
           "mean e/(e-1) = %.2f in the paper's synchronous rounds (crash at a round start);\n"
           "                                   unsynchronised periods add ~0.5: ~%.2f\n",
           mean, quantile(per, f->crashes, 0.5), quantile(per, f->crashes, 0.99),
           quantile(per, f->crashes, 1.0), exp(1.0) / (exp(1.0) - 1),
           exp(1.0) / (exp(1.0) - 1) + 0.5);
    uint32_t live = o->w.nodes - 1;
    fl_time_ns tmin = fl_swim_suspicion_timeout(&o->w.swim, live, o->w.swim.suspicion_k);
    fl_time_ns tmax = fl_swim_suspicion_timeout(&o->w.swim, live, 0);
    double all[256];
    memcpy(all, f->all_dead_s, sizeof(all));
    printf("  all live members mark dead, s:   p50 %.2f  p99 %.2f  max %.2f   theory: first "
           "suspicion + suspicion timeout (%.1f s with %u confirmations .. %.1f s alone) + "
           "dissemination O(log N) periods\n",
           quantile(all, f->crashes, 0.5), quantile(all, f->crashes, 0.99),
           quantile(all, f->crashes, 1.0), (double)tmin / 1e9, o->w.swim.suspicion_k,
           (double)tmax / 1e9);
    double spread[256];
    print_spread(o, f, spread);
    printf("  crashes not detected by every live member: %u; false deaths %llu, false suspicions "
           "%llu   (theory: 0 at 0%% loss)\n",
           f->undetected, (unsigned long long)f->false_deaths,
           (unsigned long long)f->false_suspicions);
    printf("  simulated %.0f s, %llu events, trace %016llx\n", f->sim_s,
           (unsigned long long)f->events, (unsigned long long)f->trace_hash);
    if (o->j)
        json_crash(o->j, f, per, all, spread);
    free(f);
    return 0;
}

static int run_broadcast(const swim_opts *o)
{
    header(o, "broadcast");
    double losses[3] = {0.0, 0.1, 0.3};
    int nl = 3;
    if (o->loss_set) {
        losses[0] = o->w.loss;
        nl = 1;
    }
    double T = (double)o->w.swim.probe_interval_ns / 1e9;
    double tg = (double)o->w.swim.gossip_interval_ns / 1e9;
    uint32_t fo = o->w.swim.gossip_fanout;
    double n = o->w.nodes;
    printf("  one 64-byte broadcast from member 1; each update sent %u times per member\n",
           fl_swim_retransmit_limit(&o->w.swim, o->w.nodes));
    printf("  %-6s %-22s %-22s %-8s theory\n", "loss", "99.9% (s / periods)", "100% (s / periods)",
           "missed");
    if (o->j) {
        fl_json_key(o->j, "dissemination");
        fl_json_arr_begin(o->j);
    }
    for (int i = 0; i < nl; i++) {
        swim_opts c = *o;
        c.w.loss = losses[i];
        fl_swim_figures f;
        char why[160] = "";
        int rc = fl_swim_scn_broadcast(&c.w, 120 * FL_NS_PER_S, &f, why, sizeof(why));
        if (rc)
            return fail(rc, why);
        printf("  %4.0f%%  %7.2f / %-12.1f %7.2f / %-12.1f %-8u ", losses[i] * 100, f.bc_999_s,
               f.bc_999_s / T, f.bc_100_s, f.bc_100_s / T, f.bc_missing);
        if (tg > 0)
            printf("gossip: ~ln N / ln %u = %.1f rounds of %.0f ms = %.2f s\n", fo + 1,
                   log(n) / log(fo + 1.0), tg * 1e3, log(n) / log(fo + 1.0) * tg);
        else
            printf("~log N periods: log2 N = %.1f, ln N = %.1f\n", log2(n), log(n));
        if (o->j) {
            fl_json_obj_begin(o->j);
            fl_json_kv_double(o->j, "loss", losses[i]);
            kv_ns(o->j, "t_999_ns", f.bc_999_s);
            kv_ns(o->j, "t_100_ns", f.bc_100_s);
            kv_q(o->j, "rounds_999", f.bc_999_s < 0 ? -1 : f.bc_999_s / T);
            kv_q(o->j, "rounds_100", f.bc_100_s < 0 ? -1 : f.bc_100_s / T);
            fl_json_kv_uint(o->j, "missing", f.bc_missing);
            fl_json_kv_uint(o->j, "retransmit_limit",
                            fl_swim_retransmit_limit(&c.w.swim, c.w.nodes));
            fl_json_key(o->j, "curve");
            fl_json_arr_begin(o->j);
            for (uint32_t k = 0; k < f.n_curve; k++) {
                fl_json_obj_begin(o->j);
                kv_ns(o->j, "t_ns", f.curve_t_s[k]);
                fl_json_kv_double(o->j, "fraction", f.curve_frac[k]);
                fl_json_obj_end(o->j);
            }
            fl_json_arr_end(o->j);
            fl_json_obj_end(o->j);
        }
    }
    if (o->j)
        fl_json_arr_end(o->j);
    return 0;
}

static int run_false_positives(const swim_opts *o)
{
    header(o, "false-positives");
    double dur = o->duration_s > 0 ? o->duration_s : 300;
    double T = (double)o->w.swim.probe_interval_ns / 1e9;
    uint32_t paused =
        o->paused >= 0 ? (uint32_t)o->paused : (o->w.nodes / 100 ? o->w.nodes / 100 : 1);
    double losses[4] = {0.0, 0.1, 0.2, 0.3};
    int nl = 4;
    if (o->loss_set) {
        losses[0] = o->w.loss;
        nl = 1;
    }
    printf("  %.0f s per run; %u flaky member(s): every ~20 s either paused 1-5 s or slow for\n"
           "  10 s (packets reach its core 1-5 s late, timers on time: a CPU-starved member);\n"
           "  counted: episodes in which one of the %u members never flaky is first suspected\n"
           "  (declared dead) by anyone\n",
           dur, paused, o->w.nodes - paused);
    fl_swim_config cfg = o->w.swim;
    printf("  %-6s %-10s %-26s %-26s theory (false SUSPECT)\n", "loss", "Lifeguard",
           "false DEAD /member-hour", "false SUSPECT /member-hour");
    if (o->j) {
        fl_json_key(o->j, "false_positives");
        fl_json_arr_begin(o->j);
    }
    for (int i = 0; i < nl; i++)
        for (int lg = 1; lg >= 0; lg--) {
            swim_opts c = *o;
            c.w.loss = losses[i];
            c.w.swim.lifeguard = lg;
            fl_swim_figures f;
            char why[160] = "";
            int rc = fl_swim_scn_false_positives(&c.w, (fl_time_ns)(dur * 1e9), paused, FL_NS_PER_S,
                                                 5 * FL_NS_PER_S, &f, why, sizeof(why));
            if (rc)
                return fail(rc, why);
            double mh = (double)(o->w.nodes - paused) * dur / 3600.0;
            /* a healthy member's probe fails when the direct round trip and all k indirect
             * 4-hop paths fail: (1 - (1-l)^2) * (1 - (1-l)^4)^k per probe, ~1 probe/period */
            double l = losses[i], k = cfg.indirect_k;
            double pf = (1 - pow(1 - l, 2)) * pow(1 - pow(1 - l, 4), k);
            printf("  %4.0f%%  %-10s %-26.3f %-26.3f %.1f from loss alone%s\n", losses[i] * 100,
                   lg ? "on" : "off", (double)f.false_deaths / mh, (double)f.false_suspicions / mh,
                   pf * 3600.0 / T, lg ? "" : ", + slow-member suspicions (Lifeguard damps them)");
            if (o->j) {
                fl_json_obj_begin(o->j);
                fl_json_kv_double(o->j, "loss", losses[i]);
                fl_json_kv_bool(o->j, "lifeguard", lg);
                fl_json_kv_uint(o->j, "flaky_members", paused);
                fl_json_kv_double(o->j, "member_hours", mh);
                fl_json_kv_uint(o->j, "false_deaths", f.false_deaths);
                fl_json_kv_uint(o->j, "false_suspicions", f.false_suspicions);
                fl_json_kv_double(o->j, "false_deaths_per_member_hour",
                                  (double)f.false_deaths / mh);
                fl_json_kv_double(o->j, "false_suspicions_per_member_hour",
                                  (double)f.false_suspicions / mh);
                fl_json_obj_end(o->j);
            }
        }
    if (o->j)
        fl_json_arr_end(o->j);
    return 0;
}

static void json_partition(fl_json *j, const fl_swim_figures *f, fl_time_ns split)
{
    fl_json_key(j, "partition");
    fl_json_obj_begin(j);
    fl_json_kv_int(j, "split_ns", split);
    kv_ns(j, "detect_99_ns", f->split_detect_s);
    fl_json_kv_double(j, "dead_fraction_at_heal", f->split_dead_frac);
    kv_ns(j, "convergence_after_heal_ns", f->heal_s);
    fl_json_key(j, "view_divergence");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < f->n_div; i++) {
        fl_json_obj_begin(j);
        kv_ns(j, "t_ns", f->div_t_s[i]);
        fl_json_kv_double(j, "fraction", f->div_frac[i]);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    json_views(j, f);
    fl_json_obj_end(j);
}

static int run_partition(const swim_opts *o)
{
    header(o, "partition");
    fl_swim_figures f;
    char why[160] = "";
    fl_time_ns split = 120 * FL_NS_PER_S;
    int rc = fl_swim_scn_partition(&o->w, split, 600 * FL_NS_PER_S, &f, why, sizeof(why));
    if (rc)
        return fail(rc, why);
    double T = (double)o->w.swim.probe_interval_ns / 1e9;
    uint32_t half = o->w.nodes / 2;
    fl_time_ns tmax = fl_swim_suspicion_timeout(&o->w.swim, o->w.nodes, 0);
    double d = o->w.swim.dead_probe_every;
    printf("  halves of %u and %u for %.0f s, then healed\n", half, o->w.nodes - half,
           (double)split / 1e9);
    fl_time_ns tmin = fl_swim_suspicion_timeout(&o->w.swim, o->w.nodes, o->w.swim.suspicion_k);
    printf("  members mark the other half dead: 99%% of the pairs in %.1f s, %.1f%% at the heal"
           "   theory: suspicion timeout %.1f..%.1f s (Lifeguard) + dissemination O(log N) "
           "periods; when more deaths than the queue holds (%u) spread at once, the rest is found "
           "by each member's own probes, one member per period\n",
           f.split_detect_s, f.split_dead_frac * 100, (double)tmin / 1e9, (double)tmax / 1e9,
           o->w.swim.bcast_max);
    if (split > o->w.swim.reap_ns + tmax)
        printf(
            "  after heal, every member sees all alive: %.1f s (%.1f periods)   theory: the other "
            "half was reaped (after %.0f s), so the way back is the seeds (one per half): a "
            "seed probe every %u periods, a push-pull every %u: first contact within ~%.0f-%.0f "
            "periods, then ALIVE gossip O(log N)\n",
            f.heal_s, f.heal_s / T, (double)o->w.swim.reap_ns / 1e9, o->w.swim.dead_probe_every,
            o->w.swim.sync_every, o->w.swim.dead_probe_every / 2.0, o->w.swim.sync_every / 2.0);
    else
        printf("  after heal, every member sees all alive: %.1f s (%.1f periods)   theory: each "
               "dead member is probed every %.0f periods by someone: ~%.0f*(ln(N/2)+0.58) = %.1f "
               "periods + dissemination\n",
               f.heal_s, f.heal_s / T, d, d, d * (log((double)half) + 0.5772));
    printf("  simulated %.0f s, %llu events, trace %016llx\n", f.sim_s,
           (unsigned long long)f.events, (unsigned long long)f.trace_hash);
    if (o->j)
        json_partition(o->j, &f, split);
    return f.heal_s < 0 ? FL_EXIT_VIOLATION : 0;
}

static int run_churn(const swim_opts *o)
{
    header(o, "churn");
    double dur = o->duration_s > 0 ? o->duration_s : 60;
    uint32_t sizes[3] = {o->w.nodes / 4, o->w.nodes / 2, o->w.nodes};
    double T = (double)o->w.swim.probe_interval_ns / 1e9;
    printf("  a member crashes and the previous one restarts every second, %.0f s\n", dur);
    printf("  %-8s %-14s %-14s %-16s theory\n", "members", "packets/m/s", "bytes/m/s",
           "updates/m/s");
    if (o->j) {
        fl_json_key(o->j, "load");
        fl_json_arr_begin(o->j);
    }
    for (int i = 0; i < 3; i++) {
        if (sizes[i] < 8 || (i > 0 && sizes[i] == sizes[i - 1]))
            continue;
        swim_opts c = *o;
        c.w.nodes = sizes[i];
        fl_swim_figures f;
        char why[160] = "";
        int rc =
            fl_swim_scn_churn(&c.w, (fl_time_ns)(dur * 1e9), FL_NS_PER_S, &f, why, sizeof(why));
        if (rc)
            return fail(rc, why);
        printf("  %-8u %-14.2f %-14.1f %-16.2f packets ~2/period = %.1f/s (constant in N); "
               "updates ~ churn x %u sends\n",
               sizes[i], f.msgs_per_member_s, f.bytes_per_member_s, f.updates_per_member_s, 2.0 / T,
               fl_swim_retransmit_limit(&c.w.swim, sizes[i]));
        if (o->j) {
            fl_json_obj_begin(o->j);
            fl_json_kv_uint(o->j, "members", sizes[i]);
            fl_json_kv_double(o->j, "packets_per_member_s", f.msgs_per_member_s);
            fl_json_kv_double(o->j, "bytes_per_member_s", f.bytes_per_member_s);
            fl_json_kv_double(o->j, "updates_per_member_s", f.updates_per_member_s);
            fl_json_obj_end(o->j);
        }
    }
    if (o->j)
        fl_json_arr_end(o->j);
    return 0;
}

static void json_join(fl_json *j, const fl_swim_figures *f, double storm_ms)
{
    fl_json_key(j, "join");
    fl_json_obj_begin(j);
    fl_json_kv_int(j, "storm_ns", (int64_t)llround(storm_ms * 1e6));
    kv_ns(j, "all_see_all_ns", f->join_s);
    kv_ns(j, "node_full_view_p50_ns", f->join_node_p50_s);
    kv_ns(j, "node_full_view_max_ns", f->join_node_max_s);
    fl_json_kv_uint(j, "suspicion_episodes", f->join_suspicions);
    fl_json_kv_uint(j, "suspicions", f->join_suspects);
    fl_json_kv_uint(j, "deaths", f->join_deaths);
    fl_json_kv_uint(j, "no_address_drops", f->join_no_address);
    fl_json_kv_uint(j, "push_pulls", f->join_syncs);
    fl_json_kv_double(j, "packets_per_member_s", f->join_packets_per_member_s);
    fl_json_obj_end(j);
}

static int run_join(const swim_opts *o)
{
    header(o, "join");
    fl_swim_figures f;
    char why[160] = "";
    uint32_t seeds = o->w.join_seeds ? o->w.join_seeds : 1;
    int rc = fl_swim_scn_join(&o->w, (fl_time_ns)(o->storm_ms * 1e6), 120 * FL_NS_PER_S, &f, why,
                              sizeof(why));
    if (rc)
        return fail(rc, why);
    double tg = (double)o->w.swim.gossip_interval_ns / 1e9;
    uint32_t fo = o->w.swim.gossip_fanout;
    printf("  %u seed(s) alone for 1 s, then %u members start within %.0f ms, each knowing only "
           "the seeds\n",
           seeds, o->w.nodes - seeds, o->storm_ms);
    printf("  every member sees all %u alive: %.2f s after the storm began   theory: the storm "
           "(%.2f s) + a push-pull round trip + the last joiner's ALIVE gossiped: ~ln N / ln %u "
           "= %.1f rounds of %.0f ms\n",
           o->w.nodes, f.join_s, o->storm_ms / 1e3, fo + 1, log(o->w.nodes) / log(fo + 1.0),
           tg * 1e3);
    printf("  each member, from its start to a full view: p50 %.2f s, max %.2f s\n",
           f.join_node_p50_s, f.join_node_max_s);
    printf("  suspicions during the join: %llu (%llu episodes), deaths %llu   theory: 0 (every "
           "member is healthy; none is probed before its address is known)\n",
           (unsigned long long)f.join_suspects, (unsigned long long)f.join_suspicions,
           (unsigned long long)f.join_deaths);
    printf("  push-pulls %llu, sends dropped for want of an address %llu, packets %.1f per "
           "member per s while joining\n",
           (unsigned long long)f.join_syncs, (unsigned long long)f.join_no_address,
           f.join_packets_per_member_s);
    printf("  simulated %.0f s, %llu events, trace %016llx\n", f.sim_s,
           (unsigned long long)f.events, (unsigned long long)f.trace_hash);
    if (o->j)
        json_join(o->j, &f, o->storm_ms);
    return f.join_s < 0 ? FL_EXIT_VIOLATION : 0;
}

static void json_begin(const swim_opts *o, fl_json *j, fl_buf *b)
{
    fl_json_init(j, b, true);
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "protocol", "swim");
    fl_json_kv_str(j, "scenario", o->scenario);
    fl_json_kv_uint(j, "nodes", o->w.nodes);
    fl_json_kv_uint(j, "seed", o->w.seed);
    fl_json_kv_bool(j, "lifeguard", o->w.swim.lifeguard);
    fl_json_kv_double(j, "loss", o->w.loss);
    fl_json_kv_int(j, "probe_interval_ns", o->w.swim.probe_interval_ns);
    fl_json_kv_int(j, "probe_timeout_ns", o->w.swim.probe_timeout_ns);
    fl_json_kv_int(j, "gossip_interval_ns", o->w.swim.gossip_interval_ns);
    fl_json_kv_uint(j, "gossip_fanout", o->w.swim.gossip_fanout);
}

/* Closes the object and writes DIR/results.json (atomically); the scenario's exit code, or
 * a violation when the file cannot be written. */
static int json_write(const swim_opts *o, fl_json *j, fl_buf *b, int rc)
{
    fl_json_kv_int(j, "exit_code", rc);
    fl_json_obj_end(j);
    fl_buf_put_u8(b, '\n');
    fl_errmsg m;
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline sim --protocol swim: mkdir %s: %s\n", o->out_dir,
                strerror(errno));
        return FL_EXIT_VIOLATION;
    }
    if (b->err || fl_atomic_write_file(o->out_dir, "results.json", b->data, b->len, &m)) {
        fprintf(stderr, "faultline sim --protocol swim: %s\n", b->err ? "out of memory" : m.text);
        return FL_EXIT_VIOLATION;
    }
    printf("  results: %s/results.json\n", o->out_dir);
    if (fl_cli_write_report(o->out_dir, NULL, true) == 0)
        printf("  report: %s/report.html\n", o->out_dir);
    return rc;
}

/* The gossip and join options that differ from the defaults, for the reproduce line. */
static size_t repro_gossip(const swim_opts *o, char *p, size_t room)
{
    fl_swim_config d;
    fl_swim_config_default(&d);
    size_t off = 0;
    if (o->w.swim.gossip_interval_ns != d.gossip_interval_ns)
        off += (size_t)snprintf(p + off, room - off, " --gossip-ms %g",
                                (double)o->w.swim.gossip_interval_ns / 1e6);
    if (o->w.swim.gossip_fanout != d.gossip_fanout && off < room)
        off += (size_t)snprintf(p + off, room - off, " --fanout %u", o->w.swim.gossip_fanout);
    if (!strcmp(o->scenario, "join") && off < room)
        off += (size_t)snprintf(p + off, room - off, " --storm-ms %g", o->storm_ms);
    if (o->w.join_seeds && off < room)
        off += (size_t)snprintf(p + off, room - off, " --join-seeds %u", o->w.join_seeds);
    if (o->w.addr_first_hand && off < room)
        off += (size_t)snprintf(p + off, room - off, " --first-hand-addresses");
    for (uint32_t b = 1; b && off < room; b <<= 1)
        if (o->w.swim.mutants & b)
            off += (size_t)snprintf(p + off, room - off, " --mutant %s", fl_swim_mutant_name(b));
    return off < room ? off : room - 1;
}

int fl_cmd_swim_sim(int argc, char **argv)
{
    swim_opts o;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    char why[160];
    if (o.w.swim.probe_timeout_ns >= o.w.swim.probe_interval_ns) {
        fprintf(stderr, "faultline sim --protocol swim: timeout must be below the interval\n");
        return FL_EXIT_USAGE;
    }
    fl_swim_config probe = o.w.swim;
    if (fl_swim_config_validate(&probe, why, sizeof(why)) != 0) {
        fprintf(stderr, "faultline sim --protocol swim: %s\n", why);
        return FL_EXIT_USAGE;
    }
    fl_buf jb;
    fl_json j;
    fl_buf_init(&jb);
    if (o.out_dir) {
        o.j = &j;
        json_begin(&o, &j, &jb);
    }
    double t0 = wall_now();
    if (!strcmp(o.scenario, "crash"))
        rc = run_crash(&o);
    else if (!strcmp(o.scenario, "broadcast"))
        rc = run_broadcast(&o);
    else if (!strcmp(o.scenario, "false-positives"))
        rc = run_false_positives(&o);
    else if (!strcmp(o.scenario, "partition"))
        rc = run_partition(&o);
    else if (!strcmp(o.scenario, "churn"))
        rc = run_churn(&o);
    else if (!strcmp(o.scenario, "join"))
        rc = run_join(&o);
    else
        rc = bad("--scenario", o.scenario);
    if (o.j && rc != FL_EXIT_USAGE)
        rc = json_write(&o, &j, &jb, rc);
    fl_buf_free(&jb);
    if (rc == FL_EXIT_USAGE)
        return rc;
    char extra[160] = "";
    size_t off = 0;
    if (o.loss_set)
        off += (size_t)snprintf(extra + off, sizeof(extra) - off, " --loss %g", o.w.loss);
    if (!o.w.swim.lifeguard)
        off += (size_t)snprintf(extra + off, sizeof(extra) - off, " --no-lifeguard");
    if (o.duration_s > 0)
        off += (size_t)snprintf(extra + off, sizeof(extra) - off, " --duration %g", o.duration_s);
    if (o.w.swim.retransmit_mult != 4)
        off += (size_t)snprintf(extra + off, sizeof(extra) - off, " --retransmit-mult %u",
                                o.w.swim.retransmit_mult);
    if (o.paused >= 0)
        off += (size_t)snprintf(extra + off, sizeof(extra) - off, " --paused %d", o.paused);
    off += repro_gossip(&o, extra + off, sizeof(extra) - off);
    if (!strcmp(o.scenario, "crash"))
        snprintf(extra + off, sizeof(extra) - off, " --crashes %u", o.crashes);
    printf("  wall %.2f s; reproduce: faultline sim --protocol swim --scenario %s --nodes %u "
           "--seed %llu%s\n",
           wall_now() - t0, o.scenario, o.w.nodes, (unsigned long long)o.w.seed, extra);
    return rc;
}
