/* workload.c: the seeded client operation generator (workload.h).
 *
 * Invariants: every write (put, append, cas) gets a fresh value id
 * writes * writer_count + writer_id + 1, so ids never repeat within a generator nor across
 * generators with distinct writer ids; a value is its id in decimal, then (unless
 * integer_values) '.' padding up to the drawn size, and an append value ends with ',' so that
 * an appended list splits unambiguously. The ring of recent writes remembers the state each
 * put, cas or delete tried to leave its key in; cas expectations are drawn from it. Nothing
 * allocates after init. */
#include "faultline/workload.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_DIGITS_MAX 20 /* UINT64_MAX has 20 decimal digits */

_Static_assert(FL_WORKLOAD_KEY_SIZE >= 1 + ID_DIGITS_MAX + 1, "\"k\" + digits + NUL fit");

void fl_workload_config_register(fl_workload_config *c)
{
    memset(c, 0, sizeof(*c));
    c->weights[FL_KV_GET] = 50;
    c->weights[FL_KV_PUT] = 30;
    c->weights[FL_KV_CAS] = 20;
    c->key_count = 3;
    c->key_dist = FL_WORKLOAD_UNIFORM;
    c->integer_values = true;
    c->writer_count = 1;
    c->incr_delta_max = 1;
}

void fl_workload_config_kv(fl_workload_config *c)
{
    memset(c, 0, sizeof(*c));
    c->weights[FL_KV_GET] = 50;
    c->weights[FL_KV_PUT] = 30;
    c->weights[FL_KV_APPEND] = 20;
    c->key_count = 1000;
    c->key_dist = FL_WORKLOAD_ZIPFIAN;
    c->zipf_s = 0.99;
    c->value_size_min = 16;
    c->value_size_max = 128;
    c->writer_count = 1;
    c->incr_delta_max = 1;
}

static int check_config(const fl_workload_config *c, uint32_t *total)
{
    uint64_t sum = 0;
    for (int i = 0; i < FL_KV_OP_COUNT; i++)
        sum += c->weights[i];
    if (sum == 0 || sum > UINT32_MAX || c->key_count == 0)
        return FL_ECONFIG;
    if (c->value_size_min > c->value_size_max || c->value_size_max > ((size_t)1 << 30))
        return FL_ECONFIG;
    if (c->writer_count == 0 || c->writer_id >= c->writer_count || c->incr_delta_max < 1)
        return FL_ECONFIG;
    if (c->key_dist != FL_WORKLOAD_UNIFORM && c->key_dist != FL_WORKLOAD_ZIPFIAN)
        return FL_ECONFIG;
    *total = (uint32_t)sum;
    return 0;
}

int fl_workload_init(fl_workload *w, const fl_workload_config *c)
{
    memset(w, 0, sizeof(*w));
    w->config = *c;
    int rc = check_config(c, &w->weight_total);
    if (rc)
        return rc;
    double s = c->key_dist == FL_WORKLOAD_ZIPFIAN ? c->zipf_s : 0;
    rc = fl_zipf_init(&w->zipf, c->key_count, s);
    if (rc)
        return rc;
    w->buf_size = c->value_size_max + ID_DIGITS_MAX + 2;
    w->value_buf = malloc(w->buf_size);
    w->expect_buf = malloc(w->buf_size);
    if (!w->value_buf || !w->expect_buf) {
        fl_workload_close(w);
        return FL_ENOMEM;
    }
    return 0;
}

void fl_workload_close(fl_workload *w)
{
    fl_zipf_close(&w->zipf);
    free(w->value_buf);
    free(w->expect_buf);
    memset(w, 0, sizeof(*w));
}

static fl_kv_op pick_kind(const fl_workload *w, fl_rng *rng)
{
    uint64_t x = fl_rng_below(rng, w->weight_total);
    for (int i = 0; i < FL_KV_OP_COUNT; i++) {
        if (x < w->config.weights[i])
            return (fl_kv_op)i;
        x -= w->config.weights[i];
    }
    FL_UNREACHABLE();
}

/* Writes the value text for id, at least size bytes long (padded unless integer_values). */
static size_t format_value(const fl_workload *w, uint8_t *buf, uint64_t id, size_t size)
{
    char digits[ID_DIGITS_MAX + 1];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)id);
    FL_ASSERT(n > 0 && n <= ID_DIGITS_MAX);
    size_t len = (size_t)n;
    memcpy(buf, digits, len);
    if (w->config.integer_values)
        return len;
    for (; len < size; len++)
        buf[len] = '.';
    FL_ASSERT(len < w->buf_size);
    return len;
}

