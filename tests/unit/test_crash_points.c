/* test_crash_points.c: crash-point testing of the Raft store (crash_points.h): every
 * operation of a few hundred persist requests over four lives, crashed three ways, recovers
 * what was synced; and the snapshot-seq-unsynced mutant (the snapshot file naming WAL records
 * a crash could hand out again) is caught. */
#include "test.h"

#include "faultline/crash_points.h"
#include "faultline/raft.h"

static void report(const fl_crash_config *c, const fl_crash_result *r)
{
    printf("  seed %llu: %llu requests, %llu boundaries, %llu recoveries, %llu refused (holes "
           "from reordered writes), %llu violations\n",
           (unsigned long long)c->seed, (unsigned long long)r->requests,
           (unsigned long long)r->boundaries, (unsigned long long)r->recoveries,
           (unsigned long long)r->refusals, (unsigned long long)r->violations);
    if (r->violation)
        printf("  first: %s\n", r->reason);
}

TEST(crash_points_every_operation_recovers_what_was_synced)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fl_crash_config c;
        fl_crash_config_default(&c);
        c.seed = seed;
        fl_crash_result r;
        CHECK_EQ(fl_crash_points_run(&c, &r), 0);
        report(&c, &r);
        CHECK(!r.violation);
        CHECK(r.requests >= 400);
        CHECK(r.boundaries > 500);
        CHECK_EQ(r.recoveries, 3 * r.boundaries);
    }
}

/* The snapshot file names the WAL record replay starts from, counting records not synced yet;
 * if a crash loses them and the WAL hands those numbers out again, replay skips what was
 * written since, synced or not. */
TEST(crash_points_catch_snapshot_seq_unsynced)
{
    fl_crash_config c;
    fl_crash_config_default(&c);
    c.mutants = FL_RAFT_MUTANT_SNAPSHOT_SEQ_UNSYNCED;
    fl_crash_result r = {0};
    for (c.seed = 1; c.seed <= 20; c.seed++) {
        CHECK_EQ(fl_crash_points_run(&c, &r), 0);
        if (r.violation)
            break;
    }
    report(&c, &r);
    CHECK(r.violation);
}

TEST(crash_points_refuse_a_bad_configuration)
{
    fl_crash_config c;
    fl_crash_config_default(&c);
    fl_crash_result r;
    c.lives = 0;
    CHECK(fl_crash_points_run(&c, &r) != 0);
    c.lives = 4;
    c.requests = 100000;
    CHECK(fl_crash_points_run(&c, &r) != 0);
}
