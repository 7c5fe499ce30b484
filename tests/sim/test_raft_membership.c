/* test_raft_membership.c: scripted stories of membership changes (joint consensus, learners)
 * in the simulator. Each reads as a story: a cluster, a change, what Raft promises. The
 * cluster checker (raft_check.h) runs after every event in every story. */
#include "raft_story.h"

#include "faultline/error.h"

/* n simulated nodes, of which nodes 1..voters are the bootstrap voters; the rest start empty,
 * outside the configuration. */
static void begin_mutants(uint32_t n, uint32_t voters, bool pre_vote, uint64_t seed,
                          uint32_t mutants)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = pre_vote;
    rc.mutants = mutants;
    fl_sim_config sc;
    story_sim_config(&sc, n, seed);
    sc.quiet = mutants != 0; /* the story checks the violation itself */
    story_create(&rc, &sc);
    S.rs.voters = voters;
    story_start();
}

static void begin(uint32_t n, uint32_t voters, bool pre_vote, uint64_t seed)
{
    begin_mutants(n, voters, pre_vote, seed, 0);
}

static void propose_many(fl_node_id at, int count)
{
    char cmd[32];
    for (int i = 0; i < count; i++) {
        snprintf(cmd, sizeof(cmd), "cmd-%d", i);
        propose(at, cmd);
    }
}

static const fl_raft_conf *conf_of(fl_node_id id)
{
    return fl_raft_conf_of(node(id));
}

static bool is_voter(fl_node_id at, fl_node_id id)
{
    return fl_raft_conf_is_voter(conf_of(at), id);
}

/* The change at the leader is done: C(new) is in force and committed. */
static bool settled(fl_node_id at)
{
    const fl_raft *r = node(at);
    return r && !fl_raft_conf_is_joint(fl_raft_conf_of(r)) &&
           fl_raft_conf_index_of(r) <= fl_raft_commit_of(r);
}

static fl_node_id other_than(fl_node_id a, fl_node_id b)
{
    for (fl_node_id id = 1; id <= S.n; id++)
        if (id != a && id != b && node(id) && is_voter(id, id))
            return id;
    return 0;
}

TEST(story_learner_joins_catches_up_and_is_promoted)
{
    begin(4, 3, true, 11);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    CHECK(!fl_raft_conf_is_member(conf_of(l), 4)); /* node 4 exists, empty, outside */
    CHECK_EQ(fl_raft_last_index(node(4)), 0);
    fl_sim_crash(S.sim, 4);
    CHECK_EQ(fl_raft_sim_add(S.sim, l, 4), 0); /* a learner: no joint phase needed */
    propose_many(l, 100);
    run_for_ms(500);
    CHECK(settled(l));
    CHECK(fl_raft_conf_is_learner(conf_of(l), 4));
    CHECK_EQ(S.rs.stats.joint_committed, 0);
    /* down, it has not caught up: promoting it would stall commitment, so it is refused */
    CHECK_EQ(fl_raft_sim_promote(S.sim, l, 4), FL_ELAGGING);
    fl_sim_restart(S.sim, 4);
    run_for_ms(1000);
    CHECK(fl_raft_last_index(node(4)) == fl_raft_last_index(node(l))); /* caught up */
    CHECK(fl_raft_conf_is_learner(conf_of(4), 4));                     /* and knows its role */
    CHECK_EQ(node(4)->elections_started, 0);                           /* never campaigned */
    CHECK_EQ(fl_raft_sim_promote(S.sim, l, 4), 0);
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, other_than(l, 4)), FL_EBUSY); /* one at a time */
    run_for_ms(500);
    CHECK(settled(l));
    CHECK(is_voter(l, 4) && conf_of(l)->n_voters == 4);
    CHECK_EQ(S.rs.stats.joint_committed, 1); /* a voter change goes through C(old,new) */
    CHECK_EQ(S.rs.stats.config_committed, 2);
    /* the new voter counts: with two of the old voters down, 2 of 4 is no majority, but the
     * promoted node and the leader plus one more are */
    fl_node_id f = other_than(l, 4);
    fl_sim_crash(S.sim, f);
    fl_index idx = propose(l, "after-promotion");
    run_for_ms(300);
    CHECK(fl_raft_commit_of(node(l)) >= idx);
    end();
}

static void link_learner(bool up);

/* Reads decided at node watch_read_id (an on_step hook): each ok one must be answerable from
 * the state applied in that same update. */
