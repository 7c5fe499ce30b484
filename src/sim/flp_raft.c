/* flp_raft.c: Raft's oracle for the FLP adversary (flp.h).
 *
 * A Raft decision (an entry committed) needs a leader, and a leader needs the votes of a
 * quorum in its term. So it is enough to hold back, for a candidate still campaigning in term
 * t, the granted vote that would complete its quorum, counting the grants for t already
 * delivered to it and its own vote (counted as soon as it campaigns, which is never later than
 * the core counts it: raft.h, the own vote counts once durable). The candidate times out, moves
 * to t + 1 or steps down, and from then on the held grant can no longer help (the core ignores
 * a response of an older term, or for a role it no longer has): it goes. Pre-votes pass: a
 * pre-candidate that wins becomes a candidate, which decides nothing. Everything else passes
 * too: there is never a leader to send entries, acknowledgements or TimeoutNow.
 *
 * It reads the nodes through raft.h's accessors (role, term, configuration, commit index) and
 * decodes messages with the wire codec; it changes nothing. */
#include "faultline/flp.h"

#include "faultline/raft_sim.h"
#include "faultline/wire.h"

#include <string.h>

#define MUTANT(st, m) (((st)->mutants & FL_FLP_MUTANT_##m) != 0)

/* Voters of list ids[0..n) among the bits of votes (bit id set: a vote of id). */
static uint32_t counted(const fl_node_id *ids, uint32_t n, uint32_t votes)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += ids[i] <= FL_RAFT_NODES_MAX && ((votes >> ids[i]) & 1);
    return k;
}

/* Would votes make a quorum of the candidate's configuration (of either side while joint:
 * holding as soon as one side would be complete is the cautious reading)? */
static bool quorum(const fl_raft_conf *c, uint32_t votes)
{
    if (counted(c->voters, c->n_voters, votes) >= c->n_voters / 2 + 1)
        return true;
    return c->n_voters_old > 0 &&
           counted(c->voters_old, c->n_voters_old, votes) >= c->n_voters_old / 2 + 1;
}

static bool raft_hold(void *ctx, const fl_sim *sim, fl_node_id from, fl_node_id to,
                      const uint8_t *msg, size_t len)
{
    fl_flp_raft *st = ctx;
    fl_raft_msg m;
    if (fl_wire_raft_decode(msg, len, &m, NULL, 0) != 0 || m.type != FL_RAFT_MSG_VOTE_RESP ||
        !m.u.vote_resp.granted)
        return false; /* not a granted vote (entries do not decode here: they are not votes) */
    const fl_raft *r = fl_raft_sim_node(sim, to);
    if (!r || to > FL_RAFT_NODES_MAX || from > FL_RAFT_NODES_MAX ||
        fl_raft_role_of(r) != FL_RAFT_CANDIDATE || fl_raft_term_of(r) != m.term)
        return false; /* it can no longer help: the receiver ignores it */
    if (st->cand[to].term != m.term) {
        st->cand[to].term = m.term;
        st->cand[to].granted = 0;
    }
    uint32_t votes = st->cand[to].granted | 1u << from;
    if (!MUTANT(st, FORGET_OWN_VOTE))
        votes |= 1u << to;
    if (quorum(fl_raft_conf_of(r), votes))
        return true;
    st->cand[to].granted |= 1u << from; /* delivered right after this call */
    return false;
}

static uint64_t raft_decided(void *ctx, const fl_sim *sim)
{
    (void)ctx;
    uint64_t best = 0;
    for (fl_node_id id = 1; id <= fl_sim_nodes(sim); id++) {
        const fl_raft *r = fl_raft_sim_node(sim, id);
        if (r && fl_raft_commit_of(r) > best)
            best = fl_raft_commit_of(r);
    }
    return best;
}

void fl_flp_raft_oracle(fl_flp_raft *st, uint32_t mutants, fl_flp_oracle *o)
{
    memset(st, 0, sizeof(*st));
    st->mutants = mutants;
    *o = (fl_flp_oracle){.name = "raft",
                         .holds = "each granted vote that would complete a candidate's quorum",
                         .hold = raft_hold,
                         .decided = raft_decided,
                         .ctx = st};
}
