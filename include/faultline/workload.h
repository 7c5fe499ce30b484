/* workload.h: a seeded generator of client operations for the kv (used by the simulator's
 * clients and by the real load generator), and the zipfian sampler it draws keys with.
 *
 * Pure and deterministic: randomness comes only from the fl_rng passed to each call, so the
 * same config, writer id and seed give the same sequence of operations. Every write carries
 * a value unique across all generators of one run (given distinct writer ids), so that a
 * linearizability checker can tell writes apart. */
#ifndef FAULTLINE_WORKLOAD_H
#define FAULTLINE_WORKLOAD_H

#include "faultline/history.h"
#include "faultline/kv.h"
#include "faultline/rng.h"
#include "faultline/types.h"

/* ---- zipfian ranks ----------------------------------------------------------------------- */

/* Draws ranks r in [0, n) with P(r) proportional to 1 / (r + 1)^s.
 *   0 < s < 1: Gray, Sundaresan, Englert, Baclawski, Weinberger, "Quickly generating
 *              billion-record synthetic databases" (SIGMOD 1994): O(n) setup to compute
 *              zeta(n, s), then O(1) per draw, no table; ranks 0 and 1 are exact, the tail
 *              follows the continuous approximation.
 *   s >= 1:    inverse CDF: a table of n cumulative weights (n <= FL_ZIPF_TABLE_MAX), binary
 *              search per draw, exact.
 *   s == 0:    uniform.
 * Draws use pow(): the same seed gives the same ranks with the same libm. */
#define FL_ZIPF_TABLE_MAX ((uint64_t)1 << 22)

typedef struct fl_zipf {
    uint64_t n;
    double s;
    double zeta_n; /* sum_{i=1..n} i^-s */
    double zeta_2; /* 1 + 2^-s */
    double alpha;  /* 1 / (1 - s) */
    double eta;    /* (1 - (2/n)^(1-s)) / (1 - zeta_2 / zeta_n) */
    double *cdf;   /* s >= 1: cdf[i] = P(rank <= i); owned */
} fl_zipf;

/* Returns 0, FL_ECONFIG (n == 0, s < 0 or not finite, s >= 1 with n > FL_ZIPF_TABLE_MAX) or
 * FL_ENOMEM. O(n). */
int fl_zipf_init(fl_zipf *z, uint64_t n, double s);
void fl_zipf_close(fl_zipf *z);
uint64_t fl_zipf_next(const fl_zipf *z, fl_rng *rng);
/* The exact probability of rank r (0-based) under the ideal distribution, for tests. */
double fl_zipf_prob(const fl_zipf *z, uint64_t r);

/* ---- operations -------------------------------------------------------------------------- */

typedef enum fl_workload_dist {
    FL_WORKLOAD_UNIFORM = 0,
    FL_WORKLOAD_ZIPFIAN = 1,
} fl_workload_dist;

#define FL_WORKLOAD_RECENT_MAX 32 /* recent writes remembered to pick cas expectations */
#define FL_WORKLOAD_KEY_SIZE   24 /* "k" + up to 20 digits + NUL */

typedef struct fl_workload_config {
    uint32_t weights[FL_KV_OP_COUNT]; /* by fl_kv_op; noop allowed; the sum must be > 0 */
    uint64_t key_count;               /* keys are "k0" .. "k<key_count-1>" */
    fl_workload_dist key_dist;
    double zipf_s;          /* zipfian exponent, e.g. 0.99 */
    size_t value_size_min;  /* value length drawn uniformly in [min, max]; fixed when equal */
    size_t value_size_max;  /* a value is never shorter than its unique number */
    bool integer_values;    /* values are the bare unique number ("17"); sizes ignored */
    uint32_t writer_id;     /* this generator's id in [0, writer_count) ... */
    uint32_t writer_count;  /* ... so that values are unique across generators */
    int64_t incr_delta_max; /* incr delta uniform in [1, max] */
} fl_workload_config;

/* "register": 3 keys, uniform, get 50% / put 30% / cas 20%, small integer values. High
 * contention: the shape for linearizability checking. */
void fl_workload_config_register(fl_workload_config *c);
/* "kv": 1000 keys, zipfian s = 0.99, get 50% / put 30% / append 20%, values 16..128 bytes. */
void fl_workload_config_kv(fl_workload_config *c);

