/* swim.c: the SWIM protocol period, packet handling, the precedence rules, suspicion
 * (Lifeguard dynamic timeouts), local health awareness and reaping. See swim.h.
 *
 * Probe state machine of one protocol period (swim.c: start_period, send_ping_reqs,
 * end_period):
 *
 *   IDLE --start_period--> WAIT_DIRECT --probe timeout--> WAIT_INDIRECT
 *                             | ACK                          | ACK          | period end
 *                             v                              v              v
 *                           ACKED <--------------------------+     FAILED: target SUSPECT
 *
 * Invariants: at most one probe is in progress (probe_target); every relay slot in use has a
 * NACK deadline before its expiry; the next tick is the least pending deadline. */
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

static uint32_t mult(const fl_swim *s)
{
    return s->cfg.lifeguard ? s->health + 1 : 1;
}

/* When a suspicion expires: its timeout stretched by the local health multiplier. Local health
 * awareness stretches this member's protocol period (and, under uniform loss, everyone's), and
 * refutations travel only on protocol traffic, so they arrive that much later; a timeout that
 * did not stretch too turned Lifeguard's slower probing into more false DEAD declarations at
 * 30% loss than plain SWIM (docs/swim.md, "Lifeguard under loss"). */
static fl_time_ns susp_deadline(const fl_swim *s, const swim_susp *x)
{
    return x->start_ns + (x->deadline_ns - x->start_ns) * mult(s);
}

static void health_delta(fl_swim *s, int d)
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

/* Starts a packet; returns its offset in out, or SIZE_MAX when the step's outbox is full. */
static size_t begin(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target)
{
    if (s->n_msgs == FL_SWIM_MSGS_MAX) {
        s->stats.msgs_dropped++;
        return SIZE_MAX;
    }
    size_t head = s->out.len;
    fl_swim_encode_header(&s->out, type, s->cfg.id, seq, target);
    s->msgs[s->n_msgs].to = to;
    s->msg_off[s->n_msgs] = head;
    return head;
}

static void add_item(fl_swim *s, size_t head, const fl_swim_item *it)
{
    fl_swim_encode_item(&s->out, head, it);
}

/* Piggybacks pending updates and closes the packet. */
static void finish(fl_swim *s, size_t head)
{
    size_t used = s->out.len - head;
    if (used < s->cfg.packet_bytes_max)
        fl__bq_fill(s, head, s->cfg.packet_bytes_max - used);
    FL_ASSERT(s->out.err == 0);
    FL_ASSERT(s->out.len - head <= s->cfg.packet_bytes_max);
    s->msgs[s->n_msgs].len = s->out.len - head;
    s->n_msgs++;
    s->stats.packets_sent++;
    s->stats.bytes_sent += s->out.len - head;
}

/* The item that tells `id` how this node sees it, if it is not plainly alive. */
static bool state_item(const fl_swim *s, fl_node_id id, fl_swim_item *it)
{
    const swim_member *m = fl__swim_find(s, id);
    if (!m || m->state == FL_SWIM_ALIVE || id == s->cfg.id)
        return false;
    static const uint8_t kinds[] = {FL_SWIM_ITEM_ALIVE, FL_SWIM_ITEM_SUSPECT, FL_SWIM_ITEM_DEAD,
                                    FL_SWIM_ITEM_LEFT};
    if (m->state == FL_SWIM_LEFT)
        return false;
    *it = (fl_swim_item){.kind = kinds[m->state], .id = id, .inc = m->inc, .from = s->cfg.id};
    return true;
}

static void send_simple(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target,
                        bool tell_state)
{
    size_t head = begin(s, to, type, seq, target);
    if (head == SIZE_MAX)
        return;
    fl_swim_item it;
    /* buddy system / re-merge: what we believe about the peer rides first */
    if (tell_state && (s->cfg.lifeguard || type != FL_SWIM_PING) &&
        state_item(s, type == FL_SWIM_PING ? target : to, &it))
        add_item(s, head, &it);
    finish(s, head);
}

/* ---- membership changes --------------------------------------------------------------------- */

