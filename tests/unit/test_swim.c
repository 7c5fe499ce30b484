/* test_swim.c: the SWIM core: packet codec (round trips, refusal of malformed bytes), the
 * precedence rules, and stories stepped like scripts (suspicion refuted by incarnation, a dead
 * member rejoining, the buddy system), plus a small cluster on an in-test network. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/swim.h"

#include <stdlib.h>

#define MS FL_NS_PER_MS

static void cfg_for(fl_swim_config *c, fl_node_id id, const fl_node_id *ids, uint32_t n)
{
    fl_swim_config_default(c);
    c->id = id;
    c->initial = ids;
    c->n_initial = n;
}

static void init_node(fl_swim *s, fl_node_id id, const fl_node_id *ids, uint32_t n, bool lg)
{
    fl_swim_config c;
    cfg_for(&c, id, ids, n);
    c.lifeguard = lg;
    fl_rng r;
    fl_rng_seed(&r, 1000 + id);
    CHECK_EQ(fl_swim_init(s, &c, r), 0);
}

/* A packet from sender with the given items. */
static void packet(fl_buf *b, uint8_t type, fl_node_id sender, uint32_t seq, fl_node_id target,
                   const fl_swim_item *items, size_t n)
{
    fl_buf_reset(b);
    fl_swim_encode_header(b, type, sender, seq, target);
    for (size_t i = 0; i < n; i++)
        fl_swim_encode_item(b, 0, &items[i]);
    CHECK_EQ(b->err, 0);
}

static void recv_packet(fl_swim *s, fl_time_ns now, const fl_buf *b, fl_swim_update *up)
{
    fl_swim_event ev = {.kind = FL_SWIM_EV_RECEIVE, .now_ns = now, .data = b->data, .len = b->len};
    CHECK_EQ(fl_swim_step(s, &ev, up), 0);
    fl_swim_invariants(s);
}

static fl_swim_state state_of(const fl_swim *s, fl_node_id id, uint32_t *inc)
{
    fl_swim_state st = FL_SWIM_ALIVE;
    CHECK_EQ(fl_swim_member(s, id, &st, inc), 0);
    return st;
}

/* Does an outgoing message to `to` carry this item (kind, id, inc)? */
static bool carries(const fl_swim_update *up, fl_node_id to, uint8_t kind, fl_node_id id,
                    uint32_t inc, int *pos)
{
    for (size_t i = 0; i < up->n_msgs; i++) {
        if (up->msgs[i].to != to)
            continue;
        fl_swim_packet p;
        CHECK_EQ(fl_swim_decode(up->msgs[i].data, up->msgs[i].len, &p), 0);
        for (uint32_t j = 0; j < p.n_items; j++)
            if (p.items[j].kind == kind && p.items[j].id == id && p.items[j].inc == inc) {
                if (pos)
                    *pos = (int)j;
                return true;
            }
    }
    return false;
}

static const fl_node_id ids5[] = {1, 2, 3, 4, 5};

/* ---- codec ------------------------------------------------------------------------------------
 */

TEST(swim_codec_round_trip)
{
    fl_buf b;
    fl_buf_init(&b);
    uint8_t pay[3] = {'a', 'b', 'c'};
    fl_swim_item items[] = {
        {.kind = FL_SWIM_ITEM_ALIVE, .id = 7, .inc = 9},
        {.kind = FL_SWIM_ITEM_SUSPECT, .id = 8, .inc = 1, .from = 2},
        {.kind = FL_SWIM_ITEM_DEAD, .id = 0xdeadbeef, .inc = 0xffffffff, .from = 3},
        {.kind = FL_SWIM_ITEM_LEFT, .id = 4, .inc = 5},
        {.kind = FL_SWIM_ITEM_USER, .id = 6, .inc = 77, .data = pay, .len = 3},
    };
    packet(&b, FL_SWIM_PING_REQ, 11, 12345, 13, items, 5);
    fl_swim_packet p;
    CHECK_EQ(fl_swim_decode(b.data, b.len, &p), 0);
    CHECK_EQ(p.type, FL_SWIM_PING_REQ);
    CHECK_EQ(p.sender, 11);
    CHECK_EQ(p.seq, 12345);
    CHECK_EQ(p.target, 13);
    CHECK_EQ(p.n_items, 5);
    CHECK_EQ(p.items[1].from, 2);
    CHECK_EQ(p.items[2].id, 0xdeadbeef);
    CHECK_EQ(p.items[2].inc, 0xffffffff);
    CHECK_EQ(p.items[4].len, 3);
    CHECK(memcmp(p.items[4].data, "abc", 3) == 0);
    size_t total = FL_SWIM_HEADER_BYTES;
    for (int i = 0; i < 5; i++)
        total += fl_swim_item_bytes(&items[i]);
    CHECK_EQ(total, b.len);
    fl_buf_free(&b);
}

