/* test_swim_sync.c: the SWIM core's push-pull, gossip timer and address rules, stepped like
 * scripts: the STATE message and ALIVE_AT codec (round trips, refusal of malformed bytes, the
 * address-field walk), a join that learns the whole table in one exchange, a member known
 * only by gossip that is never probed nor suspected until its address is known, and the gossip
 * timer (rounds of fanout distinct members, only while news is pending). */
#include "test.h"

#include "faultline/error.h"
#include "faultline/swim.h"

#include <stdlib.h>
#include <string.h>

#define MS FL_NS_PER_MS

static void node(fl_swim *s, fl_node_id id, const fl_node_id *ids, uint32_t n, uint32_t addr_bytes)
{
    fl_swim_config c;
    fl_swim_config_default(&c);
    c.id = id;
    c.initial = ids;
    c.n_initial = n;
    c.addr_bytes = addr_bytes;
    fl_rng r;
    fl_rng_seed(&r, 500 + id);
    CHECK_EQ(fl_swim_init(s, &c, r), 0);
}

static void step(fl_swim *s, fl_swim_event_kind kind, fl_time_ns now, fl_swim_update *up)
{
    fl_swim_event ev = {.kind = kind, .now_ns = now};
    CHECK_EQ(fl_swim_step(s, &ev, up), 0);
    fl_swim_invariants(s);
}

static void deliver(fl_swim *s, fl_time_ns now, const uint8_t *p, size_t len, fl_swim_update *up)
{
    fl_swim_event ev = {.kind = FL_SWIM_EV_RECEIVE, .now_ns = now, .data = p, .len = len};
    CHECK_EQ(fl_swim_step(s, &ev, up), 0);
    CHECK_EQ(up->decode_error, 0);
    fl_swim_invariants(s);
}

/* ---- codec ------------------------------------------------------------------------------------
 */

typedef struct seen_fields {
    fl_node_id id[8];
    size_t len[8];
    int n;
} seen_fields;

static void note_field(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    seen_fields *s = arg;
    if (s->n < 8) {
        s->id[s->n] = id;
        s->len[s->n] = len;
    }
    s->n++;
    if (len > 0)
        field[0] = 0x42; /* the environment writes its address here */
}