static void record_change(fl_swim *s, const swim_member *m, fl_swim_state old, bool added)
{
    if (s->n_changes == s->cap_changes) {
        size_t cap = s->cap_changes ? s->cap_changes * 2 : 64;
        fl_swim_change *c = realloc(s->changes, cap * sizeof(*c));
        FL_ASSERT(c != NULL);
        s->changes = c;
        s->cap_changes = cap;
    }
    s->changes[s->n_changes++] = (fl_swim_change){.id = m->id,
                                                  .incarnation = m->inc,
                                                  .state = (fl_swim_state)m->state,
                                                  .old_state = old,
                                                  .added = added};
}

static swim_susp *susp_find(fl_swim *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (s->susp[i].id == id)
            return &s->susp[i];
    return NULL;
}

static void susp_drop(fl_swim *s, fl_node_id id)
{
    swim_susp *x = susp_find(s, id);
    FL_ASSERT(x != NULL);
    *x = s->susp[--s->n_susp];
}

static void susp_start(fl_swim *s, fl_node_id id, uint32_t inc, fl_node_id from)
{
    if (s->n_susp == s->cap_susp) {
        uint32_t cap = s->cap_susp ? s->cap_susp * 2 : 16;
        swim_susp *x = realloc(s->susp, (size_t)cap * sizeof(*x));
        FL_ASSERT(x != NULL);
        s->susp = x;
        s->cap_susp = cap;
    }
    swim_susp *x = &s->susp[s->n_susp++];
    memset(x, 0, sizeof(*x));
    x->id = id;
    x->inc = inc;
    x->start_ns = s->now_ns;
    x->conf[0] = from;
    x->n_conf = 1;
    x->deadline_ns = s->now_ns + fl_swim_suspicion_timeout(&s->cfg, s->n_live, 0);
}

/* Lifeguard: an independent suspicion shrinks the timeout. True if it was new. */
static bool susp_confirm(fl_swim *s, swim_susp *x, fl_node_id from)
{
    if (x->n_conf > s->cfg.suspicion_k || x->n_conf > FL_SWIM_CONFIRM_MAX)
        return false; /* the timeout is at its minimum already: no use spreading more */
    for (uint32_t i = 0; i < x->n_conf; i++)
        if (x->conf[i] == from)
            return false;
    x->conf[x->n_conf++] = from;
    x->deadline_ns = x->start_ns + fl_swim_suspicion_timeout(&s->cfg, s->n_live, x->n_conf - 1);
    return true;
}

static bool live(uint8_t st)
{
    return st == FL_SWIM_ALIVE || st == FL_SWIM_SUSPECT;
}

static void set_state(fl_swim *s, swim_member *m, fl_swim_state st, uint32_t inc, fl_node_id from)
{
    fl_swim_state old = (fl_swim_state)m->state;
    if (old == FL_SWIM_SUSPECT)
        susp_drop(s, m->id);
    if (live(old) && !live((uint8_t)st))
        s->n_live--;
    if (!live(old) && live((uint8_t)st))
        s->n_live++;
    m->state = (uint8_t)st;
    m->inc = inc;
    m->t_ms = fl__swim_now_ms(s);
    if (st == FL_SWIM_SUSPECT)
        susp_start(s, m->id, inc, from);
    if (old != st)
        record_change(s, m, old, false);
}

static void refute(fl_swim *s, uint32_t inc)
{
    if (s->self_state == FL_SWIM_LEFT)
        return;
    if (inc < s->incarnation)
        return; /* old news: our current incarnation already overrides it */
    s->incarnation = inc + 1;
    swim_member *me = fl__swim_find(s, s->cfg.id);
    me->inc = s->incarnation;
    s->stats.refutations++;
    health_delta(s, 1);
    fl_swim_item it = {.kind = FL_SWIM_ITEM_ALIVE, .id = s->cfg.id, .inc = s->incarnation};
    it.from = it.id;
    fl__bq_put(s, &it);
}

static void apply_about_self(fl_swim *s, const fl_swim_item *it)
{
    switch (it->kind) {
    case FL_SWIM_ITEM_SUSPECT:
    case FL_SWIM_ITEM_DEAD:
        refute(s, it->inc);
        break;
    case FL_SWIM_ITEM_ALIVE:
        if (it->inc > s->incarnation)
            refute(s, it->inc); /* an older life of ours was further ahead */
        break;
    default:
        break;
    }
}

