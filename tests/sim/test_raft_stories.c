/* test_raft_stories.c: scripted simulator stories. Each test reads as a story: build a
 * cluster, cause something, check what Raft promises. Safety is checked after every event
 * by the cluster checker in every story. */
#include "raft_story.h"

#include "faultline/error.h"
static uint32_t story_mutants; /* planted bugs for the next begin() */

static void begin_torn(uint32_t n, bool pre_vote, uint64_t seed, double torn)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = pre_vote;
    rc.mutants = story_mutants;
    fl_sim_config sc;
    story_sim_config(&sc, n, seed);
    sc.crash_mode = torn > 0 ? FL_SIM_CRASH_RANDOM_PREFIX : FL_SIM_CRASH_LOSE_UNSYNCED;
    sc.torn = torn;
    story_create(&rc, &sc);
    story_start();
}

static void begin(uint32_t n, bool pre_vote, uint64_t seed)
{
    begin_torn(n, pre_vote, seed, 0.0);
}

static int leaders_in_term(fl_term t)
{
    int count = 0;
    for (fl_node_id id = 1; id <= S.n; id++)
        if (node(id) && fl_raft_role_of(node(id)) == FL_RAFT_LEADER &&
            fl_raft_term_of(node(id)) == t)
            count++;
    return count;
}

TEST(story_three_nodes_elect_one_leader_and_keep_it)
{
    begin(3, true, 1);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_term t = fl_raft_term_of(node(l));
    CHECK_EQ(leaders_in_term(t), 1);
    run_for_ms(5000); /* quiet network: the leader keeps its term */
    CHECK_EQ(leader(), l);
    CHECK(fl_raft_term_of(node(l)) == t);
    for (fl_node_id id = 1; id <= 3; id++)
        CHECK_EQ(fl_raft_leader_of(node(id)), l);
    end();
}

TEST(story_leader_crash_then_reelection_and_catch_up)
{
    begin(3, true, 2);
    run_for_ms(1000);
    fl_node_id old = leader();
    CHECK(old != 0);
    fl_term t = fl_raft_term_of(node(old));
    fl_index idx = propose(old, "before-crash");
    CHECK(idx != 0);
    run_for_ms(100);
    fl_sim_crash(S.sim, old);
    run_for_ms(1500);
    fl_node_id now = leader();
    CHECK(now != 0 && now != old);
    CHECK(fl_raft_term_of(node(now)) > t);
    CHECK(fl_raft_commit_of(node(now)) >= idx); /* committed before the crash: kept */
    fl_index idx2 = propose(now, "after-crash");
    fl_sim_restart(S.sim, old);
    run_for_ms(1000);
    CHECK_EQ(fl_raft_role_of(node(old)), FL_RAFT_FOLLOWER);
    CHECK(fl_raft_commit_of(node(old)) >= idx2);
    end();
}

TEST(story_partitioned_leader_loses_its_uncommitted_entries)
{
    begin(5, true, 3);
    run_for_ms(1000);
    fl_node_id old = leader();
    CHECK(old != 0);
    fl_term old_term = fl_raft_term_of(node(old));
    isolate(old);
    fl_index stranded = propose(old, "stranded-1");
    propose(old, "stranded-2");
    CHECK(stranded != 0);
    run_for_ms(2000);
    fl_node_id now = leader();
    CHECK(now != 0 && now != old);
    CHECK(fl_raft_role_of(node(old)) != FL_RAFT_LEADER); /* check-quorum deposed it */
    for (int i = 0; i < 5; i++)
        propose(now, "majority");
    run_for_ms(500);
    CHECK(fl_raft_commit_of(node(now)) >= stranded + 1);
    fl_sim_heal(S.sim);
    run_for_ms(1000);
    /* the old leader's entries at those indexes were replaced by the new leader's */
    CHECK(fl_raft_term_at(node(old), stranded) > old_term);
    CHECK(fl_raft_term_at(node(old), stranded) == fl_raft_term_at(node(now), stranded));
    CHECK(fl_raft_commit_of(node(old)) == fl_raft_commit_of(node(now)));
    end();
}

TEST(story_follower_catches_up_after_long_partition)
{
    begin(3, true, 4);
    run_for_ms(1000);
    fl_node_id l = leader();
    fl_node_id f = l % 3 + 1;
    isolate(f);
    fl_index last = 0;
    for (int i = 0; i < 200; i++) {
        fl_index idx = propose(leader(), "entry");
        if (idx)
            last = idx;
        run_for_ms(10);
    }
    CHECK(last > 100);
    fl_index behind = fl_raft_commit_of(node(f));
    CHECK(behind < last);
    fl_sim_heal(S.sim);
    run_for_ms(1000);
    CHECK(fl_raft_commit_of(node(f)) >= last);
    CHECK(fl_raft_last_index(node(f)) == fl_raft_last_index(node(leader())));
    end();
}

static fl_term isolated_rejoin_term_growth(bool pre_vote)
{
    begin(3, pre_vote, 5);
    run_for_ms(1000);
    fl_node_id l = leader();
    fl_term t = fl_raft_term_of(node(l));
    fl_node_id f = l % 3 + 1;
    isolate(f);
    run_for_ms(3000);
    fl_sim_heal(S.sim);
    run_for_ms(1000);
    fl_term growth = fl_raft_term_of(node(leader())) - t;
    end();
    return growth;
}

TEST(story_pre_vote_keeps_a_rejoining_node_from_inflating_terms)
{
    /* Without pre-vote the isolated follower campaigns again and again, and on rejoining its
     * high term deposes the leader; with pre-vote it never raises its term. */
    CHECK_EQ(isolated_rejoin_term_growth(true), 0);
    CHECK(isolated_rejoin_term_growth(false) > 0);
}

