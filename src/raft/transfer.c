/* transfer.c: leadership transfer (Raft thesis 3.10). The leader stops taking proposals,
 * brings the target's log up to date, then sends it TimeoutNow; the target campaigns at once
 * (no pre-vote, and voters answer it even while they hear from this leader). If the target
 * has not taken over within an election timeout the transfer is abandoned and proposals
 * resume.
 *
 * Invariant: transfer_to != 0 only while this node is leader. */
#include "raft_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

static void send_timeout_now(fl_raft *r, fl_node_id to)
{
    fl__out(r, FL_RAFT_MSG_TIMEOUT_NOW, to);
}

int fl__transfer(fl_raft *r, fl_node_id to)
{
    if (r->role != FL_RAFT_LEADER)
        return FL_ENOTLEADER;
    fl_raft_progress *pr = fl__progress(r, to);
    if (!pr || to == r->cfg.id || !fl__is_voter(r, to))
        return FL_EINVAL;
    r->transfer_to = to;
    r->transfer_deadline = r->now + r->cfg.election_timeout_ns;
    fl__transfer_progress(r, pr);
    if (r->transfer_to)
        fl__replicate_all(r); /* the target may be behind: send what it lacks */
    return 0;
}

void fl__transfer_progress(fl_raft *r, fl_raft_progress *pr)
{
    if (!r->transfer_to || pr->id != r->transfer_to)
        return;
    if (pr->match == fl_raft_last_index(r))
        send_timeout_now(r, pr->id); /* repeated on every ack until it takes over: harmless */
}

void fl__transfer_tick(fl_raft *r)
{
    if (r->transfer_to && r->now >= r->transfer_deadline) {
        r->transfer_to = FL_NODE_NONE;
        r->transfers_aborted++;
    }
}
