/* disk.c: each node's simulated disk in the simulator: a simdisk (simdisk.h: files, a
 * directory, what a crash keeps) whose syncs complete after a latency drawn from the node's
 * sync distribution, in call order, as events; the file interface for storage code
 * (fl_sim_disk_fs) and the raw-record calls for protocols that write records themselves.
 *
 * Invariants: every pending sync of a node's simdisk has one EV_SYNC event of the node's
 * current epoch; their times never decrease (sync_last_ns). */
#include "sim_internal.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdio.h>
#include <string.h>

/* A sync was queued on node d's disk: its completion is an event after a sampled latency. */
static int sync_queued(void *arg, fl_simdisk *sd, uint64_t seq)
{
    sim_disk *d = arg;
    fl_sim *sim = d->sim;
    sim_node *n = &sim->nodes[d->id - 1];
    (void)sd;
    uint32_t slot = fl__ev_alloc(sim);
    if (slot == SLOT_NONE) {
        fl__sim_fail(sim, "disk sync: event queue full (events_max %zu)", sim->cfg.events_max);
        return FL_EFULL;
    }
    fl_time_ns at = sim->now + fl_sim_dist_sample(&d->latency, &sim->disk_rng);
    if (at < d->sync_last_ns)
        at = d->sync_last_ns; /* syncs complete in order */
    d->sync_last_ns = at;
    sim_ev *e = &sim->ev[slot];
    e->kind = EV_SYNC;
    e->node = d->id;
    e->from = FL_NODE_NONE;
    e->token = seq;
    e->epoch = n->epoch;
    return fl__ev_push(sim, at, slot);
}

int fl__disk_init(fl_sim *sim, sim_node *n)
{
    sim_disk *d = &n->disk;
    memset(d, 0, sizeof(*d));
    d->sim = sim;
    d->id = n->id;
    d->latency = sim->cfg.disk_sync;
    char where[32];
    snprintf(where, sizeof(where), "sim node %u", n->id);
    fl_simdisk_hooks h = {.arg = d, .sync_queued = sync_queued};
    d->sd = fl_simdisk_new(where, sim->cfg.disk_bytes_max, &h, n->st);
    return d->sd ? 0 : FL_ENOMEM;
}

