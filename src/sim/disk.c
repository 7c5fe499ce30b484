/* disk.c: each node's simulated disk: an append-only list of records, some durable.
 *
 * Records live back to back in one byte buffer (no allocation per record). A write appends an
 * unsynced record; a sync completes after a sampled latency, in call order, and makes durable
 * every record written before it was called (unless it was told to fail: then nothing changes
 * and the node hears FL_EIO; or to lie: nothing changes and the node hears success).
 *
 * At a crash the unsynced suffix is lost, or a random prefix of it survives; with probability
 * torn the last survivor is cut short (if none survives, a cut piece of the first unsynced
 * record: the write in progress). What survives is durable from then on.
 *
 * Invariants: durable <= count; records are contiguous: recs[i+1].off == recs[i].off +
 * recs[i].len and bytes.len == end of the last record; pending syncs complete in seq order. */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

int fl__disk_init(fl_sim *sim, sim_node *n)
{
    sim_disk *d = &n->disk;
    memset(d, 0, sizeof(*d));
    fl_buf_init(&d->bytes);
    d->latency = sim->cfg.disk_sync;
    return 0;
}

void fl__disk_free(sim_disk *d)
{
    fl_buf_free(&d->bytes);
    free(d->recs);
    free(d->syncs);
    memset(d, 0, sizeof(*d));
}

static sim_node *up_node(fl_sim *sim, fl_node_id id, const char *what)
{
    sim_node *n = fl__sim_node(sim, id, what);
    if (n && n->state == FL_SIM_NODE_DOWN) {
        fl__sim_fail(sim, "%s: node %u is down", what, id);
        return NULL;
    }
    return n;
}

static int recs_reserve(sim_disk *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = d->cap ? d->cap * 2 : 64;
    while (cap < need)
        cap *= 2;
    sim_rec *r = realloc(d->recs, cap * sizeof(*r));
    if (!r)
        return FL_ENOMEM;
    d->recs = r;
    d->cap = cap;
    return 0;
}

int fl_sim_disk_write(fl_sim *sim, fl_node_id id, const void *rec, size_t len)
{
    sim_node *n = up_node(sim, id, "disk_write");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    sim_disk *d = &n->disk;
    if (len > sim->cfg.disk_bytes_max - d->bytes.len) {
        fl__sim_fail(sim, "disk_write: node %u disk full (disk_bytes_max %zu)", id,
                     sim->cfg.disk_bytes_max);
        return FL_EFULL;
    }
    int rc = recs_reserve(d, d->count + 1);
    if (rc || (rc = fl_buf_reserve(&d->bytes, len)))
        return rc;
    d->recs[d->count].off = d->bytes.len;
    d->recs[d->count].len = len;
    d->count++;
    fl_buf_put_bytes(&d->bytes, rec, len);
    sim->nodes[id - 1].st->disk_writes++;
    sim->nodes[id - 1].st->disk_bytes += len;
    return 0;
}

static int syncs_push(fl_sim *sim, sim_disk *d, const sim_sync *s)
{
    if (!d->syncs) {
        d->syncs = malloc(SYNCS_MAX * sizeof(*d->syncs));
        if (!d->syncs)
            return FL_ENOMEM;
    }
    if (d->syncs_count == SYNCS_MAX) {
        fl__sim_fail(sim, "disk_sync: more than %d pending syncs", SYNCS_MAX);
        return FL_EFULL;
    }
    d->syncs[(d->syncs_head + d->syncs_count) % SYNCS_MAX] = *s;
    d->syncs_count++;
    return 0;
}

