/* compare.h: `faultline sim --compare raft,paxos` (compare.c): the protocols side by side on
 * the same seeds and nemeses. */
#ifndef FL_CLI_COMPARE_H
#define FL_CLI_COMPARE_H

#include "sim_opts.h"

/* Runs o's seeds (1..20 unless --seeds) for every protocol of o->compare under every nemesis
 * of the comparison (none, crash-leader, isolate-leader, partition-random, loss, mix; or
 * --nemesis alone) and prints the table (and DIR/compare.json with --out). Returns 0, 1 if
 * a run found a violation, or 2 for a bad configuration (message printed). */
int compare_run(const sim_opts *o);

#endif
