/* test_raft_campaign.c: the randomized campaign (500+ seeds, 3 and 5 nodes, 10 s of virtual
 * time each, every fault kind), determinism of a seed, and the proof that the checks can
 * fail: classic Raft bugs, switched on one at a time, are caught within a bounded number of
 * seeds. */
#include "test.h"

#include "faultline/raft_chaos.h"
#include "faultline/run.h"

#include <stdio.h>
#include <string.h>

static void report_violation(const fl_chaos_config *c, const fl_chaos_result *r)
{
    char repro[256];
    fl_chaos_repro(c, repro, sizeof(repro));
    fprintf(stderr, "  seed %llu: %s (event %llu)\n  reproduce: %s\n%s\n",
            (unsigned long long)c->seed, r->reason, (unsigned long long)r->event, repro,
            r->trace_tail);
}

typedef struct snap_totals {
    uint64_t taken, chunks, installed, restores;
} snap_totals;

static void campaign_with(uint32_t nodes, uint64_t first, uint64_t count, uint32_t snapshot_every,
                          snap_totals *t)
{
    uint64_t violations = 0, dead = 0, worst_recover = 0;
    for (uint64_t seed = first; seed < first + count; seed++) {
        fl_chaos_config c;
        fl_chaos_config_default(&c);
        c.seed = seed;
        c.nodes = nodes;
        c.snapshot_every = snapshot_every;
        fl_chaos_result r;
        CHECK_EQ(fl_chaos_run(&c, &r), 0);
        if (t) {
            t->taken += r.snapshots_taken;
            t->chunks += r.snapshot_chunks_sent;
            t->installed += r.snapshots_installed;
            t->restores += r.snapshot_restores;
        }
        if (r.violation) {
            violations++;
            report_violation(&c, &r);
        } else if (!r.live) {
            dead++;
            fprintf(stderr, "  seed %llu: no commit within %llu ms of the heal\n",
                    (unsigned long long)seed, (unsigned long long)(c.liveness_ns / FL_NS_PER_MS));
        } else if (r.recover_ns > worst_recover) {
            worst_recover = r.recover_ns;
        }
        CHECK(r.proposals > 0);
        CHECK(r.nemesis_actions > 5);
    }
    printf("  %u nodes, seeds %llu..%llu: %llu violations, %llu not live, slowest recovery "
           "%.0f ms\n",
           nodes, (unsigned long long)first, (unsigned long long)(first + count - 1),
           (unsigned long long)violations, (unsigned long long)dead, worst_recover / 1e6);
    CHECK_EQ(violations, 0);
    CHECK_EQ(dead, 0);
}

static void campaign(uint32_t nodes, uint64_t first, uint64_t count)
{
    campaign_with(nodes, first, count, 0, NULL);
}

TEST(campaign_3_nodes_300_seeds)
{
    campaign(3, 1, 300);
}

TEST(campaign_5_nodes_200_seeds)
{
    campaign(5, 1001, 200);
}

/* Membership churn under every fault kind (crashes included): no violation, live after the
 * heal, and the changes really happen, including the hard cases: a leader that removes
 * itself, and a leader elected while the configuration is joint. */
static void churn_campaign(uint32_t nodes, uint64_t first, uint64_t count, uint32_t snapshot_every)
{
    uint64_t violations = 0, dead = 0, asked = 0, joint = 0, final = 0, stepdowns = 0,
             joint_elections = 0, installed = 0;
    for (uint64_t seed = first; seed < first + count; seed++) {
        fl_chaos_config c;
        fl_chaos_config_default(&c);
        c.seed = seed;
        c.nodes = nodes;
        c.churn = true;
        c.snapshot_every = snapshot_every;
        fl_chaos_result r;
        CHECK_EQ(fl_chaos_run(&c, &r), 0);
        if (r.violation) {
            violations++;
            report_violation(&c, &r);
        } else if (!r.live) {
            dead++;
            fprintf(stderr, "  seed %llu: no commit within %llu ms of the heal (--churn)\n",
                    (unsigned long long)seed, (unsigned long long)(c.liveness_ns / FL_NS_PER_MS));
        }
        asked += r.churn_asked;
        joint += r.joint_committed;
        final += r.config_committed;
        stepdowns += r.removed_stepdowns;
        joint_elections += r.joint_elections;
        installed += r.snapshots_installed;
    }
    printf("  churn, %u nodes, seeds %llu..%llu: %llu violations, %llu not live; %llu changes "
           "asked, %llu joint and %llu final configurations committed, %llu removed leaders "
           "stepped down, %llu leaders elected while joint\n",
           nodes, (unsigned long long)first, (unsigned long long)(first + count - 1),
           (unsigned long long)violations, (unsigned long long)dead, (unsigned long long)asked,
           (unsigned long long)joint, (unsigned long long) final, (unsigned long long)stepdowns,
           (unsigned long long)joint_elections);
    CHECK_EQ(violations, 0);
    CHECK_EQ(dead, 0);
    CHECK(joint > 0 && final > joint);
    CHECK(stepdowns > 0);
    CHECK(joint_elections > 0);
    if (snapshot_every) {
        printf("  (and %llu snapshots installed)\n", (unsigned long long)installed);
        CHECK(installed > 0);
    }
}

