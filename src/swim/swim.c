/* swim.c: the SWIM core's configuration, the outbox of a step, the step itself (events in,
 * one update out), local health, and the observers. The protocol period is in probe.c,
 * membership updates in update.c, push-pull and the gossip timer in sync.c, the member table in
 * members.c, the dissemination queue in bcast.c. See swim.h.
 *
 * Invariant: the next tick asked for is the least pending deadline (period end, probe timeout,
 * gossip round while updates are pending, suspicion expiries, relay NACKs and expiries). */
#include "swim_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fl_swim_state_name(fl_swim_state st)
{
    switch (st) {
    case FL_SWIM_ALIVE:
        return "alive";
    case FL_SWIM_SUSPECT:
        return "suspect";
    case FL_SWIM_DEAD:
        return "dead";
    case FL_SWIM_LEFT:
        return "left";
    }
    return "?";
}

static const struct {
    uint32_t bit;
    const char *name;
} mutants[] = {
    {FL_SWIM_MUTANT_PROBE_UNADDRESSED, "probe-unaddressed"},
    {FL_SWIM_MUTANT_NO_GOSSIP_TIMER, "no-gossip-timer"},
};

const char *fl_swim_mutant_name(uint32_t bit)
{
    for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
        if (mutants[i].bit == bit)
            return mutants[i].name;
    return NULL;
}

int fl_swim_mutant_parse(const char *s, uint32_t *bits)
{
    for (size_t i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
        if (!strcmp(s, mutants[i].name)) {
            *bits |= mutants[i].bit;
            return 0;
        }
    return FL_EINVAL;
}

void fl_swim_config_default(fl_swim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->members_max = 65536;
    c->probe_interval_ns = FL_NS_PER_S;
    c->probe_timeout_ns = 500 * FL_NS_PER_MS;
    c->indirect_k = 3;
    c->suspicion_mult = 4;
    c->suspicion_max_mult = 6;
    c->suspicion_k = 3;
    c->retransmit_mult = 4;
    c->awareness_max = 8;
    c->lifeguard = true;
    c->bcast_max = 1024;
    c->user_max = 64;
    c->user_bytes_max = 512;
    c->seen_max = 1024;
    c->reap_ns = 30 * FL_NS_PER_S;
    c->dead_probe_every = 10;
    c->sync_every = 30;
    c->sync_max = 4096;
    c->gossip_interval_ns = 200 * FL_NS_PER_MS;
    c->gossip_fanout = 3;
    c->packet_bytes_max = FL_SWIM_PACKET_BYTES_MAX;
}

#define CHECK_CFG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(why, why_size, __VA_ARGS__);                                                  \
            return FL_ECONFIG;                                                                     \
        }                                                                                          \
    } while (0)

