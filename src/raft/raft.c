/* raft.c: the node's entry points: init, close, step (event dispatch), configuration,
 * membership lookup, invariants and description. The protocol itself lives in
 * election.c and replication.c; durability and the update in persist.c. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fl_raft_role_name(fl_raft_role role)
{
    switch (role) {
    case FL_RAFT_FOLLOWER:
        return "follower";
    case FL_RAFT_PRE_CANDIDATE:
        return "pre-candidate";
    case FL_RAFT_CANDIDATE:
        return "candidate";
    case FL_RAFT_LEADER:
        return "leader";
    }
    return "?";
}

const char *fl_raft_msg_type_name(uint8_t type)
{
    static const char *names[] = {
        "?",          "vote",           "vote-resp",   "pre-vote", "pre-vote-resp",
        "append",     "append-resp",    "timeout-now", "snapshot", "snapshot-resp",
        "read-index", "read-index-resp"};
    return type <= FL_RAFT_MSG_TYPE_MAX ? names[type] : "?";
}

static const uint32_t mutant_bits[] = {
    FL_RAFT_MUTANT_COMMIT_PREV_TERM,
    FL_RAFT_MUTANT_VOTE_NO_LOG_CHECK,
    FL_RAFT_MUTANT_VOTE_BEFORE_DURABLE,
    FL_RAFT_MUTANT_ACK_BEFORE_DURABLE,
    FL_RAFT_MUTANT_ACCEPT_STALE_TERM,
    FL_RAFT_MUTANT_TRUNCATE_MATCHING,
    FL_RAFT_MUTANT_NO_STEP_DOWN,
    FL_RAFT_MUTANT_READ_NO_CONFIRM,
    FL_RAFT_MUTANT_LEASE_NO_DRIFT,
    FL_RAFT_MUTANT_APPLY_BEFORE_COMMIT,
    FL_RAFT_MUTANT_PREVOTE_STALE_LEADER,
    FL_RAFT_MUTANT_SNAPSHOT_KEEPS_SUFFIX,
    FL_RAFT_MUTANT_REMOVED_LEADER_HEARTBEATS,
    FL_RAFT_MUTANT_JOINT_NEW_ONLY,
    FL_RAFT_MUTANT_FOLLOWER_READ_UNAPPLIED,
    FL_RAFT_MUTANT_SNAPSHOT_SEQ_UNSYNCED,
    FL_RAFT_MUTANT_LEADER_IGNORES_LEASE,
    FL_RAFT_MUTANT_SNAPSHOT_BOUND_LOST,
    FL_RAFT_MUTANT_WAL_DELETED_BEFORE_DIR_SYNC,
};
static const char *mutant_names[] = {
    "commit-prev-term",
    "vote-no-log-check",
    "vote-before-durable",
    "ack-before-durable",
    "accept-stale-term",
    "truncate-matching",
    "no-step-down",
    "read-no-confirm",
    "lease-no-drift",
    "apply-before-commit",
    "prevote-stale-leader",
    "snapshot-keeps-suffix",
    "removed-leader-heartbeats",
    "joint-new-majority-only",
    "follower-read-unapplied",
    "snapshot-seq-unsynced",
    "leader-ignores-lease",
    "snapshot-bound-lost",
    "wal-deleted-before-dir-sync",
};
_Static_assert(sizeof(mutant_bits) / sizeof(mutant_bits[0]) ==
                   sizeof(mutant_names) / sizeof(mutant_names[0]),
               "one name per mutant");

uint32_t fl_raft_mutant_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(mutant_bits) / sizeof(mutant_bits[0]); i++)
        if (!strcmp(name, mutant_names[i]))
            return mutant_bits[i];
    return 0;
}

const char *fl_raft_mutant_name(uint32_t bit)
{
    for (size_t i = 0; i < sizeof(mutant_bits) / sizeof(mutant_bits[0]); i++)
        if (bit == mutant_bits[i])
            return mutant_names[i];
    return "?";
}

size_t fl_raft_mutant_list(const uint32_t **bits)
{
    *bits = mutant_bits;
    return sizeof(mutant_bits) / sizeof(mutant_bits[0]);
}

void fl_raft_config_default(fl_raft_config *c, fl_node_id id)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->election_timeout_ns = 150 * FL_NS_PER_MS;
    c->heartbeat_ns = 30 * FL_NS_PER_MS;
    c->inflight_max = 8;
    c->batch_entries_max = 64;
    c->batch_bytes_max = 1u << 20;
    c->entry_bytes_max = 1u << 20;
    c->uncommitted_max = 512;
    c->snapshot_chunk_bytes = 64u << 10;
    c->pre_vote = true;
    c->check_quorum = true;
    c->seed = id;
}

#define REFUSE(...)                                                                                \
    do {                                                                                           \
        if (why)                                                                                   \
            snprintf(why, why_size, __VA_ARGS__);                                                  \
        return FL_ECONFIG;                                                                         \
    } while (0)

int fl_raft_config_validate(const fl_raft_config *c, char *why, size_t why_size)
{
    if (c->id == FL_NODE_NONE)
        REFUSE("node id must be > 0");
    if (c->n_voters < 1 || c->n_voters > FL_RAFT_NODES_MAX)
        REFUSE("voters: %u, must be 1..%d", c->n_voters, FL_RAFT_NODES_MAX);
    bool self = false;
    for (uint32_t i = 0; i < c->n_voters; i++) {
        if (c->voters[i] == FL_NODE_NONE)
            REFUSE("voter id 0 is reserved");
        for (uint32_t j = 0; j < i; j++)
            if (c->voters[j] == c->voters[i])
                REFUSE("voter %u listed twice", c->voters[i]);
        self |= c->voters[i] == c->id;
    }
    if (!self && !c->joining)
        REFUSE("node %u is not among the voters", c->id);
    if (c->election_timeout_ns < FL_NS_PER_MS || c->election_timeout_ns > 3600 * FL_NS_PER_S)
        REFUSE("election timeout must be 1 ms .. 1 h");
    if (c->heartbeat_ns == 0 || c->heartbeat_ns >= c->election_timeout_ns)
        REFUSE("heartbeat must be > 0 and below the election timeout");
    if (c->inflight_max < 1 || c->inflight_max > FL_RAFT_INFLIGHT_MAX)
        REFUSE("inflight_max must be 1..%d", FL_RAFT_INFLIGHT_MAX);
    if (c->batch_entries_max < 1 || c->batch_bytes_max < 1 || c->entry_bytes_max < 1)
        REFUSE("batch and entry limits must be > 0");
    if (c->snapshot_chunk_bytes < 1 || c->snapshot_chunk_bytes > (16u << 20))
        REFUSE("snapshot_chunk_bytes must be 1 .. 16 MiB");
    if (c->max_drift_ppm >= 1000000)
        REFUSE("max_drift_ppm must be below 1000000");
    if (c->read_rounds_max > FL_RAFT_READ_ROUNDS_MAX)
        REFUSE("read_rounds_max must be 0..%d", FL_RAFT_READ_ROUNDS_MAX);
    return 0;
}

/* A snapshot on disk: the log starts after it; commit and applied are its index (the
 * environment restores the state machine from it before the first step); its configuration
 * is the one in force until a CONFIG entry after it. */
