/* cli_opt.h: what every command does with its command line, done one way: option values
 * parsed and refused with the same one-line messages, output locations checked before any
 * work starts, inputs checked for being there, untrusted bytes quoted, exit statuses
 * (cli.h) explained in each --help.
 *
 * Every message is one line on stderr, "faultline CMD: ...", naming the option and the value
 * or the path (and the system's reason for a path); every function that prints one returns
 * the exit status to return, so a parser reads `return fl_cli_bad(...)`. CMD is the
 * command as typed ("sim", "gossip members", "sim --protocol swim"). */
#ifndef FL_CLI_OPT_H
#define FL_CLI_OPT_H

#include "faultline/net.h"
#include "faultline/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "faultline CMD: <printf>" and a newline on stderr; returns status. */
int fl_cli_error(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "unknown option '--x' (faultline CMD --help lists the options)"; FL_EXIT_USAGE. */
int fl_cli_unknown(const char *cmd, const char *arg);
/* An argument where none was expected: an unknown option if it starts with '-', else
 * "unexpected argument 'x'"; FL_EXIT_USAGE. */
int fl_cli_unexpected(const char *cmd, const char *arg);
/* "--opt needs a value"; FL_EXIT_USAGE. */
int fl_cli_no_value(const char *cmd, const char *opt);
/* "bad value 'V' for --opt: <printf>" (V quoted: fl_cli_quote); FL_EXIT_USAGE. */
int fl_cli_bad(const char *cmd, const char *opt, const char *v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Values: each parses v (NULL: the value is missing) into *out, or prints why not and
 * returns FL_EXIT_USAGE. Ranges are inclusive. */
int fl_cli_u64(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
               uint64_t *out);
int fl_cli_u32(const char *cmd, const char *opt, const char *v, uint32_t min, uint32_t max,
               uint32_t *out);
int fl_cli_double(const char *cmd, const char *opt, const char *v, double min, double max,
                  double *out);
/* A duration (fl_parse_duration_in): a bare number counts in bare_unit_ns. */
#define FL_CLI_DURATION_MAX (UINT64_MAX / 4) /* about 146 years: "no bound" */
int fl_cli_duration(const char *cmd, const char *opt, const char *v, fl_time_ns bare_unit_ns,
                    fl_time_ns min, fl_time_ns max, fl_time_ns *out);
/* HOST:PORT (fl_addr_parse). */
int fl_cli_addr(const char *cmd, const char *opt, const char *v, fl_addr *out);
/* One of names[0..n) (the message lists them); *out is its index. */
int fl_cli_enum(const char *cmd, const char *opt, const char *v, const char *const *names, size_t n,
                int *out);
/* A text that must fit out_size (with its NUL) and not be empty. */
int fl_cli_text(const char *cmd, const char *opt, const char *v, char *out, size_t out_size);

/* Paths, checked before any work starts (opt is NULL for a positional argument). Each
 * returns 0, or prints "faultline CMD: --opt PATH: <what>: <strerror>" and returns the exit
 * status: FL_EXIT_CANTCREAT for outputs, FL_EXIT_NOINPUT for inputs. */
/* A directory to write into: made with its parents if missing, then a file created and
 * removed in it (so a read-only place is found now, not after the run). */
int fl_cli_out_dir(const char *cmd, const char *opt, const char *dir);
/* A file to write: opened for writing without truncating it, and removed again if this made
 * it (an existing file keeps its contents until the command writes it). */
int fl_cli_out_file(const char *cmd, const char *opt, const char *path);
/* A file to read ("-" is stdin and always passes). */
int fl_cli_in_file(const char *cmd, const char *opt, const char *path);
/* A directory to read. */
int fl_cli_in_dir(const char *cmd, const char *opt, const char *dir);

/* Writes at most max_bytes of p[0..len) into out as printable ASCII, quoted: '\x01ab\n' and
 * "..." after the quote when cut; never raw control bytes or invalid UTF-8 on a terminal.
 * out_size >= 8 + 4 * max_bytes always fits. Returns out. */
const char *fl_cli_quote(const void *p, size_t len, size_t max_bytes, char *out, size_t out_size);

/* The exit status for an FL_E... code of a failed operation: FL_ENOMEM 71, FL_EIO 74,
 * FL_ECORRUPT / FL_ESYNTAX / FL_ETRUNC 65, FL_ECONFIG / FL_EINVAL / FL_ERANGE 64,
 * FL_EUNSUPPORTED / FL_ETIMEOUT 69, FL_ENOTFOUND 66, anything else 70. */
int fl_cli_exit_of(int fl_err);
/* The "exit status:" paragraph of a --help: what 0 means for this command, then 1 and 2 when
 * the command judges (NULL when it does not), then the codes every command shares. */
void fl_cli_exit_help(FILE *f, const char *ok, const char *violation, const char *unknown);

#endif
