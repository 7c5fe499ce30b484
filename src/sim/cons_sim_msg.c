/* cons_sim_msg.c: messages in a few words for the simulator's verbose traces (fl_sim_proto
 * describe_msg): what `faultline shrink` prints around a violation. */
#include "cons_sim_int.h"
#include "faultline/wire.h"

#include <stdlib.h>

/* A Raft message in a few words, for verbose traces (sim.h); a message that does not decode as
 * Raft's (a Paxos run's) says so. */
void fl__cons_msg_describe(const uint8_t *bytes, size_t len, fl_buf *out)
{
    fl_raft_entry *entries = malloc(FL_WIRE_ENTRIES_MAX * sizeof(*entries));
    fl_raft_msg m;
    if (!entries || fl_wire_raft_decode(bytes, len, &m, entries, FL_WIRE_ENTRIES_MAX)) {
        fl_buf_put_str(out, "(not a Raft message)");
        free(entries);
        return;
    }
    fl_buf_printf(out, "%s t%llu", fl_raft_msg_type_name(m.type), (unsigned long long)m.term);
    switch (m.type) {
    case FL_RAFT_MSG_VOTE:
    case FL_RAFT_MSG_PRE_VOTE:
        fl_buf_printf(out, " last %llu@%llu", (unsigned long long)m.u.vote.last_index,
                      (unsigned long long)m.u.vote.last_term);
        break;
    case FL_RAFT_MSG_VOTE_RESP:
    case FL_RAFT_MSG_PRE_VOTE_RESP:
        fl_buf_put_str(out, m.u.vote_resp.granted ? " granted" : " refused");
        break;
    case FL_RAFT_MSG_APPEND:
        fl_buf_printf(out, " prev %llu@%llu +%u commit %llu",
                      (unsigned long long)m.u.append.prev_index,
                      (unsigned long long)m.u.append.prev_term, m.u.append.n_entries,
                      (unsigned long long)m.u.append.commit);
        break;
    case FL_RAFT_MSG_APPEND_RESP:
        if (m.u.append_resp.success)
            fl_buf_printf(out, " ok match %llu", (unsigned long long)m.u.append_resp.match_index);
        else
            fl_buf_printf(out, " reject %llu hint %llu@%llu",
                          (unsigned long long)m.u.append_resp.reject_index,
                          (unsigned long long)m.u.append_resp.hint_index,
                          (unsigned long long)m.u.append_resp.hint_term);
        break;
    case FL_RAFT_MSG_SNAPSHOT:
        fl_buf_printf(out, " snap %llu@%llu off %llu", (unsigned long long)m.u.snapshot.meta.index,
                      (unsigned long long)m.u.snapshot.meta.term,
                      (unsigned long long)m.u.snapshot.offset);
        break;
    case FL_RAFT_MSG_READ_INDEX_RESP:
        fl_buf_printf(out, " %s %llu", m.u.read_index.ok ? "ok" : "no",
                      (unsigned long long)m.u.read_index.index);
        break;
    default:
        break;
    }
    free(entries);
}