TEST(swim_codec_refuses_malformed)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_swim_item items[] = {{.kind = FL_SWIM_ITEM_SUSPECT, .id = 8, .inc = 1, .from = 2},
                            {.kind = FL_SWIM_ITEM_ALIVE, .id = 7, .inc = 9}};
    packet(&b, FL_SWIM_PING, 1, 2, 3, items, 2);
    fl_swim_packet p;
    for (size_t len = 0; len < b.len; len++) /* every truncation */
        CHECK(fl_swim_decode(b.data, len, &p) != 0);
    uint8_t *c = malloc(b.len + 1);
    memcpy(c, b.data, b.len);
    c[1] = FL_SWIM_VERSION + 1;
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_EVERSION);
    c[1] = 1; /* v1: no ALIVE_AT, push-pull pages over UDP */
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_EVERSION);
    c[1] = FL_SWIM_VERSION;
    c[0] = 0;
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_ECORRUPT);
    c[0] = FL_SWIM_MAGIC;
    c[2] = 9;
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_ETYPE);
    c[2] = FL_SWIM_PING;
    c[FL_SWIM_HEADER_BYTES] = 42; /* unknown item kind */
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_ECORRUPT);
    c[FL_SWIM_HEADER_BYTES] = FL_SWIM_ITEM_SUSPECT;
    c[3] = 200; /* more items than the bound */
    CHECK_EQ(fl_swim_decode(c, b.len, &p), FL_ETOOBIG);
    c[3] = 2;
    c[b.len] = 0; /* trailing garbage */
    CHECK_EQ(fl_swim_decode(c, b.len + 1, &p), FL_ECORRUPT);
    CHECK_EQ(fl_swim_decode(c, b.len, &p), 0);
    /* random garbage never crashes the decoder */
    fl_rng r;
    fl_rng_seed(&r, 5);
    uint8_t junk[64];
    for (int i = 0; i < 20000; i++) {
        size_t n = fl_rng_below(&r, sizeof(junk));
        for (size_t j = 0; j < n; j++)
            junk[j] = (uint8_t)fl_rng_next(&r);
        if (n > 2 && (i & 1)) {
            junk[0] = FL_SWIM_MAGIC;
            junk[1] = FL_SWIM_VERSION;
        }
        (void)fl_swim_decode(junk, n, &p);
    }
    free(c);
    fl_buf_free(&b);
}

TEST(swim_core_counts_bad_packets)
{
    fl_swim s;
    init_node(&s, 1, ids5, 5, true);
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    fl_swim_event ev = {.kind = FL_SWIM_EV_RECEIVE, .now_ns = 0, .data = junk, .len = 5};
    fl_swim_update up;
    CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
    CHECK(up.decode_error != 0);
    CHECK_EQ(fl_swim_get_stats(&s)->decode_errors, 1);
    fl_swim_free(&s);
}

/* ---- formulas ----------------------------------------------------------------------------------
 */

