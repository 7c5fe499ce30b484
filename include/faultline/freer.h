/* freer.h: a thread that frees memory handed to it in bulk, so that the thread handing it
 * over (the server's event loop) does not pay for the frees.
 *
 * One batch is a malloc'd array of malloc'd pointers (a snapshot's compaction: the tens of
 * thousands of log payloads it dropped, raft.h fl_raft_take_dropped): fl_freer_give queues it
 * and returns at once; the thread frees every pointer, then the array. Freeing at once what a
 * compaction dropped, rather than a few per step, keeps the allocator's memory reused soon
 * (docs/server.md, issue 16, round 6). With no thread (it could not start), give frees on the
 * caller's thread: correct, only slower. fl_freer_stop frees what is still queued, then
 * joins: nothing given is ever leaked.
 *
 * The thread runs at the process's priority, not below: with glibc every free of a chunk of
 * the loop's arena takes that arena's lock, and a thread preempted for long while holding
 * it would stop the loop's next malloc instead. */
#ifndef FAULTLINE_FREER_H
#define FAULTLINE_FREER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_freer_batch fl_freer_batch;

typedef struct fl_freer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fl_freer_batch *head, *tail; /* queued, oldest first (mu) */
    bool stopping;               /* (mu) */
    bool up;                     /* the thread runs */
    /* (mu) counters: batches given, pointers given and freed (the arrays not counted) */
    uint64_t batches, given, freed;
} fl_freer;

/* Starts the thread. Returns 0 or FL_EIO (f still usable: give then frees inline). */
int fl_freer_start(fl_freer *f);
/* Takes ptrs (n malloc'd pointers, and the malloc'd array itself) to free; n > 0. */
void fl_freer_give(fl_freer *f, void **ptrs, size_t n);
/* Frees everything still queued, stops and joins the thread. Safe on a freer whose start
 * failed; f may be started again after. */
void fl_freer_stop(fl_freer *f);
/* The counters, read under the lock. */
void fl_freer_counts(fl_freer *f, uint64_t *batches, uint64_t *given, uint64_t *freed);

#endif
