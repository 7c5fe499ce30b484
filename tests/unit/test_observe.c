/* test_observe.c: the observables (observe.h) on small hand-computed scenarios: split-brain
 * (stale leader, same-term violation), leader outages, latency percentiles, throughput and
 * windows, availability and the longest write gap, stale reads (register, kv with deletes,
 * append), the JSON output, determinism and bad input. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/json_read.h"
#include "faultline/observe.h"

#include <stdlib.h>

#define MS FL_NS_PER_MS
#define S  FL_NS_PER_S

/* ---- building histories -------------------------------------------------------------------- */

static void add(fl_history *h, int64_t proc, fl_ev_type type, fl_op_f f, const char *key,
                fl_value v, fl_time_ns t)
{
    fl_event e = {.process = proc, .type = (uint8_t)type, .f = (uint8_t)f, .value = v, .time = t};
    e.key = FL_KEY_NONE;
    if (key)
        CHECK_EQ(fl_history_intern(h, key, strlen(key), &e.key), 0);
    CHECK_EQ(fl_history_add(h, &e), 0);
}

static void add_cas(fl_history *h, int64_t proc, fl_ev_type type, const char *key, int64_t from,
                    int64_t to, fl_time_ns t)
{
    fl_event e = {.process = proc, .type = (uint8_t)type, .f = FL_F_CAS, .pair = true, .time = t};
    e.value = fl_value_int(from);
    e.value2 = fl_value_int(to);
    e.key = FL_KEY_NONE;
    if (key)
        CHECK_EQ(fl_history_intern(h, key, strlen(key), &e.key), 0);
    CHECK_EQ(fl_history_add(h, &e), 0);
}

static fl_value str(fl_history *h, const char *s)
{
    fl_value v;
    CHECK_EQ(fl_value_str(h, s, strlen(s), &v), 0);
    return v;
}

static const fl_value none = {.kind = FL_VALUE_NONE};

/* An op invoked at a and completed (type) at b by proc, of one shot. */
static void op(fl_history *h, int64_t proc, fl_op_f f, const char *key, fl_value in,
               fl_ev_type type, fl_value out, fl_time_ns a, fl_time_ns b)
{
    add(h, proc, FL_EV_INVOKE, f, key, in, a);
    add(h, proc, type, f, key, out, b);
}

static int compute(const fl_history *h, const fl_observe_role *roles, size_t nroles,
                   const fl_observe_service *svc, size_t nsvc, fl_time_ns start, fl_time_ns end,
                   fl_observables *o)
{
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = h;
    in.roles = roles;
    in.role_count = nroles;
    in.service = svc;
    in.service_count = nsvc;
    in.run_start_ns = start;
    in.run_end_ns = end;
    return fl_observe_compute(&in, o);
}

/* ---- split-brain --------------------------------------------------------------------------- */

/* Leader 1 (term 2) is partitioned at 1 s, node 2 becomes leader of term 3 at 1.3 s, node 1
 * steps down at 1.5 s: one stale-leader interval of 200 ms; node 1's read at 1.4 s counts,
 * its read at 0.5 s (alone) and at 1.5 s (after stepping down) do not, nor node 2's write. */
TEST(observe_split_stale_leader)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_role roles[] = {
        {0, 1, true, 2},         {0, 2, false, 2},         {0, 3, false, 2},
        {1300 * MS, 2, true, 3}, {1300 * MS, 3, false, 3}, {1500 * MS, 1, false, 3},
    };
    const fl_observe_service svc[] = {
        {500 * MS, 1, 2, FL_OBSERVE_SERVED_READ},
        {1400 * MS, 1, 2, FL_OBSERVE_SERVED_READ},
        {1400 * MS, 2, 3, FL_OBSERVE_ACKED_WRITE},
        {1500 * MS, 1, 2, FL_OBSERVE_SERVED_READ},
    };
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 6, svc, 4, 0, 3 * S, &o), 0);
    CHECK_EQ(o.split.intervals, 1);
    CHECK_EQ(o.split.same_term, 0);
    CHECK_EQ(o.split.stale, 1);
    CHECK_EQ(o.split.stale_total_ns, 200 * MS);
    CHECK_EQ(o.split.stale_max_ns, 200 * MS);
    CHECK_EQ(o.split.stale_served_reads, 1);
    CHECK_EQ(o.split.stale_acked_writes, 0);
    CHECK_EQ(o.split.stale_intervals_served, 1);
    CHECK_EQ(o.split.interval_count, 1);
    const fl_observe_split *s = &o.split.interval[0];
    CHECK_EQ(s->start_ns, 1300 * MS);
    CHECK_EQ(s->end_ns, 1500 * MS);
    CHECK_EQ(s->term_min, 2);
    CHECK_EQ(s->term_max, 3);
    CHECK_EQ(s->node_count, 2);
    CHECK(s->stale && !s->same_term);
    CHECK_EQ(o.cost.leaderships, 2);
    CHECK_EQ(o.cost.leader_changes, 1);
    CHECK_EQ(o.avail.outages, 0); /* node 2 took over while node 1 still believed */
    CHECK_EQ(o.avail.first_leader_ns, 0);
    fl_observe_free(&o);
    fl_history_free(&h);
}

