/* mutants.h: the catalogue of planted bugs (Raft's fl_raft_mutant_list, then Paxos's
 * fl_paxos_mutant_list, then the Paxos setting q1 + q2 <= n) and, for each, a campaign of
 * `faultline sim` runs until the first seed whose checks catch it. Two hunts: the tuned one
 * runs options chosen for the mutant (mutants_spec), the generic one the default swarm
 * campaign (`faultline sim --seeds A..B`: every seed draws its own world), the same for every
 * bug (the swarm draws the protocol, pipelining and the workload; a bug planted in one
 * protocol's code runs that protocol). Every run
 * is exactly one `faultline sim` does, so every detection comes with the command that
 * reproduces it. A control campaign runs the same seeds without the bug: it must find
 * nothing, or the detection proves nothing. */
#ifndef FL_CLI_MUTANTS_H
#define FL_CLI_MUTANTS_H

#include "faultline/json.h"
#include "shrink.h"
#include "sim_opts.h"

#include "faultline/cons.h"

#include <stdbool.h>
#include <stdint.h>

/* One bug of the catalogue: the protocol it is planted in, its name, its mutant bit (0: a
 * setting), and the `faultline sim` options that plant it ("--mutant NAME", or the
 * setting's). */
typedef struct mutant_kind {
    fl_cons_protocol protocol;
    const char *name;
    uint32_t bit;
    char args[96];
    bool kv_side; /* a bug of the kv side (program order, the replicas' kv: fl_run_mutant_list),
                     not of the protocol: its tuned hunt runs Raft, its generic one any */
} mutant_kind;

/* The whole catalogue, in order: Raft's, then Paxos's, the Paxos setting, then the kv
 * side's. */
size_t mutants_catalogue(const mutant_kind **out);
/* The catalogue's bug named name, or NULL. */
const mutant_kind *mutants_find(const char *name);

/* The `faultline sim` options a mutant's tuned campaign uses (without --mutant and --seeds):
 * a specific one for the mutants the catalogue knows, else a default fault mix. */
const char *mutants_spec(const char *name);

/* One hunt for one mutant: seed after seed until a check catches it. */
typedef struct mutant_hunt {
    bool ran;
    const char *spec; /* the options of its campaign ("" for the swarm) */
    bool detected;
    uint64_t seed;          /* the first seed that caught it */
    uint64_t seeds_run;     /* seeds until the first detection (or all that ran) */
    char check[48];         /* which check: an invariant's name, linearizability, ... */
    char what[720];         /* the verdict line of that run */
    uint64_t stale_reads;   /* in the detecting run */
    char repro[2048];       /* the command that reproduces the detecting run */
    bool control_run;       /* the no-mutant control ran */
    bool control_clean;     /* ... and found nothing on seeds first..seed */
    uint64_t control_seed;  /* its first violation if not clean */
    char control_what[720]; /* ... and what it was */
    int crashes;            /* seeds whose process died (each a detection or a finding) */
    double wall_s;          /* the campaign and its control */
    bool kv;                /* its runs are simulated kv runs (not --chaos, --crash-points) */
    fl_run_config world;    /* detected, kv: the run of the detecting seed */
} mutant_hunt;

typedef struct mutant_result {
    const char *name;
    const char *protocol;
    uint32_t bit;
    mutant_hunt tuned, generic;
} mutant_result;

typedef struct mutants_opts {
    uint64_t first_seed;
    uint64_t max_seeds;
    uint32_t jobs; /* 0 = one per core */
    bool control;
    bool tuned, generic; /* which hunts run */
} mutants_opts;

/* Runs the hunts of mutant k that mo asks for (with their controls); fills out. Returns 0,
 * or FL_EXIT_SOFTWARE if a spec of the catalogue does not parse (message printed). */
int mutants_run_one(const mutants_opts *mo, const mutant_kind *k, mutant_result *out);

/* mutants_shrink.c: --shrink, one mutant's first failing kv run shrunk (shrink.h). */
typedef struct mutant_shrink {
    bool ran;         /* a kv run was shrunk */
    const char *hunt; /* "tuned" or "generic" */
    char why[200];    /* when it did not run: why */
    bool failed;      /* the run failed again (it must: it is deterministic) */
    char kind[96], what[400];
    shrink_size before, after;
    uint32_t runs;
    double wall_s;
    bool budget_spent;
    bool goal;       /* at most 3 faults and at most 10% of the operations left */
    char file[1100]; /* where its minimal.yaml went */
} mutant_shrink;

/* Shrinks m's first failing kv run within seconds; writes OUT_DIR/NAME/minimal.yaml (and
 * -trace.txt) when out_dir is not NULL. Returns 0 or FL_EXIT_USAGE. */
int mutants_shrink_one(const mutant_result *m, double seconds, const char *out_dir,
                       mutant_shrink *out);
void mutants_shrink_print(const mutant_result *res, const mutant_shrink *sh, size_t n,
                          double budget);
void mutants_shrink_json(fl_json *j, const mutant_shrink *s);

#endif
