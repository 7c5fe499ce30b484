/* scenario_read.c: reading a scenario file (scenario.h): the typed value readers, the
 * sections of a run (cluster, network, clocks, disk, workload, checks) and the whole file.
 * The faults section is scenario_faults.c's. Every key of a section is in a table; a key not
 * in it, a value of the wrong type or out of range is refused with its place. */
#include "scenario_int.h"

#include "faultline/cons.h"
#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/raft.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ------------------------------------------------------------------------------ */

int sr_fail(sr *r, uint32_t node, const char *path, const char *fmt, ...)
{
    const yt_node *n = node ? yt_at(r->d, node) : NULL;
    if (!path[0])
        path = "top level";
    int k = n ? snprintf(r->err, r->err_size, "%s:%u:%u: %s: ", r->s->name, n->line, n->col, path)
              : snprintf(r->err, r->err_size, "%s: %s: ", r->s->name, path);
    if (k > 0 && (size_t)k < r->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + k, r->err_size - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return FL_ECONFIG;
}

const char *sr_path(char *out, size_t size, const char *base, const char *key, long index)
{
    if (key)
        snprintf(out, size, "%s%s%s", base, base[0] ? "." : "", key);
    else
        snprintf(out, size, "%s[%ld]", base, index);
    return out;
}

int sr_type(sr *r, uint32_t n, const char *path, int type)
{
    if (yt_at(r->d, n)->type == type)
        return 0;
    static const char *const names[] = {"", "a single value", "a list", "a mapping (key: value)"};
    return sr_fail(r, n, path, "expected %s", names[type]);
}

/* A plain scalar (not quoted): numbers and words are written bare. */
static int scalar(sr *r, uint32_t n, const char *path, const char *what, const char **out)
{
    const yt_node *y = yt_at(r->d, n);
    if (y->type != YT_SCALAR || !y->plain)
        return sr_fail(r, n, path, "expected %s%s", what,
                       y->type == YT_SCALAR ? " (written without quotes)" : "");
    *out = yt_str(r->d, n);
    return 0;
}

int sr_word(sr *r, uint32_t n, const char *path, const char **out)
{
    const yt_node *y = yt_at(r->d, n);
    if (y->type != YT_SCALAR || y->len == 0)
        return sr_fail(r, n, path, "expected a word");
    *out = yt_str(r->d, n);
    return 0;
}

int sr_u64(sr *r, uint32_t n, const char *path, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = NULL;
    if (scalar(r, n, path, "a whole number", &v))
        return FL_ECONFIG;
    int rc = fl_parse_u64(v, min, max, out);
    if (rc == FL_ERANGE)
        return sr_fail(r, n, path, "%s is out of range %llu..%llu", v, (unsigned long long)min,
                       (unsigned long long)max);
    return rc ? sr_fail(r, n, path, "'%s' is not a whole number", v) : 0;
}

int sr_u32(sr *r, uint32_t n, const char *path, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (sr_u64(r, n, path, min, max, &v))
        return FL_ECONFIG;
    *out = (uint32_t)v;
    return 0;
}

int sr_double(sr *r, uint32_t n, const char *path, double min, double max, double *out)
{
    const char *v = NULL;
    if (scalar(r, n, path, "a number", &v))
        return FL_ECONFIG;
    int rc = fl_parse_double(v, min, max, out);
    if (rc == FL_ERANGE)
        return sr_fail(r, n, path, "%s is out of range %g..%g", v, min, max);
    return rc ? sr_fail(r, n, path, "'%s' is not a number", v) : 0;
}

int sr_bool(sr *r, uint32_t n, const char *path, bool *out)
{
    const char *v = NULL;
    if (scalar(r, n, path, "true or false", &v))
        return FL_ECONFIG;
    if (strcmp(v, "true") && strcmp(v, "false"))
        return sr_fail(r, n, path, "'%s': expected true or false", v);
    *out = !strcmp(v, "true");
    return 0;
}

/* A duration of text v (no sign): a number with a unit, or 0. */
static int duration_text(const char *v, fl_time_ns *out)
{
    size_t len = strlen(v);
    if (!len || (v[len - 1] >= '0' && v[len - 1] <= '9' && strcmp(v, "0")))
        return FL_ESYNTAX; /* a unit is required: a bare 10 would be ambiguous */
    return fl_parse_duration(v, out);
}

int sr_duration(sr *r, uint32_t n, const char *path, fl_time_ns max, fl_time_ns *out)
{
    const char *v = NULL;
    if (scalar(r, n, path, "a duration such as 250ms or 2s", &v))
        return FL_ECONFIG;
    fl_time_ns t;
    if (duration_text(v, &t))
        return sr_fail(r, n, path,
                       "'%s' is not a duration (a number with a unit: ns, us, ms, s, "
                       "m, h; e.g. 250ms)",
                       v);
    if (t > max)
        return sr_fail(r, n, path, "%s is longer than allowed", v);
    *out = t;
    return 0;
}

int sr_offset(sr *r, uint32_t n, const char *path, int64_t *out)
{
    const char *v = NULL;
    if (scalar(r, n, path, "a duration such as -20ms or 1s", &v))
        return FL_ECONFIG;
    bool neg = v[0] == '-';
    fl_time_ns t;
    if (duration_text(v + neg, &t) || t > 3600 * FL_NS_PER_S)
        return sr_fail(r, n, path, "'%s' is not a clock jump (a duration within +-1h, e.g. -20ms)",
                       v);
    *out = neg ? -(int64_t)t : (int64_t)t;
    return 0;
}

/* ---- mappings ---------------------------------------------------------------------------- */

int sr_map(sr *r, uint32_t m, const char *path, const char *const *keys, size_t n_keys,
           sr_entry_fn fn, void *ctx)
{
    if (sr_type(r, m, path, YT_MAP))
        return FL_ECONFIG;
    uint64_t seen = 0;
    for (uint32_t k = yt_at(r->d, m)->first, v; k; k = yt_at(r->d, v)->next) {
        v = yt_at(r->d, k)->next;
        const yt_node *kn = yt_at(r->d, k);
        if (!v)
            return sr_fail(r, k, path, "a key without a value");
        if (kn->type != YT_SCALAR)
            return sr_fail(r, k, path, "a key is a plain word");
        const char *key = yt_str(r->d, k);
        size_t i = 0;
        while (i < n_keys && strcmp(keys[i], key))
            i++;
        if (i == n_keys) {
            char known[400];
            size_t used = 0;
            for (size_t j = 0; j < n_keys && used < sizeof(known); j++)
                used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", j ? ", " : "",
                                         keys[j]);
            return sr_fail(r, k, path, "unknown key '%.60s' (known here: %s)", key, known);
        }
        if ((seen >> i) & 1)
            return sr_fail(r, k, path, "'%s' given twice", key);
        seen |= 1ull << i;
        char sub[160];
        sr_path(sub, sizeof(sub), path, key, 0);
        fl_scenario *s = r->s;
        size_t len = strlen(sub);
        if (strncmp(sub, "faults.schedule", 15) && len < sizeof(s->places[0].path) &&
            s->n_places < FL_SCENARIO_PLACES_MAX) {
            fl_scenario_place *pl = &s->places[s->n_places++];
            memcpy(pl->path, sub, len + 1);
            pl->line = kn->line;
            pl->col = kn->col;
        }
        if (fn(r, ctx, i, v, sub))
            return FL_ECONFIG;
    }
    return 0;
}

