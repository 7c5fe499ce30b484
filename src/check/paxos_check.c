/* paxos_check.c: cluster-wide Multi-Paxos safety checks (paxos_check.h). Cost per step:
 * O(slots in the step's persist request + slots newly durable, learned or applied + messages
 * sent), so it runs after every step of every node.
 *
 * Chosen is judged from durable acceptances alone, independently of what any node believes:
 * the table maps (slot, ballot) to the value accepted there and the set of nodes that hold
 * it durably; when that set reaches q2 the value is chosen at the slot. A second value
 * reaching q2 at the same slot (at any ballot) is an agreement violation. */
#include "faultline/paxos_check.h"

#include "faultline/array.h"
#include "faultline/crc32c.h"
#include "faultline/error.h"
#include "faultline/rng.h"

#include <stdlib.h>
#include <string.h>

uint64_t fl_paxos_check_value_hash(uint8_t type, const uint8_t *data, uint32_t len)
{
    uint64_t h = fl_mix64(((uint64_t)type << 40) ^ ((uint64_t)len << 8));
    h = fl_mix64(h ^ fl_crc32c(0, data, len));
    return h ? h : 1;
}

static uint64_t entry_hash(const fl_paxos_entry *e)
{
    return fl_paxos_check_value_hash(e->type, e->data, e->len);
}

int fl_paxos_checker_init(fl_paxos_checker *ch, uint32_t n_nodes, uint32_t q2)
{
    memset(ch, 0, sizeof(*ch));
    if (n_nodes < 1 || n_nodes > FL_PAXOS_CHECK_NODES_MAX || q2 < 1 || q2 > n_nodes)
        return FL_EINVAL;
    ch->n_nodes = n_nodes;
    ch->q2 = q2;
    ch->table_cap = 1024;
    ch->table = calloc(ch->table_cap, sizeof(*ch->table));
    ch->proposed_cap = 1024;
    ch->proposed = calloc(ch->proposed_cap, sizeof(*ch->proposed));
    if (!ch->table || !ch->proposed) {
        fl_paxos_checker_free(ch);
        return FL_ENOMEM;
    }
    return 0;
}

void fl_paxos_checker_free(fl_paxos_checker *ch)
{
    for (uint32_t i = 0; i < FL_PAXOS_CHECK_NODES_MAX; i++)
        free(ch->nodes[i].pending);
    free(ch->table);
    free(ch->chosen);
    free(ch->proposed);
    free(ch->reads);
    memset(ch, 0, sizeof(*ch));
}

uint64_t fl_paxos_checker_chosen(const fl_paxos_checker *ch, fl_index slot)
{
    return slot >= 1 && slot <= ch->chosen_cap ? ch->chosen[slot - 1] : 0;
}

/* ---- the proposed set and the (slot, ballot) table: open addressing, load <= 1/2 ------- */

static int proposed_add(fl_paxos_checker *ch, uint64_t h)
{
    if (ch->proposed_count * 2 >= ch->proposed_cap) {
        size_t cap = ch->proposed_cap * 2;
        uint64_t *s = calloc(cap, sizeof(*s)), *old = ch->proposed;
        if (!s)
            return FL_ENOMEM;
        for (size_t i = 0; i < ch->proposed_cap; i++) {
            if (!old[i])
                continue;
            size_t k = fl_mix64(old[i]) & (cap - 1);
            while (s[k])
                k = (k + 1) & (cap - 1);
            s[k] = old[i];
        }
        free(old);
        ch->proposed = s;
        ch->proposed_cap = cap;
    }
    size_t k = fl_mix64(h) & (ch->proposed_cap - 1);
    while (ch->proposed[k] && ch->proposed[k] != h)
        k = (k + 1) & (ch->proposed_cap - 1);
    if (!ch->proposed[k]) {
        ch->proposed[k] = h;
        ch->proposed_count++;
    }
    return 0;
}

static bool proposed_has(const fl_paxos_checker *ch, uint64_t h)
{
    size_t k = fl_mix64(h) & (ch->proposed_cap - 1);
    while (ch->proposed[k]) {
        if (ch->proposed[k] == h)
            return true;
        k = (k + 1) & (ch->proposed_cap - 1);
    }
    return false;
}

