/* bcast.c: the dissemination queue. Pending updates (membership items and user broadcasts)
 * sit in bucket lists by transmit count; a packet takes the least-sent first (oldest first
 * within a count), and an item sent retransmit-limit times leaves the queue. At most one
 * update per member is queued (a newer one replaces it, sent 0 times). The queue is bounded
 * by bcast_max (a full queue evicts the most-sent entry) and user payloads by user_max slots.
 * Cost: put O(log N) (member lookup), fill O(items examined). */
#include "swim_int.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <stdlib.h>
#include <string.h>

int fl__bq_init(fl_swim *s)
{
    s->bucket_head = malloc(BUCKETS_MAX * sizeof(uint32_t));
    s->bucket_tail = malloc(BUCKETS_MAX * sizeof(uint32_t));
    if (!s->bucket_head || !s->bucket_tail)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < BUCKETS_MAX; i++)
        s->bucket_head[i] = s->bucket_tail[i] = IDX_NONE;
    s->bq_free = IDX_NONE;
    return 0;
}

void fl__bq_free(fl_swim *s)
{
    free(s->bucket_head);
    free(s->bucket_tail);
    free(s->bq);
    free(s->user_pool);
    free(s->user_free);
    free(s->seen);
}

static void unlink_entry(fl_swim *s, uint32_t i)
{
    swim_bcast *e = &s->bq[i];
    if (e->prev != IDX_NONE)
        s->bq[e->prev].next = e->next;
    else
        s->bucket_head[e->transmits] = e->next;
    if (e->next != IDX_NONE)
        s->bq[e->next].prev = e->prev;
    else
        s->bucket_tail[e->transmits] = e->prev;
    e->prev = e->next = IDX_NONE;
}

static void link_tail(fl_swim *s, uint32_t i)
{
    swim_bcast *e = &s->bq[i];
    FL_ASSERT(e->transmits < BUCKETS_MAX);
    e->next = IDX_NONE;
    e->prev = s->bucket_tail[e->transmits];
    if (e->prev != IDX_NONE)
        s->bq[e->prev].next = i;
    else
        s->bucket_head[e->transmits] = i;
    s->bucket_tail[e->transmits] = i;
}

static void release(fl_swim *s, uint32_t i)
{
    swim_bcast *e = &s->bq[i];
    unlink_entry(s, i);
    if (e->kind == FL_SWIM_ITEM_USER) {
        s->user_free[s->user_free_n++] = e->user_slot;
        s->user_count--;
    } else {
        swim_member *m = fl__swim_find(s, e->id);
        if (m && m->bq == i + 1)
            m->bq = 0;
    }
    e->used = false;
    e->next = s->bq_free;
    s->bq_free = i;
    s->bq_count--;
}

/* Evicts the most-sent entry of one kind: user broadcasts (user set) or membership updates.
 * User broadcasts have their own bound (user_max), so a flood of membership updates never
 * pushes them out. */
static bool evict_kind(fl_swim *s, bool user)
{
    for (int b = BUCKETS_MAX - 1; b >= 0; b--)
        for (uint32_t i = s->bucket_head[b]; i != IDX_NONE; i = s->bq[i].next)
            if (user == (s->bq[i].kind == FL_SWIM_ITEM_USER)) {
                release(s, i);
                s->stats.bcast_dropped++;
                return true;
            }
    return false;
}

static bool evict(fl_swim *s, bool user)
{
    return user ? evict_kind(s, true) : evict_kind(s, false) || evict_kind(s, true);
}

static uint32_t alloc_entry(fl_swim *s)
{
    if (s->bq_count == s->cfg.bcast_max && !evict(s, false))
        return IDX_NONE;
    if (s->bq_free == IDX_NONE) {
        uint32_t cap = s->bq_cap ? s->bq_cap * 2 : 64;
        if (cap > s->cfg.bcast_max)
            cap = s->cfg.bcast_max;
        swim_bcast *q = realloc(s->bq, (size_t)cap * sizeof(*q));
        if (!q)
            return IDX_NONE;
        s->bq = q;
        for (uint32_t i = cap; i > s->bq_cap; i--) {
            q[i - 1].used = false;
            q[i - 1].next = s->bq_free;
            s->bq_free = i - 1;
        }
        s->bq_cap = cap;
    }
    uint32_t i = s->bq_free;
    s->bq_free = s->bq[i].next;
    s->bq_count++;
    memset(&s->bq[i], 0, sizeof(s->bq[i]));
    s->bq[i].used = true;
    s->bq[i].prev = s->bq[i].next = IDX_NONE;
    return i;
}

static int user_slot(fl_swim *s, uint32_t *slot)
{
    if (!s->user_pool) {
        uint32_t n = s->cfg.user_max;
        s->user_pool = malloc((size_t)n * s->cfg.user_bytes_max);
        s->user_free = malloc((size_t)n * sizeof(uint32_t));
        if (!s->user_pool || !s->user_free)
            return FL_ENOMEM;
        for (uint32_t i = 0; i < n; i++)
            s->user_free[i] = n - 1 - i;
        s->user_free_n = n;
    }
    if (s->user_free_n == 0 && !evict(s, true))
        return FL_EFULL;
    *slot = s->user_free[--s->user_free_n];
    s->user_count++;
    return 0;
}

