/* update.c: membership updates of the SWIM core: the precedence rules of swim.h, suspicions
 * (Lifeguard's dynamic timeouts and confirmations), refutation, user deliveries and whether
 * the environment can reach a member (MF_ADDR). Cost: one member lookup per update; the
 * suspicion list is scanned linearly (it holds the members suspected right now). */
#include "swim_int.h"

#include "faultline/assert.h"

#include <stdlib.h>
#include <string.h>

void fl__swim_record_change(fl_swim *s, const swim_member *m, fl_swim_state old, bool added)
{
    if (s->n_changes == s->cap_changes) {
        size_t cap = s->cap_changes ? s->cap_changes * 2 : 64;
        fl_swim_change *c = realloc(s->changes, cap * sizeof(*c));
        FL_ASSERT(c != NULL);
        s->changes = c;
        s->cap_changes = cap;
    }
    s->changes[s->n_changes++] = (fl_swim_change){.id = m->id,
                                                  .incarnation = m->inc,
                                                  .state = (fl_swim_state)m->state,
                                                  .old_state = old,
                                                  .added = added};
}

bool fl__swim_is_seed(const fl_swim *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->cfg.n_seeds; i++)
        if (s->cfg.seeds[i] == id)
            return true;
    return false;
}

void fl__swim_set_addressed(fl_swim *s, fl_node_id id)
{
    swim_member *m = fl__swim_find(s, id);
    if (!m || (m->flags & MF_ADDR))
        return;
    m->flags |= MF_ADDR;
    s->stats.addressed_late++;
}

/* When a suspicion expires: its timeout stretched by the local health multiplier. Local health
 * awareness stretches this member's protocol period (and, under uniform loss, everyone's), so
 * refutations riding on probes arrive that much later; a timeout that did not stretch too
 * turned Lifeguard's slower probing into more false DEAD declarations at 30% loss than plain
 * SWIM (docs/swim.md, "Lifeguard under loss"). */
fl_time_ns fl__swim_susp_deadline(const fl_swim *s, const swim_susp *x)
{
    return x->start_ns + (x->deadline_ns - x->start_ns) * fl__swim_mult(s);
}

static swim_susp *susp_find(fl_swim *s, fl_node_id id)
{
    for (uint32_t i = 0; i < s->n_susp; i++)
        if (s->susp[i].id == id)
            return &s->susp[i];
    return NULL;
}

static void susp_drop(fl_swim *s, fl_node_id id)
{
    swim_susp *x = susp_find(s, id);
    FL_ASSERT(x != NULL);
    *x = s->susp[--s->n_susp];
}

static void susp_start(fl_swim *s, fl_node_id id, uint32_t inc, fl_node_id from)
{
    if (s->n_susp == s->cap_susp) {
        uint32_t cap = s->cap_susp ? s->cap_susp * 2 : 16;
        swim_susp *x = realloc(s->susp, (size_t)cap * sizeof(*x));
        FL_ASSERT(x != NULL);
        s->susp = x;
        s->cap_susp = cap;
    }
    swim_susp *x = &s->susp[s->n_susp++];
    memset(x, 0, sizeof(*x));
    x->id = id;
    x->inc = inc;
    x->start_ns = s->now_ns;
    x->conf[0] = from;
    x->n_conf = 1;
    x->deadline_ns = s->now_ns + fl_swim_suspicion_timeout(&s->cfg, s->n_live, 0);
}

/* Lifeguard: an independent suspicion shrinks the timeout. True if it was new. */
static bool susp_confirm(fl_swim *s, swim_susp *x, fl_node_id from)
{
    if (x->n_conf > s->cfg.suspicion_k || x->n_conf > FL_SWIM_CONFIRM_MAX)
        return false; /* the timeout is at its minimum already: no use spreading more */
    for (uint32_t i = 0; i < x->n_conf; i++)
        if (x->conf[i] == from)
            return false;
    x->conf[x->n_conf++] = from;
    x->deadline_ns = x->start_ns + fl_swim_suspicion_timeout(&s->cfg, s->n_live, x->n_conf - 1);
    return true;
}

static void set_state(fl_swim *s, swim_member *m, fl_swim_state st, uint32_t inc, fl_node_id from)
{
    fl_swim_state old = (fl_swim_state)m->state;
    if (old == FL_SWIM_SUSPECT)
        susp_drop(s, m->id);
    if (fl__live(old) && !fl__live((uint8_t)st))
        s->n_live--;
    if (!fl__live(old) && fl__live((uint8_t)st))
        s->n_live++;
    m->state = (uint8_t)st;
    m->inc = inc;
    m->t_ms = fl__swim_now_ms(s);
    if (st == FL_SWIM_SUSPECT)
        susp_start(s, m->id, inc, from);
    if (old != st)
        fl__swim_record_change(s, m, old, false);
}

static void refute(fl_swim *s, uint32_t inc)
{
    if (s->self_state == FL_SWIM_LEFT)
        return;
    if (inc < s->incarnation)
        return; /* old news: our current incarnation already overrides it */
    s->incarnation = inc + 1;
    swim_member *me = fl__swim_find(s, s->cfg.id);
    me->inc = s->incarnation;
    s->stats.refutations++;
    fl__swim_health_delta(s, 1);
    fl_swim_item it = {.kind = FL_SWIM_ITEM_ALIVE, .id = s->cfg.id, .inc = s->incarnation};
    it.from = it.id;
    fl__bq_put(s, &it);
}

