/* shrink.c: the search for a smaller failing scenario (shrink.h). Greedy, one change at a
 * time, first what makes later runs cheapest: cut the run short after the violation, drop
 * faults (all, then halves, quarters, ... single ones, from the last), fewer operations, fewer
 * nodes, clients and open-loop rate, shorter faults, fewer keys; then the same again while any
 * change was kept. A change is kept when the smaller scenario fails with the same kind of
 * violation. Every run is deterministic, so the whole search is: the same start and budget of
 * runs give the same minimal scenario. */
#include "shrink.h"

#include "faultline/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRIED_MAX 4096

typedef struct search {
    const shrink_opts *so;
    shrink_result *res;
    fl_scenario best; /* the smallest scenario failing the same way so far */
    double t0;
    bool stop; /* the budget is spent */
    /* the candidates run so far (hashes of their YAML): one that comes again (a pass of a
     * later round) is known not to fail the same way, or it would be the best */
    uint64_t tried[TRIED_MAX];
    uint32_t n_tried;
} search;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool budget_left(search *s)
{
    const shrink_opts *so = s->so;
    if ((so->runs_max && s->res->runs >= so->runs_max) ||
        (so->seconds_max > 0 && now_s() - s->t0 >= so->seconds_max))
        s->stop = true;
    return !s->stop;
}

/* Whether c was tried before (and if not, remembers it). */
static bool tried_before(search *s, const fl_scenario *c)
{
    fl_buf b;
    fl_buf_init(&b);
    fl_scenario_write(c, NULL, &b);
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < b.len; i++)
        h = (h ^ b.data[i]) * 1099511628211ull;
    fl_buf_free(&b);
    for (uint32_t i = 0; i < s->n_tried; i++)
        if (s->tried[i] == h)
            return true;
    if (s->n_tried < TRIED_MAX)
        s->tried[s->n_tried++] = h;
    return false;
}

/* Runs candidate c, a changed copy of the best; keeps it (and says so) when it fails the same
 * way, else frees it. */
static bool attempt(search *s, fl_scenario *c, const char *what)
{
    char err[FL_SCENARIO_ERR_MAX];
    if (!budget_left(s) || tried_before(s, c) || fl_scenario_for_sim(c, err, sizeof(err))) {
        fl_scenario_free(c);
        return false;
    }
    fl_time_ns limit = 0;
    if (s->so->seconds_max > 0) {
        double left = s->so->seconds_max - (now_s() - s->t0);
        limit = (fl_time_ns)((left > 0.01 ? left : 0.01) * 1e9); /* the child's wall time too */
    }
    shrink_outcome oc;
    if (shrink_try(c, limit, &oc, NULL, NULL) != 0) {
        fl_scenario_free(c);
        s->stop = true; /* no process: nothing more can run */
        return false;
    }
    s->res->runs++;
    bool same = oc.violation && !strcmp(oc.kind, s->res->start.kind);
    if (s->so->log)
        fprintf(s->so->log, "  run %3u  %-44s %s%s%s\n", s->res->runs, what,
                same           ? "fails the same way: kept"
                : oc.violation ? "fails otherwise: "
                : oc.timed_out ? "stopped at the budget's end (not kept)"
                               : "passes",
                same || !oc.violation ? "" : oc.kind, "");
    if (!same) {
        fl_scenario_free(c);
        return false;
    }
    fl_scenario_free(&s->best);
    s->best = *c;
    s->res->min = oc;
    return true;
}

static int copy_best(search *s, fl_scenario *c)
{
    if (fl_scenario_copy(c, &s->best)) {
        s->stop = true;
        return -1;
    }
    return 0;
}

static void drop_range(fl_scenario *c, uint32_t from, uint32_t n)
{
    memmove(&c->faults[from], &c->faults[from + n], (c->n_faults - from - n) * sizeof(*c->faults));
    c->n_faults -= n;
}

/* ---- the changes ------------------------------------------------------------------------- */

