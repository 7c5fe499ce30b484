/* replication.c: the leader's side (progress, flow control, heartbeats, commitment) and the
 * follower's side (AppendEntries) of log replication.
 *
 * Per follower the leader keeps a progress record (raft.h): in PROBE it sends one
 * AppendEntries at a time until the follower's log matches; in REPLICATE it streams up to
 * inflight_max messages ahead of acknowledgements. A rejection carries a hint (the
 * follower's conflicting term and the first index of that term, or its log length) so the
 * leader skips a whole term per round trip instead of one entry (thesis 5.3).
 *
 * Invariants:
 *   - match < next for every follower; match only grows while we lead;
 *   - a leader commits index i only when a quorum (itself counted by its durable prefix)
 *     has i durable and term_at(i) is the current term (Raft 5.4.2);
 *   - a follower never commits past the last entry it verified against this leader. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static void inflight_reset(fl_raft_progress *pr)
{
    pr->inflight_count = 0;
    pr->inflight_head = 0;
}

static void inflight_push(fl_raft *r, fl_raft_progress *pr, fl_index last)
{
    FL_ASSERT(pr->inflight_count < r->cfg.inflight_max);
    uint32_t at = (pr->inflight_head + pr->inflight_count) % FL_RAFT_INFLIGHT_MAX;
    pr->inflight_last[at] = last;
    pr->inflight_count++;
}

/* Frees the in-flight slots of every message acknowledged by match. */
static void inflight_free_to(fl_raft_progress *pr, fl_index match)
{
    while (pr->inflight_count && pr->inflight_last[pr->inflight_head] <= match) {
        pr->inflight_head = (pr->inflight_head + 1) % FL_RAFT_INFLIGHT_MAX;
        pr->inflight_count--;
    }
}

static void become_probe(fl_raft_progress *pr, fl_index next)
{
    pr->state = FL_RAFT_PROBE;
    pr->next = next;
    pr->probe_sent = false;
    inflight_reset(pr);
}

void fl__become_replicate(fl_raft_progress *pr)
{
    pr->state = FL_RAFT_REPLICATE;
    pr->next = pr->match + 1;
    pr->probe_sent = false;
    pr->match_at_heartbeat = pr->match;
    inflight_reset(pr);
}

/* The next AppendEntries (or InstallSnapshot) ctx, with its send time remembered for lease
 * reads. */
uint64_t fl__next_ctx(fl_raft *r)
{
    uint64_t ctx = ++r->ctx_next;
    r->sent[ctx % FL_RAFT_SENT_RING] = (struct fl_raft_sent){ctx, r->now};
    return ctx;
}

/* Sends entries [next, ...] to one follower, batched; an empty AppendEntries if none; a
 * snapshot chunk instead when entry next - 1 was compacted away. */
static void send_append(fl_raft *r, fl_raft_progress *pr)
{
    if (pr->next < r->first_index) {
        fl__send_snapshot(r, pr);
        return;
    }
    fl_index last = fl_raft_last_index(r);
    fl_index prev = pr->next - 1;
    FL_ASSERT(prev <= last);
    size_t n = 0, bytes = 0;
    while (prev + n < last && n < r->cfg.batch_entries_max) {
        const fl_raft_entry *e = fl_raft_entry_at(r, prev + n + 1);
        if (n > 0 && bytes + e->len > r->cfg.batch_bytes_max)
            break;
        bytes += e->len;
        n++;
    }
    fl_raft_msg *m = fl__out(r, FL_RAFT_MSG_APPEND, pr->id);
    m->u.append.prev_index = prev;
    m->u.append.prev_term = fl_raft_term_at(r, prev);
    m->u.append.commit = r->commit;
    m->u.append.ctx = fl__next_ctx(r);
    m->u.append.n_entries = (uint32_t)n;
    m->u.append.entries = n ? fl_raft_entry_at(r, prev + 1) : NULL;
    if (pr->state == FL_RAFT_PROBE) {
        pr->probe_sent = true;
    } else if (n > 0) {
        pr->next = prev + n + 1;
        inflight_push(r, pr, prev + n);
    }
}