TEST(swim_state_codec_round_trip_and_refusals)
{
    fl_buf b;
    fl_buf_init(&b);
    uint8_t addr[7] = {4, 0x1f, 0x90, 127, 0, 0, 1};
    fl_swim_entry es[] = {
        {.id = 7, .inc = 3, .state = FL_SWIM_ALIVE, .has_addr = true, .addr = addr, .addr_len = 7},
        {.id = 8, .inc = 0xffffffff, .state = FL_SWIM_DEAD},
        {.id = 9, .inc = 1, .state = FL_SWIM_SUSPECT, .has_addr = true, .addr_len = 0},
        {.id = 10, .inc = 2, .state = FL_SWIM_LEFT},
    };
    fl_swim_state_encode_header(&b, FL_SWIM_STATE_REPLY | FL_SWIM_STATE_JOIN, 7, 99);
    size_t total = FL_SWIM_HEADER_BYTES;
    for (int i = 0; i < 4; i++) {
        fl_swim_state_encode_entry(&b, 0, &es[i]);
        total += fl_swim_entry_bytes(&es[i]);
    }
    CHECK_EQ(b.err, 0);
    CHECK_EQ(b.len, total);
    CHECK(fl_swim_is_state(b.data, b.len));
    fl_swim_state_reader r;
    CHECK_EQ(fl_swim_state_open(b.data, b.len, &r), 0);
    CHECK_EQ(r.sender, 7);
    CHECK_EQ(r.seq, 99);
    CHECK_EQ(r.count, 4);
    CHECK_EQ(r.flags, FL_SWIM_STATE_REPLY | FL_SWIM_STATE_JOIN);
    fl_swim_entry e;
    for (int i = 0; i < 4; i++) {
        CHECK(fl_swim_state_next(&r, &e));
        CHECK_EQ(e.id, es[i].id);
        CHECK_EQ(e.inc, es[i].inc);
        CHECK_EQ(e.state, es[i].state);
        CHECK_EQ(e.has_addr, es[i].has_addr);
        CHECK_EQ(e.addr_len, es[i].addr_len);
    }
    CHECK(!fl_swim_state_next(&r, &e));
    /* the walk finds both address fields, in order; a packet is not a STATE message */
    seen_fields sf = {.n = 0};
    CHECK_EQ(fl_swim_addr_fields(b.data, b.len, note_field, &sf), 0);
    CHECK_EQ(sf.n, 2);
    CHECK_EQ(sf.id[0], 7);
    CHECK_EQ(sf.len[0], 7);
    CHECK_EQ(sf.id[1], 9);
    CHECK_EQ(sf.len[1], 0);
    static fl_swim_packet p;
    CHECK_EQ(fl_swim_decode(b.data, b.len, &p), FL_ETYPE);
    /* every truncation, and each field out of range, is refused */
    for (size_t len = 0; len < b.len; len++)
        CHECK(fl_swim_state_open(b.data, len, &r) != 0);
    uint8_t *c = malloc(b.len + 1);
    memcpy(c, b.data, b.len);
    c[b.len] = 0;
    CHECK_EQ(fl_swim_state_open(c, b.len + 1, &r), FL_ECORRUPT); /* trailing byte */
    c[3] = 4;                                                    /* unknown flag */
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_ECORRUPT);
    c[3] = 0;
    c[FL_SWIM_HEADER_BYTES + 8] = 0x40; /* state bits beyond 0x80 | 3 */
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_ECORRUPT);
    c[FL_SWIM_HEADER_BYTES + 8] = 0x80;
    c[FL_SWIM_HEADER_BYTES + 9] = FL_SWIM_ADDR_BYTES_MAX + 1; /* address too long */
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_ETOOBIG);
    c[FL_SWIM_HEADER_BYTES + 9] = 7;
    fl_put_u32le(c + 12, FL_SWIM_SYNC_MAX + 1); /* more entries than the bound */
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_ETOOBIG);
    fl_put_u32le(c + 12, 4);
    fl_put_u32le(c + FL_SWIM_HEADER_BYTES, 0); /* member id 0 */
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_ECORRUPT);
    fl_put_u32le(c + FL_SWIM_HEADER_BYTES, 7);
    c[1] = FL_SWIM_VERSION + 1;
    CHECK(!fl_swim_is_state(c, b.len));
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), FL_EVERSION);
    c[1] = FL_SWIM_VERSION;
    CHECK_EQ(fl_swim_state_open(c, b.len, &r), 0);
    free(c);
    fl_buf_free(&b);
}

TEST(swim_alive_at_round_trip_and_fields)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_swim_encode_header(&b, FL_SWIM_GOSSIP, 3, 0, 0);
    fl_swim_item items[] = {
        {.kind = FL_SWIM_ITEM_ALIVE_AT, .id = 5, .inc = 2, .len = 7}, /* room, zeros */
        {.kind = FL_SWIM_ITEM_ALIVE, .id = 6, .inc = 1},
        {.kind = FL_SWIM_ITEM_ALIVE_AT, .id = 7, .inc = 0, .len = 0},
    };
    for (int i = 0; i < 3; i++)
        fl_swim_encode_item(&b, 0, &items[i]);
    CHECK_EQ(b.len, FL_SWIM_HEADER_BYTES + 17 + 9 + 10);
    seen_fields sf = {.n = 0};
    CHECK_EQ(fl_swim_addr_fields(b.data, b.len, note_field, &sf), 0);
    CHECK_EQ(sf.n, 2);
    CHECK_EQ(sf.id[0], 5);
    CHECK_EQ(sf.id[1], 7);
    static fl_swim_packet p;
    CHECK_EQ(fl_swim_decode(b.data, b.len, &p), 0);
    CHECK_EQ(p.items[0].kind, FL_SWIM_ITEM_ALIVE_AT);
    CHECK_EQ(p.items[0].len, 7);
    CHECK_EQ(p.items[0].data[0], 0x42); /* written through the walk */
    CHECK_EQ(p.items[0].from, 5);
    b.data[FL_SWIM_HEADER_BYTES + 9] = FL_SWIM_ADDR_BYTES_MAX + 1;
    CHECK_EQ(fl_swim_decode(b.data, b.len, &p), FL_ETOOBIG);
    fl_buf_free(&b);
}

