/* test_raft_read.c: the Raft core's reads stepped by hand (raft_rig.h): ReadIndex rounds at the
 * leader (one in flight, batched, sent to a majority's worth of followers), reads at followers
 * and what a former or cut-off leader does with them. */
#include "raft_rig.h"

TEST(read_index_waits_for_a_quorum_round_then_serves_at_commit)
{
    setup(3, true);
    fl_node_id l = elect();
    CHECK(l != 0);
    advance_ms(50); /* the no-op is committed */
    node *ld = &c.nodes[l - 1];
    fl_index commit = fl_raft_commit_of(&ld->r);
    CHECK(commit >= 1);
    size_t queued = (size_t)c.q_count;
    CHECK_EQ(read_at(l, 42), 0);
    CHECK_EQ(ld->reads_ok, 0);              /* not before a quorum answers */
    CHECK((size_t)c.q_count >= queued + 1); /* a round to a follower: with us, a majority */
    deliver_all();
    CHECK_EQ(ld->reads_ok, 1);
    CHECK_EQ(ld->last_read_ctx, 42);
    CHECK(ld->last_read_index == commit);
    teardown();
}

/* One confirmation round serves every read that arrived before it was sent, whoever asked:
 * by default one round is in flight, and reads arriving while it is out (the leader's own,
 * a follower's) wait for the next one, sent once that one is answered, for them all: one
 * round per round trip, not one per read or per batch (issue 16). */
TEST(read_index_one_round_in_flight_the_next_serves_every_read_that_waited)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    fl_node_id f = l % 3 + 1;
    uint64_t sent = ld->appends_sent, rounds = ld->r.read_rounds_sent;
    CHECK_EQ(read_at(l, 1), 0);
    CHECK_EQ(ld->appends_sent, sent + 1); /* a round, to one follower (a majority with us) */
    CHECK_EQ(ld->r.read_rounds_sent, rounds + 1);
    for (uint64_t ctx = 2; ctx <= 40; ctx++)
        CHECK_EQ(read_at(l, ctx), 0); /* later batches of the loop: no round of their own */
    CHECK_EQ(read_at(f, 100), 0);     /* a follower's, forwarded */
    CHECK_EQ(ld->appends_sent, sent + 1);
    deliver_all();
    /* the round's answers decide read 1 only (the others came after it left); the next round
     * is owed at once: the tick the deadline asks for now, at the end of the batch */
    CHECK_EQ(ld->reads_ok, 1);
    CHECK_EQ(ld->appends_sent, sent + 1);
    CHECK(fl_raft_deadline_of(&ld->r) == c.now);
    fl_raft_event tick = {.type = FL_RAFT_EV_TICK};
    step(ld, &tick);
    CHECK_EQ(ld->appends_sent, sent + 2);
    deliver_all();
    CHECK_EQ(ld->reads_ok, 40);
    CHECK_EQ(ld->last_read_ctx, 40);
    CHECK_EQ(c.nodes[f - 1].reads_ok, 1);
    CHECK_EQ(ld->r.read_rounds_sent, rounds + 2); /* 41 reads, two rounds */
    CHECK_EQ(ld->appends_sent, sent + 2);
    teardown();
}

/* With read_rounds_max > 1 rounds overlap: a read arriving while one is out sends its own
 * at once (one round trip sooner at light load), up to the bound; later reads share one. */
TEST(read_index_rounds_overlap_up_to_read_rounds_max)
{
    setup(3, true);
    for (int i = 0; i < 3; i++)
        c.nodes[i].r.cfg.read_rounds_max = FL_RAFT_READ_ROUNDS_MAX;
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    fl_node_id f = l % 3 + 1;
    uint64_t sent = ld->appends_sent;
    CHECK_EQ(read_at(l, 1), 0);
    CHECK_EQ(ld->appends_sent, sent + 1); /* a round, to one follower */
    CHECK_EQ(read_at(l, 2), 0);
    CHECK_EQ(ld->appends_sent, sent + 2); /* its own round, without waiting for the first's */
    for (uint64_t ctx = 3; ctx <= 40; ctx++)
        CHECK_EQ(read_at(l, ctx), 0);
    CHECK_EQ(read_at(f, 100), 0); /* a follower's, forwarded */
    /* rounds in flight are bounded: the later reads wait to share one */
    CHECK_EQ(ld->appends_sent, sent + FL_RAFT_READ_ROUNDS_MAX);
    CHECK_EQ(ld->reads_ok, 0);
    deliver_all();
    /* the first rounds' answers decide reads 1..8; the round for the rest is owed, sent at
     * the end of the batch: the tick the deadline asks for now */
    CHECK_EQ(ld->reads_ok, FL_RAFT_READ_ROUNDS_MAX);
    CHECK_EQ(ld->appends_sent, sent + FL_RAFT_READ_ROUNDS_MAX);
    CHECK(fl_raft_deadline_of(&ld->r) == c.now);
    fl_raft_event tick = {.type = FL_RAFT_EV_TICK};
    step(ld, &tick);
    deliver_all();
    CHECK_EQ(ld->reads_ok, 40);
    CHECK_EQ(ld->last_read_ctx, 40);
    /* one more round, for reads 9..40 and the forwarded read alike */
    CHECK_EQ(ld->appends_sent, sent + FL_RAFT_READ_ROUNDS_MAX + 1);
    CHECK_EQ(c.nodes[f - 1].reads_ok, 1);
    teardown();
}

