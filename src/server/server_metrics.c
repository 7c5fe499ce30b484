/* server_metrics.c: a node's metrics (--metrics HOST:PORT): the registry of metrics.h, served
 * at /metrics by the loop's tiny HTTP responder (httpd.h).
 *
 * Counters move where things happen, through the fl__metrics_* hooks of server_int.h (each a
 * branch when metrics are off); gauges and mirrored counters (Raft state, the WAL's bytes and
 * segments, peer links, connection counts) are read through accessors when a scrape comes, so
 * the hot path pays nothing for them. Every name is listed in docs/server.md (Metrics).
 *
 * The fsync histogram times the group commit as the loop sees it: from handing a batch to the
 * sync worker to its completion (the fdatasync plus a thread hand-off of microseconds). */
#include "server_int.h"

#include "faultline/error.h"
#include "faultline/httpd.h"
#include "faultline/log.h"
#include "faultline/metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD_CACHE 256 /* commands by name: a direct-mapped cache in front of the registry */

enum { PROP_OK, PROP_NOT_LEADER, PROP_BUSY, PROP_TOO_BIG, PROP_ERROR, PROP_N };

typedef struct peer_series {
    fl_node_id id;
    fl_metric *up, *queue, *dropped, *sent, *received;
} peer_series;

struct srv_metrics {
    fl_metrics reg;
    fl_httpd httpd;
    bool httpd_up;
    struct {
        const void *key; /* the command's cmd_def, or &unknown_cmd; NULL: a free slot */
        fl_metric *ok, *err;
    } cmds[CMD_CACHE];
    fl_metric *role[4], *term, *commit, *applied, *last_index, *leader, *snapshot_index;
    fl_metric *leader_changes, *proposals[PROP_N];
    fl_metric *reads_asked, *reads_refused, *reads_ok, *reads_failed;
    fl_metric *pass_seconds, *fsync_seconds, *fsync_records, *wal_bytes, *wal_fsyncs, *wal_segments,
        *wal_deleted;
    fl_metric *snap_taken, *snap_installed;
    fl_metric *clients, *clients_total, *clients_rejected, *clients_tls_refused, *ops_inflight;
    fl_metric *ops_timed_out, *peers_refused;
    peer_series peers[FL_RAFT_NODES_MAX];
    uint32_t n_peers;
    fl_node_id leader_seen;
    struct timespec sync_t0; /* the sync running: when it started and the records it covers */
    uint64_t sync_records;
};

static const double fsync_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

#define COUNTER(name, help, labels)                                                                \
    fl_metrics_get(&sm->reg, name, help, FL_METRIC_COUNTER, labels, NULL, 0)
#define GAUGE(name, help, labels)                                                                  \
    fl_metrics_get(&sm->reg, name, help, FL_METRIC_GAUGE, labels, NULL, 0)

static void register_raft(struct srv_metrics *sm)
{
    char l[FL_METRICS_LABELS_MAX];
    for (int r = 0; r < 4; r++)
        sm->role[r] =
            GAUGE("faultline_raft_role", "1 for the role this node is in, 0 for the others.",
                  fl_metrics_labels(l, "role", fl_raft_role_name((fl_raft_role)r), NULL, NULL));
    sm->term = GAUGE("faultline_raft_term", "The node's current Raft term.", NULL);
    sm->commit =
        GAUGE("faultline_raft_commit_index", "The highest log index known committed.", NULL);
    sm->applied =
        GAUGE("faultline_raft_applied_index", "The highest log index applied to the kv.", NULL);
    sm->last_index =
        GAUGE("faultline_raft_last_index", "The index of the last entry in the log.", NULL);
    sm->snapshot_index =
        GAUGE("faultline_raft_snapshot_index", "The index the latest snapshot covers.", NULL);
    sm->leader = GAUGE("faultline_raft_leader_id",
                       "The node id this node takes for leader; 0 for none.", NULL);
    sm->leader_changes =
        COUNTER("faultline_raft_leader_changes_total",
                "Times this node learned of a leader other than the last it knew.", NULL);
    static const char *const prop[PROP_N] = {"ok", "not_leader", "busy", "too_big", "error"};
    for (int i = 0; i < PROP_N; i++)
        sm->proposals[i] = COUNTER("faultline_raft_proposals_total",
                                   "Commands proposed to the Raft core at this node, by result.",
                                   fl_metrics_labels(l, "result", prop[i], NULL, NULL));
    const char *rh = "ReadIndex reads asked of the Raft core at this node, by result.";
    sm->reads_asked = COUNTER("faultline_raft_read_index_total", rh, "result=\"accepted\"");
    sm->reads_refused = COUNTER("faultline_raft_read_index_total", rh, "result=\"refused\"");
    sm->reads_ok = COUNTER("faultline_raft_read_index_total", rh, "result=\"confirmed\"");
    sm->reads_failed = COUNTER("faultline_raft_read_index_total", rh, "result=\"failed\"");
}

