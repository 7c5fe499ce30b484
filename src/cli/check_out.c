/* check_out.c: what `faultline check` prints about a result: the verdict line (file, ops,
 * keys, model, initial value, verdict in the words of the consistency model checked), the
 * counterexample, the keys left undecided, and the statistics. */
#include "check_out.h"

#include <ctype.h>
#include <string.h>

void check_print_model(FILE *out, const check_show *s)
{
    if (s->inferred)
        fprintf(out, "model %s, inferred from the operations (--model to override)\n",
                fl_model_name(s->model));
}

static void print_key(FILE *out, const fl_history *h, uint32_t key)
{
    if (key == FL_KEY_NONE)
        fprintf(out, "(no key)");
    else
        fprintf(out, "\"%s\"", fl_history_str(h, key, NULL));
}

/* One op; with key (a counterexample over the whole history), its key first. */
static void print_op(FILE *out, const fl_history *h, const fl_lincheck_result *r, uint32_t i,
                     bool key)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_lincheck_format_op(h, &r->ops[i], &b);
    fprintf(out, "    ");
    if (key) {
        print_key(out, h, r->ops[i].key);
        fprintf(out, ": ");
    }
    fprintf(out, "%.*s\n", (int)b.len, (const char *)b.data);
    fl_buf_free(&b);
}

static bool seq(const fl_lincheck_result *r)
{
    return r->consistency == FL_CONS_SEQUENTIAL;
}

/* "NOT SEQUENTIALLY CONSISTENT", "UNKNOWN whether linearizable", ... */
static void print_verdict(FILE *out, const fl_lincheck_result *r)
{
    if (r->verdict == FL_LIN_UNKNOWN) {
        fprintf(out, "UNKNOWN whether %s\n", seq(r) ? "sequentially consistent" : "linearizable");
        return;
    }
    for (const char *t = fl_verdict_text(r->verdict, r->consistency); *t; t++)
        fputc(toupper((unsigned char)*t), out);
    fputc('\n', out);
}

static void print_line(FILE *out, const check_show *s, const fl_history *h,
                       const fl_lincheck_result *r)
{
    fl_buf v;
    fl_buf_init(&v);
    fl_lincheck_format_value(h, r->initial, &v);
    fprintf(out, "%s: %zu ops, %zu key%s, model %s, initial %.*s: ", s->file, r->op_count,
            r->part_count, r->part_count == 1 ? "" : "s", fl_model_name(s->model), (int)v.len,
            (const char *)v.data);
    fl_buf_free(&v);
    print_verdict(out, r);
}

static void print_cex(FILE *out, const fl_history *h, const fl_lincheck_result *r)
{
    const fl_lincheck_cex *c = &r->cex;
    size_t of = 0;
    bool whole = r->per_key || r->whole_po;
    for (size_t i = 0; i < r->part_count; i++)
        of += whole || r->parts[i].key == c->key ? r->parts[i].ops : 0;
    if (whole) {
        fprintf(out,
                r->whole_po ? "the whole history (every key at once): the longest order "
                              "keeping real time and each process's order has %zu of its %zu "
                              "ops"
                            : "the whole history (every key at once): the longest sequential "
                              "order (each process's ops in their order) has %zu of its %zu ops",
                c->prefix_len, of);
    } else {
        fprintf(out, "key ");
        print_key(out, h, c->key);
        fprintf(out,
                seq(r) ? ": the longest sequential order (each process's ops in their "
                         "order) has %zu of its %zu ops"
                       : ": the longest linearizable prefix has %zu of its %zu ops",
                c->prefix_len, of);
    }
    size_t from = c->prefix_len > 8 ? c->prefix_len - 8 : 0;
    fprintf(out, from ? "; the last %zu:\n" : ":\n", c->prefix_len - from);
    for (size_t i = from; i < c->prefix_len; i++)
        print_op(out, h, r, c->prefix[i], whole);
    fprintf(out, "  model state after it");
    if (whole) {
        fprintf(out, ", key ");
        print_key(out, h, c->key);
    }
    fprintf(out, ": %s\n", c->state);
    if (c->blocked != UINT32_MAX) {
        fprintf(out, "  this op %s, but cannot take effect in any order from there:\n",
                seq(r) ? "is among the next of its process" : "completed");
        print_op(out, h, r, c->blocked, whole);
    }
    fprintf(out,
            seq(r) ? "  the next op of each process (%zu), each refused by the model or "
                     "leading to a dead end:\n"
                   : "  ops that could take effect next (%zu), each refused by the model "
                     "or leading to a dead end:\n",
            c->tried_len);
    for (size_t i = 0; i < c->tried_len; i++)
        print_op(out, h, r, c->tried[i], whole);
}

