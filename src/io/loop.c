/* loop.c: the epoll event loop with fd watchers and one-shot timers (loop.h).
 *
 * Invariants:
 *  1. Every timer slot is FREE (on the free list, not in the heap), ACTIVE or CANCELLED (both
 *     in the heap exactly once), so the heap never holds more than timers_max items.
 *  2. A timer id is (generation << 32 | slot); the generation changes when a slot is freed,
 *     so a stale id never cancels a newer timer.
 *  3. events[events_pos + 1 .. events_count) never point at a stopped watch (stop clears
 *     them), so a callback may stop and free any watch, not only its own. */
#include "faultline/loop.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { SLOT_FREE, SLOT_ACTIVE, SLOT_CANCELLED };
#define SLOT_NONE UINT32_MAX

struct fl_loop_timer_slot {
    fl_loop_timer_fn fn;
    void *arg;
    uint32_t gen;
    uint32_t next_free;
    uint8_t state;
};

static fl_time_ns clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fl_time_ns)ts.tv_sec * FL_NS_PER_S + (fl_time_ns)ts.tv_nsec;
}

static void config_defaults(fl_loop_config *c, const fl_loop_config *in)
{
    *c = in ? *in : (fl_loop_config){0};
    if (!c->watches_max)
        c->watches_max = 1024;
    if (!c->timers_max)
        c->timers_max = 4096;
    if (!c->events_max)
        c->events_max = 64;
}

int fl_loop_init(fl_loop *loop, const fl_loop_config *cfg, fl_errmsg *m)
{
    memset(loop, 0, sizeof(*loop));
    config_defaults(&loop->cfg, cfg);
    FL_ASSERT(loop->cfg.timers_max < SLOT_NONE);
    FL_ASSERT(loop->cfg.events_max <= INT_MAX);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int rc = fl_errmsg_errno(&loop->err, FL_EIO, errno, "epoll_create1");
        if (m)
            *m = loop->err;
        return rc;
    }
    loop->events = calloc(loop->cfg.events_max, sizeof(*loop->events));
    loop->slots = calloc(loop->cfg.timers_max, sizeof(*loop->slots));
    loop->scratch = calloc(loop->cfg.timers_max, sizeof(*loop->scratch));
    if (!loop->events || !loop->slots || !loop->scratch) {
        fl_loop_close(loop);
        return fl_errmsg_set(m, FL_ENOMEM, "event loop: out of memory");
    }
    fl_heap_init(&loop->timers, loop->cfg.timers_max);
    for (size_t i = 0; i < loop->cfg.timers_max; i++) {
        loop->slots[i].gen = 1;
        loop->slots[i].next_free = i + 1 < loop->cfg.timers_max ? (uint32_t)(i + 1) : SLOT_NONE;
    }
    loop->slot_free = 0;
    loop->now_ns = clock_now_ns();
    return 0;
}

void fl_loop_close(fl_loop *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
    free(loop->events);
    free(loop->slots);
    free(loop->scratch);
    loop->events = NULL;
    loop->slots = NULL;
    loop->scratch = NULL;
    fl_heap_free(&loop->timers);
}

fl_time_ns fl_loop_now(const fl_loop *loop)
{
    return loop->now_ns;
}

fl_time_ns fl_loop_update_now(fl_loop *loop)
{
    fl_time_ns t = clock_now_ns();
    if (t > loop->now_ns) /* cached time never goes backwards */
        loop->now_ns = t;
    return loop->now_ns;
}

/* ---- watchers ---- */

static uint32_t epoll_mask(uint32_t interest)
{
    uint32_t ev = 0;
    if (interest & FL_LOOP_READ)
        ev |= EPOLLIN;
    if (interest & FL_LOOP_WRITE)
        ev |= EPOLLOUT;
    return ev;
}