static void register_storage(struct srv_metrics *sm)
{
    sm->fsync_seconds = fl_metrics_get(&sm->reg, "faultline_wal_fsync_duration_seconds",
                                       "Group commits of the WAL: handing the batch to the sync "
                                       "thread until its fdatasync completed.",
                                       FL_METRIC_HISTOGRAM, NULL, fsync_bounds,
                                       sizeof(fsync_bounds) / sizeof(fsync_bounds[0]));
    sm->pass_seconds = fl_metrics_get(&sm->reg, "faultline_loop_pass_duration_seconds",
                                      "Passes of the event loop: the work of one pass (its "
                                      "callbacks and timers), the wait for events left out.",
                                      FL_METRIC_HISTOGRAM, NULL, fsync_bounds,
                                      sizeof(fsync_bounds) / sizeof(fsync_bounds[0]));
    sm->fsync_records =
        fl_metrics_get(&sm->reg, "faultline_wal_fsync_batch_records",
                       "WAL records made durable by one group commit.", FL_METRIC_HISTOGRAM, NULL,
                       batch_bounds, sizeof(batch_bounds) / sizeof(batch_bounds[0]));
    sm->wal_bytes =
        COUNTER("faultline_wal_written_bytes_total", "Bytes written to WAL segments.", NULL);
    sm->wal_fsyncs =
        COUNTER("faultline_wal_fsyncs_total", "fdatasync calls on WAL segments.", NULL);
    sm->wal_segments = GAUGE("faultline_wal_segments", "WAL segment files.", NULL);
    sm->wal_deleted = COUNTER("faultline_wal_segments_deleted_total",
                              "WAL segment files removed behind snapshots.", NULL);
    sm->snap_taken =
        COUNTER("faultline_snapshots_taken_total", "Snapshots this node took of its kv.", NULL);
    sm->snap_installed =
        COUNTER("faultline_snapshots_installed_total",
                "Snapshots this node installed from its leader (InstallSnapshot).", NULL);
}

static void register_links(srv *s, struct srv_metrics *sm)
{
    sm->clients = GAUGE("faultline_client_connections", "Open client (RESP) connections.", NULL);
    sm->clients_total = COUNTER("faultline_client_connections_accepted_total",
                                "Client connections accepted.", NULL);
    sm->clients_rejected =
        COUNTER("faultline_client_connections_rejected_total",
                "Client connections closed at once: --maxclients reached.", NULL);
    sm->clients_tls_refused = COUNTER("faultline_client_tls_handshake_failures_total",
                                      "Client connections whose TLS handshake failed.", NULL);
    sm->ops_inflight =
        GAUGE("faultline_client_operations_in_flight", "Client commands not answered yet.", NULL);
    sm->ops_timed_out = COUNTER("faultline_client_operations_timed_out_total",
                                "Client commands answered with a timeout.", NULL);
    sm->peers_refused = COUNTER("faultline_peer_connections_refused_total",
                                "Peer connections refused (bad hello, TLS or name check).", NULL);
    char l[FL_METRICS_LABELS_MAX], id[16];
    for (uint32_t i = 0; i < s->cfg.n; i++) {
        if (s->cfg.ids[i] == s->cfg.id)
            continue;
        peer_series *p = &sm->peers[sm->n_peers++];
        p->id = s->cfg.ids[i];
        snprintf(id, sizeof(id), "%u", p->id);
        fl_metrics_labels(l, "peer", id, NULL, NULL);
        p->up = GAUGE("faultline_peer_up", "1 while the outgoing connection to the peer is up.", l);
        p->queue = GAUGE("faultline_peer_send_queue_bytes",
                         "Bytes queued for the peer, not yet written.", l);
        p->dropped = COUNTER("faultline_peer_dropped_frames_total",
                             "Frames for the peer dropped: not connected, or its queue full.", l);
        p->sent = COUNTER("faultline_peer_sent_bytes_total", "Bytes written to the peer.", l);
        p->received =
            COUNTER("faultline_peer_received_bytes_total", "Bytes received from the peer.", l);
    }
}

