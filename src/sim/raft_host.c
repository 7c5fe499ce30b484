/* raft_host.c: the Raft core as a simulator protocol (raft_sim.h): wire codec on the network,
 * disk records with checksums and syncs for persistence, snapshots (taking, staging, installing,
 * checkpoint records and compaction), recovery at start, and the safety checks after every
 * step. */
#include "faultline/raft_sim.h"

#include "faultline/array.h"
#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft_record.h"
#include "faultline/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_CRC_BYTES  4
#define SNAP_MAGIC        0x4E534C46u /* "FLSN" */
#define SNAP_HEADER_BYTES 24
#define TOKEN_LOCAL_SNAP  (1ull << 63) /* sync tokens of local checkpoints, not persist seqs */

typedef struct rs_node {
    fl_raft r;
    fl_raft_sim *rs;
    fl_sim *sim;
    fl_node_id id;
    fl_buf snap;            /* the node's snapshot (the core's snap), envelope included */
    fl_buf stage;           /* an InstallSnapshot being received */
    uint64_t chain;         /* digest of the applied entries */
    uint64_t local_snaps;   /* local checkpoints written in this life */
    bool compact_pending;   /* a checkpoint waits for its sync ... */
    size_t compact_rec;     /* ... at this disk position ... */
    uint64_t compact_token; /* ... with this sync token */
} rs_node;

int fl_raft_sim_init(fl_raft_sim *rs, const fl_raft_config *raft, uint32_t nodes,
                     const fl_raft_sim_hooks *hooks, char *why, size_t why_size)
{
    memset(rs, 0, sizeof(*rs));
    fl_raft_config c = *raft;
    c.id = 1;
    c.n_voters = nodes;
    if (nodes < 1 || nodes > FL_RAFT_NODES_MAX) {
        snprintf(why, why_size, "nodes: %u, must be 1..%d", nodes, FL_RAFT_NODES_MAX);
        return FL_ECONFIG;
    }
    for (uint32_t i = 0; i < nodes; i++)
        c.voters[i] = i + 1;
    int rc = fl_raft_config_validate(&c, why, why_size);
    if (rc)
        return rc;
    rs->raft = c;
    rs->nodes = nodes;
    rs->voters = nodes;
    rs->check = true;
    if (hooks)
        rs->hooks = *hooks;
    fl_buf_init(&rs->violation);
    fl_buf_init(&rs->scratch);
    fl_buf_init(&rs->snapbuf);
    rs->snapshot_filler = 1024;
    rs->decode_entries = calloc(FL_WIRE_ENTRIES_MAX, sizeof(fl_raft_entry));
    if (!rs->decode_entries || fl_raft_checker_init(&rs->checker, nodes)) {
        fl_raft_sim_free(rs);
        return FL_ENOMEM;
    }
    return 0;
}

void fl_raft_sim_free(fl_raft_sim *rs)
{
    fl_raft_checker_free(&rs->checker);
    fl_buf_free(&rs->violation);
    fl_buf_free(&rs->scratch);
    fl_buf_free(&rs->snapbuf);
    free(rs->decode_entries);
    rs->decode_entries = NULL;
}

/* ---- persistence ------------------------------------------------------------------------- */

static void write_record(rs_node *n, const fl_raft_update *up)
{
    fl_buf *b = &n->rs->scratch;
    fl_buf_reset(b);
    fl_buf_put_u32(b, 0); /* crc, patched below */
    fl_raft_record_encode(up, b);
    FL_ASSERT(b->err == 0);
    fl_buf_patch_u32(b, 0, fl_crc32c(0, b->data + 4, b->len - 4));
    if (fl_sim_disk_write(n->sim, n->id, b->data, b->len) ||
        fl_sim_disk_sync(n->sim, n->id, up->persist.seq))
        fl_sim_exit(n->sim, n->id, "disk full");
}

/* A snapshot checkpoint: hard state, the node's snapshot and its log after it; once its sync
 * completes (token), everything before it on the disk goes (compact). */
