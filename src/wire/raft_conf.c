/* raft_conf.c: membership configurations (raft_conf.h): queries, validation, byte form. */
#include "faultline/raft_conf.h"

#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

static bool in_list(const fl_node_id *ids, uint32_t n, fl_node_id id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool fl_raft_conf_is_joint(const fl_raft_conf *c)
{
    return c->n_voters_old > 0;
}

bool fl_raft_conf_is_voter(const fl_raft_conf *c, fl_node_id id)
{
    return in_list(c->voters, c->n_voters, id) || in_list(c->voters_old, c->n_voters_old, id);
}

bool fl_raft_conf_is_learner(const fl_raft_conf *c, fl_node_id id)
{
    return in_list(c->learners, c->n_learners, id);
}

bool fl_raft_conf_is_member(const fl_raft_conf *c, fl_node_id id)
{
    return fl_raft_conf_is_voter(c, id) || fl_raft_conf_is_learner(c, id);
}

/* Lists compare as sets: the order of ids carries no meaning. */
static bool same_set(const fl_node_id *a, uint32_t na, const fl_node_id *b, uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (!in_list(b, nb, a[i]))
            return false;
    return true;
}

bool fl_raft_conf_equal(const fl_raft_conf *a, const fl_raft_conf *b)
{
    return same_set(a->voters, a->n_voters, b->voters, b->n_voters) &&
           same_set(a->voters_old, a->n_voters_old, b->voters_old, b->n_voters_old) &&
           same_set(a->learners, a->n_learners, b->learners, b->n_learners);
}

static int fail(char *why, size_t why_size, const char *reason, fl_node_id id)
{
    if (why && why_size)
        snprintf(why, why_size, "%s (node %u)", reason, (unsigned)id);
    return FL_ECONFIG;
}

static int check_list(const fl_node_id *ids, uint32_t n, const char *name, char *why,
                      size_t why_size)
{
    if (n > FL_RAFT_CONF_IDS_MAX) {
        if (why && why_size)
            snprintf(why, why_size, "%u %s, at most %u", (unsigned)n, name,
                     (unsigned)FL_RAFT_CONF_IDS_MAX);
        return FL_ECONFIG;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (ids[i] == FL_NODE_NONE)
            return fail(why, why_size, "node id 0 in a configuration", 0);
        if (in_list(ids, i, ids[i]))
            return fail(why, why_size, "node listed twice in a configuration", ids[i]);
    }
    return 0;
}

int fl_raft_conf_check(const fl_raft_conf *c, char *why, size_t why_size)
{
    int rc = check_list(c->voters, c->n_voters, "voters", why, why_size);
    if (!rc)
        rc = check_list(c->voters_old, c->n_voters_old, "old voters", why, why_size);
    if (!rc)
        rc = check_list(c->learners, c->n_learners, "learners", why, why_size);
    if (rc)
        return rc;
    if (c->n_voters == 0) {
        if (why && why_size)
            snprintf(why, why_size, "a configuration needs at least one voter");
        return FL_ECONFIG;
    }
    for (uint32_t i = 0; i < c->n_learners; i++)
        if (fl_raft_conf_is_voter(c, c->learners[i]))
            return fail(why, why_size, "a learner that is also a voter", c->learners[i]);
    return 0;
}

size_t fl_raft_conf_encoded_size(const fl_raft_conf *c)
{
    return 4 + 4 * (size_t)(c->n_voters + c->n_voters_old + c->n_learners);
}

int fl_raft_conf_encode(const fl_raft_conf *c, fl_buf *b)
{
    if (fl_raft_conf_check(c, NULL, 0))
        return FL_EINVAL;
    fl_buf_put_u8(b, FL_RAFT_CONF_VERSION);
    fl_buf_put_u8(b, (uint8_t)c->n_voters);
    fl_buf_put_u8(b, (uint8_t)c->n_voters_old);
    fl_buf_put_u8(b, (uint8_t)c->n_learners);
    for (uint32_t i = 0; i < c->n_voters; i++)
        fl_buf_put_u32(b, c->voters[i]);
    for (uint32_t i = 0; i < c->n_voters_old; i++)
        fl_buf_put_u32(b, c->voters_old[i]);
    for (uint32_t i = 0; i < c->n_learners; i++)
        fl_buf_put_u32(b, c->learners[i]);
    return b->err;
}

static void read_ids(fl_reader *rd, fl_node_id *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        ids[i] = fl_read_u32(rd);
}

int fl_raft_conf_decode(const uint8_t *bytes, size_t len, fl_raft_conf *c)
{
    fl_reader rd;
    fl_reader_init(&rd, bytes, len);
    memset(c, 0, sizeof(*c));
    uint8_t version = fl_read_u8(&rd);
    c->n_voters = fl_read_u8(&rd);
    c->n_voters_old = fl_read_u8(&rd);
    c->n_learners = fl_read_u8(&rd);
    if (rd.err)
        return FL_ETRUNC;
    if (version != FL_RAFT_CONF_VERSION)
        return FL_EVERSION;
    if (c->n_voters > FL_RAFT_CONF_IDS_MAX || c->n_voters_old > FL_RAFT_CONF_IDS_MAX ||
        c->n_learners > FL_RAFT_CONF_IDS_MAX)
        return FL_ECORRUPT;
    read_ids(&rd, c->voters, c->n_voters);
    read_ids(&rd, c->voters_old, c->n_voters_old);
    read_ids(&rd, c->learners, c->n_learners);
    if (rd.err)
        return FL_ETRUNC;
    if (fl_reader_left(&rd) || fl_raft_conf_check(c, NULL, 0))
        return FL_ECORRUPT;
    return 0;
}

/* ---- edits ------------------------------------------------------------------------------- */

static bool drop_id(fl_node_id *ids, uint32_t *n, fl_node_id id)
{
    for (uint32_t i = 0; i < *n; i++)
        if (ids[i] == id) {
            memmove(&ids[i], &ids[i + 1], (*n - i - 1) * sizeof(ids[0]));
            (*n)--;
            return true;
        }
    return false;
}

static void edit_base(const fl_raft_conf *cur, fl_raft_conf *out)
{
    *out = *cur;
    out->n_voters_old = 0;
    memset(out->voters_old, 0, sizeof(out->voters_old));
}

int fl_raft_conf_add_learner(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out)
{
    edit_base(cur, out);
    if (id == FL_NODE_NONE || fl_raft_conf_is_member(out, id) ||
        out->n_learners == FL_RAFT_CONF_IDS_MAX)
        return FL_EINVAL;
    out->learners[out->n_learners++] = id;
    return 0;
}

int fl_raft_conf_promote(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out)
{
    edit_base(cur, out);
    if (out->n_voters == FL_RAFT_CONF_IDS_MAX || !drop_id(out->learners, &out->n_learners, id))
        return FL_EINVAL;
    out->voters[out->n_voters++] = id;
    return 0;
}

int fl_raft_conf_remove(const fl_raft_conf *cur, fl_node_id id, fl_raft_conf *out)
{
    edit_base(cur, out);
    if (!drop_id(out->voters, &out->n_voters, id) && !drop_id(out->learners, &out->n_learners, id))
        return FL_EINVAL;
    return 0;
}

int fl_raft_conf_replace(const fl_raft_conf *cur, fl_node_id out_id, fl_node_id in_id,
                         fl_raft_conf *out)
{
    edit_base(cur, out);
    if (!drop_id(out->voters, &out->n_voters, out_id) ||
        !drop_id(out->learners, &out->n_learners, in_id))
        return FL_EINVAL;
    out->voters[out->n_voters++] = in_id;
    return 0;
}
