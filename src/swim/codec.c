/* codec.c: the SWIM packet and STATE message formats (layouts in swim.h). Decoding reads
 * untrusted bytes through fl_reader and returns an error for anything malformed; nothing here
 * asserts on input. */
#include "faultline/swim.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <string.h>

size_t fl_swim_item_bytes(const fl_swim_item *it)
{
    switch (it->kind) {
    case FL_SWIM_ITEM_ALIVE:
    case FL_SWIM_ITEM_LEFT:
        return 1 + 4 + 4;
    case FL_SWIM_ITEM_SUSPECT:
    case FL_SWIM_ITEM_DEAD:
        return 1 + 4 + 4 + 4;
    case FL_SWIM_ITEM_USER:
        return 1 + 4 + 4 + 2 + (size_t)it->len;
    case FL_SWIM_ITEM_ALIVE_AT:
        return 1 + 4 + 4 + 1 + (size_t)it->len;
    default:
        FL_UNREACHABLE();
    }
}

/* len address bytes, or len zeros (room the environment fills) when addr is NULL. */
static void put_addr(fl_buf *b, const uint8_t *addr, size_t len)
{
    static const uint8_t zeros[FL_SWIM_ADDR_BYTES_MAX];
    fl_buf_put_bytes(b, addr ? addr : zeros, len);
}

static void put_header(fl_buf *b, uint8_t type, uint8_t b3, fl_node_id sender, uint32_t seq,
                       uint32_t w3)
{
    fl_buf_put_u8(b, FL_SWIM_MAGIC);
    fl_buf_put_u8(b, FL_SWIM_VERSION);
    fl_buf_put_u8(b, type);
    fl_buf_put_u8(b, b3);
    fl_buf_put_u32(b, sender);
    fl_buf_put_u32(b, seq);
    fl_buf_put_u32(b, w3);
}

void fl_swim_encode_header(fl_buf *b, uint8_t type, fl_node_id sender, uint32_t seq,
                           fl_node_id target)
{
    put_header(b, type, 0, sender, seq, target);
}

void fl_swim_encode_item(fl_buf *b, size_t head, const fl_swim_item *it)
{
    FL_ASSERT(head + FL_SWIM_HEADER_BYTES <= b->len || b->err);
    if (b->err)
        return;
    FL_ASSERT(b->data[head + 3] < FL_SWIM_ITEMS_MAX);
    fl_buf_put_u8(b, it->kind);
    fl_buf_put_u32(b, it->id);
    fl_buf_put_u32(b, it->inc);
    if (it->kind == FL_SWIM_ITEM_SUSPECT || it->kind == FL_SWIM_ITEM_DEAD)
        fl_buf_put_u32(b, it->from);
    if (it->kind == FL_SWIM_ITEM_USER) {
        fl_buf_put_u16(b, it->len);
        fl_buf_put_bytes(b, it->data, it->len);
    }
    if (it->kind == FL_SWIM_ITEM_ALIVE_AT) {
        FL_ASSERT(it->len <= FL_SWIM_ADDR_BYTES_MAX);
        fl_buf_put_u8(b, (uint8_t)it->len);
        put_addr(b, it->data, it->len);
    }
    if (!b->err)
        b->data[head + 3]++;
}

static int decode_item(fl_reader *r, fl_swim_item *it)
{
    it->kind = fl_read_u8(r);
    it->id = fl_read_u32(r);
    it->inc = fl_read_u32(r);
    it->from = FL_NODE_NONE;
    it->data = NULL;
    it->len = 0;
    switch (it->kind) {
    case FL_SWIM_ITEM_ALIVE:
    case FL_SWIM_ITEM_LEFT:
        it->from = it->id;
        break;
    case FL_SWIM_ITEM_SUSPECT:
    case FL_SWIM_ITEM_DEAD:
        it->from = fl_read_u32(r);
        break;
    case FL_SWIM_ITEM_USER:
        it->len = fl_read_u16(r);
        if (it->len > FL_SWIM_USER_BYTES_MAX)
            return fl_reader_fail(r, FL_ETOOBIG);
        it->data = fl_read_bytes(r, it->len);
        break;
    case FL_SWIM_ITEM_ALIVE_AT:
        it->from = it->id;
        it->len = fl_read_u8(r);
        if (it->len > FL_SWIM_ADDR_BYTES_MAX)
            return fl_reader_fail(r, FL_ETOOBIG);
        it->data = fl_read_bytes(r, it->len);
        break;
    default:
        return r->err ? r->err : fl_reader_fail(r, FL_ECORRUPT);
    }
    if (!r->err && it->id == FL_NODE_NONE)
        return fl_reader_fail(r, FL_ECORRUPT);
    return r->err;
}

