/* assert.c: what happens when an FL_ASSERT fails. */
#include "faultline/assert.h"

#include <stdio.h>
#include <stdlib.h>

static fl_assert_hook_fn hook_fn;
static void *hook_arg;

void fl_assert_set_hook(fl_assert_hook_fn fn, void *arg)
{
    hook_fn = fn;
    hook_arg = arg;
}

void fl_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    if (hook_fn) {
        fl_assert_hook_fn fn = hook_fn;
        hook_fn = NULL; /* a failing hook must not recurse */
        fn(hook_arg);
    }
    fflush(stderr);
    abort();
}
