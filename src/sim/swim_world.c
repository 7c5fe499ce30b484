/* swim_world.c: SWIM scenarios in the simulator and their measurements (swim_world.h).
 *
 * Bookkeeping is driven by the membership changes the nodes report (hooks), so it costs O(1)
 * per change; whole-cluster views (convergence) are polled at most every 100 ms of virtual
 * time, O(N) each. */
#include "faultline/swim_world.h"

#include "faultline/assert.h"
#include "faultline/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARMUP_NS (5 * FL_NS_PER_S)
#define POLL_NS   (100 * FL_NS_PER_MS)

void fl_swim_world_config_default(fl_swim_world_config *c)
{
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->nodes = 100;
    fl_swim_config_default(&c->swim);
    c->swim.id = 1;
    c->delay = fl_sim_dist_uniform(FL_NS_PER_MS / 2, 2 * FL_NS_PER_MS);
    c->events_max = (size_t)4 << 20;
}

static bool gone(fl_swim_state s)
{
    return s == FL_SWIM_DEAD || s == FL_SWIM_LEFT;
}

/* The first time observer's view holds every node live (O(1): a count). */
static void note_full_view(fl_swim_world *w, fl_node_id observer, fl_time_ns now)
{
    if (observer > w->cfg.nodes || w->full_view_ns[observer] != FL_TIME_NEVER)
        return;
    const fl_swim *s = fl_swim_sim_core(w->sim, observer);
    if (s && fl_swim_live_count(s) == w->cfg.nodes)
        w->full_view_ns[observer] = now;
}

static void on_change(void *arg, fl_node_id observer, const fl_swim_change *c, fl_time_ns now)
{
    fl_swim_world *w = arg;
    fl_node_id id = c->id;
    note_full_view(w, observer, now);
    if (id == 0 || id > w->cfg.nodes || c->removed)
        return;
    bool bad = c->state == FL_SWIM_SUSPECT || c->state == FL_SWIM_DEAD;
    bool watched = w->watch_ns[id] != FL_TIME_NEVER;
    if (bad && watched && w->first_suspect_ns[id] == FL_TIME_NEVER)
        w->first_suspect_ns[id] = now;
    if (c->state == FL_SWIM_DEAD && watched && w->first_dead_ns[id] == FL_TIME_NEVER)
        w->first_dead_ns[id] = now;
    if (c->state == FL_SWIM_SUSPECT && c->old_state != FL_SWIM_SUSPECT) {
        if (w->healthy[id] && w->suspect_votes[id] == 0)
            w->false_suspicions++;
        w->suspect_votes[id]++;
    }
    if (c->old_state == FL_SWIM_SUSPECT && c->state != FL_SWIM_SUSPECT && !c->added &&
        w->suspect_votes[id] > 0)
        w->suspect_votes[id]--;
    if (w->healthy[id] && c->state == FL_SWIM_DEAD && w->dead_votes[id] == 0)
        w->false_deaths++;
    if (gone(c->state) && !gone(c->old_state))
        w->dead_votes[id]++;
    if (!gone(c->state) && gone(c->old_state) && !c->added && w->dead_votes[id] > 0)
        w->dead_votes[id]--;
    if (w->watch_ns[id] != FL_TIME_NEVER && w->all_dead_ns[id] == FL_TIME_NEVER &&
        w->dead_votes[id] >= w->expect)
        w->all_dead_ns[id] = now;
}

static void on_deliver(void *arg, fl_node_id observer, const fl_swim_delivery *d, fl_time_ns now)
{
    fl_swim_world *w = arg;
    if (d->origin != w->bc_origin || d->seq != w->bc_seq || w->bc_at_ns[observer] != FL_TIME_NEVER)
        return;
    w->bc_at_ns[observer] = now;
    w->bc_count++;
}