/* A run of length d: faults that would start at or after its end dropped. */
static bool try_length(search *s, fl_time_ns d, const char *what)
{
    fl_scenario c;
    if (d < FL_NS_PER_MS || d >= s->best.run.duration_ns || copy_best(s, &c))
        return false;
    c.run.duration_ns = d;
    uint32_t keep = 0;
    while (keep < c.n_faults && c.faults[keep].spec.start_ns < d)
        keep++;
    c.n_faults = keep;
    return attempt(s, &c, what);
}

/* Cut the run right after the violation showed, then halve it while it still fails. */
static bool cut(search *s)
{
    bool kept = false;
    fl_time_ns focus = s->res->min.focus_ns;
    fl_time_ns at = (focus / FL_NS_PER_MS + 2) * FL_NS_PER_MS;
    if (focus && at < s->best.run.duration_ns)
        kept |= try_length(s, at, "end the run just after the violation");
    while (!s->stop && try_length(s, s->best.run.duration_ns / 2 / FL_NS_PER_MS * FL_NS_PER_MS,
                                  "halve the run"))
        kept = true;
    return kept;
}

static bool drop_faults(search *s)
{
    bool kept = false;
    char what[96];
    if (s->best.n_faults > 1) {
        fl_scenario c;
        if (!copy_best(s, &c)) {
            snprintf(what, sizeof(what), "drop all %u faults", c.n_faults);
            c.n_faults = 0;
            kept |= attempt(s, &c, what);
        }
    }
    for (uint32_t chunk = (s->best.n_faults + 1) / 2; chunk >= 1 && !s->stop; chunk /= 2) {
        for (uint32_t end = s->best.n_faults; end > 0 && !s->stop;) {
            uint32_t from = end > chunk ? end - chunk : 0;
            fl_scenario c;
            if (copy_best(s, &c))
                break;
            if (from + 1 == end)
                snprintf(what, sizeof(what), "drop fault %u (%s)", end,
                         fl_scenario_fault_kind(&c.faults[from]));
            else
                snprintf(what, sizeof(what), "drop faults %u..%u", from + 1, end);
            drop_range(&c, from, end - from);
            kept |= attempt(s, &c, what);
            end = from; /* kept or not, the faults before come next */
        }
        if (chunk == 1)
            break;
    }
    return kept;
}

/* Fault f's targets within a cluster of n nodes; false when nothing of them is left. */
static bool remap(fl_scenario_fault *f, uint32_t n)
{
    fl_run_fault_spec *sp = &f->spec;
    uint32_t all = ((1u << n) - 1) << 1;
    if (!(sp->set & FL_RUN_SPEC_TARGETS))
        return true;
    bool had = sp->nodes != 0;
    sp->nodes &= all;
    uint32_t k = 0;
    for (uint32_t i = 0; i < sp->n_order; i++)
        if (sp->order[i] <= n)
            sp->order[k++] = sp->order[i];
    sp->n_order = k;
    uint32_t sides = 0;
    for (uint32_t id = 1; id <= FL_RAFT_NODES_MAX; id++) {
        if (id > n)
            sp->side[id] = 0;
        sides |= sp->side[id] ? 1u << sp->side[id] : 0;
    }
    if (sp->from > n || sp->to > n)
        return false;
    if (sp->kind == FL_NEMESIS_PARTITION_HALVES || sp->kind == FL_NEMESIS_PARTITION_RANDOM)
        return __builtin_popcount(sides) >= 2;
    return !had || sp->nodes;
}

static bool fewer_nodes(search *s)
{
    bool kept = false;
    while (!s->stop && s->best.run.nodes >= 5) {
        fl_scenario c;
        if (copy_best(s, &c))
            break;
        uint32_t n = c.run.nodes - 2, k = 0;
        char what[96];
        snprintf(what, sizeof(what), "%u nodes instead of %u", n, c.run.nodes);
        c.run.nodes = n;
        for (uint32_t i = 0; i < c.n_faults; i++)
            if (remap(&c.faults[i], n))
                c.faults[k++] = c.faults[i];
        c.n_faults = k;
        if (!attempt(s, &c, what))
            break;
        kept = true;
    }
    return kept;
}

