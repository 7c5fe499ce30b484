/* test_swarm.c: the worlds a swarm campaign draws (swarm.h): valid, the same for a seed,
 * covering every value of every axis over a few thousand seeds, keeping the constraints that
 * keep the unmutated code's checks meaningful; and `faultline sim --swarm` end to end: the
 * world it prints is a command that reproduces the run exactly, options given fix their part
 * of the world, and a campaign is a swarm unless --fixed. */
#include "test.h"

#include "cli.h"
#include "faultline/raft.h"
#include "faultline/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT   FL_TEST_TMP "/fl_test_swarm.out"
#define DIR_A FL_TEST_TMP "/fl_test_swarm.a"
#define DIR_B FL_TEST_TMP "/fl_test_swarm.b"
#define SEEDS 3000

TEST(swarm_worlds_are_valid_and_a_seed_always_draws_the_same_one)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config a, b;
        fl_swarm_draw(seed, &a);
        fl_swarm_draw(seed, &b);
        char why[200] = "";
        int rc = fl_run_config_validate(&a, why, sizeof(why));
        if (rc)
            fprintf(stderr, "  seed %llu: %s\n", (unsigned long long)seed, why);
        CHECK_EQ(rc, 0);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        CHECK_EQ(a.seed, seed);
    }
}

/* What the unmutated code may assume: clocks drift within the lease's declared bound, and
 * they do not jump in a world that reads by lease; log reads are served at the leader. And
 * what a world must test: a lease with a large drift bound, against a drifting clock. */
TEST(swarm_worlds_keep_the_assumptions_of_their_configuration)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c;
        fl_swarm_draw(seed, &c);
        CHECK(c.clock_drift_ppm <= c.lease_drift_ppm);
        CHECK(c.skew_ppm <= c.lease_drift_ppm);
        CHECK(c.n_faults >= 1);
        CHECK_EQ(c.nemesis, FL_NEMESIS_NONE);
        bool skew_fault = false;
        for (uint32_t i = 0; i < c.n_faults; i++) {
            CHECK(
                !(c.read_mode == FL_RUN_READ_LEASE && c.faults[i].kind == FL_NEMESIS_CLOCK_OFFSET));
            skew_fault |= c.faults[i].kind == FL_NEMESIS_ISOLATE_LEADER_SKEW;
        }
        /* a lease with a large drift bound meets what it must survive */
        CHECK(skew_fault || c.read_mode != FL_RUN_READ_LEASE || c.lease_drift_ppm < 100000);
        CHECK(!(c.read_mode == FL_RUN_READ_LOG && c.read_at == FL_RUN_READ_AT_ANY));
    }
}

/* A world fitted to Paxos (fl_swarm_fit) is one Paxos runs: valid for --protocol paxos, no
 * membership churn or leadership transfer, reads at the leader unless local, no Raft-only
 * options; and the world keeps every fault kind Paxos has. Raft worlds are left as drawn. */
TEST(swarm_worlds_fitted_to_paxos_are_paxos_worlds)
{
    uint32_t churned = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c, raft;
        fl_swarm_draw_as(seed, FL_CONS_RAFT, &c);
        raft = c;
        fl_swarm_fit(&raft);
        CHECK(memcmp(&raft, &c, sizeof(c)) == 0);
        for (uint32_t i = 0; i < c.n_faults; i++)
            churned += c.faults[i].kind == FL_NEMESIS_CHURN;
        uint32_t kept = 0;
        for (uint32_t i = 0; i < c.n_faults; i++)
            kept += c.faults[i].kind != FL_NEMESIS_CHURN && c.faults[i].kind != FL_NEMESIS_TRANSFER;
        c.protocol = FL_CONS_PAXOS;
        fl_swarm_fit(&c);
        char why[200] = "";
        int rc = fl_run_config_validate(&c, why, sizeof(why));
        if (rc)
            fprintf(stderr, "  seed %llu (paxos): %s\n", (unsigned long long)seed, why);
        CHECK_EQ(rc, 0);
        CHECK(c.n_faults >= 1);
        CHECK(!kept || c.n_faults == kept);
        for (uint32_t i = 0; i < c.n_faults; i++)
            CHECK(c.faults[i].kind != FL_NEMESIS_CHURN && c.faults[i].kind != FL_NEMESIS_TRANSFER);
        CHECK(c.read_at == FL_RUN_READ_AT_LEADER || c.read_mode == FL_RUN_READ_LOCAL);
        CHECK(!c.no_pre_vote && !c.no_check_quorum);
    }
    CHECK(churned > 0); /* the fit had something to take out */
}

