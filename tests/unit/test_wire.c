/* test_wire.c: Raft message encoding: round trips, and refusal of truncated, oversized and
 * garbage input. */
#include "test.h"

#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft_conf.h"
#include "faultline/raft_record.h"
#include "faultline/rng.h"
#include "faultline/wire.h"

static int encode(const fl_raft_msg *m, fl_buf *b)
{
    fl_buf_reset(b);
    return fl_wire_raft_encode(m, b);
}

static fl_raft_msg sample(uint8_t type, fl_raft_entry *ents)
{
    fl_raft_msg m = {.type = type, .from = 3, .to = 7, .term = 0x1122334455667788ull};
    switch (type) {
    case FL_RAFT_MSG_VOTE:
    case FL_RAFT_MSG_PRE_VOTE:
        m.u.vote.last_index = 99;
        m.u.vote.last_term = 5;
        m.u.vote.transfer = type == FL_RAFT_MSG_VOTE;
        break;
    case FL_RAFT_MSG_VOTE_RESP:
    case FL_RAFT_MSG_PRE_VOTE_RESP:
        m.u.vote_resp.granted = true;
        break;
    case FL_RAFT_MSG_APPEND:
        m.u.append.prev_index = 10;
        m.u.append.prev_term = 2;
        m.u.append.commit = 9;
        m.u.append.ctx = 77;
        ents[0] = (fl_raft_entry){.term = 3, .type = FL_RAFT_ENTRY_NOOP};
        ents[1] = (fl_raft_entry){
            .term = 3, .type = FL_RAFT_ENTRY_NORMAL, .len = 5, .data = (const uint8_t *)"hello"};
        m.u.append.entries = ents;
        m.u.append.n_entries = 2;
        break;
    case FL_RAFT_MSG_APPEND_RESP:
        m.u.append_resp.success = false;
        m.u.append_resp.reject_index = 10;
        m.u.append_resp.hint_index = 4;
        m.u.append_resp.hint_term = 2;
        m.u.append_resp.last_index = 12;
        m.u.append_resp.ctx = 77;
        break;
    case FL_RAFT_MSG_SNAPSHOT:
        m.u.snapshot.meta.index = 500;
        m.u.snapshot.meta.term = 4;
        m.u.snapshot.meta.size = 12;
        m.u.snapshot.meta.crc = 0xCAFEF00Du;
        m.u.snapshot.meta.conf.n_voters = 3;
        m.u.snapshot.meta.conf.voters[0] = 1;
        m.u.snapshot.meta.conf.voters[1] = 2;
        m.u.snapshot.meta.conf.voters[2] = 3;
        m.u.snapshot.offset = 7;
        m.u.snapshot.len = 5;
        m.u.snapshot.done = true;
        m.u.snapshot.ctx = 78;
        m.u.snapshot.data = (const uint8_t *)"world";
        break;
    case FL_RAFT_MSG_SNAPSHOT_RESP:
        m.u.snapshot_resp.index = 500;
        m.u.snapshot_resp.next_offset = 7;
        m.u.snapshot_resp.done = false;
        m.u.snapshot_resp.ctx = 78;
        break;
    case FL_RAFT_MSG_READ_INDEX:
        m.u.read_index.ctx = 0x0102030405060708ull;
        break;
    case FL_RAFT_MSG_READ_INDEX_RESP:
        m.u.read_index = (fl_raft_read_index){.ctx = 79, .index = 1234, .ok = true};
        break;
    }
    return m;
}

