/* test_raft.c: the Raft core stepped by hand in a tiny fixture: every message goes through
 * the wire codec, persistence completes when the test says so. The simulator's story tests
 * (tests/sim) cover faults; these pin down the contract. */
#include "test.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft.h"
#include "faultline/wire.h"

#include <stdlib.h>

#define N_MAX 5
#define Q_MAX 4096

typedef struct {
    fl_node_id from, to;
    fl_buf bytes;
} qmsg;

typedef struct {
    fl_raft r;
    bool auto_persist;
    uint64_t last_seq; /* newest persist request */
    fl_index applied;  /* what the "state machine" has applied */
    uint64_t reads_ok, reads_failed, last_read_ctx;
    fl_index last_read_index;
    uint64_t appends_sent; /* AppendEntries this node sent (heartbeats included) */
    bool may_wait;         /* the last step's sync_may_wait */
    char applied_data[64][16];
} node;

static struct {
    int n;
    node nodes[N_MAX];
    qmsg q[Q_MAX];
    int q_head, q_count;
    fl_time_ns now;
} c;

static void handle(node *nd, const fl_raft_update *up);

static void step(node *nd, fl_raft_event *ev)
{
    fl_raft_update up;
    ev->now_ns = c.now;
    fl_raft_step(&nd->r, ev, &up);
    fl_raft_invariants(&nd->r);
    handle(nd, &up);
}

static void persist(node *nd, uint64_t seq)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_PERSISTED, .u.seq = seq};
    step(nd, &ev);
}

static void handle(node *nd, const fl_raft_update *up)
{
    nd->may_wait = up->sync_may_wait;
    for (size_t i = 0; i < up->n_msgs; i++) {
        FL_ASSERT(c.q_count < Q_MAX);
        qmsg *m = &c.q[(c.q_head + c.q_count++) % Q_MAX];
        fl_buf_init(&m->bytes);
        m->from = fl_raft_msgs_of(up)[i].from;
        m->to = fl_raft_msgs_of(up)[i].to;
        nd->appends_sent += fl_raft_msgs_of(up)[i].type == FL_RAFT_MSG_APPEND;
        FL_ASSERT(fl_wire_raft_encode(&fl_raft_msgs_of(up)[i], &m->bytes) == 0);
    }
    for (size_t i = 0; i < up->n_apply; i++) {
        fl_index idx = up->apply_first + i;
        FL_ASSERT(idx == nd->applied + 1);
        nd->applied = idx;
        if (idx < 64) {
            size_t len = up->apply[i].len < 15 ? up->apply[i].len : 15;
            memcpy(nd->applied_data[idx], up->apply[i].data ? (const char *)up->apply[i].data : "",
                   len);
            nd->applied_data[idx][len] = 0;
        }
    }
    for (size_t i = 0; i < up->n_reads; i++) {
        FL_ASSERT(!up->reads[i].ok || up->reads[i].index <= nd->applied);
        nd->reads_ok += up->reads[i].ok;
        nd->reads_failed += !up->reads[i].ok;
        nd->last_read_ctx = up->reads[i].ctx;
        nd->last_read_index = up->reads[i].index;
    }
    if (up->persist.seq) {
        nd->last_seq = up->persist.seq;
        if (nd->auto_persist)
            persist(nd, up->persist.seq);
    }
}

static void setup(int n, bool pre_vote)
{
    memset(&c, 0, sizeof(c));
    c.n = n;
    for (int i = 0; i < n; i++) {
        fl_raft_config cfg;
        fl_raft_config_default(&cfg, (fl_node_id)(i + 1));
        cfg.n_voters = (uint32_t)n;
        for (int j = 0; j < n; j++)
            cfg.voters[j] = (fl_node_id)(j + 1);
        cfg.pre_vote = pre_vote;
        cfg.seed = 1000 + (uint64_t)i;
        c.nodes[i].auto_persist = true;
        FL_ASSERT(fl_raft_init(&c.nodes[i].r, &cfg, NULL, 0) == 0);
    }
}

/* Every queued message is lost. */
static void drop_all(void)
{
    while (c.q_count) {
        fl_buf_free(&c.q[c.q_head].bytes);
        c.q_head = (c.q_head + 1) % Q_MAX;
        c.q_count--;
    }
}

static void teardown(void)
{
    drop_all();
    for (int i = 0; i < c.n; i++)
        fl_raft_close(&c.nodes[i].r);
}

/* Delivers the oldest queued message. */
static void deliver_one(void)
{
    qmsg m = c.q[c.q_head];
    c.q_head = (c.q_head + 1) % Q_MAX;
    c.q_count--;
    fl_raft_entry ents[FL_WIRE_ENTRIES_MAX];
    fl_raft_msg msg;
    FL_ASSERT(fl_wire_raft_decode(m.bytes.data, m.bytes.len, &msg, ents, 64) == 0);
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &msg};
    step(&c.nodes[m.to - 1], &ev);
    fl_buf_free(&m.bytes);
}

/* Delivers queued messages in order until none are left. */
static void deliver_all(void)
{
    for (int guard = 0; c.q_count && guard < 100000; guard++)
        deliver_one();
}

/* ms of time pass for nd alone; everything it sends is lost. */
static void tick_cut_off(node *nd, int ms)
{
    for (int t = 0; t < ms; t++) {
        c.now += FL_NS_PER_MS;
        fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
        step(nd, &ev);
        drop_all();
    }
}

