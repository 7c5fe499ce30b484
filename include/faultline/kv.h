/* kv.h: the replicated key-value state machine (a pure, deterministic protocol core).
 *
 * A command is encoded into a Raft log entry by the proposer (fl_kv_cmd_encode); every
 * replica applies committed entries in log order (fl_kv_apply) and, given the same entries
 * and the same fl_kv_config, reaches the same state, the same results and the same digest.
 * Nothing here reads a clock, calls rand(), does I/O or uses global mutable state: the only
 * notion of time is "log time", the maximum of the leader-stamped timestamps carried by the
 * applied commands. It expires idle client sessions and keys with a time to live: a key whose
 * expiry time is at or before the log time is deleted when an entry is applied, so every
 * replica expires the same keys at the same index (docs/kv.md, "Expiry").
 *
 * Keys and values are binary-safe byte strings; a key holds a string, a list, a set, a hash or
 * a sorted set, with Redis's semantics (docs/kv.md, "Data types"), every order and every
 * "random" pick decided by the replicated state alone. Client sessions give exactly-once semantics:
 * a command with (client_id, seq) whose seq was already applied returns the cached result
 * of its first application instead of applying again. See docs/kv.md for the byte formats
 * and the precise rules.
 *
 * Memory: fl_kv owns every byte of its state. The caller owns the fl_kv struct itself
 * (fl_kv_init / fl_kv_close), like libuv handles. */
#ifndef FAULTLINE_KV_H
#define FAULTLINE_KV_H

#include "faultline/buf.h"
#include "faultline/types.h"

/* ---- commands ---------------------------------------------------------------------------- */

