/* paxos_rig.h: a small deterministic multi-node harness for the Multi-Paxos core, for the
 * unit tests (the simulator hosts the core in part 2 of issue 14).
 *
 * Every message goes through the wire codec into a queue; a seeded fl_rng picks which ready
 * message is delivered next (any order), and may lose or duplicate it. Each node has a disk:
 * its persist requests wait in an unsynced queue until the rig syncs them (then the node is
 * told PERSISTED); a crash drops the unsynced queue, the staged snapshot and the state
 * machine, and a restart rebuilds the node from its disk alone. The state machine is a hash
 * chain over the applied values; every node must reach the same hash at each slot, snapshots
 * included. The checker (paxos_check.h) and fl_paxos_invariants run after every step.
 *
 * Scripted tests drive it by hand (rig_tick, rig_deliver, rig_sync); rig_chaos runs a
 * random schedule of deliveries, losses, duplicates, crashes, partitions, proposals, reads
 * and snapshots. */
#ifndef PAXOS_RIG_H
#define PAXOS_RIG_H

#include "test.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/paxos.h"
#include "faultline/paxos_check.h"
#include "faultline/paxos_wire.h"

#include <stdlib.h>

#define RIG_N_MAX      5
#define RIG_MSGS_MAX   20000
#define RIG_REQS_MAX   4096
#define RIG_SNAP_BYTES 40 /* (index, hash) and padding: three chunks of 16 bytes */
#define RIG_SLOTS_MAX  100000

typedef struct rig_msg {
    int from, to; /* node indexes */
    fl_time_ns at;
    uint8_t type;
    fl_buf bytes;
} rig_msg;

typedef struct rig_req {
    uint64_t seq;
    bool hard;
    fl_term promised;
    fl_index first;
    size_t n;
    fl_paxos_entry *entries; /* owned copies */
    bool install;
    fl_paxos_snapshot_meta meta;
} rig_req;

typedef struct rig_node {
    fl_paxos p;
    bool up;
    fl_time_ns deadline;
    /* the disk */
    fl_term d_promised;
    fl_index d_first;
    fl_paxos_entry *d_log; /* owned copies */
    size_t d_n, d_cap;
    fl_paxos_snapshot_meta d_snap;
    uint8_t d_snap_bytes[RIG_SNAP_BYTES];
    uint8_t stage[RIG_SNAP_BYTES];
    rig_req q[RIG_REQS_MAX];
    size_t nq;
    /* the state machine */
    fl_index sm_index;
    uint64_t sm_hash;
    uint64_t reads_ok, reads_failed;
    fl_index last_read_index;
} rig_node;

typedef struct rig {
    int n;
    fl_paxos_config cfg[RIG_N_MAX];
    rig_node nodes[RIG_N_MAX];
    rig_msg *msgs;
    size_t n_msgs;
    fl_time_ns now;
    fl_rng rng;
    fl_paxos_checker ch;
    fl_buf why;
    bool violated;
    uint64_t *chain; /* chain[slot]: state-machine hash after applying slot, 0 = not yet */
    double loss, dup;
    fl_time_ns delay_max;
    uint32_t side; /* partition: nodes whose bit is set hear only each other */
    uint64_t proposals, next_value, read_ctx;
    bool trace;               /* print every delivery (debugging) */
    uint64_t steps, crash_at; /* crash (and restart) the node that takes step crash_at */
} rig;

static inline void rig_entry_copy(fl_paxos_entry *dst, const fl_paxos_entry *src)
{
    *dst = *src;
    if (src->len) {
        uint8_t *d = malloc(src->len);
        FL_ASSERT(d != NULL);
        memcpy(d, src->data, src->len);
        dst->data = d;
    } else {
        dst->data = NULL;
    }
}