/* Applies one membership item with the precedence rules of swim.h; a change is disseminated
 * further. */
static void apply(fl_swim *s, const fl_swim_item *it)
{
    if (it->id == s->cfg.id) {
        apply_about_self(s, it);
        return;
    }
    swim_member *m = fl__swim_find(s, it->id);
    if (!m) {
        if (it->kind != FL_SWIM_ITEM_ALIVE)
            return; /* news about a member we do not know: it must join with ALIVE first */
        m = fl__swim_add(s, it->id, it->inc, FL_SWIM_ALIVE);
        if (!m)
            return; /* table full */
        record_change(s, m, FL_SWIM_ALIVE, true);
        fl__bq_put(s, it);
        return;
    }
    uint8_t st = m->state;
    bool take = false;
    switch (it->kind) {
    case FL_SWIM_ITEM_ALIVE:
        take = it->inc > m->inc;
        if (take)
            set_state(s, m, FL_SWIM_ALIVE, it->inc, it->from);
        break;
    case FL_SWIM_ITEM_SUSPECT:
        if (st == FL_SWIM_SUSPECT && it->inc == m->inc) {
            swim_susp *x = susp_find(s, m->id);
            take = s->cfg.lifeguard && susp_confirm(s, x, it->from);
        } else if ((st == FL_SWIM_ALIVE && it->inc >= m->inc) ||
                   (st == FL_SWIM_SUSPECT && it->inc > m->inc)) {
            take = true;
            if (st == FL_SWIM_SUSPECT) { /* a newer suspicion: restart the timeout */
                susp_drop(s, m->id);
                m->inc = it->inc;
                susp_start(s, m->id, it->inc, it->from);
            } else {
                set_state(s, m, FL_SWIM_SUSPECT, it->inc, it->from);
            }
        }
        break;
    case FL_SWIM_ITEM_DEAD:
        take = live(st) && it->inc >= m->inc;
        if (take)
            set_state(s, m, FL_SWIM_DEAD, it->inc, it->from);
        break;
    case FL_SWIM_ITEM_LEFT:
        take = st != FL_SWIM_LEFT && it->inc >= m->inc;
        if (take)
            set_state(s, m, FL_SWIM_LEFT, it->inc, it->from);
        break;
    default:
        break;
    }
    if (take)
        fl__bq_put(s, it);
}

static void deliver_user(fl_swim *s, const fl_swim_item *it)
{
    if (it->id == s->cfg.id || it->len > s->cfg.user_bytes_max || fl__seen(s, it->id, it->inc))
        return;
    if (s->n_deliv == s->cap_deliv) {
        size_t cap = s->cap_deliv ? s->cap_deliv * 2 : 16;
        fl_swim_delivery *d = realloc(s->deliv, cap * sizeof(*d));
        FL_ASSERT(d != NULL);
        s->deliv = d;
        size_t *o = realloc(s->deliv_off, cap * sizeof(*o));
        FL_ASSERT(o != NULL);
        s->deliv_off = o;
        s->cap_deliv = cap;
    }
    s->deliv_off[s->n_deliv] = s->deliv_bytes.len;
    s->deliv[s->n_deliv++] =
        (fl_swim_delivery){.origin = it->id, .seq = it->inc, .data = NULL, .len = it->len};
    fl_buf_put_bytes(&s->deliv_bytes, it->data, it->len);
    s->stats.user_delivered++;
    fl__bq_put(s, it);
}

/* ---- probing ------------------------------------------------------------------------------- */

/* A random live member other than self and `not`, or NONE (bounded tries, then a scan). */
static fl_node_id random_live(fl_swim *s, fl_node_id not1, fl_node_id not2)
{
    if (s->n == 0)
        return FL_NODE_NONE;
    for (int tries = 0; tries < 16; tries++) {
        const swim_member *m = &s->m[fl_rng_below(&s->rng, s->n)];
        if (live(m->state) && m->id != s->cfg.id && m->id != not1 && m->id != not2)
            return m->id;
    }
    uint32_t start = (uint32_t)fl_rng_below(&s->rng, s->n);
    for (uint32_t i = 0; i < s->n; i++) {
        const swim_member *m = &s->m[(start + i) % s->n];
        if (live(m->state) && m->id != s->cfg.id && m->id != not1 && m->id != not2)
            return m->id;
    }
    return FL_NODE_NONE;
}