/* Every value of every axis turns up, and the worlds differ: a swarm, not one world. */
TEST(swarm_worlds_cover_every_value_of_every_axis)
{
    uint32_t nodes = 0, kinds[FL_NEMESIS_COUNT] = {0}, modes = 0, at = 0, flags = 0;
    uint64_t min_faults = 99, max_faults = 0, open = 0, never = 0, small = 0, fast = 0, slow = 0;
    uint64_t in_step = 0, phased = 0; /* of the worlds that snapshot */
    uint64_t forked = 0, sync = 0;    /* the same */
    uint64_t inline_syncs = 0;        /* worlds whose idle nodes hold for their syncs */
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c;
        fl_swarm_draw(seed, &c);
        nodes |= 1u << c.nodes;
        modes |= 1u << c.read_mode;
        at |= 1u << c.read_at;
        flags |= 1u << (c.no_pre_vote + 2 * c.no_check_quorum);
        flags |= 1u << (4 + c.crash_lose_unsynced);
        open += c.rate > 0;
        never += c.snapshot_every == 0;
        small += c.snapshot_every && c.snapshot_every <= 20;
        in_step += c.snapshot_every && c.snapshot_in_step;
        phased += c.snapshot_every && !c.snapshot_in_step;
        forked += c.snapshot_every && !c.snapshot_sync;
        sync += c.snapshot_every && c.snapshot_sync;
        inline_syncs += c.sync_inline;
        for (uint32_t i = 0; i < c.n_faults; i++) {
            kinds[c.faults[i].kind]++;
            fast += c.faults[i].interval_ns <= 100 * FL_NS_PER_MS;
            slow += c.faults[i].interval_ns >= 3 * FL_NS_PER_S;
        }
        min_faults = c.n_faults < min_faults ? c.n_faults : min_faults;
        max_faults = c.n_faults > max_faults ? c.n_faults : max_faults;
    }
    CHECK_EQ(nodes, (1u << 3) | (1u << 5) | (1u << 7));
    CHECK_EQ(modes, 7u);
    CHECK_EQ(at, 3u);
    CHECK_EQ(flags, 0x3Fu); /* pre-vote and check-quorum in all four ways; both crash modes */
    CHECK(open > SEEDS / 10 && open < SEEDS / 2);
    CHECK(never > 0 && small > 0);
    CHECK(in_step > 0 && phased > 0); /* as the server's members do, and all at once */
    CHECK(sync > 0 && forked > sync); /* mostly the server's forked way, and within the step */
    CHECK(inline_syncs > SEEDS / 8 && inline_syncs < SEEDS / 2); /* a quarter */
    CHECK(fast > 0 && slow > 0);
    /* fork-hang (session 9) is not in the swarm's table: a kind more there moves every
     * world's draws (CI's campaigns, the mutants' seeds); it would join as an axis of its own,
     * on a stream of its own, as the server's flow control did */
    for (int k = 0; k < FL_NEMESIS_COUNT; k++)
        CHECK(kinds[k] > 0 || !fl_nemesis_plannable((fl_nemesis)k) || k == FL_NEMESIS_FORK_HANG);
    CHECK_EQ(kinds[FL_NEMESIS_FORK_HANG], 0);
    CHECK(min_faults == 1 && max_faults >= 10); /* subsets, small and large */
}

/* ---- the server's flow control ---------------------------------------------------------- */

/* The axes drawn before the server's flow control joined (swarm.c axes[]: "sync inline" was the
 * sixteenth); the axis is the seventeenth, "wal segments" the eighteenth. */
