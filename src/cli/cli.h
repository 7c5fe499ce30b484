/* cli.h: the subcommands of the faultline binary. Each cmd_*.c file owns one; main.c lists
 * them. A command gets argv with its own name at argv[0] and returns the exit status. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdbool.h>

/* Exit statuses: one scheme for every command (README "Exit status", each --help). 0, 1 and
 * 2 are verdicts of the commands that judge (sim, demo, check, nemesis, merge, mutants);
 * the others follow sysexits.h, so a script tells "found a bug" from "could not look". */
#define FL_EXIT_OK          0  /* done; a judging command found no violation */
#define FL_EXIT_VIOLATION   1  /* a violation found (a mutant not caught, a control not clean) */
#define FL_EXIT_UNKNOWN     2  /* the verdict is unknown (a checker's time or memory bound) */
#define FL_EXIT_USAGE       64 /* bad command line: unknown option, bad value, missing argument */
#define FL_EXIT_DATAERR     65 /* an input is malformed (a history, records, a WAL) */
#define FL_EXIT_NOINPUT     66 /* an input file or directory is missing or unreadable */
#define FL_EXIT_UNAVAILABLE 69 /* nothing to talk to (no node answered), or a tool is missing */
#define FL_EXIT_SOFTWARE    70 /* an internal error */
#define FL_EXIT_OSERR       71 /* the system refused: out of memory, no process, no socket */
#define FL_EXIT_CANTCREAT   73 /* an output cannot be created */
#define FL_EXIT_IOERR       74 /* reading or writing failed midway (a failed fsync stops a node) */
/* and 128 + N: stopped by signal N (nemesis) */

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
/* --key-file PATH of gossip and gossip members: read and parsed, or the exit status (message
 * printed): 66 unreadable, 65 not a key, 69 no libsodium in this build. */
struct fl_gossip_key;
int fl_cli_gossip_key(const char *cmd, const char *path, struct fl_gossip_key *k);
int fl_cmd_server(int argc, char **argv);
int fl_cmd_cluster(int argc, char **argv);
int fl_cmd_bench(int argc, char **argv);
int fl_cmd_mutants(int argc, char **argv);
int fl_cmd_report(int argc, char **argv);
int fl_cmd_certs(int argc, char **argv);
/* Writes DIR/report.html (or file) from DIR's files (report.h); prints its path unless quiet.
 * Returns 0 or an exit status (message printed): 65 / 66 for what DIR holds, 74 for the
 * write. */
int fl_cli_write_report(const char *dir, const char *file, bool quiet);
int fl_cmd_nemesis(int argc, char **argv);
int fl_cmd_shrink(int argc, char **argv);

#endif
