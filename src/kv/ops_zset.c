/* ops_zset.c: the sorted set commands of the kv (ZADD with NX XX GT LT CH INCR, ZPOP min
 * and max, ZRANGE by rank, ZRANGEBYSCORE, ZSCORE, ZCARD, ZREM, ZRANK), with Redis's
 * semantics (docs/kv.md, "Sorted sets").
 *
 * Invariants: as in ops.c, limits are checked before anything changes; a zset emptied by a
 * command is deleted; no score is NaN (ZADD refuses a NaN argument, and an increment
 * that would make one answers type_error and changes nothing). A member's bytes count its
 * name plus 8 for the score. Scores are IEEE 754 doubles: the same operations in the same
 * order give the same bits on every replica. Costs: O(log n) per member added, removed or
 * ranked; ranges O(log n + elements returned), ZRANGEBYSCORE's offset O(offset). */
#include "kv_internal.h"

#include "faultline/error.h"

#include <math.h>
#include <string.h>

#define SCORE_BYTES 8

static fl__kv_zset *zset_of(fl__kv_entry *e)
{
    return e->coll;
}

/* ZADD's flags are consistent and its arguments are (score, member) pairs within limits. */
static bool zadd_valid(const fl_kv *kv, const fl_kv_cmd *c, fl_kv_status *why)
{
    uint8_t f = c->flags;
    *why = FL_KV_BAD_COMMAND;
    if (c->argc == 0 || c->argc % 2 || ((f & FL_KV_F_INCR) && c->argc != 2))
        return false;
    if ((f & FL_KV_F_NX) && (f & (FL_KV_F_XX | FL_KV_F_GT | FL_KV_F_LT)))
        return false;
    if ((f & FL_KV_F_GT) && (f & FL_KV_F_LT))
        return false;
    size_t off = 0, sn, n;
    const uint8_t *s, *p;
    double score;
    while (fl_kv_args_next(c->args, c->args_len, &off, &s, &sn) &&
           fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        if (!fl_kv_score_get(s, sn, &score))
            return false;
        if (n > kv->config.value_size_max) {
            *why = FL_KV_TOO_BIG;
            return false;
        }
    }
    return true;
}

typedef struct zadd_tally {
    int64_t added, changed;
    bool applied; /* INCR: the one pair took effect */
    double score; /* INCR: its new score */
} zadd_tally;

/* One (score, member) pair of ZADD into e (created on first need). */
static int zadd_one(fl_kv *kv, const fl_kv_cmd *c, fl__kv_entry **e, const uint8_t *p, size_t n,
                    double score, zadd_tally *t)
{
    uint8_t f = c->flags;
    if (score == 0)
        score = 0.0; /* -0 is stored as 0, as Redis's small sorted sets do */
    fl__kv_znode *x = *e ? fl__kv_zset_find(zset_of(*e), p, n) : NULL;
    if (x) {
        double now = (f & FL_KV_F_INCR) ? x->score + score : score;
        now = now == 0 ? 0.0 : now;
        if ((f & FL_KV_F_NX) || ((f & FL_KV_F_GT) && !(now > x->score)) ||
            ((f & FL_KV_F_LT) && !(now < x->score)))
            return 0;
        t->applied = true;
        t->score = now;
        if (now != x->score) {
            fl__kv_zset_rescore(zset_of(*e), x, now);
            (*e)->mod_index = kv->applied_index;
            t->changed++;
        }
        return 0;
    }
    if (f & FL_KV_F_XX)
        return 0;
    if (!*e && !(*e = fl__kv_coll_new(kv, c->key, c->key_len, FL__KV_ZSET)))
        return FL_ENOMEM;
    if (!fl__kv_zset_insert(zset_of(*e), p, n, score))
        return FL_ENOMEM;
    fl__kv_grew(kv, *e, n + SCORE_BYTES);
    t->added++;
    t->applied = true;
    t->score = score;
    return 0;
}

static int op_zadd(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl_kv_status why;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_ZSET, &e, out))
        return 0;
    if (!zadd_valid(kv, c, &why))
        return fl__kv_status(out, why);
    size_t count = e ? fl__kv_coll_count(e) : 0;
    if (!(c->flags & FL_KV_F_XX) && c->argc / 2 > kv->config.elements_max - count)
        return fl__kv_status(out, FL_KV_TOO_BIG);
    size_t off = 0, sn, n;
    const uint8_t *s, *p;
    double score;
    zadd_tally t = {0};
    while (fl_kv_args_next(c->args, c->args_len, &off, &s, &sn) &&
           fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        (void)fl_kv_score_get(s, sn, &score); /* checked by zadd_valid */
        fl__kv_znode *x = e ? fl__kv_zset_find(zset_of(e), p, n) : NULL;
        if ((c->flags & FL_KV_F_INCR) && !(c->flags & FL_KV_F_NX) && x && isnan(x->score + score))
            return fl__kv_status(out, FL_KV_TYPE_ERROR); /* one pair: nothing changed yet */
        int rc = zadd_one(kv, c, &e, p, n, score, &t);
        if (rc)
            return rc;
    }
    if (!(c->flags & FL_KV_F_INCR))
        return fl__kv_result_int(kv, out, t.added + ((c->flags & FL_KV_F_CH) ? t.changed : 0));
    if (!t.applied)
        return fl__kv_status(out, FL_KV_NOT_APPLIED);
    return fl__kv_result_score(kv, out, t.score);
}

/* ZPOP: the lowest (or, with MAX, highest) members with their scores. A missing key is an
 * empty list, as in Redis. The answer is built before anything is removed. */
