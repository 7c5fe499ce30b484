/* run_kvcheck.c: the replicas' kv judged in every simulated run (run.h), beyond what the
 * linearizability checker's models can say: commands of every kind (expiry, transactions,
 * the data types) must leave every replica in the same state.
 *
 *   - replica agreement: at every applied index that is a multiple of DIGEST_EVERY, at every
 *     snapshot taken and at every snapshot restored, the node's kv digest (fl_kv_digest: the
 *     whole replicated state) is compared with the first one any node had at that index;
 *     each node's kv has a hash seed of its own, so a result or a state that depends on
 *     layout (not on the log) shows up as a difference;
 *   - invariants: fl_kv_invariants (tables, byte counts, sessions, every collection's
 *     structure) after every apply while the kv holds at most SMALL_STATE keys and sessions
 *     (the register and redis workloads), else at the sampled indexes and snapshots (the kv
 *     workload's 1000 keys: after every apply they would take 65% of the run's time);
 *   - snapshot round trip: every snapshot a node takes is restored into a scratch kv (with
 *     yet another hash seed) and must give the same digest.
 *
 * The first failure is kept and reported by the simulator's check after the event (a safety
 * violation that stops the run). Costs: a digest and the invariants are O(state), the
 * invariants rehashing every key (docs/simulator.md has the figures). Digests are kept in an
 * open-addressing table by index. */
#include "run_int.h"

#include "faultline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST_EVERY 64  /* applied entries between sampled digests */
#define SMALL_STATE  512 /* keys and sessions up to which invariants run after every apply */

typedef struct kvc_slot {
    fl_index index; /* 0 = empty */
    uint64_t digest;
    fl_node_id node; /* the first node that had it */
} kvc_slot;

struct run_kvcheck {
    kvc_slot *slots;
    size_t cap, count; /* cap a power of two, count < cap / 2 */
    char violation[256];
};

static void fail(run *rn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run *rn, const char *fmt, ...)
{
    run_kvcheck *k = rn->kvc;
    if (!k || k->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->violation, sizeof(k->violation), fmt, ap);
    va_end(ap);
}

static int grow(run_kvcheck *k)
{
    size_t cap = k->cap ? k->cap * 2 : 1024;
    kvc_slot *s = calloc(cap, sizeof(*s));
    if (!s)
        return FL_ENOMEM;
    for (size_t i = 0; i < k->cap; i++) {
        if (!k->slots[i].index)
            continue;
        size_t j = (size_t)fl_mix64(k->slots[i].index) & (cap - 1);
        while (s[j].index)
            j = (j + 1) & (cap - 1);
        s[j] = k->slots[i];
    }
    free(k->slots);
    k->slots = s;
    k->cap = cap;
    return 0;
}

/* The node's kv digest at index against the first one seen there. */
static void agree(run *rn, fl_node_id id, fl_index index, const char *when)
{
    run_kvcheck *k = rn->kvc;
    uint64_t d = fl_kv_digest(&rn->nodes[id].kv);
    if ((k->count + 1) * 2 > k->cap && grow(k))
        return; /* out of memory: this index goes unchecked */
    size_t j = (size_t)fl_mix64(index) & (k->cap - 1);
    while (k->slots[j].index && k->slots[j].index != index)
        j = (j + 1) & (k->cap - 1);
    kvc_slot *s = &k->slots[j];
    if (!s->index) {
        *s = (kvc_slot){index, d, id};
        k->count++;
    } else if (++rn->res->kv_digests_compared && s->digest != d) {
        fail(rn,
             "kv replica agreement: node %u's kv %s index %llu differs from node %u's at the "
             "same index (digest %016llx, not %016llx)",
             id, when, (unsigned long long)index, s->node, (unsigned long long)d,
             (unsigned long long)s->digest);
    }
}

void fl__kvcheck_applied(run *rn, fl_node_id id, fl_index index)
{
    fl_kv *kv = &rn->nodes[id].kv;
    if (!rn->kvc)
        return;
    bool sampled = index % DIGEST_EVERY == 0;
    bool small = fl_kv_key_count(kv) + fl_kv_session_count(kv) <= SMALL_STATE;
    rn->res->kv_invariant_checks += small || sampled;
    if ((small || sampled) && !fl_kv_invariants(kv))
        fail(rn, "kv invariants: node %u's kv after applying index %llu", id,
             (unsigned long long)index);
    if (sampled)
        agree(rn, id, index, "after applying");
}

void fl__kvcheck_snapshot(run *rn, fl_node_id id, const uint8_t *bytes, size_t len)
{
    fl_kv *kv = &rn->nodes[id].kv;
    if (!rn->kvc)
        return;
    fl_index index = fl_kv_applied_index(kv);
    if (!fl_kv_invariants(kv))
        fail(rn, "kv invariants: node %u's kv at its snapshot of index %llu", id,
             (unsigned long long)index);
    agree(rn, id, index, "at its snapshot of");
    fl_kv_config cfg = kv->config;
    cfg.hash_seed = fl_mix64(cfg.hash_seed ^ 0x5A97);
    fl_kv copy;
    rn->res->kv_snapshots_checked++;
    int rc = fl_kv_init(&copy, &cfg);
    if (!rc)
        rc = fl_kv_restore(&copy, bytes, len);
    if (rc || fl_kv_digest(&copy) != fl_kv_digest(kv) || !fl_kv_invariants(&copy))
        fail(rn,
             "kv snapshot: node %u's snapshot at index %llu does not restore to its state "
             "(%s)",
             id, (unsigned long long)index, rc ? fl_strerror(rc) : "another digest");
    fl_kv_close(&copy);
}

void fl__kvcheck_restored(run *rn, fl_node_id id, fl_index index)
{
    if (!rn->kvc)
        return;
    if (!fl_kv_invariants(&rn->nodes[id].kv))
        fail(rn, "kv invariants: node %u's kv restored at index %llu", id,
             (unsigned long long)index);
    agree(rn, id, index, "restored at");
}

static int check(void *arg, fl_sim *sim, fl_buf *why)
{
    run *rn = arg;
    (void)sim;
    if (!rn->kvc->violation[0])
        return 0;
    fl_buf_put_str(why, rn->kvc->violation);
    return 1;
}

int fl__kvcheck_init(run *rn)
{
    rn->kvc = calloc(1, sizeof(*rn->kvc));
    if (!rn->kvc || grow(rn->kvc))
        return FL_ENOMEM;
    return fl_sim_add_check(rn->sim, check, rn);
}

void fl__kvcheck_free(run *rn)
{
    if (rn->kvc)
        free(rn->kvc->slots);
    free(rn->kvc);
    rn->kvc = NULL;
}

void fl__kvcheck_config(run *rn, fl_node_id id, fl_kv_config *cfg)
{
    run_node *n = &rn->nodes[id];
    fl_kv_config_default(cfg);
    /* a seed of its own per node and per life: layout must never decide anything */
    cfg->hash_seed = fl_mix64(rn->cfg->seed ^ ((uint64_t)id << 32) ^ ++n->lives);
    cfg->mutants = rn->cfg->kv_mutants;
}
