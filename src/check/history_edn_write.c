/* history_edn_write.c: writes a history in Jepsen's EDN form, one map per line, which
 * history_edn.c (and Jepsen's tools) read back:
 *
 *   {:process 0, :type :invoke, :f :cas, :key "k1", :value [1 2], :time 1200}
 *
 * Strings are EDN strings (", \ and control characters escaped); nil is nil. */
#include "faultline/history.h"

#include <stdio.h>

static void put_str(fl_buf *out, const char *s, size_t n)
{
    fl_buf_put_u8(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fl_buf_put_u8(out, '\\');
            fl_buf_put_u8(out, c);
        } else if (c == '\n') {
            fl_buf_put_bytes(out, "\\n", 2);
        } else if (c == '\t') {
            fl_buf_put_bytes(out, "\\t", 2);
        } else if (c == '\r') {
            fl_buf_put_bytes(out, "\\r", 2);
        } else if (c < 0x20) {
            fl_buf_printf(out, "\\u%04x", c);
        } else {
            fl_buf_put_u8(out, c);
        }
    }
    fl_buf_put_u8(out, '"');
}

static void put_value(const fl_history *h, fl_value v, fl_buf *out)
{
    if (v.kind == FL_VALUE_INT) {
        fl_buf_printf(out, "%lld", (long long)v.i);
    } else if (v.kind == FL_VALUE_STR) {
        size_t n;
        const char *s = fl_history_str(h, v.str, &n);
        put_str(out, s, n);
    } else {
        fl_buf_put_bytes(out, "nil", 3);
    }
}

void fl_history_write_edn_event(const fl_history *h, const fl_event *ev, fl_buf *out)
{
    fl_buf_printf(out, "{:process %lld, :type :%s, :f :%s", (long long)ev->process,
                  fl_ev_type_name((fl_ev_type)ev->type), fl_op_f_name((fl_op_f)ev->f));
    if (ev->key != FL_KEY_NONE) {
        size_t n;
        const char *s = fl_history_str(h, ev->key, &n);
        fl_buf_put_bytes(out, ", :key ", 7);
        put_str(out, s, n);
    }
    if (ev->pair || ev->value.kind != FL_VALUE_NONE) {
        fl_buf_put_bytes(out, ", :value ", 9);
        if (ev->pair)
            fl_buf_put_u8(out, '[');
        put_value(h, ev->value, out);
        if (ev->pair) {
            fl_buf_put_u8(out, ' ');
            put_value(h, ev->value2, out);
            fl_buf_put_u8(out, ']');
        }
    }
    fl_buf_printf(out, ", :time %llu}\n", (unsigned long long)ev->time);
}

int fl_history_write_edn(const fl_history *h, fl_buf *out)
{
    for (size_t i = 0; i < h->count && !out->err; i++)
        fl_history_write_edn_event(h, &h->events[i], out);
    return out->err;
}
