/* ops_set.c: the set commands of the kv (SADD, SREM, SPOP, SMEMBERS, SISMEMBER, SCARD,
 * SRANDMEMBER), with Redis's semantics (docs/kv.md, "Sets").
 *
 * SPOP and SRANDMEMBER pick "at random" without a random source: pick i of a command is a
 * hash of the applied index and i, so every replica (and a replay of the log) picks the same
 * members. Distinct picks are a partial Fisher-Yates shuffle that moves each pick to the end
 * of the set's order, where removing it is O(1); SRANDMEMBER (a read) undoes its swaps, and
 * so does an SPOP whose answer would go over the result limit, so either leaves the order
 * exactly as it was. Costs: O(1) per member added, removed or picked; SMEMBERS O(n). */
#include "kv_internal.h"

#include "faultline/error.h"
#include "faultline/rng.h"

#include <string.h>

#define PICK_SALT 0x73706f702d706b31ull

static fl__kv_dict *set_of(fl__kv_entry *e)
{
    return e->coll;
}

static int status(fl_kv_result *out, fl_kv_status st)
{
    out->status = st;
    return 0;
}

/* The i-th pick of this command among n members of d. */
static size_t pick(const fl_kv *kv, const fl__kv_dict *d, uint64_t i, size_t n)
{
    if (MUTANT(kv, PICK_BY_LAYOUT)) { /* the member the seeded table lists first */
        size_t b;
        return ((const fl__kv_member *)fl__kv_table_first(&d->table, &b))->pos % n;
    }
    return (size_t)(fl_mix64(kv->applied_index ^ fl_mix64(i ^ PICK_SALT)) % n);
}

static void swap(fl__kv_dict *d, size_t a, size_t b)
{
    fl__kv_member *m = d->order[a];
    d->order[a] = d->order[b];
    d->order[b] = m;
    d->order[a]->pos = a;
    d->order[b]->pos = b;
}

/* Moves k distinct picks to the end of d's order (the first pick last); undo reverses it. */
static void shuffle_tail(const fl_kv *kv, fl__kv_dict *d, size_t k, bool undo)
{
    size_t n = d->used;
    for (size_t j = 0; j < k; j++) {
        size_t i = undo ? k - 1 - j : j;
        swap(d, pick(kv, d, i, n - i), n - 1 - i);
    }
}

static int op_sadd(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
    size_t off = 0, n, count = e ? fl__kv_coll_count(e) : 0;
    const uint8_t *p;
    if (wrong)
        return status(out, FL_KV_WRONG_TYPE);
    if (c->argc == 0)
        return status(out, FL_KV_BAD_COMMAND);
    if (c->argc > kv->config.elements_max - count)
        return status(out, FL_KV_TOO_BIG);
    while (fl_kv_args_next(c->args, c->args_len, &off, &p, &n))
        if (n > kv->config.value_size_max)
            return status(out, FL_KV_TOO_BIG);
    if (!e && !(e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_SET)))
        return FL_ENOMEM;
    int64_t added = 0;
    for (off = 0; fl_kv_args_next(c->args, c->args_len, &off, &p, &n);) {
        if (fl__kv_dict_find(set_of(e), p, n))
            continue;
        if (!fl__kv_dict_add(set_of(e), p, n))
            return FL_ENOMEM;
        fl__kv_grew(kv, e, n);
        added++;
    }
    return fl__kv_result_int(kv, out, added);
}

static int op_srem(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
    if (wrong)
        return status(out, FL_KV_WRONG_TYPE);
    size_t off = 0, n;
    const uint8_t *p;
    int64_t removed = 0;
    while (e && fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        fl__kv_member *m = fl__kv_dict_find(set_of(e), p, n);
        if (m) {
            fl__kv_dict_remove(set_of(e), m);
            fl__kv_shrank(kv, e, n);
            removed++;
        }
    }
    if (removed)
        (void)fl__kv_coll_gone(kv, e);
    return fl__kv_result_int(kv, out, removed);
}

/* How many members a COUNT asks for, of n (a negative count was refused by the caller). */
static size_t wanted(const fl_kv_cmd *c, size_t n)
{
    if (!(c->flags & FL_KV_F_COUNT))
        return 1;
    return (uint64_t)c->num < n ? (size_t)c->num : n;
}