/* ---- the join ----------------------------------------------------------------------------------
 */

/* A copy of message i of up with its address fields filled in, as an environment does. */
static void env_copy(const fl_swim_update *up, size_t i, fl_buf *out)
{
    fl_buf_reset(out);
    fl_buf_put_bytes(out, up->msgs[i].data, up->msgs[i].len);
    CHECK_EQ(out->err, 0);
    seen_fields sf = {.n = 0};
    CHECK_EQ(fl_swim_addr_fields(out->data, out->len, note_field, &sf), 0);
}

/* What an environment without the address writes. */
static void clear_field(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    if (len > 0)
        field[0] = 0;
}

TEST(swim_join_learns_the_whole_table_at_once)
{
    static fl_node_id ids[40];
    for (int i = 0; i < 40; i++)
        ids[i] = (fl_node_id)(i + 1);
    static const fl_node_id self[] = {100};
    for (int with_addr = 1; with_addr >= 0; with_addr--) {
        fl_swim seed, j;
        node(&seed, 1, ids, 40, 7);
        fl_swim_config c;
        fl_swim_config_default(&c);
        c.id = 100;
        c.initial = self;
        c.n_initial = 1;
        c.addr_bytes = 7;
        c.seeds[0] = 1;
        c.n_seeds = 1;
        fl_rng r;
        fl_rng_seed(&r, 3);
        CHECK_EQ(fl_swim_init(&j, &c, r), 0);
        fl_swim_update up;
        step(&seed, FL_SWIM_EV_START, 0, &up);
        step(&j, FL_SWIM_EV_START, 0, &up);
        /* at once, not at the next period: our table (just us) to the seed, a reply wanted */
        CHECK_EQ(up.n_msgs, 1);
        CHECK(up.msgs[0].stream && up.msgs[0].to == 1);
        fl_swim_state_reader sr;
        CHECK_EQ(fl_swim_state_open(up.msgs[0].data, up.msgs[0].len, &sr), 0);
        CHECK_EQ(sr.flags, FL_SWIM_STATE_REPLY | FL_SWIM_STATE_JOIN);
        CHECK_EQ(sr.count, 1);
        fl_buf m;
        fl_buf_init(&m);
        env_copy(&up, 0, &m);
        deliver(&seed, MS, m.data, m.len, &up);
        CHECK(fl_swim_addressed(&seed, 100)); /* its entry came with its address */
        CHECK_EQ(fl_swim_live_count(&seed), 41);
        CHECK_EQ(up.n_msgs, 1); /* the answer: the seed's whole table, self first */
        CHECK(up.msgs[0].stream && up.msgs[0].to == 100);
        CHECK_EQ(fl_swim_state_open(up.msgs[0].data, up.msgs[0].len, &sr), 0);
        CHECK_EQ(sr.count, 41);
        CHECK_EQ(sr.flags, 0);
        env_copy(&up, 0, &m);
        if (!with_addr)
            CHECK_EQ(fl_swim_addr_fields(m.data, m.len, clear_field, NULL), 0);
        deliver(&j, 2 * MS, m.data, m.len, &up);
        CHECK_EQ(fl_swim_member_count(&j), 41); /* every member at once */
        CHECK_EQ(fl_swim_live_count(&j), 41);
        uint32_t reachable = 0;
        for (fl_node_id id = 1; id <= 40; id++)
            reachable += fl_swim_addressed(&j, id);
        /* with addresses: all; without: only the seed (its address came with --join) */
        CHECK_EQ(reachable, with_addr ? 40u : 1u);
        fl_buf_free(&m);
        fl_swim_free(&seed);
        fl_swim_free(&j);
    }
}

