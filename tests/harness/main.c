/* main.c: runs the tests registered by TEST() in one test program. */
#include "test.h"

#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TESTS_MAX 512

static struct {
    const char *name;
    fl_test_fn fn;
} tests[TESTS_MAX];
static int tests_count;
static jmp_buf test_jmp;

void fl_test_register(const char *name, fl_test_fn fn)
{
    if (tests_count == TESTS_MAX) {
        fprintf(stderr, "too many tests (TESTS_MAX=%d)\n", TESTS_MAX);
        exit(2);
    }
    tests[tests_count].name = name;
    tests[tests_count].fn = fn;
    tests_count++;
}

void fl_test_fail(const char *file, int line, const char *msg)
{
    fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, msg);
    longjmp(test_jmp, 1);
}

void fl_test_fail_eq(const char *file, int line, const char *a_expr, const char *b_expr,
                     long long a, long long b)
{
    fprintf(stderr, "  %s:%d: check failed: %s == %s (%lld != %lld)\n", file, line, a_expr, b_expr,
            a, b);
    longjmp(test_jmp, 1);
}

char *fl_test_tmpdir(char *buf, size_t size, const char *prefix)
{
    snprintf(buf, size, "%s/%s-XXXXXX", FL_TEST_TMP, prefix);
    char *d = mkdtemp(buf);
    if (!d)
        fl_test_fail(__FILE__, __LINE__, "mkdtemp");
    return d;
}

void fl_test_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    static int passed, failed; /* static: survive longjmp */
    if (mkdir(FL_TEST_TMP, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", FL_TEST_TMP, strerror(errno));
        return 2;
    }
    for (volatile int i = 0; i < tests_count; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        double t0 = now_s();
        fflush(stdout);
        if (setjmp(test_jmp) == 0) {
            tests[i].fn();
            passed++;
            printf("ok   %-48s %7.3f s\n", tests[i].name, now_s() - t0);
        } else {
            failed++;
            printf("FAIL %-48s %7.3f s\n", tests[i].name, now_s() - t0);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
