/* sync.c: the two ways the SWIM core spreads state beside piggybacking on probes (swim.h):
 *
 *  - push-pull: a STATE message (the member table, self first, then up to sync_max - 1
 *    members from a rotating cursor, each with an address when the environment can reach it)
 *    to a seed at once when one is given (the join), every period while this member knows
 *    nobody alive, and every fl_swim_sync_periods; the receiver merges it and answers with its
 *    own. STATE messages travel on a reliable stream (msg.stream), so one can be large;
 *  - the gossip timer: on a grid of gossip_interval_ns, while updates are pending, a GOSSIP
 *    packet to each of the next gossip_fanout members the environment can reach, walking the
 *    shuffled probe order with a cursor of its own (so an update's sends reach distinct
 *    members, as probes do, rather than random ones that may repeat and leave some out). Not
 *    scaled by Lifeguard's health multiplier: refutations keep their pace while probing slows.
 *
 * Cost: a STATE message is O(min(N, sync_max)) to build and to merge (one lookup per entry). */
#include "swim_int.h"

#include "faultline/assert.h"

uint32_t fl_swim_sync_periods(const fl_swim_config *c, uint32_t n)
{
    if (c->sync_every == 0)
        return 0;
    /* above 32 members the cluster-wide cost of exchanging whole tables grows as N^2 / period;
     * stretching the period with log2 N keeps it near N log N */
    uint32_t lg = 0; /* ceil(log2 n) */
    while (lg < 32 && ((uint64_t)1 << lg) < n)
        lg++;
    uint32_t scale = n > 32 ? lg - 4 : 1;
    uint64_t p = (uint64_t)c->sync_every * scale;
    return p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

size_t fl_swim_stream_bytes_max(const fl_swim_config *c)
{
    return FL_SWIM_HEADER_BYTES + (size_t)c->sync_max * (10 + c->addr_bytes);
}

static fl_swim_entry entry_of(const fl_swim *s, const swim_member *m)
{
    bool addr = (m->flags & MF_ADDR) != 0;
    return (fl_swim_entry){.id = m->id,
                           .inc = m->inc,
                           .state = (fl_swim_state)m->state,
                           .has_addr = addr,
                           .addr = NULL,
                           .addr_len = addr ? (uint8_t)s->cfg.addr_bytes : 0};
}

void fl__swim_send_state(fl_swim *s, fl_node_id to, uint8_t flags)
{
    size_t head = fl__swim_begin_state(s, to, flags);
    if (head == SIZE_MAX)
        return;
    fl_swim_entry e = entry_of(s, fl__swim_find(s, s->cfg.id));
    e.state = s->self_state; /* self first (its address too, when the environment has one) */
    e.inc = s->incarnation;
    fl_swim_state_encode_entry(&s->out, head, &e);
    uint32_t put = 1, i = 0;
    for (; i < s->n && put < s->cfg.sync_max; i++) {
        const swim_member *m = &s->m[(s->sync_cursor + i) % s->n];
        if (m->id == s->cfg.id)
            continue;
        e = entry_of(s, m);
        fl_swim_state_encode_entry(&s->out, head, &e);
        put++;
    }
    s->sync_cursor = s->n ? (s->sync_cursor + i) % s->n : 0;
    fl__swim_finish_state(s, head);
}

/* Re-merging (a seed not seen alive, a dead member) keeps the base period: after a partition
 * outlives the reap time, it is the only way back, and it costs nothing while there is nothing
 * to re-merge. Anti-entropy with a random member takes the period scaled with log2 N. */
void fl__swim_maybe_sync(fl_swim *s)
{
    bool alone = s->n_live <= 1 && s->cfg.n_seeds > 0;
    uint32_t base = s->cfg.sync_every, every = fl_swim_sync_periods(&s->cfg, s->n_live);
    uint64_t p = s->period + s->sync_phase;
    bool remerge = alone || (base && p % base == 0);
    bool random = every && p % every == 0;
    fl_node_id to = remerge || random ? fl__swim_dead_or_seed(s) : FL_NODE_NONE;
    if (to == FL_NODE_NONE && random)
        to = fl__swim_random_peer(s, NULL, 0);
    if (to != FL_NODE_NONE)
        fl__swim_send_state(s, to, FL_SWIM_STATE_REPLY | (alone ? FL_SWIM_STATE_JOIN : 0));
}

/* An address in an entry or ALIVE_AT item: none when the environment wrote a 0 first byte
 * (it had none); with no room at all (addr_bytes 0) the id itself is the address. */
static bool usable_addr(const uint8_t *addr, uint8_t len)
{
    return len == 0 || addr[0] != 0;
}

/* One entry of a remote table: DEAD is taken as SUSPECT (the member may refute it first); a
 * suspect we never heard of joins as ALIVE, then is suspected like the others. */
static void merge_entry(fl_swim *s, fl_node_id sender, const fl_swim_entry *e)
{
    static const uint8_t kinds[] = {FL_SWIM_ITEM_ALIVE, FL_SWIM_ITEM_SUSPECT, FL_SWIM_ITEM_SUSPECT,
                                    FL_SWIM_ITEM_LEFT};
    fl_swim_item it = {.kind = kinds[e->state], .id = e->id, .inc = e->inc, .from = sender};
    if (e->id == s->cfg.id && e->state == FL_SWIM_DEAD)
        it.kind = FL_SWIM_ITEM_DEAD; /* about ourselves: refuted all the same */
    if (e->state == FL_SWIM_SUSPECT && e->id != s->cfg.id && !fl__swim_find(s, e->id)) {
        fl_swim_item a = {.kind = FL_SWIM_ITEM_ALIVE, .id = e->id, .inc = e->inc, .from = e->id};
        fl__swim_apply(s, &a);
    }
    fl__swim_apply(s, &it);
    if (e->has_addr && usable_addr(e->addr, e->addr_len))
        fl__swim_set_addressed(s, e->id);
}

void fl__swim_on_state(fl_swim *s, fl_swim_state_reader *r)
{
    s->stats.syncs_received++;
    fl_swim_entry e;
    while (fl_swim_state_next(r, &e))
        merge_entry(s, r->sender, &e);
    fl__swim_set_addressed(s, r->sender); /* it reached us: the environment knows how */
    if ((r->flags & FL_SWIM_STATE_REPLY) && fl__swim_find(s, r->sender))
        fl__swim_send_state(s, r->sender, 0);
}

/* ---- the gossip timer ---------------------------------------------------------------------- */

void fl__swim_gossip_idle(fl_swim *s)
{
    fl_time_ns iv = s->cfg.gossip_interval_ns;
    if (iv == 0 || s->bq_count > 0 || s->gossip_next_ns > s->now_ns)
        return;
    s->gossip_next_ns += ((s->now_ns - s->gossip_next_ns) / iv + 1) * iv;
}

/* Lifeguard stretches the period while health is low; with no gossip timer configured,
 * pending updates still leave once per unscaled probe interval (docs/swim.md, "Lifeguard
 * under loss"). */
static void legacy_gossip(fl_swim *s)
{
    if (fl__swim_mult(s) == 1 || s->gossip_next_ns > s->now_ns)
        return;
    s->gossip_next_ns = s->now_ns + s->cfg.probe_interval_ns;
    if (s->bq_count == 0 || s->self_state == FL_SWIM_LEFT)
        return;
    fl_node_id to = fl__swim_random_peer(s, NULL, 0);
    size_t head = to == FL_NODE_NONE ? SIZE_MAX : fl__swim_begin(s, to, FL_SWIM_GOSSIP, 0, 0);
    if (head != SIZE_MAX) {
        s->stats.gossip_packets++;
        fl__swim_finish(s, head);
    }
}

static bool timer_off(const fl_swim *s)
{
    return s->cfg.gossip_interval_ns == 0 || MUTANT(s, NO_GOSSIP_TIMER);
}

/* The next live member the environment can reach after the gossip cursor, or NONE: O(1)
 * expected, O(N) when few are reachable. */
static fl_node_id next_gossip_target(fl_swim *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->gossip_pos >= s->n)
            s->gossip_pos = 0;
        const swim_member *m = &s->m[s->gossip_pos++];
        if (fl__live(m->state) && m->id != s->cfg.id && fl__reachable(s, m))
            return m->id;
    }
    return FL_NODE_NONE;
}