/* Followers' READ_INDEX requests arrive one message (one step) each: the leader owes them one
 * round, sent at its next tick, which its deadline makes now (the server: after the loop
 * pass's I/O), not a round per request; its own read in the same batch sends that round
 * (issue 16). */
TEST(read_index_requests_of_one_batch_share_the_round_sent_at_its_end)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    fl_node_id f1 = l % 3 + 1, f2 = f1 % 3 + 1;
    CHECK_EQ(c.q_count, 0);
    CHECK_EQ(read_at(f1, 1), 0);
    CHECK_EQ(read_at(f2, 2), 0);
    CHECK_EQ(c.q_count, 2);
    uint64_t sent = ld->appends_sent;
    deliver_one();
    deliver_one();
    CHECK_EQ(ld->appends_sent, sent);            /* no round per request */
    CHECK(fl_raft_deadline_of(&ld->r) == c.now); /* one is owed: a tick now */
    fl_raft_event tick = {.type = FL_RAFT_EV_TICK};
    step(ld, &tick);
    CHECK_EQ(ld->appends_sent, sent + 1); /* one round for both */
    CHECK(fl_raft_deadline_of(&ld->r) > c.now);
    deliver_all();
    CHECK_EQ(c.nodes[f1 - 1].reads_ok, 1);
    CHECK_EQ(c.nodes[f2 - 1].reads_ok, 1);
    /* a follower's request, then our own read in the same batch: the own read's round
     * covers both, and nothing is owed after it */
    CHECK_EQ(read_at(f1, 3), 0);
    deliver_one();
    CHECK_EQ(ld->appends_sent, sent + 1);
    CHECK_EQ(read_at(l, 4), 0);
    CHECK_EQ(ld->appends_sent, sent + 2);
    CHECK(fl_raft_deadline_of(&ld->r) > c.now);
    deliver_all();
    CHECK_EQ(c.nodes[f1 - 1].reads_ok, 2);
    CHECK_EQ(ld->reads_ok, 1);
    CHECK_EQ(ld->appends_sent, sent + 2);
    teardown();
}

/* Delivers queued messages in order, except those to skip (of type only, if type != 0),
 * which stay queued in their order; until nothing deliverable is left. */
static void deliver_except(fl_node_id skip, uint8_t type)
{
    for (int round = 0; round < 1000; round++) {
        int n = c.q_count, delivered = 0;
        for (int k = 0; k < n; k++) {
            qmsg m = c.q[c.q_head];
            c.q_head = (c.q_head + 1) % Q_MAX;
            c.q_count--;
            if (m.to == skip && (type == 0 || m.bytes.data[1] == type)) {
                c.q[(c.q_head + c.q_count++) % Q_MAX] = m; /* back of the queue, in order */
                continue;
            }
            fl_raft_entry ents[FL_WIRE_ENTRIES_MAX];
            fl_raft_msg msg;
            FL_ASSERT(fl_wire_raft_decode(m.bytes.data, m.bytes.len, &msg, ents, 64) == 0);
            fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &msg};
            step(&c.nodes[m.to - 1], &ev);
            fl_buf_free(&m.bytes);
            delivered++;
        }
        if (!delivered)
            return;
    }
}

/* Thesis 6.4 at a follower: the leader's read index arrives before the entries it covers;
 * the read is reported (and so served) only in the step that applied up to it. */
