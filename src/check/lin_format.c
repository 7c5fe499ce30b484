/* lin_format.c: values and ops as text, for reports and the command line. */
#include "faultline/lincheck.h"

#include "faultline/json.h"

#include <inttypes.h>

void fl_lincheck_format_value(const fl_history *h, fl_value v, fl_buf *out)
{
    if (v.kind == FL_VALUE_INT) {
        fl_buf_printf(out, "%" PRId64, v.i);
    } else if (v.kind == FL_VALUE_STR) {
        size_t n;
        const char *s = fl_history_str(h, v.str, &n);
        fl_json_escape(out, s, n);
    } else {
        fl_buf_put_str(out, "nil");
    }
}

static const char *outcome_name(const fl_history *h, const fl_op *op)
{
    if (op->ret == FL_EV_NONE)
        return "pending";
    return fl_ev_type_name((fl_ev_type)op->outcome);
}

void fl_lincheck_format_op(const fl_history *h, const fl_op *op, fl_buf *out)
{
    fl_buf_printf(out, "p%" PRId64 " %s", op->process, fl_op_f_name((fl_op_f)op->f));
    switch ((fl_op_f)op->f) {
    case FL_F_CAS:
        fl_buf_put_str(out, " [");
        fl_lincheck_format_value(h, op->in, out);
        fl_buf_put_u8(out, ' ');
        fl_lincheck_format_value(h, op->in2, out);
        fl_buf_put_u8(out, ']');
        break;
    case FL_F_READ:
    case FL_F_GET:
        fl_buf_put_str(out, " -> ");
        if (op->outcome == FL_EV_OK)
            fl_lincheck_format_value(h, op->out, out);
        else
            fl_buf_put_str(out, "?");
        break;
    case FL_F_DELETE:
        break;
    default:
        fl_buf_put_u8(out, ' ');
        fl_lincheck_format_value(h, op->in, out);
    }
    fl_buf_printf(out, " %s", outcome_name(h, op));
    uint32_t l1 = h->events[op->call].line;
    if (l1 && op->ret != FL_EV_NONE)
        fl_buf_printf(out, "  (lines %u-%u)", l1, h->events[op->ret].line);
    else if (l1)
        fl_buf_printf(out, "  (line %u)", l1);
    else
        fl_buf_printf(out, "  (events %u-%d)", op->call, op->ret == FL_EV_NONE ? -1 : (int)op->ret);
}