#define AXES_BEFORE_SERVER_FLOW  16
#define AXES_BEFORE_WAL_SEGMENTS (AXES_BEFORE_SERVER_FLOW + 1)

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (v & 0xFF)) * 0x100000001B3ull; /* FNV-1a */
    return h;
}

static uint64_t mix_double(uint64_t h, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    return mix(h, v);
}

/* Every field a swarm world sets, value by value (not the struct's bytes: padding). */
static uint64_t world_digest(uint64_t h, const fl_run_config *c)
{
    /* clang-format off */
    const uint64_t u[] = {
        c->protocol, c->seed, c->nodes, c->duration_ns, c->workload, c->read_mode, c->read_at,
        c->clients, c->nemesis, c->nemesis_interval_ns, c->delay_ns, c->clock_offset_ns,
        c->op_timeout_ns, c->op_deadline_ns, c->liveness_ns, c->net_delay_ns, c->mutants,
        c->pipeline, c->snapshot_every, c->snapshot_in_step, c->snapshot_sync, c->sync_inline,
        c->lease_drift_ppm, c->skew_ppm, c->no_check_quorum, c->no_pre_vote, c->q1, c->q2,
        c->n_faults, c->batch_entries, c->inflight, c->sends_at_batch_end, c->overlap_min,
        c->keys, c->reads_pct, c->cas_pct, c->crash_lose_unsynced, c->slow_disks, c->gst_ns};
    /* clang-format on */
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
        h = mix(h, u[i]);
    const double d[] = {c->rate, c->loss, c->dup, c->clock_drift_ppm, c->torn};
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        h = mix_double(h, d[i]);
    for (uint32_t i = 0; i < c->n_faults; i++)
        h = mix(mix(h, c->faults[i].kind), c->faults[i].interval_ns);
    return h;
}

/* The server's flow control (--inflight 2 --batch 4096 --sends-at-batch-end --overlap-min 64)
 * in some 30% of the worlds, the exact shipped values in half of those; inflight 2 with any
 * second message, or inflight 1, in the rest. The axis sets its four fields and nothing else:
 * a world without it is the world the sixteen older axes draw, byte for byte, and one with it
 * differs from that in those four fields alone; but for the shipped worlds, which also run
 * the server's leader bounds (--uncommitted-max 8192 --entry-max 2097152), pre-vote and
 * check-quorum (session 9), and nothing else. */
TEST(swarm_draws_the_servers_flow_control_and_moves_nothing_else)
{
    uint32_t on = 0, shipped = 0, any_second = 0, one = 0, bounds_moved = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config old, c;
        fl_swarm_draw_axes(seed, AXES_BEFORE_SERVER_FLOW, &old);
        fl_swarm_draw_axes(seed, AXES_BEFORE_SERVER_FLOW + 1, &c);
        /* the older axes never drew it */
        CHECK(!old.sends_at_batch_end && old.overlap_min == 0);
        CHECK(old.uncommitted_max == 0 && old.entry_bytes_max == 0);
        CHECK(old.batch_entries == 1 || old.batch_entries == 4 || old.batch_entries == 64);
        if (!c.sends_at_batch_end) {
            CHECK(memcmp(&c, &old, sizeof(c)) == 0);
            continue;
        }
        on++;
        CHECK_EQ(c.batch_entries, FL_RAFT_SERVER_BATCH);
        bool is_shipped =
            c.inflight == FL_RAFT_SERVER_INFLIGHT && c.overlap_min == FL_RAFT_SERVER_OVERLAP_MIN;
        shipped += is_shipped;
        any_second += c.inflight == FL_RAFT_SERVER_INFLIGHT && c.overlap_min == 0;
        one += c.inflight == 1 && c.overlap_min == FL_RAFT_SERVER_OVERLAP_MIN;
        CHECK(is_shipped || c.overlap_min == 0 || c.inflight == 1);
        fl_run_config moved = old; /* the older world with the axis' four fields */
        moved.batch_entries = c.batch_entries;
        moved.inflight = c.inflight;
        moved.overlap_min = c.overlap_min;
        moved.sends_at_batch_end = true;
        if (is_shipped) { /* what else the server runs */
            CHECK_EQ(c.uncommitted_max, FL_RAFT_SERVER_UNCOMMITTED_MAX);
            CHECK_EQ(c.entry_bytes_max, FL_RAFT_SERVER_ENTRY_BYTES_MAX);
            CHECK(!c.no_pre_vote && !c.no_check_quorum);
            moved.uncommitted_max = c.uncommitted_max;
            moved.entry_bytes_max = c.entry_bytes_max;
            moved.no_pre_vote = moved.no_check_quorum = false;
            bounds_moved += old.no_pre_vote || old.no_check_quorum;
        }
        CHECK(memcmp(&c, &moved, sizeof(c)) == 0);
    }
    CHECK(on > SEEDS / 4 && on < SEEDS * 35 / 100); /* 30% */
    CHECK(shipped * 5 > on * 2);                    /* half of them */
    CHECK(any_second > 0 && one > 0);
    CHECK_EQ(shipped + any_second + one, on);
    CHECK(bounds_moved > shipped / 2); /* 3 in 4 drew a Raft option off */
}