TEST(swim_formulas)
{
    fl_swim_config c;
    fl_swim_config_default(&c);
    c.id = 1;
    CHECK_EQ(fl_swim_retransmit_limit(&c, 9), 4);     /* ceil(log10(10)) = 1 */
    CHECK_EQ(fl_swim_retransmit_limit(&c, 10), 8);    /* ceil(log10(11)) = 2 */
    CHECK_EQ(fl_swim_retransmit_limit(&c, 1000), 16); /* ceil(log10(1001)) = 4 */
    /* min = 4 * log10(1000) * 1 s = 12 s; max = 6 * min = 72 s */
    CHECK_EQ(fl_swim_suspicion_timeout(&c, 1000, 0), 72 * FL_NS_PER_S);
    CHECK_EQ(fl_swim_suspicion_timeout(&c, 1000, 3), 12 * FL_NS_PER_S);
    fl_time_ns one = fl_swim_suspicion_timeout(&c, 1000, 1);
    CHECK(one < 72 * FL_NS_PER_S && one > 12 * FL_NS_PER_S);
    c.lifeguard = false;
    CHECK_EQ(fl_swim_suspicion_timeout(&c, 1000, 0), 12 * FL_NS_PER_S);
    char why[128];
    c.probe_timeout_ns = c.probe_interval_ns;
    CHECK_EQ(fl_swim_config_validate(&c, why, sizeof(why)), FL_ECONFIG);
}

/* ---- stories -----------------------------------------------------------------------------------
 */

TEST(swim_suspicion_refuted_by_incarnation)
{
    fl_swim b, c;
    init_node(&b, 2, ids5, 5, true);
    init_node(&c, 3, ids5, 5, true);
    fl_buf pk;
    fl_buf_init(&pk);
    fl_swim_update up;
    /* node 1 tells 3 that 2 is suspect at incarnation 0 */
    fl_swim_item sus = {.kind = FL_SWIM_ITEM_SUSPECT, .id = 2, .inc = 0, .from = 1};
    packet(&pk, FL_SWIM_PING, 1, 1, 3, &sus, 1);
    recv_packet(&c, 10 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_SUSPECT);
    CHECK_EQ(up.n_changes, 1);
    CHECK_EQ(up.changes[0].state, FL_SWIM_SUSPECT);
    /* the suspicion reaches 2 itself: it refutes with incarnation 1 */
    packet(&pk, FL_SWIM_PING, 1, 2, 2, &sus, 1);
    recv_packet(&b, 10 * MS, &pk, &up);
    CHECK_EQ(b.incarnation, 1);
    CHECK_EQ(fl_swim_get_stats(&b)->refutations, 1);
    /* the ACK carries the refutation, with room for 2's address (it is about itself) */
    CHECK(carries(&up, 1, FL_SWIM_ITEM_ALIVE_AT, 2, 1, NULL));
    /* a stale suspicion (incarnation 0) no longer moves it */
    recv_packet(&b, 11 * MS, &pk, &up);
    CHECK_EQ(b.incarnation, 1);
    /* 3 hears ALIVE(2, 1): 2 is alive again; ALIVE(2, 0) would not have done it */
    fl_swim_item alive0 = {.kind = FL_SWIM_ITEM_ALIVE, .id = 2, .inc = 0};
    packet(&pk, FL_SWIM_ACK, 4, 1, 4, &alive0, 1);
    recv_packet(&c, 20 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_SUSPECT);
    fl_swim_item alive1 = {.kind = FL_SWIM_ITEM_ALIVE, .id = 2, .inc = 1};
    packet(&pk, FL_SWIM_ACK, 4, 1, 4, &alive1, 1);
    recv_packet(&c, 20 * MS, &pk, &up);
    uint32_t inc;
    CHECK_EQ(state_of(&c, 2, &inc), FL_SWIM_ALIVE);
    CHECK_EQ(inc, 1);
    /* SUSPECT(2, 1) is accepted again (same incarnation overrides ALIVE) */
    sus.inc = 1;
    packet(&pk, FL_SWIM_ACK, 4, 1, 4, &sus, 1);
    recv_packet(&c, 30 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_SUSPECT);
    fl_buf_free(&pk);
    fl_swim_free(&b);
    fl_swim_free(&c);
}

