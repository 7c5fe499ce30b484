/* test_raft_store.c: Raft's durable state in the WAL (raft_store.h): persist requests
 * replayed in order, truncation by a later request, hard state, and refusal of a record
 * that would leave a hole in the log. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/raft_store.h"

#include <stdlib.h>
#include <unistd.h>

static void tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/fl-test-raft-store-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void rmdir_all(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Appends one persist request: entries with the given terms and one-byte data 'a' + i. */
static void put(fl_raft_store *s, uint64_t seq, bool hard, fl_term term, fl_node_id vote,
                fl_index first, size_t n, const fl_term *terms)
{
    fl_raft_entry e[8];
    static const uint8_t bytes[8] = "abcdefgh";
    for (size_t i = 0; i < n; i++)
        e[i] = (fl_raft_entry){terms[i], FL_RAFT_ENTRY_NORMAL, 1, &bytes[i]};
    fl_raft_update up = {0};
    up.persist.seq = seq;
    up.persist.hard_state = hard;
    up.persist.term = term;
    up.persist.vote = vote;
    up.persist.first_index = first;
    up.persist.n_entries = n;
    up.persist.entries = e;
    CHECK_EQ(fl_raft_store_append(s, &up), 0);
}

TEST(raft_store_replays_entries_truncation_and_hard_state)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_durable d;
    fl_raft_store_durable(&s, &d);
    CHECK_EQ(d.n_entries, 0);
    const fl_term t1[] = {1, 1, 1, 2};
    put(&s, 1, true, 2, 3, 1, 4, t1);
    const fl_term t2[] = {3, 3};
    put(&s, 2, true, 3, 0, 3, 2, t2);      /* entries 3, 4 replaced: log 1 1 3 3 */
    put(&s, 3, false, 99, 99, 5, 0, NULL); /* no hard state, nothing appended */
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    fl_raft_store_close(&s);

    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    fl_raft_store_durable(&s, &d);
    CHECK_EQ(d.term, 3);
    CHECK_EQ(d.vote, 0);
    CHECK_EQ(d.first_index, 1);
    CHECK_EQ(d.n_entries, 4);
    const fl_term want[] = {1, 1, 3, 3};
    const char data[] = "abab";
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(d.entries[i].term, want[i]);
        CHECK_EQ(d.entries[i].len, 1);
        CHECK_EQ(d.entries[i].data[0], data[i]);
    }
    CHECK_EQ(s.records_replayed, 3);
    fl_raft_store_close(&s);
    rmdir_all(dir);
}

TEST(raft_store_refuses_a_record_that_leaves_a_hole)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), 0);
    const fl_term t[] = {1};
    put(&s, 1, false, 0, 0, 1, 1, t);
    put(&s, 2, false, 0, 0, 5, 1, t); /* index 5 after a log of 1 entry */
    CHECK_EQ(fl_raft_store_sync(&s, &m), 0);
    fl_raft_store_close(&s);
    CHECK_EQ(fl_raft_store_open(&s, dir, NULL, &m), FL_ECORRUPT);
    CHECK(strstr(m.text, "WAL record 2") != NULL);
    rmdir_all(dir);
}

TEST(raft_store_failed_sync_is_sticky)
{
    char dir[64];
    tmpdir(dir, sizeof(dir));
    fl_raft_store s;
    fl_errmsg m;
    fl_wal_faults faults = {0};
    CHECK_EQ(fl_raft_store_open(&s, dir, &faults, &m), 0);
    faults.fsync_fail_after = 1; /* the next fdatasync (open made its own) */
    const fl_term t[] = {1};
    put(&s, 1, true, 1, 1, 1, 1, t);
    CHECK(fl_raft_store_sync(&s, &m) != 0);
    CHECK(fl_raft_store_sync(&s, &m) != 0); /* never "succeeds" after a failure */
    fl_raft_store_close(&s);
    rmdir_all(dir);
}