static size_t table_home(fl_index slot, fl_term ballot, size_t cap)
{
    return fl_mix64(slot * 1000003 + ballot) & (cap - 1);
}

static struct fl_paxos_check_slot *table_get(fl_paxos_checker *ch, fl_index slot, fl_term ballot)
{
    if (ch->table_count * 2 >= ch->table_cap) {
        size_t cap = ch->table_cap * 2;
        struct fl_paxos_check_slot *t = calloc(cap, sizeof(*t)), *old = ch->table;
        if (!t)
            return NULL;
        for (size_t i = 0; i < ch->table_cap; i++) {
            if (!old[i].slot)
                continue;
            size_t k = table_home(old[i].slot, old[i].ballot, cap);
            while (t[k].slot)
                k = (k + 1) & (cap - 1);
            t[k] = old[i];
        }
        free(old);
        ch->table = t;
        ch->table_cap = cap;
    }
    size_t k = table_home(slot, ballot, ch->table_cap);
    while (ch->table[k].slot && (ch->table[k].slot != slot || ch->table[k].ballot != ballot))
        k = (k + 1) & (ch->table_cap - 1);
    if (!ch->table[k].slot) {
        ch->table[k] = (struct fl_paxos_check_slot){slot, ballot, 0, 0};
        ch->table_count++;
    }
    return &ch->table[k];
}

/* ---- chosen ------------------------------------------------------------------------------ */

static int choose(fl_paxos_checker *ch, fl_index slot, uint64_t hash, fl_term ballot, fl_buf *why)
{
    if (fl_array_grow((void **)&ch->chosen, &ch->chosen_cap, (size_t)slot, sizeof(uint64_t)))
        return FL_ENOMEM;
    uint64_t *c = &ch->chosen[slot - 1];
    if (*c && *c != hash) {
        fl_buf_printf(why,
                      "agreement: slot %llu: a second value (%016llx) chosen at ballot %llu.%u "
                      "after %016llx",
                      (unsigned long long)slot, (unsigned long long)hash,
                      (unsigned long long)fl_paxos_ballot_round(ballot),
                      fl_paxos_ballot_owner(ballot), (unsigned long long)*c);
        return FL_ECORRUPT;
    }
    if (*c)
        return 0;
    uint64_t noop = fl_paxos_check_value_hash(FL_PAXOS_ENTRY_NOOP, NULL, 0);
    if (hash != noop && !proposed_has(ch, hash)) {
        fl_buf_printf(why, "validity: slot %llu: chosen value %016llx was never proposed",
                      (unsigned long long)slot, (unsigned long long)hash);
        return FL_ECORRUPT;
    }
    *c = hash;
    ch->slots_chosen++;
    while (ch->chosen_prefix < ch->chosen_cap && ch->chosen[ch->chosen_prefix])
        ch->chosen_prefix++;
    return 0;
}

/* One acceptance became durable at node index i. */
static int durable(fl_paxos_checker *ch, uint32_t i, const fl_paxos_check_acc *a, fl_buf *why)
{
    struct fl_paxos_check_slot *s = table_get(ch, a->slot, a->ballot);
    if (!s)
        return FL_ENOMEM;
    if (s->holders && s->hash != a->hash) {
        fl_buf_printf(why, "agreement: slot %llu ballot %llu.%u carries two values",
                      (unsigned long long)a->slot,
                      (unsigned long long)fl_paxos_ballot_round(a->ballot),
                      fl_paxos_ballot_owner(a->ballot));
        return FL_ECORRUPT;
    }
    s->hash = a->hash;
    s->holders |= 1u << i;
    if ((uint32_t)__builtin_popcount(s->holders) >= ch->q2)
        return choose(ch, a->slot, a->hash, a->ballot, why);
    return 0;
}

/* ---- per node ---------------------------------------------------------------------------- */

