/* scenario.h: a scenario file: the single description of a run (docs/scenarios.md). YAML with
 * the cluster (protocol, nodes, options), the workload, the faults (a generator such as mix
 * with its interval and seed, a plan of kinds side by side, or an explicit schedule: each
 * fault with its start, length, kind, targets and parameters), the duration, the seed and the
 * checks. `faultline sim --scenario F` runs it in the simulator, `faultline nemesis --scenario
 * F` against real processes (the reader also takes the faults only real processes have),
 * `faultline shrink` makes it smaller; every run writes the one it ran to DIR/scenario.yaml,
 * its generated faults expanded into a schedule.
 *
 * Reading needs libyaml (optional at build time: fl_scenario_readable says whether this build
 * has it); writing needs nothing. A file is untrusted input: unknown keys, wrong types and
 * impossible values are refused with the file, line and column, never asserted. */
#ifndef FAULTLINE_SCENARIO_H
#define FAULTLINE_SCENARIO_H

#include "faultline/buf.h"
#include "faultline/nemesis.h"
#include "faultline/run.h"

#define FL_SCENARIO_ERR_MAX 400 /* room for a message: file:line:col: where: what */

/* One fault of a schedule. Most kinds are the simulator's (spec.kind); a few exist only
 * against real processes (real >= 0: restart, throttle, drop, stall, clock, disk-fsync,
 * disk-torn, with their parameters in nem), which the simulator refuses. */
typedef struct fl_scenario_fault {
    fl_run_fault_spec spec;
    int real;           /* an fl_nem_kind only real runs have, or -1 */
    fl_nem_fault nem;   /* real == kind: its targets (nodes_mask) and parameters */
    uint32_t line, col; /* where it was read (0: not read from a file) */
} fl_scenario_fault;

/* Where a setting was read ("cluster.read_at" at line:col), for messages about it after the
 * file is parsed (faultline nemesis refuses what real processes lack at its place). */
typedef struct fl_scenario_place {
    char path[40];
    uint32_t line, col;
} fl_scenario_place;

#define FL_SCENARIO_PLACES_MAX 64

typedef struct fl_scenario {
    /* the run: everything but the explicit schedule, which faults[] holds (and sim_faults
     * for the simulator: run.schedule points there once fl_scenario_for_sim succeeded) */
    fl_run_config run;
    fl_scenario_fault *faults;
    uint32_t n_faults, cap_faults;
    fl_run_fault_spec *sim_faults;
    bool explicit_schedule; /* the file gave a schedule (possibly empty) */
    /* checks */
    bool check_lin;
    fl_time_ns check_timeout_ns;
    char name[256];                                   /* the file it was read from, for messages */
    fl_scenario_place places[FL_SCENARIO_PLACES_MAX]; /* every key but the faults' */
    uint32_t n_places;
} fl_scenario;

/* The defaults (those of `faultline sim`): 5 nodes, 10 s, register workload, no faults. */
void fl_scenario_init(fl_scenario *s);
void fl_scenario_free(fl_scenario *s);
/* A deep copy of src into dst (dst's previous contents are not freed). Returns 0 or
 * FL_ENOMEM. */
int fl_scenario_copy(fl_scenario *dst, const fl_scenario *src);
/* Appends a fault (a copy of f). Returns 0, FL_ENOMEM, or FL_ECONFIG past FL_RUN_SCHEDULE_MAX. */
int fl_scenario_add_fault(fl_scenario *s, const fl_scenario_fault *f);

/* Whether this build reads scenario files (libyaml). */
bool fl_scenario_readable(void);
/* Reads text[0..len) (named name in messages) into s (initialized here). Returns 0, or
 * FL_ECONFIG / FL_EUNSUPPORTED (no libyaml) / FL_ENOMEM with the message in err: "name:line:col:
 * where: what". s must be freed in every case. */
int fl_scenario_parse(fl_scenario *s, const char *name, const char *text, size_t len, char *err,
                      size_t err_size);
/* The same from a file (at most 1 MiB). */
int fl_scenario_load(fl_scenario *s, const char *path, char *err, size_t err_size);

/* Makes s runnable by the simulator: the explicit schedule copied into sim_faults and
 * s->run.schedule pointing there, then fl_run_config_validate. Returns 0, or FL_ECONFIG with
 * err saying which setting or fault (with its line and column when read from a file) the
 * simulator cannot run, or FL_ENOMEM. */
int fl_scenario_for_sim(fl_scenario *s, char *err, size_t err_size);

/* Makes s runnable by `faultline nemesis` (scenario_real.c): its run, workload and checks into
 * c (c's other fields, such as out_dir and net, are left as they are; cluster options become
 * c->node_args), its faults into out[0..*n) (at most max), each with the index of the
 * scenario fault it came from in origin[] (a clock fault on several nodes is one real fault
 * per node). A generator of one kind is first expanded into s's schedule (a fault every
 * other interval, calm first); what the file leaves to chance and real processes choose at
 * the start of the run (partition sides, the bridge, clock values) is chosen here, from the
 * seed, and written into s. Returns 0, FL_EUNSUPPORTED with err saying which fault or setting
 * has no real counterpart, at its file:line:col, or FL_ENOMEM. */
int fl_scenario_for_nemesis(fl_scenario *s, fl_nem_config *c, fl_nem_fault *out, uint32_t *origin,
                            size_t max, size_t *n, char *err, size_t err_size);
/* After the run: the targets the nemesis chose when each fault began (the leader, a random
 * node) written into s's faults, so that s is the run as it ran. */
void fl_scenario_nemesis_ran(fl_scenario *s, const fl_nem_fault_log *log, const uint32_t *origin,
                             size_t n);

/* Fills s (initialized here) with the run a `faultline nemesis` started from flags ran
 * (scenario_from_real.c): c's cluster (from its nodes' arguments), workload, seed, duration
 * and the checks, and every fault of log[0..n) that ran, with the targets it hit (a rolling
 * fault one per node and step; a partition by the links it cut). Returns 0, or
 * FL_EUNSUPPORTED with why saying what a scenario cannot say (another target, a node argument
 * it has no key for, a cut no kind describes), or FL_ENOMEM. s must be freed in every case. */
int fl_scenario_from_nemesis(fl_scenario *s, const fl_nem_config *c, bool check_lin,
                             fl_time_ns check_timeout_ns, const fl_nem_fault_log *log, size_t n,
                             char *why, size_t why_size);

/* Fills s (initialized here) with the run c and the schedule it ran (what fl_run handed
 * back in r->schedule), its faults explicit: what `faultline sim` writes to scenario.yaml. */
int fl_scenario_from_run(fl_scenario *s, const fl_run_config *c, const fl_run_fault_spec *sched,
                         size_t n);

/* Writes s as YAML that fl_scenario_parse reads back to the same scenario; comment (may be
 * NULL or several lines) goes on top as # lines. Returns 0 or FL_ENOMEM (out->err). */
int fl_scenario_write(const fl_scenario *s, const char *comment, fl_buf *out);

/* The name of a fault kind of a scenario: the simulator's name, or a real-only kind's. */
const char *fl_scenario_fault_kind(const fl_scenario_fault *f);

#endif
