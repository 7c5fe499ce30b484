/* server_cmd.c: the RESP commands of a node and how each maps onto kv commands (kv.h)
 * that go through the Raft log (server_int.h).
 *
 *     GET k            kv get                      MGET k..., EXISTS k...: a noop through
 *     SET k v          kv put                      the log, then local reads when this
 *     SET k v NX       kv cas (expect absent)      node applies it (linearizable)
 *     SET k v XX|GET   get, then cas(old -> v), repeated on a cas mismatch (bounded)
 *     GETSET k v       as SET k v GET              DEL k...: one kv delete per key
 *     APPEND k v       kv append                   INCR/DECR/INCRBY/DECRBY: kv incr
 *     CAS k old new    kv cas: :1 swapped, :0 not
 *
 * FL.ADD id, FL.PROMOTE id, FL.REMOVE id ask this node (the leader) for a membership change:
 * +OK once its config entry is in the leader's log; FL.STATUS shows the configuration.
 *
 * Writes carry the connection's session (client id, next seq); reads carry none (seq 0),
 * since re-running a read is harmless. PING, ECHO, INFO, AUTH, etc. are answered at once.
 * FL.STATUS reports the node's Raft state; FL.TRANSFER <id> hands leadership to node id. */
#include "server_int.h"

#include "faultline/error.h"
#include "faultline/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARG(o, i) ((const char *)(o)->argv[i].p)

/* ---- helpers ------------------------------------------------------------------------------ */

static void done_error(op *o, const char *msg)
{
    fl_resp_put_error(&o->reply, msg);
    fl__op_finish(o);
}

static void done_simple(op *o, const char *msg)
{
    fl_resp_put_simple(&o->reply, msg);
    fl__op_finish(o);
}

static void done_int(op *o, int64_t v)
{
    fl_resp_put_int(&o->reply, v);
    fl__op_finish(o);
}

/* Encodes cmd as o's next kv command and routes it. write: give it the session's next seq. */
static void submit(op *o, fl_kv_cmd *cmd, bool write)
{
    if (write) {
        if (!o->c) { /* the client is gone: do not start new writes for it */
            fl__op_finish(o);
            return;
        }
        cmd->client_id = o->c->client_id;
        cmd->seq = ++o->c->seq;
    }
    fl_buf_reset(&o->cmd);
    if (fl_kv_cmd_encode(cmd, &o->cmd) || o->cmd.err) {
        done_error(o, "ERR cannot encode the command");
        return;
    }
    fl__op_submit(o);
}

static void key_cmd(fl_kv_cmd *cmd, fl_kv_op kind, const op *o, size_t key_arg)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->op = kind;
    cmd->key = o->argv[key_arg].p;
    cmd->key_len = o->argv[key_arg].len;
}

/* Replies with the error for a kv status that is not the command's normal outcome. */
static void status_error(op *o, fl_kv_status st)
{
    switch (st) {
    case FL_KV_TYPE_ERROR:
        done_error(o, "ERR value is not an integer or out of range");
        return;
    case FL_KV_OVERFLOW:
        done_error(o, "ERR increment or decrement would overflow");
        return;
    case FL_KV_TOO_BIG:
        done_error(o, "ERR key or value too large");
        return;
    case FL_KV_STALE:
        done_error(o, "ERR outcome unknown: retried after a newer request of this connection");
        return;
    case FL_KV_SESSION_EXPIRED:
        done_error(o, "ERR session expired: reconnect");
        return;
    default:
        done_error(o, "ERR unexpected result");
    }
}

static bool parse_i64(const fl_resp_arg *a, int64_t *out)
{
    if (a->len == 0 || a->len > 20)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll((const char *)a->p, &end, 10);
    if (errno || end != (const char *)a->p + a->len || isspace(a->p[0]) || a->p[0] == '+')
        return false;
    if (a->len > 1 && a->p[0] == '0')
        return false;
    *out = v;
    return true;
}

/* ---- GET, MGET, EXISTS ----------------------------------------------------------------------- */

static void get_begin(op *o)
{
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_GET, o, 1);
    submit(o, &cmd, false);
}

static void get_result(op *o, const fl_kv_result *res)
{
    if (res->status == FL_KV_OK && res->has_value)
        fl_resp_put_bulk(&o->reply, res->value, res->value_len);
    else if (res->status == FL_KV_NOT_FOUND || res->status == FL_KV_OK)
        fl_resp_put_null(&o->reply);
    else {
        status_error(o, res->status);
        return;
    }
    fl__op_finish(o);
}