int fl_swim_world_init(fl_swim_world *w, const fl_swim_world_config *c, char *why, size_t why_size)
{
    memset(w, 0, sizeof(*w));
    w->cfg = *c;
    uint32_t n = c->nodes;
    fl_swim_sim_hooks hooks = {.arg = w, .changed = on_change, .delivered = on_deliver};
    int rc = fl_swim_sim_init(&w->ss, &c->swim, n, c->join_seeds, &hooks, why, why_size);
    if (rc)
        return rc;
    w->ss.check_invariants = c->check_invariants;
    w->ss.addr_first_hand = c->addr_first_hand;
    w->first_suspect_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->first_dead_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->started_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->full_view_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->all_dead_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->watch_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->bc_at_ns = malloc((n + 1) * sizeof(fl_time_ns));
    w->dead_votes = calloc(n + 1, sizeof(uint32_t));
    w->suspect_votes = calloc(n + 1, sizeof(uint32_t));
    w->healthy = malloc((n + 1) * sizeof(bool));
    if (!w->first_suspect_ns || !w->all_dead_ns || !w->watch_ns || !w->bc_at_ns || !w->dead_votes ||
        !w->suspect_votes || !w->healthy || !w->first_dead_ns || !w->started_ns ||
        !w->full_view_ns) {
        fl_swim_world_free(w);
        return FL_ENOMEM;
    }
    for (uint32_t i = 0; i <= n; i++) {
        w->first_suspect_ns[i] = w->all_dead_ns[i] = w->watch_ns[i] = FL_TIME_NEVER;
        w->bc_at_ns[i] = w->first_dead_ns[i] = w->full_view_ns[i] = FL_TIME_NEVER;
        w->started_ns[i] = c->join_seeds ? FL_TIME_NEVER : 0;
        w->healthy[i] = true;
    }
    fl_sim_config sc;
    fl_sim_config_default(&sc);
    sc.seed = c->seed;
    sc.nodes = n;
    sc.proto = &fl_swim_sim_proto;
    sc.proto_ctx = &w->ss;
    sc.link.loss = c->loss;
    sc.link.delay = c->delay;
    sc.events_max = c->events_max;
    size_t stream = fl_swim_stream_bytes_max(&c->swim);
    sc.msg_bytes_max = stream > FL_SWIM_PACKET_BYTES_MAX ? stream : FL_SWIM_PACKET_BYTES_MAX;
    sc.quiet = true;
    fl_buf b;
    fl_buf_init(&b);
    rc = fl_sim_create(&sc, &w->sim, &b);
    if (rc) {
        snprintf(why, why_size, "%.*s", (int)b.len, b.data ? (const char *)b.data : "");
        fl_buf_free(&b);
        fl_swim_world_free(w);
        return rc;
    }
    fl_buf_free(&b);
    if (!c->join_seeds)
        return fl_sim_start_all(w->sim);
    for (fl_node_id id = 1; id <= c->join_seeds && !rc; id++)
        rc = fl_swim_world_start(w, id);
    return rc;
}

int fl_swim_world_start(fl_swim_world *w, fl_node_id id)
{
    int rc = fl_sim_restart(w->sim, id);
    if (rc == 0)
        w->started_ns[id] = fl_sim_time(w->sim);
    return rc;
}

void fl_swim_world_free(fl_swim_world *w)
{
    fl_sim_destroy(w->sim);
    fl_swim_sim_free(&w->ss);
    free(w->first_suspect_ns);
    free(w->first_dead_ns);
    free(w->started_ns);
    free(w->full_view_ns);
    free(w->all_dead_ns);
    free(w->watch_ns);
    free(w->bc_at_ns);
    free(w->dead_votes);
    free(w->suspect_votes);
    free(w->healthy);
    memset(w, 0, sizeof(*w));
}

int fl_swim_world_run_until(fl_swim_world *w, fl_time_ns t)
{
    return fl_sim_run_until(w->sim, t);
}

static uint32_t up_count(const fl_swim_world *w)
{
    uint32_t up = 0;
    for (fl_node_id id = 1; id <= w->cfg.nodes; id++)
        up += fl_sim_node_state_of(w->sim, id) != FL_SIM_NODE_DOWN;
    return up;
}