static void write_checkpoint(rs_node *n, uint64_t token)
{
    const fl_raft *r = &n->r;
    fl_index s = r->snap.index, last = fl_raft_last_index(r);
    FL_ASSERT(s > 0 && n->snap.len == r->snap.size);
    size_t count = (size_t)(last - s);
    fl_buf *b = &n->rs->scratch;
    fl_buf_reset(b);
    fl_buf_put_u32(b, 0); /* crc, patched below */
    int rc = fl_raft_record_encode_snapshot(r->term, r->vote, &r->snap, n->snap.data, count,
                                            count ? fl_raft_entry_at(r, s + 1) : NULL, b);
    FL_ASSERT(rc == 0);
    fl_buf_patch_u32(b, 0, fl_crc32c(0, b->data + 4, b->len - 4));
    if (fl_sim_disk_write(n->sim, n->id, b->data, b->len) ||
        fl_sim_disk_sync(n->sim, n->id, token)) {
        fl_sim_exit(n->sim, n->id, "disk full");
        return;
    }
    n->compact_pending = true; /* a newer checkpoint supersedes an older one still waiting */
    n->compact_rec = fl_sim_disk_count(n->sim, n->id) - 1;
    n->compact_token = token;
}

static void compact(rs_node *n)
{
    n->compact_pending = false;
    if (fl_sim_disk_durable(n->sim, n->id) <= n->compact_rec)
        return; /* the sync lied: the checkpoint is not durable; the next start compacts */
    if (fl_sim_disk_drop_prefix(n->sim, n->id, n->compact_rec) == 0 && n->compact_rec)
        n->rs->stats.compactions++;
}

typedef struct recovered {
    fl_term term;
    fl_node_id vote;
    fl_index first; /* index of entries[0] */
    fl_raft_entry *entries;
    size_t count, cap;
    fl_raft_snapshot_meta snap; /* the latest checkpoint's (index 0: none) */
    const uint8_t *snap_data;
    size_t snap_rec; /* its disk position */
} recovered;

/* Applies one verified record to what is being recovered (entries point into the record).
 * Returns 0, FL_ECORRUPT or FL_ENOMEM. */
static int replay_record(recovered *st, const uint8_t *bytes, size_t len, size_t at)
{
    fl_raft_record r;
    if (fl_raft_record_decode(bytes, len, &r))
        return FL_ECORRUPT;
    if (r.kind == 2) {
        st->snap = r.snap; /* everything before is superseded */
        st->snap_data = r.snap_data;
        st->snap_rec = at;
        st->first = r.first_index;
    } else if (r.first_index > st->first + st->count || r.first_index < st->first) {
        return FL_ECORRUPT; /* a hole in the log, or a cut into the snapshot */
    }
    if (r.hard_state) {
        st->term = r.term;
        st->vote = r.vote;
    }
    st->count = (size_t)(r.first_index - st->first);
    fl_raft_entry e;
    int rc;
    while ((rc = fl_raft_record_next(&r, &e)) == 1) {
        if (fl_array_grow((void **)&st->entries, &st->cap, st->count + 1, sizeof(e)))
            return FL_ENOMEM;
        st->entries[st->count++] = e;
    }
    return rc;
}

static bool record_ok(const uint8_t *data, size_t len)
{
    return len >= RECORD_CRC_BYTES &&
           fl_get_u32le(data) == fl_crc32c(0, data + RECORD_CRC_BYTES, len - RECORD_CRC_BYTES);
}

static int drop_last_record(rs_node *n, size_t count)
{
    fl_sim_record *recs = calloc(count, sizeof(*recs));
    if (!recs)
        return FL_ENOMEM;
    for (size_t i = 0; i + 1 < count; i++)
        fl_sim_disk_record(n->sim, n->id, i, &recs[i].data, &recs[i].len);
    int rc = fl_sim_disk_replace(n->sim, n->id, recs, count - 1);
    free(recs);
    return rc;
}

/* Verifies every record's checksum. A bad last record is a torn write: it is cut off the
 * disk (as a real WAL truncates its tail) so later writes do not land behind it. A bad record
 * with good ones after it is corruption: the node refuses to start. */