/* The WAL's counters; while a sync runs the worker owns the WAL: the last values stay (they
 * are refreshed again when the sync is done, fl__metrics_wal). */
static void storage_values(srv *s, struct srv_metrics *sm)
{
    fl_raft_store_stats st;
    if (s->host_up && fl_raft_store_stats_get(&s->host.store, &st)) {
        fl_metric_set(sm->wal_bytes, (double)st.wal_bytes);
        fl_metric_set(sm->wal_fsyncs, (double)st.wal_fsyncs);
        fl_metric_set(sm->wal_segments, (double)st.wal_segments);
        fl_metric_set(sm->wal_deleted, (double)st.segments_deleted);
    }
}

/* Gauges and mirrored counters, read when a scrape comes. */
static void collect(srv *s, struct srv_metrics *sm)
{
    const fl_raft *r = s->host_up ? fl__srv_raft(s) : NULL;
    for (int i = 0; i < 4; i++)
        fl_metric_set(sm->role[i], r && fl_raft_role_of(r) == (fl_raft_role)i);
    if (r) {
        fl_metric_set(sm->term, (double)fl_raft_term_of(r));
        fl_metric_set(sm->commit, (double)fl_raft_commit_of(r));
        fl_metric_set(sm->applied, (double)fl_raft_applied_of(r));
        fl_metric_set(sm->last_index, (double)fl_raft_last_index(r));
        fl_metric_set(sm->snapshot_index, (double)fl_raft_snapshot_of(r)->index);
        fl_metric_set(sm->leader, fl_raft_leader_of(r));
    }
    storage_values(s, sm);
    fl_metric_set(sm->snap_taken, (double)s->host.stats.snapshots_taken);
    fl_metric_set(sm->snap_installed, (double)s->host.stats.snapshots_installed);
    fl_metric_set(sm->clients, (double)s->n_conns);
    fl_metric_set(sm->clients_total, (double)s->connections_total);
    fl_metric_set(sm->clients_rejected, (double)s->rejected_conns);
    fl_metric_set(sm->clients_tls_refused, (double)s->tls_refused);
    fl_metric_set(sm->ops_inflight, (double)s->n_ops);
    fl_metric_set(sm->ops_timed_out, (double)s->ops_timeout);
    fl_metric_set(sm->peers_refused, s->peers_up ? (double)s->peers.refused : 0);
    for (uint32_t i = 0; i < sm->n_peers && s->peers_up; i++) {
        peer_series *p = &sm->peers[i];
        fl_peer_stats ps;
        fl_peers_stats(&s->peers, p->id, &ps);
        fl_metric_set(p->up, ps.connected);
        fl_metric_set(p->queue, (double)ps.queue_bytes);
        fl_metric_set(p->dropped, (double)ps.dropped);
        fl_metric_set(p->sent, (double)ps.bytes_sent);
        fl_metric_set(p->received, (double)ps.bytes_received);
    }
}

static int serve(void *arg, const char *path, fl_buf *body, const char **type)
{
    srv *s = arg;
    if (strcmp(path, "/metrics") != 0)
        return 404;
    collect(s, s->metrics);
    *type = "text/plain; version=0.0.4; charset=utf-8";
    return fl_metrics_render(&s->metrics->reg, body) ? 500 : 200;
}

int fl__metrics_open(srv *s, fl_errmsg *m)
{
    if (!s->cfg.metrics_on)
        return 0;
    struct srv_metrics *sm = calloc(1, sizeof(*sm));
    if (!sm)
        return fl_errmsg_set(m, FL_ENOMEM, "metrics: out of memory");
    s->metrics = sm;
    fl_metrics_init(&sm->reg);
    register_raft(sm);
    register_storage(sm);
    register_links(s, sm);
    int rc = fl_httpd_start(&sm->httpd, &s->loop, &s->cfg.metrics, serve, s, m);
    sm->httpd_up = rc == 0;
    if (rc == 0) {
        char a[FL_ADDR_STR_MAX];
        FL_INFO("metrics on http://%s/metrics", fl_addr_format(&s->cfg.metrics, a));
    }
    return rc;
}