/* ---- members the environment cannot reach -------------------------------------------------- */

/* A world of one core: every PING it sends is answered at once by its target, except pings to
 * ids in `silent`; what it sends is recorded per destination. */
typedef struct solo {
    fl_swim s;
    uint32_t sent_to[64];   /* messages to each id < 64 */
    uint32_t pings_to[64];  /* PINGs probing each id */
    uint32_t gossip_to[64]; /* GOSSIP packets to each id */
    fl_time_ns last_gossip_at;
    uint32_t rounds;
} solo;

static void solo_ack(solo *w, const fl_swim_packet *p, fl_time_ns now);

static void solo_apply(solo *w, const fl_swim_update *up, fl_time_ns now)
{
    static fl_swim_packet p[FL_SWIM_MSGS_MAX];
    size_t n = up->n_msgs;
    for (size_t i = 0; i < n; i++) {
        fl_node_id to = up->msgs[i].to;
        CHECK(to < 64);
        w->sent_to[to]++;
        if (up->msgs[i].stream)
            continue;
        CHECK_EQ(fl_swim_decode(up->msgs[i].data, up->msgs[i].len, &p[i]), 0);
        if (p[i].type == FL_SWIM_PING)
            w->pings_to[p[i].target]++;
        if (p[i].type == FL_SWIM_GOSSIP) {
            w->gossip_to[to]++;
            w->rounds += w->last_gossip_at != now;
            w->last_gossip_at = now;
        }
    }
    for (size_t i = 0; i < n; i++) /* answers after the update is read: they replace it */
        if (!up->msgs[i].stream && p[i].type == FL_SWIM_PING)
            solo_ack(w, &p[i], now);
}

static void solo_ack(solo *w, const fl_swim_packet *p, fl_time_ns now)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_swim_encode_header(&b, FL_SWIM_ACK, p->target, p->seq, p->target);
    fl_swim_update up;
    deliver(&w->s, now + MS, b.data, b.len, &up);
    fl_buf_free(&b);
    solo_apply(w, &up, now + MS);
}

/* Ticks the core at each deadline it asks for, until `until`. */
static void solo_run(solo *w, fl_time_ns from, fl_time_ns until)
{
    fl_swim_update up;
    step(&w->s, FL_SWIM_EV_TICK, from, &up);
    solo_apply(w, &up, from);
    while (up.next_tick_ns < until) {
        fl_time_ns t = up.next_tick_ns;
        step(&w->s, FL_SWIM_EV_TICK, t, &up);
        solo_apply(w, &up, t);
    }
}

static void packet_from(solo *w, fl_node_id sender, const fl_swim_item *items, size_t n,
                        fl_time_ns now)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_swim_encode_header(&b, FL_SWIM_GOSSIP, sender, 0, 0);
    for (size_t i = 0; i < n; i++)
        fl_swim_encode_item(&b, 0, &items[i]);
    fl_swim_update up;
    deliver(&w->s, now, b.data, b.len, &up);
    solo_apply(w, &up, now);
    fl_buf_free(&b);
}