static int verify_disk(rs_node *n, char *why, size_t why_size)
{
    size_t count = fl_sim_disk_count(n->sim, n->id);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data;
        size_t len;
        fl_sim_disk_record(n->sim, n->id, i, &data, &len);
        if (record_ok(data, len))
            continue;
        if (i + 1 == count) {
            n->rs->stats.torn_discarded++;
            return drop_last_record(n, count);
        }
        snprintf(why, why_size, "disk record %zu of %zu fails its checksum", i, count);
        return FL_ECORRUPT;
    }
    return 0;
}

/* Rebuilds hard state and log from the node's (verified) records. The entries point into
 * the disk's records, valid until the next disk call on this node. */
static int recover(rs_node *n, recovered *st, char *why, size_t why_size)
{
    int rc = verify_disk(n, why, why_size);
    if (rc)
        return rc;
    size_t count = fl_sim_disk_count(n->sim, n->id);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data;
        size_t len;
        fl_sim_disk_record(n->sim, n->id, i, &data, &len);
        rc = replay_record(st, data + RECORD_CRC_BYTES, len - RECORD_CRC_BYTES, i);
        if (rc) {
            snprintf(why, why_size, "disk record %zu is malformed", i);
            return rc;
        }
    }
    return 0;
}

/* ---- stepping ---------------------------------------------------------------------------- */

static void violation(rs_node *n, const char *what)
{
    fl_raft_sim *rs = n->rs;
    if (rs->violation.len == 0)
        fl_buf_printf(&rs->violation, "%s", what);
}

/* ---- snapshots --------------------------------------------------------------------------- */

static void filler(uint64_t chain, uint32_t bytes, fl_buf *out)
{
    for (uint32_t i = 0; i < bytes; i += 8)
        fl_buf_put_u64(out, fl_mix64(chain + i));
}

/* The envelope (raft_sim.h) around the state machine's bytes, for the applied index. */
static void build_snapshot(rs_node *n, fl_buf *out)
{
    fl_raft_sim *rs = n->rs;
    fl_buf_reset(out);
    fl_buf_put_u32(out, SNAP_MAGIC);
    fl_buf_put_u64(out, fl_raft_applied_of(&n->r));
    fl_buf_put_u64(out, n->chain);
    fl_buf_put_u32(out, 0); /* app length, patched below */
    if (rs->hooks.snapshot) {
        int rc = rs->hooks.snapshot(rs->hooks.arg, n->id, out);
        FL_ASSERT(rc == 0);
    } else {
        filler(n->chain, rs->snapshot_filler, out);
    }
    FL_ASSERT(out->err == 0);
    fl_buf_patch_u32(out, SNAP_HEADER_BYTES - 4, (uint32_t)(out->len - SNAP_HEADER_BYTES));
}

/* Replaces the state machine by the node's snapshot (of index); its digest must be the
 * committed chain at index. */
static void restore(rs_node *n, fl_index index)
{
    fl_raft_sim *rs = n->rs;
    const uint8_t *b = n->snap.data;
    size_t len = n->snap.len;
    if (len < SNAP_HEADER_BYTES || fl_get_u32le(b) != SNAP_MAGIC || fl_get_u64le(b + 4) != index ||
        fl_get_u32le(b + 20) != len - SNAP_HEADER_BYTES) {
        violation(n, "snapshot: the bytes to restore are not the snapshot of that index");
        return;
    }
    n->chain = fl_get_u64le(b + 12);
    rs->stats.snapshot_restores++;
    if (rs->check && n->chain != fl_raft_checker_committed_chain(&rs->checker, index)) {
        char why[200];
        snprintf(why, sizeof(why),
                 "state machine safety: node %u restored a snapshot of index %llu whose applied "
                 "entries are not the committed ones",
                 n->id, (unsigned long long)index);
        violation(n, why);
    }
    if (rs->hooks.restore) {
        if (rs->hooks.restore(rs->hooks.arg, n->id, index, b + SNAP_HEADER_BYTES,
                              len - SNAP_HEADER_BYTES))
            violation(n, "snapshot: the state machine refused its own snapshot");
        return;
    }
    fl_buf want;
    fl_buf_init(&want);
    filler(n->chain, rs->snapshot_filler, &want);
    if (want.len != len - SNAP_HEADER_BYTES || memcmp(want.data, b + SNAP_HEADER_BYTES, want.len))
        violation(n, "snapshot: the stand-in state arrived damaged");
    fl_buf_free(&want);
}

