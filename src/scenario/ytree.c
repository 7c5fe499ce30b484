/* ytree.c: YAML into a marked tree (ytree.h), through libyaml's event parser. Without libyaml
 * (FL_HAVE_YAML unset) yt_parse says which package is missing. */
#include "ytree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FL_HAVE_YAML
#include <yaml.h>
#endif

void yt_free(yt_doc *d)
{
    free(d->nodes);
    free(d->text);
    memset(d, 0, sizeof(*d));
}

static int fail(yt_error *err, uint32_t line, uint32_t col, const char *msg)
{
    err->line = line;
    err->col = col;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return -1;
}

#ifndef FL_HAVE_YAML

bool yt_available(void)
{
    return false;
}

int yt_parse(yt_doc *d, const char *bytes, size_t len, yt_error *err)
{
    (void)bytes;
    (void)len;
    memset(d, 0, sizeof(*d));
    return fail(err, 0, 0,
                "this faultline was built without libyaml, which reads scenario files "
                "(apt-get install libyaml-dev pkg-config, then make)");
}

#else

bool yt_available(void)
{
    return true;
}

typedef struct builder {
    yt_doc *d;
    uint32_t stack[YT_DEPTH_MAX + 1];
    uint32_t depth;
    uint32_t docs;
    yt_error *err;
} builder;

static int grow(void **p, uint32_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    uint32_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int put_text(yt_doc *d, const unsigned char *s, size_t n, uint32_t *at)
{
    if (d->text_len + n + 1 > d->text_cap) {
        size_t cap = d->text_cap ? d->text_cap * 2 : 1024;
        while (cap < d->text_len + n + 1)
            cap *= 2;
        char *t = realloc(d->text, cap);
        if (!t)
            return -1;
        d->text = t;
        d->text_cap = cap;
    }
    *at = (uint32_t)d->text_len;
    if (n)
        memcpy(d->text + d->text_len, s, n);
    d->text[d->text_len + n] = 0;
    d->text_len += n + 1;
    return 0;
}

/* A new node of type at mark m, linked as the last child of the open container. */
static uint32_t add(builder *b, yt_type type, const yaml_mark_t *m)
{
    yt_doc *d = b->d;
    if (d->n >= YT_NODES_MAX) {
        fail(b->err, (uint32_t)m->line + 1, (uint32_t)m->column + 1, "too many nodes");
        return 0;
    }
    if (grow((void **)&d->nodes, &d->cap, d->n + 1, sizeof(*d->nodes))) {
        fail(b->err, 0, 0, "out of memory");
        return 0;
    }
    uint32_t i = d->n++;
    d->nodes[i] = (yt_node){
        .type = (uint8_t)type, .line = (uint32_t)m->line + 1, .col = (uint32_t)m->column + 1};
    if (b->depth) {
        yt_node *parent = &d->nodes[b->stack[b->depth - 1]];
        if (parent->last)
            d->nodes[parent->last].next = i;
        else
            parent->first = i;
        parent->last = i;
        parent->count++;
    } else if (d->root) {
        fail(b->err, d->nodes[i].line, d->nodes[i].col, "a second document: one per file");
        return 0;
    } else {
        d->root = i;
    }
    return i;
}

/* Anchors (&a), aliases (*a) and tags (!t) are refused: they have no use here. */
static int refuse_extras(builder *b, const yaml_event_t *ev)
{
    uint32_t line = (uint32_t)ev->start_mark.line + 1, col = (uint32_t)ev->start_mark.column + 1;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    bool implicit = true;
    if (ev->type == YAML_ALIAS_EVENT)
        return fail(b->err, line, col, "aliases (*name) are not supported in a scenario");
    if (ev->type == YAML_SCALAR_EVENT) {
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        implicit = ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit;
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        implicit = ev->data.sequence_start.implicit;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        implicit = ev->data.mapping_start.implicit;
    }
    if (anchor)
        return fail(b->err, line, col, "anchors (&name) are not supported in a scenario");
    if (tag && !implicit)
        return fail(b->err, line, col, "tags (!name) are not supported in a scenario");
    return 0;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    if (refuse_extras(b, ev))
        return -1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        uint32_t i = add(b, YT_SCALAR, &ev->start_mark);
        if (!i)
            return -1;
        uint32_t at;
        if (put_text(b->d, ev->data.scalar.value, ev->data.scalar.length, &at))
            return fail(b->err, 0, 0, "out of memory");
        b->d->nodes[i].text = at;
        b->d->nodes[i].len = (uint32_t)ev->data.scalar.length;
        b->d->nodes[i].plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (b->depth >= YT_DEPTH_MAX)
            return fail(b->err, (uint32_t)ev->start_mark.line + 1,
                        (uint32_t)ev->start_mark.column + 1, "nested too deeply");
        uint32_t i =
            add(b, ev->type == YAML_SEQUENCE_START_EVENT ? YT_SEQ : YT_MAP, &ev->start_mark);
        if (!i)
            return -1;
        b->stack[b->depth++] = i;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

int yt_parse(yt_doc *d, const char *bytes, size_t len, yt_error *err)
{
    memset(d, 0, sizeof(*d));
    memset(err, 0, sizeof(*err));
    if (len > YT_BYTES_MAX)
        return fail(err, 0, 0, "larger than 1 MiB");
    if (grow((void **)&d->nodes, &d->cap, 1, sizeof(*d->nodes)))
        return fail(err, 0, 0, "out of memory");
    d->nodes[0] = (yt_node){0};
    d->n = 1;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        yt_free(d);
        return fail(err, 0, 0, "out of memory");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)bytes, len);
    builder b = {.d = d, .err = err};
    int rc = 0;
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "YAML: %s%s%s", p.problem ? p.problem : "syntax error",
                     p.context ? " " : "", p.context ? p.context : "");
            rc = fail(err, (uint32_t)p.problem_mark.line + 1, (uint32_t)p.problem_mark.column + 1,
                      msg);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rc)
        yt_free(d);
    return rc;
}

#endif