static void apply_about_self(fl_swim *s, const fl_swim_item *it)
{
    switch (it->kind) {
    case FL_SWIM_ITEM_SUSPECT:
    case FL_SWIM_ITEM_DEAD:
        refute(s, it->inc);
        break;
    case FL_SWIM_ITEM_ALIVE:
    case FL_SWIM_ITEM_ALIVE_AT:
        if (it->inc > s->incarnation)
            refute(s, it->inc); /* an older life of ours was further ahead */
        break;
    default:
        break;
    }
}

/* A member first heard of (by an ALIVE): added, and the news spreads further. */
static void add_member(fl_swim *s, const fl_swim_item *it)
{
    swim_member *m = fl__swim_add(s, it->id, it->inc, FL_SWIM_ALIVE);
    if (!m)
        return; /* table full */
    if (fl__swim_is_seed(s, it->id))
        m->flags |= MF_ADDR; /* the environment gave us the seed's address */
    fl__swim_record_change(s, m, FL_SWIM_ALIVE, true);
    fl_swim_item q = *it;
    q.kind = FL_SWIM_ITEM_ALIVE; /* queued as ALIVE; sent as ALIVE_AT while addressed */
    fl__bq_put(s, &q);
}

/* SUSPECT about a member: a new suspicion, or a Lifeguard confirmation. True if taken. */
static bool apply_suspect(fl_swim *s, swim_member *m, const fl_swim_item *it)
{
    uint8_t st = m->state;
    if (st == FL_SWIM_SUSPECT && it->inc == m->inc)
        return s->cfg.lifeguard && susp_confirm(s, susp_find(s, m->id), it->from);
    if (st == FL_SWIM_SUSPECT && it->inc > m->inc) { /* a newer suspicion: restart the timeout */
        susp_drop(s, m->id);
        m->inc = it->inc;
        susp_start(s, m->id, it->inc, it->from);
        return true;
    }
    if (st == FL_SWIM_ALIVE && it->inc >= m->inc) {
        set_state(s, m, FL_SWIM_SUSPECT, it->inc, it->from);
        return true;
    }
    return false;
}

/* Applies one membership item with the precedence rules of swim.h; a change is disseminated
 * further. ALIVE_AT is ALIVE here; whether it makes the member addressed is the caller's. */
void fl__swim_apply(fl_swim *s, const fl_swim_item *it)
{
    if (it->id == s->cfg.id) {
        apply_about_self(s, it);
        return;
    }
    bool alive = it->kind == FL_SWIM_ITEM_ALIVE || it->kind == FL_SWIM_ITEM_ALIVE_AT;
    swim_member *m = fl__swim_find(s, it->id);
    if (!m) {
        if (alive)
            add_member(s, it);
        return; /* news about a member we do not know: it must join with ALIVE first */
    }
    uint8_t st = m->state;
    bool take = false;
    if (alive) {
        take = it->inc > m->inc;
        if (take)
            set_state(s, m, FL_SWIM_ALIVE, it->inc, it->from);
    } else if (it->kind == FL_SWIM_ITEM_SUSPECT) {
        take = apply_suspect(s, m, it);
    } else if (it->kind == FL_SWIM_ITEM_DEAD) {
        take = fl__live(st) && it->inc >= m->inc;
        if (take)
            set_state(s, m, FL_SWIM_DEAD, it->inc, it->from);
    } else if (it->kind == FL_SWIM_ITEM_LEFT) {
        take = st != FL_SWIM_LEFT && it->inc >= m->inc;
        if (take)
            set_state(s, m, FL_SWIM_LEFT, it->inc, it->from);
    }
    if (!take)
        return;
    fl_swim_item q = *it;
    if (alive)
        q.kind = FL_SWIM_ITEM_ALIVE;
    fl__bq_put(s, &q);
}

void fl__swim_deliver_user(fl_swim *s, const fl_swim_item *it)
{
    if (it->id == s->cfg.id || it->len > s->cfg.user_bytes_max || fl__seen(s, it->id, it->inc))
        return;
    if (s->n_deliv == s->cap_deliv) {
        size_t cap = s->cap_deliv ? s->cap_deliv * 2 : 16;
        fl_swim_delivery *d = realloc(s->deliv, cap * sizeof(*d));
        FL_ASSERT(d != NULL);
        s->deliv = d;
        size_t *o = realloc(s->deliv_off, cap * sizeof(*o));
        FL_ASSERT(o != NULL);
        s->deliv_off = o;
        s->cap_deliv = cap;
    }
    s->deliv_off[s->n_deliv] = s->deliv_bytes.len;
    s->deliv[s->n_deliv++] =
        (fl_swim_delivery){.origin = it->id, .seq = it->inc, .data = NULL, .len = it->len};
    fl_buf_put_bytes(&s->deliv_bytes, it->data, it->len);
    s->stats.user_delivered++;
    fl__bq_put(s, it);
}

void fl__swim_expire_suspicions(fl_swim *s)
{
    for (uint32_t i = 0; i < s->n_susp;) {
        swim_susp *x = &s->susp[i];
        if (fl__swim_susp_deadline(s, x) > s->now_ns) {
            i++;
            continue;
        }
        swim_member *m = fl__swim_find(s, x->id);
        FL_ASSERT(m && m->state == FL_SWIM_SUSPECT);
        s->stats.deaths++;
        fl_swim_item it = {
            .kind = FL_SWIM_ITEM_DEAD, .id = x->id, .inc = m->inc, .from = s->cfg.id};
        fl__swim_apply(s, &it); /* removes entry i (swapped with the last): look at i again */
    }
}
