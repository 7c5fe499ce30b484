/* bench_compact.c: how long a Raft core's steps take around a snapshot's log compaction
 * (issue 16's tail: the step that takes a snapshot used to free every compacted payload at
 * once). A one-voter core appends ENTRIES entries of VALUE bytes (each applied one beside a
 * malloc'd copy standing for the kv's value, so that payloads and values share the heap as
 * in the server), then, with a forked child holding the heap copy-on-write as the server's
 * snapshot child does (FORK 1), takes a snapshot keeping 5,000 entries and goes on with
 * ENTRIES more proposals; printed per round: the snapshot step, then the proposals' steps
 * (99th and 99.9th percentile, slowest, how many over 1 ms, their sum: on a shared machine
 * the slowest is mostly the scheduler's). Usage: bench_compact [ENTRIES 40000] [VALUE 220] [ROUNDS
 * 5] [FORK 1]. Reads the clock: a benchmark, not a core. */
#include "faultline/raft.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

typedef struct {
    fl_raft r;
    fl_time_ns now;
    void **values; /* the "kv": one malloc'd copy per applied entry, freed as overwritten */
    size_t n_values, next_value;
} bench;

static void step(bench *b, fl_raft_event *ev);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void handle(bench *b, const fl_raft_update *up)
{
    for (size_t i = 0; i < up->n_apply; i++) {
        size_t k = b->next_value++ % b->n_values; /* a key overwritten: its old value goes */
        free(b->values[k]);
        b->values[k] = malloc(up->apply[i].len + 1);
        if (b->values[k] && up->apply[i].len)
            memcpy(b->values[k], up->apply[i].data, up->apply[i].len);
    }
    if (up->persist.seq) {
        fl_raft_event ev = {.type = FL_RAFT_EV_PERSISTED, .u.seq = up->persist.seq};
        step(b, &ev);
    }
}

static void step(bench *b, fl_raft_event *ev)
{
    fl_raft_update up;
    ev->now_ns = b->now;
    fl_raft_step(&b->r, ev, &up);
    handle(b, &up);
}

static void propose(bench *b, const uint8_t *v, uint32_t len)
{
    fl_raft_event ev = {.type = FL_RAFT_EV_PROPOSE, .u.propose = {v, len}};
    step(b, &ev);
}

int main(int argc, char **argv)
{
    int entries = argc > 1 ? atoi(argv[1]) : 40000;
    uint32_t value = argc > 2 ? (uint32_t)atoi(argv[2]) : 220;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    int use_fork = argc > 4 ? atoi(argv[4]) : 1;
    bench b = {.n_values = 100000};
    b.values = calloc(b.n_values, sizeof(*b.values));
    uint8_t *v = malloc(value);
    double *took = malloc((size_t)(entries > 0 ? entries : 1) * sizeof(*took));
    if (!b.values || !v || !took || entries < 1)
        return 1;
    memset(v, 'x', value);
    fl_raft_config cfg;
    fl_raft_config_default(&cfg, 1);
    cfg.n_voters = 1;
    cfg.voters[0] = 1;
    cfg.snapshot_trailing = 5000;
    cfg.uncommitted_max = 0;
    if (fl_raft_init(&b.r, &cfg, NULL, 0) != 0)
        return 1;
    for (int i = 0; i < 100 && fl_raft_role_of(&b.r) != FL_RAFT_LEADER; i++) {
        b.now += 50 * FL_NS_PER_MS;
        fl_raft_event ev = {.type = FL_RAFT_EV_TICK};
        step(&b, &ev);
    }
    if (fl_raft_role_of(&b.r) != FL_RAFT_LEADER)
        return 1;
    for (int i = 0; i < entries; i++)
        propose(&b, v, value);
    printf("entries %d of %u bytes, fork %d\n", entries, value, use_fork);
    for (int round = 0; round < rounds; round++) {
        pid_t child = use_fork ? fork() : 0;
        if (child == 0 && use_fork) {
            pause(); /* holds the heap copy-on-write, like a serializing child */
            _exit(0);
        }
        fl_raft_event ev = {.type = FL_RAFT_EV_SNAPSHOT};
        ev.u.snapshot.index = fl_raft_applied_of(&b.r);
        ev.u.snapshot.size = 1;
        double t0 = now_us();
        step(&b, &ev);
        double snap = now_us() - t0, sum = 0;
        int over_ms = 0;
        for (int i = 0; i < entries; i++) {
            double s0 = now_us();
            propose(&b, v, value);
            took[i] = now_us() - s0;
            sum += took[i];
            over_ms += took[i] > 1000;
        }
        qsort(took, (size_t)entries, sizeof(*took), cmp_double);
        if (child > 0) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        printf("round %d: snapshot step %.0f us; %d proposals: p99 %.1f us, p99.9 %.1f us, "
               "slowest %.0f us, %d over 1 ms, sum %.0f us\n",
               round, snap, entries, took[entries * 99 / 100], took[entries * 999 / 1000],
               took[entries - 1], over_ms, sum);
    }
    fl_raft_close(&b.r);
    for (size_t i = 0; i < b.n_values; i++)
        free(b.values[i]);
    free(b.values);
    free(v);
    free(took);
    return 0;
}
