/* swarm.h: swarm testing of simulated kv runs (Groce, Zhang, Eide, Chen, Regehr, "Swarm
 * Testing", ISSTA 2012): every seed draws its own world within declared ranges (the cluster
 * and its Raft options, how reads are served, clocks, snapshots, the disk, the network, the
 * workload, and a random subset of the fault kinds, each with its own interval), so that a
 * campaign covers many different worlds rather than one, and a bug that one fault kind hides
 * (by healing what another one needs) is found in the seeds that leave that kind out.
 *
 * The draw depends on the seed only. Each axis draws from a random stream of its own, derived
 * from the seed and the axis' name, so adding an axis (a read mode, a pipeline depth, another
 * protocol) leaves what the other axes draw unchanged. The ranges are the tables at the top
 * of src/sim/swarm.c. Every drawn value is an ordinary option of `faultline sim`, so a world
 * prints as a command line that reproduces it without the swarm. */
#ifndef FAULTLINE_SWARM_H
#define FAULTLINE_SWARM_H

#include "faultline/run.h"

/* Fills *c with the world of seed (c->seed = seed; the duration and mutants of the defaults:
 * the caller sets those; a liveness bound of 20 s), its protocol drawn too (Multi-Paxos in a
 * quarter of the worlds) and the world fitted to it (fl_swarm_fit). The result passes
 * fl_run_config_validate. */
void fl_swarm_draw(uint64_t seed, fl_run_config *c);
/* The same world with the protocol given instead of drawn (a campaign's --protocol, or the
 * protocol a planted bug's code belongs to), fitted to it; the other axes as drawn. */
void fl_swarm_draw_as(uint64_t seed, fl_cons_protocol protocol, fl_run_config *c);

/* The world seed draws with the first n_axes axes of the table (swarm.c axes[]) alone, fitted
 * as fl_swarm_draw fits it. Axes join at the table's end, each on a stream of its own, so this
 * is the world an older swarm with n_axes axes drew: a test shows with it that a new axis moves
 * nothing but its own fields. fl_swarm_axes() is the table's length. */
void fl_swarm_draw_axes(uint64_t seed, size_t n_axes, fl_run_config *c);
size_t fl_swarm_axes(void);

/* Fits a drawn world to c->protocol: Paxos runs a fixed member set, at the leader, without
 * pre-vote or check-quorum, so its worlds drop churn, follower reads and those options (the
 * other axes keep what they drew). */
void fl_swarm_fit(fl_run_config *c);

#endif
