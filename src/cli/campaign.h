/* campaign.h: many seeds of `faultline sim` on all cores (worker processes), shards of a
 * campaign for batch systems, and `faultline merge` of shard results. Every seed produces
 * one JSON line (sim_write_record); the summary is computed from those lines, so a local
 * campaign and a merge of shards print the same thing. */
#ifndef FL_CLI_CAMPAIGN_H
#define FL_CLI_CAMPAIGN_H

#include "sim_opts.h"

int campaign_run(const sim_opts *o);

#endif