typedef enum fl_kv_op {
    FL_KV_NOOP = 0,   /* does nothing; still advances log time and the session */
    FL_KV_GET = 1,    /* result value = current value */
    FL_KV_PUT = 2,    /* value := arg */
    FL_KV_DELETE = 3, /* ok if the key existed, not_found otherwise */
    FL_KV_APPEND = 4, /* value := value ++ arg (missing = empty); result value = new value */
    FL_KV_INCR = 5,   /* decimal int64 value += delta (missing = 0); result value = new text */
    FL_KV_CAS = 6,    /* if value == expect (or absent and expect_absent) then value := arg */
    /* Redis-shaped commands (docs/kv.md has each one's arguments, flags and result). An
     * "integer" result is decimal text in the result value; a "list" result is a list value
     * (fl_kv_list_next). Expiry specs: FL_KV_F_EXP_REL (num = ns from the log time),
     * FL_KV_F_EXP_ABS (num = ns since the epoch), FL_KV_F_PERSIST. */
    FL_KV_SET = 7,      /* key value [NX|XX] [GET] [KEEPTTL|expiry]: ok (value = old if GET) or
                           not_applied (NX/XX condition false) */
    FL_KV_MSET = 8,     /* args: key value ...; NX: all or nothing (integer 1 / 0) */
    FL_KV_DEL = 9,      /* args: keys; integer: how many existed */
    FL_KV_GETDEL = 10,  /* key: its value, then gone */
    FL_KV_GETEX = 11,   /* key [expiry | PERSIST]: its value */
    FL_KV_EXPIRE = 12,  /* key expiry [condition in flags & 7: 1 NX 2 XX 3 GT 4 LT]: integer */
    FL_KV_PERSIST = 13, /* key: integer 1 if a time to live was removed */
    FL_KV_TTL = 14,     /* key [F_MS]: integer -2 missing, -1 no expiry, else s (ms) left */
    FL_KV_FLUSH = 15,   /* every key goes */
    FL_KV_MULTI = 16,   /* a transaction: num watched (key, u64 index) pairs, then encoded
                           commands, applied at once: list of encoded results, or
                           not_applied if a watched key changed after its index */
    FL_KV_MGET = 17,    /* args: keys; list of values (nil for missing) */
    FL_KV_EXISTS = 18,  /* args: keys; integer: how many exist (a key counts each time) */
    FL_KV_STRLEN = 19,  /* key: integer */
    FL_KV_TYPE = 20,    /* key: "string", "list", "set", "hash", "zset" or "none" */
    FL_KV_KEYS = 21,    /* args: pattern (glob); list of keys, sorted */
    FL_KV_SCAN = 22,    /* args: cursor, pattern [, type name]; num = count: list [next
                           cursor, keys...] */
    FL_KV_DBSIZE = 23,  /* integer: the number of keys */
    FL_KV_INDEX = 24,   /* integer: the applied index (a WATCH's reference point) */
    /* Lists, sets, hashes and sorted sets (docs/kv.md, "Data types"). A command on a key of
     * another type answers wrong_type and changes nothing; a collection emptied by a command
     * is deleted; indexes follow Redis (negative counts from the end). "elems" are the
     * argument list. A score is an IEEE 754 double: in arguments 8 bytes little-endian
     * (fl_kv_args_add_score), in results decimal text ("%.17g", "inf", "-inf"). */
    FL_KV_PUSH = 25,          /* key elems; LEFT (at the head, one by one), XX (only onto an
                                 existing list): integer, the new length (0: XX on a missing key) */
    FL_KV_POP = 26,           /* key num=count; LEFT, COUNT (num given): list of the popped
                                 elements; not_found for a missing key */
    FL_KV_LLEN = 27,          /* key: integer */
    FL_KV_LRANGE = 28,        /* key num=start num2=stop: list */
    FL_KV_LINDEX = 29,        /* key num=index: the element; not_found (no key or no such index) */
    FL_KV_LSET = 30,          /* key num=index value: ok; not_found (no key), out_of_range */
    FL_KV_LREM = 31,          /* key num=count value: integer, how many were removed (count > 0
                                 from the head, < 0 from the tail, 0 all) */
    FL_KV_LTRIM = 32,         /* key num=start num2=stop: ok (keeps that range) */
    FL_KV_SADD = 33,          /* key elems: integer, how many were new */
    FL_KV_SREM = 34,          /* key elems: integer, how many were removed */
    FL_KV_SPOP = 35,          /* key num=count; COUNT: list of removed members, picked by the
                                 applied index (every replica picks the same); not_found */
    FL_KV_SMEMBERS = 36,      /* key: list, in the set's order */
    FL_KV_SISMEMBER = 37,     /* key value=member: integer 0 or 1 */
    FL_KV_SCARD = 38,         /* key: integer */
    FL_KV_SRANDMEMBER = 39,   /* key num=count; COUNT: list (count < 0: |count| picks with
                                 repetition), picked by the applied index; not_found */
    FL_KV_HSET = 40,          /* key elems=field value ...; NX (only new fields): integer, how
                                 many fields were added */
    FL_KV_HMGET = 41,         /* key elems=fields: list of values (nil for a missing field) */
    FL_KV_HDEL = 42,          /* key elems=fields: integer, how many were removed */
    FL_KV_HGETALL = 43,       /* key; KEYS, VALS (either or both): list field value ..., in the
                                 order fields were added */
    FL_KV_HLEN = 44,          /* key: integer */
    FL_KV_HEXISTS = 45,       /* key value=field: integer 0 or 1 */
    FL_KV_HINCRBY = 46,       /* key value=field num=delta: integer; type_error (not an integer),
                                 overflow */
    FL_KV_ZADD = 47,          /* key elems=score member ...; NX XX GT LT CH INCR: integer (added,
                                 or added + changed with CH); INCR: the new score, not_applied
                                 when a condition kept it, type_error when it would be NaN */
    FL_KV_ZPOP = 48,          /* key num=count; MAX (the highest), COUNT: list member score ... */
    FL_KV_ZRANGE = 49,        /* key num=start num2=stop; REV, SCORES: list member [score] ... */
    FL_KV_ZRANGEBYSCORE = 50, /* key elems=min max (scores) num=offset num2=count (< 0: all);
                                 MIN_EXCL MAX_EXCL REV SCORES: list member [score] ... */
    FL_KV_ZSCORE = 51,        /* key value=member: the score; not_found */
    FL_KV_ZCARD = 52,         /* key: integer */
    FL_KV_ZREM = 53,          /* key elems=members: integer, how many were removed */
    FL_KV_ZRANK = 54,         /* key value=member; REV: integer; not_found */
} fl_kv_op;
#define FL_KV_OP_COUNT 55

/* Flags of the Redis-shaped commands (fl_kv_cmd.flags); their meaning is per op, so values
 * repeat. The codec refuses a flag an op does not have. */
