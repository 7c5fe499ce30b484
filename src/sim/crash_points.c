/* crash_points.c: crash-point testing of the Raft store on the simulated disk
 * (crash_points.h).
 *
 * The model: states[k] is the durable state the store must hold after persist request k
 * (hard state, and the log as entry tags term << 32 | request; entry data is the tag's 8
 * bytes), states[0] the empty disk. A reopened store's recovered state becomes a state of its
 * own. acked is the last state the store reported synced (a finished sync job, or what a
 * reopen recovered): a recovery must match some state in [acked, now]. */
#include "faultline/crash_points.h"

#include "faultline/assert.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/raft.h"
#include "faultline/raft_store.h"
#include "faultline/simdisk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVES_MAX    16
#define REQUESTS_MAX 200
#define STATES_MAX   (LIVES_MAX * (REQUESTS_MAX + 1) + 2)

typedef struct mstate {
    fl_term term;
    fl_node_id vote;
    fl_index last;
    uint64_t *e; /* e[1..last] */
} mstate;

typedef struct crash_run {
    const fl_crash_config *cfg;
    fl_crash_result *res;
    fl_simdisk *disk;
    fl_raft_store store;
    fl_rng rng, crash_rng;
    mstate *states;
    size_t n_states; /* states[n_states - 1] is the current one */
    size_t acked;    /* states[acked]: what the store reported synced (or recovered) */
    size_t covered;  /* the running job covers the requests up to this state */
    fl_index snap;   /* the latest snapshot index (truncations stay above it) */
    bool in_job;     /* a sync job is being started: its syncs stay pending */
    bool job_done;   /* the job's end completed: sync_finish is due */
} crash_run;

static void violation(crash_run *cr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(crash_run *cr, const char *fmt, ...)
{
    if (cr->res->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cr->res->reason, sizeof(cr->res->reason), fmt, ap);
        va_end(ap);
    }
    cr->res->violation = true;
}

/* A new state, a copy of the current one with room for three more entries. */
static mstate *push_state(crash_run *cr)
{
    FL_ASSERT(cr->n_states < STATES_MAX);
    mstate *s = &cr->states[cr->n_states++];
    const mstate *p = s - 1;
    *s = *p;
    s->e = malloc((p->last + 4) * sizeof(uint64_t));
    FL_ASSERT(s->e != NULL); /* the test's own memory: bounded by STATES_MAX */
    memcpy(s->e, p->e, (p->last + 1) * sizeof(uint64_t));
    return s;
}

/* ---- checking a recovery --------------------------------------------------------------- */

static bool matches(const mstate *s, const fl_raft_durable *d)
{
    if (d->term != s->term || d->vote != s->vote || d->first_index + d->n_entries - 1 != s->last)
        return false;
    const fl_raft_snapshot_meta *sn = d->snapshot;
    if (sn && sn->index && (sn->index > s->last || sn->term != s->e[sn->index] >> 32))
        return false;
    for (size_t i = 0; i < d->n_entries; i++) {
        const fl_raft_entry *e = &d->entries[i];
        uint64_t want = s->e[d->first_index + i];
        if (e->term != want >> 32 || e->len != 8 || fl_get_u64le(e->data) != want)
            return false;
    }
    return true;
}

static bool at_or_after_acked(const crash_run *cr, const fl_raft_durable *d)
{
    for (size_t k = cr->acked; k < cr->n_states; k++)
        if (matches(&cr->states[k], d))
            return true;
    return false;
}

static void not_a_state(crash_run *cr, const char *where, const fl_raft_durable *d)
{
    const mstate *a = &cr->states[cr->acked];
    violation(cr,
              "%s: recovered term %llu vote %u log %llu..%llu, not a state at or after the synced "
              "one (term %llu vote %u last %llu)",
              where, (unsigned long long)d->term, d->vote, (unsigned long long)d->first_index,
              (unsigned long long)(d->first_index + d->n_entries - 1), (unsigned long long)a->term,
              a->vote, (unsigned long long)a->last);
}