/* A round goes to one follower of two (with us, a majority): the one that answered last. One
 * that stops answering holds the round only until the periodic heartbeat, sent to all, is
 * answered by the other; the next round goes to the one that answers (issue 16). */
TEST(read_index_round_goes_to_a_majority_and_passes_over_a_silent_follower)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    CHECK_EQ(c.q_count, 0);
    CHECK_EQ(read_at(l, 1), 0);
    CHECK_EQ(c.q_count, 1); /* not both followers */
    fl_node_id x = c.q[c.q_head].to, y = (fl_node_id)(6 - l - x);
    CHECK(x != l && y != l && x != y);
    drop_all(); /* x does not answer: its round is lost */
    fl_raft_event tick = {.type = FL_RAFT_EV_TICK};
    for (int t = 0; t < 40 && ld->reads_ok == 0; t++) { /* x cut off, the others on */
        c.now += FL_NS_PER_MS;
        step(ld, &tick);
        step(&c.nodes[y - 1], &tick);
        deliver_except(x, 0);
    }
    CHECK_EQ(ld->reads_ok, 1); /* confirmed by y's answer to the periodic heartbeat */
    drop_all();
    CHECK_EQ(read_at(l, 2), 0);
    CHECK_EQ(c.q_count, 1);
    CHECK_EQ(c.q[c.q_head].to, y); /* the next round to the follower that answers */
    deliver_all();
    CHECK_EQ(ld->reads_ok, 2);
    teardown();
}

TEST(follower_read_waits_until_it_has_applied_the_read_index)
{
    setup(3, true);
    CHECK_EQ(read_at(1, 1), FL_ENOTLEADER); /* nobody leads yet */
    fl_node_id l = elect();
    advance_ms(50);
    fl_node_id f = l % 3 + 1;
    node *fn = &c.nodes[f - 1];
    CHECK_EQ(propose_at(l, "x"), 0);
    deliver_except(f, 0); /* the other follower acknowledges: x commits without f */
    fl_index want = fl_raft_commit_of(&c.nodes[l - 1].r);
    CHECK(fn->applied < want);
    CHECK_EQ(read_at(f, 7), 0);                   /* forwarded to the leader */
    deliver_except(f, FL_RAFT_MSG_APPEND);        /* the leader confirms and answers; f lags */
    CHECK_EQ(fn->reads_ok + fn->reads_failed, 0); /* the index is in, x is not applied */
    CHECK(fn->applied < want);
    advance_ms(50); /* f catches up with the next heartbeats' commit index */
    CHECK_EQ(fn->reads_ok, 1);
    CHECK_EQ(fn->reads_failed, 0);
    CHECK_EQ(fn->last_read_ctx, 7);
    CHECK(fn->last_read_index == want);
    CHECK(fn->applied >= want);
    CHECK_EQ(c.nodes[l - 1].reads_ok, 0); /* the leader served nothing itself */
    teardown();
}

/* A follower whose leader is cut off reports the read failed when it stops following it,
 * never a stale answer. */
TEST(follower_read_fails_when_its_leader_is_cut_off)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    fl_node_id f = l % 3 + 1;
    node *fn = &c.nodes[f - 1];
    CHECK_EQ(read_at(f, 3), 0);
    drop_all(); /* the request never reaches the leader */
    tick_cut_off(fn, 700);
    CHECK(fl_raft_leader_of(&fn->r) != l);
    CHECK_EQ(fn->reads_ok, 0);
    CHECK_EQ(fn->reads_failed, 1);
    CHECK_EQ(fn->last_read_ctx, 3);
    teardown();
}

/* A node that no longer leads answers a forwarded read ok = false: the follower fails it. */
TEST(follower_read_refused_by_a_former_leader_fails)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    fl_node_id f = l % 3 + 1;
    node *fn = &c.nodes[f - 1];
    fl_raft_msg m = {.type = FL_RAFT_MSG_READ_INDEX_RESP,
                     .from = l,
                     .to = f,
                     .term = fl_raft_term_of(&fn->r),
                     .u.read_index = {.ctx = 4, .ok = false}};
    CHECK_EQ(read_at(f, 4), 0);
    drop_all();
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    step(fn, &ev);
    CHECK_EQ(fn->reads_failed, 1);
    CHECK_EQ(fn->reads_ok, 0);
    ev.u.msg = &m; /* a duplicate answer is ignored: each read is reported once */
    step(fn, &ev);
    CHECK_EQ(fn->reads_failed, 1);
    teardown();
}

