/* server_info.c: the commands that describe a node or a connection (server_int.h): INFO
 * (Redis's sections, one at a time or all, plus a Raft section), FL.STATUS (the Raft
 * section on one line), HELLO (protocol 2 or 3, AUTH, SETNAME), CLIENT (ID, SETNAME,
 * GETNAME, INFO, LIST, SETINFO, ...), CONFIG GET, and the replies that differ between RESP2
 * and RESP3 (null, maps, INFO-like text).
 *
 * INFO replication names the leader's client address (master_host / master_port): clients
 * told to go to the leader can. Members learn each other's client address from FRAME_ADDR
 * (server_ops.c), so it is known about a second after a node starts. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ARG(o, i)        ((const char *)(o)->argv[i].p)
#define FL_REDIS_VERSION "7.0.0"

void fl__put_null(const op *o, fl_buf *out)
{
    if (o->resp3)
        fl_resp3_put_null(out);
    else
        fl_resp_put_null(out);
}

void fl__put_null_array(const op *o, fl_buf *out)
{
    if (o->resp3)
        fl_resp3_put_null(out);
    else
        fl_resp_put_null_array(out);
}

void fl__put_set(const op *o, fl_buf *out, size_t n)
{
    if (o->resp3)
        fl_resp3_put_set(out, n);
    else
        fl_resp_put_array(out, n);
}

void fl__put_map(const op *o, fl_buf *out, size_t n)
{
    if (o->resp3)
        fl_resp3_put_map(out, n);
    else
        fl_resp_put_array(out, 2 * n);
}

void fl__put_double(const op *o, fl_buf *out, const void *p, size_t n)
{
    if (o->resp3)
        fl_resp3_put_double_text(out, p, n);
    else
        fl_resp_put_bulk(out, p, n);
}

void fl__put_text(const op *o, fl_buf *out, const void *p, size_t n)
{
    if (o->resp3)
        fl_resp3_put_verbatim(out, p, n);
    else
        fl_resp_put_bulk(out, p, n);
}

static void done_error(op *o, const char *msg)
{
    fl_resp_put_error(&o->reply, msg);
    fl__op_finish(o);
}

static void put_ids(fl_buf *b, const char *name, const fl_node_id *ids, uint32_t n, const char *sep)
{
    fl_buf_printf(b, "%s:", name);
    for (uint32_t i = 0; i < n; i++)
        fl_buf_printf(b, "%s%u", i ? "," : "", ids[i]);
    fl_buf_printf(b, "%s", sep);
}

static void conf_text(const fl_raft *r, fl_buf *b, const char *sep)
{
    const fl_raft_conf *c = fl_raft_conf_of(r);
    put_ids(b, "config_voters", c->voters, c->n_voters, sep);
    put_ids(b, "config_old_voters", c->voters_old, c->n_voters_old, sep);
    put_ids(b, "config_learners", c->learners, c->n_learners, sep);
    fl_buf_printf(b, "config_index:%llu%sconfig_committed:%d%s",
                  (unsigned long long)fl_raft_conf_index_of(r), sep,
                  fl_raft_conf_index_of(r) <= fl_raft_commit_of(r), sep);
}

/* What this node's work cost so far (bench/cost.sh turns them into per-op figures): group
 * commits (one fdatasync each), WAL records (the next seq) and their bytes, frames and bytes
 * to and from peers and the system calls that moved them. All counted on the loop thread. */
static void cost_text(const srv *s, fl_buf *b, const char *sep)
{
    const fl_peers *p = &s->peers;
    fl_buf_printf(b, "wal_syncs:%llu%swal_syncs_inline:%llu%swal_records:%llu%swal_bytes:%llu%s",
                  (unsigned long long)s->host.stats.syncs, sep,
                  (unsigned long long)s->host.stats.syncs_inline, sep,
                  (unsigned long long)s->host.store.issued_seq, sep,
                  (unsigned long long)s->host.store.bytes_appended, sep);
    fl_buf_printf(b, "peer_frames_sent:%llu%speer_bytes_sent:%llu%speer_sends:%llu%s",
                  (unsigned long long)p->frames_sent, sep, (unsigned long long)p->bytes_sent, sep,
                  (unsigned long long)p->sends, sep);
    fl_buf_printf(b, "peer_frames_received:%llu%speer_bytes_received:%llu%speer_reads:%llu%s",
                  (unsigned long long)p->frames_received, sep,
                  (unsigned long long)p->bytes_received, sep, (unsigned long long)p->reads, sep);
}