TEST(swim_member_without_address_is_never_probed)
{
    static const fl_node_id ids[] = {1, 2, 3};
    static solo w;
    memset(&w, 0, sizeof(w));
    node(&w.s, 1, ids, 3, 7);
    fl_swim_update up;
    step(&w.s, FL_SWIM_EV_START, 0, &up);
    uint8_t none[7] = {0}, some[7] = {4, 1, 2, 127, 0, 0, 9};
    fl_swim_item news[] = {
        {.kind = FL_SWIM_ITEM_ALIVE, .id = 9, .inc = 0},                             /* plain */
        {.kind = FL_SWIM_ITEM_ALIVE_AT, .id = 10, .inc = 0, .data = none, .len = 7}, /* none */
        {.kind = FL_SWIM_ITEM_ALIVE_AT, .id = 11, .inc = 0, .data = some, .len = 7},
    };
    packet_from(&w, 2, news, 3, 10 * MS);
    CHECK_EQ(fl_swim_live_count(&w.s), 6);
    CHECK(!fl_swim_addressed(&w.s, 9));
    CHECK(!fl_swim_addressed(&w.s, 10));
    CHECK(fl_swim_addressed(&w.s, 11));
    solo_run(&w, 20 * MS, 60 * FL_NS_PER_S);
    /* 9 and 10 were never sent anything (not probed, relayed through, gossiped to), so never
     * suspected; 11, 2 and 3 were probed, again and again */
    CHECK_EQ(w.sent_to[9], 0);
    CHECK_EQ(w.sent_to[10], 0);
    CHECK(w.pings_to[11] >= 5 && w.pings_to[2] >= 5 && w.pings_to[3] >= 5);
    CHECK_EQ(fl_swim_get_stats(&w.s)->suspicions, 0);
    /* the environment learns 9's address; 10 speaks for itself: both are probed from now on */
    fl_swim_event ev = {.kind = FL_SWIM_EV_ADDRESS, .now_ns = 60 * FL_NS_PER_S, .id = 9};
    CHECK_EQ(fl_swim_step(&w.s, &ev, &up), 0);
    packet_from(&w, 10, NULL, 0, 60 * FL_NS_PER_S);
    CHECK(fl_swim_addressed(&w.s, 9) && fl_swim_addressed(&w.s, 10));
    solo_run(&w, 60 * FL_NS_PER_S, 80 * FL_NS_PER_S);
    CHECK(w.pings_to[9] >= 2 && w.pings_to[10] >= 2);
    CHECK_EQ(fl_swim_get_stats(&w.s)->suspicions, 0); /* they answer (solo acks every ping) */
    fl_swim_free(&w.s);
}

TEST(swim_gossip_timer_rounds_of_fanout_while_news_is_pending)
{
    static fl_node_id ids[12];
    for (int i = 0; i < 12; i++)
        ids[i] = (fl_node_id)(i + 1);
    for (int timer = 1; timer >= 0; timer--) {
        static solo w;
        memset(&w, 0, sizeof(w));
        fl_swim_config c;
        fl_swim_config_default(&c);
        c.id = 1;
        c.initial = ids;
        c.n_initial = 12;
        c.gossip_interval_ns = timer ? 200 * MS : 0;
        fl_rng r;
        fl_rng_seed(&r, 9);
        CHECK_EQ(fl_swim_init(&w.s, &c, r), 0);
        fl_swim_update up;
        step(&w.s, FL_SWIM_EV_START, 0, &up);
        solo_run(&w, 0, 5 * FL_NS_PER_S);
        CHECK_EQ(w.rounds, 0); /* nothing to tell: no GOSSIP, no wakeups for it */
        fl_swim_item news = {.kind = FL_SWIM_ITEM_SUSPECT, .id = 3, .inc = 0, .from = 2};
        packet_from(&w, 2, &news, 1, 5 * FL_NS_PER_S);
        solo_run(&w, 5 * FL_NS_PER_S, 10 * FL_NS_PER_S);
        uint32_t packets = 0, targets = 0;
        for (int i = 0; i < 64; i++) {
            packets += w.gossip_to[i];
            targets += w.gossip_to[i] > 0;
            CHECK(w.gossip_to[i] <= 1); /* the cursor walk: distinct members, no repeats */
        }
        if (!timer) {
            CHECK_EQ(packets, 0); /* healthy, and no timer: news rides on probes only */
            fl_swim_free(&w.s);
            continue;
        }
        /* 3 per round until the update was sent 4 * ceil(log10(13)) = 8 times (probes and
         * acks carry it too): 2 or 3 rounds, 200 ms apart */
        CHECK(w.rounds >= 2 && w.rounds <= 3);
        CHECK(packets >= 4 && packets <= 8);
        CHECK_EQ(targets, packets);
        uint32_t before = w.rounds;
        solo_run(&w, 10 * FL_NS_PER_S, 15 * FL_NS_PER_S);
        CHECK_EQ(w.rounds, before); /* the queue is empty again: silence */
        fl_swim_free(&w.s);
    }
}
