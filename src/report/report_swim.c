/* report_swim.c: the report of a SWIM scenario (`faultline sim --protocol swim`). */
#include "report_int.h"

#include "faultline/error.h"

int rp_swim_report(const rp_doc *doc, fl_buf *out, char *why, size_t why_size)
{
    (void)doc;
    rp_page_begin(out, "faultline: SWIM");
    rp_page_end(out);
    (void)why;
    (void)why_size;
    return out->err ? FL_ENOMEM : 0;
}
