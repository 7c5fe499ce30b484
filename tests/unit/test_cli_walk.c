/* test_cli_walk.c: every subcommand walked through the ways a command line goes wrong.
 *
 * Nothing here names a command or an option: the commands come from `faultline --help` (the
 * command table of src/cli/main.c), the sub-modes from each command's usage lines ("faultline
 * gossip members ...", "faultline sim --protocol swim ..."), and the options from each
 * command's own --help, so that a command or an option added later is walked too. For each:
 *
 *   --help                   exit 0, "usage: faultline CMD" on stdout, an exit status paragraph
 *   no arguments             where the usage line has a required part: exit 64 naming it
 *   an unknown option        exit 64, "unknown option" naming it
 *   each option's value      missing: exit 64 naming the option; bad: exit 64 naming the option
 *                            and the value (a path: an unwritable or missing one, exit 66, 69
 *                            or 73 naming the path and the system's reason)
 *   each flag                takes no value: the argument after it is still parsed
 *   each positional path     an unwritable or missing one: exit 66 or 73 naming it
 *
 * and every refusal is one line on stderr, nothing on stdout: a bad value is refused before any
 * work starts (each run has an alarm: one that started a cluster or a long run fails here).
 *
 * How an option is read from a --help (the convention the commands' help texts follow):
 * "--name META" where META starts with a capital letter or lists words with '|' (--read-mode
 * index|lease|log) is an option with a value; "--name" followed by two spaces, the end of the
 * line, ']' or ',' is a flag. Only option lines (starting with "--" or "[--") and the command's
 * own usage lines are read, so prose that mentions an option ("--join addresses are ...") is
 * not taken for one. A META naming a file (DIR, FILE, PATH, .html, .json) gets a path under a
 * regular file; any other gets "@bad@", which no number, duration, name or address is. */
#include "cli.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_MAX      (1 << 16)
#define OPTS_MAX     128
#define CMDS_MAX     64
#define RUN_ALARM_S  20 /* a refusal takes milliseconds; a command that runs takes longer */
#define BAD_VALUE    "@bad@"
#define UNKNOWN_FLAG "--zzz-not-an-option"

/* Options whose value is any text, so no value is bad: only a missing one is walked. */
static const struct {
    const char *cmd, *opt, *why;
} free_text[] = {
    {"bench", "--password", "any bytes are a password"},
    {"server", "--requirepass", "any bytes are a password"},
    {"cluster", "--requirepass", "any bytes are a password"},
    {"nemesis", "--node-cmd", "a command line template"},
    {"nemesis", "--node-args", "words passed to the nodes as they are"},
};

typedef struct run_out {
    int status; /* exit status, or -1 when it did not exit (the alarm) */
    char out[OUT_MAX], err[OUT_MAX];
} run_out;

typedef struct opt {
    char name[64];
    char meta[64]; /* "" for a flag */
} opt;

typedef struct cmd {
    char words[8][32]; /* the command as typed: "gossip", "members" */
    int n_words;
    char name[128]; /* the words joined by spaces */
} cmd;

static char dir[128], bad_path[300], file_path[200];
static int runs, checks;
static bool quiet; /* the walk's own test: refusals that fail on purpose print nothing */

static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof(dir), FL_TEST_TMP "/fl_test_cli_walk.%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(file_path, sizeof(file_path), "%s/file", dir);
    FILE *f = fopen(file_path, "w");
    CHECK(f != NULL);
    fclose(f);
    snprintf(bad_path, sizeof(bad_path), "%s/sub", file_path); /* ENOTDIR, even for root */
}

