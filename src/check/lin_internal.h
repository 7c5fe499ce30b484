/* lin_internal.h: the checker's internal structures, shared by lin_*.c and lincheck.c.
 *
 * A partition is one key's sub-history, prepared for the search: ops numbered 0..n-1 in
 * invocation order, values interned to small ids (id 0 is nil), and the entry list (one call
 * entry per op, one return entry per op that completed ok) in real-time order. */
#ifndef FL_LIN_INTERNAL_H
#define FL_LIN_INTERNAL_H

#include "faultline/lincheck.h"

#include <stdatomic.h>

#define LIN_NIL 0u

/* Model operations after normalisation (get = read, put = write). */
enum { LIN_READ, LIN_WRITE, LIN_CAS, LIN_APPEND, LIN_DELETE, LIN_INCR };

/* Interned values of one partition, plus the states the model derives (append, incr). */
typedef struct lin_vals {
    uint32_t count;
    uint32_t cap;
    uint8_t *kind; /* FL_VALUE_NIL, FL_VALUE_INT, FL_VALUE_STR */
    int64_t *num;  /* INT: the integer; STR: offset of the bytes in text */
    uint32_t *len; /* STR: length */
    fl_buf text;
    uint32_t *index; /* open hash: id + 1 */
    uint32_t index_cap;
    uint64_t bytes; /* memory held, for the memory bound */
} lin_vals;

typedef struct lin_op {
    uint8_t f;          /* LIN_... */
    bool info;          /* outcome unknown: no return entry */
    bool blind;         /* info write/put/delete: prunable */
    uint32_t a;         /* argument / cas expected */
    uint32_t b;         /* cas new */
    uint32_t out;       /* read result */
    uint32_t global;    /* index in result->ops */
    uint32_t info_idx;  /* rank among the info ops */
    uint32_t twin_prev; /* info: the previous info op with the same effect, or UINT32_MAX */
    uint32_t call_e;
    uint32_t ret_e; /* UINT32_MAX for info ops */
} lin_op;

typedef struct lin_entry {
    uint32_t op;
    bool call;
    uint32_t prev, next;   /* full list; 0 is the head sentinel */
    uint32_t nprev, nnext; /* list of the non-info ops' entries; 0 is its head sentinel */
} lin_entry;

typedef struct lin_part {
    uint32_t key;
    uint32_t n;
    lin_op *ops;
    uint32_t n_entries; /* including sentinel 0 */
    lin_entry *entries;
    uint32_t n_info;
    uint32_t *info_below; /* [k] = info ops with index < k, k in 0..n */
    uint32_t *observers;  /* [value] = non-info ops not linearized that observe it */
    bool prune;           /* blind-write pruning is sound for this partition */
    /* doom detection (prune only): an ok read of u (or ok cas expecting u) not yet linearized
     * while no op not yet linearized can produce u, and the state is not u, can never be
     * linearized. okobs[u] counts those ops, writers[u] the ops that produce u, and doomed
     * the values with okobs > 0 and writers == 0. */
    uint32_t *okobs;
    uint32_t *writers;
    uint32_t doomed;
    lin_vals vals;
} lin_part;

/* Shared limits and counters of one run. */
typedef struct lin_shared {
    atomic_bool cancel;       /* timeout reached */
    atomic_uint_fast64_t mem; /* bytes held by all memos */
    atomic_uint_fast64_t mem_peak;
    uint64_t mem_max;       /* 0 = none */
    fl_time_ns deadline_ns; /* 0 = none; CLOCK_MONOTONIC */
} lin_shared;

/* Memory accounting against the shared bound: returns false when over it. */
bool fl__lin_mem_take(lin_shared *s, uint64_t bytes);
void fl__lin_mem_give(lin_shared *s, uint64_t bytes);
fl_time_ns fl__lin_now_ns(void);

/* lin_model.c */
void fl__lin_vals_init(lin_vals *v);
void fl__lin_vals_free(lin_vals *v);
int fl__lin_vals_intern(lin_vals *v, fl_value_kind kind, int64_t num, const char *s, size_t n,
                        uint32_t *id);
int fl__lin_vals_from(lin_vals *v, const fl_history *h, fl_value x, uint32_t *id);
/* Applies op to state s. Returns 1 and *next when the model allows it, 0 when it does not,
 * or a negative code (FL_ENOMEM) when a derived state cannot be stored. */
int fl__lin_step(lin_vals *v, const lin_op *op, uint32_t s, uint32_t *next);
void fl__lin_vals_format(const lin_vals *v, uint32_t id, fl_buf *out);
/* Checks that op fits the model; returns 0 or FL_ESYNTAX with err set. */
int fl__lin_validate(const fl_history *h, const fl_op *op, fl_model m, fl_history_error *err);
/* Builds partition p from the ops listed in idx[0..count) (invocation order). */
int fl__lin_part_build(lin_part *p, const fl_history *h, const fl_op *ops, const uint32_t *idx,
                       uint32_t count);
void fl__lin_part_free(lin_part *p);
/* count[u] += delta (count is p->okobs or p->writers), keeping p->doomed up to date. */
void fl__lin_adjust(lin_part *p, uint32_t *count, uint32_t u, int delta);
/* Converts one op (values interned in v). Returns 0 or FL_ENOMEM. */
int fl__lin_op_from(lin_vals *v, const fl_history *h, const fl_op *g, lin_op *o);

/* lin_search.c: searches one partition; fills part and, on a violation, cex. */
typedef struct lin_outcome {
    fl_verdict verdict;
    uint8_t unknown;
    uint64_t states;
    uint64_t memo_bytes;
    uint32_t prefix;     /* the longest linearizable prefix found */
    fl_lincheck_cex cex; /* set when verdict is FL_LIN_VIOLATION */
} lin_outcome;

int fl__lin_search(lin_part *p, lin_shared *s, lin_outcome *out);

#endif

/* lin_memo.c: a hash set of configurations (word strings), bounded by the shared budget. */
typedef struct lin_memo {
    uint64_t *slots; /* fingerprint << 32 | (word offset + 1); 0 = empty */
    uint32_t cap;    /* power of two */
    uint32_t count;
    uint32_t *words; /* entries: length, then the key words */
    size_t nwords;
    size_t capwords;
    uint64_t bytes; /* taken from the shared budget */
    lin_shared *shared;
} lin_memo;

void fl__lin_memo_init(lin_memo *m, lin_shared *s);
void fl__lin_memo_free(lin_memo *m);
/* Inserts key[0..n). Returns 1 when new, 0 when present, FL_ETOOBIG when the memory bound
 * is reached, FL_ENOMEM. */
int fl__lin_memo_insert(lin_memo *m, const uint32_t *key, uint32_t n);
