/* kv_internal.h: the private structures of kv/ (hash table nodes, entries, sessions) and the
 * functions the kv/ files share. Not part of the public API. */
#ifndef FAULTLINE_KV_INTERNAL_H
#define FAULTLINE_KV_INTERNAL_H

#include "faultline/kv.h"

/* An intrusive hash table node: embedded first in an entry or a session. The key bytes are
 * owned by the containing object. */
struct fl__kv_node {
    fl__kv_node *next; /* bucket chain */
    uint64_t hash;
    const uint8_t *key;
    size_t key_len;
};

/* A key-value pair. The key is stored inline after the struct; the value is a separate
 * allocation so that append can grow it (amortized O(1) by doubling, up to value_size_max). */
struct fl__kv_entry {
    fl__kv_node node;
    uint8_t *value; /* NULL when value_cap == 0 */
    size_t value_len;
    size_t value_cap;
    fl_time_ns expire_at; /* 0 = no time to live; else in kv->expiring at heap_pos */
    size_t heap_pos;
    fl_index mod_index; /* the index of the entry that last changed this key */
    uint8_t key_bytes[];
};

/* A client session: the last applied seq and its result, linked into the LRU list. */
struct fl__kv_session {
    fl__kv_node node;
    uint8_t key_bytes[8]; /* client_id, little-endian: the hash table key */
    uint64_t client_id;
    uint64_t last_seq;
    fl_time_ns last_used_ns; /* log time when last_seq was applied */
    fl__kv_session *older;
    fl__kv_session *newer;
    fl_kv_status status; /* the cached result of last_seq */
    bool has_value;
    uint8_t *value; /* owned copy, NULL when value_len == 0 */
    size_t value_len;
};

/* table.c: chained hash table of byte keys, doubling when count exceeds the bucket count. */
void fl__kv_table_init(fl__kv_table *t, uint64_t seed);
/* Frees the bucket array only; the caller frees the nodes first (see fl__kv_table_first). */
void fl__kv_table_free(fl__kv_table *t);
uint64_t fl__kv_hash(uint64_t seed, const uint8_t *p, size_t n);
fl__kv_node *fl__kv_table_find(const fl__kv_table *t, const uint8_t *key, size_t key_len);
/* Inserts n (whose key is not present) after setting n->hash. Returns 0 or FL_ENOMEM. */
int fl__kv_table_insert(fl__kv_table *t, fl__kv_node *n);
void fl__kv_table_remove(fl__kv_table *t, fl__kv_node *n);
/* Iteration in bucket order (NOT deterministic across seeds; sort before serializing). */
fl__kv_node *fl__kv_table_first(const fl__kv_table *t, size_t *bucket);
fl__kv_node *fl__kv_table_next(const fl__kv_table *t, size_t *bucket, fl__kv_node *n);

/* data.c: entries. */
fl__kv_entry *fl__kv_entry_find(const fl_kv *kv, const uint8_t *key, size_t key_len);
/* Sets key to a copy of value (creating the entry). Returns 0 or FL_ENOMEM. */
int fl__kv_entry_set(fl_kv *kv, const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len);
/* Appends to an existing entry's value. Returns 0 or FL_ENOMEM. */
int fl__kv_entry_append(fl_kv *kv, fl__kv_entry *e, const uint8_t *value, size_t value_len);
void fl__kv_entry_delete(fl_kv *kv, fl__kv_entry *e);
void fl__kv_data_free(fl_kv *kv);

/* expire.c: the keys with a time to live, a min-heap by expiry time (ties by key bytes, so
 * the order never depends on addresses). */
/* Sets (at != 0) or clears (at == 0) e's expiry. Returns 0 or FL_ENOMEM. */
int fl__kv_expire_set(fl_kv *kv, fl__kv_entry *e, fl_time_ns at);
/* Deletes every key whose expiry is at or before the log time. */
void fl__kv_expire_due(fl_kv *kv);
void fl__kv_expire_free(fl_kv *kv);
bool fl__kv_expire_ok(const fl_kv *kv); /* heap order and positions, for fl_kv_invariants */

/* session.c: exactly-once. */
void fl__kv_sessions_expire(fl_kv *kv);
/* Decides whether cmd must execute. Returns 1 (execute; *s is the session to record into
 * afterwards, or NULL without a session), 0 (answered: *out is set from the cache or is
 * stale / session_expired), or FL_ENOMEM. */
int fl__kv_session_begin(fl_kv *kv, const fl_kv_cmd *cmd, fl__kv_session **s, fl_kv_result *out);
/* Records the result of the executed seq in s. Returns 0 or FL_ENOMEM. */
int fl__kv_session_finish(fl_kv *kv, fl__kv_session *s, uint64_t seq, const fl_kv_result *r);
/* Creates a session at the newest end of the LRU list (restore uses it too). */
fl__kv_session *fl__kv_session_new(fl_kv *kv, uint64_t client_id);
void fl__kv_sessions_free(fl_kv *kv);

/* ops.c: executes one command against the data; the result value is written to
 * kv->result_buf. Returns 0 or FL_ENOMEM. */
int fl__kv_execute(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
/* Sets *out to status with a copy of (p, n) as its value. Returns 0 or FL_ENOMEM. */
int fl__kv_result_value(fl_kv *kv, fl_kv_result *out, fl_kv_status status, const uint8_t *p,
                        size_t n);
int fl__kv_result_int(fl_kv *kv, fl_kv_result *out, int64_t v);

/* ops_redis.c: SET, MSET, DEL, GETDEL, GETEX, EXPIRE, PERSIST, TTL, FLUSH. */
int fl__kv_execute_redis(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
/* reads.c: MGET, EXISTS, STRLEN, TYPE, KEYS, SCAN, DBSIZE, INDEX (and GET). */
int fl__kv_execute_read(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
bool fl__kv_glob(const uint8_t *pat, size_t pn, const uint8_t *s, size_t sn);
/* multi.c: a transaction. */
int fl__kv_execute_multi(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);

#endif
