/* test_paxos.c: the Multi-Paxos core stepped by hand, as scripts (paxos_rig.h: every message
 * through the wire codec, persistence completing when the script says so, the checker and
 * the invariants after every step). tests/unit/test_paxos_cluster.c runs random schedules. */
#include "paxos_rig.h"

static int promises_to(rig *g, int to)
{
    int n = 0;
    for (size_t k = 0; k < g->n_msgs; k++)
        n += g->msgs[k].type == FL_PAXOS_MSG_PROMISE && g->msgs[k].to == to;
    return n;
}

static int recv(rig *g, int i, fl_paxos_msg *m)
{
    m->to = (fl_node_id)(i + 1);
    fl_paxos_event ev = {.type = FL_PAXOS_EV_RECEIVE, .u.msg = m};
    return rig_step(g, i, &ev);
}

/* Node 0 campaigns and wins with everyone's promises; returns once it leads. */
static void elect_0(rig *g)
{
    rig_timeout(g, 0);
    CHECK_EQ(fl_paxos_role_of(&g->nodes[0].p), FL_PAXOS_CANDIDATE);
    rig_settle(g);
    CHECK_EQ(rig_leader(g), 0);
}

static void commit_everywhere(rig *g, fl_index want)
{
    for (int round = 0; round < 20; round++) {
        rig_settle(g);
        bool all = true;
        for (int i = 0; i < g->n; i++)
            all &= !g->nodes[i].up || fl_paxos_commit_of(&g->nodes[i].p) >= want;
        if (all)
            return;
        int l = rig_leader(g);
        if (l >= 0)
            rig_timeout(g, l); /* a heartbeat carries the commit */
    }
    CHECK(!"the cluster did not learn the chosen prefix");
}

static void check_clean(rig *g)
{
    if (g->violated)
        fprintf(stderr, "  checker: %.*s\n", (int)g->why.len, (const char *)g->why.data);
    CHECK(!g->violated);
}

TEST(paxos_config_quorums)
{
    fl_paxos_config c;
    char why[200];
    fl_paxos_config_default(&c, 1);
    c.n_nodes = 5;
    for (uint32_t i = 0; i < 5; i++)
        c.nodes[i] = i + 1;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), 0);
    CHECK_EQ(fl_paxos_q1(&c), 3);
    c.q1 = 4;
    c.q2 = 2;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), 0); /* 4 + 2 > 5 */
    c.q1 = 3;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), FL_ECONFIG); /* 3 + 2 = 5 */
    CHECK(strstr(why, "must exceed") != NULL);
    c.unsafe_quorums = true;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), 0);
    c.q2 = 6;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), FL_ECONFIG);
    c.q2 = 2;
    c.id = 9;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), FL_ECONFIG); /* not a member */
    c.id = 1;
    c.nodes[1] = 70000;
    CHECK_EQ(fl_paxos_config_validate(&c, why, sizeof(why)), FL_ECONFIG); /* not in a ballot */
    CHECK_EQ(fl_paxos_mutant_parse("skip-gap-fill"), FL_PAXOS_MUTANT_SKIP_GAP_FILL);
    CHECK_STR(fl_paxos_mutant_name(FL_PAXOS_MUTANT_READ_NO_QUORUM), "read-no-quorum");
}

/* A promise is sent only once durable; the candidate counts its own once durable; q1
 * promises make it leader. */
TEST(paxos_promise_waits_for_the_disk)
{
    rig g;
    rig_init(&g, 3, 1, NULL);
    rig_start_all(&g);
    rig_timeout(&g, 0);
    fl_term b = fl_paxos_ballot_of(&g.nodes[0].p);
    CHECK_EQ(fl_paxos_ballot_owner(b), 1);
    CHECK_EQ(rig_deliver(&g, FL_PAXOS_MSG_PREPARE, -1), 2);
    CHECK_EQ(fl_paxos_promised_of(&g.nodes[1].p), b);
    CHECK_EQ(promises_to(&g, 0), 0); /* held: node 1 and 2's promises are not durable yet */
    rig_sync(&g, 1, 0);
    CHECK_EQ(promises_to(&g, 0), 1);
    CHECK_EQ(g.nodes[1].d_promised, b);
    rig_deliver(&g, FL_PAXOS_MSG_PROMISE, 0);
    /* node 1's promise plus its own, which is not durable yet: still a candidate */
    CHECK_EQ(fl_paxos_role_of(&g.nodes[0].p), FL_PAXOS_CANDIDATE);
    rig_sync(&g, 0, 0);
    CHECK_EQ(fl_paxos_role_of(&g.nodes[0].p), FL_PAXOS_LEADER);
    check_clean(&g);
    rig_free(&g);
}

