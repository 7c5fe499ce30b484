/* array.h: growing a heap array by doubling, for the places that keep an array and its
 * capacity side by side. */
#ifndef FAULTLINE_ARRAY_H
#define FAULTLINE_ARRAY_H

#include <stddef.h>

/* Ensures *items (of *cap elements of elem_size bytes) holds at least need elements,
 * doubling from 64. New elements are zeroed. Returns 0 or FL_ENOMEM (then nothing changed).
 * Amortized O(1) per element. */
int fl_array_grow(void **items, size_t *cap, size_t need, size_t elem_size);

#endif
