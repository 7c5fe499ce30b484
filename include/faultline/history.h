/* history.h: client operation histories: the events, readers for JSON lines and Jepsen EDN,
 * a JSON-lines writer, and the pairing of events into operations.
 *
 * A history is a sequence of events in real-time order, one per invocation or completion of a
 * client operation, as Jepsen records them: a process invokes an op (type invoke), and the op
 * later completes as ok (it took effect), fail (it did not) or info (unknown: it may take
 * effect at any time after its invocation, or never). The order of events in the history is
 * the real-time order; the time field is informational (drawing, reports).
 *
 * Strings (keys, string values) are interned in the history: an fl_value or a key holds a
 * string id, valid as long as the history lives. A simulator builds a history in memory with
 * fl_history_add(); the checker (lincheck.h) reads it.
 *
 * Ownership: an fl_history owns its events and strings; fl_history_free() releases them.
 * Readers append to a history the caller initialized. */
#ifndef FAULTLINE_HISTORY_H
#define FAULTLINE_HISTORY_H

#include "faultline/buf.h"
#include "faultline/types.h"

typedef enum fl_ev_type {
    FL_EV_INVOKE,
    FL_EV_OK,
    FL_EV_FAIL,
    FL_EV_INFO,
} fl_ev_type;

typedef enum fl_op_f {
    FL_F_READ,
    FL_F_WRITE,
    FL_F_CAS,
    FL_F_GET,
    FL_F_PUT,
    FL_F_APPEND,
    FL_F_DELETE,
    FL_F_INCR,
    FL_F_COUNT,
} fl_op_f;

typedef enum fl_value_kind {
    FL_VALUE_NONE, /* absent (no "value" field) */
    FL_VALUE_NIL,  /* JSON null, EDN nil: for a read, "no value" */
    FL_VALUE_INT,
    FL_VALUE_STR, /* str is a string id in the history */
} fl_value_kind;

typedef struct fl_value {
    uint32_t kind;
    uint32_t str;
    int64_t i;
} fl_value;

#define FL_KEY_NONE UINT32_MAX /* an event without a key (single-register histories) */

typedef struct fl_event {
    int64_t process;
    uint8_t type;   /* fl_ev_type */
    uint8_t f;      /* fl_op_f */
    bool pair;      /* value is a pair [value, value2] (cas) */
    uint32_t key;   /* string id or FL_KEY_NONE */
    fl_value value; /* cas: the expected value */
    fl_value value2;
    fl_time_ns time;
    uint32_t line; /* 1-based source line, 0 when built in memory */
} fl_event;

typedef struct fl_history {
    fl_event *events;
    size_t count;
    size_t cap;
    /* string table: bytes in one buffer, NUL-terminated, found through an open hash */
    fl_buf bytes;
    uint32_t *str_off;
    uint32_t *str_len;
    uint32_t str_count;
    uint32_t str_cap;
    uint32_t *str_index; /* open addressing: id + 1, 0 = empty */
    uint32_t str_index_cap;
    /* Pipelined: a process is a connection that may have several invocations pending at
     * once (a pipeline); its completions come in invocation order, and its ops take effect
     * in that order (program order). Set by whoever records such a history (the simulator
     * with --pipeline, `faultline check --pipelined`); pairing (fl_history_ops) and the
     * checker (lincheck.h) follow it. */
    bool pipelined;
} fl_history;

/* A reader's error: where and why. */
typedef struct fl_history_error {
    uint32_t line;
    char msg[200];
} fl_history_error;

void fl_history_init(fl_history *h);
void fl_history_free(fl_history *h);

/* Interns n bytes and sets *id. Returns 0 or FL_ENOMEM / FL_ETOOBIG (over 4 GiB of text). */
int fl_history_intern(fl_history *h, const char *s, size_t n, uint32_t *id);
/* The NUL-terminated bytes of string id (len may be NULL). */
const char *fl_history_str(const fl_history *h, uint32_t id, size_t *len);

fl_value fl_value_int(int64_t i);
fl_value fl_value_nil(void);
/* A string value: interns s. Returns 0 or FL_ENOMEM. */
int fl_value_str(fl_history *h, const char *s, size_t n, fl_value *out);
bool fl_value_eq(fl_value a, fl_value b);