int fl_paxos_checker_node_start(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p, fl_buf *why)
{
    if (id < 1 || id > ch->n_nodes)
        return FL_EINVAL;
    fl_paxos_check_node *n = &ch->nodes[id - 1];
    n->n_pending = 0; /* what was not durable is gone */
    n->seq_durable = 0;
    n->commit = fl_paxos_commit_of(p);
    n->promised = fl_paxos_promised_of(p);
    if (n->promised < n->announced) {
        fl_buf_printf(why,
                      "promises: node %u restarted with promise %llu.%u below ballot %llu.%u "
                      "it had promised or accepted",
                      id, (unsigned long long)fl_paxos_ballot_round(n->promised),
                      fl_paxos_ballot_owner(n->promised),
                      (unsigned long long)fl_paxos_ballot_round(n->announced),
                      fl_paxos_ballot_owner(n->announced));
        return FL_ECORRUPT;
    }
    return 0;
}

int fl_paxos_checker_durable(const fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                             fl_buf *why)
{
    if (id < 1 || id > ch->n_nodes)
        return FL_EINVAL;
    fl_index snap = fl_paxos_snapshot_of(p)->index;
    for (size_t k = 0; k < ch->table_cap; k++) { /* O(table): once per restart */
        const struct fl_paxos_check_slot *t = &ch->table[k];
        if (!t->slot || !(t->holders >> (id - 1) & 1u) || t->slot <= snap)
            continue;
        const fl_paxos_entry *e = fl_paxos_entry_at(p, t->slot);
        if (e && e->type != FL_PAXOS_ENTRY_EMPTY && e->ballot >= t->ballot)
            continue;
        fl_buf_printf(why,
                      "durability: node %u restarted without slot %llu accepted at ballot "
                      "%llu.%u, which it had reported durable (log %llu..%llu, snapshot %llu)",
                      id, (unsigned long long)t->slot,
                      (unsigned long long)fl_paxos_ballot_round(t->ballot),
                      fl_paxos_ballot_owner(t->ballot), (unsigned long long)fl_paxos_first_index(p),
                      (unsigned long long)fl_paxos_last_index(p), (unsigned long long)snap);
        return FL_ECORRUPT;
    }
    return 0;
}

static int record_persist(fl_paxos_check_node *n, const fl_paxos_update *up)
{
    for (size_t i = 0; i < up->persist.n_entries; i++) {
        const fl_paxos_entry *e = &up->persist.entries[i];
        if (e->type == FL_PAXOS_ENTRY_EMPTY)
            continue;
        if (fl_array_grow((void **)&n->pending, &n->cap_pending, n->n_pending + 1,
                          sizeof(*n->pending)))
            return FL_ENOMEM;
        n->pending[n->n_pending++] = (fl_paxos_check_acc){
            up->persist.seq, up->persist.first_index + i, e->ballot, entry_hash(e)};
    }
    return 0;
}

static int settle_durable(fl_paxos_checker *ch, uint32_t i, const fl_paxos *p, fl_buf *why)
{
    fl_paxos_check_node *n = &ch->nodes[i];
    uint64_t seq = fl_paxos_seq_durable_of(p);
    if (seq <= n->seq_durable)
        return 0;
    n->seq_durable = seq;
    size_t kept = 0;
    for (size_t k = 0; k < n->n_pending; k++) {
        if (n->pending[k].seq > seq) {
            n->pending[kept++] = n->pending[k];
            continue;
        }
        int rc = durable(ch, i, &n->pending[k], why);
        if (rc)
            return rc;
    }
    n->n_pending = kept;
    return 0;
}

static int check_learned(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p, fl_buf *why)
{
    fl_paxos_check_node *n = &ch->nodes[id - 1];
    fl_index c = fl_paxos_commit_of(p);
    if (c < n->commit) {
        fl_buf_printf(why, "stability: node %u's chosen prefix went back from %llu to %llu", id,
                      (unsigned long long)n->commit, (unsigned long long)c);
        return FL_ECORRUPT;
    }
    for (fl_index s = n->commit + 1; s <= c; s++) {
        const fl_paxos_entry *e = fl_paxos_entry_at(p, s);
        if (!e)
            continue; /* in a snapshot being installed: its content is the host's to check */
        uint64_t want = fl_paxos_checker_chosen(ch, s);
        if (want != entry_hash(e)) {
            fl_buf_printf(why, "stability: node %u learned slot %llu as %016llx, chosen: %016llx",
                          id, (unsigned long long)s, (unsigned long long)entry_hash(e),
                          (unsigned long long)want);
            return FL_ECORRUPT;
        }
    }
    n->commit = c;
    if (c > ch->max_learned)
        ch->max_learned = c;
    return 0;
}