TEST(campaign_churn_5_nodes_200_seeds)
{
    churn_campaign(5, 5001, 200, 0);
}

TEST(campaign_churn_3_nodes_100_seeds)
{
    churn_campaign(3, 6001, 100, 0);
}

/* Churn with snapshots every 25 entries: learners that join late catch up by InstallSnapshot
 * and take their configuration from it. */
TEST(campaign_churn_with_snapshots_5_nodes_100_seeds)
{
    churn_campaign(5, 7001, 100, 25);
}

/* The same faults with snapshots every 25 applied entries (small chunks, trailing entries
 * drawn per seed): followers cut off or crashed fall behind the leader's compacted log and
 * catch up by InstallSnapshot, under loss, duplication, partitions and crashes mid-transfer.
 * The campaign must actually exercise all of it. */
TEST(snapshot_campaign_3_and_5_nodes_200_seeds)
{
    snap_totals t = {0};
    campaign_with(3, 1, 100, 25, &t);
    campaign_with(5, 1001, 100, 25, &t);
    printf("  snapshots: %llu taken, %llu chunks sent, %llu installed, %llu restores\n",
           (unsigned long long)t.taken, (unsigned long long)t.chunks,
           (unsigned long long)t.installed, (unsigned long long)t.restores);
    CHECK(t.taken > 5000);
    CHECK(t.chunks > 5000);
    CHECK(t.installed > 500);
    CHECK(t.restores > t.installed); /* restarts from a checkpoint as well */
}

TEST(same_seed_same_trace_different_seed_different_trace)
{
    fl_chaos_config c;
    fl_chaos_config_default(&c);
    c.seed = 42;
    c.duration_ns = 3 * FL_NS_PER_S;
    fl_chaos_result a, b, d;
    CHECK_EQ(fl_chaos_run(&c, &a), 0);
    CHECK_EQ(fl_chaos_run(&c, &b), 0);
    c.seed = 43;
    CHECK_EQ(fl_chaos_run(&c, &d), 0);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(a.sim.events == b.sim.events);
    CHECK(a.sim.msgs_delivered > 500);
    CHECK(a.trace_hash != d.trace_hash);
}

/* Runs seeds until the mutant is caught; returns the number of seeds it took (0: never). */
static uint64_t seeds_to_catch_with(uint32_t mutant, uint32_t nodes, uint64_t max_seeds,
                                    uint32_t snapshot_every, bool churn)
{
    for (uint64_t seed = 1; seed <= max_seeds; seed++) {
        fl_chaos_config c;
        fl_chaos_config_default(&c);
        c.seed = seed;
        c.nodes = nodes;
        c.mutants = mutant;
        c.churn = churn;
        c.snapshot_every = snapshot_every;
        fl_chaos_result r;
        if (fl_chaos_run(&c, &r) != 0)
            return 0;
        if (r.violation) {
            printf("  mutant 0x%x caught at seed %llu: %s\n", mutant, (unsigned long long)seed,
                   r.reason);
            return seed;
        }
    }
    return 0;
}

static uint64_t seeds_to_catch(uint32_t mutant, uint32_t nodes, uint64_t max_seeds)
{
    return seeds_to_catch_with(mutant, nodes, max_seeds, 0, false);
}

/* Figure 8 needs leaders cut off within moments of their election (the leader-churn
 * nemesis of the kv runs, its catalogue spec). The chaos run's random faults caught it at 1 of
 * seeds 1..500 with per-request syncs, and at none of seeds 1..4500 with the host's group
 * commit: too rare a coincidence to hunt there. */