static void print_violating(FILE *out, const fl_history *h, const fl_lincheck_result *r)
{
    size_t bad = 0;
    for (size_t i = 0; i < r->part_count; i++)
        bad += r->parts[i].verdict == FL_LIN_VIOLATION;
    if (bad < 2)
        return;
    fprintf(out, "%zu keys are not %s:", bad, seq(r) ? "sequentially consistent" : "linearizable");
    for (size_t i = 0, shown = 0; i < r->part_count && shown < 20; i++) {
        if (r->parts[i].verdict != FL_LIN_VIOLATION)
            continue;
        fputc(' ', out);
        print_key(out, h, r->parts[i].key);
        shown++;
    }
    fprintf(out, bad > 20 ? " ...; the first:\n" : "; the first:\n");
}

static void print_undecided(FILE *out, const fl_history *h, const fl_lincheck_result *r)
{
    size_t undecided = 0, stopped = 0;
    for (size_t i = 0; i < r->part_count; i++) {
        const fl_lincheck_part *p = &r->parts[i];
        stopped += p->verdict == FL_LIN_UNKNOWN && p->unknown == FL_LIN_WHY_STOPPED;
        undecided += p->verdict == FL_LIN_UNKNOWN && p->unknown != FL_LIN_WHY_STOPPED;
    }
    if (stopped)
        fprintf(out,
                "stopped at the first key found not %s: %zu key%s not checked "
                "(--all-keys checks every key)\n",
                seq(r) ? "sequentially consistent" : "linearizable", stopped,
                stopped == 1 ? "" : "s");
    if (!undecided)
        return;
    fprintf(out, "%zu key%s undecided:\n", undecided, undecided == 1 ? "" : "s");
    for (size_t i = 0, shown = 0; i < r->part_count && shown < 10; i++) {
        const fl_lincheck_part *p = &r->parts[i];
        if (p->verdict != FL_LIN_UNKNOWN || p->unknown == FL_LIN_WHY_STOPPED)
            continue;
        shown++;
        fprintf(out, "  key ");
        print_key(out, h, p->key);
        fprintf(out, ": %s; %s of %u of its %u ops was found\n",
                p->unknown == FL_LIN_WHY_MEMORY ? "memory limit reached" : "timeout",
                seq(r) ? "a sequential order" : "a linearizable prefix", p->prefix, p->ops);
    }
}

/* Sequential consistency is not local: say when the whole history had to be searched. */
static const char *whole_verdict(const fl_lincheck_result *r)
{
    return r->verdict == FL_LIN_OK        ? "it is too"
           : r->verdict == FL_LIN_UNKNOWN ? "undecided (timeout or memory limit)"
                                          : "it is not";
}

static void print_whole(FILE *out, const fl_lincheck_result *r)
{
    if (r->po_keys_only)
        fprintf(out, "pipelined: program order was checked key by key only (over 16 keys, the "
                     "whole history is not searched as one)\n");
    if (r->po_merged)
        fprintf(out, "every key alone is linearizable with program order, and the orders found "
                     "interleave into one that keeps real time and program order across keys: "
                     "linearizable (no search of the whole history needed)\n");
    else if (r->whole_po)
        fprintf(out,
                "every key alone is linearizable with program order; the whole history was "
                "searched as one (program order across keys is not local): %s\n",
                whole_verdict(r));
    if (r->per_key)
        fprintf(out,
                "every key alone is sequentially consistent; the whole history was searched "
                "as one (sequential consistency is not local): %s\n",
                whole_verdict(r));
}

void check_print_result(FILE *out, const check_show *s, const fl_history *h,
                        const fl_lincheck_result *r)
{
    const fl_lincheck_stats *st = &r->stats;
    print_line(out, s, h, r);
    if (!r->op_count)
        fprintf(out, "0 operations: nothing to check (an empty history is %s)\n",
                seq(r) ? "sequentially consistent" : "linearizable");
    print_whole(out, r);
    if (r->has_cex) {
        if (!r->per_key && !r->whole_po)
            print_violating(out, h, r);
        print_cex(out, h, r);
    }
    print_undecided(out, h, r);
    double secs = (double)st->elapsed_ns / 1e9;
    fprintf(out,
            "checked %llu ops in %.3f s (%.0f ops/s), %llu states, memory peak %.1f MiB, %u "
            "thread%s\n",
            (unsigned long long)st->ops, secs, secs > 0 ? (double)st->ops / secs : 0.0,
            (unsigned long long)st->states, (double)st->memo_bytes / (1 << 20), st->threads,
            st->threads == 1 ? "" : "s");
}

void check_print_implied(FILE *out, const check_show *s, const fl_history *h,
                         const fl_lincheck_result *lin)
{
    fl_lincheck_result r = *lin;
    r.consistency = FL_CONS_SEQUENTIAL;
    print_line(out, s, h, &r);
    fprintf(out, "(every linearizable history is sequentially consistent)\n");
}
