/* histgen.c: generated histories, linearizable by construction, and mutations that break
 * them (histgen.h).
 *
 * Construction: op i belongs to process slot i % processes; each slot's ops follow one
 * another in time (pipelined: up to `pipeline` of them pending at once, their points and
 * completions in invocation order, so the witness keeps program order). Every op has
 * invoke < point < complete; applying the ops in the order of their points to a sequential
 * model gives the read results and cas outcomes, so the order of points is a witness
 * linearization. Writes and cas write distinct values. */
#include "faultline/histgen.h"

#include "faultline/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen_op {
    int64_t process;
    uint8_t f;
    uint8_t outcome; /* FL_EV_OK, FL_EV_FAIL, FL_EV_INFO */
    bool applied;
    bool complete; /* has a completion event */
    uint32_t key;
    fl_value in, in2, out;
    fl_time_ns inv, point, ret;
} gen_op;

typedef struct gen {
    const fl_histgen_opts *o;
    fl_history *h;
    fl_rng rng;
    gen_op *ops;
    fl_value *state; /* per key */
    int64_t next_value;
    fl_buf text;
} gen;

void fl_histgen_opts_init(fl_histgen_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->model = FL_MODEL_REGISTER;
    o->ops = 100;
    o->processes = 5;
    o->read_ratio = 0.5;
    o->cas_ratio = 0.2;
    o->latency_ns = FL_NS_PER_MS;
    o->append_ratio = 0.3;
    o->initial = fl_value_nil();
    o->seed = 1;
}

static fl_time_ns delay(gen *g, double mean)
{
    return 1 + (fl_time_ns)fl_rng_exp(&g->rng, mean);
}

static uint8_t pick_f(gen *g)
{
    const fl_histgen_opts *o = g->o;
    double x = fl_rng_double(&g->rng);
    bool kv = o->model == FL_MODEL_KV;
    if (x < o->read_ratio)
        return kv ? FL_F_GET : FL_F_READ;
    x -= o->read_ratio;
    if (o->model != FL_MODEL_REGISTER && x < o->cas_ratio)
        return FL_F_CAS;
    if (kv && o->appends && fl_rng_chance(&g->rng, o->append_ratio))
        return FL_F_APPEND;
    if (kv && o->deletes && fl_rng_chance(&g->rng, 0.1))
        return FL_F_DELETE;
    return kv ? FL_F_PUT : FL_F_WRITE;
}

/* A process slot's clock: when it may invoke next, and (pipelined) where its last point and
 * completion were and when its pending ops complete (a ring of `depth` completions). */
typedef struct slot {
    int64_t pid;
    fl_time_ns t, point, ret;
    fl_time_ns *rets;
    uint32_t sent;
} slot;

static void slot_rename(slot *sl, int64_t pid, uint32_t depth)
{
    sl->pid = pid; /* Jepsen: a crashed process comes back as a new one */
    sl->point = sl->ret = 0;
    for (uint32_t k = 0; k < depth; k++)
        sl->rets[k] = 0;
}

/* Times of op on slot sl: invoke, point, completion after the slot's previous ones. */
static void op_times(gen *g, slot *sl, gen_op *op, uint32_t depth, double half)
{
    op->inv = sl->t;
    op->point = (op->inv > sl->point ? op->inv : sl->point) + delay(g, half);
    op->ret = (op->point > sl->ret ? op->point : sl->ret) + delay(g, half);
    sl->point = op->point;
    sl->ret = op->ret;
    if (depth <= 1) {
        sl->t = op->ret + delay(g, half / 2);
        return;
    }
    sl->rets[sl->sent++ % depth] = op->ret;
    fl_time_ns room = sl->rets[sl->sent % depth]; /* the op depth back must be answered */
    sl->t = op->inv + delay(g, half / 4);
    if (sl->t <= room)
        sl->t = room + 1;
}