TEST(observe_split_same_term_violation)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_role roles[] = {
        {1000 * MS, 1, true, 2},
        {1200 * MS, 2, true, 2},
        {1600 * MS, 2, false, 2},
    };
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 3, NULL, 0, 0, 2 * S, &o), 0);
    CHECK_EQ(o.split.intervals, 1);
    CHECK_EQ(o.split.same_term, 1);
    CHECK_EQ(o.split.stale, 0);
    CHECK_EQ(o.split.stale_total_ns, 0);
    CHECK_EQ(o.split.interval[0].start_ns, 1200 * MS);
    CHECK_EQ(o.split.interval[0].end_ns, 1600 * MS);
    CHECK(o.split.interval[0].same_term);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* Handovers at one instant are no split-brain; an interval still open at run end is closed
 * there; the input order of the role array does not matter. */
TEST(observe_split_open_and_unsorted)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_role roles[] = {
        {2 * S, 3, true, 4}, /* out of order on purpose */
        {1 * S, 1, false, 3},
        {1 * S, 2, true, 3},
        {0, 1, true, 1},
    };
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 4, NULL, 0, 0, 5 * S, &o), 0);
    CHECK_EQ(o.split.intervals, 1);
    CHECK_EQ(o.split.interval[0].start_ns, 2 * S);
    CHECK_EQ(o.split.interval[0].end_ns, FL_TIME_NEVER);
    CHECK_EQ(o.split.stale_total_ns, 3 * S);
    CHECK_EQ(o.cost.leaderships, 3);
    CHECK_EQ(o.avail.outages, 0);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* ---- leader outages ------------------------------------------------------------------------ */

TEST(observe_leader_outages)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_role roles[] = {
        {100 * MS, 1, true, 2},  {1000 * MS, 1, false, 2}, /* crash: 250 ms outage */
        {1250 * MS, 2, true, 3}, {2000 * MS, 2, false, 3}, /* step down: 750 ms outage */
        {2750 * MS, 3, true, 4}, {4000 * MS, 3, false, 4}, /* crash, never recovered */
    };
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 6, NULL, 0, 0, 5 * S, &o), 0);
    CHECK_EQ(o.avail.first_leader_ns, 100 * MS);
    CHECK_EQ(o.avail.outages, 2);
    CHECK_EQ(o.avail.outage_max_ns, 750 * MS);
    CHECK(o.avail.outage_mean_ns > 499.0 * MS && o.avail.outage_mean_ns < 501.0 * MS);
    CHECK(o.avail.leaderless_at_end);
    CHECK_EQ(o.avail.leaderless_at_end_ns, 1 * S);
    CHECK_EQ(o.avail.outage_count, 3);
    CHECK_EQ(o.avail.outage[0].start_ns, 1000 * MS);
    CHECK_EQ(o.avail.outage[0].end_ns, 1250 * MS);
    CHECK_EQ(o.avail.outage[0].lost, 1);
    CHECK_EQ(o.avail.outage[0].lost_term, 2);
    CHECK_EQ(o.avail.outage[1].lost, 2);
    CHECK_EQ(o.avail.outage[2].end_ns, FL_TIME_NEVER);
    CHECK_EQ(o.cost.leader_changes, 2);
    /* windows of 1 s: a leader in 0, 1, 2, 3; none in 4 */
    CHECK_EQ(o.window_count, 5);
    for (size_t i = 0; i < 4; i++)
        CHECK(o.window[i].leader);
    CHECK(!o.window[4].leader);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* The newest leader crashes while a stale one (older term) still believes it leads: that is
 * an outage all the same, until a leader of a newer term appears. */
TEST(observe_outage_behind_stale_leader)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_role roles[] = {
        {0, 1, true, 2},          {1000 * MS, 2, true, 3}, {2000 * MS, 2, false, 3},
        {2100 * MS, 1, false, 3}, {2500 * MS, 3, true, 4},
    };
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 5, NULL, 0, 0, 3 * S, &o), 0);
    CHECK_EQ(o.avail.outages, 1);
    CHECK_EQ(o.avail.outage_max_ns, 500 * MS);
    CHECK_EQ(o.avail.outage[0].start_ns, 2000 * MS);
    CHECK(!o.avail.leaderless_at_end);
    CHECK_EQ(o.split.intervals, 1);
    CHECK_EQ(o.split.stale_total_ns, 1000 * MS);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* ---- latency, throughput, availability ----------------------------------------------------- */

