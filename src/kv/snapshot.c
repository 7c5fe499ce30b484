/* snapshot.c: serializes the whole kv state and restores it, byte-identically across replicas.
 *
 * Format v3 (little-endian; docs/kv.md has the full table):
 *   "FLKV" | u32 version=3 | u64 applied_index | u64 log_time_ns | u64 delete_index |
 *   u64 entry_count   | entries sorted by key (bytewise, a prefix first):
 *                       u32 key_len, key, u8 type, the value, u64 expire_at (0 = none),
 *                       u64 mod_index; the value by type:
 *                         string: u32 length, bytes
 *                         list:   u32 count, elements head first (u32 length, bytes)
 *                         set:    u32 count, members in the set's order (u32 length, bytes)
 *                         hash:   u32 count, fields in order (u32 length, bytes, then the
 *                                 value as u32 length, bytes)
 *                         zset:   u32 count, members lowest first (u32 length, bytes,
 *                                 u64 the score's IEEE 754 bits) |
 *   u64 session_count | sessions from least to most recently used:
 *                       u64 client_id, u64 last_seq, u64 last_used_ns,
 *                       u8 status, u8 has_value, u32 value_len, value |
 *   u32 CRC32C of every preceding byte.
 * Version 2 (before the data types) has strings only and no type byte; version 1 (before
 * expiry) also lacks delete_index, expire_at and mod_index (all three 0). Restore reads
 * every version.
 * Invariants: two kvs in the same state write identical bytes (keys are sorted, session
 * order is the LRU order, which is itself replicated state); restore accepts only what
 * snapshot can write (sorted unique keys, unique clients, non-decreasing last use, limits of
 * this kv's config) and leaves the kv untouched on any error. */
#include "kv_internal.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC   "FLKV"
#define SNAP_VERSION 3u
#define SNAP_HEADER  8 /* magic + version */

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* A key to sort: its first 16 bytes big-endian, zero-padded, so that most comparisons are
 * two integer ones on a contiguous array instead of a memcmp through a pointer; equal
 * prefixes (a key longer than 16 bytes, or one with trailing zero bytes) compare the whole
 * keys, so the order is exactly key_cmp's. */
typedef struct sort_key {
    uint64_t hi, lo;
    const fl__kv_node *n;
} sort_key;

static uint64_t be_prefix(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | (i < n ? p[i] : 0);
    return v;
}

static int sort_key_cmp(const void *pa, const void *pb)
{
    const sort_key *a = pa, *b = pb;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return key_cmp(a->n->key, a->n->key_len, b->n->key, b->n->key_len);
}

static void put_str(fl_buf *out, const uint8_t *p, size_t n)
{
    fl_buf_put_u32(out, (uint32_t)n);
    fl_buf_put_bytes(out, p, n);
}

/* An entry's value, by its type (the header comment's table). */
static void write_value(const fl_kv *kv, const fl__kv_entry *e, fl_buf *out)
{
    if (e->type == FL__KV_STRING) {
        put_str(out, e->value, e->value_len);
        return;
    }
    fl_buf_put_u32(out, (uint32_t)fl__kv_coll_count(e));
    if (e->type == FL__KV_LIST) {
        const fl__kv_list *l = e->coll;
        for (size_t i = 0; i < l->count; i++)
            put_str(out, fl__kv_list_at(l, i)->bytes, fl__kv_list_at(l, i)->len);
    } else if (e->type == FL__KV_ZSET) {
        const fl__kv_zset *z = e->coll;
        for (const fl__kv_znode *x = z->head->link[0].next; x; x = x->link[0].next) {
            uint64_t bits;
            memcpy(&bits, &x->score, sizeof(bits));
            put_str(out, x->node.key, x->node.key_len);
            fl_buf_put_u64(out, bits);
        }
    } else {
        const fl__kv_dict *d = e->coll;
        size_t b;
        const fl__kv_node *n = fl__kv_table_first(&d->table, &b);
        for (size_t i = 0; i < d->used; i++) {
            const fl__kv_member *m = d->order[i];
            if (MUTANT(kv, SNAPSHOT_LAYOUT)) { /* the table's order, which the seed decides */
                m = (const fl__kv_member *)n;
                n = n ? fl__kv_table_next(&d->table, &b, (fl__kv_node *)n) : NULL;
            }
            if (!m)
                continue;
            put_str(out, m->bytes, m->node.key_len);
            if (e->type == FL__KV_HASH)
                put_str(out, m->value, m->value_len);
        }
    }
}