static void advance_ms(int ms)
{
    for (int t = 0; t < ms; t++) {
        c.now += FL_NS_PER_MS;
        for (int i = 0; i < c.n; i++) {
            fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
            step(&c.nodes[i], &ev);
        }
        deliver_all();
    }
}

static int leader_count(fl_node_id *leader)
{
    int count = 0;
    for (int i = 0; i < c.n; i++)
        if (fl_raft_role_of(&c.nodes[i].r) == FL_RAFT_LEADER) {
            count++;
            *leader = (fl_node_id)(i + 1);
        }
    return count;
}

static fl_node_id elect(void)
{
    fl_node_id leader = 0;
    for (int t = 0; t < 2000 && leader_count(&leader) != 1; t += 10)
        advance_ms(10);
    return leader;
}

TEST(three_nodes_elect_exactly_one_leader)
{
    setup(3, true);
    fl_node_id leader = elect();
    CHECK(leader != 0);
    CHECK_EQ(leader_count(&leader), 1);
    fl_term t = fl_raft_term_of(&c.nodes[leader - 1].r);
    advance_ms(300); /* heartbeats keep it: nobody times out */
    CHECK_EQ(leader_count(&leader), 1);
    for (int i = 0; i < 3; i++) {
        CHECK(fl_raft_term_of(&c.nodes[i].r) == t);
        CHECK_EQ(fl_raft_leader_of(&c.nodes[i].r), leader);
    }
    /* the new leader's no-op commits everywhere */
    for (int i = 0; i < 3; i++)
        CHECK(fl_raft_commit_of(&c.nodes[i].r) >= 1);
    teardown();
}

TEST(proposals_commit_and_apply_in_order_everywhere)
{
    setup(5, true);
    fl_node_id leader = elect();
    CHECK(leader != 0);
    const char *cmds[] = {"a", "bb", "ccc"};
    fl_index idx[3];
    for (int k = 0; k < 3; k++) {
        fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE,
                            .u.propose = {(const uint8_t *)cmds[k], (uint32_t)strlen(cmds[k])}};
        fl_raft_update up;
        ev.now_ns = c.now;
        CHECK_EQ(fl_raft_step(&c.nodes[leader - 1].r, &ev, &up), 0);
        idx[k] = up.proposed_index;
        handle(&c.nodes[leader - 1], &up);
    }
    CHECK(idx[1] == idx[0] + 1 && idx[2] == idx[1] + 1);
    advance_ms(100);
    for (int i = 0; i < 5; i++) {
        CHECK(c.nodes[i].applied >= idx[2]);
        for (int k = 0; k < 3; k++)
            CHECK_STR(c.nodes[i].applied_data[idx[k]], cmds[k]);
    }
    /* a follower refuses proposals */
    fl_node_id follower = leader == 1 ? 2 : 1;
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE, .u.propose = {(const uint8_t *)"x", 1}};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&c.nodes[follower - 1].r, &ev, &up), FL_ENOTLEADER);
    teardown();
}

TEST(vote_is_not_announced_before_it_is_durable)
{
    setup(3, false);
    c.nodes[1].auto_persist = false;
    fl_raft_msg req = {.type = FL_RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &req, .now_ns = 0};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&c.nodes[1].r, &ev, &up), 0);
    CHECK(up.persist.seq != 0);
    CHECK(up.persist.hard_state);
    CHECK_EQ(up.persist.vote, 1);
    CHECK_EQ(up.n_msgs, 0); /* the grant waits for the disk */
    uint64_t seq = up.persist.seq;
    ev = (fl_raft_event){.type = FL_RAFT_EV_PERSISTED, .u.seq = seq};
    CHECK_EQ(fl_raft_step(&c.nodes[1].r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 1);
    CHECK_EQ(fl_raft_msgs_of(&up)[0].type, FL_RAFT_MSG_VOTE_RESP);
    CHECK(fl_raft_msgs_of(&up)[0].u.vote_resp.granted);
    /* a second candidate in the same term is refused */
    req.from = 3;
    ev = (fl_raft_event){.type = FL_RAFT_EV_RECEIVE, .u.msg = &req};
    CHECK_EQ(fl_raft_step(&c.nodes[1].r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 1);
    CHECK(!fl_raft_msgs_of(&up)[0].u.vote_resp.granted);
    teardown();
}

TEST(mutant_vote_before_durable_announces_early)
{
    setup(3, false);
    c.nodes[1].r.cfg.mutants = FL_RAFT_MUTANT_VOTE_BEFORE_DURABLE;
    fl_raft_msg req = {.type = FL_RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &req, .now_ns = 0};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&c.nodes[1].r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 1);
    teardown();
}

TEST(candidate_counts_itself_only_when_durable)
{
    setup(1, false);
    c.nodes[0].auto_persist = false;
    advance_ms(400);
    CHECK_EQ(fl_raft_role_of(&c.nodes[0].r), FL_RAFT_CANDIDATE);
    persist(&c.nodes[0], c.nodes[0].last_seq);
    CHECK_EQ(fl_raft_role_of(&c.nodes[0].r), FL_RAFT_LEADER);
    CHECK_EQ(fl_raft_commit_of(&c.nodes[0].r), 0); /* its no-op is not durable yet */
    persist(&c.nodes[0], c.nodes[0].last_seq);
    CHECK_EQ(fl_raft_commit_of(&c.nodes[0].r), 1);
    teardown();
}