/* The 16 bytes both formats start with: magic, version, type, a byte (item count, flags),
 * sender, sequence, a word (target, entry count). */
typedef struct header {
    uint8_t type, b3;
    uint32_t sender, seq, w3;
} header;

static int read_header(fl_reader *r, const uint8_t *p, size_t len, header *h)
{
    fl_reader_init(r, p, len);
    uint8_t magic = fl_read_u8(r), version = fl_read_u8(r);
    h->type = fl_read_u8(r);
    h->b3 = fl_read_u8(r);
    h->sender = fl_read_u32(r);
    h->seq = fl_read_u32(r);
    h->w3 = fl_read_u32(r);
    if (r->err)
        return r->err;
    if (magic != FL_SWIM_MAGIC)
        return FL_ECORRUPT;
    return version != FL_SWIM_VERSION ? FL_EVERSION : 0;
}

int fl_swim_decode(const uint8_t *p, size_t len, fl_swim_packet *out)
{
    out->n_items = 0;
    if (len > FL_SWIM_PACKET_BYTES_MAX)
        return FL_ETOOBIG;
    fl_reader r;
    header h;
    int rc = read_header(&r, p, len, &h);
    if (rc)
        return rc;
    out->type = h.type;
    out->sender = h.sender;
    out->seq = h.seq;
    out->target = h.w3;
    uint8_t count = h.b3;
    if (out->type < FL_SWIM_PING || out->type > FL_SWIM_GOSSIP || out->type == FL_SWIM_STATE)
        return FL_ETYPE;
    if (out->sender == FL_NODE_NONE)
        return FL_ECORRUPT;
    if (count > FL_SWIM_ITEMS_MAX)
        return FL_ETOOBIG;
    for (uint32_t i = 0; i < count; i++) {
        if ((rc = decode_item(&r, &out->items[i])) != 0)
            return rc;
        out->n_items++;
    }
    if (fl_reader_left(&r) != 0)
        return FL_ECORRUPT;
    return 0;
}

/* ---- STATE messages ------------------------------------------------------------------------ */

bool fl_swim_is_state(const uint8_t *p, size_t len)
{
    return len >= 3 && p[0] == FL_SWIM_MAGIC && p[1] == FL_SWIM_VERSION && p[2] == FL_SWIM_STATE;
}

void fl_swim_state_encode_header(fl_buf *b, uint8_t flags, fl_node_id sender, uint32_t seq)
{
    put_header(b, FL_SWIM_STATE, flags, sender, seq, 0);
}

size_t fl_swim_entry_bytes(const fl_swim_entry *e)
{
    return 4 + 4 + 1 + (e->has_addr ? 1 + (size_t)e->addr_len : 0);
}

void fl_swim_state_encode_entry(fl_buf *b, size_t head, const fl_swim_entry *e)
{
    FL_ASSERT(head + FL_SWIM_HEADER_BYTES <= b->len || b->err);
    FL_ASSERT(e->addr_len <= FL_SWIM_ADDR_BYTES_MAX && (unsigned)e->state <= FL_SWIM_LEFT);
    if (b->err)
        return;
    fl_buf_put_u32(b, e->id);
    fl_buf_put_u32(b, e->inc);
    fl_buf_put_u8(b, (uint8_t)((unsigned)e->state | (e->has_addr ? FL_SWIM_ENTRY_ADDR : 0)));
    if (e->has_addr) {
        fl_buf_put_u8(b, e->addr_len);
        put_addr(b, e->addr, e->addr_len);
    }
    if (b->err)
        return;
    uint32_t n = fl_get_u32le(b->data + head + 12);
    FL_ASSERT(n < FL_SWIM_SYNC_MAX);
    fl_put_u32le(b->data + head + 12, n + 1);
}

