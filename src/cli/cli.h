/* cli.h: the subcommands of the faultline binary. Each cmd_*.c file owns one; main.c lists
 * them. A command gets argv with its own name at argv[0] and returns the exit status. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdbool.h>

#define FL_EXIT_OK        0
#define FL_EXIT_VIOLATION 1 /* a run found a violation / a history is not linearizable */
#define FL_EXIT_USAGE     2 /* bad command line (sim); check uses 64 per sysexits */

typedef struct fl_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} fl_cli_command;

#define FL_VERSION "0.1.0"

int fl_cmd_version(int argc, char **argv);
int fl_cmd_sim(int argc, char **argv);
int fl_cmd_demo(int argc, char **argv);
int fl_cmd_merge(int argc, char **argv);
int fl_cmd_check(int argc, char **argv);
/* `faultline sim --protocol swim ...` (cmd_swim_sim.c) */
bool fl_swim_sim_wanted(int argc, char **argv);
int fl_cmd_swim_sim(int argc, char **argv);
int fl_cmd_gossip(int argc, char **argv);
int fl_cmd_gossip_members(int argc, char **argv);
int fl_cmd_server(int argc, char **argv);
int fl_cmd_cluster(int argc, char **argv);
int fl_cmd_bench(int argc, char **argv);
int fl_cmd_mutants(int argc, char **argv);
int fl_cmd_report(int argc, char **argv);
int fl_cmd_certs(int argc, char **argv);
/* Writes DIR/report.html (or file) from DIR's files (report.h); prints its path unless quiet.
 * Returns 0 or -1 (message printed). */
int fl_cli_write_report(const char *dir, const char *file, bool quiet);
int fl_cmd_nemesis(int argc, char **argv);

#endif
