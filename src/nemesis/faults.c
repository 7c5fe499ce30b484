/* faults.c: starting and ending each fault of the schedule. Targets are chosen when a fault
 * starts (the leader is the observer's: the node leading in the highest term), then logged
 * with what the nodes did. Process faults on "all" roll: each node in turn for an equal
 * share of the fault's length.
 *
 * Network shapes set links of the cut matrix (cut[a][b]: bytes from a to b are lost) and
 * clear them when they end; overlapping faults on the same links are healed by the first
 * to end. The matrix goes to the proxy (rules) or to nftables (netns). Link shaping (delay,
 * throttle, stall, drop) needs the proxy; in netns mode such faults are skipped, and said so.
 *
 * Disk faults write a command to the node's shim control file (DIR/nI.shim: "SEQ fail-fsync"
 * or "SEQ tear"): the shim (tools/shim/flshim.c) acts on the node's next fsync or write. What
 * the node then does (stops, recovers, refuses to start naming file and offset) is noted in
 * the fault's log entry by proc.c and the observer through node->watch. */
#include "nem_int.h"

#include "faultline/sim.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static bool is_shim_kind(fl_nem_kind k)
{
    return k == FL_NEM_DISK_FSYNC || k == FL_NEM_DISK_TORN || k == FL_NEM_FORK_HANG;
}

static bool is_link_kind(fl_nem_kind k)
{
    return k == FL_NEM_DELAY || k == FL_NEM_THROTTLE || k == FL_NEM_STALL || k == FL_NEM_DROP;
}

static fl_nem_who default_who(fl_nem_kind k)
{
    switch (k) {
    case FL_NEM_ISOLATE_LEADER:
        return FL_NEM_WHO_LEADER;
    case FL_NEM_HALVES:
    case FL_NEM_ONE_WAY:
        return FL_NEM_WHO_MINORITY;
    case FL_NEM_RING:
    case FL_NEM_DELAY:
    case FL_NEM_THROTTLE:
    case FL_NEM_STALL:
    case FL_NEM_DROP:
        return FL_NEM_WHO_ALL;
    default:
        return FL_NEM_WHO_RANDOM;
    }
}

/* k distinct random nodes as a mask. */
static uint32_t pick(nem *n, uint32_t k)
{
    uint32_t mask = 0;
    for (uint32_t got = 0; got < k && got < n->count;) {
        uint32_t i = (uint32_t)fl_rng_range(&n->rng, 1, n->count);
        if (!(mask & (1u << (i - 1)))) {
            mask |= 1u << (i - 1);
            got++;
        }
    }
    return mask;
}

static uint32_t choose(nem *n, size_t i)
{
    const fl_nem_fault *f = &n->log[i].fault;
    uint32_t all = (1u << n->count) - 1;
    if (f->nodes_mask)
        return f->nodes_mask & all;
    fl_nem_who who = f->who == FL_NEM_WHO_DEFAULT ? default_who(f->kind) : f->who;
    uint32_t leader = nem_leader(n);
    switch (who) {
    case FL_NEM_WHO_LEADER:
        if (leader)
            return 1u << (leader - 1);
        nem_note(n, i, "no leader known: a random node instead; ");
        return pick(n, 1);
    case FL_NEM_WHO_MINORITY:
        return pick(n, (n->count - 1) / 2 ? (n->count - 1) / 2 : 1);
    case FL_NEM_WHO_MAJORITY:
        return pick(n, n->count / 2 + 1);
    case FL_NEM_WHO_ALL:
        return all;
    default:
        return pick(n, 1);
    }
}

/* ---- the cut matrix ---------------------------------------------------------------------- */

static void set_links(nem *n)
{
    if (n->cfg->net == FL_NEM_NET_NETNS) {
        if (nem_netns_apply(n))
            nem_say(n, "%s", n->res->error);
        return;
    }
    for (uint32_t a = 1; a <= n->count; a++)
        for (uint32_t b = 1; b <= n->count; b++)
            if (a != b && n->rule[a][b].cut != n->cut[a][b]) {
                nem_link_rule r = n->rule[a][b];
                r.cut = n->cut[a][b];
                nem_proxy_set(n, a, b, &r);
            }
}

