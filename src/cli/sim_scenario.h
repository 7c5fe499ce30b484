/* sim_scenario.h: scenario files in `faultline sim` (scenario.h): --scenario F as the run's
 * base (options given beside it apply over it), and DIR/scenario.yaml, the scenario a run ran
 * with its faults expanded into an explicit schedule, written by every run that has an --out
 * directory. */
#ifndef FL_CLI_SIM_SCENARIO_H
#define FL_CLI_SIM_SCENARIO_H

#include "faultline/scenario.h"
#include "sim_opts.h"

/* Loads path into the process's scenario and makes it o's run (with its checks). Returns 0,
 * or the exit status with the problem printed (file, line and column; or the missing
 * libyaml): FL_EXIT_NOINPUT if it cannot be read, FL_EXIT_DATAERR if it does not parse. */
int sim_scenario_apply(sim_opts *o, const char *path);

/* Writes the scenario run c ran (its schedule: r->schedule) with o's checks to DIR/name, with a
 * comment saying how to run it and what generated its faults. Returns 0 or -1 (printed). */
int sim_scenario_write(const char *dir, const char *name, const sim_opts *o, const fl_run_config *c,
                       const fl_run_result *r);

/* The scenario of run c with schedule r->schedule and o's checks, as YAML into out. */
int sim_scenario_text(const sim_opts *o, const fl_run_config *c, const fl_run_result *r,
                      fl_buf *out);

#endif