TEST(paxos_refusals_below_the_promise)
{
    rig g;
    rig_init(&g, 3, 2, NULL);
    rig_start_all(&g);
    fl_paxos_msg m = {.type = FL_PAXOS_MSG_PREPARE, .from = 3, .ballot = fl_paxos_ballot(5, 3)};
    m.u.prepare.from = 1;
    CHECK_EQ(recv(&g, 0, &m), 0);
    rig_sync(&g, 0, 0);
    CHECK_EQ(fl_paxos_promised_of(&g.nodes[0].p), fl_paxos_ballot(5, 3));
    rig_drop(&g, 0, -1);
    /* a lower PREPARE and a lower ACCEPT: refused at once, naming the promise */
    m.from = 2;
    m.ballot = fl_paxos_ballot(4, 2);
    recv(&g, 0, &m);
    fl_paxos_msg a = {.type = FL_PAXOS_MSG_ACCEPT, .from = 2, .ballot = fl_paxos_ballot(4, 2)};
    fl_paxos_entry v = {{0}, FL_PAXOS_ENTRY_NORMAL, 1, (const uint8_t *)"x"};
    a.u.accept = (fl_paxos_accept){1, 0, 1, 1, &v};
    recv(&g, 0, &a);
    CHECK_EQ(g.n_msgs, 2);
    fl_paxos_entry buf[4];
    for (size_t k = 0; k < 2; k++) {
        fl_paxos_msg d;
        CHECK_EQ(fl_wire_paxos_decode(g.msgs[k].bytes.data, g.msgs[k].bytes.len, &d, buf, 4), 0);
        bool ok = d.type == FL_PAXOS_MSG_PROMISE ? d.u.promise.ok : d.u.accepted.ok;
        fl_term promised =
            d.type == FL_PAXOS_MSG_PROMISE ? d.u.promise.promised : d.u.accepted.promised;
        CHECK(!ok);
        CHECK_EQ(promised, fl_paxos_ballot(5, 3));
    }
    CHECK(fl_paxos_entry_at(&g.nodes[0].p, 1) == NULL); /* nothing accepted */
    /* a stranger and a ballot someone else owns are ignored */
    m.from = 9;
    CHECK_EQ(recv(&g, 0, &m), FL_EINVAL);
    rig_free(&g);
}

/* An acceptance is answered only once durable, and the leader chooses with q2 of them. */
TEST(paxos_accept_and_choose)
{
    rig g;
    rig_init(&g, 3, 3, NULL);
    rig_start_all(&g);
    elect_0(&g);
    CHECK_EQ(rig_propose(&g, 0, "x"), 0);
    CHECK_EQ(rig_propose(&g, 1, "y"), FL_ENOTLEADER);
    CHECK_EQ(rig_deliver(&g, FL_PAXOS_MSG_ACCEPT, 1), 1);
    CHECK_EQ(fl_paxos_entry_at(&g.nodes[1].p, 1)->type, FL_PAXOS_ENTRY_NORMAL);
    CHECK_EQ(rig_deliver(&g, FL_PAXOS_MSG_ACCEPTED, 0), 0); /* not durable yet */
    rig_sync(&g, 1, 0);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPTED, 0);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[0].p), 0); /* the leader's own copy is not durable */
    rig_sync(&g, 0, 0);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[0].p), 1);
    CHECK_EQ(g.nodes[0].sm_index, 1);
    commit_everywhere(&g, 1);
    CHECK_EQ(g.nodes[2].sm_hash, g.nodes[0].sm_hash);
    check_clean(&g);
    rig_free(&g);
}

/* Node 0 leads, node 1 alone accepts v, node 0 dies before choosing it. Node 2's phase 1
 * finds v in node 1's promise and chooses it in the same slot. */
TEST(paxos_leader_change_recovers_an_accepted_value)
{
    rig g;
    rig_init(&g, 3, 4, NULL);
    rig_start_all(&g);
    elect_0(&g);
    rig_propose(&g, 0, "v");
    rig_drop(&g, FL_PAXOS_MSG_ACCEPT, 2);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPT, 1);
    rig_sync(&g, 1, 0);
    rig_drop(&g, 0, -1); /* its answer is lost */
    rig_crash(&g, 0);
    rig_timeout(&g, 2);
    rig_settle(&g);
    CHECK_EQ(rig_leader(&g), 2);
    const fl_paxos_entry *e = fl_paxos_entry_at(&g.nodes[2].p, 1);
    CHECK(e && e->len == 1 && e->data[0] == 'v');
    CHECK_EQ(e->ballot, fl_paxos_ballot_of(&g.nodes[2].p)); /* re-proposed at its ballot */
    commit_everywhere(&g, 1);
    CHECK(fl_paxos_checker_chosen(&g.ch, 1) ==
          fl_paxos_check_value_hash(FL_PAXOS_ENTRY_NORMAL, (const uint8_t *)"v", 1));
    check_clean(&g);
    rig_free(&g);
}