/* The links a fault's given cut matrix cuts (a scenario's shape); false: none given. */
static bool given_cut(nem *n, const fl_nem_fault *f, bool on)
{
    bool any = false;
    for (uint32_t a = 1; a <= n->count; a++)
        for (uint32_t b = 1; b <= n->count; b++)
            if (a != b && (f->cut[a - 1] >> (b - 1)) & 1) {
                n->cut[a][b] = on;
                any = true;
            }
    return any;
}

/* The links a shape cuts (both ways unless one-way) for targets t, written into the fault's
 * cut matrix (the log then says which links it cut: a scenario file can say it again). The
 * ring and the bridge are the simulator's (src/sim/partition.c), so that they mean the same
 * in both: every node sees a majority of its ring neighbours; the halves without the bridge
 * (the lowest target) talk only through it. */
static void shape(nem *n, fl_nem_fault *f, uint32_t t, bool on)
{
    fl_nem_kind k = f->kind;
    if (given_cut(n, f, on)) {
        set_links(n);
        return;
    }
    fl_sim_conn c;
    if (k == FL_NEM_RING)
        fl_sim_conn_majorities_ring(&c, n->count);
    else if (k == FL_NEM_BRIDGE)
        fl_sim_conn_bridge(&c, n->count, t ? (fl_node_id)(__builtin_ctz(t) + 1) : 1);
    for (uint32_t a = 1; a <= n->count; a++)
        for (uint32_t b = 1; b <= n->count; b++) {
            if (a == b)
                continue;
            bool ta = t & (1u << (a - 1)), tb = t & (1u << (b - 1));
            bool cut = false;
            if (k == FL_NEM_ONE_WAY)
                cut = ta && !tb;
            else if (k == FL_NEM_RING || k == FL_NEM_BRIDGE)
                cut = !fl_sim_conn_can(&c, a, b);
            else
                cut = ta != tb;
            if (cut) {
                n->cut[a][b] = on;
                f->cut[a - 1] |= (uint16_t)(1u << (b - 1));
            }
        }
    set_links(n);
}

/* ---- link shaping (proxy only) ------------------------------------------------------------- */

static void drop_cb(fl_loop *loop, void *arg);

static void shape_links(nem *n, size_t i, uint32_t t, bool on)
{
    const fl_nem_fault *f = &n->log[i].fault;
    uint32_t from = n->cfg->proxy_clients ? 0 : 1; /* 0: the clients' links (never cut) */
    for (uint32_t a = from; a <= n->count; a++)
        for (uint32_t b = from; b <= n->count; b++) {
            uint32_t touch = (a ? 1u << (a - 1) : 0) | (b ? 1u << (b - 1) : 0);
            if (a == b || !(t & touch))
                continue;
            if (f->kind == FL_NEM_DROP) {
                if (on && a < b)
                    nem_proxy_drop(n, a, b);
                continue;
            }
            nem_link_rule r = n->rule[a][b];
            if (f->kind == FL_NEM_DELAY) {
                r.delay_ns = on ? f->delay_ns : 0;
                r.jitter_ns = on ? f->jitter_ns : 0;
            } else if (f->kind == FL_NEM_THROTTLE) {
                r.rate_bps = on ? f->rate_bps : 0;
            } else {
                r.stall = on;
            }
            nem_proxy_set(n, a, b, &r);
        }
    if (f->kind == FL_NEM_DROP && on)
        fl_loop_timer_start(&n->loop, FL_NS_PER_S, drop_cb, &n->fs[i], NULL);
}

static void drop_cb(fl_loop *loop, void *arg)
{
    nem_fstate *fs = arg;
    nem *n = fs->n;
    fl_nem_fault_log *l = &n->log[fs->i];
    (void)loop;
    if (!l->ended_ns && !l->skipped && !n->ending)
        shape_links(n, fs->i, l->targets_mask, true);
}

/* ---- process faults ------------------------------------------------------------------------ */

static void shim_command(nem *n, nem_node *x, const char *cmd)
{
    char tmp[FL_NEM_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", x->shim_ctl);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u %s\n", ++x->shim_seq, cmd) < 0 || fclose(f) ||
        rename(tmp, x->shim_ctl))
        nem_say(n, "cannot write the shim control file %s", x->shim_ctl);
}

