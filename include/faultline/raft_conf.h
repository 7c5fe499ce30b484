/* raft_conf.h: a Raft membership configuration, and its byte form.
 *
 * A configuration lists the voters and the learners (members that receive the log but do not
 * vote or count toward any quorum). During a joint-consensus change (Raft thesis 4.3) it also
 * lists the old voters: decisions (elections, commitment) then need a majority of the old
 * voters and, separately, a majority of the new ones. n_voters_old == 0 means "not joint".
 *
 * The same encoding is the payload of an FL_RAFT_ENTRY_CONFIG log entry, and travels inside
 * InstallSnapshot and snapshot metadata, so every copy of a configuration reads the same. */
#ifndef FAULTLINE_RAFT_CONF_H
#define FAULTLINE_RAFT_CONF_H

#include "faultline/buf.h"
#include "faultline/types.h"

#define FL_RAFT_CONF_IDS_MAX 16 /* ids in each list of a configuration */
#define FL_RAFT_CONF_VERSION 1

typedef struct fl_raft_conf {
    uint32_t n_voters;
    fl_node_id voters[FL_RAFT_CONF_IDS_MAX];
    uint32_t n_voters_old; /* joint consensus: the outgoing voters; 0 when not joint */
    fl_node_id voters_old[FL_RAFT_CONF_IDS_MAX];
    uint32_t n_learners;
    fl_node_id learners[FL_RAFT_CONF_IDS_MAX];
} fl_raft_conf;

bool fl_raft_conf_is_joint(const fl_raft_conf *c);
/* A voter of the new (or only) configuration, or of the old one while joint. */
bool fl_raft_conf_is_voter(const fl_raft_conf *c, fl_node_id id);
bool fl_raft_conf_is_learner(const fl_raft_conf *c, fl_node_id id);
/* Voter (either side) or learner. */
bool fl_raft_conf_is_member(const fl_raft_conf *c, fl_node_id id);
bool fl_raft_conf_equal(const fl_raft_conf *a, const fl_raft_conf *b);

/* Returns 0 when c is well formed: at least one voter, ids nonzero, no id twice in a list,
 * no learner that is also a voter (either side). Otherwise FL_ECONFIG and a reason in why
 * (which may be NULL). */
int fl_raft_conf_check(const fl_raft_conf *c, char *why, size_t why_size);

/* Edits for one membership change, made from cur (its new side, while joint): out is cur
 * with id added as a learner / a learner id made a voter / id removed (voter or learner) /
 * voter out replaced by learner in. Returns 0, or FL_EINVAL when the edit does not apply
 * (already a member, not a learner, not a member, a list full). The Raft core decides
 * whether the change may happen now. */
int fl_raft_conf_add_learner(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out);
int fl_raft_conf_promote(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out);
int fl_raft_conf_remove(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out);
int fl_raft_conf_replace(const fl_raft_conf *cur, fl_node_id out_id, fl_node_id in_id,
                         fl_raft_conf *out);

/* Byte form, little-endian:
 *     version u8 (1), n_voters u8, n_voters_old u8, n_learners u8,
 *     then the voters, the old voters and the learners, u32 each.
 * encode appends to b and returns b->err (or FL_EINVAL for a configuration that does not
 * pass fl_raft_conf_check). decode requires the bytes to be exactly one configuration and
 * returns 0, FL_ETRUNC, FL_EVERSION or FL_ECORRUPT (malformed, or failing the check). */
int fl_raft_conf_encode(const fl_raft_conf *c, fl_buf *b);
int fl_raft_conf_decode(const uint8_t *bytes, size_t len, fl_raft_conf *c);
size_t fl_raft_conf_encoded_size(const fl_raft_conf *c);

#endif