void fl_swim_world_watch(fl_swim_world *w, fl_node_id id)
{
    w->watch_ns[id] = fl_sim_time(w->sim);
    w->first_suspect_ns[id] = w->all_dead_ns[id] = w->first_dead_ns[id] = FL_TIME_NEVER;
    uint32_t up = up_count(w);
    w->expect = up - (fl_sim_node_state_of(w->sim, id) != FL_SIM_NODE_DOWN);
}

int fl_swim_world_crash(fl_swim_world *w, fl_node_id id)
{
    w->healthy[id] = false;
    int rc = fl_sim_crash(w->sim, id);
    if (rc)
        return rc;
    fl_swim_world_watch(w, id);
    return 0;
}

typedef struct bc_arg {
    size_t len;
    int rc;
} bc_arg;

static void do_broadcast(void *node, void *arg)
{
    bc_arg *a = arg;
    uint8_t pay[FL_SWIM_USER_BYTES_MAX];
    memset(pay, 0x5a, sizeof(pay));
    a->rc = fl_swim_sim_broadcast(node, pay, a->len);
}

int fl_swim_world_broadcast(fl_swim_world *w, fl_node_id origin, size_t len)
{
    const fl_swim *s = fl_swim_sim_core(w->sim, origin);
    if (!s || len > FL_SWIM_USER_BYTES_MAX)
        return FL_EINVAL;
    w->bc_origin = origin;
    w->bc_seq = s->user_seq + 1;
    w->bc_start_ns = fl_sim_time(w->sim);
    w->bc_count = 0;
    for (uint32_t i = 0; i <= w->cfg.nodes; i++)
        w->bc_at_ns[i] = FL_TIME_NEVER;
    static bc_arg a;
    a.len = len;
    a.rc = 0;
    int rc = fl_sim_schedule_node(w->sim, fl_sim_time(w->sim), origin, do_broadcast, &a);
    if (rc)
        return rc;
    rc = fl_sim_step(w->sim) < 0 ? FL_ESTOPPED : 0;
    return rc ? rc : a.rc;
}

bool fl_swim_world_converged(const fl_swim_world *w)
{
    uint32_t up = up_count(w);
    for (fl_node_id id = 1; id <= w->cfg.nodes; id++) {
        const fl_swim *s = fl_swim_sim_core(w->sim, id);
        if (s && (fl_swim_live_count(s) != up || s->n_susp != 0))
            return false;
    }
    return true;
}

uint32_t fl_swim_world_wrongly_dead(const fl_swim_world *w)
{
    uint32_t bad = 0;
    for (fl_node_id o = 1; o <= w->cfg.nodes; o++) {
        const fl_swim *s = fl_swim_sim_core(w->sim, o);
        if (!s)
            continue;
        for (fl_node_id t = 1; t <= w->cfg.nodes; t++) {
            fl_swim_state st;
            if (t == o || fl_sim_node_state_of(w->sim, t) != FL_SIM_NODE_UP ||
                fl_sim_group(w->sim, t) != fl_sim_group(w->sim, o))
                continue;
            if (fl_swim_member(s, t, &st, NULL) == 0 && st == FL_SWIM_DEAD)
                bad++;
        }
    }
    return bad;
}

/* ---- scenarios ------------------------------------------------------------------------------ */

static void finish_figures(fl_swim_world *w, fl_swim_figures *f)
{
    f->sim_s = (double)fl_sim_time(w->sim) / 1e9;
    f->events = fl_sim_get_stats(w->sim)->events;
    f->trace_hash = fl_sim_trace_hash(w->sim);
}

/* The mean view of the up members at time t (on the whole second): O(N). */
static void sample_views(const fl_swim_world *w, fl_time_ns t, fl_swim_figures *f)
{
    if (t % FL_NS_PER_S != 0 || f->n_view == FL_SWIM_VIEW_MAX ||
        (f->n_view && (double)t / 1e9 < f->view_t_s[f->n_view - 1] + 0.5))
        return;
    double alive = 0, suspect = 0, dead = 0;
    uint32_t up = 0;
    for (fl_node_id id = 1; id <= w->cfg.nodes; id++) {
        const fl_swim *s = fl_swim_sim_core(w->sim, id);
        if (!s || fl_sim_node_state_of(w->sim, id) != FL_SIM_NODE_UP)
            continue;
        uint32_t live = fl_swim_live_count(s);
        alive += live - s->n_susp;
        suspect += s->n_susp;
        dead += fl_swim_member_count(s) - live;
        up++;
    }
    uint32_t k = f->n_view++;
    f->view_t_s[k] = (float)((double)t / 1e9);
    f->view_alive[k] = up ? (float)(alive / up) : 0;
    f->view_suspect[k] = up ? (float)(suspect / up) : 0;
    f->view_dead[k] = up ? (float)(dead / up) : 0;
}