#define FL_KV_F_NX       0x01u /* SET, MSET: only if absent; HSET, ZADD: only new members */
#define FL_KV_F_XX       0x02u /* SET, ZADD: only if present; PUSH: only onto a list */
#define FL_KV_F_GET      0x04u /* SET: answer the old value; TTL: milliseconds */
#define FL_KV_F_MS       0x04u
#define FL_KV_F_KEEPTTL  0x08u /* SET: keep the key's time to live */
#define FL_KV_F_EXP_REL  0x10u /* an expiry num ns after the command's log time */
#define FL_KV_F_EXP_ABS  0x20u /* an expiry at num ns since the epoch */
#define FL_KV_F_PERSIST  0x40u /* GETEX: remove the time to live */
#define FL_KV_F_COND     0x07u /* EXPIRE: the condition (1 NX, 2 XX, 3 GT, 4 LT) */
#define FL_KV_F_LEFT     0x04u /* PUSH, POP: at the head */
#define FL_KV_F_COUNT    0x08u /* POP, SPOP, SRANDMEMBER, ZPOP: num is a count */
#define FL_KV_F_REV      0x10u /* ZRANGE, ZRANGEBYSCORE, ZRANK: highest first; ZPOP: MAX */
#define FL_KV_F_MAX      0x10u
#define FL_KV_F_SCORES   0x20u /* ZRANGE, ZRANGEBYSCORE: each member followed by its score */
#define FL_KV_F_MIN_EXCL 0x40u /* ZRANGEBYSCORE: min is exclusive */
#define FL_KV_F_MAX_EXCL 0x80u /* ZRANGEBYSCORE: max is exclusive */
#define FL_KV_F_GT       0x04u /* ZADD: update only to a greater score */
#define FL_KV_F_LT       0x08u /* ZADD: update only to a lesser score */
#define FL_KV_F_CH       0x10u /* ZADD: count changed members too */
#define FL_KV_F_INCR     0x20u /* ZADD: one pair, the score is an increment */
#define FL_KV_F_KEYS     0x01u /* HGETALL: the fields */
#define FL_KV_F_VALS     0x02u /* HGETALL: the values */

/* True for the commands that change nothing (a node may evaluate them with fl_kv_read). */
bool fl_kv_op_is_read(fl_kv_op op);

/* Current version of the command and result encodings (first byte of each). */
#define FL_KV_CMD_VERSION    1
#define FL_KV_RESULT_VERSION 1

/* A decoded or to-be-encoded command. Byte strings are (pointer, length) pairs that the
 * command does not own: after fl_kv_cmd_decode they point into the decoded input, which must
 * outlive the command. A NULL pointer is allowed when its length is 0. */
typedef struct fl_kv_cmd {
    fl_kv_op op;
    uint64_t client_id; /* any value; meaningful only when seq > 0 */
    uint64_t seq;       /* per-client sequence number, 1, 2, ...; 0 = no session */
    fl_time_ns time_ns; /* leader-stamped log time; only used for session expiry */
    const uint8_t *key; /* every op except noop */
    size_t key_len;
    const uint8_t *value; /* put, append: the argument; cas: the new value */
    size_t value_len;
    const uint8_t *expect; /* cas: the expected current value, when !expect_absent */
    size_t expect_len;
    bool expect_absent; /* cas: succeed only if the key is missing (expect must be empty) */
    int64_t delta;      /* incr */
    /* the Redis-shaped commands (op >= FL_KV_SET) */
    uint8_t flags;       /* FL_KV_F_... */
    int64_t num;         /* expiry (ns), a count, an index, a start, a delta (per op) */
    int64_t num2;        /* LRANGE, LTRIM, ZRANGE: stop; ZRANGEBYSCORE: count */
    uint32_t argc;       /* MSET, DEL, MGET, ..., PUSH, SADD, HSET, ZADD: the arguments ... */
    const uint8_t *args; /* ... each u32 length + bytes (fl_kv_args_add builds them) */
    size_t args_len;
} fl_kv_cmd;

