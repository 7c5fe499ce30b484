/* swim.h: SWIM membership and failure detection (Das, Gupta, Motivala, DSN 2002) with the
 * Lifeguard extensions (Dadgar, Phillips, Currey, 2018), as a pure deterministic state machine.
 *
 * The core never reads a clock, does I/O, calls rand() or touches a global. The environment
 * feeds it events, each carrying the current time; after every event it gets one update back:
 * packets to send, membership changes, user broadcasts delivered, and when to tick next:
 *
 *     int fl_swim_step(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up);
 *
 * Protocol period (one per probe_interval, scaled by the local health multiplier):
 *   1. pick the next member in a shuffled round-robin order (reshuffled after each pass) and
 *      send it PING; if the target is suspected, the suspicion rides first (buddy system);
 *   2. no ACK within probe_timeout: send PING-REQ to k other members, which ping the target
 *      and relay its ACK (or, with Lifeguard, a NACK when the target stays silent);
 *   3. no ACK by the end of the period: the target becomes SUSPECT and the suspicion is
 *      disseminated; when its suspicion timeout expires it is declared DEAD.
 * Dissemination: every packet carries as many pending updates as fit in packet_bytes_max,
 * least-sent first; and every gossip_interval, while updates are pending, a GOSSIP packet goes
 * to gossip_fanout random members (independent of probing and of local health). Each update is
 * sent at most retransmit_mult * ceil(log10(N + 1)) times.
 *
 * Precedence of updates about member m (SWIM paper section 4.2; inc = incarnation):
 *   ALIVE(i)   overrides SUSPECT(j), ALIVE(j), DEAD(j), LEFT(j)  when i > j
 *   SUSPECT(i) overrides SUSPECT(j) when i > j, ALIVE(j) when i >= j
 *   DEAD(i)    overrides ALIVE(j), SUSPECT(j) when i >= j
 *   LEFT(i)    overrides ALIVE(j), SUSPECT(j), DEAD(j) when i >= j
 * A member refutes SUSPECT or DEAD about itself by raising its incarnation above it and
 * disseminating ALIVE. DEAD and LEFT members are forgotten (reaped) after reap_ns.
 *
 * Push-pull (STATE messages, which need a reliable stream: msg.stream): a member exchanges its
 * member table (up to sync_max entries) with a seed as soon as it has one (the join: it knows
 * every member at once), every period while it knows nobody alive, and every sync_every
 * periods (more above 32 members, growing with log2 N) with a seed or a dead member when there
 * is one (re-merging partitioned groups after their members were reaped), else with a random
 * member; DEAD in a table is taken as SUSPECT, so the member can refute it before it spreads.
 *
 * Addresses: SWIM spreads member ids; the environment maps them to addresses. The core keeps
 * one bit per member, "the environment can reach it", and never probes, asks to relay, gossips
 * to or suspects a member without it. It is set for the initial members, seeds and self, for
 * the sender of every packet received, for members named in an ALIVE_AT item or a STATE entry
 * carrying an address, and by FL_SWIM_EV_ADDRESS. ALIVE about a member with the bit set goes
 * out as ALIVE_AT with addr_bytes of room that the environment fills with the address before
 * sending (and reads back before handing a packet in; a first byte of 0 means "none"), so an
 * address travels with the news that a member is alive.
 *
 * Lifeguard (config.lifeguard): local health awareness (a score raised by failed probes, missed
 * NACKs and refutations scales the probe interval and timeout by score + 1, up to
 * awareness_max; the gossip timer is not scaled, and suspicion timeouts stretch by the same
 * multiplier, so that slower probing does not slow refutations down against fixed deadlines);
 * dynamic suspicion timeouts (start at suspicion_max_mult * min and shrink logarithmically as
 * independent suspicions arrive; min = suspicion_mult * log10(N) * probe_interval); NACKs from
 * PING-REQ relays; the buddy system.
 *
 * Everything an update points to stays valid until the next fl_swim_step or fl_swim_free. */
#ifndef FAULTLINE_SWIM_H
#define FAULTLINE_SWIM_H

#include "faultline/buf.h"
#include "faultline/rng.h"
#include "faultline/types.h"