void fl__metrics_close(srv *s)
{
    struct srv_metrics *sm = s->metrics;
    if (!sm)
        return;
    if (sm->httpd_up)
        fl_httpd_stop(&sm->httpd);
    fl_metrics_free(&sm->reg);
    free(sm);
    s->metrics = NULL;
}

void fl__metrics_update(srv *s, const fl_raft_update *up)
{
    struct srv_metrics *sm = s->metrics;
    if (!sm)
        return;
    if (up->leader && up->leader != sm->leader_seen) {
        sm->leader_seen = up->leader;
        fl_metric_add(sm->leader_changes, 1);
    }
    for (size_t i = 0; i < up->n_reads; i++)
        fl_metric_add(up->reads[i].ok ? sm->reads_ok : sm->reads_failed, 1);
}

void fl__metrics_proposal(srv *s, int rc)
{
    if (!s->metrics)
        return;
    int k = rc == 0                            ? PROP_OK
            : rc == FL_ENOTLEADER              ? PROP_NOT_LEADER
            : rc == FL_EBUSY || rc == FL_EFULL ? PROP_BUSY
            : rc == FL_ETOOBIG                 ? PROP_TOO_BIG
                                               : PROP_ERROR;
    fl_metric_add(s->metrics->proposals[k], 1);
}

void fl__metrics_read(srv *s, int rc)
{
    if (s->metrics)
        fl_metric_add(rc ? s->metrics->reads_refused : s->metrics->reads_asked, 1);
}

void fl__metrics_sync(srv *s, bool started, uint64_t records)
{
    struct srv_metrics *sm = s->metrics;
    if (!sm)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (started) {
        sm->sync_t0 = now;
        sm->sync_records = records;
        return;
    }
    double secs = (double)(now.tv_sec - sm->sync_t0.tv_sec) +
                  (double)(now.tv_nsec - sm->sync_t0.tv_nsec) / 1e9;
    /* both when the sync is done: a scrape while one runs sees the two counts equal */
    fl_metric_observe(sm->fsync_records, (double)sm->sync_records);
    fl_metric_observe(sm->fsync_seconds, secs);
}

void fl__metrics_pass(srv *s, fl_time_ns busy)
{
    if (s->metrics)
        fl_metric_observe(s->metrics->pass_seconds, (double)busy / 1e9);
}

void fl__metrics_wal(srv *s)
{
    if (s->metrics)
        storage_values(s, s->metrics);
}

static const char unknown_cmd[] = "unknown"; /* a protocol error: no command */

/* The series of def's commands with result ok or error (the reply an error reply). */
void fl__metrics_command(srv *s, const cmd_def *def, const fl_buf *reply)
{
    struct srv_metrics *sm = s->metrics;
    if (!sm)
        return;
    bool err = reply->len > 0 && reply->data[0] == '-';
    const void *key = def ? (const void *)def : (const void *)unknown_cmd;
    size_t h = ((uintptr_t)key >> 4) % CMD_CACHE;
    for (size_t probe = 0; probe < CMD_CACHE; probe++, h = (h + 1) % CMD_CACHE) {
        if (sm->cmds[h].key == key) {
            fl_metric_add(err ? sm->cmds[h].err : sm->cmds[h].ok, 1);
            return;
        }
        if (sm->cmds[h].key)
            continue;
        char name[64], l[FL_METRICS_LABELS_MAX];
        size_t n = 0;
        for (const char *p = def ? def->name : unknown_cmd; *p && n + 1 < sizeof(name); p++)
            name[n++] = (char)tolower((unsigned char)*p);
        name[n] = 0;
        const char *help =
            "Client commands answered, by command and result (error: an error reply).";
        sm->cmds[h].key = key;
        sm->cmds[h].ok = COUNTER("faultline_commands_total", help,
                                 fl_metrics_labels(l, "command", name, "result", "ok"));
        sm->cmds[h].err = COUNTER("faultline_commands_total", help,
                                  fl_metrics_labels(l, "command", name, "result", "error"));
        fl_metric_add(err ? sm->cmds[h].err : sm->cmds[h].ok, 1);
        return;
    }
}