static void slurp(const char *path, char *buf)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, OUT_MAX - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* Runs faultline with the words of c and then args (NULL-terminated), in the scratch dir. */
static void run(const cmd *c, const char *const *args, run_out *r)
{
    char out_path[320], err_path[320];
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    snprintf(err_path, sizeof(err_path), "%s/err", dir);
    const char *argv[64] = {"faultline"};
    int n = 1;
    for (int i = 0; c && i < c->n_words; i++)
        argv[n++] = c->words[i];
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        if (chdir(dir) != 0)
            _exit(126);
        alarm(RUN_ALARM_S);
        execv(fl_test_faultline(), (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out_path, r->out);
    slurp(err_path, r->err);
    runs++;
}

/* The refusal: one line on stderr, nothing on stdout, an expected status, each needle in it. */
static bool refused(const cmd *c, const char *what, const run_out *r, const int *statuses,
                    const char *const *needles)
{
    checks++;
    size_t len = strlen(r->err);
    bool one_line = len > 1 && r->err[len - 1] == '\n' && !memchr(r->err, '\n', len - 1);
    bool status_ok = false;
    for (int i = 0; statuses[i]; i++)
        status_ok |= r->status == statuses[i];
    bool named = true;
    for (int i = 0; needles[i]; i++)
        named &= strstr(r->err, needles[i]) != NULL;
    if (one_line && status_ok && named && !r->out[0])
        return true;
    if (!quiet)
        fprintf(stderr, "  faultline %s %s: exit %d, stderr \"%.300s\", stdout \"%.200s\"\n",
                c->name, what, r->status, r->err, r->out);
    return false;
}

/* After "--name": the end of the line, ']', ',', two spaces, or " [", " (", " --". */
static bool is_flag_end(const char *p)
{
    return !*p || *p == ']' || *p == ',' ||
           (p[0] == ' ' &&
            (!p[1] || p[1] == ' ' || p[1] == '[' || p[1] == '(' || (p[1] == '-' && p[2] == '-')));
}

/* Reads the options of one line into opts (deduplicated). In a usage line an option follows
 * any space; in an option line it starts the line or follows two spaces, '[' or ", ". */
static void scan_line(const char *line, bool usage, opt *opts, int *n)
{
    for (const char *p = strstr(line, "--"); p; p = strstr(p + 2, "--")) {
        size_t at = (size_t)(p - line);
        char prev = at ? p[-1] : ' ', prev2 = at > 1 ? p[-2] : ' ';
        bool starts =
            at == 0 || prev == '[' || (prev == ' ' && (usage || prev2 == ' ' || prev2 == ','));
        if (!starts || !(p[2] >= 'a' && p[2] <= 'z'))
            continue;
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
        const char *rest = p + len;
        char meta[64] = "";
        if (rest[0] == ' ' && rest[1] && rest[1] != ' ') {
            size_t m = strcspn(rest + 1, " ]");
            snprintf(meta, sizeof(meta), "%.*s", (int)(m < 63 ? m : 63), rest + 1);
            bool valued = (meta[0] >= 'A' && meta[0] <= 'Z') || strchr(meta, '|');
            if (!valued && !is_flag_end(rest))
                continue; /* prose: "--join addresses are ..." */
            if (!valued)
                meta[0] = 0;
        } else if (!is_flag_end(rest)) {
            continue; /* "--tls:", "--seed/--nodes" */
        }
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), p);
        bool seen = false;
        for (int i = 0; i < *n && !seen; i++)
            seen = !strcmp(opts[i].name, name);
        if (!seen && *n < OPTS_MAX) {
            snprintf(opts[*n].name, sizeof(opts[*n].name), "%s", name);
            snprintf(opts[*n].meta, sizeof(opts[*n].meta), "%s", meta);
            (*n)++;
        }
    }
}

/* The words after "faultline" that name a command or a mode: lowercase words, and "--opt
 * word" with a lowercase word (sim --protocol swim). Returns where the rest begins. */
static const char *usage_prefix(const char *s, cmd *c)
{
    c->n_words = 0;
    c->name[0] = 0;
    for (;;) {
        s += strspn(s, " ");
        size_t len = strcspn(s, " \n");
        bool word =
            len && s[0] >= 'a' && s[0] <= 'z' && strspn(s, "abcdefghijklmnopqrstuvwxyz-") == len;
        bool mode = len > 2 && s[0] == '-' && s[1] == '-';
        const char *next = s + len + strspn(s + len, " ");
        size_t next_len = strcspn(next, " \n");
        mode = mode && next_len && next[0] >= 'a' && next[0] <= 'z' &&
               strspn(next, "abcdefghijklmnopqrstuvwxyz-") == next_len;
        if ((!word && !mode) || c->n_words >= 6)
            return s;
        for (int k = 0; k < (mode ? 2 : 1); k++) {
            const char *w = k ? next : s;
            size_t wl = k ? next_len : len;
            snprintf(c->words[c->n_words++], sizeof(c->words[0]), "%.*s", (int)wl, w);
        }
        s = mode ? next + next_len : s + len;
    }
}

