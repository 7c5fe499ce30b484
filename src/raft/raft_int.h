/* raft_int.h: functions shared by the files of raft/ (private to the module). */
#ifndef FL_RAFT_INT_H
#define FL_RAFT_INT_H

#include "faultline/raft.h"

#define MUTANT(r, m) (((r)->cfg.mutants & FL_RAFT_MUTANT_##m) != 0)

/* log.c: the in-memory log */
int fl__log_append(fl_raft *r, fl_term term, uint8_t type, const uint8_t *data, uint32_t len);
void fl__log_truncate(fl_raft *r, fl_index from); /* drops entries >= from */
void fl__log_free(fl_raft *r);
void fl__log_compact(fl_raft *r, fl_index upto);              /* drops entries <= upto */
void fl__log_reset(fl_raft *r, fl_index index, fl_term term); /* empty, continuing after index */
fl_index fl__log_first_of_term(const fl_raft *r, fl_index index);

/* persist.c: durability, held responses, outbox */
fl_raft_msg *fl__out(fl_raft *r, uint8_t type, fl_node_id to);
void fl__hold(fl_raft *r, const fl_raft_msg *m); /* send once everything so far is durable */
/* This step makes a persist request. */
static inline bool fl__step_dirty(const fl_raft *r)
{
    return r->dirty_hard_state || r->dirty_from != 0 || r->install_wait;
}
void fl__persisted(fl_raft *r, uint64_t seq);
void fl__begin_step(fl_raft *r, fl_time_ns now);
void fl__finish_step(fl_raft *r, fl_raft_update *up);

/* election.c */
void fl__become_follower(fl_raft *r, fl_term term, fl_node_id leader);
void fl__become_candidate(fl_raft *r);
void fl__reset_election_timer(fl_raft *r);
void fl__tick_election(fl_raft *r);
void fl__recv_vote(fl_raft *r, const fl_raft_msg *m);
void fl__recv_vote_resp(fl_raft *r, const fl_raft_msg *m);
void fl__recv_timeout_now(fl_raft *r, const fl_raft_msg *m);
void fl__check_self_vote(fl_raft *r);
bool fl__in_lease(const fl_raft *r);

/* replication.c */
void fl__become_leader(fl_raft *r);
void fl__tick_leader(fl_raft *r);
/* Well formed entries (raft.c checks before anything else happens; recv assumes it). */
bool fl__append_valid(const fl_raft *r, const fl_raft_msg *m);
int fl__recv_append(fl_raft *r, const fl_raft_msg *m);
void fl__recv_append_resp(fl_raft *r, const fl_raft_msg *m);
void fl__replicate_all(fl_raft *r);      /* send what each follower lacks, within flow control */
void fl__replicate_proposed(fl_raft *r); /* a proposal's: now, or at the batch's end */
void fl__heartbeat_all(fl_raft *r);
void fl__read_round(fl_raft *r); /* to a majority's worth of followers (replication.c) */
void fl__maybe_commit(fl_raft *r);
bool fl__sync_may_wait(const fl_raft *r); /* fl_cons_update.sync_may_wait */

/* A response (echoing ctx) to this leader in its term, from another member: marks it active,
 * records the round it answered; returns its progress, or NULL if the response is not ours. */
fl_raft_progress *fl__response_from(fl_raft *r, const fl_raft_msg *m, uint64_t ctx);
uint64_t fl__next_ctx(fl_raft *r);
void fl__become_replicate(fl_raft_progress *pr);

/* snapshot.c (its configuration: fl__conf_at, fl__conf_restore in membership.c) */
int fl__take_snapshot(fl_raft *r, fl_index index, uint64_t size, uint32_t crc);
void fl__send_snapshot(fl_raft *r, fl_raft_progress *pr); /* the chunk pr->snap_offset */
void fl__recv_snapshot_resp(fl_raft *r, const fl_raft_msg *m);
bool fl__snapshot_valid(const fl_raft_msg *m); /* checked by raft.c first, like entries */
int fl__recv_snapshot(fl_raft *r, const fl_raft_msg *m);
void fl__install_durable(fl_raft *r); /* after a PERSISTED: the pending install landed? */

/* read.c */
int fl__read(fl_raft *r, uint64_t ctx);
/* LEADER: the quorum-th newest send time of an AppendEntries a follower acknowledged (its
 * own "now" counts as one); 0 if no quorum answered this leader yet. */
fl_time_ns fl__quorum_acked_sent(const fl_raft *r);
void fl__reads_advance(fl_raft *r, bool flush);
void fl__reads_flush(fl_raft *r);
void fl__reads_fail_all(fl_raft *r);
void fl__recv_read_index(fl_raft *r, const fl_raft_msg *m);      /* LEADER: a follower asks */
void fl__recv_read_index_resp(fl_raft *r, const fl_raft_msg *m); /* the leader answered */
/* After applying: forwarded reads applied far enough are served, stale ones failed. */
void fl__fwd_reads_advance(fl_raft *r);

/* transfer.c */
int fl__transfer(fl_raft *r, fl_node_id to);
void fl__transfer_progress(fl_raft *r, fl_raft_progress *pr); /* target caught up? */
void fl__transfer_tick(fl_raft *r);

/* membership.c */
typedef uint64_t (*fl__member_value)(const fl_raft *r, const fl_raft_progress *pr);
void fl__conf_init(fl_raft *r); /* the bootstrap configuration from cfg.voters */
bool fl__conf_entry_valid(const fl_raft_entry *e);
/* A CONFIG entry was appended at index: it is in force now. FL_ECORRUPT if it is malformed. */
int fl__conf_appended(fl_raft *r, fl_index index, const fl_raft_entry *e);
void fl__conf_truncated(fl_raft *r, fl_index from); /* entries >= from were dropped */
/* A snapshot up to index carrying configuration c (fl__conf_valid) replaced the log's
 * prefix: c is the base; the latest CONFIG entry after index, if any, stays in force. */
void fl__conf_restore(fl_raft *r, const fl_raft_conf *c, fl_index index);
bool fl__conf_valid(const fl_raft_conf *c); /* well formed and within FL_RAFT_NODES_MAX */
void fl__conf_at(const fl_raft *r, fl_index index, fl_raft_conf *out); /* as of index */
bool fl__is_voter(const fl_raft *r, fl_node_id id);
bool fl__may_campaign(const fl_raft *r);
fl_raft_progress *fl__progress(fl_raft *r, fl_node_id id);
/* The largest v that a majority of the voters reach (while joint: of both voter sets), each
 * member valued by fn (fn sees the node's own record too). Non-members are not counted. */
uint64_t fl__quorum_value(const fl_raft *r, fl__member_value fn);
int fl__change(fl_raft *r, const fl_raft_conf *want, fl_raft_update *up);
void fl__conf_committed(fl_raft *r); /* LEADER, after commit moved: finish or step down */

#endif