TEST(wire_roundtrip_every_type)
{
    fl_buf b, b2;
    fl_buf_init(&b);
    fl_buf_init(&b2);
    for (uint8_t type = FL_RAFT_MSG_VOTE; type <= FL_RAFT_MSG_TYPE_MAX; type++) {
        fl_raft_entry ents[2], got_ents[4];
        fl_raft_msg m = sample(type, ents), got;
        CHECK_EQ(encode(&m, &b), 0);
        CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), 0);
        CHECK_EQ(got.type, type);
        CHECK_EQ(got.from, 3);
        CHECK_EQ(got.to, 7);
        CHECK(got.term == m.term);
        CHECK_EQ(encode(&got, &b2), 0);
        CHECK_EQ(b2.len, b.len);
        CHECK(memcmp(b.data, b2.data, b.len) == 0);
        if (type == FL_RAFT_MSG_APPEND) {
            CHECK_EQ(got.u.append.n_entries, 2);
            CHECK_EQ(got.u.append.entries[1].len, 5);
            CHECK(memcmp(got.u.append.entries[1].data, "hello", 5) == 0);
            CHECK_EQ(got.u.append.ctx, 77);
        }
        if (type == FL_RAFT_MSG_VOTE)
            CHECK(got.u.vote.transfer);
        if (type == FL_RAFT_MSG_APPEND_RESP)
            CHECK_EQ(got.u.append_resp.hint_term, 2);
        if (type == FL_RAFT_MSG_SNAPSHOT) {
            const fl_raft_snapshot *s = &got.u.snapshot;
            CHECK(s->meta.index == 500 && s->meta.term == 4 && s->meta.size == 12);
            CHECK(s->meta.crc == 0xCAFEF00Du && s->offset == 7 && s->ctx == 78 && s->done);
            CHECK(fl_raft_conf_equal(&s->meta.conf, &m.u.snapshot.meta.conf));
            CHECK_EQ(s->len, 5);
            CHECK(memcmp(s->data, "world", 5) == 0);
        }
        if (type == FL_RAFT_MSG_SNAPSHOT_RESP)
            CHECK(got.u.snapshot_resp.next_offset == 7 && got.u.snapshot_resp.ctx == 78);
        if (type == FL_RAFT_MSG_READ_INDEX)
            CHECK(got.u.read_index.ctx == 0x0102030405060708ull);
        if (type == FL_RAFT_MSG_READ_INDEX_RESP)
            CHECK(got.u.read_index.ctx == 79 && got.u.read_index.index == 1234 &&
                  got.u.read_index.ok);
    }
    fl_buf_free(&b);
    fl_buf_free(&b2);
}

TEST(wire_every_truncation_refused)
{
    fl_buf b;
    fl_buf_init(&b);
    for (uint8_t type = FL_RAFT_MSG_VOTE; type <= FL_RAFT_MSG_TYPE_MAX; type++) {
        fl_raft_entry ents[2], got_ents[4];
        fl_raft_msg m = sample(type, ents), got;
        CHECK_EQ(encode(&m, &b), 0);
        for (size_t n = 0; n < b.len; n++)
            CHECK(fl_wire_raft_decode(b.data, n, &got, got_ents, 4) != 0);
        /* one trailing byte too many */
        fl_buf_put_u8(&b, 0);
        CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    }
    fl_buf_free(&b);
}

TEST(wire_refuses_bad_fields)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_raft_entry ents[2], got_ents[4];
    fl_raft_msg m = sample(FL_RAFT_MSG_APPEND, ents), got;
    CHECK_EQ(encode(&m, &b), 0);
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 1), FL_ETOOBIG);
    b.data[0] = 9;
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_EVERSION);
    b.data[0] = FL_WIRE_VERSION;
    b.data[1] = FL_RAFT_MSG_TYPE_MAX + 1;
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ETYPE);
    b.data[1] = 200;
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ETYPE);
    b.data[1] = FL_RAFT_MSG_APPEND;
    b.data[2] = 1; /* transfer flag on an AppendEntries */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    b.data[2] = 0;
    b.data[20 + 32 + 4 + 8] = 9; /* first entry's type */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    /* an entry count that would need more bytes than there are */
    m.type = FL_RAFT_MSG_VOTE_RESP;
    m.u.vote_resp.granted = true;
    CHECK_EQ(encode(&m, &b), 0);
    b.data[20] = 2; /* a bool that is neither 0 nor 1 */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    fl_buf_free(&b);
}

