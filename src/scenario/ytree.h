/* ytree.h: a YAML document read into a small tree (ytree.c, with libyaml), every node marked
 * with the line and column it starts at, for the scenario reader. Bounded: at most
 * YT_BYTES_MAX of input, YT_NODES_MAX nodes, YT_DEPTH_MAX levels of nesting, one document.
 * Anchors, aliases and tags are refused (a scenario has no use for them, and an alias can make
 * a small file describe a huge tree). Untrusted input: every failure is an error with its
 * place, never an assertion. */
#ifndef FL_SCENARIO_YTREE_H
#define FL_SCENARIO_YTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YT_BYTES_MAX (1u << 20)
#define YT_NODES_MAX 65536
#define YT_DEPTH_MAX 16

typedef enum yt_type { YT_SCALAR = 1, YT_SEQ, YT_MAP } yt_type;

/* Node 0 is no node. Children of a mapping come in pairs: key, value. */
typedef struct yt_node {
    uint8_t type;  /* yt_type */
    bool plain;    /* a scalar written without quotes (a quoted "5" is text, not a number) */
    uint32_t line; /* 1-based */
    uint32_t col;  /* 1-based */
    uint32_t first, last, next; /* first and last child, next sibling */
    uint32_t count;             /* children */
    uint32_t text, len;         /* a scalar's bytes: doc->text + text, NUL-terminated */
} yt_node;

typedef struct yt_doc {
    yt_node *nodes;
    uint32_t n, cap;
    char *text;
    size_t text_len, text_cap;
    uint32_t root; /* 0: the document is empty */
} yt_doc;

typedef struct yt_error {
    uint32_t line, col; /* 1-based; 0 when it has no place */
    char msg[200];
} yt_error;

/* Whether this build reads YAML (libyaml was found when it was built). */
bool yt_available(void);
/* Reads bytes[0..len) into d. Returns 0, or -1 with *err filled in (d is then empty). */
int yt_parse(yt_doc *d, const char *bytes, size_t len, yt_error *err);
void yt_free(yt_doc *d);

static inline const yt_node *yt_at(const yt_doc *d, uint32_t i)
{
    return &d->nodes[i];
}

static inline const char *yt_str(const yt_doc *d, uint32_t i)
{
    return d->text + d->nodes[i].text;
}

#endif