static void swap_bufs(fl_buf *a, fl_buf *b)
{
    fl_buf t = *a;
    *a = *b;
    *b = t;
}

static void after_step(rs_node *n, const fl_raft_update *up, fl_raft_role before);

/* Every snapshot_every applied entries: snapshot, tell the core, write a checkpoint. */
static void maybe_snapshot(rs_node *n)
{
    fl_raft_sim *rs = n->rs;
    const fl_raft *r = &n->r;
    if (!rs->snapshot_every || r->install_seq || r->applied < r->snap.index + rs->snapshot_every)
        return;
    build_snapshot(n, &rs->snapbuf);
    fl_raft_event ev = {.type = FL_RAFT_EV_SNAPSHOT, .now_ns = fl_sim_now(n->sim, n->id)};
    ev.u.snapshot.index = fl_raft_applied_of(r);
    ev.u.snapshot.size = rs->snapbuf.len;
    ev.u.snapshot.crc = fl_crc32c(0, rs->snapbuf.data, rs->snapbuf.len);
    fl_raft_update up;
    fl_raft_role before = fl_raft_role_of(r);
    int rc = fl_raft_step(&n->r, &ev, &up);
    FL_ASSERT(rc == 0);
    swap_bufs(&n->snap, &rs->snapbuf);
    rs->stats.snapshots_taken++;
    after_step(n, &up, before);
    write_checkpoint(n, TOKEN_LOCAL_SNAP | ++n->local_snaps);
}

/* InstallSnapshot on this node: stage chunks; the install request makes the staged bytes
 * the node's snapshot, written as a checkpoint synced under the request's seq. */
static void snapshot_io(rs_node *n, const fl_raft_update *up)
{
    if (up->snapshot_chunk.index) {
        if (up->snapshot_chunk.offset == 0)
            fl_buf_reset(&n->stage);
        FL_ASSERT(up->snapshot_chunk.offset == n->stage.len); /* the core keeps them in order */
        fl_buf_put_bytes(&n->stage, up->snapshot_chunk.data, up->snapshot_chunk.len);
    }
    if (up->persist.seq && up->persist.install) {
        FL_ASSERT(n->stage.len == up->persist.install_meta.size);
        swap_bufs(&n->snap, &n->stage);
        fl_buf_reset(&n->stage);
        write_checkpoint(n, up->persist.seq);
    } else if (up->persist.seq) {
        write_record(n, up);
    }
    if (up->restore_index)
        restore(n, up->restore_index);
}

/* The applied digest follows every applied entry and must stay the committed chain. */
static void track_applied(rs_node *n, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++)
        n->chain = fl_raft_check_entry_hash(n->chain, &up->apply[i]);
    fl_index last = up->apply_first + up->n_apply - 1;
    if (up->n_apply && n->rs->check &&
        n->chain != fl_raft_checker_committed_chain(&n->rs->checker, last)) {
        char why[160];
        snprintf(why, sizeof(why),
                 "state machine safety: node %u applied entries up to %llu that differ from "
                 "the committed ones",
                 n->id, (unsigned long long)last);
        violation(n, why);
    }
}

static void send_all(rs_node *n, const fl_raft_update *up)
{
    fl_buf *b = &n->rs->scratch;
    for (size_t i = 0; i < up->n_msgs; i++) {
        fl_buf_reset(b);
        fl_raft_msg m = up->msgs[i];
        if (m.type == FL_RAFT_MSG_SNAPSHOT) {
            /* the core names the bytes; they come from this node's snapshot (raft.h) */
            FL_ASSERT(m.u.snapshot.meta.size == n->snap.len &&
                      m.u.snapshot.offset + m.u.snapshot.len <= n->snap.len);
            m.u.snapshot.data = n->snap.data + m.u.snapshot.offset;
        }
        int rc = fl_wire_raft_encode(&m, b);
        FL_ASSERT(rc == 0);
        fl_sim_send(n->sim, n->id, m.to, b->data, b->len);
    }
}

