/* multi.c: a transaction (FL_KV_MULTI): WATCH checks, then every queued command applied in
 * one log entry, with nothing in between.
 *
 * A watched key was "touched" after index w if it exists with mod_index > w, or is missing
 * while some key was deleted after w (delete_index > w: the key may have been created and
 * removed since; a missing key that nothing deleted is untouched). Conservative for missing
 * keys only: a deletion of another key aborts such a watch, where Redis would not.
 * Invariants: every sub-command is decoded before any is applied, so a transaction with a
 * bad one changes nothing (bad_command); a sub-command that fails at run time (an INCR of
 * text) fails alone, as in Redis; results are collected into a list of encoded results. */
#include "kv_internal.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

static bool touched(const fl_kv *kv, const uint8_t *k, size_t kn, fl_index w)
{
    const fl__kv_entry *e = fl__kv_entry_find(kv, k, kn);
    return e ? e->mod_index > w : kv->delete_index > w;
}

/* Skips the watch pairs; false if one is touched or malformed (*bad set for malformed). */
static bool watches_hold(const fl_kv *kv, const fl_kv_cmd *c, size_t *off, bool *bad)
{
    *bad = c->num < 0 || (uint64_t)c->num > c->argc / 2;
    bool hold = true;
    for (int64_t i = 0; i < c->num && !*bad; i++) {
        const uint8_t *k, *w;
        size_t kn, wn;
        if (!fl_kv_args_next(c->args, c->args_len, off, &k, &kn) ||
            !fl_kv_args_next(c->args, c->args_len, off, &w, &wn) || wn != 8) {
            *bad = true;
            break;
        }
        hold &= !touched(kv, k, kn, fl_get_u64le(w));
    }
    return hold && !*bad;
}

/* Every queued command decodes, and none is itself a transaction. */
static bool subs_decode(const fl_kv_cmd *c, size_t off)
{
    const uint8_t *p;
    size_t n;
    fl_kv_cmd sub;
    while (fl_kv_args_next(c->args, c->args_len, &off, &p, &n))
        if (fl_kv_cmd_decode(p, n, &sub) || sub.op == FL_KV_MULTI)
            return false;
    return true;
}

int fl__kv_execute_multi(fl_kv *kv, const fl_kv_cmd *c, fl_kv_result *out)
{
    size_t off = 0;
    bool bad;
    bool hold = watches_hold(kv, c, &off, &bad);
    if (bad || !subs_decode(c, off)) {
        out->status = FL_KV_BAD_COMMAND;
        return 0;
    }
    if (!hold) {
        out->status = FL_KV_NOT_APPLIED;
        return 0;
    }
    fl_buf list;
    fl_buf_init(&list);
    fl_kv_list_begin(&list, c->argc - 2 * (uint32_t)c->num);
    const uint8_t *p;
    size_t n;
    int rc = 0;
    size_t max = kv->config.result_size_max;
    while (rc == 0 && fl_kv_args_next(c->args, c->args_len, &off, &p, &n)) {
        fl_kv_cmd sub;
        fl_kv_result r;
        (void)fl_kv_cmd_decode(p, n, &sub);                     /* checked above */
        kv->result_limit = list.len < max ? max - list.len : 0; /* what the answers left */
        rc = fl__kv_execute(kv, &sub, &r);
        if (rc)
            break;
        fl_buf one;
        fl_buf_init(&one);
        rc = fl_kv_result_encode(&r, &one) ? FL_ENOMEM : 0;
        fl_kv_list_add(&list, one.data ? one.data : (const uint8_t *)"", one.len);
        fl_buf_free(&one);
    }
    fl_buf_reset(&kv->result_buf); /* the last sub-command's result is in it */
    kv->result_limit = max;
    if (rc == 0) /* at most max, plus the small answers (integers) of the commands */
        rc = list.err ? FL_ENOMEM : fl__kv_result_copy(kv, out, FL_KV_OK, list.data, list.len);
    fl_buf_free(&list);
    return rc;
}