TEST(stale_leader_is_refused_and_steps_down)
{
    setup(3, true);
    fl_node_id leader = elect();
    CHECK(leader != 0);
    node *f = &c.nodes[leader % 3];
    fl_term t = fl_raft_term_of(&f->r);
    fl_raft_msg stale = {
        .type = FL_RAFT_MSG_APPEND, .from = leader, .to = f->r.cfg.id, .term = t - 1};
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &stale, .now_ns = c.now};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&f->r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 1);
    CHECK(!fl_raft_msgs_of(&up)[0].u.append_resp.success);
    CHECK(fl_raft_msgs_of(&up)[0].term == t);
    /* a response carrying a higher term deposes the leader */
    fl_raft_msg higher = {
        .type = FL_RAFT_MSG_APPEND_RESP, .from = f->r.cfg.id, .to = leader, .term = t + 5};
    ev.u.msg = &higher;
    CHECK_EQ(fl_raft_step(&c.nodes[leader - 1].r, &ev, &up), 0);
    CHECK_EQ(fl_raft_role_of(&c.nodes[leader - 1].r), FL_RAFT_FOLLOWER);
    CHECK(fl_raft_term_of(&c.nodes[leader - 1].r) == t + 5);
    teardown();
}

TEST(nonsense_messages_are_refused_not_asserted)
{
    setup(3, true);
    fl_raft_update up;
    /* (a sender outside our configuration is heard: it may be a leader added after our last
     * config entry; node 0 is nobody) */
    fl_raft_msg m = {.type = FL_RAFT_MSG_APPEND, .from = 0, .to = 1, .term = 1};
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL); /* no sender */
    m.from = 2;
    m.to = 3;
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL); /* not for us */
    fl_raft_entry ents[2] = {{.term = 2, .type = FL_RAFT_ENTRY_NOOP},
                             {.term = 1, .type = FL_RAFT_ENTRY_NOOP}};
    m.to = 1;
    m.term = 2;
    m.u.append.entries = ents;
    m.u.append.n_entries = 2;
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL); /* terms go backwards */
    CHECK_EQ(fl_raft_last_index(&c.nodes[0].r), 0);
    ents[1].term = 3;
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL); /* beyond the message term */
    static const uint8_t garbage[] = {1, 9, 0, 0, 1, 0, 0, 0};
    ents[1] = (fl_raft_entry){.term = 2, .type = FL_RAFT_ENTRY_CONFIG, .len = 8, .data = garbage};
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL); /* a config that does not decode */
    CHECK_EQ(fl_raft_last_index(&c.nodes[0].r), 0);
    ev.type = 99;
    CHECK_EQ(fl_raft_step(&c.nodes[0].r, &ev, &up), FL_EINVAL);
    teardown();
}

/* A message the core refuses changes nothing: not even the term (which would be persisted
 * and make the node a follower of a term nobody leads). */
TEST(refused_message_of_a_higher_term_changes_no_term)
{
    setup(3, true);
    node *n = &c.nodes[0];
    n->auto_persist = false;
    fl_raft_update up;
    fl_raft_entry ents[2] = {{.term = 5, .type = FL_RAFT_ENTRY_NOOP},
                             {.term = 4, .type = FL_RAFT_ENTRY_NOOP}};
    fl_raft_msg m = {.type = FL_RAFT_MSG_APPEND, .from = 2, .to = 1, .term = 5};
    m.u.append.entries = ents;
    m.u.append.n_entries = 2; /* terms go backwards */
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    CHECK_EQ(fl_raft_step(&n->r, &ev, &up), FL_EINVAL);
    CHECK(fl_raft_term_of(&n->r) == 0);
    CHECK_EQ(up.persist.seq, 0);
    CHECK_EQ(up.n_msgs, 0);
    fl_raft_msg s = {.type = FL_RAFT_MSG_SNAPSHOT, .from = 2, .to = 1, .term = 6};
    s.u.snapshot.meta.index = 10;
    s.u.snapshot.meta.term = 7; /* a snapshot from a term after the message's */
    s.u.snapshot.meta.size = 4;
    s.u.snapshot.len = 4;
    s.u.snapshot.data = (const uint8_t *)"abcd";
    s.u.snapshot.done = true;
    ev.u.msg = &s;
    CHECK_EQ(fl_raft_step(&n->r, &ev, &up), FL_EINVAL);
    CHECK(fl_raft_term_of(&n->r) == 0);
    CHECK_EQ(up.persist.seq, 0);
    teardown();
}

TEST(config_out_of_range_is_refused_with_reason)
{
    fl_raft_config cfg;
    char why[128];
    fl_raft_config_default(&cfg, 1);
    CHECK_EQ(fl_raft_config_validate(&cfg, why, sizeof(why)), FL_ECONFIG); /* no voters */
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    CHECK_EQ(fl_raft_config_validate(&cfg, why, sizeof(why)), 0);
    cfg.heartbeat_ns = cfg.election_timeout_ns;
    CHECK_EQ(fl_raft_config_validate(&cfg, why, sizeof(why)), FL_ECONFIG);
    CHECK(strstr(why, "heartbeat") != NULL);
    fl_raft_config_default(&cfg, 2);
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    CHECK_EQ(fl_raft_config_validate(&cfg, why, sizeof(why)), FL_ECONFIG);
    CHECK(strstr(why, "not among") != NULL);
}

