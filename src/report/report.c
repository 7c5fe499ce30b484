/* report.c: fl_report_build (report.h): which report a run directory gets. results.json
 * with "protocol": "swim" is a SWIM scenario; any other results.json is a run of the
 * replicated kv (simulated or real); no results.json but campaign records is a campaign. */
#include "report_int.h"

#include "faultline/error.h"

#include <string.h>

int fl_report_build(const char *dir, fl_buf *out, fl_report_info *info, char *why, size_t why_size)
{
    fl_report_info scratch;
    info = info ? info : &scratch;
    memset(info, 0, sizeof(*info));
    why[0] = 0;
    rp_doc doc;
    int rc = rp_doc_load(&doc, dir, "results.json", why, why_size);
    if (rc == FL_ENOTFOUND) {
        rp_doc_free(&doc);
        info->kind = FL_REPORT_CAMPAIGN;
        rc = rp_campaign_report(dir, out, why, why_size);
        if (rc == FL_ENOTFOUND)
            snprintf(why, why_size, "%s: no results.json and no campaign*.jsonl", dir);
        return rc;
    }
    if (rc) {
        rp_doc_free(&doc);
        return rc;
    }
    char proto[16];
    if (!strcmp(rp_str(&doc.d, 0, "protocol", proto, sizeof(proto)), "swim")) {
        info->kind = FL_REPORT_SWIM;
        rc = rp_swim_report(&doc, out, why, why_size);
        rp_doc_free(&doc);
        return rc;
    }
    rp_doc_free(&doc); /* the run report loads it again with the rest */
    info->kind = FL_REPORT_RUN;
    return rp_run_report(dir, out, info, why, why_size);
}
