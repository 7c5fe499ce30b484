/* cons.h: the consensus-core interface: what the one host (host.h) needs of a core, as a
 * small table of functions over a neutral event and a neutral update, with one adapter per
 * core (src/host/core_raft.c, core_paxos.c). The host, the simulator's node glue and the
 * server drive Raft and Multi-Paxos alike through it; only observers that judge a protocol's
 * own rules (its checker) look at the native core (fl_cons_raft, fl_cons_paxos) and the
 * core's own messages in the update.
 *
 *   - events: TICK, PERSISTED (seq), PROPOSE (command), READ (ctx), SNAPSHOT (taken at an
 *     applied index) for both; TRANSFER (leadership) and CHANGE (membership) are Raft's: a
 *     Paxos core does not take them (fl_cons_supports: the host answers FL_EUNSUPPORTED).
 *     Messages arrive as bytes (fl_cons_receive: the core's codec decodes them, a refusal is
 *     FL_ECORRUPT) and leave as bytes (fl_cons_encode, snapshot chunks filled in).
 *   - the update (fl_cons_update, cons_types.h) is the one both cores make (fl_raft_update
 *     and fl_paxos_update are the same type): the persist request, a snapshot chunk to
 *     stage, an index to restore, messages, committed entries to apply, decided reads, where
 *     a proposal went, role / term (Raft's term, Paxos's promised ballot) / leader / commit,
 *     and the next deadline; nothing is converted between the core and the host.
 *   - the persistence contract is the cores' own (raft.h, paxos.h): requests are numbered,
 *     made durable in order and reported with PERSISTED; nothing that depends on one is
 *     announced before.
 *
 * Follower reads exist in Raft only: a Paxos follower refuses READ with
 * FL_ENOTLEADER, as a Raft node that knows no leader does. */
#ifndef FAULTLINE_CONS_H
#define FAULTLINE_CONS_H

#include "faultline/buf.h"
#include "faultline/cons_types.h"
#include "faultline/paxos.h"
#include "faultline/raft.h"

const char *fl_cons_role_name(fl_cons_role role);
/* "raft" or "paxos" into *out; false for anything else. */
bool fl_cons_protocol_parse(const char *name, fl_cons_protocol *out);

/* The numbers are Raft's (and Paxos's where it has them). */
typedef enum fl_cons_event_type {
    FL_CONS_EV_TICK = 1,
    FL_CONS_EV_RECEIVE = 2, /* only through fl_cons_receive */
    FL_CONS_EV_PERSISTED = 3,
    FL_CONS_EV_PROPOSE = 4,
    FL_CONS_EV_READ = 5,
    FL_CONS_EV_TRANSFER = 6, /* Raft */
    FL_CONS_EV_SNAPSHOT = 7,
    FL_CONS_EV_CHANGE = 8, /* Raft */
} fl_cons_event_type;

typedef struct fl_cons_event {
    uint8_t type; /* fl_cons_event_type */
    fl_time_ns now_ns;
    union {
        const void *msg; /* RECEIVE: the core's decoded message (for observers) */
        uint64_t seq;    /* PERSISTED */
        struct {
            const uint8_t *data;
            uint32_t len;
        } propose;
        uint64_t read_ctx;
        fl_node_id transfer_to;
        const fl_raft_conf *change;
        struct {
            fl_index index;
            uint64_t size;
            uint32_t crc;
        } snapshot;
    } u;
} fl_cons_event;

typedef struct fl_cons_status {
    fl_cons_role role;
    fl_term term; /* as in the update */
    fl_node_id leader;
    fl_index commit, applied;
    fl_index first_index, last_index;
    fl_index snapshot_index;
    bool install_pending; /* a received snapshot waits to be durable */
    fl_term hard_term;    /* the hard state in memory: Raft term and vote, Paxos promise */
    fl_node_id hard_vote;
    fl_time_ns deadline_ns;
} fl_cons_status;

/* Counters for observers, summed over the node's life (this process). */
typedef struct fl_cons_counters {
    uint64_t elections;            /* Raft elections; Paxos phase-1 ballots started */
    uint64_t snapshots_taken;      /* EV_SNAPSHOT accepted */
    uint64_t snapshot_chunks_sent; /* snapshot messages */
    uint64_t snapshots_installed;  /* received snapshots made durable */
    uint64_t lease_reads_served;
    uint64_t proposals_refused_busy;
} fl_cons_counters;

typedef struct fl_cons_config {
    fl_cons_protocol protocol;
    fl_raft_config raft;   /* protocol raft */
    fl_paxos_config paxos; /* protocol paxos */
} fl_cons_config;

typedef struct fl_cons_core fl_cons_core;

/* One core kind. Every function takes the core the table belongs to. */
typedef struct fl_cons_ops {
    const char *name;
    uint32_t events; /* bit t: takes events of type t */
    int (*init)(fl_cons_core *c, const fl_cons_config *cfg, const fl_cons_durable *d,
                fl_time_ns now);
    void (*close)(fl_cons_core *c);
    int (*step)(fl_cons_core *c, const fl_cons_event *ev, fl_cons_update *up);
    int (*receive)(fl_cons_core *c, fl_node_id from, const uint8_t *bytes, size_t len,
                   fl_cons_event *ev, fl_cons_update *up);
    int (*encode)(const fl_cons_update *up, size_t i, const uint8_t *snap, size_t snap_len,
                  fl_buf *out, fl_node_id *to);
    void (*status)(const fl_cons_core *c, fl_cons_status *st);
    void (*counters)(const fl_cons_core *c, fl_cons_counters *k);
    const fl_cons_entry *(*entry_at)(const fl_cons_core *c, fl_index index);
    void (*snapshot_meta)(const fl_cons_core *c, fl_cons_snapshot_meta *m);
    void (*invariants)(const fl_cons_core *c);
    /* payloads the core dropped from its log, handed over (fl_raft_take_dropped); NULL for a
     * core that frees its own */
    size_t (*take_dropped)(fl_cons_core *c, void ***out);
    void (*describe)(const fl_cons_core *c, char *out, size_t out_size);
} fl_cons_ops;

