/* sim_cap.c: `faultline sim --cap` (sim_cap.h): the same cluster, seed and clients run once
 * per read mode under nemesis partition-sides, each history checked for linearizability and
 * sequential consistency, and the ops of each side counted over the partition. */
#include "sim_cap.h"

#include "cli.h"
#include "faultline/json.h"
#include "sim_eval.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    fl_run_read_mode mode;
    fl_run_read_at at;
} modes[CAP_MODES] = {
    {FL_RUN_READ_INDEX, FL_RUN_READ_AT_STICKY},
    {FL_RUN_READ_LEASE, FL_RUN_READ_AT_STICKY},
    {FL_RUN_READ_LOG, FL_RUN_READ_AT_LEADER}, /* log reads go to the leader */
    {FL_RUN_READ_LOCAL, FL_RUN_READ_AT_STICKY},
};

typedef struct side_ctx {
    const fl_run_config *c;
    uint32_t minority;
} side_ctx;

static uint32_t side_of(void *arg, int64_t process)
{
    const side_ctx *s = arg;
    return (s->minority >> fl_run_home_node(s->c, process)) & 1 ? 0 : 1;
}

static fl_verdict sequential(const sim_opts *o, const fl_run_config *c, const fl_run_result *r)
{
    fl_lincheck_opts lo;
    fl_lincheck_opts_init(&lo);
    lo.model = c->workload == FL_RUN_REGISTER ? FL_MODEL_CAS_REGISTER : FL_MODEL_KV;
    lo.consistency = FL_CONS_SEQUENTIAL;
    lo.timeout_ns = o->check_timeout_ns;
    lo.memory_max_bytes = 1ull << 30;
    fl_lincheck_result lr;
    fl_history_error err = {0};
    fl_verdict v = FL_LIN_UNKNOWN;
    if (fl_lincheck_run(&r->history, &lo, &lr, &err) == 0)
        v = lr.verdict;
    fl_lincheck_result_free(&lr);
    return v;
}

/* The partition's interval, from the run's recorded faults. */
static void partition_of(const fl_run_result *r, cap_row *row)
{
    for (size_t i = 0; i < r->n_faults; i++)
        if (!strcmp(r->faults[i].kind, fl_nemesis_name(FL_NEMESIS_PARTITION_SIDES))) {
            row->start_ns = r->faults[i].start_ns;
            row->end_ns = r->faults[i].end_ns;
            return;
        }
}

static void fill_row(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                     const sim_outcome *oc, cap_row *row)
{
    row->ran = true;
    row->safe = oc->safe;
    row->lin = oc->checked ? oc->lin : FL_LIN_UNKNOWN;
    row->seq = row->lin == FL_LIN_OK ? FL_LIN_OK : sequential(o, c, r);
    if (oc->has_obs) {
        row->stale = oc->obs.stale.stale;
        row->reads_ok = oc->obs.stale.reads_ok;
    }
    row->minority = r->minority_side;
    partition_of(r, row);
    side_ctx sc = {c, r->minority_side};
    uint32_t clients = c->rate > 0 ? FL_RUN_OPEN_CLIENTS_MAX : c->clients;
    for (uint32_t i = 0; i < clients; i++)
        row->clients[side_of(&sc, i)]++;
    fl_observe_groups(&r->history, row->start_ns, row->end_ns, side_of, &sc, row->side, 2);
}

static int write_dir(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                     const sim_outcome *oc)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", o->out_dir, fl_run_read_mode_name(c->read_mode));
    return sim_write_outputs(dir, c, r, oc);
}

/* 0, or FL_EXIT_SOFTWARE when the run itself failed, FL_EXIT_IOERR when its results could not
 * be written (the one exit-status scheme, cli.h) */
