/* sim_opts.h: the options of `faultline sim` (and the demo), parsed from argv. */
#ifndef FL_CLI_SIM_OPTS_H
#define FL_CLI_SIM_OPTS_H

#include "faultline/run.h"

typedef struct sim_opts {
    fl_run_config run;
    bool campaign; /* --seeds A..B */
    uint64_t seed_first, seed_last;
    uint32_t shard_k, shard_n; /* --shard K/N: this process runs shard K of N (1-based) */
    uint32_t jobs;             /* worker processes, 0 = number of cores */
    fl_time_ns budget_ns;      /* --budget D: start no seed after D of wall time (0: none) */
    const char *out_dir;
    bool check_lin; /* run the linearizability checker on each history */
    fl_time_ns check_timeout_ns;
    bool quiet;
    bool help;
    bool snapshot_set; /* --snapshot-every given (chaos runs snapshot only then) */
    bool chaos; /* --chaos: the Raft-level chaos run of the test campaign (no kv, no clients) */
    bool churn; /* --churn: with --chaos, membership churn too */
    bool crash_points; /* --crash-points: crash-point testing of the storage (crash_points.h) */
    /* Swarm (--swarm; the default of a campaign without --fixed): each seed draws its world
     * (swarm.h), then the options given here are applied over it, fixing those axes. */
    bool swarm;
    bool fixed;           /* --fixed: every seed of a campaign runs exactly the options given */
    const char *scenario; /* --scenario F: the run F describes, the options given over it */
    int argc;             /* the options as given (argv[0] is the command), for each seed's world */
    char **argv;
    bool cap;          /* --cap: the CAP demonstration, one run per read mode (sim_cap.h) */
    bool nemesis_set;  /* --nemesis given */
    bool protocol_set; /* --protocol given, or implied by a mutant planted in one protocol */
    fl_cons_protocol compare[2]; /* --compare raft,paxos: the protocols side by side */
    uint32_t n_compare;
    /* --mutant names, resolved against the protocol once every option is read */
    const char *mutant_names[32];
    uint32_t n_mutant_names;
} sim_opts;

/* Parses argv (argv[0] is the command name). Returns 0, or prints the problem to stderr and
 * returns FL_EXIT_USAGE. */
int sim_opts_parse(sim_opts *o, int argc, char **argv);
void sim_opts_usage(FILE *out);
/* The command line that reproduces run c (one seed), every option spelled out. */
void sim_opts_repro(const fl_run_config *c, char *out, size_t out_size);
/* The run of seed under o: o->run with that seed, or with o->swarm the world the seed draws
 * with o's options applied over it. */
void sim_opts_world(const sim_opts *o, uint64_t seed, fl_run_config *out);
/* The shortest command that reproduces seed under o: with o->swarm "faultline sim --swarm
 * --seed S" and the options given (those of a campaign left out), else sim_opts_repro. */
void sim_opts_seed_repro(const sim_opts *o, uint64_t seed, char *out, size_t out_size);

#endif