static void barrier_begin(op *o)
{
    fl_kv_cmd cmd = {.op = FL_KV_NOOP};
    submit(o, &cmd, false);
}

static void mget_result(op *o, const fl_kv_result *res)
{
    (void)res;
    fl_resp_put_array(&o->reply, o->argc - 1);
    for (size_t i = 1; i < o->argc; i++) {
        const uint8_t *v;
        size_t n;
        if (fl_kv_get(&o->s->kv, o->argv[i].p, o->argv[i].len, &v, &n) == 0)
            fl_resp_put_bulk(&o->reply, v, n);
        else
            fl_resp_put_null(&o->reply);
    }
    fl__op_finish(o);
}

static void exists_result(op *o, const fl_kv_result *res)
{
    (void)res;
    int64_t n = 0;
    for (size_t i = 1; i < o->argc; i++) {
        const uint8_t *v;
        size_t len;
        n += fl_kv_get(&o->s->kv, o->argv[i].p, o->argv[i].len, &v, &len) == 0;
    }
    done_int(o, n);
}

/* ---- SET and GETSET ------------------------------------------------------------------------- */

enum { SET_READ = 1, SET_CAS = 2 };

static void set_read(op *o)
{
    o->step = SET_READ;
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_GET, o, 1);
    submit(o, &cmd, false);
}

static void set_cas(op *o)
{
    o->step = SET_CAS;
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_CAS, o, 1);
    cmd.value = o->argv[2].p;
    cmd.value_len = o->argv[2].len;
    cmd.expect_absent = !o->old_present;
    cmd.expect = o->old_present ? o->old.data : NULL;
    cmd.expect_len = o->old_present ? o->old.len : 0;
    submit(o, &cmd, true);
}

static int set_options(op *o)
{
    for (size_t i = 3; i < o->argc; i++) {
        const char *a = ARG(o, i);
        if (!strcasecmp(a, "NX") && !o->flag_xx)
            o->flag_nx = true;
        else if (!strcasecmp(a, "XX") && !o->flag_nx)
            o->flag_xx = true;
        else if (!strcasecmp(a, "GET"))
            o->flag_get = true;
        else if (!strcasecmp(a, "KEEPTTL"))
            continue;
        else if (!strcasecmp(a, "EX") || !strcasecmp(a, "PX") || !strcasecmp(a, "EXAT") ||
                 !strcasecmp(a, "PXAT"))
            return -2;
        else
            return -1;
    }
    return 0;
}

static void set_begin(op *o)
{
    int rc = set_options(o);
    if (rc) {
        done_error(o, rc == -2 ? "ERR expiration (EX, PX) is not supported" : "ERR syntax error");
        return;
    }
    if (o->flag_xx || o->flag_get) {
        set_read(o);
        return;
    }
    fl_kv_cmd cmd;
    key_cmd(&cmd, o->flag_nx ? FL_KV_CAS : FL_KV_PUT, o, 1);
    cmd.value = o->argv[2].p;
    cmd.value_len = o->argv[2].len;
    cmd.expect_absent = o->flag_nx;
    o->step = o->flag_nx ? SET_CAS : 0;
    submit(o, &cmd, true);
}

static void set_reply(op *o, bool applied)
{
    if (o->flag_get && o->old_present)
        fl_resp_put_bulk(&o->reply, o->old.data, o->old.len);
    else if (o->flag_get || !applied)
        fl_resp_put_null(&o->reply);
    else
        fl_resp_put_simple(&o->reply, "OK");
    fl__op_finish(o);
}

static void set_after_read(op *o, const fl_kv_result *res)
{
    if (res->status != FL_KV_OK && res->status != FL_KV_NOT_FOUND) {
        status_error(o, res->status);
        return;
    }
    o->old_present = res->status == FL_KV_OK && res->has_value;
    fl_buf_reset(&o->old);
    if (o->old_present)
        fl_buf_put_bytes(&o->old, res->value, res->value_len);
    if ((o->flag_nx && o->old_present) || (o->flag_xx && !o->old_present)) {
        set_reply(o, false);
        return;
    }
    set_cas(o);
}

