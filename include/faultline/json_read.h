/* json_read.h: a small, strict, bounded JSON parser (RFC 8259) for untrusted text.
 *
 * The parser never allocates and never asserts on input: it fills a caller-provided array of
 * nodes in document order (pre-order) and returns FL_ESYNTAX with a byte offset and a reason
 * for anything that is not one valid JSON value (trailing commas, comments, leading zeros,
 * bad escapes, unpaired surrogates, control characters in strings, bytes after the value),
 * FL_ETOOBIG when the document needs more than nodes_max nodes or nests deeper than
 * FL_JR_DEPTH_MAX. Strings are not copied: a node points into the text, and fl_jr_str()
 * unescapes on demand.
 *
 * Ownership: the caller owns the text and the node array; both must outlive the fl_jr_doc. */
#ifndef FAULTLINE_JSON_READ_H
#define FAULTLINE_JSON_READ_H

#include "faultline/types.h"

#define FL_JR_DEPTH_MAX 64
#define FL_JR_NONE      0 /* "no node": the root is node 0 and is never a child */

typedef enum fl_jr_type {
    FL_JR_NULL,
    FL_JR_FALSE,
    FL_JR_TRUE,
    FL_JR_NUMBER,
    FL_JR_STRING,
    FL_JR_ARRAY,
    FL_JR_OBJECT,
} fl_jr_type;

/* One value. Children of an array or object follow their parent immediately (the first child
 * is at index + 1); an object's children alternate key (a string node), value. */
typedef struct fl_jr_node {
    uint8_t type;
    bool escaped;   /* string: contains a backslash escape */
    uint32_t next;  /* index of the next sibling, FL_JR_NONE for the last */
    uint32_t count; /* array: elements; object: members (pairs) */
    uint32_t off;   /* source slice: string without its quotes, number as written */
    uint32_t len;
} fl_jr_node;

typedef struct fl_jr_doc {
    const char *text;
    size_t len;
    fl_jr_node *nodes;
    uint32_t count;
    uint32_t nodes_max;
    size_t err_off;      /* byte offset of the error */
    const char *err_msg; /* static text, NULL when parsing succeeded */
} fl_jr_doc;

/* Parses text[0..len) (at most UINT32_MAX bytes) as one JSON value surrounded by optional
 * whitespace. Returns 0, FL_ESYNTAX or FL_ETOOBIG; on error d->err_off and d->err_msg say
 * where and why. */
int fl_jr_parse(fl_jr_doc *d, const char *text, size_t len, fl_jr_node *nodes, uint32_t nodes_max);

/* The value of member key in object node obj, or FL_JR_NONE (also when obj is no object). */
uint32_t fl_jr_get(const fl_jr_doc *d, uint32_t obj, const char *key);
/* The i-th element of an array node, or FL_JR_NONE. O(i). */
uint32_t fl_jr_at(const fl_jr_doc *d, uint32_t arr, uint32_t i);
/* A number node that is an integer in int64 range (no fraction, no exponent). Returns 0,
 * FL_ETYPE (not a number or not an integer) or FL_ERANGE. */
int fl_jr_int(const fl_jr_doc *d, uint32_t n, int64_t *out);
/* Any number node as a double. Returns 0 or FL_ETYPE. */
int fl_jr_double(const fl_jr_doc *d, uint32_t n, double *out);
/* Unescapes a string node into out (UTF-8, NUL-terminated when there is room). *len_out gets
 * the unescaped length. Returns 0, FL_ETYPE (not a string) or FL_ETOOBIG (cap too small:
 * the unescaped length is at most the node's len). */
int fl_jr_str(const fl_jr_doc *d, uint32_t n, char *out, size_t cap, size_t *len_out);
/* True when node n is a string equal to s (after unescaping). */
bool fl_jr_str_eq(const fl_jr_doc *d, uint32_t n, const char *s);

#endif
