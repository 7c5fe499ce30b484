/* pool.c: fixed-size object pool and bump arena (pool.h). */
#include "faultline/pool.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

int fl_pool_init(fl_pool *p, size_t obj_size, uint32_t count_max)
{
    memset(p, 0, sizeof(*p));
    FL_ASSERT(obj_size > 0);
    FL_ASSERT(count_max > 0);
    obj_size = (obj_size + 15) & ~(size_t)15;
    p->mem = calloc(count_max, obj_size);
    p->next = malloc(sizeof(uint32_t) * count_max);
    if (!p->mem || !p->next) {
        fl_pool_free(p);
        return FL_ENOMEM;
    }
    p->obj_size = obj_size;
    p->count_max = count_max;
    for (uint32_t i = 0; i < count_max; i++)
        p->next[i] = i + 1;
    p->free_head = 0;
    return 0;
}

void fl_pool_free(fl_pool *p)
{
    free(p->mem);
    free(p->next);
    memset(p, 0, sizeof(*p));
}

void *fl_pool_get(fl_pool *p)
{
    if (p->free_head >= p->count_max)
        return NULL;
    uint32_t i = p->free_head;
    p->free_head = p->next[i];
    p->used++;
    return p->mem + (size_t)i * p->obj_size;
}

void fl_pool_put(fl_pool *p, void *obj)
{
    size_t off = (size_t)((uint8_t *)obj - p->mem);
    FL_ASSERT(off % p->obj_size == 0);
    uint32_t i = (uint32_t)(off / p->obj_size);
    FL_ASSERT(i < p->count_max);
    FL_ASSERT(p->used > 0);
    p->next[i] = p->free_head;
    p->free_head = i;
    p->used--;
}

int fl_arena_init(fl_arena *a, size_t size)
{
    a->mem = malloc(size);
    a->size = a->mem ? size : 0;
    a->used = 0;
    return a->mem ? 0 : FL_ENOMEM;
}

void fl_arena_free(fl_arena *a)
{
    free(a->mem);
    memset(a, 0, sizeof(*a));
}

void *fl_arena_alloc(fl_arena *a, size_t n)
{
    size_t at = (a->used + 15) & ~(size_t)15;
    if (at > a->size || n > a->size - at)
        return NULL;
    a->used = at + n;
    return a->mem + at;
}

void fl_arena_reset(fl_arena *a)
{
    a->used = 0;
}