/* ---- small WAL segments ----------------------------------------------------------------- */

/* Half the worlds that snapshot every 5 or 20 entries write 4 KiB WAL segments, so that
 * segments rotate and are deleted behind snapshots within a run (the wal-deleted-before-dir-
 * sync mutant's window). The axis, last, sets that one field and nothing else. */
TEST(swarm_draws_small_wal_segments_where_snapshots_are_frequent_and_moves_nothing_else)
{
    CHECK_EQ(fl_swarm_axes(), AXES_BEFORE_WAL_SEGMENTS + 1);
    uint32_t frequent = 0, small = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config old, c;
        fl_swarm_draw_axes(seed, AXES_BEFORE_WAL_SEGMENTS, &old);
        fl_swarm_draw(seed, &c);
        CHECK_EQ(old.wal_segment_bytes, 0u); /* the older axes never drew it */
        bool often = c.snapshot_every && c.snapshot_every <= 20;
        frequent += often;
        if (!c.wal_segment_bytes) {
            CHECK(memcmp(&c, &old, sizeof(c)) == 0);
            continue;
        }
        small++;
        CHECK(often);
        CHECK_EQ(c.wal_segment_bytes, 4096u);
        old.wal_segment_bytes = c.wal_segment_bytes;
        CHECK(memcmp(&c, &old, sizeof(c)) == 0);
    }
    CHECK(frequent > 100);
    CHECK(small * 10 > frequent * 4 && small * 10 < frequent * 6); /* half */
}

/* The worlds of the sixteen older axes, seeds 1..3000, pinned: the digest of main's
 * fl_swarm_draw before the server's flow control joined (commit 27f18cb). An axis that joins
 * at the end on a stream of its own leaves it; a change that moves these worlds moves the
 * campaigns' seeds (CI's, the mutants' first catching seeds, the seeded witnesses of tests):
 * if meant, say so and pin the new digest. */
#define OLDER_WORLDS_DIGEST 0x8c54fe87d578615dull