/* Fewer clients (closed loop) or a lower rate (open loop): one, then halves. */
static bool fewer_clients(search *s)
{
    bool kept = false;
    char what[96];
    for (int step = 0; !s->stop; step++) {
        fl_scenario c;
        const fl_run_config *b = &s->best.run;
        if ((b->rate > 0 ? b->rate <= 1 : b->clients <= 1) || copy_best(s, &c))
            break;
        if (c.run.rate > 0) {
            c.run.rate = step == 0 ? 1 : c.run.rate / 2 < 1 ? 1 : c.run.rate / 2;
            snprintf(what, sizeof(what), "rate %g ops/s instead of %g", c.run.rate, b->rate);
        } else {
            c.run.clients = step == 0 ? 1 : c.run.clients / 2;
            snprintf(what, sizeof(what), "%u clients instead of %u", c.run.clients, b->clients);
        }
        bool ok = attempt(s, &c, what);
        kept |= ok;
        if (!ok && step > 0)
            break;
    }
    return kept;
}

/* A limit on the operations: half of those the smallest run invoked (else three quarters),
 * while it still fails. */
static bool fewer_ops(search *s)
{
    bool kept = false;
    char what[96];
    for (int share = 2; !s->stop && s->res->min.ops > 1;) {
        fl_scenario c;
        if (copy_best(s, &c))
            break;
        uint64_t ops = s->res->min.ops;
        c.run.ops_max = share == 2 ? ops / 2 : ops - ops / 4;
        snprintf(what, sizeof(what), "at most %llu operations (of %llu)",
                 (unsigned long long)c.run.ops_max, (unsigned long long)ops);
        bool ok = attempt(s, &c, what);
        kept |= ok;
        if (!ok && share == 4)
            break;
        share = ok ? 2 : 4;
    }
    return kept;
}

/* Clients that start later (their first operations dropped): halfway to the violation, else a
 * quarter of the way, while it still fails. */
static bool later_start(search *s)
{
    bool kept = false;
    char what[96];
    for (int part = 2; !s->stop;) {
        fl_time_ns from = s->best.run.ops_start_ns, focus = s->res->min.focus_ns;
        if (focus <= from + 20 * FL_NS_PER_MS || focus > s->best.run.duration_ns)
            break;
        fl_scenario c;
        if (copy_best(s, &c))
            break;
        c.run.ops_start_ns =
            (from + (focus - from) / (fl_time_ns)part) / FL_NS_PER_MS * FL_NS_PER_MS;
        snprintf(what, sizeof(what), "clients start at %.3f s", (double)c.run.ops_start_ns / 1e9);
        bool ok = attempt(s, &c, what);
        kept |= ok;
        if (!ok && part == 4)
            break;
        part = ok ? 2 : 4;
    }
    return kept;
}

static bool shorter_faults(search *s)
{
    bool kept = false;
    char what[96];
    for (uint32_t i = 0; i < s->best.n_faults && !s->stop; i++)
        while (!s->stop && s->best.faults[i].spec.length_ns >= 2 * FL_NS_PER_MS) {
            fl_scenario c;
            if (copy_best(s, &c))
                break;
            fl_run_fault_spec *sp = &c.faults[i].spec;
            sp->length_ns = sp->length_ns / 2 / FL_NS_PER_MS * FL_NS_PER_MS;
            snprintf(what, sizeof(what), "fault %u (%s) %.3f s long", i + 1,
                     fl_scenario_fault_kind(&c.faults[i]), (double)sp->length_ns / 1e9);
            if (!attempt(s, &c, what))
                break;
            kept = true;
        }
    return kept;
}

static bool fewer_keys(search *s)
{
    fl_scenario c;
    if (s->best.run.keys == 1 || s->stop || copy_best(s, &c))
        return false;
    c.run.keys = 1;
    return attempt(s, &c, "one key");
}

/* ---- the search -------------------------------------------------------------------------- */

/* A run's size; its length is how long it runs until the violation shows. */
static shrink_size size_of(const fl_scenario *sc, const shrink_outcome *oc)
{
    return (shrink_size){oc->faults, oc->ops, oc->focus_ns ? oc->focus_ns : sc->run.duration_ns,
                         sc->run.nodes, sc->run.rate > 0 ? 0 : sc->run.clients};
}

