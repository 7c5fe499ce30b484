/* cmd_report.c: `faultline report DIR`: (re)builds DIR/report.html from the files a run wrote
 * (report.h); and the hook every command with --out DIR calls after writing its files. */
#include "cli.h"
#include "cli_opt.h"

#include "faultline/error.h"
#include "faultline/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline report DIR [--out FILE]\n\n"
               "Builds DIR/report.html (or FILE): one self-contained page with the verdict, every\n"
               "observable and pictures of the run, from what DIR holds: results.json,\n"
               "history.jsonl and timeline.jsonl of `faultline sim --out DIR` or `demo`, the\n"
               "results.json of `sim --protocol swim --out DIR`, or the campaign.jsonl of a\n"
               "campaign (docs/report.md). Nothing is fetched; open it in any browser.\n");
    fl_cli_exit_help(f, "written", NULL, NULL);
}

int fl_cli_write_report(const char *dir, const char *file, bool quiet)
{
    fl_buf b;
    fl_buf_init(&b);
    char why[512];
    fl_report_info info;
    int rc = fl_report_build(dir, &b, &info, why, sizeof(why));
    if (rc) {
        fprintf(stderr, "faultline report: %s\n", why[0] ? why : fl_strerror(rc));
        fl_buf_free(&b);
        return fl_cli_exit_of(rc);
    }
    char path[4096];
    if (!file) {
        snprintf(path, sizeof(path), "%s/report.html", dir);
        file = path;
    }
    FILE *f = fopen(file, "w");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    ok = f && fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "faultline report: cannot write %s: %s\n", file, strerror(errno));
    else if (!quiet)
        printf("report   %s (%.1f MB)\n", file, (double)b.len / 1e6);
    fl_buf_free(&b);
    return ok ? 0 : FL_EXIT_IOERR;
}

int fl_cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc)
                return fl_cli_no_value("report", "--out");
            file = argv[++i];
        } else if ((argv[i][0] != '-' || !argv[i][1]) && !dir) {
            dir = argv[i];
        } else {
            return fl_cli_unexpected("report", argv[i]);
        }
    }
    int rc = file ? fl_cli_out_file("report", "--out", file) : 0;
    if (rc)
        return rc;
    if (!dir)
        return fl_cli_error("report", FL_EXIT_USAGE, "DIR is required: the run directory to draw");
    rc = fl_cli_in_dir("report", NULL, dir);
    return rc ? rc : fl_cli_write_report(dir, file, false);
}
