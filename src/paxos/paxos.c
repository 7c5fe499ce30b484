/* paxos.c: the node's entry points: configuration, init from durable state, close, step
 * (event dispatch), quorums, invariants and description. The protocol lives in elect.c
 * (phase 1), accept.c (phase 2, learning, catch-up), read.c and snapshot.c; durability and
 * the update in persist.c. */
#include "paxos_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fl_paxos_role_name(fl_paxos_role role)
{
    switch (role) {
    case FL_PAXOS_FOLLOWER:
        return "follower";
    case FL_PAXOS_CANDIDATE:
        return "candidate";
    case FL_PAXOS_LEADER:
        return "leader";
    }
    return "?";
}

const char *fl_paxos_msg_type_name(uint8_t type)
{
    static const char *names[] = {"?",        "prepare",  "promise",      "accept",
                                  "accepted", "snapshot", "snapshot-resp"};
    return type <= FL_PAXOS_MSG_TYPE_MAX ? names[type] : "?";
}

static const uint32_t mutant_bits[] = {
    FL_PAXOS_MUTANT_ACCEPT_BELOW_PROMISE,   FL_PAXOS_MUTANT_IGNORE_PROMISED_VALUE,
    FL_PAXOS_MUTANT_PROMISE_BEFORE_DURABLE, FL_PAXOS_MUTANT_READ_NO_QUORUM,
    FL_PAXOS_MUTANT_SKIP_GAP_FILL,
};
static const char *mutant_names[] = {
    "accept-below-promise", "ignore-promised-value", "promise-before-durable",
    "read-no-quorum",       "skip-gap-fill",
};
_Static_assert(sizeof(mutant_bits) / sizeof(mutant_bits[0]) ==
                   sizeof(mutant_names) / sizeof(mutant_names[0]),
               "one name per mutant");
#define N_MUTANTS (sizeof(mutant_bits) / sizeof(mutant_bits[0]))

uint32_t fl_paxos_mutant_parse(const char *name)
{
    for (size_t i = 0; i < N_MUTANTS; i++)
        if (!strcmp(name, mutant_names[i]))
            return mutant_bits[i];
    return 0;
}

const char *fl_paxos_mutant_name(uint32_t bit)
{
    for (size_t i = 0; i < N_MUTANTS; i++)
        if (bit == mutant_bits[i])
            return mutant_names[i];
    return "?";
}

size_t fl_paxos_mutant_list(const uint32_t **bits)
{
    *bits = mutant_bits;
    return N_MUTANTS;
}

void fl_paxos_config_default(fl_paxos_config *c, fl_node_id id)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->election_timeout_ns = 150 * FL_NS_PER_MS;
    c->heartbeat_ns = 30 * FL_NS_PER_MS;
    c->inflight_max = 8;
    c->batch_entries_max = 64;
    c->batch_bytes_max = 1u << 20;
    c->entry_bytes_max = 1u << 20;
    c->uncommitted_max = 256;
    c->snapshot_chunk_bytes = 64u << 10;
    c->seed = id;
}

uint32_t fl_paxos_q1(const fl_paxos_config *c)
{
    return c->q1 ? c->q1 : c->n_nodes / 2 + 1;
}

uint32_t fl_paxos_q2(const fl_paxos_config *c)
{
    return c->q2 ? c->q2 : c->n_nodes / 2 + 1;
}

#define REFUSE(...)                                                                                \
    do {                                                                                           \
        if (why)                                                                                   \
            snprintf(why, why_size, __VA_ARGS__);                                                  \
        return FL_ECONFIG;                                                                         \
    } while (0)

static int validate_members(const fl_paxos_config *c, char *why, size_t why_size)
{
    if (c->id == FL_NODE_NONE || c->id > FL_PAXOS_NODE_ID_MAX)
        REFUSE("node id must be 1..%u", FL_PAXOS_NODE_ID_MAX);
    if (c->n_nodes < 1 || c->n_nodes > FL_PAXOS_NODES_MAX)
        REFUSE("nodes: %u, must be 1..%d", c->n_nodes, FL_PAXOS_NODES_MAX);
    bool self = false;
    for (uint32_t i = 0; i < c->n_nodes; i++) {
        if (c->nodes[i] == FL_NODE_NONE || c->nodes[i] > FL_PAXOS_NODE_ID_MAX)
            REFUSE("node id %u: must be 1..%u", c->nodes[i], FL_PAXOS_NODE_ID_MAX);
        for (uint32_t j = 0; j < i; j++)
            if (c->nodes[j] == c->nodes[i])
                REFUSE("node %u listed twice", c->nodes[i]);
        self |= c->nodes[i] == c->id;
    }
    if (!self)
        REFUSE("node %u is not among the nodes", c->id);
    uint32_t q1 = fl_paxos_q1(c), q2 = fl_paxos_q2(c);
    if (q1 > c->n_nodes || q2 > c->n_nodes)
        REFUSE("quorums q1 %u, q2 %u: at most the %u nodes", q1, q2, c->n_nodes);
    if (q1 + q2 <= c->n_nodes && !c->unsafe_quorums)
        REFUSE("q1 + q2 = %u must exceed n = %u (phase 1 and phase 2 quorums must intersect; "
               "unsafe_quorums allows it)",
               q1 + q2, c->n_nodes);
    return 0;
}