void fl__bq_put(fl_swim *s, const fl_swim_item *it)
{
    swim_member *m = NULL;
    if (it->kind != FL_SWIM_ITEM_USER) {
        m = fl__swim_find(s, it->id);
        if (m && m->bq) { /* replace the older update about the same member */
            release(s, m->bq - 1u);
            m = fl__swim_find(s, it->id);
        }
    }
    uint32_t uslot = 0;
    if (it->kind == FL_SWIM_ITEM_USER && user_slot(s, &uslot))
        return;
    uint32_t i = alloc_entry(s);
    if (i == IDX_NONE) {
        if (it->kind == FL_SWIM_ITEM_USER) {
            s->user_free[s->user_free_n++] = uslot;
            s->user_count--;
        }
        s->stats.bcast_dropped++;
        return;
    }
    m = it->kind == FL_SWIM_ITEM_USER ? NULL : fl__swim_find(s, it->id); /* eviction may move */
    swim_bcast *e = &s->bq[i];
    e->kind = it->kind;
    e->id = it->id;
    e->inc = it->inc;
    e->from = it->from;
    if (it->kind == FL_SWIM_ITEM_USER) {
        FL_ASSERT(it->len <= s->cfg.user_bytes_max);
        e->user_slot = uslot;
        e->len = it->len;
        memcpy(s->user_pool + (size_t)uslot * s->cfg.user_bytes_max, it->data, it->len);
    } else if (m) {
        m->bq = (uint16_t)(i + 1);
    }
    link_tail(s, i);
}

/* The item as sent: ALIVE about a member the environment can reach goes out as ALIVE_AT, with
 * room for its address (filled in by the environment), so the address travels with the news. */
static fl_swim_item item_of(const fl_swim *s, const swim_bcast *e)
{
    fl_swim_item it = {.kind = e->kind, .id = e->id, .inc = e->inc, .from = e->from};
    if (e->kind == FL_SWIM_ITEM_USER) {
        it.data = s->user_pool + (size_t)e->user_slot * s->cfg.user_bytes_max;
        it.len = e->len;
    } else if (e->kind == FL_SWIM_ITEM_ALIVE) {
        const swim_member *m = fl__swim_find(s, e->id);
        if (m && (m->flags & MF_ADDR)) {
            it.kind = FL_SWIM_ITEM_ALIVE_AT;
            it.len = (uint16_t)s->cfg.addr_bytes;
        }
    }
    return it;
}

typedef struct fill_state {
    size_t head;
    uint32_t chosen[FL_SWIM_ITEMS_MAX];
    uint32_t n;
    uint32_t count; /* items in the packet, ours included */
    size_t used;
} fill_state;

#define ITEM_BYTES_MIN 9 /* the smallest item (ALIVE, LEFT) */

/* Least-sent first, oldest first within a count, while items fit in room bytes. */
static void take(fl_swim *s, fill_state *f, size_t room, bool user_only)
{
    for (uint32_t b = 0; b < BUCKETS_MAX; b++)
        for (uint32_t i = s->bucket_head[b]; i != IDX_NONE; i = s->bq[i].next) {
            if (f->count == FL_SWIM_ITEMS_MAX || f->used + ITEM_BYTES_MIN > room)
                return;
            swim_bcast *e = &s->bq[i];
            if (e->picked || (user_only && e->kind != FL_SWIM_ITEM_USER))
                continue;
            fl_swim_item it = item_of(s, e);
            size_t sz = fl_swim_item_bytes(&it);
            if (f->used + sz > room)
                continue;
            fl_swim_encode_item(&s->out, f->head, &it);
            f->used += sz;
            f->count++;
            e->picked = true;
            f->chosen[f->n++] = i;
        }
}

size_t fl__bq_fill(fl_swim *s, size_t head, size_t room)
{
    fill_state f = {.head = head, .n = 0, .used = 0};
    f.count = s->out.data ? s->out.data[head + 3] : 0;
    /* user broadcasts get a quarter of the room first, so a storm of membership updates
     * (heavy loss: suspicions and refutations) cannot starve them */
    if (s->user_count > 0)
        take(s, &f, room / 4, true);
    take(s, &f, room, false);
    uint32_t limit = fl_swim_retransmit_limit(&s->cfg, s->n_live);
    s->stats.updates_sent += f.n;
    for (uint32_t c = 0; c < f.n; c++) {
        uint32_t i = f.chosen[c];
        s->bq[i].picked = false;
        unlink_entry(s, i);
        s->bq[i].transmits++;
        if (s->bq[i].transmits >= limit || s->bq[i].transmits >= BUCKETS_MAX - 1) {
            s->bq[i].transmits--; /* release unlinks from the list it is (not) in */
            link_tail(s, i);
            release(s, i);
        } else {
            link_tail(s, i);
        }
    }
    return f.used;
}

bool fl__seen(fl_swim *s, fl_node_id origin, uint32_t seq)
{
    uint64_t key = (uint64_t)origin << 32 | seq;
    if (!s->seen && !(s->seen = calloc(s->cfg.seen_max, sizeof(uint64_t))))
        return true; /* cannot remember it: do not deliver (no duplicates either) */
    uint32_t n = s->seen_n;
    for (uint32_t i = 0; i < n; i++)
        if (s->seen[i] == key)
            return true;
    s->seen[s->seen_next] = key;
    s->seen_next = (s->seen_next + 1) % s->cfg.seen_max;
    if (s->seen_n < s->cfg.seen_max)
        s->seen_n++;
    return false;
}
