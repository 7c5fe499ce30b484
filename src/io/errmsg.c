/* errmsg.c: formatting error messages with errno context (errmsg.h). Invariant: text is
 * always NUL-terminated, whatever the length of what was formatted. */
#include "faultline/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fl_errmsg_set(fl_errmsg *m, int code, const char *fmt, ...)
{
    if (!m)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof(m->text), fmt, ap);
    va_end(ap);
    return code;
}

int fl_errmsg_errno(fl_errmsg *m, int code, int errnum, const char *fmt, ...)
{
    if (!m)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof(m->text), fmt, ap);
    va_end(ap);
    size_t used = strlen(m->text);
    char tmp[128];
    const char *why = strerror_r(errnum, tmp, sizeof(tmp)); /* GNU variant */
    snprintf(m->text + used, sizeof(m->text) - used, ": %s", why);
    return code;
}
