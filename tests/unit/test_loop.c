/* test_loop.c: unit tests for io/loop.c and io/net.c: timer order and cancellation, address
 * parsing, and a TCP echo over loopback driven entirely by the event loop. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/loop.h"
#include "faultline/net.h"

#include <unistd.h>

#define FIRED_MAX 16

struct fired {
    int order[FIRED_MAX];
    int count;
    fl_time_ns at[FIRED_MAX];
};

struct timer_arg {
    struct fired *f;
    int tag;
};

static void on_timer(fl_loop *loop, void *arg)
{
    struct timer_arg *t = arg;
    if (t->f->count < FIRED_MAX) {
        t->f->at[t->f->count] = fl_loop_now(loop);
        t->f->order[t->f->count++] = t->tag;
    }
}

static void on_stop(fl_loop *loop, void *arg)
{
    fl_loop_stop(loop);
}

TEST(loop_timers_fire_in_deadline_then_fifo_order)
{
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    struct fired f = {0};
    struct timer_arg a[6];
    /* delays in ms; 3 and 4 share a deadline and must fire in start order */
    int delays_ms[6] = {30, 10, 20, 5, 5, 40};
    fl_loop_timer_id ids[6];
    fl_time_ns t0 = fl_loop_now(&loop);
    for (int i = 0; i < 6; i++) {
        a[i] = (struct timer_arg){&f, i};
        CHECK_EQ(fl_loop_timer_start(&loop, (fl_time_ns)delays_ms[i] * FL_NS_PER_MS, on_timer,
                                     &a[i], &ids[i]),
                 0);
    }
    CHECK(fl_loop_timer_cancel(&loop, ids[2]));  /* the 20 ms one never fires */
    CHECK(!fl_loop_timer_cancel(&loop, ids[2])); /* second cancel: nothing pending */
    CHECK_EQ(fl_loop_timers_pending(&loop), 5);
    CHECK_EQ(fl_loop_timer_start(&loop, 50 * FL_NS_PER_MS, on_stop, NULL, NULL), 0);
    CHECK_EQ(fl_loop_run(&loop), 0);
    int want[5] = {3, 4, 1, 0, 5};
    CHECK_EQ(f.count, 5);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(f.order[i], want[i]);
        CHECK(f.at[i] - t0 >= (fl_time_ns)delays_ms[want[i]] * FL_NS_PER_MS); /* never early */
    }
    CHECK_EQ(fl_loop_timers_pending(&loop), 0);
    CHECK(!fl_loop_timer_cancel(&loop, ids[0])); /* fired: its id is stale */
    fl_loop_close(&loop);
}

static void noop_timer(fl_loop *loop, void *arg)
{
}

TEST(loop_timer_table_is_bounded_and_reclaims_cancelled)
{
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, &(fl_loop_config){.timers_max = 8}, NULL), 0);
    fl_loop_timer_id ids[8];
    for (int i = 0; i < 8; i++)
        CHECK_EQ(fl_loop_timer_start(&loop, FL_NS_PER_S, noop_timer, NULL, &ids[i]), 0);
    CHECK_EQ(fl_loop_timer_start(&loop, FL_NS_PER_S, noop_timer, NULL, NULL), FL_EFULL);
    /* an election timer reset pattern: cancel + re-arm many times in a full table */
    for (int round = 0; round < 100; round++) {
        CHECK(fl_loop_timer_cancel(&loop, ids[round % 8]));
        CHECK_EQ(fl_loop_timer_start(&loop, FL_NS_PER_S, noop_timer, NULL, &ids[round % 8]), 0);
    }
    CHECK_EQ(fl_loop_timers_pending(&loop), 8);
    fl_loop_close(&loop);
}

static void rearm_timer(fl_loop *loop, void *arg)
{
    int *count = arg;
    (*count)++;
    CHECK_EQ(fl_loop_timer_start(loop, 0, rearm_timer, arg, NULL), 0);
}

TEST(loop_zero_delay_timer_rearmed_from_callback_does_not_starve)
{
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    int count = 0;
    CHECK_EQ(fl_loop_timer_start(&loop, 0, rearm_timer, &count, NULL), 0);
    CHECK_EQ(fl_loop_run_once(&loop, 0), 0); /* returns: one firing per timer phase */
    CHECK_EQ(count, 2);                      /* the phase before and the one after I/O */
    CHECK_EQ(fl_loop_timers_pending(&loop), 1);
    fl_loop_close(&loop);
}

