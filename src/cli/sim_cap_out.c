/* sim_cap_out.c: what `faultline sim --cap` prints and writes (sim_cap.h): a table per side of
 * the partition (reads and writes answered while it lasted, per read mode), the consistency of
 * each whole history, and the verdict in three lines, each computed from the figures. */
#include "sim_cap.h"

#include "faultline/json.h"

#include <string.h>

static const char *label(const cap_row *r)
{
    switch (r->mode) {
    case FL_RUN_READ_INDEX:
        return "index (ReadIndex)";
    case FL_RUN_READ_LEASE:
        return "lease";
    case FL_RUN_READ_LOG:
        return "log (at the leader)";
    default:
        return r->at == FL_RUN_READ_AT_STICKY ? "local (sticky)" : "local";
    }
}

static double pct(uint64_t part, uint64_t all)
{
    return all ? 100.0 * (double)part / (double)all : 0.0;
}

/* "n4,n5": the nodes of side (0 minority, 1 majority). */
static void nodes_of(const cap_row *r, uint32_t nodes, int side, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (fl_node_id id = 1; id <= nodes && used + 1 < size; id++)
        if ((((r->minority >> id) & 1) != 0) == (side == 0)) {
            int k = snprintf(out + used, size - used, used ? ",n%u" : "n%u", id);
            used += k > 0 ? (size_t)k : 0;
        }
}

static void side_table(FILE *f, const fl_run_config *c, const cap_row *rows, size_t n, int side)
{
    fprintf(f, "\n%s side%s\n", side ? "majority" : "minority",
            side ? "" : " (the one the leader was on)");
    fprintf(f, "  %-20s %-10s %7s   %-24s %s\n", "read mode", "nodes", "clients", "reads answered",
            "writes answered");
    for (size_t i = 0; i < n; i++) {
        const cap_row *r = &rows[i];
        const fl_observe_group *g = &r->side[side];
        char who[64];
        nodes_of(r, c->nodes, side, who, sizeof(who));
        fprintf(f, "  %-20s %-10s %7u   %6llu of %6llu %6.1f%%   %6llu of %6llu %6.1f%%\n",
                label(r), who, r->clients[side], (unsigned long long)g->reads_answered,
                (unsigned long long)g->reads, pct(g->reads_answered, g->reads),
                (unsigned long long)g->writes_answered, (unsigned long long)g->writes,
                pct(g->writes_answered, g->writes));
    }
}

static const char *yes(fl_verdict v)
{
    return v == FL_LIN_OK ? "yes" : v == FL_LIN_VIOLATION ? "NO" : "unknown";
}

static void history_table(FILE *f, const cap_row *rows, size_t n)
{
    fprintf(f, "\nthe whole history (both sides, the whole run)\n");
    fprintf(f, "  %-20s %-13s %-24s %s\n", "read mode", "linearizable", "sequentially consistent",
            "stale reads");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-20s %-13s %-24s %llu of %llu ok reads%s\n", label(&rows[i]),
                yes(rows[i].lin), yes(rows[i].seq), (unsigned long long)rows[i].stale,
                (unsigned long long)rows[i].reads_ok,
                rows[i].safe ? "" : "; Raft's invariants VIOLATED");
}

/* The three claims, each from the figures: C kept, A given up on the minority side, and
 * what local reads trade. */