static void batch_one(fl_paxos_config *c)
{
    c->batch_entries_max = 1;
}

/* Node 0 leads and proposes a and b (one ACCEPT each); only b reaches an acceptor (node 1),
 * node 0 dies, node 2 leads after a phase 1 that shows slot 1 empty and slot 2 holding b. */
static void gap_then_new_leader(rig *g)
{
    rig_start_all(g);
    elect_0(g);
    rig_propose(g, 0, "a");
    rig_propose(g, 0, "b");
    rig_drop(g, FL_PAXOS_MSG_ACCEPT, 2);
    size_t k = 0; /* the two ACCEPTs to node 1: the first (slot 1) is lost */
    while (g->msgs[k].type != FL_PAXOS_MSG_ACCEPT || g->msgs[k].to != 1)
        k++;
    rig_msg_remove(g, k);
    rig_deliver(g, FL_PAXOS_MSG_ACCEPT, 1);
    rig_sync(g, 1, 0);
    CHECK_EQ(fl_paxos_entry_at(&g->nodes[1].p, 1)->type, FL_PAXOS_ENTRY_EMPTY);
    CHECK_EQ(fl_paxos_entry_at(&g->nodes[1].p, 2)->type, FL_PAXOS_ENTRY_NORMAL);
    rig_drop(g, 0, -1);
    rig_crash(g, 0);
    rig_timeout(g, 2);
    rig_settle(g);
    CHECK_EQ(rig_leader(g), 2);
}

/* The next leader fills slot 1 with a no-op. */
TEST(paxos_gaps_are_filled_with_noops)
{
    rig g;
    rig_init(&g, 3, 5, batch_one);
    gap_then_new_leader(&g);
    commit_everywhere(&g, 2);
    CHECK_EQ(fl_paxos_entry_at(&g.nodes[2].p, 1)->type, FL_PAXOS_ENTRY_NOOP);
    CHECK_EQ(fl_paxos_entry_at(&g.nodes[2].p, 2)->data[0], 'b');
    CHECK_EQ(fl_paxos_entry_at(&g.nodes[1].p, 1)->type, FL_PAXOS_ENTRY_NOOP);
    check_clean(&g);
    rig_free(&g);
}

static void skip_gaps(fl_paxos_config *c)
{
    c->batch_entries_max = 1;
    c->mutants = FL_PAXOS_MUTANT_SKIP_GAP_FILL;
}

/* The same story with the skip-gap-fill mutant: the chosen prefix never passes the gap. */
TEST(paxos_mutant_skip_gap_fill_stalls)
{
    rig g;
    rig_init(&g, 3, 5, skip_gaps);
    gap_then_new_leader(&g);
    CHECK_EQ(rig_propose(&g, 2, "c"), 0);
    for (int round = 0; round < 20; round++) {
        rig_settle(&g);
        rig_timeout(&g, 2);
    }
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[2].p), 0); /* stuck behind slot 1 */
    check_clean(&g);                                /* safe, just never live */
    rig_free(&g);
}

static void flexible(fl_paxos_config *c)
{
    c->q1 = 4;
    c->q2 = 2;
}

/* n = 5, q1 = 4, q2 = 2: leading takes four promises, choosing two acceptances. */
TEST(paxos_flexible_quorums)
{
    rig g;
    rig_init(&g, 5, 6, flexible);
    rig_start_all(&g);
    rig_timeout(&g, 0);
    rig_deliver(&g, FL_PAXOS_MSG_PREPARE, -1);
    for (int i = 0; i < 5; i++)
        rig_sync(&g, i, 0);
    rig_drop(&g, FL_PAXOS_MSG_PROMISE, -1);
    /* re-run the promises one at a time: each acceptor answers a duplicate PREPARE */
    rig_crash(&g, 0);
    rig_start(&g, 0);
    rig_timeout(&g, 0);
    rig_sync(&g, 0, 0);
    int promised = 1; /* itself */
    for (int i = 1; i < 5 && promised < 4; i++) {
        rig_deliver(&g, FL_PAXOS_MSG_PREPARE, i);
        rig_sync(&g, i, 0);
        rig_deliver(&g, FL_PAXOS_MSG_PROMISE, 0);
        promised++;
        CHECK_EQ(fl_paxos_role_of(&g.nodes[0].p),
                 promised >= 4 ? FL_PAXOS_LEADER : FL_PAXOS_CANDIDATE);
    }
    rig_drop(&g, 0, -1);
    rig_propose(&g, 0, "f");
    rig_sync(&g, 0, 0);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[0].p), 0);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPT, 1);
    rig_sync(&g, 1, 0);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPTED, 0);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[0].p), 1); /* itself and node 1: q2 = 2 */
    check_clean(&g);
    rig_free(&g);
}

