/* session.c: client sessions, which make retried commands apply exactly once.
 *
 * A session remembers, per client_id, the last applied seq and a copy of its result.
 * Invariants:
 *  1. every session is in kv->sessions and in the LRU list exactly once;
 *  2. the LRU list runs from oldest to newest use, and last_used_ns never decreases along
 *     it (a session is moved to the newest end with last_used_ns = log time, which only
 *     grows), so expiry pops from the oldest end;
 *  3. kv->sessions.count <= config.sessions_max.
 * Rules for a command with seq > 0 (seq == 0 bypasses sessions):
 *   seq == last_seq  -> the cached result, nothing applied (a retry);
 *   seq <  last_seq  -> stale, nothing applied;
 *   seq >  last_seq  -> applied, result cached;
 *   no session, seq == 1 -> a session is opened (evicting the LRU one if full), applied;
 *   no session, seq > 1  -> session_expired, nothing applied: the session may have been
 *                           evicted or expired after applying this very seq, so applying
 *                           could apply it twice. The client must start over with a new
 *                           client_id. */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static void lru_unlink(fl_kv *kv, fl__kv_session *s)
{
    if (s->older)
        s->older->newer = s->newer;
    else
        kv->lru_oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else
        kv->lru_newest = s->older;
    s->older = s->newer = NULL;
}

static void lru_push_newest(fl_kv *kv, fl__kv_session *s)
{
    s->older = kv->lru_newest;
    s->newer = NULL;
    if (kv->lru_newest)
        kv->lru_newest->newer = s;
    else
        kv->lru_oldest = s;
    kv->lru_newest = s;
}

static void session_destroy(fl_kv *kv, fl__kv_session *s)
{
    lru_unlink(kv, s);
    fl__kv_table_remove(&kv->sessions, &s->node);
    free(s->value);
    free(s);
}

fl__kv_session *fl__kv_session_new(fl_kv *kv, uint64_t client_id)
{
    fl__kv_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->client_id = client_id;
    fl_put_u64le(s->key_bytes, client_id);
    fl__kv_node_key(&s->node, s->key_bytes, sizeof(s->key_bytes));
    s->status = FL_KV_OK;
    if (fl__kv_table_insert(&kv->sessions, &s->node)) {
        free(s);
        return NULL;
    }
    lru_push_newest(kv, s);
    return s;
}

/* Amortized O(1): each session is expired at most once. */
void fl__kv_sessions_expire(fl_kv *kv)
{
    fl_time_ns idle = kv->config.session_idle_ns;
    if (idle == 0)
        return;
    while (kv->lru_oldest && kv->log_time_ns - kv->lru_oldest->last_used_ns > idle)
        session_destroy(kv, kv->lru_oldest);
}

static fl__kv_session *session_find(const fl_kv *kv, uint64_t client_id)
{
    uint8_t key[8];
    fl_put_u64le(key, client_id);
    return (fl__kv_session *)fl__kv_table_find(&kv->sessions, key, sizeof(key));
}

/* Copies the cached result into kv->result_buf and *out. */
static int answer_cached(fl_kv *kv, const fl__kv_session *s, fl_kv_result *out)
{
    fl_buf_reset(&kv->result_buf);
    fl_buf_put_bytes(&kv->result_buf, s->value, s->value_len);
    if (kv->result_buf.err)
        return FL_ENOMEM;
    out->status = s->status;
    out->has_value = s->has_value;
    out->value = kv->result_buf.data;
    out->value_len = s->value_len;
    return 0;
}

int fl__kv_session_begin(fl_kv *kv, const fl_kv_cmd *cmd, fl__kv_session **sp, fl_kv_result *out)
{
    *sp = NULL;
    if (cmd->seq == 0)
        return 1;
    fl__kv_session *s = session_find(kv, cmd->client_id);
    if (s) {
        if (cmd->seq == s->last_seq) {
            int rc = answer_cached(kv, s, out);
            return rc ? rc : 0;
        }
        if (cmd->seq < s->last_seq) {
            out->status = FL_KV_STALE;
            return 0;
        }
        *sp = s;
        return 1;
    }
    if (cmd->seq != 1) {
        out->status = FL_KV_SESSION_EXPIRED;
        return 0;
    }
    if (kv->sessions.count >= kv->config.sessions_max)
        session_destroy(kv, kv->lru_oldest);
    s = fl__kv_session_new(kv, cmd->client_id);
    if (!s)
        return FL_ENOMEM;
    s->last_used_ns = kv->log_time_ns;
    *sp = s;
    return 1;
}

int fl__kv_session_finish(fl_kv *kv, fl__kv_session *s, uint64_t seq, const fl_kv_result *r)
{
    uint8_t *copy = NULL;
    if (r->value_len) {
        copy = malloc(r->value_len);
        if (!copy)
            return FL_ENOMEM;
        memcpy(copy, r->value, r->value_len);
    }
    free(s->value);
    s->value = copy;
    s->value_len = r->value_len;
    s->has_value = r->has_value;
    s->status = r->status;
    s->last_seq = seq;
    s->last_used_ns = kv->log_time_ns;
    lru_unlink(kv, s);
    lru_push_newest(kv, s);
    return 0;
}

void fl__kv_sessions_free(fl_kv *kv)
{
    while (kv->lru_oldest)
        session_destroy(kv, kv->lru_oldest);
    fl__kv_table_free(&kv->sessions);
}
