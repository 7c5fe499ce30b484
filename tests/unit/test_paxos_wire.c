/* test_paxos_wire.c: the Multi-Paxos codec: every message type round-trips; every truncation
 * of every message, random bytes and bit flips are refused with an error or decode to a
 * message that re-encodes to the same bytes; non-canonical fields are refused. */
#include "test.h"

#include "faultline/error.h"
#include "faultline/paxos_wire.h"
#include "faultline/rng.h"
#include "faultline/wire.h"

#include <stdlib.h>

static const uint8_t hello[] = "hello";

static const fl_paxos_entry slots[] = {
    {{(3u << 16) | 1}, FL_PAXOS_ENTRY_NORMAL, 5, hello},
    {{0}, FL_PAXOS_ENTRY_EMPTY, 0, NULL},
    {{(2u << 16) | 2}, FL_PAXOS_ENTRY_NOOP, 0, NULL},
};

/* One message of every type, with every field set to something distinct. */
static int sample(int i, fl_paxos_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->from = 2;
    m->to = 3;
    m->ballot = fl_paxos_ballot(7, 2);
    switch (i) {
    case 0:
        m->type = FL_PAXOS_MSG_PREPARE;
        m->u.prepare.from = 11;
        return 1;
    case 1:
        m->type = FL_PAXOS_MSG_PROMISE;
        m->u.promise = (fl_paxos_promise){true, 0, 11, 4, 13, 10, 3, slots};
        return 1;
    case 2:
        m->type = FL_PAXOS_MSG_PROMISE;
        m->u.promise = (fl_paxos_promise){false, fl_paxos_ballot(9, 1), 11, 1, 0, 0, 0, NULL};
        return 1;
    case 3:
        m->type = FL_PAXOS_MSG_ACCEPT;
        m->u.accept = (fl_paxos_accept){21, 20, 99, 1, slots};
        return 1;
    case 4:
        m->type = FL_PAXOS_MSG_ACCEPT; /* the heartbeat */
        m->u.accept = (fl_paxos_accept){21, 20, 100, 0, NULL};
        return 1;
    case 5:
        m->type = FL_PAXOS_MSG_ACCEPTED;
        m->u.accepted = (fl_paxos_accepted){true, 0, 21, 23, 23, 99};
        return 1;
    case 6:
        m->type = FL_PAXOS_MSG_SNAPSHOT;
        m->u.snapshot = (fl_paxos_snapshot){{40, 5, 0xabcd}, 0, 5, true, 7, hello};
        return 1;
    case 7:
        m->type = FL_PAXOS_MSG_SNAPSHOT_RESP;
        m->u.snapshot_resp = (fl_paxos_snapshot_resp){40, 5, true, 7};
        return 1;
    }
    return 0;
}

static void encode(const fl_paxos_msg *m, fl_buf *b)
{
    fl_buf_init(b);
    CHECK_EQ(fl_wire_paxos_encode(m, b), 0);
}

TEST(paxos_wire_every_type_round_trips)
{
    fl_paxos_msg m, d;
    fl_paxos_entry buf[8];
    for (int i = 0; sample(i, &m); i++) {
        fl_buf b, b2;
        encode(&m, &b);
        CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), 0);
        CHECK_EQ(d.type, m.type);
        CHECK_EQ(d.from, 2);
        CHECK_EQ(d.to, 3);
        CHECK_EQ(d.ballot, m.ballot);
        encode(&d, &b2);
        CHECK_EQ(b2.len, b.len);
        CHECK(memcmp(b.data, b2.data, b.len) == 0);
        fl_buf_free(&b);
        fl_buf_free(&b2);
    }
}

TEST(paxos_wire_fields_survive)
{
    fl_paxos_msg m, d;
    fl_paxos_entry buf[8];
    fl_buf b;
    sample(1, &m);
    encode(&m, &b);
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), 0);
    CHECK(d.u.promise.ok);
    CHECK_EQ(d.u.promise.from, 11);
    CHECK_EQ(d.u.promise.first, 4);
    CHECK_EQ(d.u.promise.last, 13);
    CHECK_EQ(d.u.promise.commit, 10);
    CHECK_EQ(d.u.promise.n_entries, 3);
    CHECK_EQ(d.u.promise.entries[0].ballot, fl_paxos_ballot(3, 1));
    CHECK_EQ(d.u.promise.entries[0].len, 5);
    CHECK(memcmp(d.u.promise.entries[0].data, "hello", 5) == 0);
    CHECK_EQ(d.u.promise.entries[1].type, FL_PAXOS_ENTRY_EMPTY);
    CHECK_EQ(d.u.promise.entries[2].type, FL_PAXOS_ENTRY_NOOP);
    fl_buf_free(&b);
    sample(3, &m); /* an ACCEPT's slots carry the message's ballot */
    encode(&m, &b);
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), 0);
    CHECK_EQ(d.u.accept.entries[0].ballot, m.ballot);
    CHECK_EQ(d.u.accept.ctx, 99);
    /* too many slots for the caller's buffer */
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 0), FL_ETOOBIG);
    fl_buf_free(&b);
}

