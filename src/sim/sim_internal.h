/* sim_internal.h: the simulator's private state, shared by the files of src/sim/.
 *
 * Invariants:
 *  1. every pending event is one slot of sim->ev, referenced by exactly one heap item or one
 *     entry of a node's deferred queue (paused, held, or slow and busy); free slots form a
 *     list through next_free;
 *  2. a node whose state is DOWN has obj == NULL, no live timer and no pending sync;
 *  3. disk: see simdisk.h (fl_simdisk_check). */
#ifndef FAULTLINE_SIM_INTERNAL_H
#define FAULTLINE_SIM_INTERNAL_H

#include "faultline/assert.h"
#include "faultline/heap.h"
#include "faultline/sim.h"
#include "faultline/simdisk.h"

enum {
    EV_DELIVER = 1, /* message from -> node */
    EV_TIMER,       /* node timer (token = timer generation) */
    EV_SYNC,        /* node disk sync completion (token = sync sequence) */
    EV_SYNCED,      /* deferred synced() notification for a paused node */
    EV_CALL,        /* driver callback */
    EV_NODE_CALL,   /* driver callback run inside a node */
    EV_NODE_FAIL,   /* the same, failed: its node crashed while it waited (runs fn(NULL)) */
    /* trace-only kinds (driver actions, drops) */
    EV_START,
    EV_CRASH,
    EV_RESTART,
    EV_PAUSE,
    EV_RESUME,
    EV_REFUSED,
    EV_DROP,
};

#define SLOT_NONE UINT32_MAX
/* A heap item whose value has WAKE_FLAG is not a slot but "slow node (value & WAKE_MASK) + 1
 * may be free: run the first event of its backlog". At most one per node, so the heap holds at
 * most events_max + nodes items. */
#define WAKE_FLAG       ((uint64_t)1 << 63)
#define WAKE_MASK       ((uint64_t)UINT32_MAX)
#define CHECKS_MAX      16
#define RING_SIZE       FL_SIM_TRACE_EVENTS
#define RING_DESC       150
#define REASON_MAX      121
#define SLOT_KEEP_BYTES 65536 /* a freed slot keeps a message buffer up to this size */

typedef struct sim_ev {
    uint8_t kind;
    fl_node_id node; /* the receiving / owning node */
    fl_node_id from;
    uint32_t len;
    uint32_t next_free;
    uint64_t token; /* timer generation, sync sequence */
    uint64_t epoch; /* node epoch when scheduled (timer, sync) */
    uint8_t *data;  /* owned, kept across reuse */
    uint32_t cap;
    int status;         /* EV_SYNCED */
    fl_time_ns sent_ns; /* EV_DELIVER: when it was sent (message delays) */
    bool held;          /* EV_DELIVER: the delivery gate holds it back (fl_sim_set_gate) */
    fl_sim_fn fn;
    fl_sim_node_fn node_fn;
    void *arg;
} sim_ev;

/* A node's disk: the simdisk and when its last queued sync completes (disk.c). */
typedef struct sim_disk {
    fl_simdisk *sd;
    fl_sim *sim;
    fl_node_id id;
    fl_sim_dist latency;
    fl_time_ns sync_last_ns; /* completion time of the last queued sync (in-order) */
} sim_disk;

typedef struct sim_clock {
    int64_t anchor_global; /* virtual time of the anchor */
    int64_t anchor_local;  /* local reading at the anchor */
    int64_t drift_ppb;     /* local runs at (1 + ppb/1e9) of global */
} sim_clock;

typedef struct sim_node {
    fl_node_id id;
    fl_sim_node_state state;
    void *obj;
    uint64_t epoch; /* incremented at every crash */
    fl_rng rng;
    sim_clock clock;
    fl_time_ns timer_local; /* armed deadline on the local clock, NEVER = none */
    fl_time_ns timer_at;    /* the same in global time */
    fl_time_ns timer_ev_at; /* time of the live timer event, NEVER = none */
    uint64_t timer_gen;     /* generation of the live timer event */
    uint32_t *deferred;     /* slots waiting while paused or busy: [deferred_head, count) */
    size_t deferred_head;
    size_t deferred_count;
    size_t deferred_cap;
    bool wake_pending; /* a wake item is in the heap for this node (at most one) */
    uint32_t draining; /* the slot a wake is running now (SLOT_NONE otherwise) */
    bool exiting;
    bool slow; /* every processed event keeps it busy for a sample of proc */
    fl_sim_dist proc;
    fl_time_ns busy_until; /* a slow node processes nothing before this time */
    bool held;             /* fl_sim_hold: nothing but sync completions runs until released */
    uint32_t group;        /* partition group (fl_sim_set_group) */
    fl_sim_node_stats *st; /* in sim->stats.node, or sim->node_stats_more */
    char reason[REASON_MAX];
    sim_disk disk;
} sim_node;