/* ---- the sections ------------------------------------------------------------------------ */

static const char *const cluster_keys[] = {"protocol",
                                           "nodes",
                                           "read_mode",
                                           "read_at",
                                           "lease_drift_ppm",
                                           "snapshot_every",
                                           "pre_vote",
                                           "check_quorum",
                                           "batch",
                                           "inflight",
                                           "mutants",
                                           "q1",
                                           "q2",
                                           "unsafe_quorums",
                                           "backoff",
                                           "snapshot_phases",
                                           "snapshot_fork",
                                           "sync_inline",
                                           "sends_at_batch_end",
                                           "overlap_min",
                                           "snapshot_timeout",
                                           "uncommitted_max",
                                           "entry_bytes_max"};

static int mutants(sr *r, uint32_t v, const char *path)
{
    if (sr_type(r, v, path, YT_SEQ))
        return FL_ECONFIG;
    long i = 0;
    for (uint32_t e = yt_at(r->d, v)->first; e; e = yt_at(r->d, e)->next, i++) {
        char p[160];
        const char *name = NULL;
        if (sr_word(r, e, sr_path(p, sizeof(p), path, NULL, i), &name))
            return FL_ECONFIG;
        /* named against the protocol given before them (raft unless it says otherwise); or
         * the kv side's (fl_run_mutant_set) */
        uint32_t bit = fl_cons_mutant_parse(r->s->run.protocol, name);
        if (!bit && fl_run_mutant_set(&r->s->run, name))
            continue;
        if (!bit)
            return sr_fail(r, e, p,
                           "unknown mutant '%.60s' of %s (faultline sim --help lists them; the "
                           "protocol goes before the mutants)",
                           name, r->s->run.protocol == FL_CONS_PAXOS ? "paxos" : "raft");
        r->s->run.mutants |= bit;
    }
    return 0;
}