/* Config for every node: 3 or 5 nodes by default, small timeouts, small batches. */
static inline void rig_init(rig *g, int n, uint64_t seed, void (*tweak)(fl_paxos_config *))
{
    memset(g, 0, sizeof(*g));
    g->n = n;
    fl_rng_seed(&g->rng, seed);
    g->delay_max = 0;
    g->msgs = calloc(RIG_MSGS_MAX, sizeof(*g->msgs));
    g->chain = calloc(RIG_SLOTS_MAX, sizeof(*g->chain));
    FL_ASSERT(g->msgs && g->chain);
    fl_buf_init(&g->why);
    for (int i = 0; i < n; i++) {
        fl_paxos_config *c = &g->cfg[i];
        fl_paxos_config_default(c, (fl_node_id)(i + 1));
        c->n_nodes = (uint32_t)n;
        for (int j = 0; j < n; j++)
            c->nodes[j] = (fl_node_id)(j + 1);
        c->election_timeout_ns = 100 * FL_NS_PER_MS;
        c->heartbeat_ns = 20 * FL_NS_PER_MS;
        c->batch_entries_max = 4;
        c->inflight_max = 4;
        c->uncommitted_max = 32;
        c->snapshot_chunk_bytes = 16;
        c->seed = seed * 131 + (uint64_t)i;
        if (tweak)
            tweak(c);
    }
    CHECK_EQ(fl_paxos_checker_init(&g->ch, (uint32_t)n, fl_paxos_q2(&g->cfg[0])), 0);
}

static inline void rig_node_disk_free(rig_node *nd)
{
    for (size_t i = 0; i < nd->d_n; i++)
        free((void *)nd->d_log[i].data);
    free(nd->d_log);
    nd->d_log = NULL;
    nd->d_n = nd->d_cap = 0;
}

static inline void rig_req_free(rig_req *r)
{
    for (size_t i = 0; i < r->n; i++)
        free((void *)r->entries[i].data);
    free(r->entries);
    r->entries = NULL;
}

static inline void rig_free(rig *g)
{
    for (int i = 0; i < g->n; i++) {
        rig_node *nd = &g->nodes[i];
        if (nd->up)
            fl_paxos_close(&nd->p);
        for (size_t k = 0; k < nd->nq; k++)
            rig_req_free(&nd->q[k]);
        rig_node_disk_free(nd);
    }
    for (size_t k = 0; k < g->n_msgs; k++)
        fl_buf_free(&g->msgs[k].bytes);
    free(g->msgs);
    free(g->chain);
    fl_buf_free(&g->why);
    fl_paxos_checker_free(&g->ch);
}

static inline uint64_t rig_mix(uint64_t h, const fl_paxos_entry *e)
{
    uint64_t x = fl_mix64(h ^ fl_paxos_check_value_hash(e->type, e->data, e->len));
    return x ? x : 1;
}

/* ---- the update --------------------------------------------------------------------------- */

static inline void rig_apply(rig *g, rig_node *nd, const fl_paxos_update *up)
{
    if (up->restore_index) {
        FL_ASSERT(nd->d_snap.index == up->restore_index);
        memcpy(&nd->sm_index, nd->d_snap_bytes, 8);
        memcpy(&nd->sm_hash, nd->d_snap_bytes + 8, 8);
        CHECK_EQ(nd->sm_index, up->restore_index);
        if (g->chain[nd->sm_index] && g->chain[nd->sm_index] != nd->sm_hash && !g->violated) {
            fl_buf_printf(&g->why, "a snapshot restores another state at slot %llu",
                          (unsigned long long)nd->sm_index);
            g->violated = true;
        }
    }
    for (size_t i = 0; i < up->n_apply; i++) {
        fl_index s = up->apply_first + i;
        CHECK_EQ(s, nd->sm_index + 1); /* in order, nothing skipped */
        nd->sm_hash = rig_mix(nd->sm_hash, &up->apply[i]);
        nd->sm_index = s;
        FL_ASSERT(s < RIG_SLOTS_MAX);
        if (!g->chain[s])
            g->chain[s] = nd->sm_hash;
        if (g->chain[s] != nd->sm_hash && !g->violated) { /* state machines must agree */
            fl_buf_printf(&g->why, "state machines diverge at slot %llu", (unsigned long long)s);
            g->violated = true;
        }
    }
}

static inline void rig_send(rig *g, int from, const fl_paxos_msg *m0)
{
    rig_node *nd = &g->nodes[from];
    fl_paxos_msg m = *m0;
    if (m.type == FL_PAXOS_MSG_SNAPSHOT) {
        /* the environment fills the chunk from its snapshot of that index */
        if (m.u.snapshot.meta.index != nd->d_snap.index ||
            m.u.snapshot.offset + m.u.snapshot.len > RIG_SNAP_BYTES)
            return;
        m.u.snapshot.data = nd->d_snap_bytes + m.u.snapshot.offset;
    }
    int copies = fl_rng_chance(&g->rng, g->dup) ? 2 : 1;
    for (int c = 0; c < copies && g->n_msgs < RIG_MSGS_MAX; c++) {
        rig_msg *q = &g->msgs[g->n_msgs++];
        q->from = from;
        q->to = (int)m.to - 1;
        q->type = m.type;
        q->at = g->now + (g->delay_max ? fl_rng_below(&g->rng, g->delay_max + 1) : 0);
        fl_buf_init(&q->bytes);
        CHECK_EQ(fl_wire_paxos_encode(&m, &q->bytes), 0);
    }
}