static int read_entry(fl_reader *r, fl_swim_entry *e)
{
    e->id = fl_read_u32(r);
    e->inc = fl_read_u32(r);
    uint8_t st = fl_read_u8(r);
    e->state = (fl_swim_state)(st & 3);
    e->has_addr = (st & FL_SWIM_ENTRY_ADDR) != 0;
    e->addr = NULL;
    e->addr_len = 0;
    if (r->err)
        return r->err;
    if ((st & ~(FL_SWIM_ENTRY_ADDR | 3)) != 0 || e->id == FL_NODE_NONE)
        return fl_reader_fail(r, FL_ECORRUPT);
    if (e->has_addr) {
        e->addr_len = fl_read_u8(r);
        if (e->addr_len > FL_SWIM_ADDR_BYTES_MAX)
            return fl_reader_fail(r, FL_ETOOBIG);
        e->addr = fl_read_bytes(r, e->addr_len);
    }
    return r->err;
}

int fl_swim_state_open(const uint8_t *p, size_t len, fl_swim_state_reader *out)
{
    memset(out, 0, sizeof(*out));
    if (len > FL_SWIM_STREAM_BYTES_LIMIT)
        return FL_ETOOBIG;
    fl_reader r;
    header h;
    int rc = read_header(&r, p, len, &h);
    if (rc)
        return rc;
    out->flags = h.b3;
    out->sender = h.sender;
    out->seq = h.seq;
    out->count = h.w3;
    if (h.type != FL_SWIM_STATE)
        return FL_ETYPE;
    if (out->sender == FL_NODE_NONE || (out->flags & ~(FL_SWIM_STATE_REPLY | FL_SWIM_STATE_JOIN)))
        return FL_ECORRUPT;
    if (out->count > FL_SWIM_SYNC_MAX)
        return FL_ETOOBIG;
    fl_swim_entry e;
    for (uint32_t i = 0; i < out->count && rc == 0; i++)
        rc = read_entry(&r, &e);
    if (rc)
        return rc;
    if (fl_reader_left(&r) != 0)
        return FL_ECORRUPT;
    out->p = p;
    out->len = len;
    out->pos = FL_SWIM_HEADER_BYTES;
    return 0;
}

bool fl_swim_state_next(fl_swim_state_reader *sr, fl_swim_entry *e)
{
    if (sr->next == sr->count)
        return false;
    fl_reader r;
    fl_reader_init(&r, sr->p + sr->pos, sr->len - sr->pos);
    int rc = read_entry(&r, e);
    FL_ASSERT(rc == 0); /* validated by fl_swim_state_open */
    sr->pos += sr->len - sr->pos - fl_reader_left(&r);
    sr->next++;
    return true;
}

int fl_swim_addr_fields(uint8_t *msg, size_t len, fl_swim_addr_fn fn, void *arg)
{
    if (fl_swim_is_state(msg, len)) {
        fl_swim_state_reader r;
        fl_swim_entry e;
        int rc = fl_swim_state_open(msg, len, &r);
        while (rc == 0 && fl_swim_state_next(&r, &e))
            if (e.has_addr)
                fn(arg, e.id, msg + (e.addr - msg), e.addr_len);
        return rc;
    }
    fl_swim_packet p;
    int rc = fl_swim_decode(msg, len, &p);
    for (uint32_t i = 0; rc == 0 && i < p.n_items; i++)
        if (p.items[i].kind == FL_SWIM_ITEM_ALIVE_AT)
            fn(arg, p.items[i].id, msg + (p.items[i].data - msg), p.items[i].len);
    return rc;
}