int fl_swim_config_validate(const fl_swim_config *c, char *why, size_t why_size)
{
    CHECK_CFG(c->id != FL_NODE_NONE, "id must be nonzero");
    CHECK_CFG(c->members_max >= 1 && c->members_max <= FL_SWIM_MEMBERS_LIMIT,
              "members_max %u out of range 1..%u", c->members_max, FL_SWIM_MEMBERS_LIMIT);
    CHECK_CFG(c->probe_interval_ns >= FL_NS_PER_MS && c->probe_interval_ns <= 60 * FL_NS_PER_S,
              "probe_interval must be 1 ms..60 s");
    CHECK_CFG(c->probe_timeout_ns > 0 && c->probe_timeout_ns < c->probe_interval_ns,
              "probe_timeout must be in (0, probe_interval)");
    CHECK_CFG(c->indirect_k <= FL_SWIM_K_MAX, "indirect_k %u over %d", c->indirect_k,
              FL_SWIM_K_MAX);
    CHECK_CFG(c->suspicion_mult >= 1 && c->suspicion_mult <= 100, "suspicion_mult 1..100");
    CHECK_CFG(c->suspicion_max_mult >= 1 && c->suspicion_max_mult <= 100,
              "suspicion_max_mult 1..100");
    CHECK_CFG(c->suspicion_k <= FL_SWIM_CONFIRM_MAX, "suspicion_k over %d", FL_SWIM_CONFIRM_MAX);
    CHECK_CFG(c->retransmit_mult >= 1 && c->retransmit_mult <= 8, "retransmit_mult 1..8");
    CHECK_CFG(c->awareness_max >= 1 && c->awareness_max <= 64, "awareness_max 1..64");
    CHECK_CFG(c->bcast_max >= 1 && c->bcast_max <= 65534, "bcast_max 1..65534");
    CHECK_CFG(c->user_max >= 1 && c->user_max <= c->bcast_max, "user_max 1..bcast_max");
    CHECK_CFG(c->user_bytes_max >= 1 && c->user_bytes_max <= FL_SWIM_USER_BYTES_MAX,
              "user_bytes_max 1..%d", FL_SWIM_USER_BYTES_MAX);
    CHECK_CFG(c->seen_max >= 1 && c->seen_max <= 1u << 16, "seen_max 1..65536");
    CHECK_CFG(c->reap_ns <= 24ull * 24 * 3600 * FL_NS_PER_S, "reap time under 24 days");
    CHECK_CFG(c->packet_bytes_max >= 256 && c->packet_bytes_max <= FL_SWIM_PACKET_BYTES_MAX,
              "packet_bytes_max 256..%d", FL_SWIM_PACKET_BYTES_MAX);
    CHECK_CFG(c->n_seeds <= FL_SWIM_SEEDS_MAX, "at most %d seeds", FL_SWIM_SEEDS_MAX);
    CHECK_CFG(c->sync_max >= 1 && c->sync_max <= FL_SWIM_SYNC_MAX, "sync_max 1..%d",
              FL_SWIM_SYNC_MAX);
    CHECK_CFG(c->gossip_interval_ns <= 60 * FL_NS_PER_S, "gossip_interval at most 60 s");
    CHECK_CFG(c->gossip_interval_ns == 0 || c->gossip_interval_ns >= FL_NS_PER_MS,
              "gossip_interval 0 (off) or at least 1 ms");
    CHECK_CFG(c->gossip_fanout >= 1 && c->gossip_fanout <= FL_SWIM_FANOUT_MAX,
              "gossip_fanout 1..%d", FL_SWIM_FANOUT_MAX);
    CHECK_CFG(c->addr_bytes <= FL_SWIM_ADDR_BYTES_MAX, "addr_bytes 0..%d", FL_SWIM_ADDR_BYTES_MAX);
    /* an ALIVE_AT item must fit in a packet with its header */
    CHECK_CFG(c->packet_bytes_max >= FL_SWIM_HEADER_BYTES + 10 + c->addr_bytes + 64,
              "packet_bytes_max too small for addr_bytes");
    CHECK_CFG(c->n_initial <= c->members_max, "more initial members than members_max");
    return 0;
}

int fl_swim_init(fl_swim *s, const fl_swim_config *c, fl_rng rng)
{
    char why[128];
    memset(s, 0, sizeof(*s));
    int rc = fl_swim_config_validate(c, why, sizeof(why));
    if (rc)
        return rc;
    s->cfg = *c;
    s->cfg.initial = NULL;
    s->cfg.n_initial = 0;
    s->rng = rng;
    s->incarnation = c->incarnation;
    s->self_state = FL_SWIM_ALIVE;
    s->period_end_ns = s->probe_deadline_ns = FL_TIME_NEVER;
    fl_buf_init(&s->out);
    fl_buf_init(&s->deliv_bytes);
    if ((rc = fl__bq_init(s)))
        goto err;
    if (c->n_initial && (rc = fl__swim_load(s, c->initial, c->n_initial)))
        goto err;
    swim_member *me = fl__swim_find(s, c->id);
    if (!me && !(me = fl__swim_add(s, c->id, c->incarnation, FL_SWIM_ALIVE))) {
        rc = FL_ENOMEM;
        goto err;
    }
    me->inc = c->incarnation;
    me->flags |= MF_ADDR;
    return 0;
err:
    fl_swim_free(s);
    return rc;
}

void fl_swim_free(fl_swim *s)
{
    fl__bq_free(s);
    free(s->m);
    free(s->index);
    free(s->susp);
    free(s->changes);
    free(s->deliv);
    free(s->deliv_off);
    fl_buf_free(&s->out);
    fl_buf_free(&s->deliv_bytes);
    memset(s, 0, sizeof(*s));
}

/* ---- formulas ------------------------------------------------------------------------------ */

uint32_t fl_swim_retransmit_limit(const fl_swim_config *c, uint32_t n)
{
    uint32_t digits = 0; /* ceil(log10(n + 1)) */
    for (uint64_t p = 1; p < (uint64_t)n + 1; p *= 10)
        digits++;
    if (digits == 0)
        digits = 1;
    uint32_t l = c->retransmit_mult * digits;
    return l < BUCKETS_MAX - 1 ? l : BUCKETS_MAX - 1;
}