/* What decides this node's next snapshot (host_snap.c: due every snapshot_every applied
 * entries and, with a log share, once the bytes applied since the last one began weigh
 * 1/share of its size), and whether one is being taken (its index, 0: none): `faultline
 * nemesis` tells a node whose compaction stalled from one that is waiting, or busy, by these
 * (src/nemesis/compact.c). */
static void snapshot_text(const srv *s, fl_buf *b, const char *sep)
{
    const fl_host *h = &s->host;
    fl_buf_printf(b, "snapshot_every:%u%ssnapshot_log_share:%u%ssnapshot_bytes:%zu%s",
                  h->snapshot_every, sep, h->snapshot_log_share, sep, h->snap.len, sep);
    fl_buf_printf(b, "snapshot_applied_bytes:%llu%ssnapshot_running:%llu%ssnapshot_failures:%llu%s",
                  (unsigned long long)h->applied_bytes, sep,
                  (unsigned long long)h->snapshot_started, sep,
                  (unsigned long long)s->snap_failures, sep);
    /* of the failures, children the watchdog killed; and its timeout (ms, 0: off) */
    fl_buf_printf(b, "snapshot_timeouts:%llu%ssnapshot_timeout_ms:%llu%s",
                  (unsigned long long)h->stats.snapshot_timeouts, sep,
                  (unsigned long long)(h->snapshot_timeout_ns / FL_NS_PER_MS), sep);
}

/* term: Raft's term, or the Paxos node's promised ballot (round << 16 | owner). */
static void status_text(srv *s, fl_buf *b, const char *sep)
{
    char a[FL_ADDR_STR_MAX];
    const fl_raft *r = fl__srv_raft(s); /* NULL: Paxos */
    fl_cons_status st;
    fl_host_status(&s->host, &st);
    fl_buf_printf(b, "node_id:%u%sprotocol:%s%srole:%s%sterm:%llu%sleader:%u%sleader_addr:%s%s",
                  s->cfg.id, sep, fl_cons_protocol_name(s->cfg.protocol), sep,
                  fl_cons_role_name(st.role), sep, (unsigned long long)st.term, sep, st.leader, sep,
                  fl__srv_addr_of(s, st.leader, a), sep);
    const char *lc = fl__ops_client_addr(s, st.leader);
    fl_buf_printf(b, "leader_client_addr:%s%s", lc[0] ? lc : "-", sep);
    fl_buf_printf(b, "commit_index:%llu%sapplied_index:%llu%slast_index:%llu%s",
                  (unsigned long long)st.commit, sep, (unsigned long long)st.applied, sep,
                  (unsigned long long)st.last_index, sep);
    fl_buf_printf(b, "members:");
    for (uint32_t i = 0; i < s->cfg.n; i++)
        fl_buf_printf(b, "%s%u=%s", i ? "," : "", s->cfg.ids[i],
                      fl_addr_format(&s->cfg.addrs[i], a));
    fl_buf_printf(b, "%skeys:%zu%sclients:%zu%sops_inflight:%zu%s", sep, fl_kv_key_count(&s->kv),
                  sep, s->n_conns, sep, s->n_ops, sep);
    fl_buf_printf(b, "ops_done:%llu%sops_retried:%llu%sops_timed_out:%llu%sforwarded_in:%llu%s",
                  (unsigned long long)s->ops_done, sep, (unsigned long long)s->ops_retried, sep,
                  (unsigned long long)s->ops_timeout, sep, (unsigned long long)s->forwarded_in,
                  sep);
    fl_buf_printf(b, "reads_by_index:%llu%s", (unsigned long long)s->reads_by_index, sep);
    fl_cons_counters k;
    fl_host_core(&s->host)->ops->counters(fl_host_core(&s->host), &k);
    fl_raft_counters rk = {0};
    if (r)
        fl_raft_counters_of(r, &rk);
    fl_buf_printf(b, "reads_at_follower:%llu%sreads_by_lease:%llu%sread_rounds_sent:%llu%s",
                  (unsigned long long)rk.follower_reads_served, sep,
                  (unsigned long long)k.lease_reads_served, sep,
                  (unsigned long long)rk.read_rounds_sent, sep);
    fl_buf_printf(b, "snapshot_index:%llu%sfirst_index:%llu%ssnapshots_taken:%llu%s",
                  (unsigned long long)st.snapshot_index, sep, (unsigned long long)st.first_index,
                  sep, (unsigned long long)s->host.stats.snapshots_taken, sep);
    fl_buf_printf(b, "snapshots_installed:%llu%swal_segments_deleted:%llu%s",
                  (unsigned long long)s->host.stats.snapshots_installed, sep,
                  (unsigned long long)s->host.store.segments_deleted, sep);
    snapshot_text(s, b, sep);
    uint64_t dropped = 0;
    for (uint32_t i = 0; i < s->peers.n_out; i++)
        dropped += s->peers.out[i].dropped;
    fl_buf_printf(b, "peer_frames_dropped:%llu%speer_connections_refused:%llu%s",
                  (unsigned long long)dropped, sep, (unsigned long long)s->peers.refused, sep);
    cost_text(s, b, sep);
    if (r)
        conf_text(r, b, sep);
    else /* Paxos: the fixed member set */
        put_ids(b, "config_voters", s->cfg.ids, s->cfg.n, sep);
}