TEST(observe_latency_percentiles)
{
    fl_history h;
    fl_history_init(&h);
    for (int i = 1; i <= 10; i++) /* reads of 1 .. 10 ms */
        op(&h, 1, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(0), (fl_time_ns)i * S,
           (fl_time_ns)i * S + (fl_time_ns)i * MS);
    op(&h, 2, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_FAIL, none, 0, 20 * MS);
    op(&h, 3, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_INFO, none, 0, 30 * MS);
    add(&h, 4, FL_EV_INVOKE, FL_F_WRITE, NULL, fl_value_int(3), 0); /* never completes */
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 11 * S, &o), 0);
    const fl_hist *r = fl_observe_latency_of(&o, FL_F_READ, FL_OBS_OK);
    CHECK_EQ(r->count, 10);
    CHECK_EQ(r->max, 10 * MS);
    CHECK_EQ(r->min, 1 * MS);
    uint64_t p50 = fl_hist_percentile(r, 50), p90 = fl_hist_percentile(r, 90);
    CHECK(p50 >= 5 * MS - 5 * MS / 200 && p50 <= 5 * MS + 5 * MS / 200);
    CHECK(p90 >= 9 * MS - 9 * MS / 200 && p90 <= 9 * MS + 9 * MS / 200);
    uint64_t p999 = fl_hist_percentile(r, 99.9);
    CHECK(p999 >= 10 * MS - 10 * MS / 200 && p999 <= 10 * MS);
    CHECK_EQ(o.latency.ok->count, 10);
    CHECK_EQ(fl_observe_latency_of(&o, FL_F_WRITE, FL_OBS_FAIL)->max, 20 * MS);
    CHECK_EQ(fl_observe_latency_of(&o, FL_F_WRITE, FL_OBS_INFO)->count, 1);
    CHECK_EQ(fl_observe_latency_of(&o, FL_F_WRITE, FL_OBS_INFO)->max, 30 * MS);
    CHECK(fl_observe_latency_of(&o, FL_F_WRITE, FL_OBS_OK) == NULL);
    CHECK_EQ(o.latency.pending, 1);
    CHECK_EQ(o.avail.ops, 13);
    CHECK_EQ(o.avail.ok, 10);
    CHECK_EQ(o.avail.fail, 1);
    CHECK_EQ(o.avail.info, 2);
    CHECK(o.avail.ok_fraction > 10.0 / 13 - 1e-9 && o.avail.ok_fraction < 10.0 / 13 + 1e-9);
    CHECK(fl_observe_latency_of(&o, FL_F_COUNT, FL_OBS_OK) == NULL);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* Run [0, 3 s), windows of 1 s: ok at 0.5 and 0.6 s, a fail at 1.5 s (invoked at 1.4 s,
 * inside the fault 1.2 .. 1.8 s), ok at 2.5 s. */
TEST(observe_throughput_windows)
{
    fl_history h;
    fl_history_init(&h);
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 400 * MS, 500 * MS);
    op(&h, 1, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 550 * MS, 600 * MS);
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_FAIL, none, 1400 * MS, 1500 * MS);
    op(&h, 1, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 2400 * MS, 2500 * MS);
    fl_observe_fault fault = {1200 * MS, 1800 * MS, "partition halves", ""};
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = &h;
    in.faults = &fault;
    in.fault_count = 1;
    in.run_end_ns = 3 * S;
    in.counters = (fl_observe_counters){.messages_sent = 300, .bytes_sent = 3000, .fsyncs = 6};
    fl_observables o;
    CHECK_EQ(fl_observe_compute(&in, &o), 0);
    CHECK_EQ(o.window_count, 3);
    CHECK_EQ(o.window[0].ok, 2);
    CHECK_EQ(o.window[0].ok_writes, 1);
    CHECK_EQ(o.window[0].ok_latency_max_ns, 100 * MS);
    CHECK_EQ(o.window[1].ok, 0);
    CHECK_EQ(o.window[1].fail, 1);
    CHECK_EQ(o.window[2].ok, 1);
    CHECK(o.window[0].answered && !o.window[1].answered && o.window[2].answered);
    CHECK(!o.window[0].in_fault && o.window[1].in_fault && !o.window[2].in_fault);
    CHECK_EQ(o.window[1].start_ns, 1 * S);
    CHECK_EQ(o.avail.windows_answered, 2);
    CHECK(o.avail.windows_answered_fraction > 0.666 && o.avail.windows_answered_fraction < 0.667);
    CHECK(o.ok_per_s > 0.999 && o.ok_per_s < 1.001);
    CHECK_EQ(o.avail.ops_in_fault, 1);
    CHECK_EQ(o.avail.ok_in_fault, 0);
    CHECK_EQ(o.avail.ops_outside_fault, 3);
    CHECK_EQ(o.avail.ok_outside_fault, 3);
    CHECK_EQ(o.latency.ok_in_fault->count, 0);
    CHECK_EQ(o.latency.ok_outside_fault->count, 3);
    CHECK_EQ(o.latency.ok_outside_fault->max, 100 * MS);
    CHECK_EQ(o.fault_total_ns, 600 * MS);
    CHECK_EQ(o.fault_count, 1);
    CHECK_STR(o.fault[0].kind, "partition halves");
    CHECK(o.cost.messages_per_ok > 99.9 && o.cost.messages_per_ok < 100.1);
    CHECK(o.cost.bytes_per_ok > 999.9 && o.cost.bytes_per_ok < 1000.1);
    CHECK(o.cost.fsyncs_per_ok > 1.99 && o.cost.fsyncs_per_ok < 2.01);
    CHECK(o.cost.fsyncs_per_ok_write > 5.99 && o.cost.fsyncs_per_ok_write < 6.01);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* Ok writes complete at 1, 2, 6 and 7 s of a 10 s run: the longest gap is 2 .. 6 s (a failed
 * write and an ok read at 4 s do not end it). Without writes the gap is the whole run. */
