/* cli.c: running the faultline binary from tests (cli.h). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[4096];

const char *fl_test_faultline(void)
{
    if (bin[0])
        return bin;
    ssize_t n = readlink("/proc/self/exe", bin, sizeof(bin) - 32);
    if (n <= 0)
        return "build/faultline";
    bin[n] = 0;
    char *cut = strstr(bin, "/tests/");
    if (!cut)
        return "build/faultline";
    strcpy(cut, "/faultline");
    return bin;
}

int fl_test_faultline_run(const char *args, const char *out_file)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s %s >%s 2>&1", fl_test_faultline(), args, out_file);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool fl_test_file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}
