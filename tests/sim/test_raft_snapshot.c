/* test_raft_snapshot.c: scripted stories about snapshots and log compaction. Every node
 * snapshots a stand-in state every 20 applied entries and keeps 5 entries behind it; chunks
 * are 128 bytes, so one InstallSnapshot takes about nine round trips. Safety, the applied
 * digest against the committed chain and the restores are checked after every event. */
#include "raft_story.h"

#include "faultline/error.h"

#include <string.h>

#include "sim/cons_sim_int.h" /* a node's host: where its snapshot's bytes are held */

static void begin_phased(uint32_t n, uint64_t seed, uint32_t mutants, double torn, bool phases)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.snapshot_chunk_bytes = 128;
    rc.snapshot_trailing = 5;
    rc.mutants = mutants;
    fl_sim_config sc;
    story_sim_config(&sc, n, seed);
    sc.quiet = true;
    sc.crash_mode = torn > 0 ? FL_SIM_CRASH_RANDOM_PREFIX : FL_SIM_CRASH_LOSE_UNSYNCED;
    sc.torn = torn;
    story_create(&rc, &sc);
    S.rs.snapshot_every = 20;
    S.rs.snapshot_phases = phases;
    story_start();
}

static void begin_with(uint32_t n, uint64_t seed, uint32_t mutants, double torn)
{
    begin_phased(n, seed, mutants, torn, false);
}

static void begin(uint32_t n, uint64_t seed)
{
    begin_with(n, seed, 0, 0.0);
}

/* n entries through whoever leads, 5 ms apart; returns the last index proposed. */
static fl_index propose_many(int n)
{
    fl_index last = 0;
    for (int i = 0; i < n; i++) {
        fl_node_id l = leader();
        fl_index idx = l ? propose(l, "entry") : 0;
        if (idx)
            last = idx;
        run_for_ms(5);
    }
    return last;
}

/* Runs in 100 us steps until node id has staged part of a snapshot (at most 2 s). */
static bool run_until_mid_transfer(fl_node_id id)
{
    for (int i = 0; i < 20000; i++) {
        const fl_raft *r = node(id);
        uint64_t staged = 0;
        const fl_raft_snapshot_meta *m = r ? fl_raft_staging_of(r, &staged) : NULL;
        if (m && m->index && staged > 0 && staged < m->size)
            return true;
        fl_sim_run_until(S.sim, fl_sim_time(S.sim) + 100 * FL_NS_PER_US);
    }
    return false;
}

/* Whether node id has neither a snapshot job out (env.snapshot_start: the bytes come back
 * 1-500 ms after the trigger, as a forked child's; cons_sim.h) nor a snapshot file not yet
 * written (queued for the next sync job, or that job running). */
static bool snapshot_settled(fl_node_id id)
{
    const cs_node *n = fl__cs_node(S.sim, id);
    return n && !n->job && !n->h.store.snap_next_ready && !n->h.store.syncing;
}

/* Whether node id's snapshot file is its snapshot's: none queued, none in a running job. */
static bool snapshot_file_settled(fl_node_id id)
{
    const cs_node *n = fl__cs_node(S.sim, id);
    return n && !n->h.store.snap_next_ready && !n->h.store.job_snap_ready;
}

/* Runs in 1 ms steps until every node's snapshot has settled, then 10 ms more (the rename's
 * directory sync: 2 ms), at most 1 s. */
static void run_until_snapshots_done(void)
{
    for (int i = 0; i < 1000; i++) {
        bool settled = true;
        for (fl_node_id id = 1; id <= fl_sim_nodes(S.sim); id++)
            settled &= snapshot_settled(id);
        if (settled) {
            run_for_ms(10);
            return;
        }
        run_for_ms(1);
    }
    CHECK(!"a snapshot job outlived 1 s");
}

static void check_caught_up(fl_node_id f, fl_index last)
{
    fl_node_id l = leader();
    CHECK(l != 0);
    CHECK(fl_raft_commit_of(node(f)) >= last);
    CHECK(fl_raft_last_index(node(f)) == fl_raft_last_index(node(l)));
    CHECK(fl_raft_term_at(node(f), last) == fl_raft_term_at(node(l), last));
}