int fl_paxos_config_validate(const fl_paxos_config *c, char *why, size_t why_size)
{
    int rc = validate_members(c, why, why_size);
    if (rc)
        return rc;
    if (c->election_timeout_ns < FL_NS_PER_MS || c->election_timeout_ns > 3600 * FL_NS_PER_S)
        REFUSE("election timeout must be 1 ms .. 1 h");
    if (c->heartbeat_ns == 0 || c->heartbeat_ns >= c->election_timeout_ns)
        REFUSE("heartbeat must be > 0 and below the election timeout");
    if (c->inflight_max < 1 || c->inflight_max > FL_PAXOS_INFLIGHT_MAX)
        REFUSE("inflight_max must be 1..%d", FL_PAXOS_INFLIGHT_MAX);
    if (c->batch_entries_max < 1 || c->batch_entries_max > FL_PAXOS_BATCH_MAX ||
        c->batch_bytes_max < 1)
        REFUSE("batch_entries_max must be 1..%d and batch_bytes_max > 0", FL_PAXOS_BATCH_MAX);
    if (c->entry_bytes_max < 1 || c->entry_bytes_max > (16u << 20))
        REFUSE("entry_bytes_max must be 1 .. 16 MiB");
    if (c->uncommitted_max < 1 || c->uncommitted_max > FL_PAXOS_PROMISE_ENTRIES_MAX / 2)
        REFUSE("uncommitted_max must be 1..%d", FL_PAXOS_PROMISE_ENTRIES_MAX / 2);
    if (c->snapshot_chunk_bytes < 1 || c->snapshot_chunk_bytes > (16u << 20))
        REFUSE("snapshot_chunk_bytes must be 1 .. 16 MiB");
    if (c->max_drift_ppm >= 1000000)
        REFUSE("max_drift_ppm must be below 1000000");
    return 0;
}

/* The log from disk: a snapshot, then slots from first_index; every slot well formed and
 * accepted at no ballot above the promise. */
static int load(fl_paxos *p, const fl_paxos_durable *st)
{
    p->first_index = 1;
    if (!st)
        return 0;
    p->promised = st->promised;
    fl_index snap = st->snapshot ? st->snapshot->index : 0;
    if (st->first_index < 1 || st->first_index > snap + 1)
        return FL_ECORRUPT;
    if (snap) {
        p->snap = *st->snapshot;
        p->commit = p->applied = snap;
    }
    p->first_index = st->first_index;
    for (size_t i = 0; i < st->n_entries; i++) {
        const fl_paxos_entry *e = &st->entries[i];
        fl_index s = st->first_index + i;
        bool empty = e->type == FL_PAXOS_ENTRY_EMPTY;
        if (e->type > FL_PAXOS_ENTRY_TYPE_MAX || empty != (e->ballot == 0) || (empty && e->len) ||
            e->ballot > st->promised || (empty && s <= snap))
            return FL_ECORRUPT;
        int rc = empty ? fl__px_log_reserve(p, s)
                       : fl__px_log_set(p, s, e->ballot, e->type, e->data, e->len);
        if (rc)
            return rc;
    }
    if (fl_paxos_last_index(p) < snap && p->first_index <= snap)
        return FL_ECORRUPT; /* trailing slots that stop short of the snapshot */
    if (fl_paxos_last_index(p) < snap)
        fl__px_log_compact(p, snap);
    return 0;
}

int fl_paxos_init(fl_paxos *p, const fl_paxos_config *config, const fl_paxos_durable *state,
                  fl_time_ns now_ns)
{
    memset(p, 0, sizeof(*p));
    int rc = fl_paxos_config_validate(config, NULL, 0);
    if (rc)
        return rc;
    p->cfg = *config;
    p->q1 = fl_paxos_q1(config);
    p->q2 = fl_paxos_q2(config);
    fl_rng_seed(&p->rng, config->seed);
    p->now = now_ns;
    p->n_peers = config->n_nodes;
    for (uint32_t i = 0; i < config->n_nodes; i++) {
        p->peers[i].id = config->nodes[i];
        if (config->nodes[i] == config->id)
            p->self_index = i;
    }
    rc = load(p, state);
    if (rc) {
        fl_paxos_close(p);
        return rc;
    }
    p->dirty_from = 0; /* what we loaded is durable already */
    p->durable_promised = p->max_seen = p->promised;
    p->match = p->commit;
    p->seq_next = 1;
    p->role = FL_PAXOS_FOLLOWER;
    p->prepares_ignored_until = now_ns + config->election_timeout_ns;
    fl__px_reset_election_timer(p);
    return 0;
}

