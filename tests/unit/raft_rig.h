/* raft_rig.h: a tiny fixture for stepping Raft cores by hand (test_raft.c, test_raft_read.c):
 * up to N_MAX nodes whose every message goes through the wire codec and whose persistence
 * completes when the test says so (or at once, auto_persist). One fixture per program: the
 * state is this header's statics. */
#ifndef FL_TEST_RAFT_RIG_H
#define FL_TEST_RAFT_RIG_H

#include "test.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft.h"
#include "faultline/wire.h"

#include <stdlib.h>
#include <string.h>

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

__attribute__((unused)) static void step(node *nd, fl_raft_event *ev)
{
    fl_raft_update up;
    ev->now_ns = c.now;
    fl_raft_step(&nd->r, ev, &up);
    fl_raft_invariants(&nd->r);
    handle(nd, &up);
}

__attribute__((unused)) static void persist(node *nd, uint64_t seq)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_PERSISTED, .u.seq = seq};
    step(nd, &ev);
}

__attribute__((unused)) static void handle(node *nd, const fl_raft_update *up)
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

__attribute__((unused)) static void setup(int n, bool pre_vote)
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
__attribute__((unused)) static void drop_all(void)
{
    while (c.q_count) {
        fl_buf_free(&c.q[c.q_head].bytes);
        c.q_head = (c.q_head + 1) % Q_MAX;
        c.q_count--;
    }
}

__attribute__((unused)) static void teardown(void)
{
    drop_all();
    for (int i = 0; i < c.n; i++)
        fl_raft_close(&c.nodes[i].r);
}

/* Delivers the oldest queued message. */
__attribute__((unused)) static void deliver_one(void)
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
__attribute__((unused)) static void deliver_all(void)
{
    for (int guard = 0; c.q_count && guard < 100000; guard++)
        deliver_one();
}

/* ms of time pass for nd alone; everything it sends is lost. */
__attribute__((unused)) static void tick_cut_off(node *nd, int ms)
{
    for (int t = 0; t < ms; t++) {
        c.now += FL_NS_PER_MS;
        fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
        step(nd, &ev);
        drop_all();
    }
}

__attribute__((unused)) static void advance_ms(int ms)
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

__attribute__((unused)) static int leader_count(fl_node_id *leader)
{
    int count = 0;
    for (int i = 0; i < c.n; i++)
        if (fl_raft_role_of(&c.nodes[i].r) == FL_RAFT_LEADER) {
            count++;
            *leader = (fl_node_id)(i + 1);
        }
    return count;
}

__attribute__((unused)) static fl_node_id elect(void)
{
    fl_node_id leader = 0;
    for (int t = 0; t < 2000 && leader_count(&leader) != 1; t += 10)
        advance_ms(10);
    return leader;
}

__attribute__((unused)) static int read_at(fl_node_id id, uint64_t ctx)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_READ, .u.read_ctx = ctx, .now_ns = c.now};
    fl_raft_update up;
    int rc = fl_raft_step(&c.nodes[id - 1].r, &ev, &up);
    handle(&c.nodes[id - 1], &up);
    return rc;
}

/* The leader's progress record of member id (tests look inside the core). */
__attribute__((unused)) static const fl_raft_progress *progress_of(const fl_raft *r, fl_node_id id)
{
    for (uint32_t i = 0; i < r->n_members; i++)
        if (r->progress[i].id == id)
            return &r->progress[i];
    FL_ASSERT(0);
    return NULL;
}

__attribute__((unused)) static int propose_at(fl_node_id at, const char *cmd)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE,
                        .u.propose = {(const uint8_t *)cmd, (uint32_t)strlen(cmd)},
                        .now_ns = c.now};
    fl_raft_update up;
    int rc = fl_raft_step(&c.nodes[at - 1].r, &ev, &up);
    handle(&c.nodes[at - 1], &up);
    return rc;
}

#endif
