/* trace.c: the run's fingerprint and memory: a 64-bit hash folding every event, a ring of the
 * last RING_SIZE events printed on a violation or failed assertion.
 *
 * Invariant: the hash depends only on the sequence of (kind, time, node, peer, length, message
 * bytes) of traced events, never on addresses or wall time, so two runs with one seed and one
 * driver script produce the same hash exactly when they traced the same events. */
#include "sim_internal.h"

#include "faultline/assert.h"

#include <stdio.h>
#include <string.h>

static const char *kind_name(uint8_t kind)
{
    static const char *const names[] = {
        [EV_DELIVER] = "deliver",   [EV_TIMER] = "timer",     [EV_SYNC] = "synced",
        [EV_SYNCED] = "synced",     [EV_CALL] = "call",       [EV_START] = "start",
        [EV_CRASH] = "crash",       [EV_RESTART] = "restart", [EV_PAUSE] = "pause",
        [EV_RESUME] = "resume",     [EV_REFUSED] = "refused", [EV_DROP] = "drop",
        [EV_NODE_CALL] = "request",
    };
    if (kind < sizeof(names) / sizeof(names[0]) && names[kind])
        return names[kind];
    return "?";
}

/* A fast non-cryptographic hash of message bytes (8 bytes per step). */
uint64_t fl__hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (size_t k = 0; i + k < len; k++)
        w |= (uint64_t)p[i + k] << (8 * k);
    return fl_mix64(h ^ w);
}

static void describe_into(fl_sim *sim, fl_node_id id, char *out, size_t size)
{
    out[0] = '\0';
    if (id == FL_NODE_NONE || !sim->nodes[id - 1].obj || !sim->cfg.proto->describe)
        return;
    fl_buf b;
    fl_buf_init(&b);
    sim->cfg.proto->describe(sim->nodes[id - 1].obj, &b);
    size_t n = b.len < size - 1 ? b.len : size - 1;
    if (n)
        memcpy(out, b.data, n);
    out[n] = '\0';
    fl_buf_free(&b);
}

void fl__trace(fl_sim *sim, uint8_t kind, fl_node_id node, fl_node_id from, const uint8_t *msg,
               size_t len)
{
    uint64_t mh = msg ? fl__hash_bytes(msg, len) : 0;
    uint64_t h = sim->trace_hash;
    h = fl_mix64(h ^ ((uint64_t)kind | (uint64_t)node << 8 | (uint64_t)from << 32));
    h = fl_mix64(h ^ sim->now);
    h = fl_mix64(h ^ len ^ mh);
    sim->trace_hash = h;
    sim_ring_entry *r = &sim->ring[sim->ring_next % RING_SIZE];
    const sim_ring_entry *prev =
        sim->ring_next ? &sim->ring[(sim->ring_next - 1) % RING_SIZE] : NULL;
    r->sub = prev && prev->event == sim->stats.events ? prev->sub + 1 : 0;
    r->event = sim->stats.events;
    r->time = sim->now;
    r->kind = kind;
    r->node = node;
    r->from = from;
    r->len = (uint32_t)len;
    r->hash = mh;
    r->desc[0] = '\0';
    if (sim->cfg.trace_verbose)
        describe_into(sim, node, r->desc, sizeof(r->desc));
    sim->ring_next++;
}

uint64_t fl_sim_trace_hash(const fl_sim *sim)
{
    return sim->trace_hash;
}

/* Each line below FL_SIM_TRACE_LINE_MAX: fixed fields of at most ~150 bytes, a description
 * and a node's reason, both bounded. */
_Static_assert(RING_DESC + REASON_MAX + 40 <= FL_SIM_TRACE_LINE_MAX, "a node line fits");
_Static_assert(RING_DESC + 160 <= FL_SIM_TRACE_LINE_MAX, "an event line fits");

static void line(const sim_ring_entry *r, fl_buf *out)
{
    char num[48];
    if (r->sub)
        snprintf(num, sizeof(num), "#%llu.%u", (unsigned long long)r->event, r->sub);
    else
        snprintf(num, sizeof(num), "#%llu", (unsigned long long)r->event);
    fl_buf_printf(out, "  %-10s %10llu.%06llu ms  %-8s node %-2u", num,
                  (unsigned long long)(r->time / FL_NS_PER_MS),
                  (unsigned long long)(r->time % FL_NS_PER_MS), kind_name(r->kind), r->node);
    if (r->kind == EV_DELIVER || r->kind == EV_DROP)
        fl_buf_printf(out, " from %-2u %u bytes", r->from, r->len);
    if (r->kind == EV_DELIVER)
        fl_buf_printf(out, " #%016llx", (unsigned long long)r->hash);
    if (r->kind == EV_SYNC)
        fl_buf_printf(out, " token %u", r->len);
    if (r->desc[0])
        fl_buf_printf(out, "  | %s", r->desc);
    fl_buf_put_u8(out, '\n');
}

void fl_sim_trace_tail(const fl_sim *sim, fl_buf *out)
{
    uint64_t n = sim->ring_next < RING_SIZE ? sim->ring_next : RING_SIZE;
    fl_buf_printf(out, "last %llu of %llu traced events (seed %llu, trace hash %016llx):\n",
                  (unsigned long long)n, (unsigned long long)sim->ring_next,
                  (unsigned long long)sim->cfg.seed, (unsigned long long)sim->trace_hash);
    for (uint64_t i = sim->ring_next - n; i < sim->ring_next; i++)
        line(&sim->ring[i % RING_SIZE], out);
    fl_buf_printf(out, "nodes now:\n");
    for (uint32_t i = 0; i < sim->cfg.nodes; i++) {
        const sim_node *nd = &sim->nodes[i];
        static const char *const st[] = {"down", "up", "paused"};
        char desc[RING_DESC];
        describe_into((fl_sim *)sim, nd->id, desc, sizeof(desc));
        fl_buf_printf(out, "  node %-2u %-6s %s%s%s\n", nd->id, st[nd->state], desc,
                      nd->reason[0] ? "  reason: " : "", nd->reason);
    }
}

void fl_sim_trace_tail_text(const fl_sim *sim, char *out, size_t out_size)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_sim_trace_tail(sim, &b);
    const char *text = b.data ? (const char *)b.data : "";
    size_t keep = b.len;
    if (keep >= out_size) { /* whole lines only, and a last one that says so */
        size_t lines = 0;
        keep = out_size > 64 ? out_size - 64 : 0;
        while (keep && text[keep - 1] != '\n')
            keep--;
        for (size_t i = keep; i < b.len; i++)
            lines += text[i] == '\n';
        snprintf(out, out_size, "%.*s(%zu more lines left out)\n", (int)keep, text, lines);
    } else {
        memcpy(out, text, keep);
        out[keep] = 0;
    }
    fl_buf_free(&b);
}

static void assert_hook(void *arg)
{
    const fl_sim *sim = arg;
    fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "simulation failed at %llu ns, event %llu, seed %llu\n",
                  (unsigned long long)sim->now, (unsigned long long)sim->stats.events,
                  (unsigned long long)sim->cfg.seed);
    fl_sim_trace_tail(sim, &b);
    if (b.data)
        fwrite(b.data, 1, b.len, stderr);
    fl_buf_free(&b);
}

void fl_sim_install_assert_hook(fl_sim *sim)
{
    fl_assert_set_hook(assert_hook, sim);
}
