/* swim_int.h: private state of the SWIM core, shared by the files of src/swim/.
 *
 * Invariants (fl_swim_invariants):
 *  1. index holds exactly the n slots in use, each findable from its member's id by linear
 *     probing from hash(id) without crossing an empty cell; ids are distinct;
 *  2. n_live counts the members in ALIVE or SUSPECT, self included; self is always a member;
 *  3. a member is SUSPECT exactly when it has a suspicion entry;
 *  4. member.bq != 0 names a queued non-user update about that member (index + 1);
 *  5. every queued entry sits in exactly one bucket list, the one of its transmit count. */
#ifndef FAULTLINE_SWIM_INT_H
#define FAULTLINE_SWIM_INT_H

#include "faultline/swim.h"

#define BUCKETS_MAX 64 /* transmit counts; the retransmit limit is capped below this */
#define IDX_NONE    UINT32_MAX

/* 16 bytes: a 10,000-member cluster keeps 160 KB per node. */
typedef struct swim_member {
    uint32_t id;
    uint32_t inc;
    uint32_t t_ms; /* DEAD/LEFT: when it became so (ms, wrapping) */
    uint8_t state;
    uint8_t pad;
    uint16_t bq; /* pending update about it: queue index + 1, 0 = none */
} swim_member;

typedef struct swim_susp {
    fl_node_id id;
    uint32_t inc;
    fl_time_ns start_ns;
    fl_time_ns deadline_ns;
    uint32_t n_conf; /* distinct suspecters, the first included */
    fl_node_id conf[FL_SWIM_CONFIRM_MAX + 1];
} swim_susp;

typedef struct swim_bcast {
    uint8_t kind;
    uint8_t transmits;
    uint16_t len;
    bool used;
    bool picked; /* chosen for the packet being filled */
    fl_node_id id;
    uint32_t inc;
    fl_node_id from;
    uint32_t user_slot;
    uint32_t prev, next;
} swim_bcast;

/* members.c */
swim_member *fl__swim_find(const fl_swim *s, fl_node_id id);
swim_member *fl__swim_add(fl_swim *s, fl_node_id id, uint32_t inc, fl_swim_state st);
void fl__swim_remove(fl_swim *s, uint32_t slot);
void fl__swim_shuffle(fl_swim *s);
int fl__swim_load(fl_swim *s, const fl_node_id *ids, uint32_t n);
uint32_t fl__swim_now_ms(const fl_swim *s);

/* bcast.c */
int fl__bq_init(fl_swim *s);
void fl__bq_free(fl_swim *s);
void fl__bq_put(fl_swim *s, const fl_swim_item *it);
/* Appends pending items to the packet at head while they fit in room bytes; returns the
 * bytes used. */
size_t fl__bq_fill(fl_swim *s, size_t head, size_t room);
bool fl__seen(fl_swim *s, fl_node_id origin, uint32_t seq); /* true if known; records it */

#endif