/* ---- INFO -------------------------------------------------------------------------------- */

/* The resident set of this process in bytes, 0 if unknown (/proc/self/statm, in pages). */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    int n = f ? fscanf(f, "%llu %llu", &size, &resident) : 0;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (size_t)(resident * (unsigned long long)page) : 0;
}

/* Where the node's memory goes (docs/server.md, "Issue 16: memory"): the kv's structures by
 * component (malloc's headers not counted), the log entries held in memory, the snapshot
 * bytes held for followers, and the resident set. O(keys + log entries). */
static void memory_text(srv *s, fl_buf *b)
{
    fl_kv_memory_use m;
    fl_kv_memory(&s->kv, &m);
    fl_buf_printf(b,
                  "# Memory\r\nused_memory:%zu\r\nused_memory_rss:%zu\r\n"
                  "kv_structures:%zu\r\nkv_entries:%zu\r\nkv_values:%zu\r\nkv_collections:%zu\r\n"
                  "kv_buckets:%zu\r\nkv_sessions:%zu\r\nkv_allocations:%zu\r\n",
                  fl_kv_data_bytes(&s->kv), rss_bytes(), m.total, m.entries, m.values,
                  m.collections, m.buckets, m.sessions + m.expiry, m.allocations);
    if (!s->host_up)
        return;
    fl_cons_status st;
    fl_cons_status_of(&s->host.core, &st);
    size_t bytes = 0, entries = 0;
    for (fl_index i = st.first_index; i && i <= st.last_index; i++) {
        const fl_cons_entry *e = fl_cons_entry_at(&s->host.core, i);
        bytes += e ? e->len : 0;
        entries += e != NULL;
    }
    size_t mapped = s->host.snap_view.data ? s->host.snap.len : 0; /* the file's page cache */
    fl_buf_printf(b,
                  "log_entries_held:%zu\r\nlog_bytes_held:%zu\r\nsnapshot_bytes_held:%zu\r\n"
                  "snapshot_bytes_mapped:%zu\r\n",
                  entries, bytes,
                  s->host.snap.len - mapped + s->host.stage.len + s->host.stage_local.len +
                      s->host.snap_retired.len + s->snap_bytes.len,
                  mapped);
}