typedef struct fl_workload_op {
    fl_kv_op kind;
    uint64_t key_index;
    char key[FL_WORKLOAD_KEY_SIZE]; /* "k<key_index>", NUL-terminated */
    size_t key_len;
    uint64_t value_id;    /* the unique number in value (put, append, cas), else 0 */
    const uint8_t *value; /* put, append, cas (new value); owned by the generator */
    size_t value_len;
    bool expect_absent;    /* cas: expect the key to be missing */
    const uint8_t *expect; /* cas: expected value when !expect_absent; owned by the generator */
    size_t expect_len;
    int64_t delta; /* incr */
} fl_workload_op;

/* A recent write: the state it left key in (absent after a delete). */
typedef struct fl__workload_recent {
    uint64_t key_index;
    uint64_t value_id; /* 0 = absent */
    size_t value_len;
} fl__workload_recent;

typedef struct fl_workload {
    fl_workload_config config;
    fl_zipf zipf;
    uint32_t weight_total;
    uint64_t writes; /* writes generated so far: the per-generator counter of unique values */
    fl__workload_recent recent[FL_WORKLOAD_RECENT_MAX]; /* ring */
    uint32_t recent_count;
    uint32_t recent_next;
    uint8_t *value_buf; /* value_size_max + 32 bytes each, allocated at init */
    uint8_t *expect_buf;
    size_t buf_size;
} fl_workload;

/* Returns 0, FL_ECONFIG (zero weights, key_count 0, min > max, writer_id >= writer_count,
 * bad zipf_s, ...) or FL_ENOMEM. Allocates everything it will use. */
int fl_workload_init(fl_workload *w, const fl_workload_config *c);
void fl_workload_close(fl_workload *w);
/* Produces the next operation into *out. out->value and out->expect point into w and stay
 * valid until the next fl_workload_next or fl_workload_close. No allocation. */
void fl_workload_next(fl_workload *w, fl_rng *rng, fl_workload_op *out);
/* Fills a kv command from op (strings point into op and w). */
void fl_workload_to_cmd(const fl_workload_op *op, fl_kv_cmd *cmd);

/* ---- Redis-shaped commands on keys of their own (workload_side.c) ------------------------ */

/* Keys "xs<i>" (strings), "xl<i>" (lists), "xe<i>" (sets), "xh<i>" (hashes), "xz<i>"
 * (sorted sets), i < FL_WORKLOAD_SIDE_KEYS: apart from the checked workloads' "k<i>", so a
 * command here never touches what a linearizability check judges. One command in ten goes
 * to a key of another type (a WRONGTYPE answer, or a string replacing a collection). */
#define FL_WORKLOAD_SIDE_KEYS 8

typedef struct fl_workload_side {
    char key[FL_WORKLOAD_KEY_SIZE];
    char value[32];
    fl_buf args; /* the argument list of the command */
    fl_buf sub;  /* a transaction: the argument list of the command being queued */
    fl_buf enc;  /* ... and its encoding */
} fl_workload_side;

void fl_workload_side_init(fl_workload_side *s);
void fl_workload_side_close(fl_workload_side *s);
/* Draws the next command into *cmd (its strings point into s; valid until the next call):
 * SET with an expiry relative to the leader's stamped time (PX), NX, XX, GET or KEEPTTL;
 * EXPIRE (with a condition), PERSIST, TTL, GETEX, INCR, APPEND, DEL, MSET; MULTI with two to
 * four of those, sometimes watching a key at an old index (then it may abort); lists (PUSH,
 * POP, LRANGE, LINDEX, LSET, LREM, LTRIM, LLEN), sets (SADD, SREM, SPOP, SRANDMEMBER,
 * SMEMBERS, SCARD, SISMEMBER), hashes (HSET, HDEL, HINCRBY, HGETALL, HMGET, HLEN), sorted sets
 * (ZADD with its flags, ZREM, ZPOP, ZRANGE, ZRANGEBYSCORE, ZSCORE, ZRANK, ZCARD). No session
 * (the caller sets client_id and seq). Deterministic in rng; allocates only its buffers. */
void fl_workload_side_next(fl_workload_side *s, fl_rng *rng, fl_kv_cmd *cmd);
/* ---- recording ops in a history (the simulator's clients and faultline nemesis's) ---- */

/* The history's f for an op of kind k: register workloads record read/write, kv ones
 * get/put (cas, append, delete, incr are named alike). */
fl_op_f fl_workload_history_f(fl_kv_op k, bool registers);
/* A value as the history holds it: in register workloads a decimal number (at most 18
 * digits) is an integer, anything else an interned string. *oom is set if interning failed
 * (the value is then nil). */
fl_value fl_workload_history_value(fl_history *h, const uint8_t *p, size_t len, bool registers,
                                   bool *oom);

#endif
