/* kv.c: the kv state machine's entry points: init / close, apply (decode, log time, session
 * check, execute, cache), local get, digest, and names.
 *
 * Invariants: applied_index only grows; log_time_ns only grows (it is the max of the time_ns
 * of every decoded command); after an apply no key's expiry is at or before the log time;
 * once err is set (FL_ENOMEM) every apply returns it, because the
 * state may be half-updated and this replica must not go on diverging silently. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"
#include "faultline/rng.h"

#include <string.h>

void fl_kv_config_default(fl_kv_config *c)
{
    memset(c, 0, sizeof(*c));
    c->key_size_max = 1024;
    c->value_size_max = 1024 * 1024;
    c->sessions_max = 4096;
    c->session_idle_ns = 3600 * FL_NS_PER_S;
    c->hash_seed = 0x6b762d7365656431ull;
    c->elements_max = (size_t)1 << 24;
    c->result_size_max = (size_t)64 << 20;
}

int fl_kv_init(fl_kv *kv, const fl_kv_config *config)
{
    memset(kv, 0, sizeof(*kv));
    if (config)
        kv->config = *config;
    else
        fl_kv_config_default(&kv->config);
    const fl_kv_config *c = &kv->config;
    if (c->sessions_max == 0 || c->value_size_max > UINT32_MAX || c->key_size_max > UINT32_MAX)
        return FL_ECONFIG;
    if (c->elements_max == 0 || c->elements_max > UINT32_MAX || c->result_size_max > UINT32_MAX ||
        c->result_size_max < 16)
        return FL_ECONFIG; /* counts and results are encoded with u32 lengths */
    fl__kv_table_init(&kv->data, c->hash_seed);
    fl__kv_table_init(&kv->sessions, fl_mix64(c->hash_seed));
    fl_buf_init(&kv->result_buf);
    return 0;
}

void fl_kv_close(fl_kv *kv)
{
    fl__kv_sessions_free(kv);
    fl__kv_data_free(kv);
    fl_buf_free(&kv->result_buf);
    memset(kv, 0, sizeof(*kv));
}

static int latch(fl_kv *kv, int rc)
{
    if (rc < 0)
        kv->err = rc;
    return rc;
}

int fl_kv_apply_cmd(fl_kv *kv, fl_index index, const fl_kv_cmd *cmd, fl_kv_result *out)
{
    memset(out, 0, sizeof(*out));
    if (kv->err)
        return kv->err;
    if (index <= kv->applied_index) {
        out->status = FL_KV_STALE;
        return FL_ESTALE;
    }
    kv->applied_index = index;
    if (cmd->time_ns > kv->log_time_ns)
        kv->log_time_ns = cmd->time_ns;
    fl__kv_sessions_expire(kv);
    fl__kv_expire_due(kv);
    fl__kv_session *s;
    kv->result_limit = kv->config.result_size_max;
    int rc = fl__kv_session_begin(kv, cmd, &s, out);
    if (rc <= 0)
        return latch(kv, rc);
    rc = fl__kv_execute(kv, cmd, out);
    if (rc == 0 && s)
        rc = fl__kv_session_finish(kv, s, cmd->seq, out);
    return latch(kv, rc);
}

int fl_kv_apply(fl_kv *kv, fl_index index, const uint8_t *entry, size_t len, fl_kv_result *out)
{
    fl_kv_cmd cmd;
    if (fl_kv_cmd_decode(entry, len, &cmd) == 0)
        return fl_kv_apply_cmd(kv, index, &cmd, out);
    memset(out, 0, sizeof(*out));
    if (kv->err)
        return kv->err;
    if (index <= kv->applied_index) {
        out->status = FL_KV_STALE;
        return FL_ESTALE;
    }
    kv->applied_index = index; /* the entry is committed: consumed, with the same answer */
    out->status = FL_KV_BAD_COMMAND;
    return 0;
}

int fl_kv_read(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out)
{
    memset(out, 0, sizeof(*out));
    if (kv->err)
        return kv->err;
    if (!fl_kv_op_is_read(cmd->op))
        return FL_EINVAL;
    kv->result_limit = kv->config.result_size_max;
    return latch(kv, fl__kv_execute(kv, cmd, out));
}

int fl_kv_get(const fl_kv *kv, const uint8_t *key, size_t key_len, const uint8_t **value,
              size_t *value_len)
{
    fl__kv_entry *e = fl__kv_entry_find(kv, key, key_len);
    if (!e)
        return FL_ENOTFOUND;
    if (e->type != FL__KV_STRING)
        return FL_ETYPE;
    *value = e->value;
    *value_len = e->value_len;
    return 0;
}

/* Seeds of the digest, fixed so that the digest does not depend on config.hash_seed. */
#define DIGEST_KEY   0x6469676573746b31ull
#define DIGEST_VALUE 0x6469676573747631ull

