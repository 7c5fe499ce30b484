/* kv_internal.h: the private structures of kv/ (hash table nodes, entries, sessions) and the
 * functions the kv/ files share. Not part of the public API. */
#ifndef FAULTLINE_KV_INTERNAL_H
#define FAULTLINE_KV_INTERNAL_H

#include "faultline/assert.h"
#include "faultline/kv.h"

#include <stddef.h>

/* An intrusive hash table node: embedded first in an entry or a session. The key bytes are
 * owned by the containing object. The hash and the length take 32 bits each (a key is at
 * most UINT32_MAX bytes: the codec's and fl_kv_config's bound), so that the node is 24
 * bytes: there is one per key, set member, hash field and sorted set member. */
struct fl__kv_node {
    fl__kv_node *next; /* bucket chain */
    const uint8_t *key;
    uint32_t hash; /* the low 32 bits of fl__kv_hash: tables stop doubling at 2^32 buckets */
    uint32_t key_len;
};

/* Sets n's key to the n bytes at p, which its containing object owns. */
static inline void fl__kv_node_key(fl__kv_node *n, const uint8_t *p, size_t len)
{
    FL_ASSERT(len <= UINT32_MAX); /* the codec and restore bound every key and member */
    n->key = p;
    n->key_len = (uint32_t)len;
}

/* A planted bug (fl_kv_config.mutants), tested at the line of the rule it breaks. */
#define MUTANT(kv, m) (((kv)->config.mutants & FL_KV_MUTANT_##m) != 0)

/* The type of a key's value (TYPE's names in fl__kv_type_name). */
enum { FL__KV_STRING, FL__KV_LIST, FL__KV_SET, FL__KV_HASH, FL__KV_ZSET, FL__KV_TYPES };

/* A key-value pair. The key is stored inline after the struct. A string's value is a separate
 * allocation so that append can grow it (amortized O(1) by doubling, up to value_size_max);
 * a list, set, hash or zset is in coll, and value_len counts its element bytes (list
 * elements, set members, hash fields and values, zset members plus 8 per score), so that
 * kv->data_bytes covers every type alike. There is one per key: the fields are ordered and
 * sized so that the key bytes start at offset 73 (FL__KV_ENTRY_HEAD), not after 104 bytes
 * as they did (a 14-byte key: a 96-byte block instead of 128 with malloc's header). */
struct fl__kv_entry {
    fl__kv_node node;
    uint8_t *value; /* a string's bytes; NULL when value_cap == 0 (always for collections) */
    void *coll;     /* fl__kv_list, fl__kv_dict (set, hash) or fl__kv_zset; NULL: a string */
    size_t value_len;
    fl_index mod_index;   /* the index of the entry that last changed this key */
    fl_time_ns expire_at; /* 0 = no time to live; else in kv->expiring at heap_pos */
    uint32_t heap_pos;    /* FL__KV_NO_HEAP_POS when not in the heap */
    uint32_t value_cap;   /* <= value_size_max <= UINT32_MAX */
    uint8_t type;         /* FL__KV_... */
    uint8_t key_bytes[];
};
#define FL__KV_ENTRY_HEAD  offsetof(fl__kv_entry, key_bytes) /* bytes before the key */
#define FL__KV_NO_HEAP_POS UINT32_MAX

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

/* A list element (list.c). */
typedef struct fl__kv_blob {
    size_t len;
    uint8_t bytes[];
} fl__kv_blob;

/* A list (list.c): a ring of element pointers, head first. O(1) push, pop and index. */
typedef struct fl__kv_list {
    fl__kv_blob **ring; /* cap slots, a power of two (or 0) */
    size_t cap, head, count;
} fl__kv_list;

/* A set member or a hash field (dict.c). The bytes are inline after the struct. */
typedef struct fl__kv_member {
    fl__kv_node node; /* key = the member's bytes */
    size_t pos;       /* its slot in the dict's order */
    uint8_t *value;   /* a hash field's value (NULL when empty); unused in sets */
    size_t value_len;
    uint8_t bytes[];
} fl__kv_member;

/* A set or a hash (dict.c): members by bytes, and their order. A hash keeps the order fields
 * were added in (a removal leaves a hole, compacted when holes outnumber members); a set
 * moves its last member into the removed one's slot, so the order stays dense and a pick
 * by position (SPOP) is O(1). Either way the order is replicated state. */
typedef struct fl__kv_dict {
    fl__kv_table table;
    fl__kv_member **order; /* used slots; NULL = a hole (hashes only) */
    size_t used, cap;
    bool stable; /* a hash */
} fl__kv_dict;

