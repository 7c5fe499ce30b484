/* cmd_check.c: `faultline check FILE`: is a history linearizable?
 *
 * Exit status: 0 linearizable, 1 not linearizable, 2 unknown (timeout or memory limit),
 * 64 usage error, 65 bad input (file, line and reason on stderr), 66 file not readable. */
#include "cli/cli.h"

#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/lincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE_64   64
#define EXIT_DATAERR_65 65
#define EXIT_NOINPUT_66 66
#define HTML_OPS_MAX    160 /* ops of the failing key drawn around the failing point */

typedef struct check_args {
    const char *file;
    const char *html;
    bool json;
    bool independent; /* EDN :value [key value] tuples */
    int format;       /* 0 auto, 1 jsonl, 2 edn */
    fl_lincheck_opts opts;
} check_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline check FILE [options]\n\n"
               "Decides whether a history (JSON lines or Jepsen EDN) is linearizable.\n\n"
               "  --model M          register (default), cas-register or kv\n"
               "  --format F         jsonl or edn (default: guessed from the content)\n"
               "  --html OUT.html    write a self-contained page showing the result\n"
               "  --json             print the result as JSON instead of text\n"
               "  --independent      EDN of Jepsen's independent keys: :value [key value]\n"
               "  --timeout SECONDS  give up with verdict unknown after this long\n"
               "  --memory-max BYTES bound on the search memory (suffix K, M or G; default: half\n"
               "                     the physical memory), then unknown\n"
               "  --threads N        threads checking keys in parallel (default: all cores)\n\n"
               "exit status: 0 linearizable, 1 not linearizable, 2 unknown, 64 usage,\n"
               "             65 bad input, 66 unreadable file\n");
}

static int parse_bytes(const char *s, uint64_t *out)
{
    char num[32];
    size_t n = strlen(s);
    if (!n || n >= sizeof(num))
        return FL_ESYNTAX;
    uint64_t mul = 1;
    char last = s[n - 1];
    if (last == 'K' || last == 'k' || last == 'M' || last == 'm' || last == 'G' || last == 'g') {
        mul = last == 'K' || last == 'k'   ? 1ull << 10
              : last == 'M' || last == 'm' ? 1ull << 20
                                           : 1ull << 30;
        n--;
    }
    memcpy(num, s, n);
    num[n] = 0;
    uint64_t v;
    int rc = fl_parse_u64(num, 1, UINT64_MAX / mul, &v);
    *out = v * mul;
    return rc;
}

static int parse_option(check_args *a, const char *opt, const char *val)
{
    double secs;
    uint64_t n;
    if (!strcmp(opt, "--model"))
        return fl_model_parse(val, &a->opts.model) ? 0 : FL_EINVAL;
    if (!strcmp(opt, "--format")) {
        a->format = !strcmp(val, "jsonl") ? 1 : !strcmp(val, "edn") ? 2 : -1;
        return a->format < 0 ? FL_EINVAL : 0;
    }
    if (!strcmp(opt, "--html"))
        return a->html = val, 0;
    if (!strcmp(opt, "--timeout")) {
        if (fl_parse_double(val, 0.001, 1e7, &secs))
            return FL_EINVAL;
        a->opts.timeout_ns = (fl_time_ns)(secs * 1e9);
        return 0;
    }
    if (!strcmp(opt, "--memory-max"))
        return parse_bytes(val, &a->opts.memory_max_bytes) ? FL_EINVAL : 0;
    if (!strcmp(opt, "--threads")) {
        if (fl_parse_u64(val, 1, 256, &n))
            return FL_EINVAL;
        a->opts.threads = (unsigned)n;
        return 0;
    }
    return FL_ENOTFOUND;
}

