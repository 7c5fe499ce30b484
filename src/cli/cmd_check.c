/* cmd_check.c: `faultline check FILE`: is a history linearizable, sequentially consistent?
 *
 * Reads JSON lines, Jepsen EDN or old Jepsen logs (guessed from the content), infers the model
 * from the ops unless --model says, and checks one consistency model or both. By default the
 * check stops at the first key proven violating; --all-keys decides every key. The memory
 * bound defaults to what the machine can spare without swapping, less what the history holds.
 *
 * Exit status (cli.h): 0 holds, 1 violated, 2 unknown (timeout or memory limit), 64 usage
 * error, 65 bad input (file, line and reason on stderr), 66 file not readable, 73 HTML not
 * writable (found before the check starts). With --consistency both: 1 if either model is
 * violated, else 2 if either is unknown, else 0. */
#include "check_out.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"

#include "faultline/duration.h"
#include "faultline/error.h"
#include "faultline/json_read.h"
#include "faultline/lincheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HTML_OPS_MAX 160        /* ops of the failing key drawn around the failing point */
#define MEMORY_MIN   (16 << 20) /* the default bound never goes below this */

enum { FORMAT_AUTO, FORMAT_JSONL, FORMAT_EDN, FORMAT_JLOG };

typedef struct check_args {
    const char *file;
    const char *html;
    const char *initial; /* as written; parsed once the history is loaded */
    bool json;
    bool independent; /* EDN :value [key value] tuples */
    bool model_given;
    bool both;      /* --consistency both */
    bool pipelined; /* processes may have several ops pending (history.h) */
    int format;
    fl_lincheck_opts opts;
} check_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: faultline check FILE|- [options]\n\n"
            "Decides whether a history (JSON lines, Jepsen EDN or an old Jepsen log) is\n"
            "linearizable or sequentially consistent.\n\n"
            "  --model M          register, cas-register or kv (default: inferred from the ops)\n"
            "  --consistency C    linearizable (default), sequential (each process's order\n"
            "                     kept, real time between processes dropped) or both\n"
            "  --initial VALUE    every key's value before the first op, EDN or JSON: nil\n"
            "                     (default), 0, '\"\"' (append tests read a missing key as \"\")\n"
            "  --all-keys         decide every key (default: stop at the first key proven\n"
            "                     violating, trying the keys with fewest ops open at once first)\n"
            "  --pipelined        a process is a connection with several ops pending at once\n"
            "                     (answered in order, taking effect in order: program order)\n"
            "  --format F         jsonl, edn or jepsen-log (default: guessed from the content)\n"
            "  --html OUT.html    write a self-contained page showing the result\n"
            "  --json             print the result as JSON instead of text\n"
            "  --independent      EDN of Jepsen's independent keys: :value [key value]\n"
            "  --timeout T        give up with verdict unknown after this long (5s, 500ms, 2m)\n"
            "  --memory-max BYTES bound on the search memory (suffix K, M or G; default: what\n"
            "                     the machine has available, less the history), then unknown\n"
            "  --threads N        threads checking keys in parallel (default: all cores)\n");
    fl_cli_exit_help(f, "holds", "violated", "unknown (--timeout or --memory-max reached)");
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

static int parse_format(const char *val)
{
    static const char *const names[] = {"jsonl", "edn", "jepsen-log"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(val, names[i]))
            return FORMAT_JSONL + i;
    return -1;
}

/* --initial: nil / null, an integer, or a string in EDN or JSON quotes. */
static int parse_initial(const char *text, fl_history *h, fl_value *out)
{
    if (!strcmp(text, "nil") || !strcmp(text, "null")) {
        *out = fl_value_nil();
        return 0;
    }
    int64_t i;
    fl_jr_node nodes[2];
    fl_jr_doc d;
    if (fl_jr_parse(&d, text, strlen(text), nodes, 2))
        return FL_EINVAL;
    if (nodes[0].type == FL_JR_NUMBER && !fl_jr_int(&d, 0, &i)) {
        *out = fl_value_int(i);
        return 0;
    }
    if (nodes[0].type != FL_JR_STRING)
        return FL_EINVAL;
    size_t cap = nodes[0].len + 1, len;
    char *s = malloc(cap);
    int rc = s ? fl_jr_str(&d, 0, s, cap, &len) : FL_ENOMEM;
    if (!rc)
        rc = fl_value_str(h, s, len, out);
    free(s);
    return rc;
}

