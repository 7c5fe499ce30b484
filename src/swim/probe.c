/* probe.c: the SWIM protocol period (swim.h): the round-robin probe, PING-REQ relays and their
 * Lifeguard NACKs, the suspicion a failed period starts, and reaping on the way. Only members
 * the environment can reach (MF_ADDR) are probed, asked to relay or pinged for a relay: a
 * member known only by gossip is never probed, let alone suspected, before its address is.
 *
 * Probe state machine of one protocol period (fl__swim_start_period, fl__swim_send_ping_reqs,
 * fl__swim_end_period):
 *
 *   IDLE --start_period--> WAIT_DIRECT --probe timeout--> WAIT_INDIRECT
 *                             | ACK                          | ACK          | period end
 *                             v                              v              v
 *                           ACKED <--------------------------+     FAILED: target SUSPECT
 *
 * Invariants: at most one probe is in progress (probe_target); every relay slot in use has a
 * NACK deadline before its expiry. */
#include "swim_int.h"

#include "faultline/assert.h"

static bool excluded(fl_node_id id, const fl_node_id * not, uint32_t n_not)
{
    for (uint32_t i = 0; i < n_not; i++)
        if (not [i] == id)
            return true;
    return false;
}

static bool peer_ok(const fl_swim *s, const swim_member *m, const fl_node_id * not, uint32_t n)
{
    return fl__live(m->state) && m->id != s->cfg.id && fl__reachable(s, m) &&
           !excluded(m->id, not, n);
}

/* Bounded random tries, then a scan from a random start: O(1) expected, O(N) at worst. */
fl_node_id fl__swim_random_peer(fl_swim *s, const fl_node_id * not, uint32_t n_not)
{
    if (s->n == 0)
        return FL_NODE_NONE;
    for (int tries = 0; tries < 16; tries++) {
        const swim_member *m = &s->m[fl_rng_below(&s->rng, s->n)];
        if (peer_ok(s, m, not, n_not))
            return m->id;
    }
    uint32_t start = (uint32_t)fl_rng_below(&s->rng, s->n);
    for (uint32_t i = 0; i < s->n; i++) {
        const swim_member *m = &s->m[(start + i) % s->n];
        if (peer_ok(s, m, not, n_not))
            return m->id;
    }
    return FL_NODE_NONE;
}

/* Re-merge after a partition: now and then probe a dead member (random tries) or a seed we
 * do not see alive. */
fl_node_id fl__swim_dead_or_seed(fl_swim *s)
{
    for (int tries = 0; tries < 8 && s->n > 0; tries++) {
        const swim_member *m = &s->m[fl_rng_below(&s->rng, s->n)];
        if (m->state == FL_SWIM_DEAD && fl__reachable(s, m))
            return m->id;
    }
    uint32_t k = s->cfg.n_seeds;
    uint32_t start = k ? (uint32_t)fl_rng_below(&s->rng, k) : 0;
    for (uint32_t i = 0; i < k; i++) {
        fl_node_id seed = s->cfg.seeds[(start + i) % k];
        const swim_member *m = fl__swim_find(s, seed);
        if (seed != s->cfg.id && (!m || !fl__live(m->state) || s->n_live == 1))
            return seed;
    }
    return FL_NODE_NONE;
}

/* Reaps a DEAD/LEFT member whose time is up; true if slot now holds another member. */
static bool maybe_reap(fl_swim *s, uint32_t slot)
{
    swim_member *m = &s->m[slot];
    if (fl__live(m->state))
        return false;
    uint32_t age_ms = fl__swim_now_ms(s) - m->t_ms; /* wrapping difference */
    if ((fl_time_ns)age_ms * FL_NS_PER_MS < s->cfg.reap_ns)
        return false;
    fl_swim_change c = {.id = m->id,
                        .incarnation = m->inc,
                        .state = (fl_swim_state)m->state,
                        .old_state = (fl_swim_state)m->state,
                        .removed = true};
    fl__swim_record_change(s, m, (fl_swim_state)m->state, false);
    s->changes[s->n_changes - 1] = c;
    if (m->bq) { /* the queued update stays; it just loses its member link */
        s->bq[m->bq - 1u].id = m->id;
        m->bq = 0;
    }
    fl__swim_remove(s, slot);
    return true;
}

/* The next member in the shuffled round-robin order (SWIM 4.3), reaping on the way; members
 * the environment cannot reach yet are passed over. */
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
        if (peer_ok(s, m, NULL, 0))
            return m->id;
    }
    return FL_NODE_NONE;
}

static void send_ping(fl_swim *s, fl_node_id target)
{
    size_t head = fl__swim_begin(s, target, FL_SWIM_PING, s->probe_seq, target);
    if (head == SIZE_MAX)
        return;
    const swim_member *m = fl__swim_find(s, target);
    static const uint8_t kinds[] = {FL_SWIM_ITEM_ALIVE, FL_SWIM_ITEM_SUSPECT, FL_SWIM_ITEM_DEAD,
                                    FL_SWIM_ITEM_LEFT};
    fl_swim_item it;
    if (m && m->state != FL_SWIM_ALIVE && m->state != FL_SWIM_LEFT &&
        (s->cfg.lifeguard || m->state == FL_SWIM_DEAD)) {
        /* buddy system; or tell a dead member so it refutes */
        it =
            (fl_swim_item){.kind = kinds[m->state], .id = target, .inc = m->inc, .from = s->cfg.id};
        fl__swim_add_item(s, head, &it);
    } else if (!m) { /* a seed: introduce ourselves */
        it = fl__swim_self_alive(s);
        fl__swim_add_item(s, head, &it);
    }
    fl__swim_finish(s, head);
}