fl_time_ns fl_swim_suspicion_timeout(const fl_swim_config *c, uint32_t n, uint32_t confirms)
{
    double lg = n > 10 ? log10((double)n) : 1.0;
    double min = (double)c->suspicion_mult * lg * (double)c->probe_interval_ns;
    if (!c->lifeguard)
        return (fl_time_ns)min;
    double max = (double)c->suspicion_max_mult * min;
    uint32_t k = c->suspicion_k;
    if (n < k + 2) /* too few members to expect k independent confirmations */
        k = n > 2 ? n - 2 : 0;
    if (k == 0)
        return (fl_time_ns)min;
    double frac = log((double)confirms + 1.0) / log((double)k + 1.0);
    double t = max - frac * (max - min);
    return (fl_time_ns)(t < min ? min : t);
}

uint32_t fl__swim_mult(const fl_swim *s)
{
    return s->cfg.lifeguard ? s->health + 1 : 1;
}

void fl__swim_health_delta(fl_swim *s, int d)
{
    if (!s->cfg.lifeguard)
        return;
    int64_t h = (int64_t)s->health + d;
    if (h < 0)
        h = 0;
    if (h > (int64_t)s->cfg.awareness_max - 1)
        h = s->cfg.awareness_max - 1;
    s->health = (uint32_t)h;
}

/* ---- outbox -------------------------------------------------------------------------------- */

static size_t begin_msg(fl_swim *s, fl_node_id to)
{
    if (s->n_msgs == FL_SWIM_MSGS_MAX) {
        s->stats.msgs_dropped++;
        return SIZE_MAX;
    }
    s->msgs[s->n_msgs] = (fl_swim_msg){.to = to};
    s->msg_off[s->n_msgs] = s->out.len;
    return s->out.len;
}

size_t fl__swim_begin(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target)
{
    size_t head = begin_msg(s, to);
    if (head != SIZE_MAX)
        fl_swim_encode_header(&s->out, type, s->cfg.id, seq, target);
    return head;
}

void fl__swim_add_item(fl_swim *s, size_t head, const fl_swim_item *it)
{
    fl_swim_encode_item(&s->out, head, it);
}

static void close_msg(fl_swim *s, size_t head)
{
    FL_ASSERT(s->out.err == 0);
    s->msgs[s->n_msgs].len = s->out.len - head;
    s->n_msgs++;
    s->stats.bytes_sent += s->out.len - head;
}

void fl__swim_finish(fl_swim *s, size_t head)
{
    size_t used = s->out.len - head;
    if (used < s->cfg.packet_bytes_max)
        fl__bq_fill(s, head, s->cfg.packet_bytes_max - used);
    FL_ASSERT(s->out.len - head <= s->cfg.packet_bytes_max);
    close_msg(s, head);
    s->stats.packets_sent++;
}

size_t fl__swim_begin_state(fl_swim *s, fl_node_id to, uint8_t flags)
{
    size_t head = begin_msg(s, to);
    if (head != SIZE_MAX) {
        s->msgs[s->n_msgs].stream = true;
        fl_swim_state_encode_header(&s->out, flags, s->cfg.id, ++s->seq);
    }
    return head;
}

void fl__swim_finish_state(fl_swim *s, size_t head)
{
    FL_ASSERT(s->out.len - head <= fl_swim_stream_bytes_max(&s->cfg));
    close_msg(s, head);
    s->stats.syncs_sent++;
}

fl_swim_item fl__swim_self_alive(const fl_swim *s)
{
    return (fl_swim_item){.kind = FL_SWIM_ITEM_ALIVE_AT,
                          .id = s->cfg.id,
                          .inc = s->incarnation,
                          .from = s->cfg.id,
                          .len = (uint16_t)s->cfg.addr_bytes};
}

/* The item that tells `id` how this node sees it, if it is not plainly alive. */
static bool state_item(const fl_swim *s, fl_node_id id, fl_swim_item *it)
{
    const swim_member *m = fl__swim_find(s, id);
    if (!m || m->state == FL_SWIM_ALIVE || m->state == FL_SWIM_LEFT || id == s->cfg.id)
        return false;
    static const uint8_t kinds[] = {FL_SWIM_ITEM_ALIVE, FL_SWIM_ITEM_SUSPECT, FL_SWIM_ITEM_DEAD,
                                    FL_SWIM_ITEM_LEFT};
    *it = (fl_swim_item){.kind = kinds[m->state], .id = id, .inc = m->inc, .from = s->cfg.id};
    return true;
}