static int cluster_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    const char *w = NULL;
    bool b;
    (void)ctx;
    switch (k) {
    case 0:
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return fl_cons_protocol_parse(w, &c->protocol)
                   ? 0
                   : sr_fail(r, v, path, "'%.40s': expected raft or paxos", w);
    case 1:
        return sr_u32(r, v, path, 1, FL_RAFT_NODES_MAX, &c->nodes);
    case 2:
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return fl_run_read_mode_parse(w, &c->read_mode)
                   ? 0
                   : sr_fail(r, v, path, "'%.40s': expected index, lease, log or local", w);
    case 3:
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return fl_run_read_at_parse(w, &c->read_at)
                   ? 0
                   : sr_fail(r, v, path, "'%.40s': expected leader, any or sticky", w);
    case 4:
        return sr_u32(r, v, path, 0, 999999, &c->lease_drift_ppm);
    case 5:
        return sr_u32(r, v, path, 0, 1000000000, &c->snapshot_every);
    case 6:
    case 7:
        if (sr_bool(r, v, path, &b))
            return FL_ECONFIG;
        *(k == 6 ? &c->no_pre_vote : &c->no_check_quorum) = !b;
        return 0;
    case 8:
        return sr_u32(r, v, path, 0, 1000000, &c->batch_entries);
    case 9:
        return sr_u32(r, v, path, 0, FL_RAFT_INFLIGHT_MAX, &c->inflight);
    case 10:
        return mutants(r, v, path);
    case 11: /* Paxos's quorums and back-off: the simulator's checks refuse them for Raft */
    case 12:
        return sr_u32(r, v, path, 0, FL_RAFT_NODES_MAX, k == 11 ? &c->q1 : &c->q2);
    case 13:
        return sr_bool(r, v, path, &c->unsafe_quorums);
    case 15:
        if (sr_bool(r, v, path, &b))
            return FL_ECONFIG;
        c->snapshot_in_step = !b;
        return 0;
    case 16:
        if (sr_bool(r, v, path, &b))
            return FL_ECONFIG;
        c->snapshot_sync = !b;
        return 0;
    case 17:
        return sr_bool(r, v, path, &c->sync_inline);
    case 18:
        return sr_bool(r, v, path, &c->sends_at_batch_end);
    case 19:
        return sr_u32(r, v, path, 0, 1000000, &c->overlap_min);
    case 20: /* the hosts' snapshot watchdog (0: off), the server's --snapshot-timeout */
        return sr_duration(r, v, path, 24 * 3600 * FL_NS_PER_S, &c->snapshot_timeout_ns);
    case 21: /* 0: the core's default, as when the key is absent */
        return sr_u32(r, v, path, 0, 1000000, &c->uncommitted_max);
    case 22:
        return sr_u32(r, v, path, 0, 16u << 20, &c->entry_bytes_max);
    default: /* 14 */
        if (sr_bool(r, v, path, &b))
            return FL_ECONFIG;
        c->no_backoff = !b;
        return 0;
    }
}