TEST(swarm_worlds_of_the_older_axes_are_unchanged)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c;
        fl_swarm_draw_axes(seed, AXES_BEFORE_SERVER_FLOW, &c);
        h = world_digest(h, &c);
    }
    if (h != OLDER_WORLDS_DIGEST)
        fprintf(stderr, "  digest %#llx\n", (unsigned long long)h);
    CHECK(h == OLDER_WORLDS_DIGEST);
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* The text after prefix on its line, copied into out ("" if none). */
static void line_after(const char *text, const char *prefix, char *out, size_t cap)
{
    out[0] = 0;
    const char *p = text ? strstr(text, prefix) : NULL;
    if (!p)
        return;
    p += strlen(prefix);
    size_t n = strcspn(p, "\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* `faultline sim --swarm --seed S` prints its world as a command; that command, run without
 * the swarm, is the same run event for event (the same trace hash). Returns the world. */
static void check_world_reproduces(uint64_t seed, char *world, size_t cap)
{
    system("rm -rf " DIR_A " " DIR_B);
    char args[8192], hash_a[64], hash_b[64];
    snprintf(args, sizeof(args), "sim --swarm --seed %llu --duration 3s --out " DIR_A,
             (unsigned long long)seed);
    int rc = fl_test_faultline_run(args, OUT);
    CHECK(rc == 0 || rc == 1);
    line_after(slurp(OUT), "world    faultline sim ", world, cap);
    CHECK(strstr(world, "--faults ") != NULL);
    CHECK(strstr(world, "--duration 3s") != NULL);
    line_after(slurp(DIR_A "/results.json"), "\"trace_hash\": ", hash_a, sizeof(hash_a));
    snprintf(args, sizeof(args), "sim %s --out " DIR_B, world);
    CHECK_EQ(fl_test_faultline_run(args, OUT), rc);
    line_after(slurp(DIR_B "/results.json"), "\"trace_hash\": ", hash_b, sizeof(hash_b));
    CHECK(hash_a[0] != 0);
    CHECK_STR(hash_a, hash_b);
}

TEST(swarm_world_printed_is_a_command_that_reproduces_the_run)
{
    char world[4096];
    for (uint64_t seed = 11; seed <= 13; seed++)
        check_world_reproduces(seed, world, sizeof(world));
}

/* The scenario check_world_reproduces's first run wrote (what faultline shrink replays) is the
 * same run too. */
static void check_scenario_reproduces(void)
{
    char hash_a[64], hash_s[64];
    line_after(slurp(DIR_A "/results.json"), "\"trace_hash\": ", hash_a, sizeof(hash_a));
    system("rm -rf " DIR_B);
    CHECK(fl_test_faultline_run("sim --scenario " DIR_A "/scenario.yaml --out " DIR_B, OUT) <= 1);
    line_after(slurp(DIR_B "/results.json"), "\"trace_hash\": ", hash_s, sizeof(hash_s));
    CHECK(hash_a[0] != 0);
    CHECK_STR(hash_a, hash_s);
}

/* A world with 4 KiB WAL segments says so as a command (--wal-segment 4096) and in the
 * scenario it writes; both reproduce its run (without the key the scenario ran 256 KiB ones). */
TEST(swarm_world_with_small_wal_segments_reproduces_from_its_scenario)
{
    uint64_t seed = 1;
    for (fl_run_config c; seed < 200; seed++) {
        fl_swarm_draw(seed, &c);
        if (c.wal_segment_bytes)
            break;
    }
    CHECK(seed < 200);
    char world[4096];
    check_world_reproduces(seed, world, sizeof(world));
    CHECK(strstr(world, "--wal-segment 4096") != NULL);
    CHECK(fl_test_file_has(DIR_A "/scenario.yaml", "wal_segment_bytes: 4096"));
    check_scenario_reproduces();
}

/* A Raft world running the server's flow control says so in its summary, and its world
 * (--batch 4096 --inflight 2 --overlap-min 64 --sends-at-batch-end) and the scenario it writes
 * reproduce its run. */
TEST(swarm_world_with_the_servers_flow_control_says_so_and_reproduces)
{
    uint64_t seed = 1;
    for (fl_run_config c; seed < 200; seed++) {
        fl_swarm_draw(seed, &c);
        if (c.protocol == FL_CONS_RAFT && c.sends_at_batch_end &&
            c.inflight == FL_RAFT_SERVER_INFLIGHT && c.overlap_min == FL_RAFT_SERVER_OVERLAP_MIN)
            break;
    }
    CHECK(seed < 200);
    char world[4096], args[256];
    check_world_reproduces(seed, world, sizeof(world));
    CHECK(strstr(world, "--batch 4096 --inflight 2 --overlap-min 64 --uncommitted-max 8192 "
                        "--entry-max 2097152") != NULL);
    CHECK(strstr(world, "--sends-at-batch-end") != NULL);
    CHECK(strstr(world, "--no-pre-vote") == NULL && strstr(world, "--no-check-quorum") == NULL);
    CHECK(fl_test_file_has(DIR_A "/scenario.yaml", "uncommitted_max: 8192"));
    CHECK(fl_test_file_has(DIR_A "/scenario.yaml", "entry_bytes_max: 2097152"));
    CHECK(fl_test_file_has(DIR_A "/results.json", "\"uncommitted_max\": 8192"));
    CHECK(fl_test_file_has(DIR_A "/results.json", "\"entry_bytes_max\": 2097152"));
    check_scenario_reproduces();
    snprintf(args, sizeof(args), "sim --swarm --seed %llu --duration 1s --no-check",
             (unsigned long long)seed);
    CHECK(fl_test_faultline_run(args, OUT) <= 1);
    CHECK(fl_test_file_has(OUT, "flow     the server's flow control: proposals sent at the "
                                "batch's end, 2 in flight, batches of 4096, a second from 64 "
                                "entries, 8192 uncommitted at most, entries up to 2097152"));
    /* a world without it says nothing of it */
    CHECK(fl_test_faultline_run("sim --swarm --seed 11 --duration 1s --no-check", OUT) <= 1);
    CHECK(!fl_test_file_has(OUT, "flow "));
}

/* Options given with --swarm fix their axis; the rest is still drawn. */
TEST(swarm_options_given_fix_their_part_of_the_world)
{
    CHECK(fl_test_faultline_run("sim --swarm --seed 11 --duration 2s --no-check", OUT) <= 1);
    char drawn[4096], fixed[4096];
    line_after(slurp(OUT), "world    ", drawn, sizeof(drawn));
    CHECK(fl_test_faultline_run("sim --swarm --seed 11 --duration 2s --no-check --nodes 3 "
                                "--nemesis pause",
                                OUT) <= 1);
    line_after(slurp(OUT), "world    ", fixed, sizeof(fixed));
    CHECK(strstr(fixed, "--nodes 3 ") != NULL);
    CHECK(strstr(fixed, "--nemesis pause") != NULL);
    CHECK(strstr(fixed, "--faults") == NULL); /* a nemesis given replaces the drawn faults */
    /* the other axes as drawn: the workload part of the line is the same */
    const char *w1 = strstr(drawn, "--keys"), *w2 = strstr(fixed, "--keys");
    CHECK(w1 && w2);
    CHECK(w1 && w2 && !strcmp(w1, w2));
}

/* A campaign is a swarm by default: different seeds, different worlds; --fixed runs the same
 * options for every seed, as before. */
TEST(swarm_is_the_default_of_a_campaign_and_fixed_is_one_flag_away)
{
    CHECK(fl_test_faultline_run("sim --seeds 1..4 --duration 1s --no-check --jobs 2", OUT) <= 1);
    CHECK(fl_test_file_has(OUT, "swarm: each seed draws its world"));
    CHECK(fl_test_file_has(OUT, "campaign: 4 runs"));
    CHECK_EQ(
        fl_test_faultline_run("sim --seeds 1..4 --fixed --duration 1s --no-check --jobs 2", OUT),
        0);
    CHECK(!fl_test_file_has(OUT, "swarm:"));
    CHECK(fl_test_file_has(OUT, "campaign: 4 runs, 0 with a violation"));
    CHECK_EQ(fl_test_faultline_run("sim --swarm --fixed --seed 1", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --swarm --chaos --seed 1", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("sim --faults pause:1ms,gremlin:1s", OUT), 64);
    CHECK(fl_test_file_has(OUT, "--faults"));
    CHECK_EQ(fl_test_faultline_run("sim --faults mix", OUT), 64);
}

/* The protocol, pipelining and the redis workload are drawn too, each in a share of the
 * worlds, within the limits the checker decides in time: pipelined and redis worlds are closed
 * loops, pipelined ones with at most 32 ops in flight, redis ones 10. A Paxos world is a fitted
 * one. A world drawn for a protocol given (fl_swarm_draw_as) keeps every other axis. */
TEST(swarm_worlds_draw_paxos_pipelining_and_redis_within_their_limits)
{
    uint32_t paxos = 0, pipelined = 0, redis = 0, depths = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c, raft;
        fl_swarm_draw(seed, &c);
        paxos += c.protocol == FL_CONS_PAXOS;
        pipelined += c.pipeline > 1;
        redis += c.workload == FL_RUN_REDIS;
        depths |= 1u << c.pipeline;
        CHECK(c.workload == FL_RUN_REGISTER || c.workload == FL_RUN_REDIS);
        if (c.pipeline > 1)
            CHECK(c.rate == 0 && c.clients * c.pipeline <= 32);
        if (c.workload == FL_RUN_REDIS)
            CHECK(c.rate == 0 && c.clients * c.pipeline <= 10);
        if (c.protocol == FL_CONS_PAXOS) {
            CHECK(!c.no_pre_vote && !c.no_check_quorum);
            for (uint32_t i = 0; i < c.n_faults; i++)
                CHECK(c.faults[i].kind != FL_NEMESIS_CHURN &&
                      c.faults[i].kind != FL_NEMESIS_TRANSFER);
        }
        fl_swarm_draw_as(seed, FL_CONS_RAFT, &raft);
        CHECK(raft.protocol == FL_CONS_RAFT);
        CHECK(raft.nodes == c.nodes && raft.keys == c.keys && raft.pipeline == c.pipeline &&
              raft.workload == c.workload && raft.snapshot_every == c.snapshot_every);
    }
    CHECK(paxos > SEEDS / 6 && paxos < SEEDS / 3); /* a quarter */
    CHECK(pipelined > SEEDS / 20);
    CHECK(redis > SEEDS / 20);
    CHECK_EQ(depths, (1u << 1) | (1u << 4) | (1u << 8));
}

/* A campaign without --protocol draws it; a bug planted in one protocol's code makes every
 * world run that protocol (its code is the code under test), --protocol fixes it. */
TEST(swarm_protocol_is_drawn_unless_given_or_planted)
{
    uint64_t seed = 1;
    for (fl_run_config c; seed < 100; seed++) {
        fl_swarm_draw(seed, &c);
        if (c.protocol == FL_CONS_PAXOS)
            break;
    }
    char args[256], world[4096];
    snprintf(args, sizeof(args), "sim --swarm --seed %llu --duration 1s --no-check",
             (unsigned long long)seed);
    CHECK(fl_test_faultline_run(args, OUT) <= 1);
    line_after(slurp(OUT), "world    ", world, sizeof(world));
    CHECK(strstr(world, "--protocol paxos") != NULL);
    snprintf(args, sizeof(args),
             "sim --swarm --seed %llu --duration 1s --no-check --mutant commit-prev-term",
             (unsigned long long)seed);
    CHECK(fl_test_faultline_run(args, OUT) <= 1);
    line_after(slurp(OUT), "world    ", world, sizeof(world));
    CHECK(strstr(world, "--protocol paxos") == NULL);
    CHECK(strstr(world, "--mutant commit-prev-term") != NULL);
    /* a Paxos bug in a world that drew Raft (seed+1 or later): Paxos all the same */
    for (uint64_t s = 1; s <= 4; s++) {
        snprintf(args, sizeof(args),
                 "sim --swarm --seed %llu --duration 1s --no-check --mutant skip-gap-fill",
                 (unsigned long long)s);
        CHECK(fl_test_faultline_run(args, OUT) <= 1);
        line_after(slurp(OUT), "world    ", world, sizeof(world));
        CHECK(strstr(world, "--protocol paxos") != NULL);
    }
    CHECK_EQ(fl_test_faultline_run("sim --protocol raft --mutant skip-gap-fill --seed 1", OUT), 64);
}

/* leader-flap in some 40% of the worlds, no partition shape taking turns with it in its lane;
 * crash-unsynced in at least half of the worlds that snapshot every 5 or 20 entries (their storage
 * windows), more than the fault plan's density alone gives. */
TEST(swarm_draws_leader_flap_alone_and_storage_windows)
{
    uint32_t flap = 0, small = 0, small_unsynced = 0, other = 0, other_unsynced = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c;
        fl_swarm_draw(seed, &c);
        bool flaps = false, unsynced = false;
        uint32_t lane0 = 0;
        for (uint32_t i = 0; i < c.n_faults; i++) {
            flaps |= c.faults[i].kind == FL_NEMESIS_LEADER_FLAP;
            unsynced |= c.faults[i].kind == FL_NEMESIS_CRASH_UNSYNCED;
            lane0 += fl_run_fault_lane(c.faults[i].kind) == 0 &&
                     c.faults[i].kind != FL_NEMESIS_ISOLATE_LEADER_SKEW; /* kept for leases */
        }
        flap += flaps;
        if (flaps)
            CHECK_EQ(lane0, 1u);
        bool snaps = c.snapshot_every && c.snapshot_every <= 20;
        small += snaps;
        small_unsynced += snaps && unsynced;
        other += !snaps;
        other_unsynced += !snaps && unsynced;
    }
    CHECK(flap > SEEDS * 3 / 10 && flap < SEEDS / 2);
    CHECK(small_unsynced * 2 >= small);
    CHECK(other_unsynced * 3 < other);
}

/* A lease world with a large drift bound has the partitions' lane to isolate-leader-skew alone
 * (no partition shape, leader-churn or leader-flap taking turns with it); other worlds keep
 * what they drew (some of them flap). */
TEST(swarm_lease_threat_has_the_partition_lane_alone)
{
    uint32_t threatened = 0, flapping_elsewhere = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        fl_run_config c;
        fl_swarm_draw(seed, &c);
        uint32_t skew = 0, others = 0, flaps = 0;
        for (uint32_t i = 0; i < c.n_faults; i++) {
            bool lane0 = fl_run_fault_lane(c.faults[i].kind) == 0;
            skew += c.faults[i].kind == FL_NEMESIS_ISOLATE_LEADER_SKEW;
            others += lane0 && c.faults[i].kind != FL_NEMESIS_ISOLATE_LEADER_SKEW;
            flaps += c.faults[i].kind == FL_NEMESIS_LEADER_FLAP;
        }
        if (c.read_mode == FL_RUN_READ_LEASE && c.lease_drift_ppm >= 100000) {
            threatened++;
            CHECK_EQ(skew, 1u);
            CHECK_EQ(others, 0u);
        } else {
            flapping_elsewhere += flaps > 0;
        }
    }
    CHECK(threatened > SEEDS / 20); /* about 2/5 lease x 1/3 large bound, Raft's share */
    CHECK(flapping_elsewhere > 0);
}

/* Swarm seed 2219's world (a leader-flap world with churn): the same node led in several
 * terms and proposed at indexes its lost proposals of earlier terms had; the simulated node
 * answered only the first pending proposal of an applied index, so the heal's liveness probe
 * never heard of its committed write ("no write succeeded within 20 s of the heal"). */
TEST(swarm_seed_2219_probe_hears_of_its_write)
{
    const char *world =
        "sim --seed 2219 --nodes 5 --duration 10s --workload register --read-mode lease "
        "--lease-drift 1000 --skew 1000 --no-check-quorum --faults isolate-leader-skew:3s,"
        "crash-one:1s,crash-minority:3s,pause:3s,loss:300ms,clock-drift:1s,transfer:300ms,"
        "slow-disk:300ms,churn:3s,leader-flap:3s --batch 4 --inflight 2 --keys 10 "
        "--lose-unsynced --torn 0 --clients 30 --loss 0.05 --dup 0.3 --drift 1000 "
        "--delay-spike 200ms --clock-offset 1s --op-timeout 50ms --liveness 20s "
        "--net-delay 200000ns";
    CHECK_EQ(fl_test_faultline_run(world, OUT), 0);
    CHECK(fl_test_file_has(OUT, "verdict  no violation found"));
}