TEST(mutant_commit_previous_term_is_caught)
{
    uint64_t seed = 1;
    for (; seed <= 30; seed++) {
        fl_run_config c;
        fl_run_config_default(&c);
        c.seed = seed;
        c.nodes = 7;
        c.duration_ns = 20 * FL_NS_PER_S;
        c.nemesis = FL_NEMESIS_LEADER_CHURN;
        c.nemesis_interval_ns = 3 * FL_NS_PER_S;
        c.mutants = FL_RAFT_MUTANT_COMMIT_PREV_TERM;
        fl_run_result r;
        CHECK_EQ(fl_run(&c, &r), 0);
        bool caught = r.violation;
        if (caught)
            printf("  caught at seed %llu: %s\n", (unsigned long long)seed, r.violation_reason);
        fl_run_result_free(&r);
        if (caught)
            break;
    }
    CHECK(seed <= 30);
}

TEST(mutant_vote_without_log_check_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_VOTE_NO_LOG_CHECK, 5, 200) != 0);
}

/* A rare catch: before the WAL preallocated (docs/wal.md), 14 of chaos seeds 1..3000 caught it,
 * the first at or below 300; preallocating changed the disk's writes and so every trajectory:
 * 7 of 3000 (a difference within chance at these counts, two-sided p ~ 0.19), the first at
 * seed 626. */
TEST(mutant_vote_before_durable_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_VOTE_BEFORE_DURABLE, 3, 700) != 0);
}

TEST(mutant_ack_before_durable_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_ACK_BEFORE_DURABLE, 3, 200) != 0);
}

TEST(mutant_accept_stale_term_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_ACCEPT_STALE_TERM, 5, 200) != 0);
}

TEST(mutant_no_step_down_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_NO_STEP_DOWN, 3, 200) != 0);
}

TEST(mutant_truncate_matching_is_caught)
{
    CHECK(seeds_to_catch(FL_RAFT_MUTANT_TRUNCATE_MATCHING, 3, 200) != 0);
}

/* A follower that keeps its conflicting suffix when it installs a snapshot ends up with
 * entries whose prefix is not the one they were written after: log matching fails. */
TEST(mutant_snapshot_keeps_suffix_is_caught)
{
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_SNAPSHOT_KEEPS_SUFFIX, 3, 100, 25, false) != 0);
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_SNAPSHOT_KEEPS_SUFFIX, 5, 100, 25, false) != 0);
}

/* Snapshots taken as the server takes them (a forked child's bytes handed back later,
 * cons_sim.h): over seeds 1..n of chaos --snapshot-every 10 (5 nodes), the jobs run and
 * crashes lose some; with snapshot_sync none runs. Returns the first seed whose run is a
 * violation (0: none), the violation's text in why. */
static uint64_t forked_campaign(uint32_t mutants, bool sync, uint64_t n, char *why, size_t size)
{
    uint64_t jobs = 0, lost = 0, taken = 0, first = 0;
    for (uint64_t seed = 1; seed <= n; seed++) {
        fl_chaos_config c;
        fl_chaos_config_default(&c);
        c.seed = seed;
        c.nodes = 5;
        c.snapshot_every = 10;
        c.snapshot_sync = sync;
        c.mutants = mutants;
        fl_chaos_result r;
        CHECK_EQ(fl_chaos_run(&c, &r), 0);
        jobs += r.snapshot_jobs;
        lost += r.snapshot_jobs_lost;
        taken += r.snapshots_taken;
        if (r.violation && !first) {
            first = seed;
            snprintf(why, size, "%s", r.reason);
            if (!mutants)
                report_violation(&c, &r);
        }
    }
    printf("  %s%s, seeds 1..%llu: %llu snapshots, %llu forked jobs (%llu lost); first "
           "violation at seed %llu\n",
           sync ? "in step" : "forked", mutants ? " with the mutant" : "", (unsigned long long)n,
           (unsigned long long)taken, (unsigned long long)jobs, (unsigned long long)lost,
           (unsigned long long)first);
    CHECK(taken > 100);
    CHECK_EQ(jobs, sync ? 0 : taken);
    CHECK(sync ? lost == 0 : lost > 0);
    return first;
}