static void set_result(op *o, const fl_kv_result *res)
{
    if (o->step == SET_READ) {
        set_after_read(o, res);
        return;
    }
    if (res->status == FL_KV_OK) {
        set_reply(o, true);
    } else if (res->status != FL_KV_CAS_MISMATCH) {
        status_error(o, res->status);
    } else if (o->step == SET_CAS && (o->flag_xx || o->flag_get)) {
        if (++o->count >= SRV_STEPS_MAX)
            done_error(o, "ERR too much contention on this key; try again");
        else
            set_read(o); /* the value changed between our read and our cas */
    } else {
        set_reply(o, false); /* plain NX and the key exists */
    }
}

static void getset_begin(op *o)
{
    o->flag_get = true;
    set_read(o);
}

/* ---- DEL, APPEND, INCR family, CAS ----------------------------------------------------------- */

static void del_next(op *o)
{
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_DELETE, o, (size_t)o->step + 1);
    submit(o, &cmd, true);
}

static void del_begin(op *o)
{
    o->step = 0;
    del_next(o);
}

static void del_result(op *o, const fl_kv_result *res)
{
    o->count += res->status == FL_KV_OK;
    if ((size_t)++o->step + 1 < o->argc)
        del_next(o);
    else
        done_int(o, o->count);
}

static void append_begin(op *o)
{
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_APPEND, o, 1);
    cmd.value = o->argv[2].p;
    cmd.value_len = o->argv[2].len;
    submit(o, &cmd, true);
}

static void append_result(op *o, const fl_kv_result *res)
{
    if (res->status == FL_KV_OK)
        done_int(o, (int64_t)res->value_len);
    else
        status_error(o, res->status);
}

static void incr_by(op *o, int64_t delta)
{
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_INCR, o, 1);
    cmd.delta = delta;
    submit(o, &cmd, true);
}

static void incr_begin(op *o)
{
    const char *name = ARG(o, 0);
    bool decr = name[0] == 'd' || name[0] == 'D';
    int64_t d = 1;
    if (o->argc == 3 && !parse_i64(&o->argv[2], &d)) {
        done_error(o, "ERR value is not an integer or out of range");
        return;
    }
    if (decr && d == INT64_MIN) {
        done_error(o, "ERR decrement would overflow");
        return;
    }
    incr_by(o, decr ? -d : d);
}

static void incr_result(op *o, const fl_kv_result *res)
{
    fl_resp_arg a = {res->value, res->value_len};
    int64_t v = 0;
    if (res->status == FL_KV_OK && res->has_value && res->value_len < 24) {
        char text[24];
        memcpy(text, res->value, res->value_len);
        text[res->value_len] = 0;
        a.p = (const uint8_t *)text;
        if (parse_i64(&a, &v)) {
            done_int(o, v);
            return;
        }
    }
    status_error(o, res->status == FL_KV_OK ? FL_KV_TYPE_ERROR : res->status);
}

static void cas_begin(op *o)
{
    fl_kv_cmd cmd;
    key_cmd(&cmd, FL_KV_CAS, o, 1);
    cmd.expect = o->argv[2].p;
    cmd.expect_len = o->argv[2].len;
    cmd.value = o->argv[3].p;
    cmd.value_len = o->argv[3].len;
    submit(o, &cmd, true);
}

static void cas_result(op *o, const fl_kv_result *res)
{
    if (res->status == FL_KV_OK || res->status == FL_KV_CAS_MISMATCH)
        done_int(o, res->status == FL_KV_OK);
    else
        status_error(o, res->status);
}

/* ---- answered at once -------------------------------------------------------------------------
 */

static void ping_begin(op *o)
{
    if (o->argc == 2) {
        fl_resp_put_bulk(&o->reply, o->argv[1].p, o->argv[1].len);
        fl__op_finish(o);
    } else {
        done_simple(o, "PONG");
    }
}

static void echo_begin(op *o)
{
    fl_resp_put_bulk(&o->reply, o->argv[1].p, o->argv[1].len);
    fl__op_finish(o);
}

static void ok_begin(op *o)
{
    done_simple(o, "OK");
}

static void quit_begin(op *o)
{
    if (o->c)
        o->c->closing = true;
    done_simple(o, "OK");
}

static void empty_array_begin(op *o)
{
    fl_resp_put_array(&o->reply, 0);
    fl__op_finish(o);
}

static void config_begin(op *o)
{
    if (o->argc == 3 && !strcasecmp(ARG(o, 1), "GET")) {
        fl_resp_put_array(&o->reply, 2);
        fl_resp_put_bulk(&o->reply, o->argv[2].p, o->argv[2].len);
        fl_resp_put_bulk_str(&o->reply, "");
        fl__op_finish(o);
    } else {
        done_simple(o, "OK");
    }
}