static const char *const workload_keys[] = {"kind",       "clients",     "rate",       "keys",
                                            "reads",      "cas",         "value_size", "ops",
                                            "op_timeout", "op_deadline", "start",      "pipeline"};

static int workload_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    const char *w = NULL;
    (void)ctx;
    switch (k) {
    case 0:
        if (sr_word(r, v, path, &w))
            return FL_ECONFIG;
        return fl_run_workload_parse(w, &c->workload)
                   ? 0
                   : sr_fail(r, v, path, "'%.40s': expected register, kv or redis", w);
    case 1:
        return sr_u32(r, v, path, 1, 10000, &c->clients);
    case 2:
        return sr_double(r, v, path, 0, 1e6, &c->rate);
    case 3:
        return sr_u32(r, v, path, 0, 1000000, &c->keys);
    case 4:
        return sr_u32(r, v, path, 0, 100, &c->reads_pct);
    case 5:
        return sr_u32(r, v, path, 0, 100, &c->cas_pct);
    case 6:
        return sr_u32(r, v, path, 0, 1000000, &c->value_size);
    case 7:
        return sr_u64(r, v, path, 0, UINT64_MAX / 2, &c->ops_max);
    case 8:
        return sr_duration(r, v, path, 3600 * FL_NS_PER_S, &c->op_timeout_ns);
    case 9:
        return sr_duration(r, v, path, 3600 * FL_NS_PER_S, &c->op_deadline_ns);
    case 10:
        return sr_duration(r, v, path, 24 * 3600 * FL_NS_PER_S, &c->ops_start_ns);
    default: /* commands in flight per connection (the simulator refuses more than it takes) */
        return sr_u32(r, v, path, 1, 1000000, &c->pipeline);
    }
}

static const char *const network_keys[] = {"delay"};
static const char *const clocks_keys[] = {"skew_ppm"};
static const char *const disk_keys[] = {"lose_unsynced", "torn", "slow", "wal_segment_bytes"};
static const char *const checks_keys[] = {"linearizability", "timeout", "liveness"};

