/* report_campaign.c: the report of a campaign over seeds. */
#include "report_int.h"

#include "faultline/error.h"

int rp_campaign_report(const char *dir, fl_buf *out, char *why, size_t why_size)
{
    (void)dir;
    (void)out;
    (void)why;
    (void)why_size;
    return FL_ENOTFOUND;
}
