/* gossip_auth.h: keyed authentication of gossip datagrams (a shared cluster key).
 *
 * A sealed datagram is   payload | u64 sender wall-clock time (ms, little-endian) | tag
 * where tag = HMAC-SHA-512-256(key, payload | time) (libsodium crypto_auth, 32 bytes). The
 * receiver drops a datagram whose tag does not verify, whose time is more than
 * FL_GOSSIP_WINDOW_MS away from its own clock (old captures cannot be replayed), or whose tag
 * it has already seen recently (a replay inside the window; the cache remembers the last
 * 2 x FL_GOSSIP_REPLAY_GEN tags). Members' clocks must agree within the window.
 *
 * This is the only place that uses libsodium; the protocol cores never see keys or tags. */
#ifndef FAULTLINE_GOSSIP_AUTH_H
#define FAULTLINE_GOSSIP_AUTH_H

#include "faultline/errmsg.h"
#include "faultline/types.h"

#define FL_GOSSIP_KEY_BYTES  32
#define FL_GOSSIP_TAG_BYTES  32
#define FL_GOSSIP_AUTH_BYTES (8 + FL_GOSSIP_TAG_BYTES) /* what sealing adds */
#define FL_GOSSIP_WINDOW_MS  (30 * 1000)
#define FL_GOSSIP_REPLAY_GEN 8192 /* tags per cache generation */

typedef struct fl_gossip_key {
    bool set;
    uint8_t k[FL_GOSSIP_KEY_BYTES];
} fl_gossip_key;

/* The replay cache: two generations of open-addressing sets of tag fingerprints; when the
 * current one holds FL_GOSSIP_REPLAY_GEN it becomes the previous one. Caller-owned, zeroed by
 * fl_gossip_replay_init. */
typedef struct fl_gossip_replay {
    uint64_t *gen[2]; /* 2 * FL_GOSSIP_REPLAY_GEN slots each; 0 = empty */
    uint32_t cur, count;
} fl_gossip_replay;

/* False in a build without libsodium: then fl_gossip_key_load and fl_gossip_replay_init
 * refuse (FL_EUNSUPPORTED) and agents run unkeyed only. */
bool fl_gossip_auth_available(void);

/* Key file contents: 64 hex digits (surrounding whitespace ignored) or exactly 32 raw bytes.
 * 0, or FL_EINVAL with a message. */
int fl_gossip_key_parse(const uint8_t *data, size_t len, fl_gossip_key *k, fl_errmsg *m);
/* Reads and parses a key file (at most 4 KiB). 0, FL_EIO or FL_EINVAL with a message. */
int fl_gossip_key_load(const char *path, fl_gossip_key *k, fl_errmsg *m);

/* Appends time and tag to the len payload bytes at p (room for len + FL_GOSSIP_AUTH_BYTES);
 * returns the sealed length. */
size_t fl_gossip_seal(const fl_gossip_key *k, uint8_t *p, size_t len, uint64_t now_ms);
/* Verifies a sealed datagram (untrusted bytes). 0 and the payload length in *payload_len, or
 * FL_ECORRUPT (short, or the tag does not verify), FL_ESTALE (time outside the window, or a
 * replay; only when rp is not NULL). */
int fl_gossip_open(const fl_gossip_key *k, fl_gossip_replay *rp, const uint8_t *p, size_t len,
                   uint64_t now_ms, size_t *payload_len);

int fl_gossip_replay_init(fl_gossip_replay *rp);
void fl_gossip_replay_free(fl_gossip_replay *rp);

#endif
