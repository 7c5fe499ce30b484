/* stats.c: the simulator's counters written as one JSON object (for results.json).
 *
 * Invariant: reads only; the output depends only on the run (same seed, same bytes). */
#include "sim_internal.h"

#include "faultline/json.h"

static void node_json(fl_json *j, const fl_sim *sim, uint32_t i)
{
    const fl_sim_node_stats *s = sim->nodes[i].st;
    static const char *const st[] = {"down", "up", "paused"};
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "id", i + 1);
    fl_json_kv_str(j, "state", st[sim->nodes[i].state]);
    fl_json_kv_str(j, "reason", sim->nodes[i].reason);
    fl_json_kv_uint(j, "disk_writes", s->disk_writes);
    fl_json_kv_uint(j, "disk_bytes", s->disk_bytes);
    fl_json_kv_uint(j, "disk_used_bytes", fl_simdisk_bytes(sim->nodes[i].disk.sd));
    fl_json_kv_uint(j, "fsyncs", s->fsyncs);
    fl_json_kv_uint(j, "fsync_failures", s->fsync_failures);
    fl_json_kv_uint(j, "crashes", s->crashes);
    fl_json_kv_uint(j, "restarts", s->restarts);
    fl_json_kv_uint(j, "timers", s->timers);
    fl_json_obj_end(j);
}

void fl_sim_stats_json(const fl_sim *sim, struct fl_json *j)
{
    const fl_sim_stats *s = &sim->stats;
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "seed", sim->cfg.seed);
    fl_json_kv_uint(j, "nodes", sim->cfg.nodes);
    fl_json_kv_uint(j, "time_ns", sim->now);
    fl_json_kv_uint(j, "events", s->events);
    char hash[17];
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++)
        hash[k] = hex[(sim->trace_hash >> (60 - 4 * k)) & 15];
    hash[16] = '\0';
    fl_json_kv_str(j, "trace_hash", hash);
    fl_json_kv_uint(j, "msgs_sent", s->msgs_sent);
    fl_json_kv_uint(j, "msgs_delivered", s->msgs_delivered);
    fl_json_kv_uint(j, "msgs_dropped_loss", s->msgs_dropped_loss);
    fl_json_kv_uint(j, "msgs_dropped_partition", s->msgs_dropped_partition);
    fl_json_kv_uint(j, "msgs_dropped_down", s->msgs_dropped_down);
    fl_json_kv_uint(j, "msgs_dropped_full", s->msgs_dropped_full);
    fl_json_kv_uint(j, "msgs_duplicated", s->msgs_duplicated);
    fl_json_kv_uint(j, "msgs_reordered", s->msgs_reordered);
    fl_json_kv_uint(j, "msgs_held", s->msgs_held);
    fl_json_kv_uint(j, "msgs_holding", s->msgs_holding);
    if (s->events_held) /* only where nodes hold for their syncs: other outputs stay as they were */
        fl_json_kv_uint(j, "events_held", s->events_held);
    fl_json_kv_uint(j, "msg_delay_max_ns", s->msg_delay_max_ns);
    fl_json_kv_uint(j, "bytes_sent", s->bytes_sent);
    fl_json_kv_uint(j, "bytes_delivered", s->bytes_delivered);
    fl_json_key(j, "per_node");
    fl_json_arr_begin(j);
    for (uint32_t i = 0; i < sim->cfg.nodes; i++)
        node_json(j, sim, i);
    fl_json_arr_end(j);
    if (sim->violation.found) {
        fl_json_key(j, "violation");
        fl_json_obj_begin(j);
        fl_json_kv_uint(j, "event", sim->violation.event);
        fl_json_kv_uint(j, "time_ns", sim->violation.time_ns);
        fl_json_kv_str(j, "reason", sim->violation.reason);
        fl_json_obj_end(j);
    }
    fl_json_obj_end(j);
}