/* Re-merge after a partition: now and then probe a dead member (random tries) or a seed we
 * do not see alive. */
static fl_node_id dead_or_seed(fl_swim *s)
{
    for (int tries = 0; tries < 8 && s->n > 0; tries++) {
        const swim_member *m = &s->m[fl_rng_below(&s->rng, s->n)];
        if (m->state == FL_SWIM_DEAD)
            return m->id;
    }
    uint32_t k = s->cfg.n_seeds;
    uint32_t start = k ? (uint32_t)fl_rng_below(&s->rng, k) : 0;
    for (uint32_t i = 0; i < k; i++) {
        fl_node_id seed = s->cfg.seeds[(start + i) % k];
        const swim_member *m = fl__swim_find(s, seed);
        if (seed != s->cfg.id && (!m || !live(m->state) || s->n_live == 1))
            return seed;
    }
    return FL_NODE_NONE;
}

/* Push-pull: a page of our member table (self first), from a rotating cursor. */
static void send_sync(fl_swim *s, fl_node_id to, bool want_reply)
{
    size_t head = begin(s, to, FL_SWIM_SYNC, ++s->seq, want_reply ? 1 : 0);
    if (head == SIZE_MAX)
        return;
    static const uint8_t kinds[] = {FL_SWIM_ITEM_ALIVE, FL_SWIM_ITEM_SUSPECT, FL_SWIM_ITEM_DEAD,
                                    FL_SWIM_ITEM_LEFT};
    fl_swim_item it = {.kind = kinds[s->self_state], .id = s->cfg.id, .inc = s->incarnation};
    it.from = it.id;
    add_item(s, head, &it);
    size_t limit = s->cfg.packet_bytes_max;
    uint32_t i = 0;
    for (; i < s->n && s->out.data[head + 3] < FL_SWIM_ITEMS_MAX; i++) {
        const swim_member *m = &s->m[(s->sync_cursor + i) % s->n];
        if (m->id == s->cfg.id)
            continue;
        it = (fl_swim_item){.kind = kinds[m->state], .id = m->id, .inc = m->inc, .from = s->cfg.id};
        if (s->out.len - head + fl_swim_item_bytes(&it) > limit)
            break;
        add_item(s, head, &it);
    }
    s->sync_cursor = s->n ? (s->sync_cursor + i) % s->n : 0;
    finish(s, head);
}

static void maybe_sync(fl_swim *s)
{
    bool alone = s->n_live <= 1 && s->cfg.n_seeds > 0;
    if (!alone && (s->cfg.sync_every == 0 || s->period % s->cfg.sync_every != 0))
        return;
    fl_node_id to = dead_or_seed(s);
    if (to == FL_NODE_NONE)
        to = random_live(s, FL_NODE_NONE, FL_NODE_NONE);
    if (to != FL_NODE_NONE)
        send_sync(s, to, true);
}

/* Reaps a DEAD/LEFT member whose time is up; true if slot now holds another member. */
static bool maybe_reap(fl_swim *s, uint32_t slot)
{
    swim_member *m = &s->m[slot];
    if (live(m->state))
        return false;
    uint32_t age_ms = fl__swim_now_ms(s) - m->t_ms; /* wrapping difference */
    if ((fl_time_ns)age_ms * FL_NS_PER_MS < s->cfg.reap_ns)
        return false;
    fl_swim_change c = {.id = m->id,
                        .incarnation = m->inc,
                        .state = (fl_swim_state)m->state,
                        .old_state = (fl_swim_state)m->state,
                        .removed = true};
    record_change(s, m, (fl_swim_state)m->state, false);
    s->changes[s->n_changes - 1] = c;
    if (m->bq) { /* the queued update stays; it just loses its member link */
        s->bq[m->bq - 1u].id = m->id;
        m->bq = 0;
    }
    fl__swim_remove(s, slot);
    return true;
}

