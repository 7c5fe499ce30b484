/* bench_report.c: the report's bounds (report.h, docs/report.md) on a long run. Writes a run
 * directory as a run of --ops operations would leave it (default 1,000,000: 20 clients over
 * 450 s, latencies log-normal around 4 ms with a slow tail, 20% of ops fail, 0.5% info, a 3 s
 * fault every 6 s, 5 nodes changing leader at every fault), then times fl_report_build and
 * prints the report's size and how many points it drew. With chromium installed it also
 * times opening the report headless to a screenshot, beside opening an empty page (the
 * browser's own start), both as wall time.
 *
 *   build/bench/bench_report [--ops N] [--dir DIR]
 */
#include "faultline/report.h"
#include "faultline/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CLIENTS 20
#define NODES   5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        perror(path);
    return f;
}

/* The history: clients one op at a time; returns the end time. */
static uint64_t history(const char *dir, uint64_t ops, fl_rng *r)
{
    FILE *f = open_in(dir, "history.jsonl");
    if (!f)
        exit(1);
    uint64_t t[CLIENTS] = {0}, end = 0;
    static const char *fs[] = {"read", "write", "cas"};
    for (uint64_t i = 0; i < ops; i++) {
        int c = (int)(i % CLIENTS);
        double z = sqrt(-2 * log(fl_rng_double(r) + 1e-12)) * cos(6.2831853 * fl_rng_double(r));
        uint64_t lat = (uint64_t)(4e6 * exp(0.5 * z)) + (fl_rng_double(r) < 0.01 ? 200000000 : 0);
        double u = fl_rng_double(r);
        const char *type = u < 0.005 ? "info" : u < 0.205 ? "fail" : "ok";
        const char *fn = fs[fl_rng_below(r, 3)];
        char value[32] = "null";
        if (strcmp(fn, "read"))
            snprintf(value, sizeof(value), strcmp(fn, "cas") ? "%llu" : "[%llu,1]",
                     (unsigned long long)i);
        fprintf(f, "{\"process\":%d,\"type\":\"invoke\",\"f\":\"%s\",\"value\":%s,\"time\":%llu}\n",
                c, fn, value, (unsigned long long)t[c]);
        t[c] += lat;
        fprintf(f, "{\"process\":%d,\"type\":\"%s\",\"f\":\"%s\",\"value\":%s,\"time\":%llu}\n", c,
                type, fn, strcmp(fn, "read") ? value : "1", (unsigned long long)t[c]);
        t[c] += 100000;
        end = t[c] > end ? t[c] : end;
    }
    fclose(f);
    return end;
}

static void results(const char *dir, uint64_t end_ns)
{
    FILE *f = open_in(dir, "results.json");
    FILE *tl = open_in(dir, "timeline.jsonl");
    if (!f || !tl)
        exit(1);
    fprintf(f,
            "{\"seed\":1,\"config\":{\"protocol\":\"raft\",\"nodes\":%d,\"duration_ns\":%llu,"
            "\"workload\":\"register\",\"clients\":%d,\"nemesis\":\"mix\"},"
            "\"verdict\":{\"violation\":false,\"summary\":\"no violation\"},\"faults\":[",
            NODES, (unsigned long long)end_ns, CLIENTS);
    uint64_t term = 1;
    for (uint64_t s = 3, k = 0; s * 1000000000ull < end_ns; s += 6, k++) {
        fprintf(f, "%s{\"kind\":\"%s\",\"targets\":\"n%llu\",\"start_ns\":%llu,\"end_ns\":%llu}",
                k ? "," : "", k % 2 ? "crash-leader" : "partition-random",
                (unsigned long long)(k % NODES + 1), (unsigned long long)(s * 1000000000ull),
                (unsigned long long)((s + 3) * 1000000000ull));
        fprintf(tl,
                "{\"time_ns\":%llu,\"node\":%llu,\"event\":\"role\",\"role\":\"leader\","
                "\"term\":%llu}\n",
                (unsigned long long)(s * 1000000000ull + 200000000),
                (unsigned long long)(k % NODES + 1), (unsigned long long)term++);
    }
    fprintf(f, "]}\n");
    fclose(f);
    fclose(tl);
}

static double chromium(const char *html, const char *png)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "rm -rf /tmp/bench_report_profile; timeout 120 chromium --headless --no-sandbox "
             "--disable-gpu --disable-quic --no-first-run --disable-background-networking "
             "--disable-component-update --disable-sync --user-data-dir=/tmp/bench_report_profile "
             "--window-size=1180,2400 --screenshot=%s file://%s >/dev/null 2>&1",
             png, html);
    double t0 = now_s();
    int rc = system(cmd);
    return rc == 0 ? now_s() - t0 : -1;
}

int main(int argc, char **argv)
{
    uint64_t ops = 1000000;
    const char *dir = "/tmp/bench_report";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ops"))
            ops = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
    }
    mkdir(dir, 0777);
    fl_rng r;
    fl_rng_seed(&r, 42);
    double t0 = now_s();
    uint64_t end = history(dir, ops, &r);
    results(dir, end);
    printf("bench_report: %llu ops over %.0f s written in %.1f s\n", (unsigned long long)ops,
           (double)end / 1e9, now_s() - t0);
    fl_buf b;
    fl_buf_init(&b);
    char why[512];
    fl_report_info info;
    t0 = now_s();
    int rc = fl_report_build(dir, &b, &info, why, sizeof(why));
    double build_s = now_s() - t0;
    if (rc) {
        fprintf(stderr, "bench_report: %s\n", why);
        return 1;
    }
    char html[4096], empty[4096];
    snprintf(html, sizeof(html), "%s/report.html", dir);
    snprintf(empty, sizeof(empty), "%s/empty.html", dir);
    FILE *f = fopen(html, "w"), *e = fopen(empty, "w");
    if (!f || !e || fwrite(b.data, 1, b.len, f) != b.len)
        return 1;
    fputs("<!DOCTYPE html><html><body>empty</body></html>\n", e);
    fclose(f);
    fclose(e);
    printf("report: %.2f MB (bound 5 MB), built in %.2f s (reading the files included); %llu ok "
           "points kept by sampling, %llu points drawn after pixel merging, %zu fault bands\n",
           (double)b.len / 1e6, build_s, (unsigned long long)info.ok_drawn,
           (unsigned long long)info.points_drawn, info.bands);
    fl_buf_free(&b);
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        printf("chromium: not installed, open time not measured\n");
        return 0;
    }
    double base = chromium(empty, "/tmp/bench_report_empty.png");
    double full = chromium(html, "/tmp/bench_report.png");
    printf("chromium headless to a screenshot: empty page %.2f s, the report %.2f s (%.2f s more "
           "than the browser's own start; bound 2 s)\n",
           base, full, full - base);
    return 0;
}
