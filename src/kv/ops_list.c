/* ops_list.c: the list commands of the kv (PUSH, POP, LLEN, LRANGE, LINDEX, LSET, LREM,
 * LTRIM), with Redis's semantics (docs/kv.md, "Lists").
 *
 * Invariants: as in ops.c, every limit (element size, elements_max, the result limit) is
 * checked before anything changes, so a command completes or changes nothing; a list
 * emptied by a command is deleted with its key; every change stamps mod_index (through
 * fl__kv_grew / fl__kv_shrank). Costs: O(1) per element pushed or popped, LRANGE
 * O(elements returned), LREM O(n), LTRIM O(elements removed). */
#include "kv_internal.h"

#include "faultline/error.h"

#include <string.h>

static fl__kv_list *list_of(fl__kv_entry *e)
{
    return e->coll;
}

static int op_push(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    fl_kv_status fit = fl__kv_adds_fit(kv, e, c, 1);
    if (fit != FL_KV_BAD_COMMAND && !e && (c->flags & FL_KV_F_XX))
        return fl__kv_result_int(kv, out, 0);
    if (fit != FL_KV_OK)
        return fl__kv_status(out, fit);
    if (!e && !(e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_LIST)))
        return FL_ENOMEM;
    size_t off = 0, n;
    const uint8_t *p;
    while (fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        if (fl__kv_list_push(list_of(e), c->flags & FL_KV_F_LEFT, p, n))
            return FL_ENOMEM;
        fl__kv_grew(kv, e, n);
    }
    return fl__kv_result_int(kv, out, (int64_t)list_of(e)->count);
}

/* POP: the elements are copied into the result first, so a result over the limit changes
 * nothing. */
static int op_pop(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool left = c->flags & FL_KV_F_LEFT;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    if (!e)
        return fl__kv_status(out, FL_KV_NOT_FOUND);
    if ((c->flags & FL_KV_F_COUNT) && c->num < 0)
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    fl__kv_list *l = list_of(e);
    size_t k = !(c->flags & FL_KV_F_COUNT)   ? 1
               : (uint64_t)c->num < l->count ? (size_t)c->num
                                             : l->count;
    fl__kv_out_begin(kv);
    for (size_t i = 0; i < k; i++) {
        const fl__kv_blob *b = fl__kv_list_at(l, left ? i : l->count - 1 - i);
        fl__kv_out_item(kv, b->bytes, b->len);
    }
    if (fl__kv_out_over(kv))
        return fl__kv_out_end(kv, out);
    for (size_t i = 0; i < k; i++) {
        size_t n = fl__kv_list_at(l, left ? 0 : l->count - 1)->len;
        fl__kv_list_pop(l, left);
        fl__kv_shrank(kv, e, n);
    }
    (void)fl__kv_coll_gone(kv, e);
    return fl__kv_out_end(kv, out);
}

static int op_lrange(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    size_t from, to;
    fl__kv_out_begin(kv);
    if (e && fl__kv_range(c->num, c->num2, list_of(e)->count, &from, &to))
        for (size_t i = from; i <= to && !fl__kv_out_over(kv); i++) {
            const fl__kv_blob *b = fl__kv_list_at(list_of(e), i);
            fl__kv_out_item(kv, b->bytes, b->len);
        }
    return fl__kv_out_end(kv, out);
}

/* The position of Redis index i (negative from the end) in l, or false. */
static bool index_of(const fl__kv_list *l, int64_t i, size_t *at)
{
    int64_t n = (int64_t)l->count;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return false;
    *at = (size_t)i;
    return true;
}

static int op_lindex(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t at;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    if (!e || !index_of(list_of(e), c->num, &at))
        return fl__kv_status(out, FL_KV_NOT_FOUND);
    const fl__kv_blob *b = fl__kv_list_at(list_of(e), at);
    return fl__kv_result_value(kv, out, FL_KV_OK, b->bytes, b->len);
}

static int op_lset(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t at;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    if (!e)
        return fl__kv_status(out, FL_KV_NOT_FOUND);
    if (!index_of(list_of(e), c->num, &at))
        return fl__kv_status(out, FL_KV_OUT_OF_RANGE);
    if (c->value_len > kv->config.value_size_max)
        return fl__kv_status(out, FL_KV_TOO_BIG);
    size_t old = fl__kv_list_at(list_of(e), at)->len;
    if (fl__kv_list_set(list_of(e), at, c->value, c->value_len))
        return FL_ENOMEM;
    fl__kv_shrank(kv, e, old);
    fl__kv_grew(kv, e, c->value_len);
    return fl__kv_status(out, FL_KV_OK);
}

static int op_lrem(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    if (!e)
        return fl__kv_result_int(kv, out, 0);
    size_t limit = c->num == INT64_MIN ? (size_t)INT64_MAX + 1
                   : c->num < 0        ? (size_t)-c->num
                                       : (size_t)c->num;
    size_t bytes,
        n = fl__kv_list_rem(list_of(e), limit, c->num >= 0, c->value, c->value_len, &bytes);
    if (n) {
        fl__kv_shrank(kv, e, bytes);
        (void)fl__kv_coll_gone(kv, e);
    }
    return fl__kv_result_int(kv, out, (int64_t)n);
}

static int op_ltrim(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_LIST, &e, out))
        return 0;
    if (!e)
        return fl__kv_status(out, FL_KV_OK);
    e->mod_index = kv->applied_index; /* Redis signals the key modified even if all stays */
    fl__kv_list *l = list_of(e);
    size_t from = 0, to = 0;
    bool keep = fl__kv_range(c->num, c->num2, l->count, &from, &to);
    size_t head = keep ? from : l->count, tail = keep ? l->count - 1 - to : 0;
    for (size_t i = 0; i < head + tail; i++) {
        bool left = i < head;
        size_t n = fl__kv_list_at(l, left ? 0 : l->count - 1)->len;
        fl__kv_list_pop(l, left);
        fl__kv_shrank(kv, e, n);
    }
    (void)fl__kv_coll_gone(kv, e);
    return fl__kv_status(out, FL_KV_OK);
}

int fl__kv_execute_list(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    switch (c->op) {
    case FL_KV_PUSH:
        return op_push(kv, c, out);
    case FL_KV_POP:
        return op_pop(kv, c, out);
    case FL_KV_LLEN:
        return fl__kv_card(kv, c, FL__KV_LIST, out);
    case FL_KV_LRANGE:
        return op_lrange(kv, c, out);
    case FL_KV_LINDEX:
        return op_lindex(kv, c, out);
    case FL_KV_LSET:
        return op_lset(kv, c, out);
    case FL_KV_LREM:
        return op_lrem(kv, c, out);
    case FL_KV_LTRIM:
        return op_ltrim(kv, c, out);
    default:
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    }
}