int fl_sim_disk_sync(fl_sim *sim, fl_node_id id, uint64_t token)
{
    sim_node *n = up_node(sim, id, "disk_sync");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    sim_disk *d = &n->disk;
    sim_sync s = {.token = token, .seq = d->sync_seq + 1, .upto = d->count};
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE) {
        fl__sim_fail(sim, "disk_sync: event queue full (events_max %zu)", sim->cfg.events_max);
        return FL_EFULL;
    }
    int rc = syncs_push(sim, d, &s);
    if (rc) {
        fl__ev_release(sim, slot);
        return rc;
    }
    d->sync_seq++;
    sim_sync *queued = &d->syncs[(d->syncs_head + d->syncs_count - 1) % SYNCS_MAX];
    if (d->fail_next) {
        d->fail_next--;
        queued->fail = true;
    } else if (d->lie_next) {
        d->lie_next--;
        queued->lie = true;
    }
    fl_time_ns at = sim->now + fl_sim_dist_sample(&d->latency, &sim->disk_rng);
    if (at < d->sync_last_ns)
        at = d->sync_last_ns; /* syncs complete in order */
    d->sync_last_ns = at;
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_SYNC;
    e->node = id;
    e->from = FL_NODE_NONE;
    e->token = s.seq;
    e->epoch = n->epoch;
    return fl__ev_push(sim, at, slot);
}

static void call_synced(fl_sim *sim, sim_node *n, uint64_t token, int status)
{
    sim->stats.events++;
    if (sim->cfg.proto->synced) {
        sim->in_node = n->id;
        sim->cfg.proto->synced(n->obj, token, status);
        fl__sim_after_node_call(sim, n);
    }
    fl__trace(sim, EV_SYNC, n->id, FL_NODE_NONE, NULL, (size_t)token);
}

void fl__disk_sync_event(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    sim_node *n = &sim->nodes[e->node - 1];
    sim_disk *d = &n->disk;
    if (e->epoch != n->epoch || n->state == FL_SIM_NODE_DOWN) {
        fl__ev_release(sim, slot); /* the crash dropped it */
        return;
    }
    FL_ASSERT(d->syncs_count > 0);
    sim_sync s = d->syncs[d->syncs_head];
    FL_ASSERT(s.seq == e->token);
    d->syncs_head = (d->syncs_head + 1) % SYNCS_MAX;
    d->syncs_count--;
    int status = 0;
    if (s.fail) {
        status = FL_EIO;
        sim->nodes[n->id - 1].st->fsync_failures++;
    } else if (s.lie) {
        sim->nodes[n->id - 1].st->fsyncs++; /* it claims success; nothing became durable */
    } else {
        size_t upto = s.upto < d->count ? s.upto : d->count;
        if (upto > d->durable)
            d->durable = upto;
        sim->nodes[n->id - 1].st->fsyncs++;
    }
    e->kind = EV_SYNCED; /* the disk is done; the process hears it now or when it can */
    e->token = s.token;
    e->status = status;
    fl__disk_synced_event(sim, slot);
}

void fl__disk_synced_event(fl_sim *sim, uint32_t slot)
{
    sim_ev *e = &sim->ev[slot];
    sim_node *n = &sim->nodes[e->node - 1];
    uint64_t token = e->token;
    int status = e->status;
    if (e->epoch != n->epoch || n->state == FL_SIM_NODE_DOWN) {
        fl__ev_release(sim, slot); /* the crash dropped it */
        return;
    }
    if (fl__node_hold(sim, n, slot))
        return;
    fl__ev_release(sim, slot);
    call_synced(sim, n, token, status);
}

/* Truncates the disk to its first count records, the last one cut to last_len bytes. */
static void truncate_to(sim_disk *d, size_t count, size_t last_len)
{
    FL_ASSERT(count <= d->count);
    if (count > 0) {
        FL_ASSERT(last_len <= d->recs[count - 1].len);
        d->recs[count - 1].len = last_len;
        d->bytes.len = d->recs[count - 1].off + last_len;
    } else {
        d->bytes.len = 0;
    }
    d->count = count;
}