static void restart_node(nem *n, nem_node *x)
{
    if (x->pid > 0) {
        x->restart_pending = true;
        nem_node_signal(n, x, SIGTERM);
    } else if (nem_node_start(n, x)) {
        nem_say(n, "node %u could not be started", x->id);
    }
}

static void process_on(nem *n, size_t i, nem_node *x)
{
    const fl_nem_fault *f = &n->log[i].fault;
    x->watch = i;
    switch (f->kind) {
    case FL_NEM_KILL:
        nem_node_signal(n, x, SIGKILL);
        fl_observe_record_down(&n->res->rec, nem_now(n), x->id);
        break;
    case FL_NEM_PAUSE:
        nem_node_signal(n, x, SIGSTOP);
        break;
    case FL_NEM_RESTART:
        restart_node(n, x);
        break;
    case FL_NEM_CLOCK:
        x->faketime = true;
        x->clock_offset_ns = f->clock_offset_ns;
        x->clock_rate = f->clock_rate;
        restart_node(n, x);
        break;
    case FL_NEM_DISK_FSYNC:
        shim_command(n, x, "fail-fsync");
        break;
    case FL_NEM_FORK_HANG: /* the child it hangs lives until the node's next restart */
        shim_command(n, x, "hang-fork");
        break;
    default:
        shim_command(n, x, "tear");
        break;
    }
}

static void process_off(nem *n, size_t i, nem_node *x)
{
    const fl_nem_fault *f = &n->log[i].fault;
    if (f->kind == FL_NEM_PAUSE) {
        nem_node_signal(n, x, SIGCONT);
        return;
    }
    if (f->kind == FL_NEM_CLOCK) {
        x->faketime = false;
        restart_node(n, x);
        return;
    }
    if (is_shim_kind(f->kind)) {
        shim_command(n, x, "none"); /* an unused command is withdrawn */
        if (x->pid > 0)
            nem_note(n, i, "node %u kept running; ", x->id);
    }
    if (x->pid <= 0 && !x->restart_pending && nem_node_start(n, x))
        nem_say(n, "node %u could not be started again", x->id);
}

/* Rolling: step s of the fault on node number s of the targets. */
static uint32_t nth_target(uint32_t mask, uint32_t s)
{
    for (uint32_t i = 1; i <= FL_NEM_NODES_MAX; i++)
        if (mask & (1u << (i - 1)) && s-- == 0)
            return i;
    return 0;
}

static void roll_cb(fl_loop *loop, void *arg)
{
    nem_fstate *fs = arg;
    nem *n = fs->n;
    size_t i = fs->i;
    fl_nem_fault_log *l = &n->log[i];
    (void)loop;
    if (l->ended_ns)
        return;
    uint32_t prev = nth_target(l->targets_mask, fs->step);
    uint32_t next = nth_target(l->targets_mask, ++fs->step);
    if (prev)
        process_off(n, i, &n->node[prev]);
    if (next) {
        process_on(n, i, &n->node[next]);
        uint32_t m = (uint32_t)__builtin_popcount(l->targets_mask);
        fl_loop_timer_start(&n->loop, l->fault.length_ns / m, roll_cb, fs, NULL);
    }
}

/* ---- begin / end ---------------------------------------------------------------------------- */

static const char *skip_reason(const nem *n, fl_nem_kind k)
{
    if (is_link_kind(k) && n->cfg->net == FL_NEM_NET_NETNS)
        return "link shaping needs --net proxy";
    if (k == FL_NEM_CLOCK && !n->cfg->faketime_lib[0])
        return "clock faults need libfaketime (apt-get install faketime)";
    if (is_shim_kind(k) && !n->cfg->shim[0])
        return "disk and fork faults need the disk shim (faultline's libflshim.so; not with "
               "--target etcd)";
    return NULL;
}

