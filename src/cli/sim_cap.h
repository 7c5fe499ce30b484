/* sim_cap.h: `faultline sim --cap`: the CAP theorem shown on Raft (docs/limits.md). */
#ifndef FL_CLI_SIM_CAP_H
#define FL_CLI_SIM_CAP_H

#include "faultline/lincheck.h"
#include "faultline/observe.h"
#include "sim_opts.h"

/* One read mode's run under partition-sides. */
typedef struct cap_row {
    fl_run_read_mode mode;
    fl_run_read_at at;
    bool ran;                    /* the run completed (else the fields below are zero) */
    bool safe;                   /* Raft's invariants held after every event */
    fl_verdict lin, seq;         /* the whole history: linearizable, sequentially consistent */
    uint64_t stale, reads_ok;    /* stale reads counted directly, of the ok reads */
    uint32_t minority;           /* the minority side (bit id) */
    fl_time_ns start_ns, end_ns; /* the partition */
    fl_observe_group side[2];    /* [0] the minority side's clients, [1] the majority's */
    uint32_t clients[2];         /* clients on each side */
} cap_row;

#define CAP_MODES 4

/* Runs o's configuration once per read mode (index, lease, log, local; sticky clients but for
 * log), each with the leader's minority cut off for the middle third of the duration and the
 * clients on both sides, prints the tables per side and the verdicts, and with o->out_dir
 * writes a run directory per mode (DIR/index, ...) and DIR/cap.json. Exit status: 0 when
 * every run kept Raft's invariants and no index, lease or log history was found not
 * linearizable, 1 otherwise, 2 for bad usage. */
int sim_cap_run(const sim_opts *o);

/* The rows as text (sim_cap_out.c): the table per side, the consistency table, the verdict. */
void cap_print(FILE *f, const fl_run_config *c, const cap_row *rows, size_t n);
/* The rows as one JSON object (DIR/cap.json, docs/limits.md). */
void cap_json(fl_json *j, const fl_run_config *c, const cap_row *rows, size_t n);

#endif
