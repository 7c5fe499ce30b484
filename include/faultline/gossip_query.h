/* gossip_query.h: the agent's small query protocol on its UDP port, beside SWIM's packets
 * (told apart by the first byte), sealed like them when the agent has a key (gossip_auth.h).
 *
 *   WHOIS     -> the agent's member id (how `--join HOST:PORT` learns a seed's id)
 *   STATS     -> the agent's counters (packets, rejected, malformed...)
 *   MEMBERS   -> one page of its member table from an offset: id, incarnation, state, address
 *
 * Packet v1, little-endian:
 *   0 u8 magic 0x51 ('Q')   1 u8 version (1)   2 u8 type   3 u8 entry count
 *   4 u32 nonce (echoed)    8 u32 agent id (replies)      12 u32 offset    16 u32 total
 *  20 STATS reply: FL_GQ_STATS_N x u64;  MEMBERS reply: entries, each
 *        u32 id, u32 incarnation, u8 state, u8 family (0 none, 4, 6), u16 port, 0/4/16 bytes
 * Anything after the last entry is an error. */
#ifndef FAULTLINE_GOSSIP_QUERY_H
#define FAULTLINE_GOSSIP_QUERY_H

#include "faultline/buf.h"
#include "faultline/errmsg.h"
#include "faultline/gossip_auth.h"
#include "faultline/net.h"
#include "faultline/swim.h"

#define FL_GQ_MAGIC        0x51
#define FL_GQ_VERSION      1
#define FL_GQ_HEADER_BYTES 20
#define FL_GQ_PAGE_MAX     40 /* entries per MEMBERS reply: 20 + 40 * 28 + 40 < 1400 */
#define FL_GQ_STATS_N      8

typedef enum fl_gq_type {
    FL_GQ_WHOIS = 1,
    FL_GQ_WHOIS_REPLY = 2,
    FL_GQ_MEMBERS = 3,
    FL_GQ_MEMBERS_REPLY = 4,
    FL_GQ_STATS = 5,
    FL_GQ_STATS_REPLY = 6,
} fl_gq_type;

/* The counters of a STATS reply, in order. */
enum {
    FL_GQ_ST_SENT,
    FL_GQ_ST_RECEIVED,
    FL_GQ_ST_REJECTED,  /* failed authentication, or unsealed while a key is set */
    FL_GQ_ST_REPLAYED,  /* outside the time window, or seen before */
    FL_GQ_ST_MALFORMED, /* authentic (or no key) but undecodable */
    FL_GQ_ST_NO_ADDRESS,
    FL_GQ_ST_MEMBERS,
    FL_GQ_ST_LIVE,
};

typedef struct fl_gq_entry {
    fl_node_id id;
    uint32_t incarnation;
    fl_swim_state state;
    bool has_addr;
    fl_addr addr;
} fl_gq_entry;

typedef struct fl_gq_packet {
    uint8_t type;
    uint32_t nonce, agent, offset, total;
    uint32_t n;
    uint64_t stats[FL_GQ_STATS_N];
    fl_gq_entry e[FL_GQ_PAGE_MAX];
} fl_gq_packet;

void fl_gq_encode_header(fl_buf *b, uint8_t type, uint32_t nonce, uint32_t agent, uint32_t offset,
                         uint32_t total);
/* Appends one MEMBERS entry and bumps the count in the header at offset head. */
void fl_gq_encode_entry(fl_buf *b, size_t head, const fl_gq_entry *e);
void fl_gq_encode_stats(fl_buf *b, const uint64_t *stats);
/* Decodes untrusted bytes: 0, or FL_ETRUNC, FL_EVERSION, FL_ETYPE, FL_ECORRUPT, FL_ETOOBIG. */
int fl_gq_decode(const uint8_t *p, size_t len, fl_gq_packet *out);

/* Client: sends a request to an agent and waits for the matching reply (timeout_ms per try,
 * 3 tries). key may be NULL or unset. 0, FL_ETIMEOUT, FL_EIO with a message. */
int fl_gq_ask(const fl_addr *agent, const fl_gossip_key *key, uint8_t type, uint32_t offset,
              int timeout_ms, fl_gq_packet *reply, fl_errmsg *m);

#endif
