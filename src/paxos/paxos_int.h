/* paxos_int.h: functions shared by the files of paxos/ (private to the module). */
#ifndef FL_PAXOS_INT_H
#define FL_PAXOS_INT_H

#include "faultline/paxos.h"

#define MUTANT(p, m) (((p)->cfg.mutants & FL_PAXOS_MUTANT_##m) != 0)

#define FL__PROMISE_BYTES_MAX (16u << 20) /* payload bytes in one PROMISE (one slot at least) */
/* Slots one phase 1 may cover past its first: a promise claiming more is refused rather than
 * make the candidate allocate without bound (open slots are bounded by uncommitted_max). */
#define FL__P1_SLOTS_MAX ((fl_index)1 << 20)

/* log.c: the slot log */
int fl__px_log_reserve(fl_paxos *p, fl_index slot); /* grows the log with EMPTY slots up to slot */
/* Sets slot (>= first_index) to value at ballot, copying the data. */
int fl__px_log_set(fl_paxos *p, fl_index slot, fl_term ballot, uint8_t type, const uint8_t *data,
                   uint32_t len);
void fl__px_log_compact(fl_paxos *p, fl_index upto); /* drops slots <= upto */
void fl__px_log_free(fl_paxos *p);
int fl__px_entry_copy(fl_paxos_entry *dst, const fl_paxos_entry *src); /* owned copy of data */
void fl__px_entry_free(fl_paxos_entry *e);
fl_paxos_entry *fl__px_slot(fl_paxos *p, fl_index slot); /* NULL outside the log */

/* persist.c: durability, held answers, outbox, the update */
fl_paxos_msg *fl__px_out(fl_paxos *p, uint8_t type, fl_node_id to);
void fl__px_hold(fl_paxos *p, const fl_paxos_msg *m); /* send once everything so far is durable */
void fl__px_persisted(fl_paxos *p, uint64_t seq);
void fl__px_begin_step(fl_paxos *p, fl_time_ns now);
void fl__px_finish_step(fl_paxos *p, fl_paxos_update *up);
void fl__px_promise_fill(fl_paxos *p, fl_paxos_msg *m); /* a PROMISE's slots, from the log */

/* elect.c: ballots, the failure detector, phase 1 */
void fl__px_reset_election_timer(fl_paxos *p);
void fl__px_tick_election(fl_paxos *p);
void fl__px_campaign(fl_paxos *p);
/* A higher ballot was seen (promised to, or refused with): stop leading or campaigning;
 * back off, or (no_backoff) campaign again at once when we were preempted. */
void fl__px_preempted(fl_paxos *p, fl_term seen);
/* A leader's ACCEPT or snapshot at ballot >= our promise: promise it, follow its sender. */
void fl__px_follow(fl_paxos *p, fl_term ballot, fl_node_id leader);
void fl__px_recv_prepare(fl_paxos *p, const fl_paxos_msg *m);
void fl__px_recv_promise(fl_paxos *p, const fl_paxos_msg *m);
void fl__px_check_self_promise(fl_paxos *p);
bool fl__px_in_lease(const fl_paxos *p); /* ignore other proposers' PREPAREs */
fl_paxos_peer *fl__px_peer(fl_paxos *p, fl_node_id id);
void fl__px_rec_free(fl_paxos *p);

/* accept.c: phase 2, learning, catch-up */
void fl__px_become_leader(fl_paxos *p);
void fl__px_tick_leader(fl_paxos *p);
void fl__px_recv_accept(fl_paxos *p, const fl_paxos_msg *m);
/* Phase 2 (ACCEPT or SNAPSHOT) below our promise: answer ACCEPTED ok = false with it. */
void fl__px_refuse(fl_paxos *p, const fl_paxos_msg *m, uint64_t ctx);
void fl__px_recv_accepted(fl_paxos *p, const fl_paxos_msg *m);
void fl__px_replicate_all(fl_paxos *p);
void fl__px_heartbeat_all(fl_paxos *p);
void fl__px_maybe_commit(fl_paxos *p);
void fl__px_self_accepted(fl_paxos *p, fl_index from, fl_index last); /* own acceptance durable */
uint64_t fl__px_next_ctx(fl_paxos *p);
/* A response echoing ctx from another member to this leader at its ballot: marks it active
 * and records the round; returns its peer record, or NULL. */
fl_paxos_peer *fl__px_response_from(fl_paxos *p, const fl_paxos_msg *m, uint64_t ctx);
void fl__px_follower_learn(fl_paxos *p, fl_index leader_commit);

/* snapshot.c */
int fl__px_take_snapshot(fl_paxos *p, fl_index index, uint64_t size, uint32_t crc);
void fl__px_send_snapshot(fl_paxos *p, fl_paxos_peer *pr);
void fl__px_recv_snapshot(fl_paxos *p, const fl_paxos_msg *m);
void fl__px_recv_snapshot_resp(fl_paxos *p, const fl_paxos_msg *m);
void fl__px_install_durable(fl_paxos *p);

/* read.c */
int fl__px_read(fl_paxos *p, uint64_t ctx);
void fl__px_reads_advance(fl_paxos *p);
void fl__px_reads_fail_all(fl_paxos *p);

/* quorum.c-like helpers (paxos.c) */
typedef uint64_t (*fl__px_peer_value)(const fl_paxos *p, const fl_paxos_peer *pr);
/* The largest v that q members reach, each valued by fn (fn sees our own record too). */
uint64_t fl__px_quorum_value(const fl_paxos *p, fl__px_peer_value fn, uint32_t q);

#endif
