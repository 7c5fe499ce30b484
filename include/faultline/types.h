/* types.h: the scalar kinds every module shares. Terms, indexes, node ids and times are
 * distinct typedefs so that a signature says which one it takes (C does not enforce it). */
#ifndef FAULTLINE_TYPES_H
#define FAULTLINE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t fl_time_ns; /* nanoseconds: virtual time in the simulator, monotonic in io/ */
typedef uint64_t fl_term;    /* Raft / Paxos term (ballot round); 0 = before any election */
typedef uint64_t fl_index;   /* log index; entries start at 1, 0 = "no entry" */
typedef uint32_t fl_node_id; /* node identifier; 0 = none */

#define FL_NODE_NONE  ((fl_node_id)0)
#define FL_NS_PER_US  ((fl_time_ns)1000)
#define FL_NS_PER_MS  ((fl_time_ns)1000000)
#define FL_NS_PER_S   ((fl_time_ns)1000000000)
#define FL_TIME_NEVER UINT64_MAX

#endif