TEST(swim_dead_member_rejoins_with_higher_incarnation)
{
    fl_swim c;
    init_node(&c, 3, ids5, 5, true);
    fl_buf pk;
    fl_buf_init(&pk);
    fl_swim_update up;
    fl_swim_item dead = {.kind = FL_SWIM_ITEM_DEAD, .id = 2, .inc = 1, .from = 1};
    packet(&pk, FL_SWIM_ACK, 1, 1, 1, &dead, 1);
    recv_packet(&c, 10 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_DEAD);
    CHECK_EQ(fl_swim_live_count(&c), 4);
    /* SUSPECT and ALIVE at the same or a lower incarnation do not resurrect it */
    fl_swim_item stale[] = {{.kind = FL_SWIM_ITEM_ALIVE, .id = 2, .inc = 1},
                            {.kind = FL_SWIM_ITEM_SUSPECT, .id = 2, .inc = 5, .from = 4}};
    packet(&pk, FL_SWIM_ACK, 1, 1, 1, stale, 2);
    recv_packet(&c, 20 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_DEAD);
    fl_swim_item back = {.kind = FL_SWIM_ITEM_ALIVE, .id = 2, .inc = 2};
    packet(&pk, FL_SWIM_ACK, 1, 1, 1, &back, 1);
    recv_packet(&c, 30 * MS, &pk, &up);
    uint32_t inc;
    CHECK_EQ(state_of(&c, 2, &inc), FL_SWIM_ALIVE);
    CHECK_EQ(inc, 2);
    CHECK_EQ(fl_swim_live_count(&c), 5);
    CHECK_EQ(up.n_changes, 1);
    CHECK_EQ(up.changes[0].old_state, FL_SWIM_DEAD);
    /* LEFT overrides DEAD and ALIVE of the same incarnation; only a higher one comes back */
    fl_swim_item left = {.kind = FL_SWIM_ITEM_LEFT, .id = 2, .inc = 2};
    packet(&pk, FL_SWIM_ACK, 1, 1, 1, &left, 1);
    recv_packet(&c, 40 * MS, &pk, &up);
    CHECK_EQ(state_of(&c, 2, NULL), FL_SWIM_LEFT);
    /* reaped after reap_ns, when the probe order passes it */
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 40 * MS};
    CHECK_EQ(fl_swim_step(&c, &ev, &up), 0);
    for (fl_time_ns t = 40 * MS; t < 60 * FL_NS_PER_S; t += 100 * MS) {
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = t};
        CHECK_EQ(fl_swim_step(&c, &ev, &up), 0);
        fl_swim_invariants(&c);
    }
    CHECK_EQ(fl_swim_member(&c, 2, NULL, NULL), FL_ENOTFOUND);
    fl_buf_free(&pk);
    fl_swim_free(&c);
}

TEST(swim_buddy_system_refutation)
{
    fl_swim a, b;
    init_node(&a, 1, ids5, 2, true); /* a cluster of 1 and 2 */
    init_node(&b, 2, ids5, 2, true);
    fl_buf pk;
    fl_buf_init(&pk);
    fl_swim_update up;
    /* 3 tells 1 that 2 is suspect; 1 does not yet know 3 */
    fl_swim_item sus = {.kind = FL_SWIM_ITEM_SUSPECT, .id = 2, .inc = 0, .from = 3};
    packet(&pk, FL_SWIM_ACK, 3, 1, 3, &sus, 1);
    recv_packet(&a, 0, &pk, &up);
    CHECK_EQ(state_of(&a, 2, NULL), FL_SWIM_SUSPECT);
    /* 1 starts: its first probe goes to 2 (the only other member), the suspicion first (GOSSIP
     * packets may go to 2 before it, carrying the suspicion from the queue) */
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
    static fl_swim_packet p;
    do {
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = up.next_tick_ns};
        CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
        CHECK_EQ(up.n_msgs, 1);
        CHECK_EQ(up.msgs[0].to, 2);
        CHECK_EQ(fl_swim_decode(up.msgs[0].data, up.msgs[0].len, &p), 0);
    } while (p.type == FL_SWIM_GOSSIP);
    CHECK_EQ(p.type, FL_SWIM_PING);
    int pos = -1;
    CHECK(carries(&up, 2, FL_SWIM_ITEM_SUSPECT, 2, 0, &pos));
    CHECK_EQ(pos, 0);
    /* 2 gets the ping and refutes in its ACK */
    fl_buf_reset(&pk);
    fl_buf_put_bytes(&pk, up.msgs[0].data, up.msgs[0].len);
    fl_time_ns t = ev.now_ns + MS;
    recv_packet(&b, t, &pk, &up);
    CHECK_EQ(b.incarnation, 1);
    CHECK(carries(&up, 1, FL_SWIM_ITEM_ALIVE_AT, 2, 1, NULL));
    fl_buf_reset(&pk);
    fl_buf_put_bytes(&pk, up.msgs[0].data, up.msgs[0].len);
    recv_packet(&a, t + MS, &pk, &up);
    CHECK_EQ(state_of(&a, 2, NULL), FL_SWIM_ALIVE);
    CHECK_EQ(a.probe_acked, true);
    fl_buf_free(&pk);
    fl_swim_free(&a);
    fl_swim_free(&b);
}