static void remember(fl_workload *w, uint64_t key_index, uint64_t value_id, size_t value_len)
{
    fl__workload_recent *r = &w->recent[w->recent_next];
    r->key_index = key_index;
    r->value_id = value_id;
    r->value_len = value_len;
    w->recent_next = (w->recent_next + 1) % FL_WORKLOAD_RECENT_MAX;
    if (w->recent_count < FL_WORKLOAD_RECENT_MAX)
        w->recent_count++;
}

/* Generates a fresh unique value into value_buf. */
static void new_value(fl_workload *w, fl_rng *rng, fl_workload_op *op)
{
    size_t size = (size_t)fl_rng_range(rng, w->config.value_size_min, w->config.value_size_max);
    op->value_id = w->writes++ * w->config.writer_count + w->config.writer_id + 1;
    op->value_len = format_value(w, w->value_buf, op->value_id, size);
    if (op->kind == FL_KV_APPEND)
        w->value_buf[op->value_len++] = ',';
    op->value = w->value_buf;
}

/* Picks the cas expectation: one of the recent states of the key (the latest with
 * probability 1/2), or absent if the key has none. */
static void pick_expect(fl_workload *w, fl_rng *rng, fl_workload_op *op)
{
    const fl__workload_recent *cand[FL_WORKLOAD_RECENT_MAX];
    uint32_t n = 0;
    for (uint32_t i = 1; i <= w->recent_count; i++) { /* newest first */
        uint32_t at = (w->recent_next + FL_WORKLOAD_RECENT_MAX - i) % FL_WORKLOAD_RECENT_MAX;
        if (w->recent[at].key_index == op->key_index)
            cand[n++] = &w->recent[at];
    }
    const fl__workload_recent *r = NULL;
    if (n > 0)
        r = fl_rng_chance(rng, 0.5) ? cand[0] : cand[fl_rng_below(rng, n)];
    if (!r || r->value_id == 0) {
        op->expect_absent = true;
        return;
    }
    op->expect_len = format_value(w, w->expect_buf, r->value_id, r->value_len);
    FL_ASSERT(op->expect_len == r->value_len);
    op->expect = w->expect_buf;
}

void fl_workload_next(fl_workload *w, fl_rng *rng, fl_workload_op *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = pick_kind(w, rng);
    out->key_index = fl_zipf_next(&w->zipf, rng);
    int n = snprintf(out->key, sizeof(out->key), "k%llu", (unsigned long long)out->key_index);
    FL_ASSERT(n > 0 && (size_t)n < sizeof(out->key));
    out->key_len = (size_t)n;
    switch (out->kind) {
    case FL_KV_PUT:
    case FL_KV_APPEND:
        new_value(w, rng, out);
        break;
    case FL_KV_CAS:
        pick_expect(w, rng, out);
        new_value(w, rng, out);
        break;
    case FL_KV_INCR:
        out->delta = (int64_t)fl_rng_range(rng, 1, (uint64_t)w->config.incr_delta_max);
        break;
    default:
        break;
    }
    if (out->kind == FL_KV_PUT || out->kind == FL_KV_CAS)
        remember(w, out->key_index, out->value_id, out->value_len);
    else if (out->kind == FL_KV_DELETE)
        remember(w, out->key_index, 0, 0);
}

void fl_workload_to_cmd(const fl_workload_op *op, fl_kv_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->op = op->kind;
    if (op->kind != FL_KV_NOOP) {
        cmd->key = (const uint8_t *)op->key;
        cmd->key_len = op->key_len;
    }
    cmd->value = op->value;
    cmd->value_len = op->value_len;
    cmd->expect = op->expect;
    cmd->expect_len = op->expect_len;
    cmd->expect_absent = op->expect_absent;
    cmd->delta = op->delta;
}

fl_op_f fl_workload_history_f(fl_kv_op k, bool registers)
{
    switch (k) {
    case FL_KV_GET:
        return registers ? FL_F_READ : FL_F_GET;
    case FL_KV_PUT:
        return registers ? FL_F_WRITE : FL_F_PUT;
    case FL_KV_CAS:
        return FL_F_CAS;
    case FL_KV_APPEND:
        return FL_F_APPEND;
    case FL_KV_DELETE:
        return FL_F_DELETE;
    case FL_KV_INCR:
        return FL_F_INCR;
    default:
        return FL_F_GET;
    }
}

fl_value fl_workload_history_value(fl_history *h, const uint8_t *p, size_t len, bool registers,
                                   bool *oom)
{
    fl_value v = fl_value_nil();
    if (registers) {
        int64_t x = 0;
        size_t i = 0;
        for (; i < len && i < 18 && p[i] >= '0' && p[i] <= '9'; i++)
            x = x * 10 + (p[i] - '0');
        if (len > 0 && i == len)
            return fl_value_int(x);
    }
    if (fl_value_str(h, (const char *)p, len, &v) && oom)
        *oom = true;
    return v;
}