/* A read waits for a round of heartbeats answered by q2 acceptors after it arrived. */
TEST(paxos_read_needs_a_quorum_round)
{
    rig g;
    rig_init(&g, 3, 7, NULL);
    rig_start_all(&g);
    elect_0(&g);
    rig_propose(&g, 0, "x");
    commit_everywhere(&g, 1);
    CHECK_EQ(rig_read(&g, 1), FL_ENOTLEADER);
    CHECK_EQ(rig_read(&g, 0), 0);
    CHECK_EQ(g.nodes[0].reads_ok, 0);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPT, -1);
    rig_sync(&g, 1, 0);
    rig_sync(&g, 2, 0);
    rig_deliver(&g, FL_PAXOS_MSG_ACCEPTED, 0);
    CHECK_EQ(g.nodes[0].reads_ok, 1);
    CHECK_EQ(g.nodes[0].last_read_index, 1);
    /* a read the leader cannot confirm fails when it is deposed */
    CHECK_EQ(rig_read(&g, 0), 0);
    rig_drop(&g, 0, -1);
    fl_paxos_msg m = {.type = FL_PAXOS_MSG_ACCEPT, .from = 3, .ballot = fl_paxos_ballot(9, 3)};
    m.u.accept.first = 2;
    recv(&g, 0, &m);
    CHECK_EQ(g.nodes[0].reads_failed, 1);
    CHECK_EQ(fl_paxos_role_of(&g.nodes[0].p), FL_PAXOS_FOLLOWER);
    check_clean(&g);
    rig_free(&g);
}

static void leases(fl_paxos_config *c)
{
    c->lease_reads = true;
    c->max_drift_ppm = 100000; /* 10%: lease = 100 ms x 0.9 / 1.1 = 81.8 ms */
}

TEST(paxos_lease_reads_and_their_drift_bound)
{
    rig g;
    rig_init(&g, 3, 8, leases);
    g.now = 200 * FL_NS_PER_MS; /* past the start-up grace, where nodes ignore proposers */
    rig_start_all(&g);
    g.now += 200 * FL_NS_PER_MS;
    elect_0(&g);
    rig_propose(&g, 0, "x");
    commit_everywhere(&g, 1);
    fl_time_ns acked = g.now; /* every heartbeat so far was sent and answered by now */
    g.now = acked + 80 * FL_NS_PER_MS;
    uint64_t before = g.nodes[0].reads_ok;
    CHECK_EQ(rig_read(&g, 0), 0);
    CHECK_EQ(g.nodes[0].reads_ok, before + 1); /* within the lease: at once */
    rig_drop(&g, 0, -1);
    g.now = acked + 83 * FL_NS_PER_MS;
    CHECK_EQ(rig_read(&g, 0), 0);
    CHECK_EQ(g.nodes[0].reads_ok, before + 1); /* past it: needs a round */
    rig_settle(&g);
    CHECK_EQ(g.nodes[0].reads_ok, before + 2);
    /* an acceptor that acknowledged the leader ignores another proposer meanwhile */
    fl_paxos_msg m = {.type = FL_PAXOS_MSG_PREPARE, .from = 3, .ballot = fl_paxos_ballot(9, 3)};
    m.u.prepare.from = 1;
    fl_term before_promise = fl_paxos_promised_of(&g.nodes[1].p);
    recv(&g, 1, &m);
    CHECK_EQ(fl_paxos_promised_of(&g.nodes[1].p), before_promise);
    check_clean(&g);
    rig_free(&g);
}