TEST(swim_lifeguard_confirmations_shrink_timeout)
{
    static fl_node_id ids[20];
    for (int i = 0; i < 20; i++)
        ids[i] = (fl_node_id)(i + 1);
    fl_swim c;
    init_node(&c, 1, ids, 20, true);
    fl_buf pk;
    fl_buf_init(&pk);
    fl_swim_update up;
    fl_swim_item sus = {.kind = FL_SWIM_ITEM_SUSPECT, .id = 9, .inc = 0, .from = 2};
    packet(&pk, FL_SWIM_ACK, 2, 1, 2, &sus, 1);
    recv_packet(&c, 0, &pk, &up);
    fl_time_ns t0 = fl_swim_suspicion_deadline(&c, 9);
    CHECK_EQ(t0, fl_swim_suspicion_timeout(&c.cfg, 20, 0));
    for (fl_node_id from = 3; from <= 5; from++) {
        sus.from = from;
        packet(&pk, FL_SWIM_ACK, from, 1, from, &sus, 1);
        recv_packet(&c, 0, &pk, &up);
    }
    CHECK_EQ(fl_swim_suspicion_deadline(&c, 9), fl_swim_suspicion_timeout(&c.cfg, 20, 3));
    CHECK(fl_swim_suspicion_deadline(&c, 9) < t0);
    /* a repeated confirmer does not count */
    recv_packet(&c, 0, &pk, &up);
    CHECK_EQ(fl_swim_suspicion_deadline(&c, 9), fl_swim_suspicion_timeout(&c.cfg, 20, 3));
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    CHECK_EQ(fl_swim_step(&c, &ev, &up), 0);
    ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = fl_swim_suspicion_deadline(&c, 9)};
    CHECK_EQ(fl_swim_step(&c, &ev, &up), 0);
    CHECK_EQ(state_of(&c, 9, NULL), FL_SWIM_DEAD);
    fl_buf_free(&pk);
    fl_swim_free(&c);
}

/* ---- a cluster on an in-test network ------------------------------------------------------------
 */

#define NET_MAX 4096
typedef struct tmsg {
    fl_time_ns at;
    fl_node_id from, to;
    size_t len;
    uint8_t data[FL_SWIM_PACKET_BYTES_MAX];
} tmsg;

typedef struct tnet {
    fl_swim node[16];
    bool down[16];
    fl_time_ns tick[16];
    tmsg *q;
    size_t n;
    uint32_t nodes;
    double loss;
    fl_rng rng;
    size_t max_len;
    uint32_t deliveries[16];
} tnet;

static void net_apply(tnet *net, fl_node_id id, const fl_swim_update *up, fl_time_ns now)
{
    net->tick[id - 1] = up->next_tick_ns;
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_swim_msg *m = &up->msgs[i];
        if (m->len > net->max_len)
            net->max_len = m->len;
        if (net->n == NET_MAX || fl_rng_chance(&net->rng, net->loss) || m->to == 0 ||
            m->to > net->nodes)
            continue;
        tmsg *t = &net->q[net->n++];
        t->at = now + MS + fl_rng_below(&net->rng, MS);
        t->from = id;
        t->to = m->to;
        t->len = m->len;
        memcpy(t->data, m->data, m->len);
    }
    net->deliveries[id - 1] += (uint32_t)up->n_deliveries;
}

static void net_init(tnet *net, uint32_t n, double loss, uint64_t seed)
{
    memset(net, 0, sizeof(*net));
    net->q = malloc(NET_MAX * sizeof(tmsg));
    net->nodes = n;
    net->loss = loss;
    fl_rng_seed(&net->rng, seed);
    static fl_node_id ids[16];
    for (uint32_t i = 0; i < 16; i++)
        ids[i] = i + 1;
    for (fl_node_id id = 1; id <= n; id++) {
        fl_swim_config c;
        cfg_for(&c, id, ids, n);
        c.probe_interval_ns = 200 * MS;
        c.probe_timeout_ns = 80 * MS;
        c.reap_ns = 3600 * FL_NS_PER_S;
        CHECK_EQ(fl_swim_init(&net->node[id - 1], &c, fl_rng_fork(&net->rng)), 0);
        fl_swim_update up;
        fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
        CHECK_EQ(fl_swim_step(&net->node[id - 1], &ev, &up), 0);
        net_apply(net, id, &up, 0);
    }
}

