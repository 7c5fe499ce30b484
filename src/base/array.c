/* array.c: doubling growth of heap arrays (array.h). */
#include "faultline/array.h"

#include "faultline/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fl_array_grow(void **items, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem_size)
            return FL_ENOMEM;
        c *= 2;
    }
    void *p = realloc(*items, c * elem_size);
    if (!p)
        return FL_ENOMEM;
    memset((char *)p + *cap * elem_size, 0, (c - *cap) * elem_size);
    *items = p;
    *cap = c;
    return 0;
}