/* A collection's elements folded in their order (the order is state: SMEMBERS, HGETALL and
 * SPOP depend on it), each element's bytes hashed; a hash's values and a zset's scores
 * too. */
static uint64_t digest_coll(const fl__kv_entry *e)
{
    uint64_t h = fl_mix64(e->type);
    if (e->type == FL__KV_LIST) {
        const fl__kv_list *l = e->coll;
        for (size_t i = 0; i < l->count; i++) {
            const fl__kv_blob *x = fl__kv_list_at(l, i);
            h = fl_mix64(h ^ fl__kv_hash(DIGEST_VALUE, x->bytes, x->len));
        }
    } else if (e->type == FL__KV_ZSET) {
        const fl__kv_zset *z = e->coll;
        for (const fl__kv_znode *x = z->head->link[0].next; x; x = x->link[0].next) {
            uint64_t bits;
            memcpy(&bits, &x->score, sizeof(bits));
            h = fl_mix64(h ^ fl__kv_hash(DIGEST_VALUE, x->node.key, x->node.key_len) ^
                         fl_mix64(bits));
        }
    } else {
        const fl__kv_dict *d = e->coll;
        for (size_t i = 0; i < d->used; i++) {
            const fl__kv_member *m = d->order[i];
            if (m)
                h = fl_mix64(h ^ fl__kv_hash(DIGEST_VALUE, m->bytes, m->node.key_len) ^
                             fl__kv_hash(DIGEST_KEY, m->value, m->value_len));
        }
    }
    return h;
}

/* Sum of a hash per entry: independent of insertion order and table layout. */
static uint64_t digest_data(const fl_kv *kv)
{
    uint64_t sum = 0;
    size_t b;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        const fl__kv_entry *e = (const fl__kv_entry *)n;
        uint64_t hk = fl__kv_hash(DIGEST_KEY, n->key, n->key_len);
        uint64_t hv = e->type == FL__KV_STRING ? fl__kv_hash(DIGEST_VALUE, e->value, e->value_len)
                                               : digest_coll(e);
        hv = fl_mix64(hv ^ fl_mix64(e->expire_at ^ fl_mix64(e->mod_index)));
        sum += fl_mix64(hk ^ fl_mix64(hv));
    }
    return sum;
}

/* Folded in LRU order, which is part of the state (it decides the next eviction). */
static uint64_t digest_sessions(const fl_kv *kv)
{
    uint64_t h = 0;
    for (const fl__kv_session *s = kv->lru_oldest; s; s = s->newer) {
        uint64_t r = fl__kv_hash(DIGEST_VALUE, s->value, s->value_len);
        r = fl_mix64(r ^ ((uint64_t)s->status | (uint64_t)s->has_value << 8));
        r = fl_mix64(r ^ s->last_used_ns);
        r = fl_mix64(r ^ s->last_seq);
        h = fl_mix64(h ^ fl_mix64(r ^ s->client_id));
    }
    return h;
}

uint64_t fl_kv_digest(const fl_kv *kv)
{
    uint64_t h = fl_mix64(digest_data(kv) ^ (uint64_t)kv->data.count);
    h = fl_mix64(h ^ digest_sessions(kv));
    h = fl_mix64(h ^ kv->applied_index);
    h = fl_mix64(h ^ kv->delete_index);
    return fl_mix64(h ^ kv->log_time_ns);
}

const char *fl_kv_status_name(fl_kv_status s)
{
    static const char *const names[FL_KV_STATUS_COUNT] = {
        "ok",    "not_found",       "cas_mismatch", "type_error",  "too_big",    "overflow",
        "stale", "session_expired", "bad_command",  "not_applied", "wrong_type", "out_of_range"};
    return (unsigned)s < FL_KV_STATUS_COUNT ? names[s] : "?";
}

const char *fl_kv_op_name(fl_kv_op op)
{
    static const char *const names[FL_KV_OP_COUNT] = {
        "noop",   "get",           "put",       "delete",  "append",      "incr",   "cas",
        "set",    "mset",          "del",       "getdel",  "getex",       "expire", "persist",
        "ttl",    "flush",         "multi",     "mget",    "exists",      "strlen", "type",
        "keys",   "scan",          "dbsize",    "index",   "push",        "pop",    "llen",
        "lrange", "lindex",        "lset",      "lrem",    "ltrim",       "sadd",   "srem",
        "spop",   "smembers",      "sismember", "scard",   "srandmember", "hset",   "hmget",
        "hdel",   "hgetall",       "hlen",      "hexists", "hincrby",     "zadd",   "zpop",
        "zrange", "zrangebyscore", "zscore",    "zcard",   "zrem",        "zrank"};
    return (unsigned)op < FL_KV_OP_COUNT ? names[op] : "?";
}