static fl_node_id watch_read_id;
static uint64_t watch_reads_ok, watch_reads_failed, watch_reads_early;

static void count_reads(void *arg, fl_node_id id, const fl_cons_core *c, const fl_cons_update *up)
{
    const fl_raft *r = fl_cons_raft(c);
    (void)arg;
    for (size_t i = 0; i < up->n_reads && id == watch_read_id; i++) {
        watch_reads_ok += up->reads[i].ok;
        watch_reads_failed += !up->reads[i].ok;
        watch_reads_early += up->reads[i].ok && up->reads[i].index > fl_raft_applied_of(r);
    }
}

/* A learner serves linearizable reads: it asks the leader for a read index and answers once
 * it has applied that far, never from behind it; a learner cut off from the leader fails its
 * read instead of answering. */
TEST(story_a_learner_serves_reads_by_read_index)
{
    begin(4, 3, true, 17);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    CHECK_EQ(fl_raft_sim_read(S.sim, 4, 1), FL_ENOTLEADER); /* outside, knows no leader */
    CHECK_EQ(fl_raft_sim_add(S.sim, l, 4), 0);
    run_for_ms(500);
    CHECK(fl_raft_conf_is_learner(conf_of(4), 4));
    CHECK_EQ(fl_raft_leader_of(node(4)), l);
    watch_read_id = 4;
    watch_reads_ok = watch_reads_failed = watch_reads_early = 0;
    S.rs.hooks.on_step = count_reads;
    for (uint64_t ctx = 1; ctx <= 20; ctx++) {
        propose_many(l, 5); /* the learner's state lags the leader's commit a little */
        CHECK_EQ(fl_raft_sim_read(S.sim, 4, ctx), 0);
        run_for_ms(20);
    }
    run_for_ms(200);
    CHECK_EQ(watch_reads_ok, 20);
    CHECK_EQ(watch_reads_failed, 0);
    CHECK_EQ(watch_reads_early, 0);
    CHECK_EQ(node(4)->follower_reads_served, 20);
    /* cut off: the read is not answered from the learner's stale state, it fails */
    link_learner(false);
    CHECK_EQ(fl_raft_sim_read(S.sim, 4, 99), 0);
    run_for_ms(1000);
    CHECK_EQ(watch_reads_ok, 20);
    CHECK_EQ(watch_reads_failed, 1);
    S.rs.hooks.on_step = NULL;
    end();
}

static void link_learner(bool up)
{
    for (fl_node_id id = 1; id <= 3; id++) {
        fl_sim_link_up(S.sim, id, 4, up);
        fl_sim_link_up(S.sim, 4, id, up);
    }
}

/* A learner cut off while 2000 entries commit, then asked for a read as soon as it hears the
 * leader again: the read index arrives long before the learner has caught up. Correct, it
 * waits; the follower-read-unapplied mutant answers from behind (the kv runs' checker sees
 * the stale values). Returns the reads answered ahead of apply. */
static uint64_t lagging_learner_read(uint32_t mutants)
{
    begin_mutants(4, 3, true, 17, mutants);
    run_for_ms(1000);
    fl_node_id l = leader();
    FL_ASSERT(l != 0 && fl_raft_sim_add(S.sim, l, 4) == 0);
    run_for_ms(500);
    link_learner(false);
    for (int i = 0; i < 40; i++) {
        propose_many(l, 50);
        run_for_ms(20);
    }
    link_learner(true);
    fl_time_ns cut_until = fl_sim_time(S.sim);
    for (int ms = 0; ms < 100 && node(4)->leader_contact < cut_until; ms++)
        run_for_ms(1); /* until the learner hears the leader again (its clock is the sim's) */
    watch_read_id = 4;
    watch_reads_ok = watch_reads_failed = watch_reads_early = 0;
    S.rs.hooks.on_step = count_reads;
    CHECK_EQ(fl_raft_sim_read(S.sim, 4, 1), 0);
    run_for_ms(500);
    CHECK_EQ(watch_reads_ok, 1);
    CHECK_EQ(fl_raft_applied_of(node(4)), fl_raft_commit_of(node(l))); /* caught up by now */
    S.rs.hooks.on_step = NULL;
    end();
    return watch_reads_early;
}

TEST(story_a_lagging_learner_waits_to_apply_and_the_mutant_does_not)
{
    CHECK_EQ(lagging_learner_read(0), 0);
    CHECK_EQ(lagging_learner_read(FL_RAFT_MUTANT_FOLLOWER_READ_UNAPPLIED), 1);
}