/* --initial's syntax, checked while the options are parsed (before the history is read). */
static bool initial_valid(const char *text)
{
    fl_history h;
    fl_history_init(&h);
    fl_value v;
    bool ok = parse_initial(text, &h, &v) == 0;
    fl_history_free(&h);
    return ok;
}

/* Returns 0, FL_ENOTFOUND (no such option) or FL_EINVAL with *hint: what a value looks like
 * (val NULL: the value is missing). */
static int parse_option(check_args *a, const char *opt, const char *val, const char **hint)
{
    static const char *const known[] = {"--model",   "--consistency", "--format",     "--html",
                                        "--initial", "--timeout",     "--memory-max", "--threads"};
    bool found = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        found |= !strcmp(opt, known[i]);
    if (!found || !val)
        return found ? FL_EINVAL : FL_ENOTFOUND;
    uint64_t n;
    if (!strcmp(opt, "--model"))
        return *hint = "register, cas-register or kv", a->model_given = true,
               fl_model_parse(val, &a->opts.model) ? 0 : FL_EINVAL;
    if (!strcmp(opt, "--consistency")) {
        *hint = "linearizable, sequential or both";
        a->both = !strcmp(val, "both");
        return a->both || fl_consistency_parse(val, &a->opts.consistency) ? 0 : FL_EINVAL;
    }
    if (!strcmp(opt, "--format"))
        return *hint = "jsonl, edn or jepsen-log",
               (a->format = parse_format(val)) < 0 ? FL_EINVAL : 0;
    if (!strcmp(opt, "--html"))
        return a->html = val, 0;
    if (!strcmp(opt, "--initial")) {
        *hint = "nil, an integer or a quoted string (EDN or JSON: '\"\"', '\"ab\"')";
        return a->initial = val, initial_valid(val) ? 0 : FL_EINVAL;
    }
    if (!strcmp(opt, "--timeout")) {
        *hint = "a duration above 0: 500ms, 5s, 2m (a number alone is seconds)";
        return fl_parse_duration(val, &a->opts.timeout_ns) || !a->opts.timeout_ns ? FL_EINVAL : 0;
    }
    if (!strcmp(opt, "--memory-max"))
        return *hint = "a size in bytes, with K, M or G: 512M",
               parse_bytes(val, &a->opts.memory_max_bytes) ? FL_EINVAL : 0;
    if (!strcmp(opt, "--threads")) {
        *hint = "an integer from 1 to 256";
        if (fl_parse_u64(val, 1, 256, &n))
            return FL_EINVAL;
        a->opts.threads = (unsigned)n;
        return 0;
    }
    return FL_ENOTFOUND; /* not reached: known[] lists every option above */
}

static bool parse_flag(check_args *a, const char *s)
{
    bool *flag = !strcmp(s, "--json")          ? &a->json
                 : !strcmp(s, "--independent") ? &a->independent
                 : !strcmp(s, "--all-keys")    ? &a->opts.all_keys
                 : !strcmp(s, "--pipelined")   ? &a->pipelined
                                               : NULL;
    if (flag)
        *flag = true;
    return flag != NULL;
}