#define FL_SWIM_PACKET_BYTES_MAX 1400 /* one packet, the codec's hard bound */
#define FL_SWIM_ITEMS_MAX        160  /* piggybacked items in one packet */
#define FL_SWIM_USER_BYTES_MAX   1024 /* one user broadcast payload */
#define FL_SWIM_SEEDS_MAX        16
#define FL_SWIM_K_MAX            8  /* indirect probes per period */
#define FL_SWIM_CONFIRM_MAX      8  /* independent suspicions counted (Lifeguard k) */
#define FL_SWIM_RELAYS_MAX       64 /* PING-REQs being served at once */
#define FL_SWIM_MSGS_MAX         128
#define FL_SWIM_MEMBERS_LIMIT    (1u << 20)
#define FL_SWIM_FANOUT_MAX       8     /* GOSSIP packets per gossip interval */
#define FL_SWIM_ADDR_BYTES_MAX   32    /* room for an address in ALIVE_AT and STATE entries */
#define FL_SWIM_SYNC_MAX         65536 /* entries in one STATE message */

typedef enum fl_swim_state {
    FL_SWIM_ALIVE = 0,
    FL_SWIM_SUSPECT = 1,
    FL_SWIM_DEAD = 2,
    FL_SWIM_LEFT = 3,
} fl_swim_state;

const char *fl_swim_state_name(fl_swim_state st);

typedef struct fl_swim_config {
    fl_node_id id;
    uint32_t incarnation;         /* starting incarnation (e.g. persisted, or 0) */
    uint32_t members_max;         /* bound on the member table, including self */
    fl_time_ns probe_interval_ns; /* protocol period at full health */
    fl_time_ns probe_timeout_ns;  /* direct ACK wait, < probe_interval_ns */
    uint32_t indirect_k;          /* PING-REQ fan-out, 1..FL_SWIM_K_MAX */
    uint32_t suspicion_mult;      /* alpha: min timeout = alpha * log10(N) * interval */
    uint32_t suspicion_max_mult;  /* beta: max timeout = beta * min (Lifeguard) */
    uint32_t suspicion_k;         /* confirmations that shrink the timeout to min */
    uint32_t retransmit_mult;     /* lambda: sends per update = lambda * ceil(log10(N + 1)) */
    uint32_t awareness_max;       /* health multiplier bound (8 = up to 8x) */
    bool lifeguard;               /* false: plain SWIM (fixed timeout, no LHA, NACK or buddy) */
    uint32_t bcast_max;           /* pending updates + user broadcasts */
    uint32_t user_max;            /* pending user broadcasts (payload slots) */
    uint32_t user_bytes_max;      /* payload bound, <= FL_SWIM_USER_BYTES_MAX */
    uint32_t seen_max;            /* remembered user broadcast ids (duplicate suppression) */
    fl_time_ns reap_ns;           /* DEAD/LEFT members forgotten after this; < 24 days */
    uint32_t dead_probe_every;    /* every Nth period probes a dead member or a seed (0 = off) */
    uint32_t sync_every;          /* push-pull every Nth period (x log2 N / 32 above 32; 0 = off) */
    uint32_t sync_max;            /* members in one push-pull message, 1..FL_SWIM_SYNC_MAX */
    fl_time_ns gossip_interval_ns; /* GOSSIP packets while updates are pending; 0 = only while
                                      Lifeguard stretches the period, once per probe_interval */
    uint32_t gossip_fanout;        /* members per gossip interval, 1..FL_SWIM_FANOUT_MAX */
    uint32_t addr_bytes;           /* room the environment fills with an address (0..32) */
    uint32_t mutants;              /* planted bugs (FL_SWIM_MUTANT_*): simulator and tests only */
    uint32_t packet_bytes_max;     /* <= FL_SWIM_PACKET_BYTES_MAX */
    fl_node_id seeds[FL_SWIM_SEEDS_MAX];
    uint32_t n_seeds;
    /* Members known alive (incarnation 0) at start, e.g. the static cluster; may include id.
     * Read during fl_swim_init only. */
    const fl_node_id *initial;
    uint32_t n_initial;
} fl_swim_config;

/* Planted bugs, each off unless its bit is set in fl_swim_config.mutants (docs/mutants.md): the
 * checks that must catch them are in tests/sim/test_swim_campaign.c. */