TEST(story_follower_is_removed_and_the_rest_carries_on)
{
    begin(3, 3, true, 12);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_node_id f = other_than(l, 0);
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, f), 0);
    run_for_ms(500);
    CHECK(settled(l));
    CHECK(!fl_raft_conf_is_member(conf_of(l), f));
    CHECK_EQ(conf_of(l)->n_voters, 2);
    CHECK_EQ(S.rs.stats.joint_committed, 1);
    fl_sim_crash(S.sim, f); /* gone for good: the two others are the whole cluster */
    fl_index idx = propose(l, "without-f");
    run_for_ms(300);
    CHECK(fl_raft_commit_of(node(l)) >= idx);
    CHECK_EQ(leader(), l);
    end();
}

/* AppendEntries sent by node watch_id (an on_step hook). */
static fl_node_id watch_id;
static uint64_t watch_appends;

static void count_appends(void *arg, fl_node_id id, const fl_cons_core *c, const fl_cons_update *up)
{
    (void)arg;
    (void)c;
    for (size_t i = 0; i < up->n_msgs && id == watch_id; i++)
        watch_appends += fl_raft_msgs_of(up)[i].type == FL_RAFT_MSG_APPEND;
}

TEST(story_leader_removes_itself_steps_down_and_the_rest_elects_a_leader)
{
    begin(3, 3, true, 13);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_term t = fl_raft_term_of(node(l));
    uint64_t campaigns = node(l)->elections_started;
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, l), 0);
    run_for_ms(100);
    /* it managed the change without being part of C(new), then stepped down */
    CHECK_EQ(fl_raft_role_of(node(l)), FL_RAFT_FOLLOWER);
    CHECK(!is_voter(l, l));
    CHECK_EQ(S.rs.stats.removed_stepdowns, 1);
    watch_id = l; /* from now on it sends no AppendEntries: no heartbeats from the removed */
    watch_appends = 0;
    S.rs.hooks.on_step = count_appends;
    run_for_ms(2000);
    CHECK_EQ(watch_appends, 0);
    fl_node_id now = leader();
    CHECK(now != 0 && now != l);
    CHECK(fl_raft_term_of(node(now)) > t);
    CHECK(!is_voter(now, l));
    CHECK_EQ(node(l)->elections_started, campaigns); /* outside: it never campaigns */
    fl_index idx = propose(now, "after");
    run_for_ms(300);
    CHECK(fl_raft_commit_of(node(now)) >= idx);
    end();
}

TEST(story_leader_crashes_while_joint_and_the_next_leader_finishes_the_change)
{
    begin(4, 3, true, 14);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    CHECK_EQ(fl_raft_sim_add(S.sim, l, 4), 0);
    run_for_ms(500);
    CHECK(settled(l));
    CHECK_EQ(fl_raft_sim_promote(S.sim, l, 4), 0); /* C(old,new) appended ... */
    run_for_ms(1);                                 /* ... and on its way to the followers */
    fl_sim_crash(S.sim, l);                        /* the leader dies before C(new) */
    run_for_ms(5);
    fl_node_id f = other_than(l, 0);
    CHECK(fl_raft_conf_is_joint(conf_of(f))); /* the followers use C(old,new) uncommitted */
    run_for_ms(2000);
    fl_node_id now = leader();
    CHECK(now != 0 && now != l);
    CHECK(S.rs.stats.joint_elections >= 1); /* elected by majorities of old and of new */
    CHECK(settled(now));                    /* and it appended and committed C(new) */
    CHECK(is_voter(now, 4) && conf_of(now)->n_voters == 4);
    fl_sim_restart(S.sim, l);
    run_for_ms(1000);
    CHECK(fl_raft_conf_equal(conf_of(l), conf_of(now)));
    end();
}