static inline void rig_handle(rig *g, int i, const fl_paxos_update *up)
{
    rig_node *nd = &g->nodes[i];
    if (up->persist.seq) {
        FL_ASSERT(nd->nq < RIG_REQS_MAX);
        rig_req *r = &nd->q[nd->nq++];
        r->seq = up->persist.seq;
        r->hard = up->persist.hard_state;
        r->promised = up->persist.term;
        r->first = up->persist.first_index;
        r->n = up->persist.n_entries;
        r->entries = r->n ? calloc(r->n, sizeof(*r->entries)) : NULL;
        for (size_t k = 0; k < r->n; k++)
            rig_entry_copy(&r->entries[k], &up->persist.entries[k]);
        r->install = up->persist.install;
        r->meta =
            (fl_paxos_snapshot_meta){up->persist.install_meta.index, up->persist.install_meta.size,
                                     up->persist.install_meta.crc};
    }
    if (up->snapshot_chunk.len) {
        FL_ASSERT(up->snapshot_chunk.offset + up->snapshot_chunk.len <= RIG_SNAP_BYTES);
        memcpy(nd->stage + up->snapshot_chunk.offset, up->snapshot_chunk.data,
               up->snapshot_chunk.len);
    }
    rig_apply(g, nd, up);
    for (size_t k = 0; k < up->n_reads; k++) {
        if (up->reads[k].ok) {
            nd->reads_ok++;
            nd->last_read_index = up->reads[k].index;
        } else {
            nd->reads_failed++;
        }
    }
    for (size_t k = 0; k < up->n_msgs; k++)
        rig_send(g, i, &fl_paxos_msgs_of(up)[k]);
    nd->deadline = up->deadline_ns;
}

static inline void rig_crash(rig *g, int i);
static inline void rig_start(rig *g, int i);

/* Steps node i; returns the core's result. */
static inline int rig_step(rig *g, int i, fl_paxos_event *ev)
{
    rig_node *nd = &g->nodes[i];
    FL_ASSERT(nd->up);
    fl_paxos_update up;
    ev->now_ns = g->now;
    int rc = fl_paxos_step(&nd->p, ev, &up);
    fl_paxos_invariants(&nd->p);
    if (!g->violated &&
        fl_paxos_checker_observe(&g->ch, (fl_node_id)(i + 1), &nd->p, ev, &up, &g->why))
        g->violated = true;
    rig_handle(g, i, &up);
    if (++g->steps == g->crash_at) {
        rig_crash(g, i); /* before anything this step asked for is on disk */
        rig_start(g, i);
    }
    return rc;
}

static inline int rig_tick(rig *g, int i)
{
    fl_paxos_event ev = {.type = FL_PAXOS_EV_TICK};
    return rig_step(g, i, &ev);
}

/* ---- the disk ----------------------------------------------------------------------------- */

/* Keeps the durable slots in [lo, hi) only. */
static inline void rig_disk_keep(rig_node *nd, fl_index lo, fl_index hi)
{
    fl_index last = nd->d_first + nd->d_n; /* one past */
    if (lo < nd->d_first)
        lo = nd->d_first;
    if (hi > last)
        hi = last;
    if (hi <= lo) {
        rig_node_disk_free(nd);
        nd->d_first = lo;
        return;
    }
    size_t from = (size_t)(lo - nd->d_first), keep = (size_t)(hi - lo);
    for (size_t k = 0; k < nd->d_n; k++)
        if (k < from || k >= from + keep)
            free((void *)nd->d_log[k].data);
    memmove(nd->d_log, nd->d_log + from, keep * sizeof(*nd->d_log));
    nd->d_n = keep;
    nd->d_first = lo;
}