typedef enum fl_swim_mutant {
    /* members are probed before the environment can reach them (the gate ignored) */
    FL_SWIM_MUTANT_PROBE_UNADDRESSED = 1u << 0,
    /* no GOSSIP timer: updates ride on probes only (DEAD news spreads at the probe rate) */
    FL_SWIM_MUTANT_NO_GOSSIP_TIMER = 1u << 1,
} fl_swim_mutant;

/* "probe-unaddressed", "no-gossip-timer" (NULL for any other bit). */
const char *fl_swim_mutant_name(uint32_t bit);
/* Adds the mutant named s to *bits: 0, or FL_EINVAL for an unknown name. */
int fl_swim_mutant_parse(const char *s, uint32_t *bits);

/* Defaults: 1 s period, 500 ms timeout, k = 3, alpha 4, beta 6, confirmations 3, lambda 4,
 * awareness 8, Lifeguard on, 1024 updates, 64 user broadcasts of <= 512 bytes, 30 s reaping,
 * dead probe every 10th period, push-pull every 30th (4096 members a message), gossip every
 * 200 ms to 3 members, no address room, 1400-byte packets, 65536 members. Caller sets id. */
void fl_swim_config_default(fl_swim_config *c);
/* 0, or FL_ECONFIG with a message in why. */
int fl_swim_config_validate(const fl_swim_config *c, char *why, size_t why_size);

typedef enum fl_swim_event_kind {
    FL_SWIM_EV_START = 1, /* first event: arms the protocol period */
    FL_SWIM_EV_TICK,      /* the deadline asked for in the last update arrived (or any time) */
    FL_SWIM_EV_RECEIVE,   /* a packet: data, len (untrusted) */
    FL_SWIM_EV_BROADCAST, /* disseminate a user payload: data, len */
    FL_SWIM_EV_LEAVE,     /* graceful leave: disseminate LEFT; keep running to spread it */
    FL_SWIM_EV_SEED,      /* one more seed (id), e.g. learned from a join address at run time:
                             a push-pull with it follows at once (the join) */
    FL_SWIM_EV_ADDRESS,   /* the environment learned how to reach member id */
} fl_swim_event_kind;

typedef struct fl_swim_event {
    fl_swim_event_kind kind;
    fl_time_ns now_ns;
    const uint8_t *data; /* RECEIVE: a packet or a STATE message; BROADCAST: the payload */
    size_t len;
    fl_node_id id; /* SEED, ADDRESS */
} fl_swim_event;

typedef struct fl_swim_msg {
    fl_node_id to;
    const uint8_t *data;
    size_t len;
    bool stream; /* a STATE message: over a reliable stream, up to fl_swim_stream_bytes_max */
} fl_swim_msg;

typedef struct fl_swim_change {
    fl_node_id id;
    uint32_t incarnation;
    fl_swim_state state;
    fl_swim_state old_state;
    bool added;   /* first heard of */
    bool removed; /* reaped: forgotten */
} fl_swim_change;

typedef struct fl_swim_delivery {
    fl_node_id origin;
    uint32_t seq;
    const uint8_t *data;
    size_t len;
} fl_swim_delivery;

typedef struct fl_swim_update {
    const fl_swim_msg *msgs;
    size_t n_msgs;
    const fl_swim_change *changes;
    size_t n_changes;
    const fl_swim_delivery *deliveries;
    size_t n_deliveries;
    fl_time_ns next_tick_ns; /* FL_TIME_NEVER: no deadline */
    int decode_error;        /* RECEIVE: the packet was refused (0 = accepted) */
} fl_swim_update;

typedef struct fl_swim_stats {
    uint64_t probes;          /* direct pings as prober */
    uint64_t probes_indirect; /* periods that needed PING-REQ */
    uint64_t probes_failed;   /* periods that ended without ACK */
    uint64_t nacks;           /* NACKs received */
    uint64_t suspicions;      /* members this node started suspecting */
    uint64_t deaths;          /* members this node declared dead (suspicion timeout) */
    uint64_t refutations;     /* times this node raised its incarnation */
    uint64_t packets_sent;
    uint64_t bytes_sent;
    uint64_t packets_received;
    uint64_t decode_errors;
    uint64_t updates_sent;  /* piggybacked items */
    uint64_t bcast_dropped; /* updates evicted from a full queue */
    uint64_t msgs_dropped;  /* over FL_SWIM_MSGS_MAX in one step */
    uint64_t user_delivered;
    uint64_t gossip_packets; /* GOSSIP packets sent */
    uint64_t syncs_sent;     /* STATE messages sent (push-pull requests and replies) */
    uint64_t syncs_received; /* STATE messages merged */
    uint64_t addressed_late; /* members that became reachable after we first knew them */
} fl_swim_stats;

