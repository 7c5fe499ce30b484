/* core_raft.c: the Raft core (raft.h) behind the consensus-core interface (cons.h). Raft's
 * update is the neutral one (cons_types.h): the adapter restates events and encodes messages,
 * nothing else. */
#include "faultline/cons.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/wire.h"

static int raft_init(fl_cons_core *c, const fl_cons_config *cfg, const fl_cons_durable *d,
                     fl_time_ns now)
{
    return fl_raft_init(&c->u.raft, &cfg->raft, d, now);
}

static void raft_close(fl_cons_core *c)
{
    fl_raft_close(&c->u.raft);
}

static int raft_step(fl_cons_core *c, const fl_cons_event *ev, fl_cons_update *up)
{
    fl_raft_event e = {.type = ev->type, .now_ns = ev->now_ns};
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
    case FL_CONS_EV_TRANSFER:
        e.u.transfer_to = ev->u.transfer_to;
        break;
    case FL_CONS_EV_CHANGE:
        e.u.change = ev->u.change;
        break;
    case FL_CONS_EV_SNAPSHOT:
        e.u.snapshot.index = ev->u.snapshot.index;
        e.u.snapshot.size = ev->u.snapshot.size;
        e.u.snapshot.crc = ev->u.snapshot.crc;
        break;
    default:
        break;
    }
    return fl_raft_step(&c->u.raft, &e, up);
}

static int raft_receive(fl_cons_core *c, fl_node_id from, const uint8_t *bytes, size_t len,
                        fl_cons_event *ev, fl_cons_update *up)
{
    fl_raft_msg *m = &c->msg.raft;
    if (fl_wire_raft_decode(bytes, len, m, c->decode_entries, FL_WIRE_ENTRIES_MAX) ||
        m->from != from || m->to != c->id)
        return FL_ECORRUPT;
    fl_raft_event e = {.type = FL_RAFT_EV_RECEIVE, .now_ns = ev->now_ns, .u.msg = m};
    ev->type = FL_CONS_EV_RECEIVE;
    ev->u.msg = m;
    return fl_raft_step(&c->u.raft, &e, up);
}

static int raft_encode(const fl_cons_update *up, size_t i, const uint8_t *snap, size_t snap_len,
                       fl_buf *out, fl_node_id *to)
{
    FL_ASSERT(i < up->n_msgs);
    const fl_raft_msg *mp = &fl_raft_msgs_of(up)[i];
    fl_raft_msg msg;
    if (mp->type == FL_RAFT_MSG_SNAPSHOT) {
        /* the core names the bytes; they come from this node's snapshot (raft.h) */
        if (!snap)
            return FL_ENOTFOUND; /* the host checks its bytes first (cons.h) */
        msg = *mp;
        FL_ASSERT(msg.u.snapshot.meta.size == snap_len &&
                  msg.u.snapshot.offset + msg.u.snapshot.len <= snap_len);
        msg.u.snapshot.data = snap + msg.u.snapshot.offset;
        mp = &msg;
    }
    *to = mp->to;
    return fl_wire_raft_encode(mp, out);
}

static void raft_status(const fl_cons_core *c, fl_cons_status *st)
{
    const fl_raft *r = &c->u.raft;
    st->role = (fl_cons_role)fl_raft_role_of(r);
    st->term = fl_raft_term_of(r);
    st->leader = fl_raft_leader_of(r);
    st->commit = fl_raft_commit_of(r);
    st->applied = fl_raft_applied_of(r);
    st->first_index = fl_raft_first_index(r);
    st->last_index = fl_raft_last_index(r);
    st->snapshot_index = fl_raft_snapshot_of(r)->index;
    st->install_pending = fl_raft_install_pending(r);
    st->hard_term = fl_raft_term_of(r);
    st->hard_vote = fl_raft_vote_of(r);
    st->deadline_ns = fl_raft_deadline_of(r);
}

static void raft_counters(const fl_cons_core *c, fl_cons_counters *k)
{
    fl_raft_counters rk;
    fl_raft_counters_of(&c->u.raft, &rk);
    *k = (fl_cons_counters){.elections = rk.elections_started,
                            .snapshots_taken = rk.snapshots_taken,
                            .snapshot_chunks_sent = rk.snapshot_chunks_sent,
                            .snapshots_installed = rk.snapshots_installed,
                            .lease_reads_served = rk.lease_reads_served,
                            .proposals_refused_busy = rk.proposals_refused_busy};
}

static const fl_cons_entry *raft_entry_at(const fl_cons_core *c, fl_index index)
{
    return fl_raft_entry_at(&c->u.raft, index);
}

static void raft_snapshot_meta(const fl_cons_core *c, fl_cons_snapshot_meta *m)
{
    *m = *fl_raft_snapshot_of(&c->u.raft);
}

static void raft_invariants(const fl_cons_core *c)
{
    fl_raft_invariants(&c->u.raft);
}

static size_t raft_take_dropped(fl_cons_core *c, void ***out)
{
    return fl_raft_take_dropped(&c->u.raft, out);
}

static void raft_describe(const fl_cons_core *c, char *out, size_t out_size)
{
    fl_raft_describe(&c->u.raft, out, out_size);
}

const fl_cons_ops fl__cons_raft_ops = {
    .name = "raft",
    .events = 1u << FL_CONS_EV_TICK | 1u << FL_CONS_EV_RECEIVE | 1u << FL_CONS_EV_PERSISTED |
              1u << FL_CONS_EV_PROPOSE | 1u << FL_CONS_EV_READ | 1u << FL_CONS_EV_TRANSFER |
              1u << FL_CONS_EV_SNAPSHOT | 1u << FL_CONS_EV_CHANGE,
    .init = raft_init,
    .close = raft_close,
    .step = raft_step,
    .receive = raft_receive,
    .encode = raft_encode,
    .status = raft_status,
    .counters = raft_counters,
    .entry_at = raft_entry_at,
    .snapshot_meta = raft_snapshot_meta,
    .invariants = raft_invariants,
    .take_dropped = raft_take_dropped,
    .describe = raft_describe,
};
