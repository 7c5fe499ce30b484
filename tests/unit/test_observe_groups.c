/* test_observe_groups.c: availability by group of clients over a window (observe.h,
 * fl_observe_groups), the counts of the CAP table: which ops count (invoked inside the window),
 * which are answered (ok or fail completed before its end), reads against writes. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/observe.h"

static void op(fl_history *h, int64_t p, fl_op_f f, fl_time_ns at, fl_ev_type end, fl_time_ns done)
{
    fl_value v = f == FL_F_READ ? fl_value_nil() : fl_value_int(p);
    fl_value none = {.kind = FL_VALUE_NONE};
    CHECK_EQ(fl_history_event(h, p, FL_EV_INVOKE, f, "k", f == FL_F_READ ? none : v, none, at), 0);
    if (done)
        CHECK_EQ(fl_history_event(h, p, end, f, "k", v, none, done), 0);
}

/* even processes on side 0, odd ones on side 1, process 9 on neither */
static uint32_t parity(void *arg, int64_t process)
{
    (void)arg;
    return process == 9 ? 7 : (uint32_t)(process % 2);
}

TEST(observe_groups_counts_answers_inside_the_window)
{
    fl_history h;
    fl_history_init(&h);
    op(&h, 0, FL_F_READ, 5, FL_EV_OK, 8);      /* before the window: not counted */
    op(&h, 0, FL_F_READ, 10, FL_EV_OK, 12);    /* answered */
    op(&h, 0, FL_F_WRITE, 20, FL_EV_INFO, 30); /* info: not answered */
    op(&h, 0, FL_F_WRITE, 40, FL_EV_OK, 120);  /* answered after the window: not answered */
    op(&h, 1, FL_F_WRITE, 10, FL_EV_FAIL, 15); /* fail is a definite answer */
    op(&h, 1, FL_F_READ, 50, FL_EV_OK, 0);     /* never completed */
    op(&h, 5, FL_F_WRITE, 60, FL_EV_OK, 0);    /* nor this write */
    op(&h, 9, FL_F_READ, 20, FL_EV_OK, 21);    /* no group */
    op(&h, 3, FL_F_READ, 100, FL_EV_OK, 101);  /* at the window's end: not counted */
    fl_observe_group g[2];
    CHECK_EQ(fl_observe_groups(&h, 10, 100, parity, NULL, g, 2), 0);
    CHECK_EQ(g[0].reads, 1);
    CHECK_EQ(g[0].reads_answered, 1);
    CHECK_EQ(g[0].writes, 2);
    CHECK_EQ(g[0].writes_answered, 0);
    CHECK_EQ(g[1].reads, 1);
    CHECK_EQ(g[1].reads_answered, 0);
    CHECK_EQ(g[1].writes, 2);
    CHECK_EQ(g[1].writes_answered, 1);
    fl_history_free(&h);
}

TEST(observe_groups_refuses_a_history_that_does_not_pair)
{
    fl_history h;
    fl_history_init(&h);
    fl_value none = {.kind = FL_VALUE_NONE};
    CHECK_EQ(fl_history_event(&h, 0, FL_EV_OK, FL_F_READ, "k", fl_value_nil(), none, 1), 0);
    fl_observe_group g[1];
    CHECK_EQ(fl_observe_groups(&h, 0, 10, parity, NULL, g, 1), FL_ESYNTAX);
    fl_history_free(&h);
}
