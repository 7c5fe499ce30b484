/* lin_html.c: placeholder replaced below. */
#include "faultline/lincheck.h"

int fl_lincheck_html(const fl_history *h, const fl_lincheck_result *r, fl_model model,
                     const char *title, size_t max_ops, fl_buf *out)
{
    fl_buf_put_str(out, "<!doctype html><title>check</title>");
    return out->err;
}