/* Runs the network until `until`, one event at a time in time order. */
static void net_run(tnet *net, fl_time_ns until)
{
    for (;;) {
        fl_time_ns best = until;
        int kind = 0;
        size_t which = 0;
        for (size_t i = 0; i < net->n; i++)
            if (net->q[i].at < best) {
                best = net->q[i].at;
                kind = 1;
                which = i;
            }
        for (uint32_t i = 0; i < net->nodes; i++)
            if (!net->down[i] && net->tick[i] < best) {
                best = net->tick[i];
                kind = 2;
                which = i;
            }
        if (kind == 0)
            return;
        fl_swim_update up;
        if (kind == 1) {
            tmsg m = net->q[which];
            net->q[which] = net->q[--net->n];
            if (net->down[m.to - 1])
                continue;
            fl_swim_event ev = {
                .kind = FL_SWIM_EV_RECEIVE, .now_ns = m.at, .data = m.data, .len = m.len};
            CHECK_EQ(fl_swim_step(&net->node[m.to - 1], &ev, &up), 0);
            CHECK_EQ(up.decode_error, 0);
            net_apply(net, m.to, &up, m.at);
            fl_swim_invariants(&net->node[m.to - 1]);
        } else {
            fl_swim_event ev = {.kind = FL_SWIM_EV_TICK, .now_ns = best};
            CHECK_EQ(fl_swim_step(&net->node[which], &ev, &up), 0);
            net_apply(net, (fl_node_id)(which + 1), &up, best);
        }
    }
}

static void net_free(tnet *net)
{
    for (uint32_t i = 0; i < net->nodes; i++)
        fl_swim_free(&net->node[i]);
    free(net->q);
}

TEST(swim_cluster_detects_crash_and_nothing_else)
{
    tnet *net = malloc(sizeof(*net));
    net_init(net, 8, 0.0, 42);
    net_run(net, 5 * FL_NS_PER_S);
    for (uint32_t i = 0; i < 8; i++)
        CHECK_EQ(fl_swim_live_count(&net->node[i]), 8);
    net->down[4] = true; /* node 5 crashes */
    net_run(net, 60 * FL_NS_PER_S);
    for (uint32_t i = 0; i < 8; i++) {
        if (i == 4)
            continue;
        CHECK_EQ(state_of(&net->node[i], 5, NULL), FL_SWIM_DEAD);
        CHECK_EQ(fl_swim_live_count(&net->node[i]), 7);
        CHECK_EQ(fl_swim_get_stats(&net->node[i])->refutations, 0);
    }
    net_free(net);
    free(net);
}

TEST(swim_cluster_broadcast_and_leave_under_loss)
{
    tnet *net = malloc(sizeof(*net));
    net_init(net, 12, 0.1, 7);
    net_run(net, 2 * FL_NS_PER_S);
    uint8_t pay[400];
    memset(pay, 'x', sizeof(pay));
    fl_swim_update up;
    for (int i = 0; i < 10; i++) { /* more than fits in one packet */
        fl_swim_event ev = {.kind = FL_SWIM_EV_BROADCAST,
                            .now_ns = 2 * FL_NS_PER_S,
                            .data = pay,
                            .len = sizeof(pay)};
        CHECK_EQ(fl_swim_step(&net->node[0], &ev, &up), 0);
        net_apply(net, 1, &up, ev.now_ns);
    }
    fl_swim_event lv = {.kind = FL_SWIM_EV_LEAVE, .now_ns = 2 * FL_NS_PER_S};
    CHECK_EQ(fl_swim_step(&net->node[11], &lv, &up), 0);
    net_apply(net, 12, &up, lv.now_ns);
    net_run(net, 20 * FL_NS_PER_S);
    CHECK(net->max_len <= FL_SWIM_PACKET_BYTES_MAX);
    for (uint32_t i = 1; i < 11; i++) {
        CHECK_EQ(net->deliveries[i], 10);
        CHECK_EQ(state_of(&net->node[i], 12, NULL), FL_SWIM_LEFT);
    }
    /* an oversized broadcast is refused */
    uint8_t big[FL_SWIM_USER_BYTES_MAX + 1] = {0};
    fl_swim_event ev = {
        .kind = FL_SWIM_EV_BROADCAST, .now_ns = 20 * FL_NS_PER_S, .data = big, .len = sizeof(big)};
    CHECK_EQ(fl_swim_step(&net->node[0], &ev, &up), FL_EINVAL);
    net_free(net);
    free(net);
}

