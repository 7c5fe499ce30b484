/* sim_flp.c: what a run under the FLP adversary (nemesis flp, flp.h) showed: two lines of the
 * summary and the "flp" object of results.json (docs/results.md, docs/limits.md). */
#include "sim_eval.h"

#include "faultline/json.h"

static uint64_t crashes(const fl_run_config *c, const fl_run_result *r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < c->nodes && i < FL_SIM_NODES_MAX; i++)
        n += r->sim.node[i].crashes;
    return n;
}

static double ms(fl_time_ns ns)
{
    return (double)ns / 1e6;
}

void sim_flp_print(FILE *f, const fl_run_config *c, const fl_run_result *r)
{
    const fl_flp_stats *s = &r->flp_stats;
    const fl_sim_stats *n = &r->sim;
    uint64_t lost = n->msgs_dropped_loss + n->msgs_dropped_partition + n->msgs_dropped_down +
                    n->msgs_dropped_full;
    char lost_text[48] = "no message lost";
    if (lost)
        snprintf(lost_text, sizeof(lost_text), "%llu messages lost", (unsigned long long)lost);
    fprintf(f,
            "flp      before GST at %.1f s: %llu decisions, %s, %s (%llu delivered, %llu of "
            "them held back, the longest %.1f ms)\n",
            (double)s->gst_ns / 1e9, (unsigned long long)s->decisions_before_gst,
            crashes(c, r) ? "nodes crashed" : "no node down", lost_text,
            (unsigned long long)n->msgs_delivered, (unsigned long long)n->msgs_held,
            ms(n->msg_delay_max_ns));
    if (s->first_decision_ns == FL_TIME_NEVER) {
        fprintf(f, "         after GST: no decision within the run%s\n",
                s->decisions_before_gst ? "; and the adversary did not block the ones before" : "");
        return;
    }
    double after = ms(s->first_decision_ns - s->gst_ns);
    fprintf(f,
            "         after GST: the first decision %.1f ms later (%.2f election timeouts): %s\n",
            after, after / ms(r->election_timeout_ns),
            s->decisions_before_gst ? "but the adversary did NOT block the ones before"
                                    : "delays alone blocked consensus until then");
}

void sim_flp_json(fl_json *j, const fl_run_result *r)
{
    const fl_flp_stats *s = &r->flp_stats;
    fl_json_key(j, "flp");
    fl_json_obj_begin(j);
    fl_json_kv_str(j, "oracle", r->flp_oracle);
    fl_json_kv_str(j, "held_back", r->flp_holds);
    fl_json_kv_uint(j, "gst_ns", s->gst_ns);
    fl_json_kv_uint(j, "decisions_before_gst", s->decisions_before_gst);
    fl_json_kv_uint(j, "decided_at_gst", s->decided_at_gst);
    fl_json_key(j, "first_decision_after_gst_ms");
    if (s->first_decision_ns == FL_TIME_NEVER)
        fl_json_null(j);
    else
        fl_json_double(j, ms(s->first_decision_ns - s->gst_ns));
    fl_json_kv_double(j, "max_message_delay_ms", ms(r->sim.msg_delay_max_ns));
    fl_json_kv_uint(j, "messages_delivered", r->sim.msgs_delivered);
    fl_json_kv_uint(j, "messages_held", r->sim.msgs_held);
    fl_json_kv_uint(j, "held_at_gst", s->held_at_gst);
    fl_json_kv_uint(j, "hold_answers", s->holds);
    fl_json_kv_double(j, "election_timeout_ms", ms(r->election_timeout_ns));
    fl_json_obj_end(j);
}