TEST(addr_parse_accepts_and_explains)
{
    fl_addr a;
    fl_errmsg m;
    char s[FL_ADDR_STR_MAX];
    CHECK_EQ(fl_addr_parse("127.0.0.1:6379", &a, &m), 0);
    CHECK_STR(fl_addr_format(&a, s), "127.0.0.1:6379");
    CHECK_EQ(fl_addr_parse("localhost:0", &a, &m), 0);
    CHECK_STR(fl_addr_format(&a, s), "127.0.0.1:0");
    CHECK_EQ(fl_addr_parse("[::1]:7000", &a, &m), 0);
    CHECK_STR(fl_addr_format(&a, s), "[::1]:7000");
    CHECK_EQ(fl_addr_port(&a), 7000);

    CHECK_EQ(fl_addr_parse("127.0.0.1", &a, &m), FL_ESYNTAX);
    CHECK(strstr(m.text, "missing ':PORT'"));
    CHECK_EQ(fl_addr_parse("127.0.0.1:", &a, &m), FL_ESYNTAX);
    CHECK(strstr(m.text, "missing port"));
    CHECK_EQ(fl_addr_parse("127.0.0.1:70000", &a, &m), FL_ERANGE);
    CHECK(strstr(m.text, "out of range"));
    CHECK_EQ(fl_addr_parse("127.0.0.1:6x", &a, &m), FL_ESYNTAX);
    CHECK(strstr(m.text, "not a number"));
    CHECK_EQ(fl_addr_parse("example.com:80", &a, &m), FL_ESYNTAX);
    CHECK(strstr(m.text, "not an IPv4 address"));
    CHECK_EQ(fl_addr_parse("[::1:80", &a, &m), FL_ESYNTAX);
    CHECK_EQ(fl_addr_parse(":80", &a, &m), FL_ESYNTAX);
    CHECK_EQ(fl_addr_parse("", &a, &m), FL_ESYNTAX);
}

/* ---- echo over loopback: server echoes what it reads; client sends, checks, stops ---- */

#define ECHO_MSG_LEN 100000 /* larger than a socket buffer: forces partial writes */

struct echo {
    int lfd, sfd, cfd;
    fl_loop_watch lw, sw, cw;
    uint8_t pend[4096]; /* server: bytes read but not yet echoed */
    size_t pend_len;
    uint8_t out[ECHO_MSG_LEN], in[ECHO_MSG_LEN];
    size_t out_pos, in_pos;
    bool connected;
    int failures;
};

static void server_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct echo *e = w->arg;
    size_t n;
    if (e->pend_len) {
        if (fl_net_write(e->sfd, e->pend, e->pend_len, &n, NULL))
            e->failures++;
        memmove(e->pend, e->pend + n, e->pend_len - n);
        e->pend_len -= n;
    }
    if (e->pend_len == 0) {
        int rc = fl_net_read(e->sfd, e->pend, sizeof(e->pend), &n, NULL);
        if (rc == FL_ESHUTDOWN) {
            fl_loop_watch_stop(loop, w);
            return;
        }
        e->pend_len = n;
    }
    fl_loop_watch_modify(loop, w, e->pend_len ? FL_LOOP_WRITE : FL_LOOP_READ);
}

static void server_accept(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct echo *e = w->arg;
    int fd;
    fl_addr peer;
    CHECK_EQ(fl_net_accept(e->lfd, &fd, &peer, NULL), 0);
    if (fd < 0)
        return;
    e->sfd = fd;
    CHECK_EQ(fl_loop_watch_start(loop, &e->sw, fd, FL_LOOP_READ, server_io, e), 0);
}

static void client_io(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct echo *e = w->arg;
    size_t n;
    if (!e->connected) {
        if (fl_net_connect_finish(e->cfd, NULL)) {
            e->failures++;
            fl_loop_stop(loop);
            return;
        }
        e->connected = true;
    }
    if ((ev & FL_LOOP_WRITE) && e->out_pos < ECHO_MSG_LEN) {
        CHECK_EQ(fl_net_write(e->cfd, e->out + e->out_pos, ECHO_MSG_LEN - e->out_pos, &n, NULL), 0);
        e->out_pos += n;
    }
    if (ev & FL_LOOP_READ) {
        CHECK_EQ(fl_net_read(e->cfd, e->in + e->in_pos, ECHO_MSG_LEN - e->in_pos, &n, NULL), 0);
        e->in_pos += n;
    }
    uint32_t want = FL_LOOP_READ | (e->out_pos < ECHO_MSG_LEN ? FL_LOOP_WRITE : 0);
    fl_loop_watch_modify(loop, w, want);
    if (e->in_pos == ECHO_MSG_LEN)
        fl_loop_stop(loop);
}