void fl_paxos_close(fl_paxos *p)
{
    fl__px_log_free(p);
    fl__px_rec_free(p);
    free(p->rec);
    p->rec = NULL;
    p->rec_cap = 0;
    free(p->out);
    p->out = NULL;
    p->out_count = p->out_cap = 0;
    free(p->reads_out);
    p->reads_out = NULL;
    p->reads_out_count = p->reads_out_cap = 0;
}

uint64_t fl__px_quorum_value(const fl_paxos *p, fl__px_peer_value fn, uint32_t q)
{
    uint64_t v[FL_PAXOS_NODES_MAX];
    if (q == 0 || q > p->n_peers)
        return 0;
    for (uint32_t i = 0; i < p->n_peers; i++) {
        uint64_t x = fn(p, &p->peers[i]);
        uint32_t j = i;
        for (; j > 0 && v[j - 1] < x; j--)
            v[j] = v[j - 1]; /* descending insertion sort: n <= 16 */
        v[j] = x;
    }
    return v[q - 1];
}

/* Messages that make no sense are refused before any handler sees them. */
static bool well_formed(const fl_paxos *p, const fl_paxos_msg *m)
{
    if (m->to != p->cfg.id || m->from == p->cfg.id || !fl__px_peer((fl_paxos *)p, m->from))
        return false; /* the member set is fixed: strangers are not heard */
    if (m->ballot == 0)
        return false;
    if (m->type == FL_PAXOS_MSG_PREPARE && m->u.prepare.from == 0)
        return false;
    if (m->type == FL_PAXOS_MSG_PROMISE && m->u.promise.from == 0)
        return false;
    if (m->type == FL_PAXOS_MSG_ACCEPT && m->u.accept.first == 0)
        return false;
    return true;
}

static int receive(fl_paxos *p, const fl_paxos_msg *m)
{
    if (!well_formed(p, m))
        return FL_EINVAL;
    switch (m->type) {
    case FL_PAXOS_MSG_PREPARE:
        fl__px_recv_prepare(p, m);
        return 0;
    case FL_PAXOS_MSG_PROMISE:
        fl__px_recv_promise(p, m);
        return 0;
    case FL_PAXOS_MSG_ACCEPT:
        fl__px_recv_accept(p, m);
        return 0;
    case FL_PAXOS_MSG_ACCEPTED:
        fl__px_recv_accepted(p, m);
        return 0;
    case FL_PAXOS_MSG_SNAPSHOT:
        fl__px_recv_snapshot(p, m);
        return 0;
    case FL_PAXOS_MSG_SNAPSHOT_RESP:
        fl__px_recv_snapshot_resp(p, m);
        return 0;
    default:
        return FL_ETYPE;
    }
}

static int propose(fl_paxos *p, const uint8_t *data, uint32_t len, fl_paxos_update *up)
{
    if (p->role != FL_PAXOS_LEADER)
        return FL_ENOTLEADER;
    if (len > p->cfg.entry_bytes_max)
        return FL_ETOOBIG;
    fl_index last = fl_paxos_last_index(p);
    if (last - p->commit >= p->cfg.uncommitted_max) {
        p->proposals_refused_busy++;
        return FL_EBUSY; /* backpressure: let the acceptors catch up first */
    }
    int rc = fl__px_log_set(p, last + 1, p->ballot, FL_PAXOS_ENTRY_NORMAL, data, len);
    if (rc)
        return rc;
    up->proposed_index = last + 1;
    up->proposed_term = p->ballot;
    fl__px_replicate_all(p);
    return 0;
}

