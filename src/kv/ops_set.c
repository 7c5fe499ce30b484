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
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_SET, &e, out))
        return 0;
    fl_kv_status fit = fl__kv_adds_fit(kv, e, c, 1);
    if (fit != FL_KV_OK)
        return fl__kv_status(out, fit);
    if (!e && !(e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_SET)))
        return FL_ENOMEM;
    size_t off, n;
    const uint8_t *p;
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

/* How many members a COUNT asks for, of n (a negative count was refused by the caller). */
static size_t wanted(const fl_kv_cmd *c, size_t n)
{
    if (!(c->flags & FL_KV_F_COUNT))
        return 1;
    return (uint64_t)c->num < n ? (size_t)c->num : n;
}

static int op_spop(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_SET, &e, out))
        return 0;
    if (!e)
        return fl__kv_status(out, FL_KV_NOT_FOUND);
    if ((c->flags & FL_KV_F_COUNT) && c->num < 0)
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
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
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_SET, &e, out))
        return 0;
    if (!e)
        return fl__kv_status(out, FL_KV_NOT_FOUND);
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
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_SET, &e, out))
        return 0;
    fl__kv_out_begin(kv);
    for (size_t i = 0; e && i < set_of(e)->used && !fl__kv_out_over(kv); i++) {
        const fl__kv_member *m = set_of(e)->order[i];
        fl__kv_out_item(kv, m->bytes, m->node.key_len);
    }
    return fl__kv_out_end(kv, out);
}

int fl__kv_execute_set(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    switch (c->op) {
    case FL_KV_SADD:
        return op_sadd(kv, c, out);
    case FL_KV_SREM:
        return fl__kv_remove_members(kv, c, FL__KV_SET, out);
    case FL_KV_SPOP:
        return op_spop(kv, c, out);
    case FL_KV_SRANDMEMBER:
        return op_srandmember(kv, c, out);
    case FL_KV_SMEMBERS:
        return op_smembers(kv, c, out);
    case FL_KV_SCARD:
        return fl__kv_card(kv, c, FL__KV_SET, out);
    case FL_KV_SISMEMBER:
        if (!fl__kv_lookup(kv, c, FL__KV_SET, &e, out))
            return 0;
        return fl__kv_result_int(kv, out, e && fl__kv_dict_find(set_of(e), c->value, c->value_len));
    default:
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    }
}