/* InstallSnapshot's own fields: the done flag, the configuration and its length, the chunk. */
TEST(wire_snapshot_refuses_bad_fields)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_raft_entry got_ents[4];
    fl_raft_msg m = sample(FL_RAFT_MSG_SNAPSHOT, NULL), got;
    const size_t done_at = 20 + 8 + 8 + 8 + 4 + 8 + 8, conf_at = done_at + 3;
    CHECK_EQ(encode(&m, &b), 0);
    CHECK_EQ(b.len, 20 + 51 + fl_raft_conf_encoded_size(&m.u.snapshot.meta.conf) + 5);
    b.data[done_at] = 2; /* done is a bool */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    b.data[done_at] = 1;
    b.data[done_at + 1] -= 4; /* conf_len one voter short: the conf does not parse */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    b.data[done_at + 1] += 4;
    b.data[conf_at + 4] = 0; /* voter id 0 inside the conf */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    CHECK_EQ(encode(&m, &b), 0);
    b.data[b.len - 5 - 4] = 6; /* chunk length one more than the bytes there are */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ETRUNC);
    m.u.snapshot.data = NULL; /* a leader's chunk the environment forgot to fill */
    CHECK_EQ(encode(&m, &b), FL_EINVAL);
    m.type = FL_RAFT_MSG_SNAPSHOT_RESP;
    m.u.snapshot_resp = (fl_raft_snapshot_resp){.index = 1, .next_offset = 2, .done = true};
    CHECK_EQ(encode(&m, &b), 0);
    CHECK_EQ(b.len, 20 + 25);
    b.data[20 + 16] = 7; /* done again */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    fl_buf_free(&b);
}

/* ReadIndex at a follower: the documented sizes, and ok must be a bool. */
TEST(wire_read_index_layout_and_refusals)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_raft_entry got_ents[4];
    fl_raft_msg m = sample(FL_RAFT_MSG_READ_INDEX, NULL), got;
    CHECK_EQ(encode(&m, &b), 0);
    CHECK_EQ(b.len, 20 + 8);
    CHECK_EQ(b.data[20], 0x08); /* ctx, little-endian */
    m = sample(FL_RAFT_MSG_READ_INDEX_RESP, NULL);
    CHECK_EQ(encode(&m, &b), 0);
    CHECK_EQ(b.len, 20 + 17);
    b.data[20 + 16] = 2; /* ok is a bool */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    b.data[20 + 16] = 0;
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), 0);
    CHECK(!got.u.read_index.ok && got.u.read_index.index == 1234);
    b.data[2] = 1; /* the transfer flag belongs to votes only */
    CHECK_EQ(fl_wire_raft_decode(b.data, b.len, &got, got_ents, 4), FL_ECORRUPT);
    fl_buf_free(&b);
}

TEST(wire_random_garbage_never_crashes)
{
    fl_rng r;
    fl_rng_seed(&r, 5);
    uint8_t bytes[256];
    fl_raft_entry got_ents[8];
    fl_raft_msg got;
    int accepted = 0;
    for (int trial = 0; trial < 20000; trial++) {
        size_t n = (size_t)fl_rng_below(&r, sizeof(bytes));
        for (size_t i = 0; i < n; i++)
            bytes[i] = (uint8_t)fl_rng_next(&r);
        if (n > 2 && fl_rng_chance(&r, 0.5)) { /* plausible header more often */
            bytes[0] = FL_WIRE_VERSION;
            bytes[1] = (uint8_t)fl_rng_range(&r, 1, FL_RAFT_MSG_TYPE_MAX);
            bytes[2] = bytes[3] = 0;
        }
        accepted += fl_wire_raft_decode(bytes, n, &got, got_ents, 8) == 0;
    }
    CHECK(accepted < 20000);
}

