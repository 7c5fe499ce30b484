/* test_report.c: the HTML report (report.h) of real simulated runs, end to end through the
 * faultline binary: every <svg> parses as XML (a small well-formedness checker below, itself
 * shown to reject broken markup), the latency chart shades one band per fault interval of
 * results.json, the charts have their axes, `faultline report DIR` rebuilds the same bytes, a
 * failed run shows what failed, campaigns and SWIM scenarios get theirs, a hand-written run
 * directory (as a real harness would write) is enough, and where chromium is installed the
 * demo's report renders with no console error and is not blank. */
#include "test.h"

#include "cli.h"
#include "faultline/json_read.h"

#include <ctype.h>
#include <stdlib.h>
#include <sys/wait.h>

#define OUT  FL_TEST_TMP "/fl_test_report.out"
#define DIR  FL_TEST_TMP "/fl_test_report.dir"
#define HAND FL_TEST_TMP "/fl_test_report.hand"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s)
        s[n] = 0;
    if (len)
        *len = (size_t)n;
    return s;
}

/* ---- a small XML well-formedness checker: elements nest and match, attributes are quoted,
 * '<' and '&' appear only as markup or entities ------------------------------------------- */

typedef struct xml {
    const char *s, *end;
    int depth;
} xml;

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == ':' || c == '.';
}

static bool entity(xml *x)
{
    const char *e = x->s + 1;
    static const char *named[] = {"lt;", "gt;", "amp;", "quot;", "apos;"};
    for (size_t i = 0; i < 5; i++)
        if (!strncmp(e, named[i], strlen(named[i]))) {
            x->s = e + strlen(named[i]);
            return true;
        }
    if (*e++ != '#')
        return false;
    bool hex = *e == 'x';
    e += hex;
    const char *digits = e;
    while (hex ? isxdigit((unsigned char)*e) : isdigit((unsigned char)*e))
        e++;
    if (e == digits || *e != ';')
        return false;
    x->s = e + 1;
    return true;
}

static bool text_until(xml *x, char stop)
{
    while (x->s < x->end && *x->s != stop) {
        if (*x->s == '<' && stop != '<')
            return false;
        if (*x->s != '&')
            x->s++;
        else if (!entity(x))
            return false;
    }
    return x->s < x->end;
}

static bool element(xml *x);

static bool content(xml *x, const char *name, size_t len)
{
    for (;;) {
        if (!text_until(x, '<'))
            return false;
        if (!strncmp(x->s, "<!--", 4)) {
            const char *c = strstr(x->s, "-->");
            if (!c)
                return false;
            x->s = c + 3;
        } else if (x->s[1] == '/') {
            x->s += 2;
            if (strncmp(x->s, name, len) || name_char(x->s[len]))
                return false; /* mismatched end tag */
            x->s += len;
            while (isspace((unsigned char)*x->s))
                x->s++;
            return *x->s++ == '>';
        } else if (!element(x)) {
            return false;
        }
    }
}

static bool element(xml *x)
{
    if (*x->s++ != '<' || x->depth++ > 200)
        return false;
    const char *name = x->s;
    while (name_char(*x->s))
        x->s++;
    size_t len = (size_t)(x->s - name);
    if (!len)
        return false;
    for (;;) {
        while (isspace((unsigned char)*x->s))
            x->s++;
        if (*x->s == '/' && x->s[1] == '>') {
            x->s += 2;
            x->depth--;
            return true;
        }
        if (*x->s == '>') {
            x->s++;
            bool ok = content(x, name, len);
            x->depth--;
            return ok;
        }
        const char *attr = x->s;
        while (name_char(*x->s))
            x->s++;
        if (x->s == attr || *x->s++ != '=')
            return false;
        char q = *x->s++;
        if ((q != '"' && q != '\'') || !text_until(x, q))
            return false;
        x->s++;
    }
}

static bool xml_ok(const char *s, size_t n)
{
    xml x = {s, s + n, 0};
    return element(&x) && x.s == x.end;
}

/* Every <svg>...</svg> of the page parses; returns how many, -1 at the first that does not. */
static int svgs_ok(const char *page)
{
    int n = 0;
    for (const char *p = strstr(page, "<svg"); p; p = strstr(p + 1, "<svg")) {
        const char *e = strstr(p, "</svg>");
        if (!e || !xml_ok(p, (size_t)(e + 6 - p)))
            return -1;
        n++;
    }
    return n;
}