void fl__swim_send_simple(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target,
                          bool tell_state)
{
    size_t head = fl__swim_begin(s, to, type, seq, target);
    if (head == SIZE_MAX)
        return;
    fl_swim_item it;
    /* buddy system / re-merge: what we believe about the peer rides first */
    if (tell_state && (s->cfg.lifeguard || type != FL_SWIM_PING) &&
        state_item(s, type == FL_SWIM_PING ? target : to, &it))
        fl__swim_add_item(s, head, &it);
    fl__swim_finish(s, head);
}

/* ---- the protocol's clock ------------------------------------------------------------------ */

static void tick(fl_swim *s)
{
    fl__swim_expire_suspicions(s);
    fl__swim_gossip(s);
    fl__swim_run_relays(s);
    if (s->probe_deadline_ns <= s->now_ns && !s->probe_acked && !s->probe_indirect)
        fl__swim_send_ping_reqs(s);
    if (s->period_end_ns <= s->now_ns) {
        fl__swim_end_period(s);
        fl__swim_start_period(s);
    }
}

static fl_time_ns next_deadline(const fl_swim *s)
{
    fl_time_ns t = s->period_end_ns;
    fl_time_ns g = fl__swim_gossip_deadline(s);
    if (g < t)
        t = g > s->now_ns ? g : s->now_ns;
    if (!s->probe_acked && !s->probe_indirect && s->probe_deadline_ns < t)
        t = s->probe_deadline_ns;
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (fl__swim_susp_deadline(s, &s->susp[i]) < t)
            t = fl__swim_susp_deadline(s, &s->susp[i]);
    for (int i = 0; i < FL_SWIM_RELAYS_MAX; i++) {
        const swim_relay *r = &s->relays[i];
        if (r->used && r->nack_at_ns < t)
            t = r->nack_at_ns;
        if (r->used && r->expire_ns < t)
            t = r->expire_ns;
    }
    return t;
}

/* ---- receiving ----------------------------------------------------------------------------- */

static void on_item(fl_swim *s, const fl_swim_item *it)
{
    if (it->kind == FL_SWIM_ITEM_USER) {
        fl__swim_deliver_user(s, it);
        return;
    }
    fl__swim_apply(s, it);
    /* the environment read the address that came with it (a 0 first byte: it had none) */
    if (it->kind == FL_SWIM_ITEM_ALIVE_AT && (it->len == 0 || it->data[0] != 0))
        fl__swim_set_addressed(s, it->id);
}

static void on_packet(fl_swim *s, const fl_swim_packet *p)
{
    for (uint32_t i = 0; i < p->n_items; i++)
        on_item(s, &p->items[i]);
    fl__swim_set_addressed(s, p->sender); /* its packet reached us: the environment knows how */
    switch (p->type) {
    case FL_SWIM_PING:
        if (p->target == s->cfg.id)
            fl__swim_send_simple(s, p->sender, FL_SWIM_ACK, p->seq, s->cfg.id, true);
        break;
    case FL_SWIM_ACK:
        fl__swim_on_ack(s, p);
        break;
    case FL_SWIM_PING_REQ:
        fl__swim_on_ping_req(s, p);
        break;
    case FL_SWIM_NACK:
        if (p->seq == s->probe_seq && s->probe_indirect)
            s->nacks_got++;
        s->stats.nacks++;
        break;
    default:
        break;
    }
}

static void refused(fl_swim *s, fl_swim_update *up, int rc)
{
    s->stats.decode_errors++;
    up->decode_error = rc;
}

static void receive(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up)
{
    s->stats.packets_received++;
    if (fl_swim_is_state(ev->data, ev->len)) {
        fl_swim_state_reader r;
        int rc = fl_swim_state_open(ev->data, ev->len, &r);
        if (rc == 0 && r.sender == s->cfg.id)
            rc = FL_ECORRUPT; /* our own id from elsewhere: refuse rather than confuse */
        if (rc)
            refused(s, up, rc);
        else
            fl__swim_on_state(s, &r);
        return;
    }
    fl_swim_packet p;
    int rc = fl_swim_decode(ev->data, ev->len, &p);
    if (rc == 0 && p.sender == s->cfg.id)
        rc = FL_ECORRUPT;
    if (rc)
        refused(s, up, rc);
    else
        on_packet(s, &p);
}

