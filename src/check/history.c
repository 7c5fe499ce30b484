/* history.c: the in-memory history: events, interned strings, names, and the pairing of
 * events into operations (history.h).
 *
 * Invariants: str_index holds every id < str_count exactly once and is at most half full;
 * events are kept in the order they were added. */
#include "faultline/history.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const f_names[FL_F_COUNT] = {"read", "write",  "cas",    "get",
                                                "put",  "append", "delete", "incr"};
static const char *const type_names[] = {"invoke", "ok", "fail", "info"};

void fl_history_init(fl_history *h)
{
    memset(h, 0, sizeof(*h));
    fl_buf_init(&h->bytes);
}

void fl_history_free(fl_history *h)
{
    free(h->events);
    fl_buf_free(&h->bytes);
    free(h->str_off);
    free(h->str_len);
    free(h->str_index);
    memset(h, 0, sizeof(*h));
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t x = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        x = (x ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return x ^ (x >> 29);
}

static int str_index_grow(fl_history *h)
{
    uint32_t cap = h->str_index_cap ? h->str_index_cap * 2 : 64;
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx)
        return FL_ENOMEM;
    for (uint32_t id = 0; id < h->str_count; id++) {
        uint64_t x = hash_bytes((const char *)h->bytes.data + h->str_off[id], h->str_len[id]);
        uint32_t i = (uint32_t)x & (cap - 1);
        while (idx[i])
            i = (i + 1) & (cap - 1);
        idx[i] = id + 1;
    }
    free(h->str_index);
    h->str_index = idx;
    h->str_index_cap = cap;
    return 0;
}

static int str_new(fl_history *h, const char *s, size_t n, uint32_t *id)
{
    if (h->str_count == h->str_cap) {
        uint32_t cap = h->str_cap ? h->str_cap * 2 : 32;
        uint32_t *off = realloc(h->str_off, cap * sizeof(*off));
        if (off)
            h->str_off = off;
        uint32_t *len = realloc(h->str_len, cap * sizeof(*len));
        if (len)
            h->str_len = len;
        if (!off || !len)
            return FL_ENOMEM;
        h->str_cap = cap;
    }
    if (h->bytes.len + n + 1 > UINT32_MAX)
        return FL_ETOOBIG;
    size_t off = h->bytes.len;
    fl_buf_put_bytes(&h->bytes, s, n);
    fl_buf_put_u8(&h->bytes, 0);
    if (h->bytes.err)
        return h->bytes.err;
    h->str_off[h->str_count] = (uint32_t)off;
    h->str_len[h->str_count] = (uint32_t)n;
    *id = h->str_count++;
    return 0;
}

int fl_history_intern(fl_history *h, const char *s, size_t n, uint32_t *id)
{
    if (n > UINT32_MAX / 2)
        return FL_ETOOBIG;
    if ((h->str_count + 1) * 2 > h->str_index_cap && str_index_grow(h))
        return FL_ENOMEM;
    uint32_t mask = h->str_index_cap - 1;
    uint32_t i = (uint32_t)hash_bytes(s, n) & mask;
    for (; h->str_index[i]; i = (i + 1) & mask) {
        uint32_t cand = h->str_index[i] - 1;
        if (h->str_len[cand] == n && !memcmp(h->bytes.data + h->str_off[cand], s, n)) {
            *id = cand;
            return 0;
        }
    }
    int rc = str_new(h, s, n, id);
    if (rc)
        return rc;
    h->str_index[i] = *id + 1;
    return 0;
}

const char *fl_history_str(const fl_history *h, uint32_t id, size_t *len)
{
    FL_ASSERT(id < h->str_count);
    if (len)
        *len = h->str_len[id];
    return (const char *)h->bytes.data + h->str_off[id];
}

fl_value fl_value_int(int64_t i)
{
    return (fl_value){.kind = FL_VALUE_INT, .i = i};
}

fl_value fl_value_nil(void)
{
    return (fl_value){.kind = FL_VALUE_NIL};
}

int fl_value_str(fl_history *h, const char *s, size_t n, fl_value *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = FL_VALUE_STR;
    return fl_history_intern(h, s, n, &out->str);
}

bool fl_value_eq(fl_value a, fl_value b)
{
    if (a.kind != b.kind)
        return false;
    return a.kind == FL_VALUE_INT ? a.i == b.i : a.kind == FL_VALUE_STR ? a.str == b.str : true;
}

int fl_history_reserve(fl_history *h, size_t count)
{
    if (count <= h->cap)
        return 0;
    if (count > SIZE_MAX / sizeof(fl_event))
        return FL_ENOMEM;
    fl_event *e = realloc(h->events, count * sizeof(*e));
    if (!e)
        return FL_ENOMEM;
    h->events = e;
    h->cap = count;
    return 0;
}

int fl_history_add(fl_history *h, const fl_event *ev)
{
    FL_ASSERT(ev->type <= FL_EV_INFO);
    FL_ASSERT(ev->f < FL_F_COUNT);
    if (h->count == h->cap && fl_history_reserve(h, h->cap ? h->cap * 2 : 1024))
        return FL_ENOMEM;
    h->events[h->count++] = *ev;
    return 0;
}

int fl_history_event(fl_history *h, int64_t process, fl_ev_type type, fl_op_f f, const char *key,
                     fl_value value, fl_value value2, fl_time_ns time)
{
    fl_event ev = {.process = process,
                   .type = (uint8_t)type,
                   .f = (uint8_t)f,
                   .key = FL_KEY_NONE,
                   .value = value,
                   .time = time};
    if (f == FL_F_CAS) {
        ev.pair = true;
        ev.value2 = value2;
    }
    if (key) {
        int rc = fl_history_intern(h, key, strlen(key), &ev.key);
        if (rc)
            return rc;
    }
    return fl_history_add(h, &ev);
}

const char *fl_ev_type_name(fl_ev_type t)
{
    return (unsigned)t <= FL_EV_INFO ? type_names[t] : "?";
}

const char *fl_op_f_name(fl_op_f f)
{
    return (unsigned)f < FL_F_COUNT ? f_names[f] : "?";
}

bool fl_op_f_parse(const char *s, size_t n, fl_op_f *out)
{
    for (int f = 0; f < FL_F_COUNT; f++) {
        if (strlen(f_names[f]) == n && !memcmp(f_names[f], s, n)) {
            *out = (fl_op_f)f;
            return true;
        }
    }
    return false;
}