static void verdict(FILE *f, const cap_row *rows, size_t n)
{
    uint64_t min_w = 0, min_wa = 0, strict_r = 0, strict_ra = 0;
    bool c_kept = true;
    const cap_row *local = NULL;
    for (size_t i = 0; i < n; i++) {
        const cap_row *r = &rows[i];
        min_w += r->side[0].writes;
        min_wa += r->side[0].writes_answered;
        if (r->mode == FL_RUN_READ_LOCAL) {
            local = r;
            continue;
        }
        c_kept = c_kept && r->lin == FL_LIN_OK && r->safe;
        strict_r += r->side[0].reads;
        strict_ra += r->side[0].reads_answered;
    }
    fprintf(f, "\nverdict\n");
    fprintf(f, "  C: %s\n",
            c_kept ? "index, lease and log reads kept every history linearizable"
                   : "NOT kept: a history of index, lease or log reads is not "
                     "(known to be) linearizable");
    fprintf(f,
            "  A: the minority side answered %llu of its %llu writes in every mode, and %llu of "
            "%llu reads without local reads (%.1f%%)\n",
            (unsigned long long)min_wa, (unsigned long long)min_w, (unsigned long long)strict_ra,
            (unsigned long long)strict_r, pct(strict_ra, strict_r));
    if (local)
        fprintf(f,
                "  local reads: %.1f%% of the minority's reads answered, at the price of %s "
                "(%llu stale reads); sequentially consistent: %s\n",
                pct(local->side[0].reads_answered, local->side[0].reads),
                local->lin == FL_LIN_OK ? "nothing (linearizable)" : "linearizability",
                (unsigned long long)local->stale, yes(local->seq));
}

void cap_print(FILE *f, const fl_run_config *c, const cap_row *rows, size_t n)
{
    const cap_row *r = &rows[0];
    fprintf(f,
            "CAP      %u nodes, seed %llu, %.1f s, %s workload, %u clients each beside its home "
            "node\n",
            c->nodes, (unsigned long long)c->seed, (double)c->duration_ns / 1e9,
            fl_run_workload_name(c->workload), c->clients);
    int others = __builtin_popcount(r->minority) - 1;
    char who[48] = "the leader alone";
    if (others > 0)
        snprintf(who, sizeof(who), "the leader and %d other%s", others, others == 1 ? "" : "s");
    fprintf(f,
            "         %s cut off from the rest from %.1f s to %.1f s, once per read mode;\n"
            "         ops invoked meanwhile, answered (ok or fail) before the partition healed:\n",
            who, (double)r->start_ns / 1e9, (double)r->end_ns / 1e9);
    side_table(f, c, rows, n, 0);
    side_table(f, c, rows, n, 1);
    history_table(f, rows, n);
    verdict(f, rows, n);
}

static void group_json(fl_json *j, const char *key, const fl_observe_group *g, uint32_t clients)
{
    fl_json_key(j, key);
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "clients", clients);
    fl_json_kv_uint(j, "reads", g->reads);
    fl_json_kv_uint(j, "reads_answered", g->reads_answered);
    fl_json_kv_uint(j, "writes", g->writes);
    fl_json_kv_uint(j, "writes_answered", g->writes_answered);
    fl_json_obj_end(j);
}

void cap_json(fl_json *j, const fl_run_config *c, const cap_row *rows, size_t n)
{
    fl_json_obj_begin(j);
    fl_json_kv_uint(j, "seed", c->seed);
    fl_json_kv_uint(j, "nodes", c->nodes);
    fl_json_kv_uint(j, "duration_ns", c->duration_ns);
    fl_json_key(j, "runs");
    fl_json_arr_begin(j);
    for (size_t i = 0; i < n; i++) {
        const cap_row *r = &rows[i];
        fl_json_obj_begin(j);
        fl_json_kv_str(j, "read_mode", fl_run_read_mode_name(r->mode));
        fl_json_kv_str(j, "read_at", fl_run_read_at_name(r->at));
        fl_json_kv_uint(j, "minority_mask", r->minority);
        fl_json_kv_uint(j, "partition_start_ns", r->start_ns);
        fl_json_kv_uint(j, "partition_end_ns", r->end_ns);
        group_json(j, "minority", &r->side[0], r->clients[0]);
        group_json(j, "majority", &r->side[1], r->clients[1]);
        fl_json_kv_bool(j, "invariants_held", r->safe);
        fl_json_kv_str(j, "linearizable", fl_verdict_name(r->lin));
        fl_json_kv_str(j, "sequential", fl_verdict_text(r->seq, FL_CONS_SEQUENTIAL));
        fl_json_kv_uint(j, "stale_reads", r->stale);
        fl_json_kv_uint(j, "reads_ok", r->reads_ok);
        fl_json_obj_end(j);
    }
    fl_json_arr_end(j);
    fl_json_obj_end(j);
}
