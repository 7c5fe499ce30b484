/* log.h: leveled log lines to stderr for the real runtime (io/, cli/), never for the cores.
 *
 * One line per call: "2026-11-27T12:00:00.123Z I [n1] message". The level threshold and the
 * prefix are process-wide settings made once at start (before any other thread exists). */
#ifndef FAULTLINE_LOG_H
#define FAULTLINE_LOG_H

typedef enum fl_log_level {
    FL_LOG_DEBUG = 0,
    FL_LOG_INFO = 1,
    FL_LOG_WARN = 2,
    FL_LOG_ERROR = 3,
} fl_log_level;

/* Sets the lowest level printed (default INFO) and a prefix such as "n1" (copied). */
void fl_log_setup(fl_log_level level, const char *prefix);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int fl_log_level_parse(const char *s);
void fl_log(fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define FL_DEBUG(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)
#define FL_INFO(...)  fl_log(FL_LOG_INFO, __VA_ARGS__)
#define FL_WARN(...)  fl_log(FL_LOG_WARN, __VA_ARGS__)
#define FL_ERROR(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)

#endif