TEST(story_partitioned_follower_catches_up_by_install_snapshot)
{
    begin(3, 21);
    run_for_ms(1000);
    fl_node_id l = leader(), f = l % 3 + 1;
    isolate(f);
    fl_index last = propose_many(100);
    CHECK(last > 90);
    /* the leader compacted far past everything the follower has */
    CHECK(fl_raft_first_index(node(l)) > fl_raft_last_index(node(f)) + 1);
    CHECK_EQ(S.rs.stats.snapshots_installed, 0);
    run_for_ms(20); /* the last snapshot's file job done */
    /* the chunks come from the leader's snapshot file, a view of it, not a copy (issue 16);
     * the restores and digests checked after every event say the follower got it right */
    const fl_host *lh = &fl__cs_node(S.sim, l)->h;
    CHECK(lh->snap_view.data != NULL && lh->snap.data >= lh->snap_view.data &&
          lh->snap.data + lh->snap.len <= lh->snap_view.data + lh->snap_view.len);
    CHECK(lh->stats.snapshot_views >= 1);
    fl_sim_heal(S.sim);
    run_for_ms(1000);
    check_caught_up(f, last);
    CHECK(S.rs.stats.snapshots_installed >= 1);
    /* and the follower's installed one, once durable, is a view of its own file */
    CHECK(fl__cs_node(S.sim, f)->h.snap_view.data != NULL);
    CHECK(S.rs.stats.snapshot_chunks_sent >= 9); /* 1 KiB in 128-byte chunks */
    CHECK(fl_raft_snapshot_of(node(f))->index > 0);
    CHECK(fl_raft_first_index(node(f)) > 1); /* its log now starts after a snapshot */
    end();
}

/* Flips bits of a byte in the middle of leader l's snapshot bytes, in its file. */
static void rot_snapshot_file(fl_node_id l)
{
    const fl_host *lh = &fl__cs_node(S.sim, l)->h;
    uint64_t off = (uint64_t)(lh->snap.data - lh->snap_view.data) + lh->snap.len / 2;
    CHECK_EQ(fl_sim_disk_corrupt_file(S.sim, l, "snapshot", off, 0x10), 0);
}

/* Another node leads in l's place, and follower f caught up to last by a snapshot. */
static void check_taken_over(fl_node_id l, fl_node_id f, fl_index last)
{
    fl_node_id now = leader();
    CHECK(now != 0 && now != l);
    CHECK(fl_raft_commit_of(node(f)) >= last);
    CHECK(node(f)->snapshots_installed >= 1);
}

/* Proposes at leader l, 5 ms apart, until a snapshot's bytes at l just became a view of its
 * file, no chunk sent from it yet, with f cut off behind l's log (at most 200 entries). */
static bool propose_until_fresh_view(fl_node_id l, fl_node_id f)
{
    const fl_host *lh = &fl__cs_node(S.sim, l)->h;
    for (int i = 0; i < 200; i++) {
        propose(l, "entry");
        for (int j = 0; j < 500; j++) {
            if (lh->snap_view.data && !lh->snap_view_checked &&
                fl_raft_first_index(node(l)) > fl_raft_last_index(node(f)) + 1)
                return true;
            fl_sim_run_until(S.sim, fl_sim_time(S.sim) + 10 * FL_NS_PER_US);
        }
    }
    return false;
}

/* The leader's snapshot file changes on its disk after it was written (and mapped): before
 * the first chunk is sent from that view, its bytes are checked against the snapshot's CRC,
 * and the leader stops naming the file, instead of offering bytes every follower refuses for
 * ever. The others elect a leader whose snapshot brings the follower back. */
TEST(story_leader_whose_snapshot_file_rots_stops_before_sending_it)
{
    begin(3, 21);
    run_for_ms(1000);
    fl_node_id l = leader(), f = l % 3 + 1;
    isolate(f);
    fl_index last = propose_many(60);
    CHECK(propose_until_fresh_view(l, f));
    rot_snapshot_file(l);
    uint64_t crc_failures = node(f)->snapshot_crc_failures;
    fl_sim_heal(S.sim);
    run_for_ms(2000);
    /* the old leader stopped at its first chunk; the follower never saw a bad snapshot */
    CHECK_EQ(fl_sim_node_state_of(S.sim, l), FL_SIM_NODE_DOWN);
    const char *why = fl_sim_reason(S.sim, l);
    CHECK(strstr(why, "snapshot file") != NULL && strstr(why, "CRC") != NULL);
    CHECK_EQ(node(f)->snapshot_crc_failures, crc_failures);
    check_taken_over(l, f, last);
    end();
}

/* The same rot after the view was checked (chunks went towards the cut-off follower already):
 * the first chunk 5 s after that check checks it again, so the leader stops then rather than
 * never; the follower gets the new leader's snapshot. */
TEST(story_snapshot_file_rotting_after_its_check_is_caught_by_the_next_check)
{
    begin(3, 21);
    run_for_ms(1000);
    fl_node_id l = leader(), f = l % 3 + 1;
    isolate(f);
    fl_index last = propose_many(100);
    run_for_ms(200);
    const fl_host *lh = &fl__cs_node(S.sim, l)->h;
    CHECK(lh->snap_view.data != NULL && lh->snap_view_checked);
    rot_snapshot_file(l);
    fl_sim_heal(S.sim);
    run_for_ms(8000);
    CHECK_EQ(fl_sim_node_state_of(S.sim, l), FL_SIM_NODE_DOWN);
    CHECK(strstr(fl_sim_reason(S.sim, l), "CRC") != NULL);
    check_taken_over(l, f, last);
    end();
}

