/* timeline.h: what each node of a run was doing over time: its role and term, crashes and
 * restarts, pauses and resumes. A runner (the simulator, or a harness polling real nodes)
 * records one event per change; reports draw one lane per node from it. Stored as JSON lines
 * (DIR/timeline.jsonl, docs/results.md):
 *
 *   {"time_ns":170000000,"node":4,"event":"role","role":"leader","term":1}
 *   {"time_ns":21000000000,"node":4,"event":"crash"}
 *
 * event is role (role: follower, pre-candidate, candidate, leader or learner; term),
 * crash, restart, pause or resume. Times are ns on the run's one clock (as in history.jsonl).
 * Repeated role lines with the same role and term are allowed (a poller may write a sample
 * every time); readers treat them as no change.
 *
 * Ownership: an fl_timeline owns its events; fl_timeline_free() releases them. */
#ifndef FAULTLINE_TIMELINE_H
#define FAULTLINE_TIMELINE_H

#include "faultline/buf.h"
#include "faultline/history.h"
#include "faultline/types.h"

typedef enum fl_tl_kind {
    FL_TL_ROLE = 0,
    FL_TL_CRASH = 1,
    FL_TL_RESTART = 2,
    FL_TL_PAUSE = 3,
    FL_TL_RESUME = 4,
    FL_TL_KINDS
} fl_tl_kind;

typedef enum fl_tl_role {
    FL_TL_FOLLOWER = 0,
    FL_TL_PRE_CANDIDATE = 1,
    FL_TL_CANDIDATE = 2,
    FL_TL_LEADER = 3,
    FL_TL_LEARNER = 4,
    FL_TL_ROLES
} fl_tl_role;

typedef struct fl_tl_event {
    fl_time_ns time_ns;
    fl_node_id node;
    uint8_t kind; /* fl_tl_kind */
    uint8_t role; /* fl_tl_role, for FL_TL_ROLE */
    fl_term term; /* for FL_TL_ROLE */
} fl_tl_event;

#define FL_TIMELINE_EVENTS_MAX ((size_t)1 << 24)

typedef struct fl_timeline {
    fl_tl_event *ev;
    size_t count, cap;
} fl_timeline;

void fl_timeline_init(fl_timeline *t);
void fl_timeline_free(fl_timeline *t);
/* Appends *e. Returns 0, FL_ENOMEM, or FL_EFULL past FL_TIMELINE_EVENTS_MAX. */
int fl_timeline_add(fl_timeline *t, const fl_tl_event *e);

const char *fl_tl_kind_name(fl_tl_kind k);
const char *fl_tl_role_name(fl_tl_role r);

/* Writes one event as a JSON line (with '\n'). */
void fl_timeline_write_event(const fl_tl_event *e, fl_buf *out);
/* Writes every event. Returns out->err. */
int fl_timeline_write_jsonl(const fl_timeline *t, fl_buf *out);
/* Appends the events of text[0..len) to t. Blank lines are skipped, unknown members ignored.
 * Returns 0, FL_ESYNTAX (err says the line and why), FL_ENOMEM or FL_EFULL. */
int fl_timeline_read_jsonl(fl_timeline *t, const char *text, size_t len, fl_history_error *err);

#endif