static inline void rig_disk_write(rig_node *nd, rig_req *r)
{
    if (r->install) {
        nd->d_snap = r->meta;
        memcpy(nd->d_snap_bytes, nd->stage, RIG_SNAP_BYTES);
        rig_disk_keep(nd, r->meta.index + 1, UINT64_MAX);
        if (nd->d_n == 0)
            nd->d_first = r->meta.index + 1;
    }
    if (r->hard)
        nd->d_promised = r->promised;
    rig_disk_keep(nd, nd->d_first, r->first);
    if (nd->d_n == 0 && r->first > nd->d_first)
        nd->d_first = r->first;
    FL_ASSERT(nd->d_first + nd->d_n >= r->first || r->n == 0);
    for (size_t k = 0; k < r->n; k++) {
        fl_index s = r->first + k;
        if (s < nd->d_first)
            continue; /* truncated by a snapshot meanwhile */
        if (nd->d_n == nd->d_cap) {
            nd->d_cap = nd->d_cap ? nd->d_cap * 2 : 64;
            nd->d_log = realloc(nd->d_log, nd->d_cap * sizeof(*nd->d_log));
            FL_ASSERT(nd->d_log != NULL);
        }
        nd->d_log[nd->d_n++] = r->entries[k];
        r->entries[k].data = NULL; /* moved */
    }
    rig_req_free(r);
}

/* Makes node i's oldest k requests (all: k = 0) durable and tells the node. */
static inline void rig_sync(rig *g, int i, size_t k)
{
    rig_node *nd = &g->nodes[i];
    if (!nd->up || nd->nq == 0)
        return;
    if (k == 0 || k > nd->nq)
        k = nd->nq;
    uint64_t seq = nd->q[k - 1].seq;
    for (size_t j = 0; j < k; j++)
        rig_disk_write(nd, &nd->q[j]);
    memmove(nd->q, nd->q + k, (nd->nq - k) * sizeof(*nd->q));
    nd->nq -= k;
    fl_paxos_event ev = {.type = FL_PAXOS_EV_PERSISTED, .u.seq = seq};
    rig_step(g, i, &ev);
}

/* The environment snapshots node i's state machine at what it applied. */
static inline int rig_snapshot(rig *g, int i)
{
    rig_node *nd = &g->nodes[i];
    uint8_t bytes[RIG_SNAP_BYTES] = {0};
    memcpy(bytes, &nd->sm_index, 8);
    memcpy(bytes + 8, &nd->sm_hash, 8);
    fl_paxos_event ev = {.type = FL_PAXOS_EV_SNAPSHOT};
    ev.u.snapshot.index = nd->sm_index;
    ev.u.snapshot.size = RIG_SNAP_BYTES;
    ev.u.snapshot.crc = fl_crc32c(0, bytes, RIG_SNAP_BYTES);
    int rc = rig_step(g, i, &ev);
    if (rc == 0) { /* stored at once; the disk drops what the core dropped */
        nd->d_snap = (fl_paxos_snapshot_meta){nd->sm_index, RIG_SNAP_BYTES, ev.u.snapshot.crc};
        memcpy(nd->d_snap_bytes, bytes, RIG_SNAP_BYTES);
        rig_disk_keep(nd, fl_paxos_first_index(&nd->p), UINT64_MAX);
        if (nd->d_n == 0 && nd->d_first < fl_paxos_first_index(&nd->p))
            nd->d_first = fl_paxos_first_index(&nd->p);
    }
    return rc;
}

/* ---- crashes ------------------------------------------------------------------------------ */

static inline void rig_crash(rig *g, int i)
{
    rig_node *nd = &g->nodes[i];
    if (!nd->up)
        return;
    fl_paxos_close(&nd->p);
    nd->up = false;
    for (size_t k = 0; k < nd->nq; k++)
        rig_req_free(&nd->q[k]); /* never synced: lost */
    nd->nq = 0;
    memset(nd->stage, 0, sizeof(nd->stage));
}

/* Starts (or restarts) node i from its disk alone. */
static inline void rig_start(rig *g, int i)
{
    rig_node *nd = &g->nodes[i];
    FL_ASSERT(!nd->up);
    if (nd->d_first == 0)
        nd->d_first = 1;
    fl_paxos_durable st = {nd->d_promised, nd->d_first, nd->d_n, nd->d_log,
                           nd->d_snap.index ? &nd->d_snap : NULL};
    CHECK_EQ(fl_paxos_init(&nd->p, &g->cfg[i], &st, g->now), 0);
    nd->up = true;
    nd->sm_index = 0;
    nd->sm_hash = 0;
    if (nd->d_snap.index) {
        memcpy(&nd->sm_index, nd->d_snap_bytes, 8);
        memcpy(&nd->sm_hash, nd->d_snap_bytes + 8, 8);
    }
    if (fl_paxos_checker_node_start(&g->ch, (fl_node_id)(i + 1), &nd->p, &g->why))
        g->violated = true;
    rig_tick(g, i); /* learns its deadline */
}