TEST(story_two_node_cluster_removes_a_node_safely)
{
    begin(2, 2, true, 15);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_node_id f = l == 1 ? 2 : 1;
    /* the joint configuration needs both: with f down, nothing commits, not even the change */
    fl_sim_crash(S.sim, f);
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, f), 0);
    fl_index idx = propose(l, "while-joint");
    run_for_ms(1000);
    CHECK(fl_raft_commit_of(node(l)) < idx);
    CHECK(fl_raft_conf_is_joint(conf_of(l)));
    fl_sim_restart(S.sim, f);
    run_for_ms(1000);
    l = leader();
    CHECK(l != 0 && settled(l));
    CHECK_EQ(conf_of(l)->n_voters, 1);
    f = l == 1 ? 2 : 1;
    CHECK(!is_voter(l, f));
    fl_sim_crash(S.sim, f); /* alone now, and a majority of itself */
    idx = propose(l, "alone");
    run_for_ms(200);
    CHECK(fl_raft_commit_of(node(l)) >= idx);
    end();
}

TEST(story_two_node_cluster_removes_its_leader)
{
    begin(2, 2, true, 16);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_node_id f = l == 1 ? 2 : 1;
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, l), 0);
    run_for_ms(2000);
    CHECK_EQ(fl_raft_role_of(node(l)), FL_RAFT_FOLLOWER);
    CHECK_EQ(leader(), f);
    CHECK(settled(f) && conf_of(f)->n_voters == 1);
    end();
}

/* With pre-vote its campaigns never raise a term; without, its vote requests at ever higher
 * terms reach nodes that hear their leader and are dropped (thesis 4.2.3): the followers
 * heard from the leader within an election timeout, and the leader heard from a quorum, with
 * or without check-quorum. Returns whether the leader and its term stood. */
static bool removed_node_story(bool pre_vote, bool check_quorum, uint32_t mutants)
{
    fl_raft_config rc;
    fl_raft_config_default(&rc, 1);
    rc.pre_vote = pre_vote;
    rc.check_quorum = check_quorum;
    rc.mutants = mutants;
    fl_sim_config sc;
    story_sim_config(&sc, 3, 17);
    story_create(&rc, &sc);
    story_start();
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_node_id f = other_than(l, 0);
    fl_sim_conn c;
    fl_sim_conn_isolate(&c, S.n, f);
    fl_sim_set_conn(S.sim, &c); /* f never hears of its removal ... */
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, f), 0);
    run_for_ms(1000);
    CHECK(settled(l));
    CHECK(is_voter(f, f)); /* ... so it still thinks it votes, and it campaigns */
    fl_term t = fl_raft_term_of(node(l));
    uint64_t others = S.rs.stats.elections - node(f)->elections_started;
    fl_sim_heal(S.sim);
    run_for_ms(3000);
    /* its requests reach the others, who refuse or drop them: the leader and its term stand */
    bool stood = leader() == l && fl_raft_term_of(node(l)) == t;
    if (!mutants) {
        CHECK(stood);
        CHECK(S.rs.stats.elections - node(f)->elections_started == others); /* none elsewhere */
        if (!pre_vote)
            CHECK(fl_raft_term_of(node(f)) > t); /* it did campaign, at terms above ours */
        fl_index idx = propose(l, "undisturbed");
        run_for_ms(300);
        CHECK(fl_raft_commit_of(node(l)) >= idx);
    }
    end();
    return stood;
}

TEST(story_a_removed_node_does_not_disrupt_the_cluster)
{
    CHECK(removed_node_story(true, true, 0));
    CHECK(removed_node_story(false, true, 0));
    CHECK(removed_node_story(true, false, 0));
    CHECK(removed_node_story(false, false, 0));
}

/* Without pre-vote and check-quorum only the leader's own lease keeps the removed node's
 * higher terms out; the leader-ignores-lease mutant lets them depose it. */
TEST(story_a_removed_node_deposes_a_leader_that_ignores_its_lease)
{
    CHECK(!removed_node_story(false, false, FL_RAFT_MUTANT_LEADER_IGNORES_LEASE));
    CHECK(removed_node_story(false, true, FL_RAFT_MUTANT_LEADER_IGNORES_LEASE));
}

TEST(story_a_learner_never_votes_never_campaigns_and_never_counts)
{
    begin(3, 2, true, 18);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0 && l != 3);
    CHECK_EQ(fl_raft_sim_add(S.sim, l, 3), 0);
    run_for_ms(500);
    CHECK(settled(l));
    CHECK(fl_raft_conf_is_learner(conf_of(3), 3));
    fl_node_id f = l == 1 ? 2 : 1;
    /* the other voter goes: leader + learner are not a majority of {1, 2} */
    fl_sim_crash(S.sim, f);
    fl_index idx = propose(l, "needs-two-voters");
    run_for_ms(1000);
    CHECK(fl_raft_commit_of(node(l)) < idx);
    CHECK(fl_raft_last_index(node(3)) >= idx); /* the learner has it, and it does not count */
    /* the leader goes too: the learner is alone and never campaigns */
    fl_term t = fl_raft_term_of(node(3));
    fl_sim_crash(S.sim, l);
    run_for_ms(3000);
    CHECK_EQ(fl_raft_role_of(node(3)), FL_RAFT_FOLLOWER);
    CHECK_EQ(node(3)->elections_started, 0);
    CHECK(fl_raft_term_of(node(3)) == t);
    end();
}