static fl_raft_store_opts store_opts(const crash_run *cr)
{
    /* zeros ahead of the WAL's records (docs/wal.md): every fill and every record written
     * over zeros is a crash point too */
    return (fl_raft_store_opts){.segment_size_max = cr->cfg->segment_bytes,
                                .wal_prefill = 256,
                                .mutants = cr->cfg->mutants};
}

/* Crashes a copy of the disk and recovers it. */
static void crash_and_recover(crash_run *cr, fl_simdisk_crash_mode mode, double torn,
                              const char *where)
{
    fl_simdisk *copy = fl_simdisk_clone(cr->disk);
    FL_ASSERT(copy != NULL);
    uint64_t holes = fl_simdisk_untrusted(copy);
    fl_simdisk_crash(copy, mode, torn, &cr->crash_rng);
    fl_raft_store s;
    fl_errmsg m;
    fl_raft_store_opts o = store_opts(cr);
    int rc = fl_raft_store_open_fs(&s, fl_simdisk_fs(copy), &o, &m);
    cr->res->recoveries++;
    if (rc) {
        bool named =
            (strstr(m.text, "wal-") && strstr(m.text, "offset")) || strstr(m.text, "snapshot");
        if (rc == FL_ECORRUPT && named && fl_simdisk_untrusted(copy) != holes)
            cr->res->refusals++; /* a hole where a reordered write was lost: refusing is safe */
        else
            violation(cr, "%s: recovery refused (%s): %s", where, fl_strerror(rc), m.text);
    } else {
        fl_raft_durable d;
        fl_raft_store_durable(&s, &d);
        if (!at_or_after_acked(cr, &d))
            not_a_state(cr, where, &d);
        fl_raft_store_close(&s);
    }
    fl_simdisk_free(copy);
}

/* Before every disk operation: the disk as it is now, crashed three ways. */
static void before_op(void *arg, fl_simdisk *d, fl_simdisk_op op)
{
    crash_run *cr = arg;
    (void)d;
    char where[80];
    snprintf(where, sizeof(where), "seed %llu, boundary %llu (before op %d)",
             (unsigned long long)cr->cfg->seed, (unsigned long long)cr->res->boundaries++, (int)op);
    crash_and_recover(cr, FL_SIMDISK_LOSE_UNSYNCED, 0, where);
    crash_and_recover(cr, FL_SIMDISK_RANDOM_PREFIX, fl_rng_chance(&cr->crash_rng, 0.5), where);
    crash_and_recover(cr, FL_SIMDISK_RANDOM_SUBSET, fl_rng_chance(&cr->crash_rng, 0.5), where);
}

/* ---- the workload ------------------------------------------------------------------------ */

static void complete_all(crash_run *cr)
{
    bool notify;
    uint64_t token;
    int status;
    while (fl_simdisk_complete(cr->disk, &notify, &token, &status))
        cr->job_done |= notify && token == FL_FS_JOB_TOKEN;
}

/* A sync outside a job blocks its caller until done (it completes the earlier ones, in
 * order, too); a job's waits for the workload to complete it. */
static int sync_queued(void *arg, fl_simdisk *d, uint64_t seq)
{
    crash_run *cr = arg;
    (void)d, (void)seq;
    if (!cr->in_job)
        complete_all(cr);
    return 0;
}

static void start_job(crash_run *cr)
{
    if (cr->store.syncing || cr->covered == cr->n_states - 1)
        return;
    cr->covered = cr->n_states - 1;
    cr->in_job = true;
    int rc = fl_raft_store_sync_start(&cr->store);
    cr->in_job = false;
    if (rc)
        violation(cr, "a sync job did not start: %s", fl_strerror(rc));
}