static void auth_begin(op *o)
{
    const char *pass = o->s->cfg.requirepass;
    const fl_resp_arg *given = &o->argv[o->argc - 1];
    if (!pass[0]) {
        done_error(o, "ERR AUTH <password> called without any password configured for the "
                      "default user. Are you sure your configuration is correct?");
        return;
    }
    if (o->argc > 3 || (o->argc == 3 && strcmp(ARG(o, 1), "default") != 0) ||
        given->len != strlen(pass) || memcmp(given->p, pass, given->len) != 0) {
        done_error(o, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    if (o->c)
        o->c->authed = true;
    done_simple(o, "OK");
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

static void status_text(srv *s, fl_buf *b, const char *sep)
{
    char a[FL_ADDR_STR_MAX];
    const fl_raft *r = fl__srv_raft(s);
    fl_buf_printf(b, "node_id:%u%srole:%s%sterm:%llu%sleader:%u%sleader_addr:%s%s", s->cfg.id, sep,
                  fl_raft_role_name(fl_raft_role_of(r)), sep,
                  (unsigned long long)fl_raft_term_of(r), sep, fl_raft_leader_of(r), sep,
                  fl__srv_addr_of(s, fl_raft_leader_of(r), a), sep);
    fl_buf_printf(b, "commit_index:%llu%sapplied_index:%llu%slast_index:%llu%s",
                  (unsigned long long)fl_raft_commit_of(r), sep,
                  (unsigned long long)fl_raft_applied_of(r), sep,
                  (unsigned long long)fl_raft_last_index(r), sep);
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
    fl_raft_counters k;
    fl_raft_counters_of(r, &k);
    fl_buf_printf(b, "reads_at_follower:%llu%sreads_by_lease:%llu%s",
                  (unsigned long long)k.follower_reads_served, sep,
                  (unsigned long long)k.lease_reads_served, sep);
    fl_buf_printf(b, "snapshot_index:%llu%sfirst_index:%llu%ssnapshots_taken:%llu%s",
                  (unsigned long long)fl_raft_snapshot_of(r)->index, sep,
                  (unsigned long long)fl_raft_first_index(r), sep,
                  (unsigned long long)s->host.stats.snapshots_taken, sep);
    fl_buf_printf(b, "snapshots_installed:%llu%swal_segments_deleted:%llu%s",
                  (unsigned long long)s->host.stats.snapshots_installed, sep,
                  (unsigned long long)s->host.store.segments_deleted, sep);
    uint64_t dropped = 0;
    for (uint32_t i = 0; i < s->peers.n_out; i++)
        dropped += s->peers.out[i].dropped;
    fl_buf_printf(b, "peer_frames_dropped:%llu%speer_connections_refused:%llu%s",
                  (unsigned long long)dropped, sep, (unsigned long long)s->peers.refused, sep);
    conf_text(r, b, sep);
}

/* FL.ADD / FL.PROMOTE / FL.REMOVE id: the edit of the configuration in force, asked of the
 * Raft core, which refuses what may not happen now (see raft.h). */
static void member_begin(op *o)
{
    srv *s = o->s;
    char id_text[16];
    const fl_resp_arg *a = &o->argv[1];
    snprintf(id_text, sizeof(id_text), "%.*s", (int)(a->len < 15 ? a->len : 15),
             (const char *)a->p);
    char *end;
    unsigned long id = strtoul(id_text, &end, 10);
    bool member = false;
    for (uint32_t i = 0; i < s->cfg.n; i++)
        member |= s->cfg.ids[i] == id;
    if (end == id_text || *end || a->len > 10 || !member) {
        done_error(o, "ERR not a node id of --cluster");
        return;
    }
    if (fl_raft_role_of(fl__srv_raft(s)) != FL_RAFT_LEADER) {
        char msg[96];
        snprintf(msg, sizeof(msg), "ERR not the leader: ask node %u",
                 fl_raft_leader_of(fl__srv_raft(s)));
        done_error(o, msg);
        return;
    }
    const fl_raft_conf *cur = fl_raft_conf_of(fl__srv_raft(s));
    fl_raft_conf want;
    const char *name = ARG(o, 0);
    int rc = !strcasecmp(name, "fl.add") ? fl_raft_conf_add_learner(cur, (fl_node_id)id, &want)
             : !strcasecmp(name, "fl.promote") ? fl_raft_conf_promote(cur, (fl_node_id)id, &want)
                                               : fl_raft_conf_remove(cur, (fl_node_id)id, &want);
    fl_index index = 0;
    if (rc == 0)
        rc = fl__srv_change(s, &want, &index);
    if (rc == 0) {
        FL_INFO("membership change %s %lu: config entry %llu", name, id, (unsigned long long)index);
        done_simple(o, "OK");
    } else if (rc == FL_EBUSY) {
        done_error(o, "ERR busy: a membership change is in flight, try again");
    } else if (rc == FL_ELAGGING) {
        done_error(o, "ERR the learner has not caught up yet, try again");
    } else if (rc == FL_EINVAL) {
        done_error(o, "ERR no such change (add: not a member yet; promote: a learner; remove: "
                      "a member)");
    } else {
        char msg[96];
        snprintf(msg, sizeof(msg), "ERR membership change refused: %s", fl_strerror(rc));
        done_error(o, msg);
    }
}

static void info_begin(op *o)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "# Server\r\nfaultline_version:0.1.0\r\nredis_version:7.0.0\r\n"
                      "# Raft\r\n");
    status_text(o->s, &b, "\r\n");
    fl_resp_put_bulk(&o->reply, b.data, b.len);
    fl_buf_free(&b);
    fl__op_finish(o);
}

static void status_begin(op *o)
{
    fl_buf b;
    fl_buf_init(&b);
    status_text(o->s, &b, " ");
    fl_resp_put_bulk(&o->reply, b.data, b.len);
    fl_buf_free(&b);
    fl__op_finish(o);
}

/* FL.TRANSFER <node-id>: on the leader, hand leadership to that voter (it is brought up to
 * date, then told to campaign at once). +OK once started; the transfer ends when the target
 * leads, or is abandoned after an election timeout (FL.STATUS shows the outcome). Proposals
 * wait meanwhile. */
static void transfer_begin(op *o)
{
    srv *s = o->s;
    const fl_raft *r = fl__srv_raft(s);
    uint64_t id = 0;
    const char *arg = ARG(o, 1);
    size_t len = o->argv[1].len;
    bool digits = len > 0 && len <= 10;
    for (size_t i = 0; digits && i < len; i++) {
        digits = isdigit((unsigned char)arg[i]) != 0;
        id = id * 10 + (uint64_t)(arg[i] - '0');
    }
    bool member = false;
    for (uint32_t i = 0; digits && i < s->cfg.n; i++)
        member |= s->cfg.ids[i] == id;
    char msg[160], a[FL_ADDR_STR_MAX];
    if (!digits || id == 0 || id > UINT32_MAX) {
        done_error(o, "ERR FL.TRANSFER: the node id must be a whole number > 0");
    } else if (!member) {
        snprintf(msg, sizeof(msg), "ERR FL.TRANSFER: unknown node %llu", (unsigned long long)id);
        done_error(o, msg);
    } else if (fl_raft_role_of(r) != FL_RAFT_LEADER) {
        if (fl_raft_leader_of(r) == FL_NODE_NONE)
            snprintf(msg, sizeof(msg), "ERR FL.TRANSFER: not the leader (no leader known)");
        else
            snprintf(msg, sizeof(msg), "ERR FL.TRANSFER: not the leader (the leader is %u at %s)",
                     fl_raft_leader_of(r), fl__srv_addr_of(s, fl_raft_leader_of(r), a));
        done_error(o, msg);
    } else if (id == s->cfg.id) {
        done_error(o, "ERR FL.TRANSFER: this node already leads");
    } else if (fl_raft_transfer_of(r) != FL_NODE_NONE) {
        snprintf(msg, sizeof(msg), "ERR FL.TRANSFER: a transfer to %u is in progress",
                 fl_raft_transfer_of(r));
        done_error(o, msg);
    } else {
        int rc = fl__srv_transfer(s, (fl_node_id)id);
        if (rc)
            snprintf(msg, sizeof(msg), "ERR FL.TRANSFER: %s", fl_strerror(rc));
        if (rc)
            done_error(o, msg);
        else
            done_simple(o, "OK");
    }
}

static void dbsize_begin(op *o)
{
    done_int(o, (int64_t)fl_kv_key_count(&o->s->kv)); /* local, may lag on a follower */
}

static void no_result(op *o, const fl_kv_result *res)
{
    (void)res;
    fl__op_finish(o);
}

/* clang-format off */
static const cmd_def commands[] = {
    {"get", 2, get_begin, get_result, false},
    {"set", -3, set_begin, set_result, false},
    {"del", -2, del_begin, del_result, false},
    {"exists", -2, barrier_begin, exists_result, true},
    {"mget", -2, barrier_begin, mget_result, true},
    {"append", 3, append_begin, append_result, false},
    {"incr", 2, incr_begin, incr_result, false},
    {"decr", 2, incr_begin, incr_result, false},
    {"incrby", 3, incr_begin, incr_result, false},
    {"decrby", 3, incr_begin, incr_result, false},
    {"getset", 3, getset_begin, set_result, false},
    {"cas", 4, cas_begin, cas_result, false},
    {"ping", -1, ping_begin, no_result, false},
    {"echo", 2, echo_begin, no_result, false},
    {"quit", -1, quit_begin, no_result, false},
    {"auth", -2, auth_begin, no_result, false},
    {"info", -1, info_begin, no_result, false},
    {"fl.status", 1, status_begin, no_result, false},
    {"fl.add", 2, member_begin, no_result, false},
    {"fl.promote", 2, member_begin, no_result, false},
    {"fl.remove", 2, member_begin, no_result, false},
    {"fl.transfer", 2, transfer_begin, no_result, false},
    {"dbsize", 1, dbsize_begin, no_result, false},
    {"command", -1, empty_array_begin, no_result, false},
    {"client", -2, ok_begin, no_result, false},
    {"select", 2, ok_begin, no_result, false},
    {"config", -2, config_begin, no_result, false},
};
/* clang-format on */

/* ---- dispatch ----------------------------------------------------------------------------- */

static const cmd_def *find(const fl_resp_arg *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strlen(commands[i].name) == name->len &&
            !strcasecmp(commands[i].name, (const char *)name->p))
            return &commands[i];
    return NULL;
}