TEST(recovered_log_that_goes_backwards_is_corrupt)
{
    fl_raft_config cfg;
    fl_raft_config_default(&cfg, 1);
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    fl_raft_entry ents[2] = {{.term = 3, .type = FL_RAFT_ENTRY_NOOP},
                             {.term = 2, .type = FL_RAFT_ENTRY_NOOP}};
    fl_raft_durable st = {.term = 3, .first_index = 1, .n_entries = 2, .entries = ents};
    fl_raft r;
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), FL_ECORRUPT);
    ents[1].term = 3;
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), 0);
    CHECK_EQ(fl_raft_last_index(&r), 2);
    fl_raft_close(&r);
}

static int read_at(fl_node_id id, uint64_t ctx)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_READ, .u.read_ctx = ctx, .now_ns = c.now};
    fl_raft_update up;
    int rc = fl_raft_step(&c.nodes[id - 1].r, &ev, &up);
    handle(&c.nodes[id - 1], &up);
    return rc;
}

/* The leader's progress record of member id (tests look inside the core). */
static const fl_raft_progress *progress_of(const fl_raft *r, fl_node_id id)
{
    for (uint32_t i = 0; i < r->n_members; i++)
        if (r->progress[i].id == id)
            return &r->progress[i];
    FL_ASSERT(0);
    return NULL;
}

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

static int propose_at(fl_node_id at, const char *cmd);

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

static int transfer_to(fl_node_id at, fl_node_id to)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_TRANSFER, .u.transfer_to = to, .now_ns = c.now};
    fl_raft_update up;
    int rc = fl_raft_step(&c.nodes[at - 1].r, &ev, &up);
    handle(&c.nodes[at - 1], &up);
    return rc;
}

static int propose_at(fl_node_id at, const char *cmd)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE,
                        .u.propose = {(const uint8_t *)cmd, (uint32_t)strlen(cmd)},
                        .now_ns = c.now};
    fl_raft_update up;
    int rc = fl_raft_step(&c.nodes[at - 1].r, &ev, &up);
    handle(&c.nodes[at - 1], &up);
    return rc;
}

/* Issue 16: a leader's sync may wait exactly while its last entry went to no other voter
 * (each follower's window full); the step that sends it, an acknowledgement's, says false.
 * Followers, and a lone voter, never wait. */
TEST(leader_sync_may_wait_only_for_entries_no_follower_was_sent)
{
    setup(3, false);
    fl_node_id l = elect();
    CHECK(l != 0);
    deliver_all();
    node *ld = &c.nodes[l - 1];
    uint32_t window = ld->r.cfg.inflight_max;
    CHECK(window >= 1);
    for (uint32_t i = 0; i < window; i++) { /* each goes out at once: room in both windows */
        CHECK(propose_at(l, "x") == 0);
        CHECK(!ld->may_wait);
    }
    CHECK(propose_at(l, "held") == 0); /* both windows full: sent to nobody */
    CHECK(ld->may_wait);
    CHECK(propose_at(l, "held2") == 0);
    CHECK(ld->may_wait);
    while (c.q_count && ld->may_wait) /* the followers' acknowledgements come back */
        deliver_one();
    CHECK(!ld->may_wait); /* an acknowledgement's step sent the held entries */
    deliver_all();
    for (int i = 0; i < 3; i++)
        if (i != (int)l - 1)
            CHECK(!c.nodes[i].may_wait); /* followers sync every append */
    CHECK(ld->r.commit == fl_raft_last_index(&ld->r));
    teardown();

    setup(1, false);
    CHECK(elect() == 1);
    for (int i = 0; i < 20; i++) {
        CHECK(propose_at(1, "solo") == 0);
        CHECK(!c.nodes[0].may_wait); /* no one else: its own sync commits */
    }
    teardown();
}

TEST(transfer_hands_leadership_to_the_target)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    fl_node_id target = l % 3 + 1;
    fl_term t = fl_raft_term_of(&c.nodes[l - 1].r);
    CHECK_EQ(transfer_to(l, target), 0);
    CHECK_EQ(propose_at(l, "during"), FL_EBUSY); /* no proposals while handing over */
    deliver_all();
    advance_ms(20);
    CHECK_EQ(fl_raft_role_of(&c.nodes[target - 1].r), FL_RAFT_LEADER);
    CHECK(fl_raft_term_of(&c.nodes[target - 1].r) == t + 1);
    CHECK_EQ(fl_raft_role_of(&c.nodes[l - 1].r), FL_RAFT_FOLLOWER);
    CHECK_EQ(transfer_to(target, target), FL_EINVAL);
    CHECK_EQ(transfer_to(target, 99), FL_EINVAL);
    CHECK_EQ(transfer_to(l, target), FL_ENOTLEADER);
    teardown();
}

TEST(transfer_to_an_unreachable_target_is_abandoned)
{
    setup(3, true);
    fl_node_id l = elect();
    advance_ms(50);
    node *ld = &c.nodes[l - 1];
    fl_node_id target = l % 3 + 1;
    CHECK_EQ(transfer_to(l, target), 0);
    /* everything the leader sends is lost: the target never hears TimeoutNow */
    tick_cut_off(ld, 400); /* only the abort counts it; a step-down would not */
    CHECK_EQ(ld->r.transfers_aborted, 1);
    CHECK_EQ(ld->r.transfer_to, FL_NODE_NONE);
    teardown();
}

