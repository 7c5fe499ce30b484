/* test_gossip_auth.c: the gossip key file formats, sealing and opening (a flipped bit, the
 * wrong key, an old or future time, a replay, a short datagram are all refused), the query
 * codec round trip, and random bytes through both decoders (errors, never a crash). */
#include "test.h"

#include "faultline/error.h"
#include "faultline/gossip_query.h"
#include "faultline/rng.h"

#include <arpa/inet.h>

static const char HEX[] = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

TEST(gossip_key_formats)
{
    fl_gossip_key k;
    fl_errmsg m;
    CHECK_EQ(fl_gossip_key_parse((const uint8_t *)HEX, 64, &k, &m), 0);
    CHECK(k.set);
    CHECK_EQ(k.k[1], 0x11);
    CHECK_EQ(k.k[31], 0xff);
    char padded[80];
    snprintf(padded, sizeof(padded), "  %s\n", HEX);
    fl_gossip_key k2;
    CHECK_EQ(fl_gossip_key_parse((const uint8_t *)padded, strlen(padded), &k2, &m), 0);
    CHECK(memcmp(k.k, k2.k, 32) == 0);
    uint8_t raw[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ(fl_gossip_key_parse(raw, 32, &k, &m), 0);
    CHECK_EQ(k.k[3], 22);
    CHECK_EQ(fl_gossip_key_parse(raw, 31, &k, &m), FL_EINVAL);
    CHECK(!k.set);
    CHECK(strstr(m.text, "31 bytes") != NULL);
    char bad[65];
    memcpy(bad, HEX, 65);
    bad[10] = 'g';
    CHECK_EQ(fl_gossip_key_parse((const uint8_t *)bad, 64, &k, &m), FL_EINVAL);
    bool keyed = fl_gossip_auth_available();
    CHECK_EQ(fl_gossip_key_load("/nonexistent/key", &k, &m), keyed ? FL_EIO : FL_EUNSUPPORTED);
    CHECK(strstr(m.text, "/nonexistent/key") != NULL);
    if (!keyed) /* the refusal names what to install */
        CHECK(strstr(m.text, "libsodium-dev") != NULL);
}

static void key_of(fl_gossip_key *k, uint8_t fill)
{
    memset(k, 0, sizeof(*k));
    memset(k->k, fill, sizeof(k->k));
    k->set = true;
}

TEST(gossip_seal_open)
{
    SKIP_UNLESS(fl_gossip_auth_available(), "built without libsodium (keyed gossip)");
    fl_gossip_key k, other;
    key_of(&k, 7);
    key_of(&other, 8);
    fl_gossip_replay rp;
    CHECK_EQ(fl_gossip_replay_init(&rp), 0);
    uint8_t p[200] = "a gossip packet";
    uint64_t now = 1700000000000ull;
    size_t n = fl_gossip_seal(&k, p, 15, now), got = 0;
    CHECK_EQ(n, 15 + FL_GOSSIP_AUTH_BYTES);
    CHECK_EQ(fl_gossip_open(&k, NULL, p, n, now + 500, &got), 0);
    CHECK_EQ(got, 15);
    CHECK_EQ(fl_gossip_open(&other, NULL, p, n, now, &got), FL_ECORRUPT);
    for (size_t i = 0; i < n; i++) { /* every bit of payload, time and tag is covered */
        p[i] ^= 0x10;
        CHECK_EQ(fl_gossip_open(&k, NULL, p, n, now, &got), FL_ECORRUPT);
        p[i] ^= 0x10;
    }
    CHECK_EQ(fl_gossip_open(&k, NULL, p, n - 1, now, &got), FL_ECORRUPT);
    CHECK_EQ(fl_gossip_open(&k, NULL, p, 3, now, &got), FL_ECORRUPT);
    CHECK_EQ(fl_gossip_open(&k, NULL, p, n, now + FL_GOSSIP_WINDOW_MS + 1, &got), FL_ESTALE);
    CHECK_EQ(fl_gossip_open(&k, NULL, p, n, now - FL_GOSSIP_WINDOW_MS - 1, &got), FL_ESTALE);
    /* the replay cache: once, then refused */
    CHECK_EQ(fl_gossip_open(&k, &rp, p, n, now, &got), 0);
    CHECK_EQ(fl_gossip_open(&k, &rp, p, n, now, &got), FL_ESTALE);
    /* after more than one generation of other packets the cache may forget, not before */
    for (uint32_t i = 0; i < FL_GOSSIP_REPLAY_GEN - 1; i++) {
        uint8_t q[64];
        memcpy(q, &i, sizeof(i));
        size_t qn = fl_gossip_seal(&k, q, sizeof(i), now);
        CHECK_EQ(fl_gossip_open(&k, &rp, q, qn, now, &got), 0);
    }
    CHECK_EQ(fl_gossip_open(&k, &rp, p, n, now, &got), FL_ESTALE);
    fl_gossip_replay_free(&rp);
}

TEST(gossip_query_round_trip)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_gq_encode_header(&b, FL_GQ_MEMBERS_REPLY, 99, 5, 10, 3);
    fl_gq_entry e = {.id = 12, .incarnation = 4, .state = FL_SWIM_SUSPECT, .has_addr = true};
    CHECK_EQ(fl_addr_parse("127.0.0.9:7001", &e.addr, NULL), 0);
    fl_gq_encode_entry(&b, 0, &e);
    fl_gq_entry e6 = {.id = 13, .state = FL_SWIM_DEAD, .has_addr = true};
    CHECK_EQ(fl_addr_parse("[::1]:7002", &e6.addr, NULL), 0);
    fl_gq_encode_entry(&b, 0, &e6);
    fl_gq_entry none = {.id = 14, .state = FL_SWIM_LEFT};
    fl_gq_encode_entry(&b, 0, &none);
    static fl_gq_packet q;
    CHECK_EQ(fl_gq_decode(b.data, b.len, &q), 0);
    CHECK_EQ(q.type, FL_GQ_MEMBERS_REPLY);
    CHECK_EQ(q.nonce, 99);
    CHECK_EQ(q.agent, 5);
    CHECK_EQ(q.n, 3);
    CHECK_EQ(q.e[0].id, 12);
    CHECK_EQ(q.e[0].state, FL_SWIM_SUSPECT);
    char a[FL_ADDR_STR_MAX];
    CHECK_STR(fl_addr_format(&q.e[0].addr, a), "127.0.0.9:7001");
    CHECK_STR(fl_addr_format(&q.e[1].addr, a), "[::1]:7002");
    CHECK(!q.e[2].has_addr);
    /* every strict prefix is refused, and so is a trailing byte */
    for (size_t cut = 0; cut < b.len; cut++)
        CHECK(fl_gq_decode(b.data, cut, &q) != 0);
    fl_buf_put_u8(&b, 0);
    CHECK_EQ(fl_gq_decode(b.data, b.len, &q), FL_ECORRUPT);
    fl_buf_free(&b);
}

TEST(gossip_decoders_random_bytes)
{
    fl_rng r;
    fl_rng_seed(&r, 7);
    static fl_gq_packet q;
    static fl_swim_packet sp;
    fl_gossip_key k;
    key_of(&k, 3);
    uint8_t p[1500];
    int ok = 0;
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)fl_rng_below(&r, sizeof(p));
        for (size_t j = 0; j < n; j++)
            p[j] = (uint8_t)fl_rng_next(&r);
        if (i % 8 == 1) /* a bare valid header */
            n = FL_GQ_HEADER_BYTES;
        if (i % 2) /* valid headers, random rest: reach past the first checks */
            memcpy(p, (const uint8_t[]){FL_GQ_MAGIC, 1, (uint8_t)(1 + i % 5), (uint8_t)(i % 8 / 2)},
                   n < 4 ? n : 4);
        ok += fl_gq_decode(p, n, &q) == 0;
        (void)fl_swim_decode(p, n, &sp);
        size_t got;
        CHECK(fl_gossip_open(&k, NULL, p, n, 0, &got) != 0);
    }
    CHECK(ok > 0); /* some random packets do decode: the valid-header branch is exercised */
}