static void join_name(cmd *c)
{
    c->name[0] = 0;
    for (int i = 0; i < c->n_words; i++)
        snprintf(c->name + strlen(c->name), sizeof(c->name) - strlen(c->name), "%s%s", i ? " " : "",
                 c->words[i]);
}

/* What the help of c says: its options, the first required part of its usage line (""
 * when none), its positional paths, and the other modes its usage lines name. */
typedef struct help {
    opt opts[OPTS_MAX];
    int n_opts;
    char required[64];
    char positional[4][64];
    int n_positional;
    cmd modes[8];
    int n_modes;
} help;

/* The required parts of a usage line (rest: after the prefix; depth: brackets open). */
static void usage_rest(help *h, const char *rest, int *depth, bool *after_opt)
{
    while (*rest && *rest != '\n') {
        rest += strspn(rest, " ");
        size_t len = strcspn(rest, " \n");
        if (!len)
            break;
        for (size_t i = 0; i < len; i++)
            *depth += rest[i] == '[' ? 1 : rest[i] == ']' ? -1 : 0;
        bool open = rest[0] == '[' || *depth > 0 || rest[len - 1] == ']';
        if (!open && rest[0] != '(') {
            char tok[64];
            snprintf(tok, sizeof(tok), "%.*s", (int)(len < 63 ? len : 63), rest);
            tok[strcspn(tok, "|.")] = 0;
            if (!h->required[0])
                snprintf(h->required, sizeof(h->required), "%s", tok);
            bool is_opt = tok[0] == '-';
            if (!is_opt && !*after_opt && tok[0] && h->n_positional < 4)
                snprintf(h->positional[h->n_positional++], 64, "%s", tok);
            *after_opt = is_opt;
        } else {
            *after_opt = false;
        }
        if (rest[0] == '(')
            break; /* a remark to the end of the line */
        rest += len;
    }
}

static void read_help(const cmd *c, const char *text, help *h)
{
    memset(h, 0, sizeof(*h));
    bool in_usage = true, mine = false, after_opt = false;
    int depth = 0;
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        char buf[1024];
        snprintf(buf, sizeof(buf), "%.*s", (int)(len < 1023 ? len : 1023), line);
        const char *t = buf + strspn(buf, " ");
        in_usage &= *t != 0; /* the usage lines end at the first empty line */
        const char *fl = !strncmp(t, "usage: faultline ", 17) ? t + 17
                         : !strncmp(t, "faultline ", 10)      ? t + 10
                                                              : NULL;
        if (in_usage && fl) { /* a usage line: this command's, or another mode's */
            cmd m;
            const char *rest = usage_prefix(fl, &m);
            join_name(&m);
            mine = !strcmp(m.name, c->name);
            if (mine) {
                usage_rest(h, rest, &depth, &after_opt);
                scan_line(rest, true, h->opts, &h->n_opts);
            } else if (h->n_modes < 8) {
                h->modes[h->n_modes++] = m;
            }
        } else if (in_usage && mine) { /* its continuation */
            usage_rest(h, t, &depth, &after_opt);
            scan_line(t, true, h->opts, &h->n_opts);
        } else if (!in_usage && (!strncmp(t, "--", 2) || !strncmp(t, "[--", 3))) {
            scan_line(t, false, h->opts, &h->n_opts);
        }
        line += len + (line[len] == '\n');
    }
}

static bool is_path_meta(const char *m)
{
    return strstr(m, "DIR") || strstr(m, "FILE") || strstr(m, "PATH") || strstr(m, ".html") ||
           strstr(m, ".json");
}

