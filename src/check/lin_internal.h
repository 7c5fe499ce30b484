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

/* An op by its process, for sorting a history's ops into each process's invocation order
 * (program order: lin_part.c, lin_seq.c, lin_merge.c); fl__lin_cmp_proc_op is its qsort order. */
typedef struct lin_proc_op {
    int64_t process;
    uint32_t op;
} lin_proc_op;

int fl__lin_cmp_proc_op(const void *a, const void *b);

typedef struct lin_op {
    uint8_t f;          /* LIN_... */
    uint32_t k;         /* key number (a search over several keys), else 0 */
    bool info;          /* outcome unknown: no return entry */
    bool blind;         /* info write/put/delete: prunable */
    uint32_t a;         /* argument / cas expected */
    uint32_t b;         /* cas new */
    uint32_t out;       /* read result */
    uint32_t global;    /* index in result->ops */
    uint32_t info_idx;  /* rank among the info ops */
    uint32_t twin_prev; /* info: the previous info op with the same effect, or UINT32_MAX */
    uint32_t po_prev;   /* pipelined history: the latest ok op of its process invoked before
                           it and still open at its invocation (program order: it takes
                           effect after that one), or UINT32_MAX */
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
    uint32_t pos;      /* place in the check order (lin_shared.stop_at) */
    uint32_t init;     /* the initial state (value id) */
    const fl_op *gops; /* the history's ops (lin_op.global indexes them) */
    uint64_t bytes;    /* memory taken from the shared budget for this partition */
    uint32_t nkeys;    /* 1; or the keys of a sequential search over the whole history,
                          where values are shared by all keys and lin_op.k says the key */
    uint32_t n;
    lin_op *ops;
    uint32_t n_entries; /* including sentinel 0 */
    lin_entry *entries;
    uint32_t n_info;
    uint32_t *info_below; /* [k] = info ops with index < k, k in 0..n */
    uint32_t *observers;  /* [value] = non-info ops not linearized that observe it */
    bool prune;           /* blind-write pruning is sound for this partition */
    bool po;              /* some op has a po_prev (the twins rule is off then) */
    /* doom detection (prune only): an ok read of u (or ok cas expecting u) not yet linearized
     * while no op not yet linearized can produce u, and the state is not u, can never be
     * linearized. okobs[u] counts those ops, writers[u] the ops that produce u, and doomed
     * the values with okobs > 0 and writers == 0. */
    uint32_t *okobs;
    uint32_t *writers;
    uint32_t doomed;
    /* the length rule (lin_len.c: append without incr): the values observed (okobs) and the
     * values set (writers: put, cas, delete), each sorted by text length, with a cursor at
     * the shortest still to come */
    bool lenrule;
    uint32_t *obs_len, *obs_rank, n_obs, obs_at;
    uint32_t *set_len, *set_rank, n_set, set_at;
    uint32_t rank_cap; /* values with a rank (those of the ops; derived ones have none) */
    /* the prefix rule (lin_append.c): appends still to come; for an observed value u, the
     * puts, cas and deletes still to come whose value's text begins u's (reach[u]); for a set
     * value v, the observed values its text begins (adj[adj_start[v] .. adj_start[v + 1]]) */
    uint32_t appends_left;
    uint32_t *reach, *adj, *adj_start;
    lin_vals vals;
} lin_part;