/* An empty AppendEntries anchored at what the follower is known to hold: it always matches,
 * carries the commit index, and proves the leader is alive. */
static void send_heartbeat(fl_raft *r, fl_raft_progress *pr)
{
    /* A match compacted away has no term to show: anchor at 0, which every log matches
     * (the follower learns no commit from it; its entries in flight or a snapshot follow). */
    fl_index prev = pr->match + 1 < r->first_index ? 0 : pr->match;
    fl_raft_msg *m = fl__out(r, FL_RAFT_MSG_APPEND, pr->id);
    m->u.append.prev_index = prev;
    m->u.append.prev_term = fl_raft_term_at(r, prev);
    m->u.append.commit = r->commit;
    m->u.append.ctx = fl__next_ctx(r);
}

/* A round for ReadIndex: every follower gets an AppendEntries now, so that its answer proves
 * this node still led after the read arrived. A follower being probed gets the probe again
 * (an empty heartbeat's success would make the leader restart it from index 1). */
void fl__heartbeat_all(fl_raft *r)
{
    for (uint32_t i = 0; i < r->n_members; i++) {
        fl_raft_progress *pr = &r->progress[i];
        if (pr->id == r->cfg.id)
            continue;
        if (pr->state == FL_RAFT_SNAPSHOT) {
            fl__send_snapshot(r, pr); /* its answer echoes ctx as well */
        } else if (pr->state == FL_RAFT_PROBE) {
            pr->probe_sent = false;
            send_append(r, pr);
        } else {
            send_heartbeat(r, pr);
        }
    }
}

/* A ReadIndex round to just enough followers for a majority with us: the voters that answered
 * last (highest ctx_acked; a crashed or cut-off one stops answering, and the periodic
 * heartbeat, to all, lifts the others past it). Each follower a round reaches costs it a
 * wake-up and us a frame and an answer; for every GET of 50 clients that was most of the
 * read's CPU in a 3-node cluster (issue 16). A quorum's answers confirm the round all the
 * same; if a chosen follower never answers, the next periodic heartbeat's answers do. All
 * followers get it when the configuration is joint, when we are not a voter, or when a
 * chosen one is not plainly replicating (a probe or snapshot to resend). */
void fl__read_round(fl_raft *r)
{
    const fl_raft_conf *c = &r->conf;
    uint32_t need = c->n_voters / 2, k = 0; /* a majority, less ourselves */
    if (need == 0 || fl_raft_conf_is_joint(c) || !fl_raft_conf_is_voter(c, r->cfg.id)) {
        fl__heartbeat_all(r);
        return;
    }
    fl_raft_progress *pick[FL_RAFT_NODES_MAX];
    for (uint32_t i = 0; i < r->n_members; i++) {
        fl_raft_progress *pr = &r->progress[i];
        if (pr->id == r->cfg.id || !fl_raft_conf_is_voter(c, pr->id))
            continue;
        uint32_t j = k < need ? k++ : need;
        for (; j > 0 && pick[j - 1]->ctx_acked < pr->ctx_acked; j--) /* highest first */
            if (j < need)
                pick[j] = pick[j - 1];
        if (j < need)
            pick[j] = pr;
    }
    for (uint32_t i = 0; i < k; i++)
        if (pick[i]->state != FL_RAFT_REPLICATE) {
            fl__heartbeat_all(r);
            return;
        }
    FL_ASSERT(k == need);
    for (uint32_t i = 0; i < k; i++)
        send_heartbeat(r, pick[i]);
}