/* ---- the step ------------------------------------------------------------------------------ */

#define OUT_KEEP_BYTES (16 * 1024) /* a larger outbox (a STATE message) is given back */

static void reset_outbox(fl_swim *s)
{
    if (s->out.cap > OUT_KEEP_BYTES) {
        fl_buf_free(&s->out);
        fl_buf_init(&s->out);
    }
    fl_buf_reset(&s->out);
    fl_buf_reset(&s->deliv_bytes);
    s->n_msgs = 0;
    s->n_changes = 0;
    s->n_deliv = 0;
}

static void fill_update(fl_swim *s, fl_swim_update *up)
{
    for (size_t i = 0; i < s->n_msgs; i++)
        s->msgs[i].data = s->out.data + s->msg_off[i];
    for (size_t i = 0; i < s->n_deliv; i++)
        s->deliv[i].data = s->deliv_bytes.data + s->deliv_off[i];
    up->msgs = s->msgs;
    up->n_msgs = s->n_msgs;
    up->changes = s->changes;
    up->n_changes = s->n_changes;
    up->deliveries = s->deliv;
    up->n_deliveries = s->n_deliv;
    up->next_tick_ns = s->started ? next_deadline(s) : FL_TIME_NEVER;
}

static int broadcast(fl_swim *s, const fl_swim_event *ev)
{
    if (ev->len > s->cfg.user_bytes_max || (ev->len > 0 && !ev->data))
        return FL_EINVAL;
    fl_swim_item it = {.kind = FL_SWIM_ITEM_USER,
                       .id = s->cfg.id,
                       .inc = ++s->user_seq,
                       .data = ev->data,
                       .len = (uint16_t)ev->len};
    fl__seen(s, it.id, it.inc);
    fl__bq_put(s, &it);
    return 0;
}

static void leave(fl_swim *s)
{
    if (s->self_state == FL_SWIM_LEFT)
        return;
    s->self_state = FL_SWIM_LEFT;
    swim_member *me = fl__swim_find(s, s->cfg.id);
    me->state = FL_SWIM_LEFT;
    me->t_ms = fl__swim_now_ms(s);
    s->n_live--;
    fl_swim_item it = {.kind = FL_SWIM_ITEM_LEFT, .id = s->cfg.id, .inc = s->incarnation};
    it.from = it.id;
    fl__bq_put(s, &it);
}

static void announce(fl_swim *s)
{
    fl_swim_item it = {.kind = FL_SWIM_ITEM_ALIVE, .id = s->cfg.id, .inc = s->incarnation};
    it.from = it.id;
    fl__bq_put(s, &it);
}

/* The join: our table to the seed and its table back, at once (not at the next period). */
static void join(fl_swim *s, fl_node_id seed)
{
    fl__swim_set_addressed(s, seed);
    fl__swim_send_state(s, seed, FL_SWIM_STATE_REPLY | FL_SWIM_STATE_JOIN);
}

/* A seed is joined at once, contacted while we are alone and re-probed while it is not seen
 * alive. */
static int add_seed(fl_swim *s, fl_node_id id)
{
    if (id == FL_NODE_NONE || id == s->cfg.id)
        return FL_EINVAL;
    if (fl__swim_is_seed(s, id))
        return 0;
    if (s->cfg.n_seeds == FL_SWIM_SEEDS_MAX)
        return FL_EFULL;
    s->cfg.seeds[s->cfg.n_seeds++] = id;
    announce(s); /* as with seeds known at start: our ALIVE spreads from us too */
    if (s->started)
        join(s, id);
    return 0;
}

static void start(fl_swim *s)
{
    if (s->started)
        return;
    s->started = true;
    if (s->cfg.n_seeds)
        announce(s);
    /* random phases, so that members started together do not probe or gossip in lockstep */
    s->period_end_ns = s->now_ns + fl_rng_below(&s->rng, s->cfg.probe_interval_ns);
    fl_time_ns gi = s->cfg.gossip_interval_ns;
    s->gossip_next_ns = s->now_ns + (gi ? fl_rng_below(&s->rng, gi) : 0);
    uint32_t se = fl_swim_sync_periods(&s->cfg, FL_SWIM_MEMBERS_LIMIT); /* the longest period */
    s->sync_phase = se ? (uint32_t)fl_rng_below(&s->rng, se) : 0;
    for (uint32_t i = 0; i < s->cfg.n_seeds; i++)
        if (s->cfg.seeds[i] != s->cfg.id)
            join(s, s->cfg.seeds[i]);
}