TEST(raft_record_roundtrip_and_refusals)
{
    fl_raft_entry ents[2] = {
        {.term = 3, .type = FL_RAFT_ENTRY_NOOP},
        {.term = 4, .type = FL_RAFT_ENTRY_NORMAL, .len = 3, .data = (const uint8_t *)"abc"}};
    fl_cons_persist p = {
        .seq = 1, .hard_state = true, .term = 4, .vote = 2, .first_index = 7, .n_entries = 2};
    p.entries = ents;
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_raft_record_encode(FL_CONS_RAFT, &p, &b), 0);
    fl_raft_record r;
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), 0);
    CHECK(r.kind == 1 && r.protocol == FL_CONS_RAFT && b.data[0] == 1);
    CHECK(r.hard_state && r.term == 4 && r.vote == 2 && r.first_index == 7);
    fl_raft_entry e;
    CHECK_EQ(fl_raft_record_next(&r, &e), 1);
    CHECK(e.term == 3 && e.type == FL_RAFT_ENTRY_NOOP && e.len == 0);
    CHECK_EQ(fl_raft_record_next(&r, &e), 1);
    CHECK(e.len == 3 && memcmp(e.data, "abc", 3) == 0);
    CHECK_EQ(fl_raft_record_next(&r, &e), 0);
    /* every truncation is refused somewhere along the way */
    for (size_t n = 0; n < b.len; n++) {
        int rc = fl_raft_record_decode(b.data, n, &r);
        while (rc == 0 && (rc = fl_raft_record_next(&r, &e)) == 1)
            ;
        CHECK(rc != 0);
    }
    b.data[1] = 0x80; /* an unknown flag */
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), FL_ECORRUPT);
    fl_buf_free(&b);
}

TEST(raft_conf_roundtrip_and_refusals)
{
    fl_raft_conf c = {.n_voters = 3,
                      .voters = {1, 2, 3},
                      .n_voters_old = 2,
                      .voters_old = {1, 2},
                      .n_learners = 1,
                      .learners = {9}};
    CHECK_EQ(fl_raft_conf_check(&c, NULL, 0), 0);
    CHECK(fl_raft_conf_is_joint(&c));
    CHECK(fl_raft_conf_is_voter(&c, 3) && !fl_raft_conf_is_voter(&c, 9));
    CHECK(fl_raft_conf_is_learner(&c, 9) && fl_raft_conf_is_member(&c, 9));
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_raft_conf_encode(&c, &b), 0);
    CHECK_EQ(b.len, fl_raft_conf_encoded_size(&c));
    fl_raft_conf d;
    CHECK_EQ(fl_raft_conf_decode(b.data, b.len, &d), 0);
    CHECK(fl_raft_conf_equal(&c, &d));
    for (size_t cut = 0; cut < b.len; cut++)
        CHECK(fl_raft_conf_decode(b.data, cut, &d) != 0);
    uint8_t *p = b.data;
    p[0] = 2;
    CHECK_EQ(fl_raft_conf_decode(p, b.len, &d), FL_EVERSION);
    p[0] = 1;
    p[4] = 2; /* voters {2, 2, 3}: a duplicate */
    CHECK_EQ(fl_raft_conf_decode(p, b.len, &d), FL_ECORRUPT);
    fl_buf_free(&b);
    /* Semantic refusals, each with a reason. */
    char why[96];
    fl_raft_conf e = {.n_voters = 1, .voters = {1}, .n_learners = 1, .learners = {1}};
    CHECK_EQ(fl_raft_conf_check(&e, why, sizeof(why)), FL_ECONFIG);
    CHECK(strstr(why, "learner") != NULL);
    fl_raft_conf none = {0};
    CHECK_EQ(fl_raft_conf_check(&none, why, sizeof(why)), FL_ECONFIG);
    fl_raft_conf zero = {.n_voters = 1, .voters = {0}};
    CHECK_EQ(fl_raft_conf_check(&zero, why, sizeof(why)), FL_ECONFIG);
    /* Order does not matter for equality. */
    fl_raft_conf x = {.n_voters = 2, .voters = {1, 2}}, y = {.n_voters = 2, .voters = {2, 1}};
    CHECK(fl_raft_conf_equal(&x, &y));
}

