/* gossip_auth.c: sealing and opening gossip datagrams with a shared key (gossip_auth.h). */
#include "faultline/gossip_auth.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libsodium is optional: a build without it (the Makefile says so) runs gossip unkeyed and
 * refuses a key with a message that names the package. */
#ifdef FL_HAVE_SODIUM
#include <sodium.h>

_Static_assert(crypto_auth_BYTES == FL_GOSSIP_TAG_BYTES, "HMAC-SHA-512-256 tag size");
_Static_assert(crypto_auth_KEYBYTES == FL_GOSSIP_KEY_BYTES, "HMAC-SHA-512-256 key size");

bool fl_gossip_auth_available(void)
{
    return true;
}

static void mac(uint8_t *tag, const uint8_t *p, size_t n, const uint8_t *key)
{
    crypto_auth(tag, p, n, key);
}

static bool mac_ok(const uint8_t *tag, const uint8_t *p, size_t n, const uint8_t *key)
{
    return crypto_auth_verify(tag, p, n, key) == 0;
}

static void wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

static int crypto_start(void)
{
    return sodium_init() < 0 ? FL_EIO : 0;
}
#else
bool fl_gossip_auth_available(void)
{
    return false;
}

static void mac(uint8_t *tag, const uint8_t *p, size_t n, const uint8_t *key)
{
    FL_ASSERT(!"gossip authentication without libsodium");
}

static bool mac_ok(const uint8_t *tag, const uint8_t *p, size_t n, const uint8_t *key)
{
    return false;
}

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

static int crypto_start(void)
{
    return FL_EUNSUPPORTED;
}
#endif

#define NO_SODIUM_MSG                                                                              \
    "this build has no libsodium, so gossip cannot authenticate packets: install libsodium-dev "   \
    "and pkg-config, then rebuild"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int fl_gossip_key_parse(const uint8_t *data, size_t len, fl_gossip_key *k, fl_errmsg *m)
{
    memset(k, 0, sizeof(*k));
    size_t a = 0, b = len;
    while (a < b && isspace(data[a]))
        a++;
    while (b > a && isspace(data[b - 1]))
        b--;
    bool hex = b - a == 2 * FL_GOSSIP_KEY_BYTES;
    for (size_t i = a; hex && i < b; i++)
        hex = hexval(data[i]) >= 0;
    if (hex) {
        for (size_t i = 0; i < FL_GOSSIP_KEY_BYTES; i++)
            k->k[i] = (uint8_t)(hexval(data[a + 2 * i]) << 4 | hexval(data[a + 2 * i + 1]));
    } else if (len == FL_GOSSIP_KEY_BYTES) {
        memcpy(k->k, data, FL_GOSSIP_KEY_BYTES);
    } else {
        return fl_errmsg_set(m, FL_EINVAL,
                             "key: expected 64 hex digits or exactly 32 raw bytes, got %zu bytes",
                             len);
    }
    k->set = true;
    return 0;
}

int fl_gossip_key_load(const char *path, fl_gossip_key *k, fl_errmsg *m)
{
    if (!fl_gossip_auth_available())
        return fl_errmsg_set(m, FL_EUNSUPPORTED, "key file %s: %s", path, NO_SODIUM_MSG);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fl_errmsg_errno(m, FL_EIO, errno, "key file %s", path);
    uint8_t buf[4097];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n == sizeof(buf))
        return fl_errmsg_set(m, FL_EINVAL, "key file %s: over 4 KiB", path);
    int rc = fl_gossip_key_parse(buf, n, k, m);
    wipe(buf, sizeof(buf));
    if (rc && m)
        fl_errmsg_set(m, rc, "key file %s: expected 64 hex digits or 32 raw bytes, got %zu bytes",
                      path, n);
    return rc;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

size_t fl_gossip_seal(const fl_gossip_key *k, uint8_t *p, size_t len, uint64_t now_ms)
{
    FL_ASSERT(k->set);
    put_u64(p + len, now_ms);
    mac(p + len + 8, p, len + 8, k->k);
    return len + FL_GOSSIP_AUTH_BYTES;
}

/* True if the tag was seen in the current or previous generation; else remembers it. */
static bool replay_seen(fl_gossip_replay *rp, const uint8_t *tag)
{
    uint64_t fp;
    memcpy(&fp, tag, sizeof(fp)); /* a verified tag: its bits are uniformly random */
    fp |= 1;                      /* 0 marks an empty slot */
    const uint32_t mask = 2 * FL_GOSSIP_REPLAY_GEN - 1;
    for (int g = 0; g < 2; g++) {
        const uint64_t *t = rp->gen[(rp->cur + (uint32_t)g) % 2];
        for (uint32_t i = (uint32_t)(fp >> 32) & mask; t[i]; i = (i + 1) & mask)
            if (t[i] == fp)
                return true;
    }
    if (rp->count == FL_GOSSIP_REPLAY_GEN) { /* the older generation is forgotten */
        rp->cur ^= 1;
        memset(rp->gen[rp->cur], 0, 2 * FL_GOSSIP_REPLAY_GEN * sizeof(uint64_t));
        rp->count = 0;
    }
    uint64_t *t = rp->gen[rp->cur];
    uint32_t i = (uint32_t)(fp >> 32) & mask;
    while (t[i]) /* at most half full: terminates */
        i = (i + 1) & mask;
    t[i] = fp;
    rp->count++;
    return false;
}

int fl_gossip_open(const fl_gossip_key *k, fl_gossip_replay *rp, const uint8_t *p, size_t len,
                   uint64_t now_ms, size_t *payload_len)
{
    FL_ASSERT(k->set);
    if (len < FL_GOSSIP_AUTH_BYTES)
        return FL_ECORRUPT;
    size_t n = len - FL_GOSSIP_AUTH_BYTES;
    if (!mac_ok(p + n + 8, p, n + 8, k->k))
        return FL_ECORRUPT;
    uint64_t t = get_u64(p + n);
    uint64_t skew = t > now_ms ? t - now_ms : now_ms - t;
    if (skew > FL_GOSSIP_WINDOW_MS)
        return FL_ESTALE;
    if (rp && replay_seen(rp, p + n + 8))
        return FL_ESTALE;
    *payload_len = n;
    return 0;
}

int fl_gossip_replay_init(fl_gossip_replay *rp)
{
    memset(rp, 0, sizeof(*rp));
    int rc = crypto_start();
    if (rc)
        return rc;
    for (int g = 0; g < 2; g++)
        if (!(rp->gen[g] = calloc(2 * FL_GOSSIP_REPLAY_GEN, sizeof(uint64_t)))) {
            fl_gossip_replay_free(rp);
            return FL_ENOMEM;
        }
    return 0;
}

void fl_gossip_replay_free(fl_gossip_replay *rp)
{
    free(rp->gen[0]);
    free(rp->gen[1]);
    memset(rp, 0, sizeof(*rp));
}