static bool is_free_text(const cmd *c, const char *o)
{
    for (size_t i = 0; i < sizeof(free_text) / sizeof(free_text[0]); i++)
        if (!strcmp(free_text[i].cmd, c->name) && !strcmp(free_text[i].opt, o))
            return true;
    return false;
}

/* Every option of c: a missing value, a bad one, or (a flag) no value taken. */
static int walk_options(const cmd *c, const help *h)
{
    static run_out r;
    int failures = 0;
    static const int usage[] = {64, 0}, path[] = {66, 69, 73, 0};
    const char *enotdir = strerror(ENOTDIR);
    for (int i = 0; i < h->n_opts; i++) {
        const opt *o = &h->opts[i];
        if (!strcmp(o->name, "--help"))
            continue;
        if (!o->meta[0]) { /* a flag: what follows it is parsed as an argument */
            run(c, (const char *[]){o->name, UNKNOWN_FLAG, NULL}, &r);
            failures += !refused(c, o->name, &r, usage,
                                 (const char *[]){"unknown option", UNKNOWN_FLAG, NULL});
            continue;
        }
        run(c, (const char *[]){o->name, NULL}, &r);
        failures += !refused(c, o->name, &r, usage, (const char *[]){o->name, NULL});
        if (is_free_text(c, o->name))
            continue;
        bool p = is_path_meta(o->meta);
        const char *v = p ? bad_path : BAD_VALUE;
        run(c, (const char *[]){o->name, v, NULL}, &r);
        char what[400];
        snprintf(what, sizeof(what), "%s %s", o->name, v);
        failures += !refused(c, what, &r, p ? path : usage,
                             (const char *[]){o->name, v, p ? enotdir : NULL, NULL});
        if (!p && strstr(r.err, "unknown option")) { /* the help has it; the parser not */
            fprintf(stderr, "  faultline %s: --help shows %s, the parser does not know it\n",
                    c->name, o->name);
            failures++;
        }
    }
    return failures;
}

/* --help, no arguments, an unknown option and the positional paths of c. */
static int walk_command(const cmd *c, help *h)
{
    static run_out r;
    int failures = 0;
    static const int usage[] = {64, 0}, path[] = {66, 73, 0};
    run(c, (const char *[]){"--help", NULL}, &r);
    char want[160];
    snprintf(want, sizeof(want), "usage: faultline %s", c->name);
    checks++;
    if (r.status != 0 || strncmp(r.out, want, strlen(want)) || r.err[0] ||
        !strstr(r.out, "exit status: 0") || !strstr(r.out, " 64 ")) {
        fprintf(stderr, "  faultline %s --help: exit %d, stdout \"%.120s\", stderr \"%.120s\"\n",
                c->name, r.status, r.out, r.err);
        return 1;
    }
    read_help(c, r.out, h);
    if (h->required[0]) {
        run(c, (const char *[]){NULL}, &r);
        failures += !refused(c, "(no arguments)", &r, usage, (const char *[]){h->required, NULL});
    }
    run(c, (const char *[]){UNKNOWN_FLAG, NULL}, &r);
    failures += !refused(c, UNKNOWN_FLAG, &r, usage,
                         (const char *[]){"unknown option", UNKNOWN_FLAG, NULL});
    for (int i = 0; i < h->n_positional; i++) {
        if (!is_path_meta(h->positional[i]))
            continue;
        run(c, (const char *[]){bad_path, NULL}, &r);
        failures +=
            !refused(c, bad_path, &r, path, (const char *[]){bad_path, strerror(ENOTDIR), NULL});
    }
    return failures + walk_options(c, h);
}

/* The commands of `faultline --help`: "  NAME  summary" lines after "commands:". */
static int list_commands(cmd *cmds)
{
    static run_out r;
    run(NULL, (const char *[]){"--help", NULL}, &r);
    CHECK_EQ(r.status, 0);
    const char *p = strstr(r.out, "commands:\n");
    CHECK(p != NULL);
    int n = 0;
    for (p += 10; *p == ' ' && n < CMDS_MAX; p = strchr(p, '\n') + 1) {
        cmd *c = &cmds[n++];
        memset(c, 0, sizeof(*c));
        p += strspn(p, " ");
        snprintf(c->words[0], sizeof(c->words[0]), "%.*s", (int)strcspn(p, " "), p);
        c->n_words = 1;
        join_name(c);
    }
    return n;
}

