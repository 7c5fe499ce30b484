/* pool.h: bounded allocation.
 *
 * fl_pool hands out fixed-size objects from one block allocated at init: O(1) get and put,
 * at most count_max objects, never allocates afterwards. fl_arena is a bump allocator over
 * one block: allocations are freed together by fl_arena_reset. */
#ifndef FAULTLINE_POOL_H
#define FAULTLINE_POOL_H

#include "faultline/types.h"

typedef struct fl_pool {
    uint8_t *mem;
    size_t obj_size;
    uint32_t count_max;
    uint32_t used;
    uint32_t free_head; /* index of first free object, count_max = none */
    uint32_t *next;     /* free-list links */
} fl_pool;

int fl_pool_init(fl_pool *p, size_t obj_size, uint32_t count_max);
void fl_pool_free(fl_pool *p);
void *fl_pool_get(fl_pool *p); /* NULL when all count_max objects are in use */
void fl_pool_put(fl_pool *p, void *obj);

typedef struct fl_arena {
    uint8_t *mem;
    size_t size;
    size_t used;
} fl_arena;

int fl_arena_init(fl_arena *a, size_t size);
void fl_arena_free(fl_arena *a);
void *fl_arena_alloc(fl_arena *a, size_t n); /* 16-byte aligned; NULL when full */
void fl_arena_reset(fl_arena *a);

#endif
