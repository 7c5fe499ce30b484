/* raft_host_int.h: shared by the files of src/host/ (raft_host.c: stepping, persistence,
 * messages; raft_host_snap.c: snapshots). */
#ifndef FAULTLINE_RAFT_HOST_INT_H
#define FAULTLINE_RAFT_HOST_INT_H

#include "faultline/raft_host.h"

/* Stops the node: env.fatal once with fmt formatted around why (one %s). */
void fl__host_fatal(fl_raft_host *h, int code, const char *fmt, const char *why);
/* Persist, snapshot I/O, send, apply, timer: everything after the core made up. */
void fl__host_after_step(fl_raft_host *h, const fl_raft_update *up, fl_raft_role before);
/* A sync job is wanted: now if none runs (at the end of the step, or env.sync_soon). */
void fl__host_sync_soon(fl_raft_host *h);
/* raft_host_snap.c */
void fl__host_snapshot_io(fl_raft_host *h, const fl_raft_update *up);
void fl__host_maybe_snapshot(fl_raft_host *h);
/* After a sync job: old snapshot bytes the store no longer writes are freed. */
void fl__host_snapshot_retired(fl_raft_host *h);

#endif