/* A link that differs from the default model; key = from << 32 | to (never 0). */
typedef struct sim_link_ov {
    uint64_t key;
    fl_sim_link link;
} sim_link_ov;

typedef struct sim_ring_entry {
    uint64_t event;
    uint32_t sub; /* 0: event itself (or the first entry after it), k: the k-th after it */
    fl_time_ns time;
    uint8_t kind;
    fl_node_id node;
    fl_node_id from;
    uint32_t len;
    uint64_t hash;
    char desc[RING_DESC];
} sim_ring_entry;

struct fl_sim {
    fl_sim_config cfg;
    fl_time_ns now;
    fl_heap heap;
    sim_ev *ev;
    uint32_t ev_cap;
    uint32_t ev_free;
    uint32_t ev_live;
    fl_rng net_rng;
    fl_rng disk_rng;
    fl_rng driver_rng;
    fl_rng proc_rng;      /* processing times of slow nodes */
    fl_sim_link link_def; /* the model of every link without an override */
    sim_link_ov *link_ov; /* open addressing, power-of-two capacity */
    size_t link_ov_cap;
    size_t link_ov_count;
    bool groups;                        /* some node is outside group 0 */
    sim_node *nodes;                    /* cfg.nodes, index id-1 */
    fl_sim_node_stats *node_stats_more; /* ids above FL_SIM_NODES_MAX */
    fl_node_id in_node;                 /* node whose callback is running, 0 = none */
    fl_sim_gate_fn gate;                /* the delivery gate (fl_sim_set_gate), NULL = none */
    void *gate_arg;
    struct {
        fl_sim_check_fn fn;
        void *arg;
    } checks[CHECKS_MAX];
    int checks_count;
    fl_sim_violation violation;
    fl_buf why;
    fl_sim_stats stats;
    uint64_t trace_hash;
    sim_ring_entry ring[RING_SIZE];
    uint64_t ring_next;
    char err[256];
};

/* A node calling a service must pass its own id (a protocol bug otherwise). */
#define FL__SIM_SELF(sim, id) FL_ASSERT((sim)->in_node == FL_NODE_NONE || (sim)->in_node == (id))

/* sim.c */
int fl__sim_fail(fl_sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sim_node *fl__sim_node(fl_sim *sim, fl_node_id id, const char *what);
void fl__sim_after_node_call(fl_sim *sim, sim_node *n);
void fl__sim_dispatch(fl_sim *sim, uint32_t slot);

/* event.c */
uint32_t fl__ev_alloc(fl_sim *sim);
void fl__ev_release(fl_sim *sim, uint32_t slot);
int fl__ev_push(fl_sim *sim, fl_time_ns at, uint32_t slot);
int fl__ev_set_data(fl_sim *sim, uint32_t slot, const void *p, size_t len);

/* net.c */
int fl__link_check(const fl_sim_link *l, fl_buf *why);
void fl__net_deliver(fl_sim *sim, uint32_t slot);
int fl__links_init(fl_sim *sim);
void fl__links_free(fl_sim *sim);

/* node.c */
void fl__node_timer_event(fl_sim *sim, uint32_t slot);
void fl__node_defer(fl_sim *sim, sim_node *n, uint32_t slot);
/* True if the node cannot run the event in slot now: it was queued in the node's deferred FIFO
 * (paused; held and not a sync's completion; or slow and busy or with a backlog, then a wake
 * item runs it later). */
bool fl__node_hold(fl_sim *sim, sim_node *n, uint32_t slot);
void fl__node_wake(fl_sim *sim, sim_node *n);
int fl__node_rearm(fl_sim *sim, sim_node *n);
void fl__node_free(fl_sim *sim, sim_node *n);

/* disk.c */
int fl__disk_init(fl_sim *sim, sim_node *n);
void fl__disk_free(sim_disk *d);
void fl__disk_sync_event(fl_sim *sim, uint32_t slot);
void fl__disk_synced_event(fl_sim *sim, uint32_t slot);
void fl__disk_crash(fl_sim *sim, sim_node *n);

/* clock.c */
void fl__clock_init(sim_clock *c, int64_t offset_ns, double drift_ppm);
int64_t fl__clock_local(const sim_clock *c, fl_time_ns global);
fl_time_ns fl__clock_global(const sim_clock *c, fl_time_ns local, fl_time_ns now);

/* trace.c */
uint64_t fl__hash_bytes(const uint8_t *p, size_t len);
void fl__trace(fl_sim *sim, uint8_t kind, fl_node_id node, fl_node_id from, const uint8_t *msg,
               size_t len);

#endif
