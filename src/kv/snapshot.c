/* snapshot.c: serializes the whole kv state and restores it, byte-identically across replicas.
 *
 * Format v2 (little-endian; docs/kv.md has the full table):
 *   "FLKV" | u32 version=2 | u64 applied_index | u64 log_time_ns | u64 delete_index |
 *   u64 entry_count   | entries sorted by key (bytewise, a prefix first):
 *                       u32 key_len, key, u32 value_len, value, u64 expire_at (0 = none),
 *                       u64 mod_index |
 *   u64 session_count | sessions from least to most recently used:
 *                       u64 client_id, u64 last_seq, u64 last_used_ns,
 *                       u8 status, u8 has_value, u32 value_len, value |
 *   u32 CRC32C of every preceding byte.
 * Version 1 (written before expiry) lacks delete_index, expire_at and mod_index; restore
 * still reads it (all three 0).
 * Invariants: two kvs in the same state write identical bytes (keys are sorted, session
 * order is the LRU order, which is itself replicated state); restore accepts only what
 * snapshot can write (sorted unique keys, unique clients, non-decreasing last use, limits of
 * this kv's config) and leaves the kv untouched on any error. */
#include "kv_internal.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC   "FLKV"
#define SNAP_VERSION 2u
#define SNAP_HEADER  8 /* magic + version */

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int entry_ptr_cmp(const void *pa, const void *pb)
{
    const fl__kv_node *a = *(const fl__kv_node *const *)pa;
    const fl__kv_node *b = *(const fl__kv_node *const *)pb;
    return key_cmp(a->key, a->key_len, b->key, b->key_len);
}

/* Writes the entries in key order. O(n log n); allocates one pointer per entry. */
static int write_entries(const fl_kv *kv, fl_buf *out)
{
    size_t count = kv->data.count;
    fl_buf_put_u64(out, count);
    if (count == 0)
        return out->err;
    const fl__kv_node **v = malloc(count * sizeof(*v));
    if (!v)
        return FL_ENOMEM;
    size_t i = 0, b;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n))
        v[i++] = n;
    qsort(v, count, sizeof(*v), entry_ptr_cmp);
    for (i = 0; i < count; i++) {
        const fl__kv_entry *e = (const fl__kv_entry *)v[i];
        fl_buf_put_u32(out, (uint32_t)e->node.key_len);
        fl_buf_put_bytes(out, e->node.key, e->node.key_len);
        fl_buf_put_u32(out, (uint32_t)e->value_len);
        fl_buf_put_bytes(out, e->value, e->value_len);
        fl_buf_put_u64(out, e->expire_at);
        fl_buf_put_u64(out, e->mod_index);
    }
    free(v);
    return out->err;
}

static void write_sessions(const fl_kv *kv, fl_buf *out)
{
    fl_buf_put_u64(out, kv->sessions.count);
    for (const fl__kv_session *s = kv->lru_oldest; s; s = s->newer) {
        fl_buf_put_u64(out, s->client_id);
        fl_buf_put_u64(out, s->last_seq);
        fl_buf_put_u64(out, s->last_used_ns);
        fl_buf_put_u8(out, (uint8_t)s->status);
        fl_buf_put_u8(out, s->has_value ? 1 : 0);
        fl_buf_put_u32(out, (uint32_t)s->value_len);
        fl_buf_put_bytes(out, s->value, s->value_len);
    }
}

int fl_kv_snapshot(const fl_kv *kv, fl_buf *out)
{
    if (out->err)
        return out->err;
    size_t start = out->len;
    fl_buf_put_bytes(out, SNAP_MAGIC, 4);
    fl_buf_put_u32(out, SNAP_VERSION);
    fl_buf_put_u64(out, kv->applied_index);
    fl_buf_put_u64(out, kv->log_time_ns);
    fl_buf_put_u64(out, kv->delete_index);
    int rc = write_entries(kv, out);
    if (rc)
        return rc;
    write_sessions(kv, out);
    if (out->err)
        return out->err;
    fl_buf_put_u32(out, fl_crc32c(0, out->data + start, out->len - start));
    return out->err;
}

/* Version 2's per-entry fields: an expiry still to come, a modification already applied. */
static int read_entry_meta(fl_reader *r, fl_kv *t, const uint8_t *key, size_t key_len)
{
    fl_time_ns at = fl_read_u64(r);
    fl_index mod = fl_read_u64(r);
    if (r->err)
        return r->err;
    if ((at && at <= t->log_time_ns) || mod > t->applied_index)
        return FL_ECORRUPT;
    fl__kv_entry *e = fl__kv_entry_find(t, key, key_len);
    e->mod_index = mod;
    return fl__kv_expire_set(t, e, at);
}