TEST(raft_conf_edits_for_membership_changes)
{
    fl_raft_conf cur = {.n_voters = 3, .voters = {1, 2, 3}, .n_learners = 1, .learners = {4}};
    fl_raft_conf out;
    CHECK_EQ(fl_raft_conf_add_learner(&cur, 5, &out), 0);
    CHECK(fl_raft_conf_is_learner(&out, 5) && out.n_learners == 2 && out.n_voters == 3);
    CHECK_EQ(fl_raft_conf_add_learner(&cur, 2, &out), FL_EINVAL); /* already a voter */
    CHECK_EQ(fl_raft_conf_add_learner(&cur, 0, &out), FL_EINVAL);
    CHECK_EQ(fl_raft_conf_promote(&cur, 4, &out), 0);
    CHECK(fl_raft_conf_is_voter(&out, 4) && !fl_raft_conf_is_learner(&out, 4));
    CHECK_EQ(out.n_voters, 4);
    CHECK_EQ(fl_raft_conf_promote(&cur, 3, &out), FL_EINVAL); /* not a learner */
    CHECK_EQ(fl_raft_conf_remove(&cur, 2, &out), 0);
    CHECK(!fl_raft_conf_is_member(&out, 2) && out.n_voters == 2);
    CHECK_EQ(fl_raft_conf_remove(&cur, 4, &out), 0);
    CHECK(!fl_raft_conf_is_member(&out, 4) && out.n_learners == 0);
    CHECK_EQ(fl_raft_conf_remove(&cur, 7, &out), FL_EINVAL);
    CHECK_EQ(fl_raft_conf_replace(&cur, 1, 4, &out), 0);
    CHECK(!fl_raft_conf_is_member(&out, 1) && fl_raft_conf_is_voter(&out, 4) && out.n_voters == 3 &&
          out.n_learners == 0);
    CHECK_EQ(fl_raft_conf_replace(&cur, 4, 1, &out), FL_EINVAL);
    /* from a joint configuration, the edit starts from its new side */
    fl_raft_conf joint = cur;
    joint.n_voters_old = 2;
    joint.voters_old[0] = 1;
    joint.voters_old[1] = 9;
    CHECK_EQ(fl_raft_conf_remove(&joint, 3, &out), 0);
    CHECK(!fl_raft_conf_is_joint(&out) && out.n_voters == 2);
    CHECK_EQ(fl_raft_conf_check(&out, NULL, 0), 0);
}

TEST(raft_record_snapshot_checkpoint_roundtrip_and_refusals)
{
    const char *data = "state!";
    fl_raft_snapshot_meta m = {.index = 9, .term = 2, .size = 6};
    m.crc = fl_crc32c(0, data, 6);
    m.conf.n_voters = 2;
    m.conf.voters[0] = 1;
    m.conf.voters[1] = 2;
    fl_raft_entry ents[1] = {{.term = 3, .type = FL_RAFT_ENTRY_NOOP}};
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(
        fl_raft_record_encode_snapshot(FL_CONS_RAFT, 3, 1, &m, (const uint8_t *)data, 1, ents, &b),
        0);
    fl_raft_record r;
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), 0);
    CHECK(r.kind == 2 && r.hard_state && r.term == 3 && r.vote == 1);
    CHECK(r.snap.index == 9 && r.snap.term == 2 && r.snap.size == 6 && r.first_index == 10);
    CHECK(fl_raft_conf_equal(&r.snap.conf, &m.conf));
    CHECK(memcmp(r.snap_data, data, 6) == 0);
    fl_raft_entry e;
    CHECK_EQ(fl_raft_record_next(&r, &e), 1);
    CHECK(e.term == 3);
    CHECK_EQ(fl_raft_record_next(&r, &e), 0);
    for (size_t n = 0; n < b.len; n++) {
        int rc = fl_raft_record_decode(b.data, n, &r);
        while (rc == 0 && (rc = fl_raft_record_next(&r, &e)) == 1)
            ;
        CHECK(rc != 0);
    }
    b.data[b.len - 13 - 4 - 1] ^= 1; /* a byte of the snapshot data: its checksum fails */
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), FL_ECORRUPT);
    fl_buf_free(&b);
}

