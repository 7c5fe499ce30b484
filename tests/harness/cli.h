/* cli.h: running the faultline binary from a test: the binary next to the test's build
 * directory (OUT/faultline), a command's exit status, and looking into its output. */
#ifndef FL_TEST_CLI_H
#define FL_TEST_CLI_H

#include <stdbool.h>

/* OUT/faultline for a test program at OUT/tests/{unit,sim}/NAME. */
const char *fl_test_faultline(void);
/* Runs "faultline ARGS >out_file 2>&1"; returns the exit status (-1 if it did not exit). */
int fl_test_faultline_run(const char *args, const char *out_file);
/* True when the file contains needle (first MiB). */
bool fl_test_file_has(const char *path, const char *needle);

#endif
