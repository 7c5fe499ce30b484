/* campaign.h: many seeds of `faultline sim` on all cores (worker processes), shards of a
 * campaign for batch systems, and `faultline merge` of shard results. Every seed produces
 * one JSON line (sim_write_record); the summary is computed from those lines, so a local
 * campaign and a merge of shards print the same thing. */
#ifndef FL_CLI_CAMPAIGN_H
#define FL_CLI_CAMPAIGN_H

#include "sim_opts.h"

#include <stdbool.h>
#include <stddef.h>

#include "faultline/raft_chaos.h"

/* A campaign of --chaos runs gives records with the verdict fields that apply (violation,
 * summary, invariant_violation, live). */
int campaign_run(const sim_opts *o);
/* The chaos configuration `faultline sim --chaos` uses for o and seed. */
void campaign_chaos_config(const sim_opts *o, uint64_t seed, fl_chaos_config *c);

/* Gets one record line (no newline; not NUL-terminated); returns true to stop the campaign. */
typedef bool (*campaign_each_fn)(void *ctx, const char *line, size_t len);

/* Runs the seeds of o (o->seed_first..seed_last, o's shard; total of them) in o->jobs worker
 * processes (0: one per core), handing every record to each() in the parent as it arrives
 * (seeds interleave across workers). When each() returns true the workers are stopped.
 * Returns how many workers died (a crash is a finding), or -1 if none could be started
 * (message printed). */
int campaign_for_each(const sim_opts *o, campaign_each_fn each, void *ctx, uint64_t total);

#endif