static int op_spop(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
    if (wrong)
        return status(out, FL_KV_WRONG_TYPE);
    if (!e)
        return status(out, FL_KV_NOT_FOUND);
    if ((c->flags & FL_KV_F_COUNT) && c->num < 0)
        return status(out, FL_KV_BAD_COMMAND);
    fl__kv_dict *d = set_of(e);
    size_t k = wanted(c, d->used);
    shuffle_tail(kv, d, k, false);
    fl__kv_out_begin(kv);
    for (size_t i = 0; i < k; i++) {
        const fl__kv_member *m = d->order[d->used - 1 - i];
        fl__kv_out_item(kv, m->bytes, m->node.key_len);
    }
    if (fl__kv_out_over(kv)) {
        shuffle_tail(kv, d, k, true);
        return fl__kv_out_end(kv, out);
    }
    for (size_t i = 0; i < k; i++) {
        fl__kv_member *m = d->order[d->used - 1];
        size_t n = m->node.key_len;
        fl__kv_dict_remove(d, m);
        fl__kv_shrank(kv, e, n);
    }
    (void)fl__kv_coll_gone(kv, e);
    return fl__kv_out_end(kv, out);
}

/* SRANDMEMBER: distinct picks (count >= 0, all of them in order when count >= n), or
 * |count| picks with repetition. Changes nothing. */
static int op_srandmember(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
    if (wrong)
        return status(out, FL_KV_WRONG_TYPE);
    if (!e)
        return status(out, FL_KV_NOT_FOUND);
    fl__kv_dict *d = set_of(e);
    size_t n = d->used;
    fl__kv_out_begin(kv);
    if ((c->flags & FL_KV_F_COUNT) && c->num < 0) {
        uint64_t k = c->num == INT64_MIN ? (uint64_t)INT64_MAX + 1 : (uint64_t)-c->num;
        for (uint64_t i = 0; i < k && !fl__kv_out_over(kv); i++) {
            const fl__kv_member *m = d->order[pick(kv, d, i, n)];
            fl__kv_out_item(kv, m->bytes, m->node.key_len);
        }
        return fl__kv_out_end(kv, out);
    }
    size_t k = wanted(c, n);
    bool all = k == n;
    if (!all)
        shuffle_tail(kv, d, k, false);
    for (size_t i = 0; i < k; i++) {
        const fl__kv_member *m = d->order[all ? i : n - 1 - i];
        fl__kv_out_item(kv, m->bytes, m->node.key_len);
    }
    if (!all)
        shuffle_tail(kv, d, k, true);
    return fl__kv_out_end(kv, out);
}

static int op_smembers(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
    if (wrong)
        return status(out, FL_KV_WRONG_TYPE);
    fl__kv_out_begin(kv);
    for (size_t i = 0; e && i < set_of(e)->used && !fl__kv_out_over(kv); i++) {
        const fl__kv_member *m = set_of(e)->order[i];
        fl__kv_out_item(kv, m->bytes, m->node.key_len);
    }
    return fl__kv_out_end(kv, out);
}

int fl__kv_execute_set(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool wrong;
    fl__kv_entry *e;
    switch (c->op) {
    case FL_KV_SADD:
        return op_sadd(kv, c, out);
    case FL_KV_SREM:
        return op_srem(kv, c, out);
    case FL_KV_SPOP:
        return op_spop(kv, c, out);
    case FL_KV_SRANDMEMBER:
        return op_srandmember(kv, c, out);
    case FL_KV_SMEMBERS:
        return op_smembers(kv, c, out);
    case FL_KV_SISMEMBER:
    case FL_KV_SCARD:
        e = fl__kv_typed(kv, c->key, c->key_len, FL__KV_SET, &wrong);
        if (wrong)
            return status(out, FL_KV_WRONG_TYPE);
        if (c->op == FL_KV_SCARD)
            return fl__kv_result_int(kv, out, e ? (int64_t)set_of(e)->used : 0);
        return fl__kv_result_int(kv, out, e && fl__kv_dict_find(set_of(e), c->value, c->value_len));
    default:
        return status(out, FL_KV_BAD_COMMAND);
    }
}
