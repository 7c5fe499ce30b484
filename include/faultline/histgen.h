/* histgen.h: generators of histories for tests and benchmarks.
 *
 * fl_histgen_run() makes a linearizable history by construction: concurrent processes each
 * issue ops one after another; every op gets an interval [invoke, complete] and a
 * linearization point strictly inside it; the ops are applied to a sequential model in the
 * order of their points, which decides what reads return and whether a cas succeeds. Some
 * ops end in info (taking effect or not, at random; the process then continues under a new
 * id, as in Jepsen) and some writes fail (they do not take effect).
 *
 * fl_histgen_break() turns a history into a non-linearizable one by a known-breaking
 * mutation of one ok read. Deterministic: the same options and seed give the same history. */
#ifndef FAULTLINE_HISTGEN_H
#define FAULTLINE_HISTGEN_H

#include "faultline/history.h"
#include "faultline/lincheck.h"
#include "faultline/rng.h"

typedef struct fl_histgen_opts {
    fl_model model;
    uint32_t ops;          /* ops in total */
    uint32_t processes;    /* concurrent processes */
    uint32_t keys;         /* distinct keys; 0: no key field (a single register) */
    double read_ratio;     /* of ops that are reads */
    double cas_ratio;      /* of ops that are cas (cas-register, kv) */
    double info_ratio;     /* of ops that end in info */
    double fail_ratio;     /* of writes that fail */
    bool deletes;          /* kv: use delete */
    bool appends;          /* kv: use append */
    double append_ratio;   /* with appends: of writes that are appends (0.3) */
    fl_time_ns latency_ns; /* mean op latency (default 1 ms) */
    uint32_t value_range;  /* 0: every write writes a new value; else values in [0, range),
                              as Jepsen's cas-register workload (breaking needs 0) */
    fl_value initial;      /* every key's value before the first op (nil by default; a string
                              is an id in the history generated into) */
    double stuck_ratio;    /* of ok ops whose answer comes only at the end of the history (a
                              client stuck behind a lost leader): open over all that follows;
                              the process goes on as a new one */
    uint32_t pipeline;     /* 0 or 1: a process waits for each op; N > 1: up to N pending at
                              once, answered in order, taking effect in order (the history is
                              pipelined: h->pipelined is set) */
    uint64_t seed;
} fl_histgen_opts;

void fl_histgen_opts_init(fl_histgen_opts *o); /* register, 100 ops, 5 processes */
/* Appends the generated events to h. Returns 0 or FL_ENOMEM. */
int fl_histgen_run(fl_history *h, const fl_histgen_opts *o);

typedef enum fl_histgen_mutation {
    FL_MUT_PHANTOM_READ,  /* a read returns a value never written */
    FL_MUT_STALE_READ,    /* a read returns a value overwritten by a write acknowledged
                             before the read began */
    FL_MUT_LOST_WRITE,    /* a read returns the initial nil after a write was acknowledged */
    FL_MUT_PROGRAM_ORDER, /* pipelined: a read returns a value overwritten by a write its own
                             process sent before it (still pending when the read was sent),
                             the value of a write acknowledged before that one began */
} fl_histgen_mutation;

/* Mutates one ok read of h so that h is certainly not linearizable (writes must write
 * distinct values, as fl_histgen_run's do). Returns 0, or FL_ENOTFOUND when h has no read
 * the mutation applies to. */
int fl_histgen_break(fl_history *h, fl_histgen_mutation m, fl_rng *rng);

/* Shifts every process of h in time by its own random offset in [0, max_ns] and puts the
 * events back in time order: each process keeps the order of its own events, the real-time
 * order between processes is lost. A sequentially consistent history stays so (the same
 * order of ops is still a witness); a linearizable one usually stops being linearizable.
 * Returns 0 or FL_ENOMEM. */
int fl_histgen_skew(fl_history *h, fl_time_ns max_ns, fl_rng *rng);

#endif