/* Returns 0, or an exit status (64, or 0 after --help) with *done set. */
static int parse_args(int argc, char **argv, check_args *a, bool *done)
{
    memset(a, 0, sizeof(*a));
    fl_lincheck_opts_init(&a->opts);
    *done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            *done = true;
            return 0;
        }
        if (!strcmp(s, "--json") || !strcmp(s, "--independent")) {
            *(s[2] == 'j' ? &a->json : &a->independent) = true;
            continue;
        }
        if (s[0] == '-' && s[1] == '-') {
            int rc = i + 1 < argc ? parse_option(a, s, argv[i + 1]) : FL_EINVAL;
            if (rc == FL_ENOTFOUND)
                fprintf(stderr, "faultline check: unknown option '%s'\n", s);
            else if (rc)
                fprintf(stderr, "faultline check: bad or missing value for %s\n", s);
            if (rc)
                return *done = true, EXIT_USAGE_64;
            i++;
            continue;
        }
        if (a->file) {
            fprintf(stderr, "faultline check: one FILE only ('%s' and '%s')\n", a->file, s);
            return *done = true, EXIT_USAGE_64;
        }
        a->file = s;
    }
    if (!a->file) {
        usage(stderr);
        return *done = true, EXIT_USAGE_64;
    }
    if (!a->opts.memory_max_bytes) { /* default: half the machine, so "unknown", not OOM */
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        a->opts.memory_max_bytes =
            pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 2 : 4ull << 30;
    }
    return 0;
}

static int read_file(const char *path, fl_buf *out)
{
    bool std_in = !strcmp(path, "-");
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (!f)
        return FL_EIO;
    if (!std_in && fseek(f, 0, SEEK_END) == 0) { /* one allocation for a regular file */
        long size = ftell(f);
        if (size > 0)
            fl_buf_reserve(out, (size_t)size + 1);
        rewind(f);
    }
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fl_buf_put_bytes(out, chunk, n);
    int rc = ferror(f) ? FL_EIO : out->err;
    if (!std_in)
        fclose(f);
    return rc;
}

static void print_op(const fl_history *h, const fl_lincheck_result *r, uint32_t i)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_lincheck_format_op(h, &r->ops[i], &b);
    printf("    %.*s\n", (int)b.len, (const char *)b.data);
    fl_buf_free(&b);
}

static void print_key(const fl_history *h, uint32_t key)
{
    if (key == FL_KEY_NONE)
        printf("(no key)");
    else
        printf("\"%s\"", fl_history_str(h, key, NULL));
}

static void print_cex(const fl_history *h, const fl_lincheck_result *r)
{
    const fl_lincheck_cex *c = &r->cex;
    uint32_t key_ops = 0;
    for (size_t i = 0; i < r->part_count; i++)
        if (r->parts[i].key == c->key)
            key_ops = r->parts[i].ops;
    printf("key ");
    print_key(h, c->key);
    printf(": the longest linearizable prefix has %zu of its %u ops", c->prefix_len, key_ops);
    size_t from = c->prefix_len > 8 ? c->prefix_len - 8 : 0;
    printf(from ? "; the last %zu:\n" : ":\n", c->prefix_len - from);
    for (size_t i = from; i < c->prefix_len; i++)
        print_op(h, r, c->prefix[i]);
    printf("  model state after it: %s\n", c->state);
    if (c->blocked != UINT32_MAX) {
        printf("  this op completed, but cannot take effect in any order from there:\n");
        print_op(h, r, c->blocked);
    }
    printf("  ops that could take effect next (%zu), each refused by the model or leading to "
           "a dead end:\n",
           c->tried_len);
    for (size_t i = 0; i < c->tried_len; i++)
        print_op(h, r, c->tried[i]);
}

static void print_violating(const fl_history *h, const fl_lincheck_result *r)
{
    size_t bad = 0;
    for (size_t i = 0; i < r->part_count; i++)
        bad += r->parts[i].verdict == FL_LIN_VIOLATION;
    if (bad < 2)
        return;
    printf("%zu keys are not linearizable:", bad);
    for (size_t i = 0, shown = 0; i < r->part_count && shown < 20; i++) {
        if (r->parts[i].verdict != FL_LIN_VIOLATION)
            continue;
        putchar(' ');
        print_key(h, r->parts[i].key);
        shown++;
    }
    printf(bad > 20 ? " ...; the first:\n" : "; the first:\n");
}

static void print_undecided(const fl_history *h, const fl_lincheck_result *r, size_t undecided)
{
    printf("%zu key%s undecided:\n", undecided, undecided == 1 ? "" : "s");
    for (size_t i = 0, shown = 0; i < r->part_count && shown < 10; i++) {
        const fl_lincheck_part *p = &r->parts[i];
        if (p->verdict != FL_LIN_UNKNOWN)
            continue;
        shown++;
        printf("  key ");
        print_key(h, p->key);
        printf(": %s; a linearizable prefix of %u of its %u ops was found\n",
               p->unknown == 2 ? "memory limit reached" : "timeout", p->prefix, p->ops);
    }
}

