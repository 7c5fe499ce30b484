/* scenario_int.h: the scenario reader's context and its typed value readers, shared by
 * scenario_read.c (the sections of a run) and scenario_faults.c (the faults). Every failure
 * writes "name:line:col: path: what" into the caller's buffer and returns FL_ECONFIG. */
#ifndef FL_SCENARIO_INT_H
#define FL_SCENARIO_INT_H

#include "faultline/scenario.h"
#include "ytree.h"

typedef struct sr {
    const yt_doc *d;
    fl_scenario *s;
    char *err;
    size_t err_size;
} sr;

/* "name:line:col: path: what" (node 0: no place). Returns FL_ECONFIG. */
int sr_fail(sr *r, uint32_t node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The handler of one key of a mapping: index k in the key table, the value node. */
typedef int (*sr_entry_fn)(sr *r, void *ctx, size_t k, uint32_t value, const char *path);

/* Every entry of mapping m (at path) through fn: a key must be one of keys[] (else an error
 * that names them) and appear once. */
int sr_map(sr *r, uint32_t m, const char *path, const char *const *keys, size_t n_keys,
           sr_entry_fn fn, void *ctx);

/* Typed values; each refuses other types and values out of range, naming the path. */
int sr_u64(sr *r, uint32_t n, const char *path, uint64_t min, uint64_t max, uint64_t *out);
int sr_u32(sr *r, uint32_t n, const char *path, uint32_t min, uint32_t max, uint32_t *out);
int sr_double(sr *r, uint32_t n, const char *path, double min, double max, double *out);
int sr_bool(sr *r, uint32_t n, const char *path, bool *out);
/* A duration with a unit ("250ms", "2s"; 0 alone), at most max; signed when neg_ok. */
int sr_duration(sr *r, uint32_t n, const char *path, fl_time_ns max, fl_time_ns *out);
int sr_offset(sr *r, uint32_t n, const char *path, int64_t *out);
/* A plain word (a scalar); *out points into the tree. */
int sr_word(sr *r, uint32_t n, const char *path, const char **out);
/* The node of type type, else an error ("a mapping", "a list"). */
int sr_type(sr *r, uint32_t n, const char *path, int type);
/* "base.key" or "base[i]" into out. */
const char *sr_path(char *out, size_t size, const char *base, const char *key, long index);

/* scenario_faults.c: the faults section. */
int sr_faults(sr *r, uint32_t m, const char *path);

/* What the targets of a fault's kind look like: none, nodes [1, 3], one node [2], the sides
 * of a partition [[1, 2], [3, 4, 5]], one-way's link {from: 1, to: 2}. */
typedef enum sr_shape { SHAPE_NONE, SHAPE_NODES, SHAPE_ONE, SHAPE_SIDES, SHAPE_LINK } sr_shape;
sr_shape sr_shape_of(const fl_scenario_fault *f);

#endif
