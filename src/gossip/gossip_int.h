/* gossip_int.h: shared between the agent's datagram path (gossip.c) and its query and join
 * handling (gossip_serve.c). */
#ifndef FAULTLINE_GOSSIP_INT_H
#define FAULTLINE_GOSSIP_INT_H

#include "faultline/gossip.h"

/* Sends one datagram, sealed when the agent has a key (len <= what the key leaves room for). */
void fl__gossip_send(fl_gossip *g, const fl_addr *to, const uint8_t *p, size_t len);
/* Learns (or refreshes) the address of a member. */
void fl__gossip_learn(fl_gossip *g, fl_node_id id, const fl_addr *a);
/* The known address of a member, or NULL. */
const fl_addr *fl__gossip_addr_of(fl_gossip *g, fl_node_id id);
/* Runs one event through the core and carries out its update. */
int fl__gossip_step(fl_gossip *g, const fl_swim_event *ev);
/* A query packet (authentic when keyed) from `from`. */
void fl__gossip_on_query(fl_gossip *g, const uint8_t *p, size_t len, const fl_addr *from);
/* The core sent to a member with no known address: ask a peer (rate-limited). */
void fl__gossip_want_addr(fl_gossip *g, fl_node_id id);
/* Starts asking the join addresses for their ids (no-op without any). */
void fl__gossip_join_start(fl_gossip *g);

#endif
