/* reads.c: the kv's read-only commands beyond GET (MGET, EXISTS, STRLEN, TYPE, TTL, KEYS,
 * SCAN, DBSIZE, INDEX), evaluated at apply or, by fl_kv_read, outside the log.
 *
 * Invariants: nothing here changes the state (only kv->result_buf); every answer depends on
 * the replicated state alone (the log time, never a clock), so every replica answers alike;
 * KEYS and SCAN order keys by bytes or by a fixed hash, never by table layout.
 * Costs: KEYS and SCAN are O(keys log keys) per call. */
#include "kv_internal.h"

#include "faultline/error.h"
#include "faultline/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_SEED 0x7363616e2d6b6579ull

/* Redis's glob: * ? [set] [^set] [a-z] and \x. Iterative, O(pattern x string) at worst. */
static bool class_match(const uint8_t *p, size_t pn, size_t *i, uint8_t ch)
{
    size_t k = *i + 1;
    bool neg = k < pn && p[k] == '^', hit = false;
    k += neg;
    for (; k < pn && p[k] != ']'; k++) {
        if (p[k] == '\\' && k + 1 < pn) {
            hit |= p[++k] == ch;
        } else if (k + 2 < pn && p[k + 1] == '-' && p[k + 2] != ']') {
            uint8_t lo = p[k] < p[k + 2] ? p[k] : p[k + 2], hi = p[k] ^ p[k + 2] ^ lo;
            hit |= ch >= lo && ch <= hi;
            k += 2;
        } else {
            hit |= p[k] == ch;
        }
    }
    *i = k < pn ? k : pn - 1; /* at the ']' (or the last byte of an unclosed class) */
    return hit != neg;
}

bool fl__kv_glob(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn)
{
    size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;
    while (j < sn) {
        if (i < pn && p[i] == '*') {
            star_i = i++;
            star_j = j;
            continue;
        }
        bool ok = false;
        size_t ni = i;
        if (i < pn) {
            if (p[i] == '?')
                ok = true;
            else if (p[i] == '[')
                ok = class_match(p, pn, &ni, s[j]);
            else if (p[i] == '\\' && i + 1 < pn)
                ok = p[++ni] == s[j];
            else
                ok = p[i] == s[j];
        }
        if (ok) {
            i = ni + 1;
            j++;
        } else if (star_i != SIZE_MAX) {
            i = star_i + 1;
            j = ++star_j;
        } else {
            return false;
        }
    }
    while (i < pn && p[i] == '*')
        i++;
    return i == pn;
}

typedef struct key_ref {
    uint64_t h;
    const fl__kv_node *n;
} key_ref;

static int ref_cmp(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    size_t n = a->n->key_len < b->n->key_len ? a->n->key_len : b->n->key_len;
    int c = n ? memcmp(a->n->key, b->n->key, n) : 0;
    return c ? c : (a->n->key_len > b->n->key_len) - (a->n->key_len < b->n->key_len);
}

static uint64_t scan_hash(const fl__kv_node *n)
{
    uint64_t h = fl__kv_hash(SCAN_SEED, n->key, n->key_len);
    return h ? h : 1; /* 0 is the cursor that starts and ends a scan */
}

/* Every key with hash >= from (all keys, by bytes, when !hashed), sorted. */
static key_ref *collect(const fl_kv *kv, bool hashed, uint64_t from, size_t *count)
{
    key_ref *v = malloc((kv->data.count + 1) * sizeof(*v));
    size_t k = 0, b;
    if (!v)
        return NULL;
    for (fl__kv_node *n = fl__kv_table_first(&kv->data, &b); n;
         n = fl__kv_table_next(&kv->data, &b, n)) {
        uint64_t h = hashed ? scan_hash(n) : 0;
        if (h >= from)
            v[k++] = (key_ref){h, n};
    }
    qsort(v, k, sizeof(*v), ref_cmp);
    *count = k;
    return v;
}

/* The key matches SCAN's TYPE filter (argument 3; none: every key). */
static bool type_matches(const fl__kv_node *n, const uint8_t *t, size_t tn)
{
    const char *name = fl__kv_type_name(((const fl__kv_entry *)n)->type);
    return !t || (strlen(name) == tn && memcmp(name, t, tn) == 0);
}