int fl_loop_watch_start(fl_loop *loop, fl_loop_watch *w, int fd, uint32_t interest,
                        fl_loop_watch_fn fn, void *arg)
{
    FL_ASSERT(fd >= 0);
    FL_ASSERT(fn != NULL);
    FL_ASSERT(!w->active);
    if (loop->watches_count >= loop->cfg.watches_max)
        return fl_errmsg_set(&loop->err, FL_EFULL, "event loop: %zu watches (watches_max)",
                             loop->watches_count);
    struct epoll_event ev = {.events = epoll_mask(interest), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return fl_errmsg_errno(&loop->err, FL_EIO, errno, "epoll_ctl(ADD, fd %d)", fd);
    *w = (fl_loop_watch){.fd = fd, .interest = interest, .fn = fn, .arg = arg, .active = true};
    loop->watches_count++;
    return 0;
}

int fl_loop_watch_modify(fl_loop *loop, fl_loop_watch *w, uint32_t interest)
{
    FL_ASSERT(w->active);
    if (w->interest == interest)
        return 0;
    struct epoll_event ev = {.events = epoll_mask(interest), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return fl_errmsg_errno(&loop->err, FL_EIO, errno, "epoll_ctl(MOD, fd %d)", w->fd);
    w->interest = interest;
    return 0;
}

void fl_loop_watch_stop(fl_loop *loop, fl_loop_watch *w)
{
    if (!w->active)
        return;
    /* Fails only if the fd was already closed, which removed it from the epoll set anyway. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->active = false;
    FL_ASSERT(loop->watches_count > 0);
    loop->watches_count--;
    for (size_t i = loop->events_pos + 1; i < loop->events_count; i++)
        if (loop->events[i].data.ptr == w)
            loop->events[i].data.ptr = NULL;
}

/* ---- timers ---- */

static uint32_t id_slot(fl_loop_timer_id id)
{
    return (uint32_t)id;
}

static uint32_t id_gen(fl_loop_timer_id id)
{
    return (uint32_t)(id >> 32);
}

static void slot_free(fl_loop *loop, uint32_t i)
{
    fl_loop_timer_slot *s = &loop->slots[i];
    s->state = SLOT_FREE;
    s->fn = NULL;
    s->arg = NULL;
    s->gen = s->gen == UINT32_MAX ? 1 : s->gen + 1; /* generation 0 is never used */
    s->next_free = loop->slot_free;
    loop->slot_free = i;
}

/* Drops cancelled entries from the heap, freeing their slots. O(n log n); runs only when
 * the slot table is exhausted. Re-pushing in pop order keeps FIFO order among equal keys. */
static void timers_compact(fl_loop *loop)
{
    size_t n = 0;
    fl_heap_item it;
    while (fl_heap_pop(&loop->timers, &it)) {
        uint32_t i = id_slot(it.value);
        if (loop->slots[i].state == SLOT_CANCELLED) {
            slot_free(loop, i);
            continue;
        }
        loop->scratch[n++] = it;
    }
    for (size_t k = 0; k < n; k++) {
        int rc = fl_heap_push(&loop->timers, loop->scratch[k].key, loop->scratch[k].value);
        FL_ASSERT(rc == 0); /* the heap's storage already held these items */
    }
    loop->timers_cancelled = 0;
}

int fl_loop_timer_start(fl_loop *loop, fl_time_ns delay_ns, fl_loop_timer_fn fn, void *arg,
                        fl_loop_timer_id *id)
{
    FL_ASSERT(fn != NULL);
    if (loop->slot_free == SLOT_NONE && loop->timers_cancelled > 0)
        timers_compact(loop);
    if (loop->slot_free == SLOT_NONE)
        return fl_errmsg_set(&loop->err, FL_EFULL, "event loop: %zu timers (timers_max)",
                             loop->timers_active);
    uint32_t i = loop->slot_free;
    fl_loop_timer_slot *s = &loop->slots[i];
    fl_loop_timer_id tid = (uint64_t)s->gen << 32 | i;
    fl_time_ns deadline =
        delay_ns > FL_TIME_NEVER - loop->now_ns ? FL_TIME_NEVER : loop->now_ns + delay_ns;
    int rc = fl_heap_push(&loop->timers, deadline, tid);
    if (rc)
        return rc; /* FL_ENOMEM: the slot stays free */
    loop->slot_free = s->next_free;
    s->state = SLOT_ACTIVE;
    s->fn = fn;
    s->arg = arg;
    loop->timers_active++;
    if (id)
        *id = tid;
    return 0;
}

bool fl_loop_timer_cancel(fl_loop *loop, fl_loop_timer_id id)
{
    uint32_t i = id_slot(id);
    if (i >= loop->cfg.timers_max)
        return false;
    fl_loop_timer_slot *s = &loop->slots[i];
    if (s->state != SLOT_ACTIVE || s->gen != id_gen(id))
        return false;
    s->state = SLOT_CANCELLED;
    loop->timers_active--;
    loop->timers_cancelled++;
    return true;
}

size_t fl_loop_timers_pending(const fl_loop *loop)
{
    return loop->timers_active;
}

/* Fires the timers due at now that were armed before this phase began. */
static void timers_run(fl_loop *loop)
{
    uint64_t seq_limit = loop->timers.seq_next;
    for (;;) {
        const fl_heap_item *top = fl_heap_peek(&loop->timers);
        if (!top || top->key > loop->now_ns || top->seq >= seq_limit)
            return;
        fl_heap_item it;
        fl_heap_pop(&loop->timers, &it);
        uint32_t i = id_slot(it.value);
        fl_loop_timer_slot *s = &loop->slots[i];
        FL_ASSERT(s->state != SLOT_FREE);
        FL_ASSERT(s->gen == id_gen(it.value));
        bool fire = s->state == SLOT_ACTIVE;
        fl_loop_timer_fn fn = s->fn;
        void *arg = s->arg;
        if (fire)
            loop->timers_active--;
        else
            loop->timers_cancelled--;
        slot_free(loop, i);
        if (fire)
            fn(loop, arg);
    }
}

/* ---- iterations ---- */

static int wait_timeout_ms(const fl_loop *loop, fl_time_ns timeout_ns)
{
    if (loop->stopping)
        return 0;
    const fl_heap_item *top = fl_heap_peek(&loop->timers);
    if (top) {
        fl_time_ns until = top->key > loop->now_ns ? top->key - loop->now_ns : 0;
        if (until < timeout_ns)
            timeout_ns = until;
    }
    if (timeout_ns == FL_TIME_NEVER)
        return -1;
    fl_time_ns ms = (timeout_ns + FL_NS_PER_MS - 1) / FL_NS_PER_MS; /* round up: never early */
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void dispatch(fl_loop *loop)
{
    for (loop->events_pos = 0; loop->events_pos < loop->events_count; loop->events_pos++) {
        struct epoll_event *ev = &loop->events[loop->events_pos];
        fl_loop_watch *w = ev->data.ptr;
        if (!w)
            continue; /* stopped by an earlier callback of this batch */
        uint32_t got = 0;
        if (ev->events & EPOLLIN)
            got |= FL_LOOP_READ;
        if (ev->events & EPOLLOUT)
            got |= FL_LOOP_WRITE;
        if (ev->events & (EPOLLERR | EPOLLHUP))
            got |= FL_LOOP_ERROR;
        w->fn(loop, w, got);
    }
    loop->events_count = 0;
    loop->events_pos = 0;
}

int fl_loop_run_once(fl_loop *loop, fl_time_ns timeout_ns)
{
    fl_time_ns t0 = fl_loop_update_now(loop);
    timers_run(loop);
    fl_time_ns busy = clock_now_ns() - t0; /* the pass's work, not its wait: busy_ns */
    int timeout_ms = wait_timeout_ms(loop, timeout_ns);
    int n = epoll_wait(loop->epfd, loop->events, (int)loop->cfg.events_max, timeout_ms);
    if (n < 0 && errno != EINTR)
        return fl_errmsg_errno(&loop->err, FL_EIO, errno, "epoll_wait");
    loop->events_count = n > 0 ? (size_t)n : 0;
    loop->pass++;
    t0 = fl_loop_update_now(loop);
    dispatch(loop);
    timers_run(loop);
    loop->busy_ns = busy + (clock_now_ns() - t0);
    return 0;
}

bool fl_loop_ready_now(fl_loop *loop)
{
    struct epoll_event ev;
    return epoll_wait(loop->epfd, &ev, 1, 0) > 0;
}

int fl_loop_run(fl_loop *loop)
{
    loop->stopping = false;
    while (!loop->stopping) {
        int rc = fl_loop_run_once(loop, FL_TIME_NEVER);
        if (rc)
            return rc;
    }
    loop->stopping = false;
    return 0;
}

void fl_loop_stop(fl_loop *loop)
{
    loop->stopping = true;
}