/* The next member in the shuffled round-robin order (SWIM 4.3), reaping on the way. */
static fl_node_id next_target(fl_swim *s)
{
    uint32_t budget = s->n + 1;
    while (budget-- > 0 && s->n > 0) {
        if (s->probe_pos >= s->n) {
            fl__swim_shuffle(s);
            s->probe_pos = 0;
        }
        uint32_t slot = s->probe_pos;
        if (maybe_reap(s, slot))
            continue; /* slot now holds the former last member */
        s->probe_pos++;
        const swim_member *m = &s->m[slot];
        if (m->id != s->cfg.id && live(m->state))
            return m->id;
    }
    return FL_NODE_NONE;
}

static void start_period(fl_swim *s)
{
    s->period++;
    maybe_sync(s);
    fl_node_id target = FL_NODE_NONE;
    if (s->cfg.dead_probe_every && s->period % s->cfg.dead_probe_every == 0)
        target = dead_or_seed(s);
    if (target == FL_NODE_NONE)
        target = next_target(s);
    if (target == FL_NODE_NONE)
        target = dead_or_seed(s);
    s->period_end_ns = s->now_ns + s->cfg.probe_interval_ns * mult(s);
    s->probe_target = target;
    s->probe_acked = false;
    s->probe_indirect = false;
    s->nacks_expected = s->nacks_got = 0;
    if (target == FL_NODE_NONE) {
        s->probe_deadline_ns = FL_TIME_NEVER;
        return;
    }
    s->probe_seq = ++s->seq;
    s->probe_deadline_ns = s->now_ns + s->cfg.probe_timeout_ns * mult(s);
    s->stats.probes++;
    size_t head = begin(s, target, FL_SWIM_PING, s->probe_seq, target);
    if (head == SIZE_MAX)
        return;
    fl_swim_item it;
    const swim_member *m = fl__swim_find(s, target);
    if (state_item(s, target, &it) && (s->cfg.lifeguard || it.kind == FL_SWIM_ITEM_DEAD))
        add_item(s, head, &it); /* buddy system; or tell a dead member so it refutes */
    else if (!m) {              /* a seed: introduce ourselves */
        it = (fl_swim_item){.kind = FL_SWIM_ITEM_ALIVE, .id = s->cfg.id, .inc = s->incarnation};
        it.from = it.id;
        add_item(s, head, &it);
    }
    finish(s, head);
}

static void send_ping_reqs(fl_swim *s)
{
    s->probe_indirect = true;
    s->stats.probes_indirect++;
    s->probe_deadline_ns = FL_TIME_NEVER;
    fl_node_id used[FL_SWIM_K_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->cfg.indirect_k && i < s->n_live; i++) {
        fl_node_id via = random_live(s, s->probe_target, FL_NODE_NONE);
        bool dup = via == FL_NODE_NONE;
        for (uint32_t j = 0; j < n && !dup; j++)
            dup = used[j] == via;
        if (dup)
            continue;
        used[n++] = via;
        send_simple(s, via, FL_SWIM_PING_REQ, s->probe_seq, s->probe_target, false);
    }
    s->nacks_expected = s->cfg.lifeguard ? n : 0;
}

static void end_period(fl_swim *s)
{
    fl_node_id t = s->probe_target;
    if (t == FL_NODE_NONE)
        return;
    if (s->probe_acked) {
        health_delta(s, -1);
        return;
    }
    s->stats.probes_failed++;
    if (s->nacks_expected > 0)
        health_delta(s, (int)(s->nacks_expected - s->nacks_got));
    else
        health_delta(s, 1);
    swim_member *m = fl__swim_find(s, t);
    if (!m || !live(m->state) || s->self_state == FL_SWIM_LEFT)
        return;
    /* alive: a new suspicion; already suspect: our independent confirmation (Lifeguard) */
    s->stats.suspicions += m->state == FL_SWIM_ALIVE;
    fl_swim_item it = {.kind = FL_SWIM_ITEM_SUSPECT, .id = t, .inc = m->inc, .from = s->cfg.id};
    apply(s, &it);
}

