/* buf.c: growable output buffers and bounds-checked readers (buf.h). */
#include "faultline/buf.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_buf_init(fl_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void fl_buf_free(fl_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void fl_buf_reset(fl_buf *b)
{
    b->len = 0;
    b->err = 0;
}

int fl_buf_reserve(fl_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > SIZE_MAX / 2 - b->len || (b->cap_max && b->len + extra > b->cap_max)) {
        b->err = FL_ETOOBIG;
        return b->err;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->cap_max && cap > b->cap_max)
        cap = b->cap_max;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->err = FL_ENOMEM;
        return b->err;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

uint8_t *fl_buf_extend(fl_buf *b, size_t n)
{
    if (fl_buf_reserve(b, n))
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void fl_buf_put_bytes(fl_buf *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    uint8_t *p = fl_buf_extend(b, n);
    if (p)
        memcpy(p, src, n);
}

void fl_buf_put_str(fl_buf *b, const char *s)
{
    fl_buf_put_bytes(b, s, strlen(s));
}

void fl_buf_printf(fl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (!b->err)
            b->err = FL_EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        fl_buf_put_bytes(b, small, (size_t)n);
        return;
    }
    if (fl_buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fl_buf_patch_u32(fl_buf *b, size_t off, uint32_t v)
{
    if (b->err)
        return;
    FL_ASSERT(off + 4 <= b->len);
    fl_put_u32le(b->data + off, v);
}

void fl_reader_init(fl_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

size_t fl_reader_left(const fl_reader *r)
{
    return r->err ? 0 : r->len - r->pos;
}

int fl_reader_fail(fl_reader *r, int err)
{
    if (!r->err)
        r->err = err;
    return r->err;
}

const uint8_t *fl_read_bytes(fl_reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        r->err = FL_ETRUNC;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}