/* The SVG element with this id, as a NUL-terminated copy (caller frees), or NULL. */
static char *svg_by_id(const char *page, const char *id)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "id=\"%s\"", id);
    const char *at = strstr(page, needle);
    if (!at)
        return NULL;
    const char *e = strstr(at, "</svg>");
    if (!e)
        return NULL;
    return strndup(at, (size_t)(e - at));
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Intervals in results.json's top-level "faults" array. */
static int faults_in_results(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/results.json", dir);
    size_t len;
    char *text = slurp(path, &len);
    if (!text)
        return -1;
    fl_jr_node *nodes = malloc((len + 1) * sizeof(*nodes));
    fl_jr_doc d;
    int n = -1;
    if (nodes && fl_jr_parse(&d, text, len, nodes, (uint32_t)len + 1) == 0) {
        uint32_t f = fl_jr_get(&d, 0, "faults");
        n = f == FL_JR_NONE ? -1 : (int)d.nodes[f].count;
    }
    free(nodes);
    free(text);
    return n;
}

TEST(report_xml_checker_rejects_broken_markup)
{
    const char *good = "<svg a=\"1\"><g><text x='2'>a &lt; b &#955;</text><path d=\"M0 0\"/>"
                       "<!-- c --></g></svg>";
    CHECK(xml_ok(good, strlen(good)));
    const char *bad[] = {"<svg><g></svg>",
                         "<svg a=1></svg>",
                         "<svg><text>a < b</text></svg>",
                         "<svg><text>a & b</text></svg>",
                         "<svg></g>",
                         "<svg x=\"1\">"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!xml_ok(bad[i], strlen(bad[i])));
}

TEST(report_of_a_run_parses_shades_every_fault_and_has_axes)
{
    system("rm -rf " DIR);
    CHECK_EQ(fl_test_faultline_run("sim --nodes 3 --seed 7 --duration 6s --nemesis mix "
                                   "--nemesis-interval 700ms --out " DIR,
                                   OUT),
             0);
    CHECK(fl_test_file_has(OUT, DIR "/report.html"));
    char *page = slurp(DIR "/report.html", NULL);
    CHECK(page != NULL);
    CHECK(svgs_ok(page) >= 4);
    int faults = faults_in_results(DIR);
    CHECK(faults >= 3);
    char *lat = svg_by_id(page, "latency-chart");
    CHECK(lat != NULL);
    CHECK_EQ(count(lat, "class=\"band\""), faults);
    CHECK(strstr(lat, ">time (s)<") && strstr(lat, ">latency<") && strstr(lat, "class=\"axis\""));
    CHECK(strstr(lat, "longest write gap"));
    free(lat);
    char *rate = svg_by_id(page, "rate-chart");
    CHECK(rate && strstr(rate, ">operations/s<") && strstr(rate, ">time (s)<"));
    CHECK_EQ(count(rate, "class=\"band\""), faults);
    free(rate);
    char *lanes = svg_by_id(page, "lanes-chart");
    CHECK(lanes && strstr(lanes, ">n1<") && strstr(lanes, ">n3<") && strstr(lanes, "leader, term"));
    free(lanes);
    char *pct = svg_by_id(page, "pct-chart");
    CHECK(pct && strstr(pct, ">p99.99<"));
    free(pct);
    CHECK(strstr(page, "Reproduce this run") && strstr(page, "faultline sim --seed 7"));
    CHECK(!strstr(page, "id=\"failure\""));
    CHECK(!strstr(page, "http://") || !strstr(strstr(page, "http://"), "src=\"http"));
    free(page);
}

TEST(report_rebuilds_the_same_bytes)
{
    /* uses the directory of the test above, or makes it */
    if (!fl_test_file_has(DIR "/results.json", "\"seed\""))
        fl_test_faultline_run("sim --nodes 3 --seed 7 --duration 6s --nemesis mix "
                              "--nemesis-interval 700ms --out " DIR,
                              OUT);
    CHECK_EQ(fl_test_faultline_run("report " DIR " --out " DIR "/again.html", OUT), 0);
    size_t a, b;
    char *x = slurp(DIR "/report.html", &a), *y = slurp(DIR "/again.html", &b);
    CHECK(x && y && a == b && memcmp(x, y, a) == 0);
    free(x);
    free(y);
    CHECK_EQ(fl_test_faultline_run("report /tmp/fl_test_report.nowhere", OUT), 66);
    CHECK(fl_test_file_has(OUT, "fl_test_report.nowhere: cannot read: No such file or directory"));
    CHECK_EQ(fl_test_faultline_run("report", OUT), 64);
    CHECK_EQ(fl_test_faultline_run("report " DIR " --out /nonexistent/r.html", OUT), 73);
}

TEST(report_of_an_invariant_violation_shows_it)
{
    system("rm -rf " DIR "-bad");
    CHECK_EQ(fl_test_faultline_run("sim --seed 2 --nemesis pause --nemesis-interval 1s "
                                   "--duration 8s --mutant no-step-down --out " DIR "-bad",
                                   OUT),
             1);
    char *page = slurp(DIR "-bad/report.html", NULL);
    CHECK(page != NULL);
    CHECK(svgs_ok(page) > 0);
    CHECK(strstr(page, "VIOLATION: safety") && strstr(page, "id=\"failure\""));
    CHECK(strstr(page, "Invariant violated") && strstr(page, "invariant violated</text>"));
    CHECK(strstr(page, "--mutant no-step-down"));
    free(page);
}

