/* compact.c: whether each node's compaction keeps up, from the status poll's answers (every
 * 10 ms, FL.STATUS: no request of its own). A node that never snapshots again keeps every
 * entry in its log and WAL for good; the other checks (linearizability, split brain, stale
 * reads, liveness) see nothing of it: a snapshot child hung by the disk shim's lock went
 * unseen through a 7-minute run while its node's log grew 150,000 entries past its snapshot
 * (session 7, docs/nemesis.md).
 *
 * Over the bound: entries applied past the last snapshot > FL_NEM_COMPACT_FACTOR (4) x
 * snapshot_every, and a snapshot due by its bytes as well. Why 4: the host starts a snapshot
 * once snapshot_every entries were applied past the last one and, with its phase (the
 * server spreads the members' snapshots over the interval), once applied next passes the
 * node's phase point: at most two intervals past the last snapshot (one after a snapshot
 * installed or taken at an index off its phase). The other two intervals are what is
 * applied while the child serializes, and a margin. Why the bytes: with a log share
 * (--snapshot-log-share, default 2) a node waits, rightly, with any number of entries past its
 * snapshot until the bytes applied since the last one began weigh 1/share of its size (small
 * appends to large values); it is due by its bytes when they do, when a snapshot is being
 * taken (it was due when it began), or when one failed since its last snapshot (the host
 * starts none that is not due; after a failure it waits for the bytes again).
 *
 * Stalled: over the bound, with no snapshot taken or installed (its snapshot index did not
 * move), for compaction_stall_ns (10 s) of answers in a row. Not a false alarm on:
 *   - a snapshot in progress: a child serializes a nemesis run's kv (a few thousand keys at
 *     most) in milliseconds, 100,000 keys in 50-400 ms (docs/server.md); 10 s is 25 times the
 *     slowest, for a child at nice 19 on a loaded machine. Any snapshot taken restarts the
 *     clock: a node whose snapshots are slower than its writes is slow, not stalled, and its
 *     log stays bounded by what it applies during one snapshot.
 *   - a node killed or restarted: a new process starts a new window (its replay and its
 *     catching up come with snapshots of their own, or an installed one: both move the index).
 *   - a node paused or partitioned: a paused node does not answer, and answers more than
 *     1 s apart restart the window (only time a node demonstrably ran counts); a cut-off node
 *     applies nothing, so it does not go over the bound.
 * A run shorter than the window plus the time to go over the bound cannot see a stall. */
#include "nem_int.h"

#include <stdio.h>

#define ANSWER_GAP_NS (1 * FL_NS_PER_S)

bool nem_snap_state_parse(const nem_reply *r, nem_snap_state *s)
{
    s->timeouts = 0; /* a node without the watchdog (before session 9) does not say */
    (void)nem_proto_status_field(r, "snapshot_timeouts:", &s->timeouts);
    return nem_proto_status_field(r, "snapshot_every:", &s->every) &&
           nem_proto_status_field(r, "snapshot_log_share:", &s->share) &&
           nem_proto_status_field(r, "snapshot_bytes:", &s->bytes) &&
           nem_proto_status_field(r, "snapshot_applied_bytes:", &s->applied_bytes) &&
           nem_proto_status_field(r, "snapshot_running:", &s->running) &&
           nem_proto_status_field(r, "snapshot_failures:", &s->failures) &&
           nem_proto_status_field(r, "snapshots_taken:", &s->taken) &&
           nem_proto_status_field(r, "snapshot_index:", &s->snapshot_index) &&
           nem_proto_status_field(r, "applied_index:", &s->applied);
}

/* The first answer of a new process: its counters start from 0, its window is closed. */
static void new_process(nem_compact *k, uint32_t start, const nem_snap_state *s, fl_time_ns now)
{
    k->base_taken += k->taken;
    k->base_failures += k->failures;
    k->base_timeouts += k->timeouts;
    k->taken = k->failures = k->timeouts = 0;
    k->failures_mark = 0;
    k->start = start;
    k->snap = s->snapshot_index;
    k->last = now;
    k->over_since = FL_TIME_NEVER;
}

static bool over_bound(const nem_compact *k, const nem_snap_state *s)
{
    if (!s->every || s->applied < s->snapshot_index)
        return false; /* snapshots off; or an install under way (applied catches up) */
    uint64_t past = s->applied - s->snapshot_index;
    bool due_bytes = !s->share || s->share * s->applied_bytes >= s->bytes || s->running ||
                     s->failures > k->failures_mark;
    return past > FL_NEM_COMPACT_FACTOR * s->every && due_bytes;
}

static void report(const nem_compact *k, fl_nem_compaction *c, const nem_snap_state *s)
{
    c->known = true;
    c->every = s->every;
    c->log_share = s->share;
    c->snapshots_taken = k->base_taken + s->taken;
    c->failures = k->base_failures + s->failures;
    c->timeouts = k->base_timeouts + s->timeouts;
    c->snapshot_index = s->snapshot_index;
    c->applied_index = s->applied;
    c->snapshot_running = s->running;
    uint64_t past = s->applied > s->snapshot_index ? s->applied - s->snapshot_index : 0;
    if (past > c->entries_past_max)
        c->entries_past_max = past;
}

bool nem_compact_fold(nem_compact *k, fl_nem_compaction *c, uint32_t start, const nem_snap_state *s,
                      fl_time_ns now, fl_time_ns stall_ns)
{
    if (!c->known || k->start != start)
        new_process(k, start, s, now);
    bool progress = s->snapshot_index != k->snap;
    bool gap = now - k->last > ANSWER_GAP_NS;
    k->snap = s->snapshot_index;
    k->last = now;
    k->taken = s->taken;
    k->failures = s->failures;
    k->timeouts = s->timeouts;
    if (progress)
        k->failures_mark = s->failures;
    bool over = over_bound(k, s);
    if (!over)
        k->over_since = FL_TIME_NEVER;
    else if (progress || gap || k->over_since == FL_TIME_NEVER)
        k->over_since = now;
    report(k, c, s);
    if (!over)
        return false;
    fl_time_ns d = now - k->over_since;
    if (d > c->overdue_max_ns)
        c->overdue_max_ns = d;
    if (c->stalled || !stall_ns || d < stall_ns)
        return false;
    c->stalled = true;
    return true;
}

void nem_compact_sample(nem *n, nem_node *x, const nem_reply *r)
{
    nem_snap_state s;
    if (!nem_snap_state_parse(r, &s))
        return; /* not a faultline node of this version: nothing to judge */
    fl_nem_node_report *rep = &n->res->node[x->id - 1];
    fl_nem_compaction *c = &rep->compaction;
    if (!nem_compact_fold(&x->cp, c, rep->starts, &s, fl_loop_now(&n->loop),
                          n->cfg->compaction_stall_ns))
        return;
    c->stalled_ns = nem_now(n);
    nem_say(n,
            "node %u: compaction stalled: %llu entries past its snapshot at %llu (every %llu), "
            "none taken for %.1f s",
            x->id, (unsigned long long)(s.applied - s.snapshot_index),
            (unsigned long long)s.snapshot_index, (unsigned long long)s.every,
            (double)c->overdue_max_ns / 1e9);
}

void nem_compact_end(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++)
        n->res->node[i - 1].compaction.up_at_end = n->node[i].pid > 0;
}