void nem_fault_begin(nem *n, size_t i)
{
    fl_nem_fault_log *l = &n->log[i];
    const fl_nem_fault *f = &l->fault;
    nem_fstate *fs = &n->fs[i];
    fs->n = n;
    fs->i = i;
    l->began_ns = nem_now(n);
    if (l->began_ns == 0)
        l->began_ns = 1; /* 0 means "not begun" */
    const char *why = skip_reason(n, f->kind);
    if (why) {
        l->skipped = true;
        nem_note(n, i, "skipped: %s", why);
        return;
    }
    l->targets_mask = choose(n, i);
    char kind[FL_OBSERVE_FAULT_KIND_SIZE];
    int len = snprintf(kind, sizeof(kind), "%s", fl_nem_kind_name(f->kind));
    for (uint32_t a = 1; a <= n->count && len > 0 && (size_t)len < sizeof(kind); a++)
        if (l->targets_mask & (1u << (a - 1)))
            len += snprintf(kind + len, sizeof(kind) - (size_t)len, " n%u", a);
    if (fl_observe_fault_begin(&n->res->rec, l->began_ns, kind, &n->fault_ids[i]))
        n->oom = true;
    nem_say(n, "%.1f s: %s begins", (double)l->began_ns / 1e9, kind);
    if (fl_nem_kind_on_process(f->kind)) {
        bool rolling =
            __builtin_popcount(l->targets_mask) > 1 &&
            (f->who == FL_NEM_WHO_ALL || (!f->who && default_who(f->kind) == FL_NEM_WHO_ALL));
        fs->rolling = rolling;
        if (rolling) {
            fs->step = UINT32_MAX;
            roll_cb(&n->loop, fs);
            return;
        }
        for (uint32_t a = 1; a <= n->count; a++)
            if (l->targets_mask & (1u << (a - 1)))
                process_on(n, i, &n->node[a]);
    } else if (is_link_kind(f->kind)) {
        shape_links(n, i, l->targets_mask, true);
    } else {
        shape(n, &l->fault, l->targets_mask, true);
    }
}

void nem_fault_end(nem *n, size_t i)
{
    fl_nem_fault_log *l = &n->log[i];
    const fl_nem_fault *f = &l->fault;
    if (l->skipped || l->ended_ns || !l->began_ns)
        return;
    l->ended_ns = nem_now(n);
    if (l->ended_ns == 0)
        l->ended_ns = 1;
    fl_observe_fault_end(&n->res->rec, n->fault_ids[i], l->ended_ns);
    nem_say(n, "%.1f s: %s (nodes 0x%x) ends", (double)l->ended_ns / 1e9, fl_nem_kind_name(f->kind),
            l->targets_mask);
    if (fl_nem_kind_on_process(f->kind)) {
        if (n->fs[i].rolling) {
            uint32_t cur = nth_target(l->targets_mask, n->fs[i].step);
            if (cur)
                process_off(n, i, &n->node[cur]);
            return;
        }
        for (uint32_t a = 1; a <= n->count; a++)
            if (l->targets_mask & (1u << (a - 1)))
                process_off(n, i, &n->node[a]);
    } else if (is_link_kind(f->kind)) {
        shape_links(n, i, l->targets_mask, false);
    } else {
        memset(n->cut, 0, sizeof(n->cut)); /* the shape's links (and any other: see above) */
        set_links(n);
    }
}

void nem_faults_heal_all(nem *n)
{
    for (size_t i = 0; i < n->res->n_log; i++)
        if (n->log[i].began_ns && !n->log[i].ended_ns)
            nem_fault_end(n, i);
    memset(n->cut, 0, sizeof(n->cut));
    for (uint32_t a = 0; a <= n->count; a++)
        for (uint32_t b = 0; b <= n->count; b++)
            if (a != b && n->proxy)
                nem_proxy_set(n, a, b, &(nem_link_rule){0});
    if (n->cfg->net == FL_NEM_NET_NETNS && n->netns_up)
        nem_netns_apply(n);
    for (uint32_t a = 1; a <= n->count; a++) {
        nem_node *x = &n->node[a];
        if (x->state == NODE_PAUSED)
            nem_node_signal(n, x, SIGCONT);
        if (x->faketime) {
            x->faketime = false;
            restart_node(n, x);
        } else if (x->pid <= 0 && !x->restart_pending && nem_node_start(n, x)) {
            nem_say(n, "node %u could not be started again", x->id);
        }
    }
}