struct swim_member;
struct swim_susp;
struct swim_bcast;

typedef struct swim_relay {
    bool used;
    uint32_t seq;        /* our ping to the target */
    uint32_t origin_seq; /* the requester's probe */
    fl_node_id origin;
    fl_node_id target;
    fl_time_ns nack_at_ns;
    fl_time_ns expire_ns;
} swim_relay;

/* The state of one member (caller-owned; fl_swim_init / fl_swim_free). */
typedef struct fl_swim {
    fl_swim_config cfg;
    fl_rng rng;
    uint32_t incarnation;
    fl_swim_state self_state;
    fl_time_ns now_ns;
    bool started;
    /* members: slots in probe order; index: id -> slot, open addressing (linear probing) */
    struct swim_member *m;
    uint32_t *index;
    uint32_t index_mask; /* capacity - 1, a power of two >= 1.5 * cap */
    uint32_t n, cap;
    uint32_t n_live; /* ALIVE + SUSPECT, self included */
    uint32_t probe_pos;
    uint32_t gossip_pos; /* the next gossip target: a second walk over the probe order */
    uint32_t sync_cursor;
    uint32_t sync_phase; /* random: members started together do not push-pull together */
    uint64_t period;
    /* the probe in progress */
    fl_node_id probe_target;
    uint32_t probe_seq;
    bool probe_acked;
    bool probe_indirect;
    uint32_t nacks_expected, nacks_got;
    fl_time_ns period_end_ns;
    fl_time_ns probe_deadline_ns;
    fl_time_ns gossip_next_ns; /* next gossip round, on a grid of gossip_interval_ns */
    uint32_t seq;
    uint32_t health; /* Lifeguard local health score, 0..awareness_max-1 */
    /* suspicions */
    struct swim_susp *susp;
    uint32_t n_susp, cap_susp;
    /* broadcast queue: entries bucketed by transmit count */
    struct swim_bcast *bq;
    uint32_t bq_cap, bq_count, bq_free;
    uint32_t *bucket_head, *bucket_tail;
    uint8_t *user_pool;
    uint32_t *user_free;
    uint32_t user_free_n, user_count;
    uint32_t user_seq;
    uint64_t *seen;
    uint32_t seen_n, seen_next;
    swim_relay relays[FL_SWIM_RELAYS_MAX];
    /* the outbox of the current step */
    fl_buf out;
    fl_swim_msg msgs[FL_SWIM_MSGS_MAX];
    size_t msg_off[FL_SWIM_MSGS_MAX];
    size_t n_msgs;
    fl_swim_change *changes;
    size_t n_changes, cap_changes;
    fl_swim_delivery *deliv;
    size_t *deliv_off;
    size_t n_deliv, cap_deliv;
    fl_buf deliv_bytes;
    fl_swim_stats stats;
} fl_swim;

/* Initializes s (caller-owned memory) from c; rng is the environment's seeded stream, copied.
 * FL_ECONFIG for a bad config, FL_ENOMEM. */
int fl_swim_init(fl_swim *s, const fl_swim_config *c, fl_rng rng);
void fl_swim_free(fl_swim *s);

/* Runs one event. Returns 0, or FL_EINVAL for an event the core cannot take (unknown kind, a
 * broadcast over user_bytes_max). A bad packet is not an error of the call: it is counted and
 * reported in up->decode_error. */
int fl_swim_step(fl_swim *s, const fl_swim_event *ev, fl_swim_update *up);

/* Observers (read-only). */
/* 0 and the member's view, or FL_ENOTFOUND. */
int fl_swim_member(const fl_swim *s, fl_node_id id, fl_swim_state *state, uint32_t *incarnation);
/* The member in table slot i < fl_swim_member_count (slots are in no stable order). */
void fl_swim_member_at(const fl_swim *s, uint32_t i, fl_node_id *id, fl_swim_state *state,
                       uint32_t *incarnation);