TEST(observe_write_gap)
{
    fl_history h;
    fl_history_init(&h);
    static const int done_s[] = {1, 2, 6, 7};
    for (int i = 0; i < 4; i++)
        op(&h, 1, FL_F_PUT, "k", fl_value_int(i + 1), FL_EV_OK, none,
           (fl_time_ns)done_s[i] * S - 10 * MS, (fl_time_ns)done_s[i] * S);
    op(&h, 2, FL_F_PUT, "k", fl_value_int(9), FL_EV_FAIL, none, 3 * S, 4 * S);
    op(&h, 3, FL_F_GET, "k", none, FL_EV_OK, fl_value_int(2), 3 * S, 4 * S);
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 10 * S, &o), 0);
    CHECK_EQ(o.avail.ok_writes, 4);
    CHECK_EQ(o.avail.write_gap_max_ns, 4 * S);
    CHECK_EQ(o.avail.write_gap_start_ns, 2 * S);
    CHECK_EQ(o.avail.write_gap_end_ns, 6 * S);
    fl_observe_free(&o);
    fl_history_free(&h);

    fl_history_init(&h);
    op(&h, 3, FL_F_GET, "k", none, FL_EV_OK, fl_value_nil(), 3 * S, 4 * S);
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 1 * S, 10 * S, &o), 0);
    CHECK_EQ(o.avail.write_gap_max_ns, 9 * S);
    CHECK_EQ(o.avail.write_gap_start_ns, 1 * S);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* ---- stale reads --------------------------------------------------------------------------- */

static uint64_t stale_of(const fl_history *h, uint64_t *checked, uint64_t *unchecked)
{
    fl_observables o;
    CHECK_EQ(compute(h, NULL, 0, NULL, 0, 0, 0, &o), 0);
    uint64_t n = o.stale.stale;
    if (checked)
        *checked = o.stale.checked;
    if (unchecked)
        *unchecked = o.stale.unchecked;
    fl_observe_free(&o);
    return n;
}

/* w1 writes 1, then w2 writes 2 (invoked after w1 completed), then a read returns 1: stale.
 * Same shape with w2 concurrent with w1, or with the read overlapping w2: not stale. */
TEST(observe_stale_register)
{
    fl_history h;
    uint64_t checked;
    fl_history_init(&h);
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 10, 20);
    op(&h, 2, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_OK, none, 30, 40);
    op(&h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 50, 60);
    op(&h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(2), 70, 80);
    CHECK_EQ(stale_of(&h, &checked, NULL), 1);
    CHECK_EQ(checked, 2);
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 0, &o), 0);
    CHECK_EQ(o.stale.example_count, 1);
    CHECK_EQ(o.stale.example[0].read_invoke, 4);
    CHECK_EQ(o.stale.example[0].newer_invoke, 2);
    CHECK_EQ(o.stale.example[0].newer_complete, 3);
    CHECK_EQ(o.stale.example[0].read_invoke_ns, 50);
    CHECK_STR(o.stale.example[0].key, "");
    fl_observe_free(&o);
    fl_history_free(&h);

    fl_history_init(&h); /* w2 invoked before w1 completed: may be ordered first */
    add(&h, 1, FL_EV_INVOKE, FL_F_WRITE, NULL, fl_value_int(1), 10);
    add(&h, 2, FL_EV_INVOKE, FL_F_WRITE, NULL, fl_value_int(2), 15);
    add(&h, 1, FL_EV_OK, FL_F_WRITE, NULL, none, 20);
    add(&h, 2, FL_EV_OK, FL_F_WRITE, NULL, none, 25);
    op(&h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 50, 60);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    fl_history_free(&h);

    fl_history_init(&h); /* the read began before w2 was acknowledged */
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 10, 20);
    add(&h, 2, FL_EV_INVOKE, FL_F_WRITE, NULL, fl_value_int(2), 30);
    add(&h, 3, FL_EV_INVOKE, FL_F_READ, NULL, none, 35);
    add(&h, 2, FL_EV_OK, FL_F_WRITE, NULL, none, 40);
    add(&h, 3, FL_EV_OK, FL_F_READ, NULL, fl_value_int(1), 45);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    fl_history_free(&h);

    fl_history_init(&h); /* w1 info: may take effect after w2 */
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_INFO, none, 10, 20);
    op(&h, 2, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_OK, none, 30, 40);
    op(&h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 50, 60);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    fl_history_free(&h);

    fl_history_init(&h); /* a failed newer write makes nothing stale */
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 10, 20);
    op(&h, 2, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_FAIL, none, 30, 40);
    op(&h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 50, 60);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    fl_history_free(&h);
}

/* A read of nil after an acknowledged write is stale; not if a delete acknowledged later
 * explains it, and again stale if that delete was superseded by a newer put. cas counts as a
 * write of its new value. A value nobody wrote, and incr keys, are not judged. */
