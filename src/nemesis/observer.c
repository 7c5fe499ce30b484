/* observer.c: the status poll. Every poll period (10 ms) each running node is asked for its
 * role, term and commit index (FL.STATUS over RESP, etcd's maintenance/status), on its
 * client port: a path the network faults never cut (the proxy sits on peer links only; in
 * netns mode the bridge address is never filtered). One request per node at a time: a paused
 * node's request waits, and its last answer stands meanwhile (a frozen process keeps its
 * belief). Every change of (leader, term) goes to the role timeline; a node that goes down
 * is recorded down by proc.c. A restarted node that has not answered within restart_ns is
 * reported once, never waited on. */
#include "nem_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STALE_NS (2 * FL_NS_PER_S) /* a running node's unanswered request: reconnect */

static void status_fn(nem_conn *c, bool closed)
{
    nem_node *x = c->arg;
    nem *n = c->n;
    if (closed) {
        x->st_busy = false;
        return;
    }
    while (x->st_busy && c->in.len) {
        nem_reply r;
        fl_buf body;
        fl_buf_init(&body);
        long used = n->cfg->client == FL_NEM_CLIENT_ETCD
                        ? nem_http_reply(c->in.data, c->in.len, &body, &r)
                        : nem_resp_reply(c->in.data, c->in.len, &r);
        if (used <= 0) {
            fl_buf_free(&body);
            if (used < 0)
                nem_conn_close(c);
            if (used < 0)
                x->st_busy = false;
            return;
        }
        bool leader;
        fl_term term;
        uint64_t commit;
        bool ok = nem_proto_status(n->cfg->client, &r, &leader, &term, &commit) && x->pid > 0;
        /* etcd's status reads its leader and its term apart: a node that just won term T+1
         * may answer (leader, T) once. Its answers count once two in a row agree. */
        bool confirmed = n->cfg->client != FL_NEM_CLIENT_ETCD ||
                         (x->st_seen && x->seen_leader == leader && x->seen_term == term);
        if (ok) {
            x->st_seen = true;
            x->seen_leader = leader;
            x->seen_term = term;
        }
        if (ok && confirmed) {
            n->res->status_answers++;
            x->st_known = true;
            x->st_leader = leader;
            x->st_term = term;
            x->st_commit = commit;
            if (n->cfg->client == FL_NEM_CLIENT_RESP)
                nem_compact_sample(n, x, &r);
            if (!x->answered_since_start && x->watch != SIZE_MAX)
                nem_note(n, x->watch, "node %u answered %.2f s after its start; ", x->id,
                         (double)(fl_loop_now(&n->loop) - x->started_at) / 1e9);
            if (!x->answered_since_start)
                x->watch = SIZE_MAX;
            x->answered_since_start = true;
            if (fl_observe_record_role(&n->res->rec, nem_now(n), x->id, leader, term))
                n->oom = true;
            if (leader && (!n->res->first_term || term < n->res->first_term))
                n->res->first_term = term;
            if (leader && term > n->res->last_term)
                n->res->last_term = term;
        }
        fl_buf_free(&body);
        memmove(c->in.data, c->in.data + used, c->in.len - (size_t)used);
        c->in.len -= (size_t)used;
        x->st_busy = false;
    }
}

static void poll_node(nem *n, nem_node *x, fl_time_ns now)
{
    if (x->pid <= 0)
        return;
    if (!x->answered_since_start && !x->slow_reported && now - x->started_at > n->cfg->restart_ns) {
        x->slow_reported = true;
        n->res->node[x->id - 1].slow_restarts++;
        nem_say(n,
                "node %u has not answered within %.1f s of its start (reported, not waited "
                "for)",
                x->id, (double)n->cfg->restart_ns / 1e9);
    }
    if (x->st_busy) {
        if (x->state == NODE_UP && now - x->st_sent > STALE_NS) {
            nem_conn_close(&x->st);
            x->st_busy = false;
        }
        return;
    }
    if (x->st.fd < 0 && nem_conn_open(&x->st, &x->client_addr))
        return;
    nem_proto_status_request(n->cfg->client, x->host, &x->st.out);
    nem_conn_flush(&x->st);
    x->st_busy = x->st.fd >= 0;
    x->st_sent = now;
    n->res->status_polls++;
}

static void poll_cb(fl_loop *loop, void *arg)
{
    nem *n = arg;
    n->poll_timer = 0;
    fl_time_ns now = fl_loop_now(loop);
    nem_nodes_reap(n);
    for (uint32_t i = 1; i <= n->count; i++)
        poll_node(n, &n->node[i], now);
    fl_loop_timer_start(loop, n->cfg->poll_ns, poll_cb, n, &n->poll_timer);
}

int nem_observer_start(nem *n)
{
    for (uint32_t i = 1; i <= n->count; i++)
        nem_conn_init(&n->node[i].st, n, status_fn, &n->node[i]);
    n->observer_up = true;
    return fl_loop_timer_start(&n->loop, 0, poll_cb, n, &n->poll_timer);
}

void nem_observer_stop(nem *n)
{
    if (!n->observer_up)
        return; /* never started: the connections were never initialized */
    n->observer_up = false;
    if (n->poll_timer)
        fl_loop_timer_cancel(&n->loop, n->poll_timer);
    n->poll_timer = 0;
    for (uint32_t i = 1; i <= n->count; i++) {
        nem_conn_free(&n->node[i].st);
        n->node[i].st_busy = false;
    }
}

uint32_t nem_leader(const nem *n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i <= n->count; i++) {
        const nem_node *x = &n->node[i];
        if (x->pid > 0 && x->st_known && x->st_leader &&
            (!best || x->st_term > n->node[best].st_term))
            best = i;
    }
    return best;
}