static void maybe_send(fl_raft *r, fl_raft_progress *pr)
{
    fl_index last = fl_raft_last_index(r);
    if (pr->state == FL_RAFT_SNAPSHOT)
        return; /* chunks go out one per answer, and again at heartbeats */
    if (pr->state == FL_RAFT_PROBE) {
        if (!pr->probe_sent)
            send_append(r, pr);
        return;
    }
    while (pr->next <= last && pr->inflight_count < r->cfg.inflight_max) {
        if (r->cfg.sends_at_batch_end && pr->inflight_count > 0 &&
            last - pr->next + 1 < r->cfg.overlap_min_entries)
            return; /* too few to overlap: they go when the window is empty */
        send_append(r, pr);
    }
}

void fl__replicate_all(fl_raft *r)
{
    r->send_due = false;
    for (uint32_t i = 0; i < r->n_members; i++)
        if (r->progress[i].id != r->cfg.id)
            maybe_send(r, &r->progress[i]);
}

/* After a proposal. Under sends_at_batch_end a follower that already has an AppendEntries out
 * gets the new entries at the end of the host's batch (send_due: the deadline is now, the
 * tick sends), so that with two in flight the second carries the whole batch of a loop pass
 * (a pipelined client's 16 writes, 50 clients' worth) rather than the first write of it while
 * the rest wait a round trip for the next slot. One with nothing out gets them at once: a
 * lone write is not held back. */
void fl__replicate_proposed(fl_raft *r)
{
    if (!r->cfg.sends_at_batch_end) {
        fl__replicate_all(r);
        return;
    }
    for (uint32_t i = 0; i < r->n_members; i++) {
        fl_raft_progress *pr = &r->progress[i];
        if (pr->id == r->cfg.id)
            continue;
        if (pr->state == FL_RAFT_REPLICATE && pr->inflight_count > 0)
            r->send_due = true;
        else
            maybe_send(r, pr);
    }
}

void fl__become_leader(fl_raft *r)
{
    r->role = FL_RAFT_LEADER;
    r->leader = r->cfg.id;
    r->term_leader = r->cfg.id;
    r->campaign_transfer = false;
    r->transfer_to = FL_NODE_NONE;
    r->lead_ctx_first = r->ctx_next + 1;
    fl_index next = fl_raft_last_index(r) + 1;
    for (uint32_t i = 0; i < r->n_members; i++) {
        fl_raft_progress *pr = &r->progress[i];
        pr->match = 0;
        pr->recent_active = true;
        pr->match_at_heartbeat = 0;
        pr->ctx_acked = 0;
        pr->acked_sent_ns = 0;
        become_probe(pr, next);
    }
    /* A no-op of the new term lets the leader commit what earlier terms left (Raft 8). The
     * COMMIT_PREV_TERM mutant skips it and instead counts replicas of old entries. */
    if (!MUTANT(r, COMMIT_PREV_TERM)) {
        int rc = fl__log_append(r, r->term, FL_RAFT_ENTRY_NOOP, NULL, 0);
        FL_ASSERT(rc == 0);
    }
    r->heartbeat_deadline = r->now + r->cfg.heartbeat_ns;
    r->quorum_deadline = r->now + r->cfg.election_timeout_ns;
    fl__replicate_all(r);
    fl__maybe_commit(r);
}

static uint64_t match_of(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->id == r->cfg.id ? r->durable_index : pr->match;
}

void fl__maybe_commit(fl_raft *r)
{
    FL_ASSERT(r->role == FL_RAFT_LEADER);
    fl_index q = fl__quorum_value(r, match_of); /* joint: both majorities hold q */
    if (q > r->commit &&
        (fl_raft_term_at(r, q) == r->term || MUTANT(r, COMMIT_PREV_TERM))) /* Raft 5.4.2 */
        r->commit = q;
    fl__conf_committed(r); /* a committed C(O,N) is followed by C(N); a removed leader goes */
}

/* A leader's last entry went to none of its fellow voters (a follower being probed counts as
 * not sent: its next does not move). Entries nobody else has cannot reach a quorum, so the
 * leader's own sync of them gains nothing until a later step sends them, and that step
 * answers false (issue 16: a sync costs ~70 us of CPU; the leader synced between rounds).
 * A lone voter, and every non-leader, syncs at once. */