/* Slots truncated by a snapshot reach a lagging replica as the snapshot, in chunks. */
TEST(paxos_snapshot_truncates_and_catches_up)
{
    rig g;
    rig_init(&g, 3, 9, NULL);
    rig_start_all(&g);
    elect_0(&g);
    g.side = 1u << 2; /* node 2 cut off */
    char v[16];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        CHECK_EQ(rig_propose(&g, 0, v), 0);
        rig_settle(&g);
    }
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[0].p), 10);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[2].p), 0);
    CHECK_EQ(rig_snapshot(&g, 0), 0);
    CHECK_EQ(fl_paxos_first_index(&g.nodes[0].p), 11);
    CHECK(fl_paxos_entry_at(&g.nodes[0].p, 10) == NULL);
    CHECK_EQ(rig_snapshot(&g, 0), FL_EINVAL); /* not newer */
    g.side = 0;
    for (int round = 0; round < 10 && fl_paxos_commit_of(&g.nodes[2].p) < 10; round++) {
        rig_timeout(&g, 0);
        rig_settle(&g);
    }
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[2].p), 10);
    CHECK_EQ(fl_paxos_snapshot_of(&g.nodes[2].p)->index, 10);
    CHECK_EQ(g.nodes[2].sm_hash, g.chain[10]);
    CHECK(g.nodes[0].p.snapshot_chunks_sent >= 3); /* 40 bytes in 16-byte chunks */
    rig_propose(&g, 0, "after");
    commit_everywhere(&g, 11);
    CHECK_EQ(g.nodes[2].sm_hash, g.chain[11]);
    /* and it restarts from the installed snapshot */
    rig_crash(&g, 2);
    rig_start(&g, 2);
    CHECK_EQ(fl_paxos_commit_of(&g.nodes[2].p), 10);
    CHECK_EQ(g.nodes[2].sm_index, 10);
    check_clean(&g);
    rig_free(&g);
}

/* A follower that received a whole snapshot has compacted its log to it, but commit and
 * applied reach it only once the install is durable. Meanwhile ACCEPTs keep coming (the
 * leader's heartbeats: its match must start at the log, not below it, where the simulator
 * found a crash) and its election timer runs out (no phase 1 while the snapshot is in flux). */
TEST(paxos_accepts_and_timeouts_while_an_install_waits_for_the_disk)
{
    rig g;
    rig_init(&g, 3, 11, NULL);
    rig_start_all(&g);
    elect_0(&g);
    g.side = 1u << 2;
    char v[16];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        CHECK_EQ(rig_propose(&g, 0, v), 0);
        rig_settle(&g);
    }
    CHECK_EQ(rig_snapshot(&g, 0), 0);
    g.side = 0;
    const fl_paxos *f = &g.nodes[2].p;
    for (int round = 0; round < 50 && !fl_paxos_install_pending(f); round++) {
        rig_timeout(&g, 0);
        for (int k = 0; k < 10 && !fl_paxos_install_pending(f); k++) {
            rig_sync(&g, 0, 0);
            rig_sync(&g, 1, 0);
            rig_sync(&g, 2, 0);
            rig_deliver_all(&g);
        }
    }
    CHECK(fl_paxos_install_pending(f));
    CHECK(fl_paxos_first_index(f) == 11 && fl_paxos_commit_of(f) < 10);
    /* a heartbeat of the leader's (one sent before the snapshot began, arriving late) */
    fl_paxos_msg hb = {.type = FL_PAXOS_MSG_ACCEPT, .from = 1};
    hb.ballot = fl_paxos_ballot_of(&g.nodes[0].p);
    hb.u.accept = (fl_paxos_accept){.first = 11, .commit = 10, .ctx = 1};
    CHECK_EQ(recv(&g, 2, &hb), 0);
    rig_timeout(&g, 2); /* its election timeout: it waits for the disk instead */
    CHECK_EQ(fl_paxos_role_of(f), FL_PAXOS_FOLLOWER);
    CHECK(fl_paxos_install_pending(f));
    rig_propose(&g, 0, "after");
    commit_everywhere(&g, 11);
    CHECK_EQ(fl_paxos_snapshot_of(f)->index, 10);
    CHECK_EQ(g.nodes[2].sm_hash, g.chain[11]);
    check_clean(&g);
    rig_free(&g);
}

static void promise_early(fl_paxos_config *c)
{
    c->mutants = FL_PAXOS_MUTANT_PROMISE_BEFORE_DURABLE;
}

/* The promise-before-durable mutant answers before the disk has the promise; a crash then
 * forgets a promise another node was told about, which the checker reports at the restart. */
TEST(paxos_mutant_promise_before_durable_is_caught)
{
    rig g;
    rig_init(&g, 3, 10, promise_early);
    rig_start_all(&g);
    rig_timeout(&g, 0);
    rig_deliver(&g, FL_PAXOS_MSG_PREPARE, 1);
    CHECK_EQ(promises_to(&g, 0), 1); /* before any sync */
    CHECK(!g.violated);
    rig_crash(&g, 1);
    rig_start(&g, 1);
    CHECK(g.violated);
    CHECK(strstr((const char *)g.why.data, "promises") != NULL);
    rig_free(&g);
}