void fl__swim_start_period(fl_swim *s)
{
    s->period++;
    fl__swim_maybe_sync(s);
    fl_node_id target = FL_NODE_NONE;
    if (s->cfg.dead_probe_every && s->period % s->cfg.dead_probe_every == 0)
        target = fl__swim_dead_or_seed(s);
    if (target == FL_NODE_NONE)
        target = next_target(s);
    if (target == FL_NODE_NONE)
        target = fl__swim_dead_or_seed(s);
    s->period_end_ns = s->now_ns + s->cfg.probe_interval_ns * fl__swim_mult(s);
    s->probe_target = target;
    s->probe_acked = false;
    s->probe_indirect = false;
    s->nacks_expected = s->nacks_got = 0;
    if (target == FL_NODE_NONE) {
        s->probe_deadline_ns = FL_TIME_NEVER;
        return;
    }
    s->probe_seq = ++s->seq;
    s->probe_deadline_ns = s->now_ns + s->cfg.probe_timeout_ns * fl__swim_mult(s);
    s->stats.probes++;
    send_ping(s, target);
}

void fl__swim_send_ping_reqs(fl_swim *s)
{
    s->probe_indirect = true;
    s->stats.probes_indirect++;
    s->probe_deadline_ns = FL_TIME_NEVER;
    fl_node_id used[FL_SWIM_K_MAX + 1] = {s->probe_target};
    uint32_t n = 1;
    for (uint32_t i = 0; i < s->cfg.indirect_k && i < s->n_live; i++) {
        fl_node_id via = fl__swim_random_peer(s, used, n);
        if (via == FL_NODE_NONE)
            break;
        used[n++] = via;
        fl__swim_send_simple(s, via, FL_SWIM_PING_REQ, s->probe_seq, s->probe_target, false);
    }
    s->nacks_expected = s->cfg.lifeguard ? n - 1 : 0;
}

void fl__swim_end_period(fl_swim *s)
{
    fl_node_id t = s->probe_target;
    if (t == FL_NODE_NONE)
        return;
    if (s->probe_acked) {
        fl__swim_health_delta(s, -1);
        return;
    }
    s->stats.probes_failed++;
    if (s->nacks_expected > 0)
        fl__swim_health_delta(s, (int)(s->nacks_expected - s->nacks_got));
    else
        fl__swim_health_delta(s, 1);
    swim_member *m = fl__swim_find(s, t);
    if (!m || !fl__live(m->state) || s->self_state == FL_SWIM_LEFT)
        return;
    /* alive: a new suspicion; already suspect: our independent confirmation (Lifeguard) */
    s->stats.suspicions += m->state == FL_SWIM_ALIVE;
    fl_swim_item it = {.kind = FL_SWIM_ITEM_SUSPECT, .id = t, .inc = m->inc, .from = s->cfg.id};
    fl__swim_apply(s, &it);
}

void fl__swim_run_relays(fl_swim *s)
{
    for (int i = 0; i < FL_SWIM_RELAYS_MAX; i++) {
        swim_relay *r = &s->relays[i];
        if (!r->used)
            continue;
        if (r->nack_at_ns <= s->now_ns && r->nack_at_ns != FL_TIME_NEVER) {
            r->nack_at_ns = FL_TIME_NEVER;
            fl__swim_send_simple(s, r->origin, FL_SWIM_NACK, r->origin_seq, r->target, false);
        }
        if (r->expire_ns <= s->now_ns)
            r->used = false;
    }
}

void fl__swim_on_ping_req(fl_swim *s, const fl_swim_packet *p)
{
    swim_relay *r = NULL;
    for (int i = 0; i < FL_SWIM_RELAYS_MAX && !r; i++)
        if (!s->relays[i].used)
            r = &s->relays[i];
    const swim_member *t = fl__swim_find(s, p->target);
    /* busy, or a target we cannot reach: the requester counts a missing NACK against us */
    if (!r || p->target == s->cfg.id || !t || !fl__reachable(s, t))
        return;
    r->used = true;
    r->seq = ++s->seq;
    r->origin = p->sender;
    r->origin_seq = p->seq;
    r->target = p->target;
    r->nack_at_ns = s->cfg.lifeguard ? s->now_ns + s->cfg.probe_timeout_ns * 4 / 5 : FL_TIME_NEVER;
    r->expire_ns = s->now_ns + s->cfg.probe_timeout_ns;
    fl__swim_send_simple(s, p->target, FL_SWIM_PING, r->seq, p->target, true);
}

void fl__swim_on_ack(fl_swim *s, const fl_swim_packet *p)
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
            size_t head = fl__swim_begin(s, r->origin, FL_SWIM_ACK, r->origin_seq, r->target);
            if (head != SIZE_MAX)
                fl__swim_finish(s, head);
            return;
        }
    }
}