uint32_t fl_swim_live_count(const fl_swim *s); /* ALIVE + SUSPECT, self included */
uint32_t fl_swim_member_count(const fl_swim *s);
uint32_t fl_swim_health(const fl_swim *s); /* Lifeguard multiplier - 1 */
/* Can the environment reach member id (see "Addresses" above)? False for unknown members. */
bool fl_swim_addressed(const fl_swim *s, fl_node_id id);
/* When a suspected member will be declared dead (FL_TIME_NEVER if it is not suspected). */
fl_time_ns fl_swim_suspicion_deadline(const fl_swim *s, fl_node_id id);
const fl_swim_stats *fl_swim_get_stats(const fl_swim *s);
/* The suspicion timeout for n live members after c independent confirmations. */
fl_time_ns fl_swim_suspicion_timeout(const fl_swim_config *c, uint32_t n, uint32_t confirms);
/* Sends per update for n live members: retransmit_mult * ceil(log10(n + 1)). */
uint32_t fl_swim_retransmit_limit(const fl_swim_config *c, uint32_t n);
/* Periods between periodic push-pulls with n live members: sync_every, times
 * ceil(log2 n) - 4 above 32 members (0 when sync_every is 0). */
uint32_t fl_swim_sync_periods(const fl_swim_config *c, uint32_t n);
/* The largest STATE message a core with this config emits. */
size_t fl_swim_stream_bytes_max(const fl_swim_config *c);
/* Asserts the internal invariants (sorted index, counts, queue links). */
void fl_swim_invariants(const fl_swim *s);

/* ---- Packet codec (also used by tests, fuzzers and the environments) --------------------- */

/* Packet v2, little-endian:
 *   0  u8  magic 0x53 ('S')       1  u8 version (2)        2 u8 type     3 u8 item count
 *   4  u32 sender id              8  u32 sequence         12 u32 target (PING, PING-REQ)
 *  16  items: u8 kind, then
 *        ALIVE    u32 id, u32 inc             SUSPECT u32 id, u32 inc, u32 from
 *        DEAD     u32 id, u32 inc, u32 from   LEFT    u32 id, u32 inc
 *        USER     u32 origin, u32 seq, u16 len, len bytes
 *        ALIVE_AT u32 id, u32 inc, u8 len (<= 32), len bytes of address (the environment's
 *                 format; a first byte of 0 means no address; len 0: the id is the address)
 * Anything after the last item is an error.
 *
 * STATE message (push-pull over a stream), little-endian:
 *   0  u8  magic 0x53             1  u8 version (2)        2 u8 type (5)  3 u8 flags
 *                                                            (1: reply wanted, 2: a join)
 *   4  u32 sender id              8  u32 sequence         12 u32 entry count (<= 65536)
 *  16  entries: u32 id, u32 inc, u8 state (0..3) | 0x80 when an address follows,
 *               then, with 0x80, u8 len (<= 32) and len bytes as in ALIVE_AT
 * Anything after the last entry is an error. v1 (1 KB UDP pages for push-pull, no ALIVE_AT)
 * is refused with FL_EVERSION. */
#define FL_SWIM_MAGIC        0x53
#define FL_SWIM_VERSION      2
#define FL_SWIM_HEADER_BYTES 16
#define FL_SWIM_ENTRY_ADDR   0x80
#define FL_SWIM_STATE_REPLY  1
#define FL_SWIM_STATE_JOIN   2
/* The largest STATE message any core may send (65536 entries with 32-byte addresses). */
#define FL_SWIM_STREAM_BYTES_LIMIT                                                                 \
    (FL_SWIM_HEADER_BYTES + (size_t)FL_SWIM_SYNC_MAX * (10 + FL_SWIM_ADDR_BYTES_MAX))

typedef enum fl_swim_type {
    FL_SWIM_PING = 1,
    FL_SWIM_ACK = 2,
    FL_SWIM_PING_REQ = 3,
    FL_SWIM_NACK = 4,
    FL_SWIM_STATE = 5,  /* push-pull: the sender's member table (a stream, not a packet) */
    FL_SWIM_GOSSIP = 6, /* only piggybacked updates (the gossip timer) */
} fl_swim_type;

