/* main.c: the faultline command: one binary, one subcommand per file (cmd_*.c). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int fl_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("faultline %s\n", FL_VERSION);
    return 0;
}

static const fl_cli_command commands[] = {
    {"demo", "a self-contained tour: a 5-node cluster simulated under faults, checked",
     fl_cmd_demo},
    {"sim", "one simulated run, or a campaign over many seeds", fl_cmd_sim},
    {"mutants", "every planted Raft bug hunted by simulated campaigns: which check, how fast",
     fl_cmd_mutants},
    {"merge", "combine the shard results of a campaign", fl_cmd_merge},
    {"report", "one self-contained HTML page of pictures of a run (or a campaign)", fl_cmd_report},
    {"check", "is a history linearizable? (JSON lines or Jepsen EDN)", fl_cmd_check},
    {"gossip", "one SWIM + Lifeguard member on UDP", fl_cmd_gossip},
    {"server", "one real node: Raft peers over TCP, clients over RESP", fl_cmd_server},
    {"cluster", "a local N-node cluster of server processes in the foreground", fl_cmd_cluster},
    {"nemesis", "a real local cluster under real faults, checked like a simulated run",
     fl_cmd_nemesis},
    {"certs", "a cluster CA and node certificates for TLS", fl_cmd_certs},
    {"bench", "RESP load generator: ops/s, latency percentiles, a history to check", fl_cmd_bench},
    {"version", "print the version", fl_cmd_version},
};

static void usage(FILE *f)
{
    fprintf(f, "faultline: build, break and measure distributed systems\n\n"
               "usage: faultline COMMAND [options]   (faultline COMMAND --help for each)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "faultline: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return FL_EXIT_USAGE;
}