void fl__disk_crash(fl_sim *sim, sim_node *n)
{
    sim_disk *d = &n->disk;
    size_t unsynced = d->count - d->durable;
    size_t keep = 0;
    bool tear = false;
    if (unsynced && sim->cfg.crash_mode == FL_SIM_CRASH_RANDOM_PREFIX)
        keep = (size_t)fl_rng_range(&sim->disk_rng, 0, unsynced);
    if (unsynced && sim->cfg.torn > 0 && fl_rng_chance(&sim->disk_rng, sim->cfg.torn)) {
        tear = true; /* the write in progress: in LOSE_UNSYNCED mode, a piece of the first */
        if (keep == 0)
            keep = 1;
    }
    size_t count = d->durable + keep;
    size_t last_len = count ? d->recs[count - 1].len : 0;
    if (tear)
        last_len = last_len ? (size_t)fl_rng_below(&sim->disk_rng, last_len) : 0;
    truncate_to(d, count, last_len);
    d->durable = d->count;
    d->syncs_head = d->syncs_count = 0;
    d->sync_last_ns = 0;
}

size_t fl_sim_disk_count(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return sim->nodes[id - 1].disk.count;
}

int fl_sim_disk_records(const fl_sim *sim, fl_node_id id, fl_sim_record_fn fn, void *arg)
{
    if (id == 0 || id > sim->cfg.nodes)
        return FL_EINVAL;
    const sim_disk *d = &sim->nodes[id - 1].disk;
    for (size_t i = 0; i < d->count; i++) {
        int rc = fn(arg, i, d->bytes.data + d->recs[i].off, d->recs[i].len);
        if (rc)
            return rc;
    }
    return 0;
}

size_t fl_sim_disk_durable(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return sim->nodes[id - 1].disk.durable;
}

int fl_sim_disk_record(const fl_sim *sim, fl_node_id id, size_t i, const uint8_t **data,
                       size_t *len)
{
    if (id == 0 || id > sim->cfg.nodes || i >= sim->nodes[id - 1].disk.count)
        return FL_EINVAL;
    const sim_disk *d = &sim->nodes[id - 1].disk;
    *data = d->bytes.data + d->recs[i].off;
    *len = d->recs[i].len;
    return 0;
}

static int replace_into(sim_disk *d, const fl_sim_record *recs, size_t n, size_t total)
{
    fl_buf bytes;
    fl_buf_init(&bytes);
    sim_rec *r = malloc((n ? n : 1) * sizeof(*r));
    if (!r || fl_buf_reserve(&bytes, total ? total : 1)) {
        free(r);
        fl_buf_free(&bytes);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        r[i].off = bytes.len;
        r[i].len = recs[i].len;
        fl_buf_put_bytes(&bytes, recs[i].data, recs[i].len);
    }
    fl_buf_free(&d->bytes);
    free(d->recs);
    d->bytes = bytes;
    d->recs = r;
    d->count = d->durable = n;
    d->cap = n ? n : 1;
    return 0;
}

int fl_sim_disk_replace(fl_sim *sim, fl_node_id id, const fl_sim_record *recs, size_t n)
{
    sim_node *node = up_node(sim, id, "disk_replace");
    if (!node)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].len > sim->cfg.disk_bytes_max - total) {
            fl__sim_fail(sim, "disk_replace: node %u: over disk_bytes_max %zu", id,
                         sim->cfg.disk_bytes_max);
            return FL_EFULL;
        }
        total += recs[i].len;
    }
    sim_disk *d = &node->disk;
    int rc = replace_into(d, recs, n, total);
    if (rc)
        return rc;
    for (size_t i = 0; i < d->syncs_count; i++)
        d->syncs[(d->syncs_head + i) % SYNCS_MAX].upto = 0; /* they covered the old records */
    sim->nodes[id - 1].st->disk_writes += n;
    sim->nodes[id - 1].st->disk_bytes += total;
    return 0;
}