/* With probability p, completes the pending syncs (the job's among them). */
static void maybe_complete(crash_run *cr, double p)
{
    if (!fl_rng_chance(&cr->rng, p))
        return;
    complete_all(cr);
    if (!cr->job_done)
        return;
    cr->job_done = false;
    fl_errmsg m;
    if (fl_raft_store_sync_finish(&cr->store, &m))
        violation(cr, "a sync job failed: %s", m.text);
    cr->acked = cr->covered; /* reported synced: recovery never goes below it */
    start_job(cr);
}

/* The next persist request: appends, a new term and vote, or a truncation above the
 * snapshot. */
static void request(crash_run *cr)
{
    mstate *s = push_state(cr);
    size_t req = cr->n_states - 1;
    fl_raft_update up = {0};
    up.persist.seq = req;
    fl_index first = s->last + 1;
    uint32_t kind = s->term ? (uint32_t)fl_rng_below(&cr->rng, 100) : 60; /* terms start at 1 */
    if (kind >= 60) {
        s->term++;
        s->vote = (fl_node_id)fl_rng_below(&cr->rng, 4);
        up.persist.hard_state = true;
        if (kind >= 85 && s->last > cr->snap)
            first = fl_rng_range(&cr->rng, cr->snap + 1, s->last);
    }
    size_t n = kind < 60 ? 1 + fl_rng_below(&cr->rng, 3) : fl_rng_below(&cr->rng, 3);
    fl_raft_entry ents[3];
    uint8_t data[3][8];
    for (size_t i = 0; i < n; i++) {
        uint64_t tag = (uint64_t)s->term << 32 | req;
        fl_put_u64le(data[i], tag);
        ents[i] = (fl_raft_entry){{s->term}, FL_RAFT_ENTRY_NORMAL, 8, data[i]};
        s->e[first + i] = tag;
    }
    s->last = first + n - 1;
    up.persist.term = s->term;
    up.persist.vote = s->vote;
    up.persist.first_index = first;
    up.persist.n_entries = n;
    up.persist.entries = ents;
    int rc = fl_raft_store_append(&cr->store, &up.persist);
    if (rc)
        violation(cr, "append of request %zu failed: %s", req, fl_strerror(rc));
    cr->res->requests++;
}

/* A snapshot file at a random index, with the log after it (of the current state). */
static void snapshot(crash_run *cr)
{
    const mstate *s = &cr->states[cr->n_states - 1];
    if (s->last <= cr->snap)
        return;
    fl_index at = fl_rng_range(&cr->rng, cr->snap + 1, s->last);
    uint8_t state[16];
    fl_put_u64le(state, at);
    fl_put_u64le(state + 8, s->e[at]);
    fl_raft_snapshot_meta meta = {.index = at, .term = s->e[at] >> 32, .size = sizeof(state)};
    meta.crc = fl_crc32c(0, state, sizeof(state));
    meta.conf.n_voters = 1;
    meta.conf.voters[0] = 1;
    size_t n = (size_t)(s->last - at);
    fl_raft_entry *after = calloc(n + 1, sizeof(*after));
    uint8_t(*data)[8] = calloc(n + 1, 8);
    FL_ASSERT(after && data);
    for (size_t i = 0; i < n; i++) {
        uint64_t tag = s->e[at + 1 + i];
        fl_put_u64le(data[i], tag);
        after[i] = (fl_raft_entry){{(fl_term)(tag >> 32)}, FL_RAFT_ENTRY_NORMAL, 8, data[i]};
    }
    fl_errmsg m;
    if (fl_raft_store_save_snapshot(&cr->store, s->term, s->vote, &meta, state, n, after, &m))
        violation(cr, "a snapshot file was not written: %s", m.text);
    cr->snap = at;
    free(after);
    free(data);
}

/* Opens the store on the (crashed) disk: what it recovers must be a state at or after the
 * synced one, and becomes the current and the synced state (it is durable now). */