/* Runs until t, sampling the views every second on the way. */
static int run_sampling(fl_swim_world *w, fl_time_ns t, fl_swim_figures *f)
{
    fl_time_ns now = fl_sim_time(w->sim);
    for (fl_time_ns s = (now / FL_NS_PER_S + 1) * FL_NS_PER_S; s <= t; s += FL_NS_PER_S) {
        int rc = fl_swim_world_run_until(w, s);
        if (rc)
            return rc;
        sample_views(w, s, f);
    }
    return fl_swim_world_run_until(w, t);
}

static fl_node_id random_up(fl_swim_world *w)
{
    fl_rng *r = fl_sim_driver_rng(w->sim);
    for (int tries = 0; tries < 1000; tries++) {
        fl_node_id id = (fl_node_id)fl_rng_range(r, 1, w->cfg.nodes);
        if (fl_sim_node_state_of(w->sim, id) == FL_SIM_NODE_UP)
            return id;
    }
    return FL_NODE_NONE;
}

int fl_swim_scn_crash(const fl_swim_world_config *c, uint32_t crashes, fl_time_ns spacing_ns,
                      fl_swim_figures *f, char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    if (crashes > 256 || crashes + 2 > c->nodes) {
        snprintf(why, why_size, "crashes: at most 256 and nodes - 2");
        return FL_ECONFIG;
    }
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, c, why, why_size);
    if (rc)
        return rc;
    fl_node_id victims[256];
    fl_time_ns at[256];
    fl_time_ns t = WARMUP_NS;
    for (uint32_t i = 0; i < crashes && !rc; i++) {
        if ((rc = run_sampling(&w, t, f)))
            break;
        victims[i] = random_up(&w);
        at[i] = t;
        f->crash_at_s[i] = (double)t / 1e9;
        rc = fl_swim_world_crash(&w, victims[i]);
        t += spacing_ns;
    }
    if (!rc)
        rc = run_sampling(&w, t, f);
    for (uint32_t i = 0; i < crashes && !rc; i++) {
        fl_node_id v = victims[i];
        f->first_suspect_s[i] = w.first_suspect_ns[v] == FL_TIME_NEVER
                                    ? -1.0
                                    : (double)(w.first_suspect_ns[v] - at[i]) / 1e9;
        f->all_dead_s[i] =
            w.all_dead_ns[v] == FL_TIME_NEVER ? -1.0 : (double)(w.all_dead_ns[v] - at[i]) / 1e9;
        f->first_dead_s[i] =
            w.first_dead_ns[v] == FL_TIME_NEVER ? -1.0 : (double)(w.first_dead_ns[v] - at[i]) / 1e9;
        f->undetected += w.all_dead_ns[v] == FL_TIME_NEVER;
    }
    f->crashes = crashes;
    f->false_deaths = w.false_deaths;
    f->false_suspicions = w.false_suspicions;
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    return rc;
}

static int cmp_time(const void *a, const void *b)
{
    fl_time_ns x = *(const fl_time_ns *)a, y = *(const fl_time_ns *)b;
    return x < y ? -1 : x > y;
}