/* Paxos records: kinds 3 and 4, EMPTY gaps, the promised ballot as hard state, no vote, no
 * configuration; what a Paxos slot cannot be is refused. */
TEST(paxos_record_roundtrip_and_refusals)
{
    fl_cons_entry ents[3] = {
        {.ballot = (2u << 16) | 1, .type = 1, .len = 3, .data = (const uint8_t *)"abc"},
        {.ballot = 0, .type = 0},
        {.ballot = (3u << 16) | 2, .type = 2}};
    fl_cons_persist p = {.seq = 1, .hard_state = true, .term = (3u << 16) | 2, .first_index = 4};
    p.entries = ents;
    p.n_entries = 3;
    fl_buf b;
    fl_buf_init(&b);
    CHECK_EQ(fl_raft_record_encode(FL_CONS_PAXOS, &p, &b), 0);
    CHECK_EQ(b.data[0], 3);
    fl_raft_record r;
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), 0);
    CHECK(r.kind == 1 && r.protocol == FL_CONS_PAXOS && r.term == p.term && r.vote == 0);
    fl_cons_entry e;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fl_raft_record_next(&r, &e), 1);
        CHECK(e.ballot == ents[i].ballot && e.type == ents[i].type && e.len == ents[i].len);
    }
    CHECK_EQ(fl_raft_record_next(&r, &e), 0);
    for (size_t n = 0; n < b.len; n++) {
        int rc = fl_raft_record_decode(b.data, n, &r);
        while (rc == 0 && (rc = fl_raft_record_next(&r, &e)) == 1)
            ;
        CHECK(rc != 0);
    }
    /* an EMPTY slot with a ballot, a no-op with bytes, a slot without a ballot, a vote */
    const fl_cons_entry bad[] = {{.ballot = 5, .type = 0},
                                 {.ballot = 5, .type = 2, .len = 1, .data = (const uint8_t *)"x"},
                                 {.ballot = 0, .type = 1, .len = 1, .data = (const uint8_t *)"x"},
                                 {.ballot = 5, .type = 3}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fl_buf_reset(&b);
        fl_cons_persist q = {.seq = 1, .first_index = 1, .n_entries = 1, .entries = &bad[i]};
        CHECK_EQ(fl_raft_record_encode(FL_CONS_PAXOS, &q, &b), 0);
        CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), 0);
        CHECK_EQ(fl_raft_record_next(&r, &e), FL_ECORRUPT);
    }
    fl_buf_reset(&b);
    p.vote = 1;
    CHECK_EQ(fl_raft_record_encode(FL_CONS_PAXOS, &p, &b), 0);
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), FL_ECORRUPT);
    /* a snapshot checkpoint: no term, no configuration */
    const char *data = "state!";
    fl_cons_snapshot_meta m = {.index = 9, .size = 6, .crc = fl_crc32c(0, data, 6)};
    fl_buf_reset(&b);
    CHECK_EQ(
        fl_raft_record_encode_snapshot(FL_CONS_PAXOS, 7, 0, &m, (const uint8_t *)data, 1, ents, &b),
        0);
    CHECK_EQ(b.data[0], 4);
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), 0);
    CHECK(r.kind == 2 && r.protocol == FL_CONS_PAXOS && r.term == 7 && r.snap.index == 9);
    CHECK(r.snap.term == 0 && r.snap.conf.n_voters == 0 && r.first_index == 10);
    CHECK_EQ(fl_raft_record_next(&r, &e), 1);
    CHECK_EQ(fl_raft_record_next(&r, &e), 0);
    fl_buf_reset(&b);
    m.term = 1; /* a Paxos snapshot has no term */
    CHECK_EQ(
        fl_raft_record_encode_snapshot(FL_CONS_PAXOS, 7, 0, &m, (const uint8_t *)data, 0, NULL, &b),
        0);
    CHECK_EQ(fl_raft_record_decode(b.data, b.len, &r), FL_ECORRUPT);
    fl_buf_free(&b);
}
