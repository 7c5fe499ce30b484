/* swim_int.h: private state of the SWIM core, shared by the files of src/swim/.
 *
 * Invariants (fl_swim_invariants):
 *  1. index holds exactly the n slots in use, each findable from its member's id by linear
 *     probing from hash(id) without crossing an empty cell; ids are distinct;
 *  2. n_live counts the members in ALIVE or SUSPECT, self included; self is always a member;
 *  3. a member is SUSPECT exactly when it has a suspicion entry;
 *  4. member.bq != 0 names a queued non-user update about that member (index + 1);
 *  5. every queued entry sits in exactly one bucket list, the one of its transmit count;
 *  6. self is always addressed (MF_ADDR); the core sends nothing to a member without MF_ADDR
 *     except replies to its own packets (its sender became addressed on arrival) and seeds. */
#ifndef FAULTLINE_SWIM_INT_H
#define FAULTLINE_SWIM_INT_H

#include "faultline/swim.h"

#define BUCKETS_MAX  64 /* transmit counts; the retransmit limit is capped below this */
#define IDX_NONE     UINT32_MAX
#define MF_ADDR      1u /* swim_member.flags: the environment can reach it */
#define MUTANT(s, m) (((s)->cfg.mutants & FL_SWIM_MUTANT_##m) != 0)

/* 16 bytes: a 10,000-member cluster keeps 160 KB per node. */
typedef struct swim_member {
    uint32_t id;
    uint32_t inc;
    uint32_t t_ms; /* DEAD/LEFT: when it became so (ms, wrapping) */
    uint8_t state;
    uint8_t flags; /* MF_ADDR */
    uint16_t bq;   /* pending update about it: queue index + 1, 0 = none */
} swim_member;

typedef struct swim_susp {
    fl_node_id id;
    uint32_t inc;
    fl_time_ns start_ns;
    fl_time_ns deadline_ns;
    uint32_t n_conf; /* distinct suspecters, the first included */
    fl_node_id conf[FL_SWIM_CONFIRM_MAX + 1];
} swim_susp;

typedef struct swim_bcast {
    uint8_t kind;
    uint8_t transmits;
    uint16_t len;
    bool used;
    bool picked; /* chosen for the packet being filled */
    fl_node_id id;
    uint32_t inc;
    fl_node_id from;
    uint32_t user_slot;
    uint32_t prev, next;
} swim_bcast;

static inline bool fl__live(uint8_t st)
{
    return st == FL_SWIM_ALIVE || st == FL_SWIM_SUSPECT;
}

/* May the core send to it unasked (probe, relay, gossip, push-pull)? Only when the
 * environment can reach it: a member known only by gossip is never probed, let alone
 * suspected, before its address is known. */
static inline bool fl__reachable(const fl_swim *s, const swim_member *m)
{
    return (m->flags & MF_ADDR) || MUTANT(s, PROBE_UNADDRESSED);
}

/* swim.c: the outbox of the current step */
/* Starts a packet (or STATE message); its offset in the outbox, or SIZE_MAX when full. */
size_t fl__swim_begin(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target);
void fl__swim_add_item(fl_swim *s, size_t head, const fl_swim_item *it);
/* Piggybacks pending updates and closes the packet. */
void fl__swim_finish(fl_swim *s, size_t head);
/* Closes a STATE message begun with fl__swim_begin_state. */
size_t fl__swim_begin_state(fl_swim *s, fl_node_id to, uint8_t flags);
void fl__swim_finish_state(fl_swim *s, size_t head);
/* A PING, ACK, PING-REQ or NACK; tell_state: how we see the peer rides first (buddy system). */
void fl__swim_send_simple(fl_swim *s, fl_node_id to, uint8_t type, uint32_t seq, fl_node_id target,
                          bool tell_state);
/* The ALIVE item about self (ALIVE_AT: the environment fills in our address). */
fl_swim_item fl__swim_self_alive(const fl_swim *s);
uint32_t fl__swim_mult(const fl_swim *s); /* Lifeguard multiplier (1 without Lifeguard) */
void fl__swim_health_delta(fl_swim *s, int d);

/* update.c: membership updates, suspicion, refutation, user deliveries */
void fl__swim_apply(fl_swim *s, const fl_swim_item *it);
void fl__swim_deliver_user(fl_swim *s, const fl_swim_item *it);
void fl__swim_expire_suspicions(fl_swim *s);
void fl__swim_record_change(fl_swim *s, const swim_member *m, fl_swim_state old, bool added);
/* When a suspicion expires: its timeout stretched by the local health multiplier. */
fl_time_ns fl__swim_susp_deadline(const fl_swim *s, const struct swim_susp *x);
/* Marks a known member reachable (a no-op for unknown members and self). */
void fl__swim_set_addressed(fl_swim *s, fl_node_id id);
bool fl__swim_is_seed(const fl_swim *s, fl_node_id id);

/* probe.c: the protocol period, PING-REQ relays, reaping */
/* A random live, addressed member other than self and the ids in not[0..n_not), or NONE. */
fl_node_id fl__swim_random_peer(fl_swim *s, const fl_node_id * not, uint32_t n_not);
/* Now and then a dead member (to re-merge) or a seed not seen alive, or NONE. */
fl_node_id fl__swim_dead_or_seed(fl_swim *s);
void fl__swim_start_period(fl_swim *s);
void fl__swim_end_period(fl_swim *s);
void fl__swim_send_ping_reqs(fl_swim *s);
void fl__swim_run_relays(fl_swim *s);
void fl__swim_on_ping_req(fl_swim *s, const fl_swim_packet *p);
void fl__swim_on_ack(fl_swim *s, const fl_swim_packet *p);

/* sync.c: push-pull (STATE messages) and the gossip timer */
void fl__swim_send_state(fl_swim *s, fl_node_id to, uint8_t flags);
void fl__swim_maybe_sync(fl_swim *s);
/* A STATE message (validated) merged; a reply when one is wanted. */
void fl__swim_on_state(fl_swim *s, fl_swim_state_reader *r);
/* The gossip timer: pending updates to gossip_fanout members every gossip_interval. */
void fl__swim_gossip(fl_swim *s);
/* Moves the next gossip round past now while nothing is pending (so news waits for the grid). */
void fl__swim_gossip_idle(fl_swim *s);
fl_time_ns fl__swim_gossip_deadline(const fl_swim *s);

/* members.c */
swim_member *fl__swim_find(const fl_swim *s, fl_node_id id);
swim_member *fl__swim_add(fl_swim *s, fl_node_id id, uint32_t inc, fl_swim_state st);
void fl__swim_remove(fl_swim *s, uint32_t slot);
void fl__swim_shuffle(fl_swim *s);
int fl__swim_load(fl_swim *s, const fl_node_id *ids, uint32_t n);
uint32_t fl__swim_now_ms(const fl_swim *s);

/* bcast.c */
int fl__bq_init(fl_swim *s);
void fl__bq_free(fl_swim *s);
void fl__bq_put(fl_swim *s, const fl_swim_item *it);
/* Appends pending items to the packet at head while they fit in room bytes; returns the
 * bytes used. */
size_t fl__bq_fill(fl_swim *s, size_t head, size_t room);
bool fl__seen(fl_swim *s, fl_node_id origin, uint32_t seq); /* true if known; records it */

#endif