TEST(lease_read_is_served_without_a_round_while_the_lease_holds)
{
    setup(3, true);
    for (int i = 0; i < 3; i++) {
        c.nodes[i].r.cfg.lease_reads = true;
        c.nodes[i].r.cfg.max_drift_ppm = 100000; /* 10%: lease = 150 ms x 0.9 / 1.1 */
        c.nodes[i].r.cfg.check_quorum = false;   /* so the cut-off leader keeps leading */
    }
    fl_node_id l = elect();
    advance_ms(50); /* heartbeats acknowledged: the lease holds */
    node *ld = &c.nodes[l - 1];
    size_t queued = (size_t)c.q_count;
    CHECK_EQ(read_at(l, 11), 0);
    CHECK_EQ(ld->reads_ok, 1);           /* answered at once */
    CHECK_EQ((size_t)c.q_count, queued); /* and no round was sent */
    CHECK_EQ(ld->r.lease_reads_served, 1);
    /* cut the leader off: once a lease has passed since the last acknowledged send, reads
     * need a round again (which cannot complete) */
    tick_cut_off(ld, 130);
    CHECK_EQ(fl_raft_role_of(&ld->r), FL_RAFT_LEADER);
    CHECK_EQ(read_at(l, 12), 0);
    CHECK_EQ(ld->reads_ok, 1); /* not served: the lease ran out */
    CHECK_EQ(ld->r.lease_reads_served, 1);
    teardown();
}

/* A follower that rejects an AppendEntries of an earlier term answers in its own term, which
 * may be the old leader's term again by the time the answer arrives (it was re-elected). That
 * answer acknowledges no leader: it must not count for ReadIndex rounds or the lease. */
TEST(rejection_of_an_earlier_terms_append_is_no_acknowledgement)
{
    setup(3, false);
    for (int i = 0; i < 3; i++)
        c.nodes[i].r.cfg.lease_reads = true;
    fl_node_id l = elect();
    advance_ms(20);
    node *ld = &c.nodes[l - 1];
    fl_node_id f = l % 3 + 1;
    /* an AppendEntries from l to f in l's first term, held back */
    propose_at(l, "old");
    qmsg old = {0};
    while (c.q_count) {
        qmsg m = c.q[c.q_head];
        c.q_head = (c.q_head + 1) % Q_MAX;
        c.q_count--;
        if (!old.from && m.to == f)
            old = m;
        else
            fl_buf_free(&m.bytes);
    }
    CHECK(old.from == l);
    advance_ms(50); /* f catches up by the next heartbeats */
    /* leadership goes to f and comes back to l, two terms later */
    CHECK_EQ(transfer_to(l, f), 0);
    deliver_all();
    CHECK_EQ(fl_raft_role_of(&c.nodes[f - 1].r), FL_RAFT_LEADER);
    advance_ms(5);
    CHECK_EQ(transfer_to(f, l), 0);
    /* deliver until l leads; nothing of its new term reaches anyone, f sees the old message */
    while (c.q_count && fl_raft_role_of(&ld->r) != FL_RAFT_LEADER)
        deliver_one();
    CHECK_EQ(fl_raft_role_of(&ld->r), FL_RAFT_LEADER);
    drop_all();
    fl_raft_entry ents[FL_WIRE_ENTRIES_MAX];
    fl_raft_msg msg;
    CHECK_EQ(fl_wire_raft_decode(old.bytes.data, old.bytes.len, &msg, ents, 64), 0);
    fl_buf_free(&old.bytes);
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &msg};
    fl_raft_progress before = *progress_of(&ld->r, f);
    step(&c.nodes[f - 1], &ev); /* f rejects it: stale term, answered in l's current term */
    CHECK_EQ(c.q_count, 1);
    deliver_all();
    const fl_raft_progress *after = progress_of(&ld->r, f);
    CHECK_EQ(before.ctx_acked, 0);
    CHECK_EQ(after->ctx_acked, before.ctx_acked);
    CHECK_EQ(after->acked_sent_ns, before.acked_sent_ns);
    teardown();
}

TEST(lease_mode_node_ignores_votes_for_an_election_timeout_after_start)
{
    setup(3, false);
    node *n = &c.nodes[1];
    n->r.cfg.lease_reads = true;
    n->r.votes_ignored_until = c.now + n->r.cfg.election_timeout_ns;
    fl_raft_msg req = {.type = FL_RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 5};
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &req, .now_ns = c.now};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&n->r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 0); /* ignored: an old lease may still hold */
    CHECK(fl_raft_term_of(&n->r) == 0);
    ev.now_ns = c.now + n->r.cfg.election_timeout_ns;
    CHECK_EQ(fl_raft_step(&n->r, &ev, &up), 0);
    CHECK(fl_raft_term_of(&n->r) == 5); /* afterwards it takes part again */
    teardown();
}