/* Times, processes, keys and arguments; outcomes of reads and cas come later. */
static int plan(gen *g)
{
    const fl_histgen_opts *o = g->o;
    uint32_t procs = o->processes ? o->processes : 1;
    uint32_t depth = o->pipeline > 1 ? o->pipeline : 1;
    slot *sl = calloc(procs, sizeof(*sl));
    fl_time_ns *rets = calloc((size_t)procs * depth, sizeof(*rets));
    if (!sl || !rets) {
        free(sl);
        free(rets);
        return FL_ENOMEM;
    }
    double half = (double)(o->latency_ns ? o->latency_ns : FL_NS_PER_MS) / 2;
    for (uint32_t p = 0; p < procs; p++)
        sl[p] = (slot){.pid = p, .t = delay(g, half), .rets = rets + (size_t)p * depth};
    int64_t next_pid = procs;
    for (uint32_t i = 0; i < o->ops; i++) {
        slot *s = &sl[i % procs];
        gen_op *op = &g->ops[i];
        memset(op, 0, sizeof(*op));
        op->process = s->pid;
        op->f = pick_f(g);
        op->key = o->keys ? (uint32_t)fl_rng_below(&g->rng, o->keys) : 0; /* slot */
        op_times(g, s, op, depth, half);
        op->outcome = FL_EV_OK;
        op->complete = true;
        if (o->stuck_ratio > 0 && fl_rng_chance(&g->rng, o->stuck_ratio)) {
            op->ret = ((fl_time_ns)1 << 62) + i; /* after everything else, in op order */
            slot_rename(s, next_pid++, depth);
        } else if (fl_rng_chance(&g->rng, o->info_ratio)) {
            op->outcome = FL_EV_INFO;
            op->complete = !fl_rng_chance(&g->rng, 0.3);
            slot_rename(s, next_pid++, depth);
        } else if (op->f != FL_F_READ && op->f != FL_F_GET && op->f != FL_F_CAS &&
                   fl_rng_chance(&g->rng, o->fail_ratio)) {
            op->outcome = FL_EV_FAIL;
        }
    }
    free(sl);
    free(rets);
    return 0;
}

static fl_value fresh(gen *g)
{
    if (g->o->value_range)
        return fl_value_int((int64_t)fl_rng_below(&g->rng, g->o->value_range));
    return fl_value_int(++g->next_value);
}

static int append_state(gen *g, gen_op *op, fl_value *st)
{
    char arg[32];
    int n = snprintf(arg, sizeof(arg), "a%" PRId64 ",", ++g->next_value);
    int rc = fl_value_str(g->h, arg, (size_t)n, &op->in);
    if (rc || (op->outcome == FL_EV_INFO && fl_rng_chance(&g->rng, 0.5)) ||
        op->outcome == FL_EV_FAIL)
        return rc;
    fl_buf_reset(&g->text);
    if (st->kind == FL_VALUE_STR)
        fl_buf_put_str(&g->text, fl_history_str(g->h, st->str, NULL));
    else if (st->kind == FL_VALUE_INT)
        fl_buf_printf(&g->text, "%" PRId64, st->i);
    fl_buf_put_bytes(&g->text, arg, (size_t)n);
    if (g->text.err)
        return g->text.err;
    return fl_value_str(g->h, (const char *)g->text.data, g->text.len, st);
}

static void apply_cas(gen *g, gen_op *op, fl_value *st)
{
    if (g->o->value_range)
        op->in = fresh(g);
    else if (fl_rng_chance(&g->rng, 0.6) || g->next_value < 2)
        op->in = *st;
    else
        op->in = fl_value_int(g->next_value - (int64_t)fl_rng_below(&g->rng, 4));
    op->in2 = fresh(g);
    bool match = fl_value_eq(op->in, *st);
    if (op->outcome == FL_EV_OK && !match)
        op->outcome = FL_EV_FAIL;
    op->applied = match && (op->outcome == FL_EV_OK || fl_rng_chance(&g->rng, 0.5));
    if (op->applied)
        *st = op->in2;
}