TEST(observe_stale_nil_delete_cas)
{
    fl_history h;
    uint64_t checked, unchecked;
    fl_history_init(&h);
    op(&h, 1, FL_F_PUT, "a", fl_value_int(1), FL_EV_OK, none, 10, 20);
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_nil(), 30, 40); /* stale */
    op(&h, 2, FL_F_GET, "b", none, FL_EV_OK, fl_value_nil(), 30, 40); /* never written */
    CHECK_EQ(stale_of(&h, &checked, NULL), 1);
    CHECK_EQ(checked, 2);
    op(&h, 1, FL_F_DELETE, "a", none, FL_EV_OK, none, 50, 60);
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_nil(), 70, 80); /* explained */
    CHECK_EQ(stale_of(&h, NULL, NULL), 1);
    op(&h, 1, FL_F_PUT, "a", fl_value_int(2), FL_EV_OK, none, 90, 100);
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_nil(), 110, 120); /* stale */
    CHECK_EQ(stale_of(&h, NULL, NULL), 2);
    add_cas(&h, 1, FL_EV_INVOKE, "a", 2, 3, 130);
    add_cas(&h, 1, FL_EV_OK, "a", 2, 3, 140);
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_int(2), 150, 160); /* stale */
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_int(3), 170, 180); /* fresh */
    CHECK_EQ(stale_of(&h, &checked, &unchecked), 3);
    CHECK_EQ(checked, 6);
    CHECK_EQ(unchecked, 0);
    op(&h, 2, FL_F_GET, "a", none, FL_EV_OK, fl_value_int(77), 190, 200); /* nobody wrote 77 */
    op(&h, 1, FL_F_INCR, "c", fl_value_int(1), FL_EV_OK, none, 210, 220);
    op(&h, 2, FL_F_GET, "c", none, FL_EV_OK, fl_value_nil(), 230, 240); /* incr key */
    CHECK_EQ(stale_of(&h, &checked, &unchecked), 3);
    CHECK_EQ(checked, 6);
    CHECK_EQ(unchecked, 2);
    fl_history_free(&h);
}

/* Appends "a." and "b." acknowledged, then a read of "a." misses "b.": stale; "a.b." is
 * not. A put that may be ordered after the appends (info) excuses a read that misses them. */
TEST(observe_stale_append)
{
    fl_history h;
    uint64_t checked;
    fl_history_init(&h);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 10, 20);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "b."), FL_EV_OK, none, 30, 40);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "a."), 50, 60);   /* stale */
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "a.b."), 70, 80); /* fresh */
    CHECK_EQ(stale_of(&h, &checked, NULL), 1);
    CHECK_EQ(checked, 2);
    fl_history_free(&h);

    fl_history_init(&h); /* the read began before "b." was acknowledged */
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 10, 20);
    add(&h, 1, FL_EV_INVOKE, FL_F_APPEND, "k", str(&h, "b."), 30);
    add(&h, 2, FL_EV_INVOKE, FL_F_GET, "k", none, 35);
    add(&h, 1, FL_EV_OK, FL_F_APPEND, "k", none, 40);
    add(&h, 2, FL_EV_OK, FL_F_GET, "k", str(&h, "a."), 45);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    fl_history_free(&h);

    fl_history_init(&h); /* put x, info, may land after both appends */
    op(&h, 3, FL_F_PUT, "k", str(&h, "x"), FL_EV_INFO, none, 5, 8);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 10, 20);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "b."), FL_EV_OK, none, 30, 40);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "x"), 50, 60);
    CHECK_EQ(stale_of(&h, &checked, NULL), 0);
    CHECK_EQ(checked, 1);
    fl_history_free(&h);

    fl_history_init(&h); /* put x, ok before the appends: a read of nil misses both */
    op(&h, 3, FL_F_PUT, "k", str(&h, "x"), FL_EV_OK, none, 5, 8);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 10, 20);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, fl_value_nil(), 50, 60);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "xa."), 70, 80);
    CHECK_EQ(stale_of(&h, NULL, NULL), 1);
    fl_history_free(&h);
}

/* ---- output, determinism, bad input -------------------------------------------------------- */

static void scenario(fl_history *h, fl_observables *o)
{
    fl_history_init(h);
    op(h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 100 * MS, 110 * MS);
    op(h, 2, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_OK, none, 200 * MS, 210 * MS);
    op(h, 3, FL_F_READ, NULL, none, FL_EV_OK, fl_value_int(1), 1400 * MS, 1410 * MS);
    add(h, 4, FL_EV_INVOKE, FL_F_WRITE, NULL, fl_value_int(3), 1450 * MS);
    const fl_observe_role roles[] = {
        {0, 1, true, 2}, {1300 * MS, 2, true, 3}, {1500 * MS, 1, false, 3}};
    const fl_observe_service svc[] = {{1400 * MS, 1, 2, FL_OBSERVE_SERVED_READ}};
    const fl_observe_fault faults[] = {{1000 * MS, FL_TIME_NEVER, "isolate \"leader\"", ""}};
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = h;
    in.roles = roles;
    in.role_count = 3;
    in.service = svc;
    in.service_count = 1;
    in.faults = faults;
    in.fault_count = 1;
    in.run_end_ns = 2 * S;
    in.counters = (fl_observe_counters){10, 1000, 5, 2};
    CHECK_EQ(fl_observe_compute(&in, o), 0);
}

static int64_t get_int(const fl_jr_doc *d, uint32_t obj, const char *path1, const char *path2)
{
    uint32_t n = fl_jr_get(d, obj, path1);
    CHECK(n != FL_JR_NONE);
    if (path2)
        n = fl_jr_get(d, n, path2);
    CHECK(n != FL_JR_NONE);
    int64_t v;
    CHECK_EQ(fl_jr_int(d, n, &v), 0);
    return v;
}