TEST(follower_with_a_live_leader_ignores_a_disruptive_candidate)
{
    setup(3, false);
    fl_node_id l = elect();
    advance_ms(20);
    node *f = &c.nodes[l % 3];
    fl_term t = fl_raft_term_of(&f->r);
    fl_node_id other = (fl_node_id)((l + 1) % 3 + 1);
    /* a node that lost touch asks for votes at a higher term while the leader is alive */
    fl_raft_msg req = {.type = FL_RAFT_MSG_VOTE, .from = other, .to = f->r.cfg.id, .term = t + 3};
    req.u.vote.last_index = 100;
    req.u.vote.last_term = t + 2;
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &req, .now_ns = c.now};
    fl_raft_update up;
    CHECK_EQ(fl_raft_step(&f->r, &ev, &up), 0);
    CHECK_EQ(up.n_msgs, 0);             /* no answer at all */
    CHECK(fl_raft_term_of(&f->r) == t); /* and no new term */
    CHECK_EQ(fl_raft_leader_of(&f->r), l);
    /* a transfer's campaign (TimeoutNow) is answered even so */
    req.u.vote.transfer = true;
    CHECK_EQ(fl_raft_step(&f->r, &ev, &up), 0);
    CHECK(fl_raft_term_of(&f->r) == t + 3);
    teardown();
}

TEST(leader_that_cannot_commit_refuses_proposals_past_the_uncommitted_limit)
{
    setup(3, true);
    fl_node_id l = elect();
    deliver_all();
    node *ld = &c.nodes[l - 1];
    fl_index commit = fl_raft_commit_of(&ld->r);
    uint32_t limit = ld->r.cfg.uncommitted_max;
    CHECK_EQ(limit, 512);
    /* cut off: nothing it sends arrives, so nothing it appends commits */
    for (uint32_t i = 0; fl_raft_last_index(&ld->r) - commit < limit; i++) {
        CHECK_EQ(propose_at(l, "x"), 0);
        drop_all();
    }
    CHECK_EQ(propose_at(l, "one too many"), FL_EBUSY);
    CHECK_EQ(ld->r.proposals_refused_busy, 1);
    CHECK_EQ(fl_raft_last_index(&ld->r) - commit, limit);
    /* reconnected: the followers catch up, the backlog commits, proposals are taken again */
    for (int i = 0; i < 40 && fl_raft_commit_of(&ld->r) < fl_raft_last_index(&ld->r); i++) {
        advance_ms(40);
        deliver_all();
    }
    CHECK_EQ(fl_raft_role_of(&ld->r), FL_RAFT_LEADER);
    CHECK_EQ(fl_raft_commit_of(&ld->r), fl_raft_last_index(&ld->r));
    CHECK_EQ(propose_at(l, "after"), 0);
    teardown();
}

/* ---- snapshots ----------------------------------------------------------------------------- */

TEST(snapshot_event_compacts_the_log_behind_it)
{
    setup(3, true);
    fl_node_id l = elect();
    node *ld = &c.nodes[l - 1];
    for (int i = 0; i < 30; i++)
        propose_at(l, "cmd");
    deliver_all();
    fl_index applied = fl_raft_applied_of(&ld->r);
    CHECK(applied >= 31);
    fl_term t = fl_raft_term_at(&ld->r, applied);
    fl_raft_update up;
    fl_raft_event ev = {.type = FL_RAFT_EV_SNAPSHOT, .now_ns = c.now};
    ev.u.snapshot.index = applied + 1; /* not applied yet */
    ev.u.snapshot.size = 10;
    CHECK_EQ(fl_raft_step(&ld->r, &ev, &up), FL_EINVAL);
    ev.u.snapshot.index = applied - 10;
    CHECK_EQ(fl_raft_step(&ld->r, &ev, &up), 0);
    CHECK_EQ(fl_raft_first_index(&ld->r), applied - 9);
    CHECK(fl_raft_term_at(&ld->r, applied - 10) != 0); /* the entry before the log keeps its term */
    CHECK(fl_raft_entry_at(&ld->r, applied - 10) == NULL);
    CHECK_EQ(up.persist.seq, 0); /* the environment stores the snapshot; nothing to log */
    CHECK_EQ(fl_raft_step(&ld->r, &ev, &up), FL_EINVAL); /* not newer than the last one */
    ld->r.cfg.snapshot_trailing = 3;
    ev.u.snapshot.index = applied;
    CHECK_EQ(fl_raft_step(&ld->r, &ev, &up), 0);
    CHECK_EQ(fl_raft_first_index(&ld->r), applied - 2); /* three entries kept behind it */
    CHECK(fl_raft_snapshot_of(&ld->r)->index == applied);
    CHECK(fl_raft_snapshot_of(&ld->r)->term == t);
    CHECK_EQ(fl_raft_snapshot_of(&ld->r)->conf.n_voters, 3);
    /* it still leads and replicates what follows */
    propose_at(l, "after");
    deliver_all();
    CHECK(fl_raft_commit_of(&ld->r) == applied + 1);
    for (int i = 0; i < 3; i++)
        CHECK(fl_raft_last_index(&c.nodes[i].r) == applied + 1);
    fl_raft_invariants(&ld->r);
    teardown();
}

/* A snapshot's compaction frees none of the payloads it drops: it hands them all over in one
 * array (fl_raft_take_dropped), for the environment to free off its loop (issue 16: tens of
 * thousands of free()s in that one step stopped the server's loop 15-40 ms); the entries
 * kept are untouched, and a second take finds nothing. */
