/* mutants.h: the catalogue of planted Raft bugs (fl_raft_mutant_list) and, for each, a
 * campaign of `faultline sim` runs until the first seed whose checks catch it. Every run is
 * exactly the one `faultline sim --mutant NAME <spec> --seed S` does, so every detection
 * comes with the command that reproduces it. A control campaign runs the same spec and
 * seeds with no mutant: it must find nothing, or the detection proves nothing. */
#ifndef FL_CLI_MUTANTS_H
#define FL_CLI_MUTANTS_H

#include "sim_opts.h"

#include <stdbool.h>
#include <stdint.h>

/* The `faultline sim` options a mutant's campaign uses (without --mutant and --seed): a
 * specific one for the mutants the catalogue knows, else a default fault mix. */
const char *mutants_spec(const char *name);
/* Whether the catalogue has a spec of its own for name (the kv side's mutants are hunted
 * only then). */
bool mutants_has_spec(const char *name);

typedef struct mutant_result {
    const char *name;
    uint32_t bit;
    const char *spec;
    bool detected;
    uint64_t seed;          /* the first seed that caught it */
    uint64_t seeds_run;     /* seeds until the first detection (or all that ran) */
    char check[48];         /* which check: an invariant's name, linearizability, ... */
    char what[320];         /* the verdict line of that run */
    uint64_t stale_reads;   /* in the detecting run */
    char repro[1024];       /* the command that reproduces the detecting run */
    bool control_run;       /* the no-mutant control ran */
    bool control_clean;     /* ... and found nothing on seeds first..seed */
    uint64_t control_seed;  /* its first violation if not clean */
    char control_what[320]; /* ... and what it was */
    int workers_died;       /* worker processes that crashed (a finding of its own) */
    double wall_s;          /* the campaign and its control */
} mutant_result;

typedef struct mutants_opts {
    uint64_t first_seed;
    uint64_t max_seeds;
    uint32_t jobs; /* 0 = one per core */
    bool control;
} mutants_opts;

/* Runs the campaign (and control) of mutant bit; fills out. Returns 0, or FL_EXIT_USAGE if
 * the spec does not parse (message printed). */
int mutants_run_one(const mutants_opts *mo, uint32_t bit, mutant_result *out);
/* The same for a mutant of the kv side (fl_run_mutant_list: program order, the kv), by name
 * (bit 0 in out). */
int mutants_run_named(const mutants_opts *mo, const char *name, mutant_result *out);

#endif