/* Writes the entries in key order. O(n log n); allocates 24 bytes per entry. */
static int write_entries(const fl_kv *kv, fl_buf *out)
{
    size_t count = kv->data.count;
    fl_buf_put_u64(out, count);
    if (count == 0)
        return out->err;
    sort_key *v = malloc(count * sizeof(*v));
    if (!v)
        return FL_ENOMEM;
    size_t i = 0, b;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        v[i].hi = be_prefix(n->key, n->key_len);
        v[i].lo = n->key_len > 8 ? be_prefix(n->key + 8, n->key_len - 8) : 0;
        v[i++].n = n;
    }
    qsort(v, count, sizeof(*v), sort_key_cmp);
    for (i = 0; i < count; i++) {
        const fl__kv_entry *e = (const fl__kv_entry *)v[i].n;
        put_str(out, e->node.key, e->node.key_len);
        fl_buf_put_u8(out, e->type);
        write_value(kv, e, out);
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

/* Reads one element (u32 length, bytes) within the value limit. */
static const uint8_t *read_elem(fl_reader *r, const fl_kv *t, size_t *n, int *rc)
{
    uint32_t len = fl_read_u32(r);
    const uint8_t *p = fl_read_bytes(r, len);
    *n = len;
    *rc = r->err ? r->err : len > t->config.value_size_max ? FL_ETOOBIG : 0;
    return p;
}

/* A zset member strictly after (prev_score, prev): the written order, so no duplicates. */
static bool zset_after(double score, const uint8_t *p, size_t n, const fl__kv_znode *prev)
{
    if (!prev || score != prev->score)
        return !prev || score > prev->score;
    return key_cmp(prev->node.key, prev->node.key_len, p, n) < 0;
}

/* One element of collection e (type) into t. */
static int read_one(fl_reader *r, fl_kv *t, fl__kv_entry *e)
{
    size_t n, vn = 0;
    int rc;
    const uint8_t *p = read_elem(r, t, &n, &rc), *v = NULL;
    if (rc)
        return rc;
    if (e->type == FL__KV_LIST) {
        rc = fl__kv_list_push(e->coll, false, p, n);
    } else if (e->type == FL__KV_ZSET) {
        uint64_t bits = fl_read_u64(r);
        double score;
        memcpy(&score, &bits, sizeof(score));
        if (r->err)
            return r->err;
        if (score != score || !zset_after(score, p, n, ((fl__kv_zset *)e->coll)->tail) ||
            fl__kv_zset_find(e->coll, p, n) || (score == 0 && signbit(score)))
            return FL_ECORRUPT; /* out of order, a member twice, NaN, or a -0 never stored */
        rc = fl__kv_zset_insert(e->coll, p, n, score) ? 0 : FL_ENOMEM;
        vn = 8;
    } else {
        if (e->type == FL__KV_HASH) {
            v = read_elem(r, t, &vn, &rc);
            if (rc)
                return rc;
        }
        if (fl__kv_dict_find(e->coll, p, n))
            return FL_ECORRUPT;
        fl__kv_member *m = fl__kv_dict_add(e->coll, p, n);
        rc = !m || fl__kv_member_set_value(m, v, vn) ? FL_ENOMEM : 0;
    }
    if (rc == 0)
        fl__kv_grew(t, e, n + vn);
    return rc;
}

/* A value of version 3 (type byte, then by type) for key, new in t. */
static int read_value(fl_reader *r, fl_kv *t, const uint8_t *key, size_t key_len)
{
    uint8_t type = fl_read_u8(r);
    if (r->err)
        return r->err;
    if (type >= FL__KV_TYPES)
        return FL_ECORRUPT;
    int rc;
    size_t n;
    if (type == FL__KV_STRING) {
        const uint8_t *value = read_elem(r, t, &n, &rc);
        return rc ? rc : fl__kv_entry_set(t, key, key_len, value, n);
    }
    uint32_t count = fl_read_u32(r);
    if (r->err)
        return r->err;
    if (count == 0)
        return FL_ECORRUPT; /* a collection never exists empty */
    if (count > t->config.elements_max)
        return FL_ETOOBIG;
    fl__kv_entry *e = fl__kv_coll_new(t, key, key_len, type);
    if (!e)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < count; i++)
        if ((rc = read_one(r, t, e)) != 0)
            return rc;
    return 0;
}

/* Reads the entries into the fresh kv t. */
static int read_entries(fl_reader *r, fl_kv *t, uint32_t version)
{
    uint64_t count = fl_read_u64(r);
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < count && !r->err; i++) {
        uint32_t n = fl_read_u32(r);
        const uint8_t *key = fl_read_bytes(r, n);
        size_t key_len = n;
        if (r->err)
            break;
        if (key_len > t->config.key_size_max)
            return FL_ETOOBIG;
        if (i > 0 && key_cmp(prev, prev_len, key, key_len) >= 0)
            return FL_ECORRUPT;
        int rc;
        if (version >= 3) {
            rc = read_value(r, t, key, key_len);
        } else {
            size_t value_len;
            const uint8_t *value = read_elem(r, t, &value_len, &rc);
            rc = rc ? rc : fl__kv_entry_set(t, key, key_len, value, value_len);
        }
        if (rc == 0 && version >= 2)
            rc = read_entry_meta(r, t, key, key_len);
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
    if (*version < 1 || *version > SNAP_VERSION)
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