static void expire_suspicions(fl_swim *s)
{
    for (uint32_t i = 0; i < s->n_susp;) {
        swim_susp *x = &s->susp[i];
        if (susp_deadline(s, x) > s->now_ns) {
            i++;
            continue;
        }
        swim_member *m = fl__swim_find(s, x->id);
        FL_ASSERT(m && m->state == FL_SWIM_SUSPECT);
        s->stats.deaths++;
        fl_swim_item it = {
            .kind = FL_SWIM_ITEM_DEAD, .id = x->id, .inc = m->inc, .from = s->cfg.id};
        apply(s, &it); /* removes entry i (swapped with the last): look at i again */
    }
}

static void run_relays(fl_swim *s)
{
    for (int i = 0; i < FL_SWIM_RELAYS_MAX; i++) {
        swim_relay *r = &s->relays[i];
        if (!r->used)
            continue;
        if (r->nack_at_ns <= s->now_ns && r->nack_at_ns != FL_TIME_NEVER) {
            r->nack_at_ns = FL_TIME_NEVER;
            send_simple(s, r->origin, FL_SWIM_NACK, r->origin_seq, r->target, false);
        }
        if (r->expire_ns <= s->now_ns)
            r->used = false;
    }
}

/* Lifeguard stretches the period while health is low; dissemination keeps the unscaled pace
 * (as a separate gossip timer would), so refutations are not slowed down with it. */
static void maybe_gossip(fl_swim *s)
{
    if (mult(s) == 1 || s->gossip_next_ns > s->now_ns)
        return;
    s->gossip_next_ns = s->now_ns + s->cfg.probe_interval_ns;
    if (s->bq_count == 0 || s->self_state == FL_SWIM_LEFT)
        return;
    fl_node_id to = random_live(s, FL_NODE_NONE, FL_NODE_NONE);
    if (to == FL_NODE_NONE)
        return;
    size_t head = begin(s, to, FL_SWIM_GOSSIP, 0, FL_NODE_NONE);
    if (head != SIZE_MAX)
        finish(s, head);
}

static void tick(fl_swim *s)
{
    expire_suspicions(s);
    maybe_gossip(s);
    run_relays(s);
    if (s->probe_deadline_ns <= s->now_ns && !s->probe_acked && !s->probe_indirect)
        send_ping_reqs(s);
    if (s->period_end_ns <= s->now_ns) {
        end_period(s);
        start_period(s);
    }
}