static const char *const sections[] = {"server",      "clients", "memory",   "persistence", "stats",
                                       "replication", "cpu",     "keyspace", "raft"};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static void section(srv *s, const char *name, fl_buf *b)
{
    fl_time_ns up = fl_loop_now(&s->loop) - s->started_ns;
    char a[FL_ADDR_STR_MAX];
    if (!strcmp(name, "server")) {
        fl_buf_printf(b,
                      "# Server\r\nredis_version:" FL_REDIS_VERSION "\r\nredis_mode:standalone\r\n"
                      "faultline_version:0.1.0\r\narch_bits:64\r\nprocess_id:%ld\r\n"
                      "tcp_port:%s\r\nuptime_in_seconds:%llu\r\n",
                      (long)getpid(), strrchr(fl_addr_format(&s->cfg.listen, a), ':') + 1,
                      (unsigned long long)(up / FL_NS_PER_S));
    } else if (!strcmp(name, "clients")) {
        fl_buf_printf(b, "# Clients\r\nconnected_clients:%zu\r\nmaxclients:%u\r\n", s->n_conns,
                      s->clients_max);
    } else if (!strcmp(name, "memory")) {
        memory_text(s, b);
    } else if (!strcmp(name, "persistence")) {
        fl_buf_printf(b, "# Persistence\r\nloading:0\r\naof_enabled:1\r\n");
    } else if (!strcmp(name, "stats")) {
        fl_buf_printf(b,
                      "# Stats\r\ntotal_connections_received:%llu\r\n"
                      "total_commands_processed:%llu\r\nrejected_connections:%llu\r\n",
                      (unsigned long long)s->connections_total, (unsigned long long)s->commands,
                      (unsigned long long)s->rejected_conns);
    } else if (!strcmp(name, "replication")) {
        bool leads = fl__srv_leads(s);
        const char *lc = fl__ops_client_addr(s, fl__srv_leader(s));
        const char *colon = strrchr(lc, ':');
        fl_buf_printf(b, "# Replication\r\nrole:%s\r\n", leads ? "master" : "slave");
        if (!leads && colon)
            fl_buf_printf(b, "master_host:%.*s\r\nmaster_port:%s\r\nmaster_link_status:up\r\n",
                          (int)(colon - lc), lc, colon + 1);
        else if (!leads)
            fl_buf_printf(b, "master_link_status:down\r\n");
    } else if (!strcmp(name, "cpu")) {
        fl_buf_printf(b, "# CPU\r\n");
    } else if (!strcmp(name, "keyspace")) {
        fl_buf_printf(b, "# Keyspace\r\n");
        if (fl_kv_key_count(&s->kv))
            fl_buf_printf(b, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", fl_kv_key_count(&s->kv),
                          s->kv.n_expiring);
    } else {
        fl_buf_printf(b, "# %s\r\n", s->cfg.protocol == FL_CONS_PAXOS ? "Paxos" : "Raft");
        status_text(s, b, "\r\n");
    }
}

/* INFO [section ...]: default / all / everything = every section; an unknown one is empty. */
void fl__info_now(op *o)
{
    fl_buf b;
    fl_buf_init(&b);
    bool all = o->argc == 1;
    for (size_t i = 1; i < o->argc; i++)
        all |= !strcasecmp(ARG(o, i), "all") || !strcasecmp(ARG(o, i), "default") ||
               !strcasecmp(ARG(o, i), "everything");
    for (size_t k = 0; k < N_SECTIONS; k++) {
        bool want = all;
        for (size_t i = 1; i < o->argc && !want; i++)
            want = !strcasecmp(ARG(o, i), sections[k]);
        if (!want)
            continue;
        if (b.len)
            fl_buf_put_bytes(&b, "\r\n", 2);
        section(o->s, sections[k], &b);
    }
    fl__put_text(o, &o->reply, b.data, b.len);
    fl_buf_free(&b);
    fl__op_finish(o);
}

