/* scenario_run.c: a scenario and the simulator (scenario.h): the run a scenario describes
 * (fl_scenario_for_sim), and the scenario a simulated run ran (fl_scenario_from_run). */
#include "faultline/error.h"
#include "faultline/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "name:line:col: faults.schedule[i]" for fault i, or "name: fault i + 1". */
static void where(const fl_scenario *s, uint32_t i, char *out, size_t size)
{
    const fl_scenario_fault *f = &s->faults[i];
    if (f->line)
        snprintf(out, size, "%s:%u:%u: faults.schedule[%u]", s->name, f->line, f->col, i);
    else
        snprintf(out, size, "%s: fault %u", s->name, i + 1);
}

/* A real fork-hang as the simulator's (run.h FL_NEMESIS_FORK_HANG): its nodes when it names
 * them; else one random node, the simulator's choice, as the nemesis's random one (a real
 * fork-hang given for every node or a majority rolls over them, which the simulator's does
 * not: there each named node's next job hangs at the start). */
static fl_run_fault_spec fork_hang_spec(const fl_scenario *s, const fl_scenario_fault *f)
{
    fl_run_fault_spec sp = f->spec;
    sp.kind = FL_NEMESIS_FORK_HANG;
    sp.set = 0;
    uint32_t mask = f->nem.nodes_mask & ((1u << s->run.nodes) - 1);
    if (mask || f->nem.who == FL_NEM_WHO_ALL) {
        sp.nodes = (mask ? mask : (1u << s->run.nodes) - 1) << 1;
        sp.set = FL_RUN_SPEC_TARGETS;
    }
    return sp;
}

int fl_scenario_for_sim(fl_scenario *s, char *err, size_t err_size)
{
    char at[300];
    free(s->sim_faults);
    s->sim_faults = NULL;
    s->run.schedule = NULL;
    s->run.n_schedule = 0;
    if (s->n_faults) {
        s->sim_faults = malloc(s->n_faults * sizeof(*s->sim_faults));
        if (!s->sim_faults)
            return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < s->n_faults; i++) {
        const fl_scenario_fault *f = &s->faults[i];
        where(s, i, at, sizeof(at));
        if (f->real == FL_NEM_FORK_HANG) { /* the simulator's own since its watchdog */
            s->sim_faults[i] = fork_hang_spec(s, f);
            continue;
        }
        if (f->real >= 0) {
            snprintf(err, err_size,
                     "%s: %s exists only against real processes: the simulator has no such fault",
                     at, fl_scenario_fault_kind(f));
            return FL_ECONFIG;
        }
        if (f->spec.kind == FL_NEMESIS_DELAY && (f->spec.nodes || f->nem.jitter_ns)) {
            snprintf(err, err_size,
                     "%s: the simulator's delay acts on every link with an exponential extra "
                     "delay: targets and jitter are for real runs",
                     at);
            return FL_ECONFIG;
        }
        s->sim_faults[i] = f->spec;
    }
    if (s->explicit_schedule) {
        s->run.schedule = s->sim_faults;
        s->run.n_schedule = s->n_faults;
    }
    uint32_t bad;
    char why[200];
    if (s->n_faults && fl_run_schedule_check(s->sim_faults, s->n_faults, s->run.nodes,
                                             s->run.duration_ns, &bad, why, sizeof(why))) {
        where(s, bad < s->n_faults ? bad : 0, at, sizeof(at));
        snprintf(err, err_size, "%s: %s", at, why);
        return FL_ECONFIG;
    }
    if (fl_run_config_validate(&s->run, why, sizeof(why))) {
        snprintf(err, err_size, "%s: %s", s->name, why);
        return FL_ECONFIG;
    }
    return 0;
}

int fl_scenario_from_run(fl_scenario *s, const fl_run_config *c, const fl_run_fault_spec *sched,
                         size_t n)
{
    fl_scenario_init(s);
    s->run = *c;
    s->run.schedule = NULL;
    s->run.n_schedule = 0;
    s->run.stop_ns = 0;
    s->run.verbose = false;
    s->run.trace_verbose = false;
    if (c->nemesis == FL_NEMESIS_FLP || c->nemesis == FL_NEMESIS_PARTITION_SIDES)
        return 0; /* adversaries no schedule says: the generator again (same seed, same run) */
    s->run.nemesis = FL_NEMESIS_NONE; /* its faults are in the schedule now */
    s->run.n_faults = 0;
    s->explicit_schedule = true;
    for (size_t i = 0; i < n; i++) {
        fl_scenario_fault f = {.spec = sched[i], .real = -1};
        int rc = fl_scenario_add_fault(s, &f);
        if (rc)
            return rc;
    }
    return 0;
}