/* Appends one argument to an argument list (fl_kv_cmd.args). */
void fl_kv_args_add(fl_buf *args, const void *p, size_t n);
/* Appends a score (ZADD, ZRANGEBYSCORE) as an argument: its 8 bytes, little-endian. */
void fl_kv_args_add_score(fl_buf *args, double score);
/* Reads a score argument: false unless n == 8 and the bits are not a NaN. */
bool fl_kv_score_get(const uint8_t *p, size_t n, double *score);
/* Iterates an argument list: *off starts at 0. Returns false at the end (or on bytes that do
 * not form a list; a decoded command's list always does). */
bool fl_kv_args_next(const uint8_t *args, size_t args_len, size_t *off, const uint8_t **p,
                     size_t *n);

/* Appends the encoding of cmd to out. Returns 0, FL_EINVAL for a command that cannot be
 * encoded (unknown op, a string longer than UINT32_MAX, cas with expect_absent and a
 * non-empty expect), or out->err (FL_ENOMEM, FL_ETOOBIG). O(size of the command). */
int fl_kv_cmd_encode(const fl_kv_cmd *cmd, fl_buf *out);

/* Decodes one command from exactly len untrusted bytes. On success *out points INTO bytes
 * (key, value, expect), so bytes must outlive *out. Returns 0, FL_EVERSION (unknown version),
 * FL_ETYPE (unknown op), FL_ETRUNC (input too short) or FL_ECORRUPT (bad flags, trailing
 * bytes). Never asserts on the input. Size limits (fl_kv_config) are checked by apply, not
 * here, so that an oversized command is a deterministic result on every replica. */
int fl_kv_cmd_decode(const uint8_t *bytes, size_t len, fl_kv_cmd *out);

/* ---- results ----------------------------------------------------------------------------- */

typedef enum fl_kv_status {
    FL_KV_OK = 0,
    FL_KV_NOT_FOUND = 1,       /* get / delete of a missing key */
    FL_KV_CAS_MISMATCH = 2,    /* cas: current value differs; result value = current value */
    FL_KV_TYPE_ERROR = 3,      /* incr of a value that is not a decimal int64 */
    FL_KV_TOO_BIG = 4,         /* key or (resulting) value exceeds the configured maximum */
    FL_KV_OVERFLOW = 5,        /* incr would overflow int64 */
    FL_KV_STALE = 6,           /* seq below the client's last applied seq; not applied */
    FL_KV_SESSION_EXPIRED = 7, /* seq > 1 from a client without a session; not applied */
    FL_KV_BAD_COMMAND = 8,     /* the log entry is not a valid command; not applied */
    FL_KV_NOT_APPLIED = 9,     /* a condition was false (SET NX/XX, a WATCHed key changed) */
    FL_KV_WRONG_TYPE = 10,     /* the key holds another type (Redis's WRONGTYPE) */
    FL_KV_OUT_OF_RANGE = 11,   /* LSET: no element at that index */
} fl_kv_status;
#define FL_KV_STATUS_COUNT 12

const char *fl_kv_status_name(fl_kv_status s); /* "ok", "not_found", ... */
const char *fl_kv_op_name(fl_kv_op op);        /* "get", "put", ... ("?" if unknown) */

/* The outcome of one command. value is not owned by the result: from fl_kv_apply it points
 * into the kv and stays valid until the next fl_kv_apply, fl_kv_restore or fl_kv_close on the
 * same kv; from fl_kv_result_decode it points into the decoded bytes. */
typedef struct fl_kv_result {
    fl_kv_status status;
    bool has_value; /* false: no value (e.g. put, not_found, cas mismatch on a missing key) */
    const uint8_t *value;
    size_t value_len;
} fl_kv_result;

/* List values (MGET, KEYS, SCAN, MULTI): u32 count, then per item u8 present (0 = nil) and,
 * when present, u32 length + bytes. */
void fl_kv_list_begin(fl_buf *b, uint32_t count);
void fl_kv_list_add(fl_buf *b, const void *p, size_t n); /* p NULL: a nil item */
/* Iterates a list value: *off starts at 0 (after reading the count with fl_kv_list_count).
 * Returns false at the end or on malformed bytes; *p is NULL for a nil item. */
bool fl_kv_list_count(const uint8_t *v, size_t len, uint32_t *count);
bool fl_kv_list_next(const uint8_t *v, size_t len, size_t *off, const uint8_t **p, size_t *n);