TEST(cli_walk_every_command_every_option)
{
    setup();
    static cmd cmds[CMDS_MAX];
    int n = list_commands(cmds), walked = 0, options = 0, failures = 0;
    CHECK(n >= 13); /* demo .. version, and whatever comes later */
    static help h;
    for (int i = 0; i < n; i++) {
        failures += walk_command(&cmds[i], &h);
        walked++;
        options += h.n_opts;
        int valued = 0;
        for (int k = 0; k < h.n_opts; k++)
            valued += h.opts[k].meta[0] != 0;
        printf("  %-20s %3d options (%d with a value), required %s, %d positional path(s)\n",
               cmds[i].name, h.n_opts, valued, h.required[0] ? h.required : "-", h.n_positional);
        for (int k = 0; getenv("FL_WALK_VERBOSE") && k < h.n_opts; k++) /* what was read */
            printf("    %s %s\n", h.opts[k].name, h.opts[k].meta);
        for (int k = 0; k < h.n_modes; k++) { /* gossip members, sim --protocol swim */
            bool known = false;
            for (int j = 0; j < n && !known; j++)
                known = !strcmp(cmds[j].name, h.modes[k].name);
            if (known || n >= CMDS_MAX)
                continue;
            cmds[n++] = h.modes[k];
        }
    }
    printf("walked %d commands and modes, %d options: %d runs, %d checks, %d failed\n", walked,
           options, runs, checks, failures);
    CHECK(options > 150); /* the help texts are being read, not skipped */
    CHECK_EQ(failures, 0);
}

TEST(cli_walk_top_level)
{
    setup();
    static run_out r;
    static const int usage[] = {64, 0};
    cmd top = {.name = ""};
    run(NULL, (const char *[]){"no-such-command", NULL}, &r);
    CHECK(refused(&top, "no-such-command", &r, usage,
                  (const char *[]){"unknown command", "no-such-command", NULL}));
    run(NULL, (const char *[]){"version", "extra", NULL}, &r);
    CHECK(refused(&top, "version extra", &r, usage, (const char *[]){"extra", NULL}));
    run(NULL, (const char *[]){NULL}, &r);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "usage: faultline COMMAND") != NULL);
}

/* The walk itself can fail: a command that accepted a bad value, or wrote two lines, is seen. */
TEST(cli_walk_sees_a_bad_refusal)
{
    setup();
    static run_out r;
    static const int usage[] = {64, 0};
    cmd sim = {.words = {"sim"}, .n_words = 1, .name = "sim"};
    quiet = true;
    run(&sim, (const char *[]){"--seed", "7", "--help", NULL}, &r); /* accepted: exit 0 */
    CHECK(!refused(&sim, "(expected to be accepted)", &r, usage, (const char *[]){"--seed", NULL}));
    strcpy(r.err, "faultline sim: two\nlines\n");
    r.status = 64;
    r.out[0] = 0;
    CHECK(!refused(&sim, "(two lines, on purpose)", &r, usage, (const char *[]){"two", NULL}));
    quiet = false;
    help h;
    read_help(&sim,
              "usage: faultline sim [--a N] [--b-c]\n       faultline sim --mode x [--z N]\n\n"
              "  --reads P, --cas P       x\n  --flag        y\n--join addresses are\n"
              "  --delay D  --jitter D    50ms   --verbose  --quiet\n",
              &h);
    CHECK_EQ(h.n_opts, 9); /* --a --b-c --reads --cas --flag --delay --jitter --verbose --quiet */
    CHECK_EQ(h.n_modes, 1);
    CHECK_STR(h.modes[0].name, "sim --mode x");
    CHECK(!h.required[0]);
}

