/* test_nemesis_compact.c: the nemesis's compaction check (src/nemesis/compact.c) on made-up
 * answers, no process started: what counts as stalled, and what must not (a node waiting
 * for its log share's bytes, a node whose snapshots are slow, a restart, a pause). The real
 * thing, a snapshot child hung by the disk shim, is test_nemesis's. */
#include "test.h"

#include "nemesis/nem_int.h"

#include <string.h>

#define MS     FL_NS_PER_MS
#define S      FL_NS_PER_S
#define WINDOW (10 * S)

typedef struct rig {
    nem_compact k;
    fl_nem_compaction c;
    nem_snap_state s;
    uint32_t start;
    fl_time_ns now;
    int stalls; /* times the fold said "just stalled" */
} rig;

static void rig_init(rig *r, uint64_t every, uint64_t share)
{
    memset(r, 0, sizeof(*r));
    r->s.every = every;
    r->s.share = share;
    r->start = 1;
    r->now = S;
}

/* One answer now, then time passes by step. */
static void answer(rig *r, fl_time_ns step)
{
    r->stalls += nem_compact_fold(&r->k, &r->c, r->start, &r->s, r->now, WINDOW);
    r->now += step;
}

/* d of answers every 10 ms, applying rate entries per answer (and 100 bytes each). */
static void run_for(rig *r, fl_time_ns d, uint64_t rate)
{
    for (fl_time_ns t = 0; t < d; t += 10 * MS) {
        r->s.applied += rate;
        if (r->s.share)
            r->s.applied_bytes += 100 * rate;
        answer(r, 10 * MS);
    }
}

/* A snapshot of everything applied, taken now. */
static void snapshot(rig *r)
{
    r->s.snapshot_index = r->s.applied;
    r->s.taken++;
    r->s.running = 0;
    r->s.applied_bytes = 0;
}

TEST(compaction_healthy_node_never_over_the_bound)
{
    rig r;
    rig_init(&r, 100, 0);
    for (int i = 0; i < 3000; i++) { /* 30 s, 20 entries per answer, a snapshot every 150 */
        run_for(&r, 10 * MS, 20);
        if (r.s.applied - r.s.snapshot_index >= 150)
            snapshot(&r);
    }
    CHECK(r.c.known);
    CHECK(!r.c.stalled);
    CHECK_EQ(r.stalls, 0);
    CHECK_EQ(r.c.overdue_max_ns, 0);
    CHECK(r.c.entries_past_max < 400 && r.c.snapshots_taken > 100);
}

TEST(compaction_hung_snapshot_stalls_after_the_window_not_before)
{
    rig r;
    rig_init(&r, 100, 0);
    run_for(&r, S, 10);
    snapshot(&r);
    r.s.running = r.s.applied; /* begun, never done */
    run_for(&r, 500 * MS, 10); /* past the bound (400) after 410 ms */
    CHECK(!r.c.stalled);
    run_for(&r, 9800 * MS, 10); /* 9.8 s past the bound: not yet */
    CHECK(!r.c.stalled);
    CHECK(r.c.overdue_max_ns < WINDOW);
    run_for(&r, 300 * MS, 10);
    CHECK(r.c.stalled);
    CHECK_EQ(r.stalls, 1);
    run_for(&r, 5 * S, 10); /* said once */
    CHECK_EQ(r.stalls, 1);
    /* with the window off (0) nothing is judged */
    rig q;
    rig_init(&q, 100, 0);
    for (int i = 0; i < 2000; i++) {
        q.s.applied += 10;
        CHECK(!nem_compact_fold(&q.k, &q.c, 1, &q.s, q.now, 0));
        q.now += 10 * MS;
    }
    CHECK(!q.c.stalled && q.c.overdue_max_ns > WINDOW);
}

