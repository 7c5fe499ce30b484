/* fuzz_observe.c: libFuzzer target for the observables (observe.h). The input drives a
 * history (always well paired, so the computation runs to the end), a role timeline, service
 * events and faults, all with small times so windows stay few. Nothing may crash or leak;
 * the counts must add up; the JSON must parse; two computations give the same bytes. */
#include "faultline/assert.h"
#include "faultline/json_read.h"
#include "faultline/observe.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ITEMS_MAX 256

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static uint8_t byte(src *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

static fl_time_ns small_time(src *s)
{
    return (fl_time_ns)byte(s) << 20 | (fl_time_ns)byte(s) << 12;
}

static fl_value value_of(src *s, fl_history *h)
{
    uint8_t b = byte(s);
    if (b < 16)
        return fl_value_nil();
    if (b < 128)
        return fl_value_int(b % 8);
    char text[2] = {(char)('a' + b % 4), 0};
    fl_value v = fl_value_nil();
    (void)fl_value_str(h, text, 1, &v);
    return v;
}

/* Events from 4 bytes each: process, f/type, key, value. A process with an op pending
 * completes it (ok, fail or info); otherwise it invokes one. */
static void build_history(src *s, fl_history *h, size_t count)
{
    uint8_t pending_f[4] = {0};
    bool pending[4] = {false};
    fl_time_ns t = 0;
    uint32_t keys[3];
    for (int i = 0; i < 3; i++) {
        char k[2] = {(char)('x' + i), 0};
        FL_ASSERT(fl_history_intern(h, k, 1, &keys[i]) == 0);
    }
    for (size_t i = 0; i < count && s->n; i++) {
        uint8_t pb = byte(s), fb = byte(s), kb = byte(s);
        size_t p = pb % 4;
        t += (fl_time_ns)(pb >> 2) << 16;
        fl_event e = {.process = (int64_t)p, .time = t};
        e.key = kb % 4 == 3 ? FL_KEY_NONE : keys[kb % 4];
        if (pending[p]) {
            e.f = pending_f[p];
            e.type = (uint8_t)(FL_EV_OK + fb % 3);
            if ((e.f == FL_F_READ || e.f == FL_F_GET) && e.type == FL_EV_OK)
                e.value = value_of(s, h);
            pending[p] = false;
        } else {
            e.f = (uint8_t)(fb % FL_F_COUNT);
            e.type = FL_EV_INVOKE;
            e.value = value_of(s, h);
            if (e.value.kind == FL_VALUE_NIL && e.f != FL_F_READ && e.f != FL_F_GET &&
                e.f != FL_F_DELETE)
                e.value = fl_value_int(1);
            if (e.f == FL_F_CAS) {
                e.pair = true;
                e.value2 = value_of(s, h);
                if (e.value2.kind == FL_VALUE_NIL)
                    e.value2 = fl_value_int(2);
            }
            pending[p] = true;
            pending_f[p] = e.f;
        }
        FL_ASSERT(fl_history_add(h, &e) == 0);
    }
}

static void to_json(const fl_observables *o, fl_buf *b)
{
    fl_json j;
    fl_json_init(&j, b, false);
    fl_observe_write_json(o, &j);
    FL_ASSERT(b->err == 0);
}

static void check(const fl_observables *o)
{
    const fl_observe_avail *a = &o->avail;
    FL_ASSERT(a->ok + a->fail + a->info == a->ops);
    uint64_t ok = 0;
    for (size_t i = 0; i < o->window_count; i++)
        ok += o->window[i].ok;
    FL_ASSERT(ok == a->ok);
    FL_ASSERT(o->stale.checked + o->stale.unchecked == o->stale.reads_ok);
    FL_ASSERT(o->stale.stale <= o->stale.checked);
    FL_ASSERT(o->split.same_term <= o->split.intervals);
    FL_ASSERT(o->split.stale <= o->split.intervals);
    FL_ASSERT(a->write_gap_max_ns <= o->duration_ns);
    FL_ASSERT(o->fault_total_ns <= o->duration_ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, size};
    size_t nroles = byte(&s) % 32, nsvc = byte(&s) % 32, nfaults = byte(&s) % 8;
    fl_observe_role roles[32];
    fl_observe_service svc[32];
    fl_observe_fault faults[8];
    for (size_t i = 0; i < nroles; i++) {
        uint8_t b = byte(&s);
        roles[i] = (fl_observe_role){small_time(&s), b % 5, b & 8, (b >> 4) % 4};
    }
    for (size_t i = 0; i < nsvc; i++) {
        uint8_t b = byte(&s);
        svc[i] = (fl_observe_service){small_time(&s), b % 5, (b >> 4) % 4, (uint8_t)(b & 1)};
    }
    for (size_t i = 0; i < nfaults; i++) {
        memset(&faults[i], 'f', sizeof(faults[i])); /* kind not NUL-terminated */
        faults[i].start_ns = small_time(&s);
        faults[i].end_ns = byte(&s) == 0 ? FL_TIME_NEVER : small_time(&s);
    }
    fl_history h;
    fl_history_init(&h);
    build_history(&s, &h, ITEMS_MAX);
    fl_observe_input in;
    fl_observe_input_init(&in);
    in.history = &h;
    in.roles = roles;
    in.role_count = nroles;
    in.service = svc;
    in.service_count = nsvc;
    in.faults = faults;
    in.fault_count = nfaults;
    in.window_ns = (fl_time_ns)(1 + size % 7) << 24;
    fl_observables o1, o2;
    int rc1 = fl_observe_compute(&in, &o1), rc2 = fl_observe_compute(&in, &o2);
    FL_ASSERT(rc1 == rc2);
    if (rc1 == 0) {
        check(&o1);
        fl_buf b1, b2;
        fl_buf_init(&b1);
        fl_buf_init(&b2);
        to_json(&o1, &b1);
        to_json(&o2, &b2);
        FL_ASSERT(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
        static fl_jr_node nodes[1 << 16];
        fl_jr_doc d;
        FL_ASSERT(fl_jr_parse(&d, (const char *)b1.data, b1.len, nodes, 1 << 16) == 0);
        fl_buf_free(&b1);
        fl_buf_free(&b2);
    }
    fl_observe_free(&o1);
    fl_observe_free(&o2);
    fl_history_free(&h);
    return 0;
}