static inline void rig_start_all(rig *g)
{
    for (int i = 0; i < g->n; i++)
        rig_start(g, i);
}

/* ---- the network -------------------------------------------------------------------------- */

static inline bool rig_cut(const rig *g, int a, int b)
{
    return ((g->side >> a) & 1u) != ((g->side >> b) & 1u);
}

static inline void rig_msg_remove(rig *g, size_t k)
{
    fl_buf_free(&g->msgs[k].bytes);
    g->msgs[k] = g->msgs[--g->n_msgs];
}

/* Delivers message k (it leaves the queue). */
static inline void rig_deliver_at(rig *g, size_t k)
{
    rig_msg q = g->msgs[k];
    g->msgs[k] = g->msgs[--g->n_msgs];
    rig_node *nd = &g->nodes[q.to];
    if (nd->up && !rig_cut(g, q.from, q.to) && !fl_rng_chance(&g->rng, g->loss)) {
        static fl_paxos_entry entries[FL_PAXOS_PROMISE_ENTRIES_MAX];
        fl_paxos_msg m;
        CHECK_EQ(fl_wire_paxos_decode(q.bytes.data, q.bytes.len, &m, entries,
                                      FL_PAXOS_PROMISE_ENTRIES_MAX),
                 0);
        fl_paxos_event ev = {.type = FL_PAXOS_EV_RECEIVE, .u.msg = &m};
        if (g->trace)
            fprintf(stderr, "%8.3f %d->%d %s b%llu.%u ok%d\n", (double)g->now / 1e6, q.from + 1,
                    q.to + 1, fl_paxos_msg_type_name(m.type),
                    (unsigned long long)fl_paxos_ballot_round(m.ballot),
                    fl_paxos_ballot_owner(m.ballot),
                    m.type == FL_PAXOS_MSG_ACCEPTED ? m.u.accepted.ok : m.u.promise.ok);
        rig_step(g, q.to, &ev);
    }
    fl_buf_free(&q.bytes);
}

/* Delivers every queued message (and what they cause) in send order, until quiet. */
static inline void rig_deliver_all(rig *g)
{
    for (int guard = 0; g->n_msgs && guard < 100000; guard++)
        rig_deliver_at(g, 0);
}

/* Delivers the queued messages of type to node to (-1: any), in order, once each. */
static inline int rig_deliver(rig *g, uint8_t type, int to)
{
    int n = 0;
    for (size_t k = 0; k < g->n_msgs;) {
        if (g->msgs[k].type == type && (to < 0 || g->msgs[k].to == to)) {
            rig_deliver_at(g, k);
            n++;
        } else {
            k++;
        }
    }
    return n;
}

static inline int rig_drop(rig *g, uint8_t type, int to)
{
    int n = 0;
    for (size_t k = 0; k < g->n_msgs;) {
        if ((type == 0 || g->msgs[k].type == type) && (to < 0 || g->msgs[k].to == to)) {
            rig_msg_remove(g, k);
            n++;
        } else {
            k++;
        }
    }
    return n;
}

static inline int rig_leader(const rig *g)
{
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].up && fl_paxos_role_of(&g->nodes[i].p) == FL_PAXOS_LEADER)
            return i;
    return -1;
}

static inline int rig_propose(rig *g, int i, const char *value)
{
    fl_paxos_event ev = {.type = FL_PAXOS_EV_PROPOSE};
    ev.u.propose.data = (const uint8_t *)value;
    ev.u.propose.len = (uint32_t)strlen(value);
    return rig_step(g, i, &ev);
}

static inline int rig_read(rig *g, int i)
{
    fl_paxos_event ev = {.type = FL_PAXOS_EV_READ, .u.read_ctx = ++g->read_ctx};
    return rig_step(g, i, &ev);
}

/* Runs node i's timer to its deadline (time moves there) and ticks it. */
static inline void rig_timeout(rig *g, int i)
{
    if (g->nodes[i].deadline > g->now)
        g->now = g->nodes[i].deadline;
    rig_tick(g, i);
}

/* Sync and deliver everything, repeatedly, until the cluster is quiet. */
static inline void rig_settle(rig *g)
{
    for (int round = 0; round < 1000; round++) {
        bool any = g->n_msgs > 0;
        for (int i = 0; i < g->n; i++) {
            any |= g->nodes[i].up && g->nodes[i].nq > 0;
            rig_sync(g, i, 0);
        }
        rig_deliver_all(g);
        if (!any)
            return;
    }
}

#endif