/* A sorted set (zset.c): members by bytes, and a skip list ordered by (score, member bytes)
 * whose links carry spans (how many members they pass) so that ranks are O(log n). */
#define FL__KV_ZLEVELS 32
typedef struct fl__kv_znode fl__kv_znode;
typedef struct fl__kv_zlink {
    fl__kv_znode *next;
    size_t span;
} fl__kv_zlink;
struct fl__kv_znode {
    fl__kv_node node; /* key = the member's bytes, after the links */
    double score;
    fl__kv_znode *back; /* level 0, NULL for the first */
    uint32_t height;
    fl__kv_zlink link[];
};
typedef struct fl__kv_zset {
    fl__kv_table table;
    fl__kv_znode *head; /* FL__KV_ZLEVELS links, no member */
    fl__kv_znode *tail;
    uint32_t height; /* levels in use, >= 1 */
} fl__kv_zset;

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
/* A new string entry for key (not present), empty. NULL: out of memory. */
fl__kv_entry *fl__kv_entry_new(fl_kv *kv, const uint8_t *key, size_t key_len);
void fl__kv_coll_free(fl__kv_entry *e); /* frees e's collection; e becomes a string */

/* coll.c: what the collection types share. */
static inline int fl__kv_status(fl_kv_result *out, fl_kv_status st)
{
    out->status = st;
    return 0;
}
/* The entry of key if it holds type; NULL if the key is missing or (*wrong set) holds
 * another type. */
fl__kv_entry *fl__kv_typed(const fl_kv *kv, const uint8_t *key, size_t key_len, uint8_t type,
                           bool *wrong);
/* The entry at c's key if it holds type (*e NULL for a missing key): true; false, with
 * out->status wrong_type, if the key holds another type. */
bool fl__kv_lookup(const fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl__kv_entry **e,
                   fl_kv_result *out);
/* Whether c's argument list, elements of `per` arguments each, may be added to e (NULL: a
 * new key): ok, bad_command (none, or not whole elements), or too_big (elements_max, or an
 * argument over value_size_max). */
fl_kv_status fl__kv_adds_fit(const fl_kv *kv, const fl__kv_entry *e, const fl_kv_cmd *c,
                             uint32_t per);
/* LLEN, SCARD, HLEN, ZCARD: the element count of c's key of type. */
int fl__kv_card(fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl_kv_result *out);
/* SREM, HDEL, ZREM: removes c's arguments from the set, hash or zset at c's key. */
int fl__kv_remove_members(fl_kv *kv, const fl_kv_cmd *c, uint8_t type, fl_kv_result *out);
/* A new empty collection of type at key (which must be missing). NULL: out of memory. */
fl__kv_entry *fl__kv_coll_new(fl_kv *kv, const uint8_t *key, size_t key_len, uint8_t type);
/* The entry changed by n element bytes (grew or shrank): byte counts and mod_index. */
void fl__kv_grew(fl_kv *kv, fl__kv_entry *e, size_t n);
void fl__kv_shrank(fl_kv *kv, fl__kv_entry *e, size_t n);
/* The number of elements of a collection entry (0 for a string). */
size_t fl__kv_coll_count(const fl__kv_entry *e);
/* Deletes a collection entry that a command emptied; true if it did. */
bool fl__kv_coll_gone(fl_kv *kv, fl__kv_entry *e);
const char *fl__kv_type_name(uint8_t type);

/* list.c. Errors: FL_ENOMEM only. */
fl__kv_list *fl__kv_list_new(void);
void fl__kv_list_free(fl__kv_list *l);
int fl__kv_list_push(fl__kv_list *l, bool left, const uint8_t *p, size_t n);
fl__kv_blob *fl__kv_list_at(const fl__kv_list *l, size_t i); /* i < count */
void fl__kv_list_pop(fl__kv_list *l, bool left);             /* frees the element */
/* Replaces element i. Returns 0 or FL_ENOMEM (the old one kept). */
int fl__kv_list_set(fl__kv_list *l, size_t i, const uint8_t *p, size_t n);
/* Removes up to limit elements equal to (p, n) (0: all), from the tail if !from_head.
 * Returns how many; *bytes gets their total length. O(count). */
size_t fl__kv_list_rem(fl__kv_list *l, size_t limit, bool from_head, const uint8_t *p, size_t n,
                       size_t *bytes);