/* A core of either kind with what its adapter keeps between steps. Private to the adapters:
 * read it through the functions below (the native core: fl_cons_raft / fl_cons_paxos). */
struct fl_cons_core {
    const fl_cons_ops *ops;
    fl_cons_protocol protocol;
    fl_node_id id;
    union {
        fl_raft raft;
        fl_paxos paxos;
    } u;
    union {
        fl_raft_msg raft;
        fl_paxos_msg paxos;
    } msg; /* the last message received (its entries in decode_entries) */
    fl_cons_entry *decode_entries;
    bool up;
};

/* The protocol's planted bugs (fl_raft_mutant, fl_paxos_mutant: the bits are each core's
 * own): the bit named name (0 if none), a bit's name ("?" if none), every one for listings. */
uint32_t fl_cons_mutant_parse(fl_cons_protocol p, const char *name);
const char *fl_cons_mutant_name(fl_cons_protocol p, uint32_t bit);
size_t fl_cons_mutant_list(fl_cons_protocol p, const uint32_t **bits);

/* Returns 0, or FL_ECONFIG with the reason in why. */
int fl_cons_config_validate(const fl_cons_config *c, char *why, size_t why_size);
fl_node_id fl_cons_config_id(const fl_cons_config *c);
/* Initializes c as the core cfg names from what its disk held. Returns 0 or the core's init
 * error (FL_ECONFIG, FL_ECORRUPT: the recovered state refused, FL_ENOMEM). */
int fl_cons_open(fl_cons_core *c, const fl_cons_config *cfg, const fl_cons_durable *d,
                 fl_time_ns now);
void fl_cons_close(fl_cons_core *c);

static inline bool fl_cons_supports(const fl_cons_core *c, uint8_t type)
{
    return type < 32 && (c->ops->events >> type & 1u);
}
/* One event; *up is always filled. Returns what the core returns. */
static inline int fl_cons_step(fl_cons_core *c, const fl_cons_event *ev, fl_cons_update *up)
{
    return c->ops->step(c, ev, up);
}
/* Bytes from node from: decoded (FL_ECORRUPT when the codec refuses them or they are not from
 * from, or not for this node: then nothing is stepped) and stepped with ev->now_ns; ev becomes
 * the RECEIVE event stepped. */
static inline int fl_cons_receive(fl_cons_core *c, fl_node_id from, const uint8_t *bytes,
                                  size_t len, fl_cons_event *ev, fl_cons_update *up)
{
    return c->ops->receive(c, from, bytes, len, ev, up);
}
/* Message i of update up (the core's last), encoded into out (appended); snapshot chunks
 * take their bytes from snap (the node's snapshot, of the size the core names). *to: where
 * it goes. FL_ENOTFOUND (nothing encoded) for a snapshot chunk when snap is NULL. */
static inline int fl_cons_encode(const fl_cons_core *c, const fl_cons_update *up, size_t i,
                                 const uint8_t *snap, size_t snap_len, fl_buf *out, fl_node_id *to)
{
    return c->ops->encode(up, i, snap, snap_len, out, to);
}
static inline void fl_cons_status_of(const fl_cons_core *c, fl_cons_status *st)
{
    c->ops->status(c, st);
}
/* The entry at index, NULL outside the log; the log is contiguous: entry_at(i + 1) is
 * entry_at(i) + 1 within it. */
static inline const fl_cons_entry *fl_cons_entry_at(const fl_cons_core *c, fl_index index)
{
    return c->ops->entry_at(c, index);
}
/* The log payloads the core's last compaction dropped, now the caller's to free (the pointers
 * and the array): fl_raft_take_dropped. 0 (and *out NULL) for none, or for a core that frees
 * its own. */
static inline size_t fl_cons_take_dropped(fl_cons_core *c, void ***out)
{
    *out = NULL;
    return c->ops->take_dropped ? c->ops->take_dropped(c, out) : 0;
}
/* The few facts hot paths ask for (routing a client's command), without a table call. */
static inline fl_cons_role fl_cons_role_of(const fl_cons_core *c)
{
    return c->protocol == FL_CONS_PAXOS ? (fl_cons_role)fl_paxos_role_of(&c->u.paxos)
                                        : (fl_cons_role)fl_raft_role_of(&c->u.raft);
}
static inline fl_node_id fl_cons_leader_of(const fl_cons_core *c)
{
    return c->protocol == FL_CONS_PAXOS ? fl_paxos_leader_of(&c->u.paxos)
                                        : fl_raft_leader_of(&c->u.raft);
}
static inline fl_index fl_cons_applied_of(const fl_cons_core *c)
{
    return c->protocol == FL_CONS_PAXOS ? fl_paxos_applied_of(&c->u.paxos)
                                        : fl_raft_applied_of(&c->u.raft);
}
static inline const fl_raft *fl_cons_raft(const fl_cons_core *c)
{
    return c->protocol == FL_CONS_RAFT ? &c->u.raft : NULL;
}
static inline const fl_paxos *fl_cons_paxos(const fl_cons_core *c)
{
    return c->protocol == FL_CONS_PAXOS ? &c->u.paxos : NULL;
}

extern const fl_cons_ops fl__cons_raft_ops, fl__cons_paxos_ops;

#endif