static void print_result(const check_args *a, const fl_history *h, const fl_lincheck_result *r)
{
    const fl_lincheck_stats *s = &r->stats;
    size_t undecided = 0;
    for (size_t i = 0; i < r->part_count; i++)
        undecided += r->parts[i].verdict == FL_LIN_UNKNOWN;
    printf("%s: %zu ops, %zu key%s, model %s: %s\n", a->file, r->op_count, r->part_count,
           r->part_count == 1 ? "" : "s", fl_model_name(a->opts.model),
           r->verdict == FL_LIN_OK          ? "LINEARIZABLE"
           : r->verdict == FL_LIN_VIOLATION ? "NOT LINEARIZABLE"
                                            : "UNKNOWN");
    if (r->has_cex) {
        print_violating(h, r);
        print_cex(h, r);
    }
    if (undecided)
        print_undecided(h, r, undecided);
    double secs = (double)s->elapsed_ns / 1e9;
    printf("checked %llu ops in %.3f s (%.0f ops/s), %llu states, memo peak %.1f MiB, %u "
           "threads\n",
           (unsigned long long)s->ops, secs, secs > 0 ? (double)s->ops / secs : 0.0,
           (unsigned long long)s->states, (double)s->memo_bytes / (1 << 20), s->threads);
}

static int write_html(const check_args *a, const fl_history *h, const fl_lincheck_result *r)
{
    fl_buf b;
    fl_buf_init(&b);
    int rc = fl_lincheck_html(h, r, a->opts.model, a->file, HTML_OPS_MAX, &b);
    FILE *f = rc ? NULL : fopen(a->html, "wb");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok) {
        fl_buf_free(&b);
        return 0;
    }
    fprintf(stderr, "faultline check: cannot write %s: %s\n", a->html,
            rc ? fl_strerror(rc) : strerror(errno));
    fl_buf_free(&b);
    return FL_EIO;
}

static int load(const check_args *a, fl_history *h)
{
    fl_buf text;
    fl_buf_init(&text);
    if (read_file(a->file, &text)) {
        fprintf(stderr, "faultline check: cannot read %s: %s\n", a->file, strerror(errno));
        fl_buf_free(&text);
        return EXIT_NOINPUT_66;
    }
    const char *s = text.data ? (const char *)text.data : "";
    bool edn = a->format == 2 || (a->format == 0 && fl_history_looks_like_edn(s, text.len));
    fl_history_error err = {0};
    int rc = edn ? fl_history_read_edn_independent(h, s, text.len, a->independent, &err)
                 : fl_history_read_jsonl(h, s, text.len, &err);
    fl_buf_free(&text);
    if (rc == FL_ESYNTAX)
        fprintf(stderr, "%s:%u: %s\n", a->file, err.line, err.msg);
    else if (rc)
        fprintf(stderr, "faultline check: %s: %s\n", a->file, fl_strerror(rc));
    return rc ? EXIT_DATAERR_65 : 0;
}

int fl_cmd_check(int argc, char **argv)
{
    check_args a;
    bool done;
    int status = parse_args(argc, argv, &a, &done);
    if (done)
        return status;
    fl_history h;
    fl_history_init(&h);
    if ((status = load(&a, &h))) {
        fl_history_free(&h);
        return status;
    }
    fl_lincheck_result r;
    fl_history_error err = {0};
    int rc = fl_lincheck_run(&h, &a.opts, &r, &err);
    if (rc == FL_ESYNTAX) {
        fprintf(stderr, "%s:%u: %s\n", a.file, err.line, err.msg);
        status = EXIT_DATAERR_65;
    } else if (rc) {
        fprintf(stderr, "faultline check: %s\n", fl_strerror(rc));
        status = FL_LIN_UNKNOWN;
    } else {
        status = (int)r.verdict;
        if (a.json) {
            fl_buf b;
            fl_buf_init(&b);
            fl_lincheck_json(&h, &r, a.opts.model, &b);
            fwrite(b.data, 1, b.len, stdout);
            fl_buf_free(&b);
        } else {
            print_result(&a, &h, &r);
        }
        if (a.html && write_html(&a, &h, &r))
            status = EXIT_NOINPUT_66 + 7; /* 73: EX_CANTCREAT */
    }
    fl_lincheck_result_free(&r);
    fl_history_free(&h);
    return status;
}
