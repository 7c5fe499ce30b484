/* out.c: list results built in place in kv->result_buf (kv_internal.h, fl__kv_out_*), within
 * the result limit, and Redis's index ranges.
 *
 * Invariants: a result never holds more than kv->result_limit bytes: the item that would
 * cross the limit is not written, the list is marked over, and its end answers too_big
 * with no value; so a command's memory for its answer is bounded by the limit plus one
 * element. kv->result_limit is config.result_size_max, or what is left of it inside a
 * transaction (multi.c). */
#include "kv_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void fl__kv_out_begin(fl_kv *kv)
{
    fl_buf_reset(&kv->result_buf);
    fl_kv_list_begin(&kv->result_buf, 0);
    kv->out_count = 0;
    kv->out_over = false;
}

void fl__kv_out_item(fl_kv *kv, const void *p, size_t n)
{
    if (kv->out_over)
        return;
    size_t left = kv->result_limit > kv->result_buf.len ? kv->result_limit - kv->result_buf.len : 0;
    if (fl__kv_out_cost(p ? n : 0) > left) {
        kv->out_over = true;
        return;
    }
    fl_kv_list_add(&kv->result_buf, p, n); /* p NULL: a nil item */
    kv->out_count++;
}

/* A score as Redis 7.0 writes it: "%.17g", or "inf" / "-inf". */
static size_t score_text(double score, char text[32])
{
    int n = isinf(score) ? snprintf(text, 32, "%s", score > 0 ? "inf" : "-inf")
                         : snprintf(text, 32, "%.17g", score);
    FL_ASSERT(n > 0 && n < 32);
    return (size_t)n;
}

void fl__kv_out_score(fl_kv *kv, double score)
{
    char text[32];
    fl__kv_out_item(kv, text, score_text(score, text));
}

int fl__kv_result_score(fl_kv *kv, fl_kv_result *out, double score)
{
    char text[32];
    size_t n = score_text(score, text);
    return fl__kv_result_copy(kv, out, FL_KV_OK, (const uint8_t *)text, n);
}

bool fl__kv_out_over(const fl_kv *kv)
{
    return kv->out_over;
}

int fl__kv_out_end(fl_kv *kv, fl_kv_result *out)
{
    if (kv->result_buf.err)
        return FL_ENOMEM;
    if (kv->out_over) {
        fl_buf_reset(&kv->result_buf);
        out->status = FL_KV_TOO_BIG;
        out->has_value = false;
        out->value = NULL;
        out->value_len = 0;
        return 0;
    }
    fl_buf_patch_u32(&kv->result_buf, 0, kv->out_count);
    out->status = FL_KV_OK;
    out->has_value = true;
    out->value = kv->result_buf.data;
    out->value_len = kv->result_buf.len;
    return 0;
}

bool fl__kv_range(int64_t start, int64_t stop, size_t count, size_t *from, size_t *to)
{
    int64_t n = (int64_t)count;
    if (start < 0)
        start = start < -n ? 0 : n + start;
    if (stop < 0)
        stop = stop < -n ? -1 : n + stop;
    if (stop >= n)
        stop = n - 1;
    if (start > stop || start >= n)
        return false;
    *from = (size_t)start;
    *to = (size_t)stop;
    return true;
}