int fl_swim_step(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up)
{
    memset(up, 0, sizeof(*up));
    reset_outbox(s);
    if (ev->now_ns > s->now_ns)
        s->now_ns = ev->now_ns; /* time never goes backwards inside the core */
    fl__swim_gossip_idle(s);
    int rc = 0;
    switch (ev->kind) {
    case FL_SWIM_EV_START:
        start(s);
        break;
    case FL_SWIM_EV_TICK:
        if (s->started)
            tick(s);
        break;
    case FL_SWIM_EV_RECEIVE:
        receive(s, ev, up);
        if (s->started)
            tick(s); /* deadlines that passed meanwhile */
        break;
    case FL_SWIM_EV_BROADCAST:
        rc = broadcast(s, ev);
        break;
    case FL_SWIM_EV_LEAVE:
        leave(s);
        break;
    case FL_SWIM_EV_SEED:
        rc = add_seed(s, ev->id);
        break;
    case FL_SWIM_EV_ADDRESS:
        fl__swim_set_addressed(s, ev->id);
        break;
    default:
        rc = FL_EINVAL;
        break;
    }
    fill_update(s, up);
    return rc;
}

/* ---- observers ----------------------------------------------------------------------------- */

int fl_swim_member(const fl_swim *s, fl_node_id id, fl_swim_state *state, uint32_t *incarnation)
{
    const swim_member *m = fl__swim_find(s, id);
    if (!m)
        return FL_ENOTFOUND;
    if (state)
        *state = (fl_swim_state)m->state;
    if (incarnation)
        *incarnation = m->inc;
    return 0;
}

void fl_swim_member_at(const fl_swim *s, uint32_t i, fl_node_id *id, fl_swim_state *state,
                       uint32_t *incarnation)
{
    FL_ASSERT(i < s->n);
    *id = s->m[i].id;
    *state = (fl_swim_state)s->m[i].state;
    *incarnation = s->m[i].inc;
}

uint32_t fl_swim_live_count(const fl_swim *s)
{
    return s->n_live;
}

uint32_t fl_swim_member_count(const fl_swim *s)
{
    return s->n;
}

uint32_t fl_swim_health(const fl_swim *s)
{
    return s->health;
}

bool fl_swim_addressed(const fl_swim *s, fl_node_id id)
{
    const swim_member *m = fl__swim_find(s, id);
    return m && (m->flags & MF_ADDR);
}

fl_time_ns fl_swim_suspicion_deadline(const fl_swim *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (s->susp[i].id == id)
            return fl__swim_susp_deadline(s, &s->susp[i]);
    return FL_TIME_NEVER;
}

const fl_swim_stats *fl_swim_get_stats(const fl_swim *s)
{
    return &s->stats;
}

void fl_swim_invariants(const fl_swim *s)
{
    uint32_t live_count = 0, susp = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        FL_ASSERT(fl__swim_find(s, s->m[i].id) == &s->m[i]);
        const swim_member *m = &s->m[i];
        live_count += fl__live(m->state);
        susp += m->state == FL_SWIM_SUSPECT;
        if (m->bq) {
            FL_ASSERT(m->bq - 1u < s->bq_cap);
            FL_ASSERT(s->bq[m->bq - 1u].used);
            FL_ASSERT(s->bq[m->bq - 1u].id == m->id);
        }
    }
    FL_ASSERT(live_count == s->n_live);
    FL_ASSERT(susp == s->n_susp);
    FL_ASSERT(fl__swim_find(s, s->cfg.id) != NULL);
    FL_ASSERT(fl__swim_find(s, s->cfg.id)->flags & MF_ADDR);
    uint32_t queued = 0;
    for (uint32_t b = 0; b < BUCKETS_MAX; b++)
        for (uint32_t i = s->bucket_head[b]; i != IDX_NONE; i = s->bq[i].next) {
            FL_ASSERT(s->bq[i].used);
            FL_ASSERT(s->bq[i].transmits == b);
            queued++;
        }
    FL_ASSERT(queued == s->bq_count);
    FL_ASSERT(s->health < s->cfg.awareness_max);
}
