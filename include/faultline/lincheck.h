/* lincheck.h: a checker of linearizability and sequential consistency for histories of
 * registers and key-value stores.
 *
 * Semantics (Jepsen's): an ok op took effect once, between its invocation and its completion;
 * a fail op never took effect; an info op (or an invocation never completed) may take effect
 * at any time after its invocation, or never. A read that ended in info constrains nothing.
 * Every key starts at the initial value (nil unless opts.initial says otherwise).
 *
 * Consistency models: linearizable (the ops took effect in an order that respects the real
 * time order of the history: an op that completed before another was invoked comes first);
 * sequential (an order that respects only each process's own order: an op of a process comes
 * after the ops that process completed before invoking it). Every linearizable history is
 * sequentially consistent. Linearizability is local: a history is linearizable iff every key's
 * sub-history is. Sequential consistency is not: a violation in one key is a violation of the
 * whole, but every key sequentially consistent proves the whole only when every key is also
 * linearizable (fl_lincheck_result.per_key says when the verdict holds per key only).
 *
 * Program order: in a pipelined history (fl_history.pipelined: a process may have several
 * ops pending, completions in order) each op also takes effect after the ok ops its process
 * invoked before it. Linearizability is checked with it key by key (a read overtaking its
 * own connection's write of the same key), then, as it is not local any more, over the whole
 * history at once when every key passes and there are 2 to 16 keys (a reordering across
 * keys; beyond 16 keys only key by key: po_keys_only); sequential consistency over the whole
 * history (docs/checker.md, "Program order"). Before that search, the orders the keys'
 * searches found are interleaved under real time and program order, refined by searching a
 * key again with ops delayed (a restriction of the history) when they do not fit: an
 * interleaving found is a linearization of the whole (po_merged), and no search is needed.
 *
 * Algorithm: the history is split by key, and the keys are checked independently on a pool
 * of threads, easiest first (fewest ops open at once); unless opts.all_keys, the run stops at
 * the first key proven violating. Each key is searched with Wing and Gong's algorithm as
 * improved by Lowe: a depth-first search over the list of call and return entries,
 * linearizing an op at one of its call entries, with a memo of visited configurations (set of
 * linearized ops, model state). The set is stored compactly: ops are numbered in invocation
 * order, and a set is "every op below k except a few pending ones, plus a bitmap of the info
 * ops taken". Sound rules cut the search (identity reads first, unobserved info writes
 * skipped, same-effect twins taken in one order, dead branches detected early; see
 * lin_search.c and docs/checker.md). Sequential consistency is searched over the processes'
 * next ops instead (lin_seq.c). The memory of the memos and of the prepared keys is bounded
 * (memory_max_bytes over all threads) and the run by a timeout: reaching either gives the
 * verdict FL_LIN_UNKNOWN for the keys not decided, never a crash. There is no global state:
 * runs in several threads at once are safe.
 *
 * Models (per key):
 *   register      read, write                         (integer values; nil before any write)
 *   cas-register  read, write, cas                    (cas [expected new] ok only if equal)
 *   kv            get, put, append, delete, cas, incr (also read/write as get/put; values are
 *                 integers or strings; append concatenates text; delete makes the key nil;
 *                 incr adds an integer delta, nil counting as 0)
 *
 * Ownership: fl_lincheck_run() fills a result the caller owns and must release with
 * fl_lincheck_result_free(); the result keeps no pointer into the history except string ids
 * (keys and values in ops), which need the history to be printed. */
#ifndef FAULTLINE_LINCHECK_H
#define FAULTLINE_LINCHECK_H

#include "faultline/history.h"

typedef enum fl_model {
    FL_MODEL_REGISTER,
    FL_MODEL_CAS_REGISTER,
    FL_MODEL_KV,
} fl_model;

typedef enum fl_verdict {
    FL_LIN_OK = 0,        /* linearizable */
    FL_LIN_VIOLATION = 1, /* not linearizable */
    FL_LIN_UNKNOWN = 2,   /* undecided: timeout or memory limit */
} fl_verdict;

typedef enum fl_consistency {
    FL_CONS_LINEARIZABLE = 0,
    FL_CONS_SEQUENTIAL = 1,
} fl_consistency;

typedef struct fl_lincheck_opts {
    fl_model model;
    fl_consistency consistency;
    fl_value initial;          /* every key's value before its first op: nil (the default), an
                                  integer, or a string (an id in the history checked) */
    bool all_keys;             /* false: stop at the first key proven violating; true: decide
                                  every key */
    unsigned threads;          /* 0: the number of online cores */
    fl_time_ns timeout_ns;     /* 0: none */
    uint64_t memory_max_bytes; /* bound on the memos and prepared keys of all threads; 0: none */
} fl_lincheck_opts;

/* register, linearizable, initial nil, stop at the first violating key, all cores, no limits */
void fl_lincheck_opts_init(fl_lincheck_opts *o);
const char *fl_model_name(fl_model m);
bool fl_model_parse(const char *s, fl_model *out);
const char *fl_verdict_name(fl_verdict v);
/* "linearizable", "sequential" */
const char *fl_consistency_name(fl_consistency c);
bool fl_consistency_parse(const char *s, fl_consistency *out);
/* The verdict in words for a consistency model: "linearizable", "not sequentially
 * consistent", "unknown". */
