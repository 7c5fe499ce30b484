/* server_cmd_multi.c: transactions (server_int.h): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * MULTI makes the connection queue its commands (+QUEUED): an unknown command or a wrong
 * number of arguments makes the EXEC fail with EXECABORT, as Redis does; any other command is
 * built into its kv command at once, and an error in its arguments (a bad integer, a bad
 * score) becomes its reply inside the EXEC's array while the others run, as in Redis, where
 * commands check their arguments when they execute. Commands answered at once (PING,
 * INFO...) are answered then and their replies kept. EXEC
 * sends one kv command, FL_KV_MULTI: the watched keys with the index each was watched at,
 * and every queued kv command; the kv applies them in one log entry, or none if a watched
 * key changed since (EXEC answers null). WATCH is a read of the kv's applied index (in the
 * connection's order, like any read): the index at which the client started to look. EXEC
 * and DISCARD forget the watches, as in Redis. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void fl__multi_free_queue(op *head)
{
    while (head) {
        op *next = head->q_next;
        fl__op_free(head);
        head = next;
    }
}

void fl__multi_reset(conn *c)
{
    fl__multi_free_queue(c->q_head);
    c->q_head = c->q_tail = NULL;
    c->q_count = 0;
    c->in_multi = c->multi_dirty = false;
}

static void unwatch(conn *c)
{
    fl_buf_reset(&c->watched);
    c->n_watched = 0;
}

/* A queued command already answered (PING...) or refused by its arguments: its reply is
 * kept for the EXEC's array, and it sends nothing to the kv. */
static bool answered(const op *q)
{
    return q->def->now || q->reply.len > 0;
}

/* Queues a copy of o's command (o itself gets +QUEUED or the error). */
static void queue(op *o)
{
    conn *c = o->c;
    op *q = fl__op_new(o->s, c);
    if (!q || !fl__cmd_copy_args(q, o->argc, o->argv)) {
        if (q)
            fl__op_free(q);
        c->multi_dirty = true;
        done_error(o, "ERR out of memory");
        return;
    }
    q->def = o->def;
    if (q->def->now) {
        q->def->now(q); /* answered now; its reply goes into the EXEC's array */
    } else {
        const char *err = q->def->build(q);
        if (err)
            fl_resp_put_error(&q->reply, err); /* answered by EXEC, in its place */
    }
    if (c->q_tail)
        c->q_tail->q_next = q;
    else
        c->q_head = q;
    c->q_tail = q;
    c->q_count++;
    done_simple(o, "QUEUED");
}

static const char *build_exec(op *o)
{
    conn *c = o->c;
    fl_kv_cmd k = {.op = FL_KV_MULTI, .num = c->n_watched};
    fl_buf_reset(&o->kargs);
    fl_buf_put_bytes(&o->kargs, c->watched.data, c->watched.len);
    k.argc = 2 * c->n_watched;
    for (op *q = c->q_head; q; q = q->q_next)
        if (!answered(q)) {
            fl_kv_args_add(&o->kargs, q->cmd.data, q->cmd.len);
            k.argc++;
        }
    k.args = o->kargs.data;
    k.args_len = o->kargs.len;
    o->queue = c->q_head; /* the op owns the queue now */
    c->q_head = c->q_tail = NULL;
    fl_buf_reset(&o->cmd);
    o->read = o->may_index = false;
    if (o->kargs.err || fl_kv_cmd_encode(&k, &o->cmd) || o->cmd.err)
        return "ERR out of memory";
    return NULL;
}

static void exec_begin(op *o)
{
    conn *c = o->c;
    bool dirty = c->multi_dirty;
    const char *err = dirty ? NULL : build_exec(o);
    fl__multi_reset(c);
    unwatch(c);
    if (dirty)
        done_error(o, "EXECABORT Transaction discarded because of previous errors.");
    else if (err)
        done_error(o, err);
    else
        fl__op_route_cmd(o);
}

static void r_exec(const op *o, const fl_kv_result *r, fl_buf *out)
{
    uint32_t n = 0;
    if (r->status == FL_KV_NOT_APPLIED) {
        fl__put_null_array(o, out); /* a watched key changed */
        return;
    }
    size_t count = 0, off = 0, len;
    for (const op *q = o->queue; q; q = q->q_next)
        count++;
    if (r->status != FL_KV_OK || !fl_kv_list_count(r->value, r->value_len, &n)) {
        fl_resp_put_error(out, "ERR transaction failed");
        return;
    }
    fl_resp_put_array(out, count);
    for (const op *q = o->queue; q; q = q->q_next) {
        const uint8_t *p;
        fl_kv_result sub;
        if (answered(q))
            fl_buf_put_bytes(out, q->reply.data, q->reply.len);
        else if (fl_kv_list_next(r->value, r->value_len, &off, &p, &len) && p &&
                 fl_kv_result_decode(p, len, &sub) == 0)
            q->def->reply(q, &sub, out);
        else
            fl_resp_put_error(out, "ERR transaction failed");
    }
}

static const cmd_def exec_def = {"exec", 1, NULL, r_exec, NULL};

/* WATCH's reply: the kv's applied index when the read was served; every key is watched from
 * there. */
static void r_watch(const op *o, const fl_kv_result *r, fl_buf *out)
{
    conn *c = o->c;
    char text[24];
    if (r->status != FL_KV_OK || !r->has_value || r->value_len >= sizeof(text)) {
        fl_resp_put_error(out, "ERR cannot watch");
        return;
    }
    memcpy(text, r->value, r->value_len);
    text[r->value_len] = 0;
    uint8_t w[8];
    fl_put_u64le(w, strtoull(text, NULL, 10));
    for (size_t i = 1; c && i < o->argc && c->n_watched < SRV_WATCH_MAX; i++) {
        fl_kv_args_add(&c->watched, o->argv[i].p, o->argv[i].len);
        fl_kv_args_add(&c->watched, w, 8);
        c->n_watched++;
    }
    fl_resp_put_simple(out, "OK");
}

static const cmd_def watch_def = {"watch", -2, NULL, r_watch, NULL};

static void watch_begin(op *o)
{
    fl_kv_cmd k = {.op = FL_KV_INDEX};
    o->def = &watch_def;
    o->read = o->may_index = true;
    fl_buf_reset(&o->cmd);
    if (fl_kv_cmd_encode(&k, &o->cmd) || o->cmd.err) {
        done_error(o, "ERR out of memory");
        return;
    }
    fl__op_route_cmd(o);
}

bool fl__multi_intercept(op *o)
{
    conn *c = o->c;
    const char *name = o->def->name;
    if (!strcmp(name, "multi")) {
        if (c->in_multi) {
            done_error(o, "ERR MULTI calls can not be nested");
        } else {
            c->in_multi = true;
            done_simple(o, "OK");
        }
    } else if (!strcmp(name, "exec")) {
        o->def = &exec_def;
        if (c->in_multi)
            exec_begin(o);
        else
            done_error(o, "ERR EXEC without MULTI");
    } else if (!strcmp(name, "discard")) {
        if (c->in_multi) {
            fl__multi_reset(c);
            unwatch(c);
            done_simple(o, "OK");
        } else {
            done_error(o, "ERR DISCARD without MULTI");
        }
    } else if (!strcmp(name, "watch")) {
        if (c->in_multi)
            done_error(o, "ERR WATCH inside MULTI is not allowed");
        else
            watch_begin(o);
    } else if (!strcmp(name, "unwatch")) {
        unwatch(c);
        done_simple(o, "OK");
    } else if (c->in_multi) {
        queue(o);
    } else {
        return false;
    }
    return true;
}