/* One duration parser everywhere: units where an option takes a duration, and the old forms
 * (a number alone: seconds, or milliseconds for a -ms option) still mean what they meant. */
TEST(cli_durations_take_units_everywhere)
{
    setup();
    static run_out r;
    run(NULL,
        (const char *[]){"gossip", "--bind", "127.0.0.1:0", "--duration", "300ms", "--interval-ms",
                         "0.1s", "--timeout-ms", "50", "--gossip-ms", "20ms", NULL},
        &r);
    CHECK_EQ(r.status, 0);
    CHECK(strstr(r.out, "left:") != NULL);
    run(NULL,
        (const char *[]){"sim", "--protocol", "swim", "--scenario", "churn", "--nodes", "8",
                         "--duration", "1m", "--interval-ms", "500", "--timeout-ms", "0.2s", NULL},
        &r);
    CHECK_EQ(r.status, 0);
    CHECK(strstr(r.out, "period 500 ms") && strstr(r.out, "--duration 60"));
    run(NULL, (const char *[]){"sim", "--duration", "1500ms", "--no-check", "--quiet", NULL}, &r);
    CHECK_EQ(r.status, 0);
    run(NULL, (const char *[]){"server", "--timeout", "500ms", NULL}, &r);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "bad value '500ms' for --timeout: whole seconds") != NULL);
    /* a node with durations in units and in the old unitless form runs (and stops on SIGTERM) */
    char data[200], log[200];
    snprintf(data, sizeof(data), "%s/node", dir);
    snprintf(log, sizeof(log), "%s/node.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        alarm(RUN_ALARM_S);
        execl(fl_test_faultline(), "faultline", "server", "--id", "1", "--cluster", "1=127.0.0.1:0",
              "--listen", "127.0.0.1:0", "--data", data, "--election-ms", "0.2s", "--heartbeat-ms",
              "50", "--timeout", "2m", (char *)NULL);
        _exit(127);
    }
    bool up = false;
    static char text[OUT_MAX];
    for (int i = 0; i < 100 && !up; i++) {
        usleep(50 * 1000);
        slurp(log, text);
        up = strstr(text, "leader at term") != NULL; /* its term is in the WAL now */
    }
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(up);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the same directory under the other protocol: bad input data (65), not an internal error */
    run(NULL,
        (const char *[]){"server", "--id", "1", "--cluster", "1=127.0.0.1:0", "--listen",
                         "127.0.0.1:0", "--data", data, "--protocol", "paxos", NULL},
        &r);
    CHECK_EQ(r.status, 65);
    CHECK(strstr(r.err, "was written by a raft node; this node runs paxos") != NULL);
}

/* bench says what is wrong with a value, and a bench that reaches nothing says so: exit 69. */
TEST(cli_bench_failures_are_said)
{
    setup();
    static run_out r;
    run(NULL, (const char *[]){"bench", "--addr", "nohost", NULL}, &r);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "bad value 'nohost' for --addr: address \"nohost\": missing ':PORT'"));
    run(NULL, (const char *[]){"bench", "--addr", "127.0.0.1:1", "--duration", "5x", NULL}, &r);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "bad value '5x' for --duration: expected a duration") != NULL);
    run(NULL,
        (const char *[]){"bench", "--addr", "127.0.0.1:1", "--duration", "10s", "--history",
                         "/nonexistent/dir/h.jsonl", NULL},
        &r);
    CHECK_EQ(r.status, 73); /* at once, not after 10 s */
    CHECK(strstr(r.err, "--history /nonexistent/dir/h.jsonl: cannot write: No such file"));
    CHECK(!r.out[0]);
    /* nothing listens on port 1: every connection fails; that is not "0 ops/s, exit 0" */
    run(NULL, (const char *[]){"bench", "--addr", "127.0.0.1:1", "--duration", "200ms", NULL}, &r);
    CHECK_EQ(r.status, 69);
    CHECK(strstr(r.err, "faultline bench: 127.0.0.1:1 never answered: ") != NULL);
    CHECK(strstr(r.err, "Connection refused") != NULL);
}
