/* test.h: the project's small test harness.
 *
 * A test file defines tests with TEST(name) { ... } and checks with CHECK(cond) and
 * CHECK_EQ(a, b). Tests register themselves at load time; tests/harness/main.c runs them
 * (all, or those whose name contains argv[1]) and ends with the line "N passed, N failed".
 * A failed check aborts the current test only (longjmp back to the runner). */
#ifndef FL_TEST_H
#define FL_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Where tests put scratch files: a directory of this build's own (see the Makefile), made by
 * the runner before any test starts. */
#ifndef FL_TEST_TMP
#define FL_TEST_TMP "/tmp/fl-test"
#endif

typedef void (*fl_test_fn)(void);

void fl_test_register(const char *name, fl_test_fn fn);
_Noreturn void fl_test_fail(const char *file, int line, const char *msg);
_Noreturn void fl_test_fail_eq(const char *file, int line, const char *a_expr, const char *b_expr,
                               long long a, long long b);

/* A fresh directory under FL_TEST_TMP named PREFIX-XXXXXX, in buf (fails the test if it cannot
 * be made), and its removal: the directory's files, then itself (one level, as the WAL and the
 * raft store lay theirs out). */
char *fl_test_tmpdir(char *buf, size_t size, const char *prefix);
void fl_test_rmtree(const char *dir);

#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void fl_test_reg_##name(void)                              \
    {                                                                                              \
        fl_test_register(#name, name);                                                             \
    }                                                                                              \
    static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fl_test_fail(__FILE__, __LINE__, #cond);                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long fl_a_ = (long long)(a), fl_b_ = (long long)(b);                                  \
        if (fl_a_ != fl_b_)                                                                        \
            fl_test_fail_eq(__FILE__, __LINE__, #a, #b, fl_a_, fl_b_);                             \
    } while (0)

/* Ends the current test early, saying why, when something it needs is not in this build or on
 * this machine (CI provides everything, so there the test runs). */
#define SKIP_UNLESS(cond, why)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("skipped: %s\n", why);                                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *fl_sa_ = (a), *fl_sb_ = (b);                                                   \
        if (strcmp(fl_sa_, fl_sb_) != 0) {                                                         \
            fprintf(stderr, "  \"%s\" != \"%s\"\n", fl_sa_, fl_sb_);                               \
            fl_test_fail(__FILE__, __LINE__, #a " == " #b);                                        \
        }                                                                                          \
    } while (0)

#endif
