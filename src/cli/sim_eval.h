/* sim_eval.h: judging one simulated run (safety, linearizability, liveness) and writing what
 * it found: the summary table, results.json and history.jsonl. Shared by `sim`, its
 * campaigns and `demo`. */
#ifndef FL_CLI_SIM_EVAL_H
#define FL_CLI_SIM_EVAL_H

#include "faultline/json.h"
#include "faultline/lincheck.h"
#include "faultline/observe.h"
#include "sim_opts.h"

typedef struct sim_outcome {
    bool safe;                    /* no invariant violated during the run */
    bool checked;                 /* the linearizability checker ran */
    fl_verdict lin;               /* its verdict */
    char lin_key[64];             /* the violating key, if any */
    fl_time_ns lin_at_ns;         /* ... and when its blocked op completed (or was invoked) */
    fl_time_ns lin_ns;            /* how long the check took (wall) */
    const char *lin_why;          /* verdict unknown: "time limit" (--check-timeout) or
                                     "memory bound" (SIM_CHECK_MEMORY), else NULL */
    bool live;                    /* a write succeeded after the heal, in time */
    bool violation;               /* !safe || lin == VIOLATION || !live */
    char what[320];               /* one line: what was violated, or "no violation" */
    uint64_t leader_changes;      /* times a node became leader (observables' leaderships) */
    double ok_per_s;              /* observables' throughput over the configured duration */
    bool has_obs;                 /* the observables were computed */
    fl_time_ns leaderless_ns;     /* no leader: before the first, between leaders, at the end */
    uint64_t crash_recoveries;    /* crashes of a leader (crash-leader) followed by a new one */
    fl_time_ns crash_recovery_ns; /* their mean time from the crash to the new leader */
    fl_observables obs;           /* every observable of DESIGN.md (observe.h) */
} sim_outcome;

/* Computes the observables, runs the checker on r's history when o->check_lin, and judges.
 * A same-term split brain is a violation too. Release with sim_outcome_free. */
void sim_evaluate(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                  sim_outcome *out);
void sim_outcome_free(sim_outcome *oc);
void sim_print_summary(FILE *f, const fl_run_config *c, const fl_run_result *r,
                       const sim_outcome *oc);
/* Writes DIR/results.json, DIR/history.jsonl, DIR/timeline.jsonl and DIR/report.html
 * (creating DIR). Returns 0 or -1 (message printed). */
int sim_write_outputs(const char *dir, const fl_run_config *c, const fl_run_result *r,
                      const sim_outcome *oc);
/* The members of results.json that every run has, simulated or real (`faultline nemesis`):
 * "verdict", "counts", "faults" and "observables" (docs/results.md), into an open object. */
void sim_write_results_members(fl_json *j, const fl_run_result *r, const sim_outcome *oc);
/* Writes b to DIR/name. Returns 0 or -1 (message printed). */
int sim_write_file(const char *dir, const char *name, const fl_buf *b);
/* sim_flp.c: a run under nemesis flp (r->flp): two lines of the summary, and the "flp"
 * object of results.json and of campaign records. */
void sim_flp_print(FILE *f, const fl_run_config *c, const fl_run_result *r);
void sim_flp_json(fl_json *j, const fl_run_result *r);
/* One JSON object per run (no newline): the campaign's per-seed record; with the command
 * that reproduces it and the world it drew (a swarm), where not NULL. */
void sim_write_record(fl_buf *out, const fl_run_config *c, const fl_run_result *r,
                      const sim_outcome *oc, const char *repro, const char *world);

#endif
