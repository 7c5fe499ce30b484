/* sim_toy.h: a toy protocol for simulator tests. Every node, on each timer tick, increments a
 * counter, appends it to its disk as a checksummed record (crc32c u32 | value u64), asks for a
 * sync, sends the counter to every other node and re-arms its timer. At start it replays its
 * disk: a bad last record is a torn write and is discarded; a bad record before the last is
 * corruption, and the node refuses to start. An fsync error makes the node exit. */
#ifndef SIM_TOY_H
#define SIM_TOY_H

#include "faultline/buf.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOY_REC_LEN   12
#define TOY_FIRES_MAX 64

typedef struct toy_ctx {
    fl_time_ns period_ns; /* local time between ticks; 0 = no timer */
    bool persist;         /* write + sync on every tick */
    bool send;            /* send to every peer on every tick */
    /* observations */
    uint64_t rx[FL_SIM_NODES_MAX + 1][FL_SIM_NODES_MAX + 1]; /* [from][to] deliveries */
    uint64_t start_counter[FL_SIM_NODES_MAX + 1];            /* counter rebuilt at last start */
    uint64_t torn_seen;
    uint64_t corrupt_seen;
    uint64_t fsync_errors;
    uint64_t synced_ok;
    double delay_sum_ns; /* sum of (arrival - value * period): the delay when no restarts */
    uint64_t delay_n;
    fl_time_ns fires_ns[TOY_FIRES_MAX]; /* global times of node 1's timer firings */
    int fires;
    uint64_t rx_order[FL_SIM_NODES_MAX + 1][TOY_FIRES_MAX]; /* values received, in order */
    int rx_order_count[FL_SIM_NODES_MAX + 1];
    /* node hold holds itself (fl_sim_hold) from each sync it asks for until that sync ends, as
     * the server's loop in an inline fdatasync; held_calls: its callbacks that ran held */
    fl_node_id hold;
    uint64_t held_calls;
} toy_ctx;

typedef struct toy_node {
    toy_ctx *ctx;
    fl_sim *sim;
    fl_node_id id;
    uint64_t counter;
    uint64_t received;
} toy_node;

static inline void toy_encode(uint8_t rec[TOY_REC_LEN], uint64_t v)
{
    fl_put_u64le(rec + 4, v);
    fl_put_u32le(rec, fl_crc32c(0, rec + 4, 8));
}

/* 0 and *v, or FL_ECORRUPT. */
static inline int toy_decode(const uint8_t *rec, size_t len, uint64_t *v)
{
    if (len != TOY_REC_LEN || fl_get_u32le(rec) != fl_crc32c(0, rec + 4, 8))
        return FL_ECORRUPT;
    *v = fl_get_u64le(rec + 4);
    return 0;
}

static inline void toy_arm(toy_node *t)
{
    if (t->ctx->period_ns)
        fl_sim_set_timer(t->sim, t->id, fl_sim_now(t->sim, t->id) + t->ctx->period_ns);
}

static inline void *toy_start(void *ctx_, fl_sim *sim, fl_node_id id)
{
    toy_ctx *ctx = ctx_;
    size_t n = fl_sim_disk_count(sim, id);
    uint64_t counter = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        uint64_t v;
        fl_sim_disk_record(sim, id, i, &p, &len);
        if (toy_decode(p, len, &v) == 0) {
            counter = v;
            continue;
        }
        if (i + 1 == n) { /* a torn tail: cut it so that later records follow valid ones */
            ctx->torn_seen++;
            fl_sim_disk_truncate(sim, id, i);
            break;
        }
        ctx->corrupt_seen++;
        char why[64];
        snprintf(why, sizeof(why), "corrupt record %zu of %zu", i, n);
        fl_sim_set_reason(sim, id, why);
        return NULL;
    }
    toy_node *t = calloc(1, sizeof(*t));
    t->ctx = ctx;
    t->sim = sim;
    t->id = id;
    t->counter = counter;
    ctx->start_counter[id] = counter;
    toy_arm(t);
    return t;
}

static inline void toy_stop(void *node)
{
    free(node);
}

static inline void toy_receive(void *node, fl_node_id from, const uint8_t *msg, size_t len)
{
    toy_node *t = node;
    t->ctx->held_calls += fl_sim_held(t->sim, t->id);
    t->received++;
    t->ctx->rx[from][t->id]++;
    if (len == 8) {
        t->ctx->delay_sum_ns +=
            (double)fl_sim_time(t->sim) - (double)(fl_get_u64le(msg) * t->ctx->period_ns);
        t->ctx->delay_n++;
    }
    int *k = &t->ctx->rx_order_count[t->id];
    if (len == 8 && *k < TOY_FIRES_MAX)
        t->ctx->rx_order[t->id][(*k)++] = fl_get_u64le(msg);
}

static inline void toy_timer(void *node)
{
    toy_node *t = node;
    toy_ctx *ctx = t->ctx;
    ctx->held_calls += fl_sim_held(t->sim, t->id);
    t->counter++;
    if (t->id == 1 && ctx->fires < TOY_FIRES_MAX)
        ctx->fires_ns[ctx->fires++] = fl_sim_time(t->sim);
    if (ctx->persist) {
        uint8_t rec[TOY_REC_LEN];
        toy_encode(rec, t->counter);
        fl_sim_disk_write(t->sim, t->id, rec, sizeof(rec));
        fl_sim_disk_sync(t->sim, t->id, t->counter);
        if (ctx->hold == t->id)
            fl_sim_hold(t->sim, t->id, true);
    }
    if (ctx->send) {
        uint8_t msg[8];
        fl_put_u64le(msg, t->counter);
        for (fl_node_id j = 1; j <= fl_sim_nodes(t->sim); j++)
            if (j != t->id)
                fl_sim_send(t->sim, t->id, j, msg, sizeof(msg));
    }
    toy_arm(t);
}

static inline void toy_synced(void *node, uint64_t token, int status)
{
    toy_node *t = node;
    if (t->ctx->hold == t->id)
        fl_sim_hold(t->sim, t->id, false);
    if (status < 0) {
        t->ctx->fsync_errors++;
        fl_sim_exit(t->sim, t->id, "fsync failed");
        return;
    }
    t->ctx->synced_ok++;
}

static inline void toy_describe(void *node, fl_buf *out)
{
    toy_node *t = node;
    fl_buf_printf(out, "counter %llu received %llu", (unsigned long long)t->counter,
                  (unsigned long long)t->received);
}

static const fl_sim_proto toy_proto = {
    .name = "toy",
    .start = toy_start,
    .stop = toy_stop,
    .receive = toy_receive,
    .timer = toy_timer,
    .synced = toy_synced,
    .describe = toy_describe,
};

/* A default config for n toy nodes. */
static inline void toy_config(fl_sim_config *c, toy_ctx *ctx, uint64_t seed, uint32_t n)
{
    fl_sim_config_default(c);
    c->seed = seed;
    c->nodes = n;
    c->proto = &toy_proto;
    c->proto_ctx = ctx;
    if (!ctx->period_ns)
        ctx->period_ns = 10 * FL_NS_PER_MS;
}

#endif