TEST(story_lossy_link_the_transfer_resumes_where_it_stopped)
{
    begin(3, 22);
    run_for_ms(1000);
    fl_node_id l = leader(), f = l % 3 + 1;
    isolate(f);
    fl_index last = propose_many(100);
    fl_sim_heal(S.sim);
    fl_sim_link bad;
    fl_sim_link_get(S.sim, l, f, &bad);
    bad.loss = 0.4; /* chunks and answers both get lost */
    fl_sim_link_set(S.sim, l, f, &bad);
    fl_sim_link_set(S.sim, f, l, &bad);
    run_for_ms(3000);
    check_caught_up(f, last);
    CHECK_EQ(S.rs.stats.snapshots_installed, 1);
    end();
}

TEST(story_leader_crashes_mid_transfer_and_the_new_leader_completes_it)
{
    begin(3, 23);
    run_for_ms(1000);
    fl_node_id old = leader(), f = old % 3 + 1;
    isolate(f);
    fl_index last = propose_many(100);
    fl_sim_heal(S.sim);
    CHECK(run_until_mid_transfer(f));
    fl_sim_crash(S.sim, old);
    run_for_ms(2000);
    fl_node_id now = leader();
    CHECK(now != 0 && now != old);
    CHECK(fl_raft_commit_of(node(f)) >= last);
    CHECK(node(f)->snapshots_installed >= 1); /* from the new leader: the old one is down */
    fl_sim_restart(S.sim, old);
    run_for_ms(1000);
    check_caught_up(old, last);
    end();
}

TEST(story_follower_crashes_mid_transfer_and_starts_it_again)
{
    begin(3, 24);
    run_for_ms(1000);
    fl_node_id l = leader(), f = l % 3 + 1;
    isolate(f);
    fl_index last = propose_many(100);
    fl_sim_heal(S.sim);
    CHECK(run_until_mid_transfer(f));
    fl_sim_crash(S.sim, f); /* what it staged was in memory only */
    fl_sim_restart(S.sim, f);
    CHECK_EQ(node(f)->stage.offset, 0);
    run_for_ms(2000);
    check_caught_up(f, last);
    CHECK(node(f)->snapshots_installed >= 1);
    end();
}

/* The old leader, cut off, appended 300 entries nobody else has; meanwhile the majority
 * committed 100 and compacted. Its log conflicts at the snapshot's last index, so installing
 * the snapshot discards all of it, and what follows comes from the new leader. */
static bool conflicting_suffix_story(uint32_t mutants)
{
    begin_with(3, 25, mutants, 0.0);
    run_for_ms(1000);
    fl_node_id old = leader();
    isolate(old);
    for (int i = 0; i < 300; i++)
        propose(old, "stranded");
    fl_index stranded_last = fl_raft_last_index(node(old));
    run_for_ms(1000);
    fl_index last = propose_many(100);
    fl_node_id now = leader();
    CHECK(now != old && last > 90);
    CHECK(fl_raft_snapshot_of(node(now))->index < stranded_last); /* its suffix is past it */
    fl_sim_heal(S.sim);
    run_for_ms(2000);
    if (!mutants) {
        check_caught_up(old, last);
        CHECK(fl_raft_last_index(node(old)) < stranded_last); /* the stranded entries are gone */
        CHECK(node(old)->snapshots_installed >= 1);
    }
    return end_found(mutants != 0);
}

TEST(story_follower_with_a_conflicting_suffix_discards_it)
{
    CHECK(!conflicting_suffix_story(0));
}

TEST(story_mutant_keeping_the_conflicting_suffix_is_caught)
{
    CHECK(conflicting_suffix_story(FL_RAFT_MUTANT_SNAPSHOT_KEEPS_SUFFIX));
}