TEST(story_a_removed_leader_that_holds_what_the_others_lack_comes_back_to_finish)
{
    begin(2, 2, true, 19);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_node_id f = l == 1 ? 2 : 1;
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, l), 0);
    /* step until C(old,new) committed and C(new) appended, then cut f off before it gets it */
    for (int i = 0; i < 2000 && fl_raft_conf_is_joint(conf_of(l)); i++)
        fl_sim_run_until(S.sim, fl_sim_time(S.sim) + 10 * FL_NS_PER_US);
    CHECK(!fl_raft_conf_is_joint(conf_of(l)));
    fl_sim_conn c;
    fl_sim_conn_isolate(&c, S.n, f);
    fl_sim_set_conn(S.sim, &c);
    propose_many(l, 5); /* the removed leader holds more than f */
    run_for_ms(50);
    CHECK(fl_raft_conf_is_joint(conf_of(f))); /* f never saw C(new) */
    fl_sim_crash(S.sim, l);
    fl_sim_restart(S.sim, l);
    fl_sim_heal(S.sim);
    /* l's latest configuration leaves it out but is not known committed, and f (joint) needs
     * l's vote, which l refuses to a shorter log: l must campaign to finish the change */
    run_for_ms(3000);
    CHECK_EQ(leader(), f);
    CHECK(settled(f) && conf_of(f)->n_voters == 1);
    CHECK(!is_voter(l, l) && fl_raft_role_of(node(l)) == FL_RAFT_FOLLOWER);
    end();
}

TEST(story_an_uncommitted_change_cut_off_the_log_reverts_to_the_configuration_before)
{
    begin(3, 3, true, 20);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    fl_raft_conf before = *conf_of(l);
    fl_index before_index = fl_raft_conf_index_of(node(l));
    fl_sim_conn c;
    fl_sim_conn_isolate(&c, S.n, l);
    fl_sim_set_conn(S.sim, &c); /* the leader is cut off ... */
    fl_node_id f = other_than(l, 0);
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, f), 0); /* ... and appends C(old,new) alone */
    CHECK(fl_raft_conf_is_joint(conf_of(l)));     /* in force at once, uncommitted */
    fl_index joint_at = fl_raft_conf_index_of(node(l));
    run_for_ms(2000); /* the others elect a leader of a higher term and go on */
    fl_node_id now = leader();
    CHECK(now != 0 && now != l);
    propose(now, "the new leader's entry");
    fl_sim_heal(S.sim);
    run_for_ms(1000);
    /* the old leader's log lost the joint entry to the new leader's: back to what was before */
    CHECK(fl_raft_term_at(node(l), joint_at) == fl_raft_term_at(node(now), joint_at));
    CHECK(fl_raft_entry_at(node(l), joint_at)->type != FL_RAFT_ENTRY_CONFIG);
    CHECK(fl_raft_conf_equal(conf_of(l), &before));
    CHECK(fl_raft_conf_index_of(node(l)) == before_index);
    CHECK(fl_raft_conf_is_voter(conf_of(l), f));
    end();
}

TEST(story_the_removed_leader_heartbeats_mutant_is_caught_when_c_new_commits)
{
    begin_mutants(3, 3, true, 13, FL_RAFT_MUTANT_REMOVED_LEADER_HEARTBEATS);
    run_for_ms(1000);
    fl_node_id l = leader();
    CHECK(l != 0);
    CHECK_EQ(fl_raft_sim_remove(S.sim, l, l), 0);
    run_for_ms(100);
    CHECK_EQ(fl_raft_role_of(node(l)), FL_RAFT_LEADER); /* the bug: it stays */
    const fl_sim_violation *v = fl_sim_get_violation(S.sim);
    CHECK(v->found && strstr(v->reason, "removed leader") != NULL);
    fl_sim_destroy(S.sim);
    fl_raft_sim_free(&S.rs);
}
