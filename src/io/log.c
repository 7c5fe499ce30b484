/* log.c: leveled, timestamped log lines on stderr (log.h). Each line is formatted into one
 * buffer and written with one write() so that lines of concurrent processes do not mix. */
#include "faultline/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static fl_log_level log_threshold = FL_LOG_INFO;
static char log_prefix[32];

void fl_log_setup(fl_log_level level, const char *prefix)
{
    log_threshold = level;
    snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

int fl_log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void fl_log(fl_log_level level, const char *fmt, ...)
{
    if (level < log_threshold)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %c [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, "DIWE"[level], log_prefix);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
