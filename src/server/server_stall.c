/* server_stall.c: where a node's loop spends a slow pass (issue 16's tail latency). Each loop
 * pass's work (fl_loop.busy_ns: its callbacks and timers, its wait left out) is checked
 * against SRV_STALL_MS; a slower one is logged at warn level with the time the suspect kinds
 * of work took in it (fork, reading a snapshot, taking it, a sync's start and completion,
 * peer messages, client I/O), so that an outlier a client saw can be matched to what stopped
 * the loop. A group commit that takes longer than SRV_STALL_SYNC_MS is logged too, with what
 * it carried (the worker runs it off the loop, but every write waits for it). */
#include "server_int.h"

#include "faultline/log.h"

#include <stdio.h>
#include <time.h>

static const char *const work_names[SRV_WORK_COUNT] = {
    "fork", "snapshot-read", "snapshot-take", "sync-start", "sync-done", "peer", "client", "kick",
};

fl_time_ns fl__stall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

void fl__stall_add(srv *s, int what, fl_time_ns t0)
{
    fl_time_ns t = fl__stall_now();
    s->stall.ns[what] += t > t0 ? t - t0 : 0;
    s->stall.n[what]++;
}

void fl__stall_pass_end(srv *s)
{
    fl_time_ns busy = s->loop.busy_ns;
    fl__metrics_pass(s, busy);
    if (busy >= (fl_time_ns)SRV_STALL_MS * FL_NS_PER_MS) {
        char text[512];
        size_t at = 0;
        fl_time_ns known = 0;
        for (int i = 0; i < SRV_WORK_COUNT && at < sizeof(text); i++) {
            if (!s->stall.n[i])
                continue;
            known += s->stall.ns[i];
            at += (size_t)snprintf(text + at, sizeof(text) - at, " %s %.1f ms (%u)", work_names[i],
                                   (double)s->stall.ns[i] / 1e6, s->stall.n[i]);
        }
        FL_WARN("slow loop pass: %.1f ms:%s; other %.1f ms", (double)busy / 1e6,
                at ? text : " nothing timed", (double)(busy - (known < busy ? known : busy)) / 1e6);
    }
    s->stall = (struct srv_stall){0};
}

void fl__stall_sync(srv *s, bool started)
{
    fl_time_ns now = fl__stall_now();
    if (started) {
        s->stall_sync_t0 = now;
        s->stall_sync_snap =
            fl_raft_store_snapshot_queued(&s->host.store) ? s->host.store.snap_next_len : 0;
        s->stall_sync_records = s->host.persist_seq - s->host.sync_seq;
        s->stall_sync_short = fl_host_sync_short(&s->host);
        return;
    }
    fl_time_ns took = now - s->stall_sync_t0;
    if (s->stall_sync_short) /* a job that wrote zeros or a snapshot is slow by its size */
        s->sync_short_ns = took;
    if (took >= (fl_time_ns)SRV_STALL_SYNC_MS * FL_NS_PER_MS)
        FL_WARN("slow group commit: %.1f ms (%llu records%s%zu snapshot bytes)", (double)took / 1e6,
                (unsigned long long)s->stall_sync_records,
                s->stall_sync_snap ? ", a snapshot file of " : ", ", s->stall_sync_snap);
}
