/* fuzz_swim.c: libFuzzer target for swim/: the input is split into packets or STATE messages
 * (u16 length prefixes) fed to one SWIM core as RECEIVE events, with a TICK 100 ms later after
 * each; the whole input also goes to both decoders and the address-field walk alone. Nothing
 * may crash, assert or break the core's invariants; every packet the core emits must decode
 * and fit in 1400 bytes, every STATE message must decode and fit its bound. */
#include "faultline/assert.h"
#include "faultline/swim.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_out(const fl_swim *s, const fl_swim_update *up)
{
    static fl_swim_packet p;
    fl_swim_state_reader r;
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_swim_msg *m = &up->msgs[i];
        if (m->stream) {
            FL_ASSERT(m->len <= fl_swim_stream_bytes_max(&s->cfg));
            FL_ASSERT(fl_swim_state_open(m->data, m->len, &r) == 0);
            continue;
        }
        FL_ASSERT(m->len <= FL_SWIM_PACKET_BYTES_MAX);
        FL_ASSERT(fl_swim_decode(m->data, m->len, &p) == 0);
    }
}

static void no_op(void *arg, fl_node_id id, uint8_t *field, size_t len)
{
    FL_ASSERT(len <= FL_SWIM_ADDR_BYTES_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_swim_packet p;
    static uint8_t copy[1 << 16];
    fl_swim_state_reader sr;
    (void)fl_swim_decode(data, size, &p);
    (void)fl_swim_state_open(data, size, &sr);
    if (size <= sizeof(copy)) {
        memcpy(copy, data, size);
        (void)fl_swim_addr_fields(copy, size, no_op, NULL);
    }
    static const fl_node_id ids[] = {1, 2, 3, 4, 5, 6, 7, 8};
    fl_swim_config c;
    fl_swim_config_default(&c);
    c.id = 1;
    c.initial = ids;
    c.n_initial = 8;
    c.members_max = 64;
    c.bcast_max = 32;
    c.user_max = 4;
    c.addr_bytes = 7;
    c.seeds[0] = 9;
    c.n_seeds = 1;
    fl_rng r;
    fl_rng_seed(&r, 7);
    fl_swim s;
    if (fl_swim_init(&s, &c, r) != 0)
        return 0;
    fl_swim_update up;
    fl_swim_event ev = {.kind = FL_SWIM_EV_START, .now_ns = 0};
    fl_swim_step(&s, &ev, &up);
    check_out(&s, &up);
    fl_time_ns now = 0;
    while (size >= 2) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        now += 100 * FL_NS_PER_MS;
        ev = (fl_swim_event){.kind = FL_SWIM_EV_RECEIVE, .now_ns = now, .data = data, .len = n};
        FL_ASSERT(fl_swim_step(&s, &ev, &up) == 0);
        check_out(&s, &up);
        fl_swim_invariants(&s);
        ev = (fl_swim_event){.kind = FL_SWIM_EV_TICK, .now_ns = now + 50 * FL_NS_PER_MS};
        FL_ASSERT(fl_swim_step(&s, &ev, &up) == 0);
        check_out(&s, &up);
        fl_swim_invariants(&s);
        data += n;
        size -= n;
    }
    fl_swim_free(&s);
    return 0;
}