static fl_time_ns next_deadline(const fl_swim *s)
{
    fl_time_ns t = s->period_end_ns;
    if (mult(s) > 1 && s->gossip_next_ns < t)
        t = s->gossip_next_ns > s->now_ns ? s->gossip_next_ns : s->now_ns;
    if (!s->probe_acked && !s->probe_indirect && s->probe_deadline_ns < t)
        t = s->probe_deadline_ns;
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (susp_deadline(s, &s->susp[i]) < t)
            t = susp_deadline(s, &s->susp[i]);
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

static void on_ping_req(fl_swim *s, const fl_swim_packet *p)
{
    swim_relay *r = NULL;
    for (int i = 0; i < FL_SWIM_RELAYS_MAX && !r; i++)
        if (!s->relays[i].used)
            r = &s->relays[i];
    if (!r || p->target == s->cfg.id || p->target == FL_NODE_NONE)
        return; /* busy: the requester counts a missing NACK against us, fairly */
    r->used = true;
    r->seq = ++s->seq;
    r->origin = p->sender;
    r->origin_seq = p->seq;
    r->target = p->target;
    r->nack_at_ns = s->cfg.lifeguard ? s->now_ns + s->cfg.probe_timeout_ns * 4 / 5 : FL_TIME_NEVER;
    r->expire_ns = s->now_ns + s->cfg.probe_timeout_ns;
    send_simple(s, p->target, FL_SWIM_PING, r->seq, p->target, true);
}

static void on_ack(fl_swim *s, const fl_swim_packet *p)
{
    if (p->seq == s->probe_seq && p->target == s->probe_target && s->probe_target) {
        s->probe_acked = true;
        return;
    }
    for (int i = 0; i < FL_SWIM_RELAYS_MAX; i++) {
        swim_relay *r = &s->relays[i];
        if (r->used && r->seq == p->seq && r->target == p->sender) {
            r->used = false;
            /* relayed ACK: the target field names the member whose liveness it proves */
            size_t head = begin(s, r->origin, FL_SWIM_ACK, r->origin_seq, r->target);
            if (head == SIZE_MAX)
                return;
            finish(s, head);
            return;
        }
    }
}

static void on_packet(fl_swim *s, const fl_swim_packet *p)
{
    for (uint32_t i = 0; i < p->n_items; i++) {
        const fl_swim_item *it = &p->items[i];
        if (it->kind == FL_SWIM_ITEM_USER) {
            deliver_user(s, it);
        } else if (p->type == FL_SWIM_SYNC && it->kind == FL_SWIM_ITEM_DEAD &&
                   it->id != s->cfg.id) {
            fl_swim_item sus = *it; /* a remote table's DEAD: suspect, so it can refute */
            sus.kind = FL_SWIM_ITEM_SUSPECT;
            apply(s, &sus);
        } else {
            apply(s, it);
        }
    }
    switch (p->type) {
    case FL_SWIM_PING:
        if (p->target == s->cfg.id)
            send_simple(s, p->sender, FL_SWIM_ACK, p->seq, s->cfg.id, true);
        break;
    case FL_SWIM_ACK:
        on_ack(s, p);
        break;
    case FL_SWIM_PING_REQ:
        on_ping_req(s, p);
        break;
    case FL_SWIM_NACK:
        if (p->seq == s->probe_seq && s->probe_indirect)
            s->nacks_got++;
        s->stats.nacks++;
        break;
    case FL_SWIM_SYNC:
        if (p->target == 1)
            send_sync(s, p->sender, false);
        break;
    default:
        break;
    }
}

/* ---- the step ------------------------------------------------------------------------------ */

static void reset_outbox(fl_swim *s)
{
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

static int receive(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up)
{
    fl_swim_packet p;
    s->stats.packets_received++;
    int rc = fl_swim_decode(ev->data, ev->len, &p);
    if (rc == 0 && p.sender == s->cfg.id)
        rc = FL_ECORRUPT; /* our own id from elsewhere: refuse rather than confuse */
    if (rc) {
        s->stats.decode_errors++;
        up->decode_error = rc;
        return 0;
    }
    on_packet(s, &p);
    return 0;
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

/* A seed is contacted while we are alone and re-probed while it is not seen alive. */
static int add_seed(fl_swim *s, fl_node_id id)
{
    if (id == FL_NODE_NONE || id == s->cfg.id)
        return FL_EINVAL;
    for (uint32_t i = 0; i < s->cfg.n_seeds; i++)
        if (s->cfg.seeds[i] == id)
            return 0;
    if (s->cfg.n_seeds == FL_SWIM_SEEDS_MAX)
        return FL_EFULL;
    s->cfg.seeds[s->cfg.n_seeds++] = id;
    announce(s); /* as with seeds known at start: our ALIVE spreads from us too */
    return 0;
}

int fl_swim_step(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up)
{
    memset(up, 0, sizeof(*up));
    reset_outbox(s);
    if (ev->now_ns > s->now_ns)
        s->now_ns = ev->now_ns; /* time never goes backwards inside the core */
    int rc = 0;
    switch (ev->kind) {
    case FL_SWIM_EV_START:
        if (!s->started) {
            s->started = true;
            if (s->cfg.n_seeds)
                announce(s);
            /* a random phase, so that members started together do not probe in lockstep */
            s->period_end_ns = s->now_ns + fl_rng_below(&s->rng, s->cfg.probe_interval_ns);
        }
        break;
    case FL_SWIM_EV_TICK:
        if (s->started)
            tick(s);
        break;
    case FL_SWIM_EV_RECEIVE:
        rc = receive(s, ev, up);
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

fl_time_ns fl_swim_suspicion_deadline(const fl_swim *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (s->susp[i].id == id)
            return susp_deadline(s, &s->susp[i]);
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
        live_count += live(m->state);
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