/* One argument (and its value); returns 0, or an exit status with *done set. */
static int parse_one(int argc, char **argv, int *i, check_args *a, bool *done)
{
    const char *s = argv[*i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
        usage(stdout);
        *done = true;
        return 0;
    }
    if (parse_flag(a, s))
        return 0;
    if (s[0] == '-' && s[1] == '-') {
        const char *hint = "";
        int rc = parse_option(a, s, *i + 1 < argc ? argv[*i + 1] : NULL, &hint);
        if (rc == FL_ENOTFOUND)
            rc = fl_cli_unknown("check", s);
        else if (rc && *i + 1 >= argc)
            rc = fl_cli_no_value("check", s);
        else if (rc)
            rc = fl_cli_bad("check", s, argv[*i + 1], "expected %s", hint);
        else if (!strcmp(s, "--html")) /* written at the end: found unwritable now */
            rc = fl_cli_out_file("check", s, a->html);
        (*i)++;
        return rc ? (*done = true, rc) : 0;
    }
    if (s[0] == '-' && s[1])
        return *done = true, fl_cli_unknown("check", s);
    if (a->file)
        return *done = true,
               fl_cli_error("check", FL_EXIT_USAGE, "one FILE only ('%s' and '%s')", a->file, s);
    a->file = s;
    return 0;
}

/* Returns 0, or an exit status (64, or 0 after --help) with *done set. */
static int parse_args(int argc, char **argv, check_args *a, bool *done)
{
    memset(a, 0, sizeof(*a));
    fl_lincheck_opts_init(&a->opts);
    *done = false;
    for (int i = 1; i < argc && !*done; i++) {
        int status = parse_one(argc, argv, &i, a, done);
        if (*done)
            return status;
    }
    if (!a->file)
        return *done = true, fl_cli_error("check", FL_EXIT_USAGE,
                                          "FILE is required: the history to check (- reads "
                                          "standard input)");
    int rc = fl_cli_in_file("check", NULL, a->file);
    return rc ? (*done = true, rc) : 0;
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

static int parse_text(const check_args *a, fl_history *h, const char *s, size_t len,
                      fl_history_error *err)
{
    int format = a->format;
    if (format == FORMAT_AUTO)
        format = fl_history_looks_like_edn(s, len)          ? FORMAT_EDN
                 : fl_history_looks_like_jepsen_log(s, len) ? FORMAT_JLOG
                                                            : FORMAT_JSONL;
    if (format == FORMAT_EDN)
        return fl_history_read_edn_independent(h, s, len, a->independent, err);
    if (format == FORMAT_JLOG)
        return fl_history_read_jepsen_log(h, s, len, err);
    return fl_history_read_jsonl(h, s, len, err);
}

static int load(const check_args *a, fl_history *h)
{
    fl_buf text;
    fl_buf_init(&text);
    if (read_file(a->file, &text)) {
        fprintf(stderr, "faultline check: cannot read %s: %s\n", a->file, strerror(errno));
        fl_buf_free(&text);
        return FL_EXIT_IOERR; /* it was there (fl_cli_in_file): reading it failed midway */
    }
    fl_history_error err = {0};
    int rc = parse_text(a, h, text.data ? (const char *)text.data : "", text.len, &err);
    fl_buf_free(&text);
    if (rc == FL_ESYNTAX)
        fprintf(stderr, "%s:%u: %s\n", a->file, err.line, err.msg);
    else if (rc)
        fprintf(stderr, "faultline check: %s: %s\n", a->file, fl_strerror(rc));
    return rc ? FL_EXIT_DATAERR : 0;
}

/* Bytes the history holds, and will hold once paired into ops. */
static uint64_t history_bytes(const fl_history *h)
{
    return (uint64_t)h->cap * sizeof(fl_event) + h->bytes.cap +
           (uint64_t)h->str_cap * 2 * sizeof(uint32_t) + (uint64_t)h->str_index_cap * 4 +
           (uint64_t)h->count / 2 * sizeof(fl_op);
}

/* The default bound: three quarters of what the machine has available now (MemAvailable: free
 * memory plus caches it can drop; half the physical memory where that is unknown), less the
 * history itself, so that "unknown" comes before the machine swaps or kills us. */
static uint64_t default_memory(const fl_history *h)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t total = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 4ull << 30;
    uint64_t avail = total / 2;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kb;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            avail = (uint64_t)kb * 1024;
    if (f)
        fclose(f);
    uint64_t budget = avail / 4 * 3, held = history_bytes(h);
    budget = budget > held ? budget - held : 0;
    return budget > MEMORY_MIN ? budget : MEMORY_MIN;
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

static void print_json(const check_args *a, const fl_history *h, const fl_lincheck_result *r)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_lincheck_json(h, r, a->opts.model, &b);
    fwrite(b.data, 1, b.len, stdout);
    fl_buf_free(&b);
}