/* c64df7a's bug (a retired snapshot buffer lost its size bound; after installs the node
 * refused its own forked snapshots as too big and stopped) lived where only forked snapshots
 * go (fl_host_snapshot_done's bound check): the simulator caught it once its nodes snapshot
 * as the server does, and not when they snapshot within the step. Undoing c64df7a's fix in
 * host_snap.c (without its assertion) fails the clean run here the same way. */
TEST(forked_snapshots_catch_a_lost_snapshot_bound)
{
    char why[256] = "";
    CHECK_EQ(forked_campaign(0, false, 40, why, sizeof(why)), 0);
    CHECK_EQ(forked_campaign(0, true, 40, why, sizeof(why)), 0);
    uint64_t at = forked_campaign(FL_RAFT_MUTANT_SNAPSHOT_BOUND_LOST, false, 40, why, sizeof(why));
    CHECK(at != 0);
    CHECK(strstr(why, "snapshot bound: node") && strstr(why, "size exceeds limit"));
    CHECK_EQ(forked_campaign(FL_RAFT_MUTANT_SNAPSHOT_BOUND_LOST, true, 40, why, sizeof(why)), 0);
}

/* A leader removed by C(new) that keeps leading once C(new) committed: caught by the removed
 * leader invariant as soon as it commits C(new) and stays. Needs churn to remove leaders. */
TEST(mutant_removed_leader_heartbeats_is_caught)
{
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_REMOVED_LEADER_HEARTBEATS, 5, 50, 0, true) != 0);
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_REMOVED_LEADER_HEARTBEATS, 3, 50, 0, true) != 0);
}

/* Joint consensus that counts only the new voters: the election and commit quorum checks
 * (which decode the configuration from the leader's log themselves) see it. */
TEST(mutant_joint_new_majority_only_is_caught)
{
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_JOINT_NEW_ONLY, 3, 100, 0, true) != 0);
    CHECK(seeds_to_catch_with(FL_RAFT_MUTANT_JOINT_NEW_ONLY, 5, 200, 0, true) != 0);
}

/* `faultline sim --chaos --churn --snapshot-every 25 --nodes 5 --seed 13463` (found by seeds
 * 2001..22000) draws pre-vote and check-quorum off and one-entry batches. Node 2, removed at
 * 0.2 s before it heard of it, campaigned at ever higher terms after the heal; each of its
 * vote requests deposed the leader, which then could not bring a follower up to date (some
 * 400 entries, one per round trip) before the next one: no commit for the 5 s after the heal.
 * A leader whose heartbeats reach a quorum now ignores such requests (thesis 4.2.3); the
 * leader-ignores-lease mutant brings the failure back. Since a snapshot's file is written by
 * the next sync job (issue 16), the simulated disk's timing moved and 13463 stays live even
 * with the mutant; seed 2328 (the one of 2001..9000 that stalls with it now, 76 elections and
 * no commit after the heal) shows it instead, and is live without it. Two later changes each
 * moved every trajectory off that stall: snapshots taken as the server takes them (their bytes
 * later, cons_sim.h), and a leader's sync that waits for the step sending its entries (issue
 * 16, round 6; host.h sync_eager; none of seeds 1..100000 stalls with the mutant then). The
 * stall is shown on the simulator's old way, snapshots within the step and leaders syncing at
 * every append (snapshot_sync, sync_eager), where seed 19884 stalls with the mutant (the first
 * of 1..30000 to; then 26619) and is live without it, either way. */
static fl_chaos_result chaos_seed(uint64_t seed, uint32_t mutants, bool old_way)
{
    fl_chaos_config c;
    fl_chaos_config_default(&c);
    c.seed = seed;
    c.nodes = 5;
    c.churn = true;
    c.snapshot_every = 25;
    c.mutants = mutants;
    c.snapshot_sync = old_way;
    c.sync_eager = old_way;
    fl_chaos_result r;
    CHECK_EQ(fl_chaos_run(&c, &r), 0);
    return r;
}

TEST(regression_seed_13463_a_removed_node_no_longer_stalls_the_cluster)
{
    for (int old_way = 0; old_way < 2; old_way++) {
        fl_chaos_result r = chaos_seed(13463, 0, old_way);
        CHECK(!r.violation);
        CHECK(r.live);
        r = chaos_seed(19884, 0, old_way);
        CHECK(!r.violation);
        CHECK(r.live);
    }
    fl_chaos_result r = chaos_seed(19884, FL_RAFT_MUTANT_LEADER_IGNORES_LEASE, true);
    CHECK(!r.violation);
    CHECK(!r.live);
}
