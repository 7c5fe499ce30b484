/* nemesis_out.h: judging a real run (`faultline nemesis`) the way sim_eval.h judges a
 * simulated one, and writing what it found: the summary, DIR/results.json (the sim's keys
 * plus "nemesis": the fault log and the nodes), DIR/history.jsonl and DIR/history.edn. */
#ifndef FL_CLI_NEMESIS_OUT_H
#define FL_CLI_NEMESIS_OUT_H

#include "faultline/nemesis.h"

typedef struct nem_out_opts {
    bool check; /* run the linearizability checker */
    fl_time_ns check_timeout_ns;
    bool quiet;
    fl_time_ns interval_ns, length_ns; /* the schedule's, for the config */
} nem_out_opts;

/* Judges r, prints, writes. Returns the exit status: 0 nothing violated, 1 a violation. */
int nem_out_judge(const fl_nem_config *c, fl_nem_result *r, const nem_out_opts *o);

#endif
