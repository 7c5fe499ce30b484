/* bench_sim.c: raw simulated message deliveries per wall-clock second.
 *
 * A toy "hot potato" protocol: every node starts with `inflight` messages and, on each
 * delivery, reads the message, bumps a counter in it and forwards it to a random peer drawn
 * from its own stream, so the number of messages in flight stays constant. Each scenario runs
 * until `deliveries` messages were delivered and prints deliveries per wall second. Every node
 * also re-arms its timer on every delivery (as an election timer is reset by heartbeats).
 *
 *   build/bench/bench_sim [deliveries]      (default 5000000 per scenario) */
#include "faultline/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_BYTES 64

typedef struct hot_ctx {
    int inflight;
    int timer;
} hot_ctx;

typedef struct hot_node {
    hot_ctx *ctx;
    fl_sim *sim;
    fl_node_id id;
    uint64_t seen;
} hot_node;

static void forward(hot_node *h, uint8_t *msg)
{
    uint32_t n = fl_sim_nodes(h->sim);
    fl_node_id to = (fl_node_id)fl_rng_range(fl_sim_rng(h->sim, h->id), 1, n - 1);
    if (to >= h->id)
        to++;
    fl_sim_send(h->sim, h->id, to, msg, MSG_BYTES);
}

static void *hot_start(void *ctx_, fl_sim *sim, fl_node_id id)
{
    hot_ctx *ctx = ctx_;
    hot_node *h = calloc(1, sizeof(*h));
    h->ctx = ctx;
    h->sim = sim;
    h->id = id;
    uint8_t msg[MSG_BYTES];
    memset(msg, (int)id, sizeof(msg));
    for (int i = 0; i < ctx->inflight; i++)
        forward(h, msg);
    if (ctx->timer)
        fl_sim_set_timer(sim, id, fl_sim_now(sim, id) + 10 * FL_NS_PER_MS);
    return h;
}

static void hot_stop(void *node)
{
    free(node);
}

/* Node 1 tops the messages in flight back up to nodes * inflight (losses and duplicates make
 * the count drift). */
static void top_up(hot_node *h)
{
    const fl_sim_stats *s = fl_sim_get_stats(h->sim);
    uint64_t in_net = s->msgs_sent + s->msgs_duplicated - s->msgs_delivered - s->msgs_dropped_loss -
                      s->msgs_dropped_partition - s->msgs_dropped_down - s->msgs_dropped_full;
    uint64_t want = (uint64_t)h->ctx->inflight * fl_sim_nodes(h->sim);
    uint8_t msg[MSG_BYTES];
    memset(msg, 0, sizeof(msg));
    for (uint64_t i = in_net; h->id == 1 && i < want; i++)
        forward(h, msg);
}

static void hot_receive(void *node, fl_node_id from, const uint8_t *msg, size_t len)
{
    hot_node *h = node;
    uint8_t out[MSG_BYTES];
    memcpy(out, msg, MSG_BYTES);
    out[0]++;
    h->seen++;
    fl_sim_set_timer(h->sim, h->id, fl_sim_now(h->sim, h->id) + 10 * FL_NS_PER_MS);
    forward(h, out);
    if (h->id == 1 && h->seen % 256 == 0)
        top_up(h);
}

static void hot_timer(void *node)
{
    hot_node *h = node;
    top_up(h);
    fl_sim_set_timer(h->sim, h->id, fl_sim_now(h->sim, h->id) + 10 * FL_NS_PER_MS);
}

static const fl_sim_proto hot_proto = {
    .name = "hot-potato",
    .start = hot_start,
    .stop = hot_stop,
    .receive = hot_receive,
    .timer = hot_timer,
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int noop_check(void *arg, fl_sim *sim, fl_buf *why)
{
    return 0;
}

static void scenario(const char *name, uint32_t nodes, int inflight, const fl_sim_link *link,
                     bool check, uint64_t deliveries)
{
    hot_ctx ctx = {.inflight = inflight, .timer = 1};
    fl_sim_config c;
    fl_sim_config_default(&c);
    c.seed = 1;
    c.nodes = nodes;
    c.proto = &hot_proto;
    c.proto_ctx = &ctx;
    if (link)
        c.link = *link;
    fl_sim *sim = NULL;
    fl_buf why;
    fl_buf_init(&why);
    if (fl_sim_create(&c, &sim, &why)) {
        fprintf(stderr, "bench_sim: %.*s\n", (int)why.len, (const char *)why.data);
        exit(1);
    }
    fl_buf_free(&why);
    if (check)
        fl_sim_add_check(sim, noop_check, NULL);
    fl_sim_start_all(sim);
    const fl_sim_stats *s = fl_sim_get_stats(sim);
    double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    while (s->msgs_delivered < deliveries)
        if (fl_sim_step(sim) <= 0)
            break;
    double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("%-32s %2u nodes %3d/node in flight: %8llu deliveries %8llu events: %.2f s wall"
           " %.2f s cpu = %5.2f M deliveries/s wall, %5.2f M/s cpu (virtual %.1f s, trace "
           "%016llx)\n",
           name, nodes, inflight, (unsigned long long)s->msgs_delivered,
           (unsigned long long)s->events, dt, dc, (double)s->msgs_delivered / dt / 1e6,
           (double)s->msgs_delivered / dc / 1e6, (double)fl_sim_time(sim) / 1e9,
           (unsigned long long)fl_sim_trace_hash(sim));
    fl_sim_destroy(sim);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    fl_sim_link lossy = {.up = true,
                         .loss = 0.01,
                         .dup = 0.01,
                         .reorder = 0.05,
                         .reorder_ns = 2 * FL_NS_PER_MS,
                         .delay = fl_sim_dist_exp(200 * FL_NS_PER_US, FL_NS_PER_MS)};
    scenario("constant 1 ms delay", 5, 20, NULL, false, n);
    scenario("constant 1 ms delay + 1 check", 5, 20, NULL, true, n);
    scenario("exp delay, 1% loss/dup, reorder", 5, 20, &lossy, false, n);
    scenario("constant 1 ms delay, big queue", 64, 200, NULL, false, n);
    return 0;
}