static int apply(gen *g, gen_op *op)
{
    fl_value *st = &g->state[op->key];
    switch ((fl_op_f)op->f) {
    case FL_F_READ:
    case FL_F_GET:
        op->out = *st;
        return 0;
    case FL_F_WRITE:
    case FL_F_PUT:
        op->in = fresh(g);
        op->applied =
            op->outcome == FL_EV_OK || (op->outcome == FL_EV_INFO && fl_rng_chance(&g->rng, 0.5));
        if (op->applied)
            *st = op->in;
        return 0;
    case FL_F_CAS:
        apply_cas(g, op, st);
        return 0;
    case FL_F_DELETE:
        if (op->outcome == FL_EV_OK || (op->outcome == FL_EV_INFO && fl_rng_chance(&g->rng, 0.5)))
            *st = fl_value_nil();
        return 0;
    case FL_F_APPEND:
        return append_state(g, op, st);
    default:
        return 0;
    }
}

typedef struct timed {
    fl_time_ns t;
    uint32_t op;
    uint32_t ret; /* 0 invoke, 1 completion */
} timed;

static int cmp_timed(const void *a, const void *b)
{
    const timed *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->op != y->op)
        return x->op < y->op ? -1 : 1;
    return (int)x->ret - (int)y->ret;
}

static int apply_all(gen *g)
{
    uint32_t n = g->o->ops;
    timed *order = malloc(((size_t)n + 1) * sizeof(*order));
    if (!order)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        order[i] = (timed){g->ops[i].point, i, 0};
    qsort(order, n, sizeof(*order), cmp_timed);
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = apply(g, &g->ops[order[i].op]);
    free(order);
    return rc;
}

static int emit(gen *g, const uint32_t *key_ids)
{
    uint32_t n = g->o->ops, m = 0;
    timed *ev = malloc(((size_t)n * 2 + 1) * sizeof(*ev));
    if (!ev)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        ev[m++] = (timed){g->ops[i].inv, i, 0};
        if (g->ops[i].complete)
            ev[m++] = (timed){g->ops[i].ret, i, 1};
    }
    qsort(ev, m, sizeof(*ev), cmp_timed);
    int rc = 0;
    for (uint32_t i = 0; i < m && !rc; i++) {
        const gen_op *op = &g->ops[ev[i].op];
        fl_event e = {.process = op->process, .f = op->f, .time = ev[i].t};
        e.type = ev[i].ret ? op->outcome : FL_EV_INVOKE;
        e.key = g->o->keys ? key_ids[op->key] : FL_KEY_NONE;
        bool read = op->f == FL_F_READ || op->f == FL_F_GET;
        e.pair = op->f == FL_F_CAS;
        e.value = read ? (ev[i].ret && op->outcome == FL_EV_OK ? op->out : fl_value_nil()) : op->in;
        e.value2 = op->in2;
        if (op->f == FL_F_DELETE)
            e.value.kind = FL_VALUE_NONE;
        rc = fl_history_add(g->h, &e);
    }
    free(ev);
    return rc;
}

static int make_keys(gen *g, uint32_t *key_ids)
{
    for (uint32_t k = 0; k < g->o->keys; k++) {
        char name[24];
        int n = snprintf(name, sizeof(name), "k%u", k);
        int rc = fl_history_intern(g->h, name, (size_t)n, &key_ids[k]);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_histgen_run(fl_history *h, const fl_histgen_opts *o)
{
    gen g = {.o = o, .h = h};
    fl_rng_seed(&g.rng, o->seed);
    if (o->pipeline > 1)
        h->pipelined = true;
    fl_buf_init(&g.text);
    size_t keys = o->keys ? o->keys : 1;
    g.ops = malloc(((size_t)o->ops + 1) * sizeof(*g.ops));
    g.state = calloc(keys, sizeof(*g.state));
    uint32_t *key_ids = calloc(keys, sizeof(*key_ids));
    int rc = FL_ENOMEM;
    if (g.ops && g.state && key_ids) {
        for (size_t k = 0; k < keys; k++)
            g.state[k] = o->initial.kind == FL_VALUE_NONE ? fl_value_nil() : o->initial;
        rc = make_keys(&g, key_ids);
        if (!rc)
            rc = plan(&g);
        if (!rc)
            rc = apply_all(&g);
        if (!rc)
            rc = emit(&g, key_ids);
    }
    free(g.ops);
    free(g.state);
    free(key_ids);
    fl_buf_free(&g.text);
    return rc;
}