typedef enum fl_swim_item_kind {
    FL_SWIM_ITEM_ALIVE = 1,
    FL_SWIM_ITEM_SUSPECT = 2,
    FL_SWIM_ITEM_DEAD = 3,
    FL_SWIM_ITEM_LEFT = 4,
    FL_SWIM_ITEM_USER = 5,
    FL_SWIM_ITEM_ALIVE_AT = 6, /* ALIVE with the member's address */
} fl_swim_item_kind;

typedef struct fl_swim_item {
    uint8_t kind;
    fl_node_id id; /* member, or origin of a USER item */
    uint32_t inc;  /* incarnation, or sequence of a USER item */
    fl_node_id from;
    const uint8_t *data; /* USER, ALIVE_AT: points into the packet (encoding: NULL = zeros) */
    uint16_t len;
} fl_swim_item;

typedef struct fl_swim_packet {
    uint8_t type;
    fl_node_id sender;
    uint32_t seq;
    fl_node_id target;
    uint32_t n_items;
    fl_swim_item items[FL_SWIM_ITEMS_MAX];
} fl_swim_packet;

/* Encoded size of an item. */
size_t fl_swim_item_bytes(const fl_swim_item *it);
/* Writes the header (item count 0) to b. */
void fl_swim_encode_header(fl_buf *b, uint8_t type, fl_node_id sender, uint32_t seq,
                           fl_node_id target);
/* Appends one item and bumps the count in the header starting at offset head. */
void fl_swim_encode_item(fl_buf *b, size_t head, const fl_swim_item *it);
/* Decodes untrusted bytes. 0, or FL_ETRUNC, FL_EVERSION, FL_ETYPE (a STATE message too),
 * FL_ECORRUPT, FL_ETOOBIG; never asserts. USER and ALIVE_AT data point into p. */
int fl_swim_decode(const uint8_t *p, size_t len, fl_swim_packet *out);
/* Is this the start of a STATE message (magic, version and type; nothing else checked)? */
bool fl_swim_is_state(const uint8_t *p, size_t len);

/* One STATE entry. */
typedef struct fl_swim_entry {
    fl_node_id id;
    uint32_t inc;
    fl_swim_state state;
    bool has_addr;
    const uint8_t *addr; /* into the message (encoding: NULL = zeros) */
    uint8_t addr_len;
} fl_swim_entry;

/* A validated STATE message being read entry by entry. */
typedef struct fl_swim_state_reader {
    uint8_t flags;
    fl_node_id sender;
    uint32_t seq;
    uint32_t count;
    const uint8_t *p;
    size_t len, pos;
    uint32_t next; /* entries read */
} fl_swim_state_reader;

/* Writes a STATE header (count 0) to b. */
void fl_swim_state_encode_header(fl_buf *b, uint8_t flags, fl_node_id sender, uint32_t seq);
/* Appends one entry and bumps the count of the header at offset head. */
void fl_swim_state_encode_entry(fl_buf *b, size_t head, const fl_swim_entry *e);
/* Encoded size of an entry. */
size_t fl_swim_entry_bytes(const fl_swim_entry *e);
/* Validates a whole STATE message (untrusted bytes): 0 and a reader at its first entry, or
 * FL_ETRUNC, FL_EVERSION, FL_ETYPE, FL_ECORRUPT, FL_ETOOBIG; never asserts. */
int fl_swim_state_open(const uint8_t *p, size_t len, fl_swim_state_reader *r);
/* The next entry of a validated message; false after the last. */
bool fl_swim_state_next(fl_swim_state_reader *r, fl_swim_entry *e);

/* For the environments: calls fn(arg, id, field, len) for the address field of every ALIVE_AT
 * item or STATE entry in msg (a packet or a STATE message; untrusted bytes are fine), in order,
 * so that a sender can fill them in and a receiver read them (and clear the first byte of one
 * it cannot use). field points into msg. 0, or the decoder's error (fn not called). */
typedef void (*fl_swim_addr_fn)(void *arg, fl_node_id id, uint8_t *field, size_t len);
int fl_swim_addr_fields(uint8_t *msg, size_t len, fl_swim_addr_fn fn, void *arg);

#endif