/* Appends the encoding of r to out. Returns 0, FL_EINVAL or out->err. */
int fl_kv_result_encode(const fl_kv_result *r, fl_buf *out);
/* Decodes exactly len untrusted bytes; out->value points into bytes. Returns 0,
 * FL_EVERSION, FL_ETRUNC or FL_ECORRUPT. */
int fl_kv_result_decode(const uint8_t *bytes, size_t len, fl_kv_result *out);

/* ---- the state machine ------------------------------------------------------------------- */

/* Every replica of one cluster must use the same configuration: the limits decide results. */
typedef struct fl_kv_config {
    size_t key_size_max;        /* default 1 KiB */
    size_t value_size_max;      /* default 1 MiB; at most UINT32_MAX */
    size_t sessions_max;        /* default 4096; least recently used evicted beyond it */
    fl_time_ns session_idle_ns; /* default 1 h of log time; 0 = sessions never expire */
    uint64_t hash_seed;         /* seeds the hash tables; does not affect any result */
    size_t elements_max;        /* default 2^24: elements of one list, set, hash or zset */
    size_t result_size_max;     /* default 64 MiB, at least 16: bytes of one result value
                                   (a list result: its encoding); a command whose result
                                   would be larger answers too_big and changes nothing */
    uint32_t mutants;           /* FL_KV_MUTANT_ bits: planted bugs for tests; 0 otherwise */
} fl_kv_config;

/* Planted bugs (docs/mutants.md): each breaks one rule, to show a check catches it. */
#define FL_KV_MUTANT_PICK_BY_LAYOUT                                                                \
    1u /* SPOP, SRANDMEMBER pick by hash table layout (the                                         \
          seed), not by the log: replicas disagree */
#define FL_KV_MUTANT_SNAPSHOT_LAYOUT                                                               \
    2u                             /* snapshots write set and hash members in hash                 \
                                      table order, not theirs: a restore reorders them */
#define FL_KV_MUTANT_KEEP_EMPTY 4u /* a collection emptied by a command keeps its key */

void fl_kv_config_default(fl_kv_config *c);

/* Internal types, here only so that the caller can own an fl_kv by value. */
typedef struct fl__kv_node fl__kv_node;
typedef struct fl__kv_session fl__kv_session;
typedef struct fl__kv_entry fl__kv_entry;
typedef struct fl__kv_table {
    fl__kv_node **buckets;
    size_t bucket_count; /* a power of two, or 0 before the first insert */
    size_t count;
    uint64_t seed;
} fl__kv_table;

typedef struct fl_kv {
    fl_kv_config config;
    fl__kv_table data;          /* key -> value */
    fl__kv_table sessions;      /* client_id -> session */
    fl__kv_session *lru_oldest; /* sessions, least recently used first ... */
    fl__kv_session *lru_newest; /* ... so also in non-decreasing order of last use */
    fl_index applied_index;     /* index of the last entry given to fl_kv_apply */
    fl_time_ns log_time_ns;     /* max time_ns of every decoded command applied so far */
    size_t data_bytes;          /* sum of key and value lengths, for observers */
    fl__kv_entry **expiring;    /* min-heap by expiry time of the keys that have one */
    size_t n_expiring, cap_expiring;
    fl_index delete_index; /* the last index at which a key was deleted (WATCH of absent keys) */
    fl_buf result_buf;     /* backs fl_kv_result.value from the last apply */
    int err;               /* latched FL_ENOMEM: the replica must stop */
    /* a list result being built in result_buf (not replicated state, reset per command) */
    size_t result_limit; /* bytes it may take: result_size_max, or what a MULTI has left */
    uint32_t out_count;
    bool out_over; /* it went over result_limit */
} fl_kv;

/* Initializes an empty kv; config NULL = defaults. Returns 0 or FL_ECONFIG. Allocates
 * nothing until the first command. */
int fl_kv_init(fl_kv *kv, const fl_kv_config *config);
/* Frees everything the kv owns. kv may be initialized again. */
void fl_kv_close(fl_kv *kv);

/* Decodes and applies the committed log entry at index. index must be greater than the last
 * applied index (Raft may skip indexes that carry no kv command). Returns 0 with *out set
 * (the status says what happened; an undecodable entry is FL_KV_BAD_COMMAND, deterministic
 * on every replica), FL_ESTALE if index <= applied index (nothing changes), or FL_ENOMEM
 * (latched: the replica's state may be incomplete and it must stop). Cost: O(key + value)
 * expected, plus amortized O(1) session expiry. */