static void describe(shrink_result *r)
{
    const shrink_size *a = &r->before, *b = &r->after;
    snprintf(r->removed, sizeof(r->removed),
             "faults %u -> %u, operations %llu -> %llu, run until the violation %.3f s -> %.3f s, "
             "nodes %u -> %u, "
             "clients %u -> %u",
             a->faults, b->faults, (unsigned long long)a->ops, (unsigned long long)b->ops,
             (double)a->length_ns / 1e9, (double)b->length_ns / 1e9, a->nodes, b->nodes, a->clients,
             b->clients);
}

/* The start's faults as an explicit schedule (what its run chose, filled in): changing one
 * fault then leaves the others as they were. */
static int expand(search *s, const fl_run_fault_spec *sched, size_t n)
{
    fl_scenario c;
    if (copy_best(s, &c))
        return FL_ENOMEM;
    bool was = c.explicit_schedule;
    c.n_faults = 0;
    c.explicit_schedule = true;
    c.run.nemesis = FL_NEMESIS_NONE;
    c.run.n_faults = 0;
    for (size_t i = 0; i < n; i++) {
        fl_scenario_fault f = {.spec = sched[i], .real = -1};
        if (fl_scenario_add_fault(&c, &f)) {
            fl_scenario_free(&c);
            return FL_ENOMEM;
        }
    }
    if (was) { /* the same run exactly (run_schedule.c): no need to run it again */
        char err[FL_SCENARIO_ERR_MAX];
        fl_scenario_free(&s->best);
        s->best = c;
        return fl_scenario_for_sim(&s->best, err, sizeof(err));
    }
    attempt(s, &c, "the generated faults as a schedule");
    return 0;
}

int shrink_run(const fl_scenario *start, const shrink_opts *so, shrink_result *out)
{
    memset(out, 0, sizeof(*out));
    static search s; /* one search at a time; large (the hashes tried) */
    memset(&s, 0, sizeof(s));
    s.so = so;
    s.res = out;
    s.t0 = now_s();
    char err[FL_SCENARIO_ERR_MAX];
    if (fl_scenario_copy(&s.best, start))
        return FL_ENOMEM;
    if (fl_scenario_for_sim(&s.best, err, sizeof(err))) {
        fprintf(stderr, "faultline shrink: %s\n", err);
        fl_scenario_free(&s.best);
        return FL_ECONFIG;
    }
    fl_run_fault_spec *sched = NULL;
    size_t n = 0;
    /* the scenario as given is bounded by the whole budget, each candidate by what is left */
    fl_time_ns whole = so->seconds_max > 0 ? (fl_time_ns)(so->seconds_max * 1e9) : 0;
    int rc = shrink_try(&s.best, whole, &out->start, &sched, &n);
    s.stop = out->start.timed_out;
    out->runs = 1;
    out->min = out->start;
    out->before = size_of(&s.best, &out->start);
    if (so->log && rc == 0)
        fprintf(so->log, "  run   1  %-44s %s%s%s\n", "the scenario as given",
                out->start.violation   ? out->start.what
                : out->start.timed_out ? "stopped at the budget's end: nothing to shrink"
                                       : "passes: nothing to shrink",
                out->start.violation ? "; kind: " : "", out->start.kind);
    if (rc == 0 && out->start.violation && out->start.ran)
        rc = expand(&s, sched, n);
    free(sched);
    /* every step of a round runs (no short cut), then another round while any kept a change */
    static bool (*const steps[])(search *) = {
        cut,         drop_faults,   fewer_ops,      later_start,
        fewer_nodes, fewer_clients, shorter_faults, fewer_keys};
    for (bool again = out->start.violation && rc == 0; again && !s.stop;) {
        again = false;
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
            again = steps[i](&s) || again;
    }
    out->budget_spent = s.stop;
    out->after = size_of(&s.best, &out->min);
    out->wall_s = now_s() - s.t0;
    out->minimal = s.best;
    describe(out);
    return rc;
}

void shrink_result_free(shrink_result *r)
{
    fl_scenario_free(&r->minimal);
}