static int small_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    switch (*(const char *)ctx) {
    case 'n':
        return sr_duration(r, v, path, FL_NS_PER_S, &c->net_delay_ns);
    case 'c':
        return sr_u32(r, v, path, 0, 499999, &c->skew_ppm);
    case 'd':
        if (k == 3) /* the bounds of sim --wal-segment */
            return sr_u32(r, v, path, 1024, 1u << 30, &c->wal_segment_bytes);
        return k == 0   ? sr_bool(r, v, path, &c->crash_lose_unsynced)
               : k == 1 ? sr_double(r, v, path, 0, 1, &c->torn)
                        : sr_bool(r, v, path, &c->slow_disks);
    default: /* checks */
        if (k == 0)
            return sr_bool(r, v, path, &r->s->check_lin);
        return sr_duration(r, v, path, 24 * 3600 * FL_NS_PER_S,
                           k == 1 ? &r->s->check_timeout_ns : &c->liveness_ns);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const top_keys[] = {"version", "seed", "duration", "cluster", "network",
                                       "clocks",  "disk", "workload", "faults",  "checks"};

static int top_entry(sr *r, void *ctx, size_t k, uint32_t v, const char *path)
{
    fl_run_config *c = &r->s->run;
    uint32_t version;
    (void)ctx;
    switch (k) {
    case 0:
        return sr_u32(r, v, path, 1, 1, &version);
    case 1:
        return sr_u64(r, v, path, 0, UINT64_MAX, &c->seed);
    case 2:
        return sr_duration(r, v, path, 24 * 3600 * FL_NS_PER_S, &c->duration_ns);
    case 3:
        return sr_map(r, v, path, cluster_keys, N(cluster_keys), cluster_entry, NULL);
    case 4:
        return sr_map(r, v, path, network_keys, N(network_keys), small_entry, "n");
    case 5:
        return sr_map(r, v, path, clocks_keys, N(clocks_keys), small_entry, "c");
    case 6:
        return sr_map(r, v, path, disk_keys, N(disk_keys), small_entry, "d");
    case 7:
        return sr_map(r, v, path, workload_keys, N(workload_keys), workload_entry, NULL);
    case 8:
        return sr_faults(r, v, path);
    default:
        return sr_map(r, v, path, checks_keys, N(checks_keys), small_entry, "k");
    }
}

/* ---- the whole ----------------------------------------------------------------------------- */

void fl_scenario_init(fl_scenario *s)
{
    memset(s, 0, sizeof(*s));
    fl_run_config_default(&s->run);
    s->check_lin = true;
    s->check_timeout_ns = 30 * FL_NS_PER_S;
    snprintf(s->name, sizeof(s->name), "scenario");
}

void fl_scenario_free(fl_scenario *s)
{
    free(s->faults);
    free(s->sim_faults);
    s->faults = NULL;
    s->sim_faults = NULL;
    s->n_faults = s->cap_faults = 0;
    s->run.schedule = NULL;
    s->run.n_schedule = 0;
}

int fl_scenario_add_fault(fl_scenario *s, const fl_scenario_fault *f)
{
    if (s->n_faults >= FL_RUN_SCHEDULE_MAX)
        return FL_ECONFIG;
    if (s->n_faults == s->cap_faults) {
        uint32_t cap = s->cap_faults ? 2 * s->cap_faults : 16;
        fl_scenario_fault *p = realloc(s->faults, cap * sizeof(*p));
        if (!p)
            return FL_ENOMEM;
        s->faults = p;
        s->cap_faults = cap;
    }
    s->faults[s->n_faults++] = *f;
    return 0;
}

int fl_scenario_copy(fl_scenario *dst, const fl_scenario *src)
{
    *dst = *src;
    dst->faults = NULL;
    dst->sim_faults = NULL;
    dst->n_faults = dst->cap_faults = 0;
    dst->run.schedule = NULL;
    dst->run.n_schedule = 0;
    for (uint32_t i = 0; i < src->n_faults; i++)
        if (fl_scenario_add_fault(dst, &src->faults[i])) {
            fl_scenario_free(dst);
            return FL_ENOMEM;
        }
    return 0;
}

bool fl_scenario_readable(void)
{
    return yt_available();
}

int fl_scenario_parse(fl_scenario *s, const char *name, const char *text, size_t len, char *err,
                      size_t err_size)
{
    fl_scenario_init(s);
    snprintf(s->name, sizeof(s->name), "%s", name);
    yt_doc d;
    yt_error ye;
    if (yt_parse(&d, text, len, &ye)) {
        if (ye.line)
            snprintf(err, err_size, "%s:%u:%u: %s", name, ye.line, ye.col, ye.msg);
        else
            snprintf(err, err_size, "%s: %s", name, ye.msg);
        return yt_available() ? FL_ECONFIG : FL_EUNSUPPORTED;
    }
    sr r = {.d = &d, .s = s, .err = err, .err_size = err_size};
    int rc = 0;
    if (!d.root)
        rc = sr_fail(&r, 0, "scenario",
                     "empty: a scenario is a mapping of seed, duration, "
                     "cluster, workload, faults, checks");
    else
        rc = sr_map(&r, d.root, "", top_keys, N(top_keys), top_entry, NULL);
    yt_free(&d);
    return rc;
}

int fl_scenario_load(fl_scenario *s, const char *path, char *err, size_t err_size)
{
    fl_scenario_init(s);
    snprintf(s->name, sizeof(s->name), "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return FL_EIO;
    }
    char *buf = malloc(YT_BYTES_MAX + 1);
    size_t n = buf ? fread(buf, 1, YT_BYTES_MAX + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    int rc;
    if (!buf)
        rc = FL_ENOMEM;
    else if (bad)
        rc = (snprintf(err, err_size, "%s: cannot read it", path), FL_EIO);
    else if (n > YT_BYTES_MAX)
        rc = (snprintf(err, err_size, "%s: larger than 1 MiB", path), FL_ECONFIG);
    else
        rc = fl_scenario_parse(s, path, buf, n, err, err_size);
    free(buf);
    return rc;
}
