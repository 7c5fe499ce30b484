/* lin_json.c: a checker result as JSON (fl_lincheck_json, lincheck.h):
 *
 *   {"verdict":"not linearizable","consistency":"linearizable","model":"register",
 *    "initial":null,"stopped_at_first_violation":true,"ops":N,"keys":[{"key":..,"ops":..,
 *    "verdict":..,"concurrency":..,"states":..}],"counterexample":{"key":..,"state":"3",
 *    "prefix_length":n,"prefix":[index..],"prefix_tail":[op..],"blocked":op,
 *    "candidates":[op..]},"stats":{...}}
 *
 * The verdict is in the words of the consistency model ("not sequentially consistent"); for
 * sequential consistency, "whole_history_searched" says the keys were searched together.
 *
 * An op is {"index","process","f","value","outcome","invoke_line","complete_line"}; index
 * numbers the ops in invocation order. */
#include "faultline/lincheck.h"

#include "faultline/json.h"

static void value(fl_json *j, const fl_history *h, fl_value v)
{
    if (v.kind == FL_VALUE_INT) {
        fl_json_int(j, v.i);
    } else if (v.kind == FL_VALUE_STR) {
        size_t n;
        const char *s = fl_history_str(h, v.str, &n);
        fl_json_strn(j, s, n);
    } else {
        fl_json_null(j);
    }
}

static void key(fl_json *j, const fl_history *h, uint32_t k)
{
    if (k == FL_KEY_NONE) {
        fl_json_null(j);
        return;
    }
    size_t n;
    const char *s = fl_history_str(h, k, &n);
    fl_json_strn(j, s, n);
}

static void op_json(fl_json *j, const fl_history *h, const fl_lincheck_result *r, uint32_t i)
{
    const fl_op *op = &r->ops[i];
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "index", i);
    fl_json_kv_int(j, "process", op->process);
    fl_json_kv_str(j, "f", fl_op_f_name((fl_op_f)op->f));
    fl_json_key(j, "value");
    if (op->f == FL_F_CAS) {
        fl_json_arr_begin(j);
        value(j, h, op->in);
        value(j, h, op->in2);
        fl_json_arr_end(j);
    } else if (op->f == FL_F_READ || op->f == FL_F_GET) {
        value(j, h, op->out);
    } else {
        value(j, h, op->in);
    }
    fl_json_kv_str(j, "outcome",
                   op->ret == FL_EV_NONE ? "pending" : fl_ev_type_name((fl_ev_type)op->outcome));
    fl_json_kv_uint(j, "invoke_line", h->events[op->call].line);
    if (op->ret != FL_EV_NONE)
        fl_json_kv_uint(j, "complete_line", h->events[op->ret].line);
    fl_json_obj_end(j);
}

static void cex_json(fl_json *j, const fl_history *h, const fl_lincheck_result *r)
{
    const fl_lincheck_cex *c = &r->cex;
    fl_json_key(j, "counterexample");
    fl_json_obj_begin(j);
    fl_json_key(j, "key");
    key(j, h, c->key);
    fl_json_kv_str(j, "state", c->state);
    fl_json_kv_uint(j, "prefix_length", c->prefix_len);
    fl_json_key(j, "prefix"); /* the whole linearization, as op indices */
    fl_json_arr_begin(j);
    for (size_t i = 0; i < c->prefix_len; i++)
        fl_json_uint(j, c->prefix[i]);
    fl_json_arr_end(j);
    fl_json_key(j, "prefix_tail"); /* its last ops in full: where it stops */
    fl_json_arr_begin(j);
    size_t from = c->prefix_len > 20 ? c->prefix_len - 20 : 0;
    for (size_t i = from; i < c->prefix_len; i++)
        op_json(j, h, r, c->prefix[i]);
    fl_json_arr_end(j);
    fl_json_key(j, "blocked");
    if (c->blocked == UINT32_MAX)
        fl_json_null(j);
    else
        op_json(j, h, r, c->blocked);
    fl_json_key(j, "candidates");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < c->tried_len; i++)
        op_json(j, h, r, c->tried[i]);
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}

static void stats_json(fl_json *j, const fl_lincheck_result *r)
{
    const fl_lincheck_stats *s = &r->stats;
    fl_json_key(j, "stats");
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "ops", s->ops);
    fl_json_kv_uint(j, "keys", s->parts);
    fl_json_kv_uint(j, "states", s->states);
    fl_json_kv_uint(j, "memory_bytes_peak", s->memo_bytes);
    fl_json_kv_double(j, "seconds", (double)s->elapsed_ns / 1e9);
    fl_json_kv_uint(j, "threads", s->threads);
    fl_json_obj_end(j);
}

int fl_lincheck_json(const fl_history *h, const fl_lincheck_result *r, fl_model model, fl_buf *out)
{
    static const char *const unknown[] = {"", "timeout", "memory limit", "not checked"};
    fl_json j;
    fl_json_init(&j, out, false);
    fl_json_obj_begin(&j);
    fl_json_kv_str(&j, "verdict", fl_verdict_text(r->verdict, r->consistency));
    fl_json_kv_str(&j, "consistency", fl_consistency_name(r->consistency));
    fl_json_kv_str(&j, "model", fl_model_name(model));
    fl_json_key(&j, "initial");
    value(&j, h, r->initial);
    fl_json_kv_bool(&j, "stopped_at_first_violation", r->stopped);
    if (r->consistency == FL_CONS_SEQUENTIAL || r->whole_po)
        fl_json_kv_bool(&j, "whole_history_searched", r->per_key || r->whole_po);
    if (r->po_merged) /* decided by the keys' orders interleaved, no search (lin_merge.c) */
        fl_json_kv_bool(&j, "whole_history_merged", true);
    if (r->po_keys_only)
        fl_json_kv_bool(&j, "program_order_per_key_only", true);
    fl_json_kv_uint(&j, "ops", r->op_count);
    fl_json_key(&j, "keys");
    fl_json_arr_begin(&j);
    for (size_t i = 0; i < r->part_count; i++) {
        const fl_lincheck_part *p = &r->parts[i];
        fl_json_obj_begin(&j);
        fl_json_key(&j, "key");
        key(&j, h, p->key);
        fl_json_kv_uint(&j, "ops", p->ops);
        fl_json_kv_str(&j, "verdict", fl_verdict_text((fl_verdict)p->verdict, r->consistency));
        fl_json_kv_uint(&j, "concurrency", p->concurrency);
        if (p->verdict == FL_LIN_UNKNOWN) {
            fl_json_kv_str(&j, "reason", unknown[p->unknown < 4 ? p->unknown : 0]);
            fl_json_kv_uint(&j, "longest_prefix", p->prefix);
        }
        fl_json_kv_uint(&j, "states", p->states);
        fl_json_obj_end(&j);
    }
    fl_json_arr_end(&j);
    if (r->has_cex)
        cex_json(&j, h, r);
    stats_json(&j, r);
    fl_json_obj_end(&j);
    fl_buf_put_u8(out, '\n');
    return out->err;
}