/* Membership milestones, for campaigns that must show changes really happened. */
static void count_membership(rs_node *n, const fl_raft_update *up, fl_raft_role before)
{
    fl_raft_sim *rs = n->rs;
    const fl_raft *r = &n->r;
    for (size_t i = 0; i < up->n_apply; i++) {
        fl_index index = up->apply_first + i;
        fl_raft_conf c;
        if (up->apply[i].type != FL_RAFT_ENTRY_CONFIG || index <= rs->conf_applied ||
            fl_raft_conf_decode(up->apply[i].data, up->apply[i].len, &c))
            continue;
        rs->conf_applied = index;
        if (fl_raft_conf_is_joint(&c))
            rs->stats.joint_committed++;
        else
            rs->stats.config_committed++;
    }
    if (!up->role_changed)
        return;
    if (up->role == FL_RAFT_LEADER && fl_raft_conf_is_joint(fl_raft_conf_of(r)))
        rs->stats.joint_elections++;
    if (before == FL_RAFT_LEADER && up->role == FL_RAFT_FOLLOWER &&
        !fl_raft_conf_is_voter(fl_raft_conf_of(r), n->id) &&
        fl_raft_conf_index_of(r) <= fl_raft_commit_of(r))
        rs->stats.removed_stepdowns++;
}

static void after_step(rs_node *n, const fl_raft_update *up, fl_raft_role before)
{
    fl_raft_sim *rs = n->rs;
    rs->stats.steps++;
    count_membership(n, up, before);
    fl_raft_invariants(&n->r);
    if (rs->check && rs->violation.len == 0) {
        fl_buf why;
        fl_buf_init(&why);
        if (fl_raft_checker_observe(&rs->checker, n->id, &n->r, up, &why)) {
            fl_buf_put_u8(&why, 0);
            violation(n, (const char *)why.data);
        }
        fl_buf_free(&why);
    }
    snapshot_io(n, up);
    track_applied(n, up);
    send_all(n, up);
    fl_sim_set_timer(n->sim, n->id, up->deadline_ns);
    if (rs->hooks.on_step)
        rs->hooks.on_step(rs->hooks.arg, n->id, &n->r, up);
}

static int step(rs_node *n, fl_raft_event *ev, fl_raft_update *up)
{
    ev->now_ns = fl_sim_now(n->sim, n->id);
    uint64_t elections = n->r.elections_started, chunks = n->r.snapshot_chunks_sent;
    uint64_t installed = n->r.snapshots_installed;
    fl_raft_role before = fl_raft_role_of(&n->r);
    int rc = fl_raft_step(&n->r, ev, up);
    n->rs->stats.elections += n->r.elections_started - elections;
    n->rs->stats.snapshot_chunks_sent += n->r.snapshot_chunks_sent - chunks;
    n->rs->stats.snapshots_installed += n->r.snapshots_installed - installed;
    after_step(n, up, before);
    maybe_snapshot(n);
    return rc;
}

static void *node_start(void *ctx, fl_sim *sim, fl_node_id id)
{
    fl_raft_sim *rs = ctx;
    rs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->rs = rs;
    n->sim = sim;
    n->id = id;
    fl_buf_init(&n->snap);
    fl_buf_init(&n->stage);
    recovered st = {.first = 1};
    char why[160];
    int rc = recover(n, &st, why, sizeof(why));
    if (rc == 0) {
        fl_raft_config c = rs->raft;
        c.id = id;
        c.n_voters = rs->voters;
        c.joining = id > rs->voters; /* empty and outside the configuration until added */
        c.seed = fl_rng_next(fl_sim_rng(sim, id));
        fl_raft_durable d = {st.term, st.vote, st.first, st.count, st.entries, &st.snap};
        rc = fl_raft_init(&n->r, &c, &d, fl_sim_now(sim, id));
        if (rc)
            snprintf(why, sizeof(why), "recovered state refused: %s", fl_strerror(rc));
        else
            fl_buf_put_bytes(&n->snap, st.snap_data, (size_t)st.snap.size);
    }
    free(st.entries);
    if (rc) {
        rs->stats.corrupt_refused++;
        fl_sim_set_reason(sim, id, why);
        fl_buf_free(&n->snap);
        fl_buf_free(&n->stage);
        free(n);
        return NULL;
    }
    if (st.snap_rec && fl_sim_disk_drop_prefix(sim, id, st.snap_rec) == 0)
        rs->stats.compactions++; /* all of it survived, so all of it is durable */
    if (rs->check) {
        fl_buf vwhy;
        fl_buf_init(&vwhy);
        if (fl_raft_checker_node_start(&rs->checker, id, &n->r, &vwhy)) {
            fl_buf_put_u8(&vwhy, 0);
            violation(n, vwhy.data ? (const char *)vwhy.data : "checker: out of memory");
        }
        fl_buf_free(&vwhy);
    }
    if (rs->hooks.on_start)
        rs->hooks.on_start(rs->hooks.arg, id, &n->r);
    if (st.snap.index)
        restore(n, st.snap.index); /* after on_start: the state machine exists */
    fl_sim_set_timer(sim, id, n->r.election_deadline);
    return n;
}

