/* shrink.h: a failing simulated run made smaller (`faultline shrink`, `faultline mutants
 * --shrink`). Starting from a scenario whose run fails, the search tries smaller scenarios, one
 * change at a time, and keeps each that still fails with the same kind of violation (the same
 * invariant, not linearizable, liveness, disruption, or the same assertion): the run cut short
 * after the violation, faults dropped (in halves, then one by one), fewer nodes (5 to 3),
 * clients, operations and open-loop rate, shorter faults, fewer keys. Every candidate runs in a
 * child process of its own (an assertion that fails is a result like any other). The search is
 * deterministic: the same scenario and budget of runs give the same steps and the same minimal
 * scenario; a budget of time stops it where the time runs out. */
#ifndef FL_CLI_SHRINK_H
#define FL_CLI_SHRINK_H

#include "faultline/scenario.h"

#include <stdio.h>

typedef struct shrink_opts {
    uint64_t runs_max;  /* candidate runs at most; 0 = no limit */
    double seconds_max; /* wall time at most; 0 = no limit */
    FILE *log;          /* each step taken, as it is; NULL = nothing */
} shrink_opts;

/* What one run of a scenario did, as judged (from its child process). */
typedef struct shrink_outcome {
    bool ran;            /* a verdict came back (else the process died: crashed) */
    bool timed_out;      /* killed at the end of the search's budget: no verdict, no violation */
    bool violation;      /* a violation, or a crash */
    char kind[96];       /* the kind of violation: "election safety", "linearizability", "crash:
                            src/raft/log.c:120", ... ("" when none) */
    char what[400];      /* the verdict line */
    uint64_t ops;        /* operations invoked */
    uint32_t faults;     /* faults that started */
    fl_time_ns focus_ns; /* when the violation showed (a safety violation, the op a
                            linearizability violation blocked on, else the end) */
    fl_time_ns end_ns;
    uint64_t trace_hash;
} shrink_outcome;

/* A run's size. */
typedef struct shrink_size {
    uint32_t faults; /* faults that started */
    uint64_t ops;
    fl_time_ns length_ns; /* how long it ran until the violation showed */
    uint32_t nodes, clients;
} shrink_size;

typedef struct shrink_result {
    shrink_outcome start, min; /* the first run, and the smallest that failed the same way */
    shrink_size before, after;
    uint32_t runs; /* candidate runs (the first one included) */
    double wall_s;
    bool budget_spent; /* the search stopped on its budget, not at a fixpoint */
    fl_scenario minimal;
    char removed[1024]; /* what the search removed, in words */
} shrink_result;

/* Shrinks start (a scenario the simulator runs). Returns 0 (out->start.violation says whether
 * it failed at all; out->minimal is the smallest failing one, or start), FL_ENOMEM, or
 * FL_ECONFIG (printed). out must be freed with shrink_result_free in every case. */
int shrink_run(const fl_scenario *start, const shrink_opts *so, shrink_result *out);
void shrink_result_free(shrink_result *r);

/* shrink_exec.c: runs s in a child process and judges it (checks with s's checker timeout,
 * capped at timeout_ns when not 0, and the child killed after timeout_ns of wall time: then
 * out->timed_out, not a violation); with sched, also hands back the faults the run ran (the
 * caller frees *sched). Returns 0, or -1 if no process could be started. */
int shrink_try(const fl_scenario *s, fl_time_ns timeout_ns, shrink_outcome *out,
               fl_run_fault_spec **sched, size_t *n_sched);

/* shrink_out.c: DIR/minimal.yaml and DIR/minimal-trace.txt (prefix "minimal"), the minimal
 * run's events around its violation, readable on its own. Returns 0 or -1 (printed). */
int shrink_write(const shrink_result *r, const char *dir, const char *prefix,
                 const char *start_name);

#endif