static int check_applied(fl_paxos_checker *ch, fl_node_id id, const fl_paxos_update *up,
                         fl_buf *why)
{
    for (size_t i = 0; i < up->n_apply; i++) {
        fl_index s = up->apply_first + i;
        if (fl_paxos_checker_chosen(ch, s) != entry_hash(&up->apply[i])) {
            fl_buf_printf(why, "stability: node %u applied slot %llu, not the chosen value", id,
                          (unsigned long long)s);
            return FL_ECORRUPT;
        }
    }
    return 0;
}

static int check_reads(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                       const fl_paxos_update *up, fl_buf *why)
{
    for (size_t i = 0; i < up->n_reads; i++) {
        const fl_paxos_read *r = &up->reads[i];
        for (size_t k = 0; k < ch->n_reads; k++) {
            struct fl_paxos_check_read *w = &ch->reads[k];
            if (w->node != id || w->ctx != r->ctx)
                continue;
            fl_index need = w->need;
            *w = ch->reads[--ch->n_reads];
            if (!r->ok)
                break;
            ch->reads_checked++;
            if (r->index < need || fl_paxos_applied_of(p) < r->index) {
                fl_buf_printf(why,
                              "reads: node %u served read %llu at slot %llu (applied %llu), "
                              "but slot %llu was learned chosen before the read arrived",
                              id, (unsigned long long)r->ctx, (unsigned long long)r->index,
                              (unsigned long long)fl_paxos_applied_of(p), (unsigned long long)need);
                return FL_ECORRUPT;
            }
            break;
        }
    }
    return 0;
}

static int record_event(fl_paxos_checker *ch, fl_node_id id, const fl_paxos_event *ev,
                        const fl_paxos_update *up)
{
    if (ev->type == FL_PAXOS_EV_PROPOSE && up->proposed_index)
        return proposed_add(ch, fl_paxos_check_value_hash(FL_PAXOS_ENTRY_NORMAL, ev->u.propose.data,
                                                          ev->u.propose.len));
    if (ev->type == FL_PAXOS_EV_READ) {
        if (fl_array_grow((void **)&ch->reads, &ch->cap_reads, ch->n_reads + 1, sizeof(*ch->reads)))
            return FL_ENOMEM;
        ch->reads[ch->n_reads++] =
            (struct fl_paxos_check_read){id, ev->u.read_ctx, ch->max_learned};
    }
    return 0;
}

static int check_promises(fl_paxos_check_node *n, fl_node_id id, const fl_paxos *p,
                          const fl_paxos_update *up, fl_buf *why)
{
    if (fl_paxos_promised_of(p) < n->promised) {
        fl_buf_printf(why, "promises: node %u's promised ballot decreased", id);
        return FL_ECORRUPT;
    }
    n->promised = fl_paxos_promised_of(p);
    for (size_t i = 0; i < up->n_msgs; i++) {
        const fl_paxos_msg *m = &fl_paxos_msgs_of(up)[i];
        bool ok = (m->type == FL_PAXOS_MSG_PROMISE && m->u.promise.ok) ||
                  (m->type == FL_PAXOS_MSG_ACCEPTED && m->u.accepted.ok);
        if (ok && m->ballot > n->announced)
            n->announced = m->ballot;
    }
    return 0;
}

int fl_paxos_checker_observe(fl_paxos_checker *ch, fl_node_id id, const fl_paxos *p,
                             const fl_paxos_event *ev, const fl_paxos_update *up, fl_buf *why)
{
    if (id < 1 || id > ch->n_nodes)
        return FL_EINVAL;
    fl_paxos_check_node *n = &ch->nodes[id - 1];
    int rc = record_event(ch, id, ev, up);
    if (!rc)
        rc = check_promises(n, id, p, up, why);
    if (!rc && up->persist.seq)
        rc = record_persist(n, up);
    if (!rc)
        rc = settle_durable(ch, id - 1, p, why);
    if (!rc)
        rc = check_learned(ch, id, p, why);
    if (!rc)
        rc = check_applied(ch, id, up, why);
    if (!rc)
        rc = check_reads(ch, id, p, up, why);
    return rc;
}