TEST(story_check_quorum_makes_isolated_leader_step_down)
{
    begin(3, true, 6);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    isolate(l);
    /* within two election timeouts (2 x [150, 300) ms) it notices it lost its quorum */
    run_for_ms(700);
    CHECK(fl_raft_role_of(node(l)) != FL_RAFT_LEADER);
    end();
}

TEST(story_failed_fsync_stops_the_node)
{
    begin(3, true, 7);
    run_for_ms(1000);
    fl_node_id l = leader();
    fl_sim_disk_fail_next_sync(S.sim, l);
    propose(l, "doomed");
    run_for_ms(100);
    CHECK_EQ(fl_sim_node_state_of(S.sim, l), FL_SIM_NODE_DOWN);
    CHECK(strstr(fl_sim_reason(S.sim, l), "fsync") != NULL);
    CHECK_EQ(S.rs.stats.fsync_failures, 1);
    run_for_ms(1000);
    CHECK(leader() != 0 && leader() != l); /* the others carry on */
    end();
}

TEST(story_corrupt_record_is_detected_at_restart)
{
    begin(3, true, 8);
    run_for_ms(1000);
    fl_node_id f = leader() % 3 + 1;
    for (int i = 0; i < 5; i++)
        propose(leader(), "data");
    run_for_ms(200);
    fl_sim_crash(S.sim, f);
    /* a payload byte of the first WAL record (at 32, after the segment header; its own header
     * is 16 bytes): valid records follow, so it is corruption, not a tear */
    CHECK_EQ(fl_sim_disk_corrupt_file(S.sim, f, "wal-00000000000000000001.seg", 50, 0x40), 0);
    fl_sim_restart(S.sim, f);
    CHECK_EQ(fl_sim_node_state_of(S.sim, f), FL_SIM_NODE_DOWN);
    const char *why = fl_sim_reason(S.sim, f);
    CHECK(strstr(why, "checksum") != NULL);
    CHECK(strstr(why, "wal-00000000000000000001.seg") != NULL); /* names file and offset */
    CHECK(strstr(why, "record seq 1 at byte offset 32") != NULL);
    CHECK_EQ(S.rs.stats.corrupt_refused, 1);
    end();
}

TEST(story_torn_last_write_is_discarded_at_restart)
{
    /* Every crash tears the last unsynced record that survives; the node must find it by its
     * checksum, drop it, start, and catch up. Some seeds leave no unsynced survivor, so run
     * until a tear has happened several times. */
    uint64_t torn = 0;
    for (uint64_t seed = 10; seed < 60 && torn < 3; seed++) {
        begin_torn(3, true, seed, 1.0);
        run_for_ms(1000);
        fl_node_id l = leader(), f = l % 3 + 1;
        for (int i = 0; i < 20; i++)
            propose(l, "x");
        fl_sim_run_until(S.sim, fl_sim_time(S.sim) + 1500 * FL_NS_PER_US);
        fl_sim_crash(S.sim, f); /* writes in flight, not yet synced */
        fl_sim_restart(S.sim, f);
        CHECK_EQ(fl_sim_node_state_of(S.sim, f), FL_SIM_NODE_UP);
        torn += S.rs.stats.torn_discarded;
        run_for_ms(1000);
        CHECK(fl_raft_commit_of(node(f)) == fl_raft_commit_of(node(leader())));
        end();
    }
    CHECK(torn >= 3);
}

/* Pre-vote refuses a candidate only while the voter hears from a live leader. The
 * prevote-stale-leader mutant refuses it whenever the voter knows of a leader of its term,
 * however long ago it heard from it: once that leader crashes nobody wins a pre-vote again,
 * and the term never moves. Returns whether a new leader took over within 20 timeouts. */
static bool replaced_after_leader_crash(uint32_t mutants)
{
    story_mutants = mutants;
    begin(3, true, 21);
    story_mutants = 0;
    run_for_ms(2000);
    fl_node_id old = leader();
    CHECK(old != 0);
    fl_term t = old ? fl_raft_term_of(node(old)) : 0;
    fl_sim_crash(S.sim, old);
    run_for_ms(3000);
    fl_node_id now = leader();
    bool replaced = now != 0 && now != old && fl_raft_term_of(node(now)) > t;
    end();
    return replaced;
}

TEST(story_a_crashed_leader_is_replaced_unless_voters_trust_it_forever)
{
    CHECK(replaced_after_leader_crash(0));
    CHECK(!replaced_after_leader_crash(FL_RAFT_MUTANT_PREVOTE_STALE_LEADER));
}

/* State machine safety covers what is applied, not only what is committed: a node that
 * hands an entry to its state machine before the cluster committed it is reported, and the
 * same story without the planted bug is clean. */
TEST(story_applying_an_uncommitted_entry_is_a_violation)
{
    begin(3, true, 5);
    run_for_ms(1000);
    CHECK(leader() != 0);
    fl_node_id l = leader();
    isolate(l); /* the leader alone: its entry cannot commit, and nobody applies it */
    CHECK(propose(l, "x") != 0);
    run_for_ms(100);
    end();
    story_mutants = FL_RAFT_MUTANT_APPLY_BEFORE_COMMIT;
    begin(3, true, 5);
    story_mutants = 0;
    run_for_ms(1000);
    const fl_sim_violation *v = fl_sim_get_violation(S.sim);
    CHECK(v->found);
    CHECK(v->found && strstr(v->reason, "state machine safety") != NULL);
    CHECK(v->found && strstr(v->reason, "is not committed") != NULL);
    fl_sim_destroy(S.sim);
    fl_raft_sim_free(&S.rs);
}
