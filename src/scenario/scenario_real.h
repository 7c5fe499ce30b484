/* scenario_real.h: a scenario against real processes, shared by scenario_real.c (the run's
 * settings) and scenario_real_faults.c (the faults). Every refusal names the file, the
 * line and column of the setting or fault, and says what real processes lack. */
#ifndef FL_SCENARIO_REAL_H
#define FL_SCENARIO_REAL_H

#include "faultline/scenario.h"

/* "file:line:col: path: what" (the place of setting path when read from the file). Returns
 * FL_EUNSUPPORTED. */
int sreal_refuse(const fl_scenario *s, const char *path, char *err, size_t err_size,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The faults of s as the nemesis's schedule (fl_scenario_for_nemesis). */
int sreal_faults(fl_scenario *s, fl_nem_fault *out, uint32_t *origin, size_t max, size_t *n,
                 char *err, size_t err_size);

#endif