const char *fl_verdict_text(fl_verdict v, fl_consistency c);
/* The model a history's ops call for: kv if any op is get, put, append, delete or incr or any
 * value is a string, else cas-register if any op is a cas, else register. */
fl_model fl_model_infer(const fl_history *h);

/* One key's verdict. */
/* Why a key is FL_LIN_UNKNOWN. */
enum {
    FL_LIN_WHY_TIMEOUT = 1,
    FL_LIN_WHY_MEMORY = 2,
    FL_LIN_WHY_STOPPED = 3, /* not decided: the run stopped at a violation in another key */
};

typedef struct fl_lincheck_part {
    uint32_t key;         /* string id, FL_KEY_NONE for ops without a key */
    uint32_t ops;         /* ops searched (fail ops and info reads are left out) */
    uint32_t concurrency; /* the most ops open at once (info ops stay open): the check order */
    uint8_t verdict;      /* fl_verdict */
    uint8_t unknown;      /* FL_LIN_WHY_... */
    uint64_t states;      /* configurations stored in the memo */
    uint64_t memo_bytes;
    uint32_t prefix; /* the longest linearizable prefix found (all ops when linearizable):
                      * for an unknown key, how far the search got */
} fl_lincheck_part;

/* Why a key is not linearizable. Op numbers index result->ops. */
typedef struct fl_lincheck_cex {
    uint32_t key;
    uint32_t *prefix; /* the longest linearization found, in order */
    size_t prefix_len;
    char *state;      /* the model state after it, as text ("3", "nil", "\"ab\"") */
    uint32_t blocked; /* the op that had to take effect next (its completion comes first) */
    uint32_t *tried;  /* the ops that could take effect at that point (blocked among them
                       * unless it is the one whose call came later) */
    size_t tried_len;
} fl_lincheck_cex;

typedef struct fl_lincheck_stats {
    uint64_t ops;        /* ops in the history */
    uint64_t parts;      /* keys */
    uint64_t states;     /* memo entries over all keys */
    uint64_t memo_bytes; /* peak memo memory over all threads */
    fl_time_ns elapsed_ns;
    unsigned threads;
} fl_lincheck_stats;

typedef struct fl_lincheck_result {
    fl_verdict verdict;
    fl_consistency consistency; /* what was checked */
    fl_value initial;
    bool stopped;      /* stopped at the first violating key: other keys were left undecided */
    bool per_key;      /* sequential: every key is sequentially consistent, some are not
                          linearizable (or the history is pipelined), and there are several keys:
                          the whole history was then searched as one (sequential consistency is
                          not local); the verdict is that search's, unknown when it ran out of
                          time or memory */
    bool whole_po;     /* linearizable, pipelined, several keys, every key linearizable: the
                          whole history was then searched as one with real time and program
                          order (not local either); the verdict is that search's */
    bool po_merged;    /* whole_po decided linearizable without a search: the orders the keys'
                          searches found interleave into one that respects real time and
                          program order across keys (lin_merge.c) */
    bool po_keys_only; /* ... but over 16 keys: not searched, program order checked only
                          key by key (the verdict is the keys') */
    fl_op *ops;        /* the history's ops (fl_history_ops), owned */
    size_t op_count;
    fl_lincheck_part *parts; /* owned, ordered by first invocation */
    size_t part_count;
    bool has_cex; /* verdict FL_LIN_VIOLATION: cex is the first violating key (in order of
                     first invocation with all_keys, else the first found in check order) */
    fl_lincheck_cex cex;
    fl_lincheck_stats stats;
} fl_lincheck_result;

/* Checks h. Returns 0 with r->verdict set, or a negative code: FL_ESYNTAX when the history
 * does not fit the model or does not pair up (err gives the line and the reason; err may be
 * NULL), FL_ENOMEM. r must be released with fl_lincheck_result_free() in every case. */
int fl_lincheck_run(const fl_history *h, const fl_lincheck_opts *o, fl_lincheck_result *r,
                    fl_history_error *err);
void fl_lincheck_result_free(fl_lincheck_result *r);

/* Writes a value as text: 3, nil, "text" (strings quoted and escaped as JSON). */
void fl_lincheck_format_value(const fl_history *h, fl_value v, fl_buf *out);
/* Writes an op on one line: "p3 cas [1 2] ok  (lines 12-15)". */
void fl_lincheck_format_op(const fl_history *h, const fl_op *op, fl_buf *out);

/* A brute-force checker for tests: tries every order of the ops of each key (at most 10 ops
 * per key) that respects real time (linearizable) or each process's order (sequential), from
 * o->initial. Returns the verdict, or FL_EINVAL when a key has too many ops. */
int fl_lincheck_brute(const fl_history *h, const fl_lincheck_opts *o);

/* Writes a self-contained HTML page (no network) showing the result: for a violation, one
 * lane per process over a time axis around the failing point of the violating key, ops as
 * bars coloured by outcome, the longest linearization drawn over them, the failing point
 * marked, the model state on hover. At most max_ops ops are drawn (the window nearest the
 * failing point). Returns out->err. */
int fl_lincheck_html(const fl_history *h, const fl_lincheck_result *r, fl_model model,
                     const char *title, size_t max_ops, fl_buf *out);
/* Writes the result as JSON (verdict, keys, counterexample, stats). Returns out->err. */
int fl_lincheck_json(const fl_history *h, const fl_lincheck_result *r, fl_model model, fl_buf *out);

#endif