/* KEYS (every key, sorted) or one SCAN page (keys by hash from the cursor on). */
static int keys_list(fl_kv *kv, const fl_kv_cmd *c, bool scan, fl_kv_result *out)
{
    size_t off = 0, pn = 0, cn = 0, tn = 0, count;
    const uint8_t *pat = NULL, *cur = NULL, *type = NULL;
    if (scan && !fl_kv_args_next(c->args, c->args_len, &off, &cur, &cn))
        cur = NULL;
    if (!fl_kv_args_next(c->args, c->args_len, &off, &pat, &pn) || (scan && !cur)) {
        out->status = FL_KV_BAD_COMMAND;
        return 0;
    }
    if (scan && !fl_kv_args_next(c->args, c->args_len, &off, &type, &tn))
        type = NULL;
    char text[24];
    snprintf(text, sizeof(text), "%.*s", (int)(cn < 21 ? cn : 21), cur ? (const char *)cur : "");
    uint64_t from = scan ? strtoull(text, NULL, 10) : 0;
    key_ref *v = collect(kv, scan, from, &count);
    if (!v)
        return FL_ENOMEM;
    size_t take = count, want = c->num > 0 ? (size_t)c->num : 10;
    if (scan && count > want) {
        take = want;
        while (take < count && v[take].h == v[take - 1].h)
            take++; /* a hash is never split across pages */
    }
    fl__kv_out_begin(kv);
    if (scan) {
        snprintf(text, sizeof(text), "%llu", take < count ? (unsigned long long)v[take].h : 0ull);
        fl__kv_out_item(kv, text, strlen(text));
    }
    for (size_t i = 0; i < take && !fl__kv_out_over(kv); i++)
        if (fl__kv_glob(pat, pn, v[i].n->key, v[i].n->key_len) && type_matches(v[i].n, type, tn))
            fl__kv_out_item(kv, v[i].n->key, v[i].n->key_len);
    free(v);
    return fl__kv_out_end(kv, out);
}

static int op_mget(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t off = 0, kn;
    const uint8_t *k;
    fl__kv_out_begin(kv);
    while (fl_kv_args_next(c->args, c->args_len, &off, &k, &kn)) {
        const fl__kv_entry *e = fl__kv_entry_find(kv, k, kn);
        if (e && e->type != FL__KV_STRING)
            e = NULL; /* Redis answers nil for a key of another type */
        fl__kv_out_item(kv, e ? (e->value ? e->value : (const uint8_t *)"") : NULL,
                        e ? e->value_len : 0);
    }
    return fl__kv_out_end(kv, out);
}

static int op_exists(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t off = 0, kn;
    const uint8_t *k;
    int64_t n = 0;
    while (fl_kv_args_next(c->args, c->args_len, &off, &k, &kn))
        n += fl__kv_entry_find(kv, k, kn) != NULL;
    return fl__kv_result_int(kv, out, n);
}

static int op_ttl(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    const fl__kv_entry *e = fl__kv_entry_find(kv, c->key, c->key_len);
    if (!e || !e->expire_at)
        return fl__kv_result_int(kv, out, e ? -1 : -2);
    fl_time_ns left = e->expire_at > kv->log_time_ns ? e->expire_at - kv->log_time_ns : 0;
    int64_t ms = (int64_t)(left / FL_NS_PER_MS);
    return fl__kv_result_int(kv, out, (c->flags & FL_KV_F_MS) ? ms : (ms + 500) / 1000);
}

int fl__kv_execute_read(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    const fl__kv_entry *e;
    const char *name;
    bool wrong;
    switch (c->op) {
    case FL_KV_MGET:
        return op_mget(kv, c, out);
    case FL_KV_EXISTS:
        return op_exists(kv, c, out);
    case FL_KV_STRLEN:
        e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_STRING, &wrong);
        if (wrong) {
            out->status = FL_KV_WRONG_TYPE;
            return 0;
        }
        return fl__kv_result_int(kv, out, e ? (int64_t)e->value_len : 0);
    case FL_KV_TYPE:
        e = fl__kv_entry_find(kv, c->key, c->key_len);
        name = e ? fl__kv_type_name(e->type) : "none";
        return fl__kv_result_value(kv, out, FL_KV_OK, (const uint8_t *)name, strlen(name));
    case FL_KV_TTL:
        return op_ttl(kv, c, out);
    case FL_KV_KEYS:
    case FL_KV_SCAN:
        return keys_list(kv, c, c->op == FL_KV_SCAN, out);
    case FL_KV_DBSIZE:
        return fl__kv_result_int(kv, out, (int64_t)kv->data.count);
    case FL_KV_INDEX:
        return fl__kv_result_int(kv, out, (int64_t)kv->applied_index);
    default:
        out->status = FL_KV_BAD_COMMAND;
        return 0;
    }
}
