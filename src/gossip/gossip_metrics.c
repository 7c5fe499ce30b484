/* gossip_metrics.c: the gossip agent's metrics (gossip.h, metrics.h) for
 * `faultline gossip --metrics`: the agent's packet counters, the core's protocol counters and
 * the member table's size, refreshed from their counters when a scrape comes. */
#include "faultline/gossip.h"

#include <stddef.h>

typedef struct gm_def {
    const char *name;
    const char *help;
    fl_metric_type type;
} gm_def;

/* In the order of the values filled in by fl_gossip_metrics. */
static const gm_def defs[] = {
    {"faultline_gossip_packets_sent_total", "UDP datagrams the agent sent.", FL_METRIC_COUNTER},
    {"faultline_gossip_packets_received_total", "UDP datagrams the agent received.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_send_errors_total", "Datagrams the socket refused to send.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_packets_no_address_total",
     "Datagrams dropped: no address known for the member.", FL_METRIC_COUNTER},
    {"faultline_gossip_packets_rejected_total",
     "Datagrams dropped: failed authentication, or unsealed while keyed.", FL_METRIC_COUNTER},
    {"faultline_gossip_packets_replayed_total",
     "Authentic datagrams dropped: outside the time window, or seen before.", FL_METRIC_COUNTER},
    {"faultline_gossip_packets_malformed_total", "Datagrams dropped: undecodable.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_queries_total", "Query packets answered (members, whois, address).",
     FL_METRIC_COUNTER},
    {"faultline_gossip_probes_total", "Direct probes this member sent as prober.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_probes_failed_total", "Probe periods that ended without an ack.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_suspicions_total", "Members this member started suspecting.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_deaths_total", "Members this member declared dead.", FL_METRIC_COUNTER},
    {"faultline_gossip_refutations_total", "Times this member refuted a suspicion of itself.",
     FL_METRIC_COUNTER},
    {"faultline_gossip_members", "Members in the table, self included.", FL_METRIC_GAUGE},
    {"faultline_gossip_live_members", "Members alive or suspect, self included.", FL_METRIC_GAUGE},
    {"faultline_gossip_health", "Lifeguard's local health multiplier minus one (0 is healthy).",
     FL_METRIC_GAUGE},
};

void fl_gossip_metrics(const fl_gossip *g, fl_metrics *reg)
{
    const fl_swim_stats *st = fl_swim_get_stats(&g->core);
    const double v[] = {
        (double)g->sent,
        (double)g->received,
        (double)g->send_errors,
        (double)g->no_address,
        (double)g->rejected,
        (double)g->replayed,
        (double)g->malformed,
        (double)g->queries,
        (double)st->probes,
        (double)st->probes_failed,
        (double)st->suspicions,
        (double)st->deaths,
        (double)st->refutations,
        fl_swim_member_count(&g->core),
        fl_swim_live_count(&g->core),
        fl_swim_health(&g->core),
    };
    _Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(defs) / sizeof(defs[0]), "one value each");
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        fl_metric_set(fl_metrics_get(reg, defs[i].name, defs[i].help, defs[i].type, NULL, NULL, 0),
                      v[i]);
}
