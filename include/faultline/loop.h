/* loop.h: a single-threaded epoll event loop with fd watchers and one-shot timers.
 *
 * The caller owns the fl_loop and every fl_loop_watch (libuv style: init / close, no hidden
 * allocation after init). Timers live in a table the loop allocates once at init, bounded by
 * timers_max, and are named by an fl_loop_timer_id.
 *
 * Time: the loop reads CLOCK_MONOTONIC once per iteration phase and caches it; callbacks
 * see that cached "now" through fl_loop_now(), so everything done in one dispatch agrees on
 * the time and no callback reads the clock itself.
 *
 * Order inside one iteration: expired timers (deadline order, FIFO among equal deadlines),
 * then wait for I/O until the next deadline, then I/O callbacks, then expired timers again.
 * Watchers are level-triggered: a callback that does not drain its fd is called again on
 * the next iteration. A timer started from a callback fires no earlier than the next timer
 * phase, so a callback that keeps re-arming a zero-delay timer cannot starve I/O. */
#ifndef FAULTLINE_LOOP_H
#define FAULTLINE_LOOP_H

#include "faultline/errmsg.h"
#include "faultline/heap.h"
#include "faultline/types.h"

#include <sys/epoll.h>

enum {
    FL_LOOP_READ = 1u << 0,  /* interest and event: readable (or peer closed) */
    FL_LOOP_WRITE = 1u << 1, /* interest and event: writable */
    FL_LOOP_ERROR = 1u << 2, /* event only: EPOLLERR / EPOLLHUP on the fd */
};

typedef struct fl_loop fl_loop;
typedef struct fl_loop_watch fl_loop_watch;
typedef uint64_t fl_loop_timer_id; /* 0 is never a valid id */

/* Called with the FL_LOOP_* events that happened (a subset of interest, plus ERROR). */
typedef void (*fl_loop_watch_fn)(fl_loop *loop, fl_loop_watch *w, uint32_t events);
typedef void (*fl_loop_timer_fn)(fl_loop *loop, void *arg);

struct fl_loop_watch {
    int fd;
    uint32_t interest; /* FL_LOOP_READ | FL_LOOP_WRITE */
    fl_loop_watch_fn fn;
    void *arg;
    bool active;
};

typedef struct fl_loop_config {
    size_t watches_max; /* bound on active watchers (default 1024) */
    size_t timers_max;  /* bound on pending timers (default 4096) */
    size_t events_max;  /* epoll events handled per wait (default 64) */
} fl_loop_config;

typedef struct fl_loop_timer_slot fl_loop_timer_slot; /* private (loop.c) */

struct fl_loop {
    int epfd;
    fl_time_ns now_ns;
    bool stopping;
    fl_loop_config cfg;
    size_t watches_count;
    struct epoll_event *events; /* events_max, allocated at init */
    size_t events_count;        /* events returned by the current wait */
    size_t events_pos;          /* index being dispatched */
    fl_heap timers;             /* key = deadline_ns, value = timer id */
    fl_loop_timer_slot *slots;  /* timers_max */
    fl_heap_item *scratch;      /* timers_max, for compacting the heap */
    uint32_t slot_free;         /* head of the free list, UINT32_MAX = none */
    size_t timers_active;
    size_t timers_cancelled; /* cancelled but still in the heap */
    fl_errmsg err;           /* text of the last failure of fl_loop_run */
    fl_time_ns busy_ns;      /* the last fl_loop_run_once's work, its wait left out */
    /* Passes: a pass is a wait and the callbacks and timers after it, up to the next wait;
     * the current one's number, from 1 (a callback can tell what it did in this pass). */
    uint64_t pass;
};

/* Initializes loop (cfg NULL or zero fields = defaults). Returns 0, FL_ENOMEM, or FL_EIO
 * with the reason in loop->err (and m if not NULL). */
int fl_loop_init(fl_loop *loop, const fl_loop_config *cfg, fl_errmsg *m);
/* Frees what init allocated. Does not close the watched fds: the caller owns them. */
void fl_loop_close(fl_loop *loop);

/* The time cached at the start of the current iteration phase (CLOCK_MONOTONIC, ns). */
fl_time_ns fl_loop_now(const fl_loop *loop);
/* Re-reads the clock into the cache (for code that ran long inside one callback). */
fl_time_ns fl_loop_update_now(fl_loop *loop);

/* Starts watching fd (which should be non-blocking) for interest. w is caller-owned, must
 * be zero-initialized or stopped (starting an active watch is a programmer error), and must
 * stay valid until fl_loop_watch_stop. Returns 0, FL_EFULL (watches_max), FL_EIO. */
int fl_loop_watch_start(fl_loop *loop, fl_loop_watch *w, int fd, uint32_t interest,
                        fl_loop_watch_fn fn, void *arg);
/* Changes the interest set of an active watch. Returns 0 or FL_EIO. */
int fl_loop_watch_modify(fl_loop *loop, fl_loop_watch *w, uint32_t interest);
/* Stops watching. From return on, the loop never touches w again (even if an event for it
 * is pending in the current batch), so w may be freed and its fd closed. Idempotent. */
void fl_loop_watch_stop(fl_loop *loop, fl_loop_watch *w);

/* Arms a one-shot timer that calls fn(loop, arg) at fl_loop_now() + delay_ns (outside a
 * callback, after time has passed, call fl_loop_update_now first). *id (if not NULL)
 * receives its id. Returns 0, FL_EFULL when timers_max timers are pending, or FL_ENOMEM. */
int fl_loop_timer_start(fl_loop *loop, fl_time_ns delay_ns, fl_loop_timer_fn fn, void *arg,
                        fl_loop_timer_id *id);
/* Cancels a pending timer. Returns true if it was pending (false: already fired, cancelled,
 * or never existed). Cancelling from inside any callback is allowed. */
bool fl_loop_timer_cancel(fl_loop *loop, fl_loop_timer_id id);
/* Number of pending (armed, not cancelled) timers. */
size_t fl_loop_timers_pending(const fl_loop *loop);

/* Whether some watched fd is ready now: a wait that does not block. Watches are
 * level-triggered, so it takes nothing away (the next wait reports the fd again). One system
 * call: for a decision worth it (the server's: fdatasync on the loop's thread or not). */
bool fl_loop_ready_now(fl_loop *loop);

/* Runs iterations until fl_loop_stop. Returns 0 after a stop, or FL_EIO (loop->err). */
int fl_loop_run(fl_loop *loop);
/* Runs one iteration, waiting for I/O at most timeout_ns (0 = poll; FL_TIME_NEVER = until
 * the next timer or event). Returns 0 or FL_EIO. */
int fl_loop_run_once(fl_loop *loop, fl_time_ns timeout_ns);
/* Makes fl_loop_run return after the current iteration. Callable from callbacks. */
void fl_loop_stop(fl_loop *loop);

#endif