TEST(observe_json_and_summary)
{
    fl_history h;
    fl_observables o;
    scenario(&h, &o);
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, false);
    fl_observe_write_json(&o, &j);
    CHECK_EQ(b.err, 0);
    static fl_jr_node nodes[4096];
    fl_jr_doc d;
    CHECK_EQ(fl_jr_parse(&d, (const char *)b.data, b.len, nodes, 4096), 0);
    CHECK_EQ(get_int(&d, 0, "run", "duration_ns"), 2 * S);
    CHECK_EQ(get_int(&d, 0, "split_brain", "intervals"), 1);
    CHECK_EQ(get_int(&d, 0, "split_brain", "same_term_violations"), 0);
    uint32_t sl = fl_jr_get(&d, 0, "split_brain");
    CHECK_EQ(get_int(&d, sl, "stale_leader", "served_reads"), 1);
    CHECK_EQ(get_int(&d, sl, "stale_leader", "total_ns"), 200 * MS);
    CHECK_EQ(get_int(&d, 0, "stale_reads", "stale"), 1);
    CHECK_EQ(get_int(&d, 0, "availability", "ops"), 4);
    CHECK_EQ(get_int(&d, 0, "latency", "pending"), 1);
    CHECK_EQ(get_int(&d, 0, "cost", "messages_sent"), 10);
    CHECK_EQ(get_int(&d, 0, "faults", "total_ns"), 1 * S);
    uint32_t lat = fl_jr_get(&d, 0, "latency");
    uint32_t wr = fl_jr_get(&d, fl_jr_get(&d, lat, "by_f"), "write");
    CHECK_EQ(get_int(&d, wr, "ok", "count"), 2);
    CHECK(fl_jr_get(&d, fl_jr_get(&d, lat, "by_f"), "cas") == FL_JR_NONE);
    uint32_t wins = fl_jr_get(&d, fl_jr_get(&d, 0, "throughput"), "windows");
    CHECK(wins != FL_JR_NONE);
    CHECK_EQ(nodes[wins].count, 2);
    uint32_t f0 = fl_jr_at(&d, fl_jr_get(&d, fl_jr_get(&d, 0, "faults"), "list"), 0);
    CHECK(fl_jr_str_eq(&d, fl_jr_get(&d, f0, "kind"), "isolate \"leader\""));
    CHECK(nodes[fl_jr_get(&d, f0, "end_ns")].type == FL_JR_NULL);

    /* the same input gives the same bytes */
    fl_history h2;
    fl_observables o2;
    scenario(&h2, &o2);
    fl_buf b2;
    fl_buf_init(&b2);
    fl_json_init(&j, &b2, true);
    fl_observe_write_json(&o2, &j);
    fl_buf_reset(&b);
    fl_json_init(&j, &b, true);
    fl_observe_write_json(&o, &j);
    CHECK_EQ(b.len, b2.len);
    CHECK(memcmp(b.data, b2.data, b.len) == 0);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    fl_observe_print_summary(&o, f);
    fclose(f);
    CHECK(strstr(text, "split-brain    1 intervals") != NULL);
    CHECK(strstr(text, "stale reads    1 of") != NULL);
    free(text);
    fl_buf_free(&b);
    fl_buf_free(&b2);
    fl_observe_free(&o);
    fl_observe_free(&o2);
    fl_history_free(&h);
    fl_history_free(&h2);
}

TEST(observe_empty_and_bad_input)
{
    fl_history h;
    fl_history_init(&h);
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 0, &o), 0);
    CHECK_EQ(o.window_count, 1);
    CHECK_EQ(o.avail.ops, 0);
    CHECK(o.avail.ok_fraction == 1.0);
    CHECK_EQ(o.avail.first_leader_ns, FL_TIME_NEVER);
    CHECK(!o.avail.leaderless_at_end);
    fl_observe_free(&o);

    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 5 * S, 1 * S, &o), FL_ERANGE);
    fl_observe_free(&o); /* safe after an error */
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = &h;
    in.run_end_ns = UINT64_MAX - 1;
    in.window_ns = 1;
    CHECK_EQ(fl_observe_compute(&in, &o), FL_ERANGE);
    in.history = NULL;
    CHECK_EQ(fl_observe_compute(&in, &o), FL_EINVAL);
    in.history = &h;
    in.role_count = 3; /* roles NULL */
    CHECK_EQ(fl_observe_compute(&in, &o), FL_EINVAL);

    add(&h, 1, FL_EV_OK, FL_F_READ, NULL, fl_value_int(1), 5); /* completion without invoke */
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 0, &o), FL_ESYNTAX);
    fl_history_free(&h);

    /* a completion timed before its invocation, and events outside the run */
    fl_history_init(&h);
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(1), FL_EV_OK, none, 50, 40);
    op(&h, 1, FL_F_WRITE, NULL, fl_value_int(2), FL_EV_OK, none, 5 * S, 6 * S);
    const fl_observe_role roles[] = {{7 * S, 1, true, 1}, {0, 2, false, 0}};
    CHECK_EQ(compute(&h, roles, 2, NULL, 0, 10, 2 * S, &o), 0);
    CHECK_EQ(o.latency.clock_errors, 1);
    CHECK_EQ(o.window[0].ok, 1);
    CHECK_EQ(o.window[1].ok, 1);
    CHECK_EQ(o.avail.first_leader_ns, 7 * S - 10);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* Many leaders of one term at once (hostile input): bounded work, one interval. */