/* Shared limits and counters of one run. */
typedef struct lin_shared {
    atomic_bool cancel;       /* timeout reached */
    atomic_uint stop_at;      /* check order of the first violating key found (UINT32_MAX:
                                 none); keys after it are abandoned (not with all_keys) */
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
/* What a partition is built from. */
typedef struct lin_src {
    const fl_history *h;
    const fl_op *ops;     /* the history's ops */
    const uint32_t *idx;  /* the partition's ops, in invocation order */
    const uint32_t *kidx; /* [i]: the key number of idx[i] (several keys), or NULL */
    uint32_t count;
    uint32_t nkeys; /* 1, or the number of keys */
    fl_value initial;
} lin_src;

/* Builds partition p from src, every key starting from src->initial; its memory is taken
 * from s (FL_ETOOBIG over the bound). */
int fl__lin_part_build(lin_part *p, const lin_src *src, lin_shared *s);
void fl__lin_part_release(lin_part *p, lin_shared *s); /* frees and gives the memory back */
void fl__lin_part_free(lin_part *p);
/* count[u] += delta (count is p->okobs or p->writers), keeping p->doomed up to date. */
void fl__lin_adjust(lin_part *p, uint32_t *count, uint32_t u, int delta);
/* lin_append.c: rules for partitions with append and no incr. Without incr, a state is a
 * value that was set (the current state, or one a put, cas or delete still to come sets)
 * followed by appended text. The length rule: a value observed by an ok op still to come (a
 * read's result, a cas's expected value) shorter than the shortest of those can never be the
 * state again. The prefix rule: an observed value u can be the state again only if it is the
 * state, or set by an op to come, or (appends to come) begins with the state's text or with
 * the text of a value an op to come sets. */
int fl__lin_len_build(lin_part *p);
/* count (okobs or writers) of value u changed by delta: keeps the rules' counts. */
void fl__lin_len_adjust(lin_part *p, const uint32_t *count, uint32_t u, int delta);
/* The length rule over the states of the search (one per key). O(1) amortized. */
bool fl__lin_len_dead(lin_part *p, const uint32_t *states, uint32_t n);
/* The prefix rule: may observed value u be the state again, from state? O(text). */
bool fl__lin_reachable(const lin_part *p, uint32_t state, uint32_t u);
/* The bytes of string value id (never NULL). */
const char *fl__lin_vals_str(const lin_vals *v, uint32_t id);
/* The text length of a value as append sees it: nil 0, an integer its decimal digits. */
uint64_t fl__lin_vals_textlen(const lin_vals *v, uint32_t id);

/* Converts one op (values interned in v). Returns 0 or FL_ENOMEM. */
int fl__lin_op_from(lin_vals *v, const fl_history *h, const fl_op *g, lin_op *o);

/* lin_search.c: searches one partition; fills part and, on a violation, cex. */
typedef struct lin_outcome {
    fl_verdict verdict;
    uint8_t unknown; /* FL_LIN_WHY_..., or LIN_WHY_BUDGET */
    bool lin_ok;     /* sequential: the key is linearizable too */
    uint64_t states;
    uint64_t memo_bytes;
    uint32_t prefix;     /* the longest linearizable prefix found */
    fl_lincheck_cex cex; /* set when verdict is FL_LIN_VIOLATION */
    uint32_t *order;     /* linearizable (fl__lin_search): the order found, as the history's op
                            numbers (info ops left out never took effect); owned, or NULL */
    uint32_t order_len;
} lin_outcome;

#define LIN_WHY_BUDGET 4 /* step_max reached */

/* step_max: 0 for none, else give up after that many steps (verdict unknown, LIN_WHY_BUDGET).
 * The partition is left as it was only when a verdict was reached. */
int fl__lin_search(lin_part *p, lin_shared *s, uint64_t step_max, lin_outcome *out);
/* Whether the search of p must give up now: the timeout, or a violation found in a key before
 * it in the check order; sets *why. Cheap enough to call every 1024 steps. */
bool fl__lin_give_up(const lin_part *p, lin_shared *s, uint8_t *why);

/* lin_seq.c: searches one partition for sequential consistency (a total order respecting
 * each process's order). The partition must be fresh (built, never searched). With
 * realtime, the order must respect real time too: over several keys of a pipelined history,
 * linearizability with program order across keys (lincheck.c). step_max: 0 for none, else
 * give up after that many steps (unknown, LIN_WHY_BUDGET). */
int fl__lin_seq_search(lin_part *p, lin_shared *s, bool realtime, uint64_t step_max,
                       lin_outcome *out);

void fl__lin_cex_free(fl_lincheck_cex *c);

/* The longest order a search found, in the partition's op numbers, to report. */
typedef struct lin_best {
    uint32_t key;        /* the history's key of the state shown */
    const uint32_t *ops; /* the order */
    uint32_t len;
    uint32_t state;   /* the state shown after it (a value id) */
    uint32_t blocked; /* the op that could not take effect, or UINT32_MAX */
    const uint32_t *tried;
    uint32_t tried_len;
} lin_best;

/* Fills cex from b (ops as the history's op numbers). Returns 0 or FL_ENOMEM. */
int fl__lin_cex_fill(const lin_part *p, const lin_best *b, fl_lincheck_cex *cex);

/* lin_pool.c: the keys of a history and the threads that check them. */
typedef struct lin_split {
    uint32_t *idx;   /* op indices, grouped by partition (key), in invocation order */
    uint32_t *start; /* [p] .. [p+1]: partition p's range in idx */
    uint32_t count;  /* partitions, numbered by first invocation */
    uint32_t *of;    /* [op]: its partition, UINT32_MAX when it is not searched */
    size_t n;        /* ops */
} lin_split;

int fl__lin_split(const fl_history *h, const fl_op *ops, size_t n, lin_split *pl);
void fl__lin_split_free(lin_split *pl);

#define LIN_THREADS_MAX 256

typedef struct lin_pool {
    const fl_history *h;
    const fl_op *ops;
    const fl_lincheck_opts *o;
    const lin_split *pl;
    uint32_t *order; /* partitions in check order: easiest first */
    uint32_t *conc;  /* [p]: the most ops of p open at once */
    atomic_uint next;
    lin_shared sh;
    lin_outcome *outs; /* [p] */
} lin_pool;

unsigned fl__lin_threads(unsigned wanted, uint32_t parts);
/* Checks every partition (w->outs), on threads threads. Returns 0 or FL_ENOMEM. */
int fl__lin_pool_run(lin_pool *w, unsigned threads);
/* Searches the whole history (every key at once) for sequential consistency, or with
 * realtime for linearizability with program order (fl__lin_seq_search). */
int fl__lin_pool_whole(lin_pool *w, bool realtime, uint64_t step_max, lin_outcome *out);
void fl__lin_pool_free(lin_pool *w);

/* lin_merge.c: every key linearizable with its order in w->outs: 1 when the keys' orders
 * interleave into one that respects real time and program order across keys (the whole
 * history is then linearizable with program order), 0 when they do not (undecided), or
 * FL_ENOMEM. */
int fl__lin_merge(lin_pool *w);

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

#endif
