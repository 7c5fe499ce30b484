/* nemesis_scenario.c: scenario files in `faultline nemesis` (nemesis_scenario.h). */
#include "nemesis_scenario.h"

#include "cli.h"
#include "faultline/error.h"
#include "faultline/scenario.h"
#include "sim_eval.h"

#include <stdio.h>

/* The scenario of --scenario and its schedule: they outlive the run's config. */
static fl_scenario loaded;
static fl_nem_fault sched[FL_NEM_FAULTS_MAX];
static uint32_t origin[FL_NEM_FAULTS_MAX];

int nem_scenario_apply(const char *path, fl_nem_config *c, bool *check_lin,
                       fl_time_ns *check_timeout_ns)
{
    char err[FL_SCENARIO_ERR_MAX];
    fl_scenario_free(&loaded);
    int rc = fl_scenario_load(&loaded, path, err, sizeof(err));
    size_t n = 0;
    if (rc == 0)
        rc = fl_scenario_for_nemesis(&loaded, c, sched, origin, FL_NEM_FAULTS_MAX, &n, err,
                                     sizeof(err));
    if (rc == FL_EUNSUPPORTED && fl_scenario_readable()) {
        /* the promise: a fault with no real counterpart is said so, exit 2 */
        fprintf(stderr, "faultline nemesis: --scenario %s\n", err);
        return FL_EXIT_UNKNOWN;
    }
    if (rc) {
        fprintf(stderr, "faultline nemesis: --scenario %s\n", err);
        return rc == FL_EIO            ? FL_EXIT_NOINPUT
               : rc == FL_ENOMEM       ? FL_EXIT_OSERR
               : rc == FL_EUNSUPPORTED ? FL_EXIT_UNAVAILABLE
                                       : FL_EXIT_DATAERR;
    }
    c->faults = sched;
    c->n_faults = n;
    *check_lin = loaded.check_lin;
    *check_timeout_ns = loaded.check_timeout_ns;
    return 0;
}

/* Writes s to DIR/scenario.yaml, saying what it came from. */
static int write_scenario(const fl_nem_config *c, const fl_scenario *s, const char *from)
{
    char comment[1024];
    snprintf(comment, sizeof(comment),
             "faultline scenario (docs/scenarios.md): run against real processes by faultline "
             "nemesis %s,\nseed %llu, every fault's targets as the run chose them. "
             "Run it again: faultline nemesis --scenario THIS_FILE --out DIR\n(or simulated: "
             "faultline sim --scenario THIS_FILE)",
             from, (unsigned long long)s->run.seed);
    fl_buf b;
    fl_buf_init(&b);
    int rc = fl_scenario_write(s, comment, &b);
    if (rc)
        fprintf(stderr, "faultline nemesis: cannot write %s/scenario.yaml: out of memory\n",
                c->out_dir);
    else
        rc = sim_write_file(c->out_dir, "scenario.yaml", &b);
    fl_buf_free(&b);
    return rc ? -1 : 0;
}

int nem_scenario_write(const fl_nem_config *c, const fl_nem_result *r)
{
    fl_scenario_nemesis_ran(&loaded, r->log, origin, r->n_log);
    char from[300];
    snprintf(from, sizeof(from), "--scenario %.280s", loaded.name);
    return write_scenario(c, &loaded, from);
}

int nem_scenario_write_flags(const fl_nem_config *c, const fl_nem_result *r, bool check_lin,
                             fl_time_ns check_timeout_ns)
{
    fl_scenario s;
    char why[300];
    int rc = fl_scenario_from_nemesis(&s, c, check_lin, check_timeout_ns, r->log, r->n_log, why,
                                      sizeof(why));
    if (rc == FL_EUNSUPPORTED)
        fprintf(stderr, "note: no %s/scenario.yaml: %s\n", c->out_dir, why);
    else if (rc)
        fprintf(stderr, "faultline nemesis: cannot write %s/scenario.yaml: %s\n", c->out_dir,
                fl_strerror(rc));
    else
        rc = write_scenario(c, &s, "from flags");
    fl_scenario_free(&s);
    return rc == FL_EUNSUPPORTED ? 0 : rc ? -1 : 0;
}