bool fl__sync_may_wait(const fl_raft *r)
{
    if (r->role != FL_RAFT_LEADER)
        return false;
    fl_index last = fl_raft_last_index(r);
    bool others = false;
    for (uint32_t i = 0; i < r->n_members; i++) {
        const fl_raft_progress *pr = &r->progress[i];
        if (pr->id == r->cfg.id || !fl__is_voter(r, pr->id))
            continue;
        if (pr->state == FL_RAFT_REPLICATE && pr->next > last)
            return false; /* sent: its answer may commit it, with our sync or the other's */
        others = true;
    }
    return others;
}

static uint64_t active_of(const fl_raft *r, const fl_raft_progress *pr)
{
    return pr->id == r->cfg.id || pr->recent_active;
}

static bool quorum_active(fl_raft *r)
{
    bool ok = fl__quorum_value(r, active_of) != 0;
    for (uint32_t i = 0; i < r->n_members; i++)
        r->progress[i].recent_active = false;
    return ok;
}

static void heartbeat(fl_raft *r, fl_raft_progress *pr)
{
    if (pr->state == FL_RAFT_SNAPSHOT) {
        fl__send_snapshot(r, pr); /* the chunk (or its answer) may have been lost */
        return;
    }
    if (pr->state == FL_RAFT_PROBE) {
        pr->probe_sent = false; /* the probe may have been lost: send it again */
        send_append(r, pr);
        return;
    }
    /* No acknowledgement for a whole interval with messages outstanding: assume loss and
     * go back to probing from what the follower is known to hold. */
    if (pr->match < pr->next - 1 && pr->match == pr->match_at_heartbeat) {
        become_probe(pr, pr->match + 1);
        send_append(r, pr);
        return;
    }
    pr->match_at_heartbeat = pr->match;
    send_heartbeat(r, pr);
}

void fl__tick_leader(fl_raft *r)
{
    FL_ASSERT(r->role == FL_RAFT_LEADER);
    fl__transfer_tick(r);
    if (r->cfg.check_quorum && r->now >= r->quorum_deadline) {
        if (!quorum_active(r)) {
            fl__become_follower(r, r->term, FL_NODE_NONE);
            return;
        }
        r->quorum_deadline = r->now + r->cfg.election_timeout_ns;
    }
    if (r->now >= r->heartbeat_deadline) {
        r->heartbeat_deadline = r->now + r->cfg.heartbeat_ns;
        for (uint32_t i = 0; i < r->n_members; i++)
            if (r->progress[i].id != r->cfg.id)
                heartbeat(r, &r->progress[i]);
    }
}

/* Where to probe next after a rejection of prev_index reject with the follower's hint. */
static fl_index next_after_reject(const fl_raft *r, const fl_raft_append_resp *a,
                                  const fl_raft_progress *pr)
{
    fl_index next = a->hint_index;
    if (a->hint_term != 0) {
        fl_index j = a->reject_index;
        if (j > fl_raft_last_index(r))
            j = fl_raft_last_index(r);
        while (j > r->first_index && fl_raft_term_at(r, j) > a->hint_term)
            j--;
        if (fl_raft_term_at(r, j) == a->hint_term)
            next = j + 1;
    }
    if (next > a->reject_index)
        next = a->reject_index;
    if (next <= pr->match)
        next = pr->match + 1;
    return next;
}

/* Only an answer to an AppendEntries of this leadership counts: a follower that rejects one
 * we sent in an earlier term (it answers in its newer term, which may be ours again by now)
 * acknowledged no leader and promised no lease. */
static void ack_ctx(fl_raft *r, fl_raft_progress *pr, uint64_t ctx)
{
    if (ctx > pr->ctx_acked && ctx >= r->lead_ctx_first && ctx <= r->ctx_next) {
        pr->ctx_acked = ctx; /* it answered as our follower: ReadIndex counts it */
        const struct fl_raft_sent *s = &r->sent[ctx % FL_RAFT_SENT_RING];
        if (s->ctx == ctx && s->at > pr->acked_sent_ns)
            pr->acked_sent_ns = s->at; /* and it will not vote before a lease from then */
    }
}