void fl__status_now(op *o)
{
    fl_buf b;
    fl_buf_init(&b);
    status_text(o->s, &b, " ");
    fl_resp_put_bulk(&o->reply, b.data, b.len);
    fl_buf_free(&b);
    fl__op_finish(o);
}

/* ---- HELLO and CLIENT ----------------------------------------------------------------------- */

static bool set_name(conn *c, const fl_resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->p[i] <= ' ' || a->p[i] > '~')
            return false;
    if (c && a->len <= SRV_NAME_MAX) {
        memcpy(c->name, a->p, a->len);
        c->name[a->len] = 0;
    }
    return true;
}

static const char *const E_NAME =
    "ERR Client names cannot contain spaces, newlines or special characters.";

static void hello_reply(op *o, bool resp3)
{
    srv *s = o->s;
    bool leads = fl__srv_leads(s);
    fl_buf *b = &o->reply;
    if (resp3)
        fl_resp3_put_map(b, 7);
    else
        fl_resp_put_array(b, 14);
    fl_resp_put_bulk_str(b, "server");
    fl_resp_put_bulk_str(b, "redis");
    fl_resp_put_bulk_str(b, "version");
    fl_resp_put_bulk_str(b, FL_REDIS_VERSION);
    fl_resp_put_bulk_str(b, "proto");
    fl_resp_put_int(b, resp3 ? 3 : 2);
    fl_resp_put_bulk_str(b, "id");
    fl_resp_put_int(b, o->c ? (int64_t)o->c->id : 0);
    fl_resp_put_bulk_str(b, "mode");
    fl_resp_put_bulk_str(b, "standalone");
    fl_resp_put_bulk_str(b, "role");
    fl_resp_put_bulk_str(b, leads ? "master" : "replica");
    fl_resp_put_bulk_str(b, "modules");
    fl_resp_put_array(b, 0);
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
void fl__hello_now(op *o)
{
    conn *c = o->c;
    bool resp3 = c && c->resp3;
    size_t i = 1;
    if (o->argc > 1) {
        if (!strcmp(ARG(o, 1), "2") || !strcmp(ARG(o, 1), "3")) {
            resp3 = ARG(o, 1)[0] == '3';
        } else {
            done_error(o, strspn(ARG(o, 1), "0123456789") == o->argv[1].len
                              ? "NOPROTO unsupported protocol version"
                              : "ERR Protocol version is not an integer or out of range");
            return;
        }
        i = 2;
    }
    const fl_resp_arg *user = NULL, *pass = NULL, *name = NULL;
    for (; i < o->argc; i++) {
        if (!strcasecmp(ARG(o, i), "AUTH") && i + 2 < o->argc) {
            user = &o->argv[i + 1];
            pass = &o->argv[i + 2];
            i += 2;
        } else if (!strcasecmp(ARG(o, i), "SETNAME") && i + 1 < o->argc) {
            name = &o->argv[++i];
        } else {
            char msg[96];
            snprintf(msg, sizeof(msg), "ERR Syntax error in HELLO option '%.40s'", ARG(o, i));
            done_error(o, msg);
            return;
        }
    }
    const char *want = o->s->cfg.requirepass;
    if (pass) {
        bool ok = want[0] && (user->len == 7 && !memcmp(user->p, "default", 7)) &&
                  pass->len == strlen(want) && !memcmp(pass->p, want, pass->len);
        if (!ok && !(want[0] == 0 && user->len == 7 && !memcmp(user->p, "default", 7))) {
            done_error(o, "WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        if (c)
            c->authed = true;
    }
    if (c && !c->authed) {
        done_error(o, "NOAUTH HELLO must be called with the client already authenticated, "
                      "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                      "authenticate the client and select the RESP protocol version at the "
                      "same time");
        return;
    }
    if (name && !set_name(c, name)) {
        done_error(o, E_NAME);
        return;
    }
    if (c)
        c->resp3 = resp3;
    o->resp3 = resp3;
    hello_reply(o, resp3);
    fl__op_finish(o);
}

static void client_line(const conn *c, fl_buf *b)
{
    fl_buf_printf(b,
                  "id=%llu addr=%s laddr=- fd=%d name=%s age=%llu idle=%llu flags=%s db=0 "
                  "multi=%d watch=%u resp=%d\n",
                  (unsigned long long)c->id, c->addr, c->fd, c->name,
                  (unsigned long long)((fl_loop_now(&c->s->loop) - c->s->started_ns) / FL_NS_PER_S),
                  (unsigned long long)((fl_loop_now(&c->s->loop) - c->last_io) / FL_NS_PER_S),
                  c->in_multi ? "x" : "N", c->in_multi ? (int)c->q_count : -1, c->n_watched,
                  c->resp3 ? 3 : 2);
}

/* CLIENT ID | SETNAME name | GETNAME | INFO | LIST | SETINFO ... | NO-EVICT ... */
void fl__client_now(op *o)
{
    conn *c = o->c;
    const char *sub = ARG(o, 1);
    fl_buf *b = &o->reply;
    if (!strcasecmp(sub, "ID") && o->argc == 2) {
        fl_resp_put_int(b, c ? (int64_t)c->id : 0);
    } else if (!strcasecmp(sub, "SETNAME") && o->argc == 3) {
        if (!set_name(c, &o->argv[2])) {
            done_error(o, E_NAME);
            return;
        }
        fl_resp_put_simple(b, "OK");
    } else if (!strcasecmp(sub, "GETNAME") && o->argc == 2) {
        if (c && c->name[0])
            fl_resp_put_bulk_str(b, c->name);
        else
            fl__put_null(o, b);
    } else if ((!strcasecmp(sub, "INFO") && o->argc == 2) || (!strcasecmp(sub, "LIST"))) {
        fl_buf t;
        fl_buf_init(&t);
        if (!strcasecmp(sub, "INFO") && c)
            client_line(c, &t);
        else
            for (const conn *x = o->s->conns; x; x = x->next)
                client_line(x, &t);
        fl__put_text(o, b, t.data, t.len);
        fl_buf_free(&t);
    } else if (!strcasecmp(sub, "SETINFO") || !strcasecmp(sub, "NO-EVICT") ||
               !strcasecmp(sub, "NO-TOUCH")) {
        fl_resp_put_simple(b, "OK");
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "ERR unknown subcommand or wrong number of arguments for "
                 "'%.40s'. Try CLIENT HELP.",
                 sub);
        done_error(o, msg);
        return;
    }
    fl__op_finish(o);
}

/* CONFIG GET parameter: the few that tools ask for; SET and the rest are accepted. */
void fl__config_now(op *o)
{
    srv *s = o->s;
    if (o->argc == 3 && !strcasecmp(ARG(o, 1), "GET")) {
        char maxc[16], tmo[16];
        snprintf(maxc, sizeof(maxc), "%u", s->clients_max);
        snprintf(tmo, sizeof(tmo), "%u", s->cfg.timeout_s);
        const char *known[][2] = {
            {"save", ""},       {"appendonly", "yes"}, {"appendfsync", "always"},
            {"databases", "1"}, {"maxclients", maxc},  {"timeout", tmo}};
        size_t n = 0, k = sizeof(known) / sizeof(known[0]);
        for (size_t i = 0; i < k; i++)
            n += !strcasecmp(ARG(o, 2), known[i][0]);
        if (o->resp3)
            fl_resp3_put_map(&o->reply, n);
        else
            fl_resp_put_array(&o->reply, 2 * n);
        for (size_t i = 0; i < k; i++)
            if (!strcasecmp(ARG(o, 2), known[i][0])) {
                fl_resp_put_bulk_str(&o->reply, known[i][0]);
                fl_resp_put_bulk_str(&o->reply, known[i][1]);
            }
    } else {
        fl_resp_put_simple(&o->reply, "OK");
    }
    fl__op_finish(o);
}