int fl_swim_scn_broadcast(const fl_swim_world_config *c, fl_time_ns window_ns, fl_swim_figures *f,
                          char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, c, why, why_size);
    if (rc)
        return rc;
    if (!(rc = fl_swim_world_run_until(&w, WARMUP_NS)) &&
        !(rc = fl_swim_world_broadcast(&w, 1, 64)))
        rc = fl_swim_world_run_until(&w, WARMUP_NS + window_ns);
    uint32_t n = c->nodes - 1; /* receivers */
    fl_time_ns *t = malloc((size_t)n * sizeof(*t) + 1);
    if (!rc && !t)
        rc = FL_ENOMEM;
    if (!rc) {
        for (uint32_t i = 0; i < n; i++)
            t[i] = w.bc_at_ns[i + 2];
        qsort(t, n, sizeof(*t), cmp_time);
        uint32_t k999 = (uint32_t)ceil(0.999 * n);
        k999 = k999 ? k999 : 1;
        f->bc_999_s =
            t[k999 - 1] == FL_TIME_NEVER ? -1.0 : (double)(t[k999 - 1] - w.bc_start_ns) / 1e9;
        f->bc_100_s = t[n - 1] == FL_TIME_NEVER ? -1.0 : (double)(t[n - 1] - w.bc_start_ns) / 1e9;
        f->bc_missing = n - w.bc_count;
        uint32_t points = n < FL_SWIM_CURVE_MAX ? n : FL_SWIM_CURVE_MAX;
        for (uint32_t j = 0; j < points; j++) {
            uint32_t i = points > 1 ? (uint32_t)((uint64_t)j * (n - 1) / (points - 1)) : 0;
            if (t[i] == FL_TIME_NEVER)
                break;
            f->curve_t_s[f->n_curve] = (float)((double)(t[i] - w.bc_start_ns) / 1e9);
            f->curve_frac[f->n_curve++] = (float)(i + 1) / (float)n;
        }
    }
    free(t);
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    return rc;
}

typedef struct flaky {
    fl_swim_world *w;
    fl_node_id id;
    fl_time_ns lo, hi, end;
    bool paused, slow;
    uint32_t episodes;
} flaky;

/* A flaky member alternates healthy stretches (exponential, mean 20 s) with episodes that are,
 * in turn, a pause of uniform [lo, hi] or a slow stretch of 10 s whose receive path lags
 * uniform [lo, hi] behind (timers on time). */
static void flaky_step(fl_sim *sim, void *arg)
{
    flaky *k = arg;
    fl_rng *r = fl_sim_driver_rng(sim);
    fl_time_ns now = fl_sim_time(sim);
    fl_time_ns next;
    if (k->paused || k->slow) {
        if (k->paused)
            fl_sim_resume(sim, k->id);
        fl_swim_sim_set_lag(&k->w->ss, k->id, 0);
        k->paused = k->slow = false;
        next = now + (fl_time_ns)fl_rng_exp(r, 20.0 * FL_NS_PER_S); /* healthy for a while */
    } else if (k->episodes++ % 2 == 0) {
        fl_sim_pause(sim, k->id);
        k->paused = true;
        next = now + fl_rng_range(r, k->lo, k->hi);
    } else {
        fl_swim_sim_set_lag(&k->w->ss, k->id, fl_rng_range(r, k->lo, k->hi));
        k->slow = true;
        next = now + 10 * FL_NS_PER_S;
    }
    if (next < k->end || k->paused || k->slow)
        fl_sim_schedule(sim, next, flaky_step, k);
}

int fl_swim_scn_false_positives(const fl_swim_world_config *c, fl_time_ns duration_ns,
                                uint32_t paused, fl_time_ns pause_lo, fl_time_ns pause_hi,
                                fl_swim_figures *f, char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    if (paused >= c->nodes || pause_lo > pause_hi) {
        snprintf(why, why_size, "paused must be < nodes, pause_lo <= pause_hi");
        return FL_ECONFIG;
    }
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, c, why, why_size);
    if (rc)
        return rc;
    flaky *k = calloc(paused + 1, sizeof(*k));
    fl_rng *r = fl_sim_driver_rng(w.sim);
    for (uint32_t i = 0; i < paused && k; i++) {
        fl_node_id id;
        do
            id = (fl_node_id)fl_rng_range(r, 1, c->nodes);
        while (!w.healthy[id]);
        w.healthy[id] = false;
        k[i] = (flaky){
            .w = &w, .id = id, .lo = pause_lo, .hi = pause_hi, .end = WARMUP_NS + duration_ns};
        fl_time_ns first = WARMUP_NS + (fl_time_ns)fl_rng_exp(r, 10.0 * FL_NS_PER_S);
        if (first < k[i].end)
            fl_sim_schedule(w.sim, first, flaky_step, &k[i]);
    }
    if (!k)
        rc = FL_ENOMEM;
    if (!rc && !(rc = fl_swim_world_run_until(&w, WARMUP_NS))) {
        w.false_deaths = w.false_suspicions = 0;
        rc = fl_swim_world_run_until(&w, WARMUP_NS + duration_ns);
    }
    f->false_deaths = w.false_deaths;
    f->false_suspicions = w.false_suspicions;
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    free(k);
    return rc;
}

