/* core_paxos.c: the Multi-Paxos core (paxos.h) behind the consensus-core interface (cons.h).
 * Its update is the neutral one (cons_types.h: the promised ballot as hard state and term,
 * roles with Raft's numbers); the adapter restates events, the durable state at start and the
 * snapshot's metadata (no term, no configuration), and encodes messages. TRANSFER and CHANGE
 * are not Paxos events. */
#include "faultline/cons.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/paxos_wire.h"

static void meta_of(const fl_paxos_snapshot_meta *p, fl_cons_snapshot_meta *m)
{
    m->index = p->index;
    m->term = 0;
    m->size = p->size;
    m->crc = p->crc;
    /* m->conf stays empty: the member set is fixed */
}

static int paxos_init(fl_cons_core *c, const fl_cons_config *cfg, const fl_cons_durable *d,
                      fl_time_ns now)
{
    fl_paxos_snapshot_meta snap = {0};
    fl_paxos_durable pd = {0};
    if (d) {
        if (d->vote)
            return FL_ECORRUPT; /* a Paxos node has no vote */
        if (d->snapshot && d->snapshot->index)
            snap =
                (fl_paxos_snapshot_meta){d->snapshot->index, d->snapshot->size, d->snapshot->crc};
        pd = (fl_paxos_durable){d->term, d->first_index, d->n_entries, d->entries,
                                snap.index ? &snap : NULL};
    }
    return fl_paxos_init(&c->u.paxos, &cfg->paxos, d ? &pd : NULL, now);
}

static void paxos_close(fl_cons_core *c)
{
    fl_paxos_close(&c->u.paxos);
}

static int paxos_step(fl_cons_core *c, const fl_cons_event *ev, fl_cons_update *up)
{
    fl_paxos_event e = {.type = ev->type, .now_ns = ev->now_ns};
    switch (ev->type) {
    case FL_CONS_EV_PERSISTED:
        e.u.seq = ev->u.seq;
        break;
    case FL_CONS_EV_PROPOSE:
        e.u.propose.data = ev->u.propose.data;
        e.u.propose.len = ev->u.propose.len;
        break;
    case FL_CONS_EV_READ:
        e.u.read_ctx = ev->u.read_ctx;
        break;
    case FL_CONS_EV_SNAPSHOT:
        e.u.snapshot.index = ev->u.snapshot.index;
        e.u.snapshot.size = ev->u.snapshot.size;
        e.u.snapshot.crc = ev->u.snapshot.crc;
        break;
    default:
        FL_ASSERT(ev->type == FL_CONS_EV_TICK); /* the host filters the rest (events) */
        break;
    }
    return fl_paxos_step(&c->u.paxos, &e, up);
}

static int paxos_receive(fl_cons_core *c, fl_node_id from, const uint8_t *bytes, size_t len,
                         fl_cons_event *ev, fl_cons_update *up)
{
    fl_paxos_msg *m = &c->msg.paxos;
    if (fl_wire_paxos_decode(bytes, len, m, c->decode_entries, FL_PAXOS_BATCH_MAX) ||
        m->from != from || m->to != c->id)
        return FL_ECORRUPT;
    fl_paxos_event e = {.type = FL_PAXOS_EV_RECEIVE, .now_ns = ev->now_ns, .u.msg = m};
    ev->type = FL_CONS_EV_RECEIVE;
    ev->u.msg = m;
    return fl_paxos_step(&c->u.paxos, &e, up);
}

static int paxos_encode(const fl_cons_update *up, size_t i, const uint8_t *snap, size_t snap_len,
                        fl_buf *out, fl_node_id *to)
{
    FL_ASSERT(i < up->n_msgs);
    const fl_paxos_msg *mp = &fl_paxos_msgs_of(up)[i];
    fl_paxos_msg msg;
    if (mp->type == FL_PAXOS_MSG_SNAPSHOT) {
        /* the core names the bytes; they come from this node's snapshot (paxos.h) */
        if (!snap)
            return FL_ENOTFOUND; /* the host checks its bytes first (cons.h) */
        msg = *mp;
        FL_ASSERT(msg.u.snapshot.meta.size == snap_len &&
                  msg.u.snapshot.offset + msg.u.snapshot.len <= snap_len);
        msg.u.snapshot.data = snap + msg.u.snapshot.offset;
        mp = &msg;
    }
    *to = mp->to;
    return fl_wire_paxos_encode(mp, out);
}

static void paxos_status(const fl_cons_core *c, fl_cons_status *st)
{
    const fl_paxos *p = &c->u.paxos;
    st->role = (fl_cons_role)fl_paxos_role_of(p);
    st->term = fl_paxos_promised_of(p);
    st->leader = fl_paxos_leader_of(p);
    st->commit = fl_paxos_commit_of(p);
    st->applied = fl_paxos_applied_of(p);
    st->first_index = fl_paxos_first_index(p);
    st->last_index = fl_paxos_last_index(p);
    st->snapshot_index = fl_paxos_snapshot_of(p)->index;
    st->install_pending = fl_paxos_install_pending(p);
    st->hard_term = fl_paxos_promised_of(p);
    st->hard_vote = FL_NODE_NONE;
    st->deadline_ns = fl_paxos_deadline_of(p);
}

static void paxos_counters(const fl_cons_core *c, fl_cons_counters *k)
{
    fl_paxos_counters pk;
    fl_paxos_counters_of(&c->u.paxos, &pk);
    *k = (fl_cons_counters){.elections = pk.ballots_started,
                            .snapshots_taken = pk.snapshots_taken,
                            .snapshot_chunks_sent = pk.snapshot_chunks_sent,
                            .snapshots_installed = pk.snapshots_installed,
                            .lease_reads_served = pk.lease_reads_served,
                            .proposals_refused_busy = pk.proposals_refused_busy};
}

static const fl_cons_entry *paxos_entry_at(const fl_cons_core *c, fl_index index)
{
    return fl_paxos_entry_at(&c->u.paxos, index);
}

static void paxos_snapshot_meta(const fl_cons_core *c, fl_cons_snapshot_meta *m)
{
    *m = (fl_cons_snapshot_meta){0};
    meta_of(fl_paxos_snapshot_of(&c->u.paxos), m);
}

static void paxos_invariants(const fl_cons_core *c)
{
    fl_paxos_invariants(&c->u.paxos);
}

static void paxos_describe(const fl_cons_core *c, char *out, size_t out_size)
{
    fl_paxos_describe(&c->u.paxos, out, out_size);
}

const fl_cons_ops fl__cons_paxos_ops = {
    .name = "paxos",
    .events = 1u << FL_CONS_EV_TICK | 1u << FL_CONS_EV_RECEIVE | 1u << FL_CONS_EV_PERSISTED |
              1u << FL_CONS_EV_PROPOSE | 1u << FL_CONS_EV_READ | 1u << FL_CONS_EV_SNAPSHOT,
    .init = paxos_init,
    .close = paxos_close,
    .step = paxos_step,
    .receive = paxos_receive,
    .encode = paxos_encode,
    .status = paxos_status,
    .counters = paxos_counters,
    .entry_at = paxos_entry_at,
    .snapshot_meta = paxos_snapshot_meta,
    .invariants = paxos_invariants,
    .describe = paxos_describe,
};
