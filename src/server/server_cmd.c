/* server_cmd.c: the RESP command table of a node and its dispatch (server_int.h): arity
 * and authentication checks, then a command is answered at once (PING, ECHO, AUTH, SELECT,
 * the FL.* administration commands, and INFO, HELLO, CLIENT, CONFIG in server_info.c),
 * queued by MULTI (server_cmd_multi.c), or built into one kv command (server_cmd_kv.c) and
 * routed in its connection's program order (server_ops.c, kv_order.h).
 *
 * FL.ADD id, FL.PROMOTE id, FL.REMOVE id ask this node (the leader) for a membership change:
 * +OK once its config entry is in the leader's log; FL.STATUS shows the configuration.
 * FL.TRANSFER <id> hands leadership to node id. Errors use Redis's texts: "ERR unknown
 * command '...', with args beginning with: '...' ", "ERR wrong number of arguments for
 * '...' command". */
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

/* ---- answered at once -------------------------------------------------------------------------
 */

static void ping_begin(op *o)
{
    if (o->argc > 2) {
        done_error(o, "ERR wrong number of arguments for 'ping' command");
    } else if (o->argc == 2) {
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

static void select_begin(op *o)
{
    if (o->argv[1].len == 1 && ARG(o, 1)[0] == '0')
        done_simple(o, "OK");
    else if (strspn(ARG(o, 1), "-0123456789") != o->argv[1].len || o->argv[1].len == 0)
        done_error(o, "ERR value is not an integer or out of range");
    else
        done_error(o, "ERR DB index is out of range");
}

static size_t kv_command_count(void)
{
    return fl__kv_cmds_count + fl__list_cmds_count + fl__hash_cmds_count + fl__zset_cmds_count;
}

static void command_begin(op *o)
{
    if (o->argc >= 2 && !strcasecmp(ARG(o, 1), "COUNT"))
        fl_resp_put_int(&o->reply, (int64_t)kv_command_count());
    else
        fl_resp_put_array(&o->reply, 0);
    fl__op_finish(o);
}

static void quit_begin(op *o)
{
    if (o->c)
        o->c->closing = true;
    done_simple(o, "OK");
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
    if (!fl__srv_raft(s)) {
        done_error(o, "ERR not supported: membership changes are Raft's (this node runs "
                      "--protocol paxos, with the fixed member set of --cluster)");
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
    if (!r) {
        done_error(o, "ERR not supported: leadership transfer is Raft's (this node runs "
                      "--protocol paxos)");
    } else if (!digits || id == 0 || id > UINT32_MAX) {
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

/* clang-format off */
static const cmd_def commands[] = {
    {"ping", -1, NULL, NULL, ping_begin},
    {"echo", 2, NULL, NULL, echo_begin},
    {"quit", -1, NULL, NULL, quit_begin},
    {"auth", -2, NULL, NULL, auth_begin},
    {"hello", -1, NULL, NULL, fl__hello_now},
    {"client", -2, NULL, NULL, fl__client_now},
    {"info", -1, NULL, NULL, fl__info_now},
    {"config", -2, NULL, NULL, fl__config_now},
    {"select", 2, NULL, NULL, select_begin},
    {"command", -1, NULL, NULL, command_begin},
    {"multi", 1, NULL, NULL, NULL},
    {"exec", 1, NULL, NULL, NULL},
    {"discard", 1, NULL, NULL, NULL},
    {"watch", -2, NULL, NULL, NULL},
    {"unwatch", 1, NULL, NULL, NULL},
    {"fl.status", 1, NULL, NULL, fl__status_now},
    {"fl.add", 2, NULL, NULL, member_begin},
    {"fl.promote", 2, NULL, NULL, member_begin},
    {"fl.remove", 2, NULL, NULL, member_begin},
    {"fl.transfer", 2, NULL, NULL, transfer_begin},
};
/* clang-format on */

/* ---- dispatch ----------------------------------------------------------------------------- */

/* A linear scan of each table, run for every command: the first letter (table names are lower
 * case) rules out most entries before any string comparison. name holds no NUL (checked by
 * fl__cmd_find), so a match of its len bytes means the table name is at least that long. */
static const cmd_def *find_in(const cmd_def *t, size_t n, const fl_resp_arg *name)
{
    char first = (char)tolower((unsigned char)name->p[0]);
    for (size_t i = 0; i < n; i++)
        if (t[i].name[0] == first && !strncasecmp(t[i].name, (const char *)name->p, name->len) &&
            t[i].name[name->len] == '\0')
            return &t[i];
    return NULL;
}

const cmd_def *fl__cmd_find(const fl_resp_arg *name)
{
    if (name->len == 0 || memchr(name->p, 0, name->len))
        return NULL; /* no command has such a name */
    const cmd_def *d = find_in(commands, sizeof(commands) / sizeof(commands[0]), name);
    if (!d)
        d = find_in(fl__kv_cmds, fl__kv_cmds_count, name);
    if (!d)
        d = find_in(fl__list_cmds, fl__list_cmds_count, name);
    if (!d)
        d = find_in(fl__hash_cmds, fl__hash_cmds_count, name);
    if (!d)
        d = find_in(fl__zset_cmds, fl__zset_cmds_count, name);
    return d;
}

/* Redis's text, arguments quoted and cut as Redis cuts them. */
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

bool fl__cmd_copy_args(op *o, size_t argc, const fl_resp_arg *argv)
{
    size_t total = 0;
    for (size_t i = 0; i < argc; i++)
        total += argv[i].len + 1;
    if (argc > o->argv_cap) {
        fl_resp_arg *a = realloc(o->argv, argc * sizeof(*a));
        if (!a)
            return false;
        o->argv = a;
        o->argv_cap = argc;
    }
    fl_buf_reset(&o->args);
    if (fl_buf_reserve(&o->args, total))
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

static bool arity_ok(const cmd_def *def, size_t argc)
{
    return def->arity > 0 ? argc == (size_t)def->arity : argc >= (size_t)-def->arity;
}

static bool needs_no_auth(const cmd_def *def)
{
    return def->now == auth_begin || def->now == quit_begin || def->now == fl__hello_now;
}

/* An argument error while MULTI queues makes its EXEC fail (Redis's EXECABORT). */
static void refuse(op *o, const char *msg)
{
    if (o->c && o->c->in_multi)
        o->c->multi_dirty = true;
    done_error(o, msg);
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
    c->s->commands++;
    const cmd_def *def = fl__cmd_find(&argv[0]);
    if (!def) {
        if (c->in_multi)
            c->multi_dirty = true;
        unknown(o, argc, argv);
        return;
    }
    o->def = def;
    if (!arity_ok(def, argc)) {
        char msg[192];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", def->name);
        refuse(o, msg);
    } else if (!c->authed && !needs_no_auth(def)) {
        refuse(o, "NOAUTH Authentication required.");
    } else if (!fl__cmd_copy_args(o, argc, argv)) {
        done_error(o, "ERR out of memory");
    } else if (fl__multi_intercept(o)) {
        return;
    } else if (def->now) {
        def->now(o);
    } else {
        const char *err = def->build(o);
        if (err)
            refuse(o, err);
        else
            fl__op_route_cmd(o);
    }
}
