/* nemesis_scenario.h: scenario files in `faultline nemesis` (--scenario F): the file's run
 * as the nemesis's config and schedule, and DIR/scenario.yaml, the run as it ran. */
#ifndef FL_CLI_NEMESIS_SCENARIO_H
#define FL_CLI_NEMESIS_SCENARIO_H

#include "faultline/nemesis.h"

/* Reads path into c (its faults point into this file's storage until the process ends) and
 * the checks. Returns 0 or the exit status, the reason printed: 66 unreadable, 65 not a valid
 * scenario, 2 a fault or setting with no real counterpart (named at its line and column). */
int nem_scenario_apply(const char *path, fl_nem_config *c, bool *check_lin,
                       fl_time_ns *check_timeout_ns);
/* Writes DIR/scenario.yaml: the file's run with every fault's targets as the run chose them.
 * Returns 0 or -1 (said on stderr). */
int nem_scenario_write(const fl_nem_config *c, const fl_nem_result *r);
/* The same for a run started from flags: DIR/scenario.yaml says the run as it ran, or, when a
 * scenario file cannot say it, a note says why and none is written. Returns 0 or -1. */
int nem_scenario_write_flags(const fl_nem_config *c, const fl_nem_result *r, bool check_lin,
                             fl_time_ns check_timeout_ns);

#endif