/* The member table under churn: members join (ALIVE), die (DEAD) and are reaped while the
 * index (open addressing with backward-shift deletion) and the probe order stay consistent. */
TEST(swim_member_table_churn)
{
    static const fl_node_id self[] = {1};
    fl_swim s;
    fl_swim_config c;
    cfg_for(&c, 1, self, 1);
    c.members_max = 600;
    c.reap_ns = 2 * FL_NS_PER_S;
    c.probe_interval_ns = 10 * MS;
    c.probe_timeout_ns = 5 * MS;
    fl_rng r;
    fl_rng_seed(&r, 77);
    CHECK_EQ(fl_swim_init(&s, &c, r), 0);
    fl_swim_update up;
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
    fl_buf pk;
    fl_buf_init(&pk);
    static uint8_t known[2048]; /* 0 unknown, 1 alive, 2 dead; ids collide on purpose */
    uint32_t inc[2048] = {0};
    fl_time_ns now = 0;
    for (int round = 0; round < 3000; round++) {
        now += 3 * MS;
        fl_node_id id = (fl_node_id)(2 + fl_rng_below(&r, 2000));
        fl_swim_item it = {.id = id, .from = 2};
        if (known[id] == 1 && fl_rng_chance(&r, 0.5)) {
            it.kind = FL_SWIM_ITEM_DEAD;
            it.inc = inc[id];
        } else {
            it.kind = FL_SWIM_ITEM_ALIVE;
            it.inc = ++inc[id];
        }
        packet(&pk, FL_SWIM_ACK, 2, 1, 2, &it, 1);
        recv_packet(&s, now, &pk, &up);
        for (size_t i = 0; i < up.n_changes; i++) {
            const fl_swim_change *ch = &up.changes[i];
            known[ch->id] = ch->removed ? 0 : ch->state == FL_SWIM_ALIVE ? 1 : 2;
        }
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = now};
        CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
        for (size_t i = 0; i < up.n_changes; i++) {
            const fl_swim_change *ch = &up.changes[i];
            known[ch->id] = ch->removed ? 0 : ch->state == FL_SWIM_DEAD ? 2 : known[ch->id];
        }
        fl_swim_invariants(&s);
    }
    uint32_t count = 1, removed_some = 0;
    for (fl_node_id id = 2; id < 2048; id++) {
        fl_swim_state st;
        int rc = fl_swim_member(&s, id, &st, NULL);
        CHECK_EQ(rc == 0, known[id] != 0);
        count += known[id] != 0;
        removed_some += known[id] == 0 && inc[id] > 0;
    }
    CHECK_EQ(fl_swim_member_count(&s), count);
    CHECK(removed_some > 0);
    fl_buf_free(&pk);
    fl_swim_free(&s);
}

/* Dissemination: an update is piggybacked exactly retransmit_mult * ceil(log10(N + 1)) times,
 * then leaves the queue; packets never exceed packet_bytes_max even with a long queue. */