int fl_kv_apply(fl_kv *kv, fl_index index, const uint8_t *entry, size_t len, fl_kv_result *out);
/* The same, for an already decoded command (the simulator may skip the encoding). */
int fl_kv_apply_cmd(fl_kv *kv, fl_index index, const fl_kv_cmd *cmd, fl_kv_result *out);

/* Evaluates a read-only command (fl_kv_op_is_read) on the current state without changing
 * it: what applying it now would answer, for reads served outside the log (ReadIndex).
 * Returns 0 with *out set (value valid until the next call on kv), FL_EINVAL for a command
 * that is not a read, or FL_ENOMEM. */
int fl_kv_read(fl_kv *kv, const fl_kv_cmd *cmd, fl_kv_result *out);

/* The earliest expiry time of any key, or FL_TIME_NEVER: a leader proposes a command (any,
 * a noop will do) stamped at or after it so that the key goes on every replica. */
fl_time_ns fl_kv_next_expiry(const fl_kv *kv);

/* A local read of a string that bypasses the log (may be stale on a follower). Returns 0
 * and sets *value / *value_len (pointing into the kv: valid until the next apply, restore or
 * close), FL_ENOTFOUND, or FL_ETYPE for a key holding a list, set, hash or zset. */
int fl_kv_get(const fl_kv *kv, const uint8_t *key, size_t key_len, const uint8_t **value,
              size_t *value_len);

static inline fl_index fl_kv_applied_index(const fl_kv *kv)
{
    return kv->applied_index;
}
static inline size_t fl_kv_key_count(const fl_kv *kv)
{
    return kv->data.count;
}
static inline size_t fl_kv_data_bytes(const fl_kv *kv) /* sum of key and value lengths */
{
    return kv->data_bytes;
}
static inline size_t fl_kv_session_count(const fl_kv *kv)
{
    return kv->sessions.count;
}

/* What the kv's structures take: the bytes it asked of malloc, by component, beside
 * fl_kv_data_bytes (the key and value bytes alone). malloc adds its own header and rounding
 * to each of the allocations (glibc: 8 to 23 bytes each). O(state size); not replicated. */
typedef struct fl_kv_memory_use {
    size_t entries;     /* one per key: its entry (links, lengths, expiry, type) and key bytes */
    size_t values;      /* string value buffers, their capacity */
    size_t collections; /* lists, sets, hashes, sorted sets: structures and element bytes */
    size_t buckets;     /* the hash tables' bucket arrays (keys and sessions) */
    size_t expiry;      /* the heap of keys with a time to live */
    size_t sessions;    /* client sessions with their cached results */
    size_t total;       /* the sum of the above */
    size_t allocations; /* the malloc'd blocks these make */
} fl_kv_memory_use;
void fl_kv_memory(const fl_kv *kv, fl_kv_memory_use *m);

/* Checks every structural invariant (hash tables, byte counts, LRU order and bounds, each
 * collection's structure: ring, member order, skip list spans, no empty collection).
 * O(state size); for tests and for the simulator after each step. */
bool fl_kv_invariants(const fl_kv *kv);

/* A 64-bit hash of the whole replicated state (data with expiry times and modification
 * indexes, collections element by element in their order, sessions with their cached results,
 * applied index, log time, delete index). Equal states give equal digests regardless of hash
 * seed or the keys' insertion order. O(state size), no allocation. */
uint64_t fl_kv_digest(const fl_kv *kv);

/* Appends a snapshot of the whole state to out: versioned, keys sorted, sessions in LRU
 * order, CRC32C at the end; two replicas in the same state produce identical bytes.
 * Returns 0, FL_ENOMEM or out->err. O(n log n) in the number of keys. */
int fl_kv_snapshot(const fl_kv *kv, fl_buf *out);
/* Replaces the whole state by the snapshot in bytes (untrusted; copied, not referenced).
 * On error the kv is unchanged. Returns 0, FL_ECORRUPT (bad magic, checksum or structure),
 * FL_EVERSION, FL_ETRUNC, FL_ETOOBIG (a key, value or the session count exceeds this kv's
 * config) or FL_ENOMEM. */
int fl_kv_restore(fl_kv *kv, const uint8_t *bytes, size_t len);

#endif