static int op_zpop(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool max = c->flags & FL_KV_F_MAX;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_ZSET, &e, out))
        return 0;
    if ((c->flags & FL_KV_F_COUNT) && c->num < 0)
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    size_t n = e ? fl__kv_coll_count(e) : 0;
    size_t k = !(c->flags & FL_KV_F_COUNT) ? (n > 0) : (uint64_t)c->num < n ? (size_t)c->num : n;
    fl__kv_out_begin(kv);
    fl__kv_znode *x = !e ? NULL : max ? zset_of(e)->tail : zset_of(e)->head->link[0].next;
    for (size_t i = 0; i < k; i++, x = max ? x->back : x->link[0].next) {
        fl__kv_out_item(kv, x->node.key, x->node.key_len);
        fl__kv_out_score(kv, x->score);
    }
    if (fl__kv_out_over(kv) || k == 0)
        return fl__kv_out_end(kv, out);
    for (size_t i = 0; i < k; i++) {
        fl__kv_zset *z = zset_of(e);
        x = max ? z->tail : z->head->link[0].next;
        size_t bytes = x->node.key_len + SCORE_BYTES;
        fl__kv_zset_delete(z, x);
        fl__kv_shrank(kv, e, bytes);
    }
    (void)fl__kv_coll_gone(kv, e);
    return fl__kv_out_end(kv, out);
}

static void out_member(fl_kv *kv, const fl_kv_cmd *c, const fl__kv_znode *x)
{
    fl__kv_out_item(kv, x->node.key, x->node.key_len);
    if (c->flags & FL_KV_F_SCORES)
        fl__kv_out_score(kv, x->score);
}

/* ZRANGE by rank: start and stop count from the lowest score (from the highest with REV). */
static int op_zrange(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool rev = c->flags & FL_KV_F_REV;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_ZSET, &e, out))
        return 0;
    size_t from, to, n = e ? fl__kv_coll_count(e) : 0;
    fl__kv_out_begin(kv);
    if (!e || !fl__kv_range(c->num, c->num2, n, &from, &to))
        return fl__kv_out_end(kv, out);
    const fl__kv_znode *x = fl__kv_zset_at(zset_of(e), rev ? n - 1 - from : from);
    for (size_t i = from; i <= to && !fl__kv_out_over(kv); i++, x = rev ? x->back : x->link[0].next)
        out_member(kv, c, x);
    return fl__kv_out_end(kv, out);
}

/* x's score is within the bound on the far side of the walk. */
static bool within(const fl__kv_znode *x, double bound, bool excl, bool rev)
{
    if (rev)
        return excl ? x->score > bound : x->score >= bound;
    return excl ? x->score < bound : x->score <= bound;
}

/* ZRANGEBYSCORE min max [LIMIT offset count], lowest first (highest first with REV). */
static int op_zrangebyscore(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    bool rev = c->flags & FL_KV_F_REV;
    size_t off = 0, n1, n2;
    const uint8_t *p1, *p2;
    double min, max;
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_ZSET, &e, out))
        return 0;
    if (c->argc != 2 || !fl_kv_args_next(c->args, c->args_len, &off, &p1, &n1) ||
        !fl_kv_args_next(c->args, c->args_len, &off, &p2, &n2) || !fl_kv_score_get(p1, n1, &min) ||
        !fl_kv_score_get(p2, n2, &max))
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    bool min_excl = c->flags & FL_KV_F_MIN_EXCL, max_excl = c->flags & FL_KV_F_MAX_EXCL;
    fl__kv_out_begin(kv);
    if (!e || c->num < 0)
        return fl__kv_out_end(kv, out);
    const fl__kv_znode *x = rev ? fl__kv_zset_last_to(zset_of(e), max, max_excl)
                                : fl__kv_zset_first_from(zset_of(e), min, min_excl);
    for (int64_t skip = c->num; x && skip > 0; skip--)
        x = rev ? x->back : x->link[0].next;
    uint64_t left = c->num2 < 0 ? UINT64_MAX : (uint64_t)c->num2;
    for (; x && left > 0 && !fl__kv_out_over(kv); left--, x = rev ? x->back : x->link[0].next) {
        if (!within(x, rev ? min : max, rev ? min_excl : max_excl, rev))
            break;
        out_member(kv, c, x);
    }
    return fl__kv_out_end(kv, out);
}

/* ZSCORE, ZRANK: one lookup each. */
static int zset_read(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    fl__kv_entry *e;
    if (!fl__kv_lookup(kv, c, FL__KV_ZSET, &e, out))
        return 0;
    const fl__kv_znode *x = e ? fl__kv_zset_find(zset_of(e), c->value, c->value_len) : NULL;
    if (!x)
        return fl__kv_status(out, FL_KV_NOT_FOUND);
    if (c->op == FL_KV_ZSCORE)
        return fl__kv_result_score(kv, out, x->score);
    size_t rank = fl__kv_zset_rank(zset_of(e), x);
    if (c->flags & FL_KV_F_REV)
        rank = fl__kv_coll_count(e) - 1 - rank;
    return fl__kv_result_int(kv, out, (int64_t)rank);
}

int fl__kv_execute_zset(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    switch (c->op) {
    case FL_KV_ZADD:
        return op_zadd(kv, c, out);
    case FL_KV_ZPOP:
        return op_zpop(kv, c, out);
    case FL_KV_ZRANGE:
        return op_zrange(kv, c, out);
    case FL_KV_ZRANGEBYSCORE:
        return op_zrangebyscore(kv, c, out);
    case FL_KV_ZREM:
        return fl__kv_remove_members(kv, c, FL__KV_ZSET, out);
    case FL_KV_ZCARD:
        return fl__kv_card(kv, c, FL__KV_ZSET, out);
    case FL_KV_ZSCORE:
    case FL_KV_ZRANK:
        return zset_read(kv, c, out);
    default:
        return fl__kv_status(out, FL_KV_BAD_COMMAND);
    }
}