TEST(story_whole_cluster_restarts_from_snapshots_and_logs)
{
    begin(3, 26);
    run_for_ms(1000);
    fl_index last = propose_many(75);
    run_for_ms(200);
    run_until_snapshots_done(); /* the story is the restart from them, not their timing */
    fl_index commit = fl_raft_commit_of(node(leader()));
    CHECK(commit >= last);
    size_t records[4];
    for (fl_node_id id = 1; id <= 3; id++) {
        CHECK(fl_raft_snapshot_of(node(id))->index >= 60);
        records[id] = fl_sim_disk_count(S.sim, id);
        CHECK(records[id] < 20); /* compacted behind the checkpoint: not one record per entry */
        fl_sim_crash(S.sim, id);
    }
    uint64_t restores = S.rs.stats.snapshot_restores;
    for (fl_node_id id = 1; id <= 3; id++) {
        fl_sim_restart(S.sim, id);
        const fl_raft *r = node(id);
        CHECK(r != NULL);
        CHECK(fl_raft_snapshot_of(r)->index >= 60);
        CHECK(fl_raft_first_index(r) == fl_raft_snapshot_of(r)->index + 1);
        CHECK(fl_raft_commit_of(r) == fl_raft_snapshot_of(r)->index); /* what it knows at once */
        CHECK(fl_raft_last_index(r) >= last); /* the log after the snapshot came back too */
    }
    CHECK_EQ(S.rs.stats.snapshot_restores, restores + 3);
    run_for_ms(1000);
    fl_index more = propose(leader(), "after-restart");
    CHECK(more > last);
    run_for_ms(200);
    for (fl_node_id id = 1; id <= 3; id++)
        CHECK(fl_raft_commit_of(node(id)) >= more);
    end();
}

/* Where each of three nodes took its last snapshot after 75 entries, every 20 applied. */
static void last_snapshots(bool phases, fl_index at[4])
{
    begin_phased(3, 26, 0, 0.0, phases);
    run_for_ms(1000);
    propose_many(75);
    run_for_ms(200);
    run_until_snapshots_done(); /* the ones triggered: where, not when they came back */
    for (fl_node_id id = 1; id <= 3; id++)
        at[id] = fl_raft_snapshot_of(node(id))->index;
    end();
}

/* As the server's members do (host.h, snapshot_phase_on), node i of 3 snapshots i-1 thirds
 * into the interval, so the three never snapshot together; in step, all at the same index. */
TEST(story_members_snapshot_at_their_own_phases)
{
    fl_index at[4];
    last_snapshots(false, at);
    CHECK(at[1] >= 60);
    CHECK_EQ(at[2], at[1]);
    CHECK_EQ(at[3], at[1]);
    last_snapshots(true, at);
    for (fl_node_id id = 1; id <= 3; id++) {
        fl_index phase = 20 * (id - 1) / 3; /* 0, 6, 13 entries past a multiple of 20 */
        CHECK(at[id] >= 40);
        CHECK((at[id] - phase) % 20 < 3); /* taken as applied passed its phase */
    }
    CHECK(at[1] != at[2] && at[2] != at[3] && at[1] != at[3]);
}

TEST(story_checkpoint_torn_in_a_crash_leaves_the_previous_one)
{
    /* Crash a follower right after it wrote a checkpoint, before the sync: the torn record
     * is discarded at restart and the node starts from the checkpoint before it. */
    uint64_t seen = 0;
    for (uint64_t seed = 30; seed < 60 && seen < 2; seed++) {
        begin_with(3, seed, 0, 1.0);
        run_for_ms(1000);
        fl_node_id f = leader() % 3 + 1;
        fl_index before = 0;
        bool caught = false;
        /* before: the newest snapshot whose file is in place (settled 5 ms: the rename's
         * directory sync done); a snapshot's bytes come 1-500 ms after its trigger
         * (cons_sim.h), so it may be older than the node's, and it is looked for over 500 ms */
        fl_time_ns settled_at = FL_TIME_NEVER;
        for (int i = 0; i < 1000 && !caught; i++) {
            fl_time_ns now = fl_sim_time(S.sim);
            fl_index prev = fl_raft_snapshot_of(node(f))->index;
            settled_at = !snapshot_file_settled(f)     ? FL_TIME_NEVER
                         : settled_at == FL_TIME_NEVER ? now
                                                       : settled_at;
            if (settled_at != FL_TIME_NEVER && now - settled_at >= 5 * FL_NS_PER_MS)
                before = prev;
            propose(leader(), "x");
            fl_sim_run_until(S.sim, fl_sim_time(S.sim) + 500 * FL_NS_PER_US);
            caught = before > 0 && prev == before && fl_raft_snapshot_of(node(f))->index > prev;
        }
        CHECK(caught);
        fl_index newer = fl_raft_snapshot_of(node(f))->index;
        fl_sim_crash(S.sim, f);
        fl_sim_restart(S.sim, f);
        CHECK_EQ(fl_sim_node_state_of(S.sim, f), FL_SIM_NODE_UP);
        fl_index got = fl_raft_snapshot_of(node(f))->index;
        CHECK(got == before || got == newer);
        seen += got == before; /* the new checkpoint did not survive */
        run_for_ms(1000);
        CHECK(fl_raft_commit_of(node(f)) == fl_raft_commit_of(node(leader())));
        end();
    }
    CHECK(seen >= 2);
}