static int load_snapshot(fl_raft *r, const fl_raft_durable *st)
{
    const fl_raft_snapshot_meta *s = st->snapshot;
    if (s->term == 0 || s->term > st->term || st->first_index != s->index + 1 ||
        !fl__conf_valid(&s->conf))
        return FL_ECORRUPT;
    r->snap = *s;
    r->first_index = s->index + 1;
    r->base_term = s->term;
    r->commit = r->applied = s->index;
    fl__conf_restore(r, &s->conf, s->index);
    return 0;
}

/* The log from disk; the configuration follows its CONFIG entries as they load. */
static int load_log(fl_raft *r, const fl_raft_durable *st)
{
    r->first_index = st && st->first_index ? st->first_index : 1;
    fl__conf_init(r);
    if (!st)
        return 0;
    if (st->snapshot && st->snapshot->index) {
        int rc = load_snapshot(r, st);
        if (rc)
            return rc;
    }
    fl_term prev = r->base_term;
    for (size_t i = 0; i < st->n_entries; i++) {
        const fl_raft_entry *e = &st->entries[i];
        if (e->term < prev || e->term > st->term || e->term == 0)
            return FL_ECORRUPT;
        prev = e->term;
        int rc = fl__log_append(r, e->term, e->type, e->data, e->len);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_raft_init(fl_raft *r, const fl_raft_config *config, const fl_raft_durable *state,
                 fl_time_ns now_ns)
{
    memset(r, 0, sizeof(*r));
    int rc = fl_raft_config_validate(config, NULL, 0);
    if (rc)
        return rc;
    r->cfg = *config;
    fl_rng_seed(&r->rng, config->seed);
    r->now = now_ns;
    if (state) {
        r->term = state->term;
        r->vote = state->vote;
    }
    rc = load_log(r, state);
    if (rc) {
        fl_raft_close(r);
        return rc;
    }
    r->dirty_from = 0; /* what we loaded is durable already */
    r->durable_index = fl_raft_last_index(r);
    r->durable_term = r->term;
    r->durable_vote = r->vote;
    r->seq_next = 1;
    r->role = FL_RAFT_FOLLOWER;
    r->votes_ignored_until = now_ns + config->election_timeout_ns;
    fl__reset_election_timer(r);
    return 0;
}

void fl_raft_close(fl_raft *r)
{
    fl__log_free(r);
    free(r->out);
    r->out = NULL;
    free(r->reads_out);
    r->reads_out = NULL;
    r->reads_out_count = r->reads_out_cap = 0;
    r->out_count = r->out_cap = 0;
}

/* A message from a higher term: step down first, except for the kinds that must not move
 * our term (pre-votes; a vote request against a live leader). Returns false if the message
 * is to be dropped. */
static bool observe_term(fl_raft *r, const fl_raft_msg *m)
{
    if (m->term <= r->term)
        return true;
    if (m->type == FL_RAFT_MSG_PRE_VOTE)
        return true;
    if (m->type == FL_RAFT_MSG_PRE_VOTE_RESP && m->u.vote_resp.granted)
        return true;
    if ((m->type == FL_RAFT_MSG_VOTE) && !m->u.vote.transfer && fl__in_lease(r))
        return false;
    if (r->role == FL_RAFT_LEADER && MUTANT(r, NO_STEP_DOWN)) {
        r->term = m->term; /* the bug: adopt the term, forget to step down */
        r->vote = FL_NODE_NONE;
        r->dirty_hard_state = true;
        return true;
    }
    bool from_leader = m->type == FL_RAFT_MSG_APPEND || m->type == FL_RAFT_MSG_SNAPSHOT;
    fl__become_follower(r, m->term, from_leader ? m->from : FL_NODE_NONE);
    return true;
}

static int receive(fl_raft *r, const fl_raft_msg *m)
{
    /* Senders outside our configuration are heard: a leader added after our last config
     * entry must be able to send us the log that says so (thesis 4.2.3). */
    if (m->to != r->cfg.id || m->from == r->cfg.id || m->from == FL_NODE_NONE)
        return FL_EINVAL;
    /* A message the core refuses must change nothing, its term included: checked before
     * observe_term raises (and persists) ours. */
    if ((m->type == FL_RAFT_MSG_APPEND && !fl__append_valid(r, m)) ||
        (m->type == FL_RAFT_MSG_SNAPSHOT && !fl__snapshot_valid(m)))
        return FL_EINVAL;
    if (m->type == FL_RAFT_MSG_PRE_VOTE && m->term > r->term && fl__in_lease(r))
        return 0; /* a live leader: ignore the disruptive pre-candidate */
    if (!observe_term(r, m))
        return 0;
    switch (m->type) {
    case FL_RAFT_MSG_VOTE:
    case FL_RAFT_MSG_PRE_VOTE:
        fl__recv_vote(r, m);
        return 0;
    case FL_RAFT_MSG_VOTE_RESP:
    case FL_RAFT_MSG_PRE_VOTE_RESP:
        fl__recv_vote_resp(r, m);
        return 0;
    case FL_RAFT_MSG_APPEND:
        return fl__recv_append(r, m);
    case FL_RAFT_MSG_APPEND_RESP:
        fl__recv_append_resp(r, m);
        return 0;
    case FL_RAFT_MSG_TIMEOUT_NOW:
        fl__recv_timeout_now(r, m);
        return 0;
    case FL_RAFT_MSG_SNAPSHOT:
        return fl__recv_snapshot(r, m);
    case FL_RAFT_MSG_SNAPSHOT_RESP:
        fl__recv_snapshot_resp(r, m);
        return 0;
    case FL_RAFT_MSG_READ_INDEX:
        fl__recv_read_index(r, m);
        return 0;
    case FL_RAFT_MSG_READ_INDEX_RESP:
        fl__recv_read_index_resp(r, m);
        return 0;
    default:
        return FL_ETYPE;
    }
}

static int propose(fl_raft *r, const uint8_t *data, uint32_t len, fl_raft_update *up)
{
    if (r->role != FL_RAFT_LEADER)
        return FL_ENOTLEADER;
    if (r->transfer_to)
        return FL_EBUSY; /* handing over leadership: the next leader takes it */
    if (len > r->cfg.entry_bytes_max)
        return FL_ETOOBIG;
    if (r->cfg.uncommitted_max && fl_raft_last_index(r) - r->commit >= r->cfg.uncommitted_max) {
        r->proposals_refused_busy++;
        return FL_EBUSY; /* backpressure: let the followers catch up first */
    }
    int rc = fl__log_append(r, r->term, FL_RAFT_ENTRY_NORMAL, data, len);
    if (rc)
        return rc;
    up->proposed_index = fl_raft_last_index(r);
    up->proposed_term = r->term;
    fl__replicate_proposed(r);
    return 0;
}

static void tick(fl_raft *r)
{
    if (r->role == FL_RAFT_LEADER) {
        if (r->send_due)
            fl__replicate_all(r); /* the batch's proposals (sends_at_batch_end) */
        fl__reads_flush(r);       /* the round owed to a follower's read, if any */
        fl__tick_leader(r);
    } else {
        r->send_due = false;
        fl__tick_election(r);
    }
}

int fl_raft_step(fl_raft *r, const fl_raft_event *ev, fl_raft_update *up)
{
    int rc = 0;
    fl__begin_step(r, ev->now_ns);
    up->proposed_index = 0;
    up->proposed_term = 0;
    switch (ev->type) {
    case FL_RAFT_EV_TICK:
        tick(r);
        break;
    case FL_RAFT_EV_RECEIVE:
        rc = ev->u.msg ? receive(r, ev->u.msg) : FL_EINVAL;
        break;
    case FL_RAFT_EV_PERSISTED:
        fl__persisted(r, ev->u.seq);
        break;
    case FL_RAFT_EV_PROPOSE:
        rc = propose(r, ev->u.propose.data, ev->u.propose.len, up);
        break;
    case FL_RAFT_EV_READ:
        rc = fl__read(r, ev->u.read_ctx);
        break;
    case FL_RAFT_EV_TRANSFER:
        rc = fl__transfer(r, ev->u.transfer_to);
        break;
    case FL_RAFT_EV_CHANGE:
        rc = fl__change(r, ev->u.change, up);
        break;
    case FL_RAFT_EV_SNAPSHOT:
        rc = fl__take_snapshot(r, ev->u.snapshot.index, ev->u.snapshot.size, ev->u.snapshot.crc);
        break;
    default:
        rc = FL_EINVAL;
    }
    fl__finish_step(r, up);
    return rc;
}

void fl_raft_invariants(const fl_raft *r)
{
    fl_index last = fl_raft_last_index(r);
    FL_ASSERT(r->applied <= r->commit || MUTANT(r, APPLY_BEFORE_COMMIT)); /* for the checker */
    FL_ASSERT(r->applied <= last);
    FL_ASSERT(r->commit <= last);
    FL_ASSERT(r->durable_index <= last);
    FL_ASSERT(r->seq_durable < r->seq_next);
    FL_ASSERT(r->held_count <= FL_RAFT_HELD_MAX);
    FL_ASSERT(fl_raft_term_at(r, last) <= r->term);
    FL_ASSERT(r->role != FL_RAFT_LEADER || r->leader == r->cfg.id);
    FL_ASSERT(r->role != FL_RAFT_CANDIDATE || r->vote == r->cfg.id);
    FL_ASSERT(r->transfer_to == FL_NODE_NONE || r->role == FL_RAFT_LEADER);
    FL_ASSERT(r->conf_index <= last);
    FL_ASSERT(r->conf_index < r->first_index ||
              fl_raft_entry_at(r, r->conf_index)->type == FL_RAFT_ENTRY_CONFIG);
    /* only voters campaign (a leader may manage a change that removes it) */
    FL_ASSERT(r->role == FL_RAFT_FOLLOWER || r->role == FL_RAFT_LEADER || fl__may_campaign(r));
    FL_ASSERT(r->first_index <= r->snap.index + 1);
    FL_ASSERT(r->install_seq != 0 || r->restore_pending || r->applied + 1 >= r->first_index);
    FL_ASSERT(r->snap.index <= last);
    FL_ASSERT(r->reads_count == 0 || r->role == FL_RAFT_LEADER);
    /* pending reads, oldest first: rounds never decrease, unset indexes come first (read.c) */
    for (size_t i = 1; i < r->reads_count; i++) {
        const struct fl_raft_pending_read *a =
            &r->reads[(r->reads_head + i - 1) % FL_RAFT_READS_MAX];
        const struct fl_raft_pending_read *b = &r->reads[(r->reads_head + i) % FL_RAFT_READS_MAX];
        FL_ASSERT(a->round <= b->round);
        FL_ASSERT(b->index == 0 ? a->index == 0 : a->index <= b->index);
    }
    /* a round is owed only to a read waiting at a leader (read.c) */
    FL_ASSERT(!r->read_round_due || (r->role == FL_RAFT_LEADER && r->reads_count > 0));
    /* read rounds in flight: increasing, each sent already (read.c) */
    FL_ASSERT(r->read_rounds_count <= (r->cfg.read_rounds_max ? r->cfg.read_rounds_max : 1));
    FL_ASSERT(r->read_rounds_count == 0 || r->role == FL_RAFT_LEADER);
    for (size_t i = 0; i < r->read_rounds_count; i++)
        FL_ASSERT(r->read_rounds[i] <= r->ctx_next &&
                  (i == 0 || r->read_rounds[i - 1] < r->read_rounds[i]));
    /* a forwarded read is failed the step its leader, term or role changes (read.c) */
    for (size_t i = 0; i < r->fwd_reads_count; i++)
        FL_ASSERT(r->role == FL_RAFT_FOLLOWER && r->fwd_reads[i].leader == r->leader &&
                  r->leader != FL_NODE_NONE && r->fwd_reads[i].term == r->term &&
                  r->now - r->leader_contact < r->cfg.election_timeout_ns);
    if (r->role == FL_RAFT_LEADER) {
        for (uint32_t i = 0; i < r->n_members; i++) {
            const fl_raft_progress *pr = &r->progress[i];
            if (pr->id == r->cfg.id)
                continue;
            FL_ASSERT(pr->match < pr->next);
            FL_ASSERT(pr->next <= last + 1);
            FL_ASSERT(pr->inflight_count <= r->cfg.inflight_max);
        }
    }
}

void fl_raft_describe(const fl_raft *r, char *out, size_t out_size)
{
    static const char roles[] = "FPCL";
    int n = snprintf(out, out_size, "%c t%llu v%u L%u c%llu a%llu d%llu last%llu", roles[r->role],
                     (unsigned long long)r->term, r->vote, r->leader, (unsigned long long)r->commit,
                     (unsigned long long)r->applied, (unsigned long long)r->durable_index,
                     (unsigned long long)fl_raft_last_index(r));
    if (r->snap.index && n > 0 && (size_t)n < out_size)
        snprintf(out + n, out_size - (size_t)n, " snap%llu first%llu",
                 (unsigned long long)r->snap.index, (unsigned long long)r->first_index);
}