TEST(observe_many_nodes)
{
    fl_history h;
    fl_history_init(&h);
    enum { N = 500 };
    fl_observe_role *roles = calloc(2 * N, sizeof(*roles));
    CHECK(roles != NULL);
    for (uint32_t i = 0; i < N; i++) {
        roles[i] = (fl_observe_role){(fl_time_ns)i, i + 1, true, 7};
        roles[N + i] = (fl_observe_role){(fl_time_ns)(N + i), i + 1, false, 7};
    }
    fl_observables o;
    CHECK_EQ(compute(&h, roles, 2 * N, NULL, 0, 0, 10 * N, &o), 0);
    CHECK_EQ(o.split.intervals, 1);
    CHECK_EQ(o.split.same_term, 1);
    CHECK_EQ(o.split.interval[0].node_count, N);
    CHECK_EQ(o.split.interval[0].start_ns, 1);
    CHECK_EQ(o.split.interval[0].end_ns, 2 * N - 2);
    CHECK(o.avail.leaderless_at_end);
    CHECK_EQ(o.cost.leaderships, N);
    fl_observe_free(&o);
    free(roles);
    fl_history_free(&h);
}

TEST(observe_too_many_nodes_and_empty_output)
{
    fl_history h;
    fl_history_init(&h);
    enum { N = FL_OBSERVE_NODES_MAX + 1 };
    fl_observe_service *svc = calloc(N, sizeof(*svc));
    CHECK(svc != NULL);
    for (uint32_t i = 0; i < N; i++)
        svc[i] = (fl_observe_service){i, i + 1, 1, 7 /* unknown kind: ignored */};
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, svc, N, 0, 0, &o), FL_ETOOBIG);
    CHECK_EQ(compute(&h, NULL, 0, svc, N - 1, 0, 0, &o), 0);
    fl_observe_free(&o);
    free(svc);

    /* an empty (zeroed or freed) result can still be written and printed */
    fl_buf b;
    fl_buf_init(&b);
    fl_json j;
    fl_json_init(&j, &b, false);
    fl_observe_write_json(&o, &j);
    CHECK_EQ(b.err, 0);
    static fl_jr_node nodes[256];
    fl_jr_doc d;
    CHECK_EQ(fl_jr_parse(&d, (const char *)b.data, b.len, nodes, 256), 0);
    FILE *f = fopen("/dev/null", "w");
    CHECK(f != NULL);
    fl_observe_print_summary(&o, f);
    fclose(f);
    fl_buf_free(&b);
    fl_history_free(&h);
}

/* Faults are clipped to the run and merged: [-, 1 s) + [0.5, 1.5 s) + [3 s, never) in a run
 * [0.2 s, 4 s) cover 0.2 .. 1.5 s and 3 .. 4 s; windows of 0.9 s. */