int fl_paxos_step(fl_paxos *p, const fl_paxos_event *ev, fl_paxos_update *up)
{
    int rc = 0;
    fl__px_begin_step(p, ev->now_ns);
    up->proposed_index = 0;
    up->proposed_term = 0;
    switch (ev->type) {
    case FL_PAXOS_EV_TICK:
        if (p->role == FL_PAXOS_LEADER)
            fl__px_tick_leader(p);
        else
            fl__px_tick_election(p);
        break;
    case FL_PAXOS_EV_RECEIVE:
        rc = ev->u.msg ? receive(p, ev->u.msg) : FL_EINVAL;
        break;
    case FL_PAXOS_EV_PERSISTED:
        fl__px_persisted(p, ev->u.seq);
        break;
    case FL_PAXOS_EV_PROPOSE:
        rc = propose(p, ev->u.propose.data, ev->u.propose.len, up);
        break;
    case FL_PAXOS_EV_READ:
        rc = fl__px_read(p, ev->u.read_ctx);
        break;
    case FL_PAXOS_EV_SNAPSHOT:
        rc = fl__px_take_snapshot(p, ev->u.snapshot.index, ev->u.snapshot.size, ev->u.snapshot.crc);
        break;
    default:
        rc = FL_EINVAL;
    }
    fl__px_finish_step(p, up);
    return rc;
}

static void leader_invariants(const fl_paxos *p)
{
    FL_ASSERT(p->leader == p->cfg.id);
    FL_ASSERT(p->commit + 1 >= p->p1_from);
    for (fl_index s = p->commit + 1; s <= fl_paxos_last_index(p); s++) {
        const fl_paxos_entry *e = fl_paxos_entry_at(p, s);
        FL_ASSERT(e->ballot == p->ballot ||
                  (e->type == FL_PAXOS_ENTRY_EMPTY && MUTANT(p, SKIP_GAP_FILL)) ||
                  MUTANT(p, ACCEPT_BELOW_PROMISE));
    }
    for (uint32_t i = 0; i < p->n_peers; i++)
        FL_ASSERT(i == p->self_index || p->peers[i].inflight <= p->cfg.inflight_max);
}

void fl_paxos_invariants(const fl_paxos *p)
{
    fl_index last = fl_paxos_last_index(p);
    bool installing = p->install_seq != 0 || p->restore_pending;
    FL_ASSERT(p->applied <= p->commit);
    FL_ASSERT(p->commit <= last || (installing && p->commit <= p->snap.index));
    FL_ASSERT(p->first_index <= p->snap.index + 1);
    FL_ASSERT(p->snap.index <= p->applied || installing);
    FL_ASSERT(p->seq_durable < p->seq_next);
    FL_ASSERT(p->held_count <= FL_PAXOS_HELD_MAX);
    FL_ASSERT(p->pending_count <= FL_PAXOS_PENDING_MAX);
    FL_ASSERT(p->durable_promised <= p->promised);
    FL_ASSERT(p->max_seen >= p->promised);
    for (fl_index s = p->applied + 1 > p->first_index ? p->applied + 1 : p->first_index;
         s <= p->commit; s++)
        FL_ASSERT(fl_paxos_entry_at(p, s)->type != FL_PAXOS_ENTRY_EMPTY);
    if (p->role != FL_PAXOS_FOLLOWER) {
        FL_ASSERT(p->ballot == p->promised);
        FL_ASSERT(fl_paxos_ballot_owner(p->ballot) == p->cfg.id);
    }
    FL_ASSERT(p->reads_count == 0 || p->role == FL_PAXOS_LEADER);
    if (p->role == FL_PAXOS_LEADER)
        leader_invariants(p);
    if (MUTANT(p, ACCEPT_BELOW_PROMISE))
        return;
    /* No slot accepted above the promise. Every slot's ballot is set by fl__px_log_set, which
     * keeps the maximum, and the promise only rises (a new ballot tops max_seen; a restart
     * reloads a log the load checked against the durable promise): comparing the maximum is
     * the same check as walking the log, which cost a quarter of a Paxos simulation's CPU. */
    FL_ASSERT(p->log_ballot_max <= p->promised);
    if (p->log_count) /* and the newest slot itself, in case a write went around the setter */
        FL_ASSERT(p->log[p->log_count - 1].ballot <= p->log_ballot_max);
}

void fl_paxos_describe(const fl_paxos *p, char *out, size_t out_size)
{
    static const char roles[] = "FCL";
    int n = snprintf(out, out_size, "%c b%llu.%u p%llu.%u L%u c%llu a%llu last%llu", roles[p->role],
                     (unsigned long long)fl_paxos_ballot_round(p->ballot),
                     fl_paxos_ballot_owner(p->ballot),
                     (unsigned long long)fl_paxos_ballot_round(p->promised),
                     fl_paxos_ballot_owner(p->promised), p->leader, (unsigned long long)p->commit,
                     (unsigned long long)p->applied, (unsigned long long)fl_paxos_last_index(p));
    if (p->snap.index && n > 0 && (size_t)n < out_size)
        snprintf(out + n, out_size - (size_t)n, " snap%llu first%llu",
                 (unsigned long long)p->snap.index, (unsigned long long)p->first_index);
}