static void report(const check_args *a, const check_show *show, const fl_history *h,
                   const fl_lincheck_result *r, bool implied)
{
    if (a->json) {
        fl_lincheck_result copy = *r;
        copy.consistency = implied ? FL_CONS_SEQUENTIAL : r->consistency;
        print_json(a, h, &copy);
    } else if (implied) {
        check_print_implied(stdout, show, h, r);
    } else {
        check_print_result(stdout, show, h, r);
    }
}

/* Runs one consistency model; returns its exit status and keeps the result in *r. */
static int run_model(const check_args *a, const check_show *show, const fl_history *h,
                     fl_consistency c, fl_lincheck_result *r)
{
    fl_lincheck_opts o = a->opts;
    o.consistency = c;
    fl_history_error err = {0};
    int rc = fl_lincheck_run(h, &o, r, &err);
    if (rc == FL_ESYNTAX) {
        fprintf(stderr, "%s:%u: %s\n", a->file, err.line, err.msg);
        return FL_EXIT_DATAERR;
    }
    if (rc == FL_EINVAL) {
        fprintf(stderr, "faultline check: --initial: %s\n", err.msg);
        return FL_EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, "faultline check: %s\n", fl_strerror(rc));
        return FL_LIN_UNKNOWN;
    }
    report(a, show, h, r, false);
    return (int)r->verdict;
}

/* Checks the models asked for, prints, writes the HTML; returns the exit status. */
static int check(const check_args *a, const fl_history *h)
{
    check_show show = {.file = a->file, .model = a->opts.model, .inferred = !a->model_given};
    if (!a->json)
        check_print_model(stdout, &show);
    fl_lincheck_result r[2];
    memset(r, 0, sizeof(r));
    fl_consistency first = a->both ? FL_CONS_LINEARIZABLE : a->opts.consistency;
    int status = run_model(a, &show, h, first, &r[0]), shown = 0;
    /* linearizable implies sequentially consistent; with program order checked key by key
     * (pipelined) only for a single key: sequential consistency then needs its own search */
    if (a->both && status == FL_LIN_OK && (!h->pipelined || r[0].part_count <= 1))
        report(a, &show, h, &r[0], true);
    else if (a->both && status <= FL_LIN_UNKNOWN) {
        int second = run_model(a, &show, h, FL_CONS_SEQUENTIAL, &r[1]);
        status = status == FL_LIN_VIOLATION || second == FL_LIN_VIOLATION ? FL_LIN_VIOLATION
                 : second > FL_LIN_UNKNOWN                                ? second
                                                                          : status;
        shown = !r[0].has_cex && r[1].has_cex;
    }
    if (a->html && status <= FL_LIN_UNKNOWN && write_html(a, h, &r[shown]))
        status = FL_EXIT_IOERR; /* it could be created (checked first): writing it failed */
    fl_lincheck_result_free(&r[0]);
    fl_lincheck_result_free(&r[1]);
    return status;
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
    h.pipelined = a.pipelined;
    if (!a.model_given)
        a.opts.model = fl_model_infer(&h);
    if (a.initial && parse_initial(a.initial, &h, &a.opts.initial)) { /* valid: parse_option */
        fl_history_free(&h);
        return fl_cli_error("check", FL_EXIT_OSERR, "out of memory");
    }
    if (!a.opts.memory_max_bytes)
        a.opts.memory_max_bytes = default_memory(&h);
    status = check(&a, &h);
    fl_history_free(&h);
    return status;
}