void fl__swim_gossip(fl_swim *s)
{
    if (timer_off(s)) {
        legacy_gossip(s);
        return;
    }
    if (s->gossip_next_ns > s->now_ns)
        return;
    fl_node_id first = FL_NODE_NONE;
    for (uint32_t i = 0; i < s->cfg.gossip_fanout && s->bq_count > 0; i++) {
        fl_node_id to = next_gossip_target(s);
        if (to == FL_NODE_NONE || to == first)
            break; /* fewer reachable members than the fanout */
        first = i == 0 ? to : first;
        size_t head = fl__swim_begin(s, to, FL_SWIM_GOSSIP, 0, 0);
        if (head == SIZE_MAX)
            break;
        s->stats.gossip_packets++;
        fl__swim_finish(s, head);
    }
    fl_time_ns iv = s->cfg.gossip_interval_ns;
    s->gossip_next_ns += ((s->now_ns - s->gossip_next_ns) / iv + 1) * iv;
}

fl_time_ns fl__swim_gossip_deadline(const fl_swim *s)
{
    if (timer_off(s))
        return fl__swim_mult(s) > 1 ? s->gossip_next_ns : FL_TIME_NEVER;
    return s->bq_count > 0 ? s->gossip_next_ns : FL_TIME_NEVER;
}
