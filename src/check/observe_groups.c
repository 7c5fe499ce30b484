/* observe_groups.c: availability by group of clients over a time window (observe.h,
 * fl_observe_groups): how many reads and writes each group invoked, and how many were
 * answered before the window ended. The CAP table counts each side of a partition so. */
#include "observe_internal.h"

#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

int fl_observe_groups(const fl_history *h, fl_time_ns start_ns, fl_time_ns end_ns,
                      fl_observe_group_fn group_of, void *arg, fl_observe_group *out,
                      uint32_t groups)
{
    memset(out, 0, groups * sizeof(*out));
    fl_op *ops = NULL;
    size_t n = 0;
    fl_history_error err;
    int rc = fl_history_ops(h, &ops, &n, &err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const fl_op *op = &ops[i];
        fl_time_ns at = h->events[op->call].time;
        uint32_t g = at >= start_ns && at < end_ns ? group_of(arg, op->process) : groups;
        if (g >= groups)
            continue;
        bool answered =
            op->ret != FL_EV_NONE && op->outcome != FL_EV_INFO && h->events[op->ret].time < end_ns;
        if (fl__obs_is_write((fl_op_f)op->f)) {
            out[g].writes++;
            out[g].writes_answered += answered;
        } else {
            out[g].reads++;
            out[g].reads_answered += answered;
        }
    }
    free(ops);
    return 0;
}
