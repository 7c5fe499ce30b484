/* codec.c: the SWIM packet format (layout in swim.h). Decoding reads untrusted bytes through
 * fl_reader and returns an error for anything malformed; nothing here asserts on input. */
#include "faultline/swim.h"

#include "faultline/assert.h"
#include "faultline/error.h"

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
    default:
        FL_UNREACHABLE();
    }
}

void fl_swim_encode_header(fl_buf *b, uint8_t type, fl_node_id sender, uint32_t seq,
                           fl_node_id target)
{
    fl_buf_put_u8(b, FL_SWIM_MAGIC);
    fl_buf_put_u8(b, FL_SWIM_VERSION);
    fl_buf_put_u8(b, type);
    fl_buf_put_u8(b, 0);
    fl_buf_put_u32(b, sender);
    fl_buf_put_u32(b, seq);
    fl_buf_put_u32(b, target);
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
    default:
        return r->err ? r->err : fl_reader_fail(r, FL_ECORRUPT);
    }
    if (!r->err && it->id == FL_NODE_NONE)
        return fl_reader_fail(r, FL_ECORRUPT);
    return r->err;
}

int fl_swim_decode(const uint8_t *p, size_t len, fl_swim_packet *out)
{
    if (len > FL_SWIM_PACKET_BYTES_MAX)
        return FL_ETOOBIG;
    fl_reader r;
    fl_reader_init(&r, p, len);
    uint8_t magic = fl_read_u8(&r), version = fl_read_u8(&r);
    out->type = fl_read_u8(&r);
    uint8_t count = fl_read_u8(&r);
    out->sender = fl_read_u32(&r);
    out->seq = fl_read_u32(&r);
    out->target = fl_read_u32(&r);
    out->n_items = 0;
    if (r.err)
        return r.err;
    if (magic != FL_SWIM_MAGIC)
        return FL_ECORRUPT;
    if (version != FL_SWIM_VERSION)
        return FL_EVERSION;
    if (out->type < FL_SWIM_PING || out->type > FL_SWIM_GOSSIP)
        return FL_ETYPE;
    if (out->sender == FL_NODE_NONE)
        return FL_ECORRUPT;
    if (count > FL_SWIM_ITEMS_MAX)
        return FL_ETOOBIG;
    for (uint32_t i = 0; i < count; i++) {
        int rc = decode_item(&r, &out->items[i]);
        if (rc)
            return rc;
        out->n_items++;
    }
    if (fl_reader_left(&r) != 0)
        return FL_ECORRUPT;
    return 0;
}