static int open_life(crash_run *cr)
{
    fl_errmsg m;
    fl_raft_store_opts o = store_opts(cr);
    int rc = fl_raft_store_open_fs(&cr->store, fl_simdisk_fs(cr->disk), &o, &m);
    if (rc) {
        violation(cr, "seed %llu, reopening: refused (%s): %s", (unsigned long long)cr->cfg->seed,
                  fl_strerror(rc), m.text);
        return rc;
    }
    fl_raft_durable d;
    fl_raft_store_durable(&cr->store, &d);
    if (!at_or_after_acked(cr, &d))
        not_a_state(cr, "reopening", &d);
    mstate *s = push_state(cr);
    if (d.first_index + d.n_entries + 3 > s->last + 4) {
        s->e = realloc(s->e, (d.first_index + d.n_entries + 3) * sizeof(uint64_t));
        FL_ASSERT(s->e != NULL);
    }
    s->term = d.term;
    s->vote = d.vote;
    s->last = d.first_index + d.n_entries - 1;
    for (size_t i = 0; i < d.n_entries; i++)
        s->e[d.first_index + i] = fl_get_u64le(d.entries[i].data);
    cr->snap = d.snapshot ? d.snapshot->index : 0;
    cr->acked = cr->covered = cr->n_states - 1;
    fl_raft_store_release(&cr->store);
    return 0;
}

static void one_life(crash_run *cr)
{
    for (uint32_t i = 0; i < cr->cfg->requests && !cr->res->violation; i++) {
        request(cr);
        start_job(cr);
        maybe_complete(cr, 0.4);
        if (fl_rng_chance(&cr->rng, 0.06))
            snapshot(cr);
    }
    if (fl_rng_chance(&cr->rng, 0.5))
        snapshot(cr); /* a crash right after a snapshot, records still staged */
    maybe_complete(cr, 0.3);
    fl_raft_store_close(&cr->store);
    fl_simdisk_crash(cr->disk, (fl_simdisk_crash_mode)fl_rng_below(&cr->rng, 3), 0.5,
                     &cr->crash_rng);
}

void fl_crash_config_default(fl_crash_config *c)
{
    *c = (fl_crash_config){.seed = 1, .lives = 4, .requests = 100, .segment_bytes = 512};
}

int fl_crash_points_run(const fl_crash_config *c, fl_crash_result *r)
{
    memset(r, 0, sizeof(*r));
    if (c->lives < 1 || c->lives > LIVES_MAX || c->requests < 1 || c->requests > REQUESTS_MAX)
        return FL_ECONFIG;
    crash_run cr = {.cfg = c, .res = r};
    fl_rng_seed(&cr.rng, c->seed);
    fl_rng_seed(&cr.crash_rng, c->seed ^ 0x5eedc4a5ull);
    cr.states = calloc(STATES_MAX, sizeof(*cr.states));
    fl_simdisk_hooks h = {.arg = &cr, .sync_queued = sync_queued, .before_op = before_op};
    cr.disk = fl_simdisk_new("crash points", (size_t)1 << 26, &h, NULL);
    if (cr.states)
        cr.states[0].e = calloc(4, sizeof(uint64_t));
    if (!cr.states || !cr.disk || !cr.states[0].e) {
        fl_simdisk_free(cr.disk);
        free(cr.states ? cr.states[0].e : NULL);
        free(cr.states);
        return FL_ENOMEM;
    }
    cr.n_states = 1;
    for (uint32_t life = 0; life < c->lives && !r->violation; life++)
        if (open_life(&cr) == 0)
            one_life(&cr);
    if (!r->violation && open_life(&cr) == 0) /* and the last life's end */
        fl_raft_store_close(&cr.store);
    fl_simdisk_free(cr.disk);
    for (size_t i = 0; i < cr.n_states; i++)
        free(cr.states[i].e);
    free(cr.states);
    return 0;
}