TEST(observe_fault_union)
{
    fl_history h;
    fl_history_init(&h);
    const fl_observe_fault faults[] = {
        {3 * S, FL_TIME_NEVER, "crash n1", ""},
        {0, 1 * S, "partition", ""},
        {500 * MS, 1500 * MS, "loss 20%", ""},
        {2 * S, 2 * S, "empty", ""},
    };
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = &h;
    in.faults = faults;
    in.fault_count = 4;
    in.run_start_ns = 200 * MS;
    in.run_end_ns = 4 * S;
    in.window_ns = 900 * MS;
    fl_observables o;
    CHECK_EQ(fl_observe_compute(&in, &o), 0);
    CHECK_EQ(o.fault_total_ns, 1300 * MS + 1 * S);
    CHECK_EQ(o.faults, 4);
    CHECK_STR(o.fault[0].kind, "partition");
    CHECK_STR(o.fault[3].kind, "crash n1");
    CHECK_EQ(o.window_count, 5); /* 0.2, 1.1, 2.0, 2.9, 3.8 s */
    CHECK(o.window[0].in_fault && o.window[1].in_fault && !o.window[2].in_fault);
    CHECK(o.window[3].in_fault && o.window[4].in_fault);
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* The recorder keeps only changes, and its arrays feed the computation: the stale-leader
 * scenario again, recorded the way a runner would (after every step, repeated states). */
TEST(observe_recorder)
{
    fl_observe_recorder r;
    fl_observe_recorder_init(&r);
    for (fl_time_ns t = 0; t < 1300 * MS; t += 100 * MS) {
        CHECK_EQ(fl_observe_record_role(&r, t, 1, true, 2), 0);
        CHECK_EQ(fl_observe_record_role(&r, t, 2, false, 2), 0);
    }
    CHECK_EQ(r.role_count, 2);
    size_t id;
    CHECK_EQ(fl_observe_fault_begin(&r, 1000 * MS, "isolate leader (node 1) for long", &id), 0);
    CHECK_EQ(fl_observe_record_role(&r, 1300 * MS, 2, true, 3), 0);
    CHECK_EQ(fl_observe_record_service(&r, 1400 * MS, 1, 2, FL_OBSERVE_SERVED_READ), 0);
    CHECK_EQ(fl_observe_record_service(&r, 1450 * MS, 1, 2, FL_OBSERVE_ACKED_WRITE), 0);
    CHECK_EQ(fl_observe_record_down(&r, 1500 * MS, 1), 0);
    CHECK_EQ(fl_observe_record_down(&r, 1600 * MS, 1), 0); /* no change */
    CHECK_EQ(r.role_count, 4);
    CHECK_EQ(r.roles[3].term, 2);
    CHECK_EQ(fl_observe_fault_end(&r, id, 1800 * MS), 0);
    CHECK_EQ(fl_observe_fault_end(&r, id + 1, 1800 * MS), FL_EINVAL);
    CHECK_EQ(fl_observe_fault_end(&r, id, 1 * MS), FL_EINVAL);
    r.counters.messages_sent = 42;

    fl_history h;
    fl_history_init(&h);
    fl_observe_input in;
    fl_observe_input_init(&in);
    fl_observe_recorder_input(&r, &in);
    in.history = &h;
    in.run_end_ns = 2 * S;
    fl_observables o;
    CHECK_EQ(fl_observe_compute(&in, &o), 0);
    CHECK_EQ(o.split.stale, 1);
    CHECK_EQ(o.split.stale_total_ns, 200 * MS);
    CHECK_EQ(o.split.stale_served_reads, 1);
    CHECK_EQ(o.split.stale_acked_writes, 1);
    CHECK_EQ(o.fault_total_ns, 800 * MS);
    CHECK_STR(o.fault[0].kind, "isolate leader (node 1) for lon");
    CHECK_EQ(o.cost.counters.messages_sent, 42);
    fl_observe_free(&o);
    fl_history_free(&h);

    r.entries_max = r.service_count; /* bounded */
    CHECK_EQ(fl_observe_record_service(&r, 1, 1, 1, FL_OBSERVE_SERVED_READ), FL_EFULL);
    fl_observe_recorder_free(&r);
}

/* A history read from JSON lines: the stale read's example carries the source lines. */
TEST(observe_stale_read_lines_from_file)
{
    const char *text =
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"k\",\"value\":1}\n"
        "{\"process\":1,\"type\":\"ok\",\"f\":\"put\",\"key\":\"k\",\"value\":1}\n"
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"k\",\"value\":2}\n"
        "{\"process\":1,\"type\":\"ok\",\"f\":\"put\",\"key\":\"k\",\"value\":2}\n"
        "{\"process\":2,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k\"}\n"
        "{\"process\":2,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k\",\"value\":1}\n";
    fl_history h;
    fl_history_init(&h);
    CHECK_EQ(fl_history_read_jsonl(&h, text, strlen(text), NULL), 0);
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 0, &o), 0);
    CHECK_EQ(o.stale.stale, 1);
    CHECK_EQ(o.stale.example[0].read_line, 5);
    CHECK_EQ(o.stale.example[0].newer_line, 3);
    CHECK_STR(o.stale.example[0].key, "k");
    fl_observe_free(&o);
    fl_history_free(&h);
}

/* On a key with appends, a put that definitely came last before the read (every other
 * replace completed before it began) must start the value read: "xa." after put "y" was
 * acknowledged is stale (no append is owed: the put may have erased "a."). Concurrent puts
 * leave either possible. */
TEST(observe_stale_append_key_put_prefix)
{
    fl_history h;
    uint64_t checked;
    fl_history_init(&h);
    op(&h, 1, FL_F_PUT, "k", str(&h, "x"), FL_EV_OK, none, 10, 20);
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 30, 40);
    op(&h, 1, FL_F_PUT, "k", str(&h, "y"), FL_EV_OK, none, 50, 60);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "xa."), 70, 80); /* stale */
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "y"), 90, 100);  /* fresh */
    CHECK_EQ(stale_of(&h, &checked, NULL), 1);
    CHECK_EQ(checked, 2);
    fl_observables o;
    CHECK_EQ(compute(&h, NULL, 0, NULL, 0, 0, 0, &o), 0);
    CHECK_EQ(o.stale.example[0].newer_invoke, 4);
    fl_observe_free(&o);
    fl_history_free(&h);

    fl_history_init(&h); /* the puts overlap: either may be last */
    op(&h, 1, FL_F_APPEND, "k", str(&h, "a."), FL_EV_OK, none, 1, 2);
    add(&h, 1, FL_EV_INVOKE, FL_F_PUT, "k", str(&h, "x"), 10);
    add(&h, 3, FL_EV_INVOKE, FL_F_PUT, "k", str(&h, "y"), 15);
    add(&h, 1, FL_EV_OK, FL_F_PUT, "k", none, 20);
    add(&h, 3, FL_EV_OK, FL_F_PUT, "k", none, 25);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "x"), 70, 80);
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "y"), 90, 100);
    CHECK_EQ(stale_of(&h, NULL, NULL), 0);
    op(&h, 3, FL_F_PUT, "k", str(&h, "z"), FL_EV_OK, none, 110, 120); /* then a last put */
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "x"), 130, 140); /* stale */
    op(&h, 2, FL_F_GET, "k", none, FL_EV_OK, str(&h, "z"), 150, 160); /* fresh */
    CHECK_EQ(stale_of(&h, NULL, NULL), 1);
    fl_history_free(&h);
}
