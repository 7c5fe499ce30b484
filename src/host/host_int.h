/* host_int.h: shared by the files of src/host/ that make the host (host.c: stepping,
 * persistence, messages; host_snap.c: snapshots). */
#ifndef FAULTLINE_HOST_INT_H
#define FAULTLINE_HOST_INT_H

#include "faultline/host.h"

/* Stops the node: env.fatal once with fmt formatted around why (one %s). */
void fl__host_fatal(fl_host *h, int code, const char *fmt, const char *why);
/* Persist, snapshot I/O, send, apply, timer: everything after the core made up. */
void fl__host_after_step(fl_host *h, const fl_cons_event *ev, const fl_cons_update *up,
                         fl_cons_role before);
/* A sync job is wanted: now if none runs (at the end of the step, or env.sync_soon). */
void fl__host_sync_soon(fl_host *h);
/* host_snap.c */
void fl__host_snapshot_io(fl_host *h, const fl_cons_update *up);
void fl__host_maybe_snapshot(fl_host *h);
/* A started snapshot without progress for snapshot_timeout_ns at now: given up. */
void fl__host_snapshot_watchdog(fl_host *h, fl_time_ns now);
/* After a sync job: old snapshot bytes the store no longer writes are freed, and snap's
 * become a view of its file once that is durable. */
void fl__host_snapshot_retired(fl_host *h);
void fl__host_snapshot_to_view(fl_host *h);
/* snap's bytes for a snapshot chunk sent at now: a view's checked against the snapshot's CRC
 * first (before its first chunk, and again before a chunk FL_HOST_SNAP_RECHECK_NS after the
 * last check); NULL when the check failed (the node is stopped). */
#define FL_HOST_SNAP_RECHECK_NS (5 * FL_NS_PER_S)
const uint8_t *fl__host_snapshot_for_chunks(fl_host *h, fl_time_ns now);
/* Whether snap's bytes may go into a chunk at now without that check. */
static inline bool fl__host_snapshot_checked(const fl_host *h, fl_time_ns now)
{
    return !h->snap_view.data ||
           (h->snap_view_checked && now - h->snap_view_checked_at < FL_HOST_SNAP_RECHECK_NS);
}
/* snap's view released (before the store closes; malloc'd bytes are freed after it). */
void fl__host_snapshot_close(fl_host *h);

#endif
