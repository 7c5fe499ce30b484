/* crash_points.h: crash-point testing of the Raft store (raft_store.h) on the simulated disk
 * (simdisk.h), in the manner of SQLite's crash tests: `faultline sim --crash-points` and
 * tests/unit/test_crash_points.c.
 *
 * A node's storage runs a seeded workload of persist requests (appends, new terms and votes,
 * truncations), group-committed by sync jobs that complete at random moments, with snapshot
 * files taken along the way (one right before each crash), over several lives: the disk
 * crashes after each and the store reopens. Before EVERY operation that changes the disk
 * (each write, truncate, sync, create, rename, unlink, directory sync) a copy of the disk is
 * crashed three ways (unsynced writes lost; a random prefix kept; a random reordered subset
 * kept; torn or not) and recovered, and then:
 *   - recovery succeeds, or (only where reordered writes left a hole) refuses with a message
 *     that names the file and the byte offset: it never silently drops synced data;
 *   - what it recovers is the state after some request issued at or after the last one the
 *     store reported synced: the durable term and vote never go back, no synced entry is
 *     lost, nothing appears that was never written.
 * The first violation is reported with where it happened (the boundary number reproduces it
 * with the seed). */
#ifndef FAULTLINE_CRASH_POINTS_H
#define FAULTLINE_CRASH_POINTS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fl_crash_config {
    uint64_t seed;
    uint32_t lives;         /* each ends with a crash of the whole disk (4) */
    uint32_t requests;      /* persist requests per life (100) */
    uint64_t segment_bytes; /* WAL segment size: small, so segments rotate and go (512) */
    uint32_t mutants;       /* fl_raft_mutant bits for the store */
} fl_crash_config;

typedef struct fl_crash_result {
    uint64_t requests;   /* persist requests made */
    uint64_t boundaries; /* operations before which the disk was crashed */
    uint64_t recoveries; /* crashed copies recovered (or refused) */
    uint64_t refusals;   /* refused rightly: a hole left by reordered writes */
    uint64_t violations;
    bool violation;
    char reason[320]; /* the first violation */
} fl_crash_result;

void fl_crash_config_default(fl_crash_config *c);
/* Runs it. Returns 0 (the verdict is in r), FL_ECONFIG for a configuration out of range
 * (lives 1..16, requests 1..200) or FL_ENOMEM. */
int fl_crash_points_run(const fl_crash_config *c, fl_crash_result *r);

#endif