fl_raft_progress *fl__response_from(fl_raft *r, const fl_raft_msg *m, uint64_t ctx)
{
    if (r->role != FL_RAFT_LEADER || m->term != r->term)
        return NULL;
    fl_raft_progress *pr = fl__progress(r, m->from);
    if (!pr || pr->id == r->cfg.id)
        return NULL;
    pr->recent_active = true;
    ack_ctx(r, pr, ctx);
    return pr;
}

void fl__recv_append_resp(fl_raft *r, const fl_raft_msg *m)
{
    const fl_raft_append_resp *a = &m->u.append_resp;
    fl_raft_progress *pr = fl__response_from(r, m, a->ctx);
    if (!pr)
        return;
    if (a->success) {
        if (a->match_index > fl_raft_last_index(r))
            return; /* acknowledges entries we never had: ignore */
        if (a->match_index > pr->match)
            pr->match = a->match_index;
        if (pr->state != FL_RAFT_REPLICATE)
            fl__become_replicate(pr);
        else
            inflight_free_to(pr, pr->match);
        if (pr->next <= pr->match)
            pr->next = pr->match + 1;
        fl__maybe_commit(r);
        /* committing may have appended C(new) (progress rebuilt: look pr up again) or made a
         * removed leader step down (it sends nothing more) */
        pr = r->role == FL_RAFT_LEADER ? fl__progress(r, m->from) : NULL;
        if (!pr)
            return;
        maybe_send(r, pr);
        fl__transfer_progress(r, pr);
        return;
    }
    if (a->reject_index <= pr->match || a->reject_index == 0 || pr->state == FL_RAFT_SNAPSHOT)
        return; /* stale: we already know the follower holds that, or it gets a snapshot */
    if (pr->state == FL_RAFT_PROBE && a->reject_index != pr->next - 1)
        return; /* answer to an older probe */
    become_probe(pr, next_after_reject(r, a, pr));
    maybe_send(r, pr);
}

/* Entries must be well formed before they touch the log: terms non-decreasing, not before
 * prev_term and not after the leader's term; sizes within limits. */
bool fl__append_valid(const fl_raft *r, const fl_raft_msg *m)
{
    const fl_raft_append *a = &m->u.append;
    fl_term prev = a->prev_term;
    if (a->n_entries && !a->entries)
        return false;
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const fl_raft_entry *e = &a->entries[i];
        if (e->term < prev || e->term > m->term || e->term == 0)
            return false;
        if (e->type < FL_RAFT_ENTRY_NORMAL || e->type > FL_RAFT_ENTRY_CONFIG)
            return false;
        if (e->type == FL_RAFT_ENTRY_CONFIG && !fl__conf_entry_valid(e))
            return false;
        if (e->len > r->cfg.entry_bytes_max || (e->len && !e->data))
            return false;
        prev = e->term;
    }
    return a->prev_index <= UINT64_MAX - a->n_entries;
}

static void reply_reject(fl_raft *r, const fl_raft_msg *m)
{
    fl_raft_msg *resp = fl__out(r, FL_RAFT_MSG_APPEND_RESP, m->from);
    fl_raft_append_resp *a = &resp->u.append_resp;
    fl_index prev = m->u.append.prev_index, last = fl_raft_last_index(r);
    a->reject_index = prev;
    a->last_index = last;
    a->ctx = m->u.append.ctx;
    if (prev > last) {
        a->hint_index = last + 1;
        a->hint_term = 0;
    } else {
        a->hint_term = fl_raft_term_at(r, prev);
        a->hint_index = fl__log_first_of_term(r, prev);
    }
}

/* Appends the entries that are new, truncating at the first conflict. Returns 0 or
 * FL_ENOMEM. */
