/* prom.h: a small reader of the Prometheus text exposition format for tests: checks every line
 * (HELP and TYPE before a family's samples, sample syntax, histogram buckets cumulative and
 * ending at +Inf with _count) and finds a sample's value. Header-only. */
#ifndef FL_TEST_PROM_H
#define FL_TEST_PROM_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of the sample `series` (name, or name{labels} exactly as rendered); NAN-free -1
 * when absent. */
static double prom_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static bool prom_name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' ||
           (!first && isdigit((unsigned char)c));
}

/* Checks the whole text; on failure prints the line and why, returns false. */
static bool prom_valid(const char *text)
{
    char typed[256][96];
    int n_typed = 0;
    double last_bucket = -1;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end) {
            fprintf(stderr, "  metrics: last line without a newline\n");
            return false;
        }
        char l[1024];
        size_t len = (size_t)(end - line) < sizeof(l) - 1 ? (size_t)(end - line) : sizeof(l) - 1;
        memcpy(l, line, len);
        l[len] = 0;
        line = end + 1;
        const char *why = NULL;
        char name[96] = "";
        if (strncmp(l, "# TYPE ", 7) == 0) {
            if (n_typed < 256 && sscanf(l + 7, "%95s", typed[n_typed]) == 1)
                n_typed++;
            continue;
        }
        if (strncmp(l, "# HELP ", 7) == 0)
            continue;
        size_t k = 0;
        while (prom_name_char(l[k], k == 0) && k < sizeof(name) - 1)
            name[k] = l[k], k++;
        name[k] = 0;
        if (k == 0)
            why = "no metric name";
        const char *rest = l + k;
        if (!why && *rest == '{') {
            const char *close = strstr(rest, "} ");
            why = close ? NULL : "labels not closed by \"} \"";
            rest = close ? close + 1 : rest;
        }
        char *vend = NULL;
        double v = !why && *rest == ' ' ? strtod(rest + 1, &vend) : 0;
        if (!why && (!vend || *vend || vend == rest + 1))
            why = "no value after the series";
        bool known = false; /* its family (name, or name less _bucket/_sum/_count) was TYPEd */
        for (int t = 0; t < n_typed && !known; t++) {
            size_t tl = strlen(typed[t]);
            known = strcmp(name, typed[t]) == 0 ||
                    (strncmp(name, typed[t], tl) == 0 &&
                     (!strcmp(name + tl, "_bucket") || !strcmp(name + tl, "_sum") ||
                      !strcmp(name + tl, "_count")));
        }
        if (!why && !known)
            why = "a sample before its family's TYPE line";
        if (!why && strstr(name, "_bucket")) {
            if (last_bucket >= 0 && v < last_bucket && !strstr(l, "le=\"+Inf\""))
                why = "histogram buckets not cumulative";
            last_bucket = strstr(l, "le=\"+Inf\"") ? -1 : v;
        }
        if (why) {
            fprintf(stderr, "  metrics line \"%s\": %s\n", l, why);
            return false;
        }
    }
    return true;
}

/* Runs `promtool check metrics` on text when promtool is installed: 1 passed, 0 failed (its
 * output on stderr), -1 not installed. */
static int prom_promtool(const char *text)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return -1;
    FILE *p = popen("promtool check metrics 1>&2", "w");
    if (!p)
        return 0;
    fputs(text, p);
    int st = pclose(p);
    return st == 0 ? 1 : 0;
}

#endif