static void node_stop(void *node)
{
    rs_node *n = node;
    if (n->rs->hooks.on_stop)
        n->rs->hooks.on_stop(n->rs->hooks.arg, n->id);
    fl_raft_close(&n->r);
    fl_buf_free(&n->snap);
    fl_buf_free(&n->stage);
    free(n);
}

static void node_receive(void *node, fl_node_id from, const uint8_t *bytes, size_t len)
{
    rs_node *n = node;
    fl_raft_msg m;
    if (fl_wire_raft_decode(bytes, len, &m, n->rs->decode_entries, FL_WIRE_ENTRIES_MAX) ||
        m.from != from) {
        n->rs->stats.decode_errors++;
        return;
    }
    fl_raft_event ev = {.type = FL_RAFT_EV_RECEIVE, .u.msg = &m};
    fl_raft_update up;
    if (step(n, &ev, &up) == FL_EINVAL)
        n->rs->stats.rejected_msgs++;
}

static void node_timer(void *node)
{
    rs_node *n = node;
    fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
    fl_raft_update up;
    step(n, &ev, &up);
}

static void node_synced(void *node, uint64_t token, int status)
{
    rs_node *n = node;
    if (status < 0) {
        /* A failed fsync leaves the disk in an unknown state: stop, never carry on. */
        n->rs->stats.fsync_failures++;
        fl_sim_exit(n->sim, n->id, "fsync failed: node stopped");
        return;
    }
    if (n->compact_pending && token == n->compact_token)
        compact(n);
    if (token & TOKEN_LOCAL_SNAP)
        return; /* a local checkpoint: not one of the core's requests */
    fl_raft_event ev = {.type = FL_RAFT_EV_PERSISTED, .u.seq = token};
    fl_raft_update up;
    step(n, &ev, &up);
}

static void node_describe(void *node, fl_buf *out)
{
    rs_node *n = node;
    char line[160];
    fl_raft_describe(&n->r, line, sizeof(line));
    fl_buf_put_str(out, line);
}

static const fl_sim_proto raft_proto = {
    .name = "raft",
    .start = node_start,
    .stop = node_stop,
    .receive = node_receive,
    .timer = node_timer,
    .synced = node_synced,
    .describe = node_describe,
};

const fl_sim_proto *fl_raft_sim_proto(void)
{
    return &raft_proto;
}

int fl_raft_sim_create(fl_raft_sim *rs, const fl_raft_config *raft, const fl_raft_sim_hooks *hooks,
                       fl_sim_config *sc, fl_sim **out, char *why, size_t why_size)
{
    *out = NULL;
    int err = fl_raft_sim_init(rs, raft, sc->nodes, hooks, why, why_size);
    if (err)
        return err;
    sc->proto = &raft_proto;
    sc->proto_ctx = rs;
    fl_buf wb;
    fl_buf_init(&wb);
    err = fl_sim_create(sc, out, &wb);
    if (err) {
        snprintf(why, why_size, "%.*s", (int)wb.len, wb.data ? (const char *)wb.data : "");
        fl_buf_free(&wb);
        fl_raft_sim_free(rs);
        return err;
    }
    fl_buf_free(&wb);
    return fl_raft_sim_attach(rs, *out);
}