int fl_sim_disk_truncate(fl_sim *sim, fl_node_id id, size_t count)
{
    sim_node *n = up_node(sim, id, "disk_truncate");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    sim_disk *d = &n->disk;
    if (count > d->count)
        return fl__sim_fail(sim, "disk_truncate: node %u has %zu records, not %zu", id, d->count,
                            count);
    truncate_to(d, count, count ? d->recs[count - 1].len : 0);
    if (d->durable > count)
        d->durable = count;
    /* The cut is durable: what is left stays as durable as it was; pending syncs cover at most
     * the records that remain. */
    for (size_t i = 0; i < d->syncs_count; i++) {
        sim_sync *s = &d->syncs[(d->syncs_head + i) % SYNCS_MAX];
        if (s->upto > count)
            s->upto = count;
    }
    return 0;
}

int fl_sim_disk_fail_next_sync(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_fail_next_sync");
    if (!n)
        return FL_EINVAL;
    n->disk.fail_next++;
    return 0;
}

int fl_sim_disk_lie_next_sync(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_lie_next_sync");
    if (!n)
        return FL_EINVAL;
    n->disk.lie_next++;
    return 0;
}

int fl_sim_disk_set_latency(fl_sim *sim, fl_node_id id, const fl_sim_dist *dist)
{
    sim_node *n = fl__sim_node(sim, id, "disk_set_latency");
    if (!n)
        return FL_EINVAL;
    fl_buf why;
    fl_buf_init(&why);
    int rc = fl_sim_dist_check(dist, &why);
    if (rc)
        fl__sim_fail(sim, "disk_set_latency: %.*s", (int)why.len,
                     why.data ? (const char *)why.data : "");
    else
        n->disk.latency = *dist;
    fl_buf_free(&why);
    return rc;
}

int fl_sim_disk_corrupt(fl_sim *sim, fl_node_id id, size_t i, size_t byte, uint8_t mask)
{
    sim_node *n = fl__sim_node(sim, id, "disk_corrupt");
    if (!n)
        return FL_EINVAL;
    sim_disk *d = &n->disk;
    if (i >= d->durable || byte >= d->recs[i].len || mask == 0)
        return fl__sim_fail(
            sim, "disk_corrupt: node %u: no durable record %zu byte %zu (or mask 0)", id, i, byte);
    d->bytes.data[d->recs[i].off + byte] ^= mask;
    return 0;
}

int fl_sim_disk_corrupt_random(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_corrupt_random");
    if (!n)
        return FL_EINVAL;
    sim_disk *d = &n->disk;
    if (d->durable == 0)
        return FL_ENOTFOUND;
    size_t start = (size_t)fl_rng_below(&sim->disk_rng, d->durable);
    for (size_t k = 0; k < d->durable; k++) {
        size_t i = (start + k) % d->durable;
        if (d->recs[i].len == 0)
            continue;
        size_t byte = (size_t)fl_rng_below(&sim->disk_rng, d->recs[i].len);
        uint8_t mask = (uint8_t)(1u << fl_rng_below(&sim->disk_rng, 8));
        return fl_sim_disk_corrupt(sim, id, i, byte, mask);
    }
    return FL_ENOTFOUND;
}

int fl_sim_disk_drop_prefix(fl_sim *sim, fl_node_id id, size_t k)
{
    sim_node *n = up_node(sim, id, "disk_drop_prefix");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    sim_disk *d = &n->disk;
    if (k > d->durable) {
        fl__sim_fail(sim, "disk_drop_prefix: node %u: %zu records, only %zu durable", id, k,
                     d->durable);
        return FL_EINVAL;
    }
    if (k == 0)
        return 0;
    size_t cut = k < d->count ? d->recs[k].off : d->bytes.len;
    memmove(d->bytes.data, d->bytes.data + cut, d->bytes.len - cut);
    d->bytes.len -= cut;
    for (size_t i = k; i < d->count; i++) {
        d->recs[i - k].off = d->recs[i].off - cut;
        d->recs[i - k].len = d->recs[i].len;
    }
    d->count -= k;
    d->durable -= k;
    for (size_t i = 0; i < d->syncs_count; i++) {
        sim_sync *s = &d->syncs[(d->syncs_head + i) % SYNCS_MAX];
        s->upto = s->upto > k ? s->upto - k : 0; /* record numbers moved down by k */
    }
    return 0;
}