/* Reads the entries into the fresh kv t. */
static int read_entries(fl_reader *r, fl_kv *t, uint32_t version)
{
    uint64_t count = fl_read_u64(r);
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < count && !r->err; i++) {
        size_t key_len, value_len;
        uint32_t n = fl_read_u32(r);
        const uint8_t *key = fl_read_bytes(r, n);
        key_len = n;
        n = fl_read_u32(r);
        const uint8_t *value = fl_read_bytes(r, n);
        value_len = n;
        if (r->err)
            break;
        if (key_len > t->config.key_size_max || value_len > t->config.value_size_max)
            return FL_ETOOBIG;
        if (i > 0 && key_cmp(prev, prev_len, key, key_len) >= 0)
            return FL_ECORRUPT;
        if (fl__kv_entry_set(t, key, key_len, value, value_len))
            return FL_ENOMEM;
        int rc = version >= 2 ? read_entry_meta(r, t, key, key_len) : 0;
        if (rc)
            return rc;
        prev = key;
        prev_len = key_len;
    }
    return r->err;
}

/* Reads one session's fields and appends it at the newest end of t's LRU list. */
static int read_session(fl_reader *r, fl_kv *t, fl_time_ns *prev_used)
{
    uint64_t client_id = fl_read_u64(r);
    uint64_t last_seq = fl_read_u64(r);
    fl_time_ns used = fl_read_u64(r);
    uint8_t status = fl_read_u8(r);
    uint8_t has_value = fl_read_u8(r);
    uint32_t n = fl_read_u32(r);
    const uint8_t *value = fl_read_bytes(r, n);
    if (r->err)
        return r->err;
    if (status >= FL_KV_STATUS_COUNT || has_value > 1 || (!has_value && n) || used < *prev_used ||
        used > t->log_time_ns || last_seq == 0)
        return FL_ECORRUPT;
    if (n > t->config.value_size_max)
        return FL_ETOOBIG;
    uint8_t key[8];
    fl_put_u64le(key, client_id);
    if (fl__kv_table_find(&t->sessions, key, sizeof(key)))
        return FL_ECORRUPT;
    fl__kv_session *s = fl__kv_session_new(t, client_id);
    if (!s)
        return FL_ENOMEM;
    fl_kv_result res = {(fl_kv_status)status, has_value, value, n};
    if (fl__kv_session_finish(t, s, last_seq, &res))
        return FL_ENOMEM;
    s->last_used_ns = used; /* finish stamped the current log time */
    *prev_used = used;
    return 0;
}

static int read_sessions(fl_reader *r, fl_kv *t)
{
    uint64_t count = fl_read_u64(r);
    if (r->err)
        return r->err;
    if (count > t->config.sessions_max)
        return FL_ETOOBIG;
    fl_time_ns prev_used = 0;
    for (uint64_t i = 0; i < count; i++) {
        int rc = read_session(r, t, &prev_used);
        if (rc)
            return rc;
    }
    return 0;
}

/* Checks magic, version and checksum; leaves r positioned after the header. */
static int check_frame(fl_reader *r, const uint8_t *bytes, size_t len, uint32_t *version)
{
    if (len < SNAP_HEADER + 4)
        return FL_ETRUNC;
    if (memcmp(bytes, SNAP_MAGIC, 4) != 0)
        return FL_ECORRUPT;
    *version = fl_get_u32le(bytes + 4);
    if (*version != SNAP_VERSION && *version != 1)
        return FL_EVERSION;
    if (fl_crc32c(0, bytes, len - 4) != fl_get_u32le(bytes + len - 4))
        return FL_ECORRUPT;
    fl_reader_init(r, bytes + SNAP_HEADER, len - SNAP_HEADER - 4);
    return 0;
}

static int read_body(fl_reader *r, fl_kv *t, uint32_t version)
{
    t->applied_index = fl_read_u64(r);
    t->log_time_ns = fl_read_u64(r);
    t->delete_index = version >= 2 ? fl_read_u64(r) : 0;
    if (t->delete_index > t->applied_index)
        return FL_ECORRUPT;
    int rc = read_entries(r, t, version);
    if (rc == 0)
        rc = read_sessions(r, t);
    if (rc == 0 && fl_reader_left(r) != 0)
        rc = FL_ECORRUPT;
    /* A checksummed snapshot that is still short was written wrong: corrupt, not truncated. */
    return rc == FL_ETRUNC ? FL_ECORRUPT : rc;
}

int fl_kv_restore(fl_kv *kv, const uint8_t *bytes, size_t len)
{
    if (kv->err)
        return kv->err;
    fl_reader r;
    uint32_t version;
    int rc = check_frame(&r, bytes, len, &version);
    if (rc)
        return rc;
    fl_kv t;
    rc = fl_kv_init(&t, &kv->config);
    if (rc == 0)
        rc = read_body(&r, &t, version);
    if (rc) {
        fl_kv_close(&t);
        return rc;
    }
    fl_kv_close(kv);
    *kv = t; /* no pointer inside an fl_kv points at the struct itself */
    return 0;
}