static int run_mode(const sim_opts *o, size_t i, cap_row *row)
{
    fl_run_config c = o->run;
    c.nemesis = FL_NEMESIS_PARTITION_SIDES;
    /* one partition, the middle third, in whole ms (the reproducing command stays short) */
    c.nemesis_interval_ns = (c.duration_ns / 3 + FL_NS_PER_MS - 1) / FL_NS_PER_MS * FL_NS_PER_MS;
    /* an op waits at most a quarter of the partition (the default 3 s would leave a client on
     * the unavailable side one or two ops in all); shorter, the info ops it leaves make the
     * sequential search of the local run give up (measured: docs/limits.md) */
    fl_time_ns quarter = c.nemesis_interval_ns / 4 / FL_NS_PER_MS * FL_NS_PER_MS;
    if (c.op_deadline_ns > quarter && quarter >= FL_NS_PER_MS)
        c.op_deadline_ns = quarter;
    if (c.op_timeout_ns > c.op_deadline_ns)
        c.op_timeout_ns = c.op_deadline_ns;
    c.read_mode = modes[i].mode;
    c.read_at = modes[i].at;
    memset(row, 0, sizeof(*row));
    row->mode = c.read_mode;
    row->at = c.read_at;
    fl_run_result r;
    if (fl_run(&c, &r)) {
        fprintf(stderr, "faultline sim --cap: the %s run failed\n",
                fl_run_read_mode_name(c.read_mode));
        fl_run_result_free(&r);
        return FL_EXIT_SOFTWARE;
    }
    sim_outcome oc;
    sim_evaluate(o, &c, &r, &oc);
    fill_row(o, &c, &r, &oc, row);
    int rc = o->out_dir && write_dir(o, &c, &r, &oc) ? FL_EXIT_IOERR : 0;
    sim_outcome_free(&oc);
    fl_run_result_free(&r);
    return rc;
}

static int write_summary(const sim_opts *o, const cap_row *rows)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, true);
    cap_json(&j, &o->run, rows, CAP_MODES);
    fl_buf_put_u8(&b, '\n');
    char path[4096];
    snprintf(path, sizeof(path), "%s/cap.json", o->out_dir);
    FILE *f = b.err ? NULL : fopen(path, "w");
    int rc = f && fwrite(b.data, 1, b.len, f) == b.len ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "faultline: cannot write %s: %s\n", path, strerror(errno));
    fl_buf_free(&b);
    return rc;
}

int sim_cap_run(const sim_opts *o)
{
    if (o->run.nemesis != FL_NEMESIS_NONE || o->campaign || o->chaos || o->crash_points) {
        fprintf(stderr, "faultline sim --cap: it brings its own partition (no --nemesis, "
                        "--seeds, --chaos or --crash-points)\n");
        return FL_EXIT_USAGE;
    }
    if (o->run.protocol != FL_CONS_RAFT) {
        fprintf(stderr, "faultline sim --cap: runs Raft (its read modes and reads at followers "
                        "are Raft's)\n");
        return FL_EXIT_USAGE;
    }
    if (o->run.nodes < 3) {
        fprintf(stderr, "faultline sim --cap: needs 3 nodes or more (a minority and a majority "
                        "side)\n");
        return FL_EXIT_USAGE;
    }
    if (o->out_dir && mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline sim: --out %s: cannot create: %s\n", o->out_dir,
                strerror(errno));
        return FL_EXIT_CANTCREAT;
    }
    cap_row rows[CAP_MODES];
    int bad = 0, err = 0;
    for (size_t i = 0; i < CAP_MODES; i++) {
        int rc = run_mode(o, i, &rows[i]);
        if (rc && (!err || rc == FL_EXIT_SOFTWARE))
            err = rc;
    }
    if (!o->quiet)
        cap_print(stdout, &o->run, rows, CAP_MODES);
    bool summary = o->out_dir && write_summary(o, rows) == 0;
    if (o->out_dir && !summary && !err)
        err = FL_EXIT_IOERR;
    if (summary && !o->quiet)
        printf("output   %s/cap.json; each run in %s/<read mode>/ with its report.html\n",
               o->out_dir, o->out_dir);
    for (size_t i = 0; i < CAP_MODES; i++) {
        bool must_lin = rows[i].mode != FL_RUN_READ_LOCAL;
        if (!rows[i].ran || !rows[i].safe || (must_lin && rows[i].lin == FL_LIN_VIOLATION))
            bad = 1;
    }
    /* an error beats a verdict: a script must not read results this run failed to make */
    return err ? err : bad ? FL_EXIT_VIOLATION : 0;
}