/* (observer, member of the other half) pairs where the observer holds it dead or forgot it. */
static uint64_t split_pairs_gone(const fl_swim_world *w, uint32_t half)
{
    uint32_t n = w->cfg.nodes;
    uint64_t gone = 0;
    for (fl_node_id o = 1; o <= n; o++) {
        const fl_swim *s = fl_swim_sim_core(w->sim, o);
        fl_node_id lo = o <= half ? half + 1 : 1, hi = o <= half ? n : half;
        for (fl_node_id t = lo; s && t <= hi; t++) {
            fl_swim_state st;
            if (fl_swim_member(s, t, &st, NULL) != 0 || st == FL_SWIM_DEAD || st == FL_SWIM_LEFT)
                gone++;
        }
    }
    return gone;
}

/* Mean over up members of how far their live count is from the members up in their group:
 * O(N) per sample. */
static double view_divergence(const fl_swim_world *w)
{
    uint32_t groups[2] = {0, 0};
    for (fl_node_id id = 1; id <= w->cfg.nodes; id++)
        if (fl_sim_node_state_of(w->sim, id) == FL_SIM_NODE_UP)
            groups[fl_sim_group(w->sim, id) ? 1 : 0]++;
    double sum = 0;
    uint32_t m = 0;
    for (fl_node_id id = 1; id <= w->cfg.nodes; id++) {
        const fl_swim *s = fl_swim_sim_core(w->sim, id);
        if (!s || fl_sim_node_state_of(w->sim, id) != FL_SIM_NODE_UP)
            continue;
        double up = groups[fl_sim_group(w->sim, id) ? 1 : 0];
        sum += fabs((double)fl_swim_live_count(s) - up) / up;
        m++;
    }
    return m ? sum / m : 0;
}

/* At the poll time t (the simulator's clock stops at its last event, before t). */
static void sample_divergence(const fl_swim_world *w, fl_time_ns t, fl_time_ns since,
                              fl_swim_figures *f)
{
    if ((t - since) % FL_NS_PER_S != 0 || f->n_div == FL_SWIM_DIV_MAX)
        return;
    f->div_t_s[f->n_div] = (double)(t - since) / 1e9;
    f->div_frac[f->n_div++] = view_divergence(w);
}

