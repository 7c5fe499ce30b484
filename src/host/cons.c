/* cons.c: the consensus-core interface's dispatch (cons.h): a configuration names its core,
 * opening picks the adapter (core_raft.c, core_paxos.c). */
#include "faultline/cons.h"

#include "faultline/error.h"
#include "faultline/wire.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

const char *fl_cons_role_name(fl_cons_role role)
{
    static const char *names[] = {"follower", "pre-candidate", "candidate", "leader"};
    return (unsigned)role < 4 ? names[role] : "?";
}

bool fl_cons_protocol_parse(const char *name, fl_cons_protocol *out)
{
    if (!strcmp(name, "raft"))
        *out = FL_CONS_RAFT;
    else if (!strcmp(name, "paxos"))
        *out = FL_CONS_PAXOS;
    else
        return false;
    return true;
}

uint32_t fl_cons_mutant_parse(fl_cons_protocol p, const char *name)
{
    return p == FL_CONS_PAXOS ? fl_paxos_mutant_parse(name) : fl_raft_mutant_parse(name);
}

const char *fl_cons_mutant_name(fl_cons_protocol p, uint32_t bit)
{
    return p == FL_CONS_PAXOS ? fl_paxos_mutant_name(bit) : fl_raft_mutant_name(bit);
}

size_t fl_cons_mutant_list(fl_cons_protocol p, const uint32_t **bits)
{
    return p == FL_CONS_PAXOS ? fl_paxos_mutant_list(bits) : fl_raft_mutant_list(bits);
}

int fl_cons_config_validate(const fl_cons_config *c, char *why, size_t why_size)
{
    if (c->protocol == FL_CONS_RAFT)
        return fl_raft_config_validate(&c->raft, why, why_size);
    if (c->protocol == FL_CONS_PAXOS)
        return fl_paxos_config_validate(&c->paxos, why, why_size);
    if (why)
        snprintf(why, why_size, "unknown protocol %d", (int)c->protocol);
    return FL_ECONFIG;
}

fl_node_id fl_cons_config_id(const fl_cons_config *c)
{
    return c->protocol == FL_CONS_PAXOS ? c->paxos.id : c->raft.id;
}

int fl_cons_open(fl_cons_core *c, const fl_cons_config *cfg, const fl_cons_durable *d,
                 fl_time_ns now)
{
    memset(c, 0, sizeof(*c));
    if (cfg->protocol != FL_CONS_RAFT && cfg->protocol != FL_CONS_PAXOS)
        return FL_ECONFIG;
    c->protocol = cfg->protocol;
    c->ops = cfg->protocol == FL_CONS_PAXOS ? &fl__cons_paxos_ops : &fl__cons_raft_ops;
    c->id = fl_cons_config_id(cfg);
    /* the larger of the two codecs' entry bounds (an AppendEntries, an ACCEPT) */
    size_t n = FL_WIRE_ENTRIES_MAX > FL_PAXOS_BATCH_MAX ? FL_WIRE_ENTRIES_MAX : FL_PAXOS_BATCH_MAX;
    c->decode_entries = calloc(n, sizeof(fl_cons_entry));
    if (!c->decode_entries)
        return FL_ENOMEM;
    int rc = c->ops->init(c, cfg, d, now);
    if (rc) {
        free(c->decode_entries);
        c->decode_entries = NULL;
        return rc;
    }
    c->up = true;
    return 0;
}

void fl_cons_close(fl_cons_core *c)
{
    if (c->up)
        c->ops->close(c);
    c->up = false;
    free(c->decode_entries);
    c->decode_entries = NULL;
}