/* What a real harness would write: results.json with a few keys and a history; no timeline. */
TEST(report_of_a_hand_written_directory_with_a_counterexample)
{
    system("rm -rf " HAND " && mkdir -p " HAND " && cp tests/data/stale_read.jsonl " HAND
           "/history.jsonl");
    FILE *f = fopen(HAND "/results.json", "w");
    CHECK(f != NULL);
    fputs("{\"seed\": 1, \"config\": {\"protocol\": \"raft\", \"workload\": \"register\", "
          "\"nodes\": 3}, \"verdict\": {\"violation\": true, \"summary\": \"not linearizable\", "
          "\"linearizability\": \"not linearizable\"}, \"faults\": [{\"kind\": \"kill\", "
          "\"targets\": \"n2 <script>\", \"start_ns\": 5, \"end_ns\": 25}]}\n",
          f);
    fclose(f);
    CHECK_EQ(fl_test_faultline_run("report " HAND, OUT), 0);
    char *page = slurp(HAND "/report.html", NULL);
    CHECK(page != NULL);
    CHECK(svgs_ok(page) >= 2);
    CHECK(strstr(page, "<iframe") && strstr(page, "srcdoc="));
    CHECK(strstr(page, "no timeline.jsonl"));
    CHECK(!strstr(page, "n2 <script>") && strstr(page, "n2 &lt;script&gt;"));
    char *lat = svg_by_id(page, "latency-chart");
    CHECK(lat && count(lat, "class=\"band\"") == 1);
    free(lat);
    free(page);
    /* malformed input: a clear error, no crash */
    f = fopen(HAND "/results.json", "w");
    fputs("{\"seed\": 1, \"verdict\": ", f);
    fclose(f);
    CHECK_EQ(fl_test_faultline_run("report " HAND, OUT), 65); /* bad input data */
    CHECK(fl_test_file_has(OUT, "results.json: byte"));
}

TEST(report_of_a_campaign_has_histograms_and_violations)
{
    system("rm -rf " DIR "-camp");
    CHECK_EQ(fl_test_faultline_run("sim --seeds 1..6 --nemesis pause --nemesis-interval 1s "
                                   "--duration 4s --mutant no-step-down --jobs 2 --fixed --out " DIR
                                   "-camp",
                                   OUT),
             1);
    char *page = slurp(DIR "-camp/report.html", NULL);
    CHECK(page != NULL);
    CHECK(svgs_ok(page) >= 4);
    CHECK(strstr(page, ">Throughput<") && strstr(page, ">Messages per ok op<"));
    CHECK(strstr(page, "6 runs,") && strstr(page, "<pre>faultline sim --seed "));
    free(page);
}

TEST(report_of_swim_scenarios)
{
    system("rm -rf " DIR "-swim");
    CHECK_EQ(fl_test_faultline_run("sim --protocol swim --scenario crash --nodes 30 --crashes 3 "
                                   "--out " DIR "-swim",
                                   OUT),
             0);
    char *page = slurp(DIR "-swim/report.html", NULL);
    CHECK(page && svgs_ok(page) >= 2);
    CHECK(strstr(page, "id=\"detect-chart\"") && strstr(page, "id=\"views-chart\""));
    free(page);
    CHECK_EQ(fl_test_faultline_run("sim --protocol swim --scenario broadcast --nodes 30 --loss 0.1 "
                                   "--out " DIR "-swim",
                                   OUT),
             0);
    page = slurp(DIR "-swim/report.html", NULL);
    CHECK(page && svgs_ok(page) >= 1);
    CHECK(strstr(page, "id=\"spread-chart\"") && strstr(page, "logistic model"));
    free(page);
}

TEST(report_of_the_demo_renders_in_chromium)
{
    SKIP_UNLESS(system("command -v chromium >/dev/null 2>&1") == 0,
                "chromium is not installed (CI installs it)");
    CHECK_EQ(fl_test_faultline_run("demo --out " DIR "-demo", OUT), 0);
    CHECK(fl_test_file_has(OUT, "Report: " DIR "-demo/report.html"));
    int st = system("sh tests/scripts/report_browser.sh " DIR "-demo/report.html " DIR
                    "-demo/shot.png >" OUT " 2>&1");
    st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (st != 0)
        system("cat " OUT);
    SKIP_UNLESS(st != 77, "python3 is not installed (CI installs it)");
    CHECK_EQ(st, 0);
}