TEST(compaction_log_share_waiting_for_bytes_is_not_a_stall)
{
    rig r;
    rig_init(&r, 100, 2);
    r.s.bytes = 10 << 20;    /* a 10 MiB snapshot: due after 5 MiB of entries (52,429 of 100 B) */
    run_for(&r, 20 * S, 20); /* 40,000 entries: 100 times the entry bound, 4 MB */
    CHECK(r.s.applied >= 400 * 100);
    CHECK(!r.c.stalled);
    CHECK_EQ(r.c.overdue_max_ns, 0);
    /* once due by its bytes too (at 52,429 entries), a node that takes none is over */
    run_for(&r, 20 * S, 20);
    CHECK(r.c.stalled);
}

TEST(compaction_running_or_failed_snapshot_counts_as_due)
{
    rig r;
    rig_init(&r, 100, 2);
    r.s.bytes = 10 << 20;
    r.s.running = 1; /* begun when due: its bytes no longer matter */
    run_for(&r, 11 * S, 10);
    CHECK(r.c.stalled);
    /* a failure since the last snapshot: due, though the host waits for bytes again */
    rig f;
    rig_init(&f, 100, 2);
    f.s.bytes = 10 << 20;
    run_for(&f, S, 10);
    f.s.failures = 1;
    f.s.applied_bytes = 0;
    run_for(&f, 11 * S, 10);
    CHECK(f.c.stalled);
    CHECK_EQ(f.c.failures, 1);
    /* ... until a snapshot is taken: the failure is behind it */
    rig h;
    rig_init(&h, 100, 2);
    h.s.bytes = 10 << 20;
    run_for(&h, S, 10);
    h.s.failures = 1;
    run_for(&h, 10 * MS, 10);
    snapshot(&h);
    run_for(&h, 20 * S, 10);
    CHECK(!h.c.stalled);
}

TEST(compaction_slow_snapshots_are_not_a_stall)
{
    rig r;
    rig_init(&r, 100, 0);
    /* each snapshot takes 5 s to come while 500 entries a second are applied: always over
     * the bound (up to 2,500 past), yet a snapshot comes every 5 s */
    for (int i = 0; i < 8; i++) {
        run_for(&r, 200 * MS, 5); /* due: 100 entries past */
        uint64_t at = r.s.applied;
        r.s.running = at;
        run_for(&r, 5 * S, 5);
        r.s.snapshot_index = at;
        r.s.taken++;
    }
    CHECK(!r.c.stalled);
    CHECK(r.c.entries_past_max > 400 * 5);
    CHECK(r.c.overdue_max_ns < 6 * S);
}

TEST(compaction_restart_and_pause_open_a_new_window)
{
    rig r;
    rig_init(&r, 100, 0);
    r.s.running = 1;
    run_for(&r, 8 * S, 10);
    CHECK(!r.c.stalled && r.c.overdue_max_ns > 7 * S);
    /* restarted: a new process, counters from 0, its replay over the bound at once */
    r.start = 2;
    uint64_t taken = r.s.taken = 7;
    run_for(&r, 8 * S, 10);
    CHECK(!r.c.stalled);
    r.start = 3;
    r.s.taken = 2;
    run_for(&r, 10 * MS, 10);
    CHECK_EQ(r.c.snapshots_taken, taken + 2);
    /* paused for 3 s (no answers) in the middle: only time it answered counts */
    run_for(&r, 7 * S, 10);
    r.now += 3 * S;
    run_for(&r, 7 * S, 10);
    CHECK(!r.c.stalled);
    run_for(&r, 4 * S, 10);
    CHECK(r.c.stalled);
}

TEST(compaction_snapshots_off_or_installing_never_over)
{
    rig r;
    rig_init(&r, 0, 0);
    run_for(&r, 20 * S, 100);
    CHECK(r.c.known && !r.c.stalled && r.c.overdue_max_ns == 0);
    rig i;
    rig_init(&i, 100, 0);
    i.s.snapshot_index = 1000000; /* installed, applied not there yet */
    run_for(&i, 20 * S, 10);
    CHECK(!i.c.stalled && i.c.overdue_max_ns == 0);
}