int fl_swim_scn_partition(const fl_swim_world_config *c, fl_time_ns split_ns, fl_time_ns limit_ns,
                          fl_swim_figures *f, char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    /* one seed on each side: after the other side is reaped, they are the way back */
    fl_swim_world_config cs = *c;
    cs.swim.seeds[0] = 1;
    cs.swim.seeds[1] = c->nodes;
    cs.swim.n_seeds = 2;
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, &cs, why, why_size);
    if (rc)
        return rc;
    uint32_t n = c->nodes, half = n / 2;
    f->split_detect_s = f->heal_s = -1.0;

    if ((rc = fl_swim_world_run_until(&w, WARMUP_NS)))
        goto out;
    for (fl_node_id id = half + 1; id <= n; id++)
        fl_sim_set_group(w.sim, id, 1);
    for (fl_time_ns t = WARMUP_NS; t < WARMUP_NS + split_ns; t += POLL_NS) {
        if ((rc = fl_swim_world_run_until(&w, t)))
            goto out;
        sample_divergence(&w, t, WARMUP_NS, f);
        sample_views(&w, t, f);
        if (f->split_detect_s >= 0)
            continue;
        /* 99% of the (member, member of the other half) pairs are dead or reaped (pairs come
         * back now and then: a push-pull can carry a higher incarnation seen before the
         * split); O(N^2) lookups, so checked every 2 s */
        if ((t - WARMUP_NS) % (2 * FL_NS_PER_S) != 0)
            continue;
        bool done = (double)split_pairs_gone(&w, half) >= 0.99 * 2.0 * half * (n - half);
        if (done)
            f->split_detect_s = (double)(t - WARMUP_NS) / 1e9;
    }
    fl_time_ns heal = WARMUP_NS + split_ns;
    if ((rc = fl_swim_world_run_until(&w, heal)))
        goto out;
    uint64_t gone_pairs = split_pairs_gone(&w, half);
    f->split_dead_frac = (double)gone_pairs / (2.0 * half * (n - half));
    fl_sim_heal(w.sim);
    for (fl_time_ns t = heal; t <= heal + limit_ns; t += POLL_NS) {
        if ((rc = fl_swim_world_run_until(&w, t)))
            goto out;
        sample_divergence(&w, t, WARMUP_NS, f);
        sample_views(&w, t, f);
        if (fl_swim_world_converged(&w)) {
            f->heal_s = (double)(t - heal) / 1e9;
            break;
        }
    }
out:
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    return rc;
}

int fl_swim_scn_churn(const fl_swim_world_config *c, fl_time_ns duration_ns, fl_time_ns every_ns,
                      fl_swim_figures *f, char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    if (every_ns == 0 || c->nodes < 4) {
        snprintf(why, why_size, "churn needs an interval and at least 4 nodes");
        return FL_ECONFIG;
    }
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, c, why, why_size);
    if (rc)
        return rc;
    fl_swim_stats before, after;
    if ((rc = fl_swim_world_run_until(&w, WARMUP_NS)))
        goto out;
    fl_swim_sim_totals(&w.ss, w.sim, &before);
    fl_node_id down = FL_NODE_NONE;
    for (fl_time_ns t = WARMUP_NS + every_ns; t <= WARMUP_NS + duration_ns; t += every_ns) {
        if ((rc = fl_swim_world_run_until(&w, t)))
            goto out;
        fl_node_id victim = random_up(&w);
        if (down != FL_NODE_NONE)
            fl_sim_restart(w.sim, down);
        if (victim != FL_NODE_NONE)
            fl_sim_crash(w.sim, victim);
        down = victim;
    }
    fl_swim_sim_totals(&w.ss, w.sim, &after);
    double member_s = (double)c->nodes * (double)duration_ns / 1e9;
    f->msgs_per_member_s = (double)(after.packets_sent - before.packets_sent) / member_s;
    f->bytes_per_member_s = (double)(after.bytes_sent - before.bytes_sent) / member_s;
    f->updates_per_member_s = (double)(after.updates_sent - before.updates_sent) / member_s;
out:
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    return rc;
}

/* ---- join storm ---------------------------------------------------------------------------- */

#define JOIN_WARMUP_NS (1 * FL_NS_PER_S)
#define JOIN_POLL_NS   (10 * FL_NS_PER_MS)
#define JOIN_SETTLE_NS (10 * FL_NS_PER_S)

typedef struct join_start {
    fl_swim_world *w;
    fl_node_id id;
} join_start;

static void start_one(fl_sim *sim, void *arg)
{
    join_start *j = arg;
    fl_swim_world_start(j->w, j->id);
}