TEST(loop_tcp_echo_over_loopback)
{
    static struct echo e; /* large: keep it off the stack */
    memset(&e, 0, sizeof(e));
    for (size_t i = 0; i < ECHO_MSG_LEN; i++)
        e.out[i] = (uint8_t)(i * 7 + i / 251);
    fl_loop loop;
    fl_errmsg m;
    CHECK_EQ(fl_loop_init(&loop, NULL, &m), 0);
    fl_addr a, bound;
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &a, &m), 0);
    CHECK_EQ(fl_net_listen(&a, 16, &e.lfd, &m), 0);
    CHECK_EQ(fl_net_local_addr(e.lfd, &bound, &m), 0);
    CHECK(fl_addr_port(&bound) != 0);
    CHECK_EQ(fl_loop_watch_start(&loop, &e.lw, e.lfd, FL_LOOP_READ, server_accept, &e), 0);
    CHECK_EQ(fl_net_connect(&bound, &e.cfd, &m), 0);
    CHECK_EQ(fl_loop_watch_start(&loop, &e.cw, e.cfd, FL_LOOP_WRITE, client_io, &e), 0);
    CHECK_EQ(fl_loop_timer_start(&loop, 5 * FL_NS_PER_S, on_stop, NULL, NULL), 0); /* guard */
    CHECK_EQ(fl_loop_run(&loop), 0);
    CHECK_EQ(e.failures, 0);
    CHECK_EQ(e.in_pos, ECHO_MSG_LEN);
    CHECK(memcmp(e.in, e.out, ECHO_MSG_LEN) == 0);
    fl_loop_watch_stop(&loop, &e.cw);
    fl_loop_watch_stop(&loop, &e.sw);
    fl_loop_watch_stop(&loop, &e.lw);
    close(e.cfd);
    close(e.sfd);
    close(e.lfd);
    fl_loop_close(&loop);
}

static void stop_watch(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    fl_loop_stop(loop);
}

TEST(net_connect_refused_is_reported)
{
    fl_addr a, bound;
    fl_errmsg m;
    int lfd, cfd;
    /* find a free port, then close it so nothing listens there */
    CHECK_EQ(fl_addr_parse("127.0.0.1:0", &a, &m), 0);
    CHECK_EQ(fl_net_listen(&a, 1, &lfd, &m), 0);
    CHECK_EQ(fl_net_local_addr(lfd, &bound, &m), 0);
    close(lfd);
    CHECK_EQ(fl_net_connect(&bound, &cfd, &m), 0);
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    fl_loop_watch w = {0};
    CHECK_EQ(fl_loop_watch_start(&loop, &w, cfd, FL_LOOP_WRITE, stop_watch, NULL), 0);
    CHECK_EQ(fl_loop_run_once(&loop, FL_NS_PER_S), 0);
    CHECK_EQ(fl_net_connect_finish(cfd, &m), FL_EIO);
    CHECK(strstr(m.text, "refused"));
    fl_loop_watch_stop(&loop, &w);
    close(cfd);
    fl_loop_close(&loop);
}

/* Two readable fds in one epoll batch: whichever callback runs first stops (and could free)
 * the other watch; the other callback must then never run. */
struct pair_watch {
    fl_loop_watch w;
    struct pair_watch *other;
    int calls;
};

static void stop_other(fl_loop *loop, fl_loop_watch *w, uint32_t ev)
{
    struct pair_watch *p = w->arg;
    p->calls++;
    fl_loop_watch_stop(loop, &p->other->w);
    fl_loop_watch_stop(loop, w);
}

TEST(loop_stopping_another_watch_drops_its_pending_event)
{
    int a[2], b[2];
    CHECK_EQ(pipe(a), 0);
    CHECK_EQ(pipe(b), 0);
    CHECK_EQ(write(a[1], "x", 1), 1);
    CHECK_EQ(write(b[1], "y", 1), 1);
    fl_loop loop;
    CHECK_EQ(fl_loop_init(&loop, NULL, NULL), 0);
    struct pair_watch pa = {0}, pb = {0};
    pa.other = &pb;
    pb.other = &pa;
    CHECK_EQ(fl_loop_watch_start(&loop, &pa.w, a[0], FL_LOOP_READ, stop_other, &pa), 0);
    CHECK_EQ(fl_loop_watch_start(&loop, &pb.w, b[0], FL_LOOP_READ, stop_other, &pb), 0);
    CHECK_EQ(fl_loop_run_once(&loop, 0), 0);
    CHECK_EQ(pa.calls + pb.calls, 1);
    CHECK_EQ(loop.watches_count, 0);
    fl_loop_close(&loop);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}
