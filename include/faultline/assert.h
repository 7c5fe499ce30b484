/* assert.h: FL_ASSERT, always on (debug, release and simulator builds alike).
 *
 * Assertions state programmer invariants. Untrusted input (network, disk, user files) must
 * never reach one: such input is checked and returned as an FL_E... error instead. */
#ifndef FAULTLINE_ASSERT_H
#define FAULTLINE_ASSERT_H

/* Public (fl_, not fl__) because FL_ASSERT, a public macro, calls it from users' code. */
_Noreturn void fl_assert_fail(const char *file, int line, const char *expr);

/* An environment (the simulator) may install a hook that prints context, such as the seed
 * and the command that reproduces the run, before the process aborts. */
typedef void (*fl_assert_hook_fn)(void *arg);
void fl_assert_set_hook(fl_assert_hook_fn fn, void *arg);

#define FL_ASSERT(expr) ((expr) ? (void)0 : fl_assert_fail(__FILE__, __LINE__, #expr))

#define FL_UNREACHABLE() fl_assert_fail(__FILE__, __LINE__, "unreachable")

#endif