/* Every joiner's time from its own start until its view held every node (seconds, sorted). */
static void join_node_times(const fl_swim_world *w, double *t, uint32_t *n)
{
    *n = 0;
    for (fl_node_id id = w->cfg.join_seeds + 1; id <= w->cfg.nodes; id++)
        if (w->full_view_ns[id] != FL_TIME_NEVER && w->started_ns[id] != FL_TIME_NEVER)
            t[(*n)++] = (double)(w->full_view_ns[id] - w->started_ns[id]) / 1e9;
    for (uint32_t i = 1; i < *n; i++) /* insertion sort: a few thousand at most */
        for (uint32_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
}

static void join_figures(fl_swim_world *w, const fl_swim_stats *before,
                         const fl_swim_stats *at_join, fl_swim_figures *f)
{
    fl_swim_stats st;
    fl_swim_sim_totals(&w->ss, w->sim, &st);
    f->join_suspicions = w->false_suspicions;
    f->join_suspects = st.suspicions - before->suspicions;
    f->join_deaths = st.deaths - before->deaths;
    f->join_syncs = st.syncs_sent - before->syncs_sent;
    f->join_no_address = w->ss.no_address;
    f->false_deaths = w->false_deaths;
    double *t = malloc((w->cfg.nodes + 1) * sizeof(double));
    uint32_t n = 0;
    if (t)
        join_node_times(w, t, &n);
    f->join_node_p50_s = n ? t[(n - 1) / 2] : -1.0;
    f->join_node_max_s = n ? t[n - 1] : -1.0;
    free(t);
    if (f->join_s > 0)
        f->join_packets_per_member_s =
            (double)(at_join->packets_sent - before->packets_sent) / w->cfg.nodes / f->join_s;
}

/* Polls until every node is up and sees all nodes alive and none suspect; at_join: the
 * counters then. */
static int join_wait(fl_swim_world *w, fl_time_ns t0, fl_time_ns storm_ns, fl_time_ns limit_ns,
                     fl_swim_figures *f, fl_swim_stats *at_join)
{
    for (fl_time_ns t = t0; t <= t0 + limit_ns; t += JOIN_POLL_NS) {
        int rc = fl_swim_world_run_until(w, t);
        if (rc)
            return rc;
        if (t >= t0 + storm_ns && up_count(w) == w->cfg.nodes && fl_swim_world_converged(w)) {
            f->join_s = (double)(t - t0) / 1e9;
            fl_swim_sim_totals(&w->ss, w->sim, at_join);
            return 0;
        }
    }
    return 0;
}

int fl_swim_scn_join(const fl_swim_world_config *c, fl_time_ns storm_ns, fl_time_ns limit_ns,
                     fl_swim_figures *f, char *why, size_t why_size)
{
    memset(f, 0, sizeof(*f));
    f->join_s = -1.0;
    fl_swim_world_config cj = *c;
    cj.join_seeds = c->join_seeds ? c->join_seeds : 1;
    if (cj.join_seeds >= c->nodes) {
        snprintf(why, why_size, "join: more nodes than seeds needed");
        return FL_ECONFIG;
    }
    fl_swim_world w;
    int rc = fl_swim_world_init(&w, &cj, why, why_size);
    if (rc)
        return rc;
    join_start *js = calloc(c->nodes + 1, sizeof(*js));
    fl_swim_stats before, at_join;
    memset(&at_join, 0, sizeof(at_join));
    fl_time_ns t0 = JOIN_WARMUP_NS;
    if (!js)
        rc = FL_ENOMEM;
    if (!rc)
        rc = fl_swim_world_run_until(&w, t0);
    fl_rng *r = fl_sim_driver_rng(w.sim);
    for (fl_node_id id = cj.join_seeds + 1; id <= c->nodes && !rc; id++) {
        js[id] = (join_start){.w = &w, .id = id};
        rc = fl_sim_schedule(w.sim, t0 + fl_rng_below(r, storm_ns ? storm_ns : 1), start_one,
                             &js[id]);
    }
    if (!rc) {
        fl_swim_sim_totals(&w.ss, w.sim, &before);
        w.false_suspicions = w.false_deaths = 0;
        w.ss.no_address = 0;
        rc = join_wait(&w, t0, storm_ns, limit_ns, f, &at_join);
    }
    fl_time_ns end = fl_sim_time(w.sim) + JOIN_SETTLE_NS;
    if (!rc)
        rc = fl_swim_world_run_until(&w, end);
    if (!rc)
        join_figures(&w, &before, &at_join, f);
    finish_figures(&w, f);
    fl_swim_world_free(&w);
    free(js);
    return rc;
}