void fl__disk_free(sim_disk *d)
{
    fl_simdisk_free(d->sd);
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
    if (e->epoch != n->epoch || n->state == FL_SIM_NODE_DOWN) {
        fl__ev_release(sim, slot); /* the crash dropped it */
        return;
    }
    bool notify = false;
    uint64_t token = 0;
    int status = 0;
    int done = fl_simdisk_complete(n->disk.sd, &notify, &token, &status);
    FL_ASSERT(done == 1); /* one event per pending sync */
    if (!notify) {
        fl__ev_release(sim, slot); /* the disk is done; nobody waits to hear it */
        return;
    }
    e->kind = EV_SYNCED; /* the disk is done; the process hears it now or when it can */
    e->token = token;
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

void fl__disk_crash(fl_sim *sim, sim_node *n)
{
    static const fl_simdisk_crash_mode modes[] = {
        [FL_SIM_CRASH_LOSE_UNSYNCED] = FL_SIMDISK_LOSE_UNSYNCED,
        [FL_SIM_CRASH_RANDOM_PREFIX] = FL_SIMDISK_RANDOM_PREFIX,
        [FL_SIM_CRASH_RANDOM_SUBSET] = FL_SIMDISK_RANDOM_SUBSET,
    };
    fl_simdisk_crash(n->disk.sd, modes[sim->cfg.crash_mode], sim->cfg.torn, &sim->disk_rng);
    n->disk.sync_last_ns = 0;
}

/* ---- the node's services ------------------------------------------------------------------ */

fl_fs *fl_sim_disk_fs(fl_sim *sim, fl_node_id id)
{
    sim_node *n = up_node(sim, id, "disk_fs");
    if (!n)
        return NULL;
    FL__SIM_SELF(sim, id);
    return fl_simdisk_fs(n->disk.sd);
}

int fl_sim_disk_write(fl_sim *sim, fl_node_id id, const void *rec, size_t len)
{
    sim_node *n = up_node(sim, id, "disk_write");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    int rc = fl_simdisk_record_write(n->disk.sd, rec, len);
    if (rc == FL_EFULL)
        fl__sim_fail(sim, "disk_write: node %u disk full (disk_bytes_max %zu)", id,
                     sim->cfg.disk_bytes_max);
    return rc;
}

int fl_sim_disk_sync(fl_sim *sim, fl_node_id id, uint64_t token)
{
    sim_node *n = up_node(sim, id, "disk_sync");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    return fl_simdisk_sync_notify(n->disk.sd, token);
}

size_t fl_sim_disk_count(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return fl_simdisk_record_count(sim->nodes[id - 1].disk.sd);
}

int fl_sim_disk_records(const fl_sim *sim, fl_node_id id, fl_sim_record_fn fn, void *arg)
{
    if (id == 0 || id > sim->cfg.nodes)
        return FL_EINVAL;
    const fl_simdisk *sd = sim->nodes[id - 1].disk.sd;
    for (size_t i = 0; i < fl_simdisk_record_count(sd); i++) {
        const uint8_t *p;
        size_t len;
        fl_simdisk_record(sd, i, &p, &len);
        int rc = fn(arg, i, p, len);
        if (rc)
            return rc;
    }
    return 0;
}

size_t fl_sim_disk_durable(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return fl_simdisk_record_durable(sim->nodes[id - 1].disk.sd);
}

size_t fl_sim_disk_bytes(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return fl_simdisk_bytes(sim->nodes[id - 1].disk.sd);
}

int fl_sim_disk_record(const fl_sim *sim, fl_node_id id, size_t i, const uint8_t **data,
                       size_t *len)
{
    if (id == 0 || id > sim->cfg.nodes)
        return FL_EINVAL;
    return fl_simdisk_record(sim->nodes[id - 1].disk.sd, i, data, len);
}

int fl_sim_disk_truncate(fl_sim *sim, fl_node_id id, size_t count)
{
    sim_node *n = up_node(sim, id, "disk_truncate");
    if (!n)
        return FL_EINVAL;
    FL__SIM_SELF(sim, id);
    if (count > fl_simdisk_record_count(n->disk.sd))
        return fl__sim_fail(sim, "disk_truncate: node %u has %zu records, not %zu", id,
                            fl_simdisk_record_count(n->disk.sd), count);
    return fl_simdisk_record_truncate(n->disk.sd, count);
}

/* ---- faults ------------------------------------------------------------------------------- */

int fl_sim_disk_fail_next_sync(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_fail_next_sync");
    if (!n)
        return FL_EINVAL;
    fl_simdisk_fail_next_sync(n->disk.sd);
    return 0;
}

int fl_sim_disk_lie_next_sync(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_lie_next_sync");
    if (!n)
        return FL_EINVAL;
    fl_simdisk_lie_next_sync(n->disk.sd);
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
    if (fl_simdisk_record_corrupt(n->disk.sd, i, byte, mask))
        return fl__sim_fail(
            sim, "disk_corrupt: node %u: no durable record %zu byte %zu (or mask 0)", id, i, byte);
    return 0;
}

int fl_sim_disk_corrupt_random(fl_sim *sim, fl_node_id id)
{
    sim_node *n = fl__sim_node(sim, id, "disk_corrupt_random");
    if (!n)
        return FL_EINVAL;
    return fl_simdisk_corrupt_random(n->disk.sd, &sim->disk_rng);
}

int fl_sim_disk_corrupt_file(fl_sim *sim, fl_node_id id, const char *name, uint64_t off,
                             uint8_t mask)
{
    sim_node *n = fl__sim_node(sim, id, "disk_corrupt_file");
    if (!n)
        return FL_EINVAL;
    if (fl_simdisk_corrupt_at(n->disk.sd, name, off, mask))
        return fl__sim_fail(sim, "disk_corrupt_file: node %u: no durable byte %llu of %s", id,
                            (unsigned long long)off, name);
    return 0;
}

uint64_t fl_sim_disk_untrusted(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return 0;
    return fl_simdisk_untrusted(sim->nodes[id - 1].disk.sd);
}

bool fl_sim_disk_split(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return false;
    return fl_simdisk_split(sim->nodes[id - 1].disk.sd);
}

bool fl_sim_disk_unlink_window(const fl_sim *sim, fl_node_id id)
{
    if (id == 0 || id > sim->cfg.nodes)
        return false;
    return fl_simdisk_unlink_window(sim->nodes[id - 1].disk.sd);
}
