/* buf.h: byte buffers with bounds-checked little-endian encode and decode.
 *
 * fl_buf is a growable output buffer that owns its memory. Errors latch: once a put fails
 * (allocation failure, or growth past cap_max) b->err is set and every later put is a no-op,
 * so an encoder checks once at the end.
 *
 * fl_reader reads untrusted bytes. A read past the end latches r->err = FL_ETRUNC and
 * returns zero (or NULL), so a decoder reads a whole record and checks once; nothing here
 * asserts on input. */
#ifndef FAULTLINE_BUF_H
#define FAULTLINE_BUF_H

#include "faultline/types.h"

typedef struct fl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t cap_max; /* 0 = unbounded; otherwise growth past it latches FL_ETOOBIG */
    int err;
} fl_buf;

void fl_buf_init(fl_buf *b);
void fl_buf_free(fl_buf *b);                 /* frees data; b may be re-initialized */
void fl_buf_reset(fl_buf *b);                /* len = 0, err = 0; keeps capacity */
int fl_buf_reserve(fl_buf *b, size_t extra); /* ensures room for extra bytes */
uint8_t *fl_buf_extend(fl_buf *b, size_t n); /* appends n bytes, returns them (NULL on err) */

static inline void fl_buf_put_u8(fl_buf *b, uint8_t v);
static inline void fl_buf_put_u16(fl_buf *b, uint16_t v);
static inline void fl_buf_put_u32(fl_buf *b, uint32_t v);
static inline void fl_buf_put_u64(fl_buf *b, uint64_t v);
void fl_buf_put_bytes(fl_buf *b, const void *p, size_t n);
void fl_buf_put_str(fl_buf *b, const char *s); /* without the NUL */
void fl_buf_printf(fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Overwrites 4 bytes at offset off (which must already be inside the buffer). */
void fl_buf_patch_u32(fl_buf *b, size_t off, uint32_t v);

typedef struct fl_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int err;
} fl_reader;

void fl_reader_init(fl_reader *r, const void *p, size_t len);
size_t fl_reader_left(const fl_reader *r);
static inline uint8_t fl_read_u8(fl_reader *r);
static inline uint16_t fl_read_u16(fl_reader *r);
static inline uint32_t fl_read_u32(fl_reader *r);
static inline uint64_t fl_read_u64(fl_reader *r);
/* Returns a pointer to the next n bytes inside the input and advances, or NULL. */
const uint8_t *fl_read_bytes(fl_reader *r, size_t n);
/* Latches err (if none yet) and returns it: for decoders that find a semantic error. */
int fl_reader_fail(fl_reader *r, int err);

/* Raw little-endian helpers on memory the caller has bounds-checked. */
static inline void fl_put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t fl_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void fl_put_u64le(uint8_t *p, uint64_t v)
{
    fl_put_u32le(p, (uint32_t)v);
    fl_put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t fl_get_u64le(const uint8_t *p)
{
    return (uint64_t)fl_get_u32le(p) | (uint64_t)fl_get_u32le(p + 4) << 32;
}

/* ---- inline fast paths ---------------------------------------------------------------------
 * Every simulated message is encoded and decoded field by field, so the common case (room
 * left, no error latched) is inlined; anything else takes the checked out-of-line path.
 * cap never exceeds cap_max, so room within cap is room within cap_max too. */

static inline uint8_t *fl__buf_room(fl_buf *b, size_t n)
{
    if (b->err == 0 && b->cap - b->len >= n) {
        uint8_t *p = b->data + b->len;
        b->len += n;
        return p;
    }
    return fl_buf_extend(b, n);
}

static inline void fl_buf_put_u8(fl_buf *b, uint8_t v)
{
    uint8_t *p = fl__buf_room(b, 1);
    if (p)
        p[0] = v;
}

static inline void fl_buf_put_u16(fl_buf *b, uint16_t v)
{
    uint8_t *p = fl__buf_room(b, 2);
    if (p) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
    }
}

static inline void fl_buf_put_u32(fl_buf *b, uint32_t v)
{
    uint8_t *p = fl__buf_room(b, 4);
    if (p)
        fl_put_u32le(p, v);
}

static inline void fl_buf_put_u64(fl_buf *b, uint64_t v)
{
    uint8_t *p = fl__buf_room(b, 8);
    if (p)
        fl_put_u64le(p, v);
}

/* The next n bytes of input, or NULL (with r->err latched by fl_read_bytes). */
static inline const uint8_t *fl__read_room(fl_reader *r, size_t n)
{
    if (r->err == 0 && r->len - r->pos >= n) {
        const uint8_t *p = r->p + r->pos;
        r->pos += n;
        return p;
    }
    return fl_read_bytes(r, n);
}

static inline uint8_t fl_read_u8(fl_reader *r)
{
    const uint8_t *p = fl__read_room(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t fl_read_u16(fl_reader *r)
{
    const uint8_t *p = fl__read_room(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static inline uint32_t fl_read_u32(fl_reader *r)
{
    const uint8_t *p = fl__read_room(r, 4);
    return p ? fl_get_u32le(p) : 0;
}

static inline uint64_t fl_read_u64(fl_reader *r)
{
    const uint8_t *p = fl__read_room(r, 8);
    return p ? fl_get_u64le(p) : 0;
}

#endif
