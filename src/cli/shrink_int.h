/* shrink_int.h: between the shrinker's files (shrink.h): how a child process runs a scenario. */
#ifndef FL_CLI_SHRINK_INT_H
#define FL_CLI_SHRINK_INT_H

#include "shrink.h"

typedef struct shrink_job {
    fl_time_ns timeout_ns; /* the checker's time at most (0: the scenario's) */
    unsigned seconds_max;  /* the child is killed after this (0: never) */
    fl_time_ns wall_ns;    /* the child is killed after this much wall time (0: never): the
                              search's budget left; a killed child did not fail (timed_out) */
    bool want_schedule;    /* hand back the faults the run ran */
    bool trace;            /* verbose trace; hand back the trace tail */
    fl_time_ns stop_ns;    /* stop the run there (0: never) */
} shrink_job;

/* Runs s in a child as job says; *oc is what it found (a crash if it died), payload gets what
 * it wrote after the outcome, err (may be NULL) its stderr. Returns 0, or -1 if no process
 * could be started. */
/* shrink_out.c, in the child: the text of the trace file (the run of s stopped at stop_ns
 * when not 0: its faults, leaders, last events, and a linearizability counterexample), after
 * the outcome *oc of the whole run, into out. */
void shrink_trace_build(const fl_scenario *s, fl_time_ns stop_ns, shrink_outcome *oc, fl_buf *out);

int shrink_spawn(const fl_scenario *s, const shrink_job *job, shrink_outcome *oc, fl_buf *payload,
                 fl_buf *err);

#endif