static int append_entries(fl_raft *r, const fl_raft_append *a)
{
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const fl_raft_entry *e = &a->entries[i];
        fl_index idx = a->prev_index + 1 + i;
        if (idx <= fl_raft_last_index(r)) {
            if (fl_raft_term_at(r, idx) == e->term && !MUTANT(r, TRUNCATE_MATCHING))
                continue; /* already have it: a stale or duplicated message must not cut */
            fl__log_truncate(r, idx);
        }
        int rc = fl__log_append(r, e->term, e->type, e->data, e->len);
        if (rc)
            return rc;
    }
    return 0;
}

/* Entries at or before the log's start (first_index - 1) are committed and compacted here;
 * drops them from a, checking the one at first_index - 1 against its kept term. Returns false
 * if that term differs (only a broken peer sends that). */
static bool skip_compacted(const fl_raft *r, fl_raft_append *a)
{
    fl_index base = r->first_index - 1;
    if (a->prev_index >= base)
        return true;
    fl_index skip = base - a->prev_index; /* entries prev + 1 .. base */
    if (a->n_entries < skip) {
        a->prev_index += a->n_entries; /* nothing new: acknowledge what it sent */
        a->prev_term = 0;
        a->n_entries = 0;
        return true;
    }
    if (a->entries[skip - 1].term != r->base_term)
        return false;
    a->prev_index = base;
    a->prev_term = r->base_term;
    a->entries += skip;
    a->n_entries -= (uint32_t)skip;
    return true;
}

int fl__recv_append(fl_raft *r, const fl_raft_msg *m)
{
    fl_raft_append trimmed = m->u.append;
    const fl_raft_append *a = &trimmed;
    if (m->term < r->term && !MUTANT(r, ACCEPT_STALE_TERM)) {
        reply_reject(r, m); /* carries our term: the stale leader steps down */
        return 0;
    }
    if (r->role == FL_RAFT_LEADER && m->term == r->term)
        return FL_EINVAL; /* two leaders in one term: only a broken peer sends this */
    if (r->role != FL_RAFT_FOLLOWER || r->leader != m->from)
        fl__become_follower(r, r->term, m->from);
    r->leader_contact = r->now;
    fl__reset_election_timer(r);
    if (!skip_compacted(r, &trimmed))
        return FL_EINVAL;
    fl_index prev = a->prev_index;
    bool covered = prev < r->first_index - 1; /* all of it compacted: nothing to compare */
    if (prev > fl_raft_last_index(r) || (!covered && fl_raft_term_at(r, prev) != a->prev_term)) {
        reply_reject(r, m);
        return 0;
    }
    int rc = append_entries(r, a);
    if (rc)
        return rc;
    fl_index match = prev + a->n_entries;
    fl_index commit = a->commit < match ? a->commit : match; /* only what we verified */
    if (commit > r->commit)
        r->commit = commit;
    if (r->lm_term != r->term || r->lm_leader != m->from) {
        r->lm_term = r->term; /* a leader never rewrites what it verified: only grows */
        r->lm_leader = m->from;
        r->leader_match = 0;
    }
    if (match > r->leader_match)
        r->leader_match = match;
    fl_raft_msg resp = {
        .type = FL_RAFT_MSG_APPEND_RESP, .from = r->cfg.id, .to = m->from, .term = r->term};
    resp.u.append_resp.success = true;
    resp.u.append_resp.match_index = match;
    resp.u.append_resp.last_index = fl_raft_last_index(r);
    resp.u.append_resp.ctx = a->ctx;
    if (MUTANT(r, ACK_BEFORE_DURABLE))
        *fl__out(r, resp.type, resp.to) = resp;
    else if (match <= r->durable_index && !fl__step_dirty(r))
        *fl__out(r, resp.type, resp.to) = resp; /* it claims only what is on disk already: a
                                                 * heartbeat (a ReadIndex round) is not held
                                                 * behind the sync of other entries */
    else
        fl__hold(r, &resp);
    return 0;
}