TEST(swim_update_sent_limit_times)
{
    fl_swim a;
    init_node(&a, 1, ids5, 2, true);
    fl_buf pk;
    fl_buf_init(&pk);
    fl_swim_update up;
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
    /* a user broadcast: membership updates about a silent member would be replaced by its
     * suspicion after one period, this one is not */
    ev = (fl_swim_event){
        .kind = FL_SWIM_EV_BROADCAST, .now_ns = 0, .data = (const uint8_t *)"x", .len = 1};
    CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
    uint32_t limit = fl_swim_retransmit_limit(&a.cfg, fl_swim_live_count(&a));
    CHECK_EQ(limit, 4);
    uint32_t carried = 0;
    for (fl_time_ns t = 0; t < 30 * FL_NS_PER_S; t += 50 * MS) {
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = t};
        CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
        for (size_t i = 0; i < up.n_msgs; i++) {
            CHECK(up.msgs[i].len <= FL_SWIM_PACKET_BYTES_MAX);
            int pos;
            fl_swim_update one = up;
            one.msgs = &up.msgs[i];
            one.n_msgs = 1;
            carried += carries(&one, up.msgs[i].to, FL_SWIM_ITEM_USER, 1, 1, &pos);
        }
    }
    CHECK_EQ(carried, limit);
    /* a long queue: 300 new members, every packet stays within 1400 bytes */
    for (fl_node_id id = 100; id < 400; id++) {
        fl_swim_item it = {.kind = FL_SWIM_ITEM_ALIVE, .id = id, .inc = 1};
        packet(&pk, FL_SWIM_ACK, 2, 999, 2, &it, 1);
        recv_packet(&a, 30 * FL_NS_PER_S, &pk, &up);
    }
    size_t max_len = 0, items_max = 0;
    for (fl_time_ns t = 30 * FL_NS_PER_S; t < 40 * FL_NS_PER_S; t += 100 * MS) {
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = t};
        CHECK_EQ(fl_swim_step(&a, &ev, &up), 0);
        for (size_t i = 0; i < up.n_msgs; i++) {
            fl_swim_packet p;
            CHECK_EQ(fl_swim_decode(up.msgs[i].data, up.msgs[i].len, &p), 0);
            max_len = up.msgs[i].len > max_len ? up.msgs[i].len : max_len;
            items_max = p.n_items > items_max ? p.n_items : items_max;
        }
    }
    CHECK(max_len <= FL_SWIM_PACKET_BYTES_MAX);
    CHECK(max_len > 1300); /* full packets: the queue was long */
    CHECK(items_max >= 100);
    fl_buf_free(&pk);
    fl_swim_free(&a);
}

TEST(swim_seed_added_at_run_time_is_contacted)
{
    fl_swim_config c;
    fl_swim_config_default(&c);
    c.id = 1;
    fl_swim s;
    fl_rng r;
    fl_rng_seed(&r, 1);
    CHECK_EQ(fl_swim_init(&s, &c, r), 0);
    fl_swim_update up;
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
    ev = (fl_swim_event){.kind = FL_SWIM_EV_SEED, .now_ns = 1, .id = 1};
    CHECK_EQ(fl_swim_step(&s, &ev, &up), FL_EINVAL); /* not ourselves */
    ev.id = 9;
    CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
    CHECK_EQ(fl_swim_step(&s, &ev, &up), 0); /* twice: one seed */
    CHECK_EQ(s.cfg.n_seeds, 1);
    bool pinged = false, synced = false;
    for (fl_time_ns t = 0; t < 3 * FL_NS_PER_S; t += 100 * FL_NS_PER_MS) {
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = t};
        CHECK_EQ(fl_swim_step(&s, &ev, &up), 0);
        for (size_t i = 0; i < up.n_msgs; i++) {
            static fl_swim_packet p;
            CHECK_EQ(up.msgs[i].to, 9);
            if (up.msgs[i].stream) { /* push-pull while alone: our table, just us */
                fl_swim_state_reader sr;
                CHECK_EQ(fl_swim_state_open(up.msgs[i].data, up.msgs[i].len, &sr), 0);
                CHECK_EQ(sr.count, 1);
                CHECK(sr.flags & FL_SWIM_STATE_REPLY);
                synced = true;
                continue;
            }
            CHECK_EQ(fl_swim_decode(up.msgs[i].data, up.msgs[i].len, &p), 0);
            pinged |= p.type == FL_SWIM_PING;
            for (uint32_t j = 0; j < p.n_items; j++) /* we introduce ourselves */
                CHECK(p.items[j].id == 1 && p.items[j].kind == FL_SWIM_ITEM_ALIVE_AT);
        }
    }
    CHECK(pinged && synced);
    fl_swim_invariants(&s);
    fl_swim_free(&s);
}