/* A read index commits the follower's log only as far as it matches that leader's: an entry
 * the follower holds from an older leader at that index is not the committed one. */
static void deliver_to(node *to, const fl_raft_msg *m)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = m};
    step(to, &ev);
}

static void read_index_resp(node *to, fl_node_id from, fl_term term, uint64_t ctx, fl_index i)
{
    fl_raft_msg m = {.type = FL_RAFT_MSG_READ_INDEX_RESP, .from = from, .to = 3, .term = term};
    m.u.read_index = (fl_raft_read_index){.ctx = ctx, .index = i, .ok = true};
    deliver_to(to, &m);
}

TEST(follower_read_index_commits_only_what_matches_the_leader)
{
    setup(3, true);
    node *f = &c.nodes[2];
    fl_raft_entry old[2] = {
        {.term = 1, .type = FL_RAFT_ENTRY_NORMAL, .len = 4, .data = (const uint8_t *)"old1"},
        {.term = 1, .type = FL_RAFT_ENTRY_NORMAL, .len = 5, .data = (const uint8_t *)"stale"}};
    fl_raft_msg m = {.type = FL_RAFT_MSG_APPEND, .from = 1, .to = 3, .term = 1};
    m.u.append = (fl_raft_append){.n_entries = 2, .entries = old, .ctx = 1};
    deliver_to(f, &m); /* a leader of term 1 gave it entries 1 and 2, never committed */
    CHECK_EQ(fl_raft_last_index(&f->r), 2);
    m = (fl_raft_msg){.type = FL_RAFT_MSG_APPEND, .from = 2, .to = 3, .term = 2};
    m.u.append = (fl_raft_append){.prev_index = 2, .prev_term = 2, .ctx = 1};
    deliver_to(f, &m); /* node 2 leads term 2, whose entry 2 is another: rejected */
    CHECK_EQ(fl_raft_leader_of(&f->r), 2);
    CHECK_EQ(read_at(3, 7), 0); /* asks node 2 */
    drop_all();
    read_index_resp(f, 2, 2, 7, 2);
    CHECK_EQ(fl_raft_commit_of(&f->r), 0); /* nothing verified against node 2 yet */
    m.u.append = (fl_raft_append){.prev_index = 1, .prev_term = 1, .ctx = 2};
    deliver_to(f, &m); /* node 2 holds entry 1 too: verified up to 1, not 2 */
    CHECK_EQ(read_at(3, 8), 0);
    drop_all();
    read_index_resp(f, 2, 2, 8, 2);
    CHECK_EQ(fl_raft_commit_of(&f->r), 1); /* its entry 2 is not node 2's */
    CHECK_EQ(f->applied, 1);
    CHECK_EQ(f->reads_ok, 0);
    fl_raft_entry mine = {
        .term = 2, .type = FL_RAFT_ENTRY_NORMAL, .len = 4, .data = (const uint8_t *)"mine"};
    m.u.append = (fl_raft_append){
        .prev_index = 1, .prev_term = 1, .n_entries = 1, .entries = &mine, .ctx = 3};
    deliver_to(f, &m); /* node 2's entry 2 replaces it; the commit index it carries is 0 */
    CHECK_EQ(fl_raft_commit_of(&f->r), 1);
    CHECK_EQ(read_at(3, 9), 0);
    drop_all();
    read_index_resp(f, 2, 2, 9, 2); /* now entry 2 is node 2's: committed and applied at once */
    CHECK_EQ(fl_raft_commit_of(&f->r), 2);
    CHECK_EQ(f->applied, 2);
    CHECK_STR(f->applied_data[2], "mine");
    CHECK_EQ(f->reads_ok, 3); /* the reads waiting for index 2, all served now */
    teardown();
}

TEST(read_index_of_an_isolated_leader_fails_when_it_steps_down)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    CHECK_EQ(read_at(l, 9), 0);
    drop_all(); /* the leader is cut off */
    tick_cut_off(ld, 700);
    CHECK(fl_raft_role_of(&ld->r) != FL_RAFT_LEADER);
    CHECK_EQ(ld->reads_ok, 0);
    CHECK_EQ(ld->reads_failed, 1);
    teardown();
}

TEST(mutant_read_no_confirm_serves_without_a_round)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    ld->r.cfg.mutants = FL_RAFT_MUTANT_READ_NO_CONFIRM;
    CHECK_EQ(read_at(l, 5), 0);
    CHECK_EQ(ld->reads_ok, 1); /* served at once: the bug */
    teardown();
}
