/* gossip_int.h: shared between the agent's files: the datagram path (gossip.c), the address
 * table and address fields (gossip_addr.c), push-pull over TCP (gossip_stream.c), and query and
 * join handling (gossip_serve.c). */
#ifndef FAULTLINE_GOSSIP_INT_H
#define FAULTLINE_GOSSIP_INT_H

#include "faultline/gossip.h"

/* Sends one datagram, sealed when the agent has a key (len <= what the key leaves room for). */
void fl__gossip_send(fl_gossip *g, const fl_addr *to, const uint8_t *p, size_t len);
/* Runs one event through the core and carries out its update. */
int fl__gossip_step(fl_gossip *g, const fl_swim_event *ev);
/* A query packet (authentic when keyed) from `from`. */
void fl__gossip_on_query(fl_gossip *g, const uint8_t *p, size_t len, const fl_addr *from);
/* The core knows a member whose address we lack: ask a peer (rate-limited). */
void fl__gossip_want_addr(fl_gossip *g, fl_node_id id);
/* Starts asking the join addresses for their ids (no-op without any). */
void fl__gossip_join_start(fl_gossip *g);
/* Wall-clock milliseconds (the seal's time). */
uint64_t fl__gossip_wall_ms(void);

/* gossip_addr.c */
/* Learns (first_hand: or refreshes) the address of a member; false when the table is full of
 * members the core knows. */
bool fl__gossip_learn(fl_gossip *g, fl_node_id id, const fl_addr *a, bool first_hand);
/* The known address of a member, or NULL. */
const fl_addr *fl__gossip_addr_of(fl_gossip *g, fl_node_id id);
/* The room an address field needs for the agent's address family. */
uint32_t fl__gossip_addr_bytes(const fl_addr *local);
/* Fills the address fields of a core message about to leave (swim.h, fl_swim_addr_fields). */
void fl__gossip_fill_addrs(fl_gossip *g, uint8_t *msg, size_t len);
/* Reads the address fields of a message that arrived (from src, whose IP stands in for an
 * unspecified one): learns what it did not know, and clears the first byte of any field it
 * cannot use so that the core does not count on it. 0, or the decoder's error. */
int fl__gossip_read_addrs(fl_gossip *g, uint8_t *msg, size_t len, const fl_addr *src);

/* gossip_stream.c */
/* Opens the TCP listener on the UDP socket's address and port. */
int fl__gossip_stream_listen(fl_gossip *g, fl_errmsg *m);
/* A STATE message from the core: on the inbound connection it answers, or a new one. */
void fl__gossip_stream_send(fl_gossip *g, const fl_swim_msg *msg);
/* Closes the listener and every connection. */
void fl__gossip_stream_stop(fl_gossip *g);

#endif
