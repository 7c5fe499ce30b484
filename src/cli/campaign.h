/* campaign.h: many seeds of `faultline sim` on all cores (each seed in a child process of its
 * own), shards of a campaign for batch systems, and `faultline merge` of shard results. Every
 * seed produces one JSON line (sim_write_record, or a crash record when its process died);
 * the summary is computed from those lines, so a local campaign and a merge of shards print
 * the same thing. */
#ifndef FL_CLI_CAMPAIGN_H
#define FL_CLI_CAMPAIGN_H

#include "sim_opts.h"

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "faultline/raft_chaos.h"

/* campaign.c: runs o's seeds and prints the summary; the exit status. */
int campaign_run(const sim_opts *o);

/* campaign_exec.c */

/* The chaos configuration `faultline sim --chaos` uses for o and seed. */
void campaign_chaos_config(const sim_opts *o, uint64_t seed, fl_chaos_config *c);
bool campaign_in_shard(const sim_opts *o, uint64_t seed);
/* The command that reproduces seed under o, and (swarm) its world spelled out as options
 * (else world is ""). */
void campaign_seed_repro(const sim_opts *o, uint64_t seed, char *repro, size_t repro_size,
                         char *world, size_t world_size);

/* Gets one record line (no newline; not NUL-terminated); returns true to stop the campaign. */
typedef bool (*campaign_each_fn)(void *ctx, const char *line, size_t len);

/* Runs the seeds of o (o->seed_first..seed_last, o's shard; total of them), each in a child
 * process, o->jobs at a time (0: one per core), handing every record to each() in the parent
 * as it arrives (in the order the runs finish). A child that dies gives a crash record (a
 * violation; the campaign goes on). When each() returns true the children are stopped.
 * Returns how many seeds crashed, or -1 if no process could be started (message printed). */
int campaign_for_each(const sim_opts *o, campaign_each_fn each, void *ctx, uint64_t total);

/* fork() with two pipes: the child's end of out[] is out[1] and its stderr is err[]'s write
 * end; the parent reads out[0] and err[0]. Returns the child's pid in the parent, 0 in the
 * child, -1 (nothing left open) if a pipe or the process could not be made. */
pid_t campaign_fork_piped(int out[2], int err[2]);

#endif