static int check_violation(void *arg, fl_sim *sim, fl_buf *why)
{
    fl_raft_sim *rs = arg;
    if (rs->violation.len == 0)
        return 0;
    fl_buf_put_bytes(why, rs->violation.data, rs->violation.len);
    return 1;
}

int fl_raft_sim_attach(fl_raft_sim *rs, fl_sim *sim)
{
    return fl_sim_add_check(sim, check_violation, rs);
}

const fl_raft *fl_raft_sim_node(const fl_sim *sim, fl_node_id id)
{
    rs_node *n = fl_sim_node(sim, id);
    return n ? &n->r : NULL;
}

int fl_raft_sim_propose(fl_sim *sim, fl_node_id id, const void *data, uint32_t len, fl_index *index,
                        fl_term *term)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE, .u.propose = {data, len}};
    fl_raft_update up;
    int rc = step(n, &ev, &up);
    if (index)
        *index = up.proposed_index;
    if (term)
        *term = up.proposed_term;
    return rc;
}

int fl_raft_sim_read(fl_sim *sim, fl_node_id id, uint64_t ctx)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_raft_event ev = {.type = FL_RAFT_EV_READ, .u.read_ctx = ctx};
    fl_raft_update up;
    return step(n, &ev, &up);
}

int fl_raft_sim_transfer(fl_sim *sim, fl_node_id id, fl_node_id to)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_raft_event ev = {.type = FL_RAFT_EV_TRANSFER, .u.transfer_to = to};
    fl_raft_update up;
    return step(n, &ev, &up);
}

fl_node_id fl_raft_sim_leader(const fl_sim *sim)
{
    fl_node_id best = 0;
    fl_term best_term = 0;
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
        const fl_raft *r = fl_raft_sim_node(sim, id);
        if (r && fl_raft_role_of(r) == FL_RAFT_LEADER && fl_raft_term_of(r) >= best_term) {
            best = id;
            best_term = fl_raft_term_of(r);
        }
    }
    return best;
}

/* ---- membership -------------------------------------------------------------------------- */

int fl_raft_sim_change(fl_sim *sim, fl_node_id id, const fl_raft_conf *want)
{
    rs_node *n = fl_sim_node(sim, id);
    if (!n || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    fl_raft_event ev = {.type = FL_RAFT_EV_CHANGE, .u.change = want};
    fl_raft_update up;
    return step(n, &ev, &up);
}

/* The leader's configuration as the base of an edit. */
static int base_conf(fl_sim *sim, fl_node_id id, fl_raft_conf *c)
{
    const fl_raft *r = fl_raft_sim_node(sim, id);
    if (!r || fl_sim_node_state_of(sim, id) != FL_SIM_NODE_UP)
        return FL_ESTOPPED;
    *c = *fl_raft_conf_of(r);
    return 0;
}

/* One membership edit of the configuration node id is in, asked of it (the leader). */
static int edit(fl_sim *sim, fl_node_id id, fl_node_id node,
                int (*fn)(const fl_raft_conf *, fl_node_id, fl_raft_conf *))
{
    fl_raft_conf cur, want;
    int rc = base_conf(sim, id, &cur);
    if (!rc)
        rc = fn(&cur, node, &want);
    return rc ? rc : fl_raft_sim_change(sim, id, &want);
}

int fl_raft_sim_add(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_add_learner);
}

int fl_raft_sim_promote(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_promote);
}

int fl_raft_sim_remove(fl_sim *sim, fl_node_id id, fl_node_id node)
{
    return edit(sim, id, node, fl_raft_conf_remove);
}

int fl_raft_sim_replace(fl_sim *sim, fl_node_id id, fl_node_id out, fl_node_id in)
{
    fl_raft_conf cur, want;
    int rc = base_conf(sim, id, &cur);
    if (!rc)
        rc = fl_raft_conf_replace(&cur, out, in, &want);
    return rc ? rc : fl_raft_sim_change(sim, id, &want);
}