TEST(paxos_wire_truncation_at_every_byte_is_refused)
{
    fl_paxos_msg m, d;
    fl_paxos_entry buf[8];
    for (int i = 0; sample(i, &m); i++) {
        fl_buf b;
        encode(&m, &b);
        for (size_t n = 0; n < b.len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
            memcpy(copy, b.data, n);
            int rc = fl_wire_paxos_decode(copy, n, &d, buf, 8);
            CHECK(rc == FL_ETRUNC || rc == FL_ECORRUPT);
            free(copy);
        }
        fl_buf_free(&b);
    }
}

TEST(paxos_wire_refuses_malformed_fields)
{
    fl_paxos_msg m, d;
    fl_paxos_entry buf[8];
    fl_buf b;
    sample(0, &m);
    encode(&m, &b);
    b.data[0] = 1; /* a Raft message's first byte */
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_EVERSION);
    b.data[0] = FL_PAXOS_WIRE_MAGIC;
    b.data[1] = 2;
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_EVERSION);
    b.data[1] = 1;
    b.data[2] = 9;
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_ETYPE);
    b.data[2] = FL_PAXOS_MSG_PREPARE;
    b.data[3] = 1;
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_ECORRUPT); /* no flags */
    b.data[3] = 0;
    fl_buf_put_u8(&b, 0);
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_ECORRUPT); /* trailing */
    fl_buf_free(&b);
    /* an empty slot with a ballot, a no-op with bytes */
    fl_paxos_entry bad[] = {{{5}, FL_PAXOS_ENTRY_EMPTY, 0, NULL}};
    sample(1, &m);
    m.u.promise.entries = bad;
    m.u.promise.n_entries = 1;
    encode(&m, &b);
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_ECORRUPT);
    fl_buf_free(&b);
    fl_paxos_entry noop[] = {{{5}, FL_PAXOS_ENTRY_NOOP, 5, hello}};
    m.u.promise.entries = noop;
    encode(&m, &b);
    CHECK_EQ(fl_wire_paxos_decode(b.data, b.len, &d, buf, 8), FL_ECORRUPT);
    fl_buf_free(&b);
    /* a snapshot chunk the environment did not fill cannot be encoded */
    sample(6, &m);
    m.u.snapshot.data = NULL;
    fl_buf_init(&b);
    CHECK_EQ(fl_wire_paxos_encode(&m, &b), FL_EINVAL);
    CHECK_EQ(b.len, 0);
    fl_buf_free(&b);
}

/* Random bytes and random bit flips of valid messages: an error, or a message that
 * re-encodes to exactly the input. */
TEST(paxos_wire_random_bytes_never_crash)
{
    fl_rng rng;
    fl_rng_seed(&rng, 14);
    fl_paxos_msg m, d;
    fl_paxos_entry buf[8];
    int decoded = 0;
    for (int round = 0; round < 20000; round++) {
        fl_buf b;
        sample(round % 8, &m);
        encode(&m, &b);
        if (round % 2) {
            for (size_t i = 0; i < b.len; i++)
                b.data[i] = (uint8_t)fl_rng_next(&rng);
        } else {
            size_t at = fl_rng_below(&rng, b.len);
            b.data[at] ^= (uint8_t)(1u << fl_rng_below(&rng, 8));
        }
        size_t n = fl_rng_below(&rng, b.len + 1);
        if (fl_wire_paxos_decode(b.data, n, &d, buf, 8) == 0) {
            fl_buf again;
            encode(&d, &again);
            CHECK_EQ(again.len, n);
            CHECK(memcmp(again.data, b.data, n) == 0);
            fl_buf_free(&again);
            decoded++;
        }
        fl_buf_free(&b);
    }
    CHECK(decoded > 0); /* the flips of unchecked fields decode: the identity was tested */
}