/* dict.c. Errors: FL_ENOMEM only. */
fl__kv_dict *fl__kv_dict_new(uint64_t seed, bool stable);
void fl__kv_dict_free(fl__kv_dict *d);
fl__kv_member *fl__kv_dict_find(const fl__kv_dict *d, const uint8_t *p, size_t n);
/* Adds member (p, n), which is not present, at the end of the order. NULL: out of memory. */
fl__kv_member *fl__kv_dict_add(fl__kv_dict *d, const uint8_t *p, size_t n);
void fl__kv_dict_remove(fl__kv_dict *d, fl__kv_member *m); /* frees m */
/* Sets a hash field's value. Returns 0 or FL_ENOMEM (the old value kept). */
int fl__kv_member_set_value(fl__kv_member *m, const uint8_t *p, size_t n);
/* The member at order slot i (NULL for a hole); i < used. */
static inline fl__kv_member *fl__kv_dict_slot(const fl__kv_dict *d, size_t i)
{
    return d->order[i];
}

/* zset.c. Errors: FL_ENOMEM only. Ranks count from 0 at the lowest score. */
fl__kv_zset *fl__kv_zset_new(uint64_t seed);
void fl__kv_zset_free(fl__kv_zset *z);
fl__kv_znode *fl__kv_zset_find(const fl__kv_zset *z, const uint8_t *p, size_t n);
/* Inserts member (p, n), which is not present. NULL: out of memory. */
fl__kv_znode *fl__kv_zset_insert(fl__kv_zset *z, const uint8_t *p, size_t n, double score);
void fl__kv_zset_delete(fl__kv_zset *z, fl__kv_znode *x); /* frees x */
/* Moves x to a new score (x stays valid). */
void fl__kv_zset_rescore(fl__kv_zset *z, fl__kv_znode *x, double score);
size_t fl__kv_zset_rank(const fl__kv_zset *z, const fl__kv_znode *x);
fl__kv_znode *fl__kv_zset_at(const fl__kv_zset *z, size_t rank); /* rank < count */
/* The first node whose score is above min (at or above unless excl), or NULL. */
fl__kv_znode *fl__kv_zset_first_from(const fl__kv_zset *z, double min, bool excl);
/* The last node whose score is below max (at or below unless excl), or NULL. */
fl__kv_znode *fl__kv_zset_last_to(const fl__kv_zset *z, double max, bool excl);
bool fl__kv_zset_ok(const fl__kv_zset *z); /* structure, for fl_kv_invariants */

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
/* The same without the result limit: for answers of a few bytes (integers, scores), which a
 * write that already happened must be able to give. */
int fl__kv_result_copy(fl_kv *kv, fl_kv_result *out, fl_kv_status status, const uint8_t *p,
                       size_t n);
int fl__kv_result_int(fl_kv *kv, fl_kv_result *out, int64_t v);
/* An integer as Redis writes one: optional '-', digits without a leading zero, in the int64
 * range (INCR's and HINCRBY's rule). */
bool fl__kv_parse_i64(const uint8_t *p, size_t n, int64_t *out);

/* A list result built in place in kv->result_buf, within kv->result_limit: begin, items
 * (p NULL: a nil item), end. end sets *out to ok with the list, or too_big (and an empty
 * result) if it went over the limit; returns 0 or FL_ENOMEM. */
void fl__kv_out_begin(fl_kv *kv);
void fl__kv_out_item(fl_kv *kv, const void *p, size_t n);
void fl__kv_out_score(fl_kv *kv, double score);                      /* as text, "%.17g" */
int fl__kv_result_score(fl_kv *kv, fl_kv_result *out, double score); /* a single score */
bool fl__kv_out_over(const fl_kv *kv);
int fl__kv_out_end(fl_kv *kv, fl_kv_result *out);
/* The bytes one item adds to a list result. */
static inline size_t fl__kv_out_cost(size_t n)
{
    return 5 + n;
}
/* Redis's index range: start and stop (negative from the end) clamped to [0, count); false
 * if empty. */
bool fl__kv_range(int64_t start, int64_t stop, size_t count, size_t *from, size_t *to);

/* ops_redis.c: SET, MSET, DEL, GETDEL, GETEX, EXPIRE, PERSIST, TTL, FLUSH. */
int fl__kv_execute_redis(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
/* reads.c: MGET, EXISTS, STRLEN, TYPE, KEYS, SCAN, DBSIZE, INDEX (and GET). */
int fl__kv_execute_read(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
bool fl__kv_glob(const uint8_t *pat, size_t pn, const uint8_t *s, size_t sn);
/* ops_list.c, ops_set.c, ops_hash.c, ops_zset.c: the collection commands. */
int fl__kv_execute_list(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
int fl__kv_execute_set(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
int fl__kv_execute_hash(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
int fl__kv_execute_zset(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);
/* multi.c: a transaction. */
int fl__kv_execute_multi(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);

#endif