TEST(snapshot_compaction_hands_the_dropped_payloads_over_in_one_array)
{
    setup(3, true);
    fl_node_id l = elect();
    node *ld = &c.nodes[l - 1];
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(propose_at(l, "payload"), 0);
        if (i % 100 == 99)
            deliver_all(); /* within the uncommitted limit */
    }
    deliver_all();
    fl_index applied = fl_raft_applied_of(&ld->r);
    CHECK(applied >= 1001);
    void **none;
    (void)fl_raft_take_dropped(&ld->r, &none); /* anything from before: not this test's */
    free(none);
    ld->r.cfg.snapshot_trailing = 10;
    fl_raft_update up;
    fl_raft_event ev = {.type = FL_RAFT_EV_SNAPSHOT, .now_ns = c.now};
    ev.u.snapshot.index = applied;
    ev.u.snapshot.size = 10;
    CHECK_EQ(fl_raft_step(&ld->r, &ev, &up), 0);
    CHECK_EQ(fl_raft_first_index(&ld->r), applied - 10 + 1);
    void **ptrs;
    size_t n = fl_raft_take_dropped(&ld->r, &ptrs);
    /* every payload up to applied - 10 (the no-op entries have none) */
    CHECK(n >= 1000 - 10 && n <= applied - 10);
    for (size_t i = 0; i < n; i++) {
        CHECK(ptrs[i] != NULL);
        CHECK(memcmp(ptrs[i], "payload", 7) == 0); /* not freed: ours to free now */
        free(ptrs[i]);
    }
    free(ptrs);
    void **again;
    CHECK_EQ(fl_raft_take_dropped(&ld->r, &again), 0);
    CHECK(again == NULL);
    const fl_raft_entry *kept = fl_raft_entry_at(&ld->r, applied);
    CHECK(kept && kept->len == 7 && memcmp(kept->data, "payload", 7) == 0);
    CHECK_EQ(propose_at(l, "after"), 0);
    deliver_all();
    CHECK(fl_raft_commit_of(&ld->r) == applied + 1);
    fl_raft_invariants(&ld->r);
    teardown(); /* a node's untaken ones go with its close (ASan: no leak) */
}

static void one_voter_of_three(fl_raft *r)
{
    fl_raft_config cfg;
    fl_raft_config_default(&cfg, 1);
    cfg.n_voters = 3;
    for (int j = 0; j < 3; j++)
        cfg.voters[j] = (fl_node_id)(j + 1);
    FL_ASSERT(fl_raft_init(r, &cfg, NULL, 0) == 0);
}

static fl_raft_msg chunk(const char *all, uint64_t offset, uint32_t len, uint32_t crc)
{
    fl_raft_msg m = {.type = FL_RAFT_MSG_SNAPSHOT, .from = 2, .to = 1, .term = 2};
    fl_raft_snapshot *s = &m.u.snapshot;
    s->meta.index = 40;
    s->meta.term = 2;
    s->meta.size = strlen(all);
    s->meta.crc = crc;
    s->meta.conf.n_voters = 3;
    for (int j = 0; j < 3; j++)
        s->meta.conf.voters[j] = (fl_node_id)(j + 1);
    s->offset = offset;
    s->len = len;
    s->done = offset + len == s->meta.size;
    s->data = len ? (const uint8_t *)all + offset : NULL;
    return m;
}

static const fl_raft_msg *find_msg(const fl_raft_update *up, uint8_t type)
{
    for (size_t i = 0; i < up->n_msgs; i++)
        if (fl_raft_msgs_of(up)[i].type == type)
            return &fl_raft_msgs_of(up)[i];
    return NULL;
}

TEST(install_snapshot_stages_chunks_and_acknowledges_only_when_durable)
{
    const char *all = "a snapshot of the state machine";
    uint32_t crc = fl_crc32c(0, all, strlen(all));
    fl_raft r;
    one_voter_of_three(&r);
    fl_raft_update up;
    fl_raft_msg m = chunk(all, 0, 10, crc);
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    CHECK_EQ(fl_raft_step(&r, &ev, &up), 0);
    CHECK(up.snapshot_chunk.index == 40 && up.snapshot_chunk.offset == 0);
    CHECK(up.snapshot_chunk.len == 10 && up.snapshot_chunk.data == m.u.snapshot.data);
    const fl_raft_msg *resp = find_msg(&up, FL_RAFT_MSG_SNAPSHOT_RESP);
    CHECK(resp && !resp->u.snapshot_resp.done && resp->u.snapshot_resp.next_offset == 10);
    m = chunk(all, 20, 5, crc); /* a gap: it says where it is */
    CHECK_EQ(fl_raft_step(&r, &ev, &up), 0);
    CHECK_EQ(up.snapshot_chunk.index, 0);
    resp = find_msg(&up, FL_RAFT_MSG_SNAPSHOT_RESP);
    CHECK(resp && resp->u.snapshot_resp.next_offset == 10);
    m = chunk(all, 10, (uint32_t)strlen(all) - 10, crc); /* the rest */
    CHECK_EQ(fl_raft_step(&r, &ev, &up), 0);
    CHECK(up.persist.seq != 0 && up.persist.install);
    CHECK(up.persist.install_meta.index == 40 && up.persist.install_meta.crc == crc);
    CHECK(find_msg(&up, FL_RAFT_MSG_SNAPSHOT_RESP) == NULL); /* not durable yet */
    CHECK_EQ(up.restore_index, 0);
    CHECK_EQ(fl_raft_first_index(&r), 41);
    CHECK_EQ(fl_raft_commit_of(&r), 0);
    fl_raft_event p = {.type = FL_RAFT_EV_PERSISTED, .u.seq = up.persist.seq};
    CHECK_EQ(fl_raft_step(&r, &p, &up), 0);
    resp = find_msg(&up, FL_RAFT_MSG_SNAPSHOT_RESP);
    CHECK(resp && resp->u.snapshot_resp.done && resp->u.snapshot_resp.index == 40);
    CHECK_EQ(up.restore_index, 40);
    CHECK_EQ(fl_raft_commit_of(&r), 40);
    CHECK_EQ(fl_raft_applied_of(&r), 40);
    fl_raft_invariants(&r);
    fl_raft_close(&r);
}