/* Makes room for count events in all. Returns 0 or FL_ENOMEM. */
int fl_history_reserve(fl_history *h, size_t count);
/* Appends a copy of *ev. Returns 0 or FL_ENOMEM. */
int fl_history_add(fl_history *h, const fl_event *ev);

/* The simulator's shorthand: appends one event; key may be NULL (no key); for cas, value is
 * the expected value and value2 the new one (ignored otherwise). Returns 0 or FL_ENOMEM. */
int fl_history_event(fl_history *h, int64_t process, fl_ev_type type, fl_op_f f, const char *key,
                     fl_value value, fl_value value2, fl_time_ns time);

const char *fl_ev_type_name(fl_ev_type t);
const char *fl_op_f_name(fl_op_f f);
/* Looks up an f by name ("cas"); returns false when unknown. */
bool fl_op_f_parse(const char *s, size_t n, fl_op_f *out);

/* Readers: append the events of text[0..len) to h. Return 0, FL_ESYNTAX (malformed input:
 * err says the line and the reason), FL_ETOOBIG or FL_ENOMEM. Events of the nemesis
 * (process "nemesis" / :nemesis) are skipped. */
int fl_history_read_jsonl(fl_history *h, const char *text, size_t len, fl_history_error *err);
int fl_history_read_edn(fl_history *h, const char *text, size_t len, fl_history_error *err);
/* The same for histories of Jepsen's independent keys when tuples is true: every :value is
 * a [key value] tuple ({:f :cas, :value [3 [1 2]]} is a cas [1 2] on key 3). */
int fl_history_read_edn_independent(fl_history *h, const char *text, size_t len, bool tuples,
                                    fl_history_error *err);
/* Old Jepsen logs: the op lines jepsen.util printed ("INFO  jepsen.util - 4\t:invoke\t:cas\t
 * [4 0]": process, type, f, EDN value, tab-separated after the logger's prefix); other log
 * lines are skipped. Errors carry the line of the log. */
int fl_history_read_jepsen_log(fl_history *h, const char *text, size_t len, fl_history_error *err);
/* Guesses the format from the first non-blank byte: '{' followed by '"' is JSON, ':' or '['
 * after '{' is EDN. */
bool fl_history_looks_like_edn(const char *text, size_t len);
/* A log, not JSON or EDN (the first non-blank byte is none of '{', '[', ';', '#'), in whose
 * first 64 KiB "jepsen.util" appears. */
bool fl_history_looks_like_jepsen_log(const char *text, size_t len);

/* Writes one event as a JSON line (with '\n') in the format the JSON-lines reader reads. */
void fl_history_write_event(const fl_history *h, const fl_event *ev, fl_buf *out);
/* Writes every event. Returns out->err. */
int fl_history_write_jsonl(const fl_history *h, fl_buf *out);
/* The same in Jepsen's EDN, one map per line ({:process 0, :type :ok, :f :read, :key "k",
 * :value 3, :time 10}), which fl_history_read_edn reads back. Returns out->err. */
void fl_history_write_edn_event(const fl_history *h, const fl_event *ev, fl_buf *out);
int fl_history_write_edn(const fl_history *h, fl_buf *out);

/* ---- operations: events paired by process ---- */

#define FL_EV_NONE UINT32_MAX

typedef struct fl_op {
    int64_t process;
    uint8_t f;       /* fl_op_f */
    uint8_t outcome; /* FL_EV_OK, FL_EV_FAIL or FL_EV_INFO (also for no completion) */
    uint32_t key;    /* string id or FL_KEY_NONE */
    fl_value in;     /* write/put/append/incr: the argument; cas: the expected value */
    fl_value in2;    /* cas: the new value */
    fl_value out;    /* read/get: the value read (ok only) */
    uint32_t call;   /* event index of the invocation */
    uint32_t ret;    /* event index of the completion, FL_EV_NONE if there is none */
} fl_op;

/* Pairs each invocation with the next completion of the same process (of a pipelined
 * history: with the process's oldest pending invocation, first in first out). Allocates
 * *ops (the caller frees it with free()), in invocation order. Returns 0, FL_ENOMEM, or
 * FL_ESYNTAX with err set for: a completion without an invocation, a second invocation while
 * one is pending (unless h->pipelined), a completion whose f differs, a missing or misshapen
 * value (cas needs a pair; write, put, append and incr need a value). An invocation never
 * completed is an info op. */
int fl_history_ops(const fl_history *h, fl_op **ops, size_t *count, fl_history_error *err);

#endif