static void unknown(op *o, size_t argc, const fl_resp_arg *argv)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(
        &b, "ERR unknown command '%.128s', with args beginning with: ", (const char *)argv[0].p);
    for (size_t i = 1; i < argc && b.len < 512; i++)
        fl_buf_printf(&b, "'%.128s' ", (const char *)argv[i].p);
    fl_buf_put_u8(&b, 0);
    done_error(o, b.err ? "ERR unknown command" : (const char *)b.data);
    fl_buf_free(&b);
}

static bool copy_args(op *o, size_t argc, const fl_resp_arg *argv)
{
    size_t total = 0;
    for (size_t i = 0; i < argc; i++)
        total += argv[i].len + 1;
    o->argv = calloc(argc, sizeof(*o->argv));
    if (!o->argv || fl_buf_reserve(&o->args, total))
        return false;
    for (size_t i = 0; i < argc; i++) {
        o->argv[i].len = argv[i].len;
        fl_buf_put_bytes(&o->args, argv[i].p, argv[i].len);
        fl_buf_put_u8(&o->args, 0);
    }
    size_t off = 0;
    for (size_t i = 0; i < argc; i++) {
        o->argv[i].p = o->args.data + off;
        off += argv[i].len + 1;
    }
    o->argc = argc;
    return o->args.err == 0;
}

void fl__cmd_execute(conn *c, size_t argc, const fl_resp_arg *argv)
{
    op *o = fl__op_new(c->s, c);
    if (!o) {
        fl_resp_put_error(&c->out, "ERR server busy");
        c->closing = true;
        return;
    }
    if (c->fifo_tail)
        c->fifo_tail->c_next = o;
    else
        c->fifo_head = o;
    c->fifo_tail = o;
    c->inflight++;
    const cmd_def *def = find(&argv[0]);
    if (!def) {
        unknown(o, argc, argv);
        return;
    }
    o->def = def;
    if ((def->arity > 0 && argc != (size_t)def->arity) ||
        (def->arity < 0 && argc < (size_t)-def->arity)) {
        char msg[192];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", def->name);
        done_error(o, msg);
    } else if (!c->authed && def->begin != auth_begin && def->begin != quit_begin) {
        done_error(o, "NOAUTH Authentication required.");
    } else if (!copy_args(o, argc, argv)) {
        done_error(o, "ERR out of memory");
    } else {
        def->begin(o);
    }
}