TEST(install_snapshot_with_a_bad_checksum_starts_over)
{
    const char *all = "0123456789abcdef";
    fl_raft r;
    one_voter_of_three(&r);
    fl_raft_update up;
    fl_raft_msg m = chunk(all, 0, 8, 12345); /* the checksum the leader claims is wrong */
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    CHECK_EQ(fl_raft_step(&r, &ev, &up), 0);
    m = chunk(all, 8, 8, 12345);
    CHECK_EQ(fl_raft_step(&r, &ev, &up), 0);
    CHECK_EQ(up.persist.seq, 0);
    CHECK_EQ(r.snapshot_crc_failures, 1);
    const fl_raft_msg *resp = find_msg(&up, FL_RAFT_MSG_SNAPSHOT_RESP);
    CHECK(resp && resp->u.snapshot_resp.next_offset == 0 && !resp->u.snapshot_resp.done);
    m = chunk(all, 0, 20, 12345); /* a chunk past the end is nonsense */
    CHECK_EQ(fl_raft_step(&r, &ev, &up), FL_EINVAL);
    CHECK_EQ(fl_raft_first_index(&r), 1);
    fl_raft_close(&r);
}

TEST(restart_from_a_durable_snapshot)
{
    fl_raft_config cfg;
    fl_raft_config_default(&cfg, 1);
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    fl_raft_snapshot_meta snap = {.index = 50, .term = 3, .size = 4, .crc = 7};
    snap.conf.n_voters = 1;
    snap.conf.voters[0] = 1;
    fl_raft_entry ents[2] = {{.term = 3, .type = FL_RAFT_ENTRY_NOOP},
                             {.term = 4, .type = FL_RAFT_ENTRY_NOOP}};
    fl_raft_durable st = {
        .term = 4, .first_index = 51, .n_entries = 2, .entries = ents, .snapshot = &snap};
    fl_raft r;
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), 0);
    CHECK(fl_raft_commit_of(&r) == 50 && fl_raft_applied_of(&r) == 50);
    CHECK(fl_raft_last_index(&r) == 52 && fl_raft_term_at(&r, 50) == 3);
    fl_raft_close(&r);
    st.first_index = 1; /* a log that does not continue the snapshot */
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), FL_ECORRUPT);
    st.first_index = 51;
    ents[0].term = 2; /* an entry older than the snapshot's last */
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), FL_ECORRUPT);
    ents[0].term = 3;
    snap.term = 5; /* beyond the hard state's term */
    CHECK_EQ(fl_raft_init(&r, &cfg, &st, 0), FL_ECORRUPT);
}

/* Every node restarts from a snapshot taken while the configuration was C(old,new): the log
 * holds no config entry, the snapshot's configuration is joint, and the leader they elect
 * must still leave it by appending C(new). */
TEST(a_joint_configuration_from_a_snapshot_is_finished_by_the_next_leader)
{
    setup(3, true);
    fl_raft_snapshot_meta snap = {.index = 10, .term = 2, .size = 4, .crc = 7};
    snap.conf.n_voters = 2; /* removing node 3 */
    snap.conf.voters[0] = 1;
    snap.conf.voters[1] = 2;
    snap.conf.n_voters_old = 3;
    for (int j = 0; j < 3; j++)
        snap.conf.voters_old[j] = (fl_node_id)(j + 1);
    fl_raft_durable st = {.term = 2, .first_index = 11, .snapshot = &snap};
    for (int i = 0; i < 3; i++) {
        fl_raft_config cfg = c.nodes[i].r.cfg;
        fl_raft_close(&c.nodes[i].r);
        CHECK_EQ(fl_raft_init(&c.nodes[i].r, &cfg, &st, 0), 0);
        c.nodes[i].applied = 10;
        CHECK(fl_raft_conf_is_joint(fl_raft_conf_of(&c.nodes[i].r)));
    }
    fl_node_id l = elect();
    CHECK(l != 0 && l != 3);
    advance_ms(100);
    const fl_raft *r = &c.nodes[l - 1].r;
    CHECK(!fl_raft_conf_is_joint(fl_raft_conf_of(r)));
    CHECK(fl_raft_conf_index_of(r) > 10 && fl_raft_conf_index_of(r) <= fl_raft_commit_of(r));
    CHECK(!fl_raft_conf_is_member(fl_raft_conf_of(r), 3));
    teardown();
}
